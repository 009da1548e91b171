//! Property tests of the Winograd F(2×2, 3×3) convolution (with fused bias, residual and
//! activation) against the reference convolution in NCHW followed by the reference
//! elementwise operators: channel counts with tails of the 8-lane transforms and of the
//! 16-channel panels, planes of odd sides (tiles cut by the edge), asymmetric padding of
//! 0 to 2, batches, blocks of tiles and splits over threads.

mod common;

use common::{ConvData, activation, assert_close, reference_conv, to_nchw, to_nhwc, window};
use litecnn_kernels::ThreadTeam;
use litecnn_kernels::fast::buffers;
use litecnn_kernels::fast::nhwc::winograd::{applies, conv, pack_weights, supports};
use litecnn_kernels::fast::{Activation, Epilogue};
use litecnn_kernels::reference::conv::ConvGeometry;
use proptest::prelude::*;

/// Reference conv in NCHW, then `+ residual`, then the activation, back in NHWC. `x` and the
/// residual are NHWC.
fn reference(g: &ConvGeometry, x: &[f32], w: &[f32], e: &Epilogue<'_>) -> Vec<f32> {
    let residual = e.residual.map(|r| to_nchw(r, g.batch, g.out_channels));
    let e = Epilogue {
        residual: residual.as_deref(),
        ..*e
    };
    let y = reference_conv(g, &to_nchw(x, g.batch, g.in_channels), w, &e);
    to_nhwc(&y, g.batch, g.out_channels)
}

/// The Winograd kernel, its output buffer handed over full of NaN so that any element it
/// skips shows.
fn fast(g: &ConvGeometry, x: &[f32], w: &[f32], e: &Epilogue<'_>) -> Vec<f32> {
    let packed = pack_weights(w, &g.weight_shape()).unwrap();
    let len = g.output_shape().iter().product();
    buffers::clear();
    buffers::give(vec![f32::NAN; len]);
    conv(g, x, &packed, e).unwrap().into_vec()
}

fn geometry(input: [usize; 4], out_channels: usize, pads: [usize; 4]) -> Option<ConvGeometry> {
    let weight = [out_channels, input[1], 3, 3];
    ConvGeometry::new(&input, &weight, &window(&[3, 3], &[], &[], &pads), 1).ok()
}

#[allow(clippy::too_many_arguments)]
fn check(
    input: [usize; 4],
    out_channels: usize,
    pads: [usize; 4],
    act: Activation,
    bias: bool,
    residual: bool,
    seed: u64,
    team: Option<&ThreadTeam>,
) -> Result<(), TestCaseError> {
    // A window larger than the padded input has no output: not a case.
    let g = geometry(input, out_channels, pads);
    prop_assume!(g.is_some());
    let g = g.unwrap();
    prop_assert!(supports(&g));
    let d = ConvData::new(&g, seed);
    let e = d.epilogue(bias, residual, act);
    let got = match team {
        Some(team) => team.run(|| fast(&g, &d.x, &d.w, &e)),
        None => fast(&g, &d.x, &d.w, &e),
    };
    assert_close(&got, &reference(&g, &d.x, &d.w, &e))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn winograd_matches_reference(
        batch in 1..3usize, cin in 1..41usize, cout in 1..41usize,
        h in 1..20usize, w in 1..20usize, pads in [0..3usize, 0..3, 0..3, 0..3],
        act in activation(), bias: bool, residual: bool, seed in any::<u64>(),
    ) {
        check([batch, cin, h, w], cout, pads, act, bias, residual, seed, None)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(30))]

    /// Planes with more tiles than a block, split over two threads.
    #[test]
    fn winograd_split_over_threads_matches_reference(
        batch in 1..3usize, cin in 16..80usize, cout in 16..80usize,
        side in 14..40usize, pads in [0..2usize, 0..2, 0..2, 0..2],
        act in activation(), bias: bool, residual: bool, seed in any::<u64>(),
    ) {
        let team = ThreadTeam::new(2).unwrap();
        check([batch, cin, side, side + 3], cout, pads, act, bias, residual, seed, Some(&team))?;
    }
}

/// ResNet's first two stages: two threads compute exactly what one does (each output is
/// the same sums in the same order), and both match the reference.
#[test]
fn network_layers_match_the_reference_on_one_and_two_threads() {
    let team = ThreadTeam::new(2).unwrap();
    for (input, cout) in [
        ([1, 64, 56, 56], 64),
        ([1, 128, 28, 28], 128),
        ([1, 64, 29, 29], 96),
    ] {
        let g = geometry(input, cout, [1; 4]).unwrap();
        assert!(applies(&g), "{input:?} → {cout}");
        let d = ConvData::new(&g, 5);
        let e = d.epilogue(true, true, Activation::Relu);
        let alone = fast(&g, &d.x, &d.w, &e);
        let split = team.run(|| fast(&g, &d.x, &d.w, &e));
        assert!(alone == split, "{input:?}: threads changed the result");
        assert_close(&alone, &reference(&g, &d.x, &d.w, &e)).unwrap();
    }
}

#[test]
fn applies_only_where_the_gemm_dominates() {
    let applies_to =
        |input: [usize; 4], cout: usize| applies(&geometry(input, cout, [1; 4]).unwrap());
    assert!(applies_to([1, 64, 56, 56], 64));
    assert!(applies_to([1, 128, 28, 28], 128));
    // Three input channels (a stem), 32 (SqueezeNet's), a 14×14 plane, 256 × 256 weights.
    assert!(!applies_to([1, 3, 224, 224], 64));
    assert!(!applies_to([1, 32, 27, 27], 128));
    assert!(!applies_to([1, 64, 14, 14], 64));
    assert!(!applies_to([1, 256, 28, 28], 256));
    // Not 3×3 stride 1: a stride of 2, a dilation, groups.
    let strided = window(&[3, 3], &[2, 2], &[], &[1; 4]);
    let dilated = window(&[3, 3], &[], &[2, 2], &[2; 4]);
    let input = [1, 64, 56, 56];
    for (window, group) in [
        (strided, 1),
        (dilated, 1),
        (window(&[3, 3], &[], &[], &[1; 4]), 2),
    ] {
        let weight = [64, 64 / group, 3, 3];
        let g = ConvGeometry::new(&input, &weight, &window, group).unwrap();
        assert!(!supports(&g) && !applies(&g), "{window:?} group {group}");
    }
}
