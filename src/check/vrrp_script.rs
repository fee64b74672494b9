//! `vrrp_script`: a command run every `interval`; its exit status, counted
//! with `rise`/`fall` hysteresis, makes the script OK or failed.
//!
//! The counting ([`ScriptState`]) is pure.  [`run`] is the I/O edge: it runs
//! the command through [`ScriptRunner`] (own process group, killed with its
//! children at `timeout`, as the configured user) on the main runtime, never
//! on the VRRP thread, and reports each change of status on a channel.
//!
//! keepalived 2.2.7 behaviour, checked in a namespace:
//! - before its first result a script is *pending*: it changes no priority
//!   and, unless `init_fail` is set, faults nothing (`init_fail` only makes a
//!   weight-0 tracker start in FAULT);
//! - the first result decides at once, whatever `rise`/`fall` say;
//! - after that `fall` consecutive failures are needed to fail and `rise`
//!   consecutive successes to recover;
//! - a run still going at `timeout` is killed and counts as a failure; a run
//!   never overlaps the previous one (a tick that falls inside a run is
//!   skipped).

use crate::script::{RunAs, ScriptRunner};
use std::time::Duration;
use tokio::sync::mpsc;

/// A script's status as its trackers see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScriptStatus {
    /// No result yet; `assume_failed` is `init_fail`.
    Pending {
        assume_failed: bool,
    },
    Ok,
    Failed,
}

/// rise/fall counting for one script.
#[derive(Clone, Debug)]
pub struct ScriptState {
    rise: u32,
    fall: u32,
    status: ScriptStatus,
    /// Consecutive results against the current status.
    against: u32,
}

impl ScriptState {
    pub fn new(rise: u32, fall: u32, init_fail: bool) -> Self {
        ScriptState {
            rise: rise.max(1),
            fall: fall.max(1),
            status: ScriptStatus::Pending {
                assume_failed: init_fail,
            },
            against: 0,
        }
    }

    pub fn status(&self) -> ScriptStatus {
        self.status
    }

    /// Record one run's result; returns the new status when it changed.
    pub fn record(&mut self, success: bool) -> Option<ScriptStatus> {
        let next = match (self.status, success) {
            (ScriptStatus::Pending { .. }, true) => ScriptStatus::Ok,
            (ScriptStatus::Pending { .. }, false) => ScriptStatus::Failed,
            (ScriptStatus::Ok, true) | (ScriptStatus::Failed, false) => {
                self.against = 0;
                return None;
            }
            (ScriptStatus::Ok, false) => {
                self.against += 1;
                if self.against < self.fall {
                    return None;
                }
                ScriptStatus::Failed
            }
            (ScriptStatus::Failed, true) => {
                self.against += 1;
                if self.against < self.rise {
                    return None;
                }
                ScriptStatus::Ok
            }
        };
        self.against = 0;
        self.status = next;
        Some(next)
    }
}

/// What [`run`] needs to know about one script.
#[derive(Clone, Debug)]
pub struct ScriptSpec {
    pub name: String,
    pub command: String,
    pub interval: Duration,
    pub timeout: Duration,
    pub rise: u32,
    pub fall: u32,
    pub init_fail: bool,
    pub run_as: Option<RunAs>,
}

/// Run `spec` forever, sending `(id, status)` whenever its status changes.
/// Ends when the receiver is gone.
pub async fn run(
    id: usize,
    spec: ScriptSpec,
    runner: ScriptRunner,
    tx: mpsc::Sender<(usize, ScriptStatus)>,
) {
    let mut state = ScriptState::new(spec.rise, spec.fall, spec.init_fail);
    let mut ticks = tokio::time::interval(spec.interval.max(Duration::from_millis(10)));
    // A run longer than the interval (timeout > interval) skips the ticks it
    // covered instead of starting runs back to back.
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last_outcome = None;
    loop {
        ticks.tick().await;
        let run = runner
            .run(&spec.command, &[], spec.run_as, spec.timeout)
            .await;
        if last_outcome.as_ref() != Some(&run.outcome) {
            tracing::info!(script = %spec.name, outcome = ?run.outcome,
                duration_ms = run.duration.as_millis(), "vrrp_script result changed");
            last_outcome = Some(run.outcome.clone());
        }
        if let Some(status) = state.record(run.outcome.success()) {
            match status {
                ScriptStatus::Ok => tracing::info!(script = %spec.name, "VRRP_Script succeeded"),
                _ => {
                    tracing::warn!(script = %spec.name, outcome = ?run.outcome, "VRRP_Script failed")
                }
            }
            if tx.send((id, status)).await.is_err() {
                return;
            }
        }
        if tx.is_closed() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(s: &mut ScriptState, results: &str) -> Vec<Option<ScriptStatus>> {
        results.chars().map(|c| s.record(c == '+')).collect()
    }

    #[test]
    fn first_result_decides_at_once() {
        let mut s = ScriptState::new(3, 3, false);
        assert_eq!(
            s.status(),
            ScriptStatus::Pending {
                assume_failed: false
            }
        );
        assert_eq!(s.record(false), Some(ScriptStatus::Failed));
        let mut s = ScriptState::new(3, 3, true);
        assert_eq!(s.record(true), Some(ScriptStatus::Ok));
    }

    #[test]
    fn fall_and_rise_are_counted_exactly() {
        use ScriptStatus::*;
        let mut s = ScriptState::new(2, 3, false);
        assert_eq!(s.record(true), Some(Ok));
        // Two failures are not enough; the third fails it.
        assert_eq!(feed(&mut s, "--"), vec![None, None]);
        assert_eq!(s.record(false), Some(Failed));
        // One success is not enough; the second recovers it.
        assert_eq!(s.record(true), None);
        assert_eq!(s.record(true), Some(Ok));
    }

    #[test]
    fn a_flapping_script_never_changes_status() {
        let mut s = ScriptState::new(2, 2, false);
        assert_eq!(s.record(true), Some(ScriptStatus::Ok));
        // Alternating results never reach two in a row.
        assert!(feed(&mut s, "-+-+-+-+-+").iter().all(Option::is_none));
        assert_eq!(s.status(), ScriptStatus::Ok);
        assert_eq!(s.record(false), None);
        assert_eq!(s.record(false), Some(ScriptStatus::Failed));
        assert!(feed(&mut s, "+-+-+-+-").iter().all(Option::is_none));
        assert_eq!(s.status(), ScriptStatus::Failed);
    }

    #[test]
    fn zero_rise_or_fall_means_one() {
        let mut s = ScriptState::new(0, 0, false);
        assert_eq!(feed(&mut s, "+-+"), {
            use ScriptStatus::*;
            vec![Some(Ok), Some(Failed), Some(Ok)]
        });
    }

    #[test]
    fn hung_script_counts_as_failure_and_runs_never_overlap() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("starts");
        // Each run appends a line, then hangs well past the timeout.
        let spec = ScriptSpec {
            name: "hang".into(),
            command: format!("/bin/sh -c 'echo x >> {}; sleep 30'", log.display()),
            interval: Duration::from_millis(100),
            timeout: Duration::from_millis(250),
            rise: 1,
            fall: 1,
            init_fail: false,
            run_as: None,
        };
        rt.block_on(async {
            let (tx, mut rx) = mpsc::channel(8);
            let task = tokio::spawn(run(7, spec, ScriptRunner::new(4), tx));
            let first = tokio::time::timeout(Duration::from_secs(3), rx.recv()).await;
            assert_eq!(first.unwrap(), Some((7, ScriptStatus::Failed)));
            tokio::time::sleep(Duration::from_millis(600)).await;
            task.abort();
        });
        // About 0.85 s of runs of 0.25 s each: at most four starts, never two
        // at once (that would double the count).
        let starts = std::fs::read_to_string(&log).unwrap().lines().count();
        assert!((2..=4).contains(&starts), "{starts} runs started");
    }
}
