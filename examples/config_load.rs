//! Load a configuration file repeatedly, in one process, and print how long
//! each load took (milliseconds): the first is cold, the others are what a
//! reload pays for reading and checking the file. Also times the IPVS
//! desired-state specification built from it.
//!
//! `cargo run --release --example config_load -- FILE [TIMES]`

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(file) = args.next() else {
        eprintln!("usage: config_load FILE [TIMES]");
        return std::process::ExitCode::FAILURE;
    };
    let times: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(5);
    let opts = keepalived_rs::config::LoadOptions::default();
    let mut loads = Vec::new();
    let mut specs = Vec::new();
    // The previous load stays alive while the next one is read, as the
    // running configuration does during a reload.
    let mut previous = None;
    for _ in 0..times {
        let t = std::time::Instant::now();
        let loaded = keepalived_rs::config::load_file(std::path::Path::new(&file), &opts);
        loads.push(t.elapsed().as_secs_f64() * 1e3);
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
    std::process::ExitCode::SUCCESS
}
