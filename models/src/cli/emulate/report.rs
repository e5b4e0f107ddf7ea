//! The `mechml emulate` report: `results.json`, the pictures and `index.html`.

use std::fmt::Write as _;
use std::path::Path;

use super::EmulateResults;
use super::plots;
use crate::cli::error::{CliError, CliResult};

fn io(what: &'static str) -> impl Fn(std::io::Error) -> CliError {
    move |e| CliError::Runtime(format!("writing {what}: {e}"))
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn opt(v: Option<f64>, prec: usize) -> String {
    v.map_or("—".into(), |x| format!("{x:.prec$}"))
}

/// Writes the report's files into `dir`; returns their names.
pub fn fill(dir: &Path, r: &EmulateResults) -> CliResult<Vec<String>> {
    let json = serde_json::to_string_pretty(r)
        .map_err(|e| CliError::Runtime(format!("serialising results: {e}")))?;
    std::fs::write(dir.join("results.json"), json).map_err(io("results.json"))?;
    let mut files = vec!["results.json".to_string()];
    plots::nroy_pairs(&dir.join("nroy_pairs.svg"), &r.study)?;
    files.push("nroy_pairs.svg".into());
    plots::posterior(&dir.join("posterior.svg"), &r.study)?;
    files.push("posterior.svg".into());
    plots::calibrated_record(&dir.join("calibrated_record.svg"), &r.study)?;
    files.push("calibrated_record.svg".into());
    plots::loo(&dir.join("loo.svg"), &r.study)?;
    files.push("loo.svg".into());
    plots::sensitivity(&dir.join("sensitivity.svg"), &r.study)?;
    files.push("sensitivity.svg".into());
    std::fs::write(dir.join("index.html"), html(r)).map_err(io("index.html"))?;
    files.push("index.html".into());
    Ok(files)
}

fn html(r: &EmulateResults) -> String {
    let s = &r.study;
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{t}</title><style>\
         body{{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}}\
         table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}\
         th{{background:#f3f3f3}}td:first-child,th:first-child{{text-align:left}}img{{max-width:100%;border:1px solid #eee;margin:.5em 0}}\
         .note{{color:#555;font-size:90%}}</style></head><body><h1>{t}</h1>\
         <p class=note>mechml {} · <code>{}</code> · seed {} · {} threads · {:.2} s · output years {}–{}</p>",
        esc(&r.version),
        esc(&r.command),
        r.seed,
        r.threads,
        r.wall_time_s,
        s.years.first().copied().unwrap_or(0),
        s.years.last().copied().unwrap_or(0),
        t = esc(&r.title),
    );
    h.push_str("<h2>History matching</h2><table><tr><th>wave</th><th>runs</th><th>failed</th><th>training runs</th><th>PCA components</th><th>NROY fraction</th><th>best run NROY</th></tr>");
    for w in &s.waves {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.4}</td><td>{}</td></tr>",
            w.wave,
            w.runs,
            w.failed,
            w.training_runs,
            w.components,
            w.nroy_fraction,
            w.best_run_nroy
        );
    }
    h.push_str("</table><p>The not-ruled-out-yet region after the last wave (grey), with the runs of each wave:</p><img src=\"nroy_pairs.svg\">");
    let c = &s.calibration;
    let _ = write!(
        h,
        "<h2>Calibration (Kennedy &amp; O'Hagan, GP discrepancy, NUTS)</h2>\
         <p>{} divergent transitions after warm-up. Equilibrium climate sensitivity F₂ₓ/λ: {:.2} K [{:.2}, {:.2}] (5–95 %).</p>\
         <table><tr><th>parameter</th><th>mean</th><th>sd</th><th>5 %</th><th>50 %</th><th>95 %</th><th>R̂</th><th>bulk ESS</th></tr>",
        c.divergences, c.ecs_quantiles.1, c.ecs_quantiles.0, c.ecs_quantiles.2
    );
    for p in &c.parameters {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td><td>{}</td><td>{}</td></tr>",
            esc(&p.name),
            p.mean,
            p.sd,
            p.q5,
            p.q50,
            p.q95,
            opt(p.rhat, 3),
            opt(p.ess_bulk, 0)
        );
    }
    h.push_str("</table>");
    for w in &c.warnings {
        let _ = write!(h, "<p class=note>sampler: {}</p>", esc(w));
    }
    h.push_str("<img src=\"posterior.svg\"><img src=\"calibrated_record.svg\">");
    let l = &s.loo;
    let _ = write!(
        h,
        "<h2>Emulator validation (leave-one-out)</h2><p>{}: 95 % coverage {:.3}, Q² {:.4} \
         (standardised errors should look standard normal; Bastos &amp; O'Hagan 2009).</p><img src=\"loo.svg\">",
        esc(&l.output),
        l.coverage95,
        l.q2
    );
    let se = &s.sensitivity;
    let _ = write!(
        h,
        "<h2>Sensitivity ({})</h2><table><tr><th>parameter</th><th>first order</th><th>95 % interval</th><th>total</th><th>95 % interval</th><th>first (GP)</th><th>total (GP)</th></tr>",
        esc(&se.output)
    );
    for (i, n) in se.names.iter().enumerate() {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{:.3}</td><td>[{:.3}, {:.3}]</td><td>{:.3}</td><td>[{:.3}, {:.3}]</td><td>{:.3}</td><td>{:.3}</td></tr>",
            esc(n),
            se.first[i],
            se.first_ci[i].0,
            se.first_ci[i].1,
            se.total[i],
            se.total_ci[i].0,
            se.total_ci[i].1,
            se.gp_first.as_ref().map_or(f64::NAN, |v| v[i]),
            se.gp_total.as_ref().map_or(f64::NAN, |v| v[i])
        );
    }
    if let Some(n) = &se.gp_note {
        let _ = write!(h, "</table><p class=note>GP route: {}</p><table>", esc(n));
    }
    h.push_str("</table><img src=\"sensitivity.svg\"><p class=note>Everything shown is in results.json.</p></body></html>");
    h
}

/// The one-screen summary printed after a study.
pub fn summary(r: &EmulateResults, out: &Path) -> String {
    let s = &r.study;
    let mut t = String::new();
    let _ = writeln!(
        t,
        "mechml emulate ({:.1} s, seed {})",
        r.wall_time_s, r.seed
    );
    for w in &s.waves {
        let _ = writeln!(
            t,
            "  wave {}: {} runs ({} failed), {} PCA components, NROY fraction {:.4}",
            w.wave, w.runs, w.failed, w.components, w.nroy_fraction
        );
    }
    let _ = writeln!(
        t,
        "  calibration: {} divergences, ECS {:.2} K [{:.2}, {:.2}]",
        s.calibration.divergences,
        s.calibration.ecs_quantiles.1,
        s.calibration.ecs_quantiles.0,
        s.calibration.ecs_quantiles.2
    );
    for p in &s.calibration.parameters {
        let _ = writeln!(
            t,
            "    {:12} {:9.4} [{:9.4}, {:9.4}]  R-hat {}",
            p.name,
            p.q50,
            p.q5,
            p.q95,
            opt(p.rhat, 3)
        );
    }
    for w in &s.calibration.warnings {
        let _ = writeln!(t, "  warning [sampler] calibration: {w}");
    }
    let _ = writeln!(t, "  report: {}/index.html", out.display());
    t
}
