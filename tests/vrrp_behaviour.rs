//! VRRP behaviour in a two-director lab, with the real binary: graceful stop
//! (priority 0, takeover after the skew time), preemption, nopreempt,
//! preempt_delay, track_interface, sync groups, IPv6, and malformed packets
//! dropped and counted without a state change.

mod lab;

use lab::daemon::{AddrMonitor, Capture, Daemon, PacketKind};
use lab::{timed_within, wait_for, Host, Lab};
use std::net::IpAddr;
use std::time::{Duration, Instant};

const ADVERT: f64 = 0.1;

fn instance(name: &str, vrid: u8, prio: u8, iface: &str, vips: &[String], extra: &str) -> String {
    let vips: String = vips.iter().map(|v| format!("        {v}\n")).collect();
    format!(
        "vrrp_instance {name} {{\n    state BACKUP\n    interface {iface}\n    virtual_router_id {vrid}\n    \
         priority {prio}\n    advert_int {ADVERT}\n    version 3\n{extra}    virtual_ipaddress {{\n{vips}    }}\n}}\n"
    )
}

fn simple(prio: u8, vip: &str, extra: &str) -> String {
    instance("VI_1", 51, prio, "eth0", &[format!("{vip}/24")], extra)
}

struct Pair {
    lab: Lab,
    dir: tempfile::TempDir,
    vip: String,
}

impl Pair {
    fn new() -> Pair {
        let lab = Lab::new(&["lb1", "lb2", "cli"]);
        let vip = lab.addr(100);
        Pair {
            lab,
            dir: tempfile::tempdir().expect("tempdir"),
            vip,
        }
    }
    fn host(&self, n: &str) -> &Host {
        self.lab.host(n)
    }
    fn start(&self, n: &str, conf: &str) -> Daemon {
        Daemon::start(self.host(n), self.dir.path(), n, conf, &[])
    }
    fn wait_vip_on(&self, n: &str, limit: Duration) -> bool {
        wait_for(limit, || self.host(n).has_address(&self.vip))
    }
}

/// Takeovers measured before a late one is a failure (see
/// `lab::timed_within`: one takeover on a loaded 2-core host can be delayed
/// by the scheduler).
const ATTEMPTS: usize = 5;
/// How far the takeover may be from the skew time.
const SKEW_TOLERANCE_S: f64 = 0.005;

#[test]
fn sigterm_sends_priority_0_and_backup_takes_over_after_skew() {
    // The backup cannot take over before the skew time has passed since it
    // received the priority-0 advert.
    timed_within(
        "takeover after the priority-0 advert",
        156.0 / 256.0 * ADVERT,
        SKEW_TOLERANCE_S,
        ATTEMPTS,
        sigterm_takeover_gap,
    );
}

/// One lab, one graceful stop of the master: the wire gap in seconds from its
/// priority-0 advert to the backup's first advert after it.
fn sigterm_takeover_gap() -> f64 {
    let p = Pair::new();
    let mut d1 = p.start("lb1", &simple(150, &p.vip, ""));
    let d2 = p.start("lb2", &simple(100, &p.vip, ""));
    assert!(
        wait_for(Duration::from_secs(10), || p
            .host("lb1")
            .has_address(&p.vip)
            && !p.host("lb2").has_address(&p.vip)),
        "{}",
        d1.log_text()
    );
    let pcap = p.dir.path().join("cli.pcap");
    let mut cap = Capture::start(p.host("cli"), &pcap, "ip proto 112");
    std::thread::sleep(Duration::from_millis(300));
    let status = d1.term().expect("lb1 exits on SIGTERM");
    assert!(status.success(), "exit status {status:?}");
    // No process spawns while the backup's ~61 ms skew timer runs: it starts
    // when the priority-0 advert leaves, just before the exit.
    std::thread::sleep(Duration::from_millis(300));
    // The daemon removed its VIP before it exited.
    assert!(
        !p.host("lb1").has_address(&p.vip),
        "VIP left behind on stop"
    );
    assert!(
        p.wait_vip_on("lb2", Duration::from_secs(10)),
        "{}",
        d2.log_text()
    );
    let ip1: IpAddr = p.host("lb1").ipv4.parse().expect("ip");
    let ip2: IpAddr = p.host("lb2").ipv4.parse().expect("ip");
    // The backup's first advert after the priority-0 one: an earlier one (a
    // flap at start on a loaded host) is not the takeover.
    let gap_in = |packets: &[lab::daemon::Packet]| {
        let zero = packets.iter().position(
            |x| matches!(x.kind, PacketKind::Vrrp { src, priority: 0, .. } if src == ip1),
        )?;
        let first2 = packets[zero..]
            .iter()
            .find(|x| matches!(x.kind, PacketKind::Vrrp { src, .. } if src == ip2))?;
        Some((first2.time - packets[zero].time).as_secs_f64())
    };
    assert!(
        wait_for(Duration::from_secs(5), || gap_in(&lab::daemon::read_pcap(
            &pcap
        ))
        .is_some()),
        "no priority-0 advert from the stopping master followed by one from the backup"
    );
    let packets = cap.stop();
    gap_in(&packets).expect("the capture lost packets it had")
}

#[test]
fn preemption_nopreempt_and_preempt_delay() {
    // Preempt: the higher priority takes the VIP back when it returns.
    let p = Pair::new();
    let mut d1 = p.start("lb1", &simple(150, &p.vip, ""));
    let _d2 = p.start("lb2", &simple(100, &p.vip, ""));
    assert!(p.wait_vip_on("lb1", Duration::from_secs(5)));
    d1.kill9();
    // The address events on lb1 from now on: the leftover VIP's removal by
    // the restarted daemon lasts only until it preempts (~0.3 s), too short
    // to be sure to see with `ip addr` polls on a loaded host.
    let mon = AddrMonitor::start(p.host("lb1"), p.dir.path().join("lb1.monitor"));
    assert!(p.wait_vip_on("lb2", Duration::from_secs(3)));
    // The restarted daemon removes the VIP its crashed predecessor left behind,
    // then takes it back by preemption.
    let _d1 = p.start("lb1", &simple(150, &p.vip, ""));
    assert!(
        wait_for(Duration::from_secs(10), || mon.deletions(&p.vip) >= 1),
        "leftover VIP not removed at start; address events:\n{}\n{}",
        mon.text(),
        _d1.log_text()
    );
    assert!(
        p.wait_vip_on("lb1", Duration::from_secs(10)),
        "the higher priority did not preempt"
    );
    assert!(wait_for(Duration::from_secs(2), || !p
        .host("lb2")
        .has_address(&p.vip)));
    drop(_d1);
    drop(_d2);
    drop(p);

    // nopreempt: the returning higher priority stays BACKUP. (With nopreempt
    // on both, whoever is master first stays master: start lb1 alone first.)
    let p = Pair::new();
    let mut d1 = p.start("lb1", &simple(150, &p.vip, "    nopreempt\n"));
    assert!(p.wait_vip_on("lb1", Duration::from_secs(5)));
    let _d2 = p.start("lb2", &simple(100, &p.vip, "    nopreempt\n"));
    std::thread::sleep(Duration::from_millis(500));
    assert!(p.host("lb1").has_address(&p.vip));
    d1.kill9();
    assert!(p.wait_vip_on("lb2", Duration::from_secs(3)));
    let _d1b = p.start("lb1", &simple(150, &p.vip, "    nopreempt\n"));
    // The restarted daemon removes the VIP its crashed predecessor left
    // behind, and then must not take it back.
    assert!(
        wait_for(Duration::from_secs(10), || !p
            .host("lb1")
            .has_address(&p.vip)),
        "leftover VIP not removed at start:\n{}",
        _d1b.log_text()
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        p.host("lb2").has_address(&p.vip),
        "nopreempt: the VIP moved back"
    );
    assert!(
        !p.host("lb1").has_address(&p.vip),
        "nopreempt: lb1 took the VIP"
    );
    drop(_d1b);
    drop(_d2);
    drop(p);

    // preempt_delay 1: the returning higher priority waits at least 1 s.
    let p = Pair::new();
    let mut d1 = p.start("lb1", &simple(150, &p.vip, "    preempt_delay 1\n"));
    let _d2 = p.start("lb2", &simple(100, &p.vip, ""));
    assert!(p.wait_vip_on("lb1", Duration::from_secs(6)));
    d1.kill9();
    assert!(p.wait_vip_on("lb2", Duration::from_secs(3)));
    // A crash leaves the VIP behind; a rebooted box would not have it.
    p.host("lb1")
        .sh(&format!("ip addr del {}/24 dev eth0", p.vip));
    let t0 = Instant::now();
    let _d1c = p.start("lb1", &simple(150, &p.vip, "    preempt_delay 1\n"));
    // Start, 1 s preempt_delay and the takeover: 10 s on a loaded host.
    assert!(
        p.wait_vip_on("lb1", Duration::from_secs(10)),
        "never preempted"
    );
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(1000),
        "preempted after {took:?}, before preempt_delay (1 s)"
    );
}

#[test]
fn track_interface_down_faults_and_up_preempts() {
    let p = Pair::new();
    let lb1 = p.host("lb1");
    lb1.sh(
        "ip link add eth9 type veth peer name eth9p && ip link set eth9p up && ip link set eth9 up",
    );
    let track = "    track_interface {\n        eth9\n    }\n";
    let d1 = p.start("lb1", &simple(150, &p.vip, track));
    let _d2 = p.start("lb2", &simple(100, &p.vip, ""));
    assert!(
        p.wait_vip_on("lb1", Duration::from_secs(5)),
        "{}",
        d1.log_text()
    );
    lb1.sh("ip link set eth9 down");
    assert!(
        p.wait_vip_on("lb2", Duration::from_secs(3)),
        "no takeover after FAULT"
    );
    assert!(
        wait_for(Duration::from_secs(3), || !lb1.has_address(&p.vip)),
        "FAULT instance kept the VIP"
    );
    assert!(
        d1.log_text().contains("\"FAULT\""),
        "no FAULT transition logged"
    );
    lb1.sh("ip link set eth9 up");
    assert!(
        p.wait_vip_on("lb1", Duration::from_secs(3)),
        "did not preempt after the link came back"
    );
}

#[test]
fn sync_group_members_move_together() {
    let p = Pair::new();
    p.lab.add_second_network(&["lb1", "lb2"]);
    let vip2 = p.vip.replace("10.77.", "10.78.");
    let conf = |prio: u8| {
        format!(
            "vrrp_sync_group G {{\n    group {{\n        VI_OUT\n        VI_IN\n    }}\n}}\n{}{}",
            instance("VI_OUT", 51, prio, "eth0", &[format!("{}/24", p.vip)], ""),
            instance("VI_IN", 52, prio, "eth1", &[format!("{vip2}/24")], ""),
        )
    };
    let d1 = p.start("lb1", &conf(150));
    let _d2 = p.start("lb2", &conf(100));
    let (lb1, lb2) = (p.host("lb1"), p.host("lb2"));
    let on = |h: &Host| {
        (
            h.has_address(&p.vip),
            h.sh("ip -o addr show dev eth1")
                .contains(&format!(" {vip2}/")),
        )
    };
    assert!(
        wait_for(Duration::from_secs(5), || on(lb1) == (true, true)),
        "{}",
        d1.log_text()
    );
    // lb2 may have been MASTER for a moment at start (both start together).
    assert!(
        wait_for(Duration::from_secs(5), || on(lb2) == (false, false)),
        "the backup holds VIPs: {:?}",
        on(lb2)
    );
    // Only the inside link fails: both instances move.
    lb1.sh("ip link set eth1 down");
    assert!(
        wait_for(Duration::from_secs(3), || on(lb2) == (true, true)),
        "the group did not move together: lb2 {:?}",
        on(lb2)
    );
    assert!(
        wait_for(Duration::from_secs(3), || !on(lb1).0),
        "the outside VIP stayed on lb1"
    );
}

#[test]
fn ipv6_vrrpv3_with_unsolicited_na() {
    let p = Pair::new();
    let conf = |prio: u8| {
        instance(
            "VI_6",
            61,
            prio,
            "eth0",
            &["fe80::6:100/64".into(), "2001:db8:77::100/64".into()],
            "",
        )
    };
    let pcap = p.dir.path().join("cli6.pcap");
    let mut cap = Capture::start(p.host("cli"), &pcap, "ip6");
    let d1 = p.start("lb1", &conf(150));
    let _d2 = p.start("lb2", &conf(100));
    let lb1 = p.host("lb1");
    assert!(
        wait_for(Duration::from_secs(5), || lb1
            .sh("ip -o addr show dev eth0")
            .contains("2001:db8:77::100/64")),
        "{}",
        d1.log_text()
    );
    std::thread::sleep(Duration::from_millis(300));
    let packets = cap.stop();
    assert!(
        packets.iter().any(|x| matches!(x.kind,
            PacketKind::Vrrp { version: 3, vrid: 61, ttl: 255, src: IpAddr::V6(s), .. } if s.segments()[0] == 0xfe80)),
        "no VRRPv3 advert from a link-local source"
    );
    assert!(
        packets.iter().any(|x| matches!(&x.kind,
            PacketKind::NeighborAdvert { target } if target.to_string() == "2001:db8:77::100")),
        "no unsolicited neighbour advertisement for the VIP"
    );
    assert!(!p
        .host("lb2")
        .sh("ip -o addr show dev eth0")
        .contains("2001:db8:77::100"));
}

/// Send hand-made IPv4 packets (header included) from the client's namespace.
fn send_raw_from(ns: &str, packets: Vec<Vec<u8>>) {
    let path = format!("/var/run/netns/{ns}");
    std::thread::spawn(move || {
        let fd = std::fs::File::open(&path).expect("netns");
        nix::sched::setns(fd, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
        let s = socket2::Socket::new(
            socket2::Domain::IPV4,
            socket2::Type::RAW,
            Some(socket2::Protocol::from(112)),
        )
        .expect("raw socket");
        s.set_header_included_v4(true).expect("hdrincl");
        s.bind_device(Some(b"eth0")).expect("bind eth0");
        let dst: std::net::SocketAddr = "224.0.0.18:0".parse().expect("addr");
        for p in packets {
            s.send_to(&p, &dst.into()).expect("send");
            std::thread::sleep(Duration::from_millis(5));
        }
    })
    .join()
    .expect("sender");
}

fn ipv4(src: [u8; 4], ttl: u8, payload: &[u8]) -> Vec<u8> {
    let total = 20 + payload.len();
    let mut h = vec![
        0x45,
        0xc0,
        (total >> 8) as u8,
        total as u8,
        0,
        1,
        0,
        0,
        ttl,
        112,
        0,
        0,
        src[0],
        src[1],
        src[2],
        src[3],
        224,
        0,
        0,
        18,
    ];
    let mut sum: u32 = 0;
    for c in h.chunks(2) {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    let cs = !(sum as u16);
    h[10] = (cs >> 8) as u8;
    h[11] = cs as u8;
    h.extend_from_slice(payload);
    h
}

#[test]
fn malformed_adverts_are_dropped_and_counted_without_state_change() {
    use keepalived_rs::vrrp::packet::{Advertisement, AuthType, Checksum, VersionFields};
    let p = Pair::new();
    let conf = "vrrp_instance VI_1 {\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    \
        priority 150\n    advert_int 1\n    authentication {\n        auth_type PASS\n        auth_pass pw\n    }\n    \
        virtual_ipaddress {\n        VIP/24\n    }\n}\n"
        .replace("VIP", &p.vip);
    let d1 = Daemon::start(
        p.host("lb1"),
        p.dir.path(),
        "lb1",
        &conf,
        &["--dump-dir", p.dir.path().to_str().expect("utf-8")],
    );
    assert!(
        p.wait_vip_on("lb1", Duration::from_secs(6)),
        "{}",
        d1.log_text()
    );
    let vip: IpAddr = p.vip.parse().expect("vip");
    let cli: std::net::Ipv4Addr = p.host("cli").ipv4.parse().expect("ip");
    let mut pass = [0u8; 8];
    pass[..2].copy_from_slice(b"pw");
    // A higher-priority advert that would take mastership if it were accepted.
    let good = |vrid: u8, addrs: Vec<IpAddr>, auth: [u8; 8]| {
        Advertisement {
            vrid,
            priority: 254,
            addresses: addrs,
            fields: VersionFields::V2 {
                auth_type: AuthType::SimplePassword,
                auth_data: auth,
                advert_int_s: 1,
            },
        }
        .encode(Checksum::MessageOnly)
        .expect("encode")
    };
    let src = cli.octets();
    let base = good(51, vec![vip], pass);
    let mut bad_checksum = base.clone();
    bad_checksum[6] ^= 0xff;
    // A well-formed VRRPv3 advert to a VRRPv2 instance (keepalived: "wrong version").
    let wrong_version = Advertisement {
        vrid: 51,
        priority: 254,
        addresses: vec![vip],
        fields: VersionFields::V3 {
            max_advert_int_cs: 100,
        },
    }
    .encode(Checksum::PseudoHeader {
        src: IpAddr::V4(cli),
        dst: "224.0.0.18".parse().expect("group"),
    })
    .expect("encode v3");
    let other: IpAddr = p.lab.addr(123).parse().expect("ip");
    let packets = vec![
        ipv4(src, 255, &bad_checksum),
        ipv4(src, 254, &base),
        ipv4(src, 255, &good(51, vec![vip], *b"wrongpw\0")),
        ipv4(src, 255, &base[..10]),
        ipv4(src, 255, &wrong_version),
        ipv4(src, 255, &good(52, vec![vip], pass)),
        ipv4(src, 255, &good(51, vec![other], pass)),
    ];
    send_raw_from(&p.host("cli").ns.clone(), packets);
    let reasons = [
        "checksum",
        "ttl",
        "auth_pass",
        "length",
        "version",
        "vrid",
        "address_list",
    ];
    let counted = |stats: &str, reason: &str| {
        stats
            .lines()
            .any(|l| l.trim().starts_with(&format!("{reason}: ")) && !l.trim().ends_with(": 0"))
    };
    // A fresh stats dump (SIGUSR2) until every drop is counted: the daemon
    // may read the packets some time after they were sent.
    let pid = d1.pid().expect("pid") as i32;
    let stats_path = p.dir.path().join("keepalived-rs.stats");
    let mut stats = String::new();
    let all_counted =
        lab::wait_for_every(Duration::from_secs(5), Duration::from_millis(100), || {
            let _ = std::fs::remove_file(&stats_path);
            nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGUSR2,
            )
            .expect("SIGUSR2");
            if !wait_for(Duration::from_secs(3), || stats_path.exists()) {
                return false;
            }
            stats = std::fs::read_to_string(&stats_path).unwrap_or_default();
            reasons.iter().all(|r| counted(&stats, r))
        });
    let missing: Vec<&str> = reasons
        .iter()
        .copied()
        .filter(|r| !counted(&stats, r))
        .collect();
    assert!(
        all_counted,
        "no drop counted for {missing:?} (empty: no stats dump):\n{stats}\n{}",
        d1.log_text()
    );
    assert!(
        p.host("lb1").has_address(&p.vip),
        "a malformed advert changed the state"
    );
    assert!(!d1
        .log_text()
        .contains("to=\"BACKUP\" reason=HigherPriorityAdvert"));
}

#[test]
fn notify_scripts_run_with_keepalived_arguments() {
    let p = Pair::new();
    let dir = p.dir.path();
    let log = dir.join("notify.log");
    let script = dir.join("notify.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho \"$0 $*\" >> {}\n", log.display()),
    )
    .expect("script");

    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let s = script.display();
    let extra = format!(
        "    notify_master \"{s} master-hook\"\n    notify_backup \"{s} backup-hook\"\n    \
         notify_stop \"{s} stop-hook\"\n    notify {s}\n"
    );
    let mut d1 = p.start("lb1", &simple(150, &p.vip, &extra));
    assert!(p.wait_vip_on("lb1", Duration::from_secs(5)));
    let text = || std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        wait_for(Duration::from_secs(3), || text()
            .contains("INSTANCE VI_1 MASTER 150")),
        "notify not run with INSTANCE name STATE priority:\n{}",
        text()
    );
    let t = text();
    assert!(
        t.contains("backup-hook") && t.contains("master-hook"),
        "{t}"
    );
    // keepalived runs the specific script before the generic one.
    let master_hook = t.find("master-hook").expect("master hook");
    let generic = t.find("INSTANCE VI_1 MASTER").expect("generic");
    assert!(master_hook < generic, "{t}");
    d1.term();
    assert!(
        wait_for(Duration::from_secs(3), || text().contains("stop-hook")
            && text().contains("INSTANCE VI_1 STOP")),
        "notify_stop not run:\n{}",
        text()
    );
}
