//! Readers that behave like keepalived's for the VRRP blocks: word access with
//! keepalived's "missing parameter" semantics, its number readers and their
//! messages, its true/false words, and the iproute2 name tables.
//!
//! keepalived handlers address the words of a line by index, the keyword being
//! word 0 (its `strvec`).  [`Line`] does the same for a keyword line and for an
//! item line of a list block, so the parsers below read like the handlers they
//! mirror.

use crate::config::ast::{Node, Word};
use crate::config::build::Cx;
use crate::config::diag::{Location, Severity};

/// The words of one configuration line, keepalived-style (word 0 first).
pub(crate) struct Line<'a> {
    pub words: Vec<&'a Word>,
    /// The keyword diagnostics name: the line's own keyword, or for an item of
    /// a list block, the block's keyword.
    pub ctx: &'a str,
}

impl<'a> Line<'a> {
    /// A keyword line: word 0 is the keyword.
    pub fn of(node: &'a Node) -> Line<'a> {
        let mut words = Vec::with_capacity(node.args.len() + 1);
        words.push(&node.keyword);
        words.extend(node.args.iter());
        Line {
            words,
            ctx: node.name(),
        }
    }

    /// An item line of the list block `block_kw` (word 0 is the first item word).
    pub fn item(node: &'a Node, block_kw: &'a str) -> Line<'a> {
        let mut l = Line::of(node);
        l.ctx = block_kw;
        l
    }

    pub fn len(&self) -> usize {
        self.words.len()
    }

    pub fn get(&self, k: usize) -> Option<&'a str> {
        self.words.get(k).map(|w| w.text())
    }

    /// Where word `k` is (the last word when `k` is past the end).
    pub fn loc(&self, k: usize) -> Location {
        match self.words.get(k).or(self.words.last()) {
            Some(w) => w.loc.clone(),
            None => Location::new(Default::default(), 0, 0),
        }
    }

    pub fn report(&self, cx: &mut Cx, sev: Severity, k: usize, msg: impl Into<String>) {
        let loc = self.loc(k);
        cx.diags.push(sev, Some(loc), Some(self.ctx), msg.into());
    }

    pub fn error(&self, cx: &mut Cx, k: usize, msg: impl Into<String>) {
        self.report(cx, Severity::Error, k, msg);
    }

    pub fn warn(&self, cx: &mut Cx, k: usize, msg: impl Into<String>) {
        self.report(cx, Severity::Warning, k, msg);
    }

    /// Word `k`, which the keepalived handler reads unconditionally: when it
    /// is missing keepalived reports it and exits (`-t` included), so this is
    /// fatal.
    pub fn slot(&self, cx: &mut Cx, k: usize) -> Option<&'a str> {
        if let Some(s) = self.get(k) {
            return Some(s);
        }
        let first = self.get(0).unwrap_or("");
        let msg = match k.checked_sub(1).and_then(|p| self.get(p)) {
            Some(prev) => format!(
                "line starting '{first}' is missing a parameter after '{prev}' at word position {} \
                 - keepalived stops reading the configuration here",
                k + 1
            ),
            None => format!(
                "line starting '{first}' is missing a parameter at word position {} \
                 - keepalived stops reading the configuration here",
                k + 1
            ),
        };
        self.report(cx, Severity::Fatal, k, msg);
        cx.diags.aborted = true;
        None
    }

    /// The words from `k` on.
    pub fn rest(&self, k: usize) -> Vec<&'a str> {
        self.words.iter().skip(k).map(|w| w.text()).collect()
    }
}

/// keepalived's `check_true_false`: exactly true/on/yes or false/off/no.
pub(crate) fn true_false(s: &str) -> Option<bool> {
    match s {
        "true" | "on" | "yes" => Some(true),
        "false" | "off" | "no" => Some(false),
        _ => None,
    }
}

/// A number keepalived did not accept: its message, and for the "lenient"
/// readers (keepalived's `ignore_error`) the value the daemon goes on to use
/// (the leading digits, when in range) outside `-t`.
#[derive(Debug)]
pub(crate) struct NumError {
    pub msg: String,
    pub lenient: Option<i64>,
}

/// strtol/strtoul-like leading parse: optional blanks, sign, decimal digits.
/// Returns (value, whole string consumed, overflow).
fn leading_int(s: &str) -> (i128, bool, bool) {
    let t = s.trim_start_matches([' ', '\t']);
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let n = digits.bytes().take_while(u8::is_ascii_digit).count();
    let mut v: i128 = 0;
    let mut overflow = false;
    for b in digits[..n].bytes() {
        v = v * 10 + i128::from(b - b'0');
        if v > i128::from(u64::MAX) {
            overflow = true;
            v = i128::from(u64::MAX);
        }
    }
    let whole = n > 0 && n == digits.len();
    (if neg { -v } else { v }, whole, overflow)
}

/// keepalived's `read_int`: a signed decimal in `[min, max]`.
pub(crate) fn read_int(s: &str, min: i64, max: i64, lenient: bool) -> Result<i64, NumError> {
    let (v, whole, overflow) = leading_int(s);
    let in_range = v >= i128::from(min) && v <= i128::from(max);
    let msg = if !whole {
        format!("invalid number '{s}'")
    } else if overflow || v < i128::from(i32::MIN) || v > i128::from(i32::MAX) {
        format!("number '{s}' outside integer range")
    } else if !in_range {
        format!("number '{s}' outside range [{min}, {max}]")
    } else {
        return Ok(v as i64);
    };
    Err(NumError {
        msg,
        lenient: (lenient && in_range).then_some(v as i64),
    })
}

/// keepalived's `read_unsigned`: an unsigned decimal in `[min, max]`.
pub(crate) fn read_unsigned(s: &str, min: u64, max: u64, lenient: bool) -> Result<u64, NumError> {
    let (v, whole, overflow) = leading_int(s);
    let in_range = v >= i128::from(min) && v <= i128::from(max);
    let t = s.trim_start_matches([' ', '\t']);
    let msg = if t.starts_with('-') {
        format!("negative number '{s}'")
    } else if !whole {
        format!("invalid number '{s}'")
    } else if overflow || v > i128::from(u32::MAX) && max <= u64::from(u32::MAX) {
        format!("number '{s}' outside unsigned integer range")
    } else if !in_range {
        format!("number '{s}' outside range [{min}, {max}]")
    } else {
        return Ok(v as u64);
    };
    Err(NumError {
        msg,
        lenient: (lenient && in_range && !t.starts_with('-')).then_some(v as i64),
    })
}

/// keepalived's `read_decimal_unsigned` with `shift` decimal places: the value
/// times 10^shift, in `[min, max]` (same units).  Too many decimal places is
/// reported but the value is rounded and used, as keepalived does.
pub(crate) fn read_decimal(
    s: &str,
    min: u64,
    max: u64,
    shift: u32,
    lenient: bool,
) -> (Option<u64>, Vec<String>) {
    let mut msgs = Vec::new();
    if s.starts_with('-') {
        return (None, vec![format!("negative number '{s}'")]);
    }
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    let mut round_up = false;
    let mut frac_digits: String = frac.to_owned();
    if frac.len() > shift as usize {
        msgs.push(format!("number '{s}' has too many decimal places"));
        round_up = frac
            .as_bytes()
            .get(shift as usize)
            .is_some_and(|b| *b >= b'5');
        frac_digits = frac.chars().take(shift as usize).collect();
    }
    let digits = format!("{int}{frac_digits:0<width$}", width = shift as usize);
    let (v, whole, overflow) = leading_int(&digits);
    let v = if round_up { v + 1 } else { v };
    let scale = 10u64.pow(shift);
    if !whole || s.is_empty() {
        msgs.push(format!("invalid number '{s}'"));
        let ok = lenient && v >= i128::from(min) && v <= i128::from(max);
        return (ok.then_some(v as u64), msgs);
    }
    if overflow {
        msgs.push(format!("number '{s}' outside unsigned decimal range"));
        return (None, msgs);
    }
    if v < i128::from(min) || v > i128::from(max) {
        let w = shift as usize;
        msgs.push(format!(
            "number '{s}' outside range [{}.{:0w$}, {}.{:0w$}]",
            min / scale,
            min % scale,
            max / scale,
            max % scale
        ));
        return (None, msgs);
    }
    (Some(v as u64), msgs)
}

/// The iproute2 configuration directory keepalived 2.2.7 reads names from.
const IPROUTE2_DIR: &str = "/etc/iproute2/";

/// keepalived's `find_entry`: a number (C `strtoul` base 0, whole string, at
/// most `max`), else a name from `/etc/iproute2/FILE`, else a built-in name.
pub(crate) fn rt_lookup(name: &str, file: &str, builtins: &[(u64, &str)], max: u64) -> Option<u64> {
    if let Some(v) = crate::config::model::parse_c_ulong(name) {
        return (v <= max).then_some(v);
    }
    let mut entries: Vec<(u64, String)> = Vec::new();
    if let Ok(text) = std::fs::read_to_string(format!("{IPROUTE2_DIR}{file}")) {
        for line in text.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            if words.len() != 2 || words[0].starts_with('#') {
                continue;
            }
            if let Some(id) = crate::config::model::parse_c_ulong(words[0]) {
                if id <= max {
                    entries.push((id, words[1].to_owned()));
                }
            }
        }
    }
    for (id, n) in builtins {
        if !entries.iter().any(|(e, _)| e == id) {
            entries.push((*id, (*n).to_owned()));
        }
    }
    entries.iter().find(|(_, n)| n == name).map(|(id, _)| *id)
}

pub(crate) fn rt_table(name: &str) -> Option<u32> {
    rt_lookup(
        name,
        "rt_tables",
        &[(253, "default"), (254, "main"), (255, "local")],
        u64::from(u32::MAX),
    )
    .map(|v| v as u32)
}

pub(crate) fn rt_scope(name: &str) -> Option<u8> {
    let b: Vec<(u64, &str)> = crate::config::model::RtScope::NAMES
        .iter()
        .map(|(i, n)| (u64::from(*i), *n))
        .collect();
    rt_lookup(name, "rt_scopes", &b, 255).map(|v| v as u8)
}

pub(crate) fn rt_proto(name: &str) -> Option<u8> {
    let b: Vec<(u64, &str)> = crate::config::model::RtProto::NAMES
        .iter()
        .map(|(i, n)| (u64::from(*i), *n))
        .collect();
    rt_lookup(name, "rt_protos", &b, 255).map(|v| v as u8)
}

pub(crate) fn rt_dsfield(name: &str) -> Option<u8> {
    rt_lookup(name, "rt_dsfield", &[], 255).map(|v| v as u8)
}

pub(crate) fn rt_realm(name: &str) -> Option<u32> {
    rt_lookup(name, "rt_realms", &[], 255).map(|v| v as u32)
}

pub(crate) fn rt_group(name: &str) -> Option<u32> {
    rt_lookup(name, "group", &[], i32::MAX as u64).map(|v| v as u32)
}

/// keepalived's `get_realms`: `REALM` or `FROM/TO` (packed FROM<<16 | TO).
pub(crate) fn realms(s: &str) -> Option<u32> {
    match s.split_once('/') {
        None => rt_realm(s),
        Some((a, b)) => Some(rt_realm(a)? << 16 | rt_realm(b)?),
    }
}

/// Interface names are limited to IFNAMSIZ - 1 characters.
pub(crate) const IFNAMSIZ: usize = 16;

/// Whether an interface exists on this host.
pub(crate) fn interface_exists(name: &str) -> bool {
    nix::net::if_::if_nametoindex(name).is_ok()
}

/// Whether an interface of this host is a loopback (ARPHRD_LOOPBACK).
pub(crate) fn interface_is_loopback(name: &str) -> bool {
    if name.contains('/') || name == "." || name == ".." {
        return false;
    }
    std::fs::read_to_string(format!("/sys/class/net/{name}/type"))
        .ok()
        .and_then(|t| t.trim().parse::<u32>().ok())
        == Some(772)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints_like_keepalived() {
        assert_eq!(read_int("-20", -253, 253, false).unwrap(), -20);
        let e = read_int("300", -253, 253, false).unwrap_err();
        assert_eq!(e.msg, "number '300' outside range [-253, 253]");
        let e = read_int("12x", 0, 100, true).unwrap_err();
        assert_eq!(
            (e.msg.as_str(), e.lenient),
            ("invalid number '12x'", Some(12))
        );
        let e = read_unsigned("-1", 0, 10, false).unwrap_err();
        assert_eq!(e.msg, "negative number '-1'");
        assert_eq!(read_unsigned(" 7", 0, 10, false).unwrap(), 7);
    }

    #[test]
    fn decimals_like_keepalived() {
        assert_eq!(
            read_decimal("0.5", 10_000, 255_000_000, 6, true).0,
            Some(500_000)
        );
        assert_eq!(
            read_decimal("3", 10_000, 255_000_000, 6, true).0,
            Some(3_000_000)
        );
        let (v, m) = read_decimal("1.0000005", 0, 10_000_000, 6, false);
        assert_eq!(v, Some(1_000_001));
        assert_eq!(m, vec!["number '1.0000005' has too many decimal places"]);
        let (v, m) = read_decimal("0", 10_000, 255_000_000, 6, true);
        assert_eq!(v, None);
        assert_eq!(m, vec!["number '0' outside range [0.010000, 255.000000]"]);
        assert_eq!(read_decimal("x", 0, 10, 6, false).0, None);
        // Outside -t keepalived uses what strtoull made of it.
        assert_eq!(read_decimal("x", 0, 10, 6, true).0, Some(0));
    }

    #[test]
    fn rt_names() {
        assert_eq!(rt_table("main"), Some(254));
        assert_eq!(rt_table("100"), Some(100));
        assert_eq!(rt_table("no-such-table-name"), None);
        assert_eq!(rt_scope("link"), Some(253));
        assert_eq!(realms("1/2"), Some(1 << 16 | 2));
    }
}
