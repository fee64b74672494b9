//! Health checks.
//!
//! Two consumers:
//! - **VRRP trackers** (`vrrp_script`, `track_file`, `vrrp_track_process`)
//!   feed an instance's effective priority and FAULT state through
//!   [`crate::vrrp::engine::Control`];
//! - **real-server checkers** (`TCP_CHECK`, `HTTP_GET`, `MISC_CHECK`, ...)
//!   decide whether each real server is in the IPVS pool. Their verdicts are
//!   [`RealServerUpdate`] events on a channel that the IPVS syncer consumes,
//!   so the syncer never looks inside a checker and a checker never talks to
//!   the kernel.

pub mod track_file;
pub mod track_process;
pub mod verdict;
pub mod vrrp_script;

pub use verdict::{RealServerKey, RealServerUpdate, ServiceKey};

pub mod probe;
pub mod proc_events;

pub use probe::{Probe, ProbeOutcome};

pub mod bfd;
pub mod body_regex;
pub mod connect;
pub mod dns;
pub mod file;
pub mod genhash;
pub mod ha_suspend;
pub mod health;
pub mod http;
pub mod misc;
pub mod ping;
pub mod realserver;
pub mod smtp;
pub mod target;
pub mod tcp;
pub mod udp;

pub use realserver::{start, CheckerSet};
