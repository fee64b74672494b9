//! sd_notify with the real binary: a test-owned unix datagram socket stands
//! in for systemd's NOTIFY_SOCKET. keepalived-rs runs in a lab namespace with
//! one VRRP instance; we expect READY=1, watchdog pings while it runs,
//! RELOADING=1 + MONOTONIC_USEC then READY=1 on SIGHUP, and STOPPING=1 on
//! SIGTERM.

mod lab;

use lab::Lab;
use std::os::unix::net::UnixDatagram;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Datagrams received until `want` is seen in one (or the time is up).
fn recv_until(sock: &UnixDatagram, want: &str, limit: Duration, seen: &mut Vec<String>) -> bool {
    let end = Instant::now() + limit;
    let mut buf = [0u8; 4096];
    while Instant::now() < end {
        if let Ok(n) = sock.recv(&mut buf) {
            let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
            let hit = msg.lines().any(|l| l == want);
            seen.push(msg);
            if hit {
                return true;
            }
        }
    }
    false
}

fn signal(pid: u32, sig: nix::sys::signal::Signal) {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(pid).expect("pid fits"));
    nix::sys::signal::kill(pid, sig).expect("signal the daemon");
}

#[test]
fn notify_socket_sees_ready_watchdog_reload_and_stopping() {
    let lab = Lab::new(&["lb1"]);
    let host = lab.host("lb1");
    let dir = tempfile::tempdir().expect("tempdir");
    let sock_path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).expect("bind the notify socket");
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .expect("read timeout");
    let conf = dir.path().join("k.conf");
    std::fs::write(
        &conf,
        format!(
            "vrrp_instance VI_1 {{\n state BACKUP\n interface eth0\n virtual_router_id 51\n \
             priority 100\n advert_int 1\n virtual_ipaddress {{\n  {}/24\n }}\n}}\n",
            lab.addr(100)
        ),
    )
    .expect("write config");
    let log = dir.path().join("k.log");
    let logf = std::fs::File::create(&log).expect("log file");
    let mut child = host
        .cmd(lab::our_binary().to_str().expect("utf-8 path"))
        .args(["-n", "-l", "-f"])
        .arg(&conf)
        .arg("-p")
        .arg(dir.path().join("k.pid"))
        .env("NOTIFY_SOCKET", &sock_path)
        // A 400 ms watchdog: pings every 200 ms.
        .env("WATCHDOG_USEC", "400000")
        .env_remove("WATCHDOG_PID")
        .stdin(Stdio::null())
        .stdout(logf.try_clone().expect("dup log"))
        .stderr(logf)
        .spawn()
        .expect("start keepalived-rs");
    let pid = child.id();
    let mut seen = Vec::new();
    let log_text = || std::fs::read_to_string(&log).unwrap_or_default();

    let ready = recv_until(&sock, "READY=1", Duration::from_secs(10), &mut seen);
    assert!(ready, "no READY=1; got {seen:?}\nlog:\n{}", log_text());
    assert!(
        seen.iter()
            .any(|m| m.contains("STATUS=running 1 VRRP instance")),
        "{seen:?}"
    );

    seen.clear();
    let pinged = recv_until(&sock, "WATCHDOG=1", Duration::from_secs(3), &mut seen);
    assert!(pinged, "no WATCHDOG=1; got {seen:?}\nlog:\n{}", log_text());

    seen.clear();
    signal(pid, nix::sys::signal::Signal::SIGHUP);
    let reloading = recv_until(&sock, "RELOADING=1", Duration::from_secs(5), &mut seen);
    assert!(reloading, "no RELOADING=1; got {seen:?}");
    let msg = seen.last().cloned().unwrap_or_default();
    let usec = msg
        .lines()
        .find_map(|l| l.strip_prefix("MONOTONIC_USEC="))
        .and_then(|v| v.parse::<u64>().ok());
    assert!(
        usec.is_some_and(|u| u > 0),
        "RELOADING=1 without MONOTONIC_USEC: {msg:?}"
    );
    let ready_again = recv_until(&sock, "READY=1", Duration::from_secs(10), &mut seen);
    assert!(ready_again, "no READY=1 after reload; got {seen:?}");

    seen.clear();
    signal(pid, nix::sys::signal::Signal::SIGTERM);
    let stopping = recv_until(&sock, "STOPPING=1", Duration::from_secs(5), &mut seen);
    let mut exited = None;
    for _ in 0..500 {
        if let Ok(Some(st)) = child.try_wait() {
            exited = Some(st);
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    if exited.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    assert!(
        stopping,
        "no STOPPING=1; got {seen:?}\nlog:\n{}",
        log_text()
    );
    assert!(
        exited.is_some_and(|s| s.success()),
        "exit after SIGTERM: {exited:?}\nlog:\n{}",
        log_text()
    );
}
