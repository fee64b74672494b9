//! Counting for the real-server checkers, without timers or sockets: how one
//! probe outcome moves a checker between up and down, when the next probe
//! runs, and when a real server's verdict (alive, weight) changes.
//!
//! keepalived's semantics (keepalived.conf(5), `retry` / `delay_before_retry`
//! / `alpha`):
//! - a checker starts up, or down with `alpha`;
//! - one success brings a down checker up ("rise" is 1), and the next probe
//!   runs after `delay_loop`;
//! - a failure of an up checker is retried `retry` times, `delay_before_retry`
//!   apart; the checker goes down on the failure after the last retry
//!   ("fall" is retry + 1 consecutive failures). A success in between resets
//!   the count;
//! - a down checker is not retried: the next probe runs after `delay_loop`;
//! - a real server is alive when every checker is up.

use super::ProbeOutcome;
use std::time::Duration;

/// When the next probe of a checker runs, counted from the end of this one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NextProbe {
    /// The normal interval (`delay_loop`).
    DelayLoop,
    /// A retry of a failed probe (`delay_before_retry`).
    Retry,
}

/// The timing a checker needs from its configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckerTimers {
    pub delay_loop: Duration,
    pub delay_before_retry: Duration,
    /// How many failed probes of an up checker are retried before it goes down.
    pub retry: u32,
}

impl CheckerTimers {
    pub fn delay(&self, next: NextProbe) -> Duration {
        match next {
            NextProbe::DelayLoop => self.delay_loop,
            NextProbe::Retry => self.delay_before_retry,
        }
    }
}

/// One checker's up/down state and retry count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckerHealth {
    up: bool,
    retry: u32,
    /// Failed probes since the checker was last seen up, while it still counts as up.
    retries_used: u32,
    /// The weight the target last asked for (`misc_dynamic`, FILE_CHECK).
    weight: Option<u32>,
}

/// What one outcome did to a checker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckerStep {
    /// `Some(new state)` when the checker went up or down.
    pub changed: Option<bool>,
    pub next: NextProbe,
    /// The outcome was a failure that is being retried (not yet counted as down).
    pub retrying: bool,
}

impl CheckerHealth {
    /// A checker before its first probe: down with `alpha`, else up.
    pub fn new(alpha: bool, retry: u32) -> Self {
        CheckerHealth {
            up: !alpha,
            retry,
            retries_used: 0,
            weight: None,
        }
    }

    pub fn is_up(&self) -> bool {
        self.up
    }

    pub fn weight(&self) -> Option<u32> {
        self.weight
    }

    /// Failed probes being retried right now (0 when the last probe passed).
    pub fn retries_used(&self) -> u32 {
        self.retries_used
    }

    pub fn on_outcome(&mut self, outcome: &ProbeOutcome) -> CheckerStep {
        match outcome {
            ProbeOutcome::Up | ProbeOutcome::UpWithWeight(_) => {
                if let ProbeOutcome::UpWithWeight(w) = outcome {
                    self.weight = Some(*w);
                }
                self.retries_used = 0;
                let changed = (!self.up).then_some(true);
                self.up = true;
                CheckerStep {
                    changed,
                    next: NextProbe::DelayLoop,
                    retrying: false,
                }
            }
            ProbeOutcome::Down(_) if self.up && self.retries_used < self.retry => {
                self.retries_used += 1;
                CheckerStep {
                    changed: None,
                    next: NextProbe::Retry,
                    retrying: true,
                }
            }
            ProbeOutcome::Down(_) => {
                self.retries_used = 0;
                let changed = self.up.then_some(false);
                self.up = false;
                CheckerStep {
                    changed,
                    next: NextProbe::DelayLoop,
                    retrying: false,
                }
            }
        }
    }
}

/// What the checkers say about one real server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub alive: bool,
    /// A weight asked for by a checker; `None`: the configured weight.
    pub weight: Option<u32>,
}

/// The checkers of one real server, combined.
#[derive(Clone, Debug)]
pub struct RealServerHealth {
    checkers: Vec<CheckerHealth>,
    /// The checker that most recently asked for a weight wins.
    weight: Option<u32>,
}

/// What one outcome did to a real server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RealServerStep {
    pub checker: CheckerStep,
    /// `Some(new verdict)` when alive or weight changed.
    pub verdict_changed: Option<Verdict>,
}

impl RealServerHealth {
    /// `checkers`: (alpha, retry) of each checker, in configuration order.
    pub fn new(checkers: impl IntoIterator<Item = (bool, u32)>) -> Self {
        RealServerHealth {
            checkers: checkers
                .into_iter()
                .map(|(alpha, retry)| CheckerHealth::new(alpha, retry))
                .collect(),
            weight: None,
        }
    }

    pub fn verdict(&self) -> Verdict {
        Verdict {
            alive: self.checkers.iter().all(CheckerHealth::is_up),
            weight: self.weight,
        }
    }

    pub fn checker(&self, index: usize) -> Option<&CheckerHealth> {
        self.checkers.get(index)
    }

    /// Apply the outcome of checker `index`. An unknown index changes nothing.
    pub fn on_outcome(&mut self, index: usize, outcome: &ProbeOutcome) -> RealServerStep {
        let before = self.verdict();
        let Some(checker) = self.checkers.get_mut(index) else {
            return RealServerStep {
                checker: CheckerStep {
                    changed: None,
                    next: NextProbe::DelayLoop,
                    retrying: false,
                },
                verdict_changed: None,
            };
        };
        let step = checker.on_outcome(outcome);
        if let ProbeOutcome::UpWithWeight(w) = outcome {
            self.weight = Some(*w);
        }
        let after = self.verdict();
        RealServerStep {
            checker: step,
            verdict_changed: (after != before).then_some(after),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn down() -> ProbeOutcome {
        ProbeOutcome::Down("refused".into())
    }

    #[test]
    fn up_checker_falls_after_retry_plus_one_failures() {
        let mut c = CheckerHealth::new(false, 2);
        let s = c.on_outcome(&down());
        assert_eq!(
            (s.changed, s.next, c.is_up()),
            (None, NextProbe::Retry, true)
        );
        let s = c.on_outcome(&down());
        assert_eq!(
            (s.changed, s.next, c.is_up()),
            (None, NextProbe::Retry, true)
        );
        let s = c.on_outcome(&down());
        assert_eq!(
            (s.changed, s.next, c.is_up()),
            (Some(false), NextProbe::DelayLoop, false)
        );
        // Down: failures are not retried.
        let s = c.on_outcome(&down());
        assert_eq!((s.changed, s.next), (None, NextProbe::DelayLoop));
    }

    #[test]
    fn a_success_resets_the_retry_count() {
        let mut c = CheckerHealth::new(false, 1);
        assert_eq!(c.on_outcome(&down()).next, NextProbe::Retry);
        assert_eq!(c.retries_used(), 1);
        assert_eq!(c.on_outcome(&ProbeOutcome::Up).changed, None);
        assert_eq!(c.retries_used(), 0);
        assert_eq!(c.on_outcome(&down()).next, NextProbe::Retry);
        assert_eq!(c.on_outcome(&down()).changed, Some(false));
    }

    #[test]
    fn retry_zero_falls_at_once_and_one_success_rises() {
        let mut c = CheckerHealth::new(false, 0);
        assert_eq!(c.on_outcome(&down()).changed, Some(false));
        let s = c.on_outcome(&ProbeOutcome::Up);
        assert_eq!((s.changed, s.next), (Some(true), NextProbe::DelayLoop));
    }

    #[test]
    fn alpha_starts_down_and_is_not_retried() {
        let mut c = CheckerHealth::new(true, 3);
        assert!(!c.is_up());
        let s = c.on_outcome(&down());
        assert_eq!((s.changed, s.next), (None, NextProbe::DelayLoop));
        assert_eq!(c.on_outcome(&ProbeOutcome::Up).changed, Some(true));
    }

    #[test]
    fn real_server_is_alive_when_every_checker_is_up() {
        let mut rs = RealServerHealth::new([(false, 0), (true, 0)]);
        assert_eq!(
            rs.verdict(),
            Verdict {
                alive: false,
                weight: None
            }
        );
        let s = rs.on_outcome(1, &ProbeOutcome::Up);
        assert_eq!(
            s.verdict_changed,
            Some(Verdict {
                alive: true,
                weight: None
            })
        );
        let s = rs.on_outcome(0, &down());
        assert_eq!(s.checker.changed, Some(false));
        assert_eq!(s.verdict_changed.map(|v| v.alive), Some(false));
        // A second checker failing while the server is already dead: no change.
        let s = rs.on_outcome(1, &down());
        assert_eq!(s.checker.changed, Some(false));
        assert_eq!(s.verdict_changed, None);
    }

    #[test]
    fn weight_changes_are_verdict_changes() {
        let mut rs = RealServerHealth::new([(false, 0)]);
        let s = rs.on_outcome(0, &ProbeOutcome::UpWithWeight(5));
        assert_eq!(
            s.verdict_changed,
            Some(Verdict {
                alive: true,
                weight: Some(5)
            })
        );
        assert_eq!(
            rs.on_outcome(0, &ProbeOutcome::UpWithWeight(5))
                .verdict_changed,
            None
        );
        // Plain Up keeps the weight asked for.
        assert_eq!(rs.on_outcome(0, &ProbeOutcome::Up).verdict_changed, None);
        assert_eq!(rs.verdict().weight, Some(5));
    }

    #[test]
    fn unknown_checker_index_changes_nothing() {
        let mut rs = RealServerHealth::new([(false, 0)]);
        assert_eq!(rs.on_outcome(7, &down()).verdict_changed, None);
        assert!(rs.verdict().alive);
    }
}
