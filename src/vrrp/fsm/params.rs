//! Per-instance settings the state machine needs, validated once at construction.

use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::time::AdvertInterval;

/// Priority of the address owner (RFC 5798 §5.2.4): it takes over at once and
/// its priority is never changed by trackers.
pub const PRIORITY_OWNER: u8 = 255;

/// Priority a master sends when it stops being master, so backups take over
/// after Skew_Time instead of a full Master_Down_Interval.
pub const PRIORITY_RELEASE: u8 = 0;

/// Highest priority trackers can give a non-owner (keepalived clamps to 254).
pub const PRIORITY_MAX_TRACKED: u8 = 254;

/// VRRP protocol version of an instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum VrrpVersion {
    /// RFC 3768: IPv4 only, interval in whole seconds, skew not scaled by the interval.
    V2,
    /// RFC 5798: IPv4 and IPv6, interval in centiseconds, skew scaled by the interval.
    V3,
}

/// keepalived's `state MASTER|BACKUP`: the state the instance *wishes* to start in.
///
/// keepalived 2.2.7 always starts through BACKUP; only an address owner
/// (priority 255) with `state MASTER` becomes master at once. For other
/// instances `Master` only matters for sync groups and for config checks
/// (keepalived ignores `nopreempt` and `preempt_delay` with `state MASTER`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum InitialState {
    /// `state BACKUP`.
    Backup,
    /// `state MASTER`.
    Master,
}

impl InitialState {
    /// What keepalived uses when `state` is not configured: `Master` for an
    /// address owner, `Backup` otherwise.
    #[must_use]
    pub const fn default_for_priority(priority: u8) -> Self {
        if priority == PRIORITY_OWNER {
            Self::Master
        } else {
            Self::Backup
        }
    }
}

/// Gratuitous ARP / unsolicited NA timing (keepalived's `garp_*` keywords).
///
/// The state machine only decides *when* and *how many*; sending, rate
/// limiting per interface and the IPv4/IPv6 choice belong to the driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GarpParams {
    /// `garp_master_delay`: delay of the second burst after becoming master (0 = none). Default 5 s.
    pub master_delay: Duration,
    /// `garp_master_repeat`: GARPs per VIP in each burst on becoming master. Default 5.
    pub master_repeat: u32,
    /// `garp_master_refresh`: period of refresh bursts while master (0 = off, the default).
    pub master_refresh: Duration,
    /// `garp_master_refresh_repeat`: GARPs per VIP in each refresh burst. Default 1.
    pub master_refresh_repeat: u32,
    /// `garp_lower_prio_delay`: delay of the second burst after a master sees a
    /// lower-priority advert (0 = none). keepalived defaults it to `master_delay`.
    pub lower_prio_delay: Duration,
    /// `garp_lower_prio_repeat`: GARPs per VIP when a master sees a lower-priority
    /// advert (0 = none). keepalived defaults it to `master_repeat`.
    pub lower_prio_repeat: u32,
}

impl Default for GarpParams {
    /// keepalived's defaults outside strict mode.
    fn default() -> Self {
        Self {
            master_delay: Duration::from_secs(5),
            master_repeat: 5,
            master_refresh: Duration::ZERO,
            master_refresh_repeat: 1,
            lower_prio_delay: Duration::from_secs(5),
            lower_prio_repeat: 5,
        }
    }
}

/// Everything about one `vrrp_instance` that the state machine decides on.
///
/// Fields are public so the config layer can fill them; [`Instance::new`](super::Instance::new)
/// validates them, so a running instance never holds invalid values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceParams {
    /// Protocol version of sent and accepted adverts.
    pub version: VrrpVersion,
    /// Virtual router id, 1..=255 (identifies the instance in logs and status).
    pub vrid: u8,
    /// Configured (base) priority, 1..=255; 255 makes this instance the address owner.
    pub priority: u8,
    /// Our Advertisement_Interval (v2: whole seconds).
    pub advert_interval: AdvertInterval,
    /// `state MASTER|BACKUP`.
    pub initial_state: InitialState,
    /// Preempt_Mode; `false` is keepalived's `nopreempt`.
    pub preempt: bool,
    /// `preempt_delay` (0..=1000 s): how long a higher-priority backup keeps
    /// accepting a lower-priority master before preempting it.
    pub preempt_delay: Duration,
    /// Our primary address (advert source), compared with the sender's on equal priority.
    pub primary_address: IpAddr,
    /// `down_timer_adverts` (1..=100, default 3): adverts missed before the master is declared down.
    pub down_timer_adverts: u8,
    /// `higher_prio_send_advert`: a master that sees a better master sends one
    /// advert before stepping down, so the winner re-announces its addresses.
    pub higher_prio_send_advert: bool,
    /// `lower_prio_no_advert`: a master that sees a lower-priority advert does
    /// not answer with an advert (pre-RFC 9568 behaviour; default under strict mode).
    pub lower_prio_no_advert: bool,
    /// Gratuitous ARP / NA timing.
    pub garp: GarpParams,
}

impl InstanceParams {
    /// keepalived's defaults: priority 100, 1 s interval, `state BACKUP`,
    /// preempt without delay, 3 down-timer adverts, default GARP timing.
    #[must_use]
    pub fn new(version: VrrpVersion, vrid: u8, primary_address: IpAddr) -> Self {
        Self {
            version,
            vrid,
            priority: 100,
            advert_interval: AdvertInterval::ONE_SECOND,
            initial_state: InitialState::Backup,
            preempt: true,
            preempt_delay: Duration::ZERO,
            primary_address,
            down_timer_adverts: 3,
            higher_prio_send_advert: false,
            lower_prio_no_advert: false,
            garp: GarpParams::default(),
        }
    }

    /// Whether this instance is the address owner (priority 255).
    #[must_use]
    pub const fn is_owner(&self) -> bool {
        self.priority == PRIORITY_OWNER
    }

    /// Checks the ranges keepalived enforces; the state machine relies on them.
    ///
    /// # Errors
    /// The first invalid setting found.
    pub fn validate(&self) -> Result<(), ParamsError> {
        if self.vrid == 0 {
            return Err(ParamsError::VridZero);
        }
        if self.priority == 0 {
            return Err(ParamsError::PriorityZero);
        }
        if !self.advert_interval.fits(self.version) {
            return Err(ParamsError::AdvertInterval {
                version: self.version,
                centiseconds: self.advert_interval.centiseconds(),
            });
        }
        if !(1..=MAX_DOWN_TIMER_ADVERTS).contains(&self.down_timer_adverts) {
            return Err(ParamsError::DownTimerAdverts(self.down_timer_adverts));
        }
        if self.preempt_delay > MAX_PREEMPT_DELAY {
            return Err(ParamsError::PreemptDelay(self.preempt_delay));
        }
        Ok(())
    }

    /// Settings keepalived accepts but ignores, with the reason; the config
    /// layer reports them as warnings. The state machine applies the same rules.
    #[must_use]
    pub fn ignored_settings(&self) -> Vec<IgnoredSetting> {
        let mut ignored = Vec::new();
        if !self.preempt && self.is_owner() {
            ignored.push(IgnoredSetting::NopreemptWithOwner);
        } else if !self.preempt && self.initial_state == InitialState::Master {
            ignored.push(IgnoredSetting::NopreemptWithStateMaster);
        }
        if !self.preempt_delay.is_zero() {
            if self.initial_state == InitialState::Master {
                ignored.push(IgnoredSetting::PreemptDelayWithStateMaster);
            } else if !self.preempt {
                ignored.push(IgnoredSetting::PreemptDelayWithNopreempt);
            }
        }
        ignored
    }

    /// Preempt_Mode as applied: `nopreempt` is ignored for an owner or with `state MASTER`.
    pub(super) fn effective_preempt(&self) -> bool {
        self.preempt || self.is_owner() || self.initial_state == InitialState::Master
    }

    /// `preempt_delay` as applied: ignored with `state MASTER` or `nopreempt`.
    pub(super) fn effective_preempt_delay(&self) -> Duration {
        if self.initial_state == InitialState::Master || !self.effective_preempt() {
            Duration::ZERO
        } else {
            self.preempt_delay
        }
    }
}

/// keepalived's upper bound for `down_timer_adverts`.
pub const MAX_DOWN_TIMER_ADVERTS: u8 = 100;

/// keepalived's upper bound for `preempt_delay`.
pub const MAX_PREEMPT_DELAY: Duration = Duration::from_secs(1000);

/// Why [`InstanceParams`] were rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParamsError {
    /// VRID 0 is reserved.
    #[error("virtual_router_id must be 1..=255, got 0")]
    VridZero,
    /// Priority 0 is reserved for the release advert.
    #[error("priority must be 1..=255, got 0")]
    PriorityZero,
    /// The interval cannot be carried by this version's advert.
    #[error("advert_int of {centiseconds} cs does not fit VRRP {version:?} (v2: whole seconds 1..=255, v3: 1..=4095 cs)")]
    AdvertInterval {
        /// Instance version.
        version: VrrpVersion,
        /// Offending interval.
        centiseconds: u32,
    },
    /// `down_timer_adverts` outside 1..=100.
    #[error("down_timer_adverts must be 1..=100, got {0}")]
    DownTimerAdverts(u8),
    /// `preempt_delay` above 1000 s.
    #[error("preempt_delay must be at most 1000 s, got {0:?}")]
    PreemptDelay(Duration),
}

/// A setting that has no effect, as in keepalived (which logs a config error and clears it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum IgnoredSetting {
    /// `nopreempt` with priority 255: an owner always preempts.
    NopreemptWithOwner,
    /// `nopreempt` with `state MASTER`.
    NopreemptWithStateMaster,
    /// `preempt_delay` with `state MASTER`.
    PreemptDelayWithStateMaster,
    /// `preempt_delay` with `nopreempt`.
    PreemptDelayWithNopreempt,
}
