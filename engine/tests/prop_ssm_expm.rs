//! Property tests of the matrix exponential and Van Loan's integral: values against the
//! Taylor series and the covariance ODE, derivatives (dual numbers and the tape) against
//! finite differences and against the block-triangular Fréchet-derivative identity.
#![allow(clippy::needless_range_loop)]

use mechml_engine::ad::gradcheck::{GradCheckOptions, check_tape_gradient};
use mechml_engine::ad::{Dual, Real};
use mechml_engine::ssm::discretize::van_loan_q;
use mechml_engine::ssm::expm::expm;
use mechml_engine::testing::{col_major, matrix};
use proptest::prelude::*;

/// e^A by its Taylor series with 80 terms (exact to rounding for ‖A‖ ≲ 8).
fn series(a: &[f64], n: usize) -> Vec<f64> {
    let mut sum = vec![0.0; n * n];
    let mut term = vec![0.0; n * n];
    for i in 0..n {
        term[i + i * n] = 1.0;
    }
    for k in 0..80 {
        for i in 0..n * n {
            sum[i] += term[i];
        }
        let mut next = vec![0.0; n * n];
        for j in 0..n {
            for i in 0..n {
                for l in 0..n {
                    next[i + j * n] += a[i + l * n] * term[l + j * n];
                }
            }
        }
        for v in next.iter_mut() {
            *v /= (k + 1) as f64;
        }
        term = next;
    }
    sum
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn expm_matches_taylor_series(n in 1usize..6, scale in 0.01f64..4.0, seed in matrix(5, 5)) {
        let a: Vec<f64> = (0..n * n).map(|k| scale * col_major(&seed)[k]).collect();
        let e = expm(&a, n).unwrap();
        let s = series(&a, n);
        let norm = s.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for (x, y) in e.iter().zip(&s) {
            prop_assert!((x - y).abs() <= 1e-13 * norm.max(1.0) * (1.0 + scale), "{x} vs {y}");
        }
    }

    #[test]
    fn expm_gradient_matches_finite_differences(n in 1usize..5, scale in 0.05f64..3.0, seed in matrix(4, 4), w in matrix(4, 4)) {
        let a: Vec<f64> = (0..n * n).map(|k| scale * col_major(&seed)[k]).collect();
        let wv: Vec<f64> = col_major(&w)[..n * n].to_vec();
        let report = check_tape_gradient(&a, GradCheckOptions::tol(1e-6, 1e-8), |_, x| {
            let e = expm(x, n)?;
            let mut s = mechml_engine::ad::Var::constant(0.0);
            for (ei, wi) in e.iter().zip(&wv) {
                s += *ei * *wi;
            }
            Ok(s)
        }).unwrap();
        prop_assert!(report.passed, "{report}");
    }

    #[test]
    fn dual_expm_is_the_frechet_derivative(n in 1usize..4, scale in 0.05f64..3.0, seed in matrix(3, 3), dir in matrix(3, 3)) {
        // e^{[[A, E], [0, A]]} = [[e^A, L(A, E)], [0, e^A]] (Higham 2008, Thm. 3.6 / Mathias 1996).
        let a: Vec<f64> = (0..n * n).map(|k| scale * col_major(&seed)[k]).collect();
        let e: Vec<f64> = col_major(&dir)[..n * n].to_vec();
        let duals: Vec<Dual> = a.iter().zip(&e).map(|(&x, &d)| Dual::dual(x, d)).collect();
        let ed = expm(&duals, n).unwrap();
        let m = 2 * n;
        let mut big = vec![0.0; m * m];
        for j in 0..n {
            for i in 0..n {
                big[i + j * m] = a[i + j * n];
                big[(n + i) + (n + j) * m] = a[i + j * n];
                big[i + (n + j) * m] = e[i + j * n];
            }
        }
        let eb = expm(&big, m).unwrap();
        for j in 0..n {
            for i in 0..n {
                let l = eb[i + (n + j) * m];
                let d = ed[i + j * n].tangent();
                prop_assert!((l - d).abs() <= 1e-11 * l.abs().max(1.0), "L = {l} vs dual {d}");
                prop_assert!((ed[i + j * n].value() - eb[i + j * m]).abs() <= 1e-12 * eb[i + j * m].abs().max(1.0));
            }
        }
    }

    #[test]
    fn van_loan_gradient_matches_finite_differences(seed in matrix(2, 2), g in matrix(2, 2), dt in 0.2f64..3.0) {
        // Stable drift A = −I + B/2, W = G Gᵀ + 0.1 I; f = Σ Q.
        let x: Vec<f64> = col_major(&seed).iter().chain(col_major(&g).iter()).copied().collect();
        let report = check_tape_gradient(&x, GradCheckOptions::tol(1e-6, 1e-9), |_, v| {
            let n = 2;
            let a: Vec<_> = (0..4).map(|k| v[k] * 0.5 - if k % 3 == 0 { 1.0 } else { 0.0 }).collect();
            let gg = &v[4..8];
            let mut w = Vec::new();
            for j in 0..n {
                for i in 0..n {
                    let mut s = gg[i] * gg[j] + gg[i + 2] * gg[j + 2];
                    if i == j { s += 0.1; }
                    w.push(s);
                }
            }
            let q = van_loan_q(&a, &w, n, dt)?;
            Ok(q.iter().fold(mechml_engine::ad::Var::constant(0.0), |s, &x| s + x))
        }).unwrap();
        prop_assert!(report.passed, "{report}");
    }
}
