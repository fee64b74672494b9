//! The typed pass: statement tree → [`Config`], driven by keyword tables.
//!
//! Each block of keepalived.conf has a table of [`Keyword`]s: the keyword, whether
//! it takes a block, how far we support it, and the function that applies it to
//! the model.  The tables are the single source of truth for "which keywords do
//! we know": the tree walker, the configuration reference test and `--keywords`
//! all read them.
//!
//! Tolerance follows keepalived (see docs/CONFIG-SYNTAX.md):
//! - an unknown keyword is reported and ignored, and its block (if any) skipped;
//! - a block keyword without `{` is reported ("missing '{'") and, as keepalived
//!   does, the statements after it at the same level are read as its block;
//! - a leaf keyword given a block is reported and the block ignored.

pub mod global;
pub mod lvs;
pub mod scripts;
pub mod vrrp;

use super::ast::Node;
use super::diag::{Diagnostics, Location, Severity};
use super::model::Config;
use std::collections::HashMap;

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
pub type SourceMap = HashMap<String, Location>;

/// Build context: diagnostics, source map, options, and the block path.
pub struct Cx<'a> {
    pub diags: &'a mut Diagnostics,
    pub spans: SourceMap,
    pub opts: BuildOptions,
    path: Vec<&'static str>,
}

impl<'a> Cx<'a> {
    pub fn new(diags: &'a mut Diagnostics, opts: BuildOptions) -> Self {
        Cx {
            diags,
            spans: SourceMap::new(),
            opts,
            path: Vec::new(),
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
                .map(|w| w.text.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            self.warn(node, n, format!("extra parameters '{extra}' ignored"));
        }
    }

    /// Walk the statements of a block against its keyword table.
    pub fn apply_block<T>(
        &mut self,
        target: &mut T,
        context: &'static str,
        nodes: &[Node],
        table: &[Keyword<T>],
    ) {
        let pushed = !context.is_empty();
        if pushed {
            self.path.push(context);
        }
        let mut i = 0;
        while i < nodes.len() {
            let node = &nodes[i];
            i += 1;
            if node.name().is_empty() {
                continue; // an anonymous block already reported by the tree builder
            }
            let Some(kw) = table.iter().find(|k| k.name == node.name()) else {
                let ctx = self.context();
                let where_ = if ctx.is_empty() {
                    "at top level".to_owned()
                } else {
                    format!("in {ctx}")
                };
                let skipped = if node.block.is_some() {
                    " - ignored with its block"
                } else {
                    " - ignored"
                };
                self.error(
                    node,
                    usize::MAX,
                    format!("unknown keyword '{}' {where_}{skipped}", node.name()),
                );
                continue;
            };
            match kw.support {
                Support::Full | Support::Partial => {}
                Support::NotImplemented => self.warn(
                    node,
                    usize::MAX,
                    format!("keyword '{}' recognised but not implemented", node.name()),
                ),
                Support::Rejected => {
                    self.diags.unsupported = true;
                    self.error(
                        node,
                        usize::MAX,
                        format!(
                        "keyword '{}' recognised but not implemented; ignoring it would change \
                         what goes on the wire or security, so the daemon refuses to start with it",
                        node.name()
                    ),
                    )
                }
            }
            match kw.kind {
                Kind::Leaf => {
                    if node.block.is_some() {
                        self.error(
                            node,
                            usize::MAX,
                            format!("keyword '{}' takes no block - block ignored", node.name()),
                        );
                    }
                    (kw.apply)(target, node, self);
                }
                Kind::Block | Kind::List => {
                    if node.block.is_some() {
                        (kw.apply)(target, node, self);
                    } else {
                        // keepalived: "Missing '{' at beginning of configuration block"
                        // (an error for keyword blocks, only a log line for lists), then
                        // it reads what follows as the block's content.
                        let msg = format!("missing '{{' at beginning of block '{}'", node.name());
                        if kw.kind == Kind::Block {
                            self.error(node, usize::MAX, msg);
                        } else {
                            self.warn(node, usize::MAX, msg);
                        }
                        let mut synthetic = node.clone();
                        synthetic.block = Some(nodes[i..].to_vec());
                        i = nodes.len();
                        (kw.apply)(target, &synthetic, self);
                    }
                }
            }
        }
        if pushed {
            self.path.pop();
        }
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
        Keyword::new(
            "bfd_instance",
            Block,
            NotImplemented,
            vrrp::apply_bfd_instance,
        ),
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
pub fn build(nodes: &[Node], cx: &mut Cx) -> Config {
    let mut cfg = Config::default();
    cx.apply_block(&mut cfg, "", nodes, root_table());
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
