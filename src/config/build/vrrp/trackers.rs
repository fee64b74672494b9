//! The objects instances and sync groups track: `vrrp_script`, `track_file`
//! (and `vrrp_track_file`), `vrrp_track_process`, `bfd_instance`, and the
//! `track_*` list items that refer to them.

use super::util::{read_decimal, read_int, read_unsigned, true_false, Line};
use super::{lenient_note, remember_line};
use crate::config::ast::{split_command, Node};
use crate::config::build::scripts::{check_script_user, ScriptUse};
use crate::config::build::{end_of_block, Cx, Keyword, Kind::*, Support::*};
use crate::config::diag::Severity;
use crate::config::model::{
    BfdInstance, Config, ParamMatch, ScriptUser, TrackFile, TrackFileInit, TrackProcess,
    TrackedInterface, TrackedRef, VrrpScript,
};
use crate::config::values::Timer;

// ===== vrrp_script =====

/// The command of a script keyword as keepalived 2.2.7 takes it: the line is
/// re-split honouring single and double quotes and escapes, and only the first
/// resulting word is the command line (it is split again when run).  Extra
/// words are ignored by keepalived; we say so.
pub(crate) fn script_command(line: &Line, node: &Node, cx: &mut Cx) -> Option<String> {
    let words = match split_command(&node.raw_args()) {
        Ok(w) => w,
        Err(e) => {
            line.error(cx, 1, e);
            return None;
        }
    };
    let first = words.first()?.clone();
    if words.len() > 1 && node.name() == "script" {
        line.warn(
            cx,
            2,
            format!(
                "keepalived uses only the first word '{first}' as the script and ignores '{}' - \
                 quote the whole command line",
                words[1..].join(" ")
            ),
        );
    }
    Some(first)
}

pub fn apply_vrrp_script(cfg: &mut Config, node: &Node, cx: &mut Cx) {
    let line = Line::of(node);
    let Some(name) = line.slot(cx, 1) else { return };
    let mut s = VrrpScript {
        name: name.to_owned(),
        ..Default::default()
    };
    cx.remember(format!("vrrp_script.{name}"), node);
    let end = cx.apply_block(&mut s, "vrrp_script", node, VRRP_SCRIPT);
    // keepalived checks the script's user while reading (an explicit `user`
    // at its line, the default one at the block's `}`) and removes the script
    // when there is none: `track_script` then does not find it.
    let end = end_of_block(node, end);
    let mut keep = true;
    if cx.opts.check_host {
        let key = if s.user.is_some() {
            format!("vrrp_script_user.{name}")
        } else {
            cx.spans
                .insert(format!("vrrp_script_end.{name}"), end.clone());
            format!("vrrp_script_end.{name}")
        };
        // With no script, keepalived only says so (below).
        if !s.script.is_empty() || s.user.is_some() {
            let global = cx.global.clone();
            keep = check_script_user(
                cx,
                &global,
                &key,
                if s.user.is_some() {
                    "user"
                } else {
                    "vrrp_script"
                },
                &s.script,
                s.user.as_ref(),
                ScriptUse::TrackScript,
            );
        }
    }
    if s.script.is_empty() {
        cx.report_loc(
            Severity::Error,
            end,
            "vrrp_script",
            format!("No script set for vrrp_script {name} - removing"),
        );
        return;
    }
    if keep {
        cfg.vrrp_script.push(s);
    }
}

pub(crate) static VRRP_SCRIPT: &[Keyword<VrrpScript>] = &[
    Keyword::new("script", Leaf, Full, |s, n, cx| {
        let line = Line::of(n);
        if let Some(cmd) = script_command(&line, n, cx) {
            s.script = cmd;
        }
    }),
    Keyword::new("interval", Leaf, Full, |s, n, cx| {
        let line = Line::of(n);
        let Some(v) = line.slot(cx, 1) else { return };
        let secs = match read_unsigned(v, 0, u64::from(u32::MAX) / 1_000_000, true) {
            Ok(x) => x,
            Err(e) => {
                line.error(
                    cx,
                    1,
                    format!(
                        "{}; ({}): vrrp script interval '{v}' must be between 1 and {} - ignoring{}",
                        e.msg,
                        s.name,
                        u32::MAX / 1_000_000,
                        lenient_note(&e)
                    ),
                );
                match e.lenient {
                    Some(x) => x as u64,
                    None => return,
                }
            }
        };
        let secs = if secs == 0 {
            line.error(
                cx,
                1,
                format!(
                    "({}): vrrp script interval must be greater than 0, setting to 1",
                    s.name
                ),
            );
            1
        } else {
            secs
        };
        s.interval = Timer::from_secs(secs);
    }),
    Keyword::new("timeout", Leaf, Full, |s, n, cx| {
        let line = Line::of(n);
        let Some(v) = line.slot(cx, 1) else { return };
        let secs = match read_unsigned(v, 0, u64::from(u32::MAX) / 1_000_000, true) {
            Ok(x) => x,
            Err(e) => {
                line.error(
                    cx,
                    1,
                    format!(
                        "{}; ({}): vrrp script timeout '{v}' invalid - ignoring{}",
                        e.msg,
                        s.name,
                        lenient_note(&e)
                    ),
                );
                match e.lenient {
                    Some(x) => x as u64,
                    None => return,
                }
            }
        };
        let secs = if secs == 0 {
            line.error(
                cx,
                1,
                format!(
                    "({}): vrrp script timeout must be greater than 0, setting to 1",
                    s.name
                ),
            );
            1
        } else {
            secs
        };
        s.timeout = Some(Timer::from_secs(secs));
    }),
    Keyword::new("weight", Leaf, Full, |s, n, cx| {
        let line = Line::of(n);
        let Some(v) = line.slot(cx, 1) else { return };
        match read_int(v, -253, 253, true) {
            Ok(w) => s.weight = w as i32,
            Err(e) => {
                // keepalived stores the number read even when it is out of range.
                let stored = strtol(v);
                line.error(
                    cx,
                    1,
                    format!(
                        "{}; vrrp_script {} weight {v} must be in [-253, 253] (keepalived uses {stored})",
                        e.msg, s.name
                    ),
                );
                s.weight = stored;
            }
        }
        if let Some(opt) = line.get(2) {
            if opt == "reverse" {
                s.weight_reverse = true;
            } else {
                line.error(
                    cx,
                    2,
                    format!("vrrp_script {} unknown weight option {opt}", s.name),
                );
            }
        }
    }),
    Keyword::new("rise", Leaf, Full, |s, n, cx| {
        let line = Line::of(n);
        let Some(v) = line.slot(cx, 1) else { return };
        s.rise = rise_fall(cx, &line, v, &s.name, "rise");
    }),
    Keyword::new("fall", Leaf, Full, |s, n, cx| {
        let line = Line::of(n);
        let Some(v) = line.slot(cx, 1) else { return };
        s.fall = rise_fall(cx, &line, v, &s.name, "fall");
    }),
    Keyword::new("user", Leaf, Full, |s, n, cx| {
        let line = Line::of(n);
        let Some(user) = line.slot(cx, 1) else { return };
        cx.remember(format!("vrrp_script_user.{}", s.name), n);
        s.user = Some(ScriptUser {
            user: user.to_owned(),
            group: line.get(2).map(str::to_owned),
        });
    }),
    Keyword::new("init_fail", Leaf, Full, |s, _n, _cx| {
        s.init_fail = true;
    }),
];

fn rise_fall(cx: &mut Cx, line: &Line, v: &str, name: &str, what: &str) -> u32 {
    match read_unsigned(v, 1, i32::MAX as u64, true) {
        Ok(x) => x as u32,
        Err(e) => {
            let used = e.lenient.map_or(1, |x| x as u32);
            line.error(
                cx,
                1,
                format!(
                    "{}; ({name}): vrrp script {what} value '{v}' invalid, defaulting to 1{}",
                    e.msg,
                    lenient_note(&e)
                ),
            );
            used
        }
    }
}

/// C `strtol` of the leading number, clamped to `i32` (what keepalived stores
/// in an int after a failed range check).
fn strtol(s: &str) -> i32 {
    let t = s.trim_start_matches([' ', '\t', '\n']);
    let (neg, d) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let n = d.bytes().take_while(u8::is_ascii_digit).count();
    let v: i64 = d[..n]
        .parse::<i64>()
        .unwrap_or(if n > 0 { i64::MAX } else { 0 });
    let v = if neg { -v } else { v };
    v.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
}

// ===== track_file / vrrp_track_file =====

pub fn apply_track_file(cfg: &mut Config, node: &Node, cx: &mut Cx) {
    let line = Line::of(node);
    if node.name() == "vrrp_track_file" {
        line.warn(
            cx,
            0,
            "\"vrrp_track_file\" is deprecated, please use \"track_file\"",
        );
    }
    let Some(name) = line.slot(cx, 1) else { return };
    let mut f = TrackFile {
        name: name.to_owned(),
        ..Default::default()
    };
    cx.remember(format!("track_file.{name}"), node);
    let end = cx.apply_block(&mut f, "track_file", node, TRACK_FILE);
    if f.file.is_empty() {
        // keepalived checks this when it reads the block's `}`.
        cx.report_loc(
            Severity::Error,
            end_of_block(node, end),
            node.name(),
            format!("No file set for track_file {name} - ignoring"),
        );
        return;
    }
    cfg.track_file.push(f);
}

pub(crate) static TRACK_FILE: &[Keyword<TrackFile>] = &[
    Keyword::new("file", Leaf, Full, |f, n, cx| {
        let line = Line::of(n);
        let Some(path) = line.get(1) else {
            line.error(cx, 0, "track file file name missing");
            return;
        };
        if !f.file.is_empty() {
            line.error(
                cx,
                1,
                format!(
                    "File already set for track file {} - ignoring {path}",
                    f.name
                ),
            );
            return;
        }
        remember_line(cx, &format!("track_file.{}.file", f.name), &line, 1);
        f.file = path.to_owned();
    }),
    Keyword::new("weight", Leaf, Full, |f, n, cx| {
        let line = Line::of(n);
        let Some(v) = line.get(1) else {
            line.error(
                cx,
                0,
                format!("No weight specified for track file {} - ignoring", f.name),
            );
            return;
        };
        if f.weight != 1 {
            line.error(
                cx,
                1,
                format!(
                    "Weight already set for track file {} - ignoring {v}",
                    f.name
                ),
            );
            return;
        }
        f.weight = match read_int(v, -254, 254, true) {
            Ok(w) => w as i32,
            Err(e) => {
                line.error(
                    cx,
                    1,
                    format!(
                        "{}; Weight ({v}) for track_file {} must be between [-254..254] inclusive. Ignoring...{}",
                        e.msg,
                        f.name,
                        lenient_note(&e)
                    ),
                );
                e.lenient.map_or(1, |x| x as i32)
            }
        };
        if let Some(opt) = line.get(2) {
            if opt == "reverse" {
                f.weight_reverse = true;
            } else {
                line.error(
                    cx,
                    2,
                    format!("track_file {} unknown weight option {opt}", f.name),
                );
            }
        }
    }),
    Keyword::new("init_file", Leaf, Full, |f, n, cx| {
        let line = Line::of(n);
        let mut init = TrackFileInit::default();
        for k in 1..line.len() {
            let w = line.get(k).unwrap_or("");
            let word = w.trim_start_matches([' ', '\t']);
            if word.starts_with(|c: char| c.is_ascii_digit()) || word.starts_with('-') {
                init.value = match read_int(w, i64::from(i32::MIN), i64::from(i32::MAX), false) {
                    Ok(v) => {
                        if !(-254..=254).contains(&v) {
                            line.error(
                                cx,
                                k,
                                format!(
                                    "Track file {} init value {v} is outside sensible range [-254, 254]",
                                    f.name
                                ),
                            );
                        }
                        v as i32
                    }
                    Err(e) => {
                        line.error(
                            cx,
                            k,
                            format!(
                                "{}; Track file {} init value {word} is invalid",
                                e.msg, f.name
                            ),
                        );
                        0
                    }
                };
            } else if word == "overwrite" {
                init.overwrite = true;
            } else {
                line.error(cx, k, format!("Unknown track file init option {word}"));
            }
        }
        f.init_file = Some(init);
    }),
];

// ===== vrrp_track_process =====

pub fn apply_track_process(cfg: &mut Config, node: &Node, cx: &mut Cx) {
    let line = Line::of(node);
    let Some(name) = line.slot(cx, 1) else { return };
    let mut p = TrackProcess {
        name: name.to_owned(),
        ..Default::default()
    };
    cx.remember(format!("vrrp_track_process.{name}"), node);
    cx.apply_block(&mut p, "vrrp_track_process", node, TRACK_PROCESS);
    if p.process.is_empty() {
        line.error(
            cx,
            1,
            format!("track process '{name}' process name not specified"),
        );
        return;
    }
    cfg.vrrp_track_process.push(p);
}

fn process_delay(p: &mut TrackProcess, n: &Node, cx: &mut Cx, prefix: &str) -> Option<Timer> {
    let line = Line::of(n);
    let v = line.slot(cx, 1)?;
    let (val, msgs) = read_decimal(v, 1, 3600 * 1_000_000, 6, true);
    match val {
        Some(us) => {
            if !msgs.is_empty() {
                line.error(cx, 1, msgs.join("; "));
            }
            Some(Timer::from_micros(us))
        }
        None => {
            line.error(
                cx,
                1,
                format!(
                    "{}; {prefix}delay ({v}) for vrrp_track_process {} must be between \
                     [0.000001..3600] inclusive. Ignoring...",
                    msgs.join("; "),
                    p.name
                ),
            );
            None
        }
    }
}

pub(crate) static TRACK_PROCESS: &[Keyword<TrackProcess>] = &[
    Keyword::new("process", Leaf, Full, |p, n, cx| {
        let line = Line::of(n);
        if !p.process.is_empty() {
            let ignored = line.slot(cx, 1).unwrap_or("");
            line.error(
                cx,
                1,
                format!(
                    "Process already set for track process {} - ignoring {ignored}",
                    p.name
                ),
            );
            return;
        }
        let Some(name) = line.slot(cx, 1) else { return };
        p.process = name.to_owned();
        if line.len() > 2 {
            p.process_params = line.rest(2).into_iter().map(str::to_owned).collect();
            if p.param_match == ParamMatch::None {
                p.param_match = ParamMatch::Exact;
            }
            p.full_command = true;
        }
    }),
    Keyword::new("param_match", Leaf, Full, |p, n, cx| {
        let line = Line::of(n);
        match line.get(1) {
            None => p.param_match = ParamMatch::Exact,
            Some("initial") => p.param_match = ParamMatch::Initial,
            Some("partial") => p.param_match = ParamMatch::Partial,
            Some(other) => {
                line.error(
                    cx,
                    1,
                    format!("Invalid param_match type {other} - ignoring"),
                );
                return;
            }
        }
        p.full_command = true;
    }),
    Keyword::new("weight", Leaf, Full, |p, n, cx| {
        let line = Line::of(n);
        let Some(v) = line.get(1) else {
            line.error(
                cx,
                0,
                format!(
                    "No weight specified for track process {} - ignoring",
                    p.name
                ),
            );
            return;
        };
        if p.weight != 0 {
            line.error(
                cx,
                1,
                format!(
                    "Weight already set for track process {} - ignoring {v}",
                    p.name
                ),
            );
            return;
        }
        let w = match read_int(v, -254, 254, true) {
            Ok(w) => w as i32,
            Err(e) => {
                line.error(
                    cx,
                    1,
                    format!(
                        "{}; Weight ({v}) for vrrp_track_process {} must be between [-254..254] \
                         inclusive. Ignoring...{}",
                        e.msg,
                        p.name,
                        lenient_note(&e)
                    ),
                );
                match e.lenient {
                    Some(x) => x as i32,
                    None => return,
                }
            }
        };
        if let Some(opt) = line.get(2) {
            if opt == "reverse" {
                p.weight_reverse = true;
            } else {
                line.error(
                    cx,
                    2,
                    format!("vrrp_track_process {} unknown weight option {opt}", p.name),
                );
            }
        }
        p.weight = w;
    }),
    Keyword::new("quorum", Leaf, Full, |p, n, cx| {
        let line = Line::of(n);
        let Some(v) = line.slot(cx, 1) else { return };
        let q = match read_unsigned(v, 1, 65535, true) {
            Ok(q) => q as u32,
            Err(e) => {
                line.error(
                    cx,
                    1,
                    format!(
                        "{}; Quorum ({v}) for vrrp_track_process {} must be between [1..65535] \
                         inclusive. Ignoring...{}",
                        e.msg,
                        p.name,
                        lenient_note(&e)
                    ),
                );
                match e.lenient {
                    Some(x) => x as u32,
                    None => return,
                }
            }
        };
        if p.quorum_max.is_some_and(|m| q > m) {
            line.error(cx, 1, "Quorum is greater than quorum_max - ignoring");
            return;
        }
        p.quorum = q;
    }),
    Keyword::new("quorum_max", Leaf, Full, |p, n, cx| {
        let line = Line::of(n);
        let Some(v) = line.slot(cx, 1) else { return };
        let m = match read_unsigned(v, 0, 65535, true) {
            Ok(m) => m as u32,
            Err(e) => {
                line.error(
                    cx,
                    1,
                    format!(
                        "{}; quorum_max ({v}) for vrrp_track_process {} must be between [0..65535] \
                         inclusive. Ignoring...{}",
                        e.msg,
                        p.name,
                        lenient_note(&e)
                    ),
                );
                match e.lenient {
                    Some(x) => x as u32,
                    None => return,
                }
            }
        };
        if (m != 0 || p.quorum > 1) && m < p.quorum {
            line.error(cx, 1, "quorum_max is less than quorum - ignoring");
            return;
        }
        p.quorum_max = Some(m);
        if m == 0 {
            p.quorum = 0;
        } else if p.quorum == 0 {
            p.quorum = 1;
        }
    }),
    Keyword::new("delay", Leaf, Full, |p, n, cx| {
        if let Some(t) = process_delay(p, n, cx, "") {
            p.terminate_delay = Some(t);
            p.fork_delay = Some(t);
        }
    }),
    Keyword::new("terminate_delay", Leaf, Full, |p, n, cx| {
        if let Some(t) = process_delay(p, n, cx, "terminate_") {
            p.terminate_delay = Some(t);
        }
    }),
    Keyword::new("fork_delay", Leaf, Full, |p, n, cx| {
        if let Some(t) = process_delay(p, n, cx, "fork_") {
            p.fork_delay = Some(t);
        }
    }),
    Keyword::new("full_command", Leaf, Full, |p, _n, _cx| {
        p.full_command = true;
    }),
];

// ===== bfd_instance =====

/// The parse state of a bfd_instance: the model and whether keepalived's BFD
/// process keeps it.
pub(crate) struct BfdBuild {
    bfd: BfdInstance,
    /// Set when a malformed neighbour address made keepalived drop the instance.
    dropped: bool,
}

pub fn apply_bfd_instance(cfg: &mut Config, node: &Node, cx: &mut Cx) {
    let line = Line::of(node);
    let Some(name) = line.slot(cx, 1) else { return };
    if name.len() >= 32 {
        line.error(
            cx,
            1,
            format!(
                "Configuration error: BFD instance {name} name too long (maximum length is 31 \
                 characters) - ignoring"
            ),
        );
        return;
    }
    let vrrp_key = format!("bfd_instance.{name}");
    if cx.spans.contains_key(&vrrp_key) {
        line.error(
            cx,
            1,
            format!("Configuration error: BFD instance {name} already configured - ignoring"),
        );
        return;
    }
    // keepalived's VRRP process knows every named bfd_instance, whatever its
    // BFD process later makes of it: that is what track_bfd resolves against.
    cx.remember(vrrp_key, node);
    let mut b = BfdBuild {
        bfd: BfdInstance {
            name: name.to_owned(),
            ..Default::default()
        },
        dropped: false,
    };
    let end = cx.apply_block(&mut b, "bfd_instance", node, BFD_INSTANCE);
    // keepalived makes these checks when it reads the block's `}`.
    let end = end_of_block(node, end);
    if b.dropped {
        return;
    }
    // keepalived 2.2.7 means to say "neighbour" after `neighbour_ip` but
    // tests the wrong word, so it always says "neighbor".
    let nb = "neighbor";
    let bfd = &mut b.bfd;
    let Some(nbr) = bfd.neighbor_ip else {
        cx.report_loc(Severity::Error, end.clone(), "bfd_instance", format!("Configuration error: BFD instance {name} has no {nb} address set, disabling instance"),
        );
        return;
    };
    if let Some(src) = bfd.source_ip {
        if src.is_ipv4() != nbr.is_ipv4() {
            cx.report_loc(Severity::Error, end.clone(), "bfd_instance", format!(
                    "Configuration error: BFD instance {name} source address {src} and {nb} address \
                     {nbr} are not of the same family, disabling instance"
                ),
            );
            return;
        }
    }
    if cfg
        .bfd_instance
        .iter()
        .any(|o| o.neighbor_ip == Some(nbr) && o.source_ip == bfd.source_ip)
    {
        let msg = match bfd.source_ip {
            Some(src) => format!(
                "Configuration error: BFD instance {name} has duplicate source/{nb} address \
                 {src}/{nbr}, ignoring instance"
            ),
            None => format!(
                "Configuration error: BFD instance {name} has duplicate {nb} address {nbr}, ignoring instance"
            ),
        };
        cx.report_loc(Severity::Error, end.clone(), "bfd_instance", msg);
        return;
    }
    let ttl = bfd.ttl.unwrap_or(if nbr.is_ipv4() { 255 } else { 64 });
    if bfd.max_hops.is_some_and(|h| h > i16::from(ttl)) {
        cx.report_loc(
            Severity::Error,
            end.clone(),
            "bfd_instance",
            format!("BFD instance {name}: max_hops exceeds ttl/hoplimit - setting to ttl/hoplimit"),
        );
        bfd.max_hops = Some(i16::from(ttl));
    }
    cfg.bfd_instance.push(b.bfd);
}

fn bfd_interval(b: &mut BfdBuild, n: &Node, cx: &mut Cx, what: &str, min_ms: u64) -> Option<Timer> {
    let line = Line::of(n);
    let v = line.slot(cx, 1)?;
    let max_ms = u64::from(u32::MAX) / 1000;
    let (val, msgs) = read_decimal(v, min_ms * 1000, max_ms * 1000, 3, false);
    if val.is_some() && !msgs.is_empty() {
        line.error(cx, 1, msgs.join("; "));
    }
    let Some(us) = val else {
        line.error(
            cx,
            1,
            format!(
                "{}; Configuration error: BFD instance {} {what} value {v} is not valid (must be in \
                 range [{min_ms}-{max_ms}]), ignoring",
                msgs.join("; "),
                b.bfd.name
            ),
        );
        return None;
    };
    if us > 10_000 * 1000 {
        line.warn(
            cx,
            1,
            format!(
                "Configuration warning: BFD instance {} {what} value {v} is larger than max sensible (10000)",
                b.bfd.name
            ),
        );
    }
    Some(Timer::from_micros(us))
}

/// The address argument of a bfd_instance keyword; `Err` when malformed,
/// `Ok(None)` when missing (already reported as fatal).
fn bfd_addr(n: &Node, cx: &mut Cx) -> Result<Option<std::net::IpAddr>, ()> {
    let line = Line::of(n);
    let Some(v) = line.slot(cx, 1) else {
        return Ok(None);
    };
    super::addr::parse_sockaddr(v).map(Some).ok_or(())
}

pub(crate) static BFD_INSTANCE: &[Keyword<BfdBuild>] = &[
    Keyword::new("neighbor_ip", Leaf, Full, bfd_neighbor),
    Keyword::new("neighbour_ip", Leaf, Full, bfd_neighbor),
    Keyword::new("source_ip", Leaf, Full, |b, n, cx| {
        if b.dropped {
            return;
        }
        match bfd_addr(n, cx) {
            Ok(a) => b.bfd.source_ip = a.or(b.bfd.source_ip),
            Err(()) => {
                let line = Line::of(n);
                line.error(
                    cx,
                    1,
                    format!(
                        "Configuration error: BFD instance {} has malformed source address {}, ignoring",
                        b.bfd.name,
                        line.get(1).unwrap_or("")
                    ),
                );
            }
        }
    }),
    Keyword::new("min_rx", Leaf, Full, |b, n, cx| {
        if let Some(t) = bfd_interval(b, n, cx, "min_rx", 1) {
            b.bfd.min_rx = t;
        }
    }),
    Keyword::new("min_tx", Leaf, Full, |b, n, cx| {
        if let Some(t) = bfd_interval(b, n, cx, "min_tx", 1) {
            b.bfd.min_tx = t;
        }
    }),
    Keyword::new("idle_tx", Leaf, Full, |b, n, cx| {
        if let Some(t) = bfd_interval(b, n, cx, "idle_tx", 1000) {
            b.bfd.idle_tx = t;
        }
    }),
    Keyword::new("multiplier", Leaf, Full, |b, n, cx| {
        let line = Line::of(n);
        let Some(v) = line.slot(cx, 1) else { return };
        match read_unsigned(v, 1, 255, false) {
            Ok(m) => b.bfd.multiplier = m as u8,
            Err(e) => line.error(
                cx,
                1,
                format!(
                    "{}; Configuration error: BFD instance {} multiplier value {v} not valid (must be \
                     in range [1-255]), ignoring",
                    e.msg, b.bfd.name
                ),
            ),
        }
    }),
    Keyword::new("passive", Leaf, Full, |b, _n, _cx| {
        b.bfd.passive = true;
    }),
    Keyword::new("ttl", Leaf, Full, bfd_ttl),
    Keyword::new("hoplimit", Leaf, Full, bfd_ttl),
    Keyword::new("max_hops", Leaf, Full, |b, n, cx| {
        let line = Line::of(n);
        let Some(v) = line.slot(cx, 1) else { return };
        match read_int(v, -1, 255, false) {
            Ok(h) => b.bfd.max_hops = Some(h as i16),
            Err(e) => line.error(
                cx,
                1,
                format!(
                    "{}; Configuration error: BFD instance {} max_hops value {v} not valid (must be in \
                     range [-1-255]), ignoring",
                    e.msg, b.bfd.name
                ),
            ),
        }
    }),
    Keyword::new("weight", Leaf, Full, |b, n, cx| {
        let line = Line::of(n);
        let Some(v) = line.slot(cx, 1) else { return };
        match read_int(v, -253, 253, true) {
            Ok(w) => b.bfd.weight = w as i32,
            Err(e) => {
                line.error(
                    cx,
                    1,
                    format!(
                        "{}; Configuration error: BFD instance {} weight value {v} not valid (must be in \
                         range [-253-253]), ignoring{}",
                        e.msg,
                        b.bfd.name,
                        lenient_note(&e)
                    ),
                );
                if let Some(w) = e.lenient {
                    b.bfd.weight = w as i32;
                }
            }
        }
        if let Some(opt) = line.get(2) {
            if opt == "reverse" {
                b.bfd.weight_reverse = true;
            } else {
                line.error(
                    cx,
                    2,
                    format!(
                        "Configuration error: BFD instance {} unknown weight option {opt}",
                        b.bfd.name
                    ),
                );
            }
        }
    }),
    Keyword::new("vrrp", Leaf, Full, |b, _n, _cx| {
        b.bfd.vrrp = true;
    }),
    Keyword::new("checker", Leaf, Full, |b, _n, _cx| {
        b.bfd.checker = true;
    }),
];

fn bfd_neighbor(b: &mut BfdBuild, n: &Node, cx: &mut Cx) {
    if b.dropped {
        return;
    }
    match bfd_addr(n, cx) {
        Ok(a) => b.bfd.neighbor_ip = a.or(b.bfd.neighbor_ip),
        Err(()) => {
            let line = Line::of(n);
            let nb = "neighbor";
            line.error(
                cx,
                1,
                format!(
                    "Configuration error: BFD instance {} has malformed {nb} address {}, ignoring instance",
                    b.bfd.name,
                    line.get(1).unwrap_or("")
                ),
            );
            b.dropped = true;
        }
    }
}

fn bfd_ttl(b: &mut BfdBuild, n: &Node, cx: &mut Cx) {
    let line = Line::of(n);
    let Some(v) = line.slot(cx, 1) else { return };
    match read_unsigned(v, 1, 255, false) {
        Ok(t) => b.bfd.ttl = Some(t as u8),
        Err(e) => line.error(
            cx,
            1,
            format!(
                "{}; Configuration error: BFD instance {} ttl/hoplimit value {v} not valid (must be in \
                 range [1-255]), ignoring",
                e.msg, b.bfd.name
            ),
        ),
    }
}

// ===== track_* list items =====

/// What a `track_*` item refers to, for keepalived's wording.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum TrackKind {
    Script,
    File,
    Process,
    Bfd,
}

impl TrackKind {
    fn noun(self) -> &'static str {
        match self {
            TrackKind::Script => "script",
            TrackKind::File => "file",
            TrackKind::Process => "process",
            TrackKind::Bfd => "bfd",
        }
    }
}

/// One `track_script`/`track_file`/`track_process`/`track_bfd` item of
/// `owner` (an instance or sync group name).  `known` says whether the name
/// was defined before (keepalived resolves these while reading).
pub(crate) fn parse_tracked_ref(
    cx: &mut Cx,
    line: &Line,
    owner: &str,
    kind: TrackKind,
    known: bool,
    existing: &[TrackedRef],
) -> Option<TrackedRef> {
    let name = line.get(0)?;
    let noun = kind.noun();
    if !known {
        line.error(
            cx,
            0,
            format!("({owner}) track {noun} {name} not found, ignoring..."),
        );
        return None;
    }
    if existing.iter().any(|e| e.name == name) {
        line.error(
            cx,
            0,
            format!("({owner}) duplicate track_{noun} {name} - ignoring"),
        );
        return None;
    }
    let mut t = TrackedRef {
        name: name.to_owned(),
        weight: None,
        weight_reverse: None,
    };
    if line.len() < 2 {
        return Some(t);
    }
    if line.get(1) != Some("weight") {
        let opt = line.get(1).unwrap_or("");
        let msg = match kind {
            TrackKind::Bfd => format!("({owner}) unknown track bfd {name} option {opt} - ignoring"),
            _ => format!("({owner}) unknown track {noun} option {opt} - ignoring"),
        };
        line.error(cx, 1, msg);
        return None;
    }
    let Some(v) = line.get(2) else {
        line.error(
            cx,
            1,
            format!("({owner}) weight without value specified for track {noun} {name} - ignoring"),
        );
        return None;
    };
    let (lo, hi) = if kind == TrackKind::Bfd {
        (-253, 253)
    } else {
        (-254, 254)
    };
    match read_int(v, lo, hi, true) {
        Ok(w) if kind == TrackKind::Script && w.abs() == 254 => {
            line.error(
                cx,
                2,
                format!("({owner}) weight for {name} cannot be +/-254. Setting to +/-253"),
            );
            t.weight = Some(if w < 0 { -253 } else { 253 });
        }
        Ok(w) => t.weight = Some(w as i32),
        Err(e) => {
            let msg = match kind {
                TrackKind::Script => format!(
                    "({owner}) track script {name}: weight must be between [-253..253] inclusive, ignoring..."
                ),
                TrackKind::File => format!(
                    "({owner}) weight for track file {name} must be in [-254..254] inclusive. Ignoring..."
                ),
                TrackKind::Process => format!(
                    "({owner}) weight for track process {name} must be in [-254..254] inclusive. Ignoring..."
                ),
                TrackKind::Bfd => format!(
                    "({owner}) weight for track bfd {name} must be in [-253..253] inclusive. Ignoring..."
                ),
            };
            line.error(cx, 2, format!("{}; {msg}{}", e.msg, lenient_note(&e)));
            t.weight = e.lenient.map(|x| x as i32);
        }
    }
    if let Some(opt) = line.get(3) {
        match opt {
            "reverse" => t.weight_reverse = Some(true),
            "noreverse" => t.weight_reverse = Some(false),
            _ => {
                let msg = match kind {
                    TrackKind::Script => {
                        format!(
                            "({owner}) unknown track_script {name} weight option {opt} - ignoring"
                        )
                    }
                    TrackKind::File => {
                        format!(
                            "({owner}) unknown track file {name} weight option {opt} - ignoring"
                        )
                    }
                    TrackKind::Process => {
                        format!(
                            "({owner}) unknown track_process {name} weight option {opt} - ignoring"
                        )
                    }
                    TrackKind::Bfd => {
                        format!("({owner}) unknown track bfd {name} weight option {opt} - ignoring")
                    }
                };
                line.error(cx, 3, msg);
                // keepalived drops a file or bfd item with a bad option, keeps the others.
                if matches!(kind, TrackKind::File | TrackKind::Bfd) {
                    return None;
                }
            }
        }
    }
    Some(t)
}

/// One `track_interface` item: `IFNAME [weight N [reverse]]`.
pub(crate) fn parse_tracked_interface(
    cx: &mut Cx,
    line: &Line,
    owner: &str,
    existing: &[TrackedInterface],
) -> Option<TrackedInterface> {
    let name = line.get(0)?;
    if existing.iter().any(|e| e.name == name) {
        line.error(
            cx,
            0,
            format!("({owner}) duplicate track_interface {name} - ignoring"),
        );
        return None;
    }
    let mut t = TrackedInterface {
        name: name.to_owned(),
        weight: 0,
        weight_reverse: false,
    };
    if line.len() < 2 {
        return Some(t);
    }
    if line.get(1) != Some("weight") {
        line.error(
            cx,
            1,
            format!(
                "({owner}) unknown track_interface {name} option {} - ignoring",
                line.get(1).unwrap_or("")
            ),
        );
        return None;
    }
    let Some(v) = line.get(2) else {
        line.error(
            cx,
            1,
            format!(
                "({owner}) weight without value specified for track_interface {name} - ignoring"
            ),
        );
        return None;
    };
    match read_int(v, -254, 254, true) {
        Ok(w) if w.abs() == 254 => {
            line.error(
                cx,
                2,
                format!("({owner}) weight for {name} cannot be +/-254. Setting to +/-253"),
            );
            t.weight = if w < 0 { -253 } else { 253 };
        }
        Ok(w) => t.weight = w as i32,
        Err(e) => {
            line.error(
                cx,
                2,
                format!(
                    "{}; ({owner}) weight {v} for {name} must be between [-253..253] inclusive. Ignoring...{}",
                    e.msg,
                    lenient_note(&e)
                ),
            );
            t.weight = e.lenient.map_or(0, |x| x as i32);
        }
    }
    if let Some(opt) = line.get(3) {
        if opt == "reverse" {
            t.weight_reverse = true;
        } else {
            line.error(
                cx,
                3,
                format!("({owner}) unknown track_interace {name} weight option {opt} - ignoring"),
            );
        }
    }
    Some(t)
}

/// A keepalived true/false argument that defaults to true when absent.
pub(crate) fn opt_bool(line: &Line) -> Result<bool, ()> {
    match line.get(1) {
        None => Ok(true),
        Some(s) => true_false(s).ok_or(()),
    }
}
