//! The one interface between the checkers and the IPVS syncer.
//!
//! A real server is *alive* when every one of its checkers is up (keepalived's
//! rule: one failed checker takes the server out). The checker side owns
//! rise/fall/retry counting, alpha and notify_up/notify_down; the syncer owns
//! what the kernel gets (inhibit_on_failure, quorum, sorry server).

use crate::config::model::lvs::{ServiceProtocol, VirtualServer};
use serde::Serialize;
use std::net::IpAddr;

/// Identifies a virtual server across reloads the way keepalived matches
/// them: by address, port and protocol, by firewall mark and family, or by the
/// name of its virtual_server_group.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum ServiceKey {
    Address {
        addr: IpAddr,
        port: u16,
        protocol: Option<ServiceProtocol>,
    },
    Fwmark {
        mark: u32,
        ipv6: bool,
    },
    Group {
        name: String,
        protocol: Option<ServiceProtocol>,
    },
}

impl ServiceKey {
    /// The key of a configured virtual server (`None` for one keepalived drops:
    /// neither address, fwmark nor group).
    pub fn of(vs: &VirtualServer) -> Option<ServiceKey> {
        if let Some(name) = &vs.group {
            return Some(ServiceKey::Group {
                name: name.clone(),
                protocol: vs.protocol,
            });
        }
        if let Some(mark) = vs.mark() {
            let ipv6 = matches!(
                vs.ip_family,
                Some(crate::config::model::lvs::ServiceFamily::Inet6)
            );
            return Some(ServiceKey::Fwmark { mark, ipv6 });
        }
        vs.address.map(|addr| ServiceKey::Address {
            addr,
            port: vs.port.unwrap_or(0),
            protocol: vs.protocol,
        })
    }
}

impl std::fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let proto = |p: &Option<ServiceProtocol>| p.map_or("none", |p| p.label());
        match self {
            ServiceKey::Address {
                addr,
                port,
                protocol,
            } => write!(f, "[{addr}]:{}:{port}", proto(protocol)),
            ServiceKey::Fwmark { mark, ipv6 } => {
                write!(f, "FWM {mark}{}", if *ipv6 { " (IPv6)" } else { "" })
            }
            ServiceKey::Group { name, protocol } => {
                write!(f, "group {name}:{}", proto(protocol))
            }
        }
    }
}

/// Identifies one real server of one virtual server.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct RealServerKey {
    pub service: ServiceKey,
    pub addr: IpAddr,
    pub port: u16,
}

impl std::fmt::Display for RealServerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}]:{} of {}", self.addr, self.port, self.service)
    }
}

/// A change in what the checkers say about one real server. Sent only on
/// change (and once per real server at start, after alpha is applied).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RealServerUpdate {
    pub key: RealServerKey,
    /// Every checker of the real server is up (true also for a real server
    /// without checkers).
    pub alive: bool,
    /// A weight set by a checker (`misc_dynamic` exit code − 2); `None`:
    /// the configured weight.
    pub weight: Option<u32>,
    /// Human-readable reason of the last change (for logs and status).
    pub reason: String,
}
