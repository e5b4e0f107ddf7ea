//! # mechml-kernels
//!
//! Compute kernels with a CPU reference implementation for each. Vectorised versions are
//! selected at run time and are tested against their reference bit for bit; CUDA versions
//! (cudarc, run-time compiled with NVRTC) will live beside them behind a `cuda` feature.
//!
//! * [`normal`]: xoshiro256++ ziggurat normal streams, many generators side by side.
//! * [`alloc_count`]: a counting global allocator, for tests of allocation-free claims.
#![warn(missing_docs)]

pub mod alloc_count;
pub mod normal;
