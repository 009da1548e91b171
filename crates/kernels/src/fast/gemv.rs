//! A single row times a matrix (a classifier at batch 1): `out[j] = x · column j`. The weights
//! are read once, in storage order, and usually come from L3 or DRAM, so these loops are
//! about streaming them with enough independent sums in flight.

use super::dispatch::multiversion;
#[cfg(target_arch = "x86_64")]
use super::dispatch::{self, Level};
use super::prefetch;

/// Lanes of the portable vector loops below.
const LANES: usize = 8;

/// Columns computed together: `x` is loaded once for all of them, and their sums are
/// independent chains that hide the FMA latency.
const COLUMNS: usize = 4;

/// `out[j] (+)= x · column j`, where column `j` is `b[j * col_stride..][..x.len()]`, with the
/// best kernel this CPU has.
pub(super) fn row_times_columns_dispatched(
    out: &mut [f32],
    x: &[f32],
    b: &[f32],
    col_stride: usize,
    accumulate: bool,
) {
    #[cfg(target_arch = "x86_64")]
    if dispatch::level() != Level::Baseline {
        // SAFETY: `level()` checked that the CPU has AVX2 and FMA (every level above the
        // baseline has both).
        return unsafe { x86::row_times_columns_avx2(out, x, b, col_stride, accumulate) };
    }
    row_times_columns(out, x, b, col_stride, accumulate);
}

/// The portable [`row_times_columns_dispatched`].
fn row_times_columns(out: &mut [f32], x: &[f32], b: &[f32], col_stride: usize, accumulate: bool) {
    let k = x.len();
    let column = |j: usize| &b[j * col_stride..][..k];
    let first = out.len() / COLUMNS * COLUMNS;
    let mut blocks = out.chunks_exact_mut(COLUMNS);
    for (block, o) in (&mut blocks).enumerate() {
        let columns: [&[f32]; COLUMNS] = std::array::from_fn(|c| column(block * COLUMNS + c));
        let mut lanes = [[0.0f32; LANES]; COLUMNS];
        let next = (block + 1) * COLUMNS * col_stride;
        for (i, xv) in x.chunks_exact(LANES).enumerate() {
            if i % 2 == 0 {
                for c in 0..COLUMNS {
                    prefetch::for_read(b, next + c * col_stride + i * LANES);
                }
            }
            for (sums, column) in lanes.iter_mut().zip(&columns) {
                for ((s, &p), &q) in sums.iter_mut().zip(xv).zip(&column[i * LANES..][..LANES]) {
                    *s = p.mul_add(q, *s);
                }
            }
        }
        for ((o, sums), col) in o.iter_mut().zip(&lanes).zip(&columns) {
            let done = k / LANES * LANES;
            let dot = sums.iter().sum::<f32>() + dot(&x[done..], &col[done..]);
            *o = if accumulate { *o + dot } else { dot };
        }
    }
    for (j, o) in blocks.into_remainder().iter_mut().enumerate() {
        let dot = dot(x, column(first + j));
        *o = if accumulate { *o + dot } else { dot };
    }
}

/// A plain dot product, for tails and leftover columns.
fn dot(p: &[f32], q: &[f32]) -> f32 {
    p.iter().zip(q).map(|(&p, &q)| p * q).sum()
}

multiversion!(pub(super) fn row_times_rows_dispatched(
    out: &mut [f32],
    x: &[f32],
    b: &[f32],
    row_stride: usize,
    accumulate: bool,
) => row_times_rows);

/// `out (+)= Σ_i x[i] · row i`, where row `i` is `b[i * row_stride..][..out.len()]`.
#[inline(always)]
fn row_times_rows(out: &mut [f32], x: &[f32], b: &[f32], row_stride: usize, accumulate: bool) {
    if !accumulate {
        out.fill(0.0);
    }
    let n = out.len();
    for (i, &xi) in x.iter().enumerate() {
        let row = &b[i * row_stride..][..n];
        for (o, &r) in out.iter_mut().zip(row) {
            *o = xi.mul_add(r, *o);
        }
    }
}

/// Explicit vectors: left to itself, the compiler vectorised the portable loop across the four
/// columns (gathering one element of each into a register) instead of along them, which made
/// a 1024 → 1000 classifier twice as slow as ONNX Runtime's.
#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{COLUMNS, dot, prefetch};
    use std::arch::x86_64::*;

    /// Floats of `x` per step: two registers, so each column has two independent sums.
    const STEP: usize = 16;

    /// [`super::row_times_columns_dispatched`] on AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn row_times_columns_avx2(
        out: &mut [f32],
        x: &[f32],
        b: &[f32],
        col_stride: usize,
        accumulate: bool,
    ) {
        let k = x.len();
        let done = k / STEP * STEP;
        let column = |j: usize| &b[j * col_stride..][..k];
        let store = |o: &mut f32, dot: f32| *o = if accumulate { *o + dot } else { dot };
        let first = out.len() / COLUMNS * COLUMNS;
        let mut blocks = out.chunks_exact_mut(COLUMNS);
        for (block, o) in (&mut blocks).enumerate() {
            let columns: [&[f32]; COLUMNS] = std::array::from_fn(|c| column(block * COLUMNS + c));
            let mut sums = [[_mm256_setzero_ps(); 2]; COLUMNS];
            let next = (block + 1) * COLUMNS * col_stride;
            for (i, xs) in x[..done].chunks_exact(STEP).enumerate() {
                // One 64-byte line of each of the next block's columns per step.
                for c in 0..COLUMNS {
                    prefetch::for_read(b, next + c * col_stride + i * STEP);
                }
                let x0 = load(&xs[..8]);
                let x1 = load(&xs[8..]);
                for (s, column) in sums.iter_mut().zip(&columns) {
                    let w = &column[i * STEP..][..STEP];
                    s[0] = _mm256_fmadd_ps(x0, load(&w[..8]), s[0]);
                    s[1] = _mm256_fmadd_ps(x1, load(&w[8..]), s[1]);
                }
            }
            for ((o, s), column) in o.iter_mut().zip(&sums).zip(&columns) {
                let tail = dot(&x[done..], &column[done..]);
                store(o, sum(_mm256_add_ps(s[0], s[1])) + tail);
            }
        }
        for (j, o) in blocks.into_remainder().iter_mut().enumerate() {
            store(o, dot(x, column(first + j)));
        }
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
