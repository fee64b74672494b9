//! The IPVS table as plain data, shared by the netlink client and the syncer.
//!
//! Field meanings and numbers follow the kernel's `linux/ip_vs.h`.

use std::net::IpAddr;

/// `AF_INET` / `AF_INET6` as the kernel numbers them.
pub const AF_INET: u16 = 2;
pub const AF_INET6: u16 = 10;

/// IPPROTO_* numbers.
pub const PROTO_TCP: u16 = 6;
pub const PROTO_UDP: u16 = 17;
pub const PROTO_SCTP: u16 = 132;

/// Service flags (`IP_VS_SVC_F_*`).
pub mod svc_flags {
    pub const PERSISTENT: u32 = 0x0001;
    pub const HASHED: u32 = 0x0002;
    pub const ONEPACKET: u32 = 0x0004;
    pub const SCHED1: u32 = 0x0008;
    pub const SCHED2: u32 = 0x0010;
    pub const SCHED3: u32 = 0x0020;
}

/// How a service is identified in the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServiceId {
    /// `protocol addr:port`.
    Addr {
        protocol: u16,
        addr: IpAddr,
        port: u16,
    },
    /// `fwmark N` within an address family.
    Fwmark { family: u16, mark: u32 },
}

impl ServiceId {
    pub fn family(&self) -> u16 {
        match self {
            ServiceId::Addr { addr, .. } => family_of(addr),
            ServiceId::Fwmark { family, .. } => *family,
        }
    }
}

impl std::fmt::Display for ServiceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServiceId::Addr {
                protocol,
                addr,
                port,
            } => {
                let p = match *protocol {
                    PROTO_TCP => "TCP",
                    PROTO_UDP => "UDP",
                    PROTO_SCTP => "SCTP",
                    _ => "?",
                };
                match addr {
                    IpAddr::V4(a) => write!(f, "{p} {a}:{port}"),
                    IpAddr::V6(a) => write!(f, "{p} [{a}]:{port}"),
                }
            }
            ServiceId::Fwmark { family, mark } => {
                write!(
                    f,
                    "FWM {mark}{}",
                    if *family == AF_INET6 { " IPv6" } else { "" }
                )
            }
        }
    }
}

pub fn family_of(addr: &IpAddr) -> u16 {
    if addr.is_ipv4() {
        AF_INET
    } else {
        AF_INET6
    }
}

/// A virtual service and its settings (everything `IPVS_CMD_SET_SERVICE` can
/// change without a delete).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    pub id: ServiceId,
    /// Scheduler name as the kernel knows it (`rr`, `wlc`, `mh`, ...).
    pub scheduler: String,
    /// `svc_flags::*`.
    pub flags: u32,
    /// Persistence timeout in seconds (0 with PERSISTENT unset).
    pub timeout: u32,
    /// Persistence netmask: IPv4 dotted mask as u32 (host order), or an IPv6
    /// prefix length.
    pub netmask: u32,
    /// Persistence engine (`sip`), if any.
    pub pe_name: Option<String>,
}

/// Forwarding method (`IP_VS_CONN_F_*` low bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Forward {
    #[default]
    Masq,
    Local,
    Tunnel,
    Route,
    Bypass,
}

impl Forward {
    /// The `IP_VS_CONN_F_*` value.
    pub fn conn_flags(self) -> u32 {
        match self {
            Forward::Masq => 0,
            Forward::Local => 1,
            Forward::Tunnel => 2,
            Forward::Route => 3,
            Forward::Bypass => 4,
        }
    }
}

/// Tunnel encapsulation for TUN (`IP_VS_CONN_F_TUNNEL_TYPE_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum TunnelType {
    #[default]
    Ipip,
    Gue,
    Gre,
}

/// Identifies a destination within its service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DestId {
    pub addr: IpAddr,
    pub port: u16,
}

/// A real server as the kernel holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Destination {
    pub id: DestId,
    pub forward: Forward,
    pub weight: u32,
    pub upper_threshold: u32,
    pub lower_threshold: u32,
    pub tunnel_type: TunnelType,
    pub tunnel_port: u16,
    /// `IP_VS_TUNNEL_ENCAP_FLAG_*` (nocsum 0, csum 1, remcsum 2).
    pub tunnel_flags: u16,
}

impl Destination {
    /// The destination's address family (may differ from its service's only
    /// for TUN).
    pub fn family(&self) -> u16 {
        family_of(&self.id.addr)
    }
}

/// Errors from the kernel or the transport, typed so the syncer can decide
/// (an `Exists` on NEW means adopt; a `NotFound` on DEL means done).
#[derive(Debug, thiserror::Error)]
pub enum IpvsError {
    #[error("IPVS is not available in this kernel (no IPVS generic netlink family)")]
    Unavailable,
    #[error("already exists")]
    Exists,
    #[error("no such service or destination")]
    NotFound,
    #[error("invalid argument: {0}")]
    Invalid(String),
    #[error("kernel error {errno}: {message}")]
    Kernel { errno: i32, message: String },
    #[error("netlink transport: {0}")]
    Transport(String),
}

/// The operations the syncer needs from the kernel. The netlink client
/// implements it; tests use an in-memory fake.
pub trait IpvsOps {
    fn services(&mut self) -> Result<Vec<Service>, IpvsError>;
    fn destinations(&mut self, svc: &ServiceId) -> Result<Vec<Destination>, IpvsError>;
    fn new_service(&mut self, svc: &Service) -> Result<(), IpvsError>;
    fn set_service(&mut self, svc: &Service) -> Result<(), IpvsError>;
    fn del_service(&mut self, svc: &ServiceId) -> Result<(), IpvsError>;
    fn new_destination(&mut self, svc: &ServiceId, dest: &Destination) -> Result<(), IpvsError>;
    fn set_destination(&mut self, svc: &ServiceId, dest: &Destination) -> Result<(), IpvsError>;
    fn del_destination(&mut self, svc: &ServiceId, dest: &DestId) -> Result<(), IpvsError>;
    fn flush(&mut self) -> Result<(), IpvsError>;

    /// Table requests in order, one result each. This default sends them
    /// one at a time; the netlink client sends many per system call and
    /// reads their ACKs after (the kernel handles them in order).
    fn batch(&mut self, ops: &[super::syncer::Op]) -> Vec<Result<(), IpvsError>> {
        use super::syncer::Op;
        ops.iter()
            .map(|op| match op {
                Op::NewService(s) => self.new_service(s),
                Op::SetService(s) => self.set_service(s),
                Op::DelService(id) => self.del_service(id),
                Op::NewDest(id, d) => self.new_destination(id, d),
                Op::SetDest(id, d) => self.set_destination(id, d),
                Op::DelDest(id, d) => self.del_destination(id, d),
                Op::Flush => self.flush(),
            })
            .collect()
    }

    // Beyond the table: a client that has not implemented these reports
    // `Invalid("not supported")` (the syncer logs it and goes on).

    /// `IPVS_CMD_NEW_DAEMON`.
    fn start_sync_daemon(&mut self, _daemon: &SyncDaemon) -> Result<(), IpvsError> {
        Err(IpvsError::Invalid("not supported".into()))
    }
    /// `IPVS_CMD_DEL_DAEMON`.
    fn stop_sync_daemon(&mut self, _state: SyncDaemonState) -> Result<(), IpvsError> {
        Err(IpvsError::Invalid("not supported".into()))
    }
    /// `IPVS_CMD_SET_CONFIG`.
    fn set_timeouts(&mut self, _timeouts: &Timeouts) -> Result<(), IpvsError> {
        Err(IpvsError::Invalid("not supported".into()))
    }
}

/// The role of an IPVS connection-sync daemon (`IP_VS_STATE_MASTER` /
/// `IP_VS_STATE_BACKUP`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SyncDaemonState {
    Master,
    Backup,
}

/// `IPVS_CMD_NEW_DAEMON` settings (from global_defs `lvs_sync_daemon`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncDaemon {
    pub state: SyncDaemonState,
    pub ifname: String,
    pub syncid: u8,
    /// `None`: the kernel's defaults (maxlen from the MTU, port 8848, ttl 1,
    /// group 224.0.0.81).
    pub maxlen: Option<u16>,
    pub port: Option<u16>,
    pub ttl: Option<u8>,
    pub group: Option<IpAddr>,
}

/// `IPVS_CMD_SET_CONFIG` connection timeouts in seconds (`None`: leave the
/// kernel's value).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timeouts {
    pub tcp: Option<u32>,
    pub tcpfin: Option<u32>,
    pub udp: Option<u32>,
}
