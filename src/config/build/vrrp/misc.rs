//! The other VRRP-side root blocks: `static_ipaddress`, `static_routes`,
//! `static_rules`, `track_group`, `garp_group`, `linkbeat_interfaces` and
//! `interface_up_down_delays`.

use super::util::{interface_exists, read_decimal, Line};
use super::{addr, list_args, next_rule_pref, remember_line, value_block_words};
use crate::config::ast::Node;
use crate::config::build::{Cx, Keyword, Kind::*, Support::*};
use crate::config::diag::{Location, Severity};
use crate::config::model::{
    Config, Family, GarpGroup, InterfaceUpDownDelay, LinkbeatInterface, LinkbeatType, TrackGroup,
};
use crate::config::values::Timer;

fn track_group_names(cfg: &Config) -> Vec<String> {
    cfg.track_group.iter().map(|g| g.name.clone()).collect()
}

pub fn apply_static_ipaddress(cfg: &mut Config, node: &Node, cx: &mut Cx) {
    list_args(&Line::of(node), cx);
    let groups = track_group_names(cfg);
    for item in node.children() {
        let il = Line::item(item, "static_ipaddress");
        if let Some(a) = addr::parse_ipaddress_item(cx, &il, true, &groups) {
            let key = format!("static_ipaddress.{}", cfg.static_ipaddress.len());
            cfg.static_ipaddress.push(a);
            remember_line(cx, &key, &il, 0);
        }
    }
}

pub fn apply_static_routes(cfg: &mut Config, node: &Node, cx: &mut Cx) {
    list_args(&Line::of(node), cx);
    let groups = track_group_names(cfg);
    for item in node.children() {
        let il = Line::item(item, "static_routes");
        if let Some(r) = addr::parse_route_item(cx, &il, true, &groups) {
            let key = format!("static_routes.{}", cfg.static_routes.len());
            cfg.static_routes.push(r);
            remember_line(cx, &key, &il, 0);
        }
    }
}

pub fn apply_static_rules(cfg: &mut Config, node: &Node, cx: &mut Cx) {
    list_args(&Line::of(node), cx);
    let groups = track_group_names(cfg);
    for item in node.children() {
        let il = Line::item(item, "static_rules");
        let mut pref = |cx: &mut Cx, f: Family| next_rule_pref(cx, f, &il);
        if let Some(r) = addr::parse_rule_item(cx, &il, true, &groups, &mut pref) {
            let key = format!("static_rules.{}", cfg.static_rules.len());
            cfg.static_rules.push(r);
            remember_line(cx, &key, &il, 0);
        }
    }
}

// ===== track_group =====

/// Parse state of a track_group.
pub(crate) struct TrackGroupBuild {
    group: TrackGroup,
    group_seen: bool,
}

pub fn apply_track_group(cfg: &mut Config, node: &Node, cx: &mut Cx) {
    let line = Line::of(node);
    if line.len() != 2 {
        line.error(cx, 0, "track_group must have a name - skipping");
        return;
    }
    let name = line.get(1).unwrap_or("");
    if cfg.track_group.iter().any(|g| g.name == name) {
        line.error(cx, 1, format!("track_group {name} already defined"));
        return;
    }
    cx.remember(format!("track_group.{name}"), node);
    let mut b = TrackGroupBuild {
        group: TrackGroup {
            name: name.to_owned(),
            group: Vec::new(),
        },
        group_seen: false,
    };
    cx.apply_block(&mut b, "track_group", node, TRACK_GROUP);
    cfg.track_group.push(b.group);
}

pub(crate) static TRACK_GROUP: &[Keyword<TrackGroupBuild>] =
    &[Keyword::new("group", List, Full, |b, n, cx| {
        let name = b.group.name.clone();
        if let Some(words) = super::group_list(
            &mut b.group_seen,
            "track group",
            "track_group",
            &name,
            n,
            cx,
        ) {
            b.group.group = words;
        }
    })];

// ===== garp_group =====

/// Parse state of a garp_group: the model and the interfaces earlier groups
/// took.
pub(crate) struct GarpGroupBuild {
    group: GarpGroup,
    taken: Vec<String>,
    /// Its index in `garp_group` (for source-map keys).
    index: usize,
}

pub fn apply_garp_group(cfg: &mut Config, node: &Node, cx: &mut Cx) {
    let line = Line::of(node);
    let index = cfg.garp_group.len();
    cx.remember(format!("garp_group.{index}"), node);
    let taken = cfg
        .garp_group
        .iter()
        .flat_map(|g| g.interface.iter().chain(g.interfaces.iter()).cloned())
        .collect();
    let mut b = GarpGroupBuild {
        group: GarpGroup::default(),
        taken,
        index,
    };
    cx.apply_block(&mut b, "garp_group", node, GARP_GROUP);
    if b.group.garp_interval.is_none() && b.group.gna_interval.is_none() {
        let aggregation = if b.group.interfaces.is_empty() {
            0
        } else {
            1 + cfg
                .garp_group
                .iter()
                .filter(|g| !g.interfaces.is_empty())
                .count()
        };
        line.error(
            cx,
            0,
            format!("garp group {aggregation} does not have any delay set - removing"),
        );
        return;
    }
    cfg.garp_group.push(b.group);
}

fn garp_interval(n: &Node, cx: &mut Cx, what: &str) -> Option<Timer> {
    let line = Line::of(n);
    let v = line.slot(cx, 1)?;
    let (val, msgs) = read_decimal(v, 0, i32::MAX as u64, 6, true);
    // keepalived's lenient decimal reader succeeds (after its message) when
    // what it made of the word is in range, even under -t.
    match val {
        Some(us) => {
            if !msgs.is_empty() {
                line.error(cx, 1, msgs.join("; "));
            }
            if us >= 1_000_000 {
                line.warn(cx, 1, format!("The {what} is very large - {v} seconds"));
            }
            Some(Timer::from_micros(us))
        }
        None => {
            line.error(
                cx,
                1,
                format!("{}; garp_group {what} '{v}' invalid", msgs.join("; ")),
            );
            None
        }
    }
}

/// Whether keepalived finds no interface `name` on this host.
fn garp_if_missing(cx: &Cx, name: &str) -> bool {
    cx.opts.check_host && !cx.global.dynamic_interfaces && !interface_exists(name)
}

/// Take an interface for this garp group unless another group has it.  The
/// model does not depend on the host: an interface named twice is kept once.
/// keepalived looks the interface up first, so on a host without it the
/// second naming is reported as missing (at `at`, where keepalived names
/// it), not as already specified; the first one is reported by the
/// interface checks.
fn garp_take(b: &mut GarpGroupBuild, line: &Line, k: usize, at: Location, cx: &mut Cx) -> bool {
    let name = line.get(k).unwrap_or("");
    if b.taken.iter().any(|t| t == name) && garp_if_missing(cx, name) {
        cx.report_loc(
            Severity::Error,
            at,
            "garp_group",
            format!("WARNING - interface {name} specified for garp_group doesn't exist"),
        );
        return false;
    }
    if b.taken.iter().any(|t| t == name) {
        line.error(
            cx,
            k,
            format!("garp_group already specified for {name} - ignoring"),
        );
        return false;
    }
    b.taken.push(name.to_owned());
    true
}

pub(crate) static GARP_GROUP: &[Keyword<GarpGroupBuild>] = &[
    Keyword::new("garp_interval", Leaf, Full, |b, n, cx| {
        if let Some(t) = garp_interval(n, cx, "garp_interval") {
            b.group.garp_interval = Some(t);
        }
    }),
    Keyword::new("gna_interval", Leaf, Full, |b, n, cx| {
        if let Some(t) = garp_interval(n, cx, "gna_interval") {
            b.group.gna_interval = Some(t);
        }
    }),
    Keyword::new("interface", Leaf, Full, |b, n, cx| {
        let line = Line::of(n);
        let Some(name) = line.slot(cx, 1) else { return };
        if garp_take(b, &line, 1, line.loc(1), cx) {
            remember_line(cx, &format!("garp_group.{}.interface", b.index), &line, 1);
            b.group.interface = Some(name.to_owned());
        }
    }),
    Keyword::new("interfaces", List, Full, |b, n, cx| {
        let line = Line::of(n);
        list_args(&line, cx);
        if value_block_words(n).is_empty() {
            line.error(cx, 0, "Warning - empty garp_group interfaces block");
            return;
        }
        for item in n.children() {
            let il = Line::item(item, "interfaces");
            for k in 0..il.len() {
                // keepalived reads the whole list, then looks the interfaces
                // up: it names the list's `}`.
                let at = n.block_end().cloned().unwrap_or_else(|| il.loc(k));
                if garp_take(b, &il, k, at.clone(), cx) {
                    let name = il.get(k).unwrap_or("");
                    cx.spans
                        .insert(format!("garp_group.{}.interfaces.{name}", b.index), at);
                    b.group.interfaces.push(name.to_owned());
                }
            }
        }
    }),
];

// ===== linkbeat_interfaces =====

pub fn apply_linkbeat_interfaces(cfg: &mut Config, node: &Node, cx: &mut Cx) {
    list_args(&Line::of(node), cx);
    for item in node.children() {
        let il = Line::item(item, "linkbeat_interfaces");
        let Some(name) = il.get(0) else { continue };
        let mut l = LinkbeatInterface {
            interface: name.to_owned(),
            polling: None,
        };
        if let Some(t) = il.get(1) {
            l.polling = match t {
                "MII" => Some(LinkbeatType::Mii),
                "ETHTOOL" => Some(LinkbeatType::Ethtool),
                "IOCTL" => Some(LinkbeatType::Ioctl),
                _ => None,
            };
            if l.polling.is_none() || il.len() > 2 {
                il.error(cx, 1, format!("extra characters {t} in linkbeat interface"));
            }
        }
        let key = format!("linkbeat_interfaces.{}", cfg.linkbeat_interfaces.len());
        cfg.linkbeat_interfaces.push(l);
        remember_line(cx, &key, &il, 0);
    }
}

// ===== interface_up_down_delays =====

pub fn apply_interface_up_down_delays(cfg: &mut Config, node: &Node, cx: &mut Cx) {
    list_args(&Line::of(node), cx);
    for item in node.children() {
        let il = Line::item(item, "interface_up_down_delays");
        let Some(name) = il.get(0) else { continue };
        if il.len() < 2 {
            il.warn(
                cx,
                0,
                format!("No timeouts specified for {name} up/down delays"),
            );
            continue;
        }
        if il.len() > 3 {
            il.warn(
                cx,
                3,
                format!("Too many parameters for {name} up/down delays"),
            );
        }
        let mut delays = [Timer::default(); 2];
        let mut ok = true;
        for (slot, k) in delays.iter_mut().zip(1..il.len().min(3)) {
            let v = il.get(k).unwrap_or("");
            let (val, msgs) = read_decimal(v, 0, 255 * 1_000_000, 6, true);
            if !msgs.is_empty() {
                il.error(cx, k, msgs.join("; "));
            }
            match val {
                Some(us) => *slot = Timer::from_micros(us),
                None => {
                    let what = if k == 1 { "down" } else { "up" };
                    il.warn(cx, k, format!("Invalid {what} delay {v} for {name}"));
                    ok = false;
                    break;
                }
            }
        }
        if !ok {
            continue;
        }
        let key = format!(
            "interface_up_down_delays.{}",
            cfg.interface_up_down_delays.len()
        );
        cfg.interface_up_down_delays.push(InterfaceUpDownDelay {
            interface: name.to_owned(),
            down_delay: delays[0],
            up_delay: delays[1],
        });
        remember_line(cx, &key, &il, 0);
    }
}
