//! Autocovariances by the fast Fourier transform (an iterative radix-2 Cooley–Tukey FFT
//! on zero-padded data, so the circular correlation equals the linear one).

use std::f64::consts::PI;

/// In-place radix-2 FFT of `(re, im)` (length a power of two); `inverse` uses `e^{+i}`
/// and does not scale.
fn fft_in_place(re: &mut [f64], im: &mut [f64], inverse: bool) {
    let n = re.len();
    debug_assert!(n.is_power_of_two() && im.len() == n);
    // Bit-reversal permutation.
    let mut j = 0usize;
    for i in 1..n {
        let mut bit = n >> 1;
        while j & bit != 0 {
            j ^= bit;
            bit >>= 1;
        }
        j |= bit;
        if i < j {
            re.swap(i, j);
            im.swap(i, j);
        }
    }
    let sign = if inverse { 1.0 } else { -1.0 };
    let mut len = 2;
    while len <= n {
        let ang = sign * 2.0 * PI / len as f64;
        let half = len / 2;
        for start in (0..n).step_by(len) {
            for k in 0..half {
                let (s, c) = (ang * k as f64).sin_cos();
                let (a, b) = (start + k, start + k + half);
                let tr = re[b] * c - im[b] * s;
                let ti = re[b] * s + im[b] * c;
                re[b] = re[a] - tr;
                im[b] = im[a] - ti;
                re[a] += tr;
                im[a] += ti;
            }
        }
        len <<= 1;
    }
}

/// The biased autocovariances `γ_t = (1/N) Σ_{k=0}^{N−1−t} (x_k − x̄)(x_{k+t} − x̄)`,
/// `t = 0, …, N−1` (Geyer 1992's recommended estimator).
pub fn autocovariance(x: &[f64]) -> Vec<f64> {
    let n = x.len();
    if n == 0 {
        return Vec::new();
    }
    let mean = x.iter().sum::<f64>() / n as f64;
    let m = (2 * n).next_power_of_two();
    let mut re = vec![0.0; m];
    let mut im = vec![0.0; m];
    for (r, v) in re.iter_mut().zip(x) {
        *r = v - mean;
    }
    fft_in_place(&mut re, &mut im, false);
    for (r, i) in re.iter_mut().zip(im.iter_mut()) {
        *r = *r * *r + *i * *i;
        *i = 0.0;
    }
    fft_in_place(&mut re, &mut im, true);
    re.truncate(n);
    let scale = 1.0 / (m as f64 * n as f64);
    re.iter_mut().for_each(|v| *v *= scale);
    re
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_direct_sum() {
        let x: Vec<f64> = (0..37)
            .map(|i| ((i * 7919) % 101) as f64 * 0.1 - 3.0)
            .collect();
        let n = x.len();
        let mean = x.iter().sum::<f64>() / n as f64;
        let ac = autocovariance(&x);
        for t in 0..n {
            let direct: f64 = (0..n - t)
                .map(|k| (x[k] - mean) * (x[k + t] - mean))
                .sum::<f64>()
                / n as f64;
            assert!((ac[t] - direct).abs() < 1e-12, "lag {t}");
        }
    }
}
