//! SMTP_CHECK: connect, read a 220 greeting, say `HELO helo_name`, expect
//! 250, say `QUIT` and read its reply.
//!
//! keepalived's rules (keepalived.conf(5), check_smtp.c):
//! - The HELO name defaults to `smtpchecker.keepalived.org`.
//! - connect_timeout bounds the connection and each exchange (keepalived
//!   bounds each read; we bound the whole reply, so a server sending a byte
//!   at a time cannot hold the check open).
//! - Any other greeting or HELO reply code, a closed connection or a
//!   timeout at any step (the reply to QUIT included): down.
//! - Each legacy `host { }` block is one more checked address with the
//!   SMTP_CHECK's HELO; the SMTP_CHECK's own address is checked only when a
//!   connection keyword is set on it or there is no host block
//!   ([`SmtpCheck::uses_own_connection`]).
//!
//! keepalived reads only the first line of a reply, so a multi-line
//! greeting (`220-...`) fails there; we read multi-line replies as RFC 5321
//! defines them and judge their code.

use super::probe::{Probe, ProbeFuture, ProbeOutcome};
use super::target::{io_reason, Target};
use crate::config::model::lvs::{EffectiveChecker, RealServer, SmtpCheck, VirtualServer};
use socket2::{Protocol, Type};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// keepalived's HELO name when none is configured.
pub const DEFAULT_HELO_NAME: &str = "smtpchecker.keepalived.org";

/// The longest reply we wait for; a server that sends more without ending
/// its reply is not a healthy SMTP server.
const MAX_REPLY_LEN: usize = 4096;

/// Where the dialogue stands: which reply we wait for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Awaiting {
    Greeting,
    HeloReply,
    QuitReply,
}

/// What the client does next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Read more from the server.
    Read,
    /// Write these bytes, then read.
    Write(Vec<u8>),
    /// The check is over.
    Finish(ProbeOutcome),
}

/// The SMTP dialogue of one check, without I/O: feed it what the server
/// sends, do what it says.
#[derive(Clone, Debug)]
pub struct Dialogue {
    helo_name: String,
    awaiting: Awaiting,
    received: Vec<u8>,
}

/// A complete reply: its code, and its first line for messages.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Reply {
    code: Option<u16>,
    first_line: String,
}

impl Dialogue {
    pub fn new(helo_name: &str) -> Dialogue {
        Dialogue {
            helo_name: helo_name.to_owned(),
            awaiting: Awaiting::Greeting,
            received: Vec::new(),
        }
    }

    /// The server sent `data`.
    pub fn on_data(&mut self, data: &[u8]) -> Step {
        self.received.extend_from_slice(data);
        let Some(reply) = take_reply(&mut self.received) else {
            if self.received.len() > MAX_REPLY_LEN {
                return Step::Finish(ProbeOutcome::Down(format!(
                    "{} longer than {MAX_REPLY_LEN} bytes",
                    self.what()
                )));
            }
            return Step::Read;
        };
        match (self.awaiting, reply.code) {
            (Awaiting::Greeting, Some(220)) => {
                self.awaiting = Awaiting::HeloReply;
                Step::Write(format!("HELO {}\r\n", self.helo_name).into_bytes())
            }
            (Awaiting::HeloReply, Some(250)) => {
                self.awaiting = Awaiting::QuitReply;
                Step::Write(b"QUIT\r\n".to_vec())
            }
            (Awaiting::QuitReply, _) => Step::Finish(ProbeOutcome::Up),
            _ => Step::Finish(ProbeOutcome::Down(format!(
                "bad {}: {}",
                self.what(),
                reply.first_line
            ))),
        }
    }

    /// The server closed the connection.
    pub fn on_eof(&self) -> Step {
        Step::Finish(ProbeOutcome::Down(format!(
            "connection closed before the {}",
            self.what()
        )))
    }

    /// The reply being waited for, for messages.
    pub fn what(&self) -> &'static str {
        match self.awaiting {
            Awaiting::Greeting => "greeting banner",
            Awaiting::HeloReply => "HELO reply",
            Awaiting::QuitReply => "QUIT reply",
        }
    }
}

/// Remove one complete reply from the front of `buf`, if there is one.
/// Lines end with LF (CR LF in practice); a line `NNN-text` announces more
/// lines, `NNN text` or `NNN` ends the reply.
fn take_reply(buf: &mut Vec<u8>) -> Option<Reply> {
    let mut start = 0;
    let mut first_line: Option<String> = None;
    loop {
        let len = buf.get(start..)?.iter().position(|b| *b == b'\n')?;
        let line = buf.get(start..start + len).unwrap_or_default();
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let text = String::from_utf8_lossy(line).into_owned();
        let code = reply_code(line);
        let continues = code.is_some() && line.get(3) == Some(&b'-');
        first_line.get_or_insert_with(|| text.clone());
        start += len + 1;
        if !continues {
            buf.drain(..start);
            return Some(Reply {
                code,
                first_line: first_line.unwrap_or(text),
            });
        }
    }
}

/// The code of a reply line: three digits followed by a blank, a `-` or
/// nothing.
fn reply_code(line: &[u8]) -> Option<u16> {
    let digits = line.get(..3)?;
    if !digits.iter().all(u8::is_ascii_digit) || !matches!(line.get(3), None | Some(b' ' | b'-')) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// One SMTP_CHECK address of one real server.
pub struct SmtpProbe {
    target: Target,
    helo_name: String,
}

impl SmtpProbe {
    /// The probes of `check` on `rs` of `vs` with the effective timers
    /// `eff`: one per checked address (the SMTP_CHECK's own, then one per
    /// `host` block, see the module documentation). An address keepalived
    /// drops (link-local IPv6 without bind_if, ...) is an `Err` with the
    /// reason, in its place.
    ///
    /// A host block's timeout is its own connect_timeout, else the real
    /// server's (then the virtual server's), as in keepalived.
    pub fn for_check(
        check: &SmtpCheck,
        vs: &VirtualServer,
        rs: &RealServer,
        eff: &EffectiveChecker,
    ) -> Vec<Result<SmtpProbe, String>> {
        let helo_name = check
            .helo_name
            .clone()
            .unwrap_or_else(|| DEFAULT_HELO_NAME.to_owned());
        let mut out = Vec::new();
        if check.uses_own_connection() {
            out.push(Target::new(&check.connection(), rs, eff.connect_timeout));
        }
        let rs_timeout = vs.effective_real_server(rs).connect_timeout;
        for host in &check.host {
            let timeout = host.connect_timeout.unwrap_or(rs_timeout);
            out.push(Target::new(&host.connection(), rs, Some(timeout)));
        }
        out.into_iter()
            .map(|t| {
                t.map(|target| SmtpProbe {
                    target,
                    helo_name: helo_name.clone(),
                })
            })
            .collect()
    }

    async fn converse(&self) -> ProbeOutcome {
        use tokio::time::{timeout_at, Instant};
        let timeout = self.target.timeout;
        let seconds = timeout.as_secs_f64();
        let mut stream = match tokio::time::timeout(timeout, self.connect()).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return ProbeOutcome::Down(format!("connect: {}", io_reason(&e))),
            Err(_) => return ProbeOutcome::Down(format!("connect timed out after {seconds:.3}s")),
        };
        let mut dialogue = Dialogue::new(&self.helo_name);
        let mut buf = [0u8; 1024];
        let mut step = Step::Read;
        // Each exchange (our line, if any, and the server's whole reply)
        // gets connect_timeout, so a server trickling bytes cannot stretch
        // the check: it ends within 4 × connect_timeout.
        let mut deadline = Instant::now() + timeout;
        loop {
            match step {
                Step::Finish(outcome) => return outcome,
                Step::Write(bytes) => {
                    deadline = Instant::now() + timeout;
                    step = match timeout_at(deadline, stream.write_all(&bytes)).await {
                        Ok(Ok(())) => Step::Read,
                        Ok(Err(e)) => {
                            Step::Finish(ProbeOutcome::Down(format!("write: {}", io_reason(&e))))
                        }
                        Err(_) => Step::Finish(ProbeOutcome::Down(format!(
                            "write timed out after {seconds:.3}s"
                        ))),
                    };
                }
                Step::Read => {
                    step = match timeout_at(deadline, stream.read(&mut buf)).await {
                        Ok(Ok(0)) => dialogue.on_eof(),
                        Ok(Ok(n)) => dialogue.on_data(buf.get(..n).unwrap_or_default()),
                        Ok(Err(e)) => {
                            Step::Finish(ProbeOutcome::Down(format!("read: {}", io_reason(&e))))
                        }
                        Err(_) => Step::Finish(ProbeOutcome::Down(format!(
                            "no {} after {seconds:.3}s",
                            dialogue.what()
                        ))),
                    };
                }
            }
        }
    }

    /// The longest one check can take: the connection, then the greeting,
    /// HELO and QUIT exchanges, each bounded by connect_timeout.
    pub fn max_duration(&self) -> std::time::Duration {
        self.target.timeout.saturating_mul(4)
    }

    async fn connect(&self) -> std::io::Result<tokio::net::TcpStream> {
        let socket = self.target.socket(Type::STREAM, Protocol::TCP)?;
        let socket = tokio::net::TcpSocket::from_std_stream(socket.into());
        socket.connect(self.target.dest_addr()?).await
    }
}

impl Probe for SmtpProbe {
    fn probe(&self) -> ProbeFuture<'_> {
        Box::pin(self.converse())
    }

    fn describe(&self) -> String {
        format!("SMTP_CHECK {}", self.target.describe())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(dialogue: &mut Dialogue, chunks: &[&[u8]]) -> Vec<Step> {
        chunks.iter().map(|c| dialogue.on_data(c)).collect()
    }

    #[test]
    fn a_good_server() {
        let mut d = Dialogue::new("me.example");
        let steps = run(
            &mut d,
            &[b"220 mx ESMTP\r\n", b"250 hello\r\n", b"221 bye\r\n"],
        );
        assert_eq!(
            steps,
            vec![
                Step::Write(b"HELO me.example\r\n".to_vec()),
                Step::Write(b"QUIT\r\n".to_vec()),
                Step::Finish(ProbeOutcome::Up),
            ]
        );
    }

    #[test]
    fn replies_split_across_reads_and_multi_line_replies() {
        let mut d = Dialogue::new("h");
        let steps = run(
            &mut d,
            &[b"22", b"0-mx first\r\n220-second\r", b"\n220 last\n"],
        );
        assert_eq!(steps[0], Step::Read);
        assert_eq!(steps[1], Step::Read);
        assert_eq!(steps[2], Step::Write(b"HELO h\r\n".to_vec()));
        // A bare code ends a reply too.
        assert_eq!(d.on_data(b"250\r\n"), Step::Write(b"QUIT\r\n".to_vec()));
    }

    #[test]
    fn bad_banners_and_helo_replies_fail() {
        for banner in [
            &b"554 go away\r\n"[..],
            b"hello\r\n",
            b"2200 x\r\n",
            b"22\r\n",
            b"\r\n",
        ] {
            let mut d = Dialogue::new("h");
            assert!(
                matches!(d.on_data(banner), Step::Finish(ProbeOutcome::Down(_))),
                "{banner:?}"
            );
        }
        let mut d = Dialogue::new("h");
        d.on_data(b"220 ok\r\n");
        assert_eq!(
            d.on_data(b"501 bad\r\n"),
            Step::Finish(ProbeOutcome::Down("bad HELO reply: 501 bad".into()))
        );
    }

    #[test]
    fn closed_connections_and_floods_fail() {
        let d = Dialogue::new("h");
        assert!(matches!(d.on_eof(), Step::Finish(ProbeOutcome::Down(_))));
        let mut d = Dialogue::new("h");
        d.on_data(b"220 ok\r\n");
        d.on_data(b"250 ok\r\n");
        // No reply to QUIT: keepalived fails the check.
        assert!(matches!(d.on_eof(), Step::Finish(ProbeOutcome::Down(_))));
        let mut d = Dialogue::new("h");
        assert_eq!(d.on_data(&[b'2'; 4000]), Step::Read);
        assert!(matches!(
            d.on_data(&[b'2'; 200]),
            Step::Finish(ProbeOutcome::Down(_))
        ));
        let mut d = Dialogue::new("h");
        let flood = b"220-more\r\n".repeat(500);
        assert!(matches!(
            d.on_data(&flood),
            Step::Finish(ProbeOutcome::Down(_))
        ));
    }

    #[test]
    fn host_blocks_are_more_addresses() {
        use crate::config::model::lvs::SmtpHost;
        let vs = VirtualServer::default();
        let rs = RealServer::new("10.0.0.2".parse().unwrap(), Some(25));
        let eff = vs
            .effective_checker(
                &rs,
                &crate::config::model::lvs::Checker::Smtp(SmtpCheck::default()),
            )
            .unwrap();
        let plain = SmtpProbe::for_check(&SmtpCheck::default(), &vs, &rs, &eff);
        assert_eq!(plain.len(), 1);
        let with_hosts = SmtpCheck {
            host: vec![
                SmtpHost {
                    connect_ip: Some("10.0.0.3".parse().unwrap()),
                    connect_port: Some(2525),
                    ..Default::default()
                },
                SmtpHost {
                    connect_ip: Some("fe80::1".parse().unwrap()),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let probes = SmtpProbe::for_check(&with_hosts, &vs, &rs, &eff);
        assert_eq!(
            probes.len(),
            2,
            "hosts only: the check's own address is not checked"
        );
        assert_eq!(
            probes[0].as_ref().map(Probe::describe),
            Ok("SMTP_CHECK [10.0.0.3]:2525".to_owned())
        );
        assert!(probes[1].is_err());
        let own_and_hosts = SmtpCheck {
            connect_port: Some(587),
            ..with_hosts
        };
        assert_eq!(
            SmtpProbe::for_check(&own_and_hosts, &vs, &rs, &eff).len(),
            3
        );
    }

    proptest::proptest! {
        /// Whatever a server sends, in whatever pieces, the dialogue never
        /// panics and never holds more than one reply's worth of bytes.
        #[test]
        fn any_server_output_is_handled(chunks in proptest::collection::vec(
            proptest::collection::vec(proptest::num::u8::ANY, 0..600), 0..12)) {
            let mut d = Dialogue::new("h");
            for chunk in &chunks {
                let step = d.on_data(chunk);
                proptest::prop_assert!(d.received.len() <= MAX_REPLY_LEN + chunk.len());
                if matches!(step, Step::Finish(_)) {
                    break;
                }
            }
            let _ = d.on_eof();
        }
    }
}
