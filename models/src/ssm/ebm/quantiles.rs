//! Quantiles for projection bands: the quantiles of an equal-weight mixture of normals
//! (the law of the temperature when each parameter draw contributes its own normal
//! predictive distribution), and percentiles of a sorted sample by linear interpolation.

use mechml_engine::ad::Real;
use mechml_engine::{Error, Result};

const OP: &str = "mixture_quantiles";

/// The `probs` quantiles of the equal-weight mixture of N(meansᵢ, sdsᵢ²), each by 60
/// bisections of the mixture's distribution function
/// F(x) = (1/m) Σᵢ Φ((x − μᵢ)/σᵢ), Φ(z) = ½ erfc(−z/√2),
/// on [minᵢ(μᵢ − 8σᵢ), maxᵢ(μᵢ + 8σᵢ)] (a component with σᵢ = 0 is a point mass).
///
/// ```
/// use mechml_models::ssm::ebm::quantiles::mixture_quantiles;
/// // One component: the normal quantiles μ ± 1.96 σ.
/// let q = mixture_quantiles(&[1.0], &[2.0], &[0.025, 0.5, 0.975])?;
/// assert!((q[0] - (1.0 - 2.0 * 1.959_963_985)).abs() < 1e-8 && (q[1] - 1.0).abs() < 1e-9);
/// # Ok::<(), mechml_engine::Error>(())
/// ```
pub fn mixture_quantiles(means: &[f64], sds: &[f64], probs: &[f64]) -> Result<Vec<f64>> {
    if means.is_empty() || sds.len() != means.len() {
        return Err(Error::ShapeMismatch {
            op: OP,
            arg: "sds",
            expected: format!("len {} (one per mean, at least one)", means.len()),
            found: format!("len {}", sds.len()),
        });
    }
    for (i, (&m, &s)) in means.iter().zip(sds).enumerate() {
        if !m.is_finite() {
            return Err(Error::invalid_option(
                OP,
                format!("means[{i}]"),
                m,
                "finite",
            ));
        }
        if !(s >= 0.0 && s.is_finite()) {
            return Err(Error::invalid_option(
                OP,
                format!("sds[{i}]"),
                s,
                "finite and ≥ 0",
            ));
        }
    }
    if let Some(p) = probs.iter().find(|p| !(**p > 0.0 && **p < 1.0)) {
        return Err(Error::invalid_option(OP, "probs", p, "inside (0, 1)"));
    }
    let cdf = |x: f64| -> f64 {
        means
            .iter()
            .zip(sds)
            .map(|(&m, &s)| {
                if s > 0.0 {
                    0.5 * <f64 as Real>::erfc(-(x - m) / (s * std::f64::consts::SQRT_2))
                } else if x >= m {
                    1.0
                } else {
                    0.0
                }
            })
            .sum::<f64>()
            / means.len() as f64
    };
    let lo0 = means
        .iter()
        .zip(sds)
        .map(|(m, s)| m - 8.0 * s)
        .fold(f64::INFINITY, f64::min);
    let hi0 = means
        .iter()
        .zip(sds)
        .map(|(m, s)| m + 8.0 * s)
        .fold(f64::NEG_INFINITY, f64::max);
    let q = |p: f64| {
        let (mut a, mut b) = (lo0, hi0);
        for _ in 0..60 {
            let mid = 0.5 * (a + b);
            if cdf(mid) < p { a = mid } else { b = mid }
        }
        0.5 * (a + b)
    };
    Ok(probs.iter().map(|&p| q(p)).collect())
}

/// The `p`-quantile (0 ≤ p ≤ 1) of an ascending sample by linear interpolation between
/// order statistics (position p (n − 1); Hyndman & Fan 1996, definition 7); NaN for an
/// empty sample.
///
/// ```
/// use mechml_models::ssm::ebm::quantiles::percentile;
/// assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.5), 3.0);
/// ```
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = p.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let i = pos.floor() as usize;
    let j = (i + 1).min(sorted.len() - 1);
    sorted[i] + (pos - i as f64) * (sorted[j] - sorted[i])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssm::fit::Z95;

    #[test]
    fn mixture_quantiles_of_one_and_two_normals() {
        let q = mixture_quantiles(&[1.0], &[2.0], &[0.025, 0.5, 0.975]).unwrap();
        assert!(
            (q[0] - (1.0 - 2.0 * Z95)).abs() < 1e-9
                && (q[1] - 1.0).abs() < 1e-9
                && (q[2] - (1.0 + 2.0 * Z95)).abs() < 1e-9
        );
        // Two well-separated equal components: the median lies between them, the 2.5 % point
        // is the 5 % point of the lower one (z = −1.6449).
        let q = mixture_quantiles(&[0.0, 100.0], &[1.0, 1.0], &[0.025, 0.5, 0.975]).unwrap();
        assert!((q[0] + 1.644_853_626_951).abs() < 1e-6, "{q:?}");
        assert!(q[1] > 3.0 && q[1] < 97.0);
    }

    #[test]
    fn point_masses_and_bad_input() {
        // Three point masses at 0, 1, 2: the median is the middle one.
        let q = mixture_quantiles(&[0.0, 1.0, 2.0], &[0.0; 3], &[0.5]).unwrap();
        assert!((q[0] - 1.0).abs() < 1e-12, "{q:?}");
        assert!(mixture_quantiles(&[], &[], &[0.5]).is_err());
        assert!(mixture_quantiles(&[0.0], &[-1.0], &[0.5]).is_err());
        assert!(mixture_quantiles(&[0.0], &[1.0], &[1.0]).is_err());
    }

    #[test]
    fn percentiles_interpolate() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(percentile(&v, 0.5), 3.0);
        assert!((percentile(&v, 0.025) - 1.1).abs() < 1e-12);
        assert!(percentile(&[], 0.5).is_nan());
    }
}
