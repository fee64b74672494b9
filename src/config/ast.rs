//! Words and blocks: the syntactic tree of a configuration, before any meaning
//! is given to keywords.
//!
//! Words are split on blanks; a double-quoted string is one word without its
//! quotes (keepalived's plain word splitting).  Script command lines are split
//! again later with [`split_command`], which knows single quotes and escapes.
//!
//! The tree follows braces: `{` opens a block for the statement before it, `}`
//! closes it.  Because keepalived's keyword tables decide whether a keyword has
//! a block, the typed pass (see `build`) handles the two recovery cases that need
//! that knowledge: a block keyword whose `{` is missing, and a leaf keyword that
//! was given a block.  Here we handle what is purely syntactic: an extra `}`
//! (reported and ignored, as keepalived does) and `}`s missing at the end of the
//! input (reported; open blocks are closed).

use super::diag::{Diagnostics, FileId, Location};
use super::preprocess::Line;
use serde::Serialize;
use std::borrow::Cow;
use std::rc::Rc;

/// One word of a statement with where it starts.
///
/// The text is a range of its line's text, which the words of a line share:
/// one allocation per line rather than one per word (a large configuration
/// has hundreds of thousands of words).
#[derive(Clone)]
pub struct Word {
    line: Rc<str>,
    start: u32,
    end: u32,
    pub loc: Location,
}

impl Word {
    /// A word of its own text.
    pub fn new(text: &str, loc: Location) -> Word {
        Word {
            line: Rc::from(text),
            start: 0,
            end: u32::try_from(text.len()).unwrap_or(0),
            loc,
        }
    }

    /// The word `line[range]`, sharing the line's text.
    fn in_line(line: &Rc<str>, range: std::ops::Range<usize>, loc: Location) -> Word {
        match (u32::try_from(range.start), u32::try_from(range.end)) {
            (Ok(start), Ok(end)) if line.get(range.clone()).is_some() => Word {
                line: line.clone(),
                start,
                end,
                loc,
            },
            _ => Word::new(line.get(range).unwrap_or(""), loc),
        }
    }

    /// The word's text.
    pub fn text(&self) -> &str {
        self.line
            .get(self.start as usize..self.end as usize)
            .unwrap_or("")
    }
}

impl PartialEq for Word {
    fn eq(&self, other: &Word) -> bool {
        self.text() == other.text() && self.loc == other.loc
    }
}

impl Eq for Word {}

impl std::fmt::Debug for Word {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Word")
            .field("text", &self.text())
            .field("loc", &self.loc)
            .finish()
    }
}

impl Serialize for Word {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Word", 1)?;
        st.serialize_field("text", self.text())?;
        st.end()
    }
}

/// A statement: a keyword, its arguments, and maybe a block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub keyword: Word,
    pub args: Vec<Word>,
    /// The text after the keyword as written (quotes kept), when it is not
    /// simply the arguments joined by single spaces: see [`Node::raw_args`].
    /// Most statements are plain words, so most nodes carry no copy of it.
    pub raw: Option<Box<str>>,
    pub block: Option<Block>,
    /// Where the block's braces were (see [`Node::block_loc`] and
    /// [`Node::block_end`]); boxed, as most statements have no block.
    pub braces: Option<Box<Braces>>,
}

/// Where a statement's block starts and ends.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Braces {
    /// Where the block's `{` was (for diagnostics).
    pub open: Option<Location>,
    /// Where the block's `}` was; `None` when the input ended first.  keepalived
    /// runs its end-of-block checks when it reads the `}`, and names that line.
    pub close: Option<Location>,
}

impl Serialize for Node {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Node", 4)?;
        st.serialize_field("keyword", &self.keyword)?;
        st.serialize_field("args", &self.args)?;
        st.serialize_field("raw_args", &self.raw_args())?;
        st.serialize_field("block", &self.block)?;
        st.end()
    }
}

/// The statements of a block: a range of a shared list.  The typed pass
/// queues, hands up and re-reads statements the way keepalived's line reader
/// does (see `build::Queue`); sharing makes that linear instead of copying.
#[derive(Clone, Debug)]
pub struct Block {
    nodes: Rc<[Node]>,
    start: u32,
    end: u32,
}

impl Block {
    /// `nodes[range]`, clamped to the list.
    pub fn range(nodes: &Rc<[Node]>, range: std::ops::Range<usize>) -> Block {
        let end = range.end.min(nodes.len());
        Block {
            nodes: nodes.clone(),
            start: range.start.min(end) as u32,
            end: end as u32,
        }
    }

    /// The shared list and the range of it that is this block.
    pub fn parts(&self) -> (&Rc<[Node]>, std::ops::Range<usize>) {
        (&self.nodes, self.start as usize..self.end as usize)
    }
}

impl Block {
    /// Move `nodes` into a new shared list (one allocation of the exact
    /// size), leaving `nodes` empty with its capacity, for reuse.
    pub fn take_from(nodes: &mut Vec<Node>) -> Block {
        let end = nodes.len() as u32;
        Block {
            nodes: nodes.drain(..).collect(),
            start: 0,
            end,
        }
    }
}

impl From<Vec<Node>> for Block {
    fn from(nodes: Vec<Node>) -> Block {
        let end = nodes.len() as u32;
        Block {
            nodes: nodes.into(),
            start: 0,
            end,
        }
    }
}

impl std::ops::Deref for Block {
    type Target = [Node];

    fn deref(&self) -> &[Node] {
        self.nodes
            .get(self.start as usize..self.end as usize)
            .unwrap_or(&[])
    }
}

impl PartialEq for Block {
    fn eq(&self, other: &Block) -> bool {
        **self == **other
    }
}

impl Eq for Block {}

impl Serialize for Block {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(s)
    }
}

impl Node {
    pub fn name(&self) -> &str {
        self.keyword.text()
    }

    pub fn loc(&self) -> &Location {
        &self.keyword.loc
    }

    pub fn arg(&self, i: usize) -> Option<&Word> {
        self.args.get(i)
    }

    pub fn arg_str(&self, i: usize) -> Option<&str> {
        self.args.get(i).map(Word::text)
    }

    /// The location of argument `i`, or of the keyword when it is missing.
    pub fn arg_loc(&self, i: usize) -> &Location {
        self.args
            .get(i)
            .map(|w| &w.loc)
            .unwrap_or(&self.keyword.loc)
    }

    pub fn children(&self) -> &[Node] {
        self.block.as_deref().unwrap_or(&[])
    }

    /// Where the block's `{` was (for diagnostics).
    pub fn block_loc(&self) -> Option<&Location> {
        self.braces.as_ref().and_then(|b| b.open.as_ref())
    }

    /// Where the block's `}` was; `None` when the input ended first.
    pub fn block_end(&self) -> Option<&Location> {
        self.braces.as_ref().and_then(|b| b.close.as_ref())
    }

    pub fn set_block_loc(&mut self, loc: Option<Location>) {
        match &mut self.braces {
            Some(b) => b.open = loc,
            None if loc.is_none() => {}
            None => {
                self.braces = Some(Box::new(Braces {
                    open: loc,
                    close: None,
                }))
            }
        }
        self.drop_empty_braces();
    }

    pub fn set_block_end(&mut self, loc: Option<Location>) {
        match &mut self.braces {
            Some(b) => b.close = loc,
            None if loc.is_none() => {}
            None => {
                self.braces = Some(Box::new(Braces {
                    open: None,
                    close: loc,
                }))
            }
        }
        self.drop_empty_braces();
    }

    /// No box when there is nothing to say.
    fn drop_empty_braces(&mut self) {
        if self
            .braces
            .as_ref()
            .is_some_and(|b| b.open.is_none() && b.close.is_none())
        {
            self.braces = None;
        }
    }

    /// The text after the keyword as written (quotes kept), for keywords
    /// whose value is a command line.
    pub fn raw_args(&self) -> Cow<'_, str> {
        match &self.raw {
            Some(raw) => Cow::Borrowed(raw),
            None => match self.args.as_slice() {
                [] => Cow::Borrowed(""),
                [one] => Cow::Borrowed(one.text()),
                many => Cow::Owned(many.iter().map(Word::text).collect::<Vec<_>>().join(" ")),
            },
        }
    }
}

/// Split a logical line into words (keepalived's plain splitting: blanks
/// separate words, a double-quoted string is one word without its quotes).
pub fn split_words(line: &Line, diags: &mut Diagnostics) -> Vec<Word> {
    let mut words = Vec::new();
    let _ = split_words_into(line, diags, &mut words);
    words
}

/// [`split_words`], appending to `words`.  Returns whether the line is plain:
/// no quotes, and its words separated by single spaces with no blanks around
/// them (then the text after the first word is the arguments joined by
/// single spaces).
fn split_words_into(line: &Line, diags: &mut Diagnostics, words: &mut Vec<Word>) -> bool {
    let t = line.text.text.as_str();
    let b = t.as_bytes();
    // The words share one copy of the line's text (made on the first word).
    let mut shared: Option<Rc<str>> = None;
    let mut plain = true;
    let mut first = true;
    let mut i = 0;
    while i < b.len() {
        let blanks = i;
        while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
            plain &= b[i] == b' ';
            i += 1;
        }
        let run = i - blanks;
        if i >= b.len() {
            plain &= run == 0;
            break;
        }
        plain &= run == usize::from(!first);
        first = false;
        let start = i;
        let range = if b[i] == b'"' {
            plain = false;
            match t[i + 1..].find('"') {
                Some(end) => {
                    let r = i + 1..i + 1 + end;
                    i = i + 1 + end + 1;
                    r
                }
                None => {
                    diags.error(
                        &line.location(start),
                        "\"",
                        format!("unmatched quote: '{t}'"),
                    );
                    let r = i + 1..b.len();
                    i = b.len();
                    r
                }
            }
        } else {
            while i < b.len() && b[i] != b' ' && b[i] != b'\t' && b[i] != b'"' {
                i += 1;
            }
            start..i
        };
        let shared = shared.get_or_insert_with(|| Rc::from(t));
        words.push(Word::in_line(shared, range, line.location(start)));
    }
    plain
}

/// Split a command line the way keepalived splits script commands: blanks
/// separate words; single and double quotes group; backslash escapes (`\n`,
/// `\t`, `\xHH`, octal `\NNN`, `\cC`, and any other character literally).
pub fn split_command(s: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut word = String::new();
        let mut quote: Option<char> = None;
        while let Some(&c) = chars.peek() {
            if quote.is_none() && (c == ' ' || c == '\t') {
                break;
            }
            chars.next();
            match c {
                '\\' => {
                    let Some(e) = chars.next() else {
                        return Err(format!("missing escape character at end of '{s}'"));
                    };
                    match e {
                        'x' if chars.peek().is_some_and(|c| c.is_ascii_hexdigit()) => {
                            let mut v: u32 = 0;
                            while let Some(d) = chars.peek().and_then(|c| c.to_digit(16)) {
                                v = (v << 4 | d) & 0xff;
                                chars.next();
                            }
                            word.push(char::from(v as u8));
                        }
                        'c' if chars.peek().is_some() => {
                            let c = chars.next().unwrap_or('@');
                            word.push(char::from((c as u32 & 0x1f) as u8));
                        }
                        '0'..='7' => {
                            let mut v = e.to_digit(8).unwrap_or(0);
                            for _ in 0..2 {
                                match chars.peek().and_then(|c| c.to_digit(8)) {
                                    Some(d) => {
                                        v = (v << 3 | d) & 0xff;
                                        chars.next();
                                    }
                                    None => break,
                                }
                            }
                            word.push(char::from(v as u8));
                        }
                        'a' => word.push('\x07'),
                        'b' => word.push('\x08'),
                        'E' => word.push('\x1b'),
                        'f' => word.push('\x0c'),
                        'n' => word.push('\n'),
                        'r' => word.push('\r'),
                        't' => word.push('\t'),
                        'v' => word.push('\x0b'),
                        other => word.push(other),
                    }
                }
                '"' | '\'' if quote.is_none() => quote = Some(c),
                q if Some(q) == quote => quote = None,
                other => word.push(other),
            }
        }
        if let Some(q) = quote {
            return Err(format!("string '{s}': missing terminating {q}"));
        }
        out.push(word);
    }
    Ok(out)
}

/// Build the statement tree from logical lines.
pub fn build_tree(lines: &[Line], diags: &mut Diagnostics) -> Vec<Node> {
    build_tree_from(lines.iter().cloned(), diags)
}

/// Build the statement tree from a stream of logical lines (see
/// [`crate::config::preprocess::open_file`]).
pub fn build_tree_from(
    lines: impl IntoIterator<Item = Line>,
    diags: &mut Diagnostics,
) -> Vec<Node> {
    build_tree_counted(lines, diags).0
}

/// [`build_tree_from`], also giving the number of blocks opened (a measure
/// of the named things the typed pass will remember, to size its tables).
pub fn build_tree_counted(
    lines: impl IntoIterator<Item = Line>,
    diags: &mut Diagnostics,
) -> (Vec<Node>, usize) {
    let mut blocks = 0usize;
    // Each stack entry is the list of statements of an open block; the bottom
    // entry is the top level.
    let mut stack: Vec<Vec<Node>> = vec![Vec::new()];
    // Lists of closed blocks, emptied, kept for the next blocks: each block's
    // statements are gathered here, then moved into a list of their exact size.
    let mut spare: Vec<Vec<Node>> = Vec::new();
    let mut words: Vec<Word> = Vec::new();
    let mut open_locs: Vec<Location> = Vec::new();
    for line in lines {
        let line = &line;
        let t = line.text.text.as_str();
        if t == "{" {
            blocks += 1;
            let loc = line.location(0);
            let parent = stack.last_mut().and_then(|s| s.last_mut());
            match parent {
                Some(node) if node.block.is_none() => {
                    node.set_block_loc(Some(loc.clone()));
                    stack.push(spare.pop().unwrap_or_default());
                    open_locs.push(loc);
                }
                _ => {
                    diags.error(
                        &loc,
                        "{",
                        "unexpected '{' with no keyword before it - ignored; as in keepalived, \
                         the lines after it are read as part of the enclosing block, and its \
                         '}' ends the enclosing block",
                    );
                    // Keep the tree balanced: its content goes to an anonymous
                    // node, which the typed pass reads as keepalived does.
                    if let Some(l) = stack.last_mut() {
                        l.push(Node {
                            keyword: Word::new("", loc.clone()),
                            args: Vec::new(),
                            raw: None,
                            block: None,
                            braces: Some(Box::new(Braces {
                                open: Some(loc.clone()),
                                close: None,
                            })),
                        });
                    }
                    stack.push(spare.pop().unwrap_or_default());
                    open_locs.push(loc);
                }
            }
            continue;
        }
        if t == "}" {
            if stack.len() <= 1 {
                diags.error(&line.location(0), "}", "extra '}' found - ignored");
                // Kept as a statement named `}`: a root block keyword without
                // its `{` ends there, as in keepalived (the typed pass ignores
                // it otherwise).
                if let Some(level) = stack.last_mut() {
                    level.push(Node {
                        keyword: Word::new("}", line.location(0)),
                        ..Node::default()
                    });
                }
                continue;
            }
            close_block(&mut stack, &mut spare, Some(line.location(0)));
            open_locs.pop();
            continue;
        }
        words.clear();
        let plain = split_words_into(line, diags, &mut words);
        let mut split = words.drain(..);
        let Some(keyword) = split.next() else {
            continue;
        };
        // The arguments in a vector of their exact size.
        let mut args = Vec::with_capacity(split.len());
        args.extend(split);
        debug_assert!(!plain || is_joined(raw_after_first_word(&line.text.text), &args));
        let raw = if plain {
            None
        } else {
            let raw = raw_after_first_word(&line.text.text);
            (!is_joined(raw, &args)).then(|| Box::from(raw))
        };
        if let Some(level) = stack.last_mut() {
            level.push(Node {
                keyword,
                args,
                raw,
                block: None,
                braces: None,
            });
        }
    }
    if stack.len() > 1 {
        let n = stack.len() - 1;
        let loc = open_locs.first().cloned();
        diags.push(
            super::diag::Severity::Error,
            loc,
            Some("}"),
            format!(
                "there are {n} missing '}}'s or extra '{{'s (block opened here is never closed)"
            ),
        );
        while stack.len() > 1 {
            close_block(&mut stack, &mut spare, None);
        }
    }
    (stack.pop().unwrap_or_default(), blocks)
}

fn raw_after_first_word(s: &str) -> &str {
    let blank = |c: &u8| *c == b' ' || *c == b'\t';
    let b = s.as_bytes();
    // Past the blanks, the first word, and the blanks after it (all ASCII
    // boundaries), up to the trailing blanks.
    let word = b.iter().position(|c| !blank(c)).unwrap_or(b.len());
    let after = b[word..]
        .iter()
        .position(blank)
        .map_or(b.len(), |i| word + i);
    let start = b[after..]
        .iter()
        .position(|c| !blank(c))
        .map_or(b.len(), |i| after + i);
    let end = b.iter().rposition(|c| !blank(c)).map_or(0, |i| i + 1);
    s.get(start..end.max(start)).unwrap_or("")
}

/// Whether `raw` is exactly the words of `args` joined by single spaces (what
/// [`Node::raw_args`] gives back when no copy of the raw text is kept).
fn is_joined(raw: &str, args: &[Word]) -> bool {
    let mut rest = raw;
    for (i, w) in args.iter().enumerate() {
        if i > 0 {
            match rest.strip_prefix(' ') {
                Some(r) => rest = r,
                None => return false,
            }
        }
        match rest.strip_prefix(w.text()) {
            Some(r) => rest = r,
            None => return false,
        }
    }
    rest.is_empty()
}

fn close_block(stack: &mut Vec<Vec<Node>>, spare: &mut Vec<Vec<Node>>, end: Option<Location>) {
    let Some(mut children) = stack.pop() else {
        return;
    };
    if let Some(owner) = stack.last_mut().and_then(|l| l.last_mut()) {
        owner.block = Some(Block::take_from(&mut children));
        owner.set_block_end(end);
    }
    children.clear();
    spare.push(children);
}

impl Default for Node {
    fn default() -> Self {
        Node {
            keyword: Word::new("", Location::new(FileId::default(), 0, 0)),
            args: Vec::new(),
            raw: None,
            block: None,
            braces: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::preprocess::{preprocess_str, PreprocessOptions};
    use std::path::Path;

    fn tree(text: &str) -> (Vec<Node>, Diagnostics) {
        let mut d = Diagnostics::new();
        let opts = PreprocessOptions {
            config_id: "x".into(),
            allow_includes: false,
            random_seed: Some(1),
        };
        let lines = preprocess_str("t.conf", Path::new("."), text, opts, &mut d);
        let t = build_tree(&lines, &mut d);
        (t, d)
    }

    #[test]
    fn nested_blocks() {
        let (t, d) = tree("a 1 {\n b 2\n c {\n  d\n }\n}\ne\n");
        assert!(d.items.is_empty());
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].name(), "a");
        assert_eq!(t[0].arg_str(0), Some("1"));
        assert_eq!(t[0].children().len(), 2);
        assert_eq!(t[0].children()[1].children()[0].name(), "d");
        assert_eq!(t[1].name(), "e");
    }

    #[test]
    fn brace_on_own_line_and_attached() {
        let (t, _) = tree("vrrp_instance VI\n{\n track_script{\n chk\n }\n}\n");
        assert_eq!(t[0].children()[0].name(), "track_script");
        assert_eq!(t[0].children()[0].children()[0].name(), "chk");
    }

    #[test]
    fn extra_and_missing_braces() {
        let (t, d) = tree("a {\n}\n}\nb {\n c\n");
        // The extra `}` stays as a statement named `}` (see build_tree).
        assert_eq!(t.len(), 3);
        assert_eq!(t[1].name(), "}");
        assert_eq!(d.count(crate::config::diag::Severity::Error), 2);
        assert_eq!(t[2].children()[0].name(), "c");
        assert_eq!(d.items[0].location.as_ref().unwrap().line, 3);
        // a's block ended at line 2; b's never did.
        assert_eq!(t[0].block_end().map(|l| (l.line, l.col)), Some((2, 1)));
        assert_eq!(t[2].block_end(), None);
    }

    #[test]
    fn block_end_is_the_closing_brace() {
        let (t, _) = tree("a {\n b {\n  c\n   }\n  }\n");
        assert_eq!(t[0].block_end().map(|l| (l.line, l.col)), Some((5, 3)));
        let b = &t[0].children()[0];
        assert_eq!(b.block_end().map(|l| (l.line, l.col)), Some((4, 4)));
    }

    #[test]
    fn quoted_words_and_locations() {
        let (t, _) = tree("script \"/bin/check -x 'a b'\"\n");
        assert_eq!(t[0].arg_str(0), Some("/bin/check -x 'a b'"));
        assert_eq!(t[0].raw_args(), "\"/bin/check -x 'a b'\"");
        assert_eq!(t[0].arg_loc(0).col, 8);
    }

    #[test]
    fn node_stays_small() {
        // The tree of a large file is mostly nodes: keep them small (they
        // were 176 bytes with the brace locations and raw text inline, 120
        // with a shared file name in each location).
        assert_eq!(std::mem::size_of::<Node>(), 112);
    }

    #[test]
    fn raw_args_only_kept_when_needed() {
        let (t, _) = tree("a b  c\nd e f\ng \"x\"\nh\tx\n");
        assert_eq!(t[0].raw_args(), "b  c");
        assert!(t[0].raw.is_some());
        assert_eq!(t[1].raw_args(), "e f");
        assert!(t[1].raw.is_none());
        assert_eq!(t[2].raw_args(), "\"x\"");
        assert_eq!(t[3].raw_args(), "x");
        assert!(t[3].raw.is_none());
    }

    #[test]
    fn command_splitting() {
        assert_eq!(
            split_command("/bin/a 'b c' \"d e\" f\\ g").unwrap(),
            vec!["/bin/a", "b c", "d e", "f g"]
        );
        assert_eq!(split_command("x \\x41\\101\\n").unwrap(), vec!["x", "AA\n"]);
        assert!(split_command("a 'b").is_err());
    }
}
