//! The desired IPVS table: configuration × checker state → services and
//! destinations. Pure: no I/O, no clock.
//!
//! - [`build`] reads the configuration once (per load or reload) into
//!   [`LvsSpec`]: every kernel service a virtual server stands for (a
//!   `virtual_server_group` expands to one service per address of its ranges
//!   and per fwmark entry), every real server's kernel destination with its
//!   configured weight, the sorry server, the quorum settings;
//! - [`VsState`] is what the checkers told us (alive, dynamic weight) plus the
//!   quorum state, with keepalived's hysteresis ([`quorum_next`]);
//! - [`table`] turns both into the [`Table`] the kernel should hold.
//!
//! keepalived's rules, as this module applies them:
//! - a live real server is in the kernel with its weight (a checker's dynamic
//!   weight wins over the configured one); a dead one is removed, or kept at
//!   weight 0 with `inhibit_on_failure`;
//! - quorum: the sum of the live weights. Quorum is lost when the sum falls
//!   below `quorum - hysteresis` (or to 0) and regained when it reaches
//!   `quorum + hysteresis`. A virtual server starts without quorum: at
//!   start it gains it (quorum_up runs) or, with a sorry server, reports the
//!   loss (quorum_down runs);
//! - while quorum is lost and a sorry server is configured, the sorry server
//!   (weight 1) replaces the real servers: they are removed (kept at weight 0
//!   with `inhibit_on_failure`). With `sorry_server_inhibit` the sorry server
//!   stays in the kernel at weight 0 while it is not in use. Without a sorry
//!   server, losing quorum only runs quorum_down;
//! - a real server without checkers is always alive; one with checkers starts
//!   alive unless `alpha` (then it waits for the checkers' first verdict).

use super::types::{
    self, svc_flags, DestId, Destination, Forward, Service, ServiceId, SyncDaemon, SyncDaemonState,
    TunnelType, AF_INET, AF_INET6,
};
use crate::check::{RealServerKey, RealServerUpdate, ServiceKey};
use crate::config::model::global::{LvsFlushOnStop, LvsSyncDaemon, LvsTimeouts};
use crate::config::model::lvs::{
    CheckerScript, ForwardingMethod, LvsMethod, PersistenceGranularity, RealServer, ServiceFamily,
    ServiceProtocol, TunnelChecksum, VirtualServer, VirtualServerGroup,
};
use crate::config::model::Config;
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// The most addresses one virtual_server_group range expands to (a /16 or
/// an IPv6 `IP-LAST` range); larger ranges are cut there with a warning.
pub const MAX_RANGE_ADDRESSES: u128 = 1 << 16;

/// The weight keepalived gives a sorry server.
pub const SORRY_SERVER_WEIGHT: u32 = 1;

/// One real server as the syncer needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RsSpec {
    /// The key checker updates carry (port: the port the kernel gets).
    pub key: RealServerKey,
    /// The port as written (0: none), also accepted in checker updates.
    pub written_port: u16,
    /// The destination with the configured weight.
    pub dest: Destination,
    pub inhibit: bool,
    pub has_checkers: bool,
    pub alpha: bool,
}

impl RsSpec {
    /// keepalived's starting state: alive unless checked with alpha.
    pub fn initially_alive(&self) -> bool {
        !self.has_checkers || !self.alpha
    }

    fn matches(&self, key: &RealServerKey) -> bool {
        self.key.service == key.service
            && self.key.addr == key.addr
            && (self.key.port == key.port || self.written_port == key.port)
    }
}

/// `sorry_server` with `sorry_server_inhibit`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SorrySpec {
    pub dest: Destination,
    pub inhibit: bool,
}

/// One virtual server: the kernel services it stands for and its pool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VsSpec {
    pub key: ServiceKey,
    /// keepalived's description (`[10.0.0.1]:tcp:80`, `FWM 1`, `[group]:0`).
    pub name: String,
    /// A `virtual_server group`: destination ports follow each entry
    /// ([`dest_for_service`]).
    pub group: bool,
    pub services: Vec<Service>,
    pub real_servers: Vec<RsSpec>,
    pub sorry: Option<SorrySpec>,
    /// Effective quorum and hysteresis (clamped as keepalived clamps them).
    pub quorum: u32,
    pub hysteresis: u32,
    pub quorum_up: Option<CheckerScript>,
    pub quorum_down: Option<CheckerScript>,
    pub omega: bool,
}

/// Everything the syncer takes from one configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LvsSpec {
    pub virtual_servers: Vec<VsSpec>,
    /// `lvs_flush`: flush the whole table at start.
    pub flush_at_start: bool,
    pub flush_on_stop: Option<LvsFlushOnStop>,
    /// `lvs_sync_daemon` with its sync id resolved.
    pub sync_daemon: Option<SyncDaemonSpec>,
    pub timeouts: LvsTimeouts,
    /// Things dropped while building (overlapping services, cut ranges).
    pub warnings: Vec<String>,
}

/// `lvs_sync_daemon`: the daemon settings and the VRRP instance whose state
/// chooses master or backup (`None`: both run).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncDaemonSpec {
    pub instance: Option<String>,
    /// The settings, `state` aside.
    pub daemon: SyncDaemon,
}

impl SyncDaemonSpec {
    fn of(cfg: &Config, d: &LvsSyncDaemon) -> Self {
        // Default sync id: the instance's virtual_router_id, else 0.
        let vrid = d.inst.as_ref().and_then(|name| {
            cfg.vrrp_instance
                .iter()
                .find(|vi| &vi.name == name)
                .and_then(|vi| vi.virtual_router_id)
        });
        SyncDaemonSpec {
            instance: d.inst.clone(),
            daemon: SyncDaemon {
                state: SyncDaemonState::Backup,
                ifname: d.interface.clone(),
                syncid: d.id.or(vrid).unwrap_or(0),
                maxlen: d.maxlen,
                port: d.port,
                ttl: d.ttl,
                group: d.group,
            },
        }
    }

    /// The daemons to run when the followed instance is master (`true`) or
    /// not; without an instance both run.
    pub fn daemons(&self, master: bool) -> Vec<SyncDaemon> {
        let with = |state| SyncDaemon {
            state,
            ..self.daemon.clone()
        };
        match (&self.instance, master) {
            (None, _) => vec![with(SyncDaemonState::Master), with(SyncDaemonState::Backup)],
            (Some(_), true) => vec![with(SyncDaemonState::Master)],
            (Some(_), false) => vec![with(SyncDaemonState::Backup)],
        }
    }
}

fn proto_num(p: Option<ServiceProtocol>) -> u16 {
    match p {
        Some(ServiceProtocol::Tcp) => types::PROTO_TCP,
        Some(ServiceProtocol::Sctp) => types::PROTO_SCTP,
        // The kernel reads protocol 0 as UDP; the model already says so.
        Some(ServiceProtocol::Udp) | None => types::PROTO_UDP,
    }
}

fn family_num(f: ServiceFamily) -> u16 {
    match f {
        ServiceFamily::Inet => AF_INET,
        ServiceFamily::Inet6 => AF_INET6,
    }
}

/// The kernel's view of a forwarding method (tunnel type, port, checksum
/// flags only for TUN).
fn destination(
    addr: IpAddr,
    port: u16,
    method: LvsMethod,
    weight: u32,
    uthreshold: u32,
    lthreshold: u32,
) -> Destination {
    let (forward, tunnel_type, tunnel_port, tunnel_flags) = match method.method {
        ForwardingMethod::Nat => (Forward::Masq, TunnelType::Ipip, 0, 0),
        ForwardingMethod::Dr => (Forward::Route, TunnelType::Ipip, 0, 0),
        ForwardingMethod::Tun => {
            use crate::config::model::lvs::TunnelType as T;
            let tt = match method.tunnel_type {
                T::Ipip => TunnelType::Ipip,
                T::Gue => TunnelType::Gue,
                T::Gre => TunnelType::Gre,
            };
            let flags = match method.tunnel_checksum {
                TunnelChecksum::Nocsum => 0,
                TunnelChecksum::Csum => 1,
                TunnelChecksum::Remcsum => 2,
            };
            (Forward::Tunnel, tt, method.tunnel_port.unwrap_or(0), flags)
        }
    };
    Destination {
        id: DestId { addr, port },
        forward,
        weight,
        upper_threshold: uthreshold,
        lower_threshold: lthreshold,
        tunnel_type,
        tunnel_port,
        tunnel_flags,
    }
}

/// The service settings (scheduler, flags, persistence) for one kernel
/// service id of `vs`.
fn service_settings(vs: &VirtualServer, groups: &[VirtualServerGroup], id: ServiceId) -> Service {
    let mut flags = vs.effective_flags(groups);
    let timeout = vs.effective_persistence_timeout(groups);
    if timeout.is_some() {
        flags |= svc_flags::PERSISTENT;
    }
    let v6 = id.family() == AF_INET6;
    let netmask = match vs.persistence_granularity {
        Some(PersistenceGranularity::Netmask(m)) if !v6 => u32::from(m),
        Some(PersistenceGranularity::PrefixLength(l)) if v6 => u32::from(l),
        _ if v6 => 128,
        _ => u32::MAX,
    };
    Service {
        id,
        scheduler: vs.effective_scheduler().name().to_owned(),
        flags,
        timeout: timeout.unwrap_or(0),
        netmask,
        pe_name: vs.persistence_engine.clone().filter(|s| !s.is_empty()),
    }
}

/// Every address from `first` to `last` inclusive (at most
/// [`MAX_RANGE_ADDRESSES`]; the bool says the range was cut).
fn expand_range(first: IpAddr, last: Option<IpAddr>) -> (Vec<IpAddr>, bool) {
    let Some(last) = last else {
        return (vec![first], false);
    };
    match (first, last) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let (a, b) = (u32::from(a), u32::from(b));
            if b < a {
                return (vec![first], false);
            }
            let n = u128::from(b - a) + 1;
            let take = n.min(MAX_RANGE_ADDRESSES) as u32;
            (
                (0..take)
                    .map(|i| IpAddr::V4((a.wrapping_add(i)).into()))
                    .collect(),
                n > MAX_RANGE_ADDRESSES,
            )
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let (a, b) = (u128::from(a), u128::from(b));
            if b < a {
                return (vec![first], false);
            }
            let n = (b - a).saturating_add(1);
            let take = n.min(MAX_RANGE_ADDRESSES);
            (
                (0..take)
                    .map(|i| IpAddr::V6((a.wrapping_add(i)).into()))
                    .collect(),
                n > MAX_RANGE_ADDRESSES,
            )
        }
        _ => (vec![first], false),
    }
}

/// The kernel service ids one virtual server stands for, in configuration
/// order.
fn service_ids(
    vs: &VirtualServer,
    groups: &[VirtualServerGroup],
    warnings: &mut Vec<String>,
) -> Vec<ServiceId> {
    let protocol = proto_num(vs.effective_protocol(groups));
    let family = vs.family(groups).unwrap_or(ServiceFamily::Inet);
    if let Some(g) = vs.find_group(groups) {
        let mut out = Vec::new();
        for r in &g.ranges {
            let (addrs, cut) = expand_range(r.address, r.range_end);
            if cut {
                warnings.push(format!(
                    "virtual_server_group {}: range from {} is larger than {MAX_RANGE_ADDRESSES} addresses; only the first {MAX_RANGE_ADDRESSES} are used",
                    g.name, r.address
                ));
            }
            out.extend(addrs.into_iter().map(|addr| ServiceId::Addr {
                protocol,
                addr,
                port: r.port.unwrap_or(0),
            }));
        }
        for f in &g.fwmarks {
            out.push(ServiceId::Fwmark {
                family: family_num(f.family.unwrap_or(family)),
                mark: f.fwmark,
            });
        }
        return out;
    }
    if let Some(mark) = vs.mark() {
        return vec![ServiceId::Fwmark {
            family: family_num(family),
            mark,
        }];
    }
    vs.address
        .map(|addr| ServiceId::Addr {
            protocol,
            addr,
            port: vs.port.unwrap_or(0),
        })
        .into_iter()
        .collect()
}

fn rs_spec(vs: &VirtualServer, key: &ServiceKey, rs: &RealServer) -> RsSpec {
    let eff = vs.effective_real_server(rs);
    let port = vs.effective_real_server_port(rs);
    RsSpec {
        key: RealServerKey {
            service: key.clone(),
            addr: rs.address,
            port,
        },
        written_port: rs.port.unwrap_or(0),
        dest: destination(
            rs.address,
            port,
            eff.lvs_method,
            eff.weight,
            rs.uthreshold,
            rs.lthreshold,
        ),
        inhibit: eff.inhibit_on_failure,
        has_checkers: !rs.checkers.is_empty(),
        alpha: eff.alpha,
    }
}

fn sorry_spec(vs: &VirtualServer) -> Option<SorrySpec> {
    let s = vs.sorry_server.as_ref()?;
    let method = s.lvs_method.unwrap_or_else(|| vs.effective_lvs_method());
    // keepalived 2.2.7 keeps the port as written (none: 0) and clears it
    // for fwmark services.
    let port = if vs.mark().is_some() {
        0
    } else {
        s.port.unwrap_or(0)
    };
    Some(SorrySpec {
        dest: destination(s.address, port, method, SORRY_SERVER_WEIGHT, 0, 0),
        inhibit: s.inhibit,
    })
}

/// Read the configuration into what the syncer needs. Virtual servers
/// keepalived drops are skipped; a kernel service claimed by two virtual
/// servers stays with the first (keepalived fails the second one's add).
pub fn build(cfg: &Config) -> LvsSpec {
    let groups = &cfg.virtual_server_group;
    let mut warnings = Vec::new();
    let mut claimed: std::collections::HashSet<ServiceId> = Default::default();
    let mut virtual_servers = Vec::new();
    for vs in &cfg.virtual_server {
        if vs.dropped(groups).is_some() {
            continue;
        }
        let Some(key) = ServiceKey::of(vs) else {
            continue;
        };
        let name = vs.describe(vs.effective_protocol(groups));
        let mut services = Vec::new();
        for id in service_ids(vs, groups, &mut warnings) {
            if !claimed.insert(id) {
                warnings.push(format!(
                    "virtual server {name}: IPVS service {id} is already used by another virtual server; skipped"
                ));
                continue;
            }
            services.push(service_settings(vs, groups, id));
        }
        let real_servers = vs
            .effective_real_servers()
            .into_iter()
            .map(|rs| rs_spec(vs, &key, rs))
            .collect();
        virtual_servers.push(VsSpec {
            key,
            name,
            group: vs.group.is_some(),
            services,
            real_servers,
            sorry: sorry_spec(vs),
            quorum: vs.effective_quorum(),
            hysteresis: vs.effective_hysteresis(),
            quorum_up: vs.quorum_up.clone().filter(|s| !s.script.is_empty()),
            quorum_down: vs.quorum_down.clone().filter(|s| !s.script.is_empty()),
            omega: vs.omega,
        });
    }
    let g = &cfg.global_defs;
    LvsSpec {
        virtual_servers,
        flush_at_start: g.lvs_flush,
        flush_on_stop: g.lvs_flush_on_stop,
        sync_daemon: g
            .lvs_sync_daemon
            .as_ref()
            .filter(|d| !d.interface.is_empty())
            .map(|d| SyncDaemonSpec::of(cfg, d)),
        timeouts: g.lvs_timeouts.clone(),
        warnings,
    }
}

// ===== checker state and quorum =====

/// What the checkers last said about one real server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RsState {
    pub alive: bool,
    /// A checker's dynamic weight (`None`: the configured one).
    pub weight: Option<u32>,
    /// Shared, not copied: a reload carries thousands of these over.
    pub reason: std::sync::Arc<str>,
}

/// The state of one virtual server: its real servers (same order as
/// [`VsSpec::real_servers`]) and whether it has quorum.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VsState {
    pub quorum_up: bool,
    pub rs: Vec<RsState>,
}

/// A quorum change, for the quorum_up / quorum_down scripts and the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuorumChange {
    /// Index into [`LvsSpec::virtual_servers`].
    pub vs: usize,
    pub up: bool,
    pub live_weight: i64,
}

impl RsState {
    fn weight_of(&self, spec: &RsSpec) -> u32 {
        self.weight.unwrap_or(spec.dest.weight)
    }
}

/// keepalived's next quorum state: lost below `quorum - hysteresis` (or at
/// a live weight of 0), regained at `quorum + hysteresis`.
pub fn quorum_next(up: bool, live_weight: i64, quorum: u32, hysteresis: u32) -> bool {
    let (q, h) = (i64::from(quorum), i64::from(hysteresis));
    if up {
        !(live_weight == 0 || live_weight < q - h)
    } else {
        live_weight >= q + h
    }
}

/// The sum of the live real servers' weights.
pub fn live_weight(spec: &VsSpec, state: &VsState) -> i64 {
    spec.real_servers
        .iter()
        .zip(&state.rs)
        .filter(|(_, st)| st.alive)
        .map(|(rs, st)| i64::from(st.weight_of(rs)))
        .sum()
}

impl VsState {
    /// The starting state of `spec`: real servers matched in `prev` (a reload)
    /// keep their state, new ones start as keepalived starts them; quorum
    /// carries over and is then re-evaluated. Returns the quorum event to
    /// report (gained or lost), if any.
    pub fn initial(spec: &VsSpec, prev: Option<(&VsSpec, &VsState)>) -> (VsState, Option<bool>) {
        let rs = spec
            .real_servers
            .iter()
            .enumerate()
            .map(|(at, r)| {
                prev.and_then(|(ps, pst)| {
                    // Most reloads keep the pool's order: look at the same
                    // place first, then search (a pool of 1,000 would
                    // otherwise compare keys half a million times).
                    let same_place = ps.real_servers.get(at).filter(|p| p.key == r.key);
                    let i = match same_place {
                        Some(_) => Some(at),
                        None => ps.real_servers.iter().position(|p| p.key == r.key),
                    };
                    i.and_then(|i| pst.rs.get(i)).cloned()
                })
                .unwrap_or_else(|| RsState {
                    alive: r.initially_alive(),
                    weight: None,
                    reason: if r.has_checkers {
                        if r.alpha {
                            "alpha: down until checked".into()
                        } else {
                            "not checked yet".into()
                        }
                    } else {
                        "no checkers".into()
                    },
                })
            })
            .collect();
        let mut st = VsState {
            quorum_up: false,
            rs,
        };
        let w = live_weight(spec, &st);
        let event = match prev {
            // A reload: the state carries over and changes only as it would
            // on a verdict.
            Some((_, p)) => {
                st.quorum_up = quorum_next(p.quorum_up, w, spec.quorum, spec.hysteresis);
                (st.quorum_up != p.quorum_up).then_some(st.quorum_up)
            }
            // keepalived starts a virtual server without quorum: it gains it
            // (quorum_up) at `quorum + hysteresis`; otherwise, with a sorry
            // server, it reports the loss (sorry server in, quorum_down).
            None => {
                st.quorum_up = quorum_next(false, w, spec.quorum, spec.hysteresis);
                if st.quorum_up {
                    Some(true)
                } else {
                    spec.sorry.as_ref().map(|_| false)
                }
            }
        };
        (st, event)
    }

    /// Apply one checker update. Returns whether anything changed and the new
    /// quorum state if it changed.
    pub fn apply(&mut self, spec: &VsSpec, u: &RealServerUpdate) -> (bool, Option<bool>) {
        let Some(i) = spec.real_servers.iter().position(|r| r.matches(&u.key)) else {
            return (false, None);
        };
        let Some(st) = self.rs.get_mut(i) else {
            return (false, None);
        };
        let changed = st.alive != u.alive || st.weight != u.weight;
        st.alive = u.alive;
        st.weight = u.weight;
        if *st.reason != *u.reason {
            st.reason = u.reason.as_str().into();
        }
        if !changed {
            return (false, None);
        }
        let was = self.quorum_up;
        self.quorum_up = quorum_next(was, live_weight(spec, self), spec.quorum, spec.hysteresis);
        (true, (self.quorum_up != was).then_some(self.quorum_up))
    }

    /// The sorry server replaces the pool.
    pub fn sorry_active(&self, spec: &VsSpec) -> bool {
        !self.quorum_up && spec.sorry.is_some()
    }

    /// The destinations the kernel should hold for each of `spec`'s services.
    pub fn destinations(&self, spec: &VsSpec) -> BTreeMap<DestId, Destination> {
        let sorry = self.sorry_active(spec);
        let mut out = BTreeMap::new();
        for (rs, st) in spec.real_servers.iter().zip(&self.rs) {
            let weight = if st.alive && !sorry {
                Some(st.weight_of(rs))
            } else if rs.inhibit {
                Some(0)
            } else {
                None
            };
            if let Some(w) = weight {
                let mut d = rs.dest.clone();
                d.weight = w;
                out.entry(d.id).or_insert(d);
            }
        }
        if let Some(s) = &spec.sorry {
            let weight = if sorry {
                Some(s.dest.weight)
            } else if s.inhibit {
                Some(0)
            } else {
                None
            };
            if let Some(w) = weight {
                let mut d = s.dest.clone();
                d.weight = w;
                // A sorry server that is also a real server: the real server's
                // entry stands.
                out.entry(d.id).or_insert(d);
            }
        }
        out
    }
}

// ===== the table =====

/// One kernel service with its destinations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableService {
    pub service: Service,
    pub dests: BTreeMap<DestId, Destination>,
}

/// A (part of the) IPVS table, keyed by service.
pub type Table = BTreeMap<ServiceId, TableService>;

/// The table the kernel should hold for `spec` in `state` (one
/// [`VsState`] per virtual server).
pub fn table(spec: &LvsSpec, state: &[VsState]) -> Table {
    // `extend`, not `append`: append merges two whole trees, which made
    // this quadratic in the number of virtual servers (1,000 virtual
    // servers: seconds in the IPVS test guest).
    let mut t = Table::new();
    for (vs, st) in spec.virtual_servers.iter().zip(state) {
        t.extend(vs_table(vs, st));
    }
    t
}

/// The part of the table one virtual server stands for.
pub fn vs_table(vs: &VsSpec, st: &VsState) -> Table {
    let dests = st.destinations(vs);
    vs.services
        .iter()
        .map(|svc| {
            let dests = if vs.group {
                let mut m = BTreeMap::new();
                for d in dests.values() {
                    let d = dest_for_service(d, &svc.id, true);
                    m.entry(d.id).or_insert(d);
                }
                m
            } else {
                dests.clone()
            };
            (
                svc.id,
                TableService {
                    service: svc.clone(),
                    dests,
                },
            )
        })
        .collect()
}

/// The destination as one kernel service of its virtual server gets it.
/// Plain virtual servers: as configured (the model already applied
/// keepalived's port rules). Group members, as keepalived 2.2.7 programs
/// them: NAT destinations keep the port as written (none: 0); other
/// methods take the entry's port on an address entry, none on a fwmark
/// entry.
pub fn dest_for_service(d: &Destination, svc: &ServiceId, group: bool) -> Destination {
    if !group {
        return d.clone();
    }
    if d.forward == Forward::Masq {
        return d.clone();
    }
    let port = match svc {
        ServiceId::Addr { port, .. } => *port,
        ServiceId::Fwmark { .. } => 0,
    };
    let mut d = d.clone();
    d.id.port = port;
    d
}
