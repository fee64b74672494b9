//! The whole daemon in the IPVS guest: real-server checkers decide what the
//! syncer programs into the kernel, with real TCP listeners that come and go.
//! Runs inside the QEMU guest (see tests/ipvs/mod.rs); never skips.

#[path = "ipvs/mod.rs"]
mod ipvs_vm;

use ipvs_vm::Test;
use std::net::TcpListener;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

fn main() -> ExitCode {
    ipvs_vm::main(&[Test {
        name: "checker_verdicts_move_real_servers_in_and_out",
        run: checker_verdicts_move_real_servers_in_and_out,
    }])
}

fn table() -> String {
    Command::new("ipvsadm")
        .arg("-Ln")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

fn wait_table(limit: Duration, what: &str, cond: impl Fn(&str) -> bool) {
    let t0 = Instant::now();
    loop {
        let t = table();
        if cond(&t) {
            return;
        }
        assert!(t0.elapsed() < limit, "timed out waiting for {what}:\n{t}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn checker_verdicts_move_real_servers_in_and_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = dir.path().join("keepalived.conf");
    std::fs::write(
        &conf,
        "virtual_server 10.9.9.9 80 {\n  delay_loop 1\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n\
         \x20 real_server 127.0.0.2 8080 {\n    TCP_CHECK {\n      connect_timeout 1\n      retry 0\n    }\n  }\n\
         \x20 real_server 127.0.0.3 8080 {\n    inhibit_on_failure\n    TCP_CHECK {\n      connect_timeout 1\n      retry 0\n    }\n  }\n}\n",
    )
    .expect("write config");
    let a = TcpListener::bind("127.0.0.2:8080").expect("listen .2");
    let log_path = dir.path().join("daemon.log");
    let log = std::fs::File::create(&log_path).expect("log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_keepalived-rs"))
        .args(["-n", "-l", "-f"])
        .arg(&conf)
        .arg("-p")
        .arg(dir.path().join("pid"))
        .arg("--control-socket")
        .arg(dir.path().join("control.sock"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("start keepalived-rs");
    let read_log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // .2 listens: in the pool. .3 does not: inhibit_on_failure keeps it at weight 0.
        wait_table(Duration::from_secs(20), ".2 in, .3 at weight 0", |t| {
            t.lines().any(|l| {
                l.contains("127.0.0.2:8080")
                    && l.contains("Masq")
                    && l.split_whitespace().nth(3) == Some("1")
            }) && t
                .lines()
                .any(|l| l.contains("127.0.0.3:8080") && l.split_whitespace().nth(3) == Some("0"))
        });
        // .3 comes up: weight restored.
        let b = TcpListener::bind("127.0.0.3:8080").expect("listen .3");
        wait_table(Duration::from_secs(20), ".3 back at weight 1", |t| {
            t.lines()
                .any(|l| l.contains("127.0.0.3:8080") && l.split_whitespace().nth(3) == Some("1"))
        });
        // .2 goes away: removed (no inhibit_on_failure).
        drop(a);
        wait_table(Duration::from_secs(20), ".2 removed", |t| {
            !t.contains("127.0.0.2:8080") && t.contains("127.0.0.3:8080")
        });
        drop(b);
    }));
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("pid"));
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
    let t0 = Instant::now();
    let mut status = None;
    while t0.elapsed() < Duration::from_secs(30) {
        if let Ok(Some(st)) = child.try_wait() {
            status = Some(st);
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if status.is_none() {
        let _ = child.kill();
    }
    // Reaped in every case (a no-op when it already exited).
    let _ = child.wait();
    if let Err(e) = result {
        eprintln!("daemon log:\n{}", read_log());
        std::panic::resume_unwind(e);
    }
    assert!(
        status.is_some_and(|s| s.success()),
        "no clean exit: {}",
        read_log()
    );
    assert!(
        !table().contains("10.9.9.9"),
        "service left behind at stop:\n{}",
        table()
    );
}
