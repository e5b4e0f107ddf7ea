//! Stiff methods on the Hairer–Wanner stiff test set and the Robertson workload: two
//! stiff methods agree to the tolerance asked, match the reference solutions, and an
//! explicit method agrees where it can finish; convergence orders on fixed steps.

#[path = "ode_common/mod.rs"]
mod common;

use common::{loglog_slope, max_abs_diff, max_rel_diff, reference};
use faer::Mat;
use mechml_engine::ode::bdf::solve_fixed_order;
use mechml_engine::ode::problems::{Hires, Kepler, Orego, Robertson, VanDerPol};
use mechml_engine::ode::system::jacobian_by_duals;
use mechml_engine::ode::{Method, OdeOptions, OdeProblem, OdeRhs, SaveAt, Tolerance, solve};

const STIFF: [(Method, &str); 3] = [
    (Method::Rodas5P, "rodas5p"),
    (Method::Kvaerno5, "kvaerno5"),
    (Method::Bdf, "bdf"),
];

fn robertson(t1: f64) -> OdeProblem<Robertson> {
    OdeProblem::new(
        Robertson,
        0.0,
        t1,
        vec![1.0, 0.0, 0.0],
        vec![0.04, 3e7, 1e4],
    )
    .unwrap()
}

/// The `ode_primal/robertson` workload: y(1e5) at rtol 1e-6, atol 1e-10 against Radau at
/// 1e-12 (WORKLOADS.md §7); the methods agree with each other; mass is conserved.
#[test]
fn robertson_to_1e5() {
    let refv = reference("robertson_y1e5");
    let opts = OdeOptions::with_tol(1e-6, 1e-10);
    let mut finals = Vec::new();
    for (m, name) in STIFF {
        let sol = solve(&robertson(1e5), m, &opts).unwrap();
        let y = sol.y_final().to_vec();
        // Global error of a few tolerances (y₂ ~ 7e-8 is an absolute-tolerance component).
        assert!(
            ((y[0] - refv[0]) / refv[0]).abs() < 2e-5,
            "{name}: y1 {y:?}"
        );
        assert!(
            ((y[2] - refv[2]) / refv[2]).abs() < 1e-6,
            "{name}: y3 {y:?}"
        );
        assert!(
            (y[1] - refv[1]).abs() < 1e-10 + 2e-5 * refv[1],
            "{name}: y2 {y:?}"
        );
        // y1 + y2 + y3 = 1 is conserved by every linear multistep and Runge–Kutta method.
        assert!(
            (y.iter().sum::<f64>() - 1.0).abs() < 1e-12,
            "{name}: mass {}",
            y.iter().sum::<f64>()
        );
        assert!(
            sol.stats.n_accepted < 2000 && sol.stats.n_jac > 0 && sol.stats.n_lu > 0,
            "{name}: {:?}",
            sol.stats
        );
        finals.push(y);
    }
    for i in 1..finals.len() {
        assert!(max_rel_diff(&finals[i][..1], &finals[0][..1]) < 3e-5);
    }
}

/// The test set's ROBER: to t = 1e11 (where y₂ ~ 8e-14), tight tolerances.
#[test]
fn robertson_to_1e11() {
    let refv = reference("testset_rober");
    let mut opts = OdeOptions::with_tol(1e-8, 1e-8);
    opts.atol = Tolerance::PerComponent(vec![1e-8, 1e-14, 1e-8]);
    for (m, name) in STIFF {
        let sol = solve(&robertson(1e11), m, &opts).unwrap();
        let y = sol.y_final();
        // y₁ ~ 2e-8 and y₂ ~ 8e-14 at the end: errors far below their tolerances.
        assert!((y[0] - refv[0]).abs() < 1e-9, "{name}: {y:?}");
        assert!(((y[1] - refv[1]) / refv[1]).abs() < 1e-2, "{name}: {y:?}");
        assert!((y[2] - refv[2]).abs() < 1e-8, "{name}: {y:?}");
    }
}

/// On [0, 1] the transient is short enough for an explicit method to finish: all four
/// agree.
#[test]
fn robertson_short_horizon_explicit_agrees() {
    let opts = OdeOptions::with_tol(1e-8, 1e-12);
    let explicit = solve(
        &robertson(1.0),
        Method::Tsit5,
        &OdeOptions {
            max_steps: 200_000,
            ..opts.clone()
        },
    )
    .unwrap();
    for (m, name) in STIFF {
        let sol = solve(&robertson(1.0), m, &opts).unwrap();
        let d = max_abs_diff(sol.y_final(), explicit.y_final());
        assert!(d < 1e-7, "{name} vs tsit5: {d:e}");
        assert!(
            sol.stats.n_accepted < explicit.stats.n_accepted,
            "{name}: {:?}",
            sol.stats
        );
    }
}

/// Van der Pol with μ = 1000 over two relaxation periods (t ≤ 3000): the stiff methods
/// agree with each other at every save time. (An explicit method cannot finish: see
/// `ode_errors::too_many_steps_and_stiffness`.)
#[test]
fn van_der_pol_mu_1000() {
    let prob = OdeProblem::new(VanDerPol, 0.0, 3000.0, vec![2.0, 0.0], vec![1000.0]).unwrap();
    // Away from the fast jumps (where a tiny time shift is a large difference).
    let ts = vec![100.0, 400.0, 700.0, 1000.0, 1500.0, 2000.0, 2300.0];
    let opts = OdeOptions::with_tol(1e-7, 1e-7).saving(SaveAt::Times(ts.clone()));
    let sols: Vec<_> = STIFF
        .iter()
        .map(|(m, _)| solve(&prob, *m, &opts).unwrap())
        .collect();
    for (k, (_, name)) in STIFF.iter().enumerate().skip(1) {
        for (a, b) in sols[k].ys.iter().zip(&sols[0].ys) {
            assert!((a[0] - b[0]).abs() < 1e-4, "{name}: {a:?} vs {b:?}");
        }
    }
}

/// The test set's VDPOL (μ = 1000 on [0, 2000]) against its reference solution.
#[test]
fn vdpol_testset_reference() {
    let refv = reference("testset_vdpol");
    let prob = OdeProblem::new(VanDerPol, 0.0, 2000.0, vec![2.0, 0.0], vec![1000.0]).unwrap();
    let opts = OdeOptions::with_tol(1e-8, 1e-8);
    for (m, name) in STIFF {
        let sol = solve(&prob, m, &opts).unwrap();
        let y = sol.y_final();
        assert!((y[0] - refv[0]).abs() < 1e-5, "{name}: {y:?}");
        assert!(((y[1] - refv[1]) / refv[1]).abs() < 1e-4, "{name}: {y:?}");
    }
}

/// HIRES against the test set's reference: three stiff methods and (HIRES being only
/// mildly stiff) an explicit one.
#[test]
fn hires_testset_reference() {
    let refv = reference("testset_hires");
    let prob = OdeProblem::new(
        Hires,
        0.0,
        321.8122,
        vec![1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0057],
        vec![],
    )
    .unwrap();
    let opts = OdeOptions::with_tol(1e-8, 1e-10);
    let mut methods = STIFF.to_vec();
    methods.push((Method::Tsit5, "tsit5"));
    for (m, name) in methods {
        let sol = solve(
            &prob,
            m,
            &OdeOptions {
                max_steps: 500_000,
                ..opts.clone()
            },
        )
        .unwrap();
        let err = max_abs_diff(sol.y_final(), &refv);
        assert!(err < 1e-7, "{name}: error {err:e} {:?}", sol.stats);
    }
}

/// OREGO (the Oregonator) against the test set's reference.
#[test]
fn orego_testset_reference() {
    let refv = reference("testset_orego");
    let prob = OdeProblem::new(Orego, 0.0, 360.0, vec![1.0, 2.0, 3.0], vec![]).unwrap();
    let opts = OdeOptions::with_tol(1e-8, 1e-8);
    for (m, name) in STIFF {
        let sol = solve(&prob, m, &opts).unwrap();
        let err = max_rel_diff(sol.y_final(), &refv);
        assert!(err < 1e-4, "{name}: relative error {err:e} {:?}", sol.stats);
    }
}

/// Rodas5P and Kvaerno5 converge with order 5 on fixed steps (non-stiff Kepler problem);
/// BDF of each order k = 1..5 converges with order k from exact starting values.
#[test]
fn stiff_methods_fixed_step_orders() {
    let kepler = Kepler { e: 0.3 };
    let t1 = 2.0 * std::f64::consts::PI;
    let prob = OdeProblem::new(kepler, 0.0, t1, kepler.exact(0.0).to_vec(), vec![]).unwrap();
    let exact = kepler.exact(t1);
    for (m, name, ns, order) in [
        (Method::Rodas5P, "rodas5p", [64usize, 128, 256, 512], 5.0),
        (Method::Kvaerno5, "kvaerno5", [64, 128, 256, 512], 5.0),
    ] {
        let mut errs = Vec::new();
        for n in ns {
            let opts = OdeOptions {
                fixed_step: Some(t1 / n as f64),
                // Newton converged far below the discretisation error.
                ..OdeOptions::with_tol(1e-9, 1e-9)
            };
            let sol = solve(&prob, m, &opts).unwrap();
            errs.push(max_abs_diff(sol.y_final(), &exact));
        }
        let hs: Vec<f64> = ns.iter().map(|&n| 1.0 / n as f64).collect();
        let p = loglog_slope(&hs, &errs);
        assert!((p - order).abs() <= 0.3, "{name}: order {p:.3} ({errs:?})");
    }
    for k in 1..=5usize {
        let ns: [usize; 4] = match k {
            1 => [2048, 4096, 8192, 16384],
            2 => [512, 1024, 2048, 4096],
            _ => [256, 512, 1024, 2048],
        };
        let mut errs = Vec::new();
        for n in ns {
            let dt = t1 / n as f64;
            let history: Vec<Vec<f64>> = (0..=k)
                .map(|j| kepler.exact(-(j as f64) * dt).to_vec())
                .collect();
            let y = solve_fixed_order(&prob, k, dt, &history).unwrap();
            errs.push(max_abs_diff(&y, &exact));
        }
        let hs: Vec<f64> = ns.iter().map(|&n| 1.0 / n as f64).collect();
        let p = loglog_slope(&hs, &errs);
        assert!(
            (p - k as f64).abs() <= 0.3,
            "bdf order {k}: observed {p:.3} ({errs:?})"
        );
    }
}

/// The analytic Jacobian of `Robertson` equals the dual-number one, and dense output
/// of the stiff methods matches their saved values.
#[test]
fn jacobians_and_dense_output() {
    let (y, p) = ([0.7, 2e-5, 0.3], [0.04, 3e7, 1e4]);
    let mut ja = Mat::zeros(3, 3);
    let mut jd = Mat::zeros(3, 3);
    Robertson.jacobian(0.0, &y, &p, ja.as_mut());
    jacobian_by_duals(&Robertson, 0.0, &y, &p, jd.as_mut());
    assert!((&ja - &jd).norm_max() < 1e-9);

    let ts = vec![0.5, 3.0, 40.0, 700.0];
    for (m, name) in STIFF {
        let mut opts = OdeOptions::with_tol(1e-7, 1e-10).saving(SaveAt::Times(ts.clone()));
        opts.dense = true;
        let sol = solve(&robertson(1000.0), m, &opts).unwrap();
        for (t, y) in ts.iter().zip(&sol.ys) {
            let d = sol.evaluate(*t).unwrap();
            assert!(max_abs_diff(&d, y) < 1e-12, "{name} at {t}: {d:?} vs {y:?}");
        }
        // Interpolation error between steps stays near the tolerance.
        let fine = solve(
            &robertson(1000.0),
            Method::Rodas5P,
            &OdeOptions::with_tol(1e-10, 1e-14).saving(SaveAt::Times(ts.clone())),
        )
        .unwrap();
        for (a, b) in sol.ys.iter().zip(&fine.ys) {
            assert!(
                (a[0] - b[0]).abs() < 1e-5 && (a[2] - b[2]).abs() < 1e-5,
                "{name}: {a:?} vs {b:?}"
            );
        }
    }
}
