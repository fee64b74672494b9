//! VRRP blocks: vrrp_script, track_file, vrrp_track_process, vrrp_sync_group,
//! vrrp_instance, static_*, track_group, garp_group, linkbeat_interfaces,
//! interface_up_down_delays, bfd_instance.
use super::{collect, Cx, Keyword, KeywordInfo, Kind::*, Support::*};
use crate::config::ast::Node;
use crate::config::model::{Config, ScriptUser, VrrpScript};
use crate::config::values::Timer;

// ===== vrrp_script =====

pub fn apply_vrrp_script(cfg: &mut Config, node: &Node, cx: &mut Cx) {
    let Some(name) = cx.need(node, 0) else { return };
    cx.no_more_args(node, 1);
    let mut s = VrrpScript {
        name: name.to_owned(),
        ..Default::default()
    };
    cx.remember(format!("vrrp_script.{name}"), node);
    cx.apply_block(&mut s, "vrrp_script", node.children(), VRRP_SCRIPT);
    if s.script.is_empty() {
        cx.error(
            node,
            0,
            format!("vrrp_script {name} has no script - ignored"),
        );
        return;
    }
    cfg.vrrp_script.push(s);
}

static VRRP_SCRIPT: &[Keyword<VrrpScript>] = &[
    Keyword::new("script", Leaf, Full, |s, n, cx| {
        if let Some(cmd) = command_line(n, cx) {
            s.script = cmd;
        }
    }),
    Keyword::new("interval", Leaf, Full, |s, n, cx| {
        if let Some(t) = cx.timer(
            n,
            0,
            Timer::from_micros(1),
            Timer::from_secs(u32::MAX as u64),
        ) {
            s.interval = t;
        }
    }),
    Keyword::new("timeout", Leaf, Full, |s, n, cx| {
        if let Some(t) = cx.timer(
            n,
            0,
            Timer::from_micros(1),
            Timer::from_secs(u32::MAX as u64),
        ) {
            s.timeout = Some(t);
        }
    }),
    Keyword::new("weight", Leaf, Full, |s, n, cx| {
        if let Some(w) = cx.int(n, 0, -253, 253) {
            s.weight = w as i32;
        }
        match n.arg_str(1) {
            None => {}
            Some("reverse") => s.weight_reverse = true,
            Some("noreverse") => s.weight_reverse = false,
            Some(other) => cx.error(n, 1, format!("unknown weight option '{other}'")),
        }
    }),
    Keyword::new("rise", Leaf, Full, |s, n, cx| {
        if let Some(v) = cx.uint(n, 0, 1, u32::MAX as u64) {
            s.rise = v as u32;
        }
    }),
    Keyword::new("fall", Leaf, Full, |s, n, cx| {
        if let Some(v) = cx.uint(n, 0, 1, u32::MAX as u64) {
            s.fall = v as u32;
        }
    }),
    Keyword::new("user", Leaf, Full, |s, n, cx| {
        s.user = script_user(n, cx);
    }),
    Keyword::new("init_fail", Leaf, Full, |s, n, cx| {
        cx.no_more_args(n, 0);
        s.init_fail = true;
    }),
];

/// A command line argument: one (possibly quoted) word is the whole command
/// line; several words are kept as written, quotes and all, and split with
/// [`crate::config::ast::split_command`] when run.
pub fn command_line(n: &Node, cx: &mut Cx) -> Option<String> {
    cx.need(n, 0)?;
    if n.args.len() == 1 {
        Some(n.args[0].text.clone())
    } else {
        Some(n.raw_args.clone())
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

pub fn apply_track_file(_cfg: &mut Config, _node: &Node, _cx: &mut Cx) {}
pub fn apply_track_process(_cfg: &mut Config, _node: &Node, _cx: &mut Cx) {}
pub fn apply_sync_group(_cfg: &mut Config, _node: &Node, _cx: &mut Cx) {}
pub fn apply_vrrp_instance(_cfg: &mut Config, _node: &Node, _cx: &mut Cx) {}
pub fn apply_static_ipaddress(_cfg: &mut Config, _node: &Node, _cx: &mut Cx) {}
pub fn apply_static_routes(_cfg: &mut Config, _node: &Node, _cx: &mut Cx) {}
pub fn apply_static_rules(_cfg: &mut Config, _node: &Node, _cx: &mut Cx) {}
pub fn apply_track_group(_cfg: &mut Config, _node: &Node, _cx: &mut Cx) {}
pub fn apply_garp_group(_cfg: &mut Config, _node: &Node, _cx: &mut Cx) {}
pub fn apply_linkbeat_interfaces(_cfg: &mut Config, _node: &Node, _cx: &mut Cx) {}
pub fn apply_interface_up_down_delays(_cfg: &mut Config, _node: &Node, _cx: &mut Cx) {}
pub fn apply_bfd_instance(_cfg: &mut Config, _node: &Node, _cx: &mut Cx) {}

/// Keywords of the blocks below the VRRP top-level blocks.
pub fn keywords(out: &mut Vec<KeywordInfo>) {
    collect("vrrp_script", VRRP_SCRIPT, out);
}

/// Checks that need the whole configuration.
pub fn validate(_cfg: &Config, _cx: &mut Cx) {}

#[cfg(test)]
mod tests {
    use crate::config::{load_str, LoadOptions};

    fn opts() -> LoadOptions {
        let mut o = LoadOptions::default();
        o.preprocess.allow_includes = false;
        o.build.check_host = false;
        o
    }

    #[test]
    fn vrrp_script_parses_with_defaults_and_errors() {
        let l = load_str(
            "t.conf",
            "vrrp_script chk {\n script \"/usr/bin/killall -0 nginx\"\n interval 2\n weight -20\n fall 3\n}\nvrrp_script bad {\n interval 0.5\n rise 0\n}\n",
            &opts(),
        );
        assert_eq!(l.config.vrrp_script.len(), 1);
        let s = &l.config.vrrp_script[0];
        assert_eq!(s.script, "/usr/bin/killall -0 nginx");
        assert_eq!(s.interval, Timer::from_secs(2));
        assert_eq!((s.weight, s.rise, s.fall), (-20, 1, 3));
        let msgs: Vec<String> = l.diags.items.iter().map(|d| d.to_string()).collect();
        assert!(
            msgs.iter()
                .any(|m| m.contains("t.conf:9:7") && m.contains("outside range")),
            "{msgs:?}"
        );
        assert!(
            msgs.iter()
                .any(|m| m.contains("t.conf:7:13") && m.contains("has no script")),
            "{msgs:?}"
        );
    }
    use crate::config::values::Timer;
}
