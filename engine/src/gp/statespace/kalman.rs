//! The Kalman filter log-likelihood of a state-space Matérn GP with Gaussian noise, in
//! `O(n q³)` for `n` sorted times (Hartikainen & Särkkä 2010, §3; Särkkä 2013, *Bayesian
//! Filtering and Smoothing*, Alg. 4.3 with the prediction-error decomposition eq. 12.11):
//!
//! ```text
//! predict:  m⁻ = Φ m,   P⁻ = P∞ + Φ (P − P∞) Φᵀ
//! update:   S = P⁻₀₀ + σ_n²,  v = y − m⁻₀,  log p += −½ (log 2πS + v²/S)
//!           K = P⁻_{:,0} / S,  m = m⁻ + K v,  P = P⁻ − S K Kᵀ
//! ```
//!
//! Written once for every [`Real`], so dual numbers give the exact gradient in one forward
//! pass (`O(n)` as well).

use super::sde::{MaternOrder, Small, sandwich, stationary, transition, zeros};
use crate::ad::Real;

const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// `log p(y)` for times `t` (non-decreasing), observations `y`, and
/// `params = (log ℓ, log σ², log σ_n²)`.
pub fn kalman_log_likelihood<R: Real>(
    order: MaternOrder,
    params: &[R; 3],
    t: &[f64],
    y: &[f64],
) -> R {
    let q = order.state_dim();
    let (lam, pinf) = stationary(order, params[0], params[1]);
    let noise = params[2].exp();
    let mut m = [R::zero(); 3];
    let mut p = pinf;
    let mut ll = R::zero();
    let mut cache: Option<(f64, Small<R>)> = None;
    for k in 0..t.len() {
        if k > 0 {
            let dt = t[k] - t[k - 1];
            let phi = match cache {
                Some((d, ph)) if d == dt => ph,
                _ => {
                    let ph = transition(order, lam, dt);
                    cache = Some((dt, ph));
                    ph
                }
            };
            let mut mp = [R::zero(); 3];
            for i in 0..q {
                for j in 0..q {
                    mp[i] += phi[i][j] * m[j];
                }
            }
            m = mp;
            let mut dev: Small<R> = zeros();
            for i in 0..q {
                for j in 0..q {
                    dev[i][j] = p[i][j] - pinf[i][j];
                }
            }
            let s = sandwich(q, &phi, &dev);
            for i in 0..q {
                for j in 0..q {
                    p[i][j] = pinf[i][j] + s[i][j];
                }
            }
        }
        let s = p[0][0] + noise;
        let v = -m[0] + y[k];
        ll += (s.ln() + v * v / s + LN_2PI) * -0.5;
        let mut kg = [R::zero(); 3];
        for i in 0..q {
            kg[i] = p[i][0] / s;
        }
        for i in 0..q {
            m[i] += kg[i] * v;
        }
        for i in 0..q {
            for j in 0..q {
                p[i][j] -= kg[i] * kg[j] * s;
            }
        }
    }
    ll
}
