//! State and statistics dumps on signals, as keepalived writes
//! /tmp/keepalived.data (SIGUSR1), /tmp/keepalived.stats (SIGUSR2) and
//! /tmp/keepalived.json: ours are keepalived-rs.data, .stats and .json in the
//! `--dump-dir` directory, so they never overwrite a keepalived's.

use crate::vrrp::engine::{InstanceStats, SharedStats};
use std::fmt::Write as _;
use std::path::Path;

#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Data,
    Stats,
    Json,
}

pub fn write(dir: &Path, kind: Kind, stats: &SharedStats) {
    let snapshot: Vec<InstanceStats> = stats.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let (name, text) = match kind {
        Kind::Data => ("keepalived-rs.data", data_text(&snapshot)),
        Kind::Stats => ("keepalived-rs.stats", stats_text(&snapshot)),
        Kind::Json => (
            "keepalived-rs.json",
            serde_json::to_string_pretty(&snapshot).unwrap_or_default(),
        ),
    };
    let path = dir.join(name);
    // Write then rename, so a reader never sees half a file.
    let tmp = dir.join(format!(".{name}.tmp"));
    let res = std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, &path));
    match res {
        Ok(()) => tracing::info!(path = %path.display(), "dump written"),
        Err(e) => tracing::error!(path = %path.display(), error = %e, "cannot write dump"),
    }
}

fn data_text(s: &[InstanceStats]) -> String {
    let mut out = String::from("------< VRRP Topology >------\n");
    for i in s {
        let _ = writeln!(out, " VRRP Instance = {}", i.name);
        let _ = writeln!(out, "   State = {}", i.state);
        let _ = writeln!(out, "   Base priority = {}", i.base_priority);
        let _ = writeln!(out, "   Effective priority = {}", i.effective_priority);
        let master = i
            .master
            .map_or_else(|| "none".to_owned(), |m| m.to_string());
        let _ = writeln!(out, "   Master router = {master}");
        if let Some(t) = &i.last_transition {
            let _ = writeln!(out, "   Last transition = {t}");
        }
    }
    out
}

fn stats_text(s: &[InstanceStats]) -> String {
    let mut out = String::new();
    for i in s {
        let _ = writeln!(out, "VRRP Instance: {}", i.name);
        let _ = writeln!(out, "  Advertisements:");
        let _ = writeln!(out, "    Received: {}", i.adverts_received);
        let _ = writeln!(out, "    Sent: {}", i.adverts_sent);
        let _ = writeln!(out, "  State transitions: {}", i.transitions);
        let _ = writeln!(out, "  Split brain seen: {}", i.split_brain);
        let _ = writeln!(out, "  Dropped:");
        for (reason, n) in &i.dropped {
            let _ = writeln!(out, "    {reason}: {n}");
        }
    }
    out
}
