//! BFD (RFC 5880 asynchronous mode over UDP, RFC 5881 single hop), as
//! keepalived's `bfd_instance` configures it.
//!
//! - [`packet`]: the Control packet codec (pure);
//! - [`session`]: one session's state machine (pure);
//! - [`runner`]: the I/O edge: sockets, one task per `bfd_instance`, and
//!   the [`runner::Sessions`] handle through which `BFD_CHECK` and
//!   `track_bfd` follow a session's state.

pub mod metrics;
pub mod packet;
pub mod runner;
pub mod session;

pub use packet::{ControlPacket, DecodeError, State};
pub use runner::{BfdHub, Sessions};
pub use session::{Action, Event, Session, SessionConfig};
