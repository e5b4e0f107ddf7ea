//! Ensemble analysis updates: from a forecast ensemble `E` (`N × n`, rows are members), its
//! observed ensemble `h(E)` (`N × p`), an observation `y` and the diagonal `R`, compute the
//! analysis ensemble.
//!
//! Notation (Hunt, Kostelich & Szunyogh 2007, Physica D 230; Sakov & Oke 2008, Tellus A
//! 60): `x̄`, `A = E − 1x̄ᵀ` the state mean and anomalies; `ȳ`, `Y = h(E) − 1ȳᵀ` those of
//! the observed ensemble; the scaled anomalies `Ỹ = Y R^{-1/2}` and innovation
//! `d̃ = R^{-1/2}(y − ȳ)`; `N₁ = N − 1`. With the ensemble covariance `P = AᵀA/N₁`, every
//! global update here is a left multiplication `E_a = G E` by an `N × N` *transform*
//! ([`transform`]), which needs only `h(E)`, works for a nonlinear `h` and any state size,
//! and is the object the ensemble smoother applies to past ensembles:
//!
//! * **Stochastic EnKF** (perturbed observations; Burgers, van Leeuwen & Evensen 1998,
//!   MWR 126; Houtekamer & Mitchell 1998): each member is updated with its own perturbed
//!   observation `y + ε_m`, `ε_m ~ N(0, R)` (centred over the members, as in Sakov & Oke
//!   2008): `E_a = E + D̃ Ỹᵀ C^{-1} A` with `C = ỸỸᵀ + N₁ I` and `D̃` the scaled perturbed
//!   innovations, i.e. the gain `K = Aᵀ C^{-1} Ỹ R^{-1/2}`.
//! * **DEnKF** (Sakov & Oke 2008, eq. 9–10): the mean with the full gain, the anomalies
//!   with half of it: `x̄_a = x̄ + K(y − ȳ)`, `A_a = A − ½ Y Kᵀ`.
//! * **ETKF** with the symmetric square root (Bishop, Etherton & Majumdar 2001; Wang,
//!   Bishop & Julier 2004; Hunt et al. 2007, eq. 20–25): `M = ỸỸᵀ + N₁ I`,
//!   `w̄ = M^{-1} Ỹ d̃`, `T = √N₁ M^{-1/2}`, `E_a = 1(x̄ + Aᵀw̄)ᵀ + T A`.
//! * **Serial EnSRF** (Whitaker & Hamill 2002, MWR 130, eq. 13): observations one at a
//!   time, each with the rank-one square root `I − β ỹⱼỹⱼᵀ`, `β = 1/(c + √(N₁ c))`,
//!   `c = ỹⱼᵀỹⱼ + N₁`, applied to the anomalies and to the remaining observed anomalies.
//! * **EnKF-N** (Bocquet 2011, NPG 18; Bocquet, Raanes & Hannart 2015, NPG 22, §3): the
//!   finite-size prior `p(x|E) ∝ (ε_N + ‖w‖²)^{-N/2}` with `ε_N = 1 + 1/N`; the analysis
//!   minimises the dual cost over `ζ ∈ (0, N/ε_N]`
//!   $$ \mathcal D(ζ) = ½ d̃ᵀ(I + ỸᵀỸ/ζ)^{-1} d̃ + ½ ε_N ζ + ½ N \ln(N/ζ) − ½N, $$
//!   then `w̄ = (ỸỸᵀ + ζ I)^{-1} Ỹ d̃` and `T = √N₁ (ỸỸᵀ + ζ I)^{-1/2}`; `ζ` acts as an
//!   adaptive inflation `λ² = N₁/ζ` (no tuning).
//! * **LETKF** ([`letkf`]): the ETKF for every state variable with the observations
//!   near it, weighted by a Gaspari–Cohn taper (Hunt et al. 2007, §2.3).
//!
//! After the update, multiplicative inflation multiplies the anomalies (covariance by
//! `λ²`), additive inflation adds `N(0, σ²)` noise, and an optional random
//! mean-preserving rotation mixes the members ([`EnsembleFilter`]).

pub mod filter;
pub mod letkf;
pub mod localization;
pub mod transform;

pub use filter::{AnalysisInfo, EnsembleFilter, FilterOptions};
pub use letkf::{Letkf, LetkfOptions};
pub use localization::{Localization, gaspari_cohn};
pub use transform::{
    AnalysisInput, EnkfNOptions, denkf_transform, enkf_n_transform, etkf_transform,
    serial_transform, stochastic_transform,
};

use serde::{Deserialize, Serialize};

/// Which analysis update an [`EnsembleFilter`] runs (see the [module docs](self)).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "update")]
pub enum AnalysisScheme {
    /// Stochastic EnKF with perturbed observations.
    Stochastic {
        /// Centre the observation perturbations over the members (default true).
        #[serde(default = "yes")]
        centred: bool,
    },
    /// Deterministic EnKF of Sakov & Oke (2008).
    Denkf,
    /// ETKF with the symmetric square root.
    Etkf,
    /// Serial ensemble square-root filter.
    Serial,
    /// Finite-size EnKF-N.
    EnkfN(EnkfNOptions),
    /// Local ETKF.
    Letkf(LetkfOptions),
}

fn yes() -> bool {
    true
}
