//! The GEMM of an NHWC convolution: `out[m, c] = epilogue(Σ_k a[m, k] · w[k, c])`, where rows
//! `m` are output positions, `a` is the input itself (1×1) or im2col rows, and `w` is one
//! group's weights packed at load in panels of [`NR`] output channels.
//!
//! The kernel computes [`MR`] positions × `NR` channels in registers over the whole depth:
//! the bias is the accumulators' starting value, each depth step broadcasts one input value
//! per position and reads one panel row, and the finished block is stored once. A block of
//! rows (`block_rows`) is run against every panel before the next block, so its input rows
//! stay in L1/L2 while the panels stream; the residual and the activation are then applied to
//! that block's output while it is still in cache.

use std::ops::Range;

use super::pack::{GemmWeights, NR};
use crate::fast::activation::{Activation, apply_body};
use crate::fast::dispatch::multiversion;
#[cfg(target_arch = "x86_64")]
use crate::fast::dispatch::{self, Level};
use crate::fast::epilogue::Epilogue;

#[cfg(target_arch = "x86_64")]
mod avx2;

/// Positions computed together: with `NR = 16`, 12 AVX2 accumulators, two panel vectors and a
/// broadcast fill 15 of the 16 registers.
pub(crate) const MR: usize = 6;
const _: () = assert!(MR == 6, "block_tile instantiates the tile for 1 to 6 rows");

/// Rows per block: the block's input rows (`rows × depth` floats) stay well inside L2.
pub(crate) fn block_rows(depth: usize) -> usize {
    const BLOCK_FLOATS: usize = 16 * 1024;
    (BLOCK_FLOATS / depth.max(1)).clamp(4 * MR, MAX_BLOCK_ROWS) / MR * MR
}

/// The most rows [`block_rows`] gives.
pub(crate) const MAX_BLOCK_ROWS: usize = 32 * MR;

/// An output matrix shared by the threads of one convolution, each writing its own rows or
/// its own columns.
#[derive(Clone, Copy, Debug)]
pub(crate) struct OutMatrix {
    ptr: *mut f32,
    len: usize,
    /// Elements between rows (all the output channels).
    stride: usize,
}

// SAFETY: an `OutMatrix` is only a way to hand disjoint parts of one `&mut [f32]` to the
// threads of a convolution, which all finish before that borrow ends (`OutMatrix::new`).
unsafe impl Send for OutMatrix {}
// SAFETY: as above.
unsafe impl Sync for OutMatrix {}

impl OutMatrix {
    /// The caller keeps `out` borrowed for as long as any copy of the result is used.
    pub(crate) fn new(out: &mut [f32], stride: usize) -> OutMatrix {
        OutMatrix {
            ptr: out.as_mut_ptr(),
            len: out.len(),
            stride,
        }
    }

    /// Columns `cols` of row `m`.
    ///
    /// # Safety
    /// No other live slice from this matrix may overlap the one returned.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn row(&self, m: usize, cols: Range<usize>) -> &mut [f32] {
        let start = m * self.stride + cols.start;
        assert!(
            cols.start <= cols.end && cols.end <= self.stride && start + cols.len() <= self.len
        );
        // SAFETY: in bounds (checked above); exclusive by the caller's promise.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(start), cols.len()) }
    }
}

/// One group's GEMM into the convolution's output.
pub(crate) struct GroupGemm<'a> {
    pub weights: GemmWeights,
    /// This group's panels.
    pub panels: &'a [f32],
    /// The group's first output channel (its column in `out`, the bias and the residual).
    pub first_channel: usize,
    pub epilogue: &'a Epilogue<'a>,
    pub out: OutMatrix,
}

/// A block's rows of the left operand, read where they are: row `r` is, segment after segment,
/// `a[starts[r] + segments[i]..][..segment_len]` (`segments.len() × segment_len` = the depth).
/// One segment per row for a matrix (1×1 convolutions, the expansion of a fused block); for a
/// window over a padded NHWC image, one per kernel row (its taps' channels are adjacent) or
/// per tap, so no im2col copy is made.
#[derive(Clone, Copy)]
pub(crate) struct Left<'a> {
    pub a: &'a [f32],
    pub starts: &'a [usize],
    /// Offsets from a row's start, in the order of the packed depth.
    pub segments: &'a [usize],
    pub segment_len: usize,
}

/// Rows a [`GroupGemm::block`] call builds the starts of at a time (on the stack).
const STARTS_AT_ONCE: usize = MAX_BLOCK_ROWS;

impl GroupGemm<'_> {
    /// Output rows `first_row..first_row + rows` from the matrix `a` (rows `stride` apart,
    /// each `depth` long), at the output channels of `panels`, then their epilogue.
    ///
    /// Threads calling this at the same time must use disjoint rows or disjoint panels.
    pub(crate) fn block(
        &self,
        a: &[f32],
        stride: usize,
        rows: usize,
        first_row: usize,
        panels: Range<usize>,
    ) {
        let mut starts = [0usize; STARTS_AT_ONCE];
        for r0 in (0..rows).step_by(STARTS_AT_ONCE) {
            let count = STARTS_AT_ONCE.min(rows - r0);
            for (r, start) in starts[..count].iter_mut().enumerate() {
                *start = (r0 + r) * stride;
            }
            let left = Left {
                a,
                starts: &starts[..count],
                segments: &[0],
                segment_len: self.weights.depth,
            };
            self.rows(&left, first_row + r0, panels.clone());
        }
    }

    /// Output rows `first_row..` (one per start of `left`), at the output channels of
    /// `panels`, then their epilogue. The same sharing rule as [`GroupGemm::block`].
    pub(crate) fn rows(&self, left: &Left<'_>, first_row: usize, panels: Range<usize>) {
        let depth = self.weights.depth;
        if left.starts.is_empty() || panels.is_empty() {
            return;
        }
        // Every read of the tiles below lies inside `a`: checked here, once per block.
        let span = left
            .segments
            .iter()
            .max()
            .map_or(0, |&last| last + left.segment_len);
        let furthest = left.starts.iter().max().map_or(0, |&s| s + span);
        assert!(
            left.segments.len() * left.segment_len == depth && furthest <= left.a.len(),
            "the left operand does not hold {} rows of {depth}",
            left.starts.len()
        );
        let block = Block {
            gemm: self,
            left: *left,
            rows: left.starts.len(),
            first_row,
            panels,
        };
        run_block(&block);
    }
}

/// One call's rows and panels.
struct Block<'a> {
    gemm: &'a GroupGemm<'a>,
    left: Left<'a>,
    rows: usize,
    first_row: usize,
    panels: Range<usize>,
}

/// Panels (`depth × NR` floats each) up to this size in all are run strip by strip: each
/// strip of rows then writes its whole output lines in order (the panels stay in L1/L2),
/// where panel by panel it would write one line in every `cout_g / NR`, all over the block.
const STRIP_ORDER_PANEL_FLOATS: usize = 16 * 1024;

/// A tile kernel: `R` rows × `W` channels of one panel, epilogue included.
trait Tiles {
    fn tile<const R: usize, const W: usize>(
        left: &Left<'_>,
        first: usize,
        panel: &[f32],
        bias: &[f32; NR],
        dst: &Rows<'_>,
    );
}

/// [`tile`], compiled for whichever instruction set the caller was.
struct PortableTiles;

impl Tiles for PortableTiles {
    #[inline(always)]
    fn tile<const R: usize, const W: usize>(
        left: &Left<'_>,
        first: usize,
        panel: &[f32],
        bias: &[f32; NR],
        dst: &Rows<'_>,
    ) {
        tile::<R, W>(left, first, panel, bias, dst);
    }
}

/// [`avx2::tile`]; only run where the CPU has AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
struct Avx2Tiles;

#[cfg(target_arch = "x86_64")]
impl Tiles for Avx2Tiles {
    #[inline(always)]
    fn tile<const R: usize, const W: usize>(
        left: &Left<'_>,
        first: usize,
        panel: &[f32],
        bias: &[f32; NR],
        dst: &Rows<'_>,
    ) {
        // SAFETY: `Avx2Tiles` is only used by `run_block_avx2`, which runs after `level()`
        // found AVX2 and FMA.
        unsafe { avx2::tile::<R, W>(left, first, panel, bias, dst) }
    }
}

/// The block on the best tile kernel this CPU has. AVX2 machines get the register tile;
/// AVX-512 ones keep the portable tile compiled for AVX-512 (16 channels in one register),
/// which has not been measured against it (there is no AVX-512 machine here).
fn run_block(block: &Block<'_>) {
    #[cfg(target_arch = "x86_64")]
    if dispatch::level() == Level::Avx2 {
        // SAFETY: `level()` found AVX2 and FMA.
        return unsafe { run_block_avx2(block) };
    }
    run_block_portable(block);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn run_block_avx2(block: &Block<'_>) {
    run_block_body::<Avx2Tiles>(block);
}

multiversion!(fn run_block_portable(block: &Block<'_>) => run_block_body::<PortableTiles>);

#[inline(always)]
fn run_block_body<T: Tiles>(block: &Block<'_>) {
    let depth = block.gemm.weights.depth;
    let panel_floats = block.panels.len() * depth * NR;
    if panel_floats <= STRIP_ORDER_PANEL_FLOATS {
        // No prefetch of the strip's output lines: asking for them before the arithmetic
        // (as the NCHW GEMM does) made the stems and short 1×1 convolutions 10–20 % slower
        // on Zen 3, whose store path handles this sequential stream on its own.
        for s in (0..block.rows).step_by(MR) {
            for j in block.panels.clone() {
                block_tile::<T>(block, s, j);
            }
        }
    } else {
        for j in block.panels.clone() {
            for s in (0..block.rows).step_by(MR) {
                block_tile::<T>(block, s, j);
            }
        }
    }
}

/// The tile of rows `s..s + MR` (fewer at the end) and panel `j`.
#[inline(always)]
fn block_tile<T: Tiles>(block: &Block<'_>, s: usize, j: usize) {
    let gemm = block.gemm;
    let depth = gemm.weights.depth;
    let first = j * NR;
    let width = NR.min(gemm.weights.cout_g - first);
    let mut bias = [0.0f32; NR];
    if let Some(b) = gemm.epilogue.bias {
        // A whole panel's bias is a fixed-size copy; a `memcpy` call otherwise.
        let b = &b[gemm.first_channel + first..][..width];
        match <&[f32; NR]>::try_from(b) {
            Ok(b) => bias = *b,
            Err(_) => bias[..width].copy_from_slice(b),
        }
    }
    let panel = &gemm.panels[j * depth * NR..][..depth * NR];
    let strip = Rows {
        out: gemm.out,
        first: block.first_row + s,
        count: MR.min(block.rows - s),
        cols: gemm.first_channel + first..gemm.first_channel + first + width,
        residual: gemm.epilogue.residual,
        activation: gemm.epilogue.activation,
    };
    let left = &block.left;
    // A panel of at most 8 channels (RegNet's groups of 8, the last panel of 24) runs on
    // half-width tiles, which do not compute the zero half.
    macro_rules! tiles {
        ($w:literal) => {
            match strip.count {
                6 => T::tile::<6, $w>(left, s, panel, &bias, &strip),
                5 => T::tile::<5, $w>(left, s, panel, &bias, &strip),
                4 => T::tile::<4, $w>(left, s, panel, &bias, &strip),
                3 => T::tile::<3, $w>(left, s, panel, &bias, &strip),
                2 => T::tile::<2, $w>(left, s, panel, &bias, &strip),
                1 => T::tile::<1, $w>(left, s, panel, &bias, &strip),
                n => unreachable!("a strip has 1 to {MR} rows, not {n}"),
            }
        };
    }
    if width <= NR / 2 {
        tiles!(8);
    } else {
        tiles!(16);
    }
}

/// Where a tile's results go: columns `cols` of `count` output rows from `first`, which the
/// calling thread alone writes.
#[derive(Clone, Debug)]
struct Rows<'a> {
    out: OutMatrix,
    first: usize,
    count: usize,
    cols: Range<usize>,
    /// The epilogue's residual (the output's layout) and activation.
    residual: Option<&'a [f32]>,
    activation: Activation,
}

/// `R` rows × `W` channels (of the panel's `NR`): `dst[r] = bias + left row (first + r) · panel`,
/// over the whole depth, then the residual and the activation.
#[inline(always)]
fn tile<const R: usize, const W: usize>(
    left: &Left<'_>,
    first: usize,
    panel: &[f32],
    bias: &[f32; NR],
    dst: &Rows<'_>,
) {
    let starts: [usize; R] = std::array::from_fn(|r| left.starts[first + r]);
    let mut acc = [<[f32; W]>::try_from(&bias[..W]).unwrap(); R];
    let len = left.segment_len;
    for (i, &segment) in left.segments.iter().enumerate() {
        let rows: [&[f32]; R] = std::array::from_fn(|r| {
            let at = starts[r] + segment;
            // SAFETY: `GroupGemm::rows` checked that every start plus every segment plus the
            // segment's length lies inside `a`.
            unsafe { left.a.get_unchecked(at..at + len) }
        });
        let panel = &panel[i * len * NR..][..len * NR];
        for (k, bk) in panel.chunks_exact(NR).enumerate() {
            let bk: &[f32; W] = bk[..W].try_into().unwrap();
            // SAFETY: `k < len`, the length of every row of `rows`. Unchecked because the
            // bounds checks would be a third of this loop's instructions.
            let ak: [f32; R] = std::array::from_fn(|r| unsafe { *rows[r].get_unchecked(k) });
            for r in 0..R {
                for l in 0..W {
                    acc[r][l] = ak[r].mul_add(bk[l], acc[r][l]);
                }
            }
        }
    }
    // A copy: borrowing `acc` itself would keep the accumulators in memory through the loop.
    store_tile(&mut std::hint::black_box(acc), dst);
}

/// The epilogue of a tile's sums, from memory: the residual, the activation, then the store
/// of the `dst.cols` columns of each row.
#[inline(always)]
fn store_tile<const R: usize, const W: usize>(acc: &mut [[f32; W]; R], dst: &Rows<'_>) {
    let width = dst.cols.len();
    if let Some(res) = dst.residual {
        for (r, acc) in acc.iter_mut().enumerate() {
            let at = (dst.first + r) * dst.out.stride + dst.cols.start;
            for (a, &v) in acc.iter_mut().zip(&res[at..][..width]) {
                *a += v;
            }
        }
    }
    apply_body(dst.activation, acc.as_flattened_mut());
    for (r, acc) in acc.iter().enumerate() {
        // SAFETY: these rows and columns are this thread's (`Rows`).
        let d = unsafe { dst.out.row(dst.first + r, dst.cols.clone()) };
        // A whole tile row is a fixed-size copy (vector stores); a `memcpy` call otherwise.
        match <&mut [f32; W]>::try_from(&mut *d) {
            Ok(d) => *d = *acc,
            Err(_) => d.copy_from_slice(&acc[..width]),
        }
    }
}
