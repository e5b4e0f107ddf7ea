//! The collapsed objective at one `θ` and its pullback into `θ`, `σ²`, `Z`, `X` and `y`,
//! shared by [`SparseGp`](super::SparseGp) and the tape block.

use super::model::SparseGpOptions;
use crate::error::{Error, Result};
use crate::gp::Inputs;
use crate::gp::kernels::matrix::{check_args, check_matrix_finite, kernel_matrix_unchecked};
use crate::gp::kernels::{Kernel, KernelAdjoints, fold_symmetric};
use crate::gp::sparse::collapsed_bound::{
    CollapsedFactor, CollapsedInputs, SparseMethod, collapsed_forward,
};
use crate::gp::workspace::{self, Linalg, MatPool};

/// A collapsed sparse-GP problem at one `θ`: kernel and parameters, noise variance,
/// data and inducing inputs.
pub(crate) struct SparseAt<'a, K> {
    pub kernel: &'a K,
    pub theta: &'a [f64],
    pub noise: f64,
    pub x: &'a Inputs,
    pub y: &'a [f64],
    pub z: &'a Inputs,
}

/// Checks the shapes (a wrong dimension of the inducing inputs is reported as `z`).
pub(crate) fn check_problem<K: Kernel>(op: &'static str, p: &SparseAt<'_, K>) -> Result<()> {
    check_args(op, p.kernel, p.theta, p.x, Some(("z", p.z)))?;
    crate::error::check_len(op, "y", p.y.len(), p.x.n())?;
    crate::error::check_finite(op, "y", p.y)?;
    if p.z.n() == 0 {
        return Err(Error::invalid_option(
            op,
            "z",
            "0 points",
            "at least one inducing input",
        ));
    }
    Ok(())
}

/// Builds `K_uu`, `K_uf`, `diag K_ff` and evaluates the collapsed objective.
pub(crate) fn evaluate<K: Kernel>(
    p: &SparseAt<'_, K>,
    method: SparseMethod,
    options: &SparseGpOptions,
    pool: Option<&MatPool>,
) -> Result<(CollapsedFactor, Vec<f64>)> {
    check_problem("sparse_gp", p)?;
    if !options.jitter.is_finite() || options.jitter < 0.0 {
        return Err(Error::invalid_option(
            "SparseGpOptions",
            "jitter",
            options.jitter,
            "finite and ≥ 0",
        ));
    }
    if !p.noise.is_finite() {
        return Err(Error::invalid_option(
            "sparse_gp",
            "noise_variance",
            p.noise,
            "finite and > 0",
        ));
    }
    let SparseAt {
        kernel,
        theta,
        noise,
        x,
        y,
        z,
    } = *p;
    let kuu = kernel_matrix_unchecked(kernel, theta, z, None)?;
    let mut kuf = workspace::take(pool, z.n(), x.n());
    kernel.matrix_into(theta, z, Some(x), kuf.as_mut());
    if let Err(e) = check_matrix_finite("sparse_gp", kuf.as_ref(), false) {
        workspace::give(pool, kuf);
        return Err(e);
    }
    let mut kdiag = vec![0.0; x.n()];
    kernel.diag_into(theta, x, &mut kdiag);
    crate::error::check_finite("sparse_gp", "diag K_ff", &kdiag)?;
    let inputs = CollapsedInputs {
        kuu: kuu.as_ref(),
        kuf,
        kdiag: &kdiag,
        y,
        noise,
    };
    let la = Linalg {
        par: options.par,
        pool,
    };
    let f = collapsed_forward(method, inputs, options.jitter, la)?;
    Ok((f, kdiag))
}

/// Adjoints in `θ`, `σ²` (natural scale), `Z` (point-major), `X` (point-major, if wanted)
/// and `y`.
pub(crate) struct Grads {
    pub theta: Vec<f64>,
    pub noise: f64,
    pub z: Vec<f64>,
    pub x: Option<Vec<f64>>,
    pub y: Vec<f64>,
}

/// The pullback of the objective (scaled by `gbar`) through the kernel matrices.
pub(crate) fn pullback<K: Kernel>(
    p: &SparseAt<'_, K>,
    f: &CollapsedFactor,
    kdiag: &[f64],
    gbar: f64,
    want_x: bool,
    la: Linalg<'_>,
) -> Grads {
    let SparseAt {
        kernel,
        theta,
        noise,
        x,
        y,
        z,
    } = *p;
    let adj = f.adjoints(y, noise, kdiag, gbar, la.par, la.pool);
    let mut g = Grads {
        theta: vec![0.0; theta.len()],
        noise: adj.noise,
        z: vec![0.0; z.n() * z.d()],
        x: want_x.then(|| vec![0.0; x.n() * x.d()]),
        y: adj.y,
    };
    let kuu_w = fold_symmetric(adj.kuu.as_ref());
    kernel.matrix_pullback(
        theta,
        z,
        None,
        kuu_w.as_ref(),
        KernelAdjoints::new(&mut g.theta, Some(&mut g.z), None),
    );
    kernel.matrix_pullback(
        theta,
        z,
        Some(x),
        adj.kuf.as_ref(),
        KernelAdjoints::new(&mut g.theta, Some(&mut g.z), g.x.as_deref_mut()),
    );
    kernel.diag_pullback(
        theta,
        x,
        &adj.kdiag,
        KernelAdjoints::new(&mut g.theta, g.x.as_deref_mut(), None),
    );
    workspace::give(la.pool, adj.kuf);
    g
}
