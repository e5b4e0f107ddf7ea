//! The Kennedy–O'Hagan log density (module docs of [`calibrate`](super)) and its sampling.

use faer::{Mat, Par};
use mechml_engine::ad::Dual;
use mechml_engine::infer::{LogDensity, NutsOptions, Posterior, Prior, sample};
use mechml_engine::linalg::Llt;
use mechml_engine::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::emulator::gp::{MultiOutputEmulator, PcaEmulator};

const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// An emulator's predictive moments of `T` outputs at one input, in the form
/// `N(mean, Φ diag(var) Φᵀ + diag(tau2))`, with gradients in the (unit-cube) input.
#[derive(Clone, Debug, PartialEq)]
pub struct EmuMoments {
    /// Mean (`T`).
    pub mean: Vec<f64>,
    /// `∂mean/∂x`, row-major `T × d`.
    pub dmean: Vec<f64>,
    /// Component variances (`k`).
    pub var: Vec<f64>,
    /// `∂var/∂x`, row-major `k × d`.
    pub dvar: Vec<f64>,
}

/// An emulator that calibration can use.
pub trait CalibrationEmulator: Send + Sync {
    /// Input dimension.
    fn dim(&self) -> usize;
    /// Number of outputs `T`.
    fn n_outputs(&self) -> usize;
    /// The components `Φ` (`T × k`); `None` for the identity (independent outputs).
    fn components(&self) -> Option<&Mat<f64>>;
    /// Fixed diagonal variance (truncation error), `T` values.
    fn fixed_var(&self) -> Vec<f64>;
    /// Moments and gradients at `x` (unit cube).
    fn moments(&self, x: &[f64]) -> Result<EmuMoments>;
}

impl CalibrationEmulator for PcaEmulator {
    fn dim(&self) -> usize {
        self.score_emulators().dim()
    }
    fn n_outputs(&self) -> usize {
        self.field_len()
    }
    fn components(&self) -> Option<&Mat<f64>> {
        Some(self.basis())
    }
    fn fixed_var(&self) -> Vec<f64> {
        self.truncation_var().to_vec()
    }
    fn moments(&self, x: &[f64]) -> Result<EmuMoments> {
        let g = self.score_emulators().predict_with_gradient(x)?;
        let (t, k, d) = (self.field_len(), g.len(), x.len());
        let phi = self.basis();
        let mut mean = self.mean_field().to_vec();
        let mut dmean = vec![0.0; t * d];
        for a in 0..t {
            for (j, gj) in g.iter().enumerate() {
                mean[a] += phi[(a, j)] * gj.mean;
                for c in 0..d {
                    dmean[a * d + c] += phi[(a, j)] * gj.dmean[c];
                }
            }
        }
        let mut dvar = vec![0.0; k * d];
        for (j, gj) in g.iter().enumerate() {
            dvar[j * d..(j + 1) * d].copy_from_slice(&gj.dvar);
        }
        Ok(EmuMoments {
            mean,
            dmean,
            var: g.iter().map(|p| p.var).collect(),
            dvar,
        })
    }
}

impl CalibrationEmulator for MultiOutputEmulator {
    fn dim(&self) -> usize {
        MultiOutputEmulator::dim(self)
    }
    fn n_outputs(&self) -> usize {
        MultiOutputEmulator::n_outputs(self)
    }
    fn components(&self) -> Option<&Mat<f64>> {
        None
    }
    fn fixed_var(&self) -> Vec<f64> {
        vec![0.0; self.n_outputs()]
    }
    fn moments(&self, x: &[f64]) -> Result<EmuMoments> {
        let g = self.predict_with_gradient(x)?;
        let d = x.len();
        Ok(EmuMoments {
            mean: g.iter().map(|p| p.mean).collect(),
            dmean: g.iter().flat_map(|p| p.dmean.iter().copied()).collect(),
            var: g.iter().map(|p| p.var).collect(),
            dvar: g
                .iter()
                .flat_map(|p| p.dvar.iter().copied())
                .collect::<Vec<_>>()
                .chunks(d)
                .flatten()
                .copied()
                .collect(),
        })
    }
}

/// The model discrepancy `δ`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Discrepancy {
    /// No discrepancy.
    None,
    /// A GP over the output locations with a squared exponential kernel; `σ_δ` and `ℓ_δ`
    /// sampled with these priors.
    Gp {
        /// Prior of the standard deviation `σ_δ`.
        sigma: Prior,
        /// Prior of the lengthscale `ℓ_δ` (units of the locations).
        lengthscale: Prior,
    },
}

/// Data and model of a calibration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KohOptions {
    /// Observations `z` (`T`).
    pub observations: Vec<f64>,
    /// Observation-error variances (`T`).
    pub obs_var: Vec<f64>,
    /// Locations `t_a` of the outputs (for the discrepancy kernel).
    pub locations: Vec<f64>,
    /// Discrepancy.
    pub discrepancy: Discrepancy,
    /// Names of the calibration inputs.
    pub names: Vec<String>,
}

/// The KOH log posterior on the unconstrained scale: `z = (logit θ, log σ_δ, log ℓ_δ)`.
pub struct KohDensity<'a, E: CalibrationEmulator> {
    emu: &'a E,
    opts: KohOptions,
    d: usize,
}

impl<E: CalibrationEmulator> Clone for KohDensity<'_, E> {
    fn clone(&self) -> Self {
        Self {
            emu: self.emu,
            opts: self.opts.clone(),
            d: self.d,
        }
    }
}

impl<'a, E: CalibrationEmulator> KohDensity<'a, E> {
    /// Checks lengths and values.
    pub fn new(emu: &'a E, opts: KohOptions) -> Result<Self> {
        let t = emu.n_outputs();
        for (name, len) in [
            ("observations", opts.observations.len()),
            ("obs_var", opts.obs_var.len()),
            ("locations", opts.locations.len()),
        ] {
            if len != t {
                return Err(Error::ShapeMismatch {
                    op: "KohDensity",
                    arg: "options",
                    expected: format!("{name} of length {t} (the emulator's outputs)"),
                    found: len.to_string(),
                });
            }
        }
        if let Some(i) = opts
            .obs_var
            .iter()
            .position(|v| !(v.is_finite() && *v >= 0.0))
        {
            return Err(Error::invalid_option(
                "KohOptions",
                format!("obs_var[{i}]"),
                opts.obs_var[i],
                "finite and ≥ 0",
            ));
        }
        if let Some(i) = opts.observations.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                op: "KohDensity",
                index: i,
                value: opts.observations[i],
                context: "observation".into(),
            });
        }
        if opts.names.len() != emu.dim() {
            return Err(Error::ShapeMismatch {
                op: "KohDensity",
                arg: "names",
                expected: format!("{} calibration inputs", emu.dim()),
                found: opts.names.len().to_string(),
            });
        }
        if let Discrepancy::Gp { sigma, lengthscale } = &opts.discrepancy {
            sigma.validate("discrepancy.sigma")?;
            lengthscale.validate("discrepancy.lengthscale")?;
        }
        Ok(Self {
            emu,
            d: emu.dim(),
            opts,
        })
    }

    fn n_disc(&self) -> usize {
        match self.opts.discrepancy {
            Discrepancy::None => 0,
            Discrepancy::Gp { .. } => 2,
        }
    }

    /// The natural parameters `(θ (unit cube), σ_δ, ℓ_δ)` at `z`.
    pub fn natural(&self, z: &[f64]) -> Vec<f64> {
        let mut out: Vec<f64> = z[..self.d].iter().map(|v| logistic(*v)).collect();
        out.extend(z[self.d..].iter().map(|v| v.exp()));
        out
    }
}

fn logistic(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        z.exp() / (1.0 + z.exp())
    }
}

impl<E: CalibrationEmulator> LogDensity for KohDensity<'_, E> {
    fn dim(&self) -> usize {
        self.d + self.n_disc()
    }

    fn log_density_grad(&mut self, z: &[f64], grad: &mut [f64]) -> Result<f64> {
        let (d, t) = (self.d, self.emu.n_outputs());
        let nat = self.natural(z);
        let theta = &nat[..d];
        if theta.iter().any(|v| !(*v > 0.0 && *v < 1.0)) {
            return Ok(f64::NEG_INFINITY);
        }
        let mo = self.emu.moments(theta)?;
        let k = mo.var.len();
        let phi = self.emu.components();
        // S = Φ diag(v) Φᵀ + diag(τ² + σ²_obs) + σ_δ² R.
        let mut s = Mat::<f64>::zeros(t, t);
        let fixed = self.emu.fixed_var();
        for a in 0..t {
            s[(a, a)] = fixed[a] + self.opts.obs_var[a];
        }
        match phi {
            Some(p) => {
                for b in 0..t {
                    for a in b..t {
                        let v: f64 = (0..k).map(|j| p[(a, j)] * mo.var[j] * p[(b, j)]).sum();
                        s[(a, b)] += v;
                    }
                }
            }
            None => {
                for a in 0..t {
                    s[(a, a)] += mo.var[a];
                }
            }
        }
        let (sd2, ell) = if self.n_disc() == 2 {
            (nat[d] * nat[d], nat[d + 1])
        } else {
            (0.0, 1.0)
        };
        let loc = &self.opts.locations;
        if sd2 > 0.0 {
            for b in 0..t {
                for a in b..t {
                    s[(a, b)] += sd2 * (-(loc[a] - loc[b]).powi(2) / (2.0 * ell * ell)).exp();
                }
            }
        }
        let llt = match Llt::factor(s.as_ref(), Par::Seq) {
            Ok(l) => l,
            Err(_) => return Ok(f64::NEG_INFINITY),
        };
        let r: Vec<f64> = self
            .opts
            .observations
            .iter()
            .zip(&mo.mean)
            .map(|(a, b)| a - b)
            .collect();
        let w = llt.solve_vec(&r, Par::Seq);
        let mut lp = -0.5 * r.iter().zip(&w).map(|(a, b)| a * b).sum::<f64>()
            - 0.5 * llt.logdet()
            - 0.5 * t as f64 * LN_2PI;
        // S̄ = ½ (w wᵀ − S⁻¹), full.
        let sinv = llt.inverse(Par::Seq);
        let sbar = |a: usize, b: usize| 0.5 * (w[a] * w[b] - sinv[(a, b)]);
        grad.iter_mut().for_each(|g| *g = 0.0);
        // θ: mean part and variance part.
        for c in 0..d {
            let mut g = 0.0;
            for a in 0..t {
                g += w[a] * mo.dmean[a * d + c];
            }
            grad[c] = g;
        }
        for j in 0..k {
            let q = match phi {
                Some(p) => {
                    let mut q = 0.0;
                    for a in 0..t {
                        for b in 0..t {
                            q += p[(a, j)] * sbar(a, b) * p[(b, j)];
                        }
                    }
                    q
                }
                None => sbar(j, j),
            };
            for c in 0..d {
                grad[c] += q * mo.dvar[j * d + c];
            }
        }
        // Chain rule to z and the logistic log-Jacobian log θ(1 − θ).
        for c in 0..d {
            let th = theta[c];
            grad[c] = grad[c] * th * (1.0 - th) + (1.0 - 2.0 * th);
            lp += (th * (1.0 - th)).ln();
        }
        if let Discrepancy::Gp { sigma, lengthscale } = &self.opts.discrepancy {
            let (mut gs2, mut gl) = (0.0, 0.0);
            for a in 0..t {
                for b in 0..t {
                    let dt2 = (loc[a] - loc[b]).powi(2);
                    let rr = (-dt2 / (2.0 * ell * ell)).exp();
                    let sb = sbar(a, b);
                    gs2 += sb * rr;
                    gl += sb * sd2 * rr * dt2 / (ell * ell * ell);
                }
            }
            let sdv = nat[d];
            // ∂/∂σ = 2σ ∂/∂σ²; priors via dual numbers; z = log σ: ∂/∂z = σ ∂/∂σ, Jacobian +z.
            let ps = sigma.log_pdf(Dual::dual(sdv, 1.0));
            let pl = lengthscale.log_pdf(Dual::dual(ell, 1.0));
            lp += ps.v + pl.v + z[d] + z[d + 1];
            grad[d] = (2.0 * sdv * gs2 + ps.tangent()) * sdv + 1.0;
            grad[d + 1] = (gl + pl.tangent()) * ell + 1.0;
        }
        if !lp.is_finite() {
            return Ok(f64::NEG_INFINITY);
        }
        Ok(lp)
    }

    fn param_names(&self) -> Vec<String> {
        let mut n = self.opts.names.clone();
        if self.n_disc() == 2 {
            n.push("sigma_delta".into());
            n.push("ell_delta".into());
        }
        n
    }

    fn constrain(&self, z: &[f64]) -> Result<Vec<f64>> {
        Ok(self.natural(z))
    }
}

/// A calibration's posterior (calibration inputs on the unit cube).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CalibrationResult {
    /// The NUTS posterior (draws of `θ` on the unit cube, then `σ_δ`, `ℓ_δ`).
    pub posterior: Posterior,
}

/// Samples the KOH posterior by NUTS.
pub fn calibrate<E: CalibrationEmulator>(
    emu: &E,
    opts: KohOptions,
    nuts: &NutsOptions,
) -> Result<CalibrationResult> {
    let dens = KohDensity::new(emu, opts)?;
    let posterior = sample(&dens, nuts)?;
    Ok(CalibrationResult { posterior })
}
