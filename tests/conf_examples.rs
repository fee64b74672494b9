//! Every example under conf/*/keepalived.conf passes `-t` (exit 0, no
//! diagnostics) as each of its directors would run it, in a lab namespace
//! that has the interfaces the examples name (eth0, eth1), so the result does
//! not depend on the test machine's interfaces. Scripts shipped beside an
//! example are executable and writable by their owner only (what
//! enable_script_security demands).

mod lab;

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

fn examples() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let pattern = root.join("conf/*/keepalived.conf");
    let mut v: Vec<PathBuf> = glob::glob(pattern.to_str().expect("utf-8 path"))
        .expect("glob pattern")
        .filter_map(Result::ok)
        .collect();
    v.sort();
    v
}

/// The config ids an example distinguishes with `@ID` lines.
fn config_ids(conf: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(conf).expect("read example");
    text.lines()
        .filter_map(|l| l.trim_start().strip_prefix('@'))
        .filter(|l| !l.starts_with('^'))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

#[test]
fn the_expected_examples_are_there() {
    let names: BTreeSet<String> = examples()
        .iter()
        .filter_map(|p| p.parent()?.file_name()?.to_str().map(str::to_string))
        .collect();
    for want in [
        "lab",
        "lvs-dr",
        "lvs-nat",
        "mysql-dual-master",
        "ipv6-vrrpv3",
        "nginx-pair",
    ] {
        assert!(
            names.contains(want),
            "conf/{want}/keepalived.conf missing: {names:?}"
        );
    }
}

#[test]
fn example_scripts_are_executable_and_owner_writable_only() {
    for conf in examples() {
        let dir = conf.parent().expect("example directory");
        for entry in std::fs::read_dir(dir).expect("read example directory") {
            let path = entry.expect("directory entry").path();
            if path.extension().is_some_and(|e| e == "sh") {
                let mode = std::fs::metadata(&path)
                    .expect("stat script")
                    .permissions()
                    .mode();
                assert!(mode & 0o100 != 0, "{} is not executable", path.display());
                assert!(
                    mode & 0o022 == 0,
                    "{} is writable by group or others (mode {mode:o})",
                    path.display()
                );
            }
        }
    }
}

#[test]
fn every_example_passes_config_test_for_each_director() {
    let lab = lab::Lab::new(&["lb"]);
    lab.add_second_network(&["lb"]);
    let host = lab.host("lb");
    let examples = examples();
    assert!(examples.len() >= 6, "examples found: {examples:?}");
    for conf in examples {
        let mut ids = config_ids(&conf);
        if ids.is_empty() {
            ids.insert("lb1".into());
        }
        for id in ids {
            let out = host
                .cmd(lab::our_binary().to_str().expect("utf-8 path"))
                .args(["-t", "-i", &id, "-f"])
                .arg(&conf)
                .output()
                .expect("run keepalived-rs -t");
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{} with -i {id}:\n{err}",
                conf.display()
            );
            assert!(
                err.trim().is_empty(),
                "{} with -i {id} passes but reports:\n{err}",
                conf.display()
            );
        }
    }
}
