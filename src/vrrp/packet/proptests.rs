//! Property tests: encode → decode is the identity, encoded adverts validate, and no input
//! makes the parsers panic.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;

use super::advert::checksum_ok;
use super::*;

fn ipv4() -> impl Strategy<Value = IpAddr> + Clone {
    any::<[u8; 4]>().prop_map(|o| IpAddr::V4(Ipv4Addr::from(o)))
}

fn ipv6() -> impl Strategy<Value = IpAddr> + Clone {
    any::<[u8; 16]>().prop_map(|o| IpAddr::V6(Ipv6Addr::from(o)))
}

/// Address lists: usually short, sometimes the 255 maximum.
fn addrs(addr: impl Strategy<Value = IpAddr> + Clone) -> impl Strategy<Value = Vec<IpAddr>> {
    prop_oneof![
        8 => prop::collection::vec(addr.clone(), 0..=20),
        1 => prop::collection::vec(addr, 255),
    ]
}

fn v2() -> impl Strategy<Value = Advertisement> {
    (
        any::<u8>(),
        any::<u8>(),
        addrs(ipv4()),
        // The defined auth types often, any other octet sometimes.
        prop_oneof![Just(0u8), Just(1), Just(2), any::<u8>()],
        any::<[u8; 8]>(),
        any::<u8>(),
    )
        .prop_map(
            |(vrid, priority, addresses, at, auth_data, advert_int_s)| Advertisement {
                vrid,
                priority,
                addresses,
                fields: VersionFields::V2 {
                    auth_type: AuthType::from(at),
                    auth_data,
                    advert_int_s,
                },
            },
        )
}

fn v3(addr: impl Strategy<Value = IpAddr> + Clone) -> impl Strategy<Value = Advertisement> {
    (
        any::<u8>(),
        any::<u8>(),
        addrs(addr),
        0..=MAX_V3_ADVERT_INT_CS,
    )
        .prop_map(|(vrid, priority, addresses, cs)| Advertisement {
            vrid,
            priority,
            addresses,
            fields: VersionFields::V3 {
                max_advert_int_cs: cs,
            },
        })
}

/// Receive parameters that accept `a` exactly as sent (multicast, addresses checked).
fn params_for(a: &Advertisement, family: Family) -> RxParams {
    let mut p = RxParams::new(
        a.version(),
        family,
        a.vrid,
        a.advert_int_cs(),
        a.addresses.clone(),
    );
    if let VersionFields::V2 {
        auth_type: AuthType::SimplePassword,
        auth_data,
        ..
    } = a.fields
    {
        p.auth = RxAuth::Pass(auth_data);
    }
    p
}

fn roundtrip(a: &Advertisement, family: Family, form: Checksum) -> Result<(), TestCaseError> {
    let bytes = a
        .encode(form)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert!(checksum_ok(&bytes, form));
    prop_assert_eq!(&Advertisement::decode(&bytes, family)?, a);
    Ok(())
}

proptest! {
    #[test]
    fn v2_ipv4_roundtrip(a in v2()) {
        roundtrip(&a, Family::Ipv4, Checksum::MessageOnly)?;
    }

    #[test]
    fn v3_ipv4_roundtrip(a in v3(ipv4()), src in ipv4(), dst in ipv4(), as_v2 in any::<bool>()) {
        roundtrip(&a, Family::Ipv4, Checksum::for_send(VrrpVersion::V3, src, dst, as_v2))?;
    }

    #[test]
    fn v3_ipv6_roundtrip(a in v3(ipv6()), src in ipv6(), dst in ipv6()) {
        roundtrip(&a, Family::Ipv6, Checksum::for_send(VrrpVersion::V3, src, dst, false))?;
    }

    /// What a keepalived-style sender emits, a receiver configured alike accepts unchanged.
    #[test]
    fn v2_encoded_adverts_validate(a in v2(), src in ipv4()) {
        prop_assume!(matches!(
            a.fields,
            VersionFields::V2 { auth_type: AuthType::None | AuthType::SimplePassword, .. }
        ));
        let bytes = a.encode(Checksum::MessageOnly).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let meta = RxMeta { src, dst: IpAddr::V4(MCAST_GROUP_V4), ttl_or_hoplimit: Some(255), multicast: true };
        let v = validate(&meta, &bytes, &params_for(&a, Family::Ipv4));
        prop_assert_eq!(v.map(|v| v.advert), Ok(a));
    }

    #[test]
    fn v3_encoded_adverts_validate(
        (a, src, family) in prop_oneof![
            (v3(ipv4()), ipv4(), Just(Family::Ipv4)),
            (v3(ipv6()), ipv6(), Just(Family::Ipv6)),
        ],
        as_v2 in any::<bool>(),
    ) {
        let dst = match family {
            Family::Ipv4 => IpAddr::V4(MCAST_GROUP_V4),
            Family::Ipv6 => IpAddr::V6(MCAST_GROUP_V6),
        };
        let bytes = a.encode(Checksum::for_send(VrrpVersion::V3, src, dst, as_v2))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let meta = RxMeta { src, dst, ttl_or_hoplimit: Some(255), multicast: true };
        let v = validate(&meta, &bytes, &params_for(&a, family))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&v.advert, &a);
        let expected = if as_v2 && family == Family::Ipv4 {
            // A message-only checksum can coincide with the pseudo-header one only if the
            // pseudo-header sums to zero (one's complement), which random addresses may do.
            [ChecksumVariant::AsV2, ChecksumVariant::Standard]
        } else {
            [ChecksumVariant::Standard, ChecksumVariant::Standard]
        };
        prop_assert!(expected.contains(&v.checksum));
    }

    /// Arbitrary bytes never panic any entry point, whatever the parameters.
    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..120),
        v6 in any::<bool>(),
        ver3 in any::<bool>(),
        unicast in any::<bool>(),
        skip in any::<bool>(),
        ttl in proptest::option::of(any::<u8>()),
    ) {
        let family = if v6 { Family::Ipv6 } else { Family::Ipv4 };
        let _ = Advertisement::decode(&bytes, family);
        let _ = Ipv4Header::parse(&bytes);
        let (src, dst) = if v6 {
            (IpAddr::V6(Ipv6Addr::LOCALHOST), IpAddr::V6(MCAST_GROUP_V6))
        } else {
            (IpAddr::V4(Ipv4Addr::LOCALHOST), IpAddr::V4(MCAST_GROUP_V4))
        };
        let version = if ver3 { VrrpVersion::V3 } else { VrrpVersion::V2 };
        let mut p = RxParams::new(version, family, bytes.get(1).copied().unwrap_or(0), 100, vec![src]);
        p.skip_check_adv_addr = skip;
        p.current_master = Some(src);
        if unicast {
            p.unicast = Some(UnicastParams { peers: vec![UnicastPeer::new(src)], check_src: true });
        }
        let meta = RxMeta { src, dst, ttl_or_hoplimit: ttl, multicast: !unicast };
        if let Ok(v) = validate(&meta, &bytes, &p) {
            // Anything accepted decodes to the same thing on its own.
            prop_assert_eq!(Advertisement::decode(&bytes, family)?, v.advert);
        }
    }
}
