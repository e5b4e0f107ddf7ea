//! The ensemble filters, the baselines, the EnKS and 4D-Var against the Kalman filter and
//! the Rauch–Tung–Striebel smoother (`mechml_models::ssm`) on a linear-Gaussian model.

// Index loops mirror the matrix formulas they check (entry (i, j)).
#![allow(clippy::needless_range_loop)]

use faer::Mat;
use mechml_models::da::analysis::{
    AnalysisScheme, EnkfNOptions, EnsembleFilter, FilterOptions, LetkfOptions, Localization,
};
use mechml_models::da::baselines::{ExtendedKf, StaticGainFilter, Var3d};
use mechml_models::da::enks::EnsembleSmoother;
use mechml_models::da::var4d::{Var4dOptions, Var4dProblem, WindowObs};
use mechml_models::da::{Ensemble, LinearModel, Model, ObsModel, ObsOperator};
use mechml_models::ssm::kalman::{FilterOutput, kalman_filter};
use mechml_models::ssm::smoother::rts_smoother;
use mechml_models::ssm::{LinearGaussianSsm, Observations};
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use rand_xoshiro::Xoshiro256PlusPlus;

const N_STATE: usize = 4;
const OBSERVED: [usize; 2] = [0, 2];
const R: [f64; 2] = [0.5, 0.3];

fn transition() -> Mat<f64> {
    let m = [
        [0.9, 0.2, 0.0, 0.0],
        [-0.1, 0.95, 0.1, 0.0],
        [0.0, 0.0, 0.8, 0.3],
        [0.05, 0.0, -0.2, 0.9],
    ];
    Mat::from_fn(N_STATE, N_STATE, |i, j| m[i][j])
}

fn obs_model() -> ObsModel {
    ObsModel::with_variances(
        ObsOperator::subset(N_STATE, OBSERVED.to_vec()).unwrap(),
        R.to_vec(),
    )
    .unwrap()
}

/// A truth run and its observations at cycles 1..=T (model noise std q).
fn data(t: usize, q: f64, seed: u64) -> Vec<Vec<f64>> {
    let mut g = Xoshiro256PlusPlus::seed_from_u64(seed);
    let model = LinearModel::new(transition()).unwrap();
    let obs = obs_model();
    let mut x: Vec<f64> = (0..N_STATE)
        .map(|_| StandardNormal.sample(&mut g))
        .collect();
    (0..t)
        .map(|_| {
            model.step(&mut x);
            for v in &mut x {
                let z: f64 = StandardNormal.sample(&mut g);
                *v += q * z;
            }
            obs.sample(&x, &mut g).unwrap()
        })
        .collect()
}

fn col_major(m: &Mat<f64>) -> Vec<f64> {
    (0..m.ncols())
        .flat_map(|j| (0..m.nrows()).map(move |i| m[(i, j)]))
        .collect()
}

/// The Kalman filter of the DA cycle (forecast, then analysis at every cycle) from
/// `N(m0, p0)`: x₁ = M x₀ + w has prior `N(M m0, M p0 Mᵀ + Q)`.
fn kalman(
    ys: &[Vec<f64>],
    m0: &[f64],
    p0: &Mat<f64>,
    q: f64,
) -> (LinearGaussianSsm<f64>, Observations, FilterOutput) {
    let m = transition();
    let m1: Vec<f64> = (0..N_STATE)
        .map(|i| (0..N_STATE).map(|j| m[(i, j)] * m0[j]).sum())
        .collect();
    let mut p1 = &(&m * p0) * m.transpose();
    for i in 0..N_STATE {
        p1[(i, i)] += q * q;
    }
    let h = Mat::from_fn(2, N_STATE, |a, b| if OBSERVED[a] == b { 1.0 } else { 0.0 });
    let qm = Mat::from_fn(N_STATE, N_STATE, |i, j| if i == j { q * q } else { 0.0 });
    let rm = Mat::from_fn(2, 2, |i, j| if i == j { R[i] } else { 0.0 });
    let ssm = LinearGaussianSsm::time_invariant(
        N_STATE,
        2,
        col_major(&m),
        col_major(&qm),
        col_major(&h),
        col_major(&rm),
        m1,
        col_major(&p1),
    )
    .unwrap();
    let obs = Observations::new(ys.len(), 2, ys.concat(), 0, Vec::new()).unwrap();
    let out = kalman_filter(&ssm, &obs).unwrap();
    (ssm, obs, out)
}

fn run_filter(
    opts: FilterOptions,
    e0: &Ensemble,
    ys: &[Vec<f64>],
    q: f64,
    seed: u64,
) -> Vec<Ensemble> {
    let model = LinearModel::new(transition()).unwrap();
    let obs = obs_model();
    let mut f = EnsembleFilter::new(e0.clone(), opts, seed).unwrap();
    ys.iter()
        .map(|y| {
            f.forecast(&model, q).unwrap();
            f.analyse(&obs, y).unwrap();
            f.ensemble().clone()
        })
        .collect()
}

fn schemes() -> Vec<(&'static str, AnalysisScheme)> {
    vec![
        ("stochastic", AnalysisScheme::Stochastic { centred: true }),
        ("etkf", AnalysisScheme::Etkf),
        ("serial", AnalysisScheme::Serial),
        ("enkf_n", AnalysisScheme::EnkfN(EnkfNOptions::default())),
        (
            "letkf",
            AnalysisScheme::Letkf(LetkfOptions {
                localization: Localization::new(f64::INFINITY),
            }),
        ),
    ]
}

/// With no model noise and N > n the deterministic square-root filters are exact: the
/// ensemble spans the state space, the forecast is linear, and each analysis reproduces the
/// Kalman mean and covariance — so the whole run equals the Kalman filter started from the
/// initial ensemble's sample mean and covariance (to rounding).
#[test]
fn square_root_filters_equal_the_kalman_filter_for_n_above_the_state_size() {
    let ys = data(30, 0.0, 1);
    let mut g = Xoshiro256PlusPlus::seed_from_u64(2);
    let e0 = Ensemble::gaussian(7, &[0.0; N_STATE], 1.0, &mut g).unwrap();
    let (_, _, kf) = kalman(&ys, &e0.mean(), &e0.covariance().unwrap(), 0.0);
    for (name, scheme) in [
        ("etkf", AnalysisScheme::Etkf),
        ("serial", AnalysisScheme::Serial),
        (
            "letkf(radius = inf)",
            AnalysisScheme::Letkf(LetkfOptions {
                localization: Localization::new(f64::INFINITY),
            }),
        ),
    ] {
        for rotate in [false, true] {
            let out = run_filter(
                FilterOptions::new(scheme.clone()).rotate(rotate),
                &e0,
                &ys,
                0.0,
                3,
            );
            for (t, e) in out.iter().enumerate() {
                let (m, c) = (e.mean(), e.covariance().unwrap());
                for i in 0..N_STATE {
                    let s = kf.filt_cov_at(t)[i * N_STATE + i].sqrt();
                    assert!(
                        (m[i] - kf.filt_mean_at(t)[i]).abs() < 1e-10 * s.max(1.0),
                        "{name} rot={rotate} t={t} mean[{i}]"
                    );
                    for j in 0..N_STATE {
                        let k = kf.filt_cov_at(t)[j * N_STATE + i];
                        assert!(
                            (c[(i, j)] - k).abs() < 1e-10,
                            "{name} rot={rotate} t={t} cov[{i},{j}]: {} vs {k}",
                            c[(i, j)]
                        );
                    }
                }
            }
        }
    }
}

/// In the large-ensemble limit every filter (with model noise, so that the forecast is
/// stochastic for all of them) converges to the Kalman filter. The Monte-Carlo error of an
/// analysis mean is of the order of the prior's, `sqrt(P^f_ii/N)` (≈ 0.022 `sqrt(P^f_ii)`
/// at N = 2000), and of a variance `sqrt(2/N)` ≈ 0.032 relative; we allow 6 of each.
#[test]
fn every_filter_converges_to_the_kalman_filter_for_large_ensembles() {
    let q = 0.3;
    let n = 2000;
    let ys = data(8, q, 4);
    let mut g = Xoshiro256PlusPlus::seed_from_u64(5);
    let e0 = Ensemble::gaussian(n, &[0.0; N_STATE], 1.0, &mut g).unwrap();
    let p0 = Mat::<f64>::identity(N_STATE, N_STATE);
    let (_, _, kf) = kalman(&ys, &[0.0; N_STATE], &p0, q);
    let tol_m = 6.0 / (n as f64).sqrt();
    let tol_v = 6.0 * (2.0 / n as f64).sqrt();
    let mut report = Vec::new();
    for (name, scheme) in schemes() {
        let out = run_filter(FilterOptions::new(scheme), &e0, &ys, q, 6);
        let (mut worst_m, mut worst_v) = (0.0_f64, 0.0_f64);
        for (t, e) in out.iter().enumerate() {
            let (m, c) = (e.mean(), e.covariance().unwrap());
            for i in 0..N_STATE {
                let pf = kf.pred_cov_at(t)[i * N_STATE + i];
                let pa = kf.filt_cov_at(t)[i * N_STATE + i];
                worst_m = worst_m.max((m[i] - kf.filt_mean_at(t)[i]).abs() / pf.sqrt());
                worst_v = worst_v.max((c[(i, i)] / pa - 1.0).abs());
            }
        }
        report.push(format!(
            "{name}: mean {worst_m:.4} (tol {tol_m:.4}), var {worst_v:.4} (tol {tol_v:.4})"
        ));
        assert!(worst_m < tol_m && worst_v < tol_v, "{report:?}");
    }
    println!("{report:#?}");
}

/// The DEnKF halves the gain of the anomalies: its large-ensemble limit is the Kalman mean
/// update with the covariance recursion `P_a = (I − ½KH) P (I − ½KH)ᵀ` (Sakov & Oke 2008,
/// eq. 10–12), which differs from the Kalman filter by `¼ K H P Hᵀ Kᵀ`. Checked against that
/// recursion computed densely, with the same tolerances as above.
#[test]
fn denkf_converges_to_its_own_riccati_recursion() {
    let q = 0.3;
    let n = 2000;
    let ys = data(8, q, 7);
    let mut g = Xoshiro256PlusPlus::seed_from_u64(8);
    let e0 = Ensemble::gaussian(n, &[0.0; N_STATE], 1.0, &mut g).unwrap();
    let out = run_filter(FilterOptions::new(AnalysisScheme::Denkf), &e0, &ys, q, 9);
    let m = transition();
    let h = Mat::from_fn(2, N_STATE, |a, b| if OBSERVED[a] == b { 1.0 } else { 0.0 });
    let mut mean = vec![0.0; N_STATE];
    let mut p = Mat::<f64>::identity(N_STATE, N_STATE);
    let tol_m = 5.0 / (n as f64).sqrt();
    let tol_v = 6.0 * (2.0 / n as f64).sqrt();
    for (t, y) in ys.iter().enumerate() {
        mean = (0..N_STATE)
            .map(|i| (0..N_STATE).map(|j| m[(i, j)] * mean[j]).sum())
            .collect();
        p = &(&m * &p) * m.transpose();
        for i in 0..N_STATE {
            p[(i, i)] += q * q;
        }
        let mut s = &(&h * &p) * h.transpose();
        for j in 0..2 {
            s[(j, j)] += R[j];
        }
        let sinv = mechml_engine::linalg::Lu::factor(s.as_ref(), faer::Par::Seq)
            .unwrap()
            .inverse(faer::Par::Seq);
        let k = &(&p * h.transpose()) * &sinv;
        let d: Vec<f64> = (0..2).map(|j| y[j] - mean[OBSERVED[j]]).collect();
        for i in 0..N_STATE {
            mean[i] += (0..2).map(|j| k[(i, j)] * d[j]).sum::<f64>();
        }
        let mut a = Mat::<f64>::identity(N_STATE, N_STATE);
        a -= &(&k * &h) * 0.5;
        p = &(&a * &p) * a.transpose();
        let (em, ec) = (out[t].mean(), out[t].covariance().unwrap());
        for i in 0..N_STATE {
            let dm = (em[i] - mean[i]).abs() / p[(i, i)].sqrt();
            assert!(dm < tol_m, "t={t} mean[{i}] {dm}");
            assert!(
                (ec[(i, i)] / p[(i, i)] - 1.0).abs() < tol_v,
                "t={t} var[{i}]"
            );
        }
    }
}

/// The extended Kalman filter on a linear model is the Kalman filter; 3D-Var with a linear
/// operator is the BLUE with its B (optimal interpolation with the same B), to the L-BFGS
/// tolerance.
#[test]
fn ekf_and_3dvar_equal_their_closed_forms_on_linear_problems() {
    let q = 0.3;
    let ys = data(15, q, 10);
    let p0 = Mat::<f64>::identity(N_STATE, N_STATE);
    let (_, _, kf) = kalman(&ys, &[0.0; N_STATE], &p0, q);
    let model = LinearModel::new(transition()).unwrap();
    let obs = obs_model();
    let mut ekf = ExtendedKf::new(vec![0.0; N_STATE], p0, 1.0, q * q).unwrap();
    for (t, y) in ys.iter().enumerate() {
        ekf.forecast(&model);
        ekf.analyse(&obs, y).unwrap();
        for i in 0..N_STATE {
            assert!((ekf.mean()[i] - kf.filt_mean_at(t)[i]).abs() < 1e-12);
            for j in 0..N_STATE {
                assert!((ekf.cov()[(i, j)] - kf.filt_cov_at(t)[j * N_STATE + i]).abs() < 1e-12);
            }
        }
    }
    let b = Mat::from_fn(N_STATE, N_STATE, |i, j| {
        0.5f64.powi((i as i32 - j as i32).abs()) * 0.8
    });
    let mut oi = StaticGainFilter::optimal_interpolation(vec![0.1; N_STATE], b.clone());
    let mut v3 = Var3d::new(vec![0.1; N_STATE], b).unwrap();
    for y in &ys {
        oi.forecast(&model);
        v3.forecast(&model);
        oi.analyse(&obs, y).unwrap();
        v3.analyse(&obs, y).unwrap();
        for i in 0..N_STATE {
            assert!(
                (oi.mean()[i] - v3.mean()[i]).abs() < 1e-6,
                "{:?} {:?}",
                oi.mean(),
                v3.mean()
            );
        }
        assert!((oi.spread() - v3.spread().unwrap()).abs() < 1e-6);
    }
}

/// With no model noise, the ETKF-based EnKS with a lag covering the whole run is exact
/// for N > n, so its smoothed ensembles equal the RTS smoother started from the initial
/// ensemble's moments.
#[test]
fn enks_equals_the_rts_smoother_for_n_above_the_state_size() {
    let ys = data(12, 0.0, 11);
    let mut g = Xoshiro256PlusPlus::seed_from_u64(12);
    let e0 = Ensemble::gaussian(6, &[0.0; N_STATE], 1.0, &mut g).unwrap();
    let (ssm, _, kf) = kalman(&ys, &e0.mean(), &e0.covariance().unwrap(), 0.0);
    let sm = rts_smoother(&ssm, &kf).unwrap();
    let model = LinearModel::new(transition()).unwrap();
    let obs = obs_model();
    let filter = EnsembleFilter::new(e0, FilterOptions::new(AnalysisScheme::Etkf), 1).unwrap();
    let mut s = EnsembleSmoother::new(filter, ys.len()).unwrap();
    for y in &ys {
        s.forecast(&model, 0.0).unwrap();
        assert!(s.analyse(&obs, y).unwrap().is_none());
    }
    for (t, e) in s.window().enumerate() {
        let (m, c) = (e.mean(), e.covariance().unwrap());
        for i in 0..N_STATE {
            assert!((m[i] - sm.mean_at(t)[i]).abs() < 1e-9, "t={t} mean[{i}]");
            for j in 0..N_STATE {
                assert!(
                    (c[(i, j)] - sm.cov_at(t)[j * N_STATE + i]).abs() < 1e-9,
                    "t={t} cov"
                );
            }
        }
    }
}

/// Strong-constraint 4D-Var over a window of a linear model with prior `N(x_b, B)` and no
/// model noise is the Kalman smoother: its analysed trajectory is the RTS smoothed mean at
/// every step of the window (observations at steps 0..=L). One outer loop is exact.
#[test]
fn var4d_equals_the_kalman_smoother_on_a_linear_model() {
    let len = 6;
    let ys = data(len + 1, 0.0, 13);
    let xb = vec![0.3, -0.2, 0.1, 0.5];
    let b = Mat::from_fn(N_STATE, N_STATE, |i, j| {
        0.6f64.powi((i as i32 - j as i32).abs())
    });
    let b_chol = mechml_engine::linalg::Llt::factor(b.as_ref(), faer::Par::Seq)
        .unwrap()
        .l()
        .to_owned();
    // The smoother: x₀ ~ N(x_b, B) emits y₀ (ssm's first state); predict with Q = 0.
    let m = transition();
    let h = Mat::from_fn(2, N_STATE, |a, c| if OBSERVED[a] == c { 1.0 } else { 0.0 });
    let rm = Mat::from_fn(2, 2, |i, j| if i == j { R[i] } else { 0.0 });
    let ssm = LinearGaussianSsm::time_invariant(
        N_STATE,
        2,
        col_major(&m),
        vec![0.0; N_STATE * N_STATE],
        col_major(&h),
        col_major(&rm),
        xb.clone(),
        col_major(&b),
    )
    .unwrap();
    let data_obs = Observations::new(len + 1, 2, ys.concat(), 0, Vec::new()).unwrap();
    let sm = rts_smoother(&ssm, &kalman_filter(&ssm, &data_obs).unwrap()).unwrap();
    let model = LinearModel::new(m).unwrap();
    let obs = obs_model();
    let wobs: Vec<WindowObs<'_>> = ys
        .iter()
        .enumerate()
        .map(|(k, y)| WindowObs {
            step: k,
            obs: &obs,
            y,
        })
        .collect();
    let problem = Var4dProblem {
        model: &model,
        xb: &xb,
        b_chol: &b_chol,
        len,
        obs: &wobs,
    };
    let opts = Var4dOptions {
        outer_loops: 1,
        ..Var4dOptions::default()
    };
    let wa = problem.solve(&opts).unwrap();
    for (k, x) in wa.trajectory.iter().enumerate() {
        for i in 0..N_STATE {
            assert!(
                (x[i] - sm.mean_at(k)[i]).abs() < 1e-7,
                "step {k} [{i}]: {} vs {}",
                x[i],
                sm.mean_at(k)[i]
            );
        }
    }
    // A second outer loop changes nothing (the problem is quadratic).
    let wa2 = problem
        .solve(&Var4dOptions {
            outer_loops: 2,
            ..opts
        })
        .unwrap();
    for i in 0..N_STATE {
        assert!((wa2.x0[i] - wa.x0[i]).abs() < 1e-7);
    }
}
