//! Element-wise arithmetic between vectors (or matrices of equal shape), and element-wise
//! maps whose derivative comes from a dual number.

use crate::ad::block::{BlockOp, InputAdjoints, InputTangents};
use crate::ad::{Dual, DualN, Tape, Var, VarMat, VarVec};
use crate::error::{Result, check_finite, check_len, check_shape};

use super::util::same_tape;

/// An element-wise binary operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Binary {
    /// aᵢ + bᵢ
    Add,
    /// aᵢ − bᵢ
    Sub,
    /// aᵢ bᵢ
    Mul,
    /// aᵢ / bᵢ
    Div,
}

impl Binary {
    fn name(self) -> &'static str {
        match self {
            Binary::Add => "add",
            Binary::Sub => "sub",
            Binary::Mul => "mul",
            Binary::Div => "div",
        }
    }
    fn apply(self, a: f64, b: f64) -> f64 {
        match self {
            Binary::Add => a + b,
            Binary::Sub => a - b,
            Binary::Mul => a * b,
            Binary::Div => a / b,
        }
    }
}

struct ElementwiseOp {
    op: Binary,
    /// Saved operand values, only for Mul and Div.
    a: Vec<f64>,
    b: Vec<f64>,
}

impl BlockOp for ElementwiseOp {
    fn name(&self) -> &'static str {
        self.op.name()
    }
    fn pullback(&self, g: &[f64], inputs: &mut InputAdjoints<'_, f64>) -> Result<()> {
        if let Some(mut da) = inputs.arg(0) {
            match self.op {
                Binary::Add | Binary::Sub => da.iter_mut().zip(g).for_each(|(d, g)| *d += g),
                Binary::Mul => da
                    .iter_mut()
                    .zip(g)
                    .zip(&self.b)
                    .for_each(|((d, g), b)| *d += g * b),
                Binary::Div => da
                    .iter_mut()
                    .zip(g)
                    .zip(&self.b)
                    .for_each(|((d, g), b)| *d += g / b),
            }
        }
        if let Some(mut db) = inputs.arg(1) {
            match self.op {
                Binary::Add => db.iter_mut().zip(g).for_each(|(d, g)| *d += g),
                Binary::Sub => db.iter_mut().zip(g).for_each(|(d, g)| *d -= g),
                Binary::Mul => db
                    .iter_mut()
                    .zip(g)
                    .zip(&self.a)
                    .for_each(|((d, g), a)| *d += g * a),
                Binary::Div => db
                    .iter_mut()
                    .zip(g)
                    .zip(self.a.iter().zip(&self.b))
                    .for_each(|((d, g), (a, b))| *d -= g * a / (b * b)),
            }
        }
        Ok(())
    }
    fn pushforward(&self, inputs: &InputTangents<'_, f64>, out: &mut [f64]) -> Result<()> {
        out.iter_mut().for_each(|o| *o = 0.0);
        if let Some(ta) = inputs.arg(0) {
            for (i, o) in out.iter_mut().enumerate() {
                *o += match self.op {
                    Binary::Add | Binary::Sub => ta[i],
                    Binary::Mul => ta[i] * self.b[i],
                    Binary::Div => ta[i] / self.b[i],
                };
            }
        }
        if let Some(tb) = inputs.arg(1) {
            for (i, o) in out.iter_mut().enumerate() {
                *o += match self.op {
                    Binary::Add => tb[i],
                    Binary::Sub => -tb[i],
                    Binary::Mul => tb[i] * self.a[i],
                    Binary::Div => -tb[i] * self.a[i] / (self.b[i] * self.b[i]),
                };
            }
        }
        Ok(())
    }
}

struct MapOp {
    name: &'static str,
    deriv: Vec<f64>,
}

impl BlockOp for MapOp {
    fn name(&self) -> &'static str {
        self.name
    }
    fn pullback(&self, g: &[f64], inputs: &mut InputAdjoints<'_, f64>) -> Result<()> {
        if let Some(mut da) = inputs.arg(0) {
            da.iter_mut()
                .zip(g)
                .zip(&self.deriv)
                .for_each(|((d, g), f)| *d += g * f);
        }
        Ok(())
    }
    fn pushforward(&self, inputs: &InputTangents<'_, f64>, out: &mut [f64]) -> Result<()> {
        match inputs.arg(0) {
            Some(t) => out
                .iter_mut()
                .zip(t.iter())
                .zip(&self.deriv)
                .for_each(|((o, t), f)| *o = t * f),
            None => out.iter_mut().for_each(|o| *o = 0.0),
        }
        Ok(())
    }
}

struct Map2Op {
    da: Vec<f64>,
    db: Vec<f64>,
}

impl BlockOp for Map2Op {
    fn name(&self) -> &'static str {
        "map2"
    }
    fn pullback(&self, g: &[f64], inputs: &mut InputAdjoints<'_, f64>) -> Result<()> {
        if let Some(mut d) = inputs.arg(0) {
            d.iter_mut()
                .zip(g)
                .zip(&self.da)
                .for_each(|((d, g), f)| *d += g * f);
        }
        if let Some(mut d) = inputs.arg(1) {
            d.iter_mut()
                .zip(g)
                .zip(&self.db)
                .for_each(|((d, g), f)| *d += g * f);
        }
        Ok(())
    }
    fn pushforward(&self, inputs: &InputTangents<'_, f64>, out: &mut [f64]) -> Result<()> {
        out.iter_mut().for_each(|o| *o = 0.0);
        if let Some(t) = inputs.arg(0) {
            out.iter_mut()
                .zip(t.iter())
                .zip(&self.da)
                .for_each(|((o, t), f)| *o += t * f);
        }
        if let Some(t) = inputs.arg(1) {
            out.iter_mut()
                .zip(t.iter())
                .zip(&self.db)
                .for_each(|((o, t), f)| *o += t * f);
        }
        Ok(())
    }
}

struct ScaleOp {
    x: Vec<f64>,
    s: f64,
}

impl BlockOp for ScaleOp {
    fn name(&self) -> &'static str {
        "scale"
    }
    fn pullback(&self, g: &[f64], inputs: &mut InputAdjoints<'_, f64>) -> Result<()> {
        if let Some(mut dx) = inputs.arg(0) {
            dx.iter_mut().zip(g).for_each(|(d, g)| *d += g * self.s);
        }
        if let Some(mut ds) = inputs.arg(1) {
            ds[0] += g.iter().zip(&self.x).map(|(g, x)| g * x).sum::<f64>();
        }
        Ok(())
    }
    fn pushforward(&self, inputs: &InputTangents<'_, f64>, out: &mut [f64]) -> Result<()> {
        let tx = inputs.arg(0);
        let ts = inputs.arg(1).map_or(0.0, |t| t[0]);
        for (i, o) in out.iter_mut().enumerate() {
            *o = tx.as_ref().map_or(0.0, |t| t[i] * self.s) + ts * self.x[i];
        }
        Ok(())
    }
}

impl Tape {
    /// Element-wise `a ∘ b` for `op` in {+, −, ×, ÷}, as one block.
    pub fn elementwise<'t>(
        &'t self,
        op: Binary,
        a: &VarVec<'t>,
        b: &VarVec<'t>,
    ) -> Result<VarVec<'t>> {
        check_len(op.name(), "b", b.len(), a.len())?;
        same_tape(op.name(), self, &[a.tape(), b.tape()])?;
        let vals: Vec<f64> = a
            .values()
            .iter()
            .zip(b.values())
            .map(|(&x, &y)| op.apply(x, y))
            .collect();
        let saved = matches!(op, Binary::Mul | Binary::Div);
        let rec = ElementwiseOp {
            op,
            a: if saved {
                a.values().to_vec()
            } else {
                Vec::new()
            },
            b: if saved {
                b.values().to_vec()
            } else {
                Vec::new()
            },
        };
        let start = self.push_block(rec, &[a.arg(), b.arg()], vals.len())?;
        Ok(VarVec::from_block(self, start, vals))
    }

    /// `a + b`.
    pub fn add<'t>(&'t self, a: &VarVec<'t>, b: &VarVec<'t>) -> Result<VarVec<'t>> {
        self.elementwise(Binary::Add, a, b)
    }
    /// `a − b`.
    pub fn sub<'t>(&'t self, a: &VarVec<'t>, b: &VarVec<'t>) -> Result<VarVec<'t>> {
        self.elementwise(Binary::Sub, a, b)
    }
    /// Element-wise product `a ∘ b`.
    pub fn mul<'t>(&'t self, a: &VarVec<'t>, b: &VarVec<'t>) -> Result<VarVec<'t>> {
        self.elementwise(Binary::Mul, a, b)
    }
    /// Element-wise quotient `a ⊘ b`.
    pub fn div<'t>(&'t self, a: &VarVec<'t>, b: &VarVec<'t>) -> Result<VarVec<'t>> {
        self.elementwise(Binary::Div, a, b)
    }

    /// Element-wise operation between matrices of equal shape.
    pub fn elementwise_mat<'t>(
        &'t self,
        op: Binary,
        a: &VarMat<'t>,
        b: &VarMat<'t>,
    ) -> Result<VarMat<'t>> {
        check_shape(op.name(), "b", b.shape(), a.shape())?;
        let (r, c) = a.shape();
        self.elementwise(op, &a.clone().flatten(), &b.clone().flatten())?
            .reshape(r, c)
    }

    /// `s x` for a scalar variable `s` and a vector `x`.
    pub fn scale<'t>(&'t self, x: &VarVec<'t>, s: Var<'t>) -> Result<VarVec<'t>> {
        same_tape("scale", self, &[x.tape(), s.tape()])?;
        let sv = s.val();
        let vals: Vec<f64> = x.values().iter().map(|v| v * sv).collect();
        let s_arg = match s.slot_if_var() {
            Some(slot) => crate::ad::BlockArg::Range {
                start: slot,
                len: 1,
            },
            None => crate::ad::BlockArg::Constant { len: 1 },
        };
        let start = self.push_block(
            ScaleOp {
                x: x.values().to_vec(),
                s: sv,
            },
            &[x.arg(), s_arg],
            vals.len(),
        )?;
        Ok(VarVec::from_block(self, start, vals))
    }

    /// `s A` for a scalar variable `s` and a matrix `A`.
    pub fn scale_mat<'t>(&'t self, a: &VarMat<'t>, s: Var<'t>) -> Result<VarMat<'t>> {
        let (r, c) = a.shape();
        self.scale(&a.clone().flatten(), s)?.reshape(r, c)
    }

    /// Applies `f` to every entry, as one block. `f` is evaluated on a dual number, which
    /// gives the derivative the pullback needs:
    /// `tape.map(&x, |v| v.exp())`.
    ///
    /// # Errors
    /// [`Error::NonFinite`](crate::Error::NonFinite) naming the entry if `f` returns a NaN
    /// or an infinity.
    pub fn map<'t>(&'t self, x: &VarVec<'t>, f: impl Fn(Dual) -> Dual) -> Result<VarVec<'t>> {
        let n = x.len();
        // Pre-sized outputs (no `push`), so the loop over `f` vectorises.
        let (mut vals, mut deriv) = (vec![0.0; n], vec![0.0; n]);
        for ((v, d), &xi) in vals.iter_mut().zip(&mut deriv).zip(x.values()) {
            let y = f(Dual::dual(xi, 1.0));
            *v = y.v;
            *d = y.d[0];
        }
        check_finite("map", "f(x)", &vals)?;
        let start = self.push_block(MapOp { name: "map", deriv }, &[x.arg()], vals.len())?;
        Ok(VarVec::from_block(self, start, vals))
    }

    /// Applies a two-argument `f` element-wise, `outᵢ = f(aᵢ, bᵢ)`, as one block. `f` is
    /// evaluated on two-tangent dual numbers, which give both partial derivatives; write it
    /// generic over [`Real`](crate::ad::Real) to share it with `f64` code:
    ///
    /// ```
    /// use mechml_engine::ad::{Real, Tape};
    /// #[inline]
    /// fn term<R: Real>(x: R, y: R) -> R { (y - x.square()).square() * 100.0 + (R::one() - x).square() }
    /// let tape = Tape::new();
    /// let x = tape.var_vec(&[0.5, 0.7, 0.9]);
    /// let t = tape.map2(&x.slice(0..2)?, &x.slice(1..3)?, term)?;
    /// let f = tape.sum(&t)?;
    /// assert_eq!(f.val(), term(0.5, 0.7) + term(0.7, 0.9));
    /// # Ok::<(), mechml_engine::Error>(())
    /// ```
    ///
    /// Mark a named `f` `#[inline]`: called out of line, its dual arguments are passed
    /// through memory and the loop runs about three times slower.
    ///
    /// # Errors
    /// Length mismatch, or [`Error::NonFinite`](crate::Error::NonFinite) naming the entry
    /// if `f` returns a NaN or an infinity.
    pub fn map2<'t>(
        &'t self,
        a: &VarVec<'t>,
        b: &VarVec<'t>,
        f: impl Fn(DualN<2>, DualN<2>) -> DualN<2>,
    ) -> Result<VarVec<'t>> {
        check_len("map2", "b", b.len(), a.len())?;
        same_tape("map2", self, &[a.tape(), b.tape()])?;
        let n = a.len();
        // Pre-sized outputs written through zipped iterators (no `push`), so the loop
        // over `f` vectorises.
        let (mut vals, mut da, mut db) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        for ((((v, pa), pb), &x), &y) in vals
            .iter_mut()
            .zip(&mut da)
            .zip(&mut db)
            .zip(a.values())
            .zip(b.values())
        {
            let r = f(DualN::new(x, [1.0, 0.0]), DualN::new(y, [0.0, 1.0]));
            *v = r.v;
            *pa = r.d[0];
            *pb = r.d[1];
        }
        check_finite("map2", "f(a, b)", &vals)?;
        let start = self.push_block(Map2Op { da, db }, &[a.arg(), b.arg()], n)?;
        Ok(VarVec::from_block(self, start, vals))
    }

    /// [`Tape::map`] on every entry of a matrix.
    pub fn map_mat<'t>(&'t self, a: &VarMat<'t>, f: impl Fn(Dual) -> Dual) -> Result<VarMat<'t>> {
        let (r, c) = a.shape();
        self.map(&a.clone().flatten(), f)?.reshape(r, c)
    }
}
