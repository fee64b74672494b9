//! The syncer against an in-memory kernel.

use super::*;
use crate::check::{RealServerKey, RealServerUpdate, ServiceKey};
use crate::config::{self, LoadOptions};
use crate::ipvs::desired::{self, LvsSpec};
use crate::ipvs::types::{self, SyncDaemon, TunnelType};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// An in-memory IPVS table that answers like the kernel (HASHED on every
/// service it reports, EEXIST / ENOENT).
#[derive(Default)]
struct FakeKernel {
    table: BTreeMap<ServiceId, (Service, BTreeMap<DestId, Destination>)>,
    log: Vec<String>,
    daemons: Vec<SyncDaemonState>,
    timeouts: Option<Timeouts>,
    /// Requests (as logged) the kernel refuses, once each.
    refuse: Vec<String>,
}

impl FakeKernel {
    fn add(&mut self, svc: Service, dests: &[Destination]) {
        self.table.insert(
            svc.id,
            (svc, dests.iter().map(|d| (d.id, d.clone())).collect()),
        );
    }

    /// The table as `ipvsadm -Ln` would list it, sorted.
    fn dump(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (id, (s, dests)) in &self.table {
            out.push(format!(
                "{id} {} flags={:#x} timeout={} mask={:#x}",
                s.scheduler, s.flags, s.timeout, s.netmask
            ));
            for d in dests.values() {
                out.push(format!(
                    "  -> [{}]:{} {:?} {}",
                    d.id.addr, d.id.port, d.forward, d.weight
                ));
            }
        }
        out
    }

    fn weight(&self, svc: &ServiceId, addr: &str, port: u16) -> Option<u32> {
        let addr: IpAddr = addr.parse().ok()?;
        self.table
            .get(svc)?
            .1
            .get(&DestId { addr, port })
            .map(|d| d.weight)
    }
}

impl IpvsOps for FakeKernel {
    fn services(&mut self) -> Result<Vec<Service>, IpvsError> {
        Ok(self
            .table
            .values()
            .map(|(s, _)| {
                let mut s = s.clone();
                s.flags |= svc_flags::HASHED;
                s
            })
            .collect())
    }
    fn destinations(&mut self, svc: &ServiceId) -> Result<Vec<Destination>, IpvsError> {
        self.table
            .get(svc)
            .map(|(_, d)| d.values().cloned().collect())
            .ok_or(IpvsError::NotFound)
    }
    fn new_service(&mut self, svc: &Service) -> Result<(), IpvsError> {
        self.log.push(format!("NEW_SERVICE {}", svc.id));
        if self.table.contains_key(&svc.id) {
            return Err(IpvsError::Exists);
        }
        self.table.insert(svc.id, (svc.clone(), BTreeMap::new()));
        Ok(())
    }
    fn set_service(&mut self, svc: &Service) -> Result<(), IpvsError> {
        self.log.push(format!("SET_SERVICE {}", svc.id));
        let e = self.table.get_mut(&svc.id).ok_or(IpvsError::NotFound)?;
        e.0 = svc.clone();
        Ok(())
    }
    fn del_service(&mut self, svc: &ServiceId) -> Result<(), IpvsError> {
        self.log.push(format!("DEL_SERVICE {svc}"));
        self.table
            .remove(svc)
            .map(|_| ())
            .ok_or(IpvsError::NotFound)
    }
    fn new_destination(&mut self, svc: &ServiceId, dest: &Destination) -> Result<(), IpvsError> {
        let line = format!("NEW_DEST {svc} {}:{}", dest.id.addr, dest.id.port);
        if let Some(i) = self.refuse.iter().position(|r| *r == line) {
            self.refuse.remove(i);
            self.log.push(format!("{line} (refused)"));
            return Err(IpvsError::Kernel {
                errno: libc::ENOMEM,
                message: "refused by the test".into(),
            });
        }
        self.log.push(line);
        let e = self.table.get_mut(svc).ok_or(IpvsError::NotFound)?;
        if e.1.contains_key(&dest.id) {
            return Err(IpvsError::Exists);
        }
        e.1.insert(dest.id, dest.clone());
        Ok(())
    }
    fn set_destination(&mut self, svc: &ServiceId, dest: &Destination) -> Result<(), IpvsError> {
        self.log
            .push(format!("SET_DEST {svc} {}:{}", dest.id.addr, dest.id.port));
        let e = self.table.get_mut(svc).ok_or(IpvsError::NotFound)?;
        let d = e.1.get_mut(&dest.id).ok_or(IpvsError::NotFound)?;
        *d = dest.clone();
        Ok(())
    }
    fn del_destination(&mut self, svc: &ServiceId, dest: &DestId) -> Result<(), IpvsError> {
        self.log
            .push(format!("DEL_DEST {svc} {}:{}", dest.addr, dest.port));
        let e = self.table.get_mut(svc).ok_or(IpvsError::NotFound)?;
        e.1.remove(dest).map(|_| ()).ok_or(IpvsError::NotFound)
    }
    fn flush(&mut self) -> Result<(), IpvsError> {
        self.log.push("FLUSH".into());
        self.table.clear();
        Ok(())
    }
    fn start_sync_daemon(&mut self, d: &SyncDaemon) -> Result<(), IpvsError> {
        self.daemons.push(d.state);
        Ok(())
    }
    fn stop_sync_daemon(&mut self, state: SyncDaemonState) -> Result<(), IpvsError> {
        self.daemons.retain(|s| *s != state);
        Ok(())
    }
    fn set_timeouts(&mut self, t: &Timeouts) -> Result<(), IpvsError> {
        self.timeouts = Some(*t);
        Ok(())
    }
}

fn spec(text: &str) -> LvsSpec {
    let loaded = config::load_str("test.conf", text, &LoadOptions::default());
    assert!(
        !loaded.diags.cannot_run(),
        "config does not load: {:?}",
        loaded.diags.items
    );
    desired::build(&loaded.config)
}

fn syncer(kernel: FakeKernel, text: &str, opts: Options) -> Syncer<FakeKernel> {
    let (mut s, _) = Syncer::new(kernel, spec(text), opts);
    s.start().expect("start");
    s
}

fn tcp(addr: &str, port: u16) -> ServiceId {
    ServiceId::Addr {
        protocol: types::PROTO_TCP,
        addr: addr.parse().expect("addr"),
        port,
    }
}

fn vs_key(addr: &str, port: u16) -> ServiceKey {
    ServiceKey::Address {
        addr: addr.parse().expect("addr"),
        port,
        protocol: Some(crate::config::model::lvs::ServiceProtocol::Tcp),
    }
}

fn down(vs: &ServiceKey, addr: &str, port: u16, alive: bool) -> RealServerUpdate {
    RealServerUpdate {
        key: RealServerKey {
            service: vs.clone(),
            addr: addr.parse().expect("addr"),
            port,
        },
        alive,
        weight: None,
        reason: if alive { "up" } else { "down" }.into(),
    }
}

const TWO_VS: &str = r#"
virtual_server 10.0.0.1 80 {
    lvs_sched rr
    lvs_method NAT
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

#[test]
fn cold_start_programs_everything() {
    let s = syncer(FakeKernel::default(), TWO_VS, Options::default());
    let c = s.counts();
    assert_eq!((c.new_service, c.new_dest), (2, 3));
    assert_eq!(c.table_ops(), 5);
    assert_eq!(c.errors, 0);
    let k = &s.ops.table;
    let (svc, dests) = &k[&tcp("10.0.0.1", 80)];
    assert_eq!(svc.scheduler, "rr");
    assert_eq!(svc.flags, 0);
    assert_eq!(dests.len(), 2);
    let (svc2, dests2) = &k[&tcp("10.0.0.2", 443)];
    assert_eq!(svc2.scheduler, "wrr");
    assert_eq!(svc2.flags, svc_flags::PERSISTENT);
    assert_eq!(svc2.timeout, 600);
    assert_eq!(svc2.netmask, u32::MAX);
    let d = dests2.values().next().expect("dest");
    assert_eq!((d.forward, d.weight, d.id.port), (Forward::Route, 1, 443));
    assert_eq!(
        s.ops.weight(&tcp("10.0.0.1", 80), "192.168.1.2", 80),
        Some(3)
    );
}

#[test]
fn start_adopts_matching_entries_without_churn() {
    let first = syncer(FakeKernel::default(), TWO_VS, Options::default());
    let mut kernel = first.ops;
    // Someone else's service.
    kernel.add(
        Service {
            id: tcp("10.9.9.9", 25),
            scheduler: "rr".into(),
            flags: 0,
            timeout: 0,
            netmask: u32::MAX,
            pe_name: None,
        },
        &[],
    );
    kernel.log.clear();
    let before = kernel.dump();
    let mut s = syncer(kernel, TWO_VS, Options::default());
    assert_eq!(s.counts().table_ops(), 0, "{:?}", s.ops.log);
    assert_eq!(s.ops.dump(), before);
    // And a reconcile finds nothing to repair.
    assert_eq!(s.reconcile().ok(), Some(0));
    assert_eq!(s.counts().repairs, 0);
}

#[test]
fn reload_changing_one_weight_is_exactly_one_set_dest() {
    let mut s = syncer(FakeKernel::default(), TWO_VS, Options::default());
    s.ops.log.clear();
    let before = s.counts();
    s.reload(spec(&TWO_VS.replace("weight 3", "weight 7")));
    let after = s.counts();
    assert_eq!(after.table_ops() - before.table_ops(), 1, "{:?}", s.ops.log);
    assert_eq!(after.set_dest - before.set_dest, 1);
    assert_eq!(s.ops.log, vec!["SET_DEST TCP 10.0.0.1:80 192.168.1.2:80"]);
    assert_eq!(
        s.ops.weight(&tcp("10.0.0.1", 80), "192.168.1.2", 80),
        Some(7)
    );
}

#[test]
fn reload_after_a_refused_request_looks_at_everything_again() {
    // A request the kernel refused leaves the believed table short of the
    // desired one: the next reload must not take the unchanged virtual
    // servers for done, and retries the missing destination.
    let kernel = FakeKernel {
        refuse: vec!["NEW_DEST TCP 10.0.0.2:443 192.168.1.3:443".into()],
        ..FakeKernel::default()
    };
    let mut s = syncer(kernel, TWO_VS, Options::default());
    assert_eq!(s.counts().errors, 1);
    assert_eq!(
        s.ops.weight(&tcp("10.0.0.2", 443), "192.168.1.3", 443),
        None
    );
    s.ops.log.clear();
    s.reload(spec(&TWO_VS.replace("weight 3", "weight 7")));
    assert_eq!(
        s.ops.log,
        vec![
            "SET_DEST TCP 10.0.0.1:80 192.168.1.2:80",
            "NEW_DEST TCP 10.0.0.2:443 192.168.1.3:443"
        ]
    );
    // Everything is in again: the next reload looks at what changed only.
    s.ops.log.clear();
    s.reload(spec(TWO_VS));
    assert_eq!(s.ops.log, vec!["SET_DEST TCP 10.0.0.1:80 192.168.1.2:80"]);
}

#[test]
fn scheduler_change_is_one_set_service() {
    let mut s = syncer(FakeKernel::default(), TWO_VS, Options::default());
    s.ops.log.clear();
    s.reload(spec(&TWO_VS.replace("lvs_sched rr", "lvs_sched wlc")));
    assert_eq!(s.ops.log, vec!["SET_SERVICE TCP 10.0.0.1:80"]);
    assert_eq!(s.ops.table[&tcp("10.0.0.1", 80)].0.scheduler, "wlc");
    // Flags too: persistence off is an edit, not delete + add.
    s.ops.log.clear();
    s.reload(spec(
        &TWO_VS
            .replace("lvs_sched rr", "lvs_sched wlc")
            .replace("persistence_timeout 600", ""),
    ));
    assert_eq!(s.ops.log, vec!["SET_SERVICE TCP 10.0.0.2:443"]);
    assert_eq!(s.ops.table[&tcp("10.0.0.2", 443)].0.flags, 0);
}

#[test]
fn reload_removes_only_the_virtual_server_that_went() {
    let mut s = syncer(FakeKernel::default(), TWO_VS, Options::default());
    s.ops.log.clear();
    let one = TWO_VS
        .split("virtual_server 10.0.0.2")
        .next()
        .expect("first vs")
        .to_owned();
    s.reload(spec(&one));
    assert_eq!(s.ops.log, vec!["DEL_SERVICE TCP 10.0.0.2:443"]);
}

#[test]
fn failing_real_server_is_removed_and_comes_back() {
    let mut s = syncer(FakeKernel::default(), TWO_VS, Options::default());
    let vs = vs_key("10.0.0.1", 80);
    s.ops.log.clear();
    s.update(&down(&vs, "192.168.1.1", 80, false));
    assert_eq!(s.ops.log, vec!["DEL_DEST TCP 10.0.0.1:80 192.168.1.1:80"]);
    // The same verdict again changes nothing.
    s.update(&down(&vs, "192.168.1.1", 80, false));
    assert_eq!(s.ops.log.len(), 1);
    s.update(&down(&vs, "192.168.1.1", 80, true));
    assert_eq!(
        s.ops.weight(&tcp("10.0.0.1", 80), "192.168.1.1", 80),
        Some(2)
    );
    // A dynamic weight (misc_dynamic) is a SET_DEST.
    s.ops.log.clear();
    let mut u = down(&vs, "192.168.1.1", 80, true);
    u.weight = Some(9);
    s.update(&u);
    assert_eq!(s.ops.log, vec!["SET_DEST TCP 10.0.0.1:80 192.168.1.1:80"]);
    assert_eq!(
        s.ops.weight(&tcp("10.0.0.1", 80), "192.168.1.1", 80),
        Some(9)
    );
}

#[test]
fn inhibit_on_failure_sets_weight_zero() {
    let text = TWO_VS.replace("lvs_sched rr", "lvs_sched rr\n    inhibit_on_failure");
    let mut s = syncer(FakeKernel::default(), &text, Options::default());
    let vs = vs_key("10.0.0.1", 80);
    s.ops.log.clear();
    s.update(&down(&vs, "192.168.1.1", 80, false));
    assert_eq!(s.ops.log, vec!["SET_DEST TCP 10.0.0.1:80 192.168.1.1:80"]);
    assert_eq!(
        s.ops.weight(&tcp("10.0.0.1", 80), "192.168.1.1", 80),
        Some(0)
    );
    s.update(&down(&vs, "192.168.1.1", 80, true));
    assert_eq!(
        s.ops.weight(&tcp("10.0.0.1", 80), "192.168.1.1", 80),
        Some(2)
    );
}

const QUORUM: &str = r#"
virtual_server 10.0.0.1 80 {
    lvs_sched rr
    protocol TCP
    quorum 4
    hysteresis 1
    quorum_up "/bin/true up"
    quorum_down "/bin/true down"
    sorry_server 192.168.9.9 8080
    real_server 192.168.1.1 80 { weight 2 }
    real_server 192.168.1.2 80 { weight 2 }
    real_server 192.168.1.3 80 { weight 2 }
}
"#;

#[test]
fn quorum_loss_installs_the_sorry_server_and_recovery_removes_it() {
    let mut s = syncer(FakeKernel::default(), QUORUM, Options::default());
    let vs = vs_key("10.0.0.1", 80);
    let svc = tcp("10.0.0.1", 80);
    assert_eq!(s.ops.table[&svc].1.len(), 3);
    // 6 → 4: still ≥ quorum − hysteresis (3).
    assert!(s.update(&down(&vs, "192.168.1.1", 80, false)).is_empty());
    // 4 → 2: lost.
    let ev = s.update(&down(&vs, "192.168.1.2", 80, false));
    assert_eq!(ev.len(), 1);
    assert!(!ev[0].up);
    assert_eq!(
        ev[0].script.as_ref().map(|s| s.script.as_str()),
        Some("/bin/true down")
    );
    let dests: Vec<_> = s.ops.table[&svc].1.keys().copied().collect();
    assert_eq!(dests.len(), 1, "only the sorry server: {dests:?}");
    assert_eq!(s.ops.weight(&svc, "192.168.9.9", 8080), Some(1));
    let st = s.status();
    assert!(st.virtual_servers[0].sorry_server_active);
    // 2 → 4: below quorum + hysteresis (5), still lost; the pool is not touched.
    s.ops.log.clear();
    assert!(s.update(&down(&vs, "192.168.1.1", 80, true)).is_empty());
    assert!(s.ops.log.is_empty(), "{:?}", s.ops.log);
    // 4 → 6: regained.
    let ev = s.update(&down(&vs, "192.168.1.2", 80, true));
    assert_eq!(ev.len(), 1);
    assert!(ev[0].up);
    assert_eq!(s.ops.table[&svc].1.len(), 3);
    assert_eq!(s.ops.weight(&svc, "192.168.9.9", 8080), None);
}

#[test]
fn sorry_server_inhibit_keeps_it_at_weight_zero_and_inhibited_servers_stay() {
    let text = QUORUM
        .replace(
            "sorry_server 192.168.9.9 8080",
            "sorry_server 192.168.9.9 8080\n    sorry_server_inhibit",
        )
        .replace(
            "real_server 192.168.1.3 80 { weight 2 }",
            "real_server 192.168.1.3 80 { weight 2\n inhibit_on_failure }",
        );
    let mut s = syncer(FakeKernel::default(), &text, Options::default());
    let vs = vs_key("10.0.0.1", 80);
    let svc = tcp("10.0.0.1", 80);
    assert_eq!(s.ops.weight(&svc, "192.168.9.9", 8080), Some(0));
    s.update(&down(&vs, "192.168.1.1", 80, false));
    s.update(&down(&vs, "192.168.1.2", 80, false));
    assert_eq!(s.ops.weight(&svc, "192.168.9.9", 8080), Some(1));
    // The inhibited (alive) real server stays at weight 0, the others went.
    assert_eq!(s.ops.weight(&svc, "192.168.1.3", 80), Some(0));
    assert_eq!(s.ops.weight(&svc, "192.168.1.2", 80), None);
}

#[test]
fn alpha_starts_real_servers_down_and_without_quorum() {
    let text = r#"
virtual_server 10.0.0.1 80 {
    protocol TCP
    alpha
    sorry_server 192.168.9.9 80
    real_server 192.168.1.1 80 { TCP_CHECK { connect_timeout 3 } }
    real_server 192.168.1.2 80 { }
}
"#;
    // The real server without checkers counts: quorum 1 is gained at start.
    let (mut s, ev) = Syncer::new(FakeKernel::default(), spec(text), Options::default());
    assert_eq!(ev.len(), 1);
    assert!(ev[0].up);
    s.start().expect("start");
    let svc = tcp("10.0.0.1", 80);
    assert_eq!(s.ops.weight(&svc, "192.168.1.1", 80), None);
    assert_eq!(s.ops.weight(&svc, "192.168.1.2", 80), Some(1));
    let vs = vs_key("10.0.0.1", 80);
    s.update(&down(&vs, "192.168.1.1", 80, true));
    assert_eq!(s.ops.weight(&svc, "192.168.1.1", 80), Some(1));

    // All checked with alpha: no quorum at start, sorry server in, quorum_down.
    let text2 = text.replace(
        "real_server 192.168.1.2 80 { }",
        "real_server 192.168.1.2 80 { TCP_CHECK { } }",
    );
    let (mut s, ev) = Syncer::new(FakeKernel::default(), spec(&text2), Options::default());
    assert_eq!(ev.len(), 1);
    assert!(!ev[0].up);
    s.start().expect("start");
    let dests: Vec<_> = s.ops.table[&svc].1.keys().map(|d| d.addr).collect();
    assert_eq!(dests, vec!["192.168.9.9".parse::<IpAddr>().expect("ip")]);
}

#[test]
fn out_of_band_flush_is_repaired_and_counted() {
    let mut s = syncer(FakeKernel::default(), TWO_VS, Options::default());
    let want = s.ops.dump();
    s.ops.table.clear(); // ipvsadm -C
    let n = s.reconcile().expect("reconcile");
    assert_eq!(n, 5);
    assert_eq!(s.counts().repairs, 5);
    assert_eq!(s.ops.dump(), want);
    // ipvsadm -e changing a weight, ipvsadm -a adding a stranger: repaired.
    let svc = tcp("10.0.0.1", 80);
    if let Some(d) = s
        .ops
        .table
        .get_mut(&svc)
        .and_then(|e| e.1.values_mut().next())
    {
        d.weight = 100;
    }
    let stranger = Destination {
        id: DestId {
            addr: "192.168.7.7".parse().expect("ip"),
            port: 80,
        },
        forward: Forward::Masq,
        weight: 1,
        upper_threshold: 0,
        lower_threshold: 0,
        tunnel_type: TunnelType::Ipip,
        tunnel_port: 0,
        tunnel_flags: 0,
    };
    s.ops
        .table
        .get_mut(&svc)
        .map(|e| e.1.insert(stranger.id, stranger));
    assert_eq!(s.reconcile().ok(), Some(2));
    assert_eq!(s.counts().repairs, 7);
    assert_eq!(s.ops.dump(), want);
}

#[test]
fn stop_removes_only_ours() {
    let mut kernel = FakeKernel::default();
    let foreign = Service {
        id: tcp("10.9.9.9", 25),
        scheduler: "rr".into(),
        flags: 0,
        timeout: 0,
        netmask: u32::MAX,
        pe_name: None,
    };
    kernel.add(foreign.clone(), &[]);
    let mut s = syncer(kernel, TWO_VS, Options::default());
    s.stop();
    assert_eq!(s.ops.table.len(), 1);
    assert!(s.ops.table.contains_key(&foreign.id));
    assert_eq!(s.counts().del_service, 2);
    assert_eq!(s.counts().del_dest, 0);
}

#[test]
fn dont_release_keeps_the_table() {
    let mut s = syncer(
        FakeKernel::default(),
        TWO_VS,
        Options { dont_release: true },
    );
    let before = s.ops.dump();
    s.stop();
    assert_eq!(s.ops.dump(), before);
}

#[test]
fn lvs_flush_at_start_and_on_stop() {
    let mut kernel = FakeKernel::default();
    kernel.add(
        Service {
            id: tcp("10.9.9.9", 25),
            scheduler: "rr".into(),
            flags: 0,
            timeout: 0,
            netmask: u32::MAX,
            pe_name: None,
        },
        &[],
    );
    let text = format!("global_defs {{\n lvs_flush\n lvs_flush_onstop\n}}\n{TWO_VS}");
    let mut s = syncer(kernel, &text, Options::default());
    assert_eq!(s.ops.log.first().map(String::as_str), Some("FLUSH"));
    assert_eq!(s.ops.table.len(), 2);
    s.ops.log.clear();
    s.stop();
    assert_eq!(s.ops.log, vec!["FLUSH"]);
    assert!(s.ops.table.is_empty());
}

#[test]
fn group_expands_ranges_and_fwmarks() {
    let text = r#"
virtual_server_group G {
    10.0.0.1-3 80
    10.0.1.0/30 8080
    fwmark 7
}
virtual_server group G {
    lvs_sched sh
    sh-port
    protocol TCP
    persistence_timeout 30
    persistence_granularity 255.255.255.0
    real_server 192.168.1.1 80 { }
}
"#;
    let s = syncer(FakeKernel::default(), text, Options::default());
    let ids: Vec<ServiceId> = s.ops.table.keys().copied().collect();
    assert_eq!(ids.len(), 3 + 4 + 1, "{ids:?}");
    assert!(ids.contains(&tcp("10.0.0.2", 80)));
    assert!(ids.contains(&tcp("10.0.1.3", 8080)));
    assert!(ids.contains(&ServiceId::Fwmark {
        family: types::AF_INET,
        mark: 7
    }));
    let (svc, dests) = &s.ops.table[&tcp("10.0.0.3", 80)];
    assert_eq!(svc.flags, svc_flags::PERSISTENT | svc_flags::SCHED2);
    assert_eq!((svc.timeout, svc.netmask), (30, 0xffff_ff00));
    assert_eq!(dests.len(), 1);
}

#[test]
fn forwarding_methods_and_flags_map_to_kernel_values() {
    let text = r#"
virtual_server 10.0.0.1 53 {
    protocol UDP
    lvs_sched mh
    mh-fallback
    ops
    real_server 192.168.1.1 53 { lvs_method TUN type gue port 6080 csum }
    real_server 192.168.1.2 53 { lvs_method DR }
    real_server 192.168.1.3 {
        uthreshold 100
        lthreshold 10
    }
}
"#;
    let s = syncer(FakeKernel::default(), text, Options::default());
    let id = ServiceId::Addr {
        protocol: types::PROTO_UDP,
        addr: "10.0.0.1".parse().expect("ip"),
        port: 53,
    };
    let (svc, dests) = &s.ops.table[&id];
    assert_eq!(svc.scheduler, "mh");
    assert_eq!(svc.flags, svc_flags::ONEPACKET | svc_flags::SCHED1);
    let v: Vec<&Destination> = dests.values().collect();
    assert_eq!(v.len(), 3);
    assert_eq!(
        (
            v[0].forward,
            v[0].tunnel_type,
            v[0].tunnel_port,
            v[0].tunnel_flags
        ),
        (Forward::Tunnel, TunnelType::Gue, 6080, 1)
    );
    assert_eq!(v[1].forward, Forward::Route);
    // NAT without a port takes the service's.
    assert_eq!((v[2].forward, v[2].id.port), (Forward::Masq, 53));
    assert_eq!((v[2].upper_threshold, v[2].lower_threshold), (100, 10));
}

#[test]
fn kernel_local_forwarding_and_hashed_flag_are_not_differences() {
    let mut s = syncer(FakeKernel::default(), TWO_VS, Options::default());
    for (_, dests) in s.ops.table.values_mut() {
        for d in dests.values_mut() {
            d.forward = Forward::Local;
        }
    }
    assert_eq!(s.reconcile().ok(), Some(0));
}

#[test]
fn sync_daemon_and_timeouts() {
    let text = format!(
        "global_defs {{\n lvs_sync_daemon eth0 id 5\n lvs_timeouts tcp 900 udp 60\n}}\n{TWO_VS}"
    );
    let mut s = syncer(FakeKernel::default(), &text, Options::default());
    assert_eq!(
        s.ops.daemons,
        vec![SyncDaemonState::Master, SyncDaemonState::Backup]
    );
    assert_eq!(
        s.ops.timeouts,
        Some(Timeouts {
            tcp: Some(900),
            tcpfin: None,
            udp: Some(60)
        })
    );
    s.stop();
    assert!(s.ops.daemons.is_empty());
}

#[test]
fn failed_requests_are_retried_by_reconcile() {
    struct Refusing(FakeKernel, bool);
    impl IpvsOps for Refusing {
        fn services(&mut self) -> Result<Vec<Service>, IpvsError> {
            self.0.services()
        }
        fn destinations(&mut self, s: &ServiceId) -> Result<Vec<Destination>, IpvsError> {
            self.0.destinations(s)
        }
        fn new_service(&mut self, s: &Service) -> Result<(), IpvsError> {
            if self.1 {
                return Err(IpvsError::Kernel {
                    errno: 2,
                    message: "no scheduler".into(),
                });
            }
            self.0.new_service(s)
        }
        fn set_service(&mut self, s: &Service) -> Result<(), IpvsError> {
            self.0.set_service(s)
        }
        fn del_service(&mut self, s: &ServiceId) -> Result<(), IpvsError> {
            self.0.del_service(s)
        }
        fn new_destination(&mut self, s: &ServiceId, d: &Destination) -> Result<(), IpvsError> {
            self.0.new_destination(s, d)
        }
        fn set_destination(&mut self, s: &ServiceId, d: &Destination) -> Result<(), IpvsError> {
            self.0.set_destination(s, d)
        }
        fn del_destination(&mut self, s: &ServiceId, d: &DestId) -> Result<(), IpvsError> {
            self.0.del_destination(s, d)
        }
        fn flush(&mut self) -> Result<(), IpvsError> {
            self.0.flush()
        }
    }
    let (mut s, _) = Syncer::new(
        Refusing(FakeKernel::default(), true),
        spec(TWO_VS),
        Options::default(),
    );
    s.start().expect("start");
    assert!(s.counts().errors > 0);
    assert!(s.status().last_error.is_some());
    assert!(s.ops.0.table.is_empty());
    s.ops.1 = false;
    assert_eq!(s.reconcile().ok(), Some(5));
    assert_eq!(s.ops.0.table.len(), 2);
}

#[test]
fn quorum_follows_keepalived_hysteresis() {
    use desired::quorum_next;
    // quorum 4, hysteresis 1: lost below 3, regained at 5.
    assert!(quorum_next(true, 3, 4, 1));
    assert!(!quorum_next(true, 2, 4, 1));
    assert!(!quorum_next(false, 4, 4, 1));
    assert!(quorum_next(false, 5, 4, 1));
    // A live weight of 0 always loses it.
    assert!(!quorum_next(true, 0, 0, 0));
    // quorum 0 (all weights 0): hysteresis wraps to u32::MAX, never regained.
    assert!(!quorum_next(false, 0, 0, u32::MAX));
}

#[test]
fn start_reports_quorum_gained_with_its_script() {
    let (s, ev) = Syncer::new(FakeKernel::default(), spec(QUORUM), Options::default());
    assert_eq!(ev.len(), 1);
    assert!(ev[0].up);
    assert_eq!(
        (ev[0].live_weight, ev[0].quorum, ev[0].hysteresis),
        (6, 4, 1)
    );
    assert_eq!(
        ev[0].script.as_ref().map(|s| s.script.as_str()),
        Some("/bin/true up")
    );
    let st = s.status();
    assert_eq!(st.virtual_servers.len(), 1);
    let vs = &st.virtual_servers[0];
    assert!(vs.quorum_up && !vs.sorry_server_active);
    assert_eq!(vs.services_in_kernel, 0, "nothing applied before start");
}

#[test]
fn status_shows_kernel_weights_and_verdicts() {
    let mut s = syncer(FakeKernel::default(), TWO_VS, Options::default());
    let vs = vs_key("10.0.0.1", 80);
    s.update(&down(&vs, "192.168.1.1", 80, false));
    let st = s.status();
    let v = &st.virtual_servers[0];
    assert_eq!(v.services_in_kernel, 1);
    assert_eq!(v.live_weight, 3);
    let rs: Vec<(bool, Option<u32>, &str)> = v
        .real_servers
        .iter()
        .map(|r| (r.alive, r.kernel_weight, r.reason.as_str()))
        .collect();
    assert_eq!(
        rs,
        vec![(false, None, "down"), (true, Some(3), "no checkers")]
    );
    assert_eq!(st.counts.del_dest, 1);
}

#[test]
fn reload_keeps_checker_state_and_new_alpha_servers_start_down() {
    let text = r#"
virtual_server 10.0.0.1 80 {
    protocol TCP
    real_server 192.168.1.1 80 { TCP_CHECK { } }
    real_server 192.168.1.2 80 { TCP_CHECK { } }
}
"#;
    let mut s = syncer(FakeKernel::default(), text, Options::default());
    let vs = vs_key("10.0.0.1", 80);
    let svc = tcp("10.0.0.1", 80);
    s.update(&down(&vs, "192.168.1.1", 80, false));
    s.ops.log.clear();
    let text2 = text.replace(
        "real_server 192.168.1.2 80 { TCP_CHECK { } }",
        "real_server 192.168.1.2 80 { TCP_CHECK { } }\n    real_server 192.168.1.3 80 {\n alpha\n TCP_CHECK { } }",
    );
    s.reload(spec(&text2));
    // The failed one stays out, the new alpha one is not added yet.
    assert!(s.ops.log.is_empty(), "{:?}", s.ops.log);
    assert_eq!(s.ops.weight(&svc, "192.168.1.1", 80), None);
    assert_eq!(s.ops.weight(&svc, "192.168.1.3", 80), None);
    s.update(&down(&vs, "192.168.1.3", 80, true));
    assert_eq!(s.ops.weight(&svc, "192.168.1.3", 80), Some(1));
}
