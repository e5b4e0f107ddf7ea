//! A step-size controller written outside the engine (public API only) is honoured by
//! every path: the primal solve, every pass of forward sensitivities, the forward pass of
//! the discrete adjoint (whose backward pass replays that step grid) and the solves of the
//! continuous adjoints; gradients through it match finite differences.

use std::sync::{Arc, Mutex};

use mechml_engine::Error;
use mechml_engine::ad::gradcheck::finite_diff_gradient;
use mechml_engine::ode::problems::LotkaVolterra;
use mechml_engine::ode::{
    Checkpointing, Method, OdeOptions, OdeProblem, OdeSolution, SaveAt, Sensitivity,
    SensitivitySolve, StepController, StepDecision, solve,
};

/// Every decision of a controller: `(h, err, accepted)`.
type Log = Arc<Mutex<Vec<(f64, f64, bool)>>>;

/// A deliberately unusual controller: accepts only below 0.5, scales by
/// `0.7 ε^(−1/q)` within [0.25, 3], and records every decision in a log shared by its
/// clones.
#[derive(Clone, Debug)]
struct Strict {
    log: Log,
}

impl Strict {
    fn new() -> (Self, Log) {
        let log: Log = Arc::default();
        (Self { log: log.clone() }, log)
    }
}

impl StepController for Strict {
    fn reset(&mut self) {}

    fn adapt(&mut self, h: f64, err: f64, q: f64) -> StepDecision {
        let accept = err < 0.5;
        let factor = if err == 0.0 {
            3.0
        } else if err.is_finite() {
            0.7 * err.powf(-1.0 / q)
        } else {
            0.25
        };
        self.log.lock().unwrap().push((h, err, accept));
        StepDecision {
            accept,
            h_next: h * factor.clamp(0.25, 3.0),
        }
    }
}

fn problem(y0: &[f64], p: &[f64]) -> OdeProblem<LotkaVolterra> {
    OdeProblem::new(LotkaVolterra, 0.0, 5.0, y0.to_vec(), p.to_vec()).unwrap()
}

const Y0: [f64; 2] = [1.0, 1.0];
const P: [f64; 4] = [1.5, 1.0, 3.0, 1.0];

/// L = Σₖ Σᵢ yᵢ(τₖ)² over the save times, and its cotangents.
fn loss(sol: &OdeSolution) -> (f64, Vec<Vec<f64>>) {
    let l = sol.ys.iter().flatten().map(|v| v * v).sum();
    let w = sol
        .ys
        .iter()
        .map(|y| y.iter().map(|v| 2.0 * v).collect())
        .collect();
    (l, w)
}

fn options(c: Strict) -> OdeOptions {
    OdeOptions::with_tol(1e-9, 1e-9)
        .saving(SaveAt::Times(vec![1.0, 2.5, 5.0]))
        .controller(c)
}

fn decisions(log: &Log) -> Vec<(f64, f64, bool)> {
    log.lock().unwrap().clone()
}

/// The discrete adjoint through a custom controller: its forward pass makes exactly the
/// primal's decisions (so its step grid is the primal's), the gradient matches central
/// finite differences of solves with the same controller, and forward sensitivities
/// (exact derivatives of the same discrete solution) agree with it to rounding.
#[test]
fn custom_controller_in_a_discrete_adjoint_gradient() {
    let (c, primal_log) = Strict::new();
    let primal = solve(&problem(&Y0, &P), Method::Tsit5, &options(c)).unwrap();
    let primal_decisions = decisions(&primal_log);
    // The controller is really in charge: its grid differs from the default controller's.
    let default = solve(
        &problem(&Y0, &P),
        Method::Tsit5,
        &OdeOptions::with_tol(1e-9, 1e-9).saving(SaveAt::Times(vec![1.0, 2.5, 5.0])),
    )
    .unwrap();
    assert_eq!(primal.stats.n_steps(), primal_decisions.len());
    assert_ne!(primal.stats.n_accepted, default.stats.n_accepted);

    let (c, grad_log) = Strict::new();
    let s = SensitivitySolve::new(
        &problem(&Y0, &P),
        Method::Tsit5,
        &options(c),
        Sensitivity::DiscreteAdjoint {
            checkpointing: Checkpointing::Budget(4),
        },
    )
    .unwrap();
    // Same decisions, same step grid, same solution.
    assert_eq!(decisions(&grad_log), primal_decisions);
    assert_eq!(s.solution().stats, primal.stats);
    assert_eq!(s.solution().ys, primal.ys);
    let g = s.vjp(&loss(s.solution()).1).unwrap();
    // The backward pass replays the recorded grid: no new decisions.
    assert_eq!(decisions(&grad_log).len(), primal_decisions.len());
    assert_eq!(g.info.backward.n_accepted, primal.stats.n_accepted);

    // Central differences of the same loss, each solve with the same controller.
    let x: Vec<f64> = Y0.iter().chain(&P).copied().collect();
    let fd = finite_diff_gradient(
        |x| {
            let (c, _) = Strict::new();
            let sol = solve(&problem(&x[..2], &x[2..]), Method::Tsit5, &options(c))?;
            Ok(loss(&sol).0)
        },
        &x,
        Some(1e-4),
    )
    .unwrap();
    let got: Vec<f64> = g.y0.iter().chain(&g.p).copied().collect();
    let scale = fd.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    for (a, b) in got.iter().zip(&fd) {
        assert!((a - b).abs() < 1e-5 * scale, "{got:?} vs fd {fd:?}");
    }

    // Forward sensitivities take the primal's decisions too and differentiate the same
    // discrete solution.
    let (c, fwd_log) = Strict::new();
    let f = SensitivitySolve::new(
        &problem(&Y0, &P),
        Method::Tsit5,
        &options(c),
        Sensitivity::Forward,
    )
    .unwrap();
    assert_eq!(decisions(&fwd_log), primal_decisions);
    let gf = f.vjp(&loss(f.solution()).1).unwrap();
    let gf: Vec<f64> = gf.y0.iter().chain(&gf.p).copied().collect();
    for (a, b) in got.iter().zip(&gf) {
        assert!((a - b).abs() < 1e-10 * scale, "{got:?} vs forward {gf:?}");
    }
}

/// The continuous adjoints use the controller for their forward and backward solves; an
/// ESDIRK discrete adjoint takes the primal's decisions; BDF, which selects its own steps
/// and orders, refuses a custom controller, naming both.
#[test]
fn custom_controller_in_the_other_paths() {
    let x: Vec<f64> = Y0.iter().chain(&P).copied().collect();
    let fd = finite_diff_gradient(
        |x| {
            let (c, _) = Strict::new();
            let sol = solve(&problem(&x[..2], &x[2..]), Method::Tsit5, &options(c))?;
            Ok(loss(&sol).0)
        },
        &x,
        Some(1e-4),
    )
    .unwrap();
    let scale = fd.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    for s in [
        Sensitivity::ContinuousAdjoint {
            checkpointing: Checkpointing::Auto,
        },
        Sensitivity::Backsolve,
    ] {
        let (c, log) = Strict::new();
        let sv = SensitivitySolve::new(&problem(&Y0, &P), Method::Tsit5, &options(c), s).unwrap();
        let n_forward = decisions(&log).len();
        assert_eq!(n_forward, sv.solution().stats.n_steps(), "{s:?}");
        let g = sv.vjp(&loss(sv.solution()).1).unwrap();
        // The backward solves asked the same controller.
        assert!(decisions(&log).len() > n_forward, "{s:?}");
        let got: Vec<f64> = g.y0.iter().chain(&g.p).copied().collect();
        for (a, b) in got.iter().zip(&fd) {
            assert!((a - b).abs() < 1e-4 * scale, "{s:?}: {got:?} vs fd {fd:?}");
        }
    }

    let (c, primal_log) = Strict::new();
    solve(&problem(&Y0, &P), Method::Kvaerno5, &options(c)).unwrap();
    let (c, log) = Strict::new();
    SensitivitySolve::new(
        &problem(&Y0, &P),
        Method::Kvaerno5,
        &options(c),
        Sensitivity::default(),
    )
    .unwrap();
    assert_eq!(decisions(&log), decisions(&primal_log));

    let (c, _) = Strict::new();
    let e = solve(&problem(&Y0, &P), Method::Bdf, &options(c)).unwrap_err();
    assert!(matches!(e, Error::Unsupported { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("Bdf") && msg.contains("Strict"), "{msg}");
}
