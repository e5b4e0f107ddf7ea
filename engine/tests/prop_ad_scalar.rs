//! Property tests of every scalar operation: reverse-mode gradients against finite
//! differences, and forward mode (dual numbers) against reverse mode.

use mechml_engine::ad::gradcheck::{GradCheckOptions, check_tape_gradient};
use mechml_engine::ad::{Dual, DualN, Real, Tape, Var};
use proptest::prelude::*;

/// A unary operation, its name and a domain where it is smooth.
type Unary = (
    &'static str,
    fn(Var<'_>) -> Var<'_>,
    fn(Dual) -> Dual,
    f64,
    f64,
);

fn unary_ops() -> Vec<Unary> {
    vec![
        ("exp", |x| x.exp(), |x| x.exp(), -3.0, 3.0),
        ("ln", |x| x.ln(), |x| x.ln(), 0.1, 5.0),
        ("ln_1p", |x| x.ln_1p(), |x| x.ln_1p(), -0.9, 5.0),
        ("exp_m1", |x| x.exp_m1(), |x| x.exp_m1(), -3.0, 3.0),
        ("sqrt", |x| x.sqrt(), |x| x.sqrt(), 0.1, 5.0),
        ("cbrt", |x| x.cbrt(), |x| x.cbrt(), 0.1, 5.0),
        ("powi3", |x| x.powi(3), |x| x.powi(3), -2.0, 2.0),
        ("powi-2", |x| x.powi(-2), |x| x.powi(-2), 0.3, 2.0),
        ("sin", |x| x.sin(), |x| x.sin(), -4.0, 4.0),
        ("cos", |x| x.cos(), |x| x.cos(), -4.0, 4.0),
        ("tan", |x| x.tan(), |x| x.tan(), -1.2, 1.2),
        ("asin", |x| x.asin(), |x| x.asin(), -0.9, 0.9),
        ("acos", |x| x.acos(), |x| x.acos(), -0.9, 0.9),
        ("atan", |x| x.atan(), |x| x.atan(), -4.0, 4.0),
        ("sinh", |x| x.sinh(), |x| x.sinh(), -3.0, 3.0),
        ("cosh", |x| x.cosh(), |x| x.cosh(), -3.0, 3.0),
        ("tanh", |x| x.tanh(), |x| x.tanh(), -3.0, 3.0),
        ("abs", |x| x.abs(), |x| x.abs(), 0.1, 3.0),
        ("abs-neg", |x| x.abs(), |x| x.abs(), -3.0, -0.1),
        ("erf", |x| x.erf(), |x| x.erf(), -2.5, 2.5),
        ("erfc", |x| x.erfc(), |x| x.erfc(), -2.5, 2.5),
        ("lgamma", |x| x.lgamma(), |x| x.lgamma(), 0.2, 8.0),
        ("digamma", |x| x.digamma(), |x| x.digamma(), 0.3, 8.0),
        ("recip", |x| x.recip(), |x| x.recip(), 0.2, 4.0),
        ("square", |x| x.square(), |x| x.square(), -3.0, 3.0),
        ("sigmoid", |x| x.sigmoid(), |x| x.sigmoid(), -6.0, 6.0),
        ("softplus", |x| x.softplus(), |x| x.softplus(), -6.0, 6.0),
        (
            "normal_cdf",
            |x| x.normal_cdf(),
            |x| x.normal_cdf(),
            -3.0,
            3.0,
        ),
        ("neg", |x| -x, |x| -x, -3.0, 3.0),
    ]
}

fn opts() -> GradCheckOptions {
    GradCheckOptions::tol(1e-6, 1e-9)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Every unary op, composed with an affine map so the chain rule is exercised.
    #[test]
    fn unary_ops_match_finite_differences(u in 0.0f64..1.0, a in 0.5f64..1.5) {
        for (name, f_var, f_dual, lo, hi) in unary_ops() {
            let x = lo + (hi - lo) * u;
            // f(a * x) / a has derivative f'(a x) and stays in the domain for a·x... use x directly.
            let report = check_tape_gradient(&[x, a], opts(), |_, v| Ok(f_var(v[0]) * v[1]))
                .map_err(|e| TestCaseError::fail(format!("{name}: {e}")))?;
            prop_assert!(report.passed, "{name} at x = {x}: {report}");
            // Forward mode agrees with reverse mode.
            let fwd = f_dual(Dual::dual(x, 1.0)).d[0] * a;
            let rev = report.analytic[0];
            prop_assert!((fwd - rev).abs() <= 1e-12 * (1.0 + rev.abs()), "{name}: dual {fwd} vs tape {rev}");
        }
    }

    /// `gap` keeps min/max away from their kink (`a = 1.37 b`) by more than the stencil's
    /// reach (2h ≤ 0.008 here), so the finite differences see one smooth branch.
    #[test]
    fn binary_ops_match_finite_differences(x in 0.2f64..3.0, y in 0.2f64..3.0, s in -1.0f64..1.0, gap in 0.05f64..1.0) {
        type B = for<'a> fn(Var<'a>, Var<'a>) -> Var<'a>;
        let ops: Vec<(&str, B)> = vec![
            ("add", |a, b| a + b),
            ("sub", |a, b| a - b),
            ("mul", |a, b| a * b),
            ("div", |a, b| a / b),
            ("powf", |a, b| a.powf(b)),
            ("atan2", |a, b| a.atan2(b)),
            ("hypot", |a, b| a.hypot(b)),
            ("min", |a, b| a.min(b * 1.37)),
            ("max", |a, b| a.max(b * 1.37)),
            ("add_f64", |a, b| (a + 2.5) * (b - 1.5) / 0.7 * b),
            ("f64_lhs", |a, b| (2.0 - a) * (3.0 / b) + (1.0 + a) * (2.0 * b)),
            ("assign", |a, b| { let mut c = a; c += b; c *= a; c -= 0.3; c /= b; c += 1.0; c *= 2.0; c }),
        ];
        for (name, f) in ops {
            let point = match name {
                // The sign flip moves atan2 across quadrants.
                "atan2" => [x, y * s.signum()],
                // Either side of the kink, `gap` away from it.
                "min" | "max" => [1.37 * y + gap * s.signum(), y],
                _ => [x, y],
            };
            let report = check_tape_gradient(&point, opts(), |_, v| Ok(f(v[0], v[1])))
                .map_err(|e| TestCaseError::fail(format!("{name}: {e}")))?;
            prop_assert!(report.passed, "{name} at {point:?}: {report}");
        }
    }

    /// Forward mode (two-tangent duals) against reverse mode for every binary operation,
    /// with both arguments variable, with one of them constant, and with `f64` on either
    /// side of the operator. Both modes must give the same value bit for bit and the same
    /// partials to rounding; a constant argument must not spoil the other's partial
    /// (`powf` with a negative base and an integer exponent).
    #[test]
    fn binary_ops_dual_matches_reverse(x in 0.2f64..3.0, y in 0.2f64..3.0, neg_x in any::<bool>(), neg_y in any::<bool>(), n in -3i32..=4) {
        let (x, y) = (if neg_x { -x } else { x }, if neg_y { -y } else { y });
        for (k, name) in BINARY.iter().enumerate() {
            // powf needs a positive base for a real partial in the exponent; an integer
            // exponent allows any base when the exponent is constant.
            let (xa, yb) = if *name == "powf" { (x.abs(), y) } else { (x, y) };
            compare_modes(name, xa, yb, |a, b| binary(k, a, b), |a, b| binary(k, a, b))?;
            let c = if *name == "powf" { n as f64 } else { yb };
            compare_modes_const(name, x, c, |a, b| binary(k, a, b), |a, b| binary(k, a, b))?;
        }
        compare_modes("f64 on the left", x, y, |a, b| lhs_f64!(a, b), |a, b| lhs_f64!(a, b))?;
        compare_modes("f64 on the right", x, y, |a, b| rhs_f64!(a, b), |a, b| rhs_f64!(a, b))?;
        compare_modes("assignment", x, y, |a, b| assign_ops!(a, b), |a, b| assign_ops!(a, b))?;
    }

    /// `xⁿ` by `powf` with a negative base and a constant integer exponent: forward mode,
    /// the tape, and the tape of dual numbers (second derivative) against the closed forms
    /// n xⁿ⁻¹ and n (n − 1) xⁿ⁻², and the first derivative against finite differences.
    #[test]
    fn powf_negative_base_integer_exponent(x in -3.0f64..-0.3, n in -3i32..=4) {
        use mechml_engine::ad::api::hvp;
        use mechml_engine::ad::gradcheck::check_gradient;
        let e = n as f64;
        let d1 = if n == 0 { 0.0 } else { e * x.powi(n - 1) };
        let d2 = if n == 0 || n == 1 { 0.0 } else { e * (e - 1.0) * x.powi(n - 2) };
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * (1.0 + b.abs());
        let fwd = Dual::dual(x, 1.0).powf(Dual::constant(e));
        prop_assert!(close(fwd.d[0], d1), "dual: {} vs n x^(n-1) = {d1}", fwd.d[0]);
        // A second direction carried by the exponent alone: undefined (xʸ is not real
        // near an integer y for x < 0), and it must not leak into the first direction.
        let two = DualN::new(x, [1.0, 0.0]).powf(DualN::new(e, [0.0, 1.0]));
        prop_assert!(close(two.d[0], d1) && two.d[1].is_nan(), "{two:?}");
        let report = check_tape_gradient(&[x], opts(), |_, v| Ok(v[0].powf(Var::constant(e))))
            .map_err(|err| TestCaseError::fail(err.to_string()))?;
        prop_assert!(report.passed && close(report.analytic[0], d1), "tape: {report}");
        let fd = check_gradient(|z| Ok(z[0].powf(e)), &[x], &[fwd.d[0]], opts())
            .map_err(|err| TestCaseError::fail(err.to_string()))?;
        prop_assert!(fd.passed, "dual vs finite differences: {fd}");
        let (_, g, hv) = hvp(&PowConst(e), &[x], &[1.0]).map_err(|err| TestCaseError::fail(err.to_string()))?;
        prop_assert!(close(g[0], d1) && close(hv[0], d2), "hvp: g = {} (want {d1}), H = {} (want {d2})", g[0], hv[0]);
    }
}

/// `x.powf(e)` for a constant exponent, for the Hessian check.
struct PowConst(f64);
impl mechml_engine::ad::api::ScalarFn for PowConst {
    fn eval<R: Real>(&self, x: &[R]) -> R {
        x[0].powf(R::from_f64(self.0))
    }
}

/// The binary operations of [`Real`], by index.
const BINARY: [&str; 9] = [
    "add", "sub", "mul", "div", "powf", "atan2", "hypot", "min", "max",
];

fn binary<R: Real>(k: usize, a: R, b: R) -> R {
    match k {
        0 => a + b,
        1 => a - b,
        2 => a * b,
        3 => a / b,
        4 => a.powf(b),
        5 => a.atan2(b),
        6 => a.hypot(b),
        7 => a.min(b),
        _ => a.max(b),
    }
}

/// The operators with an `f64` on the left, which are not part of [`Real`] (so written
/// once per type by macro).
macro_rules! lhs_f64 {
    ($a:expr, $b:expr) => {
        (2.0 - $a) * (3.0 / $b) + (1.0 + $a) * (2.0 * $b) - 0.5 / ($a * $b)
    };
}
macro_rules! rhs_f64 {
    ($a:expr, $b:expr) => {
        ($a + 2.5) * ($b - 1.5) / 0.7 * $b - $a * 3.0
    };
}
macro_rules! assign_ops {
    ($a:expr, $b:expr) => {{
        let mut c = $a;
        c += $b;
        c *= $a;
        c -= 0.3;
        c /= $b;
        c += 1.0;
        c *= 2.0;
        c -= $b;
        c /= 1.5;
        c
    }};
}
use {assign_ops, lhs_f64, rhs_f64};

/// `f` on two-tangent duals against `g` (the same function) on the tape, both variable.
fn compare_modes(
    name: &str,
    x: f64,
    y: f64,
    f: impl Fn(DualN<2>, DualN<2>) -> DualN<2>,
    g: impl for<'t> Fn(Var<'t>, Var<'t>) -> Var<'t>,
) -> Result<(), TestCaseError> {
    let d = f(DualN::new(x, [1.0, 0.0]), DualN::new(y, [0.0, 1.0]));
    let tape = Tape::new();
    let (a, b) = (tape.var(x), tape.var(y));
    let r = g(a, b);
    let adj = tape
        .gradient(&r)
        .map_err(|e| TestCaseError::fail(format!("{name}: {e}")))?;
    prop_assert!(
        d.v.to_bits() == r.val().to_bits(),
        "{name}({x}, {y}): dual value {} vs tape {}",
        d.v,
        r.val()
    );
    for (k, gk) in [adj.wrt(&a), adj.wrt(&b)].into_iter().enumerate() {
        prop_assert!(
            (d.d[k] - gk).abs() <= 1e-13 * (1.0 + gk.abs()),
            "{name}({x}, {y}): partial {k}: dual {} vs tape {gk}",
            d.d[k]
        );
    }
    Ok(())
}

/// As [`compare_modes`] with a constant second argument.
fn compare_modes_const(
    name: &str,
    x: f64,
    c: f64,
    f: impl Fn(DualN<2>, DualN<2>) -> DualN<2>,
    g: impl for<'t> Fn(Var<'t>, Var<'t>) -> Var<'t>,
) -> Result<(), TestCaseError> {
    let d = f(DualN::new(x, [1.0, 0.0]), DualN::constant(c));
    let tape = Tape::new();
    let a = tape.var(x);
    let r = g(a, Var::constant(c));
    let adj = tape
        .gradient(&r)
        .map_err(|e| TestCaseError::fail(format!("{name}: {e}")))?;
    prop_assert!(
        d.v.to_bits() == r.val().to_bits(),
        "{name}({x}, const {c}): dual value {} vs tape {}",
        d.v,
        r.val()
    );
    let gk = adj.wrt(&a);
    prop_assert!(
        (d.d[0] - gk).abs() <= 1e-13 * (1.0 + gk.abs()) && d.d[1] == 0.0,
        "{name}({x}, const {c}): dual {:?} vs tape {gk}",
        d.d
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// A composite expression: forward multi-tangent duals give the same gradient as the tape.
    #[test]
    fn composite_dual_n_matches_tape(x in proptest::collection::vec(-1.0f64..1.0, 4)) {
        fn f<R: Real>(x: &[R]) -> R {
            let a = (x[0] * x[1]).sin() + x[2].exp() * x[3].tanh();
            let b = (x[0].square() + x[3].square() + 1.0).sqrt().ln();
            a * b + x[1].atan2(x[2] + 2.0) - x[0].sigmoid() * x[1].erf()
        }
        let xs: Vec<DualN<4>> = x.iter().enumerate().map(|(i, &v)| DualN::seed(v, i)).collect();
        let fd = f(&xs);
        let tape = Tape::new();
        let vs = tape.vars(&x);
        let y = f(&vs);
        let g = tape.gradient(&y).unwrap().wrt_slice(&vs);
        prop_assert!((fd.v - y.val()).abs() < 1e-14);
        for (d, g) in fd.d.iter().zip(&g) {
            prop_assert!((d - g).abs() < 1e-12 * (1.0 + g.abs()));
        }
    }
}

#[test]
fn constants_record_nothing() {
    let tape = Tape::new();
    let before = tape.stats().n_scalar_entries;
    let c = Var::<f64>::from_f64(2.0);
    let d = (c * 3.0 + c.exp()).ln();
    assert!(d.is_constant());
    assert_eq!(tape.stats().n_scalar_entries, before);
}

#[test]
fn scalar_entry_is_24_bytes() {
    assert_eq!(mechml_engine::ad::scalar_entry_bytes::<f64>(), 24);
    let tape = Tape::new();
    let x = tape.var(1.0);
    let mut y = x;
    for _ in 0..1000 {
        y = y * 1.0001 + 0.5;
    }
    let s = tape.stats();
    // 1 reserved + 1 leaf + 2000 operations.
    assert_eq!(s.n_scalar_entries, 2002);
    assert_eq!(s.scalar_bytes, 2002 * 24);
    let _ = y;
}

#[test]
fn cleared_tape_reuses_capacity_and_gives_same_gradient() {
    let mut tape = Tape::with_capacity(16);
    let mut grads = Vec::new();
    for _ in 0..3 {
        tape.clear();
        let x = tape.vars(&[0.3, -0.7]);
        let y = (x[0] * x[1]).sin() + x[0].exp();
        grads.push(tape.gradient(&y).unwrap().wrt_slice(&x));
    }
    assert_eq!(grads[0], grads[1]);
    assert_eq!(grads[1], grads[2]);
    let expected0 = (0.3f64 * -0.7).cos() * -0.7 + 0.3f64.exp();
    assert!((grads[0][0] - expected0).abs() < 1e-15);
}

/// A smooth test function of four variables for the second-order checks.
struct Smooth;
impl mechml_engine::ad::api::ScalarFn for Smooth {
    fn eval<R: Real>(&self, x: &[R]) -> R {
        (x[0] * x[1]).sin() * x[2].exp() + (x[3].square() + x[0].square() + 1.0).ln() * x[1].tanh()
            - x[2].atan() * x[3].sigmoid()
            + x[0].lgamma().min(x[1] + 5.0)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Forward-over-reverse H v against central differences of the reverse gradient.
    #[test]
    fn hvp_matches_finite_differences_of_gradient(x in proptest::collection::vec(0.5f64..1.5, 4), v in proptest::collection::vec(-1.0f64..1.0, 4)) {
        use mechml_engine::ad::api::{hvp, value_and_grad};
        let (f, g, hv) = hvp(&Smooth, &x, &v).unwrap();
        let (f2, g2) = value_and_grad(&Smooth, &x).unwrap();
        prop_assert!((f - f2).abs() < 1e-14 * (1.0 + f.abs()));
        for (a, b) in g.iter().zip(&g2) {
            prop_assert!((a - b).abs() < 1e-13 * (1.0 + b.abs()));
        }
        let h = 1e-5;
        let shifted = |s: f64| -> Vec<f64> {
            let xs: Vec<f64> = x.iter().zip(&v).map(|(a, b)| a + s * b).collect();
            value_and_grad(&Smooth, &xs).unwrap().1
        };
        let (gp, gm) = (shifted(h), shifted(-h));
        for i in 0..4 {
            let fd = (gp[i] - gm[i]) / (2.0 * h);
            prop_assert!((fd - hv[i]).abs() < 1e-6 * (1.0 + fd.abs()), "component {i}: H v = {} vs finite difference {fd}", hv[i]);
        }
    }
}

/// `==` on dual numbers compares values, as on `f64` and `Var`, and agrees with `<`/`>`.
#[test]
fn dual_equality_compares_values() {
    let a = DualN::new(1.0, [2.0, -1.0]);
    let b = DualN::constant(1.0);
    assert!(a == b && a <= b && a >= b);
    assert_eq!(a.partial_cmp(&b), Some(std::cmp::Ordering::Equal));
    assert!(Dual::dual(1.0, 3.0) != Dual::dual(2.0, 3.0));
    assert!(Dual::dual(f64::NAN, 0.0) != Dual::dual(f64::NAN, 0.0));
    // The same conventions as f64 and Var.
    let tape = Tape::new();
    let (x, c) = (tape.var(1.0), Var::constant(1.0));
    assert!(x == c && (1.0f64 == 1.0));
    // Exact zero looks at the derivative parts too.
    assert!(DualN::<2>::constant(0.0).is_exact_zero());
    assert!(!DualN::new(0.0, [0.0, 1e-300]).is_exact_zero());
    assert!(!tape.var(0.0).is_exact_zero() && Var::<f64>::constant(0.0).is_exact_zero());
}

/// Forward-over-reverse through a block whose output adjoint has value 0 and a nonzero
/// tangent at the point: the sweep must not skip the block. With a = stack(x₀) (one
/// block), f = (a − 1)² + a x₁ at x = (1, 0): ∂f/∂a = 2 (a − 1) + x₁ = 0, and
/// H = [[2, 1], [1, 0]], so H v = (2 v₀ + v₁, v₀).
#[test]
fn dual_tape_does_not_skip_blocks_with_zero_valued_adjoints() {
    let tape: Tape<Dual> = Tape::with_capacity_generic(64);
    let v = [0.7, -0.4];
    let xs = [
        tape.var(Dual::dual(1.0, v[0])),
        tape.var(Dual::dual(0.0, v[1])),
    ];
    let a = tape.stack(&xs[..1]).unwrap().vars()[0];
    let f = (a - 1.0).square() + a * xs[1];
    let g = tape.gradient(&f).unwrap();
    let (g0, g1) = (g.wrt(&xs[0]), g.wrt(&xs[1]));
    assert_eq!((g0.v, g1.v), (0.0, 1.0));
    assert!((g0.d[0] - (2.0 * v[0] + v[1])).abs() < 1e-15, "{g0:?}");
    assert!((g1.d[0] - v[0]).abs() < 1e-15, "{g1:?}");
}
