//! The Lotka–Volterra UDE (Rackauckas et al. 2020): the learned interaction term against
//! the true one on the data range, and STLSQ (Brunton et al. 2016) on the learned term
//! returning the true monomials; STLSQ itself on exact polynomial data.

use mechml_engine::ode::problems::LotkaVolterra;
use mechml_engine::ode::{Method, OdeOptions, OdeProblem, SaveAt, solve};
use mechml_models::de::{
    LV_CASE_P as P, LV_CASE_Y0 as Y0, PolynomialLibrary, lv_observations, lv_true_term,
    lv_worked_case, stlsq, train,
};

/// 31 observations on [0, 3] with noise of 1% of each component's mean; multiple
/// shooting; then the learned term along the true trajectory is within 15% relative RMS
/// of `(−βxy, γxy)`, and STLSQ (degree 2, threshold 0.1) keeps exactly the `x·y` term in
/// both equations with coefficients within 0.05 of `(−0.9, 0.8)`.
#[test]
fn lv_ude_learns_the_interaction_and_stlsq_recovers_it() {
    let ts: Vec<f64> = (0..31).map(|k| 0.1 * k as f64).collect();
    let data = lv_observations(P, Y0, &ts, 0.01, 1).unwrap();
    let (ude, w0, opts) = lv_worked_case().unwrap();
    let r = train(&ude, &w0, &data, &opts).unwrap();
    let prob = OdeProblem::new(LotkaVolterra, 0.0, 3.0, Y0.to_vec(), P.to_vec()).unwrap();
    let ts_dense: Vec<f64> = (0..=150).map(|k| 0.02 * k as f64).collect();
    let truth = solve(
        &prob,
        Method::Vern7,
        &OdeOptions::with_tol(1e-10, 1e-12).saving(SaveAt::Times(ts_dense)),
    )
    .unwrap();
    let (mut num, mut den) = (0.0, 0.0);
    let mut gs = Vec::new();
    for y in &truth.ys {
        let g = ude.learned_term(&r.w, y);
        let g0 = lv_true_term(&P, y);
        num += (g[0] - g0[0]).powi(2) + (g[1] - g0[1]).powi(2);
        den += g0[0].powi(2) + g0[1].powi(2);
        gs.push(g);
    }
    let err = (num / den).sqrt();
    assert!(
        err < 0.15,
        "relative RMS error of the learned term on the data range: {err}"
    );
    let lib = PolynomialLibrary::new(2, 2).unwrap();
    let names = lib.names(&["x", "y"]);
    let xy = names.iter().position(|n| n == "x*y").unwrap();
    let model = stlsq(&lib, &truth.ys, &gs, 0.1, 10).unwrap();
    for (k, (c, want)) in model.coefficients.iter().zip([-0.9, 0.8]).enumerate() {
        for (j, v) in c.iter().enumerate() {
            if j == xy {
                assert!(
                    (v - want).abs() < 0.05,
                    "g{k}: x*y coefficient {v} vs {want}"
                );
            } else {
                assert_eq!(*v, 0.0, "g{k}: spurious term {} = {v}", names[j]);
            }
        }
    }
}

/// STLSQ on exact data from a sparse cubic model returns its support and coefficients.
#[test]
fn stlsq_recovers_exact_sparse_polynomials() {
    let lib = PolynomialLibrary::new(2, 3).unwrap();
    assert_eq!(lib.len(), 10);
    let names = lib.names(&["x", "y"]);
    assert_eq!(names[..6], ["1", "x", "y", "x^2", "x*y", "y^2"]);
    let xs: Vec<Vec<f64>> = (0..60)
        .map(|k| vec![(0.37 * k as f64).sin() * 2.0, (0.53 * k as f64).cos() + 0.2])
        .collect();
    let f = |x: &[f64]| vec![1.5 - 0.8 * x[0] * x[1], 0.3 * x[0].powi(3) + 2.0 * x[1]];
    let gs: Vec<Vec<f64>> = xs.iter().map(|x| f(x)).collect();
    let m = stlsq(&lib, &xs, &gs, 0.05, 10).unwrap();
    let expect = |k: usize, name: &str| -> f64 {
        match (k, name) {
            (0, "1") => 1.5,
            (0, "x*y") => -0.8,
            (1, "x^3") => 0.3,
            (1, "y") => 2.0,
            _ => 0.0,
        }
    };
    for k in 0..2 {
        for (j, n) in names.iter().enumerate() {
            assert!(
                (m.coefficients[k][j] - expect(k, n)).abs() < 1e-10,
                "g{k} {n}: {}",
                m.coefficients[k][j]
            );
        }
    }
    assert!(
        stlsq(&lib, &xs[..5], &gs[..5], 0.05, 10).is_err(),
        "fewer samples than terms"
    );
    assert!(stlsq(&lib, &xs, &gs, -1.0, 10).is_err());
}
