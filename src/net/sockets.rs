//! Sockets at the edge: raw IP sockets for VRRP (protocol 112) and a packet
//! socket for gratuitous ARP / unsolicited NA frames.
//!
//! One VRRP socket serves every instance on an interface and address family
//! (the kernel copies each packet to every raw socket, so one socket per
//! instance would cost N² copies at 100 instances); the engine demultiplexes
//! by VRID.  Receive and send use separate sockets: the send socket is bound
//! to the source address (the kernel then uses it as the source), which would
//! filter multicast on a receive socket.

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
use std::os::fd::AsRawFd;
use tokio::io::unix::AsyncFd;

pub const IPPROTO_VRRP: i32 = 112;
pub const VRRP_GROUP_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
pub const VRRP_GROUP_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
/// IP precedence "internetwork control", as keepalived sends adverts.
const TOS_INTERNETCONTROL: u32 = 0xc0;

/// A VRRP packet as received, with the IP facts validation needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// The VRRP message (IP header removed; may carry Ethernet padding).
    pub payload: Vec<u8>,
}

impl Received {
    pub fn multicast(&self) -> bool {
        self.dst.is_multicast()
    }
}

/// Where adverts of one interface and family go and come from.
pub struct VrrpSocket {
    rx: AsyncFd<Socket>,
    tx: Socket,
    v6: bool,
    /// The kernel stamps each received packet (SO_TIMESTAMPNS): the reader
    /// knows how long a packet waited, so reading may wait for the rest of
    /// a burst without shifting the protocol's timers.
    stamped: bool,
    /// The engine paused after the first packets of a burst (it reads the
    /// rest before waiting again).
    pub paused: std::sync::atomic::AtomicBool,
}

/// Ask the kernel to stamp received packets with their arrival time.
fn stamp_arrivals(s: &Socket) -> bool {
    nix::sys::socket::setsockopt(s, nix::sys::socket::sockopt::ReceiveTimestampns, &true).is_ok()
}

fn raw_socket(v6: bool, ifname: &str) -> io::Result<Socket> {
    let domain = if v6 { Domain::IPV6 } else { Domain::IPV4 };
    let s = Socket::new(domain, Type::RAW, Some(Protocol::from(IPPROTO_VRRP)))?;
    s.bind_device(Some(ifname.as_bytes()))?;
    s.set_nonblocking(true)?;
    Ok(s)
}

impl VrrpSocket {
    /// IPv4: receive on `ifname` (joined to `groups`), send from `src`.
    pub fn open_v4(
        ifname: &str,
        ifindex: u32,
        groups: &[Ipv4Addr],
        src: Ipv4Addr,
        unicast_ttl: u32,
    ) -> io::Result<Self> {
        let rx = raw_socket(false, ifname)?;
        for g in groups {
            rx.join_multicast_v4_n(g, &socket2::InterfaceIndexOrAddress::Index(ifindex))?;
        }
        // Only groups we joined, not every group any socket joined.
        rx.set_multicast_all_v4(false)?;
        let tx = raw_socket(false, ifname)?;
        tx.bind(&SockAddr::from(SocketAddrV4::new(src, 0)))?;
        tx.set_multicast_ttl_v4(255)?;
        tx.set_ttl_v4(unicast_ttl)?;
        tx.set_tos_v4(TOS_INTERNETCONTROL)?;
        tx.set_multicast_loop_v4(false)?;
        tx.set_multicast_if_v4(&src)?;
        let stamped = stamp_arrivals(&rx);
        Ok(VrrpSocket {
            rx: register(rx)?,
            tx,
            v6: false,
            stamped,
            paused: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// IPv6: receive on `ifname` (joined to `groups`), send from `src`
    /// (a link-local address for multicast adverts, RFC 5798 §5.1.2.1).
    pub fn open_v6(
        ifname: &str,
        ifindex: u32,
        groups: &[Ipv6Addr],
        src: Ipv6Addr,
        unicast_hops: u32,
    ) -> io::Result<Self> {
        let rx = raw_socket(true, ifname)?;
        for g in groups {
            rx.join_multicast_v6(g, ifindex)?;
        }
        rx.set_multicast_all_v6(false)?;
        rx.set_recv_hoplimit_v6(true)?;
        nix::sys::socket::setsockopt(&rx, nix::sys::socket::sockopt::Ipv6RecvPacketInfo, &true)
            .map_err(io::Error::from)?;
        let tx = raw_socket(true, ifname)?;
        let scope = if is_link_local_v6(&src) { ifindex } else { 0 };
        tx.bind(&SockAddr::from(SocketAddrV6::new(src, 0, 0, scope)))?;
        tx.set_multicast_hops_v6(255)?;
        tx.set_unicast_hops_v6(unicast_hops)?;
        tx.set_multicast_loop_v6(false)?;
        tx.set_multicast_if_v6(ifindex)?;
        let stamped = stamp_arrivals(&rx);
        Ok(VrrpSocket {
            rx: register(rx)?,
            tx,
            v6: true,
            stamped,
            paused: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Send one VRRP message (the kernel adds the IP header).
    #[allow(unsafe_code)] // a section name only: see daemon::memory
    #[link_section = "krs_hot"]
    pub fn send_to(&self, payload: &[u8], dst: IpAddr, ifindex: u32) -> io::Result<()> {
        let addr = match dst {
            IpAddr::V4(a) => SockAddr::from(SocketAddrV4::new(a, 0)),
            IpAddr::V6(a) => {
                let scope = if a.is_multicast() || is_link_local_v6(&a) {
                    ifindex
                } else {
                    0
                };
                SockAddr::from(SocketAddrV6::new(a, 0, 0, scope))
            }
        };
        let n = self.tx.send_to(payload, &addr)?;
        if n != payload.len() {
            return Err(io::Error::other("short send"));
        }
        Ok(())
    }
}

/// Reusable receive buffers for [`VrrpSocket::read_queued`].
///
/// A batch is read into two areas: the first [`RECV_HEAD`] bytes of every
/// packet go to `heads`, packed into one page, and the rest of a longer
/// packet to its slot of `tails`. Adverts are small (32 bytes for IPv4 with
/// one address), so a backup reading bursts of them writes one page, not
/// the 16 pages of 32 separate 2 KiB buffers; `tails` is never initialised
/// by us, and its pages are only faulted in (and then kept, the daemon locks
/// its memory) when long packets arrive.
pub struct RecvBuffers {
    heads: Box<Heads>,
    /// Only its capacity is used (its length stays 0): RECV_BATCH slots of
    /// RECV_BUF bytes; slot `i` receives packet `i`
    /// from offset RECV_HEAD on; its head is copied in front when the packet
    /// is longer than RECV_HEAD, so that the slot holds it whole.
    tails: Vec<u8>,
}

/// The packed heads of a batch: exactly one page (see [`RecvBuffers`]).
#[repr(C, align(4096))]
struct Heads([[u8; RECV_HEAD]; RECV_BATCH]);

/// Room for the largest IPv4 advert (20 + 8 + 255 × 4 + 8 bytes) and more.
const RECV_BUF: usize = 2048;
/// Bytes of each packet read into the packed head area: an IPv4 header and
/// a VRRP advert with up to 25 IPv4 addresses.
const RECV_HEAD: usize = 128;
/// Adverts read per system call: a master sends every instance's advert in
/// one burst, so a backup with many instances finds them queued together.
pub const RECV_BATCH: usize = 32;

impl Default for RecvBuffers {
    fn default() -> Self {
        RecvBuffers {
            heads: Box::new(Heads([[0u8; RECV_HEAD]; RECV_BATCH])),
            tails: Vec::with_capacity(RECV_BATCH * RECV_BUF),
        }
    }
}

impl RecvBuffers {
    /// Packet `i` of a batch, `len` bytes long as the kernel reported
    /// (capped at RECV_BUF): from the head area when it fits there, else
    /// whole in its tail slot (the head copied in front).
    ///
    /// # Safety
    /// The last `recvmmsg` into these buffers wrote packet `i`, at least
    /// `len` bytes of it (`len` ≤ its reported length).
    #[allow(unsafe_code)]
    #[allow(unsafe_code)] // a section name only: see daemon::memory
    #[link_section = "krs_hot"]
    unsafe fn packet(&mut self, i: usize, len: usize) -> &[u8] {
        let len = len.min(RECV_BUF);
        let head = &self.heads.0[i];
        if len <= RECV_HEAD {
            return &head[..len];
        }
        let slot = &mut self.tails.spare_capacity_mut()[i * RECV_BUF..(i + 1) * RECV_BUF];
        for (d, s) in slot.iter_mut().zip(head) {
            d.write(*s);
        }
        // SAFETY: the first RECV_HEAD bytes of the slot were just written,
        // the kernel wrote bytes RECV_HEAD..len (the caller's contract), and
        // MaybeUninit<u8> has the layout of u8.
        unsafe { std::slice::from_raw_parts(slot.as_ptr().cast::<u8>(), len) }
    }
}

/// A VRRP packet as read, borrowing the receive buffer: what
/// [`VrrpSocket::read_queued`] hands over, without copying the payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Datagram<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// The VRRP message (IP header removed, cut to the IP total length).
    pub payload: &'a [u8],
    /// How long ago the kernel received it (zero when not known).
    pub age: std::time::Duration,
}

impl Datagram<'_> {
    pub fn multicast(&self) -> bool {
        self.dst.is_multicast()
    }
}

impl Received {
    pub fn as_datagram(&self) -> Datagram<'_> {
        Datagram {
            src: self.src,
            dst: self.dst,
            ttl: self.ttl,
            payload: &self.payload,
            age: std::time::Duration::ZERO,
        }
    }
}

/// A socket found readable by [`VrrpSocket::poll_readable`].
pub type ReadyGuard<'a> = tokio::io::unix::AsyncFdReadyGuard<'a, Socket>;

impl VrrpSocket {
    /// Readable yet? Registers the task's waker when not. The engine polls
    /// its sockets itself (no reader task or channel between them).
    pub fn poll_readable(
        &self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<ReadyGuard<'_>>> {
        self.rx.poll_read_ready(cx)
    }

    /// Whether received packets carry their arrival time.
    pub fn stamped(&self) -> bool {
        self.stamped
    }

    /// Read what is queued now, at most one batch, without waiting, and hand
    /// each packet to `f`; returns how many were read (WouldBlock when none
    /// was queued). IPv4 uses one `recvmmsg` per batch. Malformed IP
    /// headers are skipped (and counted in the return value). The caller
    /// clears the socket's readiness when it has seen the queue empty.
    #[allow(unsafe_code)] // a section name only: see daemon::memory
    #[link_section = "krs_hot"]
    pub fn read_batch(
        &self,
        bufs: &mut RecvBuffers,
        mut f: impl FnMut(Datagram<'_>),
    ) -> io::Result<usize> {
        let sock = self.rx.get_ref();
        if !self.v6 {
            return recv_many_v4(sock, bufs, &mut f);
        }
        let mut n = 0;
        let now = std::time::SystemTime::now();
        while n < RECV_BATCH {
            match recv_v6(sock) {
                Ok((r, at)) => {
                    n += 1;
                    let mut d = r.as_datagram();
                    d.age = age(now, at);
                    f(d);
                }
                Err(e) if e.kind() == io::ErrorKind::InvalidData => n += 1,
                Err(e) if would_block(&e) && n > 0 => break,
                Err(e) => return Err(e),
            }
        }
        Ok(n)
    }
}

/// Whether `e` is EAGAIN/EWOULDBLOCK, read from the errno the kernel
/// returned: the receive path sees it on every drained queue, and
/// `io::Error::kind` is out of line in std, far from the engine's code
/// (see daemon::memory). Errors of other origins by their kind.
#[allow(unsafe_code)] // a section name only: see daemon::memory
#[link_section = "krs_hot"]
pub fn would_block(e: &io::Error) -> bool {
    match e.raw_os_error() {
        Some(code) => code == libc::EAGAIN || code == libc::EWOULDBLOCK,
        None => e.kind() == io::ErrorKind::WouldBlock,
    }
}

/// How long before `now` a packet stamped `at` arrived; zero when unknown
/// or when the clock moved backwards in between.
#[allow(unsafe_code)] // a section name only: see daemon::memory
#[link_section = "krs_hot"]
fn age(now: std::time::SystemTime, at: Option<std::time::SystemTime>) -> std::time::Duration {
    at.and_then(|at| now.duration_since(at).ok())
        .unwrap_or_default()
}

/// The arrival time in an SCM_TIMESTAMPNS control message.
fn stamp_of(ts: libc::timespec) -> Option<std::time::SystemTime> {
    let secs = u64::try_from(ts.tv_sec).ok()?;
    let nanos = u32::try_from(ts.tv_nsec).ok()?;
    std::time::UNIX_EPOCH.checked_add(std::time::Duration::new(secs, nanos))
}

/// Reads up to one batch with `recvmmsg`; `f` sees each packet. Returns the
/// number of messages read (WouldBlock when none was queued).
#[allow(unsafe_code)] // a section name only: see daemon::memory
#[link_section = "krs_hot"]
fn recv_many_v4(
    sock: &Socket,
    bufs: &mut RecvBuffers,
    f: &mut impl FnMut(Datagram<'_>),
) -> io::Result<usize> {
    #[allow(unsafe_code)]
    // SAFETY: iovec is plain old data; all-zero is a valid value.
    let mut iovs: [[libc::iovec; 2]; RECV_BATCH] = unsafe { std::mem::zeroed() };
    let tails = bufs.tails.spare_capacity_mut();
    for ((iov, head), tail) in iovs
        .iter_mut()
        .zip(bufs.heads.0.iter_mut())
        .zip(tails.chunks_exact_mut(RECV_BUF))
    {
        iov[0].iov_base = head.as_mut_ptr().cast();
        iov[0].iov_len = head.len();
        let rest = &mut tail[RECV_HEAD..];
        iov[1].iov_base = rest.as_mut_ptr().cast();
        iov[1].iov_len = rest.len();
    }
    // Room for one timestamp control message per packet (u64 for the
    // alignment of cmsghdr).
    let mut ctl = [[0u64; CTL_WORDS]; RECV_BATCH];
    #[allow(unsafe_code)]
    // SAFETY: mmsghdr is plain old data; all-zero is a valid value.
    let mut hdrs: [libc::mmsghdr; RECV_BATCH] = unsafe { std::mem::zeroed() };
    for ((h, iov), c) in hdrs.iter_mut().zip(iovs.iter_mut()).zip(ctl.iter_mut()) {
        h.msg_hdr.msg_iov = iov.as_mut_ptr();
        h.msg_hdr.msg_iovlen = iov.len();
        h.msg_hdr.msg_control = c.as_mut_ptr().cast();
        h.msg_hdr.msg_controllen = std::mem::size_of_val(c);
    }
    #[allow(unsafe_code)]
    // SAFETY: each header points at two live iovecs, which point at live
    // buffers of iov_len bytes (a head and the rest of a tail slot, the
    // tail's capacity allocated and only written by the kernel); the kernel
    // writes at most that much into each and reads RECV_BATCH headers.
    let n = unsafe {
        libc::recvmmsg(
            sock.as_raw_fd(),
            hdrs.as_mut_ptr(),
            RECV_BATCH as libc::c_uint,
            libc::MSG_DONTWAIT,
            std::ptr::null_mut(),
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let n = usize::try_from(n).unwrap_or(0).min(RECV_BATCH);
    let now = std::time::SystemTime::now();
    for (i, h) in hdrs.iter().enumerate().take(n) {
        #[allow(unsafe_code)]
        // SAFETY: recvmmsg just wrote message i, msg_len bytes of it (at
        // most its iovecs' room, which `packet` caps at).
        let bytes = unsafe { bufs.packet(i, h.msg_len as usize) };
        if let Some(mut d) = parse_ipv4_datagram(bytes) {
            d.age = age(now, arrival(&h.msg_hdr));
            f(d);
        }
    }
    Ok(n)
}

/// 8-byte words of control buffer per message: CMSG_SPACE(timespec) is 32
/// bytes on 64-bit Linux; more is harmless.
const CTL_WORDS: usize = 8;

/// The SCM_TIMESTAMPNS arrival time of a message read by `recvmmsg`.
#[allow(unsafe_code)] // a section name only: see daemon::memory
#[link_section = "krs_hot"]
fn arrival(msg: &libc::msghdr) -> Option<std::time::SystemTime> {
    if msg.msg_control.is_null() || msg.msg_flags & libc::MSG_CTRUNC != 0 {
        return None;
    }
    #[allow(unsafe_code)]
    // SAFETY: the kernel filled msg_control with msg_controllen bytes of
    // control messages; CMSG_FIRSTHDR/CMSG_NXTHDR stay inside that buffer
    // and return null at its end; a timestamp message holds a timespec,
    // read unaligned.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(msg);
        while !c.is_null() {
            let h = &*c;
            if h.cmsg_level == libc::SOL_SOCKET
                && h.cmsg_type == libc::SCM_TIMESTAMPNS
                && h.cmsg_len as usize
                    >= libc::CMSG_LEN(std::mem::size_of::<libc::timespec>() as u32) as usize
            {
                let ts = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<libc::timespec>());
                return stamp_of(ts);
            }
            c = libc::CMSG_NXTHDR(msg, c);
        }
    }
    None
}

/// Register a socket with the tokio reactor (must run inside a runtime).
fn register(sock: Socket) -> io::Result<AsyncFd<Socket>> {
    #[allow(unsafe_code)]
    // SAFETY: `Socket` owns its file descriptor, keeps it open until dropped and
    // always returns the same one from as_raw_fd(); the AsyncFd owns the Socket.
    let fd = unsafe { AsyncFd::register(sock) };
    fd.map_err(io::Error::from)
}

fn is_link_local_v6(a: &Ipv6Addr) -> bool {
    (a.segments()[0] & 0xffc0) == 0xfe80
}

/// Split a raw IPv4 packet into header facts and payload. Malformed headers
/// return None (the packet is dropped and counted by the caller).
pub fn parse_ipv4(bytes: &[u8]) -> Option<Received> {
    parse_ipv4_datagram(bytes).map(|d| Received {
        src: d.src,
        dst: d.dst,
        ttl: d.ttl,
        payload: d.payload.to_vec(),
    })
}

/// [`parse_ipv4`] without copying the payload.
#[allow(unsafe_code)] // a section name only: see daemon::memory
#[link_section = "krs_hot"]
pub fn parse_ipv4_datagram(bytes: &[u8]) -> Option<Datagram<'_>> {
    let first = *bytes.first()?;
    if first >> 4 != 4 {
        return None;
    }
    let ihl = usize::from(first & 0x0f) * 4;
    if ihl < 20 || bytes.len() < ihl {
        return None;
    }
    let total = usize::from(u16::from_be_bytes([bytes[2], bytes[3]]));
    let end = total.clamp(ihl, bytes.len());
    let ttl = bytes[8];
    let src = Ipv4Addr::new(bytes[12], bytes[13], bytes[14], bytes[15]);
    let dst = Ipv4Addr::new(bytes[16], bytes[17], bytes[18], bytes[19]);
    Some(Datagram {
        src: IpAddr::V4(src),
        dst: IpAddr::V4(dst),
        ttl,
        payload: &bytes[ihl..end],
        age: std::time::Duration::ZERO,
    })
}

fn recv_v6(sock: &Socket) -> io::Result<(Received, Option<std::time::SystemTime>)> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, SockaddrIn6};
    let mut buf = vec![0u8; 2048];
    let mut cmsg = nix::cmsg_space!(libc::in6_pktinfo, libc::c_int, libc::timespec);
    let mut at = None;
    let mut iov = [io::IoSliceMut::new(&mut buf)];
    let msg = recvmsg::<SockaddrIn6>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::empty(),
    )
    .map_err(io::Error::from)?;
    let n = msg.bytes;
    let src = msg
        .address
        .map(|a| IpAddr::V6(a.ip()))
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no source address"))?;
    let mut ttl = 0u8;
    let mut dst = IpAddr::V6(Ipv6Addr::UNSPECIFIED);
    for c in msg.cmsgs().map_err(io::Error::from)? {
        match c {
            ControlMessageOwned::Ipv6HopLimit(h) => ttl = u8::try_from(h).unwrap_or(0),
            ControlMessageOwned::Ipv6PacketInfo(pi) => {
                dst = IpAddr::V6(Ipv6Addr::from(pi.ipi6_addr.s6_addr));
            }
            ControlMessageOwned::ScmTimestampns(ts) => {
                at = stamp_of(*ts.as_ref());
            }
            _ => {}
        }
    }
    buf.truncate(n);
    Ok((
        Received {
            src,
            dst,
            ttl,
            payload: buf,
        },
        at,
    ))
}

/// A packet socket for sending whole Ethernet frames (gratuitous ARP,
/// unsolicited neighbour advertisements) out of one interface.
pub struct FrameSocket {
    sock: Socket,
}

impl FrameSocket {
    pub fn open() -> io::Result<Self> {
        // ETH_P_ARP in network order; we only send, so the protocol matters little.
        let proto = (libc::ETH_P_ARP as u16).to_be() as i32;
        let sock = Socket::new(Domain::PACKET, Type::RAW, Some(Protocol::from(proto)))?;
        sock.set_nonblocking(true)?;
        Ok(FrameSocket { sock })
    }

    /// Send a complete Ethernet frame out of interface `ifindex`.
    pub fn send(&self, ifindex: u32, frame: &[u8]) -> io::Result<()> {
        if frame.len() < 14 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "frame too short",
            ));
        }
        let mut storage = socket2::SockAddrStorage::zeroed();
        #[allow(unsafe_code)]
        // SAFETY: SockAddrStorage is large and aligned enough for any sockaddr,
        // including sockaddr_ll; we only write plain integer fields.
        let ll: &mut libc::sockaddr_ll = unsafe { storage.view_as() };
        ll.sll_family = libc::AF_PACKET as u16;
        ll.sll_protocol = u16::from_be_bytes([frame[12], frame[13]]).to_be();
        ll.sll_ifindex = i32::try_from(ifindex).map_err(|_| io::Error::other("ifindex"))?;
        ll.sll_halen = 6;
        ll.sll_addr[..6].copy_from_slice(&frame[..6]);
        let len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        #[allow(unsafe_code)]
        // SAFETY: the storage holds an initialised sockaddr_ll of `len` bytes.
        let addr = unsafe { SockAddr::new(storage, len) };
        self.sock.send_to(frame, &addr)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_header_parse() {
        // keepalived 2.2.7 advert as captured (IP header + VRRP), see
        // ../shared/reference/keepalived-vrrp-baseline.md.
        let pkt = [
            0x45, 0xc0, 0x00, 0x28, 0x00, 0x01, 0x00, 0x00, 0xff, 0x70, 0xcc, 0xde, 0xc0, 0xa8,
            0x4d, 0x0b, 0xe0, 0x00, 0x00, 0x12, 0x21, 0x33, 0x96, 0x01, 0x00, 0x01, 0x3a, 0xbd,
            0xc0, 0xa8, 0x4d, 0x64, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // 2 bytes of padding
        ];
        let r = parse_ipv4(&pkt).unwrap();
        assert_eq!(r.src, IpAddr::V4(Ipv4Addr::new(192, 168, 77, 11)));
        assert_eq!(r.dst, IpAddr::V4(VRRP_GROUP_V4));
        assert_eq!(r.ttl, 255);
        assert_eq!(r.payload.len(), 20, "padding past tot_len is cut");
        assert!(r.multicast());
        assert!(parse_ipv4(&pkt[..10]).is_none());
        assert!(parse_ipv4(&[0x65]).is_none());
    }

    /// A burst of short and long packets through one `recvmmsg`: short ones
    /// are read from the packed heads, long ones whole from their tail slot.
    /// Needs a raw socket (root); skipped without one.
    #[test]
    fn batch_of_short_and_long_packets() {
        let rx = match Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(IPPROTO_VRRP))) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("skipped: no raw socket ({e})");
                return;
            }
        };
        let tx = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(IPPROTO_VRRP))).unwrap();
        let lo = SockAddr::from(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0));
        // A marker no other raw socket traffic has: VRRP type 0xf, VRID 0xab.
        let sizes = [12usize, 300, 40, RECV_BUF, 108, 109, 1000];
        for (k, &n) in sizes.iter().enumerate() {
            let mut p: Vec<u8> = (0..n).map(|j| (j * 7 + k) as u8).collect();
            p[0] = 0x3f;
            p[1] = 0xab;
            p[2] = k as u8;
            tx.send_to(&p, &lo).unwrap();
        }
        let mut bufs = RecvBuffers::default();
        let mut got: Vec<Vec<u8>> = Vec::new();
        let end = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while got.len() < sizes.len() && std::time::Instant::now() < end {
            match recv_many_v4(&rx, &mut bufs, &mut |d: Datagram<'_>| {
                if d.payload.len() >= 3 && d.payload[..2] == [0x3f, 0xab] {
                    got.push(d.payload.to_vec());
                }
            }) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    std::thread::sleep(std::time::Duration::from_millis(5))
                }
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(got.len(), sizes.len());
        for (k, &n) in sizes.iter().enumerate() {
            // What fits in RECV_BUF with its 20-byte IP header.
            let n = n.min(RECV_BUF - 20);
            let mut want: Vec<u8> = (0..n).map(|j| (j * 7 + k) as u8).collect();
            want[0] = 0x3f;
            want[1] = 0xab;
            want[2] = k as u8;
            assert_eq!(got[k], want, "packet {k} ({n} bytes)");
        }
    }
}
