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
/// checks its scripts only when there is at least one vrrp_instance (and, in
/// `-t`, only when every interface it names exists), the checker process
/// only when there is at least one virtual_server.  For the other scripts
/// call [`check_script_user`], which gives the diagnostics keepalived gives
/// while reading the configuration.
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

/// The default script user's uid/gid (rule 1 without a user of the
/// script's own): the global `script_user`, else `keepalived_script`, else
/// root unless script security is on.  None when there is none; the one
/// configuration error keepalived gives for that ("Unable to set default
/// user keepalived_script for script") is reported once per load, at the
/// first thing that needed it.  Without host checks: root.
pub fn default_script_user(
    cx: &mut Cx,
    global: &GlobalDefs,
    span_key: &str,
    keyword: &str,
) -> Option<(u32, u32)> {
    if !cx.opts.check_host {
        return Some((0, 0));
    }
    match &global.script_user {
        // A failing global script_user is reported where it is configured.
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
    }
}

/// Rule 1 alone: whether the user a script runs as can be determined, with
/// keepalived's diagnostics when not (see [`check_script`] for `use_`).
/// keepalived resolves script users while reading the configuration, so this
/// applies to every configured script, even one whose process will not check
/// its file (a vrrp_script when there is no vrrp_instance, a notify FIFO
/// script nobody reads).  Only with host checks; true without.
pub fn check_script_user(
    cx: &mut Cx,
    global: &GlobalDefs,
    span_key: &str,
    keyword: &str,
    command: &str,
    user: Option<&ScriptUser>,
    use_: ScriptUse,
) -> bool {
    !cx.opts.check_host
        || script_uid_gid(cx, global, span_key, keyword, command, user, use_).is_some()
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
    let default = default_script_user(cx, global, span_key, keyword);
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
mod tests {
    use super::*;
    use crate::config::build::BuildOptions;
    use crate::config::diag::{Diagnostics, Location};
    use std::os::unix::fs::{chown, symlink};

    /// A root-owned 0755 directory under /tmp (itself root-owned and sticky),
    /// so that only what a test changes makes a path insecure.
    fn root_dir() -> tempfile::TempDir {
        let d = tempfile::Builder::new()
            .prefix("ka-scripts")
            .tempdir_in("/tmp")
            .unwrap();
        std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        d
    }

    fn script(dir: &Path, name: &str, mode: u32) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, "#!/bin/sh\nexit 0\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    fn examine(p: &Path, security: bool) -> ScriptFile {
        examine_script(p.to_str().unwrap(), 0, 0, security, "/bin:/usr/bin")
    }

    #[test]
    fn a_root_owned_script_is_secure() {
        let d = root_dir();
        let p = script(d.path(), "ok.sh", 0o755);
        let f = examine(&p, true);
        assert!(
            f.is_script && f.executable && !f.insecure && !f.inhibit,
            "{f:?}"
        );
        assert_eq!(f.path.as_deref(), Some(p.as_path()));
        assert!(f.notes.is_empty(), "{:?}", f.notes);
    }

    #[test]
    fn a_world_writable_script_is_insecure() {
        let d = root_dir();
        let p = script(d.path(), "ww.sh", 0o757);
        let f = examine(&p, true);
        assert!(f.insecure && f.inhibit, "{f:?}");
        assert_eq!(
            f.notes,
            [format!(
                "unsafe permissions found for script '{0}': {0} is writable by everyone (mode 0757) - disabling",
                p.display()
            )]
        );
        // Without script security it still runs, but counts as insecure.
        let f = examine(&p, false);
        assert!(f.insecure && !f.inhibit && f.executable, "{f:?}");
        assert!(!f.notes[0].ends_with("disabling"));
    }

    #[test]
    fn a_script_owned_by_another_user_is_insecure() {
        let d = root_dir();
        let p = script(d.path(), "theirs.sh", 0o755);
        chown(&p, Some(1000), None).unwrap();
        let f = examine(&p, true);
        assert!(f.inhibit);
        assert!(
            f.notes[0].ends_with(&format!(
                "{} is owned by uid 1000, not root - disabling",
                p.display()
            )),
            "{:?}",
            f.notes
        );
    }

    #[test]
    fn a_directory_above_the_script_is_checked() {
        let d = root_dir();
        let sub = d.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o775)).unwrap();
        let p = script(&sub, "s.sh", 0o755);
        // Group-writable by root's group: fine.
        assert!(!examine(&p, true).insecure);
        // Group-writable by another group: insecure, and the directory is named.
        chown(&sub, None, Some(1000)).unwrap();
        let f = examine(&p, true);
        assert!(f.inhibit);
        assert!(
            f.notes[0].contains(&format!(
                "{} is writable by group 1000 (mode 0775)",
                sub.display()
            )),
            "{:?}",
            f.notes
        );
        // Owned by another user: insecure even without write permission.
        chown(&sub, Some(1000), Some(0)).unwrap();
        std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o755)).unwrap();
        let f = examine(&p, true);
        assert!(f.notes[0].contains(&format!("{} is owned by uid 1000", sub.display())));
        // World-writable with the sticky bit, like /tmp: fine.
        chown(&sub, Some(0), Some(0)).unwrap();
        std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o1777)).unwrap();
        assert!(!examine(&p, true).insecure);
    }

    #[test]
    fn missing_and_non_executable_scripts_are_disabled() {
        let d = root_dir();
        let f = examine(&d.path().join("nope.sh"), true);
        assert!(f.not_found && !f.is_script, "{f:?}");
        assert!(f.notes[0].contains("cannot be accessed"), "{:?}", f.notes);
        let p = script(d.path(), "noexec.sh", 0o644);
        let f = examine(&p, true);
        assert!(f.is_script && !f.executable && !f.not_found, "{f:?}");
        assert_eq!(
            f.notes,
            [format!(
                "script '{}' is not executable for uid:gid 0:0 - disabling",
                p.display()
            )]
        );
        // A non-root user needs the x bit of its class.
        let p = script(d.path(), "owner_only.sh", 0o744);
        assert!(examine_script(p.to_str().unwrap(), 0, 0, true, "").executable);
        assert!(!examine_script(p.to_str().unwrap(), 65534, 65534, true, "").executable);
    }

    #[test]
    fn a_bare_name_is_searched_in_path() {
        let d = root_dir();
        let p = script(d.path(), "mycheck", 0o755);
        let path_env = format!("/nonexistent:{}", d.path().display());
        let f = examine_script("mycheck", 0, 0, true, &path_env);
        assert_eq!(f.path.as_deref(), Some(p.as_path()));
        assert!(f.executable && !f.insecure);
        assert!(
            f.notes[0].contains("resolved by path search"),
            "{:?}",
            f.notes
        );
        let f = examine_script("nosuchcheck", 0, 0, true, &path_env);
        assert!(f.not_found);
        assert_eq!(
            f.notes,
            ["cannot find script nosuchcheck in path - disabling"]
        );
        script(d.path(), "plainfile", 0o644);
        let f = examine_script("plainfile", 0, 0, true, &path_env);
        assert_eq!(
            f.notes,
            ["permissions failure for script plainfile in path - disabling"]
        );
    }

    #[test]
    fn a_link_keeps_its_name_and_both_paths_are_checked() {
        let d = root_dir();
        let real = script(d.path(), "real-3.11", 0o755);
        let link = d.path().join("real");
        symlink(&real, &link).unwrap();
        let f = examine(&link, true);
        assert_eq!(f.path.as_deref(), Some(link.as_path()));
        assert!(f.executable && !f.insecure, "{f:?}");
        // The target is checked too.
        chown(&real, Some(1000), None).unwrap();
        let f = examine(&link, true);
        assert!(f.inhibit, "{f:?}");
        assert!(
            f.notes[0].contains("real-3.11 is owned by uid 1000"),
            "{:?}",
            f.notes
        );
    }

    fn global(security: bool) -> GlobalDefs {
        GlobalDefs {
            enable_script_security: security,
            script_user: Some(ScriptUser {
                user: "root".into(),
                group: None,
            }),
            ..Default::default()
        }
    }

    /// Run check_script with host checks and a remembered location.
    fn run(
        g: &GlobalDefs,
        command: &str,
        user: Option<&ScriptUser>,
        use_: ScriptUse,
        check_host: bool,
    ) -> (bool, Diagnostics) {
        let mut diags = Diagnostics::new();
        let ok = {
            let mut cx = Cx::new(&mut diags, BuildOptions { check_host });
            cx.spans.insert(
                "vrrp_script.chk".into(),
                Location::new("t.conf".into(), 5, 3),
            );
            check_script(&mut cx, g, "vrrp_script.chk", "script", command, user, use_)
        };
        (ok, diags)
    }

    fn text(d: &Diagnostics) -> Vec<String> {
        d.items.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn track_scripts_not_found_or_insecure_are_configuration_errors() {
        let d = root_dir();
        let missing = d.path().join("missing.sh");
        let (ok, diags) = run(
            &global(true),
            &format!("{} arg", missing.display()),
            None,
            ScriptUse::TrackScript,
            true,
        );
        assert!(!ok);
        assert_eq!(diags.count(Severity::Error), 1);
        assert_eq!(
            text(&diags).last().unwrap(),
            "t.conf:5:3: error: 'script': disabling track script chk since not found/accessible"
        );
        let p = script(d.path(), "ww.sh", 0o777);
        let (ok, diags) = run(
            &global(true),
            p.to_str().unwrap(),
            None,
            ScriptUse::TrackScript,
            true,
        );
        assert!(!ok);
        assert_eq!(
            text(&diags).last().unwrap(),
            "t.conf:5:3: error: 'script': disabling track script chk due to insecure"
        );
        // A notify script is only logged and dropped.
        let (ok, diags) = run(
            &global(true),
            p.to_str().unwrap(),
            None,
            ScriptUse::Notify,
            true,
        );
        assert!(!ok);
        assert_eq!(diags.count(Severity::Error), 0, "{:?}", text(&diags));
        assert!(!diags.script_security_violation);
    }

    #[test]
    fn scripts_without_script_security_are_a_security_violation() {
        let d = root_dir();
        let p = script(d.path(), "ok.sh", 0o755);
        let (ok, diags) = run(
            &global(false),
            p.to_str().unwrap(),
            None,
            ScriptUse::TrackScript,
            true,
        );
        assert!(ok);
        assert!(diags.script_security_violation);
        assert_eq!(
            text(&diags),
            ["t.conf:5:3: warning: 'script': SECURITY VIOLATION - scripts are being executed but script_security not enabled."]
        );
        // A script that is not there does not count (keepalived counts found scripts).
        let (_, diags) = run(
            &global(false),
            "/nonexistent/x.sh",
            None,
            ScriptUse::TrackScript,
            true,
        );
        assert!(!diags.script_security_violation);
        // Without host checks every script counts, except a file-open test.
        let (ok, diags) = run(&global(false), "/x.sh", None, ScriptUse::Notify, false);
        assert!(ok && diags.script_security_violation);
        let (ok, diags) = run(
            &global(false),
            "</dev/tcp/1.2.3.4/80",
            None,
            ScriptUse::TrackScript,
            false,
        );
        assert!(ok && !diags.script_security_violation);
        let (_, diags) = run(&global(true), "/x.sh", None, ScriptUse::Notify, false);
        assert!(!diags.script_security_violation && diags.items.is_empty());
    }

    #[test]
    fn users_that_do_not_exist_disable_the_script() {
        let d = root_dir();
        let p = script(d.path(), "ok.sh", 0o755);
        let ghost = ScriptUser {
            user: "no_such_user_here".into(),
            group: None,
        };
        let (ok, diags) = run(
            &global(true),
            p.to_str().unwrap(),
            Some(&ghost),
            ScriptUse::TrackScript,
            true,
        );
        assert!(!ok);
        assert_eq!(
            text(&diags),
            [
                "t.conf:5:3: warning: 'script': script user 'no_such_user_here' does not exist"
                    .to_owned(),
                format!(
                    "t.conf:5:3: error: 'script': unable to set uid/gid for script {} - removing",
                    p.display()
                ),
            ]
        );
        let bad_group = ScriptUser {
            user: "root".into(),
            group: Some("no_such_group_here".into()),
        };
        let (ok, diags) = run(
            &global(true),
            p.to_str().unwrap(),
            Some(&bad_group),
            ScriptUse::Notify,
            true,
        );
        assert!(!ok);
        assert_eq!(diags.count(Severity::Error), 0);
        assert!(text(&diags)[0].contains("script group 'no_such_group_here' does not exist"));
        // A bad global script_user makes every script relying on it fail.
        let mut g = global(true);
        g.script_user = Some(ghost);
        let (ok, diags) = run(&g, p.to_str().unwrap(), None, ScriptUse::TrackScript, true);
        assert!(!ok);
        assert_eq!(
            text(&diags),
            ["t.conf:5:3: error: 'script': unable to set default user for vrrp script chk - removing"]
        );
    }

    #[test]
    fn the_default_user_needs_keepalived_script_under_script_security() {
        if lookup_user(DEFAULT_SCRIPT_USER, None).is_ok() {
            return; // this host has the user: nothing to test
        }
        let d = root_dir();
        let p = script(d.path(), "ok.sh", 0o755);
        let mut g = global(true);
        g.script_user = None;
        let mut diags = Diagnostics::new();
        {
            let mut cx = Cx::new(&mut diags, BuildOptions { check_host: true });
            for _ in 0..2 {
                assert!(!check_script(
                    &mut cx,
                    &g,
                    "vrrp_script.chk",
                    "script",
                    p.to_str().unwrap(),
                    None,
                    ScriptUse::TrackScript,
                ));
            }
        }
        let m: Vec<&str> = diags.items.iter().map(|x| x.message.as_str()).collect();
        // Reported once, then each script is removed.
        assert_eq!(
            m,
            [
                "unable to set default user keepalived_script for script (it does not exist; set script_user)",
                "unable to set default user for vrrp script chk - removing",
                "unable to set default user for vrrp script chk - removing",
            ]
        );
        // Without script security the default is root, silently.
        g.enable_script_security = false;
        let (ok, diags) = run(&g, p.to_str().unwrap(), None, ScriptUse::TrackScript, true);
        assert!(ok && diags.script_security_violation);
    }
}
