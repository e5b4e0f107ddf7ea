//! A closure recorded on a tape: its reverse-mode gradient, and its value on constant
//! inputs (for the finite differences).

use crate::ad::{Tape, Var};
use crate::error::{Error, Result};

/// The reverse-mode gradient of a closure recorded on a fresh tape at `x`.
pub(super) fn tape_gradient<F>(x: &[f64], f: &F) -> Result<Vec<f64>>
where
    F: for<'t> Fn(&'t Tape, &[Var<'t>]) -> Result<Var<'t>>,
{
    let tape = Tape::new();
    let xs = tape.vars(x);
    let y = f(&tape, &xs)?;
    Ok(tape.gradient(&y)?.wrt_slice(&xs))
}

/// The value of a tape closure on constant inputs (nothing recorded); an error if it is
/// not finite.
pub(super) fn tape_value<F>(f: &F, p: &[f64], op: &'static str) -> Result<f64>
where
    F: for<'t> Fn(&'t Tape, &[Var<'t>]) -> Result<Var<'t>>,
{
    let t = Tape::new();
    let v: Vec<Var<'_>> = p.iter().map(|&a| Var::constant(a)).collect();
    let y = f(&t, &v)?;
    if y.val().is_finite() {
        Ok(y.val())
    } else {
        Err(Error::NonFinite {
            op,
            index: 0,
            value: y.val(),
            context: "function value".into(),
        })
    }
}
