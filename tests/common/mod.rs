//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The shared corpus of real keepalived.conf files. It sits beside the checkout
/// (`../shared`), in CI as on a developer machine; its absence is a failure,
/// never a silent pass.
pub fn corpus_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/keepalived-conf");
    assert!(
        dir.is_dir(),
        "the keepalived.conf corpus is missing at {} (it must sit beside the checkout as ../shared)",
        dir.display()
    );
    dir
}

/// Every top-level `.conf` file of the corpus, sorted.
pub fn corpus_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("corpus directory readable")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "conf") && p.is_file())
        .collect();
    files.sort();
    assert!(
        files.len() >= 50,
        "corpus looks truncated: {} files",
        files.len()
    );
    files
}

/// The corpus files whose SOURCES.tsv row says they are keepalived's own samples.
pub fn upstream_files() -> Vec<PathBuf> {
    let tsv = std::fs::read_to_string(corpus_dir().join("SOURCES.tsv")).expect("SOURCES.tsv");
    let mut out = Vec::new();
    for line in tsv.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() >= 6 && cols[5].contains("source:upstream") {
            out.push(corpus_dir().join(cols[0]));
        }
    }
    out.sort();
    assert!(!out.is_empty(), "no upstream rows in SOURCES.tsv");
    out
}

pub fn our_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_keepalived-rs"))
}
