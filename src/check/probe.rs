//! One check of one target, without timing or counting: the scheduler in the
//! real-server checker runs probes at `delay_loop`, applies retry and
//! delay_before_retry, and turns outcomes into [`super::RealServerUpdate`]s.
//! Each checker type (`tcp.rs`, `http.rs`, `misc.rs`, ...) implements
//! [`Probe`]; a probe never sleeps beyond its own connect/read timeout.

use std::future::Future;
use std::pin::Pin;

/// What one probe found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeOutcome {
    /// Healthy.
    Up,
    /// Healthy, and the target asks for this weight (`misc_dynamic` exit
    /// codes 2..=255 → weight code − 2; FILE_CHECK file contents).
    UpWithWeight(u32),
    /// Unhealthy, with a reason for logs and status (`connection refused`,
    /// `status 503`, `digest mismatch`, `timeout after 3s`, ...).
    Down(String),
}

impl ProbeOutcome {
    pub fn is_up(&self) -> bool {
        !matches!(self, ProbeOutcome::Down(_))
    }
}

/// A boxed future of one probe.
pub type ProbeFuture<'a> = Pin<Box<dyn Future<Output = ProbeOutcome> + Send + 'a>>;

/// One configured check of one real server.
pub trait Probe: Send + Sync + 'static {
    /// Run one check. Must finish within the checker's own timeout
    /// (`connect_timeout`, `misc_timeout`, ...): the scheduler also bounds it,
    /// but a probe that relies on that is a bug.
    fn probe(&self) -> ProbeFuture<'_>;
    /// `TCP_CHECK [10.0.0.2]:80` style description for logs and status.
    fn describe(&self) -> String;
}
