//! The global ensemble analyses as `N × N` transforms `E_a = G E` (formulas in the
//! [module docs](super)).

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par};
use mechml_engine::linalg::Llt;
use mechml_engine::{Error, Result};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::da::Ensemble;
use crate::da::ensemble::check_len;
use crate::da::linalg::SymEig;

/// What an analysis needs: the observed ensemble `h(E)` (`N × p`), the observation `y`
/// and the noise variances (the diagonal of R).
#[derive(Clone, Copy, Debug)]
pub struct AnalysisInput<'a> {
    /// `h(E)`, `N × p`.
    pub observed: &'a Ensemble,
    /// The observation, length p.
    pub y: &'a [f64],
    /// The diagonal of R, length p.
    pub noise_var: &'a [f64],
}

/// The scaled anomalies `Ỹ = Y R^{-1/2}` (column-major `N × p`) and innovation
/// `d̃ = R^{-1/2}(y − ȳ)`.
pub(crate) struct Scaled {
    pub n: usize,
    pub p: usize,
    pub ytil: Vec<f64>,
    pub dtil: Vec<f64>,
}

impl Scaled {
    pub fn ytil(&self) -> MatRef<'_, f64> {
        MatRef::from_column_major_slice(&self.ytil, self.n, self.p)
    }
}

impl<'a> AnalysisInput<'a> {
    /// Checks the shapes and values, then scales.
    pub(crate) fn scaled(&self, op: &'static str) -> Result<Scaled> {
        let (n, p) = (self.observed.n_members(), self.observed.n_state());
        check_len(op, "y", self.y.len(), p)?;
        check_len(op, "noise_var", self.noise_var.len(), p)?;
        if n < 2 {
            return Err(Error::invalid_option(op, "n_members", n, "at least 2"));
        }
        let mut ytil = vec![0.0; n * p];
        let mut dtil = vec![0.0; p];
        for j in 0..p {
            let r = self.noise_var[j];
            if !(r.is_finite() && r > 0.0) {
                return Err(Error::invalid_option(
                    op,
                    format!("noise_var[{j}]"),
                    r,
                    "finite and > 0",
                ));
            }
            let col = self.observed.var(j);
            let mean = col.iter().sum::<f64>() / n as f64;
            let s = 1.0 / r.sqrt();
            for (o, &v) in ytil[j * n..(j + 1) * n].iter_mut().zip(col) {
                *o = (v - mean) * s;
            }
            dtil[j] = (self.y[j] - mean) * s;
            if !dtil[j].is_finite() {
                return Err(Error::NonFinite {
                    op,
                    index: j,
                    value: dtil[j],
                    context: "innovation y − mean h(E) (observation or observed ensemble)".into(),
                });
            }
        }
        if let Some((k, &v)) = ytil.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(Error::NonFinite {
                op,
                index: k,
                value: v,
                context: "observed ensemble h(E)".into(),
            });
        }
        Ok(Scaled { n, p, ytil, dtil })
    }
}

/// `G = 11ᵀ/N + 1(Πw)ᵀ + TΠ` with `Π = I − 11ᵀ/N`: the transform whose analysis mean is
/// `x̄ + Aᵀw` and anomalies `TA`, exactly mean-consistent whatever the rounding in `T1`.
pub(crate) fn compose(w: &[f64], t: MatRef<'_, f64>) -> Mat<f64> {
    let n = w.len();
    let inv = 1.0 / n as f64;
    let wbar = w.iter().sum::<f64>() * inv;
    let rowsum: Vec<f64> = (0..n)
        .map(|r| (0..n).map(|c| t[(r, c)]).sum::<f64>())
        .collect();
    Mat::from_fn(n, n, |r, c| {
        inv + (w[c] - wbar) + t[(r, c)] - rowsum[r] * inv
    })
}

/// `ỸỸᵀ + shift I` (`N × N`).
fn gram_plus(s: &Scaled, shift: f64) -> Mat<f64> {
    let y = s.ytil();
    let mut m = Mat::<f64>::zeros(s.n, s.n);
    matmul(m.as_mut(), Accum::Replace, y, y.transpose(), 1.0, Par::Seq);
    for i in 0..s.n {
        m[(i, i)] += shift;
    }
    m
}

/// `ỸᵀỸ + shift I` (`p × p`).
fn gram_obs_plus(s: &Scaled, shift: f64) -> Mat<f64> {
    let y = s.ytil();
    let mut m = Mat::<f64>::zeros(s.p, s.p);
    matmul(m.as_mut(), Accum::Replace, y.transpose(), y, 1.0, Par::Seq);
    for i in 0..s.p {
        m[(i, i)] += shift;
    }
    m
}

/// The observation-space eigendecomposition `ỸᵀỸ = U diag(λ) Uᵀ` (λ clamped at 0), with
/// `Z = Ỹ U` (`N × p`) and `Uᵀ d̃`.
fn obs_space(s: &Scaled, op: &'static str) -> Result<(Vec<f64>, Mat<f64>, Vec<f64>)> {
    let g = gram_obs_plus(s, 0.0);
    let mut eig = SymEig::new(s.p);
    eig.compute(g.as_ref(), op)?;
    let mut z = Mat::<f64>::zeros(s.n, s.p);
    matmul(
        z.as_mut(),
        Accum::Replace,
        s.ytil(),
        eig.vecs.as_ref(),
        1.0,
        Par::Seq,
    );
    let ud = vt_times(&eig, &s.dtil);
    let lam = eig.vals.iter().map(|v| v.max(0.0)).collect();
    Ok((lam, z, ud))
}

/// `scale (I + Z diag(h) Zᵀ)` (`N × N`).
fn identity_plus_zhz(z: &Mat<f64>, h: &[f64], scale: f64) -> Mat<f64> {
    let (n, p) = (z.nrows(), z.ncols());
    let zh = Mat::<f64>::from_fn(n, p, |i, k| z[(i, k)] * h[k] * scale);
    let mut t = Mat::<f64>::zeros(n, n);
    for i in 0..n {
        t[(i, i)] = scale;
    }
    matmul(
        t.as_mut(),
        Accum::Add,
        zh.as_ref(),
        z.transpose(),
        1.0,
        Par::Seq,
    );
    t
}

/// `Z diag(c) e` (length N).
fn z_diag_e(z: &Mat<f64>, c: impl Fn(usize) -> f64, e: &[f64]) -> Vec<f64> {
    let (n, p) = (z.nrows(), z.ncols());
    let ce: Vec<f64> = (0..p).map(|k| c(k) * e[k]).collect();
    (0..n)
        .map(|i| (0..p).map(|k| z[(i, k)] * ce[k]).sum())
        .collect()
}

/// `V diag(f(λ)) Vᵀ`.
fn eig_fn(e: &SymEig, f: impl Fn(f64) -> f64) -> Mat<f64> {
    let n = e.dim();
    let mut vf = e.vecs.clone();
    for k in 0..n {
        let fk = f(e.vals[k]);
        for i in 0..n {
            vf[(i, k)] *= fk;
        }
    }
    let mut out = Mat::zeros(n, n);
    matmul(
        out.as_mut(),
        Accum::Replace,
        vf.as_ref(),
        e.vecs.transpose(),
        1.0,
        Par::Seq,
    );
    out
}

/// `Vᵀ x`.
fn vt_times(e: &SymEig, x: &[f64]) -> Vec<f64> {
    let n = e.dim();
    (0..n)
        .map(|k| (0..n).map(|i| e.vecs[(i, k)] * x[i]).sum())
        .collect()
}

/// `V x`.
fn v_times(e: &SymEig, x: &[f64]) -> Vec<f64> {
    let n = e.dim();
    (0..n)
        .map(|i| (0..n).map(|k| e.vecs[(i, k)] * x[k]).sum())
        .collect()
}

/// `Ỹ d̃` (length N).
fn ytil_dtil(s: &Scaled) -> Vec<f64> {
    let mut out = vec![0.0; s.n];
    for j in 0..s.p {
        let d = s.dtil[j];
        for (o, y) in out.iter_mut().zip(&s.ytil[j * s.n..(j + 1) * s.n]) {
            *o += y * d;
        }
    }
    out
}

/// `(√(a/(a+λ)) − 1)/λ = −1/(√(a+λ)(√a + √(a+λ)))`, finite at λ = 0.
fn sqrt_ratio_minus_one_over(a: f64, lam: f64) -> f64 {
    let sl = (a + lam).sqrt();
    -1.0 / (sl * (a.sqrt() + sl))
}

/// The ETKF transform with the symmetric square root; computed in observation space
/// (`p × p` eigenproblem) when `p < N`, else in ensemble space (`N × N`).
pub fn etkf_transform(input: &AnalysisInput<'_>) -> Result<Mat<f64>> {
    let s = input.scaled("etkf")?;
    let n1 = (s.n - 1) as f64;
    if s.p < s.n {
        let (lam, z, ud) = obs_space(&s, "etkf")?;
        let w = z_diag_e(&z, |k| 1.0 / (n1 + lam[k]), &ud);
        let h: Vec<f64> = lam
            .iter()
            .map(|&l| sqrt_ratio_minus_one_over(n1, l))
            .collect();
        let t = identity_plus_zhz(&z, &h, 1.0);
        return Ok(compose(&w, t.as_ref()));
    }
    let m = gram_plus(&s, n1);
    let mut eig = SymEig::new(s.n);
    eig.compute(m.as_ref(), "etkf")?;
    let w = {
        let g = vt_times(&eig, &ytil_dtil(&s));
        let scaled: Vec<f64> = g.iter().zip(&eig.vals).map(|(g, mu)| g / mu).collect();
        v_times(&eig, &scaled)
    };
    let t = eig_fn(&eig, |mu| (n1 / mu).sqrt());
    Ok(compose(&w, t.as_ref()))
}

/// `S = (ỸỸᵀ + N₁I)^{-1} Ỹ = Ỹ(ỸᵀỸ + N₁I)^{-1}` (`N × p`), by a Cholesky factorisation of
/// the smaller of the two matrices.
fn gain_weights(s: &Scaled, op: &'static str) -> Result<Mat<f64>> {
    let n1 = (s.n - 1) as f64;
    if s.p < s.n {
        let gp = gram_obs_plus(s, n1);
        let llt = Llt::factor_named(op, gp.as_ref(), Par::Seq)?;
        let mut st = s.ytil().transpose().to_owned();
        llt.solve_in_place(st.as_mut(), Par::Seq);
        Ok(st.transpose().to_owned())
    } else {
        let c = gram_plus(s, n1);
        let llt = Llt::factor_named(op, c.as_ref(), Par::Seq)?;
        let mut sol = s.ytil().to_owned();
        llt.solve_in_place(sol.as_mut(), Par::Seq);
        Ok(sol)
    }
}

/// The stochastic (perturbed-observation) EnKF transform; `rng` draws the N × p
/// perturbations member by member.
pub fn stochastic_transform<G: Rng + ?Sized>(
    input: &AnalysisInput<'_>,
    centred: bool,
    rng: &mut G,
) -> Result<Mat<f64>> {
    let s = input.scaled("stochastic_enkf")?;
    let (n, p) = (s.n, s.p);
    // Scaled perturbations z (N × p, column-major), centred over the members.
    let mut z = vec![0.0; n * p];
    for m in 0..n {
        for j in 0..p {
            z[j * n + m] = StandardNormal.sample(rng);
        }
    }
    if centred {
        for j in 0..p {
            let col = &mut z[j * n..(j + 1) * n];
            let mean = col.iter().sum::<f64>() / n as f64;
            col.iter_mut().for_each(|v| *v -= mean);
        }
    }
    // D̃ = (y + ε − h(E)) R^{-1/2} = d̃ − Ỹ + z.
    let dt = Mat::<f64>::from_fn(n, p, |m, j| s.dtil[j] - s.ytil[j * n + m] + z[j * n + m]);
    let sol = gain_weights(&s, "stochastic_enkf")?;
    // T = I + D̃ Sᵀ.
    let mut t = Mat::<f64>::identity(n, n);
    matmul(
        t.as_mut(),
        Accum::Add,
        dt.as_ref(),
        sol.transpose(),
        1.0,
        Par::Seq,
    );
    Ok(compose(&vec![0.0; n], t.as_ref()))
}

/// The DEnKF transform (Sakov & Oke 2008).
pub fn denkf_transform(input: &AnalysisInput<'_>) -> Result<Mat<f64>> {
    let s = input.scaled("denkf")?;
    let n = s.n;
    let sol = gain_weights(&s, "denkf")?;
    let w: Vec<f64> = (0..n)
        .map(|m| (0..s.p).map(|j| sol[(m, j)] * s.dtil[j]).sum())
        .collect();
    let mut t = Mat::<f64>::identity(n, n);
    matmul(
        t.as_mut(),
        Accum::Add,
        s.ytil(),
        sol.transpose(),
        -0.5,
        Par::Seq,
    );
    Ok(compose(&w, t.as_ref()))
}

/// The serial ensemble square-root filter transform (observations in index order).
pub fn serial_transform(input: &AnalysisInput<'_>) -> Result<Mat<f64>> {
    let s = input.scaled("serial_enkf")?;
    let (n, p) = (s.n, s.p);
    let n1 = (n - 1) as f64;
    let mut y = s.ytil.clone();
    let mut dy = s.dtil.clone();
    let mut t = Mat::<f64>::identity(n, n);
    let mut w = vec![0.0; n];
    let mut q = vec![0.0; p];
    let mut tty = vec![0.0; n];
    for j in 0..p {
        let yj: Vec<f64> = y[j * n..(j + 1) * n].to_vec();
        let c = crate::da::linalg::dot(&yj, &yj) + n1;
        let beta = 1.0 / (c + (n1 * c).sqrt());
        let dyj = dy[j];
        // Mean: w += Tᵀ yⱼ dyⱼ / c.
        for (col, o) in tty.iter_mut().enumerate() {
            *o = (0..n).map(|r| t[(r, col)] * yj[r]).sum();
        }
        crate::da::linalg::axpy(dyj / c, &tty, &mut w);
        // Remaining innovations and observed anomalies.
        for k in 0..p {
            q[k] = crate::da::linalg::dot(&yj, &y[k * n..(k + 1) * n]);
        }
        for k in 0..p {
            dy[k] -= q[k] * dyj / c;
            crate::da::linalg::axpy(-beta * q[k], &yj, &mut y[k * n..(k + 1) * n]);
        }
        // T ← (I − β yⱼyⱼᵀ) T.
        for col in 0..n {
            let f = -beta * tty[col];
            for r in 0..n {
                t[(r, col)] += f * yj[r];
            }
        }
    }
    Ok(compose(&w, t.as_ref()))
}

/// Options of the EnKF-N.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnkfNOptions {
    /// Use the exact Hessian `ỸỸᵀ + ζI − (2ζ²/N) w̄w̄ᵀ` of the primal cost for the
    /// anomalies (Bocquet 2011, eq. 30) instead of `ỸỸᵀ + ζI` (the default, as DAPPER).
    #[serde(default)]
    pub exact_hessian: bool,
}

/// The EnKF-N transform and the inflation `λ = √(N₁/ζ*)` it implies.
pub fn enkf_n_transform(input: &AnalysisInput<'_>, opts: &EnkfNOptions) -> Result<(Mat<f64>, f64)> {
    let s = input.scaled("enkf_n")?;
    let n = s.n;
    let nf = n as f64;
    let n1 = nf - 1.0;
    if s.p < n && !opts.exact_hessian {
        // The nonzero eigenvalues of ỸỸᵀ are those of ỸᵀỸ, with eigenvectors Ỹuₖ/√λₖ,
        // along which Ỹd̃ has components gₖ = √λₖ uₖᵀd̃.
        let (lam, z, ud) = obs_space(&s, "enkf_n")?;
        let lmax = lam.iter().fold(0.0_f64, |a, &b| a.max(b));
        let g: Vec<f64> = lam
            .iter()
            .zip(&ud)
            .map(|(&l, &u)| if l <= 1e-12 * lmax { 0.0 } else { l.sqrt() * u })
            .collect();
        let zeta = enkf_n_zeta(&g, &lam, nf)?;
        let w = z_diag_e(&z, |k| 1.0 / (zeta + lam[k]), &ud);
        let h: Vec<f64> = lam
            .iter()
            .map(|&l| sqrt_ratio_minus_one_over(zeta, l))
            .collect();
        let t = identity_plus_zhz(&z, &h, (n1 / zeta).sqrt());
        return Ok((compose(&w, t.as_ref()), (n1 / zeta).sqrt()));
    }
    let m0 = gram_plus(&s, 0.0);
    let mut eig = SymEig::new(n);
    eig.compute(m0.as_ref(), "enkf_n")?;
    let smax = eig.vals.iter().fold(0.0_f64, |a, &b| a.max(b));
    let sig2: Vec<f64> = eig.vals.iter().map(|&v| v.max(0.0)).collect();
    let mut g = vt_times(&eig, &ytil_dtil(&s));
    for (gk, &s2) in g.iter_mut().zip(&sig2) {
        if s2 <= 1e-12 * smax {
            *gk = 0.0;
        }
    }
    let zeta = enkf_n_zeta(&g, &sig2, nf)?;
    let scaled: Vec<f64> = g.iter().zip(&sig2).map(|(g, s2)| g / (zeta + s2)).collect();
    let w = v_times(&eig, &scaled);
    let t = if opts.exact_hessian {
        let mut h = gram_plus(&s, zeta);
        let c = 2.0 * zeta * zeta / nf;
        for j in 0..n {
            for i in 0..n {
                h[(i, j)] -= c * w[i] * w[j];
            }
        }
        let mut eh = SymEig::new(n);
        eh.compute(h.as_ref(), "enkf_n")?;
        if let Some(&v) = eh.vals.first().filter(|v| **v <= 0.0) {
            return Err(Error::NotPositiveDefinite {
                op: "enkf_n",
                pivot: 0,
                value: v,
            });
        }
        eig_fn(&eh, |mu| (n1 / mu).sqrt())
    } else {
        eig_fn(&eig, |s2| (n1 / (s2.max(0.0) + zeta)).sqrt())
    };
    Ok((compose(&w, t.as_ref()), (n1 / zeta).sqrt()))
}

/// The minimiser `ζ*` over `(0, N/ε_N]` of the EnKF-N dual cost, given `g = VᵀỸd̃` and the
/// eigenvalues `σ²` of `ỸỸᵀ`: every local minimum found on a log grid is refined by
/// bisection on `D'`, and the lowest is returned.
pub(crate) fn enkf_n_zeta(g: &[f64], sig2: &[f64], nf: f64) -> Result<f64> {
    let eps = 1.0 + 1.0 / nf;
    let zmax = nf / eps;
    let d = |z: f64| {
        let q: f64 = g.iter().zip(sig2).map(|(g, s)| g * g / (z + s)).sum();
        -0.5 * q + 0.5 * eps * z - 0.5 * nf * z.ln()
    };
    let dp = |z: f64| {
        let q: f64 = g
            .iter()
            .zip(sig2)
            .map(|(g, s)| g * g / ((z + s) * (z + s)))
            .sum();
        0.5 * q + 0.5 * eps - 0.5 * nf / z
    };
    const GRID: usize = 64;
    let zmin = zmax * 1e-8;
    let at = |k: usize| zmin * (zmax / zmin).powf(k as f64 / (GRID - 1) as f64);
    let mut candidates = Vec::new();
    if dp(zmin) >= 0.0 {
        candidates.push(zmin);
    }
    let mut prev = (zmin, dp(zmin));
    for k in 1..GRID {
        let z = at(k);
        let dz = dp(z);
        if prev.1 < 0.0 && dz >= 0.0 {
            let (mut lo, mut hi) = (prev.0, z);
            for _ in 0..100 {
                let mid = (lo * hi).sqrt();
                if dp(mid) < 0.0 {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            candidates.push((lo * hi).sqrt());
        }
        prev = (z, dz);
    }
    if prev.1 < 0.0 {
        candidates.push(zmax);
    }
    candidates
        .into_iter()
        .filter(|z| d(*z).is_finite())
        .min_by(|a, b| d(*a).total_cmp(&d(*b)))
        .ok_or_else(|| Error::NonFinite {
            op: "enkf_n",
            index: 0,
            value: f64::NAN,
            context: "dual cost of the EnKF-N".into(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_xoshiro::Xoshiro256PlusPlus;

    fn setup(n: usize, p: usize, seed: u64) -> (Ensemble, Vec<f64>, Vec<f64>) {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let e = Ensemble::gaussian(n, &vec![0.5; p], 1.0, &mut rng).unwrap();
        let y: Vec<f64> = (0..p).map(|j| (j as f64).sin()).collect();
        let r: Vec<f64> = (0..p).map(|j| 0.5 + 0.1 * j as f64).collect();
        (e, y, r)
    }

    /// The Kalman analysis with the ensemble covariance, for a direct observation h = I.
    fn kalman(e: &Ensemble, y: &[f64], r: &[f64]) -> (Vec<f64>, Mat<f64>) {
        let p = e.n_state();
        let pf = e.covariance().unwrap();
        let mut s = pf.clone();
        for j in 0..p {
            s[(j, j)] += r[j];
        }
        let k = &pf
            * mechml_engine::linalg::Lu::factor(s.as_ref(), Par::Seq)
                .unwrap()
                .inverse(Par::Seq);
        let xb = e.mean();
        let d: Vec<f64> = (0..p).map(|j| y[j] - xb[j]).collect();
        let xa: Vec<f64> = (0..p)
            .map(|i| xb[i] + (0..p).map(|j| k[(i, j)] * d[j]).sum::<f64>())
            .collect();
        let pa = &pf - &k * &pf;
        (xa, pa)
    }

    fn apply(e: &Ensemble, g: &Mat<f64>) -> Ensemble {
        let mut out = e.clone();
        out.transform(g.as_ref()).unwrap();
        out
    }

    #[test]
    fn square_root_filters_match_the_kalman_analysis_exactly() {
        let (e, y, r) = setup(8, 5, 7);
        let input = AnalysisInput {
            observed: &e,
            y: &y,
            noise_var: &r,
        };
        let (xa, pa) = kalman(&e, &y, &r);
        for (name, g) in [
            ("etkf", etkf_transform(&input).unwrap()),
            ("serial", serial_transform(&input).unwrap()),
        ] {
            let ea = apply(&e, &g);
            let (m, c) = (ea.mean(), ea.covariance().unwrap());
            for i in 0..5 {
                assert!((m[i] - xa[i]).abs() < 1e-12, "{name} mean {i}");
                for j in 0..5 {
                    assert!((c[(i, j)] - pa[(i, j)]).abs() < 1e-12, "{name} cov {i},{j}");
                }
            }
        }
        // DEnKF: exact mean, covariance (I − KH)P(I − KH)ᵀ/… within O(K²) of the KF.
        let ea = apply(&e, &denkf_transform(&input).unwrap());
        for (a, b) in ea.mean().iter().zip(&xa) {
            assert!((a - b).abs() < 1e-12);
        }
    }

    #[test]
    fn observation_and_ensemble_space_paths_agree() {
        // p < N takes the observation-space path; appending the same observations with
        // infinite-ish variance (no information) to reach p >= N takes the ensemble path.
        let (e, y, r) = setup(4, 3, 11);
        let input = AnalysisInput {
            observed: &e,
            y: &y,
            noise_var: &r,
        };
        let mut data = e.data().to_vec();
        let mut y2 = y.clone();
        let mut r2 = r.clone();
        for _ in 0..2 {
            data.extend_from_slice(&e.data()[..4]);
            y2.push(y[0]);
            r2.push(1e300);
        }
        let e2 = Ensemble::from_data(4, 5, data).unwrap();
        let input2 = AnalysisInput {
            observed: &e2,
            y: &y2,
            noise_var: &r2,
        };
        let close = |a: &Mat<f64>, b: &Mat<f64>| {
            (0..4).all(|i| (0..4).all(|j| (a[(i, j)] - b[(i, j)]).abs() < 1e-12))
        };
        assert!(close(
            &etkf_transform(&input).unwrap(),
            &etkf_transform(&input2).unwrap()
        ));
        assert!(close(
            &denkf_transform(&input).unwrap(),
            &denkf_transform(&input2).unwrap()
        ));
        let o = EnkfNOptions::default();
        let (a, la) = enkf_n_transform(&input, &o).unwrap();
        let (b, lb) = enkf_n_transform(&input2, &o).unwrap();
        assert!((la - lb).abs() < 1e-9 && close(&a, &b), "{la} {lb}");
    }

    #[test]
    fn enkf_n_zeta_solves_the_dual_stationarity() {
        let g = [0.3, 1.2, -2.0, 0.0];
        let s2 = [0.5, 2.0, 7.0, 0.0];
        let nf = 4.0;
        let z = enkf_n_zeta(&g, &s2, nf).unwrap();
        let eps = 1.0 + 1.0 / nf;
        let dp: f64 = 0.5
            * g.iter()
                .zip(&s2)
                .map(|(g, s)| g * g / ((z + s) * (z + s)))
                .sum::<f64>()
            + 0.5 * eps
            - 0.5 * nf / z;
        assert!(dp.abs() < 1e-10 || (z - nf / eps).abs() < 1e-12, "{z} {dp}");
    }

    #[test]
    fn stochastic_mean_is_kalman_mean_plus_perturbation_effect() {
        // With centred perturbations the mean update equals the Kalman (ensemble gain) mean
        // update exactly: the perturbations average to zero.
        let (e, y, r) = setup(10, 4, 9);
        let input = AnalysisInput {
            observed: &e,
            y: &y,
            noise_var: &r,
        };
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        let ea = apply(&e, &stochastic_transform(&input, true, &mut rng).unwrap());
        let (xa, _) = kalman(&e, &y, &r);
        for (a, b) in ea.mean().iter().zip(&xa) {
            assert!((a - b).abs() < 1e-12);
        }
    }
}
