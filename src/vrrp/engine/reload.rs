//! Applying a new configuration to a running engine (SIGHUP).
//!
//! Two steps, so the engine task never waits: a spawned task reads the link
//! and address tables, then the engine task checks everything that can fail
//! (interfaces, source addresses, sockets, parameters) and only then changes
//! anything, following the pure [`plan`](crate::vrrp::plan).

use super::*;
use crate::net::netlink::AddressInfo;
use crate::vrrp::plan::{self, Summary};

/// A reload whose link and address tables have been read.
pub(super) struct Prepared {
    config: EngineConfig,
    done: oneshot::Sender<Result<String, String>>,
    tables: Result<(Vec<LinkInfo>, Vec<AddressInfo>), String>,
}

/// An instance of the new configuration, checked and ready to install.
struct Ready {
    placement: Placement,
    addresses: Vec<AddressSpec>,
    routing: Arc<Routing>,
    tracked: Vec<(u32, i32, bool)>,
    params: fsm::InstanceParams,
}

impl Engine {
    /// Read the link and address tables off the engine task.
    pub(super) fn prepare_reload(
        &mut self,
        config: EngineConfig,
        done: oneshot::Sender<Result<String, String>>,
    ) {
        let nl = self.nl.clone();
        let tx = self.reload_tx.clone();
        tokio::spawn(async move {
            let tables = async {
                Ok::<_, crate::net::netlink::NetlinkError>((
                    nl.links().await?,
                    nl.addresses().await?,
                ))
            }
            .await
            .map_err(|e| format!("cannot read interfaces and addresses: {e}"));
            let _ = tx
                .send(Prepared {
                    config,
                    done,
                    tables,
                })
                .await;
        });
    }

    pub(super) fn finish_reload(&mut self, p: Prepared) {
        let result = match p.tables {
            Ok((links, addrs)) => self.apply_reload(p.config, &links, &addrs),
            Err(e) => Err(e),
        };
        let _ = p.done.send(result);
    }

    fn apply_reload(
        &mut self,
        new: EngineConfig,
        links: &[LinkInfo],
        addrs: &[AddressInfo],
    ) -> Result<String, String> {
        let plan = plan::plan(&self.config, &new);
        if plan.is_noop()
            && plan.kept.iter().all(|k| k.old == k.new)
            && new.groups.len() == self.config.groups.len()
            && new.script_user == self.config.script_user
        {
            // Nothing changes: no kernel writes, no notifies. Group notify
            // scripts may still differ: take the new specs.
            self.groups = new.groups.clone();
            self.config = new;
            return Ok(Summary(&plan).to_string());
        }
        let by_name: HashMap<&str, &LinkInfo> =
            links.iter().map(|l| (l.name.as_str(), l)).collect();
        let mut old_of_new: Vec<Option<usize>> = vec![None; new.instances.len()];
        for k in &plan.kept {
            old_of_new[k.new] = Some(k.old);
        }

        // 1. Everything that can fail, before anything changes.
        let mut ready = Vec::with_capacity(new.instances.len());
        for (n, spec) in new.instances.iter().enumerate() {
            let placement = match old_of_new[n] {
                // Kept: same socket and source address (they are the match key).
                Some(o) => {
                    let r = &self.inst[o];
                    let link = by_name
                        .get(spec.interface.as_str())
                        .map(|l| (*l).clone())
                        .ok_or_else(|| {
                            format!("instance {}: no interface {}", spec.name, spec.interface)
                        })?;
                    Placement {
                        link,
                        src: r.src,
                        group: mcast_group(spec),
                        key: r.socket_key,
                    }
                }
                None => place(spec, &by_name, addrs).map_err(|e| e.to_string())?,
            };
            let addresses = vip_addresses(spec, placement.link.index, &by_name)
                .map_err(|e| format!("instance {}: {e}", spec.name))?;
            let tracked = tracked_links(spec, &by_name);
            let mut params = spec.params.clone();
            params.primary_address = placement.src;
            params
                .validate()
                .map_err(|e| format!("instance {}: {e}", spec.name))?;
            ready.push(Ready {
                placement,
                addresses,
                routing: Arc::new(routing_of(spec, &by_name)),
                tracked,
                params,
            });
        }
        let new_socket_groups =
            socket_groups(new.instances.iter().zip(ready.iter().map(|r| &r.placement)));
        let mut opened: HashMap<(u32, bool), Arc<VrrpSocket>> = HashMap::new();
        for (key, groups) in &new_socket_groups {
            if self.sockets.contains_key(key) && self.socket_groups.get(key) == Some(groups) {
                continue;
            }
            let Some((spec, r)) = new
                .instances
                .iter()
                .zip(&ready)
                .find(|(_, r)| r.placement.key == *key)
            else {
                continue;
            };
            let sock = open_socket(spec, &r.placement, groups).map_err(|e| e.to_string())?;
            opened.insert(*key, Arc::new(sock));
        }
        // A fresh state machine per instance: the new ones start from it;
        // for kept ones it is only a spare (see the end of step 4).
        let mut machines: Vec<Option<Instance>> = Vec::with_capacity(new.instances.len());
        for (n, r) in ready.iter().enumerate() {
            machines
                .push(Some(Instance::new(r.params.clone()).map_err(|e| {
                    format!("instance {}: {e}", new.instances[n].name)
                })?));
        }

        // 2. Apply changes to kept instances in place.
        let now = self.now();
        for k in &plan.kept {
            let o = k.old;
            let spec = new.instances[k.new].clone();
            let r = &ready[k.new];
            let state = self.instance_state(o);
            let rt = &mut self.inst[o];
            let removed: Vec<AddressSpec> = rt
                .addresses
                .iter()
                .filter(|a| !r.addresses.contains(a))
                .cloned()
                .collect();
            let added: Vec<AddressSpec> = r
                .addresses
                .iter()
                .filter(|a| !rt.addresses.contains(a))
                .cloned()
                .collect();
            if !k.changes.is_empty() {
                tracing::info!(instance = %spec.name, changes = %k.changes, "reload: instance changed");
            }
            if state == State::Master {
                // Never remove an address that stays: only the difference.
                if !removed.is_empty() {
                    for a in &removed {
                        if added
                            .iter()
                            .any(|b| b.addr == a.addr && b.ifindex == a.ifindex)
                        {
                            rt.expect_removed.push((a.addr, a.ifindex));
                        }
                    }
                    let _ = rt.addr_tx.send(AddrOp::Remove(removed));
                }
                if !added.is_empty() {
                    let frames = frames_for(rt.mac, &added);
                    let _ = rt.addr_tx.send(AddrOp::Add(added));
                    let count = r.params.garp.master_repeat.max(1);
                    let _ = rt.addr_tx.send(AddrOp::Announce { frames, count });
                }
                // Routes and rules: likewise only the difference.
                let (gone, new_ones) = rt.routing.difference(&r.routing);
                if !gone.is_empty() {
                    let _ = rt.addr_tx.send(AddrOp::RemoveRouting(Arc::new(gone)));
                }
                if !new_ones.is_empty() {
                    let _ = rt.addr_tx.send(AddrOp::AddRouting(Arc::new(new_ones)));
                }
            }
            rt.routing = r.routing.clone();
            rt.rx = rx_params(&spec, r.placement.group, rt.socket_key.1);
            rt.group = r.placement.group;
            rt.mac = r.placement.link.mac.unwrap_or(rt.mac);
            rt.addresses = r.addresses.clone();
            rt.tracked = r.tracked.clone();
            rt.spec = spec;
            let slot = self.slots[o];
            let params = r.params.clone();
            match &mut self.units[slot.unit] {
                Unit::Single(x) => match x.reconfigure(params, now) {
                    Ok(actions) => self.perform_all(o, actions),
                    Err(e) => {
                        tracing::error!(instance = %self.inst[o].spec.name, error = %e, "reload: parameters rejected")
                    }
                },
                Unit::Group(g) => match g.reconfigure_member(slot.member, params, now) {
                    Ok(actions) => self.perform_group(slot.unit, actions),
                    Err(e) => {
                        tracing::error!(instance = %self.inst[o].spec.name, error = %e, "reload: parameters rejected")
                    }
                },
            }
        }

        // 3. Take apart the units whose grouping changes and stop removed
        // instances (priority-0 advert if MASTER, addresses removed,
        // notify_stop), while the old indices and sockets are still in place.
        let old_len = self.inst.len();
        let mut removed = vec![false; old_len];
        for &o in &plan.removed {
            removed[o] = true;
            tracing::info!(instance = %self.inst[o].spec.name, "reload: instance removed; stopping it");
        }
        let mut regrouped = vec![false; old_len];
        for k in &plan.kept {
            regrouped[k.old] = k.changes.regrouped;
        }
        let kept_group_units: Vec<usize> = plan
            .groups_kept
            .iter()
            .filter_map(|&(og, _)| self.config.groups.get(og)?.members.first().copied())
            .filter_map(|o| self.slots.get(o).map(|s| s.unit))
            .collect();
        let mut old_units: Vec<Option<Unit>> = std::mem::take(&mut self.units)
            .into_iter()
            .map(Some)
            .collect();
        let mut loose: Vec<Option<Instance>> = vec![None; old_len];
        for (u, slot_unit) in old_units.iter_mut().enumerate() {
            if kept_group_units.contains(&u) {
                continue;
            }
            // The old instances of this unit, in member order.
            let mut members: Vec<(usize, usize)> = self
                .slots
                .iter()
                .enumerate()
                .filter(|(_, s)| s.unit == u)
                .map(|(o, s)| (s.member, o))
                .collect();
            members.sort_unstable();
            let members: Vec<usize> = members.into_iter().map(|(_, o)| o).collect();
            match slot_unit.take() {
                Some(Unit::Single(mut x)) => {
                    let Some(&o) = members.first() else { continue };
                    if removed[o] {
                        let actions = x.handle(Event::Shutdown, now);
                        self.perform_all(o, actions);
                    } else if regrouped[o] {
                        loose[o] = Some(x);
                    } else {
                        *slot_unit = Some(Unit::Single(x));
                    }
                }
                Some(Unit::Group(mut g)) => {
                    if members.iter().all(|&o| removed[o]) {
                        // The whole group goes: the group's notify_stop too.
                        let actions = g.handle_group(Event::Shutdown, now);
                        self.perform_group(u, actions);
                        continue;
                    }
                    for (m, mut x) in g.into_members().into_iter().enumerate() {
                        let Some(&o) = members.get(m) else { continue };
                        if removed[o] {
                            let actions = x.handle(Event::Shutdown, now);
                            self.perform_all(o, actions);
                        } else {
                            loose[o] = Some(x);
                        }
                    }
                }
                None => {}
            }
        }

        // 4. Rebuild the tables in the new order.
        let mut old_inst: Vec<Option<RtInstance>> = std::mem::take(&mut self.inst)
            .into_iter()
            .map(Some)
            .collect();
        let old_slots = std::mem::take(&mut self.slots);
        let mut old_stats: Vec<Option<InstanceStats>> = {
            let mut s = self.stats.lock().unwrap_or_else(|p| p.into_inner());
            std::mem::take(&mut *s).into_iter().map(Some).collect()
        };
        let mut units = Vec::new();
        let mut slots: Vec<Option<Slot>> = vec![None; new.instances.len()];
        let mut started_units = Vec::new();
        let mut pending: Vec<(usize, Vec<GroupAction>)> = Vec::new();
        for &(og, ng) in &plan.groups_kept {
            let Some(&first_old) = self.config.groups.get(og).and_then(|g| g.members.first())
            else {
                continue;
            };
            let Some(unit) = old_slots
                .get(first_old)
                .and_then(|s| old_units.get_mut(s.unit))
                .and_then(Option::take)
            else {
                continue;
            };
            for (m, &n) in new.groups[ng].members.iter().enumerate() {
                slots[n] = Some(Slot {
                    unit: units.len(),
                    member: m,
                });
            }
            units.push(unit);
        }
        for k in &plan.kept {
            if slots[k.new].is_some() || k.changes.regrouped {
                continue;
            }
            if let Some(unit) = old_slots
                .get(k.old)
                .and_then(|s| old_units.get_mut(s.unit))
                .and_then(Option::take)
            {
                slots[k.new] = Some(Slot {
                    unit: units.len(),
                    member: 0,
                });
                units.push(unit);
            }
        }
        // A machine for new index `n`: a kept one set loose, or a new one.
        let mut take_machine = |n: usize| -> Option<Instance> {
            match old_of_new.get(n).copied().flatten() {
                Some(o) => loose.get_mut(o).and_then(Option::take),
                None => machines.get_mut(n).and_then(Option::take),
            }
        };
        for (ng, g) in new.groups.iter().enumerate() {
            if plan.groups_kept.iter().any(|&(_, n)| n == ng) {
                continue;
            }
            let mut members = Vec::new();
            let mut member_idx = Vec::new();
            for &n in &g.members {
                if slots[n].is_some() {
                    continue;
                }
                if let Some(m) = take_machine(n) {
                    members.push(m);
                    member_idx.push(n);
                }
            }
            if members.is_empty() {
                continue;
            }
            match SyncGroup::regroup(members, now) {
                Ok((sg, actions)) => {
                    let u = units.len();
                    for (m, &n) in member_idx.iter().enumerate() {
                        slots[n] = Some(Slot { unit: u, member: m });
                    }
                    if sg.state() == State::Init {
                        started_units.push(u);
                    } else {
                        pending.push((u, actions));
                    }
                    units.push(Unit::Group(sg));
                }
                Err(e) => {
                    tracing::error!(group = %g.name, error = %e, "reload: sync group not formed")
                }
            }
        }
        for (n, slot) in slots.iter_mut().enumerate() {
            if slot.is_some() {
                continue;
            }
            if let Some(machine) = take_machine(n) {
                *slot = Some(Slot {
                    unit: units.len(),
                    member: 0,
                });
                if machine.state() == State::Init {
                    started_units.push(units.len());
                }
                units.push(Unit::Single(machine));
            }
        }

        let ready_params: Vec<fsm::InstanceParams> =
            ready.iter().map(|r| r.params.clone()).collect();
        let mut inst = Vec::with_capacity(new.instances.len());
        let mut stats = Vec::with_capacity(new.instances.len());
        let mut fresh = Vec::new();
        for (n, (spec, r)) in new.instances.iter().zip(ready).enumerate() {
            match old_of_new[n].and_then(|o| old_inst.get_mut(o).and_then(Option::take)) {
                Some(rt) => {
                    let mut st = old_of_new[n]
                        .and_then(|o| old_stats.get_mut(o).and_then(Option::take))
                        .unwrap_or_else(|| InstanceStats::fresh(spec));
                    st.name = spec.name.clone();
                    stats.push(st);
                    inst.push(rt);
                }
                None => {
                    let (rt, worker) = RtInstance::new(
                        spec.clone(),
                        r.placement,
                        r.addresses,
                        Arc::unwrap_or_clone(r.routing),
                        r.tracked,
                        &self.nl,
                        &self.frames,
                    );
                    self.workers.push(worker);
                    stats.push(InstanceStats::fresh(spec));
                    inst.push(rt);
                    fresh.push(n);
                }
            }
        }
        // Every slot must point somewhere. An instance without a unit here
        // (not expected: a sync group that could not be formed) starts alone
        // from its spare machine.
        let mut slot_list = Vec::with_capacity(slots.len());
        for (n, s) in slots.into_iter().enumerate() {
            if let Some(s) = s {
                slot_list.push(s);
                continue;
            }
            let machine = machines
                .get_mut(n)
                .and_then(Option::take)
                .or_else(|| Instance::new(ready_params[n].clone()).ok());
            if let Some(m) = machine {
                tracing::error!(instance = %new.instances[n].name, "reload: instance started on its own");
                slot_list.push(Slot {
                    unit: units.len(),
                    member: 0,
                });
                started_units.push(units.len());
                units.push(Unit::Single(m));
            }
        }
        // Dropping the old run-time instances closes their address queues:
        // each worker finishes its queue (the removals above) and exits.
        drop(old_inst);
        drop(old_units);
        self.inst = inst;
        self.index_vrids();
        self.units = units;
        self.slots = slot_list;
        {
            let mut s = self.stats.lock().unwrap_or_else(|p| p.into_inner());
            *s = stats;
        }

        // 5. Sockets: new ones in, unused ones out.
        let stale: Vec<(u32, bool)> = self
            .sockets
            .keys()
            .filter(|k| !new_socket_groups.contains_key(k))
            .copied()
            .collect();
        // The run loop polls the new set after this returns.
        for key in stale {
            self.sockets.remove(&key);
        }
        for (key, sock) in opened {
            self.sockets.insert(key, sock);
        }
        self.socket_groups = new_socket_groups;
        self.groups = new.groups.clone();
        self.script_user = new.script_user;
        if !new.notify_timeout.is_zero() {
            self.notify_timeout = new.notify_timeout;
        }
        self.config = new;

        // Links that appeared since start (their events are normally seen,
        // but a fresh table costs nothing here).
        for l in links {
            self.links.entry(l.index).or_insert(l.up);
        }

        // 6. Regrouped sync groups bring their members in line; start what
        // is new; re-read links for changed trackers.
        for (u, actions) in pending {
            self.perform_group(u, actions);
        }
        for k in &plan.kept {
            if k.changes.track_interfaces {
                self.refresh_link_faults(k.new);
            }
        }
        for &n in &fresh {
            self.refresh_link_faults(n);
        }
        let now = self.now();
        for u in started_units {
            self.unit_event(u, Event::Startup, now);
        }
        for i in 0..self.inst.len() {
            // The stats table was rebuilt: write every row again.
            self.inst[i].published = None;
            self.refresh_stats(i);
        }
        Ok(Summary(&plan).to_string())
    }
}
