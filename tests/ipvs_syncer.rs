//! The IPVS syncer against a real kernel (inside the `scripts/ipvs-vm`
//! guest, see `tests/ipvs/mod.rs`; each test in a fresh network namespace).
//!
//! - every golden configuration converges to exactly the table Debian
//!   keepalived 2.2.7 programmed for it on the same guest kernel
//!   (`tests/ipvs_golden/`), a second start adopts it without a request, and
//!   stop leaves nothing;
//! - a reload changing one weight sends one SET_DEST; `ipvsadm -C` is
//!   repaired and counted; stop removes only our services;
//! - the daemon (`keepalived-rs -n -C`) programs 1,000 services × 10 real
//!   servers and SIGTERM leaves none behind.

#[path = "ipvs/mod.rs"]
mod ipvs_vm;
#[path = "ipvs_golden/norm.rs"]
mod norm;

use ipvs_vm::{sh, Test};
use keepalived_rs::config::{self, LoadOptions};
use keepalived_rs::daemon::lvs::{kernel_client, KernelClient};
use keepalived_rs::ipvs::desired::{self, LvsSpec};
use keepalived_rs::ipvs::syncer::{Options, Syncer};
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

fn main() -> ExitCode {
    ipvs_vm::main(&[
        Test {
            name: "golden_configs_converge_like_keepalived",
            run: golden_configs_converge_like_keepalived,
        },
        Test {
            name: "reload_one_weight_is_one_set_dest",
            run: reload_one_weight_is_one_set_dest,
        },
        Test {
            name: "ipvsadm_clear_is_repaired_and_counted",
            run: ipvsadm_clear_is_repaired_and_counted,
        },
        Test {
            name: "stop_removes_only_ours",
            run: stop_removes_only_ours,
        },
        Test {
            name: "sigterm_with_11000_entries_leaves_none",
            run: sigterm_with_11000_entries_leaves_none,
        },
    ])
}

fn spec_text(text: &str) -> LvsSpec {
    let loaded = config::load_str("test.conf", text, &LoadOptions::default());
    desired::build(&loaded.config)
}

fn client() -> KernelClient {
    kernel_client().expect("IPVS client")
}

fn syncer(spec: LvsSpec) -> Syncer<KernelClient> {
    let (mut s, _) = Syncer::new(client(), spec, Options::default());
    s.start().expect("start");
    s
}

fn table() -> norm::Blocks {
    norm::parse_ipvsadm(&sh("ipvsadm", &["-Ln"]))
}

fn golden_configs_converge_like_keepalived() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ipvs_golden/data");
    let mut goldens: Vec<_> = std::fs::read_dir(&dir)
        .expect("golden data")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "ipvsadm"))
        .collect();
    goldens.sort();
    assert!(!goldens.is_empty());
    let mut failures = Vec::new();
    for golden in &goldens {
        let conf = golden.with_extension("conf");
        let name = conf.display().to_string();
        sh("ipvsadm", &["-C"]);
        let loaded = config::load_file(&conf, &LoadOptions::default());
        let spec = desired::build(&loaded.config);
        let mut first = syncer(spec.clone());
        // The sync daemons' interfaces do not exist in the test namespace.
        let last = first.status().last_error.unwrap_or_default();
        if first.counts().errors > 0 && !last.contains("sync daemon") {
            failures.push(format!(
                "{name}: {} kernel errors, last: {last}",
                first.counts().errors
            ));
        }
        let want = norm::parse_ipvsadm(&std::fs::read_to_string(golden).expect("golden"));
        let got = table();
        if want != got {
            failures.push(format!(
                "{name}: differs from keepalived's (- keepalived, + ours):\n  {}",
                norm::difference(&want, &got, 10).join("\n  ")
            ));
        }
        // The kernel reads back as we wrote it: nothing to repair...
        match first.reconcile() {
            Ok(0) => {}
            other => failures.push(format!("{name}: reconcile right after start: {other:?}")),
        }
        // ... and a second start adopts the table without a request.
        let (mut second, _) = Syncer::new(client(), spec, Options::default());
        second.start().expect("second start");
        if second.counts().table_ops() != 0 {
            failures.push(format!("{name}: a second start sent {:?}", second.counts()));
        }
        second.stop();
        let left = table();
        if !left.is_empty() {
            failures.push(format!("{name}: left after stop: {left:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} configurations:\n{}",
        failures.len(),
        goldens.len(),
        failures.join("\n")
    );
    println!("{} configurations match keepalived 2.2.7", goldens.len());
}

const TWO_VS: &str = r#"
virtual_server 10.0.0.1 80 {
    lvs_sched rr
    protocol TCP
    real_server 192.168.1.1 80 { weight 2 }
    real_server 192.168.1.2 80 { weight 3 }
}
virtual_server 10.0.0.2 443 {
    lvs_sched wrr
    lvs_method DR
    protocol TCP
    persistence_timeout 600
    real_server 192.168.1.3 443 { }
}
"#;

fn reload_one_weight_is_one_set_dest() {
    let mut s = syncer(spec_text(TWO_VS));
    let before = s.counts();
    s.reload(spec_text(&TWO_VS.replace("weight 3", "weight 7")));
    let after = s.counts();
    assert_eq!(after.table_ops() - before.table_ops(), 1, "{after:?}");
    assert_eq!(after.set_dest - before.set_dest, 1);
    let t = table();
    assert!(
        t.iter()
            .any(|(_, d)| d.iter().any(|l| l.contains("192.168.1.2:80 Masq 7"))),
        "{t:?}"
    );
    // A scheduler change is one SET_SERVICE.
    let before = s.counts();
    s.reload(spec_text(
        &TWO_VS
            .replace("weight 3", "weight 7")
            .replace("lvs_sched rr", "lvs_sched wlc"),
    ));
    let after = s.counts();
    assert_eq!(after.table_ops() - before.table_ops(), 1, "{after:?}");
    assert_eq!(after.set_service - before.set_service, 1);
    assert_eq!(s.reconcile().ok(), Some(0));
    s.stop();
}

fn ipvsadm_clear_is_repaired_and_counted() {
    let mut s = syncer(spec_text(TWO_VS));
    let want = table();
    sh("ipvsadm", &["-C"]);
    assert_eq!(s.reconcile().ok(), Some(5));
    assert_eq!(s.counts().repairs, 5);
    assert_eq!(table(), want);
    sh(
        "ipvsadm",
        &[
            "-e",
            "-t",
            "10.0.0.1:80",
            "-r",
            "192.168.1.1:80",
            "-m",
            "-w",
            "9",
        ],
    );
    sh(
        "ipvsadm",
        &["-d", "-t", "10.0.0.1:80", "-r", "192.168.1.2:80"],
    );
    assert_eq!(s.reconcile().ok(), Some(2));
    assert_eq!(s.counts().repairs, 7);
    assert_eq!(table(), want);
    s.stop();
}

fn stop_removes_only_ours() {
    sh("ipvsadm", &["-A", "-t", "10.9.9.9:25", "-s", "rr"]);
    sh(
        "ipvsadm",
        &["-a", "-t", "10.9.9.9:25", "-r", "192.168.9.9:25", "-m"],
    );
    let foreign = table();
    let mut s = syncer(spec_text(TWO_VS));
    assert_eq!(norm::entries(&table()), 2 + 5);
    s.stop();
    assert_eq!(table(), foreign);
    // -I: nothing removed.
    let (mut s, _) = Syncer::new(client(), spec_text(TWO_VS), Options { dont_release: true });
    s.start().expect("start");
    let before = table();
    s.stop();
    assert_eq!(table(), before);
}

fn count_entries() -> usize {
    let out = Command::new("ipvsadm")
        .arg("-Ln")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    out.lines()
        .filter(|l| {
            let w = l.trim_start();
            (w.starts_with("TCP") || w.starts_with("-> ")) && !w.contains("RemoteAddress")
        })
        .count()
}

/// Start a daemon, wait until `ipvsadm` shows 11,000 entries, SIGTERM it,
/// wait for its exit. Returns (start → all visible, SIGTERM → exit, entries
/// left, its log).
fn run_daemon(mut cmd: Command, dir: &Path, name: &str) -> (Duration, Duration, usize, String) {
    let log_path = dir.join(format!("{name}.log"));
    let log = std::fs::File::create(&log_path).expect("log");
    let t0 = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {name}: {e}"));
    let read_log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let mut n = 0;
    while t0.elapsed() < Duration::from_secs(400) {
        n = count_entries();
        if n >= 11_000 {
            break;
        }
        if let Ok(Some(st)) = child.try_wait() {
            let _ = child.wait();
            panic!("{name} exited early ({st}): {}", read_log());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let converged = t0.elapsed();
    if n != 11_000 {
        let _ = child.kill();
        let _ = child.wait();
        panic!("{name}: {n} entries after {converged:?}: {}", read_log());
    }
    let t1 = Instant::now();
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("pid"));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
    let mut status = None;
    while t1.elapsed() < Duration::from_secs(120) {
        if let Ok(Some(st)) = child.try_wait() {
            status = Some(st);
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let stopped = t1.elapsed();
    let Some(status) = status else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("{name} did not exit within 120 s of SIGTERM");
    };
    assert!(status.success(), "{name}: exit status {status}");
    (converged, stopped, count_entries(), read_log())
}

fn sigterm_with_11000_entries_leaves_none() {
    let mut conf = String::new();
    for i in 0..1000u32 {
        conf.push_str(&format!(
            "virtual_server 10.{}.{}.1 80 {{\n  lvs_sched wrr\n  protocol TCP\n",
            i / 250,
            i % 250
        ));
        for j in 0..10u32 {
            conf.push_str(&format!(
                "  real_server 192.168.{}.{} 80 {{ weight 1 }}\n",
                j,
                1 + i % 250
            ));
        }
        conf.push_str("}\n");
    }
    let dir = std::env::temp_dir().join(format!("ipvs-syncer-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let path = dir.join("big.conf");
    std::fs::write(&path, conf).expect("write conf");

    // Debian keepalived 2.2.7 on the same file in the same guest, measured
    // the same way, for comparison (the absolute times depend on the host).
    let keepalived = Path::new("/usr/sbin/keepalived");
    if keepalived.exists() {
        let mut cmd = Command::new(keepalived);
        cmd.args(["-n", "-l", "-C", "-f"])
            .arg(&path)
            .arg("-p")
            .arg(dir.join("ka.pid"))
            .arg("-c")
            .arg(dir.join("kc.pid"));
        let (up, down, left, _) = run_daemon(cmd, &dir, "keepalived");
        println!(
            "keepalived 2.2.7: 11,000 entries visible after {:.2} s; SIGTERM to exit {:.2} s; {left} left",
            up.as_secs_f64(),
            down.as_secs_f64()
        );
        sh("ipvsadm", &["-C"]);
    }

    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keepalived-rs"));
    cmd.args(["-n", "-l", "-C", "-f"])
        .arg(&path)
        .arg("-p")
        .arg(dir.join("k.pid"))
        .arg("-c")
        .arg(dir.join("c.pid"))
        .env("KEEPALIVED_RS_IPVS_RECONCILE_SECS", "0");
    let (up, down, left, log) = run_daemon(cmd, &dir, "keepalived-rs");
    println!(
        "keepalived-rs ({} build): 11,000 entries visible after {:.2} s; SIGTERM to exit {:.2} s; {left} left",
        if cfg!(debug_assertions) { "debug" } else { "release" },
        up.as_secs_f64(),
        down.as_secs_f64()
    );
    for l in log
        .lines()
        .filter(|l| !l.contains("no forwarding method set"))
        .take(20)
    {
        println!("  | {l}");
    }
    assert_eq!(left, 0);

    // The syncer alone, in this process (same build), without polling.
    let loaded = config::load_file(&path, &LoadOptions::default());
    let spec = desired::build(&loaded.config);
    let t = Instant::now();
    let (mut s, _) = Syncer::new(client(), spec, Options::default());
    s.start().expect("start");
    let up = t.elapsed();
    assert_eq!(count_entries(), 11_000);
    let t = Instant::now();
    assert_eq!(s.reconcile().ok(), Some(0));
    let reconcile = t.elapsed();
    let t = Instant::now();
    s.stop();
    println!(
        "syncer in-process: start {:.2} s ({} requests), reconcile (full read) {:.2} s, stop {:.2} s",
        up.as_secs_f64(),
        s.counts().new_service + s.counts().new_dest,
        reconcile.as_secs_f64(),
        t.elapsed().as_secs_f64()
    );
    assert_eq!(count_entries(), 0);
}
