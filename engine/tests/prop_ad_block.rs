//! Property tests of every block operation: gradients against finite differences,
//! pushforward against pullback (⟨w, J v⟩ = ⟨Jᵀ w, v⟩), and block results against the
//! same computation written with scalar operations.

use faer::Mat;
use mechml_engine::Result;
use mechml_engine::ad::api::{jvp_tape, vjp_tape};
use mechml_engine::ad::gradcheck::{GradCheckOptions, check_tape_gradient};
use mechml_engine::ad::ops::{Binary, Side, Uplo};
use mechml_engine::ad::{Real, Tape, Var, VarMat, VarVec};
use mechml_engine::testing::{
    col_major, lower_triangular, matrix, spd_matrix, vec_in, well_conditioned,
};
use proptest::prelude::*;

/// A block expression: inputs (as scalar vars) to outputs.
type Expr = for<'t> fn(&'t Tape, &[Var<'t>]) -> Result<Vec<Var<'t>>>;

fn opts() -> GradCheckOptions {
    GradCheckOptions::tol(1e-5, 1e-8)
}

/// Checks `expr` at `x`: Σ wᵢ outᵢ against finite differences, and JVP against VJP.
fn check(
    name: &str,
    expr: Expr,
    x: &[f64],
    w: &[f64],
    v: &[f64],
) -> std::result::Result<(), TestCaseError> {
    let report = check_tape_gradient(x, opts(), |t, xs| {
        let ys = expr(t, xs)?;
        let mut s = Var::constant(0.0);
        for (y, wi) in ys.iter().zip(w) {
            s += *y * *wi;
        }
        Ok(s)
    })
    .map_err(|e| TestCaseError::fail(format!("{name}: {e}")))?;
    prop_assert!(report.passed, "{name}: {report}");
    let mut tape = Tape::new();
    let (ys, jv) =
        jvp_tape(&mut tape, x, v, expr).map_err(|e| TestCaseError::fail(format!("{name}: {e}")))?;
    let (_, jtw) = vjp_tape(&mut tape, x, &w[..ys.len()], expr)
        .map_err(|e| TestCaseError::fail(format!("{name}: {e}")))?;
    let lhs: f64 = jv.iter().zip(w).map(|(a, b)| a * b).sum();
    let rhs: f64 = jtw.iter().zip(v).map(|(a, b)| a * b).sum();
    prop_assert!(
        (lhs - rhs).abs() <= 1e-9 * (1.0 + lhs.abs()),
        "{name}: <w, Jv> = {lhs} but <J^T w, v> = {rhs}"
    );
    Ok(())
}

fn mat<'t>(t: &'t Tape, xs: &[Var<'t>], r: usize, c: usize) -> Result<VarMat<'t>> {
    t.stack_mat(r, c, &xs[..r * c])
}
fn vecv<'t>(t: &'t Tape, xs: &[Var<'t>]) -> Result<VarVec<'t>> {
    t.stack(xs)
}
fn outs<'t>(m: VarMat<'t>) -> Vec<Var<'t>> {
    m.flatten().vars()
}

const N: usize = 4;

/// Fixed values in [-1, 1] for constant arguments.
fn cvals(n: usize) -> Vec<f64> {
    (0..n).map(|k| (0.7 * k as f64 + 0.3).sin()).collect()
}
/// A fixed `r x c` constant matrix.
fn cmat<'t>(r: usize, c: usize) -> VarMat<'t> {
    VarMat::constant(r, c, cvals(r * c)).expect("r * c values")
}
/// A fixed SPD constant: 2 I + 0.2 cos(i + j) (diagonally dominant for n ≤ 8).
fn cspd<'t>(n: usize) -> VarMat<'t> {
    let vals = (0..n * n)
        .map(|k| {
            let (i, j) = (k % n, k / n);
            0.2 * ((i + j) as f64).cos() + if i == j { 2.0 } else { 0.0 }
        })
        .collect();
    VarMat::constant(n, n, vals).expect("n * n values")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn elementwise_and_reductions(a in vec_in(6, 0.5, 2.0), b in vec_in(6, 0.5, 2.0), w in vec_in(12, -1.0, 1.0), v in vec_in(12, -1.0, 1.0)) {
        let x: Vec<f64> = a.iter().chain(&b).copied().collect();
        let exprs: Vec<(&str, Expr)> = vec![
            ("add", |t, xs| Ok(t.add(&vecv(t, &xs[..6])?, &vecv(t, &xs[6..])?)?.vars())),
            ("sub", |t, xs| Ok(t.sub(&vecv(t, &xs[..6])?, &vecv(t, &xs[6..])?)?.vars())),
            ("mul", |t, xs| Ok(t.mul(&vecv(t, &xs[..6])?, &vecv(t, &xs[6..])?)?.vars())),
            ("div", |t, xs| Ok(t.div(&vecv(t, &xs[..6])?, &vecv(t, &xs[6..])?)?.vars())),
            ("mat_mul_elementwise", |t, xs| Ok(outs(t.elementwise_mat(Binary::Mul, &mat(t, &xs[..6], 2, 3)?, &mat(t, &xs[6..], 2, 3)?)?))),
            ("scale", |t, xs| Ok(t.scale(&vecv(t, &xs[..6])?, xs[6])?.vars())),
            ("map", |t, xs| Ok(t.map(&vecv(t, &xs[..6])?, |d| d.ln() * d.sin())?.vars())),
            ("map2", |t, xs| Ok(t.map2(&vecv(t, &xs[..6])?, &vecv(t, &xs[6..])?, |a, b| (a * b).sin() + b.ln() * a.square())?.vars())),
            ("map2 aliased", |t, xs| { let a = vecv(t, &xs[..6])?; Ok(t.map2(&a, &a, |x, y| x.exp() * y)?.vars()) }),
            ("map_mat", |t, xs| Ok(outs(t.map_mat(&mat(t, &xs[..6], 3, 2)?, |d| d.exp())?))),
            ("sum", |t, xs| Ok(vec![t.sum(&vecv(t, &xs[..6])?)?])),
            ("dot", |t, xs| Ok(vec![t.dot(&vecv(t, &xs[..6])?, &vecv(t, &xs[6..])?)?])),
            ("sum_sq", |t, xs| Ok(vec![t.sum_sq(&vecv(t, &xs[..6])?)?])),
            ("aliased dot", |t, xs| { let a = vecv(t, &xs[..6])?; Ok(vec![t.dot(&a, &a)?]) }),
        ];
        for (name, e) in exprs {
            check(name, e, &x, &w, &v)?;
        }
    }

    #[test]
    fn products_and_diagonals(a in matrix(3, 4), b in matrix(4, 2), w in vec_in(20, -1.0, 1.0), v in vec_in(20, -1.0, 1.0)) {
        let x: Vec<f64> = col_major(&a).into_iter().chain(col_major(&b)).collect();
        let exprs: Vec<(&str, Expr)> = vec![
            ("matmul", |t, xs| Ok(outs(t.matmul(&mat(t, &xs[..12], 3, 4)?, &mat(t, &xs[12..], 4, 2)?)?))),
            ("matmul A A^T", |t, xs| { let a = mat(t, &xs[..12], 3, 4)?; Ok(outs(t.matmul(&a, &t.transpose(&a)?)?)) }),
            ("matvec", |t, xs| Ok(t.matvec(&mat(t, &xs[..12], 3, 4)?, &vecv(t, &xs[12..16])?)?.vars())),
            ("transpose", |t, xs| Ok(outs(t.transpose(&mat(t, &xs[..12], 3, 4)?)?))),
            ("diag", |t, xs| Ok(t.diag(&mat(t, &xs[..16], 4, 4)?)?.vars())),
            ("diag_mat", |t, xs| Ok(outs(t.diag_mat(&vecv(t, &xs[..4])?)?))),
            ("trace", |t, xs| Ok(vec![t.trace(&mat(t, &xs[..9], 3, 3)?)?])),
            ("quad_form", |t, xs| Ok(vec![t.quad_form(&vecv(t, &xs[16..20])?, &mat(t, &xs[..16], 4, 4)?)?])),
        ];
        for (name, e) in exprs {
            check(name, e, &x, &w, &v)?;
        }
    }

    #[test]
    fn spd_operations(a in spd_matrix(N), y in vec_in(2 * N, -1.0, 1.0), w in vec_in(N * N + 2 * N, -1.0, 1.0), v in vec_in(N * N + 2 * N, -1.0, 1.0)) {
        let x: Vec<f64> = col_major(&a).into_iter().chain(y).collect();
        let exprs: Vec<(&str, Expr)> = vec![
            ("cholesky", |t, xs| Ok(outs(t.cholesky(&mat(t, &xs[..N * N], N, N)?)?))),
            ("spd_solve", |t, xs| Ok(outs(t.spd_solve(&mat(t, &xs[..N * N], N, N)?, &mat(t, &xs[N * N..], N, 2)?)?))),
            ("inv_quad", |t, xs| Ok(vec![t.inv_quad(&mat(t, &xs[..N * N], N, N)?, &vecv(t, &xs[N * N..N * N + N])?)?])),
            ("logdet_spd", |t, xs| Ok(vec![t.logdet_spd(&mat(t, &xs[..N * N], N, N)?)?])),
            ("mvn_logpdf", |t, xs| Ok(vec![t.mvn_logpdf(&vecv(t, &xs[N * N..N * N + N])?, &mat(t, &xs[..N * N], N, N)?)?])),
        ];
        for (name, e) in exprs {
            check(name, e, &x, &w, &v)?;
        }
    }

    #[test]
    fn triangular_and_general(l in lower_triangular(N), g in well_conditioned(N), b in matrix(N, 3), w in vec_in(3 * N + 1, -1.0, 1.0), v in vec_in(2 * N * N + 3 * N, -1.0, 1.0)) {
        let x: Vec<f64> = col_major(&l).into_iter().chain(col_major(&b)).chain(col_major(&g)).collect();
        let exprs: Vec<(&str, Expr)> = vec![
            ("solve lower left", |t, xs| Ok(outs(t.solve_triangular(&mat(t, &xs[..N * N], N, N)?, &mat(t, &xs[N * N..N * N + 3 * N], N, 3)?, Uplo::Lower, Side::Left)?))),
            ("solve upper left", |t, xs| { let u = t.transpose(&mat(t, &xs[..N * N], N, N)?)?; Ok(outs(t.solve_triangular(&u, &mat(t, &xs[N * N..N * N + 3 * N], N, 3)?, Uplo::Upper, Side::Left)?)) }),
            ("solve lower right", |t, xs| Ok(outs(t.solve_triangular(&mat(t, &xs[..N * N], N, N)?, &mat(t, &xs[N * N..N * N + 3 * N], 3, N)?, Uplo::Lower, Side::Right)?))),
            ("solve upper right", |t, xs| { let u = t.transpose(&mat(t, &xs[..N * N], N, N)?)?; Ok(outs(t.solve_triangular(&u, &mat(t, &xs[N * N..N * N + 3 * N], 3, N)?, Uplo::Upper, Side::Right)?)) }),
            ("log_abs_det", |t, xs| Ok(vec![t.log_abs_det(&mat(t, &xs[N * N + 3 * N..], N, N)?)?.0])),
        ];
        for (name, e) in exprs {
            check(name, e, &x, &w, &v)?;
        }
    }

    /// The remaining paths: matrix forms (`scale_mat`, `sum_mat`, `elementwise_mat`),
    /// views (`slice`, `reshape`, which reuse slots), and constant arguments mixed with
    /// variable ones (`matmul`, `spd_solve`, `scale`, `stack`, `elementwise_mat`).
    #[test]
    fn views_matrix_forms_and_constant_arguments(x in vec_in(16, 0.5, 2.0), w in vec_in(16, -1.0, 1.0), v in vec_in(16, -1.0, 1.0)) {
        let exprs: Vec<(&str, Expr)> = vec![
            ("scale_mat", |t, xs| Ok(outs(t.scale_mat(&mat(t, &xs[..6], 2, 3)?, xs[6])?))),
            ("scale, constant factor", |t, xs| Ok(t.scale(&vecv(t, &xs[..6])?, Var::constant(1.7))?.vars())),
            ("scale, constant vector", |t, xs| Ok(t.scale(&VarVec::constant(cvals(6)), xs[6] * xs[7])?.vars())),
            ("sum_mat", |t, xs| Ok(vec![t.sum_mat(&t.map_mat(&mat(t, &xs[..6], 3, 2)?, |d| d.square())?)?])),
            ("elementwise_mat add", |t, xs| Ok(outs(t.elementwise_mat(Binary::Add, &mat(t, &xs[..6], 2, 3)?, &mat(t, &xs[6..12], 2, 3)?)?))),
            ("elementwise_mat sub", |t, xs| Ok(outs(t.elementwise_mat(Binary::Sub, &mat(t, &xs[..6], 2, 3)?, &mat(t, &xs[6..12], 2, 3)?)?))),
            ("elementwise_mat div", |t, xs| Ok(outs(t.elementwise_mat(Binary::Div, &mat(t, &xs[..6], 3, 2)?, &mat(t, &xs[6..12], 3, 2)?)?))),
            ("elementwise_mat div, constant numerator", |t, xs| Ok(outs(t.elementwise_mat(Binary::Div, &cmat(3, 2), &mat(t, &xs[6..12], 3, 2)?)?))),
            ("slice", |t, xs| {
                let v = vecv(t, &xs[..10])?;
                Ok(t.mul(&v.slice(2..7)?, &v.slice(0..5)?)?.vars())
            }),
            ("slice of a block output", |t, xs| {
                let v = t.map(&vecv(t, &xs[..10])?, |d| d.ln())?;
                Ok(vec![t.dot(&v.slice(5..10)?, &v.slice(1..6)?)?, t.sum(&v.slice(3..3)?)? + xs[0]])
            }),
            ("reshape", |t, xs| {
                let m = vecv(t, &xs[..6])?.reshape(2, 3)?;
                Ok(outs(t.matmul(&m, &vecv(t, &xs[6..9])?.reshape(3, 1)?)?))
            }),
            ("matmul, constant A", |t, xs| Ok(outs(t.matmul(&cmat(3, 4), &mat(t, &xs[..8], 4, 2)?)?))),
            ("matmul, constant B", |t, xs| Ok(outs(t.matmul(&mat(t, &xs[..8], 2, 4)?, &cmat(4, 3))?))),
            ("spd_solve, constant A", |t, xs| Ok(outs(t.spd_solve(&cspd(4), &mat(t, &xs[..8], 4, 2)?)?))),
            ("spd_solve, constant B", |t, xs| {
                // A = Bᵀ B + I (SPD), with a constant identity added element-wise.
                let b = mat(t, &xs[..12], 4, 3)?;
                let bb = t.matmul(&t.transpose(&b)?, &b)?;
                let a = t.elementwise_mat(Binary::Add, &bb, &VarMat::constant(3, 3, vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0])?)?;
                Ok(outs(t.spd_solve(&a, &cmat(3, 2))?))
            }),
            ("stack with constants", |t, xs| {
                let s = t.stack(&[xs[0], Var::constant(2.0), xs[1] * xs[2], Var::constant(-1.0), xs[0]])?;
                Ok(t.mul(&s, &s)?.vars())
            }),
        ];
        for (name, e) in exprs {
            check(name, e, &x, &w, &v)?;
        }
    }

    /// Block Cholesky against a scalar Cholesky–Banachiewicz written over `Real`:
    /// same factor and same gradient of Σ w ∘ L.
    #[test]
    fn cholesky_block_matches_scalar_composition(a in spd_matrix(N), w in vec_in(N * N, -1.0, 1.0)) {
        fn scalar_cholesky<R: Real>(a: &[R], n: usize) -> Vec<R> {
            let mut l = vec![R::zero(); n * n];
            for j in 0..n {
                let mut d = a[j + j * n];
                for k in 0..j { d -= l[j + k * n].square(); }
                let ljj = d.sqrt();
                l[j + j * n] = ljj;
                for i in j + 1..n {
                    let mut s = a[i + j * n];
                    for k in 0..j { s -= l[i + k * n] * l[j + k * n]; }
                    l[i + j * n] = s / ljj;
                }
            }
            l
        }
        let x = col_major(&a);
        // Scalar version reads the lower triangle; feed it the symmetrised input so both
        // see the same function of all n² entries.
        let tape = Tape::new();
        let xs = tape.vars(&x);
        let sym: Vec<Var> = (0..N * N).map(|k| { let (i, j) = (k % N, k / N); (xs[i + j * N] + xs[j + i * N]) * 0.5 }).collect();
        let ls = scalar_cholesky(&sym, N);
        let mut s1 = Var::constant(0.0);
        for (l, wi) in ls.iter().zip(&w) { s1 += *l * *wi; }
        let g1 = tape.gradient(&s1).unwrap().wrt_slice(&xs);
        let tape2 = Tape::new();
        let xs2 = tape2.vars(&x);
        let lb = tape2.cholesky(&tape2.stack_mat(N, N, &xs2).unwrap()).unwrap();
        let s2 = tape2.dot(&lb.clone().flatten(), &VarVec::constant(w.clone())).unwrap();
        let g2 = tape2.gradient(&s2).unwrap().wrt_slice(&xs2);
        for k in 0..N * N {
            prop_assert!((ls[k].val() - lb.values()[k]).abs() < 1e-12);
            prop_assert!((g1[k] - g2[k]).abs() < 1e-10 * (1.0 + g1[k].abs()), "entry {k}: scalar {} block {}", g1[k], g2[k]);
        }
    }

    /// Identities on random SPD matrices: L Lᵀ = A, log det by Cholesky = by LU,
    /// A (A⁻¹ B) = B, and mvn_logpdf = its composition.
    #[test]
    fn spd_identities(a in spd_matrix(6), b in matrix(6, 2), y in vec_in(6, -1.0, 1.0)) {
        let tape = Tape::new();
        let am = VarMat::from_faer(a.as_ref());
        let l = tape.cholesky(&am).unwrap();
        let llt: Mat<f64> = l.as_faer() * l.as_faer().transpose();
        prop_assert!((&llt - &a).norm_max() < 1e-12 * a.norm_max());
        let ld = tape.logdet_spd(&am).unwrap().val();
        let (lu, sign) = tape.log_abs_det(&am).unwrap();
        prop_assert!(sign == 1.0 && (ld - lu.val()).abs() < 1e-11 * (1.0 + ld.abs()));
        let x = tape.spd_solve(&am, &VarMat::from_faer(b.as_ref())).unwrap();
        prop_assert!((&a * x.as_faer() - &b).norm_max() < 1e-10);
        let yv = VarVec::constant(y.clone());
        let lp = tape.mvn_logpdf(&yv, &am).unwrap().val();
        let q = tape.inv_quad(&am, &yv).unwrap().val();
        let expected = -0.5 * q - 0.5 * ld - 3.0 * (2.0 * std::f64::consts::PI).ln();
        prop_assert!((lp - expected).abs() < 1e-11 * (1.0 + lp.abs()));
    }
}

#[test]
fn not_positive_definite_names_pivot_and_value() {
    let tape = Tape::new();
    let a = tape
        .var_mat(3, 3, &[4.0, 2.0, 0.0, 2.0, 1.0, 0.0, 0.0, 0.0, 1.0])
        .unwrap();
    match tape.cholesky(&a) {
        Err(mechml_engine::Error::NotPositiveDefinite { pivot, value, .. }) => {
            assert_eq!(pivot, 1);
            assert!(
                value.abs() < 1e-12,
                "Schur complement 1 - 2²/4 = 0, got {value}"
            );
        }
        other => panic!("expected NotPositiveDefinite, got {other:?}"),
    }
}

#[test]
fn shape_mismatches_are_errors() {
    let tape = Tape::new();
    let a = tape.var_mat(2, 3, &[1.0; 6]).unwrap();
    let b = tape.var_mat(2, 3, &[1.0; 6]).unwrap();
    let err = tape.matmul(&a, &b).unwrap_err();
    assert!(err.to_string().contains("matmul"), "{err}");
    assert!(matches!(
        tape.cholesky(&a),
        Err(mechml_engine::Error::ShapeMismatch { .. })
    ));
    let v = tape.var_vec(&[1.0, 2.0]);
    let w = tape.var_vec(&[1.0, 2.0, 3.0]);
    assert!(matches!(
        tape.dot(&v, &w),
        Err(mechml_engine::Error::ShapeMismatch { arg: "b", .. })
    ));
}

#[test]
fn check_mode_names_the_operation() {
    let tape = Tape::new();
    tape.set_check_finite(true);
    let x = tape.var(-1.0);
    let y = x.ln() + 1.0;
    match tape.gradient(&y) {
        Err(mechml_engine::Error::NonFinite { op, .. }) => assert_eq!(op, "ln"),
        other => panic!("expected NonFinite from ln, got {other:?}"),
    }
}

#[test]
fn mixing_tapes_is_an_error() {
    let t1 = Tape::new();
    let t2 = Tape::new();
    let a = t1.var(1.0);
    let b = t2.var(2.0);
    let c = a * b;
    assert!(matches!(
        t1.gradient(&c),
        Err(mechml_engine::Error::MixedTapes { .. })
    ));
    let v = t2.var_vec(&[1.0]);
    assert!(matches!(
        t1.sum(&v),
        Err(mechml_engine::Error::MixedTapes { .. })
    ));
}

#[test]
fn nan_input_to_block_is_an_error() {
    let tape = Tape::new();
    let a = tape.var_mat(2, 2, &[1.0, f64::NAN, 0.0, 1.0]).unwrap();
    assert!(matches!(
        tape.cholesky(&a),
        Err(mechml_engine::Error::NonFinite { .. })
    ));
    let v = tape.var_vec(&[1.0, -1.0]);
    assert!(matches!(
        tape.map(&v, |d| d.ln()),
        Err(mechml_engine::Error::NonFinite { .. })
    ));
}

#[test]
fn tapes_on_several_threads() {
    let handles: Vec<_> = (0..2)
        .map(|k| {
            std::thread::spawn(move || {
                let tape = Tape::new();
                let x = tape.var(1.0 + k as f64);
                let y = x.exp() * x;
                tape.gradient(&y).unwrap().wrt(&x)
            })
        })
        .collect();
    for (k, h) in handles.into_iter().enumerate() {
        let x = 1.0 + k as f64;
        assert!((h.join().unwrap() - x.exp() * (1.0 + x)).abs() < 1e-12);
    }
}

/// The `NonFinite` error of a tape in check mode, as `(op, context)`.
fn non_finite(tape: &Tape) -> Option<(&'static str, String)> {
    match tape.check() {
        Err(mechml_engine::Error::NonFinite { op, context, .. }) => Some((op, context)),
        _ => None,
    }
}

#[test]
fn check_mode_catches_non_finite_partials() {
    let tape = Tape::new();
    tape.set_check_finite(true);
    let x = tape.var(0.0);
    let y = x.sqrt(); // value 0, derivative +inf
    assert_eq!(y.val(), 0.0);
    let (op, context) = non_finite(&tape).expect("sqrt at 0 must be reported");
    assert_eq!(op, "sqrt");
    assert!(context.contains("partial derivative"), "{context}");
    assert!(tape.gradient(&y).is_err());
    // Off, the same recording is silent (the gradient is then +inf).
    let quiet = Tape::new();
    let x = quiet.var(0.0);
    let y = x.sqrt();
    assert!(quiet.check().is_ok());
    assert!(!quiet.gradient(&y).unwrap().wrt(&x).is_finite());
}

/// Leaves made with the check off (so a non-finite input is not reported as the leaf).
fn lv<'t>(t: &'t Tape, v: &[f64]) -> VarVec<'t> {
    let on = t.check_finite_enabled();
    t.set_check_finite(false);
    let x = t.var_vec(v);
    t.set_check_finite(on);
    x
}
fn lm<'t>(t: &'t Tape, r: usize, c: usize, v: &[f64]) -> VarMat<'t> {
    lv(t, v).reshape(r, c).unwrap()
}

/// Every built-in block with a non-finite output (overflow, division by zero, an
/// infinite input passed through) is reported in check mode under its own name.
#[test]
fn check_mode_names_blocks_with_non_finite_outputs() {
    type Case = for<'t> fn(&'t Tape) -> Result<()>;
    let cases: Vec<(&str, Case)> = vec![
        ("add", |t| {
            t.add(&lv(t, &[1e308, 1.0]), &lv(t, &[1e308, 1.0]))
                .map(drop)
        }),
        ("sub", |t| {
            t.sub(&lv(t, &[1e308]), &lv(t, &[-1e308])).map(drop)
        }),
        ("mul", |t| {
            t.mul(&lv(t, &[1e200]), &lv(t, &[1e200])).map(drop)
        }),
        ("div", |t| {
            t.div(&lv(t, &[1.0, 1.0]), &lv(t, &[2.0, 0.0])).map(drop)
        }),
        ("scale", |t| {
            t.scale(&lv(t, &[1e200]), lv(t, &[1e200]).vars()[0])
                .map(drop)
        }),
        ("dot", |t| {
            t.dot(&lv(t, &[1e200, 1.0]), &lv(t, &[1e200, 1.0]))
                .map(drop)
        }),
        ("sum", |t| t.sum(&lv(t, &[1e308, 1e308])).map(drop)),
        ("matmul", |t| {
            t.matmul(&lm(t, 1, 2, &[1e200, 1e200]), &lm(t, 2, 1, &[1e200, 1.0]))
                .map(drop)
        }),
        ("transpose", |t| {
            t.transpose(&lm(t, 1, 2, &[1.0, f64::INFINITY])).map(drop)
        }),
        ("quad_form", |t| {
            t.quad_form(&lv(t, &[1e200]), &lm(t, 1, 1, &[1e200]))
                .map(drop)
        }),
        ("diag", |t| {
            t.diag(&lm(t, 2, 2, &[1.0, 0.0, 0.0, f64::NAN])).map(drop)
        }),
        ("diag_mat", |t| {
            t.diag_mat(&lv(t, &[f64::NEG_INFINITY])).map(drop)
        }),
        ("stack", |t| {
            t.stack(&lv(t, &[1.0, f64::INFINITY]).vars()).map(drop)
        }),
        ("solve_triangular", |t| {
            t.solve_lower(
                &lm(t, 2, 2, &[1e-300, 1.0, 0.0, 1.0]),
                &lm(t, 2, 1, &[1e10, 1.0]),
            )
            .map(drop)
        }),
        ("spd_solve", |t| {
            t.spd_solve(&lm(t, 1, 1, &[1e-300]), &lm(t, 1, 1, &[1e10]))
                .map(drop)
        }),
        ("inv_quad", |t| {
            t.inv_quad(&lm(t, 1, 1, &[1e-300]), &lv(t, &[1e10]))
                .map(drop)
        }),
        ("mvn_logpdf", |t| {
            t.mvn_logpdf(&lv(t, &[1e10]), &lm(t, 1, 1, &[1e-300]))
                .map(drop)
        }),
    ];
    for (name, case) in cases {
        let tape = Tape::new();
        tape.set_check_finite(true);
        case(&tape).unwrap_or_else(|e| panic!("{name}: the forward pass itself failed: {e}"));
        match non_finite(&tape) {
            Some((op, context)) => {
                assert_eq!(op, name, "{context}");
                assert!(context.contains("output"), "{name}: {context}");
            }
            None => panic!(
                "{name}: a non-finite output was not reported: {:?}",
                tape.check()
            ),
        }
        // Without check mode nothing is recorded.
        let quiet = Tape::new();
        case(&quiet).unwrap();
        assert!(quiet.check().is_ok(), "{name}");
    }
    // Leaves are checked too.
    let tape = Tape::new();
    tape.set_check_finite(true);
    let _ = tape.var_vec(&[1.0, f64::NAN]);
    assert_eq!(non_finite(&tape).map(|e| e.0), Some("var_vec"));
}

/// A user block through `push_block`: a non-finite output is named after the block, and
/// a pullback that leaves a non-finite adjoint makes the sweep fail naming the block.
#[test]
fn check_mode_covers_user_blocks_and_pullbacks() {
    use mechml_engine::ad::{BlockOp, InputAdjoints};
    /// y = 1 / x element-wise, with the derivative −1/x².
    struct Recip(Vec<f64>);
    impl BlockOp for Recip {
        fn name(&self) -> &'static str {
            "user_recip"
        }
        fn pullback(&self, g: &[f64], inputs: &mut InputAdjoints<'_, f64>) -> Result<()> {
            if let Some(mut a) = inputs.arg(0) {
                for ((a, g), x) in a.iter_mut().zip(g).zip(&self.0) {
                    *a -= g / (x * x);
                }
            }
            Ok(())
        }
    }
    fn recip<'t>(t: &'t Tape, x: &VarVec<'t>) -> Result<VarVec<'t>> {
        let vals: Vec<f64> = x.values().iter().map(|v| 1.0 / v).collect();
        let start = t.push_block(Recip(x.values().to_vec()), &[x.arg()], vals.len())?;
        Ok(VarVec::from_block(t, start, vals))
    }
    let tape = Tape::new();
    tape.set_check_finite(true);
    let y = recip(&tape, &tape.var_vec(&[2.0, 0.0])).unwrap();
    assert_eq!(non_finite(&tape).map(|e| e.0), Some("user_recip"));
    let _ = y;

    // Finite outputs, but the pullback divides by 1e-200²: the sweep names the block.
    let tape = Tape::new();
    tape.set_check_finite(true);
    let x = tape.var_vec(&[2.0, 1e-200]);
    let y = recip(&tape, &x).unwrap();
    let s = tape
        .sum(&tape.mul(&y, &VarVec::constant(vec![1.0, 1e-190])).unwrap())
        .unwrap();
    assert!(tape.check().is_ok());
    match tape.gradient(&s) {
        Err(mechml_engine::Error::NonFinite { op, context, .. }) => {
            assert_eq!(op, "user_recip");
            assert!(context.contains("pullback"), "{context}");
        }
        other => panic!("expected NonFinite from the pullback, got {other:?}"),
    }
    // The built-in map: sqrt at 0 has a finite value and an infinite derivative.
    let tape = Tape::new();
    tape.set_check_finite(true);
    let x = tape.var_vec(&[0.0, 4.0]);
    let s = tape.sum(&tape.map(&x, |d| d.sqrt()).unwrap()).unwrap();
    assert!(matches!(
        tape.gradient(&s),
        Err(mechml_engine::Error::NonFinite { op: "map", .. })
    ));
}

/// Wrapping block outputs of the wrong length is an error, not a panic.
#[test]
fn from_block_checks_its_length() {
    let tape = Tape::new();
    let x = tape.var_vec(&[1.0, 2.0]);
    // `sum` has one output; wrap three values as if it had.
    let start = tape.push_block(SumLike, &[x.arg()], 1).unwrap();
    let v = VarVec::from_block(&tape, start, vec![1.0, 2.0, 3.0]);
    assert!(v.is_constant());
    assert!(matches!(
        tape.check(),
        Err(mechml_engine::Error::ShapeMismatch { op: "sum_like", .. })
    ));
    // A slot that is not the start of a block.
    let tape = Tape::new();
    let x = tape.var_vec(&[1.0, 2.0]);
    let v = VarVec::from_block(&tape, Some(x.start_slot() + 1), vec![1.0]);
    assert!(v.is_constant());
    assert!(matches!(
        tape.check(),
        Err(mechml_engine::Error::InvalidOption { op: "from_block", ref name, .. }) if name == "start"
    ));
    // A matrix whose values do not fill its shape.
    let tape = Tape::new();
    let x = tape.var_vec(&[1.0, 2.0]);
    let start = tape.push_block(SumLike, &[x.arg()], 4).unwrap();
    let m = VarMat::from_block(&tape, start, 2, 2, vec![1.0, 2.0, 3.0]);
    assert!(m.is_constant() && m.values().len() == 4 && m.as_faer()[(1, 1)].is_nan());
    assert!(matches!(
        tape.check(),
        Err(mechml_engine::Error::ShapeMismatch { .. })
    ));
    let huge = VarMat::from_block(&tape, start, usize::MAX, 2, vec![1.0]);
    assert_eq!(huge.shape(), (1, 1));
}

struct SumLike;
impl mechml_engine::ad::BlockOp for SumLike {
    fn name(&self) -> &'static str {
        "sum_like"
    }
    fn pullback(&self, _: &[f64], _: &mut mechml_engine::ad::InputAdjoints<'_, f64>) -> Result<()> {
        Ok(())
    }
}

/// `Adjoints` know the tape and recording they come from.
#[test]
fn adjoints_detect_variables_of_other_tapes() {
    let mut t1 = Tape::new();
    let t2 = Tape::new();
    let y2 = t2.var(5.0);
    let g = {
        let x = t1.var(3.0);
        let y = x * x;
        let g = t1.gradient(&y).unwrap();
        assert!(g.is_from(&t1) && !g.is_from(&t2));
        assert_eq!(g.try_wrt(&x).unwrap(), 6.0);
        assert_eq!(g.try_wrt(&Var::constant(1.0)).unwrap(), 0.0);
        assert!(matches!(
            g.try_wrt(&y2),
            Err(mechml_engine::Error::MixedTapes { .. })
        ));
        g
    };
    // After a clear, the old adjoints belong to no live recording.
    t1.clear();
    assert!(!g.is_from(&t1));
    let x = t1.var(3.0);
    assert!(matches!(
        g.try_wrt(&x),
        Err(mechml_engine::Error::MixedTapes { .. })
    ));
}

/// Shapes whose entry count overflows are errors, not arithmetic panics.
#[test]
fn overflowing_shapes_are_errors() {
    let tape = Tape::new();
    assert!(tape.var_mat(usize::MAX, 2, &[1.0]).is_err());
    assert!(VarMat::<f64>::constant(usize::MAX, 3, vec![]).is_err());
    assert!(tape.var_vec(&[1.0]).reshape(usize::MAX, 2).is_err());
    assert!(tape.stack_mat(2, usize::MAX, &[tape.var(1.0)]).is_err());
}

/// The dense blocks run with the tape's parallelism (`Tape::set_par`): a parallel tape
/// gives the same values and gradients as a sequential one, to rounding.
#[test]
fn parallel_tape_matches_sequential() {
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::TestRunner;
    let n = 160;
    let mut runner = TestRunner::deterministic();
    let a = spd_matrix(n).new_tree(&mut runner).unwrap().current();
    let b = matrix(n, 5).new_tree(&mut runner).unwrap().current();
    let run = |par: faer::Par| -> (f64, Vec<f64>) {
        let tape = Tape::new();
        tape.set_par(par);
        let am = tape.var_mat(n, n, &col_major(&a)).unwrap();
        let bm = tape.var_mat(n, 5, &col_major(&b)).unwrap();
        let l = tape.cholesky(&am).unwrap();
        let x = tape.solve_lower(&l, &bm).unwrap();
        let y = tape
            .spd_solve(&am, &tape.matmul(&am, &bm).unwrap())
            .unwrap();
        let s = tape.sum_sq(&x.flatten()).unwrap()
            + tape.sum_mat(&y).unwrap()
            + tape.logdet_spd(&am).unwrap();
        let g = tape.gradient(&s).unwrap();
        (
            s.val(),
            g.wrt_mat(&am).into_iter().chain(g.wrt_mat(&bm)).collect(),
        )
    };
    let (v1, g1) = run(faer::Par::Seq);
    let (v2, g2) = run(faer::Par::rayon(2));
    assert!((v1 - v2).abs() <= 1e-11 * v1.abs());
    let scale = g1.iter().fold(0.0f64, |m, g| m.max(g.abs()));
    for (k, (a, b)) in g1.iter().zip(&g2).enumerate() {
        assert!((a - b).abs() <= 1e-11 * scale, "entry {k}: {a} vs {b}");
    }
}
