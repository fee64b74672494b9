//! PING_CHECK: an ICMP (IPv4) or ICMPv6 echo request gets its echo reply
//! within connect_timeout.
//!
//! The socket is the unprivileged ICMP datagram socket when the host allows
//! it (`net.ipv4.ping_group_range` contains our group; the kernel then fills
//! in the identifier and checksum and hands us only our own replies), else a
//! raw ICMP socket (needs CAP_NET_RAW; we then match the identifier
//! ourselves). keepalived instead widens `ping_group_range` to include root;
//! we leave the host's setting alone.
//!
//! A reply counts when it is an echo reply with our identifier (raw sockets)
//! and the sequence number of this check; anything else received is ignored.
//! An error reported on the socket (an ICMP error for a connected datagram
//! socket, no route, ...) fails the check at once.

use super::probe::{Probe, ProbeFuture, ProbeOutcome};
use super::target::{io_reason, Target};
use crate::config::model::lvs::{EffectiveChecker, PingCheck, RealServer};
use etherparse::{IcmpEchoHeader, Icmpv4Header, Icmpv4Slice, Icmpv4Type, Icmpv6Header};
use etherparse::{Icmpv6Slice, Icmpv6Type, Ipv4HeaderSlice};
use socket2::{Protocol, Socket, Type};
use std::io;
use std::sync::atomic::{AtomicU16, Ordering};

/// Bytes of data after the ICMP header (the classic ping size).
const PAYLOAD_LEN: usize = 56;

/// Which ICMP it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

/// The kind of socket a datagram came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SocketKind {
    /// `SOCK_DGRAM` ICMP socket: no IP header; the kernel owns the identifier.
    Datagram,
    /// `SOCK_RAW`: IPv4 datagrams start with the IP header; we own the identifier.
    Raw,
}

/// An echo request message (ICMP header and data). The ICMPv4 checksum is
/// computed here; the kernel computes ICMPv6's (it needs the addresses).
pub fn encode_echo_request(family: Family, id: u16, seq: u16, data: &[u8]) -> Vec<u8> {
    let echo = IcmpEchoHeader { id, seq };
    let mut out = match family {
        Family::V4 => Icmpv4Header::with_checksum(Icmpv4Type::EchoRequest(echo), data)
            .to_bytes()
            .to_vec(),
        Family::V6 => Icmpv6Header::new(Icmpv6Type::EchoRequest(echo))
            .to_bytes()
            .to_vec(),
    };
    out.extend_from_slice(data);
    out
}

/// The identifier and sequence number of an echo reply, or `None` for any
/// other datagram (another ICMP type, truncated, not ICMP).
pub fn parse_echo_reply(
    family: Family,
    kind: SocketKind,
    datagram: &[u8],
) -> Option<IcmpEchoHeader> {
    match family {
        Family::V4 => {
            let icmp = match kind {
                SocketKind::Datagram => datagram,
                SocketKind::Raw => {
                    let ip = Ipv4HeaderSlice::from_slice(datagram).ok()?;
                    datagram.get(ip.slice().len()..)?
                }
            };
            match Icmpv4Slice::from_slice(icmp).ok()?.icmp_type() {
                Icmpv4Type::EchoReply(echo) => Some(echo),
                _ => None,
            }
        }
        // Raw ICMPv6 sockets never see the IPv6 header.
        Family::V6 => match Icmpv6Slice::from_slice(datagram).ok()?.icmp_type() {
            Icmpv6Type::EchoReply(echo) => Some(echo),
            _ => None,
        },
    }
}

/// Whether a reply answers our request: the sequence number always, the
/// identifier only on raw sockets (on datagram sockets the kernel rewrites
/// it and delivers only replies that carry its value).
pub fn answers(kind: SocketKind, request: IcmpEchoHeader, reply: IcmpEchoHeader) -> bool {
    reply.seq == request.seq && (kind == SocketKind::Datagram || reply.id == request.id)
}

/// One PING_CHECK of one real server.
pub struct PingProbe {
    target: Target,
    family: Family,
    /// The identifier on raw sockets (random per probe, so two checkers of
    /// the same address do not take each other's replies).
    id: u16,
    next_seq: AtomicU16,
}

impl PingProbe {
    /// Build the probe of `check` on `rs` with the effective timers `eff`
    /// (only `connect_timeout` is used). Fails when keepalived drops the
    /// checker (see [`Target::new`]).
    pub fn new(
        check: &PingCheck,
        rs: &RealServer,
        eff: &EffectiveChecker,
    ) -> Result<PingProbe, String> {
        let mut conn = check.connection();
        // ICMP has no ports; a configured connect_port means nothing here.
        conn.connect_port = Some(0);
        let target = Target::new(&conn, rs, eff.connect_timeout)?;
        let family = if target.dest.is_ipv4() {
            Family::V4
        } else {
            Family::V6
        };
        Ok(PingProbe {
            target,
            family,
            id: rand::random(),
            next_seq: AtomicU16::new(rand::random()),
        })
    }

    /// The longest one check can take: connect_timeout.
    pub fn max_duration(&self) -> std::time::Duration {
        self.target.timeout
    }

    fn open(&self) -> io::Result<(Socket, SocketKind)> {
        let protocol = match self.family {
            Family::V4 => Protocol::ICMPV4,
            Family::V6 => Protocol::ICMPV6,
        };
        let socket = match self.target.socket(Type::DGRAM, protocol) {
            Ok(s) => (s, SocketKind::Datagram),
            // Not in ping_group_range (or no ping sockets): a raw socket.
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::EACCES | libc::EPERM | libc::EPROTONOSUPPORT)
                ) =>
            {
                (self.target.socket(Type::RAW, protocol)?, SocketKind::Raw)
            }
            Err(e) => return Err(e),
        };
        socket.0.connect(&self.target.dest_addr()?.into())?;
        Ok(socket)
    }

    async fn ping(&self) -> ProbeOutcome {
        let (socket, kind) = match self.open() {
            Ok(s) => s,
            Err(e) => return ProbeOutcome::Down(io_reason(&e)),
        };
        let request = IcmpEchoHeader {
            id: self.id,
            seq: self.next_seq.fetch_add(1, Ordering::Relaxed),
        };
        let mut data = [0u8; PAYLOAD_LEN];
        rand::fill(&mut data[..]);
        let packet = encode_echo_request(self.family, request.id, request.seq, &data);
        let exchange = async {
            // tokio's UDP socket only calls send/recv on the descriptor, which
            // is all an ICMP socket of either kind needs.
            let socket = tokio::net::UdpSocket::from_std(socket.into())?;
            socket.send(&packet).await?;
            let mut buf = vec![0u8; 65536];
            loop {
                let n = socket.recv(&mut buf).await?;
                let datagram = buf.get(..n).unwrap_or_default();
                if let Some(reply) = parse_echo_reply(self.family, kind, datagram) {
                    if answers(kind, request, reply) {
                        return Ok::<(), io::Error>(());
                    }
                }
            }
        };
        match tokio::time::timeout(self.target.timeout, exchange).await {
            Ok(Ok(())) => ProbeOutcome::Up,
            Ok(Err(e)) => ProbeOutcome::Down(io_reason(&e)),
            Err(_) => ProbeOutcome::Down(format!(
                "no echo reply after {:.3}s",
                self.target.timeout.as_secs_f64()
            )),
        }
    }
}

impl Probe for PingProbe {
    fn probe(&self) -> ProbeFuture<'_> {
        Box::pin(self.ping())
    }

    fn describe(&self) -> String {
        format!("PING_CHECK [{}]", self.target.dest.ip())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_requests_encode_with_a_valid_icmpv4_checksum() {
        let req = encode_echo_request(Family::V4, 0x1234, 7, b"abcd");
        assert_eq!(&req[..2], &[8, 0]);
        assert_eq!(&req[4..8], &[0x12, 0x34, 0, 7]);
        assert_eq!(&req[8..], b"abcd");
        // The Internet checksum over the whole message folds to 0xffff.
        let sum = req
            .chunks(2)
            .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
            .sum::<u32>();
        let folded = (sum & 0xffff) + (sum >> 16);
        assert_eq!((folded & 0xffff) + (folded >> 16), 0xffff);

        let req6 = encode_echo_request(Family::V6, 1, 2, b"x");
        assert_eq!(&req6[..2], &[128, 0]);
        assert_eq!(&req6[4..], &[0, 1, 0, 2, b'x']);
    }

    fn reply_v4(id: u16, seq: u16) -> Vec<u8> {
        let mut r = encode_echo_request(Family::V4, id, seq, b"data");
        r[0] = 0; // echo reply
        r
    }

    #[test]
    fn echo_replies_parse_from_datagram_and_raw_sockets() {
        let icmp = reply_v4(9, 3);
        let want = Some(IcmpEchoHeader { id: 9, seq: 3 });
        assert_eq!(
            parse_echo_reply(Family::V4, SocketKind::Datagram, &icmp),
            want
        );

        let ip = etherparse::Ipv4Header::new(
            u16::try_from(icmp.len()).unwrap(),
            64,
            etherparse::IpNumber::ICMP,
            [10, 0, 0, 2],
            [10, 0, 0, 1],
        )
        .unwrap();
        let mut raw = ip.to_bytes().to_vec();
        raw.extend_from_slice(&icmp);
        assert_eq!(parse_echo_reply(Family::V4, SocketKind::Raw, &raw), want);

        let mut v6 = encode_echo_request(Family::V6, 4, 5, b"z");
        v6[0] = 129;
        assert_eq!(
            parse_echo_reply(Family::V6, SocketKind::Raw, &v6),
            Some(IcmpEchoHeader { id: 4, seq: 5 })
        );
    }

    #[test]
    fn other_datagrams_are_not_replies() {
        // Our own request (seen on loopback by raw sockets).
        let req = encode_echo_request(Family::V4, 9, 3, b"data");
        assert_eq!(
            parse_echo_reply(Family::V4, SocketKind::Datagram, &req),
            None
        );
        // Destination unreachable.
        let mut unreach = reply_v4(9, 3);
        unreach[0] = 3;
        assert_eq!(
            parse_echo_reply(Family::V4, SocketKind::Datagram, &unreach),
            None
        );
        // Truncated and empty datagrams, garbage where an IP header should be.
        assert_eq!(
            parse_echo_reply(Family::V4, SocketKind::Datagram, &[0, 0, 0]),
            None
        );
        assert_eq!(parse_echo_reply(Family::V4, SocketKind::Raw, &[]), None);
        assert_eq!(
            parse_echo_reply(Family::V4, SocketKind::Raw, &[0x45; 10]),
            None
        );
        assert_eq!(parse_echo_reply(Family::V6, SocketKind::Raw, &[129]), None);
    }

    #[test]
    fn matching_uses_the_identifier_only_on_raw_sockets() {
        let req = IcmpEchoHeader { id: 1, seq: 10 };
        let other_id = IcmpEchoHeader { id: 2, seq: 10 };
        let other_seq = IcmpEchoHeader { id: 1, seq: 11 };
        assert!(answers(SocketKind::Raw, req, req));
        assert!(!answers(SocketKind::Raw, req, other_id));
        assert!(!answers(SocketKind::Raw, req, other_seq));
        assert!(answers(SocketKind::Datagram, req, other_id));
        assert!(!answers(SocketKind::Datagram, req, other_seq));
    }

    proptest::proptest! {
        /// Any datagram is parsed without panicking, on any socket kind.
        #[test]
        fn any_datagram_is_parsed(data in proptest::collection::vec(proptest::num::u8::ANY, 0..96)) {
            for family in [Family::V4, Family::V6] {
                for kind in [SocketKind::Datagram, SocketKind::Raw] {
                    let _ = parse_echo_reply(family, kind, &data);
                }
            }
        }

        /// A request turned into a reply parses back to its id and sequence.
        #[test]
        fn replies_round_trip(id in proptest::num::u16::ANY, seq in proptest::num::u16::ANY,
                              data in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let mut v4 = encode_echo_request(Family::V4, id, seq, &data);
            v4[0] = 0;
            proptest::prop_assert_eq!(
                parse_echo_reply(Family::V4, SocketKind::Datagram, &v4),
                Some(IcmpEchoHeader { id, seq })
            );
            let mut v6 = encode_echo_request(Family::V6, id, seq, &data);
            v6[0] = 129;
            proptest::prop_assert_eq!(
                parse_echo_reply(Family::V6, SocketKind::Datagram, &v6),
                Some(IcmpEchoHeader { id, seq })
            );
        }
    }
}
