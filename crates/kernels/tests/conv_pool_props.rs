//! Property tests of the reference convolution and pooling: agreement with a literal,
//! per-output-element transcription of the ONNX definition, and the algebraic identities
//! (groups, dilation) that any correct convolution satisfies.

mod common;

use common::{ConvCase, conv_case_2d};
use litecnn_kernels::reference::conv::{ConvGeometry, conv};
use litecnn_kernels::reference::pool::{PoolGeometry, PoolKind, pool};
use litecnn_kernels::reference::window::{AutoPad, WindowParams};
use proptest::prelude::*;

/// Small integers make every sum exact, so results can be compared with `==`.
fn ints(len: usize, seed: u64) -> Vec<f32> {
    (0..len as u64)
        .map(|i| {
            (i.wrapping_mul(2_654_435_761)
                .wrapping_add(seed.wrapping_mul(40_503))
                % 7) as f32
                - 3.0
        })
        .collect()
}

/// Each automatic padding rule as often.
fn auto_pad() -> impl Strategy<Value = AutoPad> {
    prop_oneof![
        Just(AutoPad::NotSet),
        Just(AutoPad::SameUpper),
        Just(AutoPad::SameLower),
        Just(AutoPad::Valid)
    ]
}

/// A small 2-D convolution case: up to 3 groups, 4 to 8 rows and columns, kernels up to 3.
fn conv_case() -> impl Strategy<Value = ConvCase> {
    let dims = (
        1..3usize,
        1..4usize,
        1..3usize,
        1..4usize,
        4..9usize,
        4..9usize,
    );
    conv_case_2d(dims, 1..4, auto_pad)
}

/// The ONNX definition, one output element at a time.
fn naive_conv(g: &ConvGeometry, x: &[f32], w: &[f32], b: &[f32]) -> Vec<f32> {
    let (ya, xa) = (g.axes[0], g.axes[1]);
    let (cin_g, cout_g) = (g.in_channels / g.group, g.out_channels / g.group);
    let mut out = Vec::new();
    for n in 0..g.batch {
        for oc in 0..g.out_channels {
            for oy in 0..ya.output {
                for ox in 0..xa.output {
                    let mut acc = 0.0;
                    for icg in 0..cin_g {
                        let ic = (oc / cout_g) * cin_g + icg;
                        for ky in 0..ya.kernel {
                            for kx in 0..xa.kernel {
                                let (Some(iy), Some(ix)) =
                                    (ya.input_index(oy, ky), xa.input_index(ox, kx))
                                else {
                                    continue;
                                };
                                let xv =
                                    x[((n * g.in_channels + ic) * ya.input + iy) * xa.input + ix];
                                let wv = w[((oc * cin_g + icg) * ya.kernel + ky) * xa.kernel + kx];
                                acc += xv * wv;
                            }
                        }
                    }
                    out.push(acc + b[oc]);
                }
            }
        }
    }
    out
}

/// Copies channels `range` of every batch item of `x` (`[n, c, plane]`).
fn channels(
    x: &[f32],
    n: usize,
    c: usize,
    plane: usize,
    range: std::ops::Range<usize>,
) -> Vec<f32> {
    (0..n)
        .flat_map(|i| x[(i * c + range.start) * plane..(i * c + range.end) * plane].to_vec())
        .collect()
}

proptest! {
    #[test]
    fn conv_matches_the_definition((input, weight, window, group) in conv_case(), seed in any::<u64>()) {
        let Ok(g) = ConvGeometry::new(&input, &weight, &window, group) else { return Ok(()) };
        let x = ints(input.iter().product(), seed);
        let w = ints(weight.iter().product(), seed + 1);
        let b = ints(weight[0], seed + 2);
        prop_assert_eq!(conv(&g, &x, &w, Some(&b)).unwrap(), naive_conv(&g, &x, &w, &b));
    }

    #[test]
    fn grouped_conv_is_per_group_convs((input, weight, window, group) in conv_case(), seed in any::<u64>()) {
        let Ok(g) = ConvGeometry::new(&input, &weight, &window, group) else { return Ok(()) };
        let x = ints(input.iter().product(), seed);
        let w = ints(weight.iter().product(), seed + 1);
        let whole = conv(&g, &x, &w, None).unwrap();
        let (n, c, m) = (input[0], input[1], weight[0]);
        let (cin_g, cout_g) = (c / group, m / group);
        let in_plane = input[2] * input[3];
        let out_plane: usize = g.output_shape()[2..].iter().product();
        let w_len: usize = weight[1..].iter().product();
        for gi in 0..group {
            let xg = channels(&x, n, c, in_plane, gi * cin_g..(gi + 1) * cin_g);
            let wg = w[gi * cout_g * w_len..(gi + 1) * cout_g * w_len].to_vec();
            let gg = ConvGeometry::new(&[n, cin_g, input[2], input[3]], &[cout_g, cin_g, weight[2], weight[3]], &window, 1).unwrap();
            let part = conv(&gg, &xg, &wg, None).unwrap();
            prop_assert_eq!(part, channels(&whole, n, m, out_plane, gi * cout_g..(gi + 1) * cout_g));
        }
    }

    #[test]
    fn dilation_equals_zero_dilated_kernel((input, weight, window, group) in conv_case(), seed in any::<u64>()) {
        let Ok(g) = ConvGeometry::new(&input, &weight, &window, group) else { return Ok(()) };
        let x = ints(input.iter().product(), seed);
        let w = ints(weight.iter().product(), seed + 1);
        let (d, k) = (&window.dilations, [weight[2], weight[3]]);
        let big = [(k[0] - 1) * d[0] + 1, (k[1] - 1) * d[1] + 1];
        let outer = weight[0] * weight[1];
        let mut wd = vec![0.0; outer * big[0] * big[1]];
        for o in 0..outer {
            for ky in 0..k[0] {
                for kx in 0..k[1] {
                    wd[(o * big[0] + ky * d[0]) * big[1] + kx * d[1]] = w[(o * k[0] + ky) * k[1] + kx];
                }
            }
        }
        let window_d = WindowParams { kernel: big.to_vec(), dilations: vec![], ..window.clone() };
        let gd = ConvGeometry::new(&input, &[weight[0], weight[1], big[0], big[1]], &window_d, group).unwrap();
        prop_assert_eq!(gd.output_shape(), g.output_shape());
        prop_assert_eq!(conv(&gd, &x, &wd, None).unwrap(), conv(&g, &x, &w, None).unwrap());
    }

    #[test]
    fn one_dim_conv_equals_two_dim_with_unit_height(
        (input, weight, window, group) in conv_case(), seed in any::<u64>()
    ) {
        // Keep only the width axis of the generated case.
        let window_1d = WindowParams {
            kernel: vec![window.kernel[1]],
            strides: vec![window.strides[1]],
            dilations: vec![window.dilations[1]],
            pads: vec![window.pads[1], window.pads[3]],
            ..window.clone()
        };
        let Ok(g1) = ConvGeometry::new(&[input[0], input[1], input[3]], &[weight[0], weight[1], weight[3]], &window_1d, group) else {
            return Ok(());
        };
        let window_2d = WindowParams {
            kernel: vec![1, window.kernel[1]],
            strides: vec![1, window.strides[1]],
            dilations: vec![1, window.dilations[1]],
            pads: vec![0, window.pads[1], 0, window.pads[3]],
            ..window.clone()
        };
        let g2 = ConvGeometry::new(&[input[0], input[1], 1, input[3]], &[weight[0], weight[1], 1, weight[3]], &window_2d, group).unwrap();
        let x = ints(input[0] * input[1] * input[3], seed);
        let w = ints(weight[0] * weight[1] * weight[3], seed + 1);
        prop_assert_eq!(conv(&g1, &x, &w, None).unwrap(), conv(&g2, &x, &w, None).unwrap());
    }

    #[test]
    fn pooling_stays_within_the_inputs(
        (input, _, mut window, _) in conv_case(), ceil_mode: bool, seed in any::<u64>()
    ) {
        // Average pooling with count_include_pad = false over a constant input is that constant,
        // and max pooling is bounded by the input's extremes.
        window.ceil_mode = ceil_mode;
        let Ok(g) = PoolGeometry::new(&input, &window) else { return Ok(()) };
        let n: usize = input.iter().product();
        let avg = pool(&g, PoolKind::Average { count_include_pad: false }, &vec![2.5; n]).unwrap();
        prop_assert!(avg.iter().all(|&v| v == 2.5 || v.is_nan()));
        let x = ints(n, seed);
        let max = pool(&g, PoolKind::Max, &x).unwrap();
        let hi = x.iter().cloned().fold(f32::MIN, f32::max);
        prop_assert!(max.iter().all(|&v| v <= hi));
    }
}
