//! `virtual_routes` and `virtual_rules`: the configuration's `ip route` /
//! `ip rule` specifications as rtnetlink messages.
//!
//! Building the messages is pure (tested below, byte-level details are the
//! netlink crate's); [`super::netlink::Netlink`] sends them. An instance
//! installs its routes and rules after its addresses when it becomes MASTER
//! and removes them when it leaves MASTER, as keepalived does.

use crate::config::model::vrrp::Family;
use crate::config::model::vrrp::{RouteDst, RouteMetric, RouteSpec, RuleAction, RuleSpec};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteHeader, RouteMessage, RouteMetric as NlMetric,
    RouteNextHop, RouteNextHopFlags, RoutePreference, RouteProtocol, RouteRealm, RouteScope,
    RouteType,
};
use netlink_packet_route::rule::{
    RuleAction as NlRuleAction, RuleAttribute, RuleFlags, RuleMessage, RulePortRange, RuleUidRange,
};
use netlink_packet_route::AddressFamily;
use std::net::IpAddr;

/// keepalived's routing protocol number (`RTPROT_KEEPALIVED`): routes and
/// rules it tracks carry it, so they can be told apart from the admin's.
pub const RTPROT_KEEPALIVED: u8 = 18;
/// What `ip route add` uses when no protocol is given.
const RTPROT_BOOT: u8 = 3;
const RT_TABLE_MAIN: u32 = 254;

/// Why a specification cannot become a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteBuildError {
    #[error("no such interface {0}")]
    NoSuchInterface(String),
    #[error("{0} is not supported yet")]
    Unsupported(&'static str),
}

fn address_family(f: Family) -> AddressFamily {
    match f {
        Family::Inet => AddressFamily::Inet,
        Family::Inet6 => AddressFamily::Inet6,
    }
}

fn route_address(a: IpAddr) -> RouteAddress {
    match a {
        IpAddr::V4(a) => RouteAddress::Inet(a),
        IpAddr::V6(a) => RouteAddress::Inet6(a),
    }
}

/// (address, prefix length) of a destination; `None` for `default`.
fn prefix(d: &RouteDst) -> Option<(IpAddr, u8)> {
    match d {
        RouteDst::Default => None,
        RouteDst::Prefix(p) => Some((p.addr, p.len)),
    }
}

fn locked(metrics: &mut Vec<NlMetric>, lock: &mut u32, m: Option<RouteMetric>, bit: u32) {
    if let Some(m) = m {
        if m.lock {
            *lock |= 1 << bit;
        }
        let v = m.value;
        metrics.push(match bit {
            2 => NlMetric::Mtu(v),
            4 => NlMetric::Rtt(v),
            5 => NlMetric::RttVar(v),
            6 => NlMetric::SsThresh(v),
            7 => NlMetric::Cwnd(v),
            8 => NlMetric::Advmss(v),
            9 => NlMetric::Reordering(v),
            13 => NlMetric::RtoMin(v),
            _ => return,
        });
    }
}

/// The route message for a `virtual_routes` entry. `ifindex` resolves
/// interface names (`dev`, nexthop `dev`).
pub fn route_message(
    spec: &RouteSpec,
    ifindex: &dyn Fn(&str) -> Option<u32>,
) -> Result<RouteMessage, RouteBuildError> {
    if spec.encap.is_some() || spec.nexthop.iter().any(|n| n.encap.is_some()) {
        return Err(RouteBuildError::Unsupported("route encap"));
    }
    if spec.vrf.is_some() {
        return Err(RouteBuildError::Unsupported("route vrf"));
    }
    let resolve =
        |name: &str| ifindex(name).ok_or_else(|| RouteBuildError::NoSuchInterface(name.to_owned()));
    let table = spec.table.map_or(RT_TABLE_MAIN, |t| t.0);
    let kind = spec.route_type.map_or(1, |t| t.0);
    let mut msg = RouteMessage::default();
    msg.header = RouteHeader {
        address_family: address_family(spec.family),
        destination_prefix_length: prefix(&spec.to).map_or(0, |p| p.1),
        source_prefix_length: spec.from.as_ref().and_then(prefix).map_or(0, |p| p.1),
        tos: spec.tos.unwrap_or(0),
        // Tables above 255 only fit the attribute; the header says "unspec".
        table: u8::try_from(table).unwrap_or(0),
        protocol: RouteProtocol::from(spec.protocol.map_or(
            if spec.no_track {
                RTPROT_BOOT
            } else {
                RTPROT_KEEPALIVED
            },
            |p| p.0,
        )),
        scope: RouteScope::from(
            spec.scope
                .map_or_else(|| default_scope(spec, kind), |s| s.0),
        ),
        kind: RouteType::from(kind),
        flags: if spec.onlink {
            RouteFlags::Onlink
        } else {
            RouteFlags::empty()
        },
    };
    let a = &mut msg.attributes;
    a.push(RouteAttribute::Table(table));
    if let Some((addr, _)) = prefix(&spec.to) {
        a.push(RouteAttribute::Destination(route_address(addr)));
    }
    if let Some((addr, _)) = spec.from.as_ref().and_then(prefix) {
        a.push(RouteAttribute::Source(route_address(addr)));
    }
    if let Some(src) = spec.src {
        a.push(RouteAttribute::PrefSource(route_address(src)));
    }
    if let Some(via) = spec.via {
        a.push(RouteAttribute::Gateway(route_address(via)));
    }
    if let Some(dev) = &spec.dev {
        a.push(RouteAttribute::Oif(resolve(dev)?));
    }
    if let Some(m) = spec.metric {
        a.push(RouteAttribute::Priority(m));
    }
    if let Some(r) = spec.realms {
        a.push(RouteAttribute::Realm(RouteRealm {
            source: (r >> 16) as u16,
            destination: (r & 0xffff) as u16,
        }));
    }
    if let Some(e) = spec.expires {
        a.push(RouteAttribute::Expires(e));
    }
    if let Some(p) = spec.pref {
        a.push(RouteAttribute::Preference(RoutePreference::from(p)));
    }
    let mut metrics = Vec::new();
    let mut lock = 0u32;
    locked(&mut metrics, &mut lock, spec.mtu, 2);
    locked(&mut metrics, &mut lock, spec.rtt, 4);
    locked(&mut metrics, &mut lock, spec.rttvar, 5);
    locked(&mut metrics, &mut lock, spec.ssthresh, 6);
    locked(&mut metrics, &mut lock, spec.cwnd, 7);
    locked(&mut metrics, &mut lock, spec.advmss, 8);
    locked(&mut metrics, &mut lock, spec.reordering, 9);
    locked(&mut metrics, &mut lock, spec.rto_min, 13);
    if let Some(w) = spec.window {
        metrics.push(NlMetric::Window(w));
    }
    if let Some(h) = spec.hoplimit {
        metrics.push(NlMetric::Hoplimit(u32::from(h)));
    }
    if let Some(v) = spec.initcwnd {
        metrics.push(NlMetric::InitCwnd(v));
    }
    if let Some(v) = spec.initrwnd {
        metrics.push(NlMetric::InitRwnd(v));
    }
    if spec.features_ecn {
        metrics.push(NlMetric::Features(1));
    }
    if let Some(q) = spec.quickack {
        metrics.push(NlMetric::QuickAck(u32::from(q)));
    }
    if let Some(q) = spec.fastopen_no_cookie {
        metrics.push(NlMetric::FastopenNoCookie(u32::from(q)));
    }
    if let Some(c) = &spec.congctl {
        if c.lock {
            lock |= 1 << 16;
        }
        metrics.push(NlMetric::CcAlgo(c.name.clone()));
    }
    if lock != 0 {
        metrics.insert(0, NlMetric::Lock(lock));
    }
    if !metrics.is_empty() {
        a.push(RouteAttribute::Metrics(metrics));
    }
    if !spec.nexthop.is_empty() {
        let mut hops = Vec::new();
        for n in &spec.nexthop {
            let mut hop = RouteNextHop::default();
            if n.onlink {
                hop.flags = RouteNextHopFlags::Onlink;
            }
            // The kernel stores weight − 1.
            hop.hops = n.weight.map_or(0, |w| w.saturating_sub(1).min(255) as u8);
            if let Some(d) = &n.dev {
                hop.interface_index = resolve(d)?;
            }
            if let Some(via) = n.via {
                hop.attributes
                    .push(RouteAttribute::Gateway(route_address(via)));
            }
            if let Some(r) = n.realms {
                hop.attributes.push(RouteAttribute::Realm(RouteRealm {
                    source: (r >> 16) as u16,
                    destination: (r & 0xffff) as u16,
                }));
            }
            hops.push(hop);
        }
        a.push(RouteAttribute::MultiPath(hops));
    }
    Ok(msg)
}

/// `ip route`'s default scope: host for local routes, link for direct
/// unicast and broadcast routes, global otherwise.
fn default_scope(spec: &RouteSpec, kind: u8) -> u8 {
    const RTN_UNICAST: u8 = 1;
    const RTN_LOCAL: u8 = 2;
    const RTN_BROADCAST: u8 = 3;
    const RTN_ANYCAST: u8 = 4;
    const RTN_MULTICAST: u8 = 5;
    let gatewayed = spec.via.is_some() || spec.nexthop.iter().any(|n| n.via.is_some());
    match kind {
        RTN_LOCAL => 254,
        RTN_BROADCAST | RTN_ANYCAST | RTN_MULTICAST => 253,
        RTN_UNICAST if !gatewayed && spec.family == Family::Inet => 253,
        _ => 0,
    }
}

/// The rule message for a `virtual_rules` entry.
pub fn rule_message(spec: &RuleSpec) -> RuleMessage {
    let mut msg = RuleMessage::default();
    let table = spec.table.map(|t| t.0);
    msg.header.family = address_family(spec.family);
    msg.header.src_len = spec.from.as_ref().and_then(prefix).map_or(0, |p| p.1);
    msg.header.dst_len = spec.to.as_ref().and_then(prefix).map_or(0, |p| p.1);
    msg.header.tos = spec.tos.unwrap_or(0);
    msg.header.table = table.and_then(|t| u8::try_from(t).ok()).unwrap_or(0);
    msg.header.action = match (spec.action, spec.goto, table) {
        (Some(RuleAction::Nop), _, _) => NlRuleAction::Nop,
        (Some(RuleAction::Blackhole), _, _) => NlRuleAction::Blackhole,
        (Some(RuleAction::Unreachable), _, _) => NlRuleAction::Unreachable,
        (Some(RuleAction::Prohibit), _, _) => NlRuleAction::Prohibit,
        (None, Some(_), _) => NlRuleAction::Goto,
        _ => NlRuleAction::ToTable,
    };
    if spec.not {
        msg.header.flags = RuleFlags::Invert;
    }
    let a = &mut msg.attributes;
    a.push(RuleAttribute::Priority(spec.preference));
    if let Some((addr, _)) = spec.from.as_ref().and_then(prefix) {
        a.push(RuleAttribute::Source(addr));
    }
    if let Some((addr, _)) = spec.to.as_ref().and_then(prefix) {
        a.push(RuleAttribute::Destination(addr));
    }
    if let Some(t) = table {
        a.push(RuleAttribute::Table(t));
    } else if msg.header.action == NlRuleAction::ToTable && !spec.l3mdev {
        a.push(RuleAttribute::Table(RT_TABLE_MAIN));
        msg.header.table = RT_TABLE_MAIN as u8;
    }
    if let Some(g) = spec.goto {
        a.push(RuleAttribute::Goto(g));
    }
    if let Some(m) = spec.fwmark {
        a.push(RuleAttribute::FwMark(m));
    }
    if let Some(m) = spec.fwmask {
        a.push(RuleAttribute::FwMask(m));
    }
    if let Some(r) = spec.realms {
        a.push(RuleAttribute::Realm(RouteRealm {
            source: (r >> 16) as u16,
            destination: (r & 0xffff) as u16,
        }));
    }
    if let Some(v) = spec.suppress_prefixlength {
        a.push(RuleAttribute::SuppressPrefixLen(v));
    }
    if let Some(v) = spec.suppress_ifgroup {
        a.push(RuleAttribute::SuppressIfGroup(v));
    }
    if let Some(i) = &spec.iif {
        a.push(RuleAttribute::Iifname(i.clone()));
    }
    if let Some(o) = &spec.oif {
        a.push(RuleAttribute::Oifname(o.clone()));
    }
    if let Some(t) = spec.tunnel_id {
        a.push(RuleAttribute::TunId(t));
    }
    if spec.l3mdev {
        a.push(RuleAttribute::L3MDev(true));
    }
    if let Some(u) = spec.uidrange {
        a.push(RuleAttribute::UidRange(RuleUidRange {
            start: u.start,
            end: u.end,
        }));
    }
    a.push(RuleAttribute::Protocol(RouteProtocol::from(
        spec.protocol.unwrap_or(if spec.no_track {
            RTPROT_BOOT
        } else {
            RTPROT_KEEPALIVED
        }),
    )));
    if let Some(p) = spec.ipproto {
        a.push(RuleAttribute::IpProtocol(p.into()));
    }
    if let Some(p) = spec.sport {
        a.push(RuleAttribute::SourcePortRange(RulePortRange {
            start: p.start,
            end: p.end,
        }));
    }
    if let Some(p) = spec.dport {
        a.push(RuleAttribute::DestinationPortRange(RulePortRange {
            start: p.start,
            end: p.end,
        }));
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::vrrp::{Nexthop, RtScope, RtTable};
    use crate::config::values::IpPrefix;

    fn dst(s: &str) -> RouteDst {
        RouteDst::Prefix(s.parse::<IpPrefix>().unwrap())
    }

    fn eth0(name: &str) -> Option<u32> {
        (name == "eth0").then_some(7)
    }

    #[test]
    fn gatewayed_route_is_global_in_main_with_keepalived_protocol() {
        let spec = RouteSpec {
            to: dst("10.9.0.0/16"),
            via: Some("192.168.1.1".parse().unwrap()),
            dev: Some("eth0".into()),
            metric: Some(5),
            ..Default::default()
        };
        let m = route_message(&spec, &eth0).unwrap();
        assert_eq!(m.header.destination_prefix_length, 16);
        assert_eq!(m.header.table, 254);
        assert_eq!(m.header.scope, RouteScope::Universe);
        assert_eq!(m.header.protocol, RouteProtocol::from(18));
        assert_eq!(m.header.kind, RouteType::Unicast);
        assert!(m.attributes.contains(&RouteAttribute::Oif(7)));
        assert!(m.attributes.contains(&RouteAttribute::Priority(5)));
        assert!(m
            .attributes
            .contains(&RouteAttribute::Gateway(RouteAddress::Inet(
                "192.168.1.1".parse().unwrap()
            ))));
    }

    #[test]
    fn direct_route_is_link_scope_and_big_table_goes_to_the_attribute() {
        let spec = RouteSpec {
            to: dst("10.9.0.0/16"),
            dev: Some("eth0".into()),
            table: Some(RtTable(1000)),
            ..Default::default()
        };
        let m = route_message(&spec, &eth0).unwrap();
        assert_eq!(m.header.scope, RouteScope::Link);
        assert_eq!(m.header.table, 0);
        assert!(m.attributes.contains(&RouteAttribute::Table(1000)));
        let explicit = RouteSpec {
            scope: Some(RtScope(200)),
            ..spec
        };
        assert_eq!(
            route_message(&explicit, &eth0).unwrap().header.scope,
            RouteScope::from(200)
        );
    }

    #[test]
    fn unknown_interface_and_encap_are_errors_not_panics() {
        let spec = RouteSpec {
            to: dst("10.9.0.0/16"),
            dev: Some("nope".into()),
            ..Default::default()
        };
        assert_eq!(
            route_message(&spec, &eth0).unwrap_err(),
            RouteBuildError::NoSuchInterface("nope".into())
        );
        let spec = RouteSpec {
            encap: Some(Default::default()),
            ..Default::default()
        };
        assert!(matches!(
            route_message(&spec, &eth0),
            Err(RouteBuildError::Unsupported(_))
        ));
    }

    #[test]
    fn metrics_and_locks() {
        let spec = RouteSpec {
            to: dst("10.9.0.0/16"),
            via: Some("192.168.1.1".parse().unwrap()),
            mtu: Some(RouteMetric {
                value: 1400,
                lock: true,
            }),
            advmss: Some(RouteMetric {
                value: 1360,
                lock: false,
            }),
            ..Default::default()
        };
        let m = route_message(&spec, &eth0).unwrap();
        let metrics = m
            .attributes
            .iter()
            .find_map(|a| match a {
                RouteAttribute::Metrics(v) => Some(v.clone()),
                _ => None,
            })
            .unwrap();
        assert_eq!(
            metrics,
            vec![
                NlMetric::Lock(1 << 2),
                NlMetric::Mtu(1400),
                NlMetric::Advmss(1360)
            ]
        );
    }

    #[test]
    fn multipath_weights_are_stored_minus_one() {
        let spec = RouteSpec {
            to: dst("10.9.0.0/16"),
            nexthop: vec![
                Nexthop {
                    via: Some("192.168.1.1".parse().unwrap()),
                    dev: Some("eth0".into()),
                    weight: Some(2),
                    ..Default::default()
                },
                Nexthop {
                    via: Some("192.168.1.2".parse().unwrap()),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let m = route_message(&spec, &eth0).unwrap();
        let hops = m
            .attributes
            .iter()
            .find_map(|a| match a {
                RouteAttribute::MultiPath(v) => Some(v.clone()),
                _ => None,
            })
            .unwrap();
        assert_eq!(hops.len(), 2);
        assert_eq!((hops[0].hops, hops[0].interface_index), (1, 7));
        assert_eq!((hops[1].hops, hops[1].interface_index), (0, 0));
        assert_eq!(m.header.scope, RouteScope::Universe);
    }

    #[test]
    fn rule_to_table_with_source_and_preference() {
        let spec = RuleSpec {
            from: Some(dst("10.1.0.0/24")),
            table: Some(RtTable(100)),
            preference: 100,
            ..Default::default()
        };
        let m = rule_message(&spec);
        assert_eq!(m.header.action, NlRuleAction::ToTable);
        assert_eq!((m.header.src_len, m.header.table), (24, 100));
        assert!(m.attributes.contains(&RuleAttribute::Priority(100)));
        assert!(m.attributes.contains(&RuleAttribute::Table(100)));
        assert!(m
            .attributes
            .contains(&RuleAttribute::Source("10.1.0.0".parse().unwrap())));
        assert!(m
            .attributes
            .contains(&RuleAttribute::Protocol(RouteProtocol::from(18))));
    }

    #[test]
    fn rule_actions_goto_and_not() {
        let spec = RuleSpec {
            action: Some(RuleAction::Blackhole),
            not: true,
            fwmark: Some(3),
            ..Default::default()
        };
        let m = rule_message(&spec);
        assert_eq!(m.header.action, NlRuleAction::Blackhole);
        assert_eq!(m.header.flags, RuleFlags::Invert);
        assert!(!m
            .attributes
            .iter()
            .any(|a| matches!(a, RuleAttribute::Table(_))));
        let goto = RuleSpec {
            goto: Some(200),
            ..Default::default()
        };
        let m = rule_message(&goto);
        assert_eq!(m.header.action, NlRuleAction::Goto);
        assert!(m.attributes.contains(&RuleAttribute::Goto(200)));
    }
}
