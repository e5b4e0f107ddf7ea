//! The coefficients and linear maps of the BDF (NDF) formulas: `γ_k`, `α_k`, the error
//! constants, the step-size change `D ← (R(r) U)ᵀ D` (Shampine & Reichelt 1997, SIAM J.
//! Sci. Comput. 18(1), eq. (2.5)) and the interpolating polynomial of the differences.

/// Highest order.
pub const MAX_ORDER: usize = 5;
/// Most simplified-Newton iterations per step.
pub(crate) const NEWTON_MAX_ITER: usize = 4;
/// Smallest step factor after a rejection.
pub(crate) const MIN_FACTOR: f64 = 0.2;
/// Largest step factor after an order and step selection.
pub(crate) const MAX_FACTOR: f64 = 10.0;
/// NDF coefficients κ (Shampine & Reichelt 1997, Table 1); order 5 is plain BDF.
const KAPPA: [f64; MAX_ORDER + 1] = [0.0, -0.1850, -1.0 / 9.0, -0.0823, -0.0415, 0.0];

/// `γ_k = Σ_{i≤k} 1/i`.
#[inline]
pub(crate) fn gamma(k: usize) -> f64 {
    GAMMA[k]
}

/// `α_k = (1 − κ_k) γ_k`.
#[inline]
pub(crate) fn alpha(k: usize) -> f64 {
    (1.0 - KAPPA[k]) * GAMMA[k]
}

/// The local error constant `κ_k γ_k + 1/(k + 1)`.
#[inline]
pub(crate) fn error_const(k: usize) -> f64 {
    KAPPA[k] * GAMMA[k] + 1.0 / (k as f64 + 1.0)
}

/// `γ_k` for `k = 0..=MAX_ORDER + 1`.
const GAMMA: [f64; MAX_ORDER + 2] = {
    let mut g = [0.0; MAX_ORDER + 2];
    let mut k = 1;
    while k < MAX_ORDER + 2 {
        g[k] = g[k - 1] + 1.0 / k as f64;
        k += 1;
    }
    g
};

/// Rows of the difference arrays: orders up to [`MAX_ORDER`] plus two.
const ROWS: usize = MAX_ORDER + 1;

/// The matrix `R(r)` of Shampine & Reichelt (eq. (2.5)) for order `k`:
/// `R₀ⱼ = 1`, `Rᵢⱼ = Π_{m≤i} (m − 1 − r j)/m` (on the stack; `k ≤ MAX_ORDER`).
const fn compute_r(k: usize, r: f64) -> [[f64; ROWS]; ROWS] {
    let mut m = [[0.0; ROWS]; ROWS];
    let mut j = 0;
    while j <= k {
        m[0][j] = 1.0;
        j += 1;
    }
    let mut i = 1;
    while i <= k {
        let mut j = 1;
        while j <= k {
            m[i][j] = m[i - 1][j] * ((i as f64) - 1.0 - r * j as f64) / i as f64;
            j += 1;
        }
        i += 1;
    }
    m
}

/// `U = R(1)` of every order, at compile time.
const U_TABLE: [[[f64; ROWS]; ROWS]; ROWS] = {
    let mut t = [[[0.0; ROWS]; ROWS]; ROWS];
    let mut k = 0;
    while k < ROWS {
        t[k] = compute_r(k, 1.0);
        k += 1;
    }
    t
};

/// `D[0..=k] ← (R(r) U)ᵀ D[0..=k]` for a step-size change by the factor `r`
/// (`D` row-major, `n` columns).
pub(crate) fn change_d(d: &mut [f64], n: usize, k: usize, r: f64) {
    if r == 1.0 {
        return;
    }
    // R(r) over the full (constant-size) block: rows and columns beyond k only meet the
    // zero rows of U below, so the loops unroll and the result is that of order k.
    let mut rm = [[0.0; ROWS]; ROWS];
    rm[0] = [1.0; ROWS];
    for i in 1..ROWS {
        let inv_i = 1.0 / i as f64;
        for j in 1..ROWS {
            rm[i][j] = rm[i - 1][j] * ((i as f64) - 1.0 - r * j as f64) * inv_i;
        }
    }
    let u = &U_TABLE[k];
    let mut ru = [[0.0; ROWS]; ROWS];
    for i in 0..ROWS {
        for l in 0..ROWS {
            let a = rm[i][l];
            for j in 0..ROWS {
                ru[i][j] += a * u[l][j];
            }
        }
    }
    // Row by row, in place: new row i needs old rows 0..=k, so go through a small copy
    // per column.
    let mut old = [0.0; ROWS];
    for c in 0..n {
        for j in 0..=k {
            old[j] = d[j * n + c];
        }
        for i in 0..=k {
            let mut acc = 0.0;
            for j in 0..=k {
                acc += ru[j][i] * old[j];
            }
            d[i * n + c] = acc;
        }
    }
}

/// Weights `pₘ(θ)` of the interpolant `y(t_old + θh) = Σₘ pₘ(θ) Dₘ` (after the update of
/// `D` for the step just taken, `D₀ = y_new`): `p₀ = 1`,
/// `pₘ(θ) = Π_{j<m} (θ − 1 + j)/(1 + j)`.
pub(crate) fn interp_weights(k: usize, theta: f64, out: &mut [f64]) {
    out[0] = 1.0;
    for m in 1..=k {
        out[m] = out[m - 1] * (theta - 1.0 + (m - 1) as f64) / m as f64;
    }
}

/// Power-basis coefficients in θ of `Σₘ pₘ(θ) Dₘ` (see [`interp_weights`]).
pub(crate) fn bdf_power_coeffs(d: &[f64], n: usize, k: usize, out: &mut Vec<f64>) {
    out.clear();
    out.resize((k + 1) * n, 0.0);
    // p as polynomial coefficients, p₀ = 1.
    let mut p = vec![0.0; k + 1];
    p[0] = 1.0;
    for m in 0..=k {
        if m > 0 {
            // p ← p · (θ − 1 + (m−1)) / m
            let a = (m as f64 - 2.0) / m as f64;
            let b = 1.0 / m as f64;
            for j in (0..=m).rev() {
                let lower = if j > 0 { p[j - 1] } else { 0.0 };
                p[j] = p[j] * a + lower * b;
            }
        }
        for (j, &pj) in p[..=m].iter().enumerate() {
            if pj != 0.0 {
                for i in 0..n {
                    out[j * n + i] += pj * d[m * n + i];
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_d_keeps_the_interpolating_polynomial() {
        // Differences of y(t) = t³ at t = 0 on the grid h = 0.1 (backward): the polynomial
        // through the points must be the same after rescaling to h' = 0.05.
        let n = 1;
        let k = 3;
        let h = 0.1;
        let y = |t: f64| t * t * t - 0.5 * t;
        let pts: Vec<f64> = (0..=k).map(|j| y(-(j as f64) * h)).collect();
        // Backward differences ∇ʲ y₀.
        let mut d = vec![0.0; (MAX_ORDER + 3) * n];
        let mut cur = pts.clone();
        for j in 0..=k {
            d[j] = cur[0];
            cur = (0..cur.len().saturating_sub(1))
                .map(|i| cur[i] - cur[i + 1])
                .collect();
        }
        change_d(&mut d, n, k, 0.5);
        // Now ∇ʲ on the grid h/2 must reproduce the cubic exactly.
        let new_pts: Vec<f64> = (0..=k).map(|j| y(-(j as f64) * h * 0.5)).collect();
        let mut cur = new_pts;
        for j in 0..=k {
            assert!(
                (d[j] - cur[0]).abs() < 1e-14,
                "row {j}: {} vs {}",
                d[j],
                cur[0]
            );
            cur = (0..cur.len().saturating_sub(1))
                .map(|i| cur[i] - cur[i + 1])
                .collect();
        }
    }

    #[test]
    fn interpolant_weights_match_power_basis() {
        let n = 2;
        let k = 4;
        let d: Vec<f64> = (0..(MAX_ORDER + 3) * n)
            .map(|i| (i as f64 * 0.37).sin())
            .collect();
        let mut c = Vec::new();
        bdf_power_coeffs(&d, n, k, &mut c);
        let mut w = vec![0.0; k + 1];
        for theta in [0.0, 0.3, 1.0] {
            interp_weights(k, theta, &mut w);
            for i in 0..n {
                let direct: f64 = (0..=k).map(|m| w[m] * d[m * n + i]).sum();
                let poly: f64 = (0..=k).map(|j| c[j * n + i] * theta.powi(j as i32)).sum();
                assert!((direct - poly).abs() < 1e-13);
            }
        }
    }
}
