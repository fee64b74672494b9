//! `vrrp_track_process`: how many processes match a name (and parameters);
//! the tracker is up while that count is within `quorum..=quorum_max`.
//!
//! Matching ([`ProcessMatcher`]) and the quorum with its delays
//! ([`QuorumState`]) are pure.  The I/O edge, [`scan_loop`], counts matching
//! processes by reading `/proc/PID/stat` (name and state; zombies do not
//! count) and, only when some tracker needs it, `/proc/PID/cmdline`.
//!
//! Why a periodic /proc scan and not the kernel's process-event connector
//! (what keepalived uses): the connector needs CAP_NET_ADMIN, a netlink
//! socket bound to the proc multicast group and a rescan on message loss
//! anyway; a scan every [`SCAN_INTERVAL`] is simple, cannot miss an event,
//! and costs a few hundred microseconds on a host with a few hundred
//! processes.  The price is detection latency (up to one interval), on top
//! of `fork_delay`/`terminate_delay`.  The scan runs on the main runtime's
//! blocking pool, never on the VRRP thread.

use crate::config::model::{ParamMatch, TrackProcess};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;
use tokio::sync::mpsc;

/// How often /proc is scanned.
pub const SCAN_INTERVAL: Duration = Duration::from_millis(500);

/// The kernel keeps at most this many bytes of a process name (comm).
const COMM_MAX: usize = 15;

/// Which processes a `vrrp_track_process` counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessMatcher {
    process: String,
    params: Vec<String>,
    param_match: ParamMatch,
    uses_cmdline: bool,
}

impl ProcessMatcher {
    pub fn new(tp: &TrackProcess) -> Self {
        ProcessMatcher {
            process: tp.process.clone(),
            params: tp.process_params.clone(),
            param_match: tp.param_match,
            // keepalived matches the name (/proc/PID/comm) unless parameters
            // or param_match are given, or full_command asks for the command line.
            uses_cmdline: tp.full_command
                || !tp.process_params.is_empty()
                || tp.param_match != ParamMatch::None,
        }
    }

    pub fn uses_cmdline(&self) -> bool {
        self.uses_cmdline
    }

    /// Does a process with name `comm` and arguments `argv` match?
    pub fn matches(&self, comm: &str, argv: &[String]) -> bool {
        if !self.uses_cmdline {
            // An exact match, not pgrep's regular expression; the kernel
            // truncates names, so compare what it can hold.
            let want = truncate_at_char(&self.process, COMM_MAX);
            return comm == want;
        }
        let Some((name, args)) = argv.split_first() else {
            return false;
        };
        if *name != self.process {
            return false;
        }
        let n = self.params.len();
        match self.param_match {
            // Parameters given without param_match, or `exact`: all of them,
            // and no more.
            ParamMatch::None | ParamMatch::Exact => args == self.params.as_slice(),
            // The first n parameters match exactly; more may follow.
            ParamMatch::Partial => args.len() >= n && args[..n] == self.params[..],
            // Exactly n parameters; the last may be longer than configured.
            ParamMatch::Initial => {
                args.len() == n
                    && match n {
                        0 => true,
                        _ => {
                            args[..n - 1] == self.params[..n - 1]
                                && args[n - 1].starts_with(&self.params[n - 1])
                        }
                    }
            }
        }
    }
}

fn truncate_at_char(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The quorum of one tracker, with keepalived's delays: a change of the
/// verdict takes effect only after `fork_delay` (the count went up) or
/// `terminate_delay` (it went down), and is dropped if the count comes back
/// first, so a reload (stop + start) need not move the VIP.
#[derive(Clone, Debug)]
pub struct QuorumState {
    quorum: u32,
    quorum_max: u32,
    fork_delay: Duration,
    terminate_delay: Duration,
    count: Option<u32>,
    reported: Option<bool>,
    /// A verdict waiting for its delay: (up, due at).
    pending: Option<(bool, Duration)>,
}

impl QuorumState {
    pub fn new(tp: &TrackProcess) -> Self {
        QuorumState {
            quorum: tp.quorum,
            quorum_max: tp.quorum_max.unwrap_or(u32::MAX),
            fork_delay: tp.fork_delay.map_or(Duration::ZERO, |t| t.as_duration()),
            terminate_delay: tp
                .terminate_delay
                .map_or(Duration::ZERO, |t| t.as_duration()),
            count: None,
            reported: None,
            pending: None,
        }
    }

    pub fn in_quorum(&self, count: u32) -> bool {
        count >= self.quorum && count <= self.quorum_max
    }

    /// The count seen at `now` (time since the tracker started); returns the
    /// new verdict when it changed.  The first count decides at once.
    pub fn observe(&mut self, count: u32, now: Duration) -> Option<bool> {
        let previous = self.count.replace(count);
        let up = self.in_quorum(count);
        let Some(reported) = self.reported else {
            self.reported = Some(up);
            return Some(up);
        };
        if up == reported {
            self.pending = None;
            return None;
        }
        if self.pending.map(|p| p.0) != Some(up) {
            let delay = if previous.is_some_and(|p| count > p) {
                self.fork_delay
            } else {
                self.terminate_delay
            };
            self.pending = Some((up, now + delay));
        }
        self.poll(now)
    }

    /// Apply a pending verdict whose delay is over.
    pub fn poll(&mut self, now: Duration) -> Option<bool> {
        let (up, due) = self.pending?;
        if now < due {
            return None;
        }
        self.pending = None;
        self.reported = Some(up);
        Some(up)
    }

    /// When [`Self::poll`] has something to do.
    pub fn deadline(&self) -> Option<Duration> {
        self.pending.map(|p| p.1)
    }
}

/// A running process: its name and, when asked for, its arguments.
#[derive(Clone, Debug, Default)]
pub struct ProcInfo {
    pub comm: String,
    pub argv: Vec<String>,
}

/// Name and state from `/proc/PID/stat` ("PID (NAME) S ..."; the name may
/// hold spaces and parentheses, so it ends at the *last* ')').
pub fn parse_stat(stat: &str) -> Option<(&str, char)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat.get(open + 1..close)?;
    let state = stat.get(close + 1..)?.trim_start().chars().next()?;
    Some((comm, state))
}

/// The running (not zombie, not dead) processes under `proc_root`.
pub fn scan(proc_root: &Path, with_cmdline: bool) -> Vec<ProcInfo> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir(proc_root) else {
        return out;
    };
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let base = proc_root.join(pid);
        // A process can exit between listing and reading: skip it.
        let Ok(stat) = std::fs::read_to_string(base.join("stat")) else {
            continue;
        };
        let Some((comm, state)) = parse_stat(&stat) else {
            continue;
        };
        if matches!(state, 'Z' | 'X' | 'x') {
            continue;
        }
        let argv = if with_cmdline {
            std::fs::read(base.join("cmdline"))
                .map(|b| {
                    b.split(|&c| c == 0)
                        .filter(|a| !a.is_empty())
                        .map(|a| String::from_utf8_lossy(a).into_owned())
                        .collect()
                })
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        out.push(ProcInfo {
            comm: comm.to_owned(),
            argv,
        });
    }
    out
}

/// What [`scan_loop`] needs to know about one tracker.
#[derive(Clone, Debug)]
pub struct ProcessSpec {
    pub name: String,
    pub matcher: ProcessMatcher,
    pub quorum: QuorumState,
}

/// Count matching processes every [`SCAN_INTERVAL`] for all `trackers` in
/// one pass over /proc, sending `(id, up)` at start and on every change.
/// Ends when the receiver is gone.
pub async fn scan_loop(trackers: Vec<(usize, ProcessSpec)>, tx: mpsc::Sender<(usize, bool)>) {
    if trackers.is_empty() {
        return;
    }
    let with_cmdline = trackers.iter().any(|(_, t)| t.matcher.uses_cmdline());
    let matchers: Vec<ProcessMatcher> = trackers.iter().map(|(_, t)| t.matcher.clone()).collect();
    let mut states: BTreeMap<usize, (String, QuorumState)> = trackers
        .into_iter()
        .map(|(id, t)| (id, (t.name, t.quorum)))
        .collect();
    let start = tokio::time::Instant::now();
    let mut next_scan = start;
    loop {
        let deadline = states
            .values()
            .filter_map(|(_, q)| q.deadline())
            .map(|d| start + d)
            .fold(next_scan, std::cmp::min);
        tokio::time::sleep_until(deadline).await;
        let now = tokio::time::Instant::now();
        let mut changes = Vec::new();
        if now >= next_scan {
            next_scan = now + SCAN_INTERVAL;
            let m = matchers.clone();
            let counts = tokio::task::spawn_blocking(move || {
                let procs = scan(Path::new("/proc"), with_cmdline);
                m.iter()
                    .map(|m| {
                        let n = procs.iter().filter(|p| m.matches(&p.comm, &p.argv)).count();
                        u32::try_from(n).unwrap_or(u32::MAX)
                    })
                    .collect::<Vec<u32>>()
            })
            .await
            .unwrap_or_default();
            for ((id, (name, q)), count) in states.iter_mut().zip(counts) {
                if let Some(up) = q.observe(count, now - start) {
                    changes.push((*id, name.clone(), up, count));
                }
            }
        } else {
            for (id, (name, q)) in states.iter_mut() {
                if let Some(up) = q.poll(now - start) {
                    changes.push((*id, name.clone(), up, q.count.unwrap_or(0)));
                }
            }
        }
        for (id, name, up, count) in changes {
            tracing::info!(track_process = %name, up, count, "tracked process quorum changed");
            if tx.send((id, up)).await.is_err() {
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
    use crate::config::values::Timer;

    fn tp(process: &str, params: &[&str], pm: ParamMatch, full: bool) -> TrackProcess {
        TrackProcess {
            name: "t".into(),
            process: process.into(),
            process_params: params.iter().map(|s| s.to_string()).collect(),
            param_match: pm,
            full_command: full,
            ..Default::default()
        }
    }

    fn argv(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_owned).collect()
    }

    #[test]
    fn names_match_exactly_not_as_a_pattern() {
        let m = ProcessMatcher::new(&tp("ssh", &[], ParamMatch::None, false));
        assert!(!m.uses_cmdline());
        assert!(m.matches("ssh", &[]));
        assert!(!m.matches("sshd", &[]));
        // Names longer than the kernel keeps are compared truncated.
        let m = ProcessMatcher::new(&tp("a-very-long-daemon-name", &[], ParamMatch::None, false));
        assert!(m.matches("a-very-long-dae", &[]));
    }

    #[test]
    fn parameters_match_by_mode() {
        let exact = ProcessMatcher::new(&tp(
            "/usr/sbin/nginx",
            &["-g", "daemon"],
            ParamMatch::None,
            false,
        ));
        assert!(exact.uses_cmdline());
        assert!(exact.matches("nginx", &argv("/usr/sbin/nginx -g daemon")));
        assert!(!exact.matches("nginx", &argv("/usr/sbin/nginx -g daemon off")));
        assert!(!exact.matches("nginx", &argv("/usr/sbin/nginx -g")));
        assert!(!exact.matches("nginx", &argv("nginx -g daemon")));

        let partial = ProcessMatcher::new(&tp("p", &["a", "b"], ParamMatch::Partial, false));
        assert!(partial.matches("p", &argv("p a b c d")));
        assert!(partial.matches("p", &argv("p a b")));
        assert!(!partial.matches("p", &argv("p a")));
        assert!(!partial.matches("p", &argv("p a bb")));

        let initial = ProcessMatcher::new(&tp("p", &["a", "b"], ParamMatch::Initial, false));
        assert!(initial.matches("p", &argv("p a bcd")));
        assert!(!initial.matches("p", &argv("p a b c")));
        assert!(!initial.matches("p", &argv("p ax b")));

        // param_match without parameters: the process must have none.
        let none = ProcessMatcher::new(&tp("p", &[], ParamMatch::Exact, false));
        assert!(none.matches("p", &argv("p")));
        assert!(!none.matches("p", &argv("p x")));

        let full = ProcessMatcher::new(&tp("/bin/sleep", &[], ParamMatch::None, true));
        assert!(full.matches("sleep", &argv("/bin/sleep")));
        assert!(!full.matches("sleep", &argv("sleep")));
        assert!(!full.matches("sleep", &[]));
    }

    #[test]
    fn quorum_bounds() {
        let q = QuorumState::new(&TrackProcess {
            quorum: 2,
            quorum_max: Some(3),
            ..Default::default()
        });
        assert!(!q.in_quorum(1));
        assert!(q.in_quorum(2));
        assert!(q.in_quorum(3));
        assert!(!q.in_quorum(4));
        // quorum_max 0: up only while nothing matches.
        let q = QuorumState::new(&TrackProcess {
            quorum: 0,
            quorum_max: Some(0),
            ..Default::default()
        });
        assert!(q.in_quorum(0));
        assert!(!q.in_quorum(1));
    }

    #[test]
    fn delays_debounce_a_restart() {
        let ms = Duration::from_millis;
        let mut q = QuorumState::new(&TrackProcess {
            quorum: 1,
            terminate_delay: Some(Timer::from_millis(500)),
            fork_delay: Some(Timer::from_millis(200)),
            ..Default::default()
        });
        assert_eq!(
            q.observe(1, ms(0)),
            Some(true),
            "the first count decides at once"
        );
        // Stopped and started again within terminate_delay: nothing happens.
        assert_eq!(q.observe(0, ms(100)), None);
        assert_eq!(q.deadline(), Some(ms(600)));
        assert_eq!(q.observe(1, ms(300)), None);
        assert_eq!(q.deadline(), None);
        assert_eq!(q.poll(ms(700)), None);
        // Stopped for good: down once terminate_delay has passed.
        assert_eq!(q.observe(0, ms(1000)), None);
        assert_eq!(
            q.observe(0, ms(1400)),
            None,
            "the delay runs from the first miss"
        );
        assert_eq!(q.poll(ms(1499)), None);
        assert_eq!(q.poll(ms(1500)), Some(false));
        // Started: up after fork_delay.
        assert_eq!(q.observe(1, ms(2000)), None);
        assert_eq!(q.poll(ms(2200)), Some(true));
    }

    #[test]
    fn zero_delays_act_at_once() {
        let mut q = QuorumState::new(&TrackProcess {
            quorum: 1,
            ..Default::default()
        });
        assert_eq!(q.observe(0, Duration::ZERO), Some(false));
        assert_eq!(q.observe(2, Duration::from_millis(1)), Some(true));
        assert_eq!(q.observe(0, Duration::from_millis(2)), Some(false));
    }

    #[test]
    fn stat_lines_and_a_real_scan() {
        assert_eq!(parse_stat("42 (nginx) S 1 42"), Some(("nginx", 'S')));
        assert_eq!(parse_stat("7 (a (b) c) Z 1"), Some(("a (b) c", 'Z')));
        assert_eq!(parse_stat("garbage"), None);
        // This test process is running and found under its own name.
        let me = std::fs::read_to_string("/proc/self/stat").unwrap();
        let (comm, _) = parse_stat(&me).unwrap();
        let comm = comm.to_owned();
        let procs = scan(Path::new("/proc"), true);
        assert!(procs.iter().any(|p| p.comm == comm && !p.argv.is_empty()));
    }
}
