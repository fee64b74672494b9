//! `ha_suspend`: the checkers of a virtual server are suspended while its
//! address is not configured on this host, and resume when it is (keepalived
//! enables and disables such checkers as its netlink reflector sees the
//! address come and go, i.e. as the VRRP instance holding the VIP becomes
//! MASTER or leaves it).
//!
//! [`LocalAddresses`] follows the host's addresses over rtnetlink (a dump,
//! then the address add/delete notifications; re-subscribed after an error)
//! and publishes which of the addresses of interest are local. A suspended
//! checker keeps its schedule but skips its probes, as keepalived's does:
//! it resumes at its next slot, at most one delay_loop after the address
//! appears, and its real server keeps the state it had.

use crate::net::netlink::{monitor, NetEvent, Netlink};
use futures_util::StreamExt;
use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The local addresses among those of interest, as last seen.
#[derive(Clone, Debug)]
pub struct LocalAddresses {
    rx: watch::Receiver<Arc<HashSet<IpAddr>>>,
}

impl LocalAddresses {
    /// A fixed view (tests, or when the caller tracks addresses itself).
    pub fn fixed(rx: watch::Receiver<Arc<HashSet<IpAddr>>>) -> Self {
        LocalAddresses { rx }
    }

    /// Whether `addr` is configured on this host.
    pub fn is_local(&self, addr: &IpAddr) -> bool {
        self.rx.borrow().contains(addr)
    }

    /// Follow the host's addresses over rtnetlink, publishing those of
    /// `interest` that are local. Must be called within a tokio runtime; the
    /// task ends when every `LocalAddresses` clone is dropped. Until the
    /// first dump has been read, no address counts as local (checkers stay
    /// suspended: keepalived too starts them disabled until it has read the
    /// addresses).
    pub fn watch(interest: HashSet<IpAddr>) -> Self {
        let (tx, rx) = watch::channel(Arc::new(HashSet::new()));
        tokio::spawn(follow(interest, tx));
        LocalAddresses { rx }
    }
}

/// What the watcher keeps: every (interface, address) pair of interest, so
/// that an address on two interfaces stays local until both are gone.
#[derive(Default)]
struct Pairs(HashSet<(u32, IpAddr)>);

impl Pairs {
    fn local(&self) -> HashSet<IpAddr> {
        self.0.iter().map(|(_, a)| *a).collect()
    }
}

async fn follow(interest: HashSet<IpAddr>, tx: watch::Sender<Arc<HashSet<IpAddr>>>) {
    let mut backoff = Duration::from_millis(200);
    while !tx.is_closed() {
        match follow_once(&interest, &tx).await {
            Ok(()) => tracing::warn!("ha_suspend: address notifications ended; re-reading"),
            Err(e) => tracing::warn!("ha_suspend: cannot follow local addresses: {e}"),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// Subscribe, dump, then apply notifications until the stream ends.
async fn follow_once(
    interest: &HashSet<IpAddr>,
    tx: &watch::Sender<Arc<HashSet<IpAddr>>>,
) -> Result<(), String> {
    // Subscribe first so no change between the dump and the stream is lost.
    let mut events = monitor().map_err(|e| e.to_string())?;
    let nl = Netlink::connect().map_err(|e| e.to_string())?;
    let mut pairs = Pairs::default();
    for a in nl.addresses().await.map_err(|e| e.to_string())? {
        if interest.contains(&a.addr) {
            pairs.0.insert((a.ifindex, a.addr));
        }
    }
    publish(tx, &pairs);
    loop {
        let event = tokio::select! {
            e = events.next() => e,
            _ = tx.closed() => return Ok(()),
        };
        let Some(event) = event else {
            return Ok(());
        };
        let changed = match event {
            NetEvent::AddressAdded(a) if interest.contains(&a.addr) => {
                pairs.0.insert((a.ifindex, a.addr))
            }
            NetEvent::AddressRemoved(a) if interest.contains(&a.addr) => {
                pairs.0.remove(&(a.ifindex, a.addr))
            }
            NetEvent::LinkRemoved(index) => {
                let before = pairs.0.len();
                pairs.0.retain(|(i, _)| *i != index);
                pairs.0.len() != before
            }
            _ => false,
        };
        if changed {
            publish(tx, &pairs);
        }
    }
}

fn publish(tx: &watch::Sender<Arc<HashSet<IpAddr>>>, pairs: &Pairs) {
    let now = pairs.local();
    let before = tx.borrow().clone();
    if *before == now {
        return;
    }
    for a in now.difference(&before) {
        tracing::info!("ha_suspend: {a} is local now; its virtual servers' checkers resume");
    }
    for a in before.difference(&now) {
        tracing::info!(
            "ha_suspend: {a} is no longer local; its virtual servers' checkers are suspended"
        );
    }
    tx.send_replace(Arc::new(now));
}
