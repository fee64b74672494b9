//! The generic netlink IPVS client against a real kernel (inside the
//! `scripts/ipvs-vm` guest, see `tests/ipvs/mod.rs`): every change is read
//! back through the client and compared with what `ipvsadm` shows.

#[path = "ipvs/mod.rs"]
mod ipvs_vm;

use ipvs_vm::{sh, Test};
use keepalived_rs::ipvs::types::{
    svc_flags, Forward, TunnelType, AF_INET, AF_INET6, PROTO_SCTP, PROTO_TCP, PROTO_UDP,
};
use keepalived_rs::ipvs::{
    DestId, Destination, IpvsClient, IpvsError, IpvsOps, Service, ServiceId, SyncDaemon, SyncState,
    Timeouts,
};
use std::net::IpAddr;
use std::process::ExitCode;

fn main() -> ExitCode {
    ipvs_vm::main(&[
        Test {
            name: "info_matches_ipvsadm",
            run: info_matches_ipvsadm,
        },
        Test {
            name: "every_forwarding_method_and_schedulers",
            run: every_forwarding_method_and_schedulers,
        },
        Test {
            name: "fwmark_ipv6_and_mixed_family_tunnel",
            run: fwmark_ipv6_and_mixed_family_tunnel,
        },
        Test {
            name: "edit_delete_and_errors",
            run: edit_delete_and_errors,
        },
        Test {
            name: "multipart_dump_and_flush",
            run: multipart_dump_and_flush,
        },
        Test {
            name: "sync_daemons",
            run: sync_daemons,
        },
        Test {
            name: "timeouts",
            run: timeouts,
        },
        Test {
            name: "stats_after_real_traffic",
            run: stats_after_real_traffic,
        },
        Test {
            name: "batch_answers_each_request_in_order",
            run: batch_answers_each_request_in_order,
        },
    ])
}

/// `batch`: many requests per send, one result per request in order, the
/// kernel's refusals included; more than one send's worth of requests.
fn batch_answers_each_request_in_order() {
    use keepalived_rs::ipvs::syncer::Op;
    let mut c = client();
    let a = tcp("10.50.0.1", 80);
    let mut ops = vec![
        Op::NewService(service(a, "wrr")),
        Op::NewService(service(a, "wrr")), // exists
        Op::DelDest(a, dest("10.60.0.1", 80, Forward::Masq, 1).id), // no such dest
    ];
    let mut duplicate = 0;
    for i in 0..400u32 {
        let addr = format!("10.61.{}.{}", i / 250, 1 + i % 250);
        ops.push(Op::NewDest(a, dest(&addr, 8080, Forward::Masq, 1 + i % 5)));
        if i == 300 {
            // A refusal in a later send than the first: only the last
            // request of a send asks for an ACK, failures still answer.
            duplicate = ops.len();
            ops.push(Op::NewDest(a, dest("10.61.0.7", 8080, Forward::Masq, 1)));
        }
    }
    ops.push(Op::SetDest(a, dest("10.61.0.1", 8080, Forward::Masq, 9)));
    let results = c.batch(&ops);
    assert_eq!(results.len(), ops.len());
    assert!(results[0].is_ok(), "{:?}", results[0]);
    assert!(
        matches!(results[1], Err(IpvsError::Exists)),
        "{:?}",
        results[1]
    );
    assert!(
        matches!(results[2], Err(IpvsError::NotFound)),
        "{:?}",
        results[2]
    );
    assert!(
        matches!(results[duplicate], Err(IpvsError::Exists)),
        "{:?}",
        results[duplicate]
    );
    assert!(results[3..]
        .iter()
        .enumerate()
        .all(|(k, r)| r.is_ok() || k + 3 == duplicate));
    let dests = c.destinations(&a).expect("dests");
    assert_eq!(dests.len(), 400);
    assert!(dests
        .iter()
        .any(|d| d.id.addr == ip("10.61.0.1") && d.weight == 9));
    assert_same_as_ipvsadm(&mut c);
    let r = c.batch(&[Op::DelService(a), Op::DelService(a)]);
    assert!(
        r[0].is_ok() && matches!(r[1], Err(IpvsError::NotFound)),
        "{r:?}"
    );
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn client() -> IpvsClient {
    IpvsClient::new().expect("IPVS client (is ip_vs loaded?)")
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("address")
}

fn tcp(addr: &str, port: u16) -> ServiceId {
    ServiceId::Addr {
        protocol: PROTO_TCP,
        addr: ip(addr),
        port,
    }
}

fn service(id: ServiceId, sched: &str) -> Service {
    Service {
        id,
        scheduler: sched.into(),
        flags: 0,
        timeout: 0,
        netmask: if id.family() == AF_INET6 {
            128
        } else {
            u32::MAX
        },
        pe_name: None,
    }
}

fn dest(addr: &str, port: u16, forward: Forward, weight: u32) -> Destination {
    Destination {
        id: DestId {
            addr: ip(addr),
            port,
        },
        forward,
        weight,
        upper_threshold: 0,
        lower_threshold: 0,
        tunnel_type: TunnelType::Ipip,
        tunnel_port: 0,
        tunnel_flags: 0,
    }
}

fn hostport(addr: &IpAddr, port: u16) -> String {
    match addr {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(a) => format!("[{a}]:{port}"),
    }
}

/// The words after the scheduler on an `ipvsadm -Ln` service line.
fn service_flags_words(s: &Service) -> Vec<String> {
    let mut w = Vec::new();
    let sched_flags: Vec<&str> = [
        (svc_flags::SCHED1, "fallback"),
        (svc_flags::SCHED2, "port"),
        (svc_flags::SCHED3, "3"),
    ]
    .iter()
    .filter(|(f, _)| s.flags & f != 0)
    .map(|(_, n)| *n)
    .collect();
    if !sched_flags.is_empty() {
        let names: Vec<String> = sched_flags
            .iter()
            .map(|n| format!("{}-{n}", s.scheduler))
            .collect();
        w.push(format!("({})", names.join(",")));
    }
    if s.flags & svc_flags::PERSISTENT != 0 {
        w.push("persistent".into());
        w.push(s.timeout.to_string());
        if s.id.family() == AF_INET && s.netmask != u32::MAX {
            w.push("mask".into());
            w.push(std::net::Ipv4Addr::from(s.netmask).to_string());
        } else if s.id.family() == AF_INET6 && s.netmask != 128 {
            w.push("mask".into());
            w.push(s.netmask.to_string());
        }
    }
    if let Some(pe) = &s.pe_name {
        w.push("pe".into());
        w.push(pe.clone());
    }
    if s.flags & svc_flags::ONEPACKET != 0 {
        w.push("ops".into());
    }
    w
}

fn forward_name(f: Forward) -> &'static str {
    match f {
        Forward::Masq => "Masq",
        Forward::Local => "Local",
        Forward::Tunnel => "Tunnel",
        Forward::Route => "Route",
        Forward::Bypass => "Bypass",
    }
}

fn tun_info(d: &Destination) -> String {
    if d.forward != Forward::Tunnel {
        return "n/a".into();
    }
    // How ipvsadm shows IP_VS_TUNNEL_ENCAP_FLAG_* (nocsum, csum, remcsum).
    let csum = match d.tunnel_flags {
        0 => "-c",
        1 => "+c",
        2 => "r+c",
        _ => "?",
    };
    match d.tunnel_type {
        TunnelType::Ipip => "ipip".into(),
        TunnelType::Gue => format!("gue:{}:{csum}", d.tunnel_port),
        TunnelType::Gre => format!("gre:{csum}"),
    }
}

/// Which `ipvsadm -L` view to compare.
#[derive(Clone, Copy)]
enum View {
    /// `-Ln`: forward, weight, connections.
    Plain,
    /// `-Ln --thresholds`.
    Thresholds,
    /// `-Ln --tun-info`.
    TunInfo,
    /// `-Ln --stats --exact`.
    Stats,
}

/// The table as read back by the client, in the shape of an `ipvsadm` view:
/// one block per service (its line, then its sorted destination lines),
/// words separated by one space, blocks sorted.
fn client_view(c: &mut IpvsClient, view: View) -> Vec<Vec<String>> {
    let mut blocks = Vec::new();
    for e in c.service_entries().expect("service dump") {
        let s = &e.service;
        // ServiceId's Display is ipvsadm's service column.
        let mut head = s.id.to_string();
        match view {
            View::Stats => {
                let st = e.stats;
                for n in [st.conns, st.inpkts, st.outpkts, st.inbytes, st.outbytes] {
                    head.push_str(&format!(" {n}"));
                }
            }
            _ => {
                head.push(' ');
                head.push_str(&s.scheduler);
                for w in service_flags_words(s) {
                    head.push(' ');
                    head.push_str(&w);
                }
            }
        }
        let mut lines = Vec::new();
        for d in c.dest_entries(&s.id).expect("dest dump") {
            let r = &d.dest;
            let a = hostport(&r.id.addr, r.id.port);
            lines.push(match view {
                View::Plain => format!(
                    "-> {a} {} {} {} {}",
                    forward_name(r.forward),
                    r.weight,
                    d.active_conns,
                    d.inactive_conns
                ),
                View::Thresholds => format!(
                    "-> {a} {} {} {} {}",
                    r.upper_threshold, r.lower_threshold, d.active_conns, d.inactive_conns
                ),
                View::TunInfo => format!(
                    "-> {a} {} {} {} {} {}",
                    forward_name(r.forward),
                    tun_info(r),
                    r.weight,
                    d.active_conns,
                    d.inactive_conns
                ),
                View::Stats => {
                    let st = d.stats;
                    format!(
                        "-> {a} {} {} {} {} {}",
                        st.conns, st.inpkts, st.outpkts, st.inbytes, st.outbytes
                    )
                }
            });
        }
        lines.sort();
        lines.insert(0, head);
        blocks.push(lines);
    }
    blocks.sort();
    blocks
}

/// The same view as `ipvsadm` prints it.
fn ipvsadm_view(view: View) -> Vec<Vec<String>> {
    let args: &[&str] = match view {
        View::Plain => &["-Ln"],
        View::Thresholds => &["-Ln", "--thresholds"],
        View::TunInfo => &["-Ln", "--tun-info"],
        View::Stats => &["-Ln", "--stats", "--exact"],
    };
    let out = sh("ipvsadm", args);
    let mut blocks: Vec<Vec<String>> = Vec::new();
    for line in out.lines() {
        let words = line.split_whitespace().collect::<Vec<_>>().join(" ");
        let is_header = line.starts_with("IP Virtual Server")
            || line.starts_with("Prot ")
            || words.starts_with("-> RemoteAddress");
        if is_header || words.is_empty() {
            continue;
        }
        if words.starts_with("->") {
            blocks
                .last_mut()
                .unwrap_or_else(|| panic!("destination before any service: {line}"))
                .push(words);
        } else {
            blocks.push(vec![words]);
        }
    }
    for b in &mut blocks {
        b[1..].sort();
    }
    blocks.sort();
    blocks
}

/// Every view of the client's read-back equals ipvsadm's.
fn assert_same_as_ipvsadm(c: &mut IpvsClient) {
    for view in [View::Plain, View::Thresholds, View::TunInfo, View::Stats] {
        let ours = client_view(c, view);
        let theirs = ipvsadm_view(view);
        assert_eq!(
            ours,
            theirs,
            "client read-back differs from ipvsadm {}",
            match view {
                View::Plain => "-Ln",
                View::Thresholds => "-Ln --thresholds",
                View::TunInfo => "-Ln --tun-info",
                View::Stats => "-Ln --stats --exact",
            }
        );
    }
}

/// Services and destinations read back equal what was sent.
fn assert_table(c: &mut IpvsClient, want: &[(Service, Vec<Destination>)]) {
    let mut got = c.services().expect("services");
    got.sort_by_key(|s| s.id);
    let mut want_svcs: Vec<Service> = want.iter().map(|(s, _)| s.clone()).collect();
    want_svcs.sort_by_key(|s| s.id);
    assert_eq!(got, want_svcs);
    for (s, dests) in want {
        let mut got = c.destinations(&s.id).expect("destinations");
        got.sort_by_key(|d| d.id);
        let mut want = dests.clone();
        want.sort_by_key(|d| d.id);
        assert_eq!(got, want, "destinations of {}", s.id);
    }
}

fn apply(c: &mut IpvsClient, table: &[(Service, Vec<Destination>)]) {
    for (s, dests) in table {
        c.new_service(s)
            .unwrap_or_else(|e| panic!("new {}: {e}", s.id));
        for d in dests {
            c.new_destination(&s.id, d)
                .unwrap_or_else(|e| panic!("new {} -> {:?}: {e}", s.id, d.id));
        }
    }
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

fn info_matches_ipvsadm() {
    let mut c = client();
    let info = c.info().expect("info");
    let header = sh("ipvsadm", &["-Ln"]);
    let first = header.lines().next().unwrap_or_default();
    assert_eq!(
        first,
        format!(
            "IP Virtual Server version {} (size={})",
            info.version_string(),
            info.conn_tab_size
        )
    );
    assert!(c.services().expect("services").is_empty());
    assert_ne!(c.family_id(), 0);
}

fn every_forwarding_method_and_schedulers() {
    let mut c = client();
    let web = service(tcp("10.0.0.1", 80), "wrr");
    let mut tun_gue = dest("10.0.1.5", 80, Forward::Tunnel, 1);
    tun_gue.tunnel_type = TunnelType::Gue;
    tun_gue.tunnel_port = 6080;
    tun_gue.tunnel_flags = 1;
    let mut tun_gre = dest("10.0.1.6", 80, Forward::Tunnel, 1);
    tun_gre.tunnel_type = TunnelType::Gre;
    tun_gre.tunnel_flags = 2;
    let mut masq = dest("10.0.1.2", 8080, Forward::Masq, 2);
    masq.upper_threshold = 100;
    masq.lower_threshold = 10;
    let web_dests = vec![
        masq,
        dest("10.0.1.3", 80, Forward::Route, 0),
        dest("10.0.1.4", 80, Forward::Tunnel, 5),
        tun_gue,
        tun_gre,
        // A local address: the kernel's "Local" forwarding.
        dest("127.0.0.1", 80, Forward::Local, 1),
    ];
    let mut dns = service(
        ServiceId::Addr {
            protocol: PROTO_UDP,
            addr: ip("10.0.0.1"),
            port: 53,
        },
        "sh",
    );
    dns.flags = svc_flags::PERSISTENT | svc_flags::SCHED1 | svc_flags::SCHED2;
    dns.timeout = 300;
    dns.netmask = 0xffff_ff00;
    let sctp = service(
        ServiceId::Addr {
            protocol: PROTO_SCTP,
            addr: ip("10.0.0.1"),
            port: 9,
        },
        "sed",
    );
    let table = vec![
        (web, web_dests),
        (dns, vec![dest("10.0.2.2", 53, Forward::Masq, 1)]),
        (sctp, vec![dest("10.0.3.2", 9, Forward::Route, 7)]),
        (service(tcp("10.0.0.2", 80), "rr"), vec![]),
        (service(tcp("10.0.0.3", 80), "lc"), vec![]),
        (
            service(tcp("10.0.0.4", 80), "wlc"),
            vec![dest("10.0.4.2", 80, Forward::Masq, 1)],
        ),
        (service(tcp("10.0.0.5", 80), "nq"), vec![]),
    ];
    apply(&mut c, &table);
    assert_table(&mut c, &table);
    assert_same_as_ipvsadm(&mut c);
}

fn fwmark_ipv6_and_mixed_family_tunnel() {
    let mut c = client();
    let mut mh = service(
        ServiceId::Fwmark {
            family: AF_INET,
            mark: 7,
        },
        "mh",
    );
    mh.flags = svc_flags::ONEPACKET;
    let mut fw6 = service(
        ServiceId::Fwmark {
            family: AF_INET6,
            mark: 8,
        },
        "rr",
    );
    fw6.flags = svc_flags::PERSISTENT;
    fw6.timeout = 360;
    fw6.netmask = 64;
    let mut v6 = service(tcp("fd00::1", 443), "lc");
    v6.flags = svc_flags::PERSISTENT;
    v6.timeout = 60;
    v6.pe_name = Some("sip".into());
    let table = vec![
        (
            mh,
            vec![
                dest("10.0.0.9", 0, Forward::Route, 1),
                dest("10.0.0.10", 0, Forward::Route, 2),
            ],
        ),
        (fw6, vec![dest("fd00::9", 0, Forward::Route, 1)]),
        (
            v6,
            vec![
                dest("fd00::2", 443, Forward::Masq, 1),
                dest("fd00::3", 8443, Forward::Masq, 3),
            ],
        ),
        // IPv4 service, IPv6 real server: only tunnelling may mix families.
        (
            service(tcp("10.0.0.1", 80), "wrr"),
            vec![
                dest("2001:db8::2", 80, Forward::Tunnel, 1),
                dest("10.0.1.2", 80, Forward::Tunnel, 1),
            ],
        ),
    ];
    apply(&mut c, &table);
    assert_table(&mut c, &table);
    assert_same_as_ipvsadm(&mut c);
    // Mixing families without tunnelling is refused.
    let err = c
        .new_destination(
            &tcp("10.0.0.1", 80),
            &dest("2001:db8::3", 80, Forward::Masq, 1),
        )
        .expect_err("mixed-family NAT must fail");
    assert!(matches!(err, IpvsError::Invalid(_)), "{err:?}");
}

fn edit_delete_and_errors() {
    let mut c = client();
    let id = tcp("10.0.0.1", 80);
    let mut s = service(id, "wrr");
    let d1 = dest("10.0.1.2", 80, Forward::Masq, 1);
    let d2 = dest("10.0.1.3", 80, Forward::Masq, 1);
    apply(&mut c, &[(s.clone(), vec![d1.clone(), d2.clone()])]);

    // Adding twice: Exists.
    assert!(matches!(c.new_service(&s), Err(IpvsError::Exists)));
    assert!(matches!(
        c.new_destination(&id, &d1),
        Err(IpvsError::Exists)
    ));

    // Edit the service: scheduler, persistence.
    s.scheduler = "sh".into();
    s.flags = svc_flags::PERSISTENT | svc_flags::SCHED2;
    s.timeout = 120;
    s.netmask = 0xffff_0000;
    c.set_service(&s).expect("set service");
    // Edit a destination: weight, forwarding, thresholds.
    let mut d1b = d1.clone();
    d1b.weight = 9;
    d1b.forward = Forward::Route;
    d1b.upper_threshold = 50;
    d1b.lower_threshold = 5;
    c.set_destination(&id, &d1b).expect("set dest");
    assert_table(&mut c, &[(s.clone(), vec![d1b.clone(), d2.clone()])]);
    assert_same_as_ipvsadm(&mut c);

    // The one-service GET agrees with the dump.
    assert_eq!(c.service_entry(&id).expect("get service").service, s);

    // Delete a destination, then again: NotFound.
    c.del_destination(&id, &d2.id).expect("del dest");
    assert!(matches!(
        c.del_destination(&id, &d2.id),
        Err(IpvsError::NotFound)
    ));
    assert_table(&mut c, &[(s.clone(), vec![d1b.clone()])]);
    assert_same_as_ipvsadm(&mut c);

    // Missing service: NotFound for every kind of request.
    let missing = tcp("10.9.9.9", 1);
    assert!(matches!(c.del_service(&missing), Err(IpvsError::NotFound)));
    assert!(matches!(
        c.set_service(&service(missing, "rr")),
        Err(IpvsError::NotFound)
    ));
    assert!(matches!(
        c.new_destination(&missing, &d1),
        Err(IpvsError::NotFound)
    ));
    assert!(matches!(
        c.service_entry(&missing),
        Err(IpvsError::NotFound)
    ));
    // The kernel answers a destination dump of a missing service with an
    // empty dump, not an error.
    assert!(c.dest_entries(&missing).expect("dest dump").is_empty());
    // Unknown scheduler: refused (the kernel says ENOENT).
    assert!(c
        .new_service(&service(tcp("10.0.0.2", 80), "nosuch"))
        .is_err());
    // Over-long scheduler name: refused before it reaches the kernel.
    assert!(matches!(
        c.new_service(&service(tcp("10.0.0.2", 80), "a-very-long-scheduler")),
        Err(IpvsError::Invalid(_))
    ));

    // Deleting the service takes its destinations along.
    c.del_service(&id).expect("del service");
    assert!(c.services().expect("services").is_empty());
    assert_same_as_ipvsadm(&mut c);
}

fn multipart_dump_and_flush() {
    let mut c = client();
    // Enough entries that both dumps span several netlink reads (64 KiB
    // each; a service entry with its stats is about 300 bytes, a
    // destination about 250): 400 services, one of them with 400 real
    // servers.
    let n_svc = 400u32;
    let big = tcp("10.1.0.1", 80);
    let n_big = 400u32;
    for i in 0..n_svc {
        let id = tcp(&format!("10.{}.{}.1", 1 + i / 250, i % 250), 80);
        c.new_service(&service(id, "wrr")).expect("new service");
    }
    for j in 0..n_big {
        let d = dest(
            &format!("192.168.{}.{}", j / 200, 1 + j % 200),
            8080,
            Forward::Masq,
            1 + j,
        );
        c.new_destination(&big, &d).expect("new dest");
    }
    let svcs = c.service_entries().expect("dump");
    assert_eq!(svcs.len(), n_svc as usize);
    let dests = c.dest_entries(&big).expect("dest dump");
    assert_eq!(dests.len(), n_big as usize);
    let mut weights: Vec<u32> = dests.iter().map(|d| d.dest.weight).collect();
    weights.sort();
    assert_eq!(weights, (1..=n_big).collect::<Vec<_>>());
    let listed = sh("ipvsadm", &["-Ln"]);
    assert_eq!(
        listed.lines().filter(|l| l.starts_with("TCP")).count(),
        n_svc as usize
    );
    assert_eq!(
        listed
            .lines()
            .filter(|l| l.trim_start().starts_with("->") && !l.contains("Remote"))
            .count(),
        n_big as usize
    );
    c.flush().expect("flush");
    assert!(c.services().expect("services").is_empty());
    assert_eq!(ipvsadm_view(View::Plain), Vec::<Vec<String>>::new());
}

fn daemon_line(d: &SyncDaemon) -> String {
    format!(
        "{} sync daemon (mcast={}, syncid={}, maxlen={}, group={}, port={}, ttl={})",
        match d.state {
            SyncState::Master => "master",
            SyncState::Backup => "backup",
        },
        d.mcast_ifname,
        d.syncid,
        d.sync_maxlen.unwrap_or_default(),
        d.mcast_group.map(|g| g.to_string()).unwrap_or_default(),
        d.mcast_port.unwrap_or_default(),
        d.mcast_ttl.unwrap_or_default()
    )
}

fn sync_daemons() {
    let mut c = client();
    assert!(c.daemons().expect("daemons").is_empty());
    let master = SyncDaemon {
        state: SyncState::Master,
        mcast_ifname: "lo".into(),
        syncid: 5,
        sync_maxlen: None,
        mcast_group: None,
        mcast_port: None,
        mcast_ttl: None,
    };
    let backup = SyncDaemon {
        state: SyncState::Backup,
        mcast_ifname: "lo".into(),
        syncid: 6,
        sync_maxlen: Some(1400),
        mcast_group: Some(ip("239.1.2.3")),
        mcast_port: Some(8849),
        mcast_ttl: Some(2),
    };
    c.new_daemon(&master).expect("start master");
    c.new_daemon(&backup).expect("start backup");
    assert!(matches!(c.new_daemon(&master), Err(IpvsError::Exists)));
    let mut got = c.daemons().expect("daemons");
    got.sort_by_key(|d| d.state.value());
    assert_eq!(got.len(), 2);
    // The master got the kernel's defaults.
    assert_eq!(got[0].mcast_group, Some(ip("224.0.0.81")));
    assert_eq!(got[0].mcast_port, Some(8848));
    assert_eq!(got[0].mcast_ttl, Some(1));
    assert!(got[0].sync_maxlen.is_some());
    assert_eq!((got[0].state, got[0].syncid), (SyncState::Master, 5));
    assert_eq!(got[1], backup);
    let mut ours: Vec<String> = got.iter().map(daemon_line).collect();
    let mut theirs: Vec<String> = sh("ipvsadm", &["-L", "--daemon"])
        .lines()
        .map(str::to_string)
        .collect();
    ours.sort();
    theirs.sort();
    assert_eq!(ours, theirs);
    c.del_daemon(SyncState::Backup).expect("stop backup");
    c.del_daemon(SyncState::Master).expect("stop master");
    assert!(c.daemons().expect("daemons").is_empty());
}

fn timeouts() {
    let mut c = client();
    let t = Timeouts {
        tcp: 901,
        tcp_fin: 121,
        udp: 301,
    };
    c.set_timeouts(&t).expect("set timeouts");
    assert_eq!(c.timeouts().expect("timeouts"), t);
    let shown = sh("ipvsadm", &["-L", "--timeout"]);
    assert_eq!(shown.trim(), "Timeout (tcp tcpfin udp): 901 121 301");
    // Zero leaves a value unchanged.
    c.set_timeouts(&Timeouts {
        tcp: 0,
        tcp_fin: 0,
        udp: 60,
    })
    .expect("set udp");
    assert_eq!(
        c.timeouts().expect("timeouts"),
        Timeouts {
            tcp: 901,
            tcp_fin: 121,
            udp: 60
        }
    );
}

/// Run `f` on a thread in the named network namespace.
fn in_netns<T: Send + 'static>(
    ns: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> std::thread::JoinHandle<T> {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let fd = std::fs::File::open(&path).expect("netns file");
        nix::sched::setns(fd, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
        f()
    })
}

/// Real TCP through a NAT service (client and real server in their own
/// namespaces, the test's namespace directing): the counters and
/// connection counts read back equal ipvsadm's.
fn stats_after_real_traffic() {
    use std::io::{Read, Write};
    use std::net::{SocketAddr, TcpListener, TcpStream};
    use std::time::{Duration, Instant};

    let tag = std::process::id();
    let (rs, cli) = (format!("rs{tag}"), format!("cli{tag}"));
    sh("sysctl", &["-qw", "net.ipv4.ip_forward=1"]);
    for (ns, dev, net) in [(&rs, "vrs", "10.77.0"), (&cli, "vcli", "10.78.0")] {
        sh("ip", &["netns", "add", ns]);
        sh(
            "ip",
            &[
                "link", "add", dev, "type", "veth", "peer", "name", "eth0", "netns", ns,
            ],
        );
        sh("ip", &["addr", "add", &format!("{net}.1/24"), "dev", dev]);
        sh("ip", &["link", "set", dev, "up"]);
        sh(
            "ip",
            &[
                "-n",
                ns,
                "addr",
                "add",
                &format!("{net}.2/24"),
                "dev",
                "eth0",
            ],
        );
        sh("ip", &["-n", ns, "link", "set", "eth0", "up"]);
        sh("ip", &["-n", ns, "link", "set", "lo", "up"]);
        sh(
            "ip",
            &[
                "-n",
                ns,
                "route",
                "add",
                "default",
                "via",
                &format!("{net}.1"),
            ],
        );
    }
    // The VIP is local on the director.
    sh("ip", &["addr", "add", "10.77.1.1/32", "dev", "lo"]);
    let mut c = client();
    let id = tcp("10.77.1.1", 80);
    c.new_service(&service(id, "rr")).expect("service");
    c.new_destination(&id, &dest("10.77.0.2", 8080, Forward::Masq, 1))
        .expect("dest");

    const N: usize = 3;
    let (tx, rx) = std::sync::mpsc::channel();
    let server = in_netns(&rs, move || {
        let l = TcpListener::bind("10.77.0.2:8080").expect("listen");
        tx.send(()).expect("ready");
        for _ in 0..N {
            let (mut s, _) = l.accept().expect("accept");
            s.write_all(b"hello from rs").expect("write");
        }
    });
    rx.recv().expect("server ready");
    let got = in_netns(&cli, || {
        let vip: SocketAddr = "10.77.1.1:80".parse().expect("vip");
        (0..N)
            .map(|_| {
                let mut s =
                    TcpStream::connect_timeout(&vip, Duration::from_secs(10)).expect("connect");
                s.set_read_timeout(Some(Duration::from_secs(10)))
                    .expect("timeout");
                let mut buf = String::new();
                s.read_to_string(&mut buf).expect("read");
                buf
            })
            .collect::<Vec<_>>()
    })
    .join()
    .expect("client");
    server.join().expect("server");
    assert_eq!(got, vec!["hello from rs"; N]);

    // The kernel folds its per-CPU counters into what it reports every 2 s:
    // wait until the service shows the connections, then one more round.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let e = c.service_entry(&id).expect("service");
        if e.stats.conns >= N as u64 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "counters never showed the traffic: {:?}",
            e.stats
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    // Then until two reads at least 2.2 s apart (a fold in between) show the
    // same counters (not the rate estimates, which decay for a while): they
    // have settled and ipvsadm must read the same.
    let counters = |st: &keepalived_rs::ipvs::Stats| {
        [st.conns, st.inpkts, st.outpkts, st.inbytes, st.outbytes]
    };
    let snapshot = |c: &mut IpvsClient| {
        let e = c.service_entry(&id).expect("service");
        let d = c.dest_entries(&id).expect("dests");
        let mut all = vec![counters(&e.stats)];
        all.extend(d.iter().map(|d| counters(&d.stats)));
        all
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut before = snapshot(&mut c);
    loop {
        std::thread::sleep(Duration::from_millis(2200));
        let now = snapshot(&mut c);
        if now == before {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "counters never settled: {before:?} then {now:?}"
        );
        before = now;
    }
    let e = c.service_entry(&id).expect("service");
    assert_eq!(e.stats.conns, N as u64);
    assert!(
        e.stats.inpkts >= 3 * N as u64 && e.stats.outpkts >= 2 * N as u64,
        "{:?}",
        e.stats
    );
    assert!(e.stats.outbytes > e.stats.inbytes, "{:?}", e.stats);
    let d = c.dest_entries(&id).expect("dests");
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].stats.conns, N as u64);
    assert_eq!(d[0].active_conns + d[0].inactive_conns, N as u32);
    assert_same_as_ipvsadm(&mut c);
    c.zero(Some(&id)).expect("zero");
    assert_eq!(c.service_entry(&id).expect("service").stats.conns, 0);
}
