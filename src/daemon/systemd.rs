//! systemd integration through sd_notify(3): readiness, reload, stop and the
//! watchdog (packaging/keepalived-rs.service runs us as `Type=notify`).
//!
//! Every call is a no-op when `NOTIFY_SOCKET` is not set, so the daemon
//! behaves the same outside systemd. Messages go through the `sd-notify`
//! crate; what we send:
//!
//! - `READY=1` (with a `STATUS=` line) once the VRRP engine has started and
//!   the signal handlers are in place, so a stop request right after start
//!   is handled (VIPs released) rather than killing us;
//! - `RELOADING=1` with `MONOTONIC_USEC=` when SIGHUP arrives, then `READY=1`
//!   when the reload is over (`Type=notify-reload` semantics, also right for
//!   `Type=notify` with `ExecReload=kill -HUP`);
//! - `STOPPING=1` when a stop begins;
//! - `WATCHDOG=1` at half of `WATCHDOG_USEC`, but only while the VRRP thread
//!   shows it is alive (see [`Heartbeat`]). If the VRRP thread stalls or its
//!   engine has ended, pings stop and systemd restarts the service
//!   (`Restart=on-failure`), which is what an operator wants from a router
//!   that no longer sends adverts.
//!
//! The watchdog only works with `--dont-fork` (`-n`): after a fork the pid no
//! longer matches `WATCHDOG_PID`/`MAINPID`, and systemd ignores messages from
//! other processes by default (`NotifyAccess=main`).

use crate::vrrp::engine::SharedStats;
use sd_notify::NotifyState;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// What we tell the service manager.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// Started (or finished reloading); `status` is a one-line summary.
    Ready { status: String },
    /// A reload began at `monotonic_usec` (CLOCK_MONOTONIC, microseconds).
    Reloading { monotonic_usec: i128 },
    /// A stop began.
    Stopping,
    /// Keep-alive ping.
    Watchdog,
}

impl Event {
    /// The sd_notify fields of this event, in the order sent.
    pub fn states(&self) -> Vec<NotifyState<'_>> {
        match self {
            Event::Ready { status } => vec![NotifyState::Ready, NotifyState::Status(status)],
            Event::Reloading { monotonic_usec } => vec![
                NotifyState::Reloading,
                NotifyState::MonotonicUsec(*monotonic_usec),
                NotifyState::Status("reloading"),
            ],
            Event::Stopping => vec![NotifyState::Stopping, NotifyState::Status("stopping")],
            Event::Watchdog => vec![NotifyState::Watchdog],
        }
    }

    /// The datagram as it goes on the wire: one `KEY=VALUE` line per field
    /// (what `sd_notify::notify` sends for [`Event::states`]).
    pub fn message(&self) -> String {
        self.states().iter().map(|s| format!("{s}\n")).collect()
    }
}

/// Send `event` if we run under a service manager. Failures are logged,
/// never fatal: losing a notification must not stop a router.
pub fn send(event: &Event) {
    if std::env::var_os("NOTIFY_SOCKET").is_none() {
        return;
    }
    if let Err(e) = sd_notify::notify(&event.states()) {
        tracing::warn!(error = %e, "cannot notify the service manager");
    }
}

/// `READY=1`: the engines run and signals are handled. The status line
/// counts the VRRP instances.
pub fn ready(stats: &SharedStats) {
    let n = stats.lock().map_or(0, |s| s.len());
    send(&Event::Ready {
        status: format!("running {n} VRRP instance(s)"),
    });
}

/// `RELOADING=1` + `MONOTONIC_USEC`: SIGHUP received, reload under way.
pub fn reloading() {
    match sd_notify::NotifyState::monotonic_usec_now() {
        Ok(NotifyState::MonotonicUsec(usec)) => send(&Event::Reloading {
            monotonic_usec: usec,
        }),
        // systemd requires MONOTONIC_USEC with RELOADING=1 for notify-reload;
        // without a clock reading say nothing rather than something wrong.
        Ok(_) | Err(_) => tracing::warn!("cannot read CLOCK_MONOTONIC; reload not announced"),
    }
}

/// `STOPPING=1`: a stop began.
pub fn stopping() {
    send(&Event::Stopping);
}

/// A counter the VRRP thread advances from a task on its own runtime. The
/// runtime is single-threaded, so the counter moves only while that thread
/// is scheduling tasks: a VRRP engine stuck in a blocking call, or ended,
/// stops it.
#[derive(Clone, Debug, Default)]
pub struct Heartbeat(Arc<AtomicU64>);

impl Heartbeat {
    pub fn new() -> Heartbeat {
        Heartbeat::default()
    }

    pub fn beats(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    /// Run on the VRRP thread's runtime (spawned there); beats every `period`.
    pub async fn run(self, period: Duration) {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The watchdog interval systemd asked for (`WATCHDOG_USEC`, when
/// `WATCHDOG_PID` is unset or ours), if any.
pub fn watchdog_interval() -> Option<Duration> {
    sd_notify::watchdog_enabled().filter(|d| !d.is_zero())
}

/// How often to ping for a watchdog of `interval`: half of it, as
/// sd_watchdog_enabled(3) recommends.
pub fn ping_period(interval: Duration) -> Duration {
    interval / 2
}

/// How often the VRRP thread's heartbeat must beat so the watchdog sees
/// several beats between two pings.
pub fn beat_period(interval: Duration) -> Duration {
    (ping_period(interval) / 4).clamp(Duration::from_millis(10), Duration::from_secs(1))
}

/// Decides, at each ping, whether the VRRP thread beat since the last one.
#[derive(Debug)]
pub struct Liveness {
    last: Option<u64>,
}

impl Liveness {
    pub fn new() -> Liveness {
        Liveness { last: None }
    }

    /// `beats` is the heartbeat now, `None` when no VRRP thread runs (then
    /// only the main runtime's own liveness counts). True: ping.
    pub fn alive(&mut self, beats: Option<u64>) -> bool {
        let Some(now) = beats else { return true };
        let alive = self.last != Some(now);
        self.last = Some(now);
        alive
    }
}

impl Default for Liveness {
    fn default() -> Self {
        Liveness::new()
    }
}

/// Ping the watchdog from the main runtime for as long as the process runs;
/// returns at once when systemd asked for no watchdog. `vrrp` is the VRRP
/// thread's heartbeat, when that thread runs.
pub async fn watchdog(vrrp: Option<Heartbeat>) {
    let Some(interval) = watchdog_interval() else {
        return;
    };
    let period = ping_period(interval);
    tracing::info!(
        interval_ms = interval.as_millis() as u64,
        "systemd watchdog enabled"
    );
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut live = Liveness::new();
    let mut stalled = false;
    loop {
        tick.tick().await;
        if live.alive(vrrp.as_ref().map(Heartbeat::beats)) {
            if stalled {
                tracing::warn!("VRRP thread responsive again; resuming watchdog pings");
                stalled = false;
            }
            send(&Event::Watchdog);
        } else if !stalled {
            tracing::error!(
                "VRRP thread shows no sign of life; withholding watchdog pings (systemd will restart us)"
            );
            stalled = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_key_value_lines() {
        assert_eq!(
            Event::Ready {
                status: "running 2 VRRP instances".into()
            }
            .message(),
            "READY=1\nSTATUS=running 2 VRRP instances\n"
        );
        assert_eq!(
            Event::Reloading {
                monotonic_usec: 123_456_789
            }
            .message(),
            "RELOADING=1\nMONOTONIC_USEC=123456789\nSTATUS=reloading\n"
        );
        assert_eq!(Event::Stopping.message(), "STOPPING=1\nSTATUS=stopping\n");
        assert_eq!(Event::Watchdog.message(), "WATCHDOG=1\n");
    }

    #[test]
    fn ping_and_beat_periods() {
        let i = Duration::from_secs(10);
        assert_eq!(ping_period(i), Duration::from_secs(5));
        assert_eq!(beat_period(i), Duration::from_secs(1));
        assert_eq!(
            beat_period(Duration::from_millis(400)),
            Duration::from_millis(50)
        );
        assert_eq!(
            beat_period(Duration::from_millis(20)),
            Duration::from_millis(10)
        );
    }

    #[test]
    fn liveness_needs_a_beat_between_pings() {
        let mut l = Liveness::new();
        assert!(l.alive(Some(0)), "first look: alive");
        assert!(!l.alive(Some(0)), "no beat since: stalled");
        assert!(l.alive(Some(3)));
        assert!(!l.alive(Some(3)));
        assert!(l.alive(None), "no VRRP thread: the main runtime answers");
    }

    #[tokio::test]
    async fn heartbeat_beats_on_its_runtime() {
        let hb = Heartbeat::new();
        let task = tokio::spawn(hb.clone().run(Duration::from_millis(10)));
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(hb.beats() >= 3, "beats: {}", hb.beats());
        task.abort();
    }
}
