//! `TCP_CHECK`: the real server is up when a TCP connection to it succeeds
//! within `connect_timeout`. The connection is closed at once.

use super::connect::{describe_addr, ConnectTarget};
use super::probe::{Probe, ProbeFuture, ProbeOutcome};

/// One TCP_CHECK.
#[derive(Clone, Debug)]
pub struct TcpProbe {
    target: ConnectTarget,
}

impl TcpProbe {
    pub fn new(target: ConnectTarget) -> Self {
        TcpProbe { target }
    }
}

impl Probe for TcpProbe {
    fn probe(&self) -> ProbeFuture<'_> {
        Box::pin(async move {
            match self.target.connect().await {
                Ok(stream) => {
                    drop(stream);
                    ProbeOutcome::Up
                }
                Err(reason) => ProbeOutcome::Down(reason),
            }
        })
    }

    fn describe(&self) -> String {
        format!("TCP_CHECK {}", describe_addr(&self.target.addr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn up_while_listening_down_when_closed() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let probe = TcpProbe::new(ConnectTarget::new(addr, Duration::from_secs(2)));
        assert_eq!(probe.probe().await, ProbeOutcome::Up);
        assert_eq!(
            probe.describe(),
            format!("TCP_CHECK [127.0.0.1]:{}", addr.port())
        );
        drop(listener);
        assert_eq!(
            probe.probe().await,
            ProbeOutcome::Down("connection refused".into())
        );
    }

    #[tokio::test]
    async fn bindto_sets_the_source_address() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut target = ConnectTarget::new(listener.local_addr().unwrap(), Duration::from_secs(2));
        target.bindto = Some("127.0.0.2".parse().unwrap());
        let probe = TcpProbe::new(target);
        let (outcome, accepted) = tokio::join!(probe.probe(), listener.accept());
        assert_eq!(outcome, ProbeOutcome::Up);
        assert_eq!(
            accepted.unwrap().1.ip(),
            "127.0.0.2".parse::<std::net::IpAddr>().unwrap()
        );
    }
}
