//! Space-filling designs over a parameter box.
//!
//! Every design is a set of `n` points in the unit cube `[0, 1]^d` ([`Design`]), mapped to
//! physical values by a [`ParameterSpace`] (linear or logarithmic ranges).
//!
//! | design | construction | reference |
//! |---|---|---|
//! | [`lhs`] | one point in each of `n` equal strata of every margin, strata paired at random | McKay, Beckman & Conover (1979), Technometrics 21(2) |
//! | [`maximin_lhs`] | an LHS improved by element exchanges within columns, minimising `φ_p = (Σ_{i<j} d_ij^{−p})^{1/p}` | Morris & Mitchell (1995), JSPI 43, eq. (2); Jin, Chen & Sudjianto (2005) |
//! | [`sobol`] | Sobol' (1967) digital net, Gray-code order, Joe–Kuo (2008) direction numbers; optional Owen (1995) nested uniform scrambling | Joe & Kuo (2008), SIAM J. Sci. Comput. 30; Owen (1995) |
//! | [`halton`] | radical inverses in the first `d` primes; optional random digit permutation | Halton (1960) |
//!
//! Quality is measured by the L2-star discrepancy (Warnock 1972), [`l2_star_discrepancy`]:
//!
//! $$ D_2^*(P)^2 = 3^{-d} − \frac{2^{1−d}}{n} \sum_i \prod_k (1 − u_{ik}^2)
//!    + \frac{1}{n^2} \sum_{i,j} \prod_k (1 − \max(u_{ik}, u_{jk})). $$
//!
//! ```
//! use mechml_models::emulator::design::{ParamRange, ParameterSpace, SobolOptions, sobol, l2_star_discrepancy};
//! let d = sobol(64, 2, &SobolOptions::default())?;
//! let space = ParameterSpace::new(vec![ParamRange::linear("a", 0.0, 10.0), ParamRange::log("b", 1e-3, 1.0)])?;
//! let x = d.to_physical(&space)?;               // 64 points, physical values
//! assert_eq!(x.len(), 64);
//! assert!(l2_star_discrepancy(&d) < 0.03);
//! # Ok::<(), mechml_engine::Error>(())
//! ```

mod discrepancy;
mod halton;
mod joe_kuo;
mod lhs;
mod sobol;
mod space;

pub use discrepancy::l2_star_discrepancy;
pub use halton::{HaltonOptions, halton};
pub use lhs::{MaximinOptions, lhs, maximin_lhs, min_distance, phi_p};
pub use sobol::{MAX_SOBOL_DIM, SobolOptions, SobolSequence, owen_scramble, sobol};
pub use space::{ParamRange, ParameterSpace, Scale};
pub(crate) use space::{check_point, check_points};

use mechml_engine::gp::Inputs;
use mechml_engine::{Error, Result};
use serde::{Deserialize, Serialize};

/// The largest design (points × dimensions) a generator builds in memory (≈ 1.6 GB of
/// `f64`); larger requests are refused before any work.
pub const MAX_DESIGN_VALUES: usize = 200_000_000;

/// `n` points in the unit cube `[0, 1]^d`, point-major.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Design {
    n: usize,
    d: usize,
    data: Vec<f64>,
}

impl Design {
    /// From point-major unit-cube coordinates (checked: length `n d`, every value in
    /// `[0, 1]`).
    pub fn new(n: usize, d: usize, data: Vec<f64>) -> Result<Self> {
        if data.len() != n * d {
            return Err(Error::ShapeMismatch {
                op: "Design::new",
                arg: "data",
                expected: format!("len {}", n * d),
                found: format!("len {}", data.len()),
            });
        }
        if let Some(k) = data.iter().position(|v| !(0.0..=1.0).contains(v)) {
            return Err(Error::invalid_option(
                "Design::new",
                format!("point {} coordinate {}", k / d.max(1), k % d.max(1)),
                data[k],
                "a unit-cube coordinate in [0, 1]",
            ));
        }
        Ok(Self { n, d, data })
    }

    /// Number of points.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Dimension.
    pub fn d(&self) -> usize {
        self.d
    }

    /// Point `i`.
    pub fn point(&self, i: usize) -> &[f64] {
        &self.data[i * self.d..(i + 1) * self.d]
    }

    /// All coordinates, point-major.
    pub fn as_slice(&self) -> &[f64] {
        &self.data
    }

    /// The points as GP inputs (unit cube).
    pub fn to_inputs(&self) -> Result<Inputs> {
        Inputs::new(self.n, self.d, self.data.clone())
    }

    /// The physical values of every point.
    pub fn to_physical(&self, space: &ParameterSpace) -> Result<Vec<Vec<f64>>> {
        if space.dim() != self.d {
            return Err(Error::ShapeMismatch {
                op: "Design::to_physical",
                arg: "space",
                expected: format!("{} inputs", self.d),
                found: format!("{} inputs", space.dim()),
            });
        }
        (0..self.n)
            .map(|i| space.to_physical(self.point(i)))
            .collect()
    }

    /// The first `m` points.
    pub fn head(&self, m: usize) -> Design {
        let m = m.min(self.n);
        Design {
            n: m,
            d: self.d,
            data: self.data[..m * self.d].to_vec(),
        }
    }
}

/// Refuses designs larger than [`MAX_DESIGN_VALUES`] or empty, before any work.
pub fn check_size(op: &'static str, n: usize, d: usize) -> Result<()> {
    if d == 0 {
        return Err(Error::invalid_option(op, "d", 0, "at least one dimension"));
    }
    match n.checked_mul(d) {
        Some(v) if v <= MAX_DESIGN_VALUES => Ok(()),
        _ => Err(Error::invalid_option(
            op,
            "n × d",
            format!("{n} × {d}"),
            format!(
                "at most {MAX_DESIGN_VALUES} values (≈ 1.6 GB); generate in chunks with SobolSequence"
            ),
        )),
    }
}
