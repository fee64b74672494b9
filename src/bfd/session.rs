//! One BFD session in asynchronous mode (RFC 5880 §6), sans-IO:
//! `(state, event, now) → (state, actions)`.
//!
//! The driver feeds [`Event`]s with the time as a [`Timestamp`] and carries
//! out the [`Action`]s; it sleeps until [`Session::next_deadline`]. Nothing
//! here reads a clock or touches a socket, so every rule is tested exactly
//! (`tests` below).
//!
//! What is implemented: the three-way handshake (Down → Init → Up), the
//! reception rules of §6.8.6, the transmit interval (§6.8.2, §6.8.7, with
//! the 0–25 % jitter, 10–25 % when the multiplier is 1), the detection time
//! (§6.8.4: the remote multiplier × max(our RequiredMinRx, the remote's
//! DesiredMinTx)), the Poll/Final sequence when our DesiredMinTx changes
//! (idle_tx while not Up, min_tx once Up, §6.8.3), passive mode (§6.1: no
//! packet until the remote has been heard), AdminDown. Not implemented:
//! Demand mode (we never ask for it and keep sending periodically when the
//! remote does), the Echo function (we advertise RequiredMinEchoRx 0),
//! authentication (packets with the A bit are refused by the codec).
//!
//! One liberty, taken by most implementations: a state change is announced
//! by a packet sent at once, not at the next transmit time, so a session
//! comes up in one round trip after the first packet rather than after up
//! to two idle intervals.

use super::packet::{diag, ControlPacket, State};
use crate::vrrp::fsm::Timestamp;
use std::time::Duration;

/// The configured parameters of a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionConfig {
    /// bfd.LocalDiscr (non-zero, unique on this system).
    pub local_discr: u32,
    /// DesiredMinTxInterval once Up (`min_tx`).
    pub min_tx: Duration,
    /// DesiredMinTxInterval while not Up (`idle_tx`; RFC 5880 §6.8.3 wants
    /// at least one second).
    pub idle_tx: Duration,
    /// RequiredMinRxInterval (`min_rx`).
    pub min_rx: Duration,
    /// DetectMult (`multiplier`).
    pub detect_mult: u8,
    /// Passive role: send nothing until a packet from the remote arrives.
    pub passive: bool,
}

/// An input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A decoded Control packet from the neighbour.
    Rx(ControlPacket),
    /// The transmit time came (ignored when early).
    TxTimer,
    /// The detection time came (ignored when early or not armed).
    DetectTimer,
    /// Administratively down (the session is being removed).
    AdminDown,
    /// Back from AdminDown.
    AdminUp,
}

/// An output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Send(ControlPacket),
    StateChanged {
        from: State,
        to: State,
        diag: u8,
    },
    /// A received packet was discarded by a §6.8.6 rule.
    Discarded(&'static str),
}

/// bfd.* state variables (RFC 5880 §6.8.1) and the timers.
#[derive(Clone, Debug)]
pub struct Session {
    cfg: SessionConfig,
    state: State,
    local_diag: u8,
    remote_discr: u32,
    remote_state: State,
    /// Microseconds; RFC 5880 initialises it to 1.
    remote_min_rx: u32,
    /// Microseconds; 0 until heard.
    remote_desired_min_tx: u32,
    /// 0 until heard.
    remote_detect_mult: u8,
    /// A Poll sequence is outstanding: our packets carry P.
    poll: bool,
    next_tx: Option<Timestamp>,
    detect_at: Option<Timestamp>,
    rng: u64,
}

fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

impl Session {
    /// A session in Down, first packet due at `now` (active) or none
    /// (passive).
    pub fn new(cfg: SessionConfig, now: Timestamp) -> Session {
        Session {
            cfg,
            state: State::Down,
            local_diag: diag::NONE,
            remote_discr: 0,
            remote_state: State::Down,
            remote_min_rx: 1,
            remote_desired_min_tx: 0,
            remote_detect_mult: 0,
            poll: false,
            next_tx: (!cfg.passive).then_some(now),
            detect_at: None,
            rng: u64::from(cfg.local_discr) ^ 0x9e37_79b9_7f4a_7c15,
        }
    }

    pub fn state(&self) -> State {
        self.state
    }
    pub fn local_diag(&self) -> u8 {
        self.local_diag
    }
    pub fn remote_state(&self) -> State {
        self.remote_state
    }
    pub fn remote_discr(&self) -> u32 {
        self.remote_discr
    }
    pub fn config(&self) -> &SessionConfig {
        &self.cfg
    }
    pub fn poll_outstanding(&self) -> bool {
        self.poll
    }

    /// Seed the jitter generator (tests, or the driver from the OS).
    pub fn seed(&mut self, seed: u64) {
        self.rng = seed | 1;
    }

    /// The DesiredMinTxInterval we advertise now.
    pub fn desired_min_tx(&self) -> Duration {
        if self.state == State::Up {
            self.cfg.min_tx
        } else {
            self.cfg.idle_tx.max(self.cfg.min_tx)
        }
    }

    /// The interval between periodic packets before jitter (§6.8.2), `None`
    /// when the remote asked for none (RequiredMinRxInterval 0).
    pub fn tx_interval(&self) -> Option<Duration> {
        if self.remote_min_rx == 0 {
            return None;
        }
        let remote = Duration::from_micros(u64::from(self.remote_min_rx));
        Some(self.desired_min_tx().max(remote))
    }

    /// The detection time (§6.8.4, asynchronous mode), once the remote has
    /// been heard.
    pub fn detection_time(&self) -> Option<Duration> {
        if self.remote_detect_mult == 0 {
            return None;
        }
        let remote_tx = Duration::from_micros(u64::from(self.remote_desired_min_tx));
        Some(
            self.cfg
                .min_rx
                .max(remote_tx)
                .saturating_mul(u32::from(self.remote_detect_mult)),
        )
    }

    /// When the driver must next call [`Session::handle`] with a timer event.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        match (self.next_tx, self.detect_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub fn next_tx(&self) -> Option<Timestamp> {
        self.next_tx
    }
    pub fn detect_at(&self) -> Option<Timestamp> {
        self.detect_at
    }

    fn random(&mut self) -> u64 {
        // xorshift64*: enough for jitter.
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// The interval with jitter: 75–100 % of it, 75–90 % when DetectMult
    /// is 1 (§6.8.7).
    fn jittered(&mut self, interval: Duration) -> Duration {
        let max_pct: u64 = if self.cfg.detect_mult == 1 { 90 } else { 100 };
        // 75..=max_pct percent, in 1/100 of a percent.
        let span = (max_pct - 75) * 100 + 1;
        let pct = 7500 + self.random() % span;
        let us = u64::try_from(interval.as_micros()).unwrap_or(u64::MAX);
        Duration::from_micros(us / 10_000 * pct + us % 10_000 * pct / 10_000)
    }

    fn schedule_tx(&mut self, now: Timestamp) {
        let passive_wait = self.cfg.passive && self.remote_discr == 0;
        self.next_tx = match self.tx_interval() {
            Some(i) if !passive_wait => Some(now.saturating_add(self.jittered(i))),
            _ => None,
        };
    }

    fn packet(&self, final_: bool) -> ControlPacket {
        ControlPacket {
            diag: self.local_diag,
            state: self.state,
            poll: self.poll && !final_,
            final_,
            control_plane_independent: false,
            demand: false,
            detect_mult: self.cfg.detect_mult,
            my_discr: self.cfg.local_discr,
            your_discr: self.remote_discr,
            desired_min_tx: micros(self.desired_min_tx()),
            required_min_rx: micros(self.cfg.min_rx),
            required_min_echo_rx: 0,
        }
    }

    fn set_state(&mut self, to: State, why: u8, out: &mut Vec<Action>) {
        let from = self.state;
        if from == to {
            return;
        }
        self.state = to;
        self.local_diag = why;
        // Entering Up lowers DesiredMinTx to min_tx: a Poll sequence tells
        // the remote (§6.8.3); leaving Up ends any poll.
        self.poll = to == State::Up && self.cfg.min_tx != self.cfg.idle_tx.max(self.cfg.min_tx);
        out.push(Action::StateChanged {
            from,
            to,
            diag: self.local_diag,
        });
    }

    /// Feed one event.
    pub fn handle(&mut self, ev: Event, now: Timestamp) -> Vec<Action> {
        let mut out = Vec::new();
        let before = self.state;
        let mut send_final = false;
        match ev {
            Event::Rx(p) => match self.receive(&p, now, &mut out) {
                Ok(f) => send_final = f,
                Err(why) => {
                    out.push(Action::Discarded(why));
                    return out;
                }
            },
            Event::TxTimer => {
                if self.next_tx.is_some_and(|t| t <= now) {
                    out.push(Action::Send(self.packet(false)));
                    self.schedule_tx(now);
                }
                return out;
            }
            Event::DetectTimer => {
                if self.detect_at.is_none_or(|t| t > now) {
                    return out;
                }
                self.detect_at = None;
                // §6.8.1: RemoteDiscr is zeroed when the detection time
                // passes; §6.8.4: an Init or Up session goes Down.
                self.remote_discr = 0;
                self.remote_state = State::Down;
                self.remote_min_rx = 1;
                self.remote_desired_min_tx = 0;
                self.remote_detect_mult = 0;
                if matches!(self.state, State::Init | State::Up) {
                    self.set_state(State::Down, diag::DETECT_EXPIRED, &mut out);
                }
            }
            Event::AdminDown => {
                self.set_state(State::AdminDown, diag::ADMIN_DOWN, &mut out);
                self.detect_at = None;
            }
            Event::AdminUp => {
                if self.state == State::AdminDown {
                    self.set_state(State::Down, diag::NONE, &mut out);
                }
            }
        }
        let changed = self.state != before;
        let passive_wait = self.cfg.passive && self.remote_discr == 0;
        if send_final {
            // §6.5: answer a Poll at once, whatever the transmit timer.
            out.push(Action::Send(self.packet(true)));
            if changed {
                self.schedule_tx(now);
            }
        } else if changed && !passive_wait {
            out.push(Action::Send(self.packet(false)));
            self.schedule_tx(now);
        } else if self.next_tx.is_none() && !passive_wait {
            // Passive and just heard the remote, or the remote allowed
            // packets again: start the periodic transmission.
            self.schedule_tx(now);
        }
        out
    }

    /// §6.8.6 from "If the Your Discriminator field is nonzero" on; the
    /// codec made the earlier checks. `Ok(true)`: a Final must be sent.
    fn receive(
        &mut self,
        p: &ControlPacket,
        now: Timestamp,
        out: &mut Vec<Action>,
    ) -> Result<bool, &'static str> {
        if p.your_discr != 0 && p.your_discr != self.cfg.local_discr {
            return Err("your discriminator is not ours");
        }
        if p.your_discr == 0 && !matches!(p.state, State::Down | State::AdminDown) {
            return Err("your discriminator 0 in state Init/Up");
        }
        self.remote_discr = p.my_discr;
        self.remote_state = p.state;
        self.remote_min_rx = p.required_min_rx;
        self.remote_desired_min_tx = p.desired_min_tx;
        self.remote_detect_mult = p.detect_mult;
        if p.final_ && self.poll {
            self.poll = false;
        }
        // The transmit interval changes with the remote's RequiredMinRx: a
        // packet due later than the new interval allows is brought forward.
        if let Some(i) = self.tx_interval() {
            if self.next_tx.is_some_and(|t| t > now.saturating_add(i)) {
                self.next_tx = Some(now.saturating_add(self.jittered(i)));
            }
        } else {
            self.next_tx = None;
        }
        if self.state == State::AdminDown {
            return Err("session is AdminDown");
        }
        if p.state == State::AdminDown {
            if self.state != State::Down {
                self.set_state(State::Down, diag::NEIGHBOR_DOWN, out);
            }
        } else {
            match (self.state, p.state) {
                (State::Down, State::Down) => self.set_state(State::Init, diag::NONE, out),
                (State::Down, State::Init) => self.set_state(State::Up, diag::NONE, out),
                (State::Init, State::Init | State::Up) => {
                    self.set_state(State::Up, diag::NONE, out)
                }
                (State::Up, State::Down) => self.set_state(State::Down, diag::NEIGHBOR_DOWN, out),
                _ => {}
            }
        }
        // The detection timer restarts with every packet kept (§6.8.4),
        // from the values just received.
        self.detect_at = self.detection_time().map(|d| now.saturating_add(d));
        Ok(p.poll)
    }
}

#[cfg(test)]
mod tests;
