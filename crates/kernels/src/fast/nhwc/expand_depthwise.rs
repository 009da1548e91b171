//! A 1×1 convolution and the depthwise convolution that reads it, as one kernel: the
//! expansion and the depthwise of a MobileNet block.
//!
//! The expansion's output is the widest tensor of such a network (MobileNetV2's first block
//! expands to 96 × 112 × 112, 4.8 MB), and the depthwise reads it once, right after. Written
//! whole, it leaves the caches before it is read back. Here it never exists whole: the
//! expansion computes a band of input rows (about 256 KB) into a per-thread buffer, the
//! depthwise turns them into its output rows while they are in L2, and the rows the next band
//! shares with this one (the kernel's overlap) are moved to the top of the buffer instead of
//! being computed again.
//!
//! Threads share the output rows (counted over all images); each computes the input rows its
//! own output rows need, so the overlap at the boundary between two threads is computed twice.
//! On a small plane (the 7×7 and 14×14 stages) that overlap would be most of the rows, and
//! every thread would stream all of the expansion's weights, so there the threads split the
//! expansion's output channels instead ([`Split`]), into one buffer of the whole expanded
//! plane (a few hundred KB at those sizes), and then the depthwise's output rows.

use super::depthwise;
use super::gemm::{GroupGemm, OutMatrix, block_rows};
use super::pack::{GemmWeights, is_depthwise};
use super::split::Split;
use crate::FloatBuffer;
use crate::fast::buffers;
use crate::fast::epilogue::Epilogue;
use crate::fast::parallel::threads_for;
use crate::fast::scratch;
use crate::reference::broadcast::element_count;
use crate::reference::conv::ConvGeometry;
use crate::reference::window::{AxisGeometry, ShapeError, shape_bail};
use crate::team;

/// Floats of expanded rows one band keeps: well inside L2 with the depthwise's reads.
const BAND_FLOATS: usize = 64 * 1024;

/// Runs `depthwise(expand(input))`: `expand` a 1×1, stride-1, ungrouped convolution whose
/// output is `depthwise`'s input. Weights packed by [`super::pack::pack_weights`]; NHWC data.
pub fn expand_depthwise(
    expand: &ConvGeometry,
    depthwise: &ConvGeometry,
    input: &[f32],
    expand_packed: &[f32],
    expand_epilogue: &Epilogue<'_>,
    depthwise_packed: &[f32],
    depthwise_epilogue: &Epilogue<'_>,
) -> Result<FloatBuffer, ShapeError> {
    check(expand, depthwise)?;
    if input.len() != element_count(&expand.input_shape())?
        || expand_packed.len() != super::conv::packed_len(expand)
        || depthwise_packed.len() != super::conv::packed_len(depthwise)
    {
        shape_bail!("expand + depthwise buffers do not match their shapes");
    }
    let out_len = element_count(&depthwise.output_shape())?;
    expand_epilogue.check(expand.out_channels, element_count(&expand.output_shape())?)?;
    depthwise_epilogue.check(depthwise.out_channels, out_len)?;
    if expand_epilogue.residual.is_some() {
        shape_bail!("the expansion of an expand + depthwise pair has no residual");
    }
    let mut out = buffers::take(out_len);
    if out.is_empty() {
        return Ok(out);
    }
    let job = Job {
        expand,
        h: depthwise.axes[0],
        w: depthwise.axes[1],
        input,
        expand_weights: GemmWeights::new(expand.out_channels, expand.in_channels, 1, 1),
        expand_packed,
        expand_epilogue,
        depthwise_packed,
        depthwise_epilogue,
    };
    let out_row = job.w.output * depthwise.out_channels;
    let rows = depthwise.batch * job.h.output;
    let positions = expand.batch * expand.axes.iter().map(|a| a.input).product::<usize>();
    let work = positions * expand.in_channels * expand.out_channels;
    let split = Split::new(positions, &job.expand_weights, 1);
    if !split.by_rows {
        job.by_channels(depthwise, &split, positions, &mut out);
        return Ok(out);
    }
    let threads = threads_for(work).min(rows);
    let per_part = rows.div_ceil(threads.max(1));
    team::for_each_chunk_mut(&mut out, per_part * out_row, |part, out| {
        job.rows(part * per_part, out);
    });
    Ok(out)
}

fn check(expand: &ConvGeometry, depthwise: &ConvGeometry) -> Result<(), ShapeError> {
    // A 1→1 expansion is packed as a depthwise convolution, not as GEMM panels.
    let pointwise = expand.axes.len() == 2
        && expand.group == 1
        && !is_depthwise(expand.out_channels, expand.in_channels, 1)
        && expand
            .axes
            .iter()
            .all(|a| a.kernel == 1 && a.stride == 1 && a.pad_begin == 0 && a.pad_end == 0);
    let chained = depthwise.batch == expand.batch
        && depthwise.in_channels == expand.out_channels
        && depthwise
            .axes
            .iter()
            .zip(&expand.axes)
            .all(|(d, e)| d.input == e.output);
    if !pointwise || !super::depthwise::supports(depthwise) || !chained {
        shape_bail!("not a 1×1 convolution followed by a depthwise one: {expand:?}, {depthwise:?}");
    }
    Ok(())
}

struct Job<'a> {
    expand: &'a ConvGeometry,
    h: AxisGeometry,
    w: AxisGeometry,
    input: &'a [f32],
    expand_weights: GemmWeights,
    expand_packed: &'a [f32],
    expand_epilogue: &'a Epilogue<'a>,
    depthwise_packed: &'a [f32],
    depthwise_epilogue: &'a Epilogue<'a>,
}

impl Job<'_> {
    /// Output rows `first..` (counted over all images), a whole number of them, into `out`.
    fn rows(&self, first: usize, out: &mut [f32]) {
        let (h, w) = (&self.h, &self.w);
        let channels = self.expand.out_channels;
        let (in_row, out_row) = (w.input * channels, w.output * channels);
        let span = (h.kernel - 1) * h.dilation + 1;
        let band_in_rows = (BAND_FLOATS / in_row).max(span);
        let band_out_rows = ((band_in_rows - span) / h.stride + 1).max(1);
        let buffer_rows = (band_out_rows - 1) * h.stride + span;
        scratch::with_scratch(buffer_rows * in_row, |buffer| {
            // Input rows `cached.0..cached.1` of image `cached.2` are at the buffer's top.
            let mut cached: Option<(usize, usize, usize)> = None;
            let rows = out.len() / out_row;
            let mut r = 0;
            while r < rows {
                let (n, oy0) = ((first + r) / h.output, (first + r) % h.output);
                let count = band_out_rows.min(h.output - oy0).min(rows - r);
                let band = &mut out[r * out_row..][..count * out_row];
                cached = Some(self.band(n, oy0, count, cached, buffer, band));
                r += count;
            }
        });
    }

    /// Output rows `oy0..oy0 + count` of image `n`, from the input rows they read, which are
    /// computed into `buffer` (keeping those `cached` already holds). Returns what the buffer
    /// holds afterwards.
    fn band(
        &self,
        n: usize,
        oy0: usize,
        count: usize,
        cached: Option<(usize, usize, usize)>,
        buffer: &mut [f32],
        out: &mut [f32],
    ) -> (usize, usize, usize) {
        let (h, w) = (&self.h, &self.w);
        let channels = self.expand.out_channels;
        let in_row = w.input * channels;
        let top = oy0 * h.stride;
        let lo = top.saturating_sub(h.pad_begin);
        let bottom = (oy0 + count - 1) * h.stride + (h.kernel - 1) * h.dilation + 1;
        let hi = bottom.saturating_sub(h.pad_begin).min(h.input).max(lo);
        let from = match cached {
            Some((c_lo, c_hi, c_n)) if c_n == n && c_lo <= lo && lo < c_hi && c_hi <= hi => {
                buffer.copy_within((lo - c_lo) * in_row..(c_hi - c_lo) * in_row, 0);
                c_hi
            }
            _ => lo,
        };
        if from < hi {
            self.expand_rows(n, from..hi, (from - lo) * in_row, buffer);
        }
        let band_h = AxisGeometry {
            input: hi - lo,
            pad_begin: h.pad_begin.saturating_sub(top),
            pad_end: 0,
            output: count,
            ..*h
        };
        let residual = self
            .depthwise_epilogue
            .residual
            .map(|r| &r[(n * h.output + oy0) * w.output * channels..][..out.len()]);
        let epilogue = Epilogue {
            residual,
            ..*self.depthwise_epilogue
        };
        let input = &buffer[..(hi - lo) * in_row];
        depthwise::band_rows(band_h, *w, input, self.depthwise_packed, &epilogue, out);
        (lo, hi, n)
    }

    /// Every output row, the threads sharing the expansion's channels (`split`) and then the
    /// depthwise's rows, through a buffer of the whole expanded input.
    fn by_channels(
        &self,
        depthwise: &ConvGeometry,
        split: &Split,
        positions: usize,
        out: &mut [f32],
    ) {
        let (cin, channels) = (self.expand.in_channels, self.expand.out_channels);
        let weights = self.expand_weights;
        scratch::with_scratch(positions * channels, |expanded| {
            let gemm = GroupGemm {
                weights,
                panels: self.expand_packed,
                first_channel: 0,
                epilogue: self.expand_epilogue,
                out: OutMatrix::new(expanded, channels),
            };
            let block = block_rows(cin);
            team::for_each_part(split.parts, |part| {
                let panels = split.panels(part, weights.panels);
                for m0 in (0..positions).step_by(block) {
                    let count = block.min(positions - m0);
                    gemm.block(&self.input[m0 * cin..], cin, count, m0, panels.clone());
                }
            });
            depthwise::depthwise(
                depthwise,
                expanded,
                self.depthwise_packed,
                self.depthwise_epilogue,
                out,
            );
        });
    }

    /// The expansion of input rows `rows` of image `n`, into `buffer` from `at`.
    fn expand_rows(&self, n: usize, rows: std::ops::Range<usize>, at: usize, buffer: &mut [f32]) {
        let (cin, channels) = (self.expand.in_channels, self.expand.out_channels);
        let width = self.w.input;
        let positions = rows.len() * width;
        let first = (n * self.h.input + rows.start) * width;
        let a = &self.input[first * cin..][..positions * cin];
        let out = &mut buffer[at..][..positions * channels];
        let gemm = GroupGemm {
            weights: self.expand_weights,
            panels: self.expand_packed,
            first_channel: 0,
            epilogue: self.expand_epilogue,
            out: OutMatrix::new(out, channels),
        };
        let block = block_rows(cin);
        for m0 in (0..positions).step_by(block) {
            let count = block.min(positions - m0);
            gemm.block(
                &a[m0 * cin..],
                cin,
                count,
                m0,
                0..self.expand_weights.panels,
            );
        }
    }
}
