//! A pool of reusable dense buffers: repeated likelihood evaluations (as in fitting) reuse
//! their `n × n` work matrices instead of paging in fresh memory every call (for
//! `n = 500` a fresh buffer costs about as much as a Cholesky factorisation).
//!
//! The pool changes no result: a buffer taken from it is fully overwritten where it is
//! read. Cloning a pool gives an empty one.

use std::sync::Mutex;

use faer::Mat;

/// Most buffers kept.
const MAX_KEPT: usize = 3;

/// Reusable matrices, shared behind a mutex (a poisoned lock just means no reuse).
#[derive(Debug, Default)]
pub(crate) struct MatPool {
    free: Mutex<Vec<Mat<f64>>>,
}

impl Clone for MatPool {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl MatPool {
    /// A `rows × cols` matrix with unspecified contents (zeros when newly allocated).
    pub(crate) fn take(&self, rows: usize, cols: usize) -> Mat<f64> {
        if let Ok(mut free) = self.free.lock()
            && let Some(k) = free
                .iter()
                .position(|m| m.nrows() == rows && m.ncols() == cols)
        {
            return free.swap_remove(k);
        }
        Mat::zeros(rows, cols)
    }

    /// Returns a matrix to the pool.
    pub(crate) fn give(&self, m: Mat<f64>) {
        if let Ok(mut free) = self.free.lock() {
            if free.len() >= MAX_KEPT {
                free.remove(0);
            }
            free.push(m);
        }
    }
}

/// Takes from the pool if there is one, else allocates.
pub(crate) fn take(pool: Option<&MatPool>, rows: usize, cols: usize) -> Mat<f64> {
    match pool {
        Some(p) => p.take(rows, cols),
        None => Mat::zeros(rows, cols),
    }
}

/// Gives back to the pool if there is one.
pub(crate) fn give(pool: Option<&MatPool>, m: Mat<f64>) {
    if let Some(p) = pool {
        p.give(m);
    }
}

/// How the dense linear algebra of a model runs: parallelism and (optionally) a pool of
/// work buffers.
#[derive(Clone, Copy)]
pub(crate) struct Linalg<'a> {
    pub par: faer::Par,
    pub pool: Option<&'a MatPool>,
}
