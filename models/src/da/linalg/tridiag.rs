//! [`SymSpectral`]: the eigenvalues of a small symmetric matrix `S = V diag(λ) Vᵀ` and the
//! maps `x ↦ Vᵀx`, `x ↦ Vx`, without forming `V` — all a local analysis needs to apply a
//! matrix function `f(S)` to a few vectors.
//!
//! Two stages (Golub & Van Loan 2013, *Matrix Computations*, 4th ed.):
//!
//! 1. Householder tridiagonalisation `QᵀSQ = T`, `Q = H_0 ⋯ H_{n−3}` (Alg. 8.3.1), the
//!    Householder vectors kept;
//! 2. the implicit symmetric QR algorithm with the Wilkinson shift (Alg. 8.3.2–8.3.3),
//!    `T = W Λ Wᵀ` with `W = J_1 ⋯ J_K` the Givens rotations of the sweeps, kept as a list.
//!
//! So `V = Q W`, and `Vᵀx`, `Vx` cost O(n² + K) instead of the O(n³) of accumulating `W`
//! into `Q`: the whole decomposition costs about `2n³` flops (the tridiagonalisation)
//! instead of about `9n³`. Sequential and free of allocation after the first use.

use faer::MatRef;
use mechml_engine::{Error, Result};

use super::vector::{axpy, dot};

/// One Givens rotation `J = [[c, s], [−s, c]]` in the plane `(k, k+1)`.
#[derive(Clone, Copy, Debug)]
struct Rotation {
    k: usize,
    c: f64,
    s: f64,
}

/// The spectral decomposition of a symmetric `n × n` matrix as eigenvalues plus the
/// factored eigenvector matrix (see the [module docs](self)); reusable.
#[derive(Clone, Debug, Default)]
pub(crate) struct SymSpectral {
    n: usize,
    /// Column-major work matrix; after [`compute`](Self::compute) column k holds the
    /// Householder vector `v_k` on rows k+1..n.
    a: Vec<f64>,
    tau: Vec<f64>,
    d: Vec<f64>,
    e: Vec<f64>,
    rotations: Vec<Rotation>,
}

impl SymSpectral {
    /// An empty workspace (sized on first use).
    pub fn new() -> Self {
        Self::default()
    }

    /// The eigenvalues (unordered, matching [`apply_vt`](Self::apply_vt)).
    pub fn vals(&self) -> &[f64] {
        &self.d
    }

    /// Decomposes the symmetric `s` (only its lower triangle is read).
    pub fn compute(&mut self, s: MatRef<'_, f64>, op: &'static str) -> Result<()> {
        let n = s.nrows();
        if n != self.n {
            self.n = n;
            self.a.resize(n * n, 0.0);
            self.tau.resize(n, 0.0);
            self.d.resize(n, 0.0);
            self.e.resize(n, 0.0);
        }
        // Symmetrise from the lower triangle, scaled to entries of magnitude ≤ 1 so that
        // no rotation overflows; the eigenvalues are scaled back.
        let mut amax = 0.0_f64;
        for j in 0..n {
            for i in j..n {
                let v = s[(i, j)];
                if !v.is_finite() {
                    return Err(Error::NonFinite {
                        op,
                        index: i + j * n,
                        value: v,
                        context: "entry of the analysis matrix (the ensemble or the \
                                  observations hold non-finite values)"
                            .into(),
                    });
                }
                amax = amax.max(v.abs());
            }
        }
        let scale = if amax > 0.0 { amax } else { 1.0 };
        let inv = 1.0 / scale;
        for j in 0..n {
            for i in j..n {
                let v = s[(i, j)] * inv;
                self.a[j * n + i] = v;
                self.a[i * n + j] = v;
            }
        }
        tridiagonalize(n, &mut self.a, &mut self.d, &mut self.e, &mut self.tau);
        self.rotations.clear();
        implicit_qr(n, &mut self.d, &mut self.e, &mut self.rotations).map_err(|sweeps| {
            Error::NoConvergence {
                op,
                iterations: sweeps,
                detail: "the symmetric QR algorithm of the analysis matrix did not converge".into(),
            }
        })?;
        for v in &mut self.d {
            *v *= scale;
        }
        Ok(())
    }

    /// `x ← Vᵀx = Wᵀ Qᵀ x` (coordinates in the eigenbasis, in the order of
    /// [`vals`](Self::vals)).
    pub fn apply_vt(&self, x: &mut [f64]) {
        let n = self.n;
        for k in 0..n.saturating_sub(2) {
            let beta = self.tau[k];
            if beta != 0.0 {
                let v = &self.a[k * n + k + 1..(k + 1) * n];
                let r = beta * dot(v, &x[k + 1..]);
                axpy(-r, v, &mut x[k + 1..]);
            }
        }
        for &Rotation { k, c, s } in &self.rotations {
            let (u, w) = (x[k], x[k + 1]);
            x[k] = c * u - s * w;
            x[k + 1] = s * u + c * w;
        }
    }

    /// `x ← Vx = Q W x` (from coordinates in the eigenbasis).
    pub fn apply_v(&self, x: &mut [f64]) {
        let n = self.n;
        for &Rotation { k, c, s } in self.rotations.iter().rev() {
            let (u, w) = (x[k], x[k + 1]);
            x[k] = c * u + s * w;
            x[k + 1] = -s * u + c * w;
        }
        for k in (0..n.saturating_sub(2)).rev() {
            let beta = self.tau[k];
            if beta != 0.0 {
                let v = &self.a[k * n + k + 1..(k + 1) * n];
                let r = beta * dot(v, &x[k + 1..]);
                axpy(-r, v, &mut x[k + 1..]);
            }
        }
    }
}

/// Householder tridiagonalisation of the full symmetric column-major `a`: on return `d` is
/// the diagonal of T, `e[k] = T[k+1,k]`, column k of `a` below row k holds the
/// Householder vector `v_k` and `tau[k] = β_k`, `H_k = I − β_k v_k v_kᵀ`.
fn tridiagonalize(n: usize, a: &mut [f64], d: &mut [f64], e: &mut [f64], tau: &mut [f64]) {
    e.iter_mut().for_each(|v| *v = 0.0);
    tau.iter_mut().for_each(|v| *v = 0.0);
    if n == 0 {
        return;
    }
    // d[k+1..n] is the scratch for p and w at step k (d[j] is written at step j).
    for k in 0..n.saturating_sub(2) {
        let m = n - k - 1;
        let (head, tail) = a.split_at_mut((k + 1) * n);
        d[k] = head[k * n + k];
        let v = &mut head[k * n + k + 1..(k + 1) * n];
        let alpha = dot(v, v).sqrt();
        if alpha == 0.0 {
            continue;
        }
        let x0 = v[0];
        let sgn = if x0 >= 0.0 { 1.0 } else { -1.0 };
        v[0] = x0 + sgn * alpha;
        // vᵀv = 2α(α + |x₀|), β = 2/vᵀv.
        let beta = 1.0 / (alpha * (alpha + x0.abs()));
        tau[k] = beta;
        e[k] = -sgn * alpha;
        // B = a[k+1.., k+1..]: p = β B v, w = p − (β pᵀv / 2) v, B ← B − v wᵀ − w vᵀ.
        let p = &mut d[k + 1..n];
        p.iter_mut().for_each(|x| *x = 0.0);
        for (j, &vj) in v.iter().enumerate() {
            axpy(beta * vj, &tail[j * n + k + 1..j * n + n], p);
        }
        let half = 0.5 * beta * dot(p, v);
        axpy(-half, v, p);
        for j in 0..m {
            let (wj, vj) = (p[j], v[j]);
            let col = &mut tail[j * n + k + 1..j * n + n];
            for ((c, &vi), &wi) in col.iter_mut().zip(v.iter()).zip(p.iter()) {
                *c -= vi * wj + wi * vj;
            }
        }
    }
    if n >= 2 {
        d[n - 2] = a[(n - 2) * n + n - 2];
        e[n - 2] = a[(n - 2) * n + n - 1];
    }
    d[n - 1] = a[(n - 1) * n + n - 1];
    e[n - 1] = 0.0;
}

/// The implicit symmetric QR algorithm on the tridiagonal `(d, e)` (`e[k] = T[k+1,k]`,
/// entries of magnitude ≤ 1): `d` ends holding the eigenvalues and `rotations` the
/// rotations in the order applied. At most `30 n` sweeps (`Err(sweeps)` beyond).
fn implicit_qr(
    n: usize,
    d: &mut [f64],
    e: &mut [f64],
    rotations: &mut Vec<Rotation>,
) -> std::result::Result<(), usize> {
    if n < 2 {
        return Ok(());
    }
    let eps = f64::EPSILON;
    let max_sweeps = 30 * n;
    let mut end = n - 1;
    let mut sweeps = 0;
    loop {
        // Deflate negligible off-diagonals of the active part, then find the last
        // unreduced block [l, end].
        for k in 0..end {
            if e[k].abs() <= eps * (d[k].abs() + d[k + 1].abs()) {
                e[k] = 0.0;
            }
        }
        while end > 0 && e[end - 1] == 0.0 {
            end -= 1;
        }
        if end == 0 {
            return Ok(());
        }
        let mut l = end - 1;
        while l > 0 && e[l - 1] != 0.0 {
            l -= 1;
        }
        if sweeps == max_sweeps || !d[l..=end].iter().all(|v| v.is_finite()) {
            return Err(sweeps);
        }
        sweeps += 1;
        qr_sweep(l, end, d, e, rotations);
    }
}

/// One implicit QR step with the Wilkinson shift on the unreduced block `[l, m]`
/// (Golub & Van Loan Alg. 8.3.2): the bulge chased down by rotations `J_k` in the planes
/// (k, k+1), `T ← J_kᵀ T J_k`.
fn qr_sweep(l: usize, m: usize, d: &mut [f64], e: &mut [f64], rotations: &mut Vec<Rotation>) {
    // Wilkinson shift: the eigenvalue of the trailing 2 × 2 block nearer d[m].
    let delta = 0.5 * (d[m - 1] - d[m]);
    let b2 = e[m - 1] * e[m - 1];
    let sgn = if delta >= 0.0 { 1.0 } else { -1.0 };
    let mu = d[m] - b2 / (delta + sgn * (delta * delta + b2).sqrt());
    let mut x = d[l] - mu;
    let mut z = e[l];
    for k in l..m {
        // J = [[c, s], [−s, c]] on (k, k+1), chosen so that (Jᵀ T J)[k+1, k−1] = 0
        // (for k = l: Jᵀ (d[l] − μ, e[l])ᵀ ∥ e₁, the implicit-Q condition).
        let r2 = x * x + z * z;
        // Entries are at most 1 in magnitude: r2 can only underflow.
        let r = if r2.is_normal() {
            r2.sqrt()
        } else {
            x.hypot(z)
        };
        let (c, s) = if r == 0.0 {
            (1.0, 0.0)
        } else {
            (x / r, -z / r)
        };
        if k > l {
            e[k - 1] = r;
        }
        let (a, b, dd) = (d[k], e[k], d[k + 1]);
        let (cc, ss, cs) = (c * c, s * s, c * s);
        d[k] = cc * a - 2.0 * cs * b + ss * dd;
        d[k + 1] = ss * a + 2.0 * cs * b + cc * dd;
        e[k] = cs * (a - dd) + (cc - ss) * b;
        if k + 1 < m {
            z = -s * e[k + 1];
            e[k + 1] *= c;
        }
        x = e[k];
        rotations.push(Rotation { k, c, s });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::da::linalg::SymEig;
    use faer::Mat;
    use rand::SeedableRng;
    use rand_distr::{Distribution, StandardNormal};

    /// Test matrices: dense Gaussian, `30² YYᵀ + 39 I` with Y of rank n/3 (the shape of the
    /// analysis matrices), one with a repeated eigenvalue, zero, diagonal.
    fn cases() -> Vec<Mat<f64>> {
        let mut g = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(5);
        let mut normal = move || -> f64 { StandardNormal.sample(&mut g) };
        let mut out = Vec::new();
        for n in [1, 2, 3, 4, 7, 16, 27, 40, 64] {
            let b = Mat::<f64>::from_fn(n, n, |_, _| normal());
            out.push(Mat::from_fn(n, n, |i, j| b[(i, j)] + b[(j, i)]));
            let y = Mat::<f64>::from_fn(n, (n / 3).max(1), |_, _| 30.0 * normal());
            let mut gram = &y * y.transpose();
            for i in 0..n {
                gram[(i, i)] += 39.0;
            }
            out.push(gram);
            out.push(Mat::from_fn(n, n, |i, j| if i == j { 2.0 } else { 1.0 }));
        }
        out.push(Mat::zeros(5, 5));
        out.push(Mat::from_fn(6, 6, |i, j| {
            if i == j { (i % 2) as f64 } else { 0.0 }
        }));
        out
    }

    #[test]
    fn matrix_functions_match_the_full_eigendecomposition() {
        // f(S) x via Vᵀ, f(λ), V against faer's V f(Λ) Vᵀ x, for f = identity (which
        // reconstructs S x) and f(λ) = 1/√(1 + λ − λ_min).
        let mut sp = SymSpectral::new();
        let mut full = SymEig::new(1);
        for s in cases() {
            let n = s.nrows();
            sp.compute(s.as_ref(), "test").unwrap();
            full.compute(s.as_ref(), "test").unwrap();
            let norm = (0..n * n).fold(1e-300_f64, |m, k| m.max(s[(k % n, k / n)].abs()));
            let tol = 64.0 * n as f64 * f64::EPSILON;
            let lmin = full.vals[0];
            let mut sorted = sp.vals().to_vec();
            sorted.sort_by(f64::total_cmp);
            for (a, b) in sorted.iter().zip(&full.vals) {
                assert!((a - b).abs() <= tol * norm, "n={n}: eigenvalue {a} vs {b}");
            }
            let x: Vec<f64> = (0..n).map(|i| (i as f64 * 0.7).sin()).collect();
            let fs: [fn(f64, f64) -> f64; 2] = [|l, _| l, |l, m| 1.0 / (1.0 + l - m).sqrt()];
            for f in fs {
                let mut y = x.clone();
                sp.apply_vt(&mut y);
                for (yi, &l) in y.iter_mut().zip(sp.vals()) {
                    *yi *= f(l, lmin);
                }
                sp.apply_v(&mut y);
                let mut c = full.vecs.transpose() * faer::col::ColRef::from_slice(&x);
                for (k, &l) in full.vals.iter().enumerate() {
                    c[k] *= f(l, lmin);
                }
                let r = &full.vecs * &c;
                let scale = f(norm, lmin).abs().max(f(lmin, lmin).abs()).max(1.0);
                for i in 0..n {
                    assert!(
                        (y[i] - r[i]).abs() <= tol * scale * n as f64,
                        "n={n} i={i}: {} vs {}",
                        y[i],
                        r[i]
                    );
                }
            }
        }
        let mut bad = Mat::<f64>::identity(3, 3);
        bad[(2, 1)] = f64::NAN;
        assert!(sp.compute(bad.as_ref(), "test").is_err());
    }
}
