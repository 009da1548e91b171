//! The fast offset gather (Transpose, Slice) against the reference, element for element: random
//! ranks and sizes (empty axes included), every permutation, and slices with steps of either
//! sign, so that runs merge over several trailing axes, over some, or over none.

use litecnn_kernels::fast::gather::gather_offsets;
use litecnn_kernels::reference::slice::{AxisRange, slice, slice_offsets};
use litecnn_kernels::reference::transpose::{transpose, transpose_offsets};
use proptest::prelude::*;

fn shape_and_data() -> impl Strategy<Value = (Vec<usize>, Vec<i64>)> {
    prop::collection::vec(0..5usize, 0..6).prop_map(|shape| {
        let len = shape.iter().product::<usize>();
        (shape, (0..len as i64).collect())
    })
}

/// One range per axis: a start, a step in -2..=2 (not 0) and as many elements as fit.
fn ranges(shape: &[usize]) -> impl Strategy<Value = Vec<AxisRange>> + use<> {
    let axes: Vec<_> = shape
        .iter()
        .map(|&dim| {
            (
                0..dim.max(1),
                prop_oneof![Just(-2isize), Just(-1), Just(1), Just(2)],
                0..6usize,
            )
                .prop_map(move |(start, step, want)| {
                    if dim == 0 {
                        return AxisRange::full(0);
                    }
                    let room = if step > 0 {
                        (dim - start).div_ceil(step as usize)
                    } else {
                        start / step.unsigned_abs() + 1
                    };
                    AxisRange {
                        start,
                        step,
                        len: want.min(room),
                    }
                })
        })
        .collect();
    axes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn transpose_matches_reference((shape, data) in shape_and_data(), seed in any::<u64>()) {
        // A permutation from the seed: a Fisher-Yates shuffle.
        let mut perm: Vec<usize> = (0..shape.len()).collect();
        let mut state = seed;
        for i in (1..perm.len()).rev() {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            perm.swap(i, (state >> 33) as usize % (i + 1));
        }
        let got = gather_offsets(&data, &transpose_offsets(&shape, &perm));
        prop_assert_eq!(got, transpose(&data, &shape, &perm));
    }

    #[test]
    fn slice_matches_reference(
        (shape, data, ranges) in shape_and_data()
            .prop_flat_map(|(shape, data)| (Just(shape.clone()), Just(data), ranges(&shape)))
    ) {
        let got = gather_offsets(&data, &slice_offsets(&shape, &ranges));
        prop_assert_eq!(got, slice(&data, &shape, &ranges));
    }
}

#[test]
fn channel_shuffle_and_split_copy_whole_planes() {
    // ShuffleNet's shuffle: [1, 2, 3, 4, 5] with axes 1 and 2 swapped.
    let shape = [1, 2, 3, 4, 5];
    let data: Vec<i64> = (0..120).collect();
    let perm = [0, 2, 1, 3, 4];
    let got = gather_offsets(&data, &transpose_offsets(&shape, &perm));
    assert_eq!(got, transpose(&data, &shape, &perm));
    assert_eq!(
        &got[20..40],
        &data[60..80],
        "plane (1, 0) is input plane (0, 1)"
    );
}
