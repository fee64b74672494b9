//! BFD in the namespace lab, with real packets:
//! - keepalived-rs against Debian's keepalived 2.2.7 (built with BFD): the
//!   session comes up, a blackholed path brings it down within the
//!   detection time on both sides, and `track_bfd` puts a VRRP instance in
//!   FAULT (weight 0) or lowers its priority (weight) until it recovers;
//! - BFD_CHECK: the real-server checkers (run in this process, inside a lab
//!   namespace) against a keepalived-rs daemon as the BFD peer: the real
//!   server goes down when the session does and comes back with it.

mod lab;

use keepalived_rs::bfd::BfdHub;
use keepalived_rs::check::realserver;
use keepalived_rs::check::RealServerUpdate;
use keepalived_rs::config::{self, LoadOptions};
use keepalived_rs::script::ScriptRunner;
use lab::daemon::Daemon;
use lab::{wait_for, Host, Lab};
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn status(sock: &Path) -> Option<Value> {
    let out = Command::new(lab::our_binary())
        .args(["status", "--json", "--control-socket"])
        .arg(sock)
        .output()
        .ok()?;
    serde_json::from_slice(&out.stdout).ok()
}

fn bfd_state(sock: &Path) -> Option<String> {
    let v = status(sock)?;
    v["sources"]["bfd"]["sessions"][0]["state"]
        .as_str()
        .map(str::to_owned)
}

fn vrrp(sock: &Path, name: &str) -> Option<(String, u64)> {
    let v = status(sock)?;
    let list = v["sources"]["vrrp"].as_array()?.clone();
    let i = list.iter().find(|i| i["name"] == name)?;
    Some((
        i["state"].as_str()?.to_owned(),
        i["effective_priority"].as_u64()?,
    ))
}

/// The (state, effective priority) of two instances from one `status` call.
fn vrrp_pair(sock: &Path, a: &str, b: &str) -> Option<((String, u64), (String, u64))> {
    let v = status(sock)?;
    let list = v["sources"]["vrrp"].as_array()?.clone();
    let get = |name: &str| {
        let i = list.iter().find(|i| i["name"] == name)?;
        Some((
            i["state"].as_str()?.to_owned(),
            i["effective_priority"].as_u64()?,
        ))
    };
    Some((get(a)?, get(b)?))
}

fn blackhole(host: &Host, to: &str, on: bool) {
    let verb = if on { "add" } else { "del" };
    host.sh(&format!("ip route {verb} blackhole {to}/32"));
}

/// Time until `cond` holds, polled every 50 ms (None: not within `limit`):
/// `cond` spawns a `status` process, which must not crowd out the daemons
/// being timed.
fn time_until(limit: Duration, mut cond: impl FnMut() -> bool) -> Option<Duration> {
    let t = Instant::now();
    lab::wait_for_every(limit, Duration::from_millis(50), &mut cond).then(|| t.elapsed())
}

#[test]
fn track_bfd_with_a_keepalived_peer() {
    let lab = Lab::new(&["ka", "rs"]);
    let (ka, rs) = (lab.host("ka").clone(), lab.host("rs").clone());
    let dir = tempfile::tempdir().unwrap();
    // keepalived: BFD only (no VRRP instance), 100 ms × 3.
    let ka_conf = format!(
        "global_defs {{\n router_id ka\n}}\nbfd_instance peer {{\n neighbor_ip {rs}\n source_ip {ka}\n \
         min_rx 100\n min_tx 100\n multiplier 3\n}}\n",
        rs = rs.ipv4,
        ka = ka.ipv4
    );
    let mut kd = Daemon::start_keepalived(&ka, dir.path(), "ka", &ka_conf);
    let sock = dir.path().join("rs.sock");
    let vip1 = lab.addr(201);
    let vip2 = lab.addr(202);
    let rs_conf = format!(
        "bfd_instance peer {{\n neighbor_ip {ka}\n source_ip {rs}\n min_rx 100\n min_tx 100\n \
         multiplier 3\n}}\n\
         vrrp_instance FAULTY {{\n state BACKUP\n interface eth0\n virtual_router_id 71\n priority 100\n \
         advert_int 1\n track_bfd {{\n  peer\n }}\n virtual_ipaddress {{\n  {vip1}/24\n }}\n}}\n\
         vrrp_instance WEIGHTED {{\n state BACKUP\n interface eth0\n virtual_router_id 72\n priority 100\n \
         advert_int 1\n track_bfd {{\n  peer weight -30\n }}\n virtual_ipaddress {{\n  {vip2}/24\n }}\n}}\n",
        ka = ka.ipv4,
        rs = rs.ipv4
    );
    let sock_arg = sock.to_str().unwrap().to_owned();
    let mut rd = Daemon::start(
        &rs,
        dir.path(),
        "rs",
        &rs_conf,
        &["--control-socket", &sock_arg],
    );
    let up = || bfd_state(&sock).as_deref() == Some("Up");
    assert!(
        wait_for(Duration::from_secs(10), up),
        "session never came up\nrs log:\n{}\nka log:\n{}",
        rd.log_text(),
        kd.log_text()
    );
    assert!(
        wait_for(Duration::from_secs(10), || {
            vrrp(&sock, "FAULTY").is_some_and(|(s, _)| s == "MASTER")
                && vrrp(&sock, "WEIGHTED") == Some(("MASTER".into(), 100))
        }),
        "instances not MASTER at full priority: {:?} {:?}",
        vrrp(&sock, "FAULTY"),
        vrrp(&sock, "WEIGHTED")
    );
    assert!(wait_for(Duration::from_secs(3), || kd
        .log_text()
        .contains("(peer) Entering Up state")));

    // keepalived's packets stop reaching us: our detection time is
    // keepalived's multiplier 3 × its 100 ms.
    blackhole(&ka, &rs.ipv4, true);
    let down = time_until(Duration::from_secs(5), || {
        vrrp_pair(&sock, "FAULTY", "WEIGHTED")
            .is_some_and(|((s, _), (_, p))| s == "FAULT" && p == 70)
    });
    let log = rd.log_text();
    let down = down.unwrap_or_else(|| panic!("no FAULT / priority 70; rs log:\n{log}"));
    assert!(
        log.contains("BFD session Up -> Down (control detection time expired)"),
        "{log}"
    );
    // 300 ms detection, plus status polling (a debug binary each 50 ms) and
    // the VRRP thread, on a loaded host; a session that never timed out
    // would take the 5 s bound.
    assert!(down < Duration::from_millis(2500), "took {down:?}");
    eprintln!("detected and acted on in {down:?} (detection time 300 ms)");

    blackhole(&ka, &rs.ipv4, false);
    let back = time_until(Duration::from_secs(10), || {
        vrrp(&sock, "FAULTY").is_some_and(|(s, _)| s != "FAULT")
            && vrrp(&sock, "WEIGHTED").is_some_and(|(_, p)| p == 100)
    });
    assert!(back.is_some(), "no recovery; rs log:\n{}", rd.log_text());

    // Our packets stop reaching keepalived: it detects within 300 ms and
    // tells us Down (diagnostic 3) when the path returns... or at once, as
    // its Down packets still reach us.
    assert!(wait_for(Duration::from_secs(5), up));
    blackhole(&rs, &ka.ipv4, true);
    let t = time_until(Duration::from_secs(5), || {
        vrrp(&sock, "FAULTY").is_some_and(|(s, _)| s == "FAULT")
    });
    assert!(t.is_some(), "no FAULT; rs log:\n{}", rd.log_text());
    assert!(wait_for(Duration::from_secs(3), || kd
        .log_text()
        .contains("Local diagnostic - Control Detection Time Expired")));
    assert!(rd
        .log_text()
        .contains("BFD session Up -> Down (neighbor signaled session down)"));
    blackhole(&rs, &ka.ipv4, false);
    assert!(
        wait_for(Duration::from_secs(10), || {
            up() && vrrp(&sock, "FAULTY").is_some_and(|(s, _)| s == "MASTER")
        }),
        "no recovery; rs log:\n{}",
        rd.log_text()
    );

    // SIGHUP with the same configuration: the session keeps running (same
    // discriminator, no transition); a changed min_tx restarts it.
    let discr = |sock: &Path| {
        status(sock).map(|v| v["sources"]["bfd"]["sessions"][0]["local_discr"].clone())
    };
    let before = discr(&sock);
    let transitions =
        status(&sock).map(|v| v["sources"]["bfd"]["sessions"][0]["transitions"].clone());
    let hup = |d: &Daemon| {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(d.pid().unwrap() as i32),
            nix::sys::signal::Signal::SIGHUP,
        )
        .unwrap();
    };
    hup(&rd);
    assert!(wait_for(Duration::from_secs(5), || rd
        .log_text()
        .contains("reload: new configuration applied")));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(discr(&sock), before);
    assert_eq!(
        status(&sock).map(|v| v["sources"]["bfd"]["sessions"][0]["transitions"].clone()),
        transitions
    );
    std::fs::write(
        dir.path().join("rs.conf"),
        rs_conf.replace("min_tx 100", "min_tx 200"),
    )
    .unwrap();
    hup(&rd);
    assert!(
        wait_for(Duration::from_secs(10), || discr(&sock) != before && up()),
        "session not restarted; rs log:\n{}",
        rd.log_text()
    );

    // A graceful stop tells keepalived AdminDown.
    rd.term();
    assert!(
        wait_for(Duration::from_secs(3), || kd
            .log_text()
            .contains("Remote diagnostic - Administratively Down")),
        "ka log:\n{}",
        kd.log_text()
    );
    kd.term();
}

/// The next update with `alive == want` (bounded).
async fn next(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<RealServerUpdate>,
    want: bool,
) -> RealServerUpdate {
    loop {
        let u = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .ok()
            .flatten()
            .expect("update");
        if u.alive == want {
            return u;
        }
    }
}

/// Run `f` on a thread inside `ns`'s network namespace.
fn in_namespace<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let fd = std::fs::File::open(&path).expect("open netns");
        nix::sched::setns(&fd, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
        f()
    })
    .join()
    .expect("namespace thread")
}

#[test]
fn bfd_check_follows_a_keepalived_rs_peer() {
    let lab = Lab::new(&["chk", "peer"]);
    let (chk, peer) = (lab.host("chk").clone(), lab.host("peer").clone());
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("peer.sock");
    let sock_arg = sock.to_str().unwrap().to_owned();
    let peer_conf = format!(
        "bfd_instance c {{\n neighbor_ip {c}\n min_rx 100\n min_tx 100\n multiplier 5\n}}\n",
        c = chk.ipv4
    );
    let mut pd = Daemon::start(
        &peer,
        dir.path(),
        "peer",
        &peer_conf,
        &["--control-socket", &sock_arg],
    );
    let checker_conf = format!(
        "bfd_instance p {{\n neighbor_ip {p}\n min_rx 100\n min_tx 100\n multiplier 5\n}}\n\
         virtual_server 192.0.2.1 80 {{\n lb_kind NAT\n protocol TCP\n real_server {p} 80 {{\n  \
         BFD_CHECK {{\n   name p\n  }}\n }}\n}}\n",
        p = peer.ipv4
    );
    let loaded = config::load_str("chk.conf", &checker_conf, &LoadOptions::default());
    let cfg = loaded.config;
    assert_eq!(cfg.bfd_instance.len(), 1);
    let (ka_host, peer_ip, chk_ip) = (peer.clone(), peer.ipv4.clone(), chk.ipv4.clone());
    // The peer's log lines for a Down signalled by us: the blackhole episode
    // writes one, our shutdown (AdminDown) must write another.
    let peer_log = pd.log.clone();
    let signalled_down = move || {
        std::fs::read_to_string(&peer_log)
            .unwrap_or_default()
            .matches("Up -> Down (neighbor signaled session down)")
            .count()
    };
    let signalled_down_in = signalled_down.clone();
    let events = in_namespace(&chk.ns, move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let mut hub = BfdHub::start(&cfg, Default::default()).expect("BFD thread");
            let plan = realserver::plan_with_bfd(&cfg, &hub.sessions());
            assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<RealServerUpdate>();
            let set = realserver::start_plan(plan, ScriptRunner::new(4), tx, Default::default());
            let mut log: Vec<(Duration, bool, String)> = Vec::new();
            // No alpha: up from the start, and no flap while the session
            // comes up (the first probe waits for it).
            let first = next(&mut rx, true).await;
            assert_eq!(first.reason, "initial state");
            tokio::time::sleep(Duration::from_secs(3)).await;
            assert!(rx.try_recv().is_err(), "the real server flapped at start");
            assert_eq!(hub.status().sessions[0].state, "Up");

            // The peer's packets are dropped (on its side): down within
            // the detection time (5 × 100 ms).
            blackhole(&ka_host, &chk_ip, true);
            let t = tokio::time::Instant::now();
            let u = next(&mut rx, false).await;
            log.push((t.elapsed(), u.alive, u.reason.clone()));
            blackhole(&ka_host, &chk_ip, false);
            let t = tokio::time::Instant::now();
            let u = next(&mut rx, true).await;
            log.push((t.elapsed(), u.alive, u.reason.clone()));
            drop(set);
            // The session is Up again, so the peer went Down and back
            // already: its log has every line of the episode.
            let before = signalled_down_in();
            hub.shutdown().await;
            (log, before)
        })
    });
    let (events, before_shutdown) = events;
    eprintln!("BFD_CHECK events: {events:?} (peer {peer_ip})");
    assert!(
        events[0].0 < Duration::from_millis(1500),
        "down after {:?} (detection time 500 ms)",
        events[0].0
    );
    assert!(events[0].2.contains("BFD session p is Down"), "{events:?}");
    assert!(events[1].0 < Duration::from_secs(5), "{events:?}");
    // The peer daemon saw the AdminDown of our shutdown (one more Down
    // signalled by us than before it).
    assert!(
        wait_for(Duration::from_secs(3), || signalled_down()
            > before_shutdown),
        "the peer saw no Down after our shutdown ({before_shutdown} before it):\n{}",
        pd.log_text()
    );
    pd.term();
}
