//! How the state of a tracked object (interface, vrrp_script, track_file,
//! vrrp_track_process) becomes a priority change or a FAULT for an instance
//! that tracks it.  Pure; shared by the engine (tracked interfaces) and
//! `crate::daemon::trackers` (everything else), so both follow one rule.
//!
//! The rules are keepalived's, checked against keepalived 2.2.7 in a
//! namespace (its SIGUSR1 dump shows the effective priority):
//! - weight 0: the instance is in FAULT while the object is down (`reverse`:
//!   while it is up);
//! - weight > 0: the weight is added while the object is up;
//! - weight < 0: the weight is added (it lowers the priority) while the
//!   object is down;
//! - `reverse` negates the adjustment and keeps its condition: `weight 10
//!   reverse` gives -10 while up, `weight -10 reverse` gives +10 while down;
//! - a track_file's number is multiplied by the weight (negated by
//!   `reverse`); with weight 0 any non-zero number is a FAULT, and a product
//!   below -253 is a FAULT too.

/// What one tracked object contributes to one instance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Effect {
    /// Added to the instance's base priority (the sum over all trackers is
    /// clamped to 1..=254 by the state machine).
    pub weight: i64,
    /// The instance must be in FAULT.
    pub fault: bool,
}

/// The lowest track_file product that only lowers the priority; below it the
/// instance is in FAULT (keepalived: "less than -253").
pub const FILE_FAULT_BELOW: i64 = -253;

/// An object that is either up or down (interface, script, process).
pub fn up_down(up: bool, weight: i32, reverse: bool) -> Effect {
    let sign = if reverse { -1 } else { 1 };
    let w = i64::from(weight);
    match weight.signum() {
        0 => Effect {
            weight: 0,
            fault: up == reverse,
        },
        1 if up => Effect {
            weight: w * sign,
            fault: false,
        },
        -1 if !up => Effect {
            weight: w * sign,
            fault: false,
        },
        _ => Effect::default(),
    }
}

/// A track_file holding `value`.
pub fn file_value(value: i64, weight: i32, reverse: bool) -> Effect {
    if weight == 0 {
        return Effect {
            weight: 0,
            fault: value != 0,
        };
    }
    let sign = if reverse { -1 } else { 1 };
    let product = value.saturating_mul(i64::from(weight)).saturating_mul(sign);
    if product < FILE_FAULT_BELOW {
        Effect {
            weight: 0,
            fault: true,
        }
    } else {
        Effect {
            weight: product,
            fault: false,
        }
    }
}

/// The sum of many effects: weights add (saturating), any FAULT is a FAULT.
pub fn combine(effects: impl IntoIterator<Item = Effect>) -> Effect {
    effects
        .into_iter()
        .fold(Effect::default(), |acc, e| Effect {
            weight: acc.weight.saturating_add(e.weight),
            fault: acc.fault || e.fault,
        })
}

/// A weight sum as the engine takes it (the state machine clamps the
/// resulting priority, so saturating at the i32 range changes nothing).
pub fn weight_sum_i32(weight: i64) -> i32 {
    i32::try_from(weight).unwrap_or(if weight < 0 { i32::MIN } else { i32::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(weight: i64) -> Effect {
        Effect {
            weight,
            fault: false,
        }
    }
    const FAULT: Effect = Effect {
        weight: 0,
        fault: true,
    };
    const NONE: Effect = Effect {
        weight: 0,
        fault: false,
    };

    #[test]
    fn up_down_follows_keepalived() {
        // (up, weight, reverse) -> effect; the reverse rows are what
        // keepalived 2.2.7 reports for `weight N reverse`.
        let table = [
            (true, 0, false, NONE),
            (false, 0, false, FAULT),
            (true, 0, true, FAULT),
            (false, 0, true, NONE),
            (true, 10, false, w(10)),
            (false, 10, false, NONE),
            (true, -10, false, NONE),
            (false, -10, false, w(-10)),
            (true, 10, true, w(-10)),
            (false, 10, true, NONE),
            (true, -10, true, NONE),
            (false, -10, true, w(10)),
        ];
        for (up, weight, reverse, want) in table {
            assert_eq!(
                up_down(up, weight, reverse),
                want,
                "up={up} weight={weight} reverse={reverse}"
            );
        }
    }

    #[test]
    fn file_value_multiplies_and_faults() {
        assert_eq!(file_value(5, 3, false), w(15));
        assert_eq!(file_value(5, 3, true), w(-15));
        assert_eq!(file_value(-84, 3, false), w(-252));
        assert_eq!(file_value(-253, 1, false), w(-253));
        assert_eq!(file_value(-254, 1, false), FAULT);
        assert_eq!(file_value(-300, 1, false), FAULT);
        assert_eq!(file_value(0, 0, false), NONE);
        assert_eq!(file_value(7, 0, false), FAULT);
        assert_eq!(file_value(-1, 0, false), FAULT);
        assert_eq!(file_value(i64::MAX, 2, false), w(i64::MAX));
        assert_eq!(file_value(i64::MAX, 2, true), FAULT);
    }

    #[test]
    fn combine_adds_and_ors() {
        assert_eq!(combine([]), NONE);
        assert_eq!(combine([w(10), w(-25), NONE]), w(-15));
        assert_eq!(
            combine([w(10), FAULT]),
            Effect {
                weight: 10,
                fault: true
            }
        );
        assert_eq!(weight_sum_i32(i64::MIN), i32::MIN);
        assert_eq!(weight_sum_i32(-15), -15);
    }
}
