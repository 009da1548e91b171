//! Property tests of the GEMM wrapper against the reference Gemm: random sizes (tails of every
//! micro-kernel width), transposed operands read through strides, and accumulation.

mod common;

use common::near;
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

/// A `rows` × `cols` view of `data`, which holds the matrix row-major, or its transpose
/// row-major when `transposed`.
fn view(data: &[f32], rows: usize, cols: usize, transposed: bool) -> MatRef<'_> {
    if transposed {
        MatRef::row_major(data, cols, rows).t()
    } else {
        MatRef::row_major(data, rows, cols)
    }
}

/// The output to write into: `c` to accumulate onto, else NaN for the product to overwrite.
fn output(c: &[f32], accumulate: bool) -> Vec<f32> {
    if accumulate {
        c.to_vec()
    } else {
        vec![f32::NAN; c.len()]
    }
}

/// Each element of `got`, computed on `threads` threads, [`near`] the reference's.
fn check(got: &[f32], want: &[f32], threads: usize) -> Result<(), TestCaseError> {
    for (g, w) in got.iter().zip(want) {
        prop_assert!(near(*g, *w), "{} vs {} on {} threads", g, w, threads);
    }
    Ok(())
}

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
        let (a_view, b_view) = (view(&a, m, k, trans_a), view(&b, k, n, trans_b));
        let mut got = output(&c, accumulate);
        matmul(&mut got, a_view, b_view, accumulate).unwrap();
        check(&got, &want, 1)?;
        // Rows split over three threads.
        let mut got = output(&c, accumulate);
        TEAM.run(|| matmul_on(&mut got, a_view, b_view, accumulate, 3)).unwrap();
        check(&got, &want, 3)?;
    }
}

proptest! {
    /// A few rows (a classifier at batch 1 to 8, and one row past that) have their own loops:
    /// long dot products with tails, the weights stored either way round, and the columns
    /// split over threads into blocks of their own.
    #[test]
    fn few_rows_match_reference_gemm(
        m in 1..10usize, n in 1..70usize, k in 1..1100usize, trans_a: bool, trans_b: bool,
        accumulate: bool, seed in any::<u64>()
    ) {
        let a = values(m * k, seed);
        let b = values(k * n, seed + 1);
        let c = values(m * n, seed + 2);
        let p = GemmParams { m, n, k, trans_a, trans_b, alpha: 1.0, beta: 1.0 };
        let want = gemm(&p, &a, &b, accumulate.then_some((&c[..], &[m, n][..]))).unwrap();
        let (a_view, b_view) = (view(&a, m, k, trans_a), view(&b, k, n, trans_b));
        // On one thread, and with the columns split over two and three.
        for threads in [1, 2, 3] {
            let mut got = output(&c, accumulate);
            TEAM.run(|| matmul_on(&mut got, a_view, b_view, accumulate, threads)).unwrap();
            check(&got, &want, threads)?;
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
