//! UDP_CHECK: send one datagram and judge what comes back within
//! connect_timeout.
//!
//! keepalived's rules (keepalived.conf(5), check_udp.c):
//! - The datagram is `payload`, else 32 arbitrary bytes.
//! - An ICMP error (port, host or network unreachable, ...) reported on the
//!   socket: down. This is why the manual asks for a connect_timeout long
//!   enough for ARP to give up on a dead host.
//! - Silence until the timeout: up, unless `require_reply` is set.
//! - A reply: up; with `require_reply`, its length must lie in
//!   `min_reply_length..=max_reply_length` (0 and 255 by default) and it
//!   must match the `require_reply` hex pattern over the shorter of the two
//!   (`X` nibbles match anything).
//!
//! keepalived 2.2.7 itself checks the reply length only when a pattern is
//! given; we follow its manual, which applies the lengths to any required
//! reply.

use super::probe::{Probe, ProbeFuture, ProbeOutcome};
use super::target::{io_reason, Target};
use crate::config::model::lvs::{decode_hex, EffectiveChecker, RealServer, UdpCheck};
use socket2::{Protocol, Type};
use std::time::Duration;

/// The size of keepalived's default payload.
const DEFAULT_PAYLOAD_LEN: usize = 32;

/// What the reply must look like.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplyRule {
    pub require_reply: bool,
    /// Expected leading bytes of the reply, and the mask of nibbles to ignore.
    pub pattern: Option<(Vec<u8>, Option<Vec<u8>>)>,
    pub min_len: usize,
    pub max_len: usize,
}

/// How one exchange ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Exchange<'a> {
    /// A datagram came back.
    Reply(&'a [u8]),
    /// Nothing came back in time.
    Silence(Duration),
    /// The socket reported an error (an ICMP error, or a local one).
    Error(String),
}

impl ReplyRule {
    pub fn of(check: &UdpCheck) -> ReplyRule {
        ReplyRule {
            require_reply: check.require_reply,
            // keepalived reports an invalid pattern and then ignores it.
            pattern: check
                .require_reply_data
                .as_deref()
                .and_then(|s| decode_hex(s, true)),
            min_len: usize::from(check.min_reply_length),
            max_len: usize::from(check.max_reply_length),
        }
    }

    /// The verdict on one exchange.
    pub fn judge(&self, exchange: &Exchange<'_>) -> ProbeOutcome {
        match exchange {
            Exchange::Error(why) => ProbeOutcome::Down(why.clone()),
            Exchange::Silence(after) if self.require_reply => {
                ProbeOutcome::Down(format!("no reply after {:.3}s", after.as_secs_f64()))
            }
            Exchange::Silence(_) => ProbeOutcome::Up,
            Exchange::Reply(_) if !self.require_reply => ProbeOutcome::Up,
            Exchange::Reply(data) => {
                if data.len() < self.min_len || data.len() > self.max_len {
                    return ProbeOutcome::Down(format!(
                        "reply of {} bytes, expected {}..={}",
                        data.len(),
                        self.min_len,
                        self.max_len
                    ));
                }
                if let Some((want, mask)) = &self.pattern {
                    let mismatch = data.iter().zip(want).enumerate().any(|(i, (got, want))| {
                        let ignored = mask.as_ref().and_then(|m| m.get(i)).copied().unwrap_or(0);
                        (got ^ want) & !ignored != 0
                    });
                    if mismatch {
                        return ProbeOutcome::Down("reply data mismatch".into());
                    }
                }
                ProbeOutcome::Up
            }
        }
    }
}

/// One UDP_CHECK of one real server.
pub struct UdpProbe {
    target: Target,
    payload: Option<Vec<u8>>,
    rule: ReplyRule,
}

impl UdpProbe {
    /// Build the probe of `check` on `rs` with the effective timers `eff`
    /// (only `connect_timeout` is used). Fails when keepalived drops the
    /// checker (see [`Target::new`]).
    pub fn new(
        check: &UdpCheck,
        rs: &RealServer,
        eff: &EffectiveChecker,
    ) -> Result<UdpProbe, String> {
        Ok(UdpProbe {
            target: Target::new(&check.connection(), rs, eff.connect_timeout)?,
            // keepalived reports an invalid payload and then sends its default.
            payload: check
                .payload
                .as_deref()
                .and_then(|s| decode_hex(s, false))
                .map(|p| p.0),
            rule: ReplyRule::of(check),
        })
    }

    /// The longest one check can take: connect_timeout.
    pub fn max_duration(&self) -> std::time::Duration {
        self.target.timeout
    }

    async fn exchange(&self) -> ProbeOutcome {
        let socket = match self.connected_socket() {
            Ok(s) => s,
            Err(e) => return ProbeOutcome::Down(io_reason(&e)),
        };
        let payload = match &self.payload {
            Some(p) => p.clone(),
            None => {
                let mut p = vec![0u8; DEFAULT_PAYLOAD_LEN];
                rand::fill(&mut p[..]);
                p
            }
        };
        let wait = async {
            socket.send(&payload).await?;
            // Large enough for any datagram, so its true length is judged.
            let mut buf = vec![0u8; 65536];
            socket.recv(&mut buf).await.map(|n| {
                buf.truncate(n);
                buf
            })
        };
        match tokio::time::timeout(self.target.timeout, wait).await {
            Ok(Ok(reply)) => self.rule.judge(&Exchange::Reply(&reply)),
            Ok(Err(e)) => self.rule.judge(&Exchange::Error(io_reason(&e))),
            Err(_) => self.rule.judge(&Exchange::Silence(self.target.timeout)),
        }
    }

    fn connected_socket(&self) -> std::io::Result<tokio::net::UdpSocket> {
        let socket = self.target.socket(Type::DGRAM, Protocol::UDP)?;
        // Every ICMP error, not only port unreachable, must fail the check.
        if self.target.dest.is_ipv4() {
            nix::sys::socket::setsockopt(&socket, nix::sys::socket::sockopt::Ipv4RecvErr, &true)?;
        } else {
            nix::sys::socket::setsockopt(&socket, nix::sys::socket::sockopt::Ipv6RecvErr, &true)?;
        }
        socket.connect(&self.target.dest_addr()?.into())?;
        tokio::net::UdpSocket::from_std(socket.into())
    }
}

impl Probe for UdpProbe {
    fn probe(&self) -> ProbeFuture<'_> {
        Box::pin(self.exchange())
    }

    fn describe(&self) -> String {
        format!("UDP_CHECK {}", self.target.describe())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(require_reply: bool, pattern: Option<&str>, min: u16, max: u16) -> ReplyRule {
        ReplyRule::of(&UdpCheck {
            require_reply,
            require_reply_data: pattern.map(str::to_owned),
            min_reply_length: min,
            max_reply_length: max,
            ..Default::default()
        })
    }

    const T: Duration = Duration::from_secs(1);

    #[test]
    fn without_require_reply_only_errors_fail() {
        let r = rule(false, None, 0, 255);
        assert_eq!(r.judge(&Exchange::Silence(T)), ProbeOutcome::Up);
        assert_eq!(r.judge(&Exchange::Reply(b"anything")), ProbeOutcome::Up);
        assert_eq!(r.judge(&Exchange::Reply(&[0; 1000])), ProbeOutcome::Up);
        assert_eq!(
            r.judge(&Exchange::Error("connection refused".into())),
            ProbeOutcome::Down("connection refused".into())
        );
    }

    #[test]
    fn require_reply_needs_a_reply_of_the_right_length() {
        let r = rule(true, None, 2, 4);
        assert!(!r.judge(&Exchange::Silence(T)).is_up());
        assert!(!r.judge(&Exchange::Reply(b"a")).is_up());
        assert!(r.judge(&Exchange::Reply(b"ab")).is_up());
        assert!(r.judge(&Exchange::Reply(b"abcd")).is_up());
        assert!(!r.judge(&Exchange::Reply(b"abcde")).is_up());
        // Default bounds: 0..=255.
        let r = rule(true, None, 0, 255);
        assert!(r.judge(&Exchange::Reply(b"")).is_up());
        assert!(!r.judge(&Exchange::Reply(&[0; 256])).is_up());
    }

    #[test]
    fn patterns_match_over_the_shorter_length_with_wildcards() {
        let r = rule(true, Some("de ad xf"), 0, 255);
        assert!(r.judge(&Exchange::Reply(&[0xde, 0xad, 0x0f])).is_up());
        assert!(r.judge(&Exchange::Reply(&[0xde, 0xad, 0x7f, 0x99])).is_up());
        assert!(r.judge(&Exchange::Reply(&[0xde])).is_up());
        assert!(!r.judge(&Exchange::Reply(&[0xde, 0xae])).is_up());
        assert!(!r.judge(&Exchange::Reply(&[0xde, 0xad, 0x0e])).is_up());
        // An invalid pattern is ignored, as keepalived does after reporting it.
        let r = rule(true, Some("zz"), 0, 255);
        assert!(r.judge(&Exchange::Reply(b"x")).is_up());
    }

    proptest::proptest! {
        /// Any reply is judged against any rule without panicking.
        #[test]
        fn any_reply_is_judged(reply in proptest::collection::vec(proptest::num::u8::ANY, 0..300),
                               pattern in "[0-9a-fA-FxX ]{0,20}",
                               min in proptest::num::u16::ANY, max in proptest::num::u16::ANY) {
            let r = rule(true, Some(&pattern), min, max);
            let _ = r.judge(&Exchange::Reply(&reply));
        }
    }
}
