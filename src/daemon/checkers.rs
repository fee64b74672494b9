//! The real-server checkers as the daemon runs them: started on the main
//! runtime with the IPVS syncer's verdict channel, read by `status`, and
//! swapped on reload.
//!
//! The checkers run on a thread of their own with a current-thread tokio
//! runtime: thousands of probes a second wake one thread that does all the
//! work, instead of worker threads waking and stealing from each other (under
//! emulation each of those wake-ups is an inter-processor interrupt). Their
//! verdicts cross to the main runtime on the syncer's channel.
//!
//! On reload the checkers restart only when something they depend on
//! changed (virtual servers, their groups, track files, SSL settings), and
//! a real server whose checkers are the same (by description, in order)
//! keeps its state across the restart: only new or changed ones begin from
//! their configured initial state (up, or down with alpha), so a reload
//! never re-adds a dead real server until its next failed check.

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
    thread: Option<CheckerThread>,
}

/// The checkers' thread; it ends when this is dropped.
struct CheckerThread {
    handle: tokio::runtime::Handle,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl CheckerThread {
    fn spawn() -> std::io::Result<CheckerThread> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let handle = rt.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("checkers".into())
            .spawn(move || {
                // Runs the checker tasks until the slot goes away.
                let _ = rt.block_on(stopped);
            })?;
        Ok(CheckerThread {
            handle,
            _stop: stop,
        })
    }
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

    /// Start the checkers of `cfg` on the checker thread (started on first
    /// use; called inside the main runtime).
    pub fn start(&self, cfg: &Config, tx: UnboundedSender<RealServerUpdate>) {
        self.start_from(cfg, tx, Inputs::of(cfg));
    }

    /// [`Slot::start`], with `cfg`'s inputs already taken.
    fn start_from(&self, cfg: &Config, tx: UnboundedSender<RealServerUpdate>, inputs: Inputs) {
        let bfd = self.lock().bfd.clone();
        let plan = crate::check::realserver::plan_with_bfd(cfg, &bfd);
        for w in &plan.warnings {
            tracing::warn!("checker not run: {w}");
        }
        let mut r = self.lock();
        if r.thread.is_none() {
            match CheckerThread::spawn() {
                Ok(t) => r.thread = Some(t),
                Err(e) => {
                    tracing::warn!("no checker thread ({e}); checkers run on the main runtime")
                }
            }
        }
        let handle = r
            .thread
            .as_ref()
            .map_or_else(tokio::runtime::Handle::current, |t| t.handle.clone());
        let carried = r.set.as_ref().map(CheckerSet::carry).unwrap_or_default();
        let set = {
            // Every task of the set (probes, notify scripts, ha_suspend's
            // address watch) is spawned on the checker thread.
            let _on_checker_thread = handle.enter();
            crate::check::realserver::start_plan(
                plan,
                ScriptRunner::new(MAX_CONCURRENT_NOTIFY),
                tx,
                crate::check::realserver::StartOptions {
                    carried,
                    ..Default::default()
                },
            )
        };
        tracing::info!(checkers = set.checkers(), "real-server checkers started");
        if let Some(mut old) = r.set.replace(set) {
            old.stop();
        }
        r.inputs = Some(inputs);
    }

    /// Restart the checkers if what they are built from changed.
    pub fn reload(&self, cfg: &Config, tx: UnboundedSender<RealServerUpdate>) {
        let inputs = Inputs::of(cfg);
        if self.lock().inputs.as_ref() == Some(&inputs) {
            tracing::info!("reload: real-server checkers unchanged; kept with their state");
            return;
        }
        tracing::info!("reload: real-server configuration changed; checkers restarted");
        self.start_from(cfg, tx, inputs);
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
