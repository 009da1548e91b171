//! A few rows times a matrix (a classifier at batch 1 to 8): `out[r, j] = x_r · column j`. The
//! weights are read once, in storage order, and usually come from L3 or DRAM, so these loops
//! are about streaming them with enough independent sums in flight; the rows after the first
//! read each block of columns again from L1.

use super::dispatch::multiversion;
#[cfg(target_arch = "x86_64")]
use super::dispatch::{self, Level};
use super::prefetch;

/// Lanes of the portable vector loops below.
const LANES: usize = 8;

/// Columns computed together: `x` is loaded once for all of them, and their sums are
/// independent chains that hide the FMA latency.
const COLUMNS: usize = 4;

/// The rows of the left operand: row `r` is `data[r * stride..][..len]`.
#[derive(Clone, Copy)]
pub(super) struct Rows<'a> {
    pub data: &'a [f32],
    pub count: usize,
    pub stride: usize,
    pub len: usize,
}

impl<'a> Rows<'a> {
    fn row(&self, r: usize) -> &'a [f32] {
        &self.data[r * self.stride..][..self.len]
    }
}

/// `out[r, j] (+)= x_r · column j` for the rows `x` and `out` (`x.count` rows of
/// `out.len() / x.count` columns), where column `j` is `b[j * col_stride..][..x.len]`, with
/// the best kernel this CPU has.
pub(super) fn rows_times_columns_dispatched(
    out: &mut [f32],
    x: Rows<'_>,
    b: &[f32],
    col_stride: usize,
    accumulate: bool,
) {
    #[cfg(target_arch = "x86_64")]
    if dispatch::level() != Level::Baseline {
        // SAFETY: `level()` checked that the CPU has AVX2 and FMA (every level above the
        // baseline has both).
        return unsafe { x86::rows_times_columns_avx2(out, x, b, col_stride, accumulate) };
    }
    rows_times_columns(out, x, b, col_stride, accumulate);
}

/// The loop both kernels share: per block of [`COLUMNS`] columns, each row's dot products
/// (`dots(x_r, columns, next)`, where `next` is where the next block starts in `b` for the
/// first row, which streams the block from memory and asks for the next one as it goes; the
/// other rows find the block in L1), then the leftover columns one dot product at a time.
#[inline(always)]
fn rows_times_columns_with(
    out: &mut [f32],
    x: Rows<'_>,
    b: &[f32],
    col_stride: usize,
    accumulate: bool,
    dots: impl Fn(&[f32], &[&[f32]; COLUMNS], Option<usize>) -> [f32; COLUMNS],
) {
    let (k, width) = (x.len, out.len() / x.count.max(1));
    let column = |j: usize| &b[j * col_stride..][..k];
    let store = |o: &mut f32, dot: f32| *o = if accumulate { *o + dot } else { dot };
    for block in 0..width / COLUMNS {
        let columns: [&[f32]; COLUMNS] = std::array::from_fn(|c| column(block * COLUMNS + c));
        let next = (block + 1) * COLUMNS * col_stride;
        for r in 0..x.count {
            let dots = dots(x.row(r), &columns, (r == 0).then_some(next));
            let out = &mut out[r * width + block * COLUMNS..][..COLUMNS];
            for (o, dot) in out.iter_mut().zip(dots) {
                store(o, dot);
            }
        }
    }
    for j in width / COLUMNS * COLUMNS..width {
        for r in 0..x.count {
            store(&mut out[r * width + j], dot(x.row(r), column(j)));
        }
    }
}

/// The portable [`rows_times_columns_dispatched`].
fn rows_times_columns(
    out: &mut [f32],
    x: Rows<'_>,
    b: &[f32],
    col_stride: usize,
    accumulate: bool,
) {
    rows_times_columns_with(out, x, b, col_stride, accumulate, |x, columns, next| {
        let mut lanes = [[0.0f32; LANES]; COLUMNS];
        for (i, xv) in x.chunks_exact(LANES).enumerate() {
            if let Some(next) = next
                && i % 2 == 0
            {
                for c in 0..COLUMNS {
                    prefetch::for_read(b, next + c * col_stride + i * LANES);
                }
            }
            for (sums, column) in lanes.iter_mut().zip(columns) {
                for ((s, &p), &q) in sums.iter_mut().zip(xv).zip(&column[i * LANES..][..LANES]) {
                    *s = p.mul_add(q, *s);
                }
            }
        }
        let done = x.len() / LANES * LANES;
        std::array::from_fn(|c| lanes[c].iter().sum::<f32>() + dot(&x[done..], &columns[c][done..]))
    });
}

/// A plain dot product, for tails and leftover columns.
fn dot(p: &[f32], q: &[f32]) -> f32 {
    p.iter().zip(q).map(|(&p, &q)| p * q).sum()
}

multiversion!(pub(super) fn rows_times_rows_dispatched(
    out: &mut [f32],
    x: Rows<'_>,
    b: &[f32],
    row_stride: usize,
    accumulate: bool,
) => rows_times_rows);

/// `out[r] (+)= Σ_i x_r[i] · row i`, where row `i` is `b[i * row_stride..][..width]` and
/// `out[r]` is `out[r * width..][..width]`: each row of `b` is read once, for all of `x`.
#[inline(always)]
fn rows_times_rows(out: &mut [f32], x: Rows<'_>, b: &[f32], row_stride: usize, accumulate: bool) {
    if !accumulate {
        out.fill(0.0);
    }
    let width = out.len() / x.count.max(1);
    if width == 0 {
        return;
    }
    for i in 0..x.len {
        let row = &b[i * row_stride..][..width];
        for (r, out) in out.chunks_exact_mut(width).enumerate() {
            let xi = x.data[r * x.stride + i];
            for (o, &v) in out.iter_mut().zip(row) {
                *o = xi.mul_add(v, *o);
            }
        }
    }
}

/// Explicit vectors: left to itself, the compiler vectorised the portable loop across the four
/// columns (gathering one element of each into a register) instead of along them, which made
/// a 1024 → 1000 classifier twice as slow as ONNX Runtime's.
#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{COLUMNS, Rows, dot, prefetch, rows_times_columns_with};
    use std::arch::x86_64::*;

    /// Floats of `x` per step: two registers, so each column has two independent sums.
    const STEP: usize = 16;

    /// [`super::rows_times_columns_dispatched`] on AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn rows_times_columns_avx2(
        out: &mut [f32],
        x: Rows<'_>,
        b: &[f32],
        col_stride: usize,
        accumulate: bool,
    ) {
        rows_times_columns_with(out, x, b, col_stride, accumulate, |x, columns, next| {
            // The closure has this function's target features, so the vector code inlines.
            match next {
                Some(next) => block_dots::<true>(x, columns, b, next, col_stride),
                None => block_dots::<false>(x, columns, b, 0, col_stride),
            }
        });
    }

    /// `x · column` for each of `columns`; with `PREFETCH`, one 64-byte line of each of the
    /// next block's columns (from `next` in `b`) per step.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn block_dots<const PREFETCH: bool>(
        x: &[f32],
        columns: &[&[f32]; COLUMNS],
        b: &[f32],
        next: usize,
        col_stride: usize,
    ) -> [f32; COLUMNS] {
        let done = x.len() / STEP * STEP;
        let mut sums = [[_mm256_setzero_ps(); 2]; COLUMNS];
        for (i, xs) in x[..done].chunks_exact(STEP).enumerate() {
            if PREFETCH {
                for c in 0..COLUMNS {
                    prefetch::for_read(b, next + c * col_stride + i * STEP);
                }
            }
            let x0 = load(&xs[..8]);
            let x1 = load(&xs[8..]);
            for (s, column) in sums.iter_mut().zip(columns) {
                let w = &column[i * STEP..][..STEP];
                s[0] = _mm256_fmadd_ps(x0, load(&w[..8]), s[0]);
                s[1] = _mm256_fmadd_ps(x1, load(&w[8..]), s[1]);
            }
        }
        std::array::from_fn(|c| {
            sum(_mm256_add_ps(sums[c][0], sums[c][1])) + dot(&x[done..], &columns[c][done..])
        })
    }

    /// Eight floats from the start of `v`.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn load(v: &[f32]) -> __m256 {
        let v: &[f32; 8] = v[..8].try_into().unwrap();
        // SAFETY: `v` holds the 8 floats read; an unaligned load needs no alignment.
        unsafe { _mm256_loadu_ps(v.as_ptr()) }
    }

    /// The sum of the eight lanes of `v`.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn sum(v: __m256) -> f32 {
        let halves = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let pairs = _mm_add_ps(halves, _mm_movehl_ps(halves, halves));
        _mm_cvtss_f32(_mm_add_ss(pairs, _mm_movehdup_ps(pairs)))
    }
}
