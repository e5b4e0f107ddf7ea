//! The Kalman log-likelihood block against the reference values of WORKLOADS.md
//! section 7 (dynamax and a hand-written JAX filter), value and gradient through the exact
//! discretisation, by both pullbacks; and exact Hessian–vector products (forward over
//! reverse) against finite differences of the gradient.
//!
//! The two-box energy-balance model of WORKLOADS section 3b is written out here from its
//! equations (the same construction as `mechml_models::ssm::ebm::KBoxEbm::state_space`
//! for two boxes, efficacy 1 and a fixed prior), so that the engine's filter is checked
//! without the models crate.
#![allow(clippy::needless_range_loop)]

use mechml_engine::ad::{Dual, Real, Tape, Var};
use mechml_engine::ssm::discretize::{ContinuousLinearSde, discretize};
use mechml_engine::ssm::loglik_op::{KalmanGradient, kalman_loglik_tape};
use mechml_engine::ssm::{LinearGaussianSsm, Observations, Seq};

const THETA0: [f64; 7] = [8.0, 100.0, 1.3, 0.7, 3.7, 0.5, 0.1];
const LL_REF: f64 = -2835.755477794489;
const GRAD_REF: [f64; 7] = [
    2.1552533129658116,
    0.07211243756436972,
    435.37037811588607,
    -2.8186148807694167,
    -151.58121386371815,
    -55.22248019703923,
    -1747.1572012301249,
];

/// The observations (one series, unit input carrying the forcing) and the step Δt = 1.
struct EbmData {
    obs: Observations,
}

fn workload_data() -> EbmData {
    let text = include_str!("data/kf_ebm_T10000.csv");
    let y: Vec<f64> = text
        .lines()
        .skip(1)
        .map(|l| l.trim().parse().unwrap())
        .collect();
    assert_eq!(y.len(), 10_000);
    let t = y.len();
    let obs = Observations::new(t, 1, y, 1, vec![1.0; t]).unwrap();
    EbmData { obs }
}

/// log-likelihood of WORKLOADS section 6 as a function of θ = (C, C_D, λ, γ, F, σ, R),
/// recorded on `tape`.
fn loglik<'t, S: Real + Send + 'static>(
    tape: &'t Tape<S>,
    theta: &[Var<'t, S>],
    data: &EbmData,
    method: KalmanGradient,
) -> mechml_engine::Result<Var<'t, S>> {
    // Cummins, Stephenson & Stott (2020) with two boxes and efficacy 1:
    // C dT = (F − λT − γ(T − T_D)) dt + σ dW,  C_D dT_D = γ(T − T_D) dt,  y = T + v.
    let (c, cd, lam, gam, f, sig) = (theta[0], theta[1], theta[2], theta[3], theta[4], theta[5]);
    let zero = Var::constant(S::zero());
    let one = Var::constant(S::one());
    let mut a = vec![zero; 4];
    a[0] -= lam / c;
    a[0] -= gam * one / c;
    a[2] += gam * one / c;
    a[3] -= gam / cd;
    a[1] += gam / cd;
    let b = vec![f / c, zero];
    let s = sig / c;
    let w = vec![s * s, zero, zero, zero];
    let sde = ContinuousLinearSde::new(2, 1, a, b, w)?;
    let disc = discretize(&sde, 1.0)?;
    // R enters as σ_T² with σ_T = √R.
    let st = theta[6].sqrt();
    let model = LinearGaussianSsm {
        f: Seq::constant(2, 2, disc.phi)?,
        b: Seq::constant(2, 1, disc.gamma)?,
        c: Seq::zeros(2, 1),
        q: Seq::constant(2, 2, disc.q)?,
        h: Seq::constant(1, 2, vec![one, zero])?,
        d: Seq::constant(1, 1, vec![zero])?,
        r: Seq::constant(1, 1, vec![st * st])?,
        m1: vec![zero, zero],
        p1: vec![one, zero, zero, one],
    };
    kalman_loglik_tape(tape, &model, &data.obs, method)
}

#[test]
fn value_and_gradient_match_workloads_reference() {
    let data = workload_data();
    for method in [KalmanGradient::Adjoint, KalmanGradient::Recorded] {
        let tape = Tape::new();
        let theta = tape.vars(&THETA0);
        let ll = loglik(&tape, &theta, &data, method).unwrap();
        assert!(
            (ll.val() - LL_REF).abs() < 1e-9 * LL_REF.abs(),
            "{method:?}: loglik {} vs reference {LL_REF}",
            ll.val()
        );
        let g = tape.gradient(&ll).unwrap().wrt_slice(&theta);
        for i in 0..7 {
            assert!(
                (g[i] - GRAD_REF[i]).abs() < 1e-7 * GRAD_REF[i].abs().max(1.0),
                "{method:?}: dLL/dθ[{i}] = {} vs reference {}",
                g[i],
                GRAD_REF[i]
            );
        }
    }
}

#[test]
fn hessian_vector_products_match_finite_differences_of_the_gradient() {
    // Short series so that finite differences of the gradient are cheap.
    let full = workload_data();
    let t = 300;
    let obs = Observations::new(t, 1, full.obs.y[..t].to_vec(), 1, vec![1.0; t]).unwrap();
    let data = EbmData { obs };
    let grad_at = |x: &[f64]| -> Vec<f64> {
        let tape = Tape::new();
        let th = tape.vars(x);
        let ll = loglik(&tape, &th, &data, KalmanGradient::Adjoint).unwrap();
        tape.gradient(&ll).unwrap().wrt_slice(&th)
    };
    let v = [0.3, -0.02, 0.5, 0.1, -0.2, 0.4, 0.05];
    for method in [KalmanGradient::Adjoint, KalmanGradient::Recorded] {
        let tape: Tape<Dual> = Tape::with_capacity_generic(1 << 12);
        let th: Vec<Var<'_, Dual>> = THETA0
            .iter()
            .zip(&v)
            .map(|(&x, &d)| tape.var(Dual::dual(x, d)))
            .collect();
        let ll = loglik(&tape, &th, &data, method).unwrap();
        let adj = tape.gradient(&ll).unwrap();
        let g: Vec<Dual> = adj.wrt_slice(&th);
        let g0 = grad_at(&THETA0);
        // Central differences of the gradient along v.
        let h = 1e-5;
        let xp: Vec<f64> = THETA0.iter().zip(&v).map(|(x, d)| x + h * d).collect();
        let xm: Vec<f64> = THETA0.iter().zip(&v).map(|(x, d)| x - h * d).collect();
        let (gp, gm) = (grad_at(&xp), grad_at(&xm));
        for i in 0..7 {
            assert!((g[i].value() - g0[i]).abs() < 1e-9 * g0[i].abs().max(1.0));
            let fd = (gp[i] - gm[i]) / (2.0 * h);
            let hv = g[i].tangent();
            assert!(
                (hv - fd).abs() < 1e-5 * fd.abs().max(1.0),
                "{method:?}: (Hv)[{i}] = {hv} vs finite difference {fd}"
            );
        }
    }
}
