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

/// Checks a report folder; `expect_se`: every model must have standard errors.
fn check_report(dir: &Path, expect_se: bool) -> serde_json::Value {
    for f in [
        "results.json",
        "index.html",
        "temperature.svg",
        "sensitivity.svg",
    ] {
        assert!(dir.join(f).is_file(), "missing {f} in {}", dir.display());
    }
    let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
    assert!(
        html.trim_end().ends_with("</html>"),
        "index.html is truncated"
    );
    let shown: Vec<String> = html
        .split("<img src=\"")
        .skip(1)
        .map(|img| img.split('"').next().unwrap().to_string())
        .collect();
    for f in &shown {
        assert!(
            dir.join(f).is_file(),
            "index.html shows {f}, which is missing"
        );
    }
    // Every SVG in the folder is complete and shown.
    let mut n_svg = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().to_string();
        if name.ends_with(".svg") {
            n_svg += 1;
            let svg = std::fs::read_to_string(dir.join(&name)).unwrap();
            assert!(
                svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
                "{name} is not a complete SVG"
            );
            assert!(shown.contains(&name), "{name} is not shown in index.html");
        }
    }
    assert!(n_svg >= 3, "only {n_svg} plots");
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    for m in r["models"].as_array().unwrap() {
        assert!(m["loglik"].as_f64().unwrap().is_finite());
        let ecs = m["ecs"]["value"].as_f64().unwrap();
        assert!(ecs > 0.5 && ecs < 10.0, "ECS {ecs}");
        // Standard errors: when the observed information is positive definite (its
        // eigenvalue range is in the solver statistics), present, positive and finite for
        // every free parameter and consistent with the interval (log scale for positive
        // parameters: [θ e^{−1.96 s}, θ e^{1.96 s}] with se = θ s; plain for T0); absent
        // for fixed parameters, and for all when the information is singular.
        let eig = &m["solver"]["information_eigen_range"];
        let pd = eig.is_array() && {
            let (lo, hi) = (eig[0].as_f64().unwrap(), eig[1].as_f64().unwrap());
            lo > 1e-12 * hi.abs()
        };
        let name_m = m["name"].as_str().unwrap();
        assert!(
            pd || !expect_se,
            "{name_m}: no positive-definite information"
        );
        let z95 = 1.959_963_984_540_054;
        let check_interval = |what: &str, est: f64, se: f64, ci: &serde_json::Value, log: bool| {
            assert!(se > 0.0 && se.is_finite(), "{name_m} {what}: se {se}");
            let (lo, hi) = (ci[0].as_f64().unwrap(), ci[1].as_f64().unwrap());
            assert!(
                lo < est && est < hi,
                "{name_m} {what}: {est} outside [{lo}, {hi}]"
            );
            let from_ci = if log {
                est * (hi / lo).ln() / (2.0 * z95)
            } else {
                (hi - lo) / (2.0 * z95)
            };
            assert!(
                (from_ci - se).abs() < 1e-6 * se,
                "{name_m} {what}: se {se} vs interval [{lo}, {hi}]"
            );
        };
        for p in m["params"].as_array().unwrap() {
            let name = p["name"].as_str().unwrap();
            let est = p["estimate"].as_f64().unwrap();
            if p["free"] == true && pd {
                let se = p["se"]
                    .as_f64()
                    .unwrap_or_else(|| panic!("{name_m} {name}: no se"));
                check_interval(name, est, se, &p["ci"], name != "T0");
            } else {
                assert!(p["se"].is_null(), "{name_m} {name}: unexpected se");
            }
        }
        for d in ["ecs", "tcr"] {
            if pd {
                let se = m[d]["se"].as_f64().unwrap_or_else(|| panic!("{d}: no se"));
                check_interval(d, m[d]["value"].as_f64().unwrap(), se, &m[d]["ci"], true);
            } else {
                assert!(m[d]["se"].is_null());
            }
        }
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
        .args(["demo", "--quiet", "--seed", "3", "--draws", "80", "--out"])
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
    let r = check_report(&out, true);
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
        .args([
            "demo",
            "--quiet",
            "--seed",
            "3",
            "--draws",
            "80",
            "--threads",
            "1",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success());
    let r2 = check_report(&out, true);
    // Same seed, different thread count: same numbers.
    assert_eq!(r["models"][0]["loglik"], r2["models"][0]["loglik"]);
    assert_eq!(
        r["projections"][3]["warming"],
        r2["projections"][3]["warming"]
    );
    let _ = std::fs::remove_dir_all(&d);
}

fn good_forcing() -> String {
    let mut forcing = String::from("year,erf\n");
    for y in 1850..=1960 {
        let f = 0.01 * (y - 1850) as f64 - if y % 40 == 13 { 2.0 } else { 0.0 };
        forcing.push_str(&format!("{y},{f}\n"));
    }
    forcing
}

/// Writes a small temperature and forcing pair and a configuration using them.
fn small_case(d: &Path, temperature: &str, config_extra: &str) -> PathBuf {
    std::fs::write(d.join("forcing.csv"), good_forcing()).unwrap();
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
    let r = check_report(&out, false);
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
    expect_input_error_with(name, temperature, None, config_override, needles);
}

/// As [`expect_input_error`], with another forcing file.
fn expect_input_error_with(
    name: &str,
    temperature: &str,
    forcing: Option<&str>,
    config_override: Option<&str>,
    needles: &[&str],
) {
    let d = scratch(name);
    let cfg = small_case(&d, temperature, "");
    if let Some(text) = config_override {
        std::fs::write(&cfg, text).unwrap();
    }
    if let Some(text) = forcing {
        std::fs::write(d.join("forcing.csv"), text).unwrap();
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
        &[
            "config.toml:2:6:",
            "invalid configuration: unclosed table, expected `]`",
        ],
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
        &["temp.csv:1:2", "column 't' has no values"],
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

/// The data section of the small case; settings tests append to it (line 6 onwards).
const DATA: &str = "[data]\ntemperature = \"temp.csv\"\nvalue_column = \"t\"\nforcing = \"forcing.csv\"\nforcing_value_column = \"erf\"\n";

#[test]
fn unsupported_number_of_boxes_names_the_setting() {
    let text = format!("{DATA}\n[model]\nboxes = [2, 4]\n");
    expect_input_error(
        "boxes",
        &good_temperature(),
        Some(&text),
        &[
            "config.toml:8:13",
            "model.boxes[1]: 4 boxes are not supported",
        ],
    );
}

#[test]
fn bad_prior_names_the_setting() {
    let text = format!("{DATA}\n[model]\nprior = \"warm\"\n");
    expect_input_error(
        "prior",
        &good_temperature(),
        Some(&text),
        &[
            "config.toml:8:9",
            "model.prior: must be \"stationary\" or \"at_rest\"",
        ],
    );
}

#[test]
fn non_positive_f2x_names_the_setting() {
    let text = format!("{DATA}\n[model]\nf2x = -1.0\n");
    expect_input_error(
        "f2x",
        &good_temperature(),
        Some(&text),
        &[
            "config.toml:8:7",
            "model.f2x: the forcing of doubled CO₂ must be positive",
        ],
    );
}

#[test]
fn unknown_scenario_names_the_setting() {
    let text = format!("{DATA}\n[projection]\nscenarios = [\"rcp99\"]\n");
    expect_input_error(
        "scenario",
        &good_temperature(),
        Some(&text),
        &[
            "config.toml:8:14",
            "projection.scenarios[0]: scenario 'rcp99' is not in",
            "(scenarios: historical)",
        ],
    );
}

#[test]
fn forcing_that_does_not_cover_the_run_names_the_setting() {
    // The run starts before the forcing does.
    let text = format!("{DATA}start = 1800\n");
    expect_input_error(
        "coverage_start",
        &good_temperature(),
        Some(&text),
        &[
            "config.toml:6:9",
            "data.start: the model run starts in 1800",
            "starts in 1850",
        ],
    );
    // Observations after the forcing ends: the forcing setting is named.
    let mut temp = good_temperature();
    temp.push_str("1961,0.5\n1962,0.6\n");
    expect_input_error(
        "coverage_end",
        &temp,
        None,
        &[
            "config.toml:6:11",
            "data.forcing:",
            "ends in 1960, before the last observation (1962)",
        ],
    );
}

#[test]
fn forcing_csv_with_a_missing_column_is_named() {
    let forcing = good_forcing().replacen("year,erf", "year,rf", 1);
    expect_input_error_with(
        "forcing_column",
        &good_temperature(),
        Some(&forcing),
        None,
        &["forcing.csv:1", "no column named 'erf'", "year, rf"],
    );
}

#[test]
fn forcing_csv_with_text_names_line_and_column() {
    expect_input_error_with(
        "forcing_text",
        &good_temperature(),
        Some("year,erf\n1850,0.1\n1851,high\n1852,0.2\n"),
        None,
        &["forcing.csv:3:2", "column 'erf': 'high' is not a number"],
    );
}

#[test]
fn forcing_csv_with_non_monotone_years_names_line_and_column() {
    expect_input_error_with(
        "forcing_monotone",
        &good_temperature(),
        Some("year,erf\n1850,0.1\n1852,0.2\n1851,0.3\n"),
        None,
        &["forcing.csv:4:1", "times must increase: 1851 follows 1852"],
    );
}

#[test]
fn out_folder_that_is_not_a_report_is_refused_before_any_work() {
    let d = scratch("out");
    let cfg = small_case(&d, &good_temperature(), "");
    let out = d.join("mine");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("notes.txt"), "keep me").unwrap();
    let o = bin()
        .arg("run")
        .arg(&cfg)
        .args(["--quiet", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(2), "stderr: {err}");
    assert!(err.contains("is not a mechml report folder"), "{err}");
    // Nothing ran (no summary) and nothing was written or left behind.
    assert!(
        o.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(names, ["notes.txt"]);
    assert_eq!(
        std::fs::read_to_string(out.join("notes.txt")).unwrap(),
        "keep me"
    );
    names = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    assert_eq!(names, ["config.toml", "forcing.csv", "mine", "temp.csv"]);
    let _ = std::fs::remove_dir_all(&d);
}
