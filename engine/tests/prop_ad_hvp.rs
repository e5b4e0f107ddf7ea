//! Exact Hessian–vector products through block operations (`api::hvp_tape` on a tape of
//! dual numbers): the Cholesky, triangular-solve, log-determinant and Gaussian
//! log-density blocks against (a) the same functions written with scalar operations
//! (Cholesky–Banachiewicz, substitution) through `api::hvp`, which shares no code with the
//! blocks' second-order pullbacks, and (b) central differences of the `f64` blocks'
//! gradient along `v`.

use mechml_engine::ad::api::{ScalarFn, grad, hvp, hvp_tape};
use mechml_engine::ad::ops::{Side, Uplo};
use mechml_engine::ad::{Dual, Real, Tape, Var};
use mechml_engine::testing::{col_major, lower_triangular, matrix, spd_matrix, vec_in};
use proptest::prelude::*;

const N: usize = 3;
const K: usize = 2;

// ---- scalar references, generic over Real ----

fn sym<R: Real>(a: &[R], n: usize) -> Vec<R> {
    (0..n * n)
        .map(|k| {
            let (i, j) = (k % n, k / n);
            (a[i + j * n] + a[j + i * n]) * 0.5
        })
        .collect()
}

fn scalar_cholesky<R: Real>(a: &[R], n: usize) -> Vec<R> {
    let mut l = vec![R::zero(); n * n];
    for j in 0..n {
        let mut d = a[j + j * n];
        for k in 0..j {
            d -= l[j + k * n].square();
        }
        let ljj = d.sqrt();
        l[j + j * n] = ljj;
        for i in j + 1..n {
            let mut s = a[i + j * n];
            for k in 0..j {
                s -= l[i + k * n] * l[j + k * n];
            }
            l[i + j * n] = s / ljj;
        }
    }
    l
}

/// `t[i, j]` of the triangle `uplo` (zero outside), column-major n × n.
fn tri_at<R: Real>(t: &[R], n: usize, uplo: Uplo, i: usize, j: usize) -> R {
    let inside = match uplo {
        Uplo::Lower => i >= j,
        Uplo::Upper => i <= j,
    };
    if inside { t[i + j * n] } else { R::zero() }
}

/// Solves `T x = b` for one column by substitution.
fn substitute<R: Real>(t: &[R], n: usize, uplo: Uplo, transpose: bool, b: &[R]) -> Vec<R> {
    let at = |i: usize, j: usize| {
        if transpose {
            tri_at(t, n, uplo, j, i)
        } else {
            tri_at(t, n, uplo, i, j)
        }
    };
    // op(T) is lower triangular for (Lower, no transpose) and (Upper, transpose).
    let forward = matches!(
        (uplo, transpose),
        (Uplo::Lower, false) | (Uplo::Upper, true)
    );
    let mut x = vec![R::zero(); n];
    let order: Vec<usize> = if forward {
        (0..n).collect()
    } else {
        (0..n).rev().collect()
    };
    for &i in &order {
        let mut s = b[i];
        let done = if forward { 0..i } else { i + 1..n };
        for j in done {
            s -= at(i, j) * x[j];
        }
        x[i] = s / at(i, i);
    }
    x
}

/// `T X = B` (left, B n × k) or `X T = B` (right, B k × n), column-major.
fn scalar_tri_solve<R: Real>(t: &[R], b: &[R], uplo: Uplo, side: Side) -> Vec<R> {
    match side {
        Side::Left => (0..K)
            .flat_map(|c| substitute(t, N, uplo, false, &b[c * N..(c + 1) * N]))
            .collect(),
        Side::Right => {
            // Row r of X solves Tᵀ xᵣᵀ = bᵣᵀ.
            let mut x = vec![R::zero(); K * N];
            for r in 0..K {
                let row: Vec<R> = (0..N).map(|j| b[r + j * K]).collect();
                let xr = substitute(t, N, uplo, true, &row);
                for j in 0..N {
                    x[r + j * K] = xr[j];
                }
            }
            x
        }
    }
}

fn scalar_logdet<R: Real>(a: &[R]) -> R {
    let l = scalar_cholesky(&sym(a, N), N);
    let mut s = R::zero();
    for i in 0..N {
        s += l[i + i * N].ln();
    }
    s * 2.0
}

fn scalar_mvn<R: Real>(k: &[R], y: &[R]) -> R {
    let l = scalar_cholesky(&sym(k, N), N);
    let z = substitute(&l, N, Uplo::Lower, false, y);
    let mut q = R::zero();
    let mut ld = R::zero();
    for i in 0..N {
        q += z[i].square();
        ld += l[i + i * N].ln();
    }
    -(q * 0.5) - ld - 0.5 * N as f64 * (2.0 * std::f64::consts::PI).ln()
}

/// Σ wᵢ oᵢ.
fn weighted<R: Real>(outs: &[R], w: &[f64]) -> R {
    let mut s = R::zero();
    for (o, wi) in outs.iter().zip(w) {
        s += *o * *wi;
    }
    s
}

/// A nonlinear outer function, so the blocks' output adjoints have tangents too.
fn outer<R: Real>(s: R) -> R {
    s.square() * 0.5 + s.sin()
}

/// The test functions, by case.
#[derive(Clone, Copy, Debug)]
enum Case {
    Cholesky,
    Tri(Uplo, Side),
    Logdet,
    Mvn,
}

struct Scalar {
    case: Case,
    w: Vec<f64>,
}

impl ScalarFn for Scalar {
    fn eval<R: Real>(&self, x: &[R]) -> R {
        let nn = N * N;
        outer(match self.case {
            Case::Cholesky => weighted(&scalar_cholesky(&sym(&x[..nn], N), N), &self.w),
            Case::Tri(uplo, side) => {
                weighted(&scalar_tri_solve(&x[..nn], &x[nn..], uplo, side), &self.w)
            }
            Case::Logdet => scalar_logdet(&x[..nn]),
            Case::Mvn => scalar_mvn(&x[..nn], &x[nn..nn + N]),
        })
    }
}

/// The same function through the blocks; the body compiles for `Tape<f64>` and
/// `Tape<Dual>` alike (the blocks have the same names on both).
macro_rules! block_fn {
    ($case:expr, $w:expr) => {
        |t, xs| {
            let nn = N * N;
            let s = match $case {
                Case::Cholesky => {
                    let l = t.cholesky(&t.stack_mat(N, N, &xs[..nn])?)?;
                    weighted(&l.flatten().vars(), $w)
                }
                Case::Tri(uplo, side) => {
                    let (r, c) = match side {
                        Side::Left => (N, K),
                        Side::Right => (K, N),
                    };
                    let tm = t.stack_mat(N, N, &xs[..nn])?;
                    let b = t.stack_mat(r, c, &xs[nn..nn + N * K])?;
                    weighted(
                        &t.solve_triangular(&tm, &b, uplo, side)?.flatten().vars(),
                        $w,
                    )
                }
                Case::Logdet => t.logdet_spd(&t.stack_mat(N, N, &xs[..nn])?)?,
                Case::Mvn => {
                    let k = t.stack_mat(N, N, &xs[..nn])?;
                    t.mvn_logpdf(&t.stack(&xs[nn..nn + N])?, &k)?
                }
            };
            Ok(outer(s))
        }
    };
}

fn check_case(case: Case, x: &[f64], v: &[f64], w: &[f64]) -> Result<(), TestCaseError> {
    let fail = |e: mechml_engine::Error| TestCaseError::fail(format!("{case:?}: {e}"));
    let mut dual_tape: Tape<Dual> = Tape::with_capacity_generic(256);
    let (f, g, hv) = hvp_tape(&mut dual_tape, x, v, block_fn!(case, w)).map_err(fail)?;
    // (a) The scalar composition, forward-over-reverse without blocks.
    let (fs, gs, hs) = hvp(
        &Scalar {
            case,
            w: w.to_vec(),
        },
        x,
        v,
    )
    .map_err(fail)?;
    prop_assert!(
        (f - fs).abs() <= 1e-12 * (1.0 + fs.abs()),
        "{case:?}: value {f} vs {fs}"
    );
    for i in 0..x.len() {
        prop_assert!(
            (g[i] - gs[i]).abs() <= 1e-10 * (1.0 + gs[i].abs()),
            "{case:?}: gradient {i}: {} vs {}",
            g[i],
            gs[i]
        );
        prop_assert!(
            (hv[i] - hs[i]).abs() <= 1e-9 * (1.0 + hs[i].abs()),
            "{case:?}: (H v)[{i}]: blocks {} vs scalar {}",
            hv[i],
            hs[i]
        );
    }
    // (b) Central differences of the f64 blocks' gradient along v.
    let h = 1e-5;
    let mut tape = Tape::new();
    let mut shifted = |s: f64| -> Result<Vec<f64>, TestCaseError> {
        let xs: Vec<f64> = x.iter().zip(v).map(|(a, b)| a + s * b).collect();
        Ok(grad(&mut tape, &xs, block_fn!(case, w)).map_err(fail)?.1)
    };
    let (gp, gm) = (shifted(h)?, shifted(-h)?);
    for i in 0..x.len() {
        let fd = (gp[i] - gm[i]) / (2.0 * h);
        prop_assert!(
            (fd - hv[i]).abs() <= 1e-6 * (1.0 + fd.abs()),
            "{case:?}: (H v)[{i}] = {} vs finite difference {fd}",
            hv[i]
        );
    }
    Ok(())
}

/// Column-major transpose of an n × n matrix.
fn transposed(a: &[f64], n: usize) -> Vec<f64> {
    (0..n * n).map(|k| a[(k / n) + (k % n) * n]).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn hvp_through_spd_blocks(a in spd_matrix(N), y in vec_in(N, -1.0, 1.0), v in vec_in(N * N + N, -1.0, 1.0), w in vec_in(N * N, -1.0, 1.0)) {
        let x: Vec<f64> = col_major(&a).into_iter().chain(y).collect();
        check_case(Case::Cholesky, &x[..N * N], &v[..N * N], &w)?;
        check_case(Case::Logdet, &x[..N * N], &v[..N * N], &w)?;
        check_case(Case::Mvn, &x, &v, &w)?;
    }

    #[test]
    fn hvp_through_triangular_solves(l in lower_triangular(N), b in matrix(N, K), v in vec_in(N * N + N * K, -1.0, 1.0), w in vec_in(N * K, -1.0, 1.0)) {
        let lv = col_major(&l);
        for (uplo, side) in [(Uplo::Lower, Side::Left), (Uplo::Upper, Side::Left), (Uplo::Lower, Side::Right), (Uplo::Upper, Side::Right)] {
            let t = match uplo { Uplo::Lower => lv.clone(), Uplo::Upper => transposed(&lv, N) };
            let x: Vec<f64> = t.into_iter().chain(col_major(&b)).collect();
            check_case(Case::Tri(uplo, side), &x, &v, &w)?;
        }
    }
}

/// A dual tape refuses non-finite tangents and indefinite matrices with errors.
#[test]
fn dual_blocks_report_errors() {
    let tape: Tape<Dual> = Tape::with_capacity_generic(16);
    let a = tape
        .var_mat(
            2,
            2,
            &[
                Dual::dual(1.0, f64::NAN),
                Dual::constant(0.0),
                Dual::constant(0.0),
                Dual::constant(1.0),
            ],
        )
        .unwrap();
    assert!(matches!(
        tape.cholesky(&a),
        Err(mechml_engine::Error::NonFinite { .. })
    ));
    let b = tape
        .var_mat(
            2,
            2,
            &[
                Dual::constant(1.0),
                Dual::constant(2.0),
                Dual::constant(2.0),
                Dual::constant(1.0),
            ],
        )
        .unwrap();
    assert!(matches!(
        tape.logdet_spd(&b),
        Err(mechml_engine::Error::NotPositiveDefinite { pivot: 1, .. })
    ));
    let y = tape.var_vec(&[Dual::constant(1.0)]);
    assert!(matches!(
        tape.mvn_logpdf(&y, &b),
        Err(mechml_engine::Error::ShapeMismatch { .. })
    ));
    let _ = Var::constant(Dual::constant(0.0));
}
