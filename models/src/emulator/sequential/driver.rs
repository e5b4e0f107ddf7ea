//! Batches with fantasies, and the design loop that refits between batches.

use mechml_engine::gp::Inputs;
use mechml_engine::{Error, Result};

use super::criteria::Acquisition;
use crate::emulator::gp::{EmulatorOptions, GpEmulator};

/// Picks `batch` of the candidates `xs` (point-major, unit cube) one by one: the
/// available candidate of highest score, then the emulator conditioned on it with its
/// predicted mean as the output (a fantasy, hyperparameters fixed), and so on. Returns
/// the candidates' indices in the order picked.
///
/// # Errors
/// A batch larger than the candidates, a non-finite score, or the criterion's errors.
pub fn select_batch(
    emu: &GpEmulator,
    acq: &dyn Acquisition,
    xs: &[f64],
    batch: usize,
) -> Result<Vec<usize>> {
    let d = emu.inputs().d();
    crate::emulator::design::check_points("select_batch", xs, d)?;
    let m = xs.len() / d;
    if batch == 0 || batch > m {
        return Err(Error::invalid_option(
            "select_batch",
            "batch",
            batch,
            format!("between 1 and the number of candidates ({m})"),
        ));
    }
    let mut available = vec![true; m];
    let mut picks = Vec::with_capacity(batch);
    let mut cur = emu.clone();
    for b in 0..batch {
        let s = acq.scores(&cur, xs, &available)?;
        let mut best: Option<usize> = None;
        for i in (0..m).filter(|&i| available[i]) {
            if !s[i].is_finite() {
                return Err(Error::NonFinite {
                    op: "select_batch",
                    index: i,
                    value: s[i],
                    context: format!("{} score of candidate {i}", acq.name()),
                });
            }
            if best.is_none_or(|j| s[i] > s[j]) {
                best = Some(i);
            }
        }
        let i = best.ok_or_else(|| {
            Error::invalid_option("select_batch", "candidates", m, "an available candidate")
        })?;
        available[i] = false;
        picks.push(i);
        if b + 1 < batch {
            let x = &xs[i * d..(i + 1) * d];
            let p = cur.predict(&Inputs::new(1, d, x.to_vec())?)?;
            cur = cur.with_runs(x, &p.mean)?;
        }
    }
    Ok(picks)
}

/// Settings of [`sequential_design`].
#[derive(Clone, Debug)]
pub struct SequentialOptions {
    /// Number of batches (≥ 1).
    pub batches: usize,
    /// Runs per batch (≥ 1).
    pub batch_size: usize,
    /// The emulator refitted before each batch (and at the end).
    pub emulator: EmulatorOptions,
}

/// What [`sequential_design`] did.
#[derive(Clone, Debug)]
pub struct SequentialDesign {
    /// The emulator refitted on every run.
    pub emulator: GpEmulator,
    /// The candidates' indices picked, batch by batch.
    pub picks: Vec<Vec<usize>>,
}

/// Starting from runs `(x0, y0)`, fits an emulator, picks a batch of the candidates `xs`
/// by `acq` ([`select_batch`]), runs `simulator` on it, refits, and repeats `batches`
/// times; the final emulator is fitted on every run.
///
/// ```
/// use mechml_models::emulator::design::lhs;
/// use mechml_models::emulator::gp::EmulatorOptions;
/// use mechml_models::emulator::sequential::{MaxVariance, SequentialOptions, sequential_design};
/// let f = |x: &[f64]| Ok((6.0 * x[0]).sin());
/// let d0 = lhs(4, 1, 0)?;
/// let y0: Vec<f64> = (0..4).map(|i| (6.0 * d0.point(i)[0]).sin()).collect();
/// let cand: Vec<f64> = (0..101).map(|i| i as f64 / 100.0).collect();
/// let opts = SequentialOptions { batches: 2, batch_size: 2, emulator: EmulatorOptions::default() };
/// let s = sequential_design(f, d0.to_inputs()?, &y0, &cand, &MaxVariance, &opts)?;
/// assert_eq!(s.emulator.inputs().n(), 8);
/// # Ok::<(), mechml_engine::Error>(())
/// ```
///
/// # Errors
/// Bad options or shapes, a failing simulator run (with the candidate's index), and the
/// emulator's and criterion's errors.
pub fn sequential_design(
    mut simulator: impl FnMut(&[f64]) -> Result<f64>,
    x0: Inputs,
    y0: &[f64],
    xs: &[f64],
    acq: &dyn Acquisition,
    opts: &SequentialOptions,
) -> Result<SequentialDesign> {
    if opts.batches == 0 || opts.batch_size == 0 {
        return Err(Error::invalid_option(
            "SequentialOptions",
            "batches, batch_size",
            format!("{}, {}", opts.batches, opts.batch_size),
            "both ≥ 1",
        ));
    }
    let d = x0.d();
    crate::emulator::design::check_points("sequential_design", xs, d)?;
    let m = xs.len() / d;
    if opts.batches * opts.batch_size > m {
        return Err(Error::invalid_option(
            "SequentialOptions",
            "batches × batch_size",
            opts.batches * opts.batch_size,
            format!("at most the number of candidates ({m})"),
        ));
    }
    let mut x = x0.as_slice().to_vec();
    let mut y = y0.to_vec();
    let mut taken = vec![false; m];
    let mut picks = Vec::with_capacity(opts.batches);
    for _ in 0..opts.batches {
        let emu = GpEmulator::fit(Inputs::new(y.len(), d, x.clone())?, &y, &opts.emulator)?;
        // Candidates run already are left out of the next batch.
        let keep: Vec<usize> = (0..m).filter(|&i| !taken[i]).collect();
        let sub: Vec<f64> = keep
            .iter()
            .flat_map(|&i| xs[i * d..(i + 1) * d].iter().copied())
            .collect();
        let batch: Vec<usize> = select_batch(&emu, acq, &sub, opts.batch_size)?
            .into_iter()
            .map(|j| keep[j])
            .collect();
        for &i in &batch {
            let p = &xs[i * d..(i + 1) * d];
            let v = simulator(p).map_err(|e| {
                Error::invalid_option(
                    "sequential_design",
                    format!("simulator run at candidate {i}"),
                    format!("{p:?}"),
                    format!("a successful run ({e})"),
                )
            })?;
            taken[i] = true;
            x.extend_from_slice(p);
            y.push(v);
        }
        picks.push(batch);
    }
    let emulator = GpEmulator::fit(Inputs::new(y.len(), d, x)?, &y, &opts.emulator)?;
    Ok(SequentialDesign { emulator, picks })
}
