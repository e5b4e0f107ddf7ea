//! [`ForwardSensitivities`]: the Jacobians `∂y(τₖ)/∂(p, y₀)` of a solve at its save
//! times, with accessors by parameter, by initial state and by entry.

use faer::Mat;
use serde::{Deserialize, Serialize};

/// The forward sensitivities of a solve: for every save time `τₖ` the `n × (n_p + n)`
/// Jacobian `∂y(τₖ)/∂(p, y₀)`, the parameters' columns first, then the initial states'.
///
/// ```
/// use mechml_engine::ode::problems::Logistic;
/// use mechml_engine::ode::{forward_sensitivities, Method, OdeOptions, OdeProblem};
///
/// // y' = r y (1 − y/K): y(t) = K / (1 + (K/y₀ − 1) e^{−rt}).
/// let (r, k, y0, t) = (1.5, 10.0, 0.5, 2.0);
/// let prob = OdeProblem::new(Logistic, 0.0, t, vec![y0], vec![r, k])?;
/// let (_, s) = forward_sensitivities(&prob, Method::Tsit5, &OdeOptions::with_tol(1e-10, 1e-12))?;
/// let e = (-r * t).exp();
/// let d = 1.0 + (k / y0 - 1.0) * e;
/// // ∂y/∂y₀ = K² e / (y₀² d²).
/// assert!((s.wrt_y0(0, 0)[0] - k * k * e / (y0 * y0 * d * d)).abs() < 1e-8);
/// // ∂y/∂r = K (K/y₀ − 1) t e / d².
/// assert!((s.wrt_param(0, 0)[0] - k * (k / y0 - 1.0) * t * e / (d * d)).abs() < 1e-8);
/// assert_eq!(s.get(0, 0, 0), s.wrt_param(0, 0)[0]); // column 0 is the first parameter
/// # Ok::<(), mechml_engine::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ForwardSensitivities {
    n_states: usize,
    n_params: usize,
    /// Per save time, the `n × (n_p + n)` Jacobian column-major.
    data: Vec<f64>,
}

impl ForwardSensitivities {
    /// From the solver's `n × (n + n_p)` matrices with the initial states' columns first.
    pub(crate) fn from_state_first(n: usize, n_params: usize, mats: &[Mat<f64>]) -> Self {
        let m = n + n_params;
        let mut data = Vec::with_capacity(mats.len() * n * m);
        for s in mats {
            for c in (n..m).chain(0..n) {
                for r in 0..n {
                    data.push(s[(r, c)]);
                }
            }
        }
        Self {
            n_states: n,
            n_params,
            data,
        }
    }

    /// Number of save times.
    pub fn n_times(&self) -> usize {
        let block = self.n_states * (self.n_states + self.n_params);
        self.data.len().checked_div(block).unwrap_or(0)
    }

    /// Number of states `n`.
    pub fn n_states(&self) -> usize {
        self.n_states
    }

    /// Number of parameters `n_p`.
    pub fn n_params(&self) -> usize {
        self.n_params
    }

    /// The Jacobian at save time `k`, column-major `n × (n_p + n)`: column `j < n_p` is
    /// `∂y(τₖ)/∂pⱼ`, column `n_p + j` is `∂y(τₖ)/∂y₀ⱼ`.
    ///
    /// # Panics
    /// If `k ≥ n_times()`.
    pub fn jacobian(&self, k: usize) -> &[f64] {
        let block = self.n_states * (self.n_states + self.n_params);
        &self.data[k * block..(k + 1) * block]
    }

    /// `∂y(τₖ)/∂pⱼ` (length `n`).
    ///
    /// # Panics
    /// If `k ≥ n_times()` or `j ≥ n_params()`.
    pub fn wrt_param(&self, k: usize, j: usize) -> &[f64] {
        assert!(j < self.n_params, "parameter {j} of {}", self.n_params);
        let n = self.n_states;
        &self.jacobian(k)[j * n..(j + 1) * n]
    }

    /// `∂y(τₖ)/∂y₀ⱼ` (length `n`).
    ///
    /// # Panics
    /// If `k ≥ n_times()` or `j ≥ n_states()`.
    pub fn wrt_y0(&self, k: usize, j: usize) -> &[f64] {
        assert!(j < self.n_states, "initial state {j} of {}", self.n_states);
        let n = self.n_states;
        let c = self.n_params + j;
        &self.jacobian(k)[c * n..(c + 1) * n]
    }

    /// `∂yᵢ(τₖ)/∂xⱼ` with `x = (p, y₀)`.
    ///
    /// # Panics
    /// If an index is out of range.
    pub fn get(&self, k: usize, i: usize, j: usize) -> f64 {
        assert!(i < self.n_states && j < self.n_states + self.n_params);
        self.jacobian(k)[j * self.n_states + i]
    }

    /// `gᵀ = Σₖ wₖᵀ ∂y(τₖ)/∂(p, y₀)` split into `(∂/∂y₀, ∂/∂p)`, for cotangents `w`
    /// (one of length `n` per save time).
    pub(crate) fn vjp(&self, w: &[Vec<f64>]) -> (Vec<f64>, Vec<f64>) {
        let (n, np) = (self.n_states, self.n_params);
        let mut g = vec![0.0; n + np];
        for (k, wk) in w.iter().enumerate().take(self.n_times()) {
            let jac = self.jacobian(k);
            for (c, gc) in g.iter_mut().enumerate() {
                let col = &jac[c * n..(c + 1) * n];
                *gc += wk.iter().zip(col).map(|(a, b)| a * b).sum::<f64>();
            }
        }
        let gy = g.split_off(np);
        (gy, g)
    }

    /// The tangent `Σⱼ ∂y(τₖ)/∂pⱼ ṗⱼ + Σⱼ ∂y(τₖ)/∂y₀ⱼ ẏ₀ⱼ` at save time `k` into `out`.
    pub(crate) fn jvp_into(&self, k: usize, dp: &[f64], dy0: &[f64], out: &mut [f64]) {
        let (n, np) = (self.n_states, self.n_params);
        let jac = self.jacobian(k);
        out.fill(0.0);
        // Initial states first, then parameters.
        let cols = (np..np + n).zip(dy0).chain((0..np).zip(dp));
        for (c, &v) in cols {
            for (o, &s) in out.iter_mut().zip(&jac[c * n..(c + 1) * n]) {
                *o += s * v;
            }
        }
    }
}
