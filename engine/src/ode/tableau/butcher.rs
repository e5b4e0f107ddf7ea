//! [`ButcherTableau`] and [`RkDense`]: the data of an explicit Runge–Kutta method, its
//! shape checks and its dense-output weights.

use crate::error::{Error, Result};

/// The Butcher tableau of an explicit Runge–Kutta method with an optional embedded
/// error estimate and dense output.
#[derive(Debug)]
pub struct ButcherTableau {
    /// Short name (`"tsit5"`).
    pub name: &'static str,
    /// Rows of `A` strictly below the diagonal: row `i` (0-based stage) has `i` entries.
    pub a: &'static [&'static [f64]],
    /// Weights `b`.
    pub b: &'static [f64],
    /// Error weights `b − b̂` (`None` for fixed-step methods).
    pub b_err: Option<&'static [f64]>,
    /// Nodes `c` (`c₀ = 0`).
    pub c: &'static [f64],
    /// Order of `b`.
    pub order: u32,
    /// Order of the embedded weights `b̂` (0 without an estimate).
    pub embedded_order: u32,
    /// Dense output.
    pub dense: Option<RkDense>,
}

/// Dense output of an explicit Runge–Kutta method:
/// `y(t + θh) = y + h Σᵢ bᵢ(θ) kᵢ` with `bᵢ(θ) = Σₘ weights[i][m] θ^{m+1}`.
#[derive(Debug)]
pub struct RkDense {
    /// Rows of `A` of extra stages evaluated only for dense output (row `j` has
    /// `stages + j` entries: it may use the method's stages and earlier extra stages).
    pub extra_a: &'static [&'static [f64]],
    /// Nodes of the extra stages.
    pub extra_c: &'static [f64],
    /// Power-basis coefficients of `bᵢ(θ)`, one row per stage (the method's, then the
    /// extra ones); all rows have the same length (the degree).
    pub weights: &'static [&'static [f64]],
    /// Order of the dense output.
    pub order: u32,
}

impl ButcherTableau {
    /// Number of stages of a step.
    pub fn stages(&self) -> usize {
        self.b.len()
    }

    /// Number of stages including extra dense-output stages.
    pub fn total_stages(&self) -> usize {
        self.b.len() + self.dense.as_ref().map_or(0, |d| d.extra_a.len())
    }

    /// First same as last: the last stage is `f(t + h, y_new)` (its row of `A` is `b` and
    /// its node is 1), so it is the first stage of the next step.
    pub fn is_fsal(&self) -> bool {
        let s = self.stages();
        s > 1
            && self.c[s - 1] == 1.0
            && self.b[s - 1] == 0.0
            && self.a[s - 1]
                .iter()
                .zip(self.b)
                .all(|(a, b)| a.to_bits() == b.to_bits())
    }

    /// The order of the error estimate's local error, `q̂ + 1` (the exponent of the
    /// step-size controller and of the initial step).
    pub fn error_order(&self) -> f64 {
        f64::from(self.embedded_order + 1)
    }

    /// Entry `a[i][j]` of the extended tableau (method stages then extra stages).
    #[cfg(any(test, feature = "testing"))]
    #[inline]
    pub(crate) fn a_ext(&self, i: usize, j: usize) -> f64 {
        let s = self.stages();
        if i < s {
            self.a[i].get(j).copied().unwrap_or(0.0)
        } else {
            self.dense
                .as_ref()
                .and_then(|d| d.extra_a.get(i - s))
                .and_then(|r| r.get(j))
                .copied()
                .unwrap_or(0.0)
        }
    }

    /// Node `c[i]` of the extended tableau.
    #[inline]
    pub(crate) fn c_ext(&self, i: usize) -> f64 {
        let s = self.stages();
        if i < s {
            self.c[i]
        } else {
            self.dense.as_ref().map_or(0.0, |d| d.extra_c[i - s])
        }
    }

    /// The dense weights `bᵢ(θ)` of every (extended) stage into `w`.
    pub fn dense_weights(&self, theta: f64, w: &mut [f64]) {
        match &self.dense {
            Some(d) => {
                for (wi, row) in w.iter_mut().zip(d.weights) {
                    let mut acc = 0.0;
                    for &c in row.iter().rev() {
                        acc = acc * theta + c;
                    }
                    *wi = acc * theta;
                }
            }
            None => {
                for (wi, &b) in w.iter_mut().zip(self.b) {
                    *wi = theta * b;
                }
            }
        }
    }

    /// Checks the shape and the simplifying conditions every tableau satisfies:
    /// `Σⱼ aᵢⱼ = cᵢ`, `Σ bᵢ = 1`, `Σ (bᵢ − b̂ᵢ) = 0`, and for dense output `Σ bᵢ(1) = 1`.
    pub fn validate(&self) -> Result<()> {
        let bad = |message: String| {
            Err(Error::InvalidArgument {
                op: "ButcherTableau",
                message: format!("{}: {message}", self.name),
            })
        };
        let s = self.stages();
        if s == 0 || self.a.len() != s || self.c.len() != s {
            return bad(format!(
                "{} weights, {} rows of A, {} nodes",
                s,
                self.a.len(),
                self.c.len()
            ));
        }
        for i in 0..s {
            if self.a[i].len() != i {
                return bad(format!(
                    "row {i} of A has {} entries, expected {i}",
                    self.a[i].len()
                ));
            }
            let sum: f64 = self.a[i].iter().sum();
            if (sum - self.c[i]).abs() > 1e-12 {
                return bad(format!(
                    "row {i} of A sums to {sum}, but c[{i}] = {}",
                    self.c[i]
                ));
            }
        }
        let sb: f64 = self.b.iter().sum();
        if (sb - 1.0).abs() > 1e-12 {
            return bad(format!("the weights sum to {sb}"));
        }
        if let Some(e) = self.b_err {
            if e.len() != s {
                return bad(format!("{} error weights for {s} stages", e.len()));
            }
            let se: f64 = e.iter().sum();
            if se.abs() > 1e-12 {
                return bad(format!("the error weights sum to {se}, expected 0"));
            }
        }
        if let Some(d) = &self.dense {
            let total = self.total_stages();
            if d.weights.len() != total || d.extra_c.len() != d.extra_a.len() {
                return bad("dense output has inconsistent sizes".into());
            }
            for (j, row) in d.extra_a.iter().enumerate() {
                if row.len() != s + j {
                    return bad(format!(
                        "extra stage {j} has {} entries, expected {}",
                        row.len(),
                        s + j
                    ));
                }
            }
            let mut w = vec![0.0; total];
            self.dense_weights(1.0, &mut w);
            let sw: f64 = w.iter().sum();
            if (sw - 1.0).abs() > 1e-12 {
                return bad(format!("the dense weights at θ = 1 sum to {sw}"));
            }
        }
        Ok(())
    }
}
