//! Property tests of the NHWC depthwise convolution (with fused bias, residual and
//! activation) against the reference convolution in NCHW followed by the reference
//! elementwise operators, on random shapes: channel counts with tails, kernels wider than the
//! input, strides, dilations, explicit and automatic padding, batches, and splits over threads.

mod common;

use common::{
    ConvData, activation, assert_close, auto_pad, padded_square_window, reference_conv, to_nchw,
    to_nhwc, window, window_2d,
};
use litecnn_kernels::ThreadTeam;
use litecnn_kernels::fast::nhwc::depthwise::{depthwise, pack_weights, supports};
use litecnn_kernels::fast::{Activation, Epilogue};
use litecnn_kernels::reference::conv::ConvGeometry;
use litecnn_kernels::reference::window::WindowParams;
use proptest::prelude::*;
use std::ops::Range;

/// Kernel extents along one axis: mostly the 3 and 5 of mobile networks.
fn kernel_extent() -> impl Strategy<Value = usize> {
    prop_oneof![2 => Just(3usize), 1 => Just(5), 2 => 1..6usize]
}

/// Reference conv in NCHW, then `+ residual`, then the activation, back in NHWC: what the
/// fused NHWC kernel replaces. `x` and the residual are NHWC.
fn reference(g: &ConvGeometry, x: &[f32], w: &[f32], e: &Epilogue<'_>) -> Vec<f32> {
    let c = g.in_channels;
    let residual = e.residual.map(|r| to_nchw(r, g.batch, c));
    let e = Epilogue {
        residual: residual.as_deref(),
        ..*e
    };
    let y = reference_conv(g, &to_nchw(x, g.batch, c), w, &e);
    to_nhwc(&y, g.batch, c)
}

/// The NHWC kernel, into an output poisoned with NaN so that any element it skips shows.
fn fast(g: &ConvGeometry, x: &[f32], w: &[f32], e: &Epilogue<'_>) -> Vec<f32> {
    let taps = g.axes.iter().map(|a| a.kernel).product();
    let packed = pack_weights(w, g.in_channels, taps);
    let mut out = vec![f32::NAN; g.output_shape().iter().product()];
    depthwise(g, x, &packed, e, &mut out);
    out
}

/// A depthwise case: NCHW input shape and window.
#[derive(Clone, Debug)]
struct Case {
    input: [usize; 4],
    window: WindowParams,
}

fn case(
    batch: Range<usize>,
    channels: Range<usize>,
    side: Range<usize>,
) -> impl Strategy<Value = Case> {
    (
        batch,
        channels,
        side.clone(),
        side,
        [kernel_extent(), kernel_extent()],
        [1..4usize, 1..4usize],
        [1..3usize, 1..3usize],
        [0..4usize, 0..4usize, 0..4usize, 0..4usize],
        auto_pad(),
    )
        .prop_map(
            |(batch, channels, h, w, kernel, strides, dilations, pads, auto_pad)| Case {
                input: [batch, channels, h, w],
                window: window_2d(kernel, strides, dilations, pads, auto_pad),
            },
        )
}

fn check_case(
    case: &Case,
    act: Activation,
    with_bias: bool,
    with_residual: bool,
    seed: u64,
    team: Option<&ThreadTeam>,
) -> Result<(), TestCaseError> {
    let [_, c, _, _] = case.input;
    let weight = [c, 1, case.window.kernel[0], case.window.kernel[1]];
    // A window larger than the padded input has no output: not a case.
    let g = ConvGeometry::new(&case.input, &weight, &case.window, c);
    prop_assume!(g.is_ok());
    let g = g.unwrap();
    prop_assert!(supports(&g));
    let d = ConvData::new(&g, seed);
    let e = d.epilogue(with_bias, with_residual, act);
    let got = match team {
        Some(team) => team.run(|| fast(&g, &d.x, &d.w, &e)),
        None => fast(&g, &d.x, &d.w, &e),
    };
    assert_close(&got, &reference(&g, &d.x, &d.w, &e))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn depthwise_matches_reference(
        case in case(1..3, 1..41, 1..31), act in activation(), bias: bool, residual: bool,
        seed in any::<u64>()
    ) {
        check_case(&case, act, bias, residual, seed, None)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    /// Planes and channel counts large enough that the rows are split over two threads.
    #[test]
    fn depthwise_split_over_threads_matches_reference(
        case in case(1..3, 24..72, 24..48), act in activation(), bias: bool, residual: bool,
        seed in any::<u64>()
    ) {
        let team = ThreadTeam::new(2).unwrap();
        check_case(&case, act, bias, residual, seed, Some(&team))?;
    }
}

/// On MobileNet-like layers big enough to split, two threads compute exactly what one does
/// (each output is the same sum in the same order), and both match the reference.
#[test]
fn threads_do_not_change_the_result() {
    let team = ThreadTeam::new(2).unwrap();
    let cases = [
        ([1, 144, 56, 56], 3, 1),
        ([1, 96, 57, 57], 3, 2),
        ([2, 72, 28, 28], 5, 1),
        ([1, 101, 30, 30], 5, 2),
    ];
    for (input, k, s) in cases {
        let c = input[1];
        let window = padded_square_window(k, s);
        let g = ConvGeometry::new(&input, &[c, 1, k, k], &window, c).unwrap();
        let d = ConvData::new(&g, 21);
        let (x, w) = (&d.x, &d.w);
        let e = d.epilogue(true, true, Activation::HardSwish);
        let alone = fast(&g, x, w, &e);
        let split = team.run(|| fast(&g, x, w, &e));
        assert!(
            alone == split,
            "{input:?} k{k} s{s}: threads changed the result"
        );
        assert_close(&alone, &reference(&g, x, w, &e)).unwrap();
    }
}

#[test]
fn packed_weights_are_tap_major() {
    let (channels, taps) = (3, 4);
    let weight: Vec<f32> = (0..channels * taps).map(|i| i as f32).collect();
    let packed = pack_weights(&weight, channels, taps);
    for t in 0..taps {
        for c in 0..channels {
            assert_eq!(
                packed[t * channels + c],
                weight[c * taps + t],
                "tap {t} channel {c}"
            );
        }
    }
    assert_eq!(
        packed,
        [0.0, 4.0, 8.0, 1.0, 5.0, 9.0, 2.0, 6.0, 10.0, 3.0, 7.0, 11.0]
    );
}

#[test]
fn supports_only_2d_depthwise() {
    let geometry = |input: &[usize], weight: &[usize], group| {
        let kernel = vec![3; input.len() - 2];
        ConvGeometry::new(input, weight, &window(&kernel, &[], &[], &[]), group).unwrap()
    };
    assert!(supports(&geometry(&[1, 8, 5, 5], &[8, 1, 3, 3], 8)));
    assert!(supports(&geometry(&[1, 1, 5, 5], &[1, 1, 3, 3], 1)));
    // A channel multiplier of 2, groups of several channels, 1-D and 3-D windows.
    assert!(!supports(&geometry(&[1, 8, 5, 5], &[16, 1, 3, 3], 8)));
    assert!(!supports(&geometry(&[1, 8, 5, 5], &[8, 2, 3, 3], 4)));
    assert!(!supports(&geometry(&[1, 8, 5], &[8, 1, 3], 8)));
    assert!(!supports(&geometry(&[1, 8, 5, 5, 5], &[8, 1, 3, 3, 3], 8)));
}
