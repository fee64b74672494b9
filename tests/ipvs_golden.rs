//! The desired IPVS table of corpus configurations (checkers stripped, so
//! every real server is alive) against what Debian keepalived 2.2.7 put in
//! the kernel for the same files (`ipvsadm -Ln`, captured in the IPVS guest
//! by `tests/ipvs_golden/capture.sh`).
//!
//! The files: `tests/ipvs_golden/data/NAME.conf` (the stripped config) and
//! `NAME.ipvsadm` (keepalived's table). Both sides are normalised to sorted
//! lines: `PROTO ADDR:PORT SCHED FLAGS...` and `-> ADDR:PORT FORWARD WEIGHT`.

#[path = "ipvs_golden/norm.rs"]
mod norm;

use keepalived_rs::config::{self, LoadOptions};
use keepalived_rs::ipvs::desired::{self, Table, VsState};
use keepalived_rs::ipvs::types::{svc_flags, Forward, AF_INET6};
use std::net::IpAddr;
use std::path::Path;

fn addr_port(addr: &IpAddr, port: u16) -> String {
    match addr {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(a) => format!("[{a}]:{port}"),
    }
}

/// Our table in ipvsadm's words.
fn render(t: &Table) -> Vec<String> {
    let mut out = Vec::new();
    for (id, ts) in t {
        let s = &ts.service;
        // ServiceId's Display is ipvsadm's service column.
        let mut line = id.to_string();
        line.push(' ');
        line.push_str(&s.scheduler);
        let sched = s.flags & (svc_flags::SCHED1 | svc_flags::SCHED2 | svc_flags::SCHED3);
        if sched != 0 {
            let names: [&str; 3] = match s.scheduler.as_str() {
                "sh" => ["sh-fallback", "sh-port", "flag-3"],
                "mh" => ["mh-fallback", "mh-port", "flag-3"],
                _ => ["flag-1", "flag-2", "flag-3"],
            };
            let bits = [svc_flags::SCHED1, svc_flags::SCHED2, svc_flags::SCHED3];
            let set: Vec<&str> = bits
                .iter()
                .zip(names)
                .filter(|(b, _)| sched & **b != 0)
                .map(|(_, n)| n)
                .collect();
            line.push_str(&format!(" ({})", set.join(",")));
        }
        let v6 = id.family() == AF_INET6;
        if s.flags & svc_flags::PERSISTENT != 0 {
            line.push_str(&format!(" persistent {}", s.timeout));
            if v6 && s.netmask != 128 {
                line.push_str(&format!(" mask {}", s.netmask));
            } else if !v6 && s.netmask != u32::MAX {
                line.push_str(&format!(" mask {}", std::net::Ipv4Addr::from(s.netmask)));
            }
        }
        if let Some(pe) = &s.pe_name {
            line.push_str(&format!(" pe {pe}"));
        }
        if s.flags & svc_flags::ONEPACKET != 0 {
            line.push_str(" ops");
        }
        out.push(line);
        let mut dests: Vec<String> = ts
            .dests
            .values()
            .map(|d| {
                let fwd = match d.forward {
                    Forward::Masq => "Masq",
                    Forward::Route => "Route",
                    Forward::Tunnel => "Tunnel",
                    Forward::Local => "Local",
                    Forward::Bypass => "Bypass",
                };
                format!(
                    "  -> {} {fwd} {}",
                    addr_port(&d.id.addr, d.id.port),
                    d.weight
                )
            })
            .collect();
        dests.sort();
        out.extend(dests);
    }
    out
}

fn blocks(lines: Vec<String>) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for l in lines {
        if let Some(rest) = l.strip_prefix("  -> ") {
            if let Some(b) = out.last_mut() {
                b.1.push(format!("  -> {rest}"));
            }
        } else {
            out.push((l, Vec::new()));
        }
    }
    for b in &mut out {
        b.1.sort();
    }
    out.sort();
    out
}

fn desired_table(conf: &Path) -> Table {
    let loaded = config::load_file(conf, &LoadOptions::default());
    let spec = desired::build(&loaded.config);
    let states: Vec<VsState> = spec
        .virtual_servers
        .iter()
        .map(|vs| VsState::initial(vs, None).0)
        .collect();
    desired::table(&spec, &states)
}

#[test]
fn desired_tables_match_keepalived_2_2_7() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ipvs_golden/data");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        panic!("no golden data in {}", dir.display());
    };
    let mut names: Vec<_> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "ipvsadm"))
        .collect();
    names.sort();
    let mut failures = Vec::new();
    for golden in &names {
        let conf = golden.with_extension("conf");
        let Ok(text) = std::fs::read_to_string(golden) else {
            continue;
        };
        let want = norm::parse_ipvsadm(&text);
        let got = blocks(render(&desired_table(&conf)));
        if want != got {
            let flat = |b: &[(String, Vec<String>)]| -> std::collections::BTreeSet<String> {
                b.iter()
                    .flat_map(|(svc, ds)| {
                        std::iter::once(svc.clone())
                            .chain(ds.iter().map(move |d| format!("{svc} {d}")))
                    })
                    .collect()
            };
            let (w, g) = (flat(&want), flat(&got));
            let mut msg = format!("{}:", conf.display());
            for l in w.difference(&g).take(12) {
                msg.push_str(&format!("\n  - {l}"));
            }
            for l in g.difference(&w).take(12) {
                msg.push_str(&format!("\n  + {l}"));
            }
            failures.push(msg);
        }
    }
    assert!(!names.is_empty(), "no golden files");
    assert!(
        failures.is_empty(),
        "{} of {} differ (- keepalived only, + ours only):\n{}",
        failures.len(),
        names.len(),
        failures.join("\n")
    );
}
