//! Fast convolution: the same contract as `reference::conv::conv` plus a fused [`Epilogue`].
//!
//! Per image and group, the kernel is chosen by shape:
//! - depthwise (one input and one output channel per group, 1-D or 2-D): [`depthwise`];
//! - 1×1, stride 1, no padding: the input planes already are the GEMM's right operand;
//! - anything else: [`im2col`](super::im2col) of a tile's output lines, then the GEMM.
//!
//! The GEMM ([`panel_gemm`](super::panel_gemm)) applies the epilogue as it stores, so each
//! output element is written once. It runs a column tile (a range of output positions whose
//! right operand fits in L2) at a time: many tiles are shared by the threads, the few tiles
//! of a small plane split their output channels over the threads instead.

use std::ops::Range;

use super::buffers;
use super::column_tiles::ColumnTiles;
use super::depthwise;
use super::epilogue::Epilogue;
use super::im2col::{Line, TapSpan, im2col_row, tap_spans};
use super::panel_gemm::{
    Columns, DenseRows, MR, NR, OutputPlace, PanelWriter, Panels, RowSink, gemm_rows,
    with_packed_rows, with_panels,
};
use super::parallel::threads_for;
use super::scratch;
use crate::FloatBuffer;
use crate::reference::broadcast::element_count;
use crate::reference::conv::ConvGeometry;
use crate::reference::window::{AxisGeometry, ShapeError, axes3, shape_bail};
use crate::team;

/// Runs the convolution described by `g` with the fused `epilogue`.
pub fn conv(
    g: &ConvGeometry,
    input: &[f32],
    weight: &[f32],
    epilogue: &Epilogue<'_>,
) -> Result<FloatBuffer, ShapeError> {
    check_buffers(g, input, weight, epilogue)?;
    // Every path below writes every output element (the GEMM or depthwise store).
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
            grouped_gemm(g, &axes, x, weight, y, &image_epilogue);
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
    epilogue.check(g.out_channels, out_len)?;
    Ok(())
}

/// Positions per tile are chosen so that a tile's right operand (`depth × positions` floats)
/// stays in L2 while every block of output channels reads it.
const TILE_FLOATS: usize = 64 * 1024;
/// Fewer positions than this per tile would make the kernel's blocks of `NR` positions too
/// few to amortise a row block's start.
const MIN_TILE_POSITIONS: usize = 8 * NR;
/// More positions than this per tile leave too few tiles to share evenly between threads on a
/// large plane (4 tiles of a 112×112 plane made 2 threads only 1.1× as fast as one; tiles of
/// 512 positions made them 1.8×), and gain nothing on one thread.
const MAX_TILE_POSITIONS: usize = 32 * NR;

/// The sizes of one image's per-group GEMM, worked out once per convolution.
#[derive(Clone, Copy, Debug)]
struct GroupGemm {
    in_plane: usize,
    out_plane: usize,
    cin_g: usize,
    cout_g: usize,
    /// Rows of the GEMM's right operand: `cin_g × taps`.
    depth: usize,
    /// Outputs per line (a row of the last axis): im2col tiles are whole lines.
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

    fn w_group<'w>(&self, weight: &'w [f32], group: usize) -> &'w [f32] {
        &weight[group * self.cout_g * self.depth..][..self.cout_g * self.depth]
    }

    /// Tile boundaries over the output positions: whole lines for im2col (which works line by
    /// line), any multiple of `NR` for a direct 1×1.
    fn tile_bounds(&self) -> Vec<usize> {
        let positions =
            (TILE_FLOATS / self.depth.max(1)).clamp(MIN_TILE_POSITIONS, MAX_TILE_POSITIONS);
        let step = if self.direct {
            positions.div_ceil(NR) * NR
        } else {
            positions.div_ceil(self.line) * self.line
        };
        (0..self.out_plane)
            .step_by(step)
            .chain(std::iter::once(self.out_plane))
            .collect()
    }
}

/// One image: for each group, `y[group] = epilogue(W[group] · columns(x[group]))`, a column
/// tile (a range of output positions) at a time. With many tiles the threads share the
/// tiles; with few, they share each tile's output channels.
fn grouped_gemm(
    g: &ConvGeometry,
    axes: &[AxisGeometry; 3],
    x: &[f32],
    weight: &[f32],
    y: &mut [f32],
    epilogue: &Epilogue<'_>,
) {
    let shape = GroupGemm::new(g, axes);
    let bounds = shape.tile_bounds();
    let group_work = shape.cout_g * shape.out_plane * shape.depth;
    let threads = threads_for(group_work);
    let spans = if shape.direct {
        Vec::new()
    } else {
        tap_spans(axes)
    };
    let job = |group: usize| GroupJob {
        shape: &shape,
        axes,
        spans: &spans,
        x_group: shape.x_group(x, group),
        w_group: shape.w_group(weight, group),
        first_channel: group * shape.cout_g,
        epilogue,
    };
    let group_len = shape.cout_g * shape.out_plane;
    if threads == 1 && threads_for(group_work * g.group) > 1 {
        // Many small groups (RegNet's 8-channel groups): the threads share the groups.
        team::for_each_chunk_mut(y, group_len, |group, y_group| {
            for cols in bounds.windows(2).map(|b| b[0]..b[1]) {
                job(group).tile_on_threads(y_group, cols, 1);
            }
        });
        return;
    }
    let tiles = bounds.len() - 1;
    for (group, y_group) in y.chunks_exact_mut(group_len).enumerate() {
        let job = job(group);
        if threads > 1 && tiles >= 2 * threads {
            let tiles = ColumnTiles::new(y_group, shape.cout_g, bounds.clone());
            team::for_each_part(tiles.len(), |t| {
                // SAFETY: each tile index is run exactly once.
                let mut sink = unsafe { tiles.tile_rows(t) };
                let cols = tiles.columns(t);
                job.with_columns(cols.clone(), |b| {
                    job.rows(&mut sink, b, 0..shape.cout_g, cols.start);
                });
            });
        } else {
            for cols in bounds.windows(2).map(|b| b[0]..b[1]) {
                job.tile_on_threads(y_group, cols, threads);
            }
        }
    }
}

/// One group's convolution.
struct GroupJob<'a> {
    shape: &'a GroupGemm,
    axes: &'a [AxisGeometry; 3],
    /// Where each kernel tap reads (for im2col; empty for a direct 1×1).
    spans: &'a [TapSpan],
    x_group: &'a [f32],
    /// `cout_g × depth`, row-major.
    w_group: &'a [f32],
    /// The group's first output channel (its index in the bias and the residual).
    first_channel: usize,
    epilogue: &'a Epilogue<'a>,
}

impl GroupJob<'_> {
    /// The output positions `cols` of every channel, the channels split over `threads`.
    fn tile_on_threads(&self, y_group: &mut [f32], cols: Range<usize>, threads: usize) {
        let (out_plane, cout_g) = (self.shape.out_plane, self.shape.cout_g);
        self.with_columns(cols.clone(), |b| {
            let per_thread = cout_g.div_ceil(threads.max(1)).div_ceil(MR) * MR;
            if threads <= 1 || per_thread >= cout_g {
                let mut sink = DenseRows::new(y_group, out_plane, cols.clone());
                return self.rows(&mut sink, b, 0..cout_g, cols.start);
            }
            team::for_each_chunk_mut(y_group, per_thread * out_plane, |i, rows| {
                let first = i * per_thread;
                let channels = first..(first + per_thread).min(cout_g);
                let mut sink = DenseRows::new(rows, out_plane, cols.clone());
                self.rows(&mut sink, b, channels, cols.start);
            });
        });
    }

    /// Runs `f` with the right operand for output positions `cols`, packed: from the input
    /// planes for a direct 1×1, else from im2col of those (whole) lines.
    fn with_columns(&self, cols: Range<usize>, f: impl FnOnce(Panels<'_>)) {
        let shape = self.shape;
        if shape.direct {
            let b = Columns {
                data: &self.x_group[cols.start..],
                depth: shape.depth,
                row_stride: shape.in_plane,
                len: cols.len(),
            };
            return with_panels(b, f);
        }
        // im2col a row at a time into an L1-sized buffer, straight on into the panels: the
        // whole im2col matrix would be a second copy of the panels in L2.
        scratch::with_scratch(cols.len(), |row| {
            let first = Line::new(cols.start / shape.line, self.axes);
            let fill = |panels: &mut PanelWriter<'_>| {
                let planes =
                    (0..shape.cin_g).map(|c| &self.x_group[c * shape.in_plane..][..shape.in_plane]);
                let rows =
                    planes.flat_map(|plane| self.spans.iter().map(move |span| (plane, span)));
                for (k, (plane, span)) in rows.enumerate() {
                    // im2col writes every element, padding taps included.
                    im2col_row(row, plane, self.axes, span, first);
                    panels.put_row(k, row);
                }
            };
            with_packed_rows(shape.depth, cols.len(), fill, f)
        })
    }

    /// Output channels `channels` (of the group) at the positions of `b`, which start at
    /// position `first_position`; `sink` row 0 is channel `channels.start`.
    fn rows(
        &self,
        sink: &mut impl RowSink,
        b: Panels<'_>,
        channels: Range<usize>,
        first_position: usize,
    ) {
        let depth = self.shape.depth;
        let w = &self.w_group[channels.start * depth..channels.end * depth];
        let place = OutputPlace {
            first_channel: self.first_channel + channels.start,
            first_position,
            plane: self.shape.out_plane,
        };
        gemm_rows(sink, channels.len(), w, b, self.epilogue, place);
    }
}

/// An axis on which the convolution reads input `i` for output `i`: no window at all.
fn is_pointwise(a: &AxisGeometry) -> bool {
    a.kernel == 1 && a.stride == 1 && a.pad_begin == 0 && a.pad_end == 0 && a.input == a.output
}
