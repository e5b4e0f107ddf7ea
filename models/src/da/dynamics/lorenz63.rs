//! The Lorenz-63 model (Lorenz 1963, J. Atmos. Sci. 20, eq. 25–27):
//! `ẋ = σ(y − x)`, `ẏ = x(ρ − z) − y`, `ż = xy − βz`.

use mechml_engine::ad::Real;
use mechml_engine::{Error, Result};

use super::Rhs;

/// Lorenz-63 with parameters σ, ρ, β (10, 28, 8/3 in the chaotic regime).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Lorenz63 {
    /// σ.
    pub sigma: f64,
    /// ρ.
    pub rho: f64,
    /// β.
    pub beta: f64,
}

impl Default for Lorenz63 {
    fn default() -> Self {
        Self {
            sigma: 10.0,
            rho: 28.0,
            beta: 8.0 / 3.0,
        }
    }
}

impl Lorenz63 {
    /// Checks that the parameters are finite.
    pub fn new(sigma: f64, rho: f64, beta: f64) -> Result<Self> {
        for (name, v) in [("sigma", sigma), ("rho", rho), ("beta", beta)] {
            if !v.is_finite() {
                return Err(Error::invalid_option("Lorenz63", name, v, "finite"));
            }
        }
        Ok(Self { sigma, rho, beta })
    }
}

impl Rhs for Lorenz63 {
    fn n_state(&self) -> usize {
        3
    }

    fn rhs<R: Real>(&self, x: &[R], dx: &mut [R]) {
        dx[0] = (x[1] - x[0]) * self.sigma;
        dx[1] = x[0] * (R::from_f64(self.rho) - x[2]) - x[1];
        dx[2] = x[0] * x[1] - x[2] * self.beta;
    }
}
