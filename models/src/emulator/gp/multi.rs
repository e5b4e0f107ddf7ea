//! Several outputs as independent GP emulators on the same runs, fitted together: one
//! fit per output, run in parallel on rayon's pool (each output with its own seed, so
//! the result does not depend on the thread count), predictions sharing the inputs.

use mechml_engine::gp::Inputs;
use mechml_engine::{Error, Result};
use rayon::prelude::*;

use super::emulator::{EmuPrediction, GpEmulator, PointGradient};
use super::options::EmulatorOptions;

/// Independent emulators of `p` outputs on the same inputs.
///
/// ```
/// use mechml_models::emulator::design::lhs;
/// use mechml_models::emulator::gp::{EmulatorOptions, MultiOutputEmulator};
/// let d = lhs(20, 2, 1)?;
/// let ys: Vec<Vec<f64>> = (0..20).map(|i| { let p = d.point(i); vec![p[0] + p[1], p[0] * p[1]] }).collect();
/// let emu = MultiOutputEmulator::fit(&d.to_inputs()?, &ys, &EmulatorOptions::default())?;
/// assert_eq!(emu.n_outputs(), 2);
/// let p = emu.predict(&d.to_inputs()?)?;
/// assert!((p[1].mean[3] - d.point(3)[0] * d.point(3)[1]).abs() < 1e-2);
/// # Ok::<(), mechml_engine::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct MultiOutputEmulator {
    emulators: Vec<GpEmulator>,
}

impl MultiOutputEmulator {
    /// Fits one emulator per output; `ys[i]` holds the outputs of run `i`. Output `j`
    /// uses the seed `opts.fit.seed + j`.
    pub fn fit(x: &Inputs, ys: &[Vec<f64>], opts: &EmulatorOptions) -> Result<Self> {
        let p = check_rows(x, ys)?;
        let columns: Vec<Vec<f64>> = (0..p).map(|j| ys.iter().map(|r| r[j]).collect()).collect();
        let emulators = columns
            .par_iter()
            .enumerate()
            .map(|(j, y)| {
                let mut o = opts.clone();
                o.fit.seed = opts.fit.seed.wrapping_add(j as u64);
                GpEmulator::fit(x.clone(), y, &o)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { emulators })
    }

    /// From emulators fitted elsewhere (same input dimension).
    pub fn from_emulators(emulators: Vec<GpEmulator>) -> Result<Self> {
        if emulators.is_empty() {
            return Err(Error::invalid_option(
                "MultiOutputEmulator",
                "emulators",
                0,
                "at least one",
            ));
        }
        Ok(Self { emulators })
    }

    /// Number of outputs.
    pub fn n_outputs(&self) -> usize {
        self.emulators.len()
    }

    /// Input dimension.
    pub fn dim(&self) -> usize {
        self.emulators[0].inputs().d()
    }

    /// The emulators.
    pub fn emulators(&self) -> &[GpEmulator] {
        &self.emulators
    }

    /// Predictions of every output at `xs` (outputs in parallel).
    pub fn predict(&self, xs: &Inputs) -> Result<Vec<EmuPrediction>> {
        self.emulators.par_iter().map(|e| e.predict(xs)).collect()
    }

    /// Means and variances with their input gradients, per output, at one point.
    pub fn predict_with_gradient(&self, x: &[f64]) -> Result<Vec<PointGradient>> {
        self.emulators
            .iter()
            .map(|e| e.predict_with_gradient(x))
            .collect()
    }
}

/// Checks that every run has the same number of outputs and that there is one run per
/// input; returns the number of outputs.
pub(crate) fn check_rows(x: &Inputs, ys: &[Vec<f64>]) -> Result<usize> {
    if ys.len() != x.n() {
        return Err(Error::ShapeMismatch {
            op: "MultiOutputEmulator",
            arg: "ys",
            expected: format!("{} runs", x.n()),
            found: format!("{} runs", ys.len()),
        });
    }
    let p = ys.first().map_or(0, |r| r.len());
    if p == 0 {
        return Err(Error::invalid_option(
            "MultiOutputEmulator",
            "outputs",
            0,
            "at least one output",
        ));
    }
    if let Some(i) = ys.iter().position(|r| r.len() != p) {
        return Err(Error::ShapeMismatch {
            op: "MultiOutputEmulator",
            arg: "ys",
            expected: format!("{p} outputs per run"),
            found: format!("{} in run {i}", ys[i].len()),
        });
    }
    Ok(p)
}
