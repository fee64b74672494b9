//! Script checks shared by every block that runs a command (vrrp_script,
//! notify_*, MISC_CHECK, quorum_up/down, startup/shutdown scripts, ...):
//! the script security rules of keepalived (`enable_script_security`,
//! `script_user`) and the host facts `-t` checks (the file exists, is
//! executable, and no non-root user can write it or a directory above it).
use super::Cx;
use crate::config::model::{GlobalDefs, ScriptUser};

/// What a script is used for, for messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScriptUse {
    TrackScript,
    Notify,
    Checker,
    Other,
}

/// Check one configured script. `span_key` names the definition in the
/// source map (see [`Cx::remember`]); `keyword` is the keyword it came from.
/// Returns false when the script must be disabled (keepalived disables such
/// scripts and reports a configuration error).
pub fn check_script(
    _cx: &mut Cx,
    _global: &GlobalDefs,
    _span_key: &str,
    _keyword: &str,
    _command: &str,
    _user: Option<&ScriptUser>,
    _use: ScriptUse,
) -> bool {
    true
}
