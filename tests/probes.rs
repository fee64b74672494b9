//! The checker probes other than TCP/HTTP (MISC, UDP, DNS, FILE, SMTP,
//! PING) against real scripts, files and servers on loopback, and PING
//! between two lab namespaces.

mod lab;

use keepalived_rs::check::dns::DnsProbe;
use keepalived_rs::check::file::FileProbe;
use keepalived_rs::check::misc::MiscProbe;
use keepalived_rs::check::ping::PingProbe;
use keepalived_rs::check::smtp::SmtpProbe;
use keepalived_rs::check::udp::UdpProbe;
use keepalived_rs::check::{Probe, ProbeOutcome};
use keepalived_rs::config::model::lvs::{
    DnsCheck, DnsType, EffectiveChecker, FileCheck, MiscCheck, PingCheck, RealServer, SmtpCheck,
    UdpCheck, VirtualServer,
};
use keepalived_rs::config::model::TrackFile;
use keepalived_rs::config::values::Timer;
use keepalived_rs::script::ScriptRunner;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, UdpSocket};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn real_server(addr: &str, port: u16) -> RealServer {
    RealServer::new(addr.parse().expect("address"), Some(port))
}

/// Checker timers with a short connect_timeout, so failing checks end soon.
fn timers(connect_timeout: Duration) -> EffectiveChecker {
    EffectiveChecker {
        alpha: false,
        retry: 0,
        delay_before_retry: Timer::from_secs(1),
        warmup: Timer::from_secs(0),
        delay_loop: Timer::from_secs(1),
        connect_timeout: Some(Timer::from_micros(
            u64::try_from(connect_timeout.as_micros()).expect("timeout"),
        )),
        log_all_failures: false,
    }
}

/// connect_timeout of the probes whose positive checks (an answer from a
/// loopback server) must hold on a loaded host: the silent cases then take
/// this long to fail.
const POSITIVE_TIMEOUT: Duration = Duration::from_secs(2);

fn is_down(o: &ProbeOutcome) -> bool {
    matches!(o, ProbeOutcome::Down(_))
}

// ===== MISC_CHECK =====

fn misc(path: &str, dynamic: bool, timeout_secs: Option<u32>) -> MiscProbe {
    let check = MiscCheck {
        misc_path: path.to_owned(),
        misc_dynamic: dynamic,
        misc_timeout: timeout_secs,
        ..Default::default()
    };
    MiscProbe::new(
        &check,
        &VirtualServer::default(),
        &real_server("127.0.0.1", 80),
        None,
        ScriptRunner::new(4),
    )
    .expect("misc probe")
}

#[test]
fn misc_check_exit_codes() {
    rt().block_on(async {
        assert_eq!(
            misc("/bin/true", false, None).probe().await,
            ProbeOutcome::Up
        );
        let failed = misc("/bin/sh -c 'exit 1'", false, None).probe().await;
        assert!(is_down(&failed), "{failed:?}");
        // Without misc_dynamic, 2..=255 are failures too.
        assert!(is_down(
            &misc("/bin/sh -c 'exit 12'", false, None).probe().await
        ));
        // With it, they set the weight to code − 2.
        assert_eq!(
            misc("/bin/sh -c 'exit 12'", true, None).probe().await,
            ProbeOutcome::UpWithWeight(10)
        );
        assert_eq!(
            misc("/bin/sh -c 'exit 2'", true, None).probe().await,
            ProbeOutcome::UpWithWeight(0)
        );
        assert!(is_down(
            &misc("/bin/sh -c 'exit 1'", true, None).probe().await
        ));
        assert_eq!(
            misc("/bin/true", true, None).probe().await,
            ProbeOutcome::Up
        );
        // Quoted words reach the script as one argument each.
        assert_eq!(
            misc(
                r#"/bin/sh -c 'test "$0" = "a b" && test "$1" = c' "a b" c"#,
                false,
                None
            )
            .probe()
            .await,
            ProbeOutcome::Up
        );
        assert!(is_down(
            &misc("/nonexistent/script", false, None).probe().await
        ));
    });
}

#[test]
fn misc_check_runs_as_its_user() {
    let check = MiscCheck {
        misc_path: "/bin/sh -c 'test \"$(id -u):$(id -g)\" = 65534:65534'".into(),
        user: Some(keepalived_rs::config::model::ScriptUser {
            user: "nobody".into(),
            group: None,
        }),
        ..Default::default()
    };
    let probe = MiscProbe::new(
        &check,
        &VirtualServer::default(),
        &real_server("127.0.0.1", 80),
        None,
        ScriptRunner::new(1),
    )
    .expect("misc probe");
    assert_eq!(rt().block_on(probe.probe()), ProbeOutcome::Up);
}

#[test]
fn misc_check_hung_script_is_killed_with_its_children() {
    let dir = tempfile::tempdir().expect("tempdir");
    let marker = dir.path().join("child-survived");
    let pid_file = dir.path().join("child-pid");
    // The script starts a child that would leave a marker after the
    // timeout, then hangs.
    let cmd = format!(
        "/bin/sh -c '(sleep 1.6; touch {m}) & echo $! > {p}; sleep 30'",
        m = marker.display(),
        p = pid_file.display()
    );
    let probe = misc(&cmd, false, Some(1));
    let start = Instant::now();
    let outcome = rt().block_on(probe.probe());
    let took = start.elapsed();
    assert!(is_down(&outcome), "{outcome:?}");
    let overshoot = took.as_secs_f64() - 1.0;
    eprintln!(
        "misc_timeout 1 s: the check ended after {took:?} ({:+.0} ms)",
        overshoot * 1e3
    );
    // ±50 ms is what it does on an idle machine; the bounds are generous
    // because the test shares two cores with builds.
    assert!(
        took >= Duration::from_secs(1),
        "ended before the timeout: {took:?}"
    );
    assert!(
        took < Duration::from_millis(1500),
        "ended long after the timeout: {took:?}"
    );

    let child: i32 = std::fs::read_to_string(&pid_file)
        .expect("pid file")
        .trim()
        .parse()
        .expect("pid");
    std::thread::sleep(Duration::from_millis(1000));
    assert!(!marker.exists(), "the script's child outlived the timeout");
    // Gone, or a zombie waiting for a reaper that is not us.
    let state = std::fs::read_to_string(format!("/proc/{child}/stat")).unwrap_or_default();
    let running = state
        .rsplit_once(") ")
        .is_some_and(|(_, rest)| !rest.starts_with('Z'));
    assert!(!running, "child {child} still running: {state}");
}

// ===== FILE_CHECK =====

#[test]
fn file_check_reads_the_weight_from_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("weight");
    let track = |weight: i32| TrackFile {
        name: "tf".into(),
        file: path.display().to_string(),
        weight,
        weight_reverse: false,
        init_file: None,
    };
    let check = |weight: Option<i32>, reverse: bool| FileCheck {
        track_file: "tf".into(),
        weight,
        weight_reverse: reverse,
    };
    rt().block_on(async {
        // Weight 0 (a switch): missing file reads as 0, fine.
        let switch = FileProbe::new(&check(Some(0), false), &[track(1)], 5).expect("probe");
        assert_eq!(switch.probe().await, ProbeOutcome::Up);
        std::fs::write(&path, "1\n").expect("write");
        assert!(is_down(&switch.probe().await));
        let reversed = FileProbe::new(&check(Some(0), true), &[track(1)], 5).expect("probe");
        assert_eq!(reversed.probe().await, ProbeOutcome::Up);

        // The track_file's weight 3: value 4 adds 12 to the weight 5.
        let weighted = FileProbe::new(&check(None, false), &[track(3)], 5).expect("probe");
        std::fs::write(&path, "4").expect("write");
        assert_eq!(weighted.probe().await, ProbeOutcome::UpWithWeight(17));
        std::fs::write(&path, "-1").expect("write");
        assert_eq!(weighted.probe().await, ProbeOutcome::UpWithWeight(2));
        std::fs::write(&path, "-10").expect("write");
        assert_eq!(weighted.probe().await, ProbeOutcome::UpWithWeight(0));
        // An out-of-range number is ignored: the last value (−10) stays.
        std::fs::write(&path, "99999999999").expect("write");
        assert_eq!(weighted.probe().await, ProbeOutcome::UpWithWeight(0));
        // Garbage reads as 0: the configured weight.
        std::fs::write(&path, "garbage").expect("write");
        assert_eq!(weighted.probe().await, ProbeOutcome::Up);
        // Far below: fault.
        std::fs::write(&path, "-2147483648").expect("write");
        assert!(is_down(&weighted.probe().await));
    });
}

// ===== UDP_CHECK =====

/// A UDP server on loopback that echoes what it gets (when `echo`), or
/// stays silent.
async fn udp_server(echo: bool) -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let addr = socket.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut buf = [0u8; 2048];
        while let Ok((n, from)) = socket.recv_from(&mut buf).await {
            if echo {
                let _ = socket.send_to(&buf[..n], from).await;
            }
        }
    });
    addr
}

/// A loopback port nobody listens on.
async fn closed_udp_port() -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    socket.local_addr().expect("addr")
}

fn udp(addr: SocketAddr, check: UdpCheck) -> UdpProbe {
    UdpProbe::new(
        &check,
        &real_server(&addr.ip().to_string(), addr.port()),
        &timers(POSITIVE_TIMEOUT),
    )
    .expect("udp probe")
}

#[test]
fn udp_check_echo_silence_and_closed_port() {
    rt().block_on(async {
        let echo = udp_server(true).await;
        let silent = udp_server(false).await;
        let closed = closed_udp_port().await;

        // Defaults: silence and replies are fine, port unreachable is not.
        let plain = UdpCheck::default();
        assert_eq!(udp(echo, plain.clone()).probe().await, ProbeOutcome::Up);
        assert_eq!(udp(silent, plain.clone()).probe().await, ProbeOutcome::Up);
        let refused = udp(closed, plain).probe().await;
        assert!(is_down(&refused), "{refused:?}");

        // require_reply: silence fails; the echoed payload must match.
        let required = UdpCheck {
            payload: Some("de ad be ef".into()),
            require_reply: true,
            require_reply_data: Some("de ad bX".into()),
            ..Default::default()
        };
        assert_eq!(udp(echo, required.clone()).probe().await, ProbeOutcome::Up);
        assert!(is_down(&udp(silent, required.clone()).probe().await));
        let mismatch = UdpCheck {
            require_reply_data: Some("de ae".into()),
            ..required.clone()
        };
        assert!(is_down(&udp(echo, mismatch).probe().await));
        let too_short = UdpCheck {
            min_reply_length: 5,
            ..required
        };
        assert!(is_down(&udp(echo, too_short).probe().await));
        // The default payload (32 bytes) fits the default maximum.
        let any_reply = UdpCheck {
            require_reply: true,
            min_reply_length: 32,
            max_reply_length: 32,
            ..Default::default()
        };
        assert_eq!(udp(echo, any_reply).probe().await, ProbeOutcome::Up);
    });
}

#[test]
fn udp_check_over_ipv6() {
    if !std::path::Path::new("/proc/sys/net/ipv6/conf/lo").exists() {
        eprintln!("no IPv6 on this host; skipped");
        return;
    }
    rt().block_on(async {
        let echo = UdpSocket::bind("[::1]:0").await.expect("bind");
        let echo_addr = echo.local_addr().expect("addr");
        tokio::spawn(async move {
            let mut buf = [0u8; 2048];
            while let Ok((n, from)) = echo.recv_from(&mut buf).await {
                let _ = echo.send_to(&buf[..n], from).await;
            }
        });
        let closed = UdpSocket::bind("[::1]:0")
            .await
            .expect("bind")
            .local_addr()
            .expect("addr");
        let required = UdpCheck {
            require_reply: true,
            ..Default::default()
        };
        assert_eq!(udp(echo_addr, required).probe().await, ProbeOutcome::Up);
        let refused = udp(closed, UdpCheck::default()).probe().await;
        assert!(is_down(&refused), "{refused:?}");
    });
}

#[test]
fn udp_check_sends_from_bindto_and_bind_port() {
    rt().block_on(async {
        let server = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let addr = server.local_addr().expect("addr");
        let source = closed_udp_port().await;
        let check = UdpCheck {
            bindto: Some("127.0.0.2".parse().expect("address")),
            bind_port: Some(source.port()),
            fwmark: Some(7),
            ..Default::default()
        };
        let probe = udp(addr, check);
        let (outcome, received) = tokio::join!(probe.probe(), async {
            let mut buf = [0u8; 64];
            server.recv_from(&mut buf).await.expect("datagram")
        });
        assert_eq!(outcome, ProbeOutcome::Up);
        // The default payload is 32 bytes, sent from the configured source.
        assert_eq!(received.0, 32);
        assert_eq!(
            received.1,
            SocketAddr::new("127.0.0.2".parse().expect("a"), source.port())
        );
    });
}

// ===== DNS_CHECK =====

/// How the test DNS responder behaves.
#[derive(Clone, Copy, Debug)]
enum Dns {
    /// NOERROR with one A record.
    Answer,
    /// NOERROR, no records.
    Empty,
    NxDomain,
    /// A reply with another id, and nothing else.
    WrongId,
    /// A reply with another id, then the right one.
    WrongIdThenAnswer,
    /// No reply at all.
    Silent,
}

async fn dns_server(behaviour: Dns) -> SocketAddr {
    use simple_dns::rdata::{RData, A};
    use simple_dns::{Packet, ResourceRecord, CLASS, RCODE};
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let addr = socket.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut buf = [0u8; 1500];
        while let Ok((n, from)) = socket.recv_from(&mut buf).await {
            let Ok(query) = Packet::parse(&buf[..n]) else {
                continue;
            };
            let reply_with = |id: u16, rcode: RCODE, with_record: bool| {
                let mut reply = Packet::new_reply(id);
                *reply.rcode_mut() = rcode;
                reply.questions = query.questions.clone();
                if with_record {
                    if let Some(q) = query.questions.first() {
                        reply.answers.push(ResourceRecord::new(
                            q.qname.clone(),
                            CLASS::IN,
                            60,
                            RData::A(A {
                                address: 0x7f00_0001,
                            }),
                        ));
                    }
                }
                reply.build_bytes_vec().expect("reply")
            };
            let id = query.id();
            let replies = match behaviour {
                Dns::Answer => vec![reply_with(id, RCODE::NoError, true)],
                Dns::Empty => vec![reply_with(id, RCODE::NoError, false)],
                Dns::NxDomain => vec![reply_with(id, RCODE::NameError, false)],
                Dns::WrongId => vec![reply_with(id.wrapping_add(1), RCODE::NoError, true)],
                Dns::WrongIdThenAnswer => vec![
                    reply_with(id.wrapping_add(1), RCODE::NoError, true),
                    reply_with(id, RCODE::NoError, true),
                ],
                Dns::Silent => vec![],
            };
            for r in replies {
                let _ = socket.send_to(&r, from).await;
            }
        }
    });
    addr
}

fn dns(addr: SocketAddr, qtype: DnsType, name: Option<&str>) -> DnsProbe {
    let check = DnsCheck {
        query_type: qtype,
        name: name.map(str::to_owned),
        ..Default::default()
    };
    DnsProbe::new(
        &check,
        &real_server(&addr.ip().to_string(), addr.port()),
        &timers(POSITIVE_TIMEOUT),
    )
    .expect("dns probe")
}

#[test]
fn dns_check_answers_errors_and_silence() {
    rt().block_on(async {
        let cases = [
            (Dns::Answer, true),
            (Dns::Empty, true),
            (Dns::WrongIdThenAnswer, true),
            (Dns::NxDomain, false),
            (Dns::WrongId, false),
            (Dns::Silent, false),
        ];
        for (behaviour, up) in cases {
            let server = dns_server(behaviour).await;
            let outcome = dns(server, DnsType::A, Some("www.example.com"))
                .probe()
                .await;
            assert_eq!(outcome.is_up(), up, "{behaviour:?}: {outcome:?}");
        }
        // The default query: SOA of the root.
        let server = dns_server(Dns::Answer).await;
        assert_eq!(
            dns(server, DnsType::Soa, None).probe().await,
            ProbeOutcome::Up
        );
        // Nobody there: the port unreachable fails it.
        let closed = closed_udp_port().await;
        assert!(is_down(&dns(closed, DnsType::A, None).probe().await));
    });
}

// ===== SMTP_CHECK =====

/// A fake SMTP server: sends `banner`, answers HELO with 250 and QUIT with
/// 221, and reports the HELO line it got.
async fn smtp_server(banner: &'static str) -> (SocketAddr, tokio::sync::mpsc::Receiver<String>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                if write.write_all(banner.as_bytes()).await.is_err() {
                    return;
                }
                while let Ok(Some(line)) = lines.next_line().await {
                    let reply: &[u8] = if line.starts_with("HELO") {
                        let _ = tx.send(line).await;
                        b"250 pleased to meet you\r\n"
                    } else if line == "QUIT" {
                        b"221 bye\r\n"
                    } else {
                        b"500 what\r\n"
                    };
                    if write.write_all(reply).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (addr, rx)
}

fn smtp(addr: SocketAddr, helo: Option<&str>) -> SmtpProbe {
    smtp_within(addr, helo, POSITIVE_TIMEOUT)
}

fn smtp_within(addr: SocketAddr, helo: Option<&str>, connect_timeout: Duration) -> SmtpProbe {
    let check = SmtpCheck {
        helo_name: helo.map(str::to_owned),
        ..Default::default()
    };
    let mut probes = SmtpProbe::for_check(
        &check,
        &VirtualServer::default(),
        &real_server(&addr.ip().to_string(), addr.port()),
        &timers(connect_timeout),
    );
    assert_eq!(probes.len(), 1);
    probes.remove(0).expect("smtp probe")
}

#[test]
fn smtp_check_good_and_bad_banners() {
    rt().block_on(async {
        let (good, mut helos) = smtp_server("220 mx.test ESMTP\r\n").await;
        assert_eq!(smtp(good, None).probe().await, ProbeOutcome::Up);
        assert_eq!(
            helos.recv().await.as_deref(),
            Some("HELO smtpchecker.keepalived.org")
        );
        assert_eq!(smtp(good, Some("lb1.test")).probe().await, ProbeOutcome::Up);
        assert_eq!(helos.recv().await.as_deref(), Some("HELO lb1.test"));

        let (multi, _) = smtp_server("220-mx.test\r\n220 ESMTP ready\r\n").await;
        assert_eq!(smtp(multi, None).probe().await, ProbeOutcome::Up);

        let (busy, _) = smtp_server("554 no service\r\n").await;
        let outcome = smtp(busy, None).probe().await;
        assert!(is_down(&outcome), "{outcome:?}");

        let (mute, _) = smtp_server("").await;
        assert!(is_down(&smtp(mute, None).probe().await));

        // Nobody listening.
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let closed = listener.local_addr().expect("addr");
        drop(listener);
        assert!(is_down(&smtp(closed, None).probe().await));
    });
}

#[test]
fn smtp_check_bounds_a_trickling_server() {
    use tokio::io::AsyncWriteExt;
    rt().block_on(async {
        // The greeting arrives one byte every 100 ms: each read is quick,
        // but the whole reply takes longer than connect_timeout (500 ms).
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    for b in b"220 slow.test\r\n" {
                        if stream.write_all(&[*b]).await.is_err() {
                            return;
                        }
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                });
            }
        });
        let probe = smtp_within(addr, None, Duration::from_millis(500));
        let start = Instant::now();
        let outcome = probe.probe().await;
        assert!(is_down(&outcome), "{outcome:?}");
        assert!(
            start.elapsed() < probe.max_duration(),
            "{:?}",
            start.elapsed()
        );
    });
}

// ===== PING_CHECK =====

fn ping(addr: &str, timeout: Duration) -> PingProbe {
    PingProbe::new(
        &PingCheck::default(),
        &RealServer::new(addr.parse::<IpAddr>().expect("address"), None),
        &timers(timeout),
    )
    .expect("ping probe")
}

#[test]
fn ping_check_on_loopback() {
    rt().block_on(async {
        let probe = ping("127.0.0.1", Duration::from_secs(1));
        assert_eq!(probe.probe().await, ProbeOutcome::Up);
        // The sequence number moves on; the next check still matches.
        assert_eq!(probe.probe().await, ProbeOutcome::Up);
        if std::path::Path::new("/proc/sys/net/ipv6/conf/lo").exists() {
            assert_eq!(
                ping("::1", Duration::from_secs(1)).probe().await,
                ProbeOutcome::Up
            );
        }
    });
}

/// Run `f` on a thread in the network namespace `ns`, with its own runtime.
fn in_netns<T: Send + 'static>(
    ns: &str,
    f: impl FnOnce(&tokio::runtime::Runtime) -> T + Send + 'static,
) -> T {
    let path = format!("/var/run/netns/{ns}");
    std::thread::spawn(move || {
        let fd = std::fs::File::open(&path).expect("netns file");
        nix::sched::setns(fd, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
        f(&rt())
    })
    .join()
    .expect("netns thread")
}

#[test]
fn ping_check_between_namespaces() {
    let lab = lab::Lab::new(&["lb", "rs"]);
    let lb = lab.host("lb").clone();
    let target = lab.host("rs").ipv4.clone();

    // A new namespace allows no group ping sockets: the raw socket is used.
    let t = target.clone();
    let outcome = in_netns(&lb.ns, move |rt| {
        rt.block_on(ping(&t, Duration::from_secs(2)).probe())
    });
    assert_eq!(outcome, ProbeOutcome::Up, "raw ICMP socket");

    // With ping sockets allowed, the datagram socket is used.
    lb.sh("sysctl -qw net.ipv4.ping_group_range='0 2147483647'");
    let t = target.clone();
    let outcome = in_netns(&lb.ns, move |rt| {
        rt.block_on(ping(&t, Duration::from_secs(2)).probe())
    });
    assert_eq!(outcome, ProbeOutcome::Up, "ICMP datagram socket");

    // A link-local IPv6 destination needs bind_if, which gives its scope.
    let link_local = lab
        .host("rs")
        .sh("ip -6 -o addr show dev eth0 scope link | awk '{print $4}' | cut -d/ -f1");
    let link_local = link_local.trim().to_owned();
    assert!(link_local.starts_with("fe80:"), "{link_local:?}");
    let outcome = in_netns(&lb.ns, move |rt| {
        let check = PingCheck {
            bind_if: Some("eth0".into()),
            ..Default::default()
        };
        let rs = RealServer::new(link_local.parse::<IpAddr>().expect("address"), None);
        let probe =
            PingProbe::new(&check, &rs, &timers(Duration::from_secs(2))).expect("ping probe");
        rt.block_on(probe.probe())
    });
    assert_eq!(outcome, ProbeOutcome::Up, "link-local ICMPv6 over bind_if");

    // The real server's interface goes down: no reply, down at the timeout.
    lab.link_down("rs");
    let t = target.clone();
    let start = Instant::now();
    let outcome = in_netns(&lb.ns, move |rt| {
        rt.block_on(ping(&t, Duration::from_millis(700)).probe())
    });
    assert!(is_down(&outcome), "{outcome:?}");
    assert!(start.elapsed() >= Duration::from_millis(700));
    assert!(start.elapsed() < Duration::from_secs(3));
}
