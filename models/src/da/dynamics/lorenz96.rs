//! The one-scale Lorenz-96 model (Lorenz 1996, "Predictability: a problem partly solved",
//! ECMWF Seminar; Lorenz & Emanuel 1998, J. Atmos. Sci. 55, eq. 1):
//!
//! $$ \dot x_i = (x_{i+1} − x_{i−2})\, x_{i−1} − x_i + F,\quad i = 0, …, n − 1 \ (\mathrm{mod}\ n). $$

use mechml_engine::ad::Real;
use mechml_engine::{Error, Result};

use super::Rhs;

/// Lorenz-96 with `n ≥ 4` variables on a ring and forcing `F`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Lorenz96 {
    n: usize,
    /// The forcing F (8 for the standard chaotic regime).
    pub forcing: f64,
}

impl Lorenz96 {
    /// Checks `n ≥ 4` and a finite forcing.
    pub fn new(n: usize, forcing: f64) -> Result<Self> {
        if n < 4 {
            return Err(Error::invalid_option("Lorenz96", "n", n, ">= 4"));
        }
        if !forcing.is_finite() {
            return Err(Error::invalid_option(
                "Lorenz96", "forcing", forcing, "finite",
            ));
        }
        Ok(Self { n, forcing })
    }
}

impl Rhs for Lorenz96 {
    fn n_state(&self) -> usize {
        self.n
    }

    fn rhs<R: Real>(&self, x: &[R], dx: &mut [R]) {
        let n = self.n;
        for i in 0..n {
            let (ip1, im1, im2) = ((i + 1) % n, (i + n - 1) % n, (i + n - 2) % n);
            dx[i] = (x[ip1] - x[im2]) * x[im1] - x[i] + self.forcing;
        }
    }

    fn rhs_ensemble(&self, nm: usize, x: &[f64], dx: &mut [f64]) {
        let n = self.n;
        let f = self.forcing;
        let col = |i: usize| &x[i * nm..(i + 1) * nm];
        for (i, out) in dx.chunks_exact_mut(nm).enumerate().take(n) {
            let (ip1, im1, im2) = ((i + 1) % n, (i + n - 1) % n, (i + n - 2) % n);
            let (a, b, c, d) = (col(ip1), col(im2), col(im1), col(i));
            // Equal lengths known to the compiler: no bounds checks, the loop vectorises.
            let (a, b, c, d) = (&a[..nm], &b[..nm], &c[..nm], &d[..nm]);
            let out = &mut out[..nm];
            for m in 0..nm {
                out[m] = (a[m] - b[m]) * c[m] - d[m] + f;
            }
        }
    }
}
