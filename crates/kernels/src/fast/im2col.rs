//! im2col: lays out the input patches of a convolution as the columns of a matrix, so that the
//! convolution becomes one GEMM. Row `(channel, kz, ky, kx)` holds, for every output position,
//! the input element that tap reads (zero where it reads padding).

use std::ops::Range;

use super::dispatch::multiversion;
use super::short_copy::{copy_short, zero_short};
use crate::reference::window::AxisGeometry;

/// Where one kernel tap `(kz, ky, kx)` reads, per axis: the outputs that read real input, and
/// the input index the first of them reads.
#[derive(Clone, Debug)]
pub struct TapSpan([(Range<usize>, usize); 3]);

/// Every tap's [`TapSpan`], in tap order `(kz, ky, kx)`. Worked out once per convolution:
/// im2col fills thousands of rows per convolution, and each span costs integer divisions
/// (they were most of im2col's time on ResNet's 3×3 layers).
pub fn tap_spans(axes: &[AxisGeometry; 3]) -> Vec<TapSpan> {
    let [d, h, w] = axes;
    let span = |axis: &AxisGeometry, k: usize| {
        let outputs = axis.valid_outputs(k);
        let first = axis.input_index(outputs.start, k).unwrap_or(0);
        (outputs, first)
    };
    let mut spans = Vec::with_capacity(d.kernel * h.kernel * w.kernel);
    for kz in 0..d.kernel {
        for ky in 0..h.kernel {
            for kx in 0..w.kernel {
                spans.push(TapSpan([span(d, kz), span(h, ky), span(w, kx)]));
            }
        }
    }
    spans
}

/// An output line (one row of the last axis) by its `(z, y)` coordinates.
#[derive(Clone, Copy, Debug)]
pub struct Line {
    z: usize,
    y: usize,
}

impl Line {
    /// Line number `index` (line `l` covers positions `l * w.output..(l + 1) * w.output`).
    pub fn new(index: usize, axes: &[AxisGeometry; 3]) -> Line {
        let lines_per_z = axes[1].output.max(1);
        Line {
            z: index / lines_per_z,
            y: index % lines_per_z,
        }
    }
}

// `im2col_row`, compiled per instruction set; see its body `fill_row`.
multiversion!(pub fn im2col_row(
    row: &mut [f32],
    plane: &[f32],
    axes: &[AxisGeometry; 3],
    span: &TapSpan,
    first: Line,
) => fill_row);

/// One row of the im2col matrix: what tap `span` reads from one input channel's `plane` for
/// the output positions of `row.len() / w.output` whole lines from `first` on (zero where it
/// reads padding). The caller consumes the matrix a row at a time, while the row is in L1.
#[inline(always)]
fn fill_row(row: &mut [f32], plane: &[f32], axes: &[AxisGeometry; 3], span: &TapSpan, first: Line) {
    let [d, h, w] = axes;
    let [(zs, iz0), (ys, iy0), (xs, ix0)] = &span.0;
    let (iz0, iy0, ix0) = (*iz0, *iy0, *ix0);
    if w.output == 0 {
        return;
    }
    // Each line's (z, y), stepped rather than divided out per line.
    let mut line_zy = (first.z, first.y);
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
