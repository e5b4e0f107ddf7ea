//! The acquisition criteria (module docs of [`sequential`](super)).

use faer::{Mat, Par};
use mechml_engine::gp::{Inputs, Kernel};
use mechml_engine::infer::stats::normal_cdf;
use mechml_engine::linalg::Llt;
use mechml_engine::{Error, Result};

use crate::emulator::gp::GpEmulator;

/// A sequential-design criterion: scores of candidate inputs (higher is better).
pub trait Acquisition {
    /// Short name (for reports).
    fn name(&self) -> &'static str;

    /// Scores of the candidates `xs` (point-major, unit cube) given the emulator; only
    /// those with `available[i]` are compared (the others were picked already; their
    /// score is ignored and may be anything finite).
    fn scores(&self, emu: &GpEmulator, xs: &[f64], available: &[bool]) -> Result<Vec<f64>>;
}

/// The largest predictive variance of the latent output.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MaxVariance;

impl Acquisition for MaxVariance {
    fn name(&self) -> &'static str {
        "max_variance"
    }
    fn scores(&self, emu: &GpEmulator, xs: &[f64], _: &[bool]) -> Result<Vec<f64>> {
        let m = xs.len() / emu.inputs().d().max(1);
        let (mut mean, mut var) = (vec![0.0; m], vec![0.0; m]);
        emu.predict_into(xs, &mut mean, &mut var)?;
        Ok(var)
    }
}

/// MICE (Beck & Guillas 2016, Algorithm 1): `σ²(x | D) / σ²_τ(x | C \ x)`, the
/// denominator from the emulator's kernel on the candidates still available with a
/// nugget `τ² = nugget · σ²` (their default `τ² = 1` on the correlation scale).
///
/// `σ²_τ(x | C \ x) = 1/[M⁻¹]_xx − τ²` with `M = K_CC + τ² I` over the available
/// candidates (the Schur complement), so one inverse of `M` scores every candidate:
/// `O(m³)` in the number of candidates, which is capped at [`Mice::MAX_CANDIDATES`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Mice {
    /// `τ²` relative to the kernel variance (> 0).
    pub nugget: f64,
}

impl Default for Mice {
    fn default() -> Self {
        Self { nugget: 1.0 }
    }
}

impl Mice {
    /// The most candidates MICE scores at once (its cost is cubic in their number).
    pub const MAX_CANDIDATES: usize = 3000;
}

impl Acquisition for Mice {
    fn name(&self) -> &'static str {
        "mice"
    }
    fn scores(&self, emu: &GpEmulator, xs: &[f64], available: &[bool]) -> Result<Vec<f64>> {
        let d = emu.inputs().d();
        let m = xs.len() / d.max(1);
        if !(self.nugget.is_finite() && self.nugget > 0.0) {
            return Err(Error::invalid_option(
                "Mice",
                "nugget",
                self.nugget,
                "finite and > 0",
            ));
        }
        let idx: Vec<usize> = (0..m).filter(|&i| available[i]).collect();
        if idx.len() > Self::MAX_CANDIDATES {
            return Err(Error::invalid_option(
                "Mice",
                "candidates",
                idx.len(),
                format!("at most {} (cubic cost)", Self::MAX_CANDIDATES),
            ));
        }
        let (mut mean, mut var) = (vec![0.0; m], vec![0.0; m]);
        emu.predict_into(xs, &mut mean, &mut var)?;
        let theta = emu.kernel_params();
        let tau2 = self.nugget * theta[0];
        let pts: Vec<f64> = idx
            .iter()
            .flat_map(|&i| xs[i * d..(i + 1) * d].iter().copied())
            .collect();
        let c = Inputs::new(idx.len(), d, pts)?;
        let mut k = Mat::<f64>::zeros(c.n(), c.n());
        emu.kernel().matrix_into(&theta, &c, None, k.as_mut());
        mechml_engine::linalg::fill_upper_from_lower(&mut k);
        for i in 0..c.n() {
            k[(i, i)] += tau2;
        }
        let minv = Llt::factor_named("Mice: K_CC + τ²I", k.as_ref(), Par::Seq)?.inverse(Par::Seq);
        let mut out = vec![0.0; m];
        for (a, &i) in idx.iter().enumerate() {
            let denom = (1.0 / minv[(a, a)] - tau2).max(1e-12 * theta[0]);
            out[i] = var[i] / denom;
        }
        Ok(out)
    }
}

/// Expected improvement over the smallest output so far, for minimisation:
/// `EI = (f* − μ − ξ) Φ(z) + σ φ(z)`, `z = (f* − μ − ξ)/σ` (Jones et al. 1998, eq. (15);
/// `ξ ≥ 0` trades exploration for exploitation). `f*` is the smallest training output
/// (fantasies included).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ExpectedImprovement {
    /// The margin `ξ` (≥ 0).
    pub xi: f64,
}

impl Acquisition for ExpectedImprovement {
    fn name(&self) -> &'static str {
        "expected_improvement"
    }
    fn scores(&self, emu: &GpEmulator, xs: &[f64], _: &[bool]) -> Result<Vec<f64>> {
        if !(self.xi.is_finite() && self.xi >= 0.0) {
            return Err(Error::invalid_option(
                "ExpectedImprovement",
                "xi",
                self.xi,
                "finite and ≥ 0",
            ));
        }
        let m = xs.len() / emu.inputs().d().max(1);
        let (mut mean, mut var) = (vec![0.0; m], vec![0.0; m]);
        emu.predict_into(xs, &mut mean, &mut var)?;
        let best = emu.outputs().iter().copied().fold(f64::INFINITY, f64::min);
        Ok(mean
            .iter()
            .zip(&var)
            .map(|(&mu, &v)| {
                let imp = best - mu - self.xi;
                let s = v.sqrt();
                if s <= 1e-300 {
                    return imp.max(0.0);
                }
                let z = imp / s;
                let pdf = (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
                imp * normal_cdf(z) + s * pdf
            })
            .collect())
    }
}
