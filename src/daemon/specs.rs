//! From the configuration model to the engines' run-time descriptions:
//! keepalived's defaults and global_defs fallbacks are resolved here, once.

use super::trackers::{TrackerConfig, TrackerRef, TrackerUse};
use crate::check::track_file::FileSpec;
use crate::check::track_process::{ProcessMatcher, ProcessSpec, QuorumState};
use crate::check::vrrp_script::ScriptSpec;
use crate::config::model::{
    AuthType, Broadcast, Config, GlobalDefs, InitialState as CfgState, IpAddressSpec, NotifyScript,
    TrackedRef, VrrpInstance,
};
use crate::script::RunAs;
use crate::vrrp::engine::EngineConfig;
use crate::vrrp::fsm::{AdvertInterval, GarpParams, InitialState, InstanceParams, VrrpVersion};
use crate::vrrp::packet::UnicastPeer;
use crate::vrrp::spec::{InstanceSpec, NotifySpec, SyncGroupSpec, TrackedInterface, VipSpec};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

/// Build the VRRP engine's configuration from the model.
pub fn engine_config(cfg: &Config) -> Result<EngineConfig, String> {
    let g = &cfg.global_defs;
    let mut instances = Vec::new();
    for vi in &cfg.vrrp_instance {
        instances.push(instance_spec(vi, g)?);
    }
    let mut groups = Vec::new();
    for (gi, sg) in cfg.vrrp_sync_group.iter().enumerate() {
        let mut members = Vec::new();
        for name in &sg.group {
            if let Some(i) = cfg.vrrp_instance.iter().position(|v| &v.name == name) {
                if instances[i].sync_group.is_none() {
                    instances[i].sync_group = Some(gi);
                    members.push(i);
                }
            }
        }
        if members.is_empty() {
            continue;
        }
        // A sync group's tracked interfaces apply to every member.
        for &m in &members {
            instances[m]
                .track_interfaces
                .extend(sg.track_interface.iter().map(|t| TrackedInterface {
                    name: t.name.clone(),
                    weight: t.weight,
                    reverse: t.weight_reverse,
                }));
        }
        groups.push(SyncGroupSpec {
            name: sg.name.clone(),
            members,
            notify: NotifySpec {
                master: cmd(&sg.notify_master),
                backup: cmd(&sg.notify_backup),
                fault: cmd(&sg.notify_fault),
                stop: cmd(&sg.notify_stop),
                generic: cmd(&sg.notify),
                master_rx_lower_pri: None,
            },
        });
    }
    // Group indices must match the positions in `groups` (skipped empty groups).
    for (new_idx, grp) in groups.iter().enumerate() {
        for &m in &grp.members {
            instances[m].sync_group = Some(new_idx);
        }
    }
    Ok(EngineConfig {
        instances,
        groups,
        // Looking a user up loads the NSS modules (libnss_systemd: ~0.15 MiB
        // of PSS for the daemon's lifetime): only when a script may run.
        script_user: if may_run_scripts(cfg) {
            script_user(g)
        } else {
            None
        },
        notify_timeout: Duration::from_secs(10),
        fifos: notify_fifos(g),
    })
}

/// Whether the configuration has any script the daemon may run.
fn may_run_scripts(cfg: &Config) -> bool {
    let g = &cfg.global_defs;
    let vi = cfg.vrrp_instance.iter().any(|v| {
        [
            &v.notify_master,
            &v.notify_backup,
            &v.notify_fault,
            &v.notify_stop,
            &v.notify_deleted,
            &v.notify,
            &v.notify_master_rx_lower_pri,
        ]
        .iter()
        .any(|n| n.is_some())
    });
    let sg = cfg.vrrp_sync_group.iter().any(|s| {
        [
            &s.notify_master,
            &s.notify_backup,
            &s.notify_fault,
            &s.notify_stop,
            &s.notify,
        ]
        .iter()
        .any(|n| n.is_some())
    });
    vi || sg
        || !cfg.vrrp_script.is_empty()
        || !cfg.virtual_server.is_empty()
        || g.notify_fifo_script.is_some()
        || g.vrrp_notify_fifo_script.is_some()
        || g.lvs_notify_fifo_script.is_some()
}

/// `notify_fifo` and `vrrp_notify_fifo` (both receive the VRRP events).
fn notify_fifos(g: &GlobalDefs) -> Vec<crate::vrrp::notify_fifo::FifoSpec> {
    [
        fifo_spec(&g.notify_fifo, &g.notify_fifo_script, g),
        fifo_spec(&g.vrrp_notify_fifo, &g.vrrp_notify_fifo_script, g),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// One configured FIFO and its reader script (run as the script's user, else
/// `script_user`).
pub fn fifo_spec(
    fifo: &Option<crate::config::model::global::NotifyFifo>,
    script: &Option<crate::config::model::global::GlobalScript>,
    g: &GlobalDefs,
) -> Option<crate::vrrp::notify_fifo::FifoSpec> {
    let fifo = fifo.as_ref().filter(|f| !f.name.is_empty())?;
    Some(crate::vrrp::notify_fifo::FifoSpec {
        path: fifo.name.clone().into(),
        owner: fifo.user.as_ref().and_then(resolve_user),
        script: script.as_ref().map(|s| {
            (
                s.script.clone(),
                s.user.as_ref().and_then(resolve_user).or(script_user(g)),
            )
        }),
    })
}

fn resolve_user(u: &crate::config::model::vrrp::ScriptUser) -> Option<RunAs> {
    let user = nix::unistd::User::from_name(&u.user).ok().flatten()?;
    let gid = u
        .group
        .as_ref()
        .and_then(|grp| nix::unistd::Group::from_name(grp).ok().flatten())
        .map_or(user.gid.as_raw(), |grp| grp.gid.as_raw());
    Some(RunAs {
        uid: user.uid.as_raw(),
        gid,
    })
}

fn cmd(n: &Option<NotifyScript>) -> Option<String> {
    n.as_ref()
        .map(|n| n.command.clone())
        .filter(|c| !c.is_empty())
}

/// The uid/gid scripts run as: `script_user`, else root (keepalived's
/// `keepalived_script` default user is resolved the same way when it exists).
fn script_user(g: &GlobalDefs) -> Option<RunAs> {
    let name = g.script_user.as_ref().map(|u| u.user.clone()).or_else(|| {
        nix::unistd::User::from_name("keepalived_script")
            .ok()
            .flatten()
            .map(|u| u.name)
    })?;
    let user = nix::unistd::User::from_name(&name).ok().flatten()?;
    let gid = g
        .script_user
        .as_ref()
        .and_then(|u| u.group.as_ref())
        .and_then(|grp| nix::unistd::Group::from_name(grp).ok().flatten())
        .map_or(user.gid.as_raw(), |grp| grp.gid.as_raw());
    Some(RunAs {
        uid: user.uid.as_raw(),
        gid,
    })
}

/// The trackers other than interfaces, and each instance's uses of them
/// (index = the instance's position in the configuration, as in the engine).
///
/// keepalived's rules: a use without `weight` takes the tracker's own weight
/// and `reverse`; the trackers of a sync group apply to every member; a
/// weighted tracker of a sync group member (unless the group has
/// `sync_group_tracking_weight`) or of an address owner (priority 255) is
/// ignored, except that a track_file left at its default weight 1 is kept
/// with weight 0 (`-t` reports both).
pub fn tracker_config(cfg: &Config) -> TrackerConfig {
    let g = &cfg.global_defs;
    // Only vrrp_scripts run as a user (see may_run_scripts on NSS).
    let default_user = if cfg.vrrp_script.is_empty() {
        None
    } else {
        script_user(g)
    };
    let mut out = TrackerConfig::default();
    let mut script_ids = Vec::new();
    for s in &cfg.vrrp_script {
        let run_as = match &s.user {
            None => default_user,
            Some(u) => match run_as(&u.user, u.group.as_deref()) {
                Some(r) => Some(r),
                None => {
                    // Never fall back to root for a script meant to run as
                    // someone else: leave it out (its instances ignore it).
                    tracing::error!(script = %s.name, user = %u.user,
                        "vrrp_script: unknown user or group; the script is not run");
                    script_ids.push(None);
                    continue;
                }
            },
        };
        script_ids.push(Some(out.scripts.len()));
        out.scripts.push(ScriptSpec {
            name: s.name.clone(),
            command: s.script.clone(),
            interval: secs(s.interval),
            timeout: s.timeout.map_or(secs(s.interval), secs),
            rise: s.rise,
            fall: s.fall,
            init_fail: s.init_fail,
            run_as,
        });
    }
    for f in &cfg.track_file {
        out.files.push(FileSpec {
            name: f.name.clone(),
            path: f.file.clone().into(),
            init: f.init_file.clone(),
        });
    }
    for p in &cfg.vrrp_track_process {
        out.processes.push(ProcessSpec {
            name: p.name.clone(),
            matcher: ProcessMatcher::new(p),
            quorum: QuorumState::new(p),
        });
    }
    let find_script = |name: &str| {
        let i = cfg.vrrp_script.iter().position(|s| s.name == name)?;
        let s = &cfg.vrrp_script[i];
        Some((script_ids[i]?, s.weight, s.weight_reverse))
    };
    let find_file = |name: &str| {
        let i = cfg.track_file.iter().position(|s| s.name == name)?;
        let f = &cfg.track_file[i];
        Some((i, f.weight, f.weight_reverse))
    };
    let find_process = |name: &str| {
        let i = cfg.vrrp_track_process.iter().position(|s| s.name == name)?;
        let p = &cfg.vrrp_track_process[i];
        Some((i, p.weight, p.weight_reverse))
    };
    for b in &cfg.bfd_instance {
        out.bfds.push(b.name.clone());
    }
    let find_bfd = |name: &str| {
        let i = cfg.bfd_instance.iter().position(|b| b.name == name)?;
        let b = &cfg.bfd_instance[i];
        Some((i, b.weight, b.weight_reverse))
    };
    for vi in &cfg.vrrp_instance {
        let group = cfg
            .vrrp_sync_group
            .iter()
            .find(|sg| sg.group.iter().any(|m| m == &vi.name));
        let no_weights = group.is_some_and(|sg| !sg.sync_group_tracking_weight)
            || vi.effective_priority() == 255;
        let mut uses = Vec::new();
        let mine = uses_of(&vi.track_script, TrackerRef::Script, &find_script)
            .into_iter()
            .chain(uses_of(&vi.track_file, TrackerRef::File, &find_file))
            .chain(uses_of(
                &vi.track_process,
                TrackerRef::Process,
                &find_process,
            ))
            .chain(uses_of(&vi.track_bfd, TrackerRef::Bfd, &find_bfd));
        for u in mine {
            if !no_weights || u.weight == 0 {
                uses.push(u);
            } else if matches!(u.tracker, TrackerRef::File(_)) && u.weight == 1 {
                uses.push(TrackerUse { weight: 0, ..u });
            }
        }
        if let Some(sg) = group {
            let theirs = uses_of(&sg.track_script, TrackerRef::Script, &find_script)
                .into_iter()
                .chain(uses_of(&sg.track_file, TrackerRef::File, &find_file))
                .chain(uses_of(
                    &sg.track_process,
                    TrackerRef::Process,
                    &find_process,
                ))
                .chain(uses_of(&sg.track_bfd, TrackerRef::Bfd, &find_bfd));
            uses.extend(theirs);
        }
        out.uses.push(uses);
    }
    out
}

/// A tracker found by name: its index, weight and reverse.
type Found = (usize, i32, bool);

/// The uses of the trackers named in `refs` (unknown names are left out:
/// the configuration check has reported them).
fn uses_of(
    refs: &[TrackedRef],
    kind: fn(usize) -> TrackerRef,
    find: &dyn Fn(&str) -> Option<Found>,
) -> Vec<TrackerUse> {
    refs.iter()
        .filter_map(|r| {
            let (id, weight, reverse) = find(&r.name)?;
            Some(TrackerUse {
                tracker: kind(id),
                weight: r.weight.unwrap_or(weight),
                reverse: r.weight_reverse.unwrap_or(reverse),
            })
        })
        .collect()
}

/// A user (and group, else the user's own) as uid/gid.
fn run_as(user: &str, group: Option<&str>) -> Option<RunAs> {
    let u = nix::unistd::User::from_name(user).ok().flatten()?;
    let gid = match group {
        Some(grp) => nix::unistd::Group::from_name(grp)
            .ok()
            .flatten()?
            .gid
            .as_raw(),
        None => u.gid.as_raw(),
    };
    Some(RunAs {
        uid: u.uid.as_raw(),
        gid,
    })
}

fn secs(t: crate::config::values::Timer) -> Duration {
    t.as_duration()
}

fn instance_spec(vi: &VrrpInstance, g: &GlobalDefs) -> Result<InstanceSpec, String> {
    let name = vi.name.clone();
    let interface = vi
        .interface
        .clone()
        .ok_or_else(|| format!("vrrp_instance {name}: no interface"))?;
    let vrid = vi
        .virtual_router_id
        .ok_or_else(|| format!("vrrp_instance {name}: no virtual_router_id"))?;
    let strict = vi.strict_mode.unwrap_or(g.vrrp_strict);
    let version_num = vi.effective_version(g.vrrp_version, strict);
    let version = if version_num == 3 {
        VrrpVersion::V3
    } else {
        VrrpVersion::V2
    };
    let advert = vi.effective_advert_int(version_num);
    let advert_interval = AdvertInterval::from_centiseconds(
        u32::try_from(advert.micros / 10_000)
            .map_err(|_| format!("{name}: advert_int too large"))?,
    )
    .ok_or_else(|| format!("vrrp_instance {name}: invalid advert_int"))?;
    let priority = vi.effective_priority();
    // The primary address is resolved by the engine from the interface when
    // no source address is configured.
    let placeholder = vi
        .configured_src_ip()
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let mut params = InstanceParams::new(version, vrid, placeholder);
    params.priority = priority;
    params.advert_interval = advert_interval;
    params.initial_state = match vi.effective_state() {
        CfgState::Master => InitialState::Master,
        CfgState::Backup => InitialState::Backup,
    };
    params.preempt = !vi.nopreempt;
    params.preempt_delay = secs(vi.preempt_delay);
    params.down_timer_adverts = vi
        .down_timer_adverts
        .unwrap_or_else(|| u8::try_from(g.vrrp_down_timer_adverts).unwrap_or(3));
    params.higher_prio_send_advert = vi
        .higher_prio_send_advert
        .unwrap_or(g.vrrp_higher_prio_send_advert);
    params.lower_prio_no_advert = vi
        .lower_prio_no_advert
        .unwrap_or(g.vrrp_lower_prio_no_advert || strict);
    let master_delay = vi.garp_master_delay.map_or(
        Duration::from_secs(u64::from(g.vrrp_garp_master_delay)),
        secs,
    );
    let master_repeat = vi.garp_master_repeat.unwrap_or(g.vrrp_garp_master_repeat);
    params.garp = GarpParams {
        master_delay,
        master_repeat,
        master_refresh: vi.garp_master_refresh.map_or(
            Duration::from_secs(u64::from(g.vrrp_garp_master_refresh)),
            secs,
        ),
        master_refresh_repeat: vi
            .garp_master_refresh_repeat
            .unwrap_or(g.vrrp_garp_master_refresh_repeat),
        lower_prio_delay: vi.garp_lower_prio_delay.map_or(
            g.vrrp_garp_lower_prio_delay
                .map_or(master_delay, |s| Duration::from_secs(u64::from(s))),
            secs,
        ),
        lower_prio_repeat: vi
            .garp_lower_prio_repeat
            .or(g.vrrp_garp_lower_prio_repeat)
            .unwrap_or(master_repeat),
    };
    params
        .validate()
        .map_err(|e| format!("vrrp_instance {name}: {e}"))?;

    let auth_pass = match &vi.authentication {
        Some(a) if version == VrrpVersion::V2 && a.auth_type == Some(AuthType::Pass) => {
            let mut p = [0u8; 8];
            let bytes = a.auth_pass.as_deref().unwrap_or("").as_bytes();
            let n = bytes.len().min(8);
            p[..n].copy_from_slice(&bytes[..n]);
            Some(p)
        }
        _ => None,
    };
    let unicast_peers = if vi.is_unicast() {
        vi.unicast_peer
            .iter()
            .flatten()
            .map(|p| UnicastPeer {
                addr: p.address,
                min_ttl: p.min_ttl,
                max_ttl: p.max_ttl,
            })
            .collect()
    } else {
        Vec::new()
    };
    let family_v6 = vi.family() == crate::config::model::Family::Inet6;
    let mcast_group = vi.mcast_dst_ip.or(Some(if family_v6 {
        g.vrrp_mcast_group6
    } else {
        g.vrrp_mcast_group4
    }));
    Ok(InstanceSpec {
        name,
        interface,
        params,
        vips: vi.virtual_ipaddress.iter().map(vip).collect(),
        excluded_vips: vi.virtual_ipaddress_excluded.iter().map(vip).collect(),
        auth_pass,
        unicast_peers,
        src_ip: vi.configured_src_ip(),
        mcast_group,
        unicast_ttl: vi.unicast_ttl.unwrap_or(255),
        v3_checksum_as_v2: false,
        skip_check_adv_addr: vi.skip_check_adv_addr.unwrap_or(g.vrrp_skip_check_adv_addr),
        check_unicast_src: vi.check_unicast_src || g.vrrp_check_unicast_src,
        dont_track_primary: vi.dont_track_primary,
        routes: vi.virtual_routes.clone(),
        rules: vi.virtual_rules.clone(),
        track_interfaces: vi
            .track_interface
            .iter()
            .map(|t| TrackedInterface {
                name: t.name.clone(),
                weight: t.weight,
                reverse: t.weight_reverse,
            })
            .collect(),
        notify: NotifySpec {
            master: cmd(&vi.notify_master),
            backup: cmd(&vi.notify_backup),
            fault: cmd(&vi.notify_fault),
            stop: cmd(&vi.notify_stop),
            generic: cmd(&vi.notify),
            master_rx_lower_pri: cmd(&vi.notify_master_rx_lower_pri),
        },
        sync_group: None,
    })
}

fn vip(a: &IpAddressSpec) -> VipSpec {
    let mut flags = 0u32;
    if a.nodad {
        flags |= 0x02; // IFA_F_NODAD
    }
    if a.home {
        flags |= 0x10; // IFA_F_HOMEADDRESS
    }
    if a.mngtmpaddr {
        flags |= 0x100; // IFA_F_MANAGETEMPADDR
    }
    if a.noprefixroute {
        flags |= 0x200; // IFA_F_NOPREFIXROUTE
    }
    if a.autojoin {
        flags |= 0x400; // IFA_F_MCAUTOJOIN
    }
    let broadcast = match (a.broadcast, a.address.addr) {
        (Some(Broadcast::Address(b)), _) => Some(b),
        (Some(Broadcast::Plus), IpAddr::V4(v4)) => {
            let bits = u32::from(a.address.len);
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            Some(Ipv4Addr::from(u32::from(v4) | !mask))
        }
        _ => None,
    };
    VipSpec {
        addr: a.address.addr,
        prefix_len: a.address.len,
        dev: a.dev.clone(),
        label: a.label.clone(),
        broadcast,
        peer: a.peer,
        scope: a.scope.map_or(0, |s| s.0),
        flags,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load_str, LoadOptions};

    fn load(text: &str) -> Config {
        let mut o = LoadOptions::default();
        o.preprocess.allow_includes = false;
        o.build.check_host = false;
        load_str("t.conf", text, &o).config
    }

    #[test]
    fn tracker_uses_per_instance() {
        let cfg = load(
            "vrrp_script chk {\n script /bin/true\n weight -20\n interval 2\n}\n\
             vrrp_script grp {\n script /bin/true\n weight 0\n init_fail\n}\n\
             vrrp_script chk2 {\n script /bin/true\n weight 10\n}\n\
             track_file tf {\n file /run/tf\n weight 3 reverse\n}\n\
             vrrp_track_process nginx {\n process nginx\n weight 5\n}\n\
             vrrp_instance A {\n interface eth0\n virtual_router_id 1\n priority 100\n\
             virtual_ipaddress {\n 10.0.0.1\n }\n track_script {\n chk\n chk2 weight 7 reverse\n }\n\
             track_file {\n tf\n }\n track_process {\n nginx weight -2\n }\n}\n\
             vrrp_instance B {\n interface eth0\n virtual_router_id 2\n priority 100\n\
             virtual_ipaddress {\n 10.0.0.2\n }\n track_script {\n chk\n }\n}\n\
             vrrp_instance C {\n interface eth0\n virtual_router_id 3\n priority 100\n\
             virtual_ipaddress {\n 10.0.0.3\n }\n}\n\
             vrrp_sync_group G {\n group {\n B\n C\n }\n track_script {\n grp\n }\n\
             track_interface {\n eth1 weight 4\n }\n}\n",
        );
        let t = tracker_config(&cfg);
        assert_eq!(t.scripts.len(), 3);
        assert_eq!(t.scripts[0].interval, Duration::from_secs(2));
        assert_eq!(
            t.scripts[0].timeout,
            Duration::from_secs(2),
            "timeout defaults to the interval"
        );
        assert!(t.scripts[1].init_fail);
        let u = |tracker, weight, reverse| TrackerUse {
            tracker,
            weight,
            reverse,
        };
        use TrackerRef::*;
        assert_eq!(
            t.uses[0],
            vec![
                u(Script(0), -20, false),
                u(Script(2), 7, true),
                u(File(0), 3, true),
                u(Process(0), -2, false),
            ]
        );
        // B's own weighted script is ignored (sync group without
        // sync_group_tracking_weight); the group's applies to both members.
        assert_eq!(t.uses[1], vec![u(Script(1), 0, false)]);
        assert_eq!(t.uses[2], vec![u(Script(1), 0, false)]);
        let e = engine_config(&cfg).unwrap();
        assert_eq!(e.instances[2].track_interfaces[0].name, "eth1");
        assert_eq!(e.instances[2].track_interfaces[0].weight, 4);
    }

    #[test]
    fn instance_defaults_and_fallbacks() {
        let cfg = load(
            "global_defs {\n vrrp_garp_master_repeat 3\n}\n\
             vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority 150\n advert_int 0.1\n version 3\n nopreempt\n\
             authentication {\n auth_type PASS\n auth_pass secret12345\n }\n\
             virtual_ipaddress {\n 10.0.0.100/24 dev eth0 label eth0:1 brd +\n }\n notify \"/bin/n x\"\n}\n",
        );
        let e = engine_config(&cfg).unwrap();
        let s = &e.instances[0];
        assert_eq!(s.params.vrid, 51);
        assert_eq!(s.params.priority, 150);
        assert_eq!(s.params.advert_interval.centiseconds(), 10);
        assert_eq!(s.params.version, VrrpVersion::V3);
        assert!(!s.params.preempt);
        assert_eq!(s.params.garp.master_repeat, 3);
        assert_eq!(s.auth_pass, None, "no authentication in VRRPv3");
        assert_eq!(s.vips[0].prefix_len, 24);
        assert_eq!(s.vips[0].broadcast, Some(Ipv4Addr::new(10, 0, 0, 255)));
        assert_eq!(s.vips[0].label.as_deref(), Some("eth0:1"));
        assert_eq!(s.notify.generic.as_deref(), Some("/bin/n x"));
    }

    #[test]
    fn v2_pass_is_truncated_to_eight_bytes() {
        let cfg = load(
            "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 5\n\
             authentication {\n auth_type PASS\n auth_pass secret12345\n }\n\
             virtual_ipaddress {\n 10.0.0.1\n }\n}\n",
        );
        let e = engine_config(&cfg).unwrap();
        assert_eq!(&e.instances[0].auth_pass.unwrap(), b"secret12");
        assert_eq!(e.instances[0].params.version, VrrpVersion::V2);
    }
}
