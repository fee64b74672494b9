//! The preprocessor: turns configuration files into logical lines, following
//! keepalived's reading rules (keepalived's `lib/parser.c`, described in our own
//! words in docs/CONFIG-SYNTAX.md):
//!
//! - `#` and `!` start a comment anywhere outside double quotes; `\#` and `\!`
//!   stand for the literal characters;
//! - CR/LF line ends, tabs, a missing final newline;
//! - a trailing `\` continues the line (keepalived only honours it inside `$`
//!   definitions; we honour it everywhere, which only makes more files readable);
//! - `@ID line` / `@^ID line` keep the line only if the config id matches / does not;
//! - `$NAME=value` definitions (multi-line with `\`), `$NAME` / `${NAME}` expansion,
//!   the predefined `${_PWD}`, `${_INSTANCE}`, `${_RANDOM [min [max]]}`, `${_HASH}`,
//!   `${_BANG}`;
//! - `~SEQ(var, [start,] [step,] end)`, `~SEQx(...)` and `~LST(...)` line generators;
//! - `include`, `includer`, `includem`, `includew`, `includeb`, `includea` with
//!   globs and csh braces, relative to the including file, nested;
//! - each `{` and `}` outside quotes ends up on a logical line of its own, so
//!   `80{`, `track_script{` and `{` on its own line all read the same.
//!
//! Every byte of a logical line keeps the column it came from, so diagnostics
//! can name file:line:column even after substitution.

use super::diag::{Diagnostics, FileId, Location, Severity};
use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};

/// keepalived reads lines into a 1024-byte buffer; we allow much longer lines but
/// bound expansion so a recursive definition cannot exhaust memory.
const MAX_LINE: usize = 64 * 1024;
/// Bound on nested includes (keepalived has none; a loop would never end).
const MAX_INCLUDE_DEPTH: usize = 32;
/// Bound on generated lines (from `~SEQ`, `~LST` and multi-line definitions).
const MAX_GENERATED_LINES: usize = 2_000_000;
/// Bound on substitution rounds for one line (recursive definitions).
const MAX_SUBSTITUTIONS: usize = 10_000;

/// A string whose every byte remembers the column it came from.
///
/// The mapping is stored as segments, not one column per byte: almost every
/// line is a single run of consecutive columns, and substituted text maps to
/// the column of its `$`. This keeps memory and time linear and small on
/// configurations of hundreds of thousands of lines.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MappedStr {
    pub text: String,
    /// (byte offset where the segment starts, column of that byte, whether the
    /// following bytes advance the column (source text) or share it
    /// (substituted text)); sorted by offset, the first at offset 0.
    segs: Segs,
}

/// A segment of a [`MappedStr`]'s column mapping.
type Seg = (u32, u32, bool);

/// The segments of a [`MappedStr`]: almost always one, kept inline (no
/// allocation per line).
#[derive(Clone, Debug)]
enum Segs {
    One([Seg; 1]),
    Many(Vec<Seg>),
}

impl Default for Segs {
    fn default() -> Self {
        Segs::Many(Vec::new())
    }
}

impl PartialEq for Segs {
    fn eq(&self, other: &Segs) -> bool {
        **self == **other
    }
}

impl Eq for Segs {}

impl std::ops::Deref for Segs {
    type Target = [Seg];

    fn deref(&self) -> &[Seg] {
        match self {
            Segs::One(one) => one,
            Segs::Many(many) => many,
        }
    }
}

impl From<Vec<Seg>> for Segs {
    fn from(v: Vec<Seg>) -> Segs {
        match v.as_slice() {
            [one] => Segs::One([*one]),
            _ => Segs::Many(v),
        }
    }
}

impl MappedStr {
    pub fn from_source(text: &str, first_col: u32) -> Self {
        Self::from_source_owned(text.to_owned(), first_col)
    }

    /// [`MappedStr::from_source`], taking the text rather than copying it.
    fn from_source_owned(text: String, first_col: u32) -> Self {
        MappedStr {
            text,
            segs: Segs::One([(0, first_col, true)]),
        }
    }

    /// Text that all maps to one column (substituted text).
    fn uniform(text: &str, col: u32) -> Self {
        MappedStr {
            text: text.to_owned(),
            segs: Segs::One([(0, col, false)]),
        }
    }

    /// The column of byte `byte` (the last byte's for positions past the end).
    pub fn col_at(&self, byte: usize) -> u32 {
        let byte = byte.min(self.text.len().saturating_sub(1)) as u32;
        // One segment from offset 0 (almost every line): no search.
        if let Segs::One([(0, col, linear)]) = self.segs {
            return if linear { col + byte } else { col };
        }
        let idx = self.segs.partition_point(|s| s.0 <= byte);
        match idx.checked_sub(1).and_then(|i| self.segs.get(i)) {
            Some(&(off, col, linear)) if linear => col + (byte - off),
            Some(&(_, col, _)) => col,
            None => 1,
        }
    }

    /// The segment description of the old mapping from byte `pos` on.
    fn segs_from(&self, pos: usize, shift: i64) -> Vec<Seg> {
        let mut out = Vec::new();
        if pos >= self.text.len() {
            return out;
        }
        let p = pos as u32;
        let idx = self.segs.partition_point(|s| s.0 <= p);
        let linear = idx
            .checked_sub(1)
            .and_then(|i| self.segs.get(i))
            .is_none_or(|s| s.2);
        let at = |off: u32| (i64::from(off) + shift).max(0) as u32;
        out.push((at(p), self.col_at(pos), linear));
        out.extend(self.segs[idx..].iter().map(|&(o, c, l)| (at(o), c, l)));
        out
    }

    fn slice(&self, start: usize, end: usize) -> MappedStr {
        let text = self.text[start..end].to_owned();
        if let Segs::One([(0, _, linear)]) = self.segs {
            // One segment: what the general case below gives, without a vector.
            let linear = linear && start < end;
            return MappedStr {
                text,
                segs: Segs::One([(0, self.col_at(start), linear)]),
            };
        }
        let mut segs = self.segs_from(start, -(start as i64));
        segs.retain(|s| (s.0 as usize) < end - start);
        if segs.is_empty() {
            segs.push((0, self.col_at(start), false));
        }
        MappedStr {
            text,
            segs: segs.into(),
        }
    }

    fn replace_range(&mut self, start: usize, end: usize, with: &str) {
        let col = self.col_at(start);
        let shift = with.len() as i64 - (end - start) as i64;
        let mut segs: Vec<Seg> = self
            .segs
            .iter()
            .copied()
            .filter(|s| (s.0 as usize) < start)
            .collect();
        if !with.is_empty() {
            segs.push((start as u32, col, false));
        }
        segs.extend(self.segs_from(end, shift));
        if segs.is_empty() {
            segs.push((0, col, false));
        }
        self.text.replace_range(start..end, with);
        self.segs = segs.into();
    }

    fn remove(&mut self, at: usize) {
        self.replace_range(at, at + 1, "");
    }

    fn truncate(&mut self, len: usize) {
        self.text.truncate(len);
        if let Segs::Many(segs) = &mut self.segs {
            if segs.len() > 1 {
                segs.retain(|s| s.0 == 0 || (s.0 as usize) < len);
            }
        }
    }

    fn push_str(&mut self, other: &MappedStr) {
        let base = self.text.len() as u32;
        self.text.push_str(&other.text);
        let mut segs = match std::mem::take(&mut self.segs) {
            Segs::One(one) => one.to_vec(),
            Segs::Many(many) => many,
        };
        segs.extend(other.segs.iter().map(|&(o, c, l)| (o + base, c, l)));
        self.segs = segs.into();
    }

    fn trim_start(&mut self) {
        let n = leading_blanks(&self.text);
        if n > 0 {
            self.drop_front(n);
        }
    }

    /// `*self = self.slice(n, self.text.len())`, in place: most lines are
    /// indented, and this runs on each of them.
    fn drop_front(&mut self, n: usize) {
        let len = self.text.len();
        if n >= len {
            *self = self.slice(n, len);
            return;
        }
        if let Segs::One([(0, _, linear)]) = self.segs {
            // One segment: it still is, starting at the new first byte.
            self.segs = Segs::One([(0, self.col_at(n), linear)]);
            self.text.drain(..n);
            return;
        }
        // As `segs_from(n, -n)`: the segment of byte `n` now starts at 0,
        // the later ones move back by `n`; then as `slice`, only those
        // that start inside the text are kept.
        let p = n as u32;
        let idx = self.segs.partition_point(|s| s.0 <= p);
        let linear = idx
            .checked_sub(1)
            .and_then(|i| self.segs.get(i))
            .is_none_or(|s| s.2);
        let col = self.col_at(n);
        let mut segs = match std::mem::take(&mut self.segs) {
            Segs::One(one) => one.to_vec(),
            Segs::Many(many) => many,
        };
        segs.drain(..idx);
        for s in &mut segs {
            s.0 = (i64::from(s.0) - n as i64).max(0) as u32;
        }
        segs.insert(0, (0, col, linear));
        let rest = len - n;
        segs.retain(|s| (s.0 as usize) < rest);
        self.segs = segs.into();
        self.text.drain(..n);
    }

    fn trim_end(&mut self) {
        let n = self.text.len() - trailing_blanks(&self.text);
        self.truncate(n);
    }
}

/// The number of blanks (spaces and tabs) `s` starts with.  (Bytes, not
/// chars: `trim_start_matches([' ', '\t'])` decodes each character, and this
/// runs on every line.)
fn leading_blanks(s: &str) -> usize {
    s.bytes().take_while(|&b| b == b' ' || b == b'\t').count()
}

/// The number of blanks `s` ends with.
fn trailing_blanks(s: &str) -> usize {
    s.bytes()
        .rev()
        .take_while(|&b| b == b' ' || b == b'\t')
        .count()
}

/// One logical line handed to the block parser.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub text: MappedStr,
    pub file: FileId,
    pub line: u32,
}

impl Line {
    pub fn location(&self, byte: usize) -> Location {
        Location::new(self.file, self.line, self.text.col_at(byte))
    }
}

/// What the preprocessor needs to know about the run.
#[derive(Clone, Debug)]
pub struct PreprocessOptions {
    /// The config id `@ID` lines are compared with (keepalived: `-i`, else the
    /// short host name).
    pub config_id: String,
    /// Whether `include` may read files (off for fuzzing and for in-memory input).
    pub allow_includes: bool,
    /// Seed for `${_RANDOM}`; `None` seeds from the clock as keepalived does.
    pub random_seed: Option<u64>,
}

impl Default for PreprocessOptions {
    fn default() -> Self {
        PreprocessOptions {
            config_id: default_config_id(),
            allow_includes: true,
            random_seed: None,
        }
    }
}

/// keepalived's default config id: the host name up to its first dot.
pub fn default_config_id() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .map(|h| h.split('.').next().unwrap_or_default().to_owned())
        .unwrap_or_default()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Builtin {
    Pwd,
    Instance,
    Random,
}

#[derive(Clone, Debug)]
struct Definition {
    /// The value; lines of a multi-line definition are joined with '\n'.
    value: String,
    multiline: bool,
    builtin: Option<Builtin>,
}

/// How strict an include is about missing or unmatched files (keepalived's
/// `include` variants and `include_check`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct IncludeStrictness {
    /// Files that cannot be read are errors (`includer`).
    readable: bool,
    /// Named files must exist (`includem`).
    must_match: bool,
    /// Wildcards must match something (`includew`).
    wildcard_match: bool,
    /// Every alternative of a brace must exist (`includeb`).
    brace_match: bool,
}

struct OpenFile {
    name: FileId,
    dir: PathBuf,
    /// The whole file; lines are cut from it one at a time.
    text: String,
    /// Byte offset of the next line; past the end when the file is done.
    pos: usize,
    /// Lines handed out so far (the line number of the last one).
    line_no: u32,
    /// A line given back (see the continuation handling in `next_raw`),
    /// with the column of its first byte.
    pushed_back: Option<(String, u32)>,
}

impl OpenFile {
    /// The next line without its leading blanks, the column where what is
    /// left starts, and its line number.  (Leaving the blanks out here, rather
    /// than copying them and removing them from the copy, saves moving the
    /// text of each indented line.)
    fn next_line(&mut self) -> Option<(String, u32, u32)> {
        if let Some((l, col)) = self.pushed_back.take() {
            return Some((l, col, self.line_no));
        }
        if self.pos > self.text.len() {
            return None;
        }
        let rest = &self.text[self.pos..];
        // A byte loop, not `find`: lines are short, and the general
        // searcher's set-up costs more than the loop on each of them.
        let (line, advance) = match rest.bytes().position(|b| b == b'\n') {
            Some(i) => (&rest[..i], i + 1),
            // The last line (possibly empty, as `split('\n')` gives it).
            None => (rest, rest.len() + 1),
        };
        let blanks = leading_blanks(line);
        let col = u32::try_from(blanks).map_or(u32::MAX, |b| b.saturating_add(1));
        let text = line[blanks..].to_owned();
        self.pos += advance;
        self.line_no += 1;
        Some((text, col, self.line_no))
    }
}

/// What [`OpenFile::next_plain`] makes of each byte: most are [`ORDINARY`];
/// [`NOT_PLAIN`] ones send the line to the general path (a carriage return,
/// quotes, escapes and comments for `decomment`, `$` for definitions and
/// references).
static BYTE_CLASS: [u8; 256] = {
    let mut t = [ORDINARY; 256];
    t[b'\n' as usize] = LINE_END;
    t[b'{' as usize] = BRACE;
    t[b'}' as usize] = BRACE;
    t[b'\r' as usize] = NOT_PLAIN;
    t[b'"' as usize] = NOT_PLAIN;
    t[b'\\' as usize] = NOT_PLAIN;
    t[b'#' as usize] = NOT_PLAIN;
    t[b'!' as usize] = NOT_PLAIN;
    t[b'$' as usize] = NOT_PLAIN;
    t
};
const ORDINARY: u8 = 0;
const LINE_END: u8 = 1;
const BRACE: u8 = 2;
const NOT_PLAIN: u8 = 3;

/// A plain line, cut where its first brace splits it (see
/// [`OpenFile::next_plain`]).
struct PlainLine {
    /// The text up to the split (the whole line without one), with the
    /// column of its first byte; `None` for a blank line.
    head: Option<(String, u32)>,
    /// What follows the split, without its leading blanks, and its column;
    /// `None` when nothing does.
    rest: Option<(String, u32)>,
    line_no: u32,
}

impl OpenFile {
    /// The next line when it is plain: no [`NOT_PLAIN`] byte, not a
    /// conditional (`@`), a generator (`~`) or an `include`. Those are most
    /// lines of a large configuration, and for them the general path
    /// (decomment, continuation, conditionals, substitution, include, then
    /// `split_braces`) comes down to: trim the blanks, cut at the first
    /// brace; a blank line is read and dropped. `None`, with the line left
    /// unread, when the next line is not plain, is given back, or the file
    /// is done.
    fn next_plain(&mut self) -> Option<PlainLine> {
        if self.pushed_back.is_some() || self.pos > self.text.len() {
            return None;
        }
        let b = &self.text.as_bytes()[self.pos..];
        let blanks = b.iter().take_while(|&&c| c == b' ' || c == b'\t').count();
        let mut end = blanks;
        let mut brace = None;
        while let Some(&c) = b.get(end) {
            match BYTE_CLASS[usize::from(c)] {
                ORDINARY => {}
                LINE_END => break,
                BRACE => {
                    brace = brace.or(Some(end));
                }
                _ => return None,
            }
            end += 1;
        }
        let advance = if end < b.len() { end + 1 } else { b.len() + 1 };
        let trimmed = end - trailing_blanks(&self.text[self.pos + blanks..self.pos + end]);
        if trimmed == blanks {
            self.pos += advance;
            self.line_no += 1;
            return Some(PlainLine {
                head: None,
                rest: None,
                line_no: self.line_no,
            });
        }
        let first = b[blanks];
        if first == b'@' || first == b'~' || b[blanks..trimmed].starts_with(b"include") {
            return None;
        }
        let start = self.pos + blanks;
        let col = u32::try_from(blanks).map_or(u32::MAX, |n| n.saturating_add(1));
        let line = &self.text[start..self.pos + trimmed];
        // As `split_braces`: a lone brace stays whole; otherwise the line
        // is cut before its first brace, or after it when it comes first.
        let split = match brace {
            Some(_) if line.len() == 1 => None,
            Some(at) => Some((at - blanks).max(1)),
            None => None,
        };
        let (head, rest) = match split {
            None => (line.to_owned(), None),
            Some(at) => {
                let after = &line[at..];
                let skip = after.len() - after.trim_start_matches([' ', '\t']).len();
                let rest_col = col.saturating_add(u32::try_from(at + skip).unwrap_or(u32::MAX));
                let head = &line[..at];
                let head = &head[..head.len() - trailing_blanks(head)];
                let rest = (skip < after.len()).then(|| (after[skip..].to_owned(), rest_col));
                (head.to_owned(), rest)
            }
        };
        self.pos += advance;
        self.line_no += 1;
        Some(PlainLine {
            head: Some((head, col)),
            rest,
            line_no: self.line_no,
        })
    }
}

/// A pending run of files from one `include` glob.
struct IncludeFrame {
    pending: VecDeque<PathBuf>,
    current: Option<OpenFile>,
}

struct Seq {
    var: String,
    values: VecDeque<Vec<(String, String)>>,
    text: MappedStr,
}

/// A multi-line definition being expanded, with the number of generators that
/// were active when it started (keepalived's multiline/seq interplay).
struct Expansion {
    lines: VecDeque<MappedStr>,
    seq_depth: usize,
    file: FileId,
    line: u32,
}

pub struct Preprocessor<'d> {
    opts: PreprocessOptions,
    diags: &'d mut Diagnostics,
    stack: Vec<IncludeFrame>,
    defs: HashMap<String, Definition>,
    seqs: Vec<Seq>,
    expansions: Vec<Expansion>,
    residue: Option<Line>,
    multiline_def: Option<String>,
    rng: rand::rngs::StdRng,
    generated: usize,
    /// `$`s looked at by substitution passes: a cost measure, so that tests
    /// can check substitution stays linear (see [`Resume`]).
    pub(crate) dollars_scanned: u64,
    /// Where the most recent line came from (for generated lines).
    last_origin: (FileId, u32),
    /// `@ID` lines whose id is not ours: the first one's location and every
    /// such id. Said once at the end when no `@ID` line was ours (keepalived
    /// is silent; a wrong config id quietly drops a director's settings).
    other_ids: Option<(Location, std::collections::BTreeSet<String>)>,
    /// An `@ID` line with our id was seen.
    own_id_seen: bool,
    /// The end-of-input checks ran.
    finished: bool,
    /// Plain lines take the fast path (see [`Preprocessor::next_plain`]);
    /// off in tests that compare it with the general path.
    plain_path: bool,
}

impl<'d> Preprocessor<'d> {
    fn new(opts: PreprocessOptions, diags: &'d mut Diagnostics) -> Self {
        use rand::SeedableRng;
        let rng = match opts.random_seed {
            Some(seed) => rand::rngs::StdRng::seed_from_u64(seed),
            None => rand::rngs::StdRng::from_os_rng(),
        };
        let mut defs = HashMap::new();
        for (name, builtin, value) in [
            ("_PWD", Some(Builtin::Pwd), ""),
            ("_INSTANCE", Some(Builtin::Instance), ""),
            ("_RANDOM", Some(Builtin::Random), ""),
            ("_HASH", None, "#"),
            ("_BANG", None, "!"),
        ] {
            defs.insert(
                name.to_owned(),
                Definition {
                    value: value.to_owned(),
                    multiline: false,
                    builtin,
                },
            );
        }
        Preprocessor {
            opts,
            diags,
            stack: Vec::new(),
            defs,
            seqs: Vec::new(),
            expansions: Vec::new(),
            residue: None,
            multiline_def: None,
            rng,
            generated: 0,
            dollars_scanned: 0,
            last_origin: (FileId::default(), 0),
            other_ids: None,
            own_id_seen: false,
            finished: false,
            plain_path: true,
        }
    }

    /// Checks that need the whole input.
    fn finish(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
        if self.own_id_seen {
            return;
        }
        if let Some((loc, ids)) = self.other_ids.take() {
            let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
            self.diags.warn(
                &loc,
                "@",
                format!(
                    "no @ID line is for this host's config id '{}' (the file's ids: {}): \
                     every @ID line is skipped; set the id with -i/--config-id",
                    self.opts.config_id,
                    ids.join(", ")
                ),
            );
        }
    }

    fn error(&mut self, loc: Location, keyword: &str, msg: impl Into<String>) {
        self.diags.error(&loc, keyword, msg);
    }

    fn current_dir(&self) -> PathBuf {
        self.stack
            .iter()
            .rev()
            .find_map(|f| f.current.as_ref().map(|f| f.dir.clone()))
            .unwrap_or_else(|| PathBuf::from("."))
    }

    /// Next physical line from the include stack, with its origin.
    /// The text comes without its leading blanks: see [`OpenFile::next_line`].
    fn next_file_line(&mut self) -> Option<(String, u32, FileId, u32)> {
        loop {
            let frame = self.stack.last_mut()?;
            if let Some(file) = frame.current.as_mut() {
                if let Some((text, col, line_no)) = file.next_line() {
                    return Some((text, col, file.name, line_no));
                }
                frame.current = None;
            }
            match frame.pending.pop_front() {
                Some(path) => {
                    if let Some(file) = self.open(&path) {
                        if let Some(frame) = self.stack.last_mut() {
                            frame.current = Some(file);
                        }
                    }
                }
                None => {
                    self.stack.pop();
                }
            }
        }
    }

    fn open(&mut self, path: &Path) -> Option<OpenFile> {
        let name = FileId::intern(&path.to_string_lossy());
        match std::fs::read(path) {
            Ok(bytes) => Some(Self::file_from_bytes(name, path, bytes)),
            Err(e) => {
                let loc = Location::new(self.last_origin.0, self.last_origin.1, 1);
                self.error(
                    loc,
                    "include",
                    format!(
                        "configuration file '{}' cannot be read: {e}",
                        path.display()
                    ),
                );
                None
            }
        }
    }

    fn file_from_bytes(name: FileId, path: &Path, bytes: Vec<u8>) -> OpenFile {
        // Configuration files are text; invalid UTF-8 is replaced rather than refused,
        // as keepalived reads bytes. Valid text is taken as it is, not copied.
        let text = String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        let dir = path
            .parent()
            .map(Path::to_path_buf)
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."));
        OpenFile {
            name,
            dir,
            text,
            pos: 0,
            line_no: 0,
            pushed_back: None,
        }
    }

    /// The next raw logical line (before brace splitting), or None at the end.
    fn next_raw(&mut self) -> Option<Line> {
        loop {
            // Generators and expansions first, in keepalived's priority order.
            let seq_depth = self.expansions.last().map(|e| e.seq_depth);
            if !self.seqs.is_empty() && seq_depth.is_none_or(|d| self.seqs.len() > d) {
                if let Some(line) = self.next_from_seq() {
                    return Some(line);
                }
                continue;
            }
            if let Some(exp) = self.expansions.last_mut() {
                match exp.lines.pop_front() {
                    Some(text) => {
                        let line = Line {
                            text,
                            file: exp.file,
                            line: exp.line,
                        };
                        if exp.lines.is_empty() {
                            self.expansions.pop();
                        }
                        self.count_generated()?;
                        return Some(line);
                    }
                    None => {
                        self.expansions.pop();
                        continue;
                    }
                }
            }
            let (mut raw, first_col, file, line_no) = self.next_file_line()?;
            self.last_origin = (file, line_no);
            // Physical continuation lines: a trailing '\' outside a definition joins
            // the next line (inside a definition the definition code handles it).
            while raw.ends_with('\r') {
                raw.pop();
            }
            // A truly empty line ends a multi-line definition; a line that
            // is blank or a comment is only skipped (keepalived's read_line).
            if raw.is_empty() && first_col == 1 {
                if let Some(name) = self.multiline_def.take() {
                    self.finish_multiline(&name);
                }
                continue;
            }
            let mut text = MappedStr::from_source_owned(raw, first_col);
            let commented_cont = decomment(&mut text, &mut *self.diags, file, line_no);
            if text.text.is_empty() {
                continue;
            }
            // Our continuation outside definitions is a superset of keepalived;
            // a `\` at the end of a comment is not one (keepalived leaves it
            // glued to the last word, and so do we: joining would silently
            // swallow the next line).
            if self.multiline_def.is_none() && !text.text.starts_with('$') && !commented_cont {
                while text.text.ends_with('\\') && !text.text.ends_with("\\\\") {
                    text.truncate(text.text.len() - 1);
                    text.trim_end();
                    match self.next_file_line() {
                        Some((mut next, ncol, nfile, nline)) if nfile == file => {
                            while next.ends_with('\r') {
                                next.pop();
                            }
                            let mut more = MappedStr::from_source_owned(next, ncol);
                            let more_commented =
                                decomment(&mut more, &mut *self.diags, nfile, nline);
                            if !text.text.is_empty() && !more.text.is_empty() {
                                text.push_str(&MappedStr::uniform(" ", text.col_at(usize::MAX)));
                            }
                            text.push_str(&more);
                            if more_commented {
                                break;
                            }
                        }
                        Some((next, ncol, nfile, nline)) => {
                            // The file ended with a continuation: keep the next file's line.
                            if let Some(frame) = self.stack.last_mut() {
                                if let Some(f) = frame.current.as_mut() {
                                    f.pushed_back = Some((next, ncol));
                                }
                            }
                            let _ = (nfile, nline);
                            break;
                        }
                        None => break,
                    }
                }
            }
            return Some(Line {
                text,
                file,
                line: line_no,
            });
        }
    }

    fn count_generated(&mut self) -> Option<()> {
        self.generated += 1;
        if self.generated > MAX_GENERATED_LINES {
            let loc = Location::new(self.last_origin.0, self.last_origin.1, 1);
            self.diags.fatal(
                &loc,
                "~SEQ",
                format!("more than {MAX_GENERATED_LINES} generated lines; stopping"),
            );
            self.seqs.clear();
            self.expansions.clear();
            self.stack.clear();
            return None;
        }
        Some(())
    }

    fn next_from_seq(&mut self) -> Option<Line> {
        self.count_generated()?;
        let seq = self.seqs.last_mut()?;
        let values = seq.values.pop_front();
        let text = seq.text.clone();
        let var = seq.var.clone();
        if seq.values.is_empty() {
            self.seqs.pop();
        }
        let values = values?;
        let _ = var;
        for (name, value) in values {
            self.defs.insert(
                name,
                Definition {
                    value,
                    multiline: false,
                    builtin: None,
                },
            );
        }
        Some(Line {
            text,
            file: self.last_origin.0,
            line: self.last_origin.1,
        })
    }

    fn finish_multiline(&mut self, name: &str) {
        if let Some(def) = self.defs.get_mut(name) {
            if def.value.is_empty() {
                def.multiline = false;
            }
        }
    }

    /// keepalived's read_line: the next logical line with conditionals, definitions,
    /// generators, substitutions and includes handled, braces split off.
    pub fn next_line(&mut self) -> Option<Line> {
        if let Some(line) = self.residue.take() {
            return Some(self.split_braces(line));
        }
        if let Some(line) = self.next_plain() {
            return Some(line);
        }
        'outer: loop {
            let mut line = self.next_raw()?;

            // Inside a multi-line definition every line is part of its value.
            if let Some(name) = self.multiline_def.clone() {
                let mut text = line.text.text.clone();
                let continues = text.ends_with('\\');
                if continues {
                    text.pop();
                    let trimmed = text.trim_end_matches([' ', '\t']).len();
                    text.truncate(trimmed);
                } else {
                    self.multiline_def = None;
                }
                if let Some(def) = self.defs.get_mut(&name) {
                    if !text.is_empty() {
                        if !def.value.is_empty() {
                            def.value.push('\n');
                        }
                        def.value.push_str(&text);
                    }
                    if !continues && def.value.is_empty() {
                        def.multiline = false;
                    }
                }
                continue;
            }

            let mut rounds = 0;
            let mut resume = Resume::default();
            loop {
                rounds += 1;
                if rounds > MAX_SUBSTITUTIONS {
                    let loc = line.location(0);
                    self.error(loc, "$", "definition expansion does not terminate");
                    continue 'outer;
                }
                // @ID / @^ID conditional lines.
                if line.text.text.starts_with('@') {
                    let t = &line.text.text;
                    let (reverse, ofs) = if t.as_bytes().get(1) == Some(&b'^') {
                        (true, 2)
                    } else {
                        (false, 1)
                    };
                    let Some(end) = t[ofs..].find([' ', '\t']).map(|e| e + ofs) else {
                        continue 'outer;
                    };
                    let matches = t[ofs..end] == *self.opts.config_id;
                    if !reverse {
                        if matches {
                            self.own_id_seen = true;
                        } else if !self.own_id_seen {
                            let id = t[ofs..end].to_owned();
                            match &mut self.other_ids {
                                Some((_, ids)) => {
                                    ids.insert(id);
                                }
                                None => {
                                    self.other_ids =
                                        Some((line.location(0), [id].into_iter().collect()));
                                }
                            }
                        }
                    }
                    if matches == reverse {
                        continue 'outer;
                    }
                    let rest =
                        end + t[end..].len() - t[end..].trim_start_matches([' ', '\t']).len();
                    line.text = line.text.slice(rest, line.text.text.len());
                    resume = Resume::default();
                }

                // $NAME=value definitions.
                if line.text.text.starts_with('$') && self.try_definition(&line) {
                    continue 'outer;
                }

                // ~SEQ / ~LST generators.
                if line.text.text.starts_with("~SEQ") || line.text.text.starts_with("~LST") {
                    self.add_generator(&line);
                    continue 'outer;
                }
                if line.text.text.starts_with('~') {
                    break;
                }

                if line.text.text.bytes().any(|b| b == b'$') {
                    match self.substitute(&mut line, resume) {
                        Substitution::None => break,
                        Substitution::Done(next) => {
                            let len = line.text.text.len();
                            decomment(&mut line.text, &mut *self.diags, line.file, line.line);
                            // decomment only removes bytes, except that it puts
                            // back a final `\` it took off: the same length is
                            // the same text.
                            resume = if line.text.text.len() == len {
                                next
                            } else {
                                Resume::default()
                            };
                            if line.text.text.is_empty() {
                                continue 'outer;
                            }
                            if line.text.text.starts_with('@') || line.text.text.contains('$') {
                                continue;
                            }
                            break;
                        }
                        Substitution::TooLong => continue 'outer,
                    }
                }
                break;
            }

            if line.text.text.is_empty() {
                continue;
            }
            if self.check_include(&line) {
                continue;
            }
            return Some(self.split_braces(line));
        }
    }

    /// The next line from the file being read when it is plain (see
    /// [`OpenFile::next_plain`]) and nothing else is pending: no generator or
    /// expansion lines, no multi-line definition being read. The same line,
    /// split the same way, as the general path gives.
    fn next_plain(&mut self) -> Option<Line> {
        if !self.plain_path
            || !self.seqs.is_empty()
            || !self.expansions.is_empty()
            || self.multiline_def.is_some()
        {
            return None;
        }
        let (name, head, col, rest, line_no) = loop {
            let file = self.stack.last_mut()?.current.as_mut()?;
            let line = file.next_plain()?;
            let name = file.name;
            // Blank lines too: where the last line came from names a
            // later include that cannot be read.
            self.last_origin = (name, line.line_no);
            if let Some((head, col)) = line.head {
                break (name, head, col, line.rest, line.line_no);
            }
        };
        if let Some((rest, rest_col)) = rest {
            self.residue = Some(Line {
                text: MappedStr::from_source_owned(rest, rest_col),
                file: name,
                line: line_no,
            });
        }
        Some(Line {
            text: MappedStr::from_source_owned(head, col),
            file: name,
            line: line_no,
        })
    }

    /// Split off the first brace not inside double quotes, keeping the rest for
    /// the next call.
    fn split_braces(&mut self, mut line: Line) -> Line {
        let bytes = line.text.text.as_bytes();
        // A brace alone (every `}` line, and the `{` kept from the end of
        // the line before): nothing to split or trim.
        if bytes == b"{" || bytes == b"}" {
            return line;
        }
        let mut pos = None;
        if bytes.first() == Some(&b'{') || bytes.first() == Some(&b'}') {
            pos = Some(0);
        } else {
            let mut in_quote = false;
            for (i, &b) in bytes.iter().enumerate() {
                match b {
                    b'"' => in_quote = !in_quote,
                    b'{' | b'}' if !in_quote => {
                        pos = Some(i);
                        break;
                    }
                    _ => {}
                }
            }
        }
        if let Some(p) = pos {
            let split_at = if p == 0 { 1 } else { p };
            let mut rest = line.text.slice(split_at, line.text.text.len());
            rest.trim_start();
            rest.trim_end();
            line.text.truncate(split_at);
            line.text.trim_end();
            if !rest.text.is_empty() {
                self.residue = Some(Line {
                    text: rest,
                    file: line.file,
                    line: line.line,
                });
            }
        } else {
            line.text.trim_end();
        }
        line
    }

    fn try_definition(&mut self, line: &Line) -> bool {
        let t = &line.text.text;
        let b = t.as_bytes();
        if b.len() < 2 || !(b[1].is_ascii_alphabetic() || b[1] == b'_') {
            return false;
        }
        let mut i = 2;
        while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
            i += 1;
        }
        let name = t[1..i].to_owned();
        let rest = t[i..].trim_start_matches([' ', '\t']);
        let Some(value) = rest.strip_prefix('=') else {
            return false;
        };
        let mut value = value.trim_start_matches([' ', '\t']).to_owned();
        let multiline = value.ends_with('\\');
        if multiline {
            value.pop();
            let n = value.trim_end_matches([' ', '\t']).len();
            value.truncate(n);
            self.multiline_def = Some(name.clone());
        }
        self.defs.insert(
            name,
            Definition {
                value,
                multiline,
                builtin: None,
            },
        );
        true
    }

    fn add_generator(&mut self, line: &Line) {
        let t = line.text.text.clone();
        let parsed = if t.starts_with("~SEQ") {
            self.parse_seq(&t)
        } else {
            parse_lst(&t)
        };
        match parsed {
            Some((var, values, text_start)) => {
                if values.is_empty() {
                    return;
                }
                let mut text = line.text.slice(text_start, t.len());
                text.trim_start();
                self.seqs.push(Seq {
                    var,
                    values: values.into(),
                    text,
                });
            }
            None => {
                let kw = if t.starts_with("~SEQ") {
                    "~SEQ"
                } else {
                    "~LST"
                };
                self.error(
                    line.location(0),
                    kw,
                    format!("invalid {kw} specification '{t}'"),
                );
            }
        }
    }

    /// Parse `~SEQ(var, [start,] [step,] end) text` (or `~SEQx` for hex output).
    /// Returns the variable, one value set per generated line, and where the text starts.
    #[allow(clippy::type_complexity)]
    fn parse_seq(&mut self, t: &str) -> Option<(String, Vec<Vec<(String, String)>>, usize)> {
        let mut p = 4;
        let hex = t[p..].starts_with('x');
        if hex {
            p += 1;
        }
        let rest = &t[p..];
        let open = rest.len() - rest.trim_start_matches([' ', '\t']).len();
        if !rest[open..].starts_with('(') {
            return None;
        }
        let args_start = p + open + 1;
        let close = t[args_start..].find(')')? + args_start;
        // Parameters may themselves be definitions.
        let mut args = MappedStr::uniform(&t[args_start..close], 1);
        let mut fake = Line {
            text: std::mem::take(&mut args),
            file: FileId::default(),
            line: 0,
        };
        if fake.text.text.contains('$') {
            let _ = self.substitute(&mut fake, Resume::default());
        }
        let parts: Vec<&str> = fake.text.text.split(',').map(|s| s.trim()).collect();
        let var = parts.first()?.to_string();
        if var.is_empty() || var.contains([' ', '\t']) {
            return None;
        }
        let nums: Option<Vec<i64>> = parts[1..].iter().map(|s| parse_c_long(s)).collect();
        let nums = nums?;
        let (start, step, end) = match nums.as_slice() {
            [end] => {
                let end = *end;
                (
                    if end < 0 { -1 } else { 1 },
                    if end < 1 { -1 } else { 1 },
                    end,
                )
            }
            [start, end] => (*start, if start <= end { 1 } else { -1 }, *end),
            [start, step, end] => {
                if *step == 0 || (start < end && *step < 0) || (start > end && *step > 0) {
                    return None;
                }
                (*start, *step, *end)
            }
            _ => return None,
        };
        if hex && (start < 0 || end < 0) {
            return None;
        }
        let mut values = Vec::new();
        let mut v = start;
        loop {
            if (step > 0 && v > end) || (step < 0 && v < end) {
                break;
            }
            let s = if hex { format!("{v:x}") } else { v.to_string() };
            values.push(vec![(var.clone(), s)]);
            if values.len() > MAX_GENERATED_LINES {
                return None;
            }
            v = v.checked_add(step)?;
        }
        Some((var, values, close + 1))
    }

    /// Replace `$NAME` / `${NAME}` / `${NAME params}` references, scanning
    /// from `resume` (see [`Resume`]).
    fn substitute(&mut self, line: &mut Line, resume: Resume) -> Substitution {
        let mut found = None;
        let mut cur = resume.at;
        let mut steps = resume.dollars;
        while let Some(off) = line.text.text.get(cur..).and_then(|t| t.find('$')) {
            steps += 1;
            self.dollars_scanned += 1;
            if steps > MAX_SUBSTITUTIONS {
                return Substitution::TooLong;
            }
            let at = cur + off;
            let Some((name, params, end)) = find_reference(&line.text.text, at) else {
                cur = at + 1;
                continue;
            };
            let whole_line = at == 0 && end == line.text.text.len();
            let Some(def) = self.defs.get(&name).cloned() else {
                cur = at + 1;
                continue;
            };
            if def.multiline && !whole_line {
                cur = at + 1;
                continue;
            }
            if params.is_some() && def.builtin != Some(Builtin::Random) {
                cur = at + 1;
                continue;
            }
            if found.is_none() {
                found = Some(Resume::before(&line.text.text, at, steps - 1));
            }
            let value = match def.builtin {
                Some(Builtin::Pwd) => self.current_dir_abs(),
                Some(Builtin::Instance) => self.opts.config_id.clone(),
                Some(Builtin::Random) => self.random(params.as_deref()),
                None => def.value.clone(),
            };
            if def.multiline {
                let mut lines = value.split('\n');
                let first = lines.next().unwrap_or_default().to_owned();
                let col = line.text.col_at(at);
                let rest: VecDeque<MappedStr> = lines.map(|l| MappedStr::uniform(l, col)).collect();
                line.text.replace_range(at, end, &first);
                if !rest.is_empty() {
                    self.expansions.push(Expansion {
                        lines: rest,
                        seq_depth: self.seqs.len(),
                        file: line.file,
                        line: line.line,
                    });
                }
                break;
            }
            if line.text.text.len() - (end - at) + value.len() > MAX_LINE {
                self.error(
                    line.location(at),
                    "$",
                    "parameter substitution would exceed the maximum line length",
                );
                return Substitution::TooLong;
            }
            line.text.replace_range(at, end, &value);
            if value.trim_start().starts_with('~') {
                break;
            }
            // Keep scanning from the start of the replacement: keepalived re-scans
            // the substituted text (definitions may refer to definitions).
            cur = at;
            if value.is_empty() {
                continue;
            }
            // A value that refers to itself would loop; the step bound above stops it.
        }
        match found {
            Some(next) => Substitution::Done(next),
            None => Substitution::None,
        }
    }

    fn current_dir_abs(&self) -> String {
        let dir = self.current_dir();
        std::fs::canonicalize(&dir)
            .unwrap_or(dir)
            .to_string_lossy()
            .into_owned()
    }

    fn random(&mut self, params: Option<&str>) -> String {
        use rand::Rng;
        let mut min: u64 = 0;
        let mut max: u64 = 32767;
        if let Some(p) = params {
            let mut it = p.split_whitespace().filter_map(|s| s.parse::<u64>().ok());
            if let Some(a) = it.next() {
                min = a;
            }
            if let Some(b) = it.next() {
                max = b;
            }
        }
        if max < min {
            std::mem::swap(&mut min, &mut max);
        }
        self.rng.random_range(min..=max).to_string()
    }

    /// `include` and its variants; true when the line was an include.
    fn check_include(&mut self, line: &Line) -> bool {
        let t = &line.text.text;
        if !t.starts_with("include") || t.len() < 8 {
            return false;
        }
        let b = t.as_bytes();
        let (strict, arg_start) = if b[7] == b' ' || b[7] == b'\t' {
            (IncludeStrictness::default(), 8)
        } else if b.len() > 8 && (b[8] == b' ' || b[8] == b'\t') && b"rmwba".contains(&b[7]) {
            let s = match b[7] {
                b'r' => IncludeStrictness {
                    readable: true,
                    ..Default::default()
                },
                b'm' => IncludeStrictness {
                    readable: true,
                    must_match: true,
                    ..Default::default()
                },
                b'w' => IncludeStrictness {
                    readable: true,
                    must_match: true,
                    wildcard_match: true,
                    ..Default::default()
                },
                b'b' => IncludeStrictness {
                    readable: true,
                    brace_match: true,
                    ..Default::default()
                },
                _ => IncludeStrictness {
                    readable: true,
                    must_match: true,
                    wildcard_match: true,
                    brace_match: true,
                },
            };
            (s, 9)
        } else {
            return false;
        };
        let pattern = t[arg_start..].trim().trim_matches('"').to_owned();
        let loc = line.location(arg_start);
        if !self.opts.allow_includes {
            self.diags.warn(
                &loc,
                "include",
                "includes are disabled for this input; ignored",
            );
            return true;
        }
        if self.stack.len() >= MAX_INCLUDE_DEPTH {
            self.error(
                loc,
                "include",
                format!("includes nested more than {MAX_INCLUDE_DEPTH} deep; '{pattern}' skipped"),
            );
            return true;
        }
        let dir = self.current_dir();
        let files = self.expand_include(&pattern, &dir, strict, &loc);
        if !files.is_empty() {
            self.stack.push(IncludeFrame {
                pending: files.into(),
                current: None,
            });
        }
        true
    }

    fn expand_include(
        &mut self,
        pattern: &str,
        dir: &Path,
        strict: IncludeStrictness,
        loc: &Location,
    ) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let alternatives = expand_braces(pattern);
        let has_braces = alternatives.len() > 1;
        for alt in alternatives {
            let full = if Path::new(&alt).is_absolute() {
                PathBuf::from(&alt)
            } else {
                dir.join(&alt)
            };
            let full_s = full.to_string_lossy().into_owned();
            let wildcard = alt.contains(['*', '?', '[']);
            let mut matched: Vec<PathBuf> = match glob::glob(&full_s) {
                Ok(paths) => paths.filter_map(Result::ok).collect(),
                Err(e) => {
                    self.error(
                        loc.clone(),
                        "include",
                        format!("bad include pattern '{alt}': {e}"),
                    );
                    continue;
                }
            };
            matched.sort();
            if matched.is_empty() {
                let severity = if (wildcard && strict.wildcard_match)
                    || (!wildcard && (strict.must_match || (has_braces && strict.brace_match)))
                {
                    Severity::Error
                } else {
                    Severity::Warning
                };
                self.diags.push(
                    severity,
                    Some(loc.clone()),
                    Some("include"),
                    format!("no configuration file matches '{alt}'"),
                );
                continue;
            }
            for path in matched {
                match std::fs::metadata(&path) {
                    Ok(m) if m.is_file() => {
                        use std::os::unix::fs::PermissionsExt;
                        if m.permissions().mode() & 0o111 != 0 {
                            self.diags.push(
                                if strict.readable {
                                    Severity::Error
                                } else {
                                    Severity::Warning
                                },
                                Some(loc.clone()),
                                Some("include"),
                                format!(
                                    "configuration file '{}' is executable - skipping",
                                    path.display()
                                ),
                            );
                            continue;
                        }
                        out.push(path);
                    }
                    _ => {
                        self.diags.push(
                            if strict.readable {
                                Severity::Error
                            } else {
                                Severity::Warning
                            },
                            Some(loc.clone()),
                            Some("include"),
                            format!("'{}' is not a regular file - skipping", path.display()),
                        );
                    }
                }
            }
        }
        out
    }
}

enum Substitution {
    None,
    /// Something was replaced; the next pass on the line may start at the
    /// `Resume` (if nothing else changes the line in between).
    Done(Resume),
    TooLong,
}

/// Where a substitution pass on a line may start, and how many `$` lie before
/// that (they count towards `MAX_SUBSTITUTIONS` as if scanned again).
///
/// keepalived substitutes again, from the start of the line, as long as a pass
/// replaced something: a reference can become one when the text after it
/// changes (`$A$B` with `B` empty: `$A` is only a reference once `$B` is
/// gone).  Re-scanning the whole line each time made a chain of such
/// references quadratic.  A pass changes nothing before its first
/// replacement, so the `$`s before it that it did not replace cannot be
/// references on the next pass either, except one whose name runs up to the
/// replacement (its end changed): the next pass starts at that `$`.
#[derive(Clone, Copy, Debug, Default)]
struct Resume {
    at: usize,
    dollars: usize,
}

impl Resume {
    /// Where to resume when the first replacement of a pass is at `at`, with
    /// `dollars` `$`s before it.
    fn before(text: &str, at: usize, dollars: usize) -> Resume {
        let b = text.as_bytes();
        let mut i = at.min(b.len());
        // The bytes a reference that ends at (or up to) `at` can span: its
        // braces, name, blanks and digits of its parameters.  A `${NAME}`
        // that ends there matters too: it can become the whole line, which
        // a multi-line definition needs.
        while i > 0 {
            match b[i - 1] {
                b'$' => {
                    return Resume {
                        at: i - 1,
                        dollars: dollars.saturating_sub(1),
                    }
                }
                c if c.is_ascii_alphanumeric() || matches!(c, b'_' | b'{' | b'}' | b' ') => i -= 1,
                _ => break,
            }
        }
        Resume { at, dollars }
    }
}

/// Find a `$NAME`, `${NAME}` or `${NAME params}` reference at `at` (which holds '$').
/// Returns the name, the parameters and the end byte of the reference.
fn find_reference(text: &str, at: usize) -> Option<(String, Option<String>, usize)> {
    let b = text.as_bytes();
    let mut i = at + 1;
    let braces = b.get(i) == Some(&b'{');
    if braces {
        i += 1;
    }
    let start = i;
    if !b
        .get(i)
        .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
    {
        return None;
    }
    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
        i += 1;
    }
    let name = text[start..i].to_owned();
    if braces {
        let mut params = None;
        if b.get(i) == Some(&b' ') {
            let pstart = i;
            while i < b.len() && (b[i] == b' ' || b[i].is_ascii_digit()) {
                i += 1;
            }
            let p = text[pstart..i].trim();
            if text[pstart..i].ends_with(' ') && !p.is_empty() {
                return None;
            }
            if !p.is_empty() {
                params = Some(p.to_owned());
            }
        }
        if b.get(i) != Some(&b'}') {
            return None;
        }
        Some((name, params, i + 1))
    } else {
        match b.get(i) {
            None | Some(b' ') | Some(b'\t') | Some(b',') | Some(b')') => Some((name, None, i)),
            _ => None,
        }
    }
}

/// strtol(…, 0) semantics: decimal, 0x hex or leading-0 octal.
fn parse_c_long(s: &str) -> Option<i64> {
    let s = s.trim();
    let (neg, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let v = if let Some(hex) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        i64::from_str_radix(hex, 16).ok()?
    } else if digits.len() > 1 && digits.starts_with('0') {
        i64::from_str_radix(&digits[1..], 8).ok()?
    } else {
        digits.parse().ok()?
    };
    Some(if neg { -v } else { v })
}

/// Parse `~LST(var, v1, v2, ...)` or `~LST({a, b}, {1, 2}, {3, 4})`.
#[allow(clippy::type_complexity)]
fn parse_lst(t: &str) -> Option<(String, Vec<Vec<(String, String)>>, usize)> {
    let rest = &t[4..];
    let ws = rest.len() - rest.trim_start().len();
    if !rest[ws..].starts_with('(') {
        return None;
    }
    let start = 4 + ws + 1;
    // Find the matching ')' (braces do not nest parentheses here).
    let close = t[start..].find(')')? + start;
    let inner = &t[start..close];
    let groups = split_lst_groups(inner)?;
    let (vars, value_sets) = groups.split_first()?;
    if vars.is_empty() || vars.iter().any(|v| v.is_empty()) {
        return None;
    }
    let mut out = Vec::new();
    if vars.len() == 1 && value_sets.iter().all(|s| s.len() == 1) {
        for set in value_sets {
            out.push(vec![(vars[0].clone(), set[0].clone())]);
        }
    } else {
        for set in value_sets {
            if set.len() != vars.len() {
                return None;
            }
            out.push(
                vars.iter()
                    .cloned()
                    .zip(set.iter().cloned())
                    .collect::<Vec<_>>(),
            );
        }
    }
    Some((vars[0].clone(), out, close + 1))
}

/// Split `a, {b, c}, d` into groups: `[a]`, `[b, c]`, `[d]`.
fn split_lst_groups(s: &str) -> Option<Vec<Vec<String>>> {
    let mut groups = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('{') {
            let end = r.find('}')?;
            groups.push(r[..end].split(',').map(|v| v.trim().to_owned()).collect());
            rest = r[end + 1..].trim_start();
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            groups.push(vec![rest[..end].trim().to_owned()]);
            rest = &rest[end..];
        }
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
    }
    Some(groups)
}

/// csh-style brace expansion: `a{b,c}d` → `abd`, `acd`; nested braces work,
/// `\{` is literal.
pub fn expand_braces(pattern: &str) -> Vec<String> {
    let b = pattern.as_bytes();
    let mut depth = 0;
    let mut open = None;
    let mut commas = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'{' => {
                if depth == 0 {
                    open = Some(i);
                    commas.clear();
                }
                depth += 1;
            }
            b',' if depth == 1 => commas.push(i),
            b'}' if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    if let Some(o) = open {
                        let prefix = &pattern[..o];
                        let suffix = &pattern[i + 1..];
                        let mut bounds = vec![o];
                        bounds.extend(&commas);
                        bounds.push(i);
                        let mut out = Vec::new();
                        for w in bounds.windows(2) {
                            let alt = &pattern[w[0] + 1..w[1]];
                            for tail in expand_braces(suffix) {
                                for mid in expand_braces(alt) {
                                    out.push(format!("{prefix}{mid}{tail}"));
                                }
                            }
                        }
                        return out;
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    vec![pattern.to_owned()]
}

/// keepalived's decomment: drop leading blanks, cut the comment (`#` or `!`
/// outside double quotes), turn `\#`/`\!` into the literal characters, drop
/// trailing blanks; a trailing `\` (continuation) is kept.  As in keepalived,
/// the scan goes on inside the comment, so a comment ending in `\` still
/// continues the line (`foo # note \` is `foo\`: corpus 055 relies on it
/// inside a multi-line definition).  Returns whether that `\` was inside the
/// comment.
fn decomment(s: &mut MappedStr, diags: &mut Diagnostics, file: FileId, line: u32) -> bool {
    s.trim_start();
    if !s
        .text
        .bytes()
        .any(|b| matches!(b, b'"' | b'\\' | b'#' | b'!'))
    {
        // Nothing to cut or unescape (most lines): only the trailing blanks go.
        s.trim_end();
        return false;
    }
    let mut quote = false;
    let mut cut = None;
    let mut i = 0;
    let mut cont = false;
    while i < s.text.len() {
        match s.text.as_bytes()[i] {
            b'"' if cut.is_none() => quote = !quote,
            b'\\' => {
                if i + 1 < s.text.len() {
                    let next = s.text.as_bytes()[i + 1];
                    if !quote && (next == b'#' || next == b'!') {
                        s.remove(i);
                    } else {
                        i += 1;
                    }
                } else {
                    cont = true;
                    s.truncate(i);
                    break;
                }
            }
            b'#' | b'!' if !quote && cut.is_none() => cut = Some(i),
            _ => {}
        }
        i += 1;
    }
    if quote {
        let loc = Location::new(file, line, s.col_at(0));
        diags.error(&loc, "\"", format!("unterminated quote in '{}'", s.text));
    }
    if let Some(c) = cut {
        s.truncate(c);
    }
    s.trim_end();
    if cont {
        let col = s.col_at(usize::MAX) + 1;
        s.push_str(&MappedStr::uniform("\\", col));
    }
    cont && cut.is_some()
}

/// Read a configuration file (and its includes) into logical lines.
/// Open a configuration file for reading as logical lines: the returned
/// preprocessor is an iterator, so the lines of a large file are never all in
/// memory at once.
pub fn open_file<'d>(
    path: &Path,
    opts: PreprocessOptions,
    diags: &'d mut Diagnostics,
) -> Preprocessor<'d> {
    let mut pp = Preprocessor::new(opts, diags);
    let name = FileId::intern(&path.to_string_lossy());
    match std::fs::read(path) {
        Ok(bytes) => {
            let file = Preprocessor::file_from_bytes(name, path, bytes);
            pp.stack.push(IncludeFrame {
                pending: VecDeque::new(),
                current: Some(file),
            });
        }
        Err(e) => {
            pp.diags.push(
                Severity::Fatal,
                Some(Location::new(name, 0, 0)),
                None,
                format!("cannot read configuration file: {e}"),
            );
        }
    }
    pp
}

/// Open text held in memory as if it were the file `name` in `dir`.
pub fn open_str<'d>(
    name: &str,
    dir: &Path,
    text: &str,
    opts: PreprocessOptions,
    diags: &'d mut Diagnostics,
) -> Preprocessor<'d> {
    let mut pp = Preprocessor::new(opts, diags);
    let path = dir.join(name);
    let file = Preprocessor::file_from_bytes(FileId::intern(name), &path, text.as_bytes().to_vec());
    pp.stack.push(IncludeFrame {
        pending: VecDeque::new(),
        current: Some(file),
    });
    pp
}

impl Iterator for Preprocessor<'_> {
    type Item = Line;
    fn next(&mut self) -> Option<Line> {
        let line = self.next_line();
        if line.is_none() {
            self.finish();
        }
        line
    }
}

/// Read a configuration file (and its includes) into logical lines.
pub fn preprocess_file(path: &Path, opts: PreprocessOptions, diags: &mut Diagnostics) -> Vec<Line> {
    open_file(path, opts, diags).collect()
}

/// Preprocess text held in memory, as if it were the file `name` in `dir`.
pub fn preprocess_str(
    name: &str,
    dir: &Path,
    text: &str,
    opts: PreprocessOptions,
    diags: &mut Diagnostics,
) -> Vec<Line> {
    open_str(name, dir, text, opts, diags).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lines and diagnostics of `text` read with the plain-line fast
    /// path on and off.
    fn both_paths(name: &str, dir: &Path, text: &str) -> [(Vec<Line>, Vec<String>); 2] {
        [true, false].map(|plain| {
            let mut diags = Diagnostics::new();
            let opts = PreprocessOptions {
                random_seed: Some(7),
                ..PreprocessOptions::default()
            };
            let mut pp = open_str(name, dir, text, opts, &mut diags);
            pp.plain_path = plain;
            let lines: Vec<Line> = pp.by_ref().collect();
            drop(pp);
            let said = diags.items.iter().map(ToString::to_string).collect();
            (lines, said)
        })
    }

    fn assert_same_both_ways(name: &str, dir: &Path, text: &str) {
        let [fast, general] = both_paths(name, dir, text);
        assert_eq!(fast.0.len(), general.0.len(), "{name}: line count");
        for (f, g) in fast.0.iter().zip(&general.0) {
            assert_eq!(f, g, "{name}: fast path line differs");
            for byte in 0..f.text.text.len() {
                assert_eq!(f.location(byte), g.location(byte), "{name}: {f:?}");
            }
        }
        assert_eq!(fast.1, general.1, "{name}: diagnostics differ");
    }

    #[test]
    fn plain_lines_read_the_same_on_the_fast_path() {
        let dir = Path::new(".");
        for (i, text) in [
            "",
            "\n",
            "\n\n  \t \n",
            "a {\n}\n",
            "a{b}c\n",
            "{\n",
            "}\n",
            "{{\n",
            "}}\n",
            "a }  \n",
            "x { y } z\n",
            "\tvirtual_server 10.0.0.1 80 {\t \n  real_server 1.2.3.4 80 {   weight 1 }\n}",
            "{ x\n} x\nx {y\n",
            "{   \n",
            "é {\nnaïve }\n",
            "include none.conf\nincludes x\n",
            "@id x {\n@^id y\n",
            "~SEQ(i,1,2) a $i {\n}\n",
            "$X=1\na $X {\n}\n",
            "a # c {\nb ! d\n",
            "a \\\nb {\n",
            "a\r\nb {\r\n",
            "\"q {\" {\n",
            "trailing { no newline",
            "  \n\ninclude missing-*.conf\n\n\n",
            "$M=a \\\n{\n\nb $M\n",
        ]
        .iter()
        .enumerate()
        {
            assert_same_both_ways(&format!("case{i}.conf"), dir, text);
        }
        // Every corpus file and example, and a large generated one.
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let corpus = root.join("../shared/corpus/keepalived-conf");
        let mut files = Vec::new();
        for d in [corpus.as_path(), &root.join("conf")] {
            let entries = std::fs::read_dir(d)
                .unwrap_or_else(|e| panic!("{} must be readable: {e}", d.display()));
            files.extend(entries.filter_map(|e| e.ok()).map(|e| e.path()));
        }
        let mut read = 0;
        for f in files.iter().filter(|f| f.is_file()) {
            let Ok(text) = std::fs::read_to_string(f) else {
                continue;
            };
            let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("f");
            assert_same_both_ways(name, f.parent().unwrap_or(dir), &text);
            read += 1;
        }
        assert!(read >= 50, "only {read} files compared");
        let mut big = String::new();
        for v in 0..50 {
            big.push_str(&format!(
                "virtual_server 10.0.0.{v} 80 {{\n    lb_algo wrr\n"
            ));
            for r in 0..10 {
                big.push_str(&format!(
                    "    real_server 10.1.{v}.{r} 80 {{\n        weight 1\n    }}\n"
                ));
            }
            big.push_str("}\n\n");
        }
        assert_same_both_ways("big.conf", dir, &big);
    }

    fn lines(text: &str) -> Vec<String> {
        let mut d = Diagnostics::new();
        let opts = PreprocessOptions {
            config_id: "lb1".into(),
            allow_includes: false,
            random_seed: Some(1),
        };
        preprocess_str("t.conf", Path::new("."), text, opts, &mut d)
            .into_iter()
            .map(|l| l.text.text)
            .collect()
    }

    #[test]
    fn comments_and_quotes() {
        assert_eq!(
            lines("a b # c\n! x\nd \"e # f\" ! g\n"),
            vec!["a b", "d \"e # f\""]
        );
        assert_eq!(lines("a \\# b\n"), vec!["a # b"]);
        assert_eq!(lines("a!b\n"), vec!["a"]);
    }

    #[test]
    fn braces_split() {
        assert_eq!(lines("vrrp_instance VI {\n"), vec!["vrrp_instance VI", "{"]);
        assert_eq!(
            lines("real_server 1.1.1.1 80{\n}}\n"),
            vec!["real_server 1.1.1.1 80", "{", "}", "}"]
        );
        assert_eq!(
            lines("track_script{ chk }\n"),
            vec!["track_script", "{", "chk", "}"]
        );
        assert_eq!(lines("script \"a { b\" {\n"), vec!["script \"a { b\"", "{"]);
    }

    #[test]
    fn crlf_tabs_no_final_newline() {
        assert_eq!(lines("a\tb\r\n\tc {\r\n}"), vec!["a\tb", "c", "{", "}"]);
    }

    #[test]
    fn conditionals() {
        assert_eq!(
            lines("@lb1 priority 150\n@lb2 priority 100\n@^lb1 x 1\n@^lb2 y 2\n"),
            vec!["priority 150", "y 2"]
        );
    }

    /// The warnings of preprocessing `text` with config id `id`.
    fn id_warnings(id: &str, text: &str) -> Vec<String> {
        let mut d = Diagnostics::new();
        let opts = PreprocessOptions {
            config_id: id.into(),
            allow_includes: false,
            random_seed: Some(1),
        };
        let _ = preprocess_str("t.conf", Path::new("."), text, opts, &mut d).len();
        d.items.iter().map(|i| i.message.clone()).collect()
    }

    #[test]
    fn no_line_for_this_config_id_is_said_once() {
        let text = "x 1\n@lb1 priority 150\n@lb2 priority 100\n@^lb2 y 2\n";
        assert!(id_warnings("lb1", text).is_empty());
        assert!(id_warnings("lb2", text).is_empty());
        assert!(
            id_warnings("web3", "@^lb1 x 1\n").is_empty(),
            "only @^ lines"
        );
        let w = id_warnings("web3", text);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].contains("'web3'") && w[0].contains("lb1, lb2") && w[0].contains("-i"),
            "{w:?}"
        );
    }

    /// The lines of `text` and the `$`s substitution looked at.
    fn lines_and_dollars(text: &str) -> (Vec<String>, u64) {
        let mut d = Diagnostics::new();
        let opts = PreprocessOptions {
            config_id: "lb1".into(),
            allow_includes: false,
            random_seed: Some(1),
        };
        let mut pp = open_str("t.conf", Path::new("."), text, opts, &mut d);
        let lines = pp.by_ref().map(|l| l.text.text).collect();
        (lines, pp.dollars_scanned)
    }

    #[test]
    fn chained_references_are_substituted_in_linear_time() {
        // `$E$E…$E` with E empty: only the last `$E` is a reference (a name
        // ends at a blank, `,`, `)` or the end of the line); once it is gone
        // the one before it is, and so on.  Each pass must not re-scan the
        // line from its start.
        let chain = |n: usize| format!("$E=\na{}\nb ${{E}}x$E$E $E\n", "$E".repeat(n));
        let (out, small) = lines_and_dollars(&chain(1000));
        assert_eq!(out, ["a", "b x"]);
        let (_, big) = lines_and_dollars(&chain(2000));
        assert!(big <= 2 * small + 100, "{small} then {big} `$`s scanned");
        assert!(big <= 3 * 2000 + 100, "{big} `$`s scanned");
        // A reference whose name runs up to the replacement is found again,
        // also when it is the whole line (a multi-line definition).
        assert_eq!(lines("$E=\n$M=m1 \\\nm2\n$M${E}\n"), ["m1", "m2"]);
        assert_eq!(lines("$E=\n$M=m1 \\\nm2\n${M}$E$E\n"), ["m1", "m2"]);
        assert_eq!(
            lines("$E=\n$V=v\nx ${V$E}\ny $V${E}\n"),
            ["x $", "{", "V$E", "}", "y v"]
        );
    }

    #[test]
    fn definitions() {
        assert_eq!(
            lines("$IF=eth0\ninterface $IF\ninterface ${IF}\n"),
            vec!["interface eth0", "interface eth0"]
        );
        assert_eq!(lines("$A=1\n$B=$A 2\nx $B\n"), vec!["x 1 2"]);
        assert_eq!(lines("x $UNDEF\n"), vec!["x $UNDEF"]);
        // As in keepalived, substituted text is decommented again: outside quotes
        // ${_HASH} starts a comment, inside quotes it is a literal '#'.
        assert_eq!(lines("x \"${_HASH}\" ${_BANG}\n"), vec!["x \"#\""]);
        assert_eq!(lines("x ${_HASH} y\n"), vec!["x"]);
    }

    #[test]
    fn multiline_definition() {
        let out = lines("$BLK=a 1 \\\n b 2 \\\n c 3\n$BLK\nz\n");
        assert_eq!(out, vec!["a 1", "b 2", "c 3", "z"]);
    }

    #[test]
    fn seq_and_lst() {
        assert_eq!(
            lines("~SEQ(i, 1, 3) vip 10.0.0.$i\n"),
            vec!["vip 10.0.0.1", "vip 10.0.0.2", "vip 10.0.0.3"]
        );
        assert_eq!(lines("~SEQx(i, 9, 11) v $i\n"), vec!["v 9", "v a", "v b"]);
        assert_eq!(lines("~SEQ(i, 3) x $i\n"), vec!["x 1", "x 2", "x 3"]);
        assert_eq!(lines("~SEQ(i, 5, -2, 1) x $i\n"), vec!["x 5", "x 3", "x 1"]);
        assert_eq!(lines("~LST(n, a, b) x $n\n"), vec!["x a", "x b"]);
        assert_eq!(
            lines("~LST({n, m}, {a, 1}, {b, 2}) x $n $m\n"),
            vec!["x a 1", "x b 2"]
        );
        assert_eq!(
            lines("~SEQ(i, 1, 2) ~SEQ(j, 1, 2) ${i}.${j}\n"),
            vec!["1.1", "1.2", "2.1", "2.2"]
        );
    }

    #[test]
    fn continuation() {
        assert_eq!(lines("a \\\n  b\nc\n"), vec!["a b", "c"]);
        // A `\` ending a comment is not a continuation outside definitions
        // (keepalived keeps it glued to the last word).
        assert_eq!(lines("a # note \\\nb\n"), vec!["a\\", "b"]);
    }

    #[test]
    fn multiline_definition_rules() {
        // parser-rules §7.3.  A comment's final `\` continues the definition
        // (corpus 055), a comment-only or blank line is skipped, and only a
        // truly empty line ends it.
        assert_eq!(
            lines("$M= \\\n a # note \\\n#  c \\\n   \n b \\\n # x\n c\n$M\n"),
            vec!["a", "b", "c"]
        );
        assert_eq!(lines("$N=n1 \\\n\nx\n$N\n"), vec!["x", "n1"]);
        // Conditional lines are evaluated when the definition is used; a
        // line of only `\` adds nothing.
        assert_eq!(
            lines("$M= \\\n@lb1 p 1 \\\n@other p 2 \\\n\\\n virtual_ipaddress { \\\n  10.0.0.1 \\\n }\n$M\n"),
            vec!["p 1", "virtual_ipaddress", "{", "10.0.0.1", "}"]
        );
    }

    #[test]
    fn columns_survive() {
        let mut d = Diagnostics::new();
        let opts = PreprocessOptions {
            config_id: "x".into(),
            allow_includes: false,
            random_seed: Some(1),
        };
        let l = preprocess_str("t", Path::new("."), "  \tpriority   200\n", opts, &mut d);
        assert_eq!(l[0].text.col_at(0), 4);
        assert_eq!(l[0].text.col_at(l[0].text.text.find("200").unwrap()), 15);
    }

    #[test]
    fn columns_after_substitution_and_escapes() {
        let mut d = Diagnostics::new();
        let opts = PreprocessOptions {
            config_id: "x".into(),
            allow_includes: false,
            random_seed: Some(1),
        };
        let l = preprocess_str(
            "t",
            Path::new("."),
            "$A=a_long_value\nk $A  y\n",
            opts,
            &mut d,
        );
        let t = &l[0].text;
        assert_eq!(t.text, "k a_long_value  y");
        // The substituted text maps to the '$' (column 3); 'y' keeps its own column.
        assert_eq!(t.col_at(t.text.find("a_long").unwrap()), 3);
        assert_eq!(t.col_at(t.text.find(" y").unwrap() + 1), 7);
    }

    #[test]
    fn braces_expand() {
        assert_eq!(expand_braces("a{b,c}d"), vec!["abd", "acd"]);
        assert_eq!(expand_braces("x{1,{2,3}}"), vec!["x1", "x2", "x3"]);
        assert_eq!(expand_braces("plain"), vec!["plain"]);
    }

    #[test]
    fn random_in_range() {
        let out = lines("x ${_RANDOM 5 7}\n");
        let v: u32 = out[0][2..].parse().unwrap();
        assert!((5..=7).contains(&v));
    }

    #[test]
    fn includes_relative_nested_and_globbed() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("sub/inner")).unwrap();
        std::fs::write(d.join("main.conf"), "top\ninclude sub/*.conf\nend\n").unwrap();
        std::fs::write(d.join("sub/a.conf"), "a\ninclude inner/{x,y}.conf\n").unwrap();
        std::fs::write(d.join("sub/b.conf"), "b\n").unwrap();
        std::fs::write(d.join("sub/inner/x.conf"), "x").unwrap();
        std::fs::write(d.join("sub/inner/y.conf"), "y\n").unwrap();
        let mut diags = Diagnostics::new();
        let opts = PreprocessOptions {
            config_id: "x".into(),
            allow_includes: true,
            random_seed: Some(1),
        };
        let out: Vec<_> = preprocess_file(&d.join("main.conf"), opts, &mut diags)
            .into_iter()
            .map(|l| {
                (
                    l.text.text,
                    l.file.name().rsplit('/').next().unwrap().to_owned(),
                    l.line,
                )
            })
            .collect();
        let texts: Vec<_> = out.iter().map(|o| o.0.as_str()).collect();
        assert_eq!(texts, vec!["top", "a", "x", "y", "b", "end"]);
        assert_eq!(out[2].1, "x.conf");
        assert_eq!(out[5].2, 3);
        assert!(diags.items.is_empty(), "{:?}", diags.items);
    }
}
