//! `--metrics=ADDR:PORT`: Prometheus (OpenMetrics text) on `GET /metrics`.
//!
//! Values are read at scrape time from the same shared state the status
//! socket uses, through `prometheus-client` collectors. Other subsystems add
//! theirs with [`MetricsHub::add`] (a `prometheus_client::collector::Collector`),
//! e.g. the IPVS syncer and the checkers.
//!
//! Instances are labelled `vrrp_instance` (not `instance`, which Prometheus
//! sets to the scrape target), `interface` and `vrid`.
//!
//! The HTTP side is deliberately tiny: one request per connection, `GET
//! /metrics` only, bounded request size, time and concurrency.

use crate::daemon::reload::SharedReloadStats;
use crate::vrrp::engine::SharedStats;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The metrics registry, shared by every subsystem.
#[derive(Clone)]
pub struct MetricsHub {
    registry: Arc<Mutex<Registry>>,
}

impl Default for MetricsHub {
    fn default() -> Self {
        MetricsHub {
            registry: Arc::new(Mutex::new(Registry::with_prefix("keepalived_rs"))),
        }
    }
}

impl MetricsHub {
    /// Add a collector, asked for its values at every scrape.
    pub fn add(&self, c: Box<dyn Collector>) {
        self.registry
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .register_collector(c);
    }

    /// The OpenMetrics text of every collector.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let reg = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &reg) {
            tracing::warn!(error = %e, "metrics cannot be encoded");
        }
        out
    }
}

/// The VRRP engine's instances and the reload counters.
#[derive(Debug)]
pub struct VrrpCollector {
    pub stats: SharedStats,
    pub reloads: SharedReloadStats,
}

type Labels = Vec<(&'static str, String)>;

fn gauge(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    rows: &[(Labels, i64)],
) -> Result<(), std::fmt::Error> {
    let mut fam = enc.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for (labels, v) in rows {
        ConstGauge::new(*v).encode(fam.encode_family(labels)?)?;
    }
    Ok(())
}

fn counter(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    rows: &[(Labels, u64)],
) -> Result<(), std::fmt::Error> {
    let mut fam = enc.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (labels, v) in rows {
        ConstCounter::new(*v).encode(fam.encode_family(labels)?)?;
    }
    Ok(())
}

const STATES: [&str; 5] = ["INIT", "BACKUP", "MASTER", "FAULT", "STOP"];

impl Collector for VrrpCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let snap = self.stats.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let id = |i: &crate::vrrp::engine::InstanceStats| -> Labels {
            vec![
                ("vrrp_instance", i.name.clone()),
                ("interface", i.interface.clone()),
                ("vrid", i.vrid.to_string()),
            ]
        };
        let mut state = Vec::new();
        for i in &snap {
            for st in STATES {
                let mut l = id(i);
                l.push(("state", st.to_owned()));
                state.push((l, i64::from(i.state == st)));
            }
        }
        gauge(
            &mut enc,
            "vrrp_state",
            "1 for the state the instance is in, 0 for the others",
            &state,
        )?;
        let rows = |f: &dyn Fn(&crate::vrrp::engine::InstanceStats) -> u64| -> Vec<(Labels, u64)> {
            snap.iter().map(|i| (id(i), f(i))).collect()
        };
        let grows = |f: &dyn Fn(&crate::vrrp::engine::InstanceStats) -> i64| -> Vec<(Labels, i64)> {
            snap.iter().map(|i| (id(i), f(i))).collect()
        };
        gauge(
            &mut enc,
            "vrrp_priority_effective",
            "Priority in use (base plus tracker weights)",
            &grows(&|i| i64::from(i.effective_priority)),
        )?;
        gauge(
            &mut enc,
            "vrrp_priority_base",
            "Configured priority",
            &grows(&|i| i64::from(i.base_priority)),
        )?;
        counter(
            &mut enc,
            "vrrp_transitions",
            "State transitions",
            &rows(&|i| i.transitions),
        )?;
        counter(
            &mut enc,
            "vrrp_adverts_sent",
            "Adverts sent",
            &rows(&|i| i.adverts_sent),
        )?;
        counter(
            &mut enc,
            "vrrp_adverts_received",
            "Valid adverts received",
            &rows(&|i| i.adverts_received),
        )?;
        let mut dropped = Vec::new();
        for i in &snap {
            for (reason, n) in &i.dropped {
                let mut l = id(i);
                l.push(("reason", reason.clone()));
                dropped.push((l, *n));
            }
        }
        counter(
            &mut enc,
            "vrrp_adverts_dropped",
            "Adverts dropped, by reason",
            &dropped,
        )?;
        counter(
            &mut enc,
            "vrrp_split_brain",
            "Split-brain episodes: as MASTER, another MASTER of the VRID was heard",
            &rows(&|i| i.split_brain),
        )?;
        let r = self
            .reloads
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        counter(
            &mut enc,
            "reloads",
            "Configuration reloads, by result",
            &[
                (vec![("result", "ok".to_owned())], r.ok),
                (vec![("result", "failed".to_owned())], r.failed),
            ],
        )?;
        Ok(())
    }
}

/// Script runs of the whole process (notify scripts, vrrp_script, MISC_CHECK),
/// by command line and result; `script_timeouts` names the hung ones.
#[derive(Debug, Default)]
pub struct ScriptCollector;

impl Collector for ScriptCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let all = crate::script::counts();
        let mut runs = Vec::new();
        let mut timeouts = Vec::new();
        for (cmd, c) in &all {
            for (result, n) in [
                ("ok", c.ok),
                ("failed", c.failed),
                ("timeout", c.timed_out),
                ("signalled", c.signalled),
                ("spawn_failed", c.spawn_failed),
            ] {
                runs.push((
                    vec![("script", cmd.clone()), ("result", result.to_owned())],
                    n,
                ));
            }
            timeouts.push((vec![("script", cmd.clone())], c.timed_out));
        }
        counter(
            &mut enc,
            "script_runs",
            "Script runs, by command line and result",
            &runs,
        )?;
        counter(
            &mut enc,
            "script_timeouts",
            "Script runs killed (with their process group) at their timeout",
            &timeouts,
        )
    }
}

/// Serve `GET /metrics` on `addr` from the current runtime.
pub async fn serve(
    addr: std::net::SocketAddr,
    hub: MetricsHub,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, "metrics served on /metrics");
    Ok(tokio::spawn(async move {
        let limit = Arc::new(tokio::sync::Semaphore::new(8));
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            };
            let Ok(permit) = limit.clone().try_acquire_owned() else {
                continue;
            };
            let hub = hub.clone();
            tokio::spawn(async move {
                let _permit = permit;
                let _ = tokio::time::timeout(Duration::from_secs(5), handle(stream, hub)).await;
            });
        }
    }))
}

/// What to answer to a request head.
fn respond(head: &str, hub: &MetricsHub) -> (&'static str, &'static str, String) {
    let mut parts = head.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    match (method, path) {
        ("GET", "/metrics") => (
            "200 OK",
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            hub.render(),
        ),
        ("GET", _) => ("404 Not Found", "text/plain", "try /metrics\n".into()),
        _ => ("405 Method Not Allowed", "text/plain", "GET only\n".into()),
    }
}

async fn handle(mut stream: tokio::net::TcpStream, hub: MetricsHub) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && !buf.windows(2).any(|w| w == b"\n\n") {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.len() > 8192 {
            break;
        }
    }
    let text = String::from_utf8_lossy(&buf);
    let head = text.lines().next().unwrap_or("");
    let (status, ctype, body) = respond(head, &hub);
    let resp = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(resp.as_bytes()).await?;
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vrrp::engine::InstanceStats;

    #[test]
    fn vrrp_metrics_text() {
        let stats: SharedStats = Arc::new(Mutex::new(vec![InstanceStats {
            name: "VI_1".into(),
            interface: "eth0".into(),
            vrid: 51,
            state: "MASTER".into(),
            base_priority: 150,
            effective_priority: 140,
            adverts_sent: 12,
            adverts_received: 3,
            dropped: [("ttl".to_owned(), 2)].into_iter().collect(),
            split_brain: 1,
            transitions: 2,
            ..Default::default()
        }]));
        let reloads = SharedReloadStats::default();
        reloads.lock().unwrap().ok = 4;
        let hub = MetricsHub::default();
        hub.add(Box::new(VrrpCollector { stats, reloads }));
        let t = hub.render();
        let l = "vrrp_instance=\"VI_1\",interface=\"eth0\",vrid=\"51\"";
        for want in [
            format!("keepalived_rs_vrrp_state{{{l},state=\"MASTER\"}} 1"),
            format!("keepalived_rs_vrrp_state{{{l},state=\"BACKUP\"}} 0"),
            format!("keepalived_rs_vrrp_priority_effective{{{l}}} 140"),
            format!("keepalived_rs_vrrp_adverts_sent_total{{{l}}} 12"),
            format!("keepalived_rs_vrrp_adverts_dropped_total{{{l},reason=\"ttl\"}} 2"),
            format!("keepalived_rs_vrrp_split_brain_total{{{l}}} 1"),
            "keepalived_rs_reloads_total{result=\"ok\"} 4".to_owned(),
        ] {
            assert!(t.contains(&want), "missing {want} in\n{t}");
        }
        let (status, _, body) = respond("GET /metrics HTTP/1.1", &hub);
        assert_eq!(status, "200 OK");
        assert!(body.ends_with("# EOF\n"));
        assert_eq!(respond("GET / HTTP/1.1", &hub).0, "404 Not Found");
        assert_eq!(
            respond("POST /metrics HTTP/1.1", &hub).0,
            "405 Method Not Allowed"
        );
    }

    #[test]
    fn script_metrics_text() {
        let cmd = "/bin/sh -c 'sleep 5' metrics-text";
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(crate::script::ScriptRunner::new(1).run(
                cmd,
                &[],
                None,
                Duration::from_millis(50),
            ));
        let hub = MetricsHub::default();
        hub.add(Box::new(ScriptCollector));
        let t = hub.render();
        let label = cmd.replace('"', "\\\"");
        for want in [
            format!("keepalived_rs_script_timeouts_total{{script=\"{label}\"}} 1"),
            format!("keepalived_rs_script_runs_total{{script=\"{label}\",result=\"timeout\"}} 1"),
            format!("keepalived_rs_script_runs_total{{script=\"{label}\",result=\"ok\"}} 0"),
        ] {
            assert!(t.contains(&want), "missing {want} in\n{t}");
        }
    }
}
