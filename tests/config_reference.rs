//! docs/CONFIG-REFERENCE.md lists exactly the keywords the parser knows
//! (`keepalived-rs --keywords`), each with a status that agrees with the
//! parser's own support level; and the man page documents every long option.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

const STATUSES: [&str; 4] = ["supported", "partial", "parsed", "refused"];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// (context, keyword) -> parser support level, from `--keywords`.
fn parser_keywords() -> BTreeMap<(String, String), String> {
    let out = Command::new(env!("CARGO_BIN_EXE_keepalived-rs"))
        .arg("--keywords")
        .output()
        .expect("run keepalived-rs --keywords");
    assert!(out.status.success(), "--keywords failed");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let mut map = BTreeMap::new();
    for line in text.lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 4, "unexpected --keywords line {line:?}");
        let prev = map.insert(
            (cols[0].to_string(), cols[1].to_string()),
            cols[3].to_string(),
        );
        assert!(prev.is_none(), "keyword listed twice: {line:?}");
    }
    assert!(map.len() > 400, "only {} keywords listed", map.len());
    map
}

/// (context, keyword) -> status, from the reference's tables: a `## \`ctx\``
/// heading, then rows `| \`kw\` | form | status | notes |`.
fn reference_keywords() -> BTreeMap<(String, String), String> {
    let path = root().join("docs/CONFIG-REFERENCE.md");
    let text = std::fs::read_to_string(&path).expect("read docs/CONFIG-REFERENCE.md");
    let mut map = BTreeMap::new();
    let mut ctx: Option<String> = None;
    for (n, line) in text.lines().enumerate() {
        if let Some(h) = line.strip_prefix("## ") {
            ctx = h
                .strip_prefix('`')
                .and_then(|h| h.strip_suffix('`'))
                .map(str::to_string);
            continue;
        }
        let Some(c) = &ctx else { continue };
        if !line.starts_with("| `") {
            continue;
        }
        let cols: Vec<&str> = line.split('|').map(str::trim).collect();
        assert!(cols.len() >= 5, "line {}: malformed row {line:?}", n + 1);
        let kw = cols[1].trim_matches('`').to_string();
        let status = cols[3].to_string();
        assert!(
            STATUSES.contains(&status.as_str()),
            "line {}: unknown status {status:?} for {kw}",
            n + 1
        );
        let prev = map.insert((c.clone(), kw.clone()), status);
        assert!(prev.is_none(), "line {}: {c} {kw} listed twice", n + 1);
    }
    map
}

#[test]
fn reference_lists_exactly_the_parsers_keywords() {
    let parser = parser_keywords();
    let doc = reference_keywords();
    let p: BTreeSet<_> = parser.keys().collect();
    let d: BTreeSet<_> = doc.keys().collect();
    let missing: Vec<_> = p.difference(&d).collect();
    let unknown: Vec<_> = d.difference(&p).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "docs/CONFIG-REFERENCE.md is out of date.\nnot in the reference: {missing:?}\n\
         in the reference but unknown to the parser: {unknown:?}"
    );
}

#[test]
fn reference_status_agrees_with_the_parser() {
    let parser = parser_keywords();
    for (key, status) in reference_keywords() {
        let Some(support) = parser.get(&key) else {
            continue; // reported by the other test
        };
        match support.as_str() {
            "Rejected" => assert_eq!(status, "refused", "{key:?}: the parser refuses it"),
            "NotImplemented" => assert_eq!(
                status, "parsed",
                "{key:?}: the parser warns that it is ignored"
            ),
            _ => assert_ne!(
                status, "refused",
                "{key:?}: the parser accepts it, yet the reference says refused"
            ),
        }
    }
}

/// Every long option of `--help` is in keepalived-rs(8).
#[test]
fn man_page_documents_every_long_option() {
    let out = Command::new(env!("CARGO_BIN_EXE_keepalived-rs"))
        .arg("--help")
        .output()
        .expect("run keepalived-rs --help");
    let help = String::from_utf8(out.stdout).expect("utf-8");
    let man = std::fs::read_to_string(root().join("packaging/man/keepalived-rs.8"))
        .expect("read packaging/man/keepalived-rs.8");
    // roff escapes '-' as '\-'.
    let man = man.replace("\\-", "-");
    let mut longs = BTreeSet::new();
    for word in help.split(|c: char| c.is_whitespace() || c == ',' || c == '=' || c == '[') {
        if let Some(name) = word.strip_prefix("--") {
            let name: String = name
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect();
            if !name.is_empty() {
                longs.insert(name);
            }
        }
    }
    assert!(
        longs.len() > 30,
        "few long options found in --help: {longs:?}"
    );
    let undocumented: Vec<_> = longs
        .iter()
        .filter(|l| !man.contains(&format!("--{l}")))
        .collect();
    assert!(
        undocumented.is_empty(),
        "options missing from packaging/man/keepalived-rs.8: {undocumented:?}"
    );
}
