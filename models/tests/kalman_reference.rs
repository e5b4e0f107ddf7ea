//! The Kalman log-likelihood block against the reference values of WORKLOADS.md
//! section 7 (dynamax and a hand-written JAX filter), value and gradient through the exact
//! discretisation, by both pullbacks; and exact Hessian–vector products (forward over
//! reverse) against finite differences of the gradient.
#![allow(clippy::needless_range_loop)]

use mechml_engine::ad::{Dual, Real, Tape, Var};
use mechml_models::ssm::Observations;
use mechml_models::ssm::ebm::{EbmData, EbmPrior, KBoxEbm};
use mechml_models::ssm::loglik_op::{KalmanGradient, kalman_loglik_tape};

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
    EbmData::new(obs, vec![0.0; t], 1.0).unwrap()
}

/// log-likelihood of WORKLOADS section 6 as a function of θ = (C, C_D, λ, γ, F, σ, R),
/// recorded on `tape`.
fn loglik<'t, S: Real + Send + 'static>(
    tape: &'t Tape<S>,
    theta: &[Var<'t, S>],
    data: &EbmData,
    method: KalmanGradient,
) -> mechml_engine::Result<Var<'t, S>> {
    let ebm = KBoxEbm::new(2, false, false)?;
    let one = Var::constant(S::one());
    let zero = Var::constant(S::zero());
    // C1, C2, κ1, κ2, ε, σ_ξ, F, σ_T, T0
    let p = ebm.params_from_slice(&[
        theta[0],
        theta[1],
        theta[2],
        theta[3],
        one,
        theta[5],
        theta[4],
        theta[6].sqrt(),
        zero,
    ])?;
    let prior = EbmPrior::Fixed {
        mean: vec![0.0, 0.0],
        cov: vec![1.0, 0.0, 0.0, 1.0],
    };
    let model = ebm.state_space(&p, data, &prior)?;
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
    let data = EbmData::new(obs, vec![0.0; t], 1.0).unwrap();
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
