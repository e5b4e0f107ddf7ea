//! Implausibility of many candidates (module docs of [`history`](super)).

use mechml_engine::gp::Inputs;
use mechml_engine::{Error, Result};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::emulator::gp::{GpEmulator, MultiOutputEmulator, PREDICT_CHUNK, PcaEmulator};

/// One observed output: its value and the observation and model-discrepancy variances.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Target {
    /// Name (for reports).
    pub name: String,
    /// Observed value `z`.
    pub value: f64,
    /// Observation-error variance.
    pub obs_var: f64,
    /// Model-discrepancy variance.
    pub disc_var: f64,
}

/// The implausibility measure of a wave.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct HmOptions {
    /// Cutoff (3 by default).
    pub cutoff: f64,
    /// Which order statistic of the outputs' implausibilities is compared with the cutoff:
    /// 1 = the maximum, 2 = the second largest, …
    pub order: usize,
}

impl Default for HmOptions {
    fn default() -> Self {
        Self {
            cutoff: 3.0,
            order: 1,
        }
    }
}

impl HmOptions {
    /// Checks the cutoff (> 0) and the order (1 ≤ order ≤ outputs).
    pub fn validate(&self, n_outputs: usize) -> Result<()> {
        if !(self.cutoff.is_finite() && self.cutoff > 0.0) {
            return Err(Error::invalid_option(
                "HmOptions",
                "cutoff",
                self.cutoff,
                "finite and > 0",
            ));
        }
        if self.order == 0 || self.order > n_outputs {
            return Err(Error::invalid_option(
                "HmOptions",
                "order",
                self.order,
                format!("between 1 and the number of outputs ({n_outputs})"),
            ));
        }
        Ok(())
    }
}

/// Means and variances of several emulated outputs at many points (point-major `m × p`).
pub trait OutputPredictor: Sync {
    /// Input dimension.
    fn dim(&self) -> usize;
    /// Number of outputs `p`.
    fn n_outputs(&self) -> usize;
    /// Writes means and variances of the `m` points `xs` (point-major) into `m × p`
    /// buffers (point-major).
    fn predict_many(&self, xs: &[f64], mean: &mut [f64], var: &mut [f64]) -> Result<()>;
}

impl OutputPredictor for GpEmulator {
    fn dim(&self) -> usize {
        self.inputs().d()
    }
    fn n_outputs(&self) -> usize {
        1
    }
    fn predict_many(&self, xs: &[f64], mean: &mut [f64], var: &mut [f64]) -> Result<()> {
        self.predict_into(xs, mean, var)
    }
}

impl OutputPredictor for MultiOutputEmulator {
    fn dim(&self) -> usize {
        MultiOutputEmulator::dim(self)
    }
    fn n_outputs(&self) -> usize {
        MultiOutputEmulator::n_outputs(self)
    }
    fn predict_many(&self, xs: &[f64], mean: &mut [f64], var: &mut [f64]) -> Result<()> {
        let p = self.n_outputs();
        let m = mean.len() / p;
        let mut mj = vec![0.0; m];
        let mut vj = vec![0.0; m];
        for (j, e) in self.emulators().iter().enumerate() {
            e.predict_into(xs, &mut mj, &mut vj)?;
            for i in 0..m {
                mean[i * p + j] = mj[i];
                var[i * p + j] = vj[i];
            }
        }
        Ok(())
    }
}

/// Linear functionals of a PCA-emulated field (e.g. period means of a time series) as
/// the outputs that are history-matched.
#[derive(Clone, Debug)]
pub struct PcaFunctionals {
    /// The field emulator.
    pub emulator: PcaEmulator,
    /// One row per output, each of the field's length.
    pub functionals: Vec<Vec<f64>>,
}

impl OutputPredictor for PcaFunctionals {
    fn dim(&self) -> usize {
        self.emulator.score_emulators().dim()
    }
    fn n_outputs(&self) -> usize {
        self.functionals.len()
    }
    fn predict_many(&self, xs: &[f64], mean: &mut [f64], var: &mut [f64]) -> Result<()> {
        let d = self.dim();
        let x = Inputs::new(xs.len() / d, d, xs.to_vec())?;
        let (m, v) = self.emulator.predict_functionals(&x, &self.functionals)?;
        mean.copy_from_slice(&m);
        var.copy_from_slice(&v);
        Ok(())
    }
}

/// The `k`-th largest value (`k ≥ 1`) of a short slice.
pub fn kth_largest(v: &[f64], k: usize) -> f64 {
    if k == 1 {
        return v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| b.total_cmp(a));
    s[k - 1]
}

/// The implausibility (the `opts.order`-th largest over outputs) of every candidate in
/// `xs` (point-major, unit cube), chunk by chunk in parallel.
///
/// ```
/// use mechml_models::emulator::design::{SobolOptions, lhs, sobol};
/// use mechml_models::emulator::gp::{EmulatorOptions, GpEmulator};
/// use mechml_models::emulator::history::{HmOptions, Target, implausibility};
/// let d = lhs(20, 1, 0)?;
/// let y: Vec<f64> = (0..20).map(|i| 4.0 * d.point(i)[0]).collect();
/// let emu = GpEmulator::fit(d.to_inputs()?, &y, &EmulatorOptions::default())?;
/// // Observed z = 2 (truth x = 0.5), observation sd 0.1.
/// let t = [Target { name: "y".into(), value: 2.0, obs_var: 0.01, disc_var: 0.0 }];
/// let imp = implausibility(&emu, &t, &[0.5, 0.1, 0.9], &HmOptions::default())?;
/// assert!(imp[0] < 1.0 && imp[1] > 3.0 && imp[2] > 3.0);
/// # Ok::<(), mechml_engine::Error>(())
/// ```
pub fn implausibility(
    pred: &dyn OutputPredictor,
    targets: &[Target],
    xs: &[f64],
    opts: &HmOptions,
) -> Result<Vec<f64>> {
    let (d, p) = (pred.dim(), pred.n_outputs());
    if targets.len() != p {
        return Err(Error::ShapeMismatch {
            op: "implausibility",
            arg: "targets",
            expected: format!("{p} (one per emulated output)"),
            found: targets.len().to_string(),
        });
    }
    for t in targets {
        if !(t.value.is_finite()
            && t.obs_var >= 0.0
            && t.disc_var >= 0.0
            && t.obs_var.is_finite()
            && t.disc_var.is_finite())
        {
            return Err(Error::invalid_option(
                "implausibility",
                format!("target {}", t.name),
                format!(
                    "value {}, obs_var {}, disc_var {}",
                    t.value, t.obs_var, t.disc_var
                ),
                "a finite value and finite variances ≥ 0",
            ));
        }
    }
    opts.validate(p)?;
    if !xs.len().is_multiple_of(d) {
        return Err(Error::ShapeMismatch {
            op: "implausibility",
            arg: "xs",
            expected: format!("a multiple of {d} coordinates"),
            found: xs.len().to_string(),
        });
    }
    let m = xs.len() / d;
    let mut out = vec![0.0; m];
    out.par_chunks_mut(PREDICT_CHUNK)
        .zip(xs.par_chunks(PREDICT_CHUNK * d))
        .try_for_each(|(o, x)| {
            let mc = o.len();
            let mut mean = vec![0.0; mc * p];
            let mut var = vec![0.0; mc * p];
            pred.predict_many(x, &mut mean, &mut var)?;
            let mut imp = vec![0.0; p];
            for i in 0..mc {
                for (j, t) in targets.iter().enumerate() {
                    let s = var[i * p + j] + t.obs_var + t.disc_var;
                    imp[j] = (t.value - mean[i * p + j]).abs() / s.sqrt();
                }
                o[i] = kth_largest(&imp, opts.order);
            }
            Ok::<(), Error>(())
        })?;
    Ok(out)
}
