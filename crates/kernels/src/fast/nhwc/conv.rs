//! Convolution on NHWC activations with weights packed at load ([`pack_weights`]): the same
//! arithmetic as `reference::conv::conv` plus the fused [`Epilogue`], whose residual has the
//! output's NHWC layout.
//!
//! - One input and one output channel per group: [`depthwise`].
//! - 1×1, stride 1, no padding: every position's input channels already are a GEMM row, so the
//!   GEMM reads the input in place, all images as one matrix.
//! - Anything else: the GEMM reads each position's window in place from the input, padded
//!   with zeros where the windows need it a band of rows at a time (`padded.rs`): a kernel
//!   row's taps are one run of adjacent channels (with groups or dilation, a tap's channels
//!   are), so no im2col copy.
//!
//! Threads share blocks of positions, or on a small plane the output channels ([`Split`]).

use super::depthwise;
use super::gemm::{GroupGemm, Left, MAX_BLOCK_ROWS, MR, OutMatrix, block_rows};
use super::pack::{GemmWeights, is_depthwise};
use super::padded::{band_output_rows, padded_extent, rows_read, with_padded_rows};
use super::split::Split;
use crate::FloatBuffer;
use crate::fast::buffers;
use crate::fast::epilogue::Epilogue;
use crate::reference::broadcast::element_count;
use crate::reference::conv::ConvGeometry;
use crate::reference::window::{AxisGeometry, ShapeError, shape_bail};
use crate::team;

pub use super::pack::{pack_weights, pack_weights_owned, packed_len_of};
pub use super::padded::ImageLayout;

/// The packed length [`pack_weights`] gives for `g`'s weights.
pub fn packed_len(g: &ConvGeometry) -> usize {
    let cin_g = g.in_channels / g.group;
    let taps: usize = g.axes.iter().map(|a| a.kernel).product();
    if is_depthwise(g.out_channels, cin_g, g.group) {
        taps * g.out_channels
    } else {
        GemmWeights::new(g.out_channels, cin_g, taps, g.group).len()
    }
}

/// Runs the 2-D convolution `g` on NHWC `input` with `packed` weights and the fused
/// `epilogue`; the output is NHWC.
pub fn conv(
    g: &ConvGeometry,
    input: &[f32],
    packed: &[f32],
    epilogue: &Epilogue<'_>,
) -> Result<FloatBuffer, ShapeError> {
    conv_on(g, ImageLayout::Nhwc, input, packed, epilogue)
}

/// Whether [`conv_on`] takes `g` with NCHW input: a convolution whose windows go through the
/// padded bands (not 1×1 in place, not depthwise).
pub fn reads_nchw(g: &ConvGeometry) -> bool {
    g.axes.len() == 2
        && !is_depthwise(g.out_channels, g.in_channels / g.group.max(1), g.group)
        && !g.axes.iter().all(is_pointwise)
}

/// [`conv`] on input laid out as `layout` says; the output and the residual are NHWC. NCHW
/// input (a network's input image) is for the convolutions [`reads_nchw`] accepts: their
/// bands of padded rows are written channels-last straight from the planes, so the image
/// needs no transpose of its own.
pub fn conv_on(
    g: &ConvGeometry,
    layout: ImageLayout,
    input: &[f32],
    packed: &[f32],
    epilogue: &Epilogue<'_>,
) -> Result<FloatBuffer, ShapeError> {
    if g.axes.len() != 2 {
        shape_bail!("NHWC convolution is 2-D, got {} spatial axes", g.axes.len());
    }
    if layout == ImageLayout::Nchw && !reads_nchw(g) {
        shape_bail!("a 1×1 or depthwise convolution does not read NCHW input: {g:?}");
    }
    let mut out = output_buffer(g, input, packed, packed_len(g), epilogue)?;
    if out.is_empty() {
        return Ok(out);
    }
    let cin_g = g.in_channels / g.group;
    if is_depthwise(g.out_channels, cin_g, g.group) && depthwise::supports(g) {
        depthwise::depthwise(g, input, packed, epilogue, &mut out);
        return Ok(out);
    }
    let taps = g.axes.iter().map(|a| a.kernel).product();
    let weights = GemmWeights::new(g.out_channels, cin_g, taps, g.group);
    let matrix = OutMatrix::new(&mut out, g.out_channels);
    let groups: Vec<GroupGemm<'_>> = (0..g.group)
        .map(|group| GroupGemm {
            weights,
            panels: weights.group_panels(packed, group),
            first_channel: group * weights.cout_g,
            epilogue,
            out: matrix,
        })
        .collect();
    if g.axes.iter().all(is_pointwise) {
        pointwise(g, input, &groups);
    } else {
        windowed(g, layout, input, &groups);
    }
    Ok(out)
}

/// The buffer for `g`'s output, once the input, the packed weights (`packed_len` floats)
/// and the epilogue are checked against `g`.
pub(super) fn output_buffer(
    g: &ConvGeometry,
    input: &[f32],
    packed: &[f32],
    packed_len: usize,
    epilogue: &Epilogue<'_>,
) -> Result<FloatBuffer, ShapeError> {
    let out_len = element_count(&g.output_shape())?;
    if input.len() != element_count(&g.input_shape())? || packed.len() != packed_len {
        shape_bail!(
            "NHWC Conv buffers do not match input {:?} and weight {:?}",
            g.input_shape(),
            g.weight_shape()
        );
    }
    epilogue.check(g.out_channels, out_len)?;
    Ok(buffers::take(out_len))
}

/// An axis on which the convolution reads input `i` for output `i`: no window at all.
fn is_pointwise(a: &AxisGeometry) -> bool {
    a.kernel == 1 && a.stride == 1 && a.pad_begin == 0 && a.pad_end == 0 && a.input == a.output
}

/// 1×1, stride 1: the GEMM's rows are the input's positions, read in place.
fn pointwise(g: &ConvGeometry, input: &[f32], groups: &[GroupGemm<'_>]) {
    let weights = groups[0].weights;
    let cin_g = g.in_channels / g.group;
    let rows = input.len() / g.in_channels;
    let split = Split::new(rows, &weights, g.group);
    let block = block_rows(weights.depth);
    team::for_each_part(split.parts, |part| {
        let (mine, panels) = (split.rows(part, rows), split.panels(part, weights.panels));
        for m0 in mine.clone().step_by(block) {
            let count = block.min(mine.end - m0);
            for (group, gemm) in groups.iter().enumerate() {
                let a = &input[m0 * g.in_channels + group * cin_g..];
                gemm.block(a, g.in_channels, count, m0, panels.clone());
            }
        }
    });
}

/// Any other window: the GEMM reads each position's window from a band of padded rows, a
/// kernel row (or, with groups or dilation, a tap) at a time.
fn windowed(g: &ConvGeometry, layout: ImageLayout, input: &[f32], groups: &[GroupGemm<'_>]) {
    let weights = groups[0].weights;
    let [h, w] = [&g.axes[0], &g.axes[1]];
    let (cin, cin_g) = (g.in_channels, g.in_channels / g.group);
    let line = padded_extent(w) * cin;
    // Each group's window, as offsets from the window's first element in the packed depth's
    // order (tap by tap, a tap's channels together): one run per kernel row when a row's
    // taps are adjacent positions of one channel run.
    let contiguous = g.group == 1 && w.dilation == 1;
    let segment_len = if contiguous { w.kernel * cin } else { cin_g };
    let segments: Vec<usize> = (0..g.group)
        .flat_map(|group| {
            (0..h.kernel).flat_map(move |ky| {
                let taps = if contiguous { 1 } else { w.kernel };
                (0..taps)
                    .map(move |kx| ky * h.dilation * line + kx * w.dilation * cin + group * cin_g)
            })
        })
        .collect();
    let per_group = segments.len() / g.group;
    let positions = h.output * w.output;
    let split = Split::new(positions * g.batch, &weights, g.group);
    let split = Split {
        rows_per_part: positions.div_ceil(split.parts).next_multiple_of(MR),
        ..split
    };
    let block = block_rows(weights.depth);
    let band_rows = band_output_rows(g, line);
    let image_len = h.input * w.input * cin;
    for (n, image) in input.chunks_exact(image_len).enumerate() {
        team::for_each_part(split.parts, |part| {
            let (mine, panels) = (
                split.rows(part, positions),
                split.panels(part, weights.panels),
            );
            if mine.is_empty() {
                return;
            }
            let out_rows = mine.start / w.output..(mine.end - 1) / w.output + 1;
            for oy0 in out_rows.clone().step_by(band_rows) {
                let band = oy0..(oy0 + band_rows).min(out_rows.end);
                let band_positions =
                    (band.start * w.output).max(mine.start)..(band.end * w.output).min(mine.end);
                let rows = rows_read(g, &band);
                with_padded_rows(g, layout, image, rows.clone(), |padded| {
                    let mut starts = [0usize; MAX_BLOCK_ROWS];
                    for m0 in band_positions.clone().step_by(block) {
                        let count = block.min(band_positions.end - m0);
                        let (mut oy, mut ox) = (m0 / w.output, m0 % w.output);
                        for start in &mut starts[..count] {
                            *start = (oy * h.stride - rows.start) * line + ox * w.stride * cin;
                            ox += 1;
                            if ox == w.output {
                                (oy, ox) = (oy + 1, 0);
                            }
                        }
                        for (gemm, segments) in groups.iter().zip(segments.chunks_exact(per_group))
                        {
                            let left = Left {
                                a: padded,
                                starts: &starts[..count],
                                segments,
                                segment_len,
                            };
                            gemm.rows(&left, n * positions + m0, panels.clone());
                        }
                    }
                });
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_len_matches_pack_weights() {
        use crate::reference::window::{AutoPad, WindowParams};
        let window = WindowParams {
            kernel: vec![3, 3],
            strides: vec![],
            dilations: vec![],
            pads: vec![1, 1, 1, 1],
            auto_pad: AutoPad::NotSet,
            ceil_mode: false,
        };
        for (cin, cout, group) in [(8, 24, 1), (8, 8, 8), (12, 18, 3)] {
            let g = ConvGeometry::new(&[1, cin, 5, 5], &[cout, cin / group, 3, 3], &window, group)
                .unwrap();
            let weight = vec![0.5; cout * cin / group * 9];
            let packed = pack_weights(&weight, &g.weight_shape(), group).unwrap();
            assert_eq!(
                packed.len(),
                packed_len(&g),
                "{cin}→{cout} in {group} groups"
            );
        }
    }
}
