//! VRRP side of the model: instances, sync groups, trackers, static and virtual
//! addresses, routes and rules.
use crate::config::values::Timer;
use serde::{Deserialize, Serialize};

macro_rules! placeholder {
    ($($name:ident),*) => {$(
        #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct $name {}
    )*};
}
placeholder!(
    TrackFile,
    TrackProcess,
    SyncGroup,
    VrrpInstance,
    IpAddressSpec,
    RouteSpec,
    RuleSpec,
    TrackGroup,
    GarpGroup,
    LinkbeatInterface,
    InterfaceUpDownDelay,
    BfdInstance
);

/// A user (and optional group) a script runs as: `user [group]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScriptUser {
    pub user: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

/// `vrrp_script NAME { ... }`: a command whose exit status tracks health.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VrrpScript {
    pub name: String,
    /// The command line as written (split into arguments when it is run).
    pub script: String,
    /// How often it runs (default 1 s).
    pub interval: Timer,
    /// Kill it after this long (default: the interval).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Timer>,
    /// Priority change: > 0 added while OK, < 0 added while failed, 0 = FAULT on failure.
    pub weight: i32,
    /// `weight N reverse`: the weight applies in the opposite state.
    pub weight_reverse: bool,
    /// Successes needed to become OK (default 1).
    pub rise: u32,
    /// Failures needed to become failed (default 1).
    pub fall: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<ScriptUser>,
    /// Start in the failed state.
    pub init_fail: bool,
}

impl Default for VrrpScript {
    fn default() -> Self {
        VrrpScript {
            name: String::new(),
            script: String::new(),
            interval: Timer::from_secs(1),
            timeout: None,
            weight: 0,
            weight_reverse: false,
            rise: 1,
            fall: 1,
            user: None,
            init_fail: false,
        }
    }
}
