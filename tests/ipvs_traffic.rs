//! Real TCP traffic through an IPVS NAT virtual server that the whole
//! keepalived-rs daemon programs. Runs inside the QEMU guest (see
//! tests/ipvs/mod.rs); never skips.
//!
//! Topology (every namespace is created here, inside the guest):
//!
//! ```text
//!   cli 10.210.1.2 ──veth── 10.210.1.1  director (the test's own netns)
//!                                       VIP 10.210.0.100 on lo, ip_forward=1,
//!                                       keepalived-rs: rr, NAT, TCP_CHECK
//!   rs1 10.210.11.2 ──veth── 10.210.11.1
//!   rs2 10.210.12.2 ──veth── 10.210.12.1
//! ```
//!
//! The real servers' default route is the director, so NAT replies go back
//! through IPVS. Each real server is a listener in this process (bound
//! inside its namespace) that answers with its own name.

#[path = "ipvs/mod.rs"]
mod ipvs_vm;

use ipvs_vm::{sh, table, wait_table, with_daemon, Daemon, Test};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn main() -> ExitCode {
    ipvs_vm::main(&[Test {
        name: "nat_round_robin_and_failover_with_real_traffic",
        run: nat_round_robin_and_failover_with_real_traffic,
    }])
}

const VIP: &str = "10.210.0.100";
const PORT: u16 = 80;
const RS_PORT: u16 = 8080;
const CONNECTIONS: usize = 20;

/// Named namespaces of this run; deleted on drop (also after a failure).
struct Netns {
    names: Vec<String>,
}

impl Netns {
    fn add(&mut self, name: String) -> String {
        sh("ip", &["netns", "add", &name]);
        self.names.push(name.clone());
        sh("ip", &["-n", &name, "link", "set", "lo", "up"]);
        name
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        for n in &self.names {
            let _ = Command::new("ip").args(["netns", "del", n]).status();
        }
    }
}

/// Run `f` on a thread that lives in namespace `ns`.
fn in_netns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        nix::sched::setns(file.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET)
            .unwrap_or_else(|e| panic!("setns {path}: {e}"));
        f()
    })
    .join()
    .expect("namespace thread")
}

/// A TCP server in a namespace answering its name to every connection.
struct NameServer {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl NameServer {
    fn start(ns: &str, addr: SocketAddr, name: &'static str) -> NameServer {
        let listener = in_netns(ns, move || {
            let l = TcpListener::bind(addr).unwrap_or_else(|e| panic!("bind {addr}: {e}"));
            l.set_nonblocking(true).expect("nonblocking");
            l
        });
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((mut c, _)) => {
                        let _ = c.set_nonblocking(false);
                        let _ = c.write_all(name.as_bytes());
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
            // The listener closes here: connects are refused from now on.
        });
        NameServer {
            stop,
            thread: Some(thread),
        }
    }

    fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for NameServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `n` connections, one after the other, from namespace `ns` to the VIP;
/// what each one read (or the error).
fn connect_many(ns: &str, n: usize) -> Vec<String> {
    let to: SocketAddr = format!("{VIP}:{PORT}").parse().expect("vip");
    in_netns(ns, move || {
        (0..n)
            .map(|_| {
                // Generous: the guest is emulated (TCG) on a loaded host.
                let mut s = match TcpStream::connect_timeout(&to, Duration::from_secs(10)) {
                    Ok(s) => s,
                    Err(e) => return format!("connect error: {e}"),
                };
                let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
                let mut buf = String::new();
                match s.read_to_string(&mut buf) {
                    Ok(_) => buf,
                    Err(e) => format!("read error: {e}"),
                }
            })
            .collect()
    })
}

fn count(replies: &[String], name: &str) -> usize {
    replies.iter().filter(|r| r.as_str() == name).count()
}

fn veth(ns: &str, host_if: &str, host_ip: &str, ns_ip: &str) {
    sh(
        "ip",
        &[
            "link", "add", host_if, "type", "veth", "peer", "name", "eth0", "netns", ns,
        ],
    );
    sh(
        "ip",
        &["addr", "add", &format!("{host_ip}/24"), "dev", host_if],
    );
    sh("ip", &["link", "set", host_if, "up"]);
    sh(
        "ip",
        &[
            "-n",
            ns,
            "addr",
            "add",
            &format!("{ns_ip}/24"),
            "dev",
            "eth0",
        ],
    );
    sh("ip", &["-n", ns, "link", "set", "eth0", "up"]);
    sh("ip", &["-n", ns, "route", "add", "default", "via", host_ip]);
}

fn nat_round_robin_and_failover_with_real_traffic() {
    let tag = format!("ipvs-more-{}", std::process::id());
    let mut nss = Netns { names: Vec::new() };
    let cli = nss.add(format!("{tag}-cli"));
    let rs1 = nss.add(format!("{tag}-rs1"));
    let rs2 = nss.add(format!("{tag}-rs2"));
    // The director is this thread's own (fresh) namespace.
    std::fs::write("/proc/sys/net/ipv4/ip_forward", "1").expect("ip_forward");
    sh("ip", &["addr", "add", &format!("{VIP}/32"), "dev", "lo"]);
    veth(&cli, "vcli", "10.210.1.1", "10.210.1.2");
    veth(&rs1, "vrs1", "10.210.11.1", "10.210.11.2");
    veth(&rs2, "vrs2", "10.210.12.1", "10.210.12.2");

    let mut srv1 = NameServer::start(
        &rs1,
        format!("10.210.11.2:{RS_PORT}").parse().expect("addr"),
        "rs1",
    );
    let _srv2 = NameServer::start(
        &rs2,
        format!("10.210.12.2:{RS_PORT}").parse().expect("addr"),
        "rs2",
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let conf = dir.path().join("keepalived.conf");
    // A live real server must not flap out of the table on a slow guest: a
    // generous timeout and one retry (a stopped one is refused at once).
    let rs = |ip: &str| {
        format!(
            "  real_server {ip} {RS_PORT} {{\n    weight 1\n    TCP_CHECK {{\n      \
             connect_timeout 3\n      retry 1\n    }}\n  }}\n"
        )
    };
    std::fs::write(
        &conf,
        format!(
            "virtual_server {VIP} {PORT} {{\n  delay_loop 1\n  lb_algo rr\n  lb_kind NAT\n  \
             protocol TCP\n{}{}}}\n",
            rs("10.210.11.2"),
            rs("10.210.12.2")
        ),
    )
    .expect("write config");
    let daemon = Daemon::start(dir.path(), &conf);
    with_daemon(daemon, |_| {
        let both = |t: &str| t.contains("10.210.11.2:8080") && t.contains("10.210.12.2:8080");
        wait_table(Duration::from_secs(30), "both real servers in", both);

        // rr over two real servers: sequential connections alternate.
        let replies = connect_many(&cli, CONNECTIONS);
        let (n1, n2) = (count(&replies, "rs1"), count(&replies, "rs2"));
        assert_eq!(n1 + n2, CONNECTIONS, "failed connections: {replies:?}");
        assert!(
            n1.abs_diff(n2) <= 2,
            "rr split {n1}/{n2} is not even: {replies:?}"
        );
        assert!(
            replies.windows(2).all(|w| w[0] != w[1]),
            "rr does not alternate: {replies:?}"
        );
        let conns = sh("ipvsadm", &["-Lnc"]);
        assert!(
            conns.lines().filter(|l| l.contains(VIP)).count() >= CONNECTIONS,
            "connection table:\n{conns}"
        );

        // rs1 goes away: TCP_CHECK fails, the checker removes it.
        srv1.stop();
        wait_table(Duration::from_secs(30), "rs1 removed", |t| {
            !t.contains("10.210.11.2:8080") && t.contains("10.210.12.2:8080")
        });
        let replies = connect_many(&cli, CONNECTIONS);
        assert_eq!(
            count(&replies, "rs2"),
            CONNECTIONS,
            "after rs1 went down: {replies:?}"
        );
    });
    assert!(
        !table().contains(VIP),
        "service left behind at stop:\n{}",
        table()
    );
}
