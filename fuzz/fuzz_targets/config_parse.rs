//! The whole configuration front end on arbitrary text: preprocessor
//! (comments, conditionals, definitions, generators; includes disabled),
//! statement tree, keyword tables, semantic checks, TOML serialisation.
//! Nothing may panic, hang or exhaust memory.
#![no_main]

use keepalived_rs::config::{load_str, to_toml, LoadOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut opts = LoadOptions::default();
    opts.preprocess.allow_includes = false;
    opts.preprocess.config_id = "lb1".into();
    opts.preprocess.random_seed = Some(1);
    opts.build.check_host = false;
    let loaded = load_str("fuzz.conf", text, &opts);
    let _ = loaded.diags.verdict();
    let _ = to_toml(&loaded.config);
});
