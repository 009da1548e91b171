//! The GEMM tile in AVX2 + FMA registers, epilogue included.
//!
//! The portable tile (`super::tile`) has to pass its sums through memory before the epilogue:
//! any branch of the activation inside the register block made the compiler keep the sums in
//! memory for the whole depth loop. That round trip (store, residual, activation, store again)
//! is as long as a depth-16 loop, so the expansions of the mobile nets (16 or 24 input
//! channels) ran at half the speed of the deeper layers. Here the sums are vector registers
//! the compiler cannot demote, and the residual and the common activations are applied to
//! them before the single store. Results are bit-identical to the portable tile: the same
//! multiply-adds in the same order, the same activation formulas.

use std::arch::x86_64::*;

use super::{Left, NR, Rows, store_tile};
use crate::fast::activation::Activation;

/// `R` rows × `W` channels (`W` is 8 or 16: one or two registers per row), like
/// [`super::tile`].
#[target_feature(enable = "avx2,fma")]
#[inline]
pub(super) fn tile<const R: usize, const W: usize>(
    left: &Left<'_>,
    first: usize,
    panel: &[f32],
    bias: &[f32; NR],
    dst: &Rows<'_>,
) {
    const { assert!(W == 8 || W == 16, "a tile row is one or two AVX2 registers") };
    let wide = W == 16;
    let starts: [usize; R] = std::array::from_fn(|r| left.starts[first + r]);
    let bias = [load(&bias[..8]), load(&bias[8..])];
    let mut acc = [bias; R];
    let len = left.segment_len;
    for (i, &segment) in left.segments.iter().enumerate() {
        let rows: [*const f32; R] = std::array::from_fn(|r| {
            // SAFETY: `GroupGemm::rows` checked that every start plus every segment plus the
            // segment's length lies inside `a`.
            unsafe { left.a.get_unchecked(starts[r] + segment..).as_ptr() }
        });
        let panel = &panel[i * len * NR..][..len * NR];
        for (k, bk) in panel.chunks_exact(NR).enumerate() {
            let b0 = load(&bk[..8]);
            let b1 = if wide { load(&bk[8..]) } else { b0 };
            for r in 0..R {
                // SAFETY: `k < len`, and row `r` has `len` elements from `rows[r]` (above).
                let a = unsafe { _mm256_broadcast_ss(&*rows[r].add(k)) };
                acc[r][0] = _mm256_fmadd_ps(a, b0, acc[r][0]);
                if wide {
                    acc[r][1] = _mm256_fmadd_ps(a, b1, acc[r][1]);
                }
            }
        }
    }
    if dst.cols.len() != W || !activate::<R, W>(dst.activation, &mut acc, dst) {
        // A partial panel, or an activation with no register form here (Sigmoid, SiLU):
        // the portable epilogue, from memory.
        let mut sums = [[0.0f32; W]; R];
        for (s, a) in sums.iter_mut().zip(&acc) {
            store(&mut s[..8], a[0]);
            if wide {
                store(&mut s[8..], a[1]);
            }
        }
        store_tile(&mut sums, dst);
        return;
    }
    for (r, a) in acc.iter().enumerate() {
        // SAFETY: these rows and columns are this thread's (`Rows`).
        let d = unsafe { dst.out.row(dst.first + r, dst.cols.clone()) };
        // `d` has `W` elements (checked above).
        store(&mut d[..8], a[0]);
        if wide {
            store(&mut d[8..], a[1]);
        }
    }
}

/// Adds the residual to full-width sums and applies the activation, in registers, as the
/// portable epilogue does; `false` (nothing changed) for the activations it leaves to it.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn activate<const R: usize, const W: usize>(
    activation: Activation,
    acc: &mut [[__m256; 2]; R],
    dst: &Rows<'_>,
) -> bool {
    if matches!(activation, Activation::Sigmoid | Activation::Silu) {
        return false;
    }
    let vectors = W / 8;
    if let Some(res) = dst.residual {
        for (r, a) in acc.iter_mut().enumerate() {
            let at = (dst.first + r) * dst.out.stride + dst.cols.start;
            let res = &res[at..][..W];
            for (v, a) in a[..vectors].iter_mut().enumerate() {
                *a = _mm256_add_ps(*a, load(&res[v * 8..][..8]));
            }
        }
    }
    // One loop per kind, the match outside it (as in `apply_body`).
    macro_rules! each {
        ($f:expr) => {
            for a in acc.iter_mut() {
                for a in a[..vectors].iter_mut() {
                    *a = $f(*a);
                }
            }
        };
    }
    let zero = _mm256_setzero_ps();
    let one = _mm256_set1_ps(1.0);
    // `max(bound, x)` is `bound > x ? bound : x` and `min(bound, x)` is `bound < x ? bound : x`:
    // with the bound first, a NaN `x` comes through as in the scalar selects.
    let clip = |x, lo, hi| _mm256_min_ps(hi, _mm256_max_ps(lo, x));
    // The selects add +0.0, as `apply_body` does, so that -0.0 becomes +0.0 alike.
    match activation {
        Activation::Identity => {}
        Activation::Relu => each!(|x| _mm256_add_ps(_mm256_max_ps(zero, x), zero)),
        Activation::LeakyRelu { alpha } => {
            let alpha = _mm256_set1_ps(alpha);
            each!(|x| {
                let negative = _mm256_cmp_ps::<_CMP_LT_OQ>(x, zero);
                let scaled = _mm256_mul_ps(alpha, x);
                _mm256_add_ps(_mm256_blendv_ps(x, scaled, negative), zero)
            })
        }
        Activation::Clip { min, max } => {
            let (lo, hi) = (_mm256_set1_ps(min), _mm256_set1_ps(max));
            each!(|x| _mm256_add_ps(clip(x, lo, hi), zero))
        }
        Activation::HardSigmoid { alpha, beta } => {
            let (alpha, beta) = (_mm256_set1_ps(alpha), _mm256_set1_ps(beta));
            each!(|x| clip(_mm256_add_ps(_mm256_mul_ps(alpha, x), beta), zero, one))
        }
        Activation::HardSwish => {
            let (six, half) = (_mm256_set1_ps(6.0), _mm256_set1_ps(0.5));
            each!(|x| {
                let gate = _mm256_add_ps(_mm256_div_ps(x, six), half);
                _mm256_mul_ps(x, clip(gate, zero, one))
            })
        }
        Activation::Sigmoid | Activation::Silu => unreachable!("left to the portable epilogue"),
    }
    true
}

/// Eight floats.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn load(v: &[f32]) -> __m256 {
    assert!(v.len() >= 8);
    // SAFETY: eight floats are there (checked above); `loadu` takes any alignment.
    unsafe { _mm256_loadu_ps(v.as_ptr()) }
}

/// Into eight floats.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn store(v: &mut [f32], x: __m256) {
    assert!(v.len() >= 8);
    // SAFETY: eight floats are there (checked above); `storeu` takes any alignment.
    unsafe { _mm256_storeu_ps(v.as_mut_ptr(), x) }
}
