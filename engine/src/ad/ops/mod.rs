//! Built-in block operations, one file per primitive: forward computation in `f64` (faer
//! for dense work) and its pullback beside it.
