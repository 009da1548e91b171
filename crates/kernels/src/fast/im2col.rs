//! im2col: lays out the input patches of a convolution as the columns of a matrix, so that the
//! convolution becomes one GEMM. Row `(channel, kz, ky, kx)` holds, for every output position,
//! the input element that tap reads (zero where it reads padding).

use std::ops::Range;

use super::dispatch::multiversion;
use super::short_copy::copy_short;
use crate::reference::window::AxisGeometry;

/// For one axis and one kernel tap: the outputs that read real input, and the input index the
/// first of them reads.
fn tap_span(axis: &AxisGeometry, k: usize) -> (Range<usize>, usize) {
    let outputs = axis.valid_outputs(k);
    let first = axis.input_index(outputs.start, k).unwrap_or(0);
    (outputs, first)
}

/// Fills every element of `columns` (`channels * taps` rows of `out_plane` elements) from
/// `input` (`channels` planes of the input) for the three spatial axes `axes` (unit axes in
/// front for lower ranks); taps that read padding get zero.
pub fn im2col(columns: &mut [f32], input: &[f32], channels: usize, axes: &[AxisGeometry; 3]) {
    let lines = axes[0].output * axes[1].output;
    im2col_lines(columns, input, channels, axes, 0..lines);
}

/// [`im2col`] for the output positions of output lines `lines` only (a line is one row of the
/// last axis; line `l` covers positions `l * w.output..(l + 1) * w.output`): each row of
/// `columns` has `lines.len() * w.output` elements. Lets a convolution work on tiles of its
/// output that stay in cache.
pub fn im2col_lines(
    columns: &mut [f32],
    input: &[f32],
    channels: usize,
    axes: &[AxisGeometry; 3],
    lines: Range<usize>,
) {
    let [d, h, w] = axes;
    let in_plane = d.input * h.input * w.input;
    let row_len = lines.len() * w.output;
    if row_len == 0 {
        return;
    }
    let mut rows = columns.chunks_exact_mut(row_len);
    for c in 0..channels {
        let plane = &input[c * in_plane..][..in_plane];
        for kz in 0..d.kernel {
            for ky in 0..h.kernel {
                for kx in 0..w.kernel {
                    let Some(row) = rows.next() else { return };
                    fill_row_dispatched(row, plane, [kz, ky, kx], axes, lines.start);
                }
            }
        }
    }
}

multiversion!(fn fill_row_dispatched(
    row: &mut [f32],
    plane: &[f32],
    taps: [usize; 3],
    axes: &[AxisGeometry; 3],
    first_line: usize,
) => fill_row);

/// One im2col row: tap `(kz, ky, kx)` of the output positions from line `first_line` on,
/// zero where it reads padding.
#[inline(always)]
fn fill_row(
    row: &mut [f32],
    plane: &[f32],
    taps: [usize; 3],
    axes: &[AxisGeometry; 3],
    first_line: usize,
) {
    let [d, h, w] = axes;
    let (zs, iz0) = tap_span(d, taps[0]);
    let (ys, iy0) = tap_span(h, taps[1]);
    let (xs, ix0) = tap_span(w, taps[2]);
    if w.output == 0 {
        return;
    }
    // One fill for the whole row when this tap reads any padding, rather than a short fill
    // per line: on small planes those calls cost more than the copies.
    let pads = xs.len() < w.output || zs.len() < d.output || ys.len() < h.output;
    if pads {
        row.fill(0.0);
    }
    // Each line's (z, y), stepped rather than divided out per line.
    let mut line_zy = (first_line / h.output, first_line % h.output);
    for out in row.chunks_exact_mut(w.output) {
        let (oz, oy) = line_zy;
        line_zy = if oy + 1 == h.output {
            (oz + 1, 0)
        } else {
            (oz, oy + 1)
        };
        if xs.is_empty() || !zs.contains(&oz) || !ys.contains(&oy) {
            continue;
        }
        let iz = iz0 + (oz - zs.start) * d.stride;
        let iy = iy0 + (oy - ys.start) * h.stride;
        let out = &mut out[xs.clone()];
        let src = &plane[(iz * h.input + iy) * w.input + ix0..];
        if w.stride == 1 {
            copy_short(out, src);
        } else if w.stride == 2 {
            // Every other element, taken as the first of each pair: a constant chunk length
            // the compiler turns into vector shuffles.
            let (last, firsts) = out.split_last_mut().expect("xs is not empty");
            for (o, pair) in firsts.iter_mut().zip(src.chunks_exact(2)) {
                *o = pair[0];
            }
            *last = src[firsts.len() * 2];
        } else if let Some((last, firsts)) = out.split_last_mut() {
            // Every `stride`-th element, taken as the first of each `stride`-long chunk: a
            // loop the compiler vectorises, where `step_by` stays scalar (stride-2 stems).
            let chunks = src[..firsts.len() * w.stride].chunks_exact(w.stride);
            for (o, chunk) in firsts.iter_mut().zip(chunks) {
                *o = chunk[0];
            }
            *last = src[firsts.len() * w.stride];
        }
    }
}
