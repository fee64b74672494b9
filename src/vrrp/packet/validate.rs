//! Receive validation: is this advert for us, well formed and authentic?
//!
//! One pure function, [`validate`], applying keepalived 2.2.7's rules in keepalived's order
//! (`vrrp_dispatcher_read` then `vrrp_check_packet` in `vrrp.c`), so that the same packet
//! is dropped for the same reason and counted under the same counter. The RFCs list the
//! checks (RFC 3768 §7.1, RFC 5798 §7.1) but not their order; keepalived's order is what its
//! peers and its SNMP counters observe.

use std::net::{IpAddr, Ipv4Addr};

use subtle::ConstantTimeEq;

use super::advert::{checksum_ok, message_len};
use super::{
    Advertisement, AuthType, Checksum, DecodeError, Family, VrrpVersion, AUTH_DATA_LEN, HEADER_LEN,
    MCAST_GROUP_V4, TYPE_ADVERTISEMENT, VRRP_TTL,
};

/// What the socket layer knows about a received packet besides its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct RxMeta {
    /// Source address (IPv4 header, or `recvmsg` source for IPv6).
    pub src: IpAddr,
    /// Destination address (IPv4 header, or `IPV6_PKTINFO` for IPv6). Needed for the v3
    /// pseudo-header checksum.
    pub dst: IpAddr,
    /// IPv4 TTL or IPv6 hop limit (`IPV6_HOPLIMIT`); `None` when the kernel did not report
    /// it, in which case keepalived skips the TTL checks and so do we.
    pub ttl_or_hoplimit: Option<u8>,
    /// Whether the destination was a multicast address.
    pub multicast: bool,
}

/// VRRPv2 authentication configured on the instance (`authentication { auth_type .. }`).
/// IPsec AH is not supported: an AH advert never reaches an `IPPROTO_VRRP` socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RxAuth {
    /// No authentication (auth type 0).
    None,
    /// `auth_type PASS`: the password, at most 8 bytes, zero-padded to 8 as on the wire.
    Pass([u8; AUTH_DATA_LEN]),
}

impl RxAuth {
    fn auth_type(&self) -> AuthType {
        match self {
            RxAuth::None => AuthType::None,
            RxAuth::Pass(_) => AuthType::SimplePassword,
        }
    }
}

/// One `unicast_peer` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UnicastPeer {
    /// The peer's address.
    pub addr: IpAddr,
    /// `min_ttl`: adverts from this peer with a lower TTL/hop limit are dropped.
    pub min_ttl: u8,
    /// `max_ttl`: adverts from this peer with a higher TTL/hop limit are dropped.
    pub max_ttl: u8,
}

impl UnicastPeer {
    /// A peer with no TTL limits (keepalived's defaults 0 and 255).
    pub fn new(addr: IpAddr) -> Self {
        UnicastPeer {
            addr,
            min_ttl: 0,
            max_ttl: 255,
        }
    }
}

/// Unicast mode (`unicast_peer { .. }` present).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UnicastParams {
    /// The configured peers.
    pub peers: Vec<UnicastPeer>,
    /// `check_unicast_src` (instance or global): the source must be one of `peers`, and then
    /// that peer's `min_ttl`/`max_ttl` apply.
    pub check_src: bool,
}

/// What validation needs to know about the local instance.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RxParams {
    /// Configured `version`.
    pub version: VrrpVersion,
    /// The instance's family (that of its socket and VIPs).
    pub family: Family,
    /// `virtual_router_id`.
    pub vrid: u8,
    /// Configured `advert_int` in centiseconds. VRRPv2 adverts must carry exactly this
    /// (as whole seconds); VRRPv3 adverts may differ.
    pub advert_int_cs: u16,
    /// VRRPv2 authentication; ignored for v3.
    pub auth: RxAuth,
    /// The instance's virtual addresses (`virtual_ipaddress`), in the order it sends them.
    pub vips: Vec<IpAddr>,
    /// `skip_check_adv_addr`: do not re-check the address list of adverts from the master
    /// whose adverts were already checked (see `current_master`).
    pub skip_check_adv_addr: bool,
    /// Address of the master we are following as BACKUP, if any. Pass `None` when MASTER:
    /// keepalived always checks the address list of adverts it receives as master.
    pub current_master: Option<IpAddr>,
    /// `Some` in unicast mode, `None` for multicast.
    pub unicast: Option<UnicastParams>,
    /// IPv4 multicast group (`vrrp_mcast_group4`), for recognising the old unicast checksum.
    pub mcast_group_v4: Ipv4Addr,
}

impl RxParams {
    /// Parameters for a multicast instance without authentication, keepalived's defaults
    /// for everything else.
    pub fn new(
        version: VrrpVersion,
        family: Family,
        vrid: u8,
        advert_int_cs: u16,
        vips: Vec<IpAddr>,
    ) -> Self {
        RxParams {
            version,
            family,
            vrid,
            advert_int_cs,
            auth: RxAuth::None,
            vips,
            skip_check_adv_addr: false,
            current_master: None,
            unicast: None,
            mcast_group_v4: MCAST_GROUP_V4,
        }
    }
}

/// Which checksum form a received advert used. Senders may want to answer in kind
/// (keepalived switches to the old unicast form when it sees it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ChecksumVariant {
    /// The RFC form: message only for v2; pseudo-header with the packet's real source and
    /// destination for v3.
    Standard,
    /// VRRPv3 over IPv4 with the v2 form, no pseudo-header (keepalived `v3_checksum_as_v2`,
    /// some other vendors).
    AsV2,
    /// VRRPv3 over IPv4 unicast with the multicast group as pseudo-header destination
    /// (keepalived before 1.3.6, or `old_unicast_checksum`).
    OldUnicast,
}

/// An advert that passed every check.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ValidAdvert {
    /// The decoded advert.
    pub advert: Advertisement,
    /// Who sent it (the state machine compares it with its own primary address on equal
    /// priority, RFC 5798 §6.4.3).
    pub src: IpAddr,
    /// The checksum form that matched.
    pub checksum: ChecksumVariant,
    /// VRRPv3 only: the advert's interval differs from ours. Not a reason to drop: a backup
    /// adopts the master's interval (RFC 5798 §6.4.2, Master_Adver_Interval); keepalived
    /// only logs it.
    pub interval_mismatch: bool,
    /// Whether the address list was checked (false when skipped by `skip_check_adv_addr`).
    pub addresses_checked: bool,
}

impl ValidAdvert {
    /// The interval the sender advertises, in centiseconds: what a backup uses as
    /// Master_Adver_Interval.
    pub fn advert_int_cs(&self) -> u16 {
        self.advert.advert_int_cs()
    }
}

/// Why a received packet was dropped. Each reason has a stable name ([`DropReason::as_str`])
/// for counters and metrics, matching keepalived's statistics where it has one.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, thiserror::Error, serde::Serialize, serde::Deserialize,
)]
pub enum DropReason {
    /// Source or destination address family differs from the instance's (a wiring bug:
    /// each socket carries one family).
    #[error("address family of packet does not match the instance")]
    Family,
    /// The VRID is not this instance's (keepalived: "Unknown VRID", not counted per instance).
    #[error("VRID {received} is not ours")]
    Vrid {
        /// VRID in the packet.
        received: u8,
    },
    /// Shorter than the header, or not the length the header implies
    /// (keepalived `packet_len_err`).
    #[error("VRRP message length {actual}, expected {expected}")]
    Length {
        /// Expected length.
        expected: usize,
        /// Received length.
        actual: usize,
    },
    /// TTL/hop limit not 255 on multicast, or outside the unicast peer's `min_ttl..=max_ttl`
    /// (keepalived `ip_ttl_err`).
    #[error("TTL/hop limit {received} not accepted")]
    Ttl {
        /// TTL or hop limit received.
        received: u8,
    },
    /// Version differs from the configured one (keepalived `vers_err`).
    #[error("VRRP version {received}, ours differs")]
    Version {
        /// Version nibble received.
        received: u8,
    },
    /// VRRPv2 auth type not 0, 1 or 2 (keepalived `invalid_authtype`).
    #[error("invalid VRRPv2 auth type {received}")]
    AuthTypeInvalid {
        /// Auth type received.
        received: u8,
    },
    /// VRRPv2 auth type differs from ours (keepalived `authtype_mismatch`).
    #[error("VRRPv2 auth type {received} does not match ours")]
    AuthTypeMismatch {
        /// Auth type received.
        received: u8,
    },
    /// VRRPv2 password differs (keepalived `auth_failure`).
    #[error("VRRPv2 password mismatch")]
    AuthPass,
    /// VRRPv2 advert interval differs from ours.
    #[error("VRRPv2 advert interval {received_s}s differs from ours")]
    AdvertInterval {
        /// Interval received, seconds.
        received_s: u8,
    },
    /// Packet type is not Advertisement (keepalived `invalid_type_rcvd`).
    #[error("VRRP packet type {received} is not an advertisement")]
    Type {
        /// Type nibble received.
        received: u8,
    },
    /// The address count or list differs from our VIPs (keepalived `addr_list_err`).
    #[error("advertised addresses do not match ours")]
    AddressList,
    /// No accepted checksum form matches (keepalived `chk_err`).
    #[error("bad VRRP checksum")]
    Checksum,
    /// Multicast advert to a unicast instance or the reverse (keepalived counts these in
    /// `addr_list_err`).
    #[error("{} advert received by a {} instance", if *.multicast { "multicast" } else { "unicast" }, if *.multicast { "unicast" } else { "multicast" })]
    Destination {
        /// Whether the packet was multicast.
        multicast: bool,
    },
    /// Unicast source is not a configured peer (`check_unicast_src`).
    #[error("unicast source is not a configured peer")]
    UnicastSrc,
}

impl DropReason {
    /// Every name [`DropReason::as_str`] can return, for registering counters up front.
    pub const NAMES: [&'static str; 14] = [
        "family",
        "vrid",
        "length",
        "ttl",
        "version",
        "auth_type_invalid",
        "auth_type",
        "auth_pass",
        "advert_interval",
        "type",
        "address_list",
        "checksum",
        "destination",
        "unicast_src",
    ];

    /// Stable snake_case name of the reason, for counters and metrics labels.
    pub fn as_str(&self) -> &'static str {
        match self {
            DropReason::Family => "family",
            DropReason::Vrid { .. } => "vrid",
            DropReason::Length { .. } => "length",
            DropReason::Ttl { .. } => "ttl",
            DropReason::Version { .. } => "version",
            DropReason::AuthTypeInvalid { .. } => "auth_type_invalid",
            DropReason::AuthTypeMismatch { .. } => "auth_type",
            DropReason::AuthPass => "auth_pass",
            DropReason::AdvertInterval { .. } => "advert_interval",
            DropReason::Type { .. } => "type",
            DropReason::AddressList => "address_list",
            DropReason::Checksum => "checksum",
            DropReason::Destination { .. } => "destination",
            DropReason::UnicastSrc => "unicast_src",
        }
    }
}

impl From<DecodeError> for DropReason {
    fn from(e: DecodeError) -> Self {
        match e {
            DecodeError::Truncated { len } => DropReason::Length {
                expected: HEADER_LEN,
                actual: len,
            },
            DecodeError::Version(v) => DropReason::Version { received: v },
            DecodeError::V2OverIpv6 => DropReason::Version { received: 2 },
            DecodeError::Type(t) => DropReason::Type { received: t },
            DecodeError::Length { expected, actual } => DropReason::Length { expected, actual },
        }
    }
}

/// Validates the VRRP message `bytes` (the IP payload) received with `meta` against the
/// instance `params`.
///
/// The checks, in keepalived 2.2.7's order:
///
/// 1. **family**: `meta` addresses must be of the instance's family.
/// 2. **length** (header): at least the 8-byte fixed header, which holds the VRID
///    (keepalived's `vrrp_get_header`).
/// 3. **vrid**: keepalived demultiplexes by VRID before any other check, so a packet for
///    another VRID is never this instance's error (RFC 3768/5798 §7.1 list it later, as
///    "MUST verify that the VRID is configured").
/// 4. **length**: exactly header + addresses (+ 8 bytes auth data for v2 over IPv4), counted
///    from the packet's own version and count (RFC §7.1 "MUST verify that the received
///    packet contains the complete VRRP packet").
/// 5. **ttl**: 255 when the instance is multicast, proving the sender is on-link (RFC §7.1);
///    skipped for unicast (peers may be routed) and when the TTL is unknown.
/// 6. **version**: equals ours. A v2/v3 mix would otherwise make both sides master.
/// 7. v2 only, **auth_type_invalid**: auth type 0, 1 or 2; **auth_type**: equals ours;
///    **auth_pass**: for PASS, the 8 bytes equal our password, compared in constant time
///    so that timing does not leak it.
/// 8. v2 only, **advert_interval**: equals ours, else dropped to avoid two masters for one
///    VRID (RFC 3768 §7.1). For v3 a different interval is accepted and flagged.
/// 9. **type**: 1, Advertisement.
/// 10. **address_list** (count): when addresses are checked, the count equals our VIPs'.
/// 11. **checksum**: v2 over the message; v3 IPv4 with the pseudo-header (keepalived's
///     default), and also, as keepalived peers may send them, with the multicast group in
///     place of a unicast destination (old unicast form) or without pseudo-header
///     (`v3_checksum_as_v2`); v3 IPv6 with the IPv6 pseudo-header (RFC 5798 §5.2.8).
/// 12. **destination**: multicast packet to a multicast instance, unicast to a unicast one.
/// 13. **address_list**: every VIP of ours is in the advert (RFC "MAY verify"; keepalived
///     does unless `skip_check_adv_addr` and the advert comes from the current master).
/// 14. **unicast_src** then **ttl**: with `check_unicast_src`, the source is a configured
///     peer and the TTL is within that peer's `min_ttl..=max_ttl`. Like keepalived, only when
///     addresses are checked.
///
/// A priority-0 advert is valid: the state machine acts on it (RFC 5798 §6.4.2).
#[allow(unsafe_code)] // a section name only: see daemon::memory
#[link_section = "krs_hot"]
pub fn validate(meta: &RxMeta, bytes: &[u8], params: &RxParams) -> Result<ValidAdvert, DropReason> {
    // 1. Family: the socket determines it; a mismatch is a caller bug, reported not panicked.
    if Family::of(&meta.src) != params.family || Family::of(&meta.dst) != params.family {
        return Err(DropReason::Family);
    }

    // 2. Fixed header present.
    let header: &[u8; HEADER_LEN] = bytes
        .get(..HEADER_LEN)
        .and_then(|h| h.try_into().ok())
        .ok_or(DropReason::Length {
            expected: HEADER_LEN,
            actual: bytes.len(),
        })?;
    let [vers_type, vrid, _priority, count, b4, b5, _, _] = *header;
    let version = vers_type >> 4;
    let ptype = vers_type & 0x0f;

    // 3. VRID.
    if vrid != params.vrid {
        return Err(DropReason::Vrid { received: vrid });
    }

    // 4. Complete message, by the packet's own version and count.
    let pkt_version = if version == 2 {
        VrrpVersion::V2
    } else {
        VrrpVersion::V3
    };
    let expected = message_len(pkt_version, params.family, usize::from(count));
    if bytes.len() != expected {
        return Err(DropReason::Length {
            expected,
            actual: bytes.len(),
        });
    }

    // 5. TTL / hop limit 255 for multicast instances.
    if params.unicast.is_none() {
        if let Some(ttl) = meta.ttl_or_hoplimit {
            if ttl != VRRP_TTL {
                return Err(DropReason::Ttl { received: ttl });
            }
        }
    }

    // 6. Version.
    if version != params.version.number() {
        return Err(DropReason::Version { received: version });
    }

    // 7-8. VRRPv2 authentication and interval.
    if params.version == VrrpVersion::V2 {
        if !matches!(
            AuthType::from(b4),
            AuthType::None | AuthType::SimplePassword | AuthType::IpAh
        ) {
            return Err(DropReason::AuthTypeInvalid { received: b4 });
        }
        if AuthType::from(b4) != params.auth.auth_type() {
            return Err(DropReason::AuthTypeMismatch { received: b4 });
        }
        if let RxAuth::Pass(password) = &params.auth {
            // The auth data is the last 8 bytes of the message (length checked in step 4).
            let received = bytes
                .len()
                .checked_sub(AUTH_DATA_LEN)
                .and_then(|start| bytes.get(start..))
                .unwrap_or_default();
            if !bool::from(received.ct_eq(password.as_slice())) {
                return Err(DropReason::AuthPass);
            }
        }
        if u16::from(b5) * 100 != params.advert_int_cs {
            return Err(DropReason::AdvertInterval { received_s: b5 });
        }
    }

    // 9. Packet type.
    if ptype != TYPE_ADVERTISEMENT {
        return Err(DropReason::Type { received: ptype });
    }

    // 10. Address count, if addresses are checked for this advert.
    let check_addresses = !params.skip_check_adv_addr || params.current_master != Some(meta.src);
    if check_addresses && usize::from(count) != params.vips.len() {
        return Err(DropReason::AddressList);
    }

    // 11. Checksum.
    let checksum = match_checksum(meta, bytes, params).ok_or(DropReason::Checksum)?;

    // 12. Multicast/unicast destination matches the instance's mode.
    if meta.multicast == params.unicast.is_some() {
        return Err(DropReason::Destination {
            multicast: meta.multicast,
        });
    }

    let advert = Advertisement::decode(bytes, params.family)?;

    if check_addresses {
        // 13. Every VIP of ours is advertised (with the count equal, the sets are equal).
        // (`iter().any`, inlined here, not `contains`: an out-of-line
        // generic far from this code, see daemon::memory.)
        if !params
            .vips
            .iter()
            .all(|v| advert.addresses.iter().any(|a| a == v))
        {
            return Err(DropReason::AddressList);
        }

        // 14. Unicast source and its TTL window.
        if let Some(unicast) = params.unicast.as_ref().filter(|u| u.check_src) {
            let peer = unicast
                .peers
                .iter()
                .find(|p| p.addr == meta.src)
                .ok_or(DropReason::UnicastSrc)?;
            if let Some(ttl) = meta.ttl_or_hoplimit {
                if ttl < peer.min_ttl || ttl > peer.max_ttl {
                    return Err(DropReason::Ttl { received: ttl });
                }
            }
        }
    }

    let interval_mismatch =
        params.version == VrrpVersion::V3 && advert.advert_int_cs() != params.advert_int_cs;
    Ok(ValidAdvert {
        advert,
        src: meta.src,
        checksum,
        interval_mismatch,
        addresses_checked: check_addresses,
    })
}

/// Tries the checksum forms a keepalived peer may send, most likely first.
#[allow(unsafe_code)] // a section name only: see daemon::memory
#[link_section = "krs_hot"]
fn match_checksum(meta: &RxMeta, bytes: &[u8], params: &RxParams) -> Option<ChecksumVariant> {
    if params.version == VrrpVersion::V2 {
        return checksum_ok(bytes, Checksum::MessageOnly).then_some(ChecksumVariant::Standard);
    }
    let standard = Checksum::PseudoHeader {
        src: meta.src,
        dst: meta.dst,
    };
    if checksum_ok(bytes, standard) {
        return Some(ChecksumVariant::Standard);
    }
    if params.family == Family::Ipv6 {
        return None;
    }
    let group = IpAddr::V4(params.mcast_group_v4);
    if meta.dst != group
        && checksum_ok(
            bytes,
            Checksum::PseudoHeader {
                src: meta.src,
                dst: group,
            },
        )
    {
        return Some(ChecksumVariant::OldUnicast);
    }
    checksum_ok(bytes, Checksum::MessageOnly).then_some(ChecksumVariant::AsV2)
}

#[cfg(test)]
mod tests {
    use super::super::VersionFields;
    use super::*;

    const VIP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 168, 77, 100));
    const LB1: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 168, 77, 11));
    const LB2: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 168, 77, 12));
    const GROUP: IpAddr = IpAddr::V4(MCAST_GROUP_V4);

    fn mcast_meta() -> RxMeta {
        RxMeta {
            src: LB1,
            dst: GROUP,
            ttl_or_hoplimit: Some(255),
            multicast: true,
        }
    }

    fn unicast_meta(src: IpAddr) -> RxMeta {
        RxMeta {
            src,
            dst: LB2,
            ttl_or_hoplimit: Some(64),
            multicast: false,
        }
    }

    fn v2_params() -> RxParams {
        RxParams::new(VrrpVersion::V2, Family::Ipv4, 51, 100, vec![VIP])
    }

    fn v3_params() -> RxParams {
        RxParams::new(VrrpVersion::V3, Family::Ipv4, 51, 10, vec![VIP])
    }

    fn unicast(mut p: RxParams, check_src: bool) -> RxParams {
        p.unicast = Some(UnicastParams {
            peers: vec![UnicastPeer::new(LB1)],
            check_src,
        });
        p
    }

    fn v2_advert(auth_type: AuthType, auth_data: [u8; 8]) -> Advertisement {
        Advertisement {
            vrid: 51,
            priority: 150,
            addresses: vec![VIP],
            fields: VersionFields::V2 {
                auth_type,
                auth_data,
                advert_int_s: 1,
            },
        }
    }

    fn v3_advert() -> Advertisement {
        Advertisement {
            vrid: 51,
            priority: 150,
            addresses: vec![VIP],
            fields: VersionFields::V3 {
                max_advert_int_cs: 10,
            },
        }
    }

    /// Bytes of lb1's v2 advert, as captured.
    fn v2_bytes() -> Vec<u8> {
        v2_advert(AuthType::None, [0; 8])
            .encode(Checksum::MessageOnly)
            .unwrap()
    }

    fn v3_bytes(meta: &RxMeta) -> Vec<u8> {
        v3_advert()
            .encode(Checksum::PseudoHeader {
                src: meta.src,
                dst: meta.dst,
            })
            .unwrap()
    }

    /// Rewrites the checksum after a deliberate corruption, so that a later check is reached.
    fn fix_v2_checksum(b: &mut [u8]) {
        let c = super::super::advert::compute_checksum(b, Checksum::MessageOnly);
        b[6..8].copy_from_slice(&c.to_be_bytes());
    }

    fn reason(r: Result<ValidAdvert, DropReason>) -> &'static str {
        r.err().map_or("ok", |e| e.as_str())
    }

    #[test]
    fn accepts_keepalived_v2_and_v3() {
        let v = validate(&mcast_meta(), &v2_bytes(), &v2_params()).unwrap();
        assert_eq!(v.advert, v2_advert(AuthType::None, [0; 8]));
        assert_eq!(v.checksum, ChecksumVariant::Standard);
        assert_eq!(v.advert_int_cs(), 100);
        assert!(!v.interval_mismatch);
        assert!(v.addresses_checked);

        let m = mcast_meta();
        let v = validate(&m, &v3_bytes(&m), &v3_params()).unwrap();
        assert_eq!(v.advert, v3_advert());
        assert_eq!(v.src, LB1);
        assert_eq!(v.checksum, ChecksumVariant::Standard);
    }

    #[test]
    fn priority_zero_is_valid() {
        let mut a = v2_advert(AuthType::None, [0; 8]);
        a.priority = 0;
        let b = a.encode(Checksum::MessageOnly).unwrap();
        assert_eq!(
            validate(&mcast_meta(), &b, &v2_params())
                .unwrap()
                .advert
                .priority,
            0
        );
    }

    #[test]
    fn family() {
        let mut m = mcast_meta();
        m.src = "fe80::1".parse().unwrap();
        assert_eq!(reason(validate(&m, &v2_bytes(), &v2_params())), "family");
    }

    #[test]
    fn truncated_header_and_body() {
        let b = v2_bytes();
        assert_eq!(
            validate(&mcast_meta(), &b[..5], &v2_params()),
            Err(DropReason::Length {
                expected: 8,
                actual: 5
            })
        );
        assert_eq!(
            validate(&mcast_meta(), &b[..16], &v2_params()),
            Err(DropReason::Length {
                expected: 20,
                actual: 16
            })
        );
        let mut long = b.clone();
        long.extend_from_slice(&[0; 4]);
        assert_eq!(
            reason(validate(&mcast_meta(), &long, &v2_params())),
            "length"
        );
        assert_eq!(reason(validate(&mcast_meta(), &[], &v2_params())), "length");
    }

    #[test]
    fn vrid_checked_before_length() {
        let mut b = v2_bytes();
        b[1] = 52;
        b.truncate(10);
        assert_eq!(
            validate(&mcast_meta(), &b, &v2_params()),
            Err(DropReason::Vrid { received: 52 })
        );
    }

    #[test]
    fn ttl_254_dropped_on_multicast_only() {
        let mut m = mcast_meta();
        m.ttl_or_hoplimit = Some(254);
        assert_eq!(
            validate(&m, &v2_bytes(), &v2_params()),
            Err(DropReason::Ttl { received: 254 })
        );
        // Unknown TTL: not checked.
        m.ttl_or_hoplimit = None;
        assert_eq!(reason(validate(&m, &v2_bytes(), &v2_params())), "ok");
        // Unicast: TTL 64 accepted.
        let m = unicast_meta(LB1);
        assert_eq!(
            reason(validate(&m, &v2_bytes(), &unicast(v2_params(), false))),
            "ok"
        );
    }

    #[test]
    fn unicast_ttl_window() {
        let mut p = unicast(v2_params(), true);
        if let Some(u) = p.unicast.as_mut() {
            u.peers[0].min_ttl = 250;
        }
        let m = unicast_meta(LB1);
        assert_eq!(
            validate(&m, &v2_bytes(), &p),
            Err(DropReason::Ttl { received: 64 })
        );
        // keepalived applies min/max_ttl only with check_unicast_src.
        if let Some(u) = p.unicast.as_mut() {
            u.check_src = false;
        }
        assert_eq!(reason(validate(&m, &v2_bytes(), &p)), "ok");
    }

    #[test]
    fn wrong_version() {
        let m = mcast_meta();
        // A v3 advert to a v2 instance: length is computed from the packet's version, so
        // this is a version error, not a length error.
        assert_eq!(
            validate(&m, &v3_bytes(&m), &v2_params()),
            Err(DropReason::Version { received: 3 })
        );
        assert_eq!(
            validate(&m, &v2_bytes(), &v3_params()),
            Err(DropReason::Version { received: 2 })
        );
        let mut b = v3_bytes(&m);
        b[0] = 0x11;
        assert_eq!(
            validate(&m, &b, &v3_params()),
            Err(DropReason::Version { received: 1 })
        );
    }

    #[test]
    fn auth_type_invalid_and_mismatch() {
        let mut b = v2_bytes();
        b[4] = 3;
        assert_eq!(
            validate(&mcast_meta(), &b, &v2_params()),
            Err(DropReason::AuthTypeInvalid { received: 3 })
        );
        let b = v2_advert(AuthType::SimplePassword, *b"secret\0\0")
            .encode(Checksum::MessageOnly)
            .unwrap();
        assert_eq!(
            validate(&mcast_meta(), &b, &v2_params()),
            Err(DropReason::AuthTypeMismatch { received: 1 })
        );
        let b = v2_advert(AuthType::IpAh, [0; 8])
            .encode(Checksum::MessageOnly)
            .unwrap();
        assert_eq!(
            reason(validate(&mcast_meta(), &b, &v2_params())),
            "auth_type"
        );
    }

    #[test]
    fn auth_pass() {
        let mut p = v2_params();
        p.auth = RxAuth::Pass(*b"secret\0\0");
        let good = v2_advert(AuthType::SimplePassword, *b"secret\0\0")
            .encode(Checksum::MessageOnly)
            .unwrap();
        assert_eq!(reason(validate(&mcast_meta(), &good, &p)), "ok");
        let bad = v2_advert(AuthType::SimplePassword, *b"Secret\0\0")
            .encode(Checksum::MessageOnly)
            .unwrap();
        assert_eq!(validate(&mcast_meta(), &bad, &p), Err(DropReason::AuthPass));
        // No auth sent to a PASS instance: type mismatch.
        assert_eq!(
            validate(&mcast_meta(), &v2_bytes(), &p),
            Err(DropReason::AuthTypeMismatch { received: 0 })
        );
        // Auth data is ignored for auth type none.
        let junk = v2_advert(AuthType::None, *b"whatever")
            .encode(Checksum::MessageOnly)
            .unwrap();
        assert_eq!(reason(validate(&mcast_meta(), &junk, &v2_params())), "ok");
    }

    #[test]
    fn v2_interval_mismatch_dropped_v3_accepted() {
        let mut p = v2_params();
        p.advert_int_cs = 200;
        assert_eq!(
            validate(&mcast_meta(), &v2_bytes(), &p),
            Err(DropReason::AdvertInterval { received_s: 1 })
        );
        let m = mcast_meta();
        let mut p = v3_params();
        p.advert_int_cs = 100;
        let v = validate(&m, &v3_bytes(&m), &p).unwrap();
        assert!(v.interval_mismatch);
        assert_eq!(v.advert_int_cs(), 10);
    }

    #[test]
    fn wrong_type() {
        let mut b = v2_bytes();
        b[0] = 0x22;
        fix_v2_checksum(&mut b);
        assert_eq!(
            validate(&mcast_meta(), &b, &v2_params()),
            Err(DropReason::Type { received: 2 })
        );
    }

    #[test]
    fn bad_checksum() {
        let mut b = v2_bytes();
        b[7] ^= 1;
        assert_eq!(
            validate(&mcast_meta(), &b, &v2_params()),
            Err(DropReason::Checksum)
        );
        let m = mcast_meta();
        let mut b = v3_bytes(&m);
        b[2] = 149; // priority changed, checksum not
        assert_eq!(validate(&m, &b, &v3_params()), Err(DropReason::Checksum));
        // Pseudo-header with another source: wrong.
        let mut other = m;
        other.src = LB2;
        assert_eq!(
            validate(&other, &v3_bytes(&m), &v3_params()),
            Err(DropReason::Checksum)
        );
    }

    #[test]
    fn v3_checksum_variants() {
        // v3_checksum_as_v2 sender.
        let m = mcast_meta();
        let b = v3_advert().encode(Checksum::MessageOnly).unwrap();
        assert_eq!(
            validate(&m, &b, &v3_params()).unwrap().checksum,
            ChecksumVariant::AsV2
        );
        // Old unicast form: pseudo-header with the group instead of our address.
        let m = unicast_meta(LB1);
        let p = unicast(v3_params(), true);
        let b = v3_advert()
            .encode(Checksum::PseudoHeader {
                src: LB1,
                dst: GROUP,
            })
            .unwrap();
        assert_eq!(
            validate(&m, &b, &p).unwrap().checksum,
            ChecksumVariant::OldUnicast
        );
        // Current unicast form.
        assert_eq!(
            validate(&m, &v3_bytes(&m), &p).unwrap().checksum,
            ChecksumVariant::Standard
        );
    }

    #[test]
    fn v3_ipv6() {
        let src: IpAddr = "fe80::11".parse().unwrap();
        let dst: IpAddr = "ff02::12".parse().unwrap();
        let vip: IpAddr = "fe80::100".parse().unwrap();
        let m = RxMeta {
            src,
            dst,
            ttl_or_hoplimit: Some(255),
            multicast: true,
        };
        let a = Advertisement {
            vrid: 9,
            priority: 100,
            addresses: vec![vip],
            fields: VersionFields::V3 {
                max_advert_int_cs: 100,
            },
        };
        let p = RxParams::new(VrrpVersion::V3, Family::Ipv6, 9, 100, vec![vip]);
        let b = a.encode(Checksum::PseudoHeader { src, dst }).unwrap();
        assert_eq!(validate(&m, &b, &p).unwrap().advert, a);
        // No v2-style or old-unicast forms for IPv6.
        let b = a.encode(Checksum::MessageOnly).unwrap();
        assert_eq!(validate(&m, &b, &p), Err(DropReason::Checksum));
        let mut m2 = m;
        m2.ttl_or_hoplimit = Some(1);
        assert_eq!(validate(&m2, &b, &p), Err(DropReason::Ttl { received: 1 }));
    }

    #[test]
    fn wrong_vrid() {
        let mut p = v2_params();
        p.vrid = 52;
        assert_eq!(
            validate(&mcast_meta(), &v2_bytes(), &p),
            Err(DropReason::Vrid { received: 51 })
        );
    }

    #[test]
    fn mismatched_addresses() {
        // Count differs: caught before the checksum.
        let mut p = v2_params();
        p.vips.push(IpAddr::V4(Ipv4Addr::new(192, 168, 77, 101)));
        let mut b = v2_bytes();
        b[7] ^= 1; // bad checksum too: count check comes first
        assert_eq!(
            validate(&mcast_meta(), &b, &p),
            Err(DropReason::AddressList)
        );
        // Same count, different address.
        let mut p = v2_params();
        p.vips = vec![IpAddr::V4(Ipv4Addr::new(192, 168, 77, 101))];
        assert_eq!(
            validate(&mcast_meta(), &v2_bytes(), &p),
            Err(DropReason::AddressList)
        );
        // Order does not matter.
        let mut a = v2_advert(AuthType::None, [0; 8]);
        let vip2 = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        a.addresses = vec![vip2, VIP];
        let mut p = v2_params();
        p.vips = vec![VIP, vip2];
        let b = a.encode(Checksum::MessageOnly).unwrap();
        assert_eq!(reason(validate(&mcast_meta(), &b, &p)), "ok");
    }

    #[test]
    fn skip_check_adv_addr_only_for_current_master() {
        let mut p = v2_params();
        p.vips = vec![IpAddr::V4(Ipv4Addr::new(192, 168, 77, 101))];
        p.skip_check_adv_addr = true;
        // No master known yet: checked.
        assert_eq!(
            reason(validate(&mcast_meta(), &v2_bytes(), &p)),
            "address_list"
        );
        // From the master we follow: skipped.
        p.current_master = Some(LB1);
        let v = validate(&mcast_meta(), &v2_bytes(), &p).unwrap();
        assert!(!v.addresses_checked);
        // From someone else: checked.
        p.current_master = Some(LB2);
        assert_eq!(
            reason(validate(&mcast_meta(), &v2_bytes(), &p)),
            "address_list"
        );
    }

    #[test]
    fn destination_kind() {
        // Multicast advert to a unicast instance.
        let p = unicast(v2_params(), false);
        assert_eq!(
            validate(&mcast_meta(), &v2_bytes(), &p),
            Err(DropReason::Destination { multicast: true })
        );
        // Unicast advert to a multicast instance (TTL 255 so the TTL check passes).
        let mut m = unicast_meta(LB1);
        m.ttl_or_hoplimit = Some(255);
        assert_eq!(
            validate(&m, &v2_bytes(), &v2_params()),
            Err(DropReason::Destination { multicast: false })
        );
    }

    #[test]
    fn unicast_src_not_a_peer() {
        let m = unicast_meta(IpAddr::V4(Ipv4Addr::new(192, 168, 77, 66)));
        assert_eq!(
            validate(&m, &v2_bytes(), &unicast(v2_params(), true)),
            Err(DropReason::UnicastSrc)
        );
        // Without check_unicast_src anyone may send.
        assert_eq!(
            reason(validate(&m, &v2_bytes(), &unicast(v2_params(), false))),
            "ok"
        );
        let m = unicast_meta(LB1);
        assert_eq!(
            reason(validate(&m, &v2_bytes(), &unicast(v2_params(), true))),
            "ok"
        );
    }

    #[test]
    fn names_are_stable_and_complete() {
        let all = [
            DropReason::Family,
            DropReason::Vrid { received: 0 },
            DropReason::Length {
                expected: 0,
                actual: 0,
            },
            DropReason::Ttl { received: 0 },
            DropReason::Version { received: 0 },
            DropReason::AuthTypeInvalid { received: 0 },
            DropReason::AuthTypeMismatch { received: 0 },
            DropReason::AuthPass,
            DropReason::AdvertInterval { received_s: 0 },
            DropReason::Type { received: 0 },
            DropReason::AddressList,
            DropReason::Checksum,
            DropReason::Destination { multicast: true },
            DropReason::UnicastSrc,
        ];
        let names: Vec<_> = all.iter().map(DropReason::as_str).collect();
        assert_eq!(names, DropReason::NAMES);
        assert_eq!(
            DropReason::Destination { multicast: true }.to_string(),
            "multicast advert received by a unicast instance"
        );
    }
}
