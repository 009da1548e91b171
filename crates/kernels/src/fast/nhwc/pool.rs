//! Pooling in NHWC: MaxPool and AveragePool over two spatial axes, and the global mean.
//!
//! Every tap of a window reads one position's channels, a contiguous run, so a window is
//! reduced [`LANES`] channels at a time in registers: the accumulator starts from the first
//! tap and takes the others in turn, and each output element is stored once. As in the NCHW
//! kernel (`fast::pool`), the taps that read real input are worked out once per output row
//! and column, so the window loops never test for padding.
//!
//! The semantics are the reference's to the bit (see `fast::pool`): the first tap read (in y,
//! x order) starts the maximum and only a strictly greater value replaces it, which is the
//! x86 `max` instruction's own rule; a window with no input gives `-inf` or `0 / divisor`;
//! the divisor counts padding only with `count_include_pad` and never the part of a
//! `ceil_mode` window past the end padding; sums run in `f32`, from `0.0`, in tap order.
//! Output rows are split over threads when the pool is big.

use crate::FloatBuffer;
use crate::fast::buffers;
use crate::fast::dispatch::multiversion;
use crate::fast::parallel::threads_for;
use crate::fast::pool::{Taps, taps};
use crate::reference::broadcast::element_count;
use crate::reference::pool::{PoolGeometry, PoolKind};
use crate::reference::window::{AxisGeometry, ShapeError, shape_bail};
use crate::team;

/// Channels reduced together: two AVX2 registers or one AVX-512 register of `f32`.
const LANES: usize = 16;

/// MaxPool or AveragePool of NHWC `x` described by `g` (as in NCHW); the output is NHWC.
pub fn pool(g: &PoolGeometry, kind: PoolKind, x: &[f32]) -> Result<FloatBuffer, ShapeError> {
    let &[h, w] = &g.axes[..] else {
        shape_bail!(
            "NHWC pooling has 2 spatial axes, got {} in {:?}",
            g.axes.len(),
            g.input_shape()
        );
    };
    let channels = g.channels;
    let in_shape = [g.batch, h.input, w.input, channels];
    if x.len() != element_count(&in_shape)? {
        shape_bail!(
            "NHWC pooling buffer of {} elements does not match shape {in_shape:?}",
            x.len()
        );
    }
    let mut out = buffers::take(element_count(&[g.batch, h.output, w.output, channels])?);
    let (rows, row_len) = (g.batch * h.output, w.output * channels);
    if out.is_empty() {
        return Ok(out);
    }
    let plan = Plan {
        h,
        w,
        rows: taps(&h),
        cols: taps(&w),
        channels,
        kind,
    };
    let threads = threads_for(out.len().saturating_mul(h.kernel * w.kernel)).min(rows);
    if threads <= 1 {
        rows_dispatched(&plan, x, 0, &mut out);
    } else {
        let per_thread = rows.div_ceil(threads);
        team::for_each_chunk_mut(&mut out, per_thread * row_len, |t, out| {
            rows_dispatched(&plan, x, t * per_thread, out);
        });
    }
    Ok(out)
}

struct Plan {
    h: AxisGeometry,
    w: AxisGeometry,
    /// The taps of each output row, then of each output column.
    rows: Vec<Taps>,
    cols: Vec<Taps>,
    channels: usize,
    kind: PoolKind,
}

multiversion!(fn rows_dispatched(plan: &Plan, x: &[f32], first_row: usize, out: &mut [f32]) => rows_body);

/// Output rows `first_row..` (counted over the batch) of the pool, into `out`.
#[inline(always)]
fn rows_body(plan: &Plan, x: &[f32], first_row: usize, out: &mut [f32]) {
    let Plan { h, w, channels, .. } = *plan;
    let image_len = h.input * w.input * channels;
    // Each window's taps as offsets into its image, in the reference's order.
    let mut offsets = Vec::with_capacity(h.kernel * w.kernel);
    let out_rows = out.chunks_exact_mut(w.output * channels);
    for (r, out_row) in (first_row..).zip(out_rows) {
        let image = &x[r / h.output * image_len..][..image_len];
        let y = plan.rows[r % h.output];
        for (x_taps, px) in plan.cols.iter().zip(out_row.chunks_exact_mut(channels)) {
            offsets.clear();
            for ky in 0..y.count {
                let row = (y.first + ky * h.dilation) * w.input;
                for kx in 0..x_taps.count {
                    offsets.push((row + x_taps.first + kx * w.dilation) * channels);
                }
            }
            match plan.kind {
                PoolKind::Max => match offsets.split_first() {
                    Some((&first, rest)) => {
                        by_blocks::<LANES>(&WindowMax { image, first, rest }, px)
                    }
                    None => px.fill(f32::NEG_INFINITY),
                },
                PoolKind::Average { count_include_pad } => {
                    let divisor = if count_include_pad {
                        y.padded * x_taps.padded
                    } else {
                        y.count * x_taps.count
                    };
                    let divisor = divisor as f32;
                    by_blocks::<LANES>(
                        &WindowMean {
                            image,
                            offsets: &offsets,
                            divisor,
                        },
                        px,
                    );
                }
            }
        }
    }
}

/// A reduction (a window's, or the mean over positions) of the `N` channels from channel
/// `c`, computed in registers.
trait Reduce {
    fn lanes<const N: usize>(&self, c: usize) -> [f32; N];
}

/// Writes `px` by blocks of `WIDE` channels, then of 16 and 8, then one at a time, so that
/// all but the last few channels run in whole vectors.
#[inline(always)]
fn by_blocks<const WIDE: usize>(r: &impl Reduce, px: &mut [f32]) {
    let mut c = px.len() / WIDE * WIDE;
    let mut blocks = px.chunks_exact_mut(WIDE);
    for (block, c) in (&mut blocks).zip((0..).step_by(WIDE)) {
        block.copy_from_slice(&r.lanes::<WIDE>(c));
    }
    let mut rest = blocks.into_remainder();
    if WIDE > 16 && rest.len() >= 16 {
        let (block, tail) = rest.split_at_mut(16);
        block.copy_from_slice(&r.lanes::<16>(c));
        (c, rest) = (c + 16, tail);
    }
    if rest.len() >= 8 {
        let (block, tail) = rest.split_at_mut(8);
        block.copy_from_slice(&r.lanes::<8>(c));
        (c, rest) = (c + 8, tail);
    }
    for (v, c) in rest.iter_mut().zip(c..) {
        [*v] = r.lanes::<1>(c);
    }
}

/// The channels of `image` from `at`.
#[inline(always)]
fn load<const N: usize>(image: &[f32], at: usize) -> [f32; N] {
    image[at..][..N].try_into().unwrap()
}

/// The maximum over taps at `first`, then `rest` (offsets into `image`), in that order (see
/// the module doc).
struct WindowMax<'a> {
    image: &'a [f32],
    first: usize,
    rest: &'a [usize],
}

impl Reduce for WindowMax<'_> {
    #[inline(always)]
    fn lanes<const N: usize>(&self, c: usize) -> [f32; N] {
        let mut max = load::<N>(self.image, self.first + c);
        for &o in self.rest {
            for (m, v) in max.iter_mut().zip(load::<N>(self.image, o + c)) {
                *m = if v > *m { v } else { *m };
            }
        }
        max
    }
}

/// The `f32` sum over taps at `offsets`, from `0.0` and in order, divided by `divisor`.
struct WindowMean<'a> {
    image: &'a [f32],
    offsets: &'a [usize],
    divisor: f32,
}

impl Reduce for WindowMean<'_> {
    #[inline(always)]
    fn lanes<const N: usize>(&self, c: usize) -> [f32; N] {
        let mut sum = [0.0; N];
        for &o in self.offsets {
            for (s, v) in sum.iter_mut().zip(load::<N>(self.image, o + c)) {
                *s += v;
            }
        }
        sum.map(|s| s / self.divisor)
    }
}

/// The mean over the positions of NHWC `x` (`[batch, positions, channels]`): `[batch, channels]`.
///
/// Each channel's sum runs in `f64`, over positions in order from `-0.0` (the reference's
/// `Iterator::sum`), so it equals the reference's; the vector lanes hold neighbouring channels.
pub fn global_average(x: &[f32], batch: usize, positions: usize, channels: usize) -> FloatBuffer {
    let image = positions * channels;
    assert_eq!(
        x.len(),
        batch * image,
        "global average of {batch} × {positions} × {channels}"
    );
    let mut out = buffers::take(batch * channels);
    if out.is_empty() {
        return out;
    }
    if positions == 0 {
        // 0 / 0, as the reference's mean of nothing.
        out.fill(f32::NAN);
        return out;
    }
    for (image, means) in x.chunks_exact(image).zip(out.chunks_exact_mut(channels)) {
        means_dispatched(image, positions, means);
    }
    out
}

/// Channels summed together: eight AVX2 registers of `f64`, enough independent sums to hide
/// the latency of an addition.
const SUM_LANES: usize = 32;

multiversion!(fn means_dispatched(image: &[f32], positions: usize, means: &mut [f32]) => means_body);

#[inline(always)]
fn means_body(image: &[f32], positions: usize, means: &mut [f32]) {
    let channels = means.len();
    by_blocks::<SUM_LANES>(
        &ChannelMeans {
            image,
            positions,
            channels,
        },
        means,
    );
}

/// The mean of each channel over the positions of `image`.
struct ChannelMeans<'a> {
    image: &'a [f32],
    positions: usize,
    channels: usize,
}

impl Reduce for ChannelMeans<'_> {
    #[inline(always)]
    fn lanes<const N: usize>(&self, c: usize) -> [f32; N] {
        let mut sum = [-0.0f64; N];
        for p in 0..self.positions {
            for (s, v) in sum
                .iter_mut()
                .zip(load::<N>(self.image, p * self.channels + c))
            {
                *s += f64::from(v);
            }
        }
        sum.map(|s| (s / self.positions as f64) as f32)
    }
}
