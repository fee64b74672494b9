//! The real-server checkers as the daemon runs them: started on the main
//! runtime with the IPVS syncer's verdict channel, read by `status`, and
//! swapped on reload.
//!
//! On reload the checkers restart only when something they depend on
//! changed (virtual servers, their groups, track files, SSL settings):
//! restarted checkers begin from their configured initial state (up, or down
//! with alpha), so restarting them on every SIGHUP would re-add a dead real
//! server until its next failed check.

use crate::check::{CheckerSet, RealServerUpdate};
use crate::config::model::Config;
use crate::script::ScriptRunner;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc::UnboundedSender;

/// How many notify_up/notify_down scripts may run at once.
const MAX_CONCURRENT_NOTIFY: usize = 16;

/// What the checkers are built from.
#[derive(PartialEq)]
struct Inputs {
    virtual_server: Vec<crate::config::model::lvs::VirtualServer>,
    virtual_server_group: Vec<crate::config::model::lvs::VirtualServerGroup>,
    track_file: Vec<crate::config::model::vrrp::TrackFile>,
    ssl: Option<crate::config::model::lvs::SslContext>,
    script_user: Option<crate::config::model::vrrp::ScriptUser>,
    /// The BFD sessions BFD_CHECK can follow (a session that restarts keeps
    /// its channel, so only names matter).
    bfd: Vec<(String, bool)>,
}

impl Inputs {
    fn of(cfg: &Config) -> Inputs {
        Inputs {
            virtual_server: cfg.virtual_server.clone(),
            virtual_server_group: cfg.virtual_server_group.clone(),
            track_file: cfg.track_file.clone(),
            ssl: cfg.ssl.clone(),
            script_user: cfg.global_defs.script_user.clone(),
            bfd: crate::bfd::runner::specs(cfg)
                .into_iter()
                .map(|s| (s.name, s.to_checker))
                .collect(),
        }
    }
}

#[derive(Default)]
struct Running {
    set: Option<CheckerSet>,
    inputs: Option<Inputs>,
    bfd: crate::bfd::Sessions,
}

/// The running checker set, shared with the status socket.
#[derive(Clone, Default)]
pub struct Slot(Arc<Mutex<Running>>);

impl Slot {
    fn lock(&self) -> std::sync::MutexGuard<'_, Running> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The BFD sessions BFD_CHECK follows (before [`Slot::start`]).
    pub fn set_bfd(&self, sessions: crate::bfd::Sessions) {
        self.lock().bfd = sessions;
    }

    /// Start the checkers of `cfg` (inside the main runtime).
    pub fn start(&self, cfg: &Config, tx: UnboundedSender<RealServerUpdate>) {
        let bfd = self.lock().bfd.clone();
        let plan = crate::check::realserver::plan_with_bfd(cfg, &bfd);
        for w in &plan.warnings {
            tracing::warn!("checker not run: {w}");
        }
        let set = crate::check::realserver::start_plan(
            plan,
            ScriptRunner::new(MAX_CONCURRENT_NOTIFY),
            tx,
            Default::default(),
        );
        tracing::info!(checkers = set.checkers(), "real-server checkers started");
        let mut r = self.lock();
        if let Some(mut old) = r.set.replace(set) {
            old.stop();
        }
        r.inputs = Some(Inputs::of(cfg));
    }

    /// Restart the checkers if what they are built from changed.
    pub fn reload(&self, cfg: &Config, tx: UnboundedSender<RealServerUpdate>) {
        if self.lock().inputs.as_ref() == Some(&Inputs::of(cfg)) {
            tracing::info!("reload: real-server checkers unchanged; kept with their state");
            return;
        }
        tracing::info!("reload: real-server configuration changed; checkers restarted");
        self.start(cfg, tx);
    }

    /// Per real server: alive, weight, last result and latency.
    pub fn status(&self) -> Vec<crate::check::realserver::RealServerStatus> {
        self.lock()
            .set
            .as_ref()
            .map(|s| s.status())
            .unwrap_or_default()
    }

    /// Stop, running omega's notify_down scripts.
    pub async fn shutdown(&self) {
        let set = self.lock().set.take();
        if let Some(set) = set {
            set.shutdown().await;
        }
    }
}
