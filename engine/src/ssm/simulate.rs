//! Simulation from a linear-Gaussian state-space model: x₁ ~ N(m₁, P₁), then
//! y_t = H_t x_t + d_t + v_t and x_{t+1} = F_t x_t + B_t u_t + c_t + w_t, with seeded
//! normal draws (singular covariances allowed: a covariance is factored by its symmetric
//! eigen-decomposition, so deterministic components stay deterministic).
//!
//! ```
//! use mechml_engine::ssm::{LinearGaussianSsm, simulate::simulate};
//! use rand::SeedableRng;
//! let model = LinearGaussianSsm::time_invariant(1, 1, vec![0.9], vec![0.1], vec![1.0],
//!                                               vec![0.2], vec![0.0], vec![1.0])?;
//! let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(7);
//! let sim = simulate(&model, 50, &[], &mut rng)?;
//! assert_eq!(sim.states.len(), 50);
//! assert_eq!(sim.observations.y.len(), 50);
//! # Ok::<(), mechml_engine::Error>(())
//! ```

use crate::error::{Error, Result};
use faer::{Mat, Side};
use rand::{Rng, RngExt};
use rand_distr::StandardNormal;

use super::model::{LinearGaussianSsm, Observations};

/// A simulated path.
#[derive(Clone, Debug, PartialEq)]
pub struct Simulation {
    /// States x_t, `T x n`.
    pub states: Vec<f64>,
    /// Observations (with the inputs used).
    pub observations: Observations,
}

/// A square root L (`n x n`) with L Lᵀ = A for a symmetric positive semi-definite A:
/// the Cholesky factor when A is positive definite, else U diag(√max(λ, 0)).
/// Errors if A has an eigenvalue below −√ε ‖A‖ (not positive semi-definite).
pub fn psd_sqrt(a: &[f64], n: usize, what: &str) -> Result<Vec<f64>> {
    let mut l = a.to_vec();
    super::dense::symmetrize_in_place(&mut l, n);
    if super::dense::cholesky_in_place(&mut l, n, "psd_sqrt").is_ok() {
        return Ok(l);
    }
    let m = Mat::<f64>::from_fn(n, n, |i, j| 0.5 * (a[i + j * n] + a[j + i * n]));
    let eig = m
        .self_adjoint_eigen(Side::Lower)
        .map_err(|_| Error::NoConvergence {
            op: "psd_sqrt",
            iterations: 0,
            detail: format!("eigen-decomposition of {what} failed"),
        })?;
    let u = eig.U();
    let s = eig.S().column_vector();
    let smax = (0..n).map(|i| s[i].abs()).fold(0.0, f64::max);
    let mut out = vec![0.0; n * n];
    for k in 0..n {
        if s[k] < -1e-8 * smax.max(f64::MIN_POSITIVE) {
            return Err(Error::invalid_option(
                "psd_sqrt",
                what,
                format!("a matrix with eigenvalue {:e}", s[k]),
                "positive semi-definite (eigenvalues ≥ −1e-8 × the largest)",
            ));
        }
        let r = s[k].max(0.0).sqrt();
        for i in 0..n {
            out[i + k * n] = u[(i, k)] * r;
        }
    }
    Ok(out)
}

/// Simulates `n_steps` steps with inputs `u` (`n_steps x k`, time after time; empty when
/// the model has no inputs).
pub fn simulate<G: Rng + ?Sized>(
    model: &LinearGaussianSsm<f64>,
    n_steps: usize,
    u: &[f64],
    rng: &mut G,
) -> Result<Simulation> {
    model.check_shapes()?;
    let n = model.n_state();
    let m = model.n_obs();
    let k = model.n_inputs();
    let placeholder = Observations::new(n_steps, m, vec![0.0; n_steps * m], k, u.to_vec())?;
    model.check(&placeholder)?;
    let mut normal =
        |len: usize| -> Vec<f64> { (0..len).map(|_| rng.sample(StandardNormal)).collect() };
    let l1 = psd_sqrt(&model.p1, n, "the prior covariance P1")?;
    let z = normal(n);
    let mut x: Vec<f64> = (0..n)
        .map(|i| model.m1[i] + (0..n).map(|j| l1[i + j * n] * z[j]).sum::<f64>())
        .collect();
    let mut states = Vec::with_capacity(n_steps * n);
    let mut y = Vec::with_capacity(n_steps * m);
    let mut lq: Vec<f64> = Vec::new();
    let mut lr: Vec<f64> = Vec::new();
    for t in 0..n_steps {
        states.extend_from_slice(&x);
        // Observation.
        if t == 0 || model.r.is_varying() {
            lr = psd_sqrt(model.r.at(t), m, &format!("R at step {t}"))?;
        }
        let h = model.h.at(t);
        let d = model.d.at(t);
        let zv = normal(m);
        for i in 0..m {
            let mut v = d[i];
            for j in 0..n {
                v += h[i + j * m] * x[j];
            }
            for j in 0..m {
                v += lr[i + j * m] * zv[j];
            }
            y.push(v);
        }
        // Transition.
        if t == 0 || model.q.is_varying() {
            lq = psd_sqrt(model.q.at(t), n, &format!("Q at step {t}"))?;
        }
        let f = model.f.at(t);
        let c = model.c.at(t);
        let b = model.b.at(t);
        let ut = &u[t * k..(t + 1) * k];
        let zw = normal(n);
        let mut xn = vec![0.0; n];
        for i in 0..n {
            let mut v = c[i];
            for j in 0..n {
                v += f[i + j * n] * x[j] + lq[i + j * n] * zw[j];
            }
            for l in 0..k {
                v += b[i + l * n] * ut[l];
            }
            xn[i] = v;
        }
        x = xn;
    }
    Ok(Simulation {
        states,
        observations: Observations::new(n_steps, m, y, k, u.to_vec())?,
    })
}
