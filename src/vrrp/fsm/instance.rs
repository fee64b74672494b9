//! One VRRP instance (one VRID on one interface): the state, its timers and
//! every transition. All transitions go through [`Instance::change_state`],
//! which performs the exit and entry actions, so they cannot drift apart.

use std::cmp::Ordering;
use std::net::IpAddr;
use std::time::Duration;

use super::params::{
    InitialState, InstanceParams, ParamsError, VrrpVersion, PRIORITY_MAX_TRACKED, PRIORITY_OWNER,
    PRIORITY_RELEASE,
};
use super::time::{centiseconds_to_duration, master_down_interval, skew_time, Timestamp};
use super::{
    Action, DiscardReason, Event, FaultCause, FaultSet, PeerAdvert, Reason, ReceivedAdvert, State,
    SyncDirective, Transition,
};

/// A VRRP instance's state machine.
///
/// Create it with [`Instance::new`], deliver [`Event::Startup`], then every
/// advert, tracker change and timer tick through [`Instance::handle`].
#[derive(Clone, Debug)]
pub struct Instance {
    params: InstanceParams,
    /// Base priority: the configured one, except that keepalived lowers an
    /// owner to 254 when it meets another owner.
    base_priority: u8,
    /// Priority in use: base + tracker weights (clamped), or 255 for an owner.
    effective_priority: u8,
    /// Last tracker weight sum, kept so a base-priority change can re-apply it.
    tracker_weight_sum: i32,
    /// Master_Adver_Interval: ours, or (v3 backup) the one learned from the master.
    master_adver_interval: Duration,
    /// Fault causes reported for this instance itself.
    faults: FaultSet,
    /// keepalived's `wantstate == MASTER`: set when our master-down timer
    /// fired (or at start for `state MASTER`), cleared by an accepted advert.
    /// Only sync groups look at it: a group goes master when all members want to.
    wants_master: bool,
    phase: Phase,
    last_transition: Option<Transition>,
}

/// The state with the data that only exists in it: deadlines live in the
/// variant that uses them, so a backup cannot have an advert timer.
#[derive(Clone, Debug)]
enum Phase {
    Init,
    Backup(BackupTimers),
    Master(MasterTimers),
    Fault,
    Stop,
}

#[derive(Clone, Debug)]
struct BackupTimers {
    /// Master_Down_Timer.
    master_down_at: Timestamp,
    /// End of `preempt_delay`, started by the first lower-priority advert.
    /// Not a timer: until then lower-priority adverts are accepted, after it
    /// they are discarded and the master-down timer runs out.
    preempt_delay_until: Option<Timestamp>,
    /// Reason to report if the master-down timer fires now.
    takeover_reason: Reason,
    /// The master we last heard.
    master: Option<PeerAdvert>,
}

#[derive(Clone, Debug)]
struct MasterTimers {
    /// Adver_Timer.
    advert_at: Timestamp,
    /// Second GARP burst, `garp_master_delay` after becoming master.
    garp_second_burst_at: Option<Timestamp>,
    /// Next periodic GARP refresh (`garp_master_refresh`).
    garp_refresh_at: Option<Timestamp>,
    /// Delayed GARP burst after a lower-priority advert (`garp_lower_prio_delay`).
    garp_lower_prio_at: Option<Timestamp>,
}

/// What a sync group allows a member to do on its own at this moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct SyncGate {
    /// The group is master already, or every other member wants to be.
    pub(super) may_become_master: bool,
    /// No other member has a fault of its own.
    pub(super) may_leave_fault: bool,
}

impl SyncGate {
    /// A standalone instance answers to nobody.
    pub(super) const OPEN: Self = Self {
        may_become_master: true,
        may_leave_fault: true,
    };
}

/// Where [`Instance::change_state`] goes.
enum Target {
    Backup {
        master_down_in: Duration,
        /// The master we step down for, if known.
        master: Option<PeerAdvert>,
        /// Send a priority-0 advert on the way out of Master.
        release: bool,
    },
    Master,
    Fault,
    Stop,
}

impl Instance {
    /// Builds an instance in [`State::Init`].
    ///
    /// # Errors
    /// The parameters are out of the ranges keepalived accepts.
    pub fn new(params: InstanceParams) -> Result<Self, ParamsError> {
        params.validate()?;
        Ok(Self {
            base_priority: params.priority,
            effective_priority: params.priority,
            tracker_weight_sum: 0,
            master_adver_interval: params.advert_interval.as_duration(),
            faults: FaultSet::default(),
            wants_master: false,
            phase: Phase::Init,
            last_transition: None,
            params,
        })
    }

    /// Processes one event at time `now` and returns what to do, in order.
    #[must_use = "the driver must perform the returned actions"]
    pub fn handle(&mut self, event: Event, now: Timestamp) -> Vec<Action> {
        self.handle_gated(event, now, SyncGate::OPEN)
    }

    /// [`Instance::handle`] with a sync group's permissions.
    #[allow(unsafe_code)] // a section name only: see daemon::memory
    #[link_section = "krs_hot"]
    pub(super) fn handle_gated(
        &mut self,
        event: Event,
        now: Timestamp,
        gate: SyncGate,
    ) -> Vec<Action> {
        let mut out = Vec::new();
        if matches!(self.phase, Phase::Stop) {
            return out;
        }
        match event {
            Event::Startup => self.on_startup(now, gate, &mut out),
            Event::Shutdown => self.change_state(Target::Stop, Reason::Shutdown, now, &mut out),
            Event::AdvertReceived(advert) => self.on_advert(advert, now, &mut out),
            Event::Timer => self.on_timer(now, gate, &mut out),
            Event::TrackerUpdate { weight_sum } => {
                self.tracker_weight_sum = weight_sum;
                self.update_effective_priority(&mut out);
            }
            Event::FaultSet(cause) => self.on_fault_set(cause, now, &mut out),
            Event::FaultCleared(cause) => self.on_fault_cleared(cause, now, gate, &mut out),
            Event::AddressLost => self.on_address_lost(now, &mut out),
            Event::PrimaryAddressChanged(address) => self.params.primary_address = address,
            Event::SyncGroup(directive) => self.on_sync_directive(directive, now, &mut out),
        }
        out
    }

    /// The earliest deadline at which [`Event::Timer`] has something to do.
    #[must_use]
    #[allow(unsafe_code)] // a section name only: see daemon::memory
    #[link_section = "krs_hot"]
    pub fn next_deadline(&self) -> Option<Timestamp> {
        match &self.phase {
            Phase::Backup(backup) => Some(backup.master_down_at),
            Phase::Master(master) => [
                Some(master.advert_at),
                master.garp_second_burst_at,
                master.garp_refresh_at,
                master.garp_lower_prio_at,
            ]
            .into_iter()
            .flatten()
            .min(),
            Phase::Init | Phase::Fault | Phase::Stop => None,
        }
    }

    /// Current state.
    #[must_use]
    pub const fn state(&self) -> State {
        match self.phase {
            Phase::Init => State::Init,
            Phase::Backup(_) => State::Backup,
            Phase::Master(_) => State::Master,
            Phase::Fault => State::Fault,
            Phase::Stop => State::Stop,
        }
    }

    /// The validated parameters (the primary address follows
    /// [`Event::PrimaryAddressChanged`]).
    #[must_use]
    pub const fn params(&self) -> &InstanceParams {
        &self.params
    }

    /// Priority in use, as sent in adverts.
    #[must_use]
    pub const fn effective_priority(&self) -> u8 {
        self.effective_priority
    }

    /// Base priority: configured, or 254 after an owner conflict.
    #[must_use]
    pub const fn base_priority(&self) -> u8 {
        self.base_priority
    }

    /// Whether we are (still) the address owner.
    #[must_use]
    pub const fn is_owner(&self) -> bool {
        self.base_priority == PRIORITY_OWNER
    }

    /// Master_Adver_Interval in use (learned from the master by a v3 backup).
    #[must_use]
    pub const fn master_adver_interval(&self) -> Duration {
        self.master_adver_interval
    }

    /// Skew_Time for our effective priority.
    #[must_use]
    pub fn skew_time(&self) -> Duration {
        skew_time(
            self.params.version,
            self.effective_priority,
            self.master_adver_interval,
        )
    }

    /// Master_Down_Interval for our effective priority.
    #[must_use]
    pub fn master_down_interval(&self) -> Duration {
        master_down_interval(
            self.params.version,
            self.params.down_timer_adverts,
            self.effective_priority,
            self.master_adver_interval,
        )
    }

    /// Fault causes currently reported for this instance itself.
    #[must_use]
    pub const fn faults(&self) -> FaultSet {
        self.faults
    }

    /// The last state change, if any.
    #[must_use]
    pub const fn last_transition(&self) -> Option<Transition> {
        self.last_transition
    }

    /// In Backup: the router we last heard from (a lower-priority one we are
    /// about to preempt included), for status output.
    #[must_use]
    pub const fn current_master(&self) -> Option<PeerAdvert> {
        match &self.phase {
            Phase::Backup(backup) => backup.master,
            _ => None,
        }
    }

    /// keepalived's `wantstate == MASTER` (see the field doc).
    #[must_use]
    pub const fn wants_master(&self) -> bool {
        self.wants_master
    }

    /// Whether a fault of this instance's own (not one imposed by its sync group) is set.
    pub(super) const fn has_own_fault(&self) -> bool {
        !self.faults.is_empty()
    }

    /// A sync-group peer, as master, saw a lower-priority advert: keepalived
    /// re-announces every member's addresses that has `garp_lower_prio_repeat`.
    pub(super) fn peer_saw_lower_priority(&mut self, now: Timestamp) -> Vec<Action> {
        let mut out = Vec::new();
        if let Phase::Master(master) = &mut self.phase {
            schedule_lower_prio_garp(&self.params, master, now, &mut out);
        }
        out
    }

    /// Applies new parameters from a configuration reload without leaving the
    /// current state: timers keep running, a master stays master.
    ///
    /// The VRID and the primary address are the reload's matching key and are
    /// kept. A changed configured priority replaces the base priority (and
    /// re-applies the tracker weights); an unchanged one keeps the base,
    /// including keepalived's lowering to 254 after an owner conflict. A
    /// shorter advert interval pulls a master's next advert in; a backup keeps
    /// its master-down timer (the next advert re-arms it with the new values).
    #[must_use = "the driver must perform the returned actions"]
    pub fn reconfigure(
        &mut self,
        params: InstanceParams,
        now: Timestamp,
    ) -> Result<Vec<Action>, ParamsError> {
        let mut params = params;
        params.vrid = self.params.vrid;
        params.primary_address = self.params.primary_address;
        params.validate()?;
        let mut out = Vec::new();
        let old = std::mem::replace(&mut self.params, params);
        if old.priority != self.params.priority {
            self.base_priority = self.params.priority;
        }
        if self.is_owner() {
            if self.effective_priority != PRIORITY_OWNER {
                let from = self.effective_priority;
                self.effective_priority = PRIORITY_OWNER;
                out.push(Action::PriorityChanged {
                    from,
                    to: PRIORITY_OWNER,
                });
            }
        } else {
            self.update_effective_priority(&mut out);
        }
        let interval = self.params.advert_interval.as_duration();
        let interval_changed = old.advert_interval != self.params.advert_interval;
        let garp = self.params.garp;
        match &mut self.phase {
            Phase::Master(master) => {
                self.master_adver_interval = interval;
                if interval_changed && master.advert_at > now + interval {
                    master.advert_at = now + interval;
                }
                if garp.master_refresh != old.garp.master_refresh {
                    master.garp_refresh_at =
                        (!garp.master_refresh.is_zero()).then(|| now + garp.master_refresh);
                }
            }
            Phase::Backup(backup) => {
                // v2 has no learned interval; a v3 backup keeps the master's
                // until its next advert, unless it has heard no master yet.
                if self.params.version == VrrpVersion::V2 || backup.master.is_none() {
                    self.master_adver_interval = interval;
                }
            }
            Phase::Init | Phase::Fault | Phase::Stop => self.master_adver_interval = interval,
        }
        Ok(out)
    }

    // ===== event handlers =====

    /// RFC 5798 §6.4.1, as keepalived does it (vrrp_init_state): a fault wins,
    /// an owner with `state MASTER` goes master at once, everyone else starts
    /// in BACKUP with a full Master_Down_Timer, whatever `state` says.
    fn on_startup(&mut self, now: Timestamp, gate: SyncGate, out: &mut Vec<Action>) {
        if !matches!(self.phase, Phase::Init) {
            return;
        }
        if let Some(cause) = self.faults.iter().next() {
            self.change_state(Target::Fault, Reason::Fault(cause), now, out);
            return;
        }
        if !gate.may_leave_fault {
            // The group starts in FAULT because of another member.
            self.change_state(Target::Fault, Reason::SyncGroup, now, out);
            return;
        }
        let wants_master = self.params.initial_state == InitialState::Master;
        self.wants_master = wants_master && gate.may_become_master;
        if self.is_owner() && wants_master && gate.may_become_master {
            self.change_state(Target::Master, Reason::OwnerStartup, now, out);
        } else {
            let master_down_in = self.master_down_interval();
            self.change_state(
                Target::Backup {
                    master_down_in,
                    master: None,
                    release: false,
                },
                Reason::Startup,
                now,
                out,
            );
        }
    }

    fn on_timer(&mut self, now: Timestamp, gate: SyncGate, out: &mut Vec<Action>) {
        match &mut self.phase {
            Phase::Backup(backup) => {
                if now < backup.master_down_at {
                    return;
                }
                // RFC 5798 §6.4.2 "If the Master_Down_Timer fires".
                self.wants_master = true;
                if gate.may_become_master {
                    let reason = backup.takeover_reason;
                    self.change_state(Target::Master, reason, now, out);
                } else {
                    // keepalived (vrrp_sync_can_goto_master): wait for the
                    // other members, re-arming a full timer meanwhile.
                    let master_down_in = self.master_down_interval();
                    if let Phase::Backup(backup) = &mut self.phase {
                        backup.master_down_at = now + master_down_in;
                    }
                }
            }
            Phase::Master(master) => {
                let params = &self.params;
                // RFC 5798 §6.4.3 "If the Adver_Timer fires".
                if now >= master.advert_at {
                    out.push(Action::SendAdvert {
                        priority: self.effective_priority,
                    });
                    master.advert_at = now + params.advert_interval.as_duration();
                }
                if master.garp_second_burst_at.is_some_and(|at| now >= at) {
                    master.garp_second_burst_at = None;
                    push_gratuitous(params.garp.master_repeat, out);
                }
                if master.garp_refresh_at.is_some_and(|at| now >= at) {
                    master.garp_refresh_at = Some(now + params.garp.master_refresh);
                    push_gratuitous(params.garp.master_refresh_repeat, out);
                }
                if master.garp_lower_prio_at.is_some_and(|at| now >= at) {
                    master.garp_lower_prio_at = None;
                    push_gratuitous(params.garp.lower_prio_repeat, out);
                }
            }
            Phase::Init | Phase::Fault | Phase::Stop => {}
        }
    }

    fn on_advert(&mut self, advert: ReceivedAdvert, now: Timestamp, out: &mut Vec<Action>) {
        let state = self.state();
        if !matches!(state, State::Backup | State::Master) {
            out.push(Action::AdvertDiscarded(DiscardReason::NotListening(state)));
            return;
        }
        if advert.version != self.params.version {
            out.push(Action::AdvertDiscarded(DiscardReason::VersionMismatch(
                advert.version,
            )));
            return;
        }
        if self.params.version == VrrpVersion::V2
            && advert.advert_interval_cs != self.params.advert_interval.centiseconds()
        {
            out.push(Action::AdvertDiscarded(DiscardReason::IntervalMismatch {
                received_cs: advert.advert_interval_cs,
            }));
            return;
        }
        if state == State::Backup {
            self.backup_on_advert(advert, now, out);
        } else {
            self.master_on_advert(advert, now, out);
        }
    }

    /// RFC 5798 §6.4.2 "If an ADVERTISEMENT is received", plus keepalived's
    /// `preempt_delay` (vrrp_state_backup).
    fn backup_on_advert(&mut self, advert: ReceivedAdvert, now: Timestamp, out: &mut Vec<Action>) {
        let priority = self.effective_priority;
        let preempt = self.params.effective_preempt();
        let preempt_delay = self.params.effective_preempt_delay();
        let skew = self.skew_time();
        let sender = PeerAdvert {
            address: advert.source,
            priority: advert.priority,
        };
        let Phase::Backup(backup) = &mut self.phase else {
            return;
        };

        if advert.priority == PRIORITY_RELEASE {
            // "If the Priority in the ADVERTISEMENT is zero, then: Set the
            // Master_Down_Timer to Skew_Time". keepalived keeps the learned interval.
            backup.master_down_at = now + skew;
            backup.takeover_reason = Reason::Priority0Received;
            return;
        }

        let delaying =
            !preempt_delay.is_zero() && backup.preempt_delay_until.is_none_or(|until| until > now);
        if !preempt || advert.priority >= priority || delaying {
            // Accept this master: learn its interval (v3), reset the timer.
            if !preempt_delay.is_zero() {
                if advert.priority >= priority {
                    backup.preempt_delay_until = None;
                } else if backup.preempt_delay_until.is_none() {
                    backup.preempt_delay_until = Some(now + preempt_delay);
                }
            }
            backup.master = Some(sender);
            backup.takeover_reason = Reason::MasterDownTimer;
            self.wants_master = false;
            if self.params.version == VrrpVersion::V3 {
                self.master_adver_interval = centiseconds_to_duration(advert.advert_interval_cs);
            }
            let master_down_in = self.master_down_interval();
            if let Phase::Backup(backup) = &mut self.phase {
                backup.master_down_at = now + master_down_in;
            }
        } else {
            // "else: Discard the ADVERTISEMENT": the timer keeps running and
            // we preempt when it fires.
            backup.master = Some(sender);
            backup.takeover_reason = Reason::PreemptLowerPriority;
            out.push(Action::AdvertDiscarded(DiscardReason::LowerPriority {
                priority: advert.priority,
            }));
        }
    }

    /// RFC 5798 §6.4.3 "If an ADVERTISEMENT is received", with keepalived's
    /// additions (vrrp_state_master_rx): `higher_prio_send_advert`, the owner
    /// conflict, and the RFC 9568 answer to lower-priority adverts.
    fn master_on_advert(&mut self, advert: ReceivedAdvert, now: Timestamp, out: &mut Vec<Action>) {
        let address_order = compare_addresses(advert.source, self.params.primary_address);
        let beats_us = |ours: u8| {
            advert.priority > ours
                || (advert.priority == ours && address_order == Ordering::Greater)
        };

        if advert.priority == PRIORITY_RELEASE
            || (self.params.higher_prio_send_advert && beats_us(self.effective_priority))
        {
            // Priority 0: "Send an ADVERTISEMENT; Reset the Adver_Timer".
            // higher_prio_send_advert: one advert before stepping down, so
            // the new master re-sends its GARPs (split-brain ARP recovery).
            self.send_advert_now(now, out);
            if advert.priority == PRIORITY_RELEASE {
                return;
            }
        }

        let mut reason = None;
        if advert.priority == self.effective_priority {
            if address_order == Ordering::Equal {
                out.push(Action::AdvertDiscarded(DiscardReason::OwnAddress));
                return;
            }
            if self.is_owner() {
                // keepalived: two owners are a config error; lower ours to 254
                // (for good) and let the comparison below send us to backup.
                let from = self.effective_priority;
                self.base_priority = PRIORITY_MAX_TRACKED;
                self.effective_priority = PRIORITY_MAX_TRACKED;
                out.push(Action::PriorityChanged {
                    from,
                    to: PRIORITY_MAX_TRACKED,
                });
                reason = Some(Reason::OwnerConflict);
            }
        }

        if beats_us(self.effective_priority) {
            let reason = reason.unwrap_or(if advert.priority > self.effective_priority {
                Reason::HigherPriorityAdvert
            } else {
                Reason::EqualPriorityHigherAddress
            });
            if self.params.version == VrrpVersion::V3 {
                // "Set Master_Adver_Interval to Adver Interval contained in the ADVERTISEMENT".
                self.master_adver_interval = centiseconds_to_duration(advert.advert_interval_cs);
            }
            self.wants_master = false;
            let master = Some(PeerAdvert {
                address: advert.source,
                priority: advert.priority,
            });
            let master_down_in = self.master_down_interval();
            self.change_state(
                Target::Backup {
                    master_down_in,
                    master,
                    release: false,
                },
                reason,
                now,
                out,
            );
            return;
        }

        // Lower priority, or equal priority from a lower address. RFC 5798
        // says discard; RFC 9568 and keepalived answer at once so the other
        // side steps down, and re-announce our addresses.
        if !self.params.lower_prio_no_advert {
            self.send_advert_now(now, out);
        }
        if let Phase::Master(master) = &mut self.phase {
            schedule_lower_prio_garp(&self.params, master, now, out);
        }
        out.push(Action::NotifyMasterRxLowerPriority {
            source: advert.source,
            priority: advert.priority,
        });
    }

    fn on_fault_set(&mut self, cause: FaultCause, now: Timestamp, out: &mut Vec<Action>) {
        let was_faulty = self.has_own_fault();
        self.faults = self.faults.with(cause);
        if was_faulty {
            return;
        }
        if matches!(self.phase, Phase::Backup(_) | Phase::Master(_)) {
            self.wants_master = false;
            self.change_state(Target::Fault, Reason::Fault(cause), now, out);
        }
    }

    /// keepalived (try_up_instance): leaving FAULT always goes to BACKUP with a
    /// full Master_Down_Interval, even for an owner with `state MASTER`.
    fn on_fault_cleared(
        &mut self,
        cause: FaultCause,
        now: Timestamp,
        gate: SyncGate,
        out: &mut Vec<Action>,
    ) {
        self.faults = self.faults.without(cause);
        if self.has_own_fault() || !gate.may_leave_fault || !matches!(self.phase, Phase::Fault) {
            return;
        }
        self.leave_fault_to_backup(Reason::FaultCleared, now, out);
    }

    /// keepalived (set_vrrp_backup): a VIP deleted from under a master makes it
    /// release with priority 0 and come back after Skew_Time, re-adding it.
    fn on_address_lost(&mut self, now: Timestamp, out: &mut Vec<Action>) {
        self.release_to_backup(Reason::AddressLost, now, out);
    }

    /// Master → Backup with a priority-0 advert and a Skew_Time-only timer,
    /// so that we (or whoever is best) take over again quickly.
    fn release_to_backup(&mut self, reason: Reason, now: Timestamp, out: &mut Vec<Action>) {
        if matches!(self.phase, Phase::Master(_)) {
            self.wants_master = false;
            let master_down_in = self.skew_time();
            self.change_state(
                Target::Backup {
                    master_down_in,
                    master: None,
                    release: true,
                },
                reason,
                now,
                out,
            );
        }
    }

    fn on_sync_directive(
        &mut self,
        directive: SyncDirective,
        now: Timestamp,
        out: &mut Vec<Action>,
    ) {
        let held_in_fault = matches!(self.phase, Phase::Fault) && !self.has_own_fault();
        match directive {
            SyncDirective::Master => {
                if matches!(self.phase, Phase::Backup(_)) || held_in_fault {
                    self.wants_master = true;
                    self.change_state(Target::Master, Reason::SyncGroup, now, out);
                }
            }
            SyncDirective::Backup => match self.phase {
                Phase::Master(_) => {
                    self.wants_master = false;
                    let master_down_in = self.master_down_interval();
                    self.change_state(
                        Target::Backup {
                            master_down_in,
                            master: None,
                            release: false,
                        },
                        Reason::SyncGroup,
                        now,
                        out,
                    );
                }
                Phase::Fault if held_in_fault => {
                    self.leave_fault_to_backup(Reason::SyncGroup, now, out)
                }
                _ => {}
            },
            SyncDirective::Release => self.release_to_backup(Reason::SyncGroup, now, out),
            SyncDirective::Fault => {
                if matches!(self.phase, Phase::Backup(_) | Phase::Master(_)) {
                    self.wants_master = false;
                    self.change_state(Target::Fault, Reason::SyncGroup, now, out);
                }
            }
        }
    }

    // ===== helpers =====

    fn leave_fault_to_backup(&mut self, reason: Reason, now: Timestamp, out: &mut Vec<Action>) {
        self.wants_master = false;
        self.master_adver_interval = self.params.advert_interval.as_duration();
        let master_down_in = self.master_down_interval();
        self.change_state(
            Target::Backup {
                master_down_in,
                master: None,
                release: false,
            },
            reason,
            now,
            out,
        );
    }

    /// Sends an advert outside the periodic schedule; the period restarts from now.
    fn send_advert_now(&mut self, now: Timestamp, out: &mut Vec<Action>) {
        out.push(Action::SendAdvert {
            priority: self.effective_priority,
        });
        if let Phase::Master(master) = &mut self.phase {
            master.advert_at = now + self.params.advert_interval.as_duration();
        }
    }

    /// keepalived (vrrp_set_effective_priority): base + weights clamped to
    /// 1..=254; an owner never changes. A backup's running master-down timer
    /// moves by the change in Skew_Time, so it keeps its phase.
    fn update_effective_priority(&mut self, out: &mut Vec<Action>) {
        if self.is_owner() {
            return;
        }
        let total = i64::from(self.base_priority) + i64::from(self.tracker_weight_sum);
        let clamped = total.clamp(1, i64::from(PRIORITY_MAX_TRACKED));
        let new = u8::try_from(clamped).unwrap_or(PRIORITY_MAX_TRACKED);
        let old = self.effective_priority;
        if new == old {
            return;
        }
        let old_skew = self.skew_time();
        self.effective_priority = new;
        let new_skew = self.skew_time();
        if let Phase::Backup(backup) = &mut self.phase {
            backup.master_down_at = if new_skew >= old_skew {
                backup
                    .master_down_at
                    .saturating_add(new_skew.saturating_sub(old_skew))
            } else {
                backup
                    .master_down_at
                    .saturating_sub(old_skew.saturating_sub(new_skew))
            };
        }
        out.push(Action::PriorityChanged { from: old, to: new });
    }

    /// The single place where the state changes: exit actions of the old
    /// state, entry actions and timers of the new one, then the notification.
    fn change_state(
        &mut self,
        target: Target,
        reason: Reason,
        now: Timestamp,
        out: &mut Vec<Action>,
    ) {
        let from = self.state();

        if matches!(self.phase, Phase::Master(_)) {
            // Leaving MASTER: release with priority 0 so backups take over
            // after Skew_Time, unless a better master already exists or our
            // group is just following another member to BACKUP.
            let release = match target {
                Target::Fault | Target::Stop => true,
                Target::Backup { release, .. } => release,
                Target::Master => false,
            };
            if release {
                out.push(Action::SendAdvert {
                    priority: PRIORITY_RELEASE,
                });
            }
            out.push(Action::RemoveVips);
        }

        match target {
            Target::Master => {
                // Advert first, so the old master drops the VIPs before our GARPs.
                let garp = self.params.garp;
                self.master_adver_interval = self.params.advert_interval.as_duration();
                self.wants_master = true;
                self.phase = Phase::Master(MasterTimers {
                    advert_at: now + self.params.advert_interval.as_duration(),
                    garp_second_burst_at: (!garp.master_delay.is_zero() && garp.master_repeat > 0)
                        .then(|| now + garp.master_delay),
                    garp_refresh_at: (!garp.master_refresh.is_zero())
                        .then(|| now + garp.master_refresh),
                    garp_lower_prio_at: None,
                });
                out.push(Action::SendAdvert {
                    priority: self.effective_priority,
                });
                out.push(Action::AddVips);
                push_gratuitous(garp.master_repeat, out);
            }
            Target::Backup {
                master_down_in,
                master,
                release: _,
            } => {
                self.phase = Phase::Backup(BackupTimers {
                    master_down_at: now + master_down_in,
                    preempt_delay_until: None,
                    takeover_reason: Reason::MasterDownTimer,
                    master,
                });
            }
            Target::Fault => {
                self.master_adver_interval = self.params.advert_interval.as_duration();
                self.phase = Phase::Fault;
            }
            Target::Stop => self.phase = Phase::Stop,
        }

        let to = self.state();
        self.last_transition = Some(Transition {
            from,
            to,
            reason,
            at: now,
        });
        out.push(Action::Notify {
            from,
            to,
            reason,
            priority: self.effective_priority,
        });
    }
}

/// keepalived (vrrp_state_master_rx): after a lower-priority advert, send
/// `garp_lower_prio_repeat` GARPs now and again after `garp_lower_prio_delay`.
/// keepalived queues one delayed burst per advert; we keep at most one pending.
fn schedule_lower_prio_garp(
    params: &InstanceParams,
    master: &mut MasterTimers,
    now: Timestamp,
    out: &mut Vec<Action>,
) {
    let garp = params.garp;
    if garp.lower_prio_repeat == 0 {
        return;
    }
    push_gratuitous(garp.lower_prio_repeat, out);
    if !garp.lower_prio_delay.is_zero() && master.garp_lower_prio_at.is_none() {
        master.garp_lower_prio_at = Some(now + garp.lower_prio_delay);
    }
}

fn push_gratuitous(count: u32, out: &mut Vec<Action>) {
    if count > 0 {
        out.push(Action::SendGratuitous { count });
    }
}

/// Compares primary addresses as unsigned big-endian numbers (RFC 5798 §6.4.3).
/// Addresses of different families compare equal, as in keepalived.
pub(super) fn compare_addresses(theirs: IpAddr, ours: IpAddr) -> Ordering {
    match (theirs, ours) {
        (IpAddr::V4(a), IpAddr::V4(b)) => u32::from(a).cmp(&u32::from(b)),
        (IpAddr::V6(a), IpAddr::V6(b)) => u128::from(a).cmp(&u128::from(b)),
        _ => Ordering::Equal,
    }
}
