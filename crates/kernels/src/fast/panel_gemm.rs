//! The GEMM of a convolution: `out = epilogue(W · B)`, where `W` is the weight matrix read in
//! place (output channels × depth, row-major, as stored) and `B` is `depth` rows of output
//! positions (the input planes themselves for a 1×1 convolution, im2col rows otherwise).
//!
//! `B` is first packed into cache-line-aligned panels of `NR` positions (zero-padded at the
//! end), so that the kernel reads each panel as one sequential stream. The output is then
//! computed `MR` channels × `NR` positions at a time in registers, `KC` steps of depth at a
//! time (so that the `MR` weight rows, read in place as `MR` streams, stay in L1), and stored
//! through a small strip buffer that stays in L1; bias, residual and activation are applied
//! on the way from the strip to the output, so each output element is written once.

use std::ops::Range;

use super::activation::{Activation, apply_body};
use super::dispatch::multiversion;
use super::epilogue::Epilogue;
use super::prefetch;
use super::scratch;

/// Output channels computed together: each weight broadcast feeds `NR / 8` FMAs.
pub(crate) const MR: usize = 6;
const _: () = assert!(
    MR == 6,
    "strip_for_rows instantiates the kernel for 1 to 6 rows"
);
/// Output positions computed together: two 8-lane vectors on AVX2 (one on AVX-512).
pub(crate) const NR: usize = 16;
/// Positions per strip: `MR × STRIP` floats (6 KB) stay in L1 between the kernel and the store.
const STRIP: usize = 16 * NR;
/// Depth steps per pass over a strip: `MR × KC` weights (6 KB) and one panel's `KC × NR`
/// positions (16 KB) fit in L1 together.
const KC: usize = 256;

/// The right operand before packing: `depth` rows of positions; row `k`, position `j` is
/// `data[k * row_stride + j]`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Columns<'a> {
    pub data: &'a [f32],
    pub depth: usize,
    pub row_stride: usize,
    /// Positions per row.
    pub len: usize,
}

/// The right operand packed: panel `i` holds positions `i * NR..` as `depth` rows of `NR`
/// (`data[(i * depth + k) * NR + j]`), zero past the last position.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Panels<'a> {
    data: &'a [f32],
    depth: usize,
    /// Positions (the last panel may be partial).
    len: usize,
}

/// Runs `f` with `b` packed into this thread's panel scratch.
pub(crate) fn with_panels<R>(b: Columns<'_>, f: impl FnOnce(Panels<'_>) -> R) -> R {
    assert!(
        b.len == 0 || b.depth == 0 || (b.depth - 1) * b.row_stride + b.len <= b.data.len(),
        "B does not hold {} rows of {} positions",
        b.depth,
        b.len
    );
    let fill = |panels: &mut PanelWriter<'_>| {
        for k in 0..b.depth {
            panels.put_row(k, &b.data[k * b.row_stride..][..b.len]);
        }
    };
    with_packed_rows(b.depth, b.len, fill, f)
}

/// Runs `f` with `depth` rows of `len` positions packed into this thread's panel scratch,
/// after `fill` has put every row (in any order) through the writer it is given.
pub(crate) fn with_packed_rows<R>(
    depth: usize,
    len: usize,
    fill: impl FnOnce(&mut PanelWriter<'_>),
    f: impl FnOnce(Panels<'_>) -> R,
) -> R {
    scratch::with_panels(len.div_ceil(NR) * depth * NR, |data| {
        let mut writer = PanelWriter { data, depth, len };
        fill(&mut writer);
        f(Panels {
            data: writer.data,
            depth,
            len,
        })
    })
}

/// Lays rows of the right operand out as panels (see [`Panels`]).
pub(crate) struct PanelWriter<'a> {
    data: &'a mut [f32],
    depth: usize,
    len: usize,
}

impl PanelWriter<'_> {
    /// Row `k`'s positions (the first `len` of `row`) into their panels, zero-padded.
    pub(crate) fn put_row(&mut self, k: usize, row: &[f32]) {
        for (i, chunk) in row[..self.len].chunks(NR).enumerate() {
            let dst = &mut self.data[(i * self.depth + k) * NR..][..NR];
            if let Ok(whole) = <&[f32; NR]>::try_from(chunk) {
                dst.copy_from_slice(whole);
            } else {
                dst[..chunk.len()].copy_from_slice(chunk);
                dst[chunk.len()..].fill(0.0);
            }
        }
    }
}

/// Where computed rows go: output row `r` (0-based within the call's rows) at the positions of
/// the call, after the epilogue.
pub(crate) trait RowSink {
    /// The output positions of row `r` (as many as `Columns::len`).
    fn row(&mut self, r: usize) -> &mut [f32];
}

/// Rows of a dense row-major matrix, at one range of columns.
pub(crate) struct DenseRows<'a> {
    data: &'a mut [f32],
    row_len: usize,
    columns: Range<usize>,
}

impl<'a> DenseRows<'a> {
    pub(crate) fn new(data: &'a mut [f32], row_len: usize, columns: Range<usize>) -> Self {
        DenseRows {
            data,
            row_len,
            columns,
        }
    }
}

impl RowSink for DenseRows<'_> {
    fn row(&mut self, r: usize) -> &mut [f32] {
        &mut self.data[r * self.row_len..][self.columns.clone()]
    }
}

/// Where in the output a call's rows and positions lie, for the epilogue's per-channel bias
/// and its residual (which has the output's layout: channel planes of `plane` positions).
#[derive(Clone, Copy, Debug)]
pub(crate) struct OutputPlace {
    pub first_channel: usize,
    pub first_position: usize,
    pub plane: usize,
}

/// `sink[r] = epilogue(w[r] · b)` for the `rows` rows of `w` (row-major, each `b.depth`
/// long).
pub(crate) fn gemm_rows(
    sink: &mut impl RowSink,
    rows: usize,
    w: &[f32],
    b: Panels<'_>,
    epilogue: &Epilogue<'_>,
    place: OutputPlace,
) {
    let depth = b.depth;
    assert_eq!(w.len(), rows * depth, "W is not {rows} rows of {depth}");
    if depth == 0 {
        return zero_depth(sink, rows, b.len, epilogue, place);
    }
    let mut strip = [0.0f32; MR * STRIP];
    for r0 in (0..rows).step_by(MR) {
        let block_rows = MR.min(rows - r0);
        let a = &w[r0 * depth..][..block_rows * depth];
        for c0 in (0..b.len).step_by(STRIP) {
            let width = STRIP.min(b.len - c0);
            let panels = &b.data[c0 / NR * depth * NR..][..width.div_ceil(NR) * depth * NR];
            // A last block of at most half a panel runs on the half-width kernel: on a 7×7
            // plane (49 positions) that computes 56 positions instead of 64.
            let narrow = !width.is_multiple_of(NR) && width % NR <= NR / 2;
            let wide_len = panels.len() - if narrow { depth * NR } else { 0 };
            let (wide, last) = panels.split_at(wide_len);
            // The output lines are requested now, so that their misses overlap with the
            // strip's arithmetic instead of stalling the stores below.
            for r in 0..block_rows {
                prefetch::for_write(&sink.row(r0 + r)[c0..][..width]);
            }
            strip_dispatched(&mut strip, a, depth, wide, false);
            if narrow {
                let at = wide_len / depth;
                strip_dispatched(&mut strip[at..], a, depth, last, true);
            }
            for r in 0..block_rows {
                let channel = place.first_channel + r0 + r;
                let offset = channel * place.plane + place.first_position + c0;
                let bias = epilogue.bias.map_or(0.0, |b| b[channel]);
                let residual = epilogue.residual.map(|res| &res[offset..][..width]);
                let dst = &mut sink.row(r0 + r)[c0..][..width];
                let values = &strip[r * STRIP..][..width];
                store_row(dst, values, bias, residual, epilogue.activation);
            }
        }
    }
}

multiversion!(fn store_row(
    dst: &mut [f32],
    values: &[f32],
    bias: f32,
    residual: Option<&[f32]>,
    activation: Activation,
) => store_row_body);

/// `dst = activation(values + bias (+ residual))`.
#[inline(always)]
fn store_row_body(
    dst: &mut [f32],
    values: &[f32],
    bias: f32,
    residual: Option<&[f32]>,
    activation: Activation,
) {
    match residual {
        Some(res) => {
            for ((o, &v), &r) in dst.iter_mut().zip(values).zip(res) {
                *o = v + bias + r;
            }
        }
        None => {
            for (o, &v) in dst.iter_mut().zip(values) {
                *o = v + bias;
            }
        }
    }
    apply_body(activation, dst);
}

/// A depth of zero: every output is the epilogue of nothing.
fn zero_depth(
    sink: &mut impl RowSink,
    rows: usize,
    len: usize,
    epilogue: &Epilogue<'_>,
    place: OutputPlace,
) {
    let zeros = vec![0.0f32; len];
    for r in 0..rows {
        let channel = place.first_channel + r;
        let offset = channel * place.plane + place.first_position;
        let bias = epilogue.bias.map_or(0.0, |b| b[channel]);
        let residual = epilogue.residual.map(|res| &res[offset..][..len]);
        store_row(
            &mut sink.row(r)[..len],
            &zeros,
            bias,
            residual,
            epilogue.activation,
        );
    }
}

multiversion!(fn strip_dispatched(
    strip: &mut [f32],
    a: &[f32],
    depth: usize,
    panels: &[f32],
    half: bool,
) => strip_for_rows);

/// [`strip_body`] instantiated for the number of rows of `a` (`MR`, or fewer for the last
/// rows of a matrix) and for whole or `half` panels.
#[inline(always)]
fn strip_for_rows(strip: &mut [f32], a: &[f32], depth: usize, panels: &[f32], half: bool) {
    const H: usize = NR / 2;
    match (a.len() / depth, half) {
        (6, false) => strip_body::<6, NR>(strip, a, depth, panels),
        (6, true) => strip_body::<6, H>(strip, a, depth, panels),
        (5, false) => strip_body::<5, NR>(strip, a, depth, panels),
        (5, true) => strip_body::<5, H>(strip, a, depth, panels),
        (4, false) => strip_body::<4, NR>(strip, a, depth, panels),
        (4, true) => strip_body::<4, H>(strip, a, depth, panels),
        (3, false) => strip_body::<3, NR>(strip, a, depth, panels),
        (3, true) => strip_body::<3, H>(strip, a, depth, panels),
        (2, false) => strip_body::<2, NR>(strip, a, depth, panels),
        (2, true) => strip_body::<2, H>(strip, a, depth, panels),
        (1, false) => strip_body::<1, NR>(strip, a, depth, panels),
        (1, true) => strip_body::<1, H>(strip, a, depth, panels),
        (rows, _) => unreachable!("a row block has 1 to {MR} rows, not {rows}"),
    }
}

/// One `R × W` block per panel of `panels` (each `depth × NR`, of which the first `W`
/// positions are computed) into `strip` (rows `STRIP` apart, block `i` at `i * NR`): block `i`
/// is `a · panel i`, where `a` is `R` rows of `depth`.
#[inline(always)]
fn strip_body<const R: usize, const W: usize>(
    strip: &mut [f32],
    a: &[f32],
    depth: usize,
    panels: &[f32],
) {
    let rows: [&[f32]; R] = std::array::from_fn(|r| &a[r * depth..][..depth]);
    let blocks = panels.len() / (depth * NR);
    assert!(blocks <= STRIP / NR && strip.len() >= (R - 1) * STRIP + blocks * NR);
    for k0 in (0..depth).step_by(KC) {
        let steps = KC.min(depth - k0);
        for (i, panel) in panels.chunks_exact(depth * NR).enumerate() {
            let panel = &panel[k0 * NR..][..steps * NR];
            let mut acc = [[0.0f32; W]; R];
            if k0 > 0 {
                for (r, acc) in acc.iter_mut().enumerate() {
                    acc.copy_from_slice(&strip[r * STRIP + i * NR..][..W]);
                }
            }
            for (k, bk) in panel.chunks_exact(NR).enumerate() {
                let bk: &[f32; W] = bk[..W].try_into().unwrap();
                // SAFETY: `k0 + k < depth`, the length of every row of `rows`. Unchecked
                // because the bounds checks were a third of this loop's instructions, which
                // run at the machine's issue width.
                let ak: [f32; R] =
                    std::array::from_fn(|r| unsafe { *rows[r].get_unchecked(k0 + k) });
                for r in 0..R {
                    for l in 0..W {
                        acc[r][l] = ak[r].mul_add(bk[l], acc[r][l]);
                    }
                }
            }
            for (r, acc) in acc.iter().enumerate() {
                strip[r * STRIP + i * NR..][..W].copy_from_slice(acc);
            }
        }
    }
}
