//! How the fast kernels split one op over threads: over the threads of the current run's
//! [`crate::team`], and only when the op is big enough to pay for waking another thread.

use crate::team;

/// Below this much work per thread (multiply-adds, or elements touched), splitting costs more
/// than it saves: handing a part to another thread takes microseconds.
const MIN_WORK_PER_THREAD: usize = 1 << 18;

/// The number of threads to split `work` over: 1 for small ops, else the run's threads.
pub(crate) fn threads_for(work: usize) -> usize {
    let team = team::threads();
    if team > 1 && work >= 2 * MIN_WORK_PER_THREAD {
        team.min(work / MIN_WORK_PER_THREAD)
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
    team::for_each_chunk_mut(outputs, per_thread * out_len, |t, y| {
        let first = t * per_thread;
        let x = &inputs[(first * in_len).min(inputs.len())..];
        let x = &x[..x.len().min(per_thread * in_len)];
        f(first, x, y);
    });
}
