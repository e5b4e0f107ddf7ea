//! Cholesky with escalating diagonal jitter, reporting what it added.

use serde::{Deserialize, Serialize};

use super::{Llt, Mat, MatRef, Par};
use crate::error::{Error, Result};

/// How much jitter to try when a matrix is not numerically positive definite.
///
/// Attempt `k` (0-based) adds `initial * factor^k * mean(diag A)` to the diagonal, after a
/// first attempt with no jitter, up to `max_tries` jittered attempts.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct JitterPolicy {
    /// First relative jitter (relative to the mean diagonal).
    pub initial: f64,
    /// Growth factor between attempts.
    pub factor: f64,
    /// Maximum number of jittered attempts.
    pub max_tries: usize,
}

impl Default for JitterPolicy {
    fn default() -> Self {
        Self {
            initial: 1e-10,
            factor: 10.0,
            max_tries: 6,
        }
    }
}

impl JitterPolicy {
    /// Never add jitter.
    pub fn none() -> Self {
        Self {
            initial: 0.0,
            factor: 1.0,
            max_tries: 0,
        }
    }
}

/// What [`cholesky_with_jitter`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct JitterInfo {
    /// Absolute amount added to every diagonal entry (0 if none was needed).
    pub jitter_added: f64,
    /// Number of factorisations attempted.
    pub attempts: usize,
}

/// Cholesky of `A + δ I`, with δ = 0 first and escalating per `policy`.
///
/// # Errors
/// The error of the last attempt ([`Error::NotPositiveDefinite`] with its pivot and value)
/// if the matrix stays indefinite, or [`Error::NonFinite`] for NaN input.
pub fn cholesky_with_jitter(
    a: MatRef<'_, f64>,
    policy: JitterPolicy,
    par: Par,
) -> Result<(Llt, JitterInfo)> {
    let first = Llt::factor(a, par);
    let mut last_err = match first {
        Ok(l) => {
            return Ok((
                l,
                JitterInfo {
                    jitter_added: 0.0,
                    attempts: 1,
                },
            ));
        }
        Err(e @ Error::NotPositiveDefinite { .. }) => e,
        Err(e) => return Err(e),
    };
    let n = a.nrows();
    let scale = if n == 0 {
        1.0
    } else {
        ((0..n).map(|i| a[(i, i)].abs()).sum::<f64>() / n as f64).max(f64::MIN_POSITIVE)
    };
    let mut rel = policy.initial;
    for k in 0..policy.max_tries {
        let delta = rel * scale;
        let mut b: Mat<f64> = a.to_owned();
        for i in 0..n {
            b[(i, i)] += delta;
        }
        match Llt::factor(b.as_ref(), par) {
            Ok(l) => {
                return Ok((
                    l,
                    JitterInfo {
                        jitter_added: delta,
                        attempts: k + 2,
                    },
                ));
            }
            Err(e) => last_err = e,
        }
        rel *= policy.factor;
    }
    Err(last_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_jitter_to_a_singular_psd_matrix() {
        // Rank-1 PSD matrix: v vᵀ is singular, needs jitter.
        let v = [1.0, 2.0, 3.0];
        let a = Mat::<f64>::from_fn(3, 3, |i, j| v[i] * v[j]);
        let (llt, info) =
            cholesky_with_jitter(a.as_ref(), JitterPolicy::default(), Par::Seq).unwrap();
        assert!(info.jitter_added > 0.0 && info.attempts >= 2);
        let r = llt.l() * llt.l().transpose();
        for i in 0..3 {
            assert!((r[(i, i)] - a[(i, i)] - info.jitter_added).abs() < 1e-9);
        }
    }

    #[test]
    fn indefinite_stays_an_error() {
        let a = faer::mat![[1.0, 0.0], [0.0, -1.0]];
        assert!(matches!(
            cholesky_with_jitter(a.as_ref(), JitterPolicy::default(), Par::Seq),
            Err(Error::NotPositiveDefinite { pivot: 1, .. })
        ));
    }
}
