//! The channels-last ops ([`NhwcOp`]) on `litecnn_kernels::fast::nhwc`, and their inference.
//!
//! Each describes the same operation as its NCHW original; only where the data lives differs.
//! So inference permutes the NHWC shapes to NCHW, asks the original's rule, and permutes the
//! answer back, and evaluation builds the original's geometry from the NCHW view of the shape.

use litecnn_kernels::fast::nhwc;
use litecnn_kernels::fast::nhwc::conv::ImageLayout;
use litecnn_kernels::reference::conv::ConvGeometry;
use litecnn_kernels::reference::pool::{PoolGeometry, PoolKind};

use super::conv::{infer_conv, window_params};
use super::elementwise::{binary_kind, expect_f32_facts, f32_input, f32_tensor, optional};
use super::operands::show;
use super::pool::infer_pool;
use super::{Facts, OpError, required_facts};
use crate::ir::{Activation, ConvAttrs, ConvStage, Dim, NhwcOp, PoolAttrs};
use crate::op_bail;
use crate::tensor::{DType, Tensor};

/// `[N, C, H, W]` → `[N, H, W, C]`.
pub(crate) fn to_nhwc<T: Clone>(nchw: &[T]) -> Vec<T> {
    vec![
        nchw[0].clone(),
        nchw[2].clone(),
        nchw[3].clone(),
        nchw[1].clone(),
    ]
}

/// `[N, H, W, C]` → `[N, C, H, W]`.
fn to_nchw<T: Clone>(nhwc: &[T]) -> Vec<T> {
    vec![
        nhwc[0].clone(),
        nhwc[3].clone(),
        nhwc[1].clone(),
        nhwc[2].clone(),
    ]
}

pub(super) fn eval(op: &NhwcOp, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpError> {
    let (x, xv) = f32_input(inputs, 0, "X")?;
    let &[n, a, b, c] = x.shape() else {
        op_bail!(
            "channels-last ops take 4-D input, got shape {:?}",
            x.shape()
        );
    };
    let y = match op {
        NhwcOp::FromNchw => f32_tensor(
            vec![n, b, c, a],
            nhwc::layout::nchw_to_nhwc(xv, n, a, b * c),
        )?,
        NhwcOp::ToNchw => f32_tensor(
            vec![n, c, a, b],
            nhwc::layout::nhwc_to_nchw(xv, n, c, a * b),
        )?,
        NhwcOp::Conv {
            conv,
            weight_shape,
            activation,
            input_nchw,
            winograd,
        } => {
            let kernel = match (*winograd, *input_nchw) {
                (true, _) => ConvKernel::Winograd,
                (false, true) => ConvKernel::Gemm(ImageLayout::Nchw),
                (false, false) => ConvKernel::Gemm(ImageLayout::Nhwc),
            };
            eval_conv(
                conv,
                weight_shape,
                *activation,
                kernel,
                x.shape(),
                xv,
                inputs,
            )?
        }
        NhwcOp::ExpandDepthwise { expand, depthwise } => {
            eval_expand_depthwise(expand, depthwise, x.shape(), xv, inputs)?
        }
        NhwcOp::MaxPool(p) => eval_pool(p, PoolKind::Max, x.shape(), xv)?,
        NhwcOp::AveragePool {
            pool,
            count_include_pad,
        } => eval_pool(
            pool,
            PoolKind::Average {
                count_include_pad: *count_include_pad,
            },
            x.shape(),
            xv,
        )?,
        NhwcOp::MeanOverPositions { keep_dims } => {
            let shape = if *keep_dims {
                vec![n, 1, 1, c]
            } else {
                vec![n, c]
            };
            f32_tensor(shape, nhwc::pool::global_average(xv, n, a * b, c))?
        }
        NhwcOp::ChannelBroadcast(op) => {
            let (_, vv) = f32_input(inputs, 1, "V")?;
            if vv.len() != c && vv.len() != n * c {
                op_bail!(
                    "a per-channel operand of {} values does not fit {n} images of {c} channels",
                    vv.len()
                );
            }
            let y = nhwc::channels::broadcast_channels(binary_kind(*op), xv, vv, n, a * b, c);
            f32_tensor(x.shape().to_vec(), y)?
        }
        &NhwcOp::ChannelShuffle { groups } => {
            if groups == 0 || !c.is_multiple_of(groups) {
                op_bail!("{c} channels do not split into {groups} groups");
            }
            f32_tensor(
                x.shape().to_vec(),
                nhwc::regroup::shuffle_channels(xv, c, groups),
            )?
        }
        &NhwcOp::ChannelRange { start, end } => {
            if start > end || end > c {
                op_bail!("channels {start}..{end} of a tensor of {c}");
            }
            f32_tensor(
                vec![n, a, b, end - start],
                nhwc::regroup::channel_range(xv, c, start..end),
            )?
        }
    };
    Ok(vec![y])
}

/// Which kernel runs an [`NhwcOp::Conv`], reading its input in which layout.
#[derive(Clone, Copy)]
enum ConvKernel {
    Gemm(ImageLayout),
    /// NHWC input.
    Winograd,
}

fn eval_conv(
    conv: &ConvAttrs,
    weight_shape: &[usize; 4],
    activation: Activation,
    kernel: ConvKernel,
    shape: &[usize],
    xv: &[f32],
    inputs: &[Option<&Tensor>],
) -> Result<Tensor, OpError> {
    let (_, packed) = f32_input(inputs, 1, "W")?;
    let nchw = match kernel {
        ConvKernel::Gemm(ImageLayout::Nchw) => shape.to_vec(),
        ConvKernel::Gemm(ImageLayout::Nhwc) | ConvKernel::Winograd => to_nchw(shape),
    };
    let g = ConvGeometry::new(
        &nchw,
        weight_shape,
        &window_params(&conv.window, false),
        conv.group,
    )?;
    let bias = optional(inputs, 2).map(|b| b.as_f32().unwrap_or_default());
    let residual = optional(inputs, 3).map(|r| r.as_f32().unwrap_or_default());
    let epilogue = litecnn_kernels::fast::Epilogue {
        bias,
        residual,
        activation,
    };
    let y = match kernel {
        ConvKernel::Gemm(layout) => nhwc::conv::conv_on(&g, layout, xv, packed, &epilogue)?,
        ConvKernel::Winograd => nhwc::winograd::conv(&g, xv, packed, &epilogue)?,
    };
    f32_tensor(to_nhwc(&g.output_shape()), y)
}

/// The geometry of `stage` on NHWC input of `shape`.
fn stage_geometry(stage: &ConvStage, shape: &[usize]) -> Result<ConvGeometry, OpError> {
    Ok(ConvGeometry::new(
        &to_nchw(shape),
        &stage.weight_shape,
        &window_params(&stage.conv.window, false),
        stage.conv.group,
    )?)
}

fn eval_expand_depthwise(
    expand: &ConvStage,
    depthwise: &ConvStage,
    shape: &[usize],
    xv: &[f32],
    inputs: &[Option<&Tensor>],
) -> Result<Tensor, OpError> {
    let e = stage_geometry(expand, shape)?;
    let d = stage_geometry(depthwise, &to_nhwc(&e.output_shape()))?;
    let f32s = |i| optional(inputs, i).map(|t| t.as_f32().unwrap_or_default());
    let (_, w1) = f32_input(inputs, 1, "W1")?;
    let (_, w2) = f32_input(inputs, 3, "W2")?;
    let expand_epilogue = litecnn_kernels::fast::Epilogue {
        bias: f32s(2),
        residual: None,
        activation: expand.activation,
    };
    let depthwise_epilogue = litecnn_kernels::fast::Epilogue {
        bias: f32s(4),
        residual: f32s(5),
        activation: depthwise.activation,
    };
    let y = nhwc::expand_depthwise::expand_depthwise(
        &e,
        &d,
        xv,
        w1,
        &expand_epilogue,
        w2,
        &depthwise_epilogue,
    )?;
    f32_tensor(to_nhwc(&d.output_shape()), y)
}

fn eval_pool(
    p: &PoolAttrs,
    kind: PoolKind,
    shape: &[usize],
    xv: &[f32],
) -> Result<Tensor, OpError> {
    if p.window.kernel_shape.is_none() {
        op_bail!("pooling needs kernel_shape");
    }
    let g = PoolGeometry::new(&to_nchw(shape), &window_params(&p.window, p.ceil_mode))?;
    let y = nhwc::pool::pool(&g, kind, xv)?;
    f32_tensor(to_nhwc(&g.output_shape()), y)
}

pub(super) fn infer(op: &NhwcOp, inputs: &[Option<&Facts>]) -> Result<Vec<Facts>, OpError> {
    let x = required_facts(inputs, 0, "X")?;
    expect_f32_facts(x, "X")?;
    let Some(xs) = &x.shape else {
        return Ok(vec![Facts {
            dtype: Some(DType::F32),
            ..Facts::default()
        }]);
    };
    if xs.len() != 4 {
        op_bail!("channels-last ops take 4-D input, got shape {}", show(xs));
    }
    let nchw = Facts::new(DType::F32, to_nchw(xs));
    let permuted = |facts: Vec<Facts>| -> Vec<Facts> {
        facts
            .into_iter()
            .map(|f| Facts {
                shape: f.shape.map(|s| to_nhwc(&s)),
                ..f
            })
            .collect()
    };
    Ok(match op {
        NhwcOp::FromNchw => vec![Facts::new(DType::F32, to_nhwc(xs))],
        NhwcOp::ToNchw => vec![nchw],
        NhwcOp::Conv {
            conv,
            weight_shape,
            input_nchw,
            ..
        } => {
            let w = Facts::new(
                DType::F32,
                weight_shape.iter().map(|&d| Dim::Known(d)).collect(),
            );
            let x = if *input_nchw {
                Facts::new(DType::F32, xs.clone())
            } else {
                nchw
            };
            permuted(infer_conv(conv, &[Some(&x), Some(&w)])?)
        }
        NhwcOp::ExpandDepthwise { expand, depthwise } => {
            let stage = |stage: &ConvStage, x: &Facts| -> Result<Vec<Facts>, OpError> {
                let w = Facts::new(
                    DType::F32,
                    stage.weight_shape.iter().map(|&d| Dim::Known(d)).collect(),
                );
                infer_conv(&stage.conv, &[Some(x), Some(&w)])
            };
            let expanded = stage(expand, &nchw)?.remove(0);
            permuted(stage(depthwise, &expanded)?)
        }
        NhwcOp::MaxPool(p) | NhwcOp::AveragePool { pool: p, .. } => {
            permuted(infer_pool(p, &[Some(&nchw)])?)
        }
        NhwcOp::MeanOverPositions { keep_dims } => {
            let (n, c) = (xs[0].clone(), xs[3].clone());
            let shape = if *keep_dims {
                vec![n, Dim::Known(1), Dim::Known(1), c]
            } else {
                vec![n, c]
            };
            vec![Facts::new(DType::F32, shape)]
        }
        NhwcOp::ChannelBroadcast(_) => vec![Facts::new(DType::F32, xs.clone())],
        &NhwcOp::ChannelShuffle { groups } => {
            if groups == 0 || xs[3].known().is_some_and(|c| !c.is_multiple_of(groups)) {
                op_bail!("{} channels do not split into {groups} groups", xs[3]);
            }
            vec![Facts::new(DType::F32, xs.clone())]
        }
        &NhwcOp::ChannelRange { start, end } => {
            if start > end || xs[3].known().is_some_and(|c| end > c) {
                op_bail!("channels {start}..{end} of a tensor of {}", xs[3]);
            }
            let mut shape = xs.clone();
            shape[3] = Dim::Known(end - start);
            vec![Facts::new(DType::F32, shape)]
        }
    })
}
