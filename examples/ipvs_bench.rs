//! One IPVS programming measurement of a daemon (keepalived-rs or
//! keepalived) in a fresh network namespace: cold start, a reload with one
//! change, and the stop. Run by bench/ipvs.sh inside the IPVS guest.
//!
//! ```sh
//! ipvs_bench --services 1000 --dests 10 --conf run.conf --a A.conf --b B.conf \
//!     -- keepalived-rs -n -l -C -f run.conf ...
//! ```
//!
//! `A.conf` must hold the generated services (the addresses of
//! examples/ipvs_floor.rs); `B.conf` is the same with one change: real
//! server 0 of service `--changed` at weight 2. The tool copies A to the
//! file the daemon reads (`--conf`), starts the daemon and polls the kernel
//! (a GET_SERVICE dump every `--poll-ms`, then the destination dumps once all
//! services are there) until every entry is in; then copies B over the
//! file, sends SIGHUP and polls that one destination until its weight is 2;
//! then sends SIGTERM and polls until the table is empty and the process
//! has exited. Prints one JSON line of seconds.

use std::net::{IpAddr, Ipv4Addr};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use keepalived_rs::ipvs::types::{ServiceId, PROTO_TCP};
use keepalived_rs::ipvs::IpvsClient;

struct Opts {
    services: u32,
    dests: u32,
    conf: String,
    conf_a: String,
    conf_b: String,
    changed: u32,
    poll: Duration,
    limit: Duration,
    cmd: Vec<String>,
    log: Option<String>,
}

fn parse_args() -> Result<Opts, String> {
    let mut o = Opts {
        services: 1000,
        dests: 10,
        conf: String::new(),
        conf_a: String::new(),
        conf_b: String::new(),
        changed: 500,
        poll: Duration::from_millis(20),
        limit: Duration::from_secs(300),
        cmd: Vec::new(),
        log: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = |what: &str| args.next().ok_or_else(|| format!("{what} needs a value"));
        match a.as_str() {
            "--services" => o.services = val(&a)?.parse().map_err(|_| "--services")?,
            "--dests" => o.dests = val(&a)?.parse().map_err(|_| "--dests")?,
            "--changed" => o.changed = val(&a)?.parse().map_err(|_| "--changed")?,
            "--poll-ms" => {
                o.poll = Duration::from_millis(val(&a)?.parse().map_err(|_| "--poll-ms")?)
            }
            "--limit-secs" => {
                o.limit = Duration::from_secs(val(&a)?.parse().map_err(|_| "--limit-secs")?)
            }
            "--conf" => o.conf = val(&a)?,
            "--log" => o.log = Some(val(&a)?),
            "--a" => o.conf_a = val(&a)?,
            "--b" => o.conf_b = val(&a)?,
            "--" => {
                o.cmd = args.by_ref().collect();
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if o.cmd.is_empty() || o.conf.is_empty() || o.conf_a.is_empty() || o.conf_b.is_empty() {
        return Err(
            "usage: ipvs_bench [--services N] [--dests M] [--changed I] [--poll-ms MS] \
             --conf FILE --a FILE --b FILE -- COMMAND..."
                .into(),
        );
    }
    Ok(o)
}

fn service_addr(i: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(
        10,
        100 + (i / 65_536) as u8,
        (i / 256 % 256) as u8,
        (i % 256) as u8,
    ))
}

fn service_id(i: u32) -> ServiceId {
    ServiceId::Addr {
        protocol: PROTO_TCP,
        addr: service_addr(i),
        port: 80,
    }
}

fn main() -> ExitCode {
    let o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match run(&o) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ipvs_bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Poll `f` every `poll` until it says done; the time it took.
fn wait(
    o: &Opts,
    what: &str,
    t0: Instant,
    mut f: impl FnMut() -> Result<bool, String>,
) -> Result<f64, String> {
    loop {
        // The time the successful poll began: what it found was there then
        // (its own reading of 11,000 entries under TCG takes a while and is
        // not the daemon's time).
        let began = t0.elapsed().as_secs_f64();
        if f()? {
            return Ok(began);
        }
        if t0.elapsed() > o.limit {
            return Err(format!("timed out waiting for {what}"));
        }
        std::thread::sleep(o.poll);
    }
}

fn kill(child: &Child, sig: nix::sys::signal::Signal) -> Result<(), String> {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).map_err(|e| e.to_string())?);
    nix::sys::signal::kill(pid, sig).map_err(|e| format!("kill: {e}"))
}

fn run(o: &Opts) -> Result<(), String> {
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET)
        .map_err(|e| format!("unshare: {e}"))?;
    let st = Command::new("ip")
        .args(["link", "set", "lo", "up"])
        .status()
        .map_err(|e| format!("ip link set lo up: {e}"))?;
    if !st.success() {
        return Err("ip link set lo up failed".into());
    }
    let mut c = IpvsClient::new().map_err(|e| e.to_string())?;
    let want_dests = (o.services * o.dests) as usize;
    let last = service_id(o.services.saturating_sub(1));
    let changed = service_id(o.changed);

    let a = std::fs::read(&o.conf_a).map_err(|e| format!("{}: {e}", o.conf_a))?;
    let b = std::fs::read(&o.conf_b).map_err(|e| format!("{}: {e}", o.conf_b))?;
    std::fs::write(&o.conf, &a).map_err(|e| format!("{}: {e}", o.conf))?;

    let log = match &o.log {
        Some(p) => std::fs::File::create(p).map_err(|e| format!("{p}: {e}"))?,
        None => std::fs::File::create("/dev/null").map_err(|e| e.to_string())?,
    };
    let t0 = Instant::now();
    let mut child = Command::new(&o.cmd[0])
        .args(&o.cmd[1..])
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log)
        .spawn()
        .map_err(|e| format!("{}: {e}", o.cmd[0]))?;
    let result = (|| -> Result<(f64, f64, f64), String> {
        let start = wait(o, "all entries", t0, || {
            // Cheap polls first (both daemons program in configuration
            // order): the last service, then its destinations; the full
            // count only once those are in.
            if c.service_entry(&last).is_err() {
                return Ok(false);
            }
            if c.dest_entries(&last).map_err(|e| e.to_string())?.len() < o.dests as usize {
                return Ok(false);
            }
            let svcs = c.service_entries().map_err(|e| e.to_string())?;
            if svcs.len() < o.services as usize {
                return Ok(false);
            }
            let mut n = 0;
            for s in &svcs {
                n += c
                    .dest_entries(&s.service.id)
                    .map_err(|e| e.to_string())?
                    .len();
            }
            Ok(n >= want_dests)
        })?;
        // Let the daemon settle before the reload (its own post-start work).
        std::thread::sleep(Duration::from_secs(2));
        std::fs::write(&o.conf, &b).map_err(|e| format!("write: {e}"))?;
        let t1 = Instant::now();
        kill(&child, nix::sys::signal::Signal::SIGHUP)?;
        let reload = wait(o, "the reload's change", t1, || {
            let d = c.dest_entries(&changed).map_err(|e| e.to_string())?;
            Ok(d.iter().any(|d| d.dest.weight == 2))
        })?;
        std::thread::sleep(Duration::from_secs(2));
        let t2 = Instant::now();
        kill(&child, nix::sys::signal::Signal::SIGTERM)?;
        // Until the process has exited; the stop time is when both the
        // process is gone and the table is empty (keepalived's parent may
        // kill its checker child before it has removed everything: then
        // the time of the exit, with what was left).
        let stop = wait(o, "the exit", t2, || {
            Ok(matches!(child.try_wait(), Ok(Some(_))))
        })?;
        let empty = wait(o, "an empty table", t2, || {
            // The last service goes last in both daemons; then the full count.
            if c.service_entry(&last).is_ok() {
                return Ok(t2.elapsed() > Duration::from_secs(1) + Duration::from_secs_f64(stop));
            }
            let n = c.service_entries().map_err(|e| e.to_string())?.len();
            Ok(n == 0 || t2.elapsed() > Duration::from_secs(1) + Duration::from_secs_f64(stop))
        })?;
        Ok((start, reload, stop.max(empty)))
    })();
    if !matches!(child.try_wait(), Ok(Some(_))) {
        let _ = child.kill();
        let _ = child.wait();
    }
    let left = c.service_entries().map(|v| v.len()).unwrap_or(0);
    let (start, reload, stop) = result?;
    println!(
        "{{\"cmd\":\"{}\",\"services\":{},\"dests\":{},\"start\":{start:.4},\"reload\":{reload:.4},\"stop\":{stop:.4},\"left\":{left}}}",
        std::path::Path::new(&o.cmd[0])
            .file_name()
            .and_then(|s| s.to_str())
            .unwrap_or("?"),
        o.services,
        o.dests,
    );
    Ok(())
}
