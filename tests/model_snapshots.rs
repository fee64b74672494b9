//! Snapshot tests of the JSON model for keepalived's own sample configurations
//! (the `upstream` rows of the corpus's SOURCES.tsv). Host facts are not
//! consulted (check_host off) and the config id is fixed, so the snapshots are
//! the same on every machine. Snapshots live in tests/snapshots/; with CI=true
//! a missing or changed snapshot fails.

mod common;

use keepalived_rs::config::{self, LoadOptions};

#[test]
fn upstream_samples_json_model() {
    let mut opts = LoadOptions::default();
    opts.preprocess.config_id = "lb1".into();
    opts.preprocess.random_seed = Some(7);
    opts.build.check_host = false;
    let files = common::upstream_files();
    for file in &files {
        let loaded = config::load_file(file, &opts);
        let name = file
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("file name")
            .to_owned();
        insta::assert_json_snapshot!(name, loaded.config);
    }
    assert!(
        files.len() >= 20,
        "expected keepalived's sample set, got {}",
        files.len()
    );
}
