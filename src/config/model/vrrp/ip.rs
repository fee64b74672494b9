//! Addresses, routes and rules as keepalived configures them (`virtual_*`,
//! `static_*`): the item grammars of `ip address`, `ip route` and `ip rule` as
//! keepalived 2.2.7 reads them.
//!
//! Numbers that iproute2 also names (tables, scopes, protocols, route types)
//! are held as numbers and written back with their built-in name when they
//! have one, so TOML stays readable and a name from `/etc/iproute2` resolved
//! on one host does not change meaning on another.
use super::Family;
use crate::config::values::IpPrefix;
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;

fn is_false(b: &bool) -> bool {
    !*b
}

/// 64-bit values beyond what TOML integers hold are written as strings.
mod opt_u64 {
    use serde::{de, Deserializer, Serializer};
    use std::fmt;

    pub fn serialize<S: Serializer>(v: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(x) if *x > i64::MAX as u64 => s.serialize_str(&x.to_string()),
            Some(x) => s.serialize_u64(*x),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Option<u64>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an unsigned 64-bit number (or its decimal string)")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Some(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                u64::try_from(v).map(Some).map_err(E::custom)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                v.parse().map(Some).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// Serialise a type through its `Display` and read it back through `FromStr`
/// (also accepting a bare integer for the numbered types).
macro_rules! string_serde {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl de::Visitor<'_> for V {
                    type Value = $t;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str(concat!("a ", stringify!($t), " (string or number)"))
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<$t, E> {
                        v.parse().map_err(E::custom)
                    }
                    fn visit_u64<E: de::Error>(self, v: u64) -> Result<$t, E> {
                        v.to_string().parse().map_err(E::custom)
                    }
                    fn visit_i64<E: de::Error>(self, v: i64) -> Result<$t, E> {
                        v.to_string().parse().map_err(E::custom)
                    }
                }
                d.deserialize_any(V)
            }
        }
    };
}

/// A number iproute2 may name: built-in names are keepalived's defaults (the
/// ones it knows without `/etc/iproute2`).
macro_rules! rt_number {
    ($(#[$doc:meta])* $name:ident($t:ty), max = $max:expr, names = [$(($id:expr, $n:expr)),* $(,)?]) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub $t);

        impl $name {
            /// keepalived's built-in names for this kind of number.
            pub const NAMES: &'static [($t, &'static str)] = &[$(($id, $n)),*];

            /// The number of a built-in name, or of a decimal/hex/octal number.
            pub fn builtin(s: &str) -> Option<$name> {
                if let Some((id, _)) = Self::NAMES.iter().find(|(_, n)| *n == s) {
                    return Some($name(*id));
                }
                let v = parse_c_ulong(s)?;
                if v > ($max as u64) {
                    return None;
                }
                <$t>::try_from(v).ok().map($name)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match Self::NAMES.iter().find(|(id, _)| *id == self.0) {
                    Some((_, n)) => f.write_str(n),
                    None => write!(f, "{}", self.0),
                }
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                $name::builtin(s).ok_or_else(|| format!("unknown {} '{}'", stringify!($name), s))
            }
        }

        string_serde!($name);
    };
}

/// `strtoul(s, &end, 0)` accepting the whole string: decimal, `0x` hex or
/// leading-`0` octal, no sign.
pub fn parse_c_ulong(s: &str) -> Option<u64> {
    let s = s.trim_start_matches([' ', '\t']);
    if s.is_empty() || s.starts_with('-') || s.starts_with('+') {
        return None;
    }
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        return u64::from_str_radix(h, 16).ok();
    }
    if s.len() > 1 && s.starts_with('0') {
        return u64::from_str_radix(&s[1..], 8).ok();
    }
    s.parse().ok()
}

rt_number!(
    /// A routing table (`table`, `lookup`).
    RtTable(u32), max = u32::MAX, names = [(253, "default"), (254, "main"), (255, "local")]
);
rt_number!(
    /// An address or route scope.
    RtScope(u8), max = 255, names = [(0, "global"), (255, "nowhere"), (254, "host"), (253, "link"), (200, "site")]
);
rt_number!(
    /// A routing protocol (`protocol`).
    RtProto(u8), max = 255, names = [
        (0, "none"), (1, "redirect"), (2, "kernel"), (3, "boot"), (4, "static"),
        (8, "gated"), (9, "ra"), (10, "mrt"), (11, "zebra"), (12, "bird"), (42, "babel"),
        (13, "dnrouted"), (14, "xorp"), (15, "ntk"), (16, "dhcp"),
    ]
);
rt_number!(
    /// A route type (`unicast`, `blackhole`, ... before the destination).
    RtType(u8), max = 255, names = [
        (2, "local"), (10, "nat"), (3, "broadcast"), (4, "anycast"), (5, "multicast"),
        (8, "prohibit"), (7, "unreachable"), (6, "blackhole"), (11, "xresolve"),
        (1, "unicast"), (9, "throw"),
    ]
);

impl RtType {
    pub const UNICAST: RtType = RtType(1);
    pub const BLACKHOLE: RtType = RtType(6);
    pub const UNREACHABLE: RtType = RtType(7);
    pub const PROHIBIT: RtType = RtType(8);

    /// A type word keepalived accepts: a name (including `brd`) or 0..255.
    pub fn parse_word(s: &str) -> Option<RtType> {
        if s == "brd" {
            return Some(RtType(3));
        }
        RtType::builtin(s)
    }
}

impl RtProto {
    /// keepalived marks the routes and rules it tracks with this protocol.
    pub const KEEPALIVED: RtProto = RtProto(18);
}

/// A route or rule destination/source: a prefix, or `default` (also written
/// `any`/`all`; the family is the route's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RouteDst {
    Default,
    Prefix(IpPrefix),
}

impl RouteDst {
    pub fn family(&self) -> Option<Family> {
        match self {
            RouteDst::Default => None,
            RouteDst::Prefix(p) => Some(Family::of(&p.addr)),
        }
    }
}

impl fmt::Display for RouteDst {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RouteDst::Default => f.write_str("default"),
            RouteDst::Prefix(p) => write!(f, "{p}"),
        }
    }
}

impl FromStr for RouteDst {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "default" | "any" | "all" => Ok(RouteDst::Default),
            _ => s.parse::<IpPrefix>().map(RouteDst::Prefix),
        }
    }
}
string_serde!(RouteDst);

/// `broadcast`/`brd`: an address, or `+` / `-` (all ones / all zeros host part).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Broadcast {
    Address(Ipv4Addr),
    Plus,
    Minus,
}

impl fmt::Display for Broadcast {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Broadcast::Address(a) => write!(f, "{a}"),
            Broadcast::Plus => f.write_str("+"),
            Broadcast::Minus => f.write_str("-"),
        }
    }
}

impl FromStr for Broadcast {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "+" => Ok(Broadcast::Plus),
            "-" => Ok(Broadcast::Minus),
            _ => s
                .parse()
                .map(Broadcast::Address)
                .map_err(|_| format!("invalid broadcast address '{s}'")),
        }
    }
}
string_serde!(Broadcast);

/// One address of `virtual_ipaddress`, `virtual_ipaddress_excluded` or
/// `static_ipaddress`: `IP[/LEN] [brd ADDR|+|-] [dev IF] [scope S] [label L]
/// [peer IP] [home] [-nodad] [mngtmpaddr] [noprefixroute] [autojoin]
/// [no_track] [preferred_lft N|forever] [track_group G] [use_vmac]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IpAddressSpec {
    /// Address and prefix length (32/128 when none is given, or with `peer`).
    pub address: IpPrefix,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broadcast: Option<Broadcast>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dev: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<RtScope>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer: Option<IpAddr>,
    #[serde(skip_serializing_if = "is_false")]
    pub home: bool,
    /// `-nodad`.
    #[serde(skip_serializing_if = "is_false")]
    pub nodad: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub mngtmpaddr: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub noprefixroute: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub autojoin: bool,
    /// The instance does not track the address's interface.
    #[serde(skip_serializing_if = "is_false")]
    pub no_track: bool,
    /// Seconds; 4294967295 = `forever`.  Unset: IPv6 /128 gets 0, other IPv6
    /// forever (keepalived's old defaults), IPv4 the kernel's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_lft: Option<u32>,
    /// static_ipaddress only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub track_group: Option<String>,
    /// virtual_ipaddress only: put the address on a VMAC (rejected).
    #[serde(skip_serializing_if = "is_false")]
    pub use_vmac: bool,
}

impl Default for IpAddressSpec {
    fn default() -> Self {
        IpAddressSpec {
            address: IpPrefix::host(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
            broadcast: None,
            dev: None,
            scope: None,
            label: None,
            peer: None,
            home: false,
            nodad: false,
            mngtmpaddr: false,
            noprefixroute: false,
            autojoin: false,
            no_track: false,
            preferred_lft: None,
            track_group: None,
            use_vmac: false,
        }
    }
}

impl IpAddressSpec {
    pub fn family(&self) -> Family {
        Family::of(&self.address.addr)
    }

    /// The broadcast address keepalived sets: the given one, or for `+`/`-`
    /// the address (or peer) with the host part all ones/zeros.
    pub fn broadcast_address(&self) -> Option<Ipv4Addr> {
        let b = self.broadcast?;
        let base = match (self.peer, self.address.addr) {
            (Some(IpAddr::V4(p)), _) => p,
            (_, IpAddr::V4(a)) => a,
            _ => return None,
        };
        let host_mask = u32::MAX
            .checked_shr(u32::from(self.address.len))
            .unwrap_or(0);
        match b {
            Broadcast::Address(a) => Some(a),
            Broadcast::Plus => Some(Ipv4Addr::from(u32::from(base) | host_mask)),
            Broadcast::Minus => Some(Ipv4Addr::from(u32::from(base) & !host_mask)),
        }
    }
}

/// A route metric that can be locked (`mtu lock 1400`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RouteMetric {
    pub value: u32,
    #[serde(skip_serializing_if = "is_false")]
    pub lock: bool,
}

/// `congctl [lock] NAME`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Congctl {
    pub name: String,
    #[serde(skip_serializing_if = "is_false")]
    pub lock: bool,
}

/// Lightweight tunnel encapsulation type (`encap TYPE ...`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EncapType {
    #[default]
    Ip,
    Ip6,
    Mpls,
    Ila,
}

/// `encap mpls LABEL[/LABEL...]`, `encap ip|ip6 [id N] [dst A] [src A]
/// [tos|tc T] [ttl|hoplimit N] [flags N]`, `encap ila LOCATOR`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Encap {
    #[serde(rename = "type")]
    pub encap_type: EncapType,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<u32>,
    #[serde(skip_serializing_if = "Option::is_none", with = "opt_u64")]
    pub id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dst: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src: Option<IpAddr>,
    /// `tos` (ip) or `tc` (ip6).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tos: Option<u8>,
    /// `ttl` (ip) or `hoplimit` (ip6).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flags: Option<u16>,
    /// ILA locator (64 bits).
    #[serde(skip_serializing_if = "Option::is_none", with = "opt_u64")]
    pub locator: Option<u64>,
}

/// One `nexthop` of a multipath route.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Nexthop {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dev: Option<String>,
    /// 1..256.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<u16>,
    #[serde(skip_serializing_if = "is_false")]
    pub onlink: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encap: Option<Encap>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub realms: Option<u32>,
}

/// How the route is added (`add`, `append`, `prepend`; keepalived's default is
/// prepend, the kernel's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteAddMode {
    Add,
    Append,
    Prepend,
}

/// One route of `virtual_routes` or `static_routes`: keepalived's `ip route`
/// grammar.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RouteSpec {
    /// The destination (`to` is optional).
    pub to: RouteDst,
    /// The address family (given with `inet`/`inet6` or deduced).
    pub family: Family,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub route_type: Option<RtType>,
    /// Preferred source address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src: Option<IpAddr>,
    /// Gateway (`gw` is the deprecated synonym).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<IpAddr>,
    /// Source prefix (IPv6 only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<RouteDst>,
    /// `tos` / `dsfield`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tos: Option<u8>,
    /// Unset: main.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<RtTable>,
    /// keepalived forces `keepalived` (18) on tracked routes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<RtProto>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<RtScope>,
    /// `metric` / `priority` / `preference`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric: Option<u32>,
    /// `dev` / `oif`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dev: Option<String>,
    #[serde(skip_serializing_if = "is_false")]
    pub onlink: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encap: Option<Encap>,
    /// Seconds (IPv6 only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mtu: Option<RouteMetric>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hoplimit: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advmss: Option<RouteMetric>,
    /// In the kernel's units (1/8 ms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rtt: Option<RouteMetric>,
    /// In the kernel's units (1/4 ms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rttvar: Option<RouteMetric>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reordering: Option<RouteMetric>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cwnd: Option<RouteMetric>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssthresh: Option<RouteMetric>,
    /// IPv4 only: `FROM/TO` realm numbers packed as keepalived does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub realms: Option<u32>,
    /// Milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rto_min: Option<RouteMetric>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initcwnd: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initrwnd: Option<u32>,
    /// `features ecn`.
    #[serde(skip_serializing_if = "is_false")]
    pub features_ecn: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quickack: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub congctl: Option<Congctl>,
    /// IPv6 router preference: low 3, medium 0, high 1, or a number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pref: Option<u8>,
    #[serde(rename = "ttl-propagate", skip_serializing_if = "Option::is_none")]
    pub ttl_propagate: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fastopen_no_cookie: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<RouteAddMode>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nexthop: Vec<Nexthop>,
    #[serde(skip_serializing_if = "is_false")]
    pub no_track: bool,
    /// static_routes only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub track_group: Option<String>,
    /// The VRF whose table the route goes in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vrf: Option<String>,
}

impl Default for RouteSpec {
    fn default() -> Self {
        RouteSpec {
            to: RouteDst::Default,
            family: Family::Inet,
            route_type: None,
            src: None,
            via: None,
            from: None,
            tos: None,
            table: None,
            protocol: None,
            scope: None,
            metric: None,
            dev: None,
            onlink: false,
            encap: None,
            expires: None,
            mtu: None,
            hoplimit: None,
            advmss: None,
            rtt: None,
            rttvar: None,
            reordering: None,
            window: None,
            cwnd: None,
            ssthresh: None,
            realms: None,
            rto_min: None,
            initcwnd: None,
            initrwnd: None,
            features_ecn: false,
            quickack: None,
            congctl: None,
            pref: None,
            ttl_propagate: None,
            fastopen_no_cookie: None,
            mode: None,
            nexthop: Vec::new(),
            no_track: false,
            track_group: None,
            vrf: None,
        }
    }
}

/// The action of a rule other than `table`/`lookup` and `goto`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleAction {
    Nop,
    Blackhole,
    Unreachable,
    Prohibit,
}

/// A port range `N` or `N-M`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PortRange {
    pub start: u16,
    pub end: u16,
}

/// A uid range `N-M`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UidRange {
    pub start: u32,
    pub end: u32,
}

/// One rule of `virtual_rules` or `static_rules`: keepalived's `ip rule` grammar.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RuleSpec {
    pub family: Family,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<RouteDst>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<RouteDst>,
    /// `not`.
    #[serde(skip_serializing_if = "is_false")]
    pub not: bool,
    /// `preference` / `order` / `priority`.  keepalived numbers rules without
    /// one downwards from 16384 (per family, in configuration order) and says
    /// so; the number it chose is stored.
    pub preference: u32,
    /// `table` / `lookup`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<RtTable>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub goto: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<RuleAction>,
    #[serde(skip_serializing_if = "is_false")]
    pub l3mdev: bool,
    /// `tos` / `dsfield`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tos: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fwmark: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fwmask: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub realms: Option<u32>,
    /// `suppress_prefixlength` / `sup_pl`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppress_prefixlength: Option<u32>,
    /// `suppress_ifgroup` / `sup_group`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppress_ifgroup: Option<u32>,
    /// `dev` / `iif`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iif: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oif: Option<String>,
    #[serde(
        rename = "tunnel-id",
        skip_serializing_if = "Option::is_none",
        with = "opt_u64"
    )]
    pub tunnel_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uidrange: Option<UidRange>,
    /// keepalived forces `keepalived` (18) on tracked rules.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipproto: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sport: Option<PortRange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dport: Option<PortRange>,
    #[serde(skip_serializing_if = "is_false")]
    pub no_track: bool,
    /// static_rules only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub track_group: Option<String>,
}

impl Default for RuleSpec {
    fn default() -> Self {
        RuleSpec {
            family: Family::Inet,
            from: None,
            to: None,
            not: false,
            preference: 0,
            table: None,
            goto: None,
            action: None,
            l3mdev: false,
            tos: None,
            fwmark: None,
            fwmask: None,
            realms: None,
            suppress_prefixlength: None,
            suppress_ifgroup: None,
            iif: None,
            oif: None,
            tunnel_id: None,
            uidrange: None,
            protocol: None,
            ipproto: None,
            sport: None,
            dport: None,
            no_track: false,
            track_group: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rt_numbers_names_and_numbers() {
        assert_eq!("main".parse::<RtTable>().unwrap(), RtTable(254));
        assert_eq!("100".parse::<RtTable>().unwrap(), RtTable(100));
        assert_eq!("0x10".parse::<RtTable>().unwrap(), RtTable(16));
        assert_eq!(RtTable(254).to_string(), "main");
        assert_eq!(RtTable(100).to_string(), "100");
        assert!("256".parse::<RtScope>().is_err());
        assert_eq!(RtType::parse_word("brd"), Some(RtType(3)));
        assert_eq!(RtType(3).to_string(), "broadcast");
    }

    #[test]
    fn broadcast_plus_minus() {
        let a = IpAddressSpec {
            address: "10.1.2.3/24".parse().unwrap(),
            broadcast: Some(Broadcast::Plus),
            ..Default::default()
        };
        assert_eq!(a.broadcast_address(), Some(Ipv4Addr::new(10, 1, 2, 255)));
        let b = IpAddressSpec {
            broadcast: Some(Broadcast::Minus),
            ..a
        };
        assert_eq!(b.broadcast_address(), Some(Ipv4Addr::new(10, 1, 2, 0)));
    }
}
