//! BFD_CHECK: a real server is healthy while the named `bfd_instance`'s
//! session is Up.
//!
//! The session runs in [`crate::bfd`]; this probe only follows its state
//! through a `watch` channel. To react at once rather than at a
//! `delay_loop`, a probe *waits* for the state to change (at most
//! [`WAIT`], so the status stays fresh) and the checker is scheduled with a
//! zero delay: the real server follows the session within the time it takes
//! the verdict to reach the IPVS syncer.
//!
//! The first probe waits up to [`STARTUP_GRACE`] for the session to come
//! up, so a real server that starts up (no `alpha`) is not taken out and
//! put back while its session is being established.

use super::probe::{Probe, ProbeFuture, ProbeOutcome};
use crate::bfd::State;
use std::time::Duration;
use tokio::sync::{watch, Mutex};

/// Longest wait of one probe for a change.
pub const WAIT: Duration = Duration::from_secs(1);
/// How long the first probe waits for the session to come up.
pub const STARTUP_GRACE: Duration = Duration::from_secs(5);

/// One BFD_CHECK of one real server.
pub struct BfdProbe {
    name: String,
    inner: Mutex<Inner>,
}

struct Inner {
    rx: Option<watch::Receiver<State>>,
    /// Up as last reported; `None` before the first probe.
    reported: Option<bool>,
}

impl BfdProbe {
    /// `rx`: the session's state, `None` when there is no such session for
    /// the checkers (unknown, disabled, or `vrrp` only).
    pub fn new(name: &str, rx: Option<watch::Receiver<State>>) -> BfdProbe {
        BfdProbe {
            name: name.to_owned(),
            inner: Mutex::new(Inner { rx, reported: None }),
        }
    }

    /// The scheduler's bound on one probe.
    pub fn max_duration() -> Duration {
        STARTUP_GRACE.max(WAIT)
    }

    async fn run(&self) -> ProbeOutcome {
        let mut inner = self.inner.lock().await;
        let reported = inner.reported;
        let Some(rx) = inner.rx.as_mut() else {
            tokio::time::sleep(WAIT).await;
            return ProbeOutcome::Down(format!("BFD instance {} is not running", self.name));
        };
        // Some(up), or None when the session is gone (instance removed).
        let seen: Option<bool> = match reported {
            None => {
                let r = tokio::time::timeout(STARTUP_GRACE, rx.wait_for(|s| *s == State::Up))
                    .await
                    .map(|r| r.is_ok());
                match r {
                    Ok(true) => Some(true),
                    Ok(false) => None,
                    Err(_) => Some(*rx.borrow() == State::Up),
                }
            }
            Some(was) => {
                let changed = rx.wait_for(|s| (*s == State::Up) != was);
                match tokio::time::timeout(WAIT, changed).await {
                    Ok(Ok(s)) => Some(*s == State::Up),
                    Ok(Err(_)) => None,
                    Err(_) => Some(was),
                }
            }
        };
        if seen.is_none() {
            inner.rx = None;
        }
        let up = seen.unwrap_or(false);
        inner.reported = Some(up);
        let state = inner.rx.as_ref().map(|r| *r.borrow());
        if up {
            ProbeOutcome::Up
        } else {
            match state {
                Some(s) => ProbeOutcome::Down(format!("BFD session {} is {s}", self.name)),
                None => ProbeOutcome::Down(format!("BFD instance {} is not running", self.name)),
            }
        }
    }
}

impl Probe for BfdProbe {
    fn probe(&self) -> ProbeFuture<'_> {
        Box::pin(self.run())
    }

    fn describe(&self) -> String {
        format!("BFD_CHECK {}", self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn follows_the_session() {
        let (tx, rx) = watch::channel(State::Down);
        let p = BfdProbe::new("b", Some(rx));
        // The first probe waits for Up.
        let t = tokio::time::Instant::now();
        let h = tokio::spawn(async move {
            let first = p.probe().await;
            (p, first)
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        tx.send_replace(State::Init);
        tx.send_replace(State::Up);
        let (p, first) = h.await.unwrap();
        assert_eq!(first, ProbeOutcome::Up);
        assert!(t.elapsed() < Duration::from_millis(400));
        // No change: answers after WAIT with the same.
        assert_eq!(p.probe().await, ProbeOutcome::Up);
        // A change ends the wait at once.
        let t = tokio::time::Instant::now();
        let h = tokio::spawn(async move { (p.probe().await, p) });
        tokio::time::sleep(Duration::from_millis(10)).await;
        tx.send_replace(State::Down);
        let (o, p) = h.await.unwrap();
        assert_eq!(o, ProbeOutcome::Down("BFD session b is Down".into()));
        assert!(t.elapsed() < Duration::from_millis(20));
        // The session removed: down, and no busy loop.
        drop(tx);
        let t = tokio::time::Instant::now();
        assert!(!p.probe().await.is_up());
        let o = p.probe().await;
        assert_eq!(
            o,
            ProbeOutcome::Down("BFD instance b is not running".into())
        );
        assert!(t.elapsed() >= WAIT);
    }

    #[tokio::test(start_paused = true)]
    async fn startup_grace_then_down() {
        let (_tx, rx) = watch::channel(State::Down);
        let p = BfdProbe::new("b", Some(rx));
        let t = tokio::time::Instant::now();
        assert!(!p.probe().await.is_up());
        assert_eq!(t.elapsed(), STARTUP_GRACE);
        let p = BfdProbe::new("none", None);
        assert!(!p.probe().await.is_up());
    }
}
