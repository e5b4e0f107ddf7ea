//! Gaspari–Cohn localisation on a periodic one-dimensional grid (the ring of Lorenz-96).
//!
//! The taper is the compactly supported fifth-order piecewise rational function of
//! Gaspari & Cohn (1999, QJRMS 125, eq. 4.10), with `z = d/c`:
//!
//! $$ ρ(z) = \begin{cases}
//!   −¼z⁵ + ½z⁴ + ⅝z³ − \tfrac53 z² + 1, & 0 ≤ z ≤ 1,\\
//!   \tfrac1{12}z⁵ − ½z⁴ + ⅝z³ + \tfrac53 z² − 5z + 4 − \tfrac{2}{3z}, & 1 < z ≤ 2,\\
//!   0, & z > 2. \end{cases} $$
//!
//! The *radius* `r` follows the convention of Sakov & Bertino (2011, Comput. Geosci. 15)
//! and DAPPER: `c = r √(10/3)`, so that `ρ ≈ 1 − d²/(2r²)` near 0 (a Gaussian of standard
//! deviation `r` to second order; DAPPER rounds √(10/3) to 1.82) and the support is
//! `|d| < 2c ≈ 3.65 r`. The LETKF applies `ρ` to the inverse observation-error variances
//! (R-localisation; Hunt et al. 2007, §2.3): an observation at distance `d` enters the
//! local analysis with variance `R_jj / ρ(d/c)`; tapers at or below `cutoff` are dropped.

use mechml_engine::{Error, Result};
use serde::{Deserialize, Serialize};

/// Gaspari–Cohn localisation (see the [module docs](self)).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Localization {
    /// The radius r in grid points (`c = r √(10/3)`).
    pub radius: f64,
    /// Observations whose taper is at most this are left out of a local analysis
    /// (DAPPER's default, 1e-3).
    #[serde(default = "default_cutoff")]
    pub cutoff: f64,
}

fn default_cutoff() -> f64 {
    1e-3
}

impl Localization {
    /// Radius `r` with the default cutoff.
    pub fn new(radius: f64) -> Self {
        Self {
            radius,
            cutoff: default_cutoff(),
        }
    }

    /// Checks `radius > 0` (∞ allowed: no localisation) and `0 ≤ cutoff < 1`.
    pub fn validate(&self) -> Result<()> {
        if self.radius.is_nan() || self.radius <= 0.0 {
            return Err(Error::invalid_option(
                "Localization",
                "radius",
                self.radius,
                "> 0 (inf for none)",
            ));
        }
        if !(self.cutoff >= 0.0 && self.cutoff < 1.0) {
            return Err(Error::invalid_option(
                "Localization",
                "cutoff",
                self.cutoff,
                "in [0, 1)",
            ));
        }
        Ok(())
    }

    /// The Gaspari–Cohn half-width `c = r √(10/3)`.
    pub fn half_width(&self) -> f64 {
        self.radius * (10.0_f64 / 3.0).sqrt()
    }

    /// The taper at distance `d`.
    pub fn taper(&self, d: f64) -> f64 {
        if self.radius.is_infinite() {
            1.0
        } else {
            gaspari_cohn(d / self.half_width())
        }
    }

    /// For every grid point of a ring of `n` points, the observations (by index into
    /// `locations`) within the support and their tapers, in increasing observation index.
    pub fn local_sets(&self, n: usize, locations: &[usize]) -> Result<LocalSets> {
        self.validate()?;
        if let Some((j, &l)) = locations.iter().enumerate().find(|(_, l)| **l >= n) {
            return Err(Error::invalid_option(
                "Localization::local_sets",
                format!("locations[{j}]"),
                l,
                format!("< {n}"),
            ));
        }
        let mut by_point: Vec<Vec<u32>> = vec![Vec::new(); n];
        for (j, &l) in locations.iter().enumerate() {
            by_point[l].push(j as u32);
        }
        let reach = if self.radius.is_infinite() {
            n
        } else {
            ((2.0 * self.half_width()).ceil() as usize).min(n)
        };
        let mut offsets = Vec::with_capacity(n + 1);
        let mut obs = Vec::new();
        let mut weights = Vec::new();
        offsets.push(0);
        let mut scratch: Vec<(u32, f64)> = Vec::new();
        for i in 0..n {
            scratch.clear();
            // Grid points within `reach` on the ring, each once.
            let span = (2 * reach + 1).min(n);
            for k in 0..span {
                let l = (i + n - reach.min(n / 2) + k) % n;
                let diff = l.abs_diff(i);
                let d = diff.min(n - diff) as f64;
                let rho = self.taper(d);
                if rho > self.cutoff {
                    scratch.extend(by_point[l].iter().map(|&j| (j, rho)));
                }
            }
            scratch.sort_unstable_by_key(|&(j, _)| j);
            scratch.dedup_by_key(|&mut (j, _)| j);
            obs.extend(scratch.iter().map(|&(j, _)| j));
            weights.extend(scratch.iter().map(|&(_, w)| w));
            offsets.push(obs.len());
        }
        Ok(LocalSets {
            offsets,
            obs,
            weights,
        })
    }
}

/// For each grid point, its local observations and their tapers (compressed rows).
#[derive(Clone, Debug, PartialEq)]
pub struct LocalSets {
    offsets: Vec<usize>,
    obs: Vec<u32>,
    weights: Vec<f64>,
}

impl LocalSets {
    /// Number of grid points.
    pub fn n_points(&self) -> usize {
        self.offsets.len() - 1
    }
    /// The local observations of point `i` and their tapers.
    pub fn of(&self, i: usize) -> (&[u32], &[f64]) {
        let (a, b) = (self.offsets[i], self.offsets[i + 1]);
        (&self.obs[a..b], &self.weights[a..b])
    }
    /// Mean number of local observations per point.
    pub fn mean_count(&self) -> f64 {
        self.obs.len() as f64 / self.n_points().max(1) as f64
    }
}

/// The Gaspari–Cohn function of `z = d/c` (Gaspari & Cohn 1999, eq. 4.10).
pub fn gaspari_cohn(z: f64) -> f64 {
    let z = z.abs();
    if z <= 1.0 {
        let z2 = z * z;
        let z3 = z2 * z;
        ((-0.25 * z + 0.5) * z + 0.625) * z3 - (5.0 / 3.0) * z2 + 1.0
    } else if z <= 2.0 {
        let z2 = z * z;
        let z3 = z2 * z;
        (((1.0 / 12.0) * z - 0.5) * z + 0.625) * z3 + (5.0 / 3.0) * z2 - 5.0 * z + 4.0
            - 2.0 / (3.0 * z)
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaspari_cohn_is_continuous_and_compact() {
        assert_eq!(gaspari_cohn(0.0), 1.0);
        for z in [1.0, 2.0] {
            let (a, b) = (gaspari_cohn(z - 1e-9), gaspari_cohn(z + 1e-9));
            assert!((a - b).abs() < 1e-7, "{z}: {a} {b}");
        }
        assert!(gaspari_cohn(2.0).abs() < 1e-12);
        assert_eq!(gaspari_cohn(2.5), 0.0);
        // Slopes match at z = 1 (C¹... in fact C² there).
        let h = 1e-6;
        let d1 = (gaspari_cohn(1.0) - gaspari_cohn(1.0 - h)) / h;
        let d2 = (gaspari_cohn(1.0 + h) - gaspari_cohn(1.0)) / h;
        assert!((d1 - d2).abs() < 1e-4);
        // Gaussian curvature at 0 with c = r√(10/3): ρ(d) ≈ 1 − d²/(2r²).
        let loc = Localization::new(4.0);
        let d = 0.01;
        assert!(((1.0 - loc.taper(d)) / (d * d / 32.0) - 1.0).abs() < 1e-3);
    }

    #[test]
    fn local_sets_on_the_ring() {
        let loc = Localization::new(1.0);
        let locs: Vec<usize> = (0..10).collect();
        let sets = loc.local_sets(10, &locs).unwrap();
        let (obs, w) = sets.of(0);
        // Support 2c ≈ 3.65: distances 0..=3 on both sides: points 7, 8, 9, 0, 1, 2, 3.
        assert_eq!(obs, &[0, 1, 2, 3, 7, 8, 9]);
        assert!((w[1] - w[6]).abs() < 1e-15 && w[0] == 1.0);
        let all = Localization::new(f64::INFINITY)
            .local_sets(10, &locs)
            .unwrap();
        assert_eq!(all.of(3).0.len(), 10);
        assert!(Localization::new(-1.0).validate().is_err());
    }
}
