//! Time values and the VRRP timer formulas (RFC 3768 §6.1, RFC 5798 §6.1).
//!
//! The state machine never reads a clock: every input carries `now` as a
//! [`Timestamp`], and every timer is a deadline stored in the state. That is
//! what makes the machine deterministic and testable to the nanosecond.

use std::ops::Add;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::params::VrrpVersion;

/// A point in time, measured as the time elapsed since an epoch the driver picks.
///
/// Why not `std::time::Instant`: an `Instant` cannot be built from a number,
/// so tests could not state exact deadlines. A tokio driver keeps one
/// `epoch = tokio::time::Instant::now()` and converts both ways with
/// `Timestamp::from_duration(now - epoch)` and `epoch + ts.as_duration()`.
/// All arithmetic saturates, so no input can make it panic.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Timestamp(Duration);

impl Timestamp {
    /// The driver's epoch (time zero).
    pub const EPOCH: Self = Self(Duration::ZERO);

    /// The point `since_epoch` after the epoch.
    #[must_use]
    pub const fn from_duration(since_epoch: Duration) -> Self {
        Self(since_epoch)
    }

    /// Time elapsed from the epoch to this point.
    #[must_use]
    pub const fn as_duration(self) -> Duration {
        self.0
    }

    /// `self + delta`, clamped at the largest representable time.
    #[must_use]
    pub fn saturating_add(self, delta: Duration) -> Self {
        Self(self.0.saturating_add(delta))
    }

    /// `self - delta`, clamped at the epoch.
    #[must_use]
    pub fn saturating_sub(self, delta: Duration) -> Self {
        Self(self.0.saturating_sub(delta))
    }

    /// Time from `earlier` to `self`, or zero if `earlier` is later.
    #[must_use]
    pub fn saturating_duration_since(self, earlier: Self) -> Duration {
        self.0.saturating_sub(earlier.0)
    }
}

impl Add<Duration> for Timestamp {
    type Output = Self;

    /// Saturating addition (see [`Timestamp::saturating_add`]).
    fn add(self, delta: Duration) -> Self {
        self.saturating_add(delta)
    }
}

/// An advertisement interval, held in centiseconds.
///
/// Centiseconds are the unit of the VRRPv3 "Max Adver Int" field; a VRRPv2
/// interval (whole seconds on the wire) is a multiple of 100. Keeping one
/// integer unit means the skew and down-timer formulas stay exact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AdvertInterval {
    centiseconds: u32,
}

impl AdvertInterval {
    /// Largest VRRPv3 interval: the 12-bit field holds 4095 cs (40.95 s).
    pub const MAX_V3_CENTISECONDS: u32 = 4095;
    /// Largest VRRPv2 interval: the 8-bit field holds 255 s.
    pub const MAX_V2_SECONDS: u32 = 255;
    /// One second, keepalived's default `advert_int`.
    pub const ONE_SECOND: Self = Self { centiseconds: 100 };

    /// An interval of `centiseconds`; `None` for zero, which VRRP cannot use.
    #[must_use]
    pub const fn from_centiseconds(centiseconds: u32) -> Option<Self> {
        if centiseconds == 0 {
            None
        } else {
            Some(Self { centiseconds })
        }
    }

    /// An interval of whole `seconds` (the VRRPv2 unit); `None` for zero or overflow.
    #[must_use]
    pub const fn from_secs(seconds: u32) -> Option<Self> {
        match seconds.checked_mul(100) {
            Some(cs) => Self::from_centiseconds(cs),
            None => None,
        }
    }

    /// The interval in centiseconds.
    #[must_use]
    pub const fn centiseconds(self) -> u32 {
        self.centiseconds
    }

    /// The interval as a [`Duration`].
    #[must_use]
    pub const fn as_duration(self) -> Duration {
        centiseconds_to_duration(self.centiseconds)
    }

    /// Whether this interval can be carried by `version` adverts:
    /// v2 needs whole seconds up to 255, v3 up to 4095 cs.
    #[must_use]
    pub const fn fits(self, version: VrrpVersion) -> bool {
        match version {
            VrrpVersion::V2 => {
                self.centiseconds % 100 == 0 && self.centiseconds / 100 <= Self::MAX_V2_SECONDS
            }
            VrrpVersion::V3 => self.centiseconds <= Self::MAX_V3_CENTISECONDS,
        }
    }
}

/// Centiseconds to a [`Duration`] (10 ms each).
#[must_use]
pub const fn centiseconds_to_duration(centiseconds: u32) -> Duration {
    Duration::from_millis(centiseconds as u64 * 10)
}

/// Skew_Time: how much longer a lower-priority backup waits before taking over.
///
/// - VRRPv2 (RFC 3768 §6.1): `(256 − priority) / 256` **seconds**, whatever the
///   advert interval (keepalived and the measured 2.2.7 baseline agree).
/// - VRRPv3 (RFC 5798 §6.1): `((256 − priority) × Master_Adver_Interval) / 256`.
///
/// Computed in nanoseconds, so e.g. priority 100 gives exactly 0.609375 s (v2)
/// or 60.9375 ms for a 0.1 s v3 interval.
#[must_use]
pub fn skew_time(version: VrrpVersion, priority: u8, master_adver_interval: Duration) -> Duration {
    let weight = 256 - u128::from(priority);
    let nanos = match version {
        VrrpVersion::V2 => weight * 1_000_000_000 / 256,
        VrrpVersion::V3 => weight * master_adver_interval.as_nanos() / 256,
    };
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

/// Master_Down_Interval = `down_timer_adverts × Master_Adver_Interval + Skew_Time`.
///
/// `down_timer_adverts` is 3 in both RFCs; keepalived lets it be set (1..=100)
/// to detect a dead master sooner.
#[must_use]
pub fn master_down_interval(
    version: VrrpVersion,
    down_timer_adverts: u8,
    priority: u8,
    master_adver_interval: Duration,
) -> Duration {
    master_adver_interval
        .saturating_mul(u32::from(down_timer_adverts))
        .saturating_add(skew_time(version, priority, master_adver_interval))
}
