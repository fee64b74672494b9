//! The command line, compatible with keepalived(8) 2.2.x.
//!
//! Every option keepalived accepts is accepted here.  Those keepalived-rs does
//! not act on yet are reported with a warning by [`Cli::unimplemented_flags`]
//! instead of being refused, so existing unit files and scripts keep working.

use clap::{ArgAction, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

pub const DEFAULT_CONFIG: &str = "/etc/keepalived/keepalived.conf";

/// Formats of `--dump-config`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DumpFormat {
    Json,
    Toml,
}

#[derive(Debug, Parser)]
#[command(
    name = "keepalived-rs",
    version,
    about = "A memory-safe, drop-in replacement for keepalived: VRRP, health checks and IPVS",
    disable_version_flag = true
)]
pub struct Cli {
    /// Use the specified configuration file (keepalived.conf syntax, or TOML if it ends in .toml)
    #[arg(short = 'f', long = "use-file", value_name = "FILE", default_value = DEFAULT_CONFIG)]
    pub use_file: PathBuf,

    /// Only run the VRRP subsystem
    #[arg(short = 'P', long = "vrrp")]
    pub vrrp: bool,

    /// Only run the health-checker (and IPVS) subsystem
    #[arg(short = 'C', long = "check")]
    pub check: bool,

    /// Don't run the BFD subsystem
    #[arg(short = 'B', long = "no_bfd")]
    pub no_bfd: bool,

    /// Run every subsystem, even those with no configuration
    #[arg(long = "all")]
    pub all: bool,

    /// Log messages to the console
    #[arg(short = 'l', long = "log-console")]
    pub log_console: bool,

    /// Detailed log messages
    #[arg(short = 'D', long = "log-detail")]
    pub log_detail: bool,

    /// Syslog facility: 0-7, local0-7, user or daemon
    #[arg(short = 'S', long = "log-facility", value_name = "FACILITY")]
    pub log_facility: Option<String>,

    /// Don't log via syslog
    #[arg(short = 'G', long = "no-syslog")]
    pub no_syslog: bool,

    /// Log to this file
    #[arg(short = 'g', long = "log-file", value_name = "FILE")]
    pub log_file: Option<PathBuf>,

    /// Flush the log file after each write
    #[arg(long = "flush-log-file")]
    pub flush_log_file: bool,

    /// umask for file creation (numeric)
    #[arg(short = 'u', long = "umask", value_name = "MASK")]
    pub umask: Option<String>,

    /// Drop VIPs on transition from signal
    #[arg(short = 'X', long = "release-vips")]
    pub release_vips: bool,

    /// Don't remove VRRP VIPs and routes on stop
    #[arg(short = 'V', long = "dont-release-vrrp")]
    pub dont_release_vrrp: bool,

    /// Don't remove the IPVS topology on stop
    #[arg(short = 'I', long = "dont-release-ipvs")]
    pub dont_release_ipvs: bool,

    /// Don't respawn child processes
    #[arg(short = 'R', long = "dont-respawn")]
    pub dont_respawn: bool,

    /// Don't fork: stay in the foreground
    #[arg(short = 'n', long = "dont-fork")]
    pub dont_fork: bool,

    /// Dump the configuration data (keepalived's -d; ours prints the typed model)
    #[arg(short = 'd', long = "dump-conf")]
    pub dump_conf: bool,

    /// Pid file of the main process
    #[arg(short = 'p', long = "pid", value_name = "FILE")]
    pub pid: Option<PathBuf>,

    /// Pid file of the VRRP subsystem
    #[arg(short = 'r', long = "vrrp_pid", value_name = "FILE")]
    pub vrrp_pid: Option<PathBuf>,

    /// Pid file of the checker subsystem
    #[arg(short = 'c', long = "checkers_pid", value_name = "FILE")]
    pub checkers_pid: Option<PathBuf>,

    /// Pid file of the BFD subsystem
    #[arg(short = 'b', long = "bfd_pid", value_name = "FILE")]
    pub bfd_pid: Option<PathBuf>,

    /// Report all address additions/deletions seen via netlink
    #[arg(short = 'a', long = "address-monitoring")]
    pub address_monitoring: bool,

    /// Enable the SNMP subsystem
    #[arg(short = 'x', long = "snmp")]
    pub snmp: bool,

    /// SNMP master agent socket
    #[arg(short = 'A', long = "snmp-agent-socket", value_name = "FILE")]
    pub snmp_agent_socket: Option<String>,

    /// Run in network namespace NAME
    #[arg(short = 's', long = "namespace", value_name = "NAME")]
    pub namespace: Option<String>,

    /// Produce a core dump on abnormal termination
    #[arg(short = 'm', long = "core-dump")]
    pub core_dump: bool,

    /// Also set /proc/sys/kernel/core_pattern
    #[arg(short = 'M', long = "core-dump-pattern", value_name = "PATTERN",
          num_args = 0..=1, require_equals = true, default_missing_value = "core")]
    pub core_dump_pattern: Option<String>,

    /// Error if any configuration file is missing
    #[arg(short = 'e', long = "all-config")]
    pub all_config: bool,

    /// Config id for '@' conditional lines (default: the short host name)
    #[arg(short = 'i', long = "config-id", value_name = "ID")]
    pub config_id: Option<String>,

    /// Print the signal number for STOP, RELOAD, DATA, STATS, STATS_CLEAR, JSON
    #[arg(long = "signum", value_name = "SIGFUNC")]
    pub signum: Option<String>,

    /// Check the configuration and exit (diagnostics to stderr, or to FILE).
    /// Exit codes as keepalived(8): 0 OK, 3 cannot run, 4 errors but would run,
    /// 5 scripts configured without script security.
    #[arg(short = 't', long = "config-test", value_name = "FILE",
          num_args = 0..=1, require_equals = true, default_missing_value = "")]
    pub config_test: Option<String>,

    /// Performance logging (accepted for compatibility)
    #[arg(long = "perf", value_name = "WHAT", num_args = 0..=1, require_equals = true,
          default_missing_value = "a")]
    pub perf: Option<String>,

    /// Debug options (accepted for compatibility)
    #[arg(long = "debug", value_name = "OPTS", num_args = 0..=1, require_equals = true,
          default_missing_value = "")]
    pub debug: Option<String>,

    /// Disable memory checks (accepted for compatibility)
    #[arg(long = "no-mem-check")]
    pub no_mem_check: bool,

    /// Ignore SIGINT (accepted for compatibility)
    #[arg(long = "ignore-sigint")]
    pub ignore_sigint: bool,

    /// Print the typed configuration model as JSON or TOML and exit
    #[arg(long = "dump-config", value_name = "FORMAT", value_enum)]
    pub dump_config: Option<DumpFormat>,

    /// Where SIGUSR1 (state), SIGUSR2 (statistics) and the JSON dump are
    /// written: keepalived-rs.data, keepalived-rs.stats, keepalived-rs.json
    #[arg(long = "dump-dir", value_name = "DIR", default_value = "/tmp")]
    pub dump_dir: PathBuf,

    /// List every configuration keyword keepalived-rs knows, with its support level
    #[arg(long = "keywords")]
    pub keywords: bool,

    /// Display the version number
    #[arg(short = 'v', long = "version", action = ArgAction::SetTrue)]
    pub version: bool,

    /// The daemon's control socket (root only), used by `keepalived-rs status`
    #[arg(long = "control-socket", value_name = "PATH", global = true,
          default_value = crate::daemon::status::DEFAULT_SOCKET)]
    pub control_socket: PathBuf,

    /// Serve Prometheus metrics on http://ADDR:PORT/metrics
    #[arg(long = "metrics", value_name = "ADDR:PORT")]
    pub metrics: Option<std::net::SocketAddr>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Commands that talk to a running daemon instead of being one.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the running daemon's state: each VRRP instance's state,
    /// priorities, master, last transition and advert counters; reloads.
    Status {
        /// Print the daemon's JSON answer as it is
        #[arg(long)]
        json: bool,
    },
}

impl Cli {
    /// keepalived options this build accepts but does not act on.
    pub fn unimplemented_flags(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        let flags: [(&'static str, bool); 17] = [
            ("--all", self.all),
            ("-S/--log-facility", self.log_facility.is_some()),
            ("-G/--no-syslog", self.no_syslog),
            ("-g/--log-file", self.log_file.is_some()),
            ("--flush-log-file", self.flush_log_file),
            ("-u/--umask", self.umask.is_some()),
            ("-X/--release-vips", self.release_vips),
            ("-R/--dont-respawn", self.dont_respawn),
            ("-b/--bfd_pid", self.bfd_pid.is_some()),
            ("-a/--address-monitoring", self.address_monitoring),
            ("-x/--snmp", self.snmp),
            ("-A/--snmp-agent-socket", self.snmp_agent_socket.is_some()),
            ("-s/--namespace", self.namespace.is_some()),
            ("-m/--core-dump", self.core_dump),
            ("-M/--core-dump-pattern", self.core_dump_pattern.is_some()),
            ("--perf", self.perf.is_some()),
            ("--debug", self.debug.is_some()),
        ];
        for (name, set) in flags {
            if set {
                v.push(name);
            }
        }
        if self.no_mem_check {
            v.push("--no-mem-check");
        }
        if self.ignore_sigint {
            v.push("--ignore-sigint");
        }
        v
    }
}

/// keepalived's `--signum`: the signal that performs a function.
pub fn signum(func: &str) -> Option<i32> {
    Some(match func.to_ascii_uppercase().as_str() {
        "STOP" => libc::SIGTERM,
        "RELOAD" => libc::SIGHUP,
        "DATA" => libc::SIGUSR1,
        "STATS" => libc::SIGUSR2,
        // keepalived 2.2.7 uses real-time signals for these two (63 and 36 on Linux).
        "STATS_CLEAR" => libc::SIGRTMAX() - 1,
        "JSON" => libc::SIGRTMIN() + 2,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Cli {
        let mut v = vec!["keepalived-rs"];
        v.extend_from_slice(args);
        Cli::try_parse_from(v).unwrap()
    }

    #[test]
    fn keepalived_flags_parse() {
        let c = parse(&[
            "-n",
            "-l",
            "-D",
            "-P",
            "-f",
            "/tmp/k.conf",
            "-p",
            "/run/x.pid",
            "-i",
            "lb1",
        ]);
        assert!(c.dont_fork && c.log_console && c.log_detail && c.vrrp);
        assert_eq!(c.use_file, PathBuf::from("/tmp/k.conf"));
        assert_eq!(c.config_id.as_deref(), Some("lb1"));
        assert!(c.unimplemented_flags().is_empty());
    }

    #[test]
    fn config_test_optional_value() {
        assert_eq!(parse(&["-t"]).config_test.as_deref(), Some(""));
        assert_eq!(
            parse(&["--config-test=/tmp/log"]).config_test.as_deref(),
            Some("/tmp/log")
        );
        assert_eq!(parse(&[]).config_test, None);
        assert_eq!(parse(&[]).use_file, PathBuf::from(DEFAULT_CONFIG));
    }

    #[test]
    fn long_forms_and_unimplemented() {
        let c = parse(&[
            "--use-file=/a",
            "--dont-fork",
            "--log-facility=local3",
            "--snmp",
            "--namespace",
            "ns1",
        ]);
        assert_eq!(c.use_file, PathBuf::from("/a"));
        assert_eq!(
            c.unimplemented_flags(),
            vec!["-S/--log-facility", "-x/--snmp", "-s/--namespace"]
        );
    }

    #[test]
    fn dump_config_formats() {
        assert_eq!(
            parse(&["--dump-config=json"]).dump_config,
            Some(DumpFormat::Json)
        );
        assert_eq!(
            parse(&["--dump-config", "toml"]).dump_config,
            Some(DumpFormat::Toml)
        );
        assert!(Cli::try_parse_from(["k", "--dump-config=yaml"]).is_err());
    }

    #[test]
    fn status_and_metrics() {
        let c = parse(&["status", "--control-socket", "/tmp/x.sock"]);
        assert!(matches!(c.command, Some(Command::Status { json: false })));
        assert_eq!(c.control_socket, PathBuf::from("/tmp/x.sock"));
        let c = parse(&["--control-socket=/tmp/y.sock", "status", "--json"]);
        assert!(matches!(c.command, Some(Command::Status { json: true })));
        let c = parse(&["-n", "--metrics=127.0.0.1:9650"]);
        assert_eq!(c.metrics, Some("127.0.0.1:9650".parse().unwrap()));
        assert_eq!(
            c.control_socket,
            PathBuf::from(crate::daemon::status::DEFAULT_SOCKET)
        );
        assert!(c.command.is_none());
        assert!(Cli::try_parse_from(["k", "--metrics=nope"]).is_err());
    }

    #[test]
    fn signums() {
        assert_eq!(signum("RELOAD"), Some(libc::SIGHUP));
        assert_eq!(signum("stop"), Some(libc::SIGTERM));
        assert_eq!(signum("nope"), None);
        assert_eq!(signum("STATS_CLEAR"), Some(63));
        assert_eq!(signum("JSON"), Some(36));
    }
}
