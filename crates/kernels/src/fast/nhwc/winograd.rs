//! 3×3 stride-1 convolutions by Winograd's minimal filtering F(2×2, 3×3): each 2×2 block of
//! outputs comes from a 4×4 tile of the input through 16 products per pair of channels
//! instead of 36.
//!
//! The filters are transformed once, at load (`U = G g Gᵀ`, [`pack_weights`]); at run time
//! each input tile is transformed (`V = Bᵀ d B`, additions only), the 16 positions of a tile
//! become 16 independent GEMMs over the input channels (`M[p] = V[p] · U[p]`, on the same
//! register-blocked GEMM as every other NHWC convolution), and `Y = Aᵀ M A` gives the four
//! outputs, with the bias, the residual and the activation applied before the one store.
//! A thread takes a block of tiles at a time, sized so that its `V` and `M` stay in L2.
//!
//! It pays where the GEMM is most of the work and the transformed weights (16/9 of the
//! originals) are read by many tiles: ResNet's and SqueezeNet's 3×3 layers, not a depthwise
//! convolution, a stem with three input channels or a 7×7 plane ([`applies`]).

use std::ops::Range;

use super::conv::output_buffer;
use super::gemm::{GroupGemm, MR, OutMatrix};
use super::pack::{GemmWeights, NR};
use crate::FloatBuffer;
use crate::fast::activation::{Activation, apply_body};
use crate::fast::dispatch::multiversion;
use crate::fast::epilogue::Epilogue;
use crate::fast::parallel::threads_for;
use crate::fast::scratch;
use crate::reference::conv::ConvGeometry;
use crate::reference::window::{ShapeError, shape_bail};
use crate::team;

/// Values in a transformed tile: 4×4.
const POSITIONS: usize = 16;

/// Fewer input channels than this make the GEMMs too shallow to pay for the transforms:
/// SqueezeNet's 16 → 64 at 55×55 took 1.4× as long as the direct convolution, its 32 → 128
/// and 48 → 192 the same time.
const MIN_IN_CHANNELS: usize = 64;

/// Fewer output channels than this leave the output transform too large beside the GEMM.
const MIN_OUT_CHANNELS: usize = 16;

/// Input × output channels up to this: transformed weights of at most 1 MB a layer. They
/// are 16/9 of the originals, and resident memory is held to the weights plus 15 MB: with
/// ResNet18's 256-channel stage as well, its transformed weights alone added 5.5 MB.
const MAX_CHANNEL_PAIRS: usize = 128 * 128;

/// Tiles per image at least (a 28×28 output). On 14×14 and 13×13 planes (ResNet's third
/// stage, SqueezeNet's last) the gain was small or none beside the memory.
const MIN_TILES: usize = 196;

/// Whether [`conv`] can compute `g`: 2-D, 3×3, stride 1, no dilation, one group, some
/// channels.
pub fn supports(g: &ConvGeometry) -> bool {
    g.group == 1
        && g.in_channels > 0
        && g.out_channels > 0
        && g.axes.len() == 2
        && g.axes
            .iter()
            .all(|a| a.kernel == 3 && a.stride == 1 && a.dilation == 1)
}

/// Whether `g` should run on [`conv`]: it [`supports`] it, and it is faster there than on
/// the direct GEMM.
pub fn applies(g: &ConvGeometry) -> bool {
    supports(g)
        && g.in_channels >= MIN_IN_CHANNELS
        && g.out_channels >= MIN_OUT_CHANNELS
        && g.in_channels * g.out_channels <= MAX_CHANNEL_PAIRS
        && g.axes[0].output.div_ceil(2) * g.axes[1].output.div_ceil(2) >= MIN_TILES
}

/// The layout of one position's transformed weights: a GEMM of depth `in_channels`.
fn position_weights(in_channels: usize, out_channels: usize) -> GemmWeights {
    GemmWeights::new(out_channels, in_channels, 1, 1)
}

/// The length [`pack_weights`] gives for a convolution of these channels.
pub fn packed_len(in_channels: usize, out_channels: usize) -> usize {
    POSITIONS * position_weights(in_channels, out_channels).len()
}

/// Transforms and packs ONNX weights of `shape` (`[out, in, 3, 3]`): for each of the 16
/// positions, `U[p]` as the GEMM's panels of [`NR`] output channels over the input channels.
pub fn pack_weights(weight: &[f32], shape: &[usize]) -> Result<Vec<f32>, ShapeError> {
    let &[cout, cin, 3, 3] = shape else {
        shape_bail!("Winograd F(2×2, 3×3) takes [out, in, 3, 3] weights, got {shape:?}");
    };
    if weight.len() != cout * cin * 9 {
        shape_bail!(
            "weights of {} values do not match shape {shape:?}",
            weight.len()
        );
    }
    // Transformed in ONNX order first, then gathered with the writes in order: scattering
    // each filter's 16 values a position apart made loading ResNet18 twice as slow.
    let transformed: Vec<[f32; POSITIONS]> = weight
        .chunks_exact(9)
        .map(|filter| transform_filter(filter.try_into().expect("9 taps")))
        .collect();
    let layout = position_weights(cin, cout);
    let mut packed = vec![0.0f32; POSITIONS * layout.len()];
    for (p, position) in packed.chunks_exact_mut(layout.len()).enumerate() {
        for (panel, rows) in position.chunks_exact_mut(cin * NR).enumerate() {
            for (ci, row) in rows.chunks_exact_mut(NR).enumerate() {
                for (lane, v) in row.iter_mut().enumerate() {
                    let co = panel * NR + lane;
                    if co < cout {
                        *v = transformed[co * cin + ci][p];
                    }
                }
            }
        }
    }
    Ok(packed)
}

/// `U = G g Gᵀ` with `G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]`, row-major 4×4.
fn transform_filter(g: &[f32; 9]) -> [f32; POSITIONS] {
    let expand = |a: f32, b: f32, c: f32| [a, 0.5 * (a + b + c), 0.5 * (a - b + c), c];
    // `G g`: each column of g expanded to four rows.
    let columns: [[f32; 4]; 3] = std::array::from_fn(|j| expand(g[j], g[3 + j], g[6 + j]));
    let mut u = [0.0f32; POSITIONS];
    for (i, row) in u.chunks_exact_mut(4).enumerate() {
        row.copy_from_slice(&expand(columns[0][i], columns[1][i], columns[2][i]));
    }
    u
}

/// Where the tiles of `g` lie: tile `t` of the whole batch is image `t / per_image`, tile row
/// `t % per_image / cols`, tile column `t % cols`.
#[derive(Clone, Copy)]
struct Tiles {
    in_rows: usize,
    in_cols: usize,
    out_rows: usize,
    out_cols: usize,
    pad_top: usize,
    pad_left: usize,
    cols: usize,
    per_image: usize,
    cin: usize,
    cout: usize,
}

impl Tiles {
    fn new(g: &ConvGeometry) -> Tiles {
        let [h, w] = [&g.axes[0], &g.axes[1]];
        let (rows, cols) = (h.output.div_ceil(2), w.output.div_ceil(2));
        Tiles {
            in_rows: h.input,
            in_cols: w.input,
            out_rows: h.output,
            out_cols: w.output,
            pad_top: h.pad_begin,
            pad_left: w.pad_begin,
            cols,
            per_image: rows * cols,
            cin: g.in_channels,
            cout: g.out_channels,
        }
    }

    /// Image, first output row and first output column of tile `t`.
    fn origin(&self, t: usize) -> (usize, usize, usize) {
        let (n, i) = (t / self.per_image, t % self.per_image);
        (n, i / self.cols * 2, i % self.cols * 2)
    }

    /// Tiles a thread transforms together: its `V` and `M` (`16 × tiles × (cin + cout)`
    /// floats, kept as this thread's scratch buffer) about 128 KB, to stay in L2 and add
    /// little to resident memory, and at least two of the GEMM's 6-row strips. Each block
    /// reads all the transformed weights, at most 1 MB ([`MAX_CHANNEL_PAIRS`]), a position's
    /// 64 KB at a time. (Blocks of 24 to 48 tiles were no faster on ResNet18.)
    fn block(&self) -> usize {
        (2048 / (self.cin + self.cout)).clamp(2 * MR, 16 * MR) / MR * MR
    }
}

/// Runs the 3×3 stride-1 convolution `g` on NHWC `input` with weights packed by
/// [`pack_weights`] and the fused `epilogue`; the output is NHWC.
pub fn conv(
    g: &ConvGeometry,
    input: &[f32],
    packed: &[f32],
    epilogue: &Epilogue<'_>,
) -> Result<FloatBuffer, ShapeError> {
    if !supports(g) {
        shape_bail!("Winograd F(2×2, 3×3) takes a 2-D 3×3 stride-1 convolution, got {g:?}");
    }
    let packed_len = packed_len(g.in_channels, g.out_channels);
    let mut out = output_buffer(g, input, packed, packed_len, epilogue)?;
    if out.is_empty() {
        return Ok(out);
    }
    let tiles = Tiles::new(g);
    let count = g.batch * tiles.per_image;
    let matrix = OutMatrix::new(&mut out, g.out_channels);
    let parts = threads_for(count * POSITIONS * tiles.cin * tiles.cout);
    let per_part = count.div_ceil(parts);
    team::for_each_part(parts, |part| {
        let mine = (part * per_part).min(count)..((part + 1) * per_part).min(count);
        // Blocks of equal size: a last block of one or two tiles would run a GEMM of as many
        // rows for the whole of the weights.
        let blocks = mine.len().div_ceil(tiles.block());
        let Some(per_block) = mine.len().checked_div(blocks) else {
            return;
        };
        let extra = mine.len() % blocks;
        let mut first = mine.start;
        for b in 0..blocks {
            let len = per_block + usize::from(b < extra);
            run_block(&tiles, input, packed, epilogue, matrix, first..first + len);
            first += len;
        }
    });
    Ok(out)
}

/// Transform, GEMMs and inverse transform of tiles `block`, in this thread's scratch.
fn run_block(
    tiles: &Tiles,
    input: &[f32],
    packed: &[f32],
    epilogue: &Epilogue<'_>,
    out: OutMatrix,
    block: Range<usize>,
) {
    let (cin, cout, count) = (tiles.cin, tiles.cout, block.len());
    let (v_len, m_len) = (POSITIONS * count * cin, POSITIONS * count * cout);
    // The buffer the direct convolutions pad their bands of rows in, not a second one.
    scratch::with_scratch(v_len + m_len + cin, |buf| {
        let (v, rest) = buf.split_at_mut(v_len);
        let (m, zeros) = rest.split_at_mut(m_len);
        zeros.fill(0.0);
        for (i, t) in block.clone().enumerate() {
            let src = tile_inputs(tiles, input, zeros, t);
            transform_input(&src, v, i * cin, count * cin);
        }
        let weights = position_weights(cin, cout);
        let none = Epilogue::default();
        for (p, (v, m)) in v
            .chunks_exact(count * cin)
            .zip(m.chunks_exact_mut(count * cout))
            .enumerate()
        {
            let gemm = GroupGemm {
                weights,
                panels: &packed[p * weights.len()..][..weights.len()],
                first_channel: 0,
                epilogue: &none,
                out: OutMatrix::new(m, cout),
            };
            gemm.block(v, cin, count, 0, 0..weights.panels);
        }
        for (i, t) in block.enumerate() {
            let (n, y0, x0) = tiles.origin(t);
            let positions: [Option<usize>; 4] = std::array::from_fn(|k| {
                let (y, x) = (y0 + k / 2, x0 + k % 2);
                (y < tiles.out_rows && x < tiles.out_cols)
                    .then(|| (n * tiles.out_rows + y) * tiles.out_cols + x)
            });
            // SAFETY: each output position belongs to exactly one tile, and each tile to one
            // block of one thread.
            let mut dst = positions.map(|at| at.map(|at| unsafe { out.row(at, 0..cout) }));
            let residual =
                positions.map(|at| at.and_then(|at| epilogue.residual.map(|r| &r[at * cout..])));
            let outputs = Outputs {
                bias: epilogue.bias,
                residual,
                activation: epilogue.activation,
            };
            transform_output(m, i * cout, count * cout, &outputs, &mut dst);
        }
    });
}

/// The 16 input positions of tile `t`, each its `cin` channels, or `zeros` in the padding.
fn tile_inputs<'a>(
    tiles: &Tiles,
    input: &'a [f32],
    zeros: &'a [f32],
    t: usize,
) -> [&'a [f32]; POSITIONS] {
    let (n, y0, x0) = tiles.origin(t);
    let cin = tiles.cin;
    std::array::from_fn(|k| {
        let y = (y0 + k / 4).checked_sub(tiles.pad_top);
        let x = (x0 + k % 4).checked_sub(tiles.pad_left);
        match (y, x) {
            (Some(y), Some(x)) if y < tiles.in_rows && x < tiles.in_cols => {
                &input[((n * tiles.in_rows + y) * tiles.in_cols + x) * cin..][..cin]
            }
            _ => zeros,
        }
    })
}

multiversion!(fn transform_input(src: &[&[f32]; POSITIONS], v: &mut [f32], at: usize, stride: usize) => transform_input_body);

/// `V = Bᵀ d B` of one tile, every channel: position `p`'s channels go to
/// `v[p * stride + at..]`.
#[inline(always)]
fn transform_input_body(src: &[&[f32]; POSITIONS], v: &mut [f32], at: usize, stride: usize) {
    let channels = src[0].len();
    let mut c = 0;
    while c + 8 <= channels {
        transform_input_lanes::<8>(src, v, at + c, stride, c);
        c += 8;
    }
    while c < channels {
        transform_input_lanes::<1>(src, v, at + c, stride, c);
        c += 1;
    }
}

/// `Bᵀ x B`, `Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]`, on `L` channels at once.
#[inline(always)]
fn transform_input_lanes<const L: usize>(
    src: &[&[f32]; POSITIONS],
    v: &mut [f32],
    at: usize,
    stride: usize,
    c: usize,
) {
    // Loops, not `array::from_fn` over `try_into`: that was left as a call per tile.
    let mut d = [[0.0f32; L]; POSITIONS];
    for (d, src) in d.iter_mut().zip(src) {
        d.copy_from_slice(&src[c..c + L]);
    }
    let mut t = [[0.0f32; L]; POSITIONS];
    for j in 0..4 {
        for l in 0..L {
            let (d0, d1, d2, d3) = (d[j][l], d[4 + j][l], d[8 + j][l], d[12 + j][l]);
            t[j][l] = d0 - d2;
            t[4 + j][l] = d1 + d2;
            t[8 + j][l] = d2 - d1;
            t[12 + j][l] = d1 - d3;
        }
    }
    for i in 0..4 {
        let row = &t[4 * i..][..4];
        let v_row: [[f32; L]; 4] = [
            std::array::from_fn(|l| row[0][l] - row[2][l]),
            std::array::from_fn(|l| row[1][l] + row[2][l]),
            std::array::from_fn(|l| row[2][l] - row[1][l]),
            std::array::from_fn(|l| row[1][l] - row[3][l]),
        ];
        for (k, values) in v_row.iter().enumerate() {
            v[(4 * i + k) * stride + at..][..L].copy_from_slice(values);
        }
    }
}

/// What a tile's outputs receive besides `Aᵀ M A`.
struct Outputs<'a> {
    bias: Option<&'a [f32]>,
    /// The residual from each of the tile's four output positions on (`None` past the edge).
    residual: [Option<&'a [f32]>; 4],
    activation: Activation,
}

multiversion!(fn transform_output(m: &[f32], at: usize, stride: usize, outputs: &Outputs<'_>, dst: &mut [Option<&mut [f32]>; 4]) => transform_output_body);

/// `Y = Aᵀ M A` of one tile, every channel, plus the bias and the residual, through the
/// activation, into the tile's output positions that exist (`dst`, row-major 2×2).
#[inline(always)]
fn transform_output_body(
    m: &[f32],
    at: usize,
    stride: usize,
    outputs: &Outputs<'_>,
    dst: &mut [Option<&mut [f32]>; 4],
) {
    let channels = dst.iter().flatten().map(|d| d.len()).next().unwrap_or(0);
    let mut c = 0;
    while c + 8 <= channels {
        transform_output_lanes::<8>(m, at + c, stride, outputs, dst, c);
        c += 8;
    }
    while c < channels {
        transform_output_lanes::<1>(m, at + c, stride, outputs, dst, c);
        c += 1;
    }
}

/// `Aᵀ x A`, `Aᵀ = [1 1 1 0; 0 1 −1 −1]`, on `L` channels at once.
#[inline(always)]
fn transform_output_lanes<const L: usize>(
    m: &[f32],
    at: usize,
    stride: usize,
    outputs: &Outputs<'_>,
    dst: &mut [Option<&mut [f32]>; 4],
    c: usize,
) {
    let mut x = [[0.0f32; L]; POSITIONS];
    for (p, x) in x.iter_mut().enumerate() {
        x.copy_from_slice(&m[p * stride + at..][..L]);
    }
    // `Aᵀ M`: two rows of four.
    let mut s = [[0.0f32; L]; 8];
    for j in 0..4 {
        for l in 0..L {
            let (m0, m1, m2, m3) = (x[j][l], x[4 + j][l], x[8 + j][l], x[12 + j][l]);
            s[j][l] = m0 + m1 + m2;
            s[4 + j][l] = m1 - m2 - m3;
        }
    }
    let mut bias = [0.0f32; L];
    if let Some(b) = outputs.bias {
        bias.copy_from_slice(&b[c..c + L]);
    }
    for (k, d) in dst.iter_mut().enumerate() {
        let Some(d) = d else { continue };
        let row = &s[4 * (k / 2)..][..4];
        let mut y: [f32; L] = std::array::from_fn(|l| {
            let (s0, s1, s2, s3) = (row[0][l], row[1][l], row[2][l], row[3][l]);
            bias[l]
                + if k % 2 == 0 {
                    s0 + s1 + s2
                } else {
                    s1 - s2 - s3
                }
        });
        if let Some(r) = outputs.residual[k] {
            for (y, r) in y.iter_mut().zip(&r[c..c + L]) {
                *y += r;
            }
        }
        // On the lanes in registers: a pass over each finished row read it all again.
        apply_body(outputs.activation, &mut y);
        d[c..c + L].copy_from_slice(&y);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_transform_is_g_g_g_transposed() {
        // G g Gᵀ written out for g = 1..9.
        let g = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
        let big_g = [
            [1.0, 0.0, 0.0],
            [0.5, 0.5, 0.5],
            [0.5, -0.5, 0.5],
            [0.0, 0.0, 1.0],
        ];
        let mut want = [0.0f32; 16];
        for i in 0..4 {
            for j in 0..4 {
                for a in 0..3 {
                    for b in 0..3 {
                        want[i * 4 + j] += big_g[i][a] * g[a * 3 + b] * big_g[j][b];
                    }
                }
            }
        }
        assert_eq!(transform_filter(&g), want);
    }

    #[test]
    fn packed_weights_are_per_position_panels_over_the_input_channels() {
        // 18 output channels (two panels), 2 input channels.
        let (cout, cin) = (18, 2);
        let weight: Vec<f32> = (0..cout * cin * 9).map(|i| i as f32 * 0.25).collect();
        let packed = pack_weights(&weight, &[cout, cin, 3, 3]).unwrap();
        assert_eq!(packed.len(), packed_len(cin, cout));
        let per_position = packed.len() / POSITIONS;
        for co in 0..cout {
            for ci in 0..cin {
                let filter = &weight[(co * cin + ci) * 9..][..9];
                let u = transform_filter(filter.try_into().unwrap());
                for (p, &want) in u.iter().enumerate() {
                    let at = p * per_position + ((co / NR) * cin + ci) * NR + co % NR;
                    assert_eq!(packed[at], want, "co {co} ci {ci} p {p}");
                }
            }
        }
        assert!(pack_weights(&weight, &[cout, cin, 1, 9]).is_err());
        assert!(pack_weights(&weight[1..], &[cout, cin, 3, 3]).is_err());
    }
}
