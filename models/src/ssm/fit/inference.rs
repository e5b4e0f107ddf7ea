//! Inference from a fit's asymptotic normal law on the unconstrained scale,
//! ẑ ~ N(z, Σ_z): derived quantities by the delta method, and parameter draws.

use mechml_engine::Result;
use mechml_engine::ad::Tape;
use rand::{RngExt, SeedableRng};
use rand_distr::StandardNormal;
use rand_xoshiro::Xoshiro256PlusPlus;

use super::problem::Derived;
use super::result::{DerivedEstimate, MleFit, Z95};

/// g(θ̂) with its standard error by the delta method (exact gradient on the tape):
/// se(g) = √(∇_z gᵀ Σ_z ∇_z g), with a 95 % interval on the log scale for a positive
/// value, else symmetric.
pub fn delta_method<D: Derived>(fit: &MleFit, g: &D) -> Result<DerivedEstimate> {
    let tape = Tape::new();
    let zv = tape.vars(&fit.z_hat);
    let th = fit.layout.natural(&zv)?;
    let v = g.eval(&th)?;
    let grad = tape.gradient(&v)?.wrt_slice(&zv);
    let value = v.val();
    let (se, ci) = match &fit.cov_z {
        Some(cov) => {
            let k = grad.len();
            let mut var = 0.0;
            for j in 0..k {
                for i in 0..k {
                    var += grad[i] * cov[i + j * k] * grad[j];
                }
            }
            let se = var.max(0.0).sqrt();
            let ci = if value > 0.0 {
                let s = se / value;
                (value * (-Z95 * s).exp(), value * (Z95 * s).exp())
            } else {
                (value - Z95 * se, value + Z95 * se)
            };
            (Some(se), Some(ci))
        }
        None => (None, None),
    };
    Ok(DerivedEstimate { value, se, ci })
}

/// `n` parameter vectors (natural scale) drawn from the fit's asymptotic normal law on the
/// unconstrained scale, N(ẑ, Σ_z); the estimate itself when no covariance is available.
pub fn sample_parameters(fit: &MleFit, n: usize, seed: u64) -> Result<Vec<Vec<f64>>> {
    let Some(cov) = &fit.cov_z else {
        return Ok(vec![fit.estimate.clone(); n]);
    };
    let k = fit.z_hat.len();
    let mut l = cov.clone();
    crate::ssm::dense::cholesky_in_place(&mut l, k, "parameter covariance")?;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let e: Vec<f64> = (0..k).map(|_| rng.sample(StandardNormal)).collect();
            let z: Vec<f64> = (0..k)
                .map(|i| fit.z_hat[i] + (0..=i).map(|j| l[i + j * k] * e[j]).sum::<f64>())
                .collect();
            fit.layout.natural(&z)
        })
        .collect()
}
