//! What the VRRP engine needs to run one instance: the state machine's
//! parameters plus everything at the edges (interface, addresses, peers,
//! authentication, notify scripts).  Built from the configuration model by
//! [`crate::daemon::vrrp_specs`]; kept separate so the engine does not depend
//! on the shape of the configuration.

use super::fsm::InstanceParams;
use super::packet::UnicastPeer;
use std::net::IpAddr;

/// One address the instance installs when MASTER.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VipSpec {
    pub addr: IpAddr,
    pub prefix_len: u8,
    /// `dev IF`: another interface than the instance's.
    pub dev: Option<String>,
    pub label: Option<String>,
    pub broadcast: Option<std::net::Ipv4Addr>,
    pub peer: Option<IpAddr>,
    pub scope: u8,
    /// IFA_F_* flags.
    pub flags: u32,
}

impl VipSpec {
    pub fn new(addr: IpAddr, prefix_len: u8) -> Self {
        VipSpec {
            addr,
            prefix_len,
            dev: None,
            label: None,
            broadcast: None,
            peer: None,
            scope: 0,
            flags: 0,
        }
    }
}

/// The notify hooks of an instance or sync group.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NotifySpec {
    pub master: Option<String>,
    pub backup: Option<String>,
    pub fault: Option<String>,
    pub stop: Option<String>,
    /// `notify`: called with `INSTANCE|GROUP name STATE priority` after the specific one.
    pub generic: Option<String>,
    /// `notify_master_rx_lower_pri`.
    pub master_rx_lower_pri: Option<String>,
}

/// A tracked interface with its weight (0 = FAULT when down).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackedInterface {
    pub name: String,
    pub weight: i32,
    pub reverse: bool,
}

/// Everything the engine needs for one instance.
#[derive(Clone, Debug)]
pub struct InstanceSpec {
    pub name: String,
    pub interface: String,
    /// State machine parameters; `primary_address` is filled in by the engine
    /// from the interface (or `unicast_src`) when left unspecified.
    pub params: InstanceParams,
    /// Addresses carried in adverts.
    pub vips: Vec<VipSpec>,
    /// `virtual_ipaddress_excluded`: installed but not advertised.
    pub excluded_vips: Vec<VipSpec>,
    /// VRRPv2 `auth_type PASS`, zero-padded to 8 bytes.
    pub auth_pass: Option<[u8; 8]>,
    pub unicast_peers: Vec<UnicastPeer>,
    /// `unicast_src_ip` / `mcast_src_ip`.
    pub src_ip: Option<IpAddr>,
    /// Multicast group (default 224.0.0.18 / ff02::12).
    pub mcast_group: Option<IpAddr>,
    pub unicast_ttl: u8,
    pub v3_checksum_as_v2: bool,
    pub skip_check_adv_addr: bool,
    pub check_unicast_src: bool,
    /// `dont_track_primary`: the instance's own interface going down does not FAULT it.
    pub dont_track_primary: bool,
    pub track_interfaces: Vec<TrackedInterface>,
    pub notify: NotifySpec,
    /// Index into the engine's sync groups.
    pub sync_group: Option<usize>,
    /// `virtual_routes`: installed after the addresses when MASTER.
    pub routes: Vec<crate::config::model::vrrp::RouteSpec>,
    /// `virtual_rules`: installed after the routes when MASTER.
    pub rules: Vec<crate::config::model::vrrp::RuleSpec>,
}

impl InstanceSpec {
    pub fn is_ipv6(&self) -> bool {
        self.vips
            .first()
            .or(self.excluded_vips.first())
            .is_some_and(|v| v.addr.is_ipv6())
    }
}

/// A sync group: its name, notify hooks and member instance indices.
#[derive(Clone, Debug, Default)]
pub struct SyncGroupSpec {
    pub name: String,
    pub members: Vec<usize>,
    pub notify: NotifySpec,
}
