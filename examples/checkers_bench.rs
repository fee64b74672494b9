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

use keepalived_rs::check::realserver::{plan, start_plan, StartOptions};
use keepalived_rs::config::model::lvs::{
    Checker, HttpCheck, RealServer, TcpCheck, Url, VirtualServer,
};
use keepalived_rs::config::model::Config;
use keepalived_rs::config::values::Timer;
use keepalived_rs::script::ScriptRunner;
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

fn serve(tcp: &str, http: &str, portfile: &str) -> Result<(), String> {
    let (tcp, http): (usize, usize) = (num(tcp)?, num(http)?);
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
            tokio::spawn(async move {
                while let Ok((mut stream, _)) = listener.accept().await {
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
        std::fs::write(portfile, lines).map_err(|e| e.to_string())?;
        std::future::pending::<Result<(), String>>().await
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
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()
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
