//! The k-box model written a second time, directly from the scalar equations of Cummins,
//! Stephenson & Stott (2020): eqs. (1)–(3) for the boxes with the efficacy ε on the
//! exchange between the two deepest boxes, the stochastic forcing
//! dF = −γ (F − s·u) dt + σ_η dW_η, the temperature disturbance σ_ξ dW_ξ on C₁ dT₁, and
//! the top-of-atmosphere flux N = F − κ₁T₁ + (1 − ε) κ_k (T_{k−1} − T_k). It never calls
//! the model's code: matrices come from evaluating the scalar equations on unit vectors,
//! the discretisation from fine-step RK4 integration of the moment equations, the
//! stationary law from the continuous Lyapunov equation, the likelihood from a dense
//! Gaussian.
#![allow(clippy::needless_range_loop)]

use faer::prelude::Solve;
use faer::{Mat, Side};
use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::ssm::ebm::{EbmParams, KBoxEbm};

/// The paper's parameters, in plain numbers.
#[derive(Clone, Debug)]
pub(super) struct Paper {
    pub(super) c: Vec<f64>,
    pub(super) kappa: Vec<f64>,
    pub(super) eps: f64,
    pub(super) sigma_xi: f64,
    pub(super) gamma: f64,
    pub(super) sigma_eta: f64,
    pub(super) s: f64,
    pub(super) sigma_t: f64,
    pub(super) sigma_n: f64,
    pub(super) t0: f64,
    pub(super) stochastic: bool,
}

impl Paper {
    pub(super) fn random(k: usize, stochastic: bool, rng: &mut Xoshiro256PlusPlus) -> Self {
        let mut u = |lo: f64, hi: f64| lo + (hi - lo) * rng.random::<f64>();
        let c = match k {
            1 => vec![u(4.0, 10.0)],
            2 => vec![u(4.0, 10.0), u(50.0, 150.0)],
            _ => vec![u(3.0, 9.0), u(10.0, 40.0), u(60.0, 200.0)],
        };
        let kappa = match k {
            1 => vec![u(0.8, 1.6)],
            2 => vec![u(0.8, 1.6), u(0.4, 1.0)],
            _ => vec![u(0.8, 1.6), u(1.0, 2.5), u(0.4, 1.2)],
        };
        Self {
            c,
            kappa,
            eps: u(0.6, 1.6),
            sigma_xi: u(0.2, 0.8),
            gamma: u(0.5, 3.0),
            sigma_eta: u(0.2, 0.8),
            s: u(0.8, 6.0),
            sigma_t: u(0.02, 0.2),
            sigma_n: u(0.1, 0.5),
            t0: u(-0.5, 0.5),
            stochastic,
        }
    }

    pub(super) fn k(&self) -> usize {
        self.c.len()
    }

    pub(super) fn n(&self) -> usize {
        self.k() + usize::from(self.stochastic)
    }

    /// The same values as the code's parameter struct.
    pub(super) fn params(&self) -> EbmParams<f64> {
        EbmParams {
            c: self.c.clone(),
            kappa: self.kappa.clone(),
            epsilon: self.eps,
            sigma_xi: self.sigma_xi,
            gamma: if self.stochastic { self.gamma } else { 0.0 },
            sigma_eta: if self.stochastic { self.sigma_eta } else { 0.0 },
            forcing_scale: self.s,
            sigma_t: self.sigma_t,
            sigma_n: self.sigma_n,
            offset: self.t0,
        }
    }

    /// (F, T₁ … T_k) from a state [F?, T₁, …, T_k] and the input u.
    pub(super) fn split<'a>(&self, x: &'a [f64], u: f64) -> (f64, &'a [f64]) {
        if self.stochastic {
            (x[0], &x[1..])
        } else {
            (self.s * u, x)
        }
    }

    /// The drift of the paper's equations, written out for k = 2 and k = 3.
    pub(super) fn drift(&self, x: &[f64], u: f64) -> Vec<f64> {
        let (f, t) = self.split(x, u);
        let (c, kp, e) = (&self.c, &self.kappa, self.eps);
        let mut d = match self.k() {
            // C₁ dT₁ = F − κ₁T₁ (one box: no exchange, no efficacy).
            1 => vec![(f - kp[0] * t[0]) / c[0]],
            // C₁ dT₁ = F − κ₁T₁ − εκ₂(T₁ − T₂);  C₂ dT₂ = κ₂(T₁ − T₂).
            2 => vec![
                (f - kp[0] * t[0] - e * kp[1] * (t[0] - t[1])) / c[0],
                kp[1] * (t[0] - t[1]) / c[1],
            ],
            // C₁ dT₁ = F − κ₁T₁ − κ₂(T₁ − T₂);  C₂ dT₂ = κ₂(T₁ − T₂) − εκ₃(T₂ − T₃);
            // C₃ dT₃ = κ₃(T₂ − T₃).
            _ => vec![
                (f - kp[0] * t[0] - kp[1] * (t[0] - t[1])) / c[0],
                (kp[1] * (t[0] - t[1]) - e * kp[2] * (t[1] - t[2])) / c[1],
                kp[2] * (t[1] - t[2]) / c[2],
            ],
        };
        if self.stochastic {
            // dF = −γ (F − s·u) dt.
            d.insert(0, -self.gamma * (f - self.s * u));
        }
        d
    }

    /// Standard deviations of the white noise on each state equation (per √yr).
    pub(super) fn noise_sd(&self) -> Vec<f64> {
        let mut v = vec![0.0; self.k()];
        v[0] = self.sigma_xi / self.c[0];
        if self.stochastic {
            v.insert(0, self.sigma_eta);
        }
        v
    }

    /// N = F − κ₁T₁ + (1 − ε) κ_k (T_{k−1} − T_k) (N = F − κ₁T₁ for one box).
    pub(super) fn flux(&self, x: &[f64], u: f64) -> f64 {
        let (f, t) = self.split(x, u);
        let k = self.k();
        if k == 1 {
            return f - self.kappa[0] * t[0];
        }
        f - self.kappa[0] * t[0] + (1.0 - self.eps) * self.kappa[k - 1] * (t[k - 2] - t[k - 1])
    }

    /// The drift matrix A, column j = drift(e_j, 0) (column-major).
    pub(super) fn a(&self) -> Vec<f64> {
        let n = self.n();
        let mut a = vec![0.0; n * n];
        for j in 0..n {
            let mut e = vec![0.0; n];
            e[j] = 1.0;
            let col = self.drift(&e, 0.0);
            a[j * n..(j + 1) * n].copy_from_slice(&col);
        }
        a
    }
}

pub(super) fn matvec(a: &[f64], x: &[f64]) -> Vec<f64> {
    let n = x.len();
    (0..n)
        .map(|i| (0..n).map(|j| a[i + j * n] * x[j]).sum())
        .collect()
}

/// One RK4 step of y' = f(y).
pub(super) fn rk4(f: &dyn Fn(&[f64]) -> Vec<f64>, y: &[f64], h: f64) -> Vec<f64> {
    let add = |a: &[f64], b: &[f64], s: f64| -> Vec<f64> {
        a.iter().zip(b).map(|(x, y)| x + s * y).collect()
    };
    let k1 = f(y);
    let k2 = f(&add(y, &k1, 0.5 * h));
    let k3 = f(&add(y, &k2, 0.5 * h));
    let k4 = f(&add(y, &k3, h));
    (0..y.len())
        .map(|i| y[i] + h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]))
        .collect()
}

/// Mean and covariance after `dt` from (m, P) with u held: m' = drift(m, u),
/// P' = A P + P Aᵀ + diag(σ²) with A P built column by column from the drift.
pub(super) fn propagate(
    p: &Paper,
    m: &[f64],
    cov: &[f64],
    u: f64,
    dt: f64,
    steps: usize,
) -> (Vec<f64>, Vec<f64>) {
    let n = p.n();
    let sd = p.noise_sd();
    let lyap = |v: &[f64]| -> Vec<f64> {
        // A V (columns through the linear drift), then A V + (A V)ᵀ + W.
        let mut av = vec![0.0; n * n];
        for j in 0..n {
            let col = p.drift(&v[j * n..(j + 1) * n], 0.0);
            av[j * n..(j + 1) * n].copy_from_slice(&col);
        }
        let mut out = vec![0.0; n * n];
        for j in 0..n {
            for i in 0..n {
                out[i + j * n] = av[i + j * n] + av[j + i * n];
            }
            out[j + j * n] += sd[j] * sd[j];
        }
        out
    };
    let mean = |x: &[f64]| p.drift(x, u);
    let h = dt / steps as f64;
    let (mut m, mut c) = (m.to_vec(), cov.to_vec());
    for _ in 0..steps {
        m = rk4(&mean, &m, h);
        c = rk4(&lyap, &c, h);
    }
    (m, c)
}

/// Solves A P + P Aᵀ + W = 0 through the Kronecker sum (I ⊗ A + A ⊗ I) vec P = −vec W.
pub(super) fn continuous_lyapunov(p: &Paper) -> Vec<f64> {
    let n = p.n();
    let a = p.a();
    let sd = p.noise_sd();
    let nn = n * n;
    let sys = Mat::<f64>::from_fn(nn, nn, |r, c| {
        let (i, j) = (r % n, r / n);
        let (k, l) = (c % n, c / n);
        let mut v = 0.0;
        if j == l {
            v += a[i + k * n];
        }
        if i == k {
            v += a[j + l * n];
        }
        v
    });
    let rhs = Mat::<f64>::from_fn(nn, 1, |r, _| {
        let (i, j) = (r % n, r / n);
        if i == j { -sd[i] * sd[i] } else { 0.0 }
    });
    let sol = sys.full_piv_lu().solve(&rhs);
    (0..nn).map(|r| sol[(r, 0)]).collect()
}

pub(super) fn cases() -> Vec<(Paper, KBoxEbm)> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(2020);
    let mut out = Vec::new();
    // The one-box model last, so that the draws of the others do not depend on it.
    for k in [2, 3, 1] {
        for sf in [false, true] {
            for flux in [false, true] {
                for _ in 0..2 {
                    out.push((
                        Paper::random(k, sf, &mut rng),
                        KBoxEbm::new(k, sf, flux).unwrap(),
                    ));
                }
            }
        }
    }
    out
}

pub(super) fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * a.abs().max(b.abs()).max(1e-300) || (a - b).abs() <= 1e-300
}

/// log N(y | μ, Σ) over the observed entries, with μ and Σ propagated from the paper's
/// equations: x₁ ~ N(0, P₀), state moments over each year by fine-step integration with
/// the year's forcing held, Cov(x_t, x_s) = Φ^{t−s} P_s with Φ integrated too.
pub(super) fn independent_loglik(
    paper: &Paper,
    m: usize,
    y: &[f64],
    u: &[f64],
    kv: &[f64],
    p0: &[f64],
) -> f64 {
    let n = paper.n();
    let t_len = u.len();
    let steps = 200;
    // Φ over one year, column by column.
    let mut phi = vec![0.0; n * n];
    for j in 0..n {
        let mut e = vec![0.0; n];
        e[j] = 1.0;
        let (col, _) = propagate(paper, &e, &vec![0.0; n * n], 0.0, 1.0, steps);
        phi[j * n..(j + 1) * n].copy_from_slice(&col);
    }
    let mut means = vec![vec![0.0; n]];
    let mut covs = vec![p0.to_vec()];
    for t in 0..t_len - 1 {
        let (mm, cc) = propagate(paper, &means[t], &covs[t], u[t], 1.0, steps);
        means.push(mm);
        covs.push(cc);
    }
    // cross[t][s] = Cov(x_t, x_s) for s ≤ t.
    let cross = |t: usize, s: usize| -> Vec<f64> {
        let mut c = covs[s].clone();
        for _ in s..t {
            let mut next = vec![0.0; n * n];
            for j in 0..n {
                let col = matvec(&phi, &c[j * n..(j + 1) * n]);
                next[j * n..(j + 1) * n].copy_from_slice(&col);
            }
            c = next;
        }
        c
    };
    // The observation functionals as row vectors: T₁ + T₀ and N (linear in x plus the
    // forcing term), from the paper's formulas evaluated on unit vectors.
    let row = |i: usize, t: usize| -> (Vec<f64>, f64) {
        let zero = vec![0.0; n];
        let f0 = |x: &[f64]| {
            if i == 0 {
                x[usize::from(paper.stochastic)]
            } else {
                paper.flux(x, 0.0)
            }
        };
        let r: Vec<f64> = (0..n)
            .map(|j| {
                let mut e = zero.clone();
                e[j] = 1.0;
                f0(&e)
            })
            .collect();
        let c = if i == 0 {
            paper.t0
        } else {
            paper.flux(&zero, u[t])
        };
        (r, c)
    };
    let mut idx = Vec::new();
    for t in 0..t_len {
        for i in 0..m {
            if !y[t * m + i].is_nan() {
                idx.push((t, i));
            }
        }
    }
    let k = idx.len();
    let mut mu = vec![0.0; k];
    let mut sig = Mat::<f64>::zeros(k, k);
    for (a, &(t, i)) in idx.iter().enumerate() {
        let (r, c) = row(i, t);
        mu[a] = c + (0..n).map(|j| r[j] * means[t][j]).sum::<f64>();
        for (b, &(s, l)) in idx.iter().enumerate() {
            let (r2, _) = row(l, s);
            let (hi, lo, rh, rl) = if t >= s {
                (t, s, &r, &r2)
            } else {
                (s, t, &r2, &r)
            };
            let c = cross(hi, lo);
            let mut v = 0.0;
            for jj in 0..n {
                for ii in 0..n {
                    v += rh[ii] * c[ii + jj * n] * rl[jj];
                }
            }
            if t == s && i == l {
                v += if i == 0 {
                    paper.sigma_t.powi(2) + kv[t]
                } else {
                    paper.sigma_n.powi(2)
                };
            }
            sig[(a, b)] = v;
        }
    }
    let llt = sig.llt(Side::Lower).unwrap();
    let l = llt.L();
    let mut z: Vec<f64> = idx
        .iter()
        .enumerate()
        .map(|(a, &(t, i))| y[t * m + i] - mu[a])
        .collect();
    for i in 0..k {
        let mut s = z[i];
        for j in 0..i {
            s -= l[(i, j)] * z[j];
        }
        z[i] = s / l[(i, i)];
    }
    let quad: f64 = z.iter().map(|v| v * v).sum();
    let logdet: f64 = (0..k).map(|i| l[(i, i)].ln()).sum::<f64>() * 2.0;
    -0.5 * (quad + logdet + k as f64 * (2.0 * std::f64::consts::PI).ln())
}
