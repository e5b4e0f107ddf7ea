//! End-to-end tests of `mechml emulate`: a small study writes a complete report whose
//! results.json holds the NROY fraction per wave, posterior summaries and Sobol' indices;
//! with `--runs` a second call resumes from the run logs without new simulator runs; bad
//! input exits with code 2, names the file (and the line and column of the setting), and
//! writes no report.

use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mechml"))
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mechml-emulate-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn shipped() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/emulate_ebm.toml"
    ))
    .unwrap()
}

/// The shipped study scaled down for the test budget (same structure and data).
fn small() -> String {
    shipped()
        .replace("runs = 100\n", "runs = 30\n")
        .replace("maximin_iterations = 20000", "maximin_iterations = 2000")
        .replace("restarts = 3", "restarts = 1")
        .replace("waves = 3", "waves = 2")
        .replace("runs_per_wave = 50", "runs_per_wave = 15")
        .replace("candidates = 200000", "candidates = 20000")
        .replace("chains = 4", "chains = 2")
        .replace("warmup = 500", "warmup = 150")
        .replace("draws = 500", "draws = 150")
        .replace("base_samples = 8192", "base_samples = 512")
        .replace("bootstrap = 200", "bootstrap = 20")
        .replace(
            "[compare]\nkalman = true\nchains = 4\nwarmup = 400\ndraws = 400\n",
            "[compare]\nkalman = true\nchains = 2\nwarmup = 150\ndraws = 150\n",
        )
}

fn write(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("study.toml");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn a_small_study_writes_a_complete_report_and_resumes() {
    let dir = scratch("ok");
    let cfg = write(&dir, &small());
    let out = dir.join("report");
    let runs = dir.join("runs");
    let o = bin()
        .args([
            "emulate",
            cfg.to_str().unwrap(),
            "--quiet",
            "--threads",
            "2",
        ])
        .args([
            "--out",
            out.to_str().unwrap(),
            "--runs",
            runs.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.trim_end().ends_with("</html>"));
    for img in html.split("<img src=\"").skip(1) {
        let f = img.split('"').next().unwrap();
        let svg = std::fs::read_to_string(out.join(f)).unwrap();
        assert!(svg.trim_end().ends_with("</svg>"), "{f} is truncated");
    }
    for f in [
        "nroy_pairs.svg",
        "posterior.svg",
        "loo.svg",
        "sensitivity.svg",
        "comparison.svg",
    ] {
        assert!(html.contains(f), "index.html does not show {f}");
    }
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    let frac: Vec<f64> = r["nroy_fraction"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(frac.len(), 2);
    assert!(frac.iter().all(|f| *f > 0.0 && *f <= 1.0), "{frac:?}");
    assert!(frac[1] <= frac[0] * 1.1, "{frac:?}");
    let params = r["study"]["calibration"]["parameters"].as_array().unwrap();
    assert_eq!(params.len(), 7, "5 inputs, σ_δ and ℓ_δ");
    // Every posterior summary lies inside the parameter's range and is ordered.
    let ranges = r["config"]["parameters"].as_array().unwrap();
    for (p, rg) in params.iter().zip(ranges) {
        let (q5, q50, q95) = (
            p["q5"].as_f64().unwrap(),
            p["q50"].as_f64().unwrap(),
            p["q95"].as_f64().unwrap(),
        );
        let (lo, hi) = (rg["lo"].as_f64().unwrap(), rg["hi"].as_f64().unwrap());
        assert!(lo <= q5 && q5 <= q50 && q50 <= q95 && q95 <= hi, "{p}");
    }
    // The feedback parameter λ is constrained by the record: ECS = 3.71/λ is finite and
    // inside the range the box allows.
    let ecs = r["study"]["calibration"]["ecs_quantiles"]
        .as_array()
        .unwrap();
    for e in ecs {
        let e = e.as_f64().unwrap();
        assert!((3.71 / 2.5..=3.71 / 0.5).contains(&e), "ECS {e}");
    }
    // The direct Kalman-filter posterior sits beside the calibrated one: the shared
    // parameters and ECS under both, inside the box and ordered; the feedback λ, which
    // the long-term warming pins down under either likelihood, has medians within two
    // combined standard deviations (|Δ median| / √(sd²₁ + sd²₂) < 2; the heat capacities
    // may legitimately differ: the Kalman filter also learns them from the record's
    // autocorrelation).
    let cmp = &r["study"]["comparison"];
    let rows = cmp["rows"].as_array().expect("a comparison");
    let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["C1", "C2", "lambda", "kappa2", "epsilon", "ECS"]);
    for (row, rg) in rows.iter().zip(ranges) {
        for side in ["emulator", "kalman"] {
            let q = |k: &str| row[side][k].as_f64().unwrap();
            let (lo, hi) = (rg["lo"].as_f64().unwrap(), rg["hi"].as_f64().unwrap());
            assert!(
                lo <= q("q5") && q("q5") <= q("q50") && q("q50") <= q("q95") && q("q95") <= hi,
                "{row}"
            );
        }
    }
    let lam = &rows[2];
    let spread = (lam["emulator"]["sd"].as_f64().unwrap().powi(2)
        + lam["kalman"]["sd"].as_f64().unwrap().powi(2))
    .sqrt();
    let gap =
        (lam["emulator"]["q50"].as_f64().unwrap() - lam["kalman"]["q50"].as_f64().unwrap()).abs();
    assert!(
        gap < 2.0 * spread,
        "λ medians {gap} apart, combined sd {spread}"
    );
    assert_eq!(
        cmp["parameters"].as_array().unwrap().len(),
        7,
        "5 shared, σ_ξ, T₀"
    );
    let sens = &r["study"]["sensitivity"];
    for key in ["first", "total", "gp_first", "gp_total"] {
        // The GP route may decline (an ill-conditioned emulator), saying why.
        if sens[key].is_null() && key.starts_with("gp") {
            assert!(sens["gp_note"].is_string());
            continue;
        }
        let v = sens[key].as_array().unwrap();
        assert_eq!(v.len(), 5);
        assert!(v.iter().all(|x| x.as_f64().unwrap().is_finite()));
    }
    // Resume: the run logs hold every run; a second call with them runs nothing new
    // and reproduces the NROY fractions.
    let w1 = std::fs::read_to_string(runs.join("wave1.jsonl")).unwrap();
    assert_eq!(w1.lines().count(), 1 + 30);
    let out2 = dir.join("report2");
    let o = bin()
        .args([
            "emulate",
            cfg.to_str().unwrap(),
            "--quiet",
            "--threads",
            "2",
        ])
        .args([
            "--out",
            out2.to_str().unwrap(),
            "--runs",
            runs.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        std::fs::read_to_string(runs.join("wave1.jsonl")).unwrap(),
        w1,
        "the resumed study appended runs"
    );
    let r2: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out2.join("results.json")).unwrap()).unwrap();
    assert_eq!(r2["nroy_fraction"], r["nroy_fraction"]);
    let _ = std::fs::remove_dir_all(&dir);
}

fn expect_input_error(name: &str, text: &str, want: &[&str]) {
    let dir = scratch(name);
    let cfg = write(&dir, text);
    let out = dir.join("report");
    let o = bin()
        .args(["emulate", cfg.to_str().unwrap(), "--quiet"])
        .args(["--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{name}: {err}");
    for w in want {
        assert!(err.contains(w), "{name}: `{w}` not in: {err}");
    }
    assert!(!out.exists(), "{name}: a report was written");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_input_is_a_typed_error_with_exit_code_2() {
    let s = shipped();
    // A TOML error, located.
    expect_input_error(
        "syntax",
        &s.replace("waves = 3", "waves = = 3"),
        &["study.toml:", "invalid emulation study"],
    );
    // An unknown key, located.
    expect_input_error(
        "unknown",
        &s.replace("cutoff = 3.0", "cutof = 3.0"),
        &["study.toml:", "cutof"],
    );
    // A value out of range, located at its line.
    let line = s.lines().position(|l| l.starts_with("waves = ")).unwrap() + 1;
    expect_input_error(
        "waves",
        &s.replace("waves = 3", "waves = 0"),
        &[&format!("study.toml:{line}:"), "history.waves"],
    );
    // A bad prior.
    expect_input_error(
        "prior",
        &s.replace("sigma = 0.2 }", "sigma = -0.2 }"),
        &["study.toml", "discrepancy"],
    );
    // A missing data file.
    expect_input_error(
        "file",
        &format!("temperature_file = \"/nonexistent/t.csv\"\n{s}"),
        &["study.toml:1:", "no such file"],
    );
    // A missing configuration.
    let o = bin()
        .args(["emulate", "/nonexistent/study.toml", "--quiet"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot read"));
}
