//! Unit tests of the VRRP blocks: values, defaults and synonyms per context,
//! keepalived's diagnostics at exact file:line:column, the whole-config
//! checks, the TOML round trip and the corpus.
use crate::config::diag::Severity;
use crate::config::model::*;
use crate::config::values::{IpPrefix, Timer};
use crate::config::{load_file, load_str, LoadOptions, Loaded};

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

/// Assert a diagnostic at `at` ("t.conf:L:C: severity") containing `text`.
#[track_caller]
fn expect(l: &Loaded, at: &str, text: &str) {
    let m = msgs(l);
    assert!(
        m.iter().any(|d| d.starts_with(at) && d.contains(text)),
        "no '{at}' ... '{text}' in {m:#?}"
    );
}

#[track_caller]
fn expect_none(l: &Loaded, text: &str) {
    let m = msgs(l);
    assert!(
        !m.iter().any(|d| d.contains(text)),
        "unexpected '{text}' in {m:#?}"
    );
}

fn inst<'a>(l: &'a Loaded, name: &str) -> &'a VrrpInstance {
    l.config
        .vrrp_instance
        .iter()
        .find(|i| i.name == name)
        .expect("instance")
}

/// A minimal valid instance body around `extra`.
fn one(extra: &str) -> String {
    format!("vrrp_instance VI {{\n interface eth0\n virtual_router_id 7\n{extra}\n virtual_ipaddress {{\n  10.0.0.1\n }}\n}}\n")
}

// ===== vrrp_script =====

#[test]
fn vrrp_script_values_and_keepalived_errors() {
    let l = load(
        "vrrp_script chk {\n script \"/usr/bin/killall -0 nginx\"\n interval 2\n weight -20 reverse\n fall 3\n timeout 0\n user nobody nogroup\n init_fail\n}\nvrrp_script bad {\n interval 0.5\n rise 0\n weight 300\n}\n",
    );
    assert_eq!(l.config.vrrp_script.len(), 1);
    let s = &l.config.vrrp_script[0];
    assert_eq!(s.script, "/usr/bin/killall -0 nginx");
    assert_eq!(s.interval, Timer::from_secs(2));
    assert_eq!(
        (s.weight, s.weight_reverse, s.rise, s.fall),
        (-20, true, 1, 3)
    );
    assert_eq!(s.timeout, Some(Timer::from_secs(1)));
    assert_eq!(s.user.as_ref().map(|u| u.user.as_str()), Some("nobody"));
    assert!(s.init_fail);
    expect(
        &l,
        "t.conf:6:10: error",
        "timeout must be greater than 0, setting to 1",
    );
    expect(&l, "t.conf:11:11: error", "invalid number '0.5'");
    expect(
        &l,
        "t.conf:12:7: error",
        "number '0' outside range [1, 2147483647]",
    );
    expect(
        &l,
        "t.conf:13:9: error",
        "vrrp_script bad weight 300 must be in [-253, 253]",
    );
    expect(
        &l,
        "t.conf:14:1: error",
        "No script set for vrrp_script bad - removing",
    );
}

#[test]
fn vrrp_script_unquoted_command_uses_first_word_like_keepalived() {
    let l = load("vrrp_script chk {\n script /bin/check a b\n}\n");
    assert_eq!(l.config.vrrp_script[0].script, "/bin/check");
    expect(
        &l,
        "t.conf:2:20: warning",
        "uses only the first word '/bin/check'",
    );
}

#[test]
fn vrrp_script_without_name_is_fatal() {
    let l = load("vrrp_script {\n script /bin/true\n}\n");
    expect(
        &l,
        "t.conf:1:1: fatal",
        "missing a parameter after 'vrrp_script'",
    );
}

// ===== track_file / vrrp_track_process =====

#[test]
fn track_file_values_synonym_and_errors() {
    let l = load(
        "vrrp_track_file tf {\n file /run/x\n weight -5 reverse\n init_file 7 overwrite\n}\ntrack_file nofile {\n weight 2\n}\ntrack_file tf2 {\n file /a\n file /b\n weight 300\n init_file 999 bogus\n}\n",
    );
    assert_eq!(l.config.track_file.len(), 2);
    let f = &l.config.track_file[0];
    assert_eq!((f.name.as_str(), f.file.as_str()), ("tf", "/run/x"));
    assert_eq!((f.weight, f.weight_reverse), (-5, true));
    assert_eq!(
        f.init_file,
        Some(TrackFileInit {
            value: 7,
            overwrite: true
        })
    );
    let g = &l.config.track_file[1];
    assert_eq!((g.file.as_str(), g.weight), ("/a", 1));
    expect(
        &l,
        "t.conf:1:1: warning",
        "\"vrrp_track_file\" is deprecated",
    );
    expect(
        &l,
        "t.conf:8:1: error",
        "No file set for track_file nofile - ignoring",
    );
    expect(
        &l,
        "t.conf:11:7: error",
        "File already set for track file tf2 - ignoring /b",
    );
    expect(
        &l,
        "t.conf:12:9: error",
        "Weight (300) for track_file tf2 must be between [-254..254]",
    );
    expect(
        &l,
        "t.conf:13:12: error",
        "init value 999 is outside sensible range [-254, 254]",
    );
    expect(
        &l,
        "t.conf:13:16: error",
        "Unknown track file init option bogus",
    );
}

#[test]
fn track_process_values_and_errors() {
    let l = load(
        "vrrp_track_process tp {\n process nginx -g daemon\n weight 10 reverse\n quorum 2\n quorum_max 3\n delay 1.5\n fork_delay 0.25\n param_match partial\n}\nvrrp_track_process none {\n weight 5\n}\nvrrp_track_process q {\n process x\n quorum_max 2\n quorum 3\n}\n",
    );
    assert_eq!(l.config.vrrp_track_process.len(), 2);
    let p = &l.config.vrrp_track_process[0];
    assert_eq!(p.process, "nginx");
    assert_eq!(p.process_params, vec!["-g", "daemon"]);
    assert_eq!(p.param_match, ParamMatch::Partial);
    assert!(p.full_command);
    assert_eq!(
        (p.weight, p.weight_reverse, p.quorum, p.quorum_max),
        (10, true, 2, Some(3))
    );
    assert_eq!(p.terminate_delay, Some(Timer::from_millis(1500)));
    assert_eq!(p.fork_delay, Some(Timer::from_millis(250)));
    expect(
        &l,
        "t.conf:10:20: error",
        "track process 'none' process name not specified",
    );
    expect(
        &l,
        "t.conf:16:9: error",
        "Quorum is greater than quorum_max - ignoring",
    );
}

// ===== vrrp_instance: values =====

#[test]
fn instance_values_defaults_and_synonyms() {
    let l = load(
        "vrrp_script s1 {\n script /bin/true\n weight 5\n}\nvrrp_instance VI {\n state BACKUP\n interface eth0\n virtual_router_id 51\n priority 150\n advert_int 2\n nopreempt\n preempt_delay 10.5\n no_accept\n dont_track_primary\n mcast_src_ip 10.0.0.9\n unicast_src_ip 10.0.0.10\n unicast_peer {\n  10.0.0.11 min_ttl 2 max_ttl 9\n }\n unicast_ttl 5\n authentication {\n  auth_type PASS\n  auth_pass secret\n }\n track_script {\n  s1 weight -3 noreverse\n }\n track_interface {\n  eth1 weight 10 reverse\n }\n notify_master \"/bin/n master\" root wheel\n notify_deleted\n garp_master_delay 3\n garp_master_refresh 60\n garp_lower_prio_repeat 2\n down_timer_adverts 4\n lower_prio_no_advert\n strict_mode off\n debug 2\n virtual_ipaddress {\n  10.0.0.1/24 brd + dev eth0 scope link label eth0:1\n }\n virtual_ipaddress_excluded {\n  2001:db8::1/64 nodad\n  2001:db8::2 -nodad preferred_lft forever\n }\n}\n",
    );
    let i = inst(&l, "VI");
    assert_eq!(i.state, Some(InitialState::Backup));
    assert_eq!(i.interface.as_deref(), Some("eth0"));
    assert_eq!((i.virtual_router_id, i.priority), (Some(51), Some(150)));
    assert_eq!(i.advert_int, Some(Timer::from_secs(2)));
    assert!(i.nopreempt && i.dont_track_primary);
    assert_eq!(i.preempt_delay, Timer::from_millis(10_500));
    assert_eq!(i.accept, Some(false));
    // Both source keywords set the one address; the last wins and stays unicast.
    assert_eq!(
        (i.mcast_src_ip, i.unicast_src_ip),
        (None, "10.0.0.10".parse().ok())
    );
    let peers = i.unicast_peer.as_ref().expect("peers");
    assert_eq!((peers[0].min_ttl, peers[0].max_ttl), (2, 9));
    assert!(
        i.check_unicast_src,
        "min_ttl/max_ttl turn on source checking"
    );
    assert!(i.is_unicast());
    assert_eq!(i.unicast_ttl, Some(5));
    let a = i.authentication.as_ref().expect("auth");
    assert_eq!(
        (a.auth_type, a.auth_pass.as_deref()),
        (Some(AuthType::Pass), Some("secret"))
    );
    assert_eq!(
        i.track_script,
        vec![TrackedRef {
            name: "s1".into(),
            weight: Some(-3),
            weight_reverse: Some(false)
        }]
    );
    assert_eq!(
        i.track_interface,
        vec![TrackedInterface {
            name: "eth1".into(),
            weight: 10,
            weight_reverse: true
        }]
    );
    let n = i.notify_master.as_ref().expect("notify");
    assert_eq!(n.command, "/bin/n master");
    assert_eq!(
        n.user,
        Some(ScriptUser {
            user: "root".into(),
            group: Some("wheel".into())
        })
    );
    assert_eq!(i.notify_deleted, Some(NotifyScript::default()));
    assert_eq!(i.garp_master_delay, Some(Timer::from_secs(3)));
    assert_eq!(i.garp_master_refresh, Some(Timer::from_secs(60)));
    assert_eq!(
        (i.garp_lower_prio_repeat, i.down_timer_adverts),
        (Some(2), Some(4))
    );
    assert_eq!(
        (i.lower_prio_no_advert, i.strict_mode, i.debug),
        (Some(true), Some(false), 2)
    );
    let v = &i.virtual_ipaddress[0];
    assert_eq!(v.address, "10.0.0.1/24".parse::<IpPrefix>().unwrap());
    assert_eq!(v.broadcast, Some(Broadcast::Plus));
    assert_eq!(v.broadcast_address(), "10.0.0.255".parse().ok());
    assert_eq!(
        (v.dev.as_deref(), v.scope, v.label.as_deref()),
        (Some("eth0"), Some(RtScope(253)), Some("eth0:1"))
    );
    // "nodad" is not a keepalived word (only "-nodad" is).
    assert_eq!(i.virtual_ipaddress_excluded.len(), 2);
    assert!(!i.virtual_ipaddress_excluded[0].nodad);
    expect(
        &l,
        "t.conf:44:18: error",
        "Unknown configuration entry 'nodad' for ip address - ignoring",
    );
    // keepalived's own completion check: the delay cannot apply with nopreempt.
    expect(
        &l,
        "t.conf:12:2: error",
        "(VI) preempt_delay is incompatible with nopreempt mode - resetting",
    );
    let e = &i.virtual_ipaddress_excluded[1];
    assert!(e.nodad);
    assert_eq!(e.preferred_lft, Some(u32::MAX));
    // Derived values.
    assert_eq!(i.family(), Family::Inet);
    assert_eq!(i.effective_state(), InitialState::Backup);
    assert_eq!(i.effective_version(2, false), 2);
}

#[test]
fn instance_defaults_derive_like_keepalived() {
    let l = load(&one(" state MASTER"));
    let i = inst(&l, "VI");
    assert_eq!(i.priority, None);
    assert_eq!(i.effective_priority(), 255);
    assert_eq!(i.effective_state(), InitialState::Master);
    let j = VrrpInstance {
        priority: Some(255),
        ..Default::default()
    };
    assert_eq!(j.effective_state(), InitialState::Master);
    assert_eq!(VrrpInstance::default().effective_priority(), 100);
    assert_eq!(
        VrrpInstance::default().effective_advert_int(2),
        Timer::from_secs(1)
    );
    let half = VrrpInstance {
        advert_int: Some(Timer::from_millis(500)),
        ..Default::default()
    };
    // keepalived rounds 0.5 s to 1 s under VRRPv2, keeps it under v3.
    assert_eq!(half.effective_advert_int(2), Timer::from_secs(1));
    assert_eq!(half.effective_advert_int(3), Timer::from_millis(500));
    let long = VrrpInstance {
        advert_int: Some(Timer::from_secs(41)),
        ..Default::default()
    };
    assert_eq!(long.effective_advert_int(3), Timer::from_millis(40_950));
}

#[test]
fn instance_value_errors_at_their_words() {
    let l = load(&one(
        " priority 300\n advert_int 0\n state master\n version 4\n preempt_delay 2000\n auth_x\n authentication {\n  auth_type AH\n  auth_pass 123456789\n }",
    ));
    let i = inst(&l, "VI");
    expect(&l, "t.conf:4:11: error", "number '300' outside range [1, 255]; (VI) Priority not valid! must be between 1 & 255. Using default 100");
    assert_eq!(i.priority, Some(100));
    expect(
        &l,
        "t.conf:5:13: error",
        "(VI) Advert interval (0) not valid! Must be > 0 - ignoring",
    );
    assert_eq!(i.advert_int, None);
    expect(
        &l,
        "t.conf:6:8: error",
        "(VI) unknown state 'master', defaulting to BACKUP",
    );
    assert_eq!(i.state, Some(InitialState::Backup));
    expect(
        &l,
        "t.conf:7:10: error",
        "(VI): Version must be either 2 or 3",
    );
    expect(
        &l,
        "t.conf:8:16: error",
        "(VI) Preempt_delay not valid! must be between 0-1000",
    );
    expect(
        &l,
        "t.conf:9:2: error",
        "unknown keyword 'auth_x' in vrrp_instance - ignored",
    );
    expect(
        &l,
        "t.conf:11:13: error",
        "auth_type AH (IPsec AH) is not implemented",
    );
    expect(
        &l,
        "t.conf:12:13: error",
        "Truncating auth_pass to 8 characters",
    );
    let a = i.authentication.as_ref().expect("auth");
    assert_eq!(a.auth_pass.as_deref(), Some("12345678"));
    assert_eq!(a.auth_type, Some(AuthType::Ah));
}

#[test]
fn vrid_out_of_range_and_missing() {
    let l = load("vrrp_instance VI {\n interface eth0\n virtual_router_id 300\n virtual_ipaddress {\n  10.0.0.1\n }\n}\n");
    expect(
        &l,
        "t.conf:3:20: error",
        "(VI): VRID '300' not valid - must be between 1 & 255",
    );
    expect(
        &l,
        "t.conf:1:1: error",
        "(VI) the virtual router id must be set",
    );
    assert_eq!(inst(&l, "VI").virtual_router_id, None);
}

#[test]
fn missing_parameter_is_fatal_like_keepalived() {
    let l = load(&one(" priority"));
    expect(
        &l,
        "t.conf:4:2: fatal",
        "missing a parameter after 'priority' at word position 2",
    );
    let l = load(&one(" notify_master"));
    expect(
        &l,
        "t.conf:4:2: fatal",
        "missing a parameter after 'notify_master'",
    );
    // kernel_rx_buf_size checks its word count first: an error, not fatal.
    let l = load(&one(" kernel_rx_buf_size"));
    expect(
        &l,
        "t.conf:4:2: error",
        "(VI) invalid kernel_rx_buf_size specified",
    );
    // A route word that needs a value.
    let l = load(&one(" virtual_routes {\n  10.1.0.0/16 via\n }"));
    expect(
        &l,
        "t.conf:5:15: fatal",
        "missing a parameter after 'via' at word position 3",
    );
}

#[test]
fn vip_of_other_family_is_dropped() {
    // The first address fixes the family; later ones of the other family go.
    let l = load(&one(" virtual_ipaddress {\n  fe80::1\n }"));
    expect(
        &l,
        "t.conf:8:3: error",
        "(VI): address family must match VRRP instance [10.0.0.1] - ignoring",
    );
    let i = inst(&l, "VI");
    assert_eq!(i.virtual_ipaddress.len(), 1);
    assert_eq!(i.family(), Family::Inet6);
    // Excluded addresses may be of either family.
    let l = load(&one(" virtual_ipaddress_excluded {\n  fe80::1\n }"));
    expect_none(&l, "address family");
    // The family can be fixed before the VIPs, by a peer.
    let l = load(&one(" unicast_peer {\n  fe80::2\n }"));
    expect(
        &l,
        "t.conf:8:3: error",
        "address family must match VRRP instance [10.0.0.1]",
    );
    assert!(inst(&l, "VI").virtual_ipaddress.is_empty());
}

#[test]
fn track_references_resolve_in_reading_order() {
    let l = load(
        "vrrp_instance VI {\n interface eth0\n virtual_router_id 7\n track_script {\n  later\n }\n virtual_ipaddress {\n  10.0.0.1\n }\n}\nvrrp_script later {\n script /bin/true\n}\n",
    );
    expect(
        &l,
        "t.conf:5:3: error",
        "(VI) track script later not found, ignoring...",
    );
    assert!(inst(&l, "VI").track_script.is_empty());
    let l = load(&one(
        " track_file {\n  nofile\n }\n track_process {\n  noproc\n }",
    ));
    expect(
        &l,
        "t.conf:5:3: error",
        "(VI) track file nofile not found, ignoring...",
    );
    expect(
        &l,
        "t.conf:8:3: error",
        "(VI) track process noproc not found, ignoring...",
    );
}

#[test]
fn unicast_keyword_without_peers_is_deprecated() {
    let l = load(&one(" unicast_src_ip 10.0.0.2"));
    expect(
        &l,
        "t.conf:4:2: error",
        "(VI) A unicast keyword has been specified without any unicast peers. Defaulting to multicast.",
    );
    let l = load(&one(" unicast_fault_no_peer"));
    expect(
        &l,
        "t.conf:4:2: warning",
        "(VI) Cannot use unicast without any peers - going to fault state",
    );
    let l = load(&one(" unicast_ttl 4"));
    expect(
        &l,
        "t.conf:8:1: error",
        "(VI): Cannot use unicast_ttl without unicast peers - resetting",
    );
}

#[test]
fn nopreempt_with_master_and_owner() {
    let l = load(&one(
        " state MASTER\n priority 200\n nopreempt\n preempt_delay 5",
    ));
    expect(
        &l,
        "t.conf:6:2: error",
        "(VI) Warning - nopreempt will not work with initial state MASTER - clearing",
    );
    expect(
        &l,
        "t.conf:7:2: error",
        "(VI) Warning - preempt delay will not work with initial state MASTER - clearing",
    );
    let l = load(&one(" priority 255\n nopreempt"));
    expect(
        &l,
        "t.conf:5:2: error",
        "(VI) nopreempt is incompatible with priority 255. resetting nopreempt",
    );
}

#[test]
fn advert_int_per_version() {
    let l = load(&one(" advert_int 0.5"));
    expect(
        &l,
        "t.conf:4:2: error",
        "(VI) VRRPv2 advertisement interval 0.500000s must be an integer. rounding",
    );
    let l = load(&one(" version 3\n advert_int 0.015"));
    expect(
        &l,
        "t.conf:5:2: error",
        "must be in units of 10ms - rounding",
    );
    let l = load(&one(" version 3\n advert_int 0.5"));
    expect_none(&l, "advertisement interval");
}

#[test]
fn strict_mode_checks() {
    let l = load(&one(
        " strict_mode\n state MASTER\n priority 100\n authentication {\n  auth_type PASS\n  auth_pass x\n }\n accept",
    ));
    expect(
        &l,
        "t.conf:5:2: error",
        "(VI) State MASTER must match being address owner",
    );
    expect(
        &l,
        "t.conf:7:2: error",
        "(VI) Strict mode does not support authentication. Ignoring.",
    );
    expect(
        &l,
        "t.conf:11:2: error",
        "(VI) warning - accept mode for VRRP version 2 does not comply with RFC3768 - resetting",
    );
}

#[test]
fn v3_needs_a_vip_and_no_auth() {
    let l = load("vrrp_instance VI {\n interface eth0\n virtual_router_id 7\n version 3\n}\n");
    expect(
        &l,
        "t.conf:1:1: error",
        "(VI) No VIP specified; at least one is required",
    );
    let l = load("vrrp_instance VI {\n interface eth0\n virtual_router_id 7\n}\n");
    expect(
        &l,
        "t.conf:1:1: error",
        "(VI) No VIP specified; at least one is sensible",
    );
    let l = load(&one(
        " version 3\n authentication {\n  auth_type PASS\n  auth_pass x\n }",
    ));
    expect(
        &l,
        "t.conf:5:2: error",
        "(VI) VRRP version 3 does not support authentication. Ignoring.",
    );
}

#[test]
fn no_interface_is_unknown_interface() {
    let l =
        load("vrrp_instance VI {\n virtual_router_id 7\n virtual_ipaddress {\n  10.0.0.1\n }\n}\n");
    expect(&l, "t.conf:1:1: error", "(VI) Unknown interface!");
}

#[test]
fn duplicate_vrid_same_interface_and_family() {
    let text = "vrrp_instance A {\n interface eth0\n virtual_router_id 9\n virtual_ipaddress {\n  10.0.0.1\n }\n}\nvrrp_instance B {\n interface eth0\n virtual_router_id 9\n virtual_ipaddress {\n  10.0.0.2\n }\n}\n";
    let l = load(text);
    expect(
        &l,
        "t.conf:10:2: error",
        "A and B both use VRID 9 with IPv4 on interface eth0",
    );
    // Another family, another interface or another multicast group: no conflict.
    for other in [
        text.replace("10.0.0.2", "fe80::2"),
        text.replacen("eth0", "eth1", 2).replacen("eth1", "eth0", 1),
        text.replace(
            " virtual_router_id 9\n virtual_ipaddress {\n  10.0.0.2",
            " mcast_dst_ip 224.0.0.19\n virtual_router_id 9\n virtual_ipaddress {\n  10.0.0.2",
        ),
    ] {
        expect_none(&load(&other), "both use VRID");
    }
}

#[test]
fn duplicate_vrid_unicast_needs_same_source_and_a_common_peer() {
    let inst = |name: &str, peer: &str| {
        format!("vrrp_instance {name} {{\n interface eth0\n virtual_router_id 9\n unicast_src_ip 10.0.0.5\n unicast_peer {{\n  {peer}\n }}\n virtual_ipaddress {{\n  10.0.0.1\n }}\n}}\n")
    };
    let l = load(&(inst("A", "10.0.0.6") + &inst("B", "10.0.0.6")));
    expect(
        &l,
        "t.conf:3:2: error",
        "(A) duplicate VRID conflict with B VRID 9",
    );
    let l = load(&(inst("A", "10.0.0.6") + &inst("B", "10.0.0.7")));
    expect_none(&l, "duplicate VRID");
}

#[test]
fn sync_group_checks() {
    let l = load(
        "vrrp_script s {\n script /bin/true\n weight 4\n}\nvrrp_instance A {\n interface eth0\n virtual_router_id 1\n track_script {\n  s\n }\n virtual_ipaddress {\n  10.0.0.1\n }\n}\nvrrp_instance B {\n interface eth0\n virtual_router_id 2\n priority 255\n virtual_ipaddress {\n  10.0.0.2\n }\n}\nvrrp_sync_group G {\n group {\n  A B\n  NOPE\n }\n track_interface {\n  eth1 weight 5\n }\n}\nvrrp_sync_group H {\n group {\n  B\n }\n}\nvrrp_sync_group E {\n}\n",
    );
    let g = &l.config.vrrp_sync_group[0];
    assert_eq!(g.group, vec!["A", "B", "NOPE"]);
    expect(
        &l,
        "t.conf:26:3: error",
        "Virtual router NOPE specified in sync group G doesn't exist - ignoring",
    );
    expect(
        &l,
        "t.conf:34:3: error",
        "Virtual router B cannot exist in more than one sync group; ignoring H",
    );
    expect(
        &l,
        "t.conf:32:1: error",
        "Sync group H, no matching virtual router found in group declaration - removing",
    );
    expect(
        &l,
        "t.conf:37:1: error",
        "Sync group E has no virtual router(s). removing",
    );
    expect(
        &l,
        "t.conf:9:3: error",
        "(A) ignoring tracked script s with weights due to SYNC group",
    );
    expect(
        &l,
        "t.conf:29:3: error",
        "(G) Cannot have weighted track interface 'eth1' with member having priority 255 - clearing weight",
    );
}

#[test]
fn sync_group_and_member_tracking_the_same_interface() {
    let l = load(
        "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n track_interface {\n  eth1\n }\n virtual_ipaddress {\n  10.0.0.1\n }\n}\nvrrp_instance B {\n interface eth2\n dont_track_primary\n virtual_router_id 2\n virtual_ipaddress {\n  10.0.0.2\n }\n}\nvrrp_sync_group G {\n group {\n  A B\n }\n track_interface {\n  eth1\n  eth2\n  eth0\n }\n}\n",
    );
    expect(
        &l,
        "t.conf:24:3: error",
        "(A) track_interface eth1 is configured on VRRP instance and sync group. Remove vrrp instance or sync group config",
    );
    expect(
        &l,
        "t.conf:26:3: error",
        "(A) track_interface eth0 is configured on VRRP instance and sync group",
    );
    // B's own interface is not tracked (dont_track_primary): no conflict.
    expect_none(&l, "(B) track_interface");
}

#[test]
fn sync_group_keywords() {
    let l = load(
        "vrrp_sync_group G {\n group {\n  A\n }\n group {\n  B\n }\n notify_master /bin/m\n notify \"/bin/n x\"\n smtp_alert\n global_tracking\n notify_priority_changes off\n}\n",
    );
    let g = &l.config.vrrp_sync_group[0];
    assert_eq!(g.group, vec!["A"]);
    assert_eq!(
        g.notify_master.as_ref().map(|n| n.command.as_str()),
        Some("/bin/m")
    );
    assert_eq!(
        g.notify.as_ref().map(|n| n.command.as_str()),
        Some("/bin/n x")
    );
    assert_eq!(
        (g.smtp_alert, g.notify_priority_changes),
        (Some(true), Some(false))
    );
    assert!(g.sync_group_tracking_weight);
    expect(
        &l,
        "t.conf:5:2: error",
        "Group list already specified for sync group G",
    );
    expect(
        &l,
        "t.conf:11:2: error",
        "(G) global_tracking is deprecated",
    );
    expect(
        &l,
        "t.conf:10:2: warning",
        "keyword 'smtp_alert' recognised but not implemented",
    );
}

// ===== routes and rules =====

#[test]
fn route_grammar() {
    let l = load(&one(
        " virtual_routes {\n  10.1.0.0/16 via 10.0.0.254 dev eth0 table 100 metric 5 src 10.0.0.1 mtu lock 1400 scope link protocol 18 onlink append\n  blackhole 10.2.0.0/16 dev eth0 no_track\n  default via inet 10.0.0.1 dev eth0\n  10.3.0.0/16 dev eth0 nexthop via 10.0.0.1 weight 2 nexthop via 10.0.0.2 dev eth1\n  10.4.0.0/16 dev eth0 encap mpls 100/200\n  inet6 2001:db8::/32 dev eth0\n  10.5.0.0/16 gw 10.0.0.1 or 10.0.0.2\n }",
    ));
    let r = &inst(&l, "VI").virtual_routes;
    assert_eq!(r.len(), 6, "{:#?}", msgs(&l));
    assert_eq!(r[0].to, RouteDst::Prefix("10.1.0.0/16".parse().unwrap()));
    assert_eq!(r[0].via, "10.0.0.254".parse().ok());
    assert_eq!((r[0].table, r[0].metric), (Some(RtTable(100)), Some(5)));
    assert_eq!(
        r[0].mtu,
        Some(RouteMetric {
            value: 1400,
            lock: true
        })
    );
    assert_eq!(
        (r[0].scope, r[0].protocol),
        (Some(RtScope(253)), Some(RtProto(18)))
    );
    assert!(r[0].onlink && !r[0].no_track);
    assert_eq!(r[0].mode, Some(RouteAddMode::Append));
    assert_eq!(
        (r[1].route_type, r[1].no_track),
        (Some(RtType::BLACKHOLE), true)
    );
    assert_eq!(r[2].to, RouteDst::Default);
    assert_eq!(r[3].nexthop.len(), 2);
    assert_eq!(r[3].nexthop[0].weight, Some(2));
    assert_eq!(r[3].nexthop[1].dev.as_deref(), Some("eth1"));
    let e = r[4].encap.as_ref().expect("encap");
    assert_eq!(
        (e.encap_type, e.labels.clone()),
        (EncapType::Mpls, vec![100, 200])
    );
    // keepalived's "inet6" also swallows the next word: no destination.
    expect(&l, "t.conf:10:3: error", "Route must have a destination");
    expect(&l, "t.conf:11:15: error", "\"gw\" for routes is deprecated");
    expect(&l, "t.conf:11:27: error", "\"or\" for routes is deprecated");
    assert_eq!(r[5].nexthop.len(), 2);
    assert_eq!(r[5].via, None);
    expect(
        &l,
        "t.conf:11:3: error",
        "Warning - cannot track route 10.5.0.0/16 with no interface specified, not tracking",
    );
    assert!(r[5].no_track);
}

#[test]
fn rule_grammar_and_automatic_preferences() {
    let l = load(
        "static_rules {\n  from 10.0.0.0/8 table 100\n  to 10.0.0.0/8 lookup main preference 50 not fwmark 0x10/0xff\n  from 2001:db8::/32 table 5\n  from all goto 100 priority 10\n  from all unreachable\n  to 10.0.0.0/8 from all table 5\n  sport 80 table 5 preference 3\n}\n",
    );
    let r = &l.config.static_rules;
    assert_eq!(r.len(), 6, "{:#?}", msgs(&l));
    assert_eq!((r[0].preference, r[0].table), (16384, Some(RtTable(100))));
    expect(
        &l,
        "t.conf:2:3: error",
        "Rule has no preference specified - setting to 16384",
    );
    assert_eq!(
        (r[1].preference, r[1].not, r[1].fwmark, r[1].fwmask),
        (50, true, Some(16), Some(255))
    );
    assert_eq!((r[2].family, r[2].preference), (Family::Inet6, 16384));
    assert_eq!((r[3].goto, r[3].preference), (Some(100), 10));
    assert_eq!(
        (r[4].action, r[4].preference),
        (Some(RuleAction::Unreachable), 16383)
    );
    // keepalived: once the family is known, "all" does not match it.
    expect(
        &l,
        "t.conf:7:22: error",
        "rule specification has mixed IPv4 and IPv6",
    );
    // keepalived 2.2.7 reports a single port as an invalid range (and keeps the rule).
    expect(&l, "t.conf:8:9: error", "invalid sport range 80");
    assert_eq!(r[5].sport, None);
}

#[test]
fn static_addresses_and_track_groups() {
    let l = load(
        "track_group tg {\n group {\n  VI\n }\n}\nstatic_ipaddress {\n  192.168.1.1/24 dev eth0 track_group tg\n  192.168.1.2/24 dev eth0 track_group other\n  192.168.1.3/24 dev eth0 use_vmac\n}\nstatic_routes {\n  10.0.0.0/8 via 192.168.1.254 dev eth0 track_group tg\n}\n",
    );
    assert_eq!(l.config.track_group[0].group, vec!["VI"]);
    let a = &l.config.static_ipaddress;
    assert_eq!(a.len(), 3);
    assert_eq!(a[0].track_group.as_deref(), Some("tg"));
    expect(&l, "t.conf:8:39: error", "track_group other not found");
    expect(
        &l,
        "t.conf:9:27: error",
        "Unknown configuration entry 'use_vmac' for ip address",
    );
    assert_eq!(l.config.static_routes[0].track_group.as_deref(), Some("tg"));
    expect(
        &l,
        "t.conf:3:3: warning",
        "vrrp instance VI specified in track group tg doesn't exist",
    );
    expect(
        &l,
        "t.conf:1:1: warning",
        "Static track group tg init fails - removing",
    );
}

#[test]
fn garp_group_and_linkbeat_and_delays() {
    let l = load(
        "garp_group {\n garp_interval 0.002\n gna_interval 0.001\n interfaces {\n  eth0 eth1\n }\n}\ngarp_group {\n interface eth0\n}\nlinkbeat_interfaces {\n eth0 MII\n eth1 FOO\n}\ninterface_up_down_delays {\n eth0 1.5 2\n eth1\n}\n",
    );
    let g = &l.config.garp_group;
    assert_eq!(g.len(), 1);
    assert_eq!(g[0].garp_interval, Some(Timer::from_millis(2)));
    assert_eq!(g[0].interfaces, vec!["eth0", "eth1"]);
    expect(
        &l,
        "t.conf:9:12: error",
        "garp_group already specified for eth0 - ignoring",
    );
    expect(
        &l,
        "t.conf:8:1: error",
        "garp group 0 does not have any delay set - removing",
    );
    assert_eq!(
        l.config.linkbeat_interfaces[0].polling,
        Some(LinkbeatType::Mii)
    );
    expect(
        &l,
        "t.conf:13:7: error",
        "extra characters FOO in linkbeat interface",
    );
    expect(
        &l,
        "t.conf:11:1: warning",
        "keyword 'linkbeat_interfaces' recognised but not implemented",
    );
    let d = &l.config.interface_up_down_delays;
    assert_eq!(d.len(), 1);
    assert_eq!(
        (d[0].down_delay, d[0].up_delay),
        (Timer::from_millis(1500), Timer::from_secs(2))
    );
    expect(
        &l,
        "t.conf:17:2: warning",
        "No timeouts specified for eth1 up/down delays",
    );
}

#[test]
fn bfd_instances_and_track_bfd() {
    let l = load(
        "bfd_instance b1 {\n neighbor_ip 10.0.0.9\n weight 5 reverse\n min_rx 20\n ttl 10\n max_hops 20\n}\nbfd_instance nonbr {\n}\nvrrp_instance VI {\n interface eth0\n virtual_router_id 7\n track_bfd {\n  b1 weight 3\n  nonbr\n  b9\n }\n virtual_ipaddress {\n  10.0.0.1\n }\n}\n",
    );
    let b = &l.config.bfd_instance;
    assert_eq!(b.len(), 1);
    assert_eq!((b[0].weight, b[0].weight_reverse), (5, true));
    assert_eq!(
        (b[0].min_rx, b[0].ttl, b[0].max_hops),
        (Timer::from_millis(20), Some(10), Some(10))
    );
    expect(
        &l,
        "t.conf:7:1: error",
        "BFD instance b1: max_hops exceeds ttl/hoplimit - setting to ttl/hoplimit",
    );
    expect(
        &l,
        "t.conf:9:1: error",
        "BFD instance nonbr has no neighbor address set, disabling instance",
    );
    // keepalived's VRRP process still knows the BFD instance it disabled.
    let t = &inst(&l, "VI").track_bfd;
    assert_eq!(t.len(), 2);
    expect(
        &l,
        "t.conf:16:3: error",
        "(VI) track bfd b9 not found, ignoring...",
    );
}

// ===== host checks =====

#[test]
fn host_interface_checks() {
    let mut o = opts();
    o.build.check_host = true;
    let l = load_str(
        "t.conf",
        "vrrp_instance VI {\n interface no-such-if0\n virtual_router_id 7\n track_interface {\n  no-such-if1\n }\n virtual_ipaddress {\n  10.0.0.1 dev no-such-if2\n }\n}\n",
        &o,
    );
    expect(
        &l,
        "t.conf:2:2: error",
        "WARNING - interface no-such-if0 for vrrp_instance VI doesn't exist",
    );
    expect(
        &l,
        "t.conf:5:3: error",
        "(VI) tracked interface no-such-if1 doesn't exist",
    );
    expect(
        &l,
        "t.conf:8:3: error",
        "WARNING - interface no-such-if2 for ip address 10.0.0.1/32 doesn't exist",
    );
    expect(
        &l,
        "error",
        "Non-existent interface specified in configuration",
    );
    // keepalived stops there: no later checks.
    expect_none(&l, "Unknown interface!");
    if super::util::interface_is_loopback("lo") {
        let l = load_str("t.conf", &one("").replace("eth0", "lo"), &o);
        expect(
            &l,
            "t.conf:2:2: error",
            "(VI) cannot use a loopback interface (lo) for vrrp - ignoring",
        );
        expect(&l, "t.conf:1:1: error", "(VI) Unknown interface!");
    }
}

#[test]
fn dynamic_interfaces_from_global_defs_allows_missing_interfaces() {
    // GlobalView reads global_defs: with dynamic_interfaces keepalived only
    // logs missing interfaces (they may appear later).
    let mut o = opts();
    o.build.check_host = true;
    let text = "vrrp_instance VI {\n interface no-such-if0\n virtual_router_id 7\n virtual_ipaddress {\n  10.0.0.1\n }\n}\n";
    let l = load_str("t.conf", text, &o);
    expect(
        &l,
        "t.conf:2:2: error",
        "interface no-such-if0 for vrrp_instance VI doesn't exist",
    );
    let l = load_str(
        "t.conf",
        &format!("global_defs {{\n dynamic_interfaces\n}}\n{text}"),
        &o,
    );
    expect_none(&l, "doesn't exist");
    expect_none(&l, "Non-existent interface");
}

#[test]
fn global_vrrp_version_applies_to_instances() {
    // VRRPv3 accepts a 10 ms multiple; VRRPv2 wants whole seconds.
    let body = one(" advert_int 0.5");
    let l = load(&body);
    expect(
        &l,
        "t.conf:4:2: error",
        "VRRPv2 advertisement interval 0.500000s must be an integer",
    );
    let l = load(&format!("global_defs {{\n vrrp_version 3\n}}\n{body}"));
    expect_none(&l, "must be an integer");
}

#[test]
fn script_users_are_resolved_while_reading() {
    // keepalived resolves a vrrp_script's user while reading it: an explicit
    // one at its `user` line, the default one (here a global script_user
    // that does not exist) at the block's `}`; the script is then removed,
    // and track_script does not find it.
    let mut o = opts();
    o.build.check_host = true;
    let l = load_str(
        "t.conf",
        "global_defs {\n script_user no-such-user-k1\n}\n\
         vrrp_script a {\n script /bin/true\n user no-such-user-k2\n}\n\
         vrrp_script b {\n script /bin/true\n}\n\
         vrrp_script c {\n script /bin/true\n user root\n}\n\
         vrrp_instance VI {\n interface lo\n virtual_router_id 7\n track_script {\n  a\n  b\n  c\n }\n}\n",
        &o,
    );
    expect(
        &l,
        "t.conf:6:2: error",
        "unable to set uid/gid for script /bin/true",
    );
    expect(
        &l,
        "t.conf:10:1: error",
        "unable to set default user for vrrp script b - removing",
    );
    expect(
        &l,
        "t.conf:19:3: error",
        "(VI) track script a not found, ignoring...",
    );
    expect(
        &l,
        "t.conf:20:3: error",
        "(VI) track script b not found, ignoring...",
    );
    expect_none(&l, "track script c not found");
    let names: Vec<_> = l
        .config
        .vrrp_script
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(names, ["c"]);
    // Without host checks the users are not looked up.
    let l = load_str(
        "t.conf",
        "global_defs {\n script_user no-such-user-k1\n}\nvrrp_script b {\n script /bin/true\n}\n",
        &opts(),
    );
    assert_eq!(l.config.vrrp_script.len(), 1);
}

#[test]
fn garp_group_interfaces_are_looked_up_as_keepalived_does() {
    // A missing interface is reported (a list: at its `}`); named twice, it
    // is reported as missing twice, as keepalived looks it up first.
    let mut o = opts();
    o.build.check_host = true;
    let l = load_str(
        "t.conf",
        "garp_group {\n garp_interval 1\n interface no-such-if3\n interfaces {\n  no-such-if3\n  no-such-if4\n }\n}\n",
        &o,
    );
    expect(
        &l,
        "t.conf:3:12: error",
        "WARNING - interface no-such-if3 specified for garp_group doesn't exist",
    );
    expect(
        &l,
        "t.conf:7:2: error",
        "WARNING - interface no-such-if3 specified for garp_group doesn't exist",
    );
    expect(
        &l,
        "t.conf:7:2: error",
        "WARNING - interface no-such-if4 specified for garp_group doesn't exist",
    );
    expect_none(&l, "already specified");
    // The model does not depend on the host: the interface is kept once.
    let g = &l.config.garp_group[0];
    assert_eq!(g.interface.as_deref(), Some("no-such-if3"));
    assert_eq!(g.interfaces, ["no-such-if4"]);
}

#[test]
fn unicast_vmac_without_a_usable_interface() {
    // keepalived's end of vrrp_instance (at its `}`): with unicast and a VMAC
    // the instance needs an interface, and one that does not exist here is
    // none; the model stays what the file means on a host with it.
    let mut o = opts();
    o.build.check_host = true;
    let l = load_str(
        "t.conf",
        &one(" use_vmac\n unicast_peer {\n  10.0.0.9\n }").replace("eth0", "no-such-if5"),
        &o,
    );
    expect(
        &l,
        "t.conf:11:1: error",
        "(VI): Cannot use VMAC/ipvlan with unicast and no interface (interface no-such-if5 \
         does not exist here",
    );
    expect(
        &l,
        "t.conf:11:1: error",
        "(VI) unicast with use_vmac requires vmac_xmit_base - setting",
    );
    assert!(inst(&l, "VI").use_vmac.is_some());
    assert!(inst(&l, "VI").vmac_xmit_base);
    let l = load(&one(" use_vmac\n unicast_peer {\n  10.0.0.9\n }"));
    expect(
        &l,
        "t.conf:11:1: error",
        "(VI) unicast with use_vmac requires vmac_xmit_base - setting",
    );
}

// ===== TOML =====

#[test]
fn toml_round_trip_of_a_full_instance() {
    let l = load(
        "vrrp_script chk {\n script \"/bin/check x\"\n interval 3\n weight -10 reverse\n user nobody\n}\ntrack_file tf {\n file /run/tf\n init_file 3\n}\nvrrp_track_process tp {\n process nginx master\n quorum_max 4\n delay 0.5\n}\nbfd_instance b {\n neighbor_ip 10.0.0.8\n}\nstatic_ipaddress {\n 192.168.9.1/24 dev eth0 brd 192.168.9.255 preferred_lft 30\n}\nstatic_routes {\n 10.9.0.0/16 via 192.168.9.254 dev eth0 encap ip id 18446744073709551615 dst 10.1.1.1 rtt 300ms\n 10.8.0.0/16 dev eth0 encap ila ffff:ffff:ffff:ffff\n}\nstatic_rules {\n from 192.168.9.0/24 table 100 preference 100 uidrange 1-2 dport 1-2 tunnel-id 18446744073709551615\n}\ngarp_group {\n gna_interval 0.5\n interface eth0\n}\nvrrp_instance VI {\n state BACKUP\n interface eth0\n virtual_router_id 51\n priority 150\n advert_int 0.5\n version 3\n nopreempt\n preempt_delay 3\n accept\n mcast_src_ip 10.0.0.2\n mcast_dst_ip 224.0.0.20\n track_src_ip\n track_interface {\n  eth1 weight -20 reverse\n }\n track_script {\n  chk weight 5\n }\n track_file {\n  tf\n }\n track_process {\n  tp weight 2 noreverse\n }\n track_bfd {\n  b\n }\n virtual_ipaddress {\n  10.0.0.1/24 brd + dev eth0 label eth0:v\n  10.0.0.3 peer 10.0.0.4 home no_track\n }\n virtual_ipaddress_excluded {\n  2001:db8::5/64 -nodad noprefixroute mngtmpaddr autojoin\n }\n virtual_routes {\n  default via 10.0.0.254 dev eth0 table main\n  10.2.0.0/16 dev eth0 nexthop via 10.0.0.7 weight 3\n }\n virtual_rules {\n  from 10.0.0.0/8 table 7 preference 10\n }\n notify_master \"/bin/n a\" root\n notify \"/bin/fifo\"\n notify_deleted\n smtp_alert off\n garp_master_delay 2\n garp_master_repeat 3\n garp_master_refresh 30\n garp_master_refresh_repeat 2\n garp_lower_prio_delay 1\n garp_lower_prio_repeat 1\n garp_extra_if all 10\n lower_prio_no_advert\n higher_prio_send_advert off\n down_timer_adverts 5\n promote_secondaries\n kernel_rx_buf_size 65536\n debug 1\n}\nvrrp_sync_group G {\n group {\n  VI\n }\n sync_group_tracking_weight\n notify_fault /bin/f\n}\nvrrp_instance U {\n interface eth1\n dont_track_primary\n virtual_router_id 52\n use_vmac vm52 02:00:00:00:00:05\n use_vmac_addr\n vmac_xmit_base\n use_ipvlan ipv52 10.1.0.9/24 private\n unicast_peer {\n  10.1.0.2 min_ttl 3\n  10.1.0.3\n }\n unicast_ttl 9\n unicast_fault_no_peer\n old_unicast_checksum never\n strict_mode on\n skip_check_adv_addr\n notify_priority_changes\n lvs_sync_daemon_interface eth1\n linkbeat_use_polling\n notify_backup /bin/b\n notify_fault /bin/f\n notify_stop /bin/s\n notify_master_rx_lower_pri /bin/r\n authentication {\n  auth_type AH\n  auth_pass pw\n }\n virtual_ipaddress {\n  10.1.0.1/24 scope global preferred_lft 0 use_vmac\n }\n}\nvrrp_instance W {\n vrf vrf1\n native_ipv6\n virtual_router_id 53\n virtual_ipaddress {\n  fe80::53\n }\n}\ntrack_group TG {\n group {\n  U W\n }\n}\nlinkbeat_interfaces {\n eth0 ETHTOOL\n}\ninterface_up_down_delays {\n eth0 2 1\n}\n",
    );
    let before = l.config.clone();
    assert_eq!(l.config.static_rules[0].tunnel_id, Some(u64::MAX));
    assert_eq!(l.config.static_routes.len(), 2, "{:#?}", msgs(&l));
    assert_eq!(
        l.config.static_routes[1]
            .encap
            .as_ref()
            .and_then(|e| e.locator),
        Some(u64::MAX)
    );
    let u = inst(&l, "U");
    assert!(u.use_vmac.is_some() && u.use_ipvlan.is_some() && u.vmac_xmit_base);
    assert_eq!(
        u.use_ipvlan.as_ref().and_then(|v| v.mode),
        Some(IpvlanMode::Private)
    );
    assert_eq!(inst(&l, "W").vrf.as_deref(), Some("vrf1"));
    assert_eq!(inst(&l, "VI").virtual_ipaddress.len(), 2, "{:#?}", msgs(&l));
    let text = crate::config::to_toml(&before).expect("to toml");
    let after: Config = toml::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(before, after, "{text}");
    let json = crate::config::to_json(&before).expect("to json");
    let back: Config = serde_json::from_str(&json).expect("from json");
    assert_eq!(before, back);
}

#[test]
fn toml_models_get_the_same_checks() {
    let text = "[[vrrp_instance]]\nname = \"VI\"\ninterface = \"eth0\"\nvirtual_router_id = 0\ntrack_script = [{ name = \"nope\" }]\n[[vrrp_instance.virtual_ipaddress]]\naddress = \"10.0.0.1/32\"\n[[vrrp_instance.virtual_ipaddress]]\naddress = \"fe80::1/128\"\n[[vrrp_sync_group]]\nname = \"G\"\ngroup = [\"VI\"]\ntrack_file = [{ name = \"nofile\" }]\n";
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("site.toml");
    std::fs::write(&path, text).expect("write");
    let l = load_file(&path, &opts());
    let m = msgs(&l);
    assert!(
        m.iter().any(|d| d.contains("(VI): VRID '0' not valid")),
        "{m:#?}"
    );
    assert!(
        m.iter()
            .any(|d| d.contains("(VI) track script nope not found")),
        "{m:#?}"
    );
    assert!(
        m.iter()
            .any(|d| d.contains("address family must match VRRP instance [fe80::1/128]")),
        "{m:#?}"
    );
    assert!(
        m.iter()
            .any(|d| d.contains("(G) track file nofile not found")),
        "{m:#?}"
    );
}

// ===== corpus =====

/// Every corpus file loads without panicking, and in the VRRP blocks the only
/// unknown keywords are the ones keepalived 2.2.7 also rejects.
#[test]
fn corpus_has_no_unknown_vrrp_keywords() {
    let dir = std::path::Path::new("/work/shared/corpus/keepalived-conf");
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut files: Vec<_> = rd
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .collect();
    files.sort();
    // keepalived 2.2.7 reports these as unknown too (typos and misplaced
    // words).  084's `mcast_src_ip {` is a keyword without a block: keepalived
    // stops there (a missing value), and would otherwise read the lines of
    // that block (`server1ip`, `serverNip`) as vrrp_instance keywords, as we do.
    let keepalived_unknown = [
        "lvs_sync_daemon_inteface",
        "VI_2",
        "VI_3",
        "server1ip",
        "serverNip",
    ];
    let contexts = [
        "in vrrp_instance",
        "in vrrp_sync_group",
        "in vrrp_script",
        "in track_file",
        "in vrrp_track_process",
        "in track_group",
        "in garp_group",
        "in bfd_instance",
        "in vrrp_instance/authentication",
    ];
    let mut o = opts();
    o.preprocess.allow_includes = true;
    let mut bad = Vec::new();
    for f in files {
        let l = load_file(&f, &o);
        for d in &l.diags.items {
            if d.severity == Severity::Error
                && d.message.starts_with("unknown keyword")
                && contexts.iter().any(|c| d.message.contains(c))
                && !keepalived_unknown
                    .iter()
                    .any(|k| d.message.contains(&format!("'{k}'")))
            {
                bad.push(d.to_string());
            }
        }
    }
    assert!(bad.is_empty(), "{bad:#?}");
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    /// Words that steer the VRRP parsers into their branches, plus junk.
    const WORDS: &[&str] = &[
        "vrrp_instance",
        "vrrp_sync_group",
        "vrrp_script",
        "track_file",
        "vrrp_track_process",
        "static_routes",
        "static_rules",
        "static_ipaddress",
        "garp_group",
        "bfd_instance",
        "track_group",
        "virtual_ipaddress",
        "virtual_routes",
        "virtual_rules",
        "unicast_peer",
        "track_interface",
        "track_script",
        "group",
        "{",
        "}",
        "VI",
        "eth0",
        "10.0.0.1/24",
        "fe80::1",
        "default",
        "via",
        "dev",
        "inet6",
        "inet",
        "nexthop",
        "encap",
        "ip",
        "mpls",
        "weight",
        "-254",
        "254",
        "0",
        "300",
        "0.5",
        "x",
        "table",
        "main",
        "from",
        "to",
        "goto",
        "preference",
        "brd",
        "+",
        "peer",
        "label",
        "scope",
        "link",
        "lock",
        "mtu",
        "rtt",
        "3ms",
        "interface",
        "priority",
        "state",
        "MASTER",
        "authentication",
        "auth_pass",
        "auth_type",
        "AH",
        "notify_master",
        "\"/bin/x y\"",
        "'a",
        "use_vmac",
        "use_ipvlan",
        "min_ttl",
        "or",
        "as",
        "realms",
        "1/2",
        "fwmark",
        "0x10/0xff",
        "sport",
        "80-90",
        "uidrange",
        "\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}",
    ];

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]
        #[test]
        fn vrrp_parsers_never_panic(lines in prop::collection::vec(prop::collection::vec(0..WORDS.len(), 1..8), 1..30)) {
            let text: String = lines
                .iter()
                .map(|l| l.iter().map(|i| WORDS[*i]).collect::<Vec<_>>().join(" "))
                .collect::<Vec<_>>()
                .join("\n");
            let l = load(&text);
            let toml = crate::config::to_toml(&l.config).expect("serialises");
            let back: Config = toml::from_str(&toml).expect("reads back");
            prop_assert_eq!(back, l.config);
        }

        #[test]
        fn item_grammars_never_panic(lines in prop::collection::vec(prop::collection::vec(0..WORDS.len(), 1..12), 1..6)) {
            let items: String = lines
                .iter()
                .map(|l| l.iter().map(|i| WORDS[*i]).filter(|w| *w != "{" && *w != "}").collect::<Vec<_>>().join(" "))
                .collect::<Vec<_>>()
                .join("\n  ");
            let mut text = String::from("vrrp_instance VI {\n interface eth0\n virtual_router_id 1\n");
            for block in ["virtual_ipaddress", "virtual_routes", "virtual_rules", "unicast_peer", "track_interface"] {
                text += &format!(" {block} {{\n  {items}\n }}\n");
            }
            text += "}\n";
            for block in ["static_ipaddress", "static_routes", "static_rules", "linkbeat_interfaces", "interface_up_down_delays"] {
                text += &format!("{block} {{\n  {items}\n}}\n");
            }
            let l = load(&text);
            let toml = crate::config::to_toml(&l.config).expect("serialises");
            let back: Config = toml::from_str(&toml).expect("reads back");
            prop_assert_eq!(back, l.config);
        }
    }
}
