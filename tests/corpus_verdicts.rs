//! Every file of the corpus: `keepalived-rs -t -f FILE` never crashes and gives
//! the same verdict class as Debian's keepalived 2.2.7 `keepalived -t -f FILE`
//! on this very machine (both see the same host: hostname, interfaces, users,
//! script files).  Where keepalived names a line, our diagnostics name it too.
//! The only exceptions to the verdict rule are listed in [`DIVERGENCES`],
//! each with its reason and checked to be exactly that divergence.
//!
//! keepalived must be installed (`.ci/run` installs it); without it the test
//! fails loudly rather than passing.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

const KEEPALIVED: &str = "/usr/sbin/keepalived";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    Ok,
    Errors,
    CannotRun,
    ScriptSecurity,
}

/// keepalived 2.2.7's `-t` exit codes (see docs/CONFIG-TEST.md): 0 OK, 5 config
/// errors, 6 script security; anything else means it could not run the file.
fn keepalived_class(code: i32) -> Class {
    match code {
        0 => Class::Ok,
        5 => Class::Errors,
        6 => Class::ScriptSecurity,
        _ => Class::CannotRun,
    }
}

/// Ours, as keepalived(8) documents them: 0 OK, 3 cannot run, 4 errors, 5 security.
fn our_class(code: i32) -> Option<Class> {
    match code {
        0 => Some(Class::Ok),
        3 => Some(Class::CannotRun),
        4 => Some(Class::Errors),
        5 => Some(Class::ScriptSecurity),
        _ => None,
    }
}

/// Files on which our verdict knowingly differs from keepalived 2.2.7's, and
/// why (docs/CONFIG-TEST.md, "Known divergences").  Each entry is checked to
/// be exactly the documented divergence, so the test fails if either side
/// changes.
struct Divergence {
    file: &'static str,
    why: &'static str,
    /// keepalived's class, and it must have printed at least one error.
    theirs: Class,
    ours: Class,
    /// Text our diagnostics must contain (the cause we report).
    our_note: &'static str,
}

const DIVERGENCES: &[Divergence] = &[
    Divergence {
        file: "031-devtools-n1.conf",
        why: "a root-level `net_namespace` names a namespace this host lacks: keepalived 2.2.7 \
              stops after its first pass and exits 0 although it printed errors; keepalived(8) \
              documents a non-zero exit for errors, which we give",
        theirs: Class::Ok,
        ours: Class::Errors,
        our_note: "network namespace vm does not exist",
    },
    Divergence {
        file: "034-devtools-ipvs.conf",
        why: "as 031 (`net_namespace low`)",
        theirs: Class::Ok,
        ours: Class::Errors,
        our_note: "network namespace low does not exist",
    },
];

/// Line numbers keepalived names: "(file: Line N)" or "(Line N)".
fn named_lines(stderr: &str, file: &Path) -> BTreeSet<u32> {
    let base = file
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let mut lines = BTreeSet::new();
    for l in stderr.lines() {
        let Some(start) = l.find("Line ") else {
            continue;
        };
        let head = &l[..start];
        // Only lines that name this file (or no file at all).
        if head.contains(':') && !head.contains(base) {
            continue;
        }
        let digits: String = l[start + 5..]
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        if let Ok(n) = digits.parse() {
            lines.insert(n);
        }
    }
    lines
}

#[test]
fn verdicts_match_keepalived() {
    assert!(
        Path::new(KEEPALIVED).exists(),
        "{KEEPALIVED} is missing: install Debian's keepalived (apt-get install keepalived); \
         this test compares against it and must not pass without it"
    );
    let mut mismatches = Vec::new();
    let mut missing_lines = Vec::new();
    let files = common::corpus_files();
    for file in &files {
        let dir = file.parent().expect("corpus file has a parent");
        let theirs = Command::new(KEEPALIVED)
            .arg("-t")
            .arg("-l")
            .arg("-f")
            .arg(file)
            .current_dir(dir)
            .output()
            .expect("run keepalived -t");
        let their_code = theirs.status.code().unwrap_or(-1);
        let their_class = keepalived_class(their_code);
        let their_text = format!(
            "{}{}",
            String::from_utf8_lossy(&theirs.stdout),
            String::from_utf8_lossy(&theirs.stderr)
        );

        let ours = Command::new(common::our_binary())
            .arg("-t")
            .arg("-f")
            .arg(file)
            .current_dir(dir)
            .output()
            .expect("run keepalived-rs -t");
        let our_code = ours.status.code();
        let our_text = String::from_utf8_lossy(&ours.stderr).into_owned();
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let Some(our_class) = our_code.and_then(our_class) else {
            panic!("{name}: keepalived-rs -t crashed or returned an unknown code {our_code:?}:\n{our_text}");
        };
        if let Some(d) = DIVERGENCES.iter().find(|d| d.file == name) {
            let printed = their_text.lines().any(|l| !l.trim().is_empty());
            if their_class != d.theirs
                || !printed
                || our_class != d.ours
                || !our_text.contains(d.our_note)
            {
                mismatches.push(format!(
                    "{name}: the documented divergence ({}) no longer holds: expected keepalived \
                     {:?} with errors printed and keepalived-rs {:?} saying '{}'; got keepalived \
                     {their_class:?} (rc {their_code}, {} lines printed), keepalived-rs {our_class:?}\n  \
                     keepalived said:\n    {}\n  we said:\n    {}",
                    d.why,
                    d.theirs,
                    d.ours,
                    d.our_note,
                    their_text.lines().count(),
                    their_text.trim().replace('\n', "\n    "),
                    our_text.trim().replace('\n', "\n    ")
                ));
            }
        } else if our_class != their_class {
            mismatches.push(format!(
                "{name}: keepalived {their_class:?} (rc {their_code}), keepalived-rs {our_class:?}\n  keepalived said:\n    {}\n  we said:\n    {}",
                their_text.trim().replace('\n', "\n    "),
                our_text.trim().replace('\n', "\n    ")
            ));
        }
        // Every line keepalived names must appear in our diagnostics.
        for n in named_lines(&their_text, file) {
            let needle = format!("{name}:{n}:");
            if !our_text.contains(&needle) {
                missing_lines.push(format!("{name}: keepalived names line {n}, we do not"));
            }
        }
    }
    // Every documented divergence is about a file of the corpus.
    for d in DIVERGENCES {
        assert!(
            files
                .iter()
                .any(|f| f.file_name().is_some_and(|n| n == d.file)),
            "documented divergence for {}, which is not in the corpus",
            d.file
        );
    }
    println!(
        "{} files compared ({} documented divergences)",
        files.len(),
        DIVERGENCES.len()
    );
    assert!(
        mismatches.is_empty() && missing_lines.is_empty(),
        "{} verdict mismatches, {} lines not named:\n{}\n{}",
        mismatches.len(),
        missing_lines.len(),
        mismatches.join("\n"),
        missing_lines.join("\n")
    );
}
