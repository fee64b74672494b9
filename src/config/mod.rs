//! keepalived.conf front end.
//!
//! Pipeline: [`preprocess`] (files → logical lines: comments, includes,
//! conditionals, definitions, generators) → [`ast`] (words and blocks) →
//! [`build`] (keyword tables → typed [`model`], with keepalived's semantic
//! checks) → [`diag`] (diagnostics and the `-t` verdict).
pub mod ast;
pub mod build;
pub mod diag;
pub mod model;
pub mod preprocess;
pub mod values;

use diag::{Diagnostics, FileId, Location, Severity};
use model::Config;
use std::path::Path;
use std::rc::Rc;

/// Options of one configuration load.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    pub preprocess: preprocess::PreprocessOptions,
    pub build: build::BuildOptions,
}

/// The result of loading: the model (always, possibly partial), what was said
/// about it, and where named things were defined.
#[derive(Debug)]
pub struct Loaded {
    pub config: Config,
    pub diags: Diagnostics,
    pub spans: build::SourceMap,
}

/// The format of a configuration file, from its name: `.toml` is the TOML form
/// of the model, anything else is keepalived.conf syntax.
pub fn is_toml(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
}

/// Load a configuration file (keepalived.conf syntax or TOML).
pub fn load_file(path: &Path, opts: &LoadOptions) -> Loaded {
    if is_toml(path) {
        return load_toml_file(path, opts);
    }
    let mut diags = Diagnostics::new();
    let mut tree_diags = Diagnostics::new();
    let (tree, blocks) = ast::build_tree_counted(
        preprocess::open_file(path, opts.preprocess.clone(), &mut diags),
        &mut tree_diags,
    );
    diags.extend(tree_diags);
    finish(tree, blocks, diags, opts)
}

/// Load keepalived.conf text held in memory (tests, fuzzing).
pub fn load_str(name: &str, text: &str, opts: &LoadOptions) -> Loaded {
    let mut diags = Diagnostics::new();
    let mut tree_diags = Diagnostics::new();
    let (tree, blocks) = ast::build_tree_counted(
        preprocess::open_str(
            name,
            Path::new("."),
            text,
            opts.preprocess.clone(),
            &mut diags,
        ),
        &mut tree_diags,
    );
    diags.extend(tree_diags);
    finish(tree, blocks, diags, opts)
}

fn finish(
    tree: Vec<ast::Node>,
    blocks: usize,
    mut diags: Diagnostics,
    opts: &LoadOptions,
) -> Loaded {
    let tree: Rc<[ast::Node]> = tree.into();
    let mut cx = build::Cx::new(&mut diags, opts.build.clone());
    // Most blocks are named things the typed pass remembers (a virtual
    // server, a real server, its checker): size the source map once.
    cx.spans.reserve(blocks);
    // The tree is freed as the model is built (see `build::build`).
    let config = build::build(tree, &mut cx);
    let spans = std::mem::take(&mut cx.spans);
    Loaded {
        config,
        diags,
        spans,
    }
}

/// Load the TOML form of the model, then run the same semantic checks.
pub fn load_toml_file(path: &Path, opts: &LoadOptions) -> Loaded {
    let mut diags = Diagnostics::new();
    let name = FileId::intern(&path.to_string_lossy());
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            diags.push(
                Severity::Fatal,
                Some(Location::new(name, 0, 0)),
                None,
                format!("cannot read configuration file: {e}"),
            );
            return Loaded {
                config: Config::default(),
                diags,
                spans: Default::default(),
            };
        }
    };
    load_toml_str(name, &text, opts, diags)
}

fn load_toml_str(name: FileId, text: &str, opts: &LoadOptions, mut diags: Diagnostics) -> Loaded {
    match toml::from_str::<Config>(text) {
        Ok(config) => {
            let mut cx = build::Cx::new(&mut diags, opts.build.clone());
            build::validate(&config, &mut cx);
            let spans = std::mem::take(&mut cx.spans);
            Loaded {
                config,
                diags,
                spans,
            }
        }
        Err(e) => {
            let (line, col) = e.span().map(|s| line_col(text, s.start)).unwrap_or((0, 0));
            diags.push(
                Severity::Fatal,
                Some(Location::new(name, line, col)),
                None,
                e.message().to_owned(),
            );
            Loaded {
                config: Config::default(),
                diags,
                spans: Default::default(),
            }
        }
    }
}

fn line_col(text: &str, byte: usize) -> (u32, u32) {
    let before = &text[..byte.min(text.len())];
    let line = before.matches('\n').count() as u32 + 1;
    let col = before.rsplit('\n').next().map_or(0, str::len) as u32 + 1;
    (line, col)
}

/// Serialise the model as TOML (the schema `-f site.toml` reads).
pub fn to_toml(config: &Config) -> Result<String, toml::ser::Error> {
    toml::to_string(config)
}

/// Serialise the model as pretty JSON (`--dump-config=json`).
pub fn to_json(config: &Config) -> Result<String, serde_json::Error> {
    serde_json::to_string_pretty(config)
}
