//! Fast convolution: the same contract as `reference::conv::conv` plus a fused [`Epilogue`].
//!
//! Per image and group, the kernel is chosen by shape:
//! - depthwise (one input and one output channel per group, 1-D or 2-D): [`depthwise`];
//! - 1×1, stride 1, no padding: the input planes already are the GEMM's right operand;
//! - anything else: [`im2col`] into a per-thread scratch matrix, then one GEMM.
//!
//! The GEMM accumulates onto an output prefilled with bias and residual, and the activation
//! runs over the finished output. Large planes are computed in column tiles (whole output
//! lines) that stay in cache from the prefill to the copy out, and the tiles are what the
//! threads share; small planes go in one piece, with the GEMM split over the threads.

use rayon::prelude::*;

use super::buffers;
use super::column_tiles::ColumnTiles;
use super::depthwise;
use super::epilogue::Epilogue;
use super::im2col::{im2col, im2col_lines};
use super::matmul::{MatRef, matmul, matmul_on};
use super::parallel::{for_pieces, threads_for};
use super::scratch;
use crate::reference::broadcast::element_count;
use crate::reference::conv::ConvGeometry;
use crate::reference::window::{AxisGeometry, ShapeError, axes3, shape_bail};

/// Runs the convolution described by `g` with the fused `epilogue`.
pub fn conv(
    g: &ConvGeometry,
    input: &[f32],
    weight: &[f32],
    epilogue: &Epilogue<'_>,
) -> Result<Vec<f32>, ShapeError> {
    check_buffers(g, input, weight, epilogue)?;
    // Every path below writes every output element (prefill, GEMM or depthwise).
    let mut out = buffers::take(element_count(&g.output_shape())?);
    if out.is_empty() {
        return Ok(out);
    }
    let axes = axes3(&g.axes);
    let in_image = element_count(&g.input_shape())? / g.batch;
    let out_image = out.len() / g.batch;
    let cin_g = g.in_channels / g.group;
    let cout_g = g.out_channels / g.group;
    for (n, y) in out.chunks_exact_mut(out_image).enumerate() {
        let x = &input[n * in_image..][..in_image];
        let image_epilogue = Epilogue {
            residual: epilogue.residual.map(|r| &r[n * out_image..][..out_image]),
            ..*epilogue
        };
        if cin_g == 1 && cout_g == 1 && depthwise::supports(&axes) {
            depthwise::depthwise(&axes, x, weight, y, &image_epilogue);
        } else {
            grouped_gemm(g, &axes, x, weight, y, &image_epilogue)?;
        }
    }
    Ok(out)
}

fn check_buffers(
    g: &ConvGeometry,
    input: &[f32],
    weight: &[f32],
    epilogue: &Epilogue<'_>,
) -> Result<(), ShapeError> {
    let out_len = element_count(&g.output_shape())?;
    if input.len() != element_count(&g.input_shape())?
        || weight.len() != element_count(&g.weight_shape())?
    {
        shape_bail!(
            "Conv buffers do not match input {:?} and weight {:?}",
            g.input_shape(),
            g.weight_shape()
        );
    }
    if epilogue.bias.is_some_and(|b| b.len() != g.out_channels) {
        shape_bail!("Conv bias must have {} elements", g.out_channels);
    }
    if epilogue.residual.is_some_and(|r| r.len() != out_len) {
        shape_bail!(
            "Conv residual must have the output's shape {:?}",
            g.output_shape()
        );
    }
    Ok(())
}

/// Output positions per tile are chosen so that a tile's output rows and im2col columns
/// (`(cout + depth) × positions` floats) fit in this budget, well inside a 1 MB L2: bias,
/// GEMM, activation and the copy out then run on cached data, where whole planes would go to
/// memory and back once per pass.
const TILE_FLOATS: usize = 64 * 1024;
/// Fewer positions than this per tile would make the GEMM repack its weights too often.
const MIN_TILE_POSITIONS: usize = 512;

/// The sizes of one image's per-group GEMM, worked out once per convolution.
#[derive(Clone, Copy, Debug)]
struct GroupGemm {
    in_plane: usize,
    out_plane: usize,
    cin_g: usize,
    cout_g: usize,
    /// Rows of the GEMM's right operand: `cin_g × taps`.
    depth: usize,
    /// Outputs per line (a row of the last axis): tiles are whole lines.
    line: usize,
    /// 1×1, stride 1, no padding: the input planes are the right operand as they are.
    direct: bool,
}

impl GroupGemm {
    fn new(g: &ConvGeometry, axes: &[AxisGeometry; 3]) -> GroupGemm {
        let cin_g = g.in_channels / g.group;
        GroupGemm {
            in_plane: axes.iter().map(|a| a.input).product(),
            out_plane: axes.iter().map(|a| a.output).product(),
            cin_g,
            cout_g: g.out_channels / g.group,
            depth: cin_g * axes.iter().map(|a| a.kernel).product::<usize>(),
            line: axes[2].output.max(1),
            direct: axes.iter().all(is_pointwise),
        }
    }

    fn x_group<'x>(&self, x: &'x [f32], group: usize) -> &'x [f32] {
        &x[group * self.cin_g * self.in_plane..][..self.cin_g * self.in_plane]
    }

    fn w_group<'w>(&self, weight: &'w [f32], group: usize) -> MatRef<'w> {
        MatRef::row_major(
            &weight[group * self.cout_g * self.depth..],
            self.cout_g,
            self.depth,
        )
    }
}

/// One image: for each group, `y[group] (+)= W[group] · columns(x[group])`, then the
/// activation; in column tiles (whole output lines) split over the threads when the plane is
/// large, in one piece otherwise.
fn grouped_gemm(
    g: &ConvGeometry,
    axes: &[AxisGeometry; 3],
    x: &[f32],
    weight: &[f32],
    y: &mut [f32],
    epilogue: &Epilogue<'_>,
) -> Result<(), ShapeError> {
    let shape = GroupGemm::new(g, axes);
    let (out_plane, line) = (shape.out_plane, shape.line);
    let lines = out_plane / line;
    let tile_lines = (TILE_FLOATS / (shape.cout_g + shape.depth).max(1))
        .max(MIN_TILE_POSITIONS)
        .div_ceil(line);
    if lines <= tile_lines {
        return whole_planes(&shape, axes, x, weight, y, epilogue);
    }
    let bounds: Vec<usize> = (0..lines)
        .step_by(tile_lines)
        .map(|l| l * line)
        .chain(std::iter::once(out_plane))
        .collect();
    for (group, y_group) in y.chunks_exact_mut(shape.cout_g * out_plane).enumerate() {
        let tiles = ColumnTiles::new(y_group, shape.cout_g, bounds.clone());
        let threads = threads_for(shape.cout_g * out_plane * shape.depth).min(tiles.len());
        let job = TileJob {
            shape: &shape,
            axes,
            x_group: shape.x_group(x, group),
            w_group: shape.w_group(weight, group),
            first_channel: group * shape.cout_g,
            epilogue,
            tiles: &tiles,
        };
        if threads <= 1 {
            (0..tiles.len()).try_for_each(|t| job.run(t))?;
        } else {
            (0..tiles.len())
                .into_par_iter()
                .try_for_each(|t| job.run(t))?;
        }
    }
    Ok(())
}

/// One group's convolution, computed a column tile at a time.
struct TileJob<'a> {
    shape: &'a GroupGemm,
    axes: &'a [AxisGeometry; 3],
    x_group: &'a [f32],
    w_group: MatRef<'a>,
    /// The group's first output channel (its index in the bias and the residual).
    first_channel: usize,
    epilogue: &'a Epilogue<'a>,
    tiles: &'a ColumnTiles<'a>,
}

impl TileJob<'_> {
    /// Computes tile `t` in this thread's scratch and copies it into place. Called once per
    /// tile.
    fn run(&self, t: usize) -> Result<(), ShapeError> {
        let (shape, epilogue) = (self.shape, self.epilogue);
        let cols = self.tiles.columns(t);
        let n = cols.len();
        let column_len = if shape.direct { 0 } else { shape.depth * n };
        scratch::with_scratch(shape.cout_g * n + column_len, |buf| {
            let (tile, columns) = buf.split_at_mut(shape.cout_g * n);
            if epilogue.has_addend() {
                for (oc, row) in tile.chunks_exact_mut(n).enumerate() {
                    let channel = self.first_channel + oc;
                    epilogue.prefill(row, channel, channel * shape.out_plane + cols.start);
                }
            }
            let b = if shape.direct {
                MatRef {
                    data: &self.x_group[cols.start..],
                    rows: shape.depth,
                    cols: n,
                    row_stride: shape.in_plane,
                    col_stride: 1,
                }
            } else {
                // im2col writes every element, padding taps included.
                let lines = cols.start / shape.line..cols.end / shape.line;
                im2col_lines(columns, self.x_group, shape.cin_g, self.axes, lines);
                MatRef::row_major(columns, shape.depth, n)
            };
            matmul_on(tile, self.w_group, b, epilogue.has_addend(), 1)?;
            epilogue.activation.apply(tile);
            // SAFETY: `grouped_gemm` runs each tile index exactly once.
            unsafe { self.tiles.write_tile(t, tile) };
            Ok(())
        })
    }
}

/// One image in one piece: the output planes are prefilled, the GEMM (split over the threads
/// by `matmul`) accumulates onto them, and the activation runs over the result.
fn whole_planes(
    shape: &GroupGemm,
    axes: &[AxisGeometry; 3],
    x: &[f32],
    weight: &[f32],
    y: &mut [f32],
    epilogue: &Epilogue<'_>,
) -> Result<(), ShapeError> {
    let (out_plane, depth) = (shape.out_plane, shape.depth);
    if epilogue.has_addend() {
        for (oc, plane) in y.chunks_exact_mut(out_plane).enumerate() {
            epilogue.prefill(plane, oc, oc * out_plane);
        }
    }
    for (group, y_group) in y.chunks_exact_mut(shape.cout_g * out_plane).enumerate() {
        let x_group = shape.x_group(x, group);
        let w_group = shape.w_group(weight, group);
        if shape.direct {
            let columns = MatRef::row_major(x_group, depth, out_plane);
            matmul(y_group, w_group, columns, epilogue.has_addend())?;
        } else {
            // im2col writes every element, padding taps included.
            scratch::with_scratch(depth * out_plane, |buf| {
                im2col(buf, x_group, shape.cin_g, axes);
                let columns = MatRef::row_major(buf, depth, out_plane);
                matmul(y_group, w_group, columns, epilogue.has_addend())
            })?;
        }
    }
    let activation = epilogue.activation;
    for_pieces(threads_for(y.len()), y, |piece| activation.apply(piece));
    Ok(())
}

/// An axis on which the convolution reads input `i` for output `i`: no window at all.
fn is_pointwise(a: &AxisGeometry) -> bool {
    a.kernel == 1 && a.stride == 1 && a.pad_begin == 0 && a.pad_end == 0 && a.input == a.output
}
