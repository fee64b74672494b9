//! The VRRP engine: drives the sans-IO state machines with real sockets,
//! timers, netlink and scripts.
//!
//! One task owns every instance and is the only place decisions are made; it
//! waits on (a) its VRRP sockets (it reads them itself, a batch per system
//! call, with no task or channel in between), (b) the earliest state-machine
//! deadline, (c) link events from netlink and (d) control messages.  Work
//! that can take time never runs in it: address changes and gratuitous
//! ARPs go to a per-instance worker task (so they stay ordered:
//! addresses first, then the ARPs that announce them), scripts run as child
//! processes awaited by their own tasks.  The engine runs on a dedicated
//! thread with its own single-threaded runtime (see `crate::daemon`), so busy
//! checkers or scripts cannot delay an advert.

use super::fsm::{
    self, Action, Event, FaultCause, GroupAction, Instance, ReceivedAdvert, State, SyncGroup,
    Timestamp,
};
use super::packet::{
    self, Advertisement, Checksum, Family, RxAuth, RxMeta, RxParams, UnicastParams, VersionFields,
};
use super::spec::{InstanceSpec, NotifySpec, SyncGroupSpec, VipSpec};
use crate::net::netlink::{AddressSpec, LinkInfo, NetEvent, Netlink};
use crate::net::sockets::{
    Datagram, FrameSocket, ReadyGuard, RecvBuffers, VrrpSocket, RECV_BATCH, VRRP_GROUP_V4,
    VRRP_GROUP_V6,
};
use crate::script::{RunAs, ScriptRunner};
use futures_util::StreamExt;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use thiserror::Error;
use tokio::io::unix::AsyncFd;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

mod reload;

#[derive(Debug, Error)]
pub enum EngineError {
    #[error("{0}")]
    Netlink(#[from] crate::net::netlink::NetlinkError),
    #[error("instance {instance}: interface {interface}: {source}")]
    Socket {
        instance: String,
        interface: String,
        source: std::io::Error,
    },
    #[error("instance {0}: no usable source address on its interface")]
    NoSourceAddress(String),
    #[error("instance {0}: {1}")]
    Params(String, fsm::ParamsError),
    #[error("sync group {0}: {1}")]
    Group(String, fsm::SyncGroupError),
}

/// Requests to a running engine.
#[derive(Debug)]
pub enum Control {
    /// Stop: release mastership (priority-0 adverts), remove addresses, run
    /// notify_stop; answer when done.
    Shutdown(oneshot::Sender<()>),
    /// The weighted trackers of an instance now sum to `weight_sum`.
    TrackerWeight { instance: usize, weight_sum: i32 },
    /// A weight-0 tracker of an instance failed (true) or recovered (false).
    TrackerFault { instance: usize, failed: bool },
    /// Apply a new, already validated configuration in place (SIGHUP): kept
    /// instances keep their state, see [`super::plan`]. Answers with a
    /// one-line summary, or why nothing was changed.
    Reload {
        config: Box<EngineConfig>,
        done: oneshot::Sender<Result<String, String>>,
    },
}

/// Counters and state of one instance, for status, metrics and tests.
#[derive(Clone, Debug, Default, Serialize)]
pub struct InstanceStats {
    pub name: String,
    pub interface: String,
    pub vrid: u8,
    pub state: String,
    pub base_priority: u8,
    pub effective_priority: u8,
    pub master: Option<IpAddr>,
    pub adverts_sent: u64,
    pub adverts_received: u64,
    /// Dropped adverts by reason (`length`, `ttl`, `checksum`, `auth_pass`, ...).
    pub dropped: BTreeMap<String, u64>,
    pub transitions: u64,
    /// "FROM -> TO (Reason)".
    pub last_transition: Option<String>,
    /// When the last transition happened (seconds since the Unix epoch).
    pub last_transition_unix: Option<u64>,
    /// Split-brain episodes: as MASTER we heard another MASTER of our VRID
    /// (lower priority, or equal from a lower address) and stayed MASTER.
    /// One episode lasts while its adverts keep coming (less than three
    /// advert intervals apart).
    pub split_brain: u64,
}

impl InstanceStats {
    fn fresh(spec: &InstanceSpec) -> InstanceStats {
        InstanceStats {
            name: spec.name.clone(),
            interface: spec.interface.clone(),
            vrid: spec.params.vrid,
            state: "INIT".into(),
            base_priority: spec.params.priority,
            effective_priority: spec.params.priority,
            ..Default::default()
        }
    }
}

/// Shared view of the engine for status and metrics.
pub type SharedStats = Arc<Mutex<Vec<InstanceStats>>>;

/// A unit of state machines: a lone instance or a sync group.
enum Unit {
    Single(Instance),
    Group(SyncGroup),
}

impl Unit {
    #[allow(unsafe_code)] // a section name only: see daemon::memory
    #[link_section = "krs_hot"]
    fn next_deadline(&self) -> Option<Timestamp> {
        match self {
            Unit::Single(i) => i.next_deadline(),
            Unit::Group(g) => g.next_deadline(),
        }
    }
}

/// Where an instance lives in the units.
#[derive(Clone, Copy)]
struct Slot {
    unit: usize,
    member: usize,
}

/// Address and ARP work for one instance, done in order off the engine task.
enum AddrOp {
    Add(Vec<AddressSpec>),
    Remove(Vec<AddressSpec>),
    Announce {
        frames: Vec<(u32, Vec<u8>)>,
        count: u32,
    },
    /// `virtual_routes` and `virtual_rules`, after the addresses they may need.
    AddRouting(Arc<Routing>),
    /// Routes and rules removed before the addresses.
    RemoveRouting(Arc<Routing>),
}

/// An instance's `virtual_routes` and `virtual_rules` as netlink messages.
#[derive(Clone, Default)]
struct Routing {
    routes: Vec<netlink_packet_route::route::RouteMessage>,
    rules: Vec<netlink_packet_route::rule::RuleMessage>,
}

impl Routing {
    fn is_empty(&self) -> bool {
        self.routes.is_empty() && self.rules.is_empty()
    }

    /// (in `self` only, in `new` only): what a reload removes and adds.
    fn difference(&self, new: &Routing) -> (Routing, Routing) {
        let gone = Routing {
            routes: self
                .routes
                .iter()
                .filter(|m| !new.routes.contains(m))
                .cloned()
                .collect(),
            rules: self
                .rules
                .iter()
                .filter(|m| !new.rules.contains(m))
                .cloned()
                .collect(),
        };
        let added = Routing {
            routes: new
                .routes
                .iter()
                .filter(|m| !self.routes.contains(m))
                .cloned()
                .collect(),
            rules: new
                .rules
                .iter()
                .filter(|m| !self.rules.contains(m))
                .cloned()
                .collect(),
        };
        (gone, added)
    }
}

struct RtInstance {
    spec: InstanceSpec,
    ifindex: u32,
    mac: [u8; 6],
    src: IpAddr,
    group: IpAddr,
    socket_key: (u32, bool),
    rx: RxParams,
    addresses: Vec<AddressSpec>,
    routing: Arc<Routing>,
    addr_tx: mpsc::UnboundedSender<AddrOp>,
    /// Tracked interfaces: (ifindex, weight, reverse).
    tracked: Vec<(u32, i32, bool)>,
    link_faults: Vec<u32>,
    /// Weight of the tracked interfaces, and of the other trackers (from
    /// `Control::TrackerWeight`): the state machine is given their sum.
    interface_weight: i32,
    tracker_weight: i32,
    /// Last advert from another master while we stayed MASTER (split brain).
    conflict_at: Option<Instant>,
    /// Addresses we are removing to re-add them changed (reload): their
    /// removal events are ours, not a loss.
    expect_removed: Vec<(IpAddr, u32)>,
    /// Valid adverts received and not yet added to the shared counters
    /// (they are added once per batch of packets, under one lock).
    rx_unpublished: u64,
    /// What the shared stats show of this instance's state (state,
    /// effective and base priority, master): they are written only when it
    /// changes.
    published: Option<(State, u8, u8, Option<IpAddr>)>,
}

impl RtInstance {
    /// Addresses, then the routes and rules that may depend on them.
    fn add_addresses(&self) {
        let _ = self.addr_tx.send(AddrOp::Add(self.addresses.clone()));
        if !self.routing.is_empty() {
            let _ = self.addr_tx.send(AddrOp::AddRouting(self.routing.clone()));
        }
    }

    /// Routes and rules first, then the addresses.
    fn remove_addresses(&self) {
        if !self.routing.is_empty() {
            let _ = self
                .addr_tx
                .send(AddrOp::RemoveRouting(self.routing.clone()));
        }
        let _ = self.addr_tx.send(AddrOp::Remove(self.addresses.clone()));
    }
}

/// The engine's whole configuration.
#[derive(Clone, Debug, Default)]
pub struct EngineConfig {
    pub instances: Vec<InstanceSpec>,
    pub groups: Vec<SyncGroupSpec>,
    /// Who notify scripts run as.
    pub script_user: Option<RunAs>,
    /// How long a notify script may run.
    pub notify_timeout: Duration,
    /// `notify_fifo` and `vrrp_notify_fifo`.
    pub fifos: Vec<super::notify_fifo::FifoSpec>,
}

pub struct Engine {
    units: Vec<Unit>,
    slots: Vec<Slot>,
    inst: Vec<RtInstance>,
    groups: Vec<SyncGroupSpec>,
    /// The configuration running now (what the next reload is diffed against).
    config: EngineConfig,
    sockets: HashMap<(u32, bool), Arc<VrrpSocket>>,
    /// The multicast groups each socket joined.
    socket_groups: BTreeMap<(u32, bool), Vec<IpAddr>>,
    nl: Netlink,
    frames: Arc<FrameSocket>,
    /// Prepared reloads (link and address tables read off the engine task).
    reload_tx: mpsc::Sender<reload::Prepared>,
    reload_rx: Option<mpsc::Receiver<reload::Prepared>>,
    epoch: Instant,
    stats: SharedStats,
    scripts: ScriptRunner,
    script_user: Option<RunAs>,
    notify_timeout: Duration,
    fifos: Vec<super::notify_fifo::FifoWriter>,
    workers: Vec<tokio::task::JoinHandle<()>>,
    links: HashMap<u32, bool>,
    /// Running notify scripts: awaited (bounded) at stop so notify_stop runs.
    notifies: tokio::task::JoinSet<()>,
    /// Instances by (socket, VRID): the receive path's lookup.
    by_vrid: HashMap<((u32, bool), u8), Vec<usize>>,
    /// No unit has a deadline earlier than this (None: no unit has one).
    /// A lower bound, kept in O(1) per event: a deadline that moves later
    /// (a backup's Master_Down timer, pushed by every advert) leaves it in
    /// place, and the timer firing at a stale bound costs one turn that
    /// recomputes it over all units.
    due: Option<Timestamp>,
    /// Where instance state changes go (the IPVS sync daemon follows one).
    transitions: Option<mpsc::UnboundedSender<Transition>>,
}

/// An instance changed state (what `lvs_sync_daemon` follows).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transition {
    pub instance: String,
    pub to: State,
}

fn packet_version(v: fsm::VrrpVersion) -> packet::VrrpVersion {
    match v {
        fsm::VrrpVersion::V2 => packet::VrrpVersion::V2,
        fsm::VrrpVersion::V3 => packet::VrrpVersion::V3,
    }
}

fn fsm_version(v: packet::VrrpVersion) -> fsm::VrrpVersion {
    match v {
        packet::VrrpVersion::V2 => fsm::VrrpVersion::V2,
        packet::VrrpVersion::V3 => fsm::VrrpVersion::V3,
    }
}

fn address_spec(vip: &VipSpec, ifindex: u32) -> AddressSpec {
    AddressSpec {
        ifindex,
        addr: vip.addr,
        prefix_len: vip.prefix_len,
        label: vip.label.clone(),
        broadcast: vip.broadcast,
        peer: vip.peer,
        scope: vip.scope,
        flags: vip.flags,
    }
}

/// Where an instance runs on this host, resolved from the link and address tables.
struct Placement {
    link: LinkInfo,
    src: IpAddr,
    group: IpAddr,
    /// Its socket: (ifindex, IPv6).
    key: (u32, bool),
}

fn place(
    spec: &InstanceSpec,
    by_name: &HashMap<&str, &LinkInfo>,
    addrs: &[crate::net::netlink::AddressInfo],
) -> Result<Placement, EngineError> {
    let link = by_name
        .get(spec.interface.as_str())
        .copied()
        .ok_or_else(|| crate::net::netlink::NetlinkError::NoSuchLink(spec.interface.clone()))?;
    let v6 = spec.is_ipv6();
    let src = match spec.src_ip {
        Some(s) => s,
        None => addrs
            .iter()
            .filter(|a| a.ifindex == link.index)
            .map(|a| a.addr)
            .find(|a| match a {
                IpAddr::V4(_) => !v6,
                IpAddr::V6(x) => v6 && (x.segments()[0] & 0xffc0) == 0xfe80,
            })
            .ok_or_else(|| EngineError::NoSourceAddress(spec.name.clone()))?,
    };
    Ok(Placement {
        link: link.clone(),
        src,
        group: mcast_group(spec),
        key: (link.index, v6),
    })
}

fn mcast_group(spec: &InstanceSpec) -> IpAddr {
    spec.mcast_group.unwrap_or(if spec.is_ipv6() {
        IpAddr::V6(VRRP_GROUP_V6)
    } else {
        IpAddr::V4(VRRP_GROUP_V4)
    })
}

/// The sockets the instances need and the multicast groups each joins.
fn socket_groups<'a>(
    placed: impl Iterator<Item = (&'a InstanceSpec, &'a Placement)>,
) -> BTreeMap<(u32, bool), Vec<IpAddr>> {
    let mut out: BTreeMap<(u32, bool), Vec<IpAddr>> = BTreeMap::new();
    for (spec, p) in placed {
        let g = out.entry(p.key).or_default();
        if spec.unicast_peers.is_empty() && !g.contains(&p.group) {
            g.push(p.group);
        }
    }
    for g in out.values_mut() {
        g.sort();
    }
    out
}

fn open_socket(
    spec: &InstanceSpec,
    p: &Placement,
    groups: &[IpAddr],
) -> Result<VrrpSocket, EngineError> {
    let (ifindex, v6) = p.key;
    let link = &p.link;
    let sock = if v6 {
        let gs: Vec<Ipv6Addr> = groups
            .iter()
            .filter_map(|g| match g {
                IpAddr::V6(a) => Some(*a),
                _ => None,
            })
            .collect();
        let IpAddr::V6(s) = p.src else {
            return Err(EngineError::NoSourceAddress(spec.name.clone()));
        };
        VrrpSocket::open_v6(&link.name, ifindex, &gs, s, u32::from(spec.unicast_ttl))
    } else {
        let gs: Vec<Ipv4Addr> = groups
            .iter()
            .filter_map(|g| match g {
                IpAddr::V4(a) => Some(*a),
                _ => None,
            })
            .collect();
        let IpAddr::V4(s) = p.src else {
            return Err(EngineError::NoSourceAddress(spec.name.clone()));
        };
        VrrpSocket::open_v4(&link.name, ifindex, &gs, s, u32::from(spec.unicast_ttl))
    };
    sock.map_err(|e| EngineError::Socket {
        instance: spec.name.clone(),
        interface: link.name.clone(),
        source: e,
    })
}

/// What the packet layer checks received adverts against.
fn rx_params(spec: &InstanceSpec, group: IpAddr, v6: bool) -> RxParams {
    let family = if v6 { Family::Ipv6 } else { Family::Ipv4 };
    let mut rx = RxParams::new(
        packet_version(spec.params.version),
        family,
        spec.params.vrid,
        u16::try_from(spec.params.advert_interval.centiseconds()).unwrap_or(u16::MAX),
        spec.vips.iter().map(|v| v.addr).collect(),
    );
    if let Some(p) = spec.auth_pass {
        rx.auth = RxAuth::Pass(p);
    }
    rx.skip_check_adv_addr = spec.skip_check_adv_addr;
    if !spec.unicast_peers.is_empty() {
        rx.unicast = Some(UnicastParams {
            peers: spec.unicast_peers.clone(),
            check_src: spec.check_unicast_src,
        });
    }
    if let IpAddr::V4(g) = group {
        rx.mcast_group_v4 = g;
    }
    rx
}

/// The kernel address of a VIP (its `dev`, or the instance's interface).
fn vip_address(
    vip: &VipSpec,
    ifindex: u32,
    by_name: &HashMap<&str, &LinkInfo>,
) -> Result<AddressSpec, EngineError> {
    let ifindex = match &vip.dev {
        Some(dev) => by_name
            .get(dev.as_str())
            .map(|l| l.index)
            .ok_or_else(|| crate::net::netlink::NetlinkError::NoSuchLink(dev.clone()))?,
        None => ifindex,
    };
    Ok(address_spec(vip, ifindex))
}

fn vip_addresses(
    spec: &InstanceSpec,
    ifindex: u32,
    by_name: &HashMap<&str, &LinkInfo>,
) -> Result<Vec<AddressSpec>, EngineError> {
    spec.vips
        .iter()
        .chain(&spec.excluded_vips)
        .map(|v| vip_address(v, ifindex, by_name))
        .collect()
}

/// An instance's `virtual_routes` and `virtual_rules` as netlink messages; a
/// route that cannot be built (unknown interface, unsupported option) is
/// logged and left out.
fn routing_of(spec: &InstanceSpec, by_name: &HashMap<&str, &LinkInfo>) -> Routing {
    let resolve = |name: &str| by_name.get(name).map(|l| l.index);
    let mut routing = Routing::default();
    for r in &spec.routes {
        match crate::net::routes::route_message(r, &resolve) {
            Ok(m) => routing.routes.push(m),
            Err(e) => tracing::error!(instance = %spec.name, route = %r.to, error = %e,
                "virtual route ignored"),
        }
    }
    routing.rules = spec
        .rules
        .iter()
        .map(crate::net::routes::rule_message)
        .collect();
    routing
}

fn tracked_links(spec: &InstanceSpec, by_name: &HashMap<&str, &LinkInfo>) -> Vec<(u32, i32, bool)> {
    spec.track_interfaces
        .iter()
        .filter_map(|t| {
            by_name
                .get(t.name.as_str())
                .map(|l| (l.index, t.weight, t.reverse))
        })
        .collect()
}

impl RtInstance {
    /// The run-time side of a new instance, with its address worker.
    fn new(
        spec: InstanceSpec,
        p: Placement,
        addresses: Vec<AddressSpec>,
        routing: Routing,
        tracked: Vec<(u32, i32, bool)>,
        nl: &Netlink,
        frames: &Arc<FrameSocket>,
    ) -> (RtInstance, tokio::task::JoinHandle<()>) {
        let rx = rx_params(&spec, p.group, p.key.1);
        let (addr_tx, addr_rx) = mpsc::unbounded_channel();
        let worker = tokio::spawn(address_worker(
            nl.clone(),
            frames.clone(),
            spec.name.clone(),
            addr_rx,
        ));
        let rt = RtInstance {
            spec,
            ifindex: p.link.index,
            mac: p.link.mac.unwrap_or([0; 6]),
            src: p.src,
            group: p.group,
            socket_key: p.key,
            rx,
            addresses,
            routing: Arc::new(routing),
            addr_tx,
            tracked,
            link_faults: Vec::new(),
            interface_weight: 0,
            tracker_weight: 0,
            conflict_at: None,
            expect_removed: Vec::new(),
            rx_unpublished: 0,
            published: None,
        };
        (rt, worker)
    }
}

impl Engine {
    /// Resolve interfaces and addresses, open sockets, start workers.
    pub async fn start(cfg: EngineConfig, stats: SharedStats) -> Result<Engine, EngineError> {
        let nl = Netlink::connect()?;
        let links = nl.links().await?;
        let addrs = nl.addresses().await?;
        let by_name: HashMap<&str, &LinkInfo> =
            links.iter().map(|l| (l.name.as_str(), l)).collect();
        let frames = Arc::new(FrameSocket::open().map_err(|e| EngineError::Socket {
            instance: "-".into(),
            interface: "packet".into(),
            source: e,
        })?);

        let mut placed = Vec::new();
        for spec in &cfg.instances {
            placed.push(place(spec, &by_name, &addrs)?);
        }
        let groups_by_socket = socket_groups(cfg.instances.iter().zip(&placed));
        let mut sockets: HashMap<(u32, bool), Arc<VrrpSocket>> = HashMap::new();
        for (key, groups) in &groups_by_socket {
            let Some((spec, p)) = cfg
                .instances
                .iter()
                .zip(&placed)
                .find(|(_, p)| p.key == *key)
            else {
                continue;
            };
            sockets.insert(*key, Arc::new(open_socket(spec, p, groups)?));
        }

        let mut inst = Vec::new();
        let mut workers = Vec::new();
        for (spec, p) in cfg.instances.iter().zip(placed) {
            let addresses = vip_addresses(spec, p.link.index, &by_name)?;
            let tracked = tracked_links(spec, &by_name);
            let routing = routing_of(spec, &by_name);
            let (rt, worker) =
                RtInstance::new(spec.clone(), p, addresses, routing, tracked, &nl, &frames);
            workers.push(worker);
            inst.push(rt);
        }

        // Build the state machines, grouping sync-group members.
        let mut units = Vec::new();
        let mut slots: Vec<Option<Slot>> = vec![None; inst.len()];
        let mut machines: Vec<Option<Instance>> = Vec::new();
        for r in &inst {
            let mut params = r.spec.params.clone();
            params.primary_address = r.src;
            machines.push(Some(
                Instance::new(params).map_err(|e| EngineError::Params(r.spec.name.clone(), e))?,
            ));
        }
        for g in &cfg.groups {
            let mut members = Vec::new();
            for (m, &i) in g.members.iter().enumerate() {
                if let Some(machine) = machines.get_mut(i).and_then(Option::take) {
                    members.push(machine);
                    slots[i] = Some(Slot {
                        unit: units.len(),
                        member: m,
                    });
                }
            }
            units.push(Unit::Group(
                SyncGroup::new(members).map_err(|e| EngineError::Group(g.name.clone(), e))?,
            ));
        }
        for (i, m) in machines.into_iter().enumerate() {
            if let Some(machine) = m {
                slots[i] = Some(Slot {
                    unit: units.len(),
                    member: 0,
                });
                units.push(Unit::Single(machine));
            }
        }
        let slots: Vec<Slot> = slots.into_iter().flatten().collect();

        {
            let mut s = stats.lock().unwrap_or_else(|p| p.into_inner());
            *s = inst.iter().map(|r| InstanceStats::fresh(&r.spec)).collect();
        }
        let link_state = links.iter().map(|l| (l.index, l.up)).collect();
        let (reload_tx, reload_rx) = mpsc::channel(4);
        let mut engine = Engine {
            units,
            slots,
            inst,
            groups: cfg.groups.clone(),
            config: cfg.clone(),
            sockets,
            socket_groups: groups_by_socket,
            nl,
            frames,
            reload_tx,
            reload_rx: Some(reload_rx),
            epoch: Instant::now(),
            stats,
            scripts: ScriptRunner::new(16),
            script_user: cfg.script_user,
            notify_timeout: if cfg.notify_timeout.is_zero() {
                Duration::from_secs(10)
            } else {
                cfg.notify_timeout
            },
            fifos: cfg
                .fifos
                .iter()
                .filter_map(|f| match super::notify_fifo::FifoWriter::open(f) {
                    Ok(w) => Some(w),
                    Err(e) => {
                        tracing::error!(fifo = %f.path.display(), error = %e, "cannot open notify FIFO");
                        None
                    }
                })
                .collect(),
            workers,
            links: link_state,
            notifies: tokio::task::JoinSet::new(),
            by_vrid: HashMap::new(),
            due: None,
            transitions: None,
        };
        engine.index_vrids();
        Ok(engine)
    }

    /// Report every instance state change on `tx` (from now on).
    pub fn report_transitions(&mut self, tx: mpsc::UnboundedSender<Transition>) {
        self.transitions = Some(tx);
    }

    /// Rebuild the (socket, VRID) → instances index; call after instances change.
    fn index_vrids(&mut self) {
        self.by_vrid.clear();
        for (i, r) in self.inst.iter().enumerate() {
            self.by_vrid
                .entry((r.socket_key, r.spec.params.vrid))
                .or_default()
                .push(i);
        }
    }

    fn now(&self) -> Timestamp {
        Timestamp::from_duration(self.epoch.elapsed())
    }

    /// When the timer must fire next (see `due`).
    #[allow(unsafe_code)] // a section name only: see daemon::memory
    #[link_section = "krs_hot"]
    fn next_deadline(&self) -> Option<Instant> {
        self.due.map(|t| self.epoch + t.as_duration())
    }

    /// Unit `u` may have a new deadline: lower the bound if it is earlier.
    fn note_deadline(&mut self, u: usize) {
        if let Some(d) = self.units.get(u).and_then(Unit::next_deadline) {
            self.due = Some(self.due.map_or(d, |b| b.min(d)));
        }
    }

    /// The exact earliest deadline, over all units.
    #[allow(unsafe_code)] // a section name only: see daemon::memory
    #[link_section = "krs_hot"]
    fn recompute_due(&mut self) {
        self.due = self.units.iter().filter_map(Unit::next_deadline).min();
    }

    /// The sockets as the run loop polls them (again after a reload).
    fn socket_list(&self) -> Vec<((u32, bool), Arc<VrrpSocket>)> {
        let mut v: Vec<_> = self.sockets.iter().map(|(k, s)| (*k, s.clone())).collect();
        v.sort_by_key(|(k, _)| *k);
        v
    }

    /// Run until a Shutdown control arrives (or the control channel closes).
    pub async fn run(mut self, mut ctl: mpsc::Receiver<Control>) {
        let mut socks = self.socket_list();
        let mut bufs = RecvBuffers::default();
        let mut turn = 0usize;
        let Some(mut reload_rx) = self.reload_rx.take() else {
            return;
        };
        let mut events = match crate::net::netlink::monitor() {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::error!(error = %e, "cannot monitor links; link tracking disabled");
                None
            }
        };

        // Leftover addresses of a previous run: we start in BACKUP, so remove them.
        for r in &self.inst {
            r.remove_addresses();
        }
        // Interfaces already down at start put their instances in FAULT.
        for i in 0..self.inst.len() {
            self.refresh_link_faults(i);
        }
        let now = self.now();
        for u in 0..self.units.len() {
            self.unit_event(u, Event::Startup, now);
        }
        self.recompute_due();
        let timer = DeadlineTimer::new();

        loop {
            let deadline = self.next_deadline();
            turn = turn.wrapping_add(1);
            tokio::select! {
                biased;
                c = ctl.recv() => match c {
                    Some(Control::Shutdown(done)) => {
                        self.shutdown().await;
                        let _ = done.send(());
                        break;
                    }
                    Some(Control::TrackerWeight { instance, weight_sum }) => {
                        if let Some(r) = self.inst.get_mut(instance) {
                            r.tracker_weight = weight_sum;
                            let weight_sum = r.interface_weight.saturating_add(weight_sum);
                            let now = self.now();
                            self.instance_event(instance, Event::TrackerUpdate { weight_sum }, now);
                        }
                    }
                    Some(Control::TrackerFault { instance, failed }) => {
                        let now = self.now();
                        let ev = if failed {
                            Event::FaultSet(FaultCause::TrackerFailed)
                        } else {
                            Event::FaultCleared(FaultCause::TrackerFailed)
                        };
                        self.instance_event(instance, ev, now);
                    }
                    Some(Control::Reload { config, done }) => self.prepare_reload(*config, done),
                    None => {
                        self.shutdown().await;
                        break;
                    }
                },
                _ = timer.sleep_until(deadline) => {
                    // Adverts already queued count first: one that arrived
                    // just before the deadline still resets the timer.
                    for (k, s) in socks.iter() {
                        let guard = std::future::poll_fn(|cx| {
                            std::task::Poll::Ready(match s.poll_readable(cx) {
                                std::task::Poll::Ready(Ok(g)) => Some(g),
                                _ => None,
                            })
                        })
                        .await;
                        if let Some(guard) = guard {
                            self.read_socket(*k, s, guard, &mut bufs, false);
                        }
                    }
                    let now = self.now();
                    tracing::trace!(late_us = deadline.map_or(0, |d| Instant::now().saturating_duration_since(d).as_micros()), "timer fired");
                    for u in 0..self.units.len() {
                        if self.units[u].next_deadline().is_some_and(|d| d <= now) {
                            self.unit_event(u, Event::Timer, now);
                        }
                    }
                    self.recompute_due();
                }
                (k, ready) = readable(&socks, turn) => match ready {
                    Ok(guard) => {
                        let (key, sock) = &socks[k];
                        self.read_socket(*key, sock, guard, &mut bufs, true);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "VRRP socket cannot be polled");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                },
                Some(ev) = next_event(&mut events) => self.on_net_event(ev),
                Some(prepared) = reload_rx.recv() => {
                    self.finish_reload(prepared);
                    self.recompute_due();
                    socks = self.socket_list();
                }
            }
        }
    }

    /// Read one batch of what socket `key` has queued and handle it.
    ///
    /// A master sends the adverts of all its instances in one burst, about
    /// 10 µs apart. Waking up for each would cost a context switch and two
    /// system calls per advert; so after the first packets of a burst
    /// (`may_pause`), the thread sleeps [`BURST_PAUSE`] (never past the next
    /// deadline) and then reads the rest of the burst at once. Each packet
    /// carries its kernel arrival time, and the state machines see that
    /// time: the pause does not move any protocol timer.
    #[allow(unsafe_code)] // a section name only: see daemon::memory
    #[link_section = "krs_hot"]
    fn read_socket(
        &mut self,
        key: (u32, bool),
        sock: &VrrpSocket,
        mut guard: ReadyGuard<'_>,
        bufs: &mut RecvBuffers,
        may_pause: bool,
    ) {
        let res = sock.read_batch(bufs, |pkt| self.on_packet(key, &pkt));
        self.publish_rx();
        match res {
            // More may be queued: read on after the other work of this turn.
            Ok(n) if n == RECV_BATCH => return,
            Ok(n)
                if n > 0
                    && may_pause
                    && !sock.paused.load(std::sync::atomic::Ordering::Relaxed)
                    && sock.stamped() =>
            {
                if let Some(pause) = self.burst_pause() {
                    sock.paused
                        .store(true, std::sync::atomic::Ordering::Relaxed);
                    std::thread::sleep(pause);
                    // The readiness stays: the next turn reads what came.
                    return;
                }
            }
            Ok(_) => {}
            Err(e) if crate::net::sockets::would_block(&e) => {}
            Err(e) => tracing::warn!(error = %e, "VRRP receive failed"),
        }
        // The queue was seen empty (or failed): wait for the next packet
        // (epoll is edge-triggered: one queued after the read raises a new
        // event).
        sock.paused
            .store(false, std::sync::atomic::Ordering::Relaxed);
        guard.clear_ready();
    }

    /// How long to let a burst of adverts arrive: [`BURST_PAUSE`], or less
    /// if a deadline comes first; None if too short to be worth a sleep.
    fn burst_pause(&self) -> Option<Duration> {
        let left = match self.next_deadline() {
            Some(d) => d.saturating_duration_since(Instant::now()),
            None => BURST_PAUSE,
        };
        let pause = BURST_PAUSE.min(left.saturating_sub(Duration::from_micros(50)));
        (pause >= Duration::from_micros(50)).then_some(pause)
    }

    /// Add the adverts received since the last call to the shared counters.
    fn publish_rx(&mut self) {
        if self.inst.iter().all(|r| r.rx_unpublished == 0) {
            return;
        }
        let mut s = self.stats.lock().unwrap_or_else(|p| p.into_inner());
        for (r, x) in self.inst.iter_mut().zip(s.iter_mut()) {
            x.adverts_received += std::mem::take(&mut r.rx_unpublished);
        }
    }

    #[allow(unsafe_code)] // a section name only: see daemon::memory
    #[link_section = "krs_hot"]
    fn on_packet(&mut self, key: (u32, bool), pkt: &Datagram<'_>) {
        let Some(&vrid) = pkt.payload.get(1) else {
            return;
        };
        let meta = RxMeta {
            src: pkt.src,
            dst: pkt.dst,
            ttl_or_hoplimit: Some(pkt.ttl),
            multicast: pkt.multicast(),
        };
        let Some(count) = self.by_vrid.get(&(key, vrid)).map(Vec::len) else {
            // No instance of ours on this interface uses that VRID: count it on
            // the interface's instances (keepalived's log_unknown_vrids case).
            let ours = |r: &RtInstance| r.socket_key == key && pkt.src != r.src;
            for i in 0..self.inst.len() {
                if ours(&self.inst[i]) {
                    self.with_stats(i, |s| *s.dropped.entry("vrid".into()).or_default() += 1);
                }
            }
            return;
        };
        for t in 0..count {
            let Some(&i) = self.by_vrid.get(&(key, vrid)).and_then(|v| v.get(t)) else {
                break;
            };
            // Our own adverts come back only through other paths (loop is off);
            // ignore anything from our source address.
            if pkt.src == self.inst[i].src {
                continue;
            }
            let current_master = self.current_master(i);
            let r = &mut self.inst[i];
            r.rx.current_master = current_master;
            match packet::validate(&meta, pkt.payload, &r.rx) {
                Ok(valid) => {
                    let priority = valid.advert.priority;
                    tracing::trace!(instance = %r.spec.name, peer = %pkt.src, priority, "advert received");
                    r.rx_unpublished += 1;
                    let was_master = self.instance_state(i) == State::Master;
                    let ev = Event::AdvertReceived(ReceivedAdvert {
                        version: fsm_version(valid.advert.version()),
                        priority,
                        source: valid.src,
                        advert_interval_cs: u32::from(valid.advert_int_cs()),
                    });
                    // The time it arrived, not the time it is read (see
                    // `read_socket`).
                    let now = self.now().saturating_sub(pkt.age.min(MAX_PACKET_AGE));
                    self.instance_event(i, ev, now);
                    if was_master && priority != 0 && self.instance_state(i) == State::Master {
                        self.split_brain(i, pkt.src, priority);
                    }
                }
                Err(reason) => {
                    let name = reason.as_str().to_owned();
                    tracing::debug!(instance = %self.inst[i].spec.name, peer = %pkt.src, reason = %name,
                        "advert dropped");
                    self.with_stats(i, |s| *s.dropped.entry(name).or_default() += 1);
                }
            }
        }
    }

    /// As MASTER we heard another MASTER of our VRID and stayed MASTER (its
    /// priority is lower, or equal from a lower address): two masters at once.
    /// A higher-priority advert is not counted: we step down and the
    /// conflict ends by itself. Counted once per episode (adverts less than
    /// three advert intervals apart), logged loudly at its start.
    fn split_brain(&mut self, i: usize, peer: IpAddr, priority: u8) {
        let now = Instant::now();
        let r = &mut self.inst[i];
        let window = r.spec.params.advert_interval.as_duration() * 3;
        let new_episode = r
            .conflict_at
            .is_none_or(|at| now.saturating_duration_since(at) > window);
        r.conflict_at = Some(now);
        if new_episode {
            tracing::warn!(instance = %r.spec.name, %peer, priority,
                "split brain: another MASTER is advertising this VRID; it should step down");
            self.with_stats(i, |s| s.split_brain += 1);
        }
    }

    fn on_net_event(&mut self, ev: NetEvent) {
        match ev {
            NetEvent::Link(l) => {
                let prev = self.links.insert(l.index, l.up);
                if prev == Some(l.up) {
                    return;
                }
                tracing::info!(interface = %l.name, up = l.up, "link state changed");
                for i in 0..self.inst.len() {
                    self.refresh_link_faults(i);
                }
            }
            NetEvent::LinkRemoved(idx) => {
                self.links.insert(idx, false);
                for i in 0..self.inst.len() {
                    self.refresh_link_faults(i);
                }
            }
            NetEvent::AddressRemoved(a) => {
                for i in 0..self.inst.len() {
                    let lost = self.inst[i]
                        .addresses
                        .iter()
                        .any(|s| s.addr == a.addr && s.ifindex == a.ifindex);
                    // Our own removal of a changed address (a reload replacing
                    // it with another prefix or label) is not a loss.
                    let expected = &mut self.inst[i].expect_removed;
                    if let Some(k) = expected
                        .iter()
                        .position(|&(addr, idx)| addr == a.addr && idx == a.ifindex)
                    {
                        expected.swap_remove(k);
                        continue;
                    }
                    if lost && self.instance_state(i) == State::Master {
                        tracing::warn!(instance = %self.inst[i].spec.name, address = %a.addr,
                            "a virtual address was removed behind our back");
                        let now = self.now();
                        self.instance_event(i, Event::AddressLost, now);
                    }
                }
            }
            NetEvent::AddressAdded(_) => {}
        }
    }

    /// Recompute interface faults and tracked-interface weights for instance `i`.
    fn refresh_link_faults(&mut self, i: usize) {
        let r = &self.inst[i];
        let mut down_fault =
            !r.spec.dont_track_primary && !self.links.get(&r.ifindex).copied().unwrap_or(false);
        let effect = super::track::combine(r.tracked.iter().map(|&(idx, w, reverse)| {
            super::track::up_down(self.links.get(&idx).copied().unwrap_or(false), w, reverse)
        }));
        down_fault |= effect.fault;
        let weight = super::track::weight_sum_i32(effect.weight);
        let was_fault = !self.inst[i].link_faults.is_empty();
        if down_fault != was_fault {
            self.inst[i].link_faults = if down_fault { vec![1] } else { Vec::new() };
            let ev = if down_fault {
                Event::FaultSet(FaultCause::InterfaceDown)
            } else {
                Event::FaultCleared(FaultCause::InterfaceDown)
            };
            let now = self.now();
            self.instance_event(i, ev, now);
        }
        if !self.inst[i].tracked.is_empty() {
            self.inst[i].interface_weight = weight;
            let weight_sum = weight.saturating_add(self.inst[i].tracker_weight);
            let now = self.now();
            self.instance_event(i, Event::TrackerUpdate { weight_sum }, now);
        }
    }

    fn current_master(&self, i: usize) -> Option<IpAddr> {
        let s = self.slots[i];
        let inst = match &self.units[s.unit] {
            Unit::Single(x) => x,
            Unit::Group(g) => g.members().get(s.member)?,
        };
        if inst.state() == State::Master {
            None
        } else {
            inst.current_master().map(|p| p.address)
        }
    }

    fn instance_state(&self, i: usize) -> State {
        let s = self.slots[i];
        match &self.units[s.unit] {
            Unit::Single(x) => x.state(),
            Unit::Group(g) => g
                .members()
                .get(s.member)
                .map_or(State::Init, Instance::state),
        }
    }

    fn with_stats(&self, i: usize, f: impl FnOnce(&mut InstanceStats)) {
        let mut s = self.stats.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(x) = s.get_mut(i) {
            f(x);
        }
    }

    /// Feed an event to the unit holding instance `i`.
    #[allow(unsafe_code)] // a section name only: see daemon::memory
    #[link_section = "krs_hot"]
    fn instance_event(&mut self, i: usize, ev: Event, now: Timestamp) {
        let Some(s) = self.slots.get(i).copied() else {
            return;
        };
        match &mut self.units[s.unit] {
            Unit::Single(x) => {
                let actions = x.handle(ev, now);
                self.perform_all(i, actions);
            }
            Unit::Group(g) => match g.handle_member(s.member, ev, now) {
                Ok(actions) => self.perform_group(s.unit, actions),
                Err(e) => tracing::error!(error = %e, "sync group event rejected"),
            },
        }
        self.note_deadline(s.unit);
        self.refresh_stats(i);
    }

    /// Feed a unit-wide event (Startup, Shutdown, Timer).
    #[allow(unsafe_code)] // a section name only: see daemon::memory
    #[link_section = "krs_hot"]
    fn unit_event(&mut self, u: usize, ev: Event, now: Timestamp) {
        self.unit_event_inner(u, ev, now);
        self.note_deadline(u);
    }

    #[allow(unsafe_code)] // a section name only: see daemon::memory
    #[link_section = "krs_hot"]
    fn unit_event_inner(&mut self, u: usize, ev: Event, now: Timestamp) {
        match &mut self.units[u] {
            Unit::Single(x) => {
                let actions = x.handle(ev, now);
                if let Some(i) = self.slots.iter().position(|s| s.unit == u) {
                    self.perform_all(i, actions);
                    self.refresh_stats(i);
                }
            }
            Unit::Group(g) => {
                let actions = g.handle_group(ev, now);
                self.perform_group(u, actions);
                for i in 0..self.slots.len() {
                    if self.slots[i].unit == u {
                        self.refresh_stats(i);
                    }
                }
            }
        }
    }

    fn perform_group(&mut self, u: usize, actions: Vec<GroupAction>) {
        let (adverts, rest): (Vec<GroupAction>, Vec<GroupAction>) =
            actions.into_iter().partition(|a| {
                matches!(
                    a,
                    GroupAction::Member {
                        action: Action::SendAdvert { .. },
                        ..
                    }
                )
            });
        for a in adverts.into_iter().chain(rest) {
            match a {
                GroupAction::Member { member, action } => {
                    if let Some(i) = self
                        .slots
                        .iter()
                        .position(|s| s.unit == u && s.member == member)
                    {
                        self.perform(i, action);
                    }
                }
                GroupAction::Notify { from, to, .. } => {
                    let group_idx = self
                        .slots
                        .iter()
                        .position(|s| s.unit == u)
                        .and_then(|i| self.inst[i].spec.sync_group);
                    if let Some(g) = group_idx.and_then(|g| self.groups.get(g)) {
                        tracing::info!(group = %g.name, from = from.keepalived_name(),
                            to = to.keepalived_name(), "sync group state changed");
                        let notify = g.notify.clone();
                        let name = g.name.clone();
                        self.run_notify(&notify, "GROUP", &name, to, 0);
                    }
                }
            }
        }
    }

    /// Perform a batch of actions: adverts first (they are what the peer and
    /// the wire gap measure), then the rest in order.
    #[allow(unsafe_code)] // a section name only: see daemon::memory
    #[link_section = "krs_hot"]
    fn perform_all(&mut self, i: usize, actions: Vec<Action>) {
        let (adverts, rest): (Vec<Action>, Vec<Action>) = actions
            .into_iter()
            .partition(|a| matches!(a, Action::SendAdvert { .. }));
        for a in adverts.into_iter().chain(rest) {
            self.perform(i, a);
        }
    }

    #[allow(unsafe_code)] // a section name only: see daemon::memory
    #[link_section = "krs_hot"]
    fn perform(&mut self, i: usize, action: Action) {
        match action {
            Action::SendAdvert { priority } => self.send_advert(i, priority),
            Action::AddVips => self.inst[i].add_addresses(),
            Action::RemoveVips => self.inst[i].remove_addresses(),
            Action::SendGratuitous { count } => {
                let r = &self.inst[i];
                let frames = announce_frames(r);
                let _ = r.addr_tx.send(AddrOp::Announce { frames, count });
            }
            Action::Notify {
                from,
                to,
                reason,
                priority,
            } => {
                let name = self.inst[i].spec.name.clone();
                tracing::info!(instance = %name, from = from.keepalived_name(), to = to.keepalived_name(),
                    reason = ?reason, priority, "state transition");
                self.with_stats(i, |s| {
                    s.transitions += 1;
                    s.last_transition = Some(format!(
                        "{} -> {} ({reason:?})",
                        from.keepalived_name(),
                        to.keepalived_name()
                    ));
                    s.last_transition_unix = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .ok()
                        .map(|d| d.as_secs());
                });
                if let Some(tx) = &self.transitions {
                    let _ = tx.send(Transition {
                        instance: name.clone(),
                        to,
                    });
                }
                let notify = self.inst[i].spec.notify.clone();
                self.run_notify(&notify, "INSTANCE", &name, to, priority);
            }
            Action::NotifyMasterRxLowerPriority { source, priority } => {
                let r = &self.inst[i];
                tracing::info!(instance = %r.spec.name, peer = %source, priority,
                    "MASTER received a lower-priority advert");
                if let Some(cmd) = r.spec.notify.master_rx_lower_pri.clone() {
                    self.spawn_script(cmd, Vec::new());
                }
            }
            Action::PriorityChanged { from, to } => {
                tracing::info!(instance = %self.inst[i].spec.name, from, to, "effective priority changed");
            }
            Action::AdvertDiscarded(reason) => {
                tracing::debug!(instance = %self.inst[i].spec.name, ?reason, "advert discarded");
            }
        }
    }

    fn send_advert(&mut self, i: usize, priority: u8) {
        let r = &self.inst[i];
        let version = packet_version(r.spec.params.version);
        let fields = match version {
            packet::VrrpVersion::V2 => {
                let (auth_type, auth_data) = match r.spec.auth_pass {
                    Some(p) => (packet::AuthType::SimplePassword, p),
                    None => (packet::AuthType::None, [0u8; 8]),
                };
                VersionFields::V2 {
                    auth_type,
                    auth_data,
                    advert_int_s: u8::try_from(r.spec.params.advert_interval.centiseconds() / 100)
                        .unwrap_or(u8::MAX),
                }
            }
            packet::VrrpVersion::V3 => VersionFields::V3 {
                max_advert_int_cs: u16::try_from(r.spec.params.advert_interval.centiseconds())
                    .unwrap_or(packet::MAX_V3_ADVERT_INT_CS)
                    .min(packet::MAX_V3_ADVERT_INT_CS),
            },
        };
        let advert = Advertisement {
            vrid: r.spec.params.vrid,
            priority,
            addresses: r.spec.vips.iter().map(|v| v.addr).collect(),
            fields,
        };
        let dests: Vec<IpAddr> = if r.spec.unicast_peers.is_empty() {
            vec![r.group]
        } else {
            r.spec.unicast_peers.iter().map(|p| p.addr).collect()
        };
        let Some(sock) = self.sockets.get(&r.socket_key) else {
            return;
        };
        let mut sent = 0;
        for dst in dests {
            let cs = Checksum::for_send(version, r.src, dst, r.spec.v3_checksum_as_v2);
            match advert.encode(cs) {
                Ok(bytes) => match sock.send_to(&bytes, dst, r.ifindex) {
                    Ok(()) => {
                        tracing::trace!(instance = %r.spec.name, %dst, priority, "advert sent");
                        sent += 1
                    }
                    Err(e) => {
                        tracing::warn!(instance = %r.spec.name, %dst, error = %e, "advert not sent")
                    }
                },
                Err(e) => {
                    tracing::error!(instance = %r.spec.name, error = %e, "advert cannot be encoded")
                }
            }
        }
        self.with_stats(i, |s| s.adverts_sent += sent);
    }

    fn run_notify(&mut self, notify: &NotifySpec, kind: &str, name: &str, to: State, priority: u8) {
        while self.notifies.try_join_next().is_some() {}
        if !self.fifos.is_empty() && to != State::Init {
            let prio = (kind == "INSTANCE").then_some(priority);
            let line = super::notify_fifo::event_line(kind, name, to.keepalived_name(), prio);
            for f in &mut self.fifos {
                f.write_line(&line);
            }
        }
        let specific = match to {
            State::Master => notify.master.clone(),
            State::Backup => notify.backup.clone(),
            State::Fault => notify.fault.clone(),
            State::Stop => notify.stop.clone(),
            State::Init => None,
        };
        let generic = notify.generic.clone();
        let args = vec![
            kind.to_owned(),
            name.to_owned(),
            to.keepalived_name().to_owned(),
            priority.to_string(),
        ];
        let runner = self.scripts.clone();
        let user = self.script_user;
        let timeout = self.notify_timeout;
        if specific.is_none() && generic.is_none() {
            return;
        }
        // keepalived runs the specific script, then `notify` with its four arguments.
        self.notifies.spawn(async move {
            if let Some(cmd) = specific {
                let run = runner.run(&cmd, &[], user, timeout).await;
                tracing::debug!(script = %cmd, outcome = ?run.outcome, "notify script finished");
            }
            if let Some(cmd) = generic {
                let run = runner.run(&cmd, &args, user, timeout).await;
                tracing::debug!(script = %cmd, outcome = ?run.outcome, "notify script finished");
            }
        });
    }

    fn spawn_script(&mut self, cmd: String, args: Vec<String>) {
        while self.notifies.try_join_next().is_some() {}
        let runner = self.scripts.clone();
        let user = self.script_user;
        let timeout = self.notify_timeout;
        self.notifies.spawn(async move {
            let _ = runner.run(&cmd, &args, user, timeout).await;
        });
    }

    /// Show instance `i`'s state in the shared stats, if it changed.
    #[allow(unsafe_code)] // a section name only: see daemon::memory
    #[link_section = "krs_hot"]
    fn refresh_stats(&mut self, i: usize) {
        let Some(s) = self.slots.get(i).copied() else {
            return;
        };
        let inst = match &self.units[s.unit] {
            Unit::Single(x) => Some(x),
            Unit::Group(g) => g.members().get(s.member),
        };
        let Some(inst) = inst else { return };
        let state = inst.state();
        let eff = inst.effective_priority();
        let base = inst.base_priority();
        let master = if state == State::Master {
            Some(self.inst[i].src)
        } else {
            inst.current_master().map(|p| p.address)
        };
        let now = Some((state, eff, base, master));
        if self.inst[i].published == now {
            return;
        }
        self.inst[i].published = now;
        self.with_stats(i, |x| {
            x.state = state.keepalived_name().to_owned();
            x.base_priority = base;
            x.effective_priority = eff;
            x.master = master;
        });
    }

    /// Graceful stop: priority-0 adverts from masters, addresses removed,
    /// notify_stop; waits for the address workers to finish.
    async fn shutdown(&mut self) {
        let now = self.now();
        for u in 0..self.units.len() {
            self.unit_event(u, Event::Shutdown, now);
        }
        for r in &mut self.inst {
            // Closing the channel lets the worker finish its queue and exit.
            let (tx, _) = mpsc::unbounded_channel();
            r.addr_tx = tx;
        }
        for w in self.workers.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(5), w).await;
        }
        // Let notify scripts (notify_stop among them) finish, within a bound.
        let notifies = &mut self.notifies;
        let _ = tokio::time::timeout(self.notify_timeout.min(Duration::from_secs(10)), async {
            while notifies.join_next().await.is_some() {}
        })
        .await;
        for f in self.fifos.drain(..) {
            f.close();
        }
    }
}

fn announce_frames(r: &RtInstance) -> Vec<(u32, Vec<u8>)> {
    frames_for(r.mac, &r.addresses)
}

fn frames_for(mac: [u8; 6], addresses: &[AddressSpec]) -> Vec<(u32, Vec<u8>)> {
    let mut out = Vec::new();
    for a in addresses {
        match a.addr {
            IpAddr::V4(v4) => out.push((
                a.ifindex,
                crate::net::garp::gratuitous_arp(mac, v4).to_vec(),
            )),
            IpAddr::V6(v6) => out.push((
                a.ifindex,
                crate::net::garp::unsolicited_na_frame(mac, v6, false).to_vec(),
            )),
        }
    }
    out
}

async fn address_worker(
    nl: Netlink,
    frames: Arc<FrameSocket>,
    name: String,
    mut rx: mpsc::UnboundedReceiver<AddrOp>,
) {
    while let Some(op) = rx.recv().await {
        match op {
            AddrOp::Add(list) => {
                for a in &list {
                    tracing::debug!(instance = %name, address = %a.addr, "adding virtual address");
                    if let Err(e) = nl.add_address(a).await {
                        tracing::error!(instance = %name, address = %a.addr, error = %e, "cannot add virtual address");
                    }
                }
            }
            AddrOp::Remove(list) => {
                for a in &list {
                    tracing::debug!(instance = %name, address = %a.addr, "removing virtual address");
                    if let Err(e) = nl.del_address(a).await {
                        tracing::error!(instance = %name, address = %a.addr, error = %e, "cannot remove virtual address");
                    }
                }
            }
            AddrOp::AddRouting(routing) => {
                for m in &routing.routes {
                    if let Err(e) = nl.add_route(m.clone()).await {
                        tracing::error!(instance = %name, error = %e, "cannot add virtual route");
                    }
                }
                for m in &routing.rules {
                    if let Err(e) = nl.add_rule(m.clone()).await {
                        tracing::error!(instance = %name, error = %e, "cannot add virtual rule");
                    }
                }
            }
            AddrOp::RemoveRouting(routing) => {
                for m in &routing.rules {
                    if let Err(e) = nl.del_rule(m.clone()).await {
                        tracing::error!(instance = %name, error = %e, "cannot remove virtual rule");
                    }
                }
                for m in &routing.routes {
                    if let Err(e) = nl.del_route(m.clone()).await {
                        tracing::error!(instance = %name, error = %e, "cannot remove virtual route");
                    }
                }
            }
            AddrOp::Announce {
                frames: list,
                count,
            } => {
                for _ in 0..count {
                    for (ifindex, frame) in &list {
                        if let Err(e) = frames.send(*ifindex, frame) {
                            tracing::warn!(instance = %name, error = %e, "gratuitous ARP/NA not sent");
                        }
                    }
                }
            }
        }
    }
}

/// How long the engine lets a burst of adverts arrive before reading the
/// rest of it (see `Engine::read_socket`).
const BURST_PAUSE: Duration = Duration::from_micros(1000);

/// A packet's age beyond this is not believed (the wall clock, which the
/// kernel's stamps use, may have been stepped).
const MAX_PACKET_AGE: Duration = Duration::from_millis(20);

/// A timer with nanosecond resolution for protocol deadlines.
///
/// tokio's timer wheel rounds every sleep up to the next millisecond tick, which
/// alone makes a backup up to 1 ms late for Master_Down_Interval; a timerfd on
/// CLOCK_MONOTONIC (the clock `Instant` uses) fires when the deadline is due.
struct DeadlineTimer {
    fd: Option<AsyncFd<TimerFdHandle>>,
    /// What the timerfd is set to. A later deadline does not re-arm it: the
    /// early expiry costs one idle loop turn, while re-arming on every advert
    /// (each pushes a backup's Master_Down timer) costs a system call each.
    armed: std::cell::Cell<Option<Instant>>,
    base_instant: std::time::Instant,
    base_mono: Duration,
}

struct TimerFdHandle(nix::sys::timerfd::TimerFd);

impl std::os::fd::AsRawFd for TimerFdHandle {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsFd;
        self.0.as_fd().as_raw_fd()
    }
}

impl DeadlineTimer {
    fn new() -> DeadlineTimer {
        use nix::sys::timerfd::{ClockId, TimerFd, TimerFlags};
        let base_instant = std::time::Instant::now();
        let base_mono = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
            .map(Duration::from)
            .unwrap_or_default();
        let fd = TimerFd::new(
            ClockId::CLOCK_MONOTONIC,
            TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
        )
        .ok()
        .and_then(|t| {
            #[allow(unsafe_code)]
            // SAFETY: the TimerFd owns its descriptor, keeps it open until dropped and
            // always reports the same one; the AsyncFd owns the TimerFd.
            let fd = unsafe { AsyncFd::register(TimerFdHandle(t)) };
            fd.ok()
        });
        if fd.is_none() {
            tracing::warn!("no timerfd: protocol timers fall back to millisecond resolution");
        }
        DeadlineTimer {
            fd,
            armed: std::cell::Cell::new(None),
            base_instant,
            base_mono,
        }
    }

    async fn sleep_until(&self, deadline: Option<Instant>) {
        let Some(deadline) = deadline else {
            return std::future::pending().await;
        };
        let Some(fd) = &self.fd else {
            return tokio::time::sleep_until(deadline).await;
        };
        if self.armed.get().is_none_or(|armed| deadline < armed) && !self.arm(fd, deadline) {
            return tokio::time::sleep_until(deadline).await;
        }
        loop {
            let Ok(mut guard) = fd.readable().await else {
                self.armed.set(None);
                return tokio::time::sleep_until(deadline).await;
            };
            match guard.get_inner().0.wait() {
                Ok(()) => {
                    self.armed.set(None);
                    return;
                }
                Err(nix::errno::Errno::EAGAIN) => guard.clear_ready(),
                Err(_) => {
                    self.armed.set(None);
                    return tokio::time::sleep_until(deadline).await;
                }
            }
        }
    }

    /// Set the timerfd to `deadline`; false if the kernel refused.
    #[allow(unsafe_code)] // a section name only: see daemon::memory
    #[link_section = "krs_hot"]
    fn arm(&self, fd: &AsyncFd<TimerFdHandle>, deadline: Instant) -> bool {
        use nix::sys::time::TimeSpec;
        use nix::sys::timerfd::{Expiration, TimerSetTimeFlags};
        let since = deadline
            .into_std()
            .saturating_duration_since(self.base_instant);
        // A zero expiry would disarm the timer; one nanosecond fires at once.
        let abs = (self.base_mono + since).max(Duration::from_nanos(1));
        if fd
            .get_ref()
            .0
            .set(
                Expiration::OneShot(TimeSpec::from_duration(abs)),
                TimerSetTimeFlags::TFD_TIMER_ABSTIME,
            )
            .is_err()
        {
            self.armed.set(None);
            return false;
        }
        self.armed.set(Some(deadline));
        true
    }
}

/// The first of `socks` found readable (starting at `turn`, so that a busy
/// socket does not starve the others), with its readiness.
fn readable(
    socks: &[((u32, bool), Arc<VrrpSocket>)],
    turn: usize,
) -> impl std::future::Future<Output = (usize, std::io::Result<ReadyGuard<'_>>)> {
    std::future::poll_fn(move |cx| {
        let n = socks.len();
        for j in 0..n {
            let k = (turn + j) % n;
            if let std::task::Poll::Ready(r) = socks[k].1.poll_readable(cx) {
                return std::task::Poll::Ready((k, r));
            }
        }
        std::task::Poll::Pending
    })
}

async fn next_event<S>(events: &mut Option<S>) -> Option<NetEvent>
where
    S: futures_util::Stream<Item = NetEvent> + Unpin,
{
    match events {
        Some(s) => s.next().await,
        None => std::future::pending().await,
    }
}
