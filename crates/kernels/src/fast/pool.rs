//! Fast MaxPool and AveragePool: the contract of `reference::pool::pool`, without its per-tap
//! padding tests. For every output position along each axis, the taps that read real input form
//! a contiguous range; it is computed once per axis, so the window loops run over exactly the
//! input elements they need. Planes (batch × channels) are split over the pool's threads.
//!
//! The semantics are the reference's to the bit: the first tap read (in z, y, x order) starts
//! the maximum and only a strictly greater value replaces it (so NaN propagates only from the
//! first tap, as there); a window with no input gives `-inf` or NaN; the divisor counts padding
//! only with `count_include_pad` and never the part of a `ceil_mode` window past the end padding.
//! Sums run in `f32`, in the reference's order.

use super::dispatch::multiversion;
use super::parallel::{for_item_ranges, threads_for};
use crate::reference::broadcast::element_count;
use crate::reference::pool::{GlobalPoolKind, PoolGeometry, PoolKind, global_pool};
use crate::reference::window::{AxisGeometry, ShapeError, axes3, shape_bail};

/// The taps of one output position along one axis.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Taps {
    /// Input index read by the first valid tap; later taps step by the dilation.
    pub first: usize,
    /// Valid taps (those reading input, not padding).
    pub count: usize,
    /// Taps inside the explicitly padded input (the `count_include_pad` divisor).
    pub padded: usize,
}

/// The taps of every output position along `axis` (shared with the NHWC pools).
pub(crate) fn taps(axis: &AxisGeometry) -> Vec<Taps> {
    (0..axis.output)
        .map(|o| {
            let mut valid = (0..axis.kernel).filter_map(|k| axis.input_index(o, k));
            let first = valid.next();
            Taps {
                first: first.unwrap_or(0),
                count: first.map_or(0, |_| 1 + valid.count()),
                padded: (0..axis.kernel)
                    .filter(|&k| axis.in_padded_input(o, k))
                    .count(),
            }
        })
        .collect()
}

/// GlobalAveragePool: the mean of each `[n, c]` plane, output shape `[N, C, 1, ...]`. Sums in
/// `f64` like the reference, but in vector lanes (the reference's one running sum cannot be
/// vectorised); the lanes reassociate the sum, a difference far below `f32` rounding.
pub fn global_average(x: &[f32], shape: &[usize]) -> Result<(Vec<usize>, Vec<f32>), ShapeError> {
    // The reference checks the shape and the buffer, and handles the degenerate shapes.
    let plane: usize = shape.iter().skip(2).product();
    if shape.len() < 3 || x.len() != element_count(shape)? || plane == 0 {
        return global_pool(GlobalPoolKind::Average, x, shape);
    }
    let out = x
        .chunks_exact(plane)
        .map(|values| (plane_sum(values) / plane as f64) as f32)
        .collect();
    let mut out_shape = shape.to_vec();
    out_shape[2..].fill(1);
    Ok((out_shape, out))
}

/// Lanes of [`plane_sum_body`]: two AVX2 (or one AVX-512) registers of `f64`.
const SUM_LANES: usize = 8;

fn plane_sum(values: &[f32]) -> f64 {
    let mut total = 0.0;
    plane_sum_dispatched(values, &mut total);
    total
}

multiversion!(fn plane_sum_dispatched(values: &[f32], total: &mut f64) => plane_sum_body);

#[inline(always)]
fn plane_sum_body(values: &[f32], total: &mut f64) {
    let mut lanes = [0.0f64; SUM_LANES];
    let mut blocks = values.chunks_exact(SUM_LANES);
    for block in &mut blocks {
        for (l, &v) in lanes.iter_mut().zip(block) {
            *l += f64::from(v);
        }
    }
    let tail: f64 = blocks.remainder().iter().map(|&v| f64::from(v)).sum();
    *total = lanes.iter().sum::<f64>() + tail;
}

/// Runs MaxPool or AveragePool over every plane of `x`.
pub fn pool(g: &PoolGeometry, kind: PoolKind, x: &[f32]) -> Result<Vec<f32>, ShapeError> {
    let in_shape = g.input_shape();
    if x.len() != element_count(&in_shape)? {
        shape_bail!(
            "pooling buffer of {} elements does not match shape {in_shape:?}",
            x.len()
        );
    }
    let mut out = vec![0.0; element_count(&g.output_shape())?];
    let axes = axes3(&g.axes);
    let in_plane: usize = axes.iter().map(|a| a.input).product();
    let out_plane: usize = axes.iter().map(|a| a.output).product();
    if out.is_empty() || in_plane == 0 {
        out.fill(window_of_nothing(kind));
        return Ok(out);
    }
    let plan = Plan {
        axes,
        taps: [taps(&axes[0]), taps(&axes[1]), taps(&axes[2])],
        kind,
    };
    let work = out.len() * axes.iter().map(|a| a.kernel).product::<usize>();
    let separable = kind == PoolKind::Max && axes[0] == AxisGeometry::UNIT;
    for_item_ranges(
        threads_for(work),
        x,
        in_plane,
        &mut out,
        out_plane,
        |_, x, y| {
            let planes = x.chunks_exact(in_plane).zip(y.chunks_exact_mut(out_plane));
            if separable {
                let mut rows = vec![0.0; axes[1].input * axes[2].output];
                let mut phases = vec![0.0; axes[2].input + axes[2].stride];
                for (plane, out) in planes {
                    plan.max_separable(plane, out, &mut rows, &mut phases);
                }
            } else {
                for (plane, out) in planes {
                    plan.run(plane, out);
                }
            }
        },
    );
    Ok(out)
}

multiversion!(fn column_max_dispatched(
    out: &mut [f32],
    taps: &[f32],
    count: usize,
    step: usize,
) => column_max);

/// `out` = the first of `count` rows of `taps` (`step` apart), then each later row in turn
/// replaces the elements it strictly exceeds, and the NaNs.
#[inline(always)]
fn column_max(out: &mut [f32], taps: &[f32], count: usize, step: usize) {
    let n = out.len();
    let row = |k: usize| &taps[k * step..][..n];
    match count {
        2 => max_of([row(0), row(1)], out),
        3 => max_of([row(0), row(1), row(2)], out),
        _ => {
            out.copy_from_slice(row(0));
            for k in 1..count {
                for (m, &v) in out.iter_mut().zip(row(k)) {
                    *m = later_max(*m, v);
                }
            }
        }
    }
}

/// `out[j]` = the running maximum of `rows[..][j]`, in one pass: a store of every element,
/// where updating `out` in place, a row at a time, compiles to masked stores (slow on AMD).
#[inline(always)]
fn max_of<const K: usize>(rows: [&[f32]; K], out: &mut [f32]) {
    for (j, o) in out.iter_mut().enumerate() {
        let mut m = rows[0][j];
        for row in &rows[1..] {
            m = later_max(m, row[j]);
        }
        *o = m;
    }
}

/// The running maximum `m` after tap value `v`: the first largest value that is not NaN (NaN
/// only while every tap so far was NaN).
#[inline(always)]
fn later_max(m: f32, v: f32) -> f32 {
    if v > m || m.is_nan() { v } else { m }
}

multiversion!(fn row_max_dispatched(
    hmax: &mut [f32],
    row: &[f32],
    w: &AxisGeometry,
    tx: &[Taps],
    phases: &mut [f32],
) => row_max);

/// Each output column's maximum over its taps of `row`, in tap order (see [`later_max`]). The columns whose taps
/// all read input run as vector loops over the stride's phases of the row (so that each tap
/// reads consecutive elements); the few at the edges take their own taps one by one.
#[inline(always)]
fn row_max(hmax: &mut [f32], row: &[f32], w: &AxisGeometry, tx: &[Taps], phases: &mut [f32]) {
    let full = |x: &Taps| x.count == w.kernel;
    let lo = tx.iter().position(full).unwrap_or(tx.len());
    let hi = tx.iter().rposition(full).map_or(lo, |i| i + 1);
    let edges = (0..lo).chain(hi.max(lo)..tx.len());
    for i in edges {
        hmax[i] = edge_max(row, &tx[i], w.dilation);
    }
    if lo >= hi {
        return;
    }
    let s = w.stride;
    let inner = &mut hmax[lo..hi];
    let n = inner.len();
    // Phase p holds row[p], row[p + s], ...: tap k of column `lo + j` reads row[first + k * d
    // + j * s], which is element `(first + k * d) / s + j` of phase `(first + k * d) % s`.
    let phase_len = row.len().div_ceil(s);
    if s == 1 {
        phases[..row.len()].copy_from_slice(row);
    } else if s == 2 {
        let (even, odd) = phases.split_at_mut(phase_len);
        for ((e, o), pair) in even.iter_mut().zip(odd.iter_mut()).zip(row.chunks_exact(2)) {
            *e = pair[0];
            *o = pair[1];
        }
        if row.len() % 2 == 1 {
            even[phase_len - 1] = row[row.len() - 1];
        }
    } else {
        for (j, &v) in row.iter().enumerate() {
            phases[(j % s) * phase_len + j / s] = v;
        }
    }
    let tap = |k: usize| {
        let at = tx[lo].first + k * w.dilation;
        &phases[(at % s) * phase_len + at / s..][..n]
    };
    match w.kernel {
        2 => max_of([tap(0), tap(1)], inner),
        3 => max_of([tap(0), tap(1), tap(2)], inner),
        _ => {
            inner.copy_from_slice(tap(0));
            for k in 1..w.kernel {
                for (m, &v) in inner.iter_mut().zip(tap(k)) {
                    *m = later_max(*m, v);
                }
            }
        }
    }
}

/// One output column's maximum over its valid taps (see [`later_max`]), `-inf` for a window of
/// padding only.
#[inline(always)]
fn edge_max(row: &[f32], x: &Taps, dilation: usize) -> f32 {
    if x.count == 0 {
        return f32::NEG_INFINITY;
    }
    let mut m = row[x.first];
    for k in 1..x.count {
        m = later_max(m, row[x.first + k * dilation]);
    }
    m
}

fn window_of_nothing(kind: PoolKind) -> f32 {
    match kind {
        PoolKind::Max => f32::NEG_INFINITY,
        PoolKind::Average { .. } => f32::NAN,
    }
}

struct Plan {
    axes: [AxisGeometry; 3],
    taps: [Vec<Taps>; 3],
    kind: PoolKind,
}

impl Plan {
    /// 2-D MaxPool as a pass along each row (every input row's maximum over each output
    /// column's taps, into `rows`) and then one down the columns (over each output row's taps of
    /// those), both vectorised over output columns. Equal to the window-by-window maximum to
    /// the bit. The reference's window maximum is NaN when the window's first tap is NaN, and
    /// otherwise the first of the largest values that are not NaN. Both passes compute the
    /// second (a NaN is replaced by whatever follows it, and only a strictly greater value
    /// replaces anything else), which composes to the first largest in the window's row-major
    /// order; the first tap's NaN is then put back.
    fn max_separable(&self, plane: &[f32], out: &mut [f32], rows: &mut [f32], phases: &mut [f32]) {
        let [_, h, w] = &self.axes;
        let [_, ty, tx] = &self.taps;
        for (row, hmax) in plane
            .chunks_exact(w.input)
            .zip(rows.chunks_exact_mut(w.output))
        {
            row_max_dispatched(hmax, row, w, tx, phases);
        }
        for (y, out_row) in ty.iter().zip(out.chunks_exact_mut(w.output)) {
            if y.count == 0 {
                out_row.fill(f32::NEG_INFINITY);
                continue;
            }
            let taps = &rows[y.first * w.output..];
            column_max_dispatched(out_row, taps, y.count, h.dilation * w.output);
            let first_row = &plane[y.first * w.input..][..w.input];
            for (o, x) in out_row.iter_mut().zip(tx) {
                if x.count > 0 && first_row[x.first].is_nan() {
                    *o = f32::NAN;
                }
            }
        }
    }

    fn run(&self, plane: &[f32], out: &mut [f32]) {
        let [d, h, w] = &self.axes;
        let [tz, ty, tx] = &self.taps;
        let mut i = 0;
        for z in tz {
            for y in ty {
                for x in tx {
                    out[i] = self.window(plane, [z, y, x], [d, h, w]);
                    i += 1;
                }
            }
        }
    }

    fn window(&self, plane: &[f32], t: [&Taps; 3], axes: [&AxisGeometry; 3]) -> f32 {
        let [z, y, x] = t;
        let [d, h, w] = axes;
        if z.count * y.count * x.count == 0 {
            return match self.kind {
                PoolKind::Max => f32::NEG_INFINITY,
                // 0 / padded count: NaN without padding, as the reference's 0 / 0.
                PoolKind::Average { count_include_pad } => {
                    let padded = z.padded * y.padded * x.padded;
                    0.0 / if count_include_pad { padded } else { 0 } as f32
                }
            };
        }
        let rows = (0..z.count).flat_map(|kz| {
            let iz = z.first + kz * d.dilation;
            (0..y.count).map(move |ky| (iz * h.input + y.first + ky * h.dilation) * w.input)
        });
        match self.kind {
            PoolKind::Max => {
                let mut max = None;
                for row in rows {
                    let row = &plane[row + x.first..];
                    for kx in 0..x.count {
                        let v = row[kx * w.dilation];
                        if max.is_none_or(|m| v > m) {
                            max = Some(v);
                        }
                    }
                }
                max.unwrap_or(f32::NEG_INFINITY)
            }
            PoolKind::Average { count_include_pad } => {
                let mut sum = 0.0f32;
                for row in rows {
                    let row = &plane[row + x.first..];
                    for kx in 0..x.count {
                        sum += row[kx * w.dilation];
                    }
                }
                let divisor = if count_include_pad {
                    z.padded * y.padded * x.padded
                } else {
                    z.count * y.count * x.count
                };
                sum / divisor as f32
            }
        }
    }
}
