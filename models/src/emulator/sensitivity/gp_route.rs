//! Sobol' indices of a GP emulator in closed form (Oakley & O'Hagan 2004, JRSS B 66(3),
//! §§3–4), for a squared exponential kernel, a zero or constant mean and independent
//! uniform inputs on the unit cube.
//!
//! With the posterior mean `m*(x) = β̂ + Σ_j α_j k(x, x_j)` and covariance
//! `c*(x, x') = k(x, x') − k(x)ᵀ K_y⁻¹ k(x')`, every integral factorises over inputs
//! into one-dimensional Gaussian integrals on `[0, 1]`
//! (`g(u, a) = exp(−(u − a)²/(2ℓ²))`):
//!
//! $$ I_1(a) = ∫_0^1 g(u, a)\\,du, \quad I_2(a, b) = ∫_0^1 g(u, a) g(u, b)\\,du, \quad
//!    J = ∫_0^1∫_0^1 g(u, v)\\,du\\,dv, $$
//!
//! all in terms of `erf`. For a subset `S` of inputs let
//! `P_S(j, l) = Π_{k∈S} I_2(x_{jk}, x_{lk}) Π_{k∉S} I_1(x_{jk}) I_1(x_{lk})`. The posterior
//! expectation of `V_S = Var_{x_S}(E[f | x_S])` is then (Oakley & O'Hagan 2004, eqs. (11)–(13),
//! specialised to a plug-in constant mean)
//!
//! $$ E^*[V_S] = σ^4 \sum_{j,l} (α_j α_l − (K_y^{-1})_{jl}) (P_S − P_∅)(j, l)
//!    + σ^2 \Big(\prod_{k∉S} J_k − \prod_k J_k\Big): $$
//!
//! the first part with `α αᵀ` alone is the variance of the posterior mean's conditional
//! expectation; the rest is the emulator's own uncertainty. Indices are the ratios
//! `S_i = E*[V_{{i}}]/E*[V]` and `S_{T,i} = 1 − E*[V_{∼i}]/E*[V]`.

use mechml_engine::gp::Kernel;
use mechml_engine::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::emulator::gp::{EmuKernel, GpEmulator, MeanFunction};

/// Indices of a GP emulator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GpSobol {
    /// First-order indices, emulator uncertainty included.
    pub first: Vec<f64>,
    /// Total indices, emulator uncertainty included.
    pub total: Vec<f64>,
    /// First-order indices of the posterior mean function alone.
    pub first_mean_fn: Vec<f64>,
    /// Total indices of the posterior mean function alone.
    pub total_mean_fn: Vec<f64>,
    /// `E*[V]`, the posterior mean of the output variance.
    pub variance: f64,
    /// The part of `E*[V]` due to emulator uncertainty.
    pub emulator_variance: f64,
}

fn erf(x: f64) -> f64 {
    mechml_engine::ad::special::erf(x)
}

/// Sobol' indices of the emulated function (module docs).
///
/// # Errors
/// [`Error::NonFinite`] when the closed form loses its precision (indices outside
/// `[0, 1]` or a first-order index above its total: a large signal variance with a nearly
/// singular covariance matrix makes the σ⁴-weighted sums cancel).
/// [`Error::Unsupported`] for a kernel other than the squared exponential or a mean
/// other than zero or constant (use [`sobol_indices`](super::sobol_indices) on the
/// emulator's mean instead).
pub fn gp_sobol_indices(emu: &GpEmulator) -> Result<GpSobol> {
    if !matches!(emu.kernel(), EmuKernel::Se(_)) {
        return Err(Error::Unsupported {
            op: "gp_sobol_indices",
            reason: "the closed form needs a squared exponential kernel".into(),
        });
    }
    if !matches!(
        emu.mean_function(),
        MeanFunction::Zero | MeanFunction::Constant
    ) {
        return Err(Error::Unsupported {
            op: "gp_sobol_indices",
            reason: "the closed form needs a zero or constant mean".into(),
        });
    }
    let x = emu.inputs();
    let (n, d) = (x.n(), x.d());
    let theta = emu.kernel_params();
    debug_assert_eq!(theta.len(), emu.kernel().n_params());
    let s2 = theta[0];
    let ell = &theta[1..];
    let alpha = emu.alpha();
    let kinv = emu.kinv();
    // M = α αᵀ − K⁻¹ and A = α αᵀ (mean function alone).
    let sq2 = std::f64::consts::SQRT_2;
    let sqpi = std::f64::consts::PI.sqrt();
    let mut i1 = vec![0.0; n * d];
    let mut jk = vec![0.0; d];
    for k in 0..d {
        let l = ell[k];
        for j in 0..n {
            let a = x.point(j)[k];
            i1[j * d + k] = l * sqpi / sq2 * (erf((1.0 - a) / (sq2 * l)) + erf(a / (sq2 * l)));
        }
        jk[k] =
            2.0 * (l * sqpi / sq2 * erf(1.0 / (sq2 * l)) - l * l * (1.0 - (-0.5 / (l * l)).exp()));
    }
    let i2 = |k: usize, a: f64, b: f64| {
        let l = ell[k];
        let c = 0.5 * (a + b);
        (-(a - b).powi(2) / (4.0 * l * l)).exp()
            * 0.5
            * l
            * sqpi
            * (erf((1.0 - c) / l) + erf(c / l))
    };
    // Accumulate Σ w_jl (P_S − P_∅) for S = {i} and S = ∼i, and S = all.
    let mut first_m = vec![0.0; d];
    let mut first_a = vec![0.0; d];
    let mut rest_m = vec![0.0; d];
    let mut rest_a = vec![0.0; d];
    let (mut all_m, mut all_a) = (0.0, 0.0);
    let mut r = vec![0.0; d];
    for j in 0..n {
        for l in 0..n {
            let a = alpha[j] * alpha[l];
            let m = a - kinv[(j, l)];
            let mut p0 = 1.0;
            let mut pall = 1.0;
            for k in 0..d {
                let ij = i1[j * d + k] * i1[l * d + k];
                let i2v = i2(k, x.point(j)[k], x.point(l)[k]);
                p0 *= ij;
                pall *= i2v;
                r[k] = i2v / ij;
            }
            all_m += m * (pall - p0);
            all_a += a * (pall - p0);
            for k in 0..d {
                let ps = p0 * r[k];
                let pr = pall / r[k];
                first_m[k] += m * (ps - p0);
                first_a[k] += a * (ps - p0);
                rest_m[k] += m * (pr - p0);
                rest_a[k] += a * (pr - p0);
            }
        }
    }
    let s4 = s2 * s2;
    let jall: f64 = jk.iter().product();
    let v = s4 * all_m + s2 * (1.0 - jall);
    let va = s4 * all_a;
    if !(v > 0.0 && va > 0.0) {
        return Err(Error::NonFinite {
            op: "gp_sobol_indices",
            index: 0,
            value: v,
            context: "posterior variance of the output (a constant emulator?)".into(),
        });
    }
    let mut out = GpSobol {
        first: vec![0.0; d],
        total: vec![0.0; d],
        first_mean_fn: vec![0.0; d],
        total_mean_fn: vec![0.0; d],
        variance: v,
        emulator_variance: v - va,
    };
    for k in 0..d {
        let j_not_i = jall / jk[k]; // Π_{k'∉{i}} J
        let vi = s4 * first_m[k] + s2 * (j_not_i - jall);
        let vrest = s4 * rest_m[k] + s2 * (jk[k] - jall);
        out.first[k] = vi / v;
        out.total[k] = 1.0 - vrest / v;
        out.first_mean_fn[k] = s4 * first_a[k] / va;
        out.total_mean_fn[k] = 1.0 - s4 * rest_a[k] / va;
    }
    // The σ⁴-weighted sums cancel: with a large signal variance and a nearly singular
    // K (long lengthscales, a tiny nugget) they lose every digit. Indices outside their
    // range are reported as an error instead of being returned.
    let tol = 0.02;
    let sum_first: f64 = out.first.iter().sum();
    let bad = (0..d).find(|&k| {
        let (f, t) = (out.first[k], out.total[k]);
        !(f.is_finite() && t.is_finite()) || f < -tol || t > 1.0 + tol || f > t + tol || t < -tol
    });
    if bad.is_some() || sum_first > 1.0 + tol {
        let k = bad.unwrap_or(0);
        return Err(Error::NonFinite {
            op: "gp_sobol_indices",
            index: k,
            value: out.first[k],
            context: format!(
                "the closed form lost its precision (first-order {:?}, total {:?}; signal \
                 variance {s2:.3e}): the emulator is too ill-conditioned; use sobol_indices \
                 on its mean, or more runs",
                out.first, out.total
            ),
        });
    }
    Ok(out)
}
