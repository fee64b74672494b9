//! IPVS: the kernel's virtual/real server table, programmed over generic
//! netlink.
//!
//! - [`types`]: the table as plain data (what the kernel holds, what we want);
//! - the netlink client turns those into `IPVS_CMD_*` requests and back;
//! - the syncer computes the desired table from the configuration and the
//!   checkers' verdicts ([`crate::check::RealServerUpdate`]), diffs it with
//!   the kernel's and applies only the needed operations through [`IpvsOps`].

pub mod codec;
pub mod desired;
pub mod netlink;
pub mod request;
pub mod syncer;
pub mod types;

pub use codec::{DestEntry, ServiceEntry, Stats, SyncDaemon, SyncState};
pub use netlink::{IpvsClient, IpvsInfo, Timeouts};
pub use types::{DestId, Destination, IpvsError, IpvsOps, Service, ServiceId};
