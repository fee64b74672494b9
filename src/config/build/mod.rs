//! The typed pass: statement tree → [`Config`], driven by keyword tables.
//!
//! Each block of keepalived.conf has a table of [`Keyword`]s: the keyword, whether
//! it takes a block, how far we support it, and the function that applies it to
//! the model.  The tables are the single source of truth for "which keywords do
//! we know": the tree walker, the configuration reference test and `--keywords`
//! all read them.
//!
//! Tolerance follows keepalived (see docs/CONFIG-SYNTAX.md and
//! [`Cx::run_block`]):
//! - an unknown keyword is reported and ignored; if it has a block, the lines
//!   of that block are read in the current block and its `}` ends the current
//!   block, as in keepalived;
//! - a block keyword without `{` is reported ("missing '{'") and, as keepalived
//!   does, the statements after it, up to the next `}`, are read as its block;
//! - a leaf keyword given a block is reported and its block read as for an
//!   unknown keyword.

pub mod global;
pub mod lvs;
pub mod scripts;
pub mod vrrp;

use super::ast::{Block, Node};
use super::diag::{Diagnostics, Location, Severity};
use super::model::{Config, GlobalDefs};
use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::rc::Rc;

/// Whether a keyword opens a block, and of what sort.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A keyword with arguments, no block.
    Leaf,
    /// A block of keywords.
    Block,
    /// A block whose lines are items (addresses, names), not keywords.
    List,
}

/// How far keepalived-rs acts on a keyword today.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Support {
    /// Parsed into the model and acted on.
    Full,
    /// Parsed; part of its behaviour is implemented (the reference says which).
    Partial,
    /// Parsed into the model but not acted on: a warning says so.
    NotImplemented,
    /// Parsed, not acted on, and ignoring it would change wire behaviour or
    /// security: reported as an error, and the daemon refuses to start with it.
    Rejected,
}

/// One keyword of one block.
pub struct Keyword<T> {
    pub name: &'static str,
    pub kind: Kind,
    pub support: Support,
    pub apply: fn(&mut T, &Node, &mut Cx),
}

impl<T> Keyword<T> {
    pub const fn new(
        name: &'static str,
        kind: Kind,
        support: Support,
        apply: fn(&mut T, &Node, &mut Cx),
    ) -> Self {
        Keyword {
            name,
            kind,
            support,
            apply,
        }
    }
}

/// A keyword table seen without its target type: for the reference test and
/// documentation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeywordInfo {
    /// Block path, e.g. `vrrp_instance/authentication` ("" = top level).
    pub context: String,
    pub name: &'static str,
    pub kind: Kind,
    pub support: Support,
}

/// What the typed pass may look at besides the text.
#[derive(Clone, Debug)]
pub struct BuildOptions {
    /// Check facts of this host as keepalived's `-t` does: interfaces, users,
    /// script files and their permissions.
    pub check_host: bool,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions { check_host: true }
    }
}

/// Where each named thing was defined, for diagnostics after the typed pass
/// (the model itself carries no locations, so it round-trips through TOML).
pub type SourceMap = HashMap<String, Location, BuildHasherDefault<KeyHasher>>;

/// The hasher of [`SourceMap`]: its keys are paths we format ourselves
/// (`virtual_server[3].real_server[7]`), looked up only by the typed pass,
/// so a simple multiplicative hash does, at a fraction of SipHash's cost (a
/// 100,000-line file remembers some 30,000 of them).
#[derive(Clone, Copy, Debug, Default)]
pub struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.write(&[i]);
    }

    fn write_usize(&mut self, i: usize) {
        self.write(&i.to_le_bytes());
    }

    fn finish(&self) -> u64 {
        // The table indexes by the low bits: bring the best-mixed (high)
        // bits of the last multiplication there.
        self.0.rotate_left(26)
    }
}

/// Build context: diagnostics, source map, options, and the block path.
pub struct Cx<'a> {
    pub diags: &'a mut Diagnostics,
    pub spans: SourceMap,
    pub opts: BuildOptions,
    path: Vec<&'static str>,
    /// Statements keepalived reads after the block just walked, one level up
    /// (see [`Cx::run_block`]), as a [`Queue`]'s chunks (the last is read first).
    escaped: Vec<Chunk>,
    /// Work done by the block reader: statements and ends read, chunks moved,
    /// statements scanned for a `}`.  A cost measure, so that tests can check
    /// the reader stays linear on cascades of escaping blocks.
    pub(crate) reader_steps: u64,
    /// global_defs as read in keepalived's first pass: the other areas may
    /// consult it while they are read (default settings until then).
    pub global: Rc<GlobalDefs>,
}

impl<'a> Cx<'a> {
    pub fn new(diags: &'a mut Diagnostics, opts: BuildOptions) -> Self {
        Cx {
            diags,
            spans: SourceMap::default(),
            opts,
            path: Vec::new(),
            escaped: Vec::new(),
            reader_steps: 0,
            global: Rc::new(GlobalDefs::default()),
        }
    }

    /// The current block path, e.g. `vrrp_instance/track_script`.
    pub fn context(&self) -> String {
        self.path.join("/")
    }

    /// Report against argument `i` of `node` (or the keyword when `i` is past the end).
    pub fn report(&mut self, severity: Severity, node: &Node, i: usize, msg: impl Into<String>) {
        let loc = node.arg_loc(i).clone();
        self.diags
            .push(severity, Some(loc), Some(node.name()), msg.into());
    }

    pub fn error(&mut self, node: &Node, i: usize, msg: impl Into<String>) {
        self.report(Severity::Error, node, i, msg);
    }

    pub fn warn(&mut self, node: &Node, i: usize, msg: impl Into<String>) {
        self.report(Severity::Warning, node, i, msg);
    }

    pub fn fatal(&mut self, node: &Node, i: usize, msg: impl Into<String>) {
        self.report(Severity::Fatal, node, i, msg);
    }

    /// keepalived stops reading here (a keyword without its value, or a line it
    /// crashes on): fatal, and the `-t` verdict is "cannot run" whatever else
    /// was reported. We keep reading so every problem is reported.
    pub fn stop(&mut self, node: &Node, i: usize, msg: impl Into<String>) {
        self.report(Severity::Fatal, node, i, msg);
        self.diags.aborted = true;
    }

    /// Report at a remembered location (see [`SourceMap`]).
    pub fn report_at(
        &mut self,
        severity: Severity,
        key: &str,
        keyword: &str,
        msg: impl Into<String>,
    ) {
        let loc = self.spans.get(key).cloned();
        self.diags.push(severity, loc, Some(keyword), msg.into());
    }

    pub fn remember(&mut self, key: String, node: &Node) {
        self.spans.insert(key, node.loc().clone());
    }

    /// Complain about extra arguments past `n`.
    pub fn no_more_args(&mut self, node: &Node, n: usize) {
        if node.args.len() > n {
            let extra = node.args[n..]
                .iter()
                .map(|w| w.text())
                .collect::<Vec<_>>()
                .join(" ");
            self.warn(node, n, format!("extra parameters '{extra}' ignored"));
        }
    }

    /// Report at a location that is not a node's (e.g. a block's `}`).
    pub fn report_loc(
        &mut self,
        severity: Severity,
        loc: Location,
        keyword: &str,
        msg: impl Into<String>,
    ) {
        self.diags
            .push(severity, Some(loc), Some(keyword), msg.into());
    }

    /// Walk the statements of `owner`'s block against its keyword table, the
    /// way keepalived reads them (see [`Cx::run_block`]).  Returns where the
    /// block ended: the `}` that closed it, which is where keepalived runs and
    /// names its end-of-block checks (see [`end_of_block`]); `None` when the
    /// input ended first.
    pub fn apply_block<T>(
        &mut self,
        target: &mut T,
        context: &'static str,
        owner: &Node,
        table: &[Keyword<T>],
    ) -> Option<Location> {
        // Statements a previous sibling block left for our caller stay theirs.
        let stash = std::mem::take(&mut self.escaped);
        let pushed = !context.is_empty();
        if pushed {
            self.path.push(context);
        }
        let mut queue = Queue::default();
        queue.push_front(Chunk::block_of(owner, None));
        let end = self.run_block(target, table, queue, None);
        if pushed {
            self.path.pop();
        }
        if !stash.is_empty() {
            // The stash is read first: it goes on top.
            self.reader_steps += stash.len() as u64;
            self.escaped.extend(stash);
        }
        end
    }

    /// Walk the top-level statements for the passes of keepalived in `phase`
    /// (see [`Cx::run_block`]): root keywords read in none of these passes
    /// are skipped, as keepalived skips them.
    ///
    /// With `consume`, each top-level statement is taken out of `nodes` when
    /// it is read, if nothing else shares the list, and dropped with its
    /// block once applied: the last walk frees the tree as it builds the
    /// model, so the two are not whole in memory together.
    fn apply_top<T>(
        &mut self,
        target: &mut T,
        nodes: Rc<[Node]>,
        table: &[Keyword<T>],
        phase: u8,
        consume: bool,
    ) {
        let mut queue = Queue::default();
        let stop = nodes.len();
        queue.push_front(Chunk {
            stmts: nodes,
            next: 0,
            stop,
            end: None,
            top_level: true,
            consume,
            origin: None,
        });
        self.run_block(target, table, queue, Some(phase));
        self.escaped.clear();
    }

    /// keepalived's block reader, on our brace-matched tree.
    ///
    /// keepalived does not match braces: it reads lines, and a `}` ends
    /// whatever block it is reading.  So where a `{` follows a line that does
    /// not open a block (an unknown keyword, a keyword without a block, or no
    /// keyword at all), keepalived reads the lines of that "block" as part of
    /// the current one, and its `}` ends the current block early; the rest of
    /// the current block is then read one level up, and its own `}` ends the
    /// block above, and so on.  We reproduce that, so that such a file means
    /// what it means to keepalived: the statements of the would-be block are
    /// pushed in front of the queue, followed by its `}`; a `}` ends the block
    /// being read, and what is left of the queue ("escaped" statements) goes
    /// to the caller's queue.  At the top level a `}` closes nothing.
    ///
    /// keepalived reads each area (global, checkers, VRRP, BFD) in a separate
    /// pass in which the root blocks of the other areas are skipped by brace
    /// counting, that is, as the brace-matched tree has them.  So statements
    /// that escape to the top level from a block of one area are read only if
    /// they belong to an area that pass reads too (see [`root_passes`]).  We
    /// walk the top level twice (`phase`): the global pass first, whose
    /// settings the other areas may consult while they are read, then the
    /// others together.  Something read at top level in both walks (an
    /// unknown keyword, a stray `}`) is reported in the last walk that sees
    /// it.
    fn run_block<T>(
        &mut self,
        target: &mut T,
        table: &[Keyword<T>],
        mut queue: Queue,
        phase: Option<u8>,
    ) -> Option<Location> {
        let top = phase.is_some();
        while let Some((item, origin)) = queue.pop_front() {
            self.reader_steps += 1;
            // At top level: the passes that read this entry, and whether this
            // walk is the last one to see it (the one that reports it); the
            // walks are the global pass, then all the others (see `build`).
            let seen_in = origin.as_ref().map_or(PASS_ALL, |o| o.passes);
            let (seen, report) = match phase {
                None => (true, true),
                Some(p) => (
                    seen_in & p != 0,
                    p & PASS_GLOBAL == 0 || seen_in & !PASS_GLOBAL == 0,
                ),
            };
            if !seen {
                continue;
            }
            let stmt = match item {
                Item::Eof => {
                    if top {
                        continue;
                    }
                    self.escape(queue);
                    return None;
                }
                Item::Close(loc) => {
                    if top {
                        if !report {
                            continue;
                        }
                        self.report_loc(
                            Severity::Error,
                            loc,
                            "}",
                            "'}' at top level closes nothing - ignored",
                        );
                        continue;
                    }
                    self.escape(queue);
                    return Some(loc);
                }
                Item::Stmt(stmt) => stmt,
            };
            let node: Cow<Node> = Cow::Borrowed(&stmt);
            if node.name() == "}" {
                // An extra `}` at top level, already reported by the tree builder.
                continue;
            }
            if node.name().is_empty() {
                // A `{` with no keyword before it (reported by the tree builder):
                // keepalived reads its lines here and its `}` ends this block.
                queue.push_front(Chunk::block_of(&node, origin.clone()));
                continue;
            }
            // The name once, and its length and first byte before the whole
            // text: tables have dozens of keywords and this runs on every
            // statement.
            let name = node.name().as_bytes();
            let kw = table.iter().find(|k| {
                let k = k.name.as_bytes();
                k.len() == name.len() && k.first() == name.first() && k == name
            });
            if let (Some(p), Some(kw)) = (phase, kw) {
                let passes = root_passes(kw.name) & seen_in;
                if passes & p == 0 {
                    // Read in the other walk, or in no pass at all.
                    if passes != 0 || !report {
                        continue;
                    }
                    let o = origin
                        .as_ref()
                        .map_or(("?".to_owned(), String::new()), |o| {
                            let at = if o.loc.file == node.loc().file {
                                format!("line {}", o.loc.line)
                            } else {
                                o.loc.to_string()
                            };
                            (o.keyword.clone(), at)
                        });
                    self.warn(
                        &node,
                        usize::MAX,
                        format!(
                            "'{}' is not read: it reaches the top level only because a '}}' in \
                             the '{}' block at {} ended that block early, and keepalived 2.2.7 \
                             skips that whole block when it reads '{}' blocks - ignored",
                            node.name(),
                            o.0,
                            o.1,
                            node.name()
                        ),
                    );
                    continue;
                }
            }
            let Some(kw) = kw else {
                let ctx = self.context();
                let where_ = if ctx.is_empty() {
                    "at top level".to_owned()
                } else {
                    format!("in {ctx}")
                };
                let skipped = if node.block.is_some() {
                    self.cascade_note()
                } else {
                    String::new()
                };
                if report {
                    self.error(
                        &node,
                        usize::MAX,
                        format!(
                            "unknown keyword '{}' {where_} - ignored{skipped}",
                            node.name()
                        ),
                    );
                }
                if node.block.is_some() {
                    queue.push_front(Chunk::block_of(&node, origin.clone()));
                }
                continue;
            };
            match kw.support {
                Support::Full | Support::Partial => {}
                Support::NotImplemented => self.warn(
                    &node,
                    usize::MAX,
                    format!("keyword '{}' recognised but not implemented", node.name()),
                ),
                Support::Rejected => {
                    self.diags.unsupported = true;
                    self.error(
                        &node,
                        usize::MAX,
                        format!(
                        "keyword '{}' recognised but not implemented; ignoring it would change \
                         what goes on the wire or security, so the daemon refuses to start with it",
                        node.name()
                    ),
                    )
                }
            }
            // What this statement leaves to be read next at this level comes
            // from the pass(es) that read `kw`.
            let next_origin = if top {
                Some(Rc::new(Origin::within(
                    origin.as_deref(),
                    kw.name,
                    node.loc(),
                )))
            } else {
                None
            };
            match kw.kind {
                Kind::Leaf => {
                    (kw.apply)(target, &node, self);
                    if node.block.is_some() {
                        let note = self.cascade_note();
                        self.error(
                            &node,
                            usize::MAX,
                            format!("keyword '{}' takes no block{note}", node.name()),
                        );
                        queue.push_front(Chunk::block_of(&node, next_origin.clone()));
                    }
                }
                Kind::Block | Kind::List => {
                    let mut node = node;
                    if node.block.is_none() {
                        // keepalived: "Missing '{' at beginning of configuration block"
                        // (an error for keyword blocks, only a log line for lists), then
                        // it reads what follows, up to the next '}', as the block.
                        let msg = format!("missing '{{' at beginning of block '{}'", node.name());
                        if kw.kind == Kind::Block {
                            self.error(&node, usize::MAX, msg);
                        } else {
                            self.warn(&node, usize::MAX, msg);
                        }
                        let mut synthetic = node.into_owned();
                        let (block, end) = queue.take_block(&mut self.reader_steps);
                        synthetic.block = Some(block);
                        synthetic.set_block_end(end);
                        node = Cow::Owned(synthetic);
                    }
                    if kw.kind == Kind::List {
                        if let Some((list, rest)) = cut_list(&node) {
                            for mut chunk in rest.into_iter().rev() {
                                chunk.origin = next_origin.clone();
                                queue.push_front(chunk);
                            }
                            node = Cow::Owned(list);
                        }
                    }
                    (kw.apply)(target, &node, self);
                }
            }
            // Statements a nested block left behind are read here next.
            let escaped = std::mem::take(&mut self.escaped);
            self.reader_steps += escaped.len() as u64;
            for mut chunk in escaped {
                chunk.origin = next_origin.clone();
                queue.push_front(chunk);
            }
        }
        None
    }

    /// What follows an unknown or misplaced block, for its message.
    fn cascade_note(&self) -> String {
        match self.path.last() {
            None => "; as in keepalived, the lines of its block are read at top level".to_owned(),
            Some(b) => format!(
                "; as in keepalived, the lines of its block are read as part of '{b}', \
                 and its '}}' ends '{b}'"
            ),
        }
    }

    /// Hand what is left of a block's queue to the block that contains it.
    /// Moves chunks, never statements: a cascade of escaping blocks stays
    /// linear in the number of statements.
    fn escape(&mut self, queue: Queue) {
        let mut chunks = queue.chunks;
        self.reader_steps += chunks.len() as u64;
        // What is already waiting is read first: it stays on top.
        chunks.append(&mut self.escaped);
        self.escaped = chunks;
    }
}

/// Push onto a vector that usually holds a single element: the first push
/// makes room for exactly one (a `Vec`'s first growth makes room for four,
/// which for large elements such as health checkers is most of the memory
/// of a big configuration).
pub(crate) fn push_first_exact<T>(v: &mut Vec<T>, x: T) {
    if v.capacity() == 0 {
        v.reserve_exact(1);
    }
    v.push(x);
}

/// Where a block's checks are reported: the `}` that ended it (as returned by
/// [`Cx::apply_block`]), else its own `}`, else its keyword.
pub fn end_of_block(node: &Node, end: Option<Location>) -> Location {
    end.or_else(|| node.block_end().cloned())
        .unwrap_or_else(|| node.loc().clone())
}

/// One line of a block as keepalived reads it: a statement (with its block,
/// if it has a real one), or a `}`, or the end of the input.
#[derive(Clone, Debug)]
pub(crate) enum Item {
    Stmt(StmtRef),
    Close(Location),
    Eof,
}

/// A statement of the tree, shared rather than copied (the block it is in and
/// its place there), or taken out of a top-level list that is read for the
/// last time (see [`Cx::apply_top`]).
#[derive(Clone, Debug)]
pub(crate) enum StmtRef {
    Shared { siblings: Rc<[Node]>, index: usize },
    Owned(Box<Node>),
}

impl std::ops::Deref for StmtRef {
    type Target = Node;

    fn deref(&self) -> &Node {
        match self {
            // `index` is always in range: only `Queue::pop_front` makes
            // these, from a chunk's unread statements.
            StmtRef::Shared { siblings, index } => &siblings[*index],
            StmtRef::Owned(node) => node,
        }
    }
}

/// A run of statements (`stmts[next..stop]`), then what ends it.
#[derive(Debug)]
pub(crate) struct Chunk {
    stmts: Rc<[Node]>,
    next: usize,
    stop: usize,
    /// The block's `}` or the end of the input; `None` for the top level.
    end: Option<Item>,
    /// Whether the statements may include extra `}`s (statements named `}`):
    /// only the top level's own statements do (see `ast::build_tree_from`).
    top_level: bool,
    /// Take each statement out of `stmts` as it is read, when `stmts` is not
    /// shared (the top level's last walk, see [`Cx::apply_top`]).
    consume: bool,
    /// At top level only: set when the statements escaped from a root block.
    origin: Option<Rc<Origin>>,
}

impl Chunk {
    /// `owner`'s block: its statements, then its `}`.
    fn block_of(owner: &Node, origin: Option<Rc<Origin>>) -> Chunk {
        let (stmts, range) = match &owner.block {
            Some(b) => {
                let (nodes, range) = b.parts();
                (nodes.clone(), range)
            }
            None => (no_stmts(), 0..0),
        };
        Chunk {
            stmts,
            next: range.start,
            stop: range.end,
            end: Some(end_item(owner)),
            top_level: false,
            consume: false,
            origin,
        }
    }
}

fn no_stmts() -> Rc<[Node]> {
    Rc::from(Vec::new())
}

/// What a block reader has left to read: a stack of chunks, the last one
/// first.  Blocks are pushed and handed up whole, so that a cascade of blocks
/// escaping into their parents (see [`Cx::run_block`]) moves chunks, not
/// statements.
#[derive(Debug, Default)]
pub(crate) struct Queue {
    chunks: Vec<Chunk>,
}

impl Queue {
    fn push_front(&mut self, chunk: Chunk) {
        self.chunks.push(chunk);
    }

    fn pop_front(&mut self) -> Option<(Item, Option<Rc<Origin>>)> {
        loop {
            let chunk = self.chunks.last_mut()?;
            if chunk.next < chunk.stop {
                let index = chunk.next;
                chunk.next += 1;
                // Statements before `next` are never read again: one taken
                // out leaves an empty statement behind, which nothing sees.
                let taken = if chunk.consume {
                    Rc::get_mut(&mut chunk.stmts)
                        .and_then(|s| s.get_mut(index))
                        .map(|n| StmtRef::Owned(Box::new(std::mem::take(n))))
                } else {
                    None
                };
                let stmt = taken.unwrap_or_else(|| StmtRef::Shared {
                    siblings: chunk.stmts.clone(),
                    index,
                });
                return Some((Item::Stmt(stmt), chunk.origin.clone()));
            }
            let end = chunk.end.take();
            let origin = chunk.origin.take();
            self.chunks.pop();
            if let Some(end) = end {
                return Some((end, origin));
            }
        }
    }

    /// The block of a block keyword whose `{` is missing: keepalived reads the
    /// lines that follow, up to the next `}`, as its block.  Returns those
    /// statements and that `}` (`None` when the input ends first), and counts
    /// the statements looked at in `steps`.
    ///
    /// The next `}` always ends the chunk on top: below the top level every
    /// chunk ends with a `}` or the end of the input, and at top level the
    /// extra `}`s are statements of the top level's own chunk.  So the block
    /// is a range of that chunk, shared, not copied.
    fn take_block(&mut self, steps: &mut u64) -> (Block, Option<Location>) {
        while self
            .chunks
            .last()
            .is_some_and(|c| c.next >= c.stop && c.end.is_none())
        {
            self.chunks.pop();
        }
        let Some(chunk) = self.chunks.last_mut() else {
            return (Block::from(Vec::new()), None);
        };
        let start = chunk.next;
        let extra_close = if chunk.top_level {
            let rest = chunk.stmts.get(start..chunk.stop).unwrap_or(&[]);
            let found = rest.iter().position(|n| n.name() == "}");
            *steps += found.map_or(rest.len(), |i| i + 1) as u64;
            found.map(|i| start + i)
        } else {
            None
        };
        if let Some(at) = extra_close {
            chunk.next = at + 1;
            let loc = chunk.stmts.get(at).map(|n| n.loc().clone());
            return (Block::range(&chunk.stmts, start..at), loc);
        }
        *steps += 1;
        let block = Block::range(&chunk.stmts, start..chunk.stop);
        chunk.next = chunk.stop;
        let end = match chunk.end.take() {
            Some(Item::Close(loc)) => Some(loc),
            Some(Item::Eof) => {
                // Left to be read: the end of the input ends the blocks
                // around this one too.
                chunk.end = Some(Item::Eof);
                None
            }
            Some(Item::Stmt(_)) | None => None,
        };
        if chunk.end.is_none() {
            self.chunks.pop();
        }
        (block, end)
    }
}

/// The root block a top-level statement escaped from, and the passes of
/// keepalived that read it there.
#[derive(Clone, Debug)]
pub(crate) struct Origin {
    passes: u8,
    keyword: String,
    loc: Location,
}

impl Origin {
    /// The origin of what `keyword` (read at top level from `outer`) leaves
    /// behind.
    fn within(outer: Option<&Origin>, keyword: &str, loc: &Location) -> Origin {
        match outer {
            Some(o) => Origin {
                passes: o.passes & root_passes(keyword),
                ..o.clone()
            },
            None => Origin {
                passes: root_passes(keyword),
                keyword: keyword.to_owned(),
                loc: loc.clone(),
            },
        }
    }
}

/// The item that ends `owner`'s block.
fn end_item(owner: &Node) -> Item {
    match owner.block_end() {
        Some(l) => Item::Close(l.clone()),
        None => Item::Eof,
    }
}

/// keepalived reads a list block (`virtual_ipaddress`, `track_interface`, …)
/// line by line up to the first `}` line; a `{` line inside is an item.  When
/// an item of ours has a block, that first `}` is the item block's, not the
/// list's: return the list as keepalived reads it (items up to that `}`, the
/// `{` lines as items named `{`) and what comes after it, which keepalived
/// reads at the list's own level (ending with the list's `}`, which ends the
/// block the list is in), as chunks, the first to be read first.  `None` when
/// no item has a block.
fn cut_list(list: &Node) -> Option<(Node, Vec<Chunk>)> {
    let children = list.block.as_ref()?;
    if !children.iter().any(|c| c.block.is_some()) {
        return None;
    }
    let mut items = Vec::new();
    let (end, rest) = cut_items(children, end_item(list), &mut items);
    let mut out = list.clone();
    out.block = Some(items.into());
    out.set_block_end(match end {
        Item::Close(l) => Some(l),
        _ => None,
    });
    Some((out, rest))
}

/// Flatten `nodes` (followed by `end`) into list items up to the first `}`.
/// Returns that `}` (or the end of input) and the statements after it.
fn cut_items(nodes: &Block, end: Item, items: &mut Vec<Node>) -> (Item, Vec<Chunk>) {
    for (i, n) in nodes.iter().enumerate() {
        let mut line = n.clone();
        line.block = None;
        line.braces = None;
        items.push(line);
        if let Some(block) = &n.block {
            let open_loc = n.block_loc().cloned().unwrap_or_else(|| n.loc().clone());
            items.push(Node {
                keyword: super::ast::Word::new("{", open_loc),
                ..Node::default()
            });
            let (close, mut rest) = cut_items(block, end_item(n), items);
            let (shared, range) = nodes.parts();
            rest.push(Chunk {
                stmts: shared.clone(),
                next: range.start + i + 1,
                stop: range.end,
                end: Some(end),
                top_level: false,
                consume: false,
                origin: None,
            });
            return (close, rest);
        }
    }
    (end, Vec::new())
}

/// keepalived's configuration passes (see docs/CONFIG-SYNTAX.md).
const PASS_GLOBAL: u8 = 1;
const PASS_CHECKER: u8 = 2;
const PASS_VRRP: u8 = 4;
const PASS_BFD: u8 = 8;
const PASS_ALL: u8 = PASS_GLOBAL | PASS_CHECKER | PASS_VRRP | PASS_BFD;

/// The passes in which keepalived 2.2.7 reads a root keyword (in the others
/// it skips the keyword's block by counting braces).  Unknown keywords are
/// read, and reported, in every pass.
fn root_passes(keyword: &str) -> u8 {
    match keyword {
        "global_defs"
        | "net_namespace"
        | "net_namespace_ipvs"
        | "namespace_with_ipsets"
        | "instance"
        | "use_pid_dir"
        | "child_wait_time"
        | "linkbeat_use_polling" => PASS_GLOBAL,
        "virtual_server_group" | "virtual_server" | "SSL" => PASS_CHECKER,
        "track_file" | "vrrp_track_file" => PASS_CHECKER | PASS_VRRP,
        "bfd_instance" => PASS_CHECKER | PASS_VRRP | PASS_BFD,
        "vrrp_script"
        | "vrrp_track_process"
        | "vrrp_sync_group"
        | "vrrp_instance"
        | "static_ipaddress"
        | "static_routes"
        | "static_rules"
        | "track_group"
        | "garp_group"
        | "linkbeat_interfaces"
        | "interface_up_down_delays" => PASS_VRRP,
        _ => PASS_ALL,
    }
}

/// The top-level keywords.
pub fn root_table() -> &'static [Keyword<Config>] {
    use Kind::*;
    use Support::*;
    static TABLE: &[Keyword<Config>] = &[
        Keyword::new("global_defs", Block, Full, global::apply_global_defs),
        Keyword::new("vrrp_script", Block, Full, vrrp::apply_vrrp_script),
        Keyword::new("track_file", Block, Full, vrrp::apply_track_file),
        Keyword::new("vrrp_track_file", Block, Full, vrrp::apply_track_file),
        Keyword::new("vrrp_track_process", Block, Full, vrrp::apply_track_process),
        Keyword::new("vrrp_sync_group", Block, Full, vrrp::apply_sync_group),
        Keyword::new("vrrp_instance", Block, Full, vrrp::apply_vrrp_instance),
        Keyword::new("static_ipaddress", List, Full, vrrp::apply_static_ipaddress),
        Keyword::new("static_routes", List, Full, vrrp::apply_static_routes),
        Keyword::new("static_rules", List, Full, vrrp::apply_static_rules),
        Keyword::new("track_group", Block, Full, vrrp::apply_track_group),
        Keyword::new("garp_group", Block, Full, vrrp::apply_garp_group),
        Keyword::new(
            "linkbeat_interfaces",
            List,
            NotImplemented,
            vrrp::apply_linkbeat_interfaces,
        ),
        Keyword::new(
            "interface_up_down_delays",
            List,
            NotImplemented,
            vrrp::apply_interface_up_down_delays,
        ),
        Keyword::new("bfd_instance", Block, Full, vrrp::apply_bfd_instance),
        Keyword::new(
            "virtual_server_group",
            Block,
            Full,
            lvs::apply_virtual_server_group,
        ),
        Keyword::new("virtual_server", Block, Full, lvs::apply_virtual_server),
        Keyword::new("SSL", Block, Full, lvs::apply_ssl),
        // Top-level process options keepalived accepts outside global_defs.
        Keyword::new("net_namespace", Leaf, Full, global::apply_top_net_namespace),
        Keyword::new(
            "net_namespace_ipvs",
            Leaf,
            Full,
            global::apply_top_net_namespace_ipvs,
        ),
        Keyword::new(
            "namespace_with_ipsets",
            Leaf,
            Full,
            global::apply_top_namespace_with_ipsets,
        ),
        Keyword::new("instance", Leaf, Full, global::apply_top_instance),
        Keyword::new("use_pid_dir", Leaf, Full, global::apply_top_use_pid_dir),
        Keyword::new(
            "child_wait_time",
            Leaf,
            Full,
            global::apply_top_child_wait_time,
        ),
        Keyword::new(
            "linkbeat_use_polling",
            Leaf,
            NotImplemented,
            global::apply_top_linkbeat_use_polling,
        ),
    ];
    TABLE
}

/// Every keyword we know, with its context; used by the configuration
/// reference test and `keepalived-rs --keywords`.
pub fn all_keywords() -> Vec<KeywordInfo> {
    let mut out = Vec::new();
    collect("", root_table(), &mut out);
    global::keywords(&mut out);
    vrrp::keywords(&mut out);
    lvs::keywords(&mut out);
    out
}

/// Append a table's keywords under `context`.
pub fn collect<T>(context: &str, table: &[Keyword<T>], out: &mut Vec<KeywordInfo>) {
    for k in table {
        out.push(KeywordInfo {
            context: context.to_owned(),
            name: k.name,
            kind: k.kind,
            support: k.support,
        });
    }
}

/// Build the typed model from a statement tree.
///
/// The tree is freed as the model is built: each top-level statement is
/// dropped, with its block, once the last walk has applied it.
pub fn build(nodes: Rc<[Node]>, cx: &mut Cx) -> Config {
    let mut cfg = Config::default();
    // Room for the virtual servers the top level names (a capacity hint).
    let named = nodes
        .iter()
        .filter(|n| n.name() == "virtual_server")
        .count();
    cfg.virtual_server.reserve_exact(named);
    // keepalived reads the global settings in a pass of its own, before the
    // other areas, which may consult them while they are read.
    cx.apply_top(&mut cfg, nodes.clone(), root_table(), PASS_GLOBAL, false);
    cx.global = Rc::new(cfg.global_defs.clone());
    cx.apply_top(&mut cfg, nodes, root_table(), PASS_ALL & !PASS_GLOBAL, true);
    cx.path.clear();
    validate(&cfg, cx);
    cfg
}

/// The semantic checks that need the whole configuration (also run on a model
/// loaded from TOML).
pub fn validate(cfg: &Config, cx: &mut Cx) {
    global::validate(cfg, cx);
    vrrp::validate(cfg, cx);
    lvs::validate(cfg, cx);
}

#[cfg(test)]
mod tests {
    //! keepalived's block reader (see [`Cx::run_block`]): what a misplaced
    //! `{ … }` means, with the exact lines keepalived names.
    use crate::config::{load_str, LoadOptions, Loaded};

    fn load(text: &str) -> Loaded {
        let mut o = LoadOptions::default();
        o.preprocess.allow_includes = false;
        o.build.check_host = false;
        load_str("t.conf", text, &o)
    }

    fn msgs(l: &Loaded) -> Vec<String> {
        l.diags.items.iter().map(|d| d.to_string()).collect()
    }

    #[track_caller]
    fn expect(l: &Loaded, at: &str, text: &str) {
        let m = msgs(l);
        assert!(
            m.iter().any(|d| d.starts_with(at) && d.contains(text)),
            "no '{at}' ... '{text}' in {m:#?}"
        );
    }

    #[test]
    fn unknown_block_at_top_level_is_read_at_top_level() {
        // 072: `bal_defs {` for `global_defs {`.
        let l = load("bal_defs {\n    router_id R1\n}\nvrrp_script s {\n script /bin/true\n}\n");
        expect(
            &l,
            "t.conf:1:1: error",
            "unknown keyword 'bal_defs' at top level",
        );
        expect(
            &l,
            "t.conf:2:5: error",
            "unknown keyword 'router_id' at top level",
        );
        expect(&l, "t.conf:3:1: error", "'}' at top level closes nothing");
        assert_eq!(l.config.global_defs.router_id, None);
        assert_eq!(l.config.vrrp_script.len(), 1);
    }

    #[test]
    fn leaf_with_block_ends_the_enclosing_block() {
        // 031: `router_id ${UNDEF}` becomes `router_id $` + `{ UNDEF }`; the
        // `}` ends global_defs and the rest of it is read at top level.
        let l = load(
            "global_defs {\n router_id $\n {\n NAME\n }\n enable_script_security\n \
             notification_email {\n  a@b\n }\n}\n",
        );
        expect(
            &l,
            "t.conf:2:2: error",
            "keyword 'router_id' takes no block",
        );
        expect(
            &l,
            "t.conf:4:2: error",
            "unknown keyword 'NAME' in global_defs",
        );
        expect(
            &l,
            "t.conf:6:2: error",
            "unknown keyword 'enable_script_security' at top level",
        );
        expect(
            &l,
            "t.conf:7:2: error",
            "unknown keyword 'notification_email' at top level",
        );
        expect(
            &l,
            "t.conf:8:3: error",
            "unknown keyword 'a@b' at top level",
        );
        expect(&l, "t.conf:9:2: error", "'}' at top level closes nothing");
        expect(&l, "t.conf:10:1: error", "'}' at top level closes nothing");
        assert_eq!(l.config.global_defs.router_id.as_deref(), Some("$"));
        assert!(!l.config.global_defs.enable_script_security);
    }

    #[test]
    fn unclosed_block_swallows_the_next_ones_as_keepalived_reads_them() {
        // 111: a virtual_server without its `}`.  Its checker pass ends it at
        // the `}` of the block of the unknown `global_defs` inside it; the
        // VRRP pass skips it whole (to the end of the file), so the
        // vrrp_instance after it is never read; the next virtual_server is.
        let l = load(
            "virtual_server 10.0.0.1 80 {\n delay_loop 3\n\
             global_defs {\n  router_id X\n}\n\
             vrrp_instance VI {\n interface eth0\n}\n\
             virtual_server 10.0.0.2 80 {\n real_server 10.0.1.1 80 {\n }\n}\n",
        );
        expect(
            &l,
            "t.conf:3:1: error",
            "unknown keyword 'global_defs' in virtual_server",
        );
        expect(
            &l,
            "t.conf:4:3: error",
            "unknown keyword 'router_id' in virtual_server",
        );
        expect(&l, "t.conf:6:1: warning", "'vrrp_instance' is not read");
        expect(
            &l,
            "t.conf:6:1: warning",
            "'virtual_server' block at line 1",
        );
        assert!(l.config.vrrp_instance.is_empty());
        assert_eq!(l.config.virtual_server.len(), 2);
        assert_eq!(l.config.global_defs.router_id, None);
    }

    #[test]
    fn list_item_with_a_block_ends_the_list() {
        // 037: `10.1.66.${ME}/24 …` with ME undefined is split at its braces;
        // keepalived's list reader stops at the first `}` line, the rest of
        // the line is read at the list's level and the list's `}` is extra.
        let l = load("static_ipaddress {\n 10.1.66.$\n {\n ME\n }\n /24 dev eth0\n }\n");
        expect(&l, "t.conf:2:2: error", "VRRP parsed invalid IP 10.1.66.$");
        expect(&l, "t.conf:3:2: error", "VRRP parsed invalid IP {");
        expect(&l, "t.conf:4:2: error", "VRRP parsed invalid IP ME");
        expect(
            &l,
            "t.conf:6:2: error",
            "unknown keyword '/24' at top level",
        );
        expect(&l, "t.conf:7:2: error", "'}' at top level closes nothing");
        assert!(l.config.static_ipaddress.is_empty());
    }

    #[test]
    fn unknown_block_inside_a_block_ends_it() {
        // parser-rules §3.2, t4: `foo {` inside vrrp_instance.
        let l = load("vrrp_instance VI {\n foo {\n  priority 50\n }\n virtual_router_id 7\n}\n");
        expect(
            &l,
            "t.conf:2:2: error",
            "unknown keyword 'foo' in vrrp_instance",
        );
        expect(
            &l,
            "t.conf:5:2: error",
            "unknown keyword 'virtual_router_id' at top level",
        );
        expect(&l, "t.conf:6:1: error", "'}' at top level closes nothing");
        let i = &l.config.vrrp_instance[0];
        assert_eq!(i.priority, Some(50));
        assert_eq!(i.virtual_router_id, None);
    }

    #[test]
    fn missing_brace_at_top_level_ends_at_the_extra_brace() {
        // parser-rules §3.2, t5: the block without `{` runs to the next `}`.
        let l =
            load("vrrp_script a\n script /bin/true\n}\nvrrp_script b {\n script /bin/false\n}\n");
        expect(
            &l,
            "t.conf:1:1: error",
            "missing '{' at beginning of block 'vrrp_script'",
        );
        let names: Vec<_> = l
            .config
            .vrrp_script
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(names, ["a", "b"]);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 300, ..Default::default() })]

        /// Any arrangement of braces, known and unknown keywords and list
        /// items is read, without panicking or looping.
        #[test]
        fn any_brace_soup_is_read(lines in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::prelude::Just("{"),
                proptest::prelude::Just("}"),
                proptest::prelude::Just("vrrp_instance VI"),
                proptest::prelude::Just("virtual_server 10.0.0.1 80"),
                proptest::prelude::Just("real_server 10.0.0.2 80"),
                proptest::prelude::Just("global_defs"),
                proptest::prelude::Just("virtual_ipaddress"),
                proptest::prelude::Just("static_ipaddress"),
                proptest::prelude::Just("priority 50"),
                proptest::prelude::Just("foo"),
                proptest::prelude::Just("10.0.0.9"),
                proptest::prelude::Just("track_script"),
                proptest::prelude::Just("bfd_instance b"),
            ],
            0..40,
        )) {
            let text = lines.join("\n");
            let l = load(&text);
            // Each line is read a bounded number of times.
            proptest::prop_assert!(l.diags.items.len() < 10 * (lines.len() + 5));
        }
    }

    /// The block reader's work on `text` (see [`super::Cx::reader_steps`]).
    fn reader_steps(text: &str) -> u64 {
        use crate::config::{ast, diag::Diagnostics, preprocess};
        let mut opts = LoadOptions::default();
        opts.preprocess.allow_includes = false;
        opts.preprocess.random_seed = Some(1);
        let mut diags = Diagnostics::new();
        let mut tree_diags = Diagnostics::new();
        let tree = ast::build_tree_from(
            preprocess::open_str(
                "t.conf",
                std::path::Path::new("."),
                text,
                opts.preprocess,
                &mut diags,
            ),
            &mut tree_diags,
        );
        let mut cx = super::Cx::new(&mut diags, super::BuildOptions { check_host: false });
        super::build(tree.into(), &mut cx);
        cx.reader_steps
    }

    /// Checks that the reader's work on `make(n)` grows linearly with `n`:
    /// quadratic work would quadruple when `n` doubles.
    #[track_caller]
    fn assert_linear(make: impl Fn(usize) -> String) {
        let small = reader_steps(&make(1000));
        let big = reader_steps(&make(2000));
        let lines = make(2000).lines().count() as u64;
        assert!(
            big <= small * 21 / 10 + 100,
            "reader work {small} for 1000, {big} for 2000 blocks"
        );
        assert!(big <= 4 * lines, "reader work {big} for {lines} lines");
    }

    #[test]
    fn cascade_of_unclosed_blocks_is_read_in_linear_time() {
        // The shape fuzzing found: generated vrrp_instances whose `${` is
        // broken, so each one's `}` closes the block of the `$` leaf, and
        // each vrrp_instance is left open and holds all the ones after it.
        // Each `}` ends an instance, and the rest of the file escapes to the
        // top level; that must not re-read (or copy) the rest each time.
        assert_linear(|n| {
            (0..n)
                .map(|i| {
                    format!(
                        "vrrp_instance VI_{i} {{\n interface eth0\n virtual_router_id $\n \
                         {{\n  x\n }}\n priority 100\n"
                    )
                })
                .collect()
        });
    }

    #[test]
    fn cascade_of_blocks_without_brace_is_read_in_linear_time() {
        // Each vrrp_script without its `{` takes the rest, up to the final
        // `}`, as its block; the `}` of the leaf's block inside ends it, and
        // the rest is read again at top level by the next one.
        assert_linear(|n| {
            let mut text: String = (0..n)
                .map(|i| format!("vrrp_script s{i}\n script /bin/true\n weight $\n {{\n x\n }}\n"))
                .collect();
            text.push_str("}\n");
            text
        });
        // The same inside a block: the queue of a nested block, not the top level.
        assert_linear(|n| {
            let mut text = "virtual_server 10.0.0.1 80 {\n".to_owned();
            for i in 0..n {
                text.push_str(&format!(
                    "real_server 10.0.1.{} 80\n weight $\n {{\n x\n }}\n",
                    i % 250
                ));
            }
            text.push_str("}\n");
            text
        });
    }

    #[test]
    fn fuzzing_timeout_cascade_input_is_linear() {
        // The input the fuzzer stopped on (2,000 generated instances with a
        // broken `${`): 10 s in a release build before the reader shared
        // statements.
        let text = include_str!(
            "../../../fuzz/regressions/config_parse/timeout-cascade-2000-vrrp-instances"
        );
        let l = load(text);
        assert!(l.diags.items.len() > 2000);
        assert!(reader_steps(text) < 1_000_000);
    }

    #[test]
    fn global_defs_is_read_before_the_other_blocks() {
        // keepalived's global pass comes first: a vrrp_script read before
        // global_defs in the file still sees its settings (here a default
        // script user that does not exist, so the script is removed).
        let mut o = LoadOptions::default();
        o.preprocess.allow_includes = false;
        o.build.check_host = true;
        let l = load_str(
            "t.conf",
            "vrrp_script a {\n script /bin/true\n}\nglobal_defs {\n script_user no-such-user-k5\n}\n",
            &o,
        );
        expect(
            &l,
            "t.conf:3:1: error",
            "unable to set default user for vrrp script a",
        );
        assert!(l.config.vrrp_script.is_empty());
    }
}
