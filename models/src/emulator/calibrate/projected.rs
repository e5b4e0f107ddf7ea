//! Calibration against linear functionals of a field (block means, period means): the
//! emulator `N(μ, Φ diag(v) Φᵀ + diag(τ²))` seen through a matrix `A` is
//! `N(Aμ, (AΦ) diag(v) (AΦ)ᵀ + A diag(τ²) Aᵀ)`; the last term is kept on its diagonal
//! (for disjoint blocks, as block means are, it is diagonal).

use faer::Mat;
use mechml_engine::{Error, Result};

use super::density::{CalibrationEmulator, EmuMoments};

/// An emulator seen through a linear map `A` (`r × T`).
pub struct Projected<'a, E: CalibrationEmulator> {
    emu: &'a E,
    a: Mat<f64>,
    components: Mat<f64>,
    fixed: Vec<f64>,
}

impl<'a, E: CalibrationEmulator> Projected<'a, E> {
    /// `rows[r]` holds the weights of functional `r` over the emulator's `T` outputs.
    ///
    /// # Errors
    /// No rows, or a row whose length is not `T`, or a non-finite weight.
    pub fn new(emu: &'a E, rows: &[Vec<f64>]) -> Result<Self> {
        let t = emu.n_outputs();
        if rows.is_empty() {
            return Err(Error::invalid_option(
                "Projected",
                "rows",
                0,
                "at least one functional",
            ));
        }
        if let Some((i, r)) = rows.iter().enumerate().find(|(_, r)| r.len() != t) {
            return Err(Error::ShapeMismatch {
                op: "Projected",
                arg: "rows",
                expected: format!("{t} weights per row (the emulator's outputs)"),
                found: format!("{} in row {i}", r.len()),
            });
        }
        if let Some(i) = rows.iter().position(|r| r.iter().any(|w| !w.is_finite())) {
            return Err(Error::invalid_option(
                "Projected",
                format!("rows[{i}]"),
                "a non-finite weight",
                "finite weights",
            ));
        }
        let a = Mat::from_fn(rows.len(), t, |i, j| rows[i][j]);
        let components = match emu.components() {
            Some(phi) => &a * phi,
            None => a.clone(),
        };
        let tau = emu.fixed_var();
        let fixed = rows
            .iter()
            .map(|r| r.iter().zip(&tau).map(|(w, v)| w * w * v).sum())
            .collect();
        Ok(Self {
            emu,
            a,
            components,
            fixed,
        })
    }
}

impl<E: CalibrationEmulator> CalibrationEmulator for Projected<'_, E> {
    fn dim(&self) -> usize {
        self.emu.dim()
    }
    fn n_outputs(&self) -> usize {
        self.a.nrows()
    }
    fn components(&self) -> Option<&Mat<f64>> {
        Some(&self.components)
    }
    fn fixed_var(&self) -> Vec<f64> {
        self.fixed.clone()
    }
    fn moments(&self, x: &[f64]) -> Result<EmuMoments> {
        let m = self.emu.moments(x)?;
        let (r, t, d) = (self.a.nrows(), self.a.ncols(), x.len());
        let mut mean = vec![0.0; r];
        let mut dmean = vec![0.0; r * d];
        for i in 0..r {
            for j in 0..t {
                let w = self.a[(i, j)];
                if w == 0.0 {
                    continue;
                }
                mean[i] += w * m.mean[j];
                for c in 0..d {
                    dmean[i * d + c] += w * m.dmean[j * d + c];
                }
            }
        }
        Ok(EmuMoments {
            mean,
            dmean,
            var: m.var,
            dvar: m.dvar,
        })
    }
}
