//! The `mechml emulate` report: `results.json`, the pictures and `index.html`.

use std::fmt::Write as _;
use std::path::Path;

use super::EmulateResults;
use super::plots;
use crate::cli::error::{CliError, CliResult};
use crate::emulator::ebm::KalmanComparison;

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
    if r.study.comparison.is_some() {
        plots::comparison(&dir.join("comparison.svg"), &r.study)?;
        files.push("comparison.svg".into());
    }
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
    if let Some(k) = &s.comparison {
        comparison_html(&mut h, k);
    }
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

/// The section that sets the direct Kalman-filter posterior beside the calibrated one.
fn comparison_html(h: &mut String, k: &KalmanComparison) {
    let _ = write!(
        h,
        "<h2>Beside the direct Kalman-filter posterior</h2><p>{}: {} divergent transitions, \
         {:.1} s, maximum log-likelihood {:.2}. Both posteriors use the same prior on the shared \
         parameters (uniform over the study's box, log-uniform for C1 and C2) and the same units \
         (λ is the direct model's κ₁); the direct model adds σ_ξ and the offset T₀ with \
         <code>mechml run</code>'s default priors.</p>\
         <table><tr><th>parameter</th><th>emulator 50 % [5, 95 %]</th><th>Kalman filter 50 % [5, 95 %]</th>\
         <th>|Δ median| / √(sd²₁ + sd²₂)</th></tr>",
        esc(&k.method),
        k.divergences,
        k.time_s,
        k.max_loglik
    );
    for row in &k.rows {
        let (e, f) = (&row.emulator, &row.kalman);
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{:.3} [{:.3}, {:.3}]</td><td>{:.3} [{:.3}, {:.3}]</td><td>{:.2}</td></tr>",
            esc(&row.name),
            e.q50,
            e.q5,
            e.q95,
            f.q50,
            f.q5,
            f.q95,
            row.standardised_difference
        );
    }
    h.push_str("</table>");
    let apart: Vec<&str> = k
        .rows
        .iter()
        .filter(|r| r.standardised_difference > 2.0)
        .map(|r| r.name.as_str())
        .collect();
    let _ = write!(
        h,
        "<p>The two answer different questions of the same data. The emulator calibration \
         (Kennedy &amp; O'Hagan) compares block means of the <em>deterministic</em> simulator, \
         with the emulator's own uncertainty, to the observed block means, and lets a smooth GP \
         discrepancy absorb what the model cannot follow (decadal wiggles, the mid-century \
         plateau); it learns the parameters mostly from the size of the warming and its response \
         to volcanic dips. The Kalman filter fits the annual record with the model's own \
         <em>internal variability</em> (σ_ξ): year-to-year departures are weather and ocean noise \
         whose persistence is set by the heat capacities and exchange, so it also learns C1, C2 \
         and κ₂ from the autocorrelation of the record, and has no discrepancy to hide a misfit \
         in. Expect agreement on the feedback λ (hence ECS) that the long-term warming pins down, \
         and differences in the heat capacities and efficacy that block means hardly inform. {}</p>",
        if apart.is_empty() {
            "Here every median lies within two combined standard deviations of the other."
                .to_string()
        } else {
            format!(
                "Here the medians of {} lie more than two combined standard deviations apart.",
                esc(&apart.join(", "))
            )
        }
    );
    let edges: Vec<&String> = k.rows.iter().flat_map(|r| &r.at_bound).collect();
    if !edges.is_empty() {
        h.push_str(
            "<p class=note>At the edge of the box (the interval's end there is set by the prior \
             box, not by the data alone; widen the box to see where the data put it):</p><ul>",
        );
        for e in edges {
            let _ = write!(h, "<li>{}</li>", esc(e));
        }
        h.push_str("</ul>");
    }
    for w in &k.warnings {
        let _ = write!(h, "<p class=note>sampler (Kalman filter): {}</p>", esc(w));
    }
    h.push_str("<img src=\"comparison.svg\">");
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
    if let Some(k) = &s.comparison {
        let _ = writeln!(
            t,
            "  direct Kalman-filter posterior ({:.1} s, {} divergences), medians emulator / KF:",
            k.time_s, k.divergences
        );
        for row in &k.rows {
            let _ = writeln!(
                t,
                "    {:12} {:9.4} / {:9.4}  (|Δ| / sd {:.2})",
                row.name, row.emulator.q50, row.kalman.q50, row.standardised_difference
            );
            for e in &row.at_bound {
                let _ = writeln!(
                    t,
                    "      note: {e} (set by the prior box, not the data alone)"
                );
            }
        }
    }
    let _ = writeln!(t, "  report: {}/index.html", out.display());
    t
}
