//! LVS side of the model: virtual server groups, virtual and real servers,
//! checkers, the SSL client context.
//!
//! Values are kept as written: a setting keepalived can tell apart from its
//! default ("not given, inherit") is an `Option`.  What keepalived 2.2.7 then
//! derives from them — timer inheritance virtual server → real server →
//! checker, default scheduler, forwarding method and protocol, persistence
//! forced by a zero port, quorum and hysteresis clamping, port fix-ups,
//! duplicate real servers dropped — is computed by the `effective_*` methods
//! below, so the checker and IPVS engines and the semantic checks agree on
//! one reading (see `keepalived/check/check_data.c: validate_check_config`).
use crate::config::model::ScriptUser;
use crate::config::values::Timer;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;

// ===== small value types =====

/// Address family of a service (`ip_family inet|inet6`, `fwmark N inet6`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceFamily {
    Inet,
    Inet6,
}

impl ServiceFamily {
    pub fn of(addr: &IpAddr) -> Self {
        if addr.is_ipv4() {
            ServiceFamily::Inet
        } else {
            ServiceFamily::Inet6
        }
    }

    pub fn keyword(self) -> &'static str {
        match self {
            ServiceFamily::Inet => "inet",
            ServiceFamily::Inet6 => "inet6",
        }
    }
}

/// `protocol TCP|UDP|SCTP` (keepalived reads it case-insensitively).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ServiceProtocol {
    Tcp,
    Udp,
    Sctp,
}

impl ServiceProtocol {
    /// The lower-case name keepalived prints in service descriptions.
    pub fn label(self) -> &'static str {
        match self {
            ServiceProtocol::Tcp => "tcp",
            ServiceProtocol::Udp => "udp",
            ServiceProtocol::Sctp => "sctp",
        }
    }
}

/// `lvs_sched` / `lb_algo`: keepalived 2.2.7 accepts exactly these names
/// (case-sensitive); anything else is an error and the setting is ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheduler {
    Rr,
    Wrr,
    Lc,
    Wlc,
    Lblc,
    Sh,
    Mh,
    Dh,
    Fo,
    Ovf,
    Lblcr,
    Sed,
    Nq,
    Twos,
}

impl Scheduler {
    /// Every scheduler with the name keepalived.conf uses, in keepalived's order.
    pub const ALL: [(&'static str, Scheduler); 14] = [
        ("rr", Scheduler::Rr),
        ("wrr", Scheduler::Wrr),
        ("lc", Scheduler::Lc),
        ("wlc", Scheduler::Wlc),
        ("lblc", Scheduler::Lblc),
        ("sh", Scheduler::Sh),
        ("mh", Scheduler::Mh),
        ("dh", Scheduler::Dh),
        ("fo", Scheduler::Fo),
        ("ovf", Scheduler::Ovf),
        ("lblcr", Scheduler::Lblcr),
        ("sed", Scheduler::Sed),
        ("nq", Scheduler::Nq),
        ("twos", Scheduler::Twos),
    ];

    /// The kernel's name of the scheduler.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, s)| *s == self)
            .map_or("wlc", |(n, _)| n)
    }

    /// keepalived's exact-match lookup.
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.iter().find(|(n, _)| *n == s).map(|(_, v)| *v)
    }
}

/// The IPVS forwarding method (`NAT`, `DR`, `TUN`; case-sensitive in keepalived).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ForwardingMethod {
    #[default]
    #[serde(rename = "NAT")]
    Nat,
    #[serde(rename = "DR")]
    Dr,
    #[serde(rename = "TUN")]
    Tun,
}

/// `TUN type ipip|gue|gre`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TunnelType {
    #[default]
    Ipip,
    Gue,
    Gre,
}

/// `TUN ... nocsum|csum|remcsum`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TunnelChecksum {
    #[default]
    Nocsum,
    Csum,
    Remcsum,
}

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// `lvs_method` / `lb_kind` (virtual server, real server) and
/// `sorry_server_lvs_method`: `NAT|DR|TUN [type ipip|gue port N|gre] [nocsum|csum|remcsum]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LvsMethod {
    pub method: ForwardingMethod,
    /// Tunnel encapsulation (TUN only; default ipip).
    #[serde(skip_serializing_if = "is_default")]
    pub tunnel_type: TunnelType,
    /// GUE destination port (required for gue, refused otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tunnel_port: Option<u16>,
    /// Tunnel checksum option (default nocsum; ipip only allows nocsum, gre not remcsum).
    #[serde(skip_serializing_if = "is_default")]
    pub tunnel_checksum: TunnelChecksum,
}

impl LvsMethod {
    pub fn new(method: ForwardingMethod) -> Self {
        LvsMethod {
            method,
            ..Default::default()
        }
    }
}

/// `persistence_granularity`: an IPv4 netmask for IPv4 services, a prefix
/// length (1..=128) for IPv6 ones.  Written in TOML as the keepalived.conf text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PersistenceGranularity {
    Netmask(Ipv4Addr),
    PrefixLength(u8),
}

impl PersistenceGranularity {
    pub fn family(self) -> ServiceFamily {
        match self {
            PersistenceGranularity::Netmask(_) => ServiceFamily::Inet,
            PersistenceGranularity::PrefixLength(_) => ServiceFamily::Inet6,
        }
    }
}

impl fmt::Display for PersistenceGranularity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PersistenceGranularity::Netmask(m) => write!(f, "{m}"),
            PersistenceGranularity::PrefixLength(l) => write!(f, "{l}"),
        }
    }
}

impl FromStr for PersistenceGranularity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.contains('.') {
            s.parse::<Ipv4Addr>()
                .map(PersistenceGranularity::Netmask)
                .map_err(|_| format!("'{s}' is not an IPv4 netmask"))
        } else {
            match s.parse::<u8>() {
                Ok(l) if (1..=128).contains(&l) => Ok(PersistenceGranularity::PrefixLength(l)),
                _ => Err(format!("'{s}' is not an IPv6 prefix length in [1, 128]")),
            }
        }
    }
}

impl Serialize for PersistenceGranularity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PersistenceGranularity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = PersistenceGranularity;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an IPv4 netmask or an IPv6 prefix length")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                v.parse().map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
                v.to_string().parse().map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
                v.to_string().parse().map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// A notify or quorum script: the command line (split into arguments when it
/// is run, as keepalived does) and the user to run it as.
///
/// keepalived reads `notify_up "CMD ARGS" [USER [GROUP]]`: the first (quoted)
/// word is the whole command line, the next words are the user and group.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CheckerScript {
    pub script: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<ScriptUser>,
}

// ===== virtual_server_group =====

/// `virtual_server_group NAME { ... }`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VirtualServerGroup {
    pub name: String,
    /// Address entries (`IP [PORT]`, `IP-LAST [PORT]`, `IP-IP [PORT]`,
    /// `IP/LEN [PORT]`) in configuration order.
    pub ranges: Vec<VsgRange>,
    /// `fwmark N [inet|inet6]` entries in configuration order.
    pub fwmarks: Vec<VsgFwmark>,
}

impl VirtualServerGroup {
    pub fn has_ipv4(&self) -> bool {
        self.ranges.iter().any(|r| r.address.is_ipv4())
            || self
                .fwmarks
                .iter()
                .any(|f| f.family == Some(ServiceFamily::Inet))
    }

    pub fn has_ipv6(&self) -> bool {
        self.ranges.iter().any(|r| r.address.is_ipv6())
            || self
                .fwmarks
                .iter()
                .any(|f| f.family == Some(ServiceFamily::Inet6))
    }

    /// A fwmark entry has no family (keepalived's `fwmark_no_family`).
    pub fn fwmark_without_family(&self) -> bool {
        self.fwmarks.iter().any(|f| f.family.is_none())
    }
}

/// One address entry of a virtual server group: the addresses `address` to
/// `range_end` inclusive (a CIDR block is stored as its first and last
/// address), on `port` (`None`: no port, only valid for persistent services).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VsgRange {
    pub address: IpAddr,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range_end: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

/// `fwmark N [inet|inet6]` in a virtual server group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VsgFwmark {
    pub fwmark: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<ServiceFamily>,
}

// ===== virtual_server =====

/// `virtual_server IP [PORT] | fwmark N | group NAME { ... }`.
///
/// Exactly one of `address`, `fwmark` and `group` is set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VirtualServer {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<IpAddr>,
    /// With `address`: the port (`None` or 0 in the file: no port).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fwmark: Option<u32>,
    /// The name of a `virtual_server_group`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_family: Option<ServiceFamily>,

    /// Checker interval inherited by real servers and checkers (default 60 s).
    pub delay_loop: Timer,
    /// Checker connect timeout inherited by real servers and checkers (default 5 s).
    pub connect_timeout: Timer,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay_before_retry: Option<Timer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warmup: Option<Timer>,
    /// Default for the real servers: set weight 0 on failure instead of removing.
    pub inhibit_on_failure: bool,

    /// `lvs_sched` / `lb_algo` (unset: keepalived reports it and uses wlc).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lvs_sched: Option<Scheduler>,
    /// `ops`: one-packet scheduling (UDP only for address services).
    pub ops: bool,
    /// `hashed`: accepted by keepalived 2.2.7 for sh/mh, sets nothing.
    pub hashed: bool,
    #[serde(rename = "flag-1")]
    pub flag_1: bool,
    #[serde(rename = "flag-2")]
    pub flag_2: bool,
    #[serde(rename = "flag-3")]
    pub flag_3: bool,
    #[serde(rename = "sh-port")]
    pub sh_port: bool,
    #[serde(rename = "sh-fallback")]
    pub sh_fallback: bool,
    #[serde(rename = "mh-port")]
    pub mh_port: bool,
    #[serde(rename = "mh-fallback")]
    pub mh_fallback: bool,

    /// `lvs_method` / `lb_kind` (unset: the real servers' own, else NAT).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lvs_method: Option<LvsMethod>,
    /// `persistence_engine NAME` (at most 15 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub persistence_engine: Option<String>,
    /// `persistence_timeout [SECONDS]` (360 when given without a value).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub persistence_timeout: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub persistence_granularity: Option<PersistenceGranularity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<ServiceProtocol>,
    pub ha_suspend: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_alert: Option<bool>,
    /// Default HTTP Host for the HTTP/SSL checkers of this service.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub virtualhost: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snmp_name: Option<String>,

    /// Default for the real servers: checkers start failed.
    pub alpha: bool,
    /// Run quorum_down on exit too.
    pub omega: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quorum_up: Option<CheckerScript>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quorum_down: Option<CheckerScript>,
    /// Minimum total weight of live real servers (default 1).
    pub quorum: u32,
    pub hysteresis: u32,
    /// Default weight of the real servers (default 1).
    pub weight: u32,

    #[serde(skip_serializing_if = "Option::is_none")]
    pub sorry_server: Option<SorryServer>,
    pub real_server: Vec<RealServer>,
}

impl Default for VirtualServer {
    fn default() -> Self {
        VirtualServer {
            address: None,
            port: None,
            fwmark: None,
            group: None,
            ip_family: None,
            delay_loop: Timer::from_secs(60),
            connect_timeout: Timer::from_secs(5),
            retry: None,
            delay_before_retry: None,
            warmup: None,
            inhibit_on_failure: false,
            lvs_sched: None,
            ops: false,
            hashed: false,
            flag_1: false,
            flag_2: false,
            flag_3: false,
            sh_port: false,
            sh_fallback: false,
            mh_port: false,
            mh_fallback: false,
            lvs_method: None,
            persistence_engine: None,
            persistence_timeout: None,
            persistence_granularity: None,
            protocol: None,
            ha_suspend: false,
            smtp_alert: None,
            virtualhost: None,
            snmp_name: None,
            alpha: false,
            omega: false,
            quorum_up: None,
            quorum_down: None,
            quorum: 1,
            hysteresis: 0,
            weight: 1,
            sorry_server: None,
            real_server: Vec::new(),
        }
    }
}

/// `sorry_server IP [PORT]` with `sorry_server_inhibit` and
/// `sorry_server_lvs_method` (which only apply after a sorry_server line).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SorryServer {
    pub address: IpAddr,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// `sorry_server_inhibit`.
    #[serde(default)]
    pub inhibit: bool,
    /// `sorry_server_lvs_method` (unset: the virtual server's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lvs_method: Option<LvsMethod>,
}

/// Why keepalived 2.2.7 drops a virtual server after reading it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DroppedService {
    /// Not exactly one of address, fwmark and group (only possible in TOML).
    BadIdentity,
    /// `group NAME` names no virtual_server_group.
    UnknownGroup,
    /// The group has IPv4 and IPv6 entries but the service has a family.
    MixedGroupWithFamily,
    /// The group's family is not the service's.
    GroupFamilyMismatch,
    /// No real server is left.
    NoRealServers,
}

/// IPVS service flags as the kernel numbers them (`IP_VS_SVC_F_*`).
pub mod ipvs_flags {
    pub const ONEPACKET: u32 = 0x0004;
    pub const SCHED1: u32 = 0x0008;
    pub const SCHED2: u32 = 0x0010;
    pub const SCHED3: u32 = 0x0020;
    pub const SCHED_SH_FALLBACK: u32 = SCHED1;
    pub const SCHED_SH_PORT: u32 = SCHED2;
    pub const SCHED_MH_FALLBACK: u32 = SCHED1;
    pub const SCHED_MH_PORT: u32 = SCHED2;
}

/// keepalived's default persistence timeout (`IPVS_SVC_PERSISTENT_TIMEOUT`).
pub const DEFAULT_PERSISTENCE_TIMEOUT: u32 = 360;

/// Real server settings after inheritance from the virtual server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EffectiveRealServer {
    pub weight: u32,
    pub lvs_method: LvsMethod,
    pub inhibit_on_failure: bool,
    pub alpha: bool,
    /// `None`: neither the real server nor the virtual server set it.
    pub retry: Option<u32>,
    pub connect_timeout: Timer,
    pub delay_loop: Timer,
    pub warmup: Option<Timer>,
    pub delay_before_retry: Option<Timer>,
}

/// Checker settings after inheritance (checker → real server → virtual server
/// → the checker type's defaults).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EffectiveChecker {
    pub alpha: bool,
    pub retry: u32,
    pub delay_before_retry: Timer,
    /// Random start delay bound: the checker waits up to this long before the first check.
    pub warmup: Timer,
    pub delay_loop: Timer,
    /// `None` for checkers without a connection (MISC_CHECK).
    pub connect_timeout: Option<Timer>,
    /// The checker's own flag; the engine ORs in global_defs `checker_log_all_failures`.
    pub log_all_failures: bool,
}

impl VirtualServer {
    /// The firewall mark that identifies the service: keepalived takes
    /// `fwmark 0` for "no mark" (and then handles the service as an address
    /// service without an address).
    pub fn mark(&self) -> Option<u32> {
        self.fwmark.filter(|m| *m != 0)
    }

    /// The group this service refers to, if it exists.
    pub fn find_group<'g>(
        &self,
        groups: &'g [VirtualServerGroup],
    ) -> Option<&'g VirtualServerGroup> {
        let name = self.group.as_deref()?;
        groups.iter().find(|g| g.name == name)
    }

    /// The service is identified by firewall marks only (a fwmark service, or
    /// a group with fwmark entries and no address entries): the protocol is
    /// meaningless and keepalived clears it.
    pub fn is_fwmark_only(&self, groups: &[VirtualServerGroup]) -> bool {
        match self.find_group(groups) {
            Some(g) => g.ranges.is_empty() && !g.fwmarks.is_empty(),
            None => self.group.is_none() && self.mark().is_some(),
        }
    }

    /// The service has address entries (plain address, or a group with
    /// address entries): keepalived checks protocol, one-packet and port.
    pub fn has_addresses(&self, groups: &[VirtualServerGroup]) -> bool {
        match self.find_group(groups) {
            Some(g) => !g.ranges.is_empty(),
            None => self.group.is_none() && self.mark().is_none(),
        }
    }

    /// The service uses firewall marks (keepalived refuses ha_suspend then).
    pub fn uses_fwmarks(&self, groups: &[VirtualServerGroup]) -> bool {
        match self.find_group(groups) {
            Some(g) => !g.fwmarks.is_empty(),
            None => self.group.is_none() && self.mark().is_some(),
        }
    }

    /// The scheduler (unset: wlc, keepalived's `IPVS_DEF_SCHED`).
    pub fn effective_scheduler(&self) -> Scheduler {
        self.lvs_sched.unwrap_or(Scheduler::Wlc)
    }

    /// The virtual server's forwarding method (unset: NAT).
    pub fn effective_lvs_method(&self) -> LvsMethod {
        self.lvs_method.unwrap_or_default()
    }

    /// The protocol given to IPVS: cleared for fwmark-only services, UDP when
    /// an address service sets none (the kernel's reading of protocol 0).
    pub fn effective_protocol(&self, groups: &[VirtualServerGroup]) -> Option<ServiceProtocol> {
        if self.is_fwmark_only(groups) {
            return None;
        }
        match self.protocol {
            Some(p) => Some(p),
            None if self.has_addresses(groups) => Some(ServiceProtocol::Udp),
            None => None,
        }
    }

    /// The persistence timeout: as written; a granularity alone implies the
    /// default; a service without a port is made persistent.
    pub fn effective_persistence_timeout(&self, groups: &[VirtualServerGroup]) -> Option<u32> {
        if let Some(t) = self.persistence_timeout {
            return Some(t);
        }
        if self.persistence_granularity.is_some() {
            return Some(DEFAULT_PERSISTENCE_TIMEOUT);
        }
        let zero_port = match self.find_group(groups) {
            Some(g) => g.ranges.iter().any(|r| r.port.is_none()),
            None => self.group.is_none() && self.mark().is_none() && self.port.unwrap_or(0) == 0,
        };
        zero_port.then_some(DEFAULT_PERSISTENCE_TIMEOUT)
    }

    /// The IPVS service flags (`ipvs_flags`): one-packet scheduling is
    /// dropped for address services that are not UDP.
    pub fn effective_flags(&self, groups: &[VirtualServerGroup]) -> u32 {
        use ipvs_flags::*;
        let mut f = 0;
        if self.ops {
            f |= ONEPACKET;
        }
        if self.flag_1 || self.sh_fallback || self.mh_fallback {
            f |= SCHED1;
        }
        if self.flag_2 || self.sh_port || self.mh_port {
            f |= SCHED2;
        }
        if self.flag_3 {
            f |= SCHED3;
        }
        if self.has_addresses(groups)
            && self.effective_protocol(groups) != Some(ServiceProtocol::Udp)
        {
            f &= !ONEPACKET;
        }
        f
    }

    /// The real servers keepalived keeps: a real server with the same address
    /// and port (as written) as an earlier one is dropped.
    pub fn effective_real_servers(&self) -> Vec<&RealServer> {
        let mut out: Vec<&RealServer> = Vec::new();
        for rs in &self.real_server {
            if !out.iter().any(|o| o.same_endpoint(rs)) {
                out.push(rs);
            }
        }
        out
    }

    /// A real server's settings with the virtual server's defaults applied.
    pub fn effective_real_server(&self, rs: &RealServer) -> EffectiveRealServer {
        EffectiveRealServer {
            weight: rs.weight.unwrap_or(self.weight),
            lvs_method: rs.lvs_method.unwrap_or_else(|| self.effective_lvs_method()),
            inhibit_on_failure: rs.inhibit_on_failure.unwrap_or(self.inhibit_on_failure),
            alpha: rs.alpha.unwrap_or(self.alpha),
            retry: rs.retry.or(self.retry),
            connect_timeout: rs.connect_timeout.unwrap_or(self.connect_timeout),
            delay_loop: rs.delay_loop.unwrap_or(self.delay_loop),
            warmup: rs.warmup.or(self.warmup),
            delay_before_retry: rs.delay_before_retry.or(self.delay_before_retry),
        }
    }

    /// A checker's settings the way keepalived's validate_check_config
    /// computes them.  `None` for FILE_CHECK and BFD_CHECK, which have no timers.
    pub fn effective_checker(
        &self,
        rs: &RealServer,
        checker: &Checker,
    ) -> Option<EffectiveChecker> {
        let t = checker.timing()?;
        let r = self.effective_real_server(rs);
        let delay_loop = t.delay_loop.unwrap_or(r.delay_loop);
        let dbr_default = checker.default_delay_before_retry();
        Some(EffectiveChecker {
            alpha: t.alpha.unwrap_or(r.alpha),
            retry: t
                .retry
                .or(r.retry)
                .unwrap_or_else(|| checker.default_retry()),
            delay_before_retry: t.delay_before_retry.or(r.delay_before_retry).unwrap_or(
                if dbr_default.micros != 0 {
                    dbr_default
                } else {
                    delay_loop
                },
            ),
            warmup: t.warmup.or(r.warmup).unwrap_or(delay_loop),
            delay_loop,
            connect_timeout: checker
                .has_connection()
                .then(|| checker.connect_timeout().unwrap_or(r.connect_timeout)),
            log_all_failures: t.log_all_failures,
        })
    }

    /// Sum of the weights of the kept real servers, in keepalived's unsigned
    /// 32-bit arithmetic (it wraps; kept so the quorum reads the same).
    pub fn total_weight(&self) -> u32 {
        self.effective_real_servers().iter().fold(0u32, |sum, rs| {
            sum.wrapping_add(self.effective_real_server(rs).weight)
        })
    }

    /// The quorum, reduced to the total weight when it exceeds it.
    pub fn effective_quorum(&self) -> u32 {
        self.quorum.min(self.total_weight())
    }

    /// The hysteresis, reduced below the quorum.  With a quorum of 0 (all
    /// weights 0) keepalived's unsigned arithmetic wraps to u32::MAX; kept.
    pub fn effective_hysteresis(&self) -> u32 {
        let q = self.effective_quorum();
        if self.hysteresis >= q {
            q.wrapping_sub(1)
        } else {
            self.hysteresis
        }
    }

    /// The port IPVS gets for a real server after keepalived's fix-ups: NAT
    /// real servers without a port take the service's; non-NAT real servers of
    /// a fwmark service lose theirs; non-NAT real servers of an address
    /// service get the service's port.  Group services keep the port as written.
    pub fn effective_real_server_port(&self, rs: &RealServer) -> u16 {
        let written = rs.port.unwrap_or(0);
        if self.group.is_some() {
            return written;
        }
        let vs_port = self.port.unwrap_or(0);
        let method = self.effective_real_server(rs).lvs_method.method;
        if method == ForwardingMethod::Nat {
            if self.mark().is_none() && written == 0 {
                vs_port
            } else {
                written
            }
        } else if self.mark().is_some() {
            0
        } else {
            vs_port
        }
    }

    /// The address family of the service as keepalived settles it: the
    /// address, `ip_family`, the persistence granularity, the group's
    /// entries, then the first real or sorry server not tunnelled.
    pub fn family(&self, groups: &[VirtualServerGroup]) -> Option<ServiceFamily> {
        if let Some(a) = &self.address {
            return Some(ServiceFamily::of(a));
        }
        if let Some(f) = self.ip_family {
            return Some(f);
        }
        if let Some(g) = self.persistence_granularity {
            return Some(g.family());
        }
        let vs_method = self.effective_lvs_method().method;
        for rs in &self.real_server {
            let m = rs.lvs_method.map_or(vs_method, |m| m.method);
            if m != ForwardingMethod::Tun {
                return Some(ServiceFamily::of(&rs.address));
            }
        }
        if let Some(s) = &self.sorry_server {
            let m = s.lvs_method.map_or(vs_method, |m| m.method);
            if m != ForwardingMethod::Tun {
                return Some(ServiceFamily::of(&s.address));
            }
        }
        if let Some(g) = self.find_group(groups) {
            if g.has_ipv4() != g.has_ipv6() {
                return Some(if g.has_ipv4() {
                    ServiceFamily::Inet
                } else {
                    ServiceFamily::Inet6
                });
            }
        }
        None
    }

    /// Why keepalived drops this service before using it (`None`: it is
    /// used).  The engines must skip a dropped service; [`validate`] reports it.
    ///
    /// [`validate`]: crate::config::build::lvs::validate
    pub fn dropped(&self, groups: &[VirtualServerGroup]) -> Option<DroppedService> {
        let identities = usize::from(self.address.is_some())
            + usize::from(self.fwmark.is_some())
            + usize::from(self.group.is_some());
        if identities != 1 {
            return Some(DroppedService::BadIdentity);
        }
        if self.group.is_some() {
            let Some(g) = self.find_group(groups) else {
                return Some(DroppedService::UnknownGroup);
            };
            let af = self.family(&[]);
            let (v4, v6) = (g.has_ipv4(), g.has_ipv6());
            if v4 && v6 && af.is_some() {
                return Some(DroppedService::MixedGroupWithFamily);
            }
            if (v4 && af == Some(ServiceFamily::Inet6)) || (v6 && af == Some(ServiceFamily::Inet)) {
                return Some(DroppedService::GroupFamilyMismatch);
            }
        }
        if self.real_server.is_empty() {
            return Some(DroppedService::NoRealServers);
        }
        None
    }

    /// keepalived's description of a service in messages (`FMT_VS`):
    /// `[10.0.0.1]:tcp:80`, `FWM 1`, `[group]:0`.
    pub fn describe(&self, protocol: Option<ServiceProtocol>) -> String {
        if let Some(g) = &self.group {
            format!("[{g}]:0")
        } else if let Some(m) = self.fwmark {
            format!("FWM {m}")
        } else {
            let proto = protocol.map_or("none", ServiceProtocol::label);
            describe_endpoint(self.address, proto, self.port.unwrap_or(0))
        }
    }
}

/// `[addr]:proto:port`, built directly: the parse and the IPVS
/// specification describe every virtual server, and `format!` with an
/// address's `Display` costs several times as much.
fn describe_endpoint(address: Option<IpAddr>, proto: &str, port: u16) -> String {
    let mut s = String::with_capacity(48);
    s.push('[');
    match address {
        Some(IpAddr::V4(a)) => {
            for (i, octet) in a.octets().into_iter().enumerate() {
                if i > 0 {
                    s.push('.');
                }
                crate::config::values::push_decimal(&mut s, u64::from(octet));
            }
        }
        Some(IpAddr::V6(a)) => {
            use std::fmt::Write;
            let _ = write!(s, "{a}");
        }
        None => s.push('?'),
    }
    s.push_str("]:");
    s.push_str(proto);
    s.push(':');
    crate::config::values::push_decimal(&mut s, u64::from(port));
    s
}

// ===== real_server =====

/// `real_server IP [PORT] { ... }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RealServer {
    pub address: IpAddr,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// 0..=2147483647 (unset: the virtual server's `weight`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lvs_method: Option<LvsMethod>,
    /// Connection upper threshold (0: none).
    #[serde(default)]
    pub uthreshold: u32,
    /// Connection lower threshold (0: none).
    #[serde(default)]
    pub lthreshold: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inhibit_on_failure: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_up: Option<CheckerScript>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_down: Option<CheckerScript>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpha: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_before_retry: Option<Timer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warmup: Option<Timer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_timeout: Option<Timer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_loop: Option<Timer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_alert: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtualhost: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snmp_name: Option<String>,
    /// The health checkers, in configuration order.
    #[serde(default)]
    pub checkers: Vec<Checker>,
}

impl RealServer {
    pub fn new(address: IpAddr, port: Option<u16>) -> Self {
        RealServer {
            address,
            port,
            weight: None,
            lvs_method: None,
            uthreshold: 0,
            lthreshold: 0,
            inhibit_on_failure: None,
            notify_up: None,
            notify_down: None,
            alpha: None,
            retry: None,
            delay_before_retry: None,
            warmup: None,
            connect_timeout: None,
            delay_loop: None,
            smtp_alert: None,
            virtualhost: None,
            snmp_name: None,
            checkers: Vec::new(),
        }
    }

    /// keepalived's `rs_iseq`: same address and port as written.
    pub fn same_endpoint(&self, other: &RealServer) -> bool {
        self.address == other.address && self.port.unwrap_or(0) == other.port.unwrap_or(0)
    }

    /// `[addr]:proto:port` as keepalived prints a real server.
    pub fn describe(&self, protocol: Option<ServiceProtocol>) -> String {
        let proto = protocol.map_or("none", ServiceProtocol::label);
        describe_endpoint(Some(self.address), proto, self.port.unwrap_or(0))
    }
}

// ===== checkers =====

/// The timing settings shared by the checkers (as written).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CheckerTiming {
    pub retry: Option<u32>,
    pub delay_before_retry: Option<Timer>,
    pub warmup: Option<Timer>,
    pub delay_loop: Option<Timer>,
    pub alpha: Option<bool>,
    pub log_all_failures: bool,
}

/// The connection settings shared by the network checkers (as written).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConnectionSettings {
    pub connect_ip: Option<IpAddr>,
    pub connect_port: Option<u16>,
    pub bindto: Option<IpAddr>,
    pub bind_port: Option<u16>,
    pub bind_if: Option<String>,
    pub connect_timeout: Option<Timer>,
    pub fwmark: Option<u32>,
}

impl ConnectionSettings {
    /// The address checked: `connect_ip`, else the real server's.
    pub fn destination(&self, rs: &RealServer) -> IpAddr {
        self.connect_ip.unwrap_or(rs.address)
    }

    /// The port checked: `connect_port`, else the real server's port as
    /// written (0 when it has none: keepalived 2.2.7 copies the address before
    /// it fills in the service's port).
    pub fn destination_port(&self, rs: &RealServer) -> u16 {
        self.connect_port.or(rs.port).unwrap_or(0)
    }

    /// keepalived's `check_conn_opts`: a link-local IPv6 destination needs
    /// `bind_if`.  Returns the message when the checker must be dropped.
    pub fn problem(&self, rs: &RealServer) -> Option<String> {
        match self.destination(rs) {
            IpAddr::V6(a) if (a.segments()[0] & 0xffc0) == 0xfe80 && self.bind_if.is_none() => {
                Some(format!("Checker link local address {a} requires a bind_if"))
            }
            _ => None,
        }
    }
}

/// Declares a checker struct with the connection and timing keywords every
/// network checker has, plus its own fields (`field: Type = default`).
macro_rules! network_checker {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* pub $field:ident : $fty:ty = $default:expr ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct $name {
            #[serde(skip_serializing_if = "Option::is_none")]
            pub connect_ip: Option<IpAddr>,
            #[serde(skip_serializing_if = "Option::is_none")]
            pub connect_port: Option<u16>,
            #[serde(skip_serializing_if = "Option::is_none")]
            pub bindto: Option<IpAddr>,
            #[serde(skip_serializing_if = "Option::is_none")]
            pub bind_port: Option<u16>,
            #[serde(skip_serializing_if = "Option::is_none")]
            pub bind_if: Option<String>,
            #[serde(skip_serializing_if = "Option::is_none")]
            pub connect_timeout: Option<Timer>,
            /// SO_MARK on the checker's socket.
            #[serde(skip_serializing_if = "Option::is_none")]
            pub fwmark: Option<u32>,
            #[serde(skip_serializing_if = "Option::is_none")]
            pub retry: Option<u32>,
            #[serde(skip_serializing_if = "Option::is_none")]
            pub delay_before_retry: Option<Timer>,
            #[serde(skip_serializing_if = "Option::is_none")]
            pub warmup: Option<Timer>,
            #[serde(skip_serializing_if = "Option::is_none")]
            pub delay_loop: Option<Timer>,
            #[serde(skip_serializing_if = "Option::is_none")]
            pub alpha: Option<bool>,
            pub log_all_failures: bool,
            $( $(#[$fmeta])* pub $field: $fty, )*
        }

        impl Default for $name {
            fn default() -> Self {
                $name {
                    connect_ip: None,
                    connect_port: None,
                    bindto: None,
                    bind_port: None,
                    bind_if: None,
                    connect_timeout: None,
                    fwmark: None,
                    retry: None,
                    delay_before_retry: None,
                    warmup: None,
                    delay_loop: None,
                    alpha: None,
                    log_all_failures: false,
                    $( $field: $default, )*
                }
            }
        }

        impl $name {
            pub fn timing(&self) -> CheckerTiming {
                CheckerTiming {
                    retry: self.retry,
                    delay_before_retry: self.delay_before_retry,
                    warmup: self.warmup,
                    delay_loop: self.delay_loop,
                    alpha: self.alpha,
                    log_all_failures: self.log_all_failures,
                }
            }

            pub fn connection(&self) -> ConnectionSettings {
                ConnectionSettings {
                    connect_ip: self.connect_ip,
                    connect_port: self.connect_port,
                    bindto: self.bindto,
                    bind_port: self.bind_port,
                    bind_if: self.bind_if.clone(),
                    connect_timeout: self.connect_timeout,
                    fwmark: self.fwmark,
                }
            }
        }
    };
}

network_checker! {
    /// `TCP_CHECK { ... }`: the TCP connection succeeds.
    pub struct TcpCheck {}
}

network_checker! {
    /// `PING_CHECK { ... }`: an ICMP echo is answered.
    pub struct PingCheck {}
}

network_checker! {
    /// `HTTP_GET { ... }` and `SSL_GET { ... }`.
    pub struct HttpCheck {
        /// Host header for every url (unset: the real server's, then the virtual server's).
        #[serde(skip_serializing_if = "Option::is_none")]
        pub virtualhost: Option<String> = None,
        pub http_protocol: HttpProtocol = HttpProtocol::Http10,
        /// SSL_GET: send the Host name as SNI.
        pub enable_sni: bool = false,
        /// Check again at once after a failure recovers.
        pub fast_recovery: bool = false,
        pub url: Vec<Url> = Vec::new(),
    }
}

network_checker! {
    /// `SMTP_CHECK { ... }`: banner and HELO.
    pub struct SmtpCheck {
        /// HELO name (unset: `smtpchecker.keepalived.org`).
        #[serde(skip_serializing_if = "Option::is_none")]
        pub helo_name: Option<String> = None,
        /// Legacy `host { }` blocks: each is an extra checker on another address.
        pub host: Vec<SmtpHost> = Vec::new(),
    }
}

network_checker! {
    /// `DNS_CHECK { ... }`: a DNS query over UDP gets an answer.
    pub struct DnsCheck {
        #[serde(rename = "type")]
        pub query_type: DnsType = DnsType::Soa,
        /// The name queried (unset: the root, "").
        #[serde(skip_serializing_if = "Option::is_none")]
        pub name: Option<String> = None,
    }
}

network_checker! {
    /// `UDP_CHECK { ... }`.
    pub struct UdpCheck {
        /// `payload HEX...` as written (decoded with [`decode_hex`]).
        #[serde(skip_serializing_if = "Option::is_none")]
        pub payload: Option<String> = None,
        /// `require_reply [HEX...]`: a reply is needed.
        pub require_reply: bool = false,
        /// The reply pattern given to require_reply (X/x = any nibble).
        #[serde(skip_serializing_if = "Option::is_none")]
        pub require_reply_data: Option<String> = None,
        pub min_reply_length: u16 = 0,
        pub max_reply_length: u16 = 255,
    }
}

impl SmtpCheck {
    /// keepalived checks the SMTP_CHECK's own address only when a connection
    /// keyword is given or there are no legacy `host` blocks; otherwise the
    /// hosts are the checked addresses.
    pub fn uses_own_connection(&self) -> bool {
        self.connect_ip.is_some()
            || self.connect_port.is_some()
            || self.bindto.is_some()
            || self.bind_port.is_some()
            || self.bind_if.is_some()
            || self.fwmark.is_some()
            || self.connect_timeout.is_some()
            || self.host.is_empty()
    }
}

/// `http_protocol 1.0|1.0C|1.1`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum HttpProtocol {
    #[default]
    #[serde(rename = "1.0")]
    Http10,
    /// HTTP/1.0 with `Connection: close`.
    #[serde(rename = "1.0C")]
    Http10Close,
    #[serde(rename = "1.1")]
    Http11,
}

/// DNS_CHECK query types keepalived knows (case-insensitive in the file).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum DnsType {
    A,
    Ns,
    Cname,
    #[default]
    Soa,
    Mx,
    Txt,
    Aaaa,
    Rrsig,
    Dnskey,
}

impl DnsType {
    pub const ALL: [(&'static str, DnsType); 9] = [
        ("A", DnsType::A),
        ("NS", DnsType::Ns),
        ("CNAME", DnsType::Cname),
        ("SOA", DnsType::Soa),
        ("MX", DnsType::Mx),
        ("TXT", DnsType::Txt),
        ("AAAA", DnsType::Aaaa),
        ("RRSIG", DnsType::Rrsig),
        ("DNSKEY", DnsType::Dnskey),
    ];

    /// The query type number.
    pub fn code(self) -> u16 {
        match self {
            DnsType::A => 1,
            DnsType::Ns => 2,
            DnsType::Cname => 5,
            DnsType::Soa => 6,
            DnsType::Mx => 15,
            DnsType::Txt => 16,
            DnsType::Aaaa => 28,
            DnsType::Rrsig => 46,
            DnsType::Dnskey => 48,
        }
    }
}

/// `url { ... }` of HTTP_GET / SSL_GET.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Url {
    pub path: String,
    /// MD5 of the body, 32 lower-case hex digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Accepted status codes (empty: 200-299).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub status_code: Vec<StatusCodeRange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtualhost: Option<String>,
    /// PCRE2 pattern the body must (or, with regex_no_match, must not) match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
    #[serde(default)]
    pub regex_no_match: bool,
    /// PCRE2 option names (keepalived's list; unknown names are ignored).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regex_options: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex_min_offset: Option<u64>,
    /// The last offset at which a match may start, as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex_max_offset: Option<u64>,
    /// `regex_stack START MAX`: PCRE2 JIT stack sizes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex_stack: Option<RegexStack>,
}

impl Url {
    pub fn new(path: String) -> Self {
        Url {
            path,
            digest: None,
            status_code: Vec::new(),
            virtualhost: None,
            regex: None,
            regex_no_match: false,
            regex_options: Vec::new(),
            regex_min_offset: None,
            regex_max_offset: None,
            regex_stack: None,
        }
    }

    /// Whether a status code passes (keepalived's default set is 200-299).
    pub fn accepts_status(&self, code: u16) -> bool {
        if self.status_code.is_empty() {
            (200..=299).contains(&code)
        } else {
            self.status_code
                .iter()
                .any(|r| (r.first..=r.last).contains(&code))
        }
    }
}

/// PCRE2 options keepalived 2.2.7 recognises in `regex_options`.
pub const REGEX_OPTIONS: [&str; 24] = [
    "allow_empty_class",
    "alt_bsux",
    "auto_callout",
    "caseless",
    "dollar_endonly",
    "dotall",
    "dupnames",
    "extended",
    "firstline",
    "match_unset_backref",
    "multiline",
    "never_ucp",
    "never_utf",
    "no_auto_capture",
    "no_auto_possess",
    "no_dotstar_anchor",
    "no_start_optimize",
    "ucp",
    "ungreedy",
    "utf",
    "never_backslash_c",
    "alt_circumflex",
    "alt_verbnames",
    "use_offset_limit",
];

/// `regex_stack START MAX`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegexStack {
    pub start: u64,
    pub max: u64,
}

/// A status code or inclusive range (`200`, `200-299`), each in 100..=599.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StatusCodeRange {
    pub first: u16,
    pub last: u16,
}

/// Lowest and highest status code keepalived accepts in `status_code`.
pub const HTTP_STATUS_CODE_MIN: u16 = 100;
pub const HTTP_STATUS_CODE_MAX: u16 = 599;

impl fmt::Display for StatusCodeRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}-{}", self.first, self.last)
        }
    }
}

impl FromStr for StatusCodeRange {
    type Err = String;
    /// keepalived's reading: `N` or `N-M`, both in 100..=599, N <= M.
    fn from_str(s: &str) -> Result<Self, String> {
        let (a, b) = match s.split_once('-') {
            Some((a, b)) => (a, b),
            None => (s, s),
        };
        let parse = |t: &str| {
            let t = t.trim_start_matches([' ', '\t']).trim_start_matches('+');
            if t.is_empty() || !t.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            t.parse::<u32>().ok()
        };
        match (parse(a), parse(b)) {
            (Some(first), Some(last))
                if (u32::from(HTTP_STATUS_CODE_MIN)..=u32::from(HTTP_STATUS_CODE_MAX))
                    .contains(&first)
                    && (u32::from(HTTP_STATUS_CODE_MIN)..=u32::from(HTTP_STATUS_CODE_MAX))
                        .contains(&last)
                    && first <= last =>
            {
                Ok(StatusCodeRange {
                    first: first as u16,
                    last: last as u16,
                })
            }
            _ => Err(format!("invalid HTTP status code '{s}'")),
        }
    }
}

impl Serialize for StatusCodeRange {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for StatusCodeRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = StatusCodeRange;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a status code or range such as \"200-299\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                v.parse().map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
                v.to_string().parse().map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
                v.to_string().parse().map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// A legacy `SMTP_CHECK { host { ... } }` block: another address to check,
/// with the SMTP_CHECK's timing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpHost {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect_ip: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect_port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bindto: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind_port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind_if: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect_timeout: Option<Timer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fwmark: Option<u32>,
}

impl SmtpHost {
    pub fn connection(&self) -> ConnectionSettings {
        ConnectionSettings {
            connect_ip: self.connect_ip,
            connect_port: self.connect_port,
            bindto: self.bindto,
            bind_port: self.bind_port,
            bind_if: self.bind_if.clone(),
            connect_timeout: self.connect_timeout,
            fwmark: self.fwmark,
        }
    }
}

/// `MISC_CHECK { ... }`: a script whose exit status is the health.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MiscCheck {
    /// The command line (split into arguments when run, as keepalived does).
    pub misc_path: String,
    /// Kill the script after this many seconds (unset or 0: the virtual server's delay_loop).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub misc_timeout: Option<u32>,
    /// Exit codes 2..=255 set the weight to code - 2.
    pub misc_dynamic: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<ScriptUser>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay_before_retry: Option<Timer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warmup: Option<Timer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay_loop: Option<Timer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alpha: Option<bool>,
    pub log_all_failures: bool,
}

impl MiscCheck {
    pub fn timing(&self) -> CheckerTiming {
        CheckerTiming {
            retry: self.retry,
            delay_before_retry: self.delay_before_retry,
            warmup: self.warmup,
            delay_loop: self.delay_loop,
            alpha: self.alpha,
            log_all_failures: self.log_all_failures,
        }
    }

    /// The script timeout: `misc_timeout`, else the virtual server's delay_loop.
    pub fn effective_timeout(&self, vs: &VirtualServer) -> Timer {
        match self.misc_timeout {
            Some(s) if s != 0 => Timer::from_secs(u64::from(s)),
            _ => vs.delay_loop,
        }
    }
}

/// `FILE_CHECK { track_file NAME; weight N [reverse] }`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FileCheck {
    /// The name of a top-level `track_file`.
    pub track_file: String,
    /// Unset: the track_file's own weight.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<i32>,
    pub weight_reverse: bool,
}

/// `BFD_CHECK { name; alpha }`: the real server follows a `bfd_instance`'s session.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BfdCheck {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alpha: Option<bool>,
}

/// One health checker of a real server; the TOML form names its kind with
/// `checker = "HTTP_GET"` and so on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "checker")]
pub enum Checker {
    #[serde(rename = "TCP_CHECK")]
    Tcp(TcpCheck),
    #[serde(rename = "HTTP_GET")]
    Http(HttpCheck),
    #[serde(rename = "SSL_GET")]
    Ssl(HttpCheck),
    #[serde(rename = "MISC_CHECK")]
    Misc(MiscCheck),
    #[serde(rename = "SMTP_CHECK")]
    Smtp(SmtpCheck),
    #[serde(rename = "DNS_CHECK")]
    Dns(DnsCheck),
    #[serde(rename = "UDP_CHECK")]
    Udp(UdpCheck),
    #[serde(rename = "PING_CHECK")]
    Ping(PingCheck),
    #[serde(rename = "FILE_CHECK")]
    File(FileCheck),
    #[serde(rename = "BFD_CHECK")]
    Bfd(BfdCheck),
}

impl Checker {
    /// The keyword of the checker's block.
    pub fn keyword(&self) -> &'static str {
        match self {
            Checker::Tcp(_) => "TCP_CHECK",
            Checker::Http(_) => "HTTP_GET",
            Checker::Ssl(_) => "SSL_GET",
            Checker::Misc(_) => "MISC_CHECK",
            Checker::Smtp(_) => "SMTP_CHECK",
            Checker::Dns(_) => "DNS_CHECK",
            Checker::Udp(_) => "UDP_CHECK",
            Checker::Ping(_) => "PING_CHECK",
            Checker::File(_) => "FILE_CHECK",
            Checker::Bfd(_) => "BFD_CHECK",
        }
    }

    /// The timing settings as written (`None`: FILE_CHECK and BFD_CHECK have none).
    pub fn timing(&self) -> Option<CheckerTiming> {
        Some(match self {
            Checker::Tcp(c) => c.timing(),
            Checker::Http(c) | Checker::Ssl(c) => c.timing(),
            Checker::Misc(c) => c.timing(),
            Checker::Smtp(c) => c.timing(),
            Checker::Dns(c) => c.timing(),
            Checker::Udp(c) => c.timing(),
            Checker::Ping(c) => c.timing(),
            Checker::File(_) | Checker::Bfd(_) => return None,
        })
    }

    /// The connection settings as written (`None`: MISC, FILE and BFD checkers).
    pub fn connection(&self) -> Option<ConnectionSettings> {
        Some(match self {
            Checker::Tcp(c) => c.connection(),
            Checker::Http(c) | Checker::Ssl(c) => c.connection(),
            Checker::Smtp(c) => c.connection(),
            Checker::Dns(c) => c.connection(),
            Checker::Udp(c) => c.connection(),
            Checker::Ping(c) => c.connection(),
            Checker::Misc(_) | Checker::File(_) | Checker::Bfd(_) => return None,
        })
    }

    pub fn has_connection(&self) -> bool {
        self.connection().is_some()
    }

    pub fn connect_timeout(&self) -> Option<Timer> {
        self.connection().and_then(|c| c.connect_timeout)
    }

    /// The retry count when neither checker, real server nor virtual server
    /// sets one: 1, MISC_CHECK 0, DNS_CHECK 3.
    pub fn default_retry(&self) -> u32 {
        match self {
            Checker::Misc(_) => 0,
            Checker::Dns(_) => 3,
            _ => 1,
        }
    }

    /// The delay before retry when nobody sets one: 1 s, HTTP/SSL 3 s,
    /// DNS_CHECK 0 meaning "the delay_loop".
    pub fn default_delay_before_retry(&self) -> Timer {
        match self {
            Checker::Http(_) | Checker::Ssl(_) => Timer::from_secs(3),
            Checker::Dns(_) => Timer::from_secs(0),
            _ => Timer::from_secs(1),
        }
    }
}

/// Decode keepalived's hex strings (`read_hex_str`): blanks separate bytes, a
/// byte is one or two hex digits; with `wildcards`, `x`/`X` is a nibble that
/// matches anything.  Returns the bytes and, if wildcards were used, the mask
/// (0x0f/0xf0 bits set where the nibble is a wildcard); `None` if invalid or empty.
pub fn decode_hex(s: &str, wildcards: bool) -> Option<(Vec<u8>, Option<Vec<u8>>)> {
    fn nibble(c: u8, wildcards: bool) -> Option<Option<u8>> {
        match c {
            b'0'..=b'9' => Some(Some(c - b'0')),
            b'a'..=b'f' => Some(Some(c - b'a' + 10)),
            b'A'..=b'F' => Some(Some(c - b'A' + 10)),
            b'x' | b'X' if wildcards => Some(None),
            _ => None,
        }
    }
    let b = s.as_bytes();
    let mut i = 0;
    let mut data = Vec::new();
    let mut mask = Vec::new();
    let mut masked = false;
    loop {
        while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let hi = nibble(b[i], wildcards)?;
        i += 1;
        let (mut val, mut m) = match hi {
            Some(v) => (v, 0u8),
            None => (0, 0x0f),
        };
        if i < b.len() && b[i] != b' ' {
            let lo = nibble(b[i], wildcards)?;
            i += 1;
            val <<= 4;
            m <<= 4;
            match lo {
                Some(v) => val |= v,
                None => m |= 0x0f,
            }
        }
        masked |= m != 0;
        data.push(val);
        mask.push(m);
    }
    if data.is_empty() {
        return None;
    }
    Some((data, masked.then_some(mask)))
}

// ===== SSL =====

/// `SSL { password; ca; certificate; key }`: the client TLS context of the
/// SSL_GET checkers.  keepalived-rs verifies the server certificate against
/// `ca` when one is given (upstream never does).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SslContext {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_described_as_format_would() {
        for (addr, port) in [
            (Some("10.0.0.1"), 80u16),
            (Some("0.0.0.0"), 0),
            (Some("255.255.255.255"), 65535),
            (Some("192.168.100.9"), 8080),
            (Some("2001:db8::1"), 443),
            (Some("::ffff:10.0.0.1"), 1),
            (None, 7),
        ] {
            let a: Option<IpAddr> = addr.map(|a| a.parse().unwrap());
            let shown = a.map_or_else(|| "?".to_owned(), |a| a.to_string());
            assert_eq!(
                describe_endpoint(a, "tcp", port),
                format!("[{shown}]:tcp:{port}")
            );
        }
    }

    fn vs_with(rs: Vec<RealServer>) -> VirtualServer {
        VirtualServer {
            address: Some("10.0.0.1".parse().unwrap()),
            port: Some(80),
            real_server: rs,
            ..Default::default()
        }
    }

    fn rs(a: &str, port: Option<u16>) -> RealServer {
        RealServer::new(a.parse().unwrap(), port)
    }

    #[test]
    fn checker_inheritance_follows_keepalived() {
        // VS: delay_loop 10, retry 4 ; RS: delay_before_retry 2, warmup unset ;
        // checker: connect_timeout unset.
        let mut v = vs_with(vec![]);
        v.delay_loop = Timer::from_secs(10);
        v.retry = Some(4);
        v.alpha = true;
        let mut r = rs("10.0.0.2", Some(80));
        r.delay_before_retry = Some(Timer::from_secs(2));
        r.connect_timeout = Some(Timer::from_secs(7));
        let tcp = Checker::Tcp(TcpCheck::default());
        let e = v.effective_checker(&r, &tcp).unwrap();
        assert_eq!(
            e,
            EffectiveChecker {
                alpha: true,
                retry: 4,
                delay_before_retry: Timer::from_secs(2),
                warmup: Timer::from_secs(10),
                delay_loop: Timer::from_secs(10),
                connect_timeout: Some(Timer::from_secs(7)),
                log_all_failures: false,
            }
        );
        // The checker's own values win.
        let own = Checker::Tcp(TcpCheck {
            retry: Some(0),
            delay_loop: Some(Timer::from_secs(3)),
            alpha: Some(false),
            connect_timeout: Some(Timer::from_millis(500)),
            ..Default::default()
        });
        let e = v.effective_checker(&r, &own).unwrap();
        assert_eq!(e.retry, 0);
        assert_eq!(e.delay_loop, Timer::from_secs(3));
        assert_eq!(e.warmup, Timer::from_secs(3));
        assert!(!e.alpha);
        assert_eq!(e.connect_timeout, Some(Timer::from_millis(500)));
    }

    #[test]
    fn checker_type_defaults() {
        let v = vs_with(vec![]);
        let r = rs("10.0.0.2", None);
        let http = Checker::Http(HttpCheck::default());
        let e = v.effective_checker(&r, &http).unwrap();
        assert_eq!((e.retry, e.delay_before_retry), (1, Timer::from_secs(3)));
        assert_eq!(e.connect_timeout, Some(Timer::from_secs(5)));
        assert_eq!(e.delay_loop, Timer::from_secs(60));
        let dns = Checker::Dns(DnsCheck::default());
        let e = v.effective_checker(&r, &dns).unwrap();
        assert_eq!((e.retry, e.delay_before_retry), (3, Timer::from_secs(60)));
        let misc = Checker::Misc(MiscCheck::default());
        let e = v.effective_checker(&r, &misc).unwrap();
        assert_eq!((e.retry, e.delay_before_retry), (0, Timer::from_secs(1)));
        assert_eq!(e.connect_timeout, None);
        assert!(v
            .effective_checker(&r, &Checker::File(FileCheck::default()))
            .is_none());
    }

    #[test]
    fn service_defaults_and_clamps() {
        let mut a = rs("10.0.0.2", None);
        a.weight = Some(2);
        let b = rs("10.0.0.2", Some(0)); // same endpoint as a: dropped
        let c = rs("10.0.0.3", Some(8080));
        let mut v = vs_with(vec![a, b, c]);
        v.quorum = 10;
        v.hysteresis = 5;
        assert_eq!(v.effective_real_servers().len(), 2);
        assert_eq!(v.total_weight(), 3);
        assert_eq!(v.effective_quorum(), 3);
        assert_eq!(v.effective_hysteresis(), 2);
        assert_eq!(v.effective_scheduler(), Scheduler::Wlc);
        assert_eq!(v.effective_lvs_method().method, ForwardingMethod::Nat);
        assert_eq!(v.effective_protocol(&[]), Some(ServiceProtocol::Udp));
        assert_eq!(v.effective_persistence_timeout(&[]), None);
        // NAT keeps a real server's own port, fills a missing one.
        assert_eq!(v.effective_real_server_port(&v.real_server[0]), 80);
        assert_eq!(v.effective_real_server_port(&v.real_server[2]), 8080);
        v.lvs_method = Some(LvsMethod::new(ForwardingMethod::Dr));
        assert_eq!(v.effective_real_server_port(&v.real_server[2]), 80);
        v.port = None;
        assert_eq!(
            v.effective_persistence_timeout(&[]),
            Some(DEFAULT_PERSISTENCE_TIMEOUT)
        );
    }

    #[test]
    fn fwmark_services_drop_protocol_and_ops_needs_udp() {
        let mut v = VirtualServer {
            fwmark: Some(1),
            protocol: Some(ServiceProtocol::Tcp),
            ops: true,
            ..Default::default()
        };
        assert_eq!(v.effective_protocol(&[]), None);
        assert_eq!(v.effective_flags(&[]), ipvs_flags::ONEPACKET);
        v.fwmark = None;
        v.address = Some("10.0.0.1".parse().unwrap());
        v.port = Some(53);
        assert_eq!(v.effective_flags(&[]), 0);
        v.protocol = Some(ServiceProtocol::Udp);
        v.sh_port = true;
        assert_eq!(
            v.effective_flags(&[]),
            ipvs_flags::ONEPACKET | ipvs_flags::SCHED_SH_PORT
        );
    }

    #[test]
    fn services_keepalived_drops() {
        let g6 = VirtualServerGroup {
            name: "G".into(),
            ranges: vec![VsgRange {
                address: "2001:db8::1".parse().unwrap(),
                range_end: None,
                port: Some(80),
            }],
            fwmarks: vec![],
        };
        let mut v = VirtualServer {
            group: Some("G".into()),
            real_server: vec![rs("10.0.0.2", None)],
            ..Default::default()
        };
        assert_eq!(v.dropped(&[]), Some(DroppedService::UnknownGroup));
        assert_eq!(
            v.dropped(std::slice::from_ref(&g6)),
            Some(DroppedService::GroupFamilyMismatch)
        );
        v.real_server = vec![rs("2001:db8::2", None)];
        assert_eq!(v.dropped(std::slice::from_ref(&g6)), None);
        v.real_server.clear();
        assert_eq!(
            v.dropped(std::slice::from_ref(&g6)),
            Some(DroppedService::NoRealServers)
        );
        v.fwmark = Some(1);
        assert_eq!(v.dropped(&[g6]), Some(DroppedService::BadIdentity));
    }

    #[test]
    fn hex_strings_like_keepalived() {
        assert_eq!(decode_hex("1 23", false), Some((vec![0x01, 0x23], None)));
        assert_eq!(decode_hex("0123", false), Some((vec![0x01, 0x23], None)));
        assert_eq!(decode_hex("zz", false), None);
        assert_eq!(decode_hex("", false), None);
        assert_eq!(decode_hex("0x", true), Some((vec![0x00], Some(vec![0x0f]))));
        assert_eq!(decode_hex("0x", false), None);
    }

    #[test]
    fn status_codes() {
        assert_eq!(
            "200-299".parse::<StatusCodeRange>(),
            Ok(StatusCodeRange {
                first: 200,
                last: 299
            })
        );
        assert!("600".parse::<StatusCodeRange>().is_err());
        assert!("300-200".parse::<StatusCodeRange>().is_err());
        assert!("200-".parse::<StatusCodeRange>().is_err());
        let mut u = Url::new("/".into());
        assert!(u.accepts_status(204) && !u.accepts_status(301));
        u.status_code.push("301".parse().unwrap());
        assert!(!u.accepts_status(204) && u.accepts_status(301));
    }

    #[test]
    fn link_local_destination_needs_bind_if() {
        let r = rs("fe80::1", Some(80));
        let c = ConnectionSettings::default();
        assert!(c.problem(&r).is_some());
        let c = ConnectionSettings {
            bind_if: Some("eth0".into()),
            ..Default::default()
        };
        assert!(c.problem(&r).is_none());
    }
}
