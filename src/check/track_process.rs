//! `vrrp_track_process`: how many processes match a name (and parameters);
//! the tracker is up while that count is within `quorum..=quorum_max`.
//!
//! Matching ([`ProcessMatcher`], [`Matches`]) and the quorum with its
//! delays ([`QuorumState`]) are pure.  The I/O edge, [`scan_loop`], counts
//! matching processes by reading `/proc/PID/stat` (name and state; zombies
//! do not count) and, only when some tracker needs it, `/proc/PID/cmdline`.
//!
//! As keepalived does, changes come from the kernel's process-event
//! connector ([`super::proc_events`]: exec, fork, rename, exit), so a
//! process that starts or dies is noticed within milliseconds, on top of
//! `fork_delay`/`terminate_delay`.  A full /proc scan gives the initial
//! state, runs again every [`RESYNC_INTERVAL`] and whenever the kernel
//! reports lost events, and is the only source (every [`SCAN_INTERVAL`])
//! when the connector cannot be used (it needs CAP_NET_ADMIN and
//! CONFIG_PROC_EVENTS).  Full scans run on the main runtime's blocking
//! pool, never on the VRRP thread.

use super::proc_events::{is_overrun, ProcConnector, ProcEvent};
use crate::config::model::{ParamMatch, TrackProcess};
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;
use tokio::sync::mpsc;

/// How often /proc is scanned without process events.
pub const SCAN_INTERVAL: Duration = Duration::from_millis(500);

/// How often /proc is rescanned while process events arrive.
pub const RESYNC_INTERVAL: Duration = Duration::from_secs(5);

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

/// A running process: its id, its name and, when asked for, its arguments.
#[derive(Clone, Debug, Default)]
pub struct ProcInfo {
    pub pid: u32,
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

/// One process under `proc_root`, if it runs (not zombie, not dead).
pub fn read_process(proc_root: &Path, pid: u32, with_cmdline: bool) -> Option<ProcInfo> {
    let base = proc_root.join(pid.to_string());
    // A process can exit between listing and reading: then None.
    let stat = std::fs::read_to_string(base.join("stat")).ok()?;
    let (comm, state) = parse_stat(&stat)?;
    if matches!(state, 'Z' | 'X' | 'x') {
        return None;
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
    Some(ProcInfo {
        pid,
        comm: comm.to_owned(),
        argv,
    })
}

/// The running (not zombie, not dead) processes under `proc_root`.
pub fn scan(proc_root: &Path, with_cmdline: bool) -> Vec<ProcInfo> {
    let Ok(dir) = std::fs::read_dir(proc_root) else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| read_process(proc_root, pid, with_cmdline))
        .collect()
}

/// What [`scan_loop`] needs to know about one tracker.
#[derive(Clone, Debug)]
pub struct ProcessSpec {
    pub name: String,
    pub matcher: ProcessMatcher,
    pub quorum: QuorumState,
}

/// The processes that match some tracker, kept up to date from full scans
/// and from process events.
#[derive(Clone, Debug)]
pub struct Matches {
    matchers: Vec<ProcessMatcher>,
    with_cmdline: bool,
    /// pid -> the indices of the matchers it matches (only pids matching one).
    pids: HashMap<u32, Vec<usize>>,
}

impl Matches {
    pub fn new(matchers: Vec<ProcessMatcher>) -> Self {
        Matches {
            with_cmdline: matchers.iter().any(ProcessMatcher::uses_cmdline),
            matchers,
            pids: HashMap::new(),
        }
    }

    fn of(&self, p: &ProcInfo) -> Vec<usize> {
        (0..self.matchers.len())
            .filter(|&i| self.matchers[i].matches(&p.comm, &p.argv))
            .collect()
    }

    /// Replace everything with a full scan.
    pub fn rebuild(&mut self, procs: &[ProcInfo]) {
        self.pids.clear();
        for p in procs {
            let m = self.of(p);
            if !m.is_empty() {
                self.pids.insert(p.pid, m);
            }
        }
    }

    /// Read one process again (it exec'd or renamed itself).
    fn refresh(&mut self, proc_root: &Path, pid: u32) {
        match read_process(proc_root, pid, self.with_cmdline).map(|p| self.of(&p)) {
            Some(m) if !m.is_empty() => {
                self.pids.insert(pid, m);
            }
            _ => {
                self.pids.remove(&pid);
            }
        }
    }

    /// Apply one process event (thread events are ignored: a thread's pid
    /// is not its tgid).
    pub fn apply(&mut self, proc_root: &Path, ev: ProcEvent) {
        match ev {
            ProcEvent::Exec { pid, tgid } | ProcEvent::Comm { pid, tgid } if pid == tgid => {
                self.refresh(proc_root, pid)
            }
            // A forked child has its parent's name and arguments.
            ProcEvent::Fork {
                parent_tgid,
                child_pid,
                child_tgid,
            } if child_pid == child_tgid => {
                if let Some(m) = self.pids.get(&parent_tgid).cloned() {
                    self.pids.insert(child_pid, m);
                }
            }
            ProcEvent::Exit { pid, tgid } if pid == tgid => {
                self.pids.remove(&pid);
            }
            _ => {}
        }
    }

    /// How many processes match each matcher.
    pub fn counts(&self) -> Vec<u32> {
        let mut c = vec![0u32; self.matchers.len()];
        for m in self.pids.values() {
            for &i in m {
                c[i] = c[i].saturating_add(1);
            }
        }
        c
    }
}

async fn recv(c: &mut Option<ProcConnector>) -> std::io::Result<super::proc_events::Parsed> {
    match c {
        Some(c) => c.recv().await,
        None => std::future::pending().await,
    }
}

/// Count matching processes for all `trackers`, sending `(id, up)` at start
/// and on every change. Ends when the receiver is gone.
///
/// The counts start from a full scan of /proc. Then, when the kernel's
/// process-event connector can be used ([`ProcConnector`]), each exec, fork,
/// rename and exit updates them as it happens, and /proc is rescanned only
/// every [`RESYNC_INTERVAL`] (and at once when the kernel reports lost
/// events) as a safety net. Without the connector (no CAP_NET_ADMIN, no
/// CONFIG_PROC_EVENTS, or it failed) /proc is scanned every
/// [`SCAN_INTERVAL`].
pub async fn scan_loop(trackers: Vec<(usize, ProcessSpec)>, tx: mpsc::Sender<(usize, bool)>) {
    if trackers.is_empty() {
        return;
    }
    let mut events = match ProcConnector::open() {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::info!(
                "process events unavailable ({e}); vrrp_track_process scans /proc every {} ms",
                SCAN_INTERVAL.as_millis()
            );
            None
        }
    };
    let mut matches = Matches::new(trackers.iter().map(|(_, t)| t.matcher.clone()).collect());
    let mut states: Vec<(usize, String, QuorumState)> = trackers
        .into_iter()
        .map(|(id, t)| (id, t.name, t.quorum))
        .collect();
    let proc_root = Path::new("/proc");
    let start = tokio::time::Instant::now();
    let mut next_scan = start;
    loop {
        let deadline = states
            .iter()
            .filter_map(|(_, _, q)| q.deadline())
            .map(|d| start + d)
            .fold(next_scan, std::cmp::min);
        let mut counted = false;
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => {}
            got = recv(&mut events), if events.is_some() => match got {
                Ok(parsed) => {
                    for ev in parsed.events {
                        matches.apply(proc_root, ev);
                    }
                    if parsed.lost {
                        next_scan = tokio::time::Instant::now();
                    }
                    counted = true;
                }
                // Events were lost: rescan now.
                Err(e) if is_overrun(&e) => next_scan = tokio::time::Instant::now(),
                Err(e) => {
                    tracing::warn!(
                        "process events failed ({e}); vrrp_track_process scans /proc every {} ms",
                        SCAN_INTERVAL.as_millis()
                    );
                    events = None;
                    next_scan = tokio::time::Instant::now();
                }
            },
        }
        let now = tokio::time::Instant::now();
        if now >= next_scan {
            next_scan = now
                + if events.is_some() {
                    RESYNC_INTERVAL
                } else {
                    SCAN_INTERVAL
                };
            let with_cmdline = matches.with_cmdline;
            let procs = tokio::task::spawn_blocking(move || scan(Path::new("/proc"), with_cmdline))
                .await
                .unwrap_or_default();
            matches.rebuild(&procs);
            counted = true;
        }
        let mut changes = Vec::new();
        let counts = matches.counts();
        for ((id, name, q), count) in states.iter_mut().zip(counts) {
            let verdict = if counted {
                q.observe(count, now - start)
            } else {
                q.poll(now - start)
            };
            if let Some(up) = verdict {
                changes.push((*id, name.clone(), up, q.count.unwrap_or(count)));
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

    #[test]
    fn matches_follow_process_events() {
        let mut m = Matches::new(vec![
            ProcessMatcher::new(&tp("web", &[], ParamMatch::None, false)),
            ProcessMatcher::new(&tp("db", &[], ParamMatch::None, false)),
        ]);
        let p = |pid, comm: &str| ProcInfo {
            pid,
            comm: comm.into(),
            argv: vec![],
        };
        m.rebuild(&[p(10, "web"), p(11, "db"), p(12, "sh")]);
        assert_eq!(m.counts(), vec![1, 1]);
        // A fork of a matching process matches; a thread does not count.
        let root = Path::new("/nonexistent-proc");
        m.apply(
            root,
            ProcEvent::Fork {
                parent_tgid: 10,
                child_pid: 13,
                child_tgid: 13,
            },
        );
        m.apply(
            root,
            ProcEvent::Fork {
                parent_tgid: 10,
                child_pid: 14,
                child_tgid: 10,
            },
        );
        assert_eq!(m.counts(), vec![2, 1]);
        // An exec re-reads the process: gone from this fake /proc, so no match.
        m.apply(root, ProcEvent::Exec { pid: 13, tgid: 13 });
        assert_eq!(m.counts(), vec![1, 1]);
        // A thread's exit is not the process's.
        m.apply(root, ProcEvent::Exit { pid: 15, tgid: 11 });
        assert_eq!(m.counts(), vec![1, 1]);
        m.apply(root, ProcEvent::Exit { pid: 11, tgid: 11 });
        assert_eq!(m.counts(), vec![1, 0]);
    }

    /// With the process-event connector (root), a start and a kill are seen
    /// within 100 ms, well inside the 500 ms scan interval of the fallback.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_started_or_killed_process_is_noticed_at_once() {
        if !nix::unistd::geteuid().is_root() {
            return; // no CAP_NET_ADMIN: the scan fallback, covered elsewhere
        }
        let dir = tempfile::tempdir().unwrap();
        let name = format!("krtp{}", std::process::id() % 100_000);
        let bin = dir.path().join(&name);
        std::fs::copy("/bin/sleep", &bin).unwrap();
        let t = TrackProcess {
            name: "t".into(),
            process: name.clone(),
            quorum: 1,
            ..Default::default()
        };
        let spec = ProcessSpec {
            name: "t".into(),
            matcher: ProcessMatcher::new(&t),
            quorum: QuorumState::new(&t),
        };
        let (tx, mut rx) = mpsc::channel(8);
        let task = tokio::spawn(scan_loop(vec![(3, spec)], tx));
        let next = |rx: &mut mpsc::Receiver<(usize, bool)>| {
            let r = rx.try_recv();
            r.ok()
        };
        // The initial scan: not running.
        let first = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await;
        assert_eq!(first.unwrap(), Some((3, false)));
        // Let the subscription settle past the first resync.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut latencies = Vec::new();
        for _ in 0..3 {
            let t0 = std::time::Instant::now();
            let mut child = std::process::Command::new(&bin).arg("30").spawn().unwrap();
            let got = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await;
            let started = t0.elapsed();
            assert_eq!(got.unwrap(), Some((3, true)));
            let t1 = std::time::Instant::now();
            child.kill().unwrap();
            let got = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await;
            let killed = t1.elapsed();
            assert_eq!(got.unwrap(), Some((3, false)));
            let _ = child.wait();
            latencies.push((started, killed));
        }
        assert_eq!(next(&mut rx), None);
        task.abort();
        eprintln!("(start, kill) noticed after {latencies:?}");
        for (started, killed) in &latencies {
            assert!(
                *started < Duration::from_millis(100) && *killed < Duration::from_millis(100),
                "{latencies:?}"
            );
        }
    }
}
