//! The fast MaxPool and AveragePool against the reference, bit for bit: random inputs (with NaN
//! and infinities sprinkled in), 1 to 3 spatial axes, odd sizes, kernels larger than the input,
//! padding, strides, dilations, ceil mode, both divisor rules; and one case big enough to be
//! split over threads. GlobalAveragePool within one rounding of the reference (its `f64`
//! sum is reassociated over vector lanes).

mod common;

use common::{close, pool_kind, pool_window, same, window};
use litecnn_kernels::ThreadTeam;
use litecnn_kernels::fast;
use litecnn_kernels::reference::pool::{GlobalPoolKind, PoolGeometry, PoolKind, global_pool, pool};
use litecnn_kernels::reference::window::{AutoPad, WindowParams};
use proptest::prelude::*;

fn values(len: usize, seed: u64, specials: bool) -> Vec<f32> {
    (0..len as u64)
        .map(|i| {
            let h = i
                .wrapping_mul(2_654_435_761)
                .wrapping_add(seed.wrapping_mul(40_503));
            match h % 97 {
                0 if specials => f32::NAN,
                1 if specials => f32::INFINITY,
                2 if specials => f32::NEG_INFINITY,
                _ => ((h >> 8) % 20_000) as f32 / 1000.0 - 10.0,
            }
        })
        .collect()
}

/// (input shape, window) with 1 to 3 spatial axes.
fn case() -> impl Strategy<Value = (Vec<usize>, WindowParams)> {
    (1..4usize, 1..3usize, 1..4usize)
        .prop_flat_map(|(rank, batch, channels)| {
            (
                Just((batch, channels)),
                prop::collection::vec(1..10usize, rank),
                prop::collection::vec(1..5usize, rank),
                prop::collection::vec(1..4usize, rank),
                prop::collection::vec(1..3usize, rank),
                prop::collection::vec(0..3usize, 2 * rank),
                any::<bool>(),
                prop_oneof![
                    Just(AutoPad::NotSet),
                    Just(AutoPad::SameUpper),
                    Just(AutoPad::Valid)
                ],
            )
        })
        .prop_map(
            |((batch, channels), spatial, kernel, strides, dilations, pads, ceil, auto_pad)| {
                let mut shape = vec![batch, channels];
                shape.extend(spatial);
                let window = pool_window(kernel, strides, dilations, &pads, auto_pad, ceil);
                (shape, window)
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn fast_pool_equals_reference((shape, window) in case(), kind in pool_kind(), seed in 0..1000u64, specials in any::<bool>()) {
        let Ok(g) = PoolGeometry::new(&shape, &window) else { return Ok(()) };
        let x = values(shape.iter().product(), seed, specials);
        let want = pool(&g, kind, &x).unwrap();
        let got = fast::pool::pool(&g, kind, &x).unwrap();
        prop_assert!(same(&got, &want), "{shape:?} {window:?} {kind:?}\n got {got:?}\nwant {want:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn fast_global_average_is_within_a_rounding_of_reference(
        shape in prop::collection::vec(1..40usize, 3..5), seed in 0..1000u64, specials in any::<bool>()
    ) {
        let x = values(shape.iter().product(), seed, specials);
        let (want_shape, want) = global_pool(GlobalPoolKind::Average, &x, &shape).unwrap();
        let (got_shape, got) = fast::pool::global_average(&x, &shape).unwrap();
        prop_assert_eq!(got_shape, want_shape);
        prop_assert!(close(&got, &want, f32::EPSILON), "{shape:?}\n got {got:?}\nwant {want:?}");
    }
}

#[test]
fn global_average_rejects_what_the_reference_rejects() {
    assert!(fast::pool::global_average(&[1.0; 5], &[1, 2, 3]).is_err());
    assert!(fast::pool::global_average(&[1.0; 4], &[4]).is_err());
    let (shape, empty) = fast::pool::global_average(&[], &[1, 3, 0]).unwrap();
    assert_eq!((shape, empty.len()), (vec![1, 3, 1], 3));
}

/// A 2-D `size`×`size` window with stride `stride`, no padding and no dilation.
fn square_window(size: usize, stride: usize, ceil_mode: bool) -> WindowParams {
    WindowParams {
        ceil_mode,
        ..window(&[size, size], &[stride, stride], &[1, 1], &[0, 0, 0, 0])
    }
}

#[test]
fn split_over_threads_equals_reference() {
    let shape = [1, 64, 57, 57];
    let g = PoolGeometry::new(&shape, &square_window(3, 2, true)).unwrap();
    let x = values(shape.iter().product(), 7, true);
    let team4 = ThreadTeam::new(4).unwrap();
    for kind in [
        PoolKind::Max,
        PoolKind::Average {
            count_include_pad: false,
        },
    ] {
        let got = team4.run(|| fast::pool::pool(&g, kind, &x).unwrap());
        assert!(same(&got, &pool(&g, kind, &x).unwrap()), "{kind:?}");
    }
}

#[test]
fn a_wrong_buffer_is_an_error_not_a_panic() {
    let g = PoolGeometry::new(&[1, 1, 3, 3], &square_window(2, 1, false)).unwrap();
    assert!(fast::pool::pool(&g, PoolKind::Max, &[0.0; 8]).is_err());
}
