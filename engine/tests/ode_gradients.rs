//! Gradients through solves: the four sensitivity methods agree with each other, with
//! central finite differences and with the reference gradients of WORKLOADS.md §7, on
//! Lotka–Volterra, Lorenz-63 (short horizon) and a stiff problem; the discrete adjoint's
//! memory law; the tape block.

#[path = "ode_common/mod.rs"]
mod common;

use common::reference;
use mechml_engine::Error;
use mechml_engine::ad::gradcheck::finite_diff_gradient;
use mechml_engine::ad::{Real, Tape};
use mechml_engine::ode::problems::{Lorenz63, LotkaVolterra, Robertson};
use mechml_engine::ode::{
    Checkpointing, Method, OdeOptions, OdeProblem, OdeRhs, OdeSolution, SaveAt, Sensitivity,
    SensitivitySolve, TapeProblem, gradient, solve, solve_on_tape,
};

const DISCRETE: Sensitivity = Sensitivity::DiscreteAdjoint {
    checkpointing: Checkpointing::Auto,
};
const CONTINUOUS: Sensitivity = Sensitivity::ContinuousAdjoint {
    checkpointing: Checkpointing::Auto,
};

/// L = Σ y(T)².
fn sum_sq(sol: &OdeSolution) -> (f64, Vec<Vec<f64>>) {
    let y = sol.y_final();
    (
        y.iter().map(|v| v * v).sum(),
        vec![y.iter().map(|v| 2.0 * v).collect()],
    )
}

/// Relative distance `max |a − b| / max(|b|, floor)`.
fn rel(a: &[f64], b: &[f64], floor: f64) -> f64 {
    let scale = b.iter().fold(floor, |m, v| m.max(v.abs()));
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
        / scale
}

/// Central finite differences of L(y0, p) = Σ y(T)² with tight solves.
fn fd_gradient<F: OdeRhs + Clone>(
    prob: &OdeProblem<F>,
    method: Method,
    tol: f64,
) -> (Vec<f64>, Vec<f64>) {
    let n = prob.y0.len();
    let x: Vec<f64> = prob.y0.iter().chain(&prob.p).copied().collect();
    let g = finite_diff_gradient(
        |x| {
            let mut q = prob.clone();
            q.y0 = x[..n].to_vec();
            q.p = x[n..].to_vec();
            let sol = solve(&q, method, &OdeOptions::with_tol(tol, tol))?;
            Ok(sum_sq(&sol).0)
        },
        &x,
        Some(1e-4),
    )
    .unwrap();
    (g[..n].to_vec(), g[n..].to_vec())
}

/// All methods on one problem: the exact ones agree with each other to rounding, the
/// continuous ones to the tolerance, all with finite differences.
fn check_all<F: OdeRhs + Clone>(
    name: &str,
    prob: &OdeProblem<F>,
    methods: &[Method],
    tol: f64,
    fd_tol: f64,
    bound: f64,
) {
    let opts = OdeOptions::with_tol(tol, tol);
    let (fd_y0, fd_p) = fd_gradient(prob, methods[0], fd_tol);
    for &m in methods {
        let mut grads = Vec::new();
        for s in [
            Sensitivity::Forward,
            DISCRETE,
            CONTINUOUS,
            Sensitivity::Backsolve,
        ] {
            match gradient(prob, m, &opts, s, sum_sq) {
                Ok((_, g)) => grads.push((s, g)),
                Err(Error::Unsupported { .. }) => {}
                Err(e) => panic!("{name} {m:?} {s:?}: {e}"),
            }
        }
        assert!(!grads.is_empty(), "{name} {m:?}: no sensitivity method");
        for (s, g) in &grads {
            let ey = rel(&g.y0, &fd_y0, 1.0);
            let ep = rel(&g.p, &fd_p, 1.0);
            assert!(
                ey < bound && ep < bound,
                "{name} {m:?} {s:?}: vs finite differences y0 {ey:e}, p {ep:e}\n{g:?}\nfd {fd_y0:?} {fd_p:?}"
            );
        }
        // Forward and discrete adjoint differentiate the same computed solution.
        let f = grads.iter().find(|(s, _)| *s == Sensitivity::Forward);
        let d = grads.iter().find(|(s, _)| *s == DISCRETE);
        if let (Some((_, f)), Some((_, d))) = (f, d) {
            let e = rel(&f.p, &d.p, 1.0).max(rel(&f.y0, &d.y0, 1.0));
            let exact = if m.is_stiff() { 1e-6 } else { 1e-10 };
            assert!(e < exact, "{name} {m:?}: forward vs discrete adjoint {e:e}");
        }
    }
}

fn lotka_volterra(t1: f64) -> OdeProblem<LotkaVolterra> {
    OdeProblem::new(
        LotkaVolterra,
        0.0,
        t1,
        vec![1.0, 1.0],
        vec![1.5, 1.0, 3.0, 1.0],
    )
    .unwrap()
}

fn lorenz(t1: f64) -> OdeProblem<Lorenz63> {
    OdeProblem::new(
        Lorenz63,
        0.0,
        t1,
        vec![1.0, 0.0, 0.0],
        vec![10.0, 28.0, 8.0 / 3.0],
    )
    .unwrap()
}

#[test]
fn lotka_volterra_all_methods_agree_with_finite_differences() {
    check_all(
        "lotka-volterra",
        &lotka_volterra(5.0),
        &[
            Method::Tsit5,
            Method::Vern7,
            Method::Kvaerno5,
            Method::Bdf,
            Method::Rodas5P,
        ],
        1e-9,
        1e-12,
        2e-5,
    );
}

#[test]
fn lorenz63_short_horizon_all_methods_agree_with_finite_differences() {
    // Backsolve is stable over one time unit.
    check_all(
        "lorenz63",
        &lorenz(1.0),
        &[Method::Tsit5, Method::Dopri5, Method::Kvaerno5],
        1e-9,
        1e-12,
        1e-4,
    );
}

/// A stiff problem: Robertson on [0, 10] with its rate constants as parameters; the
/// stiff methods' sensitivities agree with finite differences.
#[test]
fn robertson_stiff_gradients() {
    let prob = OdeProblem::new(
        Robertson,
        0.0,
        10.0,
        vec![1.0, 0.0, 0.0],
        vec![0.04, 3e7, 1e4],
    )
    .unwrap();
    let opts = OdeOptions::with_tol(1e-9, 1e-12);
    // Loss: y₁(T) (the slow species), through the rate constants.
    let loss = |sol: &OdeSolution| (sol.y_final()[0], vec![vec![1.0, 0.0, 0.0]]);
    let x: Vec<f64> = prob.p.clone();
    let fd = finite_diff_gradient(
        |p| {
            let mut q = prob.clone();
            q.p = p.to_vec();
            Ok(solve(&q, Method::Rodas5P, &OdeOptions::with_tol(1e-12, 1e-16))?.y_final()[0])
        },
        &x,
        Some(1e-4),
    )
    .unwrap();
    // With respect to y₀ (small steps: the fast species reacts nonlinearly).
    let fd_y0 = finite_diff_gradient(
        |y0| {
            let mut q = prob.clone();
            q.y0 = y0.to_vec();
            Ok(solve(&q, Method::Rodas5P, &OdeOptions::with_tol(1e-12, 1e-16))?.y_final()[0])
        },
        &prob.y0,
        Some(1e-7),
    )
    .unwrap();
    let mut ran = Vec::new();
    for m in [Method::Kvaerno5, Method::Bdf, Method::Rodas5P] {
        let mut grads = Vec::new();
        for s in [Sensitivity::Forward, DISCRETE, CONTINUOUS] {
            match gradient(&prob, m, &opts, s, loss) {
                Ok((_, g)) => {
                    // Relative per parameter (they differ by 11 orders of magnitude).
                    for (a, b) in g.p.iter().zip(&fd) {
                        assert!(
                            (a - b).abs() <= 1e-4 * b.abs(),
                            "{m:?} {s:?}: {:?} vs fd {fd:?}",
                            g.p
                        );
                    }
                    let e = rel(&g.y0, &fd_y0, 1e-3);
                    assert!(e < 1e-4, "{m:?} {s:?}: y0 {:?} vs fd {fd_y0:?}", g.y0);
                    ran.push(format!("{m:?}/{s:?}"));
                    grads.push((s, g));
                }
                Err(Error::Unsupported { .. }) => {}
                Err(e) => panic!("{m:?} {s:?}: {e}"),
            }
        }
        // The sensitivity methods of one solver agree with each other: forward and
        // discrete adjoint differentiate the same discrete scheme (stage equations solved
        // to the Newton tolerance), the continuous adjoint to the solve's tolerance.
        for (i, (si, gi)) in grads.iter().enumerate() {
            for (sj, gj) in &grads[i + 1..] {
                let exact = [*si, *sj].iter().all(|s| *s != CONTINUOUS);
                let bound = if exact { 1e-6 } else { 1e-4 };
                for (a, b) in gi.p.iter().zip(&gj.p) {
                    assert!(
                        (a - b).abs() <= bound * b.abs(),
                        "{m:?}: {si:?} vs {sj:?}: p {:?} vs {:?}",
                        gi.p,
                        gj.p
                    );
                }
                let e = rel(&gi.y0, &gj.y0, 1e-3);
                assert!(e < bound, "{m:?}: {si:?} vs {sj:?}: y0 {e:e}");
            }
        }
    }
    // Every supported combination ran (and only those are unsupported by design).
    let expected = [
        "Kvaerno5/Forward",
        "Kvaerno5/DiscreteAdjoint { checkpointing: Auto }",
        "Kvaerno5/ContinuousAdjoint { checkpointing: Auto }",
        "Bdf/Forward",
        "Bdf/ContinuousAdjoint { checkpointing: Auto }",
        "Rodas5P/ContinuousAdjoint { checkpointing: Auto }",
    ];
    assert_eq!(ran, expected);
}

/// The `ode_grad` workloads against the reference gradients of §7 (T = 10).
#[test]
fn workload_gradients_match_reference() {
    let opts = OdeOptions::with_tol(1e-10, 1e-10);
    let (l, g) = gradient(
        &lotka_volterra(10.0),
        Method::Tsit5,
        &opts,
        DISCRETE,
        sum_sq,
    )
    .unwrap();
    assert!((l - reference("lotka_volterra_loss")[0]).abs() < 1e-7);
    assert!(rel(&g.y0, &reference("lotka_volterra_dloss_dy0"), 1.0) < 1e-6);
    assert!(rel(&g.p, &reference("lotka_volterra_dloss_dp"), 1.0) < 1e-6);
    // Lorenz-63 over 10 time units: chaos amplifies errors by ~e^9.
    for s in [Sensitivity::Forward, DISCRETE, CONTINUOUS] {
        let (l, g) = gradient(
            &lorenz(10.0),
            Method::Vern7,
            &OdeOptions::with_tol(1e-12, 1e-12),
            s,
            sum_sq,
        )
        .unwrap();
        assert!(
            (l / reference("lorenz63_loss")[0] - 1.0).abs() < 1e-7,
            "{s:?}: {l}"
        );
        let ey = rel(&g.y0, &reference("lorenz63_dloss_dy0"), 1.0);
        let ep = rel(&g.p, &reference("lorenz63_dloss_dp"), 1.0);
        assert!(ey < 1e-5 && ep < 1e-5, "{s:?}: {ey:e} {ep:e}");
    }
}

/// Save times inside steps: the discrete adjoint differentiates the dense output exactly,
/// as forward sensitivities do (Tsit5's interpolant, Vern7's extra stages, Kvaerno5's
/// Hermite interpolant), and every output's cotangent is used.
#[test]
fn interior_save_times() {
    let ts = vec![0.0, 0.3, 1.1, 2.0, 3.7, 5.0];
    let opts = OdeOptions::with_tol(1e-7, 1e-7).saving(SaveAt::Times(ts.clone()));
    let w: Vec<Vec<f64>> = (0..ts.len())
        .map(|k| vec![(k as f64).sin(), (k as f64 * 0.7).cos()])
        .collect();
    for m in [
        Method::Tsit5,
        Method::Vern7,
        Method::Bosh3,
        Method::Kvaerno5,
    ] {
        let f = SensitivitySolve::new(&lotka_volterra(5.0), m, &opts, Sensitivity::Forward)
            .unwrap()
            .vjp(&w)
            .unwrap();
        for ck in [
            Checkpointing::All,
            Checkpointing::Budget(3),
            Checkpointing::Auto,
        ] {
            let d = SensitivitySolve::new(
                &lotka_volterra(5.0),
                m,
                &opts,
                Sensitivity::DiscreteAdjoint { checkpointing: ck },
            )
            .unwrap()
            .vjp(&w)
            .unwrap();
            let exact = if m.is_stiff() { 1e-6 } else { 1e-11 };
            assert!(
                rel(&d.y0, &f.y0, 1.0) < exact && rel(&d.p, &f.p, 1.0) < exact,
                "{m:?} {ck:?}: {d:?} vs {f:?}"
            );
        }
        let c = SensitivitySolve::new(&lotka_volterra(5.0), m, &opts, CONTINUOUS)
            .unwrap()
            .vjp(&w)
            .unwrap();
        assert!(
            rel(&c.y0, &f.y0, 1.0) < 1e-3 && rel(&c.p, &f.p, 1.0) < 1e-3,
            "{m:?}: {c:?} vs {f:?}"
        );
    }
}

/// dL/dt1 = wᵀ f(t1, y(t1)), checked by central differences in t1: explicit methods with
/// the discrete and continuous adjoints, and the stiff methods (on Robertson, with each
/// sensitivity method they support).
#[test]
fn end_time_gradient() {
    let opts = OdeOptions::with_tol(1e-11, 1e-11);
    for (m, s) in [
        (Method::Tsit5, DISCRETE),
        (Method::Tsit5, CONTINUOUS),
        (Method::Tsit5, Sensitivity::Forward),
    ] {
        let (_, g) = gradient(&lotka_volterra(3.0), m, &opts, s, sum_sq).unwrap();
        let l = |t1: f64| sum_sq(&solve(&lotka_volterra(t1), m, &opts).unwrap()).0;
        let h = 1e-4;
        let fd = (l(3.0 + h) - l(3.0 - h)) / (2.0 * h);
        assert!(
            (g.t1 - fd).abs() < 1e-6 * fd.abs().max(1.0),
            "{m:?} {s:?}: {} vs {fd}",
            g.t1
        );
    }
    // Robertson at t1 = 40 (y₃ still rising): L = Σ y(t1)².
    let rob = |t1: f64| {
        OdeProblem::new(
            Robertson,
            0.0,
            t1,
            vec![1.0, 0.0, 0.0],
            vec![0.04, 3e7, 1e4],
        )
        .unwrap()
    };
    let stiff = OdeOptions::with_tol(1e-9, 1e-12);
    let l = |t1: f64| {
        sum_sq(
            &solve(
                &rob(t1),
                Method::Rodas5P,
                &OdeOptions::with_tol(1e-12, 1e-16),
            )
            .unwrap(),
        )
        .0
    };
    let h = 1e-3;
    let fd = (l(40.0 + h) - l(40.0 - h)) / (2.0 * h);
    for (m, s) in [
        (Method::Kvaerno5, DISCRETE),
        (Method::Kvaerno5, CONTINUOUS),
        (Method::Bdf, Sensitivity::Forward),
        (Method::Bdf, CONTINUOUS),
        (Method::Rodas5P, CONTINUOUS),
    ] {
        let (_, g) = gradient(&rob(40.0), m, &stiff, s, sum_sq).unwrap();
        assert!(
            (g.t1 - fd).abs() < 1e-6 * fd.abs(),
            "{m:?} {s:?}: {} vs {fd}",
            g.t1
        );
    }
}

/// Systems with n + n_p > 8 take the discrete adjoint's tape path (one vector–Jacobian
/// product per stage on a local tape); it agrees with forward sensitivities exactly,
/// with interior save times and several checkpoint policies.
#[test]
fn discrete_adjoint_of_a_larger_system() {
    use mechml_engine::ode::problems::Lorenz96;
    let n = 10;
    let y0: Vec<f64> = (0..n).map(|i| 8.0 + 0.1 * (i as f64).sin()).collect();
    let prob = OdeProblem::new(Lorenz96 { n }, 0.0, 1.0, y0, vec![8.0]).unwrap();
    let ts = vec![0.25, 0.6, 1.0];
    let opts = OdeOptions::with_tol(1e-8, 1e-8).saving(SaveAt::Times(ts.clone()));
    let w: Vec<Vec<f64>> = (0..ts.len())
        .map(|k| (0..n).map(|i| ((k * n + i) as f64 * 0.37).cos()).collect())
        .collect();
    for m in [Method::Tsit5, Method::Vern7] {
        let f = SensitivitySolve::new(&prob, m, &opts, Sensitivity::Forward)
            .unwrap()
            .vjp(&w)
            .unwrap();
        for ck in [
            Checkpointing::All,
            Checkpointing::Budget(3),
            Checkpointing::Auto,
        ] {
            let d = SensitivitySolve::new(
                &prob,
                m,
                &opts,
                Sensitivity::DiscreteAdjoint { checkpointing: ck },
            )
            .unwrap()
            .vjp(&w)
            .unwrap();
            assert!(
                rel(&d.y0, &f.y0, 1.0) < 1e-11 && rel(&d.p, &f.p, 1.0) < 1e-11,
                "{m:?} {ck:?}: {d:?} vs {f:?}"
            );
        }
    }
}

/// Memory law of the discrete adjoint: with `Auto` checkpointing the stored states grow
/// like √N (N steps), with `All` like N; the step grid like N (2 numbers per step); both
/// give the same gradient.
#[test]
fn discrete_adjoint_memory_law() {
    let opts = OdeOptions {
        max_steps: 1_000_000,
        ..OdeOptions::with_tol(1e-8, 1e-8)
    };
    let mut rows = Vec::new();
    for t1 in [50.0, 200.0, 800.0] {
        let prob = lotka_volterra(t1);
        let all = gradient(
            &prob,
            Method::Tsit5,
            &opts,
            Sensitivity::DiscreteAdjoint {
                checkpointing: Checkpointing::All,
            },
            sum_sq,
        )
        .unwrap()
        .1;
        let auto = SensitivitySolve::new(&prob, Method::Tsit5, &opts, DISCRETE).unwrap();
        let n_steps = auto.solution().stats.n_accepted as f64;
        let (_, w) = sum_sq(auto.solution());
        let g = auto.vjp(&w).unwrap();
        assert!(rel(&g.p, &all.p, 1.0) < 1e-10);
        // Recomputation: each step replayed once.
        assert_eq!(g.info.backward.n_accepted as f64, n_steps);
        assert!((g.info.grid_f64 as f64) < 2.0 * n_steps + 2.0 * (2.0 * n_steps.sqrt() + 9.0));
        rows.push((
            n_steps,
            all.info.peak_stored_f64 as f64,
            g.info.peak_stored_f64 as f64,
        ));
    }
    for w in rows.windows(2) {
        let (r_n, r_auto) = (w[1].0 / w[0].0, w[1].2 / w[0].2);
        // All keeps every state (n = 2 numbers per step) besides one replayed segment of
        // bounded length: the peak grows by n per extra step.
        let slope_all = (w[1].1 - w[0].1) / (w[1].0 - w[0].0);
        assert!((slope_all / 2.0 - 1.0).abs() < 0.25, "All: {rows:?}");
        // N grows ~4×: Auto ~2× (√4).
        assert!(
            r_auto < 1.6 * r_n.sqrt() && r_auto > 0.6 * r_n.sqrt(),
            "Auto: {rows:?}"
        );
    }
    // A fixed budget bounds the checkpoints.
    let s = SensitivitySolve::new(
        &lotka_volterra(800.0),
        Method::Tsit5,
        &opts,
        Sensitivity::DiscreteAdjoint {
            checkpointing: Checkpointing::Budget(16),
        },
    )
    .unwrap();
    let g = s.vjp(&sum_sq(s.solution()).1).unwrap();
    assert!(g.info.n_checkpoints <= 16);
}

/// A loss of two solves and of their parameters, differentiated on the tape; checked
/// against finite differences, for every sensitivity method (outputs at several times).
#[test]
fn tape_block_in_a_larger_expression() {
    let x0 = [1.5, 1.0, 3.0, 1.0, 1.0, 0.8];
    let ts = vec![1.0, 2.5, 4.0];
    let opts = OdeOptions::with_tol(1e-10, 1e-10).saving(SaveAt::Times(ts.clone()));
    for s in [
        Sensitivity::Forward,
        DISCRETE,
        CONTINUOUS,
        Sensitivity::Backsolve,
    ] {
        let loss = |tape: &Tape, x: &[f64]| -> mechml_engine::Result<(f64, Vec<f64>)> {
            let xv = tape.var_vec(x);
            let p = tape.stack(&xv.vars()[..4])?;
            let y0 = tape.stack(&xv.vars()[4..])?;
            let a = solve_on_tape(
                tape,
                TapeProblem::new(LotkaVolterra, 0.0, 4.0, &y0, &p),
                Method::Tsit5,
                &opts,
                s,
            )?;
            // A second solve from the first one's state at t = 2.5 with doubled α.
            let y_mid = tape.stack(&a.state(1))?;
            let p2v = p.vars();
            let p2 = tape.stack(&[p2v[0] * 2.0, p2v[1], p2v[2], p2v[3]])?;
            let b = solve_on_tape(
                tape,
                TapeProblem::new(LotkaVolterra, 0.0, 1.0, &y_mid, &p2),
                Method::Tsit5,
                &OdeOptions::with_tol(1e-10, 1e-10),
                s,
            )?;
            let mut l = tape.sum_sq(&a.states.clone().flatten())?;
            for v in b.state(0) {
                l += v * v.sin();
            }
            let g = tape.gradient(&l)?;
            Ok((l.val(), g.wrt_vec(&xv)))
        };
        let tape = Tape::new();
        let (_, g) = loss(&tape, &x0).unwrap();
        let fd = finite_diff_gradient(
            |x| {
                let tape = Tape::new();
                Ok(loss(&tape, x)?.0)
            },
            &x0,
            Some(1e-5),
        )
        .unwrap();
        let e = rel(&g, &fd, 1.0);
        let bound = if matches!(
            s,
            Sensitivity::Forward | Sensitivity::DiscreteAdjoint { .. }
        ) {
            1e-6
        } else {
            1e-4
        };
        assert!(e < bound, "{s:?}: {e:e}\n{g:?}\n{fd:?}");
    }
}

/// The end time as a tape variable, and forward mode over the tape with `Forward`.
#[test]
fn tape_end_time_and_forward_mode() {
    let opts = OdeOptions::with_tol(1e-11, 1e-11);
    let tape = Tape::new();
    let t1 = tape.var(3.0);
    let y0 = tape.var_vec(&[1.0, 1.0]);
    let p = tape.var_vec(&[1.5, 1.0, 3.0, 1.0]);
    let out = solve_on_tape(
        &tape,
        TapeProblem::new(LotkaVolterra, 0.0, t1, &y0, &p),
        Method::Tsit5,
        &opts,
        Sensitivity::Forward,
    )
    .unwrap();
    let l = tape.sum_sq(&out.states.clone().flatten()).unwrap();
    let g = tape.gradient(&l).unwrap();
    let (_, gd) = gradient(&lotka_volterra(3.0), Method::Tsit5, &opts, DISCRETE, sum_sq).unwrap();
    assert!((g.wrt(&t1) - gd.t1).abs() < 1e-9 * gd.t1.abs().max(1.0));
    assert!(rel(&g.wrt_vec(&p), &gd.p, 1.0) < 1e-10);
    // Forward sweep: the tangent of L along a direction equals ⟨∇L, v⟩.
    let v = [0.3, -0.2, 0.1, 0.5, -0.4, 0.25, 0.7];
    let mut seeds = vec![(t1.slot(), v[0])];
    for (i, s) in y0.vars().iter().chain(p.vars().iter()).enumerate() {
        seeds.push((s.slot(), v[i + 1]));
    }
    let tan = tape.forward(&seeds).unwrap();
    let expected = g.wrt(&t1) * v[0]
        + g.wrt_vec(&y0)
            .iter()
            .chain(g.wrt_vec(&p).iter())
            .zip(&v[1..])
            .map(|(a, b)| a * b)
            .sum::<f64>();
    assert!((tan.wrt(&l) - expected).abs() < 1e-9 * expected.abs().max(1.0));
}

#[test]
fn unsupported_combinations_and_bad_cotangents_are_errors() {
    let prob = lotka_volterra(1.0);
    let opts = OdeOptions::default();
    for (m, s) in [
        (Method::Rodas5P, Sensitivity::Forward),
        (Method::Rodas5P, DISCRETE),
        (Method::Bdf, DISCRETE),
        (Method::Kvaerno5, Sensitivity::Backsolve),
    ] {
        let e = SensitivitySolve::new(&prob, m, &opts, s).unwrap_err();
        assert!(matches!(e, Error::Unsupported { .. }), "{e:?}");
        assert!(e.to_string().contains("use"), "{e}");
    }
    let s = SensitivitySolve::new(&prob, Method::Tsit5, &opts, DISCRETE).unwrap();
    assert!(s.vjp(&[]).is_err());
    assert!(s.vjp(&[vec![1.0]]).is_err());
    assert!(s.vjp(&[vec![1.0, f64::NAN]]).is_err());
    assert!(
        SensitivitySolve::new(
            &prob,
            Method::Tsit5,
            &opts.clone().saving(SaveAt::steps()),
            DISCRETE
        )
        .is_err()
    );
}
