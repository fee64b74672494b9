//! The IPv4 header in front of what a raw `IPPROTO_VRRP` IPv4 socket returns.
//!
//! The kernel has already verified the header checksum and reassembled fragments, so only
//! the fields VRRP needs are read, and every length is checked before it is used.

use std::net::{IpAddr, Ipv4Addr};

use super::RxMeta;

/// Minimum IPv4 header length (IHL 5).
const MIN_HEADER_LEN: usize = 20;

/// The parts of an IPv4 header that VRRP receive processing uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv4Header {
    /// Header length in bytes, options included (IHL × 4).
    pub header_len: usize,
    /// Type of service octet (keepalived sends 0xc0, internetwork control).
    pub tos: u8,
    /// Total length: header plus payload.
    pub total_len: u16,
    /// Time to live, which must be 255 for multicast adverts.
    pub ttl: u8,
    /// Protocol: 112 for VRRP (51 for AH, which we do not support).
    pub protocol: u8,
    /// Source address: the advertising router (or its `unicast_src_ip`).
    pub src: Ipv4Addr,
    /// Destination: the multicast group or our unicast address.
    pub dst: Ipv4Addr,
}

/// Why a buffer does not start with a usable IPv4 header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Ipv4HeaderError {
    /// Shorter than a minimal 20-byte header.
    #[error("IPv4 header truncated: {len} bytes")]
    TooShort {
        /// Bytes received.
        len: usize,
    },
    /// Version nibble is not 4.
    #[error("IP version {0}, expected 4")]
    Version(u8),
    /// IHL below 5, or the options run past the buffer.
    #[error("IPv4 header length {header_len} invalid for a {len}-byte buffer")]
    HeaderLength {
        /// IHL × 4.
        header_len: usize,
        /// Bytes received.
        len: usize,
    },
    /// Total length smaller than the header itself.
    #[error("IPv4 total length {total_len} below header length {header_len}")]
    TotalLength {
        /// Total length field.
        total_len: u16,
        /// IHL × 4.
        header_len: usize,
    },
    /// Fewer bytes than the total length says (keepalived counts this as a length error).
    #[error("IPv4 packet truncated: total length {total_len}, received {len}")]
    Truncated {
        /// Total length field.
        total_len: u16,
        /// Bytes received.
        len: usize,
    },
}

impl Ipv4Header {
    /// Parses the header at the start of `buf` and returns it with the payload.
    ///
    /// The payload is cut at the total length: bytes after it are link-layer padding (an
    /// Ethernet frame is at least 60 bytes, and a VRRPv3 IPv4 advert is 46 with its Ethernet
    /// header; some NICs hand that padding up to raw sockets) and are ignored, as keepalived
    /// does since 2.3.2.
    pub fn parse(buf: &[u8]) -> Result<(Ipv4Header, &[u8]), Ipv4HeaderError> {
        let fixed: &[u8; MIN_HEADER_LEN] = buf
            .get(..MIN_HEADER_LEN)
            .and_then(|h| h.try_into().ok())
            .ok_or(Ipv4HeaderError::TooShort { len: buf.len() })?;
        let version = fixed[0] >> 4;
        if version != 4 {
            return Err(Ipv4HeaderError::Version(version));
        }
        let header_len = usize::from(fixed[0] & 0x0f) * 4;
        if header_len < MIN_HEADER_LEN || header_len > buf.len() {
            return Err(Ipv4HeaderError::HeaderLength {
                header_len,
                len: buf.len(),
            });
        }
        let total_len = u16::from_be_bytes([fixed[2], fixed[3]]);
        if usize::from(total_len) < header_len {
            return Err(Ipv4HeaderError::TotalLength {
                total_len,
                header_len,
            });
        }
        let payload =
            buf.get(header_len..usize::from(total_len))
                .ok_or(Ipv4HeaderError::Truncated {
                    total_len,
                    len: buf.len(),
                })?;
        let hdr = Ipv4Header {
            header_len,
            tos: fixed[1],
            total_len,
            ttl: fixed[8],
            protocol: fixed[9],
            src: Ipv4Addr::new(fixed[12], fixed[13], fixed[14], fixed[15]),
            dst: Ipv4Addr::new(fixed[16], fixed[17], fixed[18], fixed[19]),
        };
        Ok((hdr, payload))
    }

    /// The receive metadata validation needs, all of which an IPv4 header carries
    /// (multicast = destination in 224.0.0.0/4, as keepalived decides it).
    pub fn rx_meta(&self) -> RxMeta {
        RxMeta {
            src: IpAddr::V4(self.src),
            dst: IpAddr::V4(self.dst),
            ttl_or_hoplimit: Some(self.ttl),
            multicast: self.dst.is_multicast(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// lb1's VRRPv2 advert as the raw socket returns it (from the captures).
    const V2_PKT: [u8; 40] = [
        0x45, 0xc0, 0x00, 0x28, 0x00, 0x01, 0x00, 0x00, 0xff, 0x70, 0xcc, 0xde, 0xc0, 0xa8, 0x4d,
        0x0b, 0xe0, 0x00, 0x00, 0x12, 0x21, 0x33, 0x96, 0x01, 0x00, 0x01, 0x3a, 0xbd, 0xc0, 0xa8,
        0x4d, 0x64, 0, 0, 0, 0, 0, 0, 0, 0,
    ];

    #[test]
    fn parses_keepalived_header() {
        let (h, payload) = Ipv4Header::parse(&V2_PKT).unwrap();
        assert_eq!(h.header_len, 20);
        assert_eq!(h.tos, 0xc0);
        assert_eq!(h.total_len, 40);
        assert_eq!(h.ttl, 255);
        assert_eq!(h.protocol, 112);
        assert_eq!(h.src, Ipv4Addr::new(192, 168, 77, 11));
        assert_eq!(h.dst, Ipv4Addr::new(224, 0, 0, 18));
        assert_eq!(payload, &V2_PKT[20..]);
        let m = h.rx_meta();
        assert!(m.multicast);
        assert_eq!(m.ttl_or_hoplimit, Some(255));
    }

    #[test]
    fn ethernet_padding_is_trimmed() {
        let mut padded = V2_PKT.to_vec();
        padded.extend_from_slice(&[0; 6]);
        let (h, payload) = Ipv4Header::parse(&padded).unwrap();
        assert_eq!(h.total_len, 40);
        assert_eq!(payload, &V2_PKT[20..]);
    }

    #[test]
    fn options_are_skipped() {
        // IHL 6 with a 4-byte option (router alert), total length grows by 4.
        let mut p = V2_PKT[..20].to_vec();
        p[0] = 0x46;
        p[3] = 44;
        p.extend_from_slice(&[0x94, 0x04, 0x00, 0x00]);
        p.extend_from_slice(&V2_PKT[20..]);
        let (h, payload) = Ipv4Header::parse(&p).unwrap();
        assert_eq!(h.header_len, 24);
        assert_eq!(payload, &V2_PKT[20..]);
    }

    #[test]
    fn errors() {
        assert_eq!(
            Ipv4Header::parse(&V2_PKT[..19]),
            Err(Ipv4HeaderError::TooShort { len: 19 })
        );
        let mut p = V2_PKT;
        p[0] = 0x65;
        assert_eq!(Ipv4Header::parse(&p), Err(Ipv4HeaderError::Version(6)));
        p[0] = 0x44;
        assert_eq!(
            Ipv4Header::parse(&p),
            Err(Ipv4HeaderError::HeaderLength {
                header_len: 16,
                len: 40
            })
        );
        p[0] = 0x4f;
        assert_eq!(
            Ipv4Header::parse(&p),
            Err(Ipv4HeaderError::HeaderLength {
                header_len: 60,
                len: 40
            })
        );
        let mut p = V2_PKT;
        p[3] = 19;
        assert_eq!(
            Ipv4Header::parse(&p),
            Err(Ipv4HeaderError::TotalLength {
                total_len: 19,
                header_len: 20
            })
        );
        assert_eq!(
            Ipv4Header::parse(&V2_PKT[..39]),
            Err(Ipv4HeaderError::Truncated {
                total_len: 40,
                len: 39
            })
        );
    }
}
