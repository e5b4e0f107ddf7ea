//! Pathwise gradients (common random numbers: one Brownian tree per test path).
//!
//! Independent references:
//! * the same steps recorded scalar by scalar on the caller's tape ("tape-through"), which
//!   differentiates the computed path by a different mechanism than the block's local
//!   VJPs, checkpoints, dual numbers or reconstruction;
//! * central finite differences of [`solve`] on the same tree;
//! * for geometric Brownian motion, the closed-form pathwise derivatives of
//!   `X(T) = x₀ exp(a T + σ W(T))`: `∂X/∂x₀ = X/x₀`, `∂X/∂μ = T X`, and
//!   `∂X/∂σ = (W(T) − σT) X` (Itô, `a = μ − σ²/2`) or `W(T) X` (Stratonovich, `a = μ`).

mod sde_common;

use mechml_engine::ad::gradcheck::finite_diff_gradient;
use mechml_engine::ad::{Real, Tape, Var};
use mechml_engine::sde::reference::{Gbm, TwoBoxEbm};
use mechml_engine::sde::{
    AdaptiveOptions, BrownianPath, BrownianTreeOptions, Calculus, EnsembleOptions, EulerMaruyama,
    Heun, Increment, Milstein, NoiseSource, ReversibleHeun, Sde, SdeMethod, SdeOptions, SdeProblem,
    SdeShape, Sensitivity, Sra1, Steps, VirtualBrownianTree, Workspace, ensemble, ensemble_on_tape,
    solve, solve_on_tape,
};
use mechml_engine::solver::{Checkpointing, SaveAt};

/// A nonlinear two-state SDE with diagonal noise and four parameters:
/// dx₁ = (p₀ x₂ − p₁ x₁³) dt + p₂ x₁ dW₁, dx₂ = (−p₀ x₁ + p₁ sin x₂) dt + p₃ √(1 + x₂²) dW₂.
#[derive(Clone, Copy)]
struct Oscillator {
    calculus: Calculus,
}
impl Sde for Oscillator {
    fn shape(&self) -> SdeShape {
        SdeShape::diagonal(2)
            .with_params(4)
            .with_calculus(self.calculus)
    }
    fn drift<R: Real>(&self, _t: R, x: &[R], p: &[R], out: &mut [R]) {
        out[0] = p[0] * x[1] - p[1] * x[0] * x[0] * x[0];
        out[1] = -(p[0] * x[0]) + p[1] * x[1].sin();
    }
    fn diffusion<R: Real>(&self, _t: R, x: &[R], p: &[R], out: &mut [R]) {
        out[0] = p[2] * x[0];
        out[1] = p[3] * (x[1] * x[1] + 1.0).sqrt();
    }
}

/// General noise (d = 2, m = 3), state and time dependent.
#[derive(Clone, Copy)]
struct GeneralNoise {
    calculus: Calculus,
}
impl Sde for GeneralNoise {
    fn shape(&self) -> SdeShape {
        SdeShape::general(2, 3)
            .with_params(2)
            .with_calculus(self.calculus)
    }
    fn drift<R: Real>(&self, t: R, x: &[R], p: &[R], out: &mut [R]) {
        out[0] = -(p[0] * x[0]) + x[1] * (t + 1.0);
        out[1] = -(x[0] * x[1]) * p[1];
    }
    fn diffusion<R: Real>(&self, t: R, x: &[R], p: &[R], out: &mut [R]) {
        out[0] = p[1] * x[1];
        out[1] = x[0].tanh() * 0.3;
        out[2] = t * 0.2;
        out[3] = p[0] * x[0] * 0.1;
        out[4] = (x[0] * x[1]).cos() * 0.2;
        out[5] = x[1] * 0.1;
    }
}

type Grad = Vec<f64>;

const X0: [f64; 2] = [0.8, -0.3];
const P4: [f64; 4] = [1.0, 0.5, 0.3, 0.2];
const N: usize = 32;

fn tree(seed: u64, m: usize, area: bool) -> VirtualBrownianTree {
    VirtualBrownianTree::builder(0.0, 1.0)
        .dim(m)
        .seed(seed)
        .levy_area(area)
        .fixed_steps(N)
        .build()
        .unwrap()
}

fn opts() -> SdeOptions {
    SdeOptions {
        steps: Steps::Fixed { n_steps: N },
        save_at: SaveAt::Every(8),
        check_finite: true,
    }
}

/// Loss weights for the saved states.
fn weights(n: usize) -> Vec<f64> {
    (0..n).map(|k| ((k as f64) * 0.7 + 0.3).sin()).collect()
}

/// ∇ of Σ wₖ·saved via the block with `sens`.
fn block_grad<S: Sde + Clone + 'static, M: SdeMethod>(
    sde: &S,
    method: &M,
    x0: &[f64],
    p: &[f64],
    w: &VirtualBrownianTree,
    opts: &SdeOptions,
    sens: Sensitivity,
) -> Vec<f64> {
    let tape = Tape::new();
    let xv = tape.var_vec(x0);
    let pv = tape.var_vec(p);
    let out = solve_on_tape(
        &tape,
        &SdeProblem::new(sde.clone(), 0.0, 1.0, xv.clone(), pv.clone()).unwrap(),
        method,
        w,
        opts,
        sens,
    )
    .unwrap();
    let wts = weights(out.values().len());
    let flat = out.flatten();
    let mut loss = Var::constant(0.0);
    for (k, v) in flat.vars().iter().enumerate() {
        loss += *v * wts[k];
    }
    let g = tape.gradient(&loss).unwrap();
    let mut all = g.wrt_vec(&xv);
    all.extend(g.wrt_vec(&pv));
    all
}

/// The same loss with every step recorded on the caller's tape, on the given step times.
fn tape_through<S: Sde, M: SdeMethod>(
    sde: &S,
    method: &M,
    x0: &[f64],
    p: &[f64],
    w: &mut VirtualBrownianTree,
    times: &[f64],
    save_steps: &[usize],
) -> Vec<f64> {
    let tape = Tape::new();
    let xs = tape.vars(x0);
    let ps = tape.vars(p);
    let d = sde.n_states();
    let m = sde.n_noise();
    let gl = sde.noise().diffusion_len(d, m);
    let sl = method.state_len(d, gl);
    let mut y = vec![Var::constant(0.0); sl];
    let mut next = y.clone();
    let mut ws = Workspace::<Var<'_>>::new(sde);
    method.init(sde, times[0], &xs, &ps, &mut y);
    let mut saved: Vec<Var<'_>> = Vec::new();
    if save_steps.first() == Some(&0) {
        saved.extend_from_slice(&y[..d]);
    }
    let (mut dw, mut area) = (vec![0.0; m], vec![0.0; m]);
    for k in 0..times.len() - 1 {
        let (t, tn) = (times[k], times[k + 1]);
        if method.needs_levy_area() {
            w.increment_with_area(t, tn, &mut dw, &mut area).unwrap();
        } else {
            w.increment(t, tn, &mut dw).unwrap();
        }
        let inc = Increment {
            t,
            h: tn - t,
            dw: &dw,
            area: method.needs_levy_area().then_some(&area[..]),
        };
        method.step(sde, &inc, &ps, &y, &mut next, &mut ws);
        std::mem::swap(&mut y, &mut next);
        if save_steps.contains(&(k + 1)) {
            saved.extend_from_slice(&y[..d]);
        }
    }
    let wts = weights(saved.len());
    let mut loss = Var::constant(0.0);
    for (v, wk) in saved.iter().zip(&wts) {
        loss += *v * *wk;
    }
    let g = tape.gradient(&loss).unwrap();
    let mut all = g.wrt_slice(&xs);
    all.extend(g.wrt_slice(&ps));
    all
}

/// Finite differences of the same loss through `solve` on the same tree.
fn fd_grad<S: Sde, M: SdeMethod>(
    sde: &S,
    method: &M,
    x0: &[f64],
    p: &[f64],
    w: &VirtualBrownianTree,
) -> Vec<f64> {
    let d = x0.len();
    let mut z = x0.to_vec();
    z.extend_from_slice(p);
    finite_diff_gradient(
        |z: &[f64]| {
            let sol = solve(
                &SdeProblem::new(sde, 0.0, 1.0, z[..d].to_vec(), z[d..].to_vec()).unwrap(),
                method,
                &mut w.fresh(),
                &opts(),
            )?;
            let wts = weights(sol.x.len());
            Ok(sol.x.iter().zip(&wts).map(|(a, b)| a * b).sum())
        },
        &z,
        None,
    )
    .unwrap()
}

fn close(name: &str, a: &[f64], b: &[f64], rtol: f64) {
    let scale = b.iter().fold(1e-300f64, |s, v| s.max(v.abs()));
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= rtol * scale,
            "{name}: component {i}: {x} vs {y} (rtol {rtol}, scale {scale})\n{a:?}\n{b:?}"
        );
    }
}

fn fixed_times() -> (Vec<f64>, Vec<usize>) {
    let times = (0..=N).map(|k| k as f64 / N as f64).collect();
    (times, vec![0, 8, 16, 24, 32])
}

#[test]
fn exact_discrete_gradients_agree_with_the_tape_and_finite_differences() {
    let (times, saves) = fixed_times();
    let ito = Oscillator {
        calculus: Calculus::Ito,
    };
    let strat = Oscillator {
        calculus: Calculus::Stratonovich,
    };
    for seed in 0..3 {
        let w = tree(seed, 2, false);
        // (name, tape-through reference, discrete adjoint, forward or reversible)
        let cases: Vec<(&str, Grad, Grad, Grad)> = vec![
            {
                let reference = tape_through(
                    &ito,
                    &EulerMaruyama,
                    &X0,
                    &P4,
                    &mut w.fresh(),
                    &times,
                    &saves,
                );
                let adj = block_grad(
                    &ito,
                    &EulerMaruyama,
                    &X0,
                    &P4,
                    &w,
                    &opts(),
                    Sensitivity::DiscreteAdjoint {
                        checkpointing: Checkpointing::Every(5),
                    },
                );
                let fwd = block_grad(
                    &ito,
                    &EulerMaruyama,
                    &X0,
                    &P4,
                    &w,
                    &opts(),
                    Sensitivity::Forward,
                );
                ("EM", reference, adj, fwd)
            },
            {
                let reference =
                    tape_through(&ito, &Milstein, &X0, &P4, &mut w.fresh(), &times, &saves);
                let adj = block_grad(
                    &ito,
                    &Milstein,
                    &X0,
                    &P4,
                    &w,
                    &opts(),
                    Sensitivity::DiscreteAdjoint {
                        checkpointing: Checkpointing::Auto,
                    },
                );
                let fwd = block_grad(&ito, &Milstein, &X0, &P4, &w, &opts(), Sensitivity::Forward);
                ("Milstein", reference, adj, fwd)
            },
            {
                let reference =
                    tape_through(&strat, &Heun, &X0, &P4, &mut w.fresh(), &times, &saves);
                let adj = block_grad(
                    &strat,
                    &Heun,
                    &X0,
                    &P4,
                    &w,
                    &opts(),
                    Sensitivity::DiscreteAdjoint {
                        checkpointing: Checkpointing::Every(1),
                    },
                );
                let fwd = block_grad(&strat, &Heun, &X0, &P4, &w, &opts(), Sensitivity::Forward);
                ("Heun", reference, adj, fwd)
            },
            {
                let reference = tape_through(
                    &strat,
                    &ReversibleHeun,
                    &X0,
                    &P4,
                    &mut w.fresh(),
                    &times,
                    &saves,
                );
                let adj = block_grad(
                    &strat,
                    &ReversibleHeun,
                    &X0,
                    &P4,
                    &w,
                    &opts(),
                    Sensitivity::DiscreteAdjoint {
                        checkpointing: Checkpointing::Every(7),
                    },
                );
                let rev = block_grad(
                    &strat,
                    &ReversibleHeun,
                    &X0,
                    &P4,
                    &w,
                    &opts(),
                    Sensitivity::Reversible,
                );
                ("reversible Heun", reference, adj, rev)
            },
        ];
        for (name, reference, adj, other) in cases {
            close(&format!("{name} adjoint vs tape"), &adj, &reference, 1e-11);
            close(
                &format!("{name} forward/reversible vs tape"),
                &other,
                &reference,
                1e-9,
            );
        }
        // Finite differences (rounding-limited, so a looser tolerance).
        let fd = fd_grad(&ito, &Milstein, &X0, &P4, &w);
        let g = block_grad(
            &ito,
            &Milstein,
            &X0,
            &P4,
            &w,
            &opts(),
            Sensitivity::default(),
        );
        close("Milstein vs finite differences", &g, &fd, 1e-6);
        let fd = fd_grad(&strat, &ReversibleHeun, &X0, &P4, &w);
        let g = block_grad(
            &strat,
            &ReversibleHeun,
            &X0,
            &P4,
            &w,
            &opts(),
            Sensitivity::Reversible,
        );
        close("reversible Heun vs finite differences", &g, &fd, 1e-6);
    }
}

#[test]
fn general_noise_gradients() {
    let (times, saves) = fixed_times();
    let p = [0.7, 0.4];
    for (calculus, name) in [(Calculus::Ito, "EM"), (Calculus::Stratonovich, "Heun")] {
        let sde = GeneralNoise { calculus };
        let w = tree(11, 3, false);
        let (reference, adj, fd) = if calculus == Calculus::Ito {
            (
                tape_through(
                    &sde,
                    &EulerMaruyama,
                    &X0,
                    &p,
                    &mut w.fresh(),
                    &times,
                    &saves,
                ),
                block_grad(
                    &sde,
                    &EulerMaruyama,
                    &X0,
                    &p,
                    &w,
                    &opts(),
                    Sensitivity::default(),
                ),
                fd_grad(&sde, &EulerMaruyama, &X0, &p, &w),
            )
        } else {
            (
                tape_through(&sde, &Heun, &X0, &p, &mut w.fresh(), &times, &saves),
                block_grad(&sde, &Heun, &X0, &p, &w, &opts(), Sensitivity::default()),
                fd_grad(&sde, &Heun, &X0, &p, &w),
            )
        };
        close(
            &format!("{name} general: adjoint vs tape"),
            &adj,
            &reference,
            1e-11,
        );
        close(&format!("{name} general: adjoint vs FD"), &adj, &fd, 1e-6);
    }
}

/// The pathwise gradient of X(1) for GBM with each method and sensitivity at two step
/// sizes, against the closed form: errors shrink with the step.
#[test]
fn gbm_gradients_converge_to_the_closed_form() {
    let p = [0.4, 0.6];
    let x0 = 1.3;
    let cases: Vec<(&str, Calculus, Sensitivity)> = vec![
        ("EM adjoint", Calculus::Ito, Sensitivity::default()),
        ("Milstein forward", Calculus::Ito, Sensitivity::Forward),
        (
            "Heun adjoint",
            Calculus::Stratonovich,
            Sensitivity::default(),
        ),
        (
            "reversible Heun",
            Calculus::Stratonovich,
            Sensitivity::Reversible,
        ),
        (
            "stochastic adjoint (Itô, checkpoints)",
            Calculus::Ito,
            Sensitivity::StochasticAdjoint { backsolve: false },
        ),
        (
            "stochastic adjoint (Strat, backsolve)",
            Calculus::Stratonovich,
            Sensitivity::StochasticAdjoint { backsolve: true },
        ),
    ];
    for (name, calculus, sens) in cases {
        let sde = Gbm { calculus };
        let mut per_seed = Vec::new();
        for seed in 0..20 {
            let mut errs = [0.0; 2];
            for (j, n) in [64usize, 1024].into_iter().enumerate() {
                let w = VirtualBrownianTree::builder(0.0, 1.0)
                    .seed(500 + seed)
                    .fixed_steps(n)
                    .build()
                    .unwrap();
                let opts = SdeOptions {
                    steps: Steps::Fixed { n_steps: n },
                    ..Default::default()
                };
                let tape = Tape::new();
                let xv = tape.var_vec(&[x0]);
                let pv = tape.var_vec(&p);
                let g = match (name, calculus) {
                    (n, _) if n.starts_with("EM") => solve_on_tape(
                        &tape,
                        &SdeProblem::new(sde, 0.0, 1.0, xv.clone(), pv.clone()).unwrap(),
                        &EulerMaruyama,
                        &w,
                        &opts,
                        sens,
                    ),
                    (n, _) if n.starts_with("Milstein") => solve_on_tape(
                        &tape,
                        &SdeProblem::new(sde, 0.0, 1.0, xv.clone(), pv.clone()).unwrap(),
                        &Milstein,
                        &w,
                        &opts,
                        sens,
                    ),
                    (n, _) if n.starts_with("reversible") => solve_on_tape(
                        &tape,
                        &SdeProblem::new(sde, 0.0, 1.0, xv.clone(), pv.clone()).unwrap(),
                        &ReversibleHeun,
                        &w,
                        &opts,
                        sens,
                    ),
                    (_, Calculus::Ito) => solve_on_tape(
                        &tape,
                        &SdeProblem::new(sde, 0.0, 1.0, xv.clone(), pv.clone()).unwrap(),
                        &Milstein,
                        &w,
                        &opts,
                        sens,
                    ),
                    _ => solve_on_tape(
                        &tape,
                        &SdeProblem::new(sde, 0.0, 1.0, xv.clone(), pv.clone()).unwrap(),
                        &Heun,
                        &w,
                        &opts,
                        sens,
                    ),
                }
                .unwrap();
                let xt = g.get(0, 0).unwrap();
                let adj = tape.gradient(&xt).unwrap();
                let got = [
                    adj.wrt_vec(&xv)[0],
                    adj.wrt_vec(&pv)[0],
                    adj.wrt_vec(&pv)[1],
                ];
                let mut wt = [0.0];
                w.fresh().value(1.0, &mut wt).unwrap();
                let xe = sde.exact(x0, &p, 1.0, wt[0]);
                let ds = match calculus {
                    Calculus::Ito => (wt[0] - p[1]) * xe,
                    Calculus::Stratonovich => wt[0] * xe,
                };
                let exact = [xe / x0, xe, ds];
                errs[j] = got
                    .iter()
                    .zip(&exact)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f64::max);
            }
            per_seed.push(errs.to_vec());
        }
        // Observed order of the gradient error between h = 1/64 and 1/1024, with its
        // standard error from the 20 paths: EM's pathwise derivative inherits its strong
        // order 1/2 (pre-asymptotically ≈ 0.4 here), the others order 1; 0.1 allows for
        // that pre-asymptotic (deterministic) deficit.
        let fit = sde_common::log2_slope(&[-6.0, -10.0], &per_seed, &[0.0, 0.0]);
        let expected = if name.starts_with("EM") { 0.5 } else { 1.0 };
        let mean = |j: usize| per_seed.iter().map(|e| e[j]).sum::<f64>() / 20.0;
        println!(
            "{name}: mean max-error {:?}, order {:.2} ± {:.2}",
            [mean(0), mean(1)],
            fit.slope,
            fit.se
        );
        assert!(
            fit.slope > expected - sde_common::Z * fit.se - 0.1,
            "{name}: order {:.3} ± {:.3}",
            fit.slope,
            fit.se
        );
        // A ceiling against gross errors at the finest step (not a statistical bound; the
        // slope is the test).
        let bound = if expected < 1.0 { 0.1 } else { 0.01 };
        assert!(mean(1) < bound, "{name}: {per_seed:?}");
    }
}

#[test]
fn adaptive_gradient_is_exact_for_its_steps() {
    // SRA1 with adaptive steps on the additive-noise EBM: the block's gradient equals the
    // tape-through gradient on the accepted step times (step sizes held fixed).
    let mut w = VirtualBrownianTree::new(
        0.0,
        20.0,
        1,
        3,
        BrownianTreeOptions {
            depth: 16,
            levy_area: true,
        },
    )
    .unwrap();
    let aopts = AdaptiveOptions::with_tol(1e-3, 1e-4);
    let every = SdeOptions {
        steps: Steps::Adaptive(aopts.clone()),
        save_at: SaveAt::Every(1),
        check_finite: true,
    };
    let x0 = [0.5, 0.1];
    let p = TwoBoxEbm::PARAMS;
    let sol = solve(
        &SdeProblem::new(&TwoBoxEbm, 0.0, 20.0, x0.to_vec(), p.to_vec()).unwrap(),
        &Sra1,
        &mut w,
        &every,
    )
    .unwrap();
    assert!(sol.t.len() > 10);
    let times = sol.t.clone();
    let last = times.len() - 1;
    let final_only = SdeOptions {
        steps: Steps::Adaptive(aopts),
        save_at: SaveAt::Final,
        check_finite: true,
    };
    let reference = tape_through(&TwoBoxEbm, &Sra1, &x0, &p, &mut w.fresh(), &times, &[last]);
    for sens in [Sensitivity::default(), Sensitivity::Forward] {
        let tape = Tape::new();
        let xv = tape.var_vec(&x0);
        let pv = tape.var_vec(&p);
        let out = solve_on_tape(
            &tape,
            &SdeProblem::new(TwoBoxEbm, 0.0, 20.0, xv.clone(), pv.clone()).unwrap(),
            &Sra1,
            &w,
            &final_only,
            sens,
        )
        .unwrap();
        let wts = weights(2);
        let loss = out.get(0, 0).unwrap() * wts[0] + out.get(1, 0).unwrap() * wts[1];
        let g = tape.gradient(&loss).unwrap();
        let mut got = g.wrt_vec(&xv);
        got.extend(g.wrt_vec(&pv));
        close("adaptive SRA1", &got, &reference, 1e-10);
    }
}

#[test]
fn ensemble_mean_gradient() {
    // d/dθ of the ensemble mean of T(10) for the EBM, 200 paths × 500 steps: adjoint and
    // forward agree, match finite differences of the same (seeded) ensemble, and do not
    // depend on the number of threads.
    let p = TwoBoxEbm::PARAMS;
    let x0 = [0.2, 0.1];
    let base = EnsembleOptions {
        n_paths: 200,
        seed: 8,
        steps: Steps::Fixed { n_steps: 500 },
        ..Default::default()
    };
    let grad = |opts: &EnsembleOptions, sens: Sensitivity| -> Vec<f64> {
        let tape = Tape::new();
        let xv = tape.var_vec(&x0);
        let pv = tape.var_vec(&p);
        let out = ensemble_on_tape(
            &tape,
            &SdeProblem::new(TwoBoxEbm, 0.0, 10.0, xv.clone(), pv.clone()).unwrap(),
            &EulerMaruyama,
            opts,
            sens,
        )
        .unwrap();
        let mut loss = Var::constant(0.0);
        for k in 0..out.ncols() {
            loss += out.get(0, k).unwrap() * (1.0 / out.ncols() as f64);
        }
        let g = tape.gradient(&loss).unwrap();
        let mut v = g.wrt_vec(&xv);
        v.extend(g.wrt_vec(&pv));
        v
    };
    for noise in [NoiseSource::Streams, NoiseSource::Tree] {
        let opts = EnsembleOptions {
            noise,
            ..base.clone()
        };
        let adj = grad(&opts, Sensitivity::default());
        let fwd = grad(&opts, Sensitivity::Forward);
        close(&format!("{noise:?}: adjoint vs forward"), &adj, &fwd, 1e-10);
        let mut z = x0.to_vec();
        z.extend_from_slice(&p);
        let fd = finite_diff_gradient(
            |z: &[f64]| {
                Ok(ensemble(
                    &SdeProblem::new(&TwoBoxEbm, 0.0, 10.0, z[..2].to_vec(), z[2..].to_vec())
                        .unwrap(),
                    &EulerMaruyama,
                    &opts,
                )?
                .mean[0])
            },
            &z,
            None,
        )
        .unwrap();
        close(&format!("{noise:?}: adjoint vs FD"), &adj, &fd, 1e-6);
        let par = EnsembleOptions {
            par: mechml_engine::linalg::Par::rayon(0),
            ..opts.clone()
        };
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let g = pool.install(|| grad(&par, Sensitivity::default()));
            assert_eq!(
                g.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                adj.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                "{noise:?}, {threads} threads"
            );
        }
    }
}

#[test]
fn sensitivity_errors() {
    let w = tree(1, 2, false);
    let ito = Oscillator {
        calculus: Calculus::Ito,
    };
    let tape = Tape::new();
    let xv = tape.var_vec(&X0);
    let pv = tape.var_vec(&P4);
    let r = solve_on_tape(
        &tape,
        &SdeProblem::new(ito, 0.0, 1.0, xv.clone(), pv.clone()).unwrap(),
        &EulerMaruyama,
        &w,
        &opts(),
        Sensitivity::Reversible,
    );
    assert!(r.is_err());
    // Streams cannot be visited backwards.
    let opts = EnsembleOptions {
        n_paths: 4,
        steps: Steps::Fixed { n_steps: 10 },
        ..Default::default()
    };
    let out = ensemble_on_tape(
        &tape,
        &SdeProblem::new(
            TwoBoxEbm,
            0.0,
            1.0,
            tape.var_vec(&[0.0, 0.0]).clone(),
            tape.var_vec(&TwoBoxEbm::PARAMS).clone(),
        )
        .unwrap(),
        &EulerMaruyama,
        &opts,
        Sensitivity::StochasticAdjoint { backsolve: true },
    )
    .unwrap();
    let loss = out.get(0, 0).unwrap();
    assert!(tape.gradient(&loss).is_err());
}

/// The stochastic adjoint is the gradient of the *continuous* solution on the Brownian
/// path, the discrete adjoint the exact gradient of the computed one; both converge to the
/// pathwise derivative, so their difference must shrink with the step. Nonlinear d = 2
/// problems with diagonal noise (`Oscillator`) and with non-commutative general noise
/// (`GeneralNoise`, m = 3), in both calculi; the loss weights the states saved at
/// t = 0, ¼, ½, ¾, 1, so the adjoint's jumps at save times are exercised too. Finite
/// differences of the solve on the same tree (common random numbers) give a third,
/// independent value of the computed path's gradient.
#[test]
fn stochastic_adjoint_converges_to_the_discrete_adjoint() {
    use mechml_engine::sde::solve_vjp;
    let levels = [32usize, 128, 512];
    let seeds = 0..24u64;
    fn diffs<S: Sde + Clone + 'static, M: SdeMethod>(
        sde: &S,
        method: &M,
        x0: &[f64],
        p: &[f64],
        n: usize,
        seed: u64,
        backsolve: bool,
    ) -> (f64, f64) {
        let w = VirtualBrownianTree::builder(0.0, 1.0)
            .dim(sde.n_noise())
            .seed(seed)
            .fixed_steps(n)
            .build()
            .unwrap();
        let opts = SdeOptions {
            steps: Steps::Fixed { n_steps: n },
            save_at: SaveAt::Every(n / 4),
            check_finite: true,
        };
        let adj = weights(5 * sde.n_states());
        let g = |sens| {
            let (_, g) = solve_vjp(
                &SdeProblem::new(sde, 0.0, 1.0, x0.to_vec(), p.to_vec()).unwrap(),
                method,
                &w,
                &opts,
                sens,
                &adj,
            )
            .unwrap();
            let mut v = g.x0;
            v.extend(g.p);
            v
        };
        let da = g(Sensitivity::default());
        let sa = g(Sensitivity::StochasticAdjoint { backsolve });
        let d = x0.len();
        let mut z = x0.to_vec();
        z.extend_from_slice(p);
        let fd = finite_diff_gradient(
            |z: &[f64]| {
                let sol = solve(
                    &SdeProblem::new(sde, 0.0, 1.0, z[..d].to_vec(), z[d..].to_vec()).unwrap(),
                    method,
                    &mut w.fresh(),
                    &opts,
                )?;
                Ok(sol.x.iter().zip(&adj).map(|(a, b)| a * b).sum())
            },
            &z,
            None,
        )
        .unwrap();
        let scale = da.iter().fold(0.0f64, |s, v| s.max(v.abs()));
        let dist = |a: &[f64], b: &[f64]| {
            a.iter()
                .zip(b)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0, f64::max)
                / scale
        };
        // The computed path's gradient two ways: adjoint and finite differences.
        assert!(
            dist(&fd, &da) < 1e-6,
            "FD vs discrete adjoint: {fd:?} {da:?}"
        );
        (dist(&sa, &da), dist(&sa, &fd))
    }
    let p2 = [0.7, 0.4];
    let osc = |c| Oscillator { calculus: c };
    let general = |c| GeneralNoise { calculus: c };
    type Run<'a> = Box<dyn Fn(usize, u64) -> (f64, f64) + 'a>;
    // Every scheme involved (the forward method, Heun on the adjoint SDE, which has
    // non-commutative noise) has strong order at least ½, so the difference must shrink at
    // least like h^½; on the commutative problems it shrinks like h.
    let cases: Vec<(&str, Run<'_>, f64)> = vec![
        (
            "Oscillator, Milstein (Itô)",
            Box::new(|n, s| diffs(&osc(Calculus::Ito), &Milstein, &X0, &P4, n, s, false)),
            1.0,
        ),
        (
            "Oscillator, Heun (Stratonovich), backsolve",
            Box::new(|n, s| diffs(&osc(Calculus::Stratonovich), &Heun, &X0, &P4, n, s, true)),
            1.0,
        ),
        (
            "general noise, Euler–Maruyama (Itô)",
            Box::new(|n, s| {
                diffs(
                    &general(Calculus::Ito),
                    &EulerMaruyama,
                    &X0,
                    &p2,
                    n,
                    s,
                    false,
                )
            }),
            0.5,
        ),
        (
            "general noise, Heun (Stratonovich)",
            Box::new(|n, s| {
                diffs(
                    &general(Calculus::Stratonovich),
                    &Heun,
                    &X0,
                    &p2,
                    n,
                    s,
                    false,
                )
            }),
            0.5,
        ),
    ];
    let xs: Vec<f64> = levels.iter().map(|&n| -(n as f64).log2()).collect();
    for (name, run, order) in cases {
        let mut to_da = Vec::new();
        let mut to_fd = Vec::new();
        for seed in seeds.clone() {
            let (a, b): (Vec<f64>, Vec<f64>) = levels.iter().map(|&n| run(n, seed)).unzip();
            to_da.push(a);
            to_fd.push(b);
        }
        let mean = |v: &[Vec<f64>], k: usize| v.iter().map(|r| r[k]).sum::<f64>() / v.len() as f64;
        println!(
            "{name}: mean relative |SA − DA| {:?}",
            (0..levels.len())
                .map(|k| mean(&to_da, k))
                .collect::<Vec<_>>()
        );
        let zero = vec![0.0; levels.len()];
        for (what, v) in [("discrete adjoint", &to_da), ("finite differences", &to_fd)] {
            let fit = sde_common::log2_slope(&xs, v, &zero);
            let tol = sde_common::Z * fit.se;
            println!("  vs {what}: slope {:.3} ± {:.3}", fit.slope, fit.se);
            // Shrinks significantly, and at the expected rate (0.1: allowance for the
            // pre-asymptotic curvature over these three levels, not a sampling quantity).
            assert!(
                fit.slope - tol > 0.0 && fit.slope > order - tol - 0.1,
                "{name}: |SA − {what}| shrinks with slope {:.3} ± {:.3}, expected {order}",
                fit.slope,
                fit.se
            );
        }
    }
}

/// A damped pendulum with multiplicative diagonal noise (Stratonovich), bounded over long
/// horizons: dx₀ = x₁ dt + p₂ sin x₀ ∘ dW₁, dx₁ = (−p₀ sin x₀ − p₁ x₁) dt + p₃ x₁ ∘ dW₂.
#[derive(Clone, Copy)]
struct Pendulum;
impl Sde for Pendulum {
    fn shape(&self) -> SdeShape {
        SdeShape::diagonal(2).with_params(4).stratonovich()
    }
    fn drift<R: Real>(&self, _t: R, x: &[R], p: &[R], out: &mut [R]) {
        out[0] = x[1];
        out[1] = -(p[0] * x[0].sin()) - p[1] * x[1];
    }
    fn diffusion<R: Real>(&self, _t: R, x: &[R], p: &[R], out: &mut [R]) {
        out[0] = p[2] * x[0].sin();
        out[1] = p[3] * x[1];
    }
}

/// Reversible Heun over a long horizon: the reverse reconstruction that its O(1)-memory
/// adjoint uses (`SdeMethod::reverse`, Kidger et al. 2021, Algorithm 2) recovers the stored
/// forward states after 20,000 steps, and the reversible gradient still equals the exact
/// discrete adjoint (which replays stored checkpoints, no reconstruction).
#[test]
fn reversible_heun_long_horizon_reconstruction_and_gradient() {
    use mechml_engine::sde::solve_vjp;
    let n = 20_000;
    let t1 = 20.0;
    let sde = Pendulum;
    let (x0, p) = ([2.0, 0.0], [1.0, 0.1, 0.3, 0.3]);
    let method = ReversibleHeun;
    let w = VirtualBrownianTree::builder(0.0, t1)
        .dim(2)
        .seed(77)
        .fixed_steps(n)
        .build()
        .unwrap();
    let h = t1 / n as f64;
    let d = 2;
    let sl = method.state_len(d, 2);
    let mut ws = Workspace::<f64>::new(&sde);
    let mut states = vec![0.0; (n + 1) * sl];
    method.init(&sde, 0.0, &x0, &p, &mut states[..sl]);
    let mut dw = [0.0; 2];
    let mut tree = w.fresh();
    let time = |k: usize| if k == n { t1 } else { k as f64 * h };
    for k in 0..n {
        tree.increment(time(k), time(k + 1), &mut dw).unwrap();
        let inc = Increment {
            t: time(k),
            h: time(k + 1) - time(k),
            dw: &dw,
            area: None,
        };
        let (cur, next) = states[k * sl..(k + 2) * sl].split_at_mut(sl);
        method.step(&sde, &inc, &p, cur, next, &mut ws);
    }
    assert!(states.iter().all(|v| v.is_finite()));
    let scale = states.iter().fold(0.0f64, |s, v| s.max(v.abs()));
    let mut y = states[n * sl..].to_vec();
    let mut prev = vec![0.0; sl];
    let mut worst: f64 = 0.0;
    for k in (0..n).rev() {
        tree.increment(time(k), time(k + 1), &mut dw).unwrap();
        let inc = Increment {
            t: time(k),
            h: time(k + 1) - time(k),
            dw: &dw,
            area: None,
        };
        method
            .reverse(&sde, &inc, &p, &y, &mut prev, &mut ws)
            .unwrap();
        std::mem::swap(&mut y, &mut prev);
        for (a, b) in y.iter().zip(&states[k * sl..(k + 1) * sl]) {
            worst = worst.max((a - b).abs());
        }
    }
    // Bound: one unit rounding per step accumulating linearly, n·ε relative to the state's
    // size (4.4e-12 here), i.e. no amplification by the reverse steps; observed 3e-14 to
    // 2e-13 over four seeds.
    let rel = worst / scale;
    let bound = n as f64 * f64::EPSILON;
    println!("reconstruction: max |error| / max |state| = {rel:e} (bound {bound:e})");
    assert!(
        rel < bound,
        "reconstruction error {rel:e} exceeds n·ε = {bound:e}"
    );
    // Gradients of a loss of the states saved every 5,000 steps.
    let opts = SdeOptions {
        steps: Steps::Fixed { n_steps: n },
        save_at: SaveAt::Every(5000),
        check_finite: true,
    };
    let adj = weights(5 * d);
    let grad = |sens| {
        let (_, g) = solve_vjp(
            &SdeProblem::new(&sde, 0.0, t1, x0.to_vec(), p.to_vec()).unwrap(),
            &method,
            &w,
            &opts,
            sens,
            &adj,
        )
        .unwrap();
        let mut v = g.x0;
        v.extend(g.p);
        v
    };
    let rev = grad(Sensitivity::Reversible);
    let disc = grad(Sensitivity::DiscreteAdjoint {
        checkpointing: Checkpointing::Auto,
    });
    println!("reversible {rev:?}\ndiscrete   {disc:?}");
    // The reconstruction error enters the gradient through the step Jacobians; allow a
    // hundred times the state bound for their conditioning (observed: 1e-13 relative).
    close(
        "reversible vs discrete adjoint, 20,000 steps",
        &rev,
        &disc,
        100.0 * bound,
    );
}
