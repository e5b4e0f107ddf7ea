//! Exact discretisation of a linear SDE with piecewise-constant input,
//!
//! $$ dx = (A x + B u)\\,dt + G\\,dW, $$
//!
//! over a step Δt with u held constant (zero-order hold):
//!
//! $$ x_{t+Δt} = Φ x_t + Γ u_t + w_t,\\quad w_t \\sim N(0, Q), $$
//!
//! with Φ = e^{AΔt}, Γ = ∫₀^{Δt} e^{As} ds B and Q = ∫₀^{Δt} e^{As} G Gᵀ e^{Aᵀs} ds.
//! Φ and Γ come from one exponential of the augmented matrix [[A, B], [0, 0]]Δt; Q from
//! Van Loan's block exponential (Van Loan 1978, "Computing integrals involving the matrix
//! exponential", IEEE Trans. Automat. Control 23(3), 395–404, Theorem 1):
//! e^{[[−A, W], [0, Aᵀ]]Δt} = [[·, E₁₂], [0, E₂₂]] gives Φ = E₂₂ᵀ and Q = E₂₂ᵀ E₁₂,
//! where W = G Gᵀ.
//!
//! Everything is generic over [`Real`], hence differentiable through the matrix
//! exponential ([`expm`](mod@super::expm)).
//!
//! ```
//! use mechml_engine::ssm::discretize::{ContinuousLinearSde, discretize};
//! // Ornstein–Uhlenbeck: dx = −θ x dt + σ dW  ⇒  Φ = e^{−θΔt}, Q = σ²(1 − e^{−2θΔt})/(2θ).
//! let (theta, sigma, dt) = (0.5_f64, 0.3_f64, 2.0_f64);
//! let sde = ContinuousLinearSde::new(1, 0, vec![-theta], vec![], vec![sigma * sigma])?;
//! let d = discretize(&sde, dt)?;
//! assert!((d.phi[0] - (-theta * dt).exp()).abs() < 1e-15);
//! let q = sigma * sigma * (1.0 - (-2.0 * theta * dt).exp()) / (2.0 * theta);
//! assert!((d.q[0] - q).abs() < 1e-15);
//! # Ok::<(), mechml_engine::Error>(())
//! ```

use crate::ad::Real;
use crate::error::{Error, Result};

use super::dense::{lu_solve_in_place, symmetrize_in_place};
use super::expm::expm;

/// dx = (A x + B u) dt + G dW, with the diffusion covariance W = G Gᵀ (all column-major).
#[derive(Clone, Debug, PartialEq)]
pub struct ContinuousLinearSde<R> {
    /// State dimension n.
    pub n: usize,
    /// Input dimension k (0 for none).
    pub k: usize,
    /// Drift matrix A (`n x n`).
    pub a: Vec<R>,
    /// Input matrix B (`n x k`).
    pub b: Vec<R>,
    /// Diffusion covariance W = G Gᵀ (`n x n`, symmetric positive semi-definite).
    pub w: Vec<R>,
}

impl<R: Real> ContinuousLinearSde<R> {
    /// Checks shapes and finiteness.
    pub fn new(n: usize, k: usize, a: Vec<R>, b: Vec<R>, w: Vec<R>) -> Result<Self> {
        for (arg, v, len) in [("a", &a, n * n), ("b", &b, n * k), ("w", &w, n * n)] {
            if v.len() != len {
                return Err(Error::ShapeMismatch {
                    op: "ContinuousLinearSde",
                    arg,
                    expected: format!("len {len}"),
                    found: format!("len {}", v.len()),
                });
            }
            if let Some(i) = v.iter().position(|x| !x.value().is_finite()) {
                return Err(Error::NonFinite {
                    op: "ContinuousLinearSde",
                    index: i,
                    value: v[i].value(),
                    context: format!("entry of `{arg}` (column-major)"),
                });
            }
        }
        Ok(Self { n, k, a, b, w })
    }

    /// From a noise loading G (`n x p`): W = G Gᵀ.
    pub fn with_loading(
        n: usize,
        k: usize,
        a: Vec<R>,
        b: Vec<R>,
        g: &[R],
        p: usize,
    ) -> Result<Self> {
        if g.len() != n * p {
            return Err(Error::ShapeMismatch {
                op: "ContinuousLinearSde",
                arg: "g",
                expected: format!("{n}x{p}"),
                found: format!("len {}", g.len()),
            });
        }
        let mut w = vec![R::zero(); n * n];
        super::dense::matmul_nt_into(g, g, n, p, n, &mut w);
        Self::new(n, k, a, b, w)
    }
}

/// The discrete-time model over one step: x' = Φ x + Γ u + w, w ~ N(0, Q).
#[derive(Clone, Debug, PartialEq)]
pub struct DiscreteLinear<R> {
    /// State dimension.
    pub n: usize,
    /// Input dimension.
    pub k: usize,
    /// Φ = e^{AΔt} (`n x n`).
    pub phi: Vec<R>,
    /// Γ = ∫₀^{Δt} e^{As} ds B (`n x k`).
    pub gamma: Vec<R>,
    /// Q (`n x n`, symmetric).
    pub q: Vec<R>,
}

/// Checks a time step: finite and positive.
fn check_step(op: &'static str, dt: f64) -> Result<()> {
    if dt > 0.0 && dt.is_finite() {
        Ok(())
    } else {
        Err(Error::invalid_option(op, "dt", dt, "finite and > 0"))
    }
}

/// Discretises `sde` exactly over a step `dt > 0`.
pub fn discretize<R: Real>(sde: &ContinuousLinearSde<R>, dt: f64) -> Result<DiscreteLinear<R>> {
    check_step("discretize", dt)?;
    let (n, k) = (sde.n, sde.k);
    // Φ and Γ from e^{[[A, B], [0, 0]]Δt}.
    let na = n + k;
    let mut aug = vec![R::zero(); na * na];
    for j in 0..n {
        for i in 0..n {
            aug[i + j * na] = sde.a[i + j * n] * dt;
        }
    }
    for j in 0..k {
        for i in 0..n {
            aug[i + (n + j) * na] = sde.b[i + j * n] * dt;
        }
    }
    let e = expm(&aug, na)?;
    let mut phi = vec![R::zero(); n * n];
    let mut gamma = vec![R::zero(); n * k];
    for j in 0..n {
        for i in 0..n {
            phi[i + j * n] = e[i + j * na];
        }
    }
    for j in 0..k {
        for i in 0..n {
            gamma[i + j * n] = e[i + (n + j) * na];
        }
    }
    let q = van_loan_q(&sde.a, &sde.w, n, dt)?;
    Ok(DiscreteLinear {
        n,
        k,
        phi,
        gamma,
        q,
    })
}

/// Largest ‖A‖₁ Δt for which Van Loan's block exponential is evaluated directly.
const VAN_LOAN_MAX_NORM: f64 = 0.5;

/// Q = ∫₀^{Δt} e^{As} W e^{Aᵀs} ds by Van Loan's method (symmetrised).
///
/// The block exponential contains e^{−AΔt}, which for long steps of a stable system grows
/// like e^{|λ|Δt} and cancels catastrophically in E₂₂ᵀ E₁₂. So Van Loan's formula is applied
/// over h = Δt / 2ˢ with ‖A‖₁ h ≤ ½, and the step is doubled s times with
/// Q(2h) = Φ(h) Q(h) Φ(h)ᵀ + Q(h), Φ(2h) = Φ(h)², a sum of positive semi-definite terms.
pub fn van_loan_q<R: Real>(a: &[R], w: &[R], n: usize, dt: f64) -> Result<Vec<R>> {
    check_step("van_loan_q", dt)?;
    let norm = super::dense::norm1(a, n) * dt;
    let s = if norm > VAN_LOAN_MAX_NORM {
        (norm / VAN_LOAN_MAX_NORM).log2().ceil() as u32
    } else {
        0
    };
    if s > 60 {
        return Err(Error::invalid_option(
            "van_loan_q",
            "‖A‖₁ Δt",
            format!("{norm:e}"),
            format!("at most {VAN_LOAN_MAX_NORM} · 2⁶⁰: rescale time or check the rates"),
        ));
    }
    let h = dt
        / f64::from(1u32 << s.min(31))
        / if s > 31 {
            f64::from(1u32 << (s - 31))
        } else {
            1.0
        };
    let m = 2 * n;
    let mut big = vec![R::zero(); m * m];
    for j in 0..n {
        for i in 0..n {
            big[i + j * m] = -a[i + j * n] * h; // −A
            big[i + (n + j) * m] = w[i + j * n] * h; // W
            big[(n + i) + (n + j) * m] = a[j + i * n] * h; // Aᵀ
        }
    }
    let e = expm(&big, m)?;
    // Φ(h) = E22ᵀ, Q(h) = E22ᵀ E12.
    let mut phi = vec![R::zero(); n * n];
    let mut q = vec![R::zero(); n * n];
    for j in 0..n {
        for i in 0..n {
            phi[i + j * n] = e[(n + j) + (n + i) * m];
            let mut acc = R::zero();
            for l in 0..n {
                acc += e[(n + l) + (n + i) * m] * e[l + (n + j) * m];
            }
            q[i + j * n] = acc;
        }
    }
    symmetrize_in_place(&mut q, n);
    let mut tmp = vec![R::zero(); n * n];
    for _ in 0..s {
        // Q ← Φ Q Φᵀ + Q ; Φ ← Φ².
        super::dense::matmul_into(&phi, &q, n, n, n, &mut tmp);
        let mut next = q.clone();
        for j in 0..n {
            for i in 0..n {
                let mut acc = R::zero();
                for l in 0..n {
                    acc += tmp[i + l * n] * phi[j + l * n];
                }
                next[i + j * n] += acc;
            }
        }
        symmetrize_in_place(&mut next, n);
        q = next;
        phi = super::dense::matmul(&phi, &phi, n, n, n);
    }
    Ok(q)
}

/// The stationary covariance P∞ of x' = Φ x + w, w ~ N(0, Q): the solution of the discrete
/// Lyapunov equation P = Φ P Φᵀ + Q, from vec(P) = (I − Φ ⊗ Φ)⁻¹ vec(Q).
/// Errors if Φ has an eigenvalue on or outside the unit circle (no stationary law).
pub fn stationary_covariance<R: Real>(phi: &[R], q: &[R], n: usize) -> Result<Vec<R>> {
    let nn = n * n;
    let mut sys = vec![R::zero(); nn * nn];
    // (Φ ⊗ Φ)[(i + j n), (k + l n)] = Φ[i, k] Φ[j, l].
    for l in 0..n {
        for k in 0..n {
            let col = k + l * n;
            for j in 0..n {
                for i in 0..n {
                    let row = i + j * n;
                    let v = phi[i + k * n] * phi[j + l * n];
                    sys[row + col * nn] = if row == col { R::one() - v } else { -v };
                }
            }
        }
    }
    let mut p = q.to_vec();
    let unstable = |found: &str| {
        Error::invalid_option(
            "stationary_covariance",
            "phi",
            found,
            "every eigenvalue inside the unit circle (a stationary process)",
        )
    };
    lu_solve_in_place(&sys, nn, &mut p, 1, "stationary_covariance")
        .map_err(|_| unstable("an eigenvalue of modulus 1 (no stationary law)"))?;
    symmetrize_in_place(&mut p, n);
    if (0..n).any(|i| p[i + i * n].value() < 0.0) {
        return Err(unstable("an eigenvalue outside the unit circle"));
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stationary_covariance_of_ar1() {
        // x' = φ x + w: P = q / (1 − φ²).
        let p = stationary_covariance(&[0.8], &[0.36], 1).unwrap();
        assert!((p[0] - 0.36 / (1.0 - 0.64)).abs() < 1e-14);
        assert!(stationary_covariance(&[1.2], &[0.36], 1).is_err());
    }

    #[test]
    fn rejects_bad_step() {
        let sde = ContinuousLinearSde::new(1, 0, vec![-1.0], vec![], vec![1.0]).unwrap();
        assert!(discretize(&sde, 0.0).is_err());
        assert!(discretize(&sde, f64::NAN).is_err());
    }
}
