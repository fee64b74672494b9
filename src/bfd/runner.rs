//! The I/O edge of BFD: one receive socket per address family on UDP port
//! 3784 (RFC 5881), one task per `bfd_instance` with its own transmit
//! socket, and the [`Sessions`] handle that `BFD_CHECK` and `track_bfd`
//! read session states from.
//!
//! Receiving: the receive task reads each datagram with its TTL/hop limit
//! (IP_RECVTTL / IPV6_RECVHOPLIMIT) and destination (IP_PKTINFO), decodes
//! it (malformed packets are dropped and counted by reason), finds the
//! session by Your Discriminator, or for Your Discriminator 0 by the
//! neighbour (and local) address, checks the TTL, and hands the packet to
//! the session's task. keepalived's TTL rule: a packet is kept when its TTL
//! is at least the instance's `ttl`/`hoplimit` (default 255 for IPv4, 64
//! for IPv6) less `max_hops` (default 0; 255 turns the check off), which
//! for single hop is RFC 5881's TTL 255 (GTSM).
//!
//! Sending: each session binds `source_ip` (or the wildcard) to a port
//! picked at random in 49152..=65535 (RFC 5881 §4) with the configured TTL.
//!
//! Reload: a session whose parameters are unchanged keeps running with its
//! state; a changed one restarts in Down; a removed one sends AdminDown and
//! stops. Readers keep their `watch` receivers across reloads: the sender of
//! a name lives as long as the name is configured.

use super::packet::{diag, ControlPacket, DecodeError, State};
use super::session::{Action, Event, Session, SessionConfig};
use crate::config::model::vrrp::BfdInstance;
use crate::config::model::Config;
use crate::vrrp::fsm::Timestamp;
use serde::Serialize;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::collections::{BTreeMap, HashMap};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::io::unix::AsyncFd;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// RFC 5881 §4: control packets go to this port.
pub const CONTROL_PORT: u16 = 3784;
/// RFC 5881 §4: the source port range.
pub const SOURCE_PORTS: std::ops::RangeInclusive<u16> = 49152..=65535;

/// Everything one session task needs, from a `bfd_instance`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceSpec {
    pub name: String,
    pub neighbor: IpAddr,
    pub source: Option<IpAddr>,
    pub min_rx: Duration,
    pub min_tx: Duration,
    pub idle_tx: Duration,
    pub multiplier: u8,
    pub passive: bool,
    /// Outgoing TTL / hop limit.
    pub ttl: u8,
    /// Lowest TTL accepted on receipt.
    pub min_rx_ttl: u8,
    /// Who is told of state changes.
    pub to_vrrp: bool,
    pub to_checker: bool,
}

impl InstanceSpec {
    pub fn of(b: &BfdInstance) -> Option<InstanceSpec> {
        let neighbor = b.neighbor_ip?;
        let ttl = b.ttl.unwrap_or(if neighbor.is_ipv4() { 255 } else { 64 });
        let max_hops = b.max_hops.unwrap_or(0).max(0);
        let min_rx_ttl = if max_hops >= 255 {
            0
        } else {
            u8::try_from(i16::from(ttl) - max_hops).unwrap_or(0)
        };
        let neither = !b.vrrp && !b.checker;
        Some(InstanceSpec {
            name: b.name.clone(),
            neighbor,
            source: b.source_ip,
            min_rx: b.min_rx.as_duration(),
            min_tx: b.min_tx.as_duration(),
            idle_tx: b.idle_tx.as_duration(),
            multiplier: b.multiplier.max(1),
            passive: b.passive,
            ttl,
            min_rx_ttl,
            to_vrrp: neither || b.vrrp,
            to_checker: neither || b.checker,
        })
    }

    fn session_config(&self, local_discr: u32) -> SessionConfig {
        SessionConfig {
            local_discr,
            min_tx: self.min_tx,
            idle_tx: self.idle_tx,
            min_rx: self.min_rx,
            detect_mult: self.multiplier,
            passive: self.passive,
        }
    }
}

/// The specs of every usable `bfd_instance` of a configuration.
pub fn specs(cfg: &Config) -> Vec<InstanceSpec> {
    cfg.bfd_instance
        .iter()
        .filter_map(InstanceSpec::of)
        .collect()
}

struct Entry {
    rx: watch::Receiver<State>,
    to_vrrp: bool,
    to_checker: bool,
}

/// The session states by instance name; cloned into the checkers and the
/// VRRP trackers.
#[derive(Clone, Default)]
pub struct Sessions(Arc<Mutex<HashMap<String, Entry>>>);

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The state of `name` as the VRRP side sees it (`None`: no such
    /// session, or it reports to the checkers only).
    pub fn for_vrrp(&self, name: &str) -> Option<watch::Receiver<State>> {
        self.lock()
            .get(name)
            .filter(|e| e.to_vrrp)
            .map(|e| e.rx.clone())
    }

    /// The state of `name` as the checkers see it.
    pub fn for_checker(&self, name: &str) -> Option<watch::Receiver<State>> {
        self.lock()
            .get(name)
            .filter(|e| e.to_checker)
            .map(|e| e.rx.clone())
    }

    /// A fixed state for `name` (tests of the consumers).
    pub fn insert_fixed(&self, name: &str, tx: &watch::Sender<State>) {
        self.lock().insert(
            name.to_owned(),
            Entry {
                rx: tx.subscribe(),
                to_vrrp: true,
                to_checker: true,
            },
        );
    }
}

/// A session's status, for `keepalived-rs status`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SessionStatus {
    pub name: String,
    pub neighbor: String,
    pub local: Option<String>,
    pub state: String,
    pub remote_state: String,
    pub local_diag: String,
    pub local_discr: u32,
    pub remote_discr: u32,
    /// Microseconds, 0 when none.
    pub tx_interval_us: u64,
    pub detection_time_us: u64,
    pub sent: u64,
    pub received: u64,
    pub discarded: u64,
    pub send_errors: u64,
    pub transitions: u64,
    pub error: Option<String>,
}

/// Why received datagrams were dropped before reaching a session.
#[derive(Debug, Default, Serialize)]
pub struct RxDrops {
    pub malformed: BTreeMap<&'static str, u64>,
    pub no_session: u64,
    pub ttl: u64,
    pub queue_full: u64,
}

/// The BFD status section.
#[derive(Debug, Default, Serialize)]
pub struct Status {
    pub sessions: Vec<SessionStatus>,
    pub dropped: RxDrops,
}

enum Input {
    Packet(ControlPacket),
    Stop,
}

struct Route {
    tx: mpsc::Sender<Input>,
    neighbor: IpAddr,
    source: Option<IpAddr>,
    min_ttl: u8,
}

#[derive(Default)]
struct Demux {
    by_discr: HashMap<u32, Route>,
}

impl Demux {
    fn find(&self, p: &ControlPacket, from: IpAddr, to: Option<IpAddr>) -> Option<&Route> {
        if p.your_discr != 0 {
            return self.by_discr.get(&p.your_discr);
        }
        let mut candidates = self.by_discr.values().filter(|r| r.neighbor == from);
        let first = candidates.next()?;
        let rest: Vec<&Route> = candidates.collect();
        if rest.is_empty() {
            return Some(first);
        }
        std::iter::once(first)
            .chain(rest)
            .find(|r| r.source.is_some() && r.source == to)
    }
}

struct Running {
    spec: InstanceSpec,
    state_tx: Arc<watch::Sender<State>>,
    status: Arc<Mutex<SessionStatus>>,
    input: mpsc::Sender<Input>,
    task: JoinHandle<()>,
    discr: u32,
}

/// Everything shared by the hub, the receive tasks and the sessions.
struct Shared {
    demux: RwLock<Demux>,
    malformed: Mutex<BTreeMap<&'static str, u64>>,
    no_session: AtomicU64,
    ttl: AtomicU64,
    queue_full: AtomicU64,
}

/// The BFD subsystem: the sessions of the configured `bfd_instance`s, run
/// on a thread of their own (`bfd`), so checkers and reloads on the main
/// runtime cannot delay a 10 ms transmit timer.
pub struct BfdHub {
    /// The `bfd` thread's runtime (`None` once shut down).
    rt: Option<tokio::runtime::Runtime>,
    handle: tokio::runtime::Handle,
    sessions: Sessions,
    running: BTreeMap<String, Running>,
    shared: Arc<Shared>,
    receivers: Vec<JoinHandle<()>>,
    rx_families: (bool, bool),
}

impl BfdHub {
    /// Start the BFD thread and the sessions of `cfg`, publishing their
    /// states in `sessions`. Fails only when the thread cannot be created.
    pub fn start(cfg: &Config, sessions: Sessions) -> io::Result<BfdHub> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("bfd")
            .enable_all()
            .build()?;
        let handle = rt.handle().clone();
        let mut hub = BfdHub {
            rt: Some(rt),
            handle,
            sessions,
            running: BTreeMap::new(),
            shared: Arc::new(Shared {
                demux: RwLock::new(Demux::default()),
                malformed: Mutex::new(BTreeMap::new()),
                no_session: AtomicU64::new(0),
                ttl: AtomicU64::new(0),
                queue_full: AtomicU64::new(0),
            }),
            receivers: Vec::new(),
            rx_families: (false, false),
        };
        hub.apply(specs(cfg));
        Ok(hub)
    }

    /// The handle the consumers read states from.
    pub fn sessions(&self) -> Sessions {
        self.sessions.clone()
    }

    /// Number of sessions running.
    pub fn len(&self) -> usize {
        self.running.len()
    }

    pub fn is_empty(&self) -> bool {
        self.running.is_empty()
    }

    /// Apply a new configuration (see the module documentation).
    pub fn reload(&mut self, cfg: &Config) {
        self.apply(specs(cfg));
    }

    fn apply(&mut self, specs: Vec<InstanceSpec>) {
        // Sockets register with, and tasks run on, the BFD runtime.
        let handle = self.handle.clone();
        let _rt = handle.enter();
        let wanted: BTreeMap<String, InstanceSpec> =
            specs.into_iter().map(|s| (s.name.clone(), s)).collect();
        // Removed or changed: stop.
        let names: Vec<String> = self.running.keys().cloned().collect();
        let mut kept_senders = HashMap::new();
        for name in names {
            let same = wanted.get(&name) == self.running.get(&name).map(|r| &r.spec);
            if same {
                continue;
            }
            if let Some(r) = self.running.remove(&name) {
                self.write_demux().by_discr.remove(&r.discr);
                // The task sends AdminDown and ends; a full queue means it
                // is stuck, and it is aborted instead.
                if r.input.try_send(Input::Stop).is_err() {
                    r.task.abort();
                }
                if wanted.contains_key(&name) {
                    tracing::info!(bfd = %name, "BFD instance changed; session restarted");
                    kept_senders.insert(name.clone(), r.state_tx);
                } else {
                    tracing::info!(bfd = %name, "BFD instance removed; session stopped");
                    self.sessions.lock().remove(&name);
                }
            }
        }
        let v4 = wanted.values().any(|s| s.neighbor.is_ipv4());
        let v6 = wanted.values().any(|s| s.neighbor.is_ipv6());
        self.ensure_receivers(v4, v6);
        for (name, spec) in wanted {
            if self.running.contains_key(&name) {
                continue;
            }
            let state_tx = kept_senders
                .remove(&name)
                .unwrap_or_else(|| Arc::new(watch::channel(State::Down).0));
            state_tx.send_replace(State::Down);
            self.sessions.lock().insert(
                name.clone(),
                Entry {
                    rx: state_tx.subscribe(),
                    to_vrrp: spec.to_vrrp,
                    to_checker: spec.to_checker,
                },
            );
            let r = self.spawn(spec, state_tx);
            self.running.insert(name, r);
        }
    }

    fn write_demux(&self) -> std::sync::RwLockWriteGuard<'_, Demux> {
        self.shared.demux.write().unwrap_or_else(|p| p.into_inner())
    }

    fn new_discriminator(&self) -> u32 {
        let demux = self.write_demux();
        loop {
            let d: u32 = rand::random();
            if d != 0 && !demux.by_discr.contains_key(&d) {
                return d;
            }
        }
    }

    fn spawn(&mut self, spec: InstanceSpec, state_tx: Arc<watch::Sender<State>>) -> Running {
        let discr = self.new_discriminator();
        let (input, input_rx) = mpsc::channel(64);
        let status = Arc::new(Mutex::new(SessionStatus {
            name: spec.name.clone(),
            neighbor: spec.neighbor.to_string(),
            local: spec.source.map(|s| s.to_string()),
            state: State::Down.label().into(),
            remote_state: State::Down.label().into(),
            local_diag: diag::label(0).into(),
            local_discr: discr,
            ..Default::default()
        }));
        self.write_demux().by_discr.insert(
            discr,
            Route {
                tx: input.clone(),
                neighbor: spec.neighbor,
                source: spec.source,
                min_ttl: spec.min_rx_ttl,
            },
        );
        let task = self.handle.spawn(run_session(
            spec.clone(),
            discr,
            input_rx,
            state_tx.clone(),
            status.clone(),
        ));
        Running {
            spec,
            state_tx,
            status,
            input,
            task,
            discr,
        }
    }

    fn ensure_receivers(&mut self, v4: bool, v6: bool) {
        for (wanted, ipv6, family) in [(v4, false, "IPv4"), (v6, true, "IPv6")] {
            let listening = if ipv6 {
                &mut self.rx_families.1
            } else {
                &mut self.rx_families.0
            };
            if !wanted || *listening {
                continue;
            }
            match rx_socket(ipv6) {
                Ok(s) => {
                    self.receivers
                        .push(self.handle.spawn(receive(s, self.shared.clone())));
                    *listening = true;
                }
                Err(e) => tracing::error!(
                    "BFD: cannot listen on UDP {CONTROL_PORT} ({family}): {e}; {family} sessions cannot come up"
                ),
            }
        }
    }

    /// The status section.
    pub fn status(&self) -> Status {
        let sessions = self
            .running
            .values()
            .map(|r| r.status.lock().unwrap_or_else(|p| p.into_inner()).clone())
            .collect();
        let s = &self.shared;
        Status {
            sessions,
            dropped: RxDrops {
                malformed: s
                    .malformed
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .clone(),
                no_session: s.no_session.load(Ordering::Relaxed),
                ttl: s.ttl.load(Ordering::Relaxed),
                queue_full: s.queue_full.load(Ordering::Relaxed),
            },
        }
    }

    /// Stop every session (each sends AdminDown) and wait for them, bounded.
    pub async fn shutdown(&mut self) {
        let running = std::mem::take(&mut self.running);
        let mut tasks = Vec::new();
        for (_, r) in running {
            if r.input.try_send(Input::Stop).is_err() {
                r.task.abort();
            }
            tasks.push(r.task);
        }
        let _ = tokio::time::timeout(
            Duration::from_secs(1),
            futures_util::future::join_all(tasks),
        )
        .await;
        for t in self.receivers.drain(..) {
            t.abort();
        }
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

impl Drop for BfdHub {
    fn drop(&mut self) {
        for r in self.running.values() {
            r.task.abort();
        }
        for t in &self.receivers {
            t.abort();
        }
        // Dropping a runtime may block: not allowed inside another runtime.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// Register a socket with the tokio reactor (must run inside a runtime).
fn register(sock: Socket) -> io::Result<AsyncFd<Socket>> {
    #[allow(unsafe_code)]
    // SAFETY: `Socket` owns its file descriptor, keeps it open until dropped and
    // always returns the same one from as_raw_fd(); the AsyncFd owns the Socket.
    let fd = unsafe { AsyncFd::register(sock) };
    fd.map_err(io::Error::from)
}

fn rx_socket(v6: bool) -> io::Result<AsyncFd<Socket>> {
    let domain = if v6 { Domain::IPV6 } else { Domain::IPV4 };
    let s = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
    s.set_nonblocking(true)?;
    let addr: SocketAddr = if v6 {
        s.set_only_v6(true)?;
        nix::sys::socket::setsockopt(&s, nix::sys::socket::sockopt::Ipv6RecvHopLimit, &true)
            .map_err(io::Error::from)?;
        nix::sys::socket::setsockopt(&s, nix::sys::socket::sockopt::Ipv6RecvPacketInfo, &true)
            .map_err(io::Error::from)?;
        (Ipv6Addr::UNSPECIFIED, CONTROL_PORT).into()
    } else {
        nix::sys::socket::setsockopt(&s, nix::sys::socket::sockopt::Ipv4RecvTtl, &true)
            .map_err(io::Error::from)?;
        nix::sys::socket::setsockopt(&s, nix::sys::socket::sockopt::Ipv4PacketInfo, &true)
            .map_err(io::Error::from)?;
        (Ipv4Addr::UNSPECIFIED, CONTROL_PORT).into()
    };
    s.bind(&addr.into())?;
    register(s)
}

fn tx_socket(spec: &InstanceSpec) -> io::Result<tokio::net::UdpSocket> {
    let v6 = spec.neighbor.is_ipv6();
    let domain = if v6 { Domain::IPV6 } else { Domain::IPV4 };
    let s = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
    s.set_nonblocking(true)?;
    if v6 {
        s.set_unicast_hops_v6(u32::from(spec.ttl))?;
    } else {
        s.set_ttl_v4(u32::from(spec.ttl))?;
    }
    let ip = spec.source.unwrap_or(if v6 {
        IpAddr::V6(Ipv6Addr::UNSPECIFIED)
    } else {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    });
    // A random port of the range; a few tries against ports in use.
    let mut last = io::Error::new(io::ErrorKind::AddrInUse, "no free source port");
    for _ in 0..64 {
        let port = rand::random_range(SOURCE_PORTS);
        match s.bind(&SockAddr::from(SocketAddr::new(ip, port))) {
            Ok(()) => return tokio::net::UdpSocket::from_std(s.into()),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

/// One received datagram with what the kernel told about it.
struct Datagram {
    len: usize,
    from: IpAddr,
    to: Option<IpAddr>,
    ttl: Option<u8>,
}

fn recv_datagram(fd: &Socket, buf: &mut [u8]) -> io::Result<Datagram> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, SockaddrStorage};
    let mut cmsg = nix::cmsg_space!(libc::in6_pktinfo, libc::c_int, libc::c_int);
    let mut iov = [io::IoSliceMut::new(buf)];
    let msg =
        recvmsg::<SockaddrStorage>(fd.as_raw_fd(), &mut iov, Some(&mut cmsg), MsgFlags::empty())
            .map_err(io::Error::from)?;
    let from = msg
        .address
        .as_ref()
        .and_then(|a| {
            a.as_sockaddr_in()
                .map(|s| IpAddr::V4(s.ip()))
                .or_else(|| a.as_sockaddr_in6().map(|s| IpAddr::V6(s.ip())))
        })
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no source address"))?;
    let mut ttl = None;
    let mut to = None;
    for c in msg.cmsgs().map_err(io::Error::from)? {
        match c {
            ControlMessageOwned::Ipv4Ttl(t) => ttl = u8::try_from(t).ok(),
            ControlMessageOwned::Ipv6HopLimit(t) => ttl = u8::try_from(t).ok(),
            ControlMessageOwned::Ipv4PacketInfo(pi) => {
                to = Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(
                    pi.ipi_spec_dst.s_addr,
                ))));
            }
            ControlMessageOwned::Ipv6PacketInfo(pi) => {
                to = Some(IpAddr::V6(Ipv6Addr::from(pi.ipi6_addr.s6_addr)));
            }
            _ => {}
        }
    }
    // An IPv4-mapped source on an IPv6 socket is not expected (V6ONLY).
    Ok(Datagram {
        len: msg.bytes,
        from,
        to,
        ttl,
    })
}

/// The receive loop of one family.
async fn receive(fd: AsyncFd<Socket>, shared: Arc<Shared>) {
    let mut buf = [0u8; 512];
    loop {
        let mut guard = match fd.readable().await {
            Ok(g) => g,
            Err(e) => {
                tracing::error!("BFD receive socket: {e}");
                return;
            }
        };
        let d = match guard.try_io(|inner| recv_datagram(inner.get_ref(), &mut buf)) {
            Ok(Ok(d)) => d,
            Ok(Err(e)) => {
                tracing::debug!("BFD receive: {e}");
                continue;
            }
            Err(_would_block) => continue,
        };
        let bytes = buf.get(..d.len).unwrap_or(&[]);
        dispatch(&shared, bytes, &d);
    }
}

fn dispatch(shared: &Shared, bytes: &[u8], d: &Datagram) {
    let p = match ControlPacket::decode(bytes) {
        Ok(p) => p,
        Err(e) => {
            count_malformed(shared, &e);
            tracing::debug!(from = %d.from, "BFD packet dropped: {e}");
            return;
        }
    };
    let demux = shared.demux.read().unwrap_or_else(|p| p.into_inner());
    let Some(route) = demux.find(&p, d.from, d.to) else {
        shared.no_session.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(from = %d.from, your_discr = p.your_discr, "BFD packet for no session");
        return;
    };
    // A packet from another address than the neighbour is not ours.
    if route.neighbor != d.from {
        shared.no_session.fetch_add(1, Ordering::Relaxed);
        return;
    }
    if d.ttl.unwrap_or(0) < route.min_ttl {
        shared.ttl.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(from = %d.from, ttl = ?d.ttl, min = route.min_ttl, "BFD packet dropped: TTL");
        return;
    }
    if route.tx.try_send(Input::Packet(p)).is_err() {
        shared.queue_full.fetch_add(1, Ordering::Relaxed);
    }
}

fn count_malformed(shared: &Shared, e: &DecodeError) {
    *shared
        .malformed
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(e.label())
        .or_insert(0) += 1;
}

/// One session: its socket, its state machine, its timers.
async fn run_session(
    spec: InstanceSpec,
    discr: u32,
    mut input: mpsc::Receiver<Input>,
    state_tx: Arc<watch::Sender<State>>,
    status: Arc<Mutex<SessionStatus>>,
) {
    let set_status = |f: &dyn Fn(&mut SessionStatus)| {
        f(&mut status.lock().unwrap_or_else(|p| p.into_inner()));
    };
    let sock = match tx_socket(&spec) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(bfd = %spec.name, "BFD: cannot open the sending socket: {e}");
            set_status(&|s| s.error = Some(e.to_string()));
            // Keep the task (and so the Down state) until stopped.
            while let Some(i) = input.recv().await {
                if matches!(i, Input::Stop) {
                    return;
                }
            }
            return;
        }
    };
    let dest = SocketAddr::new(spec.neighbor, CONTROL_PORT);
    let epoch = tokio::time::Instant::now();
    let now = || Timestamp::from_duration(epoch.elapsed());
    let mut session = Session::new(spec.session_config(discr), now());
    session.seed(rand::random());
    tracing::info!(bfd = %spec.name, neighbor = %spec.neighbor, discr, "BFD session started");
    let mut stopping = false;
    loop {
        let deadline = session.next_deadline();
        let actions = tokio::select! {
            i = input.recv() => match i {
                Some(Input::Packet(p)) => {
                    set_status(&|s| s.received += 1);
                    session.handle(Event::Rx(p), now())
                }
                Some(Input::Stop) | None => {
                    stopping = true;
                    session.handle(Event::AdminDown, now())
                }
            },
            _ = sleep_until(epoch, deadline) => {
                let t = now();
                let mut a = session.handle(Event::DetectTimer, t);
                a.extend(session.handle(Event::TxTimer, t));
                a
            }
        };
        for a in actions {
            match a {
                Action::Send(p) => {
                    let bytes = p.encode();
                    match sock.try_send_to(&bytes, dest) {
                        Ok(_) => set_status(&|s| s.sent += 1),
                        Err(e) => {
                            tracing::debug!(bfd = %spec.name, "BFD send: {e}");
                            set_status(&|s| s.send_errors += 1);
                        }
                    }
                }
                Action::StateChanged { from, to, diag: d } => {
                    if to == State::Up {
                        tracing::info!(bfd = %spec.name, neighbor = %spec.neighbor, "BFD session {from} -> Up");
                    } else {
                        tracing::warn!(bfd = %spec.name, neighbor = %spec.neighbor,
                            "BFD session {from} -> {to} ({})", diag::label(d));
                    }
                    set_status(&|s| s.transitions += 1);
                    // Consumers see Up or not Up: AdminDown of our own
                    // stopping is not told (the name is going away or
                    // restarting in Down).
                    if !stopping {
                        state_tx.send_replace(to);
                    }
                }
                Action::Discarded(why) => {
                    tracing::trace!(bfd = %spec.name, "BFD packet discarded: {why}");
                    set_status(&|s| s.discarded += 1);
                }
            }
        }
        let snapshot = (
            session.state(),
            session.remote_state(),
            session.local_diag(),
            session.remote_discr(),
            session.tx_interval(),
            session.detection_time(),
        );
        set_status(&|s| {
            s.state = snapshot.0.label().into();
            s.remote_state = snapshot.1.label().into();
            s.local_diag = diag::label(snapshot.2).into();
            s.remote_discr = snapshot.3;
            s.tx_interval_us = snapshot.4.map_or(0, |d| d.as_micros() as u64);
            s.detection_time_us = snapshot.5.map_or(0, |d| d.as_micros() as u64);
        });
        if stopping {
            return;
        }
    }
}

async fn sleep_until(epoch: tokio::time::Instant, at: Option<Timestamp>) {
    match at {
        Some(t) => tokio::time::sleep_until(epoch + t.as_duration()).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bfd(name: &str, nbr: &str) -> BfdInstance {
        BfdInstance {
            name: name.into(),
            neighbor_ip: Some(nbr.parse().unwrap()),
            ..Default::default()
        }
    }

    #[test]
    fn spec_defaults_follow_keepalived() {
        let s = InstanceSpec::of(&bfd("a", "10.0.0.1")).unwrap();
        assert_eq!((s.ttl, s.min_rx_ttl), (255, 255));
        assert_eq!(s.min_tx, Duration::from_millis(10));
        assert_eq!(s.idle_tx, Duration::from_millis(1000));
        assert_eq!(s.multiplier, 5);
        assert!(s.to_vrrp && s.to_checker);
        let s = InstanceSpec::of(&bfd("a", "fe80::1")).unwrap();
        assert_eq!((s.ttl, s.min_rx_ttl), (64, 64));
        let mut b = bfd("a", "10.0.0.1");
        b.ttl = Some(64);
        b.max_hops = Some(10);
        b.vrrp = true;
        let s = InstanceSpec::of(&b).unwrap();
        assert_eq!((s.ttl, s.min_rx_ttl), (64, 54));
        assert!(s.to_vrrp && !s.to_checker);
        b.max_hops = Some(255);
        assert_eq!(InstanceSpec::of(&b).unwrap().min_rx_ttl, 0);
        assert!(InstanceSpec::of(&BfdInstance::default()).is_none());
    }

    fn route(neighbor: &str, source: Option<&str>) -> (Route, mpsc::Receiver<Input>) {
        let (tx, rx) = mpsc::channel(1);
        (
            Route {
                tx,
                neighbor: neighbor.parse().unwrap(),
                source: source.map(|s| s.parse().unwrap()),
                min_ttl: 255,
            },
            rx,
        )
    }

    #[test]
    fn demux_by_discriminator_then_address() {
        let mut d = Demux::default();
        let (r1, _k1) = route("10.0.0.1", None);
        let (r2, _k2) = route("10.0.0.2", Some("10.0.0.9"));
        let (r3, _k3) = route("10.0.0.2", Some("10.0.1.9"));
        d.by_discr.insert(1, r1);
        d.by_discr.insert(2, r2);
        d.by_discr.insert(3, r3);
        let mut p = ControlPacket::decode(
            &ControlPacket {
                diag: 0,
                state: State::Down,
                poll: false,
                final_: false,
                control_plane_independent: false,
                demand: false,
                detect_mult: 3,
                my_discr: 77,
                your_discr: 0,
                desired_min_tx: 1,
                required_min_rx: 1,
                required_min_echo_rx: 0,
            }
            .encode(),
        )
        .unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let n = |r: Option<&Route>| r.map(|r| (r.neighbor, r.source));
        assert_eq!(
            n(d.find(&p, ip("10.0.0.1"), None)),
            Some((ip("10.0.0.1"), None))
        );
        assert_eq!(
            n(d.find(&p, ip("10.0.0.2"), Some(ip("10.0.1.9")))),
            Some((ip("10.0.0.2"), Some(ip("10.0.1.9"))))
        );
        assert!(d.find(&p, ip("10.0.0.2"), None).is_none());
        assert!(d.find(&p, ip("10.0.0.3"), None).is_none());
        p.your_discr = 2;
        assert_eq!(
            n(d.find(&p, ip("10.0.0.7"), None)),
            Some((ip("10.0.0.2"), Some(ip("10.0.0.9"))))
        );
        p.your_discr = 5;
        assert!(d.find(&p, ip("10.0.0.2"), None).is_none());
    }

    #[test]
    fn dispatch_drops_and_counts() {
        let shared = Shared {
            demux: RwLock::new(Demux::default()),
            malformed: Mutex::new(BTreeMap::new()),
            no_session: AtomicU64::new(0),
            ttl: AtomicU64::new(0),
            queue_full: AtomicU64::new(0),
        };
        let (r, mut rx) = route("10.0.0.1", None);
        shared.demux.write().unwrap().by_discr.insert(9, r);
        let good = ControlPacket {
            diag: 0,
            state: State::Up,
            poll: false,
            final_: false,
            control_plane_independent: false,
            demand: false,
            detect_mult: 3,
            my_discr: 77,
            your_discr: 9,
            desired_min_tx: 1,
            required_min_rx: 1,
            required_min_echo_rx: 0,
        }
        .encode();
        let dg = |from: &str, ttl: u8| Datagram {
            len: 24,
            from: from.parse().unwrap(),
            to: None,
            ttl: Some(ttl),
        };
        dispatch(&shared, &good[..10], &dg("10.0.0.1", 255));
        let mut bad = good;
        bad[0] = 0x40;
        dispatch(&shared, &bad, &dg("10.0.0.1", 255));
        // A known discriminator from another address.
        dispatch(&shared, &good, &dg("10.0.0.2", 255));
        // TTL below 255 for single hop (GTSM).
        dispatch(&shared, &good, &dg("10.0.0.1", 254));
        assert!(rx.try_recv().is_err());
        dispatch(&shared, &good, &dg("10.0.0.1", 255));
        assert!(matches!(rx.try_recv(), Ok(Input::Packet(p)) if p.my_discr == 77));
        // The session's queue is full (capacity 1): counted, not blocked.
        dispatch(&shared, &good, &dg("10.0.0.1", 255));
        dispatch(&shared, &good, &dg("10.0.0.1", 255));
        let m = shared.malformed.lock().unwrap().clone();
        assert_eq!(m.get("short"), Some(&1));
        assert_eq!(m.get("version"), Some(&1));
        assert_eq!(shared.no_session.load(Ordering::Relaxed), 1);
        assert_eq!(shared.ttl.load(Ordering::Relaxed), 1);
        assert_eq!(shared.queue_full.load(Ordering::Relaxed), 1);
    }
}
