//! The IPVS generic netlink message set (`linux/ip_vs.h`) as typed NLAs, and
//! the conversions between those and the table types of [`super::types`].
//!
//! Pure: no sockets. [`IpvsMessage`] is the generic netlink payload (it
//! implements `GenlFamily`, `Emitable` and `ParseableParametrized`, so
//! `netlink_packet_generic::GenlMessage` frames it). The numbers below are
//! the kernel's UAPI values.
//!
//! Wire details worth knowing (checked against what the kernel emits and what
//! `ipvsadm` sends):
//! - addresses are 16 bytes (`union nf_inet_addr`), an IPv4 address in the
//!   first 4; on parse a 4-byte value is accepted too;
//! - ports (service, destination, tunnel) are big-endian u16;
//! - the service netmask is a big-endian IPv4 mask for `AF_INET` and a
//!   host-order prefix length for `AF_INET6`;
//! - the top-level nested attributes (service, destination, daemon) are sent
//!   with `NLA_F_NESTED`, as ipvsadm (libnl) sends them; the kernel's dumps
//!   do not set it, and parsing ignores it;
//! - attributes go in ipvsadm's order, so captures of its requests serve as
//!   test vectors.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_core::{
    DecodeError, DefaultNla, Emitable, Nla, NlaBuffer, NlasIterator, Parseable, NLA_F_NESTED,
};
use netlink_packet_generic::{GenlFamily, GenlHeader};

use super::types::{
    svc_flags, DestId, Destination, Forward, Service, ServiceId, TunnelType, AF_INET, AF_INET6,
};

/// Generic netlink family name and version.
pub const IPVS_GENL_NAME: &str = "IPVS";
pub const IPVS_GENL_VERSION: u8 = 1;

/// `IPVS_CMD_*`.
pub mod cmd {
    pub const NEW_SERVICE: u8 = 1;
    pub const SET_SERVICE: u8 = 2;
    pub const DEL_SERVICE: u8 = 3;
    pub const GET_SERVICE: u8 = 4;
    pub const NEW_DEST: u8 = 5;
    pub const SET_DEST: u8 = 6;
    pub const DEL_DEST: u8 = 7;
    pub const GET_DEST: u8 = 8;
    pub const NEW_DAEMON: u8 = 9;
    pub const DEL_DAEMON: u8 = 10;
    pub const GET_DAEMON: u8 = 11;
    pub const SET_CONFIG: u8 = 12;
    pub const GET_CONFIG: u8 = 13;
    pub const SET_INFO: u8 = 14;
    pub const GET_INFO: u8 = 15;
    pub const ZERO: u8 = 16;
    pub const FLUSH: u8 = 17;
}

/// `IPVS_CMD_ATTR_*` (top level).
pub mod cmd_attr {
    pub const SERVICE: u16 = 1;
    pub const DEST: u16 = 2;
    pub const DAEMON: u16 = 3;
    pub const TIMEOUT_TCP: u16 = 4;
    pub const TIMEOUT_TCP_FIN: u16 = 5;
    pub const TIMEOUT_UDP: u16 = 6;
}

/// `IPVS_INFO_ATTR_*` (top level of a GET_INFO reply).
pub mod info_attr {
    pub const VERSION: u16 = 1;
    pub const CONN_TAB_SIZE: u16 = 2;
}

/// `IPVS_SVC_ATTR_*`.
pub mod svc_attr {
    pub const AF: u16 = 1;
    pub const PROTOCOL: u16 = 2;
    pub const ADDR: u16 = 3;
    pub const PORT: u16 = 4;
    pub const FWMARK: u16 = 5;
    pub const SCHED_NAME: u16 = 6;
    pub const FLAGS: u16 = 7;
    pub const TIMEOUT: u16 = 8;
    pub const NETMASK: u16 = 9;
    pub const STATS: u16 = 10;
    pub const PE_NAME: u16 = 11;
    pub const STATS64: u16 = 12;
}

/// `IPVS_DEST_ATTR_*`.
pub mod dest_attr {
    pub const ADDR: u16 = 1;
    pub const PORT: u16 = 2;
    pub const FWD_METHOD: u16 = 3;
    pub const WEIGHT: u16 = 4;
    pub const U_THRESH: u16 = 5;
    pub const L_THRESH: u16 = 6;
    pub const ACTIVE_CONNS: u16 = 7;
    pub const INACT_CONNS: u16 = 8;
    pub const PERSIST_CONNS: u16 = 9;
    pub const STATS: u16 = 10;
    pub const ADDR_FAMILY: u16 = 11;
    pub const STATS64: u16 = 12;
    pub const TUN_TYPE: u16 = 13;
    pub const TUN_PORT: u16 = 14;
    pub const TUN_FLAGS: u16 = 15;
}

/// `IPVS_DAEMON_ATTR_*`.
pub mod daemon_attr {
    pub const STATE: u16 = 1;
    pub const MCAST_IFN: u16 = 2;
    pub const SYNC_ID: u16 = 3;
    pub const SYNC_MAXLEN: u16 = 4;
    pub const MCAST_GROUP: u16 = 5;
    pub const MCAST_GROUP6: u16 = 6;
    pub const MCAST_PORT: u16 = 7;
    pub const MCAST_TTL: u16 = 8;
}

/// `IPVS_STATS_ATTR_*`.
pub mod stats_attr {
    pub const CONNS: u16 = 1;
    pub const INPKTS: u16 = 2;
    pub const OUTPKTS: u16 = 3;
    pub const INBYTES: u16 = 4;
    pub const OUTBYTES: u16 = 5;
    pub const CPS: u16 = 6;
    pub const INPPS: u16 = 7;
    pub const OUTPPS: u16 = 8;
    pub const INBPS: u16 = 9;
    pub const OUTBPS: u16 = 10;
    pub const PAD: u16 = 11;
}

/// Longest scheduler / persistence engine name the kernel accepts
/// (`IP_VS_SCHEDNAME_MAXLEN` / `IP_VS_PENAME_MAXLEN`, including the NUL).
pub const NAME_MAXLEN: usize = 16;
/// `IP_VS_IFNAME_MAXLEN`.
pub const IFNAME_MAXLEN: usize = 16;

// ---------------------------------------------------------------------------
// Statistics
// ---------------------------------------------------------------------------

/// Traffic counters and rate estimates of a service or destination
/// (`IPVS_*_ATTR_STATS64`, or the 32-bit `STATS` on old kernels).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub conns: u64,
    pub inpkts: u64,
    pub outpkts: u64,
    pub inbytes: u64,
    pub outbytes: u64,
    /// Connections per second (estimate).
    pub cps: u64,
    pub inpps: u64,
    pub outpps: u64,
    /// Bytes per second (estimate).
    pub inbps: u64,
    pub outbps: u64,
}

impl Stats {
    fn fields(&self) -> [(u16, u64); 10] {
        use stats_attr::*;
        [
            (CONNS, self.conns),
            (INPKTS, self.inpkts),
            (OUTPKTS, self.outpkts),
            (INBYTES, self.inbytes),
            (OUTBYTES, self.outbytes),
            (CPS, self.cps),
            (INPPS, self.inpps),
            (OUTPPS, self.outpps),
            (INBPS, self.inbps),
            (OUTBPS, self.outbps),
        ]
    }

    fn field_mut(&mut self, kind: u16) -> Option<&mut u64> {
        use stats_attr::*;
        Some(match kind {
            CONNS => &mut self.conns,
            INPKTS => &mut self.inpkts,
            OUTPKTS => &mut self.outpkts,
            INBYTES => &mut self.inbytes,
            OUTBYTES => &mut self.outbytes,
            CPS => &mut self.cps,
            INPPS => &mut self.inpps,
            OUTPPS => &mut self.outpps,
            INBPS => &mut self.inbps,
            OUTBPS => &mut self.outbps,
            _ => return None,
        })
    }

    /// Parse a nested stats attribute. Each counter is a u32 or a u64, told
    /// apart by its length, so the same code reads `STATS` and `STATS64`.
    fn parse_nested(buf: &[u8]) -> Result<Stats, DecodeError> {
        let mut s = Stats::default();
        for nla in NlasIterator::new(buf) {
            let nla = nla?;
            let v = nla.value();
            let n = match v.len() {
                4 => u64::from(u32::from_ne_bytes([v[0], v[1], v[2], v[3]])),
                8 => u64::from_ne_bytes([v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]]),
                _ => continue, // PAD or something newer
            };
            if let Some(f) = s.field_mut(nla.kind()) {
                *f = n;
            }
        }
        Ok(s)
    }

    /// Length and emission as the kernel does it: `wide` = STATS64 (all
    /// u64); otherwise the byte counters are u64 and the rest u32.
    fn nested_len(&self, wide: bool) -> usize {
        self.fields()
            .iter()
            .map(|(k, _)| 4 + if wide || is_byte_counter(*k) { 8 } else { 4 })
            .sum()
    }

    fn emit_nested(&self, wide: bool, buf: &mut [u8]) {
        let mut off = 0;
        for (k, v) in self.fields() {
            let n = if wide || is_byte_counter(k) { 8 } else { 4 };
            buf[off..off + 2].copy_from_slice(&((4 + n) as u16).to_ne_bytes());
            buf[off + 2..off + 4].copy_from_slice(&k.to_ne_bytes());
            if n == 8 {
                buf[off + 4..off + 12].copy_from_slice(&v.to_ne_bytes());
            } else {
                buf[off + 4..off + 8].copy_from_slice(&(v as u32).to_ne_bytes());
            }
            off += 4 + n;
        }
    }
}

fn is_byte_counter(kind: u16) -> bool {
    kind == stats_attr::INBYTES || kind == stats_attr::OUTBYTES
}

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

fn u16_of(v: &[u8]) -> Result<u16, DecodeError> {
    match v {
        [a, b, ..] => Ok(u16::from_ne_bytes([*a, *b])),
        _ => Err(DecodeError::from(format!(
            "expected a u16, got {} bytes",
            v.len()
        ))),
    }
}

fn be16_of(v: &[u8]) -> Result<u16, DecodeError> {
    match v {
        [a, b, ..] => Ok(u16::from_be_bytes([*a, *b])),
        _ => Err(DecodeError::from(format!(
            "expected a be16, got {} bytes",
            v.len()
        ))),
    }
}

fn u32_of(v: &[u8]) -> Result<u32, DecodeError> {
    match v {
        [a, b, c, d, ..] => Ok(u32::from_ne_bytes([*a, *b, *c, *d])),
        _ => Err(DecodeError::from(format!(
            "expected a u32, got {} bytes",
            v.len()
        ))),
    }
}

fn u8_of(v: &[u8]) -> Result<u8, DecodeError> {
    v.first()
        .copied()
        .ok_or_else(|| DecodeError::from("expected a u8, got 0 bytes"))
}

fn addr_of(v: &[u8]) -> Result<[u8; 16], DecodeError> {
    let mut a = [0u8; 16];
    match v.len() {
        4 | 16 => a[..v.len()].copy_from_slice(v),
        n => return Err(DecodeError::from(format!("address of {n} bytes"))),
    }
    Ok(a)
}

/// A C string attribute: up to the first NUL.
fn string_of(v: &[u8]) -> Result<String, DecodeError> {
    let end = v.iter().position(|b| *b == 0).unwrap_or(v.len());
    String::from_utf8(v[..end].to_vec()).map_err(|e| DecodeError::from(e.to_string()))
}

fn emit_string(buf: &mut [u8], s: &str) {
    buf[..s.len()].copy_from_slice(s.as_bytes());
    buf[s.len()] = 0;
}

/// The 16-byte `union nf_inet_addr` form of an address.
pub fn addr_bytes(addr: &IpAddr) -> [u8; 16] {
    let mut a = [0u8; 16];
    match addr {
        IpAddr::V4(v4) => a[..4].copy_from_slice(&v4.octets()),
        IpAddr::V6(v6) => a = v6.octets(),
    }
    a
}

/// Read a 16-byte address in the given family.
pub fn ip_from(af: u16, a: &[u8; 16]) -> Result<IpAddr, DecodeError> {
    match af {
        AF_INET => Ok(IpAddr::V4(Ipv4Addr::new(a[0], a[1], a[2], a[3]))),
        AF_INET6 => Ok(IpAddr::V6(Ipv6Addr::from(*a))),
        other => Err(DecodeError::from(format!("unknown address family {other}"))),
    }
}

fn parse_nested<T>(
    buf: &[u8],
    f: impl Fn(&NlaBuffer<&[u8]>) -> Result<T, DecodeError>,
) -> Result<Vec<T>, DecodeError> {
    NlasIterator::new(buf)
        .map(|nla| nla.and_then(|n| f(&n)))
        .collect()
}

// ---------------------------------------------------------------------------
// Service attributes
// ---------------------------------------------------------------------------

/// `IPVS_SVC_ATTR_*` as typed values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SvcAttr {
    Af(u16),
    Protocol(u16),
    /// 16 bytes; IPv4 in the first 4.
    Addr([u8; 16]),
    Port(u16),
    Fwmark(u32),
    SchedName(String),
    Flags {
        flags: u32,
        mask: u32,
    },
    Timeout(u32),
    /// The 4 value bytes as sent (meaning depends on the family, see the
    /// module docs).
    Netmask([u8; 4]),
    Stats(Stats),
    PeName(String),
    Stats64(Stats),
    Other(DefaultNla),
}

impl Nla for SvcAttr {
    fn value_len(&self) -> usize {
        use SvcAttr::*;
        match self {
            Af(_) | Protocol(_) | Port(_) => 2,
            Addr(_) => 16,
            Fwmark(_) | Timeout(_) | Netmask(_) => 4,
            SchedName(s) | PeName(s) => s.len() + 1,
            Flags { .. } => 8,
            Stats(s) => s.nested_len(false),
            Stats64(s) => s.nested_len(true),
            Other(n) => n.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        use svc_attr as k;
        use SvcAttr::*;
        match self {
            Af(_) => k::AF,
            Protocol(_) => k::PROTOCOL,
            Addr(_) => k::ADDR,
            Port(_) => k::PORT,
            Fwmark(_) => k::FWMARK,
            SchedName(_) => k::SCHED_NAME,
            Flags { .. } => k::FLAGS,
            Timeout(_) => k::TIMEOUT,
            Netmask(_) => k::NETMASK,
            Stats(_) => k::STATS,
            PeName(_) => k::PE_NAME,
            Stats64(_) => k::STATS64,
            Other(n) => n.kind(),
        }
    }

    fn emit_value(&self, buf: &mut [u8]) {
        use SvcAttr::*;
        match self {
            Af(v) | Protocol(v) => buf[..2].copy_from_slice(&v.to_ne_bytes()),
            Port(v) => buf[..2].copy_from_slice(&v.to_be_bytes()),
            Addr(a) => buf[..16].copy_from_slice(a),
            Fwmark(v) | Timeout(v) => buf[..4].copy_from_slice(&v.to_ne_bytes()),
            Netmask(b) => buf[..4].copy_from_slice(b),
            SchedName(s) | PeName(s) => emit_string(buf, s),
            Flags { flags, mask } => {
                buf[..4].copy_from_slice(&flags.to_ne_bytes());
                buf[4..8].copy_from_slice(&mask.to_ne_bytes());
            }
            Stats(s) => s.emit_nested(false, buf),
            Stats64(s) => s.emit_nested(true, buf),
            Other(n) => n.emit_value(buf),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for SvcAttr {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        use svc_attr as k;
        let v = buf.value();
        Ok(match buf.kind() {
            k::AF => SvcAttr::Af(u16_of(v)?),
            k::PROTOCOL => SvcAttr::Protocol(u16_of(v)?),
            k::ADDR => SvcAttr::Addr(addr_of(v)?),
            k::PORT => SvcAttr::Port(be16_of(v)?),
            k::FWMARK => SvcAttr::Fwmark(u32_of(v)?),
            k::SCHED_NAME => SvcAttr::SchedName(string_of(v)?),
            k::FLAGS => SvcAttr::Flags {
                flags: u32_of(v)?,
                mask: u32_of(v.get(4..).unwrap_or(&[]))?,
            },
            k::TIMEOUT => SvcAttr::Timeout(u32_of(v)?),
            k::NETMASK => match v {
                [a, b, c, d, ..] => SvcAttr::Netmask([*a, *b, *c, *d]),
                _ => return Err(DecodeError::from("short netmask")),
            },
            k::STATS => SvcAttr::Stats(Stats::parse_nested(v)?),
            k::PE_NAME => SvcAttr::PeName(string_of(v)?),
            k::STATS64 => SvcAttr::Stats64(Stats::parse_nested(v)?),
            _ => SvcAttr::Other(DefaultNla::parse(buf)?),
        })
    }
}

// ---------------------------------------------------------------------------
// Destination attributes
// ---------------------------------------------------------------------------

/// `IPVS_DEST_ATTR_*` as typed values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DestAttr {
    Addr([u8; 16]),
    Port(u16),
    FwdMethod(u32),
    Weight(u32),
    UThresh(u32),
    LThresh(u32),
    ActiveConns(u32),
    InactConns(u32),
    PersistConns(u32),
    Stats(Stats),
    AddrFamily(u16),
    Stats64(Stats),
    TunType(u8),
    TunPort(u16),
    TunFlags(u16),
    Other(DefaultNla),
}

impl Nla for DestAttr {
    fn value_len(&self) -> usize {
        use DestAttr::*;
        match self {
            Addr(_) => 16,
            Port(_) | AddrFamily(_) | TunPort(_) | TunFlags(_) => 2,
            FwdMethod(_) | Weight(_) | UThresh(_) | LThresh(_) | ActiveConns(_) | InactConns(_)
            | PersistConns(_) => 4,
            TunType(_) => 1,
            Stats(s) => s.nested_len(false),
            Stats64(s) => s.nested_len(true),
            Other(n) => n.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        use dest_attr as k;
        use DestAttr::*;
        match self {
            Addr(_) => k::ADDR,
            Port(_) => k::PORT,
            FwdMethod(_) => k::FWD_METHOD,
            Weight(_) => k::WEIGHT,
            UThresh(_) => k::U_THRESH,
            LThresh(_) => k::L_THRESH,
            ActiveConns(_) => k::ACTIVE_CONNS,
            InactConns(_) => k::INACT_CONNS,
            PersistConns(_) => k::PERSIST_CONNS,
            Stats(_) => k::STATS,
            AddrFamily(_) => k::ADDR_FAMILY,
            Stats64(_) => k::STATS64,
            TunType(_) => k::TUN_TYPE,
            TunPort(_) => k::TUN_PORT,
            TunFlags(_) => k::TUN_FLAGS,
            Other(n) => n.kind(),
        }
    }

    fn emit_value(&self, buf: &mut [u8]) {
        use DestAttr::*;
        match self {
            Addr(a) => buf[..16].copy_from_slice(a),
            Port(v) | TunPort(v) => buf[..2].copy_from_slice(&v.to_be_bytes()),
            AddrFamily(v) | TunFlags(v) => buf[..2].copy_from_slice(&v.to_ne_bytes()),
            FwdMethod(v) | Weight(v) | UThresh(v) | LThresh(v) | ActiveConns(v) | InactConns(v)
            | PersistConns(v) => buf[..4].copy_from_slice(&v.to_ne_bytes()),
            TunType(v) => buf[0] = *v,
            Stats(s) => s.emit_nested(false, buf),
            Stats64(s) => s.emit_nested(true, buf),
            Other(n) => n.emit_value(buf),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for DestAttr {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        use dest_attr as k;
        let v = buf.value();
        Ok(match buf.kind() {
            k::ADDR => DestAttr::Addr(addr_of(v)?),
            k::PORT => DestAttr::Port(be16_of(v)?),
            k::FWD_METHOD => DestAttr::FwdMethod(u32_of(v)?),
            k::WEIGHT => DestAttr::Weight(u32_of(v)?),
            k::U_THRESH => DestAttr::UThresh(u32_of(v)?),
            k::L_THRESH => DestAttr::LThresh(u32_of(v)?),
            k::ACTIVE_CONNS => DestAttr::ActiveConns(u32_of(v)?),
            k::INACT_CONNS => DestAttr::InactConns(u32_of(v)?),
            k::PERSIST_CONNS => DestAttr::PersistConns(u32_of(v)?),
            k::STATS => DestAttr::Stats(Stats::parse_nested(v)?),
            k::ADDR_FAMILY => DestAttr::AddrFamily(u16_of(v)?),
            k::STATS64 => DestAttr::Stats64(Stats::parse_nested(v)?),
            k::TUN_TYPE => DestAttr::TunType(u8_of(v)?),
            k::TUN_PORT => DestAttr::TunPort(be16_of(v)?),
            k::TUN_FLAGS => DestAttr::TunFlags(u16_of(v)?),
            _ => DestAttr::Other(DefaultNla::parse(buf)?),
        })
    }
}

// ---------------------------------------------------------------------------
// Sync daemon attributes
// ---------------------------------------------------------------------------

/// `IPVS_DAEMON_ATTR_*` as typed values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DaemonAttr {
    State(u32),
    McastIfn(String),
    SyncId(u32),
    SyncMaxlen(u16),
    McastGroup(Ipv4Addr),
    McastGroup6(Ipv6Addr),
    McastPort(u16),
    McastTtl(u8),
    Other(DefaultNla),
}

impl Nla for DaemonAttr {
    fn value_len(&self) -> usize {
        use DaemonAttr::*;
        match self {
            State(_) | SyncId(_) | McastGroup(_) => 4,
            McastIfn(s) => s.len() + 1,
            SyncMaxlen(_) | McastPort(_) => 2,
            McastGroup6(_) => 16,
            McastTtl(_) => 1,
            Other(n) => n.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        use daemon_attr as k;
        use DaemonAttr::*;
        match self {
            State(_) => k::STATE,
            McastIfn(_) => k::MCAST_IFN,
            SyncId(_) => k::SYNC_ID,
            SyncMaxlen(_) => k::SYNC_MAXLEN,
            McastGroup(_) => k::MCAST_GROUP,
            McastGroup6(_) => k::MCAST_GROUP6,
            McastPort(_) => k::MCAST_PORT,
            McastTtl(_) => k::MCAST_TTL,
            Other(n) => n.kind(),
        }
    }

    fn emit_value(&self, buf: &mut [u8]) {
        use DaemonAttr::*;
        match self {
            State(v) | SyncId(v) => buf[..4].copy_from_slice(&v.to_ne_bytes()),
            McastIfn(s) => emit_string(buf, s),
            SyncMaxlen(v) | McastPort(v) => buf[..2].copy_from_slice(&v.to_ne_bytes()),
            McastGroup(a) => buf[..4].copy_from_slice(&a.octets()),
            McastGroup6(a) => buf[..16].copy_from_slice(&a.octets()),
            McastTtl(v) => buf[0] = *v,
            Other(n) => n.emit_value(buf),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for DaemonAttr {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        use daemon_attr as k;
        let v = buf.value();
        Ok(match buf.kind() {
            k::STATE => DaemonAttr::State(u32_of(v)?),
            k::MCAST_IFN => DaemonAttr::McastIfn(string_of(v)?),
            k::SYNC_ID => DaemonAttr::SyncId(u32_of(v)?),
            k::SYNC_MAXLEN => DaemonAttr::SyncMaxlen(u16_of(v)?),
            k::MCAST_GROUP => match v {
                [a, b, c, d, ..] => DaemonAttr::McastGroup(Ipv4Addr::new(*a, *b, *c, *d)),
                _ => return Err(DecodeError::from("short mcast group")),
            },
            k::MCAST_GROUP6 => {
                let a: [u8; 16] = v
                    .get(..16)
                    .and_then(|s| s.try_into().ok())
                    .ok_or_else(|| DecodeError::from("short mcast group6"))?;
                DaemonAttr::McastGroup6(Ipv6Addr::from(a))
            }
            k::MCAST_PORT => DaemonAttr::McastPort(u16_of(v)?),
            k::MCAST_TTL => DaemonAttr::McastTtl(u8_of(v)?),
            _ => DaemonAttr::Other(DefaultNla::parse(buf)?),
        })
    }
}

// ---------------------------------------------------------------------------
// Top level
// ---------------------------------------------------------------------------

/// Top-level attributes of an IPVS message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IpvsAttr {
    Service(Vec<SvcAttr>),
    Dest(Vec<DestAttr>),
    Daemon(Vec<DaemonAttr>),
    TimeoutTcp(u32),
    TimeoutTcpFin(u32),
    TimeoutUdp(u32),
    /// `IPVS_INFO_ATTR_VERSION` (only in GET_INFO replies).
    InfoVersion(u32),
    /// `IPVS_INFO_ATTR_CONN_TAB_SIZE` (only in GET_INFO replies).
    InfoConnTabSize(u32),
    Other(DefaultNla),
}

impl Nla for IpvsAttr {
    fn value_len(&self) -> usize {
        use IpvsAttr::*;
        match self {
            Service(v) => v.as_slice().buffer_len(),
            Dest(v) => v.as_slice().buffer_len(),
            Daemon(v) => v.as_slice().buffer_len(),
            TimeoutTcp(_) | TimeoutTcpFin(_) | TimeoutUdp(_) | InfoVersion(_)
            | InfoConnTabSize(_) => 4,
            Other(n) => n.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        use cmd_attr as k;
        use IpvsAttr::*;
        match self {
            // Sent with NLA_F_NESTED, as libnl (and so ipvsadm) does.
            Service(_) => k::SERVICE | NLA_F_NESTED,
            Dest(_) => k::DEST | NLA_F_NESTED,
            Daemon(_) => k::DAEMON | NLA_F_NESTED,
            TimeoutTcp(_) => k::TIMEOUT_TCP,
            TimeoutTcpFin(_) => k::TIMEOUT_TCP_FIN,
            TimeoutUdp(_) => k::TIMEOUT_UDP,
            InfoVersion(_) => info_attr::VERSION,
            InfoConnTabSize(_) => info_attr::CONN_TAB_SIZE,
            Other(n) => n.kind(),
        }
    }

    fn emit_value(&self, buf: &mut [u8]) {
        use IpvsAttr::*;
        match self {
            Service(v) => v.as_slice().emit(buf),
            Dest(v) => v.as_slice().emit(buf),
            Daemon(v) => v.as_slice().emit(buf),
            TimeoutTcp(v) | TimeoutTcpFin(v) | TimeoutUdp(v) | InfoVersion(v)
            | InfoConnTabSize(v) => buf[..4].copy_from_slice(&v.to_ne_bytes()),
            Other(n) => n.emit_value(buf),
        }
    }
}

impl IpvsAttr {
    /// Parse one top-level attribute of a message with command `cmd` (the
    /// GET_INFO reply reuses numbers 1 and 2).
    fn parse(cmd: u8, buf: &NlaBuffer<&[u8]>) -> Result<Self, DecodeError> {
        let v = buf.value();
        if cmd == cmd::SET_INFO || cmd == cmd::GET_INFO {
            return Ok(match buf.kind() {
                info_attr::VERSION => IpvsAttr::InfoVersion(u32_of(v)?),
                info_attr::CONN_TAB_SIZE => IpvsAttr::InfoConnTabSize(u32_of(v)?),
                _ => IpvsAttr::Other(DefaultNla::parse(buf)?),
            });
        }
        Ok(match buf.kind() {
            cmd_attr::SERVICE => IpvsAttr::Service(parse_nested(v, |n| SvcAttr::parse(n))?),
            cmd_attr::DEST => IpvsAttr::Dest(parse_nested(v, |n| DestAttr::parse(n))?),
            cmd_attr::DAEMON => IpvsAttr::Daemon(parse_nested(v, |n| DaemonAttr::parse(n))?),
            cmd_attr::TIMEOUT_TCP => IpvsAttr::TimeoutTcp(u32_of(v)?),
            cmd_attr::TIMEOUT_TCP_FIN => IpvsAttr::TimeoutTcpFin(u32_of(v)?),
            cmd_attr::TIMEOUT_UDP => IpvsAttr::TimeoutUdp(u32_of(v)?),
            _ => IpvsAttr::Other(DefaultNla::parse(buf)?),
        })
    }
}

/// The generic netlink payload of the IPVS family: a command and its
/// attributes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpvsMessage {
    pub cmd: u8,
    pub attrs: Vec<IpvsAttr>,
}

impl IpvsMessage {
    pub fn new(cmd: u8, attrs: Vec<IpvsAttr>) -> Self {
        IpvsMessage { cmd, attrs }
    }
}

impl GenlFamily for IpvsMessage {
    fn family_name() -> &'static str {
        IPVS_GENL_NAME
    }
    fn command(&self) -> u8 {
        self.cmd
    }
    fn version(&self) -> u8 {
        IPVS_GENL_VERSION
    }
}

impl Emitable for IpvsMessage {
    fn buffer_len(&self) -> usize {
        self.attrs.as_slice().buffer_len()
    }
    fn emit(&self, buffer: &mut [u8]) {
        self.attrs.as_slice().emit(buffer)
    }
}

impl netlink_packet_core::ParseableParametrized<[u8], GenlHeader> for IpvsMessage {
    fn parse_with_param(buf: &[u8], header: GenlHeader) -> Result<Self, DecodeError> {
        let attrs = parse_nested(buf, |n| IpvsAttr::parse(header.cmd, n))?;
        Ok(IpvsMessage {
            cmd: header.cmd,
            attrs,
        })
    }
}

// ---------------------------------------------------------------------------
// The generic netlink controller, just enough to resolve a family id
// ---------------------------------------------------------------------------

/// `CTRL_CMD_GETFAMILY` request / `CTRL_CMD_NEWFAMILY` reply, keeping only
/// the attributes needed (unlike `netlink_packet_generic::ctrl`, an attribute
/// a newer kernel adds is not a parse error).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CtrlMessage {
    pub cmd: u8,
    pub family_name: Option<String>,
    pub family_id: Option<u16>,
}

pub const GENL_ID_CTRL: u16 = 0x10;
pub const CTRL_CMD_NEWFAMILY: u8 = 1;
pub const CTRL_CMD_GETFAMILY: u8 = 3;
const CTRL_ATTR_FAMILY_ID: u16 = 1;
const CTRL_ATTR_FAMILY_NAME: u16 = 2;

impl CtrlMessage {
    pub fn get_family(name: &str) -> Self {
        CtrlMessage {
            cmd: CTRL_CMD_GETFAMILY,
            family_name: Some(name.to_string()),
            family_id: None,
        }
    }
}

impl GenlFamily for CtrlMessage {
    fn family_name() -> &'static str {
        "nlctrl"
    }
    fn family_id(&self) -> u16 {
        GENL_ID_CTRL
    }
    fn command(&self) -> u8 {
        self.cmd
    }
    fn version(&self) -> u8 {
        // What iproute2's `genl` and libnl send.
        1
    }
}

impl Emitable for CtrlMessage {
    fn buffer_len(&self) -> usize {
        self.ctrl_attrs().as_slice().buffer_len()
    }
    fn emit(&self, buffer: &mut [u8]) {
        self.ctrl_attrs().as_slice().emit(buffer)
    }
}

impl CtrlMessage {
    fn ctrl_attrs(&self) -> Vec<DefaultNla> {
        let mut v = Vec::new();
        if let Some(id) = self.family_id {
            v.push(DefaultNla::new(
                CTRL_ATTR_FAMILY_ID,
                id.to_ne_bytes().to_vec(),
            ));
        }
        if let Some(name) = &self.family_name {
            let mut b = name.as_bytes().to_vec();
            b.push(0);
            v.push(DefaultNla::new(CTRL_ATTR_FAMILY_NAME, b));
        }
        v
    }
}

impl netlink_packet_core::ParseableParametrized<[u8], GenlHeader> for CtrlMessage {
    fn parse_with_param(buf: &[u8], header: GenlHeader) -> Result<Self, DecodeError> {
        let mut m = CtrlMessage {
            cmd: header.cmd,
            family_name: None,
            family_id: None,
        };
        for nla in NlasIterator::new(buf) {
            let nla = nla?;
            match nla.kind() {
                CTRL_ATTR_FAMILY_ID => m.family_id = Some(u16_of(nla.value())?),
                CTRL_ATTR_FAMILY_NAME => m.family_name = Some(string_of(nla.value())?),
                _ => {}
            }
        }
        Ok(m)
    }
}

// ---------------------------------------------------------------------------
// Table types <-> attributes
// ---------------------------------------------------------------------------

/// Attributes identifying a service (for DEL_SERVICE, GET_SERVICE and the
/// service part of destination requests).
pub fn service_key_attrs(id: &ServiceId) -> Vec<SvcAttr> {
    match id {
        ServiceId::Addr {
            protocol,
            addr,
            port,
        } => vec![
            SvcAttr::Af(id.family()),
            SvcAttr::Protocol(*protocol),
            SvcAttr::Addr(addr_bytes(addr)),
            SvcAttr::Port(*port),
        ],
        ServiceId::Fwmark { family, mark } => vec![SvcAttr::Af(*family), SvcAttr::Fwmark(*mark)],
    }
}

/// The wire bytes of a netmask for a family (see the module docs).
pub fn netmask_bytes(af: u16, netmask: u32) -> [u8; 4] {
    if af == AF_INET6 {
        netmask.to_ne_bytes()
    } else {
        netmask.to_be_bytes()
    }
}

fn netmask_value(af: u16, b: [u8; 4]) -> u32 {
    if af == AF_INET6 {
        u32::from_ne_bytes(b)
    } else {
        u32::from_be_bytes(b)
    }
}

fn check_name(what: &str, s: &str) -> Result<(), String> {
    if s.len() >= NAME_MAXLEN || s.contains('\0') {
        return Err(format!(
            "{what} {s:?}: at most {} bytes, no NUL",
            NAME_MAXLEN - 1
        ));
    }
    Ok(())
}

/// Every attribute of a service, for NEW_SERVICE and SET_SERVICE. Errors
/// name what the kernel would reject anyway (over-long names).
pub fn service_attrs(svc: &Service) -> Result<Vec<SvcAttr>, String> {
    check_name("scheduler", &svc.scheduler)?;
    let af = svc.id.family();
    let mut v = service_key_attrs(&svc.id);
    v.push(SvcAttr::SchedName(svc.scheduler.clone()));
    if let Some(pe) = &svc.pe_name {
        check_name("persistence engine", pe)?;
        v.push(SvcAttr::PeName(pe.clone()));
    }
    v.push(SvcAttr::Flags {
        flags: svc.flags,
        mask: u32::MAX,
    });
    v.push(SvcAttr::Timeout(svc.timeout));
    v.push(SvcAttr::Netmask(netmask_bytes(af, svc.netmask)));
    Ok(v)
}

/// A service read back from the kernel, with its counters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceEntry {
    pub service: Service,
    pub stats: Stats,
}

/// Build a [`ServiceEntry`] from the nested attributes of a dump entry.
pub fn parse_service(attrs: &[SvcAttr]) -> Result<ServiceEntry, DecodeError> {
    let (mut af, mut proto, mut addr, mut port, mut fwmark) = (None, None, None, None, None);
    let mut svc = Service {
        id: ServiceId::Fwmark { family: 0, mark: 0 },
        scheduler: String::new(),
        flags: 0,
        timeout: 0,
        netmask: 0,
        pe_name: None,
    };
    let (mut stats, mut stats64, mut netmask) = (None, None, None);
    for a in attrs {
        match a {
            SvcAttr::Af(v) => af = Some(*v),
            SvcAttr::Protocol(v) => proto = Some(*v),
            SvcAttr::Addr(v) => addr = Some(*v),
            SvcAttr::Port(v) => port = Some(*v),
            SvcAttr::Fwmark(v) => fwmark = Some(*v),
            SvcAttr::SchedName(s) => svc.scheduler = s.clone(),
            // HASHED is the kernel's own bookkeeping (set on every service
            // in its table), not a setting: leave it out of the read-back
            // so it compares equal to what was asked for.
            SvcAttr::Flags { flags, .. } => svc.flags = *flags & !svc_flags::HASHED,
            SvcAttr::Timeout(v) => svc.timeout = *v,
            SvcAttr::Netmask(b) => netmask = Some(*b),
            SvcAttr::Stats(s) => stats = Some(*s),
            SvcAttr::Stats64(s) => stats64 = Some(*s),
            SvcAttr::PeName(s) => svc.pe_name = Some(s.clone()).filter(|s| !s.is_empty()),
            SvcAttr::Other(_) => {}
        }
    }
    let af = af.ok_or_else(|| DecodeError::from("service without address family"))?;
    svc.id = match (fwmark, proto, addr, port) {
        (Some(mark), _, _, _) if mark != 0 => ServiceId::Fwmark { family: af, mark },
        (_, Some(protocol), Some(a), Some(port)) => ServiceId::Addr {
            protocol,
            addr: ip_from(af, &a)?,
            port,
        },
        _ => return Err(DecodeError::from("service with neither fwmark nor address")),
    };
    if let Some(b) = netmask {
        svc.netmask = netmask_value(af, b);
    }
    Ok(ServiceEntry {
        service: svc,
        stats: stats64.or(stats).unwrap_or_default(),
    })
}

fn forward_from(v: u32) -> Result<Forward, DecodeError> {
    Ok(match v & 0x7 {
        0 => Forward::Masq,
        1 => Forward::Local,
        2 => Forward::Tunnel,
        3 => Forward::Route,
        4 => Forward::Bypass,
        other => {
            return Err(DecodeError::from(format!(
                "unknown forwarding method {other}"
            )))
        }
    })
}

/// `IP_VS_CONN_F_TUNNEL_TYPE_*`.
pub fn tunnel_type_value(t: TunnelType) -> u8 {
    match t {
        TunnelType::Ipip => 0,
        TunnelType::Gue => 1,
        TunnelType::Gre => 2,
    }
}

fn tunnel_type_from(v: u8) -> Result<TunnelType, DecodeError> {
    Ok(match v {
        0 => TunnelType::Ipip,
        1 => TunnelType::Gue,
        2 => TunnelType::Gre,
        other => return Err(DecodeError::from(format!("unknown tunnel type {other}"))),
    })
}

/// Attributes identifying a destination (DEL_DEST).
pub fn dest_key_attrs(id: &DestId) -> Vec<DestAttr> {
    vec![
        DestAttr::AddrFamily(super::types::family_of(&id.addr)),
        DestAttr::Addr(addr_bytes(&id.addr)),
        DestAttr::Port(id.port),
    ]
}

/// Every attribute of a destination, for NEW_DEST and SET_DEST. The tunnel
/// attributes go only with TUN forwarding.
pub fn dest_attrs(d: &Destination) -> Vec<DestAttr> {
    let mut v = vec![
        DestAttr::AddrFamily(d.family()),
        DestAttr::Addr(addr_bytes(&d.id.addr)),
        DestAttr::Port(d.id.port),
        DestAttr::FwdMethod(d.forward.conn_flags()),
        DestAttr::Weight(d.weight),
    ];
    if d.forward == Forward::Tunnel {
        v.push(DestAttr::TunType(tunnel_type_value(d.tunnel_type)));
        v.push(DestAttr::TunPort(d.tunnel_port));
        v.push(DestAttr::TunFlags(d.tunnel_flags));
    }
    v.push(DestAttr::UThresh(d.upper_threshold));
    v.push(DestAttr::LThresh(d.lower_threshold));
    v
}

/// A destination read back from the kernel, with its connection counts and
/// counters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DestEntry {
    pub dest: Destination,
    pub active_conns: u32,
    pub inactive_conns: u32,
    pub persist_conns: u32,
    pub stats: Stats,
}

/// Build a [`DestEntry`] from the nested attributes of a dump entry.
/// `svc_af` is the service's family, used when the kernel does not send
/// `ADDR_FAMILY` (before 3.18).
pub fn parse_dest(attrs: &[DestAttr], svc_af: u16) -> Result<DestEntry, DecodeError> {
    let (mut addr, mut port, mut af) = (None, None, None);
    let mut d = DestEntry {
        dest: Destination {
            id: DestId {
                addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                port: 0,
            },
            forward: Forward::Masq,
            weight: 0,
            upper_threshold: 0,
            lower_threshold: 0,
            tunnel_type: TunnelType::Ipip,
            tunnel_port: 0,
            tunnel_flags: 0,
        },
        active_conns: 0,
        inactive_conns: 0,
        persist_conns: 0,
        stats: Stats::default(),
    };
    let (mut stats, mut stats64) = (None, None);
    for a in attrs {
        match a {
            DestAttr::Addr(v) => addr = Some(*v),
            DestAttr::Port(v) => port = Some(*v),
            DestAttr::FwdMethod(v) => d.dest.forward = forward_from(*v)?,
            DestAttr::Weight(v) => d.dest.weight = *v,
            DestAttr::UThresh(v) => d.dest.upper_threshold = *v,
            DestAttr::LThresh(v) => d.dest.lower_threshold = *v,
            DestAttr::ActiveConns(v) => d.active_conns = *v,
            DestAttr::InactConns(v) => d.inactive_conns = *v,
            DestAttr::PersistConns(v) => d.persist_conns = *v,
            DestAttr::Stats(s) => stats = Some(*s),
            DestAttr::Stats64(s) => stats64 = Some(*s),
            DestAttr::AddrFamily(v) => af = Some(*v),
            DestAttr::TunType(v) => d.dest.tunnel_type = tunnel_type_from(*v)?,
            DestAttr::TunPort(v) => d.dest.tunnel_port = *v,
            DestAttr::TunFlags(v) => d.dest.tunnel_flags = *v,
            DestAttr::Other(_) => {}
        }
    }
    let addr = addr.ok_or_else(|| DecodeError::from("destination without address"))?;
    d.dest.id = DestId {
        addr: ip_from(af.unwrap_or(svc_af), &addr)?,
        port: port.ok_or_else(|| DecodeError::from("destination without port"))?,
    };
    d.stats = stats64.or(stats).unwrap_or_default();
    Ok(d)
}

// ---------------------------------------------------------------------------
// Sync daemon
// ---------------------------------------------------------------------------

/// Which sync daemon (`IP_VS_STATE_MASTER` / `IP_VS_STATE_BACKUP`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SyncState {
    Master,
    Backup,
}

impl SyncState {
    pub fn value(self) -> u32 {
        match self {
            SyncState::Master => 1,
            SyncState::Backup => 2,
        }
    }
}

/// A connection synchronisation daemon (`lvs_sync_daemon`), as started with
/// NEW_DAEMON and listed by GET_DAEMON. `None` fields are left to the
/// kernel's defaults on start (maxlen from the MTU, group 224.0.0.81, port
/// 8848, ttl 1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncDaemon {
    pub state: SyncState,
    pub mcast_ifname: String,
    pub syncid: u32,
    pub sync_maxlen: Option<u16>,
    pub mcast_group: Option<IpAddr>,
    pub mcast_port: Option<u16>,
    pub mcast_ttl: Option<u8>,
}

pub fn daemon_attrs(d: &SyncDaemon) -> Result<Vec<DaemonAttr>, String> {
    if d.mcast_ifname.is_empty()
        || d.mcast_ifname.len() >= IFNAME_MAXLEN
        || d.mcast_ifname.contains('\0')
    {
        return Err(format!("interface name {:?}", d.mcast_ifname));
    }
    let mut v = vec![
        DaemonAttr::State(d.state.value()),
        DaemonAttr::McastIfn(d.mcast_ifname.clone()),
        DaemonAttr::SyncId(d.syncid),
    ];
    if let Some(m) = d.sync_maxlen {
        v.push(DaemonAttr::SyncMaxlen(m));
    }
    if let Some(p) = d.mcast_port {
        v.push(DaemonAttr::McastPort(p));
    }
    if let Some(t) = d.mcast_ttl {
        v.push(DaemonAttr::McastTtl(t));
    }
    match d.mcast_group {
        Some(IpAddr::V4(g)) => v.push(DaemonAttr::McastGroup(g)),
        Some(IpAddr::V6(g)) => v.push(DaemonAttr::McastGroup6(g)),
        None => {}
    }
    Ok(v)
}

pub fn parse_daemon(attrs: &[DaemonAttr]) -> Result<SyncDaemon, DecodeError> {
    let mut d = SyncDaemon {
        state: SyncState::Master,
        mcast_ifname: String::new(),
        syncid: 0,
        sync_maxlen: None,
        mcast_group: None,
        mcast_port: None,
        mcast_ttl: None,
    };
    let mut state = None;
    for a in attrs {
        match a {
            DaemonAttr::State(v) => state = Some(*v),
            DaemonAttr::McastIfn(s) => d.mcast_ifname = s.clone(),
            DaemonAttr::SyncId(v) => d.syncid = *v,
            DaemonAttr::SyncMaxlen(v) => d.sync_maxlen = Some(*v),
            DaemonAttr::McastGroup(g) => d.mcast_group = Some(IpAddr::V4(*g)),
            DaemonAttr::McastGroup6(g) => d.mcast_group = Some(IpAddr::V6(*g)),
            DaemonAttr::McastPort(v) => d.mcast_port = Some(*v),
            DaemonAttr::McastTtl(v) => d.mcast_ttl = Some(*v),
            DaemonAttr::Other(_) => {}
        }
    }
    d.state = match state {
        Some(1) => SyncState::Master,
        Some(2) => SyncState::Backup,
        other => return Err(DecodeError::from(format!("sync daemon state {other:?}"))),
    };
    Ok(d)
}

#[cfg(test)]
#[path = "codec_tests.rs"]
mod tests;
