//! Network edges: addresses, links, gratuitous ARP and unsolicited NA.
pub mod garp;
pub mod netlink;
pub mod routes;
pub mod sockets;
