//! Failures are errors that say when and where: invalid input before any work; step-size
//! underflow, non-finite values, too many steps and Newton failure during a solve. The
//! step-size options (h0, h_max, h_min) are honoured by every method.

use mechml_engine::Error;
use mechml_engine::ad::Real;
use mechml_engine::ode::problems::VanDerPol;
use mechml_engine::ode::{Method, OdeOptions, OdeProblem, OdeRhs, SaveAt, solve};

const ALL: [Method; 7] = [
    Method::Tsit5,
    Method::Dopri5,
    Method::Bosh3,
    Method::Vern7,
    Method::Rodas5P,
    Method::Kvaerno5,
    Method::Bdf,
];

/// A right-hand side that must never be evaluated.
struct MustNotRun;
impl OdeRhs for MustNotRun {
    fn n_states(&self) -> usize {
        2
    }
    fn n_params(&self) -> usize {
        1
    }
    fn rhs<R: Real>(&self, _t: R, _y: &[R], _p: &[R], _dy: &mut [R]) {
        panic!("the right-hand side was evaluated although the input is invalid");
    }
}

#[test]
fn invalid_input_is_an_error_before_any_work() {
    assert!(matches!(
        OdeProblem::new(MustNotRun, 0.0, 1.0, vec![1.0], vec![1.0]),
        Err(Error::ShapeMismatch { arg: "y0", .. })
    ));
    assert!(matches!(
        OdeProblem::new(MustNotRun, 0.0, 1.0, vec![1.0, 2.0], vec![]),
        Err(Error::ShapeMismatch { arg: "p", .. })
    ));
    assert!(matches!(
        OdeProblem::new(MustNotRun, 0.0, 1.0, vec![1.0, f64::NAN], vec![1.0]),
        Err(Error::NonFinite { index: 1, .. })
    ));
    assert!(OdeProblem::new(MustNotRun, 1.0, 1.0, vec![1.0, 2.0], vec![1.0]).is_err());
    assert!(OdeProblem::new(MustNotRun, 0.0, f64::INFINITY, vec![1.0, 2.0], vec![1.0]).is_err());

    let prob = OdeProblem {
        rhs: MustNotRun,
        t0: 0.0,
        t1: 1.0,
        y0: vec![1.0, 2.0],
        p: vec![1.0],
    };
    let bad_options = [
        OdeOptions::with_tol(-1e-6, 1e-6),
        OdeOptions::with_tol(f64::NAN, 1e-6),
        OdeOptions::with_tol(1e-6, -1.0),
        OdeOptions::with_tol(0.0, 0.0),
        OdeOptions::with_tol(1e-20, 1e-6),
        OdeOptions::with_tol(1e-6, vec![1e-6]),
        OdeOptions {
            h0: Some(-1.0),
            ..OdeOptions::default()
        },
        OdeOptions {
            max_steps: 0,
            ..OdeOptions::default()
        },
        OdeOptions {
            h0: Some(1e-6),
            h_min: 1e-3,
            ..OdeOptions::default()
        },
        OdeOptions::default().saving(SaveAt::Times(vec![0.5, 0.2])),
        OdeOptions::default().saving(SaveAt::Times(vec![0.5, 2.0])),
        OdeOptions::default().saving(SaveAt::Times(vec![])),
        OdeOptions {
            fixed_step: Some(0.0),
            ..OdeOptions::default()
        },
    ];
    for opts in &bad_options {
        for m in ALL {
            let r = solve(&prob, m, opts);
            assert!(
                matches!(
                    r,
                    Err(Error::InvalidArgument { .. }
                        | Error::InvalidOption { .. }
                        | Error::ShapeMismatch { .. })
                ),
                "{opts:?} with {m:?} gave {r:?}"
            );
        }
    }
    for m in [Method::Rk4 { dt: 0.0 }, Method::Euler { dt: f64::NAN }] {
        assert!(matches!(
            solve(&prob, m, &OdeOptions::default()),
            Err(Error::InvalidOption { .. })
        ));
    }
}

/// `y₀' = −y₀` on t < 1, then the second component's derivative becomes NaN.
struct NanAfterOne;
impl OdeRhs for NanAfterOne {
    fn n_states(&self) -> usize {
        3
    }
    fn rhs<R: Real>(&self, t: R, y: &[R], _p: &[R], dy: &mut [R]) {
        dy[0] = -y[0];
        dy[1] = if t.value() > 1.0 {
            R::from_f64(f64::NAN)
        } else {
            -y[1]
        };
        dy[2] = R::zero();
    }
}

#[test]
fn non_finite_derivative_names_time_and_component() {
    let prob = OdeProblem::new(NanAfterOne, 0.0, 3.0, vec![1.0, 1.0, 1.0], vec![]).unwrap();
    for m in ALL {
        match solve(&prob, m, &OdeOptions::default()) {
            Err(Error::NonFiniteState { t, component, .. }) => {
                assert!((0.0..=1.0 + 1e-9).contains(&t), "{m:?}: t = {t}");
                assert_eq!(component, 1, "{m:?}");
            }
            Err(Error::NewtonFailure { t, component, .. }) => {
                assert!((0.0..=1.0 + 1e-9).contains(&t), "{m:?}: t = {t}");
                assert_eq!(component, 1, "{m:?}");
            }
            other => panic!("{m:?}: expected a non-finite error, got {other:?}"),
        }
    }
    // At the initial point.
    let prob = OdeProblem::new(NanAfterOne, 2.0, 3.0, vec![1.0, 1.0, 1.0], vec![]).unwrap();
    let e = solve(&prob, Method::Tsit5, &OdeOptions::default()).unwrap_err();
    assert!(
        matches!(
            e,
            Error::NonFiniteState {
                t: 2.0,
                component: 1,
                quantity: "derivative",
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        e.to_string().contains("component 1") && e.to_string().contains("t = 2e0"),
        "{e}"
    );
}

/// `y' = y²`, `y(0) = 1` blows up at t = 1.
struct BlowUp;
impl OdeRhs for BlowUp {
    fn n_states(&self) -> usize {
        1
    }
    fn rhs<R: Real>(&self, _t: R, y: &[R], _p: &[R], dy: &mut [R]) {
        dy[0] = y[0] * y[0];
    }
}

#[test]
fn blow_up_stops_at_the_singularity() {
    let prob = OdeProblem::new(BlowUp, 0.0, 2.0, vec![1.0], vec![]).unwrap();
    for m in ALL {
        let opts = OdeOptions {
            max_steps: 1_000_000,
            ..OdeOptions::default()
        };
        match solve(&prob, m, &opts) {
            Err(Error::StepSizeUnderflow {
                t,
                h,
                component: Some(component),
                ..
            })
            | Err(Error::NewtonFailure {
                t, h, component, ..
            })
            | Err(Error::NonFiniteState {
                t, h, component, ..
            }) => {
                assert!((t - 1.0).abs() < 1e-2, "{m:?}: stopped at t = {t}");
                assert!(h < 1e-3 && component == 0, "{m:?}: h = {h}");
            }
            other => panic!("{m:?}: expected a failure near t = 1, got {other:?}"),
        }
    }
}

#[test]
fn too_many_steps_and_stiffness() {
    // Van der Pol with μ = 1000 is stiff: an explicit method runs out of steps.
    let prob = OdeProblem::new(VanDerPol, 0.0, 3000.0, vec![2.0, 0.0], vec![1000.0]).unwrap();
    let mut opts = OdeOptions::with_tol(1e-6, 1e-6);
    opts.max_steps = 5000;
    let e = solve(&prob, Method::Tsit5, &opts).unwrap_err();
    match e {
        Error::TooManySteps {
            t, h, max_steps, ..
        } => {
            assert!(t > 0.0 && t < 3000.0 && max_steps == 5000);
            // The step the explicit method is held to by stability: |λ| ~ 2μ·(y₀² − 1)
            // early on, so h ~ 3/|λ| ≪ 1.
            assert!(h > 0.0 && h < 1e-2, "h = {h}");
        }
        ref other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains("stiff") && e.to_string().contains("h = "));
    // A stiff method finishes within the same budget.
    assert!(solve(&prob, Method::Rodas5P, &opts).is_ok());
}

/// `y₀' = −1/(2y₀)`, `y₀(0) = 1`: `y₀ = √(1 − t)` reaches 0 at t = 1 with an infinite
/// derivative while staying finite; `y₁' = −y₁` is harmless.
struct SqrtSingularity;
impl OdeRhs for SqrtSingularity {
    fn n_states(&self) -> usize {
        2
    }
    fn rhs<R: Real>(&self, _t: R, y: &[R], _p: &[R], dy: &mut [R]) {
        dy[0] = R::from_f64(-0.5) / y[0];
        dy[1] = -y[1];
    }
}

/// The step size must underflow at the singularity: the error names t ≈ 1, a step at the
/// resolution of the time grid and component 0. (The Newton-based methods fail in their
/// iteration first, at the same place.)
#[test]
fn step_size_underflow_names_time_step_and_component() {
    let prob = OdeProblem::new(SqrtSingularity, 0.0, 2.0, vec![1.0, 1.0], vec![]).unwrap();
    let opts = OdeOptions {
        max_steps: 1_000_000,
        ..OdeOptions::default()
    };
    for m in ALL {
        let e = solve(&prob, m, &opts).unwrap_err();
        match (&e, m) {
            (
                Error::NewtonFailure {
                    t, h, component, ..
                },
                Method::Kvaerno5 | Method::Bdf,
            ) => {
                assert!(
                    (t - 1.0).abs() < 1e-4 && *h < 1e-12 && *component == 0,
                    "{m:?}: {e:?}"
                );
            }
            (
                Error::StepSizeUnderflow {
                    t,
                    h,
                    component: Some(0),
                    ..
                },
                _,
            ) => {
                assert!((t - 1.0).abs() < 1e-4, "{m:?}: t = {t}");
                // The grid's resolution at t ≈ 1: a few ulps.
                assert!(*h > 0.0 && *h < 64.0 * f64::EPSILON, "{m:?}: h = {h}");
                assert!(e.to_string().contains("component 0"), "{e}");
            }
            _ => panic!("{m:?}: expected a step-size underflow at t = 1, got {e:?}"),
        }
    }
    // A floor on the step: a stiff component (rate 1e6) drives an explicit method below
    // h_min at once, and the error names that component.
    struct StiffSecond;
    impl OdeRhs for StiffSecond {
        fn n_states(&self) -> usize {
            2
        }
        fn rhs<R: Real>(&self, t: R, y: &[R], _p: &[R], dy: &mut [R]) {
            dy[0] = -y[0];
            dy[1] = (t.cos() - y[1]) * R::from_f64(1e6);
        }
    }
    let prob = OdeProblem::new(StiffSecond, 0.0, 1.0, vec![1.0, 0.5], vec![]).unwrap();
    let opts = OdeOptions {
        h_min: 1e-4,
        ..OdeOptions::with_tol(1e-6, 1e-6)
    };
    match solve(&prob, Method::Tsit5, &opts) {
        Err(Error::StepSizeUnderflow {
            t,
            h,
            component: Some(1),
            ..
        }) => assert!(t < 1e-2 && h < 1e-4, "t = {t}, h = {h}"),
        other => panic!("expected an underflow below h_min in component 1, got {other:?}"),
    }
}

/// A user's first step is the first step taken, and no step exceeds h_max (a third of
/// the largest step the method takes by itself), for every method (one-step and BDF);
/// the answer stays that of the default options.
#[test]
fn h0_and_h_max_are_honoured() {
    let prob = OdeProblem::new(VanDerPol, 0.0, 3.0, vec![2.0, 0.0], vec![1.0]).unwrap();
    let largest_step = |ts: &[f64]| ts.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max);
    let h0 = 1e-5;
    for m in ALL {
        let base = OdeOptions::with_tol(1e-8, 1e-8);
        let free = solve(&prob, m, &base.clone().saving(SaveAt::steps())).unwrap();
        let h_max = largest_step(&free.ts) / 3.0;
        let opts = OdeOptions {
            h0: Some(h0),
            h_max,
            ..base
        }
        .saving(SaveAt::steps());
        let sol = solve(&prob, m, &opts).unwrap();
        let first = sol.ts[1] - sol.ts[0];
        assert!((first - h0).abs() <= 1e-15, "{m:?}: first step {first}");
        // t + h rounds: allow a few ulps of t ≤ 3.
        let largest = largest_step(&sol.ts);
        assert!(
            largest <= h_max + 32.0 * f64::EPSILON,
            "{m:?}: step {largest} > {h_max}"
        );
        assert!(
            sol.stats.n_accepted as f64 >= 3.0 / h_max,
            "{m:?}: {:?}",
            sol.stats
        );
        let d = (sol.y_final()[0] - free.y_final()[0]).abs();
        assert!(d < 1e-5, "{m:?}: {d:e}");
    }
}
