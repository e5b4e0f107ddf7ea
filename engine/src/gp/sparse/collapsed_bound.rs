//! The collapsed sparse-GP objectives, value and adjoints, in `O(N M²)`.
//!
//! Both are Gaussian log-densities with a low-rank-plus-diagonal covariance
//! `C = Q + D`, `Q = K_fu K_uu⁻¹ K_uf`:
//!
//! * **VFE** (Titsias 2009, AISTATS, eq. 9): `D = σ² I` and
//!   `F = log N(y | 0, Q + σ² I) − tr(K_ff − Q) / (2σ²)`;
//! * **FITC** (Snelson & Ghahramani 2006, NeurIPS; Quiñonero-Candela & Rasmussen 2005,
//!   JMLR 6, eq. 21): `D = σ² I + diag(K_ff − Q)` and `F = log N(y | 0, Q + D)`.
//!
//! With `K_uu + εI = L_z L_zᵀ`, `U = L_z⁻¹ K_uf`, `A = U D^{−1/2}`, `B = I + A Aᵀ = L_B L_Bᵀ`
//! and `c = L_B⁻¹ A D^{−1/2} y`:
//!
//! ```text
//! log N(y | 0, C) = −N/2 log 2π − Σ log (L_B)ᵢᵢ − ½ Σ log Dᵢ − ½ Σ yᵢ²/Dᵢ + ½ cᵀc
//! ```
//!
//! **Adjoints** (derived here; checked against finite differences in the tests). With
//! `Σ = K_uu + K_uf D⁻¹ K_fu`, `α = C⁻¹ y = D⁻¹ (y − Uᵀ L_B⁻ᵀ c)`, `G = ½(ααᵀ − C⁻¹)`,
//! `V = L_B⁻¹ A` and the Woodbury identity `K_uf C⁻¹ = K_uu Σ⁻¹ K_uf D⁻¹`:
//!
//! ```text
//! ∂ℓ/∂K_uf = L_z⁻ᵀ [ (Uα) αᵀ − L_B⁻ᵀ V D^{−1/2} ]
//! ∂ℓ/∂K_uu = L_z⁻ᵀ [ ½ (I − B⁻¹) − ½ (Uα)(Uα)ᵀ ] L_z⁻¹
//! ∂ℓ/∂Dᵢ   = Gᵢᵢ = ½ (αᵢ² − 1/Dᵢ + ‖V_{:,i}‖² / Dᵢ)
//! ```
//!
//! plus, for VFE, the trace term's `∂/∂K_uf = L_z⁻ᵀ U/σ²`, `∂/∂K_uu = −L_z⁻ᵀ U Uᵀ L_z⁻¹ / (2σ²)`,
//! `∂/∂diag K_ff = −1/(2σ²)`, and for FITC the chain through `Dᵢ = σ² + K_ff,ii − ‖U_{:,i}‖²`:
//! `∂/∂K_uf −= 2 L_z⁻ᵀ U diag(G)`, `∂/∂K_uu += L_z⁻ᵀ U diag(G) Uᵀ L_z⁻¹`.
//! Everything costs a few `N M²` products; no `N × N` matrix is formed.

use faer::linalg::matmul::matmul;
use faer::linalg::matmul::triangular::BlockStructure;
use faer::{Accum, Mat, MatRef, Par};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::gp::workspace::{self, Linalg, MatPool};
use crate::linalg::Llt;

const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// Which collapsed objective.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SparseMethod {
    /// Titsias's variational free energy (a lower bound on the exact log marginal
    /// likelihood).
    Vfe,
    /// The fully independent training conditional approximation (its own marginal
    /// likelihood).
    Fitc,
}

/// The factorisations a collapsed objective keeps (for its adjoints and predictions).
#[derive(Clone, Debug)]
pub(crate) struct CollapsedFactor {
    /// Which objective.
    pub method: SparseMethod,
    /// `K_uu + εI = L_z L_zᵀ`.
    pub lz: Llt,
    /// `B = I + A Aᵀ = L_B L_Bᵀ`.
    pub lb: Llt,
    /// `B` (lower triangle).
    pub b: Mat<f64>,
    /// `U = L_z⁻¹ K_uf` (`M × N`).
    pub u: Mat<f64>,
    /// The diagonal `D`.
    pub d: Vec<f64>,
    /// Whether `K_ff,ii − Q_ii` was clamped at 0 (FITC only; round-off).
    pub clamped: Vec<bool>,
    /// `c = L_B⁻¹ A D^{−1/2} y`.
    pub c: Vec<f64>,
    /// The objective's value.
    pub value: f64,
}

/// Adjoints of a collapsed objective with respect to its matrix inputs.
#[derive(Clone, Debug)]
pub(crate) struct CollapsedAdjoints {
    /// `∂F/∂K_uu` (symmetric, `M × M`).
    pub kuu: Mat<f64>,
    /// `∂F/∂K_uf` (`M × N`).
    pub kuf: Mat<f64>,
    /// `∂F/∂K_ff,ii`.
    pub kdiag: Vec<f64>,
    /// `∂F/∂σ²`.
    pub noise: f64,
    /// `∂F/∂y`.
    pub y: Vec<f64>,
}

fn col_slice(m: &Mat<f64>, j: usize) -> &[f64] {
    m.col(j)
        .try_as_col_major()
        .expect("owned Mat columns are contiguous")
        .as_slice()
}

/// The matrices a collapsed objective is evaluated from.
pub(crate) struct CollapsedInputs<'a> {
    /// `K_uu` (without jitter).
    pub kuu: MatRef<'a, f64>,
    /// `K_uf` (consumed: it becomes `U`).
    pub kuf: Mat<f64>,
    /// `diag K_ff`.
    pub kdiag: &'a [f64],
    /// The observations.
    pub y: &'a [f64],
    /// `σ²`.
    pub noise: f64,
}

/// Evaluates the objective with jitter `jitter` on `K_uu`; the pool supplies scratch
/// buffers (FITC).
pub(crate) fn collapsed_forward(
    method: SparseMethod,
    inputs: CollapsedInputs<'_>,
    jitter: f64,
    la: Linalg<'_>,
) -> Result<CollapsedFactor> {
    let CollapsedInputs {
        kuu,
        kuf,
        kdiag,
        y,
        noise,
    } = inputs;
    let Linalg { par, pool } = la;
    let (m, n) = (kuf.nrows(), kuf.ncols());
    crate::error::check_shape("sparse_gp", "K_uu", (kuu.nrows(), kuu.ncols()), (m, m))?;
    crate::error::check_len("sparse_gp", "diag K_ff", kdiag.len(), n)?;
    crate::error::check_len("sparse_gp", "y", y.len(), n)?;
    let mut kj = kuu.to_owned();
    for i in 0..m {
        kj[(i, i)] += jitter;
    }
    let lz =
        Llt::factor_named("sparse_gp: K_uu + jitter", kj.as_ref(), par).map_err(|e| match e {
            Error::NotPositiveDefinite { pivot, value, .. } => Error::NotPositiveDefinite {
                op: "sparse_gp: K(Z, Z) + jitter is not positive definite (coinciding inducing \
                 inputs? raise the jitter or move them apart)",
                pivot,
                value,
            },
            e => e,
        })?;
    let mut u = kuf;
    lz.solve_l_in_place(u.as_mut(), par);
    let mut d = vec![noise; n];
    let mut clamped = vec![false; n];
    if method == SparseMethod::Fitc {
        for i in 0..n {
            let q: f64 = col_slice(&u, i).iter().map(|v| v * v).sum();
            let r = kdiag[i] - q;
            if r < 0.0 {
                clamped[i] = true;
            } else {
                d[i] += r;
            }
        }
    }
    // B = I + A Aᵀ (lower triangle; A = U D^{−1/2}).
    let mut b = Mat::<f64>::zeros(m, m);
    match method {
        SparseMethod::Vfe => lower_gram(&mut b, u.as_ref(), 1.0 / noise, par),
        SparseMethod::Fitc => {
            let mut a = workspace::take(pool, m, n);
            scale_columns_into(&mut a, &u, |i| 1.0 / d[i].sqrt());
            lower_gram(&mut b, a.as_ref(), 1.0, par);
            workspace::give(pool, a);
        }
    }
    for i in 0..m {
        b[(i, i)] += 1.0;
    }
    let lb = Llt::factor_named("sparse_gp: I + A Aᵀ", b.as_ref(), par)?;
    // c = L_B⁻¹ U D⁻¹ y.
    let ydd: Vec<f64> = y.iter().zip(&d).map(|(yi, di)| yi / di).collect();
    let mut cm = Mat::<f64>::zeros(m, 1);
    matmul(
        cm.as_mut(),
        Accum::Replace,
        u.as_ref(),
        MatRef::from_column_major_slice(&ydd, n, 1),
        1.0,
        par,
    );
    lb.solve_l_in_place(cm.as_mut(), par);
    let c: Vec<f64> = (0..m).map(|i| cm[(i, 0)]).collect();
    let mut value =
        -0.5 * n as f64 * LN_2PI - 0.5 * lb.logdet() + 0.5 * c.iter().map(|v| v * v).sum::<f64>();
    for i in 0..n {
        value -= 0.5 * d[i].ln() + 0.5 * y[i] * y[i] / d[i];
    }
    if method == SparseMethod::Vfe {
        // tr Q = ‖U‖²_F = σ² tr(B − I).
        let tr_q: f64 = noise * (0..m).map(|i| b[(i, i)] - 1.0).sum::<f64>();
        let tr_k: f64 = kdiag.iter().sum();
        value -= (tr_k - tr_q) / (2.0 * noise);
    }
    if !value.is_finite() {
        return Err(Error::NonFinite {
            op: "sparse_gp",
            index: 0,
            value,
            context: "objective value".into(),
        });
    }
    Ok(CollapsedFactor {
        method,
        lz,
        lb,
        b,
        u,
        d,
        clamped,
        c,
        value,
    })
}

/// The lower triangle of `alpha X Xᵀ` into `dst` (half the flops of a full product).
fn lower_gram(dst: &mut Mat<f64>, x: MatRef<'_, f64>, alpha: f64, par: Par) {
    faer::linalg::matmul::triangular::matmul(
        dst.as_mut(),
        BlockStructure::TriangularLower,
        Accum::Replace,
        x,
        BlockStructure::Rectangular,
        x.transpose(),
        BlockStructure::Rectangular,
        alpha,
        par,
    );
}

/// `dst[:, i] = s(i) src[:, i]`.
fn scale_columns_into(dst: &mut Mat<f64>, src: &Mat<f64>, s: impl Fn(usize) -> f64) {
    for i in 0..src.ncols() {
        let sc = s(i);
        let d = dst
            .col_mut(i)
            .try_as_col_major_mut()
            .expect("contiguous")
            .as_slice_mut();
        for (a, b) in d.iter_mut().zip(col_slice(src, i)) {
            *a = sc * b;
        }
    }
}

impl CollapsedFactor {
    /// `L_B⁻ᵀ c` (`M`), which gives `K_fu Σ⁻¹ K_uf D⁻¹ y = Uᵀ L_B⁻ᵀ c` and the predictive
    /// weights `β = L_z⁻ᵀ L_B⁻ᵀ c`.
    pub(crate) fn h(&self, par: Par) -> Vec<f64> {
        let m = self.c.len();
        let mut h = Mat::from_fn(m, 1, |i, _| self.c[i]);
        self.lb.solve_lt_in_place(h.as_mut(), par);
        (0..m).map(|i| h[(i, 0)]).collect()
    }

    /// Adjoints of the objective scaled by `gbar` (see the module docs). The `K_uf` adjoint
    /// comes in a buffer from `pool` (give it back when done).
    pub(crate) fn adjoints(
        &self,
        y: &[f64],
        noise: f64,
        kdiag: &[f64],
        gbar: f64,
        par: Par,
        pool: Option<&MatPool>,
    ) -> CollapsedAdjoints {
        let (m, n) = (self.u.nrows(), self.u.ncols());
        let u = &self.u;
        let d = &self.d;
        // α = D⁻¹ (y − Uᵀ h).
        let h = self.h(par);
        let mut uth = Mat::<f64>::zeros(n, 1);
        matmul(
            uth.as_mut(),
            Accum::Replace,
            u.transpose(),
            MatRef::from_column_major_slice(&h, m, 1),
            1.0,
            par,
        );
        let alpha: Vec<f64> = (0..n).map(|i| (y[i] - uth[(i, 0)]) / d[i]).collect();
        // V = L_B⁻¹ A, with A = U D^{−1/2}.
        let mut v = workspace::take(pool, m, n);
        scale_columns_into(&mut v, u, |i| 1.0 / d[i].sqrt());
        self.lb.solve_l_in_place(v.as_mut(), par);
        let g: Vec<f64> = (0..n)
            .map(|i| {
                let vi: f64 = col_slice(&v, i).iter().map(|x| x * x).sum();
                0.5 * (alpha[i] * alpha[i] - 1.0 / d[i] + vi / d[i])
            })
            .collect();
        // Uα.
        let mut ua = Mat::<f64>::zeros(m, 1);
        matmul(
            ua.as_mut(),
            Accum::Replace,
            u.as_ref(),
            MatRef::from_column_major_slice(&alpha, n, 1),
            1.0,
            par,
        );
        // Whitened K_uf adjoint Pf = (Uα)αᵀ − L_B⁻ᵀ V D^{−1/2} [+ U/σ² | − 2 U diag(G)].
        let mut pf = v;
        self.lb.solve_lt_in_place(pf.as_mut(), par);
        for i in 0..n {
            let sd = 1.0 / d[i].sqrt();
            let extra = match self.method {
                SparseMethod::Vfe => 1.0 / noise,
                SparseMethod::Fitc if !self.clamped[i] => -2.0 * g[i],
                SparseMethod::Fitc => 0.0,
            };
            let ai = alpha[i];
            let col = pf
                .col_mut(i)
                .try_as_col_major_mut()
                .expect("contiguous")
                .as_slice_mut();
            let ucol = col_slice(u, i);
            for r in 0..m {
                col[r] = gbar * (ua[(r, 0)] * ai - col[r] * sd + extra * ucol[r]);
            }
        }
        self.lz.solve_lt_in_place(pf.as_mut(), par);
        // Whitened K_uu adjoint Pu = ½(I − B⁻¹) − ½(Uα)(Uα)ᵀ [− U Uᵀ/(2σ²) | + U diag(G) Uᵀ],
        // where for VFE U Uᵀ/σ² = B − I.
        let binv = self.lb.inverse(par);
        let mut pu = Mat::<f64>::from_fn(m, m, |i, j| {
            let e = if i == j { 1.0 } else { 0.0 };
            0.5 * (e - binv[(i, j)]) - 0.5 * ua[(i, 0)] * ua[(j, 0)]
        });
        match self.method {
            SparseMethod::Vfe => {
                for j in 0..m {
                    for i in 0..m {
                        let bij = if i >= j {
                            self.b[(i, j)]
                        } else {
                            self.b[(j, i)]
                        };
                        let e = if i == j { 1.0 } else { 0.0 };
                        pu[(i, j)] -= 0.5 * (bij - e);
                    }
                }
            }
            SparseMethod::Fitc => {
                let mut ug = workspace::take(pool, m, n);
                scale_columns_into(&mut ug, u, |i| if self.clamped[i] { 0.0 } else { g[i] });
                let mut t = Mat::<f64>::zeros(m, m);
                faer::linalg::matmul::triangular::matmul(
                    t.as_mut(),
                    BlockStructure::TriangularLower,
                    Accum::Replace,
                    ug.as_ref(),
                    BlockStructure::Rectangular,
                    u.transpose(),
                    BlockStructure::Rectangular,
                    1.0,
                    par,
                );
                workspace::give(pool, ug);
                for j in 0..m {
                    for i in 0..m {
                        pu[(i, j)] += if i >= j { t[(i, j)] } else { t[(j, i)] };
                    }
                }
            }
        }
        // K̄_uu = gbar L_z⁻ᵀ Pu L_z⁻¹ (symmetric).
        self.lz.solve_lt_in_place(pu.as_mut(), par);
        let mut put = pu.transpose().to_owned();
        self.lz.solve_lt_in_place(put.as_mut(), par);
        let kuu = Mat::from_fn(m, m, |i, j| 0.5 * gbar * (put[(i, j)] + put[(j, i)]));
        // Diagonal and noise.
        let (kd, noise_bar) = match self.method {
            SparseMethod::Vfe => {
                let tr_q: f64 = noise * (0..m).map(|i| self.b[(i, i)] - 1.0).sum::<f64>();
                let tr_k: f64 = kdiag.iter().sum();
                (
                    vec![-0.5 * gbar / noise; n],
                    gbar * (g.iter().sum::<f64>() + (tr_k - tr_q) / (2.0 * noise * noise)),
                )
            }
            SparseMethod::Fitc => (
                (0..n)
                    .map(|i| if self.clamped[i] { 0.0 } else { gbar * g[i] })
                    .collect(),
                gbar * g.iter().sum::<f64>(),
            ),
        };
        CollapsedAdjoints {
            kuu,
            kuf: pf,
            kdiag: kd,
            noise: noise_bar,
            y: alpha.iter().map(|a| -gbar * a).collect(),
        }
    }
}
