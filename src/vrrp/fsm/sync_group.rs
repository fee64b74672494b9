//! `vrrp_sync_group`: members that move together, as keepalived 2.2.7's
//! vrrp_sync.c does it.
//!
//! - One member to FAULT takes every other member to FAULT (a master among
//!   them releases with priority 0). The group leaves FAULT only when no
//!   member has a fault of its own; then all go to BACKUP.
//! - One member from MASTER to BACKUP takes the other masters to BACKUP
//!   (no priority-0 advert: the better router is already master).
//! - A member becomes MASTER only when the group is master already or every
//!   other member wants to (its own master-down timer fired and no advert
//!   arrived since); then all become MASTER together. Until then a member whose
//!   timer fired stays BACKUP and re-arms a full timer ("prefer backup to
//!   avoid thrashing").
//! - A member whose virtual address was deleted releases (priority 0) and so
//!   do the other masters; all retake after Skew_Time.
//! - At start the group is MASTER only if every member is an address owner
//!   with `state MASTER`; otherwise `state MASTER` is ignored in the group.

use super::instance::{Instance, SyncGate};
use super::time::Timestamp;
use super::{Action, Event, Reason, State, SyncDirective};

/// A sync group: owns its member instances and routes their events, so that
/// a transition of one member forces the others in the same call.
#[derive(Clone, Debug)]
pub struct SyncGroup {
    members: Vec<Instance>,
    state: State,
}

/// An output of [`SyncGroup`]: a member's action, or a group state change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum GroupAction {
    /// Perform `action` for member number `member`.
    Member {
        /// Index in the member list given to [`SyncGroup::new`].
        member: usize,
        /// What to do.
        action: Action,
    },
    /// The group's state changed: run the group's notify scripts.
    Notify {
        /// Previous group state.
        from: State,
        /// New group state.
        to: State,
        /// The member whose transition moved the group, if one did.
        member: Option<usize>,
    },
}

/// Why a [`SyncGroup`] call was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SyncGroupError {
    /// A group needs at least one member.
    #[error("a sync group needs at least one member")]
    NoMembers,
    /// No member has this index.
    #[error("sync group has no member {0}")]
    UnknownMember(usize),
    /// New parameters for a member were rejected.
    #[error("{0}")]
    Params(super::ParamsError),
}

impl SyncGroup {
    /// Builds a group in [`State::Init`] from instances that are still in Init.
    ///
    /// # Errors
    /// [`SyncGroupError::NoMembers`] for an empty list.
    pub fn new(members: Vec<Instance>) -> Result<Self, SyncGroupError> {
        if members.is_empty() {
            return Err(SyncGroupError::NoMembers);
        }
        Ok(Self {
            members,
            state: State::Init,
        })
    }

    /// The group's state (keepalived's group state: Init, Backup, Master, Fault or Stop).
    #[must_use]
    pub const fn state(&self) -> State {
        self.state
    }

    /// The members, in the order given to [`SyncGroup::new`].
    #[must_use]
    pub fn members(&self) -> &[Instance] {
        &self.members
    }

    /// The earliest deadline of any member.
    #[must_use]
    pub fn next_deadline(&self) -> Option<Timestamp> {
        self.members
            .iter()
            .filter_map(Instance::next_deadline)
            .min()
    }

    /// An event for the whole group: `Startup`, `Shutdown`, `Timer` (fires
    /// every member that is due), or anything else, which is delivered to
    /// every member in turn (group-level trackers).
    #[must_use = "the driver must perform the returned actions"]
    pub fn handle_group(&mut self, event: Event, now: Timestamp) -> Vec<GroupAction> {
        let mut out = Vec::new();
        match event {
            Event::Startup => self.startup(now, &mut out),
            Event::Shutdown => {
                for member in 0..self.members.len() {
                    self.process(member, Event::Shutdown, now, &mut out);
                }
                self.set_state(State::Stop, None, &mut out);
            }
            Event::Timer => {
                for member in 0..self.members.len() {
                    // A forced transition may have moved a later member's deadline.
                    let due = self.members[member]
                        .next_deadline()
                        .is_some_and(|at| at <= now);
                    if due {
                        self.process(member, Event::Timer, now, &mut out);
                    }
                }
            }
            other => {
                for member in 0..self.members.len() {
                    self.process(member, other, now, &mut out);
                }
            }
        }
        out
    }

    /// An event for one member (an advert, its own tracker or fault).
    ///
    /// # Errors
    /// [`SyncGroupError::UnknownMember`] if `member` is out of range.
    pub fn handle_member(
        &mut self,
        member: usize,
        event: Event,
        now: Timestamp,
    ) -> Result<Vec<GroupAction>, SyncGroupError> {
        if member >= self.members.len() {
            return Err(SyncGroupError::UnknownMember(member));
        }
        let mut out = Vec::new();
        if matches!(event, Event::Startup | Event::Shutdown) {
            // These only make sense for the whole group.
            out.extend(self.handle_group(event, now));
        } else {
            self.process(member, event, now, &mut out);
        }
        Ok(out)
    }

    /// Takes the group apart (a reload that changes its membership).
    #[must_use]
    pub fn into_members(self) -> Vec<Instance> {
        self.members
    }

    /// A group formed by a configuration reload from members that may be
    /// running already (kept instances, in any state) and new ones (in Init).
    ///
    /// The running members decide the group state: FAULT if one of them has
    /// a fault of its own, MASTER if all of them are MASTER, BACKUP
    /// otherwise; running members in another state follow it (a MASTER sent
    /// to BACKUP does not release: the group has a master elsewhere or will
    /// elect one). New members start with the group's permissions, so they
    /// join a MASTER group when their own master-down timer fires. With no
    /// running member the group stays in Init: send it `Startup`.
    ///
    /// # Errors
    /// [`SyncGroupError::NoMembers`] for an empty list.
    pub fn regroup(
        members: Vec<Instance>,
        now: Timestamp,
    ) -> Result<(Self, Vec<GroupAction>), SyncGroupError> {
        let mut group = Self::new(members)?;
        let mut out = Vec::new();
        let running: Vec<&Instance> = group
            .members
            .iter()
            .filter(|m| m.state() != State::Init)
            .collect();
        if running.is_empty() {
            return Ok((group, out));
        }
        let state = if running.iter().any(|m| m.has_own_fault()) {
            State::Fault
        } else if running.iter().all(|m| m.state() == State::Master) {
            State::Master
        } else {
            State::Backup
        };
        let directive = match state {
            State::Fault => SyncDirective::Fault,
            State::Master => SyncDirective::Master,
            _ => SyncDirective::Backup,
        };
        let gate = SyncGate {
            may_become_master: state == State::Master,
            may_leave_fault: state != State::Fault,
        };
        for (index, member) in group.members.iter_mut().enumerate() {
            let actions = match member.state() {
                State::Init => member.handle_gated(Event::Startup, now, gate),
                s if s != state => {
                    member.handle_gated(Event::SyncGroup(directive), now, SyncGate::OPEN)
                }
                _ => Vec::new(),
            };
            push_member_actions(index, actions, &mut out);
        }
        group.state = state;
        Ok((group, out))
    }

    /// [`Instance::reconfigure`] for one member (a configuration reload):
    /// no state changes, so the other members are not involved.
    ///
    /// # Errors
    /// [`SyncGroupError::UnknownMember`], or the new parameters are invalid.
    pub fn reconfigure_member(
        &mut self,
        member: usize,
        params: super::InstanceParams,
        now: Timestamp,
    ) -> Result<Vec<GroupAction>, SyncGroupError> {
        let instance = self
            .members
            .get_mut(member)
            .ok_or(SyncGroupError::UnknownMember(member))?;
        let actions = instance
            .reconfigure(params, now)
            .map_err(SyncGroupError::Params)?;
        let mut out = Vec::new();
        push_member_actions(member, actions, &mut out);
        Ok(out)
    }

    /// keepalived (vrrp_sync_set_group + vrrp_init_state): the group state is
    /// FAULT if any member is faulty, MASTER if every member is an owner with
    /// `state MASTER`, else BACKUP; members start accordingly.
    fn startup(&mut self, now: Timestamp, out: &mut Vec<GroupAction>) {
        if self.state != State::Init {
            return;
        }
        let state = if self.members.iter().any(Instance::has_own_fault) {
            State::Fault
        } else if self.members.iter().all(|member| {
            member.is_owner() && member.params().initial_state == super::InitialState::Master
        }) {
            State::Master
        } else {
            State::Backup
        };
        let gate = SyncGate {
            may_become_master: state == State::Master,
            may_leave_fault: state != State::Fault,
        };
        for (index, member) in self.members.iter_mut().enumerate() {
            let actions = member.handle_gated(Event::Startup, now, gate);
            push_member_actions(index, actions, out);
        }
        self.set_state(state, None, out);
    }

    /// Runs one member's event with the group's permissions, then applies
    /// keepalived's transition matrix (VRRP_TSM) to the other members.
    fn process(&mut self, index: usize, event: Event, now: Timestamp, out: &mut Vec<GroupAction>) {
        let gate = self.gate_for(index);
        let Some(member) = self.members.get_mut(index) else {
            return;
        };
        let before = member.state();
        let had_fault = member.has_own_fault();
        let actions = member.handle_gated(event, now, gate);
        let after = member.state();
        let has_fault = member.has_own_fault();
        let saw_lower_priority = actions
            .iter()
            .any(|action| matches!(action, Action::NotifyMasterRxLowerPriority { .. }));
        let lost_address = actions.iter().any(|action| {
            matches!(
                action,
                Action::Notify {
                    reason: Reason::AddressLost,
                    ..
                }
            )
        });
        push_member_actions(index, actions, out);

        if matches!(self.state, State::Init | State::Stop) {
            return;
        }
        if !had_fault && has_fault {
            self.sync_to(State::Fault, index, now, out);
        } else if had_fault && !has_fault && before == State::Fault && after == State::Backup {
            self.sync_to(State::Backup, index, now, out);
        }
        match (before, after) {
            (_, State::Master) if self.others_want_master(index) => {
                self.sync_to(State::Master, index, now, out);
            }
            (State::Master, State::Backup) if lost_address => self.release_all(index, now, out),
            (State::Master, State::Backup) => self.sync_to(State::Backup, index, now, out),
            _ => {}
        }
        if saw_lower_priority {
            for (other, member) in self.members.iter_mut().enumerate() {
                if other != index {
                    let actions = member.peer_saw_lower_priority(now);
                    push_member_actions(other, actions, out);
                }
            }
        }
    }

    /// keepalived (set_vrrp_backup): a member lost a virtual address; every
    /// master member releases with priority 0 and all retake after Skew_Time.
    fn release_all(&mut self, trigger: usize, now: Timestamp, out: &mut Vec<GroupAction>) {
        for (index, member) in self.members.iter_mut().enumerate() {
            if index != trigger && member.state() == State::Master {
                let directive = Event::SyncGroup(SyncDirective::Release);
                let actions = member.handle_gated(directive, now, SyncGate::OPEN);
                push_member_actions(index, actions, out);
            }
        }
        self.set_state(State::Backup, Some(trigger), out);
    }

    /// keepalived's vrrp_sync_master / vrrp_sync_backup / vrrp_sync_fault:
    /// move every other member that is not in `state` yet, then the group.
    fn sync_to(
        &mut self,
        state: State,
        trigger: usize,
        now: Timestamp,
        out: &mut Vec<GroupAction>,
    ) {
        if self.state == state {
            return;
        }
        let directive = match state {
            State::Master => SyncDirective::Master,
            State::Backup => SyncDirective::Backup,
            State::Fault => SyncDirective::Fault,
            State::Init | State::Stop => return,
        };
        for (index, member) in self.members.iter_mut().enumerate() {
            if index != trigger && member.state() != state {
                let actions = member.handle_gated(Event::SyncGroup(directive), now, SyncGate::OPEN);
                push_member_actions(index, actions, out);
            }
        }
        self.set_state(state, Some(trigger), out);
    }

    fn gate_for(&self, index: usize) -> SyncGate {
        SyncGate {
            may_become_master: self.state == State::Master || self.others_want_master(index),
            may_leave_fault: !self
                .members
                .iter()
                .enumerate()
                .any(|(other, member)| other != index && member.has_own_fault()),
        }
    }

    /// keepalived (vrrp_sync_can_goto_master): every other member wants MASTER.
    fn others_want_master(&self, index: usize) -> bool {
        self.members
            .iter()
            .enumerate()
            .all(|(other, member)| other == index || member.wants_master())
    }

    fn set_state(&mut self, to: State, member: Option<usize>, out: &mut Vec<GroupAction>) {
        let from = self.state;
        if from != to {
            self.state = to;
            out.push(GroupAction::Notify { from, to, member });
        }
    }
}

fn push_member_actions(member: usize, actions: Vec<Action>, out: &mut Vec<GroupAction>) {
    out.extend(
        actions
            .into_iter()
            .map(|action| GroupAction::Member { member, action }),
    );
}
