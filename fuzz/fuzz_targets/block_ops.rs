//! Arbitrary shapes and values (NaN, infinities, indefinite matrices) fed to the block
//! operations: each returns `Ok` or `Err`, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mechml_engine::ad::ops::{Side, Uplo};
use mechml_engine::ad::Tape;

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let (r, c) = (1 + data[0] as usize % 5, 1 + data[1] as usize % 5);
    let vals: Vec<f64> = data[3..]
        .chunks(2)
        .map(|b| match b {
            [0xff, 0] => f64::NAN,
            [0xff, 1] => f64::INFINITY,
            [x, y] => (*x as f64 - 128.0) / 16.0 + *y as f64 / 4096.0,
            [x] => *x as f64,
            _ => 0.0,
        })
        .collect();
    let take = |n: usize, off: usize| -> Vec<f64> { (0..n).map(|k| vals.get(off + k).copied().unwrap_or(1.0)).collect() };
    let tape = Tape::new();
    let Ok(a) = tape.var_mat(r, c, &take(r * c, 0)) else { return };
    let Ok(b) = tape.var_mat(c, r, &take(r * c, r * c)) else { return };
    let sq = tape.var_mat(r, r, &take(r * r, 7)).unwrap();
    let v = tape.var_vec(&take(r, 3));
    let _ = tape.matmul(&a, &b).and_then(|m| tape.sum_mat(&m));
    let _ = tape.matmul(&a, &a);
    let _ = tape.cholesky(&sq);
    let _ = tape.cholesky(&a);
    let _ = tape.spd_solve(&sq, &a);
    let _ = tape.inv_quad(&sq, &v);
    let _ = tape.logdet_spd(&sq);
    let _ = tape.mvn_logpdf(&v, &sq);
    let _ = tape.log_abs_det(&sq);
    let _ = tape.solve_triangular(&sq, &a, Uplo::Lower, Side::Left);
    let _ = tape.solve_triangular(&sq, &b, Uplo::Upper, Side::Right);
    let _ = tape.quad_form(&v, &sq);
    let _ = tape.map(&v, |x| mechml_engine::ad::Real::ln(x));
    let _ = tape.dot(&v, &v).map(|d| tape.gradient(&d).map(|g| g.wrt_vec(&v)));
    let s = tape.sum(&v).unwrap();
    let _ = tape.gradient(&s);
});
