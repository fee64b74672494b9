//! Running the real keepalived-rs binary (and Debian's keepalived) inside lab
//! namespaces, and reading packet captures taken there.
#![allow(dead_code)]

use super::Host;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

/// A daemon running in a lab host; killed (SIGKILL) on drop if still running.
pub struct Daemon {
    pub child: Option<Child>,
    pub dir: PathBuf,
    pub log: PathBuf,
}

impl Daemon {
    /// Start keepalived-rs in `host` with `conf` (written to `dir/NAME.conf`).
    pub fn start(host: &Host, dir: &Path, name: &str, conf: &str, extra: &[&str]) -> Daemon {
        let conf_path = dir.join(format!("{name}.conf"));
        std::fs::write(&conf_path, conf).expect("write config");
        let log = dir.join(format!("{name}.log"));
        let logf = std::fs::File::create(&log).expect("log file");
        let pid = dir.join(format!("{name}.pid"));
        let mut cmd = host.cmd(super::our_binary().to_str().expect("utf-8 path"));
        cmd.args(["-n", "-l", "-f"])
            .arg(&conf_path)
            .arg("-p")
            .arg(&pid)
            .args(extra)
            .env(
                "KEEPALIVED_RS_LOG",
                "debug,keepalived_rs=trace,netlink_proto=info,rtnetlink=info",
            )
            .stdin(Stdio::null())
            .stdout(logf.try_clone().expect("dup log"))
            .stderr(logf);
        let child = cmd.spawn().expect("start keepalived-rs");
        Daemon {
            child: Some(child),
            dir: dir.to_path_buf(),
            log,
        }
    }

    /// Start Debian's keepalived (VRRP only) in `host`.
    pub fn start_keepalived(host: &Host, dir: &Path, name: &str, conf: &str) -> Daemon {
        let conf_path = dir.join(format!("{name}.conf"));
        std::fs::write(&conf_path, conf).expect("write config");
        let log = dir.join(format!("{name}.log"));
        let logf = std::fs::File::create(&log).expect("log file");
        let mut cmd = host.cmd("/usr/sbin/keepalived");
        cmd.args(["-n", "-l", "-P", "-D", "-f"])
            .arg(&conf_path)
            .arg("-p")
            .arg(dir.join(format!("{name}.pid")))
            .arg("-r")
            .arg(dir.join(format!("{name}.vrrp.pid")))
            .arg("-c")
            .arg(dir.join(format!("{name}.chk.pid")))
            .arg("-b")
            .arg(dir.join(format!("{name}.bfd.pid")))
            .stdin(Stdio::null())
            .stdout(logf.try_clone().expect("dup log"))
            .stderr(logf);
        let child = cmd.spawn().expect("start keepalived");
        Daemon {
            child: Some(child),
            dir: dir.to_path_buf(),
            log,
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGKILL: a crash.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGKILL every process of the daemon in its namespace (keepalived's
    /// parent and its VRRP child: a real crash, see keepalived-vrrp-baseline.md).
    pub fn kill9_group(&mut self, host: &Host) {
        let _ = std::process::Command::new("sh")
            .args([
                "-c",
                // Stop everything first: killing keepalived's parent before its
                // VRRP child makes the child send a priority-0 advert (a
                // graceful stop, not a crash).
                &format!(
                    "p=$(ip netns pids {}); if [ -n \"$p\" ]; then kill -STOP $p; kill -9 $p; fi",
                    host.ns
                ),
            ])
            .status();
        self.kill9();
    }

    /// SIGTERM and wait (bounded) for exit.
    pub fn term(&mut self) -> Option<std::process::ExitStatus> {
        let c = self.child.as_mut()?;
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(c.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        for _ in 0..500 {
            if let Ok(Some(st)) = c.try_wait() {
                self.child = None;
                return Some(st);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn alive(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// tcpdump in a lab host, writing a pcap; stopped (SIGINT) by `stop`.
pub struct Capture {
    child: Option<Child>,
    pub file: PathBuf,
}

impl Capture {
    pub fn start(host: &Host, file: &Path, filter: &str) -> Capture {
        let mut cmd = host.cmd("tcpdump");
        // -Z root: Debian's tcpdump otherwise drops to its own user before
        // opening the output file.
        let err_path = file.with_extension("stderr");
        let err = std::fs::File::create(&err_path).expect("tcpdump log");
        cmd.args([
            "-i",
            "eth0",
            "-U",
            "--immediate-mode",
            "-n",
            "-Z",
            "root",
            "-s",
            "256",
            "-w",
        ])
        .arg(file)
        .arg(filter)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err);
        let child = cmd.spawn().expect("tcpdump (apt-get install tcpdump)");
        let mut cap = Capture {
            child: Some(child),
            file: file.to_path_buf(),
        };
        // Nothing may happen before tcpdump captures: it says "listening on"
        // once its socket is bound to the interface.
        let listening =
            super::wait_for_every(Duration::from_secs(10), Duration::from_millis(20), || {
                std::fs::read_to_string(&err_path).is_ok_and(|t| t.contains("listening on"))
            });
        if !listening {
            let exited = cap.child.as_mut().and_then(|c| c.try_wait().ok().flatten());
            panic!(
                "tcpdump did not start listening within 10 s (exit: {exited:?}); {}:\n{}",
                err_path.display(),
                std::fs::read_to_string(&err_path).unwrap_or_default()
            );
        }
        cap
    }

    pub fn stop(&mut self) -> Vec<Packet> {
        if let Some(mut c) = self.child.take() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(c.id() as i32),
                nix::sys::signal::Signal::SIGINT,
            );
            let _ = c.wait();
        }
        read_pcap(&self.file)
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A captured frame: time, Ethernet source, and the VRRP or ARP facts.
#[derive(Clone, Debug)]
pub struct Packet {
    pub time: Duration,
    pub eth_src: [u8; 6],
    pub kind: PacketKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PacketKind {
    Vrrp {
        src: std::net::IpAddr,
        ttl: u8,
        version: u8,
        vrid: u8,
        priority: u8,
    },
    Garp {
        sender_ip: std::net::Ipv4Addr,
    },
    NeighborAdvert {
        target: std::net::Ipv6Addr,
    },
    Other,
}

pub fn read_pcap(path: &Path) -> Vec<Packet> {
    use pcap_file::pcap::PcapReader;
    let Ok(f) = std::fs::File::open(path) else {
        return Vec::new();
    };
    let Ok(mut r) = PcapReader::new(f) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    while let Some(Ok(pkt)) = r.next_packet() {
        let d = &pkt.data;
        if d.len() < 14 {
            continue;
        }
        let mut eth_src = [0u8; 6];
        eth_src.copy_from_slice(&d[6..12]);
        let ethertype = u16::from_be_bytes([d[12], d[13]]);
        let p = &d[14..];
        let kind = match ethertype {
            0x0800 if p.len() >= 20 && p[9] == 112 => {
                let ihl = usize::from(p[0] & 0x0f) * 4;
                let v = &p[ihl.min(p.len())..];
                if v.len() >= 3 {
                    PacketKind::Vrrp {
                        src: std::net::IpAddr::from([p[12], p[13], p[14], p[15]]),
                        ttl: p[8],
                        version: v[0] >> 4,
                        vrid: v[1],
                        priority: v[2],
                    }
                } else {
                    PacketKind::Other
                }
            }
            0x86dd if p.len() >= 40 && p[6] == 112 && p.len() >= 43 => {
                let mut s = [0u8; 16];
                s.copy_from_slice(&p[8..24]);
                PacketKind::Vrrp {
                    src: std::net::IpAddr::from(s),
                    ttl: p[7],
                    version: p[40] >> 4,
                    vrid: p[41],
                    priority: p[42],
                }
            }
            0x86dd if p.len() >= 64 && p[6] == 58 && p[40] == 136 => {
                let mut t = [0u8; 16];
                t.copy_from_slice(&p[48..64]);
                PacketKind::NeighborAdvert {
                    target: std::net::Ipv6Addr::from(t),
                }
            }
            0x0806 if p.len() >= 28 => {
                let sender = std::net::Ipv4Addr::new(p[14], p[15], p[16], p[17]);
                let target = std::net::Ipv4Addr::new(p[24], p[25], p[26], p[27]);
                if sender == target {
                    PacketKind::Garp { sender_ip: sender }
                } else {
                    PacketKind::Other
                }
            }
            _ => PacketKind::Other,
        };
        out.push(Packet {
            time: pkt.timestamp,
            eth_src,
            kind,
        });
    }
    out
}

/// `ip monitor address` in a lab host, into a file; killed on drop.
pub struct AddrMonitor {
    child: Child,
    file: PathBuf,
}

impl AddrMonitor {
    pub fn start(host: &Host, file: PathBuf) -> AddrMonitor {
        let out = std::fs::File::create(&file).expect("monitor file");
        let child = host
            .cmd("ip")
            .args(["monitor", "address"])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(Stdio::null())
            .spawn()
            .expect("ip monitor");
        // Let it subscribe before anything happens.
        std::thread::sleep(Duration::from_millis(200));
        AddrMonitor { child, file }
    }

    pub fn text(&self) -> String {
        std::fs::read_to_string(&self.file).unwrap_or_default()
    }

    /// The monitor lines reporting `addr` deleted.
    pub fn deletions(&self, addr: &str) -> usize {
        self.text()
            .lines()
            .filter(|l| l.starts_with("Deleted") && l.contains(&format!(" {addr}/")))
            .count()
    }
}

impl Drop for AddrMonitor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
