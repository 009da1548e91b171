//! Depthwise 2-D convolution (one filter per channel, `group == channels`) without im2col.
//!
//! Each channel is copied once into a zero-bordered scratch plane whose columns are split by
//! `stride` phase (column `c` of the padded plane goes to phase `c % stride`, position
//! `c / stride`). Every kernel tap then reads a contiguous run of one phase row, so the inner
//! loop is a plain `out += w * src` over a whole output row, at any stride or dilation, with no
//! bounds tests and no padding branches. Bias, residual and activation are applied per channel
//! while its plane is still in cache.

use super::activation::apply_body;
use super::dispatch::multiversion;
use super::epilogue::Epilogue;
use super::parallel::{for_item_ranges, threads_for};
use super::scratch;
use crate::reference::window::AxisGeometry;

/// Zeros after the padded plane: a row tail reads up to a block (8) past its last element.
const TAIL_SLACK: usize = 8;

/// The padded, phase-split plane of one channel.
#[derive(Clone, Copy, Debug)]
struct PhasePlane {
    /// Rows of the padded input (pads included).
    rows: usize,
    /// Columns per phase: `ceil(padded width / stride)`.
    cols: usize,
    phases: usize,
}

impl PhasePlane {
    fn new(h: &AxisGeometry, w: &AxisGeometry) -> PhasePlane {
        let padded_width = w.pad_begin + w.input + w.pad_end;
        PhasePlane {
            rows: h.pad_begin + h.input + h.pad_end,
            cols: padded_width.div_ceil(w.stride),
            phases: w.stride,
        }
    }

    /// Elements of the scratch plane, including [`TAIL_SLACK`] past the last row so that a
    /// row tail can be computed as a whole vector block.
    fn len(&self) -> usize {
        self.phases * self.rows * self.cols + TAIL_SLACK
    }

    /// Index of padded position `(row, col)`.
    fn at(&self, row: usize, col: usize) -> usize {
        ((col % self.phases) * self.rows + row) * self.cols + col / self.phases
    }
}

/// Whether [`depthwise`] handles this geometry: 1-D or 2-D (the leading axis is a unit axis).
pub fn supports(axes: &[AxisGeometry; 3]) -> bool {
    axes[0] == AxisGeometry::UNIT
}

/// Depthwise convolution of the channel planes of `input` (one image) into `output`, with
/// `weight` `[channels, kh * kw]`; channels are split over the pool's threads.
pub fn depthwise(
    axes: &[AxisGeometry; 3],
    input: &[f32],
    weight: &[f32],
    output: &mut [f32],
    epilogue: &Epilogue<'_>,
) {
    let [_, h, w] = axes;
    let (in_plane, out_plane) = (h.input * w.input, h.output * w.output);
    let threads = threads_for(output.len() * h.kernel * w.kernel);
    for_item_ranges(
        threads,
        input,
        in_plane,
        output,
        out_plane,
        |first, x, y| channels(axes, x, weight, y, epilogue, first),
    );
}

/// [`depthwise`] on one thread for the channels from `first_channel` on (their index in
/// `weight` and the epilogue's bias; `output`'s offset in its residual is
/// `first_channel * out_plane`).
fn channels(
    axes: &[AxisGeometry; 3],
    input: &[f32],
    weight: &[f32],
    output: &mut [f32],
    epilogue: &Epilogue<'_>,
    first_channel: usize,
) {
    let [_, h, w] = axes;
    let (in_plane, out_plane) = (h.input * w.input, h.output * w.output);
    let taps = h.kernel * w.kernel;
    let padded = PhasePlane::new(h, w);
    // Where each tap's source run for output row 0 starts; row `oy` adds `oy * stride` rows.
    let tap_offsets: Vec<usize> = (0..h.kernel)
        .flat_map(|ky| (0..w.kernel).map(move |kx| (ky, kx)))
        .map(|(ky, kx)| padded.at(ky * h.dilation, kx * w.dilation))
        .collect();
    // The borders stay zero across channels: only the interior is rewritten.
    scratch::with_zeroed(padded.len(), |phases| {
        let planes = input
            .chunks_exact(in_plane)
            .zip(output.chunks_exact_mut(out_plane));
        for (c, (x, y)) in planes.enumerate() {
            let channel = first_channel + c;
            epilogue.prefill(y, channel, channel * out_plane);
            let kernel = &weight[channel * taps..][..taps];
            let act = epilogue.activation;
            channel_dispatched(h, w, padded, phases, x, kernel, &tap_offsets, y, act);
        }
    });
}

multiversion!(fn channel_dispatched(
    h: &AxisGeometry,
    w: &AxisGeometry,
    padded: PhasePlane,
    phases: &mut [f32],
    x: &[f32],
    kernel: &[f32],
    tap_offsets: &[usize],
    y: &mut [f32],
    activation: super::Activation,
) => channel_body);

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn channel_body(
    h: &AxisGeometry,
    w: &AxisGeometry,
    padded: PhasePlane,
    phases: &mut [f32],
    x: &[f32],
    kernel: &[f32],
    tap_offsets: &[usize],
    y: &mut [f32],
    activation: super::Activation,
) {
    for (iy, row) in x.chunks_exact(w.input).enumerate() {
        let r = iy + h.pad_begin;
        if padded.phases == 1 {
            let start = padded.at(r, w.pad_begin);
            phases[start..start + w.input].copy_from_slice(row);
        } else {
            // Phase `p` holds padded columns `p + stride * j`: every `stride`-th input element.
            for p in 0..padded.phases {
                let j0 = w.pad_begin.saturating_sub(p).div_ceil(padded.phases);
                let first_col = p + padded.phases * j0;
                let Some(src) = row.get(first_col - w.pad_begin..) else {
                    continue;
                };
                let dst = &mut phases[padded.at(r, first_col)..];
                for (d, &v) in dst.iter_mut().zip(src.iter().step_by(padded.phases)) {
                    *d = v;
                }
            }
        }
    }
    let row_step = h.stride * padded.cols;
    for (oy, out_row) in y.chunks_exact_mut(w.output).enumerate() {
        let rows = &phases[oy * row_step..];
        let mut ox = accumulate_blocks::<16>(out_row, 0, rows, tap_offsets, kernel);
        ox = accumulate_blocks::<8>(out_row, ox, rows, tap_offsets, kernel);
        accumulate_tail::<8>(out_row, ox, rows, tap_offsets, kernel);
    }
    apply_body(activation, y);
}

/// The last `out_row.len() - ox < B` outputs, computed as one `B`-wide block whose extra lanes
/// (read from the next row or the slack) are dropped: short rows (7, 14, 28 wide) stay
/// vectorised instead of falling back to one element per tap.
#[inline(always)]
fn accumulate_tail<const B: usize>(
    out_row: &mut [f32],
    ox: usize,
    rows: &[f32],
    tap_offsets: &[usize],
    kernel: &[f32],
) {
    let n = out_row.len() - ox;
    if n == 0 {
        return;
    }
    let mut acc = [0.0f32; B];
    acc[..n].copy_from_slice(&out_row[ox..]);
    for (&offset, &weight) in tap_offsets.iter().zip(kernel) {
        let src = &rows[offset + ox..][..B];
        for (a, &s) in acc.iter_mut().zip(src) {
            *a += weight * s;
        }
    }
    out_row[ox..].copy_from_slice(&acc[..n]);
}

/// Adds every tap into `out_row` from `ox` on, `B` outputs at a time held in registers (one
/// load and store of the output per block instead of per tap). Returns where it stopped.
#[inline(always)]
fn accumulate_blocks<const B: usize>(
    out_row: &mut [f32],
    mut ox: usize,
    rows: &[f32],
    tap_offsets: &[usize],
    kernel: &[f32],
) -> usize {
    while ox + B <= out_row.len() {
        let out = &mut out_row[ox..ox + B];
        let mut acc = [0.0f32; B];
        acc.copy_from_slice(out);
        for (&offset, &weight) in tap_offsets.iter().zip(kernel) {
            let src = &rows[offset + ox..][..B];
            for (a, &s) in acc.iter_mut().zip(src) {
                *a += weight * s;
            }
        }
        out.copy_from_slice(&acc);
        ox += B;
    }
    ox
}
