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

/// The rates and initial state of the worked case (Rackauckas et al. 2020, §2.1), in the
/// order of [`LotkaVolterra`]: `p = (α, β, δ, γ)`.
pub const LV_CASE_P: [f64; 4] = [1.3, 0.9, 1.8, 0.8];
/// The initial state of the worked case.
pub const LV_CASE_Y0: [f64; 2] = [0.44249296, 4.6280594];

/// The setup of the worked case in docs/de.md: the UDE with a 2-8-8-2 GELU network on
/// inputs scaled by ½, its initial weights (Glorot normal × 0.1, seed 3), and the training
/// options (multiple shooting over segments of 10 with ρ = 10; 300 Adam epochs, then up
/// to 3000 L-BFGS iterations; solver tolerances 1e-6/1e-8; seed 1).
///
/// # Errors
/// None in practice (the network and rates are fixed); kept for the constructors'.
pub fn lv_worked_case() -> Result<(UdeRhs<LvKnown>, Vec<f64>, super::TrainOptions)> {
    use mechml_engine::nn::{Activation, Init};
    let net = Mlp::new(vec![2, 8, 8, 2])?.with_activations(Activation::Gelu, Activation::Identity);
    let ude = lv_ude(LV_CASE_P[0], LV_CASE_P[2], net.clone())?.with_input_scale(vec![0.5, 0.5])?;
    let w0 = net
        .init_seeded(Init::GlorotNormal, 3)
        .iter()
        .map(|v| 0.1 * v)
        .collect();
    let opts = super::TrainOptions {
        solver: super::SolverSettings {
            rtol: 1e-6,
            atol: 1e-8,
            ..super::SolverSettings::default()
        },
        shooting: super::Shooting::Multiple {
            segment: 10,
            rho: 10.0,
        },
        epochs: 300,
        lbfgs_iters: 3000,
        seed: 1,
        ..super::TrainOptions::default()
    };
    Ok((ude, w0, opts))
}
