//! Gratuitous ARP and unsolicited neighbour advertisement frames (sans-IO).
//!
//! A new master announces each virtual address so that hosts and switches move it to its
//! MAC at once, instead of waiting for their caches to expire. These builders produce the
//! exact bytes keepalived 2.2.7 sends (checked against captures in
//! `tests/vrrp_packet_vectors.rs`); sending them (AF_PACKET, bursts, delays) is the caller's job.
//!
//! Only Ethernet is supported (keepalived also speaks IPoIB for ARP).

use std::net::{Ipv4Addr, Ipv6Addr};

use etherparse::{
    icmpv6::NeighborAdvertisementHeader, ArpEthIpv4Packet, ArpOperation, ArpPacket, EtherType,
    Ethernet2Header, Icmpv6Header, Icmpv6Type, IpNumber, Ipv6FlowLabel, Ipv6Header,
};

/// An Ethernet MAC address.
pub type MacAddr = [u8; 6];

/// The Ethernet broadcast address: destination of a gratuitous ARP, and (as keepalived sends
/// it) its target hardware address.
pub const BROADCAST_MAC: MacAddr = [0xff; 6];

/// IPv6 all-nodes multicast group, destination of an unsolicited NA (RFC 4861 §7.2.6).
pub const IPV6_ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// Ethernet address of ff02::1 (RFC 2464 §7: 33:33 + low 32 bits of the group).
pub const IPV6_ALL_NODES_MAC: MacAddr = [0x33, 0x33, 0, 0, 0, 1];

/// Hop limit of neighbour discovery messages; receivers drop any other (RFC 4861 §7.1.2).
pub const ND_HOP_LIMIT: u8 = 255;

/// Length of a gratuitous ARP frame: 14 (Ethernet) + 28 (ARP for Ethernet/IPv4). The NIC
/// pads it to 60 on the wire.
pub const GARP_FRAME_LEN: usize = Ethernet2Header::LEN + ArpEthIpv4Packet::LEN;

/// Length of the unsolicited NA ICMPv6 message: 8 (ICMPv6 header and flags) + 16 (target)
/// + 8 (target link-layer address option).
pub const NA_ICMPV6_LEN: usize = 8 + 16 + 8;

/// Length of the unsolicited NA Ethernet frame: 14 + 40 (IPv6) + 32.
pub const NA_FRAME_LEN: usize = Ethernet2Header::LEN + Ipv6Header::LEN + NA_ICMPV6_LEN;

/// NDP option type "Target Link-Layer Address" (RFC 4861 §4.6.1).
const ND_OPT_TARGET_LINKADDR: u8 = 2;

/// Builds the gratuitous ARP keepalived sends for `vip` from an interface with MAC `if_mac`
/// (the VMAC when `use_vmac` is set): a broadcast ARP *request* whose sender and target IP
/// are both the VIP, with sender MAC `if_mac` and target MAC ff:ff:ff:ff:ff:ff (not zeros,
/// as RFC 5227 would have it: that is what keepalived sends and what peers have always seen).
///
/// The result is a complete Ethernet frame for an `AF_PACKET`/`SOCK_RAW` socket.
pub fn gratuitous_arp(if_mac: MacAddr, vip: Ipv4Addr) -> [u8; GARP_FRAME_LEN] {
    let eth = Ethernet2Header {
        source: if_mac,
        destination: BROADCAST_MAC,
        ether_type: EtherType::ARP,
    };
    let arp = ArpEthIpv4Packet {
        operation: ArpOperation::REQUEST,
        sender_mac: if_mac,
        sender_ipv4: vip.octets(),
        target_mac: BROADCAST_MAC,
        target_ipv4: vip.octets(),
    };
    let mut out = [0u8; GARP_FRAME_LEN];
    let (head, tail) = out.split_at_mut(Ethernet2Header::LEN);
    head.copy_from_slice(&eth.to_bytes());
    tail.copy_from_slice(&arp.to_bytes());
    out
}

/// Parses a frame as keepalived's gratuitous ARP, returning (sender MAC, VIP); `None` for
/// anything else. Used to recognise announcements (ours or a peer's) in captures and tests.
pub fn parse_gratuitous_arp(frame: &[u8]) -> Option<(MacAddr, Ipv4Addr)> {
    let (eth, rest) = Ethernet2Header::from_slice(frame).ok()?;
    if eth.ether_type != EtherType::ARP || eth.destination != BROADCAST_MAC {
        return None;
    }
    let arp = ArpPacket::from_slice(rest).ok()?.try_eth_ipv4().ok()?;
    let garp = arp.operation == ArpOperation::REQUEST
        && arp.sender_ipv4 == arp.target_ipv4
        && arp.sender_mac == eth.source;
    garp.then(|| (arp.sender_mac, arp.sender_ipv4_addr()))
}

/// The unsolicited neighbour advertisement ICMPv6 message for `target` (RFC 4861 §7.2.6):
/// type 136, Override set (so caches switch to `if_mac` at once), Router set when
/// `router` (keepalived sets it when the interface forwards IPv6), Solicited clear,
/// target `target`, and a target link-layer address option with `if_mac`.
///
/// `src` is the IPv6 source the message will leave with; it only enters the checksum
/// (pseudo-header with destination ff02::1). Use this as the payload of a raw ICMPv6
/// socket sending to ff02::1 with hop limit 255 (the kernel recomputes the checksum of
/// raw ICMPv6 sockets anyway).
pub fn unsolicited_na_icmpv6(
    if_mac: MacAddr,
    target: Ipv6Addr,
    src: Ipv6Addr,
    router: bool,
) -> [u8; NA_ICMPV6_LEN] {
    let mut body = [0u8; NA_ICMPV6_LEN - 8];
    body[..16].copy_from_slice(&target.octets());
    body[16] = ND_OPT_TARGET_LINKADDR;
    body[17] = 1; // option length in units of 8 octets
    body[18..].copy_from_slice(&if_mac);

    let na = Icmpv6Type::NeighborAdvertisement(NeighborAdvertisementHeader {
        router,
        solicited: false,
        r#override: true,
    });
    // `with_checksum` fails only for payloads over 4 GiB; ours is 24 bytes.
    let header = Icmpv6Header::with_checksum(na, src.octets(), IPV6_ALL_NODES.octets(), &body)
        .unwrap_or_else(|_| Icmpv6Header::new(na));

    let mut out = [0u8; NA_ICMPV6_LEN];
    let (head, tail) = out.split_at_mut(8);
    head.copy_from_slice(&header.to_bytes());
    tail.copy_from_slice(&body);
    out
}

/// The unsolicited neighbour advertisement as keepalived sends it, a complete Ethernet
/// frame for an `AF_PACKET` socket: 33:33:00:00:00:01 ← `if_mac`, IPv6 from `target` itself
/// to ff02::1 with hop limit 255, then [`unsolicited_na_icmpv6`].
pub fn unsolicited_na_frame(if_mac: MacAddr, target: Ipv6Addr, router: bool) -> [u8; NA_FRAME_LEN] {
    let eth = Ethernet2Header {
        source: if_mac,
        destination: IPV6_ALL_NODES_MAC,
        ether_type: EtherType::IPV6,
    };
    let ip6 = Ipv6Header {
        traffic_class: 0,
        flow_label: Ipv6FlowLabel::ZERO,
        payload_length: NA_ICMPV6_LEN as u16,
        next_header: IpNumber::IPV6_ICMP,
        hop_limit: ND_HOP_LIMIT,
        source: target.octets(),
        destination: IPV6_ALL_NODES.octets(),
    };
    let icmp = unsolicited_na_icmpv6(if_mac, target, target, router);

    let mut out = [0u8; NA_FRAME_LEN];
    let (e, rest) = out.split_at_mut(Ethernet2Header::LEN);
    let (i, n) = rest.split_at_mut(Ipv6Header::LEN);
    e.copy_from_slice(&eth.to_bytes());
    i.copy_from_slice(&ip6.to_bytes());
    n.copy_from_slice(&icmp);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::{NetSlice, SlicedPacket, TransportSlice};

    const LB2_MAC: MacAddr = [0x02, 0x77, 0, 0, 0, 0x12];
    const VIP: Ipv4Addr = Ipv4Addr::new(192, 168, 77, 100);

    /// Independent RFC 1071 sum, to check etherparse's ICMPv6 checksum.
    fn ones_sum(parts: &[&[u8]]) -> u16 {
        let mut s: u32 = 0;
        for p in parts {
            for w in p.chunks(2) {
                s += u32::from(w[0]) << 8 | u32::from(*w.get(1).unwrap_or(&0));
            }
        }
        while s > 0xffff {
            s = (s & 0xffff) + (s >> 16);
        }
        s as u16
    }

    #[test]
    fn garp_matches_keepalived_capture() {
        // lb2's GARP from v3-adv0.1-term-failover.pcap.
        let expected: [u8; 42] = [
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x77, 0x00, 0x00, 0x00, 0x12, 0x08, 0x06,
            0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x77, 0x00, 0x00, 0x00, 0x12,
            0xc0, 0xa8, 0x4d, 0x64, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xc0, 0xa8, 0x4d, 0x64,
        ];
        assert_eq!(gratuitous_arp(LB2_MAC, VIP), expected);
        assert_eq!(parse_gratuitous_arp(&expected), Some((LB2_MAC, VIP)));
    }

    #[test]
    fn parse_rejects_non_garp() {
        let mut f = gratuitous_arp(LB2_MAC, VIP);
        f[41] = 0x65; // target IP differs: an ordinary request
        assert_eq!(parse_gratuitous_arp(&f), None);
        assert_eq!(parse_gratuitous_arp(&f[..20]), None);
        let mut f = gratuitous_arp(LB2_MAC, VIP);
        f[21] = 2; // reply
        assert_eq!(parse_gratuitous_arp(&f), None);
    }

    #[test]
    fn na_icmpv6_layout_and_checksum() {
        let target: Ipv6Addr = "2001:db8::100".parse().unwrap();
        let src: Ipv6Addr = "fe80::77:12".parse().unwrap();
        let m = unsolicited_na_icmpv6(LB2_MAC, target, src, false);
        assert_eq!(m[0], 136);
        assert_eq!(m[1], 0);
        assert_eq!(m[4], 0x20); // Override only
        assert_eq!(&m[5..8], &[0, 0, 0]);
        assert_eq!(&m[8..24], &target.octets());
        assert_eq!(&m[24..26], &[2, 1]);
        assert_eq!(&m[26..32], &LB2_MAC);
        // Verify: pseudo-header + message (checksum included) sums to 0xffff.
        let len = (NA_ICMPV6_LEN as u32).to_be_bytes();
        let total = ones_sum(&[
            &src.octets(),
            &IPV6_ALL_NODES.octets(),
            &len,
            &[0, 0, 0, 58],
            &m,
        ]);
        assert_eq!(total, 0xffff);

        let r = unsolicited_na_icmpv6(LB2_MAC, target, src, true);
        assert_eq!(r[4], 0xa0); // Router + Override
    }

    #[test]
    fn na_frame_as_keepalived_builds_it() {
        let target: Ipv6Addr = "fe80::100".parse().unwrap();
        let f = unsolicited_na_frame(LB2_MAC, target, true);
        assert_eq!(&f[..6], &IPV6_ALL_NODES_MAC);
        assert_eq!(&f[6..12], &LB2_MAC);
        assert_eq!(&f[12..14], &[0x86, 0xdd]);
        assert_eq!(f[14] >> 4, 6);
        assert_eq!(&f[18..20], &[0, 32]); // payload length
        assert_eq!(f[20], 58); // ICMPv6
        assert_eq!(f[21], 255); // hop limit
        assert_eq!(&f[22..38], &target.octets()); // source = the VIP itself
        assert_eq!(&f[38..54], &IPV6_ALL_NODES.octets());
        assert_eq!(
            &f[54..],
            &unsolicited_na_icmpv6(LB2_MAC, target, target, true)
        );

        // And etherparse reads it back as an NA with the right flags.
        let p = SlicedPacket::from_ethernet(&f).unwrap();
        let Some(NetSlice::Ipv6(ip)) = p.net else {
            panic!("not IPv6")
        };
        assert_eq!(ip.header().hop_limit(), 255);
        let Some(TransportSlice::Icmpv6(icmp)) = p.transport else {
            panic!("not ICMPv6")
        };
        let Icmpv6Type::NeighborAdvertisement(na) = icmp.icmp_type() else {
            panic!("not an NA")
        };
        assert!(na.router && na.r#override && !na.solicited);
        assert!(icmp.is_checksum_valid(ip.header().source(), ip.header().destination()));
    }
}
