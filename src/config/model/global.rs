//! `global_defs` and the top-level process options.
//!
//! Every keyword keepalived 2.2.7 (as built by Debian: VRRP, LVS, BFD, SNMP,
//! DBus, nftables, VMAC, no iptables/ipset) accepts in `global_defs` has a
//! field here, named after the keyword.  Deprecated synonyms map onto the
//! modern field (`lvs_flush_onstop` → `lvs_flush_on_stop`, `lvs_process_name` →
//! `checker_process_name`, `*_rlimit_rtime` → `*_rlimit_rttime`,
//! `enable_snmp_keepalived` → `enable_snmp_vrrp`, `vrrp_vmac_garp_intvl` →
//! `vrrp_garp_extra_if`).  Defaults are keepalived's; `Option` marks the
//! settings keepalived treats differently when they are absent.
use super::ScriptUser;
use crate::config::values::Timer;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// keepalived's default IPv4 VRRP multicast group (RFC 3768 §5.2.2).
pub const DEFAULT_MCAST_GROUP4: IpAddr = IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18));
/// keepalived's default IPv6 VRRP multicast group (RFC 5798 §5.1.2.2).
pub const DEFAULT_MCAST_GROUP6: IpAddr = IpAddr::V6(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12));
/// The nftables table keepalived uses for VRRP when none is named.
pub const DEFAULT_NFTABLES_TABLE: &str = "keepalived";
/// The nftables table keepalived uses for IPVS when none is named.
pub const DEFAULT_NFTABLES_IPVS_TABLE: &str = "keepalived_ipvs";

/// `global_defs { ... }`, plus the process options keepalived also accepts at
/// the top level (`net_namespace`, `instance`, ...), which live here too.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GlobalDefs {
    // ----- top-level process options -----
    /// `net_namespace NAME`: run in this network namespace (implies `use_pid_dir`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub net_namespace: Option<String>,
    /// `net_namespace_ipvs [NAME]`: the namespace IPVS lives in; empty = the
    /// default namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub net_namespace_ipvs: Option<String>,
    /// `namespace_with_ipsets`: ipsets are per-namespace.
    pub namespace_with_ipsets: bool,
    /// `instance NAME`: an instance name, used in pid and data file names
    /// (implies `use_pid_dir`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// `use_pid_dir`: pid files go in /run/keepalived/.
    pub use_pid_dir: bool,
    /// `child_wait_time SECS`: how long to wait for children at shutdown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub child_wait_time: Option<u32>,
    /// `linkbeat_use_polling` (top level): poll link state instead of netlink.
    pub linkbeat_use_polling: bool,

    // ----- process names (`process_names` sets the three child names to
    // keepalived_vrrp, keepalived_lvs and keepalived_bfd) -----
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vrrp_process_name: Option<String>,
    /// Also `lvs_process_name` (deprecated).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checker_process_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bfd_process_name: Option<String>,

    // ----- identity and e-mail -----
    /// `router_id NAME` (default: the host name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub router_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notification_email_from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_server: Option<SmtpServer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_helo_name: Option<String>,
    /// `smtp_connect_timeout SECS` (default 30).
    pub smtp_connect_timeout: u32,
    /// `notification_email { ADDR ... }`, in config order.
    pub notification_email: Vec<String>,
    /// `smtp_alert [BOOL]`; unset means "per-block setting decides".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_alert: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_alert_vrrp: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_alert_checker: Option<bool>,
    pub no_email_faults: bool,
    pub checker_log_all_failures: bool,
    pub no_checker_emails: bool,

    // ----- scripts -----
    /// `script_user USER [GROUP]`: the default user scripts run as (else
    /// `keepalived_script` if it exists, else root).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub script_user: Option<ScriptUser>,
    /// `enable_script_security`: refuse scripts that run as root but can be
    /// modified by a non-root user.
    pub enable_script_security: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub startup_script: Option<GlobalScript>,
    /// `startup_script_timeout SECS` in [1, 1000] (default 10).
    pub startup_script_timeout: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shutdown_script: Option<GlobalScript>,
    /// `shutdown_script_timeout SECS` in [1, 1000] (default 10).
    pub shutdown_script_timeout: u32,

    // ----- notify FIFOs -----
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_fifo: Option<NotifyFifo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_fifo_script: Option<GlobalScript>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vrrp_notify_fifo: Option<NotifyFifo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vrrp_notify_fifo_script: Option<GlobalScript>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lvs_notify_fifo: Option<NotifyFifo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lvs_notify_fifo_script: Option<GlobalScript>,
    /// `vrrp_notify_priority_changes [BOOL]`: report priority changes on the FIFO.
    pub vrrp_notify_priority_changes: bool,
    pub fifo_write_vrrp_states_on_reload: bool,
    /// `rs_init_notifies [BOOL]`: run real-server notifies for the initial state.
    pub rs_init_notifies: bool,

    // ----- VRRP defaults -----
    /// `vrrp_version 2|3` (default 2).
    pub vrrp_version: u8,
    pub vrrp_mcast_group4: IpAddr,
    pub vrrp_mcast_group6: IpAddr,
    /// `vrrp_garp_master_delay SECS` (default 5).
    pub vrrp_garp_master_delay: u32,
    /// `vrrp_garp_master_repeat N` (default 5).
    pub vrrp_garp_master_repeat: u32,
    /// `vrrp_garp_master_refresh SECS` (default 0 = none).
    pub vrrp_garp_master_refresh: u32,
    /// `vrrp_garp_master_refresh_repeat N` (default 1).
    pub vrrp_garp_master_refresh_repeat: u32,
    /// `vrrp_garp_lower_prio_delay SECS` (default: the master delay).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vrrp_garp_lower_prio_delay: Option<u32>,
    /// `vrrp_garp_lower_prio_repeat N` (default: the master repeat).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vrrp_garp_lower_prio_repeat: Option<u32>,
    /// `vrrp_garp_interval SECS` (decimal): gap between gratuitous ARPs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vrrp_garp_interval: Option<Timer>,
    /// `vrrp_gna_interval SECS` (decimal): gap between unsolicited NAs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vrrp_gna_interval: Option<Timer>,
    /// `vrrp_min_garp [BOOL]`: one GARP, no repeat, no refresh, no delay.  Its
    /// effect is already applied to the four settings above (it only changes
    /// the ones still at their defaults when it is read, as keepalived does).
    pub vrrp_min_garp: bool,
    /// `vrrp_garp_extra_if [all] SECS` (also `vrrp_vmac_garp_intvl`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vrrp_garp_extra_if: Option<GlobalGarpExtraIf>,
    /// `vrrp_down_timer_adverts N` in [1, 100] (default 3).
    pub vrrp_down_timer_adverts: u32,
    pub vrrp_lower_prio_no_advert: bool,
    pub vrrp_higher_prio_send_advert: bool,
    pub vrrp_check_unicast_src: bool,
    pub vrrp_skip_check_adv_addr: bool,
    pub vrrp_strict: bool,
    /// `vrrp_startup_delay SECS` (decimal, >= 0.001).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vrrp_startup_delay: Option<Timer>,
    pub log_unknown_vrids: bool,
    /// `dynamic_interfaces [allow_if_changes]`.
    pub dynamic_interfaces: bool,
    pub dynamic_interfaces_allow_if_changes: bool,
    /// `default_interface IFNAME`: for static addresses and instances without one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_interface: Option<String>,
    pub disable_local_igmp: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vmac_prefix: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vmac_addr_prefix: Option<String>,

    // ----- firewall -----
    /// `vrrp_iptables [IN [OUT]]`: the chains as written.  keepalived 2.2.7
    /// without iptables support (Debian's) uses nftables instead, so this also
    /// sets `nftables`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vrrp_iptables: Option<Vec<String>>,
    /// `nftables [TABLE]` (bare: "keepalived").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nftables: Option<String>,
    /// `nftables_priority N` (default -1).
    pub nftables_priority: i32,
    pub nftables_ifindex: bool,
    /// `nftables_ipvs [TABLE]` (bare: "keepalived_ipvs").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nftables_ipvs: Option<String>,
    /// `nftables_ipvs_priority N` (default -1).
    pub nftables_ipvs_priority: i32,
    /// `nftables_ipvs_start_fwmark N` (default 1000).
    pub nftables_ipvs_start_fwmark: u32,
    pub nftables_counters: bool,

    // ----- LVS -----
    pub lvs_timeouts: LvsTimeouts,
    /// `lvs_flush`: flush the IPVS table at startup.
    pub lvs_flush: bool,
    /// `lvs_flush_on_stop [VS]` (also `lvs_flush_onstop`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lvs_flush_on_stop: Option<LvsFlushOnStop>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lvs_sync_daemon: Option<LvsSyncDaemon>,

    // ----- scheduling, per process -----
    pub vrrp_process: ProcessScheduling,
    pub checker_process: ProcessScheduling,
    pub bfd_process: ProcessScheduling,
    /// `max_auto_priority [N]`: N in [-1, 99]; bare = 99.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_auto_priority: Option<i32>,
    /// `min_auto_priority_delay USECS` in [1, 10000000] (default 1000000).
    pub min_auto_priority_delay: u32,

    // ----- netlink and receive buffers -----
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vrrp_netlink_cmd_rcv_bufs: Option<u32>,
    pub vrrp_netlink_cmd_rcv_bufs_force: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vrrp_netlink_monitor_rcv_bufs: Option<u32>,
    pub vrrp_netlink_monitor_rcv_bufs_force: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process_monitor_rcv_bufs: Option<u32>,
    pub process_monitor_rcv_bufs_force: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lvs_netlink_cmd_rcv_bufs: Option<u32>,
    pub lvs_netlink_cmd_rcv_bufs_force: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lvs_netlink_monitor_rcv_bufs: Option<u32>,
    pub lvs_netlink_monitor_rcv_bufs_force: bool,
    pub vrrp_rx_bufs_policy: RxBufsPolicy,
    /// `vrrp_rx_bufs_multiplier N` (default 3).
    pub vrrp_rx_bufs_multiplier: u32,

    // ----- SNMP and DBus -----
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snmp_socket: Option<String>,
    pub enable_traps: bool,
    /// Also `enable_snmp_keepalived` (deprecated).
    pub enable_snmp_vrrp: bool,
    /// `enable_snmp_rfc` sets both of these.
    pub enable_snmp_rfcv2: bool,
    pub enable_snmp_rfcv3: bool,
    pub enable_snmp_checker: bool,
    pub enable_dbus: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dbus_service_name: Option<String>,

    // ----- files, reload, misc -----
    /// `umask VALUE`: the permission bits, e.g. 0o022.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub umask: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub random_seed: Option<u32>,
    /// `reload_check_config [FILE]` (bare: /dev/null).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reload_check_config: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reload_time_file: Option<String>,
    pub reload_repeat: bool,
    /// `reload_file [FILE]`; empty = keepalived's default location (which
    /// depends on `instance` and `use_pid_dir`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reload_file: Option<String>,
    /// `include_check [+|-]TYPE ...`, the valid words as written; an empty
    /// list (bare keyword) means all four checks (read, match,
    /// wildcard_match, brace_match).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub include_check: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_save_dir: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tmp_config_directory: Option<String>,
    pub data_use_instance: bool,
}

impl Default for GlobalDefs {
    fn default() -> Self {
        GlobalDefs {
            net_namespace: None,
            net_namespace_ipvs: None,
            namespace_with_ipsets: false,
            instance: None,
            use_pid_dir: false,
            child_wait_time: None,
            linkbeat_use_polling: false,
            process_name: None,
            vrrp_process_name: None,
            checker_process_name: None,
            bfd_process_name: None,
            router_id: None,
            notification_email_from: None,
            smtp_server: None,
            smtp_helo_name: None,
            smtp_connect_timeout: 30,
            notification_email: Vec::new(),
            smtp_alert: None,
            smtp_alert_vrrp: None,
            smtp_alert_checker: None,
            no_email_faults: false,
            checker_log_all_failures: false,
            no_checker_emails: false,
            script_user: None,
            enable_script_security: false,
            startup_script: None,
            startup_script_timeout: 10,
            shutdown_script: None,
            shutdown_script_timeout: 10,
            notify_fifo: None,
            notify_fifo_script: None,
            vrrp_notify_fifo: None,
            vrrp_notify_fifo_script: None,
            lvs_notify_fifo: None,
            lvs_notify_fifo_script: None,
            vrrp_notify_priority_changes: false,
            fifo_write_vrrp_states_on_reload: false,
            rs_init_notifies: false,
            vrrp_version: 2,
            vrrp_mcast_group4: DEFAULT_MCAST_GROUP4,
            vrrp_mcast_group6: DEFAULT_MCAST_GROUP6,
            vrrp_garp_master_delay: 5,
            vrrp_garp_master_repeat: 5,
            vrrp_garp_master_refresh: 0,
            vrrp_garp_master_refresh_repeat: 1,
            vrrp_garp_lower_prio_delay: None,
            vrrp_garp_lower_prio_repeat: None,
            vrrp_garp_interval: None,
            vrrp_gna_interval: None,
            vrrp_min_garp: false,
            vrrp_garp_extra_if: None,
            vrrp_down_timer_adverts: 3,
            vrrp_lower_prio_no_advert: false,
            vrrp_higher_prio_send_advert: false,
            vrrp_check_unicast_src: false,
            vrrp_skip_check_adv_addr: false,
            vrrp_strict: false,
            vrrp_startup_delay: None,
            log_unknown_vrids: false,
            dynamic_interfaces: false,
            dynamic_interfaces_allow_if_changes: false,
            default_interface: None,
            disable_local_igmp: false,
            vmac_prefix: None,
            vmac_addr_prefix: None,
            vrrp_iptables: None,
            nftables: None,
            nftables_priority: -1,
            nftables_ifindex: false,
            nftables_ipvs: None,
            nftables_ipvs_priority: -1,
            nftables_ipvs_start_fwmark: 1000,
            nftables_counters: false,
            lvs_timeouts: LvsTimeouts::default(),
            lvs_flush: false,
            lvs_flush_on_stop: None,
            lvs_sync_daemon: None,
            vrrp_process: ProcessScheduling::default(),
            checker_process: ProcessScheduling::default(),
            bfd_process: ProcessScheduling::default(),
            max_auto_priority: None,
            min_auto_priority_delay: 1_000_000,
            vrrp_netlink_cmd_rcv_bufs: None,
            vrrp_netlink_cmd_rcv_bufs_force: false,
            vrrp_netlink_monitor_rcv_bufs: None,
            vrrp_netlink_monitor_rcv_bufs_force: false,
            process_monitor_rcv_bufs: None,
            process_monitor_rcv_bufs_force: false,
            lvs_netlink_cmd_rcv_bufs: None,
            lvs_netlink_cmd_rcv_bufs_force: false,
            lvs_netlink_monitor_rcv_bufs: None,
            lvs_netlink_monitor_rcv_bufs_force: false,
            vrrp_rx_bufs_policy: RxBufsPolicy::default(),
            vrrp_rx_bufs_multiplier: 3,
            snmp_socket: None,
            enable_traps: false,
            enable_snmp_vrrp: false,
            enable_snmp_rfcv2: false,
            enable_snmp_rfcv3: false,
            enable_snmp_checker: false,
            enable_dbus: false,
            dbus_service_name: None,
            umask: None,
            random_seed: None,
            reload_check_config: None,
            reload_time_file: None,
            reload_repeat: false,
            reload_file: None,
            include_check: None,
            config_save_dir: None,
            tmp_config_directory: None,
            data_use_instance: false,
        }
    }
}

impl GlobalDefs {
    /// The router id in use: `router_id`, else (as keepalived) the host's
    /// name.  keepalived takes the canonical DNS name of the node name and
    /// "[unknown]" when that lookup fails; this uses the node name itself,
    /// which is what that lookup gives for a name without a domain.
    pub fn effective_router_id(&self) -> String {
        if let Some(id) = &self.router_id {
            return id.clone();
        }
        nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "[unknown]".to_owned())
    }
}

/// A command configured in global_defs (`startup_script`, `shutdown_script`,
/// `*notify_fifo_script`): `COMMAND [USER [GROUP]]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GlobalScript {
    /// The command line (split into arguments when it is run).
    pub script: String,
    /// The user to run it as (default: the global script user).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<ScriptUser>,
}

/// `[vrrp_|lvs_]notify_fifo PATH [USER [GROUP]]`: a FIFO keepalived writes
/// state changes to; USER owns it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifyFifo {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<ScriptUser>,
}

/// `smtp_server HOST [PORT]`: HOST is an address or a DNS name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpServer {
    pub host: String,
    pub port: u16,
}

impl Default for SmtpServer {
    fn default() -> Self {
        SmtpServer {
            host: String::new(),
            port: 25,
        }
    }
}

/// `vrrp_garp_extra_if [all] SECS`: send GARPs on the underlying interfaces of
/// VMACs every SECS (all interfaces with `all`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GlobalGarpExtraIf {
    pub interval: u32,
    pub all: bool,
}

/// `lvs_timeouts [tcp N] [tcpfin N] [udp N]`: IPVS connection timeouts in
/// seconds; unset ones are left as the kernel has them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LvsTimeouts {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcpfin: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub udp: Option<u32>,
}

/// What `lvs_flush_on_stop` removes at shutdown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LvsFlushOnStop {
    /// Bare keyword: the whole IPVS table.
    Full,
    /// `VS`: only the virtual servers keepalived configured.
    Vs,
}

/// `lvs_sync_daemon IFNAME [inst VRRP_INSTANCE] [id SYNCID] [maxlen N]
/// [port N] [ttl N] [group ADDR]` (also the old positional form
/// `IFNAME VRRP_INSTANCE [SYNCID]`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LvsSyncDaemon {
    pub interface: String,
    /// The VRRP instance whose state starts/stops the master/backup daemons.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inst: Option<String>,
    /// The sync id (default: the instance's virtual_router_id, else 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maxlen: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<IpAddr>,
}

/// Scheduling knobs of one child process (`vrrp_*`, `checker_*`, `bfd_*`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProcessScheduling {
    /// `*_priority N`: nice value in [-20, 19].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
    /// `*_no_swap`: lock the process in memory.
    pub no_swap: bool,
    /// `*_rt_priority N`: SCHED_RR priority in [1, 99].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rt_priority: Option<i32>,
    /// `*_cpu_affinity CPU ...`.
    pub cpu_affinity: Vec<u32>,
    /// `*_rlimit_rttime USECS`: RLIMIT_RTTIME.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rlimit_rttime: Option<u32>,
}

/// `vrrp_rx_bufs_policy MTU|ADVERT|SIZE`: how big the VRRP receive buffers are.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RxBufsPolicy {
    pub mtu: bool,
    pub advert: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u32>,
}
