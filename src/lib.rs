//! keepalived-rs: a memory-safe, drop-in replacement for keepalived.
//!
//! The crate is organised by concern:
//! - [`config`]: keepalived.conf lexer, preprocessor, parser and the typed model;
//! - [`vrrp`]: VRRP packet codec, the sans-IO state machine and instance wiring;
//! - [`check`]: health checkers (one file per checker);
//! - [`ipvs`]: the generic-netlink IPVS client and the syncer;
//! - [`net`]: addresses, links, gratuitous ARP and unsolicited NA;
//! - [`daemon`]: process wiring, signals and reload.
#![deny(unsafe_code)]

pub mod bfd;
pub mod check;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod ipvs;
pub mod net;
pub mod script;
pub mod vrrp;
