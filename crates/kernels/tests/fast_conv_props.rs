//! Property tests of the fast convolution (depthwise, 1×1 and im2col + GEMM paths, with fused
//! bias, residual and activation) against the reference convolution followed by the reference
//! elementwise operators, on random shapes: odd channel counts, row tails, padding (explicit
//! and automatic), strides, dilations, groups and batches. Every 2-D case also runs on the
//! channels-last kernels (`fast::nhwc`), with packed weights and transposed data.

mod common;

use common::{
    ConvCase, ConvData, activation, assert_close, auto_pad, conv_case_2d, padded_square_window,
    reference_conv, to_nchw, to_nhwc, window, window_2d,
};
use litecnn_kernels::ThreadTeam;
use litecnn_kernels::fast::{self, Activation, Epilogue};
use litecnn_kernels::reference::conv::ConvGeometry;
use litecnn_kernels::reference::window::{AutoPad, WindowParams};
use proptest::prelude::*;

/// A 2-D case: depthwise (one input and one output channel per group, 2 to 20 groups), or
/// any of up to 3 groups.
fn conv_case(depthwise: bool) -> impl Strategy<Value = ConvCase> {
    let channels = if depthwise {
        (1..20usize, 1..2usize, 1..2usize)
    } else {
        (1..4usize, 1..9usize, 1..9usize)
    };
    let dims = (1..3usize, channels, 1..24usize, 1..40usize).prop_map(
        move |(batch, (group, cin_g, cout_g), h, w)| {
            let group = if depthwise { group + 1 } else { group };
            (batch, group, cin_g, cout_g, h, w)
        },
    );
    conv_case_2d(dims, 1..6, auto_pad)
}

/// Runs `check` on a case's geometry, random data, epilogue and reference output; a case whose
/// geometry is invalid passes untested.
fn with_reference(
    (input, weight, window, group): ConvCase,
    act: Activation,
    with_bias: bool,
    with_residual: bool,
    seed: u64,
    check: impl FnOnce(&ConvGeometry, &ConvData, &Epilogue<'_>, &[f32]) -> Result<(), TestCaseError>,
) -> Result<(), TestCaseError> {
    let Ok(g) = ConvGeometry::new(&input, &weight, &window, group) else {
        return Ok(());
    };
    let d = ConvData::new(&g, seed);
    let e = d.epilogue(with_bias, with_residual, act);
    let want = reference_conv(&g, &d.x, &d.w, &e);
    check(&g, &d, &e, &want)
}

fn check_case(
    case: ConvCase,
    act: Activation,
    with_bias: bool,
    with_residual: bool,
    seed: u64,
) -> Result<(), TestCaseError> {
    with_reference(
        case,
        act,
        with_bias,
        with_residual,
        seed,
        |g, d, e, want| {
            assert_close(&fast::conv::conv(g, &d.x, &d.w, e).unwrap(), want)?;
            if g.axes.len() == 2 {
                check_nhwc(g, &d.x, &d.w, e, want)?;
            }
            Ok(())
        },
    )
}

/// The NHWC convolution (weights packed, input and residual transposed) against `want`.
fn check_nhwc(
    g: &ConvGeometry,
    x: &[f32],
    w: &[f32],
    e: &Epilogue<'_>,
    want: &[f32],
) -> Result<(), TestCaseError> {
    let x = to_nhwc(x, g.batch, g.in_channels);
    let residual = e.residual.map(|r| to_nhwc(r, g.batch, g.out_channels));
    let e = Epilogue {
        residual: residual.as_deref(),
        ..*e
    };
    let packed = fast::nhwc::conv::pack_weights(w, &g.weight_shape(), g.group).unwrap();
    let got = fast::nhwc::conv::conv(g, &x, &packed, &e).unwrap();
    assert_close(&to_nchw(&got, g.batch, g.out_channels), want)
}

/// A 1×1 convolution of `cin` channels into `cout`, one group.
fn pointwise_case(batch: usize, cin: usize, cout: usize, h: usize, w: usize) -> ConvCase {
    let window = window(&[1, 1], &[], &[], &[]);
    ([batch, cin, h, w], [cout, cin, 1, 1], window, 1)
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
        check_case(pointwise_case(batch, cin, cout, h, w), act, bias, residual, seed)?;
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
        check_case(pointwise_case(1, cin, cout, h, w), act, bias, residual, seed)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Planes tall and wide enough in channels that the windowed GEMM pads its input in
    /// several bands of rows (about 32K floats each), with groups, strides, dilations, uneven
    /// pads, and a batch of two.
    #[test]
    fn tall_windowed_conv_pads_band_by_band_and_matches_reference(
        case in conv_case_2d(
            (1..3usize, 1..3usize, 16..48usize, 1..20usize, 40..90usize, 8..30usize),
            1..6,
            || Just(AutoPad::NotSet),
        ),
        act in activation(), bias: bool, residual: bool, seed in any::<u64>()
    ) {
        check_case(case, act, bias, residual, seed)?;
    }
}

/// A network's first convolution reading the NCHW input image (`ImageLayout::Nchw`): few
/// channels, any window; a 1×1 or depthwise one is refused.
fn check_nchw_input(
    case: ConvCase,
    act: Activation,
    bias: bool,
    residual: bool,
    seed: u64,
) -> Result<(), TestCaseError> {
    use fast::nhwc::conv::{ImageLayout, conv_on, pack_weights, reads_nchw};
    with_reference(case, act, bias, residual, seed, |g, d, e, want| {
        let residual = e.residual.map(|r| to_nhwc(r, g.batch, g.out_channels));
        let e = Epilogue {
            residual: residual.as_deref(),
            ..*e
        };
        let packed = pack_weights(&d.w, &g.weight_shape(), g.group).unwrap();
        let got = conv_on(g, ImageLayout::Nchw, &d.x, &packed, &e);
        if !reads_nchw(g) {
            prop_assert!(got.is_err());
            return Ok(());
        }
        assert_close(&to_nchw(&got.unwrap(), g.batch, g.out_channels), want)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    #[test]
    fn a_windowed_conv_reads_nchw_input_and_matches_reference(
        case in conv_case_2d(
            (1..3usize, 1..3usize, 1..5usize, 1..20usize, 1..40usize, 1..40usize),
            1..6,
            || Just(AutoPad::NotSet),
        ),
        act in activation(), bias: bool, residual: bool, seed in any::<u64>()
    ) {
        check_nchw_input(case, act, bias, residual, seed)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

    /// A 224² image's three planes: several bands of rows.
    #[test]
    fn a_stem_reads_a_large_nchw_image_band_by_band(
        stride in 1..3usize, pad in 0..3usize, act in activation(), seed in any::<u64>()
    ) {
        let window = window_2d([3, 3], [stride; 2], [1; 2], [pad; 4], AutoPad::NotSet);
        check_nchw_input(([1, 3, 224, 224], [16, 3, 3, 3], window, 1), act, true, false, seed)?;
    }
}

/// The depthwise shapes of mobile networks (3×3 and 5×5 taps, the unrolled paths), on planes
/// wide enough for several vector blocks per row, with strides, dilations and uneven pads.
fn mobile_depthwise_case() -> impl Strategy<Value = ConvCase> {
    (
        1..6usize,
        prop_oneof![Just(3usize), Just(5)],
        1..3usize,
        1..3usize,
        (1..70usize, 1..70usize),
        [0..3usize, 0..3usize, 0..3usize, 0..3usize],
    )
        .prop_map(|(channels, k, stride, dilation, (h, w), pads)| {
            let window = window_2d([k, k], [stride; 2], [dilation; 2], pads, AutoPad::NotSet);
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
        (&[2, 3, 17], &[4, 3, 3], window(&[3], &[2], &[1], &[1, 2])),
        (
            &[1, 2, 5, 6, 7],
            &[3, 2, 2, 3, 2],
            window(&[2, 3, 2], &[1, 2, 1], &[2, 1, 1], &[1, 0, 1, 0, 1, 1]),
        ),
    ];
    for (input, weight, window) in cases {
        let g = ConvGeometry::new(input, weight, &window, 1).unwrap();
        let d = ConvData::new(&g, 7);
        let e = d.epilogue(false, false, Activation::Relu);
        let got = fast::conv::conv(&g, &d.x, &d.w, &e).unwrap();
        let want = reference_conv(&g, &d.x, &d.w, &e);
        assert!(
            got.iter().zip(&want).all(|(a, b)| (a - b).abs() <= 1e-4),
            "{input:?}"
        );
    }
}

#[test]
fn wrong_buffers_are_errors() {
    let window = window(&[], &[], &[], &[]);
    let g = ConvGeometry::new(&[1, 2, 4, 4], &[3, 2, 3, 3], &window, 1).unwrap();
    let (x, w) = (vec![0.0; 32], vec![0.0; 54]);
    let fails = |x: &[f32], w: &[f32], e: Epilogue| fast::conv::conv(&g, x, w, &e).is_err();
    let e = Epilogue::default();
    assert!(fails(&x[1..], &w, e));
    assert!(fails(&x, &w[1..], e));
    let short = [0.0; 2];
    let (mut short_bias, mut short_residual) = (e, e);
    short_bias.bias = Some(&short);
    short_residual.residual = Some(&short);
    assert!(fails(&x, &w, short_bias));
    assert!(fails(&x, &w, short_residual));
}

/// Large enough that depthwise, GEMM and activation split over the team's threads: the
/// result must not depend on the split (1 thread, or 3).
#[test]
fn ops_split_over_threads_match_reference() {
    let teams = [1, 3].map(|threads| ThreadTeam::new(threads).unwrap());
    let window = padded_square_window;
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
        let d = ConvData::new(&g, 11);
        let (x, w) = (&d.x, &d.w);
        let e = d.epilogue(true, true, Activation::Silu);
        let want = reference_conv(&g, x, w, &e);
        for team in &teams {
            let got = team.run(|| fast::conv::conv(&g, x, w, &e).unwrap());
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
            team.run(|| check_nhwc(&g, x, w, &e, &want))
                .unwrap_or_else(|err| {
                    panic!("NHWC {input:?} {weight:?} on {threads} threads: {err}")
                });
        }
    }
}
