//! The binary's command line: -t exit codes, --dump-config, --signum, -v.

mod common;

use std::process::Command;

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(common::our_binary())
        .args(args)
        .output()
        .expect("run keepalived-rs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn conf(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("k.conf");
    std::fs::write(&p, text).expect("write");
    let s = p.to_string_lossy().into_owned();
    (dir, s)
}

#[test]
fn config_test_ok_is_zero() {
    let (_d, p) = conf("global_defs {\n router_id lb1\n}\n");
    let (code, _, err) = run(&["-t", "-f", &p]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn config_test_errors_are_four_and_named() {
    let (_d, p) = conf("global_defs {\n router_id lb1\n no_such_keyword 1\n}\n");
    let (code, _, err) = run(&["-t", "-f", &p]);
    assert_eq!(code, 4, "{err}");
    assert!(
        err.contains("k.conf:3:2") && err.contains("no_such_keyword"),
        "{err}"
    );
}

#[test]
fn config_test_missing_file_cannot_run() {
    let (code, _, err) = run(&["-t", "-f", "/nonexistent/keepalived.conf"]);
    assert_eq!(code, 3, "{err}");
}

#[test]
fn config_test_writes_to_file() {
    let (d, p) = conf("bogus_top 1\n");
    let log = d.path().join("t.log");
    let arg = format!("--config-test={}", log.display());
    let (code, _, _) = run(&[&arg, "-f", &p]);
    assert_eq!(code, 4);
    let text = std::fs::read_to_string(&log).expect("log written");
    assert!(text.contains("bogus_top"), "{text}");
}

#[test]
fn dump_config_json_and_toml() {
    let (_d, p) = conf("vrrp_script chk {\n script \"/bin/true\"\n interval 2\n}\n");
    let (code, out, err) = run(&["--dump-config=json", "-f", &p]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["vrrp_script"][0]["name"], "chk");
    assert_eq!(v["vrrp_script"][0]["interval"], 2);
    let (code, out, _) = run(&["--dump-config=toml", "-f", &p]);
    assert_eq!(code, 0);
    assert!(out.contains("[[vrrp_script]]"), "{out}");
}

#[test]
fn signum_version_and_unimplemented_flags() {
    assert_eq!(run(&["--signum=RELOAD"]).1.trim(), "1");
    assert_eq!(run(&["--signum=JSON"]).1.trim(), "36");
    assert_eq!(run(&["--signum=BOGUS"]).0, 1);
    assert!(run(&["-v"]).1.starts_with("keepalived-rs "));
    let (_d, p) = conf("global_defs {\n}\n");
    let (code, _, err) = run(&["-t", "-f", &p, "--snmp", "-S", "local3"]);
    assert_eq!(code, 0);
    assert!(
        err.contains("not implemented") && err.contains("--snmp"),
        "{err}"
    );
}

/// The bundled example configurations pass `-t` as each director would run them.
#[test]
fn bundled_examples_pass_config_test() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for conf in [
        "conf/lab/keepalived.conf",
        "conf/nginx-pair/keepalived.conf",
    ] {
        for id in ["lb1", "lb2"] {
            let path = root.join(conf);
            let (code, _, err) = run(&["-t", "-f", path.to_str().expect("utf-8"), "-i", id]);
            assert_eq!(code, 0, "{conf} with -i {id}:\n{err}");
        }
    }
}
