//! Property tests of the fused expansion + depthwise kernel (`fast::nhwc::expand_depthwise`)
//! against the reference: a 1×1 convolution with its bias and activation, then a depthwise
//! convolution with its own, on random shapes: batches, odd channel counts, kernels 1 to 5,
//! strides, dilations and uneven padding, planes wider than one band of rows (so that bands
//! reuse the rows they share) and a residual on the result; also on two threads, over rows
//! and (on a small plane) over channels.

mod common;

use common::{
    ConvData, activation, assert_close, reference_conv, to_nchw, to_nhwc, values, window,
};
use litecnn_kernels::ThreadTeam;
use litecnn_kernels::fast::nhwc::{conv::pack_weights, expand_depthwise::expand_depthwise};
use litecnn_kernels::fast::{Activation, Epilogue};
use litecnn_kernels::reference::conv::ConvGeometry;
use proptest::prelude::*;

/// One case: batch, input channels, expanded channels, height, width, the depthwise's kernel,
/// stride, dilation and pads.
#[derive(Clone, Debug)]
struct Case {
    batch: usize,
    cin: usize,
    channels: usize,
    h: usize,
    w: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
    pads: [usize; 4],
}

fn case() -> impl Strategy<Value = Case> {
    (
        (1..3usize, 1..20usize, 1..40usize),
        prop_oneof![(1..12usize, 1..12usize), (60..90usize, 60..90usize)],
        (1..6usize, 1..3usize, 1..3usize),
        [0..3usize, 0..3usize, 0..3usize, 0..3usize],
    )
        .prop_map(
            |((batch, cin, channels), (h, w), (kernel, stride, dilation), pads)| Case {
                batch,
                cin,
                channels,
                h,
                w,
                kernel,
                stride,
                dilation,
                pads,
            },
        )
}

#[allow(clippy::too_many_arguments)]
fn check(
    c: &Case,
    expand_act: Activation,
    depthwise_act: Activation,
    bias: bool,
    residual: bool,
    seed: u64,
    team: Option<&ThreadTeam>,
) -> Result<(), TestCaseError> {
    let e = ConvGeometry::new(
        &[c.batch, c.cin, c.h, c.w],
        &[c.channels, c.cin, 1, 1],
        &window(&[1, 1], &[], &[], &[]),
        1,
    )
    .unwrap();
    let k = c.kernel;
    let dw_window = window(&[k, k], &[c.stride; 2], &[c.dilation; 2], &c.pads);
    let Ok(d) = ConvGeometry::new(
        &e.output_shape(),
        &[c.channels, 1, k, k],
        &dw_window,
        c.channels,
    ) else {
        return Ok(());
    };
    let (ed, dd) = (
        ConvData::new(&e, seed),
        ConvData::new(&d, seed.wrapping_add(10)),
    );
    let expand_epilogue = ed.epilogue(bias, false, expand_act);
    let depthwise_epilogue = dd.epilogue(bias, residual, depthwise_act);
    let expanded = reference_conv(&e, &ed.x, &ed.w, &expand_epilogue);
    let want = reference_conv(&d, &expanded, &dd.w, &depthwise_epilogue);

    let x = to_nhwc(&ed.x, c.batch, c.cin);
    let residual = depthwise_epilogue
        .residual
        .map(|r| to_nhwc(r, c.batch, c.channels));
    let depthwise_epilogue = Epilogue {
        residual: residual.as_deref(),
        ..depthwise_epilogue
    };
    let w1 = pack_weights(&ed.w, &e.weight_shape(), 1).unwrap();
    let w2 = pack_weights(&dd.w, &d.weight_shape(), c.channels).unwrap();
    if c.cin == 1 && c.channels == 1 {
        // Packed as a depthwise convolution: not an expansion the fused kernel takes.
        let pair = expand_depthwise(&e, &d, &x, &w1, &expand_epilogue, &w2, &depthwise_epilogue);
        prop_assert!(pair.is_err());
        return Ok(());
    }
    let run =
        || expand_depthwise(&e, &d, &x, &w1, &expand_epilogue, &w2, &depthwise_epilogue).unwrap();
    let got = match team {
        Some(team) => team.run(run),
        None => run(),
    };
    assert_close(&to_nchw(&got, c.batch, c.channels), &want)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn expand_then_depthwise_matches_reference(
        c in case(), expand_act in activation(), depthwise_act in activation(),
        bias: bool, residual: bool, seed in any::<u64>()
    ) {
        check(&c, expand_act, depthwise_act, bias, residual, seed, None)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Two threads, each computing the input rows its output rows need (the rows at the
    /// boundary twice).
    #[test]
    fn expand_then_depthwise_on_two_threads_matches_reference(
        c in case(), act in activation(), seed in any::<u64>()
    ) {
        let team = ThreadTeam::new(2).unwrap();
        let c = Case { h: c.h + 40, w: c.w + 40, cin: c.cin + 16, channels: c.channels + 40, ..c };
        check(&c, act, act, true, true, seed, Some(&team))?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// Two threads on a small plane with many channels (MobileNet's 7×7 stages): enough work
    /// to split and too few positions to split by rows, so the threads share the expansion's
    /// channels and then the depthwise's rows.
    #[test]
    fn a_small_plane_on_two_threads_splits_the_channels_and_matches_reference(
        hw in (2..10usize, 2..10usize), cin in 96..160usize, channels in 480..700usize,
        kernel in prop_oneof![Just(3usize), Just(5usize)], stride in 1..3usize,
        act in activation(), residual: bool, seed in any::<u64>()
    ) {
        let team = ThreadTeam::new(2).unwrap();
        let pad = kernel / 2;
        let c = Case {
            batch: 1, cin, channels, h: hw.0, w: hw.1, kernel, stride, dilation: 1,
            pads: [pad; 4],
        };
        check(&c, act, act, true, residual, seed, Some(&team))?;
    }
}

#[test]
fn a_pair_that_is_not_an_expansion_and_a_depthwise_is_an_error() {
    let e = ConvGeometry::new(
        &[1, 4, 6, 6],
        &[8, 4, 3, 3],
        &window(&[3, 3], &[], &[], &[1; 4]),
        1,
    )
    .unwrap();
    let d = ConvGeometry::new(
        &[1, 8, 6, 6],
        &[8, 1, 3, 3],
        &window(&[3, 3], &[], &[], &[1; 4]),
        8,
    )
    .unwrap();
    let x = values(144, 1);
    let (w1, w2) = (values(288, 2), values(72, 3));
    let none = Epilogue::default();
    assert!(expand_depthwise(&e, &d, &x, &w1, &none, &w2, &none).is_err());
}
