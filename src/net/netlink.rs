//! rtnetlink at the edge: links, addresses, and the events that change them.
//!
//! A thin layer over the `rtnetlink` crate that speaks in the daemon's terms
//! (an address with its label, scope, broadcast and flags; a link that is up
//! or down) so the rest of the code never builds netlink messages.

use futures_util::stream::{StreamExt, TryStreamExt};
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, AddressScope,
};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use netlink_packet_route::RouteNetlinkMessage;
use std::net::IpAddr;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum NetlinkError {
    #[error("cannot open a netlink socket: {0}")]
    Socket(#[from] std::io::Error),
    #[error("netlink: {0}")]
    Kernel(#[from] rtnetlink::Error),
    #[error("no interface named {0}")]
    NoSuchLink(String),
}

/// What we need to know about a link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkInfo {
    pub index: u32,
    pub name: String,
    pub mac: Option<[u8; 6]>,
    /// Administratively up and with carrier (IFF_UP and IFF_RUNNING): keepalived's
    /// notion of a usable interface.
    pub up: bool,
}

impl LinkInfo {
    fn from_message(msg: &LinkMessage) -> Self {
        let mut name = String::new();
        let mut mac = None;
        for attr in &msg.attributes {
            match attr {
                LinkAttribute::IfName(n) => name = n.clone(),
                LinkAttribute::Address(a) if a.len() == 6 => {
                    let mut m = [0u8; 6];
                    m.copy_from_slice(a);
                    mac = Some(m);
                }
                _ => {}
            }
        }
        let f = msg.header.flags;
        LinkInfo {
            index: msg.header.index,
            name,
            mac,
            up: f.contains(LinkFlags::Up) && f.contains(LinkFlags::Running),
        }
    }
}

/// An address as the daemon installs it (a VIP, a static address).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressSpec {
    pub ifindex: u32,
    pub addr: IpAddr,
    pub prefix_len: u8,
    pub label: Option<String>,
    pub broadcast: Option<std::net::Ipv4Addr>,
    pub peer: Option<IpAddr>,
    pub scope: u8,
    /// IFA_F_* flags (nodad, noprefixroute, homeaddress, mngtmpaddr, autojoin).
    pub flags: u32,
}

impl AddressSpec {
    pub fn new(ifindex: u32, addr: IpAddr, prefix_len: u8) -> Self {
        AddressSpec {
            ifindex,
            addr,
            prefix_len,
            label: None,
            broadcast: None,
            peer: None,
            scope: 0,
            flags: 0,
        }
    }

    fn fill(&self, msg: &mut AddressMessage) {
        msg.header.scope = AddressScope::from(self.scope);
        if let Some(label) = &self.label {
            msg.attributes.push(AddressAttribute::Label(label.clone()));
        }
        if let Some(b) = self.broadcast {
            msg.attributes.push(AddressAttribute::Broadcast(b));
        }
        if let Some(peer) = self.peer {
            // With a peer, IFA_LOCAL is our address and IFA_ADDRESS the peer's.
            for a in msg.attributes.iter_mut() {
                if let AddressAttribute::Address(x) = a {
                    *x = peer;
                }
            }
        }
        if self.flags != 0 {
            msg.header.flags = AddressHeaderFlags::from_bits_truncate(self.flags as u8);
            msg.attributes
                .push(AddressAttribute::Flags(AddressFlags::from_bits_retain(
                    self.flags,
                )));
        }
    }
}

/// An address seen on the system.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressInfo {
    pub ifindex: u32,
    pub addr: IpAddr,
    pub prefix_len: u8,
    pub label: Option<String>,
}

fn address_info(msg: &AddressMessage) -> Option<AddressInfo> {
    let mut local = None;
    let mut address = None;
    let mut label = None;
    for a in &msg.attributes {
        match a {
            AddressAttribute::Local(ip) => local = Some(*ip),
            AddressAttribute::Address(ip) => address = Some(*ip),
            AddressAttribute::Label(l) => label = Some(l.clone()),
            _ => {}
        }
    }
    Some(AddressInfo {
        ifindex: msg.header.index,
        addr: local.or(address)?,
        prefix_len: msg.header.prefix_len,
        label,
    })
}

/// A change the kernel told us about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetEvent {
    Link(LinkInfo),
    LinkRemoved(u32),
    AddressAdded(AddressInfo),
    AddressRemoved(AddressInfo),
}

/// A request connection to rtnetlink. Must be created inside a tokio runtime.
#[derive(Clone)]
pub struct Netlink {
    handle: rtnetlink::Handle,
}

impl Netlink {
    pub fn connect() -> Result<Self, NetlinkError> {
        let (conn, handle, _) = rtnetlink::new_connection()?;
        tokio::spawn(conn);
        Ok(Netlink { handle })
    }

    pub async fn links(&self) -> Result<Vec<LinkInfo>, NetlinkError> {
        let mut out = Vec::new();
        let mut s = self.handle.link().get().execute();
        while let Some(msg) = s.try_next().await? {
            out.push(LinkInfo::from_message(&msg));
        }
        Ok(out)
    }

    pub async fn link_by_name(&self, name: &str) -> Result<LinkInfo, NetlinkError> {
        let mut s = self
            .handle
            .link()
            .get()
            .match_name(name.to_owned())
            .execute();
        match s.try_next().await {
            Ok(Some(msg)) => Ok(LinkInfo::from_message(&msg)),
            Ok(None) | Err(rtnetlink::Error::NetlinkError(_)) => {
                Err(NetlinkError::NoSuchLink(name.to_owned()))
            }
            Err(e) => Err(e.into()),
        }
    }

    pub async fn addresses(&self) -> Result<Vec<AddressInfo>, NetlinkError> {
        let mut out = Vec::new();
        let mut s = self.handle.address().get().execute();
        while let Some(msg) = s.try_next().await? {
            if let Some(a) = address_info(&msg) {
                out.push(a);
            }
        }
        Ok(out)
    }

    /// Add an address; an address that is already there is not an error.
    pub async fn add_address(&self, spec: &AddressSpec) -> Result<(), NetlinkError> {
        let mut req = self
            .handle
            .address()
            .add(spec.ifindex, spec.addr, spec.prefix_len)
            .replace();
        spec.fill(req.message_mut());
        req.execute().await?;
        Ok(())
    }

    /// Remove an address; one that is already gone is not an error.
    pub async fn del_address(&self, spec: &AddressSpec) -> Result<(), NetlinkError> {
        let mut msg = AddressMessage::default();
        msg.header.family = match spec.addr {
            IpAddr::V4(_) => netlink_packet_route::AddressFamily::Inet,
            IpAddr::V6(_) => netlink_packet_route::AddressFamily::Inet6,
        };
        msg.header.index = spec.ifindex;
        msg.header.prefix_len = spec.prefix_len;
        msg.attributes.push(AddressAttribute::Local(spec.addr));
        if spec.addr.is_ipv6() {
            msg.attributes.clear();
            msg.attributes.push(AddressAttribute::Address(spec.addr));
        }
        match self.handle.address().del(msg).execute().await {
            Ok(()) => Ok(()),
            // EADDRNOTAVAIL: already gone.
            Err(rtnetlink::Error::NetlinkError(e))
                if e.raw_code() == -libc::EADDRNOTAVAIL || e.raw_code() == -libc::ENODEV =>
            {
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }
}

impl Netlink {
    /// Add a route (`virtual_routes`); one that already exists is not an error.
    pub async fn add_route(
        &self,
        msg: netlink_packet_route::route::RouteMessage,
    ) -> Result<(), NetlinkError> {
        match self.handle.route().add(msg).execute().await {
            Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code() == -libc::EEXIST => Ok(()),
            r => Ok(r?),
        }
    }

    /// Remove a route; one that is already gone is not an error.
    pub async fn del_route(
        &self,
        msg: netlink_packet_route::route::RouteMessage,
    ) -> Result<(), NetlinkError> {
        match self.handle.route().del(msg).execute().await {
            Err(rtnetlink::Error::NetlinkError(e))
                if e.raw_code() == -libc::ESRCH || e.raw_code() == -libc::ENODEV =>
            {
                Ok(())
            }
            r => Ok(r?),
        }
    }

    /// Add a rule (`virtual_rules`); one that already exists is not an error.
    pub async fn add_rule(
        &self,
        msg: netlink_packet_route::rule::RuleMessage,
    ) -> Result<(), NetlinkError> {
        let mut req = self.handle.rule().add();
        *req.message_mut() = msg;
        match req.execute().await {
            Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code() == -libc::EEXIST => Ok(()),
            r => Ok(r?),
        }
    }

    /// Remove a rule; one that is already gone is not an error.
    pub async fn del_rule(
        &self,
        msg: netlink_packet_route::rule::RuleMessage,
    ) -> Result<(), NetlinkError> {
        match self.handle.rule().del(msg).execute().await {
            Err(rtnetlink::Error::NetlinkError(e))
                if e.raw_code() == -libc::ENOENT || e.raw_code() == -libc::ESRCH =>
            {
                Ok(())
            }
            r => Ok(r?),
        }
    }
}

/// Subscribe to link and address changes. The returned stream ends when the
/// socket fails; the caller re-reads state and resubscribes.
pub fn monitor(
) -> Result<impl futures_util::Stream<Item = NetEvent> + Send + Unpin + 'static, NetlinkError> {
    use rtnetlink::MulticastGroup;
    let (conn, _handle, messages) = rtnetlink::new_multicast_connection(&[
        MulticastGroup::Link,
        MulticastGroup::Ipv4Ifaddr,
        MulticastGroup::Ipv6Ifaddr,
    ])?;
    tokio::spawn(conn);
    Ok(Box::pin(messages.filter_map(|(msg, _)| async move {
        use netlink_packet_core::NetlinkPayload;
        let NetlinkPayload::InnerMessage(inner) = msg.payload else {
            return None;
        };
        match inner {
            RouteNetlinkMessage::NewLink(l) => Some(NetEvent::Link(LinkInfo::from_message(&l))),
            RouteNetlinkMessage::DelLink(l) => Some(NetEvent::LinkRemoved(l.header.index)),
            RouteNetlinkMessage::NewAddress(a) => address_info(&a).map(NetEvent::AddressAdded),
            RouteNetlinkMessage::DelAddress(a) => address_info(&a).map(NetEvent::AddressRemoved),
            _ => None,
        }
    })))
}
