//! The derivative drivers of `ad::api` (`jvp`, `vjp`, `jacobian`, `jacobian_forward`,
//! `jacobian_reverse`) against the closed-form Jacobian of a test function, and the mode
//! `jacobian` chooses.

use std::cell::RefCell;

use mechml_engine::ad::Real;
use mechml_engine::ad::api::{
    JACOBIAN_CHUNK, VectorFn, jacobian, jacobian_forward, jacobian_reverse, jvp, vjp,
};
use mechml_engine::ad::gradcheck::finite_diff_jacobian;
use proptest::prelude::*;

/// fᵢ(x) = x_a x_b + 0.1 (i + 1) Σⱼ xⱼ² + sin(x_c) with a = i mod n, b = (i + 1) mod n,
/// c = 3i mod n, for i < m. Records the scalar type of every evaluation.
struct Test {
    m: usize,
    calls: RefCell<Vec<&'static str>>,
}

impl Test {
    fn new(m: usize) -> Self {
        Self {
            m,
            calls: RefCell::new(Vec::new()),
        }
    }
    /// The closed-form Jacobian (rows = outputs).
    fn jacobian(&self, x: &[f64]) -> Vec<Vec<f64>> {
        let n = x.len();
        (0..self.m)
            .map(|i| {
                let (a, b, c) = (i % n, (i + 1) % n, (3 * i) % n);
                (0..n)
                    .map(|j| {
                        let mut d = 0.2 * (i + 1) as f64 * x[j];
                        if j == a {
                            d += x[b];
                        }
                        if j == b {
                            d += x[a];
                        }
                        if j == c {
                            d += x[c].cos();
                        }
                        d
                    })
                    .collect()
            })
            .collect()
    }
    fn kinds(&self) -> Vec<&'static str> {
        self.calls
            .borrow()
            .iter()
            .map(|t| {
                if t.contains("Var") {
                    "tape"
                } else if t.contains("DualN") {
                    "dual"
                } else {
                    "f64"
                }
            })
            .collect()
    }
}

impl VectorFn for Test {
    fn eval<R: Real>(&self, x: &[R]) -> Vec<R> {
        self.calls.borrow_mut().push(std::any::type_name::<R>());
        let n = x.len();
        let mut sq = R::zero();
        for &v in x {
            sq += v * v;
        }
        (0..self.m)
            .map(|i| {
                let (a, b, c) = (i % n, (i + 1) % n, (3 * i) % n);
                x[a] * x[b] + sq * (0.1 * (i + 1) as f64) + x[c].sin()
            })
            .collect()
    }
}

fn assert_jacobian(name: &str, j: &faer::Mat<f64>, expected: &[Vec<f64>]) {
    assert_eq!(j.nrows(), expected.len(), "{name}: rows");
    for (r, row) in expected.iter().enumerate() {
        assert_eq!(j.ncols(), row.len(), "{name}: columns");
        for (c, e) in row.iter().enumerate() {
            assert!(
                (j[(r, c)] - e).abs() <= 1e-13 * (1.0 + e.abs()),
                "{name}: J[{r}, {c}] = {} but the closed form is {e}",
                j[(r, c)]
            );
        }
    }
}

fn point(n: usize) -> Vec<f64> {
    (0..n).map(|k| (1.3 * k as f64 + 0.2).sin()).collect()
}

#[test]
fn jacobian_forward_covers_several_chunks() {
    // 20 inputs: chunks of 8, 8 and a partial one of 4; also the chunk boundaries.
    for n in [
        1,
        JACOBIAN_CHUNK,
        JACOBIAN_CHUNK + 1,
        2 * JACOBIAN_CHUNK,
        20,
    ] {
        let f = Test::new(5);
        let x = point(n);
        let (value, j) = jacobian_forward(&f, &x).unwrap();
        assert_jacobian(&format!("forward, n = {n}"), &j, &f.jacobian(&x));
        let expected_value = Test::new(5).eval(&x);
        assert_eq!(value, expected_value);
        assert_eq!(
            f.kinds().len(),
            n.div_ceil(JACOBIAN_CHUNK),
            "one pass per chunk"
        );
    }
    // And against finite differences, independently of the closed form.
    let f = Test::new(3);
    let x = point(19);
    let (_, j) = jacobian_forward(&f, &x).unwrap();
    let fd = finite_diff_jacobian(|z| Ok(Test::new(3).eval(z)), &x, None).unwrap();
    for (r, row) in fd.iter().enumerate() {
        for (c, e) in row.iter().enumerate() {
            assert!(
                (j[(r, c)] - e).abs() < 1e-8,
                "J[{r}, {c}]: {} vs {e}",
                j[(r, c)]
            );
        }
    }
}

#[test]
fn jacobian_reverse_matches_closed_form() {
    for (n, m) in [(20, 3), (3, 7), (1, 1)] {
        let f = Test::new(m);
        let x = point(n);
        let (value, j) = jacobian_reverse(&f, &x).unwrap();
        assert_jacobian(&format!("reverse, n = {n}, m = {m}"), &j, &f.jacobian(&x));
        assert_eq!(value, Test::new(m).eval(&x));
        assert_eq!(f.kinds(), vec!["tape"], "one recording");
    }
}

/// `jacobian` takes forward mode when n ≤ m or n ≤ one chunk, reverse mode otherwise,
/// and gives the closed form either way.
#[test]
fn jacobian_chooses_the_cheaper_mode() {
    for (n, m, mode) in [
        (20, 3, "tape"),
        (20, 30, "dual"),
        (16, 16, "dual"),
        (JACOBIAN_CHUNK, 1, "dual"),
        (JACOBIAN_CHUNK + 1, 1, "tape"),
    ] {
        let f = Test::new(m);
        let x = point(n);
        let (value, j) = jacobian(&f, &x).unwrap();
        assert_jacobian(&format!("jacobian, n = {n}, m = {m}"), &j, &f.jacobian(&x));
        assert_eq!(value, Test::new(m).eval(&x));
        let kinds = f.kinds();
        // The first evaluation (on f64) only finds m.
        assert_eq!(kinds[0], "f64");
        assert!(
            kinds[1..].iter().all(|k| *k == mode),
            "n = {n}, m = {m}: expected {mode} mode, evaluations were {kinds:?}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// J v (forward, one dual pass) and wᵀ J (reverse, one sweep) against the closed form.
    #[test]
    fn jvp_and_vjp_match_closed_form(
        x in proptest::collection::vec(-2.0f64..2.0, 6),
        v in proptest::collection::vec(-1.0f64..1.0, 6),
        w in proptest::collection::vec(-1.0f64..1.0, 4),
    ) {
        let f = Test::new(4);
        let jac = f.jacobian(&x);
        let (y1, jv) = jvp(&f, &x, &v).unwrap();
        let (y2, wj) = vjp(&f, &x, &w).unwrap();
        let y = Test::new(4).eval(&x);
        prop_assert_eq!(&y1, &y);
        prop_assert_eq!(&y2, &y);
        for (i, row) in jac.iter().enumerate() {
            let e: f64 = row.iter().zip(&v).map(|(a, b)| a * b).sum();
            prop_assert!((jv[i] - e).abs() <= 1e-13 * (1.0 + e.abs()), "(J v)[{}] = {} vs {}", i, jv[i], e);
        }
        for (j, got) in wj.iter().enumerate() {
            let e: f64 = jac.iter().zip(&w).map(|(row, wi)| row[j] * wi).sum();
            prop_assert!((got - e).abs() <= 1e-13 * (1.0 + e.abs()), "(wᵀ J)[{}] = {} vs {}", j, got, e);
        }
    }
}

#[test]
fn driver_length_mismatches_are_errors() {
    let f = Test::new(2);
    assert!(jvp(&f, &[1.0, 2.0], &[1.0]).is_err());
    assert!(vjp(&f, &[1.0, 2.0], &[1.0, 2.0, 3.0]).is_err());
}
