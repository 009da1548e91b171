//! im2col: lays out the input patches of a convolution as the columns of a matrix, so that the
//! convolution becomes one GEMM. Row `(channel, kz, ky, kx)` holds, for every output position,
//! the input element that tap reads (zero where it reads padding).

use std::ops::Range;

use super::dispatch::multiversion;
use super::short_copy::{copy_short, zero_short};
use crate::reference::window::AxisGeometry;

/// For one axis and one kernel tap: the outputs that read real input, and the input index the
/// first of them reads.
fn tap_span(axis: &AxisGeometry, k: usize) -> (Range<usize>, usize) {
    let outputs = axis.valid_outputs(k);
    let first = axis.input_index(outputs.start, k).unwrap_or(0);
    (outputs, first)
}

/// Row `k` of the im2col matrix of output lines `lines` (a line is one row of the last axis;
/// line `l` covers positions `l * w.output..(l + 1) * w.output`) into `row`
/// (`lines.len() * w.output` elements). Row `k` is tap `(channel, kz, ky, kx)`, in that order;
/// the caller consumes the matrix a row at a time, while the row is in L1.
pub fn im2col_row(
    row: &mut [f32],
    input: &[f32],
    axes: &[AxisGeometry; 3],
    lines: Range<usize>,
    k: usize,
) {
    let [d, h, w] = axes;
    let in_plane = d.input * h.input * w.input;
    let taps = d.kernel * h.kernel * w.kernel;
    let (channel, tap) = (k / taps, k % taps);
    let (kz, ky, kx) = (
        tap / (h.kernel * w.kernel),
        tap / w.kernel % h.kernel,
        tap % w.kernel,
    );
    let plane = &input[channel * in_plane..][..in_plane];
    let row = &mut row[..lines.len() * w.output];
    fill_row_dispatched(row, plane, [kz, ky, kx], axes, lines.start);
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
            zero_short(out);
            continue;
        }
        let iz = iz0 + (oz - zs.start) * d.stride;
        let iy = iy0 + (oy - ys.start) * h.stride;
        // The padding is a few elements at each end: calls to `memset` would cost more.
        zero_short(&mut out[..xs.start]);
        zero_short(&mut out[xs.end..]);
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
