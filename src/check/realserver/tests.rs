//! Scheduling and counting with fake probes on tokio's paused clock: every
//! probe time and every update is checked exactly.

use super::*;
use crate::config::model::lvs::{HttpCheck, MiscCheck, TcpCheck, Url};
use crate::config::values::Timer;
use std::collections::VecDeque;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

/// A probe that answers from a script (then `Up` forever) and records when
/// it was called.
#[derive(Clone, Default)]
struct FakeProbe {
    script: Arc<Mutex<VecDeque<ProbeOutcome>>>,
    calls: Arc<Mutex<Vec<Instant>>>,
    hang: bool,
}

impl FakeProbe {
    fn new(script: Vec<ProbeOutcome>) -> Self {
        FakeProbe {
            script: Arc::new(Mutex::new(script.into())),
            ..Default::default()
        }
    }

    /// Seconds since `t0` of every call.
    fn call_times(&self, t0: Instant) -> Vec<f64> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .map(|t| (*t - t0).as_secs_f64())
            .collect()
    }
}

impl Probe for FakeProbe {
    fn probe(&self) -> super::super::probe::ProbeFuture<'_> {
        Box::pin(async move {
            self.calls.lock().unwrap().push(Instant::now());
            if self.hang {
                std::future::pending::<()>().await;
            }
            self.script
                .lock()
                .unwrap()
                .pop_front()
                .unwrap_or(ProbeOutcome::Up)
        })
    }

    fn describe(&self) -> String {
        "FAKE".into()
    }
}

fn down() -> ProbeOutcome {
    ProbeOutcome::Down("refused".into())
}

fn key(port: u16) -> RealServerKey {
    RealServerKey {
        service: ServiceKey::Address {
            addr: "10.0.0.1".parse().unwrap(),
            port: 80,
            protocol: None,
        },
        addr: "10.0.0.2".parse().unwrap(),
        port,
    }
}

fn checker(probe: &FakeProbe, alpha: bool, retry: u32) -> CheckerPlan {
    CheckerPlan {
        probe: Box::new(probe.clone()),
        alpha,
        timers: CheckerTimers {
            delay_loop: Duration::from_secs(10),
            delay_before_retry: Duration::from_secs(1),
            retry,
        },
        warmup: Duration::ZERO,
        hard_timeout: Duration::from_secs(5),
        log_all_failures: false,
    }
}

fn one_server(checkers: Vec<CheckerPlan>) -> Plan {
    Plan {
        real_servers: vec![RealServerPlan {
            key: key(80),
            notify_up: None,
            notify_down: None,
            omega: false,
            checkers,
            suspend_unless_local: vec![],
        }],
        warnings: vec![],
        rs_init_notifies: false,
    }
}

fn run(plan: Plan) -> (CheckerSet, UnboundedReceiver<RealServerUpdate>) {
    let (tx, rx) = unbounded_channel();
    let set = start_plan(
        plan,
        ScriptRunner::new(2),
        tx,
        StartOptions {
            seed: Some(7),
            ..Default::default()
        },
    );
    (set, rx)
}

/// The next update and the time it came, in seconds since `t0`.
async fn next(
    rx: &mut UnboundedReceiver<RealServerUpdate>,
    t0: Instant,
) -> (f64, bool, Option<u32>) {
    let u = rx.recv().await.unwrap();
    ((Instant::now() - t0).as_secs_f64(), u.alive, u.weight)
}

#[tokio::test(start_paused = true)]
async fn retries_then_down_then_up_after_one_success() {
    let t0 = Instant::now();
    let p = FakeProbe::new(vec![down(), down(), down(), ProbeOutcome::Up]);
    let (set, mut rx) = run(one_server(vec![checker(&p, false, 2)]));
    assert_eq!(next(&mut rx, t0).await, (0.0, true, None));
    // Probe at 0 fails, retried at 1 and 2 (retry 2): down at the third failure.
    assert_eq!(next(&mut rx, t0).await, (2.0, false, None));
    // Down: the next probe waits delay_loop; one success brings it up.
    assert_eq!(next(&mut rx, t0).await, (12.0, true, None));
    tokio::time::sleep(Duration::from_secs(25)).await;
    assert_eq!(p.call_times(t0), vec![0.0, 1.0, 2.0, 12.0, 22.0, 32.0]);
    let st = set.status();
    assert!(st[0].alive);
    assert_eq!(st[0].checkers[0].probes, 6);
    assert_eq!(st[0].checkers[0].failures, 3);
    assert_eq!(st[0].checkers[0].last_result.as_deref(), Some("up"));
    assert!(rx.try_recv().is_err(), "no update without a change");
}

#[tokio::test(start_paused = true)]
async fn a_restart_keeps_the_state_of_unchanged_checkers() {
    let t0 = Instant::now();
    let p = FakeProbe::new(vec![down()]);
    let (mut old, mut rx) = run(one_server(vec![checker(&p, false, 0)]));
    assert_eq!(next(&mut rx, t0).await, (0.0, true, None));
    assert_eq!(next(&mut rx, t0).await, (0.0, false, None));
    // A reload restarts the set: the same checker keeps "down" (a fresh
    // start would say "up" until the next failed probe).
    let carried = old.carry();
    old.stop();
    let q = FakeProbe::new(vec![ProbeOutcome::Up]);
    let (tx, mut rx2) = unbounded_channel();
    let new = start_plan(
        one_server(vec![checker(&q, false, 0)]),
        ScriptRunner::new(2),
        tx,
        StartOptions {
            seed: Some(7),
            carried: carried.clone(),
            ..Default::default()
        },
    );
    let u = rx2.recv().await.unwrap();
    assert!(!u.alive);
    assert_eq!(u.reason, "kept across reload");
    assert_eq!(new.status()[0].checkers[0].probes, 1);
    // Its next probe passes: up.
    assert!(next(&mut rx2, t0).await.1);
    // A changed checker list starts afresh.
    let r = FakeProbe::new(vec![]);
    let (tx, mut rx3) = unbounded_channel();
    let _fresh = start_plan(
        one_server(vec![checker(&r, false, 0), checker(&r, false, 0)]),
        ScriptRunner::new(2),
        tx,
        StartOptions {
            seed: Some(7),
            carried,
            ..Default::default()
        },
    );
    let u = rx3.recv().await.unwrap();
    assert!(u.alive);
    assert_eq!(u.reason, "initial state");
}

#[tokio::test(start_paused = true)]
async fn a_success_between_failures_resets_the_retries() {
    let t0 = Instant::now();
    let p = FakeProbe::new(vec![down(), ProbeOutcome::Up, down(), down()]);
    let (_set, mut rx) = run(one_server(vec![checker(&p, false, 1)]));
    assert_eq!(next(&mut rx, t0).await, (0.0, true, None));
    // 0 fails (retry), 1 passes, 11 fails (retry), 12 fails: down.
    assert_eq!(next(&mut rx, t0).await, (12.0, false, None));
    assert_eq!(p.call_times(t0), vec![0.0, 1.0, 11.0, 12.0]);
}

#[tokio::test(start_paused = true)]
async fn alpha_starts_down_and_down_checkers_are_not_retried() {
    let t0 = Instant::now();
    let p = FakeProbe::new(vec![down(), down(), ProbeOutcome::Up]);
    let (_set, mut rx) = run(one_server(vec![checker(&p, true, 3)]));
    assert_eq!(next(&mut rx, t0).await, (0.0, false, None));
    assert_eq!(next(&mut rx, t0).await, (20.0, true, None));
    assert_eq!(p.call_times(t0), vec![0.0, 10.0, 20.0]);
}

#[tokio::test(start_paused = true)]
async fn alive_needs_every_checker_up() {
    let t0 = Instant::now();
    let a = FakeProbe::new(vec![]);
    let b = FakeProbe::new(vec![down(), down()]);
    let (set, mut rx) = run(one_server(vec![
        checker(&a, false, 0),
        checker(&b, true, 0),
    ]));
    // b starts down (alpha): the server is dead although a is up.
    assert_eq!(next(&mut rx, t0).await, (0.0, false, None));
    // b fails at 0 and 10, passes at 20.
    assert_eq!(next(&mut rx, t0).await, (20.0, true, None));
    let st = set.status();
    assert_eq!(st[0].checkers.len(), 2);
    assert!(st[0].checkers.iter().all(|c| c.up));
}

#[tokio::test(start_paused = true)]
async fn weight_changes_are_sent() {
    let t0 = Instant::now();
    let p = FakeProbe::new(vec![
        ProbeOutcome::UpWithWeight(3),
        ProbeOutcome::UpWithWeight(3),
        ProbeOutcome::UpWithWeight(7),
    ]);
    let (_set, mut rx) = run(one_server(vec![checker(&p, false, 0)]));
    assert_eq!(next(&mut rx, t0).await, (0.0, true, None));
    assert_eq!(next(&mut rx, t0).await, (0.0, true, Some(3)));
    assert_eq!(next(&mut rx, t0).await, (20.0, true, Some(7)));
}

#[tokio::test(start_paused = true)]
async fn a_hung_probe_is_bounded_by_the_hard_timeout() {
    let t0 = Instant::now();
    let mut p = FakeProbe::new(vec![]);
    p.hang = true;
    let (set, mut rx) = run(one_server(vec![checker(&p, false, 0)]));
    assert_eq!(next(&mut rx, t0).await, (0.0, true, None));
    assert_eq!(next(&mut rx, t0).await, (5.0, false, None));
    assert_eq!(
        set.status()[0].checkers[0].last_result.as_deref(),
        Some("no result within 5s")
    );
}

#[tokio::test(start_paused = true)]
async fn warmup_spreads_first_probes_within_the_bound() {
    let t0 = Instant::now();
    let probes: Vec<FakeProbe> = (0..50).map(|_| FakeProbe::new(vec![])).collect();
    let checkers = probes
        .iter()
        .map(|p| {
            let mut c = checker(p, false, 0);
            c.warmup = Duration::from_secs(4);
            c
        })
        .collect();
    let (set, _rx) = run(one_server(checkers));
    tokio::time::sleep(Duration::from_millis(4001)).await;
    let firsts: Vec<f64> = probes.iter().map(|p| p.call_times(t0)[0]).collect();
    assert!(firsts.iter().all(|t| (0.0..=4.0).contains(t)), "{firsts:?}");
    assert!(firsts.iter().any(|t| *t > 0.5), "no spreading: {firsts:?}");
    assert_eq!(set.lateness().probes, 50);
    assert_eq!(set.checkers(), 50);
}

#[tokio::test(start_paused = true)]
async fn stop_ends_the_probes() {
    let t0 = Instant::now();
    let p = FakeProbe::new(vec![]);
    let (mut set, mut rx) = run(one_server(vec![checker(&p, false, 0)]));
    assert_eq!(next(&mut rx, t0).await, (0.0, true, None));
    tokio::time::sleep(Duration::from_secs(15)).await;
    set.stop();
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(p.call_times(t0), vec![0.0, 10.0]);
}

#[tokio::test(start_paused = true)]
async fn a_real_server_without_checkers_is_alive() {
    let (_set, mut rx) = run(one_server(vec![]));
    let u = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("an initial verdict within 5 s")
        .unwrap();
    assert!(u.alive);
    assert_eq!(u.reason, "initial state");
}

/// Notify scripts are real processes: this test runs on the real clock.
#[tokio::test]
async fn notify_scripts_run_on_changes() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let script = |word: &str| NotifyScript {
        command: format!("/bin/sh -c 'echo {word} >> {}'", log.display()),
        run_as: None,
    };
    let p = FakeProbe::new(vec![down(), ProbeOutcome::Up]);
    let mut c = checker(&p, false, 0);
    c.timers.delay_loop = Duration::from_millis(100);
    let mut plan = one_server(vec![c]);
    plan.real_servers[0].notify_up = Some(script("up"));
    plan.real_servers[0].notify_down = Some(script("down"));
    let (set, mut rx) = run(plan);
    for _ in 0..3 {
        rx.recv().await.unwrap();
    }
    drop(set);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text == "down\nup\n" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "log: {text:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn config_with(checkers: Vec<Checker>) -> Config {
    let mut rs = RealServer::new("10.0.0.2".parse().unwrap(), Some(8080));
    rs.checkers = checkers;
    let vs = VirtualServer {
        address: Some("10.0.0.1".parse().unwrap()),
        port: Some(80),
        delay_loop: Timer::from_secs(2),
        real_server: vec![rs],
        ..Default::default()
    };
    Config {
        virtual_server: vec![vs],
        ..Default::default()
    }
}

#[test]
fn plan_builds_every_implemented_type_and_skips_the_rest() {
    let mut http = HttpCheck::default();
    let mut health = Url::new("/health".into());
    // A back-reference: PCRE2 syntax the regex crate refuses.
    health.regex = Some(r"(ok)\1".into());
    http.url.push(health);
    let cfg = config_with(vec![
        Checker::Tcp(TcpCheck {
            connect_port: Some(22),
            ..Default::default()
        }),
        Checker::Http(http),
        Checker::Http(HttpCheck::default()),
        Checker::Misc(MiscCheck {
            misc_path: "/bin/true".into(),
            ..Default::default()
        }),
        Checker::Bfd(Default::default()),
    ]);
    let plan = plan(&cfg);
    assert_eq!(plan.real_servers.len(), 1);
    let rs = &plan.real_servers[0];
    assert_eq!(rs.key, key(8080));
    let described: Vec<String> = rs.checkers.iter().map(|c| c.probe.describe()).collect();
    assert_eq!(
        described,
        vec![
            "TCP_CHECK [10.0.0.2]:22",
            "HTTP_GET [10.0.0.2]:8080",
            "MISC_CHECK [10.0.0.2]:8080 /bin/true",
            "BFD_CHECK "
        ]
    );
    assert_eq!(rs.checkers[0].timers.delay_loop, Duration::from_secs(2));
    assert_eq!(rs.checkers[0].warmup, Duration::from_secs(2));
    // HTTP_GET's default delay_before_retry is 3 s.
    assert_eq!(
        rs.checkers[1].timers.delay_before_retry,
        Duration::from_secs(3)
    );
    assert_eq!(plan.warnings.len(), 2, "{:?}", plan.warnings);
    assert!(
        plan.warnings[0].contains("cannot be used"),
        "{:?}",
        plan.warnings
    );
    assert!(plan.warnings[1].contains("no urls"), "{:?}", plan.warnings);
}

#[test]
fn plan_skips_link_local_without_bind_if_and_unknown_notify_users() {
    let mut cfg = config_with(vec![Checker::Tcp(TcpCheck {
        connect_ip: Some("fe80::1".parse().unwrap()),
        ..Default::default()
    })]);
    cfg.virtual_server[0].real_server[0].notify_up = Some(CheckerScript {
        script: "/bin/true".into(),
        user: Some(ScriptUser {
            user: "no-such-user-keepalived-rs".into(),
            group: None,
        }),
    });
    let plan = plan(&cfg);
    assert!(plan.real_servers[0].checkers.is_empty());
    assert!(plan.real_servers[0].notify_up.is_none());
    assert_eq!(plan.warnings.len(), 2, "{:?}", plan.warnings);
}

#[test]
fn lateness_percentiles() {
    let l = Lateness::new();
    for _ in 0..98 {
        l.record(Duration::from_micros(300));
    }
    l.record(Duration::from_millis(20));
    l.record(Duration::from_secs(3));
    let s = l.summary();
    assert_eq!((s.probes, s.p50_ms, s.p99_ms), (100, 1, 21));
    assert_eq!(s.max_micros, 3_000_000);
    l.reset();
    assert_eq!(l.summary().probes, 0);
}

/// omega: notify_down of the real servers still alive runs at shutdown.
#[tokio::test]
async fn shutdown_with_omega_runs_notify_down() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let p = FakeProbe::new(vec![]);
    let mut plan = one_server(vec![checker(&p, false, 0)]);
    plan.real_servers[0].omega = true;
    plan.real_servers[0].notify_down = Some(NotifyScript {
        command: format!("/bin/sh -c 'echo down >> {}'", log.display()),
        run_as: None,
    });
    let (set, mut rx) = run(plan);
    assert!(rx.recv().await.unwrap().alive);
    set.shutdown().await;
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "down\n");
}

#[tokio::test(start_paused = true)]
async fn ha_suspend_skips_probes_while_the_vip_is_not_local() {
    let t0 = Instant::now();
    let vip: std::net::IpAddr = "10.0.0.1".parse().unwrap();
    let (tx, local_rx) = tokio::sync::watch::channel(Arc::new(std::collections::HashSet::new()));
    let p = FakeProbe::new(vec![]);
    let mut plan = one_server(vec![checker(&p, false, 0)]);
    plan.real_servers[0].suspend_unless_local = vec![vip];
    let (utx, _rx) = unbounded_channel();
    let set = start_plan(
        plan,
        ScriptRunner::new(2),
        utx,
        StartOptions {
            seed: Some(7),
            local_addresses: Some(super::super::ha_suspend::LocalAddresses::fixed(local_rx)),
            ..Default::default()
        },
    );
    // Not local: the slots at 0, 10, 20 pass without a probe.
    tokio::time::sleep(Duration::from_secs(25)).await;
    assert!(p.call_times(t0).is_empty());
    assert!(set.status()[0].checkers[0].suspended);
    // The VIP arrives at 25: the next slot (30) probes, then every 10 s.
    tx.send_replace(Arc::new([vip].into_iter().collect()));
    tokio::time::sleep(Duration::from_secs(20)).await;
    assert_eq!(p.call_times(t0), vec![30.0, 40.0]);
    assert!(!set.status()[0].checkers[0].suspended);
    // It goes at 45: the probe at 50 is skipped, the state is kept.
    tx.send_replace(Arc::new(std::collections::HashSet::new()));
    tokio::time::sleep(Duration::from_secs(20)).await;
    assert_eq!(p.call_times(t0), vec![30.0, 40.0]);
    let st = set.status();
    assert!(st[0].alive && st[0].checkers[0].suspended);
}
