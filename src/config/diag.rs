//! Diagnostics: every message the front end produces names file:line:column and,
//! where there is one, the keyword it is about.
//!
//! The severities map onto keepalived's `-t` verdicts (keepalived(8)):
//! a [`Severity::Warning`] never changes the verdict, an [`Severity::Error`] is a
//! configuration error keepalived would still run with (exit 4), a
//! [`Severity::Fatal`] means the daemon cannot run (exit 3).  Scripts configured
//! without script security are tracked separately (exit 5).

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

/// A configuration file's name, as a small id into a process-wide table of
/// the names seen (after include resolution).  A large configuration has a
/// location for each of its words: an id keeps them small (12 bytes instead
/// of 24) and copying one touches no reference count.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FileId(u32);

/// The names behind [`FileId`]s: each name once (id 0 is the empty name), so
/// that a reload naming the same files adds nothing.
#[derive(Default)]
struct FileNames {
    names: Vec<Arc<str>>,
    ids: HashMap<Arc<str>, u32>,
}

fn file_names() -> std::sync::MutexGuard<'static, FileNames> {
    static NAMES: OnceLock<Mutex<FileNames>> = OnceLock::new();
    let names = NAMES.get_or_init(|| {
        let empty: Arc<str> = Arc::from("");
        Mutex::new(FileNames {
            names: vec![empty.clone()],
            ids: HashMap::from([(empty, 0)]),
        })
    });
    // The table is only appended to: a panic elsewhere cannot leave it torn.
    names.lock().unwrap_or_else(|e| e.into_inner())
}

impl FileId {
    /// The id of `name`, adding it to the table when it is new.
    pub fn intern(name: &str) -> FileId {
        let mut t = file_names();
        if let Some(&id) = t.ids.get(name) {
            return FileId(id);
        }
        let id = u32::try_from(t.names.len()).unwrap_or(u32::MAX);
        if id == u32::MAX {
            // Four billion distinct names: say nothing rather than mix them up.
            return FileId(0);
        }
        let name: Arc<str> = Arc::from(name);
        t.names.push(name.clone());
        t.ids.insert(name, id);
        FileId(id)
    }

    /// The file's name.
    pub fn name(self) -> Arc<str> {
        let t = file_names();
        t.names
            .get(self.0 as usize)
            .cloned()
            .unwrap_or_else(|| Arc::from(""))
    }
}

impl From<&str> for FileId {
    fn from(name: &str) -> FileId {
        FileId::intern(name)
    }
}

impl fmt::Display for FileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl fmt::Debug for FileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.name(), f)
    }
}

impl PartialEq<str> for FileId {
    fn eq(&self, other: &str) -> bool {
        *self.name() == *other
    }
}

impl Serialize for FileId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

impl<'de> Deserialize<'de> for FileId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<FileId, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Ok(FileId::intern(&name))
    }
}

/// Where something came from in the configuration sources.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Location {
    /// The file as it was named (after include resolution).
    pub file: FileId,
    /// 1-based line number in that file.
    pub line: u32,
    /// 1-based column (in bytes) of the token the message is about.
    pub col: u32,
}

impl Location {
    pub fn new(file: FileId, line: u32, col: u32) -> Self {
        Location { file, line, col }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// How bad a diagnostic is; ordered from harmless to fatal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Informational: accepted, nothing lost.
    Warning,
    /// A configuration error keepalived also reports; the daemon would still run.
    Error,
    /// The configuration cannot be run.
    Fatal,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Fatal => "fatal",
        })
    }
}

/// One message about the configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub location: Option<Location>,
    pub keyword: Option<String>,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(loc) = &self.location {
            write!(f, "{loc}: ")?;
        }
        write!(f, "{}: ", self.severity)?;
        if let Some(kw) = &self.keyword {
            write!(f, "'{kw}': ")?;
        }
        f.write_str(&self.message)
    }
}

/// The `-t` verdict, with keepalived(8)'s exit codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Ok,
    /// Errors were found but the daemon would run (exit 4).
    ErrorsButRuns,
    /// The configuration cannot run (exit 3).
    CannotRun,
    /// Scripts are configured but script security is not enabled (exit 5).
    ScriptSecurity,
}

impl Verdict {
    pub fn exit_code(self) -> i32 {
        match self {
            Verdict::Ok => 0,
            Verdict::CannotRun => 3,
            Verdict::ErrorsButRuns => 4,
            Verdict::ScriptSecurity => 5,
        }
    }
}

/// The collection of diagnostics of one load.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Diagnostics {
    pub items: Vec<Diagnostic>,
    /// Scripts are configured while `enable_script_security` is off (keepalived's
    /// "SECURITY VIOLATION" case).
    pub script_security_violation: bool,
    /// keepalived would have stopped reading here (a keyword without its value:
    /// keepalived 2.2.7 exits at once). We keep going so every problem is
    /// reported, but the configuration cannot run.
    pub aborted: bool,
    /// A feature that would change wire behaviour or security is configured but
    /// not implemented: the daemon refuses to start (`-t` reports it as an error).
    pub unsupported: bool,
}

impl Diagnostics {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(
        &mut self,
        severity: Severity,
        location: Option<Location>,
        keyword: Option<&str>,
        message: impl Into<String>,
    ) {
        self.items.push(Diagnostic {
            severity,
            location,
            keyword: keyword.map(str::to_owned),
            message: message.into(),
        });
    }

    pub fn warn(&mut self, loc: &Location, keyword: &str, message: impl Into<String>) {
        self.push(Severity::Warning, Some(loc.clone()), Some(keyword), message);
    }

    pub fn error(&mut self, loc: &Location, keyword: &str, message: impl Into<String>) {
        self.push(Severity::Error, Some(loc.clone()), Some(keyword), message);
    }

    pub fn fatal(&mut self, loc: &Location, keyword: &str, message: impl Into<String>) {
        self.push(Severity::Fatal, Some(loc.clone()), Some(keyword), message);
    }

    pub fn worst(&self) -> Option<Severity> {
        self.items.iter().map(|d| d.severity).max()
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.items.iter().filter(|d| d.severity == severity).count()
    }

    /// The verdict as keepalived 2.2.7's `-t` computes it (docs/CONFIG-TEST.md):
    /// a missing value stops it at once (cannot run); otherwise the *least*
    /// severe class reported wins: script security, then ordinary errors, then
    /// the cannot-run class (missing files, unknown interfaces). keepalived
    /// keeps the highest level number and its levels are listed most severe
    /// first; we reproduce the classes so `-t` gives the same verdict, and the
    /// diagnostics still say exactly what is wrong.
    pub fn verdict(&self) -> Verdict {
        if self.aborted {
            return Verdict::CannotRun;
        }
        if self.script_security_violation {
            return Verdict::ScriptSecurity;
        }
        if self.count(Severity::Error) > 0 {
            return Verdict::ErrorsButRuns;
        }
        if self.count(Severity::Fatal) > 0 {
            return Verdict::CannotRun;
        }
        Verdict::Ok
    }

    /// Whether the daemon must refuse to run this configuration.
    pub fn cannot_run(&self) -> bool {
        self.aborted || self.count(Severity::Fatal) > 0
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.items.extend(other.items);
        self.script_security_violation |= other.script_security_violation;
        self.aborted |= other.aborted;
        self.unsupported |= other.unsupported;
    }
}
