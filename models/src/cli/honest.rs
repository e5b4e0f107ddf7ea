//! Honest uncertainty for a maximum-likelihood fit: how well the data determine the
//! parameters (the spectrum of the observed information, estimates at a bound), the
//! profile-likelihood intervals that replace Wald's, and the named warnings that say
//! when a number is not to be trusted.
//!
//! Rules (documented in `docs/infer.md`):
//! * the information is **singular** when its smallest eigenvalue is at most 10⁻¹² of the
//!   largest (the fit then has no covariance: no Wald interval), **near-singular** when
//!   below [`NEAR_SINGULAR_RCOND`] of it;
//! * a positive parameter is **at a bound** when its estimate is below
//!   [`BOUND_FACTOR`] times its starting value (it ran to 0) or above its inverse;
//! * the reported interval of a parameter is its profile-likelihood interval (Venzon &
//!   Moolgavkar 1988; open sides stay open), of ECS the profile interval of κ₁ mapped
//!   through ECS = F₂ₓ/κ₁ (profile intervals are invariant under monotone maps);
//!   Wald's only when no profile was computed;
//! * a Wald interval whose ends differ from the profile's by more than
//!   [`WALD_TOLERANCE`] of the profile width is flagged `wald_unreliable`.

use faer::{Mat, Side};
use mechml_engine::infer::{Bound, Profile};
use mechml_engine::param::Transform;

use super::results::{Identifiability, Interval, RunWarning};
use crate::ssm::ebm::EbmFamily;
use crate::ssm::fit::{MleFit, ParametricSsm, observed_information};

/// Reciprocal condition number of the observed information below which it is called
/// near-singular.
pub const NEAR_SINGULAR_RCOND: f64 = 1e-8;
/// A positive parameter whose estimate fell below this fraction of its start (or rose
/// above its inverse) is at a bound.
pub const BOUND_FACTOR: f64 = 1e-3;
/// Relative disagreement (of the profile width) above which a Wald interval is
/// flagged as unreliable.
pub const WALD_TOLERANCE: f64 = 0.25;

/// A warning about `model`.
pub fn warn(code: &str, model: &str, message: String) -> RunWarning {
    RunWarning {
        code: code.into(),
        model: Some(model.into()),
        message,
    }
}

/// The spectrum of the observed information at the estimate, its weakest direction, and
/// the parameters at a bound.
pub fn identifiability(family: &EbmFamily, fit: &MleFit) -> Identifiability {
    let mut out = Identifiability::default();
    let free = fit.layout.free_indices();
    let k = free.len();
    for &i in &free {
        let p = &fit.layout.params()[i];
        let est = fit.estimate[i];
        if p.transform == Transform::Log
            && p.value > 0.0
            && (est < BOUND_FACTOR * p.value || est > p.value / BOUND_FACTOR)
        {
            out.at_bound.push(p.name.clone());
        }
    }
    if k == 0 {
        return out;
    }
    let Ok(info) = observed_information(family, &fit.layout, &fit.z_hat, family.kalman_gradient())
    else {
        return out;
    };
    let m = Mat::<f64>::from_fn(k, k, |i, j| info[i + j * k]);
    if let Ok(eig) = m.self_adjoint_eigen(Side::Lower) {
        let s = eig.S();
        let u = eig.U();
        let vals: Vec<f64> = (0..k).map(|i| s[i]).collect();
        let (imin, lo) = vals
            .iter()
            .copied()
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap_or((0, f64::NAN));
        let hi = vals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mut sorted = vals.clone();
        sorted.sort_by(f64::total_cmp);
        out.information_eigenvalues = sorted;
        out.reciprocal_condition = (hi > 0.0).then(|| lo / hi);
        let mut dir: Vec<(String, f64)> = free
            .iter()
            .enumerate()
            .map(|(a, &i)| (fit.layout.params()[i].name.clone(), u[(a, imin)]))
            .collect();
        dir.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
        dir.retain(|(_, c)| c.abs() >= 0.2);
        out.weakest_direction = dir;
    }
    out
}

/// Warnings about the information and the bounds of one model's fit.
pub fn information_warnings(model: &str, fit: &MleFit, id: &Identifiability) -> Vec<RunWarning> {
    let mut w = Vec::new();
    let dir = id
        .weakest_direction
        .iter()
        .map(|(n, c)| format!("{n} {c:+.2}"))
        .collect::<Vec<_>>()
        .join(", ");
    let (lo, hi) = (
        id.information_eigenvalues
            .first()
            .copied()
            .unwrap_or(f64::NAN),
        id.information_eigenvalues
            .last()
            .copied()
            .unwrap_or(f64::NAN),
    );
    if fit.n_free > 0 && fit.cov_z.is_none() {
        w.push(warn(
            "singular_information",
            model,
            format!(
                "the observed information is singular (eigenvalues from {lo:.2e} to {hi:.2e}): the data do not determine the combination [{dir}]; no standard errors or Wald intervals; intervals come from the profile likelihood or the posterior"
            ),
        ));
    } else if id
        .reciprocal_condition
        .is_some_and(|r| r < NEAR_SINGULAR_RCOND)
    {
        w.push(warn(
            "near_singular_information",
            model,
            format!(
                "the observed information is nearly singular (eigenvalues from {lo:.2e} to {hi:.2e}; weakest combination [{dir}]): Wald intervals are not trustworthy; intervals come from the profile likelihood"
            ),
        ));
    }
    for name in &id.at_bound {
        let i = fit.names.iter().position(|n| n == name).unwrap_or(0);
        w.push(warn(
            "estimate_at_bound",
            model,
            format!(
                "{name} = {:.3e} is at a bound of its range (it ran towards {}): the likelihood prefers a boundary value, asymptotic (Wald) theory does not apply; {}",
                fit.estimate[i],
                if fit.estimate[i] < 1.0 { "0" } else { "infinity" },
                if name == "sigma_T" {
                    "give the data's uncertainty (data.lower_column/upper_column) or model.sigma_obs"
                } else {
                    "see its profile interval"
                }
            ),
        ));
    }
    w
}

fn bound_value(b: &Bound) -> Option<f64> {
    b.value()
}

/// The profile interval of each parameter (by name), from a computed profile.
pub fn profile_interval(prof: &Profile, name: &str) -> Option<Interval> {
    prof.intervals.iter().find(|p| p.name == name).map(|p| {
        let (lo, hi) = (bound_value(&p.lower), bound_value(&p.upper));
        Interval {
            method: "profile".into(),
            lo,
            hi,
        }
    })
}

/// The ECS interval from the profile of κ₁ (ECS = F₂ₓ/κ₁, decreasing in κ₁): an open
/// upper side of κ₁ makes the lower side of ECS open, and vice versa.
pub fn ecs_from_kappa1(prof: &Profile, f2x: f64) -> Option<Interval> {
    let k = profile_interval(prof, "kappa1")?;
    Some(Interval {
        method: "profile".into(),
        lo: k.hi.filter(|v| *v > 0.0).map(|v| f2x / v),
        hi: k.lo.filter(|v| *v > 0.0).map(|v| f2x / v),
    })
}

/// Warnings comparing a Wald interval with the profile interval of the same quantity:
/// open sides, and large disagreement.
pub fn compare_with_profile(
    model: &str,
    what: &str,
    wald: Option<(f64, f64)>,
    prof: &Interval,
) -> Option<RunWarning> {
    match (prof.lo, prof.hi) {
        (Some(a), Some(b)) => {
            let (wa, wb) = wald?;
            let width = (b - a).abs().max(1e-300);
            let off = ((wa - a).abs()).max((wb - b).abs()) / width;
            (off > WALD_TOLERANCE).then(|| {
                warn(
                    "wald_unreliable",
                    model,
                    format!(
                        "the Wald interval of {what} [{wa:.3}, {wb:.3}] differs from its profile-likelihood interval [{a:.3}, {b:.3}] by {:.0}% of the width: the likelihood is far from quadratic; the profile interval is reported",
                        100.0 * off
                    ),
                )
            })
        }
        _ => Some(warn(
            "open_interval",
            model,
            format!(
                "the profile likelihood of {what} does not drop below the 95% threshold on the {}: the data do not bound it there; reported as {}",
                match (prof.lo, prof.hi) {
                    (None, None) => "lower and upper sides",
                    (None, _) => "lower side",
                    _ => "upper side",
                },
                prof.show(3)
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mechml_engine::infer::ProfileInterval;

    fn prof(lo: Bound, hi: Bound) -> Profile {
        Profile {
            level: 0.95,
            threshold: 1.92,
            max_log_likelihood: 0.0,
            argmax: vec![0.0],
            estimate: vec![1.0],
            intervals: vec![ProfileInterval {
                name: "kappa1".into(),
                index: 0,
                estimate: 1.0,
                lower: lo,
                upper: hi,
                points: vec![],
            }],
        }
    }

    #[test]
    fn ecs_interval_maps_the_kappa1_profile_and_keeps_open_sides_open() {
        let open = || Bound::Open {
            searched_to: 100.0,
            drop: Some(0.5),
            reason: "flat".into(),
        };
        let p = prof(Bound::Closed(0.5), Bound::Closed(2.0));
        let e = ecs_from_kappa1(&p, 4.0).unwrap();
        assert_eq!((e.lo, e.hi), (Some(2.0), Some(8.0)));
        let p = prof(Bound::Closed(0.5), open());
        let e = ecs_from_kappa1(&p, 4.0).unwrap();
        assert_eq!((e.lo, e.hi), (None, Some(8.0)));
        assert_eq!(e.show(2), "(open, 8.00]");
        let w = compare_with_profile("m", "ECS", Some((1.0, 9.0)), &e).unwrap();
        assert_eq!(w.code, "open_interval");
    }

    #[test]
    fn wald_far_from_the_profile_is_flagged() {
        let p = Interval {
            method: "profile".into(),
            lo: Some(2.0),
            hi: Some(4.0),
        };
        assert!(compare_with_profile("m", "x", Some((2.1, 4.1)), &p).is_none());
        let w = compare_with_profile("m", "x", Some((0.4, 40.0)), &p).unwrap();
        assert_eq!(w.code, "wald_unreliable");
        assert!(Interval::closed("wald", 4.13, 4.13).is_none());
    }
}
