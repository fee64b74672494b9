//! Where a network probe goes and how its socket is set up: the connection
//! keywords every network checker shares (`connect_ip`, `connect_port`,
//! `bindto`, `bind_port`, `bind_if`, `fwmark`, `connect_timeout`), read once
//! when the probe is built, applied to a fresh socket at every check.
//!
//! Used by the UDP, DNS, PING and SMTP probes.

use crate::config::model::lvs::{ConnectionSettings, RealServer};
use crate::config::values::Timer;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::time::Duration;

/// keepalived's `connect_timeout` when nothing sets one (the model's
/// inheritance always yields one for network checkers; this is a fallback).
pub const DEFAULT_CONNECT_TIMEOUT: Timer = Timer::from_secs(5);

/// One checked endpoint and the socket options to reach it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// Destination address and port (port 0 for PING_CHECK, or when neither
    /// `connect_port` nor the real server gives one: the check then fails,
    /// as keepalived's does).
    pub dest: SocketAddr,
    /// Source address and port (`bindto`, `bind_port`).
    pub bind: Option<SocketAddr>,
    /// `bind_if`: SO_BINDTODEVICE, and the scope of a link-local destination.
    pub bind_if: Option<String>,
    /// `fwmark`: SO_MARK on every packet of the check.
    pub fwmark: Option<u32>,
    /// `connect_timeout`: how long each step of the check may wait.
    pub timeout: Duration,
}

impl Target {
    /// The target of a checker: its connection settings over the real
    /// server's address and port. `timeout` is the effective connect_timeout
    /// (`EffectiveChecker::connect_timeout`, `None`: keepalived's 5 s).
    /// Fails the way keepalived drops a checker: a link-local IPv6
    /// destination without `bind_if`, or a `bindto` of the other family.
    pub fn new(
        conn: &ConnectionSettings,
        rs: &RealServer,
        timeout: Option<Timer>,
    ) -> Result<Target, String> {
        if let Some(problem) = conn.problem(rs) {
            return Err(problem);
        }
        let dest = SocketAddr::new(conn.destination(rs), conn.destination_port(rs));
        let bind = match (conn.bindto, conn.bind_port) {
            (Some(addr), port) => {
                if addr.is_ipv4() != dest.is_ipv4() {
                    return Err(format!(
                        "bindto {addr} and destination {} are of different families",
                        dest.ip()
                    ));
                }
                Some(SocketAddr::new(addr, port.unwrap_or(0)))
            }
            (None, Some(port)) => Some(SocketAddr::new(unspecified_like(&dest.ip()), port)),
            (None, None) => None,
        };
        Ok(Target {
            dest,
            bind,
            bind_if: conn.bind_if.clone(),
            fwmark: conn.fwmark,
            timeout: timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT).as_duration(),
        })
    }

    /// The destination as a socket address: a link-local IPv6 address gets
    /// the scope of `bind_if`, looked up now because the interface may come
    /// and go while the checker runs.
    pub fn dest_addr(&self) -> io::Result<SocketAddr> {
        match self.dest {
            SocketAddr::V6(v6) if is_link_local_v6(v6.ip()) => {
                let name = self.bind_if.as_deref().ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "link-local destination without bind_if",
                    )
                })?;
                let index = nix::net::if_::if_nametoindex(name).map_err(io::Error::from)?;
                Ok(SocketAddr::V6(SocketAddrV6::new(
                    *v6.ip(),
                    v6.port(),
                    0,
                    index,
                )))
            }
            other => Ok(other),
        }
    }

    /// A non-blocking, close-on-exec socket of the destination's family with
    /// the target's mark, device and source address applied (not connected).
    pub fn socket(&self, ty: Type, protocol: Protocol) -> io::Result<Socket> {
        let domain = if self.dest.is_ipv4() {
            Domain::IPV4
        } else {
            Domain::IPV6
        };
        let socket = Socket::new(domain, ty.nonblocking(), Some(protocol))?;
        self.configure(&socket)?;
        Ok(socket)
    }

    /// Apply mark, device and source address to a socket made elsewhere.
    pub fn configure(&self, socket: &Socket) -> io::Result<()> {
        if let Some(mark) = self.fwmark {
            socket.set_mark(mark)?;
        }
        if let Some(dev) = &self.bind_if {
            socket.bind_device(Some(dev.as_bytes()))?;
        }
        if let Some(bind) = self.bind {
            socket.bind(&SockAddr::from(bind))?;
        }
        Ok(())
    }

    /// `[addr]:port` as keepalived prints a checked endpoint.
    pub fn describe(&self) -> String {
        format!("[{}]:{}", self.dest.ip(), self.dest.port())
    }
}

fn unspecified_like(addr: &IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    }
}

fn is_link_local_v6(a: &Ipv6Addr) -> bool {
    (a.segments()[0] & 0xffc0) == 0xfe80
}

/// A short reason for an I/O error, for `ProbeOutcome::Down` (`connection
/// refused`, `no route to host`, ...): the OS message without the errno.
pub fn io_reason(e: &io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_lowercase(),
        None => text.to_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rs(addr: &str, port: Option<u16>) -> RealServer {
        RealServer::new(addr.parse().unwrap(), port)
    }

    #[test]
    fn destination_and_source_follow_the_connection_settings() {
        let conn = ConnectionSettings::default();
        let t = Target::new(&conn, &rs("10.0.0.2", Some(53)), None).unwrap();
        assert_eq!(t.dest, "10.0.0.2:53".parse().unwrap());
        assert_eq!(t.bind, None);
        assert_eq!(t.timeout, Duration::from_secs(5));

        let conn = ConnectionSettings {
            connect_ip: Some("10.0.0.9".parse().unwrap()),
            connect_port: Some(5353),
            bind_port: Some(4000),
            connect_timeout: Some(Timer::from_millis(300)),
            ..Default::default()
        };
        let t = Target::new(
            &conn,
            &rs("10.0.0.2", Some(53)),
            Some(Timer::from_millis(300)),
        )
        .unwrap();
        assert_eq!(t.dest, "10.0.0.9:5353".parse().unwrap());
        assert_eq!(t.bind, Some("0.0.0.0:4000".parse().unwrap()));
        assert_eq!(t.timeout, Duration::from_millis(300));
        assert_eq!(t.describe(), "[10.0.0.9]:5353");
    }

    #[test]
    fn refuses_what_keepalived_drops() {
        let conn = ConnectionSettings::default();
        assert!(Target::new(&conn, &rs("fe80::1", Some(80)), None).is_err());
        let conn = ConnectionSettings {
            bindto: Some("::1".parse().unwrap()),
            ..Default::default()
        };
        assert!(Target::new(&conn, &rs("10.0.0.2", Some(80)), None).is_err());
    }

    #[test]
    fn io_reasons_are_short() {
        let e = io::Error::from_raw_os_error(libc::ECONNREFUSED);
        assert_eq!(io_reason(&e), "connection refused");
    }
}
