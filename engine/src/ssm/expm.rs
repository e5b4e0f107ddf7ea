//! The matrix exponential by scaling and squaring with Padé approximants
//! (Higham 2005, "The scaling and squaring method for the matrix exponential revisited",
//! SIAM J. Matrix Anal. Appl. 26(4), 1179–1193, Algorithm 2.3).
//!
//! For ‖A‖₁ ≤ θ_m the diagonal Padé approximant r_m(A) = q_m(A)⁻¹ p_m(A) of degree
//! m ∈ {3, 5, 7, 9} is accurate to unit roundoff; otherwise A is scaled by 2⁻ˢ so that
//! ‖2⁻ˢA‖₁ ≤ θ₁₃ and e^A = r₁₃(2⁻ˢA)^{2ˢ}.
//!
//! The routine is generic over [`Real`], so it is differentiable: on dual numbers it gives
//! the Fréchet derivative L(A, E) of the approximant (which approximates that of e^A to the
//! same relative accuracy, Al-Mohy & Higham 2009, SIAM J. Matrix Anal. Appl. 30(4)), and
//! on a tape it records the same operations for reverse mode. The degree m and the scaling
//! s depend on the values only and are constants for the derivative.
//!
//! ```
//! use mechml_engine::ssm::expm::expm;
//! // e^{[[0, t], [-t, 0]]} is the rotation by t.
//! let t = 0.7_f64;
//! let e = expm(&[0.0, -t, t, 0.0], 2)?;
//! assert!((e[0] - t.cos()).abs() < 1e-15 && (e[2] - t.sin()).abs() < 1e-15);
//! # Ok::<(), mechml_engine::Error>(())
//! ```

use crate::ad::Real;
use crate::error::{Error, Result};

use super::dense::{lu_solve_in_place, matmul, norm1};

/// θ_m of Higham (2005), Table 2.3: the largest ‖A‖₁ for which r_m(A) is accurate.
const THETA: [(usize, f64); 5] = [
    (3, 1.495_585_217_958_292e-2),
    (5, 2.539_398_330_063_23e-1),
    (7, 9.504_178_996_162_932e-1),
    (9, 2.097_847_961_257_068e0),
    (13, 5.371_920_351_148_152e0),
];

/// Bound on the number of squarings (‖A‖₁ up to θ₁₃·2⁶⁰).
const MAX_SQUARINGS: u32 = 60;

/// Coefficients b₀ … b_m of the degree-m diagonal Padé approximant of eˣ (Higham 2005,
/// eq. (2.2)): p_m(x) = Σ b_j x^j, q_m(x) = p_m(−x), with
/// b_j ∝ (2m − j)! m! / ((2m)! j! (m − j)!) scaled so that b_m = 1 (checked by a test).
fn pade_coefficients(m: usize) -> &'static [f64] {
    match m {
        3 => &[120.0, 60.0, 12.0, 1.0],
        5 => &[30240.0, 15120.0, 3360.0, 420.0, 30.0, 1.0],
        7 => &[
            17_297_280.0,
            8_648_640.0,
            1_995_840.0,
            277_200.0,
            25_200.0,
            1_512.0,
            56.0,
            1.0,
        ],
        9 => &[
            17_643_225_600.0,
            8_821_612_800.0,
            2_075_673_600.0,
            302_702_400.0,
            30_270_240.0,
            2_162_160.0,
            110_880.0,
            3_960.0,
            90.0,
            1.0,
        ],
        _ => &[
            64_764_752_532_480_000.0,
            32_382_376_266_240_000.0,
            7_771_770_303_897_600.0,
            1_187_353_796_428_800.0,
            129_060_195_264_000.0,
            10_559_470_521_600.0,
            670_442_572_800.0,
            33_522_128_640.0,
            1_323_241_920.0,
            40_840_800.0,
            960_960.0,
            16_380.0,
            182.0,
            1.0,
        ],
    }
}

/// What [`expm_with_info`] chose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExpmInfo {
    /// Degree of the Padé approximant (3, 5, 7, 9 or 13).
    pub degree: usize,
    /// Number of squarings s (A was scaled by 2⁻ˢ).
    pub squarings: u32,
}

/// e^A for an `n x n` matrix `a` (column-major).
///
/// Errors: a wrong length, non-finite entries, or a norm so large that e^A overflows.
pub fn expm<R: Real>(a: &[R], n: usize) -> Result<Vec<R>> {
    expm_with_info(a, n).map(|(e, _)| e)
}

/// e^A and the degree and scaling used.
pub fn expm_with_info<R: Real>(a: &[R], n: usize) -> Result<(Vec<R>, ExpmInfo)> {
    if a.len() != n * n {
        return Err(Error::ShapeMismatch {
            op: "expm",
            arg: "a",
            expected: format!("{n}x{n}"),
            found: format!("len {}", a.len()),
        });
    }
    if let Some(i) = a.iter().position(|x| !x.value().is_finite()) {
        return Err(Error::NonFinite {
            op: "expm",
            index: i,
            value: a[i].value(),
            context: "matrix entry (column-major index)".into(),
        });
    }
    if n == 0 {
        return Ok((
            Vec::new(),
            ExpmInfo {
                degree: 3,
                squarings: 0,
            },
        ));
    }
    let norm = norm1(a, n);
    for &(m, theta) in &THETA[..4] {
        if norm <= theta {
            let e = pade(a, n, m)?;
            return Ok((
                e,
                ExpmInfo {
                    degree: m,
                    squarings: 0,
                },
            ));
        }
    }
    let theta13 = THETA[4].1;
    let s = if norm > theta13 {
        (norm / theta13).log2().ceil().max(0.0) as u32
    } else {
        0
    };
    if s > MAX_SQUARINGS {
        return Err(Error::invalid_option(
            "expm",
            "‖A‖₁",
            format!("{norm:e} ({s} squarings)"),
            format!(
                "at most θ₁₃ · 2^{MAX_SQUARINGS} = {:e}: rescale time or check the rates",
                theta13 * 2f64.powi(MAX_SQUARINGS as i32)
            ),
        ));
    }
    let scale = 0.5_f64.powi(s as i32);
    let scaled: Vec<R> = a.iter().map(|&x| x * scale).collect();
    let mut e = pade(&scaled, n, 13)?;
    for _ in 0..s {
        e = matmul(&e, &e, n, n, n);
    }
    if let Some(i) = e.iter().position(|x| !x.value().is_finite()) {
        return Err(Error::NonFinite {
            op: "expm",
            index: i,
            value: e[i].value(),
            context: format!("e^A overflowed (‖A‖₁ = {norm:e}); rescale time or check the rates"),
        });
    }
    Ok((
        e,
        ExpmInfo {
            degree: 13,
            squarings: s,
        },
    ))
}

/// r_m(A) = (V − U)⁻¹ (V + U) with U the odd and V the even part of p_m(A)
/// (Higham 2005, eqs. (2.3)–(2.4), with the degree-13 split of eq. (2.5)).
fn pade<R: Real>(a: &[R], n: usize, m: usize) -> Result<Vec<R>> {
    let b = pade_coefficients(m);
    let nn = n * n;
    let a2 = matmul(a, a, n, n, n);
    let mut u_inner = vec![R::zero(); nn];
    let mut v = vec![R::zero(); nn];
    let add_identity = |x: &mut [R], c: f64| {
        for i in 0..n {
            x[i + i * n] += c;
        }
    };
    if m == 13 {
        let a4 = matmul(&a2, &a2, n, n, n);
        let a6 = matmul(&a4, &a2, n, n, n);
        // U = A [A6 (b13 A6 + b11 A4 + b9 A2) + b7 A6 + b5 A4 + b3 A2 + b1 I]
        let mut w1 = vec![R::zero(); nn];
        let mut z1 = vec![R::zero(); nn];
        for i in 0..nn {
            w1[i] = a6[i] * b[13] + a4[i] * b[11] + a2[i] * b[9];
            z1[i] = a6[i] * b[12] + a4[i] * b[10] + a2[i] * b[8];
        }
        let w1 = matmul(&a6, &w1, n, n, n);
        let z1 = matmul(&a6, &z1, n, n, n);
        for i in 0..nn {
            u_inner[i] = w1[i] + a6[i] * b[7] + a4[i] * b[5] + a2[i] * b[3];
            v[i] = z1[i] + a6[i] * b[6] + a4[i] * b[4] + a2[i] * b[2];
        }
        add_identity(&mut u_inner, b[1]);
        add_identity(&mut v, b[0]);
    } else {
        // Powers A^0, A^2, A^4, … up to A^{m-1}.
        let mut pow = crate::ssm::dense::identity::<R>(n);
        for j in 0..=(m / 2) {
            for i in 0..nn {
                u_inner[i] += pow[i] * b[2 * j + 1];
                v[i] += pow[i] * b[2 * j];
            }
            if j < m / 2 {
                pow = matmul(&pow, &a2, n, n, n);
            }
        }
    }
    let u = matmul(a, &u_inner, n, n, n);
    let mut lhs = vec![R::zero(); nn];
    let mut rhs = vec![R::zero(); nn];
    for i in 0..nn {
        lhs[i] = v[i] - u[i];
        rhs[i] = v[i] + u[i];
    }
    lu_solve_in_place(&lhs, n, &mut rhs, n, "expm (Padé denominator)")?;
    Ok(rhs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagonal_and_nilpotent_closed_forms() {
        // Diagonal: e^diag(d) = diag(e^d), over every degree/scaling branch.
        for scale in [1e-3, 0.1, 0.5, 1.5, 4.0, 30.0] {
            let d = [-scale, 0.3 * scale];
            let a = [d[0], 0.0, 0.0, d[1]];
            let (e, _) = expm_with_info(&a, 2).unwrap();
            assert!((e[0] - d[0].exp()).abs() <= 1e-14 * d[0].exp().max(1.0));
            assert!((e[3] - d[1].exp()).abs() <= 1e-14 * d[1].exp().max(1.0));
            assert!(e[1].abs() < 1e-300 && e[2].abs() < 1e-300);
        }
        // Nilpotent Jordan block: e^{[[0, x], [0, 0]]} = [[1, x], [0, 1]].
        let e = expm(&[0.0, 0.0, 7.0, 0.0], 2).unwrap();
        assert_eq!(e, vec![1.0, 0.0, 7.0, 1.0]);
    }

    #[test]
    fn pade_coefficients_follow_the_closed_form() {
        // b_j / b_m = (2m − j)! m! / ((2m)! j! (m − j)!) / [m! m! / ((2m)! m! 0!)]
        //           = (2m − j)! m! / (j! (m − j)! m!)  ⇒  b_j = (2m − j)! / (j! (m − j)!) · m!/m!…
        // Checked as exact ratios b_j / b_{j+1} = (j + 1)(2m − j) / (m − j).
        for m in [3, 5, 7, 9, 13] {
            let b = pade_coefficients(m);
            assert_eq!(b.len(), m + 1);
            assert_eq!(b[m], 1.0);
            for j in 0..m {
                let ratio = ((j + 1) * (2 * m - j)) as f64 / (m - j) as f64;
                assert!(
                    (b[j] / b[j + 1] - ratio).abs() < 1e-12 * ratio,
                    "m={m} j={j}"
                );
            }
        }
    }

    #[test]
    fn all_degrees_are_used() {
        let mut seen = Vec::new();
        for s in [1e-3, 0.2, 0.9, 2.0, 5.0, 50.0] {
            let a = [-s, 0.0, s * 0.5, -s * 0.3];
            let (_, info) = expm_with_info(&a, 2).unwrap();
            seen.push(info.degree);
        }
        for d in [3, 5, 7, 9, 13] {
            assert!(seen.contains(&d), "degree {d} not exercised: {seen:?}");
        }
    }

    #[test]
    fn rejects_bad_input() {
        assert!(expm(&[1.0, 2.0, 3.0], 2).is_err());
        assert!(expm(&[f64::NAN, 0.0, 0.0, 0.0], 2).is_err());
        assert!(expm(&[1e6, 0.0, 0.0, 0.0], 2).is_err());
        // Large but stable: fine (18 squarings amplify rounding ~2¹⁸-fold: the known
        // overscaling of scaling and squaring, Al-Mohy & Higham 2009).
        let e = expm(&[-1e6, 0.0, 0.0, -1.0], 2).unwrap();
        assert!(e[0].abs() < 1e-300 && (e[3] - (-1f64).exp()).abs() < 1e-9);
    }
}
