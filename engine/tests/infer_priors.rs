//! Prior log densities: gradients through the tape against central finite differences
//! (property tests over the support and the hyperparameters), and the closed forms of
//! simple cases.

use mechml_engine::Result;
use mechml_engine::ad::Real;
use mechml_engine::infer::{LogDensity, Prior, RealLogDensity, TapeDensity};
use proptest::prelude::*;

#[derive(Clone)]
struct Wrap(Prior);
impl RealLogDensity for Wrap {
    fn dim(&self) -> usize {
        1
    }
    fn log_density<R: Real>(&self, x: &[R]) -> Result<R> {
        Ok(self.0.log_pdf(x[0]))
    }
}

fn fd_check(p: Prior, x: f64) {
    let (v, g) = TapeDensity::new(Wrap(p)).value_and_grad(&[x]).unwrap();
    assert!((v - p.log_pdf(x)).abs() <= 1e-12 * v.abs().max(1.0));
    let h = 1e-6 * x.abs().max(1e-3);
    let fd = (p.log_pdf(x + h) - p.log_pdf(x - h)) / (2.0 * h);
    assert!(
        (g[0] - fd).abs() <= 1e-5 * fd.abs().max(1.0),
        "{p:?} at {x}: tape {} fd {fd}",
        g[0]
    );
}

proptest! {
    #[test]
    fn real_line_priors(x in -5.0f64..5.0, mu in -2.0f64..2.0, sigma in 0.3f64..3.0, nu in 1.0f64..20.0) {
        fd_check(Prior::Normal { mu, sigma }, x);
        fd_check(Prior::StudentT { nu, mu, sigma }, x);
    }

    #[test]
    fn positive_priors(x in 0.05f64..8.0, a in 0.5f64..6.0, b in 0.3f64..4.0) {
        fd_check(Prior::LogNormal { mu: a.ln(), sigma: b }, x);
        fd_check(Prior::HalfNormal { sigma: b }, x);
        fd_check(Prior::HalfCauchy { scale: b }, x);
        fd_check(Prior::Gamma { shape: a, rate: b }, x);
        fd_check(Prior::InverseGamma { shape: a, scale: b }, x);
    }

    #[test]
    fn bounded_priors(u in 0.02f64..0.98, a in 0.5f64..6.0, b in 0.5f64..6.0) {
        fd_check(Prior::Beta { a, b }, u);
        fd_check(Prior::Uniform { lo: -1.0, hi: 2.0 }, 3.0 * u - 1.0);
    }
}

#[test]
fn closed_forms_and_support() {
    let ln2pi = (2.0 * std::f64::consts::PI).ln();
    assert!(
        (Prior::Normal {
            mu: 0.0,
            sigma: 1.0
        }
        .log_pdf(0.0_f64)
            + 0.5 * ln2pi)
            .abs()
            < 1e-15
    );
    // Gamma(1, rate λ) is the exponential: ln λ − λ x.
    assert!(
        (Prior::Gamma {
            shape: 1.0,
            rate: 2.0
        }
        .log_pdf(0.7_f64)
            - (2f64.ln() - 1.4))
            .abs()
            < 1e-14
    );
    // Beta(1, 1) is uniform on (0, 1).
    assert!(Prior::Beta { a: 1.0, b: 1.0 }.log_pdf(0.3_f64).abs() < 1e-14);
    // Student-t with ν = 1 is Cauchy: −ln π − ln(1 + x²).
    let c = Prior::StudentT {
        nu: 1.0,
        mu: 0.0,
        sigma: 1.0,
    }
    .log_pdf(1.5_f64);
    assert!((c - (-(std::f64::consts::PI).ln() - (1.0f64 + 2.25).ln())).abs() < 1e-13);
    assert_eq!(
        Prior::HalfNormal { sigma: 1.0 }.log_pdf(-0.1_f64),
        f64::NEG_INFINITY
    );
    assert!(
        Prior::Gamma {
            shape: -1.0,
            rate: 1.0
        }
        .validate("k")
        .is_err()
    );
    assert!(Prior::Uniform { lo: 1.0, hi: 1.0 }.validate("k").is_err());
}
