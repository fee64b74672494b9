//! The real-server checkers: from the `virtual_server` blocks of the
//! configuration, one probe per configured checker, scheduled the way
//! keepalived schedules them, with the verdicts sent to the IPVS syncer.
//!
//! - [`plan`] turns the configuration into [`RealServerPlan`]s (pure apart
//!   from reading TLS files and user names): the dispatcher on the checker
//!   type lives in [`build_probe`];
//! - [`start`] / [`start_plan`] spawn one task per checker on the current
//!   tokio runtime and return the [`CheckerSet`] that stops them and reports
//!   their status.
//!
//! Timing (keepalived.conf(5)): the first probe runs after a random delay of
//! up to `warmup` (default: `delay_loop`; 0 = at once), then `delay_loop`
//! after the end of each probe, or `delay_before_retry` after a failure that
//! is retried. The counting itself is in [`super::health`].
//!
//! Each checker is one tokio task sleeping on tokio's timer (a hierarchical
//! timer wheel): 10,000 checkers are 10,000 small tasks, and no probe ever
//! blocks the runtime.

use super::body_regex::BodyRegex;
use super::connect::{secs, ConnectTarget};
use super::ha_suspend::LocalAddresses;
use super::health::{CheckerTimers, RealServerHealth, Verdict};
use super::http::{default_host, HttpProbe, TlsClients, UrlCheck};
use super::probe::{Probe, ProbeOutcome};
use super::tcp::TcpProbe;
use super::verdict::{RealServerKey, RealServerUpdate, ServiceKey};
use crate::config::model::lvs::{
    Checker, CheckerScript, EffectiveChecker, HttpCheck, RealServer, VirtualServer,
};
use crate::config::model::{Config, GlobalDefs, ScriptUser};
use crate::script::{RunAs, ScriptRunner};
use rand::{Rng, SeedableRng};
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// How long a notify_up/notify_down script may run.
pub const NOTIFY_TIMEOUT: Duration = Duration::from_secs(10);

/// Added to a probe's own timeout to get the scheduler's hard bound on it.
const PROBE_GRACE: Duration = Duration::from_secs(1);

/// A notify_up / notify_down script, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotifyScript {
    pub command: String,
    pub run_as: Option<RunAs>,
}

/// One checker, ready to run.
pub struct CheckerPlan {
    pub probe: Box<dyn Probe>,
    pub alpha: bool,
    pub timers: CheckerTimers,
    /// The first probe runs after a random delay in `0..=warmup`.
    pub warmup: Duration,
    /// The scheduler gives up on a probe after this long (the probe's own
    /// timeouts should end it well before).
    pub hard_timeout: Duration,
    pub log_all_failures: bool,
}

impl CheckerPlan {
    /// A checker with the timing keepalived derives for it.
    pub fn new(probe: Box<dyn Probe>, timing: &EffectiveChecker, hard_timeout: Duration) -> Self {
        CheckerPlan {
            probe,
            alpha: timing.alpha,
            timers: CheckerTimers {
                delay_loop: timing.delay_loop.as_duration(),
                delay_before_retry: timing.delay_before_retry.as_duration(),
                retry: timing.retry,
            },
            warmup: timing.warmup.as_duration(),
            hard_timeout,
            log_all_failures: timing.log_all_failures,
        }
    }
}

/// One real server with its checkers.
pub struct RealServerPlan {
    pub key: RealServerKey,
    pub notify_up: Option<NotifyScript>,
    pub notify_down: Option<NotifyScript>,
    /// The virtual server's `omega`: run notify_down at shutdown.
    pub omega: bool,
    pub checkers: Vec<CheckerPlan>,
    /// `ha_suspend`: the checkers are suspended unless one of these
    /// addresses is local (empty: never suspended).
    pub suspend_unless_local: Vec<std::net::IpAddr>,
}

/// Everything to run, and what could not be set up.
pub struct Plan {
    pub real_servers: Vec<RealServerPlan>,
    /// One message per checker or script that is skipped, for the log.
    pub warnings: Vec<String>,
    /// global_defs `rs_init_notifies`: run the notify scripts for the initial state.
    pub rs_init_notifies: bool,
}

/// What the probe builders share: the TLS client configurations (built on
/// first use) and global settings.
pub struct ProbeContext<'a> {
    pub global: &'a GlobalDefs,
    pub ssl: Option<&'a crate::config::model::lvs::SslContext>,
    /// `track_file` blocks, for FILE_CHECK.
    pub track_files: &'a [crate::config::model::vrrp::TrackFile],
    /// MISC_CHECK scripts, bounded daemon-wide.
    pub scripts: ScriptRunner,
    /// BFD sessions, for BFD_CHECK.
    pub bfd: crate::bfd::Sessions,
    tls: Option<TlsClients>,
}

/// How many MISC_CHECK scripts may run at once (a hung one holds its slot
/// until its misc_timeout).
const MAX_CONCURRENT_MISC: usize = 64;

impl<'a> ProbeContext<'a> {
    pub fn new(cfg: &'a Config) -> Self {
        ProbeContext {
            global: &cfg.global_defs,
            ssl: cfg.ssl.as_ref(),
            track_files: &cfg.track_file,
            scripts: ScriptRunner::new(MAX_CONCURRENT_MISC),
            bfd: crate::bfd::Sessions::default(),
            tls: None,
        }
    }

    fn tls(&mut self) -> &TlsClients {
        let ssl = self.ssl;
        self.tls.get_or_insert_with(|| TlsClients::new(ssl))
    }
}

/// Why a checker is not run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SkipReason {
    /// The checker type has no implementation in this build yet.
    NotImplemented(&'static str),
    /// The configuration cannot be checked (keepalived ignores it too).
    Invalid(String),
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SkipReason::NotImplemented(kind) => {
                write!(f, "{kind}: checker type not implemented yet; skipped")
            }
            SkipReason::Invalid(why) => write!(f, "{why}; checker skipped"),
        }
    }
}

/// The dispatcher: the probe for one configured checker, and the hard
/// bound the scheduler puts on it.
///
/// The other checker types plug in here: each arm calls its module's
/// constructor (`crate::check::misc::MiscProbe::new(...)` and so on) and
/// returns the probe with its hard timeout.
pub fn build_probe(
    ctx: &mut ProbeContext<'_>,
    vs: &VirtualServer,
    rs: &RealServer,
    checker: &Checker,
    timing: &EffectiveChecker,
) -> Result<(Box<dyn Probe>, Duration), SkipReason> {
    if let Some(conn) = checker.connection() {
        if let Some(problem) = conn.problem(rs) {
            return Err(SkipReason::Invalid(problem));
        }
    }
    let connect_timeout = timing
        .connect_timeout
        .unwrap_or(vs.connect_timeout)
        .as_duration();
    match checker {
        Checker::Tcp(c) => {
            let target = ConnectTarget::from_settings(&c.connection(), rs, connect_timeout);
            Ok((
                Box::new(TcpProbe::new(target)),
                connect_timeout + PROBE_GRACE,
            ))
        }
        Checker::Http(h) => http_probe(ctx, vs, rs, h, false, connect_timeout),
        Checker::Ssl(h) => http_probe(ctx, vs, rs, h, true, connect_timeout),
        Checker::Misc(m) => {
            let default_user = resolve_run_as(None, ctx.global).map_err(SkipReason::Invalid)?;
            let probe = super::misc::MiscProbe::new(m, vs, rs, default_user, ctx.scripts.clone())
                .map_err(SkipReason::Invalid)?;
            let hard = probe.max_duration() + PROBE_GRACE;
            Ok((Box::new(probe), hard))
        }
        Checker::Udp(c) => {
            let probe = super::udp::UdpProbe::new(c, rs, timing).map_err(SkipReason::Invalid)?;
            let hard = probe.max_duration() + PROBE_GRACE;
            Ok((Box::new(probe), hard))
        }
        Checker::Dns(c) => {
            let probe = super::dns::DnsProbe::new(c, rs, timing).map_err(SkipReason::Invalid)?;
            let hard = probe.max_duration() + PROBE_GRACE;
            Ok((Box::new(probe), hard))
        }
        Checker::Ping(c) => {
            let probe = super::ping::PingProbe::new(c, rs, timing).map_err(SkipReason::Invalid)?;
            let hard = probe.max_duration() + PROBE_GRACE;
            Ok((Box::new(probe), hard))
        }
        Checker::Smtp(c) => {
            // keepalived checks every `host` of the block; the first here,
            // the others by `extra_smtp_probes`.
            let mut probes = super::smtp::SmtpProbe::for_check(c, vs, rs, timing).into_iter();
            let probe = probes
                .next()
                .ok_or_else(|| SkipReason::Invalid("SMTP_CHECK without a host".into()))?
                .map_err(SkipReason::Invalid)?;
            let hard = probe.max_duration() + PROBE_GRACE;
            Ok((Box::new(probe), hard))
        }
        Checker::File(f) => {
            let weight = vs.effective_real_server(rs).weight;
            let probe = super::file::FileProbe::new(f, ctx.track_files, weight)
                .map_err(SkipReason::Invalid)?;
            Ok((Box::new(probe), PROBE_GRACE))
        }
        Checker::Bfd(b) => {
            let probe = super::bfd::BfdProbe::new(&b.name, ctx.bfd.for_checker(&b.name));
            Ok((
                Box::new(probe),
                super::bfd::BfdProbe::max_duration() + PROBE_GRACE,
            ))
        }
    }
}

/// A probe with its hard time limit, or why the checker is not run.
type BuiltProbe = Result<(Box<dyn Probe>, Duration), SkipReason>;

/// The probes of an SMTP_CHECK's further `host` blocks (keepalived checks
/// each one; the first comes from [`build_probe`]).
fn extra_smtp_probes(
    vs: &VirtualServer,
    rs: &RealServer,
    checker: &Checker,
    timing: &EffectiveChecker,
) -> Vec<BuiltProbe> {
    let Checker::Smtp(c) = checker else {
        return Vec::new();
    };
    super::smtp::SmtpProbe::for_check(c, vs, rs, timing)
        .into_iter()
        .skip(1)
        .map(|p| {
            p.map(|probe| {
                let hard = probe.max_duration() + PROBE_GRACE;
                (Box::new(probe) as Box<dyn Probe>, hard)
            })
            .map_err(SkipReason::Invalid)
        })
        .collect()
}

/// FILE_CHECK has no timers of its own in keepalived (it follows the file
/// with inotify); here the file is read every second.
fn file_check_timing() -> EffectiveChecker {
    EffectiveChecker {
        alpha: false,
        retry: 0,
        delay_before_retry: crate::config::values::Timer::from_secs(1),
        warmup: crate::config::values::Timer::from_secs(0),
        delay_loop: crate::config::values::Timer::from_secs(1),
        connect_timeout: None,
        log_all_failures: false,
    }
}

/// A url's `regex` test, compiled (None: the url has none).
fn url_regex(u: &crate::config::model::lvs::Url) -> Option<Result<BodyRegex, String>> {
    let pattern = u.regex.as_ref()?;
    Some(BodyRegex::new(
        pattern,
        &u.regex_options,
        u.regex_no_match,
        u.regex_min_offset,
        u.regex_max_offset,
    ))
}

fn http_probe(
    ctx: &mut ProbeContext<'_>,
    vs: &VirtualServer,
    rs: &RealServer,
    h: &HttpCheck,
    tls: bool,
    connect_timeout: Duration,
) -> Result<(Box<dyn Probe>, Duration), SkipReason> {
    if h.url.is_empty() {
        return Err(SkipReason::Invalid(
            "HTTP/SSL_GET checker has no urls specified".into(),
        ));
    }
    let target = ConnectTarget::from_settings(&h.connection(), rs, connect_timeout);
    let fallback_host = default_host(&target.addr, tls);
    let urls = h
        .url
        .iter()
        .map(|u| UrlCheck {
            path: u.path.clone(),
            digest: u.digest.as_ref().map(|d| d.to_ascii_lowercase()),
            status_codes: u.status_code.clone(),
            // keepalived's order: url, checker, real server, virtual server.
            host: u
                .virtualhost
                .clone()
                .or_else(|| h.virtualhost.clone())
                .or_else(|| rs.virtualhost.clone())
                .or_else(|| vs.virtualhost.clone())
                .unwrap_or_else(|| fallback_host.clone()),
            regex: url_regex(u),
        })
        .collect::<Vec<_>>();
    let tls_client = tls.then(|| ctx.tls().pick(h.enable_sni));
    // Connect, handshake and exchange are bounded separately, per url.
    let phases = if tls { 3 } else { 2 };
    let urls_len = u32::try_from(urls.len()).unwrap_or(u32::MAX);
    let hard = connect_timeout
        .saturating_mul(phases)
        .saturating_mul(urls_len)
        + PROBE_GRACE;
    Ok((
        Box::new(HttpProbe::new(target, tls_client, h.http_protocol, urls)),
        hard,
    ))
}

/// BFD_CHECK follows its session as soon as it changes: no delay between
/// probes (each probe waits for a change, see [`super::bfd`]), no retry.
fn bfd_check_timing(alpha: bool) -> EffectiveChecker {
    EffectiveChecker {
        alpha,
        retry: 0,
        delay_before_retry: crate::config::values::Timer::from_secs(0),
        warmup: crate::config::values::Timer::from_secs(0),
        delay_loop: crate::config::values::Timer::from_secs(0),
        connect_timeout: None,
        log_all_failures: false,
    }
}

/// The plan for a whole configuration: every kept virtual server's kept real
/// servers, with one probe per checker that can run.
pub fn plan(cfg: &Config) -> Plan {
    plan_with_bfd(cfg, &crate::bfd::Sessions::default())
}

/// [`plan`], with the BFD sessions BFD_CHECK follows.
pub fn plan_with_bfd(cfg: &Config, bfd: &crate::bfd::Sessions) -> Plan {
    let mut ctx = ProbeContext::new(cfg);
    ctx.bfd = bfd.clone();
    let mut real_servers = Vec::new();
    let mut warnings = Vec::new();
    for vs in &cfg.virtual_server {
        if vs.dropped(&cfg.virtual_server_group).is_some() {
            continue;
        }
        let Some(service) = ServiceKey::of(vs) else {
            continue;
        };
        let suspend_unless_local = ha_suspend_addresses(vs, &cfg.virtual_server_group);
        for rs in vs.effective_real_servers() {
            let key = RealServerKey {
                service: service.clone(),
                addr: rs.address,
                port: vs.effective_real_server_port(rs),
            };
            let mut checkers = Vec::new();
            for checker in &rs.checkers {
                let timing = vs
                    .effective_checker(rs, checker)
                    .or_else(|| matches!(checker, Checker::File(_)).then(file_check_timing))
                    .or_else(|| match checker {
                        Checker::Bfd(b) => Some(bfd_check_timing(b.alpha.unwrap_or(false))),
                        _ => None,
                    });
                let Some(mut timing) = timing else {
                    warnings.push(format!(
                        "{key}: {}",
                        SkipReason::NotImplemented(checker.keyword())
                    ));
                    continue;
                };
                timing.log_all_failures |= cfg.global_defs.checker_log_all_failures;
                if let Checker::Http(h) | Checker::Ssl(h) = checker {
                    for u in &h.url {
                        if let Some(Err(e)) = url_regex(u) {
                            warnings.push(format!(
                                "{key}: {} url {}: {e}; the check fails until it is fixed",
                                checker.keyword(),
                                u.path
                            ));
                        }
                    }
                }
                let built = std::iter::once(build_probe(&mut ctx, vs, rs, checker, &timing))
                    .chain(extra_smtp_probes(vs, rs, checker, &timing));
                for b in built {
                    match b {
                        Ok((probe, hard)) => checkers.push(CheckerPlan::new(probe, &timing, hard)),
                        Err(why) => warnings.push(format!("{key}: {} {why}", checker.keyword())),
                    }
                }
            }
            let mut notify = |script: &Option<CheckerScript>, what: &str| {
                let s = script.as_ref().filter(|s| !s.script.is_empty())?;
                match resolve_run_as(s.user.as_ref(), &cfg.global_defs) {
                    Ok(run_as) => Some(NotifyScript {
                        command: s.script.clone(),
                        run_as,
                    }),
                    Err(e) => {
                        warnings.push(format!("{key}: {what} not run: {e}"));
                        None
                    }
                }
            };
            let notify_up = notify(&rs.notify_up, "notify_up");
            let notify_down = notify(&rs.notify_down, "notify_down");
            real_servers.push(RealServerPlan {
                key,
                notify_up,
                notify_down,
                omega: vs.omega,
                checkers,
                suspend_unless_local: suspend_unless_local.clone(),
            });
        }
    }
    Plan {
        real_servers,
        warnings,
        rs_init_notifies: cfg.global_defs.rs_init_notifies,
    }
}

/// The addresses whose presence lets an `ha_suspend` virtual server's
/// checkers run: its address, or for a group its addresses (the first of
/// each range). Empty without ha_suspend (and for fwmark services, for which
/// the configuration clears it).
fn ha_suspend_addresses(
    vs: &VirtualServer,
    groups: &[crate::config::model::lvs::VirtualServerGroup],
) -> Vec<std::net::IpAddr> {
    if !vs.ha_suspend {
        return Vec::new();
    }
    match (vs.address, vs.find_group(groups)) {
        (Some(a), _) => vec![a],
        (None, Some(g)) => g.ranges.iter().map(|r| r.address).collect(),
        (None, None) => Vec::new(),
    }
}

/// The user a notify script runs as: its own, else global_defs `script_user`,
/// else the daemon's (`None`). A named user or group that does not exist is
/// an error: the script is not run rather than run as root.
fn resolve_run_as(own: Option<&ScriptUser>, global: &GlobalDefs) -> Result<Option<RunAs>, String> {
    let Some(u) = own.or(global.script_user.as_ref()) else {
        return Ok(None);
    };
    let user = nix::unistd::User::from_name(&u.user)
        .ok()
        .flatten()
        .ok_or_else(|| format!("unknown user {}", u.user))?;
    let gid = match &u.group {
        Some(g) => nix::unistd::Group::from_name(g)
            .ok()
            .flatten()
            .ok_or_else(|| format!("unknown group {g}"))?
            .gid
            .as_raw(),
        None => user.gid.as_raw(),
    };
    Ok(Some(RunAs {
        uid: user.uid.as_raw(),
        gid,
    }))
}

// ===== running =====

/// Options of [`start_plan`].
#[derive(Clone, Debug, Default)]
pub struct StartOptions {
    /// Seed of the warmup delays (tests); `None`: from the OS.
    pub seed: Option<u64>,
    /// The local addresses for `ha_suspend`; `None`: followed over
    /// rtnetlink when a real server needs them.
    pub local_addresses: Option<LocalAddresses>,
    /// State of the previous checker set (a reload), taken over by the
    /// real servers whose checkers are the same ([`CheckerSet::carry`]).
    pub carried: Carried,
}

/// One real server's checker state, as a reload hands it to the next set.
#[derive(Clone, Debug)]
pub struct CarriedState {
    health: RealServerHealth,
    checkers: Vec<CheckerStatus>,
}

/// Checker state by real server (see [`StartOptions::carried`]).
pub type Carried = std::sync::Arc<std::collections::HashMap<RealServerKey, CarriedState>>;

/// The status of one checker, for the `status` command.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CheckerStatus {
    pub description: String,
    pub up: bool,
    /// `None` before the first probe; else `up` or the failure reason.
    pub last_result: Option<String>,
    pub last_latency: Option<Duration>,
    /// Failed probes being retried right now.
    pub retries_used: u32,
    pub probes: u64,
    pub failures: u64,
    /// Suspended by `ha_suspend` (the virtual server's address is not local).
    pub suspended: bool,
}

/// The status of one real server, for the `status` command.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RealServerStatus {
    pub key: RealServerKey,
    pub alive: bool,
    pub weight: Option<u32>,
    pub checkers: Vec<CheckerStatus>,
}

/// How late probes started against their schedule (ms buckets up to 1 s).
pub struct Lateness {
    buckets: Vec<AtomicU64>,
    max_micros: AtomicU64,
}

/// A summary of [`Lateness`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct LatenessSummary {
    pub probes: u64,
    /// Upper bounds: the 1 ms bucket the percentile falls in.
    pub p50_ms: u64,
    pub p99_ms: u64,
    pub max_micros: u64,
}

const LATENESS_BUCKETS: usize = 1001;

impl Lateness {
    fn new() -> Self {
        Lateness {
            buckets: (0..=LATENESS_BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            max_micros: AtomicU64::new(0),
        }
    }

    fn record(&self, late: Duration) {
        let ms = usize::try_from(late.as_millis()).unwrap_or(usize::MAX);
        let i = ms.min(LATENESS_BUCKETS);
        if let Some(b) = self.buckets.get(i) {
            b.fetch_add(1, Ordering::Relaxed);
        }
        let us = u64::try_from(late.as_micros()).unwrap_or(u64::MAX);
        self.max_micros.fetch_max(us, Ordering::Relaxed);
    }

    fn reset(&self) {
        for b in &self.buckets {
            b.store(0, Ordering::Relaxed);
        }
        self.max_micros.store(0, Ordering::Relaxed);
    }

    fn summary(&self) -> LatenessSummary {
        let counts: Vec<u64> = self
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        let percentile = |p: f64| {
            let want = ((total as f64) * p).ceil() as u64;
            let mut seen = 0;
            for (i, c) in counts.iter().enumerate() {
                seen += c;
                if seen >= want.max(1) {
                    return i as u64 + 1;
                }
            }
            0
        };
        LatenessSummary {
            probes: total,
            p50_ms: if total == 0 { 0 } else { percentile(0.50) },
            p99_ms: if total == 0 { 0 } else { percentile(0.99) },
            max_micros: self.max_micros.load(Ordering::Relaxed),
        }
    }
}

struct RealServerState {
    health: RealServerHealth,
    checkers: Vec<CheckerStatus>,
}

/// One real server as the tasks share it.
struct RealServerShared {
    key: RealServerKey,
    notify_up: Option<NotifyScript>,
    notify_down: Option<NotifyScript>,
    omega: bool,
    state: Mutex<RealServerState>,
    tx: UnboundedSender<RealServerUpdate>,
    runner: ScriptRunner,
}

impl RealServerShared {
    fn lock(&self) -> MutexGuard<'_, RealServerState> {
        // A panic elsewhere must not stop the checks: the state is plain data.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Record one probe; returns the delay before the next one.
    fn record(
        &self,
        index: usize,
        outcome: ProbeOutcome,
        latency: Duration,
        timers: &CheckerTimers,
        log_all_failures: bool,
    ) -> Duration {
        let mut guard = self.lock();
        let state = &mut *guard;
        let was_alive = state.health.verdict().alive;
        let step = state.health.on_outcome(index, &outcome);
        let up_now = state.health.checker(index).is_some_and(|c| c.is_up());
        let retries_used = state.health.checker(index).map_or(0, |c| c.retries_used());
        let Some(status) = state.checkers.get_mut(index) else {
            return timers.delay_loop;
        };
        status.probes += 1;
        status.up = up_now;
        status.retries_used = retries_used;
        status.last_latency = Some(latency);
        let reason: std::borrow::Cow<'_, str> = match &outcome {
            ProbeOutcome::Up => "up".into(),
            ProbeOutcome::UpWithWeight(w) => format!("up, weight {w}").into(),
            ProbeOutcome::Down(why) => {
                status.failures += 1;
                why.as_str().into()
            }
        };
        // The same result as last time (the common case) allocates nothing.
        if status.last_result.as_deref() != Some(&*reason) {
            status.last_result = Some(reason.clone().into_owned());
        }
        let description = &status.description;
        match step.checker.changed {
            Some(true) => tracing::info!("{description} of {}: up", self.key),
            Some(false) => tracing::warn!("{description} of {}: down ({reason})", self.key),
            None if step.checker.retrying && log_all_failures => {
                tracing::info!(
                    "{description} of {}: failed ({reason}), retry {retries_used}/{}",
                    self.key,
                    timers.retry
                );
            }
            None => {}
        }
        if let Some(verdict) = step.verdict_changed {
            let became = if verdict.alive { "up" } else { "down" };
            let reason = format!("{description}: {reason}");
            self.emit(&verdict, reason);
            if verdict.alive != was_alive {
                tracing::info!("real server {} is {became}", self.key);
                self.notify(verdict.alive);
            }
        }
        drop(guard);
        timers.delay(step.checker.next)
    }

    /// Send an update; the caller holds the state lock, so updates of one
    /// real server leave in order.
    fn emit(&self, verdict: &Verdict, reason: String) {
        // The receiver gone means the daemon is stopping: nothing to tell.
        let _ = self.tx.send(RealServerUpdate {
            key: self.key.clone(),
            alive: verdict.alive,
            weight: verdict.weight,
            reason,
        });
    }

    fn notify(&self, alive: bool) {
        let script = if alive {
            &self.notify_up
        } else {
            &self.notify_down
        };
        if let Some(s) = script.clone() {
            let runner = self.runner.clone();
            let key = self.key.to_string();
            tokio::spawn(async move {
                let run = runner.run(&s.command, &[], s.run_as, NOTIFY_TIMEOUT).await;
                if !run.outcome.success() {
                    tracing::warn!("notify script of {key} ({}): {:?}", s.command, run.outcome);
                }
            });
        }
    }

    /// A checker enters or leaves `ha_suspend`'s suspension (shown in status).
    fn set_suspended(&self, index: usize, suspended: bool) {
        let mut state = self.lock();
        if let Some(status) = state.checkers.get_mut(index) {
            status.suspended = suspended;
        }
    }

    fn status(&self) -> RealServerStatus {
        let state = self.lock();
        let verdict = state.health.verdict();
        RealServerStatus {
            key: self.key.clone(),
            alive: verdict.alive,
            weight: verdict.weight,
            checkers: state.checkers.clone(),
        }
    }
}

/// The running checkers. Dropping it stops them.
pub struct CheckerSet {
    tasks: Vec<JoinHandle<()>>,
    servers: Vec<Arc<RealServerShared>>,
    lateness: Arc<Lateness>,
}

impl CheckerSet {
    /// A status snapshot per real server, in configuration order.
    pub fn status(&self) -> Vec<RealServerStatus> {
        self.servers.iter().map(|s| s.status()).collect()
    }

    /// How late probes have started so far.
    pub fn lateness(&self) -> LatenessSummary {
        self.lateness.summary()
    }

    /// Start counting lateness afresh (e.g. once the warmup is over).
    pub fn reset_lateness(&self) {
        self.lateness.reset();
    }

    /// Each real server's state, for the set that replaces this one on a
    /// reload: a real server whose checkers are unchanged keeps its verdict
    /// (keepalived does the same), so a reload does not re-add a dead real
    /// server until its next failed check, nor drop a live one with alpha.
    pub fn carry(&self) -> Carried {
        let mut m = std::collections::HashMap::with_capacity(self.servers.len());
        for s in &self.servers {
            let st = s.lock();
            m.insert(
                s.key.clone(),
                CarriedState {
                    health: st.health.clone(),
                    checkers: st.checkers.clone(),
                },
            );
        }
        std::sync::Arc::new(m)
    }

    /// Number of running checkers.
    pub fn checkers(&self) -> usize {
        self.tasks.len()
    }

    /// Stop every checker at once (a probe in flight is dropped, closing its socket).
    pub fn stop(&mut self) {
        for t in self.tasks.drain(..) {
            t.abort();
        }
    }

    /// Stop, then for virtual servers with `omega` run notify_down of the
    /// real servers still alive, and wait for those scripts.
    pub async fn shutdown(mut self) {
        self.stop();
        let mut runs = Vec::new();
        for s in &self.servers {
            if !s.omega || !s.lock().health.verdict().alive {
                continue;
            }
            if let Some(n) = s.notify_down.clone() {
                let runner = s.runner.clone();
                runs.push(
                    async move { runner.run(&n.command, &[], n.run_as, NOTIFY_TIMEOUT).await },
                );
            }
        }
        futures_util::future::join_all(runs).await;
    }
}

impl Drop for CheckerSet {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Build the plan for `cfg`, log what is skipped, and start it. Must be
/// called within a tokio runtime.
pub fn start(
    cfg: &Config,
    runner: ScriptRunner,
    tx: UnboundedSender<RealServerUpdate>,
) -> CheckerSet {
    let plan = plan(cfg);
    for w in &plan.warnings {
        tracing::warn!("{w}");
    }
    start_plan(plan, runner, tx, StartOptions::default())
}

/// Start a plan: send each real server's initial verdict (alpha applied),
/// then run every checker. Must be called within a tokio runtime.
pub fn start_plan(
    plan: Plan,
    runner: ScriptRunner,
    tx: UnboundedSender<RealServerUpdate>,
    opts: StartOptions,
) -> CheckerSet {
    let mut rng = match opts.seed {
        Some(s) => rand::rngs::StdRng::seed_from_u64(s),
        None => rand::rngs::StdRng::from_os_rng(),
    };
    let lateness = Arc::new(Lateness::new());
    let mut tasks = Vec::new();
    let mut servers = Vec::new();
    let now = Instant::now();
    let interest: std::collections::HashSet<std::net::IpAddr> = plan
        .real_servers
        .iter()
        .flat_map(|rs| rs.suspend_unless_local.iter().copied())
        .collect();
    let local = match opts.local_addresses {
        _ if interest.is_empty() => None,
        Some(l) => Some(l),
        None => Some(LocalAddresses::watch(interest)),
    };
    for rs in plan.real_servers {
        let fresh: Vec<CheckerStatus> = rs
            .checkers
            .iter()
            .map(|c| CheckerStatus {
                description: c.probe.describe(),
                up: !c.alpha,
                last_result: None,
                last_latency: None,
                retries_used: 0,
                probes: 0,
                failures: 0,
                suspended: false,
            })
            .collect();
        // The same checkers (by description, in order) as before a reload:
        // their state goes on.
        let carried = opts.carried.get(&rs.key).filter(|c| {
            c.checkers.len() == fresh.len()
                && c.checkers
                    .iter()
                    .zip(&fresh)
                    .all(|(a, b)| a.description == b.description)
        });
        let (health, statuses, initial) = match carried {
            Some(c) => (c.health.clone(), c.checkers.clone(), "kept across reload"),
            None => (
                RealServerHealth::new(rs.checkers.iter().map(|c| (c.alpha, c.timers.retry))),
                fresh,
                "initial state",
            ),
        };
        let verdict = health.verdict();
        let shared = Arc::new(RealServerShared {
            key: rs.key,
            notify_up: rs.notify_up,
            notify_down: rs.notify_down,
            omega: rs.omega,
            state: Mutex::new(RealServerState {
                health,
                checkers: statuses,
            }),
            tx: tx.clone(),
            runner: runner.clone(),
        });
        shared.emit(&verdict, initial.into());
        if plan.rs_init_notifies && carried.is_none() {
            shared.notify(verdict.alive);
        }
        let suspend = match &local {
            Some(l) if !rs.suspend_unless_local.is_empty() => Some(Suspend {
                addrs: rs.suspend_unless_local.into(),
                local: l.clone(),
            }),
            _ => None,
        };
        for (index, checker) in rs.checkers.into_iter().enumerate() {
            let warmup_us = u64::try_from(checker.warmup.as_micros()).unwrap_or(u64::MAX);
            let first = now + Duration::from_micros(rng.random_range(0..=warmup_us));
            tasks.push(tokio::spawn(run_checker(
                shared.clone(),
                index,
                checker,
                first,
                lateness.clone(),
                suspend.clone(),
            )));
        }
        servers.push(shared);
    }
    CheckerSet {
        tasks,
        servers,
        lateness,
    }
}

/// `ha_suspend` of one real server's checkers.
#[derive(Clone)]
struct Suspend {
    addrs: Arc<[std::net::IpAddr]>,
    local: LocalAddresses,
}

impl Suspend {
    fn active(&self) -> bool {
        !self.addrs.iter().any(|a| self.local.is_local(a))
    }
}

/// One checker's loop: sleep until the deadline, probe (bounded), count,
/// and schedule the next probe from the end of this one, as keepalived does.
/// While suspended (`ha_suspend`), the slots come and go without a probe.
async fn run_checker(
    rs: Arc<RealServerShared>,
    index: usize,
    checker: CheckerPlan,
    first: Instant,
    lateness: Arc<Lateness>,
    suspend: Option<Suspend>,
) {
    let mut deadline = first;
    let mut suspended = false;
    loop {
        tokio::time::sleep_until(deadline).await;
        if let Some(s) = &suspend {
            let now = s.active();
            if now != suspended {
                suspended = now;
                rs.set_suspended(index, now);
            }
            if now {
                deadline = Instant::now() + checker.timers.delay_loop;
                continue;
            }
        }
        let started = Instant::now();
        lateness.record(started.saturating_duration_since(deadline));
        let outcome = match tokio::time::timeout(checker.hard_timeout, checker.probe.probe()).await
        {
            Ok(o) => o,
            Err(_) => {
                ProbeOutcome::Down(format!("no result within {}", secs(checker.hard_timeout)))
            }
        };
        let latency = started.elapsed();
        let delay = rs.record(
            index,
            outcome,
            latency,
            &checker.timers,
            checker.log_all_failures,
        );
        deadline = Instant::now() + delay;
    }
}

#[cfg(test)]
mod tests;
