//! The local ensemble transform Kalman filter (Hunt, Kostelich & Szunyogh 2007, Physica D
//! 230, Alg. §2.3), one local analysis per state variable.
//!
//! For state variable `i` with local observations `L` and tapers `ρ_j`
//! ([`Localization`]), let `Ỹ_L = Y_L R_L^{-1/2} diag(√ρ)` (`N × p_i`) and
//! `d̃_L = diag(√ρ) R_L^{-1/2}(y_L − ȳ_L)`. The local ETKF gives, with `N₁ = N − 1`,
//!
//! $$ x̄^a_i = x̄_i + d̃_Lᵀ(Ỹ_LᵀỸ_L + N₁ I)^{-1} Ỹ_Lᵀ a_i,\qquad
//!    a^a_i = √N₁ (Ỹ_LỸ_Lᵀ + N₁ I)^{-1/2} a_i, $$
//!
//! where `a_i` is column `i` of the anomalies. When `p_i < N` both are computed in
//! observation space from the eigendecomposition `Ỹ_LᵀỸ_L = U diag(λ) Uᵀ`:
//! `a^a_i = a_i + Ỹ_L U diag(h(λ)) Uᵀ Ỹ_Lᵀ a_i` with
//! `h(λ) = (√(N₁/(N₁+λ)) − 1)/λ = −1/(√(N₁+λ)(√N₁ + √(N₁+λ)))`; otherwise in ensemble space.
//! The two are the same matrix function (push-through identity), so only the cost differs:
//! O(p_i²N + p_i³) or O(N²p_i + N³) per variable. Since a local analysis applies these
//! matrix functions to two vectors only (`Ỹ_Lᵀa_i` and `d̃_L`, or `a_i` and `Ỹ_L d̃_L`),
//! the eigenvectors are never formed: the eigenvalues come with the Householder vectors
//! and Givens rotations of the tridiagonal QR algorithm, which map a vector to the
//! eigenbasis and back in O(p²) (`SymSpectral`; about 2p³ flops in all instead of the
//! ≈ 9p³ of a full eigendecomposition).
//!
//! Each local analysis reads the forecast ensemble and writes only its own variable, so
//! they run in parallel (rayon, on the caller's pool when `par` is `Par::Rayon`) and the
//! result is bitwise the same at any thread count.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par};
use mechml_engine::{Error, Result};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::localization::{LocalSets, Localization};
use super::transform::{AnalysisInput, Scaled};
use crate::da::Ensemble;
use crate::da::linalg::{SymSpectral, axpy, dot};

/// Options of the LETKF.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LetkfOptions {
    /// The localisation.
    pub localization: Localization,
}

/// The LETKF: options plus the local observation sets, cached between analyses while the
/// observation locations stay the same.
#[derive(Clone, Debug)]
pub struct Letkf {
    /// Options.
    pub options: LetkfOptions,
    cache: Option<(usize, Vec<usize>, LocalSets)>,
}

/// What a LETKF analysis did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LetkfInfo {
    /// Mean number of observations per local analysis.
    pub mean_local_obs: f64,
}

impl Letkf {
    /// A LETKF with these options (checked).
    pub fn new(options: LetkfOptions) -> Result<Self> {
        options.localization.validate()?;
        Ok(Self {
            options,
            cache: None,
        })
    }

    fn sets(&mut self, n: usize, locations: &[usize]) -> Result<&LocalSets> {
        let stale = match &self.cache {
            Some((cn, cl, _)) => *cn != n || cl.as_slice() != locations,
            None => true,
        };
        if stale {
            let sets = self.options.localization.local_sets(n, locations)?;
            self.cache = Some((n, locations.to_vec(), sets));
        }
        Ok(&self.cache.as_ref().expect("set just above").2)
    }

    /// Updates `e` in place: `input.observed` must be `h(e)` and `locations` the grid
    /// point of each observation (a ring of `e.n_state()` points).
    pub fn analyse(
        &mut self,
        e: &mut Ensemble,
        input: &AnalysisInput<'_>,
        locations: &[usize],
        par: Par,
    ) -> Result<LetkfInfo> {
        let s = input.scaled("letkf")?;
        if s.n != e.n_members() {
            return Err(Error::ShapeMismatch {
                op: "letkf",
                arg: "observed",
                expected: format!("{} members", e.n_members()),
                found: format!("{} members", s.n),
            });
        }
        super::super::ensemble::check_len("letkf", "locations", locations.len(), s.p)?;
        let (nm, n) = (e.n_members(), e.n_state());
        let sets = self.sets(n, locations)?;
        let mean = e.mean();
        let mut out = vec![0.0; nm * n];
        let ens: &Ensemble = e;
        let run = |ws: &mut LocalWork, (i, col): (usize, &mut [f64])| -> Result<()> {
            let (obs, rho) = sets.of(i);
            let loc = Local {
                x: ens.var(i),
                xbar: mean[i],
                obs,
                rho,
            };
            local_update(None, &loc, &s, ws, col)
        };
        match par {
            Par::Seq => {
                let mut ws = LocalWork::new(nm);
                out.chunks_mut(nm)
                    .enumerate()
                    .try_for_each(|item| run(&mut ws, item))?;
            }
            _ => {
                out.par_chunks_mut(nm)
                    .enumerate()
                    .try_for_each_init(|| LocalWork::new(nm), |ws, item| run(ws, item))?;
            }
        }
        e.data_mut().copy_from_slice(&out);
        Ok(LetkfInfo {
            mean_local_obs: sets.mean_count(),
        })
    }
}

/// Scratch memory of one local analysis, reused across grid points.
struct LocalWork {
    yl: Vec<f64>,
    dl: Vec<f64>,
    a: Vec<f64>,
    b: Vec<f64>,
    c: Vec<f64>,
    sp: SymSpectral,
    gram: Mat<f64>,
}

impl LocalWork {
    fn new(n_members: usize) -> Self {
        Self {
            yl: Vec::new(),
            dl: Vec::new(),
            a: vec![0.0; n_members],
            b: Vec::new(),
            c: Vec::new(),
            sp: SymSpectral::new(),
            gram: Mat::zeros(0, 0),
        }
    }
}

/// How a local analysis computes its matrix functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route {
    /// The `p_i × p_i` eigenproblem of `Ỹ_LᵀỸ_L` (cheaper when `p_i < N`).
    Obs,
    /// The `N × N` eigenproblem of `Ỹ_LỸ_Lᵀ + N₁I`.
    Ensemble,
}

impl Route {
    /// The cheaper route for `p_l` local observations and `n` members.
    fn for_sizes(p_l: usize, n: usize) -> Self {
        if p_l < n { Self::Obs } else { Self::Ensemble }
    }
}

/// The data of one local analysis: the N forecast values `x` of the state variable, their
/// mean, and its local observations with their tapers.
struct Local<'a> {
    x: &'a [f64],
    xbar: f64,
    obs: &'a [u32],
    rho: &'a [f64],
}

/// The local analysis of one state variable by `route` (`None`: the cheaper one); writes
/// the N analysis values into `out`.
fn local_update(
    route: Option<Route>,
    loc: &Local<'_>,
    s: &Scaled,
    ws: &mut LocalWork,
    out: &mut [f64],
) -> Result<()> {
    let Local { x, xbar, obs, rho } = *loc;
    let route = route.unwrap_or_else(|| Route::for_sizes(obs.len(), s.n));
    let nm = s.n;
    let pl = obs.len();
    if pl == 0 {
        out.copy_from_slice(x);
        return Ok(());
    }
    let LocalWork {
        yl,
        dl,
        a,
        b,
        c,
        sp,
        gram,
    } = ws;
    let n1 = (nm - 1) as f64;
    yl.resize(nm * pl, 0.0);
    dl.resize(pl, 0.0);
    for (k, (&j, &r)) in obs.iter().zip(rho).enumerate() {
        let j = j as usize;
        let sr = r.sqrt();
        for (o, &v) in yl[k * nm..(k + 1) * nm]
            .iter_mut()
            .zip(&s.ytil[j * nm..(j + 1) * nm])
        {
            *o = v * sr;
        }
        dl[k] = s.dtil[j] * sr;
    }
    for (ai, &v) in a.iter_mut().zip(x) {
        *ai = v - xbar;
    }
    let mean_incr = if route == Route::Obs {
        // Observation space: Ỹ_LᵀỸ_L = U diag(λ) Uᵀ.
        if gram.nrows() != pl {
            *gram = Mat::zeros(pl, pl);
        }
        for k in 0..pl {
            let yk = &yl[k * nm..(k + 1) * nm];
            for l in k..pl {
                gram[(l, k)] = dot(yk, &yl[l * nm..(l + 1) * nm]);
            }
        }
        sp.compute(gram.as_ref(), "letkf")?;
        // c = Uᵀ Ỹ_L a, e = Uᵀ d̃_L.
        c.clear();
        c.extend((0..pl).map(|k| dot(&yl[k * nm..(k + 1) * nm], a)));
        b.clear();
        b.extend_from_slice(dl);
        sp.apply_vt(c);
        sp.apply_vt(b);
        let sn1 = n1.sqrt();
        let mut incr = 0.0;
        for ((cq, &eq), &lam) in c.iter_mut().zip(b.iter()).zip(sp.vals()) {
            let sl = (n1 + lam.max(0.0)).sqrt();
            incr += eq * *cq / (sl * sl);
            *cq *= -1.0 / (sl * (sn1 + sl));
        }
        // a^a = a + Ỹ_L U (h ∘ c).
        sp.apply_v(c);
        out.copy_from_slice(a);
        for (k, &ck) in c.iter().enumerate() {
            axpy(ck, &yl[k * nm..(k + 1) * nm], out);
        }
        incr
    } else {
        // Ensemble space: Ỹ_LỸ_Lᵀ + N₁I = V diag(μ) Vᵀ.
        let ylm = MatRef::from_column_major_slice(yl, nm, pl);
        if gram.nrows() != nm {
            *gram = Mat::zeros(nm, nm);
        }
        matmul(
            gram.as_mut(),
            Accum::Replace,
            ylm,
            ylm.transpose(),
            1.0,
            Par::Seq,
        );
        for k in 0..nm {
            gram[(k, k)] += n1;
        }
        sp.compute(gram.as_ref(), "letkf")?;
        // b = Vᵀ Ỹ_L d̃_L, c = Vᵀ a.
        b.clear();
        b.resize(nm, 0.0);
        for k in 0..pl {
            axpy(dl[k], &yl[k * nm..(k + 1) * nm], b);
        }
        c.clear();
        c.extend_from_slice(a);
        sp.apply_vt(b);
        sp.apply_vt(c);
        let mut incr = 0.0;
        for ((cq, &bq), &mu) in c.iter_mut().zip(b.iter()).zip(sp.vals()) {
            incr += bq * *cq / mu;
            *cq *= (n1 / mu).sqrt();
        }
        sp.apply_v(c);
        out.copy_from_slice(c);
        incr
    };
    let shift = xbar + mean_incr;
    for o in out.iter_mut() {
        *o += shift;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use rand_distr::{Distribution, StandardNormal};
    use rand_xoshiro::Xoshiro256PlusPlus;

    /// A random local problem: N members, p scaled observations (with a spread of sizes),
    /// of which `pl` are local with tapers in (0, 1].
    fn case(
        g: &mut Xoshiro256PlusPlus,
        n: usize,
        p: usize,
        pl: usize,
    ) -> (Scaled, Vec<f64>, Vec<u32>, Vec<f64>) {
        let scale: f64 = 10f64.powf(g.random_range(-1.0..1.5));
        let mut ytil: Vec<f64> = (0..n * p)
            .map(|_| scale * <StandardNormal as Distribution<f64>>::sample(&StandardNormal, g))
            .collect();
        for col in ytil.chunks_mut(n) {
            let m = col.iter().sum::<f64>() / n as f64;
            col.iter_mut().for_each(|v| *v -= m);
        }
        let dtil = (0..p).map(|_| StandardNormal.sample(g)).collect();
        let x = (0..n).map(|_| StandardNormal.sample(g)).collect();
        let obs: Vec<u32> = (0..pl).map(|k| ((k * p) / pl) as u32).collect();
        let rho = (0..pl).map(|_| g.random_range(0.01..=1.0)).collect();
        (Scaled { n, p, ytil, dtil }, x, obs, rho)
    }

    #[test]
    fn observation_and_ensemble_space_routes_agree_to_rounding() {
        let mut g = Xoshiro256PlusPlus::seed_from_u64(15);
        for (n, p, pl) in [
            (40, 60, 27),
            (40, 60, 39),
            (40, 60, 40),
            (40, 60, 55),
            (7, 20, 3),
            (7, 20, 12),
            (2, 5, 1),
            (24, 24, 24),
        ] {
            for _ in 0..5 {
                let (s, x, obs, rho) = case(&mut g, n, p, pl);
                let xbar = x.iter().sum::<f64>() / n as f64;
                let loc = Local {
                    x: &x,
                    xbar,
                    obs: &obs,
                    rho: &rho,
                };
                let mut ws = LocalWork::new(n);
                let (mut a, mut b) = (vec![0.0; n], vec![0.0; n]);
                local_update(Some(Route::Obs), &loc, &s, &mut ws, &mut a).unwrap();
                local_update(Some(Route::Ensemble), &loc, &s, &mut ws, &mut b).unwrap();
                let size = x.iter().fold(1.0_f64, |m, v| m.max(v.abs()));
                let tol = 64.0 * f64::EPSILON * (n as f64) * size;
                for (k, (u, v)) in a.iter().zip(&b).enumerate() {
                    assert!((u - v).abs() <= tol, "N={n} p={pl} member {k}: {u} vs {v}");
                }
            }
        }
    }
}
