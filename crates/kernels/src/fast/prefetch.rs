//! Cache hints for outputs that a kernel will write a little later, and for weights it will
//! read a little later.
//!
//! A large activation (MobileNetV2's 96×112×112 is 4.8 MB) is rarely in cache when a kernel
//! stores into it, and each store that misses waits for its line to be read first. Asking for
//! the lines before the arithmetic that produces their values lets those reads overlap with it.

/// Requests the cache lines of `data` in a state ready to be written. A hint: it never faults
/// and changes no value; on other architectures it does nothing.
#[inline]
pub(crate) fn for_write(data: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_ET0, _mm_prefetch};
        const LINE: usize = 64 / size_of::<f32>();
        for i in (0..data.len()).step_by(LINE) {
            // SAFETY: `i < data.len()`, and a prefetch only hints (SSE is baseline on x86-64).
            unsafe { _mm_prefetch::<_MM_HINT_ET0>(data.as_ptr().add(i).cast()) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = data;
}

/// Requests the cache line holding `data[at]` for reading (nothing when `at` is past the end):
/// for a kernel streaming weights that come from DRAM, one stream ahead of the ones it is
/// reading, whose first lines the hardware prefetcher would otherwise wait to miss on.
#[inline(always)]
pub(crate) fn for_read(data: &[f32], at: usize) {
    #[cfg(target_arch = "x86_64")]
    if at < data.len() {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: `at < data.len()`; a prefetch only hints.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(data.as_ptr().add(at).cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (data, at);
}
