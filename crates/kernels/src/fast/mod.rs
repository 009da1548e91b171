//! Fast kernels. Each one computes what a reference kernel computes (up to float rounding) and
//! is property-tested against it in `tests/fast_*.rs`.
//!
//! - [`buffers`]: outputs recycled from intermediates the executor is done with.
//! - [`matmul`]: the safe face of the `gemm` crate (strided matrices, bounds checked once), for
//!   Gemm and MatMul.
//! - [`conv`]: convolution entry point; picks [`depthwise`] or the convolution GEMM
//!   (`panel_gemm`, on the input planes or on [`im2col`] columns).
//! - [`epilogue`]: what happens to a conv's output before anyone else reads it: bias, a
//!   residual addend and an activation ([`activation`]).
//! - [`elementwise`]: binary arithmetic on equal shapes or per-channel broadcasts.
//! - [`gather`]: Transpose and Slice as copies of the longest contiguous runs.
//! - [`pool`]: MaxPool and AveragePool with the valid taps of each window computed once.
//! - [`dispatch`]: run-time choice of the instruction set for the loops the compiler
//!   vectorises (the GEMM does its own dispatch).
//! - [`parallel`]: splits of one op over the threads of the current run's team.
//! - `prefetch`: write hints for output lines a kernel is about to compute.

pub mod activation;
pub mod buffers;
mod column_tiles;
pub mod conv;
pub mod depthwise;
mod dispatch;
pub mod elementwise;
pub mod epilogue;
pub mod gather;
mod gemv;
pub mod im2col;
pub mod matmul;
pub mod nhwc;
mod panel_gemm;
mod parallel;
pub mod pool;
mod prefetch;
mod scratch;
mod short_copy;

pub use activation::Activation;

/// Returns every buffer this thread keeps between runs (outputs, the spare input, scratch) to
/// the allocator, and the allocator's free pages to the system: for a thread that loaded and
/// checked a model and will not run it again.
pub fn release_thread_buffers() {
    buffers::clear();
    scratch::clear();
    crate::allocator::return_free_memory();
}

/// Bytes this thread keeps between runs: what [`release_thread_buffers`] would return.
pub fn kept_thread_bytes() -> usize {
    (buffers::kept_capacity() + scratch::kept_capacity()) * size_of::<f32>()
}
pub use epilogue::Epilogue;
