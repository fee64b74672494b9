//! VRRP trackers with the real binary in the namespace lab: the shipped
//! nginx pair (conf/nginx-pair) failing over when its web server stops and
//! preempting back when it returns; a hung vrrp_script that never delays an
//! advert and is killed with its children; rise/fall counted exactly through
//! a flapping script; track_file values and a tracked process moving the
//! advertised priority.

mod lab;

use lab::daemon::{Capture, Daemon, Packet, PacketKind};
use lab::{wait_for, Host, Lab};
use std::net::IpAddr;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A web server on 127.0.0.1:80 inside a lab host, killed on drop.
struct WebServer(Child);

impl WebServer {
    fn start(host: &Host) -> WebServer {
        let child = host
            .cmd("python3")
            .args(["-m", "http.server", "80", "--bind", "127.0.0.1"])
            .current_dir("/")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 -m http.server");
        WebServer(child)
    }
}

impl Drop for WebServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn check_passes(host: &Host, script: &Path) -> bool {
    host.try_sh(&script.display().to_string()).status.success()
}

/// The VRRP adverts from `src` in a capture.
fn adverts_from(packets: &[Packet], src: IpAddr) -> Vec<(Duration, u8)> {
    packets
        .iter()
        .filter_map(|p| match p.kind {
            PacketKind::Vrrp {
                src: s, priority, ..
            } if s == src => Some((p.time, priority)),
            _ => None,
        })
        .collect()
}

fn wall_clock() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

fn vrrp_instance(prio: u8, vip: &str, advert: &str, version: u8, extra: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    \
         priority {prio}\n    advert_int {advert}\n    version {version}\n{extra}    \
         virtual_ipaddress {{\n        {vip}/24\n    }}\n}}\n"
    )
}

#[test]
fn nginx_pair_fails_over_when_the_web_server_stops_and_preempts_back() {
    let lab = Lab::new(&["lb1", "lb2"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let vip = lab.addr(100);
    // The shipped example, with the lab's VIP instead of 192.168.77.100.
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("conf/nginx-pair");
    let conf = std::fs::read_to_string(repo.join("keepalived.conf"))
        .expect("conf/nginx-pair/keepalived.conf")
        .replace("192.168.77.100/24", &format!("{vip}/24"));
    assert!(conf.contains(&vip), "the example's VIP line changed");
    let script = dir.path().join("check_nginx.sh");
    std::fs::copy(repo.join("check_nginx.sh"), &script).expect("copy check_nginx.sh");
    let lb1 = lab.host("lb1");
    let lb2 = lab.host("lb2");

    let mut web1 = Some(WebServer::start(lb1));
    let _web2 = WebServer::start(lb2);
    for h in [lb1, lb2] {
        assert!(
            wait_for(Duration::from_secs(10), || check_passes(h, &script)),
            "the web server in {} never answered check_nginx.sh",
            h.ns
        );
    }
    // `-i lbN` selects the @lbN lines; ${_PWD} finds check_nginx.sh next to it.
    let d1 = Daemon::start(lb1, dir.path(), "keepalived", &conf, &["-i", "lb1"]);
    let _d2 = Daemon::start(lb2, dir.path(), "keepalived-lb2", &conf, &["-i", "lb2"]);
    assert!(
        wait_for(Duration::from_secs(8), || lb1.has_address(&vip)),
        "lb1 never became MASTER:\n{}",
        d1.log_text()
    );
    assert!(!lb2.has_address(&vip));

    // nginx dies on the MASTER: two failed checks (fall 2) take its priority
    // to 130, below lb2's 140; lb2 preempts.
    drop(web1.take());
    assert!(!check_passes(lb1, &script));
    assert!(
        wait_for(Duration::from_secs(10), || lb2.has_address(&vip)),
        "lb2 never took the VIP:\n{}",
        d1.log_text()
    );
    assert!(
        wait_for(Duration::from_secs(2), || !lb1.has_address(&vip)),
        "lb1 kept the VIP"
    );
    assert!(d1.log_text().contains("VRRP_Script failed"));

    // nginx is back: two good checks (rise 2) restore 150 and lb1 preempts.
    web1 = Some(WebServer::start(lb1));
    assert!(
        wait_for(Duration::from_secs(10), || lb1.has_address(&vip)),
        "lb1 did not take the VIP back:\n{}",
        d1.log_text()
    );
    assert!(wait_for(Duration::from_secs(2), || !lb2.has_address(&vip)));
    drop(web1);
}

/// Capture windows of ~4 s measured before uneven advert gaps are a failure
/// (a scheduler stall on a loaded 2-core host can delay one advert).
const WINDOWS: usize = 3;
/// An advert gap this far off advert_int (ms) is an advert blocked by the
/// hung script (up to its 1 s timeout), not a stall: it fails at once.
const HUNG_MS: f64 = 500.0;

#[test]
fn a_hung_script_never_delays_an_advert_and_dies_with_its_children() {
    let lab = Lab::new(&["lb1", "cli"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let vip = lab.addr(100);
    let lb1 = lab.host("lb1");
    let starts = dir.path().join("starts");
    // Each run notes its start, leaves a child behind and hangs; the 1 s
    // timeout must kill both. Weight 10: failures change no priority, so
    // every advert should be a regular one.
    let conf = format!(
        "vrrp_script hang {{\n    script \"/bin/sh -c 'echo run >> {}; sleep 1000 & exec sleep 1001'\"\n    \
         interval 1\n    timeout 1\n    weight 10\n}}\n{}",
        starts.display(),
        vrrp_instance(
            150,
            &vip,
            "0.1",
            3,
            "    track_script {\n        hang\n    }\n"
        )
    );
    let mut d = Daemon::start(lb1, dir.path(), "lb1", &conf, &[]);
    assert!(
        wait_for(Duration::from_secs(5), || lb1.has_address(&vip)),
        "{}",
        d.log_text()
    );
    // Counted from /proc in the test itself: a spawned shell every 100 ms
    // would compete with the daemon for the two CPUs during the capture.
    let count_sleepers = || {
        lb1.cmdlines()
            .iter()
            .filter(|c| c.starts_with("sleep 1000") || c.starts_with("sleep 1001"))
            .count()
    };
    let src: IpAddr = lb1.ipv4.parse().expect("ip");
    let mut most = 0;
    let mut windows = Vec::new();
    for window in 1..=WINDOWS {
        let pcap = dir.path().join(format!("hang{window}.pcap"));
        let mut cap = Capture::start(lab.host("cli"), &pcap, "ip proto 112");
        for _ in 0..40 {
            std::thread::sleep(Duration::from_millis(100));
            most = most.max(count_sleepers());
        }
        let packets = cap.stop();
        let adverts = adverts_from(&packets, src);
        assert!(adverts.iter().all(|a| a.1 == 150), "{adverts:?}");
        let gaps: Vec<f64> = adverts
            .windows(2)
            .map(|w| (w[1].0 - w[0].0).as_secs_f64() * 1000.0)
            .collect();
        let worst = gaps
            .iter()
            .map(|g| (g - 100.0).abs())
            .fold(0.0_f64, f64::max);
        eprintln!(
            "window {window}: {} adverts, gaps off advert_int by at most {worst:.2} ms",
            adverts.len()
        );
        // An advert held up by the hung script comes up to its 1 s timeout
        // late: never a scheduler stall, fail at once.
        assert!(
            worst < HUNG_MS,
            "an advert gap was off by {worst:.1} ms while the script hung: {gaps:?}"
        );
        if worst < 10.0 && adverts.len() >= 35 {
            windows.clear();
            break;
        }
        windows.push((adverts.len(), worst, gaps));
    }
    assert!(
        windows.is_empty(),
        "in every window fewer than 35 adverts in 4 s or a gap off by 10 ms or more while the script hung \
         (adverts, worst ms, gaps): {windows:?}"
    );
    let runs = std::fs::read_to_string(&starts)
        .unwrap_or_default()
        .lines()
        .count();
    assert!(
        runs >= 3,
        "the hung script ran {runs} times in ~5 s (it must be killed and run again)"
    );
    assert!(
        most <= 2,
        "{most} sleepers at once: a killed run left its children behind"
    );
    eprintln!("{runs} runs of the hung script, at most {most} of its processes at once");
    // A graceful stop kills the run in flight with its children.
    d.term().expect("stops on SIGTERM");
    assert!(
        wait_for(Duration::from_secs(2), || count_sleepers() == 0),
        "the hung script's processes survived the daemon"
    );
}

#[test]
fn rise_and_fall_are_counted_exactly_through_a_flapping_script() {
    let lab = Lab::new(&["lb1", "cli"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let vip = lab.addr(100);
    let lb1 = lab.host("lb1");
    // Run n (1-based) returns the n-th result, then success forever:
    //   run 1 OK at once (first result decides);
    //   2-3 two failures, 4 resets, 5-6-7 flap, 8 (7,8,9 three failures)
    //   -> FAILED at run 9 (fall 3); 10 one success, 11 resets, 12-13 two
    //   successes -> OK at run 13 (rise 2).
    let plan = "+--+-+---+-++";
    let counter = dir.path().join("n");
    let log = dir.path().join("runs");
    std::fs::write(&counter, "0").expect("counter");
    let script = dir.path().join("plan.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nn=$(($(cat {c}) + 1)); echo $n > {c}\n\
             r=$(echo '{plan}' | cut -c$n); echo \"$n $(date +%s.%N) $r\" >> {l}\n\
             [ \"$r\" != - ]\n",
            c = counter.display(),
            l = log.display()
        ),
    )
    .expect("script");
    lb1.sh(&format!("chmod 755 {}", script.display()));
    let conf = format!(
        "vrrp_script plan {{\n    script \"{}\"\n    interval 1\n    weight -20\n    rise 2\n    fall 3\n}}\n{}",
        script.display(),
        vrrp_instance(
            150,
            &vip,
            "0.1",
            3,
            "    track_script {\n        plan\n    }\n"
        )
    );
    let pcap = dir.path().join("plan.pcap");
    let mut cap = Capture::start(lab.host("cli"), &pcap, "ip proto 112");
    let d = Daemon::start(lb1, dir.path(), "lb1", &conf, &[]);
    // 13 runs, one a second, and one more to see the last one's effect.
    assert!(
        wait_for(Duration::from_secs(20), || std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .count()
            >= 14),
        "{}",
        d.log_text()
    );
    let packets = cap.stop();
    let runs: Vec<(u32, f64)> = std::fs::read_to_string(&log)
        .expect("runs")
        .lines()
        .filter_map(|l| {
            let mut w = l.split(' ');
            Some((w.next()?.parse().ok()?, w.next()?.parse().ok()?))
        })
        .collect();
    let at = |n: u32| {
        runs.iter()
            .find(|r| r.0 == n)
            .map(|r| r.1)
            .unwrap_or_else(|| panic!("no run {n}: {runs:?}"))
    };
    let src: IpAddr = lb1.ipv4.parse().expect("ip");
    let adverts = adverts_from(&packets, src);
    // Priority changes seen on the wire: exactly 150 -> 130 -> 150.
    let mut changes = Vec::new();
    for w in adverts.windows(2) {
        if w[0].1 != w[1].1 {
            changes.push((w[1].0.as_secs_f64(), w[0].1, w[1].1));
        }
    }
    let shape: Vec<(u8, u8)> = changes.iter().map(|c| (c.1, c.2)).collect();
    assert_eq!(
        shape,
        vec![(150, 130), (130, 150)],
        "priority changes {changes:?}"
    );
    assert!(adverts.first().is_some_and(|a| a.1 == 150));
    // Each change follows its deciding run (9, then 13) and comes before the
    // next run starts.
    for (change, run) in changes.iter().zip([9, 13]) {
        assert!(
            change.0 > at(run) && change.0 < at(run + 1),
            "change {change:?} not between run {run} ({}) and run {} ({})",
            at(run),
            run + 1,
            at(run + 1)
        );
    }
}

#[test]
fn track_file_values_move_the_advertised_priority_and_add_to_interface_weights() {
    let lab = Lab::new(&["lb1", "cli"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let vip = lab.addr(100);
    let lb1 = lab.host("lb1");
    lb1.sh(
        "ip link add eth9 type veth peer name eth9p && ip link set eth9p up && ip link set eth9 up",
    );
    let file = dir.path().join("weight");
    // init_file writes 0 since the file does not exist; weight 2 doubles the
    // number; the instance overrides the weight to 1 in track_file.  A
    // weighted tracked interface adds 10 while up: the engine must add both.
    let conf = format!(
        "track_file tf {{\n    file \"{}\"\n    weight 2\n    init_file 0\n}}\n{}",
        file.display(),
        vrrp_instance(
            150,
            &vip,
            "0.1",
            3,
            "    track_file {\n        tf weight 1\n    }\n    track_interface {\n        eth9 weight 10\n    }\n"
        )
    );
    let pcap = dir.path().join("tf.pcap");
    let mut cap = Capture::start(lab.host("cli"), &pcap, "ip proto 112");
    let d = Daemon::start(lb1, dir.path(), "lb1", &conf, &[]);
    assert!(
        wait_for(Duration::from_secs(5), || lb1.has_address(&vip)),
        "{}",
        d.log_text()
    );
    assert_eq!(
        std::fs::read_to_string(&file).ok().as_deref(),
        Some("0\n"),
        "init_file"
    );
    // (what is done, priority expected; None = FAULT, no adverts): a number
    // written to the file, or eth9 taken down or up.
    let steps: [(&str, Option<u8>); 8] = [
        ("5", Some(165)),
        ("-20", Some(140)),
        ("-300", None),
        ("200", Some(254)),
        ("0", Some(160)),
        ("down", Some(150)),
        ("7", Some(157)),
        ("up", Some(167)),
    ];
    // Each step's window runs from 600 ms after its action returned (a
    // spawned `ip link set` can take a while on a loaded host) to the start
    // of the next action.
    let mut begun = Vec::new();
    let mut done = Vec::new();
    for (action, _) in &steps {
        begun.push(wall_clock());
        match *action {
            "down" | "up" => {
                lb1.sh(&format!("ip link set eth9 {action}"));
            }
            value => {
                // Replace it the way an editor would: write a temporary file, rename.
                let tmp = dir.path().join("weight.tmp");
                std::fs::write(&tmp, format!("{value}\n")).expect("write");
                std::fs::rename(&tmp, &file).expect("rename");
            }
        }
        done.push(wall_clock());
        std::thread::sleep(Duration::from_millis(1500));
    }
    let end = wall_clock();
    let packets = cap.stop();
    let src: IpAddr = lb1.ipv4.parse().expect("ip");
    let adverts = adverts_from(&packets, src);
    for (k, (action, want)) in steps.iter().enumerate() {
        let from = done[k] + Duration::from_millis(600);
        let to = begun.get(k + 1).copied().unwrap_or(end);
        let seen: Vec<u8> = adverts
            .iter()
            .filter(|a| a.0 > from && a.0 < to)
            .map(|a| a.1)
            .collect();
        match want {
            Some(p) => assert!(
                seen.len() >= 3 && seen.iter().all(|s| s == p),
                "after {action:?}: adverts {seen:?}, want priority {p}"
            ),
            None => assert!(
                seen.is_empty(),
                "after {action:?} the instance should be in FAULT; adverts {seen:?}"
            ),
        }
    }
    assert!(lb1.has_address(&vip));
}

#[test]
fn a_tracked_process_moves_the_priority_after_its_delay() {
    let lab = Lab::new(&["lb1", "cli"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let vip = lab.addr(100);
    let lb1 = lab.host("lb1");
    // A name no other process on the machine has (the /proc scan sees every
    // process, not only the lab's): a copy of sleep under a unique name.
    let name = format!("trk{}", std::process::id() % 1_000_000);
    let exe = dir.path().join(&name);
    std::fs::copy("/bin/sleep", &exe).expect("copy sleep");
    let conf = format!(
        "vrrp_track_process proc {{\n    process {name}\n    weight 20\n    terminate_delay 1\n}}\n{}",
        vrrp_instance(
            150,
            &vip,
            "0.1",
            3,
            "    track_process {\n        proc\n    }\n"
        )
    );
    let pcap = dir.path().join("proc.pcap");
    let mut cap = Capture::start(lab.host("cli"), &pcap, "ip proto 112");
    let d = Daemon::start(lb1, dir.path(), "lb1", &conf, &[]);
    assert!(
        wait_for(Duration::from_secs(5), || lb1.has_address(&vip)),
        "{}",
        d.log_text()
    );
    std::thread::sleep(Duration::from_millis(300));
    let started = wall_clock();
    let mut child = lb1
        .cmd(exe.to_str().expect("utf-8 path"))
        .arg("1000")
        .stdin(Stdio::null())
        .spawn()
        .expect("start the tracked process");
    // Inside a namespace the process-event connector is refused and the
    // daemon scans /proc every 500 ms: keep the process up for 3 s so the
    // windows below leave a second of slack for a stalled scan.
    std::thread::sleep(Duration::from_millis(3000));
    let killed = wall_clock();
    let _ = child.kill();
    let _ = child.wait();
    std::thread::sleep(Duration::from_millis(3500));
    let packets = cap.stop();
    let src: IpAddr = lb1.ipv4.parse().expect("ip");
    let adverts = adverts_from(&packets, src);
    let during = |from: Duration, to: Duration| -> Vec<u8> {
        adverts
            .iter()
            .filter(|a| a.0 > from && a.0 < to)
            .map(|a| a.1)
            .collect()
    };
    let ms = Duration::from_millis;
    // Not running: no weight; running: +20 within a scan (500 ms), given a
    // second more for a slow spawn or a stalled scan.
    let before = during(started - ms(300), started);
    assert!(
        !before.is_empty() && before.iter().all(|&p| p == 150),
        "{before:?}"
    );
    let up = during(started + ms(1500), killed);
    assert!(!up.is_empty() && up.iter().all(|&p| p == 170), "{up:?}");
    // Gone: terminate_delay (1 s) keeps the weight (the earliest it can go is
    // killed + 1 s), then it is dropped: by killed + 1.5 s with a prompt scan,
    // a second of slack before the window below.
    let held = during(killed, killed + ms(900));
    assert!(
        !held.is_empty() && held.iter().all(|&p| p == 170),
        "{held:?}"
    );
    let after = during(killed + ms(2500), killed + ms(3200));
    assert!(
        !after.is_empty() && after.iter().all(|&p| p == 150),
        "{after:?}"
    );
}
