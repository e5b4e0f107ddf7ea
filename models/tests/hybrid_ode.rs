//! Hybrid transitions with a mechanistic ODE step (`nonlinear::hybrid_ode`): the
//! Runge–Kutta step against the engine's adaptive solver (fourth-order convergence), the
//! GP residual against the GP posterior mean it stands for, gradients of the fitting
//! objective against finite differences (also as a property test), and the joint fit
//! recovering physical parameters and a missing nonlinearity from data simulated with the
//! engine's solver.
#![allow(clippy::needless_range_loop)]

use mechml_engine::ad::gradcheck::finite_diff_gradient;
use mechml_engine::ad::{Real, Tape};
use mechml_engine::gp::SquaredExponential;
use mechml_engine::ode::{Method, OdeOptions, OdeProblem, OdeRhs, solve};
use mechml_engine::optim::LbfgsOptions;
use mechml_models::ssm::Observations;
use mechml_models::ssm::fit::Transform;
use mechml_models::ssm::nonlinear::hybrid::Mlp;
use mechml_models::ssm::nonlinear::hybrid_ode::{
    GpResidual, LearnedTerm, OdeHybridSsm, fit_hybrid_ode, hybrid_objective_grad,
};
use mechml_models::ssm::nonlinear::ukf::{UkfOptions, ukf};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};

const LAMBDA: f64 = 1.2;
const C2: f64 = 100.0;

/// The two-box energy-balance model: C₁ dT₁ = u − λT₁ − κ(T₁ − T₂) − a T₁²,
/// C₂ dT₂ = κ(T₁ − T₂); parameters [C₁, κ, u]. The model the fit uses has a = 0 (the
/// feedback −a T₁² is what the learned term must find).
#[derive(Clone)]
struct TwoBox {
    a: f64,
}

impl OdeRhs for TwoBox {
    fn n_states(&self) -> usize {
        2
    }
    fn n_params(&self) -> usize {
        3
    }
    fn rhs<R: Real>(&self, _t: R, y: &[R], p: &[R], dy: &mut [R]) {
        let (c1, kappa, u) = (p[0], p[1], p[2]);
        let exchange = kappa * (y[0] - y[1]);
        dy[0] = (u - y[0] * LAMBDA - exchange - y[0] * y[0] * self.a) / c1;
        dy[1] = exchange / C2;
    }
}

/// No learned term (the mechanistic-only model).
struct Nothing;

impl LearnedTerm for Nothing {
    fn n_in(&self) -> usize {
        1
    }
    fn n_out(&self) -> usize {
        1
    }
    fn n_params(&self) -> usize {
        0
    }
    fn eval<R: Real>(&self, _: &[R], _: &[R]) -> Vec<R> {
        vec![R::zero()]
    }
    fn penalty<R: Real>(&self, _: &[R]) -> R {
        R::zero()
    }
}

const Q: [f64; 4] = [5e-4, 0.0, 0.0, 1e-6];
const R_OBS: f64 = 0.004;

fn model<G: LearnedTerm>(learned: G, substeps: usize) -> OdeHybridSsm<TwoBox, G> {
    OdeHybridSsm::new(
        TwoBox { a: 0.0 },
        2,
        vec![Transform::Log, Transform::Log],
        1,
        learned,
        vec![0],
        vec![0],
        1.0,
        substeps,
        Q.to_vec(),
        1,
        vec![1.0, 0.0],
        vec![R_OBS],
        vec![0.0, 0.0],
        vec![0.01, 0.0, 0.0, 0.01],
    )
    .unwrap()
}

/// The hybrid vector field as an `OdeRhs` for the engine's solver (parameters: θ, u).
struct HybridField<'a, G: LearnedTerm>(&'a OdeHybridSsm<TwoBox, G>);

impl<G: LearnedTerm> OdeRhs for HybridField<'_, G> {
    fn n_states(&self) -> usize {
        2
    }
    fn n_params(&self) -> usize {
        self.0.n_params() + 1
    }
    fn rhs<R: Real>(&self, t: R, y: &[R], p: &[R], dy: &mut [R]) {
        let k = self.0.n_params();
        let u = p[k].value();
        let v = self.0.vector_field(&p[..k], t.value(), y, &[u]);
        dy.copy_from_slice(&v);
    }
}

fn gp_term() -> GpResidual<SquaredExponential> {
    let z: Vec<f64> = (0..8).map(|i| -0.5 + 0.6 * i as f64).collect();
    GpResidual::new(SquaredExponential::isotropic(), &[0.05, 0.8], z, 1, 1).unwrap()
}

#[test]
fn runge_kutta_step_converges_to_the_engine_solver_at_fourth_order() {
    let net = Mlp::new(vec![1, 5, 1]).unwrap();
    let w = net.init(4, 0.4);
    let x0 = [1.3, 0.4];
    let u = 3.0;
    // Against Tsit5 at tight tolerances on the same hybrid vector field (t from 5 to 6).
    let reference = |m: &OdeHybridSsm<TwoBox, Mlp>, theta: &[f64]| {
        let mut p = theta.to_vec();
        p.push(u);
        let prob = OdeProblem::new(HybridField(m), 5.0, 6.0, x0.to_vec(), p).unwrap();
        solve(&prob, Method::Tsit5, &OdeOptions::with_tol(1e-13, 1e-14))
            .unwrap()
            .y_final()
            .to_vec()
    };
    let coarse = model(net.clone(), 1);
    let theta = coarse.theta(&[3.0, 0.9], &w).unwrap();
    let exact = reference(&coarse, &theta);
    let mut errs = Vec::new();
    for sub in [1usize, 2, 4, 8] {
        let m = model(net.clone(), sub);
        let x1 = m.step(&theta, 5, &x0, &[u]);
        errs.push(((x1[0] - exact[0]).powi(2) + (x1[1] - exact[1]).powi(2)).sqrt());
    }
    let slope = (errs[3] / errs[0]).ln() / (1.0f64 / 8.0).ln();
    println!("RK4 step errors for 1, 2, 4, 8 substeps: {errs:?}, order {slope:.2}");
    assert!((slope - 4.0).abs() < 0.3, "order {slope}: {errs:?}");
    assert!(errs[3] < 1e-7, "{errs:?}");
    // The mechanistic part alone: the fit's default step (1 substep) is close to exact for
    // the EBM's slow rates (≪ the observation noise of the tests below).
    let m = model(Nothing, 1);
    let th = m.theta(&[8.0, 0.7], &[]).unwrap();
    let mut p = th.clone();
    p.push(u);
    let prob = OdeProblem::new(HybridField(&m), 5.0, 6.0, x0.to_vec(), p).unwrap();
    let ex = solve(&prob, Method::Tsit5, &OdeOptions::with_tol(1e-13, 1e-14)).unwrap();
    let x1 = m.step(&th, 5, &x0, &[u]);
    assert!(
        (x1[0] - ex.y_final()[0]).abs() < 1e-4,
        "{x1:?} vs {:?}",
        ex.y_final()
    );
}

#[test]
fn gp_residual_is_the_gp_posterior_mean_of_its_inducing_values() {
    let gp = gp_term();
    let m = gp.n_inducing();
    let v: Vec<f64> = (0..m).map(|i| (i as f64 * 0.7).sin()).collect();
    // Interpolates its values at the inducing inputs (up to the 1e-8 jitter).
    for i in 0..m {
        let z = -0.5 + 0.6 * i as f64;
        let g = gp.eval(&v, &[z])[0];
        assert!((g - v[i]).abs() < 1e-5, "at z_{i}: {g} vs {}", v[i]);
    }
    // Elsewhere: k(x, Z) K⁻¹ v and ½ vᵀ K⁻¹ v, with K formed here from the SE formula and
    // solved by faer.
    let kf = |a: f64, b: f64| 0.05 * (-0.5 * (a - b).powi(2) / 0.64).exp();
    let zs: Vec<f64> = (0..m).map(|i| -0.5 + 0.6 * i as f64).collect();
    let kzz = faer::Mat::<f64>::from_fn(m, m, |i, j| {
        kf(zs[i], zs[j]) + if i == j { 1e-8 * 0.05 } else { 0.0 }
    });
    let vm = faer::Mat::<f64>::from_fn(m, 1, |i, _| v[i]);
    let alpha = faer::prelude::Solve::solve(&kzz.llt(faer::Side::Lower).unwrap(), &vm);
    for x in [-0.9, 0.13, 1.7, 4.6] {
        let expect: f64 = (0..m).map(|j| kf(x, zs[j]) * alpha[(j, 0)]).sum();
        let g = gp.eval(&v, &[x])[0];
        assert!(
            (g - expect).abs() < 1e-9 * expect.abs().max(1.0),
            "{g} vs {expect}"
        );
    }
    let pen: f64 = 0.5 * (0..m).map(|i| v[i] * alpha[(i, 0)]).sum::<f64>();
    let p = gp.penalty(&v);
    assert!((p - pen).abs() < 1e-7 * pen, "{p} vs {pen}");
    // Bad inputs.
    let k = SquaredExponential::isotropic();
    let th = [1.0, 1.0];
    assert!(GpResidual::new(k.clone(), &th, vec![], 1, 1).is_err());
    assert!(GpResidual::new(k.clone(), &th, vec![0.0, 1.0, 2.0], 2, 1).is_err());
    assert!(GpResidual::new(k, &th, vec![0.5, f64::NAN], 1, 1).is_err());
}

#[test]
fn construction_checks_its_inputs() {
    let net = Mlp::new(vec![1, 3, 1]).unwrap();
    let ok = |rows: Vec<usize>, dt: f64, sub: usize, q: Vec<f64>| {
        OdeHybridSsm::new(
            TwoBox { a: 0.0 },
            2,
            vec![Transform::Log; 2],
            1,
            net.clone(),
            vec![0],
            rows,
            dt,
            sub,
            q,
            1,
            vec![1.0, 0.0],
            vec![R_OBS],
            vec![0.0; 2],
            vec![0.01, 0.0, 0.0, 0.01],
        )
    };
    assert!(ok(vec![0], 1.0, 1, Q.to_vec()).is_ok());
    assert!(ok(vec![2], 1.0, 1, Q.to_vec()).is_err());
    assert!(ok(vec![0, 1], 1.0, 1, Q.to_vec()).is_err());
    assert!(ok(vec![0], 0.0, 1, Q.to_vec()).is_err());
    assert!(ok(vec![0], 1.0, 0, Q.to_vec()).is_err());
    assert!(ok(vec![0], 1.0, 1, vec![0.0; 3]).is_err());
    let m = model(net.clone(), 1);
    assert!(m.theta(&[-1.0, 0.7], &vec![0.0; net.n_params()]).is_err());
    assert!(m.theta(&[8.0], &vec![0.0; net.n_params()]).is_err());
    assert!(m.with_tableau(&mechml_engine::ode::tableau::DOPRI5).is_ok());
}

/// Short synthetic data for the gradient checks.
fn short_data(t_len: usize) -> Observations {
    let u: Vec<f64> = (0..t_len).map(|i| 0.1 * i as f64).collect();
    let y: Vec<f64> = (0..t_len)
        .map(|i| 0.05 * i as f64 + 0.1 * (i as f64).sin())
        .collect();
    Observations::new(t_len, 1, y, 1, u).unwrap()
}

fn check_gradient<G: LearnedTerm>(m: &OdeHybridSsm<TwoBox, G>, theta: &[f64], data: &Observations) {
    let mut tape = Tape::new();
    let ridge = 0.3;
    let (v, g) = hybrid_objective_grad(m, theta, data, ridge, &mut tape).unwrap();
    let f = |th: &[f64]| -> mechml_engine::Result<f64> {
        let ll = ukf(m, th, data, &UkfOptions::default())?.loglik;
        Ok(ridge * m.learned().penalty(m.weights(th)) - ll)
    };
    assert!((v - f(theta).unwrap()).abs() < 1e-12 * v.abs().max(1.0));
    let fd = finite_diff_gradient(f, theta, None).unwrap();
    for i in 0..theta.len() {
        assert!(
            (g[i] - fd[i]).abs() < 1e-6 * g[i].abs().max(1.0),
            "θ[{i}]: tape {} vs finite differences {}",
            g[i],
            fd[i]
        );
    }
}

#[test]
fn objective_gradient_matches_finite_differences() {
    let data = short_data(25);
    let net = Mlp::new(vec![1, 4, 1]).unwrap();
    let m = model(net.clone(), 2);
    for seed in 0..2 {
        let theta = m
            .theta(&[6.0 + seed as f64, 0.8], &net.init(seed, 0.3))
            .unwrap();
        check_gradient(&m, &theta, &data);
    }
    let gp = gp_term();
    let k = gp.n_params();
    let mg = model(gp, 1);
    let v: Vec<f64> = (0..k).map(|i| 0.1 * (i as f64).cos()).collect();
    check_gradient(&mg, &mg.theta(&[7.0, 0.6], &v).unwrap(), &data);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// The step Ψ(x; θ) (physical parameters, weights and state) against central
    /// differences, on random inputs: the tape gradient of a random projection of Ψ.
    #[test]
    fn step_gradient_matches_finite_differences(
        c1 in 2.0f64..12.0, kappa in 0.2f64..2.0, t1 in -1.0f64..3.0, t2 in -0.5f64..1.5,
        u in -2.0f64..5.0, seed in 0u64..1000, sub in 1usize..4,
    ) {
        let net = Mlp::new(vec![1, 3, 1]).unwrap();
        let m = model(net.clone(), sub);
        let mut args = m.theta(&[c1, kappa], &net.init(seed, 0.5)).unwrap();
        args.extend([t1, t2]);
        let k = m.n_params();
        let proj = [0.7, -1.3];
        let f = |a: &[f64]| -> mechml_engine::Result<f64> {
            let x1 = m.step(&a[..k], 3, &a[k..], &[u]);
            Ok(proj[0] * x1[0] + proj[1] * x1[1])
        };
        let tape = Tape::new();
        let av = tape.vars(&args);
        let x1 = m.step(&av[..k], 3, &av[k..], &[u]);
        let out = x1[0] * proj[0] + x1[1] * proj[1];
        let g = tape.gradient(&out).unwrap().wrt_slice(&av);
        let fd = finite_diff_gradient(f, &args, None).unwrap();
        for i in 0..args.len() {
            prop_assert!((g[i] - fd[i]).abs() < 1e-6 * g[i].abs().max(1.0), "{}: {} vs {}", i, g[i], fd[i]);
        }
    }
}

#[test]
fn joint_fit_recovers_physical_parameters_and_a_missing_nonlinearity() {
    // Truth: C₁ = 8, κ = 0.7 and the feedback −a T₁² (a = 0.3 W m⁻² K⁻²) that the
    // mechanistic model lacks. Each year's step is solved by the engine's Tsit5 (not the
    // RK4 step under test), then process noise is added.
    let (c1, kappa, a) = (8.0, 0.7, 0.3);
    let t_len = 300;
    let u: Vec<f64> = (0..t_len)
        .map(|i| {
            4.0 * (i as f64 / t_len as f64) + 0.8 * (i as f64 * 0.2).sin()
                - if i % 15 == 7 { 3.0 } else { 0.0 }
        })
        .collect();
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(5);
    let mut x = vec![0.0f64, 0.0];
    let mut y = Vec::with_capacity(t_len);
    let opts = OdeOptions::with_tol(1e-10, 1e-12);
    for t in 0..t_len {
        let e: f64 = StandardNormal.sample(&mut rng);
        y.push(x[0] + R_OBS.sqrt() * e);
        let prob = OdeProblem::new(
            TwoBox { a },
            t as f64,
            t as f64 + 1.0,
            x.clone(),
            vec![c1, kappa, u[t]],
        )
        .unwrap();
        let next = solve(&prob, Method::Tsit5, &opts)
            .unwrap()
            .y_final()
            .to_vec();
        let w0: f64 = StandardNormal.sample(&mut rng);
        let w1: f64 = StandardNormal.sample(&mut rng);
        x = vec![next[0] + Q[0].sqrt() * w0, next[1] + Q[3].sqrt() * w1];
    }
    let data = Observations::new(t_len, 1, y, 1, u).unwrap();
    let lb = LbfgsOptions {
        max_iters: 250,
        ..LbfgsOptions::default()
    };
    // Start 40 % away from the physical truth.
    let start = [5.0, 1.0];
    // Mechanistic only: C₁ and κ absorb the missing feedback and are biased.
    let mech = model(Nothing, 1);
    let fm = fit_hybrid_ode(&mech, &data, &mech.theta(&start, &[]).unwrap(), 0.0, &lb).unwrap();
    let pm = mech.physical(&fm.x);
    let ll_mech = ukf(&mech, &fm.x, &data, &UkfOptions::default())
        .unwrap()
        .loglik;
    // The oracle: the true structure (a known), only C₁ and κ free: how well these data
    // can determine the physics at all.
    let oracle = OdeHybridSsm::new(
        TwoBox { a },
        2,
        vec![Transform::Log; 2],
        1,
        Nothing,
        vec![0],
        vec![0],
        1.0,
        1,
        Q.to_vec(),
        1,
        vec![1.0, 0.0],
        vec![R_OBS],
        vec![0.0; 2],
        vec![0.01, 0.0, 0.0, 0.01],
    )
    .unwrap();
    let fo = fit_hybrid_ode(
        &oracle,
        &data,
        &oracle.theta(&start, &[]).unwrap(),
        0.0,
        &lb,
    )
    .unwrap();
    let po = oracle.physical(&fo.x);
    // Hybrid: the same physics plus a network on T₁, fitted jointly.
    let net = Mlp::new(vec![1, 5, 1]).unwrap();
    let hyb = model(net.clone(), 1);
    let fh = fit_hybrid_ode(
        &hyb,
        &data,
        &hyb.theta(&start, &net.init(3, 0.1)).unwrap(),
        1e-3,
        &lb,
    )
    .unwrap();
    let ph = hyb.physical(&fh.x);
    let filt = ukf(&hyb, &fh.x, &data, &UkfOptions::default()).unwrap();
    println!(
        "truth C1 {c1}, kappa {kappa}; mechanistic only: C1 {:.3}, kappa {:.3}, loglik {ll_mech:.2}; oracle (a known): C1 {:.3}, kappa {:.3}; hybrid: C1 {:.3}, kappa {:.3}, loglik {:.2} ({} iterations)",
        pm[0], pm[1], po[0], po[1], ph[0], ph[1], filt.loglik, fh.iterations
    );
    // The learned term explains the data far better than the physics alone ...
    assert!(
        filt.loglik > ll_mech + 100.0,
        "{} vs {ll_mech}",
        filt.loglik
    );
    // ... the mechanistic-only fit is biased by the missing feedback ...
    assert!(
        (pm[0] - c1).abs() > 0.3 * c1,
        "mechanistic-only C1 = {}",
        pm[0]
    );
    // ... and the hybrid recovers the physics about as well as the oracle does (within 5 %
    // here: the data determine C₁ and κ that well). C₁ is pinned by the forcing term u/C₁,
    // which the learned g(T₁) cannot imitate, as closely as by the oracle; κ only by the
    // deep-ocean terms κT₂ once g(T₁) is free to take up −κT₁, hence the looser bound.
    for (i, (name, tol)) in [("C1", 0.05), ("kappa", 0.15)].into_iter().enumerate() {
        let truth = [c1, kappa][i];
        assert!(
            (po[i] - truth).abs() < 0.05 * truth,
            "oracle {name} = {}",
            po[i]
        );
        assert!(
            (ph[i] - truth).abs() < tol * truth,
            "hybrid {name} = {}",
            ph[i]
        );
    }
    // The learned term along the filtered trajectory: its curvature is that of the
    // missing feedback, −a/C₁ (a linear part may make up for small errors in C₁ and κ).
    // Least squares of g(T₁) on (1, T₁, T₁²).
    let pts: Vec<(f64, f64)> = (0..t_len)
        .map(|t| {
            let t1 = filt.filt_mean[2 * t];
            (t1, net.forward(hyb.weights(&fh.x), &[t1])[0])
        })
        .collect();
    let design = faer::Mat::<f64>::from_fn(t_len, 3, |i, j| pts[i].0.powi(j as i32));
    let rhs = faer::Mat::<f64>::from_fn(t_len, 1, |i, _| pts[i].1);
    let normal = design.transpose() * &design;
    let coef = faer::prelude::Solve::solve(
        &normal.llt(faer::Side::Lower).unwrap(),
        &(design.transpose() * &rhs),
    );
    let curv = coef[(2, 0)];
    println!(
        "learned term ≈ {:.4} + {:.4} T1 + {curv:.4} T1² (truth −a/C1 = {:.4})",
        coef[(0, 0)],
        coef[(1, 0)],
        -a / c1
    );
    assert!((curv + a / c1).abs() < 0.25 * a / c1, "curvature {curv}");
}
