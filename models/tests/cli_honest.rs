//! The flagship never reports confident nonsense: one end-to-end test per case of issue
//! 11 ("Why"), each asserting the exit code and the message, on the shipped HadCRUT5 and
//! forcing files (short runs: one model, few starts, no synthetic case, few draws).
#![cfg(feature = "cli")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mechml"))
}

fn data(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(name)
        .display()
        .to_string()
        .replace('\\', "/")
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mechml-honest-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A configuration on HadCRUT5 (or `temperature`), with `intervals` (the 95 % columns,
/// i.e. known observation noise) or without, and `extra` appended.
fn config(d: &Path, temperature: Option<&str>, intervals: bool, extra: &str) -> PathBuf {
    let t = temperature.map_or_else(|| data("hadcrut5_gmst_annual.csv"), str::to_string);
    let cols = if intervals {
        "lower_column = \"lower_95_degC\"\nupper_column = \"upper_95_degC\"\n"
    } else {
        ""
    };
    let text = format!(
        "[data]\ntemperature = \"{t}\"\nvalue_column = \"gmst_anomaly_degC\"\n{cols}forcing = \"{}\"\nforcing_value_column = \"total_inclvolcanic_rf_wm2\"\nforcing_scenario_column = \"scenario\"\nhistorical_scenario = \"rcp45\"\nstart = 1850\n\n[projection]\nscenarios = [\"rcp85\"]\nend = 2100\nensemble = 20\n\n[synthetic]\nenabled = false\n\n{extra}\n",
        data("rcp_radiative_forcing.csv")
    );
    let p = d.join("config.toml");
    std::fs::write(&p, text).unwrap();
    p
}

fn run(cfg: &Path, out: &Path, extra_args: &[&str]) -> Output {
    bin()
        .arg("run")
        .arg(cfg)
        .args(["--quiet", "--out"])
        .arg(out)
        .args(extra_args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).to_string(),
        String::from_utf8_lossy(&o.stderr).to_string(),
    )
}

/// No interval of the summary is a zero-width interval printed as one.
fn assert_no_zero_width(stdout: &str) {
    for line in stdout.lines() {
        if let (Some(a), Some(b)) = (line.find('['), line.find(']'))
            && a < b
        {
            let inner: Vec<&str> = line[a + 1..b].split(',').map(str::trim).collect();
            if inner.len() == 2 {
                assert_ne!(inner[0], inner[1], "zero-width interval printed: {line}");
            }
        }
    }
}

/// Runs a quick fit (`--draws 0`) of `model` in a scratch folder `name`; returns the
/// folder, the report folder, the output and its (stdout, stderr).
fn quick_fit(
    name: &str,
    intervals: bool,
    model: &str,
) -> (PathBuf, PathBuf, Output, String, String) {
    let d = scratch(name);
    let cfg = config(&d, None, intervals, model);
    let out = d.join("out");
    let o = run(&cfg, &out, &["--draws", "0"]);
    let (stdout, stderr) = text(&o);
    (d, out, o, stdout, stderr)
}

/// The default configuration in `d` with `from` replaced by `to`.
fn config_with(d: &Path, from: &str, to: &str) -> PathBuf {
    let cfg = config(d, None, true, "");
    let text = std::fs::read_to_string(&cfg).unwrap().replace(from, to);
    std::fs::write(&cfg, text).unwrap();
    cfg
}

#[test]
fn estimated_noise_at_its_bound_is_named_and_never_printed_as_a_zero_width_interval() {
    let (d, out, o, stdout, stderr) = quick_fit(
        "noint",
        false,
        "[model]\nboxes = [2]\n\n[fit]\nstarts = 2\n",
    );
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    for needle in [
        "warning [singular_information] 2-box",
        "warning [estimate_at_bound] 2-box: sigma_T",
        "warning [no_valid_interval]",
        "(no valid interval)",
    ] {
        assert!(
            stdout.contains(needle),
            "summary lacks {needle:?}:\n{stdout}"
        );
    }
    assert_no_zero_width(&stdout);
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    let codes: Vec<&str> = r["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"singular_information"), "{codes:?}");
    assert!(codes.contains(&"estimate_at_bound"), "{codes:?}");
    assert_eq!(r["projections"][0]["interval_valid"], false);
    // sigma_T has no Wald interval; its profile interval is open towards 0.
    let st = r["models"][0]["params"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "sigma_T")
        .unwrap()
        .clone();
    assert!(st["ci"].is_null());
    assert_eq!(st["interval"]["method"], "profile");
    assert!(st["interval"]["lo"].is_null(), "{st}");
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains("singular_information") && html.contains("estimate_at_bound"));
    assert!(html.contains("no valid interval"));
    // With a (short) posterior the projection gets a real interval from its draws.
    let out2 = d.join("out2");
    let o = run(&d.join("config.toml"), &out2, &["--draws", "60"]);
    let (stdout, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains("(posterior draws)"), "{stdout}");
    assert!(stdout.contains("2-box posterior (NUTS"), "{stdout}");
    assert_no_zero_width(&stdout);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_three_year_record_is_refused_with_the_minimum_it_needs() {
    let d = scratch("three");
    let rec: String = std::fs::read_to_string(data("hadcrut5_gmst_annual.csv"))
        .unwrap()
        .lines()
        .take(4)
        .map(|l| format!("{l}\n"))
        .collect();
    let t = d.join("t3.csv");
    std::fs::write(&t, rec).unwrap();
    let cfg = config(
        &d,
        Some(&t.display().to_string().replace('\\', "/")),
        true,
        "",
    );
    let out = d.join("out");
    let o = run(&cfg, &out, &[]);
    let (_, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("too few observations: 3 observed years"),
        "{stderr}"
    );
    assert!(stderr.contains("needs at least 30"), "{stderr}");
    assert!(stderr.contains("t3.csv:1:2:"), "{stderr}");
    assert!(!out.exists());
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn three_box_ecs_comes_from_the_profile_likelihood_not_a_wald_interval() {
    let (d, out, o, stdout, stderr) = quick_fit(
        "three-box",
        true,
        "[model]\nboxes = [3]\n\n[fit]\nstarts = 2\n",
    );
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    let m = &r["models"][0];
    assert_eq!(m["ecs_interval"]["method"], "profile");
    // The profile interval of ECS is that of κ₁ mapped through F₂ₓ/κ₁ (invariance).
    let f2x = r["config"]["model"]["f2x"].as_f64().unwrap();
    let k1 = m["params"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "kappa1")
        .unwrap();
    match k1["profile"]["lo"].as_f64() {
        Some(lo) => {
            let hi = m["ecs_interval"]["hi"].as_f64().unwrap();
            assert!((hi - f2x / lo).abs() < 1e-9 * hi, "{hi} vs {}", f2x / lo);
        }
        None => assert!(m["ecs_interval"]["hi"].is_null()),
    }
    // The Wald interval is far from the profile's or the profile is open: named.
    assert!(
        stdout.contains("warning [wald_unreliable] 3-box")
            || stdout.contains("warning [open_interval] 3-box"),
        "{stdout}"
    );
    assert!(stdout.contains(" prof"), "{stdout}");
    assert_no_zero_width(&stdout);
    let _ = std::fs::remove_dir_all(&d);
}

fn expect_exit_2(name: &str, extra: &str, args: &[&str], needles: &[&str]) {
    let d = scratch(name);
    let cfg = config(&d, None, true, extra);
    let out = d.join("out");
    let o = run(&cfg, &out, args);
    let (_, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{name}: {stderr}");
    for n in needles {
        assert!(stderr.contains(n), "{name}: lacks {n:?}: {stderr}");
    }
    assert!(!out.exists());
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn unbounded_work_is_refused_before_it_starts() {
    expect_exit_2(
        "starts",
        "[fit]\nstarts = 100000000\n",
        &[],
        &["config.toml:", "fit.starts", "must be at most 1000"],
    );
    let d = scratch("ensemble-big");
    let cfg = config_with(&d, "ensemble = 20", "ensemble = 1000000000");
    let o = run(&cfg, &d.join("out"), &[]);
    let (_, stderr) = self::text(&o);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("projection.ensemble") || stderr.contains("ensemble"),
        "{stderr}"
    );
    assert!(stderr.contains("must be at most 100000"), "{stderr}");
    let _ = std::fs::remove_dir_all(&d);
    let d = scratch("replicates-big");
    let cfg = config_with(&d, "enabled = false", "replicates = 5000000");
    let o = run(&cfg, &d.join("out"), &[]);
    let (_, stderr) = self::text(&o);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("must be at most 1000"), "{stderr}");
    let _ = std::fs::remove_dir_all(&d);
    expect_exit_2(
        "chains",
        "[bayes]\nchains = 100000\n",
        &[],
        &["bayes.chains", "between 1 and 64"],
    );
    expect_exit_2(
        "draws",
        "",
        &["--draws", "1000000000"],
        &["--draws must be at most 100000"],
    );
}

#[test]
fn absurd_data_are_refused_with_file_line_and_column() {
    let d = scratch("absurd");
    let mut rec = std::fs::read_to_string(data("hadcrut5_gmst_annual.csv")).unwrap();
    // Line 4 (1852): the anomaly becomes 1e308.
    let lines: Vec<String> = rec.lines().map(str::to_string).collect();
    let mut f: Vec<String> = lines[3].split(',').map(str::to_string).collect();
    f[1] = "1e308".into();
    let mut lines = lines.clone();
    lines[3] = f.join(",");
    rec = lines.join("\n") + "\n";
    let t = d.join("t.csv");
    std::fs::write(&t, rec).unwrap();
    let cfg = config(
        &d,
        Some(&t.display().to_string().replace('\\', "/")),
        true,
        "",
    );
    let out = d.join("out");
    let o = run(&cfg, &out, &[]);
    let (_, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("t.csv:4:2:"), "{stderr}");
    assert!(
        stderr.contains("1e308 is not a plausible temperature anomaly"),
        "{stderr}"
    );
    assert!(!out.exists());
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn unknown_prior_names_the_setting() {
    expect_exit_2(
        "prior",
        "[bayes]\npriors.lambda = { family = \"normal\", mu = 1.0, sigma = 0.5 }\n",
        &[],
        &["config.toml:", "'lambda' is not a parameter"],
    );
    expect_exit_2(
        "prior-bad",
        "[bayes]\npriors.kappa1 = { family = \"log_normal\", mu = 0.0, sigma = -1.0 }\n",
        &[],
        &["config.toml:", "kappa1"],
    );
}

mod arbitrary_bytes {
    //! The fuzz target `fuzz/fuzz_targets/cli_input.rs` as a property test: arbitrary
    //! bytes, split at the first two zero bytes into a configuration, a temperature CSV
    //! and a forcing CSV, never make the readers or the resolution panic; every error is
    //! an input error (exit code 2).
    use mechml_models::cli::config::{ConfigSource, parse_config, resolve};
    use mechml_models::cli::{csv, demo};
    use proptest::prelude::*;

    fn check(data: &[u8]) {
        let mut parts = data.splitn(3, |b| *b == 0);
        let cfg = String::from_utf8_lossy(parts.next().unwrap_or_default()).to_string();
        let temp = String::from_utf8_lossy(parts.next().unwrap_or_default()).to_string();
        let forcing = String::from_utf8_lossy(parts.next().unwrap_or_default()).to_string();
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
            &ConfigSource::file("c.toml", cfg.clone()),
            ("t.csv", &temp),
            ("f.csv", &forcing),
        ) {
            assert_eq!(e.exit_code(), 2, "{e}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn never_panic(data in proptest::collection::vec(any::<u8>(), 0..3000)) {
            check(&data);
        }
    }

    /// Bytes that reach the data checks: a valid pair with one field replaced.
    #[test]
    fn near_valid_inputs_reach_the_data_checks() {
        let mut t = String::from("year,gmst_anomaly_degC,lower_95_degC,upper_95_degC\n");
        for y in 1850..1900 {
            t.push_str(&format!("{y},0.1,0.0,0.2\n"));
        }
        for bad in ["1e308", "-1e300", "inf", "NaN", "", "1e5"] {
            let tt = t.replacen("1860,0.1", &format!("1860,{bad}"), 1);
            let mut data = Vec::new();
            data.push(0u8);
            data.extend_from_slice(tt.as_bytes());
            data.push(0u8);
            data.extend_from_slice(demo::RCP_FORCING_CSV.as_bytes());
            check(&data);
        }
    }
}
