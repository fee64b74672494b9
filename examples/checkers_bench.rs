//! Benchmark driver for the real-server checkers (run by bench/checkers.sh).
//!
//! `checkers_bench serve TCP HTTP PORTFILE`: listen on TCP + HTTP loopback
//! ports (port 0, so the kernel picks free ones), write "tcp PORT" / "http
//! PORT" lines to PORTFILE, and serve until killed: TCP connections are
//! closed at once, HTTP requests get a fixed 200 page.
//!
//! `checkers_bench check PORTFILE DELAY_LOOP_S SETTLE_S WINDOW_S THREADS`: run a
//! CheckerSet with one TCP_CHECK per tcp port and one HTTP_GET (with digest)
//! per http port, wait SETTLE_S, then measure over WINDOW_S: CPU time of this
//! process, checks per second, failures, peak RSS, and the start lateness of
//! the probes in the window (p50/p99/max). Prints one JSON line.
//!
//! The servers run in another process so their CPU is not counted.
//!
//! With `BENCH_ARRIVALS=FILE` (and `BENCH_DELAY_LOOP=SECONDS`, default 1) the
//! server also times the checks from the target side, the same way for any
//! checker (used by bench/checkers-vs-keepalived.sh to compare with
//! keepalived): SIGUSR1 starts a window, SIGUSR2 ends it and writes one JSON
//! line to FILE with the connections accepted per second, the number of ports
//! seen, and the lateness of each arrival: the interval since the previous
//! arrival on the same port minus the delay_loop (p50/p99/max).

use keepalived_rs::check::realserver::{plan, start_plan, StartOptions};
use keepalived_rs::config::model::lvs::{
    Checker, HttpCheck, RealServer, TcpCheck, Url, VirtualServer,
};
use keepalived_rs::config::model::Config;
use keepalived_rs::config::values::Timer;
use keepalived_rs::script::ScriptRunner;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PAGE: &[u8] = b"<html><body>keepalived-rs checker benchmark</body></html>\n";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let result = match args.get(1).map(String::as_str) {
        Some("serve") if args.len() == 5 => serve(&args[2], &args[3], &args[4]),
        Some("check") if args.len() == 7 => check(&args[2..]),
        _ => Err("usage: checkers_bench serve TCP HTTP PORTFILE | check PORTFILE DELAY_LOOP_S SETTLE_S WINDOW_S THREADS".into()),
    };
    if let Err(e) = result {
        eprintln!("checkers_bench: {e}");
        std::process::exit(1);
    }
}

fn num<T: std::str::FromStr>(s: &str) -> Result<T, String> {
    s.parse().map_err(|_| format!("not a number: {s}"))
}

/// Arrival times per target, for BENCH_ARRIVALS.
struct Arrivals {
    start: Instant,
    /// Per listener: the last arrival, in µs since `start` plus one (0: none yet).
    last: Vec<AtomicU64>,
    recording: AtomicBool,
    /// Lateness of each arrival in the window, µs (negative: early).
    samples: Mutex<Vec<i64>>,
    seen: Mutex<Vec<bool>>,
    delay_loop_us: i64,
}

impl Arrivals {
    fn arrive(&self, i: usize) {
        let now = self.start.elapsed().as_micros() as u64 + 1;
        let prev = self.last[i].swap(now, Ordering::Relaxed);
        if !self.recording.load(Ordering::Relaxed) {
            return;
        }
        if let Ok(mut seen) = self.seen.lock() {
            seen[i] = true;
        }
        if prev != 0 {
            let late = (now - prev) as i64 - self.delay_loop_us;
            if let Ok(mut s) = self.samples.lock() {
                s.push(late);
            }
        }
    }

    fn report(&self, window: f64) -> String {
        let mut s = self.samples.lock().map(|s| s.clone()).unwrap_or_default();
        s.sort_unstable();
        let pct = |p: f64| -> f64 {
            if s.is_empty() {
                return 0.0;
            }
            let i = ((s.len() as f64 * p).ceil() as usize).clamp(1, s.len()) - 1;
            s[i] as f64 / 1000.0
        };
        let seen = self
            .seen
            .lock()
            .map(|v| v.iter().filter(|b| **b).count())
            .unwrap_or(0);
        format!(
            "{{\"window_s\":{window:.1},\"arrivals_per_s\":{:.0},\"ports_seen\":{seen},\"ports\":{},\
             \"intervals\":{},\"lateness_p50_ms\":{:.1},\"lateness_p99_ms\":{:.1},\"lateness_max_ms\":{:.1}}}",
            // Arrivals = intervals + first arrivals in the window.
            (s.len() + seen) as f64 / window.max(0.001),
            self.last.len(),
            s.len(),
            pct(0.50),
            pct(0.99),
            pct(1.0),
        )
    }
}

fn serve(tcp: &str, http: &str, portfile: &str) -> Result<(), String> {
    let (tcp, http): (usize, usize) = (num(tcp)?, num(http)?);
    let arrivals_file = std::env::var_os("BENCH_ARRIVALS");
    let delay_loop: f64 = match std::env::var("BENCH_DELAY_LOOP") {
        Ok(v) => num(&v)?,
        Err(_) => 1.0,
    };
    let arrivals = Arc::new(Arrivals {
        start: Instant::now(),
        last: (0..tcp + http).map(|_| AtomicU64::new(0)).collect(),
        recording: AtomicBool::new(false),
        samples: Mutex::new(Vec::new()),
        seen: Mutex::new(vec![false; tcp + http]),
        delay_loop_us: (delay_loop * 1e6) as i64,
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let mut lines = String::new();
        // Fixed ports below the ephemeral range: the kernel's search for a
        // free ephemeral port (bind to port 0) slows to seconds per listener
        // once thousands are taken. Ports in use are skipped.
        let mut next_port: u16 = 12000;
        for i in 0..tcp + http {
            let listener = loop {
                if next_port >= 32768 {
                    return Err(format!("no free port for listener {i}"));
                }
                let port = next_port;
                next_port += 1;
                if let Ok(l) = tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
                    break l;
                }
            };
            let port = listener.local_addr().map_err(|e| e.to_string())?.port();
            let is_http = i >= tcp;
            lines.push_str(&format!(
                "{} {port}\n",
                if is_http { "http" } else { "tcp" }
            ));
            if !is_http && std::env::var_os("BENCH_NO_ACCEPT").is_some() {
                // Diagnosis: connections complete in the kernel without accept().
                std::mem::forget(listener);
                continue;
            }
            let arrivals = arrivals.clone();
            tokio::spawn(async move {
                while let Ok((mut stream, _)) = listener.accept().await {
                    arrivals.arrive(i);
                    if is_http {
                        tokio::spawn(async move {
                            let mut buf = [0u8; 2048];
                            let mut head = Vec::new();
                            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                                match stream.read(&mut buf).await {
                                    Ok(0) | Err(_) => return,
                                    Ok(n) => head.extend_from_slice(&buf[..n]),
                                }
                            }
                            let mut out = format!(
                                "HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n",
                                PAGE.len()
                            )
                            .into_bytes();
                            out.extend_from_slice(PAGE);
                            let _ = stream.write_all(&out).await;
                        });
                    }
                }
            });
        }
        let Some(out) = arrivals_file else {
            std::fs::write(portfile, lines).map_err(|e| e.to_string())?;
            return std::future::pending::<Result<(), String>>().await;
        };
        // The handlers are in place before the port file tells the caller we are ready.
        use tokio::signal::unix::{signal, SignalKind};
        let mut usr1 = signal(SignalKind::user_defined1()).map_err(|e| e.to_string())?;
        let mut usr2 = signal(SignalKind::user_defined2()).map_err(|e| e.to_string())?;
        std::fs::write(portfile, lines).map_err(|e| e.to_string())?;
        loop {
            usr1.recv().await;
            if let Ok(mut s) = arrivals.samples.lock() {
                s.clear();
            }
            if let Ok(mut seen) = arrivals.seen.lock() {
                seen.iter_mut().for_each(|b| *b = false);
            }
            arrivals.recording.store(true, Ordering::Relaxed);
            let t0 = Instant::now();
            usr2.recv().await;
            arrivals.recording.store(false, Ordering::Relaxed);
            let line = arrivals.report(t0.elapsed().as_secs_f64()) + "\n";
            std::fs::write(&out, line).map_err(|e| e.to_string())?;
        }
    })
}

/// User + system CPU of this process: /proc/self/stat counts in USER_HZ,
/// which the /proc ABI fixes at 100 per second.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may contain spaces) end with ')'.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line: 11 and 12 counted after ')'.
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next().and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

fn check(args: &[String]) -> Result<(), String> {
    let ports = std::fs::read_to_string(&args[0]).map_err(|e| e.to_string())?;
    let delay_loop: f64 = num(&args[1])?;
    let settle: u64 = num(&args[2])?;
    let window: u64 = num(&args[3])?;
    let threads: usize = num(&args[4])?;
    let digest = {
        use md5::Digest;
        keepalived_rs::check::http::hex(&md5::Md5::digest(PAGE))
    };
    let mut vs = VirtualServer {
        address: Some("192.0.2.1".parse().map_err(|_| "addr")?),
        port: Some(80),
        delay_loop: Timer::from_micros((delay_loop * 1e6) as u64),
        connect_timeout: Timer::from_secs(2),
        ..Default::default()
    };
    let (mut tcp, mut http) = (0, 0);
    for line in ports.lines() {
        let Some((kind, port)) = line.split_once(' ') else {
            continue;
        };
        let mut rs = RealServer::new("127.0.0.1".parse().map_err(|_| "addr")?, Some(num(port)?));
        if kind == "http" {
            let mut url = Url::new("/".into());
            url.digest = Some(digest.clone());
            rs.checkers.push(Checker::Http(HttpCheck {
                url: vec![url],
                ..Default::default()
            }));
            http += 1;
        } else {
            rs.checkers.push(Checker::Tcp(TcpCheck::default()));
            tcp += 1;
        }
        vs.real_server.push(rs);
    }
    let cfg = Config {
        virtual_server: vec![vs],
        ..Default::default()
    };
    // threads 0: one current-thread runtime (the daemon's checker thread).
    let rt = if threads == 0 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    }
    .map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        // Drain the updates as the syncer would.
        tokio::spawn(async move { while rx.recv().await.is_some() {} });
        let p = plan(&cfg);
        if !p.warnings.is_empty() {
            return Err(format!("{:?}", p.warnings));
        }
        let set = start_plan(p, ScriptRunner::new(4), tx, StartOptions::default());
        tokio::time::sleep(Duration::from_secs(settle)).await;
        let count = |set: &keepalived_rs::check::CheckerSet| {
            set.status().iter().fold((0u64, 0u64), |(p, f), rs| {
                rs.checkers
                    .iter()
                    .fold((p, f), |(p, f), c| (p + c.probes, f + c.failures))
            })
        };
        set.reset_lateness();
        let (p0, f0) = count(&set);
        let (c0, t0) = (cpu_seconds(), Instant::now());
        tokio::time::sleep(Duration::from_secs(window)).await;
        let (p1, f1) = count(&set);
        let (c1, elapsed) = (cpu_seconds(), t0.elapsed().as_secs_f64());
        let lat = set.lateness();
        let latencies: Vec<f64> = set
            .status()
            .iter()
            .flat_map(|rs| rs.checkers.iter().filter_map(|c| c.last_latency))
            .map(|d| d.as_secs_f64() * 1000.0)
            .collect();
        let mean_probe_ms = latencies.iter().sum::<f64>() / latencies.len().max(1) as f64;
        let max_probe_ms = latencies.iter().cloned().fold(0.0, f64::max);
        println!(
            "{{\"tcp\":{tcp},\"http\":{http},\"delay_loop_s\":{delay_loop},\"threads\":{threads},\
             \"window_s\":{elapsed:.1},\"checks_per_s\":{:.0},\"failures\":{},\
             \"cpu_percent\":{:.1},\"rss_mb\":{:.1},\"peak_rss_mb\":{:.1},\
             \"lateness_p50_ms\":{},\"lateness_p99_ms\":{},\"lateness_max_ms\":{:.1},\"probes_timed\":{},\
             \"last_probe_mean_ms\":{mean_probe_ms:.2},\"last_probe_max_ms\":{max_probe_ms:.1}}}",
            (p1 - p0) as f64 / elapsed,
            f1 - f0,
            100.0 * (c1 - c0) / elapsed,
            status_kb("VmRSS:") as f64 / 1024.0,
            status_kb("VmHWM:") as f64 / 1024.0,
            lat.p50_ms,
            lat.p99_ms,
            lat.max_micros as f64 / 1000.0,
            lat.probes,
        );
        Ok(())
    })
}
