//! Exact diffuse initialisation of the Kalman filter (Durbin & Koopman 2012, *Time Series
//! Analysis by State Space Methods*, 2nd ed., §5.2–5.3 for the exact initial filter, §6.4
//! for its univariate treatment, §7.2.2 for the diffuse log-likelihood).
//!
//! The prior is `x₁ ~ N(m₁, κ P∞ + P*)` with `κ → ∞`: the directions of `P∞` (of rank
//! `q`) are unknown (non-stationary states, regression effects), `P* = P₁` of the model is
//! the proper part. The filter carries `P∞,t` and `P*,t` apart; each observed component
//! `y_{t,i} = zᵢᵀ x + dᵢ + εᵢ`, `εᵢ ~ N(0, σᵢ²)`, is processed in turn with
//! `v = y_{t,i} − zᵢᵀ m − dᵢ`, `M∞ = P∞ zᵢ`, `M* = P* zᵢ`, `F∞ = zᵢᵀ M∞`,
//! `F* = zᵢᵀ M* + σᵢ²`:
//!
//! ```text
//! F∞ > 0:  m ← m + M∞ v / F∞,
//!          P∞ ← P∞ − M∞ M∞ᵀ / F∞,
//!          P* ← P* + M∞ M∞ᵀ F* / F∞² − (M* M∞ᵀ + M∞ M*ᵀ) / F∞,
//!          log L_d += −½ (log 2π + log F∞);
//! F∞ = 0:  m ← m + M* v / F*,   P* ← P* − M* M*ᵀ / F*,
//!          log L_d += −½ (log 2π + log F* + v² / F*),
//! ```
//!
//! then `m ← F m + B u + c`, `P* ← F P* Fᵀ + Q`, `P∞ ← F P∞ Fᵀ`. Once `P∞` vanishes (after
//! `d` steps, usually `d ≤ q`) the ordinary filter takes over from `(m, P*)`. `log L_d` is
//! the limit of `log L_κ + (q/2) log κ` as `κ → ∞`, where `L_κ` is the likelihood under the
//! proper prior `N(m₁, κ P∞ + P*)` (D&K §7.2.2): for the local-level model it is
//! `−½ log 2π` plus the log-likelihood of the first differences.
//!
//! The univariate treatment needs a diagonal observation-noise covariance during the
//! diffuse period (D&K §6.4). Whether `F∞ > 0` is decided on values, with a tolerance
//! relative to the scale of `P∞`; derivatives are those of the branch taken.
//!
//! Gradients: the diffuse period (a few steps) is recorded on a local tape and the rest
//! is differentiated by the hand-written adjoint of [`adjoint`](super::adjoint), whose
//! adjoints of `(m, P*)` after the diffuse period seed the recorded head
//! ([`diffuse_kalman_loglik_grad`], and the tape block [`diffuse_kalman_loglik_tape`]).
//!
//! ```
//! use mechml_engine::ssm::{DiffuseInit, LinearGaussianSsm, Observations, diffuse_kalman_loglik};
//! // Local level: x' = x + w (q = 0.3), y = x + v (r = 0.5), x₁ diffuse.
//! let model = LinearGaussianSsm::time_invariant(1, 1, vec![1.0], vec![0.3], vec![1.0],
//!                                               vec![0.5], vec![0.0], vec![0.0])?;
//! let data = Observations::univariate(vec![0.3, 0.8])?;
//! let ll = diffuse_kalman_loglik(&model, &DiffuseInit::all(1), &data)?;
//! // −½ log 2π, then Δy = 0.5 ~ N(0, 2r + q).
//! let s = 2.0 * 0.5 + 0.3;
//! let ln2pi = (2.0 * std::f64::consts::PI).ln();
//! let want = -0.5 * ln2pi - 0.5 * (ln2pi + f64::ln(s) + 0.25 / s);
//! assert!((ll - want).abs() < 1e-14);
//! # Ok::<(), mechml_engine::Error>(())
//! ```

mod gradient;
mod head;
mod init;

pub use gradient::{diffuse_kalman_loglik_grad, diffuse_kalman_loglik_tape};
pub use head::{DiffuseHead, diffuse_head, diffuse_kalman_loglik};
pub use init::DiffuseInit;

/// The operation named in errors.
const OP: &str = "diffuse_kalman_filter";
