//! The synthetic-case figure: every replicate's estimate and interval against the truth.

use std::path::Path;

use plotters::prelude::*;

use super::error::CliResult;
use super::plots::{GREEN, GREY, RED, err, legend_box, line_key, range};
use super::results::Results;

/// The synthetic case: for every parameter, every replicate's estimate and 95 % Wald
/// interval divided by the truth (side by side), green when the interval contains the
/// truth, red when it misses it, grey crosses for replicates without an interval; the
/// line at 1 is the truth, and each label gives the coverage.
pub fn synthetic(path: &Path, r: &Results) -> CliResult<()> {
    let what = "synthetic.svg";
    let Some(s) = &r.synthetic else { return Ok(()) };
    let root = SVGBackend::new(path, (900, 500)).into_drawing_area();
    root.fill(&WHITE).map_err(err(what))?;
    let n = s.params.len();
    let rel = |p: &super::results::SyntheticParam, v: f64| {
        if p.name == "T0" {
            1.0 + v - p.truth
        } else {
            v / p.truth
        }
    };
    // The axis shows the estimates and the truth; intervals beyond it are clipped.
    let y = range(s.params.iter().flat_map(|p| {
        let mut v: Vec<f64> = p.replicates.iter().map(|(e, _)| rel(p, *e)).collect();
        v.push(1.0);
        v
    }));
    let y = (y.0 - 0.3 * (y.1 - y.0), y.1 + 0.3 * (y.1 - y.0));
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "Synthetic data from the fitted {} model, {} replicates: each replicate's estimate and 95% interval / truth",
                s.model, s.replicates
            ),
            ("sans-serif", 14),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(-0.5..(n as f64 - 0.5), y.0..y.1)
        .map_err(err(what))?;
    let names: Vec<String> = s
        .params
        .iter()
        .map(|p| format!("{} ({:.0}% cover)", p.name, 100.0 * p.coverage))
        .collect();
    chart
        .configure_mesh()
        .x_labels(n)
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() < 1e-6 && i >= 0.0 {
                names.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .y_desc("estimate / truth (T0: 1 + estimate − truth)")
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(err(what))?;
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![(-0.5, 1.0), (n as f64 - 0.5, 1.0)],
            BLACK.stroke_width(1),
        )))
        .map_err(err(what))?
        .label("truth")
        .legend(line_key(BLACK.stroke_width(1)));
    let mut labelled = [false; 3];
    for (i, p) in s.params.iter().enumerate() {
        let k = p.replicates.len().max(1);
        for (j, (est, ci)) in p.replicates.iter().enumerate() {
            let xi = i as f64 - 0.35 + 0.7 * (j as f64 + 0.5) / k as f64;
            let e = rel(p, *est);
            match ci {
                Some(c) => {
                    let covers = c[0] <= p.truth && p.truth <= c[1];
                    let col = if covers { GREEN } else { RED };
                    let (a, b) = (rel(p, c[0]).max(y.0), rel(p, c[1]).min(y.1));
                    let series = chart
                        .draw_series(std::iter::once(PathElement::new(
                            vec![(xi, a), (xi, b)],
                            col.stroke_width(2),
                        )))
                        .map_err(err(what))?;
                    let slot = usize::from(!covers);
                    if !labelled[slot] {
                        labelled[slot] = true;
                        series
                            .label(if covers {
                                "95% interval containing the truth"
                            } else {
                                "95% interval missing the truth"
                            })
                            .legend(line_key(col.stroke_width(2)));
                    }
                    chart
                        .draw_series(std::iter::once(Circle::new((xi, e), 2, col.filled())))
                        .map_err(err(what))?;
                }
                None => {
                    let series = chart
                        .draw_series(std::iter::once(Cross::new(
                            (xi, e),
                            4,
                            GREY.stroke_width(2),
                        )))
                        .map_err(err(what))?;
                    if !labelled[2] {
                        labelled[2] = true;
                        series
                            .label("estimate without an interval (singular information)")
                            .legend(|(x, y)| Cross::new((x + 10, y), 4, GREY.stroke_width(2)));
                    }
                }
            }
        }
    }
    legend_box(&mut chart, SeriesLabelPosition::UpperRight, what)?;
    root.present().map_err(err(what))?;
    Ok(())
}
