//! The ensemble Kalman smoother with a fixed lag (Evensen & van Leeuwen 2000, MWR 128;
//! in transform form, Raanes 2016, QJRMS 142, §2).
//!
//! Every global ensemble analysis is a left multiplication `E_a = G E`
//! ([`analysis`](super::analysis)); since the cross-covariances between the state at an
//! earlier time j and the observed state now are `A_jᵀ Y/(N − 1)`, the smoother update of
//! the ensemble at time j is the same transform: `E_j ← G E_j`, for the `lag` most recent
//! past ensembles. The smoothed estimate of time k is final after the analysis at time
//! `k + lag`. Inflation and additive noise apply to the filter ensemble only; rotations
//! would break the member-by-member link between times and are refused.

use std::collections::VecDeque;

use mechml_engine::{Error, Result};

use super::Ensemble;
use super::analysis::{AnalysisScheme, EnsembleFilter};
use super::dynamics::Model;
use super::obs::ObsModel;

/// A fixed-lag EnKS on top of an [`EnsembleFilter`] with a global scheme.
#[derive(Clone, Debug)]
pub struct EnsembleSmoother {
    filter: EnsembleFilter,
    lag: usize,
    past: VecDeque<Ensemble>,
}

impl EnsembleSmoother {
    /// Wraps `filter` (not the LETKF, not rotating) with a lag of `lag` analyses.
    pub fn new(filter: EnsembleFilter, lag: usize) -> Result<Self> {
        if matches!(filter.options().scheme, AnalysisScheme::Letkf(_)) {
            return Err(Error::invalid_option(
                "EnsembleSmoother",
                "scheme",
                "letkf",
                "a global scheme (its analysis is one N × N transform)",
            ));
        }
        if filter.options().rotate {
            return Err(Error::invalid_option(
                "EnsembleSmoother",
                "rotate",
                true,
                "false (rotations break the link between members over time)",
            ));
        }
        Ok(Self {
            filter,
            lag,
            past: VecDeque::new(),
        })
    }

    /// The filter.
    pub fn filter(&self) -> &EnsembleFilter {
        &self.filter
    }

    /// Forecast step of the filter.
    pub fn forecast<M: Model + ?Sized>(&mut self, model: &M, noise_std: f64) -> Result<()> {
        self.filter.forecast(model, noise_std)
    }

    /// Analysis: updates the filter ensemble and the `lag` past ensembles, then keeps the
    /// new analysis. Returns the smoothed ensemble that leaves the window (the time `lag`
    /// analyses ago), once the window is full.
    pub fn analyse(&mut self, obs: &ObsModel, y: &[f64]) -> Result<Option<Ensemble>> {
        let info = self.filter.analyse(obs, y)?;
        let g = info
            .transform
            .expect("global schemes return their transform");
        for e in self.past.iter_mut() {
            e.transform(g.as_ref())?;
        }
        self.past.push_back(self.filter.ensemble().clone());
        if self.past.len() > self.lag {
            Ok(self.past.pop_front())
        } else {
            Ok(None)
        }
    }

    /// The ensembles still in the window, oldest first (smoothed with the analyses so far).
    pub fn window(&self) -> impl Iterator<Item = &Ensemble> {
        self.past.iter()
    }
}
