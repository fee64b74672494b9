//! SIGHUP reload with the real binary in a two-director lab: unchanged and
//! changed configurations never take a kept VIP away, a broken configuration
//! keeps the running one, and a hundred reloads while adverts run every 0.1 s
//! cause no state transition.

mod lab;

use lab::daemon::{AddrMonitor, Capture, Daemon, PacketKind};
use lab::{wait_for, wait_for_every, Lab};
use std::path::Path;
use std::time::Duration;

fn instance(name: &str, vrid: u8, prio: u8, vips: &[&str]) -> String {
    let vips: String = vips.iter().map(|v| format!("        {v}/24\n")).collect();
    format!(
        "vrrp_instance {name} {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {vrid}\n    \
         priority {prio}\n    advert_int 0.1\n    version 3\n    virtual_ipaddress {{\n{vips}    }}\n}}\n"
    )
}

fn hup(d: &Daemon) {
    let pid = d.pid().expect("daemon running") as i32;
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGHUP,
    );
}

/// Rewrite the configuration a daemon was started with (Daemon::start wrote
/// it to DIR/NAME.conf).
fn rewrite(dir: &Path, name: &str, conf: &str) {
    std::fs::write(dir.join(format!("{name}.conf")), conf).expect("write config");
}

fn count(d: &Daemon, needle: &str) -> usize {
    d.log_text().matches(needle).count()
}

const APPLIED: &str = "reload: new configuration applied";
const TRANSITION: &str = "state transition";

fn wait_count(d: &Daemon, needle: &str, n: usize) -> bool {
    wait_for(Duration::from_secs(5), || count(d, needle) >= n)
}

#[test]
fn reloads_never_take_a_kept_vip_away() {
    let lab = Lab::new(&["lb1", "lb2"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b, c, d) = (lab.addr(100), lab.addr(101), lab.addr(102), lab.addr(103));
    let conf = |p1: u8, p2: u8, vi2: &[&str], extra: &str| {
        format!(
            "{}{}{extra}",
            instance("VI_1", 51, p1, &[&a]),
            instance("VI_2", 52, p2, vi2)
        )
    };
    let (lb1, lb2) = (lab.host("lb1"), lab.host("lb2"));
    let d1 = Daemon::start(lb1, dir.path(), "lb1", &conf(150, 150, &[&b], ""), &[]);
    let _d2 = Daemon::start(lb2, dir.path(), "lb2", &conf(100, 100, &[&b], ""), &[]);
    assert!(
        wait_for(Duration::from_secs(5), || lb1.has_address(&a)
            && lb1.has_address(&b)),
        "{}",
        d1.log_text()
    );
    let mon = AddrMonitor::start(lb1, dir.path().join("lb1.monitor"));
    let transitions = count(&d1, TRANSITION);

    // 1. Unchanged configuration: no address is touched at all.
    hup(&d1);
    assert!(wait_count(&d1, APPLIED, 1), "{}", d1.log_text());
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        mon.text().trim(),
        "",
        "an unchanged reload touched addresses"
    );
    // 2. The other instance gains an address and a new priority.
    rewrite(dir.path(), "lb1", &conf(150, 140, &[&b, &c], ""));
    hup(&d1);
    assert!(wait_count(&d1, APPLIED, 2), "{}", d1.log_text());
    assert!(
        wait_for(Duration::from_secs(2), || lb1.has_address(&c)),
        "added VIP not installed on the master"
    );
    // 3. ... and loses one; a new instance appears.
    let stop_log = dir.path().join("vi3.stopped");
    let vi3 = instance("VI_3", 53, 100, &[&d]).replace(
        "    state BACKUP\n",
        &format!(
            "    state BACKUP\n    notify_stop \"/bin/touch {}\"\n",
            stop_log.display()
        ),
    );
    rewrite(dir.path(), "lb1", &conf(150, 140, &[&c], &vi3));
    hup(&d1);
    assert!(wait_count(&d1, APPLIED, 3), "{}", d1.log_text());
    assert!(
        wait_for(Duration::from_secs(2), || !lb1.has_address(&b)),
        "removed VIP still installed"
    );
    assert!(
        wait_for(Duration::from_secs(3), || lb1.has_address(&d)),
        "the new instance did not start: {}",
        d1.log_text()
    );
    // 4. The new instance goes away again: priority-0 advert, its address
    // removed, notify_stop run.
    let pcap = dir.path().join("lb2.pcap");
    let mut cap = Capture::start(lb2, &pcap, "ip proto 112");
    rewrite(dir.path(), "lb1", &conf(150, 140, &[&c], ""));
    hup(&d1);
    assert!(wait_count(&d1, APPLIED, 4), "{}", d1.log_text());
    assert!(
        wait_for(Duration::from_secs(2), || !lb1.has_address(&d)),
        "removed instance left its VIP"
    );
    assert!(
        wait_for(Duration::from_secs(2), || stop_log.exists()),
        "notify_stop of the removed instance not run"
    );
    std::thread::sleep(Duration::from_millis(200));
    let ip1: std::net::IpAddr = lb1.ipv4.parse().expect("ip");
    let released = cap.stop().iter().any(
        |p| matches!(p.kind, PacketKind::Vrrp { src, vrid: 53, priority: 0, .. } if src == ip1),
    );
    assert!(released, "no priority-0 advert from the removed instance");
    std::thread::sleep(Duration::from_millis(300));

    assert_eq!(mon.deletions(&a), 0, "VIP {a} left:\n{}", mon.text());
    assert_eq!(mon.deletions(&c), 0, "VIP {c} left:\n{}", mon.text());
    assert_eq!(mon.deletions(&b), 1, "{}", mon.text());
    assert!(lb1.has_address(&a) && lb1.has_address(&c));
    // VI_1 and VI_2 never moved; only VI_3 started and stopped.
    let log = d1.log_text();
    let vi12 = log
        .lines()
        .filter(|l| l.contains(TRANSITION) && !l.contains("VI_3"))
        .count();
    assert_eq!(vi12, transitions, "{log}");
    assert!(log.contains("to=\"STOP\""), "VI_3 not stopped: {log}");
}

#[test]
fn broken_config_on_reload_keeps_the_running_one() {
    let lab = Lab::new(&["lb1"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let a = lab.addr(100);
    let lb1 = lab.host("lb1");
    let good = instance("VI_1", 51, 150, &[&a]);
    let mut d1 = Daemon::start(lb1, dir.path(), "lb1", &good, &[]);
    assert!(
        wait_for(Duration::from_secs(5), || lb1.has_address(&a)),
        "{}",
        d1.log_text()
    );
    let transitions = count(&d1, TRANSITION);
    rewrite(
        dir.path(),
        "lb1",
        &good.replace("virtual_router_id 51", "virtual_router_id 999"),
    );
    hup(&d1);
    assert!(
        wait_count(&d1, "reload failed; keeping the running configuration", 1),
        "{}",
        d1.log_text()
    );
    let log = d1.log_text();
    assert!(
        log.contains("virtual_router_id"),
        "the log does not say why: {log}"
    );
    std::thread::sleep(Duration::from_millis(500));
    assert!(d1.alive(), "the daemon died on a broken reload");
    assert!(lb1.has_address(&a), "the VIP went away");
    assert_eq!(count(&d1, TRANSITION), transitions, "{}", d1.log_text());
    // Valid syntax, but an interface this host does not have: refused (by
    // the configuration checks; the engine checks again before it changes
    // anything, in case the interface went away in between).
    let missing = format!("{good}{}", instance("VI_2", 52, 100, &[&lab.addr(101)])).replace(
        "interface eth0\n    virtual_router_id 52",
        "interface eth7\n    virtual_router_id 52",
    );
    rewrite(dir.path(), "lb1", &missing);
    hup(&d1);
    assert!(
        wait_count(&d1, "reload failed; keeping the running configuration", 2),
        "{}",
        d1.log_text()
    );
    assert!(
        d1.log_text().contains("interface eth7"),
        "{}",
        d1.log_text()
    );
    assert!(d1.alive() && lb1.has_address(&a));
    // A good configuration afterwards is applied.
    rewrite(dir.path(), "lb1", &good);
    hup(&d1);
    assert!(wait_count(&d1, APPLIED, 1), "{}", d1.log_text());
    assert_eq!(count(&d1, TRANSITION), transitions, "{}", d1.log_text());
}

#[test]
fn reload_keeps_an_unchanged_sync_group_running() {
    let lab = Lab::new(&["lb1"]);
    lab.add_second_network(&["lb1"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let a = lab.addr(100);
    let b = a.replace("10.77.", "10.78.");
    let b2 = lab.addr(105).replace("10.77.", "10.78.");
    let conf = |prio_in: u8, vips_in: &[&str]| {
        format!(
            "vrrp_sync_group G {{\n    group {{\n        VI_OUT\n        VI_IN\n    }}\n}}\n{}{}",
            instance("VI_OUT", 51, 150, &[&a]),
            instance("VI_IN", 52, prio_in, vips_in).replace("interface eth0", "interface eth1"),
        )
    };
    let lb1 = lab.host("lb1");
    let on_eth1 = |addr: &str| {
        lb1.sh("ip -o addr show dev eth1")
            .contains(&format!(" {addr}/"))
    };
    let d1 = Daemon::start(lb1, dir.path(), "lb1", &conf(150, &[&b]), &[]);
    assert!(
        wait_for(Duration::from_secs(5), || lb1.has_address(&a)
            && on_eth1(&b)),
        "{}",
        d1.log_text()
    );
    let mon = AddrMonitor::start(lb1, dir.path().join("lb1.monitor"));
    let transitions = count(&d1, TRANSITION);
    rewrite(dir.path(), "lb1", &conf(140, &[&b, &b2]));
    hup(&d1);
    assert!(wait_count(&d1, APPLIED, 1), "{}", d1.log_text());
    assert!(
        wait_for(Duration::from_secs(2), || on_eth1(&b2)),
        "added VIP of a group member not installed"
    );
    hup(&d1);
    assert!(wait_count(&d1, APPLIED, 2), "{}", d1.log_text());
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(count(&d1, TRANSITION), transitions, "{}", d1.log_text());

    // A third member joins: the group is formed anew, the running members
    // keep their state, the new one joins the MASTER group.
    let x = lab.addr(106);
    let with_x = conf(140, &[&b, &b2]).replace("        VI_IN\n", "        VI_IN\n        VI_X\n")
        + &instance("VI_X", 53, 150, &[&x]);
    rewrite(dir.path(), "lb1", &with_x);
    hup(&d1);
    assert!(wait_count(&d1, APPLIED, 3), "{}", d1.log_text());
    assert!(
        wait_for(Duration::from_secs(3), || lb1.has_address(&x)),
        "the new member did not become MASTER: {}",
        d1.log_text()
    );
    // ... and leaves again.
    rewrite(dir.path(), "lb1", &conf(140, &[&b, &b2]));
    hup(&d1);
    assert!(wait_count(&d1, APPLIED, 4), "{}", d1.log_text());
    assert!(
        wait_for(Duration::from_secs(2), || !lb1.has_address(&x)),
        "the removed member kept its VIP"
    );
    std::thread::sleep(Duration::from_millis(300));
    let log = d1.log_text();
    let moved = log
        .lines()
        .filter(|l| l.contains(TRANSITION) && !l.contains("VI_X"))
        .count();
    assert_eq!(moved, transitions, "{log}");
    assert_eq!(mon.deletions(&a) + mon.deletions(&b), 0, "{}", mon.text());
    assert!(lb1.has_address(&a) && on_eth1(&b) && on_eth1(&b2));
}

#[test]
fn hundred_reloads_under_fast_adverts_cause_no_transition() {
    let lab = Lab::new(&["lb1", "lb2"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, e) = (lab.addr(100), lab.addr(104));
    let (lb1, lb2) = (lab.host("lb1"), lab.host("lb2"));
    let c1 = instance("VI_1", 51, 150, &[&a]);
    // The other shape: another priority and one more address, excluded from
    // adverts (an advertised list that differs between the directors makes
    // them drop each other's adverts, as keepalived does).
    let c1b = instance("VI_1", 51, 160, &[&a]).replace(
        "    virtual_ipaddress {",
        &format!(
            "    virtual_ipaddress_excluded {{\n        {e}/24\n    }}\n    virtual_ipaddress {{"
        ),
    );
    let c2 = instance("VI_1", 51, 100, &[&a]);
    let c2b = instance("VI_1", 51, 110, &[&a]);
    let d1 = Daemon::start(lb1, dir.path(), "lb1", &c1, &[]);
    let d2 = Daemon::start(lb2, dir.path(), "lb2", &c2, &[]);
    assert!(
        wait_for(Duration::from_secs(5), || lb1.has_address(&a)),
        "{}",
        d1.log_text()
    );
    std::thread::sleep(Duration::from_millis(500));
    let mon = AddrMonitor::start(lb1, dir.path().join("lb1.monitor"));
    let (t1, t2) = (count(&d1, TRANSITION), count(&d2, TRANSITION));
    for i in 0..100 {
        let odd = i % 2 == 1;
        rewrite(dir.path(), "lb1", if odd { &c1b } else { &c1 });
        rewrite(dir.path(), "lb2", if odd { &c2b } else { &c2 });
        hup(&d1);
        hup(&d2);
        // Signals coalesce; give each reload the time to be taken.
        let want = i + 1;
        wait_for(Duration::from_millis(500), || {
            count(&d1, APPLIED) >= want && count(&d2, APPLIED) >= want
        });
    }
    // End on the first shape.
    rewrite(dir.path(), "lb1", &c1);
    hup(&d1);
    std::thread::sleep(Duration::from_millis(500));
    let (r1, r2) = (count(&d1, APPLIED), count(&d2, APPLIED));
    assert!(r1 >= 90 && r2 >= 90, "only {r1} and {r2} reloads applied");
    assert_eq!(count(&d1, TRANSITION), t1, "lb1 moved: {}", d1.log_text());
    assert_eq!(count(&d2, TRANSITION), t2, "lb2 moved: {}", d2.log_text());
    assert_eq!(mon.deletions(&a), 0, "{}", mon.text());
    assert!(
        mon.text().contains(&format!(" {e}/")),
        "the excluded address was never installed: {}",
        mon.text()
    );
    assert!(lb1.has_address(&a) && !lb2.has_address(&a));
    assert!(
        wait_for(Duration::from_secs(2), || !lb1.has_address(&e)),
        "the extra address was not removed by the last reload"
    );
}

#[test]
fn a_sighup_as_soon_as_the_pid_file_appears_is_a_reload() {
    // The signal handlers are installed before the pid file, the addresses
    // and the control socket exist: a SIGHUP sent as soon as the daemon
    // looks up must never kill it (the default action of SIGHUP).
    let lab = Lab::new(&["lb1"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let vip = lab.addr(100);
    let lb1 = lab.host("lb1");
    let conf = instance("VI_1", 51, 150, &[&vip]);
    for round in 0..3 {
        let name = format!("lb1r{round}");
        let pid_file = dir.path().join(format!("{name}.pid"));
        let mut d = Daemon::start(lb1, dir.path(), &name, &conf, &[]);
        // Stat in-process every millisecond: the earliest moment a script
        // could read the pid file.
        let appeared = wait_for_every(Duration::from_secs(20), Duration::from_millis(1), || {
            pid_file.exists()
        });
        assert!(appeared, "no pid file:\n{}", d.log_text());
        hup(&d);
        assert!(
            wait_for(Duration::from_secs(10), || count(&d, APPLIED) >= 1
                || !d.alive()),
            "no reload logged:\n{}",
            d.log_text()
        );
        assert!(
            d.alive(),
            "round {round}: the daemon died of a SIGHUP sent when its pid file appeared:\n{}",
            d.log_text()
        );
        assert!(d.term().is_some_and(|s| s.success()), "{}", d.log_text());
    }
}
