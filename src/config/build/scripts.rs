//! Script checks shared by every block that runs a command (vrrp_script,
//! notify_*, MISC_CHECK, quorum_up/down, startup/shutdown scripts, ...):
//! the script security rules of keepalived (`enable_script_security`,
//! `script_user`) and the host facts `-t` checks (the file exists, is
//! executable, and no non-root user can write it or a directory above it).
//!
//! What keepalived 2.2.7 does (lib/notify.c, vrrp.c, check_data.c, main.c),
//! and so what [`check_script`] does:
//!
//! 1. The user a script runs as: its own `user USER [GROUP]`, else the global
//!    `script_user`, else `keepalived_script` if that user exists, else root.
//!    A user or group that does not exist disables the script.  When
//!    `enable_script_security` is on and the default has to be found and
//!    `keepalived_script` does not exist, keepalived reports "Unable to set
//!    default user keepalived_script for script" (a configuration error) and
//!    every script relying on the default is disabled.
//! 2. A command whose first word starts with `</` only tests that a file can
//!    be opened; it is never executed or checked.
//! 3. A first word without `/` is searched for in `$PATH` (or `/bin:/usr/bin`
//!    when PATH is unset), as the script's user, and keepalived asks for the
//!    full path.  Anything else is taken as a path (relative to the current
//!    directory).  The path is then resolved (`realpath`), keeping the name
//!    it was called by when that still names the same file.
//! 4. The file must be executable by the script's user, else the script is
//!    disabled.
//! 5. If it will run as root (uid or gid 0, or set-uid/set-gid root), every
//!    component of its path — `/`, each directory, the file — must be owned
//!    by root, and a directory without the sticky bit or the file must not be
//!    writable by a non-root group or by everyone.  Otherwise the script is
//!    "insecure": disabled when `enable_script_security` is on, run anyway
//!    (and counted as insecure) when it is off.
//! 6. With `enable_script_security` off, finding any script that exists makes
//!    keepalived report "SECURITY VIOLATION - scripts are being executed but
//!    script_security not enabled" (its `-t` then exits 6):
//!    [`crate::config::diag::Diagnostics::script_security_violation`].
//!
//! Which of these are configuration errors (they fail `-t`) depends on the
//! kind of script, as in keepalived: a track script (`vrrp_script`) that is
//! not found or is insecure is an error ("Disabling track script X since not
//! found/accessible" / "due to insecure"), a MISC_CHECK or track script whose
//! user does not exist is an error, while notify and other scripts are only
//! logged (warnings) and dropped.  A script that is merely not executable is
//! only logged, whatever its kind.
//!
//! Without host checks (`cx.opts.check_host` false) only rule 6 applies, to
//! every script except the `</` form.
use super::Cx;
use crate::config::ast::split_command;
use crate::config::diag::Severity;
use crate::config::model::{GlobalDefs, ScriptUser};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The user keepalived runs scripts as when nothing else is configured.
pub const DEFAULT_SCRIPT_USER: &str = "keepalived_script";

/// What a script is used for, for messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScriptUse {
    /// A `vrrp_script`: its span key is `vrrp_script.NAME`, and NAME is used
    /// in messages.
    TrackScript,
    /// notify_master/backup/fault/stop/deleted, notify, notify_up/down,
    /// quorum_up/down, notify FIFO scripts.
    Notify,
    /// A MISC_CHECK's `misc_path`.
    Checker,
    /// startup/shutdown scripts and anything else run like a notify script.
    Other,
}

/// Check one configured script. `span_key` names the definition in the
/// source map (see [`Cx::remember`]); `keyword` is the keyword it came from.
/// Returns false when the script must be disabled (keepalived disables such
/// scripts; whether it also reports a configuration error depends on `use_`,
/// see the module documentation).
///
/// Callers call this only for scripts keepalived checks: the VRRP process
/// checks its scripts only when there is at least one vrrp_instance, the
/// checker process only when there is at least one virtual_server.
pub fn check_script(
    cx: &mut Cx,
    global: &GlobalDefs,
    span_key: &str,
    keyword: &str,
    command: &str,
    user: Option<&ScriptUser>,
    use_: ScriptUse,
) -> bool {
    let words = match split_command(command) {
        Ok(w) if w.first().is_some_and(|w| !w.is_empty()) => w,
        Ok(_) => {
            cx.report_at(
                Severity::Warning,
                span_key,
                keyword,
                "empty script command - ignored",
            );
            return false;
        }
        Err(e) => {
            cx.report_at(
                Severity::Warning,
                span_key,
                keyword,
                format!("unable to parse script: {e} - ignored"),
            );
            return false;
        }
    };
    let first = words[0].as_str();
    let file_open_test = first.starts_with("</");

    if !cx.opts.check_host {
        if !file_open_test && !global.enable_script_security {
            security_violation(cx, span_key, keyword, false);
        }
        return true;
    }

    let Some((uid, gid)) = script_uid_gid(cx, global, span_key, keyword, command, user, use_)
    else {
        return false;
    };
    if file_open_test {
        return true;
    }

    let path_env = std::env::var("PATH").unwrap_or_else(|_| "/bin:/usr/bin".to_owned());
    let found = examine_script(first, uid, gid, global.enable_script_security, &path_env);
    for note in &found.notes {
        cx.report_at(Severity::Warning, span_key, keyword, note.clone());
    }
    if found.is_script && !global.enable_script_security {
        security_violation(cx, span_key, keyword, found.insecure);
    }
    let name = span_key.split_once('.').map_or(span_key, |(_, n)| n);
    if found.inhibit {
        if use_ == ScriptUse::TrackScript {
            cx.report_at(
                Severity::Error,
                span_key,
                keyword,
                format!("disabling track script {name} due to insecure"),
            );
        }
        return false;
    }
    if found.not_found {
        if use_ == ScriptUse::TrackScript {
            cx.report_at(
                Severity::Error,
                span_key,
                keyword,
                format!("disabling track script {name} since not found/accessible"),
            );
        }
        return false;
    }
    found.executable
}

/// Report (once per load) that scripts run without script security.
fn security_violation(cx: &mut Cx, span_key: &str, keyword: &str, insecure: bool) {
    if cx.diags.script_security_violation {
        return;
    }
    cx.diags.script_security_violation = true;
    let more = if insecure {
        " There are insecure scripts."
    } else {
        ""
    };
    cx.report_at(
        Severity::Warning,
        span_key,
        keyword,
        format!(
            "SECURITY VIOLATION - scripts are being executed but script_security not enabled.{more}"
        ),
    );
}

/// Whether `user` (and its group) exist on this host; the error says which
/// one does not, in keepalived's words.
pub fn script_user_exists(user: &ScriptUser) -> Result<(u32, u32), String> {
    lookup_user(&user.user, user.group.as_deref())
}

fn lookup_user(user: &str, group: Option<&str>) -> Result<(u32, u32), String> {
    let pw = match nix::unistd::User::from_name(user) {
        Ok(Some(u)) => u,
        Ok(None) => return Err(format!("script user '{user}' does not exist")),
        Err(e) => return Err(format!("unable to resolve script username '{user}': {e}")),
    };
    let mut gid = pw.gid.as_raw();
    if let Some(group) = group {
        match nix::unistd::Group::from_name(group) {
            Ok(Some(g)) => gid = g.gid.as_raw(),
            Ok(None) => return Err(format!("script group '{group}' does not exist")),
            Err(e) => {
                return Err(format!(
                    "unable to resolve script group name '{group}': {e}"
                ))
            }
        }
    }
    Ok((pw.uid.as_raw(), gid))
}

/// The uid/gid a script runs as (rule 1), reporting as keepalived does when
/// it cannot be determined.
fn script_uid_gid(
    cx: &mut Cx,
    global: &GlobalDefs,
    span_key: &str,
    keyword: &str,
    command: &str,
    user: Option<&ScriptUser>,
    use_: ScriptUse,
) -> Option<(u32, u32)> {
    let name = span_key.split_once('.').map_or(span_key, |(_, n)| n);
    if let Some(u) = user {
        return match script_user_exists(u) {
            Ok(ids) => Some(ids),
            Err(why) => {
                cx.report_at(Severity::Warning, span_key, keyword, why);
                let (severity, msg) = match use_ {
                    ScriptUse::TrackScript => (
                        Severity::Error,
                        format!("unable to set uid/gid for script {command} - removing"),
                    ),
                    ScriptUse::Checker => (
                        Severity::Error,
                        format!(
                            "failed to set uid/gid for misc checker script {command} - removing"
                        ),
                    ),
                    ScriptUse::Notify | ScriptUse::Other => (
                        Severity::Warning,
                        format!("invalid user/group for script {command} - ignored"),
                    ),
                };
                cx.report_at(severity, span_key, keyword, msg);
                None
            }
        };
    }
    let default = match &global.script_user {
        // A failing global script_user was reported where it is configured.
        Some(su) => script_user_exists(su).ok(),
        None => match lookup_user(DEFAULT_SCRIPT_USER, None) {
            Ok(ids) => Some(ids),
            Err(_) if !global.enable_script_security => Some((0, 0)),
            Err(_) => {
                let msg = format!(
                    "unable to set default user {DEFAULT_SCRIPT_USER} for script (it does not \
                     exist; set script_user)"
                );
                if !cx.diags.items.iter().any(|d| d.message == msg) {
                    cx.report_at(Severity::Error, span_key, keyword, msg);
                }
                None
            }
        },
    };
    if default.is_none() {
        let (severity, msg) = match use_ {
            ScriptUse::TrackScript => (
                Severity::Error,
                format!("unable to set default user for vrrp script {name} - removing"),
            ),
            ScriptUse::Checker => (
                Severity::Error,
                format!("unable to set default user for misc script {command} - removing"),
            ),
            ScriptUse::Notify | ScriptUse::Other => (
                Severity::Warning,
                format!("failed to set default user for script {command} - ignored"),
            ),
        };
        cx.report_at(severity, span_key, keyword, msg);
    }
    default
}

/// What examining a script's file found (keepalived's SC_* flags).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScriptFile {
    /// The path it will run, after PATH search and resolution.
    pub path: Option<PathBuf>,
    /// The file was found (SC_ISSCRIPT).
    pub is_script: bool,
    /// Its user may execute it.
    pub executable: bool,
    /// A path component can be modified by a non-root user.
    pub insecure: bool,
    /// Must not run (insecure under script security, or a bad path).
    pub inhibit: bool,
    /// Not found or not accessible.
    pub not_found: bool,
    /// What keepalived logs along the way (warnings).
    pub notes: Vec<String>,
}

/// Rules 3 to 5 for the first word of a command, run as `uid:gid`.
pub fn examine_script(
    first: &str,
    uid: u32,
    gid: u32,
    security: bool,
    path_env: &str,
) -> ScriptFile {
    let mut out = ScriptFile::default();
    let mut cmd = PathBuf::from(first);
    if !first.contains('/') {
        match search_path(first, uid, gid, path_env) {
            Ok(p) => {
                out.notes.push(format!(
                    "script `{first}` resolved by path search to `{}`; please specify the full path",
                    p.display()
                ));
                cmd = p;
            }
            Err(denied) => {
                out.notes.push(if denied {
                    format!("permissions failure for script {first} in path - disabling")
                } else {
                    format!("cannot find script {first} in path - disabling")
                });
                out.not_found = true;
                return out;
            }
        }
    }

    let real = match std::fs::canonicalize(&cmd) {
        Ok(r) => r,
        Err(e) => {
            out.notes.push(format!(
                "script {} cannot be accessed - {e} - disabling",
                cmd.display()
            ));
            out.not_found = true;
            return out;
        }
    };
    // Keep the name the script was called by when it is a link to a file of
    // another name in the same resolved directory (some programs behave
    // according to their name); else run the resolved path.
    let mut run_path = real.clone();
    let mut real_file = None;
    if cmd != real && cmd.file_name() != real.file_name() {
        if let (Some(dir), Some(name)) = (real.parent(), cmd.file_name()) {
            let named = dir.join(name);
            let same = match (std::fs::metadata(&real), std::fs::metadata(&named)) {
                (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
                (Err(_), _) => true,
                (Ok(_), Err(_)) => false,
            };
            if same {
                run_path = named;
                real_file = Some(real.clone());
            }
        }
    }
    out.path = Some(run_path.clone());

    let meta = match std::fs::metadata(real_file.as_ref().unwrap_or(&run_path)) {
        Ok(m) => m,
        Err(e) => {
            out.notes.push(format!(
                "unable to access script `{}`: {e} - disabling",
                run_path.display()
            ));
            out.not_found = true;
            return out;
        }
    };
    out.is_script = true;
    let mode = meta.mode();
    if !is_executable(mode, meta.uid(), meta.gid(), uid, gid) {
        out.notes.push(format!(
            "script '{}' is not executable for uid:gid {uid}:{gid} - disabling",
            run_path.display()
        ));
        return out;
    }
    out.executable = true;
    let runs_as_root = uid == 0
        || gid == 0
        || (meta.uid() == 0 && mode & 0o100 != 0 && mode & 0o4000 != 0)
        || (meta.gid() == 0 && mode & 0o010 != 0 && mode & 0o2000 != 0);
    if !runs_as_root {
        return out;
    }
    for p in std::iter::once(&run_path).chain(real_file.as_ref()) {
        let verdict = check_path_security(p, security);
        if let Some(note) = verdict.note {
            out.notes.push(note);
        }
        out.not_found |= verdict.not_found;
        out.insecure |= verdict.insecure;
        out.inhibit |= verdict.inhibit;
        if verdict.not_found || verdict.inhibit || verdict.insecure {
            break;
        }
    }
    out
}

/// keepalived's `is_executable`: root needs any x bit; the owner needs u+x;
/// others in the file's group need g+x, the rest o+x.  (Supplementary groups
/// are not considered, as in keepalived.)
fn is_executable(mode: u32, f_uid: u32, f_gid: u32, uid: u32, gid: u32) -> bool {
    (uid == 0 && mode & 0o111 != 0)
        || (uid == f_uid && mode & 0o100 != 0)
        || (uid != f_uid
            && ((gid == f_gid && mode & 0o010 != 0) || (gid != f_gid && mode & 0o001 != 0)))
}

/// Search `path_env` for an executable regular file `name`, as glibc's
/// execvp does (an empty element is the current directory).  Err(true) when
/// a candidate existed but was not usable (keepalived's EACCES).
fn search_path(name: &str, uid: u32, gid: u32, path_env: &str) -> Result<PathBuf, bool> {
    let mut denied = false;
    for dir in path_env.split(':') {
        let candidate = if dir.is_empty() {
            PathBuf::from(name)
        } else {
            Path::new(dir).join(name)
        };
        if let Ok(m) = std::fs::metadata(&candidate) {
            if m.is_file() && is_executable(m.mode(), m.uid(), m.gid(), uid, gid) {
                return Ok(candidate);
            }
            denied = true;
        }
    }
    Err(denied)
}

/// The outcome of checking one path for modification by non-root users.
struct PathSecurity {
    note: Option<String>,
    not_found: bool,
    insecure: bool,
    inhibit: bool,
}

/// Rule 5 for one path: `/`, each directory, then the file itself, none
/// followed if it is a symbolic link.
fn check_path_security(path: &Path, security: bool) -> PathSecurity {
    let mut out = PathSecurity {
        note: None,
        not_found: false,
        insecure: false,
        inhibit: false,
    };
    let components: Vec<&Path> = path
        .ancestors()
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let last = components.len().saturating_sub(1);
    for (i, component) in components.iter().enumerate() {
        let is_last = i == last;
        let meta = match std::fs::symlink_metadata(component) {
            Ok(m) => m,
            Err(e) => {
                out.note = Some(format!(
                    "could not check script '{}': {}: {e} - disabling",
                    path.display(),
                    component.display()
                ));
                out.not_found = true;
                return out;
            }
        };
        let ft = meta.file_type();
        if (!is_last && !ft.is_dir()) || (is_last && !ft.is_file() && !ft.is_symlink()) {
            out.note = Some(format!(
                "wrong file type found in script path '{}': {} is not a {}",
                path.display(),
                component.display(),
                if is_last { "file" } else { "directory" }
            ));
            out.inhibit = true;
            return out;
        }
        let mode = meta.permissions().mode();
        let sticky_dir = ft.is_dir() && mode & 0o1000 != 0;
        let why = if meta.uid() != 0 {
            Some(format!("is owned by uid {}, not root", meta.uid()))
        } else if (ft.is_dir() && !sticky_dir) || ft.is_file() {
            if meta.gid() != 0 && mode & 0o020 != 0 {
                Some(format!(
                    "is writable by group {} (mode {:04o})",
                    meta.gid(),
                    mode & 0o7777
                ))
            } else if mode & 0o002 != 0 {
                Some(format!(
                    "is writable by everyone (mode {:04o})",
                    mode & 0o7777
                ))
            } else {
                None
            }
        } else {
            None
        };
        if let Some(why) = why {
            out.note = Some(format!(
                "unsafe permissions found for script '{}': {} {why}{}",
                path.display(),
                component.display(),
                if security { " - disabling" } else { "" }
            ));
            out.insecure = true;
            out.inhibit = security;
            return out;
        }
    }
    out
}

#[cfg(test)]
mod tests {}
