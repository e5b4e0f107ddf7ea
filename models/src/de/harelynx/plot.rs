//! SVG figures of the pelt inference (feature `cli`, through the report's plotters
//! helpers): the data with the posterior median and the 50 % and 90 % predictive bands
//! of each species, and a pairs plot of posterior draws.

use std::path::Path;

use mechml_engine::infer::Posterior;
use plotters::prelude::*;

use super::data::Pelts;
use super::posterior::{PredictiveBands, SpeciesBands};
use crate::cli::error::{CliError, CliResult};
use crate::cli::plots::{Frame, err, framed, legend_box, line_key, range};

const BLUE: RGBColor = RGBColor(31, 119, 180);
const ORANGE: RGBColor = RGBColor(230, 120, 20);

fn band(years: &[f64], lo: &[f64], hi: &[f64]) -> Vec<(f64, f64)> {
    let mut pts: Vec<(f64, f64)> = years.iter().copied().zip(hi.iter().copied()).collect();
    pts.extend(years.iter().copied().zip(lo.iter().copied()).rev());
    pts
}

/// Two panels (hare above, lynx below): the counts as dots, the posterior median of the
/// solution as a line, the 50 % and 90 % posterior predictive bands shaded.
///
/// # Errors
/// A file that cannot be written.
pub fn bands_svg(path: &Path, data: &Pelts, bands: &PredictiveBands) -> CliResult<()> {
    let what = "harelynx bands";
    let root = SVGBackend::new(path, (960, 760)).into_drawing_area();
    root.fill(&WHITE).map_err(err(what))?;
    let panels = root.split_evenly((2, 1));
    let species: [(&str, &SpeciesBands, &[f64], RGBColor); 2] = [
        ("Snowshoe hare", &bands.hare, data.hare(), BLUE),
        ("Canadian lynx", &bands.lynx, data.lynx(), ORANGE),
    ];
    for (area, (name, b, ys, colour)) in panels.iter().zip(species) {
        let caption = format!(
            "{name} pelts, Hudson's Bay Company: data, posterior median, 50% and 90% \
             predictive bands ({} draws)",
            bands.n_draws
        );
        let x = range(bands.years.iter().copied());
        let y = (0.0, range(b.q95.iter().chain(ys).copied()).1);
        let mut chart = framed(
            area,
            Frame {
                caption: &caption,
                x,
                y,
                x_desc: "year",
                y_desc: "pelts (thousands)",
                years: true,
            },
            what,
        )?;
        chart
            .draw_series(std::iter::once(Polygon::new(
                band(&bands.years, &b.q05, &b.q95),
                colour.mix(0.15).filled(),
            )))
            .map_err(err(what))?
            .label("90% predictive band")
            .legend(move |(x, y)| {
                Rectangle::new([(x, y - 5), (x + 20, y + 5)], colour.mix(0.15).filled())
            });
        chart
            .draw_series(std::iter::once(Polygon::new(
                band(&bands.years, &b.q25, &b.q75),
                colour.mix(0.35).filled(),
            )))
            .map_err(err(what))?
            .label("50% predictive band")
            .legend(move |(x, y)| {
                Rectangle::new([(x, y - 5), (x + 20, y + 5)], colour.mix(0.35).filled())
            });
        chart
            .draw_series(LineSeries::new(
                bands
                    .years
                    .iter()
                    .copied()
                    .zip(b.solution_median.iter().copied()),
                colour.stroke_width(2),
            ))
            .map_err(err(what))?
            .label("posterior median of z(t)")
            .legend(line_key(colour.stroke_width(2)));
        chart
            .draw_series(
                data.years()
                    .iter()
                    .zip(ys)
                    .map(|(&t, &v)| Circle::new((t, v), 3, BLACK.filled())),
            )
            .map_err(err(what))?
            .label("pelts")
            .legend(|(x, y)| Circle::new((x + 10, y), 3, BLACK.filled()));
        legend_box(&mut chart, SeriesLabelPosition::UpperRight, what)?;
    }
    root.present().map_err(err(what))?;
    Ok(())
}

/// A pairs plot of the posterior draws of `params` (names of `post`): histograms on
/// the diagonal, scatter plots (at most 1,000 draws, evenly thinned) below it.
///
/// # Errors
/// An unknown name, or a file that cannot be written.
pub fn pairs_svg(path: &Path, post: &Posterior, params: &[&str]) -> CliResult<()> {
    let what = "harelynx pairs";
    let cols: Vec<Vec<f64>> = params
        .iter()
        .map(|p| {
            post.draws_of(p)
                .map(|c| c.into_iter().flatten().collect())
                .map_err(|e| CliError::Runtime(e.to_string()))
        })
        .collect::<CliResult<_>>()?;
    let n = params.len();
    let size = 170 * n as u32;
    let root = SVGBackend::new(path, (size, size + 30)).into_drawing_area();
    root.fill(&WHITE).map_err(err(what))?;
    let (title, grid) = root.split_vertically(30);
    title
        .titled(
            &format!(
                "Posterior draws ({} chains × {} draws, NUTS)",
                post.chains.len(),
                post.n_draws()
            ),
            ("sans-serif", 17),
        )
        .map_err(err(what))?;
    let cells = grid.split_evenly((n, n));
    let total = cols.first().map_or(0, Vec::len);
    let stride = total.div_ceil(1000).max(1);
    for i in 0..n {
        for j in 0..=i {
            let cell = &cells[i * n + j];
            let xr = range(cols[j].iter().copied());
            let label = |k: usize| if k + 1 == n || k == 0 { params[k] } else { "" };
            if i == j {
                let bins = 30usize;
                let w = (xr.1 - xr.0) / bins as f64;
                let mut counts = vec![0usize; bins];
                for v in &cols[j] {
                    let b = ((v - xr.0) / w).floor().clamp(0.0, (bins - 1) as f64) as usize;
                    counts[b] += 1;
                }
                let top = *counts.iter().max().unwrap_or(&1) as f64 * 1.05;
                let mut chart = ChartBuilder::on(cell)
                    .margin(4)
                    .x_label_area_size(if i + 1 == n { 30 } else { 0 })
                    .y_label_area_size(0)
                    .caption(params[j], ("sans-serif", 13))
                    .build_cartesian_2d(xr.0..xr.1, 0.0..top)
                    .map_err(err(what))?;
                chart
                    .configure_mesh()
                    .disable_mesh()
                    .x_labels(3)
                    .draw()
                    .map_err(err(what))?;
                chart
                    .draw_series(counts.iter().enumerate().map(|(b, &c)| {
                        let x0 = xr.0 + b as f64 * w;
                        Rectangle::new([(x0, 0.0), (x0 + w, c as f64)], BLUE.mix(0.6).filled())
                    }))
                    .map_err(err(what))?;
            } else {
                let yr = range(cols[i].iter().copied());
                let mut chart = ChartBuilder::on(cell)
                    .margin(4)
                    .x_label_area_size(if i + 1 == n { 30 } else { 0 })
                    .y_label_area_size(if j == 0 { 45 } else { 0 })
                    .build_cartesian_2d(xr.0..xr.1, yr.0..yr.1)
                    .map_err(err(what))?;
                chart
                    .configure_mesh()
                    .disable_mesh()
                    .x_labels(3)
                    .y_labels(3)
                    .y_desc(label(i))
                    .draw()
                    .map_err(err(what))?;
                chart
                    .draw_series(
                        cols[j]
                            .iter()
                            .zip(&cols[i])
                            .step_by(stride)
                            .map(|(&x, &y)| Circle::new((x, y), 1, BLUE.mix(0.35).filled())),
                    )
                    .map_err(err(what))?;
            }
        }
    }
    root.present().map_err(err(what))?;
    Ok(())
}
