//! The item grammars of address, route and rule lists, shared by
//! `virtual_ipaddress[_excluded]`/`static_ipaddress`, `virtual_routes`/
//! `static_routes` and `virtual_rules`/`static_rules`, following keepalived
//! 2.2.7's parsers word by word (including where they skip a word: `inet` and
//! `inet6` at the start of a route or rule also swallow the word after them).
//!
//! An item keepalived drops is reported and `None` returned.  Interface names
//! are kept as written: whether they exist is a host check made in `validate`.

use super::util::{self, read_decimal, read_unsigned, Line, IFNAMSIZ};
use crate::config::build::Cx;
use crate::config::model::{
    Broadcast, Congctl, Encap, EncapType, Family, IpAddressSpec, Nexthop, PortRange, RouteAddMode,
    RouteDst, RouteMetric, RouteSpec, RtProto, RtScope, RtTable, RtType, RuleAction, RuleSpec,
    UidRange,
};
use crate::config::values::IpPrefix;
use std::net::IpAddr;

/// keepalived's `parse_ipaddress`: the family is IPv6 when the word has a ':';
/// `/LEN` only where a subnet is allowed.
pub(crate) fn parse_ip(cx: &mut Cx, line: &Line, k: usize, allow_subnet: bool) -> Option<IpPrefix> {
    let s = line.get(k)?;
    let v6 = s.contains(':');
    let max: u8 = if v6 { 128 } else { 32 };
    let mut len = max;
    let (addr_s, plen) = match s.split_once('/') {
        Some((a, p)) if allow_subnet => (a, Some(p)),
        _ => (s, None),
    };
    if let Some(p) = plen {
        match read_unsigned(p, 0, u64::from(max), true) {
            Ok(v) => len = v as u8,
            Err(e) => {
                if let Some(v) = e.lenient {
                    len = v as u8;
                }
                line.error(
                    cx,
                    k,
                    format!(
                        "{}; Invalid address prefix len {p} for address {s} - using {len}",
                        e.msg
                    ),
                );
            }
        }
    }
    let addr: Option<IpAddr> = if v6 {
        addr_s.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6)
    } else {
        addr_s.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
    };
    match addr {
        Some(addr) => Some(IpPrefix { addr, len }),
        None => {
            line.error(cx, k, format!("VRRP parsed invalid IP {s}. skipping IP..."));
            None
        }
    }
}

/// keepalived's `inet_stosockaddr` for single addresses: anything after a '-'
/// or '/' is ignored.
pub(crate) fn parse_sockaddr(s: &str) -> Option<IpAddr> {
    let cut = s.find(['-', '/']).map_or(s, |i| &s[..i]);
    if s.contains(':') {
        cut.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6)
    } else {
        cut.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
    }
}

/// One address item.  `static_addr` enables `track_group` (and disables
/// `use_vmac`); `track_groups` are the track groups defined so far.
pub(crate) fn parse_ipaddress_item(
    cx: &mut Cx,
    line: &Line,
    static_addr: bool,
    track_groups: &[String],
) -> Option<IpAddressSpec> {
    let addr_str = line.get(0).unwrap_or("");
    let address = parse_ip(cx, line, 0, true)?;
    let mut a = IpAddressSpec {
        address,
        ..Default::default()
    };
    let v6 = address.addr.is_ipv6();
    let mut brd_sign = false;
    let mut i = 1;
    let mut missing: Option<usize> = None;
    while i < line.len() {
        let str_ = line.get(i).unwrap_or("");
        let param_avail = line.len() > i + 1;
        let needs_param = matches!(
            str_,
            "dev" | "scope" | "broadcast" | "brd" | "label" | "peer" | "preferred_lft"
        ) || (static_addr && str_ == "track_group");
        if needs_param && !param_avail {
            missing = Some(i);
            break;
        }
        match str_ {
            "dev" => {
                i += 1;
                if a.dev.is_some() {
                    line.error(
                        cx,
                        i - 1,
                        format!("Cannot specify ipaddress device more than once for {addr_str}"),
                    );
                    return None;
                }
                a.dev = line.get(i).map(str::to_owned);
            }
            "scope" => {
                i += 1;
                let s = line.get(i).unwrap_or("");
                match util::rt_scope(s) {
                    Some(v) => a.scope = Some(RtScope(v)),
                    None => line.error(
                        cx,
                        i,
                        format!("Invalid scope '{s}' specified for {addr_str} - ignoring"),
                    ),
                }
            }
            "broadcast" | "brd" => {
                if v6 {
                    line.error(
                        cx,
                        i,
                        format!(
                            "VRRP is trying to assign a broadcast {str_} to the IPv6 address {addr_str} !!?? \
                             WTF... skipping VIP..."
                        ),
                    );
                    return None;
                }
                i += 1;
                let p = line.get(i).unwrap_or("");
                match p.parse::<Broadcast>() {
                    Ok(b) => {
                        brd_sign = matches!(b, Broadcast::Plus | Broadcast::Minus);
                        a.broadcast = Some(b);
                    }
                    Err(_) => {
                        line.error(
                            cx,
                            i,
                            format!(
                                "VRRP is trying to assign invalid broadcast {p}. skipping VIP..."
                            ),
                        );
                        return None;
                    }
                }
            }
            "label" => {
                i += 1;
                let p = line.get(i).unwrap_or("");
                if p.len() >= IFNAMSIZ {
                    line.error(
                        cx,
                        i,
                        format!(
                            "Address label {p} is longer than maximum length {} - removing address",
                            IFNAMSIZ - 1
                        ),
                    );
                    return None;
                }
                a.label = Some(p.to_owned());
            }
            "peer" => {
                i += 1;
                let p = line.get(i).unwrap_or("");
                if a.peer.is_some() {
                    line.error(
                        cx,
                        i,
                        format!("Peer {p} - another peer has already been specified"),
                    );
                } else {
                    match parse_ip(cx, line, i, false) {
                        None => line.error(cx, i, format!("Invalid peer address {p}")),
                        Some(peer) if peer.addr.is_ipv6() != v6 => line.error(
                            cx,
                            i,
                            format!("Peer address {p} does not match address family"),
                        ),
                        Some(peer) => {
                            if a.address.len != peer.len {
                                line.error(
                                    cx,
                                    i,
                                    "Cannot specify address prefix when specifying peer address - ignoring",
                                );
                            }
                            a.address.len = peer.len;
                            a.peer = Some(peer.addr);
                        }
                    }
                }
            }
            "home" => a.home = true,
            "-nodad" => a.nodad = true,
            "mngtmpaddr" => a.mngtmpaddr = true,
            "noprefixroute" => a.noprefixroute = true,
            "autojoin" => a.autojoin = true,
            "no_track" => a.no_track = true,
            "preferred_lft" => {
                i += 1;
                let p = line.get(i).unwrap_or("");
                if p == "forever" {
                    a.preferred_lft = Some(u32::MAX);
                } else {
                    match read_unsigned(p, 0, u64::from(u32::MAX), true) {
                        Ok(v) => a.preferred_lft = Some(v as u32),
                        Err(e) => {
                            if let Some(v) = e.lenient {
                                a.preferred_lft = Some(v as u32);
                            }
                            line.error(cx, i, format!("{}; preferred_lft {p} is invalid", e.msg));
                        }
                    }
                }
            }
            "track_group" if static_addr => {
                i += 1;
                let g = line.get(i).unwrap_or("");
                if a.track_group.is_some() {
                    line.error(cx, i, format!("track_group {g} is a duplicate"));
                    break;
                }
                if track_groups.iter().any(|t| t == g) {
                    a.track_group = Some(g.to_owned());
                } else {
                    line.error(cx, i, format!("track_group {g} not found"));
                }
            }
            "use_vmac" if !static_addr => {
                line.error(
                    cx,
                    i,
                    "use_vmac on an address is not implemented by keepalived-rs (VMACs change the \
                     source MAC on the wire); the daemon refuses to start with it",
                );
                a.use_vmac = true;
            }
            _ => line.error(
                cx,
                i,
                format!("Unknown configuration entry '{str_}' for ip address - ignoring"),
            ),
        }
        i += 1;
    }
    if let Some(k) = missing {
        line.error(
            cx,
            k,
            format!(
                "No {} parameter specified for {addr_str}",
                line.get(k).unwrap_or("")
            ),
        );
        return None;
    }
    if a.broadcast.is_some() && a.peer.is_some() {
        line.error(
            cx,
            0,
            "Cannot specify broadcast and peer addresses - ignoring broadcast address",
        );
        a.broadcast = None;
    } else if brd_sign && a.address.len > 30 {
        line.error(
            cx,
            0,
            format!(
                "Address prefix length {} too long for broadcast",
                a.address.len
            ),
        );
        a.broadcast = None;
    }
    if v6 {
        if a.scope.is_some() {
            line.error(
                cx,
                0,
                format!("Cannot specify scope for IPv6 addresses ({addr_str}) - ignoring scope"),
            );
            a.scope = None;
        }
        if a.label.is_some() {
            line.error(
                cx,
                0,
                format!("Cannot specify label for IPv6 addresses ({addr_str}) - ignoring label"),
            );
            a.label = None;
        }
    }
    Some(a)
}

/// keepalived's `parse_route`: a destination, `default`/`any`/`all`, or the
/// deprecated `default6`.  Returns the destination and the family it fixes.
fn parse_route_dst(cx: &mut Cx, line: &Line, k: usize) -> Option<(RouteDst, Option<Family>)> {
    match line.get(k)? {
        "default" | "any" | "all" => Some((RouteDst::Default, None)),
        "default6" => {
            line.warn(
                cx,
                k,
                "'default6' is deprecated - please replace with 'inet6 default'",
            );
            Some((RouteDst::Default, Some(Family::Inet6)))
        }
        _ => {
            let p = parse_ip(cx, line, k, true)?;
            Some((RouteDst::Prefix(p), Some(Family::of(&p.addr))))
        }
    }
}

/// Merge a family into the item's; `false` on a conflict.
fn join_family(cur: &mut Option<Family>, f: Option<Family>) -> bool {
    match (*cur, f) {
        (_, None) => true,
        (None, Some(f)) => {
            *cur = Some(f);
            true
        }
        (Some(c), Some(f)) => c == f,
    }
}

/// keepalived's check for destinations: once the family is known, a
/// `default` (no family) does not match it either.
fn join_strict(cur: &mut Option<Family>, f: Option<Family>) -> bool {
    match *cur {
        None => {
            *cur = f;
            true
        }
        Some(c) => f == Some(c),
    }
}

/// A `u32`-style value as keepalived's `get_u32`/`get_u8`/`get_u16` read it
/// (decimal, not lenient); on failure both messages are given.
fn get_uint(cx: &mut Cx, line: &Line, k: usize, max: u64, errmsg: &str) -> Option<u64> {
    let s = line.slot(cx, k)?;
    match read_unsigned(s, 0, max, false) {
        Ok(v) => Some(v),
        Err(e) => {
            line.error(cx, k, format!("{}; {}", e.msg, errmsg.replace("%s", s)));
            None
        }
    }
}

/// keepalived's `get_time_rtt`: raw kernel units, or `N[.N]s`/`N[.N]ms`, in
/// units of 1/`unit_mult` ms, clamped to [200 ms, 120 s].
fn get_time_rtt(cx: &mut Cx, line: &Line, k: usize, s: &str, unit_mult: u64) -> Option<u32> {
    const RTT_MIN_MS: u64 = 200;
    const RTT_MAX_MS: u64 = 120_000;
    let t = s.trim_start_matches([' ', '\t']);
    let (num, shift, raw) = match t.find(['s', 'S']) {
        Some(p) => {
            let unit = &t[p..];
            if !["s", "sec", "secs"]
                .iter()
                .any(|u| u.eq_ignore_ascii_case(unit))
            {
                return None;
            }
            let (end, shift) = if p > 0 && t.as_bytes()[p - 1].eq_ignore_ascii_case(&b'm') {
                (p - 1, 0)
            } else {
                (p, 3)
            };
            if end == 0 {
                return None;
            }
            (&t[..end], shift, false)
        }
        None => (t, 0, true),
    };
    if num.contains(['e', 'E']) {
        line.warn(
            cx,
            k,
            format!("rtt value exponential form {s} no longer supported"),
        );
        return None;
    }
    let (v, msgs) = read_decimal(num, 0, RTT_MAX_MS * unit_mult, shift, false);
    if !msgs.is_empty() {
        line.error(cx, k, msgs.join("; "));
    }
    let mut v = v?;
    if !raw {
        v *= unit_mult;
    }
    if v > RTT_MAX_MS * unit_mult {
        line.warn(
            cx,
            k,
            format!(
                "rtt value {s} exceeds maximum {}s, resetting",
                RTT_MAX_MS / 1000
            ),
        );
        v = RTT_MAX_MS * unit_mult;
    } else if v < RTT_MIN_MS * unit_mult {
        line.warn(
            cx,
            k,
            format!("rtt value {s} below minimum {RTT_MIN_MS}ms, resetting"),
        );
        v = RTT_MIN_MS * unit_mult;
    }
    Some(v as u32)
}

/// `get_addr64`: four 16-bit hex groups separated by ':'.
fn get_addr64(s: &str) -> Option<u64> {
    let parts: Vec<&str> = s.trim_start_matches([' ', '\t']).split(':').collect();
    if parts.len() != 4 {
        return None;
    }
    let mut v: u64 = 0;
    for p in parts {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let n = u64::from_str_radix(p, 16).ok()?;
        if n > 0xffff {
            return None;
        }
        v = v << 16 | n;
    }
    Some(v)
}

/// `parse_mpls_address`: up to 2 labels `L[/L]`, each < 2^20.
fn parse_mpls(s: &str) -> Option<Vec<u32>> {
    let mut labels = Vec::new();
    for part in s.trim_start_matches([' ', '\t']).split('/') {
        if labels.len() == 2 {
            return None;
        }
        let v = crate::config::model::parse_c_ulong(part)?;
        if v > 0xfffff {
            return None;
        }
        labels.push(v as u32);
    }
    Some(labels)
}

/// keepalived's `parse_encap`; `i` is at `encap` and is left at the last word
/// used.  The encapsulation is `None` when keepalived reported it as invalid.
fn parse_encap(cx: &mut Cx, line: &Line, i: &mut usize) -> Option<Option<Encap>> {
    *i += 1;
    if line.len() <= *i {
        line.error(cx, *i, "Missing encap type");
        return Some(None);
    }
    let kind = line.get(*i).unwrap_or("");
    *i += 1;
    let mut e = Encap::default();
    let ok = match kind {
        "ip" | "ip6" => {
            let ip6 = kind == "ip6";
            e.encap_type = if ip6 { EncapType::Ip6 } else { EncapType::Ip };
            let fam_name = if ip6 { "ip6" } else { "ip" };
            let mut ok = true;
            while *i + 1 < line.len() {
                let w = line.get(*i).unwrap_or("");
                let v = line.get(*i + 1).unwrap_or("");
                let k = *i + 1;
                match w {
                    "id" => match v.parse::<u64>() {
                        Ok(n) => e.id = Some(n),
                        Err(_) => {
                            line.error(
                                cx,
                                k,
                                if ip6 {
                                    format!("id {v} value invalid for IPv6 encapsulation")
                                } else {
                                    format!("encap id {v} value is invalid")
                                },
                            );
                            ok = false;
                            break;
                        }
                    },
                    "dst" | "src" => {
                        let Some(p) = parse_ip(cx, line, k, false) else {
                            line.error(cx, k, format!("Invalid encap {fam_name} {w} {v}"));
                            ok = false;
                            break;
                        };
                        if p.addr.is_ipv6() != ip6 {
                            line.error(
                                cx,
                                k,
                                if ip6 {
                                    format!("IPv4 address {v} not valid for ip6 encapsulation")
                                } else {
                                    format!("IPv6 address {v} not valid for ip encapsulation")
                                },
                            );
                            ok = false;
                            break;
                        }
                        if w == "dst" {
                            e.dst = Some(p.addr);
                        } else {
                            e.src = Some(p.addr);
                        }
                    }
                    "tos" if !ip6 => match util::rt_dsfield(v) {
                        Some(t) => e.tos = Some(t),
                        None => {
                            line.error(
                                cx,
                                k,
                                format!("dsfield {v} not valid for ip encapsulation"),
                            );
                            ok = false;
                            break;
                        }
                    },
                    "tc" if ip6 => match util::rt_dsfield(v) {
                        Some(t) => e.tos = Some(t),
                        None => {
                            line.error(
                                cx,
                                k,
                                format!("tc value {w} is invalid for ip6 encapsulation"),
                            );
                            ok = false;
                            break;
                        }
                    },
                    "ttl" if !ip6 => {
                        match get_uint(cx, line, k, 255, "ttl %s is not valid for ip encapsulation")
                        {
                            Some(n) => e.ttl = Some(n as u8),
                            None => {
                                ok = false;
                                break;
                            }
                        }
                    }
                    "hoplimit" if ip6 => match get_uint(
                        cx,
                        line,
                        k,
                        255,
                        "Invalid hoplimit %s specified for ip6 encapsulation",
                    ) {
                        Some(n) => e.ttl = Some(n as u8),
                        None => {
                            ok = false;
                            break;
                        }
                    },
                    "flags" => match get_uint(
                        cx,
                        line,
                        k,
                        65535,
                        &format!("flags %s is not valid for {fam_name} encapsulation"),
                    ) {
                        Some(n) => e.flags = Some(n as u16),
                        None => {
                            ok = false;
                            break;
                        }
                    },
                    _ => break,
                }
                *i += 2;
            }
            if ok && e.dst.is_none() && e.id.is_none() {
                line.error(
                    cx,
                    *i,
                    format!("address or id missing for {fam_name} encapsulation"),
                );
                ok = false;
            }
            ok
        }
        "mpls" => {
            e.encap_type = EncapType::Mpls;
            if *i >= line.len() {
                line.error(cx, *i, "missing address for MPLS encapsulation");
                false
            } else {
                let s = line.get(*i).unwrap_or("");
                *i += 1;
                match parse_mpls(s) {
                    Some(l) => {
                        e.labels = l;
                        true
                    }
                    None => {
                        line.error(
                            cx,
                            *i - 1,
                            format!("invalid mpls address {s} for encapsulation"),
                        );
                        false
                    }
                }
            }
        }
        "ila" => {
            e.encap_type = EncapType::Ila;
            if *i >= line.len() {
                line.error(cx, *i, "missing locator for ILA encapsulation");
                false
            } else {
                let s = line.get(*i).unwrap_or("");
                *i += 1;
                match get_addr64(s) {
                    Some(l) => {
                        e.locator = Some(l);
                        true
                    }
                    None => {
                        line.error(
                            cx,
                            *i - 1,
                            format!("invalid locator {s} for ila encapsulation"),
                        );
                        false
                    }
                }
            }
        }
        _ => {
            line.error(cx, *i - 1, format!("Unknown encap type - {kind}"));
            return Some(None);
        }
    };
    *i -= 1;
    Some(ok.then_some(e))
}

/// Read `[lock] N` for a lockable route metric at `i` (left on the value).
fn lockable(cx: &mut Cx, line: &Line, i: &mut usize, errmsg: &str) -> Option<RouteMetric> {
    *i += 1;
    let mut lock = false;
    if line.slot(cx, *i)? == "lock" {
        lock = true;
        *i += 1;
    }
    let v = get_uint(cx, line, *i, u64::from(u32::MAX), errmsg)?;
    Some(RouteMetric {
        value: v as u32,
        lock,
    })
}

/// Same for the rtt-style metrics.
fn lockable_rtt(
    cx: &mut Cx,
    line: &Line,
    i: &mut usize,
    unit_mult: u64,
    errmsg: &str,
) -> Option<RouteMetric> {
    *i += 1;
    let mut lock = false;
    if line.slot(cx, *i)? == "lock" {
        lock = true;
        *i += 1;
    }
    let s = line.slot(cx, *i)?;
    match get_time_rtt(cx, line, *i, s, unit_mult) {
        Some(v) => Some(RouteMetric { value: v, lock }),
        None => {
            line.error(cx, *i, errmsg.replace("%s", s));
            None
        }
    }
}

/// Why a route item stopped: keepalived dropped it (already reported).
struct Drop;

/// One route item (`allow_track_group` for static_routes).
pub(crate) fn parse_route_item(
    cx: &mut Cx,
    line: &Line,
    allow_track_group: bool,
    track_groups: &[String],
) -> Option<RouteSpec> {
    parse_route_inner(cx, line, allow_track_group, track_groups).ok()
}

fn parse_route_inner(
    cx: &mut Cx,
    line: &Line,
    allow_track_group: bool,
    track_groups: &[String],
) -> Result<RouteSpec, Drop> {
    let mut r = RouteSpec::default();
    let mut family: Option<Family> = None;
    let mut dst: Option<RouteDst> = None;
    let mut dest_word = String::new();
    let mut do_nexthop = false;
    let mut or_used = false;
    let mut i = 0;
    let mix = "Cannot mix IPv4 and IPv6 addresses for route";
    macro_rules! slot {
        ($k:expr) => {
            line.slot(cx, $k).ok_or(Drop)?
        };
    }
    macro_rules! fam {
        ($f:expr, $k:expr, $msg:expr) => {
            if !join_family(&mut family, $f) {
                line.error(cx, $k, $msg);
                return Err(Drop);
            }
        };
    }
    while i < line.len() {
        let s = line.get(i).unwrap_or("");
        match s {
            "inet6" | "inet" => {
                let f = if s == "inet6" {
                    Family::Inet6
                } else {
                    Family::Inet
                };
                let msg = if s == "inet6" {
                    "inet6 specified for IPv4 route"
                } else {
                    "inet specified for IPv6 route"
                };
                fam!(Some(f), i, msg);
                // keepalived steps over the next word too.
                i += 1;
            }
            "src" => {
                i += 1;
                let w = slot!(i);
                let Some(p) = parse_ip(cx, line, i, false) else {
                    line.error(cx, i, format!("invalid route src address {w}"));
                    return Err(Drop);
                };
                fam!(Some(Family::of(&p.addr)), i, mix);
                r.src = Some(p.addr);
            }
            "as" => {
                i += 1;
                if slot!(i) == "to" {
                    i += 1;
                }
                line.error(
                    cx,
                    i.min(line.len() - 1),
                    "\"as to\" for MPLS only - ignoring",
                );
            }
            "via" | "gw" => {
                if s == "gw" {
                    line.error(cx, i, "\"gw\" for routes is deprecated. Please use \"via\"");
                }
                i += 1;
                let mut w = slot!(i);
                let f = match w {
                    "inet" | "inet6" => {
                        let f = if w == "inet" {
                            Family::Inet
                        } else {
                            Family::Inet6
                        };
                        i += 1;
                        w = slot!(i);
                        Some(f)
                    }
                    _ => family,
                };
                fam!(f, i, mix);
                let Some(p) = parse_ip(cx, line, i, false) else {
                    line.error(cx, i, format!("invalid route via address {w}"));
                    return Err(Drop);
                };
                fam!(Some(Family::of(&p.addr)), i, mix);
                r.via = Some(p.addr);
            }
            "from" => {
                i += 1;
                let w = slot!(i);
                let Some((d, f)) = parse_route_dst(cx, line, i) else {
                    line.error(cx, i, format!("invalid route from address {w}"));
                    return Err(Drop);
                };
                if f != Some(Family::Inet6) {
                    line.error(
                        cx,
                        i,
                        format!("route from address only supported with IPv6 ({w})"),
                    );
                    return Err(Drop);
                }
                fam!(f, i, mix);
                r.from = Some(d);
            }
            "tos" | "dsfield" => {
                i += 1;
                let w = slot!(i);
                match util::rt_dsfield(w) {
                    Some(v) => r.tos = Some(v),
                    None => {
                        line.error(cx, i, format!("TOS value {w} is invalid"));
                        return Err(Drop);
                    }
                }
            }
            "table" => {
                i += 1;
                let w = slot!(i);
                match util::rt_table(w) {
                    Some(v) => r.table = Some(RtTable(v)),
                    None => {
                        line.error(cx, i, format!("Routing table {w} not found for route"));
                        return Err(Drop);
                    }
                }
            }
            "protocol" => {
                i += 1;
                let w = slot!(i);
                match util::rt_proto(w) {
                    Some(v) => r.protocol = Some(RtProto(v)),
                    None => {
                        line.error(
                            cx,
                            i,
                            format!("Protocol {w} not found or invalid for route"),
                        );
                        return Err(Drop);
                    }
                }
            }
            "scope" => {
                i += 1;
                let w = slot!(i);
                match util::rt_scope(w) {
                    Some(v) => r.scope = Some(RtScope(v)),
                    None => {
                        line.error(cx, i, format!("Scope {w} not found or invalid for route"));
                        return Err(Drop);
                    }
                }
            }
            "metric" | "priority" | "preference" => {
                i += 1;
                r.metric = Some(
                    get_uint(
                        cx,
                        line,
                        i,
                        u64::from(u32::MAX),
                        "Invalid metric %s specified for route",
                    )
                    .ok_or(Drop)? as u32,
                );
            }
            "dev" | "oif" => {
                i += 1;
                r.dev = Some(slot!(i).to_owned());
            }
            "onlink" => r.onlink = true,
            "encap" => {
                r.encap = parse_encap(cx, line, &mut i).ok_or(Drop)?;
            }
            "expires" => {
                i += 1;
                if family == Some(Family::Inet) {
                    line.error(cx, i - 1, "expires is only valid for IPv6");
                    return Err(Drop);
                }
                family = Some(Family::Inet6);
                r.expires = Some(
                    get_uint(
                        cx,
                        line,
                        i,
                        u64::from(u32::MAX),
                        "Invalid expires time %s specified for route",
                    )
                    .ok_or(Drop)? as u32,
                );
            }
            "mtu" => {
                r.mtu = Some(
                    lockable(cx, line, &mut i, "Invalid MTU %s specified for route").ok_or(Drop)?,
                )
            }
            "hoplimit" => {
                i += 1;
                r.hoplimit = Some(
                    get_uint(cx, line, i, 255, "Invalid hoplimit %s specified for route")
                        .ok_or(Drop)? as u8,
                );
            }
            "advmss" => {
                r.advmss = Some(
                    lockable(cx, line, &mut i, "Invalid advmss %s specified for route")
                        .ok_or(Drop)?,
                )
            }
            "rtt" => {
                r.rtt = Some(
                    lockable_rtt(cx, line, &mut i, 8, "Invalid rtt %s for route").ok_or(Drop)?,
                )
            }
            "rttvar" => {
                r.rttvar = Some(
                    lockable_rtt(cx, line, &mut i, 4, "Invalid rttvar %s for route").ok_or(Drop)?,
                )
            }
            "reordering" => {
                r.reordering = Some(
                    lockable(
                        cx,
                        line,
                        &mut i,
                        "Invalid reordering value %s specified for route",
                    )
                    .ok_or(Drop)?,
                )
            }
            "window" => {
                i += 1;
                r.window = Some(
                    get_uint(
                        cx,
                        line,
                        i,
                        u64::from(u32::MAX),
                        "Invalid window value %s specified for route",
                    )
                    .ok_or(Drop)? as u32,
                );
            }
            "cwnd" => {
                r.cwnd = Some(
                    lockable(
                        cx,
                        line,
                        &mut i,
                        "Invalid cwnd value %s specified for route",
                    )
                    .ok_or(Drop)?,
                )
            }
            "ssthresh" => {
                r.ssthresh = Some(
                    lockable(
                        cx,
                        line,
                        &mut i,
                        "Invalid ssthresh value %s specified for route",
                    )
                    .ok_or(Drop)?,
                )
            }
            "realms" => {
                i += 1;
                let w = slot!(i);
                let Some(v) = util::realms(w) else {
                    line.error(cx, i, format!("Invalid realms {w} for route"));
                    return Err(Drop);
                };
                if family == Some(Family::Inet6) {
                    line.error(cx, i, "realms are only valid for IPv4");
                    return Err(Drop);
                }
                family = Some(Family::Inet);
                r.realms = Some(v);
            }
            "rto_min" => {
                r.rto_min = Some(
                    lockable_rtt(
                        cx,
                        line,
                        &mut i,
                        1,
                        "Invalid rto_min value %s specified for route",
                    )
                    .ok_or(Drop)?,
                )
            }
            "initcwnd" => {
                i += 1;
                r.initcwnd = Some(
                    get_uint(
                        cx,
                        line,
                        i,
                        u64::from(u32::MAX),
                        "Invalid initcwnd value %s specified for route",
                    )
                    .ok_or(Drop)? as u32,
                );
            }
            "initrwnd" => {
                i += 1;
                r.initrwnd = Some(
                    get_uint(
                        cx,
                        line,
                        i,
                        u64::from(u32::MAX),
                        "Invalid initrwnd value %s specified for route",
                    )
                    .ok_or(Drop)? as u32,
                );
            }
            "features" => {
                i += 1;
                let w = slot!(i);
                if w == "ecn" {
                    r.features_ecn = true;
                } else {
                    line.error(cx, i, format!("feature {w} not supported"));
                }
            }
            "quickack" => {
                i += 1;
                r.quickack = Some(
                    get_uint(
                        cx,
                        line,
                        i,
                        1,
                        "Invalid quickack value %s specified for route",
                    )
                    .ok_or(Drop)?
                        != 0,
                );
            }
            "congctl" => {
                i += 1;
                let mut lock = false;
                if slot!(i) == "lock" {
                    lock = true;
                    i += 1;
                }
                r.congctl = Some(Congctl {
                    name: slot!(i).to_owned(),
                    lock,
                });
            }
            "pref" => {
                i += 1;
                if family == Some(Family::Inet) {
                    line.error(cx, i - 1, "pref is only valid for IPv6");
                    return Err(Drop);
                }
                family = Some(Family::Inet6);
                r.pref = Some(match slot!(i) {
                    "low" => 3,
                    "medium" => 0,
                    "high" => 1,
                    _ => get_uint(
                        cx,
                        line,
                        i,
                        255,
                        "Invalid pref value %s specified for route",
                    )
                    .ok_or(Drop)? as u8,
                });
            }
            "ttl-propagate" => {
                i += 1;
                let w = slot!(i);
                r.ttl_propagate = Some(match w {
                    "enabled" => true,
                    "disabled" => false,
                    _ => {
                        line.error(cx, i, format!("ttl-propagate value {w} not recognised"));
                        false
                    }
                });
            }
            "fastopen_no_cookie" => {
                i += 1;
                r.fastopen_no_cookie = Some(
                    get_uint(
                        cx,
                        line,
                        i,
                        1,
                        "Invalid fastopen_no_cookie value %s specified for route",
                    )
                    .ok_or(Drop)?
                        != 0,
                );
            }
            "add" => r.mode = Some(RouteAddMode::Add),
            "prepend" => r.mode = Some(RouteAddMode::Prepend),
            "append" => r.mode = Some(RouteAddMode::Append),
            "or" => {
                line.error(
                    cx,
                    i,
                    "\"or\" for routes is deprecated. Please use \"nexthop\"",
                );
                if or_used {
                    line.error(
                        cx,
                        i,
                        "\"or\" route already specified - ignoring subsequent",
                    );
                    i += 2;
                    continue;
                }
                or_used = true;
                r.nexthop.push(Nexthop {
                    via: r.via.take(),
                    ..Default::default()
                });
                i += 1;
                let w = slot!(i);
                let Some(p) = parse_ip(cx, line, i, false) else {
                    line.error(cx, i, format!("Invalid \"or\" address {w}"));
                    return Err(Drop);
                };
                r.nexthop.push(Nexthop {
                    via: Some(p.addr),
                    ..Default::default()
                });
            }
            "nexthop" => {
                if or_used {
                    line.error(cx, i, "Cannot specify nexthops with \"or\" route");
                } else {
                    do_nexthop = true;
                }
                break;
            }
            "no_track" => r.no_track = true,
            "track_group" if allow_track_group => {
                i += 1;
                let g = slot!(i);
                if r.track_group.is_some() {
                    line.error(cx, i, format!("track_group {g} is a duplicate"));
                    break;
                }
                if track_groups.iter().any(|t| t == g) {
                    r.track_group = Some(g.to_owned());
                } else {
                    line.error(cx, i, format!("track_group {g} not found"));
                }
            }
            "vrf" => {
                i += 1;
                r.vrf = Some(slot!(i).to_owned());
            }
            _ => {
                let type_word = s;
                if s == "to" {
                    i += 1;
                }
                if let Some(t) = RtType::parse_word(type_word) {
                    r.route_type = Some(t);
                    i += 1;
                }
                let w = slot!(i);
                let Some((d, f)) = parse_route_dst(cx, line, i) else {
                    line.error(cx, i, format!("unknown route keyword {w}"));
                    return Err(Drop);
                };
                if !join_strict(&mut family, f) {
                    line.error(
                        cx,
                        i,
                        format!("Cannot mix IPv4 and IPv6 addresses for route ({w})"),
                    );
                    return Err(Drop);
                }
                dst = Some(d);
                dest_word = w.to_owned();
            }
        }
        i += 1;
    }
    if do_nexthop {
        parse_nexthops(cx, line, i, &mut r, &mut family);
    } else if i < line.len() {
        line.error(
            cx,
            i,
            format!(
                "Route has trailing nonsense - {}",
                line.get(i).unwrap_or("")
            ),
        );
        return Err(Drop);
    }
    let Some(dst) = dst else {
        line.error(cx, 0, "Route must have a destination");
        return Err(Drop);
    };
    r.to = dst;
    if !r.no_track {
        if r.protocol.is_some_and(|p| p != RtProto::KEEPALIVED) {
            line.error(
                cx,
                0,
                "Route cannot be tracked if protocol is not RTPROT_KEEPALIVED(18), resetting protocol",
            );
            r.protocol = None;
        }
        if r.dev.is_none() {
            line.error(
                cx,
                0,
                format!(
                    "Warning - cannot track route {dest_word} with no interface specified, not tracking"
                ),
            );
            r.no_track = true;
        }
    }
    if r.track_group.is_some() && r.dev.is_none() {
        line.error(
            cx,
            0,
            "Static route cannot have track group if no oif specified",
        );
        r.track_group = None;
    }
    r.family = family.unwrap_or(Family::Inet);
    Ok(r)
}

/// `nexthop ...` groups.  An error ends the nexthops (keeping the route and
/// the nexthops before it), as in keepalived.
fn parse_nexthops(
    cx: &mut Cx,
    line: &Line,
    mut i: usize,
    r: &mut RouteSpec,
    family: &mut Option<Family>,
) {
    // keepalived keeps the family given with `via inet|inet6` across nexthops.
    let mut nh_family: Option<Family> = None;
    while i < line.len() && line.get(i) == Some("nexthop") {
        i += 1;
        let mut nh = Nexthop::default();
        while i < line.len() {
            let s = line.get(i).unwrap_or("");
            match s {
                "via" => {
                    i += 1;
                    let Some(mut w) = line.slot(cx, i) else {
                        return;
                    };
                    if w == "inet" || w == "inet6" {
                        nh_family = Some(if w == "inet" {
                            Family::Inet
                        } else {
                            Family::Inet6
                        });
                        i += 1;
                        let Some(x) = line.slot(cx, i) else { return };
                        w = x;
                    }
                    if nh_family.is_some() && !join_family(family, nh_family) {
                        line.error(cx, i, "IPv4/6 mismatch for nexthop");
                        return;
                    }
                    let Some(p) = parse_ip(cx, line, i, false) else {
                        line.error(cx, i, format!("invalid nexthop address {w}"));
                        return;
                    };
                    if !join_family(family, Some(Family::of(&p.addr))) {
                        line.error(cx, i, "Address family mismatch for next hop");
                        return;
                    }
                    nh.via = Some(p.addr);
                }
                "dev" => {
                    i += 1;
                    let Some(w) = line.slot(cx, i) else { return };
                    nh.dev = Some(w.to_owned());
                }
                "weight" => {
                    i += 1;
                    let Some(v) =
                        get_uint(cx, line, i, 256, "Invalid weight %s specified for route")
                    else {
                        return;
                    };
                    if v == 0 {
                        line.error(cx, i, "Invalid weight 0 specified for route");
                        return;
                    }
                    nh.weight = Some(v as u16);
                }
                "onlink" => nh.onlink = true,
                "encap" => match parse_encap(cx, line, &mut i) {
                    Some(e) => nh.encap = e,
                    None => return,
                },
                "realms" => {
                    i += 1;
                    let Some(w) = line.slot(cx, i) else { return };
                    let Some(v) = util::realms(w) else {
                        line.error(cx, i, format!("Invalid realms {w} for route"));
                        return;
                    };
                    if !join_family(family, Some(Family::Inet)) {
                        line.error(cx, i, "realms are only supported for IPv4");
                        return;
                    }
                    nh.realms = Some(v);
                }
                "as" => {
                    i += 1;
                    if line.slot(cx, i) == Some("to") {
                        i += 1;
                    }
                    line.error(cx, i.min(line.len() - 1), "'as [to]' (nat) not supported");
                    return;
                }
                _ => break,
            }
            i += 1;
        }
        r.nexthop.push(nh);
    }
    if i < line.len() {
        line.error(
            cx,
            i,
            format!(
                "Route has trailing nonsense after nexthops - {}",
                line.get(i).unwrap_or("")
            ),
        );
    }
}

/// `inet_proto_a2n`: a protocol number up to 127, or a name from /etc/protocols.
fn ip_proto(s: &str) -> Option<u8> {
    let t = s.trim_start_matches([' ', '\t']);
    if t.is_empty() || t.starts_with('-') {
        return None;
    }
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0 {
        let v: u64 = t[..digits].parse().unwrap_or(u64::MAX);
        if v > 127 {
            return None;
        }
        if digits == t.len() {
            return Some(v as u8);
        }
    }
    let text = std::fs::read_to_string("/etc/protocols").unwrap_or_default();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let w: Vec<&str> = line.split_whitespace().collect();
        if w.len() >= 2 && (w[0] == t || w[2..].contains(&t)) {
            return w[1].parse().ok();
        }
    }
    const BUILTIN: &[(&str, u8)] = &[
        ("icmp", 1),
        ("tcp", 6),
        ("udp", 17),
        ("ipv6-icmp", 58),
        ("sctp", 132),
    ];
    BUILTIN.iter().find(|(n, _)| *n == t).map(|(_, v)| *v)
}

/// sscanf("%u-%u")-like: the number of leading fields read.
fn scan_range(s: &str) -> (Option<u64>, Option<u64>) {
    fn num(s: &str) -> (Option<u64>, &str) {
        let t = s.trim_start_matches([' ', '\t']);
        let t2 = t.strip_prefix('+').unwrap_or(t);
        let n = t2.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return (None, s);
        }
        (t2[..n].parse().ok(), &t2[n..])
    }
    let (a, rest) = num(s);
    if a.is_none() {
        return (None, None);
    }
    match rest.strip_prefix('-') {
        Some(r) => (a, num(r).0),
        None => (a, None),
    }
}

/// One rule item.  `next_pref` hands out keepalived's automatic preferences.
pub(crate) fn parse_rule_item(
    cx: &mut Cx,
    line: &Line,
    allow_track_group: bool,
    track_groups: &[String],
    next_pref: &mut dyn FnMut(&mut Cx, Family) -> u32,
) -> Option<RuleSpec> {
    let mut r = RuleSpec::default();
    let mut family: Option<Family> = None;
    let mut preference: Option<u32> = None;
    let mut table_option = false;
    let mut i = 0;
    let mixed = "rule specification has mixed IPv4 and IPv6";
    let more_than_one =
        "Cannot specify more than one of table/nop/goto/blackhole/prohibit/unreachable/l3mdev for rule";
    macro_rules! slot {
        ($k:expr) => {
            line.slot(cx, $k)?
        };
    }
    let has_action =
        |r: &RuleSpec| r.table.is_some() || r.l3mdev || r.goto.is_some() || r.action.is_some();
    while i < line.len() {
        let s = line.get(i).unwrap_or("");
        match s {
            "inet6" | "inet" => {
                let f = if s == "inet6" {
                    Family::Inet6
                } else {
                    Family::Inet
                };
                if !join_family(&mut family, Some(f)) {
                    line.error(
                        cx,
                        i,
                        if s == "inet6" {
                            "inet6 specified for IPv4 rule"
                        } else {
                            "inet specified for IPv6 rule"
                        },
                    );
                    return None;
                }
                // keepalived steps over the next word too.
                i += 1;
            }
            "from" | "to" => {
                i += 1;
                let w = slot!(i);
                let Some((d, f)) = parse_route_dst(cx, line, i) else {
                    line.error(cx, i, format!("Invalid rule {s} address {w}"));
                    return None;
                };
                if !join_strict(&mut family, f) {
                    line.error(cx, i, mixed);
                    return None;
                }
                if s == "from" {
                    r.from = Some(d);
                } else {
                    r.to = Some(d);
                }
            }
            "table" | "lookup" => {
                i += 1;
                let w = slot!(i);
                let Some(t) = util::rt_table(w) else {
                    line.error(cx, i, format!("Routing table {w} not found for rule"));
                    return None;
                };
                if t == 0 {
                    line.error(cx, i, "Table 0 is not valid");
                    return None;
                }
                if has_action(&r) {
                    line.error(
                        cx,
                        i,
                        "Cannot specify more than one of table/nop/goto/blackhole/prohibit/unreachable for rule",
                    );
                    return None;
                }
                r.table = Some(RtTable(t));
            }
            "not" => r.not = true,
            "preference" | "order" | "priority" => {
                i += 1;
                let w = slot!(i);
                match crate::config::model::parse_c_ulong(w) {
                    Some(v) if v <= u64::from(u32::MAX) => preference = Some(v as u32),
                    _ => {
                        line.error(
                            cx,
                            i,
                            format!("invalid number '{w}'; Invalid rule preference {s} specified"),
                        );
                        return None;
                    }
                }
            }
            "tos" | "dsfield" => {
                i += 1;
                let w = slot!(i);
                match util::rt_dsfield(w) {
                    Some(v) => r.tos = Some(v),
                    None => {
                        line.error(cx, i, format!("TOS value {w} is invalid"));
                        return None;
                    }
                }
            }
            "fwmark" => {
                i += 1;
                let w = slot!(i);
                let (m, mask) = match w.split_once('/') {
                    Some((a, b)) => (a, Some(b)),
                    None => (w, None),
                };
                let val =
                    crate::config::model::parse_c_ulong(m).filter(|v| *v <= u64::from(u32::MAX));
                let mask_val = match mask {
                    None => Some(None),
                    Some(b) => crate::config::model::parse_c_ulong(b)
                        .filter(|v| *v <= u64::from(u32::MAX))
                        .map(Some),
                };
                match (val, mask_val) {
                    (Some(v), Some(mk)) => {
                        r.fwmark = Some(v as u32);
                        r.fwmask = mk.map(|x| x as u32);
                    }
                    _ => {
                        line.error(cx, i, format!("Invalid rule fwmark {w} specified"));
                        return None;
                    }
                }
            }
            "realms" => {
                i += 1;
                let w = slot!(i);
                let Some(v) = util::realms(w) else {
                    line.error(cx, i, format!("invalid realms {w} for rule"));
                    return None;
                };
                r.realms = Some(v);
                table_option = true;
                if !join_family(&mut family, Some(Family::Inet)) {
                    line.error(cx, i, "realms is only valid for IPv4");
                    return None;
                }
            }
            "suppress_prefixlength" | "sup_pl" => {
                i += 1;
                let w = slot!(i);
                match read_unsigned(w, 0, i32::MAX as u64, false) {
                    Ok(v) => r.suppress_prefixlength = Some(v as u32),
                    Err(e) => {
                        line.error(
                            cx,
                            i,
                            format!("{}; Invalid suppress_prefixlength {s} specified", e.msg),
                        );
                        return None;
                    }
                }
                table_option = true;
            }
            "suppress_ifgroup" | "sup_group" => {
                i += 1;
                let w = slot!(i);
                match util::rt_group(w) {
                    Some(v) => r.suppress_ifgroup = Some(v),
                    None => {
                        line.error(cx, i, format!("suppress_group {w} is invalid"));
                        return None;
                    }
                }
                table_option = true;
            }
            "dev" | "iif" => {
                i += 1;
                r.iif = Some(slot!(i).to_owned());
            }
            "oif" => {
                i += 1;
                r.oif = Some(slot!(i).to_owned());
            }
            "tunnel-id" => {
                i += 1;
                let w = slot!(i);
                match w.trim_start_matches([' ', '\t']).parse::<u64>() {
                    Ok(v) if !w.trim_start().starts_with('+') => r.tunnel_id = Some(v),
                    _ => {
                        line.error(
                            cx,
                            i,
                            format!("invalid number '{w}'; Invalid tunnel-id {s} specified"),
                        );
                        return None;
                    }
                }
            }
            "uidrange" => {
                i += 1;
                let w = slot!(i);
                match scan_range(w) {
                    (Some(a), Some(b)) if a <= u64::from(u32::MAX) && b <= u64::from(u32::MAX) => {
                        r.uidrange = Some(UidRange {
                            start: a as u32,
                            end: b as u32,
                        })
                    }
                    _ => {
                        line.error(cx, i, format!("Invalid uidrange {s} specified"));
                        return None;
                    }
                }
            }
            "l3mdev" => {
                if has_action(&r) {
                    line.error(cx, i, "Cannot specify l3mdev with other action");
                    return None;
                }
                r.l3mdev = true;
            }
            "protocol" => {
                i += 1;
                let w = slot!(i);
                match read_unsigned(w, 0, 255, false) {
                    Ok(v) => r.protocol = Some(v as u8),
                    Err(e) => line.error(cx, i, format!("{}; Invalid protocol {w}", e.msg)),
                }
            }
            "ipproto" => {
                i += 1;
                let w = slot!(i);
                match ip_proto(w) {
                    Some(v) => r.ipproto = Some(v),
                    None => line.error(cx, i, format!("Invalid ipproto {w}")),
                }
            }
            "sport" | "dport" => {
                i += 1;
                let w = slot!(i);
                // keepalived 2.2.7 reports a single port as an invalid range.
                match scan_range(w) {
                    (Some(a), Some(b)) if a <= 65535 && b <= 65535 => {
                        let pr = PortRange {
                            start: a as u16,
                            end: b as u16,
                        };
                        if s == "sport" {
                            r.sport = Some(pr);
                        } else {
                            r.dport = Some(pr);
                        }
                    }
                    _ => line.error(cx, i, format!("invalid {s} range {w}")),
                }
            }
            "no_track" => r.no_track = true,
            "track_group" if allow_track_group => {
                i += 1;
                let g = slot!(i);
                if r.track_group.is_some() {
                    line.error(cx, i, format!("track_group {g} is a duplicate"));
                    break;
                }
                if track_groups.iter().any(|t| t == g) {
                    r.track_group = Some(g.to_owned());
                } else {
                    line.error(cx, i, format!("track_group {g} not found"));
                }
            }
            _ => {
                let mut w = s;
                if w == "type" {
                    i += 1;
                    w = slot!(i);
                }
                if w == "goto" {
                    i += 1;
                    let t = slot!(i);
                    match read_unsigned(t, 0, u64::from(u32::MAX), false) {
                        Ok(v) => {
                            if has_action(&r) {
                                line.error(cx, i, more_than_one);
                                return None;
                            }
                            r.goto = Some(v as u32);
                        }
                        Err(e) => {
                            line.error(cx, i, format!("{}; Invalid target {w} specified", e.msg));
                            return None;
                        }
                    }
                } else {
                    let action = match w {
                        "nop" => Some(RuleAction::Nop),
                        _ => match RtType::parse_word(w) {
                            Some(RtType::BLACKHOLE) => Some(RuleAction::Blackhole),
                            Some(RtType::UNREACHABLE) => Some(RuleAction::Unreachable),
                            Some(RtType::PROHIBIT) => Some(RuleAction::Prohibit),
                            Some(_) => {
                                line.error(cx, i, format!("Invalid rule action {w}"));
                                return None;
                            }
                            None => None,
                        },
                    };
                    let Some(action) = action else {
                        line.error(cx, i, format!("Unknown rule option {w}"));
                        return None;
                    };
                    if has_action(&r) {
                        line.error(cx, i, more_than_one);
                        return None;
                    }
                    r.action = Some(action);
                }
            }
        }
        i += 1;
    }
    if let Some(g) = r.goto {
        match preference {
            Some(p) if p >= g => {
                line.error(
                    cx,
                    0,
                    format!("Invalid rule - preference {p} >= goto target {g}"),
                );
                return None;
            }
            None => {
                line.error(
                    cx,
                    0,
                    format!("Invalid rule - goto target {g} specified without preference"),
                );
                return None;
            }
            _ => {}
        }
    }
    if !has_action(&r) {
        line.error(cx, 0, "No action specified for rule - ignoring");
        return None;
    }
    if table_option && r.table.is_none() && !r.l3mdev {
        line.error(
            cx,
            0,
            "suppressor/realm specified for non table action - skipping",
        );
        return None;
    }
    if r.table.is_some() && r.l3mdev {
        line.error(cx, 0, "table cannot be specified for l3mdev rules");
        return None;
    }
    if !r.no_track && r.protocol.is_some_and(|p| p != RtProto::KEEPALIVED.0) {
        line.error(
            cx,
            0,
            "Rule cannot be tracked if protocol is not RTPROT_KEEPALIVED(18), resetting protocol",
        );
        r.protocol = None;
    }
    if r.track_group.is_some() && r.iif.is_none() {
        line.error(
            cx,
            0,
            "Static rule cannot have track_group if dev/iif not specified",
        );
        r.track_group = None;
    }
    r.family = family.unwrap_or(Family::Inet);
    r.preference = match preference {
        Some(p) => p,
        None => {
            let p = next_pref(cx, r.family);
            line.error(
                cx,
                0,
                format!(
                    "Rule has no preference specified - setting to {p}. This is probably not what you want."
                ),
            );
            p
        }
    };
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(get_addr64("1:2:3:4"), Some(0x0001_0002_0003_0004));
        assert_eq!(get_addr64("1:2:3"), None);
        assert_eq!(parse_mpls("100/200"), Some(vec![100, 200]));
        assert_eq!(parse_mpls("1/2/3"), None);
        assert_eq!(parse_mpls("1048576"), None);
        assert_eq!(scan_range("80"), (Some(80), None));
        assert_eq!(scan_range("80-90"), (Some(80), Some(90)));
        assert_eq!(ip_proto("6"), Some(6));
        assert_eq!(ip_proto("200"), None);
        assert_eq!(ip_proto("tcp"), Some(6));
        assert_eq!(parse_sockaddr("10.0.0.1/24"), "10.0.0.1".parse().ok());
        assert_eq!(parse_sockaddr("fe80::1"), "fe80::1".parse().ok());
    }
}
