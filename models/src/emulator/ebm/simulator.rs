//! The two-box energy-balance model run forward under historical forcing, as the
//! "expensive simulator" of the emulation study (Held et al. 2010, J. Climate 23;
//! Geoffroy et al. 2013, J. Climate 26, eqs. (1)–(2); the deterministic part of
//! Cummins, Stephenson & Stott 2020):
//!
//! $$ C_1 \dot T_1 = F(t) − λ T_1 − ε κ_2 (T_1 − T_2), \qquad C_2 \dot T_2 = κ_2 (T_1 − T_2), $$
//!
//! from rest in the first forcing year, with the forcing held constant over each year,
//! integrated exactly over each year by [`KBoxEbm::response`] (the discretisation of the
//! state-space model: `T_{k+1} = e^{A} T_k + ∫₀¹ e^{As} ds\, b F_k`). The outputs are the
//! top-box temperatures at the end of each output year as anomalies from their mean over a
//! baseline period (as the observations are). The response is generic over [`Real`], so
//! the Jacobian comes from dual numbers.

use mechml_engine::ad::{Dual, Real};
use mechml_engine::{Error, Result};

use crate::emulator::simulator::Simulator;
use crate::ssm::ebm::KBoxEbm;

/// Top-box temperatures `T₁` at the end of each forcing year, from rest, for
/// `p = (C₁, C₂, λ, κ₂, ε)` (the deterministic two-box response of [`KBoxEbm::response`]).
///
/// # Errors
/// Parameters the model refuses (e.g. non-finite), a non-finite forcing.
pub fn two_box_trajectory<R: Real>(p: &[R], forcing: &[f64]) -> Result<Vec<R>> {
    let ebm = KBoxEbm::new(2, false, false)?;
    // C1, C2, kappa1 = λ, kappa2, epsilon, sigma_xi, F (forcing scale), sigma_T, T0.
    let (z, one) = (R::zero(), R::one());
    let params = ebm.params_from_slice(&[p[0], p[1], p[2], p[3], p[4], z, one, z, z])?;
    let r = ebm.response(&params, forcing, 1.0)?;
    Ok(r.top()[1..].to_vec())
}

/// The two-box EBM over a historical forcing series, returning anomalies of `T₁` over
/// the output years from their baseline mean.
#[derive(Clone, Debug)]
pub struct Ebm2BoxSimulator {
    forcing: Vec<f64>,
    first_year: i32,
    out_years: (i32, i32),
    baseline: (i32, i32),
}

/// Input names, in order.
pub const EBM_INPUTS: [&str; 5] = ["C1", "C2", "lambda", "kappa2", "epsilon"];

impl Ebm2BoxSimulator {
    /// `forcing[k]` is the forcing (W m⁻²) of year `first_year + k`; outputs cover
    /// `out_years` (inclusive), as anomalies from the mean over `baseline` (inclusive,
    /// inside the output years).
    pub fn new(
        forcing: Vec<f64>,
        first_year: i32,
        out_years: (i32, i32),
        baseline: (i32, i32),
    ) -> Result<Self> {
        let last = first_year + forcing.len() as i32 - 1;
        if out_years.0 < first_year || out_years.1 > last || out_years.0 > out_years.1 {
            return Err(Error::invalid_option(
                "Ebm2BoxSimulator",
                "out_years",
                format!("{}–{}", out_years.0, out_years.1),
                format!("inside the forcing years {first_year}–{last}"),
            ));
        }
        if baseline.0 < out_years.0 || baseline.1 > out_years.1 || baseline.0 > baseline.1 {
            return Err(Error::invalid_option(
                "Ebm2BoxSimulator",
                "baseline",
                format!("{}–{}", baseline.0, baseline.1),
                "inside the output years",
            ));
        }
        if let Some(k) = forcing.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                op: "Ebm2BoxSimulator",
                index: k,
                value: forcing[k],
                context: format!("forcing of year {}", first_year + k as i32),
            });
        }
        Ok(Self {
            forcing,
            first_year,
            out_years,
            baseline,
        })
    }

    /// The output years.
    pub fn years(&self) -> Vec<i32> {
        (self.out_years.0..=self.out_years.1).collect()
    }

    fn outputs<R: Real>(&self, p: &[R]) -> Result<Vec<R>> {
        let traj = two_box_trajectory(
            p,
            &self.forcing[..=(self.out_years.1 - self.first_year) as usize],
        )?;
        let lo = (self.out_years.0 - self.first_year) as usize;
        let out = &traj[lo..];
        let (b0, b1) = (
            (self.baseline.0 - self.out_years.0) as usize,
            (self.baseline.1 - self.out_years.0) as usize,
        );
        let nb = (b1 - b0 + 1) as f64;
        let mut base = R::zero();
        for v in &out[b0..=b1] {
            base += *v;
        }
        let base = base / nb;
        Ok(out.iter().map(|v| *v - base).collect())
    }

    fn check(&self, x: &[f64]) -> Result<()> {
        if x.len() != 5 {
            return Err(Error::ShapeMismatch {
                op: "Ebm2BoxSimulator",
                arg: "x",
                expected: "5 inputs (C1, C2, lambda, kappa2, epsilon)".into(),
                found: x.len().to_string(),
            });
        }
        if let Some(k) = x.iter().position(|v| !(v.is_finite() && *v > 0.0)) {
            return Err(Error::invalid_option(
                "Ebm2BoxSimulator",
                EBM_INPUTS[k],
                x[k],
                "finite and > 0",
            ));
        }
        Ok(())
    }
}

impl Simulator for Ebm2BoxSimulator {
    fn n_inputs(&self) -> usize {
        5
    }
    fn n_outputs(&self) -> usize {
        (self.out_years.1 - self.out_years.0 + 1) as usize
    }
    fn name(&self) -> String {
        format!(
            "ebm2box forced {}–{}, outputs {}–{}, baseline {}–{}",
            self.first_year,
            self.first_year + self.forcing.len() as i32 - 1,
            self.out_years.0,
            self.out_years.1,
            self.baseline.0,
            self.baseline.1
        )
    }
    fn run(&self, x: &[f64]) -> Result<Vec<f64>> {
        self.check(x)?;
        self.outputs(x)
    }
    fn has_gradient(&self) -> bool {
        true
    }
    fn run_with_gradient(&self, x: &[f64]) -> Result<(Vec<f64>, Vec<f64>)> {
        self.check(x)?;
        let m = self.n_outputs();
        let mut jac = vec![0.0; m * 5];
        let mut y = Vec::new();
        for k in 0..5 {
            let p: Vec<Dual> = x
                .iter()
                .enumerate()
                .map(|(i, &v)| Dual::dual(v, if i == k { 1.0 } else { 0.0 }))
                .collect();
            let out = self.outputs(&p)?;
            for (i, o) in out.iter().enumerate() {
                jac[i * 5 + k] = o.tangent();
            }
            if k == 0 {
                y = out.iter().map(|o| o.v).collect();
            }
        }
        Ok((y, jac))
    }
}
