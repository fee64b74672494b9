//! BFD metrics for `--metrics` (prefix `keepalived_rs_`), read at scrape
//! time from the hub's status: `bfd_session_up`, `bfd_session_transitions`,
//! `bfd_packets_sent`, `bfd_packets_received`, `bfd_detection_time_microseconds`
//! per session (labels `bfd_instance`, `neighbor`), and
//! `bfd_packets_dropped` by reason.

use super::runner::Status;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use std::sync::Arc;

type Labels = Vec<(&'static str, String)>;

/// Reads the BFD status at each scrape.
pub struct BfdCollector {
    pub status: Arc<dyn Fn() -> Status + Send + Sync>,
}

impl std::fmt::Debug for BfdCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BfdCollector")
    }
}

fn rows<M: EncodeMetric>(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    kind: MetricType,
    rows: Vec<(Labels, M)>,
) -> Result<(), std::fmt::Error> {
    let mut fam = enc.encode_descriptor(name, help, None, kind)?;
    for (labels, m) in rows {
        m.encode(fam.encode_family(&labels)?)?;
    }
    Ok(())
}

impl Collector for BfdCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let st = (self.status)();
        let id = |s: &super::runner::SessionStatus| -> Labels {
            vec![
                ("bfd_instance", s.name.clone()),
                ("neighbor", s.neighbor.clone()),
            ]
        };
        let gauge = |f: &dyn Fn(&super::runner::SessionStatus) -> i64| {
            st.sessions
                .iter()
                .map(|s| (id(s), ConstGauge::new(f(s))))
                .collect::<Vec<_>>()
        };
        let counter = |f: &dyn Fn(&super::runner::SessionStatus) -> u64| {
            st.sessions
                .iter()
                .map(|s| (id(s), ConstCounter::new(f(s))))
                .collect::<Vec<_>>()
        };
        rows(
            &mut enc,
            "bfd_session_up",
            "1 while the BFD session is Up",
            MetricType::Gauge,
            gauge(&|s| i64::from(s.state == "Up")),
        )?;
        rows(
            &mut enc,
            "bfd_detection_time_microseconds",
            "Negotiated detection time (0 before the neighbour is heard)",
            MetricType::Gauge,
            gauge(&|s| i64::try_from(s.detection_time_us).unwrap_or(i64::MAX)),
        )?;
        rows(
            &mut enc,
            "bfd_session_transitions",
            "BFD session state changes",
            MetricType::Counter,
            counter(&|s| s.transitions),
        )?;
        rows(
            &mut enc,
            "bfd_packets_sent",
            "BFD Control packets sent",
            MetricType::Counter,
            counter(&|s| s.sent),
        )?;
        rows(
            &mut enc,
            "bfd_packets_received",
            "BFD Control packets received and given to the session",
            MetricType::Counter,
            counter(&|s| s.received),
        )?;
        let d = &st.dropped;
        let mut dropped: Vec<(Labels, ConstCounter<u64>)> = d
            .malformed
            .iter()
            .map(|(r, n)| (vec![("reason", (*r).to_owned())], ConstCounter::new(*n)))
            .collect();
        for (r, n) in [
            ("no_session", d.no_session),
            ("ttl", d.ttl),
            ("queue_full", d.queue_full),
        ] {
            dropped.push((vec![("reason", r.to_owned())], ConstCounter::new(n)));
        }
        rows(
            &mut enc,
            "bfd_packets_dropped",
            "BFD packets dropped before a session, by reason",
            MetricType::Counter,
            dropped,
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bfd::runner::SessionStatus;

    #[test]
    fn renders_sessions_and_drops() {
        let mut reg = prometheus_client::registry::Registry::with_prefix("keepalived_rs");
        reg.register_collector(Box::new(BfdCollector {
            status: Arc::new(|| {
                let mut s = Status::default();
                s.sessions.push(SessionStatus {
                    name: "b1".into(),
                    neighbor: "10.0.0.2".into(),
                    state: "Up".into(),
                    sent: 7,
                    detection_time_us: 300_000,
                    ..Default::default()
                });
                s.dropped.ttl = 3;
                s.dropped.malformed.insert("version", 2);
                s
            }),
        }));
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &reg).unwrap();
        for want in [
            "keepalived_rs_bfd_session_up{bfd_instance=\"b1\",neighbor=\"10.0.0.2\"} 1",
            "keepalived_rs_bfd_detection_time_microseconds{bfd_instance=\"b1\",neighbor=\"10.0.0.2\"} 300000",
            "keepalived_rs_bfd_packets_sent_total{bfd_instance=\"b1\",neighbor=\"10.0.0.2\"} 7",
            "keepalived_rs_bfd_packets_dropped_total{reason=\"ttl\"} 3",
            "keepalived_rs_bfd_packets_dropped_total{reason=\"version\"} 2",
        ] {
            assert!(out.contains(want), "{want} not in\n{out}");
        }
    }
}
