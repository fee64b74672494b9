//! Typed values of keepalived.conf, parsed and range-checked the way keepalived
//! reads them (`read_unsigned`, `read_timer`, `check_true_false`, address parsing).
//!
//! Every parser takes the [`Node`] and argument index so that a problem is
//! reported at the argument's file:line:column, naming the keyword.

use super::ast::Node;
use super::build::Cx;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// A duration as keepalived's TIMER: decimal seconds with microsecond resolution.
/// Serialised as (fractional) seconds so TOML and JSON read naturally.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timer {
    pub micros: u64,
}

impl Timer {
    pub const fn from_secs(s: u64) -> Self {
        Timer {
            micros: s * 1_000_000,
        }
    }
    pub const fn from_millis(ms: u64) -> Self {
        Timer { micros: ms * 1_000 }
    }
    pub const fn from_micros(micros: u64) -> Self {
        Timer { micros }
    }
    pub fn as_duration(self) -> std::time::Duration {
        std::time::Duration::from_micros(self.micros)
    }
    pub fn as_secs_f64(self) -> f64 {
        self.micros as f64 / 1e6
    }
}

impl fmt::Display for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.micros / 1_000_000;
        let frac = self.micros % 1_000_000;
        if frac == 0 {
            write!(f, "{secs}")
        } else {
            let s = format!("{frac:06}");
            write!(f, "{secs}.{}", s.trim_end_matches('0'))
        }
    }
}

impl Serialize for Timer {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.micros % 1_000_000 == 0 {
            s.serialize_u64(self.micros / 1_000_000)
        } else {
            s.serialize_f64(self.as_secs_f64())
        }
    }
}

impl<'de> Deserialize<'de> for Timer {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Num {
            U(u64),
            F(f64),
            S(String),
        }
        match Num::deserialize(d)? {
            Num::U(u) => Ok(Timer::from_secs(u)),
            Num::F(f) if f.is_finite() && f >= 0.0 => Ok(Timer {
                micros: (f * 1e6).round() as u64,
            }),
            Num::F(f) => Err(serde::de::Error::custom(format!("invalid duration {f}"))),
            Num::S(s) => parse_decimal_micros(&s)
                .map(Timer::from_micros)
                .ok_or_else(|| serde::de::Error::custom(format!("invalid duration '{s}'"))),
        }
    }
}

/// Parse keepalived's decimal seconds ("1", "0.1", "2.000001") into microseconds.
pub fn parse_decimal_micros(s: &str) -> Option<u64> {
    let s = s.trim();
    if s.is_empty() || s.starts_with('-') || s.starts_with('+') {
        return None;
    }
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let whole: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut micros: u64 = 0;
    for (i, b) in frac.bytes().enumerate() {
        if i < 6 {
            micros = micros * 10 + u64::from(b - b'0');
        }
    }
    for _ in frac.len().min(6)..6 {
        micros *= 10;
    }
    whole.checked_mul(1_000_000)?.checked_add(micros)
}

/// keepalived's BOOL: on/off, true/false, yes/no (case-insensitive).
pub fn parse_bool_word(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" => Some(true),
        "off" | "false" | "no" => Some(false),
        _ => None,
    }
}

/// An address with an optional prefix length, e.g. `10.0.0.1/24` or `fe80::1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IpPrefix {
    pub addr: IpAddr,
    pub len: u8,
}

impl IpPrefix {
    pub fn host(addr: IpAddr) -> Self {
        let len = if addr.is_ipv4() { 32 } else { 128 };
        IpPrefix { addr, len }
    }
}

impl fmt::Display for IpPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl FromStr for IpPrefix {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (a, l) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let addr: IpAddr = a
            .parse()
            .map_err(|_| format!("'{a}' is not an IP address"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = match l {
            None => max,
            Some(l) => {
                let n: u8 = l
                    .parse()
                    .map_err(|_| format!("'{l}' is not a prefix length"))?;
                if n > max {
                    return Err(format!("prefix length {n} is larger than {max}"));
                }
                n
            }
        };
        Ok(IpPrefix { addr, len })
    }
}

impl Serialize for IpPrefix {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for IpPrefix {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Parsers that report problems against a node's argument.
impl Cx<'_> {
    /// The argument `i`, or "missing parameter". keepalived 2.2.7 stops at once
    /// when most keywords lack their value (its "missing a parameter" check, exit
    /// code 2), so this is fatal; blocks where keepalived is lenient check
    /// `node.arg_str` themselves.
    pub fn need<'n>(&mut self, node: &'n Node, i: usize) -> Option<&'n str> {
        match node.arg_str(i) {
            Some(s) => Some(s),
            None => {
                self.fatal(
                    node,
                    i,
                    format!("missing parameter after keyword '{}'", node.name()),
                );
                self.diags.aborted = true;
                None
            }
        }
    }

    /// A keyword that takes an optional BOOL and means "true" when it has none.
    pub fn flag(&mut self, node: &Node, i: usize) -> Option<bool> {
        match node.arg_str(i) {
            None => Some(true),
            Some(s) => match parse_bool_word(s) {
                Some(b) => Some(b),
                None => {
                    self.error(
                        node,
                        i,
                        format!("invalid boolean '{s}' (on/off, true/false, yes/no)"),
                    );
                    None
                }
            },
        }
    }

    /// An unsigned integer in `[min, max]` (decimal, keepalived's read_unsigned).
    pub fn uint(&mut self, node: &Node, i: usize, min: u64, max: u64) -> Option<u64> {
        let s = self.need(node, i)?;
        match s.parse::<u64>() {
            Ok(v) if (min..=max).contains(&v) => Some(v),
            Ok(_) => {
                self.error(
                    node,
                    i,
                    format!("number '{s}' outside range [{min}, {max}]"),
                );
                None
            }
            Err(_) => {
                self.error(node, i, format!("invalid number '{s}'"));
                None
            }
        }
    }

    /// A signed integer in `[min, max]`.
    pub fn int(&mut self, node: &Node, i: usize, min: i64, max: i64) -> Option<i64> {
        let s = self.need(node, i)?;
        match s.parse::<i64>() {
            Ok(v) if (min..=max).contains(&v) => Some(v),
            Ok(_) => {
                self.error(
                    node,
                    i,
                    format!("number '{s}' outside range [{min}, {max}]"),
                );
                None
            }
            Err(_) => {
                self.error(node, i, format!("invalid number '{s}'"));
                None
            }
        }
    }

    /// keepalived's TIMER: decimal seconds in `[min, max]`.
    pub fn timer(&mut self, node: &Node, i: usize, min: Timer, max: Timer) -> Option<Timer> {
        let s = self.need(node, i)?;
        match parse_decimal_micros(s).map(Timer::from_micros) {
            Some(t) if t >= min && t <= max => Some(t),
            Some(_) => {
                self.error(
                    node,
                    i,
                    format!("time '{s}' outside range [{min}, {max}] seconds"),
                );
                None
            }
            None => {
                self.error(
                    node,
                    i,
                    format!("invalid time '{s}' (decimal seconds expected)"),
                );
                None
            }
        }
    }

    pub fn ip(&mut self, node: &Node, i: usize) -> Option<IpAddr> {
        let s = self.need(node, i)?;
        match s.parse::<IpAddr>() {
            Ok(a) => Some(a),
            Err(_) => {
                self.error(node, i, format!("invalid IP address '{s}'"));
                None
            }
        }
    }

    pub fn prefix(&mut self, node: &Node, i: usize) -> Option<IpPrefix> {
        let s = self.need(node, i)?;
        match s.parse::<IpPrefix>() {
            Ok(p) => Some(p),
            Err(e) => {
                self.error(node, i, format!("invalid address '{s}': {e}"));
                None
            }
        }
    }

    pub fn port(&mut self, node: &Node, i: usize) -> Option<u16> {
        self.uint(node, i, 0, 65535).map(|p| p as u16)
    }

    /// One of a fixed set of words (case-sensitive unless the caller lowercases).
    pub fn choice<T: Copy>(&mut self, node: &Node, i: usize, choices: &[(&str, T)]) -> Option<T> {
        let s = self.need(node, i)?;
        match choices.iter().find(|(w, _)| w.eq_ignore_ascii_case(s)) {
            Some((_, v)) => Some(*v),
            None => {
                let names: Vec<&str> = choices.iter().map(|(w, _)| *w).collect();
                self.error(
                    node,
                    i,
                    format!("invalid value '{s}', expected one of: {}", names.join(", ")),
                );
                None
            }
        }
    }

    /// All arguments from `i` on, joined by single spaces.
    pub fn rest(&mut self, node: &Node, i: usize) -> Option<String> {
        self.need(node, i)?;
        Some(
            node.args[i..]
                .iter()
                .map(|w| w.text())
                .collect::<Vec<_>>()
                .join(" "),
        )
    }
}

/// Append `n` in decimal, without the formatting machinery: the parse
/// writes one number into the key or description of every virtual and
/// real server.
pub fn push_decimal(s: &mut String, n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut n = n;
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    s.extend(digits[at..].iter().map(|&d| char::from(d)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_seconds() {
        assert_eq!(parse_decimal_micros("1"), Some(1_000_000));
        assert_eq!(parse_decimal_micros("0.1"), Some(100_000));
        assert_eq!(parse_decimal_micros(".5"), Some(500_000));
        assert_eq!(parse_decimal_micros("2.0000019"), Some(2_000_001));
        assert_eq!(parse_decimal_micros("-1"), None);
        assert_eq!(parse_decimal_micros("1e3"), None);
        assert_eq!(parse_decimal_micros(""), None);
        assert_eq!(parse_decimal_micros("99999999999999999999"), None);
    }

    #[test]
    fn timer_display_and_serde() {
        assert_eq!(Timer::from_millis(100).to_string(), "0.1");
        assert_eq!(Timer::from_secs(3).to_string(), "3");
        let j = serde_json::to_string(&Timer::from_millis(10)).unwrap();
        assert_eq!(j, "0.01");
        let back: Timer = serde_json::from_str(&j).unwrap();
        assert_eq!(back, Timer::from_millis(10));
        let t: Timer = serde_json::from_str("5").unwrap();
        assert_eq!(t, Timer::from_secs(5));
    }

    #[test]
    fn prefixes() {
        assert_eq!("10.0.0.1/24".parse::<IpPrefix>().unwrap().len, 24);
        assert_eq!("10.0.0.1".parse::<IpPrefix>().unwrap().len, 32);
        assert_eq!("fe80::1".parse::<IpPrefix>().unwrap().len, 128);
        assert!("10.0.0.1/33".parse::<IpPrefix>().is_err());
        assert!("x/1".parse::<IpPrefix>().is_err());
    }

    #[test]
    fn bools() {
        assert_eq!(parse_bool_word("On"), Some(true));
        assert_eq!(parse_bool_word("no"), Some(false));
        assert_eq!(parse_bool_word("maybe"), None);
    }
}
