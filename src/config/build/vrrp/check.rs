//! Whole-configuration checks of the VRRP side, in keepalived 2.2.7's order
//! (`vrrp_complete_init`): script checks, host interfaces, minimal instance
//! configuration, sync groups, each instance's completion checks, VRID
//! conflicts, static track groups and sync-group tracking.
//!
//! Like keepalived, a failure that stops keepalived's VRRP start-up (an
//! interface that does not exist, an instance without VRID, a VIP-less VRRPv3
//! instance, a VRID conflict, ...) ends the checks: keepalived says nothing
//! more either.
//!
//! The same function runs on a model read from TOML; [`model_sanity`] then
//! also catches what the keepalived.conf parser would have refused (values
//! out of range, names that do not resolve).

use super::util::{interface_exists, interface_is_loopback};
use crate::config::build::scripts::{check_script, ScriptUse};
use crate::config::build::Cx;
use crate::config::diag::Severity;
use crate::config::model::{
    AuthType, Config, Family, GlobalDefs, InitialState, NotifyScript, SyncGroup, VrrpInstance,
    VRRP_DOWN_TIMER_ADVERTS, VRRP_PRIO_OWNER,
};
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

/// The global_defs settings these checks depend on (keepalived's defaults
/// when global_defs does not set them).  [`GlobalView::of`] is the one place
/// that reads them.
#[derive(Clone, Debug)]
pub(crate) struct GlobalView {
    pub vrrp_version: u8,
    pub vrrp_strict: bool,
    pub dynamic_interfaces: bool,
    pub default_interface: String,
    pub mcast_group4: IpAddr,
    pub mcast_group6: IpAddr,
    pub down_timer_adverts: u8,
}

impl GlobalView {
    /// Read the settings from `global_defs`.  keepalived's `default_interface`
    /// is `eth0` unless configured; `vrrp_down_timer_adverts` is range-checked
    /// to [1, 100] by its reader (a TOML model out of range falls back to the
    /// default, and the TOML sanity checks report it).
    pub fn of(g: &GlobalDefs) -> GlobalView {
        GlobalView {
            vrrp_version: g.vrrp_version,
            vrrp_strict: g.vrrp_strict,
            dynamic_interfaces: g.dynamic_interfaces,
            default_interface: g
                .default_interface
                .clone()
                .unwrap_or_else(|| "eth0".to_owned()),
            mcast_group4: g.vrrp_mcast_group4,
            mcast_group6: g.vrrp_mcast_group6,
            down_timer_adverts: u8::try_from(g.vrrp_down_timer_adverts)
                .ok()
                .filter(|n| (1..=100).contains(n))
                .unwrap_or(VRRP_DOWN_TIMER_ADVERTS),
        }
    }
}

/// Report at the first of `keys` the source map knows (none: no location).
fn report(cx: &mut Cx, sev: Severity, keys: &[String], keyword: &str, msg: impl Into<String>) {
    let key = keys
        .iter()
        .find(|k| cx.spans.contains_key(k.as_str()))
        .cloned()
        .unwrap_or_default();
    cx.report_at(sev, &key, keyword, msg);
}

fn ikey(i: &VrrpInstance, what: &str) -> String {
    if what.is_empty() {
        format!("vrrp_instance.{}", i.name)
    } else {
        format!("vrrp_instance.{}.{what}", i.name)
    }
}

/// Report about instance `i`, at its keyword `kw` if given there, else at the
/// instance.
fn inst_err(cx: &mut Cx, i: &VrrpInstance, kw: &str, msg: impl Into<String>) {
    report(
        cx,
        Severity::Error,
        &[ikey(i, kw), ikey(i, "")],
        if kw.is_empty() { "vrrp_instance" } else { kw },
        msg,
    );
}

fn inst_warn(cx: &mut Cx, i: &VrrpInstance, kw: &str, msg: impl Into<String>) {
    report(
        cx,
        Severity::Warning,
        &[ikey(i, kw), ikey(i, "")],
        if kw.is_empty() { "vrrp_instance" } else { kw },
        msg,
    );
}

/// Interface flags from sysfs (IFF_*), when the interface exists.
fn interface_flags(name: &str) -> Option<u32> {
    if name.contains('/') {
        return None;
    }
    let t = std::fs::read_to_string(format!("/sys/class/net/{name}/flags")).ok()?;
    u32::from_str_radix(t.trim().trim_start_matches("0x"), 16).ok()
}

fn interface_mtu(name: &str) -> Option<usize> {
    if name.contains('/') {
        return None;
    }
    std::fs::read_to_string(format!("/sys/class/net/{name}/mtu"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

const IFF_MULTICAST: u32 = 0x1000;

pub(crate) fn validate(cfg: &Config, cx: &mut Cx) {
    let g = GlobalView::of(&cfg.global_defs);
    model_sanity(cfg, cx);
    if cx.opts.check_host && !host_interfaces(cfg, &g, cx) {
        return;
    }
    // keepalived checks the VRRP scripts first thing when it completes the
    // configuration, and only when there is an instance.
    if !cfg.vrrp_instance.is_empty() {
        scripts(cfg, cx);
    }
    if !min_config(cfg, cx) {
        return;
    }
    let membership = sync_groups(cfg, cx);
    for inst in &cfg.vrrp_instance {
        let group = membership.get(inst.name.as_str()).copied();
        if !complete_instance(cfg, inst, group, &g, cx) {
            return;
        }
    }
    if vrid_conflicts(cfg, &g, cx) {
        return;
    }
    static_track_groups(cfg, cx);
    sync_group_tracking(cfg, &membership, cx);
}

/// Every configured script goes through the shared script checks.
fn scripts(cfg: &Config, cx: &mut Cx) {
    for s in &cfg.vrrp_script {
        let key = format!("vrrp_script.{}", s.name);
        check_script(
            cx,
            &cfg.global_defs,
            &key,
            "script",
            &s.script,
            s.user.as_ref(),
            ScriptUse::TrackScript,
        );
    }
    let notify = |cx: &mut Cx, prefix: &str, kw: &str, n: &Option<NotifyScript>| {
        if let Some(n) = n {
            if !n.command.is_empty() {
                let key = format!("{prefix}.{kw}");
                check_script(
                    cx,
                    &cfg.global_defs,
                    &key,
                    kw,
                    &n.command,
                    n.user.as_ref(),
                    ScriptUse::Notify,
                );
            }
        }
    };
    for i in &cfg.vrrp_instance {
        let p = format!("vrrp_instance.{}", i.name);
        notify(cx, &p, "notify_master", &i.notify_master);
        notify(cx, &p, "notify_backup", &i.notify_backup);
        notify(cx, &p, "notify_fault", &i.notify_fault);
        notify(cx, &p, "notify_stop", &i.notify_stop);
        notify(cx, &p, "notify_deleted", &i.notify_deleted);
        notify(cx, &p, "notify", &i.notify);
        notify(
            cx,
            &p,
            "notify_master_rx_lower_pri",
            &i.notify_master_rx_lower_pri,
        );
    }
    for sg in &cfg.vrrp_sync_group {
        let p = format!("vrrp_sync_group.{}", sg.name);
        notify(cx, &p, "notify_master", &sg.notify_master);
        notify(cx, &p, "notify_backup", &sg.notify_backup);
        notify(cx, &p, "notify_fault", &sg.notify_fault);
        notify(cx, &p, "notify_stop", &sg.notify_stop);
        notify(cx, &p, "notify", &sg.notify);
    }
}

/// What the keepalived.conf parser guarantees but a TOML model may break.
fn model_sanity(cfg: &Config, cx: &mut Cx) {
    let mut seen = HashSet::new();
    for i in &cfg.vrrp_instance {
        if !seen.insert(i.name.as_str()) {
            inst_err(
                cx,
                i,
                "",
                format!("vrrp instance {} already defined", i.name),
            );
        }
        if i.virtual_router_id == Some(0) {
            inst_err(
                cx,
                i,
                "virtual_router_id",
                format!("({}): VRID '0' not valid - must be between 1 & 255", i.name),
            );
        }
        if i.priority == Some(0) {
            inst_err(
                cx,
                i,
                "priority",
                format!("({}) Priority not valid! must be between 1 & 255", i.name),
            );
        }
        if i.version.is_some_and(|v| v != 2 && v != 3) {
            inst_err(
                cx,
                i,
                "version",
                format!("({}): Version must be either 2 or 3", i.name),
            );
        }
        if i.advert_int
            .is_some_and(|t| t.micros < 10_000 || t.micros > 255_000_000)
        {
            inst_err(
                cx,
                i,
                "advert_int",
                format!(
                    "({}) Advert interval not valid! Must be in [0.01, 255]",
                    i.name
                ),
            );
        }
        if i.down_timer_adverts.is_some_and(|d| d == 0 || d > 100) {
            inst_err(
                cx,
                i,
                "down_timer_adverts",
                format!("({}): Invalid down_timer_adverts [1:100]", i.name),
            );
        }
        if i.authentication
            .as_ref()
            .and_then(|a| a.auth_pass.as_ref())
            .is_some_and(|p| p.len() > 8)
        {
            inst_err(cx, i, "auth_pass", "auth_pass is longer than 8 characters");
        }
        if i.authentication
            .as_ref()
            .is_some_and(|a| a.auth_type == Some(AuthType::Ah))
            && !cx.spans.contains_key(&ikey(i, "authentication"))
        {
            inst_err(
                cx,
                i,
                "auth_type",
                "auth_type AH is not implemented by keepalived-rs; the daemon refuses to start with it",
            );
        }
        let fam = i.family();
        for a in &i.virtual_ipaddress {
            if a.family() != fam {
                inst_err(
                    cx,
                    i,
                    "virtual_ipaddress",
                    format!(
                        "({}): address family must match VRRP instance [{}] - ignoring",
                        i.name, a.address
                    ),
                );
            }
        }
        let refs = [
            &i.track_script[..],
            &i.track_file[..],
            &i.track_process[..],
            &i.track_bfd[..],
        ];
        tracked_names(cfg, cx, &i.name, "vrrp_instance", refs);
    }
    let mut seen = HashSet::new();
    for sg in &cfg.vrrp_sync_group {
        if !seen.insert(sg.name.as_str()) {
            report(
                cx,
                Severity::Error,
                &[format!("vrrp_sync_group.{}", sg.name)],
                "vrrp_sync_group",
                format!("vrrp sync group {} already defined", sg.name),
            );
        }
        let refs = [
            &sg.track_script[..],
            &sg.track_file[..],
            &sg.track_process[..],
            &sg.track_bfd[..],
        ];
        tracked_names(cfg, cx, &sg.name, "vrrp_sync_group", refs);
    }
}

/// TOML: every tracked name must exist (the conf parser drops unknown ones).
/// The four `track_*` reference lists of an instance or sync group.
type RefLists<'a> = [&'a [crate::config::model::TrackedRef]; 4];

fn tracked_names(cfg: &Config, cx: &mut Cx, owner: &str, block: &str, refs: RefLists) {
    let [scripts, files, processes, bfds] = refs;
    let lists: [(&str, &[crate::config::model::TrackedRef], Vec<&str>); 4] = [
        (
            "script",
            scripts,
            cfg.vrrp_script.iter().map(|s| s.name.as_str()).collect(),
        ),
        (
            "file",
            files,
            cfg.track_file.iter().map(|s| s.name.as_str()).collect(),
        ),
        (
            "process",
            processes,
            cfg.vrrp_track_process
                .iter()
                .map(|s| s.name.as_str())
                .collect(),
        ),
        (
            "bfd",
            bfds,
            cfg.bfd_instance.iter().map(|s| s.name.as_str()).collect(),
        ),
    ];
    for (noun, list, known) in lists {
        for (k, t) in list.iter().enumerate() {
            let key = format!("{block}.{owner}.track_{noun}.{k}");
            if cx.spans.contains_key(&key) {
                continue; // read from keepalived.conf: resolved while parsing
            }
            if !known.contains(&t.name.as_str()) {
                report(
                    cx,
                    Severity::Error,
                    &[format!("{block}.{owner}")],
                    &format!("track_{noun}"),
                    format!("({owner}) track {noun} {} not found, ignoring...", t.name),
                );
            }
        }
    }
}

/// keepalived looks every interface up while reading; any that does not exist
/// (without `dynamic_interfaces`) stops VRRP start-up after the parse.
/// Returns false when that happens.
fn host_interfaces(cfg: &Config, g: &GlobalView, cx: &mut Cx) -> bool {
    if g.dynamic_interfaces {
        return true;
    }
    let missing = std::cell::Cell::new(false);
    let mut check = |cx: &mut Cx, name: &str, keys: &[String], kw: &str, msg: String| {
        if !interface_exists(name) {
            report(cx, Severity::Error, keys, kw, msg);
            missing.set(true);
        }
    };
    for (n, a) in cfg.static_ipaddress.iter().enumerate() {
        let key = format!("static_ipaddress.{n}");
        match &a.dev {
            Some(d) => check(
                cx,
                d,
                std::slice::from_ref(&key),
                "static_ipaddress",
                format!(
                    "WARNING - interface {d} for ip address {} doesn't exist",
                    a.address
                ),
            ),
            None => {
                if !interface_exists(&g.default_interface) {
                    report(
                        cx,
                        Severity::Fatal,
                        &[key],
                        "static_ipaddress",
                        format!(
                            "Static address {} requires either an interface or default interface must exist",
                            a.address
                        ),
                    );
                    missing.set(true);
                }
            }
        }
    }
    for (n, r) in cfg.static_routes.iter().enumerate() {
        route_interfaces(
            cx,
            &mut check,
            &format!("static_routes.{n}"),
            "static_routes",
            r,
        );
    }
    for (n, r) in cfg.static_rules.iter().enumerate() {
        rule_interfaces(
            cx,
            &mut check,
            &format!("static_rules.{n}"),
            "static_rules",
            r,
        );
    }
    for sg in &cfg.vrrp_sync_group {
        for (k, t) in sg.track_interface.iter().enumerate() {
            check(
                cx,
                &t.name,
                &[format!("vrrp_sync_group.{}.track_interface.{k}", sg.name)],
                "track_interface",
                format!("({}) tracked interface {} doesn't exist", sg.name, t.name),
            );
        }
    }
    for (n, g) in cfg.garp_group.iter().enumerate() {
        let keys = g
            .interface
            .iter()
            .map(|name| (name, format!("garp_group.{n}.interface")))
            .chain(
                g.interfaces
                    .iter()
                    .map(|name| (name, format!("garp_group.{n}.interfaces.{name}"))),
            );
        for (name, key) in keys {
            check(
                cx,
                name,
                &[key, format!("garp_group.{n}")],
                "garp_group",
                format!("WARNING - interface {name} specified for garp_group doesn't exist"),
            );
        }
    }
    for i in &cfg.vrrp_instance {
        if let Some(ifn) = &i.interface {
            if !interface_exists(ifn) {
                check(
                    cx,
                    ifn,
                    &[ikey(i, "interface"), ikey(i, "")],
                    "interface",
                    format!(
                        "WARNING - interface {ifn} for vrrp_instance {} doesn't exist",
                        i.name
                    ),
                );
            } else if interface_is_loopback(ifn) {
                inst_err(
                    cx,
                    i,
                    "interface",
                    format!(
                        "({}) cannot use a loopback interface ({ifn}) for vrrp - ignoring",
                        i.name
                    ),
                );
            }
        }
        if let Some(v) = &i.vrf {
            if !interface_exists(v) {
                check(
                    cx,
                    v,
                    &[ikey(i, "vrf"), ikey(i, "")],
                    "vrf",
                    format!("({}) WARNING - VRF interface {v} doesn't exist", i.name),
                );
            } else if interface_is_loopback(v) {
                inst_err(
                    cx,
                    i,
                    "vrf",
                    format!(
                        "({}) cannot use a loopback interface ({v}) for VRF - ignoring",
                        i.name
                    ),
                );
            }
        }
        for (k, t) in i.track_interface.iter().enumerate() {
            check(
                cx,
                &t.name,
                &[
                    ikey(i, &format!("track_interface.{k}")),
                    ikey(i, "track_interface"),
                ],
                "track_interface",
                format!("({}) tracked interface {} doesn't exist", i.name, t.name),
            );
        }
        for (list, kw) in [
            (&i.virtual_ipaddress, "virtual_ipaddress"),
            (&i.virtual_ipaddress_excluded, "virtual_ipaddress_excluded"),
        ] {
            for (k, a) in list.iter().enumerate() {
                if let Some(d) = &a.dev {
                    check(
                        cx,
                        d,
                        &[ikey(i, &format!("{kw}.{k}")), ikey(i, kw)],
                        kw,
                        format!(
                            "WARNING - interface {d} for ip address {} doesn't exist",
                            a.address
                        ),
                    );
                }
            }
        }
        for (k, r) in i.virtual_routes.iter().enumerate() {
            route_interfaces(
                cx,
                &mut check,
                &ikey(i, &format!("virtual_routes.{k}")),
                "virtual_routes",
                r,
            );
        }
        for (k, r) in i.virtual_rules.iter().enumerate() {
            rule_interfaces(
                cx,
                &mut check,
                &ikey(i, &format!("virtual_rules.{k}")),
                "virtual_rules",
                r,
            );
        }
    }
    for (n, l) in cfg.linkbeat_interfaces.iter().enumerate() {
        if !interface_exists(&l.interface) {
            report(
                cx,
                Severity::Fatal,
                &[format!("linkbeat_interfaces.{n}")],
                "linkbeat_interfaces",
                format!(
                    "unknown interface {} specified for linkbeat interface",
                    l.interface
                ),
            );
        }
    }
    for (n, d) in cfg.interface_up_down_delays.iter().enumerate() {
        if !interface_exists(&d.interface) {
            report(
                cx,
                Severity::Fatal,
                &[format!("interface_up_down_delays.{n}")],
                "interface_up_down_delays",
                format!(
                    "unknown interface {} specified for up/down delay",
                    d.interface
                ),
            );
        }
    }
    for f in &cfg.track_file {
        if f.init_file.as_ref().is_some_and(|i| i.overwrite) {
            if let Ok(m) = std::fs::metadata(&f.file) {
                if !m.is_file() {
                    report(
                        cx,
                        Severity::Error,
                        &[format!("track_file.{}", f.name)],
                        "init_file",
                        format!(
                            "Cannot initialise track file {} - it is not a regular file",
                            f.name
                        ),
                    );
                }
            }
        }
    }
    if missing.get() {
        cx.diags.push(
            Severity::Error,
            None,
            None,
            "Non-existent interface specified in configuration - keepalived's VRRP process stops here",
        );
        return false;
    }
    // A loopback instance interface is dropped; min_config then complains.
    true
}

type IfCheck<'a> = dyn FnMut(&mut Cx, &str, &[String], &str, String) + 'a;

fn route_interfaces(
    cx: &mut Cx,
    check: &mut IfCheck,
    key: &str,
    kw: &str,
    r: &crate::config::model::RouteSpec,
) {
    let devs = r
        .dev
        .iter()
        .chain(r.nexthop.iter().filter_map(|n| n.dev.as_ref()));
    for d in devs {
        check(
            cx,
            d,
            &[key.to_owned()],
            kw,
            format!("WARNING - interface {d} for VROUTE nexthop doesn't exist"),
        );
    }
    if let Some(v) = &r.vrf {
        if !interface_exists(v) {
            report(
                cx,
                Severity::Error,
                &[key.to_owned()],
                kw,
                format!("VRF {v} not found for route"),
            );
        } else if std::fs::metadata(format!("/sys/class/net/{v}/vrf")).is_err() && !v.contains('/')
        {
            report(
                cx,
                Severity::Error,
                &[key.to_owned()],
                kw,
                format!("Route specified VRF {v} is not a VRF"),
            );
        }
    }
}

fn rule_interfaces(
    cx: &mut Cx,
    check: &mut IfCheck,
    key: &str,
    kw: &str,
    r: &crate::config::model::RuleSpec,
) {
    for d in r.iif.iter().chain(r.oif.iter()) {
        check(
            cx,
            d,
            &[key.to_owned()],
            kw,
            format!("WARNING - interface {d} for rule doesn't exist"),
        );
    }
}

/// Whether the instance's interface is usable (set, and with host checks, not
/// a loopback).
fn has_usable_interface(i: &VrrpInstance, cx: &Cx) -> bool {
    match &i.interface {
        None => false,
        Some(ifn) => !(cx.opts.check_host && interface_is_loopback(ifn)),
    }
}

/// keepalived's `chk_min_cfg`: a VRID and an interface.  (keepalived tests
/// "unicast" here before it has worked it out, so an instance without an
/// interface always fails.)
fn min_config(cfg: &Config, cx: &mut Cx) -> bool {
    let mut ok = true;
    for i in &cfg.vrrp_instance {
        if i.virtual_router_id.is_none() {
            inst_err(
                cx,
                i,
                "",
                format!("({}) the virtual router id must be set", i.name),
            );
            ok = false;
        } else if !has_usable_interface(i, cx) {
            inst_err(cx, i, "", format!("({}) Unknown interface!", i.name));
            ok = false;
        }
    }
    ok
}

/// Sync group membership (keepalived's `vrrp_sync_set_group`): instance name
/// → its (first) group.
fn sync_groups<'a>(cfg: &'a Config, cx: &mut Cx) -> HashMap<&'a str, &'a SyncGroup> {
    let mut member: HashMap<&str, &SyncGroup> = HashMap::new();
    for sg in &cfg.vrrp_sync_group {
        let gkey = format!("vrrp_sync_group.{}", sg.name);
        if sg.group.is_empty() {
            report(
                cx,
                Severity::Error,
                std::slice::from_ref(&gkey),
                "vrrp_sync_group",
                format!("Sync group {} has no virtual router(s). removing", sg.name),
            );
            continue;
        }
        #[derive(PartialEq)]
        enum St {
            Init,
            Master,
            Backup,
        }
        let mut state = St::Init;
        let mut count = 0;
        for (k, m) in sg.group.iter().enumerate() {
            let keys = [
                format!("{gkey}.group.{k}"),
                format!("{gkey}.group"),
                gkey.clone(),
            ];
            let Some(inst) = cfg.vrrp_instance.iter().find(|i| &i.name == m) else {
                report(
                    cx,
                    Severity::Error,
                    &keys,
                    "group",
                    format!(
                        "Virtual router {m} specified in sync group {} doesn't exist - ignoring",
                        sg.name
                    ),
                );
                continue;
            };
            if member.contains_key(m.as_str()) {
                report(
                    cx,
                    Severity::Error,
                    &keys,
                    "group",
                    format!(
                        "Virtual router {m} cannot exist in more than one sync group; ignoring {}",
                        sg.name
                    ),
                );
                continue;
            }
            member.insert(inst.name.as_str(), sg);
            count += 1;
            // keepalived compares the states as configured (not yet derived).
            if state == St::Master && inst.state == Some(InitialState::Backup) {
                report(
                    cx,
                    Severity::Error,
                    &keys,
                    "group",
                    format!(
                        "Sync group {} has some member(s) as address owner and some not as address \
                         owner. This won't work.",
                        sg.name
                    ),
                );
            }
            if state != St::Backup {
                state = if inst.state == Some(InitialState::Master)
                    && inst.priority == Some(VRRP_PRIO_OWNER)
                {
                    St::Master
                } else {
                    St::Backup
                };
            }
        }
        if count == 0 {
            report(
                cx,
                Severity::Error,
                std::slice::from_ref(&gkey),
                "vrrp_sync_group",
                format!(
                    "Sync group {}, no matching virtual router found in group declaration - removing",
                    sg.name
                ),
            );
        } else if count == 1 {
            report(
                cx,
                Severity::Error,
                std::slice::from_ref(&gkey),
                "vrrp_sync_group",
                format!(
                    "Sync group {} has only 1 virtual router(s) - this probably isn't what you want",
                    sg.name
                ),
            );
        }
    }
    member
}

/// The weight a tracked script/file/process/bfd has for an instance.
fn ref_weight(t: &crate::config::model::TrackedRef, own: Option<i32>) -> i32 {
    t.weight.or(own).unwrap_or(0)
}

/// keepalived's `vrrp_complete_instance` checks.  Returns false where
/// keepalived stops.
fn complete_instance(
    cfg: &Config,
    i: &VrrpInstance,
    group: Option<&SyncGroup>,
    g: &GlobalView,
    cx: &mut Cx,
) -> bool {
    let name = &i.name;
    let strict = i.strict_mode.unwrap_or(g.vrrp_strict);
    let family = i.family();
    if family == Family::Inet6 && i.version == Some(2) && strict {
        inst_err(
            cx,
            i,
            "version",
            format!("({name}) cannot use IPv6 with VRRP version 2; setting version 3"),
        );
    }
    let version = i.effective_version(g.vrrp_version, strict);
    if i.virtual_ipaddress.is_empty() {
        if version == 3 || strict || family == Family::Inet6 {
            inst_err(
                cx,
                i,
                "",
                format!("({name}) No VIP specified; at least one is required"),
            );
            return false;
        }
        inst_err(
            cx,
            i,
            "",
            format!("({name}) No VIP specified; at least one is sensible"),
        );
    }
    let priority = i.effective_priority();
    let mut state = i.effective_state();
    if i.state.is_some()
        && strict
        && ((state == InitialState::Master) != (priority == VRRP_PRIO_OWNER))
    {
        inst_err(
            cx,
            i,
            "state",
            format!("({name}) State MASTER must match being address owner"),
        );
        state = if priority == VRRP_PRIO_OWNER {
            InitialState::Master
        } else {
            InitialState::Backup
        };
    }
    if let Some(t) = i.authentication.as_ref().and_then(|a| a.auth_type) {
        let pass_empty = i
            .authentication
            .as_ref()
            .and_then(|a| a.auth_pass.as_deref())
            .is_none_or(str::is_empty);
        if strict {
            inst_err(
                cx,
                i,
                "authentication",
                format!("({name}) Strict mode does not support authentication. Ignoring."),
            );
        } else if version == 3 {
            inst_err(
                cx,
                i,
                "authentication",
                format!("({name}) VRRP version 3 does not support authentication. Ignoring."),
            );
        } else if pass_empty {
            inst_err(
                cx,
                i,
                "authentication",
                format!("({name}) Authentication specified but no password given. Ignoring"),
            );
        } else if family == Family::Inet6 && t == AuthType::Ah {
            inst_err(
                cx,
                i,
                "authentication",
                format!("({name}) Cannot use AH authentication with IPv6. ignoring"),
            );
        } else if t == AuthType::Ah && state == InitialState::Master && priority != VRRP_PRIO_OWNER
        {
            inst_err(
                cx,
                i,
                "authentication",
                format!("({name}) Initial state master is incompatible with AH authentication - clearing"),
            );
            state = InitialState::Backup;
        }
    }
    let unicast = i.is_unicast();
    let ifname = i.interface.as_deref().unwrap_or("");
    let host = cx.opts.check_host;
    let if_flags = if host { interface_flags(ifname) } else { None };
    if strict && unicast && if_flags.is_some_and(|f| f & IFF_MULTICAST != 0) {
        inst_err(
            cx,
            i,
            "unicast_peer",
            format!("({name}) Unicast peers are not supported in strict mode"),
        );
        return false;
    }
    if i.unicast_configured() && !unicast {
        if i.unicast_fault_no_peer {
            inst_warn(
                cx,
                i,
                "unicast_fault_no_peer",
                format!("({name}) Cannot use unicast without any peers - going to fault state"),
            );
        } else {
            let kw = [
                "unicast_peer",
                "unicast_src_ip",
                "check_unicast_src",
                "old_unicast_checksum",
            ]
            .into_iter()
            .find(|k| cx.spans.contains_key(&ikey(i, k)))
            .unwrap_or("");
            inst_err(
                cx,
                i,
                kw,
                format!(
                    "({name}) A unicast keyword has been specified without any unicast peers. Defaulting \
                     to multicast. This usage is deprecated - please update your configuration."
                ),
            );
        }
    }
    if strict && i.use_vmac.as_ref().is_some_and(|v| v.mac.is_some()) {
        inst_err(
            cx,
            i,
            "use_vmac",
            format!("({name}): cannot specify MAC address with strict mode - clearing"),
        );
    }
    if !unicast && if_flags.is_some_and(|f| f & IFF_MULTICAST == 0) {
        inst_err(
            cx,
            i,
            "interface",
            format!(
                "({name}) interface {ifname} does not support multicast, specify unicast peers - disabling"
            ),
        );
    }
    if family == Family::Inet6 && !unicast {
        if let Some(first) = i.virtual_ipaddress.first() {
            let ll = match first.address.addr {
                IpAddr::V6(a) => a.segments()[0] & 0xffc0 == 0xfe80,
                IpAddr::V4(_) => true,
            };
            if !ll {
                if strict {
                    inst_err(
                        cx,
                        i,
                        "virtual_ipaddress",
                        format!("({name}) the first IPv6 VIP address must be link local"),
                    );
                } else {
                    inst_warn(
                        cx,
                        i,
                        "virtual_ipaddress",
                        format!("({name}) the first IPv6 VIP address should be link local"),
                    );
                }
            }
        }
    }
    if i.vrf.is_some() && (i.interface.is_some() || !unicast) {
        inst_err(
            cx,
            i,
            "vrf",
            format!(
                "({name}) vrf can only be specified with{} - clearing",
                if i.interface.is_some() {
                    "out interface"
                } else {
                    " unicast"
                }
            ),
        );
    }
    let mtu = if host { interface_mtu(ifname) } else { None }.unwrap_or(1500);
    let auth_ah = i.authentication.as_ref().and_then(|a| a.auth_type) == Some(AuthType::Ah);
    let max_addr = match family {
        Family::Inet => {
            let mut hdr = 14 + 20 + 8;
            if version == 2 {
                hdr += 8;
                if auth_ah {
                    hdr += 24;
                }
            }
            mtu.saturating_sub(hdr) / 4
        }
        Family::Inet6 => mtu.saturating_sub(14 + 40 + 8) / 16,
    }
    .min(255);
    if i.virtual_ipaddress.len() > max_addr {
        inst_err(
            cx,
            i,
            "virtual_ipaddress",
            format!(
                "({name}) Number of VIPs ({}) exceeds maximum/space available in packet (max {max_addr} \
                 addresses) - excess moved to eVIPs",
                i.virtual_ipaddress.len()
            ),
        );
    }
    let mut nopreempt = i.nopreempt;
    if priority == VRRP_PRIO_OWNER && nopreempt {
        inst_err(
            cx,
            i,
            "nopreempt",
            format!("({name}) nopreempt is incompatible with priority 255. resetting nopreempt"),
        );
        nopreempt = false;
    }
    let mut preempt_delay = i.preempt_delay.micros != 0;
    if state == InitialState::Master {
        if nopreempt {
            inst_err(
                cx,
                i,
                "nopreempt",
                format!("({name}) Warning - nopreempt will not work with initial state MASTER - clearing"),
            );
            nopreempt = false;
        }
        if preempt_delay {
            inst_err(
                cx,
                i,
                "preempt_delay",
                format!("({name}) Warning - preempt delay will not work with initial state MASTER - clearing"),
            );
            preempt_delay = false;
        }
    }
    if preempt_delay {
        if strict {
            inst_err(
                cx,
                i,
                "preempt_delay",
                format!("({name}) preempt_delay is incompatible with strict mode - resetting"),
            );
        }
        if nopreempt {
            inst_err(
                cx,
                i,
                "preempt_delay",
                format!("({name}) preempt_delay is incompatible with nopreempt mode - resetting"),
            );
        }
    }
    let dta = i.down_timer_adverts.unwrap_or(g.down_timer_adverts);
    if dta != VRRP_DOWN_TIMER_ADVERTS && strict {
        inst_err(
            cx,
            i,
            "down_timer_adverts",
            format!("({name}) down_timer_adverts is incompatible with strict mode - resetting"),
        );
    }
    let accept = i.accept.unwrap_or(priority == VRRP_PRIO_OWNER || !strict);
    if accept && priority != VRRP_PRIO_OWNER && strict && version == 2 {
        inst_err(
            cx,
            i,
            "accept",
            format!("({name}) warning - accept mode for VRRP version 2 does not comply with RFC3768 - resetting"),
        );
    }
    if unicast && i.mcast_dst_ip.is_some() {
        inst_err(
            cx,
            i,
            "mcast_dst_ip",
            format!("({name}) multicast destination specified with unicast - ignoring"),
        );
    }
    if strict {
        if i.garp_lower_prio_repeat.is_some_and(|r| r != 0) {
            inst_err(
                cx,
                i,
                "garp_lower_prio_repeat",
                format!("({name}) Strict mode requires no repeat garps. resetting"),
            );
        }
        if i.garp_lower_prio_delay.is_some_and(|d| d.micros != 0) {
            inst_err(
                cx,
                i,
                "garp_lower_prio_delay",
                format!("({name}) Strict mode requires no repeat garp delay. resetting"),
            );
        }
        if i.lower_prio_no_advert == Some(false) {
            inst_err(
                cx,
                i,
                "lower_prio_no_advert",
                format!("({name}) Strict mode requires no lower priority advert. resetting"),
            );
        }
        if i.higher_prio_send_advert == Some(true) {
            inst_err(
                cx,
                i,
                "higher_prio_send_advert",
                format!(
                    "({name}) strict mode requires higher_prio_send_advert to be clear. resetting"
                ),
            );
        }
    }
    if let Some(t) = i.advert_int {
        let us = t.micros;
        if version == 2 {
            if us % 1_000_000 != 0 {
                inst_err(
                    cx,
                    i,
                    "advert_int",
                    format!(
                        "({name}) VRRPv2 advertisement interval {:.6}s must be an integer. rounding",
                        t.as_secs_f64()
                    ),
                );
            }
        } else if us >= 4096 * 10_000 {
            inst_err(
                cx,
                i,
                "advert_int",
                format!(
                    "({name}) VRRPv3 advertisement interval {:.2}s is out of range. Must be less than \
                     40.96s. Setting to 40.95s",
                    t.as_secs_f64()
                ),
            );
        } else if us % 10_000 != 0 {
            inst_err(
                cx,
                i,
                "advert_int",
                format!(
                    "({name}) VRRPv3 advertisement interval {:.6}s must be in units of 10ms - rounding",
                    t.as_secs_f64()
                ),
            );
        }
    }
    if dta == 1
        && cfg
            .interface_up_down_delays
            .iter()
            .any(|d| Some(d.interface.as_str()) == i.interface.as_deref())
    {
        inst_warn(
            cx,
            i,
            "down_timer_adverts",
            format!("{name}: cannot use debounce timers with down_timer_adverts = 1 - resetting"),
        );
    }
    let vmac = i.use_vmac.is_some();
    if vmac && strict && i.vmac_xmit_base {
        inst_err(
            cx,
            i,
            "vmac_xmit_base",
            format!("({name}) xmit_base is incompatible with strict mode - resetting"),
        );
    }
    if i.promote_secondaries && (vmac || i.use_ipvlan.is_some()) {
        inst_err(
            cx,
            i,
            "promote_secondaries",
            format!("({name}) promote_secondaries is automatically set for vmacs - ignoring"),
        );
    }
    if let Some(v) = &i.use_ipvlan {
        match &v.address {
            None if family == Family::Inet => inst_err(
                cx,
                i,
                "use_ipvlan",
                format!(
                    "({name}) IPv4 ipvlan requires a source ip address to be configured. setting instance to fault state"
                ),
            ),
            Some(a) if Family::of(&a.addr) != family => inst_err(
                cx,
                i,
                "use_ipvlan",
                format!(
                    "({name}) IPv4 ipvlan address family does not match instance. setting instance to fault state"
                ),
            ),
            _ => {}
        }
    }
    for (k, t) in i.track_interface.iter().enumerate() {
        if Some(t.name.as_str()) == i.interface.as_deref() {
            report(
                cx,
                Severity::Error,
                &[
                    ikey(i, &format!("track_interface.{k}")),
                    ikey(i, "track_interface"),
                ],
                "track_interface",
                format!(
                    "({name}) Ignoring track_interface {} since own interface",
                    t.name
                ),
            );
        }
    }
    if i.vmac_xmit_base && !vmac {
        inst_err(
            cx,
            i,
            "vmac_xmit_base",
            format!("({name}) vmac_xmit_base is only valid with a vmac"),
        );
    }
    // Weighted trackers of sync group members (unless the group keeps
    // weights) and of the address owner are ignored.
    let sync_no_weight = group.is_some_and(|sg| !sg.sync_group_tracking_weight);
    if sync_no_weight || priority == VRRP_PRIO_OWNER {
        let why = |addr_owner_word: &'static str| {
            if sync_no_weight {
                "SYNC group"
            } else {
                addr_owner_word
            }
        };
        for (k, t) in i.track_interface.iter().enumerate() {
            if t.weight != 0 && Some(t.name.as_str()) != i.interface.as_deref() {
                report(
                    cx,
                    Severity::Error,
                    &[
                        ikey(i, &format!("track_interface.{k}")),
                        ikey(i, "track_interface"),
                    ],
                    "track_interface",
                    format!(
                        "({name}) ignoring {} tracked interface {}due to {}",
                        t.name,
                        if sync_no_weight { "weight " } else { "" },
                        why("address owner")
                    ),
                );
            }
        }
        for (k, t) in i.track_script.iter().enumerate() {
            let own = cfg
                .vrrp_script
                .iter()
                .find(|s| s.name == t.name)
                .map(|s| s.weight);
            if ref_weight(t, own) != 0 {
                report(
                    cx,
                    Severity::Error,
                    &[
                        ikey(i, &format!("track_script.{k}")),
                        ikey(i, "track_script"),
                    ],
                    "track_script",
                    format!(
                        "({name}) ignoring tracked script {} with weights due to {}",
                        t.name,
                        why("address_owner")
                    ),
                );
            }
        }
        for (k, t) in i.track_file.iter().enumerate() {
            let own = cfg
                .track_file
                .iter()
                .find(|s| s.name == t.name)
                .map(|s| s.weight);
            let w = ref_weight(t, own);
            let keys = [ikey(i, &format!("track_file.{k}")), ikey(i, "track_file")];
            if w == 1 {
                report(
                    cx,
                    Severity::Error,
                    &keys,
                    "track_file",
                    format!(
                        "({name}) ignoring weight from tracked file {} due to {}. specify weight 0",
                        t.name,
                        why("address_owner")
                    ),
                );
            } else if w != 0 {
                report(
                    cx,
                    Severity::Error,
                    &keys,
                    "track_file",
                    format!(
                        "({name}) ignoring tracked file {} with weight {w} due to {}",
                        t.name,
                        why("address_owner")
                    ),
                );
            }
        }
        for (k, t) in i.track_bfd.iter().enumerate() {
            let own = cfg
                .bfd_instance
                .iter()
                .find(|s| s.name == t.name)
                .map(|s| s.weight);
            let w = ref_weight(t, own);
            if w != 0 {
                report(
                    cx,
                    Severity::Error,
                    &[ikey(i, &format!("track_bfd.{k}")), ikey(i, "track_bfd")],
                    "track_bfd",
                    format!(
                        "({name}) ignoring tracked bfd {} with weight {w} due to {}",
                        t.name,
                        why("address_owner")
                    ),
                );
            }
        }
    }
    true
}

/// keepalived's `check_vrid_conflicts`.  Returns true when there is one (it
/// then stops).
fn vrid_conflicts(cfg: &Config, g: &GlobalView, cx: &mut Cx) -> bool {
    let mut conflict = false;
    let insts = &cfg.vrrp_instance;
    for (a_idx, a) in insts.iter().enumerate() {
        for b in &insts[a_idx + 1..] {
            let (Some(va), Some(vb)) = (a.virtual_router_id, b.virtual_router_id) else {
                continue;
            };
            if va != vb || a.family() != b.family() {
                continue;
            }
            let (ua, ub) = (a.is_unicast(), b.is_unicast());
            if ua != ub {
                continue;
            }
            if ua {
                if a.interface.is_some() && b.interface.is_some() && a.interface != b.interface {
                    continue;
                }
                // The local addresses: configured ones, or (same interface)
                // the interface's own address, which is then the same.
                match (a.configured_src_ip(), b.configured_src_ip()) {
                    (Some(x), Some(y)) if x != y => continue,
                    (Some(_), Some(_)) => {}
                    (None, None) if a.interface == b.interface && a.interface.is_some() => {}
                    _ => continue,
                }
                let pa = a.unicast_peer.as_deref().unwrap_or(&[]);
                let pb = b.unicast_peer.as_deref().unwrap_or(&[]);
                if !pa.iter().any(|p| pb.iter().any(|q| q.address == p.address)) {
                    continue;
                }
                inst_err(
                    cx,
                    a,
                    "virtual_router_id",
                    format!(
                        "({}) duplicate VRID conflict with {} VRID {va}",
                        a.name, b.name
                    ),
                );
                conflict = true;
                continue;
            }
            if a.interface != b.interface {
                continue;
            }
            let default_group = match a.family() {
                Family::Inet => g.mcast_group4,
                Family::Inet6 => g.mcast_group6,
            };
            if a.mcast_dst_ip.unwrap_or(default_group) != b.mcast_dst_ip.unwrap_or(default_group) {
                continue;
            }
            report(
                cx,
                Severity::Error,
                &[ikey(b, "virtual_router_id"), ikey(b, "")],
                "virtual_router_id",
                format!(
                    "{} and {} both use VRID {va} with {} on interface {}",
                    a.name,
                    b.name,
                    a.family().ip_name(),
                    a.interface.as_deref().unwrap_or("")
                ),
            );
            conflict = true;
        }
    }
    conflict
}

/// keepalived's `static_track_group_init` (it only logs these).
fn static_track_groups(cfg: &Config, cx: &mut Cx) {
    for tg in &cfg.track_group {
        let key = format!("track_group.{}", tg.name);
        let found = tg
            .group
            .iter()
            .enumerate()
            .filter(|(k, m)| {
                let exists = cfg.vrrp_instance.iter().any(|i| &&i.name == m);
                if !exists {
                    report(
                        cx,
                        Severity::Warning,
                        &[format!("{key}.group.{k}"), key.clone()],
                        "group",
                        format!("vrrp instance {m} specified in track group {} doesn't exist - ignoring", tg.name),
                    );
                }
                exists
            })
            .count();
        if tg.group.is_empty() || found == 0 {
            let why = if tg.group.is_empty() {
                format!("Static track group {} has no virtual router(s)", tg.name)
            } else {
                format!("Static track group {} has no VRRP instance(s)", tg.name)
            };
            report(
                cx,
                Severity::Warning,
                std::slice::from_ref(&key),
                "track_group",
                format!(
                    "{why}; Static track group {} init fails - removing",
                    tg.name
                ),
            );
        }
    }
}

/// keepalived's `sync_group_tracking_init`: a group with an address owner
/// among its members cannot have weighted trackers, and a member should not
/// track the group's interfaces (or files) itself.
fn sync_group_tracking(cfg: &Config, membership: &HashMap<&str, &SyncGroup>, cx: &mut Cx) {
    for sg in &cfg.vrrp_sync_group {
        let members: Vec<&VrrpInstance> = cfg
            .vrrp_instance
            .iter()
            .filter(|i| {
                membership
                    .get(i.name.as_str())
                    .is_some_and(|g| std::ptr::eq(*g, sg))
            })
            .collect();
        if members.is_empty() {
            continue;
        }
        let owner = members
            .iter()
            .any(|i| i.effective_priority() == VRRP_PRIO_OWNER);
        let gname = &sg.name;
        let key = |what: &str, k: usize| {
            [
                format!("vrrp_sync_group.{gname}.{what}.{k}"),
                format!("vrrp_sync_group.{gname}.{what}"),
                format!("vrrp_sync_group.{gname}"),
            ]
        };
        let weighted = |cx: &mut Cx, what: &str, k: usize, name: &str, w: i32, tail: &str| {
            if owner && w != 0 {
                report(
                    cx,
                    Severity::Error,
                    &key(what, k),
                    what,
                    format!(
                        "({gname}) Cannot have weighted {} '{name}' with member having priority 255 - {tail}",
                        what.replace('_', " ")
                    ),
                );
            }
        };
        for (k, t) in sg.track_script.iter().enumerate() {
            let own = cfg
                .vrrp_script
                .iter()
                .find(|s| s.name == t.name)
                .map(|s| s.weight);
            weighted(
                cx,
                "track_script",
                k,
                &t.name,
                ref_weight(t, own),
                "clearing weight",
            );
        }
        for (k, t) in sg.track_file.iter().enumerate() {
            let own = cfg
                .track_file
                .iter()
                .find(|s| s.name == t.name)
                .map(|s| s.weight);
            weighted(
                cx,
                "track_file",
                k,
                &t.name,
                ref_weight(t, own),
                "setting weight 0",
            );
            for m in &members {
                if m.track_file.iter().any(|f| f.name == t.name) {
                    report(
                        cx,
                        Severity::Warning,
                        &key("track_file", k),
                        "track_file",
                        format!(
                            "({}) track_file {} is configured on VRRP instance and sync group. Remove vrrp instance config",
                            m.name, t.name
                        ),
                    );
                }
            }
        }
        for (k, t) in sg.track_process.iter().enumerate() {
            let own = cfg
                .vrrp_track_process
                .iter()
                .find(|s| s.name == t.name)
                .map(|s| s.weight);
            weighted(
                cx,
                "track_process",
                k,
                &t.name,
                ref_weight(t, own),
                "setting weight 0",
            );
        }
        for (k, t) in sg.track_bfd.iter().enumerate() {
            let own = cfg
                .bfd_instance
                .iter()
                .find(|s| s.name == t.name)
                .map(|s| s.weight);
            weighted(
                cx,
                "track_bfd",
                k,
                &t.name,
                ref_weight(t, own),
                "setting weight 0",
            );
        }
        for (k, t) in sg.track_interface.iter().enumerate() {
            weighted(
                cx,
                "track_interface",
                k,
                &t.name,
                t.weight,
                "clearing weight",
            );
            for m in &members {
                let own = m.interface.as_deref() == Some(t.name.as_str());
                let tracked = m.track_interface.iter().any(|x| x.name == t.name && !own);
                if (own && !m.dont_track_primary) || tracked {
                    report(
                        cx,
                        Severity::Error,
                        &key("track_interface", k),
                        "track_interface",
                        format!(
                            "({}) track_interface {} is configured on VRRP instance and sync group. Remove vrrp \
                             instance or sync group config",
                            m.name, t.name
                        ),
                    );
                }
            }
        }
    }
}
