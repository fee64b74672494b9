//! The kernel's process-event connector (netlink `NETLINK_CONNECTOR`,
//! multicast group `CN_IDX_PROC`): fork, exec, comm-change and exit events of
//! every process on the host, as keepalived's `vrrp_track_process` uses them.
//!
//! The socket is netlink-sys's tokio socket; the messages are small fixed
//! C structures (`linux/connector.h`, `linux/cn_proc.h`), parsed here by
//! offset with bounds checks. Needs CAP_NET_ADMIN and a kernel with
//! `CONFIG_PROC_EVENTS`; [`ProcConnector::open`] fails otherwise and the
//! caller falls back to scanning /proc.

use netlink_sys::{protocols::NETLINK_CONNECTOR, AsyncSocket, AsyncSocketExt, SocketAddr};
use std::io;

/// `CN_IDX_PROC` / `CN_VAL_PROC`: the connector id of process events (and
/// the multicast group to join).
const CN_IDX_PROC: u32 = 1;
const CN_VAL_PROC: u32 = 1;
/// `PROC_CN_MCAST_LISTEN` / `PROC_CN_MCAST_IGNORE`.
const MCAST_LISTEN: u32 = 1;
const NLMSG_HDRLEN: usize = 16;
const NLMSG_DONE: u16 = 3;
const NLMSG_ERROR: u16 = 2;
const NLMSG_OVERRUN: u16 = 4;
/// `struct cn_msg`: id (idx, val), seq, ack, len (u16), flags (u16).
const CN_MSG_LEN: usize = 20;
/// `struct proc_event`: what, cpu, timestamp_ns, then the event's data.
const EVENT_DATA: usize = 16;

const PROC_EVENT_FORK: u32 = 0x0000_0001;
const PROC_EVENT_EXEC: u32 = 0x0000_0002;
const PROC_EVENT_COMM: u32 = 0x0000_0200;
const PROC_EVENT_EXIT: u32 = 0x8000_0000;

/// One process event (threads are told apart from processes by the caller:
/// a thread's pid differs from its tgid).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcEvent {
    Fork {
        parent_tgid: u32,
        child_pid: u32,
        child_tgid: u32,
    },
    Exec {
        pid: u32,
        tgid: u32,
    },
    /// The process changed its name (prctl PR_SET_NAME, or a write to comm).
    Comm {
        pid: u32,
        tgid: u32,
    },
    Exit {
        pid: u32,
        tgid: u32,
    },
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    let bytes = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_ne_bytes(bytes.try_into().ok()?))
}

fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    let bytes = b.get(off..off.checked_add(2)?)?;
    Some(u16::from_ne_bytes(bytes.try_into().ok()?))
}

/// What a datagram from the connector holds: the events, and whether the
/// kernel said something was lost (then the caller must rescan).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    pub events: Vec<ProcEvent>,
    pub lost: bool,
}

/// Parse one datagram (one or more netlink messages). Anything malformed or
/// of another kind is skipped.
pub fn parse(buf: &[u8]) -> Parsed {
    let mut out = Parsed::default();
    let mut off = 0usize;
    while let Some(len) = u32_at(buf, off) {
        let len = len as usize;
        let Some(ty) = u16_at(buf, off + 4) else {
            break;
        };
        if len < NLMSG_HDRLEN || off + len > buf.len() {
            break;
        }
        let msg = &buf[off..off + len];
        match ty {
            NLMSG_OVERRUN => out.lost = true,
            NLMSG_ERROR => {}
            _ => {
                if let Some(e) = parse_cn(&msg[NLMSG_HDRLEN..]) {
                    out.events.push(e);
                }
            }
        }
        // Messages are 4-byte aligned.
        off += (len + 3) & !3;
    }
    out
}

fn parse_cn(cn: &[u8]) -> Option<ProcEvent> {
    if u32_at(cn, 0)? != CN_IDX_PROC || u32_at(cn, 4)? != CN_VAL_PROC {
        return None;
    }
    let data_len = u16_at(cn, 16)? as usize;
    let ev = cn.get(CN_MSG_LEN..CN_MSG_LEN.checked_add(data_len)?)?;
    let what = u32_at(ev, 0)?;
    let d = |i: usize| u32_at(ev, EVENT_DATA + 4 * i);
    Some(match what {
        PROC_EVENT_FORK => ProcEvent::Fork {
            parent_tgid: d(1)?,
            child_pid: d(2)?,
            child_tgid: d(3)?,
        },
        PROC_EVENT_EXEC => ProcEvent::Exec {
            pid: d(0)?,
            tgid: d(1)?,
        },
        PROC_EVENT_COMM => ProcEvent::Comm {
            pid: d(0)?,
            tgid: d(1)?,
        },
        PROC_EVENT_EXIT => ProcEvent::Exit {
            pid: d(0)?,
            tgid: d(1)?,
        },
        _ => return None,
    })
}

/// A subscription to the process events.
pub struct ProcConnector {
    sock: netlink_sys::TokioSocket,
}

impl ProcConnector {
    /// Open, join the group and ask the kernel to send events. Must be
    /// called within a tokio runtime.
    pub fn open() -> io::Result<Self> {
        let mut sock = netlink_sys::TokioSocket::new(NETLINK_CONNECTOR)?;
        sock.socket_mut().bind(&SocketAddr::new(0, CN_IDX_PROC))?;
        // A busy host forks and execs a lot: room for bursts.
        let _ = sock.socket_ref().set_rx_buf_sz(1 << 20);
        let mut msg = Vec::with_capacity(NLMSG_HDRLEN + CN_MSG_LEN + 4);
        let total = (NLMSG_HDRLEN + CN_MSG_LEN + 4) as u32;
        msg.extend_from_slice(&total.to_ne_bytes());
        msg.extend_from_slice(&NLMSG_DONE.to_ne_bytes());
        msg.extend_from_slice(&0u16.to_ne_bytes()); // flags
        msg.extend_from_slice(&0u32.to_ne_bytes()); // seq
        msg.extend_from_slice(&0u32.to_ne_bytes()); // pid: the kernel fills it
        msg.extend_from_slice(&CN_IDX_PROC.to_ne_bytes());
        msg.extend_from_slice(&CN_VAL_PROC.to_ne_bytes());
        msg.extend_from_slice(&0u32.to_ne_bytes()); // seq
        msg.extend_from_slice(&0u32.to_ne_bytes()); // ack
        msg.extend_from_slice(&4u16.to_ne_bytes()); // len of the data
        msg.extend_from_slice(&0u16.to_ne_bytes()); // flags
        msg.extend_from_slice(&MCAST_LISTEN.to_ne_bytes());
        let kernel = SocketAddr::new(0, 0);
        sock.socket_ref().send_to(&msg, &kernel, 0)?;
        Ok(ProcConnector { sock })
    }

    /// The next datagram's events. An error of kind `ENOBUFS` means events
    /// were dropped (rescan); others mean the subscription is unusable.
    pub async fn recv(&mut self) -> io::Result<Parsed> {
        let (buf, _) = self.sock.recv_from_full().await?;
        Ok(parse(&buf))
    }
}

/// Whether an error from [`ProcConnector::recv`] only means lost events.
pub fn is_overrun(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::ENOBUFS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(what: u32, data: &[u32]) -> Vec<u8> {
        let mut ev = Vec::new();
        ev.extend_from_slice(&what.to_ne_bytes());
        ev.extend_from_slice(&0u32.to_ne_bytes());
        ev.extend_from_slice(&0u64.to_ne_bytes());
        for d in data {
            ev.extend_from_slice(&d.to_ne_bytes());
        }
        let mut cn = Vec::new();
        cn.extend_from_slice(&CN_IDX_PROC.to_ne_bytes());
        cn.extend_from_slice(&CN_VAL_PROC.to_ne_bytes());
        cn.extend_from_slice(&[0; 8]);
        cn.extend_from_slice(&(ev.len() as u16).to_ne_bytes());
        cn.extend_from_slice(&0u16.to_ne_bytes());
        cn.extend_from_slice(&ev);
        let mut m = Vec::new();
        m.extend_from_slice(&((NLMSG_HDRLEN + cn.len()) as u32).to_ne_bytes());
        m.extend_from_slice(&NLMSG_DONE.to_ne_bytes());
        m.extend_from_slice(&[0; 10]);
        m.extend_from_slice(&cn);
        m
    }

    #[test]
    fn events_are_parsed_and_junk_skipped() {
        let mut buf = message(PROC_EVENT_EXEC, &[42, 42]);
        buf.extend(message(PROC_EVENT_FORK, &[1, 1, 43, 43]));
        buf.extend(message(PROC_EVENT_EXIT, &[43, 43, 0, 17]));
        buf.extend(message(PROC_EVENT_COMM, &[42, 42, 0x6f6f66]));
        buf.extend(message(0x4, &[1, 1, 0, 0])); // a uid change: ignored
        let p = parse(&buf);
        assert!(!p.lost);
        assert_eq!(
            p.events,
            vec![
                ProcEvent::Exec { pid: 42, tgid: 42 },
                ProcEvent::Fork {
                    parent_tgid: 1,
                    child_pid: 43,
                    child_tgid: 43
                },
                ProcEvent::Exit { pid: 43, tgid: 43 },
                ProcEvent::Comm { pid: 42, tgid: 42 },
            ]
        );
        // Truncated, short, or empty input: nothing, no panic.
        let whole = message(PROC_EVENT_EXEC, &[7, 7]);
        for cut in 0..whole.len() {
            assert!(parse(&whole[..cut]).events.is_empty(), "cut at {cut}");
        }
        let mut bogus = whole.clone();
        bogus[..4].copy_from_slice(&3u32.to_ne_bytes());
        assert!(parse(&bogus).events.is_empty());
        // An overrun notice.
        let mut over = whole;
        over[4..6].copy_from_slice(&NLMSG_OVERRUN.to_ne_bytes());
        assert!(parse(&over).lost);
    }

    #[tokio::test]
    async fn the_kernel_reports_an_exec_and_its_exit() {
        if !nix::unistd::geteuid().is_root() {
            // CAP_NET_ADMIN is needed; the parser is tested above.
            return;
        }
        let mut c = ProcConnector::open().expect("proc connector");
        let child = std::process::Command::new("/bin/true").spawn().unwrap();
        let pid = child.id();
        let (mut exec, mut exit) = (false, false);
        let until = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        while !(exec && exit) {
            let p = tokio::time::timeout_at(until, c.recv())
                .await
                .expect("events in time")
                .unwrap();
            for e in p.events {
                match e {
                    ProcEvent::Exec { tgid, .. } if tgid == pid => exec = true,
                    ProcEvent::Exit { pid: p, tgid } if tgid == pid && p == pid => exit = true,
                    _ => {}
                }
            }
        }
        let mut child = child;
        let _ = child.wait();
    }
}
