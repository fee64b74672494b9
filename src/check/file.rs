//! FILE_CHECK: a real server's health and weight from the number in a
//! `track_file`.
//!
//! keepalived's rules (keepalived.conf(5) "Track files", track_file.c):
//! - The file's first 127 bytes are read as a C `strtol(.., 0)` number
//!   (leading blanks, a sign, `0x` hex and `0` octal prefixes; anything after
//!   the number is ignored, no number at all is 0). A missing or empty file
//!   reads as 0. A number outside [−2^31, 2^31] is logged and ignored: the
//!   previous value stays.
//! - The weight is the FILE_CHECK's `weight N [reverse]`, else the
//!   track_file's own.
//! - Weight 0: a non-zero value is a failure, 0 is fine (`reverse` swaps
//!   the two).
//! - Otherwise value × weight (negated by `reverse`), clamped to 32 bits, is
//!   added to the real server's weight; a result of −2^31 or less is a
//!   failure.
//!
//! The probe reads the file each time it is run, so the scheduler decides
//! how often it is looked at (keepalived watches it with inotify; FILE_CHECK
//! has no delay_loop of its own).

use super::probe::{Probe, ProbeFuture, ProbeOutcome};
use crate::config::model::lvs::FileCheck;
use crate::config::model::TrackFile;
use std::sync::Mutex;

/// How much of the file keepalived reads.
const READ_LIMIT: usize = 127;

/// One FILE_CHECK of one real server.
pub struct FileProbe {
    track_file: String,
    path: String,
    weight: i32,
    reverse: bool,
    rs_weight: u32,
    /// The last value read that was a valid number (0 until one is read).
    last_value: Mutex<i64>,
}

impl FileProbe {
    /// Build the probe of `check`, whose `track_file` names one of
    /// `track_files` (the configuration's top-level `track_file` blocks).
    /// `rs_weight` is the real server's configured weight
    /// (`EffectiveRealServer::weight`): the file's value is added to it.
    ///
    /// Fails when the track_file does not exist (keepalived drops the checker).
    pub fn new(
        check: &FileCheck,
        track_files: &[TrackFile],
        rs_weight: u32,
    ) -> Result<FileProbe, String> {
        let tf = track_files
            .iter()
            .find(|t| t.name == check.track_file)
            .ok_or_else(|| format!("FILE_CHECK: track_file {} not found", check.track_file))?;
        let (weight, reverse) = match check.weight {
            Some(w) => (w, check.weight_reverse),
            None => (tf.weight, tf.weight_reverse),
        };
        Ok(FileProbe {
            track_file: tf.name.clone(),
            path: tf.file.clone(),
            weight,
            reverse,
            rs_weight,
            last_value: Mutex::new(0),
        })
    }

    async fn read_value(&self) -> Option<i64> {
        use tokio::io::AsyncReadExt;
        let mut options = tokio::fs::OpenOptions::new();
        // A FIFO without a writer must not block the check.
        options.read(true).custom_flags(libc::O_NONBLOCK);
        let Ok(mut file) = options.open(&self.path).await else {
            return Some(0);
        };
        let mut buf = Vec::with_capacity(READ_LIMIT);
        match (&mut file)
            .take(READ_LIMIT as u64)
            .read_to_end(&mut buf)
            .await
        {
            Ok(_) => parse_value(&buf),
            Err(_) => Some(0),
        }
    }
}

/// The number in a track file's contents; `None` when keepalived would log
/// it as invalid and keep the previous value (out of range).
pub fn parse_value(contents: &[u8]) -> Option<i64> {
    let n = strtol(contents)?;
    (i64::from(i32::MIN)..=i64::from(i32::MAX) + 1)
        .contains(&n)
        .then_some(n)
}

/// C's `strtol(s, NULL, 0)`: `None` on overflow of a 64-bit long (ERANGE).
fn strtol(s: &[u8]) -> Option<i64> {
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
        i += 1;
    }
    let negative = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let radix: u32 = if s.get(i) == Some(&b'0')
        && matches!(s.get(i + 1), Some(b'x' | b'X'))
        && s.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
    {
        i += 2;
        16
    } else if s.get(i) == Some(&b'0') {
        8
    } else {
        10
    };
    // Accumulate as a negative number so i64::MIN itself parses.
    let mut value: i64 = 0;
    while let Some(d) = s.get(i).and_then(|c| char::from(*c).to_digit(radix)) {
        value = value
            .checked_mul(i64::from(radix))?
            .checked_sub(i64::from(d))?;
        i += 1;
    }
    if negative {
        Some(value)
    } else {
        value.checked_neg()
    }
}

/// What a file value means for the real server: down, up with the
/// configured weight, or up with the weight the value sets.
pub fn outcome_of(value: i64, weight: i32, reverse: bool, rs_weight: u32) -> ProbeOutcome {
    if weight == 0 {
        let failed = (value != 0) != reverse;
        return if failed {
            ProbeOutcome::Down(format!("file value {value}"))
        } else {
            ProbeOutcome::Up
        };
    }
    let sign = if reverse { -1 } else { 1 };
    let delta = value
        .saturating_mul(i64::from(weight))
        .saturating_mul(sign)
        .clamp(i64::from(i32::MIN), i64::from(i32::MAX));
    if delta == i64::from(i32::MIN) {
        return ProbeOutcome::Down(format!("file value {value} × weight {weight}: fault"));
    }
    if delta == 0 {
        return ProbeOutcome::Up;
    }
    // The kernel's weights are 0..=i32::MAX.
    let total = (i64::from(rs_weight) + delta).clamp(0, i64::from(i32::MAX));
    ProbeOutcome::UpWithWeight(u32::try_from(total).unwrap_or(0))
}

impl Probe for FileProbe {
    fn probe(&self) -> ProbeFuture<'_> {
        Box::pin(async move {
            let read = self.read_value().await;
            let value = {
                let mut last = self
                    .last_value
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if let Some(v) = read {
                    *last = v;
                } else {
                    tracing::info!(
                        file = %self.path,
                        "invalid number read from track file - ignoring"
                    );
                }
                *last
            };
            outcome_of(value, self.weight, self.reverse, self.rs_weight)
        })
    }

    fn describe(&self) -> String {
        format!("FILE_CHECK {} ({})", self.track_file, self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_like_strtol() {
        let cases: &[(&[u8], Option<i64>)] = &[
            (b"", Some(0)),
            (b"12\n", Some(12)),
            (b"  -7 trailing", Some(-7)),
            (b"+3", Some(3)),
            (b"0x1f", Some(31)),
            (b"0X1F", Some(31)),
            (b"010", Some(8)),
            (b"09", Some(0)),
            (b"0x", Some(0)),
            (b"abc", Some(0)),
            (b"\t\n 5", Some(5)),
            (b"2147483648", Some(2_147_483_648)),
            (b"2147483649", None),
            (b"-2147483648", Some(-2_147_483_648)),
            (b"-2147483649", None),
            (b"99999999999999999999999", None),
            (b"-9223372036854775808", None),
            (&[0xff, 0xfe, b'1'], Some(0)),
        ];
        for (input, want) in cases {
            assert_eq!(
                parse_value(input),
                *want,
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn weight_zero_is_a_switch() {
        assert_eq!(outcome_of(0, 0, false, 1), ProbeOutcome::Up);
        assert!(!outcome_of(1, 0, false, 1).is_up());
        assert!(!outcome_of(-5, 0, false, 1).is_up());
        assert!(!outcome_of(0, 0, true, 1).is_up());
        assert_eq!(outcome_of(3, 0, true, 1), ProbeOutcome::Up);
    }

    #[test]
    fn weighted_values_adjust_the_real_server_weight() {
        assert_eq!(outcome_of(0, 5, false, 10), ProbeOutcome::Up);
        assert_eq!(outcome_of(2, 5, false, 10), ProbeOutcome::UpWithWeight(20));
        assert_eq!(outcome_of(2, 5, true, 10), ProbeOutcome::UpWithWeight(0));
        assert_eq!(outcome_of(-1, 3, false, 10), ProbeOutcome::UpWithWeight(7));
        assert_eq!(
            outcome_of(i64::from(i32::MAX), 2, false, 10),
            ProbeOutcome::UpWithWeight(i32::MAX.unsigned_abs())
        );
        // −2^31 or less after weighting: fault.
        assert!(!outcome_of(-2_147_483_648, 1, false, 10).is_up());
        assert!(!outcome_of(2_147_483_648, 1, true, 10).is_up());
        assert!(!outcome_of(-1_073_741_824, 2, false, 10).is_up());
        assert!(outcome_of(-1_073_741_823, 2, false, 10).is_up());
    }

    fn track(name: &str, file: &str, weight: i32, reverse: bool) -> TrackFile {
        TrackFile {
            name: name.into(),
            file: file.into(),
            weight,
            weight_reverse: reverse,
            init_file: None,
        }
    }

    #[test]
    fn weight_comes_from_the_check_or_the_track_file() {
        let tfs = [track("tf", "/nonexistent", 4, true)];
        let own = FileCheck {
            track_file: "tf".into(),
            weight: Some(2),
            weight_reverse: false,
        };
        let p = FileProbe::new(&own, &tfs, 1).unwrap();
        assert_eq!((p.weight, p.reverse), (2, false));
        let inherited = FileCheck {
            track_file: "tf".into(),
            ..Default::default()
        };
        let p = FileProbe::new(&inherited, &tfs, 1).unwrap();
        assert_eq!((p.weight, p.reverse), (4, true));
        let missing = FileCheck {
            track_file: "nope".into(),
            ..Default::default()
        };
        assert!(FileProbe::new(&missing, &tfs, 1).is_err());
    }

    proptest::proptest! {
        /// Any file contents read without panicking; decimal numbers in
        /// range read as themselves.
        #[test]
        fn any_contents_read(contents in proptest::collection::vec(proptest::num::u8::ANY, 0..160)) {
            let _ = parse_value(&contents);
        }

        #[test]
        fn numbers_in_range_read_back(n in proptest::num::i32::ANY, pad in " {0,3}") {
            let text = format!("{pad}{n}\n");
            proptest::prop_assert_eq!(parse_value(text.as_bytes()), Some(i64::from(n)));
        }

        #[test]
        fn any_value_and_weight_give_an_outcome(
            v in proptest::num::i64::ANY,
            w in proptest::num::i32::ANY,
            reverse in proptest::bool::ANY,
            rs in proptest::num::u32::ANY,
        ) {
            let _ = outcome_of(v, w, reverse, rs);
        }
    }
}
