//! DNS_CHECK: one DNS query over UDP gets a good answer.
//!
//! keepalived's rules (keepalived.conf(5), check_dns.c):
//! - The query asks for `type` (default SOA) of `name` (default the root
//!   ".") in class IN, with recursion desired and a random id.
//! - A datagram shorter than a DNS header, with another id, or that is not
//!   a response is ignored: the check keeps waiting.
//! - A response with the id and response code NOERROR: up, whatever its
//!   sections hold (an empty answer is fine).
//! - A response with any other code (NXDOMAIN, SERVFAIL, REFUSED, ...), a
//!   socket error, or nothing by connect_timeout: down.
//!
//! Messages are built and read with simple-dns; only the header of a reply
//! is looked at, as keepalived does, so a reply with records we could not
//! parse still counts.

use super::probe::{Probe, ProbeFuture, ProbeOutcome};
use super::target::{io_reason, Target};
use crate::config::model::lvs::{DnsCheck, DnsType, EffectiveChecker, RealServer};
use simple_dns::{header_buffer, Name, Packet, PacketFlag, Question, CLASS, QCLASS, QTYPE, RCODE};
use socket2::{Protocol, Type};

/// The query for `name` (keepalived's text form: dot-separated labels, "."
/// for the root) of type `qtype`, with id `id`.
pub fn build_query(id: u16, name: &str, qtype: DnsType) -> Result<Vec<u8>, String> {
    // keepalived writes "." as the root name and ignores one final dot.
    let text = name.strip_suffix('.').unwrap_or(name);
    if !text.is_empty() && text.split('.').any(str::is_empty) {
        return Err(format!("DNS_CHECK name '{name}' has an empty label"));
    }
    let qname = Name::new(text).map_err(|e| format!("DNS_CHECK name '{name}': {e}"))?;
    let qtype =
        QTYPE::try_from(qtype.code()).map_err(|e| format!("DNS_CHECK type {qtype:?}: {e}"))?;
    let mut query = Packet::new_query(id);
    query.set_flags(PacketFlag::RECURSION_DESIRED);
    query
        .questions
        .push(Question::new(qname, qtype, QCLASS::CLASS(CLASS::IN), false));
    query
        .build_bytes_vec()
        .map_err(|e| format!("DNS_CHECK query for '{name}': {e}"))
}

/// What one received datagram means for a query with id `id`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// Not the answer to our query: keep waiting.
    Ignored(&'static str),
    /// The answer, with this verdict.
    Answer(ProbeOutcome),
}

pub fn judge_reply(id: u16, datagram: &[u8]) -> Reply {
    let (Ok(reply_id), Ok(is_response), Ok(rcode)) = (
        header_buffer::id(datagram),
        header_buffer::has_flags(datagram, PacketFlag::RESPONSE),
        header_buffer::rcode(datagram),
    ) else {
        return Reply::Ignored("shorter than a DNS header");
    };
    if reply_id != id {
        return Reply::Ignored("another query's id");
    }
    if !is_response {
        return Reply::Ignored("not a response");
    }
    if rcode == RCODE::NoError {
        Reply::Answer(ProbeOutcome::Up)
    } else {
        Reply::Answer(ProbeOutcome::Down(format!("response code {rcode:?}")))
    }
}

/// One DNS_CHECK of one real server.
pub struct DnsProbe {
    target: Target,
    name: String,
    qtype: DnsType,
}

impl DnsProbe {
    /// Build the probe of `check` on `rs` with the effective timers `eff`
    /// (only `connect_timeout` is used). Fails when keepalived drops the
    /// checker (see [`Target::new`]) or the name cannot be put in a query.
    pub fn new(
        check: &DnsCheck,
        rs: &RealServer,
        eff: &EffectiveChecker,
    ) -> Result<DnsProbe, String> {
        let name = check.name.clone().unwrap_or_else(|| ".".to_owned());
        build_query(0, &name, check.query_type)?;
        Ok(DnsProbe {
            target: Target::new(&check.connection(), rs, eff.connect_timeout)?,
            name,
            qtype: check.query_type,
        })
    }

    /// The longest one check can take: connect_timeout.
    pub fn max_duration(&self) -> std::time::Duration {
        self.target.timeout
    }

    async fn query(&self) -> ProbeOutcome {
        let id: u16 = rand::random();
        let query = match build_query(id, &self.name, self.qtype) {
            Ok(q) => q,
            Err(e) => return ProbeOutcome::Down(e),
        };
        let socket = match self.connected_socket() {
            Ok(s) => s,
            Err(e) => return ProbeOutcome::Down(io_reason(&e)),
        };
        let exchange = async {
            socket.send(&query).await.map_err(|e| io_reason(&e))?;
            let mut buf = vec![0u8; 65536];
            loop {
                let n = socket.recv(&mut buf).await.map_err(|e| io_reason(&e))?;
                let datagram = buf.get(..n).unwrap_or_default();
                match judge_reply(id, datagram) {
                    Reply::Answer(outcome) => return Ok(outcome),
                    Reply::Ignored(why) => {
                        tracing::debug!(target = %self.target.describe(), why, "DNS_CHECK ignores a datagram");
                    }
                }
            }
        };
        match tokio::time::timeout(self.target.timeout, exchange).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(why)) => ProbeOutcome::Down(why),
            Err(_) => ProbeOutcome::Down(format!(
                "no answer after {:.3}s",
                self.target.timeout.as_secs_f64()
            )),
        }
    }

    fn connected_socket(&self) -> std::io::Result<tokio::net::UdpSocket> {
        let socket = self.target.socket(Type::DGRAM, Protocol::UDP)?;
        socket.connect(&self.target.dest_addr()?.into())?;
        tokio::net::UdpSocket::from_std(socket.into())
    }
}

impl Probe for DnsProbe {
    fn probe(&self) -> ProbeFuture<'_> {
        Box::pin(self.query())
    }

    fn describe(&self) -> String {
        format!(
            "DNS_CHECK {} {:?} {}",
            self.target.describe(),
            self.qtype,
            self.name
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(id: u16, flags: u16) -> Vec<u8> {
        let mut h = Vec::new();
        h.extend_from_slice(&id.to_be_bytes());
        h.extend_from_slice(&flags.to_be_bytes());
        h.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
        h
    }

    #[test]
    fn queries_are_well_formed() {
        let q = build_query(0x1234, "example.com", DnsType::A).unwrap();
        // Header: id, RD, one question.
        assert_eq!(&q[..12], &[0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
        // QNAME, QTYPE A, QCLASS IN.
        assert_eq!(&q[12..], b"\x07example\x03com\x00\x00\x01\x00\x01");
        let parsed = Packet::parse(&q).unwrap();
        assert_eq!(parsed.questions.len(), 1);
    }

    #[test]
    fn the_root_and_a_final_dot() {
        let root = build_query(1, ".", DnsType::Soa).unwrap();
        assert_eq!(&root[12..], b"\x00\x00\x06\x00\x01");
        let dotted = build_query(1, "example.com.", DnsType::Mx).unwrap();
        assert_eq!(&dotted[12..], b"\x07example\x03com\x00\x00\x0f\x00\x01");
        for t in DnsType::ALL {
            assert!(build_query(1, "a.b", t.1).is_ok(), "{:?}", t.1);
        }
    }

    #[test]
    fn bad_names_are_refused() {
        assert!(build_query(1, "a..b", DnsType::A).is_err());
        assert!(build_query(1, ".a", DnsType::A).is_err());
        assert!(build_query(1, "a.b..", DnsType::A).is_err());
        assert!(build_query(1, &"x".repeat(64), DnsType::A).is_err());
    }

    #[test]
    fn replies_are_judged_on_their_header() {
        assert_eq!(
            judge_reply(7, &header(7, 0x8180)),
            Reply::Answer(ProbeOutcome::Up)
        );
        assert!(matches!(
            judge_reply(7, &header(7, 0x8183)),
            Reply::Answer(ProbeOutcome::Down(_))
        ));
        assert!(matches!(
            judge_reply(7, &header(7, 0x8182)),
            Reply::Answer(ProbeOutcome::Down(_))
        ));
        assert!(matches!(
            judge_reply(7, &header(8, 0x8180)),
            Reply::Ignored(_)
        ));
        assert!(matches!(
            judge_reply(7, &header(7, 0x0100)),
            Reply::Ignored(_)
        ));
        assert!(matches!(judge_reply(7, &[0, 7, 0x81]), Reply::Ignored(_)));
        assert!(matches!(judge_reply(7, &[]), Reply::Ignored(_)));
        // Garbage after a good header is not looked at.
        let mut odd = header(7, 0x8180);
        odd.extend_from_slice(&[0xff; 9]);
        assert_eq!(judge_reply(7, &odd), Reply::Answer(ProbeOutcome::Up));
    }

    proptest::proptest! {
        /// Any datagram is judged without panicking.
        #[test]
        fn any_datagram_is_judged(id in proptest::num::u16::ANY,
                                  data in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let _ = judge_reply(id, &data);
        }

        /// Any name either builds a query that parses back or is refused.
        #[test]
        fn any_name_builds_or_is_refused(name in "\\PC{0,80}") {
            if let Ok(q) = build_query(1, &name, DnsType::A) {
                proptest::prop_assert!(Packet::parse(&q).is_ok());
            }
        }
    }
}
