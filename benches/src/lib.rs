//! Shared helpers for mechml's criterion benchmarks (workload data loaders).
