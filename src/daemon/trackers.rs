//! VRRP trackers other than interfaces (`vrrp_script`, `track_file`,
//! `vrrp_track_process`, `track_bfd`): started on the main runtime, their results summed
//! per instance and sent to the VRRP engine as
//! [`Control::TrackerWeight`] / [`Control::TrackerFault`].
//!
//! The engine adds that weight sum to the weight of the instance's tracked
//! interfaces and gives the total to the state machine, which clamps the
//! effective priority to 1..=254 (and leaves an address owner alone).
//!
//! [`Aggregator`] is the pure part: from each tracker's latest reading and
//! each instance's uses of trackers (weight, reverse; resolved from the
//! configuration by [`super::specs::tracker_config`]) to the messages the
//! engine must get.  The trackers themselves live in [`crate::check`].

use crate::check::track_file::{self, FileSpec};
use crate::check::track_process::{self, ProcessSpec};
use crate::check::vrrp_script::{self, ScriptSpec, ScriptStatus};
use crate::script::ScriptRunner;
use crate::vrrp::engine::Control;
use crate::vrrp::track::{self, Effect};
use tokio::sync::mpsc;

/// A tracker, by kind and index into [`TrackerConfig`]'s lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TrackerRef {
    Script(usize),
    File(usize),
    Process(usize),
    /// A `bfd_instance`, by index into [`TrackerConfig::bfds`].
    Bfd(usize),
}

/// One instance's use of a tracker: `track_script { NAME weight W reverse }`
/// with the tracker's own weight/reverse filled in where the use gives none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrackerUse {
    pub tracker: TrackerRef,
    pub weight: i32,
    pub reverse: bool,
}

/// Every tracker to run, and which instances use them.
#[derive(Clone, Debug, Default)]
pub struct TrackerConfig {
    pub scripts: Vec<ScriptSpec>,
    pub files: Vec<FileSpec>,
    pub processes: Vec<ProcessSpec>,
    /// `bfd_instance` names (their sessions run in [`crate::bfd`]).
    pub bfds: Vec<String>,
    /// Per engine instance (same order as the engine's instances).
    pub uses: Vec<Vec<TrackerUse>>,
}

impl TrackerConfig {
    pub fn is_empty(&self) -> bool {
        self.uses.iter().all(Vec::is_empty)
    }
}

/// A message for the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    Weight { instance: usize, weight_sum: i32 },
    Fault { instance: usize, failed: bool },
}

impl Change {
    fn control(self) -> Control {
        match self {
            Change::Weight {
                instance,
                weight_sum,
            } => Control::TrackerWeight {
                instance,
                weight_sum,
            },
            Change::Fault { instance, failed } => Control::TrackerFault { instance, failed },
        }
    }
}

/// Latest readings of all trackers and what each instance was last told.
#[derive(Clone, Debug)]
pub struct Aggregator {
    uses: Vec<Vec<TrackerUse>>,
    scripts: Vec<ScriptStatus>,
    /// None until the file was first read.
    files: Vec<Option<i64>>,
    /// None until the first scan.
    processes: Vec<Option<bool>>,
    /// Session Up; a session starts Down.
    bfds: Vec<bool>,
    /// What the engine holds per instance (it starts at no weight, no fault).
    told: Vec<Effect>,
}

impl Aggregator {
    pub fn new(cfg: &TrackerConfig) -> Self {
        Aggregator {
            uses: cfg.uses.clone(),
            scripts: cfg
                .scripts
                .iter()
                .map(|s| ScriptStatus::Pending {
                    assume_failed: s.init_fail,
                })
                .collect(),
            files: vec![None; cfg.files.len()],
            processes: vec![None; cfg.processes.len()],
            bfds: vec![false; cfg.bfds.len()],
            told: vec![Effect::default(); cfg.uses.len()],
        }
    }

    pub fn set_script(&mut self, id: usize, status: ScriptStatus) {
        if let Some(s) = self.scripts.get_mut(id) {
            *s = status;
        }
    }

    pub fn set_file(&mut self, id: usize, value: i64) {
        if let Some(s) = self.files.get_mut(id) {
            *s = Some(value);
        }
    }

    pub fn set_process(&mut self, id: usize, up: bool) {
        if let Some(s) = self.processes.get_mut(id) {
            *s = Some(up);
        }
    }

    pub fn set_bfd(&mut self, id: usize, up: bool) {
        if let Some(s) = self.bfds.get_mut(id) {
            *s = up;
        }
    }

    fn effect_of(&self, u: &TrackerUse) -> Effect {
        match u.tracker {
            TrackerRef::Script(id) => match self.scripts.get(id) {
                Some(ScriptStatus::Ok) => track::up_down(true, u.weight, u.reverse),
                Some(ScriptStatus::Failed) => track::up_down(false, u.weight, u.reverse),
                // Before its first result a script changes no priority;
                // init_fail only puts weight-0 trackers in FAULT.
                Some(ScriptStatus::Pending { assume_failed }) => Effect {
                    weight: 0,
                    fault: *assume_failed && u.weight == 0,
                },
                None => Effect::default(),
            },
            TrackerRef::File(id) => match self.files.get(id).copied().flatten() {
                Some(v) => track::file_value(v, u.weight, u.reverse),
                None => Effect::default(),
            },
            TrackerRef::Process(id) => match self.processes.get(id).copied().flatten() {
                Some(up) => track::up_down(up, u.weight, u.reverse),
                None => Effect::default(),
            },
            TrackerRef::Bfd(id) => match self.bfds.get(id) {
                Some(up) => track::up_down(*up, u.weight, u.reverse),
                None => Effect::default(),
            },
        }
    }

    /// The combined effect of instance `i`'s trackers now.
    pub fn effect(&self, i: usize) -> Effect {
        let uses = self.uses.get(i).map_or(&[][..], Vec::as_slice);
        track::combine(uses.iter().map(|u| self.effect_of(u)))
    }

    /// What the engine must be told so it matches the readings; remembers
    /// it as told.
    pub fn changes(&mut self) -> Vec<Change> {
        let mut out = Vec::new();
        for instance in 0..self.uses.len() {
            let now = self.effect(instance);
            let was = self.told[instance];
            let weight_sum = track::weight_sum_i32(now.weight);
            if weight_sum != track::weight_sum_i32(was.weight) {
                out.push(Change::Weight {
                    instance,
                    weight_sum,
                });
            }
            if now.fault != was.fault {
                out.push(Change::Fault {
                    instance,
                    failed: now.fault,
                });
            }
            self.told[instance] = now;
        }
        out
    }
}

/// The running trackers; dropping it stops them (scripts in flight are
/// killed with their process groups).
pub struct Trackers {
    tasks: tokio::task::JoinSet<()>,
}

impl Trackers {
    pub fn stop(&mut self) {
        self.tasks.abort_all();
    }
}

/// How many tracker scripts may run at once (a hung one holds its slot
/// until its timeout).
const MAX_CONCURRENT_SCRIPTS: usize = 32;

/// Start every tracker of `cfg` on the current (main) runtime.  Must be
/// called from within that runtime.
pub fn start(
    cfg: TrackerConfig,
    ctl: mpsc::Sender<Control>,
    bfd: &crate::bfd::Sessions,
) -> Trackers {
    let mut tasks = tokio::task::JoinSet::new();
    if cfg.is_empty() {
        return Trackers { tasks };
    }
    let runner = ScriptRunner::new(MAX_CONCURRENT_SCRIPTS);
    let (script_tx, mut script_rx) = mpsc::channel(64);
    let (file_tx, mut file_rx) = mpsc::channel(64);
    let (proc_tx, mut proc_rx) = mpsc::channel(64);
    let (bfd_tx, mut bfd_rx) = mpsc::channel(64);
    let used = |r: TrackerRef| cfg.uses.iter().flatten().any(|u| u.tracker == r);
    // keepalived runs a tracker only when something tracks it.
    for (id, s) in cfg.scripts.iter().enumerate() {
        if used(TrackerRef::Script(id)) {
            tasks.spawn(vrrp_script::run(
                id,
                s.clone(),
                runner.clone(),
                script_tx.clone(),
            ));
        }
    }
    for (id, f) in cfg.files.iter().enumerate() {
        if used(TrackerRef::File(id)) {
            tasks.spawn(track_file::watch(id, f.clone(), file_tx.clone()));
        }
    }
    let procs: Vec<(usize, ProcessSpec)> = cfg
        .processes
        .iter()
        .enumerate()
        .filter(|(id, _)| used(TrackerRef::Process(*id)))
        .map(|(id, p)| (id, p.clone()))
        .collect();
    tasks.spawn(track_process::scan_loop(procs, proc_tx));
    for (id, name) in cfg.bfds.iter().enumerate() {
        if !used(TrackerRef::Bfd(id)) {
            continue;
        }
        match bfd.for_vrrp(name) {
            Some(rx) => {
                tasks.spawn(follow_bfd(id, rx, bfd_tx.clone()));
            }
            // Counted as down, as keepalived's VRRP process does with a
            // BFD instance its BFD process does not run.
            None => {
                tracing::warn!(bfd = %name, "track_bfd: no such BFD session for VRRP; counted as down")
            }
        }
    }
    drop((script_tx, file_tx, bfd_tx));

    let mut agg = Aggregator::new(&cfg);
    tasks.spawn(async move {
        loop {
            for c in agg.changes() {
                tracing::debug!(change = ?c, "tracker state sent to the VRRP engine");
                if ctl.send(c.control()).await.is_err() {
                    return;
                }
            }
            tokio::select! {
                Some((id, status)) = script_rx.recv() => agg.set_script(id, status),
                Some((id, value)) = file_rx.recv() => agg.set_file(id, value),
                Some((id, up)) = proc_rx.recv() => agg.set_process(id, up),
                Some((id, up)) = bfd_rx.recv() => agg.set_bfd(id, up),
                else => return,
            }
        }
    });
    Trackers { tasks }
}

/// Send `(id, up)` whenever the session goes Up or leaves Up.
async fn follow_bfd(
    id: usize,
    mut rx: tokio::sync::watch::Receiver<crate::bfd::State>,
    tx: mpsc::Sender<(usize, bool)>,
) {
    let mut told = None;
    loop {
        let up = *rx.borrow_and_update() == crate::bfd::State::Up;
        if told != Some(up) {
            if tx.send((id, up)).await.is_err() {
                return;
            }
            told = Some(up);
        }
        if rx.changed().await.is_err() {
            // The session is gone: down.
            let _ = tx.send((id, false)).await;
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn script(init_fail: bool) -> ScriptSpec {
        ScriptSpec {
            name: "s".into(),
            command: "/bin/true".into(),
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            rise: 1,
            fall: 1,
            init_fail,
            run_as: None,
        }
    }

    fn file() -> FileSpec {
        FileSpec {
            name: "f".into(),
            path: "/nonexistent".into(),
            init: None,
        }
    }

    fn process() -> ProcessSpec {
        let tp = crate::config::model::TrackProcess {
            process: "x".into(),
            ..Default::default()
        };
        ProcessSpec {
            name: "p".into(),
            matcher: track_process::ProcessMatcher::new(&tp),
            quorum: track_process::QuorumState::new(&tp),
        }
    }

    fn use_(tracker: TrackerRef, weight: i32, reverse: bool) -> TrackerUse {
        TrackerUse {
            tracker,
            weight,
            reverse,
        }
    }

    #[test]
    fn weights_sum_per_instance_and_only_changes_are_sent() {
        use TrackerRef::*;
        let cfg = TrackerConfig {
            scripts: vec![script(false), script(false)],
            files: vec![file()],
            processes: vec![process()],
            bfds: vec![],
            uses: vec![
                vec![
                    use_(Script(0), -20, false),
                    use_(Script(1), 10, false),
                    use_(File(0), 2, false),
                ],
                vec![use_(Process(0), 5, true), use_(Script(0), 30, false)],
            ],
        };
        let mut a = Aggregator::new(&cfg);
        assert_eq!(a.changes(), vec![], "pending trackers change nothing");
        a.set_script(0, ScriptStatus::Ok);
        a.set_script(1, ScriptStatus::Ok);
        a.set_file(0, 3);
        a.set_process(0, true);
        assert_eq!(
            a.changes(),
            vec![
                Change::Weight {
                    instance: 0,
                    weight_sum: 16
                },
                Change::Weight {
                    instance: 1,
                    weight_sum: 25
                },
            ]
        );
        assert_eq!(a.changes(), vec![]);
        a.set_script(0, ScriptStatus::Failed);
        assert_eq!(
            a.changes(),
            vec![
                Change::Weight {
                    instance: 0,
                    weight_sum: -4
                },
                Change::Weight {
                    instance: 1,
                    weight_sum: -5
                },
            ]
        );
        // A reading that changes nothing sends nothing.
        a.set_file(0, 3);
        assert_eq!(a.changes(), vec![]);
    }

    #[test]
    fn weight_zero_faults_and_recovers() {
        use TrackerRef::*;
        let cfg = TrackerConfig {
            scripts: vec![script(true), script(false)],
            files: vec![file()],
            processes: vec![],
            bfds: vec![],
            uses: vec![
                vec![use_(Script(0), 0, false)],
                vec![use_(Script(1), 0, false), use_(File(0), 0, false)],
            ],
        };
        let mut a = Aggregator::new(&cfg);
        // init_fail on a weight-0 tracker: FAULT from the start.
        assert_eq!(
            a.changes(),
            vec![Change::Fault {
                instance: 0,
                failed: true
            }]
        );
        a.set_script(0, ScriptStatus::Ok);
        a.set_script(1, ScriptStatus::Ok);
        a.set_file(0, 1);
        assert_eq!(
            a.changes(),
            vec![
                Change::Fault {
                    instance: 0,
                    failed: false
                },
                Change::Fault {
                    instance: 1,
                    failed: true
                }
            ]
        );
        // Still faulted while either tracker is down.
        a.set_file(0, 0);
        a.set_script(1, ScriptStatus::Failed);
        assert_eq!(a.changes(), vec![]);
        a.set_script(1, ScriptStatus::Ok);
        assert_eq!(
            a.changes(),
            vec![Change::Fault {
                instance: 1,
                failed: false
            }]
        );
    }

    #[test]
    fn init_fail_does_not_apply_weights_before_a_result() {
        let cfg = TrackerConfig {
            scripts: vec![script(true)],
            uses: vec![vec![
                use_(TrackerRef::Script(0), -10, false),
                use_(TrackerRef::Script(0), 10, false),
            ]],
            ..Default::default()
        };
        let mut a = Aggregator::new(&cfg);
        assert_eq!(a.effect(0), Effect::default());
        assert_eq!(a.changes(), vec![]);
    }

    #[test]
    fn bfd_starts_down_and_follows_the_session() {
        let cfg = TrackerConfig {
            bfds: vec!["b".into()],
            uses: vec![
                vec![use_(TrackerRef::Bfd(0), 0, false)],
                vec![use_(TrackerRef::Bfd(0), -30, false)],
                vec![use_(TrackerRef::Bfd(0), 10, false)],
            ],
            ..Default::default()
        };
        let mut a = Aggregator::new(&cfg);
        assert_eq!(
            a.changes(),
            vec![
                Change::Fault {
                    instance: 0,
                    failed: true
                },
                Change::Weight {
                    instance: 1,
                    weight_sum: -30
                },
            ]
        );
        a.set_bfd(0, true);
        assert_eq!(
            a.changes(),
            vec![
                Change::Fault {
                    instance: 0,
                    failed: false
                },
                Change::Weight {
                    instance: 1,
                    weight_sum: 0
                },
                Change::Weight {
                    instance: 2,
                    weight_sum: 10
                },
            ]
        );
    }
}
