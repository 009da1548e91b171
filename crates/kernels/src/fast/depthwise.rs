//! Depthwise 2-D convolution (one filter per channel, `group == channels`) without im2col.
//!
//! Each channel is copied once into a zero-bordered scratch plane split by stride phase: padded
//! position `(r, c)` goes to phase `(r % stride_h, c % stride_w)` at `(r / stride_h,
//! c / stride_w)`. In that layout every kernel tap of output `(oy, ox)` reads element
//! `(oy, ox)` of one phase shifted by a constant, so with the output laid out at the phase's row
//! pitch, the whole channel is one long loop `acc[p] += w[t] * phase[p + offset[t]]` over
//! `p = oy * pitch + ox`: no rows, no tails, no padding branches, at any stride or dilation.
//! The few columns past the output's width are computed and dropped when the rows are copied
//! into place, where the residual and the activation are applied while the plane is in cache.

use super::activation::apply_body;
use super::dispatch::multiversion;
use super::epilogue::Epilogue;
use super::parallel::{for_item_ranges, threads_for};
use super::scratch;
use super::short_copy::copy_short;
use crate::reference::window::AxisGeometry;

/// Outputs per vector block of the accumulation loop.
const LANES: usize = 8;
/// Work units per multiply-add, against the GEMM's one, for deciding when to split.
const DEPTHWISE_COST: usize = 4;
/// Vector blocks accumulated together: independent chains that hide the FMA latency.
const UNROLL: usize = 4;

/// The padded, phase-split plane of one channel and the output pitch it implies.
#[derive(Clone, Copy, Debug)]
struct PhasePlane {
    /// Stride phases per axis.
    phases_h: usize,
    phases_w: usize,
    /// Rows and columns of each phase plane.
    rows: usize,
    cols: usize,
    /// Output positions computed per channel: `(out_h - 1) * cols + out_w`, rounded up to a
    /// whole vector block.
    outputs: usize,
}

impl PhasePlane {
    fn new(h: &AxisGeometry, w: &AxisGeometry) -> PhasePlane {
        let padded_rows = h.pad_begin + h.input + h.pad_end;
        let padded_cols = w.pad_begin + w.input + w.pad_end;
        let cols = padded_cols.div_ceil(w.stride);
        PhasePlane {
            phases_h: h.stride,
            phases_w: w.stride,
            rows: padded_rows.div_ceil(h.stride),
            cols,
            outputs: ((h.output - 1) * cols + w.output).next_multiple_of(LANES),
        }
    }

    fn phase_len(&self) -> usize {
        self.rows * self.cols
    }

    /// Elements of the scratch plane: the phases, then enough zeros that the last output
    /// block's taps (which may run past the last phase by up to a row and a block) stay inside.
    fn len(&self) -> usize {
        self.phases_h * self.phases_w * self.phase_len() + self.cols + LANES * UNROLL
    }

    /// Index of padded position `(row, col)`.
    #[inline(always)]
    fn at(&self, row: usize, col: usize) -> usize {
        let (row_phase, row) = split_by(row, self.phases_h);
        let (col_phase, col) = split_by(col, self.phases_w);
        (row_phase * self.phases_w + col_phase) * self.phase_len() + row * self.cols + col
    }
}

/// `(i % stride, i / stride)`, without a division for the usual strides: on a 7×7 plane the
/// divisions of the per-row index arithmetic cost more than the row's copy.
#[inline(always)]
fn split_by(i: usize, stride: usize) -> (usize, usize) {
    match stride {
        1 => (0, i),
        2 => (i & 1, i >> 1),
        _ => (i % stride, i / stride),
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
    // A depthwise multiply-add costs several GEMM ones (no register blocking, a copy in and
    // out per channel), so a 7×7 layer is already worth splitting.
    let threads = threads_for(output.len() * h.kernel * w.kernel * DEPTHWISE_COST);
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
    let plane = PhasePlane::new(h, w);
    // Where each tap reads for output position 0; position `p` adds `p`.
    let tap_offsets: Vec<usize> = (0..h.kernel)
        .flat_map(|ky| (0..w.kernel).map(move |kx| (ky, kx)))
        .map(|(ky, kx)| plane.at(ky * h.dilation, kx * w.dilation))
        .collect();
    // The borders stay zero across channels: only the interior is rewritten.
    scratch::with_zeroed(plane.len() + plane.outputs, |buf| {
        let (phases, acc) = buf.split_at_mut(plane.len());
        let planes = input
            .chunks_exact(in_plane)
            .zip(output.chunks_exact_mut(out_plane));
        for (c, (x, y)) in planes.enumerate() {
            let channel = first_channel + c;
            let job = Channel {
                h,
                w,
                plane,
                kernel: &weight[channel * taps..][..taps],
                tap_offsets: &tap_offsets,
                bias: epilogue.bias.map_or(0.0, |b| b[channel]),
                residual: epilogue
                    .residual
                    .map(|r| &r[channel * out_plane..][..out_plane]),
            };
            channel_dispatched(&job, phases, acc, x, y, epilogue.activation);
        }
    });
}

/// One channel's convolution: what [`channel_body`] needs besides its buffers.
struct Channel<'a> {
    h: &'a AxisGeometry,
    w: &'a AxisGeometry,
    plane: PhasePlane,
    kernel: &'a [f32],
    tap_offsets: &'a [usize],
    bias: f32,
    residual: Option<&'a [f32]>,
}

multiversion!(fn channel_dispatched(
    job: &Channel<'_>,
    phases: &mut [f32],
    acc: &mut [f32],
    x: &[f32],
    y: &mut [f32],
    activation: super::Activation,
) => channel_body);

#[inline(always)]
fn channel_body(
    job: &Channel<'_>,
    phases: &mut [f32],
    acc: &mut [f32],
    x: &[f32],
    y: &mut [f32],
    activation: super::Activation,
) {
    let (h, w, plane) = (job.h, job.w, job.plane);
    for (iy, row) in x.chunks_exact(w.input).enumerate() {
        split_row(phases, plane, iy + h.pad_begin, w.pad_begin, row);
    }
    // A tap count known at compile time unrolls the tap loop and keeps the weights in registers.
    let (offsets, kernel) = (job.tap_offsets, job.kernel);
    match offsets.len() {
        9 => accumulate_fixed::<9>(acc, phases, offsets, kernel),
        25 => accumulate_fixed::<25>(acc, phases, offsets, kernel),
        _ => accumulate(acc, phases, offsets, kernel),
    }
    // Drop the columns past the output's width; add the bias and the residual on the way
    // (an add, so that short rows are not a `memcpy` call each).
    let (rows, bias) = (y.chunks_exact_mut(w.output).enumerate(), job.bias);
    match job.residual {
        None => {
            for (oy, out_row) in rows {
                let sums = &acc[oy * plane.cols..][..w.output];
                for (o, &s) in out_row.iter_mut().zip(sums) {
                    *o = s + bias;
                }
            }
        }
        Some(residual) => {
            for (oy, out_row) in rows {
                let sums = &acc[oy * plane.cols..][..w.output];
                let skip = &residual[oy * w.output..][..w.output];
                for ((o, &s), &r) in out_row.iter_mut().zip(sums).zip(skip) {
                    *o = s + bias + r;
                }
            }
        }
    }
    apply_body(activation, y);
}

/// Copies input row `row` (padded row index) into its phase plane, starting at padded column
/// `pad_begin`.
#[inline(always)]
fn split_row(phases: &mut [f32], plane: PhasePlane, row: usize, pad_begin: usize, src: &[f32]) {
    match plane.phases_w {
        1 => {
            let start = plane.at(row, pad_begin);
            copy_short(&mut phases[start..start + src.len()], src);
        }
        2 => split_pairs(phases, plane, row, pad_begin, src),
        stride => {
            // Phase `p` holds padded columns `p + stride * j`: every `stride`-th input element.
            for p in 0..stride {
                let j0 = pad_begin.saturating_sub(p).div_ceil(stride);
                let first_col = p + stride * j0;
                let Some(run) = src.get(first_col - pad_begin..) else {
                    continue;
                };
                let dst = &mut phases[plane.at(row, first_col)..];
                for (d, &v) in dst.iter_mut().zip(run.iter().step_by(stride)) {
                    *d = v;
                }
            }
        }
    }
}

/// Stride 2: input elements `2j` and `2j + 1` land in the two column phases at the same
/// position offset `j`, so the row is split in pairs (a loop the compiler turns into vector
/// shuffles, where a strided copy per phase stays scalar).
#[inline(always)]
fn split_pairs(phases: &mut [f32], plane: PhasePlane, row: usize, pad_begin: usize, src: &[f32]) {
    let (first, second) = (plane.at(row, pad_begin), plane.at(row, pad_begin + 1));
    let (even_len, odd_len) = (src.len().div_ceil(2), src.len() / 2);
    // The two runs lie in different phases, so they never overlap.
    let (even, odd) = if first < second {
        let (lo, hi) = phases.split_at_mut(second);
        (&mut lo[first..first + even_len], &mut hi[..odd_len])
    } else {
        let (lo, hi) = phases.split_at_mut(first);
        (&mut hi[..even_len], &mut lo[second..second + odd_len])
    };
    let pairs = src.chunks_exact(2);
    if let [last] = pairs.remainder() {
        even[odd_len] = *last;
    }
    for ((e, o), pair) in even.iter_mut().zip(odd.iter_mut()).zip(pairs) {
        *e = pair[0];
        *o = pair[1];
    }
}

#[inline(always)]
fn accumulate_fixed<const T: usize>(
    acc: &mut [f32],
    phases: &[f32],
    tap_offsets: &[usize],
    kernel: &[f32],
) {
    let offsets: [usize; T] = tap_offsets.try_into().expect("tap count checked by caller");
    let weights: [f32; T] = kernel.try_into().expect("one weight per tap");
    accumulate(acc, phases, &offsets, &weights);
}

/// `acc[p] = Σ_t kernel[t] * phases[p + tap_offsets[t]]` for every `p` of `acc` (a whole
/// number of vector blocks).
#[inline(always)]
fn accumulate(acc: &mut [f32], phases: &[f32], tap_offsets: &[usize], kernel: &[f32]) {
    const WIDE: usize = LANES * UNROLL;
    let done = acc.len() / WIDE * WIDE;
    let mut wide = acc.chunks_exact_mut(WIDE);
    for (i, out) in (&mut wide).enumerate() {
        block::<WIDE>(out, i * WIDE, phases, tap_offsets, kernel);
    }
    for (i, out) in wide.into_remainder().chunks_exact_mut(LANES).enumerate() {
        block::<LANES>(out, done + i * LANES, phases, tap_offsets, kernel);
    }
}

/// One block of `B` outputs from position `p`, held in registers across all taps.
#[inline(always)]
fn block<const B: usize>(
    out: &mut [f32],
    p: usize,
    phases: &[f32],
    tap_offsets: &[usize],
    kernel: &[f32],
) {
    let mut sums = [0.0; B];
    for (&offset, &weight) in tap_offsets.iter().zip(kernel) {
        let src = &phases[offset + p..][..B];
        for (s, &v) in sums.iter_mut().zip(src) {
            *s = v.mul_add(weight, *s);
        }
    }
    out.copy_from_slice(&sums);
}
