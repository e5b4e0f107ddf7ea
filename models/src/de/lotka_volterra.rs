//! Worked case: Lotka–Volterra with its interaction terms unknown (Rackauckas et al. 2020,
//! arXiv:2001.04385, §2.1). The truth is
//!
//! $$x' = αx − βxy,\qquad y' = γxy − δy$$
//!
//! (here in the engine's parameter order `p = (α, β, δ, γ)` of
//! [`LotkaVolterra`]: `x' = p₀x − p₁xy`,
//! `y' = p₃xy − p₂y`). The growth and death rates are known; the UDE learns
//! `(−βxy, γxy)` as a network, and [`stlsq`](super::stlsq) then reads the learned term
//! back as monomials.

use mechml_engine::Result;
use mechml_engine::ad::Real;
use mechml_engine::nn::Mlp;
use mechml_engine::ode::problems::LotkaVolterra;
use mechml_engine::ode::{Method, OdeOptions, OdeProblem, OdeRhs, SaveAt, solve};
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use rand_xoshiro::Xoshiro256PlusPlus;

use super::data::Trajectory;
use super::ude::UdeRhs;

/// The known part `x' = αx`, `y' = −δy`; parameters `(α, δ)`.
#[derive(Clone, Copy, Debug, Default)]
pub struct LvKnown;

impl OdeRhs for LvKnown {
    fn n_states(&self) -> usize {
        2
    }
    fn n_params(&self) -> usize {
        2
    }
    fn rhs<R: Real>(&self, _t: R, y: &[R], p: &[R], dy: &mut [R]) {
        dy[0] = p[0] * y[0];
        dy[1] = -(p[1] * y[1]);
    }
}

/// The UDE `x' = αx + g₀(x, y)`, `y' = −δy + g₁(x, y)` with a `2 → … → 2` network.
///
/// # Errors
/// A network that is not `2 → … → 2`, or non-finite rates.
pub fn lv_ude(alpha: f64, delta: f64, net: Mlp) -> Result<UdeRhs<LvKnown>> {
    UdeRhs::new(LvKnown, vec![alpha, delta], net, vec![0, 1])
}

/// The true missing term `(−βxy, γxy)` for the engine's parameters `p = (α, β, δ, γ)`.
pub fn lv_true_term(p: &[f64; 4], y: &[f64]) -> [f64; 2] {
    [-p[1] * y[0] * y[1], p[3] * y[0] * y[1]]
}

/// Observations of the true Lotka–Volterra system (`p = (α, β, δ, γ)`, from `y0`) at `ts`
/// (the first time is the start), with independent Gaussian noise of standard deviation
/// `noise` times each component's mean over the series (Rackauckas et al. use 5%), from a
/// xoshiro256++ stream seeded with `seed`.
///
/// # Errors
/// Invalid times or a solver failure.
pub fn lv_observations(
    p: [f64; 4],
    y0: [f64; 2],
    ts: &[f64],
    noise: f64,
    seed: u64,
) -> Result<Trajectory> {
    let t_end = *ts.last().unwrap_or(&0.0);
    let t0 = ts.first().copied().unwrap_or(0.0);
    let prob = OdeProblem::new(LotkaVolterra, t0, t_end, y0.to_vec(), p.to_vec())?;
    let opts = OdeOptions::with_tol(1e-10, 1e-12).saving(SaveAt::Times(ts.to_vec()));
    let sol = solve(&prob, Method::Vern7, &opts)?;
    let n = sol.ys.len() as f64;
    let mean: Vec<f64> = (0..2)
        .map(|i| sol.ys.iter().map(|y| y[i]).sum::<f64>() / n)
        .collect();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let ys = sol
        .ys
        .iter()
        .map(|y| {
            (0..2)
                .map(|i| {
                    let z: f64 = StandardNormal.sample(&mut rng);
                    y[i] + noise * mean[i] * z
                })
                .collect()
        })
        .collect();
    Trajectory::new(ts.to_vec(), ys)
}
