//! VRRP side of the model: instances, sync groups, trackers, static and virtual
//! addresses, routes and rules.
//!
//! The model holds what keepalived keeps after reading the configuration: an
//! entry keepalived drops while parsing (a VIP of the wrong address family, a
//! track_script naming a script not defined before it, ...) is not in the
//! model, and the diagnostics say so.  Values keepalived derives only when it
//! completes an instance (the initial state from the priority, the VRRP version
//! from the address family, ...) are left unset here; the helper methods on
//! [`VrrpInstance`] compute them the way keepalived does.
mod ip;

pub use ip::*;

use crate::config::values::{IpPrefix, Timer};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// A user (and optional group) a script runs as: `user [group]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScriptUser {
    pub user: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

/// `vrrp_script NAME { ... }`: a command whose exit status tracks health.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VrrpScript {
    pub name: String,
    /// The command line as written (split into arguments when it is run).
    pub script: String,
    /// How often it runs (default 1 s; keepalived 2.2.7 reads whole seconds).
    pub interval: Timer,
    /// Kill it after this long (default: the interval).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Timer>,
    /// Priority change: > 0 added while OK, < 0 added while failed, 0 = FAULT on failure.
    pub weight: i32,
    /// `weight N reverse`: the weight applies in the opposite state.
    #[serde(skip_serializing_if = "is_false")]
    pub weight_reverse: bool,
    /// Successes needed to become OK (default 1).
    pub rise: u32,
    /// Failures needed to become failed (default 1).
    pub fall: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<ScriptUser>,
    /// Start in the failed state.
    #[serde(skip_serializing_if = "is_false")]
    pub init_fail: bool,
}

impl Default for VrrpScript {
    fn default() -> Self {
        VrrpScript {
            name: String::new(),
            script: String::new(),
            interval: Timer::from_secs(1),
            timeout: None,
            weight: 0,
            weight_reverse: false,
            rise: 1,
            fall: 1,
            user: None,
            init_fail: false,
        }
    }
}

/// An IP address family, as keepalived's `inet` / `inet6` words name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Inet,
    Inet6,
}

impl Family {
    pub fn of(addr: &IpAddr) -> Family {
        if addr.is_ipv4() {
            Family::Inet
        } else {
            Family::Inet6
        }
    }

    /// "IPv4" / "IPv6", as keepalived's messages say it.
    pub fn ip_name(self) -> &'static str {
        match self {
            Family::Inet => "IPv4",
            Family::Inet6 => "IPv6",
        }
    }
}

/// A notify script: `notify_xxx COMMAND [USER [GROUP]]`.  The command is one
/// (usually quoted) word that keepalived splits into arguments when run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifyScript {
    /// The command line (empty only for `notify_deleted` without a script,
    /// which asks for "deleted" notifications through `notify`/the FIFO).
    pub command: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<ScriptUser>,
}

/// `track_interface` item: `IFNAME [weight N [reverse]]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrackedInterface {
    pub name: String,
    /// 0 = the instance goes to FAULT when the interface is down.
    pub weight: i32,
    #[serde(skip_serializing_if = "is_false")]
    pub weight_reverse: bool,
}

/// `track_script` / `track_file` / `track_process` / `track_bfd` item:
/// `NAME [weight N [reverse|noreverse]]`.  An unset weight (or reverse) means
/// the tracked object's own.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrackedRef {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight_reverse: Option<bool>,
}

/// `track_file NAME { ... }` (also the deprecated `vrrp_track_file`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrackFile {
    pub name: String,
    /// The file holding the number (keyword `file`).
    pub file: String,
    /// Multiplier of the number read (default 1).
    pub weight: i32,
    #[serde(skip_serializing_if = "is_false")]
    pub weight_reverse: bool,
    /// `init_file [VALUE] [overwrite]`: create (or overwrite) the file at start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init_file: Option<TrackFileInit>,
}

impl Default for TrackFile {
    fn default() -> Self {
        TrackFile {
            name: String::new(),
            file: String::new(),
            weight: 1,
            weight_reverse: false,
            init_file: None,
        }
    }
}

/// The `init_file` settings of a track_file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrackFileInit {
    /// The value written (default 0).
    pub value: i32,
    /// Write it even if the file exists.
    pub overwrite: bool,
}

/// How a tracked process's parameters must match (`param_match`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamMatch {
    /// No parameters given: the process name alone is matched.
    #[default]
    None,
    Exact,
    Initial,
    Partial,
}

/// `vrrp_track_process NAME { ... }`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrackProcess {
    pub name: String,
    /// The process name or path (first word of `process`).
    pub process: String,
    /// Its parameters (the words after the name on the `process` line).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub process_params: Vec<String>,
    pub param_match: ParamMatch,
    /// Match the full command line rather than the process name.
    #[serde(skip_serializing_if = "is_false")]
    pub full_command: bool,
    pub weight: i32,
    #[serde(skip_serializing_if = "is_false")]
    pub weight_reverse: bool,
    /// Processes needed to be up (default 1).
    pub quorum: u32,
    /// At most this many may run (unset = no limit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quorum_max: Option<u32>,
    /// Delay before acting on a process terminating (`delay` sets both delays).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub terminate_delay: Option<Timer>,
    /// Delay before acting on a process starting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fork_delay: Option<Timer>,
}

impl Default for TrackProcess {
    fn default() -> Self {
        TrackProcess {
            name: String::new(),
            process: String::new(),
            process_params: Vec::new(),
            param_match: ParamMatch::None,
            full_command: false,
            weight: 0,
            weight_reverse: false,
            quorum: 1,
            quorum_max: None,
            terminate_delay: None,
            fork_delay: None,
        }
    }
}

/// `vrrp_sync_group NAME { ... }`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SyncGroup {
    pub name: String,
    /// Member instance names, in configuration order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub group: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub track_interface: Vec<TrackedInterface>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub track_script: Vec<TrackedRef>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub track_file: Vec<TrackedRef>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub track_process: Vec<TrackedRef>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub track_bfd: Vec<TrackedRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_master: Option<NotifyScript>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_backup: Option<NotifyScript>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_fault: Option<NotifyScript>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_stop: Option<NotifyScript>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify: Option<NotifyScript>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_alert: Option<bool>,
    /// Members keep the weights of their own trackers (`global_tracking` is
    /// the deprecated synonym).
    #[serde(skip_serializing_if = "is_false")]
    pub sync_group_tracking_weight: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_priority_changes: Option<bool>,
}

/// The initial state asked for (`state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum InitialState {
    Master,
    Backup,
}

/// `authentication { auth_type ...; auth_pass ... }`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Authentication {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_type: Option<AuthType>,
    /// At most 8 characters (keepalived truncates longer ones).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_pass: Option<String>,
}

/// VRRPv2 authentication types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum AuthType {
    Pass,
    /// IPsec AH: not implemented by keepalived-rs (rejected).
    Ah,
}

/// `unicast_peer` item: `ADDRESS [min_ttl N] [max_ttl N]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnicastPeer {
    pub address: IpAddr,
    #[serde(default, skip_serializing_if = "is_zero_u8")]
    pub min_ttl: u8,
    #[serde(default = "max_ttl_default", skip_serializing_if = "is_255")]
    pub max_ttl: u8,
}

fn is_false(b: &bool) -> bool {
    !*b
}
fn is_zero_timer(t: &Timer) -> bool {
    t.micros == 0
}
fn is_zero_u8(v: &u8) -> bool {
    *v == 0
}
fn max_ttl_default() -> u8 {
    255
}
fn is_255(v: &u8) -> bool {
    *v == 255
}

impl UnicastPeer {
    pub fn new(address: IpAddr) -> Self {
        UnicastPeer {
            address,
            min_ttl: 0,
            max_ttl: 255,
        }
    }

    /// min_ttl/max_ttl make keepalived check the source of received adverts.
    pub fn has_ttl_limits(&self) -> bool {
        self.min_ttl != 0 || self.max_ttl != 255
    }
}

/// `old_unicast_checksum [never]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OldUnicastChecksum {
    /// Send and accept the pre-2.0.11 unicast checksum.
    Enabled,
    /// Never use it, even if a peer does.
    Never,
}

/// `use_vmac [IFNAME] [MAC]` (rejected by keepalived-rs: a VMAC changes the
/// source MAC on the wire).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UseVmac {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ifname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
}

/// `use_ipvlan [IFNAME] [ADDRESS[/LEN]] [bridge|private|vepa]` (rejected).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UseIpvlan {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ifname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<IpPrefix>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<IpvlanMode>,
}

/// The ipvlan mode flags (`bridge` is the kernel's default).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IpvlanMode {
    Bridge,
    Private,
    Vepa,
}

/// `garp_extra_if [all] SECONDS` (and the deprecated `vmac_garp_intvl`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GarpExtraIf {
    pub interval: Timer,
    pub all: bool,
}

/// `vrrp_instance NAME { ... }`.
///
/// `Option` fields are unset when not configured: keepalived derives their
/// value from global_defs or from other settings when it completes the
/// instance (see the methods).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VrrpInstance {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<InitialState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vrf: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub virtual_router_id: Option<u8>,
    /// 1..255; unset: 255 with `state MASTER`, else 100.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<u8>,
    /// Unset: 1 s.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advert_int: Option<Timer>,
    /// 2 or 3; unset: 3 for IPv6, else global_defs `vrrp_version` (2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u8>,
    #[serde(skip_serializing_if = "is_false")]
    pub native_ipv6: bool,
    /// Do not preempt a lower priority master (`preempt` clears it).
    #[serde(skip_serializing_if = "is_false")]
    pub nopreempt: bool,
    #[serde(skip_serializing_if = "is_zero_timer")]
    pub preempt_delay: Timer,
    /// `accept` = true, `no_accept` = false; unset: true unless strict mode
    /// (always true for the address owner).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accept: Option<bool>,
    /// Unset: global_defs `vrrp_strict`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strict_mode: Option<bool>,
    /// Unset: global_defs `vrrp_skip_check_adv_addr`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_check_adv_addr: Option<bool>,
    #[serde(skip_serializing_if = "is_false")]
    pub dont_track_primary: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub track_interface: Vec<TrackedInterface>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub track_script: Vec<TrackedRef>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub track_file: Vec<TrackedRef>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub track_process: Vec<TrackedRef>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub track_bfd: Vec<TrackedRef>,
    /// Source address of adverts (multicast).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mcast_src_ip: Option<IpAddr>,
    /// Source address of adverts; also marks the instance as unicast.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unicast_src_ip: Option<IpAddr>,
    /// Unset: no `unicast_peer` block; an empty block still marks unicast.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unicast_peer: Option<Vec<UnicastPeer>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unicast_ttl: Option<u8>,
    #[serde(skip_serializing_if = "is_false")]
    pub unicast_fault_no_peer: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub check_unicast_src: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_unicast_checksum: Option<OldUnicastChecksum>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mcast_dst_ip: Option<IpAddr>,
    #[serde(skip_serializing_if = "is_false")]
    pub track_src_ip: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authentication: Option<Authentication>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub virtual_ipaddress: Vec<IpAddressSpec>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub virtual_ipaddress_excluded: Vec<IpAddressSpec>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub virtual_routes: Vec<RouteSpec>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub virtual_rules: Vec<RuleSpec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_master: Option<NotifyScript>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_backup: Option<NotifyScript>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_fault: Option<NotifyScript>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_stop: Option<NotifyScript>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_deleted: Option<NotifyScript>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify: Option<NotifyScript>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_master_rx_lower_pri: Option<NotifyScript>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_priority_changes: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_alert: Option<bool>,
    /// Deprecated: sets the global LVS sync daemon interface (first one wins).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lvs_sync_daemon_interface: Option<String>,
    /// Unset: global_defs `vrrp_garp_master_delay` (5 s).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub garp_master_delay: Option<Timer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub garp_master_repeat: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub garp_master_refresh: Option<Timer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub garp_master_refresh_repeat: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub garp_lower_prio_delay: Option<Timer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub garp_lower_prio_repeat: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub garp_extra_if: Option<GarpExtraIf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lower_prio_no_advert: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub higher_prio_send_advert: Option<bool>,
    /// 1..100; unset: global_defs `vrrp_down_timer_adverts` (3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub down_timer_adverts: Option<u8>,
    #[serde(skip_serializing_if = "is_false")]
    pub promote_secondaries: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub linkbeat_use_polling: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel_rx_buf_size: Option<u32>,
    /// 0..4; stored by keepalived, not used.
    #[serde(skip_serializing_if = "is_zero_u8")]
    pub debug: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_vmac: Option<UseVmac>,
    #[serde(skip_serializing_if = "is_false")]
    pub use_vmac_addr: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub vmac_xmit_base: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_ipvlan: Option<UseIpvlan>,
}

/// keepalived's default priority.
pub const VRRP_PRIO_DEFAULT: u8 = 100;
/// The address owner's priority.
pub const VRRP_PRIO_OWNER: u8 = 255;
/// keepalived's default down_timer_adverts (RFC 5798 §6.1).
pub const VRRP_DOWN_TIMER_ADVERTS: u8 = 3;

impl VrrpInstance {
    /// The address family keepalived settles on: that of the first address
    /// configured (VIP, peer, source, ...), IPv6 with `native_ipv6`, else IPv4.
    /// The parser drops addresses of the other family, so any one will do.
    pub fn family(&self) -> Family {
        let addr = self
            .virtual_ipaddress
            .first()
            .map(|a| a.address.addr)
            .or(self.unicast_src_ip)
            .or(self.mcast_src_ip)
            .or(self.mcast_dst_ip)
            .or_else(|| {
                self.unicast_peer
                    .as_ref()
                    .and_then(|p| p.first().map(|p| p.address))
            })
            .or_else(|| {
                self.use_ipvlan
                    .as_ref()
                    .and_then(|v| v.address.as_ref().map(|a| a.addr))
            });
        match addr {
            Some(a) => Family::of(&a),
            None if self.native_ipv6 => Family::Inet6,
            None => Family::Inet,
        }
    }

    /// The VRRP version keepalived uses, given global_defs `vrrp_version`.
    pub fn effective_version(&self, global_version: u8, strict: bool) -> u8 {
        match (self.family(), self.version) {
            (Family::Inet6, Some(2)) if strict => 3,
            (_, Some(v)) => v,
            (Family::Inet6, None) => 3,
            (Family::Inet, None) => global_version,
        }
    }

    /// Priority: as configured, else 255 with `state MASTER`, else 100.
    pub fn effective_priority(&self) -> u8 {
        match (self.priority, self.state) {
            (Some(p), _) => p,
            (None, Some(InitialState::Master)) => VRRP_PRIO_OWNER,
            (None, _) => VRRP_PRIO_DEFAULT,
        }
    }

    /// Initial state: as configured, else MASTER for the address owner.
    pub fn effective_state(&self) -> InitialState {
        match self.state {
            Some(s) => s,
            None if self.effective_priority() == VRRP_PRIO_OWNER => InitialState::Master,
            None => InitialState::Backup,
        }
    }

    /// Whether any unicast keyword was given (keepalived's "unicast configured").
    pub fn unicast_configured(&self) -> bool {
        self.unicast_peer.is_some()
            || self.unicast_src_ip.is_some()
            || self.unicast_fault_no_peer
            || self.check_unicast_src
            || self.old_unicast_checksum.is_some()
    }

    /// Whether adverts are unicast: a unicast keyword and at least one peer.
    pub fn is_unicast(&self) -> bool {
        self.unicast_configured() && self.unicast_peer.as_ref().is_some_and(|p| !p.is_empty())
    }

    /// The advert source address given in the configuration, if any.
    pub fn configured_src_ip(&self) -> Option<IpAddr> {
        self.unicast_src_ip.or(self.mcast_src_ip)
    }

    /// The advert interval keepalived runs with for `version`: 1 s unset; VRRPv2
    /// rounds to whole seconds (minimum 1 s); VRRPv3 rounds to centiseconds,
    /// at most 40.95 s.
    pub fn effective_advert_int(&self, version: u8) -> Timer {
        let us = self.advert_int.map_or(1_000_000, |t| t.micros);
        if version == 2 {
            if us >= 256 * 1_000_000 {
                return Timer::from_secs(255);
            }
            let rounded = (us + 500_000) / 1_000_000 * 1_000_000;
            Timer::from_micros(rounded.max(1_000_000))
        } else {
            if us >= 4096 * 10_000 {
                return Timer::from_micros(4095 * 10_000);
            }
            let rounded = (us + 5_000) / 10_000 * 10_000;
            Timer::from_micros(rounded.max(10_000))
        }
    }
}

/// `track_group NAME { group { INSTANCE ... } }`: instances that track the
/// interfaces of static addresses, routes and rules naming the group.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrackGroup {
    pub name: String,
    pub group: Vec<String>,
}

/// `garp_group { ... }`: gratuitous ARP / NA pacing for a set of interfaces.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GarpGroup {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub garp_interval: Option<Timer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gna_interval: Option<Timer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub interfaces: Vec<String>,
}

/// How an interface's link state is polled (`linkbeat_interfaces` item).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum LinkbeatType {
    Mii,
    Ethtool,
    Ioctl,
}

/// `linkbeat_interfaces` item: `IFNAME [MII|ETHTOOL|IOCTL]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LinkbeatInterface {
    pub interface: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub polling: Option<LinkbeatType>,
}

/// `interface_up_down_delays` item: `IFNAME DOWN_DELAY [UP_DELAY]` (seconds).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InterfaceUpDownDelay {
    pub interface: String,
    pub down_delay: Timer,
    pub up_delay: Timer,
}

/// `bfd_instance NAME { ... }`: a BFD session (run by [`crate::bfd`]),
/// followed by `track_bfd` and `BFD_CHECK`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BfdInstance {
    pub name: String,
    /// `neighbor_ip` (also spelt `neighbour_ip`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub neighbor_ip: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<IpAddr>,
    /// Milliseconds (microsecond resolution), default 10.
    pub min_rx: Timer,
    pub min_tx: Timer,
    pub idle_tx: Timer,
    pub multiplier: u8,
    #[serde(skip_serializing_if = "is_false")]
    pub passive: bool,
    /// `ttl` / `hoplimit`; unset: 255 (IPv4) or 64 (IPv6).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_hops: Option<i16>,
    pub weight: i32,
    #[serde(skip_serializing_if = "is_false")]
    pub weight_reverse: bool,
    /// `vrrp` / `checker`: which processes are told of state changes (none
    /// given = both).
    #[serde(skip_serializing_if = "is_false")]
    pub vrrp: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub checker: bool,
}

impl Default for BfdInstance {
    fn default() -> Self {
        BfdInstance {
            name: String::new(),
            neighbor_ip: None,
            source_ip: None,
            min_rx: Timer::from_millis(10),
            min_tx: Timer::from_millis(10),
            idle_tx: Timer::from_millis(1000),
            multiplier: 5,
            passive: false,
            ttl: None,
            max_hops: None,
            weight: 0,
            weight_reverse: false,
            vrrp: false,
            checker: false,
        }
    }
}
