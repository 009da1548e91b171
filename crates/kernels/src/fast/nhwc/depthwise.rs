//! Depthwise convolution in NHWC: one filter per channel, vectorised over the channels.
//!
//! In NHWC the channels of a position are contiguous, so one tap of 16 neighbouring channels
//! is one vector load of the input times one of the tap-major weights: no shuffles, and no
//! padded copy of the input (the NCHW kernel copies every plane into one). Each output row
//! is computed in blocks of 4 positions × 16 channels, whose 4 × 16 sums start from the bias,
//! stay in registers across all the taps (8 independent chains on AVX2, enough to hide the
//! multiply-add latency, and 4 uses of each weight load) and are stored once. Right after a
//! group of positions is stored, while it is in L1, the residual and the activation run over
//! it as one contiguous span.
//!
//! Padding costs nothing per tap: per output row, the kernel rows that fall inside the input
//! are a range, and so are, per column, the kernel columns. The interior columns, whose every
//! tap is inside (most of a plane), run the full tap loop with unchecked loads: bounds were
//! established once per group of positions, and the two checks per load that they replace
//! cost more instructions than the multiply-adds. The few border columns run one at a time
//! with their own range of kernel columns. Any stride, dilation and padding takes this path.
//!
//! The work is split over the team's threads by output rows, counted over all images.

use std::ops::Range;

use crate::fast::activation::{Activation, apply_body};
use crate::fast::dispatch::multiversion;
use crate::fast::epilogue::Epilogue;
use crate::fast::parallel::threads_for;
use crate::reference::conv::ConvGeometry;
use crate::reference::window::AxisGeometry;
use crate::team;

/// Channels per block: one AVX-512 register, two AVX2 ones.
const WIDE: usize = 16;
/// Channels per block of what the wide blocks leave (one AVX2 register); the last few
/// channels go one at a time.
const NARROW: usize = 8;
/// Output positions per block of the interior: sums that hide the multiply-add latency, and
/// uses of each weight load. (6 was no faster on large planes and slower on 7-wide ones,
/// which it leaves more single columns.)
const POSITIONS: usize = 4;
/// Work units per multiply-add, against the GEMM's one, for deciding when to split.
const DEPTHWISE_COST: usize = 4;

/// ONNX depthwise weights `[C, 1, kh, kw]` rearranged tap-major, `[kh * kw][C]`: what
/// [`depthwise`] reads.
pub fn pack_weights(weight: &[f32], channels: usize, taps: usize) -> Vec<f32> {
    assert_eq!(
        weight.len(),
        channels * taps,
        "depthwise weights [C, 1, kh, kw]"
    );
    let mut packed = vec![0.0; weight.len()];
    for (c, filter) in weight.chunks_exact(taps).enumerate() {
        for (t, &w) in filter.iter().enumerate() {
            packed[t * channels + c] = w;
        }
    }
    packed
}

/// Whether [`depthwise`] computes `g`: 2-D, one input and one output channel per group.
pub fn supports(g: &ConvGeometry) -> bool {
    g.axes.len() == 2 && g.group == g.in_channels && g.group == g.out_channels
}

/// `out[n, oy, ox, c] = epilogue(Σ_taps input[n, iy, ix, c] · packed[tap, c])`, input, output
/// and residual in NHWC.
pub fn depthwise(
    g: &ConvGeometry,
    input: &[f32],
    packed: &[f32],
    epilogue: &Epilogue<'_>,
    out: &mut [f32],
) {
    assert!(supports(g), "not a 2-D depthwise convolution: {g:?}");
    let (h, w) = (g.axes[0], g.axes[1]);
    let job = Job::new(h, w, g.batch, input, packed, epilogue);
    let out_row = w.output * g.in_channels;
    let rows = g.batch * h.output;
    assert_eq!(out.len(), rows * out_row);
    if out.is_empty() {
        return;
    }
    let threads = threads_for(out.len() * h.kernel * w.kernel * DEPTHWISE_COST);
    if threads <= 1 {
        rows_dispatched(&job, 0, out);
        return;
    }
    let per_part = rows.div_ceil(threads);
    team::for_each_chunk_mut(out, per_part * out_row, |part, out| {
        rows_dispatched(&job, part * per_part, out);
    });
}

/// Output rows of one image whose input rows are `input` (as `h` describes them: a band of a
/// larger image has its own `input`, `pad_begin` and `output`), on the calling thread: for
/// kernels that produce the input a band at a time.
pub(crate) fn band_rows(
    h: AxisGeometry,
    w: AxisGeometry,
    input: &[f32],
    packed: &[f32],
    epilogue: &Epilogue<'_>,
    out: &mut [f32],
) {
    let job = Job::new(h, w, 1, input, packed, epilogue);
    assert_eq!(out.len(), h.output * w.output * job.channels);
    rows_dispatched(&job, 0, out);
}

/// Everything a run of output rows reads.
struct Job<'a> {
    h: AxisGeometry,
    w: AxisGeometry,
    channels: usize,
    input: &'a [f32],
    packed: &'a [f32],
    bias: Option<&'a [f32]>,
    residual: Option<&'a [f32]>,
    activation: Activation,
}

impl<'a> Job<'a> {
    /// The job of `batch` images of `input`, checking every buffer's length against them.
    fn new(
        h: AxisGeometry,
        w: AxisGeometry,
        batch: usize,
        input: &'a [f32],
        packed: &'a [f32],
        epilogue: &Epilogue<'a>,
    ) -> Job<'a> {
        let channels = packed.len() / (h.kernel * w.kernel).max(1);
        assert_eq!(packed.len(), h.kernel * w.kernel * channels);
        assert_eq!(input.len(), batch * h.input * w.input * channels);
        let out_len = batch * h.output * w.output * channels;
        assert!(epilogue.bias.is_none_or(|b| b.len() == channels));
        assert!(epilogue.residual.is_none_or(|r| r.len() == out_len));
        Job {
            h,
            w,
            channels,
            input,
            packed,
            bias: epilogue.bias,
            residual: epilogue.residual,
            activation: epilogue.activation,
        }
    }
}

multiversion!(fn rows_dispatched(job: &Job<'_>, first_row: usize, out: &mut [f32]) => rows_body);

/// Output rows `first_row..` (counted over all images) into `out`, a whole number of rows.
#[inline(always)]
fn rows_body(job: &Job<'_>, first_row: usize, out: &mut [f32]) {
    let (h, w, channels) = (&job.h, &job.w, job.channels);
    let (in_row, out_row) = (w.input * channels, w.output * channels);
    let image = h.input * in_row;
    let interior = interior(w);
    for (r, out) in out.chunks_exact_mut(out_row).enumerate() {
        let row = first_row + r;
        let (n, oy) = (row / h.output, row % h.output);
        let ky = valid_taps(h, oy);
        // From the input row of kernel row `ky.start`; each further kernel row is `dilation`
        // rows on. (A row all in the padding reads nothing.)
        let input = if ky.is_empty() {
            &[]
        } else {
            let first_iy = oy * h.stride + ky.start * h.dilation - h.pad_begin;
            &job.input[n * image + first_iy * in_row..]
        };
        let at = Row {
            job,
            input,
            ky,
            residual: job.residual.map(|r| &r[row * out_row..][..out_row]),
        };
        // A single position has only its channels for independent sums, so it takes twice as
        // many per block.
        for ox in 0..interior.start {
            at.columns::<1, { 2 * WIDE }>(ox, valid_taps(w, ox), out);
        }
        let mut ox = interior.start;
        while ox + POSITIONS <= interior.end {
            at.columns::<POSITIONS, WIDE>(ox, 0..w.kernel, out);
            ox += POSITIONS;
        }
        for ox in ox..interior.end {
            at.columns::<1, { 2 * WIDE }>(ox, 0..w.kernel, out);
        }
        for ox in interior.end..w.output {
            at.columns::<1, { 2 * WIDE }>(ox, valid_taps(w, ox), out);
        }
    }
}

/// One output row: the input from its first kernel row inside the input on, which kernel
/// rows are inside, and the row's residual.
struct Row<'a> {
    job: &'a Job<'a>,
    input: &'a [f32],
    ky: Range<usize>,
    residual: Option<&'a [f32]>,
}

impl Row<'_> {
    /// Output positions `ox..ox + P` of the row, all channels, with kernel columns `kx`, in
    /// channel blocks of `BLOCK`, then 16 and 8, then one by one.
    #[inline(always)]
    fn columns<const P: usize, const BLOCK: usize>(
        &self,
        ox: usize,
        kx: Range<usize>,
        out: &mut [f32],
    ) {
        let (w, channels) = (&self.job.w, self.job.channels);
        // What `block` needs: every input column the taps read is inside the row.
        assert!(
            kx.end <= w.kernel
                && (kx.is_empty()
                    || (ox * w.stride + kx.start * w.dilation >= w.pad_begin
                        && (ox + P - 1) * w.stride + (kx.end - 1) * w.dilation
                            < w.pad_begin + w.input))
        );
        let mut c = 0;
        while c + BLOCK <= channels {
            // SAFETY: the taps and columns as asserted above; `c + BLOCK <= channels` by the
            // loop condition.
            unsafe { self.block::<BLOCK, P>(ox, kx.clone(), c, out) };
            c += BLOCK;
        }
        if BLOCK > WIDE && c + WIDE <= channels {
            // SAFETY: as above, with `c + WIDE <= channels`.
            unsafe { self.block::<WIDE, P>(ox, kx.clone(), c, out) };
            c += WIDE;
        }
        if c + NARROW <= channels {
            // SAFETY: as above, with `c + NARROW <= channels`.
            unsafe { self.block::<NARROW, P>(ox, kx.clone(), c, out) };
            c += NARROW;
        }
        for c in c..channels {
            // SAFETY: as above, with `c < channels`.
            unsafe { self.block::<1, P>(ox, kx.clone(), c, out) };
        }
        // The epilogue on the positions just stored, which are contiguous and in L1. (Inside
        // the blocks, its branches kept the sums from staying in registers.)
        let span = ox * channels..(ox + P) * channels;
        let out = &mut out[span.clone()];
        if let Some(residual) = self.residual {
            for (o, &r) in out.iter_mut().zip(&residual[span]) {
                *o += r;
            }
        }
        apply_body(self.job.activation, out);
    }

    /// Channels `c..c + B` of positions `ox..ox + P` before the epilogue: the sums held in
    /// registers over the taps, then stored once.
    ///
    /// # Safety
    ///
    /// `c + B <= channels`, `kx.end <= w.kernel`, and unless `kx` is empty, the columns read
    /// by its first and last taps for the first and last positions are inside the input:
    /// `ox * stride + kx.start * dilation >= pad_begin` and
    /// `(ox + P - 1) * stride + (kx.end - 1) * dilation < pad_begin + input`.
    #[inline(always)]
    unsafe fn block<const B: usize, const P: usize>(
        &self,
        ox: usize,
        kx: Range<usize>,
        c: usize,
        out: &mut [f32],
    ) {
        let job = self.job;
        let (h, w, channels) = (&job.h, &job.w, job.channels);
        let in_row = w.input * channels;
        let bias: [f32; B] = match job.bias {
            Some(b) => *lanes(b, c),
            None => [0.0; B],
        };
        let mut sums = [bias; P];
        for (i, ky) in self.ky.clone().enumerate() {
            let input = &self.input[i * h.dilation * in_row..][..in_row];
            let weights = &job.packed[ky * w.kernel * channels..][..w.kernel * channels];
            for kx in kx.clone() {
                // SAFETY: `kx < w.kernel` and `c + B <= channels` (the contract), so
                // `kx * channels + c + B <= weights.len()`.
                let weight: &[f32; B] = unsafe { lanes_unchecked(weights, kx * channels + c) };
                // Input column of position `ox`; the others are `stride` columns apart.
                let ix = ox * w.stride + kx * w.dilation - w.pad_begin;
                // The position loop innermost and short, so that the compiler unrolls it and
                // keeps `sums` in registers. (Unrolling the tap loop instead, for a kernel
                // width known at compile time, left them in memory: several times slower.)
                for (p, sum) in sums.iter_mut().enumerate() {
                    let at = (ix + p * w.stride) * channels + c;
                    // SAFETY: the column `ix + p * stride` grows with the tap and the
                    // position, so it lies between those of the first and last taps and
                    // positions, which the contract puts inside the input: `< w.input`. With
                    // `c + B <= channels`, `at + B <= in_row`.
                    let x: &[f32; B] = unsafe { lanes_unchecked(input, at) };
                    for ((s, &x), &k) in sum.iter_mut().zip(x).zip(weight) {
                        *s = x.mul_add(k, *s);
                    }
                }
            }
        }
        for (p, sum) in sums.iter().enumerate() {
            *lanes_mut(out, (ox + p) * channels + c) = *sum;
        }
    }
}

/// `data[at..at + B]` without the bounds check: in the tap loop, the two checks per load
/// (start and end) cost more instructions than the multiply-adds, and made the kernel 1.3 to
/// 1.8× slower.
///
/// # Safety
///
/// `at + B <= data.len()`.
#[inline(always)]
unsafe fn lanes_unchecked<const B: usize>(data: &[f32], at: usize) -> &[f32; B] {
    debug_assert!(at + B <= data.len());
    // SAFETY: in bounds by the caller's contract; `[f32; B]` has `f32`'s alignment.
    unsafe { &*data.as_ptr().add(at).cast() }
}

/// The `B` elements of `data` from `at`.
#[inline(always)]
fn lanes<const B: usize>(data: &[f32], at: usize) -> &[f32; B] {
    data[at..at + B].try_into().expect("B elements")
}

#[inline(always)]
fn lanes_mut<const B: usize>(data: &mut [f32], at: usize) -> &mut [f32; B] {
    (&mut data[at..at + B]).try_into().expect("B elements")
}

/// The kernel taps of output `o` along `a` that read inside the input (not the padding).
#[inline(always)]
fn valid_taps(a: &AxisGeometry, o: usize) -> Range<usize> {
    // Tap `k` reads padded position `o * stride + k * dilation`; the input is padded positions
    // `pad_begin..pad_begin + input`.
    let start = o * a.stride;
    let first = a.pad_begin.saturating_sub(start).div_ceil(a.dilation);
    let end = (a.pad_begin + a.input)
        .saturating_sub(start)
        .div_ceil(a.dilation);
    // `first <= end`: `first > 0` only when `start < pad_begin`.
    first.min(a.kernel)..end.min(a.kernel)
}

/// The outputs along `a` whose every tap reads inside the input.
fn interior(a: &AxisGeometry) -> Range<usize> {
    let first = a.pad_begin.div_ceil(a.stride).min(a.output);
    // The last tap reads padded position `o * stride + span - 1`, which must be below
    // `pad_begin + input`.
    let span = (a.kernel - 1) * a.dilation + 1;
    let end = (a.pad_begin + a.input + 1)
        .saturating_sub(span)
        .div_ceil(a.stride);
    first..end.clamp(first, a.output)
}
