//! Chunked prediction of a [`GpEmulator`] at many points (history matching evaluates
//! millions of candidates).
//!
//! For a chunk of `m` points, `K_* = k(X, x_*)` (`n × m`) is filled by the engine's
//! vectorised kernel loop. The mean is `K_*ᵀ α + H_*ᵀ β̂`; the variance (module docs of
//! [`emulator`](super::emulator)) is
//!
//! $$ v = k(x, x) − ‖L⁻¹ k_*‖² + ‖L_A⁻¹ h_* − L_A⁻¹ (K_y⁻¹H)ᵀ k_*‖² $$
//!
//! with `K_y = L Lᵀ` and `A = L_A L_Aᵀ`. The fast path ([`GpEmulator::predict_into`])
//! precomputes `L⁻¹`, `L_A⁻¹` and `G = L_A⁻¹ (K_y⁻¹H)ᵀ` once per fit, so that a chunk
//! costs one triangular matrix product `L⁻¹ K_*` (`n² m` flops at matrix-product speed,
//! where a triangular solve with `m` right-hand sides runs at a fraction of it), one small
//! product `G K_*` and column norms. [`GpEmulator::predict_into_by_solve`] keeps the
//! triangular solves (the reference the fast path is tested against). Forming `L⁻¹` costs
//! some accuracy when `K_y` is ill-conditioned (Higham 2002, §8.2 and §14.2): the
//! variance is clamped at zero, and the two paths agree to `≈ κ(L) ε` relative to `k(x,x)`.

use faer::linalg::matmul::matmul;
use faer::linalg::matmul::triangular::{BlockStructure, matmul as tri_matmul};
use faer::{Accum, Mat, MatRef, Par};
use mechml_engine::gp::{Inputs, Kernel};
use mechml_engine::{Error, Result};

use super::emulator::GpEmulator;
use super::likelihood::Factor;

/// Points predicted per chunk (bounds the `n × chunk` work matrices).
pub const PREDICT_CHUNK: usize = 512;

/// The inverses the fast prediction path multiplies by (one set per fit).
#[derive(Clone, Debug)]
pub(crate) struct PredictCache {
    /// `L⁻¹` (`n × n`, zero above the diagonal).
    linv: Mat<f64>,
    /// `L_A⁻¹` (`q × q`).
    la_inv: Mat<f64>,
    /// `G = L_A⁻¹ (K_y⁻¹ H)ᵀ` (`q × n`).
    g: Mat<f64>,
}

impl Default for PredictCache {
    fn default() -> Self {
        Self {
            linv: Mat::zeros(0, 0),
            la_inv: Mat::zeros(0, 0),
            g: Mat::zeros(0, 0),
        }
    }
}

impl PredictCache {
    /// The inverses of a factorisation.
    pub(crate) fn new(f: &Factor) -> Self {
        let n = f.llt.dim();
        let mut linv = Mat::<f64>::identity(n, n);
        f.llt.solve_l_in_place(linv.as_mut(), Par::Seq);
        let (la_inv, g) = match &f.a_llt {
            Some(a) => {
                let q = a.dim();
                let mut la_inv = Mat::<f64>::identity(q, q);
                a.solve_l_in_place(la_inv.as_mut(), Par::Seq);
                let mut g = f.kinv_h.transpose().to_owned();
                a.solve_l_in_place(g.as_mut(), Par::Seq);
                (la_inv, g)
            }
            None => (Mat::zeros(0, 0), Mat::zeros(0, n)),
        };
        Self { linv, la_inv, g }
    }
}

/// Buffers of chunked prediction.
pub(crate) struct PredictWorkspace {
    ks: Mat<f64>,
    t: Mat<f64>,
    u: Mat<f64>,
    hs: Mat<f64>,
    hrow: Vec<f64>,
    kdiag: Vec<f64>,
}

impl Default for PredictWorkspace {
    fn default() -> Self {
        Self {
            ks: Mat::zeros(0, 0),
            t: Mat::zeros(0, 0),
            u: Mat::zeros(0, 0),
            hs: Mat::zeros(0, 0),
            hrow: Vec::new(),
            kdiag: Vec::new(),
        }
    }
}

thread_local! {
    static WORKSPACE: std::cell::RefCell<PredictWorkspace> =
        std::cell::RefCell::new(PredictWorkspace::default());
}

/// Which way a chunk's variances are computed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Path {
    /// Products with the precomputed inverses.
    Inverse,
    /// Triangular solves with the factors.
    Solve,
}

impl GpEmulator {
    /// Latent mean and variance at `xs` (unit cube), in chunks of [`PREDICT_CHUNK`].
    pub fn predict(&self, xs: &Inputs) -> Result<super::EmuPrediction> {
        let m = xs.n();
        let mut mean = vec![0.0; m];
        let mut var = vec![0.0; m];
        self.predict_into(xs.as_slice(), &mut mean, &mut var)?;
        Ok(super::EmuPrediction { mean, var })
    }

    /// [`GpEmulator::predict`] from point-major coordinates into caller buffers (the fast
    /// path: products with precomputed inverses; module docs of `predict`).
    pub fn predict_into(&self, xs: &[f64], mean: &mut [f64], var: &mut [f64]) -> Result<()> {
        self.predict_path(xs, mean, var, Path::Inverse)
    }

    /// [`GpEmulator::predict_into`] by triangular solves with the Cholesky factors (slower;
    /// the reference for the fast path).
    pub fn predict_into_by_solve(
        &self,
        xs: &[f64],
        mean: &mut [f64],
        var: &mut [f64],
    ) -> Result<()> {
        self.predict_path(xs, mean, var, Path::Solve)
    }

    fn predict_path(
        &self,
        xs: &[f64],
        mean: &mut [f64],
        var: &mut [f64],
        path: Path,
    ) -> Result<()> {
        let d = self.x.d();
        let m = xs.len() / d.max(1);
        if xs.len() != m * d || mean.len() != m || var.len() != m {
            return Err(Error::ShapeMismatch {
                op: "GpEmulator::predict",
                arg: "xs",
                expected: format!(
                    "{d} coordinates per point and one mean and variance slot per point"
                ),
                found: format!(
                    "{} coordinates, {} / {} slots",
                    xs.len(),
                    mean.len(),
                    var.len()
                ),
            });
        }
        // One workspace per thread, kept between calls: history matching predicts chunk
        // by chunk, and fresh `n × chunk` buffers would cost page faults each time.
        WORKSPACE.with_borrow_mut(|ws| {
            for (c, chunk) in xs.chunks(PREDICT_CHUNK * d.max(1)).enumerate() {
                let lo = c * PREDICT_CHUNK;
                let hi = lo + chunk.len() / d.max(1);
                self.chunk(chunk, &mut mean[lo..hi], &mut var[lo..hi], ws, path)?;
            }
            Ok(())
        })
    }

    /// One chunk of at most [`PREDICT_CHUNK`] points.
    fn chunk(
        &self,
        xs: &[f64],
        mean: &mut [f64],
        var: &mut [f64],
        ws: &mut PredictWorkspace,
        path: Path,
    ) -> Result<()> {
        let (n, d, q) = (self.x.n(), self.x.d(), self.h.ncols());
        let m = mean.len();
        let xin = Inputs::new(m, d, xs.to_vec())?;
        let tk = self.kernel_params();
        resize(&mut ws.ks, n, m);
        self.kernel
            .matrix_into(&tk, &self.x, Some(&xin), ws.ks.as_mut());
        // Means: k_*ᵀ α + h_*ᵀ β.
        let alpha = MatRef::from_column_major_slice(&self.factor.alpha, n, 1);
        let mean_mat = faer::MatMut::from_column_major_slice_mut(mean, m, 1);
        matmul(
            mean_mat,
            Accum::Replace,
            ws.ks.transpose(),
            alpha,
            1.0,
            Par::Seq,
        );
        ws.hrow.resize(q, 0.0);
        resize(&mut ws.hs, q, m);
        for i in 0..m {
            self.mean.eval(&xs[i * d..(i + 1) * d], &mut ws.hrow);
            for j in 0..q {
                mean[i] += ws.hrow[j] * self.factor.beta[j];
                ws.hs[(j, i)] = ws.hrow[j];
            }
        }
        ws.kdiag.resize(m, 0.0);
        self.kernel.diag_into(&tk, &xin, &mut ws.kdiag);
        match path {
            Path::Inverse => {
                // U = L_A⁻¹ H_* − G K_*, then T = L⁻¹ K_*.
                if q > 0 {
                    resize(&mut ws.u, q, m);
                    tri_matmul(
                        ws.u.as_mut(),
                        BlockStructure::Rectangular,
                        Accum::Replace,
                        self.cache.la_inv.as_ref(),
                        BlockStructure::TriangularLower,
                        ws.hs.as_ref(),
                        BlockStructure::Rectangular,
                        1.0,
                        Par::Seq,
                    );
                    matmul(
                        ws.u.as_mut(),
                        Accum::Add,
                        self.cache.g.as_ref(),
                        ws.ks.as_ref(),
                        -1.0,
                        Par::Seq,
                    );
                    std::mem::swap(&mut ws.u, &mut ws.hs);
                }
                resize(&mut ws.t, n, m);
                tri_matmul(
                    ws.t.as_mut(),
                    BlockStructure::Rectangular,
                    Accum::Replace,
                    self.cache.linv.as_ref(),
                    BlockStructure::TriangularLower,
                    ws.ks.as_ref(),
                    BlockStructure::Rectangular,
                    1.0,
                    Par::Seq,
                );
                std::mem::swap(&mut ws.t, &mut ws.ks);
            }
            Path::Solve => {
                if q > 0 {
                    matmul(
                        ws.hs.as_mut(),
                        Accum::Add,
                        self.factor.kinv_h.transpose(),
                        ws.ks.as_ref(),
                        -1.0,
                        Par::Seq,
                    );
                    if let Some(a) = &self.factor.a_llt {
                        a.solve_l_in_place(ws.hs.as_mut(), Par::Seq);
                    }
                }
                self.factor.llt.solve_l_in_place(ws.ks.as_mut(), Par::Seq);
            }
        }
        // Variances: k(x, x) − ‖L⁻¹ k_*‖² + ‖L_A⁻¹ u‖².
        for i in 0..m {
            let mut v = ws.kdiag[i] - sum_sq(ws.ks.as_ref(), i);
            if q > 0 {
                v += sum_sq(ws.hs.as_ref(), i);
            }
            var[i] = v.max(0.0);
        }
        Ok(())
    }
}

/// `Σᵢ a[(i, j)]²` with four partial sums over the contiguous column (a plain sum of
/// squares, which vectorises; faer's `squared_norm_l2` rescales against overflow, which
/// entries of `L⁻¹ k_*`, bounded by `√k(x, x)`, cannot need).
fn sum_sq(a: MatRef<'_, f64>, j: usize) -> f64 {
    match a.col(j).try_as_col_major() {
        Some(c) => {
            let c = c.as_slice();
            let mut acc = [0.0; 4];
            let mut it = c.chunks_exact(4);
            for v in &mut it {
                for k in 0..4 {
                    acc[k] += v[k] * v[k];
                }
            }
            let tail: f64 = it.remainder().iter().map(|v| v * v).sum();
            (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
        }
        None => a.col(j).squared_norm_l2(),
    }
}

/// Resizes a work matrix (contents unspecified afterwards).
fn resize(a: &mut Mat<f64>, r: usize, c: usize) {
    if a.nrows() != r || a.ncols() != c {
        *a = Mat::zeros(r, c);
    }
}
