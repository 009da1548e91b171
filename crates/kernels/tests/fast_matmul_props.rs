//! Property tests of the GEMM wrapper against the reference Gemm: random sizes (tails of every
//! micro-kernel width), transposed operands read through strides, and accumulation.

use litecnn_kernels::ThreadTeam;
use litecnn_kernels::fast::matmul::{MatRef, matmul, matmul_on};
use litecnn_kernels::reference::gemm::{GemmParams, gemm};
use proptest::prelude::*;
use std::sync::LazyLock;

fn values(len: usize, seed: u64) -> Vec<f32> {
    (0..len as u64)
        .map(|i| ((i.wrapping_mul(2_654_435_761).wrapping_add(seed) % 1000) as f32) / 500.0 - 1.0)
        .collect()
}

/// Shared by the cases, as a model shares one team across its runs.
static TEAM: LazyLock<ThreadTeam> = LazyLock::new(|| ThreadTeam::new(3).unwrap());

proptest! {
    #[test]
    fn matmul_matches_reference_gemm(
        m in 1..40usize, n in 1..70usize, k in 1..90usize,
        trans_a: bool, trans_b: bool, accumulate: bool, seed in any::<u64>()
    ) {
        let a = values(m * k, seed);
        let b = values(k * n, seed + 1);
        let c = values(m * n, seed + 2);
        let p = GemmParams { m, n, k, trans_a, trans_b, alpha: 1.0, beta: 1.0 };
        let want = gemm(&p, &a, &b, accumulate.then_some((&c[..], &[m, n][..]))).unwrap();
        let a_view = if trans_a { MatRef::row_major(&a, k, m).t() } else { MatRef::row_major(&a, m, k) };
        let b_view = if trans_b { MatRef::row_major(&b, n, k).t() } else { MatRef::row_major(&b, k, n) };
        let mut got = if accumulate { c.clone() } else { vec![f32::NAN; m * n] };
        matmul(&mut got, a_view, b_view, accumulate).unwrap();
        for (g, w) in got.iter().zip(&want) {
            prop_assert!((g - w).abs() <= 1e-4 * (1.0 + w.abs()), "{} vs {}", g, w);
        }
        // Rows split over three threads.
        let mut got = if accumulate { c.clone() } else { vec![f32::NAN; m * n] };
        TEAM.run(|| matmul_on(&mut got, a_view, b_view, accumulate, 3)).unwrap();
        for (g, w) in got.iter().zip(&want) {
            prop_assert!((g - w).abs() <= 1e-4 * (1.0 + w.abs()), "{} vs {} on 3 threads", g, w);
        }
    }
}

proptest! {
    /// One row (a classifier at batch 1) has its own loops: long dot products with tails, and
    /// the weights stored either way round.
    #[test]
    fn single_row_matches_reference_gemm(
        n in 1..70usize, k in 1..1100usize, trans_a: bool, trans_b: bool, accumulate: bool,
        seed in any::<u64>()
    ) {
        let a = values(k, seed);
        let b = values(k * n, seed + 1);
        let c = values(n, seed + 2);
        let p = GemmParams { m: 1, n, k, trans_a, trans_b, alpha: 1.0, beta: 1.0 };
        let want = gemm(&p, &a, &b, accumulate.then_some((&c[..], &[1, n][..]))).unwrap();
        let a_view = if trans_a { MatRef::row_major(&a, k, 1).t() } else { MatRef::row_major(&a, 1, k) };
        let b_view = if trans_b { MatRef::row_major(&b, n, k).t() } else { MatRef::row_major(&b, k, n) };
        // On one thread, and with the columns split over three.
        for threads in [1, 3] {
            let mut got = if accumulate { c.clone() } else { vec![f32::NAN; n] };
            TEAM.run(|| matmul_on(&mut got, a_view, b_view, accumulate, threads)).unwrap();
            for (g, w) in got.iter().zip(&want) {
                prop_assert!((g - w).abs() <= 1e-4 * (1.0 + w.abs()), "{} vs {} on {} threads", g, w, threads);
            }
        }
    }
}

#[test]
fn out_of_bounds_views_are_errors() {
    let a = vec![0.0; 6];
    let mut out = vec![0.0; 4];
    let too_big = MatRef {
        data: &a,
        rows: 2,
        cols: 4,
        row_stride: 4,
        col_stride: 1,
    };
    assert!(matmul(&mut out, too_big, MatRef::row_major(&a, 4, 2), false).is_err());
    let mismatched = MatRef::row_major(&a, 3, 2);
    assert!(matmul(&mut out, MatRef::row_major(&a, 2, 3), mismatched.t(), false).is_err());
    assert!(
        matmul(
            &mut out[..3],
            MatRef::row_major(&a, 2, 3),
            mismatched,
            false
        )
        .is_err()
    );
}
