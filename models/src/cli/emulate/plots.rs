//! The pictures of the `mechml emulate` report (plotters, SVG back end only).

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::cli::error::CliResult;
use crate::cli::plots::{Frame, err, framed, legend_box, line_key, observed_dots, range};
use crate::emulator::ebm::StudyResults;

const BLUE: RGBColor = RGBColor(31, 119, 180);
const ORANGE: RGBColor = RGBColor(230, 120, 20);
const GREEN: RGBColor = RGBColor(44, 160, 44);
const RED: RGBColor = RGBColor(214, 39, 40);
const PURPLE: RGBColor = RGBColor(148, 103, 189);
const GREY: RGBColor = RGBColor(150, 150, 150);
const WAVES: [RGBColor; 5] = [BLUE, ORANGE, GREEN, RED, PURPLE];

/// Pairs plot of the NROY sample after the last wave (grey) with every run coloured by
/// its wave; the diagonal panels name the parameter and its NROY range. (Its small
/// panels have no captions and narrow label areas, so they are not [`framed`].)
pub fn nroy_pairs(path: &Path, s: &StudyResults) -> CliResult<()> {
    let what = "nroy_pairs.svg";
    let d = s.parameters.len();
    let root = SVGBackend::new(path, (980, 980)).into_drawing_area();
    root.fill(&WHITE).map_err(err(what))?;
    let (title, body) = root.split_vertically(30);
    title
        .titled(
            "NROY region after the last wave (grey) and the runs of each wave",
            ("sans-serif", 17),
        )
        .map_err(err(what))?;
    let cells = body.split_evenly((d, d));
    let ranges: Vec<(f64, f64)> = (0..d)
        .map(|j| {
            range(
                s.run_inputs
                    .iter()
                    .map(|x| x[j])
                    .chain(s.nroy_points.iter().map(|x| x[j])),
            )
        })
        .collect();
    for i in 0..d {
        for j in 0..d {
            let area = &cells[i * d + j];
            if i == j {
                let v: Vec<f64> = s.nroy_points.iter().map(|x| x[j]).collect();
                let (lo, hi) = range(v.iter().copied());
                area.draw(&Text::new(
                    format!("{}\nNROY {:.3}–{:.3}", s.parameters[j], lo, hi),
                    (10, 40),
                    ("sans-serif", 14),
                ))
                .map_err(err(what))?;
                continue;
            }
            let mut chart = ChartBuilder::on(area)
                .margin(4)
                .x_label_area_size(18)
                .y_label_area_size(30)
                .build_cartesian_2d(ranges[j].0..ranges[j].1, ranges[i].0..ranges[i].1)
                .map_err(err(what))?;
            chart
                .configure_mesh()
                .x_labels(3)
                .y_labels(3)
                .label_style(("sans-serif", 9))
                .light_line_style(WHITE.mix(0.0))
                .draw()
                .map_err(err(what))?;
            chart
                .draw_series(
                    s.nroy_points
                        .iter()
                        .map(|x| Circle::new((x[j], x[i]), 1, GREY.mix(0.5).filled())),
                )
                .map_err(err(what))?;
            chart
                .draw_series(s.run_inputs.iter().zip(&s.run_waves).map(|(x, w)| {
                    let c = WAVES[(w.saturating_sub(1)) % WAVES.len()];
                    Circle::new((x[j], x[i]), 2, c.filled())
                }))
                .map_err(err(what))?;
        }
    }
    root.present().map_err(err(what))?;
    Ok(())
}

/// Counts of `v` in `bins` equal bins over `(lo, hi)`, as densities (integrating to 1).
fn densities(v: &[f64], (lo, hi): (f64, f64), bins: usize) -> Vec<f64> {
    let w = (hi - lo) / bins as f64;
    let mut counts = vec![0.0; bins];
    for x in v {
        let k = (((x - lo) / w).max(0.0) as usize).min(bins - 1);
        counts[k] += 1.0;
    }
    let n = v.len().max(1) as f64;
    counts.iter().map(|c| c / (n * w)).collect()
}

fn histogram(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    name: &str,
    v: &[f64],
    what: &str,
) -> CliResult<()> {
    let (lo, hi) = range(v.iter().copied());
    let bins = 30;
    let w = (hi - lo) / bins as f64;
    let dens = densities(v, (lo, hi), bins);
    let top = dens
        .iter()
        .copied()
        .fold(0.0, f64::max)
        .max(f64::MIN_POSITIVE);
    let mut chart = framed(
        area,
        Frame {
            caption: name,
            x: (lo, hi),
            y: (0.0, top * 1.05),
            x_desc: "",
            y_desc: "density",
            years: false,
        },
        what,
    )?;
    chart
        .draw_series(dens.iter().enumerate().map(|(k, &c)| {
            let x0 = lo + k as f64 * w;
            Rectangle::new([(x0, 0.0), (x0 + w, c)], BLUE.mix(0.6).filled())
        }))
        .map_err(err(what))?;
    Ok(())
}

/// Marginal posterior histograms of the calibration inputs and the discrepancy's
/// standard deviation and lengthscale.
pub fn posterior(path: &Path, s: &StudyResults) -> CliResult<()> {
    let what = "posterior.svg";
    let c = &s.calibration;
    let k = c.parameters.len();
    let cols = 3;
    let rows = k.div_ceil(cols).max(1);
    let root = SVGBackend::new(path, (980, 240 * rows as u32 + 30)).into_drawing_area();
    root.fill(&WHITE).map_err(err(what))?;
    let (title, body) = root.split_vertically(30);
    title
        .titled(
            "Calibrated posterior (Kennedy–O'Hagan, NUTS): marginals",
            ("sans-serif", 17),
        )
        .map_err(err(what))?;
    let cells = body.split_evenly((rows, cols));
    for (j, p) in c.parameters.iter().enumerate() {
        let v: Vec<f64> = c.draws.iter().filter_map(|r| r.get(j).copied()).collect();
        histogram(&cells[j], &p.name, &v, what)?;
    }
    root.present().map_err(err(what))?;
    Ok(())
}

/// The observed record (±2 sd) and the emulated record at the posterior mean (±2
/// emulator sd).
pub fn calibrated_record(path: &Path, s: &StudyResults) -> CliResult<()> {
    let what = "calibrated_record.svg";
    let c = &s.calibration;
    let years: Vec<f64> = s.years.iter().map(|&y| y as f64).collect();
    let root = SVGBackend::new(path, (960, 500)).into_drawing_area();
    root.fill(&WHITE).map_err(err(what))?;
    let x = range(years.iter().copied());
    let y = range(
        s.observed
            .iter()
            .zip(&s.observed_sd)
            .flat_map(|(o, sd)| [o - 2.0 * sd, o + 2.0 * sd])
            .chain(c.fitted_mean.iter().copied()),
    );
    let mut chart = framed(
        &root,
        Frame {
            caption: "Observed anomalies (HadCRUT5, ±2 sd) and the emulator at the posterior mean (±2 sd)",
            x,
            y,
            x_desc: "year",
            y_desc: "anomaly (K)",
            years: true,
        },
        what,
    )?;
    let mut band: Vec<(f64, f64)> = years
        .iter()
        .zip(c.fitted_mean.iter().zip(&c.fitted_sd))
        .map(|(&t, (m, sd))| (t, m + 2.0 * sd))
        .collect();
    band.extend(
        years
            .iter()
            .zip(c.fitted_mean.iter().zip(&c.fitted_sd))
            .rev()
            .map(|(&t, (m, sd))| (t, m - 2.0 * sd)),
    );
    chart
        .draw_series(std::iter::once(Polygon::new(band, ORANGE.mix(0.3))))
        .map_err(err(what))?;
    chart
        .draw_series(years.iter().zip(s.observed.iter().zip(&s.observed_sd)).map(
            |(&t, (o, sd))| {
                PathElement::new(
                    vec![(t, o - 2.0 * sd), (t, o + 2.0 * sd)],
                    GREY.stroke_width(1),
                )
            },
        ))
        .map_err(err(what))?;
    let obs: Vec<(f64, f64, f64, f64)> = years
        .iter()
        .zip(s.observed.iter().zip(&s.observed_sd))
        .map(|(&t, (&o, &sd))| (t, o, o - 2.0 * sd, o + 2.0 * sd))
        .collect();
    observed_dots(&mut chart, &obs, "observed", what)?;
    chart
        .draw_series(LineSeries::new(
            years.iter().copied().zip(c.fitted_mean.iter().copied()),
            ORANGE.stroke_width(2),
        ))
        .map_err(err(what))?
        .label("emulator at the posterior mean")
        .legend(line_key(ORANGE.stroke_width(2)));
    legend_box(&mut chart, SeriesLabelPosition::UpperLeft, what)?;
    root.present().map_err(err(what))?;
    Ok(())
}

/// Leave-one-out: predictions against the runs (±2 sd), and the standardised errors
/// with the ±2 band of a standard normal.
pub fn loo(path: &Path, s: &StudyResults) -> CliResult<()> {
    let what = "loo.svg";
    let l = &s.loo;
    let root = SVGBackend::new(path, (980, 460)).into_drawing_area();
    root.fill(&WHITE).map_err(err(what))?;
    let (left, right) = root.split_horizontally(490);
    let r = range(
        l.y.iter().copied().chain(
            l.mean
                .iter()
                .zip(&l.sd)
                .flat_map(|(m, sd)| [m - 2.0 * sd, m + 2.0 * sd]),
        ),
    );
    let caption = format!("LOO predictions: {}", l.output);
    let mut chart = framed(
        &left,
        Frame {
            caption: &caption,
            x: r,
            y: r,
            x_desc: "run output",
            y_desc: "LOO mean ± 2 sd",
            years: false,
        },
        what,
    )?;
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![(r.0, r.0), (r.1, r.1)],
            GREY.stroke_width(1),
        )))
        .map_err(err(what))?;
    chart
        .draw_series(
            l.y.iter()
                .zip(l.mean.iter().zip(&l.sd))
                .map(|(&y, (&m, &sd))| {
                    PathElement::new(
                        vec![(y, m - 2.0 * sd), (y, m + 2.0 * sd)],
                        BLUE.stroke_width(1),
                    )
                }),
        )
        .map_err(err(what))?;
    chart
        .draw_series(
            l.y.iter()
                .zip(&l.mean)
                .map(|(&y, &m)| Circle::new((y, m), 2, BLUE.filled())),
        )
        .map_err(err(what))?;
    let n = l.standardised.len() as f64;
    let e = range(l.standardised.iter().copied().chain([-3.0, 3.0]));
    let mut chart = framed(
        &right,
        Frame {
            caption: "Standardised LOO errors",
            x: (-0.5, n.max(1.0)),
            y: e,
            x_desc: "run",
            y_desc: "(y − LOO mean) / LOO sd",
            years: false,
        },
        what,
    )?;
    for b in [-2.0, 2.0] {
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(-0.5, b), (n, b)],
                RED.stroke_width(1),
            )))
            .map_err(err(what))?;
    }
    chart
        .draw_series(
            l.standardised
                .iter()
                .enumerate()
                .map(|(i, &z)| Circle::new((i as f64, z), 2, BLUE.filled())),
        )
        .map_err(err(what))?;
    root.present().map_err(err(what))?;
    Ok(())
}

/// First-order and total Sobol' indices (sampling on the emulator mean, 95 % bootstrap
/// intervals) with the GP route's values as markers.
pub fn sensitivity(path: &Path, s: &StudyResults) -> CliResult<()> {
    let what = "sensitivity.svg";
    let se = &s.sensitivity;
    let d = se.names.len();
    let root = SVGBackend::new(path, (900, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(err(what))?;
    let top = se
        .total_ci
        .iter()
        .map(|c| c.1)
        .chain(se.gp_total.iter().flatten().copied())
        .fold(1.0f64, f64::max);
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("Sobol' indices of the {}", se.output),
            ("sans-serif", 16),
        )
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(50)
        .build_cartesian_2d(-0.5..(d as f64 - 0.5), 0.0..top * 1.05)
        .map_err(err(what))?;
    let names = se.names.clone();
    chart
        .configure_mesh()
        .x_labels(d)
        .x_label_formatter(&|v| {
            let i = v.round();
            if (v - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < names.len() {
                names[i as usize].clone()
            } else {
                String::new()
            }
        })
        .y_desc("index")
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(err(what))?;
    let w = 0.18;
    for (k, (vals, cis, gp, c, label)) in [
        (&se.first, &se.first_ci, &se.gp_first, BLUE, "first order"),
        (&se.total, &se.total_ci, &se.gp_total, ORANGE, "total"),
    ]
    .into_iter()
    .enumerate()
    {
        let off = if k == 0 { -w } else { w };
        chart
            .draw_series(vals.iter().enumerate().map(|(i, &v)| {
                let x = i as f64 + off;
                Rectangle::new([(x - w, 0.0), (x + w, v.max(0.0))], c.mix(0.7).filled())
            }))
            .map_err(err(what))?
            .label(format!("{label} (sampling, 95 % bootstrap)"))
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], c.filled()));
        chart
            .draw_series(cis.iter().enumerate().map(|(i, ci)| {
                let x = i as f64 + off;
                PathElement::new(vec![(x, ci.0), (x, ci.1)], BLACK.stroke_width(1))
            }))
            .map_err(err(what))?;
        chart
            .draw_series(
                gp.iter()
                    .flatten()
                    .enumerate()
                    .map(|(i, &v)| Cross::new((i as f64 + off, v), 5, BLACK.stroke_width(2))),
            )
            .map_err(err(what))?;
    }
    legend_box(&mut chart, SeriesLabelPosition::UpperRight, what)?;
    root.present().map_err(err(what))?;
    Ok(())
}

/// The points of a step line through the bin densities `dens` over `(lo, hi)`.
fn steps(dens: &[f64], (lo, hi): (f64, f64)) -> Vec<(f64, f64)> {
    let w = (hi - lo) / dens.len().max(1) as f64;
    let mut pts = vec![(lo, 0.0)];
    for (k, &c) in dens.iter().enumerate() {
        let x0 = lo + k as f64 * w;
        pts.push((x0, c));
        pts.push((x0 + w, c));
    }
    pts.push((hi, 0.0));
    pts
}

/// Marginals of the shared parameters (and ECS = F₂ₓ/λ) under the emulator calibration
/// and under the direct Kalman-filter posterior (`[compare] kalman = true`), as density
/// step lines on common bins.
pub fn comparison(path: &Path, s: &StudyResults) -> CliResult<()> {
    let what = "comparison.svg";
    let Some(k) = &s.comparison else {
        return Ok(());
    };
    let shared = k.rows.len().saturating_sub(1);
    let col = |draws: &[Vec<f64>], j: usize| -> Vec<f64> {
        if j < shared {
            draws.iter().filter_map(|r| r.get(j).copied()).collect()
        } else {
            draws
                .iter()
                .filter_map(|r| r.get(2))
                .map(|l| 3.71 / l)
                .collect()
        }
    };
    let cols = 3;
    let rows = k.rows.len().div_ceil(cols).max(1);
    let root = SVGBackend::new(path, (980, 280 * rows as u32 + 30)).into_drawing_area();
    root.fill(&WHITE).map_err(err(what))?;
    let (title, body) = root.split_vertically(30);
    title
        .titled(
            "Emulator calibration (orange) and the direct Kalman-filter posterior (blue): marginals",
            ("sans-serif", 17),
        )
        .map_err(err(what))?;
    let cells = body.split_evenly((rows, cols));
    for (j, row) in k.rows.iter().enumerate() {
        let e = col(&s.calibration.draws, j);
        let kf = col(&k.draws, j);
        let r = range(e.iter().chain(&kf).copied());
        let bins = 30;
        let (de, dk) = (densities(&e, r, bins), densities(&kf, r, bins));
        let top = de
            .iter()
            .chain(&dk)
            .copied()
            .fold(0.0, f64::max)
            .max(f64::MIN_POSITIVE);
        let caption = format!(
            "{} (|Δ median| / sd = {:.2})",
            row.name, row.standardised_difference
        );
        let mut chart = framed(
            &cells[j],
            Frame {
                caption: &caption,
                x: r,
                y: (0.0, top * 1.1),
                x_desc: "",
                y_desc: "density",
                years: false,
            },
            what,
        )?;
        for (d, c, label) in [
            (&de, ORANGE, "emulator (KOH)"),
            (&dk, BLUE, "Kalman filter"),
        ] {
            chart
                .draw_series(LineSeries::new(steps(d, r), c.stroke_width(2)))
                .map_err(err(what))?
                .label(label)
                .legend(line_key(c.stroke_width(2)));
        }
        if j == 0 {
            legend_box(&mut chart, SeriesLabelPosition::UpperRight, what)?;
        }
    }
    root.present().map_err(err(what))?;
    Ok(())
}
