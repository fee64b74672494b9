//! `global_defs` and the top-level process options.
//!
//! Each handler mirrors keepalived 2.2.7's (`keepalived/core/global_parser.c`):
//! the same accepted forms, the same "error and keep the previous value" or
//! "error and use a fallback" behaviour, and the same verdict class.  Three
//! points of keepalived's behaviour shape the severities used here:
//! - a handler that reads an argument that is not there makes keepalived stop
//!   reading the configuration and exit (code 2, "missing a parameter"); that
//!   is [`Severity::Fatal`] (see [`arg_or_exit`]);
//! - everything keepalived reports through `report_config_error`, including
//!   its `CONFIG_WARNING` and `CONFIG_DEPRECATED` classes, makes `-t` exit 5,
//!   so it is an [`Severity::Error`] here;
//! - what keepalived only logs is a [`Severity::Warning`].
use super::scripts::{
    check_script, check_script_user, default_script_user, script_user_exists, ScriptUse,
};
use super::{collect, Cx, Keyword, KeywordInfo, Kind::*, Support::*};
use crate::config::ast::{split_command, Node};
use crate::config::diag::Severity;
use crate::config::model::{
    Config, GlobalDefs, GlobalGarpExtraIf, GlobalScript, LvsFlushOnStop, LvsSyncDaemon, NotifyFifo,
    ProcessScheduling, ScriptUser, SmtpServer, DEFAULT_NFTABLES_IPVS_TABLE, DEFAULT_NFTABLES_TABLE,
};
use crate::config::values::Timer;
use std::net::IpAddr;

/// Source-map keys of global settings checked after the whole configuration
/// is read.
pub const SPAN_SCRIPT_USER: &str = "global_defs.script_user";
pub const SPAN_STARTUP_SCRIPT: &str = "global_defs.startup_script";
pub const SPAN_SHUTDOWN_SCRIPT: &str = "global_defs.shutdown_script";
pub const SPAN_LVS_SYNC_DAEMON: &str = "global_defs.lvs_sync_daemon";
pub const SPAN_NET_NAMESPACE: &str = "net_namespace";

/// Linux's SCHED_RR priority range (what keepalived gets from
/// `sched_get_priority_min/max`).
const SCHED_RR_MIN: i64 = 1;
const SCHED_RR_MAX: i64 = 99;
/// The kernel's limit on a task name (TASK_COMM_LEN - 1).
const MAX_PROCESS_NAME: usize = 15;
/// IPVS's limit on the sync daemon interface name (IP_VS_IFNAME_MAXLEN).
const IPVS_IFNAME_MAXLEN: usize = 16;
/// nftables' limit on a table name.
const NFT_TABLE_MAXNAMELEN: usize = 32;
/// keepalived's LVS_MAX_TIMEOUT: 31 days.
const LVS_MAX_TIMEOUT: u64 = 86400 * 31;
/// keepalived's timers are microseconds in an unsigned int; values given in
/// whole seconds are limited to UINT_MAX / TIMER_HZ.
const MAX_TIMER_SECS: u64 = u32::MAX as u64 / 1_000_000;

// ===== argument helpers =====

/// Argument `i`, or — when it is missing — a fatal diagnostic: keepalived's
/// handler would read past the end of the line, which makes keepalived report
/// "missing a parameter" and exit with code 2.
fn arg_or_exit<'n>(cx: &mut Cx, n: &'n Node, i: usize) -> Option<&'n str> {
    if let Some(s) = n.arg_str(i) {
        return Some(s);
    }
    let after = if i == 0 {
        n.name()
    } else {
        n.arg_str(i - 1).unwrap_or(n.name())
    };
    cx.stop(
        n,
        i,
        format!(
            "missing parameter after '{after}' (word {}); keepalived stops reading the \
             configuration here and cannot run",
            i + 2
        ),
    );
    None
}

/// An unsigned argument in `[min, max]`; missing is fatal (see [`arg_or_exit`]).
fn uint_or_exit(cx: &mut Cx, n: &Node, i: usize, min: u64, max: u64) -> Option<u64> {
    arg_or_exit(cx, n, i)?;
    cx.uint(n, i, min, max)
}

/// A signed argument in `[min, max]`; missing is fatal (see [`arg_or_exit`]).
fn int_or_exit(cx: &mut Cx, n: &Node, i: usize, min: i64, max: i64) -> Option<i64> {
    arg_or_exit(cx, n, i)?;
    cx.int(n, i, min, max)
}

/// keepalived's `check_true_false`: exactly true/on/yes or false/off/no
/// (case-sensitive, unlike some other keepalived booleans).
fn true_false(s: &str) -> Option<bool> {
    match s {
        "true" | "on" | "yes" => Some(true),
        "false" | "off" | "no" => Some(false),
        _ => None,
    }
}

/// A keyword with an optional boolean: bare = true; a bad word is an error
/// and the setting is left as it was.
fn opt_bool(cx: &mut Cx, n: &Node) -> Option<bool> {
    match n.arg_str(0) {
        None => Some(true),
        Some(s) => match true_false(s) {
            Some(b) => Some(b),
            None => {
                cx.error(
                    n,
                    0,
                    format!(
                        "invalid value '{s}' for {} (true/false, on/off, yes/no expected) - ignored",
                        n.name()
                    ),
                );
                None
            }
        },
    }
}

/// keepalived's `read_decimal_unsigned` with 6 decimal places: decimal
/// seconds in `[min, max]`.  More than 6 decimals is reported (keepalived
/// reports it too) but the value, rounded, is still used.  Missing is fatal.
fn decimal_secs_or_exit(cx: &mut Cx, n: &Node, i: usize, min: Timer, max: Timer) -> Option<Timer> {
    let s = arg_or_exit(cx, n, i)?;
    if s.starts_with('-') {
        cx.error(n, i, format!("negative number '{s}'"));
        return None;
    }
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let digits_ok = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !digits_ok(int) || !digits_ok(frac) {
        cx.error(n, i, format!("invalid number '{s}'"));
        return None;
    }
    let mut micros: u64 = 0;
    for b in int.bytes() {
        micros = match micros
            .checked_mul(10)
            .and_then(|m| m.checked_add(u64::from(b - b'0')))
        {
            Some(m) => m,
            None => {
                cx.error(n, i, format!("number '{s}' outside unsigned decimal range"));
                return None;
            }
        };
    }
    let mut frac_us: u64 = 0;
    for k in 0..6 {
        frac_us = frac_us * 10 + frac.as_bytes().get(k).map_or(0, |b| u64::from(b - b'0'));
    }
    if frac.len() > 6 {
        cx.error(n, i, format!("number '{s}' has too many decimal places"));
        if frac.as_bytes()[6] >= b'5' {
            frac_us += 1;
        }
    }
    let Some(total) = micros
        .checked_mul(1_000_000)
        .and_then(|m| m.checked_add(frac_us))
    else {
        cx.error(n, i, format!("number '{s}' outside unsigned decimal range"));
        return None;
    };
    let t = Timer::from_micros(total);
    if t < min || t > max {
        cx.error(
            n,
            i,
            format!("number '{s}' outside range [{min}, {max}] seconds"),
        );
        return None;
    }
    Some(t)
}

/// keepalived's `save_process_name`: names longer than the kernel keeps are
/// reported and truncated.
fn process_name(cx: &mut Cx, n: &Node) -> Option<String> {
    let s = arg_or_exit(cx, n, 0)?;
    if s.len() > MAX_PROCESS_NAME {
        let mut end = MAX_PROCESS_NAME;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        cx.error(
            n,
            0,
            format!(
                "process name {s} more than {MAX_PROCESS_NAME} characters, truncated to '{}'",
                &s[..end]
            ),
        );
        return Some(s[..end].to_owned());
    }
    Some(s.to_owned())
}

/// `COMMAND [USER [GROUP]]` as keepalived's `notify_script_init` reads it:
/// the line is re-split with quotes and escapes, the first word is the
/// command line, the next two the user and group.
fn global_script(cx: &mut Cx, n: &Node, what: &str) -> Option<GlobalScript> {
    let words = match split_command(&n.raw_args()) {
        Ok(w) => w,
        Err(e) => {
            cx.error(n, 0, format!("invalid {what}: {e} - ignored"));
            return None;
        }
    };
    let mut words = words.into_iter();
    let Some(script) = words.next().filter(|s| !s.trim().is_empty()) else {
        cx.error(n, 0, format!("invalid {what} - ignored"));
        return None;
    };
    let user = words.next().map(|user| ScriptUser {
        user,
        group: words.next(),
    });
    Some(GlobalScript { script, user })
}

/// `[vrrp_|lvs_]notify_fifo NAME [USER [GROUP]]`.
fn notify_fifo(cx: &mut Cx, slot: &mut Option<NotifyFifo>, n: &Node) {
    let Some(name) = n.arg_str(0) else {
        cx.error(n, 0, format!("no {} name specified - ignored", n.name()));
        return;
    };
    if let Some(old) = slot {
        cx.error(
            n,
            0,
            format!(
                "{} already specified as {} - ignoring {name}",
                n.name(),
                old.name
            ),
        );
        return;
    }
    let user = n.arg_str(1).map(|u| ScriptUser {
        user: u.to_owned(),
        group: n.arg_str(2).map(str::to_owned),
    });
    cx.remember(format!("global_defs.{}", n.name()), n);
    *slot = Some(NotifyFifo {
        name: name.to_owned(),
        user,
    });
}

/// `[vrrp_|lvs_]notify_fifo_script COMMAND [USER [GROUP]]`.
fn notify_fifo_script(cx: &mut Cx, slot: &mut Option<GlobalScript>, n: &Node) {
    if n.args.is_empty() {
        cx.error(n, 0, format!("no {} specified - ignored", n.name()));
        return;
    }
    if slot.is_some() {
        cx.error(
            n,
            0,
            format!("{} already specified - ignoring {}", n.name(), n.raw_args()),
        );
        return;
    }
    if let Some(s) = global_script(cx, n, n.name()) {
        cx.remember(format!("global_defs.{}", n.name()), n);
        *slot = Some(s);
    }
}

/// `startup_script` / `shutdown_script`.
fn start_stop_script(cx: &mut Cx, slot: &mut Option<GlobalScript>, n: &Node, kind: &str) {
    if slot.is_some() {
        cx.error(
            n,
            usize::MAX,
            format!("{kind} script already specified - ignored"),
        );
        return;
    }
    if n.args.is_empty() {
        cx.error(n, 0, format!("{kind} script missing"));
        return;
    }
    if let Some(s) = global_script(cx, n, &format!("{kind} script")) {
        cx.remember(format!("global_defs.{kind}_script"), n);
        *slot = Some(s);
    }
}

/// `startup_script_timeout` / `shutdown_script_timeout`: [1, 1000] seconds.
fn script_timeout(cx: &mut Cx, slot: &mut u32, n: &Node) {
    if n.args.is_empty() {
        cx.error(n, 0, format!("{} requires a value", n.name()));
        return;
    }
    if let Some(v) = cx.uint(n, 0, 1, 1000) {
        *slot = v as u32;
    }
}

/// A netlink receive buffer size: 0 or invalid leaves it unset.
fn rcv_bufs(cx: &mut Cx, slot: &mut Option<u32>, n: &Node) {
    if n.args.is_empty() {
        cx.error(n, 0, format!("{} size missing", n.name()));
        return;
    }
    if let Some(v) = cx.uint(n, 0, 0, u32::MAX as u64) {
        if v != 0 {
            *slot = Some(v as u32);
        }
    }
}

fn set_opt_bool(cx: &mut Cx, slot: &mut bool, n: &Node) {
    if let Some(b) = opt_bool(cx, n) {
        *slot = b;
    }
}

/// Whether `s` is a usable network interface name (what the kernel accepts:
/// 1 to 15 bytes, no '/', no blanks).
fn ifname_ok(s: &str) -> bool {
    !s.is_empty() && s.len() < 16 && !s.contains('/') && !s.contains(char::is_whitespace)
}

/// An IPv6 multicast address of link-local scope (ff02::/16 and the like).
fn is_mc_linklocal(a: &IpAddr) -> bool {
    match a {
        IpAddr::V6(v6) => v6.octets()[0] == 0xff && v6.octets()[1] & 0x0f == 0x02,
        IpAddr::V4(_) => false,
    }
}

// ===== per-process scheduling (vrrp_*, checker_*, bfd_*) =====

/// `*_priority N`: a nice value in [-20, 19]; keepalived uses 0 when the value
/// is missing or invalid.
fn sched_priority(cx: &mut Cx, p: &mut ProcessScheduling, n: &Node, process: &str) {
    if n.args.is_empty() {
        cx.error(
            n,
            0,
            format!("no {process} process priority specified - using 0"),
        );
        p.priority = Some(0);
        return;
    }
    p.priority = Some(cx.int(n, 0, -20, 19).unwrap_or(0) as i32);
}

/// `*_rt_priority N`: clamped into SCHED_RR's range with an error.
fn sched_rt_priority(cx: &mut Cx, p: &mut ProcessScheduling, n: &Node, process: &str) {
    if n.args.is_empty() {
        cx.error(
            n,
            0,
            format!("no {process} process real-time priority specified"),
        );
        return;
    }
    let Some(mut prio) = cx.int(n, 0, i32::MIN as i64, i32::MAX as i64) else {
        return;
    };
    if prio < SCHED_RR_MIN {
        cx.error(
            n,
            0,
            format!(
                "{process} process real-time priority {prio} less than minimum {SCHED_RR_MIN} - \
                 setting to minimum"
            ),
        );
        prio = SCHED_RR_MIN;
    } else if prio > SCHED_RR_MAX {
        cx.error(
            n,
            0,
            format!(
                "{process} process real-time priority {prio} greater than maximum {SCHED_RR_MAX} - \
                 setting to maximum"
            ),
        );
        prio = SCHED_RR_MAX;
    }
    p.rt_priority = Some(prio as i32);
}

/// `*_cpu_affinity CPU...`: each CPU must exist (checked against this host's
/// online CPUs when host checks are on); one bad CPU clears the whole set, as
/// keepalived does.
fn sched_cpu_affinity(cx: &mut Cx, p: &mut ProcessScheduling, n: &Node, process: &str) {
    if n.args.is_empty() {
        cx.error(n, 0, format!("no {process} cpu_id set specified"));
        return;
    }
    let max_cpu = if cx.opts.check_host {
        online_cpus().max(1) as i64 - 1
    } else {
        i32::MAX as i64
    };
    let mut cpus = Vec::new();
    for i in 0..n.args.len() {
        match cx.int(n, i, 0, max_cpu) {
            Some(c) => cpus.push(c as u32),
            None => {
                cx.error(
                    n,
                    i,
                    format!("invalid cpu_id specified for {process} process - affinity cleared"),
                );
                p.cpu_affinity.clear();
                return;
            }
        }
    }
    p.cpu_affinity = cpus;
}

/// How many CPUs are online (keepalived's `sysconf(_SC_NPROCESSORS_ONLN)`),
/// from /sys/devices/system/cpu/online ("0-3,6").
fn online_cpus() -> usize {
    let count = std::fs::read_to_string("/sys/devices/system/cpu/online")
        .ok()
        .map(|list| {
            list.trim()
                .split(',')
                .filter_map(|r| match r.split_once('-') {
                    Some((a, b)) => b
                        .parse::<usize>()
                        .ok()?
                        .checked_sub(a.parse::<usize>().ok()?)
                        .map(|d| d + 1),
                    None => r.parse::<usize>().ok().map(|_| 1),
                })
                .sum::<usize>()
        })
        .unwrap_or(0);
    if count > 0 {
        count
    } else {
        std::thread::available_parallelism().map_or(1, usize::from)
    }
}

/// `*_rlimit_rttime USECS` (`*_rlimit_rtime` is the deprecated spelling).
fn sched_rlimit(cx: &mut Cx, p: &mut ProcessScheduling, n: &Node, process: &str) {
    if let Some(stem) = n.name().strip_suffix("_rtime") {
        cx.warn(
            n,
            usize::MAX,
            format!(
                "keyword '{}' is deprecated - please use '{stem}_rttime'",
                n.name()
            ),
        );
    }
    if arg_or_exit(cx, n, 0).is_none() {
        return;
    }
    match cx.uint(n, 0, 1, u32::MAX as u64) {
        // keepalived halves the limit for the soft limit, so 1 becomes 2.
        Some(v) => p.rlimit_rttime = Some((v as u32).max(2)),
        None => {
            // keepalived stores 0 (no limit) when the value is invalid.
            cx.error(
                n,
                0,
                format!("invalid {process} real-time limit - set to 0"),
            );
            p.rlimit_rttime = Some(0);
        }
    }
}

// ===== the global_defs table =====

pub fn apply_global_defs(cfg: &mut Config, node: &Node, cx: &mut Cx) {
    cx.apply_block(&mut cfg.global_defs, "global_defs", node, GLOBAL_DEFS);
}

macro_rules! flag {
    ($name:literal, $support:expr, $($field:ident).+) => {
        Keyword::new($name, Leaf, $support, |g: &mut GlobalDefs, _n, _cx| {
            g.$($field).+ = true;
        })
    };
}

macro_rules! opt_flag {
    ($name:literal, $support:expr, $($field:ident).+) => {
        Keyword::new($name, Leaf, $support, |g: &mut GlobalDefs, n, cx| {
            set_opt_bool(cx, &mut g.$($field).+, n);
        })
    };
}

/// One per-process scheduling keyword: `sched_kw!(keyword, field, handler, process)`.
macro_rules! sched_kw {
    ($name:literal, $field:ident, $handler:ident, $process:literal) => {
        Keyword::new($name, Leaf, NotImplemented, |g: &mut GlobalDefs, n, cx| {
            $handler(cx, &mut g.$field, n, $process)
        })
    };
}

/// Every keyword of `global_defs` in keepalived 2.2.7 as Debian builds it
/// (so no `vrrp_ipsets`, which needs libipset: keepalived reports it as an
/// unknown keyword, and so do we).
static GLOBAL_DEFS: &[Keyword<GlobalDefs>] = &[
    // ----- process names -----
    Keyword::new("process_names", Leaf, NotImplemented, |g, _n, _cx| {
        g.vrrp_process_name = Some("keepalived_vrrp".to_owned());
        g.checker_process_name = Some("keepalived_lvs".to_owned());
        g.bfd_process_name = Some("keepalived_bfd".to_owned());
    }),
    Keyword::new("process_name", Leaf, NotImplemented, |g, n, cx| {
        if let Some(s) = process_name(cx, n) {
            g.process_name = Some(s);
        }
    }),
    Keyword::new("vrrp_process_name", Leaf, NotImplemented, |g, n, cx| {
        if let Some(s) = process_name(cx, n) {
            g.vrrp_process_name = Some(s);
        }
    }),
    Keyword::new("checker_process_name", Leaf, NotImplemented, |g, n, cx| {
        if let Some(s) = process_name(cx, n) {
            g.checker_process_name = Some(s);
        }
    }),
    Keyword::new("lvs_process_name", Leaf, NotImplemented, |g, n, cx| {
        cx.warn(
            n,
            usize::MAX,
            "'lvs_process_name' is deprecated - please use 'checker_process_name'",
        );
        if let Some(s) = process_name(cx, n) {
            g.checker_process_name = Some(s);
        }
    }),
    Keyword::new("bfd_process_name", Leaf, NotImplemented, |g, n, cx| {
        if let Some(s) = process_name(cx, n) {
            g.bfd_process_name = Some(s);
        }
    }),
    // ----- identity and e-mail -----
    Keyword::new("router_id", Leaf, Full, |g, n, cx| match n.arg_str(0) {
        Some(s) => g.router_id = Some(s.to_owned()),
        None => cx.error(n, 0, "router_id name missing - ignored"),
    }),
    Keyword::new(
        "notification_email_from",
        Leaf,
        NotImplemented,
        |g, n, cx| match n.arg_str(0) {
            Some(s) => g.notification_email_from = Some(s.to_owned()),
            None => cx.error(n, 0, "notification_email_from address missing - ignored"),
        },
    ),
    Keyword::new("smtp_server", Leaf, NotImplemented, |g, n, cx| {
        let Some(host) = arg_or_exit(cx, n, 0) else {
            return;
        };
        let port_str = n.arg_str(1).unwrap_or("25");
        let port = port_str.parse::<u16>().ok();
        let resolved = match port {
            None => false,
            Some(_) if host.parse::<IpAddr>().is_ok() => true,
            // keepalived resolves names when it reads the line; only try when
            // we may look at this host (its resolver).
            Some(p) if cx.opts.check_host => {
                use std::net::ToSocketAddrs;
                (host, p)
                    .to_socket_addrs()
                    .is_ok_and(|mut a| a.next().is_some())
            }
            Some(_) => true,
        };
        match port {
            Some(port) if resolved => {
                g.smtp_server = Some(SmtpServer {
                    host: host.to_owned(),
                    port,
                })
            }
            _ => cx.error(
                n,
                0,
                format!("invalid smtp server {host} {port_str} - ignored"),
            ),
        }
    }),
    Keyword::new("smtp_helo_name", Leaf, NotImplemented, |g, n, _cx| {
        if let Some(s) = n.arg_str(0) {
            g.smtp_helo_name = Some(s.to_owned());
        }
    }),
    Keyword::new(
        "smtp_connect_timeout",
        Leaf,
        NotImplemented,
        |g, n, cx| match uint_or_exit(cx, n, 0, 0, MAX_TIMER_SECS) {
            Some(0) => {
                cx.error(
                    n,
                    0,
                    "smtp_connect_timeout must be greater than 0, setting to 1",
                );
                g.smtp_connect_timeout = 1;
            }
            Some(v) => g.smtp_connect_timeout = v as u32,
            None => {}
        },
    ),
    Keyword::new("notification_email", List, NotImplemented, |g, n, cx| {
        if let Some(extra) = n.arg_str(0) {
            cx.error(
                n,
                0,
                format!("block notification_email has extra parameters {extra} ... - ignored"),
            );
        }
        let before = g.notification_email.len();
        for item in n.children() {
            g.notification_email.push(item.name().to_owned());
            g.notification_email
                .extend(item.args.iter().map(|w| w.text().to_owned()));
        }
        if g.notification_email.len() == before {
            cx.error(n, usize::MAX, "empty notification_email block");
        }
    }),
    Keyword::new("smtp_alert", Leaf, NotImplemented, |g, n, cx| {
        if let Some(b) = opt_bool(cx, n) {
            g.smtp_alert = Some(b);
        }
    }),
    Keyword::new("smtp_alert_vrrp", Leaf, NotImplemented, |g, n, cx| {
        if let Some(b) = opt_bool(cx, n) {
            g.smtp_alert_vrrp = Some(b);
        }
    }),
    Keyword::new("smtp_alert_checker", Leaf, NotImplemented, |g, n, cx| {
        if let Some(b) = opt_bool(cx, n) {
            g.smtp_alert_checker = Some(b);
        }
    }),
    flag!("no_email_faults", NotImplemented, no_email_faults),
    opt_flag!(
        "checker_log_all_failures",
        NotImplemented,
        checker_log_all_failures
    ),
    opt_flag!("no_checker_emails", NotImplemented, no_checker_emails),
    // ----- scripts -----
    Keyword::new("script_user", Leaf, Full, |g, n, cx| {
        let Some(user) = n.arg_str(0) else {
            cx.error(n, 0, "no script username specified");
            return;
        };
        cx.remember(SPAN_SCRIPT_USER.to_owned(), n);
        g.script_user = Some(ScriptUser {
            user: user.to_owned(),
            group: n.arg_str(1).map(str::to_owned),
        });
    }),
    flag!("enable_script_security", Full, enable_script_security),
    Keyword::new("startup_script", Leaf, Full, |g, n, cx| {
        start_stop_script(cx, &mut g.startup_script, n, "startup");
    }),
    Keyword::new("startup_script_timeout", Leaf, Full, |g, n, cx| {
        script_timeout(cx, &mut g.startup_script_timeout, n);
    }),
    Keyword::new("shutdown_script", Leaf, Full, |g, n, cx| {
        start_stop_script(cx, &mut g.shutdown_script, n, "shutdown");
    }),
    Keyword::new("shutdown_script_timeout", Leaf, Full, |g, n, cx| {
        script_timeout(cx, &mut g.shutdown_script_timeout, n);
    }),
    // ----- notify FIFOs -----
    Keyword::new("notify_fifo", Leaf, Full, |g, n, cx| {
        notify_fifo(cx, &mut g.notify_fifo, n);
    }),
    Keyword::new("notify_fifo_script", Leaf, Full, |g, n, cx| {
        notify_fifo_script(cx, &mut g.notify_fifo_script, n);
    }),
    Keyword::new("vrrp_notify_fifo", Leaf, Full, |g, n, cx| {
        notify_fifo(cx, &mut g.vrrp_notify_fifo, n);
    }),
    Keyword::new("vrrp_notify_fifo_script", Leaf, Full, |g, n, cx| {
        notify_fifo_script(cx, &mut g.vrrp_notify_fifo_script, n);
    }),
    Keyword::new("lvs_notify_fifo", Leaf, Full, |g, n, cx| {
        notify_fifo(cx, &mut g.lvs_notify_fifo, n);
    }),
    Keyword::new("lvs_notify_fifo_script", Leaf, Full, |g, n, cx| {
        notify_fifo_script(cx, &mut g.lvs_notify_fifo_script, n);
    }),
    opt_flag!(
        "vrrp_notify_priority_changes",
        Full,
        vrrp_notify_priority_changes
    ),
    flag!(
        "fifo_write_vrrp_states_on_reload",
        Full,
        fifo_write_vrrp_states_on_reload
    ),
    opt_flag!("rs_init_notifies", Full, rs_init_notifies),
    // ----- VRRP defaults -----
    Keyword::new("vrrp_version", Leaf, Full, |g, n, cx| {
        let Some(s) = arg_or_exit(cx, n, 0) else {
            return;
        };
        match s {
            "2" => g.vrrp_version = 2,
            "3" => g.vrrp_version = 3,
            _ => cx.error(
                n,
                0,
                format!("VRRP version '{s}' must be either 2 or 3 - ignored"),
            ),
        }
    }),
    Keyword::new("vrrp_mcast_group4", Leaf, Full, |g, n, cx| {
        let Some(s) = arg_or_exit(cx, n, 0) else {
            return;
        };
        match s.parse::<IpAddr>() {
            Err(_) => cx.error(
                n,
                0,
                format!("can't parse vrrp_mcast_group4 [{s}] - ignored"),
            ),
            Ok(IpAddr::V6(_)) => cx.error(
                n,
                0,
                format!("vrrp_mcast_group4 [{s}] is not IPv4 - ignored"),
            ),
            Ok(a) if !a.is_multicast() => cx.error(
                n,
                0,
                format!("vrrp_mcast_group4 [{s}] is not multicast - ignored"),
            ),
            Ok(a) => g.vrrp_mcast_group4 = a,
        }
    }),
    Keyword::new("vrrp_mcast_group6", Leaf, Full, |g, n, cx| {
        let Some(s) = arg_or_exit(cx, n, 0) else {
            return;
        };
        match s.parse::<IpAddr>() {
            Err(_) => cx.error(
                n,
                0,
                format!("can't parse vrrp_mcast_group6 [{s}] - ignored"),
            ),
            Ok(IpAddr::V4(_)) => cx.error(
                n,
                0,
                format!("vrrp_mcast_group6 [{s}] is not IPv6 - ignored"),
            ),
            Ok(a) if !a.is_multicast() => cx.error(
                n,
                0,
                format!("vrrp_mcast_group6 [{s}] is not multicast - ignored"),
            ),
            Ok(a) => {
                if !is_mc_linklocal(&a) {
                    // keepalived's CONFIG_WARNING: still fails `-t` (exit 5).
                    cx.error(
                        n,
                        0,
                        format!(
                            "vrrp_mcast_group6 [{s}] should be link-local multicast (used anyway)"
                        ),
                    );
                }
                g.vrrp_mcast_group6 = a;
            }
        }
    }),
    Keyword::new("vrrp_garp_master_delay", Leaf, Full, |g, n, cx| {
        if let Some(v) = uint_or_exit(cx, n, 0, 0, MAX_TIMER_SECS) {
            g.vrrp_garp_master_delay = v as u32;
        }
    }),
    Keyword::new(
        "vrrp_garp_master_repeat",
        Leaf,
        Full,
        |g, n, cx| match uint_or_exit(cx, n, 0, 0, u32::MAX as u64) {
            Some(0) => {
                cx.error(
                    n,
                    0,
                    "vrrp_garp_master_repeat must be greater than 0, setting to 1",
                );
                g.vrrp_garp_master_repeat = 1;
            }
            Some(v) => g.vrrp_garp_master_repeat = v as u32,
            None => {}
        },
    ),
    Keyword::new("vrrp_garp_master_refresh", Leaf, Full, |g, n, cx| {
        if arg_or_exit(cx, n, 0).is_none() {
            return;
        }
        // keepalived turns refreshing off when the value is invalid.
        match cx.uint(n, 0, 0, u32::MAX as u64) {
            Some(v) => g.vrrp_garp_master_refresh = v as u32,
            None => {
                cx.error(
                    n,
                    0,
                    "invalid vrrp_garp_master_refresh - refresh turned off",
                );
                g.vrrp_garp_master_refresh = 0;
            }
        }
    }),
    Keyword::new(
        "vrrp_garp_master_refresh_repeat",
        Leaf,
        Full,
        |g, n, cx| match uint_or_exit(cx, n, 0, 0, u32::MAX as u64) {
            Some(0) => {
                cx.error(
                    n,
                    0,
                    "vrrp_garp_master_refresh_repeat must be greater than 0, setting to 1",
                );
                g.vrrp_garp_master_refresh_repeat = 1;
            }
            Some(v) => g.vrrp_garp_master_refresh_repeat = v as u32,
            None => {}
        },
    ),
    Keyword::new("vrrp_garp_lower_prio_delay", Leaf, Full, |g, n, cx| {
        if let Some(v) = uint_or_exit(cx, n, 0, 0, MAX_TIMER_SECS) {
            g.vrrp_garp_lower_prio_delay = Some(v as u32);
        }
    }),
    Keyword::new("vrrp_garp_lower_prio_repeat", Leaf, Full, |g, n, cx| {
        if let Some(v) = uint_or_exit(cx, n, 0, 0, i32::MAX as u64) {
            g.vrrp_garp_lower_prio_repeat = Some(v as u32);
        }
    }),
    Keyword::new("vrrp_down_timer_adverts", Leaf, Full, |g, n, cx| {
        if let Some(v) = uint_or_exit(cx, n, 0, 1, 100) {
            g.vrrp_down_timer_adverts = v as u32;
        }
    }),
    Keyword::new("vrrp_garp_interval", Leaf, Full, |g, n, cx| {
        if let Some(t) = decimal_secs_or_exit(
            cx,
            n,
            0,
            Timer::from_micros(1),
            Timer::from_micros(u32::MAX as u64),
        ) {
            g.vrrp_garp_interval = Some(t);
        }
        if g.vrrp_garp_interval
            .is_some_and(|t| t >= Timer::from_secs(1))
        {
            cx.warn(n, 0, "the vrrp_garp_interval is very large");
        }
    }),
    Keyword::new("vrrp_gna_interval", Leaf, Full, |g, n, cx| {
        if let Some(t) = decimal_secs_or_exit(
            cx,
            n,
            0,
            Timer::from_micros(1),
            Timer::from_micros(u32::MAX as u64),
        ) {
            g.vrrp_gna_interval = Some(t);
        }
        if g.vrrp_gna_interval
            .is_some_and(|t| t >= Timer::from_secs(1))
        {
            cx.warn(n, 0, "the vrrp_gna_interval is very large");
        }
    }),
    Keyword::new("vrrp_min_garp", Leaf, Full, |g, n, cx| {
        if opt_bool(cx, n) != Some(true) {
            return;
        }
        g.vrrp_min_garp = true;
        // Only the settings still at their defaults change (keepalived's rule),
        // so what was set before wins and what comes after overrides.
        let d = GlobalDefs::default();
        if g.vrrp_garp_master_repeat == d.vrrp_garp_master_repeat {
            g.vrrp_garp_master_repeat = 1;
        }
        if g.vrrp_garp_master_refresh == d.vrrp_garp_master_refresh {
            g.vrrp_garp_master_refresh = 0;
        }
        if g.vrrp_garp_master_refresh_repeat == d.vrrp_garp_master_refresh_repeat {
            g.vrrp_garp_master_refresh_repeat = 0;
        }
        if g.vrrp_garp_master_delay == d.vrrp_garp_master_delay {
            g.vrrp_garp_master_delay = 0;
        }
    }),
    Keyword::new("vrrp_garp_extra_if", Leaf, NotImplemented, garp_extra_if),
    Keyword::new("vrrp_vmac_garp_intvl", Leaf, NotImplemented, |g, n, cx| {
        // keepalived reports this as CONFIG_DEPRECATED, which fails `-t`.
        cx.error(
            n,
            usize::MAX,
            "keyword \"vrrp_vmac_garp_intvl\" is deprecated - please use \"vrrp_garp_extra_if\"",
        );
        garp_extra_if(g, n, cx);
    }),
    opt_flag!("vrrp_lower_prio_no_advert", Full, vrrp_lower_prio_no_advert),
    opt_flag!(
        "vrrp_higher_prio_send_advert",
        Full,
        vrrp_higher_prio_send_advert
    ),
    flag!("vrrp_check_unicast_src", Full, vrrp_check_unicast_src),
    flag!("vrrp_skip_check_adv_addr", Full, vrrp_skip_check_adv_addr),
    flag!("vrrp_strict", Full, vrrp_strict),
    Keyword::new("vrrp_startup_delay", Leaf, Full, |g, n, cx| {
        if let Some(t) = decimal_secs_or_exit(
            cx,
            n,
            0,
            Timer::from_millis(1),
            Timer::from_micros(u32::MAX as u64),
        ) {
            g.vrrp_startup_delay = Some(t);
        }
        if g.vrrp_startup_delay
            .is_some_and(|t| t >= Timer::from_secs(60))
        {
            cx.warn(n, 0, "the vrrp_startup_delay is very large");
        }
    }),
    flag!("log_unknown_vrids", Full, log_unknown_vrids),
    Keyword::new("dynamic_interfaces", Leaf, NotImplemented, |g, n, cx| {
        g.dynamic_interfaces = true;
        match n.arg_str(0) {
            None => {}
            Some("allow_if_changes") => g.dynamic_interfaces_allow_if_changes = true,
            Some(other) => cx.error(
                n,
                0,
                format!("unknown dynamic_interfaces option '{other}' - ignored"),
            ),
        }
    }),
    Keyword::new("default_interface", Leaf, Full, |g, n, cx| {
        match n.arg_str(0) {
            Some(s) => g.default_interface = Some(s.to_owned()),
            None => cx.error(n, 0, "default_interface requires an interface name"),
        }
    }),
    Keyword::new("disable_local_igmp", Leaf, NotImplemented, |g, n, cx| {
        const KNOB: &str = "/proc/sys/net/ipv4/igmp_link_local_mcast_reports";
        if cx.opts.check_host && nix::unistd::access(KNOB, nix::unistd::AccessFlags::W_OK).is_err()
        {
            cx.error(
                n,
                usize::MAX,
                format!("kernel does not support {KNOB} - ignored"),
            );
            return;
        }
        g.disable_local_igmp = true;
    }),
    Keyword::new("vmac_prefix", Leaf, NotImplemented, |g, n, cx| {
        let Some(s) = arg_or_exit(cx, n, 0) else {
            return;
        };
        if g.vmac_prefix.is_some() {
            cx.error(
                n,
                0,
                format!("vmac prefix has already been specified - ignoring {s}"),
            );
            return;
        }
        g.vmac_prefix = Some(s.to_owned());
    }),
    Keyword::new("vmac_addr_prefix", Leaf, NotImplemented, |g, n, cx| {
        let Some(s) = arg_or_exit(cx, n, 0) else {
            return;
        };
        if g.vmac_addr_prefix.is_some() {
            cx.error(
                n,
                0,
                format!("vmac_addr prefix has already been specified - ignoring {s}"),
            );
            return;
        }
        g.vmac_addr_prefix = Some(s.to_owned());
    }),
    // ----- firewall -----
    Keyword::new("vrrp_iptables", Leaf, NotImplemented, |g, n, cx| {
        cx.error(
            n,
            usize::MAX,
            "iptables not supported, using nftables instead; please replace 'vrrp_iptables' \
             and 'vrrp_ipsets' with the 'nftables' option",
        );
        g.vrrp_iptables = Some(n.args.iter().map(|w| w.text().to_owned()).collect());
        g.nftables = Some(DEFAULT_NFTABLES_TABLE.to_owned());
        g.nftables_priority = -1;
    }),
    Keyword::new("nftables", Leaf, NotImplemented, |g, n, cx| {
        if g.nftables.is_some() {
            cx.error(n, usize::MAX, "nftables already specified - ignored");
            return;
        }
        let name = n.arg_str(0).unwrap_or(DEFAULT_NFTABLES_TABLE);
        if name.len() >= NFT_TABLE_MAXNAMELEN {
            cx.error(n, 0, "nftables table name too long - ignored");
            return;
        }
        g.nftables = Some(name.to_owned());
        g.nftables_priority = -1;
    }),
    Keyword::new("nftables_priority", Leaf, NotImplemented, |g, n, cx| {
        if let Some(v) = int_or_exit(cx, n, 0, i32::MIN as i64, i32::MAX as i64) {
            g.nftables_priority = v as i32;
        }
    }),
    flag!("nftables_ifindex", NotImplemented, nftables_ifindex),
    Keyword::new("nftables_ipvs", Leaf, NotImplemented, |g, n, cx| {
        if g.nftables_ipvs.is_some() {
            cx.error(n, usize::MAX, "ipvs nftables already specified - ignored");
            return;
        }
        let name = n.arg_str(0).unwrap_or(DEFAULT_NFTABLES_IPVS_TABLE);
        if name.len() >= NFT_TABLE_MAXNAMELEN {
            cx.error(n, 0, "ipvs nftables table name too long - ignored");
            return;
        }
        g.nftables_ipvs = Some(name.to_owned());
        g.nftables_ipvs_priority = -1;
        g.nftables_ipvs_start_fwmark = 1000;
    }),
    Keyword::new(
        "nftables_ipvs_priority",
        Leaf,
        NotImplemented,
        |g, n, cx| {
            if let Some(v) = int_or_exit(cx, n, 0, i32::MIN as i64, i32::MAX as i64) {
                g.nftables_ipvs_priority = v as i32;
            }
        },
    ),
    Keyword::new(
        "nftables_ipvs_start_fwmark",
        Leaf,
        NotImplemented,
        |g, n, cx| {
            if let Some(v) = uint_or_exit(cx, n, 0, 1, u32::MAX as u64) {
                g.nftables_ipvs_start_fwmark = v as u32;
            }
        },
    ),
    flag!("nftables_counters", NotImplemented, nftables_counters),
    // ----- LVS -----
    Keyword::new("lvs_timeouts", Leaf, Full, lvs_timeouts),
    flag!("lvs_flush", Full, lvs_flush),
    Keyword::new("lvs_flush_on_stop", Leaf, Full, lvs_flush_on_stop),
    Keyword::new("lvs_flush_onstop", Leaf, Full, lvs_flush_on_stop),
    Keyword::new("lvs_sync_daemon", Leaf, Full, lvs_sync_daemon),
    // ----- scheduling -----
    Keyword::new("max_auto_priority", Leaf, NotImplemented, |g, n, cx| {
        if n.args.is_empty() {
            g.max_auto_priority = Some(SCHED_RR_MAX as i32);
            return;
        }
        match cx.int(n, 0, -1, SCHED_RR_MAX) {
            Some(v) => g.max_auto_priority = Some(v as i32),
            None => cx.error(
                n,
                0,
                format!(
                    "max_auto_priority must be in [0, {SCHED_RR_MAX}] (or -1 to disable) - ignored"
                ),
            ),
        }
    }),
    Keyword::new(
        "min_auto_priority_delay",
        Leaf,
        NotImplemented,
        |g, n, cx| {
            if n.args.is_empty() {
                cx.error(n, 0, "min_auto_priority_delay requires a delay time");
                return;
            }
            if let Some(v) = cx.int(n, 0, 1, 10_000_000) {
                g.min_auto_priority_delay = v as u32;
            }
        },
    ),
    // ----- netlink and receive buffers -----
    Keyword::new(
        "vrrp_netlink_cmd_rcv_bufs",
        Leaf,
        NotImplemented,
        |g, n, cx| {
            rcv_bufs(cx, &mut g.vrrp_netlink_cmd_rcv_bufs, n);
        },
    ),
    opt_flag!(
        "vrrp_netlink_cmd_rcv_bufs_force",
        NotImplemented,
        vrrp_netlink_cmd_rcv_bufs_force
    ),
    Keyword::new(
        "vrrp_netlink_monitor_rcv_bufs",
        Leaf,
        NotImplemented,
        |g, n, cx| {
            rcv_bufs(cx, &mut g.vrrp_netlink_monitor_rcv_bufs, n);
        },
    ),
    opt_flag!(
        "vrrp_netlink_monitor_rcv_bufs_force",
        NotImplemented,
        vrrp_netlink_monitor_rcv_bufs_force
    ),
    Keyword::new(
        "process_monitor_rcv_bufs",
        Leaf,
        NotImplemented,
        |g, n, cx| {
            rcv_bufs(cx, &mut g.process_monitor_rcv_bufs, n);
        },
    ),
    opt_flag!(
        "process_monitor_rcv_bufs_force",
        NotImplemented,
        process_monitor_rcv_bufs_force
    ),
    Keyword::new(
        "lvs_netlink_cmd_rcv_bufs",
        Leaf,
        NotImplemented,
        |g, n, cx| {
            rcv_bufs(cx, &mut g.lvs_netlink_cmd_rcv_bufs, n);
        },
    ),
    opt_flag!(
        "lvs_netlink_cmd_rcv_bufs_force",
        NotImplemented,
        lvs_netlink_cmd_rcv_bufs_force
    ),
    Keyword::new(
        "lvs_netlink_monitor_rcv_bufs",
        Leaf,
        NotImplemented,
        |g, n, cx| {
            rcv_bufs(cx, &mut g.lvs_netlink_monitor_rcv_bufs, n);
        },
    ),
    opt_flag!(
        "lvs_netlink_monitor_rcv_bufs_force",
        NotImplemented,
        lvs_netlink_monitor_rcv_bufs_force
    ),
    Keyword::new(
        "vrrp_rx_bufs_policy",
        Leaf,
        NotImplemented,
        vrrp_rx_bufs_policy,
    ),
    Keyword::new(
        "vrrp_rx_bufs_multiplier",
        Leaf,
        NotImplemented,
        |g, n, cx| {
            if n.args.len() != 1 {
                cx.error(
                    n,
                    0,
                    "vrrp_rx_bufs_multiplier takes exactly one value - ignored",
                );
                return;
            }
            if let Some(v) = cx.uint(n, 0, 1, u32::MAX as u64) {
                g.vrrp_rx_bufs_multiplier = v as u32;
            }
        },
    ),
    // ----- SNMP and DBus -----
    Keyword::new("snmp_socket", Leaf, NotImplemented, |g, n, cx| {
        if n.args.len() > 1 {
            cx.error(
                n,
                1,
                "too many parameters specified for snmp_socket - ignored",
            );
            return;
        }
        let Some(s) = n.arg_str(0) else {
            cx.error(n, 0, "snmp socket name missing");
            return;
        };
        if s.len() > 4095 {
            cx.error(n, 0, "snmp socket name too long - ignored");
            return;
        }
        if let Some(old) = &g.snmp_socket {
            cx.error(n, 0, format!("SNMP socket already set to {old} - ignored"));
            return;
        }
        g.snmp_socket = Some(s.to_owned());
    }),
    flag!("enable_traps", NotImplemented, enable_traps),
    flag!("enable_snmp_vrrp", NotImplemented, enable_snmp_vrrp),
    flag!("enable_snmp_keepalived", NotImplemented, enable_snmp_vrrp),
    Keyword::new("enable_snmp_rfc", Leaf, NotImplemented, |g, _n, _cx| {
        g.enable_snmp_rfcv2 = true;
        g.enable_snmp_rfcv3 = true;
    }),
    flag!("enable_snmp_rfcv2", NotImplemented, enable_snmp_rfcv2),
    flag!("enable_snmp_rfcv3", NotImplemented, enable_snmp_rfcv3),
    flag!("enable_snmp_checker", NotImplemented, enable_snmp_checker),
    flag!("enable_dbus", NotImplemented, enable_dbus),
    Keyword::new(
        "dbus_service_name",
        Leaf,
        NotImplemented,
        |g, n, cx| match n.arg_str(0) {
            Some(s) => g.dbus_service_name = Some(s.to_owned()),
            None => cx.error(n, 0, "dbus_service_name missing - ignored"),
        },
    ),
    // ----- files, reload, misc -----
    Keyword::new("umask", Leaf, Full, umask),
    Keyword::new("random_seed", Leaf, NotImplemented, |g, n, cx| {
        if let Some(v) = uint_or_exit(cx, n, 0, 0, u32::MAX as u64) {
            g.random_seed = Some(v as u32);
        }
    }),
    Keyword::new("reload_check_config", Leaf, NotImplemented, |g, n, _cx| {
        g.reload_check_config = Some(n.arg_str(0).unwrap_or("/dev/null").to_owned());
    }),
    Keyword::new("reload_time_file", Leaf, NotImplemented, |g, n, cx| {
        if n.args.len() != 1 {
            cx.error(
                n,
                0,
                "reload_time_file takes exactly one file name - ignored",
            );
            return;
        }
        g.reload_time_file = n.arg_str(0).map(str::to_owned);
    }),
    flag!("reload_repeat", NotImplemented, reload_repeat),
    Keyword::new("reload_file", Leaf, NotImplemented, |g, n, _cx| {
        g.reload_file = Some(n.arg_str(0).unwrap_or("").to_owned());
    }),
    Keyword::new("include_check", Leaf, NotImplemented, include_check),
    Keyword::new("config_save_dir", Leaf, NotImplemented, config_save_dir),
    Keyword::new("tmp_config_directory", Leaf, NotImplemented, |g, n, cx| {
        if g.tmp_config_directory.is_some() {
            cx.error(
                n,
                usize::MAX,
                "tmp_config_directory already specified - ignored",
            );
            return;
        }
        match n.arg_str(0) {
            Some(s) => g.tmp_config_directory = Some(s.to_owned()),
            None => cx.error(n, 0, "tmp_config_directory missing directory name"),
        }
    }),
    opt_flag!("data_use_instance", NotImplemented, data_use_instance),
    // ----- scheduling of the child processes -----
    sched_kw!("vrrp_priority", vrrp_process, sched_priority, "vrrp"),
    flag!("vrrp_no_swap", NotImplemented, vrrp_process.no_swap),
    sched_kw!("vrrp_rt_priority", vrrp_process, sched_rt_priority, "vrrp"),
    sched_kw!(
        "vrrp_cpu_affinity",
        vrrp_process,
        sched_cpu_affinity,
        "vrrp"
    ),
    sched_kw!("vrrp_rlimit_rttime", vrrp_process, sched_rlimit, "vrrp"),
    sched_kw!("vrrp_rlimit_rtime", vrrp_process, sched_rlimit, "vrrp"),
    sched_kw!(
        "checker_priority",
        checker_process,
        sched_priority,
        "checker"
    ),
    flag!("checker_no_swap", NotImplemented, checker_process.no_swap),
    sched_kw!(
        "checker_rt_priority",
        checker_process,
        sched_rt_priority,
        "checker"
    ),
    sched_kw!(
        "checker_cpu_affinity",
        checker_process,
        sched_cpu_affinity,
        "checker"
    ),
    sched_kw!(
        "checker_rlimit_rttime",
        checker_process,
        sched_rlimit,
        "checker"
    ),
    sched_kw!(
        "checker_rlimit_rtime",
        checker_process,
        sched_rlimit,
        "checker"
    ),
    sched_kw!("bfd_priority", bfd_process, sched_priority, "bfd"),
    flag!("bfd_no_swap", NotImplemented, bfd_process.no_swap),
    sched_kw!("bfd_rt_priority", bfd_process, sched_rt_priority, "bfd"),
    sched_kw!("bfd_cpu_affinity", bfd_process, sched_cpu_affinity, "bfd"),
    sched_kw!("bfd_rlimit_rttime", bfd_process, sched_rlimit, "bfd"),
    sched_kw!("bfd_rlimit_rtime", bfd_process, sched_rlimit, "bfd"),
];

/// `vrrp_garp_extra_if [all] SECS` / `vrrp_vmac_garp_intvl`.
fn garp_extra_if(g: &mut GlobalDefs, n: &Node, cx: &mut Cx) {
    let mut all = false;
    let mut delay = None;
    for (i, w) in n.args.iter().enumerate() {
        if w.text() == "all" {
            all = true;
            continue;
        }
        match cx.uint(n, i, 1, 86400) {
            Some(v) => delay = Some(v as u32),
            None => {
                cx.error(
                    n,
                    i,
                    format!("{} '{}' invalid - ignored", n.name(), w.text()),
                );
                return;
            }
        }
    }
    match delay {
        Some(interval) => g.vrrp_garp_extra_if = Some(GlobalGarpExtraIf { interval, all }),
        None => cx.error(
            n,
            usize::MAX,
            format!("{} specified without time - ignored", n.name()),
        ),
    }
}

/// `lvs_timeouts [tcp N] [tcpfin N] [udp N]`, each in [0, 31 days].
fn lvs_timeouts(g: &mut GlobalDefs, n: &Node, cx: &mut Cx) {
    if n.args.len() < 2 {
        cx.error(n, usize::MAX, "lvs_timeouts requires at least one option");
        return;
    }
    let mut i = 0;
    while i < n.args.len() {
        let opt = n.args[i].text();
        let slot = match opt {
            "tcp" => &mut g.lvs_timeouts.tcp,
            "tcpfin" => &mut g.lvs_timeouts.tcpfin,
            "udp" => &mut g.lvs_timeouts.udp,
            _ => {
                cx.error(
                    n,
                    i,
                    format!("unknown option {opt} specified for lvs_timeouts - ignored"),
                );
                i += 1;
                continue;
            }
        };
        if i + 1 == n.args.len() {
            cx.error(
                n,
                i,
                format!("no value specified for lvs_timeouts {opt} - ignored"),
            );
            break;
        }
        if let Some(v) = cx.uint(n, i + 1, 0, LVS_MAX_TIMEOUT) {
            *slot = Some(v as u32);
        }
        i += 2;
    }
}

/// `lvs_flush_on_stop [VS]` (`lvs_flush_onstop` is the old spelling).
fn lvs_flush_on_stop(g: &mut GlobalDefs, n: &Node, cx: &mut Cx) {
    match n.arg_str(0) {
        None => g.lvs_flush_on_stop = Some(LvsFlushOnStop::Full),
        Some("VS") => g.lvs_flush_on_stop = Some(LvsFlushOnStop::Vs),
        Some(other) => cx.error(
            n,
            0,
            format!("unknown lvs_flush_on_stop type {other} - ignored"),
        ),
    }
}

/// `lvs_sync_daemon IFNAME [inst NAME] [id N] [maxlen N] [port N] [ttl N]
/// [group ADDR]`, and the old `IFNAME VRRP_INSTANCE [SYNCID]` form.
fn lvs_sync_daemon(g: &mut GlobalDefs, n: &Node, cx: &mut Cx) {
    if let Some(old) = &g.lvs_sync_daemon {
        cx.error(
            n,
            usize::MAX,
            format!(
                "lvs_sync_daemon has already been specified as {}{} - ignored",
                old.interface,
                old.inst
                    .as_deref()
                    .map(|i| format!(" {i}"))
                    .unwrap_or_default()
            ),
        );
        return;
    }
    let Some(ifname) = n.arg_str(0) else {
        cx.error(n, 0, "lvs_sync_daemon requires an interface");
        return;
    };
    if ifname.len() >= IPVS_IFNAME_MAXLEN {
        cx.error(
            n,
            0,
            format!("lvs_sync_daemon interface name '{ifname}' too long - ignored"),
        );
        return;
    }
    cx.remember(SPAN_LVS_SYNC_DAEMON.to_owned(), n);
    let mut d = LvsSyncDaemon {
        interface: ifname.to_owned(),
        ..Default::default()
    };
    let mut i = 1;
    while i < n.args.len() {
        let word = n.args[i].text();
        let has_value = i + 1 < n.args.len();
        match word {
            "inst" => {
                // keepalived reads the name without checking it is there.
                let Some(name) = arg_or_exit(cx, n, i + 1) else {
                    return;
                };
                match &d.inst {
                    Some(old) => cx.error(
                        n,
                        i + 1,
                        format!("lvs_sync_daemon vrrp instance has already been specified as {old} - ignored"),
                    ),
                    None => d.inst = Some(name.to_owned()),
                }
            }
            "id" if !has_value => cx.error(
                n,
                i,
                "no value specified for lvs_sync_daemon id, defaulting to the vrid",
            ),
            "id" => match cx.uint(n, i + 1, 0, 255) {
                Some(v) => d.id = Some(v as u8),
                None => cx.error(n, i + 1, "invalid syncid - defaulting to the vrid"),
            },
            "maxlen" | "port" | "ttl" | "group" if !has_value => {
                cx.error(
                    n,
                    i,
                    format!("no value specified for lvs_sync_daemon {word} - ignored"),
                );
            }
            "maxlen" => {
                if let Some(v) = cx.uint(n, i + 1, 1, 65535 - 20 - 8) {
                    d.maxlen = Some(v as u16);
                }
            }
            "port" => {
                if let Some(v) = cx.uint(n, i + 1, 1, 65535) {
                    d.port = Some(v as u16);
                }
            }
            "ttl" => {
                if let Some(v) = cx.uint(n, i + 1, 1, 255) {
                    d.ttl = Some(v as u8);
                }
            }
            "group" => {
                let s = n.args[i + 1].text();
                match s.parse::<IpAddr>() {
                    Err(_) => cx.error(
                        n,
                        i + 1,
                        format!("invalid lvs_sync_daemon group ({s}) - ignored"),
                    ),
                    Ok(a) if !a.is_multicast() => cx.error(
                        n,
                        i + 1,
                        format!("lvs_sync_daemon group address {s} is not multicast - ignored"),
                    ),
                    Ok(a) => d.group = Some(a),
                }
            }
            // The old positional form: IFNAME VRRP_INSTANCE [SYNCID].
            _ if i == 1 => {
                d.inst = Some(word.to_owned());
                i += 1;
                continue;
            }
            _ if i == 2 => {
                match cx.uint(n, i, 0, 255) {
                    Some(v) => {
                        cx.error(
                            n,
                            i,
                            "please use keyword \"id\" before the lvs_sync_daemon sync id",
                        );
                        d.id = Some(v as u8);
                    }
                    None => cx.error(n, i, "invalid syncid - defaulting to the vrid"),
                }
                i += 1;
                continue;
            }
            _ => {
                cx.error(
                    n,
                    i,
                    format!("unknown option {word} specified for lvs_sync_daemon - ignored"),
                );
                i += 1;
                continue;
            }
        }
        // Every keyword option consumes its value (present or not, as keepalived).
        i += 2;
    }
    g.lvs_sync_daemon = Some(d);
}

/// `vrrp_rx_bufs_policy MTU|ADVERT|SIZE ...`.  keepalived reads a size from the
/// first argument whatever the position of the word being looked at, and
/// accumulates the policy across lines; both are reproduced.
fn vrrp_rx_bufs_policy(g: &mut GlobalDefs, n: &Node, cx: &mut Cx) {
    if n.args.is_empty() {
        cx.error(n, 0, "vrrp_rx_bufs_policy missing");
        return;
    }
    let p = &mut g.vrrp_rx_bufs_policy;
    for (i, w) in n.args.iter().enumerate() {
        if w.text().eq_ignore_ascii_case("MTU") {
            p.mtu = true;
        } else if w.text().eq_ignore_ascii_case("ADVERT") {
            p.advert = true;
        } else {
            match n.args[0].text().parse::<u32>() {
                Ok(size) => p.size = Some(size),
                Err(_) => cx.error(
                    n,
                    i,
                    format!("invalid vrrp_rx_bufs_policy {} - ignored", w.text()),
                ),
            }
        }
    }
    if p.size.is_some() && (p.mtu || p.advert) {
        cx.error(
            n,
            usize::MAX,
            "cannot set vrrp_rx_bufs_policy size and policy, ignoring policy",
        );
        p.mtu = false;
        p.advert = false;
    } else if p.mtu && p.advert {
        cx.error(
            n,
            usize::MAX,
            "cannot set both vrrp_rx_bufs_policy MTU and ADVERT, ignoring ADVERT",
        );
        p.advert = false;
    }
}

/// `umask VALUE`: a number (C syntax: 022 is octal, 0x12 hex) or the symbolic
/// form `IWGRP|IWOTH` (the words may be split by blanks).
fn umask(g: &mut GlobalDefs, n: &Node, cx: &mut Cx) {
    let Some(first) = arg_or_exit(cx, n, 0) else {
        return;
    };
    if first.starts_with(|c: char| c.is_ascii_digit()) {
        if n.args.len() != 1 {
            cx.error(n, 1, "extra parameter(s) to umask option - ignored");
            return;
        }
        let parsed = if let Some(hex) = first.strip_prefix("0x").or(first.strip_prefix("0X")) {
            u32::from_str_radix(hex, 16).ok()
        } else if first.len() > 1 && first.starts_with('0') {
            u32::from_str_radix(&first[1..], 8).ok()
        } else {
            first.parse::<u32>().ok()
        };
        match parsed {
            Some(bits) if bits & !0o777 == 0 => g.umask = Some(bits),
            _ => cx.error(n, 0, format!("invalid umask value {first} - ignored")),
        }
        return;
    }
    const BITS: [(&str, u32); 9] = [
        ("IRUSR", 0o400),
        ("IWUSR", 0o200),
        ("IXUSR", 0o100),
        ("IRGRP", 0o040),
        ("IWGRP", 0o020),
        ("IXGRP", 0o010),
        ("IROTH", 0o004),
        ("IWOTH", 0o002),
        ("IXOTH", 0o001),
    ];
    let mut bits = 0;
    let mut need_or = false;
    for (i, w) in n.args.iter().enumerate() {
        let mut rest = w.text();
        while !rest.is_empty() {
            if need_or {
                match rest.strip_prefix('|') {
                    Some(r) => {
                        rest = r;
                        need_or = false;
                        continue;
                    }
                    None => {
                        cx.error(n, i, format!("invalid umask syntax {} - ignored", w.text()));
                        return;
                    }
                }
            }
            match BITS.iter().find(|(name, _)| rest.starts_with(name)) {
                Some((name, b)) => {
                    bits |= b;
                    rest = &rest[name.len()..];
                    need_or = true;
                }
                None => {
                    cx.error(n, i, format!("unknown umask bit {rest} - ignored"));
                    return;
                }
            }
        }
    }
    if !need_or {
        cx.error(n, usize::MAX, "umask missing bit value - ignored");
        return;
    }
    g.umask = Some(bits);
}

/// `include_check [+|-]TYPE ...`: only the first word may be given without a
/// sign; the types are read, match, wildcard_match and brace_match.
fn include_check(g: &mut GlobalDefs, n: &Node, cx: &mut Cx) {
    let mut kept = Vec::new();
    for (i, w) in n.args.iter().enumerate() {
        let word = w.text();
        let ty = word.strip_prefix(['+', '-']).unwrap_or(word);
        if ty.len() == word.len() && i > 0 {
            cx.error(
                n,
                i,
                format!("duplicate include_check '{word}' specified - ignored"),
            );
            continue;
        }
        if !matches!(ty, "read" | "match" | "wildcard_match" | "brace_match") {
            cx.error(n, i, format!("unknown include_check type '{ty}' - ignored"));
            continue;
        }
        kept.push(word.to_owned());
    }
    g.include_check = Some(kept);
}

/// `config_save_dir DIR`: keepalived creates DIR when it does not exist; we
/// only check (with host checks) that it could.
fn config_save_dir(g: &mut GlobalDefs, n: &Node, cx: &mut Cx) {
    let Some(dir) = arg_or_exit(cx, n, 0) else {
        return;
    };
    if cx.opts.check_host {
        match std::fs::metadata(dir) {
            Ok(m) if !m.is_dir() => {
                cx.error(
                    n,
                    0,
                    format!("config_save_dir {dir} exists and is not a directory - ignored"),
                );
                return;
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let parent = std::path::Path::new(dir)
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(std::path::Path::new("."));
                if !parent.is_dir() {
                    cx.error(
                        n,
                        0,
                        format!("unable to create config_save_dir {dir} (its parent does not exist) - ignored"),
                    );
                    return;
                }
            }
            Err(e) => {
                cx.error(n, 0, format!("config_save_dir {dir}: {e} - ignored"));
                return;
            }
        }
    }
    // keepalived drops one trailing '/'.
    let dir = match dir.strip_suffix('/') {
        Some(d) if !d.is_empty() => d,
        _ => dir,
    };
    g.config_save_dir = Some(dir.to_owned());
}

// ===== top-level process options =====

pub fn apply_top_net_namespace(cfg: &mut Config, node: &Node, cx: &mut Cx) {
    let g = &mut cfg.global_defs;
    let Some(name) = node.arg_str(0) else {
        cx.error(node, 0, "net_namespace name missing - ignored");
        return;
    };
    if g.net_namespace.is_some() {
        cx.error(
            node,
            0,
            format!("duplicate net_namespace definition {name} - ignored"),
        );
        return;
    }
    cx.remember(SPAN_NET_NAMESPACE.to_owned(), node);
    g.net_namespace = Some(name.to_owned());
    g.use_pid_dir = true;
}

pub fn apply_top_net_namespace_ipvs(cfg: &mut Config, node: &Node, cx: &mut Cx) {
    let g = &mut cfg.global_defs;
    if g.net_namespace_ipvs.is_some() {
        // keepalived names the duplicate from its first argument unchecked.
        if let Some(name) = arg_or_exit(cx, node, 0) {
            cx.error(
                node,
                0,
                format!("duplicate net_namespace_ipvs definition {name} - ignored"),
            );
        }
        return;
    }
    g.net_namespace_ipvs = Some(node.arg_str(0).unwrap_or("").to_owned());
}

pub fn apply_top_namespace_with_ipsets(cfg: &mut Config, _node: &Node, _cx: &mut Cx) {
    cfg.global_defs.namespace_with_ipsets = true;
}

pub fn apply_top_instance(cfg: &mut Config, node: &Node, cx: &mut Cx) {
    let g = &mut cfg.global_defs;
    let Some(name) = node.arg_str(0) else {
        cx.error(node, 0, "instance name missing - ignored");
        return;
    };
    if g.instance.is_some() {
        cx.error(
            node,
            0,
            format!("duplicate instance definition {name} - ignored"),
        );
        return;
    }
    g.instance = Some(name.to_owned());
    g.use_pid_dir = true;
}

pub fn apply_top_use_pid_dir(cfg: &mut Config, _node: &Node, _cx: &mut Cx) {
    cfg.global_defs.use_pid_dir = true;
}

pub fn apply_top_child_wait_time(cfg: &mut Config, node: &Node, cx: &mut Cx) {
    if let Some(v) = uint_or_exit(cx, node, 0, 0, u32::MAX as u64) {
        cfg.global_defs.child_wait_time = Some(v as u32);
    }
}

/// `linkbeat_use_polling` at the top level.  Not in the root table yet (that
/// table is in build/mod.rs): it needs
/// `Keyword::new("linkbeat_use_polling", Leaf, NotImplemented, global::apply_top_linkbeat_use_polling)`.
pub fn apply_top_linkbeat_use_polling(cfg: &mut Config, _node: &Node, _cx: &mut Cx) {
    cfg.global_defs.linkbeat_use_polling = true;
}

/// Keywords of the blocks below global_defs.
pub fn keywords(out: &mut Vec<KeywordInfo>) {
    collect("global_defs", GLOBAL_DEFS, out);
}

// ===== whole-configuration checks =====

/// Checks that need the whole configuration, or this host (users, script
/// files).  Also run on a model read from TOML, so the invariants the
/// keepalived.conf handlers guarantee are re-checked here for such a model.
pub fn validate(cfg: &Config, cx: &mut Cx) {
    let g = &cfg.global_defs;
    check_invariants(g, cx);

    if cx.opts.check_host {
        if let Some(ns) = &g.net_namespace {
            let path = std::path::Path::new("/run/netns").join(ns);
            if !path.exists() {
                // keepalived cannot enter it and stops right after reading
                // global_defs; its `-t` then exits 0 whatever it reported.
                cx.report_at(
                    Severity::Warning,
                    SPAN_NET_NAMESPACE,
                    "net_namespace",
                    format!(
                        "network namespace {ns} does not exist ({}): keepalived would stop \
                         after reading global_defs (and its -t would exit 0)",
                        path.display()
                    ),
                );
            }
        }
        if let Some(su) = &g.script_user {
            if let Err(why) = script_user_exists(su) {
                cx.report_at(Severity::Warning, SPAN_SCRIPT_USER, "script_user", why);
                cx.report_at(
                    Severity::Error,
                    SPAN_SCRIPT_USER,
                    "script_user",
                    "error setting global script uid/gid: scripts without their own user will be disabled",
                );
            }
        }
        for (kw, fifo) in [
            ("notify_fifo", &g.notify_fifo),
            ("vrrp_notify_fifo", &g.vrrp_notify_fifo),
            ("lvs_notify_fifo", &g.lvs_notify_fifo),
        ] {
            let Some(NotifyFifo { name, user }) = fifo else {
                continue;
            };
            let key = format!("global_defs.{kw}");
            // keepalived only logs these, and then does not create the FIFO.
            let why = match user {
                Some(user) => script_user_exists(user).err(),
                None => default_script_user(cx, g, &key, kw)
                    .is_none()
                    .then(|| "no default script user".to_owned()),
            };
            if let Some(why) = why {
                cx.report_at(
                    Severity::Warning,
                    &key,
                    kw,
                    format!("{why}: invalid user/group for {kw} {name} - ignored"),
                );
            }
        }
    }

    // The parent process checks the startup and shutdown scripts.
    for (key, kw, script) in [
        (SPAN_STARTUP_SCRIPT, "startup_script", &g.startup_script),
        (SPAN_SHUTDOWN_SCRIPT, "shutdown_script", &g.shutdown_script),
    ] {
        if let Some(s) = script {
            check_script(cx, g, key, kw, &s.script, s.user.as_ref(), ScriptUse::Other);
        }
    }
    // The FIFO scripts are checked by the processes that use them, and a
    // process only checks its scripts when it has something to run.
    let has_vrrp = !cfg.vrrp_instance.is_empty();
    let has_lvs = !cfg.virtual_server.is_empty();
    for (kw, script, used) in [
        (
            "notify_fifo_script",
            &g.notify_fifo_script,
            has_vrrp || has_lvs,
        ),
        (
            "vrrp_notify_fifo_script",
            &g.vrrp_notify_fifo_script,
            has_vrrp,
        ),
        ("lvs_notify_fifo_script", &g.lvs_notify_fifo_script, has_lvs),
    ] {
        let Some(s) = script else {
            continue;
        };
        let key = format!("global_defs.{kw}");
        if used {
            check_script(
                cx,
                g,
                &key,
                kw,
                &s.script,
                s.user.as_ref(),
                ScriptUse::Notify,
            );
        } else {
            check_script_user(
                cx,
                g,
                &key,
                kw,
                &s.script,
                s.user.as_ref(),
                ScriptUse::Notify,
            );
        }
    }

    if let Some(d) = &g.lvs_sync_daemon {
        if let Some(inst) = &d.inst {
            if instance_names(cfg).is_some_and(|names| !names.contains(inst)) {
                // keepalived only finds this when the VRRP process starts
                // (`-t` does not report it), then drops the sync daemon.
                cx.report_at(
                    Severity::Warning,
                    SPAN_LVS_SYNC_DAEMON,
                    "lvs_sync_daemon",
                    format!(
                        "unable to find vrrp instance {inst} for lvs_sync_daemon - the sync \
                         daemon will not be started"
                    ),
                );
            }
        }
    }
}

/// The names of the VRRP instances.  The instance model belongs to the VRRP
/// side and is read through its serialised form (its `name` field), so this
/// check does not depend on that struct's layout.
/// None when an instance has no readable name (nothing can be concluded).
fn instance_names(cfg: &Config) -> Option<Vec<String>> {
    cfg.vrrp_instance
        .iter()
        .map(|i| {
            let v = serde_json::to_value(i).ok()?;
            v.get("name")?.as_str().map(str::to_owned)
        })
        .collect()
}

/// Values the keepalived.conf handlers never store but a TOML file could hold.
fn check_invariants(g: &GlobalDefs, cx: &mut Cx) {
    let mut bad = |kw: &str, msg: String| {
        cx.diags.push(Severity::Error, None, Some(kw), msg);
    };
    if !matches!(g.vrrp_version, 2 | 3) {
        bad(
            "vrrp_version",
            format!("VRRP version {} must be either 2 or 3", g.vrrp_version),
        );
    }
    if !(g.vrrp_mcast_group4.is_ipv4() && g.vrrp_mcast_group4.is_multicast()) {
        bad(
            "vrrp_mcast_group4",
            format!("{} is not an IPv4 multicast address", g.vrrp_mcast_group4),
        );
    }
    if !(g.vrrp_mcast_group6.is_ipv6() && g.vrrp_mcast_group6.is_multicast()) {
        bad(
            "vrrp_mcast_group6",
            format!("{} is not an IPv6 multicast address", g.vrrp_mcast_group6),
        );
    }
    if !(1..=100).contains(&g.vrrp_down_timer_adverts) {
        bad(
            "vrrp_down_timer_adverts",
            format!("{} outside range [1, 100]", g.vrrp_down_timer_adverts),
        );
    }
    for (kw, v) in [
        ("startup_script_timeout", g.startup_script_timeout),
        ("shutdown_script_timeout", g.shutdown_script_timeout),
    ] {
        if !(1..=1000).contains(&v) {
            bad(kw, format!("{v} outside range [1, 1000]"));
        }
    }
    if let Some(d) = &g.lvs_sync_daemon {
        if !ifname_ok(&d.interface) {
            bad(
                "lvs_sync_daemon",
                format!("invalid interface name '{}'", d.interface),
            );
        }
        if let Some(a) = d.group.filter(|a| !a.is_multicast()) {
            bad(
                "lvs_sync_daemon",
                format!("group address {a} is not multicast"),
            );
        }
    }
    if g.umask.is_some_and(|u| u & !0o777 != 0) {
        bad("umask", "invalid umask bits".to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::diag::Diagnostic;
    use crate::config::model::{LvsTimeouts, RxBufsPolicy};
    use crate::config::{load_str, LoadOptions, Loaded};

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
        l.diags.items.iter().map(Diagnostic::to_string).collect()
    }

    /// The one diagnostic at `loc` (file:line:col).
    fn at<'a>(l: &'a Loaded, loc: &str) -> &'a Diagnostic {
        let found: Vec<&Diagnostic> = l
            .diags
            .items
            .iter()
            .filter(|d| d.location.as_ref().is_some_and(|x| x.to_string() == loc))
            .filter(|d| !d.message.contains("recognised but not implemented"))
            .collect();
        assert_eq!(found.len(), 1, "at {loc}: {:?}", msgs(l));
        found[0]
    }

    /// A configuration setting most global_defs keywords (and the top-level
    /// process options) to values other than their defaults.
    const MOST: &str = r#"net_namespace blue
net_namespace_ipvs
namespace_with_ipsets
instance inst1
child_wait_time 7
global_defs {
  process_names
  process_name kad
  checker_process_name chk
  router_id LVS_DEVEL
  notification_email_from ka@example.com
  smtp_server 192.0.2.25 2525
  smtp_helo_name helo.example.com
  smtp_connect_timeout 12
  notification_email {
    a@example.com
    b@example.com c@example.com
  }
  smtp_alert off
  smtp_alert_vrrp
  smtp_alert_checker yes
  no_email_faults
  checker_log_all_failures
  no_checker_emails on
  script_user nobody nogroup
  enable_script_security
  startup_script "/usr/local/bin/start 'a b'" root root
  startup_script_timeout 30
  shutdown_script /usr/local/bin/stop
  shutdown_script_timeout 40
  notify_fifo /run/ka.fifo nobody
  notify_fifo_script /usr/local/bin/fifo
  vrrp_notify_fifo /run/vrrp.fifo
  vrrp_notify_fifo_script /usr/local/bin/vfifo nobody
  lvs_notify_fifo /run/lvs.fifo
  lvs_notify_fifo_script /usr/local/bin/lfifo
  vrrp_notify_priority_changes
  fifo_write_vrrp_states_on_reload
  rs_init_notifies
  vrrp_version 3
  vrrp_mcast_group4 224.0.0.19
  vrrp_mcast_group6 ff02::13
  vrrp_garp_master_delay 10
  vrrp_garp_master_repeat 3
  vrrp_garp_master_refresh 60
  vrrp_garp_master_refresh_repeat 2
  vrrp_garp_lower_prio_delay 4
  vrrp_garp_lower_prio_repeat 6
  vrrp_garp_interval 0.001
  vrrp_gna_interval 0.000002
  vrrp_garp_extra_if all 120
  vrrp_down_timer_adverts 4
  vrrp_lower_prio_no_advert
  vrrp_higher_prio_send_advert true
  vrrp_check_unicast_src
  vrrp_skip_check_adv_addr
  vrrp_strict
  vrrp_startup_delay 5.5
  log_unknown_vrids
  dynamic_interfaces allow_if_changes
  default_interface eth0
  vmac_prefix vm
  vmac_addr_prefix va
  nftables ka_table
  nftables_priority -5
  nftables_ifindex
  nftables_ipvs
  nftables_ipvs_priority 3
  nftables_ipvs_start_fwmark 2000
  nftables_counters
  lvs_timeouts tcp 7200 tcpfin 120 udp 300
  lvs_flush
  lvs_flush_onstop VS
  lvs_sync_daemon eth1 inst VI_1 id 9 maxlen 1400 port 8848 ttl 2 group 224.0.0.81
  vrrp_priority -10
  vrrp_no_swap
  vrrp_rt_priority 50
  vrrp_cpu_affinity 0 1
  vrrp_rlimit_rttime 10000
  checker_priority 5
  checker_rlimit_rttime 1
  bfd_rt_priority 20
  max_auto_priority 40
  min_auto_priority_delay 500000
  vrrp_netlink_cmd_rcv_bufs 1048576
  vrrp_netlink_cmd_rcv_bufs_force
  vrrp_netlink_monitor_rcv_bufs 2097152
  vrrp_netlink_monitor_rcv_bufs_force yes
  process_monitor_rcv_bufs 4096
  process_monitor_rcv_bufs_force
  lvs_netlink_cmd_rcv_bufs 8192
  lvs_netlink_cmd_rcv_bufs_force
  lvs_netlink_monitor_rcv_bufs 16384
  lvs_netlink_monitor_rcv_bufs_force
  vrrp_rx_bufs_policy MTU
  vrrp_rx_bufs_multiplier 4
  snmp_socket tcp:localhost:705
  enable_traps
  enable_snmp_keepalived
  enable_snmp_rfc
  enable_snmp_checker
  enable_dbus
  dbus_service_name org.keepalived.Vrrp1
  umask 027
  random_seed 42
  reload_check_config /tmp/check.log
  reload_time_file /tmp/reload.time
  reload_repeat
  reload_file
  include_check read +match -brace_match
  config_save_dir /tmp/
  tmp_config_directory /tmp/ka
  data_use_instance
}
"#;

    #[test]
    fn most_keywords_parse_into_the_model() {
        let l = load(MOST);
        let unexpected: Vec<String> = msgs(&l)
            .into_iter()
            .filter(|m| !m.contains("recognised but not implemented"))
            // There is no vrrp_instance VI_1 here.
            .filter(|m| !m.contains("unable to find vrrp instance VI_1"))
            .collect();
        assert_eq!(unexpected, Vec::<String>::new());
        let g = &l.config.global_defs;
        assert_eq!(g.net_namespace.as_deref(), Some("blue"));
        assert_eq!(g.net_namespace_ipvs.as_deref(), Some(""));
        assert!(g.namespace_with_ipsets && g.use_pid_dir);
        assert_eq!(g.instance.as_deref(), Some("inst1"));
        assert_eq!(g.child_wait_time, Some(7));
        assert_eq!(g.vrrp_process_name.as_deref(), Some("keepalived_vrrp"));
        assert_eq!(g.checker_process_name.as_deref(), Some("chk"));
        assert_eq!(g.bfd_process_name.as_deref(), Some("keepalived_bfd"));
        assert_eq!(g.router_id.as_deref(), Some("LVS_DEVEL"));
        assert_eq!(
            g.smtp_server,
            Some(SmtpServer {
                host: "192.0.2.25".into(),
                port: 2525
            })
        );
        assert_eq!(g.smtp_connect_timeout, 12);
        assert_eq!(
            g.notification_email,
            ["a@example.com", "b@example.com", "c@example.com"]
        );
        assert_eq!(
            (g.smtp_alert, g.smtp_alert_vrrp, g.smtp_alert_checker),
            (Some(false), Some(true), Some(true))
        );
        assert_eq!(
            g.script_user,
            Some(ScriptUser {
                user: "nobody".into(),
                group: Some("nogroup".into())
            })
        );
        assert!(g.enable_script_security);
        assert_eq!(
            g.startup_script,
            Some(GlobalScript {
                script: "/usr/local/bin/start 'a b'".into(),
                user: Some(ScriptUser {
                    user: "root".into(),
                    group: Some("root".into())
                })
            })
        );
        assert_eq!(
            (g.startup_script_timeout, g.shutdown_script_timeout),
            (30, 40)
        );
        assert_eq!(
            g.notify_fifo,
            Some(NotifyFifo {
                name: "/run/ka.fifo".into(),
                user: Some(ScriptUser {
                    user: "nobody".into(),
                    group: None
                })
            })
        );
        assert_eq!(
            g.vrrp_notify_fifo_script
                .as_ref()
                .map(|s| s.script.as_str()),
            Some("/usr/local/bin/vfifo")
        );
        assert_eq!(g.vrrp_version, 3);
        assert_eq!(g.vrrp_mcast_group4.to_string(), "224.0.0.19");
        assert_eq!(g.vrrp_mcast_group6.to_string(), "ff02::13");
        assert_eq!(
            (
                g.vrrp_garp_master_delay,
                g.vrrp_garp_master_repeat,
                g.vrrp_garp_master_refresh,
                g.vrrp_garp_master_refresh_repeat
            ),
            (10, 3, 60, 2)
        );
        assert_eq!(g.vrrp_garp_interval, Some(Timer::from_millis(1)));
        assert_eq!(g.vrrp_gna_interval, Some(Timer::from_micros(2)));
        assert_eq!(
            g.vrrp_garp_extra_if,
            Some(GlobalGarpExtraIf {
                interval: 120,
                all: true
            })
        );
        assert_eq!(g.vrrp_startup_delay, Some(Timer::from_millis(5500)));
        assert!(g.dynamic_interfaces && g.dynamic_interfaces_allow_if_changes);
        assert_eq!(g.nftables.as_deref(), Some("ka_table"));
        assert_eq!(g.nftables_priority, -5);
        assert_eq!(g.nftables_ipvs.as_deref(), Some("keepalived_ipvs"));
        assert_eq!(
            (g.nftables_ipvs_priority, g.nftables_ipvs_start_fwmark),
            (3, 2000)
        );
        assert_eq!(
            g.lvs_timeouts,
            LvsTimeouts {
                tcp: Some(7200),
                tcpfin: Some(120),
                udp: Some(300)
            }
        );
        assert_eq!(g.lvs_flush_on_stop, Some(LvsFlushOnStop::Vs));
        assert_eq!(
            g.lvs_sync_daemon,
            Some(LvsSyncDaemon {
                interface: "eth1".into(),
                inst: Some("VI_1".into()),
                id: Some(9),
                maxlen: Some(1400),
                port: Some(8848),
                ttl: Some(2),
                group: Some("224.0.0.81".parse().unwrap()),
            })
        );
        assert_eq!(
            g.vrrp_process,
            ProcessScheduling {
                priority: Some(-10),
                no_swap: true,
                rt_priority: Some(50),
                cpu_affinity: vec![0, 1],
                rlimit_rttime: Some(10000),
            }
        );
        assert_eq!(g.checker_process.rlimit_rttime, Some(2));
        assert_eq!(g.bfd_process.rt_priority, Some(20));
        assert_eq!(g.max_auto_priority, Some(40));
        assert_eq!(g.min_auto_priority_delay, 500_000);
        assert_eq!(g.vrrp_netlink_monitor_rcv_bufs, Some(2_097_152));
        assert!(g.lvs_netlink_monitor_rcv_bufs_force);
        assert_eq!(
            g.vrrp_rx_bufs_policy,
            RxBufsPolicy {
                mtu: true,
                advert: false,
                size: None
            }
        );
        assert!(g.enable_snmp_vrrp && g.enable_snmp_rfcv2 && g.enable_snmp_rfcv3);
        assert_eq!(g.umask, Some(0o027));
        assert_eq!(g.reload_file.as_deref(), Some(""));
        assert_eq!(
            g.include_check.as_deref(),
            Some(&["read".to_owned(), "+match".into(), "-brace_match".into()][..])
        );
        assert_eq!(g.config_save_dir.as_deref(), Some("/tmp"));
    }

    #[test]
    fn toml_round_trip_is_lossless() {
        let l = load(MOST);
        let text = crate::config::to_toml(&l.config).unwrap();
        let back: Config = toml::from_str(&text).unwrap();
        assert_eq!(back, l.config, "{text}");
        // And every optional part set, including the ones MOST leaves alone.
        let mut g = l.config.global_defs.clone();
        g.vrrp_iptables = Some(vec![]);
        g.vrrp_rx_bufs_policy.size = Some(1);
        g.linkbeat_use_polling = true;
        g.lvs_sync_daemon = Some(LvsSyncDaemon {
            interface: "eth1".into(),
            group: Some("ff02::81".parse().unwrap()),
            ..Default::default()
        });
        let cfg = Config {
            global_defs: g,
            ..Default::default()
        };
        let text = crate::config::to_toml(&cfg).unwrap();
        let back: Config = toml::from_str(&text).unwrap();
        assert_eq!(back, cfg, "{text}");
    }

    #[test]
    fn defaults_are_keepalived_defaults() {
        let g = GlobalDefs::default();
        assert_eq!(g.vrrp_mcast_group4.to_string(), "224.0.0.18");
        assert_eq!(g.vrrp_mcast_group6.to_string(), "ff02::12");
        assert_eq!(
            (
                g.vrrp_version,
                g.vrrp_garp_master_delay,
                g.vrrp_garp_master_repeat,
                g.vrrp_garp_master_refresh,
                g.vrrp_garp_master_refresh_repeat,
                g.vrrp_down_timer_adverts,
            ),
            (2, 5, 5, 0, 1, 3)
        );
        assert_eq!(g.smtp_connect_timeout, 30);
        assert_eq!(g.nftables_priority, -1);
        assert_eq!(g.vrrp_rx_bufs_multiplier, 3);
        // An empty global_defs changes nothing and says nothing.
        let l = load("global_defs {\n}\n");
        assert_eq!(l.config.global_defs, g);
        assert!(l.diags.items.is_empty(), "{:?}", msgs(&l));
    }

    proptest::proptest! {
        /// Any global_defs keyword with any mix of odd arguments: no panic,
        /// and the model still round-trips through TOML.
        #[test]
        fn odd_arguments_never_panic(
            picks in proptest::collection::vec(
                (0usize..200, proptest::collection::vec(0usize..ODD.len(), 0..5)),
                1..6,
            )
        ) {
            let mut table = Vec::new();
            keywords(&mut table);
            let mut text = String::from("global_defs {\n");
            for (k, args) in &picks {
                text.push_str(table[k % table.len()].name);
                for a in args {
                    text.push(' ');
                    text.push_str(ODD[*a]);
                }
                text.push('\n');
            }
            text.push_str("}\n");
            let l = load(&text);
            let toml = crate::config::to_toml(&l.config).unwrap();
            let back: Config = toml::from_str(&toml).unwrap();
            proptest::prop_assert_eq!(back, l.config);
        }
    }

    const ODD: &[&str] = &[
        "0",
        "1",
        "-1",
        "x",
        "99999999999999999999",
        "4294967296",
        "1.0000005",
        ".5",
        "all",
        "inst",
        "id",
        "group",
        "port",
        "ttl",
        "maxlen",
        "VS",
        "MTU",
        "ADVERT",
        "ff02::1",
        "224.0.0.1",
        "10.0.0.1",
        "on",
        "off",
        "\"a b\"",
        "'q",
        "IWGRP|IWOTH",
        "|",
        "tcp",
        "udp",
        "allow_if_changes",
        "root",
        "éèà",
        "+read",
        "-match",
        "/tmp/",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    ];

    #[test]
    fn router_id_defaults_to_the_host_name() {
        let mut g = GlobalDefs::default();
        let host = nix::unistd::gethostname().unwrap().into_string().unwrap();
        assert_eq!(g.effective_router_id(), host);
        g.router_id = Some("LVS_1".into());
        assert_eq!(g.effective_router_id(), "LVS_1");
    }

    #[test]
    fn a_missing_argument_keepalived_reads_anyway_is_fatal() {
        // keepalived 2.2.7 exits (code 2) on these; others just report.
        let l = load(
            "global_defs {\n vrrp_version\n router_id\n lvs_sync_daemon eth0 inst\n}\nchild_wait_time\n",
        );
        let d = at(&l, "t.conf:2:2");
        assert_eq!(d.severity, Severity::Fatal);
        assert!(
            d.message.contains("missing parameter after 'vrrp_version'"),
            "{}",
            d.message
        );
        assert_eq!(at(&l, "t.conf:3:2").severity, Severity::Error);
        assert_eq!(
            at(&l, "t.conf:3:2").message,
            "router_id name missing - ignored"
        );
        let d = at(&l, "t.conf:4:2");
        assert_eq!(d.severity, Severity::Fatal);
        assert!(
            d.message
                .contains("missing parameter after 'inst' (word 4)"),
            "{}",
            d.message
        );
        assert_eq!(at(&l, "t.conf:6:1").severity, Severity::Fatal);
        assert_eq!(l.config.global_defs.lvs_sync_daemon, None);
    }

    #[test]
    fn bad_values_are_reported_and_keepalived_fallbacks_applied() {
        let l = load(concat!(
            "global_defs {\n",
            " vrrp_version 4\n",
            " vrrp_garp_master_repeat 0\n",
            " vrrp_mcast_group4 ff02::12\n",
            " vrrp_mcast_group6 ff05::12\n",
            " vrrp_down_timer_adverts 101\n",
            " smtp_alert On\n",
            " vrrp_garp_master_refresh x\n",
            " process_name a_very_long_process_name\n",
            " vrrp_garp_interval 0.0000015\n",
            " vrrp_rt_priority 200\n",
            " vrrp_priority 30\n",
            " vrrp_vmac_garp_intvl 5\n",
            "}\n"
        ));
        let g = &l.config.global_defs;
        assert_eq!(
            at(&l, "t.conf:2:15").message,
            "VRRP version '4' must be either 2 or 3 - ignored"
        );
        assert_eq!(g.vrrp_version, 2);
        assert_eq!(at(&l, "t.conf:3:26").severity, Severity::Error);
        assert_eq!(g.vrrp_garp_master_repeat, 1);
        assert!(at(&l, "t.conf:4:20").message.contains("is not IPv4"));
        assert_eq!(
            g.vrrp_mcast_group4,
            crate::config::model::DEFAULT_MCAST_GROUP4
        );
        // keepalived's CONFIG_WARNING fails -t, and the address is used.
        assert_eq!(at(&l, "t.conf:5:20").severity, Severity::Error);
        assert_eq!(g.vrrp_mcast_group6.to_string(), "ff05::12");
        assert!(at(&l, "t.conf:6:26")
            .message
            .contains("outside range [1, 100]"));
        assert_eq!(g.vrrp_down_timer_adverts, 3);
        // check_true_false is case-sensitive.
        assert!(at(&l, "t.conf:7:13")
            .message
            .starts_with("invalid value 'On'"));
        assert_eq!(g.smtp_alert, None);
        assert_eq!(g.vrrp_garp_master_refresh, 0);
        assert_eq!(g.process_name.as_deref(), Some("a_very_long_pro"));
        // Too many decimals: reported, rounded, used.
        assert!(at(&l, "t.conf:10:21")
            .message
            .contains("too many decimal places"));
        assert_eq!(g.vrrp_garp_interval, Some(Timer::from_micros(2)));
        assert!(at(&l, "t.conf:11:19")
            .message
            .contains("greater than maximum 99"));
        assert_eq!(g.vrrp_process.rt_priority, Some(99));
        // Out of [-20, 19]: keepalived sets 0.
        assert_eq!(g.vrrp_process.priority, Some(0));
        assert!(at(&l, "t.conf:13:2").message.contains("deprecated"));
        assert_eq!(
            g.vrrp_garp_extra_if,
            Some(GlobalGarpExtraIf {
                interval: 5,
                all: false
            })
        );
    }

    #[test]
    fn vrrp_min_garp_only_changes_what_is_still_default() {
        let l = load(
            "global_defs {\n vrrp_garp_master_repeat 3\n vrrp_min_garp\n vrrp_garp_master_delay 2\n}\n",
        );
        let g = &l.config.global_defs;
        assert!(g.vrrp_min_garp);
        assert_eq!(
            (
                g.vrrp_garp_master_repeat,
                g.vrrp_garp_master_refresh_repeat,
                g.vrrp_garp_master_delay
            ),
            (3, 0, 2)
        );
        let l = load("global_defs {\n vrrp_min_garp off\n}\n");
        assert_eq!(l.config.global_defs, GlobalDefs::default());
    }

    #[test]
    fn lvs_sync_daemon_forms() {
        let l = load("global_defs {\n lvs_sync_daemon eth0 VI_1 7 foo\n}\n");
        let d = l.config.global_defs.lvs_sync_daemon.clone().unwrap();
        assert_eq!((d.inst.as_deref(), d.id), (Some("VI_1"), Some(7)));
        assert!(at(&l, "t.conf:2:28")
            .message
            .contains("please use keyword \"id\""));
        assert!(at(&l, "t.conf:2:30").message.contains("unknown option foo"));
        let l = load(
            "global_defs {\n lvs_sync_daemon eth0 group 10.0.0.1 port 0 ttl\n lvs_sync_daemon eth1\n}\n",
        );
        let d = l.config.global_defs.lvs_sync_daemon.clone().unwrap();
        assert_eq!(
            d,
            LvsSyncDaemon {
                interface: "eth0".into(),
                ..Default::default()
            }
        );
        assert!(at(&l, "t.conf:2:29").message.contains("is not multicast"));
        assert!(at(&l, "t.conf:2:43")
            .message
            .contains("outside range [1, 65535]"));
        assert!(at(&l, "t.conf:2:45")
            .message
            .contains("no value specified for lvs_sync_daemon ttl"));
        assert!(at(&l, "t.conf:3:2")
            .message
            .contains("already been specified as eth0"));
        let l = load("global_defs {\n lvs_sync_daemon eth0_is_a_long_name inst VI_1\n}\n");
        assert!(at(&l, "t.conf:2:18").message.contains("too long"));
        assert_eq!(l.config.global_defs.lvs_sync_daemon, None);
    }

    #[test]
    fn umask_forms() {
        for (text, bits) in [
            ("022", Some(0o022)),
            ("0x12", Some(0o022)),
            ("18", Some(0o022)),
            ("IWGRP|IWOTH", Some(0o022)),
            ("IWGRP |IWOTH", Some(0o022)),
            ("0777", Some(0o777)),
            ("01000", None),
            ("IWGRP|", None),
            ("IWGRPIWOTH", None),
            ("IWXYZ", None),
            ("022 x", None),
        ] {
            let l = load(&format!("global_defs {{\n umask {text}\n}}\n"));
            assert_eq!(l.config.global_defs.umask, bits, "{text}: {:?}", msgs(&l));
            assert_eq!(
                l.diags.count(Severity::Error),
                usize::from(bits.is_none()),
                "{text}"
            );
        }
    }

    #[test]
    fn rx_bufs_policy_conflicts() {
        let l = load("global_defs {\n vrrp_rx_bufs_policy MTU ADVERT\n}\n");
        let p = &l.config.global_defs.vrrp_rx_bufs_policy;
        assert!(p.mtu && !p.advert && p.size.is_none());
        assert!(at(&l, "t.conf:2:2").message.contains("ignoring ADVERT"));
        // The size is read from the first argument (keepalived's quirk).
        let l = load("global_defs {\n vrrp_rx_bufs_policy 4096\n}\n");
        assert_eq!(l.config.global_defs.vrrp_rx_bufs_policy.size, Some(4096));
        let l = load("global_defs {\n vrrp_rx_bufs_policy MTU 4096\n}\n");
        assert!(at(&l, "t.conf:2:26")
            .message
            .contains("invalid vrrp_rx_bufs_policy 4096"));
    }

    #[test]
    fn notification_email_blocks() {
        let l = load(
            "global_defs {\n notification_email {\n }\n notification_email x {\n a@b\n }\n}\n",
        );
        let empty: Vec<&Diagnostic> = l
            .diags
            .items
            .iter()
            .filter(|d| d.message == "empty notification_email block")
            .collect();
        assert_eq!(empty.len(), 1, "{:?}", msgs(&l));
        assert_eq!(empty[0].severity, Severity::Error);
        assert!(at(&l, "t.conf:4:21").message.contains("extra parameters x"));
        assert_eq!(l.config.global_defs.notification_email, ["a@b"]);
    }

    #[test]
    fn top_level_options() {
        let l = load(
            "net_namespace a\nnet_namespace b\ninstance\nnet_namespace_ipvs x\nnet_namespace_ipvs y\nuse_pid_dir\n",
        );
        let g = &l.config.global_defs;
        assert_eq!(g.net_namespace.as_deref(), Some("a"));
        assert!(at(&l, "t.conf:2:15")
            .message
            .contains("duplicate net_namespace definition b"));
        assert_eq!(
            at(&l, "t.conf:3:1").message,
            "instance name missing - ignored"
        );
        assert_eq!(g.net_namespace_ipvs.as_deref(), Some("x"));
        assert!(at(&l, "t.conf:5:20").message.contains("duplicate"));
        assert!(g.use_pid_dir);
    }

    #[test]
    fn ipsets_are_unknown_as_in_debians_keepalived() {
        // Debian's keepalived 2.2.7 has no ipset support: vrrp_ipsets is unknown there.
        let l = load("global_defs {\n vrrp_ipsets a\n}\n");
        assert!(at(&l, "t.conf:2:2")
            .message
            .starts_with("unknown keyword 'vrrp_ipsets'"));
    }

    #[test]
    fn every_keepalived_global_defs_keyword_is_known() {
        // install_keyword() calls under global_defs in keepalived 2.2.7's
        // global_parser.c, less vrrp_ipsets (not built by Debian).
        const KEEPALIVED: &str = "process_names process_name vrrp_process_name \
            checker_process_name lvs_process_name bfd_process_name router_id \
            notification_email_from smtp_server smtp_helo_name smtp_connect_timeout \
            notification_email smtp_alert startup_script startup_script_timeout \
            shutdown_script shutdown_script_timeout max_auto_priority \
            min_auto_priority_delay smtp_alert_vrrp smtp_alert_checker \
            checker_log_all_failures dynamic_interfaces no_email_faults \
            default_interface disable_local_igmp lvs_timeouts lvs_flush \
            lvs_flush_on_stop lvs_flush_onstop lvs_sync_daemon vrrp_mcast_group4 \
            vrrp_mcast_group6 vrrp_garp_master_delay vrrp_garp_master_repeat \
            vrrp_garp_master_refresh vrrp_garp_master_refresh_repeat \
            vrrp_garp_lower_prio_delay vrrp_garp_lower_prio_repeat \
            vrrp_down_timer_adverts vrrp_garp_interval vrrp_gna_interval \
            vrrp_min_garp vrrp_garp_extra_if vrrp_vmac_garp_intvl \
            vrrp_lower_prio_no_advert vrrp_higher_prio_send_advert vrrp_version \
            vrrp_iptables nftables nftables_priority nftables_ifindex nftables_ipvs \
            nftables_ipvs_priority nftables_ipvs_start_fwmark nftables_counters \
            vrrp_check_unicast_src vrrp_skip_check_adv_addr vrrp_strict vrrp_priority \
            vrrp_no_swap vrrp_rt_priority vrrp_cpu_affinity vrrp_rlimit_rttime \
            vrrp_rlimit_rtime notify_fifo notify_fifo_script vrrp_notify_fifo \
            vrrp_notify_fifo_script vrrp_notify_priority_changes \
            fifo_write_vrrp_states_on_reload lvs_notify_fifo lvs_notify_fifo_script \
            checker_priority checker_no_swap checker_rt_priority checker_cpu_affinity \
            checker_rlimit_rttime checker_rlimit_rtime bfd_priority bfd_no_swap \
            bfd_rt_priority bfd_cpu_affinity bfd_rlimit_rttime bfd_rlimit_rtime \
            snmp_socket enable_traps enable_snmp_vrrp enable_snmp_keepalived \
            enable_snmp_rfc enable_snmp_rfcv2 enable_snmp_rfcv3 enable_snmp_checker \
            enable_dbus dbus_service_name script_user enable_script_security \
            vrrp_netlink_cmd_rcv_bufs vrrp_netlink_cmd_rcv_bufs_force \
            vrrp_netlink_monitor_rcv_bufs vrrp_netlink_monitor_rcv_bufs_force \
            process_monitor_rcv_bufs process_monitor_rcv_bufs_force \
            lvs_netlink_cmd_rcv_bufs lvs_netlink_cmd_rcv_bufs_force \
            lvs_netlink_monitor_rcv_bufs lvs_netlink_monitor_rcv_bufs_force \
            rs_init_notifies no_checker_emails vrrp_rx_bufs_policy \
            vrrp_rx_bufs_multiplier vrrp_startup_delay log_unknown_vrids vmac_prefix \
            vmac_addr_prefix umask random_seed reload_check_config reload_time_file \
            reload_repeat reload_file include_check config_save_dir \
            tmp_config_directory data_use_instance";
        let mut ours = Vec::new();
        keywords(&mut ours);
        let names: Vec<&str> = ours.iter().map(|k| k.name).collect();
        let theirs: Vec<&str> = KEEPALIVED.split_whitespace().collect();
        for k in &theirs {
            assert!(names.contains(k), "missing {k}");
        }
        for k in &names {
            assert!(theirs.contains(k), "extra {k}");
        }
        assert_eq!(names.len(), theirs.len(), "duplicates");
        assert!(ours.iter().all(|k| k.context == "global_defs"));
    }

    #[test]
    fn validate_checks_users_and_the_sync_daemon_instance() {
        let mut o = opts();
        o.build.check_host = true;
        let l = load_str(
            "t.conf",
            "global_defs {\n script_user no_such_user_here\n lvs_sync_daemon eth0 inst VI_9\n}\n",
            &o,
        );
        let here: Vec<&Diagnostic> = l
            .diags
            .items
            .iter()
            .filter(|d| {
                d.location
                    .as_ref()
                    .is_some_and(|x| x.to_string() == "t.conf:2:2")
            })
            .collect();
        assert_eq!(here.len(), 2, "{:?}", msgs(&l));
        assert_eq!(here[0].severity, Severity::Warning);
        assert_eq!(
            here[0].message,
            "script user 'no_such_user_here' does not exist"
        );
        assert_eq!(here[1].severity, Severity::Error);
        // keepalived -t does not report an unknown sync daemon instance.
        let d = at(&l, "t.conf:3:2");
        assert_eq!(d.severity, Severity::Warning);
        assert!(d.message.contains("unable to find vrrp instance VI_9"));
    }

    fn load_on_host(text: &str) -> Loaded {
        let mut o = opts();
        o.build.check_host = true;
        load_str("t.conf", text, &o)
    }

    #[test]
    fn startup_and_shutdown_scripts_are_checked_on_the_host() {
        // /usr/bin/true is root-owned under root-owned directories.
        let l = load_on_host("global_defs {\n startup_script /usr/bin/true\n}\n");
        assert!(l.diags.script_security_violation);
        assert_eq!(
            msgs(&l),
            [
                "t.conf:2:2: warning: 'startup_script': SECURITY VIOLATION - scripts are being \
              executed but script_security not enabled."
            ]
        );
        // With script security and root as the script user: nothing to say.
        let l = load_on_host(
            "global_defs {\n enable_script_security\n script_user root\n shutdown_script \"/usr/bin/true x\"\n}\n",
        );
        assert!(!l.diags.script_security_violation);
        assert!(l.diags.items.is_empty(), "{:?}", msgs(&l));
        // A missing file is logged, not a configuration error (it is no track script).
        let l = load_on_host(
            "global_defs {\n enable_script_security\n script_user root\n startup_script /nonexistent/s.sh\n}\n",
        );
        assert_eq!(l.diags.count(Severity::Error), 0, "{:?}", msgs(&l));
        assert_eq!(at(&l, "t.conf:4:2").severity, Severity::Warning);
    }

    #[test]
    fn notify_fifo_users_are_checked_on_the_host() {
        let l = load_on_host(
            "global_defs {\n script_user root\n notify_fifo /tmp/f no_such_user_here\n vrrp_notify_fifo_script /usr/bin/true no_such_user_here\n}\n",
        );
        let d = at(&l, "t.conf:3:2");
        assert_eq!(d.severity, Severity::Warning);
        assert_eq!(
            d.message,
            "script user 'no_such_user_here' does not exist: invalid user/group for notify_fifo /tmp/f - ignored"
        );
        // The script is not used (no vrrp_instance) but its user is resolved
        // while reading, as keepalived does: logged only.
        let here: Vec<&Diagnostic> = l
            .diags
            .items
            .iter()
            .filter(|d| {
                d.location
                    .as_ref()
                    .is_some_and(|x| x.to_string() == "t.conf:4:2")
            })
            .collect();
        assert_eq!(here.len(), 2, "{:?}", msgs(&l));
        assert!(here.iter().all(|d| d.severity == Severity::Warning));
        assert!(!l.diags.script_security_violation);
    }

    #[test]
    fn a_namespace_that_does_not_exist_is_reported() {
        let l = load_on_host("net_namespace no_such_netns_here\n");
        let d = at(&l, "t.conf:1:1");
        assert_eq!(d.severity, Severity::Warning);
        assert!(d
            .message
            .starts_with("network namespace no_such_netns_here does not exist"));
    }

    #[test]
    fn toml_values_keepalived_conf_cannot_produce_are_rejected() {
        let mut cfg = Config::default();
        cfg.global_defs.vrrp_version = 4;
        cfg.global_defs.vrrp_mcast_group4 = "10.0.0.1".parse().unwrap();
        let mut diags = crate::config::diag::Diagnostics::new();
        let mut cx = Cx::new(
            &mut diags,
            crate::config::build::BuildOptions { check_host: false },
        );
        validate(&cfg, &mut cx);
        let m: Vec<String> = diags.items.iter().map(|d| d.to_string()).collect();
        assert_eq!(
            m,
            [
                "error: 'vrrp_version': VRRP version 4 must be either 2 or 3",
                "error: 'vrrp_mcast_group4': 10.0.0.1 is not an IPv4 multicast address",
            ]
        );
    }
}
