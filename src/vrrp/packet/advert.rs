//! The VRRP advertisement: typed form, encoder and decoder.
//!
//! ```text
//! VRRPv2 (RFC 3768 §5.1)                    VRRPv3 (RFC 5798 §5.1)
//!  0                   1                     0                   1
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 ...       0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 ...
//! +-------+-------+---------------+         +-------+-------+---------------+
//! |Version| Type  | Virtual Rtr ID|         |Version| Type  | Virtual Rtr ID|
//! +-------+-------+---------------+         +-------+-------+---------------+
//! |   Priority    | Count IP Addrs|         |   Priority    |Count IPvX Addr|
//! +---------------+---------------+         +-------+-------+---------------+
//! |   Auth Type   |   Adver Int   |         |(rsvd) |   Max Adver Int (cs)  |
//! +---------------+---------------+         +-------+-----------------------+
//! |          Checksum             |         |          Checksum             |
//! +-------------------------------+         +-------------------------------+
//! |  IPv4 Address(es), 4 bytes    |         | IPv4 (4) or IPv6 (16) Addr(s) |
//! +-------------------------------+         +-------------------------------+
//! |  Authentication Data, 8 bytes |
//! +-------------------------------+
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::checksum::InternetChecksum;
use super::{
    AUTH_DATA_LEN, CHECKSUM_OFFSET, HEADER_LEN, MAX_ADDRESSES, MAX_V3_ADVERT_INT_CS,
    TYPE_ADVERTISEMENT,
};

/// Address family of an instance and of the addresses its adverts carry.
///
/// The VRRP message does not say which family its addresses are: the receiving socket does.
/// So decoding needs it from the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Family {
    /// IPv4: 4-byte addresses, VRRPv2 or v3.
    Ipv4,
    /// IPv6: 16-byte addresses, VRRPv3 only.
    Ipv6,
}

impl Family {
    /// The family of `addr`.
    pub fn of(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::Ipv4,
            IpAddr::V6(_) => Family::Ipv6,
        }
    }

    /// Bytes per address in the message.
    pub fn addr_len(self) -> usize {
        match self {
            Family::Ipv4 => 4,
            Family::Ipv6 => 16,
        }
    }
}

/// Protocol version, as configured (`version 2|3`) or as received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum VrrpVersion {
    /// VRRPv2, RFC 3768: IPv4 only, whole-second interval, optional authentication.
    V2,
    /// VRRPv3, RFC 5798: IPv4 or IPv6, centisecond interval, no authentication.
    V3,
}

impl VrrpVersion {
    /// The number carried in the high nibble of the first octet.
    pub fn number(self) -> u8 {
        match self {
            VrrpVersion::V2 => 2,
            VrrpVersion::V3 => 3,
        }
    }
}

/// VRRPv2 Auth Type (RFC 3768 §5.3.6, and RFC 2338 for the deprecated types keepalived still
/// knows). Unknown values are kept so that a decoded message re-encodes unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum AuthType {
    /// 0: no authentication (the only type RFC 3768 keeps).
    None,
    /// 1: simple text password in the authentication data (`auth_type PASS`).
    SimplePassword,
    /// 2: IPsec AH (`auth_type AH`); the AH header then precedes the VRRP message.
    IpAh,
    /// Any other value. Never produced for 0, 1 or 2.
    Unknown(u8),
}

impl From<u8> for AuthType {
    fn from(v: u8) -> Self {
        match v {
            0 => AuthType::None,
            1 => AuthType::SimplePassword,
            2 => AuthType::IpAh,
            other => AuthType::Unknown(other),
        }
    }
}

impl From<AuthType> for u8 {
    fn from(t: AuthType) -> u8 {
        match t {
            AuthType::None => 0,
            AuthType::SimplePassword => 1,
            AuthType::IpAh => 2,
            AuthType::Unknown(v) => v,
        }
    }
}

/// The fields that differ between the two versions. Having them in one enum makes a v3
/// message with auth data, or a v2 one with a centisecond interval, unrepresentable.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum VersionFields {
    /// VRRPv2.
    V2 {
        /// Auth Type octet.
        auth_type: AuthType,
        /// The 8 octets of authentication data: the password for [`AuthType::SimplePassword`]
        /// (zero-padded), zeros otherwise as keepalived sends them.
        auth_data: [u8; AUTH_DATA_LEN],
        /// Advertisement interval in whole seconds.
        advert_int_s: u8,
    },
    /// VRRPv3.
    V3 {
        /// Max Advertise Interval in centiseconds, 12 bits (0..=4095). The 4 reserved bits
        /// in front of it are sent as zero and ignored on receipt (RFC 5798 §5.2.6).
        max_advert_int_cs: u16,
    },
}

/// One VRRP advertisement, either version.
///
/// This is what the state machine consumes (priority, interval, addresses) and what the
/// sender builds. The checksum is not stored: [`Advertisement::encode`] computes it and
/// receive validation checks it, since for v3 it depends on the enclosing IP header.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Advertisement {
    /// Virtual Router ID (1..=255 in a valid config; 0 is representable on the wire).
    pub vrid: u8,
    /// Priority: 255 for the address owner, 0 when a master gives up.
    pub priority: u8,
    /// The virtual addresses, all of one family (at most 255).
    pub addresses: Vec<IpAddr>,
    /// Version-specific fields.
    pub fields: VersionFields,
}

/// Which checksum to put in an encoded message.
///
/// VRRPv2 covers the message alone (RFC 3768 §5.3.8). VRRPv3 covers an IP pseudo-header too
/// (RFC 5798 §5.2.8): for IPv4 keepalived does this by default and sends the v2 form only with
/// `v3_checksum_as_v2` (for some other vendors' implementations); for IPv6 the kernel fills it
/// in when the socket has `IPV6_CHECKSUM`, but computing it here is harmless.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Checksum {
    /// Internet checksum over the VRRP message only.
    MessageOnly,
    /// Internet checksum over the pseudo-header of the IP packet (source, destination,
    /// protocol 112, length) and the message. VRRPv3 only.
    PseudoHeader {
        /// Source address of the IP packet.
        src: IpAddr,
        /// Destination of the IP packet: the multicast group, or the unicast peer (keepalived
        /// before 1.3.6 and `old_unicast_checksum` put the multicast group here even when
        /// sending unicast; pass the group to reproduce that).
        dst: IpAddr,
    },
}

impl Checksum {
    /// The form keepalived 2.2.7 sends for `version` over `src` → `dst`: message only for v2,
    /// message only for v3 over IPv4 when `v3_checksum_as_v2` is set, else with the pseudo-header.
    pub fn for_send(
        version: VrrpVersion,
        src: IpAddr,
        dst: IpAddr,
        v3_checksum_as_v2: bool,
    ) -> Self {
        match version {
            VrrpVersion::V2 => Checksum::MessageOnly,
            VrrpVersion::V3 if v3_checksum_as_v2 && src.is_ipv4() => Checksum::MessageOnly,
            VrrpVersion::V3 => Checksum::PseudoHeader { src, dst },
        }
    }
}

/// Why bytes are not a well-formed VRRP advertisement.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Fewer bytes than the 8-byte fixed header.
    #[error("truncated VRRP header: {len} bytes, need {HEADER_LEN}")]
    Truncated {
        /// Bytes received.
        len: usize,
    },
    /// Version nibble is neither 2 nor 3.
    #[error("unsupported VRRP version {0}")]
    Version(u8),
    /// VRRPv2 is defined for IPv4 only (RFC 3768 §1).
    #[error("VRRPv2 over IPv6")]
    V2OverIpv6,
    /// Type nibble is not 1 (Advertisement).
    #[error("VRRP packet type {0} is not an advertisement")]
    Type(u8),
    /// The length does not match what version, family and address count imply.
    #[error("VRRP message is {actual} bytes, its header implies {expected}")]
    Length {
        /// Length implied by the header.
        expected: usize,
        /// Length received.
        actual: usize,
    },
}

/// Why an [`Advertisement`] cannot be put on the wire.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The addresses (or the pseudo-header addresses) mix IPv4 and IPv6.
    #[error("VRRP advert mixes IPv4 and IPv6 addresses")]
    MixedFamilies,
    /// More than 255 addresses: the count is one octet.
    #[error("{0} addresses in one VRRP advert, at most 255 fit")]
    TooManyAddresses(usize),
    /// A VRRPv2 advert with IPv6 addresses or pseudo-header.
    #[error("VRRPv2 cannot carry IPv6")]
    V2OverIpv6,
    /// A VRRPv2 advert asked for a pseudo-header checksum, which RFC 3768 does not have.
    #[error("VRRPv2 checksum has no pseudo-header")]
    PseudoHeaderOnV2,
    /// The v3 interval does not fit in 12 bits.
    #[error("VRRPv3 max advert interval {0} cs exceeds 4095")]
    AdvertIntTooLarge(u16),
}

/// Length of a message of `version` with `count` addresses of `family`.
pub(crate) fn message_len(version: VrrpVersion, family: Family, count: usize) -> usize {
    let auth = match (version, family) {
        (VrrpVersion::V2, Family::Ipv4) => AUTH_DATA_LEN,
        _ => 0,
    };
    HEADER_LEN + count * family.addr_len() + auth
}

impl Advertisement {
    /// The protocol version of this advert.
    pub fn version(&self) -> VrrpVersion {
        match self.fields {
            VersionFields::V2 { .. } => VrrpVersion::V2,
            VersionFields::V3 { .. } => VrrpVersion::V3,
        }
    }

    /// The advertisement interval in centiseconds, whatever the version (v2 seconds × 100),
    /// so that timers need only one unit.
    pub fn advert_int_cs(&self) -> u16 {
        match self.fields {
            VersionFields::V2 { advert_int_s, .. } => u16::from(advert_int_s) * 100,
            VersionFields::V3 { max_advert_int_cs } => max_advert_int_cs,
        }
    }

    /// Family of the addresses, checking that they agree; `Ok(None)` when there are none.
    fn address_family(&self) -> Result<Option<Family>, EncodeError> {
        let mut it = self.addresses.iter().map(Family::of);
        let Some(first) = it.next() else {
            return Ok(None);
        };
        if it.any(|f| f != first) {
            return Err(EncodeError::MixedFamilies);
        }
        Ok(Some(first))
    }

    /// Serialises the advert with the checksum form `checksum` (see [`Checksum::for_send`]).
    ///
    /// The result is the IP payload: the sender adds the IPv4 header (keepalived builds it
    /// itself: TOS 0xc0, TTL 255) or lets the kernel add the IPv6 one.
    #[allow(unsafe_code)] // a section name only: see daemon::memory
    #[link_section = "krs_hot"]
    pub fn encode(&self, checksum: Checksum) -> Result<Vec<u8>, EncodeError> {
        if self.addresses.len() > MAX_ADDRESSES {
            return Err(EncodeError::TooManyAddresses(self.addresses.len()));
        }
        let addr_family = self.address_family()?;
        let pseudo_family = match checksum {
            Checksum::MessageOnly => None,
            Checksum::PseudoHeader { src, dst } => {
                if Family::of(&src) != Family::of(&dst) {
                    return Err(EncodeError::MixedFamilies);
                }
                Some(Family::of(&src))
            }
        };
        let family = match (addr_family, pseudo_family) {
            (Some(a), Some(p)) if a != p => return Err(EncodeError::MixedFamilies),
            (Some(f), _) | (None, Some(f)) => f,
            (None, None) => Family::Ipv4,
        };
        let version = self.version();
        if version == VrrpVersion::V2 {
            if family == Family::Ipv6 {
                return Err(EncodeError::V2OverIpv6);
            }
            if pseudo_family.is_some() {
                return Err(EncodeError::PseudoHeaderOnV2);
            }
        }

        let len = message_len(version, family, self.addresses.len());
        let mut out = Vec::with_capacity(len);
        out.push((version.number() << 4) | TYPE_ADVERTISEMENT);
        out.push(self.vrid);
        out.push(self.priority);
        // Checked above: at most 255 addresses.
        out.push(self.addresses.len() as u8);
        match self.fields {
            VersionFields::V2 {
                auth_type,
                advert_int_s,
                ..
            } => {
                out.push(u8::from(auth_type));
                out.push(advert_int_s);
            }
            VersionFields::V3 { max_advert_int_cs } => {
                if max_advert_int_cs > MAX_V3_ADVERT_INT_CS {
                    return Err(EncodeError::AdvertIntTooLarge(max_advert_int_cs));
                }
                out.extend_from_slice(&max_advert_int_cs.to_be_bytes());
            }
        }
        out.extend_from_slice(&[0, 0]); // checksum, filled below
        for addr in &self.addresses {
            match addr {
                IpAddr::V4(a) => out.extend_from_slice(&a.octets()),
                IpAddr::V6(a) => out.extend_from_slice(&a.octets()),
            }
        }
        if let VersionFields::V2 { auth_data, .. } = &self.fields {
            out.extend_from_slice(auth_data);
        }
        debug_assert_eq!(out.len(), len);

        let sum = compute_checksum(&out, checksum);
        out[CHECKSUM_OFFSET..CHECKSUM_OFFSET + 2].copy_from_slice(&sum.to_be_bytes());
        Ok(out)
    }

    /// Parses one VRRP message of `family` (which the receiving socket determines).
    ///
    /// The length must be exactly what the header implies: link-layer padding is removed
    /// before this point ([`super::Ipv4Header::parse`] trims to the IP total length; IPv6
    /// packets are never padded). The checksum is not verified here, since for v3 it needs
    /// the IP addresses: [`super::validate`] does it.
    #[allow(unsafe_code)] // a section name only: see daemon::memory
    #[link_section = "krs_hot"]
    pub fn decode(buf: &[u8], family: Family) -> Result<Advertisement, DecodeError> {
        let header: &[u8; HEADER_LEN] = buf
            .get(..HEADER_LEN)
            .and_then(|h| h.try_into().ok())
            .ok_or(DecodeError::Truncated { len: buf.len() })?;
        let [vt, vrid, priority, count, b4, b5, _, _] = *header;
        let version = match vt >> 4 {
            2 => VrrpVersion::V2,
            3 => VrrpVersion::V3,
            other => return Err(DecodeError::Version(other)),
        };
        if version == VrrpVersion::V2 && family == Family::Ipv6 {
            return Err(DecodeError::V2OverIpv6);
        }
        let ptype = vt & 0x0f;
        if ptype != TYPE_ADVERTISEMENT {
            return Err(DecodeError::Type(ptype));
        }
        let expected = message_len(version, family, usize::from(count));
        if buf.len() != expected {
            return Err(DecodeError::Length {
                expected,
                actual: buf.len(),
            });
        }

        let addr_end = HEADER_LEN + usize::from(count) * family.addr_len();
        let addr_bytes = buf.get(HEADER_LEN..addr_end).unwrap_or_default();
        let addresses = match family {
            Family::Ipv4 => addr_bytes
                .chunks_exact(4)
                .map(|c| IpAddr::V4(Ipv4Addr::from([c[0], c[1], c[2], c[3]])))
                .collect(),
            Family::Ipv6 => addr_bytes
                .chunks_exact(16)
                .map(|c| {
                    let mut o = [0u8; 16];
                    o.copy_from_slice(c);
                    IpAddr::V6(Ipv6Addr::from(o))
                })
                .collect(),
        };
        let fields = match version {
            VrrpVersion::V2 => {
                let mut auth_data = [0u8; AUTH_DATA_LEN];
                if let Some(a) = buf.get(addr_end..addr_end + AUTH_DATA_LEN) {
                    auth_data.copy_from_slice(a);
                }
                VersionFields::V2 {
                    auth_type: AuthType::from(b4),
                    auth_data,
                    advert_int_s: b5,
                }
            }
            VrrpVersion::V3 => VersionFields::V3 {
                max_advert_int_cs: u16::from_be_bytes([b4, b5]) & MAX_V3_ADVERT_INT_CS,
            },
        };
        Ok(Advertisement {
            vrid,
            priority,
            addresses,
            fields,
        })
    }
}

/// Checksum of `msg` (whose checksum field may hold anything: it is summed as zero).
pub(crate) fn compute_checksum(msg: &[u8], form: Checksum) -> u16 {
    let mut c = InternetChecksum::new();
    add_pseudo(&mut c, msg.len(), form);
    c.add(msg.get(..CHECKSUM_OFFSET).unwrap_or(msg));
    if let Some(rest) = msg.get(CHECKSUM_OFFSET + 2..) {
        c.add(rest);
    }
    c.finish()
}

/// True when the checksum stored in `msg` is right for `form`.
#[allow(unsafe_code)] // a section name only: see daemon::memory
#[link_section = "krs_hot"]
pub(crate) fn checksum_ok(msg: &[u8], form: Checksum) -> bool {
    let mut c = InternetChecksum::new();
    add_pseudo(&mut c, msg.len(), form);
    c.add(msg);
    c.finish() == 0
}

#[allow(unsafe_code)] // a section name only: see daemon::memory
#[link_section = "krs_hot"]
fn add_pseudo(c: &mut InternetChecksum, len: usize, form: Checksum) {
    match form {
        Checksum::MessageOnly => {}
        Checksum::PseudoHeader {
            src: IpAddr::V4(s),
            dst: IpAddr::V4(d),
        } => {
            // A VRRP message is at most 8 + 255 * 16 bytes, far below u16::MAX.
            c.add_ipv4_pseudo(s, d, u16::try_from(len).unwrap_or(u16::MAX));
        }
        Checksum::PseudoHeader {
            src: IpAddr::V6(s),
            dst: IpAddr::V6(d),
        } => {
            c.add_ipv6_pseudo(s, d, u32::try_from(len).unwrap_or(u32::MAX));
        }
        // Mixed families: no such IP packet; sum the addresses anyway so the result is
        // deterministic (encode rejects this case before getting here).
        Checksum::PseudoHeader { src, dst } => {
            for a in [src, dst] {
                match a {
                    IpAddr::V4(a) => c.add(&a.octets()),
                    IpAddr::V6(a) => c.add(&a.octets()),
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VIP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 168, 77, 100));
    const LB1: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 168, 77, 11));
    const GROUP: IpAddr = IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18));

    /// lb1's VRRPv2 advert from the captures (keepalived-vrrp-baseline.md, "Packet decode").
    const V2_LB1: [u8; 20] = [
        0x21, 0x33, 0x96, 0x01, 0x00, 0x01, 0x3a, 0xbd, 0xc0, 0xa8, 0x4d, 0x64, 0, 0, 0, 0, 0, 0,
        0, 0,
    ];
    /// lb1's VRRPv3 advert, advert_int 0.1 s, checksum with the IPv4 pseudo-header.
    const V3_LB1: [u8; 12] = [
        0x31, 0x33, 0x96, 0x01, 0x00, 0x0a, 0x3c, 0x71, 0xc0, 0xa8, 0x4d, 0x64,
    ];

    fn v2(priority: u8) -> Advertisement {
        Advertisement {
            vrid: 51,
            priority,
            addresses: vec![VIP],
            fields: VersionFields::V2 {
                auth_type: AuthType::None,
                auth_data: [0; 8],
                advert_int_s: 1,
            },
        }
    }

    fn v3(priority: u8) -> Advertisement {
        Advertisement {
            vrid: 51,
            priority,
            addresses: vec![VIP],
            fields: VersionFields::V3 {
                max_advert_int_cs: 10,
            },
        }
    }

    #[test]
    fn decode_keepalived_v2() {
        let a = Advertisement::decode(&V2_LB1, Family::Ipv4).unwrap();
        assert_eq!(a, v2(150));
        assert_eq!(a.version(), VrrpVersion::V2);
        assert_eq!(a.advert_int_cs(), 100);
    }

    #[test]
    fn encode_keepalived_v2_byte_exact() {
        assert_eq!(v2(150).encode(Checksum::MessageOnly).unwrap(), V2_LB1);
        // lb2 at priority 100: "21 33 64 01 00 01 6cbd".
        let lb2 = v2(100).encode(Checksum::MessageOnly).unwrap();
        assert_eq!(&lb2[..8], &[0x21, 0x33, 0x64, 0x01, 0x00, 0x01, 0x6c, 0xbd]);
    }

    #[test]
    fn decode_and_encode_keepalived_v3() {
        let a = Advertisement::decode(&V3_LB1, Family::Ipv4).unwrap();
        assert_eq!(a, v3(150));
        assert_eq!(a.advert_int_cs(), 10);
        let ck = Checksum::for_send(VrrpVersion::V3, LB1, GROUP, false);
        assert_eq!(
            ck,
            Checksum::PseudoHeader {
                src: LB1,
                dst: GROUP
            }
        );
        assert_eq!(a.encode(ck).unwrap(), V3_LB1);
        // Without the pseudo-header the checksum differs: keepalived's default is not v2-style.
        let as_v2 = a
            .encode(Checksum::for_send(VrrpVersion::V3, LB1, GROUP, true))
            .unwrap();
        assert_ne!(as_v2, V3_LB1);
        assert!(checksum_ok(&as_v2, Checksum::MessageOnly));
    }

    #[test]
    fn v3_ipv6_roundtrip_and_checksum() {
        let src: IpAddr = "fe80::1".parse().unwrap();
        let dst: IpAddr = "ff02::12".parse().unwrap();
        let a = Advertisement {
            vrid: 7,
            priority: 255,
            addresses: vec![
                "fe80::100".parse().unwrap(),
                "2001:db8::100".parse().unwrap(),
            ],
            fields: VersionFields::V3 {
                max_advert_int_cs: 100,
            },
        };
        let ck = Checksum::for_send(VrrpVersion::V3, src, dst, true); // ignored for IPv6
        assert_eq!(ck, Checksum::PseudoHeader { src, dst });
        let bytes = a.encode(ck).unwrap();
        assert_eq!(bytes.len(), 8 + 32);
        assert!(checksum_ok(&bytes, ck));
        assert_eq!(Advertisement::decode(&bytes, Family::Ipv6).unwrap(), a);
    }

    #[test]
    fn decode_errors() {
        assert_eq!(
            Advertisement::decode(&V2_LB1[..7], Family::Ipv4),
            Err(DecodeError::Truncated { len: 7 })
        );
        assert_eq!(
            Advertisement::decode(&V2_LB1[..19], Family::Ipv4),
            Err(DecodeError::Length {
                expected: 20,
                actual: 19
            })
        );
        let mut padded = V2_LB1.to_vec();
        padded.push(0);
        assert!(matches!(
            Advertisement::decode(&padded, Family::Ipv4),
            Err(DecodeError::Length { .. })
        ));
        let mut bad = V2_LB1;
        bad[0] = 0x41;
        assert_eq!(
            Advertisement::decode(&bad, Family::Ipv4),
            Err(DecodeError::Version(4))
        );
        bad[0] = 0x22;
        assert_eq!(
            Advertisement::decode(&bad, Family::Ipv4),
            Err(DecodeError::Type(2))
        );
        assert_eq!(
            Advertisement::decode(&V2_LB1, Family::Ipv6),
            Err(DecodeError::V2OverIpv6)
        );
        // A v3 message read as IPv6: 1 address needs 24 bytes.
        assert_eq!(
            Advertisement::decode(&V3_LB1, Family::Ipv6),
            Err(DecodeError::Length {
                expected: 24,
                actual: 12
            })
        );
    }

    #[test]
    fn v3_reserved_bits_ignored() {
        let mut b = V3_LB1;
        b[4] |= 0xf0;
        let a = Advertisement::decode(&b, Family::Ipv4).unwrap();
        assert_eq!(a.advert_int_cs(), 10);
    }

    #[test]
    fn v2_auth_fields() {
        let mut a = v2(100);
        a.fields = VersionFields::V2 {
            auth_type: AuthType::SimplePassword,
            auth_data: *b"secret\0\0",
            advert_int_s: 3,
        };
        let bytes = a.encode(Checksum::MessageOnly).unwrap();
        assert_eq!(bytes[4], 1);
        assert_eq!(bytes[5], 3);
        assert_eq!(&bytes[12..], b"secret\0\0");
        assert_eq!(Advertisement::decode(&bytes, Family::Ipv4).unwrap(), a);
        assert_eq!(AuthType::from(9), AuthType::Unknown(9));
        assert_eq!(u8::from(AuthType::IpAh), 2);
    }

    #[test]
    fn encode_errors() {
        let mut a = v3(1);
        a.addresses.push("::1".parse().unwrap());
        assert_eq!(
            a.encode(Checksum::MessageOnly),
            Err(EncodeError::MixedFamilies)
        );
        let a = v3(1);
        let v6: IpAddr = "fe80::1".parse().unwrap();
        assert_eq!(
            a.encode(Checksum::PseudoHeader { src: v6, dst: v6 }),
            Err(EncodeError::MixedFamilies)
        );
        assert_eq!(
            a.encode(Checksum::PseudoHeader { src: LB1, dst: v6 }),
            Err(EncodeError::MixedFamilies)
        );
        assert_eq!(
            v2(1).encode(Checksum::PseudoHeader {
                src: LB1,
                dst: GROUP
            }),
            Err(EncodeError::PseudoHeaderOnV2)
        );
        let mut a = v2(1);
        a.addresses = vec![v6];
        assert_eq!(
            a.encode(Checksum::MessageOnly),
            Err(EncodeError::V2OverIpv6)
        );
        let mut a = v3(1);
        a.fields = VersionFields::V3 {
            max_advert_int_cs: 4096,
        };
        assert_eq!(
            a.encode(Checksum::MessageOnly),
            Err(EncodeError::AdvertIntTooLarge(4096))
        );
        let mut a = v3(1);
        a.addresses = (0..256u32).map(|i| IpAddr::V4(Ipv4Addr::from(i))).collect();
        assert_eq!(
            a.encode(Checksum::MessageOnly),
            Err(EncodeError::TooManyAddresses(256))
        );
    }

    #[test]
    fn serde_roundtrip_for_record_replay() {
        for a in [v2(150), v3(0)] {
            let json = serde_json::to_string(&a).unwrap();
            assert_eq!(serde_json::from_str::<Advertisement>(&json).unwrap(), a);
        }
    }

    #[test]
    fn no_addresses_is_encodable() {
        let mut a = v3(10);
        a.addresses.clear();
        let b = a.encode(Checksum::MessageOnly).unwrap();
        assert_eq!(b.len(), 8);
        assert_eq!(Advertisement::decode(&b, Family::Ipv4).unwrap(), a);
    }
}
