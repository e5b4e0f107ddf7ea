//! [`VarVec`] and [`VarMat`]: vectors and matrices whose entries occupy contiguous slots
//! on a tape (the outputs of one block), or constants on none.
//!
//! Values are kept alongside (column-major for matrices) so that block operations can run
//! on them directly.

use crate::linalg::{Mat, MatRef};

use super::block::BlockArg;
use super::real::Real;
use super::tape::Tape;
use super::var::Var;
use crate::error::{Error, Result, check_len};

/// A vector of scalars on a tape, stored in contiguous slots.
#[derive(Clone)]
pub struct VarVec<'t, S = f64> {
    tape: Option<&'t Tape<S>>,
    start: u32,
    vals: Vec<S>,
}

/// A matrix of scalars on a tape, stored column-major in contiguous slots.
#[derive(Clone)]
pub struct VarMat<'t, S = f64> {
    tape: Option<&'t Tape<S>>,
    start: u32,
    rows: usize,
    cols: usize,
    vals: Vec<S>,
}

impl<S: Real> std::fmt::Debug for VarVec<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "VarVec(len {}, constant: {}, {:?})",
            self.vals.len(),
            self.tape.is_none(),
            self.vals
        )
    }
}

impl<S: Real> std::fmt::Debug for VarMat<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "VarMat({}x{}, constant: {})",
            self.rows,
            self.cols,
            self.tape.is_none()
        )
    }
}

impl<'t, S: Real> VarVec<'t, S> {
    /// A constant vector (no adjoint).
    pub fn constant(vals: Vec<S>) -> Self {
        Self {
            tape: None,
            start: 0,
            vals,
        }
    }
    /// Wraps the outputs of a block (`start` from [`Tape::push_block`]; `None` = constant).
    ///
    /// `vals` must hold one value per output of the block (its `n_out`). If it does not,
    /// or `start` is not the first output slot of a block, the tape records an error
    /// ([`Error::ShapeMismatch`], or [`Error::InvalidOption`] naming `start`; returned by
    /// [`Tape::check`] and [`Tape::gradient`]) and the vector is a constant.
    /// In check mode ([`Tape::set_check_finite`]) a non-finite value records an
    /// [`Error::NonFinite`] naming the block.
    pub fn from_block(tape: &'t Tape<S>, start: Option<u32>, vals: Vec<S>) -> Self {
        match start {
            Some(s) if tape.accept_block_outputs(s, &vals, "VarVec::from_block") => Self {
                tape: Some(tape),
                start: s,
                vals,
            },
            _ => Self::constant(vals),
        }
    }
    /// Length.
    pub fn len(&self) -> usize {
        self.vals.len()
    }
    /// Whether the vector is empty.
    pub fn is_empty(&self) -> bool {
        self.vals.is_empty()
    }
    /// The values.
    pub fn values(&self) -> &[S] {
        &self.vals
    }
    /// Whether this vector is a constant.
    pub fn is_constant(&self) -> bool {
        self.tape.is_none()
    }
    /// The tape, if any.
    pub fn tape(&self) -> Option<&'t Tape<S>> {
        self.tape
    }
    /// First slot (meaningless for a constant).
    pub fn start_slot(&self) -> u32 {
        self.start
    }
    /// Entry `i` as a scalar variable, or `None` if out of range.
    pub fn get(&self, i: usize) -> Option<Var<'t, S>> {
        let v = *self.vals.get(i)?;
        Some(match self.tape {
            Some(t) => Var::from_parts(t, self.start + i as u32, v),
            None => Var::constant(v),
        })
    }
    /// All entries as scalar variables.
    pub fn vars(&self) -> Vec<Var<'t, S>> {
        (0..self.len()).filter_map(|i| self.get(i)).collect()
    }
    /// This vector as a block argument.
    pub fn arg(&self) -> BlockArg<'static> {
        match self.tape {
            Some(_) => BlockArg::Range {
                start: self.start,
                len: self.vals.len() as u32,
            },
            None => BlockArg::Constant {
                len: self.vals.len(),
            },
        }
    }
    /// The entries `range` as a vector on the same slots (no record, no copy of slots).
    ///
    /// # Errors
    /// [`Error::InvalidOption`] (argument `range`) if the range is out of bounds.
    pub fn slice(&self, range: std::ops::Range<usize>) -> Result<Self> {
        if range.start > range.end || range.end > self.vals.len() {
            return Err(Error::invalid_option(
                "VarVec::slice",
                "range",
                format!("{range:?}"),
                format!("an increasing range within 0..{}", self.vals.len()),
            ));
        }
        Ok(Self {
            tape: self.tape,
            start: self.start + range.start as u32,
            vals: self.vals[range].to_vec(),
        })
    }

    /// Views the vector as a `rows x cols` column-major matrix (same slots).
    pub fn reshape(self, rows: usize, cols: usize) -> Result<VarMat<'t, S>> {
        check_len(
            "reshape",
            "vector",
            self.vals.len(),
            rows.saturating_mul(cols),
        )?;
        Ok(VarMat {
            tape: self.tape,
            start: self.start,
            rows,
            cols,
            vals: self.vals,
        })
    }
}

impl<'t, S: Real> VarMat<'t, S> {
    /// A constant matrix from column-major values.
    pub fn constant(rows: usize, cols: usize, vals: Vec<S>) -> Result<Self> {
        check_len(
            "VarMat::constant",
            "values",
            vals.len(),
            rows.saturating_mul(cols),
        )?;
        Ok(Self {
            tape: None,
            start: 0,
            rows,
            cols,
            vals,
        })
    }
    /// Wraps the outputs of a block as a `rows x cols` matrix (column-major).
    ///
    /// `vals` must hold `rows * cols` values, one per output of the block. If it does not,
    /// or `start` is not the first output slot of a block, the tape records an error
    /// ([`Error::ShapeMismatch`], or [`Error::InvalidOption`] naming `start`; returned by
    /// [`Tape::check`] and [`Tape::gradient`]) and the matrix is a constant
    /// (padded with NaN or truncated to `rows * cols` values; a `vals.len() x 1` column if
    /// `rows * cols` is out of all proportion). In check mode
    /// ([`Tape::set_check_finite`]) a non-finite value records an [`Error::NonFinite`]
    /// naming the block.
    pub fn from_block(
        tape: &'t Tape<S>,
        start: Option<u32>,
        rows: usize,
        cols: usize,
        mut vals: Vec<S>,
    ) -> Self {
        let (mut rows, mut cols) = (rows, cols);
        let shape_ok = rows.checked_mul(cols) == Some(vals.len());
        if !shape_ok {
            tape.fail(Error::ShapeMismatch {
                op: "VarMat::from_block",
                arg: "vals",
                expected: format!("{rows}x{cols} values"),
                found: format!("len {}", vals.len()),
            });
            // Padding must not allocate without bound on absurd shapes.
            if rows
                .checked_mul(cols)
                .is_none_or(|n| n > vals.len().max(1 << 20))
            {
                (rows, cols) = (vals.len(), 1);
            }
        }
        let on_tape = match start {
            Some(s) => shape_ok && tape.accept_block_outputs(s, &vals, "VarMat::from_block"),
            None => false,
        };
        if !shape_ok {
            vals.resize(rows.saturating_mul(cols), S::from_f64(f64::NAN));
        }
        Self {
            tape: on_tape.then_some(tape),
            start: if on_tape { start.unwrap_or(0) } else { 0 },
            rows,
            cols,
            vals,
        }
    }
    /// Number of rows.
    pub fn nrows(&self) -> usize {
        self.rows
    }
    /// Number of columns.
    pub fn ncols(&self) -> usize {
        self.cols
    }
    /// `(rows, cols)`.
    pub fn shape(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }
    /// Column-major values.
    pub fn values(&self) -> &[S] {
        &self.vals
    }
    /// Whether this matrix is a constant.
    pub fn is_constant(&self) -> bool {
        self.tape.is_none()
    }
    /// The tape, if any.
    pub fn tape(&self) -> Option<&'t Tape<S>> {
        self.tape
    }
    /// First slot (meaningless for a constant).
    pub fn start_slot(&self) -> u32 {
        self.start
    }
    /// Entry `(i, j)` as a scalar variable, or `None` if out of range.
    pub fn get(&self, i: usize, j: usize) -> Option<Var<'t, S>> {
        if i >= self.rows || j >= self.cols {
            return None;
        }
        let k = i + j * self.rows;
        let v = *self.vals.get(k)?;
        Some(match self.tape {
            Some(t) => Var::from_parts(t, self.start + k as u32, v),
            None => Var::constant(v),
        })
    }
    /// Value of entry `(i, j)` (panics if out of range, like indexing).
    pub fn value_at(&self, i: usize, j: usize) -> S {
        self.vals[i + j * self.rows]
    }
    /// This matrix as a block argument.
    pub fn arg(&self) -> BlockArg<'static> {
        match self.tape {
            Some(_) => BlockArg::Range {
                start: self.start,
                len: self.vals.len() as u32,
            },
            None => BlockArg::Constant {
                len: self.vals.len(),
            },
        }
    }
    /// The same slots as a vector (column-major).
    pub fn flatten(self) -> VarVec<'t, S> {
        VarVec {
            tape: self.tape,
            start: self.start,
            vals: self.vals,
        }
    }
}

impl<'t> VarMat<'t, f64> {
    /// A view of the values as a matrix ([`MatRef`], re-exported by
    /// [`linalg`](crate::linalg)).
    pub fn as_faer(&self) -> MatRef<'_, f64> {
        MatRef::from_column_major_slice(&self.vals, self.rows, self.cols)
    }
    /// A copy of the values as a matrix ([`Mat`], re-exported by
    /// [`linalg`](crate::linalg)).
    pub fn to_faer(&self) -> Mat<f64> {
        self.as_faer().to_owned()
    }
    /// A constant matrix from a matrix view ([`MatRef`], re-exported by
    /// [`linalg`](crate::linalg)).
    pub fn from_faer(m: MatRef<'_, f64>) -> Self {
        let (rows, cols) = (m.nrows(), m.ncols());
        let mut vals = Vec::with_capacity(rows * cols);
        for j in 0..cols {
            for i in 0..rows {
                vals.push(m[(i, j)]);
            }
        }
        Self {
            tape: None,
            start: 0,
            rows,
            cols,
            vals,
        }
    }
}

/// Checks that every argument belongs to `tape` (or is constant).
pub(crate) fn check_tape<S: Real>(
    op: &'static str,
    tape: &Tape<S>,
    tapes: &[Option<&Tape<S>>],
) -> Result<()> {
    for t in tapes.iter().flatten() {
        if !std::ptr::eq(*t, tape) {
            return Err(Error::MixedTapes { op });
        }
    }
    Ok(())
}

impl<S: Real> Tape<S> {
    /// A vector of new independent variables (one leaf record, contiguous slots). In
    /// check mode a non-finite value records an [`Error::NonFinite`].
    pub fn var_vec(&self, xs: &[S]) -> VarVec<'_, S> {
        self.check_leaves("var_vec", xs);
        match self.push_leaf_block(xs.len()) {
            Ok(start) => VarVec {
                tape: Some(self),
                start,
                vals: xs.to_vec(),
            },
            Err(e) => {
                self.fail(e);
                VarVec::constant(xs.to_vec())
            }
        }
    }

    /// A `rows x cols` matrix of new independent variables from column-major values. In
    /// check mode a non-finite value records an [`Error::NonFinite`].
    pub fn var_mat(&self, rows: usize, cols: usize, vals: &[S]) -> Result<VarMat<'_, S>> {
        check_len("var_mat", "values", vals.len(), rows.saturating_mul(cols))?;
        self.check_leaves("var_mat", vals);
        let start = self.push_leaf_block(vals.len())?;
        Ok(VarMat {
            tape: Some(self),
            start,
            rows,
            cols,
            vals: vals.to_vec(),
        })
    }

    /// In check mode, records the first non-finite leaf value.
    fn check_leaves(&self, op: &'static str, xs: &[S]) {
        if self.check_finite_enabled()
            && let Some(k) = xs.iter().position(|x| !x.value().is_finite())
        {
            self.fail(Error::NonFinite {
                op,
                index: k,
                value: xs[k].value(),
                context: format!("independent variable {k} (check mode)"),
            });
        }
    }

    /// Gathers scalar variables into one contiguous vector (one block).
    pub fn stack(&self, xs: &[Var<'_, S>]) -> Result<VarVec<'_, S>> {
        let vals: Vec<S> = xs.iter().map(|x| x.val()).collect();
        if xs.iter().all(|x| x.is_constant()) {
            return Ok(VarVec::constant(vals));
        }
        check_tape(
            "stack",
            self,
            &xs.iter().map(|x| x.tape()).collect::<Vec<_>>(),
        )?;
        // Constants point at slot 0, whose adjoint is discarded.
        let slots: Vec<u32> = xs.iter().map(|x| x.slot()).collect();
        let start = self.push_block(Gather, &[BlockArg::Slots(slots.into())], vals.len())?;
        Ok(VarVec::from_block(self, start, vals))
    }

    /// Gathers scalar variables (column-major) into a `rows x cols` matrix (one block).
    pub fn stack_mat(&self, rows: usize, cols: usize, xs: &[Var<'_, S>]) -> Result<VarMat<'_, S>> {
        check_len("stack_mat", "entries", xs.len(), rows.saturating_mul(cols))?;
        self.stack(xs)?.reshape(rows, cols)
    }
}

/// The identity from scattered slots to contiguous ones.
struct Gather;

impl<S: Real> super::block::BlockOp<S> for Gather {
    fn name(&self) -> &'static str {
        "stack"
    }
    fn pullback(
        &self,
        out_adj: &[S],
        inputs: &mut super::block::InputAdjoints<'_, S>,
    ) -> Result<()> {
        if let Some(mut a) = inputs.arg(0) {
            for (x, &g) in a.iter_mut().zip(out_adj) {
                *x += g;
            }
        }
        Ok(())
    }
    fn pushforward(
        &self,
        inputs: &super::block::InputTangents<'_, S>,
        out: &mut [S],
    ) -> Result<()> {
        if let Some(t) = inputs.arg(0) {
            out.copy_from_slice(&t);
        }
        Ok(())
    }
}

impl<S: Real> super::tape::Adjoints<S> {
    /// The adjoints of a vector's entries (zeros for a constant).
    pub fn wrt_vec(&self, x: &VarVec<'_, S>) -> Vec<S> {
        match x.tape {
            Some(_) => self.slots(x.start, x.len()),
            None => vec![S::zero(); x.len()],
        }
    }
    /// The adjoints of a matrix's entries, column-major, borrowed (`None` for a constant).
    pub fn wrt_mat_ref(&self, x: &VarMat<'_, S>) -> Option<&[S]> {
        x.tape.map(|_| self.slots_ref(x.start, x.vals.len()))
    }
    /// The adjoints of a vector's entries, borrowed (`None` for a constant).
    pub fn wrt_vec_ref(&self, x: &VarVec<'_, S>) -> Option<&[S]> {
        x.tape.map(|_| self.slots_ref(x.start, x.vals.len()))
    }
    /// The adjoints of a matrix's entries, column-major (zeros for a constant).
    pub fn wrt_mat(&self, x: &VarMat<'_, S>) -> Vec<S> {
        match x.tape {
            Some(_) => self.slots(x.start, x.vals.len()),
            None => vec![S::zero(); x.vals.len()],
        }
    }
}

impl<S: Real> Tape<S> {
    /// Reverse sweep seeded with d y / d y = 1: the gradient of `y` with respect to every
    /// variable on the tape.
    pub fn gradient(&self, y: &Var<'_, S>) -> Result<super::tape::Adjoints<S>> {
        let mut out = super::tape::Adjoints::default();
        self.gradient_into(y, &mut out)?;
        Ok(out)
    }

    /// Like [`Tape::gradient`], reusing the storage of `out` (no allocation when it is
    /// large enough, e.g. in an optimisation loop over a cleared tape).
    pub fn gradient_into(&self, y: &Var<'_, S>, out: &mut super::tape::Adjoints<S>) -> Result<()> {
        match y.tape() {
            None => self.reverse_into(&[], out),
            Some(t) => {
                check_tape("gradient", self, &[Some(t)])?;
                self.reverse_into(&[(y.slot(), S::one())], out)
            }
        }
    }
}
