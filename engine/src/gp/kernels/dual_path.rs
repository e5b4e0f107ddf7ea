//! The default kernel-matrix builders and pullbacks: `Kernel::eval` per entry, with
//! forward-mode dual numbers ([`DualN<8>`], chunks of eight directions) for the derivatives
//! of each entry in the hyperparameters and both inputs.

use faer::{MatMut, MatRef};

use super::{Kernel, KernelAdjoints};
use crate::ad::DualN;
use crate::gp::Inputs;

const C: usize = 8;

/// Which derivatives of one kernel entry are wanted.
struct Directions {
    p: usize,
    d: usize,
    want_x: bool,
    want_y: bool,
    /// `y` is the same point as `x` (diagonal entries): their tangents are shared.
    same: bool,
}

impl Directions {
    fn total(&self) -> usize {
        self.p
            + if self.want_x { self.d } else { 0 }
            + if self.want_y && !self.same { self.d } else { 0 }
    }
}

/// Scratch buffers reused across entries.
#[derive(Default)]
struct Scratch {
    th: Vec<DualN<C>>,
    xs: Vec<DualN<C>>,
    ys: Vec<DualN<C>>,
}

/// One kernel entry `k(x, y)` and its weight `w`.
struct Entry<'a> {
    x: &'a [f64],
    y: &'a [f64],
    w: f64,
}

/// Adds `w ∂k(x, y)` into the adjoints of `θ`, `x` and `y` (the latter two of one point).
fn entry_grad<K: Kernel>(
    k: &K,
    theta: &[f64],
    e: Entry<'_>,
    dirs: &Directions,
    s: &mut Scratch,
    adj: KernelAdjoints<'_>,
) {
    let Entry { x, y, w } = e;
    let KernelAdjoints {
        theta: dtheta,
        x: mut dx,
        y: mut dy,
    } = adj;
    let total = dirs.total();
    let (p, d) = (dirs.p, dirs.d);
    let x_off = p;
    let y_off = if dirs.want_x { p + d } else { p };
    let mut start = 0;
    while start < total {
        let in_chunk = |dir: usize| (dir >= start && dir < start + C).then(|| dir - start);
        s.th.clear();
        s.th.extend(theta.iter().enumerate().map(|(i, &v)| match in_chunk(i) {
            Some(c) => DualN::seed(v, c),
            None => DualN::constant(v),
        }));
        s.xs.clear();
        s.xs.extend(x.iter().enumerate().map(|(i, &v)| {
            match dirs.want_x.then(|| in_chunk(x_off + i)).flatten() {
                Some(c) => DualN::seed(v, c),
                None => DualN::constant(v),
            }
        }));
        s.ys.clear();
        if dirs.same {
            s.ys.extend_from_slice(&s.xs);
        } else {
            s.ys.extend(y.iter().enumerate().map(|(i, &v)| {
                match dirs.want_y.then(|| in_chunk(y_off + i)).flatten() {
                    Some(c) => DualN::seed(v, c),
                    None => DualN::constant(v),
                }
            }));
        }
        let v = k.eval(&s.th, &s.xs, &s.ys);
        for c in 0..C.min(total - start) {
            let dir = start + c;
            let g = w * v.d[c];
            if dir < p {
                dtheta[dir] += g;
            } else if dirs.want_x && dir < p + d {
                if let Some(dx) = dx.as_deref_mut() {
                    dx[dir - x_off] += g;
                }
            } else if let Some(dy) = dy.as_deref_mut() {
                dy[dir - y_off] += g;
            }
        }
        start += C;
    }
}

pub(super) fn matrix_into<K: Kernel>(
    k: &K,
    theta: &[f64],
    x: &Inputs,
    y: Option<&Inputs>,
    mut out: MatMut<'_, f64>,
) {
    let sym = y.is_none();
    let y = y.unwrap_or(x);
    for j in 0..y.n() {
        let start = if sym { j } else { 0 };
        for i in start..x.n() {
            out[(i, j)] = k.eval(theta, x.point(i), y.point(j));
        }
    }
}

pub(super) fn matrix_pullback<K: Kernel>(
    k: &K,
    theta: &[f64],
    x: &Inputs,
    y: Option<&Inputs>,
    kbar: MatRef<'_, f64>,
    adj: KernelAdjoints<'_>,
) {
    let KernelAdjoints {
        theta: dtheta,
        x: mut dx,
        y: mut dy,
    } = adj;
    let sym = y.is_none();
    let yy = y.unwrap_or(x);
    let d = x.d();
    let dirs = Directions {
        p: theta.len(),
        d,
        want_x: dx.is_some(),
        want_y: if sym { dx.is_some() } else { dy.is_some() },
        same: false,
    };
    let mut s = Scratch::default();
    let mut gx = vec![0.0; d];
    let mut gy = vec![0.0; d];
    for j in 0..yy.n() {
        let start = if sym { j } else { 0 };
        for i in start..x.n() {
            let w = kbar[(i, j)];
            if w == 0.0 {
                continue;
            }
            gx.iter_mut().for_each(|v| *v = 0.0);
            gy.iter_mut().for_each(|v| *v = 0.0);
            let e = Entry {
                x: x.point(i),
                y: yy.point(j),
                w,
            };
            let adj = KernelAdjoints::new(&mut *dtheta, Some(&mut gx), Some(&mut gy));
            entry_grad(k, theta, e, &dirs, &mut s, adj);
            if let Some(dx) = dx.as_deref_mut() {
                for c in 0..d {
                    dx[i * d + c] += gx[c];
                }
                if sym {
                    for c in 0..d {
                        dx[j * d + c] += gy[c];
                    }
                }
            }
            if !sym && let Some(dy) = dy.as_deref_mut() {
                for c in 0..d {
                    dy[j * d + c] += gy[c];
                }
            }
        }
    }
}

pub(super) fn diag_into<K: Kernel>(k: &K, theta: &[f64], x: &Inputs, out: &mut [f64]) {
    for (i, o) in out.iter_mut().enumerate().take(x.n()) {
        *o = k.eval(theta, x.point(i), x.point(i));
    }
}

pub(super) fn diag_pullback<K: Kernel>(
    k: &K,
    theta: &[f64],
    x: &Inputs,
    dbar: &[f64],
    adj: KernelAdjoints<'_>,
) {
    let KernelAdjoints {
        theta: dtheta,
        x: mut dx,
        ..
    } = adj;
    let d = x.d();
    let dirs = Directions {
        p: theta.len(),
        d,
        want_x: dx.is_some(),
        want_y: false,
        same: true,
    };
    let mut s = Scratch::default();
    for i in 0..x.n() {
        if dbar[i] == 0.0 {
            continue;
        }
        let dxi = dx.as_deref_mut().map(|v| &mut v[i * d..(i + 1) * d]);
        let e = Entry {
            x: x.point(i),
            y: x.point(i),
            w: dbar[i],
        };
        entry_grad(
            k,
            theta,
            e,
            &dirs,
            &mut s,
            KernelAdjoints::new(&mut *dtheta, dxi, None),
        );
    }
}
