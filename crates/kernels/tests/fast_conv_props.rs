//! Property tests of the fast convolution (depthwise, 1×1 and im2col + GEMM paths, with fused
//! bias, residual and activation) against the reference convolution followed by the reference
//! elementwise operators, on random shapes: odd channel counts, row tails, padding (explicit
//! and automatic), strides, dilations, groups and batches.

use litecnn_kernels::ThreadTeam;
use litecnn_kernels::fast::{self, Activation, Epilogue};
use litecnn_kernels::reference::conv::{ConvGeometry, conv};
use litecnn_kernels::reference::elementwise::{BinaryKind, UnaryKind, binary_f32, clip, unary_f32};
use litecnn_kernels::reference::window::{AutoPad, WindowParams};
use proptest::prelude::*;

/// Deterministic values in [-1, 1).
fn values(len: usize, seed: u64) -> Vec<f32> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

fn activation() -> impl Strategy<Value = Activation> {
    prop_oneof![
        Just(Activation::Identity),
        Just(Activation::Relu),
        Just(Activation::LeakyRelu { alpha: 0.1 }),
        Just(Activation::Clip { min: 0.0, max: 0.5 }),
        Just(Activation::Sigmoid),
        Just(Activation::HardSigmoid {
            alpha: 0.2,
            beta: 0.5
        }),
        Just(Activation::HardSwish),
        Just(Activation::Silu),
    ]
}

fn auto_pad() -> impl Strategy<Value = AutoPad> {
    prop_oneof![
        3 => Just(AutoPad::NotSet),
        1 => Just(AutoPad::SameUpper),
        1 => Just(AutoPad::SameLower),
        1 => Just(AutoPad::Valid)
    ]
}

/// The activation as the reference operators compute it.
fn reference_activation(act: Activation, x: Vec<f32>) -> Vec<f32> {
    let n = [x.len()];
    match act {
        Activation::Identity => x,
        Activation::Relu => unary_f32(UnaryKind::Relu, &x),
        Activation::LeakyRelu { alpha } => unary_f32(UnaryKind::LeakyRelu { alpha }, &x),
        Activation::Clip { min, max } => clip(&x, Some(min), Some(max)),
        Activation::Sigmoid => unary_f32(UnaryKind::Sigmoid, &x),
        Activation::HardSigmoid { alpha, beta } => {
            unary_f32(UnaryKind::HardSigmoid { alpha, beta }, &x)
        }
        Activation::HardSwish => unary_f32(UnaryKind::HardSwish, &x),
        Activation::Silu => {
            let s = unary_f32(UnaryKind::Sigmoid, &x);
            binary_f32(BinaryKind::Mul, &x, &n, &s, &n).unwrap().1
        }
    }
}

/// Reference conv, then `+ residual`, then the activation: what the fused kernel replaces.
fn reference(g: &ConvGeometry, x: &[f32], w: &[f32], e: &Epilogue<'_>) -> Vec<f32> {
    let mut y = conv(g, x, w, e.bias).unwrap();
    if let Some(r) = e.residual {
        let n = [y.len()];
        y = binary_f32(BinaryKind::Add, &y, &n, r, &n).unwrap().1;
    }
    reference_activation(e.activation, y)
}

fn assert_close(got: &[f32], want: &[f32]) -> Result<(), TestCaseError> {
    prop_assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        prop_assert!(
            (g - w).abs() <= 1e-4 * (1.0 + w.abs()),
            "element {}: {} vs {}",
            i,
            g,
            w
        );
    }
    Ok(())
}

/// A 2-D case: (input shape, weight shape, window, group).
#[allow(clippy::type_complexity)]
fn conv_case(
    depthwise: bool,
) -> impl Strategy<Value = ([usize; 4], [usize; 4], WindowParams, usize)> {
    let channels = if depthwise {
        (1..20usize, 1..2usize, 1..2usize)
    } else {
        (1..4usize, 1..9usize, 1..9usize)
    };
    (1..3usize, channels, 1..24usize, 1..40usize)
        .prop_flat_map(move |(batch, (group, cin_g, cout_g), h, w)| {
            let group = if depthwise { group + 1 } else { group };
            (
                Just((batch, group, cin_g, cout_g, h, w)),
                [1..6usize, 1..6usize],
                [1..3usize, 1..3usize],
                [1..3usize, 1..3usize],
                [0..3usize, 0..3usize, 0..3usize, 0..3usize],
                auto_pad(),
            )
        })
        .prop_map(
            |((batch, group, cin_g, cout_g, h, w), kernel, strides, dilations, pads, auto_pad)| {
                let window = WindowParams {
                    kernel: kernel.to_vec(),
                    strides: strides.to_vec(),
                    dilations: dilations.to_vec(),
                    pads: pads.to_vec(),
                    auto_pad,
                    ceil_mode: false,
                };
                let input = [batch, group * cin_g, h, w];
                let weight = [group * cout_g, cin_g, kernel[0], kernel[1]];
                (input, weight, window, group)
            },
        )
}

fn check_case(
    (input, weight, window, group): ([usize; 4], [usize; 4], WindowParams, usize),
    act: Activation,
    with_bias: bool,
    with_residual: bool,
    seed: u64,
) -> Result<(), TestCaseError> {
    let Ok(g) = ConvGeometry::new(&input, &weight, &window, group) else {
        return Ok(());
    };
    let x = values(input.iter().product(), seed);
    let w = values(weight.iter().product(), seed + 1);
    let b = values(weight[0], seed + 2);
    let r = values(g.output_shape().iter().product(), seed + 3);
    let e = Epilogue {
        bias: with_bias.then_some(&b[..]),
        residual: with_residual.then_some(&r[..]),
        activation: act,
    };
    assert_close(
        &fast::conv::conv(&g, &x, &w, &e).unwrap(),
        &reference(&g, &x, &w, &e),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn gemm_conv_matches_reference(
        case in conv_case(false), act in activation(), bias: bool, residual: bool, seed in any::<u64>()
    ) {
        check_case(case, act, bias, residual, seed)?;
    }

    #[test]
    fn depthwise_conv_matches_reference(
        case in conv_case(true), act in activation(), bias: bool, residual: bool, seed in any::<u64>()
    ) {
        check_case(case, act, bias, residual, seed)?;
    }

    #[test]
    fn pointwise_conv_matches_reference(
        batch in 1..3usize, cin in 1..70usize, cout in 1..70usize, h in 1..12usize, w in 1..12usize,
        act in activation(), bias: bool, residual: bool, seed in any::<u64>()
    ) {
        let window = WindowParams {
            kernel: vec![1, 1], strides: vec![], dilations: vec![], pads: vec![],
            auto_pad: AutoPad::NotSet, ceil_mode: false,
        };
        check_case(([batch, cin, h, w], [cout, cin, 1, 1], window, 1), act, bias, residual, seed)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Depths beyond one slice of the GEMM (256 steps: partial sums kept between slices, the
    /// epilogue on the last) and planes beyond one strip of positions (256), with their
    /// partial last panels.
    #[test]
    fn deep_or_wide_pointwise_conv_matches_reference(
        (cin, h, w) in prop_oneof![
            (250..600usize, 1..9usize, 1..9usize),
            (1..24usize, 10..40usize, 10..40usize),
        ],
        cout in 1..20usize, act in activation(), bias: bool, residual: bool, seed in any::<u64>()
    ) {
        let window = WindowParams {
            kernel: vec![1, 1], strides: vec![], dilations: vec![], pads: vec![],
            auto_pad: AutoPad::NotSet, ceil_mode: false,
        };
        check_case(([1, cin, h, w], [cout, cin, 1, 1], window, 1), act, bias, residual, seed)?;
    }
}

/// The depthwise shapes of mobile networks (3×3 and 5×5 taps, the unrolled paths), on planes
/// wide enough for several vector blocks per row, with strides, dilations and uneven pads.
#[allow(clippy::type_complexity)]
fn mobile_depthwise_case() -> impl Strategy<Value = ([usize; 4], [usize; 4], WindowParams, usize)> {
    (
        1..6usize,
        prop_oneof![Just(3usize), Just(5)],
        1..3usize,
        1..3usize,
        (1..70usize, 1..70usize),
        [0..3usize, 0..3usize, 0..3usize, 0..3usize],
    )
        .prop_map(|(channels, k, stride, dilation, (h, w), pads)| {
            let window = WindowParams {
                kernel: vec![k, k],
                strides: vec![stride, stride],
                dilations: vec![dilation, dilation],
                pads: pads.to_vec(),
                auto_pad: AutoPad::NotSet,
                ceil_mode: false,
            };
            ([1, channels, h, w], [channels, 1, k, k], window, channels)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn mobile_depthwise_matches_reference(
        case in mobile_depthwise_case(), act in activation(), bias: bool, residual: bool,
        seed in any::<u64>()
    ) {
        check_case(case, act, bias, residual, seed)?;
    }
}

#[test]
fn one_and_three_dim_convs_match_reference() {
    let cases: [(&[usize], &[usize], WindowParams); 2] = [
        (
            &[2, 3, 17],
            &[4, 3, 3],
            WindowParams {
                kernel: vec![3],
                strides: vec![2],
                dilations: vec![1],
                pads: vec![1, 2],
                auto_pad: AutoPad::NotSet,
                ceil_mode: false,
            },
        ),
        (
            &[1, 2, 5, 6, 7],
            &[3, 2, 2, 3, 2],
            WindowParams {
                kernel: vec![2, 3, 2],
                strides: vec![1, 2, 1],
                dilations: vec![2, 1, 1],
                pads: vec![1, 0, 1, 0, 1, 1],
                auto_pad: AutoPad::NotSet,
                ceil_mode: false,
            },
        ),
    ];
    for (input, weight, window) in cases {
        let g = ConvGeometry::new(input, weight, &window, 1).unwrap();
        let x = values(input.iter().product(), 7);
        let w = values(weight.iter().product(), 8);
        let e = Epilogue {
            activation: Activation::Relu,
            ..Epilogue::default()
        };
        let got = fast::conv::conv(&g, &x, &w, &e).unwrap();
        let want = reference(&g, &x, &w, &e);
        assert!(
            got.iter().zip(&want).all(|(a, b)| (a - b).abs() <= 1e-4),
            "{input:?}"
        );
    }
}

#[test]
fn wrong_buffers_are_errors() {
    let window = WindowParams {
        kernel: vec![],
        strides: vec![],
        dilations: vec![],
        pads: vec![],
        auto_pad: AutoPad::NotSet,
        ceil_mode: false,
    };
    let g = ConvGeometry::new(&[1, 2, 4, 4], &[3, 2, 3, 3], &window, 1).unwrap();
    let (x, w) = (vec![0.0; 32], vec![0.0; 54]);
    let e = Epilogue::default();
    assert!(fast::conv::conv(&g, &x[1..], &w, &e).is_err());
    assert!(fast::conv::conv(&g, &x, &w[1..], &e).is_err());
    let short = [0.0; 2];
    assert!(
        fast::conv::conv(
            &g,
            &x,
            &w,
            &Epilogue {
                bias: Some(&short),
                ..e
            }
        )
        .is_err()
    );
    assert!(
        fast::conv::conv(
            &g,
            &x,
            &w,
            &Epilogue {
                residual: Some(&short),
                ..e
            }
        )
        .is_err()
    );
}

/// Large enough that depthwise, GEMM and activation split over the team's threads: the
/// result must not depend on the split (1 thread, or 3).
#[test]
fn ops_split_over_threads_match_reference() {
    let teams = [1, 3].map(|threads| ThreadTeam::new(threads).unwrap());
    let window = |k: usize, s: usize| WindowParams {
        kernel: vec![k, k],
        strides: vec![s, s],
        dilations: vec![],
        pads: vec![k / 2; 4],
        auto_pad: AutoPad::NotSet,
        ceil_mode: false,
    };
    let cases = [
        ([1, 67, 57, 57], [67, 1, 3, 3], window(3, 1), 67),
        ([1, 33, 58, 58], [33, 1, 5, 5], window(5, 2), 33),
        ([2, 48, 40, 40], [72, 48, 1, 1], window(1, 1), 1),
        ([1, 16, 41, 41], [40, 16, 3, 3], window(3, 2), 1),
        // Planes large enough for the GEMM path's column tiles: im2col, grouped, pointwise.
        ([1, 8, 120, 100], [24, 8, 3, 3], window(3, 1), 1),
        ([1, 12, 90, 90], [12, 4, 3, 3], window(3, 2), 3),
        ([1, 16, 112, 112], [24, 16, 1, 1], window(1, 1), 1),
        // Small planes, whose few tiles split their output channels over the threads: a depth
        // over the kernel's depth step, channels not a multiple of its row block, and 49
        // positions (a last block of one position).
        ([1, 300, 7, 7], [100, 300, 1, 1], window(1, 1), 1),
        ([1, 64, 14, 14], [90, 64, 3, 3], window(3, 1), 1),
        // Many small groups (RegNet's): the threads share the groups.
        ([1, 64, 28, 28], [64, 8, 3, 3], window(3, 1), 8),
    ];
    for (input, weight, window, group) in cases {
        let g = ConvGeometry::new(&input, &weight, &window, group).unwrap();
        let x = values(input.iter().product(), 11);
        let w = values(weight.iter().product(), 12);
        let b = values(weight[0], 13);
        let r = values(g.output_shape().iter().product(), 14);
        let e = Epilogue {
            bias: Some(&b),
            residual: Some(&r),
            activation: Activation::Silu,
        };
        let want = reference(&g, &x, &w, &e);
        for team in &teams {
            let got = team.run(|| fast::conv::conv(&g, &x, &w, &e).unwrap());
            let worst = got
                .iter()
                .zip(&want)
                .map(|(a, b)| (a - b).abs() / (1.0 + b.abs()))
                .fold(0.0, f32::max);
            let threads = team.threads();
            assert!(
                worst <= 1e-4,
                "{input:?} {weight:?} on {threads} threads: off by {worst}"
            );
        }
    }
}
