//! [`TemporalGp`]: GP regression in time with a Matérn kernel, in `O(n)` by Kalman
//! filtering (likelihood and its exact gradient by dual numbers) and RTS smoothing
//! (predictions; Rauch, Tung & Striebel 1965; Särkkä 2013, Alg. 8.2).

use serde::{Deserialize, Serialize};

use super::kalman::kalman_log_likelihood;
use super::sde::{MaternOrder, Small, mul, sandwich, stationary, transition, zeros};
use crate::ad::block::{BlockOp, InputAdjoints};
use crate::ad::{DualN, Tape, Var, VarVec};
use crate::error::{Error, Result};
use crate::optim::{LbfgsOptions, OptimResult, lbfgs};

/// Value and gradient of the log marginal likelihood in `(log ℓ, log σ², log σ_n²)`, by one
/// filter pass over dual numbers with three tangents.
pub fn kalman_lml_and_grad(
    order: MaternOrder,
    params: &[f64; 3],
    t: &[f64],
    y: &[f64],
) -> (f64, [f64; 3]) {
    let p = [
        DualN::<3>::seed(params[0], 0),
        DualN::seed(params[1], 1),
        DualN::seed(params[2], 2),
    ];
    let v = kalman_log_likelihood(order, &p, t, y);
    (v.v, v.d)
}

/// What [`TemporalGp::fit`] did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TemporalFitReport {
    /// The optimiser's result (trace of `−log p(y)` over `(log ℓ, log σ², log σ_n²)`).
    pub optim: OptimResult,
    /// The log marginal likelihood at the fitted parameters.
    pub lml: f64,
}

/// A temporal GP `y(t) = f(t) + ε`, `f ~ GP(0, Matérn-ν(ℓ, σ²))`, `ε ~ N(0, σ_n²)`,
/// computed in state-space form.
///
/// ```
/// use mechml_engine::gp::{MaternOrder, TemporalGp};
/// let t: Vec<f64> = (0..1000).map(|i| i as f64 * 0.01).collect();
/// let y: Vec<f64> = t.iter().map(|v| (2.0 * v).sin()).collect();
/// let mut gp = TemporalGp::new(MaternOrder::ThreeHalves, 1.0, 1.0, 0.01, &t, &y)?;
/// let (lml, grad) = gp.lml_and_grad(&gp.params())?;
/// assert!(lml.is_finite() && grad.iter().all(|g| g.is_finite()));
/// gp.fit(&Default::default())?;
/// let (mean, var) = gp.predict(&[5.005])?;
/// assert!((mean[0] - 10.01f64.sin()).abs() < 0.05 && var[0] < 0.01);
/// # Ok::<(), mechml_engine::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TemporalGp {
    order: MaternOrder,
    params: [f64; 3],
    t: Vec<f64>,
    y: Vec<f64>,
}

fn check_series(op: &'static str, t: &[f64], y: &[f64]) -> Result<()> {
    crate::error::check_len(op, "y", y.len(), t.len())?;
    crate::error::check_finite(op, "t", t)?;
    crate::error::check_finite(op, "y", y)?;
    if t.is_empty() {
        return Err(Error::InvalidArgument {
            op,
            message: "no observations".into(),
        });
    }
    Ok(())
}

impl TemporalGp {
    /// From observations `(t, y)` in any order (they are sorted by time).
    pub fn new(
        order: MaternOrder,
        lengthscale: f64,
        variance: f64,
        noise_variance: f64,
        t: &[f64],
        y: &[f64],
    ) -> Result<Self> {
        check_series("TemporalGp", t, y)?;
        let pl = |w: &str, v: f64| crate::gp::kernels::positive_log("TemporalGp", w, v);
        let mut idx: Vec<usize> = (0..t.len()).collect();
        idx.sort_by(|&a, &b| t[a].total_cmp(&t[b]));
        Ok(Self {
            order,
            params: [
                pl("lengthscale", lengthscale)?,
                pl("variance", variance)?,
                pl("noise variance", noise_variance)?,
            ],
            t: idx.iter().map(|&i| t[i]).collect(),
            y: idx.iter().map(|&i| y[i]).collect(),
        })
    }

    /// The smoothness.
    pub fn order(&self) -> MaternOrder {
        self.order
    }

    /// `(log ℓ, log σ², log σ_n²)`.
    pub fn params(&self) -> [f64; 3] {
        self.params
    }

    /// Sets `(log ℓ, log σ², log σ_n²)`.
    pub fn set_params(&mut self, params: &[f64; 3]) -> Result<()> {
        crate::error::check_finite("TemporalGp::set_params", "params", params)?;
        self.params = *params;
        Ok(())
    }

    /// The sorted times.
    pub fn times(&self) -> &[f64] {
        &self.t
    }

    /// `log p(y)` at the current parameters.
    pub fn log_marginal_likelihood(&self) -> Result<f64> {
        finite(kalman_log_likelihood(
            self.order,
            &self.params,
            &self.t,
            &self.y,
        ))
    }

    /// `log p(y)` and its gradient at `params` in `O(n)`.
    pub fn lml_and_grad(&self, params: &[f64; 3]) -> Result<(f64, [f64; 3])> {
        crate::error::check_finite("TemporalGp", "params", params)?;
        let (v, g) = kalman_lml_and_grad(self.order, params, &self.t, &self.y);
        finite(v)?;
        crate::error::check_finite("TemporalGp", "gradient", &g)?;
        Ok((v, g))
    }

    /// Maximises `log p(y)` by L-BFGS and keeps the result.
    pub fn fit(&mut self, opts: &LbfgsOptions) -> Result<TemporalFitReport> {
        let objective = |z: &[f64]| -> Result<(f64, Vec<f64>)> {
            let (v, g) = self.lml_and_grad(&[z[0], z[1], z[2]])?;
            Ok((-v, g.iter().map(|x| -x).collect()))
        };
        let optim = lbfgs(objective, &self.params, opts)?;
        self.params = [optim.x[0], optim.x[1], optim.x[2]];
        Ok(TemporalFitReport {
            lml: -optim.value,
            optim,
        })
    }

    /// Posterior mean and variance of `f` at `t_star`, by filtering over the merged time
    /// grid and RTS smoothing back.
    pub fn predict(&self, t_star: &[f64]) -> Result<(Vec<f64>, Vec<f64>)> {
        crate::error::check_finite("TemporalGp::predict", "t_star", t_star)?;
        let order = self.order;
        let q = order.state_dim();
        let (lam, pinf) = stationary(order, self.params[0], self.params[1]);
        let noise = self.params[2].exp();
        // Merged grid: (time, observation index or None, test index or None); at equal
        // times observations come first.
        let mut grid: Vec<(f64, Option<usize>, Option<usize>)> = self
            .t
            .iter()
            .enumerate()
            .map(|(k, &tk)| (tk, Some(k), None))
            .collect();
        grid.extend(
            t_star
                .iter()
                .enumerate()
                .map(|(j, &tj)| (tj, None, Some(j))),
        );
        grid.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.is_some().cmp(&a.1.is_some())));
        let n = grid.len();
        let mut mf = vec![[0.0; 3]; n];
        let mut pf = vec![zeros::<f64>(); n];
        let mut mp = vec![[0.0; 3]; n];
        let mut pp = vec![zeros::<f64>(); n];
        let mut phis = vec![zeros::<f64>(); n];
        let mut m = [0.0; 3];
        let mut p = pinf;
        for (k, &(tk, obs, _)) in grid.iter().enumerate() {
            if k > 0 {
                let phi = transition(order, lam, tk - grid[k - 1].0);
                let mut m2 = [0.0; 3];
                for i in 0..q {
                    for j in 0..q {
                        m2[i] += phi[i][j] * m[j];
                    }
                }
                m = m2;
                let mut dev = zeros();
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
                phis[k] = phi;
            }
            mp[k] = m;
            pp[k] = p;
            if let Some(o) = obs {
                let s = p[0][0] + noise;
                let v = self.y[o] - m[0];
                let kg: Vec<f64> = (0..q).map(|i| p[i][0] / s).collect();
                for i in 0..q {
                    m[i] += kg[i] * v;
                }
                for i in 0..q {
                    for j in 0..q {
                        p[i][j] -= kg[i] * kg[j] * s;
                    }
                }
            }
            mf[k] = m;
            pf[k] = p;
        }
        // RTS: G = P_f Φᵀ (P⁻)⁻¹, m_s = m_f + G (m_s' − m⁻'), P_s = P_f + G (P_s' − P⁻') Gᵀ.
        let mut ms = mf.clone();
        let mut ps = pf.clone();
        for k in (0..n - 1).rev() {
            let phi = &phis[k + 1];
            let mut pft = zeros();
            for i in 0..q {
                for j in 0..q {
                    pft[i][j] = pf[k][i][j];
                }
            }
            let mut phit = zeros();
            for i in 0..q {
                for j in 0..q {
                    phit[i][j] = phi[j][i];
                }
            }
            let cross = mul(q, &pft, &phit); // P_f Φᵀ
            let g = solve_right_spd(q, &cross, &pp[k + 1])?;
            let mut dm = [0.0; 3];
            for i in 0..q {
                dm[i] = ms[k + 1][i] - mp[k + 1][i];
            }
            for i in 0..q {
                for j in 0..q {
                    ms[k][i] += g[i][j] * dm[j];
                }
            }
            let mut dp = zeros();
            for i in 0..q {
                for j in 0..q {
                    dp[i][j] = ps[k + 1][i][j] - pp[k + 1][i][j];
                }
            }
            let corr = sandwich(q, &g, &dp);
            for i in 0..q {
                for j in 0..q {
                    ps[k][i][j] = pf[k][i][j] + corr[i][j];
                }
            }
        }
        let mut mean = vec![0.0; t_star.len()];
        let mut var = vec![0.0; t_star.len()];
        for (k, &(_, _, test)) in grid.iter().enumerate() {
            if let Some(j) = test {
                mean[j] = ms[k][0];
                var[j] = ps[k][0][0].max(0.0);
            }
        }
        Ok((mean, var))
    }
}

/// `X = B A⁻¹` for symmetric positive-definite `A` (`q ≤ 3`), by Cholesky.
fn solve_right_spd(q: usize, b: &Small<f64>, a: &Small<f64>) -> Result<Small<f64>> {
    let mut l = zeros::<f64>();
    let scale = (0..q)
        .map(|i| a[i][i].abs())
        .fold(0.0, f64::max)
        .max(f64::MIN_POSITIVE);
    for j in 0..q {
        let mut d = a[j][j];
        for k in 0..j {
            d -= l[j][k] * l[j][k];
        }
        if d <= 1e-14 * scale {
            // A state that the data pin down exactly (zero predictive variance): the gain is
            // irrelevant in that direction; regularise by the round-off level.
            d = 1e-14 * scale;
        }
        if !d.is_finite() {
            return Err(Error::NotPositiveDefinite {
                op: "TemporalGp::predict (smoother gain)",
                pivot: j,
                value: d,
            });
        }
        l[j][j] = d.sqrt();
        for i in j + 1..q {
            let mut v = a[i][j];
            for k in 0..j {
                v -= l[i][k] * l[j][k];
            }
            l[i][j] = v / l[j][j];
        }
    }
    // Rows of X solve A xᵢᵀ = bᵢᵀ.
    let mut x = zeros();
    for r in 0..q {
        let mut z = [0.0; 3];
        for i in 0..q {
            let mut v = b[r][i];
            for k in 0..i {
                v -= l[i][k] * z[k];
            }
            z[i] = v / l[i][i];
        }
        for i in (0..q).rev() {
            let mut v = z[i];
            for k in i + 1..q {
                v -= l[k][i] * x[r][k];
            }
            x[r][i] = v / l[i][i];
        }
    }
    Ok(x)
}

fn finite(v: f64) -> Result<f64> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(Error::NonFinite {
            op: "temporal_gp",
            index: 0,
            value: v,
            context: "log marginal likelihood (extreme parameters?)".into(),
        })
    }
}

struct TemporalLmlOp {
    order: MaternOrder,
    params: [f64; 3],
    t: Vec<f64>,
    y: Vec<f64>,
}

impl BlockOp for TemporalLmlOp {
    fn name(&self) -> &'static str {
        "temporal_gp_lml"
    }
    fn pullback(&self, g: &[f64], inputs: &mut InputAdjoints<'_, f64>) -> Result<()> {
        if let Some(mut a) = inputs.arg(0) {
            let (_, grad) = kalman_lml_and_grad(self.order, &self.params, &self.t, &self.y);
            for k in 0..3 {
                a[k] += g[0] * grad[k];
            }
        }
        Ok(())
    }
}

/// The state-space log marginal likelihood as one tape block in
/// `params = (log ℓ, log σ², log σ_n²)`; `t` must be non-decreasing. The pullback reruns
/// the filter with dual numbers (`O(n)`).
pub fn temporal_lml_var<'t>(
    tape: &'t Tape,
    order: MaternOrder,
    params: &VarVec<'t>,
    t: &[f64],
    y: &[f64],
) -> Result<Var<'t>> {
    crate::ad::varmat::check_tape("temporal_lml", tape, &[params.tape()])?;
    crate::error::check_len("temporal_lml", "params", params.len(), 3)?;
    check_series("temporal_lml", t, y)?;
    if let Some(k) = t.windows(2).position(|w| w[1] < w[0]) {
        return Err(Error::InvalidArgument {
            op: "temporal_lml",
            message: format!(
                "times must be non-decreasing: t[{}] = {} < t[{k}] = {}",
                k + 1,
                t[k + 1],
                t[k]
            ),
        });
    }
    let p = [params.values()[0], params.values()[1], params.values()[2]];
    let value = finite(kalman_log_likelihood(order, &p, t, y))?;
    let start = tape.push_block(
        TemporalLmlOp {
            order,
            params: p,
            t: t.to_vec(),
            y: y.to_vec(),
        },
        &[params.arg()],
        1,
    )?;
    Ok(VarVec::from_block(tape, start, vec![value])
        .get(0)
        .unwrap_or_else(|| Var::constant(value)))
}
