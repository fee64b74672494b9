//! The typed configuration model: one serde schema for keepalived.conf and for
//! its TOML form (`-f site.toml`).  It holds values only, no source locations,
//! so keepalived.conf → model → TOML → model is lossless.
//!
//! Field names are keepalived's keywords (lists are plural where keepalived
//! allows several blocks of the same kind).  Defaults are keepalived's.

pub mod global;
pub mod lvs;
pub mod vrrp;

pub use global::*;
pub use lvs::*;
pub use vrrp::*;

use serde::{Deserialize, Serialize};

/// A whole configuration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub global_defs: GlobalDefs,
    pub vrrp_script: Vec<VrrpScript>,
    pub track_file: Vec<TrackFile>,
    pub vrrp_track_process: Vec<TrackProcess>,
    pub vrrp_sync_group: Vec<SyncGroup>,
    pub vrrp_instance: Vec<VrrpInstance>,
    pub static_ipaddress: Vec<IpAddressSpec>,
    pub static_routes: Vec<RouteSpec>,
    pub static_rules: Vec<RuleSpec>,
    pub track_group: Vec<TrackGroup>,
    pub garp_group: Vec<GarpGroup>,
    pub linkbeat_interfaces: Vec<LinkbeatInterface>,
    pub interface_up_down_delays: Vec<InterfaceUpDownDelay>,
    pub bfd_instance: Vec<BfdInstance>,
    pub virtual_server_group: Vec<VirtualServerGroup>,
    pub virtual_server: Vec<VirtualServer>,
    #[serde(rename = "SSL", skip_serializing_if = "Option::is_none")]
    pub ssl: Option<SslContext>,
}
