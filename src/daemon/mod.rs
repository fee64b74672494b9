//! The daemon: process setup, pid files, threads, signals.
//!
//! Threading model (docs/ARCHITECTURE.md):
//! - the **VRRP thread** runs the VRRP engine on its own single-threaded tokio
//!   runtime, with real-time scheduling (SCHED_RR) when the kernel allows it and
//!   memory locked, so adverts and timers stay on time while anything else
//!   keeps the CPU busy;
//! - the **main thread** runs a small runtime for signals and, later, the
//!   checkers and the IPVS syncer; it never blocks the VRRP thread.

pub mod checkers;
pub mod dump;
pub mod lvs;
pub mod lvs_fifo;
pub mod memory;
pub mod metrics;
pub mod pidfile;
pub mod reload;
pub mod specs;
pub mod status;
pub mod systemd;
pub mod trackers;

use crate::cli::Cli;
use crate::config::{self, LoadOptions};
use crate::vrrp::engine::{Control, Engine, EngineConfig, SharedStats, Transition};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};

/// Run the daemon until it is told to stop. Returns the process exit code.
pub fn run(cli: &Cli, loaded: config::Loaded, opts: LoadOptions) -> i32 {
    let engine_cfg = match specs::engine_config(&loaded.config) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("configuration cannot run: {e}");
            return 3;
        }
    };
    let run_vrrp = !cli.check || cli.vrrp;
    let run_lvs = !cli.vrrp || cli.check;
    crate::script::set_script_security(loaded.config.global_defs.enable_script_security);

    if !cli.dont_fork {
        // Detach before any thread or runtime exists.
        if let Err(e) = nix::unistd::daemon(false, false) {
            tracing::error!(error = %e, "cannot detach");
            return 1;
        }
    }

    // No worker threads here: signals, status, metrics and trackers are
    // light, and each thread costs a stack and an allocator heap. The VRRP
    // engine, the real-server checkers and the IPVS syncer have threads of
    // their own.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let rt = match rt {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the main runtime");
            return 1;
        }
    };
    // The signal handlers come before anything that tells the outside world
    // the daemon is up (pid file, addresses, control socket, metrics): a
    // SIGHUP sent as soon as one of them appears must be a reload, never the
    // default action (exit). Signals received before the loop runs wait in
    // their streams.
    let signals = {
        let _in_rt = rt.enter();
        match SignalStreams::install() {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "cannot install signal handlers");
                return 1;
            }
        }
    };

    let pid_files = pid_files(cli);
    let mut held = Vec::new();
    for p in &pid_files {
        match pidfile::PidFile::create(p) {
            Ok(f) => held.push(f),
            Err(e) => {
                tracing::error!(path = %p.display(), "{e}");
                return 1;
            }
        }
    }

    let stats: SharedStats = Arc::new(Mutex::new(Vec::new()));
    let (ctl_tx, ctl_rx) = mpsc::channel::<Control>(64);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
    let heartbeat = systemd::Heartbeat::new();
    // VRRP state changes, for the IPVS sync daemon (`lvs_sync_daemon`).
    let (trans_tx, trans_rx) = mpsc::unbounded_channel::<Transition>();
    let vrrp_thread = if run_vrrp && !engine_cfg.instances.is_empty() {
        let stats = stats.clone();
        let cfg = engine_cfg.clone();
        let hb = heartbeat.clone();
        match std::thread::Builder::new()
            .name("vrrp".into())
            .spawn(move || vrrp_thread_main(cfg, stats, ctl_rx, ready_tx, hb, trans_tx))
        {
            Ok(h) => Some(h),
            Err(e) => {
                tracing::error!(error = %e, "cannot start the VRRP thread");
                return 1;
            }
        }
    } else {
        // No VRRP engine: close its control channel, so the stop does not
        // wait for an answer that cannot come.
        drop(ctl_rx);
        let _ = ready_tx.send(Ok(()));
        None
    };
    match ready_rx.recv() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::error!("VRRP engine cannot start: {e}");
            return 1;
        }
        Err(_) => {
            tracing::error!("VRRP engine thread died at start");
            return 1;
        }
    }
    tracing::info!(
        instances = engine_cfg.instances.len(),
        "keepalived-rs started"
    );

    let _watchdog = rt.spawn(systemd::watchdog(vrrp_thread.as_ref().map(|_| heartbeat)));
    // Status and metrics read the same shared state; other subsystems add
    // their sections and collectors to `registry` and `hub`.
    let reloads = reload::SharedReloadStats::default();
    let registry = status::StatusRegistry::default();
    {
        let stats = stats.clone();
        registry.register("vrrp", move || {
            status::to_value(&*stats.lock().unwrap_or_else(|p| p.into_inner()))
        });
        let reloads = reloads.clone();
        registry.register("reload", move || {
            status::to_value(&*reloads.lock().unwrap_or_else(|p| p.into_inner()))
        });
    }
    let hub = metrics::MetricsHub::default();
    hub.add(Box::new(metrics::VrrpCollector {
        stats: stats.clone(),
        reloads: reloads.clone(),
    }));
    hub.add(Box::new(metrics::ScriptCollector));
    registry.register("scripts", || {
        let all: std::collections::BTreeMap<_, _> = crate::script::counts()
            .into_iter()
            .map(|(cmd, c)| {
                (
                    cmd,
                    serde_json::json!({
                        "ok": c.ok, "failed": c.failed, "timed_out": c.timed_out,
                        "signalled": c.signalled, "spawn_failed": c.spawn_failed,
                    }),
                )
            })
            .collect();
        status::to_value(&all)
    });
    let lvs_start = LvsStart {
        run_lvs,
        script_user: engine_cfg.script_user,
        vrrp_running: vrrp_thread.is_some(),
        registry: registry.clone(),
        hub: hub.clone(),
    };
    let (lvs, verdicts) = match lvs_start.start(cli, &loaded.config) {
        Some((l, tx)) => (Some(l), Some(tx)),
        None => (None, None),
    };
    // BFD sessions (unless -B): followed by BFD_CHECK and track_bfd. As
    // keepalived starts its BFD process only for bfd_instances, the BFD
    // thread starts with the first one (here or at a reload).
    let bfd_hub: Arc<Mutex<Option<crate::bfd::BfdHub>>> = Arc::new(Mutex::new(None));
    let bfd_sessions = crate::bfd::Sessions::default();
    if !cli.no_bfd {
        start_bfd(&bfd_hub, &loaded.config, &bfd_sessions);
        let h = bfd_hub.clone();
        let bfd_status = Arc::new(move || {
            let g = h.lock().unwrap_or_else(|p| p.into_inner());
            g.as_ref().map(|h| h.status()).unwrap_or_default()
        });
        let st = bfd_status.clone();
        registry.register("bfd", move || status::to_value(&st()));
        hub.add(Box::new(crate::bfd::metrics::BfdCollector {
            status: bfd_status,
        }));
    }
    // The real-server checkers: swapped on reload, read by `status`.
    let checkers = checkers::Slot::default();
    checkers.set_bfd(bfd_sessions.clone());
    {
        let checkers = checkers.clone();
        registry.register("checkers", move || status::to_value(&checkers.status()));
    }
    let engine = vrrp_thread.as_ref().map(|_| ctl_tx.clone());
    let tracker_cfg = specs::tracker_config(&loaded.config);
    let code = rt.block_on(async {
        let _control = match status::serve(&cli.control_socket, registry.clone()) {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::error!("control socket: {e}; `keepalived-rs status` will not answer");
                None
            }
        };
        let _metrics = match cli.metrics {
            Some(addr) => match metrics::serve(addr, hub.clone()).await {
                Ok(h) => Some(AbortOnDrop(h)),
                Err(e) => {
                    tracing::error!(%addr, error = %e, "cannot serve metrics");
                    stop_engine(&ctl_tx).await;
                    return (1, lvs);
                }
            },
            None => None,
        };
        if let (Some(tx), true) = (&verdicts, run_lvs) {
            if let Some(l) = &lvs {
                l.first_pass(std::time::Duration::from_secs(10)).await;
            }
            checkers.start(&loaded.config, tx.clone());
        }
        let mut ctx = Signals {
            cli,
            opts,
            checkers: checkers.clone(),
            verdicts,
            trackers: run_vrrp.then(|| trackers::start(tracker_cfg, ctl_tx.clone(), &bfd_sessions)),
            bfd: (bfd_hub.clone(), bfd_sessions.clone()),
            engine,
            reloads,
            lvs,
            lvs_start,
            transitions: trans_rx,
            vrrp_master: HashMap::new(),
        };
        // Everything has started: give back what start-up alone used, then
        // lock what is left; again once the first state changes are done.
        // With virtual servers, the first settle waits for the syncer's
        // first pass and the checkers' first round instead of competing
        // with them.
        let has_vs = !loaded.config.virtual_server.is_empty();
        if !has_vs {
            memory::settle();
        }
        let _settle_again = AbortOnDrop(tokio::spawn(async move {
            if has_vs {
                tokio::time::sleep(memory::SETTLE_AFTER_IPVS).await;
                memory::settle();
            }
            tokio::time::sleep(memory::SETTLE_AGAIN).await;
            memory::settle();
        }));
        let code = signal_loop(&mut ctx, signals, ctl_tx, stats.clone()).await;
        (code, ctx.lvs.take())
    });
    let (code, lvs) = code;
    // Checkers first (omega runs notify_down scripts), then the IPVS table.
    rt.block_on(checkers.shutdown());
    // BFD peers are told AdminDown.
    let hub = bfd_hub.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(mut hub) = hub {
        rt.block_on(hub.shutdown());
    }
    if let Some(l) = lvs {
        rt.block_on(l.stop(std::time::Duration::from_secs(30)));
    }
    if let Some(h) = vrrp_thread {
        let _ = h.join();
    }
    drop(held);
    tracing::info!("keepalived-rs stopped");
    code
}

/// What starting the IPVS syncer needs (at start, or at the first reload
/// whose configuration needs it).
struct LvsStart {
    /// The checker side runs (not `-P`): virtual servers are programmed.
    run_lvs: bool,
    script_user: Option<crate::script::RunAs>,
    /// The VRRP engine runs (it starts `notify_fifo_script`; the checker
    /// side then only writes to that FIFO).
    vrrp_running: bool,
    registry: status::StatusRegistry,
    hub: metrics::MetricsHub,
}

impl LvsStart {
    /// The IPVS syncer (with the channel of the checkers' verdicts), when
    /// `cfg` has virtual servers (and the checker side runs) or a sync daemon.
    fn start(
        &self,
        cli: &Cli,
        cfg: &config::model::Config,
    ) -> Option<(
        lvs::LvsHandle,
        mpsc::UnboundedSender<crate::check::RealServerUpdate>,
    )> {
        if !lvs::needed(cfg, self.run_lvs) {
            return None;
        }
        let client = match lvs::kernel_client() {
            Ok(c) => c,
            Err(e) => {
                tracing::error!("IPVS: {e}; virtual servers are not programmed");
                return None;
            }
        };
        // The checkers (started on the main runtime) send their verdicts on `rs_tx`.
        let (rs_tx, rs_rx) = mpsc::unbounded_channel::<crate::check::RealServerUpdate>();
        let mut settings = lvs::LvsSettings::new(cli.dont_release_ipvs, self.script_user);
        if self.run_lvs {
            settings.fifos = lvs_fifo::specs(&cfg.global_defs, self.vrrp_running);
        }
        let h = match lvs::start(client, cfg, self.run_lvs, settings, rs_rx) {
            Ok(h) => h,
            Err(e) => {
                tracing::error!(error = %e, "cannot start the IPVS thread");
                return None;
            }
        };
        let st = h.shared_status();
        self.registry.register("ipvs", move || {
            status::to_value(&*st.lock().unwrap_or_else(|p| p.into_inner()))
        });
        self.hub.add(Box::new(lvs::IpvsCollector {
            status: h.shared_status(),
        }));
        Some((h, rs_tx))
    }
}

fn pid_files(cli: &Cli) -> Vec<PathBuf> {
    let mut v = vec![cli
        .pid
        .clone()
        .unwrap_or_else(|| PathBuf::from("/run/keepalived-rs.pid"))];
    if let Some(p) = &cli.vrrp_pid {
        v.push(p.clone());
    }
    if let Some(p) = &cli.checkers_pid {
        v.push(p.clone());
    }
    v
}

fn vrrp_thread_main(
    cfg: EngineConfig,
    stats: SharedStats,
    ctl: mpsc::Receiver<Control>,
    ready: std::sync::mpsc::Sender<Result<(), String>>,
    heartbeat: systemd::Heartbeat,
    transitions: mpsc::UnboundedSender<Transition>,
) {
    realtime::raise();
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = ready.send(Err(e.to_string()));
            return;
        }
    };
    rt.block_on(async move {
        match Engine::start(cfg, stats).await {
            Ok(mut engine) => {
                engine.report_transitions(transitions);
                let _ = ready.send(Ok(()));
                let beat = systemd::watchdog_interval().map(systemd::beat_period);
                let _hb = beat.map(|p| tokio::spawn(heartbeat.run(p)));
                engine.run(ctl).await;
            }
            Err(e) => {
                let _ = ready.send(Err(e.to_string()));
            }
        }
    });
}

/// Aborts a task when dropped (the metrics server at exit).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How long a reload waits for the IPVS syncer before restarting the
/// checkers regardless.
const LVS_RELOAD_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// What the signal loop needs to reload.
struct Signals<'a> {
    cli: &'a Cli,
    opts: LoadOptions,
    /// VRRP trackers (vrrp_script, track_file, track_process): restarted
    /// from the new configuration on reload, as instance indices follow it.
    trackers: Option<trackers::Trackers>,
    /// The engine, if the VRRP thread runs.
    engine: Option<mpsc::Sender<Control>>,
    reloads: reload::SharedReloadStats,
    /// The BFD sessions (no hub with -B).
    bfd: (Arc<Mutex<Option<crate::bfd::BfdHub>>>, crate::bfd::Sessions),
    /// The IPVS syncer, if it runs (started by a reload that needs it).
    lvs: Option<lvs::LvsHandle>,
    lvs_start: LvsStart,
    /// The real-server checkers, and where they send verdicts (while the
    /// IPVS syncer runs).
    checkers: checkers::Slot,
    verdicts: Option<mpsc::UnboundedSender<crate::check::RealServerUpdate>>,
    /// VRRP state changes, and the last state of each instance (for a
    /// syncer started later).
    transitions: mpsc::UnboundedReceiver<Transition>,
    vrrp_master: HashMap<String, bool>,
}

impl Signals<'_> {
    /// A new configuration for the IPVS syncer and the checkers; starts the
    /// syncer if this is the first configuration that needs it.
    ///
    /// The checkers restart after the syncer has applied the new table
    /// (bounded wait): the kernel gets the change first, and rebuilding
    /// thousands of checkers does not compete with it for the CPU.
    async fn reload_lvs(&mut self, cfg: &config::model::Config) {
        if let Some(l) = &self.lvs {
            let applied = l.reload(cfg);
            if tokio::time::timeout(LVS_RELOAD_WAIT, applied)
                .await
                .is_err()
            {
                tracing::warn!(
                    "reload: the IPVS syncer has not applied the new configuration after {} s; restarting the checkers anyway",
                    LVS_RELOAD_WAIT.as_secs()
                );
            }
        } else if let Some((l, tx)) = self.lvs_start.start(self.cli, cfg) {
            tracing::info!("reload: IPVS syncer started");
            for (inst, master) in &self.vrrp_master {
                l.vrrp_state(inst, *master);
            }
            self.lvs = Some(l);
            self.verdicts = Some(tx);
        }
        if let (Some(tx), true) = (&self.verdicts, self.lvs_start.run_lvs) {
            self.checkers.reload(cfg, tx.clone());
        }
    }
}

/// The daemon's signal streams, installed at start before anything could
/// make a sender think the daemon is up: from then on each signal is kept in
/// its stream until the signal loop reads it.
struct SignalStreams {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
    usr1: tokio::signal::unix::Signal,
    usr2: tokio::signal::unix::Signal,
    json: tokio::signal::unix::Signal,
}

impl SignalStreams {
    /// Install the handlers; must run inside a tokio runtime context.
    fn install() -> std::io::Result<SignalStreams> {
        use tokio::signal::unix::{signal, SignalKind};
        let json_signal = crate::cli::signum("JSON").unwrap_or(libc::SIGRTMIN() + 2);
        Ok(SignalStreams {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            hup: signal(SignalKind::hangup())?,
            usr1: signal(SignalKind::user_defined1())?,
            usr2: signal(SignalKind::user_defined2())?,
            json: signal(SignalKind::from_raw(json_signal))?,
        })
    }
}

async fn signal_loop(
    sig: &mut Signals<'_>,
    streams: SignalStreams,
    ctl: mpsc::Sender<Control>,
    stats: SharedStats,
) -> i32 {
    let cli = sig.cli;
    let SignalStreams {
        mut term,
        mut int,
        mut hup,
        mut usr1,
        mut usr2,
        mut json,
    } = streams;
    systemd::ready(&stats);
    // The settle after the last reload, if it has not run yet.
    let mut _pending_settle: Option<AbortOnDrop> = None;
    loop {
        tokio::select! {
            Some(t) = sig.transitions.recv() => {
                let master = t.to == crate::vrrp::fsm::State::Master;
                if let Some(l) = &sig.lvs {
                    l.vrrp_state(&t.instance, master);
                }
                sig.vrrp_master.insert(t.instance, master);
            }
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = usr1.recv() => dump::write(&cli.dump_dir, dump::Kind::Data, &stats),
            _ = usr2.recv() => dump::write(&cli.dump_dir, dump::Kind::Stats, &stats),
            _ = json.recv() => dump::write(&cli.dump_dir, dump::Kind::Json, &stats),
            _ = hup.recv() => {
                systemd::reloading();
                // The parse frees and reallocates all along: no purging until
                // the settle after it (or right away when it is refused).
                memory::never_purge();
                // Validate-then-swap: read and check the whole new configuration
                // first (off this thread); on any error keep running the old one.
                let applied = reload::reload(reload::Target {
                    cli,
                    opts: &sig.opts,
                    engine: sig.engine.as_ref(),
                    stats: &sig.reloads,
                })
                .await;
                if applied.is_none() {
                    memory::restore_purge();
                }
                if let Some(new) = applied {
                    // Other subsystems reload from `new` here (checkers, IPVS syncer).
                    // BFD first: its consumers look sessions up by name.
                    if !cli.no_bfd {
                        start_bfd(&sig.bfd.0, &new.config, &sig.bfd.1);
                    }
                    sig.reload_lvs(&new.config).await;
                    if let (Some(t), Some(engine)) = (sig.trackers.as_mut(), sig.engine.as_ref()) {
                        t.stop();
                        *t = trackers::start(
                            specs::tracker_config(&new.config),
                            engine.clone(),
                            &sig.bfd.1,
                        );
                    }
                    // The parse's code and memory are not needed until the
                    // next reload. With virtual servers, settle once the
                    // checkers' restart and the syncer's pass are done, not
                    // in the middle of them (it walks every page we have).
                    let delay = if new.config.virtual_server.is_empty() {
                        std::time::Duration::ZERO
                    } else {
                        memory::SETTLE_AFTER_IPVS
                    };
                    _pending_settle = Some(AbortOnDrop(tokio::spawn(async move {
                        tokio::time::sleep(delay).await;
                        memory::settle();
                    })));
                }
                systemd::ready(&stats);
            }
        }
    }
    systemd::stopping();
    tracing::info!("stopping");
    stop_engine(&ctl).await;
    0
}

/// Start the BFD thread for the first bfd_instance, or apply `cfg` to the
/// running one.
fn start_bfd(
    slot: &Mutex<Option<crate::bfd::BfdHub>>,
    cfg: &config::model::Config,
    sessions: &crate::bfd::Sessions,
) {
    let mut g = slot.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(hub) = g.as_mut() {
        hub.reload(cfg);
        return;
    }
    if cfg.bfd_instance.is_empty() {
        return;
    }
    match crate::bfd::BfdHub::start(cfg, sessions.clone()) {
        Ok(hub) => {
            tracing::info!(sessions = hub.len(), "BFD sessions started");
            *g = Some(hub);
        }
        Err(e) => tracing::error!("cannot start the BFD thread: {e}; BFD sessions are down"),
    }
}

/// Graceful engine stop, bounded.
async fn stop_engine(ctl: &mpsc::Sender<Control>) {
    let (done_tx, done_rx) = oneshot::channel();
    if ctl.send(Control::Shutdown(done_tx)).await.is_ok() {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(10), done_rx).await;
    }
}

/// Real-time scheduling for the VRRP thread: best effort, logged.
mod realtime {
    pub fn raise() {
        // Timers of this thread fire when due, not up to 50 µs later
        // (the default timer slack; real-time threads have none on recent
        // kernels, this covers the case where SCHED_RR is refused).
        #[allow(unsafe_code)]
        // SAFETY: PR_SET_TIMERSLACK only sets a property of this thread.
        let _ = unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1, 0, 0, 0) };
        let param = libc::sched_param { sched_priority: 10 };
        #[allow(unsafe_code)]
        // SAFETY: sched_setscheduler reads `param` only; pid 0 is the calling thread.
        let rc = unsafe { libc::sched_setscheduler(0, libc::SCHED_RR, &param) };
        if rc != 0 {
            tracing::info!(
                "VRRP thread runs without real-time priority: {}",
                std::io::Error::last_os_error()
            );
        } else {
            tracing::debug!("VRRP thread runs with SCHED_RR priority 10");
        }
    }
}
