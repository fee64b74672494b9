//! Keeps the kernel's IPVS table equal to the desired one.
//!
//! The logic is [`diff`]: `(kernel, desired, scope) → ordered Vec<Op>`, pure
//! and minimal (a scheduler or flag change is one SET_SERVICE, a weight
//! change one SET_DEST, nothing equal is touched). [`Syncer`] is the edge: it
//! owns the [`IpvsOps`] client, the configuration ([`LvsSpec`]) and the
//! checker state, and applies the ops, counting each by type.
//!
//! Ownership: the syncer only ever touches services of the configuration
//! (current, or previous during a reload), except under `lvs_flush` at
//! start and `lvs_flush_on_stop` at stop, which flush the whole table.
//! Within its own services it is authoritative: a destination that is not
//! configured is removed.
//!
//! Between kernel reads the syncer keeps what it believes the kernel holds
//! for its services (`believed`), so a checker update or a reload costs only
//! the ops it needs, not a table dump. [`Syncer::reconcile`] re-reads the
//! kernel and repairs out-of-band changes (`ipvsadm -C`, `ipvsadm -d`),
//! counting and logging each repair.

use super::desired::{self, LvsSpec, QuorumChange, Table, TableService, VsState};
use super::types::{
    svc_flags, DestId, Destination, Forward, IpvsError, IpvsOps, Service, ServiceId,
    SyncDaemonState, Timeouts,
};
use crate::check::{RealServerKey, RealServerUpdate, ServiceKey};
use crate::config::model::global::LvsFlushOnStop;
use crate::config::model::lvs::CheckerScript;
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};

/// One IPVS request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    NewService(Service),
    SetService(Service),
    DelService(ServiceId),
    NewDest(ServiceId, Destination),
    SetDest(ServiceId, Destination),
    DelDest(ServiceId, DestId),
    Flush,
}

impl std::fmt::Display for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Op::NewService(s) => write!(f, "add service {} ({})", s.id, s.scheduler),
            Op::SetService(s) => write!(f, "edit service {} ({})", s.id, s.scheduler),
            Op::DelService(id) => write!(f, "remove service {id}"),
            Op::NewDest(id, d) => write!(
                f,
                "add real server [{}]:{} weight {} to {id}",
                d.id.addr, d.id.port, d.weight
            ),
            Op::SetDest(id, d) => write!(
                f,
                "set real server [{}]:{} weight {} in {id}",
                d.id.addr, d.id.port, d.weight
            ),
            Op::DelDest(id, d) => write!(f, "remove real server [{}]:{} from {id}", d.addr, d.port),
            Op::Flush => f.write_str("flush the IPVS table"),
        }
    }
}

/// The kernel reports HASHED on every service it holds; it is not a setting.
const SETTABLE_FLAGS: u32 = !svc_flags::HASHED;

/// The kernel's service differs from the wanted one in something SET_SERVICE
/// changes.
pub fn service_differs(kernel: &Service, want: &Service) -> bool {
    kernel.scheduler != want.scheduler
        || (kernel.flags & SETTABLE_FLAGS) != (want.flags & SETTABLE_FLAGS)
        || kernel.timeout != want.timeout
        || kernel.netmask != want.netmask
        || kernel.pe_name.as_deref().unwrap_or("") != want.pe_name.as_deref().unwrap_or("")
}

/// The kernel's destination differs from the wanted one. The kernel turns
/// the forwarding method of a destination on a local address into Local, and
/// reports tunnel settings only for tunnels: neither is a difference.
pub fn dest_differs(kernel: &Destination, want: &Destination) -> bool {
    let forward_differs = kernel.forward != Forward::Local && kernel.forward != want.forward;
    let tunnel_differs = want.forward == Forward::Tunnel
        && kernel.forward == Forward::Tunnel
        && (kernel.tunnel_type != want.tunnel_type
            || kernel.tunnel_port != want.tunnel_port
            || kernel.tunnel_flags != want.tunnel_flags);
    kernel.weight != want.weight
        || kernel.upper_threshold != want.upper_threshold
        || kernel.lower_threshold != want.lower_threshold
        || forward_differs
        || tunnel_differs
}

/// The ops that turn `kernel` into `desired` for the services in `scope`
/// (services outside it are never touched). Order: services to remove
/// first, then per service (in id order) its creation or edit, removals of
/// destinations, edits, additions.
pub fn diff<'a>(
    kernel: &Table,
    desired: &Table,
    scope: impl IntoIterator<Item = &'a ServiceId>,
) -> Vec<Op> {
    let scope: BTreeSet<&ServiceId> = scope.into_iter().collect();
    let mut ops = Vec::new();
    for id in &scope {
        if kernel.contains_key(*id) && !desired.contains_key(*id) {
            ops.push(Op::DelService(**id));
        }
    }
    for id in &scope {
        let Some(want) = desired.get(*id) else {
            continue;
        };
        match kernel.get(*id) {
            None => {
                ops.push(Op::NewService(want.service.clone()));
                ops.extend(want.dests.values().map(|d| Op::NewDest(**id, d.clone())));
            }
            Some(have) => {
                if service_differs(&have.service, &want.service) {
                    ops.push(Op::SetService(want.service.clone()));
                }
                for did in have.dests.keys() {
                    if !want.dests.contains_key(did) {
                        ops.push(Op::DelDest(**id, *did));
                    }
                }
                for (did, d) in &want.dests {
                    if let Some(k) = have.dests.get(did) {
                        if dest_differs(k, d) {
                            ops.push(Op::SetDest(**id, d.clone()));
                        }
                    }
                }
                for (did, d) in &want.dests {
                    if !have.dests.contains_key(did) {
                        ops.push(Op::NewDest(**id, d.clone()));
                    }
                }
            }
        }
    }
    ops
}

/// Requests sent to the kernel, by type, and what the syncer did with them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct OpCounts {
    pub new_service: u64,
    pub set_service: u64,
    pub del_service: u64,
    pub new_dest: u64,
    pub set_dest: u64,
    pub del_dest: u64,
    pub flush: u64,
    pub sync_daemon: u64,
    pub set_config: u64,
    /// Requests the kernel refused (after the fallbacks).
    pub errors: u64,
    /// Kernel reads (start, reconcile).
    pub kernel_reads: u64,
    /// Ops needed to repair out-of-band changes found by reconcile.
    pub repairs: u64,
}

impl OpCounts {
    /// Table requests sent (services, destinations, flush).
    pub fn table_ops(&self) -> u64 {
        self.new_service
            + self.set_service
            + self.del_service
            + self.new_dest
            + self.set_dest
            + self.del_dest
            + self.flush
    }
}

/// A quorum change to act on (log, quorum_up / quorum_down script).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuorumEvent {
    /// keepalived's description of the virtual server.
    pub virtual_server: String,
    pub up: bool,
    pub live_weight: i64,
    pub quorum: u32,
    pub hysteresis: u32,
    /// The script to run (quorum_up when up, quorum_down when down).
    pub script: Option<CheckerScript>,
}

/// Syncer options from the command line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// `-I/--dont-release-ipvs`: leave the table as it is at stop.
    pub dont_release: bool,
}

/// One real server in the status snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RsStatus {
    pub key: RealServerKey,
    pub alive: bool,
    /// The weight it has while alive (dynamic or configured).
    pub weight: u32,
    pub inhibit_on_failure: bool,
    /// Its weight in the kernel as last programmed (`None`: not in the kernel).
    pub kernel_weight: Option<u32>,
    pub reason: String,
}

/// One virtual server in the status snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VsStatus {
    pub name: String,
    pub key: ServiceKey,
    /// Kernel services it stands for, and how many of them are programmed.
    pub services: usize,
    pub services_in_kernel: usize,
    pub quorum: u32,
    pub hysteresis: u32,
    pub live_weight: i64,
    pub quorum_up: bool,
    pub sorry_server_active: bool,
    pub real_servers: Vec<RsStatus>,
}

/// What the syncer shows: per virtual and real server, and the counters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LvsStatus {
    pub virtual_servers: Vec<VsStatus>,
    pub counts: OpCounts,
    pub sync_daemons: Vec<String>,
    pub last_error: Option<String>,
}

/// Why ops are applied (for logs and the repair count).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Why {
    Start,
    Update,
    Reload,
    Repair,
    Stop,
}

/// The syncer: configuration, checker state, the kernel client.
pub struct Syncer<O: IpvsOps> {
    ops: O,
    spec: LvsSpec,
    state: Vec<VsState>,
    /// What the kernel holds for our services, as far as we know.
    believed: Table,
    counts: OpCounts,
    opts: Options,
    sync_running: Vec<SyncDaemonState>,
    sync_master: bool,
    last_error: Option<String>,
    /// Virtual server index by key (the first of equal keys, as a linear
    /// search would find): a checker verdict finds its virtual server in
    /// constant time, whatever the number of virtual servers.
    by_key: HashMap<ServiceKey, usize>,
    /// Every op since the last full pass (start, reload, repair) succeeded,
    /// so `believed` equals the desired table: a reload then only needs to
    /// look at the virtual servers that changed (see [`Self::reload`]).
    believed_is_desired: bool,
}

fn index_by_key(spec: &LvsSpec) -> HashMap<ServiceKey, usize> {
    let mut m = HashMap::with_capacity(spec.virtual_servers.len());
    for (i, vs) in spec.virtual_servers.iter().enumerate() {
        m.entry(vs.key.clone()).or_insert(i);
    }
    m
}

/// Whether no kernel service belongs to two virtual servers of `spec`
/// (sorted, not hashed: cheaper for the small keys of thousands of
/// services).
fn services_unique(spec: &LvsSpec) -> bool {
    let mut ids: Vec<ServiceId> = spec
        .virtual_servers
        .iter()
        .flat_map(|vs| vs.services.iter().map(|s| s.id))
        .collect();
    ids.sort_unstable();
    ids.windows(2).all(|w| w[0] != w[1])
}

fn quorum_event(spec: &LvsSpec, c: &QuorumChange) -> Option<QuorumEvent> {
    let vs = spec.virtual_servers.get(c.vs)?;
    Some(QuorumEvent {
        virtual_server: vs.name.clone(),
        up: c.up,
        live_weight: c.live_weight,
        quorum: vs.quorum,
        hysteresis: vs.hysteresis,
        script: if c.up {
            vs.quorum_up.clone()
        } else {
            vs.quorum_down.clone()
        },
    })
}

/// The starting states of `spec`, carrying over from `prev` (matched by
/// service key), and the quorum changes that produces.
/// The previous configuration, for [`initial_states`]: its virtual
/// servers, their states, and its key index ([`index_by_key`]).
type Previous<'a> = (&'a LvsSpec, &'a [VsState], &'a HashMap<ServiceKey, usize>);

fn initial_states(spec: &LvsSpec, prev: Option<Previous<'_>>) -> (Vec<VsState>, Vec<QuorumChange>) {
    let mut states = Vec::with_capacity(spec.virtual_servers.len());
    let mut changes = Vec::new();
    for (i, vs) in spec.virtual_servers.iter().enumerate() {
        // The previous virtual server by key (the first of equal keys, as a
        // linear search would find): a reload of thousands stays linear.
        let p = prev.and_then(|(ps, pst, by_key)| {
            by_key
                .get(&vs.key)
                .and_then(|&j| Some((ps.virtual_servers.get(j)?, pst.get(j)?)))
        });
        let (st, change) = VsState::initial(vs, p);
        if let Some(up) = change {
            changes.push(QuorumChange {
                vs: i,
                up,
                live_weight: desired::live_weight(vs, &st),
            });
        }
        states.push(st);
    }
    (states, changes)
}

impl<O: IpvsOps> Syncer<O> {
    /// A syncer for `spec`, nothing applied yet. Returns the quorum events of
    /// the starting state (a virtual server starting without quorum).
    pub fn new(ops: O, spec: LvsSpec, opts: Options) -> (Self, Vec<QuorumEvent>) {
        let (state, changes) = initial_states(&spec, None);
        let events = changes
            .iter()
            .filter_map(|c| quorum_event(&spec, c))
            .collect();
        let by_key = index_by_key(&spec);
        (
            Syncer {
                by_key,
                ops,
                spec,
                state,
                believed: Table::new(),
                counts: OpCounts::default(),
                opts,
                sync_running: Vec::new(),
                sync_master: false,
                last_error: None,
                believed_is_desired: false,
            },
            events,
        )
    }

    pub fn spec(&self) -> &LvsSpec {
        &self.spec
    }

    /// keepalived's description of the virtual server `key` names.
    pub fn vs_name(&self, key: &ServiceKey) -> Option<&str> {
        let i = *self.by_key.get(key)?;
        self.spec.virtual_servers.get(i).map(|vs| vs.name.as_str())
    }

    pub fn counts(&self) -> OpCounts {
        self.counts
    }

    /// The kernel client (tests inspect their fake through it).
    pub fn ops_mut(&mut self) -> &mut O {
        &mut self.ops
    }

    /// The table the kernel should hold now.
    pub fn desired(&self) -> Table {
        desired::table(&self.spec, &self.state)
    }

    /// Program the kernel at start: `lvs_flush` first if configured, else
    /// read the kernel and adopt what already matches (no churn); then the
    /// connection timeouts and the sync daemon.
    pub fn start(&mut self) -> Result<(), IpvsError> {
        let want = self.desired();
        let kernel = if self.spec.flush_at_start {
            self.apply(Op::Flush, Why::Start);
            Table::new()
        } else {
            self.read_kernel(want.keys())?
        };
        self.believed = kernel;
        let ops = diff(&self.believed, &want, want.keys());
        let adopted = want.len()
            - ops
                .iter()
                .filter(|o| matches!(o, Op::NewService(_)))
                .count();
        if adopted > 0 {
            tracing::info!(
                services = adopted,
                "IPVS: adopting services already in the kernel"
            );
        }
        // Every op succeeding leaves the kernel equal to `want` for all of
        // our services: take it whole instead of recording 11,000 ops.
        let errors = self.counts.errors;
        self.apply_all_into(ops, Why::Start, Some(want));
        self.believed_is_desired = self.counts.errors == errors;
        self.apply_timeouts();
        self.sync_daemons(self.sync_master);
        Ok(())
    }

    /// A checker verdict. Applies what changed; returns the quorum change.
    pub fn update(&mut self, u: &RealServerUpdate) -> Vec<QuorumEvent> {
        let Some(&i) = self.by_key.get(&u.key.service) else {
            tracing::debug!(key = %u.key, "IPVS: update for an unknown real server");
            return Vec::new();
        };
        let (Some(vs), Some(st)) = (self.spec.virtual_servers.get(i), self.state.get_mut(i)) else {
            return Vec::new();
        };
        let (changed, quorum) = st.apply(vs, u);
        if !changed {
            return Vec::new();
        }
        let live_weight = desired::live_weight(vs, st);
        let mut events = Vec::new();
        if let Some(up) = quorum {
            let c = QuorumChange {
                vs: i,
                up,
                live_weight,
            };
            events.extend(quorum_event(&self.spec, &c));
        }
        // Only this virtual server's services can change.
        let want = desired::vs_table(vs, st);
        let ops = diff(&self.believed, &want, want.keys());
        self.apply_all(ops, Why::Update);
        events
    }

    /// A new configuration: only what changed is applied. Services of the
    /// old configuration that are gone are removed; checker state and quorum
    /// carry over for matching virtual and real servers.
    pub fn reload(&mut self, spec: LvsSpec) -> Vec<QuorumEvent> {
        let (state, changes) = initial_states(&spec, Some((&self.spec, &self.state, &self.by_key)));
        // Before `by_key` and `spec` change: they describe the old side.
        let scope = if self.believed_is_desired {
            self.changed_services(&spec, &state)
        } else {
            None
        };
        let old_sync = self.spec.sync_daemon.clone();
        let old_timeouts = self.spec.timeouts.clone();
        self.by_key = index_by_key(&spec);
        self.spec = spec;
        self.state = state;
        let events = changes
            .iter()
            .filter_map(|c| quorum_event(&self.spec, c))
            .collect();
        match scope {
            Some(scope) => self.sync_scope(&scope, Why::Reload),
            None => self.sync_believed(Why::Reload),
        }
        if self.spec.timeouts != old_timeouts {
            self.apply_timeouts();
        }
        if self.spec.sync_daemon != old_sync {
            self.stop_sync_daemons();
            self.sync_daemons(self.sync_master);
        }
        events
    }

    /// The kernel services a reload to `spec` in `state` can change: those
    /// of new or changed virtual servers and of the old ones that are gone
    /// or changed. A virtual server whose specification and carried-over
    /// state are both equal stands for the same entries as before, and
    /// those are in the kernel (`believed_is_desired`): a reload that
    /// changes one weight among 1,000 virtual servers looks at one.
    /// `None` (look at everything) when a kernel service belongs to two
    /// virtual servers on either side: the desired table then depends on
    /// their order.
    fn changed_services(&self, spec: &LvsSpec, state: &[VsState]) -> Option<BTreeSet<ServiceId>> {
        if !services_unique(&self.spec) || !services_unique(spec) {
            return None;
        }
        let mut kept = vec![false; self.spec.virtual_servers.len()];
        let mut scope = BTreeSet::new();
        for (vs, st) in spec.virtual_servers.iter().zip(state) {
            let same = self.by_key.get(&vs.key).is_some_and(|&j| {
                self.spec.virtual_servers.get(j) == Some(vs) && self.state.get(j) == Some(st)
            });
            match self.by_key.get(&vs.key) {
                Some(&j) if same => {
                    if let Some(k) = kept.get_mut(j) {
                        *k = true;
                    }
                }
                _ => scope.extend(vs.services.iter().map(|s| s.id)),
            }
        }
        for (vs, kept) in self.spec.virtual_servers.iter().zip(kept) {
            if !kept {
                scope.extend(vs.services.iter().map(|s| s.id));
            }
        }
        Some(scope)
    }

    /// Read the kernel and repair whatever differs from the desired table
    /// for our services. Returns the number of repairs.
    pub fn reconcile(&mut self) -> Result<usize, IpvsError> {
        let want = self.desired();
        let scope: BTreeSet<ServiceId> = want.keys().chain(self.believed.keys()).copied().collect();
        let kernel = self.read_kernel(scope.iter())?;
        self.believed = kernel;
        let ops = diff(&self.believed, &want, scope.iter());
        let n = ops.len();
        for op in &ops {
            tracing::warn!("IPVS: repairing an out-of-band change: {op}");
        }
        self.counts.repairs += n as u64;
        let errors = self.counts.errors;
        self.apply_all(ops, Why::Repair);
        self.believed_is_desired = self.counts.errors == errors;
        Ok(n)
    }

    /// The VRRP instance `lvs_sync_daemon` follows became master (`true`) or
    /// left master: the sync daemon follows.
    pub fn set_sync_master(&mut self, master: bool) {
        if master == self.sync_master {
            return;
        }
        self.sync_master = master;
        if self
            .spec
            .sync_daemon
            .as_ref()
            .is_some_and(|s| s.instance.is_some())
        {
            self.stop_sync_daemons();
            self.sync_daemons(master);
        }
    }

    /// Stop: quorum_down events for omega virtual servers that have quorum;
    /// the table is left alone with `-I`, flushed with `lvs_flush_on_stop`,
    /// else our services are removed (the kernel removes their destinations).
    pub fn stop(&mut self) -> Vec<QuorumEvent> {
        let mut events = Vec::new();
        for (i, (vs, st)) in self
            .spec
            .virtual_servers
            .iter()
            .zip(&self.state)
            .enumerate()
        {
            if vs.omega && st.quorum_up {
                let c = QuorumChange {
                    vs: i,
                    up: false,
                    live_weight: desired::live_weight(vs, st),
                };
                events.extend(quorum_event(&self.spec, &c));
            }
        }
        if self.opts.dont_release {
            tracing::info!("IPVS: leaving the table in place (--dont-release-ipvs)");
        } else if self.spec.flush_on_stop == Some(LvsFlushOnStop::Full) {
            self.apply(Op::Flush, Why::Stop);
        } else {
            let ops = self.believed.keys().copied().map(Op::DelService).collect();
            self.apply_all(ops, Why::Stop);
        }
        self.stop_sync_daemons();
        events
    }

    /// A snapshot for status output and metrics.
    pub fn status(&self) -> LvsStatus {
        let virtual_servers = self
            .spec
            .virtual_servers
            .iter()
            .zip(&self.state)
            .map(|(vs, st)| {
                let first = vs.services.first().and_then(|s| self.believed.get(&s.id));
                let real_servers = vs
                    .real_servers
                    .iter()
                    .zip(&st.rs)
                    .map(|(rs, rst)| RsStatus {
                        key: rs.key.clone(),
                        alive: rst.alive,
                        weight: rst.weight.unwrap_or(rs.dest.weight),
                        inhibit_on_failure: rs.inhibit,
                        kernel_weight: first.and_then(|t| {
                            let d = desired::dest_for_service(&rs.dest, &t.service.id, vs.group);
                            t.dests.get(&d.id).map(|d| d.weight)
                        }),
                        reason: rst.reason.to_string(),
                    })
                    .collect();
                VsStatus {
                    name: vs.name.clone(),
                    key: vs.key.clone(),
                    services: vs.services.len(),
                    services_in_kernel: vs
                        .services
                        .iter()
                        .filter(|s| self.believed.contains_key(&s.id))
                        .count(),
                    quorum: vs.quorum,
                    hysteresis: vs.hysteresis,
                    live_weight: desired::live_weight(vs, st),
                    quorum_up: st.quorum_up,
                    sorry_server_active: st.sorry_active(vs),
                    real_servers,
                }
            })
            .collect();
        LvsStatus {
            virtual_servers,
            counts: self.counts,
            sync_daemons: self
                .sync_running
                .iter()
                .map(|s| format!("{s:?}").to_lowercase())
                .collect(),
            last_error: self.last_error.clone(),
        }
    }

    // ----- edges -----

    /// Diff what we believe the kernel holds with the desired table (over
    /// both, so services of a previous configuration go) and apply.
    fn sync_believed(&mut self, why: Why) {
        let want = self.desired();
        let scope: BTreeSet<ServiceId> = want.keys().chain(self.believed.keys()).copied().collect();
        let ops = diff(&self.believed, &want, scope.iter());
        let errors = self.counts.errors;
        self.apply_all(ops, why);
        self.believed_is_desired = self.counts.errors == errors;
    }

    /// [`Self::sync_believed`] for the services in `scope` only (see
    /// [`Self::changed_services`]): the others are already as desired.
    fn sync_scope(&mut self, scope: &BTreeSet<ServiceId>, why: Why) {
        let mut want = Table::new();
        for (vs, st) in self.spec.virtual_servers.iter().zip(&self.state) {
            if vs.services.iter().any(|s| scope.contains(&s.id)) {
                want.extend(desired::vs_table(vs, st));
            }
        }
        let ops = diff(&self.believed, &want, scope.iter());
        // A failed op clears `believed_is_desired` (see `finish`).
        self.apply_all(ops, why);
    }

    /// The kernel's services in `scope`, with their destinations.
    fn read_kernel<'a>(
        &mut self,
        scope: impl Iterator<Item = &'a ServiceId>,
    ) -> Result<Table, IpvsError> {
        let scope: BTreeSet<&ServiceId> = scope.collect();
        self.counts.kernel_reads += 1;
        let services = match self.ops.services() {
            Ok(s) => s,
            Err(e) => {
                self.last_error = Some(format!("reading the IPVS services: {e}"));
                return Err(e);
            }
        };
        let mut t = Table::new();
        for svc in services {
            if !scope.contains(&svc.id) {
                continue;
            }
            let dests = match self.ops.destinations(&svc.id) {
                Ok(d) => d,
                Err(IpvsError::NotFound) => continue,
                Err(e) => {
                    self.last_error = Some(format!("reading the destinations of {}: {e}", svc.id));
                    return Err(e);
                }
            };
            t.insert(
                svc.id,
                TableService {
                    service: svc,
                    dests: dests.into_iter().map(|d| (d.id, d)).collect(),
                },
            );
        }
        Ok(t)
    }

    /// Apply `ops` in order: sent as one batch (the netlink client pipelines
    /// them), then each result handled as [`Self::apply`] does.
    fn apply_all(&mut self, ops: Vec<Op>, why: Why) {
        self.apply_all_into(ops, why, None);
    }

    /// [`Self::apply_all`]; when every op succeeds at once and `target` is
    /// what the believed table then equals, it becomes the believed table.
    fn apply_all_into(&mut self, ops: Vec<Op>, why: Why, target: Option<Table>) {
        if ops.len() <= 1 {
            for op in ops {
                self.apply(op, why);
            }
            return;
        }
        for op in &ops {
            if why != Why::Repair {
                tracing::debug!("IPVS ({why:?}): {op}");
            }
            self.count(op);
        }
        let results = self.ops.batch(&ops);
        if let Some(t) = target {
            if results.len() == ops.len() && results.iter().all(Result::is_ok) {
                self.believed = t;
                return;
            }
        }
        let mut results = results.into_iter();
        for op in ops {
            let r = results
                .next()
                .unwrap_or_else(|| Err(IpvsError::Transport("no answer in the batch".into())));
            self.finish(op, r);
        }
    }

    fn count(&mut self, op: &Op) {
        let c = &mut self.counts;
        match op {
            Op::NewService(_) => c.new_service += 1,
            Op::SetService(_) => c.set_service += 1,
            Op::DelService(_) => c.del_service += 1,
            Op::NewDest(..) => c.new_dest += 1,
            Op::SetDest(..) => c.set_dest += 1,
            Op::DelDest(..) => c.del_dest += 1,
            Op::Flush => c.flush += 1,
        }
    }

    fn send(&mut self, op: &Op) -> Result<(), IpvsError> {
        self.count(op);
        match op {
            Op::NewService(s) => self.ops.new_service(s),
            Op::SetService(s) => self.ops.set_service(s),
            Op::DelService(id) => self.ops.del_service(id),
            Op::NewDest(id, d) => self.ops.new_destination(id, d),
            Op::SetDest(id, d) => self.ops.set_destination(id, d),
            Op::DelDest(id, d) => self.ops.del_destination(id, d),
            Op::Flush => self.ops.flush(),
        }
    }

    /// Send one op, with the fallbacks that make it idempotent (NEW that
    /// exists → SET, SET that is gone → NEW, DEL that is gone → done), and
    /// record the result in `believed`.
    fn apply(&mut self, op: Op, why: Why) {
        if why != Why::Repair {
            tracing::debug!("IPVS ({why:?}): {op}");
        }
        let result = self.send(&op);
        self.finish(op, result);
    }

    /// The fallbacks for `op`'s `result`, then the bookkeeping.
    fn finish(&mut self, op: Op, mut result: Result<(), IpvsError>) {
        let fallback = match (&op, &result) {
            (Op::NewService(s), Err(IpvsError::Exists)) => Some(Op::SetService(s.clone())),
            (Op::SetService(s), Err(IpvsError::NotFound)) => Some(Op::NewService(s.clone())),
            (Op::NewDest(id, d), Err(IpvsError::Exists)) => Some(Op::SetDest(*id, d.clone())),
            (Op::SetDest(id, d), Err(IpvsError::NotFound)) => Some(Op::NewDest(*id, d.clone())),
            (Op::DelService(_) | Op::DelDest(..), Err(IpvsError::NotFound)) => {
                result = Ok(());
                None
            }
            _ => None,
        };
        if let Some(f) = fallback {
            result = self.send(&f);
        }
        match result {
            Ok(()) => self.record(op),
            Err(e) => {
                self.counts.errors += 1;
                self.believed_is_desired = false;
                let msg = format!("IPVS: cannot {op}: {e}");
                tracing::warn!("{msg}");
                self.last_error = Some(msg);
                // A service that failed to appear has no destinations either.
                if let Op::NewService(s) = &op {
                    self.believed.remove(&s.id);
                }
            }
        }
    }

    fn record(&mut self, op: Op) {
        let b = &mut self.believed;
        match op {
            Op::NewService(s) | Op::SetService(s) => match b.entry(s.id) {
                std::collections::btree_map::Entry::Occupied(mut e) => e.get_mut().service = s,
                std::collections::btree_map::Entry::Vacant(e) => {
                    e.insert(TableService {
                        service: s,
                        dests: Default::default(),
                    });
                }
            },
            Op::DelService(id) => {
                b.remove(&id);
            }
            Op::NewDest(id, d) | Op::SetDest(id, d) => {
                if let Some(e) = b.get_mut(&id) {
                    e.dests.insert(d.id, d);
                }
            }
            Op::DelDest(id, d) => {
                if let Some(e) = b.get_mut(&id) {
                    e.dests.remove(&d);
                }
            }
            Op::Flush => b.clear(),
        }
    }

    fn apply_timeouts(&mut self) {
        let t = &self.spec.timeouts;
        if t.tcp.is_none() && t.tcpfin.is_none() && t.udp.is_none() {
            return;
        }
        let t = Timeouts {
            tcp: t.tcp,
            tcpfin: t.tcpfin,
            udp: t.udp,
        };
        self.counts.set_config += 1;
        if let Err(e) = self.ops.set_timeouts(&t) {
            self.counts.errors += 1;
            let msg = format!("IPVS: cannot set lvs_timeouts: {e}");
            tracing::warn!("{msg}");
            self.last_error = Some(msg);
        }
    }

    fn sync_daemons(&mut self, master: bool) {
        let Some(spec) = self.spec.sync_daemon.clone() else {
            return;
        };
        for d in spec.daemons(master) {
            self.counts.sync_daemon += 1;
            match self.ops.start_sync_daemon(&d) {
                Ok(()) | Err(IpvsError::Exists) => {
                    tracing::info!(
                        interface = %d.ifname,
                        syncid = d.syncid,
                        "IPVS: {:?} sync daemon started",
                        d.state
                    );
                    self.sync_running.push(d.state);
                }
                Err(e) => {
                    self.counts.errors += 1;
                    let msg = format!("IPVS: cannot start the {:?} sync daemon: {e}", d.state);
                    tracing::warn!("{msg}");
                    self.last_error = Some(msg);
                }
            }
        }
    }

    fn stop_sync_daemons(&mut self) {
        for state in std::mem::take(&mut self.sync_running) {
            self.counts.sync_daemon += 1;
            match self.ops.stop_sync_daemon(state) {
                Ok(()) | Err(IpvsError::NotFound) => {}
                Err(e) => {
                    self.counts.errors += 1;
                    tracing::warn!("IPVS: cannot stop the {state:?} sync daemon: {e}");
                }
            }
        }
    }
}

/// A boxed client is a client (the daemon picks the implementation at run
/// time).
impl<T: IpvsOps + ?Sized> IpvsOps for Box<T> {
    fn services(&mut self) -> Result<Vec<Service>, IpvsError> {
        (**self).services()
    }
    fn destinations(&mut self, svc: &ServiceId) -> Result<Vec<Destination>, IpvsError> {
        (**self).destinations(svc)
    }
    fn new_service(&mut self, svc: &Service) -> Result<(), IpvsError> {
        (**self).new_service(svc)
    }
    fn set_service(&mut self, svc: &Service) -> Result<(), IpvsError> {
        (**self).set_service(svc)
    }
    fn del_service(&mut self, svc: &ServiceId) -> Result<(), IpvsError> {
        (**self).del_service(svc)
    }
    fn new_destination(&mut self, svc: &ServiceId, dest: &Destination) -> Result<(), IpvsError> {
        (**self).new_destination(svc, dest)
    }
    fn set_destination(&mut self, svc: &ServiceId, dest: &Destination) -> Result<(), IpvsError> {
        (**self).set_destination(svc, dest)
    }
    fn del_destination(&mut self, svc: &ServiceId, dest: &DestId) -> Result<(), IpvsError> {
        (**self).del_destination(svc, dest)
    }
    fn flush(&mut self) -> Result<(), IpvsError> {
        (**self).flush()
    }
    fn batch(&mut self, ops: &[Op]) -> Vec<Result<(), IpvsError>> {
        (**self).batch(ops)
    }
    fn start_sync_daemon(&mut self, d: &super::types::SyncDaemon) -> Result<(), IpvsError> {
        (**self).start_sync_daemon(d)
    }
    fn stop_sync_daemon(&mut self, state: SyncDaemonState) -> Result<(), IpvsError> {
        (**self).stop_sync_daemon(state)
    }
    fn set_timeouts(&mut self, t: &Timeouts) -> Result<(), IpvsError> {
        (**self).set_timeouts(t)
    }
}

#[cfg(test)]
#[path = "syncer_tests.rs"]
mod tests;
