//! Table-driven tests: every bullet of RFC 5798 §6.4.1–6.4.3 (each row names
//! its bullet) and keepalived 2.2.7's refinements. Every row checks the exact
//! state, the exact action list and the exact next deadline.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use super::*;

// ===== helpers =====

const OURS: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 168, 77, 11));
const LOWER_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 168, 77, 10));
const HIGHER_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 168, 77, 12));

fn ns(nanos: u64) -> Timestamp {
    Timestamp::from_duration(Duration::from_nanos(nanos))
}

fn ms(millis: u64) -> Timestamp {
    Timestamp::from_duration(Duration::from_millis(millis))
}

fn s(secs: u64) -> Timestamp {
    Timestamp::from_duration(Duration::from_secs(secs))
}

/// v2, priority 100, advert 1 s: Master_Down_Interval = 3 + 156/256 s.
const MDI_100: u64 = 3_609_375_000;

fn v2(priority: u8) -> InstanceParams {
    let mut params = InstanceParams::new(VrrpVersion::V2, 51, OURS);
    params.priority = priority;
    params
}

fn v3(priority: u8, interval_cs: u32) -> InstanceParams {
    let mut params = InstanceParams::new(VrrpVersion::V3, 51, OURS);
    params.priority = priority;
    params.advert_interval = AdvertInterval::from_centiseconds(interval_cs).unwrap();
    params
}

fn owner() -> InstanceParams {
    let mut params = v2(255);
    params.initial_state = InitialState::Master;
    params
}

fn with(mut params: InstanceParams, change: impl FnOnce(&mut InstanceParams)) -> InstanceParams {
    change(&mut params);
    params
}

fn adv(priority: u8, source: IpAddr) -> Event {
    Event::AdvertReceived(ReceivedAdvert {
        version: VrrpVersion::V2,
        priority,
        source,
        advert_interval_cs: 100,
    })
}

fn adv3(priority: u8, source: IpAddr, interval_cs: u32) -> Event {
    Event::AdvertReceived(ReceivedAdvert {
        version: VrrpVersion::V3,
        priority,
        source,
        advert_interval_cs: interval_cs,
    })
}

fn notify(from: State, to: State, reason: Reason, priority: u8) -> Action {
    Action::Notify {
        from,
        to,
        reason,
        priority,
    }
}

fn send(priority: u8) -> Action {
    Action::SendAdvert { priority }
}

fn garp(count: u32) -> Action {
    Action::SendGratuitous { count }
}

/// The actions of becoming master with default GARP settings.
fn become_master(from: State, reason: Reason, priority: u8) -> Vec<Action> {
    vec![
        send(priority),
        Action::AddVips,
        garp(5),
        notify(from, State::Master, reason, priority),
    ]
}

// ===== single-instance table =====

struct Row {
    name: &'static str,
    params: InstanceParams,
    given: Vec<(Timestamp, Event)>,
    when: (Timestamp, Event),
    state: State,
    actions: Vec<Action>,
    deadline: Option<Timestamp>,
    priority: Option<u8>,
}

fn case(name: &'static str, params: InstanceParams) -> Row {
    Row {
        name,
        params,
        given: Vec::new(),
        when: (Timestamp::EPOCH, Event::Timer),
        state: State::Init,
        actions: Vec::new(),
        deadline: None,
        priority: None,
    }
}

impl Row {
    fn given(mut self, at: Timestamp, event: Event) -> Self {
        self.given.push((at, event));
        self
    }

    /// Started at 0, then master by timeout at 3.609375 s (v2, priority 100).
    fn master_at_mdi(self) -> Self {
        self.given(s(0), Event::Startup)
            .given(ns(MDI_100), Event::Timer)
    }

    fn when(mut self, at: Timestamp, event: Event) -> Self {
        self.when = (at, event);
        self
    }

    fn then(mut self, state: State, actions: Vec<Action>, deadline: Option<Timestamp>) -> Self {
        self.state = state;
        self.actions = actions;
        self.deadline = deadline;
        self
    }

    fn priority(mut self, priority: u8) -> Self {
        self.priority = Some(priority);
        self
    }

    fn check(&self) -> Result<(), String> {
        let mut instance =
            Instance::new(self.params.clone()).map_err(|e| format!("params: {e}"))?;
        for (at, event) in &self.given {
            let _ = instance.handle(*event, *at);
        }
        let actions = instance.handle(self.when.1, self.when.0);
        let mut problems = Vec::new();
        if instance.state() != self.state {
            problems.push(format!(
                "state {:?}, expected {:?}",
                instance.state(),
                self.state
            ));
        }
        if actions != self.actions {
            problems.push(format!(
                "actions {actions:?}\n      expected {:?}",
                self.actions
            ));
        }
        if instance.next_deadline() != self.deadline {
            problems.push(format!(
                "deadline {:?}, expected {:?}",
                instance.next_deadline(),
                self.deadline
            ));
        }
        if let Some(priority) = self.priority {
            if instance.effective_priority() != priority {
                problems.push(format!(
                    "priority {}, expected {priority}",
                    instance.effective_priority()
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(format!("{}:\n    {}", self.name, problems.join("\n    ")))
        }
    }
}

fn instance_rows() -> Vec<Row> {
    use Reason as R;
    use State::{Backup, Fault, Init, Master, Stop};
    vec![
        // ----- RFC 5798 §6.4.1 Initialize -----
        case("6.4.1 Startup, Priority = 255: send ADVERTISEMENT, gratuitous ARP, set Adver_Timer, go Master", owner())
            .when(s(0), Event::Startup)
            .then(Master, become_master(Init, R::OwnerStartup, 255), Some(s(1))),
        case("6.4.1 Startup, else: Master_Down_Timer = Master_Down_Interval (v2 prio 100 adv 1 s: 3.609375 s), go Backup", v2(100))
            .when(s(0), Event::Startup)
            .then(Backup, vec![notify(Init, Backup, R::Startup, 100)], Some(ns(MDI_100))),
        case("6.4.1 Startup, else, v3 prio 100 adv 0.1 s: Master_Down_Interval 0.3609375 s", v3(100, 10))
            .when(s(0), Event::Startup)
            .then(Backup, vec![notify(Init, Backup, R::Startup, 100)], Some(ns(360_937_500))),
        case("keepalived: state MASTER without priority 255 still starts in Backup (prio 150: 3.4140625 s)",
             with(v2(150), |p| p.initial_state = InitialState::Master))
            .when(s(0), Event::Startup)
            .then(Backup, vec![notify(Init, Backup, R::Startup, 150)], Some(ns(3_414_062_500))),
        case("keepalived: an owner with state BACKUP starts in Backup (skew 1/256 s)", v2(255))
            .when(s(0), Event::Startup)
            .then(Backup, vec![notify(Init, Backup, R::Startup, 255)], Some(ns(3_003_906_250))),
        case("keepalived: a fault reported before Startup starts in Fault", v2(100))
            .given(s(0), Event::FaultSet(FaultCause::InterfaceDown))
            .when(s(0), Event::Startup)
            .then(Fault, vec![notify(Init, Fault, R::Fault(FaultCause::InterfaceDown), 100)], None),
        case("keepalived: adverts before Startup are ignored", v2(100))
            .when(s(0), adv(100, HIGHER_IP))
            .then(Init, vec![Action::AdvertDiscarded(DiscardReason::NotListening(Init))], None),
        // ----- timer values -----
        case("timers: v2 skew is not scaled by the interval (prio 100, adv 3 s: 9.609375 s)",
             with(v2(100), |p| p.advert_interval = AdvertInterval::from_secs(3).unwrap()))
            .when(s(0), Event::Startup)
            .then(Backup, vec![notify(Init, Backup, R::Startup, 100)], Some(ns(9_609_375_000))),
        case("timers: v3 skew is scaled by the interval (prio 100, adv 3 s: 10.828125 s)", v3(100, 300))
            .when(s(0), Event::Startup)
            .then(Backup, vec![notify(Init, Backup, R::Startup, 100)], Some(ns(10_828_125_000))),
        case("timers: keepalived down_timer_adverts 1 (prio 100, adv 1 s: 1.609375 s)", with(v2(100), |p| p.down_timer_adverts = 1))
            .when(s(0), Event::Startup)
            .then(Backup, vec![notify(Init, Backup, R::Startup, 100)], Some(ns(1_609_375_000))),
        // ----- RFC 5798 §6.4.2 Backup -----
        case("6.4.2 Shutdown: cancel Master_Down_Timer (keepalived goes to Stop, not Initialize)", v2(100))
            .given(s(0), Event::Startup)
            .when(s(1), Event::Shutdown)
            .then(Stop, vec![notify(Backup, Stop, R::Shutdown, 100)], None),
        case("6.4.2 Master_Down_Timer fires: send ADVERTISEMENT, gratuitous ARP, set Adver_Timer, go Master", v2(100))
            .given(s(0), Event::Startup)
            .when(ns(MDI_100), Event::Timer)
            .then(Master, become_master(Backup, R::MasterDownTimer, 100), Some(ns(MDI_100 + 1_000_000_000))),
        case("6.4.2 Master_Down_Timer not due yet: nothing happens", v2(100))
            .given(s(0), Event::Startup)
            .when(ns(MDI_100 - 1), Event::Timer)
            .then(Backup, vec![], Some(ns(MDI_100))),
        case("6.4.2 ADVERTISEMENT with Priority zero: Master_Down_Timer = Skew_Time (0.609375 s)", v2(100))
            .given(s(0), Event::Startup)
            .given(s(1), adv(200, HIGHER_IP))
            .when(s(2), adv(0, HIGHER_IP))
            .then(Backup, vec![], Some(ns(2_609_375_000))),
        case("keepalived: priority-0 skew-only takeover is reported as Priority0Received", v2(100))
            .given(s(0), Event::Startup)
            .given(s(1), adv(200, HIGHER_IP))
            .given(s(2), adv(0, HIGHER_IP))
            .when(ns(2_609_375_000), Event::Timer)
            .then(Master, become_master(Backup, R::Priority0Received, 100), Some(ns(3_609_375_000))),
        case("6.4.2 ADVERTISEMENT Priority greater than local: reset Master_Down_Timer", v2(100))
            .given(s(0), Event::Startup)
            .when(s(1), adv(200, HIGHER_IP))
            .then(Backup, vec![], Some(ns(1_000_000_000 + MDI_100))),
        case("6.4.2 ADVERTISEMENT Priority equal to local: reset Master_Down_Timer (no address tie-break in Backup)", v2(100))
            .given(s(0), Event::Startup)
            .when(s(1), adv(100, LOWER_IP))
            .then(Backup, vec![], Some(ns(1_000_000_000 + MDI_100))),
        case("6.4.2 Preempt_Mode False (keepalived nopreempt): a lower-priority advert resets the timer, we stay Backup",
             with(v2(100), |p| p.preempt = false))
            .given(s(0), Event::Startup)
            .when(s(1), adv(50, LOWER_IP))
            .then(Backup, vec![], Some(ns(1_000_000_000 + MDI_100))),
        case("6.4.2 else (lower priority, preempting): discard, Master_Down_Timer keeps running", v2(100))
            .given(s(0), Event::Startup)
            .when(s(1), adv(50, LOWER_IP))
            .then(Backup, vec![Action::AdvertDiscarded(DiscardReason::LowerPriority { priority: 50 })], Some(ns(MDI_100))),
        case("keepalived: preempting a lower-priority master happens when the timer fires (PreemptLowerPriority)", v2(100))
            .given(s(0), Event::Startup)
            .given(s(1), adv(50, LOWER_IP))
            .given(s(2), adv(50, LOWER_IP))
            .given(s(3), adv(50, LOWER_IP))
            .when(ns(MDI_100), Event::Timer)
            .then(Master, become_master(Backup, R::PreemptLowerPriority, 100), Some(ns(MDI_100 + 1_000_000_000))),
        case("6.4.2 v3: Master_Adver_Interval is learned from the ADVERTISEMENT (0.5 s: 1.8046875 s)", v3(100, 100))
            .given(s(0), Event::Startup)
            .when(s(1), adv3(200, HIGHER_IP, 50))
            .then(Backup, vec![], Some(ns(2_804_687_500))),
        case("keepalived: a v2 advert with another interval is discarded", v2(100))
            .given(s(0), Event::Startup)
            .when(s(1), Event::AdvertReceived(ReceivedAdvert {
                version: VrrpVersion::V2, priority: 200, source: HIGHER_IP, advert_interval_cs: 200,
            }))
            .then(Backup, vec![Action::AdvertDiscarded(DiscardReason::IntervalMismatch { received_cs: 200 })], Some(ns(MDI_100))),
        case("keepalived: an advert of another version is discarded", v2(100))
            .given(s(0), Event::Startup)
            .when(s(1), adv3(200, HIGHER_IP, 100))
            .then(Backup, vec![Action::AdvertDiscarded(DiscardReason::VersionMismatch(VrrpVersion::V3))], Some(ns(MDI_100))),
        case("keepalived: nopreempt is ignored with state MASTER",
             with(v2(100), |p| { p.preempt = false; p.initial_state = InitialState::Master; }))
            .given(s(0), Event::Startup)
            .when(s(1), adv(50, LOWER_IP))
            .then(Backup, vec![Action::AdvertDiscarded(DiscardReason::LowerPriority { priority: 50 })], Some(ns(MDI_100))),
        case("keepalived: nopreempt is ignored for an owner", with(v2(255), |p| p.preempt = false))
            .given(s(0), Event::Startup)
            .when(s(1), adv(100, LOWER_IP))
            .then(Backup, vec![Action::AdvertDiscarded(DiscardReason::LowerPriority { priority: 100 })], Some(ns(3_003_906_250))),
        // ----- keepalived preempt_delay (5 s) -----
        case("keepalived preempt_delay: the first lower-priority advert starts the delay and resets the timer",
             with(v2(100), |p| p.preempt_delay = Duration::from_secs(5)))
            .given(s(0), Event::Startup)
            .when(s(1), adv(50, LOWER_IP))
            .then(Backup, vec![], Some(ns(1_000_000_000 + MDI_100))),
        case("keepalived preempt_delay: lower-priority adverts keep resetting the timer during the delay",
             with(v2(100), |p| p.preempt_delay = Duration::from_secs(5)))
            .given(s(0), Event::Startup)
            .given(s(1), adv(50, LOWER_IP))
            .given(s(2), adv(50, LOWER_IP))
            .given(s(3), adv(50, LOWER_IP))
            .given(s(4), adv(50, LOWER_IP))
            .when(s(5), adv(50, LOWER_IP))
            .then(Backup, vec![], Some(ns(5_000_000_000 + MDI_100))),
        case("keepalived preempt_delay: once the delay has ended (6 s) lower-priority adverts are discarded",
             with(v2(100), |p| p.preempt_delay = Duration::from_secs(5)))
            .given(s(0), Event::Startup)
            .given(s(1), adv(50, LOWER_IP))
            .given(s(5), adv(50, LOWER_IP))
            .when(s(6), adv(50, LOWER_IP))
            .then(Backup, vec![Action::AdvertDiscarded(DiscardReason::LowerPriority { priority: 50 })], Some(ns(5_000_000_000 + MDI_100))),
        case("keepalived preempt_delay honoured: takeover at the last accepted advert + Master_Down_Interval",
             with(v2(100), |p| p.preempt_delay = Duration::from_secs(5)))
            .given(s(0), Event::Startup)
            .given(s(1), adv(50, LOWER_IP))
            .given(s(5), adv(50, LOWER_IP))
            .given(s(6), adv(50, LOWER_IP))
            .when(ns(5_000_000_000 + MDI_100), Event::Timer)
            .then(Master, become_master(Backup, R::PreemptLowerPriority, 100), Some(ns(6_000_000_000 + MDI_100))),
        case("keepalived preempt_delay: an advert with priority >= ours cancels the running delay",
             with(v2(100), |p| p.preempt_delay = Duration::from_secs(5)))
            .given(s(0), Event::Startup)
            .given(s(1), adv(50, LOWER_IP))
            .given(s(2), adv(200, HIGHER_IP))
            .given(s(3), adv(50, LOWER_IP))
            .when(s(6), adv(50, LOWER_IP))
            .then(Backup, vec![], Some(ns(6_000_000_000 + MDI_100))),
        // ----- RFC 5798 §6.4.3 Master -----
        case("6.4.3 Shutdown: cancel Adver_Timer, send ADVERTISEMENT with Priority 0, remove VIPs, Stop", owner())
            .given(s(0), Event::Startup)
            .when(ms(500), Event::Shutdown)
            .then(Stop, vec![send(0), Action::RemoveVips, notify(Master, Stop, R::Shutdown, 255)], None),
        case("6.4.3 Adver_Timer fires: send ADVERTISEMENT, reset Adver_Timer", owner())
            .given(s(0), Event::Startup)
            .when(s(1), Event::Timer)
            .then(Master, vec![send(255)], Some(s(2))),
        case("6.4.3 ADVERTISEMENT with Priority zero: send ADVERTISEMENT, reset Adver_Timer", owner())
            .given(s(0), Event::Startup)
            .when(ms(500), adv(0, LOWER_IP))
            .then(Master, vec![send(255)], Some(ms(1500))),
        case("6.4.3 ADVERTISEMENT Priority greater than local: Master_Down_Timer = Master_Down_Interval, go Backup", v2(100))
            .master_at_mdi()
            .when(s(4), adv(200, LOWER_IP))
            .then(Backup, vec![Action::RemoveVips, notify(Master, Backup, R::HigherPriorityAdvert, 100)], Some(ns(4_000_000_000 + MDI_100))),
        case("6.4.3 equal Priority, sender primary address greater than local: go Backup", v2(100))
            .master_at_mdi()
            .when(s(4), adv(100, HIGHER_IP))
            .then(Backup, vec![Action::RemoveVips, notify(Master, Backup, R::EqualPriorityHigherAddress, 100)], Some(ns(4_000_000_000 + MDI_100))),
        case("6.4.3 else (equal Priority, lower address): stay Master; RFC 9568 answers with an advert", v2(100))
            .master_at_mdi()
            .when(s(4), adv(100, LOWER_IP))
            .then(Master, vec![send(100), garp(5), Action::NotifyMasterRxLowerPriority { source: LOWER_IP, priority: 100 }], Some(s(5))),
        case("6.4.3 else (lower Priority), RFC 9568 / keepalived: advert at once, GARPs, notify_master_rx_lower_pri", v2(100))
            .master_at_mdi()
            .when(s(4), adv(50, HIGHER_IP))
            .then(Master, vec![send(100), garp(5), Action::NotifyMasterRxLowerPriority { source: HIGHER_IP, priority: 50 }], Some(s(5))),
        case("keepalived lower_prio_no_advert: no advert, Adver_Timer not reset", with(v2(100), |p| p.lower_prio_no_advert = true))
            .master_at_mdi()
            .when(s(4), adv(50, HIGHER_IP))
            .then(Master, vec![garp(5), Action::NotifyMasterRxLowerPriority { source: HIGHER_IP, priority: 50 }], Some(ns(MDI_100 + 1_000_000_000))),
        case("keepalived garp_lower_prio_delay: second burst of garp_lower_prio_repeat after the delay",
             with(v2(100), |p| { p.garp.master_delay = Duration::ZERO; p.garp.lower_prio_delay = Duration::from_millis(1500); p.garp.lower_prio_repeat = 3; }))
            .master_at_mdi()
            .given(s(4), adv(50, HIGHER_IP))
            .given(s(5), Event::Timer)
            .when(ms(5500), Event::Timer)
            .then(Master, vec![garp(3)], Some(s(6))),
        case("keepalived garp_lower_prio_repeat 0: no GARP after a lower-priority advert",
             with(v2(100), |p| p.garp.lower_prio_repeat = 0))
            .master_at_mdi()
            .when(s(4), adv(50, HIGHER_IP))
            .then(Master, vec![send(100), Action::NotifyMasterRxLowerPriority { source: HIGHER_IP, priority: 50 }], Some(s(5))),
        case("keepalived higher_prio_send_advert: one advert before stepping down", with(v2(100), |p| p.higher_prio_send_advert = true))
            .master_at_mdi()
            .when(s(4), adv(200, HIGHER_IP))
            .then(Backup, vec![send(100), Action::RemoveVips, notify(Master, Backup, R::HigherPriorityAdvert, 100)], Some(ns(4_000_000_000 + MDI_100))),
        case("6.4.3 v3 higher Priority: Master_Adver_Interval from the ADVERTISEMENT (0.5 s), recompute Master_Down_Interval", v3(100, 100))
            .master_at_mdi()
            .when(s(4), adv3(200, HIGHER_IP, 50))
            .then(Backup, vec![Action::RemoveVips, notify(Master, Backup, R::HigherPriorityAdvert, 100)], Some(ns(5_804_687_500))),
        case("keepalived: two owners; ours drops to 254 for good and steps down", owner())
            .given(s(0), Event::Startup)
            .when(ms(500), adv(255, LOWER_IP))
            .then(Backup, vec![
                Action::PriorityChanged { from: 255, to: 254 },
                Action::RemoveVips,
                notify(Master, Backup, R::OwnerConflict, 254),
            ], Some(ns(3_507_812_500)))
            .priority(254),
        case("keepalived: our own priority from our own address is ignored", v2(100))
            .master_at_mdi()
            .when(s(4), adv(100, OURS))
            .then(Master, vec![Action::AdvertDiscarded(DiscardReason::OwnAddress)], Some(ns(MDI_100 + 1_000_000_000))),
        case("keepalived garp_master_delay: second GARP burst 5 s after becoming master", owner())
            .given(s(0), Event::Startup)
            .given(s(1), Event::Timer)
            .given(s(2), Event::Timer)
            .given(s(3), Event::Timer)
            .given(s(4), Event::Timer)
            .when(s(5), Event::Timer)
            .then(Master, vec![send(255), garp(5)], Some(s(6))),
        case("keepalived garp_master_refresh: periodic refresh of garp_master_refresh_repeat while master",
             with(owner(), |p| { p.garp.master_delay = Duration::ZERO; p.garp.master_refresh = Duration::from_millis(2500); p.garp.master_refresh_repeat = 2; }))
            .given(s(0), Event::Startup)
            .given(s(1), Event::Timer)
            .given(s(2), Event::Timer)
            .when(ms(2500), Event::Timer)
            .then(Master, vec![garp(2)], Some(s(3))),
        case("keepalived garp_master_repeat 0 and garp_master_delay 0: no GARP at all on becoming master",
             with(owner(), |p| { p.garp.master_delay = Duration::ZERO; p.garp.master_repeat = 0; }))
            .when(s(0), Event::Startup)
            .then(Master, vec![send(255), Action::AddVips, notify(Init, Master, R::OwnerStartup, 255)], Some(s(1))),
        // ----- effective priority -----
        case("keepalived: an owner's priority never changes with trackers", owner())
            .given(s(0), Event::Startup)
            .when(ms(500), Event::TrackerUpdate { weight_sum: -50 })
            .then(Master, vec![], Some(s(1)))
            .priority(255),
        case("keepalived: tracker weights raise the priority; the backup's timer moves by the skew change", v2(100))
            .given(s(0), Event::Startup)
            .when(s(1), Event::TrackerUpdate { weight_sum: 50 })
            .then(Backup, vec![Action::PriorityChanged { from: 100, to: 150 }], Some(ns(3_414_062_500)))
            .priority(150),
        case("keepalived: tracker weights clamp at 254", v2(200))
            .given(s(0), Event::Startup)
            .when(s(1), Event::TrackerUpdate { weight_sum: 100 })
            .then(Backup, vec![Action::PriorityChanged { from: 200, to: 254 }], Some(ns(3_007_812_500)))
            .priority(254),
        case("keepalived: tracker weights clamp at 1", v2(100))
            .given(s(0), Event::Startup)
            .when(s(1), Event::TrackerUpdate { weight_sum: -200 })
            .then(Backup, vec![Action::PriorityChanged { from: 100, to: 1 }], Some(ns(3_996_093_750)))
            .priority(1),
        case("keepalived: a master's new priority goes out with its next advert", v2(100))
            .master_at_mdi()
            .given(s(4), Event::TrackerUpdate { weight_sum: -10 })
            .when(ns(MDI_100 + 1_000_000_000), Event::Timer)
            .then(Master, vec![send(90)], Some(ns(MDI_100 + 2_000_000_000)))
            .priority(90),
        // ----- FAULT -----
        case("keepalived FAULT in from Master: priority-0 advert, VIPs removed", v2(100))
            .master_at_mdi()
            .when(s(4), Event::FaultSet(FaultCause::TrackerFailed))
            .then(Fault, vec![send(0), Action::RemoveVips, notify(Master, Fault, R::Fault(FaultCause::TrackerFailed), 100)], None),
        case("keepalived FAULT in from Backup", v2(100))
            .given(s(0), Event::Startup)
            .when(s(1), Event::FaultSet(FaultCause::InterfaceDown))
            .then(Fault, vec![notify(Backup, Fault, R::Fault(FaultCause::InterfaceDown), 100)], None),
        case("keepalived FAULT: adverts are ignored", v2(100))
            .given(s(0), Event::Startup)
            .given(s(1), Event::FaultSet(FaultCause::InterfaceDown))
            .when(s(2), adv(200, HIGHER_IP))
            .then(Fault, vec![Action::AdvertDiscarded(DiscardReason::NotListening(Fault))], None),
        case("keepalived FAULT: stays while another cause remains", v2(100))
            .given(s(0), Event::Startup)
            .given(s(1), Event::FaultSet(FaultCause::InterfaceDown))
            .given(s(1), Event::FaultSet(FaultCause::NoSourceAddress))
            .when(s(2), Event::FaultCleared(FaultCause::InterfaceDown))
            .then(Fault, vec![], None),
        case("keepalived FAULT out: Backup with a full Master_Down_Interval", v2(100))
            .given(s(0), Event::Startup)
            .given(s(1), Event::FaultSet(FaultCause::InterfaceDown))
            .when(s(10), Event::FaultCleared(FaultCause::InterfaceDown))
            .then(Backup, vec![notify(Fault, Backup, R::FaultCleared, 100)], Some(ns(10_000_000_000 + MDI_100))),
        case("keepalived FAULT out of an owner with state MASTER: Backup, not Master", owner())
            .given(s(0), Event::Startup)
            .given(s(1), Event::FaultSet(FaultCause::TrackerFailed))
            .when(s(2), Event::FaultCleared(FaultCause::TrackerFailed))
            .then(Backup, vec![notify(Fault, Backup, R::FaultCleared, 255)], Some(ns(5_003_906_250))),
        case("keepalived FAULT forgets a v3 Master_Adver_Interval learned from the master", v3(100, 100))
            .given(s(0), Event::Startup)
            .given(s(1), adv3(200, HIGHER_IP, 50))
            .given(s(2), Event::FaultSet(FaultCause::InterfaceDown))
            .when(s(3), Event::FaultCleared(FaultCause::InterfaceDown))
            .then(Backup, vec![notify(Fault, Backup, R::FaultCleared, 100)], Some(ns(3_000_000_000 + MDI_100))),
        case("keepalived: clearing a fault that was never set does nothing", v2(100))
            .given(s(0), Event::Startup)
            .when(s(1), Event::FaultCleared(FaultCause::InterfaceDown))
            .then(Backup, vec![], Some(ns(MDI_100))),
        // ----- other keepalived behaviours -----
        case("keepalived: a VIP removed behind a master's back: release with priority 0, retake after Skew_Time", v2(100))
            .master_at_mdi()
            .when(s(4), Event::AddressLost)
            .then(Backup, vec![send(0), Action::RemoveVips, notify(Master, Backup, R::AddressLost, 100)], Some(ns(4_609_375_000))),
        case("keepalived: after Stop every event is ignored", v2(100))
            .given(s(0), Event::Startup)
            .given(s(1), Event::Shutdown)
            .when(s(2), Event::Startup)
            .then(Stop, vec![], None),
        case("6.4.3 tie-break compares addresses as numbers: 192.168.77.10 beats 192.168.77.9",
             with(v2(100), |p| p.primary_address = IpAddr::V4(Ipv4Addr::new(192, 168, 77, 9))))
            .master_at_mdi()
            .when(s(4), adv(100, LOWER_IP))
            .then(Backup, vec![Action::RemoveVips, notify(Master, Backup, R::EqualPriorityHigherAddress, 100)], Some(ns(4_000_000_000 + MDI_100))),
        case("6.4.3 tie-break with IPv6 primary addresses: fe80::2 beats fe80::1",
             with(v3(100, 100), |p| p.primary_address = IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1))))
            .master_at_mdi()
            .when(s(4), adv3(100, IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2)), 100))
            .then(Backup, vec![Action::RemoveVips, notify(Master, Backup, R::EqualPriorityHigherAddress, 100)], Some(ns(4_000_000_000 + MDI_100))),
        case("keepalived: a new primary address takes part in the next tie-break", v2(100))
            .master_at_mdi()
            .given(s(4), Event::PrimaryAddressChanged(IpAddr::V4(Ipv4Addr::new(192, 168, 77, 13))))
            .when(ms(4500), adv(100, HIGHER_IP))
            .then(Master, vec![send(100), garp(5), Action::NotifyMasterRxLowerPriority { source: HIGHER_IP, priority: 100 }], Some(ms(5500))),
    ]
}

#[test]
fn instance_transition_table() {
    let rows = instance_rows();
    let failures: Vec<String> = rows.iter().filter_map(|row| row.check().err()).collect();
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

/// The table must really check something: a wrong expectation is caught.
#[test]
fn table_rows_can_fail() {
    let wrong_deadline = case("wrong deadline", v2(100))
        .when(s(0), Event::Startup)
        .then(
            State::Backup,
            vec![notify(State::Init, State::Backup, Reason::Startup, 100)],
            Some(ns(MDI_100 + 1)),
        );
    assert!(wrong_deadline.check().is_err());
    let wrong_actions = case("wrong actions", v2(100))
        .when(s(0), Event::Startup)
        .then(State::Backup, vec![], Some(ns(MDI_100)));
    assert!(wrong_actions.check().is_err());
}

// ===== formulas =====

#[test]
fn skew_and_master_down_interval_values() {
    let one_s = Duration::from_secs(1);
    let tenth = Duration::from_millis(100);
    // (version, priority, Master_Adver_Interval, Skew_Time ns, Master_Down_Interval ns)
    let rows = [
        (VrrpVersion::V2, 100, one_s, 609_375_000, 3_609_375_000),
        (VrrpVersion::V2, 150, one_s, 414_062_500, 3_414_062_500),
        (VrrpVersion::V2, 255, one_s, 3_906_250, 3_003_906_250),
        (VrrpVersion::V2, 1, one_s, 996_093_750, 3_996_093_750),
        (
            VrrpVersion::V2,
            100,
            Duration::from_secs(3),
            609_375_000,
            9_609_375_000,
        ),
        (VrrpVersion::V3, 100, tenth, 60_937_500, 360_937_500),
        (VrrpVersion::V3, 150, tenth, 41_406_250, 341_406_250),
        (VrrpVersion::V3, 100, one_s, 609_375_000, 3_609_375_000),
        (
            VrrpVersion::V3,
            100,
            Duration::from_millis(10),
            6_093_750,
            36_093_750,
        ),
    ];
    for (version, priority, interval, skew, down) in rows {
        assert_eq!(
            skew_time(version, priority, interval),
            Duration::from_nanos(skew),
            "{version:?} prio {priority} {interval:?}"
        );
        assert_eq!(
            master_down_interval(version, 3, priority, interval),
            Duration::from_nanos(down),
            "{version:?} prio {priority} {interval:?}"
        );
    }
}

#[test]
fn params_validation() {
    let rows: Vec<(&str, InstanceParams, Result<(), ParamsError>)> = vec![
        ("defaults are valid", v2(100), Ok(())),
        (
            "vrid 0",
            with(v2(100), |p| p.vrid = 0),
            Err(ParamsError::VridZero),
        ),
        ("priority 0", v2(0), Err(ParamsError::PriorityZero)),
        (
            "v2 fractional interval",
            with(v2(100), |p| {
                p.advert_interval = AdvertInterval::from_centiseconds(150).unwrap()
            }),
            Err(ParamsError::AdvertInterval {
                version: VrrpVersion::V2,
                centiseconds: 150,
            }),
        ),
        (
            "v2 interval 256 s",
            with(v2(100), |p| {
                p.advert_interval = AdvertInterval::from_secs(256).unwrap()
            }),
            Err(ParamsError::AdvertInterval {
                version: VrrpVersion::V2,
                centiseconds: 25_600,
            }),
        ),
        (
            "v3 interval 4096 cs",
            v3(100, 4096),
            Err(ParamsError::AdvertInterval {
                version: VrrpVersion::V3,
                centiseconds: 4096,
            }),
        ),
        ("v3 interval 4095 cs", v3(100, 4095), Ok(())),
        (
            "down_timer_adverts 0",
            with(v2(100), |p| p.down_timer_adverts = 0),
            Err(ParamsError::DownTimerAdverts(0)),
        ),
        (
            "down_timer_adverts 101",
            with(v2(100), |p| p.down_timer_adverts = 101),
            Err(ParamsError::DownTimerAdverts(101)),
        ),
        (
            "preempt_delay 1001 s",
            with(v2(100), |p| p.preempt_delay = Duration::from_secs(1001)),
            Err(ParamsError::PreemptDelay(Duration::from_secs(1001))),
        ),
    ];
    for (name, params, expected) in rows {
        assert_eq!(params.validate(), expected, "{name}");
        assert_eq!(Instance::new(params).map(|_| ()), expected, "{name}");
    }
    assert_eq!(AdvertInterval::from_centiseconds(0), None);
}

#[test]
fn ignored_settings_match_keepalived() {
    let rows = [
        (
            with(v2(255), |p| p.preempt = false),
            vec![IgnoredSetting::NopreemptWithOwner],
        ),
        (
            with(v2(100), |p| {
                p.preempt = false;
                p.initial_state = InitialState::Master;
            }),
            vec![IgnoredSetting::NopreemptWithStateMaster],
        ),
        (
            with(v2(100), |p| {
                p.preempt_delay = Duration::from_secs(1);
                p.initial_state = InitialState::Master;
            }),
            vec![IgnoredSetting::PreemptDelayWithStateMaster],
        ),
        (
            with(v2(100), |p| {
                p.preempt_delay = Duration::from_secs(1);
                p.preempt = false;
            }),
            vec![IgnoredSetting::PreemptDelayWithNopreempt],
        ),
        (v2(100), vec![]),
    ];
    for (params, expected) in rows {
        assert_eq!(params.ignored_settings(), expected, "{params:?}");
    }
}

#[test]
fn status_accessors_follow_transitions() {
    let mut instance = Instance::new(v2(100)).unwrap();
    assert_eq!(instance.last_transition(), None);
    let _ = instance.handle(Event::Startup, s(0));
    let _ = instance.handle(adv(200, HIGHER_IP), s(1));
    assert_eq!(
        instance.current_master(),
        Some(PeerAdvert {
            address: HIGHER_IP,
            priority: 200
        })
    );
    let _ = instance.handle(Event::FaultSet(FaultCause::TrackerFailed), s(2));
    assert!(instance.faults().contains(FaultCause::TrackerFailed));
    assert_eq!(
        instance.last_transition(),
        Some(Transition {
            from: State::Backup,
            to: State::Fault,
            reason: Reason::Fault(FaultCause::TrackerFailed),
            at: s(2)
        })
    );
    assert_eq!(State::Fault.keepalived_name(), "FAULT");
}

// ===== reload: reconfigure in place =====

#[test]
fn reconfigure_keeps_master_and_its_timers() {
    let mut instance = Instance::new(v2(100)).unwrap();
    let _ = instance.handle(Event::Startup, s(0));
    let _ = instance.handle(Event::Timer, ns(MDI_100));
    assert_eq!(instance.state(), State::Master);
    let deadline = instance.next_deadline();
    // Same parameters: nothing to do, nothing moves.
    let actions = instance.reconfigure(v2(100), s(4)).unwrap();
    assert_eq!(actions, vec![]);
    assert_eq!(instance.state(), State::Master);
    assert_eq!(instance.next_deadline(), deadline);
    // A new priority: announced by the next advert, no state change.
    let actions = instance.reconfigure(v2(120), s(4)).unwrap();
    assert_eq!(
        actions,
        vec![Action::PriorityChanged { from: 100, to: 120 }]
    );
    assert_eq!(instance.state(), State::Master);
    assert_eq!(instance.base_priority(), 120);
    assert_eq!(instance.next_deadline(), deadline);
    let actions = instance.handle(Event::Timer, deadline.unwrap());
    assert_eq!(actions, vec![send(120)]);
}

#[test]
fn reconfigure_shorter_interval_pulls_the_next_advert_in() {
    let mut instance = Instance::new(v3(100, 100)).unwrap();
    let _ = instance.handle(Event::Startup, s(0));
    let mdi = instance.next_deadline().unwrap();
    let _ = instance.handle(Event::Timer, mdi);
    assert_eq!(instance.next_deadline(), Some(mdi + Duration::from_secs(1)));
    let _ = instance.reconfigure(v3(100, 10), mdi).unwrap();
    assert_eq!(
        instance.next_deadline(),
        Some(mdi + Duration::from_millis(100))
    );
    assert_eq!(instance.master_adver_interval(), Duration::from_millis(100));
    // A longer one waits for the advert already scheduled.
    let _ = instance.reconfigure(v3(100, 200), mdi).unwrap();
    assert_eq!(
        instance.next_deadline(),
        Some(mdi + Duration::from_millis(100))
    );
}

#[test]
fn reconfigure_backup_keeps_its_master_and_timer() {
    let mut instance = Instance::new(v2(100)).unwrap();
    let _ = instance.handle(Event::Startup, s(0));
    let _ = instance.handle(adv(200, HIGHER_IP), s(1));
    let deadline = instance.next_deadline();
    let actions = instance.reconfigure(v2(100), s(2)).unwrap();
    assert!(actions.is_empty());
    assert_eq!(instance.state(), State::Backup);
    assert_eq!(instance.next_deadline(), deadline);
    assert_eq!(
        instance.current_master().map(|p| p.address),
        Some(HIGHER_IP)
    );
}

#[test]
fn reconfigure_priority_keeps_tracker_weights_and_owner_rules() {
    let mut instance = Instance::new(v2(100)).unwrap();
    let _ = instance.handle(Event::Startup, s(0));
    let _ = instance.handle(Event::TrackerUpdate { weight_sum: -20 }, s(1));
    assert_eq!(instance.effective_priority(), 80);
    let _ = instance.reconfigure(v2(150), s(2)).unwrap();
    assert_eq!(instance.effective_priority(), 130);
    // Becoming the owner: 255 whatever the trackers say.
    let actions = instance.reconfigure(v2(255), s(3)).unwrap();
    assert_eq!(
        actions,
        vec![Action::PriorityChanged { from: 130, to: 255 }]
    );
    // And back.
    let _ = instance.reconfigure(v2(150), s(4)).unwrap();
    assert_eq!(instance.effective_priority(), 130);
    // Invalid parameters are refused and change nothing.
    assert!(instance
        .reconfigure(with(v2(150), |p| p.down_timer_adverts = 0), s(5))
        .is_err());
    assert_eq!(instance.params().down_timer_adverts, 3);
    // The VRID and the primary address are the reload key: never changed here.
    let _ = instance
        .reconfigure(with(v2(150), |p| p.vrid = 9), s(6))
        .unwrap();
    assert_eq!(instance.params().vrid, 51);
}

#[test]
fn regroup_keeps_running_members_and_starts_new_ones() {
    let master = || {
        let mut a = Instance::new(v2(100)).unwrap();
        let _ = a.handle(Event::Startup, s(0));
        let _ = a.handle(Event::Timer, ns(MDI_100));
        assert_eq!(a.state(), State::Master);
        a
    };
    // A MASTER and a new member: the group is MASTER, the new member starts
    // in BACKUP and joins as MASTER when its own timer fires.
    let (mut g, actions) =
        SyncGroup::regroup(vec![master(), Instance::new(v2(100)).unwrap()], s(4)).unwrap();
    assert_eq!(g.state(), State::Master);
    assert_eq!(g.members()[0].state(), State::Master);
    assert_eq!(g.members()[1].state(), State::Backup);
    assert!(actions
        .iter()
        .all(|a| matches!(a, GroupAction::Member { member: 1, .. })));
    let due = g.members()[1].next_deadline().unwrap();
    let _ = g.handle_group(Event::Timer, due);
    assert_eq!(g.members()[1].state(), State::Master);

    // A MASTER and a BACKUP: BACKUP wins, the master steps down without
    // releasing (no priority-0 advert).
    let mut backup = Instance::new(v2(100)).unwrap();
    let _ = backup.handle(Event::Startup, s(0));
    let (g, actions) = SyncGroup::regroup(vec![master(), backup], s(4)).unwrap();
    assert_eq!(g.state(), State::Backup);
    assert_eq!(g.members()[0].state(), State::Backup);
    assert!(!actions.contains(&m(0, send(0))), "{actions:?}");
    assert!(actions.contains(&m(0, Action::RemoveVips)));

    // A member with a fault of its own takes the group to FAULT.
    let mut faulty = Instance::new(v2(100)).unwrap();
    let _ = faulty.handle(Event::Startup, s(0));
    let _ = faulty.handle(Event::FaultSet(FaultCause::InterfaceDown), s(1));
    let (g, _) = SyncGroup::regroup(vec![master(), faulty], s(4)).unwrap();
    assert_eq!(g.state(), State::Fault);
    assert_eq!(g.members()[0].state(), State::Fault);

    // Only new members: left in Init for a normal start.
    let (g, actions) = SyncGroup::regroup(vec![Instance::new(v2(100)).unwrap()], s(4)).unwrap();
    assert_eq!(g.state(), State::Init);
    assert!(actions.is_empty());
    assert_eq!(g.into_members().len(), 1);
}

// ===== sync groups =====

#[derive(Clone, Copy)]
enum To {
    Group,
    Member(usize),
}

struct GroupRow {
    name: &'static str,
    members: Vec<InstanceParams>,
    given: Vec<(Timestamp, To, Event)>,
    when: (Timestamp, To, Event),
    group_state: State,
    member_states: Vec<State>,
    actions: Vec<GroupAction>,
    member_deadlines: Option<Vec<Option<Timestamp>>>,
}

fn group_case(name: &'static str, members: Vec<InstanceParams>) -> GroupRow {
    GroupRow {
        name,
        members,
        given: Vec::new(),
        when: (Timestamp::EPOCH, To::Group, Event::Timer),
        group_state: State::Init,
        member_states: Vec::new(),
        actions: Vec::new(),
        member_deadlines: None,
    }
}

impl GroupRow {
    fn given(mut self, at: Timestamp, to: To, event: Event) -> Self {
        self.given.push((at, to, event));
        self
    }

    fn when(mut self, at: Timestamp, to: To, event: Event) -> Self {
        self.when = (at, to, event);
        self
    }

    fn then(
        mut self,
        group_state: State,
        member_states: Vec<State>,
        actions: Vec<GroupAction>,
    ) -> Self {
        self.group_state = group_state;
        self.member_states = member_states;
        self.actions = actions;
        self
    }

    fn deadlines(mut self, deadlines: Vec<Option<Timestamp>>) -> Self {
        self.member_deadlines = Some(deadlines);
        self
    }

    /// Member 0 (prio 100, down timer 3.609375 s) fires first and waits;
    /// member 1 (prio 50, 3.8046875 s) fires and takes the group to MASTER.
    fn group_master(self) -> Self {
        self.given(s(0), To::Group, Event::Startup)
            .given(ns(MDI_100), To::Group, Event::Timer)
            .given(ns(MDI_50), To::Group, Event::Timer)
    }

    fn check(&self) -> Result<(), String> {
        let members = self
            .members
            .iter()
            .cloned()
            .map(Instance::new)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        let mut group = SyncGroup::new(members).map_err(|e| e.to_string())?;
        let mut deliver = |at: Timestamp, to: To, event: Event| match to {
            To::Group => Ok(group.handle_group(event, at)),
            To::Member(member) => group.handle_member(member, event, at),
        };
        for (at, to, event) in &self.given {
            deliver(*at, *to, *event).map_err(|e| e.to_string())?;
        }
        let actions = deliver(self.when.0, self.when.1, self.when.2).map_err(|e| e.to_string())?;
        let mut problems = Vec::new();
        if group.state() != self.group_state {
            problems.push(format!(
                "group state {:?}, expected {:?}",
                group.state(),
                self.group_state
            ));
        }
        let states: Vec<State> = group.members().iter().map(Instance::state).collect();
        if states != self.member_states {
            problems.push(format!(
                "member states {states:?}, expected {:?}",
                self.member_states
            ));
        }
        if actions != self.actions {
            problems.push(format!(
                "actions {actions:?}\n      expected {:?}",
                self.actions
            ));
        }
        if let Some(expected) = &self.member_deadlines {
            let deadlines: Vec<Option<Timestamp>> = group
                .members()
                .iter()
                .map(Instance::next_deadline)
                .collect();
            if &deadlines != expected {
                problems.push(format!("deadlines {deadlines:?}, expected {expected:?}"));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(format!("{}:\n    {}", self.name, problems.join("\n    ")))
        }
    }
}

/// v2, priority 50, advert 1 s: Master_Down_Interval = 3 + 206/256 s.
const MDI_50: u64 = 3_804_687_500;

fn m(member: usize, action: Action) -> GroupAction {
    GroupAction::Member { member, action }
}

fn member_becomes_master(member: usize, reason: Reason, priority: u8) -> Vec<GroupAction> {
    become_master(State::Backup, reason, priority)
        .into_iter()
        .map(|action| m(member, action))
        .collect()
}

fn pair() -> Vec<InstanceParams> {
    vec![v2(100), with(v2(50), |p| p.vrid = 52)]
}

fn group_rows() -> Vec<GroupRow> {
    use Reason as R;
    use State::{Backup, Fault, Init, Master, Stop};
    let group_notify = |from, to, member| GroupAction::Notify { from, to, member };
    vec![
        group_case("sync startup: state MASTER on a non-owner member is ignored, the group starts in BACKUP",
                   vec![with(v2(100), |p| p.initial_state = InitialState::Master), with(v2(50), |p| p.vrid = 52)])
            .when(s(0), To::Group, Event::Startup)
            .then(Backup, vec![Backup, Backup], vec![
                m(0, notify(Init, Backup, R::Startup, 100)),
                m(1, notify(Init, Backup, R::Startup, 50)),
                group_notify(Init, Backup, None),
            ])
            .deadlines(vec![Some(ns(MDI_100)), Some(ns(MDI_50))]),
        group_case("sync startup: every member an owner with state MASTER: the group starts in MASTER",
                   vec![owner(), with(owner(), |p| p.vrid = 52)])
            .when(s(0), To::Group, Event::Startup)
            .then(Master, vec![Master, Master], {
                let mut actions: Vec<GroupAction> = become_master(Init, R::OwnerStartup, 255).into_iter().map(|a| m(0, a)).collect();
                actions.extend(become_master(Init, R::OwnerStartup, 255).into_iter().map(|a| m(1, a)));
                actions.push(group_notify(Init, Master, None));
                actions
            }),
        group_case("sync startup: a faulty member starts the whole group in FAULT", pair())
            .given(s(0), To::Member(1), Event::FaultSet(FaultCause::InterfaceDown))
            .when(s(0), To::Group, Event::Startup)
            .then(Fault, vec![Fault, Fault], vec![
                m(0, notify(Init, Fault, R::SyncGroup, 100)),
                m(1, notify(Init, Fault, R::Fault(FaultCause::InterfaceDown), 50)),
                group_notify(Init, Fault, None),
            ]),
        group_case("sync: a member whose down timer fires first waits in BACKUP for the others, re-arming its timer", pair())
            .given(s(0), To::Group, Event::Startup)
            .when(ns(MDI_100), To::Group, Event::Timer)
            .then(Backup, vec![Backup, Backup], vec![])
            .deadlines(vec![Some(ns(2 * MDI_100)), Some(ns(MDI_50))]),
        group_case("sync: when every member wants MASTER, all become MASTER together", pair())
            .given(s(0), To::Group, Event::Startup)
            .given(ns(MDI_100), To::Group, Event::Timer)
            .when(ns(MDI_50), To::Group, Event::Timer)
            .then(Master, vec![Master, Master], {
                let mut actions = member_becomes_master(1, R::MasterDownTimer, 50);
                actions.extend(member_becomes_master(0, R::SyncGroup, 100));
                actions.push(group_notify(Backup, Master, Some(1)));
                actions
            })
            .deadlines(vec![Some(ns(MDI_50 + 1_000_000_000)), Some(ns(MDI_50 + 1_000_000_000))]),
        group_case("sync: a waiting member that accepts an advert no longer wants MASTER, so the group stays BACKUP", pair())
            .given(s(0), To::Group, Event::Startup)
            .given(ns(MDI_100), To::Group, Event::Timer)
            .given(ms(3700), To::Member(0), adv(200, HIGHER_IP))
            .when(ns(MDI_50), To::Group, Event::Timer)
            .then(Backup, vec![Backup, Backup], vec![])
            .deadlines(vec![Some(ns(3_700_000_000 + MDI_100)), Some(ns(2 * MDI_50))]),
        group_case("sync: one member to FAULT takes the others to FAULT; masters release with priority 0", pair())
            .group_master()
            .when(s(5), To::Member(1), Event::FaultSet(FaultCause::TrackerFailed))
            .then(Fault, vec![Fault, Fault], vec![
                m(1, send(0)),
                m(1, Action::RemoveVips),
                m(1, notify(Master, Fault, R::Fault(FaultCause::TrackerFailed), 50)),
                m(0, send(0)),
                m(0, Action::RemoveVips),
                m(0, notify(Master, Fault, R::SyncGroup, 100)),
                group_notify(Master, Fault, Some(1)),
            ]),
        group_case("sync: the group stays in FAULT while any member has a fault of its own", pair())
            .group_master()
            .given(s(5), To::Member(1), Event::FaultSet(FaultCause::TrackerFailed))
            .given(s(5), To::Member(0), Event::FaultSet(FaultCause::InterfaceDown))
            .when(s(6), To::Member(1), Event::FaultCleared(FaultCause::TrackerFailed))
            .then(Fault, vec![Fault, Fault], vec![]),
        group_case("sync: the last fault cleared takes every member to BACKUP", pair())
            .group_master()
            .given(s(5), To::Member(1), Event::FaultSet(FaultCause::TrackerFailed))
            .given(s(5), To::Member(0), Event::FaultSet(FaultCause::InterfaceDown))
            .given(s(6), To::Member(1), Event::FaultCleared(FaultCause::TrackerFailed))
            .when(s(7), To::Member(0), Event::FaultCleared(FaultCause::InterfaceDown))
            .then(Backup, vec![Backup, Backup], vec![
                m(0, notify(Fault, Backup, R::FaultCleared, 100)),
                m(1, notify(Fault, Backup, R::SyncGroup, 50)),
                group_notify(Fault, Backup, Some(0)),
            ])
            .deadlines(vec![Some(ns(7_000_000_000 + MDI_100)), Some(ns(7_000_000_000 + MDI_50))]),
        group_case("sync: a master stepping down takes the other masters to BACKUP, without priority 0", pair())
            .group_master()
            .when(s(5), To::Member(0), adv(200, HIGHER_IP))
            .then(Backup, vec![Backup, Backup], vec![
                m(0, Action::RemoveVips),
                m(0, notify(Master, Backup, R::HigherPriorityAdvert, 100)),
                m(1, Action::RemoveVips),
                m(1, notify(Master, Backup, R::SyncGroup, 50)),
                group_notify(Master, Backup, Some(0)),
            ]),
        group_case("sync: a lower-priority advert seen by one master makes the other members re-send GARPs", pair())
            .group_master()
            .when(s(4), To::Member(0), adv(20, HIGHER_IP))
            .then(Master, vec![Master, Master], vec![
                m(0, send(100)),
                m(0, garp(5)),
                m(0, Action::NotifyMasterRxLowerPriority { source: HIGHER_IP, priority: 20 }),
                m(1, garp(5)),
            ]),
        group_case("sync: a group-level fault reaches every member; the first one moves the group", pair())
            .given(s(0), To::Group, Event::Startup)
            .when(s(1), To::Group, Event::FaultSet(FaultCause::InterfaceDown))
            .then(Fault, vec![Fault, Fault], vec![
                m(0, notify(Backup, Fault, R::Fault(FaultCause::InterfaceDown), 100)),
                m(1, notify(Backup, Fault, R::SyncGroup, 50)),
                group_notify(Backup, Fault, Some(0)),
            ]),
        group_case("sync: a member losing a VIP releases with priority 0 and so do the other masters", pair())
            .group_master()
            .when(s(5), To::Member(0), Event::AddressLost)
            .then(Backup, vec![Backup, Backup], vec![
                m(0, send(0)),
                m(0, Action::RemoveVips),
                m(0, notify(Master, Backup, R::AddressLost, 100)),
                m(1, send(0)),
                m(1, Action::RemoveVips),
                m(1, notify(Master, Backup, R::SyncGroup, 50)),
                group_notify(Master, Backup, Some(0)),
            ])
            .deadlines(vec![Some(ns(5_609_375_000)), Some(ns(5_804_687_500))]),
        group_case("sync: after a released VIP the group retakes when the last Skew_Time runs out", pair())
            .group_master()
            .given(s(5), To::Member(0), Event::AddressLost)
            .given(ns(5_609_375_000), To::Group, Event::Timer)
            .when(ns(5_804_687_500), To::Group, Event::Timer)
            .then(Master, vec![Master, Master], {
                let mut actions = member_becomes_master(1, R::MasterDownTimer, 50);
                actions.extend(member_becomes_master(0, R::SyncGroup, 100));
                actions.push(group_notify(Backup, Master, Some(1)));
                actions
            }),
        group_case("sync: Shutdown stops every member and the group", pair())
            .group_master()
            .when(s(5), To::Group, Event::Shutdown)
            .then(Stop, vec![Stop, Stop], vec![
                m(0, send(0)),
                m(0, Action::RemoveVips),
                m(0, notify(Master, Stop, R::Shutdown, 100)),
                m(1, send(0)),
                m(1, Action::RemoveVips),
                m(1, notify(Master, Stop, R::Shutdown, 50)),
                group_notify(Master, Stop, None),
            ]),
    ]
}

#[test]
fn sync_group_table() {
    let rows = group_rows();
    let failures: Vec<String> = rows.iter().filter_map(|row| row.check().err()).collect();
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

#[test]
fn sync_group_rejects_bad_input() {
    assert_eq!(
        SyncGroup::new(Vec::new()).err(),
        Some(SyncGroupError::NoMembers)
    );
    let mut group = SyncGroup::new(vec![Instance::new(v2(100)).unwrap()]).unwrap();
    assert_eq!(
        group.handle_member(1, Event::Timer, s(0)),
        Err(SyncGroupError::UnknownMember(1))
    );
}

// ===== properties =====

mod properties {
    use proptest::prelude::*;

    use super::*;

    fn any_event() -> impl Strategy<Value = Event> {
        let source = prop_oneof![Just(LOWER_IP), Just(OURS), Just(HIGHER_IP)];
        prop_oneof![
            1 => Just(Event::Startup),
            1 => Just(Event::Shutdown),
            4 => Just(Event::Timer),
            4 => (any::<u8>(), source, prop_oneof![Just(VrrpVersion::V2), Just(VrrpVersion::V3)], 0u32..5000)
                .prop_map(|(priority, source, version, advert_interval_cs)| Event::AdvertReceived(ReceivedAdvert {
                    version, priority, source, advert_interval_cs,
                })),
            1 => (-600i32..600).prop_map(|weight_sum| Event::TrackerUpdate { weight_sum }),
            1 => prop::sample::select(FaultCause::ALL.to_vec()).prop_map(Event::FaultSet),
            1 => prop::sample::select(FaultCause::ALL.to_vec()).prop_map(Event::FaultCleared),
            1 => Just(Event::AddressLost),
        ]
    }

    fn any_params() -> impl Strategy<Value = InstanceParams> {
        (
            1u8..=255,
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            0u64..3,
            prop_oneof![Just(VrrpVersion::V2), Just(VrrpVersion::V3)],
        )
            .prop_map(
                |(priority, master, preempt, lower_prio_no_advert, delay, version)| {
                    let mut params = InstanceParams::new(version, 7, OURS);
                    params.priority = priority;
                    params.initial_state = if master {
                        InitialState::Master
                    } else {
                        InitialState::Backup
                    };
                    params.preempt = preempt;
                    params.lower_prio_no_advert = lower_prio_no_advert;
                    params.preempt_delay = Duration::from_secs(delay);
                    params
                },
            )
    }

    proptest! {
        /// Whatever happens: no panic, a deadline exists exactly in Backup and
        /// Master, a Timer leaves nothing overdue, VIPs are only added on the
        /// way into Master and removed on the way out, and an owner keeps 255.
        #[test]
        fn invariants_hold(params in any_params(), steps in prop::collection::vec((0u64..2_000, any_event()), 1..60)) {
            let owner = params.priority == PRIORITY_OWNER;
            let mut instance = Instance::new(params).unwrap();
            let mut now = Timestamp::EPOCH;
            let mut vips_installed = false;
            for (advance_ms, event) in steps {
                now = now + Duration::from_millis(advance_ms);
                let before = instance.state();
                let actions = instance.handle(event, now);
                let after = instance.state();
                for action in &actions {
                    match action {
                        Action::AddVips => { prop_assert!(!vips_installed); vips_installed = true; }
                        Action::RemoveVips => { prop_assert!(vips_installed); vips_installed = false; }
                        _ => {}
                    }
                }
                prop_assert_eq!(vips_installed, after == State::Master);
                prop_assert_eq!(instance.next_deadline().is_some(), matches!(after, State::Backup | State::Master));
                if event == Event::Timer {
                    if let Some(deadline) = instance.next_deadline() {
                        prop_assert!(deadline > now, "overdue deadline {:?} at {:?}", deadline, now);
                    }
                }
                if owner && instance.is_owner() {
                    prop_assert_eq!(instance.effective_priority(), PRIORITY_OWNER);
                }
                let notifies = actions.iter().filter(|a| matches!(a, Action::Notify { .. })).count();
                prop_assert_eq!(notifies, usize::from(before != after));
            }
        }
    }
}
