//! A branch-free `exp` that the compiler can inline and vectorise in kernel-matrix loops
//! (the C library's `exp` is an opaque call per entry).
//!
//! `eˣ = 2ⁿ e^r` with `n = round(x / ln 2)` and `r = x − n ln 2` (Cody & Waite 1980:
//! `ln 2` split into a high part exact in 32 bits and a low part), `|r| ≤ ln 2 / 2`;
//! `e^r` by its Taylor polynomial of degree 13 (remainder below `0.35¹⁴/14! ≈ 5·10⁻¹⁸`),
//! and `2ⁿ` assembled from its exponent bits. The rounding uses the `1.5·2⁵²` trick so
//! that `n` is read from the low mantissa bits without a float-to-integer conversion.
//! Arguments are clamped to `[−708, 709]`: below, the result is `≈ 3·10⁻³⁰⁸` instead of
//! underflowing (immaterial for covariances). Accuracy: a few ulp (tested below).

const LOG2E: f64 = std::f64::consts::LOG2_E;
const LN2_HI: f64 = 0.693_147_180_369_123_8; // 0x3FE62E42FEE00000
const LN2_LO: f64 = 1.908_214_929_270_587_7e-10; // ln 2 − LN2_HI
const MAGIC: f64 = 6_755_399_441_055_744.0; // 1.5 · 2⁵²

/// `eˣ` for `x ∈ [−708, 709]` (clamped outside), to a few ulp.
#[inline(always)]
pub(crate) fn exp(x: f64) -> f64 {
    let x = x.clamp(-708.0, 709.0);
    let t = x * LOG2E + MAGIC;
    let nf = t - MAGIC;
    let r = nf.mul_add(-LN2_LO, nf.mul_add(-LN2_HI, x));
    // Horner for Σ_{k ≤ 13} r^k / k!.
    let mut p: f64 = 1.0 / 6_227_020_800.0;
    p = p.mul_add(r, 1.0 / 479_001_600.0);
    p = p.mul_add(r, 1.0 / 39_916_800.0);
    p = p.mul_add(r, 1.0 / 3_628_800.0);
    p = p.mul_add(r, 1.0 / 362_880.0);
    p = p.mul_add(r, 1.0 / 40_320.0);
    p = p.mul_add(r, 1.0 / 5_040.0);
    p = p.mul_add(r, 1.0 / 720.0);
    p = p.mul_add(r, 1.0 / 120.0);
    p = p.mul_add(r, 1.0 / 24.0);
    p = p.mul_add(r, 1.0 / 6.0);
    p = p.mul_add(r, 0.5);
    p = p.mul_add(r, 1.0);
    p = p.mul_add(r, 1.0);
    let n = (t.to_bits() as i64).wrapping_sub(MAGIC.to_bits() as i64);
    let scale = f64::from_bits(((n + 1023) as u64) << 52);
    p * scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_std_exp_to_a_few_ulp() {
        let mut worst: f64 = 0.0;
        let mut x = -700.0;
        while x < 700.0 {
            for dx in [0.0, 1e-9, 0.173, 0.5 * std::f64::consts::LN_2] {
                let v = x + dx;
                let rel = (exp(v) - v.exp()).abs() / v.exp();
                worst = worst.max(rel);
            }
            x += 0.0137;
        }
        assert!(worst < 4.0 * f64::EPSILON, "worst relative error {worst:e}");
        assert_eq!(exp(0.0), 1.0);
        assert!(exp(-1e6) < 1e-300 && exp(-1e6) >= 0.0);
    }
}
