//! keepalived-rs: the command-line entry point.

use clap::Parser;
use keepalived_rs::cli::{signum, Cli, DumpFormat};
use keepalived_rs::config::{self, LoadOptions};
use std::io::Write;
use std::process::ExitCode;

/// mimalloc: the configuration front end allocates many small strings and
/// nodes; glibc's allocator spent a third of `-t` on a 150,000-line file.
#[global_allocator]
static GLOBAL: Allocator = Allocator;

/// mimalloc, after opting the process out of transparent huge pages on the
/// very first allocation (which happens before `main`). mimalloc's arena is
/// THP-eligible: touching a few bytes would make a whole 2 MiB page resident,
/// and the daemon locks what it touches (`mlockall`), so a daemon that needs
/// 3 MiB of heap held 18 MiB (docs/PERFORMANCE.md, "Memory"). On the same
/// first allocation, mimalloc's arenas are made small (see
/// [`MI_ARENA_RESERVE_KIB`]).
struct Allocator;

static THP_DISABLED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn no_transparent_huge_pages() {
    use std::sync::atomic::Ordering;
    if !THP_DISABLED.load(Ordering::Relaxed) {
        THP_DISABLED.store(true, Ordering::Relaxed);
        // SAFETY: PR_SET_THP_DISABLE only sets a flag on our own memory map.
        let _ = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
        // SAFETY: sets one integer option in mimalloc's static option table
        // (no allocation); it is read when the first arena is reserved,
        // which this very allocation is about to do.
        unsafe { mi_option_set(MI_OPTION_ARENA_RESERVE, MI_ARENA_RESERVE_KIB) };
    }
}

/// Undo [`no_transparent_huge_pages`] for one-shot commands (`-t`).
fn allow_transparent_huge_pages() {
    // SAFETY: PR_SET_THP_DISABLE only sets a flag on our own memory map.
    let _ = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 0, 0, 0, 0) };
}

extern "C" {
    /// mimalloc's option setter (mimalloc.h; linked in with the allocator).
    fn mi_option_set(option: libc::c_int, value: libc::c_long);
    /// mimalloc's unaligned entry points (mimalloc.h): every block they
    /// return is aligned to at least 8 bytes (its smallest size class).
    fn mi_malloc(size: libc::size_t) -> *mut libc::c_void;
    fn mi_zalloc(size: libc::size_t) -> *mut libc::c_void;
    fn mi_realloc(p: *mut libc::c_void, newsize: libc::size_t) -> *mut libc::c_void;
}

/// Alignments every mimalloc block has: the `mimalloc` crate sends every
/// request through the `_aligned` entry points, whose extra checks were ~8 %
/// of the instructions of a configuration parse; most Rust allocations
/// (strings, vectors of bytes and pointers, boxes) need no more than this.
const MI_NATURAL_ALIGN: usize = 8;

/// `mi_option_arena_reserve` in mimalloc.h's `mi_option_t` (v3).
const MI_OPTION_ARENA_RESERVE: libc::c_int = 23;

/// mimalloc's arena size, KiB: its minimum, 32 MiB, instead of 1 GiB. An
/// arena starts with bitmaps sized by its slice count (one bitmap per size
/// class), all written when it is set up: ~200 KiB resident, and locked,
/// for 1 GiB, a few KiB for the 64 MiB the first arena then takes (the
/// first allocation's request is added). The daemon's heap is a few MiB; a
/// large configuration takes more arenas (mimalloc doubles their size every
/// 8).
const MI_ARENA_RESERVE_KIB: libc::c_long = 32 * 1024;

// SAFETY: every method delegates to mimalloc with the caller's arguments.
unsafe impl std::alloc::GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        no_transparent_huge_pages();
        if layout.align() <= MI_NATURAL_ALIGN {
            // SAFETY: any size is valid; the block is 8-aligned (above).
            return unsafe { mi_malloc(layout.size()) }.cast();
        }
        // SAFETY: forwarded contract.
        unsafe { mimalloc::MiMalloc.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        no_transparent_huge_pages();
        if layout.align() <= MI_NATURAL_ALIGN {
            // SAFETY: as in `alloc`.
            return unsafe { mi_zalloc(layout.size()) }.cast();
        }
        // SAFETY: forwarded contract.
        unsafe { mimalloc::MiMalloc.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        // SAFETY: forwarded contract.
        unsafe { mimalloc::MiMalloc.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        if layout.align() <= MI_NATURAL_ALIGN {
            // SAFETY: `ptr` is a live mimalloc block (GlobalAlloc contract);
            // the new block keeps the 8-byte alignment.
            return unsafe { mi_realloc(ptr.cast(), new_size) }.cast();
        }
        // SAFETY: forwarded contract.
        unsafe { mimalloc::MiMalloc.realloc(ptr, layout, new_size) }
    }
}

fn main() -> ExitCode {
    // `genhash` (also `--genhash`/`-T`, or a link named genhash) has its own
    // command line: handle it before keepalived's options are parsed.
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(genhash_args) = keepalived_rs::check::genhash::genhash_args(&args) {
        return keepalived_rs::check::genhash::run(genhash_args, &mut std::io::stdout());
    }
    let cli = Cli::parse();
    if cli.config_test.is_some() || cli.dump_config.is_some() {
        // A one-shot parse of a large file: huge pages make zeroing its
        // ~100 MB cheaper, and nothing is kept resident afterwards.
        allow_transparent_huge_pages();
    }
    // Start-up (and `-t`) parse: freed memory is reused, not given back to
    // the kernel and faulted in again; the daemon restores the allocator's
    // default once it has started (`memory::settle`).
    keepalived_rs::daemon::memory::never_purge();
    if cli.version {
        println!("keepalived-rs {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    init_logging(&cli);
    if let Some(keepalived_rs::cli::Command::Status { json }) = &cli.command {
        let code = keepalived_rs::daemon::status::client(&cli.control_socket, *json);
        return ExitCode::from(u8::try_from(code).unwrap_or(1));
    }
    for flag in cli.unimplemented_flags() {
        tracing::warn!(
            flag,
            "option accepted for compatibility but not implemented; ignored"
        );
    }
    if let Some(func) = &cli.signum {
        return match signum(func) {
            Some(n) => {
                println!("{n}");
                ExitCode::SUCCESS
            }
            None => {
                eprintln!("Unknown sigfunc {func}");
                ExitCode::from(1)
            }
        };
    }
    if cli.keywords {
        for k in config::build::all_keywords() {
            let ctx = if k.context.is_empty() {
                "(top)"
            } else {
                &k.context
            };
            println!("{ctx}\t{}\t{:?}\t{:?}", k.name, k.kind, k.support);
        }
        return ExitCode::SUCCESS;
    }

    let mut opts = LoadOptions::default();
    if let Some(id) = &cli.config_id {
        opts.preprocess.config_id = id.clone();
    }
    if let Some(target) = &cli.config_test {
        let loaded = config::load_file(&cli.use_file, &opts);
        let code = config_test(&loaded, target);
        // The process ends here: freeing a large model piece by piece would
        // only cost time.
        std::mem::forget(loaded);
        return code;
    }
    let loaded = config::load_file(&cli.use_file, &opts);

    if let Some(format) = cli.dump_config {
        print_diagnostics(&loaded.diags, &mut std::io::stderr());
        let out = match format {
            DumpFormat::Json => config::to_json(&loaded.config).map_err(|e| e.to_string()),
            DumpFormat::Toml => config::to_toml(&loaded.config).map_err(|e| e.to_string()),
        };
        return match out {
            Ok(text) => {
                println!("{text}");
                if loaded.diags.cannot_run() {
                    ExitCode::from(3)
                } else {
                    ExitCode::SUCCESS
                }
            }
            Err(e) => {
                eprintln!("keepalived-rs: cannot serialise the configuration: {e}");
                ExitCode::from(1)
            }
        };
    }

    print_diagnostics(&loaded.diags, &mut std::io::stderr());
    if cli.dump_conf {
        match config::to_json(&loaded.config) {
            Ok(text) => eprintln!("{text}"),
            Err(e) => eprintln!("keepalived-rs: cannot serialise the configuration: {e}"),
        }
    }
    if loaded.diags.cannot_run() {
        eprintln!("keepalived-rs: the configuration cannot run");
        return ExitCode::from(3);
    }
    if loaded.diags.unsupported {
        eprintln!(
            "keepalived-rs: the configuration uses features that are not implemented and \
             would change wire behaviour or security; refusing to start"
        );
        return ExitCode::from(3);
    }
    let code = keepalived_rs::daemon::run(&cli, loaded, opts);
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// `-t[=FILE]`: diagnostics to stderr or FILE, exit with keepalived's codes.
fn config_test(loaded: &config::Loaded, target: &str) -> ExitCode {
    let verdict = loaded.diags.verdict();
    if target.is_empty() {
        print_diagnostics(&loaded.diags, &mut std::io::stderr());
    } else {
        match std::fs::File::create(target) {
            Ok(mut f) => print_diagnostics(&loaded.diags, &mut f),
            Err(e) => {
                eprintln!("keepalived-rs: cannot write {target}: {e}");
                print_diagnostics(&loaded.diags, &mut std::io::stderr());
            }
        }
    }
    ExitCode::from(verdict.exit_code() as u8)
}

fn print_diagnostics(diags: &config::diag::Diagnostics, out: &mut dyn Write) {
    // stderr is unbuffered: without a buffer each diagnostic would take
    // several write(2)s.
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, out);
    for d in &diags.items {
        let _ = writeln!(out, "{d}");
    }
    if diags.script_security_violation {
        let _ = writeln!(
            out,
            "SECURITY VIOLATION - scripts are configured but enable_script_security is not set"
        );
    }
    let _ = out.flush();
}

fn init_logging(cli: &Cli) {
    use tracing_subscriber::EnvFilter;
    let default = if cli.log_detail { "debug" } else { "info" };
    let filter =
        EnvFilter::try_from_env("KEEPALIVED_RS_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false);
    // Under systemd (stderr connected to the journal) the journal stamps each
    // line itself: a second timestamp would only take room.
    let _ = if std::env::var_os("JOURNAL_STREAM").is_some() {
        builder.without_time().try_init()
    } else {
        builder.try_init()
    };
}
