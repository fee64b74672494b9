//! The Internet checksum (RFC 1071) and the pseudo-headers VRRPv3 puts under it.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::IPPROTO_VRRP;

/// Running one's-complement sum of 16-bit big-endian words.
///
/// Every piece fed to it except the last must have an even length; all VRRP pieces do
/// (headers are 8 bytes, addresses 4 or 16, pseudo-headers 12 or 40).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct InternetChecksum {
    sum: u64,
}

impl InternetChecksum {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Adds `bytes`; an odd trailing byte is taken as the high half of a word (RFC 1071 §4.1).
    pub(crate) fn add(&mut self, bytes: &[u8]) -> &mut Self {
        let mut words = bytes.chunks_exact(2);
        for w in &mut words {
            self.sum += u64::from(u16::from_be_bytes([w[0], w[1]]));
        }
        if let [last] = words.remainder() {
            self.sum += u64::from(*last) << 8;
        }
        self
    }

    /// Adds the IPv4 pseudo-header keepalived (and RFC 5798 §5.2.8) uses for VRRPv3:
    /// source, destination, zero, protocol 112, VRRP message length.
    pub(crate) fn add_ipv4_pseudo(&mut self, src: Ipv4Addr, dst: Ipv4Addr, len: u16) -> &mut Self {
        self.add(&src.octets())
            .add(&dst.octets())
            .add(&[0, IPPROTO_VRRP])
            .add(&len.to_be_bytes())
    }

    /// Adds the IPv6 pseudo-header of RFC 8200 §8.1: source, destination, 32-bit upper-layer
    /// length, three zero bytes, next header 112.
    pub(crate) fn add_ipv6_pseudo(&mut self, src: Ipv6Addr, dst: Ipv6Addr, len: u32) -> &mut Self {
        self.add(&src.octets())
            .add(&dst.octets())
            .add(&len.to_be_bytes())
            .add(&[0, 0, 0, IPPROTO_VRRP])
    }

    /// Folds the carries and complements: the value to store in a checksum field whose
    /// bytes were zero while summing, or 0 when verifying a message that includes its checksum.
    pub(crate) fn finish(&self) -> u16 {
        let mut s = self.sum;
        while s > 0xffff {
            s = (s & 0xffff) + (s >> 16);
        }
        // `s` fits in 16 bits after folding; the cast cannot truncate.
        !(s as u16)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3 worked example: words 0001 f203 f4f5 f6f7 sum to ddf2 (before complement).
        let mut c = InternetChecksum::new();
        c.add(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
        assert_eq!(c.finish(), !0xddf2);
    }

    #[test]
    fn odd_length_pads_low_byte() {
        let mut a = InternetChecksum::new();
        a.add(&[0x12, 0x34, 0x56]);
        let mut b = InternetChecksum::new();
        b.add(&[0x12, 0x34, 0x56, 0x00]);
        assert_eq!(a.finish(), b.finish());
    }

    #[test]
    fn verifying_a_checksummed_message_gives_zero() {
        // keepalived v2 advert from the captures, checksum 0x3abd included.
        let msg = [
            0x21, 0x33, 0x96, 0x01, 0x00, 0x01, 0x3a, 0xbd, 0xc0, 0xa8, 0x4d, 0x64, 0, 0, 0, 0, 0,
            0, 0, 0,
        ];
        assert_eq!(InternetChecksum::new().add(&msg).finish(), 0);
    }
}
