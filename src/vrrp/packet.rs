//! VRRPv2/v3 packet codec and receive validation (sans-IO).
//!
//! Everything here is a pure function of bytes and configuration: no sockets, no clocks,
//! no logging. The receive path is
//!
//! 1. [`Ipv4Header::parse`] on what a raw IPv4 socket delivers (IPv6 raw sockets deliver the
//!    VRRP message alone, with hop limit and destination in ancillary data);
//! 2. [`validate`] with an [`RxMeta`] (addresses, TTL/hop limit, multicast or not) and the
//!    instance's [`RxParams`], giving a [`ValidAdvert`] or a [`DropReason`] to count;
//!
//! and the send path is [`Advertisement::encode`] with the [`Checksum`] form chosen by
//! [`Checksum::for_send`].
//!
//! The message types ([`Advertisement`], [`ValidAdvert`], [`DropReason`], [`RxMeta`]) derive
//! serde so that state-machine inputs and outputs can be recorded and replayed as JSON.
//!
//! Formats: RFC 3768 §5 (VRRPv2) and RFC 5798 §5 (VRRPv3). The receive rules, their order and
//! the checksum variants follow keepalived 2.2.7, our interoperability baseline; see
//! [`validate`] for the details.

mod advert;
mod checksum;
mod ipv4;
#[cfg(test)]
mod proptests;
mod validate;

pub use advert::{
    Advertisement, AuthType, Checksum, DecodeError, EncodeError, Family, VersionFields, VrrpVersion,
};
pub use ipv4::{Ipv4Header, Ipv4HeaderError};
pub use validate::{
    validate, ChecksumVariant, DropReason, RxAuth, RxMeta, RxParams, UnicastParams, UnicastPeer,
    ValidAdvert,
};

use std::net::{Ipv4Addr, Ipv6Addr};

/// IP protocol number of VRRP (IANA), used for the raw sockets and the pseudo-headers.
pub const IPPROTO_VRRP: u8 = 112;

/// The TTL / hop limit VRRP packets are sent with, and that multicast adverts must arrive with
/// (RFC 3768 §7.1, RFC 5798 §7.1: proof that the sender is on the local link).
pub const VRRP_TTL: u8 = 255;

/// Default IPv4 multicast group (RFC 3768 §5.2.2). keepalived lets it be changed globally
/// (`vrrp_mcast_group4`); it also appears in the old unicast checksum form.
pub const MCAST_GROUP_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);

/// Default IPv6 multicast group (RFC 5798 §5.1.2.2).
pub const MCAST_GROUP_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);

/// Length of the fixed VRRP header (version/type to checksum), both versions.
pub const HEADER_LEN: usize = 8;

/// Length of the VRRPv2 authentication data trailer (RFC 3768 §5.3.10).
pub const AUTH_DATA_LEN: usize = 8;

/// Byte offset of the checksum within the VRRP header.
pub const CHECKSUM_OFFSET: usize = 6;

/// The only VRRP packet type defined (RFC 3768 §5.3.2, RFC 5798 §5.2.2).
pub const TYPE_ADVERTISEMENT: u8 = 1;

/// Largest VRRPv3 Max Advertise Interval: the field is 12 bits of centiseconds (RFC 5798 §5.2.7).
pub const MAX_V3_ADVERT_INT_CS: u16 = 0x0fff;

/// Largest address count: the Count IPvX Addr field is one octet.
pub const MAX_ADDRESSES: usize = 255;
