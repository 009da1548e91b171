//! NCHW ↔ NHWC conversions at the edges of the channels-last region.
//!
//! Both directions transpose each image, a `rows × cols` matrix (`channels × positions` one
//! way, `positions × channels` the other), so one kernel serves both. A naive transpose reads
//! or writes with a stride of a whole row, a new cache line per element. Here the matrix is
//! cut into 8×8 tiles, each read as eight contiguous row pieces, transposed in registers and
//! written as eight contiguous pieces of output lines. The tiles go in bands of [`BAND`]
//! output lines, two tiles side by side, so that each input cache line is used whole as soon
//! as it is read, and the band's output lines are written front to back. (Square blocks sized
//! for L1 measured no faster: at 96 × 12544 the rows on either side are 49 KB apart, so they
//! contend for the same few L1 sets whatever the block.)
//!
//! The tile is AVX2 shuffles: written portably, the compiler kept it in scalars, 4–8× slower.
//! A matrix with under 8 rows or columns (the 3 channels of an image at the network input)
//! has no tiles: its rows are interleaved, or deinterleaved, directly.
//!
//! The output is split over threads as ranges of output lines: each range reads a band of
//! input columns and writes one contiguous piece of the output.

use crate::FloatBuffer;
use crate::fast::buffers;
#[cfg(target_arch = "x86_64")]
use crate::fast::dispatch::{self, Level};
use crate::fast::parallel::threads_for;
use crate::team;

/// `[n, c, positions]` → `[n, positions, c]`, into a buffer from `buffers::take`.
pub fn nchw_to_nhwc(input: &[f32], batch: usize, channels: usize, positions: usize) -> FloatBuffer {
    transpose_images(input, batch, channels, positions)
}

/// `[n, positions, c]` → `[n, c, positions]`, into a buffer from `buffers::take`.
pub fn nhwc_to_nchw(input: &[f32], batch: usize, channels: usize, positions: usize) -> FloatBuffer {
    transpose_images(input, batch, positions, channels)
}

/// Side of the tiles the transpose is made of: one AVX2 register of `f32` per tile row.
const TILE: usize = 8;
/// Output lines transposed together: two tiles side by side read whole 64-byte lines of
/// input, and as many output lines are written at once.
const BAND: usize = 2 * TILE;

/// Each of the `batch` `rows × cols` matrices of `input`, transposed.
fn transpose_images(input: &[f32], batch: usize, rows: usize, cols: usize) -> FloatBuffer {
    let image = rows * cols;
    assert_eq!(
        input.len(),
        batch * image,
        "layout conversion of {batch} images of {rows} × {cols}"
    );
    let mut out = buffers::take(input.len());
    if out.is_empty() {
        return out;
    }
    // A single row or column: the transpose is the same sequence of values.
    if rows == 1 || cols == 1 {
        split_lines(&mut out, 1, |first, dst| {
            dst.copy_from_slice(&input[first..][..dst.len()]);
        });
        return out;
    }
    // Output line `l` is column `l % cols` of image `l / cols`.
    split_lines(&mut out, rows, |first, dst| {
        for (line, dst) in image_pieces(dst, rows, cols, first) {
            let src = &input[line / cols * image..][..image];
            transpose_dispatched(src, rows, cols, line % cols, dst);
        }
    });
    out
}

/// Runs `f(first_line, lines)` over ranges of the `line_len`-element lines of `out`, split
/// over threads when `out` is big enough.
fn split_lines(out: &mut [f32], line_len: usize, f: impl Fn(usize, &mut [f32]) + Sync) {
    let lines = out.len() / line_len;
    let threads = threads_for(out.len()).min(lines);
    if threads <= 1 {
        f(0, out);
        return;
    }
    let per_thread = lines.div_ceil(threads);
    team::for_each_chunk_mut(out, per_thread * line_len, |t, dst| f(t * per_thread, dst));
}

/// `dst` (lines `first..` of `line_len` elements) cut where one image's `per_image` lines end
/// and the next image's begin, each piece with the number of its first line.
fn image_pieces(
    mut dst: &mut [f32],
    line_len: usize,
    per_image: usize,
    first: usize,
) -> impl Iterator<Item = (usize, &mut [f32])> {
    let mut line = first;
    std::iter::from_fn(move || {
        if dst.is_empty() {
            return None;
        }
        let lines = (per_image - line % per_image).min(dst.len() / line_len);
        let (piece, rest) = std::mem::take(&mut dst).split_at_mut(lines * line_len);
        dst = rest;
        line += lines;
        Some((line - lines, piece))
    })
}

/// Positions `first..` of one NCHW image of `channels` planes, channels-last into `dst`
/// (`dst.len() / channels` positions): a row of the image for a convolution that reads the
/// NCHW input a band of rows at a time.
pub(crate) fn positions_to_nhwc(image: &[f32], channels: usize, first: usize, dst: &mut [f32]) {
    transpose_dispatched(image, channels, image.len() / channels, first, dst);
}

/// [`transpose`] with the best tile kernel this CPU has.
fn transpose_dispatched(src: &[f32], rows: usize, cols: usize, first: usize, dst: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if dispatch::level() != Level::Baseline {
        // SAFETY: `level()` checked that the CPU has AVX2 (every level above the baseline has).
        return unsafe { x86::transpose_avx2(src, rows, cols, first, dst) };
    }
    transpose(src, rows, cols, first, dst, portable_tile);
}

/// Lines `first..` of the transpose of the `rows × cols` matrix `src`, into `dst`: line `j`
/// (of `rows` elements) is column `j` of `src`. `tile(src, src_stride, dst, dst_stride)`
/// transposes one 8×8 tile: `dst[c * dst_stride + r] = src[r * src_stride + c]`.
#[inline(always)]
fn transpose(
    src: &[f32],
    rows: usize,
    cols: usize,
    first: usize,
    dst: &mut [f32],
    tile: impl Fn(&[f32], usize, &mut [f32], usize),
) {
    if rows < TILE {
        return interleave(src, rows, cols, first, dst);
    }
    if cols < TILE {
        return deinterleave(src, rows, cols, first, dst);
    }
    let lines = dst.len() / rows;
    let tiled_i = rows / TILE * TILE;
    for j0 in (0..lines).step_by(BAND) {
        let band = j0..(j0 + BAND).min(lines);
        let tiled_j = band.start + band.len() / TILE * TILE;
        for i in (0..tiled_i).step_by(TILE) {
            for j in (band.start..tiled_j).step_by(TILE) {
                tile(
                    &src[i * cols + first + j..],
                    cols,
                    &mut dst[j * rows + i..],
                    rows,
                );
            }
        }
        // The ragged edges: rows past the last full tile, and lines past it.
        for j in band {
            let from = if j < tiled_j { tiled_i } else { 0 };
            for i in from..rows {
                dst[j * rows + i] = src[i * cols + first + j];
            }
        }
    }
}

/// The tile of [`transpose`] for targets without a vector one.
#[inline(always)]
fn portable_tile(src: &[f32], src_stride: usize, dst: &mut [f32], dst_stride: usize) {
    for c in 0..TILE {
        let line = &mut dst[c * dst_stride..][..TILE];
        for (r, d) in line.iter_mut().enumerate() {
            *d = src[r * src_stride + c];
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{TILE, transpose};
    use std::arch::x86_64::*;

    /// [`transpose`] with [`tile_avx2`], and the loops around it compiled for AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) fn transpose_avx2(
        src: &[f32],
        rows: usize,
        cols: usize,
        first: usize,
        dst: &mut [f32],
    ) {
        transpose(src, rows, cols, first, dst, |s, ss, d, ds| {
            tile_avx2(s, ss, d, ds)
        });
    }

    /// The 8×8 tile of [`transpose`] in three rounds of shuffles: pairs of rows interleaved,
    /// then pairs of pairs, then the 128-bit halves swapped.
    #[target_feature(enable = "avx2")]
    fn tile_avx2(src: &[f32], src_stride: usize, dst: &mut [f32], dst_stride: usize) {
        let row = |r: usize| -> __m256 {
            let row: &[f32; TILE] = src[r * src_stride..][..TILE].try_into().unwrap();
            // SAFETY: `row` holds the 8 floats read.
            unsafe { _mm256_loadu_ps(row.as_ptr()) }
        };
        let [r0, r1, r2, r3, r4, r5, r6, r7] = std::array::from_fn(row);
        // t0 = r0[0] r1[0] r0[1] r1[1] | r0[4] r1[4] r0[5] r1[5]; t1 the same for 2, 3, 6, 7.
        let (t0, t1) = (_mm256_unpacklo_ps(r0, r1), _mm256_unpackhi_ps(r0, r1));
        let (t2, t3) = (_mm256_unpacklo_ps(r2, r3), _mm256_unpackhi_ps(r2, r3));
        let (t4, t5) = (_mm256_unpacklo_ps(r4, r5), _mm256_unpackhi_ps(r4, r5));
        let (t6, t7) = (_mm256_unpacklo_ps(r6, r7), _mm256_unpackhi_ps(r6, r7));
        // u0 = column 0 of rows 0..4 | column 4 of rows 0..4, and so on.
        const LOW_PAIRS: i32 = 0b01_00_01_00;
        const HIGH_PAIRS: i32 = 0b11_10_11_10;
        let u0 = _mm256_shuffle_ps::<LOW_PAIRS>(t0, t2);
        let u1 = _mm256_shuffle_ps::<HIGH_PAIRS>(t0, t2);
        let u2 = _mm256_shuffle_ps::<LOW_PAIRS>(t1, t3);
        let u3 = _mm256_shuffle_ps::<HIGH_PAIRS>(t1, t3);
        let u4 = _mm256_shuffle_ps::<LOW_PAIRS>(t4, t6);
        let u5 = _mm256_shuffle_ps::<HIGH_PAIRS>(t4, t6);
        let u6 = _mm256_shuffle_ps::<LOW_PAIRS>(t5, t7);
        let u7 = _mm256_shuffle_ps::<HIGH_PAIRS>(t5, t7);
        const LOW_HALVES: i32 = 0x20;
        const HIGH_HALVES: i32 = 0x31;
        let columns = [
            _mm256_permute2f128_ps::<LOW_HALVES>(u0, u4),
            _mm256_permute2f128_ps::<LOW_HALVES>(u1, u5),
            _mm256_permute2f128_ps::<LOW_HALVES>(u2, u6),
            _mm256_permute2f128_ps::<LOW_HALVES>(u3, u7),
            _mm256_permute2f128_ps::<HIGH_HALVES>(u0, u4),
            _mm256_permute2f128_ps::<HIGH_HALVES>(u1, u5),
            _mm256_permute2f128_ps::<HIGH_HALVES>(u2, u6),
            _mm256_permute2f128_ps::<HIGH_HALVES>(u3, u7),
        ];
        for (c, column) in columns.into_iter().enumerate() {
            let line: &mut [f32; TILE] = (&mut dst[c * dst_stride..][..TILE]).try_into().unwrap();
            // SAFETY: `line` holds the 8 floats written.
            unsafe { _mm256_storeu_ps(line.as_mut_ptr(), column) };
        }
    }
}

/// [`transpose`] of a matrix of under [`TILE`] rows: each output line takes one element of
/// every row. With 2 to 4 rows (the usual case: an image's channels) the row count is a
/// constant, and the compiler vectorises the interleaving.
#[inline(always)]
fn interleave(src: &[f32], rows: usize, cols: usize, first: usize, dst: &mut [f32]) {
    #[inline(always)]
    fn fixed<const R: usize>(src: &[f32], cols: usize, first: usize, dst: &mut [f32]) {
        let lines = dst.len() / R;
        let row: [&[f32]; R] = std::array::from_fn(|r| &src[r * cols + first..][..lines]);
        for (j, line) in dst.chunks_exact_mut(R).enumerate() {
            for (d, row) in line.iter_mut().zip(row) {
                *d = row[j];
            }
        }
    }
    match rows {
        2 => fixed::<2>(src, cols, first, dst),
        3 => fixed::<3>(src, cols, first, dst),
        4 => fixed::<4>(src, cols, first, dst),
        _ => {
            for (j, line) in dst.chunks_exact_mut(rows).enumerate() {
                for (i, d) in line.iter_mut().enumerate() {
                    *d = src[i * cols + first + j];
                }
            }
        }
    }
}

/// [`transpose`] of a matrix of under [`TILE`] columns (the positions × 3 channels of a
/// network's output image): each output line gathers its column, a short stride apart.
#[inline(always)]
fn deinterleave(src: &[f32], rows: usize, cols: usize, first: usize, dst: &mut [f32]) {
    for (j, line) in dst.chunks_exact_mut(rows).enumerate() {
        for (d, row) in line.iter_mut().zip(src.chunks_exact(cols)) {
            *d = row[first + j];
        }
    }
}
