//! The IPVS syncer thread: applies checker verdicts and reloads to the
//! kernel's IPVS table, repairs drift periodically, cleans up at stop.
//!
//! The syncer's netlink requests block, so it runs on its own thread with a
//! single-threaded runtime (for its timers, channels and the quorum scripts);
//! the VRRP thread and the main runtime never wait for it.
//!
//! Inputs: [`RealServerUpdate`]s from the checkers (a tokio unbounded
//! channel), and [`LvsHandle`] calls (reload, sync-daemon role, stop).
//! Output: [`LvsHandle::status`], a snapshot refreshed after every change.

use crate::check::RealServerUpdate;
use crate::config::model::lvs::CheckerScript;
use crate::config::model::Config;
use crate::daemon::lvs_fifo::LvsFifos;
use crate::ipvs::desired::{self, LvsSpec};
use crate::ipvs::syncer::{LvsStatus, Options, QuorumEvent, Syncer};
use crate::ipvs::types;
use crate::ipvs::{DestId, Destination, IpvsClient, IpvsError, IpvsOps, Service, ServiceId};
use crate::script::{RunAs, ScriptRunner};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Default period of the kernel reconcile (override with the environment
/// variable `KEEPALIVED_RS_IPVS_RECONCILE_SECS`; 0 disables it).
pub const DEFAULT_RECONCILE: Duration = Duration::from_secs(5);

/// How long quorum scripts may run.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(30);

/// How the syncer thread runs.
#[derive(Clone, Debug)]
pub struct LvsSettings {
    pub options: Options,
    /// `None`: no periodic reconcile.
    pub reconcile_every: Option<Duration>,
    /// The default user of quorum scripts (global `script_user`).
    pub script_user: Option<RunAs>,
    /// `lvs_notify_fifo` (and `notify_fifo`): where VS/RS changes are written.
    pub fifos: Vec<crate::vrrp::notify_fifo::FifoSpec>,
}

impl LvsSettings {
    /// From the command line and the environment.
    pub fn new(dont_release: bool, script_user: Option<RunAs>) -> Self {
        let reconcile_every = match std::env::var("KEEPALIVED_RS_IPVS_RECONCILE_SECS")
            .ok()
            .and_then(|v| v.trim().parse::<f64>().ok())
        {
            Some(s) if s <= 0.0 || !s.is_finite() => None,
            Some(s) => Some(Duration::from_secs_f64(s)),
            None => Some(DEFAULT_RECONCILE),
        };
        LvsSettings {
            options: Options { dont_release },
            reconcile_every,
            script_user,
            fifos: Vec::new(),
        }
    }
}

enum Control {
    /// A new configuration; the sender hears when it is in the kernel.
    Reload(Box<LvsSpec>, oneshot::Sender<()>),
    /// A VRRP instance became master (`true`) or left master.
    VrrpState {
        instance: String,
        master: bool,
    },
    Stop(oneshot::Sender<()>),
}

/// The running syncer.
pub struct LvsHandle {
    ctl: mpsc::UnboundedSender<Control>,
    /// Becomes true when the syncer's first pass over the kernel is done
    /// (or could not run).
    first_pass: tokio::sync::watch::Receiver<bool>,
    status: Arc<Mutex<LvsStatus>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Program the virtual servers (false: only the sync daemon, when the
    /// checker side does not run, `-P`).
    virtual_servers: bool,
}

impl LvsHandle {
    /// Wait (at most `timeout`) for the syncer's first pass over the kernel:
    /// the checkers start after it, as keepalived's do, instead of
    /// competing with it.
    pub async fn first_pass(&self, timeout: Duration) {
        let mut rx = self.first_pass.clone();
        let _ = tokio::time::timeout(timeout, rx.wait_for(|done| *done)).await;
    }

    /// The last status snapshot (per virtual/real server, op counters).
    pub fn status(&self) -> LvsStatus {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// The snapshot as the status socket and the metrics read it.
    pub fn shared_status(&self) -> Arc<Mutex<LvsStatus>> {
        self.status.clone()
    }

    /// Apply a new (validated) configuration: only what changed. Resolves
    /// when the syncer has applied it (or is gone).
    pub fn reload(&self, cfg: &Config) -> impl std::future::Future<Output = ()> + use<> {
        let spec = build_spec(cfg, self.virtual_servers);
        let (done, applied) = oneshot::channel();
        let _ = self.ctl.send(Control::Reload(Box::new(spec), done));
        async move {
            let _ = applied.await;
        }
    }

    /// A VRRP instance became master or left it: the sync daemons follow
    /// the instance `lvs_sync_daemon` names.
    pub fn vrrp_state(&self, instance: &str, master: bool) {
        let _ = self.ctl.send(Control::VrrpState {
            instance: instance.to_owned(),
            master,
        });
    }

    /// Stop: clean up the table (unless `-I`), run omega scripts, wait up to
    /// `timeout` for the thread.
    pub async fn stop(mut self, timeout: Duration) {
        let (tx, rx) = oneshot::channel();
        if self.ctl.send(Control::Stop(tx)).is_ok() {
            let _ = tokio::time::timeout(timeout, rx).await;
        }
        if let Some(t) = self.thread.take() {
            if t.is_finished() {
                let _ = t.join();
            }
        }
    }
}

fn log_warnings(spec: &LvsSpec) {
    for w in &spec.warnings {
        tracing::warn!("{w}");
    }
}

/// The syncer's view of `cfg` (without its virtual servers when
/// `virtual_servers` is false).
fn build_spec(cfg: &Config, virtual_servers: bool) -> LvsSpec {
    let mut spec = desired::build(cfg);
    if !virtual_servers {
        spec.virtual_servers.clear();
    }
    log_warnings(&spec);
    spec
}

/// Whether `cfg` needs the syncer: virtual servers to program (when
/// `virtual_servers`), or a sync daemon.
pub fn needed(cfg: &Config, virtual_servers: bool) -> bool {
    (virtual_servers && !cfg.virtual_server.is_empty())
        || cfg
            .global_defs
            .lvs_sync_daemon
            .as_ref()
            .is_some_and(|d| !d.interface.is_empty())
}

/// Start the syncer thread on `ops` for `cfg` (only its sync daemon when
/// `virtual_servers` is false).
pub fn start<O: IpvsOps + Send + 'static>(
    ops: O,
    cfg: &Config,
    virtual_servers: bool,
    settings: LvsSettings,
    updates: mpsc::UnboundedReceiver<RealServerUpdate>,
) -> std::io::Result<LvsHandle> {
    let spec = build_spec(cfg, virtual_servers);
    let status = Arc::new(Mutex::new(LvsStatus::default()));
    let (ctl_tx, ctl_rx) = mpsc::unbounded_channel();
    let (pass_tx, pass_rx) = tokio::sync::watch::channel(false);
    let st = status.clone();
    let thread = std::thread::Builder::new()
        .name("ipvs".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    tracing::error!(error = %e, "IPVS: cannot build the syncer runtime");
                    return;
                }
            };
            rt.block_on(run(ops, spec, settings, updates, ctl_rx, st, pass_tx));
        })?;
    Ok(LvsHandle {
        ctl: ctl_tx,
        first_pass: pass_rx,
        status,
        thread: Some(thread),
        virtual_servers,
    })
}

/// The uid/gid a quorum script runs as: its own user, else `default`.
fn run_as(script: &CheckerScript, default: Option<RunAs>) -> Option<RunAs> {
    let Some(u) = &script.user else {
        return default;
    };
    let user = nix::unistd::User::from_name(&u.user).ok().flatten()?;
    let gid = u
        .group
        .as_ref()
        .and_then(|g| nix::unistd::Group::from_name(g).ok().flatten())
        .map_or(user.gid.as_raw(), |g| g.gid.as_raw());
    Some(RunAs {
        uid: user.uid.as_raw(),
        gid,
    })
}

/// Log quorum changes and start their scripts; returns the script tasks.
fn quorum_actions(
    events: Vec<QuorumEvent>,
    scripts: &ScriptRunner,
    user: Option<RunAs>,
    fifos: &mut LvsFifos,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    for ev in events {
        fifos.on_quorum(&ev.virtual_server, ev.up);
        if ev.up {
            tracing::info!(
                "Gained quorum {}+{}={} <= {} for VS {}",
                ev.quorum,
                ev.hysteresis,
                u64::from(ev.quorum) + u64::from(ev.hysteresis),
                ev.live_weight,
                ev.virtual_server
            );
        } else {
            tracing::info!(
                "Lost quorum {}-{}={} > {} for VS {}",
                ev.quorum,
                ev.hysteresis,
                i64::from(ev.quorum) - i64::from(ev.hysteresis),
                ev.live_weight,
                ev.virtual_server
            );
        }
        if let Some(s) = ev.script {
            let runner = scripts.clone();
            let who = run_as(&s, user);
            tasks.push(tokio::spawn(async move {
                let r = runner.run(&s.script, &[], who, SCRIPT_TIMEOUT).await;
                if !r.outcome.success() {
                    tracing::warn!(script = %s.script, outcome = ?r.outcome, "quorum script failed");
                }
            }));
        }
    }
    tasks
}

/// How stale the status snapshot may be after checker verdicts.
const PUBLISH_DELAY: Duration = Duration::from_millis(50);

/// Verdicts handled in one go before the loop looks at its other inputs
/// (reload, stop, reconcile) again.
const UPDATE_BURST: usize = 1024;

/// One checker verdict: the FIFO line, the kernel change, the quorum
/// actions.
fn on_update<O: IpvsOps>(
    syncer: &mut Syncer<O>,
    u: &RealServerUpdate,
    scripts: &ScriptRunner,
    user: Option<RunAs>,
    fifos: &mut LvsFifos,
) {
    if fifos.is_open() {
        let vs = syncer
            .vs_name(&u.key.service)
            .map_or_else(|| u.key.service.to_string(), str::to_owned);
        fifos.on_update(u, &vs);
    }
    let ev = syncer.update(u);
    quorum_actions(ev, scripts, user, fifos);
}

async fn run<O: IpvsOps>(
    ops: O,
    spec: LvsSpec,
    settings: LvsSettings,
    mut updates: mpsc::UnboundedReceiver<RealServerUpdate>,
    mut ctl: mpsc::UnboundedReceiver<Control>,
    status: Arc<Mutex<LvsStatus>>,
    first_pass: tokio::sync::watch::Sender<bool>,
) {
    let scripts = ScriptRunner::new(8);
    let user = settings.script_user;
    let mut fifos = LvsFifos::open(&settings.fifos);
    let (mut syncer, events) = Syncer::new(ops, spec, settings.options);
    let publish = |s: &Syncer<O>| {
        if let Ok(mut g) = status.lock() {
            *g = s.status();
        }
    };
    tracing::info!(
        virtual_servers = syncer.spec().virtual_servers.len(),
        "IPVS: programming the table"
    );
    let mut started = match syncer.start() {
        Ok(()) => {
            let c = syncer.counts();
            tracing::info!(
                services = c.new_service,
                destinations = c.new_dest,
                edits = c.set_service + c.set_dest,
                "IPVS: table programmed"
            );
            true
        }
        Err(e) => {
            tracing::error!("IPVS: cannot read the kernel's table ({e}); will retry");
            false
        }
    };
    let _ = first_pass.send(true);
    quorum_actions(events, &scripts, user, &mut fifos);
    publish(&syncer);

    let period = settings
        .reconcile_every
        .unwrap_or(Duration::from_secs(3600));
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut updates_open = true;
    // The last state of every VRRP instance: the one `lvs_sync_daemon`
    // names chooses the sync daemon's role (also after a reload names
    // another one).
    let mut vrrp_master: HashMap<String, bool> = HashMap::new();
    let follows_master = |s: &Syncer<O>, m: &HashMap<String, bool>| {
        s.spec()
            .sync_daemon
            .as_ref()
            .and_then(|d| d.instance.as_ref())
            .and_then(|i| m.get(i).copied())
            .unwrap_or(false)
    };
    // Checker verdicts come in bursts (10,000 at start with that many
    // checkers): the status snapshot, which walks every real server, is
    // rebuilt at most once per PUBLISH_DELAY for them, not once per verdict.
    let mut publish_due: Option<tokio::time::Instant> = None;
    loop {
        let due = publish_due;
        tokio::select! {
            u = updates.recv(), if updates_open => match u {
                Some(u) => {
                    let mut next = Some(u);
                    let mut n = 0;
                    while let Some(u) = next.take() {
                        on_update(&mut syncer, &u, &scripts, user, &mut fifos);
                        n += 1;
                        if n < UPDATE_BURST {
                            next = updates.try_recv().ok();
                        }
                    }
                    if publish_due.is_none() {
                        publish_due = Some(tokio::time::Instant::now() + PUBLISH_DELAY);
                    }
                }
                None => updates_open = false,
            },
            () = async {
                match due {
                    Some(t) => tokio::time::sleep_until(t).await,
                    None => std::future::pending().await,
                }
            } => {
                publish_due = None;
                publish(&syncer);
            }
            c = ctl.recv() => match c {
                Some(Control::Reload(spec, done)) => {
                    let before = syncer.counts();
                    let ev = syncer.reload(*spec);
                    let after = syncer.counts();
                    tracing::info!(
                        requests = after.table_ops() - before.table_ops(),
                        "IPVS: new configuration applied"
                    );
                    let _ = done.send(());
                    // The reload has just compared with (and written to)
                    // the kernel: the next reconcile is a period from now,
                    // not in the middle of the checkers' restart.
                    if started {
                        tick.reset();
                    }
                    quorum_actions(ev, &scripts, user, &mut fifos);
                    let m = follows_master(&syncer, &vrrp_master);
                    syncer.set_sync_master(m);
                    publish(&syncer);
                }
                Some(Control::VrrpState { instance, master }) => {
                    vrrp_master.insert(instance, master);
                    let m = follows_master(&syncer, &vrrp_master);
                    syncer.set_sync_master(m);
                    publish(&syncer);
                }
                Some(Control::Stop(done)) => {
                    let ev = syncer.stop();
                    let tasks = quorum_actions(ev, &scripts, user, &mut fifos);
                    for t in tasks {
                        let _ = tokio::time::timeout(SCRIPT_TIMEOUT, t).await;
                    }
                    publish(&syncer);
                    let c = syncer.counts();
                    tracing::info!(
                        removed_services = c.del_service,
                        flushes = c.flush,
                        "IPVS: stopped"
                    );
                    fifos.close();
                    let _ = done.send(());
                    return;
                }
                None => {
                    // The handle is gone without a stop: clean up anyway.
                    let _ = syncer.stop();
                    fifos.close();
                    return;
                }
            },
            _ = tick.tick(), if settings.reconcile_every.is_some() || !started => {
                if !started {
                    match syncer.start() {
                        Ok(()) => {
                            started = true;
                            tracing::info!("IPVS: table programmed");
                        }
                        Err(e) => tracing::debug!("IPVS: kernel still unavailable: {e}"),
                    }
                } else {
                    match syncer.reconcile() {
                        Ok(0) => {}
                        Ok(n) => tracing::warn!(repairs = n, "IPVS: repaired out-of-band changes"),
                        Err(e) => tracing::warn!("IPVS: reconcile cannot read the kernel: {e}"),
                    }
                }
                publish(&syncer);
            }
        }
    }
}

/// The generic netlink client, with the syncer's optional operations (sync
/// daemon, timeouts) mapped onto the client's own.
pub struct KernelClient(pub IpvsClient);

impl IpvsOps for KernelClient {
    fn services(&mut self) -> Result<Vec<Service>, IpvsError> {
        self.0.services()
    }
    fn destinations(&mut self, svc: &ServiceId) -> Result<Vec<Destination>, IpvsError> {
        self.0.destinations(svc)
    }
    fn new_service(&mut self, svc: &Service) -> Result<(), IpvsError> {
        self.0.new_service(svc)
    }
    fn set_service(&mut self, svc: &Service) -> Result<(), IpvsError> {
        self.0.set_service(svc)
    }
    fn del_service(&mut self, svc: &ServiceId) -> Result<(), IpvsError> {
        self.0.del_service(svc)
    }
    fn new_destination(&mut self, svc: &ServiceId, dest: &Destination) -> Result<(), IpvsError> {
        self.0.new_destination(svc, dest)
    }
    fn set_destination(&mut self, svc: &ServiceId, dest: &Destination) -> Result<(), IpvsError> {
        self.0.set_destination(svc, dest)
    }
    fn del_destination(&mut self, svc: &ServiceId, dest: &DestId) -> Result<(), IpvsError> {
        self.0.del_destination(svc, dest)
    }
    fn flush(&mut self) -> Result<(), IpvsError> {
        self.0.flush()
    }
    fn batch(&mut self, ops: &[crate::ipvs::syncer::Op]) -> Vec<Result<(), IpvsError>> {
        self.0.batch(ops)
    }
    fn start_sync_daemon(&mut self, d: &types::SyncDaemon) -> Result<(), IpvsError> {
        self.0.new_daemon(&crate::ipvs::SyncDaemon {
            state: sync_state(d.state),
            mcast_ifname: d.ifname.clone(),
            syncid: u32::from(d.syncid),
            sync_maxlen: d.maxlen,
            mcast_group: d.group,
            mcast_port: d.port,
            mcast_ttl: d.ttl,
        })
    }
    fn stop_sync_daemon(&mut self, state: types::SyncDaemonState) -> Result<(), IpvsError> {
        self.0.del_daemon(sync_state(state))
    }
    fn set_timeouts(&mut self, t: &types::Timeouts) -> Result<(), IpvsError> {
        // The client's 0 leaves a timeout unchanged.
        self.0.set_timeouts(&crate::ipvs::Timeouts {
            tcp: t.tcp.unwrap_or(0),
            tcp_fin: t.tcpfin.unwrap_or(0),
            udp: t.udp.unwrap_or(0),
        })
    }
}

fn sync_state(s: types::SyncDaemonState) -> crate::ipvs::SyncState {
    match s {
        types::SyncDaemonState::Master => crate::ipvs::SyncState::Master,
        types::SyncDaemonState::Backup => crate::ipvs::SyncState::Backup,
    }
}

/// The kernel client the daemon uses ([`IpvsError::Unavailable`] without
/// IPVS in the kernel).
pub fn kernel_client() -> Result<KernelClient, IpvsError> {
    IpvsClient::new().map(KernelClient)
}

/// Prometheus metrics of the syncer: requests by type, errors, repairs,
/// and per virtual/real server state.
#[derive(Debug)]
pub struct IpvsCollector {
    pub status: Arc<Mutex<LvsStatus>>,
}

type Labels = Vec<(&'static str, String)>;

fn encode_rows<M: prometheus_client::encoding::EncodeMetric>(
    enc: &mut prometheus_client::encoding::DescriptorEncoder,
    name: &str,
    help: &str,
    kind: prometheus_client::metrics::MetricType,
    rows: Vec<(Labels, M)>,
) -> Result<(), std::fmt::Error> {
    let mut fam = enc.encode_descriptor(name, help, None, kind)?;
    for (labels, m) in rows {
        m.encode(fam.encode_family(&labels)?)?;
    }
    Ok(())
}

impl prometheus_client::collector::Collector for IpvsCollector {
    fn encode(
        &self,
        mut enc: prometheus_client::encoding::DescriptorEncoder,
    ) -> Result<(), std::fmt::Error> {
        use prometheus_client::metrics::counter::ConstCounter;
        use prometheus_client::metrics::gauge::ConstGauge;
        use prometheus_client::metrics::MetricType;
        let st = self
            .status
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let c = st.counts;
        let op = |name: &str, v: u64| (vec![("op", name.to_owned())], ConstCounter::new(v));
        encode_rows(
            &mut enc,
            "ipvs_requests",
            "IPVS requests sent to the kernel, by type",
            MetricType::Counter,
            vec![
                op("new_service", c.new_service),
                op("set_service", c.set_service),
                op("del_service", c.del_service),
                op("new_dest", c.new_dest),
                op("set_dest", c.set_dest),
                op("del_dest", c.del_dest),
                op("flush", c.flush),
                op("sync_daemon", c.sync_daemon),
                op("set_config", c.set_config),
            ],
        )?;
        encode_rows(
            &mut enc,
            "ipvs_errors",
            "IPVS requests the kernel refused",
            MetricType::Counter,
            vec![(Vec::new(), ConstCounter::new(c.errors))],
        )?;
        encode_rows(
            &mut enc,
            "ipvs_repairs",
            "Out-of-band changes to our IPVS services repaired by the reconcile",
            MetricType::Counter,
            vec![(Vec::new(), ConstCounter::new(c.repairs))],
        )?;
        let vs_rows =
            |f: &dyn Fn(&crate::ipvs::syncer::VsStatus) -> i64| -> Vec<(Labels, ConstGauge)> {
                st.virtual_servers
                    .iter()
                    .map(|v| {
                        (
                            vec![("virtual_server", v.name.clone())],
                            ConstGauge::new(f(v)),
                        )
                    })
                    .collect()
            };
        encode_rows(
            &mut enc,
            "ipvs_quorum_up",
            "1 while the virtual server has quorum",
            MetricType::Gauge,
            vs_rows(&|v| i64::from(v.quorum_up)),
        )?;
        encode_rows(
            &mut enc,
            "ipvs_sorry_server_active",
            "1 while the sorry server replaces the real servers",
            MetricType::Gauge,
            vs_rows(&|v| i64::from(v.sorry_server_active)),
        )?;
        let rs: Vec<(Labels, ConstGauge)> = st
            .virtual_servers
            .iter()
            .flat_map(|v| {
                v.real_servers.iter().map(move |r| {
                    (
                        vec![
                            ("virtual_server", v.name.clone()),
                            ("real_server", format!("[{}]:{}", r.key.addr, r.key.port)),
                        ],
                        ConstGauge::new(i64::from(r.alive)),
                    )
                })
            })
            .collect();
        encode_rows(
            &mut enc,
            "ipvs_real_server_up",
            "1 while the checkers say the real server is alive",
            MetricType::Gauge,
            rs,
        )?;
        Ok(())
    }
}
