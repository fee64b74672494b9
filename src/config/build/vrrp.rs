//! VRRP blocks: vrrp_script, track_file, vrrp_track_process, vrrp_sync_group,
//! vrrp_instance, static_*, track_group, garp_group, linkbeat_interfaces,
//! interface_up_down_delays, bfd_instance.
//!
//! Each handler mirrors keepalived 2.2.7's (vrrp_parser.c and the allocators
//! it calls): the same accepted words, ranges, defaults, and the same fate for
//! bad input (value ignored, default used, item or block dropped), reported at
//! file:line:column.  What keepalived checks only once the whole configuration
//! is read (sync group members, VRID conflicts, strict mode, ...) is in
//! [`validate`], which also runs on a model loaded from TOML.
//!
//! Severity: keepalived's `report_config_error` is an [`Error`](crate::config::diag::Severity::Error)
//! here (including its CONFIG_WARNING / CONFIG_DEPRECATED levels, since
//! `keepalived -t` exits non-zero for those too), a missing parameter that
//! makes keepalived exit and CONFIG_FATAL are fatal, and what keepalived only
//! logs is a warning.

mod addr;
mod check;
mod misc;
mod trackers;
mod util;

pub use misc::{
    apply_garp_group, apply_interface_up_down_delays, apply_linkbeat_interfaces,
    apply_static_ipaddress, apply_static_routes, apply_static_rules, apply_track_group,
};
pub use trackers::{apply_bfd_instance, apply_track_file, apply_track_process, apply_vrrp_script};

use super::{collect, end_of_block, Cx, Keyword, KeywordInfo, Kind::*, Support::*};
use crate::config::ast::Node;
use crate::config::diag::{Location, Severity};
use crate::config::model::{
    AuthType, Authentication, Config, Family, GarpExtraIf, InitialState, IpvlanMode, NotifyScript,
    OldUnicastChecksum, ScriptUser, SyncGroup, TrackedRef, UnicastPeer, UseIpvlan, VrrpInstance,
};
use crate::config::values::Timer;
use trackers::{opt_bool, parse_tracked_interface, parse_tracked_ref, TrackKind};
use util::{interface_exists, read_decimal, read_int, read_unsigned, Line, NumError, IFNAMSIZ};

/// A note for messages about values keepalived's lenient readers still use
/// outside `-t` (and so do we).
pub(crate) fn lenient_note(e: &NumError) -> String {
    match e.lenient {
        Some(v) => format!(" (keepalived outside -t, and keepalived-rs, use {v})"),
        None => String::new(),
    }
}

/// Remember where word `k` of a line is, under `key`.
pub(crate) fn remember_line(cx: &mut Cx, key: &str, line: &Line, k: usize) {
    cx.spans.insert(key.to_owned(), line.loc(k));
}

/// Remember where each keyword of a block is (`PREFIX.KEYWORD`), for the
/// whole-config checks.  The last occurrence counts, except for notify
/// scripts, where keepalived keeps the first and ignores the others.
fn remember_children(cx: &mut Cx, prefix: &str, node: &Node) {
    for child in node.children() {
        if child.name().is_empty() {
            continue;
        }
        let key = format!("{prefix}.{}", child.name());
        if !(child.name().starts_with("notify") && cx.spans.contains_key(&key)) {
            cx.remember(key, child);
        }
    }
}

/// A notify script line: `KEYWORD COMMAND [USER [GROUP]]`, re-split honouring
/// quotes and escapes as keepalived does.  `None` when keepalived would not set
/// one (it only logs that).
fn notify_script(n: &Node, cx: &mut Cx) -> Option<NotifyScript> {
    let line = Line::of(n);
    let words = match crate::config::ast::split_command(&n.raw_args()) {
        Ok(w) => w,
        Err(e) => {
            line.error(cx, 1, e);
            return None;
        }
    };
    // keepalived reads word 1 to say it cannot parse the script: with no
    // word at all that is its fatal "missing parameter".
    line.slot(cx, 1)?;
    let Some(command) = words.first().filter(|c| !c.is_empty()) else {
        line.warn(cx, 1, "Unable to parse notify script - ignoring");
        return None;
    };
    let user = words.get(1).map(|u| ScriptUser {
        user: u.clone(),
        group: words.get(2).cloned(),
    });
    Some(NotifyScript {
        command: command.clone(),
        user,
    })
}

/// keepalived's list-block preamble: arguments after a list keyword are
/// reported (the block is still read).
fn list_args(line: &Line, cx: &mut Cx) {
    if line.len() > 1 {
        line.error(
            cx,
            1,
            format!(
                "Block {} has extra parameters {} ...",
                line.get(0).unwrap_or(""),
                line.get(1).unwrap_or("")
            ),
        );
    }
}

/// The words of all items of a value block (`group { A B\n C }`).
fn value_block_words(node: &Node) -> Vec<String> {
    let mut out = Vec::new();
    for item in node.children() {
        out.push(item.keyword.text().to_owned());
        out.extend(item.args.iter().map(|w| w.text().to_owned()));
    }
    out
}

// ===== vrrp_instance =====

/// Parse state of one vrrp_instance: the model, plus what keepalived tracks
/// while reading it and what it can see of the configuration read before.
pub(crate) struct InstanceBuild {
    pub inst: VrrpInstance,
    /// keepalived's running idea of the address family.
    family: Option<Family>,
    /// The version keepalived has fixed so far (`version`, or 3 by `native_ipv6`).
    version_fixed: Option<u8>,
    known: Known,
    /// (instance, interface) names of VMAC/ipvlan interfaces already taken.
    vmac_names: Vec<(String, String)>,
    /// An earlier instance's lvs_sync_daemon_interface.
    lvs_syncd: Option<String>,
    notify_deleted_seen: bool,
}

impl InstanceBuild {
    fn name(&self) -> String {
        self.inst.name.clone()
    }

    /// Merge an address family; `false` (nothing changed) on a conflict.
    fn join_family(&mut self, f: Family) -> bool {
        match self.family {
            None => {
                self.family = Some(f);
                true
            }
            Some(c) => c == f,
        }
    }
}

pub fn apply_vrrp_instance(cfg: &mut Config, node: &Node, cx: &mut Cx) {
    let line = Line::of(node);
    if line.len() != 2 {
        line.error(cx, 0, "vrrp_instance must have a name - skipping");
        return;
    }
    let name = line.get(1).unwrap_or("");
    if cfg.vrrp_instance.iter().any(|i| i.name == name) {
        line.error(
            cx,
            1,
            format!("vrrp instance {name} already defined - skipping"),
        );
        return;
    }
    cx.remember(format!("vrrp_instance.{name}"), node);
    remember_children(cx, &format!("vrrp_instance.{name}"), node);
    let mut b = InstanceBuild {
        inst: VrrpInstance {
            name: name.to_owned(),
            ..Default::default()
        },
        family: None,
        version_fixed: None,
        known: Known::of(cfg),
        vmac_names: cfg
            .vrrp_instance
            .iter()
            .filter_map(|i| {
                let n = i
                    .use_vmac
                    .as_ref()
                    .and_then(|v| v.ifname.clone())
                    .or_else(|| i.use_ipvlan.as_ref().and_then(|v| v.ifname.clone()))?;
                Some((i.name.clone(), n))
            })
            .collect(),
        lvs_syncd: cfg
            .vrrp_instance
            .iter()
            .find_map(|i| i.lvs_sync_daemon_interface.clone()),
        notify_deleted_seen: false,
    };
    let end = cx.apply_block(&mut b, "vrrp_instance", node, VRRP_INSTANCE);
    instance_end(&mut b, end_of_block(node, end), cx);
    cfg.vrrp_instance.push(b.inst);
}

/// keepalived's checks when it reads the instance's `}` (`end`, where it
/// names them).
fn instance_end(b: &mut InstanceBuild, end: Location, cx: &mut Cx) {
    let name = b.name();
    // keepalived has no interface for the instance when the named one does
    // not exist on this host (unless interfaces may appear later).
    let missing_interface = cx.opts.check_host
        && !cx.global.dynamic_interfaces
        && b.inst
            .interface
            .as_deref()
            .is_some_and(|n| !interface_exists(n));
    let i = &mut b.inst;
    if i.unicast_configured() && (i.use_vmac.is_some() || i.use_ipvlan.is_some()) {
        if i.interface.is_none() {
            cx.report_loc(
                Severity::Error,
                end.clone(),
                "vrrp_instance",
                format!("({name}): Cannot use VMAC/ipvlan with unicast and no interface - clearing use_vmac"),
            );
            i.use_vmac = None;
            i.use_ipvlan = None;
        } else if missing_interface {
            // A host without the interface cannot run the instance at all
            // (see the interface checks).  keepalived clears use_vmac here;
            // the model keeps what the file means on a host that has the
            // interface (the check below), so it does not depend on this one.
            cx.report_loc(
                Severity::Error,
                end.clone(),
                "vrrp_instance",
                format!(
                    "({name}): Cannot use VMAC/ipvlan with unicast and no interface (interface {} \
                     does not exist here; keepalived clears use_vmac)",
                    i.interface.as_deref().unwrap_or("")
                ),
            );
        }
        if i.interface.is_some() && !i.vmac_xmit_base {
            cx.report_loc(
                Severity::Error,
                end.clone(),
                "vrrp_instance",
                format!("({name}) unicast with use_vmac requires vmac_xmit_base - setting"),
            );
            i.vmac_xmit_base = true;
        }
    }
    if i.unicast_peer.as_ref().is_none_or(|p| p.is_empty()) && i.unicast_ttl.is_some() {
        cx.report_loc(
            Severity::Error,
            end,
            "vrrp_instance",
            format!("({name}): Cannot use unicast_ttl without unicast peers - resetting"),
        );
        i.unicast_ttl = None;
    }
    if i.interface.is_none() {
        i.linkbeat_use_polling = false;
    }
}

/// A keyword taking an optional true/false, default true.
fn inst_bool(b: &mut InstanceBuild, n: &Node, cx: &mut Cx, msg: &str) -> Option<bool> {
    let line = Line::of(n);
    match opt_bool(&line) {
        Ok(v) => Some(v),
        Err(()) => {
            line.error(
                cx,
                1,
                format!("({}) {msg}", b.inst.name).replace("%s", line.get(1).unwrap_or("")),
            );
            None
        }
    }
}

/// `mcast_src_ip` / `unicast_src_ip`.
fn src_ip(b: &mut InstanceBuild, n: &Node, cx: &mut Cx, unicast: bool) {
    let line = Line::of(n);
    let Some(v) = line.slot(cx, 1) else { return };
    let name = b.name();
    let Some(addr) = addr::parse_sockaddr(v) else {
        line.error(
            cx,
            1,
            format!("Configuration error: VRRP instance[{name}] malformed src address[{v}]. Skipping..."),
        );
        return;
    };
    if !b.join_family(Family::of(&addr)) {
        line.error(
            cx,
            1,
            format!(
                "Configuration error: VRRP instance[{name}] and src address[{v}] MUST be of the same \
                 family !!! Skipping..."
            ),
        );
        // keepalived forgets any source address given before, too.
        b.inst.mcast_src_ip = None;
        if !unicast {
            b.inst.unicast_src_ip = None;
        }
        return;
    }
    // Both keywords set the one source address; the last wins.  Once given,
    // unicast_src_ip keeps the instance "unicast configured".
    if unicast || b.inst.unicast_src_ip.is_some() {
        b.inst.unicast_src_ip = Some(addr);
        b.inst.mcast_src_ip = None;
    } else {
        b.inst.mcast_src_ip = Some(addr);
    }
}

/// `notify_*` (not `notify_deleted`).
fn inst_notify(b: &mut InstanceBuild, n: &Node, cx: &mut Cx) {
    let line = Line::of(n);
    let kw = n.name();
    let name = b.name();
    let slot = match kw {
        "notify_master" => &mut b.inst.notify_master,
        "notify_backup" => &mut b.inst.notify_backup,
        "notify_fault" => &mut b.inst.notify_fault,
        "notify_stop" => &mut b.inst.notify_stop,
        "notify_master_rx_lower_pri" => &mut b.inst.notify_master_rx_lower_pri,
        _ => &mut b.inst.notify,
    };
    if slot.is_some() {
        let what = if kw == "notify" { "notify" } else { kw };
        let ignored = line.slot(cx, 1).unwrap_or("");
        line.error(
            cx,
            1,
            format!("({name}) {what} script already specified - ignoring {ignored}"),
        );
        return;
    }
    *slot = notify_script(n, cx);
}

/// keepalived's `dev_name_valid`.
fn dev_name_valid(name: &str) -> bool {
    !name.is_empty()
        && name.len() < IFNAMSIZ
        && name != "."
        && name != ".."
        && !name.contains(['/', ':'])
        && !name.contains(char::is_whitespace)
}

/// A MAC address as keepalived accepts it for use_vmac: 6 octets, or 5 with
/// the VRID as the last.
fn vmac_mac_ok(s: &str) -> Result<(), &'static str> {
    if !s.bytes().all(|c| c.is_ascii_hexdigit() || c == b':') {
        return Err("VMAC invalid MAC address");
    }
    let parts: Vec<&str> = s.trim_end_matches(':').split(':').collect();
    if !(parts.len() == 5 || parts.len() == 6) || parts.iter().any(|p| p.is_empty() || p.len() > 2)
    {
        return Err("VMAC invalid MAC address - ignored");
    }
    let first =
        u8::from_str_radix(parts[0], 16).map_err(|_| "VMAC invalid MAC address - ignored")?;
    if first & 1 == 1 {
        return Err("VMAC MAC address is multicast - ignoring");
    }
    let bytes: Vec<u8> = parts
        .iter()
        .filter_map(|p| u8::from_str_radix(p, 16).ok())
        .collect();
    if bytes.len() >= 5 && bytes[..4] == [0, 0, 0x5e, 0] && (bytes[4] == 1 || bytes[4] == 2) {
        return Err("VMAC MAC address not allowed to be RFC5798 address - ignoring");
    }
    Ok(())
}

/// Read `NAME`'s integer-seconds GARP keyword into `Timer`.
fn garp_secs(line: &Line, cx: &mut Cx, max: u64, msg: &str) -> Option<Timer> {
    let v = line.slot(cx, 1)?;
    match read_unsigned(v, 0, max, true) {
        Ok(s) => Some(Timer::from_secs(s)),
        Err(e) => {
            line.error(
                cx,
                1,
                format!("{}; {}{}", e.msg, msg.replace("%s", v), lenient_note(&e)),
            );
            e.lenient.map(|s| Timer::from_secs(s as u64))
        }
    }
}

/// `garp_master_repeat` / `garp_master_refresh_repeat`.
fn garp_repeat(b: &mut InstanceBuild, n: &Node, cx: &mut Cx) -> Option<u32> {
    let line = Line::of(n);
    let kw = n.name();
    let name = b.name();
    let v = line.slot(cx, 1)?;
    let r = match read_unsigned(v, 0, u64::from(u32::MAX), true) {
        Ok(r) => r,
        Err(e) => {
            line.error(
                cx,
                1,
                format!(
                    "{}; ({name}): {kw} '{v}' invalid - ignoring{}",
                    e.msg,
                    lenient_note(&e)
                ),
            );
            e.lenient? as u64
        }
    };
    if r == 0 {
        line.error(
            cx,
            1,
            format!("({name}): {kw} must be greater than 0, setting to 1"),
        );
        return Some(1);
    }
    Some(r as u32)
}

/// The names of the tracked objects defined before a block (keepalived
/// resolves `track_*` references while reading).
pub(crate) struct Known {
    scripts: Vec<String>,
    files: Vec<String>,
    processes: Vec<String>,
}

impl Known {
    fn of(cfg: &Config) -> Known {
        Known {
            scripts: cfg.vrrp_script.iter().map(|s| s.name.clone()).collect(),
            files: cfg.track_file.iter().map(|s| s.name.clone()).collect(),
            processes: cfg
                .vrrp_track_process
                .iter()
                .map(|s| s.name.clone())
                .collect(),
        }
    }

    fn has(&self, cx: &Cx, kind: TrackKind, name: &str) -> bool {
        match kind {
            TrackKind::Script => self.scripts.iter().any(|s| s == name),
            TrackKind::File => self.files.iter().any(|s| s == name),
            TrackKind::Process => self.processes.iter().any(|s| s == name),
            // Every named bfd_instance, as keepalived's VRRP process sees them.
            TrackKind::Bfd => cx.spans.contains_key(&format!("bfd_instance.{name}")),
        }
    }
}

/// A `track_script`/`track_file`/`track_process`/`track_bfd` list of the
/// instance or sync group `owner` (`block` names its kind for the source map).
fn track_ref_list(
    cx: &mut Cx,
    n: &Node,
    block: &str,
    owner: &str,
    kind: TrackKind,
    known: &Known,
    list: &mut Vec<TrackedRef>,
) {
    list_args(&Line::of(n), cx);
    for item in n.children() {
        let il = Line::item(item, n.name());
        let Some(name) = il.get(0) else { continue };
        let found = known.has(cx, kind, name);
        if let Some(t) = parse_tracked_ref(cx, &il, owner, kind, found, list) {
            let key = format!("{block}.{owner}.{}.{}", n.name(), list.len());
            list.push(t);
            remember_line(cx, &key, &il, 0);
        }
    }
}

/// A `track_*` list of an instance.
fn inst_track_list(b: &mut InstanceBuild, n: &Node, cx: &mut Cx, kind: TrackKind) {
    let list = match kind {
        TrackKind::Script => &mut b.inst.track_script,
        TrackKind::File => &mut b.inst.track_file,
        TrackKind::Process => &mut b.inst.track_process,
        TrackKind::Bfd => &mut b.inst.track_bfd,
    };
    track_ref_list(cx, n, "vrrp_instance", &b.inst.name, kind, &b.known, list);
}

/// `virtual_ipaddress` / `virtual_ipaddress_excluded`.
fn inst_vips(b: &mut InstanceBuild, n: &Node, cx: &mut Cx, excluded: bool) {
    let line = Line::of(n);
    list_args(&line, cx);
    let name = b.name();
    for item in n.children() {
        let il = Line::item(item, n.name());
        let Some(a) = addr::parse_ipaddress_item(cx, &il, false, &[]) else {
            continue;
        };
        if !excluded && !b.join_family(a.family()) {
            il.error(
                cx,
                0,
                format!(
                    "({name}): address family must match VRRP instance [{}] - ignoring",
                    il.get(0).unwrap_or("")
                ),
            );
            continue;
        }
        let list = if excluded {
            &mut b.inst.virtual_ipaddress_excluded
        } else {
            &mut b.inst.virtual_ipaddress
        };
        let key = format!("vrrp_instance.{name}.{}.{}", n.name(), list.len());
        list.push(a);
        remember_line(cx, &key, &il, 0);
    }
}

/// Hand out keepalived's automatic rule preferences (16384 downwards, per
/// family, across the whole configuration in reading order).  The count so
/// far lives in the source map so that it survives between blocks.
pub(crate) fn next_rule_pref(cx: &mut Cx, family: Family, line: &Line) -> u32 {
    let fam = match family {
        Family::Inet => "inet",
        Family::Inet6 => "inet6",
    };
    let mut n = 0u32;
    while cx
        .spans
        .contains_key(&format!("rule-auto-preference.{fam}.{n}"))
    {
        n += 1;
    }
    remember_line(cx, &format!("rule-auto-preference.{fam}.{n}"), line, 0);
    16384u32.saturating_sub(n)
}

pub(crate) static VRRP_INSTANCE: &[Keyword<InstanceBuild>] = &[
    Keyword::new("use_vmac", Leaf, Rejected, |b, n, cx| {
        let line = Line::of(n);
        let name = b.name();
        let mut v = b.inst.use_vmac.take().unwrap_or_default();
        for k in 1..line.len().min(3) {
            let w = line.get(k).unwrap_or("");
            if w.contains(':') {
                if v.mac.is_some() {
                    line.error(cx, k, "VMAC interface address already specified");
                    continue;
                }
                match vmac_mac_ok(w) {
                    Ok(()) => v.mac = Some(w.to_owned()),
                    Err(m) => line.error(cx, k, format!("{m} {w}")),
                }
            } else {
                if v.ifname.is_some() {
                    line.error(cx, k, "VMAC interface name already specified");
                    continue;
                }
                if !dev_name_valid(w) {
                    line.error(
                        cx,
                        k,
                        format!(
                            "VMAC interface name '{w}' too long or invalid characters - ignoring"
                        ),
                    );
                    continue;
                }
                if let Some((other, _)) = b.vmac_names.iter().find(|(_, n)| n == w) {
                    line.error(
                        cx,
                        k,
                        format!(
                            "({name}) VRRP instance {other} is already using {w} - ignoring name"
                        ),
                    );
                    continue;
                }
                v.ifname = Some(w.to_owned());
            }
        }
        b.inst.use_vmac = Some(v);
    }),
    Keyword::new("use_vmac_addr", Leaf, Rejected, |b, _n, _cx| {
        b.inst.use_vmac_addr = true;
    }),
    Keyword::new("vmac_xmit_base", Leaf, Rejected, |b, _n, _cx| {
        b.inst.vmac_xmit_base = true;
    }),
    Keyword::new("use_ipvlan", Leaf, Rejected, |b, n, cx| {
        let line = Line::of(n);
        let name = b.name();
        if b.inst.use_ipvlan.is_some() {
            line.error(cx, 0, format!("({name}) use_ipvlan already specified"));
            return;
        }
        let mut v = UseIpvlan::default();
        for k in 1..line.len() {
            let w = line.get(k).unwrap_or("");
            let mode = match w {
                "bridge" => Some(IpvlanMode::Bridge),
                "private" => Some(IpvlanMode::Private),
                "vepa" => Some(IpvlanMode::Vepa),
                _ => None,
            };
            if let Some(mode) = mode {
                if v.mode.is_some() {
                    line.error(
                        cx,
                        k,
                        format!("({name}) ipvlan type already specified - ignoring '{w}'"),
                    );
                } else {
                    v.mode = Some(mode);
                }
                continue;
            }
            if w.split('/').next().and_then(addr::parse_sockaddr).is_some() {
                let Some(a) = addr::parse_ip(cx, &line, k, true) else {
                    continue;
                };
                if v.address.is_some() {
                    line.error(
                        cx,
                        k,
                        format!("({name}) ipvlan address already specified - ignoring '{w}'"),
                    );
                    continue;
                }
                if !b.join_family(Family::of(&a.addr)) {
                    line.error(
                        cx,
                        k,
                        format!("({name}) ipvlan address[{w}] MUST match vrrp instance family !!! Skipping..."),
                    );
                    continue;
                }
                if b.inst.configured_src_ip().is_none() {
                    b.inst.mcast_src_ip = Some(a.addr);
                }
                v.address = Some(a);
                continue;
            }
            if v.ifname.is_some() {
                line.error(
                    cx,
                    k,
                    format!("({name}) IPVLAN interface already specified - ignoring '{w}'"),
                );
                continue;
            }
            if w.len() >= IFNAMSIZ {
                line.error(
                    cx,
                    k,
                    format!("({name}) IPVLAN interface name '{w}' too long - ignoring"),
                );
                continue;
            }
            if let Some((other, _)) = b.vmac_names.iter().find(|(_, n)| n == w) {
                line.error(
                    cx,
                    k,
                    format!("({name}) VRRP instance {other} is already using {w} - ignoring name"),
                );
                continue;
            }
            v.ifname = Some(w.to_owned());
        }
        b.inst.use_ipvlan = Some(v);
    }),
    Keyword::new("unicast_peer", List, Full, |b, n, cx| {
        let line = Line::of(n);
        list_args(&line, cx);
        let name = b.name();
        let mut peers = b.inst.unicast_peer.take().unwrap_or_default();
        for item in n.children() {
            let il = Line::item(item, "unicast_peer");
            let w = il.get(0).unwrap_or("");
            let Some(address) = addr::parse_sockaddr(w) else {
                il.error(
                    cx,
                    0,
                    format!(
                        "Configuration error: VRRP instance[{name}] malformed unicast peer address[{w}]. Skipping..."
                    ),
                );
                continue;
            };
            if !b.join_family(Family::of(&address)) {
                il.error(
                    cx,
                    0,
                    format!(
                        "Configuration error: VRRP instance[{name}] and unicast peer address[{w}] MUST be \
                         of the same family !!! Skipping..."
                    ),
                );
                continue;
            }
            let mut p = UnicastPeer::new(address);
            let mut k = 1;
            while k < il.len() {
                let opt = il.get(k).unwrap_or("");
                let Some(val) = il.get(k + 1) else {
                    il.error(cx, k, format!("({name}) {opt} is missing a value"));
                    break;
                };
                match read_unsigned(val, 0, 255, false) {
                    Ok(ttl) => {
                        match opt {
                            "min_ttl" => p.min_ttl = ttl as u8,
                            "max_ttl" => p.max_ttl = ttl as u8,
                            _ => {
                                il.error(
                                    cx,
                                    k,
                                    format!("({name}) unknown unicast_peer option {opt}"),
                                );
                                break;
                            }
                        }
                        b.inst.check_unicast_src = true;
                    }
                    Err(e) => il.error(cx, k + 1, e.msg),
                }
                k += 2;
            }
            if p.min_ttl > p.max_ttl {
                il.error(
                    cx,
                    0,
                    format!(
                        "({name}) min_ttl {} > max_ttl {} - all packets will be discarded",
                        p.min_ttl, p.max_ttl
                    ),
                );
            }
            let key = format!("vrrp_instance.{name}.unicast_peer.{}", peers.len());
            peers.push(p);
            remember_line(cx, &key, &il, 0);
        }
        b.inst.unicast_peer = Some(peers);
    }),
    Keyword::new("unicast_fault_no_peer", Leaf, Full, |b, _n, _cx| {
        b.inst.unicast_fault_no_peer = true;
    }),
    Keyword::new("check_unicast_src", Leaf, Full, |b, _n, _cx| {
        b.inst.check_unicast_src = true;
    }),
    Keyword::new("old_unicast_checksum", Leaf, Full, |b, n, cx| {
        let line = Line::of(n);
        match line.get(1) {
            None => b.inst.old_unicast_checksum = Some(OldUnicastChecksum::Enabled),
            Some("never") => b.inst.old_unicast_checksum = Some(OldUnicastChecksum::Never),
            Some(other) => line.error(
                cx,
                1,
                format!(
                    "({}) Unknown old_unicast_chksum mode {other} - ignoring",
                    b.inst.name
                ),
            ),
        }
    }),
    Keyword::new("native_ipv6", Leaf, Full, |b, n, cx| {
        if b.family == Some(Family::Inet) {
            Line::of(n).error(
                cx,
                0,
                format!(
                    "({}) Cannot specify native_ipv6 with IPv4 addresses",
                    b.inst.name
                ),
            );
            return;
        }
        b.family = Some(Family::Inet6);
        b.version_fixed = Some(3);
        b.inst.native_ipv6 = true;
    }),
    Keyword::new("state", Leaf, Full, |b, n, cx| {
        let line = Line::of(n);
        let Some(s) = line.slot(cx, 1) else { return };
        let name = b.name();
        match s {
            "MASTER" => b.inst.state = Some(InitialState::Master),
            "BACKUP" => {
                if b.inst.state == Some(InitialState::Master) {
                    line.error(
                        cx,
                        1,
                        format!("({name}) state previously set as MASTER - ignoring BACKUP"),
                    );
                } else {
                    b.inst.state = Some(InitialState::Backup);
                }
            }
            _ => {
                line.error(
                    cx,
                    1,
                    format!("({name}) unknown state '{s}', defaulting to BACKUP"),
                );
                b.inst.state = Some(InitialState::Backup);
            }
        }
    }),
    Keyword::new("interface", Leaf, Full, |b, n, cx| {
        let line = Line::of(n);
        let Some(s) = line.slot(cx, 1) else { return };
        if s.len() >= IFNAMSIZ {
            line.error(cx, 1, format!("Interface name '{s}' too long - ignoring"));
            return;
        }
        b.inst.interface = Some(s.to_owned());
    }),
    Keyword::new("vrf", Leaf, Rejected, |b, n, cx| {
        let line = Line::of(n);
        let Some(s) = line.slot(cx, 1) else { return };
        let name = b.name();
        if s.len() >= IFNAMSIZ {
            line.error(
                cx,
                1,
                format!("({name}) VRF interface name '{s}' too long - ignoring"),
            );
            return;
        }
        if b.inst.interface.is_some() {
            line.error(
                cx,
                0,
                format!("({name}) Cannot specify VRF interface and interface - ignoring"),
            );
            return;
        }
        if let Some(v) = &b.inst.vrf {
            line.error(
                cx,
                1,
                format!("({name}) VRF interface already specified as '{v}' - ignoring"),
            );
            return;
        }
        b.inst.vrf = Some(s.to_owned());
    }),
    Keyword::new("dont_track_primary", Leaf, Full, |b, _n, _cx| {
        b.inst.dont_track_primary = true;
    }),
    Keyword::new("track_interface", List, Full, |b, n, cx| {
        let line = Line::of(n);
        list_args(&line, cx);
        let owner = b.name();
        for item in n.children() {
            let il = Line::item(item, "track_interface");
            if let Some(t) = parse_tracked_interface(cx, &il, &owner, &b.inst.track_interface) {
                let key = format!(
                    "vrrp_instance.{owner}.track_interface.{}",
                    b.inst.track_interface.len()
                );
                b.inst.track_interface.push(t);
                remember_line(cx, &key, &il, 0);
            }
        }
    }),
    Keyword::new("track_script", List, Full, |b, n, cx| {
        inst_track_list(b, n, cx, TrackKind::Script)
    }),
    Keyword::new("track_file", List, Full, |b, n, cx| {
        inst_track_list(b, n, cx, TrackKind::File)
    }),
    Keyword::new("track_process", List, Full, |b, n, cx| {
        inst_track_list(b, n, cx, TrackKind::Process)
    }),
    Keyword::new("track_bfd", List, Full, |b, n, cx| {
        inst_track_list(b, n, cx, TrackKind::Bfd)
    }),
    Keyword::new("mcast_src_ip", Leaf, Full, |b, n, cx| {
        src_ip(b, n, cx, false)
    }),
    Keyword::new("unicast_src_ip", Leaf, Full, |b, n, cx| {
        src_ip(b, n, cx, true)
    }),
    Keyword::new("mcast_dst_ip", Leaf, Full, |b, n, cx| {
        let line = Line::of(n);
        let Some(v) = line.slot(cx, 1) else { return };
        let name = b.name();
        let Some(a) = addr::parse_sockaddr(v) else {
            line.error(
                cx,
                1,
                format!("({name}) malformed mcast dest address {v}. Skipping..."),
            );
            return;
        };
        if !b.join_family(Family::of(&a)) {
            line.error(
                cx,
                1,
                format!(
                    "({name}) mcast dest address {v} MUST match VRRP instance family. Skipping..."
                ),
            );
            b.inst.mcast_dst_ip = None;
            return;
        }
        let ok = match a {
            std::net::IpAddr::V4(x) => x.is_multicast(),
            std::net::IpAddr::V6(x) => x.segments()[0] & 0xff0f == 0xff02,
        };
        if !ok {
            line.error(
                cx,
                1,
                format!(
                    "({name}) mcast_dst_ip {v} not{} multicast. Skipping...",
                    if a.is_ipv6() { " link-local" } else { "" }
                ),
            );
            b.inst.mcast_dst_ip = None;
            return;
        }
        b.inst.mcast_dst_ip = Some(a);
    }),
    Keyword::new("track_src_ip", Leaf, Full, |b, _n, _cx| {
        b.inst.track_src_ip = true;
    }),
    Keyword::new("virtual_router_id", Leaf, Full, |b, n, cx| {
        let line = Line::of(n);
        let Some(v) = line.slot(cx, 1) else { return };
        match read_unsigned(v, 1, 255, false) {
            Ok(id) => b.inst.virtual_router_id = Some(id as u8),
            Err(e) => line.error(
                cx,
                1,
                format!(
                    "{}; ({}): VRID '{v}' not valid - must be between 1 & 255",
                    e.msg, b.inst.name
                ),
            ),
        }
    }),
    Keyword::new("unicast_ttl", Leaf, Full, |b, n, cx| {
        let line = Line::of(n);
        let Some(v) = line.slot(cx, 1) else { return };
        match read_unsigned(v, 0, 255, false) {
            Ok(t) => b.inst.unicast_ttl = Some(t as u8),
            Err(e) => line.error(
                cx,
                1,
                format!(
                    "{}; ({}): TTL '{v}' not valid - must be between 0 & 255",
                    e.msg, b.inst.name
                ),
            ),
        }
    }),
    Keyword::new("version", Leaf, Full, |b, n, cx| {
        let line = Line::of(n);
        let Some(v) = line.slot(cx, 1) else { return };
        let name = b.name();
        let version = match read_int(v, 2, 3, true) {
            Ok(x) => x as u8,
            Err(e) => {
                line.error(
                    cx,
                    1,
                    format!(
                        "{}; ({name}): Version must be either 2 or 3{}",
                        e.msg,
                        lenient_note(&e)
                    ),
                );
                match e.lenient {
                    Some(x) => x as u8,
                    None => return,
                }
            }
        };
        if b.version_fixed.is_some_and(|f| f != version)
            || (version == 2 && b.family == Some(Family::Inet6))
        {
            line.error(
                cx,
                1,
                format!(
                    "({name}) vrrp_version {version} conflicts with configured or deduced version {}; ignoring.",
                    b.version_fixed.unwrap_or(0)
                ),
            );
            return;
        }
        b.version_fixed = Some(version);
        b.inst.version = Some(version);
    }),
    Keyword::new("priority", Leaf, Full, |b, n, cx| {
        let line = Line::of(n);
        let Some(v) = line.slot(cx, 1) else { return };
        match read_unsigned(v, 1, 255, false) {
            Ok(p) => b.inst.priority = Some(p as u8),
            Err(e) => {
                line.error(
                    cx,
                    1,
                    format!(
                        "{}; ({}) Priority not valid! must be between 1 & 255. Using default 100",
                        e.msg, b.inst.name
                    ),
                );
                b.inst.priority = Some(crate::config::model::VRRP_PRIO_DEFAULT);
            }
        }
    }),
    Keyword::new("advert_int", Leaf, Full, |b, n, cx| {
        let line = Line::of(n);
        let Some(v) = line.slot(cx, 1) else { return };
        let (val, msgs) = read_decimal(v, 10_000, 255_000_000, 6, true);
        // keepalived's lenient decimal reader succeeds (after its message)
        // when what it made of the word is in range, even under -t.
        match val {
            Some(us) => {
                if !msgs.is_empty() {
                    line.error(cx, 1, msgs.join("; "));
                }
                b.inst.advert_int = Some(Timer::from_micros(us));
            }
            None => line.error(
                cx,
                1,
                format!(
                    "{}; ({}) Advert interval ({v}) not valid! Must be > 0 - ignoring",
                    msgs.join("; "),
                    b.inst.name
                ),
            ),
        }
    }),
    Keyword::new("virtual_ipaddress", List, Full, |b, n, cx| {
        inst_vips(b, n, cx, false)
    }),
    Keyword::new("virtual_ipaddress_excluded", List, Full, |b, n, cx| {
        inst_vips(b, n, cx, true)
    }),
    Keyword::new("promote_secondaries", Leaf, Full, |b, _n, _cx| {
        b.inst.promote_secondaries = true;
    }),
    Keyword::new("linkbeat_use_polling", Leaf, NotImplemented, |b, n, cx| {
        b.inst.linkbeat_use_polling = true;
        Line::of(n).error(
            cx,
            0,
            format!(
                "({}) 'linkbeat_use_polling' in vrrp instance deprecated - use linkbeat_interfaces block",
                b.inst.name
            ),
        );
    }),
    Keyword::new("virtual_routes", List, Full, |b, n, cx| {
        let line = Line::of(n);
        list_args(&line, cx);
        let name = b.name();
        for item in n.children() {
            let il = Line::item(item, "virtual_routes");
            if let Some(r) = addr::parse_route_item(cx, &il, false, &[]) {
                let key = format!(
                    "vrrp_instance.{name}.virtual_routes.{}",
                    b.inst.virtual_routes.len()
                );
                b.inst.virtual_routes.push(r);
                remember_line(cx, &key, &il, 0);
            }
        }
    }),
    Keyword::new("virtual_rules", List, Full, |b, n, cx| {
        let line = Line::of(n);
        list_args(&line, cx);
        let name = b.name();
        for item in n.children() {
            let il = Line::item(item, "virtual_rules");
            let mut pref = |cx: &mut Cx, f: Family| next_rule_pref(cx, f, &il);
            if let Some(r) = addr::parse_rule_item(cx, &il, false, &[], &mut pref) {
                let key = format!(
                    "vrrp_instance.{name}.virtual_rules.{}",
                    b.inst.virtual_rules.len()
                );
                b.inst.virtual_rules.push(r);
                remember_line(cx, &key, &il, 0);
            }
        }
    }),
    Keyword::new("accept", Leaf, Full, |b, _n, _cx| {
        b.inst.accept = Some(true);
    }),
    Keyword::new("no_accept", Leaf, Full, |b, _n, _cx| {
        b.inst.accept = Some(false);
    }),
    Keyword::new("skip_check_adv_addr", Leaf, Full, |b, n, cx| {
        let line = Line::of(n);
        if let Some(v) = inst_bool(b, n, cx, "invalid skip_check_adv_addr %s specified") {
            if !v {
                line.warn(
                    cx,
                    1,
                    "keepalived 2.2.7 turns skip_check_adv_addr on even when given 'false'; so do we",
                );
            }
            b.inst.skip_check_adv_addr = Some(true);
        }
    }),
    Keyword::new("strict_mode", Leaf, Full, |b, n, cx| {
        if let Some(v) = inst_bool(b, n, cx, "invalid strict_mode %s specified") {
            b.inst.strict_mode = Some(v);
        }
    }),
    Keyword::new("preempt", Leaf, Full, |b, _n, _cx| {
        b.inst.nopreempt = false;
    }),
    Keyword::new("nopreempt", Leaf, Full, |b, _n, _cx| {
        b.inst.nopreempt = true;
    }),
    Keyword::new("preempt_delay", Leaf, Full, |b, n, cx| {
        let line = Line::of(n);
        let Some(v) = line.slot(cx, 1) else { return };
        let (val, msgs) = read_decimal(v, 0, 1000 * 1_000_000, 6, true);
        match val {
            Some(us) => {
                if !msgs.is_empty() {
                    line.error(cx, 1, msgs.join("; "));
                }
                b.inst.preempt_delay = Timer::from_micros(us);
            }
            None => {
                line.error(
                    cx,
                    1,
                    format!(
                        "{}; ({}) Preempt_delay not valid! must be between 0-1000",
                        msgs.join("; "),
                        b.inst.name
                    ),
                );
                b.inst.preempt_delay = Timer::default();
            }
        }
    }),
    Keyword::new("debug", Leaf, Full, |b, n, cx| {
        let line = Line::of(n);
        let Some(v) = line.slot(cx, 1) else { return };
        match read_unsigned(v, 0, 4, true) {
            Ok(d) => b.inst.debug = d as u8,
            Err(e) => {
                line.error(
                    cx,
                    1,
                    format!(
                        "{}; ({}) Debug value '{v}' not valid; must be between 0-4{}",
                        e.msg,
                        b.inst.name,
                        lenient_note(&e)
                    ),
                );
                if let Some(d) = e.lenient {
                    b.inst.debug = d as u8;
                }
            }
        }
    }),
    Keyword::new("notify_backup", Leaf, Full, inst_notify),
    Keyword::new("notify_master", Leaf, Full, inst_notify),
    Keyword::new("notify_fault", Leaf, Full, inst_notify),
    Keyword::new("notify_stop", Leaf, Full, inst_notify),
    Keyword::new("notify_deleted", Leaf, Full, |b, n, cx| {
        let line = Line::of(n);
        if b.notify_deleted_seen {
            line.error(
                cx,
                1,
                format!(
                    "({}) notify_deleted already specified - ignoring {}",
                    b.inst.name,
                    line.get(1).unwrap_or("")
                ),
            );
            return;
        }
        b.notify_deleted_seen = true;
        b.inst.notify_deleted = if line.len() > 1 {
            notify_script(n, cx)
        } else {
            Some(NotifyScript::default())
        };
    }),
    Keyword::new("notify", Leaf, Full, inst_notify),
    Keyword::new("notify_master_rx_lower_pri", Leaf, Full, inst_notify),
    Keyword::new("smtp_alert", Leaf, NotImplemented, |b, n, cx| {
        let line = Line::of(n);
        match opt_bool(&line) {
            Ok(v) => b.inst.smtp_alert = Some(v),
            Err(()) => line.error(
                cx,
                1,
                format!(
                    "Invalid vrrp_instance smtp_alert parameter {}",
                    line.get(1).unwrap_or("")
                ),
            ),
        }
    }),
    Keyword::new("notify_priority_changes", Leaf, Full, |b, n, cx| {
        if let Some(v) = inst_bool(
            b,
            n,
            cx,
            "Invalid value '%s' for notify_priority_changes specified",
        ) {
            b.inst.notify_priority_changes = Some(v);
        }
    }),
    Keyword::new("lvs_sync_daemon_interface", Leaf, Full, |b, n, cx| {
        let line = Line::of(n);
        let name = b.name();
        line.error(
            cx,
            0,
            format!(
                "({name}) Specifying lvs_sync_daemon_interface against a vrrp is deprecated. \
                 Please use global lvs_sync_daemon"
            ),
        );
        if let Some(prev) = &b.lvs_syncd {
            line.error(
                cx,
                1,
                format!("({name}) lvs_sync_daemon_interface has already been specified as {prev} - ignoring"),
            );
            return;
        }
        let Some(v) = line.slot(cx, 1) else { return };
        b.inst.lvs_sync_daemon_interface = Some(v.to_owned());
    }),
    Keyword::new("garp_master_delay", Leaf, Full, |b, n, cx| {
        let line = Line::of(n);
        let msg = format!(
            "({}): garp_master_delay '%s' invalid - ignoring",
            b.inst.name
        );
        if let Some(t) = garp_secs(&line, cx, u64::from(u32::MAX) / 1_000_000, &msg) {
            b.inst.garp_master_delay = Some(t);
        }
    }),
    Keyword::new("garp_master_refresh", Leaf, Full, |b, n, cx| {
        let line = Line::of(n);
        let msg = format!(
            "({}): Invalid garp_master_refresh '%s' - ignoring",
            b.inst.name
        );
        if line.get(1).is_none() {
            let _ = line.slot(cx, 1);
            return;
        }
        b.inst.garp_master_refresh =
            Some(garp_secs(&line, cx, u64::from(u32::MAX), &msg).unwrap_or_default());
    }),
    Keyword::new("garp_master_repeat", Leaf, Full, |b, n, cx| {
        if let Some(r) = garp_repeat(b, n, cx) {
            b.inst.garp_master_repeat = Some(r);
        }
    }),
    Keyword::new("garp_master_refresh_repeat", Leaf, Full, |b, n, cx| {
        if let Some(r) = garp_repeat(b, n, cx) {
            b.inst.garp_master_refresh_repeat = Some(r);
        }
    }),
    Keyword::new("garp_lower_prio_delay", Leaf, Full, |b, n, cx| {
        let line = Line::of(n);
        let msg = format!(
            "({}): garp_lower_prio_delay '%s' invalid - ignoring",
            b.inst.name
        );
        if let Some(t) = garp_secs(&line, cx, u64::from(u32::MAX) / 1_000_000, &msg) {
            b.inst.garp_lower_prio_delay = Some(t);
        }
    }),
    Keyword::new("garp_lower_prio_repeat", Leaf, Full, |b, n, cx| {
        let line = Line::of(n);
        let Some(v) = line.slot(cx, 1) else { return };
        match read_unsigned(v, 0, i32::MAX as u64, true) {
            Ok(r) => b.inst.garp_lower_prio_repeat = Some(r as u32),
            Err(e) => {
                line.error(
                    cx,
                    1,
                    format!(
                        "{}; ({}): Invalid garp_lower_prio_repeat '{v}'{}",
                        e.msg,
                        b.inst.name,
                        lenient_note(&e)
                    ),
                );
                if let Some(r) = e.lenient {
                    b.inst.garp_lower_prio_repeat = Some(r as u32);
                }
            }
        }
    }),
    Keyword::new("down_timer_adverts", Leaf, Full, |b, n, cx| {
        let line = Line::of(n);
        let Some(v) = line.slot(cx, 1) else { return };
        match read_unsigned(v, 1, 100, true) {
            Ok(r) => b.inst.down_timer_adverts = Some(r as u8),
            Err(e) => {
                line.error(
                    cx,
                    1,
                    format!(
                        "{}; ({}): Invalid down_timer_adverts [1:100] '{v}'{}",
                        e.msg,
                        b.inst.name,
                        lenient_note(&e)
                    ),
                );
                if let Some(r) = e.lenient {
                    b.inst.down_timer_adverts = Some(r as u8);
                }
            }
        }
    }),
    Keyword::new("garp_extra_if", Leaf, Full, garp_extra_if),
    Keyword::new("vmac_garp_intvl", Leaf, Full, garp_extra_if),
    Keyword::new("lower_prio_no_advert", Leaf, Full, |b, n, cx| {
        if let Some(v) = inst_bool(b, n, cx, "invalid lower_prio_no_advert %s specified") {
            b.inst.lower_prio_no_advert = Some(v);
        }
    }),
    Keyword::new("higher_prio_send_advert", Leaf, Full, |b, n, cx| {
        if let Some(v) = inst_bool(b, n, cx, "invalid higher_prio_send_advert %s specified") {
            b.inst.higher_prio_send_advert = Some(v);
        }
    }),
    Keyword::new("kernel_rx_buf_size", Leaf, NotImplemented, |b, n, cx| {
        let line = Line::of(n);
        if line.len() == 2 {
            if let Ok(v) = read_unsigned(line.get(1).unwrap_or(""), 0, u64::from(u32::MAX), false) {
                b.inst.kernel_rx_buf_size = Some(v as u32);
                return;
            }
        }
        line.error(
            cx,
            0,
            format!("({}) invalid kernel_rx_buf_size specified", b.inst.name),
        );
    }),
    Keyword::new("authentication", Block, Full, |b, n, cx| {
        let mut a = AuthCx {
            auth: b.inst.authentication.take().unwrap_or_default(),
            name: b.name(),
        };
        cx.apply_block(&mut a, "authentication", n, AUTHENTICATION);
        b.inst.authentication = Some(a.auth);
    }),
];

/// Parse state of an `authentication` block: the values and the instance name
/// for messages.
pub(crate) struct AuthCx {
    auth: Authentication,
    name: String,
}

pub(crate) static AUTHENTICATION: &[Keyword<AuthCx>] = &[
    Keyword::new("auth_type", Leaf, Full, |a, n, cx| {
        let line = Line::of(n);
        let Some(t) = line.slot(cx, 1) else { return };
        match t {
            "PASS" => a.auth.auth_type = Some(AuthType::Pass),
            "AH" => {
                line.error(
                    cx,
                    1,
                    "auth_type AH (IPsec AH) is not implemented by keepalived-rs and changes what goes \
                     on the wire; the daemon refuses to start with it",
                );
                a.auth.auth_type = Some(AuthType::Ah);
            }
            _ => line.error(
                cx,
                1,
                format!("({}) unknown authentication type '{t}'", a.name),
            ),
        }
    }),
    Keyword::new("auth_pass", Leaf, Full, |a, n, cx| {
        let line = Line::of(n);
        let Some(p) = line.slot(cx, 1) else { return };
        let mut p = p.to_owned();
        if p.len() > 8 {
            line.error(cx, 1, "Truncating auth_pass to 8 characters");
            let mut end = 8;
            while !p.is_char_boundary(end) {
                end -= 1;
            }
            p.truncate(end);
        }
        a.auth.auth_pass = Some(p);
    }),
];

fn garp_extra_if(b: &mut InstanceBuild, n: &Node, cx: &mut Cx) {
    let line = Line::of(n);
    let kw = n.name();
    let name = b.name();
    if kw == "vmac_garp_intvl" {
        line.error(
            cx,
            0,
            "Keyword \"vmac_garp_intvl\" is deprecated - please use \"garp_extra_if\"",
        );
    }
    let mut g = GarpExtraIf::default();
    let mut delay: Option<u64> = None;
    for k in 1..line.len() {
        let w = line.get(k).unwrap_or("");
        if w == "all" {
            g.all = true;
            continue;
        }
        match read_unsigned(w, 0, 86400, true) {
            Ok(d) => delay = Some(d),
            Err(e) => {
                line.error(
                    cx,
                    k,
                    format!(
                        "{}; ({name}): {kw} '{w}' invalid - ignoring{}",
                        e.msg,
                        lenient_note(&e)
                    ),
                );
                match e.lenient {
                    Some(d) => delay = Some(d as u64),
                    None => return,
                }
            }
        }
    }
    let Some(d) = delay else {
        line.error(
            cx,
            0,
            format!("({name}): {kw} specified without time - ignoring"),
        );
        return;
    };
    g.interval = Timer::from_secs(d);
    b.inst.garp_extra_if = Some(g);
}

// ===== vrrp_sync_group =====

/// Parse state of a sync group.
pub(crate) struct SyncGroupBuild {
    pub group: SyncGroup,
    group_seen: bool,
    known: Known,
}

pub fn apply_sync_group(cfg: &mut Config, node: &Node, cx: &mut Cx) {
    let line = Line::of(node);
    if line.len() != 2 {
        line.error(cx, 0, "vrrp_sync_group must have a name - skipping");
        return;
    }
    let name = line.get(1).unwrap_or("");
    if cfg.vrrp_sync_group.iter().any(|g| g.name == name) {
        line.error(cx, 1, format!("vrrp sync group {name} already defined"));
        return;
    }
    cx.remember(format!("vrrp_sync_group.{name}"), node);
    remember_children(cx, &format!("vrrp_sync_group.{name}"), node);
    let mut b = SyncGroupBuild {
        group: SyncGroup {
            name: name.to_owned(),
            ..Default::default()
        },
        group_seen: false,
        known: Known::of(cfg),
    };
    cx.apply_block(&mut b, "vrrp_sync_group", node, VRRP_SYNC_GROUP);
    cfg.vrrp_sync_group.push(b.group);
}

fn sg_track_list(b: &mut SyncGroupBuild, n: &Node, cx: &mut Cx, kind: TrackKind) {
    let list = match kind {
        TrackKind::Script => &mut b.group.track_script,
        TrackKind::File => &mut b.group.track_file,
        TrackKind::Process => &mut b.group.track_process,
        TrackKind::Bfd => &mut b.group.track_bfd,
    };
    track_ref_list(
        cx,
        n,
        "vrrp_sync_group",
        &b.group.name,
        kind,
        &b.known,
        list,
    );
}

fn sg_notify(b: &mut SyncGroupBuild, n: &Node, cx: &mut Cx) {
    let line = Line::of(n);
    let kw = n.name();
    let name = b.group.name.clone();
    let slot = match kw {
        "notify_master" => &mut b.group.notify_master,
        "notify_backup" => &mut b.group.notify_backup,
        "notify_fault" => &mut b.group.notify_fault,
        "notify_stop" => &mut b.group.notify_stop,
        _ => &mut b.group.notify,
    };
    if slot.is_some() {
        let ignored = line.slot(cx, 1).unwrap_or("");
        line.error(
            cx,
            1,
            format!("vrrp group {name}: {kw} script already specified - ignoring {ignored}"),
        );
        return;
    }
    *slot = notify_script(n, cx);
}

/// The `group { NAME ... }` list of a sync group or a track group: read once
/// (a second list is reported and ignored, as keepalived does), each member's
/// location remembered for the whole-config checks. `kind` is "sync group" or
/// "track group" for the empty-list message; keepalived says "sync group" in
/// the repeated-list message for both.
pub(crate) fn group_list(
    seen: &mut bool,
    kind: &str,
    span_prefix: &str,
    name: &str,
    n: &Node,
    cx: &mut Cx,
) -> Option<Vec<String>> {
    let line = Line::of(n);
    if *seen {
        line.error(
            cx,
            0,
            format!("Group list already specified for sync group {name}"),
        );
        return None;
    }
    *seen = true;
    list_args(&line, cx);
    let words = value_block_words(n);
    if words.is_empty() {
        line.error(
            cx,
            0,
            format!("Warning - {kind} {name} has empty group block"),
        );
    }
    let mut k = 0;
    for item in n.children() {
        let il = Line::item(item, "group");
        for w in 0..il.len() {
            remember_line(cx, &format!("{span_prefix}.{name}.group.{k}"), &il, w);
            k += 1;
        }
    }
    Some(words)
}

pub(crate) static VRRP_SYNC_GROUP: &[Keyword<SyncGroupBuild>] = &[
    Keyword::new("group", List, Full, |b, n, cx| {
        let name = b.group.name.clone();
        if let Some(words) = group_list(
            &mut b.group_seen,
            "sync group",
            "vrrp_sync_group",
            &name,
            n,
            cx,
        ) {
            b.group.group = words;
        }
    }),
    Keyword::new("track_interface", List, Full, |b, n, cx| {
        let owner = b.group.name.clone();
        for item in n.children() {
            let il = Line::item(item, "track_interface");
            if let Some(t) = parse_tracked_interface(cx, &il, &owner, &b.group.track_interface) {
                let key = format!(
                    "vrrp_sync_group.{owner}.track_interface.{}",
                    b.group.track_interface.len()
                );
                b.group.track_interface.push(t);
                remember_line(cx, &key, &il, 0);
            }
        }
    }),
    Keyword::new("track_script", List, Full, |b, n, cx| {
        sg_track_list(b, n, cx, TrackKind::Script)
    }),
    Keyword::new("track_file", List, Full, |b, n, cx| {
        sg_track_list(b, n, cx, TrackKind::File)
    }),
    Keyword::new("track_process", List, Full, |b, n, cx| {
        sg_track_list(b, n, cx, TrackKind::Process)
    }),
    Keyword::new("track_bfd", List, Full, |b, n, cx| {
        sg_track_list(b, n, cx, TrackKind::Bfd)
    }),
    Keyword::new("notify_backup", Leaf, Full, sg_notify),
    Keyword::new("notify_master", Leaf, Full, sg_notify),
    Keyword::new("notify_fault", Leaf, Full, sg_notify),
    Keyword::new("notify_stop", Leaf, Full, sg_notify),
    Keyword::new("notify", Leaf, Full, sg_notify),
    Keyword::new("smtp_alert", Leaf, NotImplemented, |b, n, cx| {
        let line = Line::of(n);
        match opt_bool(&line) {
            Ok(v) => b.group.smtp_alert = Some(v),
            Err(()) => line.error(
                cx,
                1,
                format!(
                    "Invalid vrrp_group smtp_alert parameter {}",
                    line.get(1).unwrap_or("")
                ),
            ),
        }
    }),
    Keyword::new("global_tracking", Leaf, Full, |b, n, cx| {
        Line::of(n).error(
            cx,
            0,
            format!(
                "({}) global_tracking is deprecated. Use track_interface/script/file on the sync group",
                b.group.name
            ),
        );
        b.group.sync_group_tracking_weight = true;
    }),
    Keyword::new("sync_group_tracking_weight", Leaf, Full, |b, _n, _cx| {
        b.group.sync_group_tracking_weight = true;
    }),
    Keyword::new("notify_priority_changes", Leaf, Full, |b, n, cx| {
        let line = Line::of(n);
        match opt_bool(&line) {
            Ok(v) => b.group.notify_priority_changes = Some(v),
            Err(()) => line.error(
                cx,
                1,
                format!(
                    "({}) Invalid value '{}' for sync group notify_priority_changes specified",
                    b.group.name,
                    line.get(1).unwrap_or("")
                ),
            ),
        }
    }),
];

/// Keywords of the blocks below the VRRP top-level blocks.
pub fn keywords(out: &mut Vec<KeywordInfo>) {
    collect("vrrp_script", trackers::VRRP_SCRIPT, out);
    collect("track_file", trackers::TRACK_FILE, out);
    collect("vrrp_track_file", trackers::TRACK_FILE, out);
    collect("vrrp_track_process", trackers::TRACK_PROCESS, out);
    collect("vrrp_sync_group", VRRP_SYNC_GROUP, out);
    collect("vrrp_instance", VRRP_INSTANCE, out);
    collect("vrrp_instance/authentication", AUTHENTICATION, out);
    collect("track_group", misc::TRACK_GROUP, out);
    collect("garp_group", misc::GARP_GROUP, out);
    collect("bfd_instance", trackers::BFD_INSTANCE, out);
}

/// Checks that need the whole configuration.
pub fn validate(cfg: &Config, cx: &mut Cx) {
    check::validate(cfg, cx);
}

/// A command line argument: one (possibly quoted) word is the whole command
/// line; several words are kept as written, quotes and all, and split with
/// [`crate::config::ast::split_command`] when run.  (Kept for other blocks;
/// keepalived 2.2.7 itself uses only the first word of an unquoted
/// `vrrp_script` command line, see `script_command`.)
pub fn command_line(n: &Node, cx: &mut Cx) -> Option<String> {
    cx.need(n, 0)?;
    if n.args.len() == 1 {
        Some(n.args[0].text().to_owned())
    } else {
        Some(n.raw_args().into_owned())
    }
}

/// `user USER [GROUP]` (also `script_user` in global_defs).
pub fn script_user(n: &Node, cx: &mut Cx) -> Option<ScriptUser> {
    let user = cx.need(n, 0)?.to_owned();
    cx.no_more_args(n, 2);
    Some(ScriptUser {
        user,
        group: n.arg_str(1).map(str::to_owned),
    })
}

#[cfg(test)]
mod tests;
