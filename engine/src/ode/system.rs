//! What the solvers integrate: a system `y' = F(t, y)` over a scalar type `T`, with the
//! Jacobian for implicit methods; the adapter from an [`OdeRhs`] with bound parameters; and
//! the derivative kernels of a right-hand side (Jacobians by dual numbers,
//! vector–Jacobian products on a reusable local tape).
//!
//! The solvers are written against [`OdeSystem`] rather than [`OdeRhs`] so that derived
//! systems (the backward adjoint equations, the augmented backsolve system) reuse them.

use faer::{Mat, MatMut};

use super::problem::OdeRhs;
use crate::ad::{Adjoints, DualN, Real, Tape};

/// A first-order system `y' = F(t, y)` over the scalar type `T` (`f64`, or dual numbers
/// for forward sensitivities).
pub trait OdeSystem<T = f64> {
    /// Number of states.
    fn n_states(&self) -> usize;
    /// Writes `F(t, y)` into `dy`.
    fn eval(&mut self, t: f64, y: &[T], dy: &mut [T]);
}

/// A system with a Jacobian, as implicit (stiff) methods need.
pub trait OdeSystemJacobian: OdeSystem<f64> {
    /// Writes `∂F/∂y` at `(t, y)` into `jac` (n × n).
    fn jacobian(&mut self, t: f64, y: &[f64], jac: MatMut<'_, f64>);

    /// Writes `∂F/∂t` at `(t, y)` into `ft`. The default uses a forward difference.
    fn time_derivative(&mut self, t: f64, y: &[f64], ft: &mut [f64]) {
        let n = y.len();
        let mut f0 = vec![0.0; n];
        self.eval(t, y, &mut f0);
        let dt = f64::EPSILON.sqrt() * t.abs().max(1.0);
        self.eval(t + dt, y, ft);
        for (a, b) in ft.iter_mut().zip(&f0) {
            *a = (*a - b) / dt;
        }
    }
}

/// An [`OdeRhs`] with its parameters bound: the system the solvers integrate.
pub struct RhsSystem<'a, F, T = f64> {
    rhs: &'a F,
    p: &'a [T],
    /// Work buffers of the time derivative (`y`, `p`, `f` as single-tangent duals).
    tdual: (Vec<DualN<1>>, Vec<DualN<1>>, Vec<DualN<1>>),
}

impl<'a, F: OdeRhs, T: Real> RhsSystem<'a, F, T> {
    /// Binds the parameters `p` (length `rhs.n_params()`).
    pub fn new(rhs: &'a F, p: &'a [T]) -> Self {
        Self {
            rhs,
            p,
            tdual: (Vec::new(), Vec::new(), Vec::new()),
        }
    }
}

impl<F: OdeRhs, T: Real> OdeSystem<T> for RhsSystem<'_, F, T> {
    #[inline]
    fn n_states(&self) -> usize {
        self.rhs.n_states()
    }
    #[inline]
    fn eval(&mut self, t: f64, y: &[T], dy: &mut [T]) {
        self.rhs.rhs(T::from_f64(t), y, self.p, dy);
    }
}

impl<F: OdeRhs> OdeSystemJacobian for RhsSystem<'_, F, f64> {
    fn jacobian(&mut self, t: f64, y: &[f64], jac: MatMut<'_, f64>) {
        self.rhs.jacobian(t, y, self.p, jac);
    }
    fn time_derivative(&mut self, t: f64, y: &[f64], ft: &mut [f64]) {
        let (yd, pd, dy) = &mut self.tdual;
        yd.clear();
        yd.extend(y.iter().map(|&v| DualN::constant(v)));
        pd.clear();
        pd.extend(self.p.iter().map(|&v| DualN::constant(v)));
        dy.resize(y.len(), DualN::default());
        self.rhs.rhs(DualN::seed(t, 0), yd, pd, dy);
        for (o, d) in ft.iter_mut().zip(dy.iter()) {
            *o = d.d[0];
        }
    }
}

/// Directions per forward pass in the dual-number Jacobians.
const CHUNK: usize = 8;

/// `∂f/∂y` by dual numbers, 8 columns per pass (the default of
/// [`OdeRhs::jacobian`]).
pub fn jacobian_by_duals<F: OdeRhs>(
    rhs: &F,
    t: f64,
    y: &[f64],
    p: &[f64],
    mut jac: MatMut<'_, f64>,
) {
    let n = y.len();
    let td = DualN::<CHUNK>::constant(t);
    let pd: Vec<DualN<CHUNK>> = p.iter().map(|&v| DualN::constant(v)).collect();
    let mut yd: Vec<DualN<CHUNK>> = y.iter().map(|&v| DualN::constant(v)).collect();
    let mut dy = vec![DualN::<CHUNK>::default(); n];
    let mut start = 0;
    while start < n {
        let end = (start + CHUNK).min(n);
        for (i, v) in yd.iter_mut().enumerate() {
            *v = if i >= start && i < end {
                DualN::seed(y[i], i - start)
            } else {
                DualN::constant(y[i])
            };
        }
        rhs.rhs(td, &yd, &pd, &mut dy);
        for (r, d) in dy.iter().enumerate() {
            for c in start..end {
                jac[(r, c)] = d.d[c - start];
            }
        }
        start = end;
    }
}

/// `[∂f/∂y | ∂f/∂p]` (n × (n + n_p)) by dual numbers, in one pass with just enough
/// tangents for up to 8 columns, in passes of 8 otherwise.
pub fn jacobian_yp_by_duals<F: OdeRhs>(rhs: &F, t: f64, y: &[f64], p: &[f64], jac: &mut Mat<f64>) {
    let (n, np) = (y.len(), p.len());
    let m = n + np;
    if jac.nrows() != n || jac.ncols() != m {
        *jac = Mat::zeros(n, m);
    }
    match m {
        0..=2 => jacobian_yp_chunks::<F, 2>(rhs, t, y, p, jac),
        3..=4 => jacobian_yp_chunks::<F, 4>(rhs, t, y, p, jac),
        5..=6 => jacobian_yp_chunks::<F, 6>(rhs, t, y, p, jac),
        _ => jacobian_yp_chunks::<F, CHUNK>(rhs, t, y, p, jac),
    }
}

fn jacobian_yp_chunks<F: OdeRhs, const C: usize>(
    rhs: &F,
    t: f64,
    y: &[f64],
    p: &[f64],
    jac: &mut Mat<f64>,
) {
    let (n, np) = (y.len(), p.len());
    let m = n + np;
    let td = DualN::<C>::constant(t);
    let mut yd = vec![DualN::<C>::default(); n];
    let mut pd = vec![DualN::<C>::default(); np];
    let mut dy = vec![DualN::<C>::default(); n];
    let mut start = 0;
    while start < m {
        let end = (start + C).min(m);
        let seed = |k: usize, v: f64| {
            if k >= start && k < end {
                DualN::seed(v, k - start)
            } else {
                DualN::constant(v)
            }
        };
        for i in 0..n {
            yd[i] = seed(i, y[i]);
        }
        for i in 0..np {
            pd[i] = seed(n + i, p[i]);
        }
        rhs.rhs(td, &yd, &pd, &mut dy);
        for (r, d) in dy.iter().enumerate() {
            for c in start..end {
                jac[(r, c)] = d.d[c - start];
            }
        }
        start = end;
    }
}

/// `∂f/∂t` by a dual number in `t`.
pub fn time_derivative_by_dual<F: OdeRhs>(rhs: &F, t: f64, y: &[f64], p: &[f64], ft: &mut [f64]) {
    let yd: Vec<DualN<1>> = y.iter().map(|&v| DualN::constant(v)).collect();
    let pd: Vec<DualN<1>> = p.iter().map(|&v| DualN::constant(v)).collect();
    let mut dy = vec![DualN::<1>::default(); y.len()];
    rhs.rhs(DualN::seed(t, 0), &yd, &pd, &mut dy);
    for (o, d) in ft.iter_mut().zip(&dy) {
        *o = d.d[0];
    }
}

/// Dual-number work buffers with `C` tangents.
struct DualBufs<const C: usize> {
    yd: Vec<DualN<C>>,
    pd: Vec<DualN<C>>,
    dy: Vec<DualN<C>>,
}

impl<const C: usize> DualBufs<C> {
    fn new(n: usize, np: usize) -> Self {
        Self {
            yd: vec![DualN::default(); n],
            pd: vec![DualN::default(); np],
            dy: vec![DualN::default(); n],
        }
    }

    /// One forward pass with all `n + n_p ≤ C` directions seeded; `gᶜ += Σᵣ wᵣ ∂fᵣ/∂xᶜ`.
    // The adjoints' innermost call (once per stage per step): plain arguments, like the
    // public `RhsVjp::vjp` that dispatches here.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn vjp<F: OdeRhs>(
        &mut self,
        rhs: &F,
        t: f64,
        y: &[f64],
        p: &[f64],
        w: &[f64],
        gy: &mut [f64],
        gp: &mut [f64],
    ) {
        let n = y.len();
        for (i, (d, &v)) in self.yd.iter_mut().zip(y).enumerate() {
            *d = DualN::seed(v, i);
        }
        for (i, (d, &v)) in self.pd.iter_mut().zip(p).enumerate() {
            *d = DualN::seed(v, n + i);
        }
        rhs.rhs(DualN::constant(t), &self.yd, &self.pd, &mut self.dy);
        let mut acc = [0.0; C];
        for (d, &wr) in self.dy.iter().zip(w) {
            for (a, &dv) in acc.iter_mut().zip(&d.d) {
                *a += wr * dv;
            }
        }
        for (g, a) in gy.iter_mut().zip(&acc) {
            *g += a;
        }
        for (g, a) in gp.iter_mut().zip(&acc[n..]) {
            *g += a;
        }
    }
}

/// The dual-number path of [`RhsVjp`], sized to the number of directions.
enum DualWork {
    D2(DualBufs<2>),
    D4(DualBufs<4>),
    D6(DualBufs<6>),
    D8(DualBufs<8>),
}

/// Where a vector–Jacobian product of a right-hand side is taken, and the cotangent `w`
/// (length `n`) it contracts ([`OdeRhs::vjp`]).
#[derive(Clone, Copy, Debug)]
pub struct VjpAt<'a> {
    /// Time.
    pub t: f64,
    /// State (length `n`).
    pub y: &'a [f64],
    /// Parameters (length `n_p`).
    pub p: &'a [f64],
    /// Cotangent of `f` (length `n`).
    pub w: &'a [f64],
}

/// Where a vector–Jacobian product goes: `gy += wᵀ ∂f/∂y`, `gp += wᵀ ∂f/∂p` (an empty
/// `gp` asks for the state part only).
#[derive(Debug)]
pub struct VjpOut<'a> {
    /// Adjoint of the state (length `n`), added into.
    pub gy: &'a mut [f64],
    /// Adjoint of the parameters (length `n_p`, or empty), added into.
    pub gp: &'a mut [f64],
}

/// Scratch space of a hand-written [`OdeRhs::vjp`], owned by the caller ([`RhsVjp`]) and
/// kept between calls.
#[derive(Clone, Debug, Default)]
pub struct VjpWork {
    /// Free `f64` scratch for the implementation (resize it as needed; it keeps its
    /// capacity).
    pub buf: Vec<f64>,
    duals: Vec<DualN<CHUNK>>,
}

impl VjpWork {
    /// The generic product for an inner right-hand side `g` (e.g. the known physics of a
    /// hybrid model) with its parameters `at.p` held constant: `gy += wᵀ ∂g/∂y` at
    /// `(at.t, at.y)`, by dual numbers, eight directions per pass; nothing is allocated
    /// once the buffers have grown.
    pub fn state_vjp_by_duals<G: OdeRhs>(&mut self, g: &G, at: &VjpAt<'_>, gy: &mut [f64]) {
        let (n, np) = (at.y.len(), at.p.len());
        self.duals.clear();
        self.duals.resize(2 * n + np, DualN::default());
        let (yd, rest) = self.duals.split_at_mut(n);
        let (pd, dy) = rest.split_at_mut(np);
        for (d, &v) in pd.iter_mut().zip(at.p) {
            *d = DualN::constant(v);
        }
        let td = DualN::constant(at.t);
        let mut start = 0;
        while start < n {
            let end = (start + CHUNK).min(n);
            for (i, (d, &v)) in yd.iter_mut().zip(at.y).enumerate() {
                *d = if (start..end).contains(&i) {
                    DualN::seed(v, i - start)
                } else {
                    DualN::constant(v)
                };
            }
            g.rhs(td, yd, pd, dy);
            for (c, gc) in gy[start..end].iter_mut().enumerate() {
                *gc += dy.iter().zip(at.w).map(|(d, &wr)| wr * d.d[c]).sum::<f64>();
            }
            start = end;
        }
    }
}

/// `F` with its hand-written [`OdeRhs::vjp`] hidden, so that the adjoints differentiate
/// [`OdeRhs::rhs`] by dual numbers or the tape: the reference to check an override
/// against, and to time it by. The Jacobian is `F`'s own.
#[derive(Clone, Debug)]
pub struct GenericVjp<F>(pub F);

impl<F: OdeRhs> OdeRhs for GenericVjp<F> {
    fn n_states(&self) -> usize {
        self.0.n_states()
    }
    fn n_params(&self) -> usize {
        self.0.n_params()
    }
    fn rhs<R: Real>(&self, t: R, y: &[R], p: &[R], dy: &mut [R]) {
        self.0.rhs(t, y, p, dy);
    }
    fn jacobian(&self, t: f64, y: &[f64], p: &[f64], jac: MatMut<'_, f64>) {
        self.0.jacobian(t, y, p, jac);
    }
}

/// Vector–Jacobian products `wᵀ ∂f/∂y`, `wᵀ ∂f/∂p` of a right-hand side.
///
/// A hand-written product ([`OdeRhs::vjp`]) is taken when the right-hand side has one.
/// Otherwise small systems (`n + n_p ≤ 8`) take one dual-number pass with every direction seeded
/// and contract the tangents with `w` (no Jacobian is stored, nothing is allocated);
/// larger ones record `f` once on a local tape that is reused between calls and sweep it
/// backwards.
pub struct RhsVjp {
    tape: Tape,
    adj: Adjoints,
    seeds: Vec<(u32, f64)>,
    dual: Option<DualWork>,
    work: VjpWork,
}

impl RhsVjp {
    /// A workspace for a right-hand side with `n` states and `n_p` parameters.
    pub fn new(n: usize, n_p: usize) -> Self {
        let dual = match n + n_p {
            0..=2 => Some(DualWork::D2(DualBufs::new(n, n_p))),
            3..=4 => Some(DualWork::D4(DualBufs::new(n, n_p))),
            5..=6 => Some(DualWork::D6(DualBufs::new(n, n_p))),
            7..=8 => Some(DualWork::D8(DualBufs::new(n, n_p))),
            _ => None,
        };
        Self {
            tape: Tape::with_capacity(256),
            adj: Adjoints::default(),
            seeds: Vec::with_capacity(n),
            dual,
            work: VjpWork::default(),
        }
    }

    /// Adds `wᵀ ∂f/∂y` into `gy` and `wᵀ ∂f/∂p` into `gp` (skipped when `gp` is empty),
    /// at `(t, y, p)`.
    #[allow(clippy::too_many_arguments)]
    pub fn vjp<F: OdeRhs>(
        &mut self,
        rhs: &F,
        t: f64,
        y: &[f64],
        p: &[f64],
        w: &[f64],
        gy: &mut [f64],
        gp: &mut [f64],
    ) {
        let at = VjpAt { t, y, p, w };
        let mut out = VjpOut {
            gy: &mut *gy,
            gp: &mut *gp,
        };
        if rhs.vjp(&at, &mut out, &mut self.work) {
            return;
        }
        let n = y.len();
        match &mut self.dual {
            Some(DualWork::D2(b)) => return b.vjp(rhs, t, y, p, w, gy, gp),
            Some(DualWork::D4(b)) => return b.vjp(rhs, t, y, p, w, gy, gp),
            Some(DualWork::D6(b)) => return b.vjp(rhs, t, y, p, w, gy, gp),
            Some(DualWork::D8(b)) => return b.vjp(rhs, t, y, p, w, gy, gp),
            None => {}
        }
        self.tape.clear();
        let tape = &self.tape;
        let yv = tape.vars(y);
        let pv = if gp.is_empty() {
            p.iter().map(|&v| crate::ad::Var::constant(v)).collect()
        } else {
            tape.vars(p)
        };
        let mut dy = vec![crate::ad::Var::constant(0.0); n];
        rhs.rhs(crate::ad::Var::constant(t), &yv, &pv, &mut dy);
        self.seeds.clear();
        for (d, &wi) in dy.iter().zip(w) {
            if let Some(s) = d.slot_if_var() {
                self.seeds.push((s, wi));
            }
        }
        // The tape holds only well-formed entries recorded just above; a failure here
        // would be a bug in the tape, reported as zero adjoints rather than a panic.
        if tape.reverse_into(&self.seeds, &mut self.adj).is_ok() {
            for (g, v) in gy.iter_mut().zip(&yv) {
                *g += self.adj.wrt(v);
            }
            if !gp.is_empty() {
                for (g, v) in gp.iter_mut().zip(&pv) {
                    *g += self.adj.wrt(v);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Quad;
    impl OdeRhs for Quad {
        fn n_states(&self) -> usize {
            2
        }
        fn n_params(&self) -> usize {
            1
        }
        fn rhs<R: Real>(&self, t: R, y: &[R], p: &[R], dy: &mut [R]) {
            dy[0] = y[0] * y[1] * p[0] + t * t;
            dy[1] = y[0].sin() - y[1] * t;
        }
    }

    #[test]
    fn jacobians_and_vjp_match_closed_form() {
        let (t, y, p) = (0.7, [1.3, -0.4], [2.0]);
        let mut j = Mat::zeros(2, 2);
        jacobian_by_duals(&Quad, t, &y, &p, j.as_mut());
        let expect = [[y[1] * p[0], y[0] * p[0]], [y[0].cos(), -t]];
        for r in 0..2 {
            for c in 0..2 {
                assert!((j[(r, c)] - expect[r][c]).abs() < 1e-14);
            }
        }
        let mut ft = [0.0; 2];
        time_derivative_by_dual(&Quad, t, &y, &p, &mut ft);
        assert!((ft[0] - 2.0 * t).abs() < 1e-14 && (ft[1] + y[1]).abs() < 1e-14);
        let w = [0.3, -1.1];
        let gy_e = [
            w[0] * expect[0][0] + w[1] * expect[1][0],
            w[0] * expect[0][1] + w[1] * expect[1][1],
        ];
        let gp_e = w[0] * y[0] * y[1];
        for dual in [true, false] {
            let mut v = RhsVjp::new(2, 1);
            if !dual {
                v.dual = None;
            }
            let (mut gy, mut gp) = ([0.0; 2], [0.0; 1]);
            v.vjp(&Quad, t, &y, &p, &w, &mut gy, &mut gp);
            assert!((gy[0] - gy_e[0]).abs() < 1e-14 && (gy[1] - gy_e[1]).abs() < 1e-14);
            assert!((gp[0] - gp_e).abs() < 1e-14);
        }
    }

    /// `Quad` with its product by hand (the reference implementation of
    /// [`OdeRhs::vjp`]): the state part by [`VjpWork::state_vjp_by_duals`], the parameter
    /// part by hand.
    /// Counts its calls.
    struct QuadByHand(std::cell::Cell<usize>);
    impl OdeRhs for QuadByHand {
        fn n_states(&self) -> usize {
            2
        }
        fn n_params(&self) -> usize {
            1
        }
        fn rhs<R: Real>(&self, t: R, y: &[R], p: &[R], dy: &mut [R]) {
            Quad.rhs(t, y, p, dy);
        }
        fn vjp(&self, at: &VjpAt<'_>, out: &mut VjpOut<'_>, work: &mut VjpWork) -> bool {
            self.0.set(self.0.get() + 1);
            work.state_vjp_by_duals(&Quad, at, out.gy);
            if !out.gp.is_empty() {
                out.gp[0] += at.w[0] * at.y[0] * at.y[1];
            }
            true
        }
    }

    #[test]
    fn hand_written_vjp_is_asked_first_and_matches() {
        let (t, y, p, w) = (0.7, [1.3, -0.4], [2.0], [0.3, -1.1]);
        let mut generic = RhsVjp::new(2, 1);
        generic.dual = None;
        let (mut gy0, mut gp0) = ([0.5; 2], [0.25; 1]);
        generic.vjp(&Quad, t, &y, &p, &w, &mut gy0, &mut gp0);
        let mut by_hand = RhsVjp::new(2, 1);
        let quad = QuadByHand(std::cell::Cell::new(0));
        let (mut gy1, mut gp1) = ([0.5; 2], [0.25; 1]);
        by_hand.vjp(&quad, t, &y, &p, &w, &mut gy1, &mut gp1);
        assert_eq!(quad.0.get(), 1);
        for (a, b) in gy0.iter().chain(&gp0).zip(gy1.iter().chain(&gp1)) {
            assert!((a - b).abs() < 1e-14, "{a} vs {b}");
        }
        // State part only.
        let mut gy2 = [0.0; 2];
        by_hand.vjp(&quad, t, &y, &p, &w, &mut gy2, &mut []);
        assert_eq!(quad.0.get(), 2);
        assert!((gy2[0] + 0.5 - gy1[0]).abs() < 1e-14);
    }
}
