//! Property tests of the GP models on random small problems: exact-GP gradients against
//! finite differences; VFE ≤ exact log marginal likelihood, with equality at Z = X; FITC at
//! Z = X equal to the exact GP; the state-space likelihood equal to the dense one.

use mechml_engine::ad::gradcheck::{GradCheckOptions, check_gradient};
use mechml_engine::gp::{
    ExactGp, Inputs, Matern32, SparseGp, SparseGpOptions, SparseMethod, SquaredExponential,
    TemporalGp,
};
use proptest::prelude::*;

fn spread(raw: &[f64], n: usize) -> Inputs {
    // Distinct points: a perturbed grid in [0, 1]².
    let pts: Vec<f64> = (0..2 * n)
        .map(|t| (t / 2) as f64 / n as f64 + 0.3 * raw[t] / n as f64 + 0.1 * (t % 2) as f64)
        .collect();
    Inputs::new(n, 2, pts).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn exact_gradient_matches_finite_differences(
        n in 2usize..9,
        raw in proptest::collection::vec(-1.0f64..1.0, 16),
        y in proptest::collection::vec(-1.0f64..1.0, 8),
        l0 in 0.2f64..2.0, l1 in 0.2f64..2.0, s2 in 0.3f64..3.0, noise in 0.01f64..0.5,
    ) {
        let x = spread(&raw, n);
        let gp = ExactGp::new(SquaredExponential::ard(2).unwrap(), x, &y[..n], &[s2, l0, l1, noise]).unwrap();
        // On the unconstrained (log) scale.
        let p = gp.params();
        let z: Vec<f64> = p.iter().map(|v| v.ln()).collect();
        let r = gp.lml_and_grad(&p).unwrap();
        let value = |q: &[f64]| {
            let th: Vec<f64> = q.iter().map(|v| v.exp()).collect();
            gp.lml_and_grad(&th).map(|r| r.value)
        };
        let rep = check_gradient(value, &z, &r.grad_unconstrained,
            GradCheckOptions::tol(1e-6, 1e-7)).unwrap();
        prop_assert!(rep.passed, "{}", rep);
    }

    #[test]
    fn sparse_identities(
        n in 4usize..12,
        m in 1usize..4,
        raw in proptest::collection::vec(-1.0f64..1.0, 24),
        y in proptest::collection::vec(-1.0f64..1.0, 12),
        l in 0.2f64..1.0, s2 in 0.5f64..2.0, noise in 0.05f64..0.5,
    ) {
        let x = spread(&raw, n);
        let k = Matern32::isotropic();
        let th = [s2, l, noise];
        let exact = ExactGp::new(k.clone(), x.clone(), &y[..n], &th).unwrap().log_marginal_likelihood().unwrap();
        let opts = SparseGpOptions { jitter: 0.0, ..Default::default() };
        let z = x.select(&(0..m).map(|i| (i * 3) % n).collect::<Vec<_>>()).unwrap();
        let vfe = SparseGp::new(k.clone(), x.clone(), &y[..n], z, &th, SparseMethod::Vfe).unwrap()
            .with_options(SparseGpOptions { jitter: 1e-9, ..Default::default() }).objective().unwrap();
        prop_assert!(vfe <= exact + 1e-9 * exact.abs(), "VFE {} > exact {}", vfe, exact);
        for method in [SparseMethod::Vfe, SparseMethod::Fitc] {
            let f = SparseGp::new(k.clone(), x.clone(), &y[..n], x.clone(), &th, method).unwrap()
                .with_options(opts).objective().unwrap();
            prop_assert!((f - exact).abs() < 1e-7 * exact.abs().max(1.0), "{:?} at Z = X: {} vs {}", method, f, exact);
        }
    }

    #[test]
    fn state_space_equals_dense(
        t in proptest::collection::vec(0.0f64..5.0, 2..20),
        l in 0.2f64..3.0, s2 in 0.3f64..3.0, noise in 0.01f64..0.5,
    ) {
        let y: Vec<f64> = t.iter().map(|v| v.cos()).collect();
        let ss = TemporalGp::new(Matern32::isotropic(), &t, &y, &[s2, l, noise]).unwrap().log_marginal_likelihood().unwrap();
        let dense = ExactGp::new(Matern32::isotropic(), Inputs::from_1d(&t).unwrap(), &y, &[s2, l, noise]).unwrap()
            .log_marginal_likelihood().unwrap();
        prop_assert!((ss - dense).abs() < 1e-9 * dense.abs().max(1.0), "{} vs {}", ss, dense);
    }
}
