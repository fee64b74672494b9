//! Diagnostics: every message the front end produces names file:line:column and,
//! where there is one, the keyword it is about.
//!
//! The severities map onto keepalived's `-t` verdicts (keepalived(8)):
//! a [`Severity::Warning`] never changes the verdict, an [`Severity::Error`] is a
//! configuration error keepalived would still run with (exit 4), a
//! [`Severity::Fatal`] means the daemon cannot run (exit 3).  Scripts configured
//! without script security are tracked separately (exit 5).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// Where something came from in the configuration sources.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Location {
    /// The file as it was named (after include resolution).
    pub file: Arc<str>,
    /// 1-based line number in that file.
    pub line: u32,
    /// 1-based column (in bytes) of the token the message is about.
    pub col: u32,
}

impl Location {
    pub fn new(file: Arc<str>, line: u32, col: u32) -> Self {
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
