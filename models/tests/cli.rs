//! End-to-end tests of the `mechml` program: `demo` and `run` produce a complete report;
//! each kind of bad input exits with code 2, a message naming the problem (file, line and
//! column where known), and no report folder.

use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mechml"))
}

/// A fresh empty folder under the system's temporary directory.
fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mechml-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn check_report(dir: &Path) -> serde_json::Value {
    for f in [
        "results.json",
        "index.html",
        "temperature.svg",
        "sensitivity.svg",
    ] {
        assert!(dir.join(f).is_file(), "missing {f} in {}", dir.display());
    }
    let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
    for img in html.split("<img src=\"").skip(1) {
        let f = img.split('"').next().unwrap();
        let svg = std::fs::read_to_string(dir.join(f))
            .unwrap_or_else(|_| panic!("index.html shows {f}, which is missing"));
        assert!(
            svg.starts_with("<svg") && svg.contains("</svg>"),
            "{f} is not a complete SVG"
        );
    }
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    for m in r["models"].as_array().unwrap() {
        assert!(m["loglik"].as_f64().unwrap().is_finite());
        let ecs = m["ecs"]["value"].as_f64().unwrap();
        assert!(ecs > 0.5 && ecs < 10.0, "ECS {ecs}");
    }
    // No temporary folders left beside the report.
    let parent = dir.parent().unwrap();
    for e in std::fs::read_dir(parent).unwrap() {
        let n = e.unwrap().file_name().to_string_lossy().to_string();
        assert!(
            !n.contains(".tmp-") && !n.contains(".old-"),
            "left behind: {n}"
        );
    }
    r
}

#[test]
fn demo_writes_a_complete_report() {
    let d = scratch("demo");
    let out = d.join("report");
    let o = bin()
        .args(["demo", "--quiet", "--seed", "3", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("2-box") && stdout.contains("3-box") && stdout.contains("rcp85"),
        "{stdout}"
    );
    let r = check_report(&out);
    assert_eq!(r["models"].as_array().unwrap().len(), 2);
    assert_eq!(r["projections"].as_array().unwrap().len(), 4);
    for p in r["projections"].as_array().unwrap() {
        let w = p["warming"].as_array().unwrap();
        let (mid, lo, hi) = (
            w[0].as_f64().unwrap(),
            w[1].as_f64().unwrap(),
            w[2].as_f64().unwrap(),
        );
        assert!(lo < mid && mid < hi, "warming range {lo} {mid} {hi}");
    }
    assert!(r["synthetic"]["params"].as_array().unwrap().len() >= 4);
    // Running again replaces the previous report.
    let o = bin()
        .args(["demo", "--quiet", "--seed", "3", "--threads", "1", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success());
    let r2 = check_report(&out);
    // Same seed, different thread count: same numbers.
    assert_eq!(r["models"][0]["loglik"], r2["models"][0]["loglik"]);
    assert_eq!(
        r["projections"][3]["warming"],
        r2["projections"][3]["warming"]
    );
    let _ = std::fs::remove_dir_all(&d);
}

/// Writes a small temperature and forcing pair and a configuration using them.
fn small_case(d: &Path, temperature: &str, config_extra: &str) -> PathBuf {
    let mut forcing = String::from("year,erf\n");
    for y in 1850..=1960 {
        let f = 0.01 * (y - 1850) as f64 - if y % 40 == 13 { 2.0 } else { 0.0 };
        forcing.push_str(&format!("{y},{f}\n"));
    }
    std::fs::write(d.join("forcing.csv"), forcing).unwrap();
    std::fs::write(d.join("temp.csv"), temperature).unwrap();
    let cfg = format!(
        "title = \"small case\"\n\n[data]\ntemperature = \"temp.csv\"\nvalue_column = \"t\"\nforcing = \"forcing.csv\"\nforcing_value_column = \"erf\"\n\n[model]\nboxes = [2]\n\n[fit]\nstarts = 2\n\n[projection]\nensemble = 10\n\n[synthetic]\nreplicates = 2\n{config_extra}"
    );
    let p = d.join("config.toml");
    std::fs::write(&p, cfg).unwrap();
    p
}

fn good_temperature() -> String {
    // A response to the forcing above plus deterministic wiggles.
    let mut s = String::from("year,t\n");
    let mut x = 0.0;
    for y in 1850..=1960 {
        let f = 0.01 * (y - 1850) as f64 - if y % 40 == 13 { 2.0 } else { 0.0 };
        x += (f - 1.2 * x) / 8.0;
        let wiggle = 0.08 * ((y as f64) * 1.7).sin() + 0.05 * ((y as f64) * 0.37).cos();
        if y % 17 == 5 {
            s.push_str(&format!("{y},\n"));
        } else {
            s.push_str(&format!("{y},{:.4}\n", x + wiggle - 0.3));
        }
    }
    s
}

#[test]
fn run_on_a_config_writes_a_complete_report() {
    let d = scratch("run");
    let cfg = small_case(&d, &good_temperature(), "");
    let out = d.join("out");
    let o = bin()
        .arg("run")
        .arg(&cfg)
        .args(["--quiet", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let r = check_report(&out);
    assert_eq!(r["models"].as_array().unwrap().len(), 1);
    // No known variance and no sigma_obs: the observation noise was estimated.
    let params = r["models"][0]["params"].as_array().unwrap();
    let st = params.iter().find(|p| p["name"] == "sigma_T").unwrap();
    assert_eq!(st["free"], true);
    let _ = std::fs::remove_dir_all(&d);
}

/// Runs `mechml run` on a bad case and checks exit code 2, the message, and that no
/// report (or temporary folder) was left.
fn expect_input_error(
    name: &str,
    temperature: &str,
    config_override: Option<&str>,
    needles: &[&str],
) {
    let d = scratch(name);
    let cfg = small_case(&d, temperature, "");
    if let Some(text) = config_override {
        std::fs::write(&cfg, text).unwrap();
    }
    let out = d.join("out");
    let o = bin()
        .arg("run")
        .arg(&cfg)
        .args(["--quiet", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(
        o.status.code(),
        Some(2),
        "{name}: exit {:?}, stderr: {err}",
        o.status.code()
    );
    for n in needles {
        assert!(err.contains(n), "{name}: message lacks {n:?}: {err}");
    }
    assert!(!out.exists(), "{name}: a report folder was written");
    for e in std::fs::read_dir(&d).unwrap() {
        let n = e.unwrap().file_name().to_string_lossy().to_string();
        assert!(!n.starts_with('.'), "{name}: left behind {n}");
    }
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn malformed_toml_names_line_and_column() {
    expect_input_error(
        "toml",
        &good_temperature(),
        Some("title = \"x\"\n[data\ntemperature = 1\n"),
        &["config.toml:2:", "invalid configuration"],
    );
}

#[test]
fn unknown_key_is_rejected() {
    let text = "[data]\ntemperature = \"temp.csv\"\nvalue_column = \"t\"\nforcing = \"forcing.csv\"\nforcing_value_column = \"erf\"\ncolour = \"blue\"\n";
    expect_input_error(
        "unknown",
        &good_temperature(),
        Some(text),
        &["config.toml:6:1", "unknown field `colour`"],
    );
}

#[test]
fn missing_column_is_named() {
    expect_input_error(
        "column",
        "year,temp\n1850,0.1\n1851,0.2\n",
        None,
        &["temp.csv:1", "no column named 't'", "year, temp"],
    );
}

#[test]
fn text_in_a_numeric_column_names_line_and_column() {
    expect_input_error(
        "text",
        "year,t\n1850,0.1\n1851,warm\n1852,0.3\n",
        None,
        &["temp.csv:3:2", "'warm' is not a number"],
    );
}

#[test]
fn non_monotone_times_are_rejected() {
    expect_input_error(
        "monotone",
        "year,t\n1850,0.1\n1852,0.2\n1851,0.3\n",
        None,
        &["temp.csv:4:1", "times must increase"],
    );
}

#[test]
fn all_missing_series_is_rejected() {
    expect_input_error(
        "allnan",
        "year,t\n1850,\n1851,NA\n1852,\n",
        None,
        &["temp.csv", "has no values"],
    );
}

#[test]
fn bad_arguments_exit_with_code_2() {
    let o = bin().args(["demo", "--threads", "many"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let o = bin()
        .args(["run", "/nonexistent/config.toml", "--quiet"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot read the configuration"));
}
