//! Arbitrary bytes into the `mechml` program's input layer: the configuration reader
//! (TOML), the CSV reader, and the resolution of a configuration against two data files.
//! Every input gives `Ok` or an input error (exit code 2), never a panic or a hang.
//!
//! The bytes are split at the first two `0x00` bytes into (configuration, temperature
//! CSV, forcing CSV); a configuration that does not parse is replaced by the demo's, so
//! the data checks are reached too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mechml_models::cli::config::{ConfigSource, parse_config, resolve};
use mechml_models::cli::{csv, demo};

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |b| *b == 0);
    let cfg = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let temp = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let forcing = String::from_utf8_lossy(parts.next().unwrap_or_default());
    for text in [&temp, &forcing] {
        if let Ok(t) = csv::parse("x.csv", text) {
            for c in 0..t.header.len() {
                let _ = t.numeric(c, true);
                let _ = t.numeric(c, false);
            }
        }
    }
    let config = parse_config("c.toml", &cfg).unwrap_or_else(|_| demo::config());
    if let Err(e) = resolve(
        config,
        &ConfigSource::file("c.toml", cfg.to_string()),
        ("t.csv", &temp),
        ("f.csv", &forcing),
    ) {
        assert_eq!(e.exit_code(), 2, "{e}");
    }
});
