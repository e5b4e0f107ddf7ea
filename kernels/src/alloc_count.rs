//! A global allocator that counts the allocations of the threads that ask it to, so tests
//! can check claims such as "a cleared tape records without allocating" instead of
//! assuming them.
//!
//! ```
//! use mechml_kernels::alloc_count::{count_allocations, CountingAllocator};
//!
//! // In a test binary: `#[global_allocator] static A: CountingAllocator = CountingAllocator;`
//! // Without that line nothing is counted, and the count is zero.
//! let (n, v) = count_allocations(|| vec![1.0_f64; 4]);
//! assert_eq!(v.len(), 4);
//! assert_eq!(n, 0);
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Forwards to the system allocator and counts `alloc`, `alloc_zeroed` and `realloc` calls
/// made by a thread inside [`count_allocations`]. Install with `#[global_allocator]`.
pub struct CountingAllocator;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

fn bump() {
    // `try_with`: no panic during thread teardown, when the thread-locals may be gone.
    let _ = COUNTING.try_with(|on| {
        if on.get() {
            let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        }
    });
}

// SAFETY: every method forwards its arguments unchanged to the system allocator, so the
// `GlobalAlloc` contract is the system allocator's. The bookkeeping touches only
// const-initialised thread-locals of `Cell` type, which neither allocate nor have
// destructors, so it cannot recurse into the allocator.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        bump();
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which we pass on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` through this allocator, with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        bump();
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        bump();
        // SAFETY: `ptr` came from `System` with `layout`; the caller upholds the rest.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Runs `f` and returns how many allocations this thread made during it (zero unless
/// [`CountingAllocator`] is the global allocator), with `f`'s result.
pub fn count_allocations<T>(f: impl FnOnce() -> T) -> (usize, T) {
    COUNT.with(|c| c.set(0));
    COUNTING.with(|on| on.set(true));
    let out = f();
    COUNTING.with(|on| on.set(false));
    (COUNT.with(|c| c.get()), out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[global_allocator]
    static GLOBAL: CountingAllocator = CountingAllocator;

    #[test]
    #[allow(clippy::useless_vec)] // the heap allocations are what is counted
    fn counts_this_threads_allocations_only_inside() {
        let (n, v) = count_allocations(|| {
            let a = vec![0u8; 16];
            let b = vec![0u8; 32];
            a.len() + b.len()
        });
        assert_eq!(v, 48);
        assert_eq!(n, 2);
        let (n, _) = count_allocations(|| 3 + 4);
        assert_eq!(n, 0);
    }
}
