//! Interoperation with Debian's keepalived 2.2.7 as the peer, in both roles:
//! VRRPv2 with PASS authentication and VRRPv3, multicast and unicast. In every
//! case the higher priority takes the VIP, the other takes over when it is
//! killed, and the two are never masters together for longer than one advert
//! interval (checked from a capture on the client).

mod lab;

use lab::daemon::{Capture, Daemon, PacketKind};
use lab::{wait_for, Host, Lab};
use std::net::IpAddr;
use std::time::Duration;

#[derive(Clone, Copy)]
enum Impl {
    Ours,
    Keepalived,
}

fn conf(version: u8, prio: u8, vip: &str, unicast: Option<(&str, &str)>, advert: &str) -> String {
    let auth = if version == 2 {
        "    authentication {\n        auth_type PASS\n        auth_pass s3cret\n    }\n"
    } else {
        ""
    };
    let uni = match unicast {
        Some((src, peer)) => {
            format!("    unicast_src_ip {src}\n    unicast_peer {{\n        {peer}\n    }}\n")
        }
        None => String::new(),
    };
    format!(
        "global_defs {{\n    router_id interop\n    vrrp_version {version}\n}}\n\
         vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 77\n    \
         priority {prio}\n    advert_int {advert}\n{auth}{uni}    virtual_ipaddress {{\n        {vip}/24\n    }}\n}}\n"
    )
}

fn start(which: Impl, host: &Host, dir: &std::path::Path, name: &str, conf: &str) -> Daemon {
    match which {
        Impl::Ours => Daemon::start(host, dir, name, conf, &[]),
        Impl::Keepalived => Daemon::start_keepalived(host, dir, name, conf),
    }
}

/// Longest time both directors were master at once, from the capture: each
/// director's mastership is a run of its non-zero-priority adverts with gaps
/// shorter than 1.5 advert intervals; two masters = two runs overlapping.
fn dual_master_time(
    packets: &[lab::daemon::Packet],
    a: IpAddr,
    b: IpAddr,
    advert: Duration,
) -> Duration {
    let runs = |who: IpAddr| {
        let mut out: Vec<(Duration, Duration)> = Vec::new();
        for p in packets {
            if let PacketKind::Vrrp { src, priority, .. } = p.kind {
                if src != who || priority == 0 {
                    continue;
                }
                match out.last_mut() {
                    Some(r) if p.time - r.1 < advert.mul_f64(1.5) => r.1 = p.time,
                    _ => out.push((p.time, p.time)),
                }
            }
        }
        out
    };
    let (ra, rb) = (runs(a), runs(b));
    let mut worst = Duration::ZERO;
    for x in &ra {
        for y in &rb {
            let start = x.0.max(y.0);
            let end = x.1.min(y.1);
            if end > start {
                worst = worst.max(end - start);
            }
        }
    }
    worst
}

fn scenario(master: Impl, backup: Impl, version: u8, unicast: bool) {
    let lab = Lab::new(&["lb1", "lb2", "cli"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let vip = lab.addr(100);
    let (lb1, lb2, cli) = (lab.host("lb1"), lab.host("lb2"), lab.host("cli"));
    let advert = "1";
    let u1 = unicast.then_some((lb1.ipv4.as_str(), lb2.ipv4.as_str()));
    let u2 = unicast.then_some((lb2.ipv4.as_str(), lb1.ipv4.as_str()));
    let pcap = dir.path().join("cli.pcap");
    let mut cap = Capture::start(cli, &pcap, "ip proto 112 or arp");
    let mut d1 = start(
        master,
        lb1,
        dir.path(),
        "lb1",
        &conf(version, 150, &vip, u1, advert),
    );
    let mut d2 = start(
        backup,
        lb2,
        dir.path(),
        "lb2",
        &conf(version, 100, &vip, u2, advert),
    );
    assert!(
        wait_for(Duration::from_secs(8), || lb1.has_address(&vip)),
        "VIP never reached the higher priority\nlb1:\n{}\nlb2:\n{}",
        d1.log_text(),
        d2.log_text()
    );
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        lb1.has_address(&vip) && !lb2.has_address(&vip),
        "VIP moved or is on both"
    );
    // Crash the master: the backup takes over.
    match master {
        Impl::Ours => d1.kill9(),
        Impl::Keepalived => d1.kill9_group(lb1),
    }
    lab.link_down("lb1");
    assert!(
        wait_for(Duration::from_secs(8), || lb2.has_address(&vip)),
        "backup never took the VIP\nlb2:\n{}",
        d2.log_text()
    );
    std::thread::sleep(Duration::from_millis(500));
    let packets = cap.stop();
    let a: IpAddr = lb1.ipv4.parse().expect("ip");
    let b: IpAddr = lb2.ipv4.parse().expect("ip");
    let dual = dual_master_time(&packets, a, b, Duration::from_secs(1));
    assert!(
        dual <= Duration::from_secs(1),
        "two masters for {dual:?} (> one advert interval)"
    );
    let from_b = packets
        .iter()
        .filter(|p| matches!(p.kind, PacketKind::Vrrp { src, .. } if src == b))
        .count();
    assert!(from_b > 0, "no advert from the new master in the capture");
    let _ = d2.term();
}

#[test]
fn v2_pass_multicast_ours_master_keepalived_backup() {
    scenario(Impl::Ours, Impl::Keepalived, 2, false);
}

#[test]
fn v2_pass_multicast_keepalived_master_ours_backup() {
    scenario(Impl::Keepalived, Impl::Ours, 2, false);
}

#[test]
fn v3_multicast_ours_master_keepalived_backup() {
    scenario(Impl::Ours, Impl::Keepalived, 3, false);
}

#[test]
fn v3_multicast_keepalived_master_ours_backup() {
    scenario(Impl::Keepalived, Impl::Ours, 3, false);
}

#[test]
fn v2_pass_unicast_ours_master_keepalived_backup() {
    scenario(Impl::Ours, Impl::Keepalived, 2, true);
}

#[test]
fn v3_unicast_keepalived_master_ours_backup() {
    scenario(Impl::Keepalived, Impl::Ours, 3, true);
}
