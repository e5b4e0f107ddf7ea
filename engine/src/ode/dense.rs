//! Dense output: the solution between steps as one polynomial per step,
//! `y(t + θh) = Σₘ cₘ θᵐ`, in the power basis whatever the method (Runge–Kutta weights,
//! cubic Hermite, the Rosenbrock interpolant, the BDF interpolating polynomial).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The dense output of a solve: one polynomial per accepted step.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DenseOutput {
    n: usize,
    t: Vec<f64>,
    h: Vec<f64>,
    /// Offset of each segment's coefficients in `coeffs`; `offsets[k+1] - offsets[k]` is
    /// `(degree + 1) · n`.
    offsets: Vec<usize>,
    coeffs: Vec<f64>,
}

impl DenseOutput {
    /// An empty dense output for `n` states.
    pub fn new(n: usize) -> Self {
        Self {
            n,
            t: Vec::new(),
            h: Vec::new(),
            offsets: vec![0],
            coeffs: Vec::new(),
        }
    }

    /// Number of states.
    pub fn n_states(&self) -> usize {
        self.n
    }

    /// Number of segments (steps).
    pub fn n_segments(&self) -> usize {
        self.t.len()
    }

    /// The interval covered, `(t_start, t_end)`, if any.
    pub fn span(&self) -> Option<(f64, f64)> {
        Some((*self.t.first()?, self.t.last()? + self.h.last()?))
    }

    /// Appends the polynomial of the step `[t, t + h]`: `coeffs[m·n + i]` is `cₘ` of
    /// component `i`.
    pub fn push(&mut self, t: f64, h: f64, coeffs: &[f64]) {
        debug_assert!(coeffs.len().is_multiple_of(self.n.max(1)));
        self.t.push(t);
        self.h.push(h);
        self.coeffs.extend_from_slice(coeffs);
        self.offsets.push(self.coeffs.len());
    }

    /// Removes every segment (keeps the capacity).
    pub fn clear(&mut self) {
        self.t.clear();
        self.h.clear();
        self.coeffs.clear();
        self.offsets.truncate(1);
    }

    /// Number of `f64` held (for memory accounting).
    pub fn stored_f64(&self) -> usize {
        self.coeffs.len() + 2 * self.t.len() + self.offsets.len()
    }

    /// The segment containing `t` (the last one whose start is ≤ t), if `t` is covered.
    pub fn segment_of(&self, t: f64) -> Option<usize> {
        let (a, b) = self.span()?;
        let tol = 1e-12 * (a.abs().max(b.abs()).max(1.0));
        if t < a - tol || t > b + tol {
            return None;
        }
        let k = self.t.partition_point(|&s| s <= t);
        Some(k.saturating_sub(1))
    }

    /// Evaluates segment `k` at `t` into `out`.
    pub fn eval_segment(&self, k: usize, t: f64, out: &mut [f64]) {
        let n = self.n;
        let theta = (t - self.t[k]) / self.h[k];
        let c = &self.coeffs[self.offsets[k]..self.offsets[k + 1]];
        let deg = c.len() / n.max(1) - 1;
        out[..n].copy_from_slice(&c[deg * n..(deg + 1) * n]);
        for m in (0..deg).rev() {
            for i in 0..n {
                out[i] = out[i] * theta + c[m * n + i];
            }
        }
    }

    /// `y(t)` into `out`.
    pub fn eval_into(&self, t: f64, out: &mut [f64]) -> Result<()> {
        crate::error::check_len("DenseOutput::eval", "out", out.len(), self.n)?;
        match self.segment_of(t) {
            Some(k) => {
                self.eval_segment(k, t, out);
                Ok(())
            }
            None => Err(Error::invalid_option(
                "DenseOutput::eval",
                "t",
                t,
                match self.span() {
                    Some((a, b)) => format!("within the solved interval [{a}, {b}]"),
                    None => "a solved interval (this dense output is empty)".to_string(),
                },
            )),
        }
    }

    /// `y(t)`.
    pub fn eval(&self, t: f64) -> Result<Vec<f64>> {
        let mut out = vec![0.0; self.n];
        self.eval_into(t, &mut out)?;
        Ok(out)
    }

    /// The start, length and coefficient slice of segment `k`.
    pub(crate) fn segment(&self, k: usize) -> (f64, f64, &[f64]) {
        (
            self.t[k],
            self.h[k],
            &self.coeffs[self.offsets[k]..self.offsets[k + 1]],
        )
    }
}

/// Power-basis coefficients `c₀ = y`, `cₘ = h Σᵢ wᵢₘ kᵢ` of a Runge–Kutta dense output
/// whose weights are `bᵢ(θ) = Σₘ wᵢₘ θ^{m+1}` (`weights[i]`), from stage derivatives `k`
/// (stage `i` at `k[i·n..]`).
pub(crate) fn rk_coeffs(y: &[f64], h: f64, k: &[f64], weights: &[&[f64]], out: &mut Vec<f64>) {
    let n = y.len();
    let deg = weights.first().map_or(0, |w| w.len());
    out.clear();
    out.resize((deg + 1) * n, 0.0);
    out[..n].copy_from_slice(y);
    for (i, w) in weights.iter().enumerate() {
        let ki = &k[i * n..(i + 1) * n];
        for (m, &c) in w.iter().enumerate() {
            if c != 0.0 {
                let hc = h * c;
                let dst = &mut out[(m + 1) * n..(m + 2) * n];
                for (d, kv) in dst.iter_mut().zip(ki) {
                    *d += hc * kv;
                }
            }
        }
    }
}

/// Cubic Hermite interpolation from `y0, y1` and the derivatives `f0, f1` at both ends:
/// `y(θ) = y0 + θ h f0 + θ²(3Δ − 2h f0 − h f1) + θ³(−2Δ + h f0 + h f1)`, `Δ = y1 − y0`.
pub(crate) fn hermite_coeffs(
    y0: &[f64],
    y1: &[f64],
    f0: &[f64],
    f1: &[f64],
    h: f64,
    out: &mut Vec<f64>,
) {
    let n = y0.len();
    out.clear();
    out.resize(4 * n, 0.0);
    for i in 0..n {
        let d = y1[i] - y0[i];
        out[i] = y0[i];
        out[n + i] = h * f0[i];
        out[2 * n + i] = 3.0 * d - 2.0 * h * f0[i] - h * f1[i];
        out[3 * n + i] = -2.0 * d + h * f0[i] + h * f1[i];
    }
}

/// The weights `(α, β, w₀, w₁)` of the cubic Hermite interpolant
/// `y(θ) = α y0 + β y1 + h (w₀ f0 + w₁ f1)`.
pub(crate) fn hermite_weights(theta: f64) -> [f64; 4] {
    let t2 = theta * theta;
    let t3 = t2 * theta;
    [
        2.0 * t3 - 3.0 * t2 + 1.0,
        -2.0 * t3 + 3.0 * t2,
        t3 - 2.0 * t2 + theta,
        t3 - t2,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hermite_is_exact_for_cubics() {
        // y = 1 + 2t − t² + 0.5 t³ on [0.5, 0.5 + 0.8].
        let y = |t: f64| 1.0 + 2.0 * t - t * t + 0.5 * t * t * t;
        let dy = |t: f64| 2.0 - 2.0 * t + 1.5 * t * t;
        let (t0, h) = (0.5, 0.8);
        let mut c = Vec::new();
        hermite_coeffs(&[y(t0)], &[y(t0 + h)], &[dy(t0)], &[dy(t0 + h)], h, &mut c);
        let mut d = DenseOutput::new(1);
        d.push(t0, h, &c);
        for t in [0.5, 0.7, 1.0, 1.3] {
            assert!((d.eval(t).unwrap()[0] - y(t)).abs() < 1e-14);
            let w = hermite_weights((t - t0) / h);
            let v = w[0] * y(t0) + w[1] * y(t0 + h) + h * (w[2] * dy(t0) + w[3] * dy(t0 + h));
            assert!((v - y(t)).abs() < 1e-14);
        }
        assert!(d.eval(2.0).is_err());
    }
}
