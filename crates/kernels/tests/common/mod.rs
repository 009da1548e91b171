//! Helpers shared by the kernel tests (each test binary includes this module with `mod common;`
//! and uses a part of it): deterministic data, the strategies and windows of the cases, the
//! reference computations the fused kernels replace, comparisons, and NCHW ↔ NHWC transposes.

#![allow(dead_code)]

use litecnn_kernels::fast::{Activation, Epilogue};
use litecnn_kernels::reference::conv::{ConvGeometry, conv};
use litecnn_kernels::reference::elementwise::{BinaryKind, UnaryKind, binary_f32, clip, unary_f32};
use litecnn_kernels::reference::pool::PoolKind;
use litecnn_kernels::reference::window::{AutoPad, WindowParams};
use proptest::prelude::*;
use std::ops::Range;

/// Deterministic values in [-1, 1).
pub fn values(len: usize, seed: u64) -> Vec<f32> {
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

/// The operands of a convolution case, from consecutive seeds: input (`seed`), weights
/// (`seed + 1`), bias (`seed + 2`) and residual (`seed + 3`), in whatever layout the test
/// reads them.
pub struct ConvData {
    pub x: Vec<f32>,
    pub w: Vec<f32>,
    pub b: Vec<f32>,
    pub r: Vec<f32>,
}

impl ConvData {
    pub fn new(g: &ConvGeometry, seed: u64) -> ConvData {
        let len = |shape: Vec<usize>| shape.iter().product();
        ConvData {
            x: values(len(g.input_shape()), seed),
            w: values(len(g.weight_shape()), seed.wrapping_add(1)),
            b: values(g.out_channels, seed.wrapping_add(2)),
            r: values(len(g.output_shape()), seed.wrapping_add(3)),
        }
    }

    /// The epilogue with this bias and residual where asked for, and `activation`.
    pub fn epilogue(&self, bias: bool, residual: bool, activation: Activation) -> Epilogue<'_> {
        Epilogue {
            bias: bias.then_some(&self.b[..]),
            residual: residual.then_some(&self.r[..]),
            activation,
        }
    }
}

pub fn activation() -> impl Strategy<Value = Activation> {
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

/// Mostly explicit padding, else each automatic rule.
pub fn auto_pad() -> impl Strategy<Value = AutoPad> {
    prop_oneof![
        3 => Just(AutoPad::NotSet),
        1 => Just(AutoPad::SameUpper),
        1 => Just(AutoPad::SameLower),
        1 => Just(AutoPad::Valid)
    ]
}

pub fn pool_kind() -> impl Strategy<Value = PoolKind> {
    prop_oneof![
        Just(PoolKind::Max),
        any::<bool>().prop_map(|count_include_pad| PoolKind::Average { count_include_pad }),
    ]
}

/// A window with explicit padding (or none) and no ceil mode; empty strides, dilations or pads
/// are the defaults (1, 1 and 0), an empty kernel is the weight's.
pub fn window(
    kernel: &[usize],
    strides: &[usize],
    dilations: &[usize],
    pads: &[usize],
) -> WindowParams {
    WindowParams {
        kernel: kernel.to_vec(),
        strides: strides.to_vec(),
        dilations: dilations.to_vec(),
        pads: pads.to_vec(),
        auto_pad: AutoPad::NotSet,
        ceil_mode: false,
    }
}

/// A `k`×`k` window with stride `stride` and `k / 2` padding on every side: a mobile network's
/// convolution (the output the input's size at stride 1).
pub fn padded_square_window(k: usize, stride: usize) -> WindowParams {
    window(&[k, k], &[stride, stride], &[], &[k / 2; 4])
}

/// A 2-D convolution window, as the case strategies draw it (no ceil mode).
pub fn window_2d(
    kernel: [usize; 2],
    strides: [usize; 2],
    dilations: [usize; 2],
    pads: [usize; 4],
    auto_pad: AutoPad,
) -> WindowParams {
    WindowParams {
        auto_pad,
        ..window(&kernel, &strides, &dilations, &pads)
    }
}

/// A pooling window, its pads cut to less than the kernel (ONNX: no window lies wholly in the
/// padding).
pub fn pool_window(
    kernel: Vec<usize>,
    strides: Vec<usize>,
    dilations: Vec<usize>,
    pads: &[usize],
    auto_pad: AutoPad,
    ceil_mode: bool,
) -> WindowParams {
    let pads = pads
        .iter()
        .enumerate()
        .map(|(i, &p)| p.min(kernel[i % kernel.len()] - 1))
        .collect();
    WindowParams {
        kernel,
        strides,
        dilations,
        pads,
        auto_pad,
        ceil_mode,
    }
}

/// A 2-D convolution case: (input shape, weight shape, window, group).
pub type ConvCase = ([usize; 4], [usize; 4], WindowParams, usize);

/// 2-D convolution cases of `dims` = (batch, group, input channels per group, output channels
/// per group, height, width), with kernel extents from `kernel`, strides and dilations of 1 or
/// 2, pads of 0 to 2 and automatic padding from `auto_pad`.
pub fn conv_case_2d<A: Strategy<Value = AutoPad>>(
    dims: impl Strategy<Value = (usize, usize, usize, usize, usize, usize)>,
    kernel: Range<usize>,
    auto_pad: impl Fn() -> A,
) -> impl Strategy<Value = ConvCase> {
    dims.prop_flat_map(move |dims| {
        (
            Just(dims),
            [kernel.clone(), kernel.clone()],
            [1..3usize, 1..3usize],
            [1..3usize, 1..3usize],
            [0..3usize, 0..3usize, 0..3usize, 0..3usize],
            auto_pad(),
        )
    })
    .prop_map(
        |((batch, group, cin_g, cout_g, h, w), kernel, strides, dilations, pads, auto_pad)| {
            let input = [batch, group * cin_g, h, w];
            let weight = [group * cout_g, cin_g, kernel[0], kernel[1]];
            let window = window_2d(kernel, strides, dilations, pads, auto_pad);
            (input, weight, window, group)
        },
    )
}

/// The activation as the reference operators compute it.
pub fn reference_activation(act: Activation, x: Vec<f32>) -> Vec<f32> {
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

/// Reference conv (NCHW), then `+ residual`, then the activation: what a fused kernel replaces.
pub fn reference_conv(g: &ConvGeometry, x: &[f32], w: &[f32], e: &Epilogue<'_>) -> Vec<f32> {
    let mut y = conv(g, x, w, e.bias).unwrap();
    if let Some(r) = e.residual {
        let n = [y.len()];
        y = binary_f32(BinaryKind::Add, &y, &n, r, &n).unwrap().1;
    }
    reference_activation(e.activation, y)
}

/// Whether `got` is within 1e-4 of `want`, relative to `1 + |want|`.
pub fn near(got: f32, want: f32) -> bool {
    (got - want).abs() <= 1e-4 * (1.0 + want.abs())
}

/// Same length, and each element [`near`] the wanted one.
pub fn assert_close(got: &[f32], want: &[f32]) -> Result<(), TestCaseError> {
    prop_assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        prop_assert!(near(*g, *w), "element {}: {} vs {}", i, g, w);
    }
    Ok(())
}

/// Equal bits, or both NaN (a NaN's payload depends on where the compiler folded a 0 / 0).
pub fn same(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()))
}

/// Equal as [`same`], or within `relative` × `|b|` of `b`.
pub fn close(a: &[f32], b: &[f32], relative: f32) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(&x, &y)| {
            x.to_bits() == y.to_bits()
                || (x.is_nan() && y.is_nan())
                || (x - y).abs() <= relative * y.abs()
        })
}

/// `[n][rows][cols]` → `[n][cols][rows]`, one element at a time.
pub fn naive_transpose(x: &[f32], batch: usize, rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0; x.len()];
    for n in 0..batch {
        for i in 0..rows {
            for j in 0..cols {
                out[(n * cols + j) * rows + i] = x[(n * rows + i) * cols + j];
            }
        }
    }
    out
}

/// The positions per channel of `x`, `batch` × `channels` planes of them.
fn positions(x: &[f32], batch: usize, channels: usize) -> usize {
    x.len() / (batch * channels).max(1)
}

/// `[n][c][positions]` → `[n][positions][c]`.
pub fn to_nhwc(x: &[f32], batch: usize, channels: usize) -> Vec<f32> {
    naive_transpose(x, batch, channels, positions(x, batch, channels))
}

/// `[n][positions][c]` → `[n][c][positions]`.
pub fn to_nchw(x: &[f32], batch: usize, channels: usize) -> Vec<f32> {
    naive_transpose(x, batch, positions(x, batch, channels), channels)
}
