//! Variance-based sensitivity analysis: first-order and total Sobol' indices
//! (Sobol' 1993; Saltelli et al. 2010, Comput. Phys. Commun. 181, 259–270).
//!
//! For `Y = f(X)` with independent inputs, `S_i = Var(E[Y | X_i]) / Var(Y)` and
//! `S_{T,i} = E[Var(Y | X_{∼i})] / Var(Y)`.
//!
//! * **By sampling** ([`sobol_indices`]): two independent quasi-random matrices `A`, `B`
//!   (`N × d`, the two halves of a `2d`-dimensional scrambled Sobol' sequence) and the
//!   `d` matrices `A_B^{(i)}` (A with column `i` from B): `N(d + 2)` runs, and the
//!   estimators of Jansen (1999, Comput. Phys. Commun. 117, 35–43)
//!
//!   $$ V_i ≈ V − \frac{1}{2N}\sum_j (f(B)_j − f(A_B^{(i)})_j)^2, \qquad
//!   V_{T,i} ≈ \frac{1}{2N}\sum_j (f(A)_j − f(A_B^{(i)})_j)^2 $$
//!
//!   (Saltelli et al. 2010, Table 2, estimators (f) and (b)), with `V` the variance of
//!   all `f(A)` and `f(B)` values, and percentile bootstrap intervals over the rows.
//! * **From a GP emulator** ([`gp_sobol_indices`]): the indices of the emulated function
//!   in closed form (Oakley & O'Hagan 2004, JRSS B 66(3), 751–769) for a squared
//!   exponential kernel and uniform inputs on the unit cube, as the ratio of the
//!   posterior means of `V_S` and `V`, which include the emulator's uncertainty.

mod gp_route;
mod saltelli;
mod testfns;

pub use gp_route::{GpSobol, gp_sobol_indices};
pub use saltelli::{
    SobolIndices, SobolOptions as SensitivityOptions, saltelli_design, sobol_from_outputs,
    sobol_indices,
};
pub use testfns::{
    borehole, borehole_space, g_function, g_function_indices, ishigami, ishigami_indices,
};
