//! Running scripts the way keepalived does, without ever blocking the caller:
//! notify scripts, vrrp_script checks and MISC_CHECK all come through here.
//!
//! - The command line is split as keepalived splits it (quotes, escapes; see
//!   [`crate::config::ast::split_command`]) and executed directly, not through
//!   a shell, unless the command itself is a shell.
//! - Each script runs in its own process group; on timeout the whole group is
//!   killed with SIGKILL, so children of a hung script die with it, and the
//!   child is always reaped (no zombies).
//! - It runs as the configured user and group, with a minimal environment.
//! - A semaphore bounds how many scripts run at once, so a storm of checks
//!   cannot fork-bomb the host.
//! - With `enable_script_security` ([`set_script_security`]), a script that
//!   would run as root is checked again each time it is started, with the
//!   rules the configuration load applies
//!   ([`crate::config::build::scripts::examine_script`]): if its file or a
//!   directory above it can be changed by a non-root user (not owned by
//!   root, or group/world-writable without the sticky bit), it is refused
//!   with a log line naming the path and the reason. The load already drops
//!   such scripts; this catches permissions changed while the daemon runs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// How a script run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Exited with this status.
    Exited(i32),
    /// Killed by a signal it did not expect (not our timeout).
    Signalled(i32),
    /// Still running at the timeout: its process group was killed.
    TimedOut,
    /// Could not be started (missing file, bad user, empty command ...).
    SpawnFailed(String),
}

impl Outcome {
    pub fn success(&self) -> bool {
        matches!(self, Outcome::Exited(0))
    }
}

/// The result of one run, with its duration.
#[derive(Clone, Debug)]
pub struct Run {
    pub outcome: Outcome,
    pub duration: Duration,
}

/// Who a script runs as.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunAs {
    pub uid: u32,
    pub gid: u32,
}

/// Runs scripts with a bound on concurrency.
#[derive(Clone)]
pub struct ScriptRunner {
    slots: Arc<Semaphore>,
}

impl ScriptRunner {
    pub fn new(max_concurrent: usize) -> Self {
        ScriptRunner {
            slots: Arc::new(Semaphore::new(max_concurrent.max(1))),
        }
    }

    /// Run `command` with extra arguments `args`, killing it after `timeout`.
    pub async fn run(
        &self,
        command: &str,
        args: &[String],
        run_as: Option<RunAs>,
        timeout: Duration,
    ) -> Run {
        let start = Instant::now();
        let _permit = match self.slots.acquire().await {
            Ok(p) => p,
            Err(_) => {
                return Run {
                    outcome: Outcome::SpawnFailed("script runner closed".into()),
                    duration: start.elapsed(),
                }
            }
        };
        let outcome = run_one(command, args, run_as, timeout, script_security()).await;
        record(command, &outcome);
        Run {
            outcome,
            duration: start.elapsed(),
        }
    }
}

/// The PATH scripts run with (and are searched in).
const SCRIPT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// `global_defs { enable_script_security }` of the running configuration.
static SCRIPT_SECURITY: AtomicBool = AtomicBool::new(false);

/// Set from the configuration at each load/reload: whether scripts that run
/// as root are refused when a non-root user could modify them.
pub fn set_script_security(on: bool) {
    SCRIPT_SECURITY.store(on, Ordering::Relaxed);
}

pub fn script_security() -> bool {
    SCRIPT_SECURITY.load(Ordering::Relaxed)
}

/// Whether the script `first` (a command's first word), run as `run_as`
/// (None: as this process), may run under `enable_script_security`:
/// Err(reason) naming the path and the reason when it would run as root and
/// its file or a directory above it is writable by non-root. A script that
/// cannot be found is left to fail at exec, and `</FILE` tests are not
/// scripts.
pub fn check_secure(first: &str, run_as: Option<RunAs>) -> Result<(), String> {
    if first.starts_with("</") {
        return Ok(());
    }
    let (uid, gid) = match run_as {
        Some(r) => (r.uid, r.gid),
        None => (
            nix::unistd::geteuid().as_raw(),
            nix::unistd::getegid().as_raw(),
        ),
    };
    let found = crate::config::build::scripts::examine_script(first, uid, gid, true, SCRIPT_PATH);
    if found.inhibit || found.insecure {
        let why = found
            .notes
            .last()
            .cloned()
            .unwrap_or_else(|| format!("script {first} is insecure"));
        return Err(format!(
            "enable_script_security: refusing to run {first} as uid {uid}: {why}"
        ));
    }
    Ok(())
}

async fn run_one(
    command: &str,
    args: &[String],
    run_as: Option<RunAs>,
    timeout: Duration,
    secure: bool,
) -> Outcome {
    let words = match crate::config::ast::split_command(command) {
        Ok(w) if !w.is_empty() => w,
        Ok(_) => return Outcome::SpawnFailed("empty command".into()),
        Err(e) => return Outcome::SpawnFailed(e),
    };
    if secure {
        if let Err(why) = check_secure(&words[0], run_as) {
            tracing::warn!("{why}");
            return Outcome::SpawnFailed(why);
        }
    }
    let mut cmd = tokio::process::Command::new(&words[0]);
    cmd.args(&words[1..])
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .env_clear()
        .env("PATH", SCRIPT_PATH)
        .process_group(0)
        .kill_on_drop(true);
    if let Some(r) = run_as {
        cmd.uid(r.uid).gid(r.gid);
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return Outcome::SpawnFailed(format!("{}: {e}", words[0])),
    };
    let pgid = child.id();
    // If this future is dropped while the script runs (its tracker stopped,
    // the daemon is exiting), the whole group dies with it, not only the
    // direct child that kill_on_drop covers.
    let mut group_guard = KillGroupOnDrop(pgid);
    let waited = tokio::time::timeout(timeout, child.wait()).await;
    group_guard.0 = None;
    match waited {
        Ok(Ok(status)) => {
            use std::os::unix::process::ExitStatusExt;
            // Reap anything the script left behind in its group.
            if let Some(pid) = pgid {
                kill_group(pid);
            }
            match (status.code(), status.signal()) {
                (Some(c), _) => Outcome::Exited(c),
                (None, Some(s)) => Outcome::Signalled(s),
                (None, None) => Outcome::SpawnFailed("unknown exit status".into()),
            }
        }
        Ok(Err(e)) => Outcome::SpawnFailed(e.to_string()),
        Err(_) => {
            if let Some(pid) = pgid {
                kill_group(pid);
            }
            // Reap the direct child (its group is dead).
            let _ = child.wait().await;
            Outcome::TimedOut
        }
    }
}

/// How often one script command ended each way, since the daemon started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScriptCounts {
    pub ok: u64,
    pub failed: u64,
    pub timed_out: u64,
    pub signalled: u64,
    pub spawn_failed: u64,
}

/// Every script run of the process, by command line: keepalived says nothing
/// about scripts that hang, so the metrics endpoint shows which ones do.
/// The key space is bounded by the configuration (commands come from it).
static SCRIPT_COUNTS: std::sync::Mutex<std::collections::BTreeMap<String, ScriptCounts>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

/// Longest command line kept as a metrics label.
const LABEL_MAX: usize = 200;

fn record(command: &str, outcome: &Outcome) {
    let mut key: String = command.trim().chars().take(LABEL_MAX).collect();
    if key.is_empty() {
        key.push_str("(empty)");
    }
    let mut map = SCRIPT_COUNTS.lock().unwrap_or_else(|p| p.into_inner());
    let c = map.entry(key).or_default();
    match outcome {
        Outcome::Exited(0) => c.ok += 1,
        Outcome::Exited(_) => c.failed += 1,
        Outcome::TimedOut => c.timed_out += 1,
        Outcome::Signalled(_) => c.signalled += 1,
        Outcome::SpawnFailed(_) => c.spawn_failed += 1,
    }
}

/// A copy of the per-command counts, sorted by command.
pub fn counts() -> Vec<(String, ScriptCounts)> {
    SCRIPT_COUNTS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .map(|(k, v)| (k.clone(), *v))
        .collect()
}

/// Kills the process group it holds when dropped (unless disarmed).
struct KillGroupOnDrop(Option<u32>);

impl Drop for KillGroupOnDrop {
    fn drop(&mut self) {
        if let Some(pgid) = self.0.take() {
            kill_group(pgid);
        }
    }
}

/// SIGKILL a whole process group; a group that is already gone is fine.
fn kill_group(pgid: u32) {
    if let Ok(pid) = i32::try_from(pgid) {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn exit_codes_and_args() {
        let r = ScriptRunner::new(4);
        rt().block_on(async {
            let ok = r.run("/bin/true", &[], None, Duration::from_secs(5)).await;
            assert_eq!(ok.outcome, Outcome::Exited(0));
            let bad = r
                .run("/bin/sh -c 'exit 3'", &[], None, Duration::from_secs(5))
                .await;
            assert_eq!(bad.outcome, Outcome::Exited(3));
            let args = r
                .run(
                    "/bin/sh -c 'test \"$1\" = MASTER' x",
                    &["MASTER".into()],
                    None,
                    Duration::from_secs(5),
                )
                .await;
            assert_eq!(args.outcome, Outcome::Exited(0));
            let missing = r
                .run("/nonexistent/x", &[], None, Duration::from_secs(5))
                .await;
            assert!(matches!(missing.outcome, Outcome::SpawnFailed(_)));
        });
    }

    #[test]
    fn timeout_kills_the_whole_group() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("child-alive");
        let r = ScriptRunner::new(4);
        let cmd = format!(
            "/bin/sh -c '(sleep 0.6; touch {}) & sleep 30'",
            marker.display()
        );
        rt().block_on(async {
            let run = r.run(&cmd, &[], None, Duration::from_millis(200)).await;
            assert_eq!(run.outcome, Outcome::TimedOut);
            assert!(run.duration >= Duration::from_millis(200));
            assert!(
                run.duration < Duration::from_millis(450),
                "{:?}",
                run.duration
            );
        });
        std::thread::sleep(Duration::from_millis(800));
        assert!(!marker.exists(), "the script's child survived the timeout");
        let mine = counts()
            .into_iter()
            .find(|(k, _)| *k == cmd)
            .map(|(_, c)| c)
            .unwrap();
        assert_eq!(mine.timed_out, 1, "{mine:?}");
        assert_eq!(mine.ok + mine.failed, 0, "{mine:?}");
    }

    #[test]
    fn runs_are_counted_by_command_and_result() {
        let r = ScriptRunner::new(4);
        let cmd = "/bin/sh -c 'exit \"$1\"' counted-by-result";
        rt().block_on(async {
            for code in ["0", "0", "2"] {
                r.run(cmd, &[code.into()], None, Duration::from_secs(5))
                    .await;
            }
            r.run("/nonexistent/counted", &[], None, Duration::from_secs(5))
                .await;
        });
        let all = counts();
        let get = |k: &str| all.iter().find(|(c, _)| c == k).map(|(_, c)| *c);
        let c = get(cmd).unwrap();
        assert_eq!((c.ok, c.failed, c.timed_out), (2, 1, 0));
        assert_eq!(get("/nonexistent/counted").unwrap().spawn_failed, 1);
    }

    #[test]
    fn a_cancelled_run_kills_the_whole_group() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("child-alive");
        let r = ScriptRunner::new(4);
        let cmd = format!(
            "/bin/sh -c '(sleep 0.6; touch {}) & sleep 30'",
            marker.display()
        );
        rt().block_on(async {
            let run = tokio::time::timeout(
                Duration::from_millis(200),
                r.run(&cmd, &[], None, Duration::from_secs(30)),
            )
            .await;
            assert!(run.is_err(), "the run was not cancelled");
        });
        std::thread::sleep(Duration::from_millis(800));
        assert!(
            !marker.exists(),
            "the script's child survived its cancelled run"
        );
    }

    #[test]
    fn script_security_refuses_scripts_non_root_can_modify() {
        use std::os::unix::fs::PermissionsExt;
        let chmod = |p: &std::path::Path, mode: u32| {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap()
        };
        let root = nix::unistd::geteuid().is_root();
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("scripts");
        std::fs::create_dir(&sub).unwrap();
        chmod(&sub, 0o755);
        let script = sub.join("check.sh");
        std::fs::write(&script, "#!/bin/sh\nexit 0\n").unwrap();
        chmod(&script, 0o755);
        let path = script.to_str().unwrap().to_owned();
        let as_root = Some(RunAs { uid: 0, gid: 0 });
        if root {
            // Owned by root, nothing writable by others: runs.
            check_secure(&path, as_root).unwrap();
            let o = rt().block_on(run_one(&path, &[], as_root, Duration::from_secs(5), true));
            assert_eq!(o, Outcome::Exited(0));
        }
        // A parent directory anyone can write to.
        chmod(&sub, 0o777);
        let e = check_secure(&path, as_root).unwrap_err();
        assert!(e.contains(&path), "{e}");
        if root {
            assert!(e.contains("writable by everyone (mode 0777)"), "{e}");
            assert!(e.contains(sub.to_str().unwrap()), "{e}");
        }
        let o = rt().block_on(run_one(&path, &[], as_root, Duration::from_secs(5), true));
        assert!(
            matches!(&o, Outcome::SpawnFailed(w) if w.contains("enable_script_security")),
            "{o:?}"
        );
        // Without script security it runs anyway (keepalived: counted as insecure).
        if root {
            let o = rt().block_on(run_one(&path, &[], as_root, Duration::from_secs(5), false));
            assert_eq!(o, Outcome::Exited(0));
        }
        // A sticky directory (like /tmp) is fine; a group-writable file is not.
        chmod(&sub, 0o1777);
        if root {
            check_secure(&path, as_root).unwrap();
            nix::unistd::chown(&script, None, Some(nix::unistd::Gid::from_raw(100))).unwrap();
            chmod(&script, 0o775);
            let e = check_secure(&path, as_root).unwrap_err();
            assert!(e.contains("writable by group 100"), "{e}");
            // Owned by a non-root user.
            chmod(&script, 0o755);
            nix::unistd::chown(&script, Some(nix::unistd::Uid::from_raw(65534)), None).unwrap();
            let e = check_secure(&path, as_root).unwrap_err();
            assert!(e.contains("owned by uid 65534"), "{e}");
        }
        // Run as an unprivileged user: not checked (keepalived checks root scripts only).
        chmod(&sub, 0o777);
        check_secure(
            &path,
            Some(RunAs {
                uid: 65534,
                gid: 65534,
            }),
        )
        .unwrap();
        // `</file` tests and missing scripts are left alone here.
        check_secure("</dev/null", as_root).unwrap();
        check_secure("/nonexistent/script", as_root).unwrap();
    }
}
