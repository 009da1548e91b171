//! The NHWC layout conversions, pools and channel broadcasts against naive transposes and the
//! NCHW reference kernels: random shapes with odd channel counts, blocks and tiles with ragged
//! edges, every pooling geometry the reference accepts in 2-D, values with NaN and infinities,
//! output buffers recycled dirty, and cases big enough to be split over a team's threads.

mod common;

use common::{
    auto_pad, close, naive_transpose, padded_square_window, pool_kind, pool_window, same, window,
};
use litecnn_kernels::ThreadTeam;
use litecnn_kernels::fast::buffers;
use litecnn_kernels::fast::nhwc::{channels, layout, pool};
use litecnn_kernels::reference;
use litecnn_kernels::reference::elementwise::{BinaryKind, binary_f32};
use litecnn_kernels::reference::pool::{GlobalPoolKind, PoolGeometry, PoolKind};
use litecnn_kernels::reference::window::WindowParams;
use proptest::prelude::*;

/// Deterministic values in [-8, 8), with NaN and infinities now and then when `specials`.
fn values(len: usize, seed: u64, specials: bool) -> Vec<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            match state % 89 {
                0 if specials => f32::NAN,
                1 if specials => f32::INFINITY,
                2 if specials => f32::NEG_INFINITY,
                _ => (state >> 40) as f32 / (1u64 << 20) as f32 - 8.0,
            }
        })
        .collect()
}

/// Runs `op` after handing this thread's buffer pool a buffer of `len` garbage values, so that
/// an output of that size is written over stale contents.
fn on_dirty<T>(len: usize, op: impl FnOnce() -> T) -> T {
    buffers::clear();
    buffers::give(vec![1234.5; len]);
    op()
}

fn check_layout(batch: usize, channels: usize, positions: usize, seed: u64) {
    let x = values(batch * channels * positions, seed, true);
    let want = naive_transpose(&x, batch, channels, positions);
    let shape = format!("{batch} × {channels} × {positions}");
    let nhwc = on_dirty(x.len(), || {
        layout::nchw_to_nhwc(&x, batch, channels, positions)
    });
    assert!(same(&nhwc, &want), "NCHW → NHWC {shape}");
    let back = on_dirty(x.len(), || {
        layout::nhwc_to_nchw(&nhwc, batch, channels, positions)
    });
    assert!(same(&back, &x), "NHWC → NCHW {shape}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn layout_conversions_are_transposes(
        batch in 1..4usize,
        channels in prop_oneof![1..9usize, 9..150usize],
        positions in prop_oneof![1..9usize, 9..200usize],
        seed in any::<u64>(),
    ) {
        check_layout(batch, channels, positions, seed);
    }
}

#[test]
fn layout_conversions_of_network_shapes() {
    // The network input (3 channels), and a wide early layer.
    check_layout(1, 3, 224 * 224, 1);
    check_layout(1, 96, 112 * 112, 2);
    check_layout(2, 1, 1000, 3);
    check_layout(3, 1280, 1, 4);
    check_layout(0, 5, 7, 5);
    check_layout(2, 0, 7, 6);
    check_layout(2, 5, 0, 7);
}

/// 2-D `(input shape, window)` covering every rule of the reference's geometry.
fn pool_case() -> impl Strategy<Value = (Vec<usize>, WindowParams)> {
    (
        1..3usize,
        prop_oneof![1..8usize, 8..40usize],
        prop::collection::vec(1..10usize, 2),
        prop::collection::vec(1..5usize, 2),
        prop::collection::vec(1..4usize, 2),
        prop::collection::vec(1..3usize, 2),
        prop::collection::vec(0..3usize, 4),
        any::<bool>(),
        auto_pad(),
    )
        .prop_map(
            |(batch, channels, spatial, kernel, strides, dilations, pads, ceil_mode, auto_pad)| {
                let shape = vec![batch, channels, spatial[0], spatial[1]];
                let window = pool_window(kernel, strides, dilations, &pads, auto_pad, ceil_mode);
                (shape, window)
            },
        )
}

/// The NHWC pool of the NHWC transpose of NCHW `x`, transposed back, against the reference.
fn check_pool(g: &PoolGeometry, kind: PoolKind, x: &[f32]) -> Result<(), String> {
    let (batch, channels) = (g.batch, g.channels);
    let positions = |shape: Vec<usize>| shape[2..].iter().product::<usize>();
    let (in_positions, out_positions) = (positions(g.input_shape()), positions(g.output_shape()));
    let want = reference::pool::pool(g, kind, x).unwrap();
    let x_nhwc = naive_transpose(x, batch, channels, in_positions);
    let got = on_dirty(want.len(), || pool::pool(g, kind, &x_nhwc).unwrap());
    let got = naive_transpose(&got, batch, out_positions, channels);
    let ok = match kind {
        PoolKind::Max => same(&got, &want),
        PoolKind::Average { .. } => close(&got, &want, 1e-5),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("{g:?} {kind:?}\n got {got:?}\nwant {want:?}"))
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    #[test]
    fn pool_matches_reference(
        (shape, window) in pool_case(),
        kind in pool_kind(),
        seed in any::<u64>(),
        specials in any::<bool>(),
    ) {
        let Ok(g) = PoolGeometry::new(&shape, &window) else { return Ok(()) };
        let x = values(shape.iter().product(), seed, specials);
        check_pool(&g, kind, &x).map_err(TestCaseError::fail)?;
    }
}

#[test]
fn pool_of_windows_with_no_input() {
    // Kernel 2, stride 3, pad 2 at the start over 4: the first window reads only padding
    // (beyond ONNX's pads < kernel rule, but the reference gives it a meaning).
    let window = window(&[2, 2], &[3, 3], &[], &[2, 2, 0, 0]);
    let g = PoolGeometry::new(&[1, 5, 4, 4], &window).unwrap();
    let x = values(5 * 16, 9, false);
    for kind in [
        PoolKind::Max,
        PoolKind::Average {
            count_include_pad: false,
        },
        PoolKind::Average {
            count_include_pad: true,
        },
    ] {
        check_pool(&g, kind, &x).unwrap();
    }
}

#[test]
fn pool_rejects_other_ranks_and_wrong_buffers() {
    let geometry = |shape: &[usize]| {
        let kernel = vec![2; shape.len() - 2];
        PoolGeometry::new(shape, &window(&kernel, &[], &[], &[])).unwrap()
    };
    let g1 = geometry(&[1, 2, 5]);
    assert!(pool::pool(&g1, PoolKind::Max, &[0.0; 10]).is_err());
    let g3 = geometry(&[1, 2, 3, 3, 3]);
    assert!(pool::pool(&g3, PoolKind::Max, &[0.0; 54]).is_err());
    let g2 = geometry(&[1, 2, 3, 3]);
    assert!(pool::pool(&g2, PoolKind::Max, &[0.0; 17]).is_err());
    assert!(pool::pool(&g2, PoolKind::Max, &[0.0; 18]).is_ok());
}

fn check_global_average(
    batch: usize,
    positions: usize,
    channels: usize,
    seed: u64,
    specials: bool,
) {
    let x = values(batch * positions * channels, seed, specials);
    let nchw = naive_transpose(&x, batch, positions, channels);
    let (_, want) = reference::pool::global_pool(
        GlobalPoolKind::Average,
        &nchw,
        &[batch, channels, positions],
    )
    .unwrap();
    let got = on_dirty(want.len(), || {
        pool::global_average(&x, batch, positions, channels)
    });
    assert!(
        close(&got, &want, 1e-5),
        "{batch} × {positions} × {channels}\n got {got:?}\nwant {want:?}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn global_average_matches_reference(
        batch in 1..4usize,
        positions in prop_oneof![1..10usize, 10..300usize],
        channels in prop_oneof![1..9usize, 9..100usize],
        seed in any::<u64>(),
        specials in any::<bool>(),
    ) {
        check_global_average(batch, positions, channels, seed, specials);
    }
}

#[test]
fn global_average_of_network_shapes_and_empty_ones() {
    check_global_average(1, 49, 1280, 1, false);
    check_global_average(2, 12544, 32, 2, true);
    check_global_average(0, 5, 3, 3, false);
    // No positions: the mean of nothing, NaN, as the reference.
    check_global_average(2, 0, 3, 4, false);
}

fn binary_kind() -> impl Strategy<Value = BinaryKind> {
    prop_oneof![
        Just(BinaryKind::Add),
        Just(BinaryKind::Sub),
        Just(BinaryKind::Mul),
        Just(BinaryKind::Div),
    ]
}

fn check_broadcast(
    kind: BinaryKind,
    batch: usize,
    positions: usize,
    channels: usize,
    shared: bool,
    seed: u64,
) {
    let x = values(batch * positions * channels, seed, true);
    let (v, v_shape) = if shared {
        (values(channels, seed + 1, true), vec![channels])
    } else {
        (
            values(batch * channels, seed + 1, true),
            vec![batch, 1, channels],
        )
    };
    let (_, want) = binary_f32(kind, &x, &[batch, positions, channels], &v, &v_shape).unwrap();
    let got = on_dirty(x.len(), || {
        channels::broadcast_channels(kind, &x, &v, batch, positions, channels)
    });
    assert!(
        same(&got, &want),
        "{kind:?} {batch} × {positions} × {channels} shared {shared}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn broadcast_channels_matches_reference(
        kind in binary_kind(),
        batch in 1..4usize,
        positions in 1..60usize,
        channels in prop_oneof![1..9usize, 9..100usize],
        shared in any::<bool>(),
        seed in any::<u64>(),
    ) {
        check_broadcast(kind, batch, positions, channels, shared, seed);
    }
}

#[test]
fn broadcast_channels_of_empty_tensors() {
    for kind in [BinaryKind::Add, BinaryKind::Div] {
        check_broadcast(kind, 0, 5, 3, true, 1);
        check_broadcast(kind, 2, 0, 3, false, 2);
        check_broadcast(kind, 2, 4, 0, false, 3);
    }
}

/// Sizes past the threshold at which an op is split over threads (2 × 2^18 elements, or
/// element × taps for a pool), with ranges that do not fall on image boundaries.
#[test]
fn ops_split_over_threads_match_reference() {
    let team = ThreadTeam::new(2).unwrap();
    team.run(|| {
        assert_eq!(litecnn_kernels::team::threads(), 2);
        check_layout(1, 97, 6001, 11);
        check_layout(3, 33, 7001, 12);
        check_layout(1, 3, 180_001, 13);
        check_layout(1, 600_001, 1, 14);

        let shape = [3, 37, 41, 43];
        let g = PoolGeometry::new(&shape, &padded_square_window(3, 1)).unwrap();
        let x = values(shape.iter().product(), 15, true);
        for kind in [
            PoolKind::Max,
            PoolKind::Average {
                count_include_pad: true,
            },
        ] {
            check_pool(&g, kind, &x).unwrap();
        }

        for (kind, shared) in [(BinaryKind::Mul, false), (BinaryKind::Sub, true)] {
            check_broadcast(kind, 3, 2001, 97, shared, 16);
        }
    });
}
