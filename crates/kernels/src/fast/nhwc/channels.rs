//! Per-channel broadcasts over the positions of an NHWC tensor: squeeze-and-excitation's
//! `x * scale[N, C, 1, 1]`, and the other binary operators in the same shape.
//!
//! In NHWC a position's channels are contiguous and so are the values broadcast over them,
//! so each position is one elementwise loop of `channels` over two contiguous slices, which
//! vectorises with no index arithmetic (in NCHW each value instead covers a whole plane).
//! Big tensors are split over threads by ranges of positions.

use crate::FloatBuffer;
use crate::fast::buffers;
use crate::fast::dispatch::multiversion;
use crate::fast::parallel::threads_for;
use crate::reference::elementwise::BinaryKind;
use crate::team;

/// `out[n, p, c] = x[n, p, c] ∘ v[n, c]` (`v` has `batch × channels` elements, or `channels`
/// shared by every image).
pub fn broadcast_channels(
    kind: BinaryKind,
    x: &[f32],
    v: &[f32],
    batch: usize,
    positions: usize,
    channels: usize,
) -> FloatBuffer {
    assert_eq!(
        x.len(),
        batch * positions * channels,
        "broadcast over {batch} × {positions} × {channels}"
    );
    let shared = v.len() == channels;
    assert!(
        shared || v.len() == batch * channels,
        "{} values to broadcast over {batch} images of {channels} channels",
        v.len()
    );
    let mut out = buffers::take(x.len());
    if out.is_empty() {
        return out;
    }
    // Output rows `first..` (positions counted over the batch), cut at image boundaries so
    // that each piece has one vector of values.
    let rows_from = |first: usize, out: &mut [f32]| {
        let mut row = first;
        let mut out = out;
        while !out.is_empty() {
            let n = row / positions;
            let rows = (positions - row % positions).min(out.len() / channels);
            let (head, tail) = std::mem::take(&mut out).split_at_mut(rows * channels);
            let values = if shared {
                v
            } else {
                &v[n * channels..][..channels]
            };
            let x = &x[row * channels..][..head.len()];
            rows_dispatched(kind, x, values, head);
            row += rows;
            out = tail;
        }
    };
    let rows = batch * positions;
    let threads = threads_for(out.len()).min(rows);
    if threads <= 1 {
        rows_from(0, &mut out);
    } else {
        let per_thread = rows.div_ceil(threads);
        team::for_each_chunk_mut(&mut out, per_thread * channels, |t, out| {
            rows_from(t * per_thread, out);
        });
    }
    out
}

multiversion!(fn rows_dispatched(kind: BinaryKind, x: &[f32], v: &[f32], out: &mut [f32]) => rows_body);

/// `out[p, c] = x[p, c] ∘ v[c]` for every row `p` of `v.len()` channels.
#[inline(always)]
fn rows_body(kind: BinaryKind, x: &[f32], v: &[f32], out: &mut [f32]) {
    macro_rules! each {
        ($f:expr) => {{
            let rows = out.chunks_exact_mut(v.len()).zip(x.chunks_exact(v.len()));
            for (o, x) in rows {
                for ((o, &a), &b) in o.iter_mut().zip(x).zip(v) {
                    *o = $f(a, b);
                }
            }
        }};
    }
    match kind {
        BinaryKind::Add => each!(|a: f32, b: f32| a + b),
        BinaryKind::Sub => each!(|a: f32, b: f32| a - b),
        BinaryKind::Mul => each!(|a: f32, b: f32| a * b),
        BinaryKind::Div => each!(|a: f32, b: f32| a / b),
    }
}
