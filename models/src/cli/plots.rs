//! SVG figures of the report (plotters, SVG back end only).

use std::path::Path;

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::error::{CliError, CliResult};
use super::results::{Band, Results};

pub(super) const BLUE: RGBColor = RGBColor(31, 119, 180);
const ORANGE: RGBColor = RGBColor(230, 120, 20);
pub(super) const GREEN: RGBColor = RGBColor(44, 160, 44);
pub(super) const RED: RGBColor = RGBColor(214, 39, 40);
const PURPLE: RGBColor = RGBColor(148, 103, 189);
pub(super) const GREY: RGBColor = RGBColor(120, 120, 120);

pub(crate) fn err<E: std::fmt::Display>(what: &str) -> impl Fn(E) -> CliError + '_ {
    move |e| CliError::Runtime(format!("drawing {what}: {e}"))
}

pub(crate) fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = 0.05 * (hi - lo).max(1e-9);
    (lo - pad, hi + pad)
}

/// The legend of `chart` at `pos`, on a light box with a black border.
pub(crate) fn legend_box<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    pos: SeriesLabelPosition,
    what: &str,
) -> CliResult<()> {
    chart
        .configure_series_labels()
        .position(pos)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 12))
        .draw()
        .map_err(err(what))
}

/// The legend key of a line series: a short stroke in `style`.
pub(crate) fn line_key<S: Into<ShapeStyle> + Copy>(
    style: S,
) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style)
}

/// A chart on `area` with a caption, the house margins, `x × y` axes and a mesh without
/// minor lines; `years` prints the x labels as whole years.
pub(crate) fn framed<'a, DB: DrawingBackend + 'a>(
    area: &'a DrawingArea<DB, plotters::coord::Shift>,
    frame: Frame<'_>,
    what: &str,
) -> CliResult<ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>> {
    let mut chart = ChartBuilder::on(area)
        .caption(frame.caption, ("sans-serif", 17))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(frame.x.0..frame.x.1, frame.y.0..frame.y.1)
        .map_err(err(what))?;
    let year = |x: &f64| format!("{x:.0}");
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(frame.x_desc)
        .y_desc(frame.y_desc)
        .light_line_style(WHITE.mix(0.0));
    if frame.years {
        mesh.x_label_formatter(&year);
    }
    mesh.draw().map_err(err(what))?;
    Ok(chart)
}

/// What [`framed`] draws: the caption, the axis ranges and their descriptions.
pub(crate) struct Frame<'s> {
    /// The caption above the chart.
    pub caption: &'s str,
    /// The x range.
    pub x: (f64, f64),
    /// The y range.
    pub y: (f64, f64),
    /// The x axis description.
    pub x_desc: &'s str,
    /// The y axis description.
    pub y_desc: &'s str,
    /// Whether the x labels are whole years.
    pub years: bool,
}

/// Observations as black dots, with a legend entry `label`.
pub(crate) fn observed_dots<'a, DB: DrawingBackend + 'a>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    obs: &[(f64, f64, f64, f64)],
    label: &str,
    what: &str,
) -> CliResult<()> {
    chart
        .draw_series(
            obs.iter()
                .map(|o| Circle::new((o.0, o.1), 2, BLACK.filled())),
        )
        .map_err(err(what))?
        .label(label)
        .legend(|(x, y)| Circle::new((x + 10, y), 3, BLACK.filled()));
    Ok(())
}

fn band_polygon(b: &Band) -> Vec<(f64, f64)> {
    let mut pts: Vec<(f64, f64)> = b.years.iter().copied().zip(b.hi.iter().copied()).collect();
    pts.extend(b.years.iter().copied().zip(b.lo.iter().copied()).rev());
    pts
}

/// Observed record against the filtered and smoothed temperature of the preferred model.
pub fn temperature(path: &Path, r: &Results, obs: &[(f64, f64, f64, f64)]) -> CliResult<()> {
    let what = "temperature.svg";
    let Some(m) = r.models.iter().find(|m| m.name == r.comparison.best_by_aic) else {
        return Ok(());
    };
    let root = SVGBackend::new(path, (960, 540)).into_drawing_area();
    root.fill(&WHITE).map_err(err(what))?;
    let x = range(obs.iter().map(|o| o.0));
    let y = range(
        obs.iter()
            .flat_map(|o| [o.2, o.3])
            .chain(m.smoothed.lo.iter().copied())
            .chain(m.smoothed.hi.iter().copied()),
    );
    let caption = format!(
        "Global-mean temperature: observed and {} model (filtered, smoothed; 95% bands)",
        m.name
    );
    let mut chart = framed(
        &root,
        Frame {
            caption: &caption,
            x,
            y,
            x_desc: "year",
            y_desc: "anomaly (K, vs 1961–1990)",
            years: true,
        },
        what,
    )?;
    let obs_band = Band {
        years: obs.iter().map(|o| o.0).collect(),
        mean: obs.iter().map(|o| o.1).collect(),
        lo: obs.iter().map(|o| o.2).collect(),
        hi: obs.iter().map(|o| o.3).collect(),
    };
    if obs.iter().any(|o| o.3 > o.2) {
        chart
            .draw_series(std::iter::once(Polygon::new(
                band_polygon(&obs_band),
                GREY.mix(0.25).filled(),
            )))
            .map_err(err(what))?;
    }
    chart
        .draw_series(std::iter::once(Polygon::new(
            band_polygon(&m.filtered),
            ORANGE.mix(0.18).filled(),
        )))
        .map_err(err(what))?;
    chart
        .draw_series(std::iter::once(Polygon::new(
            band_polygon(&m.smoothed),
            BLUE.mix(0.25).filled(),
        )))
        .map_err(err(what))?;
    chart
        .draw_series(LineSeries::new(
            m.filtered
                .years
                .iter()
                .copied()
                .zip(m.filtered.mean.iter().copied()),
            ORANGE.stroke_width(1),
        ))
        .map_err(err(what))?
        .label("filtered (given data up to each year)")
        .legend(line_key(ORANGE));
    chart
        .draw_series(LineSeries::new(
            m.smoothed
                .years
                .iter()
                .copied()
                .zip(m.smoothed.mean.iter().copied()),
            BLUE.stroke_width(2),
        ))
        .map_err(err(what))?
        .label("smoothed (given all data)")
        .legend(line_key(BLUE));
    observed_dots(&mut chart, obs, "observed (grey: its 95% interval)", what)?;
    legend_box(&mut chart, SeriesLabelPosition::UpperLeft, what)?;
    root.present().map_err(err(what))?;
    Ok(())
}

fn scenario_color(i: usize) -> RGBColor {
    [BLUE, GREEN, ORANGE, RED, PURPLE][i % 5]
}

/// Projections: all scenarios in one figure, or one scenario (`only`).
pub fn projections(
    path: &Path,
    r: &Results,
    obs: &[(f64, f64, f64, f64)],
    only: Option<usize>,
) -> CliResult<()> {
    let what = "projections";
    let root = SVGBackend::new(path, (960, 540)).into_drawing_area();
    root.fill(&WHITE).map_err(err(what))?;
    let sel: Vec<(usize, &super::results::ScenarioProjection)> = r
        .projections
        .iter()
        .enumerate()
        .filter(|(i, _)| only.is_none_or(|o| o == *i))
        .collect();
    let x = range(sel.iter().flat_map(|(_, p)| p.band.years.iter().copied()));
    let y = range(
        sel.iter()
            .flat_map(|(_, p)| p.band.lo.iter().chain(p.band.hi.iter()).copied())
            .chain(obs.iter().map(|o| o.1)),
    );
    let title = match only {
        Some(_) => format!(
            "Projection under {} ({} model; 95% band: internal variability and parameter uncertainty)",
            sel[0].1.scenario, sel[0].1.model
        ),
        None => format!(
            "Projections ({} model; 95% bands)",
            sel.first().map_or("", |s| s.1.model.as_str())
        ),
    };
    let mut chart = framed(
        &root,
        Frame {
            caption: &title,
            x,
            y,
            x_desc: "year",
            y_desc: "anomaly (K, vs 1961–1990)",
            years: true,
        },
        what,
    )?;
    for (i, p) in &sel {
        let c = scenario_color(*i);
        chart
            .draw_series(std::iter::once(Polygon::new(
                band_polygon(&p.band),
                c.mix(0.18).filled(),
            )))
            .map_err(err(what))?;
    }
    for (i, p) in &sel {
        let c = scenario_color(*i);
        chart
            .draw_series(LineSeries::new(
                p.band
                    .years
                    .iter()
                    .copied()
                    .zip(p.band.mean.iter().copied()),
                c.stroke_width(2),
            ))
            .map_err(err(what))?
            .label(format!(
                "{}: {:+.2} K in {:.0}–{:.0} vs {:.0}–{:.0}",
                p.scenario, p.warming[0], p.period[0], p.period[1], p.baseline[0], p.baseline[1]
            ))
            .legend(line_key(c.stroke_width(2)));
    }
    observed_dots(&mut chart, obs, "observed", what)?;
    legend_box(&mut chart, SeriesLabelPosition::UpperLeft, what)?;
    root.present().map_err(err(what))?;
    Ok(())
}

/// Parameter traces during the optimisation of each model: log-likelihood and each free
/// parameter relative to its final value.
pub fn traces(path: &Path, r: &Results, model: usize) -> CliResult<()> {
    let what = "traces";
    let m = &r.models[model];
    let root = SVGBackend::new(path, (960, 620)).into_drawing_area();
    root.fill(&WHITE).map_err(err(what))?;
    let (top, bottom) = root.split_vertically(250);
    let n_it = m.trace.len().max(2) as f64;
    let ll = range(m.trace.iter().map(|t| t.loglik));
    let mut c1 = ChartBuilder::on(&top)
        .caption(
            format!(
                "{} model: optimisation trace (best of {} L-BFGS starts)",
                m.name,
                m.solver.starts.len()
            ),
            ("sans-serif", 17),
        )
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..n_it - 1.0, ll.0..ll.1)
        .map_err(err(what))?;
    c1.configure_mesh()
        .y_desc("log-likelihood")
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(err(what))?;
    c1.draw_series(LineSeries::new(
        m.trace.iter().map(|t| (t.iteration as f64, t.loglik)),
        BLACK.stroke_width(2),
    ))
    .map_err(err(what))?;
    let free: Vec<usize> = m
        .params
        .iter()
        .enumerate()
        .filter(|(_, p)| p.free)
        .map(|(i, _)| i)
        .collect();
    let rel = |t: &crate::ssm::fit::TraceRow, i: usize| -> f64 {
        let fin = m.params[i].estimate;
        let v = t.params.get(i).copied().unwrap_or(f64::NAN);
        if fin.abs() > 1e-12 && m.params[i].name != "T0" {
            v / fin
        } else {
            1.0 + (v - fin)
        }
    };
    let yr = range(
        m.trace
            .iter()
            .flat_map(|t| free.iter().map(move |&i| rel(t, i))),
    );
    let mut c2 = ChartBuilder::on(&bottom)
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..n_it - 1.0, yr.0..yr.1)
        .map_err(err(what))?;
    c2.configure_mesh()
        .x_desc("iteration")
        .y_desc("parameter / final value")
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(err(what))?;
    for (k, &i) in free.iter().enumerate() {
        let c = [
            BLUE,
            ORANGE,
            GREEN,
            RED,
            PURPLE,
            GREY,
            BLACK,
            RGBColor(140, 86, 75),
            RGBColor(23, 190, 207),
            RGBColor(188, 189, 34),
        ][k % 10];
        c2.draw_series(LineSeries::new(
            m.trace.iter().map(|t| (t.iteration as f64, rel(t, i))),
            c.stroke_width(2),
        ))
        .map_err(err(what))?
        .label(m.params[i].name.clone())
        .legend(line_key(c.stroke_width(2)));
    }
    legend_box(&mut c2, SeriesLabelPosition::UpperRight, what)?;
    root.present().map_err(err(what))?;
    Ok(())
}

/// Climate sensitivity: each model's estimate with its reported interval (profile for
/// ECS, posterior or Wald for TCR) and its posterior 95 % interval beside it, the CMIP5
/// models, and the AR6 likely ranges. The axes are chosen from the points, the CMIP5
/// models and the AR6 very likely ranges (not from the intervals), so a very wide or
/// open interval cannot squeeze the rest: it is drawn to the edge, dashed, with an
/// arrow.
pub fn sensitivity(path: &Path, r: &Results) -> CliResult<()> {
    let what = "sensitivity.svg";
    let root = SVGBackend::new(path, (760, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(err(what))?;
    let mut xs: Vec<f64> = vec![AR6_TCR_VERY_LIKELY.0, AR6_TCR_VERY_LIKELY.1];
    let mut ys: Vec<f64> = vec![AR6_ECS_VERY_LIKELY.0, AR6_ECS_VERY_LIKELY.1];
    for m in &r.models {
        xs.push(m.tcr.value);
        ys.push(m.ecs.value);
        if let Some(b) = &m.bayes {
            xs.push(b.tcr[1]);
            ys.push(b.ecs[1]);
        }
    }
    if let Some(c) = &r.cmip5 {
        xs.extend(c.pairs.iter().map(|p| p.0));
        ys.extend(c.pairs.iter().map(|p| p.1));
    }
    let x = range(xs.into_iter());
    let y = range(ys.into_iter());
    let (x, y) = (
        (x.0 - 0.1 * (x.1 - x.0), x.1 + 0.1 * (x.1 - x.0)),
        (y.0 - 0.1 * (y.1 - y.0), y.1 + 0.45 * (y.1 - y.0)),
    );
    let mut chart = framed(
        &root,
        Frame {
            caption: "Climate sensitivity: fits (95% intervals), posteriors, CMIP5 and AR6",
            x,
            y,
            x_desc: "TCR (K)",
            y_desc: "ECS (K)",
            years: false,
        },
        what,
    )?;
    chart
        .draw_series(std::iter::once(Rectangle::new(
            [
                (AR6_TCR_LIKELY.0, AR6_ECS_LIKELY.0),
                (AR6_TCR_LIKELY.1, AR6_ECS_LIKELY.1),
            ],
            ORANGE.mix(0.12).filled(),
        )))
        .map_err(err(what))?
        .label("AR6 likely ranges (ECS 2.5–4 K, TCR 1.4–2.2 K)")
        .legend(|(x, y)| {
            Rectangle::new([(x + 4, y - 5), (x + 16, y + 5)], ORANGE.mix(0.3).filled())
        });
    if let Some(c) = &r.cmip5 {
        chart
            .draw_series(
                c.pairs
                    .iter()
                    .map(|p| Circle::new(*p, 4, GREY.mix(0.7).filled())),
            )
            .map_err(err(what))?
            .label(format!("CMIP5 models (n = {})", c.n))
            .legend(|(x, y)| Circle::new((x + 10, y), 4, GREY.filled()));
    }
    let clip = |v: f64, lo: f64, hi: f64| v.clamp(lo, hi);
    let dx = 0.012 * (x.1 - x.0);
    let dy = 0.012 * (y.1 - y.0);
    for (i, m) in r.models.iter().enumerate() {
        let c = [BLUE, RED, GREEN][i % 3];
        let (tx, ey) = (m.tcr.value, m.ecs.value);
        if let Some(iv) = &m.tcr_interval {
            let a = iv.lo.map_or(x.0, |v| clip(v, x.0, x.1));
            let b = iv.hi.map_or(x.1, |v| clip(v, x.0, x.1));
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(a, ey), (b, ey)],
                    c.stroke_width(2),
                )))
                .map_err(err(what))?;
        }
        if let Some(iv) = &m.ecs_interval {
            // Open or clipped ends: dashed to the edge, with an arrow head.
            let lo = iv.lo.map_or(y.0, |v| clip(v, y.0, y.1));
            let hi_clipped = iv.hi.is_none_or(|v| v > y.1);
            let hi = iv.hi.map_or(y.1, |v| clip(v, y.0, y.1));
            let solid_top = if hi_clipped { (hi + ey) / 2.0 } else { hi };
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(tx, lo), (tx, solid_top)],
                    c.stroke_width(2),
                )))
                .map_err(err(what))?;
            if hi_clipped {
                chart
                    .draw_series(DashedLineSeries::new(
                        vec![(tx, solid_top), (tx, hi)],
                        4,
                        4,
                        c.stroke_width(2),
                    ))
                    .map_err(err(what))?;
                chart
                    .draw_series(std::iter::once(Polygon::new(
                        vec![(tx - dx, hi - 2.0 * dy), (tx + dx, hi - 2.0 * dy), (tx, hi)],
                        c.filled(),
                    )))
                    .map_err(err(what))?;
            }
        }
        let label = format!(
            "{}: TCR {}, ECS {}",
            m.name,
            m.tcr_interval
                .as_ref()
                .map_or(format!("{tx:.2} (no interval)"), |i| format!(
                    "{tx:.2} {}",
                    i.show(2)
                )),
            m.ecs_interval
                .as_ref()
                .map_or(format!("{ey:.2} (no interval)"), |i| format!(
                    "{ey:.2} {} ({})",
                    i.show(2),
                    i.method
                )),
        );
        chart
            .draw_series(std::iter::once(Circle::new((tx, ey), 6, c.filled())))
            .map_err(err(what))?
            .label(label)
            .legend(move |(x, y)| Circle::new((x + 10, y), 5, c.filled()));
        if let Some(b) = &m.bayes {
            // Posterior: median and 2.5–97.5 % in both, offset a little to the right.
            let px = b.tcr[1] + 2.0 * dx;
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![
                        (px, clip(b.ecs[0], y.0, y.1)),
                        (px, clip(b.ecs[2], y.0, y.1)),
                    ],
                    c.mix(0.6).stroke_width(4),
                )))
                .map_err(err(what))?;
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![
                        (clip(b.tcr[0], x.0, x.1), b.ecs[1]),
                        (clip(b.tcr[2], x.0, x.1), b.ecs[1]),
                    ],
                    c.mix(0.6).stroke_width(4),
                )))
                .map_err(err(what))?;
            chart
                .draw_series(std::iter::once(TriangleMarker::new(
                    (px, b.ecs[1]),
                    7,
                    c.filled(),
                )))
                .map_err(err(what))?
                .label(format!(
                    "{} posterior: TCR {:.2} [{:.2}, {:.2}], ECS {:.2} [{:.2}, {:.2}]",
                    m.name, b.tcr[1], b.tcr[0], b.tcr[2], b.ecs[1], b.ecs[0], b.ecs[2]
                ))
                .legend(move |(x, y)| TriangleMarker::new((x + 10, y), 6, c.filled()));
        }
    }
    legend_box(&mut chart, SeriesLabelPosition::UpperLeft, what)?;
    root.present().map_err(err(what))?;
    Ok(())
}

/// AR6 assessed ECS likely range (K) (Forster et al. 2021, IPCC AR6 WG1 ch. 7, §7.5.5).
pub const AR6_ECS_LIKELY: (f64, f64) = (2.5, 4.0);
/// AR6 ECS very likely range (K).
pub const AR6_ECS_VERY_LIKELY: (f64, f64) = (2.0, 5.0);
/// AR6 TCR likely range (K).
pub const AR6_TCR_LIKELY: (f64, f64) = (1.4, 2.2);
/// AR6 TCR very likely range (K).
pub const AR6_TCR_VERY_LIKELY: (f64, f64) = (1.2, 2.4);

pub use super::plots_synthetic::synthetic;
