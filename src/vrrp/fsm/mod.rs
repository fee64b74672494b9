//! The VRRP state machine, sans-IO: `(state, event, now) -> (new state, actions)`.
//!
//! No sockets, no clocks, no tokio. A driver feeds [`Event`]s stamped with
//! the current [`Timestamp`] into [`Instance::handle`] (or [`SyncGroup`] for
//! grouped instances), performs the returned [`Action`]s in order, and sleeps
//! until [`Instance::next_deadline`] to deliver [`Event::Timer`]:
//!
//! ```text
//! loop {
//!     let event = select! { advert = socket.recv() => AdvertReceived(..),
//!                           _ = sleep_until(fsm.next_deadline()) => Timer,
//!                           msg = control.recv() => Fault/Tracker/Shutdown.. };
//!     for action in fsm.handle(event, now()) { perform(action) }
//! }
//! ```
//!
//! The behaviour is keepalived 2.2.7's, which refines RFC 3768 / RFC 5798 §6.4:
//! every start goes through BACKUP except an address owner with `state MASTER`,
//! priority-0 adverts on release, `preempt_delay`, `nopreempt`, a FAULT state
//! driven by trackers, answering lower-priority masters (RFC 9568), GARP bursts
//! and refreshes, and sync groups. Where keepalived and the RFCs differ, the
//! code says so next to the rule.

mod instance;
mod params;
mod sync_group;
mod time;

#[cfg(test)]
mod tests;

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

pub use instance::Instance;
pub use params::{
    GarpParams, IgnoredSetting, InitialState, InstanceParams, ParamsError, VrrpVersion,
    MAX_DOWN_TIMER_ADVERTS, MAX_PREEMPT_DELAY, PRIORITY_MAX_TRACKED, PRIORITY_OWNER,
    PRIORITY_RELEASE,
};
pub use sync_group::{GroupAction, SyncGroup, SyncGroupError};
pub use time::{
    centiseconds_to_duration, master_down_interval, skew_time, AdvertInterval, Timestamp,
};

/// The state of an instance, as reported in logs, status and notify scripts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum State {
    /// Configured but not started yet (RFC "Initialize").
    Init,
    /// Listening for the master; takes over when the master-down timer fires.
    Backup,
    /// Owns the virtual addresses and sends adverts.
    Master,
    /// A tracked interface, tracker or source address is missing: silent, no VIPs.
    Fault,
    /// Shut down for good (keepalived's STOP; the RFC goes back to Initialize).
    Stop,
}

impl State {
    /// The word keepalived passes to `notify` scripts and writes to the FIFO.
    #[must_use]
    pub const fn keepalived_name(self) -> &'static str {
        match self {
            Self::Init => "INIT",
            Self::Backup => "BACKUP",
            Self::Master => "MASTER",
            Self::Fault => "FAULT",
            Self::Stop => "STOP",
        }
    }
}

/// What went wrong that puts an instance in FAULT.
///
/// The driver aggregates its trackers per cause (e.g. "some tracked interface
/// is down") and reports each cause's transitions; the instance stays in FAULT
/// while any cause is set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FaultCause {
    /// The VRRP interface or an unweighted `track_interface` is down.
    InterfaceDown,
    /// An unweighted (weight 0) script, file, process or BFD tracker failed.
    TrackerFailed,
    /// No usable source address (`track_src_ip`, or the interface has none).
    NoSourceAddress,
}

impl FaultCause {
    /// Every cause, in the order used when several are reported at once.
    pub const ALL: [Self; 3] = [
        Self::InterfaceDown,
        Self::TrackerFailed,
        Self::NoSourceAddress,
    ];

    const fn bit(self) -> u8 {
        match self {
            Self::InterfaceDown => 1,
            Self::TrackerFailed => 2,
            Self::NoSourceAddress => 4,
        }
    }
}

/// The set of [`FaultCause`]s currently reported for an instance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FaultSet {
    bits: u8,
}

impl FaultSet {
    /// Whether no fault is set.
    #[must_use]
    pub const fn is_empty(self) -> bool {
        self.bits == 0
    }

    /// Whether `cause` is set.
    #[must_use]
    pub const fn contains(self, cause: FaultCause) -> bool {
        self.bits & cause.bit() != 0
    }

    /// The causes that are set, in [`FaultCause::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = FaultCause> {
        FaultCause::ALL
            .into_iter()
            .filter(move |cause| self.contains(*cause))
    }

    const fn with(self, cause: FaultCause) -> Self {
        Self {
            bits: self.bits | cause.bit(),
        }
    }

    const fn without(self, cause: FaultCause) -> Self {
        Self {
            bits: self.bits & !cause.bit(),
        }
    }
}

/// Why a transition happened; carried by [`Action::Notify`] and kept for status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Reason {
    /// The instance started (Init → Backup, or Init → Fault).
    Startup,
    /// An address owner with `state MASTER` started (Init → Master at once).
    OwnerStartup,
    /// No advert from the master within Master_Down_Interval (Backup → Master).
    MasterDownTimer,
    /// The master released with a priority-0 advert; we took over after
    /// Skew_Time only (Backup → Master).
    Priority0Received,
    /// We preempted a lower-priority master whose adverts we discarded (Backup → Master).
    PreemptLowerPriority,
    /// An advert with a higher priority than ours (Master → Backup).
    HigherPriorityAdvert,
    /// An advert with our priority from a higher primary address (Master → Backup).
    EqualPriorityHigherAddress,
    /// Another address owner advertised priority 255; keepalived drops ours to
    /// 254 and steps down (Master → Backup).
    OwnerConflict,
    /// A fault was reported (→ Fault).
    Fault(FaultCause),
    /// The last fault cleared (Fault → Backup).
    FaultCleared,
    /// One of our virtual addresses was removed behind our back: release with
    /// priority 0 and take over again after Skew_Time (Master → Backup).
    AddressLost,
    /// A sync group moved this member along with another one.
    SyncGroup,
    /// Shutdown (→ Stop).
    Shutdown,
}

/// A received advert, already decoded and checked by the packet layer
/// (TTL, checksum, authentication, VRID, address list).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceivedAdvert {
    /// Version field of the advert.
    pub version: VrrpVersion,
    /// Priority field (0 = the sender is releasing mastership).
    pub priority: u8,
    /// Source address of the IP packet: the sender's primary address.
    pub source: IpAddr,
    /// Advert interval in centiseconds: v3 "Max Adver Int", or v2 "Adver Int" × 100.
    pub advert_interval_cs: u32,
}

/// Orders from a [`SyncGroup`] to one of its members.
///
/// Public so a driver can replay recorded inputs, but normally only
/// [`SyncGroup`] issues them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SyncDirective {
    /// Another member became master: become master now.
    Master,
    /// Another member went to backup (or left fault): go to backup.
    Backup,
    /// Another member went to fault: go to fault.
    Fault,
    /// Another member lost a virtual address and released: if master, release
    /// too (priority 0) and take over again after Skew_Time.
    Release,
}

/// An input to the state machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    /// Start the instance (leave Init).
    Startup,
    /// Stop the instance: release mastership, go to Stop.
    Shutdown,
    /// An advert for this VRID arrived.
    AdvertReceived(ReceivedAdvert),
    /// Time passed: fire every deadline that is due at `now`.
    Timer,
    /// The sum of the current weights of the weighted trackers changed.
    /// Effective priority = base + sum, clamped to 1..=254; an owner's never changes.
    TrackerUpdate {
        /// Sum of tracker weights (may be negative).
        weight_sum: i32,
    },
    /// A fault cause became true.
    FaultSet(FaultCause),
    /// A fault cause became false.
    FaultCleared(FaultCause),
    /// A virtual address was deleted by someone else while we were master.
    AddressLost,
    /// Our primary (source) address changed.
    PrimaryAddressChanged(IpAddr),
    /// A forced transition from the instance's sync group.
    SyncGroup(SyncDirective),
}

/// Why an advert was ignored (for logs and counters).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DiscardReason {
    /// The instance is in Init, Fault or Stop and listens to nobody.
    NotListening(State),
    /// The advert's version is not ours (keepalived: "wrong version").
    VersionMismatch(VrrpVersion),
    /// A v2 advert with another interval (RFC 3768 §7.1: MUST be discarded, to
    /// avoid two masters in one VRID).
    IntervalMismatch {
        /// The advert's interval in centiseconds.
        received_cs: u32,
    },
    /// A backup preempting a lower-priority master discards its adverts
    /// (RFC 5798 §6.4.2 "else Discard"); keepalived logs "received lower priority".
    LowerPriority {
        /// The advert's priority.
        priority: u8,
    },
    /// A master received its own priority from its own address (a loop or a duplicate address).
    OwnAddress,
}

/// An output of the state machine; the driver performs them in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    /// Send one advert with this priority (0 = release).
    SendAdvert {
        /// Priority field to send.
        priority: u8,
    },
    /// Install the virtual addresses (and excluded VIPs, virtual routes and
    /// rules, accept-mode firewall) of the instance.
    AddVips,
    /// Remove everything [`Action::AddVips`] installed.
    RemoveVips,
    /// Send `count` gratuitous ARPs / unsolicited NAs for each virtual address.
    SendGratuitous {
        /// Repeats per address.
        count: u32,
    },
    /// The state changed: log it, update status, run the notify scripts.
    Notify {
        /// Previous state.
        from: State,
        /// New state.
        to: State,
        /// Why.
        reason: Reason,
        /// Effective priority (keepalived's fourth `notify` argument).
        priority: u8,
    },
    /// As master we saw a lower-priority advert (keepalived's
    /// `notify_master_rx_lower_pri`): someone else thinks it is master.
    NotifyMasterRxLowerPriority {
        /// The other router.
        source: IpAddr,
        /// Its priority.
        priority: u8,
    },
    /// The effective priority changed (keepalived's `notify_priority_changes`).
    PriorityChanged {
        /// Old effective priority.
        from: u8,
        /// New effective priority.
        to: u8,
    },
    /// An advert was ignored; nothing else happened.
    AdvertDiscarded(DiscardReason),
}

/// The last state change, for status output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    /// Previous state.
    pub from: State,
    /// New state.
    pub to: State,
    /// Why.
    pub reason: Reason,
    /// When.
    pub at: Timestamp,
}

/// The master a backup currently listens to (from its last accepted advert).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerAdvert {
    /// Its primary address.
    pub address: IpAddr,
    /// Its advertised priority.
    pub priority: u8,
}
