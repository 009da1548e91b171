//! Conv and FusedConv (conv + bias + residual + activation) on the fast or the reference
//! kernels, and their shape inference. Also translates the IR's window attributes into the
//! kernels' [`WindowParams`] and infers windowed spatial dims, both shared with pooling, so
//! that inference and execution use one size rule (`reference::window`).

use litecnn_kernels::fast::{self, Epilogue};
use litecnn_kernels::reference::conv::{ConvGeometry, conv};
use litecnn_kernels::reference::elementwise::{BinaryKind, binary_f32};
use litecnn_kernels::reference::window::{self as win, WindowParams};

use super::activation::reference_activation;
use super::elementwise::{expect_f32_facts, f32_input, f32_tensor, known_dims, optional};
use super::operands::show;
use super::{Facts, Kernels, OpError, required_facts};
use crate::ir::{Activation, AutoPad, ConvAttrs, Dim, Window};
use crate::op_bail;
use crate::tensor::{DType, Tensor};

/// The kernels' form of a window. `kernel` is empty when the IR has no `kernel_shape`.
pub(crate) fn window_params(w: &Window, ceil_mode: bool) -> WindowParams {
    WindowParams {
        kernel: w.kernel_shape.clone().unwrap_or_default(),
        strides: w.strides.clone(),
        dilations: w.dilations.clone(),
        pads: w.pads.clone(),
        auto_pad: match w.auto_pad {
            AutoPad::NotSet => win::AutoPad::NotSet,
            AutoPad::SameUpper => win::AutoPad::SameUpper,
            AutoPad::SameLower => win::AutoPad::SameLower,
            AutoPad::Valid => win::AutoPad::Valid,
        },
        ceil_mode,
    }
}

/// Output spatial dims of a window over `input` spatial dims. A symbolic dim survives only
/// where the window provably preserves the size; otherwise the result is `Ok(None)`.
pub(crate) fn infer_window_dims(
    input: &[Dim],
    params: &WindowParams,
) -> Result<Option<Vec<Dim>>, OpError> {
    let specs = win::axis_specs(params, input.len())?;
    let mut out = Vec::with_capacity(input.len());
    for (i, (dim, spec)) in input.iter().zip(&specs).enumerate() {
        out.push(match dim {
            Dim::Known(n) => {
                let axis = win::resolve_axis(*n, spec)
                    .map_err(|e| OpError::new(format!("spatial axis {i}: {e}")))?;
                Dim::Known(axis.output)
            }
            Dim::Symbol(_) if win::preserves_size(spec) => dim.clone(),
            Dim::Symbol(_) => return Ok(None),
        });
    }
    Ok(Some(out))
}

/// Conv (inputs X, W, [B]) or FusedConv (X, W, [B], [residual]) followed by `activation`.
pub(super) fn eval_conv(
    kernels: Kernels,
    a: &ConvAttrs,
    activation: Activation,
    inputs: &[Option<&Tensor>],
) -> Result<Vec<Tensor>, OpError> {
    let (x, xv) = f32_input(inputs, 0, "X")?;
    let (w, wv) = f32_input(inputs, 1, "W")?;
    let geometry = ConvGeometry::new(
        x.shape(),
        w.shape(),
        &window_params(&a.window, false),
        a.group,
    )?;
    let bias = optional(inputs, 2)
        .map(|b| conv_bias(b, geometry.out_channels))
        .transpose()?;
    let shape = geometry.output_shape();
    let residual = optional(inputs, 3)
        .map(|r| conv_residual(r, &shape))
        .transpose()?;
    let y = match kernels {
        Kernels::Fast => {
            let epilogue = Epilogue {
                bias,
                residual,
                activation,
            };
            fast::conv::conv(&geometry, xv, wv, &epilogue)?
        }
        Kernels::Reference => {
            let mut y = conv(&geometry, xv, wv, bias)?;
            if let Some(r) = residual {
                let n = [y.len()];
                y = binary_f32(BinaryKind::Add, &y, &n, r, &n)?.1;
            }
            reference_activation(activation, y)?.into()
        }
    };
    Ok(vec![f32_tensor(shape, y)?])
}

fn conv_residual<'a>(r: &'a Tensor, shape: &[usize]) -> Result<&'a [f32], OpError> {
    match r.as_f32() {
        Some(v) if r.shape() == shape => Ok(v),
        _ => op_bail!(
            "FusedConv residual must be float32 of the output's shape {shape:?}, got {} of shape {:?}",
            r.dtype(),
            r.shape()
        ),
    }
}

fn conv_bias(b: &Tensor, out_channels: usize) -> Result<&[f32], OpError> {
    match b.as_f32() {
        Some(v) if b.shape() == [out_channels] => Ok(v),
        _ => op_bail!(
            "Conv bias must be a float32 vector of {out_channels} elements, got {} of shape {:?}",
            b.dtype(),
            b.shape()
        ),
    }
}

pub(super) fn infer_conv(a: &ConvAttrs, inputs: &[Option<&Facts>]) -> Result<Vec<Facts>, OpError> {
    let x = required_facts(inputs, 0, "X")?;
    let w = required_facts(inputs, 1, "W")?;
    expect_f32_facts(x, "X")?;
    expect_f32_facts(w, "W")?;
    let shape = match (&x.shape, &w.shape) {
        (Some(xs), Some(ws)) => conv_output_dims(a, xs, ws)?,
        _ => None,
    };
    Ok(vec![Facts {
        dtype: Some(DType::F32),
        shape,
        value: None,
    }])
}

/// Conv's inference, plus a check that a residual (input 3) has the output's shape.
pub(super) fn infer_fused_conv(
    a: &ConvAttrs,
    inputs: &[Option<&Facts>],
) -> Result<Vec<Facts>, OpError> {
    let out = infer_conv(a, &inputs[..inputs.len().min(3)])?;
    let residual = inputs.get(3).copied().flatten();
    if let (Some(r), Some(o)) = (residual.and_then(|r| r.shape.as_ref()), &out[0].shape)
        && r != o
    {
        op_bail!(
            "FusedConv residual of shape {} differs from the output shape {}",
            show(r),
            show(o)
        );
    }
    Ok(out)
}

/// `[N, M, out...]` from X `[N, C, in...]` and W `[M, C / group, k...]`, checking whatever
/// is known.
fn conv_output_dims(a: &ConvAttrs, xs: &[Dim], ws: &[Dim]) -> Result<Option<Vec<Dim>>, OpError> {
    if !(3..=5).contains(&xs.len()) {
        op_bail!(
            "Conv input must be [N, C, spatial...] with 1 to 3 spatial axes, got shape {}",
            show(xs)
        );
    }
    if ws.len() != xs.len() {
        op_bail!(
            "Conv weight shape {} must have the input's rank {}",
            show(ws),
            xs.len()
        );
    }
    check_channels(a.group, &xs[1], &ws[0], &ws[1])?;
    let mut params = window_params(&a.window, false);
    if params.kernel.is_empty() {
        let Some(kernel) = known_dims(&ws[2..]) else {
            return Ok(None);
        };
        params.kernel = kernel;
    } else if ws[2..]
        .iter()
        .zip(&params.kernel)
        .any(|(d, &k)| d.known().is_some_and(|d| d != k))
    {
        op_bail!(
            "kernel_shape {:?} does not match weight shape {}",
            params.kernel,
            show(ws)
        );
    }
    let Some(spatial) = infer_window_dims(&xs[2..], &params)? else {
        return Ok(None);
    };
    let mut out = vec![xs[0].clone(), ws[0].clone()];
    out.extend(spatial);
    Ok(Some(out))
}

fn check_channels(group: usize, c: &Dim, m: &Dim, c_per_group: &Dim) -> Result<(), OpError> {
    if group == 0 {
        op_bail!("Conv group must be at least 1");
    }
    if let Some(m) = m.known().filter(|m| !m.is_multiple_of(group)) {
        op_bail!("Conv output channels {m} cannot be split into {group} groups");
    }
    if let (Some(c), Some(cg)) = (c.known(), c_per_group.known())
        && cg.checked_mul(group) != Some(c)
    {
        op_bail!(
            "Conv input has {c} channels but the weight expects {cg} per group × {group} groups"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn attrs(
        kernel: Option<Vec<usize>>,
        strides: Vec<usize>,
        pads: Vec<usize>,
        auto_pad: AutoPad,
        group: usize,
    ) -> ConvAttrs {
        ConvAttrs {
            window: Window {
                kernel_shape: kernel,
                strides,
                dilations: vec![],
                pads,
                auto_pad,
            },
            group,
        }
    }

    fn known(dims: &[usize]) -> Vec<Dim> {
        dims.iter().map(|&d| Dim::Known(d)).collect()
    }

    #[test]
    fn eval_with_bias_and_inferred_kernel() {
        let x = Tensor::from_f32(vec![1, 1, 3, 3], (1..=9).map(|v| v as f32).collect()).unwrap();
        let w = Tensor::from_f32(
            vec![2, 1, 2, 2],
            vec![1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
        )
        .unwrap();
        let b = Tensor::from_f32(vec![2], vec![0.0, 100.0]).unwrap();
        let a = attrs(None, vec![], vec![], AutoPad::NotSet, 1);
        let y = eval_conv(
            Kernels::Reference,
            &a,
            Activation::Identity,
            &[Some(&x), Some(&w), Some(&b)],
        )
        .unwrap();
        assert_eq!(y[0].shape(), &[1, 2, 2, 2]);
        // Channel 0: x[i][j] + x[i+1][j+1]; channel 1: 100 + x[i+1][j+1].
        assert_eq!(
            y[0].as_f32().unwrap(),
            &[6.0, 8.0, 12.0, 14.0, 105.0, 106.0, 108.0, 109.0]
        );
        let bad_bias = Tensor::from_f32(vec![3], vec![0.0; 3]).unwrap();
        for kernels in [Kernels::Reference, Kernels::Fast] {
            let id = Activation::Identity;
            assert!(eval_conv(kernels, &a, id, &[Some(&x), Some(&w), Some(&bad_bias)]).is_err());
            let bad_group = attrs(None, vec![], vec![], AutoPad::NotSet, 3);
            assert!(eval_conv(kernels, &bad_group, id, &[Some(&x), Some(&w)]).is_err());
            let bad_residual = Tensor::from_f32(vec![1, 2, 2, 1], vec![0.0; 4]).unwrap();
            let with_residual = [Some(&x), Some(&w), None, Some(&bad_residual)];
            assert!(eval_conv(kernels, &a, id, &with_residual).is_err());
        }
    }

    #[test]
    fn infer_keeps_batch_symbol_and_computes_spatial() {
        let n = Dim::Symbol(Arc::from("N"));
        let mut xs = vec![n.clone()];
        xs.extend(known(&[3, 224, 224]));
        let x = Facts::new(DType::F32, xs);
        let w = Facts::new(DType::F32, known(&[64, 3, 7, 7]));
        let a = attrs(
            Some(vec![7, 7]),
            vec![2, 2],
            vec![3, 3, 3, 3],
            AutoPad::NotSet,
            1,
        );
        let out = infer_conv(&a, &[Some(&x), Some(&w)]).unwrap();
        let mut want = vec![n];
        want.extend(known(&[64, 112, 112]));
        assert_eq!(out[0].shape, Some(want));
        let wrong_c = Facts::new(DType::F32, known(&[64, 4, 7, 7]));
        assert!(infer_conv(&a, &[Some(&x), Some(&wrong_c)]).is_err());
    }

    #[test]
    fn infer_symbolic_spatial() {
        let h = Dim::Symbol(Arc::from("H"));
        let x = Facts::new(
            DType::F32,
            vec![Dim::Known(1), Dim::Known(8), h.clone(), Dim::Known(10)],
        );
        let w = Facts::new(DType::F32, known(&[8, 1, 3, 3]));
        let same = attrs(None, vec![], vec![1, 1, 1, 1], AutoPad::NotSet, 8);
        let out = infer_conv(&same, &[Some(&x), Some(&w)]).unwrap();
        assert_eq!(
            out[0].shape,
            Some(vec![Dim::Known(1), Dim::Known(8), h, Dim::Known(10)])
        );
        let strided = attrs(None, vec![2, 2], vec![1, 1, 1, 1], AutoPad::NotSet, 8);
        assert_eq!(
            infer_conv(&strided, &[Some(&x), Some(&w)]).unwrap()[0].shape,
            None
        );
    }
}
