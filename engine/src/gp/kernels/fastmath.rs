//! A branch-free `exp` that the compiler can inline and vectorise in kernel-matrix loops
//! over contiguous slices (the C library's `exp` is an opaque call per entry).
//!
//! `eˣ = 2ⁿ e^r` with `n = round(x / ln 2)` and `r = x − n ln 2`, `|r| ≤ ln 2 / 2`
//! (Cody & Waite 1980, "Software Manual for the Elementary Functions", ch. 6: `ln 2` split
//! into a high part exact in 32 bits and a low part, both products fused). `e^r` is the
//! degree-11 polynomial of best relative approximation on `|r| ≤ 0.34658` (Remez exchange,
//! Muller 2016, "Elementary Functions", 3rd ed., §3.6; computed in 50-digit arithmetic:
//! levelled relative error 3.1·10⁻¹⁸, 2.2·10⁻¹⁷ with the coefficients rounded to
//! doubles), evaluated by Horner's rule with fused multiply-adds. The rounding uses the
//! `1.5·2⁵²` trick, so `n` and the exponent bits come from mantissa bits without any
//! float-to-integer conversion (none vectorises on AVX2). `2ⁿ` is applied as
//! `2^⌊n/2⌋ · 2^(n−⌊n/2⌋)`, two normal powers of two, so that results in the subnormal
//! range are rounded once and very negative arguments underflow to `0` (as `f64::exp`);
//! above `709.78` the result is `∞`, and NaN stays NaN. Accuracy: within 2 ulp of
//! `f64::exp` (tested below over a dense grid and random arguments).

const LOG2E: f64 = std::f64::consts::LOG2_E;
const LN2_HI: f64 = 0.693_147_180_369_123_8; // 0x3FE62E42FEE00000
const LN2_LO: f64 = 1.908_214_929_270_587_7e-10; // ln 2 − LN2_HI
const MAGIC: f64 = 6_755_399_441_055_744.0; // 1.5 · 2⁵²
/// `MAGIC + 1023`: `(k + EXP_MAGIC).to_bits() << 52` is the bit pattern of `2^k` for an
/// integer `k` with `1 ≤ k + 1023 ≤ 2046` (the low mantissa bits hold `k + 1023`).
const EXP_MAGIC: f64 = MAGIC + 1023.0;

/// Remez coefficients of `e^r ≈ Σ_k P[k] r^k` on `|r| ≤ 0.34658` (module docs).
const P: [f64; 12] = [
    1.0,
    1.0,
    0.500_000_000_000_001_8,
    0.166_666_666_666_661_7,
    0.041_666_666_666_492_74,
    0.008_333_333_333_559_307,
    0.001_388_888_895_123_092,
    0.000_198_412_694_326_309_88,
    2.480_148_651_395_242_8e-5,
    2.755_762_255_596_933e-6,
    2.763_229_606_139_090_6e-7,
    2.499_430_188_027_702_4e-8,
];

/// `2^k` for an integral `k` (as a float) with `−1022 ≤ k ≤ 1023`.
#[inline(always)]
fn pow2(k: f64) -> f64 {
    f64::from_bits((k + EXP_MAGIC).to_bits() << 52)
}

/// `eˣ` to within 2 ulp of `f64::exp`, including underflow to `0`, overflow to `∞` and
/// NaN (module docs). Branch-free, so loops over slices of it vectorise.
#[inline(always)]
pub(crate) fn exp(x: f64) -> f64 {
    // Beyond these the result is 0 or ∞ anyway; the clamp keeps n in range of `pow2`
    // (NaN passes through).
    let x = x.clamp(-746.0, 710.0);
    let t = x.mul_add(LOG2E, MAGIC);
    let nf = t - MAGIC;
    let r = nf.mul_add(-LN2_LO, nf.mul_add(-LN2_HI, x));
    let mut p = P[11];
    for &c in P[..11].iter().rev() {
        p = p.mul_add(r, c);
    }
    // n ∈ [−1076, 1024]: both halves are normal powers of two; the first product is exact.
    let n1 = (nf * 0.5).floor();
    p * pow2(n1) * pow2(nf - n1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};

    /// Distance in units in the last place between two finite doubles of equal sign (or
    /// zero).
    fn ulps(a: f64, b: f64) -> u64 {
        (a.to_bits() as i64).abs_diff(b.to_bits() as i64)
    }

    fn check(x: f64, worst: &mut u64) {
        let (got, want) = (exp(x), x.exp());
        let u = ulps(got, want);
        assert!(u <= 2, "exp({x:e}) = {got:e}, f64::exp {want:e}: {u} ulp");
        *worst = (*worst).max(u);
    }

    #[test]
    fn within_two_ulp_of_std_exp_on_a_dense_grid() {
        let mut worst = 0;
        // The whole range with normal and subnormal results, in steps that hit every
        // position of r in its interval.
        let mut x = -745.0;
        while x < 709.7 {
            for dx in [0.0, 1e-9, 0.173, 0.5 * std::f64::consts::LN_2] {
                check(x + dx, &mut worst);
            }
            x += 0.0137;
        }
        // Densely near 0, where kernels evaluate most.
        for k in -200_000..=200_000 {
            check(k as f64 * 1e-5, &mut worst);
        }
        assert_eq!(exp(0.0), 1.0);
        assert!(worst <= 2);
    }

    #[test]
    fn within_two_ulp_of_std_exp_at_random_arguments() {
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(7);
        let mut worst = 0;
        for _ in 0..200_000 {
            let x: f64 = rng.random_range(-745.0..709.7);
            check(x, &mut worst);
            let x: f64 = rng.random_range(-1.0..1.0) * 40.0;
            check(x, &mut worst);
        }
    }

    #[test]
    fn underflows_to_zero_overflows_to_infinity_and_keeps_nan() {
        for x in [-745.2, -746.0, -800.0, -1e6, f64::NEG_INFINITY] {
            assert_eq!(exp(x), 0.0, "exp({x})");
            assert_eq!(exp(x), x.exp());
        }
        for x in [709.79, 710.0, 1e6, f64::INFINITY] {
            assert_eq!(exp(x), f64::INFINITY, "exp({x})");
        }
        assert_eq!(exp(709.78), 709.78f64.exp());
        assert!(exp(f64::NAN).is_nan());
        // The smallest subnormal and the largest normal results.
        assert_eq!(exp(-744.44), (-744.44f64).exp());
        assert_eq!(exp(-708.4), (-708.4f64).exp());
    }
}
