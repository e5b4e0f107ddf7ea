//! Trajectory losses and their gradients through the solvers: single shooting over time
//! windows and multiple shooting with a continuity penalty.
//!
//! **Single shooting** on the window `[t_{k0}, t_{k1}]` starts from the observation at
//! `t_{k0}` and sums squared residuals at the later observation times,
//! `L = Σ_{k0<k≤k1} ‖y(t_k; w) − y_k‖²`; its gradient in `w` is one call of
//! [`ode::gradient`] with the chosen [`Sensitivity`] (cotangents `2 (y(t_k) − y_k)`).
//!
//! **Multiple shooting** (Bock & Plitt 1984, IFAC Proc. 17(2); for neural ODEs Turan &
//! Jäschke 2022, arXiv:2109.06786) cuts the series at observation indices
//! `b_0 = 0 < b_1 < … < b_S = N−1`, makes the start of every segment a free state `u_s`,
//! and minimises
//!
//! $$\sum_s \Big[\|u_s - y_{b_s}\|^2 + \sum_{b_s<k<b_{s+1}} \|y_s(t_k) - y_k\|^2\Big]
//!   + \|y_{S-1}(t_{N-1}) - y_{N-1}\|^2
//!   + ρ \sum_{s<S-1} \|y_s(t_{b_{s+1}}) - u_{s+1}\|^2,$$
//!
//! where `y_s` solves from `u_s` at `t_{b_s}`: every observation enters once, and as
//! `ρ → ∞` with the continuity satisfied the objective is single shooting's over the whole
//! series. Segments are short, so gradients stay bounded where one long solve's explode.

use mechml_engine::ode::{self, Method, OdeOptions, OdeProblem, OdeRhs, SaveAt, Sensitivity};
use mechml_engine::{Error, Result};
use serde::{Deserialize, Serialize};

use super::data::Trajectory;

/// The solver and the gradient method used in training.
#[derive(Clone, Copy, Debug)]
pub struct SolverSettings {
    /// Integration method (Tsit5 by default).
    pub method: Method,
    /// Relative tolerance.
    pub rtol: f64,
    /// Absolute tolerance.
    pub atol: f64,
    /// Step bound per solve (an error past it, never a hang).
    pub max_steps: usize,
    /// How gradients are taken (discrete adjoint by default).
    pub sensitivity: Sensitivity,
}

impl Default for SolverSettings {
    fn default() -> Self {
        Self {
            method: Method::Tsit5,
            rtol: 1e-6,
            atol: 1e-8,
            max_steps: 100_000,
            sensitivity: Sensitivity::default(),
        }
    }
}

/// A value and its gradient.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ValueGrad {
    /// The loss.
    pub value: f64,
    /// Its gradient.
    pub grad: Vec<f64>,
}

fn solve_options(s: &SolverSettings, save: Vec<f64>) -> OdeOptions {
    OdeOptions::with_tol(s.rtol, s.atol)
        .saving(SaveAt::Times(save))
        .max_steps(s.max_steps)
}

/// Sum of squared residuals of single shooting on the window `k0..=k1` of `data`
/// (start: the observation at `k0`), and its gradient in `w` (plus, when `with_y0`, in
/// the initial state, appended).
///
/// # Errors
/// A window outside the data, a parameter vector of the wrong length, or a solver failure
/// (naming the time and step).
pub fn window_loss<F: OdeRhs + Clone>(
    rhs: &F,
    w: &[f64],
    data: &Trajectory,
    (k0, k1): (usize, usize),
    y0: Option<&[f64]>,
    s: &SolverSettings,
) -> Result<(ValueGrad, Vec<f64>)> {
    if k0 >= k1 || k1 >= data.len() {
        return Err(Error::invalid_option(
            "de::window_loss",
            "(k0, k1)",
            format!("({k0}, {k1})"),
            format!("k0 < k1 < {}", data.len()),
        ));
    }
    let (ts, ys) = (data.ts(), data.ys());
    let start = y0.map_or_else(|| ys[k0].clone(), <[f64]>::to_vec);
    let prob = OdeProblem::new(rhs.clone(), ts[k0], ts[k1], start, w.to_vec())?;
    let opts = solve_options(s, ts[k0 + 1..=k1].to_vec());
    let obs = &ys[k0 + 1..=k1];
    let (value, g) = ode::gradient(&prob, s.method, &opts, s.sensitivity, |sol| {
        let mut l = 0.0;
        let mut cot = Vec::with_capacity(obs.len());
        for (y, o) in sol.ys.iter().zip(obs) {
            let r: Vec<f64> = y.iter().zip(o).map(|(a, b)| a - b).collect();
            l += r.iter().map(|v| v * v).sum::<f64>();
            cot.push(r.iter().map(|v| 2.0 * v).collect());
        }
        (l, cot)
    })?;
    Ok((ValueGrad { value, grad: g.p }, g.y0))
}

/// The segment boundaries of multiple shooting: every `segment` observation intervals,
/// the last segment taking the remainder.
///
/// # Errors
/// `segment` of 0.
pub fn segment_bounds(n_obs: usize, segment: usize) -> Result<Vec<usize>> {
    if segment == 0 {
        return Err(Error::invalid_option(
            "de::multiple shooting",
            "segment",
            "0",
            "at least one observation interval per segment",
        ));
    }
    let mut b: Vec<usize> = (0..n_obs - 1).step_by(segment).collect();
    b.push(n_obs - 1);
    Ok(b)
}

/// The multiple-shooting objective (module doc) at `z = [w, u_0, …, u_{S−1}]` and its
/// gradient, for the boundaries `bounds` ([`segment_bounds`]) and penalty `rho`.
///
/// # Errors
/// Wrong lengths, a non-positive penalty, or a solver failure.
pub fn multiple_shooting_loss<F: OdeRhs + Clone>(
    rhs: &F,
    z: &[f64],
    data: &Trajectory,
    bounds: &[usize],
    rho: f64,
    s: &SolverSettings,
) -> Result<ValueGrad> {
    let (np, n) = (rhs.n_params(), rhs.n_states());
    let n_seg = bounds.len() - 1;
    if z.len() != np + n_seg * n {
        return Err(Error::invalid_option(
            "de::multiple_shooting_loss",
            "z",
            format!("length {}", z.len()),
            format!(
                "length {} (weights, then one state per segment)",
                np + n_seg * n
            ),
        ));
    }
    if !(rho.is_finite() && rho > 0.0) {
        return Err(Error::invalid_option(
            "de::multiple_shooting_loss",
            "rho",
            rho.to_string(),
            "positive, finite",
        ));
    }
    let (ts, ys) = (data.ts(), data.ys());
    let w = &z[..np];
    let mut grad = vec![0.0; z.len()];
    let mut value = 0.0;
    for sg in 0..n_seg {
        let (b0, b1) = (bounds[sg], bounds[sg + 1]);
        let u = &z[np + sg * n..np + (sg + 1) * n];
        for i in 0..n {
            let r = u[i] - ys[b0][i];
            value += r * r;
            grad[np + sg * n + i] += 2.0 * r;
        }
        let last = sg + 1 == n_seg;
        let next_u = (!last).then(|| &z[np + (sg + 1) * n..np + (sg + 2) * n]);
        let prob = OdeProblem::new(rhs.clone(), ts[b0], ts[b1], u.to_vec(), w.to_vec())?;
        let opts = solve_options(s, ts[b0 + 1..=b1].to_vec());
        let mut cont_grad = vec![0.0; n];
        let (v, g) = ode::gradient(&prob, s.method, &opts, s.sensitivity, |sol| {
            let mut l = 0.0;
            let mut cot = Vec::with_capacity(sol.ys.len());
            for (j, y) in sol.ys.iter().enumerate() {
                let k = b0 + 1 + j;
                let (target, weight) = match (k == b1, next_u) {
                    (true, Some(nu)) => (nu, rho),
                    _ => (ys[k].as_slice(), 1.0),
                };
                let r: Vec<f64> = y.iter().zip(target).map(|(a, b)| a - b).collect();
                l += weight * r.iter().map(|v| v * v).sum::<f64>();
                if k == b1 && next_u.is_some() {
                    for i in 0..n {
                        cont_grad[i] = -2.0 * weight * r[i];
                    }
                }
                cot.push(r.iter().map(|v| 2.0 * weight * v).collect());
            }
            (l, cot)
        })?;
        value += v;
        for (a, b) in grad[..np].iter_mut().zip(&g.p) {
            *a += b;
        }
        for i in 0..n {
            grad[np + sg * n + i] += g.y0[i];
        }
        if !last {
            for i in 0..n {
                grad[np + (sg + 1) * n + i] += cont_grad[i];
            }
        }
    }
    Ok(ValueGrad { value, grad })
}
