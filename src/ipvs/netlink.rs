//! A synchronous generic netlink client for IPVS.
//!
//! One `NETLINK_GENERIC` socket, the `IPVS` family id resolved once at
//! [`IpvsClient::new`]. Every change is one request and one ACK
//! ([`IpvsClient::batch`] sends many requests per system call, then reads
//! their ACKs); reads are dumps (multipart, until `NLMSG_DONE`). Blocking: the syncer calls it from
//! a blocking thread. Not `Sync`; use one client per thread.

use std::io;

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST,
};
use netlink_packet_generic::GenlMessage;
use netlink_sys::{protocols::NETLINK_GENERIC, Socket, SocketAddr};

use super::codec::{
    self, cmd, CtrlMessage, DaemonAttr, DestEntry, IpvsAttr, IpvsMessage, ServiceEntry, SyncDaemon,
    SyncState, IPVS_GENL_NAME,
};
use super::types::{DestId, Destination, IpvsError, IpvsOps, Service, ServiceId};

/// What GET_INFO reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpvsInfo {
    /// `IP_VS_VERSION_CODE`, e.g. 0x010201 for 1.2.1.
    pub version: u32,
    /// Size of the connection hash table.
    pub conn_tab_size: u32,
}

impl IpvsInfo {
    /// `major.minor.patch`.
    pub fn version_string(&self) -> String {
        format!(
            "{}.{}.{}",
            (self.version >> 16) & 0xff,
            (self.version >> 8) & 0xff,
            self.version & 0xff
        )
    }
}

/// Connection timeouts in seconds (GET_CONFIG / SET_CONFIG; `ipvsadm
/// --set`). On SET a 0 leaves that timeout unchanged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timeouts {
    pub tcp: u32,
    pub tcp_fin: u32,
    pub udp: u32,
}

const RECV_BUF: usize = 64 * 1024;
/// Bytes of requests per `send` in [`IpvsClient::batch`]: their ACKs
/// (36 bytes each) stay far below the socket's receive buffer.
const BATCH_BYTES: usize = 16 * 1024;
const RECV_TIMEOUT_SECS: i64 = 30;
const ENOENT: i32 = 2;
const ESRCH: i32 = 3;
const EEXIST: i32 = 17;
const EINVAL: i32 = 22;

/// Map a netlink error code (negative errno) to an [`IpvsError`].
pub fn errno_to_error(errno: i32) -> IpvsError {
    let errno = errno.abs();
    match errno {
        EEXIST => IpvsError::Exists,
        ESRCH | ENOENT => IpvsError::NotFound,
        EINVAL => IpvsError::Invalid(io::Error::from_raw_os_error(errno).to_string()),
        _ => IpvsError::Kernel {
            errno,
            message: io::Error::from_raw_os_error(errno).to_string(),
        },
    }
}

fn transport(what: &str, e: impl std::fmt::Display) -> IpvsError {
    IpvsError::Transport(format!("{what}: {e}"))
}

/// The IPVS client. See the module docs.
pub struct IpvsClient {
    sock: Socket,
    family: u16,
    seq: u32,
    rx: Vec<u8>,
    tx: Vec<u8>,
}

impl IpvsClient {
    /// Open a socket in the caller's network namespace and resolve the IPVS
    /// family. [`IpvsError::Unavailable`] when the kernel has no IPVS (the
    /// controller has no such family, even after the kernel's own attempt to
    /// load `ip_vs`).
    pub fn new() -> Result<Self, IpvsError> {
        let mut sock = Socket::new(NETLINK_GENERIC).map_err(|e| match e.raw_os_error() {
            Some(libc::EPROTONOSUPPORT) | Some(libc::EAFNOSUPPORT) => IpvsError::Unavailable,
            _ => transport("netlink socket", e),
        })?;
        sock.bind_auto().map_err(|e| transport("netlink bind", e))?;
        sock.connect(&SocketAddr::new(0, 0))
            .map_err(|e| transport("netlink connect", e))?;
        // Extended ACKs carry the kernel's message text; harmless if refused.
        let _ = sock.set_ext_ack(true);
        // The kernel answers at once; a reply that never comes becomes an
        // error instead of a thread blocked for ever.
        let tv = nix::sys::time::TimeVal::new(RECV_TIMEOUT_SECS, 0);
        nix::sys::socket::setsockopt(&sock, nix::sys::socket::sockopt::ReceiveTimeout, &tv)
            .map_err(|e| transport("netlink SO_RCVTIMEO", e))?;
        let mut c = IpvsClient {
            sock,
            family: 0,
            seq: 0,
            rx: Vec::with_capacity(RECV_BUF),
            tx: Vec::with_capacity(512),
        };
        c.family = c.resolve_family(IPVS_GENL_NAME)?;
        Ok(c)
    }

    /// The IPVS family id the controller gave.
    pub fn family_id(&self) -> u16 {
        self.family
    }

    fn resolve_family(&mut self, name: &str) -> Result<u16, IpvsError> {
        let req = GenlMessage::from_payload(CtrlMessage::get_family(name));
        let replies = match self.transact::<CtrlMessage>(req, NLM_F_REQUEST | NLM_F_ACK) {
            Ok(r) => r,
            Err(IpvsError::NotFound) => return Err(IpvsError::Unavailable),
            Err(e) => return Err(e),
        };
        replies
            .iter()
            .find_map(|m| m.family_id)
            .ok_or(IpvsError::Unavailable)
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    /// Send one request and collect the payloads of the replies until the
    /// ACK (or `NLMSG_DONE` for a dump). A NACK becomes an [`IpvsError`].
    fn transact<F>(&mut self, mut msg: GenlMessage<F>, flags: u16) -> Result<Vec<F>, IpvsError>
    where
        F: netlink_packet_generic::GenlFamily
            + netlink_packet_core::Emitable
            + netlink_packet_core::ParseableParametrized<[u8], netlink_packet_generic::GenlHeader>
            + std::fmt::Debug,
    {
        if msg.family_id() == 0 {
            msg.set_resolved_family_id(self.family);
        }
        let seq = self.next_seq();
        let mut nl = NetlinkMessage::from(msg);
        nl.header.flags = flags;
        nl.header.sequence_number = seq;
        nl.finalize();
        self.tx.clear();
        self.tx.resize(nl.buffer_len(), 0);
        nl.serialize(&mut self.tx);
        self.sock
            .send(&self.tx, 0)
            .map_err(|e| transport("netlink send", e))?;
        let dump = flags & NLM_F_DUMP == NLM_F_DUMP;
        let mut out = Vec::new();
        loop {
            self.rx.clear();
            let n = self
                .sock
                .recv(&mut self.rx, libc::MSG_TRUNC)
                .map_err(|e| transport("netlink recv", e))?;
            if n == 0 {
                return Err(IpvsError::Transport("netlink: empty read".into()));
            }
            if n > self.rx.len() {
                return Err(IpvsError::Transport(format!(
                    "netlink reply of {n} bytes truncated to {}",
                    self.rx.len()
                )));
            }
            let mut off = 0;
            while off + 16 <= self.rx.len() {
                let len = u32::from_ne_bytes([
                    self.rx[off],
                    self.rx[off + 1],
                    self.rx[off + 2],
                    self.rx[off + 3],
                ]) as usize;
                if len < 16 || off + len > self.rx.len() {
                    return Err(IpvsError::Transport(format!(
                        "bad netlink message length {len}"
                    )));
                }
                let chunk = &self.rx[off..off + len];
                off += (len + 3) & !3;
                let msg = NetlinkMessage::<GenlMessage<F>>::deserialize(chunk)
                    .map_err(|e| transport("netlink decode", e))?;
                if msg.header.sequence_number != seq {
                    continue; // left over from an earlier, abandoned request
                }
                match msg.payload {
                    NetlinkPayload::InnerMessage(g) => out.push(g.payload),
                    NetlinkPayload::Error(e) => {
                        return match e.code {
                            None => Ok(out),
                            Some(code) => Err(errno_to_error(code.get())),
                        };
                    }
                    NetlinkPayload::Done(d) => {
                        if d.code != 0 {
                            return Err(errno_to_error(d.code));
                        }
                        return Ok(out);
                    }
                    NetlinkPayload::Overrun(_) => {
                        return Err(IpvsError::Transport("netlink overrun".into()))
                    }
                    _ => {}
                }
            }
            if !dump && flags & NLM_F_ACK == 0 && !out.is_empty() {
                return Ok(out);
            }
        }
    }

    fn ipvs(
        &mut self,
        cmd: u8,
        attrs: Vec<IpvsAttr>,
        flags: u16,
    ) -> Result<Vec<IpvsMessage>, IpvsError> {
        self.transact(
            GenlMessage::from_payload(IpvsMessage::new(cmd, attrs)),
            flags,
        )
    }

    fn change(&mut self, cmd: u8, attrs: Vec<IpvsAttr>) -> Result<(), IpvsError> {
        self.ipvs(cmd, attrs, NLM_F_REQUEST | NLM_F_ACK).map(|_| ())
    }

    fn dump(&mut self, cmd: u8, attrs: Vec<IpvsAttr>) -> Result<Vec<IpvsMessage>, IpvsError> {
        self.ipvs(cmd, attrs, NLM_F_REQUEST | NLM_F_DUMP)
    }

    /// IPVS version and connection table size (GET_INFO).
    pub fn info(&mut self) -> Result<IpvsInfo, IpvsError> {
        let replies = self.ipvs(cmd::GET_INFO, vec![], NLM_F_REQUEST | NLM_F_ACK)?;
        let mut info = IpvsInfo {
            version: 0,
            conn_tab_size: 0,
        };
        for a in replies.iter().flat_map(|m| &m.attrs) {
            match a {
                IpvsAttr::InfoVersion(v) => info.version = *v,
                IpvsAttr::InfoConnTabSize(v) => info.conn_tab_size = *v,
                _ => {}
            }
        }
        Ok(info)
    }

    /// Every service with its counters (GET_SERVICE dump).
    pub fn service_entries(&mut self) -> Result<Vec<ServiceEntry>, IpvsError> {
        let replies = self.dump(cmd::GET_SERVICE, vec![])?;
        let mut out = Vec::with_capacity(replies.len());
        for a in replies.iter().flat_map(|m| &m.attrs) {
            if let IpvsAttr::Service(attrs) = a {
                out.push(codec::parse_service(attrs).map_err(|e| transport("service", e))?);
            }
        }
        Ok(out)
    }

    /// One service by its key (GET_SERVICE, not a dump).
    pub fn service_entry(&mut self, id: &ServiceId) -> Result<ServiceEntry, IpvsError> {
        let replies = self.ipvs(
            cmd::GET_SERVICE,
            vec![IpvsAttr::Service(codec::service_key_attrs(id))],
            NLM_F_REQUEST | NLM_F_ACK,
        )?;
        for a in replies.iter().flat_map(|m| &m.attrs) {
            if let IpvsAttr::Service(attrs) = a {
                return codec::parse_service(attrs).map_err(|e| transport("service", e));
            }
        }
        Err(IpvsError::NotFound)
    }

    /// The destinations of a service with their counters (GET_DEST dump).
    /// For a service that does not exist the kernel returns an empty dump.
    pub fn dest_entries(&mut self, svc: &ServiceId) -> Result<Vec<DestEntry>, IpvsError> {
        let replies = self.dump(
            cmd::GET_DEST,
            vec![IpvsAttr::Service(codec::service_key_attrs(svc))],
        )?;
        let af = svc.family();
        let mut out = Vec::with_capacity(replies.len());
        for a in replies.iter().flat_map(|m| &m.attrs) {
            if let IpvsAttr::Dest(attrs) = a {
                out.push(codec::parse_dest(attrs, af).map_err(|e| transport("destination", e))?);
            }
        }
        Ok(out)
    }

    /// Zero the counters of one service, or of all (ZERO).
    pub fn zero(&mut self, svc: Option<&ServiceId>) -> Result<(), IpvsError> {
        let attrs = match svc {
            Some(id) => vec![IpvsAttr::Service(codec::service_key_attrs(id))],
            None => vec![],
        };
        self.change(cmd::ZERO, attrs)
    }

    /// Start a sync daemon (NEW_DAEMON).
    pub fn new_daemon(&mut self, d: &SyncDaemon) -> Result<(), IpvsError> {
        let attrs = codec::daemon_attrs(d).map_err(IpvsError::Invalid)?;
        self.change(cmd::NEW_DAEMON, vec![IpvsAttr::Daemon(attrs)])
    }

    /// Stop the master or backup sync daemon (DEL_DAEMON).
    pub fn del_daemon(&mut self, state: SyncState) -> Result<(), IpvsError> {
        self.change(
            cmd::DEL_DAEMON,
            vec![IpvsAttr::Daemon(vec![DaemonAttr::State(state.value())])],
        )
    }

    /// The running sync daemons (GET_DAEMON dump).
    pub fn daemons(&mut self) -> Result<Vec<SyncDaemon>, IpvsError> {
        let replies = self.dump(cmd::GET_DAEMON, vec![])?;
        let mut out = Vec::new();
        for a in replies.iter().flat_map(|m| &m.attrs) {
            if let IpvsAttr::Daemon(attrs) = a {
                out.push(codec::parse_daemon(attrs).map_err(|e| transport("daemon", e))?);
            }
        }
        Ok(out)
    }

    /// Connection timeouts (GET_CONFIG).
    pub fn timeouts(&mut self) -> Result<Timeouts, IpvsError> {
        let replies = self.ipvs(cmd::GET_CONFIG, vec![], NLM_F_REQUEST | NLM_F_ACK)?;
        let mut t = Timeouts::default();
        for a in replies.iter().flat_map(|m| &m.attrs) {
            match a {
                IpvsAttr::TimeoutTcp(v) => t.tcp = *v,
                IpvsAttr::TimeoutTcpFin(v) => t.tcp_fin = *v,
                IpvsAttr::TimeoutUdp(v) => t.udp = *v,
                _ => {}
            }
        }
        Ok(t)
    }

    /// Set connection timeouts (SET_CONFIG); a 0 leaves that one unchanged.
    pub fn set_timeouts(&mut self, t: &Timeouts) -> Result<(), IpvsError> {
        self.change(
            cmd::SET_CONFIG,
            vec![
                IpvsAttr::TimeoutTcp(t.tcp),
                IpvsAttr::TimeoutTcpFin(t.tcp_fin),
                IpvsAttr::TimeoutUdp(t.udp),
            ],
        )
    }

    /// Send `ops` in order, many requests per `send`: one result per op.
    /// The kernel handles the requests of one send in order, answers each
    /// failed one with its error, and goes on with the next. Only the last
    /// request of a send asks for an ACK: when it comes, every request
    /// before it without an error succeeded. This is the same as one
    /// request and one ACK at a time, with far fewer system calls, and the
    /// kernel builds, queues and wakes us for one ACK per send instead of
    /// one per request.
    pub fn batch(&mut self, ops: &[super::syncer::Op]) -> Vec<Result<(), IpvsError>> {
        let mut results: Vec<Option<Result<(), IpvsError>>> = Vec::with_capacity(ops.len());
        let mut i = 0;
        while i < ops.len() {
            // Encode up to BATCH_BYTES of requests.
            self.tx.clear();
            let first = results.len();
            let seq0 = self.seq.wrapping_add(1);
            let mut last_at = None;
            while i < ops.len() && self.tx.len() < BATCH_BYTES {
                let seq = self.seq.wrapping_add(1);
                let at = self.tx.len();
                match super::request::append(&mut self.tx, self.family, seq, &ops[i]) {
                    Ok(()) => {
                        self.seq = seq;
                        last_at = Some(at);
                        results.push(None);
                    }
                    // Not sent: no sequence number taken.
                    Err(e) => results.push(Some(Err(e))),
                }
                i += 1;
            }
            let Some(last_at) = last_at else {
                continue;
            };
            super::request::request_ack(&mut self.tx, last_at);
            let last_seq = self.seq;
            // seq0.. are the sequence numbers of this send's requests, in
            // the order of the `None` slots.
            let slots: Vec<usize> = (first..results.len())
                .filter(|&k| results[k].is_none())
                .collect();
            let outcome = match self.sock.send(&self.tx, 0) {
                Ok(_) => self.read_batch_answers(seq0, last_seq, &slots, &mut results),
                Err(e) => Err(format!("netlink send: {e}")),
            };
            if let Err(msg) = outcome {
                for &k in &slots {
                    if results[k].is_none() {
                        results[k] = Some(Err(IpvsError::Transport(msg.clone())));
                    }
                }
            }
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(IpvsError::Transport("no ACK".into()))))
            .collect()
    }

    /// Read the answers to one send of [`Self::batch`] (requests `seq0` to
    /// `last_seq`, results in `slots`) until the last request's ACK or
    /// error; the requests without an error are then done.
    fn read_batch_answers(
        &mut self,
        seq0: u32,
        last_seq: u32,
        slots: &[usize],
        results: &mut [Option<Result<(), IpvsError>>],
    ) -> Result<(), String> {
        loop {
            self.rx.clear();
            let n = self
                .sock
                .recv(&mut self.rx, libc::MSG_TRUNC)
                .map_err(|e| format!("netlink recv: {e}"))?;
            let end = n.min(self.rx.len());
            let mut off = 0;
            let mut done = false;
            while off + 16 <= end {
                let b = &self.rx[off..];
                let len = u32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as usize;
                if len < 16 || off + len > end {
                    break;
                }
                let chunk = &self.rx[off..off + len];
                off += (len + 3) & !3;
                let Ok(msg) = NetlinkMessage::<GenlMessage<IpvsMessage>>::deserialize(chunk) else {
                    continue;
                };
                let seq = msg.header.sequence_number;
                let Some(&k) = slots.get(seq.wrapping_sub(seq0) as usize) else {
                    continue; // left over from an earlier, abandoned request
                };
                if let NetlinkPayload::Error(e) = msg.payload {
                    if results[k].is_none() {
                        results[k] = Some(match e.code {
                            None => Ok(()),
                            Some(code) => Err(errno_to_error(code.get())),
                        });
                    }
                    done |= seq == last_seq;
                }
            }
            if done {
                for &k in slots {
                    results[k].get_or_insert(Ok(()));
                }
                return Ok(());
            }
        }
    }

    fn service_change(&mut self, cmd: u8, svc: &Service) -> Result<(), IpvsError> {
        let attrs = codec::service_attrs(svc).map_err(IpvsError::Invalid)?;
        self.change(cmd, vec![IpvsAttr::Service(attrs)])
    }

    fn dest_change(
        &mut self,
        cmd: u8,
        svc: &ServiceId,
        dest: &Destination,
    ) -> Result<(), IpvsError> {
        self.change(
            cmd,
            vec![
                IpvsAttr::Service(codec::service_key_attrs(svc)),
                IpvsAttr::Dest(codec::dest_attrs(dest)),
            ],
        )
    }
}

impl IpvsOps for IpvsClient {
    fn services(&mut self) -> Result<Vec<Service>, IpvsError> {
        Ok(self
            .service_entries()?
            .into_iter()
            .map(|e| e.service)
            .collect())
    }

    fn destinations(&mut self, svc: &ServiceId) -> Result<Vec<Destination>, IpvsError> {
        Ok(self
            .dest_entries(svc)?
            .into_iter()
            .map(|e| e.dest)
            .collect())
    }

    fn new_service(&mut self, svc: &Service) -> Result<(), IpvsError> {
        self.service_change(cmd::NEW_SERVICE, svc)
    }

    fn set_service(&mut self, svc: &Service) -> Result<(), IpvsError> {
        self.service_change(cmd::SET_SERVICE, svc)
    }

    fn del_service(&mut self, svc: &ServiceId) -> Result<(), IpvsError> {
        self.change(
            cmd::DEL_SERVICE,
            vec![IpvsAttr::Service(codec::service_key_attrs(svc))],
        )
    }

    fn new_destination(&mut self, svc: &ServiceId, dest: &Destination) -> Result<(), IpvsError> {
        self.dest_change(cmd::NEW_DEST, svc, dest)
    }

    fn set_destination(&mut self, svc: &ServiceId, dest: &Destination) -> Result<(), IpvsError> {
        self.dest_change(cmd::SET_DEST, svc, dest)
    }

    fn del_destination(&mut self, svc: &ServiceId, dest: &DestId) -> Result<(), IpvsError> {
        self.change(
            cmd::DEL_DEST,
            vec![
                IpvsAttr::Service(codec::service_key_attrs(svc)),
                IpvsAttr::Dest(codec::dest_key_attrs(dest)),
            ],
        )
    }

    fn flush(&mut self) -> Result<(), IpvsError> {
        self.change(cmd::FLUSH, vec![])
    }

    fn batch(&mut self, ops: &[super::syncer::Op]) -> Vec<Result<(), IpvsError>> {
        IpvsClient::batch(self, ops)
    }
}

/// The bytes of one request as the client sends it (for tests and for
/// comparing with captures).
pub fn encode_request(family: u16, seq: u32, flags: u16, msg: IpvsMessage) -> Vec<u8> {
    let mut g = GenlMessage::from_payload(msg);
    g.set_resolved_family_id(family);
    let mut nl = NetlinkMessage::new(NetlinkHeader::default(), NetlinkPayload::from(g));
    nl.header.flags = flags;
    nl.header.sequence_number = seq;
    nl.finalize();
    let mut buf = vec![0u8; nl.buffer_len()];
    nl.serialize(&mut buf);
    buf
}
