//! The pictures of `mechml assimilate` (SVG, plotters): RMSE and spread over time, rank
//! histograms, and Hovmöller diagrams of truth, analysis and error.

use std::path::Path;

use plotters::prelude::*;

use crate::cli::error::CliResult;
use crate::cli::plots::{err, legend_box, line_key};
use crate::da::twin::TwinResults;

/// A qualitative colour for series `i` (the ten of matplotlib's `tab10`).
fn color(i: usize) -> RGBColor {
    const C: [(u8, u8, u8); 10] = [
        (31, 119, 180),
        (255, 127, 14),
        (44, 160, 44),
        (214, 39, 40),
        (148, 103, 189),
        (140, 86, 75),
        (227, 119, 194),
        (127, 127, 127),
        (188, 189, 34),
        (23, 190, 207),
    ];
    let (r, g, b) = C[i % C.len()];
    RGBColor(r, g, b)
}

/// At most `max` points of `0..n`, evenly spaced (the last included).
fn thin(n: usize, max: usize) -> Vec<usize> {
    if n <= max {
        return (0..n).collect();
    }
    let mut v: Vec<usize> = (0..max).map(|k| k * (n - 1) / (max - 1)).collect();
    v.dedup();
    v
}

/// Analysis RMSE (solid) and spread (dashed) of every method over the cycles, log scale.
pub fn rmse(path: &Path, r: &TwinResults) -> CliResult<()> {
    let what = "rmse.svg";
    let root = SVGBackend::new(path, (960, 540)).into_drawing_area();
    root.fill(&WHITE).map_err(err(what))?;
    let idx = thin(r.cycles, 1500);
    let values = r.methods.iter().flat_map(|m| {
        let sp = m.analysis.spread.iter().flatten();
        m.analysis.rmse.iter().chain(sp).copied()
    });
    let (mut lo, mut hi) = (f64::INFINITY, 0.0_f64);
    for v in values.filter(|v| v.is_finite() && *v > 0.0) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        (lo, hi) = (0.01, 1.0);
    }
    let t_end = (r.cycles.max(1)) as f64 * r.step_time;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("{}: analysis RMSE (solid) and spread (dashed)", r.name),
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..t_end, (lo * 0.8..hi * 1.25).log_scale())
        .map_err(err(what))?;
    chart
        .configure_mesh()
        .x_desc("model time")
        .y_desc("RMSE / spread")
        .y_label_formatter(&|v| format!("{v:.2}"))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(err(what))?;
    let tb = r.burn_in as f64 * r.step_time;
    chart
        .draw_series(LineSeries::new(
            [(tb, lo * 0.8), (tb, hi * 1.25)],
            RGBColor(150, 150, 150).stroke_width(1),
        ))
        .map_err(err(what))?;
    let time = |k: usize| (k + 1) as f64 * r.step_time;
    for (i, m) in r.methods.iter().enumerate() {
        let c = color(i);
        let pts = |v: &[f64]| -> Vec<(f64, f64)> {
            idx.iter()
                .filter_map(|&k| v.get(k).map(|&y| (time(k), y.max(lo * 0.8))))
                .collect()
        };
        chart
            .draw_series(LineSeries::new(pts(&m.analysis.rmse), c.stroke_width(1)))
            .map_err(err(what))?
            .label(format!("{} ({:.3})", m.label, m.summary.rmse_analysis))
            .legend(line_key(c.stroke_width(2)));
        if let Some(sp) = &m.analysis.spread {
            chart
                .draw_series(DashedLineSeries::new(
                    pts(sp),
                    4,
                    3,
                    c.mix(0.8).stroke_width(1),
                ))
                .map_err(err(what))?;
        }
    }
    legend_box(&mut chart, SeriesLabelPosition::UpperRight, what)?;
    root.present().map_err(err(what))?;
    Ok(())
}

/// One panel per ensemble method: the forecast rank histogram as frequencies, with the
/// flat line `1/(N+1)` of a reliable ensemble.
pub fn rank_histograms(path: &Path, r: &TwinResults) -> CliResult<()> {
    let what = "rank_histograms.svg";
    let hists: Vec<(usize, &Vec<u64>)> = r
        .methods
        .iter()
        .enumerate()
        .filter_map(|(i, m)| m.rank_histogram.as_ref().map(|h| (i, h)))
        .collect();
    let cols = hists.len().clamp(1, 3);
    let rows = hists.len().div_ceil(cols).max(1);
    let root = SVGBackend::new(path, (320 * cols as u32, 240 * rows as u32)).into_drawing_area();
    root.fill(&WHITE).map_err(err(what))?;
    let panels = root.split_evenly((rows, cols));
    for ((i, h), area) in hists.iter().zip(panels.iter()) {
        let m = &r.methods[*i];
        let total = h.iter().sum::<u64>().max(1) as f64;
        let freq: Vec<f64> = h.iter().map(|&c| c as f64 / total).collect();
        let bins = freq.len().max(1);
        let top = freq.iter().copied().fold(1.0 / bins as f64, f64::max) * 1.2;
        let mut chart = ChartBuilder::on(area)
            .caption(&m.label, ("sans-serif", 13))
            .margin(8)
            .x_label_area_size(25)
            .y_label_area_size(45)
            .build_cartesian_2d(0.0..bins as f64, 0.0..top)
            .map_err(err(what))?;
        chart
            .configure_mesh()
            .x_desc("rank")
            .light_line_style(WHITE.mix(0.0))
            .label_style(("sans-serif", 10))
            .draw()
            .map_err(err(what))?;
        chart
            .draw_series(freq.iter().enumerate().map(|(b, &f)| {
                Rectangle::new(
                    [(b as f64, 0.0), (b as f64 + 1.0, f)],
                    color(*i).mix(0.7).filled(),
                )
            }))
            .map_err(err(what))?;
        let flat = 1.0 / bins as f64;
        chart
            .draw_series(LineSeries::new(
                [(0.0, flat), (bins as f64, flat)],
                BLACK.stroke_width(1),
            ))
            .map_err(err(what))?;
    }
    root.present().map_err(err(what))?;
    Ok(())
}

/// The method the Hovmöller diagrams show: the lowest time-mean analysis RMSE among those
/// with recorded fields (`None` when nothing was recorded).
pub fn hovmoller_method(r: &TwinResults) -> Option<usize> {
    r.truth_fields.as_ref()?;
    r.methods
        .iter()
        .enumerate()
        .filter(|(_, m)| m.analysis_fields.is_some())
        .min_by(|a, b| {
            a.1.summary
                .rmse_analysis
                .total_cmp(&b.1.summary.rmse_analysis)
        })
        .map(|(i, _)| i)
}

/// Diverging colour map (blue – white – red) of `v` in `[-1, 1]`.
fn diverging(v: f64) -> RGBColor {
    let v = v.clamp(-1.0, 1.0);
    let mix = |a: f64, b: f64, t: f64| (a + (b - a) * t).round() as u8;
    if v < 0.0 {
        let t = -v;
        RGBColor(
            mix(255.0, 33.0, t),
            mix(255.0, 102.0, t),
            mix(255.0, 172.0, t),
        )
    } else {
        RGBColor(
            mix(255.0, 178.0, v),
            mix(255.0, 24.0, v),
            mix(255.0, 43.0, v),
        )
    }
}

/// Truth, analysis mean and error of method `k` (variable across, cycle down), at most
/// 120 cycles.
pub fn hovmoller(path: &Path, r: &TwinResults, k: usize) -> CliResult<()> {
    let what = "hovmoller.svg";
    let (Some(truth), Some(an)) = (&r.truth_fields, &r.methods[k].analysis_fields) else {
        return Ok(());
    };
    let n = truth.n_state.min(an.n_state);
    let cycles = truth.n_cycles.min(an.n_cycles).min(120);
    let t = |c: usize, i: usize| truth.values[c * truth.n_state + i];
    let a = |c: usize, i: usize| an.values[c * an.n_state + i];
    // Fields on a symmetric scale around their mean; the error on its own scale.
    let (mut mean, mut amp, mut emax) = (0.0, 0.0_f64, 0.0_f64);
    for c in 0..cycles {
        for i in 0..n {
            mean += t(c, i);
        }
    }
    mean /= (cycles * n).max(1) as f64;
    for c in 0..cycles {
        for i in 0..n {
            amp = amp.max((t(c, i) - mean).abs()).max((a(c, i) - mean).abs());
            emax = emax.max((a(c, i) - t(c, i)).abs());
        }
    }
    let (amp, emax) = (amp.max(1e-12), emax.max(1e-12));
    let root = SVGBackend::new(path, (1020, 460)).into_drawing_area();
    root.fill(&WHITE).map_err(err(what))?;
    let panels = root.split_evenly((1, 3));
    let titles = [
        format!("truth (colour ±{amp:.2} about {mean:.2})"),
        format!("analysis: {}", r.methods[k].label),
        format!("analysis − truth (colour ±{emax:.2})"),
    ];
    for (p, (area, title)) in panels.iter().zip(&titles).enumerate() {
        let mut chart = ChartBuilder::on(area)
            .caption(title, ("sans-serif", 13))
            .margin(8)
            .x_label_area_size(30)
            .y_label_area_size(45)
            .build_cartesian_2d(0.0..n as f64, (cycles as f64)..0.0)
            .map_err(err(what))?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("variable")
            .y_desc("cycle")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| format!("{v:.0}"))
            .label_style(("sans-serif", 10))
            .draw()
            .map_err(err(what))?;
        let cell = |c: usize, i: usize| -> f64 {
            match p {
                0 => (t(c, i) - mean) / amp,
                1 => (a(c, i) - mean) / amp,
                _ => (a(c, i) - t(c, i)) / emax,
            }
        };
        chart
            .draw_series((0..cycles).flat_map(|c| {
                (0..n).map(move |i| {
                    Rectangle::new(
                        [(i as f64, c as f64), (i as f64 + 1.0, c as f64 + 1.0)],
                        diverging(cell(c, i)).filled(),
                    )
                })
            }))
            .map_err(err(what))?;
    }
    root.present().map_err(err(what))?;
    Ok(())
}
