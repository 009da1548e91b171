//! How the fast kernels split one op over threads: statically, over the threads of the rayon
//! pool they run in (the engine runs a model inside its own pool of `--threads` threads), and
//! only when the op is big enough to pay for waking another thread.

use rayon::prelude::*;

/// Below this much work per thread (multiply-adds, or elements touched), splitting costs more
/// than it saves: waking a parked thread takes microseconds.
const MIN_WORK_PER_THREAD: usize = 1 << 18;

/// The number of threads to split `work` over: 1 for small ops, else the pool's threads.
pub(crate) fn threads_for(work: usize) -> usize {
    let pool = rayon::current_num_threads();
    if pool > 1 && work >= 2 * MIN_WORK_PER_THREAD {
        pool.min(work / MIN_WORK_PER_THREAD)
    } else {
        1
    }
}

/// Runs `f(first_item, inputs, outputs)` over `threads` contiguous ranges of items, where item
/// `i` owns `inputs[i * in_len..][..in_len]` and `outputs[i * out_len..][..out_len]`.
pub(crate) fn for_item_ranges<F>(
    threads: usize,
    inputs: &[f32],
    in_len: usize,
    outputs: &mut [f32],
    out_len: usize,
    f: F,
) where
    F: Fn(usize, &[f32], &mut [f32]) + Sync,
{
    let items = outputs.len().checked_div(out_len).unwrap_or(0);
    if threads <= 1 || items <= 1 {
        f(0, inputs, outputs);
        return;
    }
    let per_thread = items.div_ceil(threads);
    inputs
        .par_chunks(per_thread * in_len)
        .zip(outputs.par_chunks_mut(per_thread * out_len))
        .enumerate()
        .for_each(|(t, (x, y))| f(t * per_thread, x, y));
}
