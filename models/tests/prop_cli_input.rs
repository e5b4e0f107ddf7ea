//! Arbitrary configuration and CSV text never makes the program's input layer panic: it
//! returns a configuration or an input error (exit code 2).

use mechml_models::cli::config::{ConfigSource, parse_config, resolve};
use mechml_models::cli::csv;
use mechml_models::cli::demo;
use proptest::prelude::*;

/// Strings built from CSV-ish and TOML-ish fragments (more interesting than pure noise).
fn fragments() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("year".to_string()),
        Just(",".to_string()),
        Just("\n".to_string()),
        Just("\"".to_string()),
        Just("NaN".to_string()),
        Just("1850".to_string()),
        Just("-0.3".to_string()),
        Just("abc".to_string()),
        Just("[data]".to_string()),
        Just(" = ".to_string()),
        Just("temperature".to_string()),
        "[ -~]{0,6}",
    ];
    proptest::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn csv_parser_never_panics(text in fragments()) {
        if let Ok(t) = csv::parse("x.csv", &text) {
            for c in 0..t.header.len() {
                let _ = t.numeric(c, true);
                let _ = t.numeric(c, false);
            }
        }
    }

    #[test]
    fn config_parser_never_panics(text in fragments()) {
        let _ = parse_config("c.toml", &text);
    }

    #[test]
    fn resolution_never_panics(temp in fragments(), forcing in fragments()) {
        let cfg = demo::config();
        if let Err(e) = resolve(cfg, &ConfigSource::embedded("demo"), ("t.csv", &temp), ("f.csv", &forcing)) {
            prop_assert_eq!(e.exit_code(), 2);
        }
    }
}
