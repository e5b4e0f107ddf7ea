//! Special functions on `f64` that the [`Real`](super::Real) implementations need:
//! the error function and log-gamma (from `libm`, a port of musl's), digamma and
//! trigamma (recurrence plus asymptotic series, Abramowitz & Stegun 6.3.18 and 6.4.12).

use std::f64::consts::PI;

/// The error function erf(x).
pub fn erf(x: f64) -> f64 {
    libm::erf(x)
}

/// The complementary error function erfc(x) = 1 − erf(x), accurate in the tails.
pub fn erfc(x: f64) -> f64 {
    libm::erfc(x)
}

/// ln |Γ(x)|.
pub fn lgamma(x: f64) -> f64 {
    libm::lgamma(x)
}

/// The digamma function ψ(x) = d/dx ln Γ(x).
///
/// Reflection ψ(1−x) − ψ(x) = π cot(πx) for x < 0.5, the recurrence ψ(x) = ψ(x+1) − 1/x up
/// to x ≥ 10, then the asymptotic series of Abramowitz & Stegun (1964) eq. 6.3.18.
/// Non-positive integers give NaN.
pub fn digamma(x: f64) -> f64 {
    if !x.is_finite() {
        return if x == f64::INFINITY {
            f64::INFINITY
        } else {
            f64::NAN
        };
    }
    if x <= 0.0 && x == x.floor() {
        return f64::NAN;
    }
    if x < 0.5 {
        return digamma(1.0 - x) - PI / (PI * x).tan();
    }
    let mut acc = 0.0;
    let mut z = x;
    while z < 10.0 {
        acc -= 1.0 / z;
        z += 1.0;
    }
    let r = 1.0 / (z * z);
    let series = r
        * (1.0 / 12.0
            - r * (1.0 / 120.0 - r * (1.0 / 252.0 - r * (1.0 / 240.0 - r * (1.0 / 132.0)))));
    acc + z.ln() - 0.5 / z - series
}

/// The trigamma function ψ₁(x) = d²/dx² ln Γ(x).
///
/// Reflection ψ₁(1−x) + ψ₁(x) = π² / sin²(πx), recurrence ψ₁(x) = ψ₁(x+1) + 1/x², and the
/// asymptotic series of Abramowitz & Stegun (1964) eq. 6.4.12 for x ≥ 10.
pub fn trigamma(x: f64) -> f64 {
    if !x.is_finite() {
        return if x == f64::INFINITY { 0.0 } else { f64::NAN };
    }
    if x <= 0.0 && x == x.floor() {
        return f64::NAN;
    }
    if x < 0.5 {
        let s = (PI * x).sin();
        return PI * PI / (s * s) - trigamma(1.0 - x);
    }
    let mut acc = 0.0;
    let mut z = x;
    while z < 10.0 {
        acc += 1.0 / (z * z);
        z += 1.0;
    }
    let iz = 1.0 / z;
    let r = iz * iz;
    let series = iz
        + 0.5 * r
        + iz * r
            * (1.0 / 6.0 - r * (1.0 / 30.0 - r * (1.0 / 42.0 - r * (1.0 / 30.0 - r * 5.0 / 66.0))));
    acc + series
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digamma_known_values() {
        // ψ(1) = −γ (Euler–Mascheroni), ψ(1/2) = −γ − 2 ln 2.
        let gamma = 0.577_215_664_901_532_9;
        assert!(
            (digamma(1.0) + gamma).abs() < 1e-13,
            "{}",
            digamma(1.0) + gamma
        );
        assert!((digamma(0.5) + gamma + 2.0 * 2f64.ln()).abs() < 1e-13);
        // Recurrence at a negative non-integer.
        let x = -2.3;
        assert!((digamma(x + 1.0) - digamma(x) - 1.0 / x).abs() < 1e-12);
    }

    #[test]
    fn trigamma_known_values() {
        // ψ₁(1) = π²/6, ψ₁(1/2) = π²/2.
        assert!((trigamma(1.0) - PI * PI / 6.0).abs() < 1e-13);
        assert!((trigamma(0.5) - PI * PI / 2.0).abs() < 1e-13);
    }

    #[test]
    fn digamma_is_derivative_of_lgamma() {
        for &x in &[0.3, 1.7, 4.2, 12.5, 40.0] {
            let h = 1e-5;
            let fd = (lgamma(x + h) - lgamma(x - h)) / (2.0 * h);
            assert!((fd - digamma(x)).abs() < 1e-8 * (1.0 + fd.abs()), "x = {x}");
            let fd2 = (digamma(x + h) - digamma(x - h)) / (2.0 * h);
            assert!(
                (fd2 - trigamma(x)).abs() < 1e-7 * (1.0 + fd2.abs()),
                "x = {x}"
            );
        }
    }
}
