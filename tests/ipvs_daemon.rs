//! The whole daemon in the IPVS guest: real-server checkers decide what the
//! syncer programs into the kernel, with real TCP listeners that come and go.
//! Runs inside the QEMU guest (see tests/ipvs/mod.rs); never skips.

#[path = "ipvs/mod.rs"]
mod ipvs_vm;

use ipvs_vm::{sh, table, wait_table, with_daemon, Daemon, Test};
use std::net::TcpListener;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

fn main() -> ExitCode {
    ipvs_vm::main(&[
        Test {
            name: "checker_verdicts_move_real_servers_in_and_out",
            run: checker_verdicts_move_real_servers_in_and_out,
        },
        Test {
            name: "reload_adds_the_first_and_removes_the_last_virtual_servers",
            run: reload_adds_the_first_and_removes_the_last_virtual_servers,
        },
        Test {
            name: "sync_daemon_follows_the_vrrp_instance",
            run: sync_daemon_follows_the_vrrp_instance,
        },
    ])
}

fn sync_daemons() -> String {
    sh("ipvsadm", &["-L", "--daemon"])
}

fn wait_daemons(limit: Duration, what: &str, cond: impl Fn(&str) -> bool) {
    let t0 = Instant::now();
    loop {
        let t = sync_daemons();
        if cond(&t) {
            return;
        }
        assert!(t0.elapsed() < limit, "timed out waiting for {what}:\n{t}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A configuration without virtual servers, then one with (the syncer
/// starts on that reload), then none again (the reload removes them).
fn reload_adds_the_first_and_removes_the_last_virtual_servers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = dir.path().join("keepalived.conf");
    let empty = "global_defs {\n  router_id reload_test\n}\n";
    std::fs::write(&conf, empty).expect("write config");
    let d = Daemon::start(dir.path(), &conf);
    with_daemon(d, |d| {
        // Started and idle: the control socket exists.
        let t0 = Instant::now();
        while !dir.path().join("control.sock").exists() {
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "daemon did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(!table().contains("10.9.8.7"), "{}", table());
        // No checkers: real servers are up at once.
        std::fs::write(
            &conf,
            "virtual_server 10.9.8.7 80 {\n  lb_algo wrr\n  lb_kind NAT\n  protocol TCP\n\
             \x20 real_server 127.0.0.2 8080 {\n    weight 2\n  }\n\
             \x20 real_server 127.0.0.3 8080 {\n    weight 3\n  }\n}\n",
        )
        .expect("write config");
        d.signal(nix::sys::signal::Signal::SIGHUP);
        wait_table(Duration::from_secs(20), "the service after reload", |t| {
            t.contains("10.9.8.7:80 wrr")
                && t.contains("127.0.0.2:8080")
                && t.contains("127.0.0.3:8080")
        });
        std::fs::write(&conf, empty).expect("write config");
        d.signal(nix::sys::signal::Signal::SIGHUP);
        wait_table(Duration::from_secs(20), "the service removed", |t| {
            !t.contains("10.9.8.7")
        });
    });
}

/// `lvs_sync_daemon IF VI_1`: a backup sync daemon while VI_1 is not
/// master, a master one (only) while it is, none after the stop.
fn sync_daemon_follows_the_vrrp_instance() {
    for (a, b) in [("vrrp0", "vrrp0p"), ("sync0", "sync0p")] {
        sh("ip", &["link", "add", a, "type", "veth", "peer", "name", b]);
        sh("ip", &["link", "set", b, "up"]);
        sh("ip", &["link", "set", a, "up"]);
    }
    sh("ip", &["addr", "add", "10.220.0.1/24", "dev", "vrrp0"]);
    sh("ip", &["addr", "add", "10.220.1.1/24", "dev", "sync0"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = dir.path().join("keepalived.conf");
    std::fs::write(
        &conf,
        "global_defs {\n  lvs_sync_daemon sync0 VI_1 id 5\n}\n\
         vrrp_instance VI_1 {\n  state BACKUP\n  interface vrrp0\n  virtual_router_id 51\n\
         \x20 priority 100\n  advert_int 1\n  virtual_ipaddress {\n    10.220.0.100/24\n  }\n}\n",
    )
    .expect("write config");
    let d = Daemon::start(dir.path(), &conf);
    with_daemon(d, |_| {
        wait_daemons(Duration::from_secs(30), "the master sync daemon", |t| {
            t.contains("master sync daemon (mcast=sync0, syncid=5")
                && !t.contains("backup sync daemon")
        });
        // VI_1 goes to FAULT: the backup daemon replaces the master one.
        sh("ip", &["link", "set", "vrrp0", "down"]);
        wait_daemons(Duration::from_secs(30), "the backup sync daemon", |t| {
            t.contains("backup sync daemon (mcast=sync0, syncid=5")
                && !t.contains("master sync daemon")
        });
        sh("ip", &["link", "set", "vrrp0", "up"]);
        wait_daemons(Duration::from_secs(30), "master again", |t| {
            t.contains("master sync daemon (mcast=sync0") && !t.contains("backup sync daemon")
        });
    });
    let left = sync_daemons();
    assert!(!left.contains("sync daemon"), "left running: {left}");
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
