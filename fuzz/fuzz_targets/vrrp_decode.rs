//! Fuzz the VRRP receive path: IPv4 header parsing, advert decoding and validation must
//! never panic on any input, and whatever decodes must re-encode and decode to itself.
//!
//! Input layout: one control byte, then the packet. Control bits:
//! - 0: IPv6 instance (else IPv4; for IPv4 the packet starts with an IPv4 header when bit 1
//!   is set, as a raw socket delivers it)
//! - 1: parse an IPv4 header first
//! - 2: instance is VRRPv3 (else v2)
//! - 3: unicast instance, 4: check_unicast_src
//! - 5: skip_check_adv_addr with the sender as current master
//! - 6: instance VIPs/interval/auth taken from the packet itself (reaches the later checks)
//! - 7: TTL unknown
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use keepalived_rs::net::garp::parse_gratuitous_arp;
use keepalived_rs::vrrp::packet::{
    validate, Advertisement, AuthType, Checksum, Family, Ipv4Header, RxAuth, RxMeta, RxParams,
    UnicastParams, UnicastPeer, VersionFields, VrrpVersion, MCAST_GROUP_V4, MCAST_GROUP_V6,
};
use libfuzzer_sys::fuzz_target;

fn bit(ctl: u8, n: u8) -> bool {
    ctl & (1 << n) != 0
}

/// decode → encode → decode is the identity.
fn check_roundtrip(bytes: &[u8], family: Family, meta: &RxMeta) {
    let Ok(a) = Advertisement::decode(bytes, family) else {
        return;
    };
    let form = Checksum::for_send(a.version(), meta.src, meta.dst, false);
    let encoded = a
        .encode(form)
        .unwrap_or_else(|e| panic!("decoded advert does not encode: {e}: {a:?}"));
    assert_eq!(encoded.len(), bytes.len());
    let again = Advertisement::decode(&encoded, family).expect("re-decode");
    assert_eq!(again, a);
}

fuzz_target!(|data: &[u8]| {
    let _ = parse_gratuitous_arp(data);
    let Some((&ctl, rest)) = data.split_first() else {
        return;
    };
    let family = if bit(ctl, 0) {
        Family::Ipv6
    } else {
        Family::Ipv4
    };
    let ttl = if bit(ctl, 7) { None } else { Some(255) };

    let (meta, vrrp) = match family {
        Family::Ipv4 if bit(ctl, 1) => match Ipv4Header::parse(rest) {
            Ok((hdr, payload)) => {
                let mut m = hdr.rx_meta();
                if bit(ctl, 7) {
                    m.ttl_or_hoplimit = None;
                }
                (m, payload)
            }
            Err(_) => return,
        },
        Family::Ipv4 => (
            RxMeta {
                src: IpAddr::V4(Ipv4Addr::new(192, 168, 77, 11)),
                dst: IpAddr::V4(MCAST_GROUP_V4),
                ttl_or_hoplimit: ttl,
                multicast: !bit(ctl, 3),
            },
            rest,
        ),
        Family::Ipv6 => (
            RxMeta {
                src: IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x11)),
                dst: IpAddr::V6(MCAST_GROUP_V6),
                ttl_or_hoplimit: ttl,
                multicast: !bit(ctl, 3),
            },
            rest,
        ),
    };

    check_roundtrip(vrrp, family, &meta);

    let version = if bit(ctl, 2) {
        VrrpVersion::V3
    } else {
        VrrpVersion::V2
    };
    let vrid = vrrp.get(1).copied().unwrap_or(0);
    let mut params = RxParams::new(version, family, vrid, 100, vec![meta.src]);
    if bit(ctl, 6) {
        if let Ok(a) = Advertisement::decode(vrrp, family) {
            params.vips = a.addresses.clone();
            params.advert_int_cs = a.advert_int_cs();
            if let VersionFields::V2 {
                auth_type: AuthType::SimplePassword,
                auth_data,
                ..
            } = a.fields
            {
                params.auth = RxAuth::Pass(auth_data);
            }
        }
    }
    if bit(ctl, 3) {
        params.unicast = Some(UnicastParams {
            peers: vec![UnicastPeer::new(meta.src)],
            check_src: bit(ctl, 4),
        });
    }
    if bit(ctl, 5) {
        params.skip_check_adv_addr = true;
        params.current_master = Some(meta.src);
    }

    if let Ok(valid) = validate(&meta, vrrp, &params) {
        // Accepted adverts decode identically on their own and carry our VRID.
        assert_eq!(valid.advert.vrid, params.vrid);
        assert_eq!(
            Advertisement::decode(vrrp, family).as_ref(),
            Ok(&valid.advert)
        );
    }
});
