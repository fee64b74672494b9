//! A network lab for integration tests: named network namespaces joined by a
//! Linux bridge, built with iproute2 and torn down on drop, even when the test
//! fails.  Names are unique per process and lab, so tests can run in parallel
//! and a crashed run never collides with the next.
//!
//! These tests need root (CI runs as root).  Without it they fail loudly.
#![allow(dead_code)]

pub mod daemon;

use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

static NEXT_LAB: AtomicU32 = AtomicU32::new(0);

/// Labs of one test binary run one at a time: timing assertions (wire gaps)
/// must not compete with another lab for the two CPUs.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

thread_local! {
    /// A thread that already holds a lab must not build another one: it would
    /// wait for itself forever.
    static HOLDS_LAB: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

pub fn require_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test builds network namespaces and must run as root (CI does); refusing to pass silently"
    );
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    out
}

fn must(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A host in the lab: a namespace with one `eth0` on the lab's bridge.
#[derive(Clone, Debug)]
pub struct Host {
    pub ns: String,
    pub ipv4: String,
    pub mac: String,
}

impl Host {
    /// A command run inside this host's namespace.
    pub fn cmd(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.ns, program]);
        c
    }

    pub fn sh(&self, script: &str) -> String {
        must(self.cmd("sh").args(["-c", script]))
    }

    pub fn try_sh(&self, script: &str) -> Output {
        run(self.cmd("sh").args(["-c", script]))
    }

    /// The addresses on eth0 (`ip -o addr` lines).
    pub fn addresses(&self) -> String {
        self.sh("ip -o addr show dev eth0")
    }

    pub fn has_address(&self, addr: &str) -> bool {
        self.addresses().contains(&format!(" {addr}/"))
    }

    /// The command lines (arguments joined by spaces) of the processes in
    /// this host's namespace, read from /proc by the test itself: no process
    /// is spawned, so it can be sampled often during a timing measurement.
    pub fn cmdlines(&self) -> Vec<String> {
        use std::os::unix::fs::MetadataExt;
        let Ok(ns) = std::fs::metadata(format!("/var/run/netns/{}", self.ns)) else {
            return Vec::new();
        };
        let want = format!("net:[{}]", ns.ino());
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for e in dir.flatten() {
            let name = e.file_name();
            let Some(pid) = name
                .to_str()
                .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
            else {
                continue;
            };
            let in_ns = std::fs::read_link(format!("/proc/{pid}/ns/net"))
                .is_ok_and(|l| l.as_os_str() == want.as_str());
            if !in_ns {
                continue;
            }
            if let Ok(raw) = std::fs::read(format!("/proc/{pid}/cmdline")) {
                let args: Vec<String> = raw
                    .split(|&b| b == 0)
                    .filter(|a| !a.is_empty())
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect();
                out.push(args.join(" "));
            }
        }
        out
    }
}

/// A bridge (in its own namespace) and hosts attached to it.
pub struct Lab {
    _serial: std::sync::MutexGuard<'static, ()>,
    pub id: String,
    switch_ns: String,
    pub hosts: Vec<Host>,
}

impl Lab {
    /// Build a lab with hosts named after `names`, addressed 10.77.N.x/24 where
    /// x = 11, 12, ... in order.
    pub fn new(names: &[&str]) -> Lab {
        require_root();
        assert!(
            !HOLDS_LAB.with(std::cell::Cell::get),
            "this thread already holds a lab; drop it before building another"
        );
        let serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
        HOLDS_LAB.with(|h| h.set(true));
        let n = NEXT_LAB.fetch_add(1, Ordering::SeqCst);
        let id = format!("kr{}x{}", std::process::id(), n);
        let subnet = 10 + (std::process::id() + n) % 200;
        let switch_ns = format!("{id}sw");
        let mut lab = Lab {
            _serial: serial,
            id: id.clone(),
            switch_ns: switch_ns.clone(),
            hosts: Vec::new(),
        };
        must(Command::new("ip").args(["netns", "add", &switch_ns]));
        lab.in_switch("ip link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0 && ip link set br0 up");
        for (i, name) in names.iter().enumerate() {
            let ns = format!("{id}{name}");
            let mac = format!("02:77:{:02x}:00:00:{:02x}", subnet, 11 + i);
            let ipv4 = format!("10.77.{subnet}.{}", 11 + i);
            must(Command::new("ip").args(["netns", "add", &ns]));
            let host_if = format!("{id}{i}");
            must(Command::new("ip").args([
                "link",
                "add",
                &host_if,
                "netns",
                &ns,
                "type",
                "veth",
                "peer",
                "name",
                &format!("p{i}"),
                "netns",
                &switch_ns,
            ]));
            lab.in_switch(&format!(
                "ip link set p{i} master br0 && ip link set p{i} up"
            ));
            let host = Host {
                ns: ns.clone(),
                ipv4: ipv4.clone(),
                mac: mac.clone(),
            };
            host.sh(&format!(
                "ip link set {host_if} name eth0 && ip link set eth0 address {mac} && \
                 sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
                 net.ipv6.conf.eth0.accept_dad=0 net.ipv4.conf.all.rp_filter=0 \
                 net.ipv4.conf.eth0.rp_filter=0 net.ipv4.conf.all.arp_accept=1 net.ipv4.conf.eth0.arp_accept=1 && \
                 ip addr add {ipv4}/24 dev eth0 && ip link set eth0 up && ip link set lo up"
            ));
            lab.hosts.push(host);
        }
        lab
    }

    fn in_switch(&self, script: &str) {
        must(Command::new("ip").args(["netns", "exec", &self.switch_ns, "sh", "-c", script]));
    }

    pub fn host(&self, name: &str) -> &Host {
        let ns = format!("{}{}", self.id, name);
        self.hosts
            .iter()
            .find(|h| h.ns == ns)
            .unwrap_or_else(|| panic!("no host {name} in lab"))
    }

    /// The lab's /24 with a last octet, e.g. `lab.addr(100)` for a VIP.
    pub fn addr(&self, last: u8) -> String {
        let first = &self.hosts[0].ipv4;
        let prefix = first.rsplit_once('.').map_or("10.77.0", |x| x.0);
        format!("{prefix}.{last}")
    }

    /// A second network: a bridge `br1` and an `eth1` on each named host,
    /// addressed 10.78.N.x/24 (same x as on eth0).
    pub fn add_second_network(&self, names: &[&str]) {
        self.in_switch("ip link add br1 type bridge stp_state 0 forward_delay 0 mcast_snooping 0 && ip link set br1 up");
        for (k, name) in names.iter().enumerate() {
            let host = self.host(name).clone();
            let last = host.ipv4.rsplit('.').next().unwrap_or("1").to_owned();
            let third = host.ipv4.split('.').nth(2).unwrap_or("0").to_owned();
            let veth = format!("{}n{k}", self.id);
            must(Command::new("ip").args([
                "link",
                "add",
                &veth,
                "netns",
                &host.ns,
                "type",
                "veth",
                "peer",
                "name",
                &format!("q{k}"),
                "netns",
                &self.switch_ns,
            ]));
            self.in_switch(&format!(
                "ip link set q{k} master br1 && ip link set q{k} up"
            ));
            host.sh(&format!(
                "ip link set {veth} name eth1 && sysctl -qw net.ipv4.conf.eth1.rp_filter=0                  net.ipv6.conf.eth1.accept_dad=0 && ip addr add 10.78.{third}.{last}/24 dev eth1 &&                  ip link set eth1 up"
            ));
        }
    }

    /// Take a host's link down (a dead box, from the network's point of view).
    pub fn link_down(&self, name: &str) {
        self.host(name).sh("ip link set eth0 down");
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        HOLDS_LAB.with(|h| h.set(false));
        for h in &self.hosts {
            // Kill anything still running in the namespace, then delete it.
            let _ = run(Command::new("sh").args([
                "-c",
                &format!("ip netns pids {} 2>/dev/null | xargs -r kill -9", h.ns),
            ]));
            let _ = run(Command::new("ip").args(["netns", "del", &h.ns]));
        }
        let _ = run(Command::new("ip").args(["netns", "del", &self.switch_ns]));
    }
}

/// Measure a protocol time (seconds) until one measurement lands within
/// `tolerance` of `want`. An early one fails at once: a timer cannot fire
/// before its time, so early is never jitter. A late one can be the shared
/// host's scheduler: it is measured again, up to `attempts` times, after a
/// growing pause (2, 4, 6, … s) so that a transient slowdown of the host
/// spans fewer attempts. Late every time is a failure.
pub fn timed_within(
    what: &str,
    want: f64,
    tolerance: f64,
    attempts: usize,
    mut measure: impl FnMut() -> f64,
) {
    let mut late = Vec::new();
    for attempt in 1..=attempts {
        std::thread::sleep(Duration::from_secs(2 * (attempt as u64 - 1)));
        let got = measure();
        println!("{what}: attempt {attempt}: {got:.6} s, expected {want:.6} s");
        assert!(
            got >= want - tolerance,
            "{what}: early: {got:.6} s, expected {want:.6} s ± {tolerance} s"
        );
        if got <= want + tolerance {
            return;
        }
        late.push(got);
    }
    panic!("{what}: every attempt was late: {late:.6?} s, expected {want:.6} s ± {tolerance} s");
}

/// Poll `cond` every 10 ms until it holds or `limit` passes.
pub fn wait_for(limit: Duration, cond: impl FnMut() -> bool) -> bool {
    wait_for_every(limit, Duration::from_millis(10), cond)
}

/// Poll `cond` every `period` until it holds or `limit` passes.  A check that
/// spawns processes (`has_address`, `ip neigh`, `status`) while a timing
/// measurement runs should poll every 50-100 ms, not every 10 ms: on a
/// 2-core host the spawns compete with the daemon being measured.
pub fn wait_for_every(limit: Duration, period: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return true;
        }
        std::thread::sleep(period);
    }
    cond()
}

pub fn our_binary() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_BIN_EXE_keepalived-rs"))
}
