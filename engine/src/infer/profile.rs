//! Profile-likelihood intervals (Venzon & Moolgavkar 1988, Appl. Statist. 37(1); Pawitan
//! 2001, *In All Likelihood*, §3.4): for parameter `j`,
//! `ℓ_p(ψ) = max_{z : z_j = ψ} ℓ(z)`, and the level-`α` interval is
//! `{ψ : 2(ℓ̂ − ℓ_p(ψ)) ≤ χ²₁(α)}`. Each end is found by stepping outwards from the
//! maximum (steps doubling) until the drop `ℓ̂ − ℓ_p` exceeds `χ²₁(α)/2`, then by
//! safeguarded regula falsi (Illinois) inside the bracket; each point re-optimises the
//! other parameters by L-BFGS, warm-started from the nearest point already computed.
//!
//! A side whose profile does not cross the threshold within the search range (the
//! likelihood stays flat towards a bound, or the parameter is not identified) is
//! reported as [`Bound::Open`] with how far it was searched: never an invented number.
//!
//! The profile is taken on the density's (unconstrained) coordinates and each end is
//! reported on the natural scale through [`LogDensity::constrain`]; since the likelihood
//! carries no Jacobian (use [`Model::likelihood_only`](super::Model::likelihood_only)),
//! the interval does not depend on the parametrisation.

use serde::{Deserialize, Serialize};

use super::density::LogDensity;
use super::laplace::coordinate_names;
use super::stats::chi2_1_quantile;
use crate::error::{Error, Result};
use crate::optim::{LbfgsOptions, lbfgs};

/// Options of [`profile`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProfileOptions {
    /// Coverage level α of the intervals (0 < α < 1).
    pub level: f64,
    /// Optimiser options for the maximum and for every profile point.
    pub lbfgs: LbfgsOptions,
    /// First step from the maximum on the unconstrained scale (`None`: the Wald
    /// half-width from the Hessian when it is available, else 0.5).
    pub initial_step: Option<f64>,
    /// Largest number of step doublings per side.
    pub max_doublings: usize,
    /// Largest distance from the maximum searched per side (unconstrained scale).
    pub max_distance: f64,
    /// Root-finding tolerance on the unconstrained coordinate (relative to 1 + |ψ|).
    pub tol: f64,
    /// Parameters to profile, by index (`None`: all).
    pub params: Option<Vec<usize>>,
}

impl Default for ProfileOptions {
    /// 95 %, L-BFGS with `grad_tol = 1e-6` and `f_tol = 1e-14`, 30 doublings, distance 40, tolerance 1e-7.
    fn default() -> Self {
        Self {
            level: 0.95,
            lbfgs: LbfgsOptions {
                grad_tol: 1e-6,
                f_tol: 1e-14,
                record_params: false,
                ..LbfgsOptions::default()
            },
            initial_step: None,
            max_doublings: 30,
            max_distance: 40.0,
            tol: 1e-7,
            params: None,
        }
    }
}

/// One end of a profile interval.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bound {
    /// The profile crosses the threshold here (natural scale).
    Closed(f64),
    /// The profile did not cross the threshold: the interval is open on this side.
    Open {
        /// The farthest point searched (natural scale).
        searched_to: f64,
        /// The drop `ℓ̂ − ℓ_p` there (below the threshold), if it was finite.
        drop: Option<f64>,
        /// Why the search stopped.
        reason: String,
    },
}

impl Bound {
    /// The end, if the profile crossed.
    pub fn value(&self) -> Option<f64> {
        match self {
            Bound::Closed(v) => Some(*v),
            Bound::Open { .. } => None,
        }
    }
}

/// The profile interval of one parameter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProfileInterval {
    /// Parameter name.
    pub name: String,
    /// Its index.
    pub index: usize,
    /// Maximum-likelihood estimate (natural scale).
    pub estimate: f64,
    /// Lower end.
    pub lower: Bound,
    /// Upper end.
    pub upper: Bound,
    /// Profile points `(value on the natural scale, drop ℓ̂ − ℓ_p)`, sorted by value.
    pub points: Vec<(f64, f64)>,
}

/// Profile-likelihood intervals at one level.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// Coverage level.
    pub level: f64,
    /// Threshold on the drop: `χ²₁(level)/2`.
    pub threshold: f64,
    /// `ℓ̂`.
    pub max_log_likelihood: f64,
    /// The maximiser on the density's scale.
    pub argmax: Vec<f64>,
    /// The maximiser on the natural scale.
    pub estimate: Vec<f64>,
    /// One interval per profiled parameter.
    pub intervals: Vec<ProfileInterval>,
}

impl ProfileOptions {
    /// Checks every field.
    pub fn validate(&self, dim: usize) -> Result<()> {
        let op = "ProfileOptions";
        if !(self.level > 0.0 && self.level < 1.0) {
            return Err(Error::invalid_option(
                op,
                "level",
                self.level,
                "strictly between 0 and 1",
            ));
        }
        if let Some(h) = self.initial_step.filter(|h| !(h.is_finite() && *h > 0.0)) {
            return Err(Error::invalid_option(
                op,
                "initial_step",
                h,
                "finite and > 0",
            ));
        }
        if self.max_distance.is_nan() || self.max_distance <= 0.0 {
            return Err(Error::invalid_option(
                op,
                "max_distance",
                self.max_distance,
                "> 0",
            ));
        }
        if !(self.tol.is_finite() && self.tol > 0.0) {
            return Err(Error::invalid_option(op, "tol", self.tol, "finite and > 0"));
        }
        if self.max_doublings > 60 {
            return Err(Error::invalid_option(
                op,
                "max_doublings",
                self.max_doublings,
                "at most 60",
            ));
        }
        if let Some(j) = self.params.iter().flatten().find(|&&j| j >= dim) {
            return Err(Error::invalid_option(
                op,
                "params",
                j,
                format!("indices below {dim}"),
            ));
        }
        Ok(())
    }
}

/// Maximises `ℓ` over all coordinates but `j` (held at `psi`) from `start`; returns
/// `(ℓ_p, full point)`. A failure to evaluate is `ℓ_p = −∞`.
fn profile_point<D: LogDensity>(
    density: &mut D,
    j: usize,
    psi: f64,
    start: &[f64],
    lbfgs_opts: &LbfgsOptions,
) -> Result<(f64, Vec<f64>)> {
    let n = start.len();
    let mut full = start.to_vec();
    full[j] = psi;
    if n == 1 {
        return Ok(match density.value_and_grad(&full) {
            Ok((v, _)) if v.is_finite() => (v, full),
            Ok(_) => (f64::NEG_INFINITY, full),
            Err(e) if super::density::is_recoverable(&e) => (f64::NEG_INFINITY, full),
            Err(e) => return Err(e),
        });
    }
    let rest: Vec<f64> = (0..n).filter(|&i| i != j).map(|i| start[i]).collect();
    let mut buf = full.clone();
    let objective = |x: &[f64]| -> Result<(f64, Vec<f64>)> {
        let mut k = 0;
        for (i, b) in buf.iter_mut().enumerate() {
            if i != j {
                *b = x[k];
                k += 1;
            }
        }
        let (v, g) = density.value_and_grad(&buf)?;
        let g_rest: Vec<f64> = g
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != j)
            .map(|(_, gi)| -gi)
            .collect();
        Ok((-v, g_rest))
    };
    match lbfgs(objective, &rest, lbfgs_opts) {
        Ok(res) => {
            let mut k = 0;
            for (i, f) in full.iter_mut().enumerate() {
                if i != j {
                    *f = res.x[k];
                    k += 1;
                }
            }
            Ok((-res.value, full))
        }
        Err(e) if super::density::is_recoverable(&e) => Ok((f64::NEG_INFINITY, full)),
        Err(e) => Err(e),
    }
}

/// Where a side's search ended: the crossing, or `(farthest point, drop there, why)`.
type SideOutcome = std::result::Result<f64, (f64, Option<f64>, String)>;

/// One side of one parameter's interval.
struct Side<'a, D> {
    density: &'a mut D,
    j: usize,
    l_max: f64,
    threshold: f64,
    opts: &'a ProfileOptions,
    points: Vec<(f64, f64, Vec<f64>)>,
}

impl<D: LogDensity> Side<'_, D> {
    /// The drop at `psi`, warm-started from the computed point nearest to `psi`.
    fn drop_at(&mut self, psi: f64) -> Result<f64> {
        let start = self
            .points
            .iter()
            .min_by(|a, b| (a.0 - psi).abs().total_cmp(&(b.0 - psi).abs()))
            .map(|p| p.2.clone())
            .ok_or_else(|| Error::InvalidArgument {
                op: "profile",
                message: "internal: no starting point".into(),
            })?;
        let (lp, full) = profile_point(self.density, self.j, psi, &start, &self.opts.lbfgs)?;
        let drop = if lp.is_finite() {
            self.l_max - lp
        } else {
            f64::INFINITY
        };
        self.points.push((psi, drop, full));
        Ok(drop)
    }

    /// Searches one direction (`sign = ±1`) from `z0` with first step `h`.
    fn search(&mut self, z0: f64, sign: f64, h: f64) -> Result<SideOutcome> {
        let mut inner = (z0, 0.0);
        let mut dist = h;
        for _ in 0..=self.opts.max_doublings {
            let dist_c = dist.min(self.opts.max_distance);
            let psi = z0 + sign * dist_c;
            let drop = self.drop_at(psi)?;
            if drop > self.threshold {
                return self.bracketed(inner, (psi, drop)).map(Ok);
            }
            inner = (psi, drop);
            if dist_c >= self.opts.max_distance {
                return Ok(Err((
                    psi,
                    Some(drop),
                    format!(
                        "the profile stays within {:.3} of its maximum up to distance {} on the \
                         unconstrained scale (max_distance)",
                        self.threshold, self.opts.max_distance
                    ),
                )));
            }
            dist *= 2.0;
        }
        Ok(Err((
            inner.0,
            Some(inner.1),
            format!(
                "no crossing after {} step doublings",
                self.opts.max_doublings
            ),
        )))
    }

    /// Illinois regula falsi on `drop(ψ) − threshold` in `[a, b]` (signs − and +), with
    /// bisection when the drop is infinite; at most 100 iterations.
    fn bracketed(&mut self, a: (f64, f64), b: (f64, f64)) -> Result<f64> {
        let t = self.threshold;
        let (mut a, mut fa) = (a.0, a.1 - t);
        let (mut b, mut fb) = (b.0, b.1 - t);
        let mut side = 0i8;
        for _ in 0..100 {
            if (b - a).abs() <= self.opts.tol * (1.0 + a.abs().max(b.abs())) {
                break;
            }
            let c = if fb.is_finite() && fa.is_finite() && fb != fa {
                let c = (a * fb - b * fa) / (fb - fa);
                if c.is_finite() && (c - a) * (c - b) < 0.0 {
                    c
                } else {
                    0.5 * (a + b)
                }
            } else {
                0.5 * (a + b)
            };
            let fc = self.drop_at(c)? - t;
            if fc.abs() < 1e-10 {
                return Ok(c);
            }
            if fc > 0.0 {
                b = c;
                fb = fc;
                if side == 1 {
                    fa *= 0.5;
                }
                side = 1;
            } else {
                a = c;
                fa = fc;
                if side == -1 && fb.is_finite() {
                    fb *= 0.5;
                }
                side = -1;
            }
        }
        Ok(if fb.is_finite() && fa.is_finite() && fb != fa {
            (a * fb - b * fa) / (fb - fa)
        } else {
            0.5 * (a + b)
        })
    }
}

/// Profile-likelihood intervals of `loglik` (a log-likelihood: no priors, no Jacobian),
/// maximised from `x0`.
///
/// # Errors
/// Invalid options; a maximisation that does not converge; a density whose reported
/// quantities do not correspond one to one with its coordinates (the profile is per
/// coordinate); errors of the density that are not recoverable.
pub fn profile<D: LogDensity>(
    loglik: &mut D,
    x0: &[f64],
    opts: &ProfileOptions,
) -> Result<Profile> {
    let n = loglik.dim();
    crate::error::check_len("profile", "x0", x0.len(), n)?;
    opts.validate(n)?;
    let names = coordinate_names(loglik);
    let res = lbfgs(
        |x: &[f64]| {
            let (v, g) = loglik.value_and_grad(x)?;
            Ok((-v, g.into_iter().map(|gi| -gi).collect()))
        },
        x0,
        &opts.lbfgs,
    )?
    .into_converged()?;
    let z_hat = res.x.clone();
    let l_max = -res.value;
    let estimate = loglik.constrain(&z_hat)?;
    if estimate.len() != n {
        return Err(Error::Unsupported {
            op: "profile",
            reason: format!(
                "the density reports {} quantities for {n} coordinates; profile intervals \
                 are per coordinate (use elementwise transforms)",
                estimate.len()
            ),
        });
    }
    let threshold = 0.5 * chi2_1_quantile(opts.level);
    // Wald half-widths for the first steps, where a Hessian is available.
    let wald: Option<Vec<f64>> = loglik.hessian(&z_hat).ok().and_then(|h| {
        super::laplace::invert_negative_hessian("profile", &h, &names)
            .ok()
            .map(|c| {
                (0..n)
                    .map(|i| (c[(i, i)] * 2.0 * threshold).sqrt())
                    .collect()
            })
    });
    let params: Vec<usize> = opts.params.clone().unwrap_or_else(|| (0..n).collect());
    let mut intervals = Vec::with_capacity(params.len());
    for &j in &params {
        let h = opts
            .initial_step
            .or_else(|| {
                wald.as_ref()
                    .map(|w| w[j])
                    .filter(|w| w.is_finite() && *w > 0.0)
            })
            .unwrap_or(0.5)
            .min(opts.max_distance);
        let mut side = Side {
            density: &mut *loglik,
            j,
            l_max,
            threshold,
            opts,
            points: vec![(z_hat[j], 0.0, z_hat.clone())],
        };
        let lo = side.search(z_hat[j], -1.0, h)?;
        let hi = side.search(z_hat[j], 1.0, h)?;
        let points = std::mem::take(&mut side.points);
        // Natural-scale value of coordinate j at the profiled point nearest to psi.
        let natural = |psi: f64| -> Result<f64> {
            let mut z = points
                .iter()
                .min_by(|a, b| (a.0 - psi).abs().total_cmp(&(b.0 - psi).abs()))
                .map(|p| p.2.clone())
                .unwrap_or_else(|| z_hat.clone());
            z[j] = psi;
            Ok(loglik.constrain(&z)?[j])
        };
        let to_bound = |r: SideOutcome| -> Result<Bound> {
            Ok(match r {
                Ok(psi) => Bound::Closed(natural(psi)?),
                Err((psi, drop, reason)) => Bound::Open {
                    searched_to: natural(psi)?,
                    drop: drop.filter(|d| d.is_finite()),
                    reason,
                },
            })
        };
        let lower = to_bound(lo)?;
        let upper = to_bound(hi)?;
        let mut pts: Vec<(f64, f64)> = points
            .iter()
            .filter(|p| p.1.is_finite())
            .map(|p| {
                let mut z = p.2.clone();
                z[j] = p.0;
                loglik.constrain(&z).map(|t| (t[j], p.1))
            })
            .collect::<Result<_>>()?;
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        intervals.push(ProfileInterval {
            name: names[j].clone(),
            index: j,
            estimate: estimate[j],
            lower,
            upper,
            points: pts,
        });
    }
    Ok(Profile {
        level: opts.level,
        threshold,
        max_log_likelihood: l_max,
        argmax: z_hat,
        estimate,
        intervals,
    })
}
