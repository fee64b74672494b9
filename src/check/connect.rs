//! Opening the TCP connection of a network checker with keepalived's
//! connection options: `connect_ip`/`connect_port` (the destination),
//! `bindto`/`bind_port` (the source), `bind_if` (SO_BINDTODEVICE), `fwmark`
//! (SO_MARK) and `connect_timeout`. Shared by TCP_CHECK and HTTP_GET/SSL_GET
//! (and usable by any other TCP-based checker).

use crate::config::model::lvs::{ConnectionSettings, RealServer};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::time::Duration;
use tokio::net::{TcpSocket, TcpStream};

/// Where and how a checker connects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectTarget {
    pub addr: SocketAddr,
    pub bindto: Option<IpAddr>,
    pub bind_port: Option<u16>,
    pub bind_if: Option<String>,
    pub fwmark: Option<u32>,
    pub timeout: Duration,
}

impl ConnectTarget {
    /// A target to `addr` with no source options.
    pub fn new(addr: SocketAddr, timeout: Duration) -> Self {
        ConnectTarget {
            addr,
            bindto: None,
            bind_port: None,
            bind_if: None,
            fwmark: None,
            timeout,
        }
    }

    /// The target a checker's connection settings describe for a real server.
    pub fn from_settings(conn: &ConnectionSettings, rs: &RealServer, timeout: Duration) -> Self {
        ConnectTarget {
            addr: SocketAddr::new(conn.destination(rs), conn.destination_port(rs)),
            bindto: conn.bindto,
            bind_port: conn.bind_port,
            bind_if: conn.bind_if.clone(),
            fwmark: conn.fwmark,
            timeout,
        }
    }

    /// Connect within the timeout. The error is a short reason for logs and
    /// status (`connection refused`, `timeout after 3s`, ...).
    pub async fn connect(&self) -> Result<TcpStream, String> {
        let socket = self.socket().map_err(|e| format!("socket setup: {e}"))?;
        match tokio::time::timeout(self.timeout, socket.connect(self.destination())).await {
            Ok(Ok(stream)) => Ok(stream),
            Ok(Err(e)) => Err(io_reason(&e)),
            Err(_) => Err(format!("timeout after {}", secs(self.timeout))),
        }
    }

    /// The address to connect to: a link-local IPv6 destination gets the
    /// scope of `bind_if` (looked up at each connect, so an interface that
    /// comes back with a new index is followed).
    pub fn destination(&self) -> SocketAddr {
        match (self.addr, &self.bind_if) {
            (SocketAddr::V6(a), Some(dev))
                if a.scope_id() == 0 && (a.ip().segments()[0] & 0xffc0) == 0xfe80 =>
            {
                let index = nix::net::if_::if_nametoindex(dev.as_str()).unwrap_or(0);
                SocketAddr::V6(SocketAddrV6::new(*a.ip(), a.port(), a.flowinfo(), index))
            }
            (a, _) => a,
        }
    }

    /// A non-blocking socket with the source options applied, not yet connected.
    fn socket(&self) -> std::io::Result<TcpSocket> {
        // One socket(2) call: SOCK_NONBLOCK here, SOCK_CLOEXEC added by socket2.
        let socket = Socket::new(
            Domain::for_address(self.addr),
            Type::STREAM.nonblocking(),
            Some(Protocol::TCP),
        )?;
        if let Some(dev) = &self.bind_if {
            socket.bind_device(Some(dev.as_bytes()))?;
        }
        if let Some(mark) = self.fwmark {
            socket.set_mark(mark)?;
        }
        if self.bindto.is_some() || self.bind_port.is_some() {
            let ip = self.bindto.unwrap_or(if self.addr.is_ipv4() {
                IpAddr::V4(Ipv4Addr::UNSPECIFIED)
            } else {
                IpAddr::V6(Ipv6Addr::UNSPECIFIED)
            });
            if self.bind_port.is_some() {
                // A fixed source port is reused check after check, while the
                // previous connection may still be in TIME_WAIT.
                socket.set_reuse_address(true)?;
            }
            socket.bind(&SockAddr::from(SocketAddr::new(
                ip,
                self.bind_port.unwrap_or(0),
            )))?;
        }
        Ok(TcpSocket::from_std_stream(std::net::TcpStream::from(
            socket,
        )))
    }
}

/// `[addr]:port` as keepalived prints checker targets.
pub fn describe_addr(addr: &SocketAddr) -> String {
    format!("[{}]:{}", addr.ip(), addr.port())
}

/// A duration as seconds for messages: `3s`, `0.5s`.
pub fn secs(d: Duration) -> String {
    format!("{}s", d.as_secs_f64())
}

/// A short reason for an I/O error.
pub fn io_reason(e: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::ConnectionRefused => "connection refused".into(),
        ErrorKind::ConnectionReset => "connection reset".into(),
        ErrorKind::TimedOut => "timed out".into(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_from_settings_prefers_connect_ip_and_port() {
        let rs = RealServer::new("10.0.0.2".parse().unwrap(), Some(80));
        let conn = ConnectionSettings {
            connect_ip: Some("10.0.0.9".parse().unwrap()),
            connect_port: Some(8080),
            bindto: Some("10.0.0.1".parse().unwrap()),
            ..Default::default()
        };
        let t = ConnectTarget::from_settings(&conn, &rs, Duration::from_secs(3));
        assert_eq!(t.addr, "10.0.0.9:8080".parse().unwrap());
        assert_eq!(t.bindto, Some("10.0.0.1".parse().unwrap()));
        let t = ConnectTarget::from_settings(&ConnectionSettings::default(), &rs, t.timeout);
        assert_eq!(t.addr, "10.0.0.2:80".parse().unwrap());
        assert_eq!(describe_addr(&t.addr), "[10.0.0.2]:80");
    }

    #[test]
    fn link_local_destinations_take_the_scope_of_bind_if() {
        let mut t = ConnectTarget::new("[fe80::1]:80".parse().unwrap(), Duration::from_secs(1));
        assert_eq!(t.destination(), t.addr);
        t.bind_if = Some("lo".into());
        let lo = nix::net::if_::if_nametoindex("lo").unwrap();
        match t.destination() {
            SocketAddr::V6(a) => assert_eq!(a.scope_id(), lo),
            other => panic!("{other}"),
        }
        t.addr = "[2001:db8::1]:80".parse().unwrap();
        assert_eq!(t.destination(), t.addr);
    }

    #[test]
    fn messages() {
        assert_eq!(secs(Duration::from_millis(500)), "0.5s");
        assert_eq!(secs(Duration::from_secs(3)), "3s");
    }
}
