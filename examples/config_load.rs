//! Load a configuration file repeatedly, in one process, and print how long
//! each load took (milliseconds): the first is cold, the others are what a
//! reload pays for reading and checking the file. Also times the IPVS
//! desired-state specification built from it.
//!
//! Also prints the minor page faults of each load, and what the last load
//! allocated: kept (the loaded configuration) and at its peak.
//!
//! `cargo run --release --example config_load -- FILE [TIMES] [--threads]`
//! (`--threads`: each load on a new thread, as the daemon's reload does)

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// mimalloc (as in the daemon), counting what is held: a reload's new
/// memory is what its time goes to in a guest without hardware paging
/// (every fresh page is faulted in and zeroed).
struct Counting;
static HELD: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

#[allow(unsafe_code)]
// SAFETY: every call is forwarded unchanged to mimalloc; the counters are
// only statistics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let held = HELD.fetch_add(l.size(), Relaxed) + l.size();
        PEAK.fetch_max(held, Relaxed);
        ALLOCS.fetch_add(1, Relaxed);
        // SAFETY: forwarded with the caller's layout.
        unsafe { mimalloc::MiMalloc.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        HELD.fetch_sub(l.size(), Relaxed);
        // SAFETY: `p` came from `alloc` with this layout.
        unsafe { mimalloc::MiMalloc.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let held = if new >= l.size() {
            HELD.fetch_add(new - l.size(), Relaxed) + (new - l.size())
        } else {
            HELD.fetch_sub(l.size() - new, Relaxed) - (l.size() - new)
        };
        PEAK.fetch_max(held, Relaxed);
        ALLOCS.fetch_add(1, Relaxed);
        // SAFETY: forwarded unchanged.
        unsafe { mimalloc::MiMalloc.realloc(p, l, new) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn main() -> std::process::ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(file) = args.next() else {
        eprintln!("usage: config_load FILE [TIMES]");
        return std::process::ExitCode::FAILURE;
    };
    let times: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(5);
    let threads = args.next().is_some_and(|a| a == "--threads");
    let opts = keepalived_rs::config::LoadOptions::default();
    let mut loads = Vec::new();
    let mut specs = Vec::new();
    // The previous load stays alive while the next one is read, as the
    // running configuration does during a reload.
    let mut previous = None;
    let mut memory = Vec::new();
    let mut fault_counts = Vec::new();
    for _ in 0..times {
        let before = HELD.load(Relaxed);
        PEAK.store(before, Relaxed);
        let allocs = ALLOCS.load(Relaxed);
        let faults = minor_faults();
        let t = std::time::Instant::now();
        let loaded = if threads {
            // As the daemon's reload does: on a new thread each time.
            let (f, o) = (file.clone(), opts.clone());
            match std::thread::spawn(move || {
                keepalived_rs::config::load_file(std::path::Path::new(&f), &o)
            })
            .join()
            {
                Ok(l) => l,
                Err(_) => return std::process::ExitCode::FAILURE,
            }
        } else {
            keepalived_rs::config::load_file(std::path::Path::new(&file), &opts)
        };
        loads.push(t.elapsed().as_secs_f64() * 1e3);
        fault_counts.push(minor_faults() - faults);
        memory.push((
            HELD.load(Relaxed) - before,
            PEAK.load(Relaxed) - before,
            ALLOCS.load(Relaxed) - allocs,
        ));
        let t = std::time::Instant::now();
        let spec = keepalived_rs::ipvs::desired::build(&loaded.config);
        specs.push(t.elapsed().as_secs_f64() * 1e3);
        previous = Some((loaded, spec));
    }
    drop(previous);
    let show = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x:.1}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    println!("load ms: {}", show(&loads));
    println!("spec ms: {}", show(&specs));
    println!(
        "minor faults: {}",
        fault_counts
            .iter()
            .map(|f| f.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    );
    if let Some((kept, peak, allocs)) = memory.last() {
        println!(
            "load memory: {:.1} MiB kept, {:.1} MiB peak, {allocs} allocations",
            *kept as f64 / 1048576.0,
            *peak as f64 / 1048576.0
        );
    }
    std::process::ExitCode::SUCCESS
}

fn minor_faults() -> i64 {
    let mut u = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    #[allow(unsafe_code)]
    // SAFETY: getrusage writes a complete rusage into `u`.
    let u = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, u.as_mut_ptr());
        u.assume_init()
    };
    u.ru_minflt
}
