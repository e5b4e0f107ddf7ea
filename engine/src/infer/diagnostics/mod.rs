//! Convergence diagnostics for Markov chains (Vehtari, Gelman, Simpson, Carpenter &
//! Bürkner 2021, Bayesian Analysis 16(2), 667–718): rank-normalised split-R̂, bulk- and
//! tail-ESS, Monte Carlo standard errors; the energy diagnostic E-BFMI (Betancourt 2016,
//! arXiv:1604.00695, §6.1); and the [`Summary`] table.
//!
//! Every function takes the draws of one quantity as one slice per chain.
//!
//! ```
//! use mechml_engine::infer::diagnostics::{ess_bulk, rhat};
//! // Two chains sampling different places: R-hat flags it.
//! let a: Vec<f64> = (0..100).map(|i| (i as f64 * 0.37).sin()).collect();
//! let b: Vec<f64> = a.iter().map(|v| v + 3.0).collect();
//! assert!(rhat(&[&a, &b])? > 1.5);
//! assert!(ess_bulk(&[&a, &a])? > 0.0);
//! # Ok::<(), mechml_engine::Error>(())
//! ```

pub mod ess;
pub mod fft;
pub mod mcse;
pub mod summary;

pub use ess::{ess_bulk, ess_mean, ess_quantile, ess_tail, rhat};
pub use mcse::{mcse_mean, mcse_quantile};
pub use summary::{Summary, SummaryRow};

/// E-BFMI of one chain's energies `E_n` (the Hamiltonian at each draw):
/// `Σ_n (E_n − E_{n−1})² / Σ_n (E_n − Ē)²` (Betancourt 2016, eq. 6.1's estimator, as
/// ArviZ computes it). Values below 0.3 suggest the momentum resampling explores the
/// energy distribution poorly. `NaN` for fewer than 2 draws or constant energies.
pub fn ebfmi(energy: &[f64]) -> f64 {
    let n = energy.len();
    if n < 2 {
        return f64::NAN;
    }
    let mean = energy.iter().sum::<f64>() / n as f64;
    let den = energy.iter().map(|e| (e - mean) * (e - mean)).sum::<f64>();
    let num = energy
        .windows(2)
        .map(|w| (w[1] - w[0]).powi(2))
        .sum::<f64>();
    if den > 0.0 { num / den } else { f64::NAN }
}
