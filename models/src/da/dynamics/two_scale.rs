//! The two-scale Lorenz-96 model (Lorenz 1996; notation of Wilks 2005, QJRMS 131, eq. 1–2):
//! K slow variables `X_k` each coupled to J fast variables `Y_{j,k}`,
//!
//! $$ \dot X_k = −X_{k−1}(X_{k−2} − X_{k+1}) − X_k + F − \frac{hc}{b} \sum_{j} Y_{j,k}, $$
//! $$ \dot Y_{j,k} = −cb\, Y_{j+1,k}(Y_{j+2,k} − Y_{j−1,k}) − c\, Y_{j,k} + \frac{hc}{b} X_k. $$
//!
//! The state is `(X_0, …, X_{K−1}, Y_{0,0}, …, Y_{J−1,0}, Y_{0,1}, …)`: the slow variables
//! first, then the fast ones with `Y_{j,k}` at `K + kJ + j`; the fast variables form one ring
//! of length KJ (`Y_{J,k} = Y_{0,k+1}`), as in Lorenz (1996).

use mechml_engine::ad::Real;
use mechml_engine::{Error, Result};

use super::Rhs;

/// Two-scale Lorenz-96 (equations in the [`dynamics`](super) module docs).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Lorenz96TwoScale {
    /// Number of slow variables K (≥ 4).
    pub k: usize,
    /// Fast variables per slow variable J (≥ 1).
    pub j: usize,
    /// Forcing F.
    pub forcing: f64,
    /// Coupling h.
    pub h: f64,
    /// Amplitude ratio b.
    pub b: f64,
    /// Time-scale ratio c.
    pub c: f64,
}

impl Lorenz96TwoScale {
    /// Checks the sizes and that the parameters are finite, with `b ≠ 0`.
    pub fn new(k: usize, j: usize, forcing: f64, h: f64, b: f64, c: f64) -> Result<Self> {
        if k < 4 {
            return Err(Error::invalid_option("Lorenz96TwoScale", "k", k, ">= 4"));
        }
        if j == 0 {
            return Err(Error::invalid_option("Lorenz96TwoScale", "j", j, ">= 1"));
        }
        for (name, v) in [("forcing", forcing), ("h", h), ("b", b), ("c", c)] {
            if !v.is_finite() {
                return Err(Error::invalid_option("Lorenz96TwoScale", name, v, "finite"));
            }
        }
        if b == 0.0 {
            return Err(Error::invalid_option("Lorenz96TwoScale", "b", b, "nonzero"));
        }
        Ok(Self {
            k,
            j,
            forcing,
            h,
            b,
            c,
        })
    }

    /// The coupling term `−(hc/b) Σ_j Y_{j,k}` of every slow variable at a full state.
    pub fn coupling(&self, x: &[f64]) -> Vec<f64> {
        let s = self.h * self.c / self.b;
        (0..self.k)
            .map(|kk| {
                let y = &x[self.k + kk * self.j..self.k + (kk + 1) * self.j];
                -s * y.iter().sum::<f64>()
            })
            .collect()
    }
}

impl Rhs for Lorenz96TwoScale {
    fn n_state(&self) -> usize {
        self.k * (1 + self.j)
    }

    fn rhs<R: Real>(&self, x: &[R], dx: &mut [R]) {
        let (k, j) = (self.k, self.j);
        let s = self.h * self.c / self.b;
        let (xs, ys) = x.split_at(k);
        let (dxs, dys) = dx.split_at_mut(k);
        for i in 0..k {
            let (ip1, im1, im2) = ((i + 1) % k, (i + k - 1) % k, (i + k - 2) % k);
            let mut sum = R::zero();
            for y in &ys[i * j..(i + 1) * j] {
                sum += *y;
            }
            dxs[i] = (xs[ip1] - xs[im2]) * xs[im1] - xs[i] + self.forcing - sum * s;
        }
        let nf = k * j;
        let cb = self.c * self.b;
        for l in 0..nf {
            let (lp1, lp2, lm1) = ((l + 1) % nf, (l + 2) % nf, (l + nf - 1) % nf);
            dys[l] = ys[lp1] * (ys[lp2] - ys[lm1]) * (-cb) - ys[l] * self.c + xs[l / j] * s;
        }
    }
}
