use super::*;

const LOCAL: u32 = 0x1111;
const REMOTE: u32 = 0x2222;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}
fn at(n: u64) -> Timestamp {
    Timestamp::from_duration(ms(n))
}

fn cfg() -> SessionConfig {
    SessionConfig {
        local_discr: LOCAL,
        min_tx: ms(10),
        idle_tx: ms(1000),
        min_rx: ms(20),
        detect_mult: 3,
        passive: false,
    }
}

fn remote(state: State) -> ControlPacket {
    ControlPacket {
        diag: 0,
        state,
        poll: false,
        final_: false,
        control_plane_independent: false,
        demand: false,
        detect_mult: 5,
        my_discr: REMOTE,
        your_discr: if state == State::Down || state == State::AdminDown {
            0
        } else {
            LOCAL
        },
        desired_min_tx: 50_000,
        required_min_rx: 30_000,
        required_min_echo_rx: 0,
    }
}

/// A session put in `state` through the handshake.
fn in_state(state: State) -> Session {
    let mut s = Session::new(cfg(), at(0));
    match state {
        State::Down => {}
        State::Init => {
            s.handle(Event::Rx(remote(State::Down)), at(1));
        }
        State::Up => {
            s.handle(Event::Rx(remote(State::Init)), at(1));
        }
        State::AdminDown => {
            s.handle(Event::AdminDown, at(1));
        }
    }
    assert_eq!(s.state(), state);
    s
}

fn changes(actions: &[Action]) -> Vec<(State, State, u8)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::StateChanged { from, to, diag } => Some((*from, *to, *diag)),
            _ => None,
        })
        .collect()
}

fn sent(actions: &[Action]) -> Vec<ControlPacket> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(p) => Some(*p),
            _ => None,
        })
        .collect()
}

#[test]
fn state_diagram_rfc5880_6_2_and_6_8_6() {
    use State::*;
    // (local state, received state) -> new local state, diag.
    let table = [
        (Down, AdminDown, Down, diag::NONE),
        (Down, Down, Init, diag::NONE),
        (Down, Init, Up, diag::NONE),
        (Down, Up, Down, diag::NONE),
        (Init, AdminDown, Down, diag::NEIGHBOR_DOWN),
        (Init, Down, Init, diag::NONE),
        (Init, Init, Up, diag::NONE),
        (Init, Up, Up, diag::NONE),
        (Up, AdminDown, Down, diag::NEIGHBOR_DOWN),
        (Up, Down, Down, diag::NEIGHBOR_DOWN),
        (Up, Init, Up, diag::NONE),
        (Up, Up, Up, diag::NONE),
        // AdminDown discards everything.
        (AdminDown, Down, AdminDown, diag::ADMIN_DOWN),
        (AdminDown, Init, AdminDown, diag::ADMIN_DOWN),
        (AdminDown, Up, AdminDown, diag::ADMIN_DOWN),
    ];
    for (from, rx, want, want_diag) in table {
        let mut s = in_state(from);
        let mut p = remote(rx);
        // Up/Init with discriminator 0 is discarded: use ours.
        p.your_discr = LOCAL;
        let a = s.handle(Event::Rx(p), at(10));
        assert_eq!(s.state(), want, "{from} + rx {rx}");
        if want != from {
            assert_eq!(
                changes(&a),
                vec![(from, want, want_diag)],
                "{from} + rx {rx}"
            );
            assert_eq!(s.local_diag(), want_diag);
        } else {
            assert_eq!(changes(&a), vec![], "{from} + rx {rx}");
        }
    }
}

#[test]
fn discriminator_rules() {
    // Your Discriminator not ours: discarded, nothing learnt.
    let mut s = in_state(State::Down);
    let mut p = remote(State::Init);
    p.your_discr = 99;
    assert_eq!(
        s.handle(Event::Rx(p), at(5)),
        vec![Action::Discarded("your discriminator is not ours")]
    );
    assert_eq!(s.remote_discr(), 0);
    assert_eq!(s.detect_at(), None);
    // Your Discriminator 0 with Init/Up: discarded.
    for st in [State::Init, State::Up] {
        let mut p = remote(st);
        p.your_discr = 0;
        assert_eq!(
            s.handle(Event::Rx(p), at(5)),
            vec![Action::Discarded("your discriminator 0 in state Init/Up")]
        );
    }
    assert_eq!(s.state(), State::Down);
    // Once heard, our packets carry the remote's discriminator.
    let a = s.handle(Event::Rx(remote(State::Down)), at(6));
    assert_eq!(s.remote_discr(), REMOTE);
    let p = sent(&a);
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].your_discr, REMOTE);
    assert_eq!(p[0].state, State::Init);
}

#[test]
fn three_way_handshake_between_two_sessions() {
    let mut a = Session::new(cfg(), at(0));
    let mut b = Session::new(
        SessionConfig {
            local_discr: REMOTE,
            ..cfg()
        },
        at(0),
    );
    // a's first packet (Down) → b goes Init and answers at once.
    let pa = sent(&a.handle(Event::TxTimer, at(0)));
    assert_eq!(pa[0].state, State::Down);
    let rb = b.handle(Event::Rx(pa[0]), at(1));
    assert_eq!(b.state(), State::Init);
    let pb = sent(&rb);
    assert_eq!(pb.len(), 1);
    // b's Init → a goes Up, announces it with a Poll (min_tx < idle_tx).
    let ra = a.handle(Event::Rx(pb[0]), at(2));
    assert_eq!(a.state(), State::Up);
    let pa = sent(&ra);
    assert_eq!(pa.len(), 1);
    assert!(pa[0].poll);
    assert_eq!(pa[0].desired_min_tx, 10_000);
    // a's Up+Poll → b goes Up, answers with Final (and its own Poll is not
    // in a Final packet).
    let rb = b.handle(Event::Rx(pa[0]), at(3));
    assert_eq!(b.state(), State::Up);
    let pb = sent(&rb);
    assert_eq!(pb.len(), 1);
    assert!(pb[0].final_);
    assert!(!pb[0].poll);
    assert!(b.poll_outstanding());
    // The Final ends a's poll.
    a.handle(Event::Rx(pb[0]), at(4));
    assert!(!a.poll_outstanding());
    // b's next periodic packet still polls, until a answers.
    let t = b.next_tx().unwrap();
    let pb = sent(&b.handle(Event::TxTimer, t));
    assert!(pb[0].poll);
    let pa = sent(&a.handle(Event::Rx(pb[0]), t));
    assert!(pa[0].final_);
    b.handle(Event::Rx(pa[0]), t);
    assert!(!b.poll_outstanding());
    assert_eq!((a.state(), b.state()), (State::Up, State::Up));
}

#[test]
fn timers_are_negotiated() {
    let mut s = in_state(State::Down);
    // Not Up: at least idle_tx (1 s) between packets; remote wants 30 ms.
    assert_eq!(s.tx_interval(), Some(ms(1000)));
    // Detection: remote mult 5 × max(our min_rx 20 ms, its tx 50 ms).
    s.handle(Event::Rx(remote(State::Init)), at(100));
    assert_eq!(s.state(), State::Up);
    assert_eq!(s.detection_time(), Some(ms(250)));
    assert_eq!(s.detect_at(), Some(at(350)));
    // Up: max(our min_tx 10 ms, remote min_rx 30 ms).
    assert_eq!(s.tx_interval(), Some(ms(30)));
    // The remote slows down: its desired tx 100 ms → detection 500 ms.
    let mut p = remote(State::Up);
    p.desired_min_tx = 100_000;
    p.required_min_rx = 5_000;
    s.handle(Event::Rx(p), at(200));
    assert_eq!(s.detection_time(), Some(ms(500)));
    assert_eq!(s.detect_at(), Some(at(700)));
    assert_eq!(s.tx_interval(), Some(ms(10)));
    // Remote asks for no packets.
    p.required_min_rx = 0;
    s.handle(Event::Rx(p), at(210));
    assert_eq!(s.tx_interval(), None);
    assert_eq!(s.next_tx(), None);
    assert!(sent(&s.handle(Event::TxTimer, at(10_000))).is_empty());
}

#[test]
fn jitter_stays_within_75_to_100_percent() {
    let mut s = in_state(State::Up);
    s.seed(42);
    let mut t = at(1000);
    let mut seen = Vec::new();
    for _ in 0..1000 {
        let now = s.next_tx().unwrap().max(t);
        s.handle(Event::TxTimer, now);
        let next = s.next_tx().unwrap();
        let gap = next.saturating_duration_since(now);
        seen.push(gap);
        t = now;
    }
    // Interval 30 ms (the remote's min_rx).
    assert!(seen.iter().all(|g| *g >= ms(30) * 3 / 4 && *g <= ms(30)));
    assert!(seen.iter().any(|g| *g < ms(24)), "jitter is spread");
    assert!(seen.iter().any(|g| *g > ms(28)), "jitter is spread");

    // Multiplier 1: 75–90 %.
    let mut s = Session::new(
        SessionConfig {
            detect_mult: 1,
            ..cfg()
        },
        at(0),
    );
    s.seed(7);
    let mut now = at(0);
    for _ in 0..500 {
        s.handle(Event::TxTimer, now);
        let next = s.next_tx().unwrap();
        let gap = next.saturating_duration_since(now);
        assert!(gap >= ms(750) && gap <= ms(900), "{gap:?}");
        now = next;
    }
}

#[test]
fn detection_time_expiry_brings_the_session_down() {
    let mut s = in_state(State::Up);
    let deadline = s.detect_at().unwrap();
    // Early timer events change nothing.
    assert_eq!(s.handle(Event::DetectTimer, at(2)), vec![]);
    let a = s.handle(Event::DetectTimer, deadline);
    assert_eq!(
        changes(&a),
        vec![(State::Up, State::Down, diag::DETECT_EXPIRED)]
    );
    assert_eq!(s.remote_discr(), 0);
    assert_eq!(s.detect_at(), None);
    // It says so at once, and then at the idle rate.
    let p = sent(&a);
    assert_eq!(p.len(), 1);
    assert_eq!(
        (p[0].state, p[0].diag, p[0].your_discr),
        (State::Down, 1, 0)
    );
    assert_eq!(p[0].desired_min_tx, 1_000_000);
    assert!(s.tx_interval() == Some(ms(1000)));
    // Init expires too.
    let mut s = in_state(State::Init);
    let d = s.detect_at().unwrap();
    s.handle(Event::DetectTimer, d);
    assert_eq!(s.state(), State::Down);
    // Packets keep pushing the deadline.
    let mut s = in_state(State::Up);
    for i in 1..100u64 {
        s.handle(Event::Rx(remote(State::Up)), at(i * 100));
        s.handle(Event::DetectTimer, at(i * 100 + 50));
        assert_eq!(s.state(), State::Up);
    }
}

#[test]
fn poll_is_answered_with_final_at_once() {
    let mut s = in_state(State::Up);
    let mut p = remote(State::Up);
    p.poll = true;
    let a = s.handle(Event::Rx(p), at(5));
    let out = sent(&a);
    assert_eq!(out.len(), 1);
    assert!(out[0].final_ && !out[0].poll);
    // Final without our poll: nothing special.
    let mut s = in_state(State::Up);
    s.handle(Event::Rx(remote(State::Up)), at(5));
    let mut f = remote(State::Up);
    f.final_ = true;
    assert!(s.poll_outstanding());
    s.handle(Event::Rx(f), at(6));
    assert!(!s.poll_outstanding());
    let mut f2 = remote(State::Up);
    f2.final_ = true;
    assert!(sent(&s.handle(Event::Rx(f2), at(7))).is_empty());
}

#[test]
fn passive_waits_for_the_remote() {
    let mut s = Session::new(
        SessionConfig {
            passive: true,
            ..cfg()
        },
        at(0),
    );
    assert_eq!(s.next_tx(), None);
    assert!(s.handle(Event::TxTimer, at(5000)).is_empty());
    let a = s.handle(Event::Rx(remote(State::Down)), at(6000));
    assert_eq!(s.state(), State::Init);
    assert_eq!(sent(&a).len(), 1);
    assert!(s.next_tx().is_some());
}

#[test]
fn admin_down_and_back() {
    let mut s = in_state(State::Up);
    let a = s.handle(Event::AdminDown, at(10));
    assert_eq!(
        changes(&a),
        vec![(State::Up, State::AdminDown, diag::ADMIN_DOWN)]
    );
    assert_eq!(sent(&a)[0].state, State::AdminDown);
    assert_eq!(s.detect_at(), None);
    let a = s.handle(Event::AdminUp, at(20));
    assert_eq!(changes(&a), vec![(State::AdminDown, State::Down, 0)]);
}

#[test]
fn min_tx_equal_to_idle_needs_no_poll() {
    let mut s = Session::new(
        SessionConfig {
            min_tx: ms(1000),
            ..cfg()
        },
        at(0),
    );
    s.handle(Event::Rx(remote(State::Init)), at(1));
    assert_eq!(s.state(), State::Up);
    assert!(!s.poll_outstanding());
}
