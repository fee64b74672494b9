//! The BFD Control packet (RFC 5880 §4.1): the 24-byte mandatory section.
//! Authentication is not supported: a packet with the A bit is rejected, as
//! RFC 5880 §6.8.6 requires of a session without authentication.
//!
//! Pure: [`ControlPacket::decode`] checks everything §6.8.6 says about the
//! packet itself (version, length, multiplier, M bit, My Discriminator) and
//! returns a typed [`DecodeError`]; the session checks the rest.

use thiserror::Error;

/// Length of the mandatory section (no authentication).
pub const LEN: usize = 24;
/// The only protocol version.
pub const VERSION: u8 = 1;

/// A session state as carried in the Sta field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum State {
    AdminDown = 0,
    Down = 1,
    Init = 2,
    Up = 3,
}

impl State {
    fn from_bits(b: u8) -> State {
        match b & 3 {
            0 => State::AdminDown,
            1 => State::Down,
            2 => State::Init,
            _ => State::Up,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            State::AdminDown => "AdminDown",
            State::Down => "Down",
            State::Init => "Init",
            State::Up => "Up",
        }
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// Diagnostic codes (RFC 5880 §4.1); values above 8 are kept as they come.
pub mod diag {
    pub const NONE: u8 = 0;
    pub const DETECT_EXPIRED: u8 = 1;
    pub const ECHO_FAILED: u8 = 2;
    pub const NEIGHBOR_DOWN: u8 = 3;
    pub const FORWARDING_RESET: u8 = 4;
    pub const PATH_DOWN: u8 = 5;
    pub const CONCAT_PATH_DOWN: u8 = 6;
    pub const ADMIN_DOWN: u8 = 7;
    pub const REVERSE_CONCAT_PATH_DOWN: u8 = 8;

    /// A short label for logs.
    pub fn label(d: u8) -> &'static str {
        match d {
            NONE => "no diagnostic",
            DETECT_EXPIRED => "control detection time expired",
            ECHO_FAILED => "echo function failed",
            NEIGHBOR_DOWN => "neighbor signaled session down",
            FORWARDING_RESET => "forwarding plane reset",
            PATH_DOWN => "path down",
            CONCAT_PATH_DOWN => "concatenated path down",
            ADMIN_DOWN => "administratively down",
            REVERSE_CONCAT_PATH_DOWN => "reverse concatenated path down",
            _ => "unknown diagnostic",
        }
    }
}

/// One Control packet (mandatory section).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ControlPacket {
    /// 5 bits.
    pub diag: u8,
    pub state: State,
    pub poll: bool,
    pub final_: bool,
    pub control_plane_independent: bool,
    pub demand: bool,
    pub detect_mult: u8,
    pub my_discr: u32,
    pub your_discr: u32,
    /// Microseconds.
    pub desired_min_tx: u32,
    /// Microseconds.
    pub required_min_rx: u32,
    /// Microseconds (0: no Echo packets wanted).
    pub required_min_echo_rx: u32,
}

/// Why a received packet is dropped before it reaches a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Error)]
pub enum DecodeError {
    #[error("shorter than 24 bytes ({0})")]
    Short(usize),
    #[error("version {0}, not 1")]
    Version(u8),
    #[error("length field {field} invalid for {received} bytes received")]
    Length { field: u8, received: usize },
    #[error("authentication present (not supported)")]
    Authenticated,
    #[error("detect multiplier 0")]
    ZeroMultiplier,
    #[error("multipoint bit set")]
    Multipoint,
    #[error("my discriminator 0")]
    ZeroDiscriminator,
}

impl DecodeError {
    /// A stable label for counters.
    pub fn label(&self) -> &'static str {
        match self {
            DecodeError::Short(_) => "short",
            DecodeError::Version(_) => "version",
            DecodeError::Length { .. } => "length",
            DecodeError::Authenticated => "auth",
            DecodeError::ZeroMultiplier => "multiplier",
            DecodeError::Multipoint => "multipoint",
            DecodeError::ZeroDiscriminator => "discriminator",
        }
    }
}

fn be32(b: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    if let Some(s) = b.get(at..at + 4) {
        w.copy_from_slice(s);
    }
    u32::from_be_bytes(w)
}

impl ControlPacket {
    /// The 24 bytes on the wire.
    pub fn encode(&self) -> [u8; LEN] {
        let mut b = [0u8; LEN];
        b[0] = (VERSION << 5) | (self.diag & 0x1f);
        b[1] = ((self.state as u8) << 6)
            | (u8::from(self.poll) << 5)
            | (u8::from(self.final_) << 4)
            | (u8::from(self.control_plane_independent) << 3)
            | (u8::from(self.demand) << 1);
        b[2] = self.detect_mult;
        b[3] = LEN as u8;
        b[4..8].copy_from_slice(&self.my_discr.to_be_bytes());
        b[8..12].copy_from_slice(&self.your_discr.to_be_bytes());
        b[12..16].copy_from_slice(&self.desired_min_tx.to_be_bytes());
        b[16..20].copy_from_slice(&self.required_min_rx.to_be_bytes());
        b[20..24].copy_from_slice(&self.required_min_echo_rx.to_be_bytes());
        b
    }

    /// Parse and check a received datagram (RFC 5880 §6.8.6, the checks on
    /// the packet alone). Bytes after the Length are ignored.
    pub fn decode(b: &[u8]) -> Result<ControlPacket, DecodeError> {
        if b.len() < LEN {
            return Err(DecodeError::Short(b.len()));
        }
        let version = b[0] >> 5;
        if version != VERSION {
            return Err(DecodeError::Version(version));
        }
        let auth = b[1] & 0x04 != 0;
        let len = b[3];
        let min = if auth { LEN + 2 } else { LEN };
        if usize::from(len) < min || usize::from(len) > b.len() {
            return Err(DecodeError::Length {
                field: len,
                received: b.len(),
            });
        }
        if auth {
            return Err(DecodeError::Authenticated);
        }
        if b[2] == 0 {
            return Err(DecodeError::ZeroMultiplier);
        }
        if b[1] & 0x01 != 0 {
            return Err(DecodeError::Multipoint);
        }
        let my_discr = be32(b, 4);
        if my_discr == 0 {
            return Err(DecodeError::ZeroDiscriminator);
        }
        Ok(ControlPacket {
            diag: b[0] & 0x1f,
            state: State::from_bits(b[1] >> 6),
            poll: b[1] & 0x20 != 0,
            final_: b[1] & 0x10 != 0,
            control_plane_independent: b[1] & 0x08 != 0,
            demand: b[1] & 0x02 != 0,
            detect_mult: b[2],
            my_discr,
            your_discr: be32(b, 8),
            desired_min_tx: be32(b, 12),
            required_min_rx: be32(b, 16),
            required_min_echo_rx: be32(b, 20),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> ControlPacket {
        ControlPacket {
            diag: diag::NEIGHBOR_DOWN,
            state: State::Init,
            poll: true,
            final_: false,
            control_plane_independent: false,
            demand: false,
            detect_mult: 3,
            my_discr: 0x0102_0304,
            your_discr: 0,
            desired_min_tx: 1_000_000,
            required_min_rx: 10_000,
            required_min_echo_rx: 0,
        }
    }

    #[test]
    fn encodes_the_rfc_layout() {
        let b = sample().encode();
        assert_eq!(
            b,
            [
                0x23, 0xa0, 3, 24, 1, 2, 3, 4, 0, 0, 0, 0, 0x00, 0x0f, 0x42, 0x40, 0, 0, 0x27,
                0x10, 0, 0, 0, 0
            ]
        );
        assert_eq!(ControlPacket::decode(&b), Ok(sample()));
    }

    #[test]
    fn rejects_what_rfc5880_6_8_6_discards() {
        let good = sample().encode();
        let with = |f: &dyn Fn(&mut [u8; 24])| {
            let mut b = good;
            f(&mut b);
            ControlPacket::decode(&b)
        };
        assert_eq!(
            ControlPacket::decode(&good[..23]),
            Err(DecodeError::Short(23))
        );
        assert_eq!(with(&|b| b[0] = 0x43), Err(DecodeError::Version(2)));
        assert_eq!(
            with(&|b| b[3] = 23),
            Err(DecodeError::Length {
                field: 23,
                received: 24
            })
        );
        assert_eq!(
            with(&|b| b[3] = 25),
            Err(DecodeError::Length {
                field: 25,
                received: 24
            })
        );
        // A bit: 26 bytes minimum, and then refused.
        assert!(matches!(
            with(&|b| b[1] |= 0x04),
            Err(DecodeError::Length { .. })
        ));
        let mut long = good.to_vec();
        long.extend_from_slice(&[1, 2]);
        long[1] |= 0x04;
        long[3] = 26;
        assert_eq!(
            ControlPacket::decode(&long),
            Err(DecodeError::Authenticated)
        );
        assert_eq!(with(&|b| b[2] = 0), Err(DecodeError::ZeroMultiplier));
        assert_eq!(with(&|b| b[1] |= 1), Err(DecodeError::Multipoint));
        assert_eq!(
            with(&|b| b[4..8].fill(0)),
            Err(DecodeError::ZeroDiscriminator)
        );
        // Trailing bytes beyond Length are ignored.
        let mut pad = good.to_vec();
        pad.push(0);
        assert_eq!(ControlPacket::decode(&pad), Ok(sample()));
    }

    fn any_state() -> impl Strategy<Value = State> {
        prop_oneof![
            Just(State::AdminDown),
            Just(State::Down),
            Just(State::Init),
            Just(State::Up)
        ]
    }

    proptest! {
        #[test]
        fn round_trip(
            diag in 0u8..32, state in any_state(), poll: bool, final_: bool,
            cpi: bool, demand: bool, detect_mult in 1u8..=255, my_discr in 1u32..,
            your_discr: u32, tx: u32, rx: u32, echo: u32,
        ) {
            let p = ControlPacket {
                diag, state, poll, final_, control_plane_independent: cpi, demand,
                detect_mult, my_discr, your_discr, desired_min_tx: tx,
                required_min_rx: rx, required_min_echo_rx: echo,
            };
            prop_assert_eq!(ControlPacket::decode(&p.encode()), Ok(p));
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(p) = ControlPacket::decode(&bytes) {
                // What decodes re-encodes to the same mandatory section
                // (the reserved bit and a 24-byte Length aside).
                let e = p.encode();
                prop_assert_eq!(&e[4..24], &bytes[4..24]);
            }
        }
    }
}
