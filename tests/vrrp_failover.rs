//! Two directors and a client on a bridge, each in its own network namespace,
//! running the real keepalived-rs binary: the VIP lands on the higher priority;
//! a crash of the master (SIGKILL plus its link down) hands the VIP to the
//! backup, the client's neighbour entry follows, and the wire gap between the
//! last master advert and the first backup advert (from a capture on the
//! client) is 3 × advert + skew, within ±2 ms.
//!
//! The gap is a wire measurement on a shared 2-core host, so one takeover can
//! be delayed by the scheduler (a CI container may refuse SCHED_RR to the VRRP
//! thread). A late gap is therefore measured again in a new lab, up to
//! [`ATTEMPTS`] times, and the test passes when one takeover lands within
//! ±2 ms (attempts after a late one start after a growing pause, so a
//! transient slowdown of the host spans fewer of them). An early takeover is never jitter (the backup's timer cannot fire
//! before the master's last advert reached it) and fails at once, and a timer
//! that is systematically off fails every attempt.

mod lab;

use lab::daemon::{read_pcap, Capture, Daemon, Packet, PacketKind};
use lab::{timed_within, wait_for, Lab};
use std::time::Duration;

fn conf(version: u8, advert: &str, prio: u8, vip: &str, extra: &str) -> String {
    format!(
        "global_defs {{\n    router_id test\n}}\n\
         vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    \
         priority {prio}\n    advert_int {advert}\n    version {version}\n{extra}    virtual_ipaddress {{\n        {vip}/24\n    }}\n}}\n"
    )
}

/// Master_Down_Interval as the RFCs define it for a backup of priority `prio`.
fn expected_gap(version: u8, advert_s: f64, prio: u8) -> f64 {
    let skew = f64::from(256 - u32::from(prio)) / 256.0;
    if version == 2 {
        3.0 * advert_s + skew
    } else {
        3.0 * advert_s + skew * advert_s
    }
}

/// Takeovers measured before a late gap is a failure.
const ATTEMPTS: usize = 5;
/// The tolerance the issue sets on the wire gap.
const TOLERANCE_S: f64 = 0.002;

fn failover(version: u8, advert: &str, advert_s: f64) {
    timed_within(
        &format!("v{version} advert {advert}: wire gap"),
        expected_gap(version, advert_s, 100),
        TOLERANCE_S,
        ATTEMPTS,
        || takeover_gap(version, advert, advert_s),
    );
}

/// One lab, one takeover: the wire gap in seconds, after checking the VIP,
/// the client's neighbour entry, the adverts' fields and the gratuitous ARP.
fn takeover_gap(version: u8, advert: &str, advert_s: f64) -> f64 {
    let lab = Lab::new(&["lb1", "lb2", "cli"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let vip = lab.addr(100);
    let (lb1, lb2, cli) = (lab.host("lb1"), lab.host("lb2"), lab.host("cli"));
    let mut d1 = Daemon::start(
        lb1,
        dir.path(),
        "lb1",
        &conf(version, advert, 150, &vip, ""),
        &[],
    );
    let mut d2 = Daemon::start(
        lb2,
        dir.path(),
        "lb2",
        &conf(version, advert, 100, &vip, ""),
        &[],
    );
    // A bound, not an expectation: a loaded host can take seconds to start
    // two debug daemons.
    let settle = Duration::from_secs(10);
    assert!(
        wait_for(settle, || lb1.has_address(&vip)),
        "VIP never reached the higher priority\nlb1 log:\n{}",
        d1.log_text()
    );
    assert!(d1.alive() && d2.alive());
    // The client talks to the VIP, so it has a neighbour entry for it. With
    // 10 ms adverts on a loaded 2-core host the backup can briefly take over
    // before the master preempts back, and the entry then follows the
    // gratuitous ARPs of both: ask again until it names the master.
    let mut neigh = String::new();
    let settled = wait_for(settle, || {
        let _ = cli.try_sh(&format!("ping -c1 -W1 {vip}"));
        neigh = cli.sh(&format!("ip neigh show {vip}"));
        neigh.contains(&lb1.mac) && lb1.has_address(&vip) && !lb2.has_address(&vip)
    });
    assert!(
        settled,
        "client neighbour entry never named the master: {neigh}\nlb1 log:\n{}\nlb2 log:\n{}",
        d1.log_text(),
        d2.log_text()
    );

    let pcap = dir.path().join("cli.pcap");
    let mut cap = Capture::start(cli, &pcap, "ip proto 112 or arp");
    std::thread::sleep(Duration::from_secs_f64((advert_s * 5.0).max(0.5)));
    let ip1: std::net::IpAddr = lb1.ipv4.parse().expect("ip");
    let ip2: std::net::IpAddr = lb2.ipv4.parse().expect("ip");
    // The takeover is the backup's first advert after the master's last
    // one: a backup that flapped to master before the kill (a scheduling
    // stall on a loaded host) and was preempted back is not the takeover.
    // (index of the master's last advert, of the backup's first after it)
    let takeover = |packets: &[Packet]| -> Option<(usize, usize)> {
        let last = packets
            .iter()
            .rposition(|p| matches!(p.kind, PacketKind::Vrrp { src, .. } if src == ip1))?;
        let first = packets[last..]
            .iter()
            .position(|p| matches!(p.kind, PacketKind::Vrrp { src, .. } if src == ip2))?;
        Some((last, last + first))
    };
    let garp_after = |packets: &[Packet], from: usize| {
        packets[from..].iter().any(
            |p| matches!(p.kind, PacketKind::Garp { sender_ip } if sender_ip.to_string() == vip),
        )
    };
    d1.kill9();
    lab.link_down("lb1");
    // Watched in the capture file: no process is spawned while the
    // backup's timer runs.
    assert!(
        lab::wait_for_every(settle, Duration::from_millis(50), || {
            let packets = read_pcap(&pcap);
            takeover(&packets).is_some_and(|(_, first)| garp_after(&packets, first))
        }),
        "no backup advert and gratuitous ARP after the master's last advert\nlb2 log:\n{}",
        d2.log_text()
    );
    let packets = cap.stop();
    assert!(
        wait_for(Duration::from_secs(5), || lb2.has_address(&vip)),
        "backup never took the VIP\nlb2 log:\n{}",
        d2.log_text()
    );
    // Only the backup's gratuitous ARPs can move the entry (the client sends
    // nothing to the VIP meanwhile); a loaded host may deliver them late.
    let mut neigh = String::new();
    assert!(
        wait_for(Duration::from_secs(3), || {
            neigh = cli.sh(&format!("ip neigh show {vip}"));
            neigh.contains(&lb2.mac)
        }),
        "client neighbour entry did not move to lb2: {neigh}"
    );

    let (last_master_at, first_backup) = takeover(&packets).unwrap_or_else(|| {
        panic!(
            "no advert from the backup after the master's last\nlb2 log:\n{}",
            d2.log_text()
        )
    });
    let last_master = &packets[last_master_at];
    for p in &packets {
        if let PacketKind::Vrrp {
            ttl,
            version: v,
            vrid,
            ..
        } = p.kind
        {
            assert_eq!((ttl, v, vrid), (255, version, 51), "{p:?}");
        }
    }
    assert!(
        garp_after(&packets, first_backup),
        "no gratuitous ARP for the VIP after the takeover"
    );
    let gap = (packets[first_backup].time - last_master.time).as_secs_f64();
    d2.term();
    if std::env::var_os("SHOW_LOGS").is_some() {
        println!("lb2 log:\n{}", d2.log_text());
    }
    gap
}

#[test]
fn v2_advert_1s_failover() {
    failover(2, "1", 1.0);
}

#[test]
fn v3_advert_100ms_failover() {
    failover(3, "0.1", 0.1);
}

#[test]
fn v3_advert_10ms_failover() {
    failover(3, "0.01", 0.01);
}
