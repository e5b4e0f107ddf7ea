//! Climate-sensitivity figures implied by k-box parameters.
//!
//! * Equilibrium climate sensitivity ECS = F₂ₓ / κ₁: the equilibrium top-box warming under
//!   the forcing of doubled CO₂ (all boxes warm equally at equilibrium, so ε drops out;
//!   Cummins et al. 2020, section 2; Geoffroy et al. 2013, J. Climate 26, 1841–1857).
//! * Transient climate response TCR: the top-box warming at year 70 of a 1 % per year
//!   CO₂ increase, i.e. under the forcing ramp f(t) = F₂ₓ t ln(1.01)/ln 2 from rest. For
//!   dx/dt = A x + b r t with x(0) = 0 the solution is
//!   x(t) = r [A⁻²(e^{At} − I) − A⁻¹ t] b (checked against a fine-step integration in the
//!   tests).
//! * The e-folding timescales −1/λᵢ of the deterministic box dynamics.
//!
//! All are generic over [`Real`], so their standard errors follow from the parameters'
//! covariance by the delta method with exact gradients.

use mechml_engine::ad::Real;
use mechml_engine::{Error, Result};

use super::model::{EbmParams, KBoxEbm};
use crate::ssm::dense::lu_solve_in_place;
use crate::ssm::expm::expm;

/// Forcing of doubled CO₂ in W m⁻² (Myhre et al. 1998: 5.35 ln 2), the value used by the
/// RCP forcing data.
pub const F2X_DEFAULT: f64 = 3.71;

/// ECS = F₂ₓ / κ₁.
pub fn ecs<R: Real>(p: &EbmParams<R>, f2x: R) -> R {
    f2x / p.kappa[0]
}

/// TCR: top-box warming after 70 years of the 1 %/yr ramp (forcing F₂ₓ at year ≈ 69.7).
pub fn tcr<R: Real>(model: &KBoxEbm, p: &EbmParams<R>, f2x: R) -> Result<R> {
    Ok(ramp_response(model, p, f2x, 70.0)?[0])
}

/// Every box's temperature [T₁, …, T_k] at time `t` (years) under the forcing ramp
/// f(s) = F₂ₓ s ln(1.01)/ln 2 from rest (the top box's is the transient response; the
/// deeper boxes lag behind it).
pub fn ramp_response<R: Real>(model: &KBoxEbm, p: &EbmParams<R>, f2x: R, t: f64) -> Result<Vec<R>> {
    if !(t.is_finite() && t >= 0.0) {
        return Err(Error::invalid_option(
            "ramp_response",
            "t",
            t,
            "a finite time ≥ 0 (years)",
        ));
    }
    let sde = model.continuous(p)?;
    let n = sde.n;
    // Input per unit u is the column B (which contains the forcing scale s): the ramp of u
    // is r = F₂ₓ ln(1.01) / (ln 2 · s).
    let r = f2x * (1.01f64.ln() / 2f64.ln()) / p.forcing_scale;
    let at: Vec<R> = sde.a.iter().map(|&x| x * t).collect();
    let e = expm(&at, n)?;
    // v = (e^{At} − I) b
    let mut v = vec![R::zero(); n];
    for i in 0..n {
        let mut s = -sde.b[i];
        for j in 0..n {
            s += e[i + j * n] * sde.b[j];
        }
        v[i] = s;
    }
    // A singular drift matrix (a decoupled box) has no transient response:
    // `Error::Singular` names the pivot.
    let solve = |rhs: &mut Vec<R>| lu_solve_in_place(&sde.a, n, rhs, 1, "ramp_response");
    solve(&mut v)?;
    solve(&mut v)?; // A⁻²(e^{At} − I) b
    let mut w = sde.b.clone();
    solve(&mut w)?; // A⁻¹ b
    let o = model.t1_index();
    Ok((o..n).map(|i| r * (v[i] - w[i] * t)).collect())
}

/// The e-folding timescales (years) of the deterministic temperature dynamics, sorted
/// from fast to slow: −1/λ for the eigenvalues λ of the boxes' drift block.
pub fn timescales(model: &KBoxEbm, p: &EbmParams<f64>) -> Result<Vec<f64>> {
    let sde = model.continuous(p)?;
    let n = sde.n;
    let o = model.t1_index();
    let k = model.boxes;
    let a = faer::Mat::<f64>::from_fn(k, k, |i, j| sde.a[(o + i) + (o + j) * n]);
    let ev = a.eigenvalues().map_err(|_| Error::NoConvergence {
        op: "timescales",
        iterations: 0,
        detail: "eigenvalues of the drift matrix".into(),
    })?;
    let mut ts: Vec<f64> = ev.iter().map(|z| -1.0 / z.re).collect();
    ts.sort_by(|a, b| a.total_cmp(b));
    Ok(ts)
}
