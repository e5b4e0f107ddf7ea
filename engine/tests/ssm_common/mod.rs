//! Shared helpers for the state-space integration tests: small random models and the dense
//! joint-Gaussian reference that the Kalman filter and smoother are checked against.
#![allow(clippy::needless_range_loop, clippy::type_complexity)]
#![allow(dead_code)]

use faer::prelude::*;
use faer::{Mat, Side};
use mechml_engine::ssm::{LinearGaussianSsm, Observations, Seq};
use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// A random time-varying model: n states, m observations, k inputs, T steps, with every
/// matrix varying in time and positive-definite noise covariances.
pub fn random_model(
    n: usize,
    m: usize,
    k: usize,
    t_len: usize,
    seed: u64,
) -> LinearGaussianSsm<f64> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut u = |lo: f64, hi: f64| lo + (hi - lo) * rng.random::<f64>();
    let spd = |d: usize, scale: f64, u: &mut dyn FnMut(f64, f64) -> f64| -> Vec<f64> {
        let g: Vec<f64> = (0..d * d).map(|_| u(-1.0, 1.0)).collect();
        let mut a = vec![0.0; d * d];
        for i in 0..d {
            for j in 0..d {
                a[i + j * d] = scale * (0..d).map(|l| g[i + l * d] * g[j + l * d]).sum::<f64>()
                    + if i == j { 0.2 * scale } else { 0.0 };
            }
        }
        a
    };
    let mut f = Vec::new();
    let mut q = Vec::new();
    let mut h = Vec::new();
    let mut r = Vec::new();
    let mut b = Vec::new();
    let mut c = Vec::new();
    let mut d = Vec::new();
    for _ in 0..t_len {
        for _ in 0..n * n {
            f.push(u(-0.5, 0.5));
        }
        q.extend(spd(n, 0.3, &mut u));
        for _ in 0..m * n {
            h.push(u(-1.0, 1.0));
        }
        r.extend(spd(m, 0.2, &mut u));
        for _ in 0..n * k {
            b.push(u(-1.0, 1.0));
        }
        for _ in 0..n {
            c.push(u(-0.3, 0.3));
        }
        for _ in 0..m {
            d.push(u(-0.3, 0.3));
        }
    }
    let m1: Vec<f64> = (0..n).map(|_| u(-1.0, 1.0)).collect();
    let p1 = spd(n, 0.5, &mut u);
    LinearGaussianSsm {
        f: Seq::varying(n, n, t_len, f).unwrap(),
        b: Seq::varying(n, k, t_len, b).unwrap(),
        c: Seq::varying(n, 1, t_len, c).unwrap(),
        q: Seq::varying(n, n, t_len, q).unwrap(),
        h: Seq::varying(m, n, t_len, h).unwrap(),
        d: Seq::varying(m, 1, t_len, d).unwrap(),
        r: Seq::varying(m, m, t_len, r).unwrap(),
        m1,
        p1,
    }
}

/// Random observations with some missing components (and one fully missing step) and
/// random inputs.
pub fn random_data(m: usize, k: usize, t_len: usize, seed: u64) -> Observations {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed ^ 0x9e37_79b9);
    let mut y = Vec::new();
    for t in 0..t_len {
        for i in 0..m {
            let missing = (t == 2) || (t % 3 == 1 && i == 0);
            y.push(if missing {
                f64::NAN
            } else {
                rng.random::<f64>() * 2.0 - 1.0
            });
        }
    }
    let uu: Vec<f64> = (0..t_len * k).map(|_| rng.random::<f64>() - 0.5).collect();
    Observations::new(t_len, m, y, k, uu).unwrap()
}

/// The joint mean and covariance of the stacked states (x_1, …, x_T) by direct
/// propagation of all cross-covariances (no filtering).
pub fn dense_state_moments(
    model: &LinearGaussianSsm<f64>,
    data: &Observations,
) -> (Vec<f64>, Mat<f64>) {
    let n = model.n_state();
    let t_len = data.n_steps;
    let dim = n * t_len;
    let mut mean = vec![0.0; dim];
    let mut cov = Mat::<f64>::zeros(dim, dim);
    mean[..n].copy_from_slice(&model.m1);
    for i in 0..n {
        for j in 0..n {
            cov[(i, j)] = model.p1[i + j * n];
        }
    }
    for t in 0..t_len.saturating_sub(1) {
        let f = model.f.at(t);
        let (c, b, u) = (model.c.at(t), model.b.at(t), data.u_at(t));
        let k = data.n_inputs;
        for i in 0..n {
            let mut v = c[i];
            for j in 0..n {
                v += f[i + j * n] * mean[t * n + j];
            }
            for l in 0..k {
                v += b[i + l * n] * u[l];
            }
            mean[(t + 1) * n + i] = v;
        }
        // Cov(x_{t+1}, x_s) = F Cov(x_t, x_s) for s ≤ t.
        for s in 0..=t {
            for i in 0..n {
                for j in 0..n {
                    let v: f64 = (0..n)
                        .map(|l| f[i + l * n] * cov[(t * n + l, s * n + j)])
                        .sum();
                    cov[((t + 1) * n + i, s * n + j)] = v;
                    cov[(s * n + j, (t + 1) * n + i)] = v;
                }
            }
        }
        let q = model.q.at(t);
        for i in 0..n {
            for j in 0..n {
                let mut v = q[i + j * n];
                for a in 0..n {
                    for bb in 0..n {
                        v += f[i + a * n] * cov[(t * n + a, t * n + bb)] * f[j + bb * n];
                    }
                }
                cov[((t + 1) * n + i, (t + 1) * n + j)] = v;
            }
        }
    }
    (mean, cov)
}

/// The observed components' joint moments: (indices (t, i), mean, covariance), and the
/// cross-covariance Cov(X, Y_obs).
pub fn dense_obs_moments(
    model: &LinearGaussianSsm<f64>,
    data: &Observations,
) -> (Vec<(usize, usize)>, Vec<f64>, Mat<f64>, Mat<f64>) {
    let n = model.n_state();
    let m = data.n_obs;
    let (mx, px) = dense_state_moments(model, data);
    let mut idx = Vec::new();
    for t in 0..data.n_steps {
        for i in 0..m {
            if !data.y_at(t)[i].is_nan() {
                idx.push((t, i));
            }
        }
    }
    let no = idx.len();
    let dim = n * data.n_steps;
    // Row map: y_(t,i) = H_t[i, :] x_t + d_t[i] + v.
    let mut mean = vec![0.0; no];
    let mut cross = Mat::<f64>::zeros(dim, no); // Cov(X, Y)
    for (a, &(t, i)) in idx.iter().enumerate() {
        let h = model.h.at(t);
        mean[a] = model.d.at(t)[i] + (0..n).map(|j| h[i + j * m] * mx[t * n + j]).sum::<f64>();
        for r in 0..dim {
            cross[(r, a)] = (0..n).map(|j| px[(r, t * n + j)] * h[i + j * m]).sum();
        }
    }
    let mut cov = Mat::<f64>::zeros(no, no);
    for (a, &(t, i)) in idx.iter().enumerate() {
        let h = model.h.at(t);
        for (bidx, &(s, l)) in idx.iter().enumerate() {
            let mut v: f64 = (0..n)
                .map(|j| h[i + j * m] * cross[(t * n + j, bidx)])
                .sum();
            if s == t {
                v += model.r.at(t)[i + l * m];
            }
            cov[(a, bidx)] = v;
        }
    }
    let _ = mx;
    (idx, mean, cov, cross)
}

/// log N(y | mean, cov) by a dense Cholesky.
pub fn dense_mvn_logpdf(y: &[f64], mean: &[f64], cov: &Mat<f64>) -> f64 {
    let k = y.len();
    let llt = cov.llt(Side::Lower).expect("dense covariance is SPD");
    let l = llt.L();
    let mut z: Vec<f64> = y.iter().zip(mean).map(|(a, b)| a - b).collect();
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

/// The conditional mean and covariance of the stacked states given the observed y.
pub fn dense_posterior(
    model: &LinearGaussianSsm<f64>,
    data: &Observations,
) -> (Vec<f64>, Mat<f64>) {
    let (mx, px) = dense_state_moments(model, data);
    let (idx, my, py, cross) = dense_obs_moments(model, data);
    let yv: Vec<f64> = idx.iter().map(|&(t, i)| data.y_at(t)[i]).collect();
    let llt = py.llt(Side::Lower).expect("SPD");
    let resid = Mat::<f64>::from_fn(yv.len(), 1, |a, _| yv[a] - my[a]);
    let sol = llt.solve(&resid);
    let gain_t = llt.solve(cross.transpose()); // Py⁻¹ Cov(Y, X)
    let dim = mx.len();
    let mut mean = mx.clone();
    for r in 0..dim {
        mean[r] += (0..yv.len())
            .map(|a| cross[(r, a)] * sol[(a, 0)])
            .sum::<f64>();
    }
    let post = &px - &cross * &gain_t;
    (mean, post)
}

/// Every matrix of the model flattened (F, B, C, Q, H, D, R, m₁, P₁), for finite differences.
pub fn flatten(model: &LinearGaussianSsm<f64>) -> Vec<f64> {
    let mut v = Vec::new();
    for s in [
        &model.f, &model.b, &model.c, &model.q, &model.h, &model.d, &model.r,
    ] {
        v.extend_from_slice(s.data());
    }
    v.extend_from_slice(&model.m1);
    v.extend_from_slice(&model.p1);
    v
}

/// The inverse of [`flatten`]: a model like `template` with the values `v`.
pub fn unflatten(template: &LinearGaussianSsm<f64>, v: &[f64]) -> LinearGaussianSsm<f64> {
    let mut out = template.clone();
    let mut o = 0;
    for s in [
        &mut out.f, &mut out.b, &mut out.c, &mut out.q, &mut out.h, &mut out.d, &mut out.r,
    ] {
        let len = s.data().len();
        s.data_mut().copy_from_slice(&v[o..o + len]);
        o += len;
    }
    let n = out.m1.len();
    out.m1.copy_from_slice(&v[o..o + n]);
    o += n;
    out.p1.copy_from_slice(&v[o..o + n * n]);
    out
}
