//! # mechml-kernels
//!
//! Compute kernels with a CPU reference implementation for each. CUDA versions (cudarc,
//! run-time compiled with NVRTC) will live beside them behind a `cuda` feature.
#![warn(missing_docs)]
