//! Failures of SDE solves, ensembles and gradients are typed errors naming the time and the
//! component (and the path, in ensembles), never silent NaNs or a loss of the error's kind.
//!
//! Each problem below fails at a time and in a component known in advance, so each test
//! checks the numbers in the error, not only that there is one.

use mechml_engine::Error;
use mechml_engine::ad::Real;
use mechml_engine::sde::{
    AdaptiveOptions, BrownianTreeOptions, Calculus, EnsembleOptions, EulerMaruyama, Heun, Milstein,
    NoiseSource, ReversibleHeun, Sde, SdeMethod, SdeOptions, SdeProblem, SdeShape, Sensitivity,
    Sra1, Steps, VirtualBrownianTree, ensemble, ensemble_vjp, solve, solve_vjp,
};
use mechml_engine::solver::SaveAt;

/// Additive noise, two components: component 0 is deterministic and smooth, component 1
/// is `dx = −2 sin x dt + 2 dW` (hard to resolve to a tight tolerance), and its drift is NaN
/// after `t_nan` (to test non-finite proposals).
struct TwoComponents {
    t_nan: f64,
}
impl Sde for TwoComponents {
    fn shape(&self) -> SdeShape {
        SdeShape::additive(2, 1)
    }
    fn drift<R: Real>(&self, t: R, x: &[R], _p: &[R], out: &mut [R]) {
        out[0] = -x[0];
        out[1] = if t.value() > self.t_nan {
            R::from_f64(f64::NAN)
        } else {
            x[1].sin() * -2.0
        };
    }
    fn diffusion<R: Real>(&self, _t: R, _x: &[R], _p: &[R], out: &mut [R]) {
        out[0] = R::zero();
        out[1] = R::from_f64(2.0);
    }
}

fn tree(depth: u32, seed: u64) -> VirtualBrownianTree {
    VirtualBrownianTree::new(
        0.0,
        2.0,
        1,
        seed,
        BrownianTreeOptions {
            depth,
            levy_area: true,
        },
    )
    .unwrap()
}

fn adaptive(tol: f64, max_steps: usize) -> AdaptiveOptions {
    AdaptiveOptions::with_tol(tol, tol).with_max_steps(max_steps)
}

#[test]
fn adaptive_underflow_names_time_and_the_worst_component() {
    let sde = TwoComponents {
        t_nan: f64::INFINITY,
    };
    let opts = SdeOptions {
        steps: Steps::Adaptive(adaptive(1e-10, 1_000_000)),
        ..Default::default()
    };
    let e = solve(
        &SdeProblem::new(&sde, 0.0, 2.0, vec![1.0, 0.5], vec![]).unwrap(),
        &Sra1,
        &mut tree(4, 1),
        &opts,
    )
    .unwrap_err();
    match &e {
        Error::StepSizeUnderflow {
            t,
            h,
            component,
            path,
            ..
        } => {
            // The first step (from t = 0) already needs a finer grid than 2/2⁴.
            assert_eq!((*t, *component, *path), (0.0, Some(1), None), "{e}");
            assert!(*h < 2.0 / 16.0, "{e}");
        }
        other => panic!("expected StepSizeUnderflow, got {other:?}"),
    }
    let msg = e.to_string();
    println!("{msg}");
    assert!(
        msg.contains("t = 0e0") && msg.contains("component 1"),
        "{msg}"
    );
}

#[test]
fn adaptive_non_finite_state_is_non_finite_error_with_component() {
    // The drift of component 1 is NaN for t > 1: steps up to t = 1 (a grid point) succeed;
    // every step from t = 1 evaluates the drift at t + 3h/4 > 1, however fine.
    let sde = TwoComponents { t_nan: 1.0 };
    for check_finite in [true, false] {
        let opts = SdeOptions {
            steps: Steps::Adaptive(adaptive(1e-2, 1_000_000)),
            check_finite,
            ..Default::default()
        };
        let e = solve(
            &SdeProblem::new(&sde, 0.0, 2.0, vec![1.0, 0.5], vec![]).unwrap(),
            &Sra1,
            &mut tree(12, 2),
            &opts,
        )
        .unwrap_err();
        println!("{e}");
        match &e {
            Error::NonFinite { index, context, .. } => {
                assert_eq!(*index, 1, "{e}");
                assert!(context.contains("t = 1 "), "{e}");
                assert!(context.contains("state component 1"), "{e}");
            }
            other => panic!("expected NonFinite, got {other:?}"),
        }
    }
}

#[test]
fn ensemble_errors_keep_their_kind_and_name_the_path() {
    let base = EnsembleOptions {
        n_paths: 70,
        seed: 4,
        noise: NoiseSource::Tree,
        tree_depth: 4,
        ..Default::default()
    };
    // Every path underflows at its first step; path 0 is reported (block order).
    let under = EnsembleOptions {
        steps: Steps::Adaptive(adaptive(1e-10, 1_000_000)),
        ..base.clone()
    };
    let sde = TwoComponents {
        t_nan: f64::INFINITY,
    };
    let e = ensemble(
        &SdeProblem::new(&sde, 0.0, 2.0, vec![1.0, 0.5], vec![]).unwrap(),
        &Sra1,
        &under,
    )
    .unwrap_err();
    match &e {
        Error::StepSizeUnderflow {
            t, component, path, ..
        } => assert_eq!((*t, *component, *path), (0.0, Some(1), Some(0)), "{e}"),
        other => panic!("expected StepSizeUnderflow, got {other:?}"),
    }
    let msg = e.to_string();
    println!("{msg}");
    assert!(msg.contains("path 0") && msg.contains("component 1") && msg.contains("t = "));
    // Too many steps.
    let few = EnsembleOptions {
        steps: Steps::Adaptive(adaptive(1e-2, 3)),
        tree_depth: 12,
        ..base.clone()
    };
    let e = ensemble(
        &SdeProblem::new(&sde, 0.0, 2.0, vec![1.0, 0.5], vec![]).unwrap(),
        &Sra1,
        &few,
    )
    .unwrap_err();
    match &e {
        Error::TooManySteps {
            t, max_steps, path, ..
        } => {
            assert_eq!((*max_steps, *path), (3, Some(0)), "{e}");
            assert!(*t > 0.0 && *t < 2.0, "{e}");
        }
        other => panic!("expected TooManySteps, got {other:?}"),
    }
    println!("{e}");
    assert!(e.to_string().contains("path 0"), "{e}");
    // A non-finite state names path, time and component.
    let nan = EnsembleOptions {
        steps: Steps::Adaptive(adaptive(1e-2, 1_000_000)),
        tree_depth: 12,
        ..base
    };
    let e = ensemble(
        &SdeProblem::new(
            &TwoComponents { t_nan: 1.0 },
            0.0,
            2.0,
            vec![1.0, 0.5],
            vec![],
        )
        .unwrap(),
        &Sra1,
        &nan,
    )
    .unwrap_err();
    println!("{e}");
    match &e {
        Error::NonFinite { index, context, .. } => {
            assert_eq!(*index, 1);
            assert!(
                context.starts_with("path 0:") && context.contains("t = 1 "),
                "{e}"
            );
        }
        other => panic!("expected NonFinite, got {other:?}"),
    }
}

/// `dx = p₀ x dt + p₁ x dW` (or `∘ dW`) from `x₀ = 0` with `p₀ h = 10³⁰`: the path stays
/// exactly 0 (finite), but each step's Jacobian is `J ≈ 1 + p₀ h ≈ 10³⁰`, so derivatives
/// overflow at a step known in advance: a backward pass multiplying by `J` per step
/// overflows 11 steps back from the end (10³³⁰ > f64::MAX ≈ 1.8·10³⁰⁸); the stochastic
/// adjoint's Heun step multiplies by `1 + J + J²/2 ≈ 5·10⁵⁹`, overflowing 6 steps back;
/// forward tangents overflow after 11 steps from the start.
#[derive(Clone, Copy)]
struct Overflowing {
    calculus: Calculus,
}
impl Sde for Overflowing {
    fn shape(&self) -> SdeShape {
        SdeShape::diagonal(1)
            .with_params(2)
            .with_calculus(self.calculus)
    }
    fn drift<R: Real>(&self, _t: R, x: &[R], p: &[R], out: &mut [R]) {
        out[0] = p[0] * x[0];
    }
    fn diffusion<R: Real>(&self, _t: R, x: &[R], p: &[R], out: &mut [R]) {
        out[0] = p[1] * x[0];
    }
}

fn vjp<M: SdeMethod>(
    sde: &Overflowing,
    method: &M,
    sens: Sensitivity,
    check_finite: bool,
    x0: f64,
    p: &[f64],
) -> Result<(Vec<f64>, mechml_engine::sde::SdeGradients), Error> {
    let n = 32;
    let w = VirtualBrownianTree::builder(0.0, 1.0)
        .seed(9)
        .fixed_steps(n)
        .build()
        .unwrap();
    let opts = SdeOptions {
        steps: Steps::Fixed { n_steps: n },
        save_at: SaveAt::Final,
        check_finite,
    };
    solve_vjp(
        &SdeProblem::new(sde, 0.0, 1.0, vec![x0], p.to_vec()).unwrap(),
        method,
        &w,
        &opts,
        sens,
        &[1.0],
    )
}

#[test]
fn backward_passes_report_non_finite_adjoints_with_time_and_component() {
    let p = [32.0e30, 0.5];
    let ito = Overflowing {
        calculus: Calculus::Ito,
    };
    let strat = Overflowing {
        calculus: Calculus::Stratonovich,
    };
    type Case<'a> = (
        &'a str,
        Result<(Vec<f64>, mechml_engine::sde::SdeGradients), Error>,
    );
    let cases: Vec<Case<'_>> = vec![
        (
            "discrete adjoint",
            vjp(&ito, &EulerMaruyama, Sensitivity::default(), true, 0.0, &p),
        ),
        (
            "reversible adjoint",
            vjp(
                &strat,
                &ReversibleHeun,
                Sensitivity::Reversible,
                true,
                0.0,
                &p,
            ),
        ),
        (
            "stochastic adjoint",
            vjp(
                &strat,
                &Heun,
                Sensitivity::StochasticAdjoint { backsolve: false },
                true,
                0.0,
                &p,
            ),
        ),
        (
            "forward sensitivity",
            vjp(&ito, &Milstein, Sensitivity::Forward, true, 0.0, &p),
        ),
    ];
    // The step whose adjoint (tangent) is the first non-finite one, out of n = 32.
    let first_bad = [32 - 11, 32 - 11, 32 - 6, 11];
    for ((pass, r), k) in cases.into_iter().zip(first_bad) {
        let e = r.expect_err(pass);
        let msg = e.to_string();
        println!("{pass}: {msg}");
        match &e {
            Error::NonFinite { index, context, .. } => {
                assert_eq!(*index, 0, "{pass}: {msg}");
                let t: f64 = context
                    .split("t = ")
                    .nth(1)
                    .and_then(|s| s.split(' ').next())
                    .and_then(|s| s.parse().ok())
                    .unwrap_or_else(|| panic!("{pass}: no time in {msg}"));
                assert_eq!(t, k as f64 / 32.0, "{pass}: {msg}");
                assert!(context.contains(&format!("(step {k})")), "{pass}: {msg}");
                assert!(
                    msg.contains("component 0") || msg.contains("entry"),
                    "{msg}"
                );
                assert!(
                    msg.contains(pass.split(' ').next().unwrap()),
                    "{pass}: the message should name the pass: {msg}"
                );
            }
            other => panic!("{pass}: expected NonFinite, got {other:?}"),
        }
    }
}

#[test]
fn reversible_adjoint_replay_checks_the_state() {
    // With check_finite off the forward solve returns a non-finite state silently; the
    // reversible adjoint's replay must not reconstruct from it: it stops with an error
    // naming the time and component.
    let strat = Overflowing {
        calculus: Calculus::Stratonovich,
    };
    let p = [32.0e12, 0.5];
    let e = vjp(
        &strat,
        &ReversibleHeun,
        Sensitivity::Reversible,
        false,
        1.0,
        &p,
    )
    .unwrap_err();
    println!("{e}");
    match &e {
        Error::NonFinite { index, context, .. } => {
            assert_eq!(*index, 0, "{e}");
            assert!(
                context.contains("component 0") && context.contains("t = "),
                "{e}"
            );
        }
        other => panic!("expected NonFinite, got {other:?}"),
    }
}

#[test]
fn ensemble_gradient_errors_name_the_path() {
    let ito = Overflowing {
        calculus: Calculus::Ito,
    };
    let opts = EnsembleOptions {
        n_paths: 3,
        steps: Steps::Fixed { n_steps: 32 },
        ..Default::default()
    };
    let adj = [1.0; 3];
    let e = ensemble_vjp(
        &SdeProblem::new(&ito, 0.0, 1.0, vec![0.0], vec![32.0e30, 0.5]).unwrap(),
        &EulerMaruyama,
        &opts,
        Sensitivity::default(),
        &adj,
    )
    .unwrap_err();
    match &e {
        Error::NonFinite { index, context, .. } => {
            assert_eq!(*index, 0, "{e}");
            assert!(context.starts_with("path 0:"), "{e}");
            assert!(context.contains("t = 0.65625 (step 21)"), "{e}");
        }
        other => panic!("expected NonFinite, got {other:?}"),
    }
}
