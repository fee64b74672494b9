//! `keepalived-rs status` and `--metrics` against the real state of a
//! two-director lab, a split brain provoked and counted, and the process
//! guards: a stale pid file is replaced, a second instance is refused, the
//! control socket goes away at stop.

mod lab;

use lab::daemon::Daemon;
use lab::{our_binary, wait_for, Host, Lab};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

fn conf(prio: u8, vip: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    \
         priority {prio}\n    advert_int 0.1\n    version 3\n    virtual_ipaddress {{\n        {vip}/24\n    }}\n}}\n"
    )
}

/// `keepalived-rs status --json` from the test's own namespace (the socket
/// is a file, reachable from anywhere).
fn status(sock: &Path) -> Value {
    let out = Command::new(our_binary())
        .args(["status", "--json", "--control-socket"])
        .arg(sock)
        .stdin(Stdio::null())
        .output()
        .expect("run status");
    assert!(
        out.status.success(),
        "status failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("status JSON")
}

/// `status --json`, or None while the daemon does not answer yet.
fn try_status(sock: &Path) -> Option<Value> {
    let out = Command::new(our_binary())
        .args(["status", "--json", "--control-socket"])
        .arg(sock)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    serde_json::from_slice(&out.stdout).ok()
}

fn status_text(sock: &Path) -> String {
    let out = Command::new(our_binary())
        .args(["status", "--control-socket"])
        .arg(sock)
        .stdin(Stdio::null())
        .output()
        .expect("run status");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn vi1(v: &Value) -> Value {
    v["sources"]["vrrp"][0].clone()
}

fn metrics(host: &Host) -> String {
    host.sh("curl -s --max-time 5 http://127.0.0.1:9650/metrics")
}

/// The value of the first sample whose line starts with `prefix`.
fn sample(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

fn switch(lab: &Lab, cmd: &str) {
    let ok = Command::new("ip")
        .args(["netns", "exec", &format!("{}sw", lab.id), "sh", "-c", cmd])
        .status()
        .expect("ip netns exec");
    assert!(ok.success(), "{cmd}");
}

#[test]
fn status_and_metrics_match_the_lab_and_count_a_split_brain() {
    let lab = Lab::new(&["lb1", "lb2"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let vip = lab.addr(100);
    let (lb1, lb2) = (lab.host("lb1"), lab.host("lb2"));
    let s1 = dir.path().join("lb1.sock");
    let s2 = dir.path().join("lb2.sock");
    let extra = |s: &Path| {
        vec![
            "--control-socket".to_owned(),
            s.display().to_string(),
            "--metrics=127.0.0.1:9650".to_owned(),
        ]
    };
    let e1 = extra(&s1);
    let e2 = extra(&s2);
    let e1: Vec<&str> = e1.iter().map(String::as_str).collect();
    let e2: Vec<&str> = e2.iter().map(String::as_str).collect();
    // lb1 also tracks a script that always hangs: its timeouts are counted
    // (init_fail and a positive weight keep the priority at the base).
    let hang = "vrrp_script chk_hang {\n    script \"/bin/sleep 30\"\n    interval 1\n    \
                timeout 1\n    weight 2\n    init_fail\n}\n";
    let conf1 = format!("{hang}{}", conf(150, &vip)).replace(
        "    virtual_ipaddress {",
        "    track_script {\n        chk_hang\n    }\n    virtual_ipaddress {",
    );
    // lb1 first, MASTER alone; then lb2, which must never be MASTER before
    // the split brain below (a start-up flap would be counted as one).
    let d1 = Daemon::start(lb1, dir.path(), "lb1", &conf1, &e1);
    assert!(
        wait_for(Duration::from_secs(10), || lb1.has_address(&vip)),
        "{}",
        d1.log_text()
    );
    let d2 = Daemon::start(lb2, dir.path(), "lb2", &conf(100, &vip), &e2);
    assert!(
        wait_for(Duration::from_secs(10), || try_status(&s2).is_some_and(
            |v| {
                let b = vi1(&v);
                b["state"] == "BACKUP" && b["adverts_received"].as_u64().unwrap_or(0) > 0
            }
        )),
        "lb2 never a BACKUP hearing lb1: {:?}\n{}",
        try_status(&s2),
        d2.log_text()
    );

    // The socket is root's only.
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&s1).expect("socket exists").permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);

    // status: the lab's real state.
    let (a, b) = (vi1(&status(&s1)), vi1(&status(&s2)));
    assert_eq!(a["state"], "MASTER", "{a}");
    assert_eq!(b["state"], "BACKUP", "{b}");
    assert_eq!(a["effective_priority"], 150);
    assert_eq!(b["base_priority"], 100);
    assert_eq!(b["master"], lb1.ipv4.as_str(), "{b}");
    assert!(a["adverts_sent"].as_u64().unwrap_or(0) > 0, "{a}");
    assert!(b["adverts_received"].as_u64().unwrap_or(0) > 0, "{b}");
    assert!(
        a["last_transition"]
            .as_str()
            .is_some_and(|t| t.starts_with("BACKUP -> MASTER")),
        "{a}"
    );
    let text = status_text(&s1);
    assert!(
        text.contains("VI_1: MASTER  vrid 51 on eth0  priority 150 (base 150)"),
        "{text}"
    );

    // metrics: the same, and adverts keep counting.
    let l = "{vrrp_instance=\"VI_1\",interface=\"eth0\",vrid=\"51\"";
    let m1 = metrics(lb1);
    assert_eq!(
        sample(
            &m1,
            &format!("keepalived_rs_vrrp_state{l},state=\"MASTER\"}}")
        ),
        Some(1.0),
        "{m1}"
    );
    let m2 = metrics(lb2);
    assert_eq!(
        sample(
            &m2,
            &format!("keepalived_rs_vrrp_state{l},state=\"BACKUP\"}}")
        ),
        Some(1.0),
        "{m2}"
    );
    let sent = |m: &str| sample(m, &format!("keepalived_rs_vrrp_adverts_sent_total{l}}}"));
    let first = sent(&m1).expect("adverts sent");
    let mut second = first;
    assert!(
        lab::wait_for_every(Duration::from_secs(5), Duration::from_millis(100), || {
            second = sent(&metrics(lb1)).unwrap_or(second);
            second >= first + 3.0
        }),
        "adverts sent did not keep counting: {first} -> {second}"
    );
    assert_eq!(
        sample(&m1, &format!("keepalived_rs_vrrp_split_brain_total{l}}}")),
        Some(0.0)
    );

    // Split brain: lb1's multicast adverts no longer reach lb2 (lb2's still
    // reach lb1): lb2 becomes MASTER too, lb1 stays MASTER and counts it.
    switch(&lab, "bridge link set dev p1 mcast_flood off");
    assert!(
        wait_for(Duration::from_secs(3), || vi1(&status(&s2))["state"]
            == "MASTER"),
        "lb2 did not become MASTER: {}",
        d2.log_text()
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(vi1(&status(&s1))["state"], "MASTER");
    switch(&lab, "bridge link set dev p1 mcast_flood on");
    assert!(
        wait_for(Duration::from_secs(3), || vi1(&status(&s2))["state"]
            == "BACKUP"),
        "lb2 did not step down: {}",
        d2.log_text()
    );
    std::thread::sleep(Duration::from_millis(300));
    let a = vi1(&status(&s1));
    assert_eq!(a["split_brain"], 1, "one episode: {a}");
    assert_eq!(a["state"], "MASTER");
    assert_eq!(vi1(&status(&s2))["split_brain"], 0);
    assert_eq!(
        sample(
            &metrics(lb1),
            &format!("keepalived_rs_vrrp_split_brain_total{l}}}")
        ),
        Some(1.0)
    );
    assert!(
        d1.log_text().contains("split brain") && d1.log_text().contains("instance=VI_1"),
        "{}",
        d1.log_text()
    );
    assert!(
        wait_for(Duration::from_secs(5), || lb1.has_address(&vip)
            && !lb2.has_address(&vip)),
        "the VIP did not settle on lb1 alone after the split brain"
    );

    // The hung script: killed at its timeout, counted, named.
    let timeouts = "keepalived_rs_script_timeouts_total{script=\"/bin/sleep 30\"}";
    assert!(
        wait_for(Duration::from_secs(5), || sample(&metrics(lb1), timeouts)
            .is_some_and(|n| n >= 1.0)),
        "{}",
        metrics(lb1)
    );
    let text = status_text(&s1);
    assert!(
        text.contains("  /bin/sleep 30: ok 0, failed 0, timed out "),
        "{text}"
    );
    assert_eq!(vi1(&status(&s1))["effective_priority"], 150);
}

#[test]
fn stale_pid_file_replaced_second_instance_refused_socket_removed() {
    let lab = Lab::new(&["lb1"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let vip = lab.addr(100);
    let lb1 = lab.host("lb1");
    let pid_file = dir.path().join("lb1.pid");
    // A pid that is surely dead: a child we started and reaped.
    let mut dead = Command::new("true").spawn().expect("true");
    let dead_pid = dead.id();
    let _ = dead.wait();
    std::fs::write(&pid_file, format!("{dead_pid}\n")).expect("stale pid file");
    let sock = dir.path().join("lb1.sock");
    let sock_arg = sock.display().to_string();
    let mut d1 = Daemon::start(
        lb1,
        dir.path(),
        "lb1",
        &conf(150, &vip),
        &["--control-socket", &sock_arg],
    );
    assert!(
        wait_for(Duration::from_secs(5), || lb1.has_address(&vip)),
        "{}",
        d1.log_text()
    );
    let pid = d1.pid().expect("pid");
    assert_eq!(
        std::fs::read_to_string(&pid_file)
            .unwrap_or_default()
            .trim(),
        pid.to_string()
    );
    assert!(d1.log_text().contains("replacing stale pid file"));

    // A second daemon with the same pid file is refused and changes nothing.
    let second = lb1
        .cmd(our_binary().to_str().expect("utf-8"))
        .args(["-n", "-l", "-f"])
        .arg(dir.path().join("lb1.conf"))
        .arg("-p")
        .arg(&pid_file)
        .args(["--control-socket", &sock_arg])
        .stdin(Stdio::null())
        .output()
        .expect("second instance");
    assert!(!second.status.success());
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains("another instance is running"), "{err}");
    assert!(d1.alive());
    assert_eq!(vi1(&status(&sock))["state"], "MASTER");

    let st = d1.term().expect("exits on SIGTERM");
    assert!(st.success());
    assert!(!pid_file.exists(), "pid file left behind");
    assert!(!sock.exists(), "control socket left behind");
    assert!(!lb1.has_address(&vip), "VIP left behind");
}
