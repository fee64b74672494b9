//! keepalived.conf → model → TOML → model is lossless, for every corpus file;
//! and a TOML file loads through the same front door (`-f site.toml`).

mod common;

use keepalived_rs::config::{self, LoadOptions};

fn opts() -> LoadOptions {
    let mut o = LoadOptions::default();
    o.preprocess.config_id = "lb1".into();
    o.preprocess.random_seed = Some(7);
    o.build.check_host = false;
    o
}

#[test]
fn every_corpus_file_round_trips_through_toml() {
    let files = common::corpus_files();
    let mut json_checked = 0;
    for file in &files {
        let loaded = config::load_file(file, &opts());
        let toml_text = config::to_toml(&loaded.config).unwrap_or_else(|e| {
            panic!("{}: model does not serialise to TOML: {e}", file.display())
        });
        let back: config::model::Config = toml::from_str(&toml_text).unwrap_or_else(|e| {
            panic!(
                "{}: TOML does not load back: {e}\n{toml_text}",
                file.display()
            )
        });
        assert_eq!(
            back,
            loaded.config,
            "{}: TOML round trip changed the model",
            file.display()
        );
        let json = config::to_json(&loaded.config).expect("json");
        let back: config::model::Config = serde_json::from_str(&json).expect("json loads");
        assert_eq!(
            back,
            loaded.config,
            "{}: JSON round trip changed the model",
            file.display()
        );
        json_checked += 1;
    }
    assert_eq!(json_checked, files.len());
}

#[test]
fn toml_file_loads_into_the_same_model() {
    let file = common::corpus_dir().join("013-upstream-sample-sample.conf");
    let from_conf = config::load_file(&file, &opts());
    let dir = tempfile::tempdir().expect("tempdir");
    let toml_path = dir.path().join("site.toml");
    std::fs::write(
        &toml_path,
        config::to_toml(&from_conf.config).expect("toml"),
    )
    .expect("write");
    let from_toml = config::load_file(&toml_path, &opts());
    assert_eq!(from_toml.config, from_conf.config);
    assert!(
        from_toml.diags.worst() != Some(config::diag::Severity::Fatal),
        "{:?}",
        from_toml.diags.items
    );
}

#[test]
fn bad_toml_names_line_and_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("bad.toml");
    std::fs::write(&p, "[global_defs]\nno_such_key = 1\n").expect("write");
    let l = config::load_file(&p, &opts());
    let d = &l.diags.items[0];
    assert_eq!(d.severity, config::diag::Severity::Fatal);
    let loc = d.location.as_ref().expect("location");
    assert_eq!((loc.line, loc.col), (2, 1), "{d}");
}
