//! The reload plan: which running instances a new configuration keeps,
//! changes, adds and removes, and which virtual addresses move. Pure: old
//! and new [`EngineConfig`] in, a [`ReloadPlan`] out; the engine performs it.
//!
//! Instances are matched as keepalived matches them on reload: by VRID,
//! address family, interface, unicast or multicast, and configured source
//! address, not by name (a renamed instance is the same instance). A matched
//! instance keeps its state machine, timers and socket; everything else about
//! it (priority, interval, addresses, peers, notify scripts, tracked
//! interfaces, authentication) is applied in place.
//!
//! Sync groups: a group with the same name and the same (matched) members in
//! the same order is kept as it is. Any other group is formed anew from its
//! members, kept ones keeping their state ([`crate::vrrp::fsm::SyncGroup::regroup`]).

use super::engine::EngineConfig;
use super::spec::{InstanceSpec, VipSpec};
use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;

/// What identifies an instance across a reload.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct InstanceKey {
    pub vrid: u8,
    pub ipv6: bool,
    pub interface: String,
    pub unicast: bool,
    pub src_ip: Option<IpAddr>,
}

impl InstanceKey {
    pub fn of(spec: &InstanceSpec) -> InstanceKey {
        InstanceKey {
            vrid: spec.params.vrid,
            ipv6: spec.is_ipv6(),
            interface: spec.interface.clone(),
            unicast: !spec.unicast_peers.is_empty(),
            src_ip: spec.src_ip,
        }
    }
}

/// What changed on a kept instance.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// (old, new) name.
    pub renamed: Option<(String, String)>,
    /// (old, new) configured priority.
    pub priority: Option<(u8, u8)>,
    /// Any state-machine parameter (interval, preempt, GARP timing, ...).
    pub params: bool,
    /// Addresses to install if MASTER (advertised or excluded).
    pub vips_added: Vec<VipSpec>,
    /// Addresses to delete if MASTER.
    pub vips_removed: Vec<VipSpec>,
    /// The advertised address list changed (order included).
    pub advertised: bool,
    pub peers: bool,
    pub notify: bool,
    pub track_interfaces: bool,
    pub auth: bool,
    pub mcast_group: bool,
    /// Any other receive or send setting (TTL, checksum, address checks, ...).
    pub other: bool,
    /// Its sync group changed (joined, left, or the group's members changed).
    pub regrouped: bool,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        *self == Changes::default()
    }
}

/// One line for the log: "priority 100 -> 110, +10.0.0.4/24, -10.0.0.1/24, notify".
impl fmt::Display for Changes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        if let Some((old, new)) = &self.renamed {
            parts.push(format!("renamed from {old} to {new}"));
        }
        if let Some((old, new)) = self.priority {
            parts.push(format!("priority {old} -> {new}"));
        }
        for v in &self.vips_added {
            parts.push(format!("+{}/{}", v.addr, v.prefix_len));
        }
        for v in &self.vips_removed {
            parts.push(format!("-{}/{}", v.addr, v.prefix_len));
        }
        let flags = [
            (self.params, "timers/preempt/garp"),
            (
                self.advertised && self.vips_added.is_empty() && self.vips_removed.is_empty(),
                "advertised list",
            ),
            (self.peers, "unicast peers"),
            (self.notify, "notify"),
            (self.track_interfaces, "tracked interfaces"),
            (self.auth, "authentication"),
            (self.mcast_group, "multicast group"),
            (self.other, "other settings"),
            (self.regrouped, "sync group"),
        ];
        parts.extend(
            flags
                .iter()
                .filter(|(on, _)| *on)
                .map(|(_, n)| (*n).to_owned()),
        );
        if parts.is_empty() {
            f.write_str("unchanged")
        } else {
            f.write_str(&parts.join(", "))
        }
    }
}

/// One kept instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kept {
    pub old: usize,
    pub new: usize,
    pub changes: Changes,
}

/// The whole plan. Indices are positions in the old and new `instances`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReloadPlan {
    pub kept: Vec<Kept>,
    /// New instances, started as at startup.
    pub added: Vec<usize>,
    /// Old instances, stopped (priority-0 advert if MASTER, addresses removed, notify_stop).
    pub removed: Vec<usize>,
    /// Sync groups kept as they are: (old index, new index).
    pub groups_kept: Vec<(usize, usize)>,
}

impl ReloadPlan {
    /// Whether the reload changes nothing at all.
    pub fn is_noop(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.kept.iter().all(|k| k.changes.is_empty())
    }
}

/// A one-line account of a plan, for the log and the reload result.
pub struct Summary<'a>(pub &'a ReloadPlan);

impl fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.0;
        let changed = p.kept.iter().filter(|k| !k.changes.is_empty()).count();
        let regrouped = p.kept.iter().filter(|k| k.changes.regrouped).count();
        let (vadd, vdel) = p.kept.iter().fold((0, 0), |(a, d), k| {
            (
                a + k.changes.vips_added.len(),
                d + k.changes.vips_removed.len(),
            )
        });
        write!(
            f,
            "{} kept ({changed} changed, {regrouped} regrouped, {vadd} addresses added, {vdel} removed), {} added, {} removed",
            p.kept.len(),
            p.added.len(),
            p.removed.len(),
        )
    }
}

/// Plan the move from `old` to `new`.
pub fn plan(old: &EngineConfig, new: &EngineConfig) -> ReloadPlan {
    let mut by_key: HashMap<InstanceKey, usize> = HashMap::new();
    for (i, spec) in old.instances.iter().enumerate() {
        // Duplicate keys cannot both run (one socket, one VRID); keep the first.
        by_key.entry(InstanceKey::of(spec)).or_insert(i);
    }
    let mut matched: Vec<Option<usize>> = vec![None; new.instances.len()];
    let mut old_taken = vec![false; old.instances.len()];
    for (n, spec) in new.instances.iter().enumerate() {
        if let Some(&o) = by_key.get(&InstanceKey::of(spec)) {
            if !old_taken[o] {
                old_taken[o] = true;
                matched[n] = Some(o);
            }
        }
    }

    // Sync groups: kept when the name and the (matched) member list agree.
    let mut groups_kept = Vec::new();
    let mut new_group_ok = vec![false; new.groups.len()];
    for (ng, g) in new.groups.iter().enumerate() {
        let Some(og) = old.groups.iter().position(|o| o.name == g.name) else {
            continue;
        };
        let old_members = &old.groups[og].members;
        let same = old_members.len() == g.members.len()
            && g.members
                .iter()
                .zip(old_members)
                .all(|(&n, &o)| matched.get(n).copied().flatten() == Some(o));
        if same {
            groups_kept.push((og, ng));
            new_group_ok[ng] = true;
        }
    }
    let mut out = ReloadPlan {
        groups_kept,
        ..ReloadPlan::default()
    };
    for (n, m) in matched.iter().enumerate() {
        let spec = &new.instances[n];
        match *m {
            None => out.added.push(n),
            Some(o) => {
                let old_spec = &old.instances[o];
                let same_grouping = match (old_spec.sync_group, spec.sync_group) {
                    (None, None) => true,
                    (Some(og), Some(ng)) => {
                        new_group_ok.get(ng).copied().unwrap_or(false)
                            && out.groups_kept.contains(&(og, ng))
                    }
                    _ => false,
                };
                let mut changes = changes(old_spec, spec);
                changes.regrouped = !same_grouping;
                out.kept.push(Kept {
                    old: o,
                    new: n,
                    changes,
                });
            }
        }
    }
    out.removed = (0..old.instances.len())
        .filter(|&o| !old_taken[o])
        .collect();
    out
}

/// All addresses an instance installs (advertised and excluded).
fn installed(spec: &InstanceSpec) -> impl Iterator<Item = &VipSpec> {
    spec.vips.iter().chain(&spec.excluded_vips)
}

fn changes(old: &InstanceSpec, new: &InstanceSpec) -> Changes {
    let old_vips: Vec<&VipSpec> = installed(old).collect();
    let new_vips: Vec<&VipSpec> = installed(new).collect();
    let mut params_old = old.params.clone();
    let mut params_new = new.params.clone();
    // Priority is reported on its own; the primary address is resolved at run time.
    params_old.priority = 0;
    params_new.priority = 0;
    params_new.primary_address = params_old.primary_address;
    Changes {
        renamed: (old.name != new.name).then(|| (old.name.clone(), new.name.clone())),
        priority: (old.params.priority != new.params.priority)
            .then_some((old.params.priority, new.params.priority)),
        params: params_old != params_new,
        vips_added: new_vips
            .iter()
            .filter(|v| !old_vips.contains(v))
            .map(|v| (*v).clone())
            .collect(),
        vips_removed: old_vips
            .iter()
            .filter(|v| !new_vips.contains(v))
            .map(|v| (*v).clone())
            .collect(),
        advertised: old
            .vips
            .iter()
            .map(|v| v.addr)
            .ne(new.vips.iter().map(|v| v.addr)),
        peers: old.unicast_peers != new.unicast_peers,
        notify: old.notify != new.notify,
        track_interfaces: old.track_interfaces != new.track_interfaces
            || old.dont_track_primary != new.dont_track_primary,
        auth: old.auth_pass != new.auth_pass,
        mcast_group: old.mcast_group != new.mcast_group,
        other: old.unicast_ttl != new.unicast_ttl
            || old.v3_checksum_as_v2 != new.v3_checksum_as_v2
            || old.skip_check_adv_addr != new.skip_check_adv_addr
            || old.check_unicast_src != new.check_unicast_src,
        regrouped: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vrrp::fsm::{InstanceParams, VrrpVersion};
    use crate::vrrp::spec::{NotifySpec, SyncGroupSpec};
    use std::net::Ipv4Addr;

    fn vip(last: u8) -> VipSpec {
        VipSpec::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, last)), 24)
    }

    fn inst(name: &str, vrid: u8, prio: u8, vips: &[u8]) -> InstanceSpec {
        let mut params =
            InstanceParams::new(VrrpVersion::V3, vrid, IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        params.priority = prio;
        InstanceSpec {
            name: name.into(),
            interface: "eth0".into(),
            params,
            vips: vips.iter().map(|&l| vip(l)).collect(),
            excluded_vips: Vec::new(),
            auth_pass: None,
            unicast_peers: Vec::new(),
            src_ip: None,
            mcast_group: None,
            unicast_ttl: 255,
            v3_checksum_as_v2: false,
            skip_check_adv_addr: false,
            check_unicast_src: false,
            dont_track_primary: false,
            track_interfaces: Vec::new(),
            notify: NotifySpec::default(),
            sync_group: None,
            routes: Vec::new(),
            rules: Vec::new(),
        }
    }

    fn cfg(instances: Vec<InstanceSpec>) -> EngineConfig {
        EngineConfig {
            instances,
            ..EngineConfig::default()
        }
    }

    #[test]
    fn unchanged_config_is_a_noop() {
        let c = cfg(vec![inst("A", 1, 100, &[1]), inst("B", 2, 100, &[2])]);
        let p = plan(&c, &c);
        assert!(p.is_noop(), "{p:?}");
        assert_eq!(p.kept.len(), 2);
        assert_eq!(
            Summary(&p).to_string(),
            "2 kept (0 changed, 0 regrouped, 0 addresses added, 0 removed), 0 added, 0 removed"
        );
    }

    #[test]
    fn matches_by_key_not_by_name_or_position() {
        let old = cfg(vec![inst("A", 1, 100, &[1]), inst("B", 2, 100, &[2])]);
        let new = cfg(vec![inst("B2", 2, 100, &[2]), inst("A", 1, 100, &[1])]);
        let p = plan(&old, &new);
        assert_eq!(p.kept.len(), 2);
        let b = p.kept.iter().find(|k| k.old == 1).unwrap();
        assert_eq!(b.new, 0);
        assert_eq!(b.changes.renamed, Some(("B".into(), "B2".into())));
        let a = p.kept.iter().find(|k| k.old == 0).unwrap();
        assert!(a.changes.is_empty());
    }

    #[test]
    fn interface_or_vrid_change_is_remove_plus_add() {
        let old = cfg(vec![inst("A", 1, 100, &[1])]);
        let mut moved = inst("A", 1, 100, &[1]);
        moved.interface = "eth1".into();
        let p = plan(&old, &cfg(vec![moved]));
        assert_eq!((p.added.clone(), p.removed.clone()), (vec![0], vec![0]));
        let p = plan(&old, &cfg(vec![inst("A", 7, 100, &[1])]));
        assert_eq!((p.added, p.removed), (vec![0], vec![0]));
        // Unicast to multicast is another instance too.
        let mut uni = inst("A", 1, 100, &[1]);
        uni.unicast_peers = vec![crate::vrrp::packet::UnicastPeer {
            addr: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9)),
            min_ttl: 0,
            max_ttl: 255,
        }];
        let p = plan(&old, &cfg(vec![uni]));
        assert_eq!(p.added.len(), 1);
    }

    #[test]
    fn vip_diff_never_touches_unchanged_addresses() {
        let old = cfg(vec![inst("A", 1, 100, &[1, 2, 3])]);
        let new = cfg(vec![inst("A", 1, 100, &[3, 2, 4])]);
        let p = plan(&old, &new);
        let c = &p.kept[0].changes;
        assert_eq!(c.vips_added, vec![vip(4)]);
        assert_eq!(c.vips_removed, vec![vip(1)]);
        assert!(c.advertised);
        assert_eq!(c.to_string(), "+10.0.0.4/24, -10.0.0.1/24");
        // A changed prefix is a different address spec: remove then add.
        let mut wider = inst("A", 1, 100, &[1, 2, 3]);
        wider.vips[0].prefix_len = 16;
        let p = plan(&old, &cfg(vec![wider]));
        let c = &p.kept[0].changes;
        assert_eq!(c.vips_removed, vec![vip(1)]);
        assert_eq!(c.vips_added.len(), 1);
        assert_eq!(c.vips_added[0].prefix_len, 16);
        // Moving an address to the excluded list keeps it installed.
        let mut excl = inst("A", 1, 100, &[1, 2]);
        excl.excluded_vips = vec![vip(3)];
        let p = plan(&old, &cfg(vec![excl]));
        let c = &p.kept[0].changes;
        assert!(c.vips_added.is_empty() && c.vips_removed.is_empty());
        assert!(c.advertised);
    }

    #[test]
    fn priority_and_params_are_reported_apart() {
        let old = cfg(vec![inst("A", 1, 100, &[1])]);
        let p = plan(&old, &cfg(vec![inst("A", 1, 150, &[1])]));
        let c = &p.kept[0].changes;
        assert_eq!(c.priority, Some((100, 150)));
        assert!(!c.params);
        let mut slower = inst("A", 1, 100, &[1]);
        slower.params.preempt = false;
        let p = plan(&old, &cfg(vec![slower]));
        assert!(p.kept[0].changes.params);
        assert_eq!(p.kept[0].changes.priority, None);
    }

    #[test]
    fn removed_and_added_instances() {
        let old = cfg(vec![inst("A", 1, 100, &[1]), inst("B", 2, 100, &[2])]);
        let new = cfg(vec![inst("A", 1, 100, &[1]), inst("C", 3, 100, &[3])]);
        let p = plan(&old, &new);
        assert_eq!(p.removed, vec![1]);
        assert_eq!(p.added, vec![1]);
        assert_eq!(p.kept.len(), 1);
    }

    fn grouped(members: &[(&str, u8)], group_members: Vec<usize>, name: &str) -> EngineConfig {
        let mut c = cfg(members
            .iter()
            .map(|(n, v)| inst(n, *v, 100, &[*v]))
            .collect());
        for &m in &group_members {
            c.instances[m].sync_group = Some(0);
        }
        c.groups = vec![SyncGroupSpec {
            name: name.into(),
            members: group_members,
            notify: NotifySpec::default(),
        }];
        c
    }

    #[test]
    fn sync_groups_kept_or_regrouped() {
        let old = grouped(&[("A", 1), ("B", 2), ("C", 3)], vec![0, 1], "G");
        // Same group, instance C changed: everything kept.
        let p = plan(
            &old,
            &grouped(&[("A", 1), ("B", 2), ("C", 3)], vec![0, 1], "G"),
        );
        assert!(p.is_noop());
        assert_eq!(p.groups_kept, vec![(0, 0)]);
        // C joins the group: the group changed, all three are regrouped.
        let p = plan(
            &old,
            &grouped(&[("A", 1), ("B", 2), ("C", 3)], vec![0, 1, 2], "G"),
        );
        assert!(p.groups_kept.is_empty());
        assert_eq!(p.kept.len(), 3);
        assert!(p.kept.iter().all(|k| k.changes.regrouped));
        // The group renamed: its members regrouped, C untouched.
        let p = plan(
            &old,
            &grouped(&[("A", 1), ("B", 2), ("C", 3)], vec![0, 1], "H"),
        );
        let regrouped: Vec<usize> = p
            .kept
            .iter()
            .filter(|k| k.changes.regrouped)
            .map(|k| k.old)
            .collect();
        assert_eq!(regrouped, vec![0, 1]);
    }
}
