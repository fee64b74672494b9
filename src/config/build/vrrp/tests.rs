//! Unit tests of the VRRP blocks.
use crate::config::{load_file, load_str, LoadOptions};

fn opts() -> LoadOptions {
    let mut o = LoadOptions::default();
    o.preprocess.allow_includes = false;
    o.build.check_host = false;
    o
}

#[test]
#[ignore]
fn corpus_dump() {
    let dir = std::path::Path::new("/work/shared/corpus/keepalived-conf");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .collect();
    files.sort();
    let mut o = LoadOptions::default();
    o.build.check_host = true;
    for f in files {
        let l = load_file(&f, &o);
        println!("=== {}", f.display());
        for d in &l.diags.items {
            println!("{d}");
        }
    }
    let _ = (load_str, opts);
}
