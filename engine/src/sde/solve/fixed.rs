//! The fixed-step loop, over any scalar type.

use super::grid::FixedGrid;
use super::path::{IncrementBuf, PathInputs, non_finite_error};
use crate::ad::Real;
use crate::error::Result;
use crate::sde::brownian::BrownianPath;
use crate::sde::methods::{SdeMethod, Workspace};
use crate::sde::problem::Sde;

/// Runs the fixed-step loop over any scalar type, calling `on_state(k, t_k, state)` after
/// the initial state (`k = 0`) and after every step.
pub(crate) fn run_fixed<S, M, B, R>(
    path: PathInputs<'_, S, M, R>,
    grid: FixedGrid,
    bm: &mut B,
    check_finite: bool,
    mut on_state: impl FnMut(usize, f64, &[R]) -> Result<()>,
) -> Result<()>
where
    S: Sde,
    M: SdeMethod,
    B: BrownianPath + ?Sized,
    R: Real,
{
    let PathInputs { sde, method, x0, p } = path;
    let d = sde.n_states();
    let gl = sde.noise().diffusion_len(d, sde.n_noise());
    let sl = method.state_len(d, gl);
    let mut ws = Workspace::<R>::new(sde);
    let mut y = vec![R::zero(); sl];
    let mut next = vec![R::zero(); sl];
    method.init(sde, grid.t0, x0, p, &mut y);
    on_state(0, grid.t0, &y)?;
    let mut inc = IncrementBuf::new(sde.n_noise(), method.needs_levy_area());
    for k in 0..grid.n {
        let (t, t_next) = (grid.t(k), grid.t(k + 1));
        inc.fill(bm, t, t_next)?;
        method.step(sde, &inc.get(), p, &y, &mut next, &mut ws);
        std::mem::swap(&mut y, &mut next);
        if check_finite && let Some(e) = non_finite_error(method.name(), &y[..d], t_next, k + 1) {
            return Err(e);
        }
        on_state(k + 1, t_next, &y)?;
    }
    Ok(())
}
