//! SIGHUP on the main thread: read and validate the whole new configuration
//! (on a blocking-pool thread, never on the VRRP thread), then hand it to the
//! engine, which applies the difference in place. Any error keeps the running
//! configuration and is logged and counted.

use crate::cli::Cli;
use crate::config::{self, LoadOptions};
use crate::vrrp::engine::{Control, EngineConfig};
use serde::Serialize;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Reload results, for status and metrics.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ReloadStats {
    pub ok: u64,
    pub failed: u64,
    /// Why the last failed reload failed.
    pub last_error: Option<String>,
    /// What the last successful reload did.
    pub last_result: Option<String>,
    /// When the last reload finished (seconds since the Unix epoch).
    pub last_unix: Option<u64>,
}

pub type SharedReloadStats = Arc<Mutex<ReloadStats>>;

/// Where a reload goes.
pub struct Target<'a> {
    pub cli: &'a Cli,
    pub opts: &'a LoadOptions,
    /// The engine, if the VRRP subsystem runs.
    pub engine: Option<&'a mpsc::Sender<Control>>,
    pub stats: &'a SharedReloadStats,
}

/// The engine configuration of a loaded file, or why it cannot be applied.
pub fn check(loaded: &config::Loaded) -> Result<EngineConfig, String> {
    if loaded.diags.cannot_run() || loaded.diags.count(config::diag::Severity::Error) > 0 {
        let first = loaded
            .diags
            .items
            .iter()
            .find(|d| d.severity == config::diag::Severity::Error)
            .map(ToString::to_string)
            .unwrap_or_else(|| "the configuration cannot run".into());
        return Err(format!("the new configuration has errors: {first}"));
    }
    if loaded.diags.unsupported {
        return Err("the new configuration uses features that are not implemented".into());
    }
    crate::daemon::specs::engine_config(&loaded.config)
        .map_err(|e| format!("the new configuration cannot run: {e}"))
}

/// One reload, start to end; logs and counts the result. Returns the new
/// configuration when the VRRP side applied it, for the other subsystems
/// (trackers, checkers, IPVS) to reload from.
pub async fn reload(t: Target<'_>) -> Option<config::Loaded> {
    tracing::info!(file = %t.cli.use_file.display(), "reload requested");
    let result = run(&t).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .map(|d| d.as_secs());
    let mut s = t.stats.lock().unwrap_or_else(|p| p.into_inner());
    s.last_unix = now;
    match result {
        Ok((summary, loaded)) => {
            tracing::info!(%summary, "reload: new configuration applied");
            s.ok += 1;
            s.last_result = Some(summary);
            Some(loaded)
        }
        Err(e) => {
            tracing::error!(error = %e, "reload failed; keeping the running configuration");
            s.failed += 1;
            s.last_error = Some(e);
            None
        }
    }
}

async fn run(t: &Target<'_>) -> Result<(String, config::Loaded), String> {
    let path = t.cli.use_file.clone();
    let opts = t.opts.clone();
    let loaded = tokio::task::spawn_blocking(move || config::load_file(&path, &opts))
        .await
        .map_err(|e| format!("configuration reader failed: {e}"))?;
    for d in &loaded.diags.items {
        tracing::warn!("{d}");
    }
    let cfg = check(&loaded)?;
    crate::script::set_script_security(loaded.config.global_defs.enable_script_security);
    let Some(engine) = t.engine else {
        return if cfg.instances.is_empty() || (t.cli.check && !t.cli.vrrp) {
            Ok(("no VRRP subsystem running; nothing to apply".into(), loaded))
        } else {
            Err("the VRRP subsystem was not started (no instances at start); restart to run the new instances".into())
        };
    };
    let (done_tx, done_rx) = oneshot::channel();
    engine
        .send(Control::Reload {
            config: Box::new(cfg),
            done: done_tx,
        })
        .await
        .map_err(|_| "the VRRP engine is not running".to_string())?;
    match tokio::time::timeout(Duration::from_secs(30), done_rx).await {
        Ok(Ok(r)) => r.map(|summary| (summary, loaded)),
        Ok(Err(_)) => Err("the VRRP engine dropped the reload".into()),
        Err(_) => Err("the VRRP engine did not answer within 30 s".into()),
    }
}
