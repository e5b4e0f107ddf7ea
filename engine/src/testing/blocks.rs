//! Block operations fed from bytes, for fuzzing (cargo-fuzz target
//! `fuzz/fuzz_targets/block_ops.rs`) and for the property test that runs the same code in
//! CI (`engine/tests/fuzz_blocks.rs`).
//!
//! Two parts:
//! * arbitrary shapes and values (NaN, infinities, indefinite or singular matrices) into
//!   every block operation: each returns `Ok` or `Err`, never panics;
//! * smooth, well-conditioned inputs built from the same bytes — an SPD matrix
//!   `A = B Bᵀ / n + I / 2`, a lower-triangular `L` with diagonal in [1, 2] — where the
//!   reverse-mode gradients of the Cholesky factor, the four triangular solves, the
//!   log-determinant and the Gaussian log-density must agree with finite differences.
//!   Each gradient is checked along a direction from the bytes whose every component has
//!   magnitude in [1/2, 1] (so an error in any one component shows), against the finite
//!   difference along it within that difference's own error estimate
//!   ([`check_tape_directional_estimated`]): one difference per block instead of one per
//!   input keeps an execution cheap enough for 10⁷ of them.

use crate::Result;
use crate::ad::gradcheck::{EstimatedCheckOptions, check_tape_directional_estimated};
use crate::ad::ops::{Side, Uplo};
use crate::ad::{Real, Tape, Var, VarMat, VarVec};

/// Values from pairs of bytes: `[0xff, 0]` is NaN, `[0xff, 1]` is +∞, others lie in
/// about [-8, 8].
fn raw_values(data: &[u8]) -> Vec<f64> {
    data.chunks(2)
        .map(|b| match b {
            [0xff, 0] => f64::NAN,
            [0xff, 1] => f64::INFINITY,
            [x, y] => (*x as f64 - 128.0) / 16.0 + *y as f64 / 4096.0,
            [x] => *x as f64,
            _ => 0.0,
        })
        .collect()
}

/// Arbitrary shapes and values into every block: `Ok` or `Err`, never a panic.
fn never_panics(data: &[u8]) {
    if data.len() < 3 {
        return;
    }
    let (r, c) = (1 + data[0] as usize % 5, 1 + data[1] as usize % 5);
    let vals = raw_values(&data[3..]);
    let take = |n: usize, off: usize| -> Vec<f64> {
        (0..n)
            .map(|k| vals.get(off + k).copied().unwrap_or(1.0))
            .collect()
    };
    let tape = Tape::new();
    tape.set_check_finite(data[2] & 1 == 1);
    let Ok(a) = tape.var_mat(r, c, &take(r * c, 0)) else {
        return;
    };
    let Ok(b) = tape.var_mat(c, r, &take(r * c, r * c)) else {
        return;
    };
    let Ok(sq) = tape.var_mat(r, r, &take(r * r, 7)) else {
        return;
    };
    let v = tape.var_vec(&take(r, 3));
    let _ = tape.matmul(&a, &b).and_then(|m| tape.sum_mat(&m));
    let _ = tape.matmul(&a, &a);
    let _ = tape.cholesky(&sq);
    let _ = tape.cholesky(&a);
    let _ = tape.spd_solve(&sq, &a);
    let _ = tape.inv_quad(&sq, &v);
    let _ = tape.logdet_spd(&sq);
    let _ = tape.mvn_logpdf(&v, &sq);
    let _ = tape.log_abs_det(&sq);
    let _ = tape.solve_triangular(&sq, &a, Uplo::Lower, Side::Left);
    let _ = tape.solve_triangular(&sq, &b, Uplo::Upper, Side::Right);
    let _ = tape.quad_form(&v, &sq);
    let _ = tape.map(&v, |x| x.ln());
    let _ = tape
        .dot(&v, &v)
        .map(|d| tape.gradient(&d).map(|g| g.wrt_vec(&v)));
    let mut outs = Vec::new();
    if let Ok(l) = tape.cholesky(&sq) {
        outs.push(tape.sum_mat(&l));
    }
    if let Ok(x) = tape.solve_triangular(&sq, &a, Uplo::Upper, Side::Left) {
        outs.push(tape.sum_mat(&x));
    }
    outs.push(tape.sum(&v));
    for s in outs.into_iter().flatten() {
        let _ = tape.gradient(&s);
    }
}

/// Smooth inputs decoded from bytes.
struct Smooth {
    n: usize,
    k: usize,
    /// Column-major SPD `A` (n × n).
    a: Vec<f64>,
    /// Column-major lower-triangular `L` (n × n, zeros above the diagonal).
    l: Vec<f64>,
    /// Right-hand sides: n × k (left solves), reused as k × n (right solves).
    rhs: Vec<f64>,
    /// A vector of length n.
    y: Vec<f64>,
    /// Weights for the outputs.
    w: Vec<f64>,
    /// The direction of the derivative checks (components of magnitude in [1/2, 1]), as
    /// long as the largest input.
    dir: Vec<f64>,
}

impl Smooth {
    /// Dimension 1–4 and 1–3 right-hand sides from the first two bytes; the rest (cycled,
    /// mixed with the position so short inputs still vary) as numbers in [-1, 1].
    fn decode(data: &[u8]) -> Option<Self> {
        let (&d0, rest) = data.split_first()?;
        let (&d1, rest) = rest.split_first()?;
        let (n, k) = (1 + d0 as usize % 4, 1 + d1 as usize % 3);
        let mut idx = 0usize;
        let mut next = || {
            let byte = if rest.is_empty() {
                0
            } else {
                rest[idx % rest.len()]
            };
            let v = (byte as f64 / 127.5 - 1.0) * 0.9 + 0.1 * ((idx as f64) * 0.7).sin();
            idx += 1;
            v
        };
        let b: Vec<f64> = (0..n * n).map(|_| next()).collect();
        let mut a = vec![0.0; n * n];
        for j in 0..n {
            for i in 0..n {
                let s: f64 = (0..n).map(|m| b[i + m * n] * b[j + m * n]).sum();
                a[i + j * n] = s / n as f64 + if i == j { 0.5 } else { 0.0 };
            }
        }
        let mut l = vec![0.0; n * n];
        for j in 0..n {
            for i in j..n {
                let v = next();
                l[i + j * n] = if i == j { 1.5 + 0.5 * v } else { 0.5 * v };
            }
        }
        let rhs = (0..n * k).map(|_| next()).collect();
        let y = (0..n).map(|_| next()).collect();
        let w = (0..n * n.max(k)).map(|_| next()).collect();
        let dir = (0..n * n + n * k.max(1))
            .map(|_| {
                let u = next();
                u.signum() * (0.5 + 0.5 * u.abs())
            })
            .collect();
        Some(Self {
            n,
            k,
            a,
            l,
            rhs,
            y,
            w,
            dir,
        })
    }
}

/// `Σ wᵢ outᵢ` as a scalar on the tape.
fn weighted<'t>(outs: &[Var<'t>], w: &[f64]) -> Var<'t> {
    let mut s = Var::constant(0.0);
    for (o, wi) in outs.iter().zip(w) {
        s += *o * *wi;
    }
    s
}

/// The reverse-mode gradient of one operation along `dir` against the finite difference
/// along it, within the difference's own error estimate (tolerance `1e-8 + 1e-5 |g·v|`
/// plus four times the estimate).
fn agree<F>(name: &str, x: &[f64], dir: &[f64], f: F) -> std::result::Result<(), String>
where
    F: for<'t> Fn(&'t Tape, &[Var<'t>]) -> Result<Var<'t>>,
{
    let opts = EstimatedCheckOptions {
        rtol: 1e-5,
        atol: 1e-8,
        ..EstimatedCheckOptions::default()
    };
    let v = dir
        .get(..x.len())
        .ok_or_else(|| format!("{name}: direction too short"))?;
    let report =
        check_tape_directional_estimated(x, v, opts, f).map_err(|e| format!("{name}: {e}"))?;
    if report.passed {
        Ok(())
    } else {
        Err(format!("{name}: {report}"))
    }
}

/// Finite-difference agreement of the likelihood blocks on smooth inputs from `data`.
fn agrees_with_finite_differences(data: &[u8]) -> std::result::Result<(), String> {
    let Some(s) = Smooth::decode(data) else {
        return Ok(());
    };
    let (n, k) = (s.n, s.k);
    let nn = n * n;
    let w = &s.w;
    // Cholesky of A (symmetrised): inputs are A's n² entries.
    agree("cholesky", &s.a, &s.dir, |t, xs| {
        let l = t.cholesky(&t.stack_mat(n, n, xs)?)?;
        Ok(weighted(&l.flatten().vars(), w))
    })?;
    // Triangular solves with L and its transpose, either side: inputs L then B.
    let x: Vec<f64> = s.l.iter().chain(&s.rhs).copied().collect();
    for (uplo, side) in [
        (Uplo::Lower, Side::Left),
        (Uplo::Upper, Side::Left),
        (Uplo::Lower, Side::Right),
        (Uplo::Upper, Side::Right),
    ] {
        agree(
            &format!("solve_triangular {uplo:?} {side:?}"),
            &x,
            &s.dir,
            |t, xs| {
                let l = t.stack_mat(n, n, &xs[..nn])?;
                let tri = match uplo {
                    Uplo::Lower => l,
                    Uplo::Upper => t.transpose(&l)?,
                };
                let (r, c) = match side {
                    Side::Left => (n, k),
                    Side::Right => (k, n),
                };
                let b = t.stack_mat(r, c, &xs[nn..])?;
                let out = t.solve_triangular(&tri, &b, uplo, side)?;
                Ok(weighted(&out.flatten().vars(), w))
            },
        )?;
    }
    // log det A and log N(y | 0, A): inputs A then y.
    agree("logdet_spd", &s.a, &s.dir, |t, xs| {
        t.logdet_spd(&t.stack_mat(n, n, xs)?)
    })?;
    let x: Vec<f64> = s.a.iter().chain(&s.y).copied().collect();
    agree("mvn_logpdf", &x, &s.dir, |t, xs| {
        let a = t.stack_mat(n, n, &xs[..nn])?;
        let y = t.stack(&xs[nn..])?;
        t.mvn_logpdf(&y, &a)
    })?;
    // The same log-density composed from Cholesky, a triangular solve and sums must give
    // the same value (an identity, not sharing the block's pullback).
    let tape = Tape::new();
    let am = VarMat::constant(n, n, s.a.clone()).map_err(|e| e.to_string())?;
    let yv = VarVec::constant(s.y.clone());
    let direct = tape.mvn_logpdf(&yv, &am).map_err(|e| e.to_string())?.val();
    let l = tape.cholesky(&am).map_err(|e| e.to_string())?;
    let z = tape
        .solve_lower(&l, &yv.clone().reshape(n, 1).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    let half_quad = 0.5 * z.values().iter().map(|v| v * v).sum::<f64>();
    let logdet: f64 = (0..n).map(|i| l.value_at(i, i).ln()).sum::<f64>() * 2.0;
    let composed = -half_quad - 0.5 * logdet - 0.5 * n as f64 * (2.0 * std::f64::consts::PI).ln();
    if (direct - composed).abs() > 1e-10 * (1.0 + direct.abs()) {
        return Err(format!(
            "mvn_logpdf {direct} differs from its composition {composed}"
        ));
    }
    Ok(())
}

/// Runs both parts on `data`; `Err` describes a violated property. Never panics.
pub fn check_block_bytes(data: &[u8]) -> std::result::Result<(), String> {
    never_panics(data);
    agrees_with_finite_differences(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ad::{BlockOp, InputAdjoints};

    /// `yᵢ = sin(xᵢ)` as a block whose pullback is off by `1 + rel` in component `bad`
    /// (a planted bug).
    struct WrongSin {
        x: Vec<f64>,
        rel: f64,
        bad: usize,
    }

    impl BlockOp for WrongSin {
        fn name(&self) -> &'static str {
            "wrong_sin"
        }
        fn pullback(&self, g: &[f64], inputs: &mut InputAdjoints<'_, f64>) -> Result<()> {
            if let Some(mut a) = inputs.arg(0) {
                for (i, ((a, &g), &x)) in a.iter_mut().zip(g).zip(&self.x).enumerate() {
                    let err = if i == self.bad { 1.0 + self.rel } else { 1.0 };
                    *a += g * x.cos() * err;
                }
            }
            Ok(())
        }
    }

    /// `Σ wᵢ sin(xᵢ)` through [`WrongSin`], checked as the fuzz target checks blocks.
    fn wrong_sin_sum(rel: f64, bad: usize, x: &[f64]) -> std::result::Result<(), String> {
        let dir: Vec<f64> = (0..x.len()).map(|i| [0.6, -0.8, 1.0][i % 3]).collect();
        agree("wrong_sin", x, &dir, |t, xs| {
            let v = t.stack(xs)?;
            let y: Vec<f64> = v.values().iter().map(|x| x.sin()).collect();
            let op = WrongSin {
                x: v.values().to_vec(),
                rel,
                bad,
            };
            let start = t.push_block(op, &[v.arg()], y.len())?;
            let y = VarVec::from_block(t, start, y).vars();
            let w: Vec<f64> = (0..y.len()).map(|i| 1.0 - 0.3 * i as f64).collect();
            Ok(weighted(&y, &w))
        })
    }

    /// The error-estimating directional check still catches a pullback that is off by
    /// 1e-3 (relative) in one component of 16 (whichever), and passes the same block
    /// without the bug.
    #[test]
    fn a_wrong_pullback_still_fails() {
        let x: Vec<f64> = (0..16).map(|i| -1.5 + 0.2 * i as f64).collect();
        assert!(wrong_sin_sum(0.0, 0, &x).is_ok());
        for bad in 0..x.len() {
            let e = wrong_sin_sum(1e-3, bad, &x).unwrap_err();
            assert!(e.contains("FAILED"), "{e}");
        }
    }

    #[test]
    fn smooth_bytes_agree() {
        for seed in 0..20u8 {
            let data: Vec<u8> = (0..60u8)
                .map(|k| seed.wrapping_mul(31).wrapping_add(k.wrapping_mul(7)))
                .collect();
            agrees_with_finite_differences(&data).unwrap();
        }
    }
}
