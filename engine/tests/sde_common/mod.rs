//! Helpers shared by the SDE tests: convergence orders as log–log slopes with a standard
//! error derived from the sample.
#![allow(dead_code)]

/// A least-squares slope of `log₂ |m̄ₖ − rₖ|` against `xₖ` and its standard error.
#[derive(Clone, Copy, Debug)]
pub struct SlopeFit {
    /// The slope.
    pub slope: f64,
    /// Its standard error from the sampling error of the means (delta method).
    pub se: f64,
}

/// Fits the slope of `log₂ |m̄ₖ − rₖ|` against `xs[k]`, where `m̄ₖ` is the mean over paths of
/// `samples[path][k]` (e.g. per-path strong errors with `r = 0`, or per-path states with `r`
/// the exact mean for a weak error).
///
/// The slope is the linear combination `Σₖ cₖ log₂ |m̄ₖ − rₖ|`, `cₖ = (xₖ − x̄)/Sₓₓ`; its
/// variance by the delta method is `gᵀ Σ g / N` with `gₖ = cₖ / ((m̄ₖ − rₖ) ln 2)` and `Σ`
/// the sample covariance of the per-path samples across levels. The levels share paths, so
/// their errors are strongly correlated and the covariance (not only the variances) matters.
pub fn log2_slope(xs: &[f64], samples: &[Vec<f64>], offsets: &[f64]) -> SlopeFit {
    let k = xs.len();
    let n = samples.len() as f64;
    assert!(samples.iter().all(|s| s.len() == k) && offsets.len() == k && n > 1.0);
    let mean: Vec<f64> = (0..k)
        .map(|j| samples.iter().map(|s| s[j]).sum::<f64>() / n)
        .collect();
    let xm = xs.iter().sum::<f64>() / k as f64;
    let sxx: f64 = xs.iter().map(|x| (x - xm) * (x - xm)).sum();
    let c: Vec<f64> = xs.iter().map(|x| (x - xm) / sxx).collect();
    let dev: Vec<f64> = mean.iter().zip(offsets).map(|(m, r)| m - r).collect();
    let slope = c
        .iter()
        .zip(&dev)
        .map(|(c, d)| c * d.abs().log2())
        .sum::<f64>();
    let g: Vec<f64> = c
        .iter()
        .zip(&dev)
        .map(|(c, d)| c / (d * std::f64::consts::LN_2))
        .collect();
    // gᵀ Σ g = Var over paths of Σₖ gₖ sₖ.
    let proj: Vec<f64> = samples
        .iter()
        .map(|s| s.iter().zip(&g).map(|(a, b)| a * b).sum::<f64>())
        .collect();
    let pm = proj.iter().sum::<f64>() / n;
    let var = proj.iter().map(|v| (v - pm) * (v - pm)).sum::<f64>() / (n - 1.0);
    SlopeFit {
        slope,
        se: (var / n).sqrt(),
    }
}

/// Number of standard errors allowed for a sampled slope.
pub const Z: f64 = 4.0;

/// Asserts `|slope − order| < Z·se + bias`. `bias` is the allowance for the deterministic,
/// pre-asymptotic curvature of the error curve over the levels used (not a sampling
/// quantity, so it cannot come from the sample size; each caller states where its value
/// comes from).
pub fn assert_order(name: &str, fit: SlopeFit, order: f64, bias: f64) {
    let tol = Z * fit.se + bias;
    println!(
        "{name}: slope {:.3} ± {:.3} (se), expected {order} within {tol:.3}",
        fit.slope, fit.se
    );
    assert!(
        (fit.slope - order).abs() < tol,
        "{name}: slope {:.3} (se {:.3}), expected {order} ± {tol:.3} ({Z}·se + {bias} bias \
         allowance)",
        fit.slope,
        fit.se
    );
}
