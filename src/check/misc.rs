//! MISC_CHECK: a script whose exit status is the real server's health.
//!
//! keepalived's reading of the exit status (check_misc.c, keepalived.conf(5)):
//! - 0: up (with `misc_dynamic`, the configured weight again);
//! - with `misc_dynamic`, 2..=255: up, and the real server's weight becomes
//!   status − 2;
//! - anything else, a signal, or still running at `misc_timeout`: down.
//!
//! The script runs through [`ScriptRunner`]: split like keepalived splits
//! commands, in its own process group that is killed whole at the timeout,
//! as the configured user.

use super::probe::{Probe, ProbeFuture, ProbeOutcome};
use crate::config::build::scripts::script_user_exists;
use crate::config::model::lvs::{MiscCheck, RealServer, VirtualServer};
use crate::script::{Outcome, RunAs, ScriptRunner};
use std::time::Duration;

/// One MISC_CHECK of one real server.
pub struct MiscProbe {
    command: String,
    timeout: Duration,
    dynamic: bool,
    run_as: Option<RunAs>,
    runner: ScriptRunner,
    description: String,
}

impl MiscProbe {
    /// Build the probe of `check` on `rs` of `vs`.
    ///
    /// - The timeout is `misc_timeout`, else the virtual server's delay_loop
    ///   ([`MiscCheck::effective_timeout`]).
    /// - The script runs as the check's `user`; without one, as
    ///   `default_user` (the global `script_user` resolution the caller does
    ///   for every script; `None`: as ourselves).
    /// - `runner` bounds how many scripts run at once, daemon-wide.
    ///
    /// Fails when the command is empty or its `user` does not exist
    /// (keepalived drops such a checker).
    pub fn new(
        check: &MiscCheck,
        vs: &VirtualServer,
        rs: &RealServer,
        default_user: Option<RunAs>,
        runner: ScriptRunner,
    ) -> Result<MiscProbe, String> {
        match crate::config::ast::split_command(&check.misc_path) {
            Ok(words) if !words.is_empty() => {}
            Ok(_) => return Err("MISC_CHECK without misc_path".into()),
            Err(e) => return Err(format!("MISC_CHECK misc_path: {e}")),
        }
        let run_as = match &check.user {
            Some(user) => {
                let (uid, gid) = script_user_exists(user)?;
                Some(RunAs { uid, gid })
            }
            None => default_user,
        };
        Ok(MiscProbe {
            command: check.misc_path.clone(),
            timeout: check.effective_timeout(vs).as_duration(),
            dynamic: check.misc_dynamic,
            run_as,
            runner,
            description: format!(
                "MISC_CHECK [{}]:{} {}",
                rs.address,
                rs.port.unwrap_or(0),
                check.misc_path
            ),
        })
    }

    /// The script's timeout: the longest one check can take once the
    /// script runs (waiting for a free slot in the runner comes before).
    pub fn max_duration(&self) -> Duration {
        self.timeout
    }
}

/// What a script's end means for the real server (keepalived's rules above).
pub fn outcome_of(run: &Outcome, dynamic: bool, timeout: Duration) -> ProbeOutcome {
    match run {
        Outcome::Exited(0) => ProbeOutcome::Up,
        Outcome::Exited(code @ 2..=255) if dynamic => {
            // 2..=255 checked above, so the subtraction cannot wrap.
            ProbeOutcome::UpWithWeight(code.unsigned_abs() - 2)
        }
        Outcome::Exited(code) => ProbeOutcome::Down(format!("exited with status {code}")),
        Outcome::Signalled(sig) => ProbeOutcome::Down(format!("killed by signal {sig}")),
        Outcome::TimedOut => {
            ProbeOutcome::Down(format!("timed out after {:.3}s", timeout.as_secs_f64()))
        }
        Outcome::SpawnFailed(why) => ProbeOutcome::Down(format!("could not run: {why}")),
    }
}

impl Probe for MiscProbe {
    fn probe(&self) -> ProbeFuture<'_> {
        Box::pin(async move {
            let run = self
                .runner
                .run(&self.command, &[], self.run_as, self.timeout)
                .await;
            outcome_of(&run.outcome, self.dynamic, self.timeout)
        })
    }

    fn describe(&self) -> String {
        self.description.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Duration = Duration::from_secs(1);

    #[test]
    fn exit_status_without_misc_dynamic() {
        assert_eq!(outcome_of(&Outcome::Exited(0), false, T), ProbeOutcome::Up);
        for code in [1, 2, 3, 255] {
            assert!(
                !outcome_of(&Outcome::Exited(code), false, T).is_up(),
                "{code}"
            );
        }
    }

    #[test]
    fn exit_status_with_misc_dynamic() {
        assert_eq!(outcome_of(&Outcome::Exited(0), true, T), ProbeOutcome::Up);
        assert!(!outcome_of(&Outcome::Exited(1), true, T).is_up());
        assert_eq!(
            outcome_of(&Outcome::Exited(2), true, T),
            ProbeOutcome::UpWithWeight(0)
        );
        assert_eq!(
            outcome_of(&Outcome::Exited(12), true, T),
            ProbeOutcome::UpWithWeight(10)
        );
        assert_eq!(
            outcome_of(&Outcome::Exited(255), true, T),
            ProbeOutcome::UpWithWeight(253)
        );
        // Not an exit status a process can have, but never a panic or a weight.
        assert!(!outcome_of(&Outcome::Exited(256), true, T).is_up());
        assert!(!outcome_of(&Outcome::Exited(-1), true, T).is_up());
    }

    #[test]
    fn signals_timeouts_and_spawn_failures_are_down() {
        assert!(!outcome_of(&Outcome::Signalled(9), true, T).is_up());
        assert_eq!(
            outcome_of(&Outcome::TimedOut, false, Duration::from_millis(1500)),
            ProbeOutcome::Down("timed out after 1.500s".into())
        );
        assert!(!outcome_of(&Outcome::SpawnFailed("x".into()), false, T).is_up());
    }

    #[test]
    fn refuses_an_empty_command_and_an_unknown_user() {
        let vs = VirtualServer::default();
        let rs = RealServer::new("10.0.0.2".parse().unwrap(), Some(80));
        let runner = ScriptRunner::new(1);
        let empty = MiscCheck::default();
        assert!(MiscProbe::new(&empty, &vs, &rs, None, runner.clone()).is_err());
        let unknown_user = MiscCheck {
            misc_path: "/bin/true".into(),
            user: Some(crate::config::model::ScriptUser {
                user: "no-such-user-probes".into(),
                group: None,
            }),
            ..Default::default()
        };
        assert!(MiscProbe::new(&unknown_user, &vs, &rs, None, runner.clone()).is_err());
        let ok = MiscCheck {
            misc_path: "/bin/true".into(),
            misc_timeout: Some(7),
            ..Default::default()
        };
        let probe = MiscProbe::new(&ok, &vs, &rs, None, runner).unwrap();
        assert_eq!(probe.max_duration(), Duration::from_secs(7));
        assert_eq!(probe.describe(), "MISC_CHECK [10.0.0.2]:80 /bin/true");
    }
}
