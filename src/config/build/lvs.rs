//! LVS blocks: virtual_server_group, virtual_server, real_server, the checkers, SSL.
//!
//! Behaviour follows keepalived 2.2.7's checker parser (`check_parser.c`,
//! `check_api.c`, `check_http.c`, `check_misc.c`, `check_smtp.c`,
//! `check_dns.c`, `check_udp.c`, `check_file.c`, `check_bfd.c`,
//! `check_data.c`): the same keywords in the same blocks, the same values
//! refused, and the same things dropped (an entry, a real server, a checker,
//! a whole virtual server).  Two kinds of problem are kept apart:
//!
//! - keepalived reads some arguments unconditionally; when one is missing it
//!   stops with "missing a parameter" (exit 2) or crashes.  Those are
//!   [`Severity::Fatal`](crate::config::diag::Severity::Fatal) here.
//! - everything keepalived reports with `report_config_error` is an error
//!   (its `-t` fails), even the messages it words as warnings; its
//!   `log_message`-only remarks are warnings.
//!
//! What needs the whole configuration (group references, defaults keepalived
//! fills in with a complaint, duplicates, quorum, ports, scripts) is in
//! [`validate`], which also runs on a model loaded from TOML.
use super::scripts::{check_script, check_script_user, ScriptUse};
use super::{
    collect, end_of_block, push_first_exact, Cx, Keyword, KeywordInfo, Kind::*, Support::*,
};
use crate::config::ast::{split_command, Node};
use crate::config::diag::Severity;
use crate::config::model::lvs::{
    decode_hex, BfdCheck, Checker, CheckerScript, ConnectionSettings, DnsCheck, DnsType,
    DroppedService, FileCheck, ForwardingMethod, HttpCheck, HttpProtocol, LvsMethod, MiscCheck,
    PersistenceGranularity, PingCheck, RealServer, RegexStack, Scheduler, ServiceFamily,
    ServiceProtocol, SmtpCheck, SmtpHost, SorryServer, SslContext, StatusCodeRange, TcpCheck,
    TunnelChecksum, TunnelType, UdpCheck, Url, VirtualServer, VirtualServerGroup, VsgFwmark,
    VsgRange, DEFAULT_PERSISTENCE_TIMEOUT, REGEX_OPTIONS,
};
use crate::config::model::{Config, ScriptUser};
use crate::config::values::{parse_bool_word, Timer};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::{Deref, DerefMut};

// ===== value readers (keepalived's read_unsigned, read_timer, inet_stosockaddr) =====

/// keepalived's TIMER_MAXIMUM (ULONG_MAX - 1 microseconds).
const TIMER_MAX: Timer = Timer::from_micros(u64::MAX - 1);
/// The upper bound of connect timeouts: UINT_MAX microseconds.
const CONNECT_TIMEOUT_MAX: Timer = Timer::from_micros(u32::MAX as u64);
/// `IPVS_WEIGHT_LIMIT` (INT32_MAX).
const WEIGHT_LIMIT: u64 = i32::MAX as u64;
/// `LVS_MAX_TIMEOUT`: 31 days.
const LVS_MAX_TIMEOUT: u64 = 86400 * 31;
/// `IP_VS_PENAME_MAXLEN` less the terminating NUL.
const PE_NAME_MAX: usize = 15;
/// `IFNAMSIZ` less the terminating NUL.
const IFNAME_MAX: usize = 15;
/// `BFD_INAME_MAX` less the terminating NUL.
const BFD_NAME_MAX: usize = 31;

/// keepalived reads this argument without checking that it is there; when it
/// is missing keepalived stops with "missing a parameter" (exit 2), so the
/// configuration cannot run.
fn required<'n>(cx: &mut Cx, n: &'n Node, i: usize) -> Option<&'n str> {
    match n.arg_str(i) {
        Some(s) => Some(s),
        None => {
            cx.stop(
                n,
                i,
                format!(
                    "'{}' is missing a parameter at word position {} - keepalived cannot run with this",
                    n.name(),
                    i + 2
                ),
            );
            None
        }
    }
}

/// C's strtoul: leading blanks, an optional '+', digits of `radix` (a `0x`
/// prefix allowed in base 16).  Returns the value (saturated) and the rest.
fn strtoul(s: &str, radix: u32) -> (u64, &str) {
    let t = s.trim_start_matches([' ', '\t']);
    let t = t.strip_prefix('+').unwrap_or(t);
    let t = if radix == 16 {
        match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
            Some(r) if r.starts_with(|c: char| c.is_ascii_hexdigit()) => r,
            _ => t,
        }
    } else {
        t
    };
    let end = t.find(|c: char| !c.is_digit(radix)).unwrap_or(t.len());
    if end == 0 {
        return (0, s);
    }
    let v = t[..end]
        .chars()
        .try_fold(0u64, |acc, c| {
            acc.checked_mul(u64::from(radix))?
                .checked_add(u64::from(c.to_digit(radix)?))
        })
        .unwrap_or(u64::MAX);
    (v, &t[end..])
}

/// keepalived's read_unsigned: the number and the reason it was refused.
fn read_unsigned(s: &str, min: u64, max: u64) -> Result<u64, String> {
    // Plain decimal digits (almost every number of a configuration): the
    // value directly. Nineteen digits cannot overflow a u64, and the
    // general path below gives the same value and checks for them.
    if !s.is_empty() && s.len() <= 19 && s.bytes().all(|b| b.is_ascii_digit()) {
        let v = s
            .bytes()
            .fold(0u64, |acc, b| acc * 10 + u64::from(b - b'0'));
        if v <= u64::from(u32::MAX) && (min..=max).contains(&v) {
            return Ok(v);
        }
    }
    read_unsigned_general(s, min, max)
}

/// [`read_unsigned`] for any text.
fn read_unsigned_general(s: &str, min: u64, max: u64) -> Result<u64, String> {
    let t = s.trim_start_matches([' ', '\t']);
    if t.starts_with('-') {
        return Err(format!("negative number '{s}'"));
    }
    let (v, rest) = strtoul(t, 10);
    if !rest.is_empty() || t.is_empty() {
        return Err(format!("invalid number '{s}'"));
    }
    if v > u64::from(u32::MAX) && max <= u64::from(u32::MAX) {
        return Err(format!("number '{s}' outside unsigned integer range"));
    }
    if v < min || v > max {
        return Err(format!("number '{s}' outside range [{min}, {max}]"));
    }
    Ok(v)
}

/// keepalived's read_int.
fn read_int(s: &str, min: i64, max: i64) -> Result<i64, String> {
    let t = s.trim_start_matches([' ', '\t']);
    let (neg, digits) = match t.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, t),
    };
    if digits.starts_with(['-', '+']) {
        return Err(format!("invalid number '{s}'"));
    }
    let (v, rest) = strtoul(digits, 10);
    if !rest.is_empty() || digits.is_empty() {
        return Err(format!("invalid number '{s}'"));
    }
    let v = i64::try_from(v).map_err(|_| format!("number '{s}' outside integer range"))?;
    let v = if neg { -v } else { v };
    if v < min || v > max {
        return Err(format!("number '{s}' outside range [{min}, {max}]"));
    }
    Ok(v)
}

/// keepalived's read_timer: decimal seconds with up to 6 decimals.  More
/// decimals are reported and rounded (keepalived then uses the value).
fn read_timer(cx: &mut Cx, n: &Node, i: usize, min: Timer, max: Timer) -> Result<Timer, String> {
    let s = n.arg_str(i).unwrap_or("");
    if s.starts_with('-') {
        return Err(format!("negative number '{s}'"));
    }
    // strtoull skips blanks and a '+'.
    let t = s.trim_start_matches([' ', '\t']);
    let t = t.strip_prefix('+').unwrap_or(t);
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(format!("invalid number '{s}'"));
    }
    let mut round_up = false;
    let frac6 = if frac.len() > 6 {
        cx.error(n, i, format!("number '{s}' has too many decimal places"));
        round_up = frac.as_bytes()[6] >= b'5';
        &frac[..6]
    } else {
        frac
    };
    let whole: u64 = if int.is_empty() {
        0
    } else {
        int.parse()
            .map_err(|_| format!("number '{s}' outside unsigned decimal range"))?
    };
    let mut micros: u64 = 0;
    for b in frac6.bytes() {
        micros = micros * 10 + u64::from(b - b'0');
    }
    for _ in frac6.len()..6 {
        micros *= 10;
    }
    let total = whole
        .checked_mul(1_000_000)
        .and_then(|w| w.checked_add(micros))
        .and_then(|t| t.checked_add(u64::from(round_up)))
        .ok_or_else(|| format!("number '{s}' outside unsigned decimal range"))?;
    let t = Timer::from_micros(total);
    if t < min || t > max {
        return Err(format!("number '{s}' outside range [{min}, {max}]"));
    }
    Ok(t)
}

/// A required unsigned argument; on a bad value report `what` and ignore it.
fn req_unsigned(cx: &mut Cx, n: &Node, i: usize, min: u64, max: u64, what: &str) -> Option<u64> {
    let s = required(cx, n, i)?;
    match read_unsigned(s, min, max) {
        Ok(v) => Some(v),
        Err(e) => {
            cx.error(n, i, format!("{what} '{s}' invalid: {e} - ignoring"));
            None
        }
    }
}

/// A required timer argument; on a bad value report `what` and ignore it.
fn req_timer(cx: &mut Cx, n: &Node, i: usize, min: Timer, max: Timer, what: &str) -> Option<Timer> {
    let s = required(cx, n, i)?;
    match read_timer(cx, n, i, min, max) {
        Ok(t) => Some(t),
        Err(e) => {
            cx.error(n, i, format!("{what} '{s}' invalid: {e} - ignoring"));
            None
        }
    }
}

/// keepalived's optional BOOL (check_true_false, case-sensitive); no
/// argument means true.  On a bad word report and return None (ignored).
fn opt_bool(cx: &mut Cx, n: &Node, what: &str) -> Option<bool> {
    match n.arg_str(0) {
        None => Some(true),
        Some(s) => match s {
            "true" | "on" | "yes" => Some(true),
            "false" | "off" | "no" => Some(false),
            _ => {
                let hint = if parse_bool_word(s).is_some() {
                    " (keepalived only accepts lower case)"
                } else {
                    ""
                };
                cx.error(
                    n,
                    0,
                    format!("Invalid {what} parameter {s}{hint} - ignoring"),
                );
                None
            }
        },
    }
}

/// A keyword that takes no value in keepalived (its arguments are ignored).
fn no_value(cx: &mut Cx, n: &Node) {
    if !n.args.is_empty() {
        cx.warn(
            n,
            0,
            format!(
                "'{}' takes no value - '{}' ignored (keepalived sets it regardless)",
                n.name(),
                n.raw_args()
            ),
        );
    }
}

/// keepalived's inet_stosockaddr without port: the family is IPv6 when the
/// text has a ':'; anything from the first '-' (else '/') on is ignored.
fn parse_inet_addr(s: &str) -> Option<IpAddr> {
    // One pass over the bytes for the first '-', the first '/' and any ':'
    // (three searches cost more than the address parse on short text).
    let (mut dash, mut slash, mut colon) = (None, None, false);
    for (i, b) in s.bytes().enumerate() {
        match b {
            b'-' if dash.is_none() => dash = Some(i),
            b'/' if slash.is_none() => slash = Some(i),
            b':' => colon = true,
            _ => {}
        }
    }
    let cut = dash.or(slash).unwrap_or(s.len());
    let a = &s[..cut];
    if colon {
        a.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
    } else {
        a.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
    }
}

/// A port as keepalived reads it with an address: all zeros (or empty) is
/// "no port"; otherwise 1..=65535.
fn parse_port(s: Option<&str>) -> Result<Option<u16>, String> {
    match s {
        None => Ok(None),
        Some(p) if p.bytes().all(|b| b == b'0') => Ok(None),
        Some(p) => read_unsigned(p, 1, 65535).map(|v| Some(v as u16)),
    }
}

/// glibc's inet_aton (what getaddrinfo with AI_NUMERICHOST accepts for IPv4):
/// 1 to 4 parts in decimal, octal (leading 0) or hex (0x); the last part
/// fills the remaining bytes.
fn inet_aton(s: &str) -> Option<Ipv4Addr> {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let mut vals = Vec::with_capacity(parts.len());
    for p in &parts {
        let (digits, radix) = if let Some(h) = p.strip_prefix("0x").or_else(|| p.strip_prefix("0X"))
        {
            (h, 16)
        } else if p.len() > 1 && p.starts_with('0') {
            (&p[1..], 8)
        } else {
            (*p, 10)
        };
        if digits.is_empty() && radix != 16 {
            return None;
        }
        let v = if digits.is_empty() {
            0
        } else {
            u32::from_str_radix(digits, radix).ok()?
        };
        vals.push(v);
    }
    let last = vals.len() - 1;
    let mut addr: u32 = 0;
    for (i, v) in vals.iter().enumerate() {
        if i < last {
            if *v > 255 {
                return None;
            }
            addr |= v << (24 - 8 * i);
        } else {
            let bits = 32 - 8 * last as u32;
            if bits < 32 && *v >= (1u32 << bits) {
                return None;
            }
            addr |= v;
        }
    }
    Some(Ipv4Addr::from(addr))
}

/// A command line given to notify_up/notify_down/quorum_up/quorum_down:
/// keepalived re-splits the line with quotes and escapes; the first word is
/// the command line (split again when run), the next ones user and group.
fn checker_script(cx: &mut Cx, n: &Node) -> Option<CheckerScript> {
    required(cx, n, 0)?;
    let words = match split_command(&n.raw_args()) {
        Ok(w) => w,
        Err(e) => {
            cx.error(n, 0, format!("{e} - script ignored"));
            return None;
        }
    };
    let Some(script) = words.first().cloned() else {
        cx.warn(n, 0, "unable to parse the script - ignored");
        return None;
    };
    let user = words.get(1).map(|u| ScriptUser {
        user: u.clone(),
        group: words.get(2).cloned(),
    });
    if words.len() > 3 {
        cx.warn(
            n,
            3,
            "extra words after the user and group ignored (quote the whole command line)",
        );
    }
    Some(CheckerScript { script, user })
}

/// `NAT|DR|TUN [type ipip|gue|gre] [port N] [nocsum|csum|remcsum]`.
/// Returns the new value.  As in keepalived, a bad tunnel option keeps the
/// new method but the previous tunnel settings.
fn parse_lvs_method(
    cx: &mut Cx,
    n: &Node,
    prev: Option<LvsMethod>,
    server: &str,
) -> Option<LvsMethod> {
    let s = required(cx, n, 0)?;
    let method = match s {
        "NAT" => ForwardingMethod::Nat,
        "DR" => ForwardingMethod::Dr,
        "TUN" => ForwardingMethod::Tun,
        _ => {
            cx.error(
                n,
                0,
                format!(
                    "unknown [{s}] routing method for {server} server (NAT, DR or TUN) - ignoring"
                ),
            );
            return None;
        }
    };
    let mut kept = prev.unwrap_or_default();
    kept.method = method;
    let mut tunnel_type = TunnelType::Ipip;
    let mut port: u16 = 0;
    let mut csum = TunnelChecksum::Nocsum;
    let mut i = 1;
    while i < n.args.len() {
        let w = n.args[i].text();
        match w {
            "type" => {
                let Some(t) = n.arg_str(i + 1) else {
                    cx.error(
                        n,
                        i,
                        format!(
                            "Missing tunnel type for {server} server - tunnel settings ignored"
                        ),
                    );
                    return Some(kept);
                };
                tunnel_type = match t {
                    "ipip" => TunnelType::Ipip,
                    "gue" => TunnelType::Gue,
                    "gre" => TunnelType::Gre,
                    _ => {
                        cx.error(n, i + 1, format!("Unknown tunnel type {t} for {server} server - tunnel settings ignored"));
                        return Some(kept);
                    }
                };
                i += 1;
            }
            "port" => {
                let Some(p) = n.arg_str(i + 1) else {
                    cx.error(
                        n,
                        i,
                        format!(
                            "Missing port for {server} server gue tunnel - tunnel settings ignored"
                        ),
                    );
                    return Some(kept);
                };
                match read_unsigned(p, 1, 65535) {
                    Ok(v) => port = v as u16,
                    Err(e) => {
                        cx.error(n, i + 1, format!("Invalid gue tunnel port {p} for {server} server: {e} - tunnel settings ignored"));
                        return Some(kept);
                    }
                }
                i += 1;
            }
            "nocsum" => csum = TunnelChecksum::Nocsum,
            "csum" => csum = TunnelChecksum::Csum,
            "remcsum" => csum = TunnelChecksum::Remcsum,
            _ => {
                cx.error(
                    n,
                    i,
                    format!(
                        "Invalid tunnel option {w} for {server} server - tunnel settings ignored"
                    ),
                );
                return Some(kept);
            }
        }
        i += 1;
    }
    if (tunnel_type == TunnelType::Gue) != (port != 0) {
        cx.error(
            n,
            0,
            "gue tunnels require port, otherwise cannot have port - tunnel settings ignored",
        );
        return Some(kept);
    }
    if tunnel_type == TunnelType::Ipip && csum != TunnelChecksum::Nocsum {
        cx.error(
            n,
            0,
            "ipip tunnels do not support checksum option - tunnel settings ignored",
        );
        return Some(kept);
    }
    if tunnel_type == TunnelType::Gre && csum == TunnelChecksum::Remcsum {
        cx.error(
            n,
            0,
            "gre tunnels do not support remote checksum option - tunnel settings ignored",
        );
        return Some(kept);
    }
    Some(LvsMethod {
        method,
        tunnel_type,
        tunnel_port: (port != 0).then_some(port),
        tunnel_checksum: csum,
    })
}

/// The source-map key `{parent}.{field}[{index}]`, built directly: there is
/// one for each real server and each checker, and `format!` costs several
/// times as much.
fn indexed_key(parent: &str, field: &str, index: usize) -> String {
    let mut key = String::with_capacity(parent.len() + field.len() + 24);
    key.push_str(parent);
    key.push('.');
    key.push_str(field);
    key.push('[');
    crate::config::values::push_decimal(&mut key, index as u64);
    key.push(']');
    key
}

/// `{parent}.{field}`, built directly (see [`indexed_key`]).
fn dotted(parent: &str, field: &str) -> String {
    let mut key = String::with_capacity(parent.len() + field.len() + 1);
    key.push_str(parent);
    key.push('.');
    key.push_str(field);
    key
}

/// `{field}[{index}]` for a top-level block (see [`indexed_key`]).
fn top_key(field: &str, index: usize) -> String {
    let mut key = indexed_key("", field, index);
    key.remove(0);
    key
}

/// Remember where the last `keyword` of a block is, for later checks.
fn remember_last(cx: &mut Cx, key: String, nodes: &[Node], keyword: &str) {
    if let Some(n) = nodes.iter().rev().find(|n| n.name() == keyword) {
        cx.remember(key, n);
    }
}

/// Forget what was remembered under `prefix` (a block that was dropped).
/// Keys under a prefix are only ever stored after the prefix itself (see
/// [`remember_anew`]), so a missing prefix means nothing to scan: this keeps
/// loading linear in the number of servers.
fn forget(cx: &mut Cx, prefix: &str) {
    if cx.spans.remove(prefix).is_none() {
        return;
    }
    forget_under(cx, prefix);
}

/// Forget what was remembered under `prefix.`.
fn forget_under(cx: &mut Cx, prefix: &str) {
    let dotted = format!("{prefix}.");
    cx.spans.retain(|k, _| !k.starts_with(&dotted));
}

/// `forget(cx, &key)` then `cx.remember(key, node)`, in one look-up: a new
/// block under a key starts with nothing remembered under it.
fn remember_anew(cx: &mut Cx, key: String, node: &Node) {
    use std::collections::hash_map::Entry;
    match cx.spans.entry(key) {
        Entry::Vacant(e) => {
            e.insert(node.loc().clone());
        }
        Entry::Occupied(mut e) => {
            e.insert(node.loc().clone());
            let prefix = e.key().clone();
            forget_under(cx, &prefix);
        }
    }
}

// ===== SSL =====

pub fn apply_ssl(cfg: &mut Config, node: &Node, cx: &mut Cx) {
    if cfg.ssl.is_some() {
        cx.error(
            node,
            usize::MAX,
            "SSL context already specified - replacing",
        );
    }
    let mut ssl = SslContext::default();
    cx.apply_block(&mut ssl, "SSL", node, SSL);
    cfg.ssl = Some(ssl);
}

/// `password|ca|certificate|key FILE`: keepalived names them password,
/// cafile, certfile and keyfile in its messages.
fn ssl_file(cx: &mut Cx, n: &Node, slot: &mut Option<String>, what: &str) {
    let Some(v) = n.arg_str(0) else {
        cx.error(n, usize::MAX, format!("SSL {what} missing"));
        return;
    };
    if slot.is_some() {
        cx.error(n, 0, format!("SSL {what} already specified - replacing"));
    }
    *slot = Some(v.to_owned());
}

static SSL: &[Keyword<SslContext>] = &[
    Keyword::new("password", Leaf, Full, |s, n, cx| {
        ssl_file(cx, n, &mut s.password, "password")
    }),
    Keyword::new("ca", Leaf, Full, |s, n, cx| {
        ssl_file(cx, n, &mut s.ca, "cafile")
    }),
    Keyword::new("certificate", Leaf, Full, |s, n, cx| {
        ssl_file(cx, n, &mut s.certificate, "certfile")
    }),
    Keyword::new("key", Leaf, Full, |s, n, cx| {
        ssl_file(cx, n, &mut s.key, "keyfile")
    }),
];

// ===== virtual_server_group =====

pub fn apply_virtual_server_group(cfg: &mut Config, node: &Node, cx: &mut Cx) {
    let Some(name) = required(cx, node, 0) else {
        return;
    };
    // keepalived hands the words after the name to its value-block reader
    // with an empty first word; the reader's complaints about extra words or
    // a missing '{' then name that empty word, which stops keepalived.
    if node.args.len() > 1 {
        cx.fatal(
            node,
            1,
            "extra words after the virtual_server_group name - keepalived 2.2.7 cannot run with this",
        );
        return;
    }
    if node.block_loc().is_none() {
        cx.fatal(
            node,
            0,
            "virtual_server_group without '{' - keepalived 2.2.7 cannot run with this",
        );
        return;
    }
    let mut g = VirtualServerGroup {
        name: name.to_owned(),
        ..Default::default()
    };
    let key = format!("virtual_server_group.{name}");
    if !cx.spans.contains_key(&key) {
        cx.remember(key, node);
    }
    for entry in node.children() {
        if entry.name().is_empty() {
            continue;
        }
        if entry.block.is_some() {
            cx.error(
                entry,
                usize::MAX,
                "unexpected block in a virtual server group entry - ignored",
            );
        }
        vsg_entry(cx, &mut g, entry);
    }
    if g.ranges.is_empty() && g.fwmarks.is_empty() {
        cx.error(
            node,
            0,
            format!("virtual server group {name} has no entries - removing"),
        );
        return;
    }
    if g.has_ipv4() && g.has_ipv6() && g.fwmark_without_family() {
        cx.error(
            node,
            0,
            format!(
                "virtual server group {name} cannot have IPv4, IPv6 and fwmark without family - removing"
            ),
        );
        return;
    }
    cfg.virtual_server_group.push(g);
}

/// One line of a virtual server group (keepalived's alloc_vsg_entry).
fn vsg_entry(cx: &mut Cx, g: &mut VirtualServerGroup, n: &Node) {
    let gname = g.name.clone();
    let addr_str = n.name();
    if addr_str == "fwmark" {
        let Some(s) = required(cx, n, 0) else { return };
        let fwmark = match read_unsigned(s, 0, u64::from(u32::MAX)) {
            Ok(v) => v as u32,
            Err(e) => {
                cx.error(
                    n,
                    0,
                    format!(
                        "({gname}): fwmark '{s}' must be in [0, {}]: {e} - ignoring",
                        u32::MAX
                    ),
                );
                return;
            }
        };
        let family = match n.arg_str(1) {
            None => None,
            Some("inet") => Some(ServiceFamily::Inet),
            Some("inet6") => Some(ServiceFamily::Inet6),
            Some(f) => {
                cx.error(
                    n,
                    1,
                    format!("({gname}): fwmark '{fwmark}' family {f} unknown - ignoring"),
                );
                return;
            }
        };
        g.fwmarks.push(VsgFwmark { fwmark, family });
        return;
    }
    let port_str = n.arg_str(0);
    let port = match parse_port(port_str) {
        Ok(p) => p,
        Err(e) => {
            cx.error(
                n,
                0,
                format!(
                    "Invalid virtual server group IP address {addr_str}/port {}: {e} - skipping",
                    port_str.unwrap_or("")
                ),
            );
            return;
        }
    };
    let Some(address) = parse_inet_addr(addr_str) else {
        cx.error(
            n,
            usize::MAX,
            format!("Invalid virtual server group IP address {addr_str} - skipping"),
        );
        return;
    };
    let v6 = address.is_ipv6();
    let range_end = if let Some((_, mask_str)) = addr_str.split_once('/') {
        let max = if v6 { 128 } else { 32 };
        let (mask, rest) = strtoul(mask_str, 10);
        if !rest.is_empty() || mask == 0 || mask > max {
            cx.error(
                n,
                usize::MAX,
                format!("Invalid netmask - {addr_str} - skipping"),
            );
            return;
        }
        let (bits, host): (u128, u32) = match address {
            IpAddr::V4(a) => (u128::from(u32::from(a)), 32 - mask as u32),
            IpAddr::V6(a) => (u128::from(a), 128 - mask as u32),
        };
        let host_mask: u128 = if host == 0 { 0 } else { (1u128 << host) - 1 };
        if bits & host_mask != 0 {
            cx.error(
                n,
                usize::MAX,
                format!("Address mask bits not empty - {addr_str} - skipping"),
            );
            return;
        }
        let last = bits | host_mask;
        match address {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from(last as u32)),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from(last)),
        }
    } else if let Some(end_str) = addr_str.find('-').map(|i| &addr_str[i + 1..]).filter(|e| {
        if v6 {
            e.contains(':')
        } else {
            e.contains('.')
        }
    }) {
        let Some(end) = parse_inet_addr(end_str) else {
            cx.error(
                n,
                usize::MAX,
                format!("Invalid range end {addr_str} - skipping"),
            );
            return;
        };
        if end.is_ipv6() != v6 {
            cx.error(
                n,
                usize::MAX,
                format!("Range address families do not match {addr_str} - skipping"),
            );
            return;
        }
        if end < address {
            cx.error(
                n,
                usize::MAX,
                format!(
                    "Address range end is less than address range start - {addr_str} - skipping"
                ),
            );
            return;
        }
        end
    } else if let Some(i) = addr_str.find('-') {
        let range_str = &addr_str[i + 1..];
        let (range, rest) = strtoul(range_str, if v6 { 16 } else { 10 });
        if !rest.is_empty() {
            cx.error(n, usize::MAX, format!("Virtual server group range '{addr_str}' has extra characters at end '{rest}' - skipping"));
            return;
        }
        if (v6 && range > 0xffff) || (!v6 && range > 255) {
            cx.error(n, usize::MAX, format!("Virtual server group range '{addr_str}' end '{range_str}' too large - skipping"));
            return;
        }
        let (start, end) = match address {
            IpAddr::V4(a) => {
                let o = a.octets();
                (
                    u64::from(o[3]),
                    IpAddr::V4(Ipv4Addr::new(o[0], o[1], o[2], range as u8)),
                )
            }
            IpAddr::V6(a) => {
                let mut s = a.segments();
                let start = u64::from(s[7]);
                s[7] = range as u16;
                (start, IpAddr::V6(Ipv6Addr::from(s)))
            }
        };
        if start >= range {
            cx.error(n, usize::MAX, format!("Address range end is not greater than address range start - {addr_str} - skipping"));
            return;
        }
        end
    } else {
        address
    };
    g.ranges.push(VsgRange {
        address,
        range_end: (range_end != address).then_some(range_end),
        port,
    });
}

// ===== virtual_server =====

/// A virtual server while its block is read: the address family keepalived
/// settles as it goes (needed to accept or refuse later lines) and the key
/// under which locations are remembered.
struct VsBuild {
    vs: VirtualServer,
    key: String,
    af: Option<ServiceFamily>,
}

impl Deref for VsBuild {
    type Target = VirtualServer;
    fn deref(&self) -> &VirtualServer {
        &self.vs
    }
}

impl DerefMut for VsBuild {
    fn deref_mut(&mut self) -> &mut VirtualServer {
        &mut self.vs
    }
}

pub fn apply_virtual_server(cfg: &mut Config, node: &Node, cx: &mut Cx) {
    let Some(first) = required(cx, node, 0) else {
        return;
    };
    let mut vs = VirtualServer::default();
    match first {
        "group" => {
            let Some(name) = node.arg_str(1) else {
                cx.stop(
                    node,
                    1,
                    "virtual_server group without a group name - keepalived 2.2.7 crashes on this",
                );
                return;
            };
            vs.group = Some(name.to_owned());
        }
        "fwmark" => {
            let Some(s) = node.arg_str(1) else {
                cx.stop(
                    node,
                    1,
                    "virtual_server fwmark without a mark - keepalived 2.2.7 crashes on this",
                );
                return;
            };
            match read_unsigned(s, 0, u64::from(u32::MAX)) {
                Ok(v) => {
                    if v == 0 {
                        cx.warn(
                            node,
                            1,
                            "fwmark 0 is no mark: keepalived 2.2.7 handles this as an address service without an address",
                        );
                    }
                    vs.fwmark = Some(v as u32);
                }
                Err(e) => {
                    cx.error(node, 1, format!("virtual server fwmark '{s}' must be in [0, {}]: {e} - ignoring the virtual server", u32::MAX));
                    return;
                }
            }
        }
        _ => {
            let port = match parse_port(node.arg_str(1)) {
                Ok(p) => p,
                Err(e) => {
                    cx.error(node, 1, format!("Invalid virtual server IP address/port {first}/{}: {e} - skipping the virtual server", node.arg_str(1).unwrap_or("")));
                    return;
                }
            };
            let Some(a) = parse_inet_addr(first) else {
                cx.error(
                    node,
                    0,
                    format!(
                        "Invalid virtual server IP address {first} - skipping the virtual server"
                    ),
                );
                return;
            };
            vs.address = Some(a);
            vs.port = port;
        }
    }
    let key = top_key("virtual_server", cfg.virtual_server.len());
    remember_anew(cx, key.clone(), node);
    let af = vs.address.as_ref().map(ServiceFamily::of);
    // Room for the real servers the block names, and no more (a capacity
    // hint only: the block reader decides what is read).
    let named = node
        .children()
        .iter()
        .filter(|c| c.name() == "real_server")
        .count();
    vs.real_server.reserve_exact(named);
    let mut b = VsBuild { vs, key, af };
    cx.apply_block(&mut b, "virtual_server", node, VIRTUAL_SERVER);
    vs_end(cx, &mut b, node);
    cfg.virtual_server.push(b.vs);
}

/// keepalived's vs_end_handler: a sorry server of the other family is dropped
/// unless tunnelled.
fn vs_end(cx: &mut Cx, b: &mut VsBuild, node: &Node) {
    let Some(s) = b.vs.sorry_server else { return };
    let method = s
        .lvs_method
        .or(b.vs.lvs_method)
        .map_or(ForwardingMethod::Nat, |m| m.method);
    if method == ForwardingMethod::Tun {
        return;
    }
    let f = ServiceFamily::of(&s.address);
    match b.af {
        None => b.af = Some(f),
        Some(af) if af != f => {
            let key = dotted(&b.key, "sorry_server");
            if !cx.spans.contains_key(&key) {
                cx.remember(key.clone(), node);
            }
            cx.report_at(
                Severity::Error,
                &key,
                "sorry_server",
                format!(
                    "Address family of virtual server and sorry server {} don't match - skipping sorry server",
                    s.address
                ),
            );
            b.vs.sorry_server = None;
        }
        _ => {}
    }
}

/// The scheduler flag keywords (keepalived's lbflags_handler): the sh-/mh-
/// flags apply only when the scheduler chosen so far is sh/mh.
fn lb_flag(b: &mut VsBuild, n: &Node, cx: &mut Cx) {
    no_value(cx, n);
    let kw = n.name();
    match kw {
        "ops" => {
            cx.remember(dotted(&b.key, "ops"), n);
            b.ops = true;
        }
        "flag-1" => b.flag_1 = true,
        "flag-2" => b.flag_2 = true,
        "flag-3" => b.flag_3 = true,
        _ => match (b.lvs_sched, kw) {
            (Some(Scheduler::Sh), "sh-port") => b.sh_port = true,
            (Some(Scheduler::Sh), "sh-fallback") => b.sh_fallback = true,
            (Some(Scheduler::Mh), "mh-port") => b.mh_port = true,
            (Some(Scheduler::Mh), "mh-fallback") => b.mh_fallback = true,
            (Some(Scheduler::Sh | Scheduler::Mh), "hashed") => b.hashed = true,
            (Some(s @ (Scheduler::Sh | Scheduler::Mh)), _) => cx.warn(
                n,
                usize::MAX,
                format!("'{kw}' has no effect with the {} scheduler - ignored", s.name()),
            ),
            _ => cx.error(
                n,
                usize::MAX,
                format!(
                    "{kw} only applies to sh scheduler - ignoring (lvs_sched must be set to sh/mh before it)"
                ),
            ),
        },
    }
}

fn quorum_script(cx: &mut Cx, b: &mut VsBuild, n: &Node, up: bool) {
    let kw = n.name();
    let slot_set = if up {
        b.quorum_up.is_some()
    } else {
        b.quorum_down.is_some()
    };
    if slot_set {
        cx.error(
            n,
            0,
            format!(
                "{kw} script already specified - ignoring {}",
                n.arg_str(0).unwrap_or("")
            ),
        );
        return;
    }
    let Some(s) = checker_script(cx, n) else {
        return;
    };
    cx.remember(dotted(&b.key, kw), n);
    if up {
        b.quorum_up = Some(s);
    } else {
        b.quorum_down = Some(s);
    }
}

static VIRTUAL_SERVER: &[Keyword<VsBuild>] = &[
    Keyword::new("ip_family", Leaf, Full, |b, n, cx| {
        let Some(s) = required(cx, n, 0) else { return };
        let f = match s {
            "inet" => ServiceFamily::Inet,
            "inet6" => ServiceFamily::Inet6,
            _ => {
                cx.error(n, 0, format!("unknown address family {s} - ignoring"));
                return;
            }
        };
        if b.af.is_some_and(|af| af != f) {
            cx.error(
                n,
                0,
                format!(
                    "Virtual server specified family {s} conflicts with server family - ignoring"
                ),
            );
            return;
        }
        b.af = Some(f);
        b.ip_family = Some(f);
    }),
    Keyword::new("retry", Leaf, Full, |b, n, cx| {
        if let Some(v) = req_unsigned(cx, n, 0, 1, u64::from(u32::MAX), "retry value") {
            b.retry = Some(v as u32);
        }
    }),
    Keyword::new("delay_before_retry", Leaf, Full, |b, n, cx| {
        if let Some(t) = req_timer(
            cx,
            n,
            0,
            Timer::from_micros(0),
            TIMER_MAX,
            "virtual server delay before retry",
        ) {
            b.delay_before_retry = Some(t);
        }
    }),
    Keyword::new("warmup", Leaf, Full, |b, n, cx| {
        if let Some(t) = req_timer(
            cx,
            n,
            0,
            Timer::from_micros(0),
            TIMER_MAX,
            "virtual server warmup",
        ) {
            b.warmup = Some(t);
        }
    }),
    Keyword::new("connect_timeout", Leaf, Full, |b, n, cx| {
        if let Some(t) = req_timer(
            cx,
            n,
            0,
            Timer::from_micros(1),
            CONNECT_TIMEOUT_MAX,
            "virtual server connect_timeout",
        ) {
            b.connect_timeout = t;
        }
    }),
    Keyword::new("delay_loop", Leaf, Full, |b, n, cx| {
        if let Some(t) = req_timer(
            cx,
            n,
            0,
            Timer::from_micros(1),
            TIMER_MAX,
            "virtual server delay loop",
        ) {
            b.delay_loop = t;
        }
    }),
    Keyword::new("inhibit_on_failure", Leaf, Full, |b, n, cx| {
        no_value(cx, n);
        b.inhibit_on_failure = true;
    }),
    Keyword::new("lb_algo", Leaf, Full, apply_sched),
    Keyword::new("lvs_sched", Leaf, Full, apply_sched),
    Keyword::new("hashed", Leaf, Full, lb_flag),
    Keyword::new("ops", Leaf, Full, lb_flag),
    Keyword::new("flag-1", Leaf, Full, lb_flag),
    Keyword::new("flag-2", Leaf, Full, lb_flag),
    Keyword::new("flag-3", Leaf, Full, lb_flag),
    Keyword::new("sh-port", Leaf, Full, lb_flag),
    Keyword::new("sh-fallback", Leaf, Full, lb_flag),
    Keyword::new("mh-port", Leaf, Full, lb_flag),
    Keyword::new("mh-fallback", Leaf, Full, lb_flag),
    Keyword::new("lb_kind", Leaf, Full, apply_vs_method),
    Keyword::new("lvs_method", Leaf, Full, apply_vs_method),
    Keyword::new("persistence_engine", Leaf, Full, |b, n, cx| {
        let Some(s) = required(cx, n, 0) else { return };
        let name = if s.len() > PE_NAME_MAX {
            cx.error(n, 0, format!("persistence_name too long, truncating - {s}"));
            let mut end = PE_NAME_MAX;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            &s[..end]
        } else {
            s
        };
        b.persistence_engine = Some(name.to_owned());
    }),
    Keyword::new("persistence_timeout", Leaf, Full, |b, n, cx| {
        if n.args.is_empty() {
            b.persistence_timeout = Some(DEFAULT_PERSISTENCE_TIMEOUT);
            return;
        }
        if let Some(v) = req_unsigned(cx, n, 0, 1, LVS_MAX_TIMEOUT, "persistence_timeout") {
            b.persistence_timeout = Some(v as u32);
        }
    }),
    Keyword::new("persistence_granularity", Leaf, Full, |b, n, cx| {
        let Some(s) = required(cx, n, 0) else { return };
        let af = b.af.unwrap_or(if s.contains('.') {
            ServiceFamily::Inet
        } else {
            ServiceFamily::Inet6
        });
        let g = match af {
            ServiceFamily::Inet6 => {
                match read_unsigned(s, 1, 128) {
                    Ok(v) => PersistenceGranularity::PrefixLength(v as u8),
                    Err(e) => {
                        cx.error(n, 0, format!("Invalid IPv6 persistence_granularity specified - {s}: {e} - ignoring"));
                        return;
                    }
                }
            }
            ServiceFamily::Inet => match inet_aton(s) {
                Some(m) => PersistenceGranularity::Netmask(m),
                None => {
                    cx.error(
                        n,
                        0,
                        format!("Invalid IPv4 persistence_granularity specified - {s} - ignoring"),
                    );
                    return;
                }
            },
        };
        b.af = Some(af);
        b.persistence_granularity = Some(g);
    }),
    Keyword::new("protocol", Leaf, Full, |b, n, cx| {
        let Some(s) = required(cx, n, 0) else { return };
        let p = match s.to_ascii_uppercase().as_str() {
            "TCP" => ServiceProtocol::Tcp,
            "UDP" => ServiceProtocol::Udp,
            "SCTP" => ServiceProtocol::Sctp,
            _ => {
                cx.error(n, 0, format!("Unknown protocol {s} - ignoring"));
                return;
            }
        };
        cx.remember(dotted(&b.key, "protocol"), n);
        b.protocol = Some(p);
    }),
    Keyword::new("ha_suspend", Leaf, Full, |b, n, cx| {
        no_value(cx, n);
        cx.remember(dotted(&b.key, "ha_suspend"), n);
        b.ha_suspend = true;
    }),
    Keyword::new("smtp_alert", Leaf, NotImplemented, |b, n, cx| {
        if let Some(v) = opt_bool(cx, n, "virtual_server smtp_alert") {
            b.smtp_alert = Some(v);
        }
    }),
    Keyword::new("virtualhost", Leaf, Full, |b, n, cx| match n.arg_str(0) {
        Some(v) => b.virtualhost = Some(v.to_owned()),
        None => cx.error(n, usize::MAX, "virtual server virtualhost missing"),
    }),
    Keyword::new("snmp_name", Leaf, NotImplemented, |b, n, cx| {
        if n.args.len() != 1 {
            cx.error(
                n,
                usize::MAX,
                "virtual server snmp_name missing or extra parameters - ignoring",
            );
            return;
        }
        b.snmp_name = Some(n.args[0].text().to_owned());
    }),
    Keyword::new("alpha", Leaf, Full, |b, n, cx| {
        no_value(cx, n);
        b.alpha = true;
    }),
    Keyword::new("omega", Leaf, Full, |b, n, cx| {
        no_value(cx, n);
        b.omega = true;
    }),
    Keyword::new("quorum_up", Leaf, Full, |b, n, cx| {
        quorum_script(cx, b, n, true)
    }),
    Keyword::new("quorum_down", Leaf, Full, |b, n, cx| {
        quorum_script(cx, b, n, false)
    }),
    Keyword::new("quorum", Leaf, Full, |b, n, cx| {
        let Some(s) = required(cx, n, 0) else { return };
        cx.remember(dotted(&b.key, "quorum"), n);
        match read_unsigned(s, 1, u64::from(u32::MAX)) {
            Ok(v) => b.quorum = v as u32,
            Err(e) => {
                cx.error(
                    n,
                    0,
                    format!(
                        "Quorum {s} must be in [1, {}]: {e}. Setting to 1.",
                        u32::MAX
                    ),
                );
                b.quorum = 1;
            }
        }
    }),
    Keyword::new("hysteresis", Leaf, Full, |b, n, cx| {
        cx.remember(dotted(&b.key, "hysteresis"), n);
        if let Some(v) = req_unsigned(cx, n, 0, 0, u64::from(u32::MAX), "Hysteresis") {
            b.hysteresis = v as u32;
        }
    }),
    Keyword::new("weight", Leaf, Full, |b, n, cx| {
        if let Some(v) = req_unsigned(cx, n, 0, 1, WEIGHT_LIMIT, "Virtual server weight") {
            b.weight = v as u32;
        }
    }),
    Keyword::new("sorry_server", Leaf, Full, |b, n, cx| {
        let Some(a) = required(cx, n, 0) else { return };
        let port = match parse_port(n.arg_str(1)) {
            Ok(p) => p,
            Err(e) => {
                cx.error(
                    n,
                    1,
                    format!("Invalid sorry server IP address {a}: {e} - skipping"),
                );
                return;
            }
        };
        let Some(address) = parse_inet_addr(a) else {
            cx.error(
                n,
                0,
                format!("Invalid sorry server IP address {a} - skipping"),
            );
            return;
        };
        cx.remember(dotted(&b.key, "sorry_server"), n);
        b.sorry_server = Some(SorryServer {
            address,
            port,
            inhibit: false,
            lvs_method: None,
        });
    }),
    Keyword::new("sorry_server_inhibit", Leaf, Full, |b, n, cx| {
        no_value(cx, n);
        match b.sorry_server.as_mut() {
            Some(s) => s.inhibit = true,
            None => cx.error(
                n,
                usize::MAX,
                "Ignoring sorry_server inhibit used before or without sorry_server",
            ),
        }
    }),
    Keyword::new("sorry_server_lvs_method", Leaf, Full, |b, n, cx| {
        let Some(prev) = b.sorry_server.map(|s| s.lvs_method.or(b.lvs_method)) else {
            cx.error(
                n,
                usize::MAX,
                "sorry_server forwarding used without sorry_server - ignoring",
            );
            return;
        };
        if let Some(m) = parse_lvs_method(cx, n, prev, "sorry") {
            if let Some(s) = b.sorry_server.as_mut() {
                s.lvs_method = Some(m);
            }
        }
    }),
    Keyword::new("real_server", Block, Full, apply_real_server),
];

fn apply_sched(b: &mut VsBuild, n: &Node, cx: &mut Cx) {
    let Some(s) = required(cx, n, 0) else { return };
    match Scheduler::from_name(s) {
        Some(sched) => b.lvs_sched = Some(sched),
        None => {
            let names: Vec<&str> = Scheduler::ALL.iter().map(|(n, _)| *n).collect();
            cx.error(
                n,
                0,
                format!(
                    "Invalid lvs_scheduler '{s}' - ignoring (known: {})",
                    names.join(" ")
                ),
            );
        }
    }
}

fn apply_vs_method(b: &mut VsBuild, n: &Node, cx: &mut Cx) {
    let prev = b.lvs_method;
    if let Some(m) = parse_lvs_method(cx, n, prev, "virtual") {
        b.lvs_method = Some(m);
    }
}

// ===== real_server =====

/// A real server while its block is read.
struct RsBuild {
    rs: RealServer,
    key: String,
    /// The virtual server's lvs_method when the real server started (what
    /// keepalived copies into it).
    vs_method: Option<LvsMethod>,
}

impl Deref for RsBuild {
    type Target = RealServer;
    fn deref(&self) -> &RealServer {
        &self.rs
    }
}

impl DerefMut for RsBuild {
    fn deref_mut(&mut self) -> &mut RealServer {
        &mut self.rs
    }
}

fn apply_real_server(b: &mut VsBuild, node: &Node, cx: &mut Cx) {
    let Some(a) = required(cx, node, 0) else {
        return;
    };
    let port = match parse_port(node.arg_str(1)) {
        Ok(p) => p,
        Err(e) => {
            cx.error(
                node,
                1,
                format!(
                    "Invalid real server ip address/port {a}/{}: {e} - skipping the real server",
                    node.arg_str(1).unwrap_or("")
                ),
            );
            return;
        }
    };
    let Some(address) = parse_inet_addr(a) else {
        cx.error(
            node,
            0,
            format!(
                "Invalid real server ip address/port {a}/{} - skipping the real server",
                node.arg_str(1).unwrap_or("")
            ),
        );
        return;
    };
    let key = indexed_key(&b.key, "real_server", b.real_server.len());
    remember_anew(cx, key.clone(), node);
    let mut r = RsBuild {
        rs: RealServer::new(address, port),
        key,
        vs_method: b.lvs_method,
    };
    let end = cx.apply_block(&mut r, "real_server", node, REAL_SERVER);
    // keepalived's rs_end_handler (at the block's `}`): unless tunnelled, the
    // real server must be of the virtual server's family (which the first
    // one settles).
    let method = r.rs.lvs_method.or(r.vs_method).map(|m| m.method);
    if method != Some(ForwardingMethod::Tun) {
        let f = ServiceFamily::of(&address);
        match b.af {
            None => b.af = Some(f),
            Some(af) if af != f => {
                cx.report_loc(
                    Severity::Error,
                    end_of_block(node, end),
                    "real_server",
                    format!("Address family of virtual server and real server {address} don't match - skipping real server"),
                );
                forget(cx, &r.key);
                return;
            }
            _ => {}
        }
    }
    b.real_server.push(r.rs);
}

fn notify_script(cx: &mut Cx, r: &mut RsBuild, n: &Node, up: bool) {
    let kw = n.name();
    let set = if up {
        r.notify_up.is_some()
    } else {
        r.notify_down.is_some()
    };
    if set {
        cx.error(
            n,
            0,
            format!(
                "{kw} script already specified - ignoring {}",
                n.arg_str(0).unwrap_or("")
            ),
        );
        return;
    }
    let Some(s) = checker_script(cx, n) else {
        return;
    };
    cx.remember(dotted(&r.key, kw), n);
    if up {
        r.notify_up = Some(s);
    } else {
        r.notify_down = Some(s);
    }
}

static REAL_SERVER: &[Keyword<RsBuild>] = &[
    Keyword::new("weight", Leaf, Full, |r, n, cx| {
        if let Some(v) = req_unsigned(cx, n, 0, 0, WEIGHT_LIMIT, "Real server weight") {
            r.weight = Some(v as u32);
        }
    }),
    Keyword::new("lvs_method", Leaf, Full, |r, n, cx| {
        let prev = r.lvs_method.or(r.vs_method);
        if let Some(m) = parse_lvs_method(cx, n, prev, "real") {
            r.lvs_method = Some(m);
        }
    }),
    Keyword::new("uthreshold", Leaf, Full, |r, n, cx| {
        if let Some(v) = req_unsigned(cx, n, 0, 0, u64::from(u32::MAX), "real_server uthreshold") {
            r.uthreshold = v as u32;
        }
    }),
    Keyword::new("lthreshold", Leaf, Full, |r, n, cx| {
        if let Some(v) = req_unsigned(cx, n, 0, 0, u64::from(u32::MAX), "real_server lthreshold") {
            r.lthreshold = v as u32;
        }
    }),
    Keyword::new("inhibit_on_failure", Leaf, Full, |r, n, cx| {
        if let Some(v) = opt_bool(cx, n, "inhibit_on_failure") {
            r.inhibit_on_failure = Some(v);
        }
    }),
    Keyword::new("notify_up", Leaf, Full, |r, n, cx| {
        notify_script(cx, r, n, true)
    }),
    Keyword::new("notify_down", Leaf, Full, |r, n, cx| {
        notify_script(cx, r, n, false)
    }),
    Keyword::new("alpha", Leaf, Full, |r, n, cx| {
        if let Some(v) = opt_bool(cx, n, "alpha") {
            r.alpha = Some(v);
        }
    }),
    Keyword::new("retry", Leaf, Full, |r, n, cx| {
        if let Some(v) = req_unsigned(cx, n, 0, 1, u64::from(u32::MAX), "retry value") {
            r.retry = Some(v as u32);
        }
    }),
    Keyword::new("delay_before_retry", Leaf, Full, |r, n, cx| {
        if let Some(t) = req_timer(
            cx,
            n,
            0,
            Timer::from_micros(0),
            TIMER_MAX,
            "real server delay_before_retry",
        ) {
            r.delay_before_retry = Some(t);
        }
    }),
    Keyword::new("warmup", Leaf, Full, |r, n, cx| {
        if let Some(t) = req_timer(
            cx,
            n,
            0,
            Timer::from_micros(0),
            TIMER_MAX,
            "real server warmup",
        ) {
            r.warmup = Some(t);
        }
    }),
    Keyword::new("connect_timeout", Leaf, Full, |r, n, cx| {
        if let Some(t) = req_timer(
            cx,
            n,
            0,
            Timer::from_micros(1),
            CONNECT_TIMEOUT_MAX,
            "real server connect_timeout",
        ) {
            r.connect_timeout = Some(t);
        }
    }),
    Keyword::new("delay_loop", Leaf, Full, |r, n, cx| {
        if let Some(t) = req_timer(
            cx,
            n,
            0,
            Timer::from_micros(1),
            TIMER_MAX,
            "real server delay_loop",
        ) {
            r.delay_loop = Some(t);
        }
    }),
    Keyword::new("smtp_alert", Leaf, NotImplemented, |r, n, cx| {
        if let Some(v) = opt_bool(cx, n, "real_server smtp_alert") {
            r.smtp_alert = Some(v);
        }
    }),
    Keyword::new("virtualhost", Leaf, Full, |r, n, cx| match n.arg_str(0) {
        Some(v) => r.virtualhost = Some(v.to_owned()),
        None => cx.error(n, usize::MAX, "real server virtualhost missing"),
    }),
    Keyword::new("snmp_name", Leaf, NotImplemented, |r, n, cx| {
        if n.args.len() != 1 {
            cx.error(
                n,
                usize::MAX,
                "real server snmp_name missing or extra parameters - ignoring",
            );
            return;
        }
        r.snmp_name = Some(n.args[0].text().to_owned());
    }),
    Keyword::new("MISC_CHECK", Block, Full, apply_misc_check),
    Keyword::new("SMTP_CHECK", Block, Full, apply_smtp_check),
    Keyword::new("TCP_CHECK", Block, Full, apply_tcp_check),
    Keyword::new("PING_CHECK", Block, Full, apply_ping_check),
    Keyword::new("UDP_CHECK", Block, Full, apply_udp_check),
    Keyword::new("HTTP_GET", Block, Full, apply_http_get),
    Keyword::new("SSL_GET", Block, Full, apply_ssl_get),
    Keyword::new("DNS_CHECK", Block, Full, apply_dns_check),
    Keyword::new("FILE_CHECK", Block, Full, apply_file_check),
    Keyword::new("BFD_CHECK", Block, Full, apply_bfd_check),
];

// ===== checkers =====

/// A checker while its block is read: the checker, the real server's address
/// (the default destination, against which `bindto`'s family is checked) and
/// the key under which locations are remembered.
struct ChkBuild<C> {
    c: C,
    key: String,
    rs_addr: IpAddr,
    /// The destination before `connect_ip`: the real server, or nothing for
    /// SMTP_CHECK's own connection (keepalived leaves it unset there).
    default_dst: Option<IpAddr>,
}

impl<C> Deref for ChkBuild<C> {
    type Target = C;
    fn deref(&self) -> &C {
        &self.c
    }
}

impl<C> DerefMut for ChkBuild<C> {
    fn deref_mut(&mut self) -> &mut C {
        &mut self.c
    }
}

impl<C: Default> ChkBuild<C> {
    fn new(r: &RsBuild) -> Self {
        ChkBuild {
            c: C::default(),
            key: indexed_key(&r.key, "checkers", r.checkers.len()),
            rs_addr: r.address,
            default_dst: Some(r.address),
        }
    }
}

fn same_family(a: &IpAddr, b: &IpAddr) -> bool {
    a.is_ipv4() == b.is_ipv4()
}

/// `connect_ip`: the new value (None = leave the old one).
fn kw_connect_ip(cx: &mut Cx, n: &Node, bindto: Option<IpAddr>) -> Option<Option<IpAddr>> {
    let s = required(cx, n, 0)?;
    let Some(a) = parse_inet_addr(s) else {
        cx.error(n, 0, format!("Invalid connect_ip address {s} - ignoring"));
        return None;
    };
    if bindto.is_some_and(|b| !same_family(&b, &a)) {
        cx.error(
            n,
            0,
            format!("connect_ip address {s} does not match address family of bindto - skipping"),
        );
        return Some(None);
    }
    Some(Some(a))
}

/// `bindto`: the new value (None = leave the old one).
fn kw_bindto(cx: &mut Cx, n: &Node, dst: Option<IpAddr>) -> Option<Option<IpAddr>> {
    let s = required(cx, n, 0)?;
    let Some(a) = parse_inet_addr(s) else {
        cx.error(n, 0, format!("Invalid bindto address {s} - ignoring"));
        return None;
    };
    if dst.is_some_and(|d| !same_family(&d, &a)) {
        cx.error(
            n,
            0,
            format!("bindto address {s} does not match address family of connect_ip - skipping"),
        );
        return Some(None);
    }
    Some(Some(a))
}

fn kw_port(cx: &mut Cx, n: &Node, what: &str) -> Option<u16> {
    req_unsigned(cx, n, 0, 1, 65535, what).map(|v| v as u16)
}

fn kw_bind_if(cx: &mut Cx, n: &Node) -> Option<String> {
    let s = required(cx, n, 0)?;
    if s.len() > IFNAME_MAX {
        cx.error(n, 0, format!("Interface name {s} is too long - ignoring"));
        return None;
    }
    Some(s.to_owned())
}

/// The table of a checker block: the timing keywords every checker (but
/// FILE_CHECK and BFD_CHECK) has, with `conn` also the connection keywords,
/// then the checker's own.
macro_rules! checker_keywords {
    (conn $t:ty; $($extra:expr),* $(,)?) => {
        checker_keywords!(timing $t;
            Keyword::<ChkBuild<$t>>::new("connect_ip", Leaf, Full, |c, n, cx| {
                if let Some(v) = kw_connect_ip(cx, n, c.bindto) {
                    c.connect_ip = v;
                }
            }),
            Keyword::<ChkBuild<$t>>::new("connect_port", Leaf, Full, |c, n, cx| {
                if let Some(p) = kw_port(cx, n, "checker connect_port") {
                    c.connect_port = Some(p);
                }
            }),
            Keyword::<ChkBuild<$t>>::new("bindto", Leaf, Full, |c, n, cx| {
                let dst = c.connect_ip.or(c.default_dst);
                if let Some(v) = kw_bindto(cx, n, dst) {
                    c.bindto = v;
                }
            }),
            Keyword::<ChkBuild<$t>>::new("bind_port", Leaf, Full, |c, n, cx| {
                if let Some(p) = kw_port(cx, n, "checker bind_port") {
                    c.bind_port = Some(p);
                }
            }),
            Keyword::<ChkBuild<$t>>::new("bind_if", Leaf, Full, |c, n, cx| {
                if let Some(i) = kw_bind_if(cx, n) {
                    c.bind_if = Some(i);
                }
            }),
            Keyword::<ChkBuild<$t>>::new("connect_timeout", Leaf, Full, |c, n, cx| {
                if let Some(t) = req_timer(cx, n, 0, Timer::from_micros(1), CONNECT_TIMEOUT_MAX, "connect_timeout") {
                    c.connect_timeout = Some(t);
                }
            }),
            Keyword::<ChkBuild<$t>>::new("fwmark", Leaf, Full, |c, n, cx| {
                if let Some(v) = req_unsigned(cx, n, 0, 0, u64::from(u32::MAX), "fwmark connection value") {
                    c.fwmark = Some(v as u32);
                }
            }),
            $($extra),*
        )
    };
    (timing $t:ty; $($extra:expr),* $(,)?) => {
        &[
            Keyword::<ChkBuild<$t>>::new("retry", Leaf, Full, |c, n, cx| {
                if let Some(v) = req_unsigned(cx, n, 0, 0, u64::from(u32::MAX), "retry connection value") {
                    c.retry = Some(v as u32);
                }
            }),
            Keyword::<ChkBuild<$t>>::new("delay_before_retry", Leaf, Full, |c, n, cx| {
                if let Some(t) = req_timer(cx, n, 0, Timer::from_micros(0), TIMER_MAX, "delay_before_retry connection value") {
                    c.delay_before_retry = Some(t);
                }
            }),
            Keyword::<ChkBuild<$t>>::new("warmup", Leaf, Full, |c, n, cx| {
                if let Some(t) = req_timer(cx, n, 0, Timer::from_micros(0), TIMER_MAX, "warmup connection value") {
                    c.warmup = Some(t);
                }
            }),
            Keyword::<ChkBuild<$t>>::new("delay_loop", Leaf, Full, |c, n, cx| {
                if let Some(t) = req_timer(cx, n, 0, Timer::from_micros(1), TIMER_MAX, "delay_loop") {
                    c.delay_loop = Some(t);
                }
            }),
            Keyword::<ChkBuild<$t>>::new("alpha", Leaf, Full, |c, n, cx| {
                if let Some(v) = opt_bool(cx, n, "alpha") {
                    c.alpha = Some(v);
                }
            }),
            Keyword::<ChkBuild<$t>>::new("log_all_failures", Leaf, Full, |c, n, cx| {
                if let Some(v) = opt_bool(cx, n, "log_all_failures") {
                    c.log_all_failures = v;
                }
            }),
            $($extra),*
        ]
    };
}

/// keepalived's check_conn_opts at the end of a checker block: report and
/// say whether the checker must be dropped.
fn conn_problem(cx: &mut Cx, node: &Node, rs: &RealServer, conn: &ConnectionSettings) -> bool {
    match conn.problem(rs) {
        Some(msg) => {
            cx.error(node, usize::MAX, format!("{msg} - ignoring the checker"));
            true
        }
        None => false,
    }
}

// ----- TCP_CHECK, PING_CHECK -----

static TCP_CHECK: &[Keyword<ChkBuild<TcpCheck>>] = checker_keywords!(conn TcpCheck;);
static PING_CHECK: &[Keyword<ChkBuild<PingCheck>>] = checker_keywords!(conn PingCheck;);

fn apply_tcp_check(r: &mut RsBuild, node: &Node, cx: &mut Cx) {
    let mut c = ChkBuild::<TcpCheck>::new(r);
    cx.remember(c.key.clone(), node);
    cx.apply_block(&mut c, "TCP_CHECK", node, TCP_CHECK);
    if conn_problem(cx, node, &r.rs, &c.connection()) {
        return;
    }
    push_first_exact(&mut r.checkers, Checker::Tcp(c.c));
}

fn apply_ping_check(r: &mut RsBuild, node: &Node, cx: &mut Cx) {
    let mut c = ChkBuild::<PingCheck>::new(r);
    cx.remember(c.key.clone(), node);
    cx.apply_block(&mut c, "PING_CHECK", node, PING_CHECK);
    if conn_problem(cx, node, &r.rs, &c.connection()) {
        return;
    }
    push_first_exact(&mut r.checkers, Checker::Ping(c.c));
}

// ----- HTTP_GET, SSL_GET -----

static HTTP_GET: &[Keyword<ChkBuild<HttpCheck>>] = checker_keywords!(conn HttpCheck;
    Keyword::<ChkBuild<HttpCheck>>::new("nb_get_retry", Leaf, Full, |c, n, cx| {
        cx.error(n, usize::MAX, "nb_get_retry is deprecated - please use 'retry'");
        if let Some(v) = req_unsigned(cx, n, 0, 0, u64::from(u32::MAX), "nb_get_retry value") {
            c.retry = Some(v as u32);
        }
    }),
    Keyword::<ChkBuild<HttpCheck>>::new("virtualhost", Leaf, Full, |c, n, cx| match n.arg_str(0) {
        Some(v) => c.virtualhost = Some(v.to_owned()),
        None => cx.error(n, usize::MAX, "HTTP_GET virtualhost name missing"),
    }),
    Keyword::<ChkBuild<HttpCheck>>::new("http_protocol", Leaf, Full, |c, n, cx| {
        match n.arg_str(0) {
            None => cx.error(n, usize::MAX, "Missing http_protocol version"),
            Some("1.0") => c.http_protocol = HttpProtocol::Http10,
            Some("1.1") => c.http_protocol = HttpProtocol::Http11,
            Some("1.0C" | "1.0c") => c.http_protocol = HttpProtocol::Http10Close,
            Some(v) => cx.error(n, 0, format!("Invalid http_protocol version {v} (1.0, 1.0C or 1.1) - ignoring")),
        }
    }),
    Keyword::<ChkBuild<HttpCheck>>::new("enable_sni", Leaf, Full, |c, n, cx| {
        if let Some(v) = opt_bool(cx, n, "enable_sni") {
            c.enable_sni = v;
        }
    }),
    Keyword::<ChkBuild<HttpCheck>>::new("fast_recovery", Leaf, Full, |c, n, cx| {
        if let Some(v) = opt_bool(cx, n, "fast_recovery") {
            c.fast_recovery = v;
        }
    }),
    Keyword::<ChkBuild<HttpCheck>>::new("url", Block, Full, apply_url),
);

fn apply_http_get(r: &mut RsBuild, node: &Node, cx: &mut Cx) {
    http_like(r, node, cx, "HTTP_GET");
}

fn apply_ssl_get(r: &mut RsBuild, node: &Node, cx: &mut Cx) {
    http_like(r, node, cx, "SSL_GET");
}

fn http_like(r: &mut RsBuild, node: &Node, cx: &mut Cx, kw: &'static str) {
    let mut c = ChkBuild::<HttpCheck>::new(r);
    cx.remember(c.key.clone(), node);
    cx.apply_block(&mut c, kw, node, HTTP_GET);
    if c.url.is_empty() {
        cx.error(
            node,
            usize::MAX,
            "HTTP/SSL_GET checker has no urls specified - ignoring",
        );
        return;
    }
    if conn_problem(cx, node, &r.rs, &c.connection()) {
        return;
    }
    let checker = if kw == "SSL_GET" {
        Checker::Ssl(c.c)
    } else {
        Checker::Http(c.c)
    };
    push_first_exact(&mut r.checkers, checker);
}

/// A url block while it is read (keepalived's url_t plus its pending regex).
#[derive(Default)]
struct UrlBuild {
    path: Option<String>,
    url: Option<Url>,
}

impl UrlBuild {
    fn url(&mut self) -> &mut Url {
        self.url.get_or_insert_with(|| Url::new(String::new()))
    }
}

fn apply_url(c: &mut ChkBuild<HttpCheck>, node: &Node, cx: &mut Cx) {
    let mut b = UrlBuild::default();
    cx.apply_block(&mut b, "url", node, URL);
    let Some(path) = b.path.take() else {
        cx.error(
            node,
            usize::MAX,
            "HTTP/SSL_GET checker url has no path - ignoring",
        );
        return;
    };
    let mut url = b.url.take().unwrap_or_else(|| Url::new(String::new()));
    url.path = path;
    // keepalived's url_check: regex settings need a regex; min < max.
    if url.regex.is_none()
        && (!url.regex_options.is_empty()
            || url.regex_no_match
            || url.regex_min_offset.is_some_and(|v| v != 0)
            || url.regex_max_offset.is_some()
            || url.regex_stack.is_some())
    {
        cx.warn(
            node,
            usize::MAX,
            "regex parameters specified without regex - ignored",
        );
        url.regex_options.clear();
        url.regex_no_match = false;
        url.regex_min_offset = None;
        url.regex_max_offset = None;
        url.regex_stack = None;
    }
    if let (Some(min), Some(max)) = (url.regex_min_offset, url.regex_max_offset) {
        if min > max {
            cx.warn(
                node,
                usize::MAX,
                format!("regex min offset {min} > regex_max_offset {max} - ignoring both"),
            );
            url.regex_min_offset = None;
            url.regex_max_offset = None;
        }
    }
    c.url.push(url);
}

/// keepalived's digest reading: each pair of characters, last pair first,
/// through strtoul base 16, which must use both characters (so a blank or a
/// sign may stand before a single digit).  Err: offset of the bad pair.
fn decode_digest(d: &str) -> Result<[u8; 16], usize> {
    let b = d.as_bytes();
    let mut out = [0u8; 16];
    for i in (0..16).rev() {
        let (c0, c1) = (b[2 * i], b[2 * i + 1]);
        let digit = |c: u8| (c as char).to_digit(16).map(|v| v as u8);
        out[i] = match (c0, digit(c0), digit(c1)) {
            (_, Some(hi), Some(lo)) => hi << 4 | lo,
            (b' ' | b'\t' | b'+', None, Some(lo)) => lo,
            (b'-', None, Some(lo)) => lo.wrapping_neg(),
            _ => return Err(2 * i),
        };
    }
    Ok(out)
}

/// keepalived's regex_offset_handler: exactly one decimal value; otherwise a
/// logged remark and 0.
fn regex_offset(cx: &mut Cx, n: &Node, which: &str) -> u64 {
    if n.args.len() != 1 {
        cx.warn(
            n,
            usize::MAX,
            format!("Missing or too many options for regex_{which}_offset - using 0"),
        );
        return 0;
    }
    let s = n.args[0].text();
    let (v, rest) = strtoul(s, 10);
    if !rest.is_empty() {
        cx.warn(
            n,
            0,
            format!("Invalid regex_{which}_offset {s} specified - using 0"),
        );
        return 0;
    }
    v
}

static URL: &[Keyword<UrlBuild>] = &[
    Keyword::new("path", Leaf, Full, |b, n, cx| {
        if let Some(p) = required(cx, n, 0) {
            b.path = Some(p.to_owned());
        }
    }),
    Keyword::new("digest", Leaf, Full, |b, n, cx| {
        let Some(d) = required(cx, n, 0) else { return };
        if b.url.as_ref().is_some_and(|u| u.digest.is_some()) {
            cx.error(n, 0, format!("Digest '{d}' is a duplicate - ignoring"));
            return;
        }
        if d.len() != 32 {
            cx.error(
                n,
                0,
                format!(
                    "digest '{d}' character length should be 32 rather than {} - ignoring",
                    d.len()
                ),
            );
            return;
        }
        match decode_digest(d) {
            Ok(bytes) => {
                let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                b.url().digest = Some(hex);
            }
            Err(pair) => cx.error(
                n,
                0,
                format!(
                    "Unable to interpret hex digit in '{d}' at offset {pair}/{} - ignoring",
                    pair + 1
                ),
            ),
        }
    }),
    Keyword::new("status_code", Leaf, Full, |b, n, cx| {
        for (i, w) in n.args.iter().enumerate() {
            match w.text().parse::<StatusCodeRange>() {
                Ok(r) => b.url().status_code.push(r),
                Err(_) => cx.error(
                    n,
                    i,
                    format!("Invalid HTTP_GET status code '{}' - ignoring it", w.text()),
                ),
            }
        }
    }),
    Keyword::new("virtualhost", Leaf, Full, |b, n, cx| match n.arg_str(0) {
        Some(v) => b.url().virtualhost = Some(v.to_owned()),
        None => cx.error(n, usize::MAX, "Missing HTTP_GET virtualhost name"),
    }),
    Keyword::new("regex", Leaf, Full, |b, n, cx| {
        match split_command(&n.raw_args()) {
            Ok(w) if w.len() == 1 => b.url().regex = w.into_iter().next(),
            Ok(_) => cx.warn(
                n,
                usize::MAX,
                "regex missing or too many fields - ignored (quote the pattern)",
            ),
            // keepalived 2.2.7 crashes here (it uses the failed re-split).
            Err(e) => cx.stop(n, 0, format!("{e} - keepalived 2.2.7 crashes on this")),
        }
    }),
    Keyword::new("regex_no_match", Leaf, Full, |b, n, cx| {
        no_value(cx, n);
        b.url().regex_no_match = true;
    }),
    Keyword::new("regex_options", Leaf, Full, |b, n, cx| {
        for (i, w) in n.args.iter().enumerate() {
            if REGEX_OPTIONS.contains(&w.text()) {
                if !b.url().regex_options.iter().any(|o| o == w.text()) {
                    b.url().regex_options.push(w.text().to_owned());
                }
            } else {
                cx.warn(n, i, format!("unknown regex option '{}' ignored", w.text()));
            }
        }
    }),
    Keyword::new("regex_min_offset", Leaf, Full, |b, n, cx| {
        let v = regex_offset(cx, n, "min");
        b.url().regex_min_offset = Some(v);
    }),
    Keyword::new("regex_max_offset", Leaf, Full, |b, n, cx| {
        let v = regex_offset(cx, n, "max");
        b.url().regex_max_offset = Some(v);
    }),
    Keyword::new("regex_stack", Leaf, Full, |b, n, cx| {
        if n.args.len() != 2 {
            cx.warn(
                n,
                usize::MAX,
                "regex_stack requires start and max values - ignored",
            );
            return;
        }
        let (start, r1) = strtoul(n.args[0].text(), 10);
        if !r1.is_empty() {
            cx.warn(n, 0, "regex_stack invalid start value - ignored");
            return;
        }
        let (max, r2) = strtoul(n.args[1].text(), 10);
        if !r2.is_empty() {
            cx.warn(n, 1, "regex_stack invalid max value - ignored");
            return;
        }
        if start > max {
            cx.warn(n, 0, "regex stack start cannot exceed max value - ignored");
            return;
        }
        b.url().regex_stack = Some(RegexStack { start, max });
    }),
];

// ----- MISC_CHECK -----

static MISC_CHECK: &[Keyword<ChkBuild<MiscCheck>>] = checker_keywords!(timing MiscCheck;
    Keyword::<ChkBuild<MiscCheck>>::new("misc_path", Leaf, Full, |c, n, cx| {
        // keepalived re-splits the line with quotes and escapes and takes the
        // first word as the command line.
        let words = match split_command(&n.raw_args()) {
            Ok(w) => w,
            Err(e) => {
                // keepalived 2.2.7 crashes here (it uses the failed re-split).
                cx.stop(n, 0, format!("{e} - keepalived 2.2.7 crashes on this"));
                return;
            }
        };
        let Some(first) = words.first() else { return };
        if words.len() > 1 {
            cx.warn(
                n,
                1,
                "only the first word is the command line (keepalived ignores the rest) - quote the whole command",
            );
        }
        c.misc_path = first.clone();
    }),
    Keyword::<ChkBuild<MiscCheck>>::new("misc_timeout", Leaf, Full, |c, n, cx| {
        if let Some(v) = req_unsigned(cx, n, 0, 0, u64::from(u32::MAX) / 1_000_000, "misc_timeout value") {
            c.misc_timeout = Some(v as u32);
        }
    }),
    Keyword::<ChkBuild<MiscCheck>>::new("misc_dynamic", Leaf, Full, |c, n, cx| {
        no_value(cx, n);
        c.misc_dynamic = true;
    }),
    Keyword::<ChkBuild<MiscCheck>>::new("user", Leaf, Full, |c, n, cx| {
        let Some(user) = n.arg_str(0) else {
            cx.error(n, usize::MAX, "No user specified for misc checker script - ignoring");
            return;
        };
        c.user = Some(ScriptUser {
            user: user.to_owned(),
            group: n.arg_str(1).map(str::to_owned),
        });
    }),
);

fn apply_misc_check(r: &mut RsBuild, node: &Node, cx: &mut Cx) {
    let mut c = ChkBuild::<MiscCheck>::new(r);
    cx.remember(c.key.clone(), node);
    let end = cx.apply_block(&mut c, "MISC_CHECK", node, MISC_CHECK);
    // keepalived's end-of-block checks, named at the block's `}`.
    let end = end_of_block(node, end);
    if c.misc_path.is_empty() {
        cx.report_loc(
            Severity::Error,
            end,
            "MISC_CHECK",
            "No script path has been specified for MISC_CHECKER - skipping",
        );
        return;
    }
    remember_last(
        cx,
        dotted(&c.key, "misc_path"),
        node.children(),
        "misc_path",
    );
    // keepalived resolves the script's user while reading: an explicit `user`
    // at its line, the default one at the `}`; without one the checker is
    // removed.
    if cx.opts.check_host {
        let (key, kw) = if c.user.is_some() {
            let key = dotted(&c.key, "user");
            remember_last(cx, key.clone(), node.children(), "user");
            (key, "user")
        } else {
            let key = dotted(&c.key, "end");
            cx.spans.insert(key.clone(), end);
            (key, "MISC_CHECK")
        };
        let global = cx.global.clone();
        if !check_script_user(
            cx,
            &global,
            &key,
            kw,
            &c.misc_path,
            c.user.as_ref(),
            ScriptUse::Checker,
        ) {
            return;
        }
    }
    push_first_exact(&mut r.checkers, Checker::Misc(c.c));
}

// ----- SMTP_CHECK -----

static SMTP_CHECK: &[Keyword<ChkBuild<SmtpCheck>>] = checker_keywords!(conn SmtpCheck;
    Keyword::<ChkBuild<SmtpCheck>>::new("helo_name", Leaf, Full, |c, n, cx| match n.arg_str(0) {
        Some(v) => c.helo_name = Some(v.to_owned()),
        None => cx.error(n, usize::MAX, "SMTP_CHECK helo name missing"),
    }),
    Keyword::<ChkBuild<SmtpCheck>>::new("host", Block, Full, apply_smtp_host),
);

/// A legacy SMTP `host { }` block: its connection keywords describe the host,
/// its timing keywords set the SMTP_CHECK's (as in keepalived).
#[derive(Default)]
struct HostScratch {
    connect_ip: Option<IpAddr>,
    connect_port: Option<u16>,
    bindto: Option<IpAddr>,
    bind_port: Option<u16>,
    bind_if: Option<String>,
    connect_timeout: Option<Timer>,
    fwmark: Option<u32>,
    retry: Option<u32>,
    delay_before_retry: Option<Timer>,
    warmup: Option<Timer>,
    delay_loop: Option<Timer>,
    alpha: Option<bool>,
    log_all_failures: bool,
}

static SMTP_HOST: &[Keyword<ChkBuild<HostScratch>>] = checker_keywords!(conn HostScratch;);

fn apply_smtp_host(c: &mut ChkBuild<SmtpCheck>, node: &Node, cx: &mut Cx) {
    let mut h = ChkBuild {
        c: HostScratch {
            retry: c.retry,
            delay_before_retry: c.delay_before_retry,
            warmup: c.warmup,
            delay_loop: c.delay_loop,
            alpha: c.alpha,
            log_all_failures: c.log_all_failures,
            ..Default::default()
        },
        key: String::new(),
        rs_addr: c.rs_addr,
        default_dst: Some(c.rs_addr),
    };
    cx.apply_block(&mut h, "host", node, SMTP_HOST);
    let s = h.c;
    c.retry = s.retry;
    c.delay_before_retry = s.delay_before_retry;
    c.warmup = s.warmup;
    c.delay_loop = s.delay_loop;
    c.alpha = s.alpha;
    c.log_all_failures = s.log_all_failures;
    let host = SmtpHost {
        connect_ip: s.connect_ip,
        connect_port: s.connect_port,
        bindto: s.bindto,
        bind_port: s.bind_port,
        bind_if: s.bind_if,
        connect_timeout: s.connect_timeout,
        fwmark: s.fwmark,
    };
    let rs = RealServer::new(c.rs_addr, None);
    if let Some(msg) = host.connection().problem(&rs) {
        cx.error(node, usize::MAX, format!("{msg} - ignoring the host"));
        return;
    }
    c.host.push(host);
}

fn apply_smtp_check(r: &mut RsBuild, node: &Node, cx: &mut Cx) {
    let mut c = ChkBuild::<SmtpCheck>::new(r);
    c.default_dst = None;
    cx.remember(c.key.clone(), node);
    cx.apply_block(&mut c, "SMTP_CHECK", node, SMTP_CHECK);
    if !c.host.is_empty() {
        cx.warn(
            node,
            usize::MAX,
            "The SMTP_CHECK host block is deprecated. Please define additional checkers.",
        );
    }
    if c.uses_own_connection() && conn_problem(cx, node, &r.rs, &c.connection()) {
        return;
    }
    push_first_exact(&mut r.checkers, Checker::Smtp(c.c));
}

// ----- DNS_CHECK -----

/// keepalived's empty-label test, including its quirk: the first iteration
/// looks at the second character, so a one-character first label
/// ("a.example.com") is refused too.
fn dns_name_has_empty_label(name: &str) -> bool {
    let b = name.as_bytes();
    if b.first() == Some(&b'.') && b.len() > 1 {
        return true;
    }
    let mut p = 0usize;
    loop {
        if b.get(p + 1) == Some(&b'.') {
            return true;
        }
        match b
            .get(p + 1..)
            .and_then(|r| r.iter().position(|&c| c == b'.'))
        {
            Some(off) => p = p + 1 + off,
            None => return false,
        }
    }
}

static DNS_CHECK: &[Keyword<ChkBuild<DnsCheck>>] = checker_keywords!(conn DnsCheck;
    Keyword::<ChkBuild<DnsCheck>>::new("type", Leaf, Full, |c, n, cx| {
        let Some(s) = required(cx, n, 0) else { return };
        match DnsType::ALL.iter().find(|(name, _)| name.eq_ignore_ascii_case(s)) {
            Some((_, t)) => c.query_type = *t,
            None => cx.error(n, 0, format!("Unknown DNS check type {s} - ignoring")),
        }
    }),
    Keyword::<ChkBuild<DnsCheck>>::new("name", Leaf, Full, |c, n, cx| {
        if c.name.is_some() {
            cx.error(n, usize::MAX, "DNS_CHECK name already specified - ignoring");
            return;
        }
        let Some(s) = required(cx, n, 0) else { return };
        if dns_name_has_empty_label(s) {
            cx.error(n, 0, format!("DNS_CHECK name '{s}' has empty label - ignoring"));
            return;
        }
        c.name = Some(s.to_owned());
    }),
);

fn apply_dns_check(r: &mut RsBuild, node: &Node, cx: &mut Cx) {
    let mut c = ChkBuild::<DnsCheck>::new(r);
    cx.remember(c.key.clone(), node);
    cx.apply_block(&mut c, "DNS_CHECK", node, DNS_CHECK);
    if conn_problem(cx, node, &r.rs, &c.connection()) {
        return;
    }
    push_first_exact(&mut r.checkers, Checker::Dns(c.c));
}

// ----- UDP_CHECK -----

static UDP_CHECK: &[Keyword<ChkBuild<UdpCheck>>] = checker_keywords!(conn UdpCheck;
    Keyword::<ChkBuild<UdpCheck>>::new("payload", Leaf, Full, |c, n, cx| {
        if n.args.is_empty() {
            cx.error(n, usize::MAX, "UDP_CHECK payload requires a payload");
            return;
        }
        let hex = n.args.iter().map(|w| w.text()).collect::<Vec<_>>().join(" ");
        if decode_hex(&hex, false).is_some() {
            c.payload = Some(hex);
        } else {
            cx.error(n, 0, "Invalid hex string for UDP_CHECK payload - no payload sent");
            c.payload = None;
        }
    }),
    Keyword::<ChkBuild<UdpCheck>>::new("require_reply", Leaf, Full, |c, n, cx| {
        c.require_reply = true;
        if n.args.is_empty() {
            return;
        }
        let hex = n.args.iter().map(|w| w.text()).collect::<Vec<_>>().join(" ");
        if decode_hex(&hex, true).is_some() {
            c.require_reply_data = Some(hex);
        } else {
            cx.error(n, 0, "Invalid hex string for UDP_CHECK reply - any reply accepted");
            c.require_reply_data = None;
        }
    }),
    Keyword::<ChkBuild<UdpCheck>>::new("min_reply_length", Leaf, Full, |c, n, cx| {
        if let Some(v) = req_unsigned(cx, n, 0, 0, u64::from(u16::MAX), "UDP_CHECK min length") {
            c.min_reply_length = v as u16;
        }
    }),
    Keyword::<ChkBuild<UdpCheck>>::new("max_reply_length", Leaf, Full, |c, n, cx| {
        if let Some(v) = req_unsigned(cx, n, 0, 0, u64::from(u16::MAX), "UDP_CHECK max length") {
            c.max_reply_length = v as u16;
        }
    }),
);

fn apply_udp_check(r: &mut RsBuild, node: &Node, cx: &mut Cx) {
    let mut c = ChkBuild::<UdpCheck>::new(r);
    cx.remember(c.key.clone(), node);
    cx.apply_block(&mut c, "UDP_CHECK", node, UDP_CHECK);
    if conn_problem(cx, node, &r.rs, &c.connection()) {
        return;
    }
    if c.min_reply_length > c.max_reply_length {
        cx.error(
            node,
            usize::MAX,
            format!(
                "UDP_CHECK min_reply length {} > max_reply_length {} - will always fail",
                c.min_reply_length, c.max_reply_length
            ),
        );
    }
    push_first_exact(&mut r.checkers, Checker::Udp(c.c));
}

// ----- FILE_CHECK -----

static FILE_CHECK: &[Keyword<FileCheck>] = &[
    Keyword::new("track_file", Leaf, Full, |c, n, cx| {
        if let Some(s) = required(cx, n, 0) {
            c.track_file = s.to_owned();
        }
    }),
    Keyword::new("weight", Leaf, Full, |c, n, cx| {
        let Some(s) = n.arg_str(0) else {
            cx.error(n, usize::MAX, "track file weight missing");
            return;
        };
        let w = match read_int(s, -(WEIGHT_LIMIT as i64), WEIGHT_LIMIT as i64) {
            Ok(w) => w as i32,
            Err(e) => {
                cx.error(
                    n,
                    0,
                    format!(
                        "weight for track file must be in [{}..{}] inclusive ({e}). Ignoring...",
                        -(WEIGHT_LIMIT as i64),
                        WEIGHT_LIMIT
                    ),
                );
                return;
            }
        };
        let reverse = match n.arg_str(1) {
            None | Some("noreverse") => false,
            Some("reverse") => true,
            Some(o) => {
                cx.error(
                    n,
                    1,
                    format!("unknown track file weight option {o} - ignoring"),
                );
                return;
            }
        };
        c.weight = Some(w);
        c.weight_reverse = reverse;
    }),
];

fn apply_file_check(r: &mut RsBuild, node: &Node, cx: &mut Cx) {
    let mut c = FileCheck::default();
    cx.apply_block(&mut c, "FILE_CHECK", node, FILE_CHECK);
    if c.track_file.is_empty() {
        cx.error(
            node,
            usize::MAX,
            "FILE_CHECK has no track_file specified - ignoring",
        );
        return;
    }
    let key = format!("{}.checkers[{}]", r.key, r.checkers.len());
    cx.remember(key.clone(), node);
    push_first_exact(&mut r.checkers, Checker::File(c));
}

// ----- BFD_CHECK -----

/// A BFD_CHECK while read: keepalived drops the checker on a bad name and
/// ignores what follows.
#[derive(Default)]
struct BfdBuild {
    c: BfdCheck,
    dropped: bool,
}

static BFD_CHECK: &[Keyword<BfdBuild>] = &[
    Keyword::new("name", Leaf, Full, |b, n, cx| {
        if b.dropped {
            return;
        }
        if n.args.len() != 1 {
            cx.error(
                n,
                usize::MAX,
                "BFD_CHECK - No or too many names specified - skipping checker",
            );
            b.dropped = true;
            return;
        }
        let name = n.args[0].text();
        if !b.c.name.is_empty() {
            cx.error(
                n,
                0,
                format!(
                    "BFD_CHECK - BFD {name} already specified as {} - skipping checker",
                    b.c.name
                ),
            );
            b.dropped = true;
            return;
        }
        if name.len() > BFD_NAME_MAX {
            cx.error(
                n,
                0,
                format!("BFD_CHECK - BFD name {name} too long - skipping checker"),
            );
            b.dropped = true;
            return;
        }
        b.c.name = name.to_owned();
    }),
    Keyword::new("alpha", Leaf, Full, |b, n, cx| {
        if b.dropped {
            return;
        }
        if let Some(v) = opt_bool(cx, n, "alpha") {
            b.c.alpha = Some(v);
        }
    }),
];

fn apply_bfd_check(r: &mut RsBuild, node: &Node, cx: &mut Cx) {
    let mut b = BfdBuild::default();
    cx.apply_block(&mut b, "BFD_CHECK", node, BFD_CHECK);
    if b.dropped {
        return;
    }
    if b.c.name.is_empty() {
        cx.error(
            node,
            usize::MAX,
            "No name has been specified for BFD_CHECKER - skipping",
        );
        return;
    }
    let key = format!("{}.checkers[{}]", r.key, r.checkers.len());
    cx.remember(key.clone(), node);
    push_first_exact(&mut r.checkers, Checker::Bfd(b.c));
}

// ===== keyword listing =====

/// Keywords of the blocks below the LVS top-level blocks.
pub fn keywords(out: &mut Vec<KeywordInfo>) {
    collect("SSL", SSL, out);
    collect("virtual_server", VIRTUAL_SERVER, out);
    collect("virtual_server/real_server", REAL_SERVER, out);
    let rs = "virtual_server/real_server";
    collect(&format!("{rs}/MISC_CHECK"), MISC_CHECK, out);
    collect(&format!("{rs}/SMTP_CHECK"), SMTP_CHECK, out);
    collect(&format!("{rs}/SMTP_CHECK/host"), SMTP_HOST, out);
    collect(&format!("{rs}/TCP_CHECK"), TCP_CHECK, out);
    collect(&format!("{rs}/PING_CHECK"), PING_CHECK, out);
    collect(&format!("{rs}/UDP_CHECK"), UDP_CHECK, out);
    collect(&format!("{rs}/HTTP_GET"), HTTP_GET, out);
    collect(&format!("{rs}/HTTP_GET/url"), URL, out);
    collect(&format!("{rs}/SSL_GET"), HTTP_GET, out);
    collect(&format!("{rs}/SSL_GET/url"), URL, out);
    collect(&format!("{rs}/DNS_CHECK"), DNS_CHECK, out);
    collect(&format!("{rs}/FILE_CHECK"), FILE_CHECK, out);
    collect(&format!("{rs}/BFD_CHECK"), BFD_CHECK, out);
}

// ===== whole-configuration checks =====

/// Checks that need the whole configuration, in the order keepalived makes
/// them (link_vsg_to_vs, then validate_check_config per virtual server).
pub fn validate(cfg: &Config, cx: &mut Cx) {
    let groups = &cfg.virtual_server_group;
    for (i, vs) in cfg.virtual_server.iter().enumerate() {
        let key = top_key("virtual_server", i);
        validate_virtual_server(cfg, cx, i, vs, &key, groups);
    }
}

fn validate_virtual_server(
    cfg: &Config,
    cx: &mut Cx,
    index: usize,
    vs: &VirtualServer,
    key: &str,
    groups: &[VirtualServerGroup],
) {
    const KW: &str = "virtual_server";
    let err = |cx: &mut Cx, k: &str, kw: &str, msg: String| {
        let at = if cx.spans.contains_key(k) { k } else { key };
        cx.report_at(Severity::Error, at, kw, msg);
    };

    // link_vsg_to_vs (keepalived only logs the group problems, so they are
    // warnings), then the first check of validate_check_config.
    let group_seq = vs.group.as_ref().map(|name| {
        cfg.virtual_server[..index]
            .iter()
            .filter(|o| o.group.as_deref() == Some(name.as_str()))
            .count()
    });
    let describe = |p: Option<ServiceProtocol>| match (&vs.group, group_seq) {
        (Some(g), Some(seq)) => format!("[{g}]:{seq}"),
        _ => vs.describe(p),
    };
    let name = vs.group.as_deref().unwrap_or("");
    let dropped = vs.dropped(groups);
    let warn = |cx: &mut Cx, msg: String| cx.report_at(Severity::Warning, key, KW, msg);
    match dropped {
        Some(DroppedService::BadIdentity) => {
            let msg =
                "a virtual server needs exactly one of address, fwmark and group - ignoring it";
            err(cx, key, KW, msg.into());
            return;
        }
        Some(DroppedService::UnknownGroup) => {
            warn(
                cx,
                format!(
                    "Virtual server group {name} specified but not configured - ignoring virtual server {}",
                    describe(None)
                ),
            );
            return;
        }
        Some(DroppedService::MixedGroupWithFamily) => {
            warn(
                cx,
                format!(
                    "{name}: virtual server group with IPv4 & IPv6 doesn't match virtual server {} - ignoring",
                    describe(None)
                ),
            );
            return;
        }
        Some(DroppedService::GroupFamilyMismatch) => {
            warn(
                cx,
                format!(
                    "{name}: address family doesn't match virtual server {} - ignoring",
                    describe(None)
                ),
            );
            return;
        }
        Some(DroppedService::NoRealServers) => {
            err(
                cx,
                key,
                KW,
                format!(
                    "Virtual server {} has no real servers - ignoring",
                    describe(vs.protocol)
                ),
            );
            return;
        }
        None => {}
    }
    if let Some(g) = vs.find_group(groups) {
        if g.has_ipv4() == g.has_ipv6() && vs.family(&[]).is_none() && g.fwmark_without_family() {
            warn(
                cx,
                format!(
                    "{name}: Virtual server {} address family cannot be determined, defaulting to IPv4",
                    describe(None)
                ),
            );
        }
    }

    // TOML-loaded models get the checks the parser makes while reading.
    validate_parse_level(cx, vs, key);

    if vs.ha_suspend && vs.uses_fwmarks(groups) {
        err(
            cx,
            &format!("{key}.ha_suspend"),
            "ha_suspend",
            format!(
                "Virtual server {}: cannot use ha_suspend with fwmarks - clearing ha_suspend",
                describe(vs.protocol)
            ),
        );
    }

    let group = vs.find_group(groups);
    let persistent = vs.persistence_timeout.is_some() || vs.persistence_granularity.is_some();
    let mut made_persistent = false;
    if vs.has_addresses(groups) {
        if vs.protocol.is_none() {
            err(
                cx,
                key,
                KW,
                format!(
                    "Virtual server {}: no protocol set - defaulting to UDP",
                    describe(None)
                ),
            );
        }
        let proto = vs.effective_protocol(groups);
        if vs.ops && proto != Some(ServiceProtocol::Udp) {
            err(
                cx,
                &format!("{key}.ops"),
                "ops",
                format!(
                    "Virtual server {}: one packet scheduling requires UDP - resetting",
                    describe(proto)
                ),
            );
        }
        if !persistent && group.is_none() && vs.mark().is_none() && vs.port.unwrap_or(0) == 0 {
            err(
                cx,
                key,
                KW,
                format!(
                    "Virtual server {}: zero port only valid for persistent services - setting",
                    describe(proto)
                ),
            );
            made_persistent = true;
        }
    }
    let proto = vs.effective_protocol(groups);
    if !persistent && !made_persistent {
        if let Some(g) = group {
            if g.ranges.iter().any(|r| r.port.is_none()) {
                err(
                    cx,
                    key,
                    KW,
                    format!(
                        "Virtual server {}: zero port only valid for persistent services - setting",
                        describe(proto)
                    ),
                );
            }
        }
    }

    if vs.protocol.is_some() && vs.is_fwmark_only(groups) {
        err(
            cx,
            &format!("{key}.protocol"),
            "protocol",
            format!(
                "Warning: Virtual server {}: protocol specified for fwmark - protocol will be ignored",
                describe(proto)
            ),
        );
    }

    let vsd = describe(proto);
    if vs.lvs_sched.is_none() {
        err(
            cx,
            key,
            KW,
            format!("Virtual server {vsd}: no scheduler set, setting default 'wlc'"),
        );
    }

    // The real servers.
    let mut no_method_reported = false;
    let mut kept: Vec<&RealServer> = Vec::new();
    for (j, rs) in vs.real_server.iter().enumerate() {
        // Formatted only when something is said about the real server.
        let rkey = || indexed_key(key, "real_server", j);
        if kept.iter().any(|o| o.same_endpoint(rs)) {
            err(
                cx,
                &rkey(),
                "real_server",
                format!(
                    "VS {vsd}: real server {} is duplicated - removing second rs",
                    rs.describe(proto)
                ),
            );
            continue;
        }
        kept.push(rs);
        if rs.lvs_method.is_none() && vs.lvs_method.is_none() && !no_method_reported {
            err(
                cx,
                key,
                KW,
                format!("Virtual server {vsd}: no forwarding method set, setting default NAT"),
            );
            no_method_reported = true;
        }
        if let Some(s) = &vs.sorry_server {
            let rs_inhibit = vs.effective_real_server(rs).inhibit_on_failure;
            if s.address == rs.address
                && s.port.unwrap_or(0) == rs.port.unwrap_or(0)
                && s.inhibit != rs_inhibit
            {
                err(
                    cx,
                    &format!("{key}.sorry_server"),
                    "sorry_server",
                    format!(
                        "Virtual server {vsd}: real server {} matches sorry server, but inhibit setting differs, {}ing on sorry server",
                        rs.describe(proto),
                        if rs_inhibit { "sett" } else { "clear" }
                    ),
                );
            }
        }
        validate_real_server(cfg, cx, rs, &rkey);
    }
    if let Some(s) = &vs.sorry_server {
        if s.lvs_method.is_none() && vs.lvs_method.is_none() && !no_method_reported {
            err(
                cx,
                key,
                KW,
                format!("Virtual server {vsd}: no forwarding method set, setting default NAT"),
            );
        }
    }

    // Quorum and hysteresis.
    let total = vs.total_weight();
    let quorum = vs.effective_quorum();
    if vs.quorum > total {
        err(
            cx,
            &format!("{key}.quorum"),
            "quorum",
            format!(
                "Warning - quorum {} for {vsd} exceeds total weight of real servers {total}, reducing quorum to {total}",
                vs.quorum
            ),
        );
    }
    if vs.hysteresis >= quorum {
        err(
            cx,
            &format!("{key}.hysteresis"),
            "hysteresis",
            format!(
                "Virtual server {vsd}: hysteresis {} >= quorum {quorum}; setting hysteresis to {}",
                vs.hysteresis,
                quorum.wrapping_sub(1)
            ),
        );
    }

    // Ports of real and sorry servers.
    validate_ports(cx, vs, key, &kept, group, proto, &vsd);

    // Scripts.
    for (field, script) in [
        ("quorum_up", &vs.quorum_up),
        ("quorum_down", &vs.quorum_down),
    ] {
        if let Some(s) = script {
            check_script(
                cx,
                &cfg.global_defs,
                &format!("{key}.{field}"),
                field,
                &s.script,
                s.user.as_ref(),
                ScriptUse::Notify,
            );
        }
    }
}

/// Checks the parser makes while reading, repeated for models loaded from
/// TOML (a model read from keepalived.conf never fails them).
fn validate_parse_level(cx: &mut Cx, vs: &VirtualServer, key: &str) {
    let Some(af) = vs.family(&[]) else { return };
    let vs_method = vs.effective_lvs_method().method;
    for (j, rs) in vs.real_server.iter().enumerate() {
        let m = rs.lvs_method.map_or(vs_method, |m| m.method);
        if m != ForwardingMethod::Tun && ServiceFamily::of(&rs.address) != af {
            cx.report_at(
                Severity::Error,
                &format!("{key}.real_server[{j}]"),
                "real_server",
                format!(
                    "Address family of virtual server and real server {} don't match - skipping real server",
                    rs.address
                ),
            );
        }
    }
    if let Some(s) = &vs.sorry_server {
        let m = s.lvs_method.map_or(vs_method, |m| m.method);
        if m != ForwardingMethod::Tun && ServiceFamily::of(&s.address) != af {
            cx.report_at(
                Severity::Error,
                &format!("{key}.sorry_server"),
                "sorry_server",
                format!(
                    "Address family of virtual server and sorry server {} don't match - skipping sorry server",
                    s.address
                ),
            );
        }
    }
}

/// `rkey` gives the real server's key (see [`indexed_key`]), when needed.
fn validate_real_server(cfg: &Config, cx: &mut Cx, rs: &RealServer, rkey: &dyn Fn() -> String) {
    for (field, script) in [
        ("notify_up", &rs.notify_up),
        ("notify_down", &rs.notify_down),
    ] {
        if let Some(s) = script {
            check_script(
                cx,
                &cfg.global_defs,
                &format!("{}.{field}", rkey()),
                field,
                &s.script,
                s.user.as_ref(),
                ScriptUse::Notify,
            );
        }
    }
    for (k, c) in rs.checkers.iter().enumerate() {
        // Formatted only when something is said about the checker.
        let ckey = || indexed_key(&rkey(), "checkers", k);
        let kw = c.keyword();
        let own_connection = match c {
            Checker::Smtp(s) => {
                let host_default = RealServer::new(rs.address, None);
                for h in &s.host {
                    if let Some(msg) = h.connection().problem(&host_default) {
                        let msg = format!("{msg} - ignoring the host");
                        cx.report_at(Severity::Error, &ckey(), kw, msg);
                    }
                }
                s.uses_own_connection()
            }
            _ => true,
        };
        if let Some(conn) = c.connection().filter(|_| own_connection) {
            if let Some(msg) = conn.problem(rs) {
                let msg = format!("{msg} - ignoring the checker");
                cx.report_at(Severity::Error, &ckey(), kw, msg);
            }
        }
        match c {
            Checker::Http(h) | Checker::Ssl(h) if h.url.is_empty() => cx.report_at(
                Severity::Error,
                &ckey(),
                kw,
                "HTTP/SSL_GET checker has no urls specified - ignoring",
            ),
            Checker::Misc(m) if m.misc_path.is_empty() => cx.report_at(
                Severity::Error,
                &ckey(),
                kw,
                "No script path has been specified for MISC_CHECKER - skipping",
            ),
            Checker::Misc(m) => {
                let pkey = format!("{}.misc_path", ckey());
                check_script(
                    cx,
                    &cfg.global_defs,
                    &pkey,
                    "misc_path",
                    &m.misc_path,
                    m.user.as_ref(),
                    ScriptUse::Checker,
                );
            }
            Checker::File(f) if f.track_file.is_empty() => cx.report_at(
                Severity::Error,
                &ckey(),
                kw,
                "FILE_CHECK has no track_file specified - ignoring",
            ),
            _ => {}
        }
    }
}

/// keepalived's port checks: unless NAT, a real (or sorry) server's port must
/// be the service's; fwmark services take no port.
fn validate_ports(
    cx: &mut Cx,
    vs: &VirtualServer,
    key: &str,
    kept: &[&RealServer],
    group: Option<&VirtualServerGroup>,
    proto: Option<ServiceProtocol>,
    vsd: &str,
) {
    let vs_method = vs.effective_lvs_method().method;
    let rs_key = |rs: &RealServer| {
        let j = vs
            .real_server
            .iter()
            .position(|o| std::ptr::eq(o, rs))
            .unwrap_or(0);
        format!("{key}.real_server[{j}]")
    };
    let at = |cx: &Cx, k: String| {
        if cx.spans.contains_key(&k) {
            k
        } else {
            key.to_owned()
        }
    };
    let sorry_nat = vs
        .sorry_server
        .map(|s| s.lvs_method.map_or(vs_method, |m| m.method) == ForwardingMethod::Nat);
    let sorry_key = format!("{key}.sorry_server");
    if let Some(g) = group {
        if !g.fwmarks.is_empty() {
            for rs in kept {
                if vs.effective_real_server(rs).lvs_method.method == ForwardingMethod::Nat {
                    continue;
                }
                if rs.port.unwrap_or(0) != 0 {
                    let k = at(cx, rs_key(rs));
                    cx.report_at(
                        Severity::Error,
                        &k,
                        "real_server",
                        format!(
                            "WARNING - fwmark virtual server {vsd}, real server {} has port specified - port will be ignored",
                            rs.describe(proto)
                        ),
                    );
                }
            }
            if let (Some(s), Some(false)) = (&vs.sorry_server, sorry_nat) {
                if s.port.unwrap_or(0) != 0 {
                    let k = at(cx, sorry_key.clone());
                    cx.report_at(
                        Severity::Error,
                        &k,
                        "sorry_server",
                        format!("WARNING - fwmark virtual server {vsd}, sorry server has port specified - port will be ignored"),
                    );
                }
            }
        }
        for r in &g.ranges {
            let vport = r.port.unwrap_or(0);
            for rs in kept {
                if vs.effective_real_server(rs).lvs_method.method == ForwardingMethod::Nat {
                    continue;
                }
                let p = rs.port.unwrap_or(0);
                if p != 0 && p != vport {
                    let k = at(cx, rs_key(rs));
                    let range = match r.range_end {
                        Some(e) => format!("{}-{e},{vport}", r.address),
                        None => format!("{},{vport}", r.address),
                    };
                    cx.report_at(
                        Severity::Error,
                        &k,
                        "real_server",
                        format!(
                            "virtual server {vsd}:[{range}] and real server {} ports don't match",
                            rs.describe(proto)
                        ),
                    );
                }
            }
            if let (Some(s), Some(false)) = (&vs.sorry_server, sorry_nat) {
                let p = s.port.unwrap_or(0);
                if p != 0 && p != vport {
                    let k = at(cx, sorry_key.clone());
                    cx.report_at(
                        Severity::Error,
                        &k,
                        "sorry_server",
                        format!("WARNING - virtual server {vsd}, sorry server has port specified - port will be ignored"),
                    );
                }
            }
        }
        return;
    }
    let vport = vs.port.unwrap_or(0);
    for rs in kept {
        if vs.effective_real_server(rs).lvs_method.method == ForwardingMethod::Nat {
            continue;
        }
        let p = rs.port.unwrap_or(0);
        if vs.mark().is_some() {
            if p != 0 {
                let k = at(cx, rs_key(rs));
                cx.report_at(
                    Severity::Error,
                    &k,
                    "real_server",
                    format!(
                        "WARNING - fwmark virtual server {vsd}, real server {} has port specified - clearing",
                        rs.describe(proto)
                    ),
                );
            }
        } else if p != 0 && p != vport {
            let k = at(cx, rs_key(rs));
            cx.report_at(
                Severity::Error,
                &k,
                "real_server",
                format!(
                    "WARNING - virtual server {vsd} and real server {} ports don't match - resetting",
                    rs.describe(proto)
                ),
            );
        }
    }
    if let (Some(s), Some(false)) = (&vs.sorry_server, sorry_nat) {
        let p = s.port.unwrap_or(0);
        let k = at(cx, sorry_key);
        if vs.mark().is_some() {
            if p != 0 {
                cx.report_at(
                    Severity::Error,
                    &k,
                    "sorry_server",
                    format!("WARNING - virtual server {vsd}, sorry server has port specified - clearing"),
                );
            }
        } else if p != 0 && p != vport {
            cx.report_at(
                Severity::Error,
                &k,
                "sorry_server",
                format!(
                    "WARNING - virtual server {vsd} and sorry server ports don't match - resetting"
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn plain_digits_read_as_the_general_path_reads_them() {
        let inputs = [
            "0",
            "1",
            "65535",
            "65536",
            "007",
            "4294967295",
            "4294967296",
            "18446744073709551615",
            "18446744073709551616",
            "9999999999999999999",
            "",
            "+1",
            " 1",
            "1 ",
            "-1",
            "0x10",
            "1a",
            "12345678901234567890",
        ];
        for s in inputs {
            for (min, max) in [
                (0, u64::from(u32::MAX)),
                (1, 65535),
                (1, 128),
                (0, u64::MAX),
            ] {
                assert_eq!(
                    super::read_unsigned(s, min, max),
                    super::read_unsigned_general(s, min, max),
                    "{s:?} in [{min}, {max}]"
                );
            }
        }
    }

    #[test]
    fn inet_addr_cuts_at_the_first_dash_else_slash() {
        use std::net::IpAddr;
        let p = |s: &str| super::parse_inet_addr(s);
        let v4 = |s: &str| s.parse::<IpAddr>().ok();
        assert_eq!(p("10.0.0.1"), v4("10.0.0.1"));
        assert_eq!(p("10.0.0.1-20"), v4("10.0.0.1"));
        assert_eq!(p("10.0.0.1/24"), v4("10.0.0.1"));
        assert_eq!(p("10.0.0.1/24-5"), None);
        assert_eq!(p("10.0.0.1-5/24"), v4("10.0.0.1"));
        assert_eq!(p("fe80::1-ff"), v4("fe80::1"));
        assert_eq!(p("2001:db8::1/64"), v4("2001:db8::1"));
        assert_eq!(p("10.0.0.1:80"), None);
        assert_eq!(p(""), None);
    }

    #[test]
    fn indexed_keys_are_formatted_as_format_would() {
        for i in [0usize, 7, 10, 99, 12_345, usize::MAX] {
            assert_eq!(
                super::indexed_key("virtual_server[3]", "real_server", i),
                format!("virtual_server[3].real_server[{i}]")
            );
            assert_eq!(
                super::top_key("virtual_server", i),
                format!("virtual_server[{i}]")
            );
        }
        assert_eq!(super::dotted("a[1]", "protocol"), "a[1].protocol");
    }

    use crate::config::diag::Severity;
    use crate::config::model::lvs::*;
    use crate::config::model::Config;
    use crate::config::values::Timer;
    use crate::config::{load_file, load_str, LoadOptions, Loaded};
    use std::net::IpAddr;
    use std::path::Path;

    fn opts() -> LoadOptions {
        let mut o = LoadOptions::default();
        o.preprocess.allow_includes = false;
        o.build.check_host = false;
        o
    }

    fn load(text: &str) -> Loaded {
        load_str("t.conf", text, &opts())
    }

    fn msgs(l: &Loaded) -> Vec<String> {
        l.diags.items.iter().map(|d| d.to_string()).collect()
    }

    /// The diagnostic at `loc` ("t.conf:L:C") of `severity` containing `text`.
    #[track_caller]
    fn expect(l: &Loaded, loc: &str, severity: Severity, text: &str) {
        let found = l.diags.items.iter().any(|d| {
            d.severity == severity
                && d.location.as_ref().is_some_and(|x| x.to_string() == loc)
                && d.message.contains(text)
        });
        assert!(
            found,
            "no {severity} at {loc} containing {text:?} in {:#?}",
            msgs(l)
        );
    }

    #[track_caller]
    fn expect_none(l: &Loaded, text: &str) {
        let m = msgs(l);
        assert!(
            !m.iter().any(|x| x.contains(text)),
            "unexpected {text:?} in {m:#?}"
        );
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// A complete, valid service used as a base by several tests.
    const GOOD: &str = "virtual_server 10.0.0.1 80 {\n lvs_sched rr\n lvs_method NAT\n protocol TCP\n real_server 10.0.0.2 80 {\n  TCP_CHECK {\n  }\n }\n}\n";

    #[test]
    fn a_complete_service_is_clean_and_has_keepalived_defaults() {
        let l = load(GOOD);
        assert!(l.diags.items.is_empty(), "{:#?}", msgs(&l));
        let vs = &l.config.virtual_server[0];
        assert_eq!(vs.address, Some(ip("10.0.0.1")));
        assert_eq!(vs.port, Some(80));
        assert_eq!(vs.delay_loop, Timer::from_secs(60));
        assert_eq!(vs.connect_timeout, Timer::from_secs(5));
        assert_eq!((vs.quorum, vs.hysteresis, vs.weight), (1, 0, 1));
        assert_eq!(vs.lvs_sched, Some(Scheduler::Rr));
        assert_eq!(vs.protocol, Some(ServiceProtocol::Tcp));
        assert_eq!(vs.retry, None);
        let rs = &vs.real_server[0];
        assert_eq!(rs.address, ip("10.0.0.2"));
        assert_eq!((rs.weight, rs.retry, rs.delay_loop), (None, None, None));
        assert_eq!(rs.checkers, vec![Checker::Tcp(TcpCheck::default())]);
        let e = vs.effective_checker(rs, &rs.checkers[0]).unwrap();
        assert_eq!(e.retry, 1);
        assert_eq!(e.delay_before_retry, Timer::from_secs(1));
        assert_eq!(e.connect_timeout, Some(Timer::from_secs(5)));
        assert_eq!(e.warmup, Timer::from_secs(60));
    }

    #[test]
    fn missing_protocol_scheduler_and_method_are_errors_like_keepalived() {
        let l = load("virtual_server 10.0.0.1 80 {\n real_server 10.0.0.2 80 {\n }\n}\n");
        expect(
            &l,
            "t.conf:1:1",
            Severity::Error,
            "Virtual server [10.0.0.1]:none:80: no protocol set - defaulting to UDP",
        );
        expect(
            &l,
            "t.conf:1:1",
            Severity::Error,
            "Virtual server [10.0.0.1]:udp:80: no scheduler set, setting default 'wlc'",
        );
        expect(
            &l,
            "t.conf:1:1",
            Severity::Error,
            "no forwarding method set, setting default NAT",
        );
        let vs = &l.config.virtual_server[0];
        assert_eq!(vs.effective_scheduler(), Scheduler::Wlc);
        assert_eq!(vs.effective_protocol(&[]), Some(ServiceProtocol::Udp));
    }

    #[test]
    fn legacy_synonyms_map_to_modern_fields() {
        let l = load(
            "virtual_server 10.0.0.1 80 {\n lb_algo wlc\n lb_kind DR\n protocol tcp\n real_server 10.0.0.2 80 {\n  HTTP_GET {\n   url {\n    path /\n   }\n   nb_get_retry 4\n  }\n }\n}\n",
        );
        let vs = &l.config.virtual_server[0];
        assert_eq!(vs.lvs_sched, Some(Scheduler::Wlc));
        assert_eq!(vs.lvs_method, Some(LvsMethod::new(ForwardingMethod::Dr)));
        assert_eq!(vs.protocol, Some(ServiceProtocol::Tcp));
        let Checker::Http(h) = &vs.real_server[0].checkers[0] else {
            panic!("not HTTP_GET")
        };
        assert_eq!(h.retry, Some(4));
        // keepalived reports the deprecated spelling as a configuration error.
        expect(
            &l,
            "t.conf:10:4",
            Severity::Error,
            "nb_get_retry is deprecated - please use 'retry'",
        );
    }

    #[test]
    fn scheduler_names_are_keepalived_s_exact_list() {
        for (name, s) in Scheduler::ALL {
            let l = load(&GOOD.replace("lvs_sched rr", &format!("lvs_sched {name}")));
            assert_eq!(l.config.virtual_server[0].lvs_sched, Some(s), "{name}");
            assert!(l.diags.items.is_empty(), "{name}: {:#?}", msgs(&l));
        }
        let l = load(&GOOD.replace("lvs_sched rr", "lvs_sched RR"));
        expect(
            &l,
            "t.conf:2:12",
            Severity::Error,
            "Invalid lvs_scheduler 'RR' - ignoring",
        );
        assert_eq!(l.config.virtual_server[0].lvs_sched, None);
        let l = load(&GOOD.replace("lvs_sched rr", "lvs_sched wlc2"));
        expect(
            &l,
            "t.conf:2:12",
            Severity::Error,
            "Invalid lvs_scheduler 'wlc2'",
        );
    }

    #[test]
    fn scheduler_flags_depend_on_the_scheduler_chosen_before() {
        let l = load(&GOOD.replace(
            "lvs_sched rr\n",
            "sh-port\n lvs_sched sh\n sh-port\n sh-fallback\n mh-port\n ops\n flag-3\n",
        ));
        expect(
            &l,
            "t.conf:2:2",
            Severity::Error,
            "sh-port only applies to sh scheduler - ignoring",
        );
        expect(
            &l,
            "t.conf:6:2",
            Severity::Warning,
            "'mh-port' has no effect with the sh scheduler",
        );
        let vs = &l.config.virtual_server[0];
        assert!(vs.sh_port && vs.sh_fallback && !vs.mh_port && vs.ops && vs.flag_3);
        // ops with TCP: keepalived resets it.
        expect(
            &l,
            "t.conf:7:2",
            Severity::Error,
            "one packet scheduling requires UDP - resetting",
        );
        assert_eq!(
            vs.effective_flags(&[]),
            ipvs_flags::SCHED1 | ipvs_flags::SCHED2 | ipvs_flags::SCHED3
        );
    }

    #[test]
    fn lvs_method_with_tunnel_options() {
        let l = load(&GOOD.replace(
            "lvs_method NAT",
            "lvs_method TUN type gue port 6080 remcsum",
        ));
        assert!(l.diags.items.is_empty(), "{:#?}", msgs(&l));
        assert_eq!(
            l.config.virtual_server[0].lvs_method,
            Some(LvsMethod {
                method: ForwardingMethod::Tun,
                tunnel_type: TunnelType::Gue,
                tunnel_port: Some(6080),
                tunnel_checksum: TunnelChecksum::Remcsum,
            })
        );
        let l = load(&GOOD.replace("lvs_method NAT", "lvs_method TUN type gue"));
        expect(
            &l,
            "t.conf:3:13",
            Severity::Error,
            "gue tunnels require port",
        );
        // The method is taken, the tunnel settings are not (keepalived's order).
        assert_eq!(
            l.config.virtual_server[0].lvs_method,
            Some(LvsMethod::new(ForwardingMethod::Tun))
        );
        let l = load(&GOOD.replace("lvs_method NAT", "lvs_method TUN csum"));
        expect(
            &l,
            "t.conf:3:13",
            Severity::Error,
            "ipip tunnels do not support checksum option",
        );
        let l = load(&GOOD.replace("lvs_method NAT", "lvs_method TUN type gre remcsum"));
        expect(
            &l,
            "t.conf:3:13",
            Severity::Error,
            "gre tunnels do not support remote checksum option",
        );
        let l = load(&GOOD.replace("lvs_method NAT", "lvs_method nat"));
        expect(
            &l,
            "t.conf:3:13",
            Severity::Error,
            "unknown [nat] routing method for virtual server",
        );
        assert_eq!(l.config.virtual_server[0].lvs_method, None);
    }

    #[test]
    fn persistence_settings() {
        let l = load(&GOOD.replace("protocol TCP", "protocol TCP\n persistence_timeout"));
        assert_eq!(l.config.virtual_server[0].persistence_timeout, Some(360));
        let l = load(&GOOD.replace("protocol TCP", "protocol TCP\n persistence_timeout 0"));
        expect(
            &l,
            "t.conf:5:22",
            Severity::Error,
            "persistence_timeout '0' invalid: number '0' outside range [1, 2678400] - ignoring",
        );
        assert_eq!(l.config.virtual_server[0].persistence_timeout, None);
        let l = load(&GOOD.replace(
            "protocol TCP",
            "protocol TCP\n persistence_granularity 255.255.255.0\n persistence_engine sipsipsipsipsipsip",
        ));
        let vs = &l.config.virtual_server[0];
        assert_eq!(
            vs.persistence_granularity,
            Some(PersistenceGranularity::Netmask(
                "255.255.255.0".parse().unwrap()
            ))
        );
        assert_eq!(vs.effective_persistence_timeout(&[]), Some(360));
        assert_eq!(vs.persistence_engine.as_deref(), Some("sipsipsipsipsip"));
        expect(
            &l,
            "t.conf:6:21",
            Severity::Error,
            "persistence_name too long, truncating",
        );
        // An IPv4 service reads the granularity as glibc's inet_aton does.
        let l = load(&GOOD.replace("protocol TCP", "protocol TCP\n persistence_granularity 24"));
        assert_eq!(
            l.config.virtual_server[0].persistence_granularity,
            Some(PersistenceGranularity::Netmask("0.0.0.24".parse().unwrap()))
        );
    }

    #[test]
    fn a_missing_argument_keepalived_reads_unconditionally_is_fatal() {
        let l = load(&GOOD.replace("lvs_sched rr", "lvs_sched"));
        expect(
            &l,
            "t.conf:2:2",
            Severity::Fatal,
            "'lvs_sched' is missing a parameter",
        );
        let l = load(&GOOD.replace("TCP_CHECK {\n", "TCP_CHECK {\n connect_port\n"));
        expect(
            &l,
            "t.conf:7:2",
            Severity::Fatal,
            "'connect_port' is missing a parameter",
        );
        let l = load("virtual_server group\n{\n}\n");
        expect(
            &l,
            "t.conf:1:1",
            Severity::Fatal,
            "keepalived 2.2.7 crashes",
        );
        // ... while keepalived checks these itself and only reports an error.
        let l = load(&GOOD.replace("protocol TCP", "protocol TCP\n virtualhost"));
        expect(
            &l,
            "t.conf:5:2",
            Severity::Error,
            "virtual server virtualhost missing",
        );
    }

    #[test]
    fn fwmark_service_with_protocol_is_reported_at_the_protocol() {
        // Corpus 008: keepalived 2.2.7 "Warning: Virtual server FWM 1: protocol
        // specified for fwmark - protocol will be ignored" (an error for -t).
        let l = load("virtual_server fwmark 1 {\n lvs_sched rr\n lvs_method DR\n protocol TCP\n real_server 10.0.0.2 80 {\n }\n}\n");
        expect(&l, "t.conf:4:2", Severity::Error, "Warning: Virtual server FWM 1: protocol specified for fwmark - protocol will be ignored");
        // ... and the real server's port is cleared for DR.
        expect(&l, "t.conf:5:2", Severity::Error, "WARNING - fwmark virtual server FWM 1, real server [10.0.0.2]:none:80 has port specified - clearing");
        let vs = &l.config.virtual_server[0];
        assert_eq!(vs.effective_protocol(&[]), None);
        assert_eq!(vs.effective_real_server_port(&vs.real_server[0]), 0);
    }

    #[test]
    fn port_omitted_without_persistence() {
        let l = load(&GOOD.replace("10.0.0.1 80", "10.0.0.1"));
        expect(&l, "t.conf:1:1", Severity::Error, "Virtual server [10.0.0.1]:tcp:0: zero port only valid for persistent services - setting");
        let l = load(
            &GOOD
                .replace("10.0.0.1 80", "10.0.0.1 0")
                .replace("protocol TCP", "protocol TCP\n persistence_timeout 60"),
        );
        expect_none(&l, "zero port");
    }

    #[test]
    fn real_servers_of_the_other_family_are_dropped_unless_tunnelled() {
        let l = load("virtual_server 10.0.0.1 80 {\n lvs_sched rr\n lvs_method DR\n protocol TCP\n real_server 2001:db8::2 80 {\n }\n real_server 10.0.0.2 80 {\n }\n}\n");
        expect(&l, "t.conf:6:2", Severity::Error, "Address family of virtual server and real server 2001:db8::2 don't match - skipping real server");
        assert_eq!(l.config.virtual_server[0].real_server.len(), 1);
        // Corpus 039: tunnelled real servers may be of the other family.
        let l = load("virtual_server fwmark 82 {\n lvs_sched dh\n lvs_method TUN\n real_server 100:8:254::1 {\n }\n real_server 100:8:254::2 {\n }\n ip_family inet\n}\n");
        assert!(l.diags.items.is_empty(), "{:#?}", msgs(&l));
        let vs = &l.config.virtual_server[0];
        assert_eq!(vs.real_server.len(), 2);
        assert_eq!(vs.ip_family, Some(ServiceFamily::Inet));
        // The first non-tunnelled real server settles a fwmark service's family.
        let l = load("virtual_server fwmark 1 {\n lvs_sched rr\n lvs_method NAT\n real_server 10.0.0.2 {\n }\n ip_family inet6\n}\n");
        expect(
            &l,
            "t.conf:6:12",
            Severity::Error,
            "Virtual server specified family inet6 conflicts with server family",
        );
    }

    #[test]
    fn duplicate_real_servers_and_quorum() {
        let l = load(&GOOD.replace(
            " real_server 10.0.0.2 80 {\n  TCP_CHECK {\n  }\n }\n",
            " quorum 5\n hysteresis 9\n real_server 10.0.0.2 80 {\n  weight 2\n }\n real_server 10.0.0.2 80 {\n  weight 7\n }\n",
        ));
        expect(&l, "t.conf:10:2", Severity::Error, "VS [10.0.0.1]:tcp:80: real server [10.0.0.2]:tcp:80 is duplicated - removing second rs");
        expect(&l, "t.conf:5:2", Severity::Error, "Warning - quorum 5 for [10.0.0.1]:tcp:80 exceeds total weight of real servers 2, reducing quorum to 2");
        expect(
            &l,
            "t.conf:6:2",
            Severity::Error,
            "hysteresis 9 >= quorum 2; setting hysteresis to 1",
        );
        let vs = &l.config.virtual_server[0];
        assert_eq!(vs.effective_real_servers().len(), 1);
        assert_eq!((vs.effective_quorum(), vs.effective_hysteresis()), (2, 1));
        // keepalived: an invalid quorum is reported and set to 1.
        let l = load(&GOOD.replace("protocol TCP", "protocol TCP\n quorum 0"));
        expect(
            &l,
            "t.conf:5:9",
            Severity::Error,
            "Quorum 0 must be in [1, 4294967295]",
        );
        assert_eq!(l.config.virtual_server[0].quorum, 1);
    }

    #[test]
    fn http_url_digest_and_status_codes() {
        let l = load(&GOOD.replace(
            "TCP_CHECK {\n  }\n",
            "SSL_GET {\n   url {\n    path /health\n    digest 0123456789ABCDEF0123456789abcdef\n    digest 00000000000000000000000000000000\n    status_code 200-299 abc 600 301 302-301\n   }\n   url {\n    digest 0123\n    path /x\n   }\n   url {\n    status_code 200\n   }\n   http_protocol 1.0C\n   enable_sni\n   fast_recovery off\n  }\n",
        ));
        expect(
            &l,
            "t.conf:10:12",
            Severity::Error,
            "Digest '00000000000000000000000000000000' is a duplicate",
        );
        expect(
            &l,
            "t.conf:11:25",
            Severity::Error,
            "Invalid HTTP_GET status code 'abc'",
        );
        expect(
            &l,
            "t.conf:11:29",
            Severity::Error,
            "Invalid HTTP_GET status code '600'",
        );
        expect(
            &l,
            "t.conf:11:37",
            Severity::Error,
            "Invalid HTTP_GET status code '302-301'",
        );
        expect(
            &l,
            "t.conf:14:12",
            Severity::Error,
            "digest '0123' character length should be 32 rather than 4",
        );
        expect(
            &l,
            "t.conf:17:4",
            Severity::Error,
            "HTTP/SSL_GET checker url has no path - ignoring",
        );
        let Checker::Ssl(h) = &l.config.virtual_server[0].real_server[0].checkers[0] else {
            panic!("not SSL_GET")
        };
        assert_eq!(h.url.len(), 2);
        let u = &h.url[0];
        assert_eq!(u.path, "/health");
        assert_eq!(
            u.digest.as_deref(),
            Some("0123456789abcdef0123456789abcdef")
        );
        assert_eq!(
            u.status_code,
            vec![
                StatusCodeRange {
                    first: 200,
                    last: 299
                },
                StatusCodeRange {
                    first: 301,
                    last: 301
                }
            ]
        );
        assert_eq!(h.url[1].digest, None);
        assert_eq!(h.http_protocol, HttpProtocol::Http10Close);
        assert!(h.enable_sni && !h.fast_recovery);
        let l = load(&GOOD.replace("TCP_CHECK {\n  }\n", "HTTP_GET {\n   url {\n    path /\n    digest 0123456789abcdef0123456789abcdeg\n   }\n  }\n"));
        expect(
            &l,
            "t.conf:9:12",
            Severity::Error,
            "Unable to interpret hex digit in '0123456789abcdef0123456789abcdeg' at offset 30/31",
        );
        let l = load(&GOOD.replace("TCP_CHECK {\n  }\n", "HTTP_GET {\n  }\n"));
        expect(
            &l,
            "t.conf:6:3",
            Severity::Error,
            "HTTP/SSL_GET checker has no urls specified - ignoring",
        );
        assert!(l.config.virtual_server[0].real_server[0]
            .checkers
            .is_empty());
    }

    #[test]
    fn url_regex_settings() {
        let l = load(&GOOD.replace(
            "TCP_CHECK {\n  }\n",
            "HTTP_GET {\n   url {\n    path /\n    regex \"IBM.*up now\"\n    regex_no_match\n    regex_options caseless bogus\n    regex_min_offset 20\n    regex_max_offset 100\n    regex_stack 10 20\n   }\n   url {\n    path /b\n    regex_options caseless\n   }\n  }\n",
        ));
        expect(
            &l,
            "t.conf:11:28",
            Severity::Warning,
            "unknown regex option 'bogus' ignored",
        );
        expect(
            &l,
            "t.conf:16:4",
            Severity::Warning,
            "regex parameters specified without regex - ignored",
        );
        let Checker::Http(h) = &l.config.virtual_server[0].real_server[0].checkers[0] else {
            panic!("not HTTP_GET")
        };
        let u = &h.url[0];
        assert_eq!(u.regex.as_deref(), Some("IBM.*up now"));
        assert!(u.regex_no_match);
        assert_eq!(u.regex_options, vec!["caseless".to_owned()]);
        assert_eq!(
            (u.regex_min_offset, u.regex_max_offset),
            (Some(20), Some(100))
        );
        assert_eq!(u.regex_stack, Some(RegexStack { start: 10, max: 20 }));
        assert!(h.url[1].regex_options.is_empty());
    }

    #[test]
    fn misc_check_users_are_resolved_while_reading() {
        // keepalived's MISC_CHECK end: without a user of its own the checker
        // needs the default one (here a global script_user that does not
        // exist), else it is removed, named at the block's `}`; an explicit
        // user that does not exist is named at its line.
        let mut o = opts();
        o.build.check_host = true;
        let text = format!(
            "global_defs {{\n script_user no-such-user-k3\n}}\n{}",
            GOOD.replace(
                "TCP_CHECK {\n  }\n",
                "MISC_CHECK {\n   misc_path /bin/true\n  }\n  MISC_CHECK {\n   misc_path /bin/false\n   user no-such-user-k4\n  }\n  MISC_CHECK {\n   misc_path /bin/true\n   user root\n  }\n",
            )
        );
        let l = load_str("t.conf", &text, &o);
        expect(
            &l,
            "t.conf:11:3",
            Severity::Error,
            "unable to set default user for misc script /bin/true - removing",
        );
        expect(
            &l,
            "t.conf:14:4",
            Severity::Error,
            "failed to set uid/gid for misc checker script /bin/false - removing",
        );
        let cs = &l.config.virtual_server[0].real_server[0].checkers;
        assert_eq!(cs.len(), 1);
    }

    #[test]
    fn misc_check_takes_the_first_word_as_command_line() {
        let l = load(&GOOD.replace(
            "TCP_CHECK {\n  }\n",
            "MISC_CHECK {\n   misc_path \"/usr/local/bin/check.sh arg1 'a b'\"\n   misc_timeout 5\n   misc_dynamic\n   user nobody nogroup\n   retry 2\n  }\n  MISC_CHECK {\n   misc_path /bin/true extra\n  }\n  MISC_CHECK {\n   misc_timeout 5\n  }\n",
        ));
        let cs = &l.config.virtual_server[0].real_server[0].checkers;
        assert_eq!(cs.len(), 2);
        let Checker::Misc(m) = &cs[0] else {
            panic!("not MISC_CHECK")
        };
        assert_eq!(m.misc_path, "/usr/local/bin/check.sh arg1 'a b'");
        assert_eq!(m.misc_timeout, Some(5));
        assert!(m.misc_dynamic);
        assert_eq!(
            m.user,
            Some(crate::config::model::ScriptUser {
                user: "nobody".into(),
                group: Some("nogroup".into())
            })
        );
        let Checker::Misc(m2) = &cs[1] else {
            panic!("not MISC_CHECK")
        };
        assert_eq!(m2.misc_path, "/bin/true");
        expect(
            &l,
            "t.conf:14:24",
            Severity::Warning,
            "only the first word is the command line",
        );
        expect(
            &l,
            "t.conf:18:3",
            Severity::Error,
            "No script path has been specified for MISC_CHECKER - skipping",
        );
        // The script location is remembered for the script checks.
        let loc = &l.spans["virtual_server[0].real_server[0].checkers[0].misc_path"];
        assert_eq!((loc.line, loc.col), (7, 4));
        // MISC_CHECK: retry defaults to 0; misc timeout defaults to the VS delay_loop.
        let vs = &l.config.virtual_server[0];
        let e = vs.effective_checker(&vs.real_server[0], &cs[1]).unwrap();
        assert_eq!(e.retry, 0);
        assert_eq!(m2.effective_timeout(vs), Timer::from_secs(60));
    }

    #[test]
    fn notify_and_quorum_scripts() {
        let l = load(&GOOD.replace(
            " real_server 10.0.0.2 80 {\n",
            " quorum_up \"/bin/up.sh 1\" root\n quorum_down /bin/down.sh\n real_server 10.0.0.2 80 {\n  notify_up \"/bin/rs-up.sh a\" nobody nogroup\n  notify_down /bin/rs-down.sh\n  notify_down /bin/again.sh\n",
        ));
        let vs = &l.config.virtual_server[0];
        assert_eq!(
            vs.quorum_up,
            Some(CheckerScript {
                script: "/bin/up.sh 1".into(),
                user: Some(crate::config::model::ScriptUser {
                    user: "root".into(),
                    group: None
                })
            })
        );
        assert_eq!(
            vs.quorum_down.as_ref().map(|s| s.script.as_str()),
            Some("/bin/down.sh")
        );
        let rs = &vs.real_server[0];
        assert_eq!(
            rs.notify_up.as_ref().map(|s| s.script.as_str()),
            Some("/bin/rs-up.sh a")
        );
        assert_eq!(
            rs.notify_down.as_ref().map(|s| s.script.as_str()),
            Some("/bin/rs-down.sh")
        );
        expect(
            &l,
            "t.conf:10:15",
            Severity::Error,
            "notify_down script already specified - ignoring /bin/again.sh",
        );
        let loc = &l.spans["virtual_server[0].quorum_up"];
        assert_eq!((loc.line, loc.col), (5, 2));
        let loc = &l.spans["virtual_server[0].real_server[0].notify_up"];
        assert_eq!((loc.line, loc.col), (8, 3));
    }

    #[test]
    fn timer_inheritance_from_a_loaded_configuration() {
        let l = load(&GOOD.replace(
            "protocol TCP\n",
            "protocol TCP\n delay_loop 10\n retry 3\n connect_timeout 2.5\n alpha\n",
        ).replace(
            "  TCP_CHECK {\n  }\n",
            "  delay_before_retry 0.5\n  alpha off\n  TCP_CHECK {\n   warmup 1\n  }\n  HTTP_GET {\n   delay_loop 4\n   url {\n    path /\n   }\n  }\n  DNS_CHECK {\n  }\n",
        ));
        assert!(l.diags.items.is_empty(), "{:#?}", msgs(&l));
        let vs = &l.config.virtual_server[0];
        let rs = &vs.real_server[0];
        let tcp = vs.effective_checker(rs, &rs.checkers[0]).unwrap();
        assert_eq!(
            tcp,
            EffectiveChecker {
                alpha: false,
                retry: 3,
                delay_before_retry: Timer::from_millis(500),
                warmup: Timer::from_secs(1),
                delay_loop: Timer::from_secs(10),
                connect_timeout: Some(Timer::from_millis(2500)),
                log_all_failures: false,
            }
        );
        let http = vs.effective_checker(rs, &rs.checkers[1]).unwrap();
        assert_eq!(
            (http.delay_loop, http.warmup),
            (Timer::from_secs(4), Timer::from_secs(4))
        );
        let dns = vs.effective_checker(rs, &rs.checkers[2]).unwrap();
        assert_eq!(dns.retry, 3);
        assert_eq!(dns.delay_before_retry, Timer::from_millis(500));
    }

    #[test]
    fn smtp_host_blocks_set_the_checker_timing() {
        let l = load(&GOOD.replace(
            "TCP_CHECK {\n  }\n",
            "SMTP_CHECK {\n   helo_name me.example\n   retry 1\n   host {\n    connect_ip 10.0.0.9\n    connect_port 25\n    retry 5\n   }\n  }\n",
        ));
        let Checker::Smtp(s) = &l.config.virtual_server[0].real_server[0].checkers[0] else {
            panic!("not SMTP_CHECK")
        };
        assert_eq!(s.helo_name.as_deref(), Some("me.example"));
        assert_eq!(s.retry, Some(5));
        assert_eq!(s.host.len(), 1);
        assert_eq!(s.host[0].connect_ip, Some(ip("10.0.0.9")));
        assert_eq!(s.host[0].connect_port, Some(25));
        expect(
            &l,
            "t.conf:6:3",
            Severity::Warning,
            "The SMTP_CHECK host block is deprecated",
        );
    }

    #[test]
    fn dns_udp_file_and_bfd_checkers() {
        let l = load(&GOOD.replace(
            "TCP_CHECK {\n  }\n",
            "DNS_CHECK {\n   type aaaa\n   name www.example.com\n   name other\n  }\n  DNS_CHECK {\n   name a.example.com\n  }\n  UDP_CHECK {\n   payload 1 23 ab\n   require_reply 0x ff\n   min_reply_length 10\n   max_reply_length 5\n  }\n  UDP_CHECK {\n   payload zz\n  }\n  FILE_CHECK {\n   track_file tf\n   weight -10 reverse\n  }\n  FILE_CHECK {\n   weight 3\n  }\n  BFD_CHECK {\n   name bfd1\n  }\n",
        ));
        let cs = &l.config.virtual_server[0].real_server[0].checkers;
        let Checker::Dns(d) = &cs[0] else {
            panic!("not DNS_CHECK")
        };
        assert_eq!(
            (d.query_type, d.name.as_deref()),
            (DnsType::Aaaa, Some("www.example.com"))
        );
        expect(
            &l,
            "t.conf:9:4",
            Severity::Error,
            "DNS_CHECK name already specified - ignoring",
        );
        // keepalived 2.2.7 refuses a one-character first label (its own quirk).
        expect(
            &l,
            "t.conf:12:9",
            Severity::Error,
            "DNS_CHECK name 'a.example.com' has empty label - ignoring",
        );
        let Checker::Udp(u) = &cs[2] else {
            panic!("not UDP_CHECK")
        };
        assert_eq!(u.payload.as_deref(), Some("1 23 ab"));
        assert_eq!(
            decode_hex(u.payload.as_deref().unwrap(), false).unwrap().0,
            vec![0x01, 0x23, 0xab]
        );
        assert!(u.require_reply);
        assert_eq!(u.require_reply_data.as_deref(), Some("0x ff"));
        expect(
            &l,
            "t.conf:14:3",
            Severity::Error,
            "UDP_CHECK min_reply length 10 > max_reply_length 5 - will always fail",
        );
        expect(
            &l,
            "t.conf:21:12",
            Severity::Error,
            "Invalid hex string for UDP_CHECK payload",
        );
        let Checker::Udp(u2) = &cs[3] else {
            panic!("not UDP_CHECK")
        };
        assert_eq!(u2.payload, None);
        let Checker::File(f) = &cs[4] else {
            panic!("not FILE_CHECK")
        };
        assert_eq!(
            (f.track_file.as_str(), f.weight, f.weight_reverse),
            ("tf", Some(-10), true)
        );
        expect(
            &l,
            "t.conf:27:3",
            Severity::Error,
            "FILE_CHECK has no track_file specified - ignoring",
        );
        let Checker::Bfd(b) = &cs[5] else {
            panic!("not BFD_CHECK")
        };
        assert_eq!(b.name, "bfd1");
        assert_eq!(cs.len(), 6);
    }

    #[test]
    fn checker_connection_settings() {
        let l = load("virtual_server fe80::1 80 {\n lvs_sched rr\n lvs_method NAT\n protocol TCP\n real_server fe80::2 80 {\n  TCP_CHECK {\n   bindto 10.0.0.1\n  }\n  TCP_CHECK {\n   bind_if eth0\n   bindto fe80::3\n   bind_port 4000\n   connect_port 8080\n   fwmark 7\n   connect_timeout 0.25\n  }\n  PING_CHECK {\n   bind_if averyveryverylonginterfacename\n  }\n }\n}\n");
        expect(
            &l,
            "t.conf:7:11",
            Severity::Error,
            "bindto address 10.0.0.1 does not match address family of connect_ip - skipping",
        );
        expect(
            &l,
            "t.conf:6:3",
            Severity::Error,
            "Checker link local address fe80::2 requires a bind_if - ignoring the checker",
        );
        expect(
            &l,
            "t.conf:18:12",
            Severity::Error,
            "Interface name averyveryverylonginterfacename is too long - ignoring",
        );
        let cs = &l.config.virtual_server[0].real_server[0].checkers;
        assert_eq!(cs.len(), 1);
        let Checker::Tcp(t) = &cs[0] else {
            panic!("not TCP_CHECK")
        };
        assert_eq!(t.bind_if.as_deref(), Some("eth0"));
        assert_eq!(
            (t.bindto, t.bind_port, t.connect_port, t.fwmark),
            (Some(ip("fe80::3")), Some(4000), Some(8080), Some(7))
        );
        assert_eq!(t.connect_timeout, Some(Timer::from_millis(250)));
    }

    #[test]
    fn number_reading_follows_strtoul_quirks() {
        // strtoul takes blanks and a sign before a digit: "+1" is a hex pair.
        let l = load(&GOOD.replace(
            "TCP_CHECK {\n  }\n",
            "HTTP_GET {\n   url {\n    path /\n    digest +123456789abcdef0123456789abcdef\n   }\n  }\n",
        ));
        assert!(l.diags.items.is_empty(), "{:#?}", msgs(&l));
        let Checker::Http(h) = &l.config.virtual_server[0].real_server[0].checkers[0] else {
            panic!("not HTTP_GET")
        };
        assert_eq!(
            h.url[0].digest.as_deref(),
            Some("0123456789abcdef0123456789abcdef")
        );
        let l = load(&GOOD.replace("protocol TCP", "protocol TCP\n delay_loop +5\n retry +2"));
        assert!(l.diags.items.is_empty(), "{:#?}", msgs(&l));
        let vs = &l.config.virtual_server[0];
        assert_eq!((vs.delay_loop, vs.retry), (Timer::from_secs(5), Some(2)));
        let l = load(&GOOD.replace("protocol TCP", "protocol TCP\n delay_loop 1.0000005"));
        expect(
            &l,
            "t.conf:5:13",
            Severity::Error,
            "number '1.0000005' has too many decimal places",
        );
        assert_eq!(
            l.config.virtual_server[0].delay_loop,
            Timer::from_micros(1_000_001)
        );
    }

    #[test]
    fn keepalived_crashes_are_fatal() {
        let l = load(&GOOD.replace(
            "TCP_CHECK {\n  }\n",
            "HTTP_GET {\n   url {\n    path /\n    regex \"abc\n   }\n  }\n",
        ));
        expect(
            &l,
            "t.conf:9:11",
            Severity::Fatal,
            "keepalived 2.2.7 crashes on this",
        );
        let l = load(&GOOD.replace("TCP_CHECK {\n", "MISC_CHECK {\n   misc_path \"/bin/true\n"));
        expect(
            &l,
            "t.conf:7:14",
            Severity::Fatal,
            "keepalived 2.2.7 crashes on this",
        );
    }

    #[test]
    fn fwmark_zero_and_weight_overflow_read_like_keepalived() {
        let l = load("virtual_server fwmark 0 {\n lvs_sched rr\n lvs_method DR\n real_server 10.0.0.2 {\n }\n}\n");
        expect(&l, "t.conf:1:23", Severity::Warning, "fwmark 0 is no mark");
        expect(
            &l,
            "t.conf:1:1",
            Severity::Error,
            "no protocol set - defaulting to UDP",
        );
        expect(
            &l,
            "t.conf:1:1",
            Severity::Error,
            "zero port only valid for persistent services - setting",
        );
        // keepalived sums weights in 32 bits: 2^31-1 + 2^31-1 + 2 wraps to 0.
        let l = load(&GOOD.replace(
            " real_server 10.0.0.2 80 {\n  TCP_CHECK {\n  }\n }\n",
            " real_server 10.0.0.2 80 {\n  weight 2147483647\n }\n real_server 10.0.0.3 80 {\n  weight 2147483647\n }\n real_server 10.0.0.4 80 {\n  weight 2\n }\n",
        ));
        expect(
            &l,
            "t.conf:1:1",
            Severity::Error,
            "exceeds total weight of real servers 0, reducing quorum to 0",
        );
        expect(
            &l,
            "t.conf:1:1",
            Severity::Error,
            "hysteresis 0 >= quorum 0; setting hysteresis to 4294967295",
        );
        let vs = &l.config.virtual_server[0];
        assert_eq!(
            (vs.effective_quorum(), vs.effective_hysteresis()),
            (0, u32::MAX)
        );
    }

    #[test]
    fn smtp_checks_its_own_address_only_without_hosts() {
        let l = load("virtual_server fe80::1 25 {\n lvs_sched rr\n lvs_method NAT\n protocol TCP\n real_server fe80::2 25 {\n  SMTP_CHECK {\n   host {\n    bind_if eth0\n   }\n  }\n  SMTP_CHECK {\n  }\n }\n}\n");
        expect(
            &l,
            "t.conf:11:3",
            Severity::Error,
            "Checker link local address fe80::2 requires a bind_if",
        );
        assert_eq!(l.diags.count(Severity::Error), 1, "{:#?}", msgs(&l));
        assert_eq!(l.config.virtual_server[0].real_server[0].checkers.len(), 1);
    }

    #[test]
    fn virtual_server_groups() {
        let l = load(
            "virtual_server_group G {\n 10.0.0.1 80\n 10.0.0.2-10 80\n 10.0.1.0/29 443\n 10.0.2.1-10.0.2.5 80\n 10.0.4.1 80\n fwmark 7 inet\n 10.0.0.9-3 80\n 10.0.3.1/24 80\n 4:5:6::7-10.11.12.2\n fwmark x\n 10.0.0.5 0\n}\nvirtual_server_group EMPTY {\n}\nvirtual_server group G {\n lvs_sched rr\n lvs_method DR\n protocol TCP\n real_server 10.0.1.9 80 {\n }\n}\n",
        );
        let g = &l.config.virtual_server_group[0];
        assert_eq!(g.name, "G");
        let r = |a: &str, e: Option<&str>, p: Option<u16>| VsgRange {
            address: ip(a),
            range_end: e.map(ip),
            port: p,
        };
        assert_eq!(
            g.ranges,
            vec![
                r("10.0.0.1", None, Some(80)),
                r("10.0.0.2", Some("10.0.0.10"), Some(80)),
                r("10.0.1.0", Some("10.0.1.7"), Some(443)),
                r("10.0.2.1", Some("10.0.2.5"), Some(80)),
                r("10.0.4.1", None, Some(80)),
                r("10.0.0.5", None, None),
            ]
        );
        assert_eq!(
            g.fwmarks,
            vec![VsgFwmark {
                fwmark: 7,
                family: Some(ServiceFamily::Inet)
            }]
        );
        expect(
            &l,
            "t.conf:8:2",
            Severity::Error,
            "Address range end is not greater than address range start - 10.0.0.9-3 - skipping",
        );
        expect(
            &l,
            "t.conf:9:2",
            Severity::Error,
            "Address mask bits not empty - 10.0.3.1/24 - skipping",
        );
        expect(&l, "t.conf:10:2", Severity::Error, "Virtual server group range '4:5:6::7-10.11.12.2' has extra characters at end '.11.12.2'");
        expect(
            &l,
            "t.conf:11:9",
            Severity::Error,
            "(G): fwmark 'x' must be in [0, 4294967295]",
        );
        expect(
            &l,
            "t.conf:14:22",
            Severity::Error,
            "virtual server group EMPTY has no entries - removing",
        );
        assert_eq!(l.config.virtual_server_group.len(), 1);
        // A group with an entry without port and no persistence.
        expect(
            &l,
            "t.conf:16:1",
            Severity::Error,
            "Virtual server [G]:0: zero port only valid for persistent services - setting",
        );
        // DR real server port differs from a group entry's port.
        expect(&l, "t.conf:20:2", Severity::Error, "virtual server [G]:0:[10.0.1.0-10.0.1.7,443] and real server [10.0.1.9]:tcp:80 ports don't match");
    }

    #[test]
    fn group_services_get_keepalived_s_checks() {
        let l = load("virtual_server_group G {\n fwmark 1\n 10.0.0.1 80\n}\nvirtual_server group G {\n lvs_sched rr\n lvs_method DR\n ha_suspend\n ops\n real_server 10.0.0.2 81 {\n }\n}\nvirtual_server fwmark 2 {\n lvs_sched rr\n lvs_method DR\n}\n");
        expect(
            &l,
            "t.conf:8:2",
            Severity::Error,
            "Virtual server [G]:0: cannot use ha_suspend with fwmarks - clearing ha_suspend",
        );
        expect(
            &l,
            "t.conf:5:1",
            Severity::Error,
            "Virtual server [G]:0: no protocol set - defaulting to UDP",
        );
        // UDP by default, so one-packet scheduling stays.
        expect_none(&l, "one packet scheduling");
        expect(&l, "t.conf:10:2", Severity::Error, "WARNING - fwmark virtual server [G]:0, real server [10.0.0.2]:udp:81 has port specified - port will be ignored");
        expect(&l, "t.conf:10:2", Severity::Error, "virtual server [G]:0:[10.0.0.1,80] and real server [10.0.0.2]:udp:81 ports don't match");
        expect(
            &l,
            "t.conf:13:1",
            Severity::Error,
            "Virtual server FWM 2 has no real servers - ignoring",
        );
    }

    #[test]
    fn group_header_problems_stop_keepalived() {
        let l = load("virtual_server_group G extra {\n 10.0.0.1 80\n}\n");
        expect(
            &l,
            "t.conf:1:24",
            Severity::Fatal,
            "extra words after the virtual_server_group name",
        );
        let l = load("virtual_server_group G\n 10.0.0.1 80\n}\n");
        expect(
            &l,
            "t.conf:1:22",
            Severity::Fatal,
            "virtual_server_group without '{'",
        );
        assert!(l.config.virtual_server_group.is_empty());
    }

    #[test]
    fn ipv6_group_ranges_end_in_hex() {
        let l = load("virtual_server_group V6 {\n 2001:db8::1-1f 80\n 2001:db8::/126 80\n 2001:db8::9-0x10 80\n 2001:db8::1-10000 80\n}\n");
        let g = &l.config.virtual_server_group[0];
        let r = |a: &str, e: &str| VsgRange {
            address: ip(a),
            range_end: Some(ip(e)),
            port: Some(80),
        };
        assert_eq!(
            g.ranges,
            vec![
                r("2001:db8::1", "2001:db8::1f"),
                r("2001:db8::", "2001:db8::3"),
                r("2001:db8::9", "2001:db8::10"),
            ]
        );
        expect(
            &l,
            "t.conf:5:2",
            Severity::Error,
            "Virtual server group range '2001:db8::1-10000' end '10000' too large - skipping",
        );
    }

    #[test]
    fn unknown_group_and_family_mismatch_are_warnings_like_keepalived() {
        let l = load("virtual_server group NOPE {\n lvs_sched rr\n protocol TCP\n real_server 10.0.0.2 80 {\n }\n}\n");
        expect(&l, "t.conf:1:1", Severity::Warning, "Virtual server group NOPE specified but not configured - ignoring virtual server [NOPE]:0");
        assert!(l.diags.count(Severity::Error) == 0, "{:#?}", msgs(&l));
        let l = load("virtual_server_group V6 {\n 2001:db8::1 80\n}\nvirtual_server group V6 {\n ip_family inet\n real_server 10.0.0.2 80 {\n }\n}\n");
        expect(
            &l,
            "t.conf:4:1",
            Severity::Warning,
            "V6: address family doesn't match virtual server [V6]:0 - ignoring",
        );
        assert!(l.diags.count(Severity::Error) == 0, "{:#?}", msgs(&l));
    }

    #[test]
    fn sorry_server_settings() {
        let l = load(&GOOD.replace(
            "protocol TCP",
            "protocol TCP\n sorry_server_inhibit\n sorry_server 10.0.0.9 8080\n sorry_server_inhibit\n sorry_server_lvs_method DR",
        ));
        expect(
            &l,
            "t.conf:5:2",
            Severity::Error,
            "Ignoring sorry_server inhibit used before or without sorry_server",
        );
        expect(&l, "t.conf:6:2", Severity::Error, "WARNING - virtual server [10.0.0.1]:tcp:80 and sorry server ports don't match - resetting");
        assert_eq!(
            l.config.virtual_server[0].sorry_server,
            Some(SorryServer {
                address: ip("10.0.0.9"),
                port: Some(8080),
                inhibit: true,
                lvs_method: Some(LvsMethod::new(ForwardingMethod::Dr)),
            })
        );
        let l = load(&GOOD.replace("protocol TCP", "protocol TCP\n sorry_server 2001:db8::9 80"));
        expect(&l, "t.conf:5:2", Severity::Error, "Address family of virtual server and sorry server 2001:db8::9 don't match - skipping sorry server");
        assert_eq!(l.config.virtual_server[0].sorry_server, None);
    }

    #[test]
    fn real_server_keywords() {
        let l = load(&GOOD.replace(
            "  TCP_CHECK {\n  }\n",
            "  weight 0\n  lvs_method TUN\n  uthreshold 100\n  lthreshold 10\n  inhibit_on_failure Off\n  inhibit_on_failure\n  alpha no\n  retry 0\n  delay_loop 3\n  warmup 0\n  connect_timeout 1\n  virtualhost www.example.com\n  smtp_alert\n  snmp_name rs1\n",
        ));
        let rs = &l.config.virtual_server[0].real_server[0];
        assert_eq!(rs.weight, Some(0));
        assert_eq!(rs.lvs_method, Some(LvsMethod::new(ForwardingMethod::Tun)));
        assert_eq!((rs.uthreshold, rs.lthreshold), (100, 10));
        assert_eq!(rs.inhibit_on_failure, Some(true));
        assert_eq!(rs.alpha, Some(false));
        expect(
            &l,
            "t.conf:10:22",
            Severity::Error,
            "Invalid inhibit_on_failure parameter Off (keepalived only accepts lower case)",
        );
        expect(
            &l,
            "t.conf:13:9",
            Severity::Error,
            "retry value '0' invalid: number '0' outside range [1, 4294967295] - ignoring",
        );
        assert_eq!(rs.retry, None);
        assert_eq!(
            (rs.delay_loop, rs.warmup),
            (Some(Timer::from_secs(3)), Some(Timer::from_secs(0)))
        );
        assert_eq!(rs.virtualhost.as_deref(), Some("www.example.com"));
        assert_eq!(
            (rs.smtp_alert, rs.snmp_name.as_deref()),
            (Some(true), Some("rs1"))
        );
        expect(
            &l,
            "t.conf:18:3",
            Severity::Warning,
            "keyword 'smtp_alert' recognised but not implemented",
        );
    }

    #[test]
    fn ssl_block() {
        let l = load("SSL {\n password secret\n ca /etc/ca.pem\n certificate /etc/c.pem\n key /etc/k.pem\n key /etc/k2.pem\n}\n");
        assert_eq!(
            l.config.ssl,
            Some(SslContext {
                password: Some("secret".into()),
                ca: Some("/etc/ca.pem".into()),
                certificate: Some("/etc/c.pem".into()),
                key: Some("/etc/k2.pem".into()),
            })
        );
        expect(
            &l,
            "t.conf:6:6",
            Severity::Error,
            "SSL keyfile already specified - replacing",
        );
        let l = load("SSL {\n ca\n}\nSSL {\n}\n");
        expect(&l, "t.conf:2:2", Severity::Error, "SSL cafile missing");
        expect(
            &l,
            "t.conf:4:1",
            Severity::Error,
            "SSL context already specified - replacing",
        );
    }

    #[test]
    fn invalid_addresses_skip_the_block_like_keepalived() {
        let l = load("virtual_server 10.0.0.1:80 {\n lvs_sched rr\n}\nvirtual_server 10.0.0.1 99999 {\n}\nvirtual_server 10.0.0.1/24 80 {\n lvs_sched rr\n lvs_method NAT\n protocol TCP\n real_server 10.0.0.x 80 {\n  bogus\n }\n real_server 10.0.0.2 80 {\n }\n}\n");
        expect(
            &l,
            "t.conf:1:16",
            Severity::Error,
            "Invalid virtual server IP address 10.0.0.1:80 - skipping the virtual server",
        );
        expect(
            &l,
            "t.conf:4:25",
            Severity::Error,
            "number '99999' outside range [1, 65535]",
        );
        expect(
            &l,
            "t.conf:10:14",
            Severity::Error,
            "Invalid real server ip address/port 10.0.0.x/80",
        );
        // The skipped real server's block is not read.
        expect_none(&l, "bogus");
        assert_eq!(l.config.virtual_server.len(), 1);
        let vs = &l.config.virtual_server[0];
        assert_eq!(vs.address, Some(ip("10.0.0.1")));
        assert_eq!(vs.real_server.len(), 1);
        assert!(l.diags.items.len() == 3, "{:#?}", msgs(&l));
    }

    /// A configuration that sets most LVS keywords, for the TOML round trip.
    const RICH: &str = r#"
SSL {
 password pw
 ca /etc/keepalived/ca.pem
 certificate /etc/keepalived/cert.pem
 key /etc/keepalived/key.pem
}
virtual_server_group VG {
 10.1.0.1-20 80
 10.2.0.0/30 80
 fwmark 9 inet
}
virtual_server 192.168.1.10 443 {
 ip_family inet
 delay_loop 6.5
 connect_timeout 3
 retry 2
 delay_before_retry 1.25
 warmup 4
 inhibit_on_failure
 lvs_sched sh
 sh-port
 sh-fallback
 flag-3
 lvs_method TUN type gue port 6080 csum
 persistence_engine sip
 persistence_timeout 600
 persistence_granularity 255.255.255.0
 protocol SCTP
 ha_suspend
 smtp_alert off
 virtualhost vs.example.com
 snmp_name vs1
 alpha
 omega
 quorum_up "/usr/local/bin/up.sh 'x y'" root
 quorum_down /usr/local/bin/down.sh
 quorum 2
 hysteresis 1
 weight 3
 sorry_server 192.168.1.99 443
 sorry_server_inhibit
 sorry_server_lvs_method DR
 real_server 192.168.1.11 443 {
  weight 5
  lvs_method TUN type gre csum
  uthreshold 1000
  lthreshold 100
  inhibit_on_failure false
  notify_up "/bin/up.sh rs" nobody nogroup
  notify_down /bin/down.sh
  alpha yes
  retry 3
  delay_before_retry 2
  warmup 1
  connect_timeout 0.5
  delay_loop 7
  smtp_alert
  virtualhost rs.example.com
  snmp_name rs1
  TCP_CHECK {
   connect_ip 192.168.1.111
   connect_port 8443
   bindto 192.168.1.1
   bind_port 5000
   bind_if eth0
   connect_timeout 2
   fwmark 3
   retry 1
   delay_before_retry 0.1
   warmup 0
   delay_loop 9
   alpha
   log_all_failures
  }
  HTTP_GET {
   virtualhost h.example.com
   http_protocol 1.1
   fast_recovery
   url {
    path /a
    digest 0123456789abcdef0123456789abcdef
    status_code 200-204 301
    virtualhost u.example.com
    regex "ok\s+up"
    regex_no_match
    regex_options caseless multiline
    regex_min_offset 1
    regex_max_offset 999
    regex_stack 100 1000
   }
  }
  SSL_GET {
   enable_sni
   url {
    path /
   }
  }
  MISC_CHECK {
   misc_path "/bin/check 1"
   misc_timeout 3
   misc_dynamic
   user nobody
   retry 1
  }
  SMTP_CHECK {
   helo_name helo.example.com
   host {
    connect_ip 192.168.1.12
    connect_port 25
   }
  }
  DNS_CHECK {
   type MX
   name example.com
  }
  UDP_CHECK {
   payload 01 02 ff
   require_reply 0X ff
   min_reply_length 1
   max_reply_length 100
  }
  PING_CHECK {
   retry 4
  }
  FILE_CHECK {
   track_file tf1
   weight 10 reverse
  }
  BFD_CHECK {
   name b1
   alpha
  }
 }
 real_server 192.168.1.13 {
 }
}
virtual_server fwmark 42 {
 lvs_sched rr
 lvs_method DR
 ip_family inet6
 real_server 2001:db8::5 {
 }
}
virtual_server group VG {
 lvs_sched wrr
 lvs_method NAT
 protocol UDP
 persistence_granularity 255.255.0.0
 real_server 10.9.0.1 80 {
 }
}
"#;

    #[test]
    fn toml_round_trip_is_lossless() {
        let l = load(RICH);
        let cfg = &l.config;
        // Sanity: the rich configuration parsed as intended.
        assert_eq!(cfg.virtual_server.len(), 3);
        let vs = &cfg.virtual_server[0];
        assert_eq!(vs.real_server[0].checkers.len(), 10, "{:#?}", msgs(&l));
        assert!(vs.sh_port && vs.sh_fallback && vs.flag_3);
        assert_eq!(
            vs.lvs_method.map(|m| m.tunnel_checksum),
            Some(TunnelChecksum::Csum)
        );
        assert_eq!(l.diags.count(Severity::Fatal), 0, "{:#?}", msgs(&l));
        let text = crate::config::to_toml(cfg).expect("serialise");
        let back: Config = toml::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(&back, cfg, "{text}");
        // TOML names the checkers by their keyword.
        assert!(text.contains("checker = \"HTTP_GET\""), "{text}");
        assert!(text.contains("sh-port = true"), "{text}");
        // And the same checks run on the TOML form (no locations there).
        let mut diags = crate::config::diag::Diagnostics::new();
        let mut cx = super::super::Cx::new(&mut diags, opts().build);
        super::validate(&back, &mut cx);
        let from_toml: Vec<String> = diags.items.iter().map(|d| d.message.clone()).collect();
        let from_conf: Vec<String> = l
            .diags
            .items
            .iter()
            .filter(|d| {
                d.message.contains("Virtual server") || d.message.contains("virtual server")
            })
            .map(|d| d.message.clone())
            .collect();
        for m in &from_conf {
            if !m.contains("recognised but not implemented") {
                assert!(from_toml.contains(m), "{m} missing from {from_toml:#?}");
            }
        }
    }

    #[test]
    fn toml_refuses_unknown_fields_and_checks_identity() {
        let bad = "[[virtual_server]]\naddress = \"10.0.0.1\"\nbogus = 1\n";
        assert!(toml::from_str::<Config>(bad).is_err());
        let two = "[[virtual_server]]\naddress = \"10.0.0.1\"\nfwmark = 3\n[[virtual_server.real_server]]\naddress = \"10.0.0.2\"\n";
        let cfg: Config = toml::from_str(two).expect("parse");
        let mut diags = crate::config::diag::Diagnostics::new();
        let mut cx = super::super::Cx::new(&mut diags, opts().build);
        super::validate(&cfg, &mut cx);
        assert!(diags.items.iter().any(|d| d.severity == Severity::Error
            && d.message
                .contains("exactly one of address, fwmark and group")));
    }

    /// Every keyword keepalived 2.2.7 (Debian's build) accepts below the LVS
    /// top-level blocks, from its own keyword dump.
    const KEEPALIVED_2_2_7: &[&str] = &[
        "SSL: password ca certificate key",
        "virtual_server: ip_family retry delay_before_retry warmup connect_timeout delay_loop inhibit_on_failure lb_algo lvs_sched hashed ops flag-1 flag-2 flag-3 sh-port sh-fallback mh-port mh-fallback lb_kind lvs_method persistence_engine persistence_timeout persistence_granularity protocol ha_suspend smtp_alert virtualhost snmp_name alpha omega quorum_up quorum_down quorum hysteresis weight sorry_server sorry_server_inhibit sorry_server_lvs_method real_server",
        "virtual_server/real_server: weight lvs_method uthreshold lthreshold inhibit_on_failure notify_up notify_down alpha retry delay_before_retry warmup connect_timeout delay_loop smtp_alert virtualhost snmp_name MISC_CHECK SMTP_CHECK TCP_CHECK PING_CHECK UDP_CHECK HTTP_GET SSL_GET DNS_CHECK FILE_CHECK BFD_CHECK",
        "virtual_server/real_server/MISC_CHECK: retry delay_before_retry warmup delay_loop alpha log_all_failures misc_path misc_timeout misc_dynamic user",
        "virtual_server/real_server/SMTP_CHECK: helo_name connect_ip connect_port bindto bind_port bind_if connect_timeout fwmark retry delay_before_retry warmup delay_loop alpha log_all_failures host",
        "virtual_server/real_server/SMTP_CHECK/host: connect_ip connect_port bindto bind_port bind_if connect_timeout fwmark retry delay_before_retry warmup delay_loop alpha log_all_failures",
        "virtual_server/real_server/TCP_CHECK: connect_ip connect_port bindto bind_port bind_if connect_timeout fwmark retry delay_before_retry warmup delay_loop alpha log_all_failures",
        "virtual_server/real_server/PING_CHECK: connect_ip connect_port bindto bind_port bind_if connect_timeout fwmark retry delay_before_retry warmup delay_loop alpha log_all_failures",
        "virtual_server/real_server/UDP_CHECK: connect_ip connect_port bindto bind_port bind_if connect_timeout fwmark retry delay_before_retry warmup delay_loop alpha log_all_failures payload require_reply min_reply_length max_reply_length",
        "virtual_server/real_server/HTTP_GET: connect_ip connect_port bindto bind_port bind_if connect_timeout fwmark retry delay_before_retry warmup delay_loop alpha log_all_failures nb_get_retry virtualhost http_protocol enable_sni fast_recovery url",
        "virtual_server/real_server/HTTP_GET/url: path digest status_code virtualhost regex regex_no_match regex_options regex_min_offset regex_max_offset regex_stack",
        "virtual_server/real_server/SSL_GET: connect_ip connect_port bindto bind_port bind_if connect_timeout fwmark retry delay_before_retry warmup delay_loop alpha log_all_failures nb_get_retry virtualhost http_protocol enable_sni fast_recovery url",
        "virtual_server/real_server/SSL_GET/url: path digest status_code virtualhost regex regex_no_match regex_options regex_min_offset regex_max_offset regex_stack",
        "virtual_server/real_server/DNS_CHECK: connect_ip connect_port bindto bind_port bind_if connect_timeout fwmark retry delay_before_retry warmup delay_loop alpha log_all_failures type name",
        "virtual_server/real_server/FILE_CHECK: track_file weight",
        "virtual_server/real_server/BFD_CHECK: name alpha",
    ];

    fn keepalived_paths() -> Vec<String> {
        let mut v: Vec<String> = KEEPALIVED_2_2_7
            .iter()
            .flat_map(|line| {
                let (ctx, kws) = line.split_once(": ").unwrap();
                kws.split(' ').map(move |k| format!("{ctx}/{k}"))
            })
            .collect();
        v.sort();
        v
    }

    #[test]
    fn keyword_tables_are_exactly_keepalived_s() {
        let mut out = Vec::new();
        super::keywords(&mut out);
        let mut ours: Vec<String> = out
            .iter()
            .map(|k| format!("{}/{}", k.context, k.name))
            .collect();
        ours.sort();
        assert_eq!(ours, keepalived_paths());
    }

    #[test]
    fn corpus_has_no_unknown_keyword_keepalived_knows() {
        let dir = Path::new("/work/shared/corpus/keepalived-conf");
        let Ok(entries) = std::fs::read_dir(dir) else {
            return; // the corpus is not available here
        };
        let known = keepalived_paths();
        let mut files: Vec<_> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "conf"))
            .collect();
        files.sort();
        let mut checked = 0;
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap_or_default();
            if !text.contains("virtual_server") && !text.contains("SSL") {
                continue;
            }
            checked += 1;
            let l = load_file(&f, &opts());
            for d in &l.diags.items {
                let Some(rest) = d.message.strip_prefix("unknown keyword '") else {
                    continue;
                };
                let Some((kw, ctx)) = rest.split_once("' in ") else {
                    continue;
                };
                let ctx = ctx.split(" - ").next().unwrap_or("");
                assert!(
                    !known.contains(&format!("{ctx}/{kw}")),
                    "{}: keepalived knows {ctx}/{kw}: {d}",
                    f.display()
                );
            }
            // Nothing a keepalived-valid file uses makes us stop.  keepalived
            // 2.2.7 itself stops (exit 2, "missing a parameter") on 084 and
            // 141 (verdicts.md §1.4): there we must stop too.
            let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.starts_with("084-") || name.starts_with("141-") {
                continue;
            }
            assert_eq!(
                l.diags
                    .items
                    .iter()
                    .filter(|d| d.severity == Severity::Fatal
                        && d.message.contains("missing a parameter"))
                    .count(),
                0,
                "{}",
                f.display()
            );
        }
        assert!(checked > 40, "only {checked} corpus files with LVS content");
    }
}
