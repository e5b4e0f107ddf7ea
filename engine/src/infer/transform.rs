//! Vector constraints with their log-Jacobians, beside the scalar
//! [`Transform`]s: ordered vectors and the simplex
//! (Stan Reference Manual, "Constraint Transforms": "Ordered vector", "Unit simplex").
//!
//! * **Ordered** `x₀ < x₁ < … < x_{K−1}` from `z ∈ ℝᴷ`: `x₀ = z₀`,
//!   `x_k = x_{k−1} + e^{z_k}`; `ln |J| = Σ_{k≥1} z_k`.
//! * **Simplex** (`x_k > 0`, `Σ x_k = 1`) from `z ∈ ℝ^{K−1}` by stick-breaking: with
//!   the remaining stick `s₀ = 1`, `w_k = σ(z_k − ln(K−1−k))`, `x_k = s_k w_k`,
//!   `s_{k+1} = s_k − x_k`, and `x_{K−1} = s_{K−1}`;
//!   `ln |J| = Σ_k [ln s_k + ln w_k + ln(1 − w_k)]`. The offset `ln(K−1−k)` maps `z = 0`
//!   to the centre `x = (1/K, …, 1/K)`.

use serde::{Deserialize, Serialize};

use crate::ad::Real;
use crate::error::{Error, Result};
use crate::param::Transform;

/// The constraint on one (scalar or vector) model parameter.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Constraint {
    /// Each entry constrained by a scalar transform.
    Elementwise(Transform),
    /// A strictly increasing vector.
    Ordered,
    /// A point of the unit simplex (positive entries summing to one).
    Simplex,
}

impl Constraint {
    /// Number of unconstrained coordinates for a parameter of `len` entries.
    pub fn free_len(&self, len: usize) -> usize {
        match self {
            Constraint::Simplex => len.saturating_sub(1),
            _ => len,
        }
    }

    /// Writes the natural-scale entries `x` for unconstrained `z` and returns
    /// `ln |det ∂x/∂z|` (for the simplex, of the map onto its first `K − 1` entries).
    pub fn to_natural<R: Real>(&self, z: &[R], x: &mut Vec<R>) -> R {
        x.clear();
        match *self {
            Constraint::Elementwise(t) => {
                let mut lj = R::zero();
                for &zi in z {
                    x.push(t.to_natural(zi));
                    lj += t.log_jacobian(zi);
                }
                lj
            }
            Constraint::Ordered => {
                let mut lj = R::zero();
                for (k, &zk) in z.iter().enumerate() {
                    if k == 0 {
                        x.push(zk);
                    } else {
                        let prev = x[k - 1];
                        x.push(prev + zk.exp());
                        lj += zk;
                    }
                }
                lj
            }
            Constraint::Simplex => {
                let k_len = z.len() + 1;
                let mut stick = R::one();
                let mut lj = R::zero();
                for (k, &zk) in z.iter().enumerate() {
                    let adj = zk - ((k_len - 1 - k) as f64).ln();
                    let w = adj.sigmoid();
                    let xk = stick * w;
                    // ln w + ln(1 − w) = −softplus(−adj) − softplus(adj).
                    lj += stick.ln() - (-adj).softplus() - adj.softplus();
                    x.push(xk);
                    stick -= xk;
                }
                x.push(stick);
                lj
            }
        }
    }

    /// The unconstrained coordinates of natural-scale entries `x`; errors name
    /// `name[i]` when `x` is outside the constraint.
    pub fn to_unconstrained(&self, name: &str, x: &[f64]) -> Result<Vec<f64>> {
        let op = "Constraint::to_unconstrained";
        let bad = |i: usize, v: f64, expected: &str| {
            Err(Error::invalid_option(
                op,
                format!("{name}[{i}]"),
                v,
                expected.to_string(),
            ))
        };
        if let Some((i, &v)) = x.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return bad(i, v, "a finite value");
        }
        match *self {
            Constraint::Elementwise(t) => x
                .iter()
                .enumerate()
                .map(|(i, &v)| t.to_unconstrained(op, &format!("{name}[{i}]"), v))
                .collect(),
            Constraint::Ordered => {
                let mut z = Vec::with_capacity(x.len());
                for (k, &v) in x.iter().enumerate() {
                    if k == 0 {
                        z.push(v);
                    } else if v > x[k - 1] {
                        z.push((v - x[k - 1]).ln());
                    } else {
                        return bad(k, v, "strictly greater than the previous entry (ordered)");
                    }
                }
                Ok(z)
            }
            Constraint::Simplex => {
                let k_len = x.len();
                let sum: f64 = x.iter().sum();
                if k_len < 2 {
                    return bad(
                        0,
                        x.first().copied().unwrap_or(f64::NAN),
                        "at least 2 entries",
                    );
                }
                if let Some((i, &v)) = x.iter().enumerate().find(|(_, v)| **v <= 0.0) {
                    return bad(i, v, "> 0 (simplex)");
                }
                if (sum - 1.0).abs() > 1e-8 {
                    return bad(k_len - 1, sum, "entries summing to 1 (simplex)");
                }
                let mut stick = 1.0;
                let mut z = Vec::with_capacity(k_len - 1);
                for (k, &v) in x[..k_len - 1].iter().enumerate() {
                    let w = (v / stick).clamp(f64::MIN_POSITIVE, 1.0 - f64::EPSILON);
                    z.push(w.ln() - (-w).ln_1p() + ((k_len - 1 - k) as f64).ln());
                    stick -= v;
                }
                Ok(z)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ad::api::VectorFn;
    use crate::ad::api::{ScalarFn, jacobian_forward};

    struct Map(Constraint, bool);
    impl VectorFn for Map {
        fn eval<R: Real>(&self, z: &[R]) -> Vec<R> {
            let mut x = Vec::new();
            self.0.to_natural(z, &mut x);
            if self.1 {
                x.pop();
            }
            x
        }
    }
    struct LogJac(Constraint);
    impl ScalarFn for LogJac {
        fn eval<R: Real>(&self, z: &[R]) -> R {
            self.0.to_natural(z, &mut Vec::new())
        }
    }

    fn logdet(j: &faer::Mat<f64>) -> f64 {
        // Small matrices: Gaussian elimination with partial pivoting.
        let n = j.nrows();
        let mut a: Vec<Vec<f64>> = (0..n)
            .map(|i| (0..n).map(|k| j[(i, k)]).collect())
            .collect();
        let mut ld = 0.0;
        for c in 0..n {
            let p = (c..n)
                .max_by(|&r, &s| a[r][c].abs().total_cmp(&a[s][c].abs()))
                .unwrap();
            a.swap(c, p);
            ld += a[c][c].abs().ln();
            let pivot_row = a[c].clone();
            for row in a.iter_mut().skip(c + 1) {
                let f = row[c] / pivot_row[c];
                for (x, p) in row.iter_mut().zip(&pivot_row).skip(c) {
                    *x -= f * p;
                }
            }
        }
        ld
    }

    #[test]
    fn log_jacobians_match_the_jacobian_determinant() {
        let z = [0.3, -1.1, 0.7, 0.2];
        for (c, drop_last) in [(Constraint::Ordered, false), (Constraint::Simplex, true)] {
            let (_, j) = jacobian_forward(&Map(c, drop_last), &z).unwrap();
            let lj = LogJac(c).eval(&z[..]);
            assert!(
                (lj - logdet(&j)).abs() < 1e-12,
                "{c:?}: {lj} vs {}",
                logdet(&j)
            );
        }
    }

    #[test]
    fn round_trips_and_centre() {
        let z = [0.3, -1.1, 0.7];
        for c in [
            Constraint::Ordered,
            Constraint::Simplex,
            Constraint::Elementwise(Transform::Log),
        ] {
            let mut x = Vec::new();
            c.to_natural(&z, &mut x);
            let z2 = c.to_unconstrained("v", &x).unwrap();
            for (a, b) in z.iter().zip(&z2) {
                assert!((a - b).abs() < 1e-12, "{c:?}");
            }
        }
        let mut x = Vec::new();
        Constraint::Simplex.to_natural(&[0.0, 0.0, 0.0], &mut x);
        assert!(x.iter().all(|v| (v - 0.25).abs() < 1e-15));
        assert!(
            Constraint::Ordered
                .to_unconstrained("v", &[1.0, 1.0])
                .is_err()
        );
        assert!(
            Constraint::Simplex
                .to_unconstrained("v", &[0.5, 0.6])
                .is_err()
        );
    }
}
