//! Writing the report folder atomically (a temporary folder, renamed into place), the
//! `index.html` that shows it, and the one-screen summary.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::config::Resolved;
use super::error::{CliError, CliResult};
use super::plots;
use super::results::{Interval, Results};

/// Observations as (year, value, lower, upper) for the plots.
fn observations(res: &Resolved) -> Vec<(f64, f64, f64, f64)> {
    let r = &res.temperature;
    r.years
        .iter()
        .zip(&r.values)
        .zip(&r.known_var)
        .filter(|((_, v), _)| !v.is_nan())
        .map(|((&y, &v), &kv)| {
            let h = crate::ssm::fit::Z95 * kv.sqrt();
            (y, v, v - h, v + h)
        })
        .collect()
}

fn io(what: String) -> impl Fn(std::io::Error) -> CliError {
    move |e| CliError::Runtime(format!("{what}: {e}"))
}

/// Checks, before any work, that `out` can receive a report: it does not exist yet, or it
/// is a folder holding a previous mechml report (`results.json`), and its parent is not a
/// file.
pub fn check_out(out: &Path) -> CliResult<()> {
    if out.exists() && !(out.is_dir() && out.join("results.json").is_file()) {
        return Err(CliError::usage(format!(
            "--out {}: exists and is not a mechml report folder; choose another --out (nothing was written)",
            out.display()
        )));
    }
    if let Some(parent) = out.parent()
        && !parent.as_os_str().is_empty()
        && parent.exists()
        && !parent.is_dir()
    {
        return Err(CliError::usage(format!(
            "--out {}: {} is not a folder",
            out.display(),
            parent.display()
        )));
    }
    Ok(())
}

/// Writes the report into `out`: everything goes to a temporary sibling folder first,
/// which then replaces `out` (an existing folder is replaced only if it holds a previous
/// mechml report). Returns the files written.
pub fn write(out: &Path, results: &Results, res: &Resolved) -> CliResult<Vec<String>> {
    write_with(out, |dir| fill(dir, results, res))
}

/// The atomic part of [`write()`]: `fill` writes the report's files into a fresh temporary
/// folder beside `out`; on success the folder is renamed to `out` (a previous report
/// there is moved aside first and removed after the rename), on any failure the
/// temporary folder is removed and `out` is left as it was.
pub fn write_with(
    out: &Path,
    fill: impl FnOnce(&Path) -> CliResult<Vec<String>>,
) -> CliResult<Vec<String>> {
    check_out(out)?;
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "report".into());
    let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(io(format!("removing {}", tmp.display())))?;
    }
    std::fs::create_dir_all(&tmp).map_err(io(format!("creating {}", tmp.display())))?;
    let written = match fill(&tmp) {
        Ok(w) => w,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
    };
    if out.exists() {
        let old = parent.join(format!(".{name}.old-{}", std::process::id()));
        if let Err(e) = std::fs::rename(out, &old) {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(CliError::Runtime(format!(
                "moving the previous report {}: {e}",
                out.display()
            )));
        }
        if let Err(e) = std::fs::rename(&tmp, out) {
            let _ = std::fs::rename(&old, out);
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(CliError::Runtime(format!(
                "renaming the report into {}: {e}",
                out.display()
            )));
        }
        let _ = std::fs::remove_dir_all(&old);
    } else if let Err(e) = std::fs::rename(&tmp, out) {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(CliError::Runtime(format!(
            "renaming the report into {}: {e}",
            out.display()
        )));
    }
    Ok(written)
}

fn fill(dir: &Path, results: &Results, res: &Resolved) -> CliResult<Vec<String>> {
    let obs = observations(res);
    let mut files = Vec::new();
    let json = serde_json::to_string_pretty(results)
        .map_err(|e| CliError::Runtime(format!("serialising results: {e}")))?;
    std::fs::write(dir.join("results.json"), json).map_err(io("writing results.json".into()))?;
    files.push("results.json".to_string());
    plots::temperature(&dir.join("temperature.svg"), results, &obs)?;
    files.push("temperature.svg".into());
    if !results.projections.is_empty() {
        plots::projections(&dir.join("projections.svg"), results, &obs, None)?;
        files.push("projections.svg".into());
        for (i, p) in results.projections.iter().enumerate() {
            let f = format!("projection_{}.svg", sanitize(&p.scenario));
            plots::projections(&dir.join(&f), results, &obs, Some(i))?;
            files.push(f);
        }
    }
    for (i, m) in results.models.iter().enumerate() {
        let f = format!("trace_{}.svg", sanitize(&m.name));
        plots::traces(&dir.join(&f), results, i)?;
        files.push(f);
    }
    plots::sensitivity(&dir.join("sensitivity.svg"), results)?;
    files.push("sensitivity.svg".into());
    if results.synthetic.is_some() {
        plots::synthetic(&dir.join("synthetic.svg"), results)?;
        files.push("synthetic.svg".into());
    }
    std::fs::write(dir.join("index.html"), html(results, &files))
        .map_err(io("writing index.html".into()))?;
    files.push("index.html".into());
    Ok(files)
}

fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

pub(super) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `v [lo, hi] (method)`, or `v (no valid interval)`: a missing or zero-width interval is
/// never printed as one.
fn with_interval(v: f64, i: Option<&Interval>) -> String {
    match i {
        Some(i) if i.lo.is_some() || i.hi.is_some() => {
            format!("{v:.2} {} {}", i.show(2), short_method(&i.method))
        }
        _ => format!("{v:.2} (no valid interval)"),
    }
}

fn short_method(m: &str) -> &'static str {
    match m {
        "profile" => "prof",
        "posterior" => "post",
        "wald" => "wald",
        _ => "",
    }
}

pub(super) fn fmt_opt(v: Option<f64>, prec: usize) -> String {
    v.map_or("—".into(), |x| format!("{x:.prec$}"))
}

fn html(r: &Results, files: &[String]) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{t}</title><style>\
         body{{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}}\
         table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}\
         th{{background:#f3f3f3}}td:first-child,th:first-child{{text-align:left}}img{{max-width:100%;border:1px solid #eee;margin:.5em 0}}\
         .note{{color:#555;font-size:90%}}.warn li{{color:#a00}}</style></head><body><h1>{t}</h1>",
        t = esc(&r.title)
    );
    let _ = write!(
        h,
        "<p class=note>mechml {} · <code>{}</code> · seed {} · {} threads · {:.2} s · data: {} ({} observed years, {:.0}–{:.0}), forcing: {} (historical scenario {}), model run from {:.0}</p>",
        esc(&r.version),
        esc(&r.command),
        r.seed,
        r.threads,
        r.wall_time_s,
        esc(&r.data.temperature_source),
        r.data.n_observed,
        r.data.observed_years[0],
        r.data.observed_years[1],
        esc(&r.data.forcing_source),
        esc(&r.data.historical_scenario),
        r.data.start_year
    );
    if !r.warnings.is_empty() {
        h.push_str("<h2>Warnings</h2><ul class=warn>");
        for w in &r.warnings {
            let _ = write!(
                h,
                "<li><b>{}</b>{}: {}</li>",
                esc(&w.code),
                w.model
                    .as_ref()
                    .map_or(String::new(), |m| format!(" ({})", esc(m))),
                esc(&w.message)
            );
        }
        h.push_str("</ul>");
    }
    h.push_str("<h2>Models</h2><table><tr><th>model</th><th>log-likelihood</th><th>free parameters</th><th>AIC</th><th>BIC</th><th>ECS (K)</th><th>TCR (K)</th><th>timescales (yr)</th><th>innovations mean / sd</th></tr>");
    for m in &r.models {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{:.2}</td><td>{}</td><td>{:.2}</td><td>{:.2}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.2} / {:.2}</td></tr>",
            m.name,
            m.loglik,
            m.n_free,
            m.aic,
            m.bic,
            esc(&with_interval(m.ecs.value, m.ecs_interval.as_ref())),
            esc(&with_interval(m.tcr.value, m.tcr_interval.as_ref())),
            m.timescales
                .iter()
                .map(|t| format!("{t:.1}"))
                .collect::<Vec<_>>()
                .join(", "),
            m.innovation_mean_sd[0],
            m.innovation_mean_sd[1]
        );
    }
    let _ = write!(
        h,
        "</table><p>Preferred by AIC: <b>{}</b>; by BIC: <b>{}</b>.",
        r.comparison.best_by_aic, r.comparison.best_by_bic
    );
    if let Some(lr) = r.comparison.lr_statistic {
        let _ = write!(
            h,
            " Likelihood-ratio statistic (largest vs smallest model): {lr:.2}."
        );
    }
    h.push_str("</p><p class=note>Intervals: <i>prof</i> = profile likelihood (95%; an open side means the likelihood does not fall below the threshold there), <i>post</i> = 2.5–97.5% posterior quantiles, <i>wald</i> = observed information. “No valid interval” means none could be computed honestly.</p>");
    if let Some(c) = &r.cmip5 {
        let _ = write!(
            h,
            "<p>CMIP5 ({} models): TCR mean {:.2} K (range {:.1}–{:.1}), ECS mean {:.2} K (range {:.2}–{:.2}).</p>",
            c.n, c.tcr[0], c.tcr[1], c.tcr[2], c.ecs[0], c.ecs[1], c.ecs[2]
        );
    }
    h.push_str(super::report_bayes::SCIENCE_NOTE);
    super::report_bayes::bayes_html(&mut h, r);
    for m in &r.models {
        let _ = write!(
            h,
            "<h3>{} parameters</h3><table><tr><th>parameter</th><th>estimate</th><th>std. error</th><th>95% Wald interval</th><th>95% profile interval</th></tr>",
            m.name
        );
        for p in &m.params {
            let ci =
                p.ci.map_or("—".into(), |c| format!("[{:.4}, {:.4}]", c[0], c[1]));
            let prof = p.profile.as_ref().map_or("—".into(), |i| i.show(4));
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{:.4}{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                p.name,
                p.estimate,
                if p.free { "" } else { " (fixed)" },
                fmt_opt(p.se, 4),
                ci,
                prof
            );
        }
        let _ = write!(
            h,
            "</table><p class=note>L-BFGS: best of {} starts (start {}), {} iterations, converged: {}; fit {:.2} s, observed information {:.3} s.</p>",
            m.solver.starts.len(),
            m.solver.best_start,
            m.trace.last().map_or(0, |t| t.iteration),
            m.solver.converged,
            m.solver.fit_time_s,
            m.solver.hessian_time_s
        );
    }
    h.push_str("<h2>Temperature</h2><img src=\"temperature.svg\" alt=\"temperature\">");
    if !r.projections.is_empty() {
        h.push_str("<h2>Projections</h2><table><tr><th>scenario</th><th>warming (K)</th><th>95% range</th><th>parameter draws</th></tr>");
        for p in &r.projections {
            let range = if p.interval_valid {
                format!("{:+.2} to {:+.2}", p.warming[1], p.warming[2])
            } else {
                "no valid interval".into()
            };
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{:+.2}</td><td>{}</td><td>{}</td></tr>",
                p.scenario, p.warming[0], range, p.draws_from
            );
        }
        if let Some(p) = r.projections.first() {
            let _ = write!(
                h,
                "</table><p class=note>Mean warming over {:.0}–{:.0} relative to {:.0}–{:.0}; the range is across parameter draws: from the posterior (NUTS) when sampled, else from the fit's asymptotic normal law.</p>",
                p.period[0], p.period[1], p.baseline[0], p.baseline[1]
            );
        }
        for f in files.iter().filter(|f| f.starts_with("projection")) {
            let _ = write!(h, "<img src=\"{f}\" alt=\"{f}\">");
        }
    }
    h.push_str("<h2>Climate sensitivity</h2><img src=\"sensitivity.svg\" alt=\"sensitivity\">");
    if let Some(s) = &r.synthetic {
        let _ = write!(
            h,
            "<h2>Synthetic case (known truth)</h2><p>Data simulated from the fitted {} model on the same forcing and pattern of observations, then fitted again; coverage of the 95% intervals over {} replicates ({} with a covariance). TCR: truth {:.3} K, coverage {:.0}%.</p><table><tr><th>parameter</th><th>truth</th><th>estimate (replicate 1)</th><th>95% interval</th><th>coverage</th></tr>",
            s.model,
            s.replicates,
            s.replicates_with_covariance,
            s.tcr_truth,
            100.0 * s.tcr_coverage
        );
        for p in &s.params {
            let ci =
                p.ci.map_or("—".into(), |c| format!("[{:.4}, {:.4}]", c[0], c[1]));
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{:.4}</td><td>{:.4}</td><td>{}</td><td>{:.0}%</td></tr>",
                p.name,
                p.truth,
                p.estimate,
                ci,
                100.0 * p.coverage
            );
        }
        h.push_str("</table><img src=\"synthetic.svg\" alt=\"synthetic\">");
    }
    h.push_str("<h2>Optimisation traces</h2>");
    for f in files.iter().filter(|f| f.starts_with("trace_")) {
        let _ = write!(h, "<img src=\"{f}\" alt=\"{f}\">");
    }
    h.push_str("<p class=note>All numbers are in <a href=\"results.json\">results.json</a>.</p></body></html>");
    h
}

/// The one-screen summary printed at the end.
pub fn summary(r: &Results, out: &Path) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{}", r.title);
    let _ = writeln!(
        s,
        "  data: {} observed years ({:.0}–{:.0}), forcing {} from {:.0}",
        r.data.n_observed,
        r.data.observed_years[0],
        r.data.observed_years[1],
        r.data.historical_scenario,
        r.data.start_year
    );
    let _ = writeln!(
        s,
        "  {:<7} {:>10} {:>4} {:>9} {:>9}  {:>26}  {:>26}",
        "model", "loglik", "k", "AIC", "BIC", "ECS (K) [95%]", "TCR (K) [95%]"
    );
    for m in &r.models {
        let _ = writeln!(
            s,
            "  {:<7} {:>10.2} {:>4} {:>9.2} {:>9.2}  {:>26}  {:>26}",
            m.name,
            m.loglik,
            m.n_free,
            m.aic,
            m.bic,
            with_interval(m.ecs.value, m.ecs_interval.as_ref()),
            with_interval(m.tcr.value, m.tcr_interval.as_ref())
        );
    }
    for m in &r.models {
        if let Some(b) = &m.bayes {
            let _ = writeln!(
                s,
                "  {} posterior (NUTS, {} chains x {} draws, {} priors): ECS {:.2} [{:.2}, {:.2}] K, TCR {:.2} [{:.2}, {:.2}] K; max R-hat {}, min bulk ESS {}, {} divergences",
                m.name,
                b.chains,
                b.draws,
                b.prior_set,
                b.ecs[1],
                b.ecs[0],
                b.ecs[2],
                b.tcr[1],
                b.tcr[0],
                b.tcr[2],
                b.max_rhat.map_or("n/a".into(), |v| format!("{v:.3}")),
                b.min_ess_bulk.map_or("n/a".into(), |v| format!("{v:.0}")),
                b.divergences
            );
        }
    }
    for p in &r.prior_sensitivity {
        let _ = writeln!(
            s,
            "  prior sensitivity, {} ECS: {} priors {:.2} [{:.2}, {:.2}] K",
            p.model, p.prior_set, p.ecs[1], p.ecs[0], p.ecs[2]
        );
    }
    let _ = writeln!(
        s,
        "  preferred: {} (AIC), {} (BIC)",
        r.comparison.best_by_aic, r.comparison.best_by_bic
    );
    if let Some(c) = &r.cmip5 {
        let _ = writeln!(
            s,
            "  CMIP5 ({} models): ECS {:.2} K ({:.2}–{:.2}), TCR {:.2} K ({:.1}–{:.1})",
            c.n, c.ecs[0], c.ecs[1], c.ecs[2], c.tcr[0], c.tcr[1], c.tcr[2]
        );
    }
    if let Some(p) = r.projections.first() {
        let _ = writeln!(
            s,
            "  warming {:.0}–{:.0} vs {:.0}–{:.0} ({} model):",
            p.period[0], p.period[1], p.baseline[0], p.baseline[1], p.model
        );
        for p in &r.projections {
            if p.interval_valid {
                let _ = writeln!(
                    s,
                    "    {:<8} {:+.2} K  [{:+.2}, {:+.2}]  ({} draws)",
                    p.scenario, p.warming[0], p.warming[1], p.warming[2], p.draws_from
                );
            } else {
                let _ = writeln!(
                    s,
                    "    {:<8} {:+.2} K  (no valid interval)",
                    p.scenario, p.warming[0]
                );
            }
        }
    }
    if let Some(syn) = &r.synthetic {
        let cov: Vec<String> = syn
            .params
            .iter()
            .map(|p| format!("{} {:.0}%", p.name, 100.0 * p.coverage))
            .collect();
        let _ = writeln!(
            s,
            "  synthetic ({} replicates): coverage of 95% intervals: {}, TCR {:.0}%",
            syn.replicates,
            cov.join(", "),
            100.0 * syn.tcr_coverage
        );
    }
    let _ = writeln!(
        s,
        "  AR6 assessed ranges: ECS likely 2.5–4 K, very likely 2–5 K; TCR likely 1.4–2.2 K"
    );
    for w in &r.warnings {
        let _ = writeln!(
            s,
            "  warning [{}]{}: {}",
            w.code,
            w.model.as_ref().map_or(String::new(), |m| format!(" {m}")),
            w.message
        );
    }
    let _ = writeln!(
        s,
        "  {:.2} s, {} threads; report: {}/index.html",
        r.wall_time_s,
        r.threads,
        out.display()
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh folder under the system's temporary directory.
    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("mechml-report-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn entries(d: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        v.sort();
        v
    }

    /// Writes two files, then fails (as a plot or the disk would, half-way through).
    fn failing(dir: &Path) -> CliResult<Vec<String>> {
        std::fs::write(dir.join("results.json"), "{}").unwrap();
        std::fs::write(dir.join("temperature.svg"), "<svg").unwrap();
        Err(CliError::Runtime("plotting failed".into()))
    }

    #[test]
    fn a_failure_half_way_leaves_nothing_behind() {
        let d = scratch("fail");
        let out = d.join("report");
        let e = write_with(&out, failing).unwrap_err();
        assert_eq!(e.exit_code(), 1);
        assert!(!out.exists());
        assert!(entries(&d).is_empty(), "left behind: {:?}", entries(&d));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_failure_keeps_the_previous_report_and_a_success_replaces_it() {
        let d = scratch("replace");
        let out = d.join("report");
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join("results.json"), "previous").unwrap();
        std::fs::write(out.join("index.html"), "previous").unwrap();
        assert!(write_with(&out, failing).is_err());
        assert_eq!(entries(&d), ["report"]);
        assert_eq!(entries(&out), ["index.html", "results.json"]);
        assert_eq!(
            std::fs::read_to_string(out.join("results.json")).unwrap(),
            "previous"
        );
        let w = write_with(&out, |dir| {
            std::fs::write(dir.join("results.json"), "new").unwrap();
            Ok(vec!["results.json".into()])
        })
        .unwrap();
        assert_eq!(w, ["results.json"]);
        assert_eq!(entries(&d), ["report"]);
        assert_eq!(entries(&out), ["results.json"]);
        assert_eq!(
            std::fs::read_to_string(out.join("results.json")).unwrap(),
            "new"
        );
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn out_must_be_new_or_a_previous_report() {
        let d = scratch("check");
        assert!(check_out(&d.join("new")).is_ok());
        let other = d.join("other");
        std::fs::create_dir_all(&other).unwrap();
        std::fs::write(other.join("notes.txt"), "mine").unwrap();
        let e = check_out(&other).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(
            e.to_string().contains("is not a mechml report folder"),
            "{e}"
        );
        // Refused before anything is written: the folder is untouched.
        assert!(write_with(&other, |_| panic!("must not be called")).is_err());
        assert_eq!(entries(&other), ["notes.txt"]);
        let file = d.join("file");
        std::fs::write(&file, "x").unwrap();
        assert!(check_out(&file).is_err());
        assert!(check_out(&file.join("report")).is_err());
        assert_eq!(entries(&d), ["file", "other"]);
        let _ = std::fs::remove_dir_all(&d);
    }
}
