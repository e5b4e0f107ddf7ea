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
//! O(p_i²N + p_i³) or O(N²p_i + N³) per variable.
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
use crate::da::linalg::{SymEig, dot};

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
        let sets = self.sets(n, locations)?.clone();
        let mean = e.mean();
        let mut out = vec![0.0; nm * n];
        let ens: &Ensemble = e;
        let run = |ws: &mut LocalWork, (i, col): (usize, &mut [f64])| -> Result<()> {
            let (obs, rho) = sets.of(i);
            local_update(ens.var(i), mean[i], &s, obs, rho, ws, col)
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
    u: Vec<f64>,
    yd: Vec<f64>,
    eigs: Vec<Option<SymEig>>,
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
            u: Vec::new(),
            yd: Vec::new(),
            eigs: Vec::new(),
            gram: Mat::zeros(0, 0),
        }
    }
}

fn eig_of_size(eigs: &mut Vec<Option<SymEig>>, k: usize) -> &mut SymEig {
    if eigs.len() <= k {
        eigs.resize_with(k + 1, || None);
    }
    eigs[k].get_or_insert_with(|| SymEig::new(k))
}

/// The local analysis of one state variable: `x` its N forecast values, `xbar` their
/// mean; writes the N analysis values into `out`.
fn local_update(
    x: &[f64],
    xbar: f64,
    s: &Scaled,
    obs: &[u32],
    rho: &[f64],
    ws: &mut LocalWork,
    out: &mut [f64],
) -> Result<()> {
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
        u,
        yd,
        eigs,
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
    let mean_incr = if pl < nm {
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
        let eig = eig_of_size(eigs, pl);
        eig.compute(gram.as_ref(), "letkf")?;
        b.resize(pl, 0.0);
        c.resize(pl, 0.0);
        u.resize(pl, 0.0);
        for k in 0..pl {
            b[k] = dot(&yl[k * nm..(k + 1) * nm], a);
        }
        let mut incr = 0.0;
        let sn1 = n1.sqrt();
        for q in 0..pl {
            let uq = eig
                .vecs
                .col(q)
                .try_as_col_major()
                .expect("faer Mat columns are contiguous");
            let uq = uq.as_slice();
            let cq = dot(uq, b);
            let eq = dot(uq, dl);
            let sl = (n1 + eig.vals[q].max(0.0)).sqrt();
            incr += eq * cq / (sl * sl);
            c[q] = -cq / (sl * (sn1 + sl));
        }
        // a^a = a + Ỹ_L U (h ∘ c).
        u.iter_mut().for_each(|v| *v = 0.0);
        for q in 0..pl {
            let uq = eig
                .vecs
                .col(q)
                .try_as_col_major()
                .expect("faer Mat columns are contiguous");
            crate::da::linalg::axpy(c[q], uq.as_slice(), u);
        }
        out.copy_from_slice(a);
        for k in 0..pl {
            crate::da::linalg::axpy(u[k], &yl[k * nm..(k + 1) * nm], out);
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
        yd.clear();
        yd.resize(nm, 0.0);
        for k in 0..pl {
            crate::da::linalg::axpy(dl[k], &yl[k * nm..(k + 1) * nm], yd);
        }
        let eig = eig_of_size(eigs, nm);
        eig.compute(gram.as_ref(), "letkf")?;
        let mut incr = 0.0;
        out.iter_mut().for_each(|o| *o = 0.0);
        for q in 0..nm {
            let v = eig
                .vecs
                .col(q)
                .try_as_col_major()
                .expect("faer Mat columns are contiguous");
            let v = v.as_slice();
            let (vy, va) = (dot(v, yd), dot(v, a));
            let mu = eig.vals[q];
            incr += vy * va / mu;
            crate::da::linalg::axpy((n1 / mu).sqrt() * va, v, out);
        }
        incr
    };
    let shift = xbar + mean_incr;
    for o in out.iter_mut() {
        *o += shift;
    }
    Ok(())
}
