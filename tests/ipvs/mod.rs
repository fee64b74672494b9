//! Runner for tests that need a kernel with IPVS (`tests/ipvs_*.rs`, built
//! with `harness = false`).
//!
//! On the host the test binary re-runs itself inside the QEMU guest of
//! `scripts/ipvs-vm` (one VM per binary, about 2.5 s), and its exit status
//! is the guest's. Inside the guest (`IPVS_VM_GUEST=1`) every test runs on
//! its own thread in a fresh network namespace (with lo up), so each sees an
//! empty IPVS table and tests cannot disturb each other. `KEEPALIVED_RS_IPVS_HOST=1`
//! runs the tests on the host kernel instead (root and IPVS needed; the
//! per-test namespaces keep the host's own table untouched).
//!
//! If the guest cannot run (no root, no qemu, no network for the one-time
//! download), the binary fails with the reason: it never skips.
//!
//! Understands the libtest options cargo and nextest pass: name filters,
//! `--exact`, `--skip`, `--list`, `--ignored` (there are none); the rest
//! (`--nocapture`, `--test-threads N`, ...) are accepted and ignored. Tests
//! run one after the other.

#![allow(dead_code)]

use std::io::Write;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

/// One test: a name and a function that panics on failure.
pub struct Test {
    pub name: &'static str,
    pub run: fn(),
}

/// Options of libtest that take a value.
const WITH_VALUE: &[&str] = &[
    "--test-threads",
    "--format",
    "--color",
    "--logfile",
    "-Z",
    "--shuffle-seed",
    "--report-time",
];

pub fn main(tests: &[Test]) -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mut filters, mut skips) = (Vec::new(), Vec::new());
    let (mut exact, mut list, mut ignored_only) = (false, false, false);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--exact" => exact = true,
            "--list" => list = true,
            "--ignored" => ignored_only = true,
            "--skip" => skips.extend(it.next().cloned()),
            s if WITH_VALUE.contains(&s) => {
                it.next();
            }
            s if s.starts_with('-') => {}
            s => filters.push(s.to_string()),
        }
    }
    let selected: Vec<&Test> = tests
        .iter()
        .filter(|t| {
            (filters.is_empty()
                || filters.iter().any(|f| {
                    if exact {
                        t.name == f
                    } else {
                        t.name.contains(f.as_str())
                    }
                }))
                && !skips.iter().any(|s| t.name.contains(s.as_str()))
        })
        .collect();
    if list {
        if !ignored_only {
            for t in &selected {
                println!("{}: test", t.name);
            }
        }
        return ExitCode::SUCCESS;
    }
    if ignored_only || selected.is_empty() {
        println!("running 0 tests\n\ntest result: ok. 0 passed; 0 failed");
        return ExitCode::SUCCESS;
    }
    let in_guest = std::env::var_os("IPVS_VM_GUEST").is_some_and(|v| v == "1");
    let on_host = std::env::var_os("KEEPALIVED_RS_IPVS_HOST").is_some_and(|v| v == "1");
    if !in_guest && !on_host {
        return run_in_guest(&args);
    }
    run_here(&selected)
}

fn run_in_guest(args: &[String]) -> ExitCode {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/ipvs-vm");
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("IPVS tests: cannot find my own executable: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!(
        "IPVS tests: this kernel is not the test kernel; running {} inside {script}",
        exe.display()
    );
    let start = Instant::now();
    let status = Command::new(script)
        .args(["-e", "RUST_BACKTRACE", "-e", "RUST_LOG", "--"])
        .arg(&exe)
        .args(args)
        .status();
    match status {
        Ok(s) if s.success() => {
            eprintln!(
                "IPVS tests: guest run passed in {:.1} s",
                start.elapsed().as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Ok(s) => {
            let code = s.code().unwrap_or(1);
            eprintln!(
                "IPVS tests: FAILED in the guest (exit status {code}{})",
                match code {
                    124 => ", timed out",
                    125 => ", the VM could not run: see the messages above",
                    _ => "",
                }
            );
            ExitCode::from(u8::try_from(code).unwrap_or(1).max(1))
        }
        Err(e) => {
            eprintln!("IPVS tests: FAILED: cannot run {script}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_here(tests: &[&Test]) -> ExitCode {
    println!("\nrunning {} tests", tests.len());
    let start = Instant::now();
    let mut failed = Vec::new();
    for t in tests {
        let t0 = Instant::now();
        let run = t.run;
        let res = std::thread::Builder::new()
            .name(t.name.to_string())
            .spawn(move || {
                // A private network namespace for this thread (and the
                // processes it starts): an empty IPVS table.
                if let Err(e) = nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET) {
                    panic!("unshare(CLONE_NEWNET): {e}");
                }
                // With lo down a new namespace has no routing tables, and the
                // kernel refuses every IPv4 real server (its address type is
                // not unicast then).
                sh("ip", &["link", "set", "lo", "up"]);
                run()
            })
            .map(|h| h.join());
        let ok = matches!(res, Ok(Ok(())));
        println!(
            "test {} ... {} ({:.2} s)",
            t.name,
            if ok { "ok" } else { "FAILED" },
            t0.elapsed().as_secs_f64()
        );
        let _ = std::io::stdout().flush();
        if !ok {
            failed.push(t.name);
        }
    }
    println!();
    if !failed.is_empty() {
        println!("failures:");
        for f in &failed {
            println!("    {f}");
        }
        println!();
    }
    println!(
        "test result: {}. {} passed; {} failed; finished in {:.2}s",
        if failed.is_empty() { "ok" } else { "FAILED" },
        tests.len() - failed.len(),
        failed.len(),
        start.elapsed().as_secs_f64()
    );
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(101)
    }
}

/// Run a command in the caller's network namespace; its stdout. Panics with
/// the command's stderr when it fails.
pub fn sh(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `ipvsadm -Ln` in the guest (empty if it cannot run).
pub fn table() -> String {
    Command::new("ipvsadm")
        .arg("-Ln")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

/// Poll [`table`] every 100 ms until `cond` holds; fail the test after `limit`.
pub fn wait_table(limit: std::time::Duration, what: &str, cond: impl Fn(&str) -> bool) {
    let t0 = Instant::now();
    loop {
        let t = table();
        if cond(&t) {
            return;
        }
        assert!(t0.elapsed() < limit, "timed out waiting for {what}:\n{t}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// keepalived-rs on `conf`, logging to `dir/daemon.log`; SIGTERM and a
/// bounded wait on drop.
pub struct Daemon {
    child: std::process::Child,
    log: std::path::PathBuf,
    clean: Option<bool>,
}

impl Daemon {
    pub fn start(dir: &std::path::Path, conf: &std::path::Path) -> Daemon {
        let log_path = dir.join("daemon.log");
        let log = std::fs::File::create(&log_path).expect("log");
        let child = Command::new(env!("CARGO_BIN_EXE_keepalived-rs"))
            .args(["-n", "-l", "-f"])
            .arg(conf)
            .arg("-p")
            .arg(dir.join("pid"))
            .arg("--control-socket")
            .arg(dir.join("control.sock"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start keepalived-rs");
        Daemon {
            child,
            log: log_path,
            clean: None,
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.child.id()).expect("pid"));
        nix::sys::signal::kill(pid, sig).expect("kill");
    }

    /// SIGTERM; whether it exited with 0 within 30 s.
    pub fn stop(&mut self) -> bool {
        if let Some(c) = self.clean {
            return c;
        }
        self.signal(nix::sys::signal::Signal::SIGTERM);
        let t0 = Instant::now();
        let mut clean = false;
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                clean = st.success();
                break;
            }
            if t0.elapsed() > Duration::from_secs(30) {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.clean = Some(clean);
        clean
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Run `f`; on failure print the daemon's log. Then stop the daemon, which
/// must exit cleanly.
pub fn with_daemon(mut d: Daemon, f: impl FnOnce(&Daemon)) {
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&d)));
    let clean = d.stop();
    if let Err(e) = result {
        eprintln!("daemon log:\n{}", d.log());
        std::panic::resume_unwind(e);
    }
    assert!(clean, "no clean exit:\n{}", d.log());
}
