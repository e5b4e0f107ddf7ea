//! A gradient checker: finite differences against an analytic gradient, with a report of
//! the relative error of each component.
//!
//! Differences use the fourth-order central stencil
//! $$D(h) = \frac{f(x-2h) - 8 f(x-h) + 8 f(x+h) - f(x+2h)}{12 h}
//!   = f^\prime(x) + \frac{h^4}{30} f^{(5)}(x) + O(h^6),$$
//! with `h = ε^{1/5} max(|xᵢ|, 1)` by default, which balances truncation against rounding.
//!
//! Two kinds of check:
//! * [`check_gradient`] / [`check_tape_gradient`]: `D(h)` at one step, within fixed
//!   tolerances. The truncation error of `D(h)` is not known to the check, so a function
//!   with large fifth derivatives fails it though its gradient is right.
//! * [`check_gradient_estimated`] / [`check_tape_gradient_estimated`]: each component comes
//!   with an estimate of its own error ([`FdEstimate`], [`finite_diff_estimate`]) and the
//!   analytic gradient is compared within that estimate (times a safety factor) on top of
//!   the fixed tolerances. This is the check for generated inputs (the fuzz checks of the
//!   `testing` module, feature `testing`), where no fixed step suits every function.
//!
//! The estimate uses two steps and Richardson extrapolation (Richardson 1911, Phil. Trans.
//! R. Soc. A 210, 307–357; see e.g.
//! Press et al., *Numerical Recipes*, 3rd ed., §5.7): since the error of `D(h)` is
//! `c h⁴ + O(h⁶)`,
//! $$R = D(h) + \frac{D(h) - D(2h)}{15} = f^\prime(x) + O(h^6), \qquad
//! e_{\mathrm{trunc}} = \frac{|D(h) - D(2h)|}{15},$$
//! where `e_trunc` estimates the truncation error of `D(h)` and bounds that of `R` while
//! the steps are in the asymptotic range. Rounding adds
//! `e_round = 1.65 δ / h` with `δ = f_accuracy · max |f|` over the stencil (the stencil
//! weights of `R` sum to 1.65/h in absolute value). A component passes when
//! $$|a_i - R_i| \le \mathrm{atol} + \mathrm{rtol} \max(|a_i|, |R_i|) +
//!   \mathrm{safety} \cdot (e_{\mathrm{trunc}} + e_{\mathrm{round}}).$$
//! When the estimate dominates that tolerance, the step is divided by 4 (at most twice)
//! while the estimate keeps falling, so a steep function is differenced on a finer scale.
//!
//! Files: `fixed` (the fixed-step checks and the stencil), `estimated` (the
//! error-estimating checks), `report` ([`GradCheckReport`]), `tape_fn` (closures recorded
//! on a tape, evaluated for both).

mod estimated;
mod fixed;
mod report;
mod tape_fn;

pub use estimated::{
    EstimatedCheckOptions, FdEstimate, check_gradient_estimated, check_tape_directional_estimated,
    check_tape_gradient_estimated, compare_estimated, finite_diff_estimate,
    finite_diff_gradient_estimated,
};
pub use fixed::{
    GradCheckOptions, check_gradient, check_tape_gradient, compare, finite_diff_gradient,
    finite_diff_jacobian,
};
pub use report::GradCheckReport;
