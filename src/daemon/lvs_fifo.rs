//! `lvs_notify_fifo` (and the checker's share of `notify_fifo`): real and
//! virtual server state changes written to a FIFO, one line each, in
//! keepalived's format:
//!
//! ```text
//! VS [192.168.201.15]:tcp:80 UP
//! RS [1.2.3.4]:tcp:80 [192.168.201.15]:tcp:80 DOWN
//! ```
//!
//! A virtual server is UP when it gains quorum and DOWN when it loses it; a
//! real server line is written when the checkers change their verdict on it.
//! The writing itself (non-blocking, dropped lines counted, the FIFO created
//! and removed, the reader script) is [`crate::vrrp::notify_fifo::FifoWriter`]'s.

use crate::check::{RealServerKey, RealServerUpdate, ServiceKey};
use crate::config::model::GlobalDefs;
use crate::vrrp::notify_fifo::{FifoSpec, FifoWriter};
use std::collections::HashMap;

/// The FIFOs the checker side writes to.
///
/// `vrrp_running`: the VRRP side runs too, and it already starts
/// `notify_fifo_script`; the checker side then only writes to that FIFO.
pub fn specs(g: &GlobalDefs, vrrp_running: bool) -> Vec<FifoSpec> {
    let mut out = Vec::new();
    if let Some(s) = super::specs::fifo_spec(&g.lvs_notify_fifo, &g.lvs_notify_fifo_script, g) {
        out.push(s);
    }
    if let Some(mut s) = super::specs::fifo_spec(&g.notify_fifo, &g.notify_fifo_script, g) {
        if vrrp_running {
            s.script = None;
        }
        out.push(s);
    }
    out
}

/// `VS <vs> UP|DOWN`.
pub fn vs_line(vs: &str, up: bool) -> String {
    format!("VS {vs} {}\n", up_down(up))
}

/// `RS [addr]:proto:port <vs> UP|DOWN`; the real server takes the virtual
/// server's protocol (TCP when it has none, as for a fwmark service).
pub fn rs_line(key: &RealServerKey, vs: &str, up: bool) -> String {
    let proto = match &key.service {
        ServiceKey::Address { protocol, .. } | ServiceKey::Group { protocol, .. } => {
            protocol.map_or("tcp", |p| p.label())
        }
        ServiceKey::Fwmark { .. } => "tcp",
    };
    format!(
        "RS [{}]:{proto}:{} {vs} {}\n",
        key.addr,
        key.port,
        up_down(up)
    )
}

fn up_down(up: bool) -> &'static str {
    if up {
        "UP"
    } else {
        "DOWN"
    }
}

/// The open FIFOs and what was last said about each real server.
#[derive(Default)]
pub struct LvsFifos {
    writers: Vec<FifoWriter>,
    alive: HashMap<RealServerKey, bool>,
}

impl LvsFifos {
    pub fn open(specs: &[FifoSpec]) -> LvsFifos {
        let writers = specs
            .iter()
            .filter_map(|s| match FifoWriter::open(s) {
                Ok(w) => Some(w),
                Err(e) => {
                    tracing::error!(fifo = %s.path.display(), "cannot open notify FIFO: {e}");
                    None
                }
            })
            .collect();
        LvsFifos {
            writers,
            alive: HashMap::new(),
        }
    }

    /// The line for an update, if it changes the real server's state. The
    /// first update of a real server is its initial state: said only when it
    /// is down (a real server starts up unless its checkers say otherwise).
    pub fn rs_change(&mut self, u: &RealServerUpdate, vs: &str) -> Option<String> {
        let before = self.alive.insert(u.key.clone(), u.alive);
        let changed = match before {
            Some(was) => was != u.alive,
            None => !u.alive,
        };
        changed.then(|| rs_line(&u.key, vs, u.alive))
    }

    /// Some FIFO is written (else updates need no line, nor its name).
    pub fn is_open(&self) -> bool {
        !self.writers.is_empty()
    }

    pub fn on_update(&mut self, u: &RealServerUpdate, vs: &str) {
        if let Some(line) = self.rs_change(u, vs) {
            self.write(&line);
        }
    }

    pub fn on_quorum(&mut self, vs: &str, up: bool) {
        self.write(&vs_line(vs, up));
    }

    fn write(&mut self, line: &str) {
        for w in &mut self.writers {
            w.write_line(line);
        }
    }

    /// Stop the reader scripts and remove the FIFOs we created.
    pub fn close(self) {
        for w in self.writers {
            w.close();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::lvs::ServiceProtocol;

    fn key(service: ServiceKey) -> RealServerKey {
        RealServerKey {
            service,
            addr: "10.0.0.2".parse().unwrap(),
            port: 8080,
        }
    }

    #[test]
    fn lines_as_keepalived_writes_them() {
        assert_eq!(
            vs_line("[192.168.201.15]:tcp:80", true),
            "VS [192.168.201.15]:tcp:80 UP\n"
        );
        let k = key(ServiceKey::Address {
            addr: "192.168.201.15".parse().unwrap(),
            port: 80,
            protocol: Some(ServiceProtocol::Udp),
        });
        assert_eq!(
            rs_line(&k, "[192.168.201.15]:udp:80", false),
            "RS [10.0.0.2]:udp:8080 [192.168.201.15]:udp:80 DOWN\n"
        );
        let v6 = RealServerKey {
            addr: "2001:db8::2".parse().unwrap(),
            ..key(ServiceKey::Fwmark {
                mark: 3,
                ipv6: true,
            })
        };
        assert_eq!(
            rs_line(&v6, "FWM 3", true),
            "RS [2001:db8::2]:tcp:8080 FWM 3 UP\n"
        );
    }

    #[test]
    fn only_changes_are_written() {
        let k = key(ServiceKey::Address {
            addr: "10.0.0.1".parse().unwrap(),
            port: 80,
            protocol: Some(ServiceProtocol::Tcp),
        });
        let up = |alive| RealServerUpdate {
            key: k.clone(),
            alive,
            weight: None,
            reason: String::new(),
        };
        let vs = "[10.0.0.1]:tcp:80";
        let mut f = LvsFifos::default();
        assert_eq!(f.rs_change(&up(true), vs), None, "initial up is not news");
        assert_eq!(f.rs_change(&up(true), vs), None);
        assert_eq!(
            f.rs_change(&up(false), vs).as_deref(),
            Some("RS [10.0.0.2]:tcp:8080 [10.0.0.1]:tcp:80 DOWN\n")
        );
        assert_eq!(f.rs_change(&up(false), vs), None);
        assert!(f.rs_change(&up(true), vs).unwrap().ends_with(" UP\n"));
        let mut g = LvsFifos::default();
        assert!(
            g.rs_change(&up(false), vs).is_some(),
            "a real server down at start is said"
        );
    }

    #[test]
    fn writes_reach_a_reader() {
        use std::io::Read;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lvs.fifo");
        let spec = FifoSpec {
            path: path.clone(),
            owner: None,
            script: None,
        };
        let mut f = LvsFifos::open(&[spec]);
        // Open the reader after the writer (which holds it read-write).
        let mut reader = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&path)
            .unwrap();
        f.on_quorum("[10.0.0.1]:tcp:80", false);
        let mut got = String::new();
        let _ = reader.read_to_string(&mut got);
        assert_eq!(got, "VS [10.0.0.1]:tcp:80 DOWN\n");
        f.close();
        assert!(!path.exists(), "the FIFO we created is removed");
    }

    use std::os::unix::fs::OpenOptionsExt;

    fn wait_until(limit: std::time::Duration, mut ok: impl FnMut() -> bool) -> bool {
        let end = std::time::Instant::now() + limit;
        while std::time::Instant::now() < end {
            if ok() {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        ok()
    }

    /// A kernel that takes every request and reports an empty table.
    struct Accepting;

    impl crate::ipvs::types::IpvsOps for Accepting {
        fn services(
            &mut self,
        ) -> Result<Vec<crate::ipvs::types::Service>, crate::ipvs::types::IpvsError> {
            Ok(Vec::new())
        }
        fn destinations(
            &mut self,
            _: &crate::ipvs::types::ServiceId,
        ) -> Result<Vec<crate::ipvs::types::Destination>, crate::ipvs::types::IpvsError> {
            Ok(Vec::new())
        }
        fn new_service(
            &mut self,
            _: &crate::ipvs::types::Service,
        ) -> Result<(), crate::ipvs::types::IpvsError> {
            Ok(())
        }
        fn set_service(
            &mut self,
            _: &crate::ipvs::types::Service,
        ) -> Result<(), crate::ipvs::types::IpvsError> {
            Ok(())
        }
        fn del_service(
            &mut self,
            _: &crate::ipvs::types::ServiceId,
        ) -> Result<(), crate::ipvs::types::IpvsError> {
            Ok(())
        }
        fn new_destination(
            &mut self,
            _: &crate::ipvs::types::ServiceId,
            _: &crate::ipvs::types::Destination,
        ) -> Result<(), crate::ipvs::types::IpvsError> {
            Ok(())
        }
        fn set_destination(
            &mut self,
            _: &crate::ipvs::types::ServiceId,
            _: &crate::ipvs::types::Destination,
        ) -> Result<(), crate::ipvs::types::IpvsError> {
            Ok(())
        }
        fn del_destination(
            &mut self,
            _: &crate::ipvs::types::ServiceId,
            _: &crate::ipvs::types::DestId,
        ) -> Result<(), crate::ipvs::types::IpvsError> {
            Ok(())
        }
        fn flush(&mut self) -> Result<(), crate::ipvs::types::IpvsError> {
            Ok(())
        }
    }

    /// The syncer thread writes what the checkers and quorum say, in order,
    /// to `lvs_notify_fifo`, and removes the FIFO at stop.
    #[test]
    fn the_syncer_thread_writes_rs_and_vs_lines() {
        use std::io::Read;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lvs.fifo");
        let text = format!(
            "global_defs {{\n  lvs_notify_fifo {}\n}}\n\
             virtual_server 10.0.0.1 80 {{\n  protocol TCP\n  quorum 2\n\
               real_server 10.0.0.2 80 {{\n    weight 1\n  }}\n\
               real_server 10.0.0.3 80 {{\n    weight 1\n  }}\n}}\n",
            path.display()
        );
        let loaded = crate::config::load_str("t.conf", &text, &Default::default());
        let cfg = loaded.config;
        let mut settings = crate::daemon::lvs::LvsSettings::new(false, None);
        settings.reconcile_every = None;
        settings.fifos = specs(&cfg.global_defs, false);
        assert_eq!(settings.fifos.len(), 1);
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let handle = crate::daemon::lvs::start(Accepting, &cfg, true, settings, rx).unwrap();
        assert!(wait_until(std::time::Duration::from_secs(5), || path.exists()));
        let mut reader = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&path)
            .unwrap();
        let service = ServiceKey::Address {
            addr: "10.0.0.1".parse().unwrap(),
            port: 80,
            protocol: Some(ServiceProtocol::Tcp),
        };
        let down = |last: u8| RealServerUpdate {
            key: RealServerKey {
                service: service.clone(),
                addr: format!("10.0.0.{last}").parse().unwrap(),
                port: 80,
            },
            alive: false,
            weight: None,
            reason: "test".into(),
        };
        tx.send(down(2)).unwrap();
        let mut got = String::new();
        // Quorum is gained at start (as keepalived reports it, with its
        // quorum_up script), then lost with the first real server.
        let want = "VS [10.0.0.1]:tcp:80 UP\n\
                    RS [10.0.0.2]:tcp:80 [10.0.0.1]:tcp:80 DOWN\n\
                    VS [10.0.0.1]:tcp:80 DOWN\n";
        let read_all = |reader: &mut std::fs::File, got: &mut String| {
            let mut buf = String::new();
            let _ = reader.read_to_string(&mut buf);
            got.push_str(&buf);
        };
        assert!(
            wait_until(std::time::Duration::from_secs(5), || {
                read_all(&mut reader, &mut got);
                got == want
            }),
            "{got:?}"
        );
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(handle.stop(std::time::Duration::from_secs(5)));
        assert!(!path.exists());
    }
}
