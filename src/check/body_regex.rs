//! The `regex` test of an HTTP_GET/SSL_GET `url { }` block: the body must
//! match `regex` (or, with `regex_no_match`, must not), the match starting at
//! or after `regex_min_offset` and at or before `regex_max_offset`.
//!
//! keepalived compiles the pattern with PCRE2; here it is the `regex` crate
//! (pure Rust, linear time, no C library), over the body's bytes. What
//! follows from that:
//!
//! - PCRE2's defaults are kept where they differ from the crate's: without
//!   `utf`/`ucp` the match is byte-wise and `\w`, `\d`, `\s`, `\b` and case
//!   folding are ASCII-only; `$` (without `multiline`) also matches before a
//!   newline that ends the body, unless `dollar_endonly` is given.
//! - `caseless`, `multiline`, `dotall`, `extended`, `ungreedy`, `utf`, `ucp`,
//!   `never_utf`, `never_ucp`, `dollar_endonly` and `firstline` (the match
//!   must start in the first line) are applied.
//! - The other option names keepalived accepts only tune PCRE2
//!   (`no_auto_possess`, `no_start_optimize`, `no_dotstar_anchor`,
//!   `use_offset_limit`, `auto_callout`, `no_auto_capture`) or enable syntax
//!   the crate does not have (`alt_bsux`, `allow_empty_class`,
//!   `match_unset_backref`, `dupnames`, `alt_verbnames`, `alt_circumflex`,
//!   `never_backslash_c`): they are accepted and change nothing.
//! - `regex_stack` sizes PCRE2's JIT stack; the crate needs none, so it is
//!   accepted and ignored.
//! - Patterns using PCRE-only syntax (back-references, look-around, atomic
//!   groups, possessive quantifiers, recursion) do not compile: the plan
//!   warns, and the url check fails with the reason, so the configuration's
//!   intent is never silently dropped.

use regex::bytes::{Regex, RegexBuilder};

/// A compiled url regex test.
#[derive(Clone, Debug)]
pub struct BodyRegex {
    re: Regex,
    no_match: bool,
    min_offset: usize,
    max_offset: Option<usize>,
    firstline: bool,
    dollar_endonly: bool,
    multiline: bool,
}

impl PartialEq for BodyRegex {
    fn eq(&self, o: &Self) -> bool {
        self.re.as_str() == o.re.as_str()
            && (
                self.no_match,
                self.min_offset,
                self.max_offset,
                self.firstline,
                self.dollar_endonly,
                self.multiline,
            ) == (
                o.no_match,
                o.min_offset,
                o.max_offset,
                o.firstline,
                o.dollar_endonly,
                o.multiline,
            )
    }
}

impl Eq for BodyRegex {}

/// Compiled patterns are capped (the crate's default is 10 MiB per regex).
const SIZE_LIMIT: usize = 4 << 20;

impl BodyRegex {
    /// Compile `pattern` with keepalived's `regex_options` names.
    pub fn new(
        pattern: &str,
        options: &[String],
        no_match: bool,
        min_offset: Option<u64>,
        max_offset: Option<u64>,
    ) -> Result<Self, String> {
        let has = |name: &str| options.iter().any(|o| o.eq_ignore_ascii_case(name));
        let unicode = (has("utf") || has("ucp")) && !has("never_utf") && !has("never_ucp");
        let multiline = has("multiline");
        let re = RegexBuilder::new(pattern)
            .unicode(unicode)
            .case_insensitive(has("caseless"))
            .multi_line(multiline)
            .dot_matches_new_line(has("dotall"))
            .ignore_whitespace(has("extended"))
            .swap_greed(has("ungreedy"))
            .size_limit(SIZE_LIMIT)
            .build()
            .map_err(|e| format!("regex {pattern:?} cannot be used: {}", one_line(&e)))?;
        let off = |v: Option<u64>| v.map(|v| usize::try_from(v).unwrap_or(usize::MAX));
        Ok(BodyRegex {
            re,
            no_match,
            min_offset: off(min_offset).unwrap_or(0),
            max_offset: off(max_offset),
            firstline: has("firstline"),
            dollar_endonly: has("dollar_endonly"),
            multiline,
        })
    }

    /// Whether the pattern is found in `body` under the offset limits.
    pub fn found(&self, body: &[u8]) -> bool {
        let mut last_start = self.max_offset.unwrap_or(usize::MAX);
        if self.firstline {
            if let Some(nl) = body.iter().position(|&b| b == b'\n') {
                last_start = last_start.min(nl);
            }
        }
        let found_in = |hay: &[u8]| {
            self.min_offset <= hay.len()
                && self
                    .re
                    .find_at(hay, self.min_offset)
                    // Leftmost match: none starts earlier, so this decides.
                    .is_some_and(|m| m.start() <= last_start)
        };
        if found_in(body) {
            return true;
        }
        // PCRE2's `$` also matches before a final newline: try the body
        // without it (a match there is a match before that newline).
        !self.dollar_endonly
            && !self.multiline
            && body.last() == Some(&b'\n')
            && found_in(&body[..body.len() - 1])
    }

    /// The url's verdict on `body`: Err with the reason when it fails.
    pub fn check(&self, body: &[u8]) -> Result<(), String> {
        match (self.found(body), self.no_match) {
            (true, false) | (false, true) => Ok(()),
            (false, false) => Err(format!("regex {:?} not matched", self.re.as_str())),
            (true, true) => Err(format!(
                "regex {:?} matched (regex_no_match)",
                self.re.as_str()
            )),
        }
    }
}

fn one_line(e: &regex::Error) -> String {
    e.to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn re(p: &str, opts: &[&str]) -> BodyRegex {
        let o: Vec<String> = opts.iter().map(|s| s.to_string()).collect();
        BodyRegex::new(p, &o, false, None, None).unwrap()
    }

    #[test]
    fn plain_and_no_match() {
        let body = b"<html>status: OK</html>\n";
        assert!(re("status: (OK|WARN)", &[]).check(body).is_ok());
        assert!(re("status: FAIL", &[]).check(body).is_err());
        let o = vec![];
        let nm = BodyRegex::new("FAIL", &o, true, None, None).unwrap();
        assert!(nm.check(body).is_ok());
        let nm = BodyRegex::new("OK", &o, true, None, None).unwrap();
        assert!(nm.check(body).unwrap_err().contains("regex_no_match"));
    }

    #[test]
    fn options() {
        assert!(!re("ok", &[]).found(b"OK"));
        assert!(re("ok", &["caseless"]).found(b"OK"));
        assert!(!re("^b", &[]).found(b"a\nb"));
        assert!(re("^b", &["multiline"]).found(b"a\nb"));
        assert!(!re("a.b", &[]).found(b"a\nb"));
        assert!(re("a.b", &["dotall"]).found(b"a\nb"));
        assert!(re("a b # comment", &["extended"]).found(b"ab"));
        let m = re("a.+", &["ungreedy"]).re.find(b"abc").unwrap();
        assert_eq!(m.as_bytes(), b"ab");
        // ASCII classes by default, Unicode ones with utf/ucp; raw bytes ok.
        assert!(!re(r"^\w$", &[]).found("é".as_bytes()));
        assert!(re(r"^\w$", &["utf"]).found("é".as_bytes()));
        assert!(re("caf\u{e9}", &[]).found("un café".as_bytes()));
        assert!(re("x", &[]).found(b"\xff\xfex"));
        // firstline: the match must start in the first line.
        assert!(re("b", &[]).found(b"a\nb"));
        assert!(!re("b", &["firstline"]).found(b"a\nb"));
        // Unknown-to-us PCRE2 tuning names are accepted.
        assert!(re("a", &["no_start_optimize", "use_offset_limit"]).found(b"a"));
    }

    #[test]
    fn dollar_as_pcre2() {
        assert!(re("done$", &[]).found(b"all done\n"));
        assert!(!re("done$", &["dollar_endonly"]).found(b"all done\n"));
        assert!(re("done$", &["dollar_endonly"]).found(b"all done"));
        assert!(!re("done$", &[]).found(b"all done\n\n"));
    }

    #[test]
    fn offsets() {
        let o = vec![];
        let body = b"0123456789 marker";
        let at = |min, max| BodyRegex::new("marker", &o, false, min, max).unwrap();
        assert!(at(Some(11), None).found(body));
        assert!(!at(Some(12), None).found(body));
        assert!(at(None, Some(11)).found(body));
        assert!(!at(None, Some(10)).found(body));
        assert!(!at(Some(1000), None).found(body));
        // ^ does not match at a min offset past the start (as PCRE2's start offset).
        let anchored = BodyRegex::new("^marker", &o, false, Some(11), None).unwrap();
        assert!(!anchored.found(body));
    }

    #[test]
    fn pcre_only_syntax_is_an_error() {
        let o = vec![];
        let e = BodyRegex::new(r"(a)\1", &o, false, None, None).unwrap_err();
        assert!(e.contains("cannot be used"), "{e}");
        assert!(!e.contains('\n'));
        assert!(BodyRegex::new("(?=x)", &o, false, None, None).is_err());
    }
}
