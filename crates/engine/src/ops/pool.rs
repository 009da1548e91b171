//! MaxPool, AveragePool and GlobalAveragePool (fast or reference kernels), GlobalMaxPool, and
//! their shape inference (window sizes come from the same rule as execution, via
//! [`super::conv::infer_window_dims`]).

use litecnn_kernels::reference::pool::{
    GlobalPoolKind, PoolGeometry, PoolKind, global_pool, max_pool_with_indices, pool,
};

use super::conv::{infer_window_dims, window_params};
use super::elementwise::{expect_f32_facts, f32_input, f32_tensor, i64_tensor};
use super::operands::show;
use super::{Facts, Kernels, OpError, required_facts};
use crate::ir::{Dim, PoolAttrs};
use crate::op_bail;
use crate::tensor::{DType, Tensor};

/// X's elements with the window geometry of `p` over X.
fn pool_input<'a>(
    p: &PoolAttrs,
    inputs: &[Option<&'a Tensor>],
) -> Result<(PoolGeometry, &'a [f32]), OpError> {
    let (x, xv) = f32_input(inputs, 0, "X")?;
    if p.window.kernel_shape.is_none() {
        op_bail!("pooling needs kernel_shape");
    }
    let geometry = PoolGeometry::new(x.shape(), &window_params(&p.window, p.ceil_mode))?;
    Ok((geometry, xv))
}

fn eval_pool(
    kernels: Kernels,
    p: &PoolAttrs,
    kind: PoolKind,
    inputs: &[Option<&Tensor>],
) -> Result<Vec<Tensor>, OpError> {
    let (geometry, xv) = pool_input(p, inputs)?;
    let y = match kernels {
        Kernels::Fast => litecnn_kernels::fast::pool::pool(&geometry, kind, xv)?,
        Kernels::Reference => pool(&geometry, kind, xv)?,
    };
    Ok(vec![f32_tensor(geometry.output_shape(), y)?])
}

/// MaxPool: Y, and when a second output is asked for, ONNX's `Indices`. The indices cost a
/// second buffer, so they are computed only on request.
pub(super) fn eval_max_pool(
    kernels: Kernels,
    p: &PoolAttrs,
    inputs: &[Option<&Tensor>],
    num_outputs: usize,
) -> Result<Vec<Tensor>, OpError> {
    match num_outputs {
        0 | 1 => eval_pool(kernels, p, PoolKind::Max, inputs),
        // The IR has no `storage_order` yet, so the indices are always row-major (its default).
        2 => eval_max_pool_with_indices(p, inputs, false),
        n => op_bail!("MaxPool has at most 2 outputs (Y, Indices), {n} were asked for"),
    }
}

/// Y and the int64 Indices, both of Y's shape: the flat position of each maximum in X, with
/// the spatial part in column-major order when `storage_order_columns`.
fn eval_max_pool_with_indices(
    p: &PoolAttrs,
    inputs: &[Option<&Tensor>],
    storage_order_columns: bool,
) -> Result<Vec<Tensor>, OpError> {
    let (geometry, xv) = pool_input(p, inputs)?;
    let (values, indices) = max_pool_with_indices(&geometry, xv, storage_order_columns)?;
    let shape = geometry.output_shape();
    Ok(vec![
        f32_tensor(shape.clone(), values)?,
        i64_tensor(shape, indices)?,
    ])
}

pub(super) fn eval_average_pool(
    kernels: Kernels,
    pool: &PoolAttrs,
    count_include_pad: bool,
    inputs: &[Option<&Tensor>],
) -> Result<Vec<Tensor>, OpError> {
    eval_pool(
        kernels,
        pool,
        PoolKind::Average { count_include_pad },
        inputs,
    )
}

fn eval_global(kind: GlobalPoolKind, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpError> {
    let (x, xv) = f32_input(inputs, 0, "X")?;
    let (shape, y) = global_pool(kind, xv, x.shape())?;
    Ok(vec![f32_tensor(shape, y)?])
}

pub(super) fn eval_global_average_pool(
    kernels: Kernels,
    inputs: &[Option<&Tensor>],
) -> Result<Vec<Tensor>, OpError> {
    if kernels == Kernels::Reference {
        return eval_global(GlobalPoolKind::Average, inputs);
    }
    let (x, xv) = f32_input(inputs, 0, "X")?;
    let (shape, y) = litecnn_kernels::fast::pool::global_average(xv, x.shape())?;
    Ok(vec![f32_tensor(shape, y)?])
}

pub(super) fn eval_global_max_pool(inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpError> {
    eval_global(GlobalPoolKind::Max, inputs)
}

/// MaxPool's facts: Y as for any pool, and Indices (when asked for) int64 of Y's shape.
pub(super) fn infer_max_pool(
    p: &PoolAttrs,
    inputs: &[Option<&Facts>],
    num_outputs: usize,
) -> Result<Vec<Facts>, OpError> {
    let mut out = infer_pool(p, inputs)?;
    if num_outputs >= 2 {
        out.push(Facts {
            dtype: Some(DType::I64),
            shape: out[0].shape.clone(),
            value: None,
        });
    }
    Ok(out)
}

pub(super) fn infer_pool(
    pool: &PoolAttrs,
    inputs: &[Option<&Facts>],
) -> Result<Vec<Facts>, OpError> {
    let x = required_facts(inputs, 0, "X")?;
    expect_f32_facts(x, "X")?;
    let shape = match &x.shape {
        Some(xs) => pool_output_dims(pool, xs)?,
        None => None,
    };
    Ok(vec![Facts {
        dtype: Some(DType::F32),
        shape,
        value: None,
    }])
}

fn pool_output_dims(p: &PoolAttrs, xs: &[Dim]) -> Result<Option<Vec<Dim>>, OpError> {
    if !(3..=5).contains(&xs.len()) {
        op_bail!(
            "pooling input must be [N, C, spatial...] with 1 to 3 spatial axes, got shape {}",
            show(xs)
        );
    }
    if p.window.kernel_shape.is_none() {
        op_bail!("pooling needs kernel_shape");
    }
    let Some(spatial) = infer_window_dims(&xs[2..], &window_params(&p.window, p.ceil_mode))? else {
        return Ok(None);
    };
    let mut out = xs[..2].to_vec();
    out.extend(spatial);
    Ok(Some(out))
}

pub(super) fn infer_global_pool(inputs: &[Option<&Facts>]) -> Result<Vec<Facts>, OpError> {
    let x = required_facts(inputs, 0, "X")?;
    expect_f32_facts(x, "X")?;
    let shape = match &x.shape {
        Some(xs) if xs.len() < 3 => op_bail!(
            "global pooling input must be [N, C, spatial...], got shape {}",
            show(xs)
        ),
        Some(xs) => Some(
            xs.iter()
                .enumerate()
                .map(|(i, d)| if i < 2 { d.clone() } else { Dim::Known(1) })
                .collect(),
        ),
        None => None,
    };
    Ok(vec![Facts {
        dtype: Some(DType::F32),
        shape,
        value: None,
    }])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{AutoPad, Window};
    use std::sync::Arc;

    fn attrs(
        kernel: Vec<usize>,
        strides: Vec<usize>,
        pads: Vec<usize>,
        auto_pad: AutoPad,
        ceil_mode: bool,
    ) -> PoolAttrs {
        PoolAttrs {
            window: Window {
                kernel_shape: Some(kernel),
                strides,
                dilations: vec![],
                pads,
                auto_pad,
            },
            ceil_mode,
        }
    }

    #[test]
    fn max_pool_same_upper_and_infer_agree() {
        let x = Tensor::from_f32(vec![1, 1, 3, 3], (1..=9).map(|v| v as f32).collect()).unwrap();
        let p = attrs(vec![2, 2], vec![2, 2], vec![], AutoPad::SameUpper, false);
        for kernels in [Kernels::Reference, Kernels::Fast] {
            let y = eval_max_pool(kernels, &p, &[Some(&x)], 1).unwrap();
            assert_eq!(y[0].shape(), &[1, 1, 2, 2]);
            assert_eq!(y[0].as_f32().unwrap(), &[5.0, 6.0, 8.0, 9.0]);
        }
        let y = eval_max_pool(Kernels::Fast, &p, &[Some(&x)], 1).unwrap();
        let facts = Facts::new(
            DType::F32,
            vec![Dim::Known(1), Dim::Known(1), Dim::Known(3), Dim::Known(3)],
        );
        let inferred = infer_pool(&p, &[Some(&facts)]).unwrap();
        let want: Vec<Dim> = y[0].shape().iter().map(|&d| Dim::Known(d)).collect();
        assert_eq!(inferred[0].shape, Some(want));
    }

    #[test]
    fn max_pool_indices_on_request_and_their_inference() {
        let x = Tensor::from_f32(vec![1, 1, 2, 3], vec![1.0, 2.0, 9.0, 8.0, 3.0, 7.0]).unwrap();
        let p = attrs(vec![2, 2], vec![1, 1], vec![], AutoPad::NotSet, false);
        let out = eval_max_pool(Kernels::Fast, &p, &[Some(&x)], 2).unwrap();
        assert_eq!(out[0].as_f32().unwrap(), &[8.0, 9.0]);
        assert_eq!(out[1].shape(), &[1, 1, 1, 2]);
        assert_eq!(out[1].as_i64().unwrap(), &[3, 2]);
        assert!(eval_max_pool(Kernels::Fast, &p, &[Some(&x)], 3).is_err());
        let dims = vec![Dim::Known(1), Dim::Known(1), Dim::Known(2), Dim::Known(3)];
        let facts = Facts::new(DType::F32, dims);
        let inferred = infer_max_pool(&p, &[Some(&facts)], 2).unwrap();
        assert_eq!(inferred[1].dtype, Some(DType::I64));
        assert_eq!(inferred[1].shape, inferred[0].shape);
        assert_eq!(infer_max_pool(&p, &[Some(&facts)], 1).unwrap().len(), 1);
    }

    #[test]
    fn average_pool_counts_padding_on_request() {
        let x = Tensor::from_f32(vec![1, 1, 2], vec![2.0, 4.0]).unwrap();
        let p = attrs(vec![2], vec![], vec![1, 1], AutoPad::NotSet, false);
        for kernels in [Kernels::Reference, Kernels::Fast] {
            let excl = eval_average_pool(kernels, &p, false, &[Some(&x)]).unwrap();
            assert_eq!(excl[0].as_f32().unwrap(), &[2.0, 3.0, 4.0]);
            let incl = eval_average_pool(kernels, &p, true, &[Some(&x)]).unwrap();
            assert_eq!(incl[0].as_f32().unwrap(), &[1.0, 3.0, 2.0]);
        }
    }

    #[test]
    fn global_pools_and_their_inference() {
        let x = Tensor::from_f32(vec![1, 2, 2], vec![1.0, 3.0, -1.0, -5.0]).unwrap();
        for kernels in [Kernels::Fast, Kernels::Reference] {
            let avg = eval_global_average_pool(kernels, &[Some(&x)]).unwrap();
            assert_eq!(
                (avg[0].shape(), avg[0].as_f32().unwrap()),
                (&[1usize, 2, 1][..], &[2.0f32, -3.0][..])
            );
        }
        let max = eval_global_max_pool(&[Some(&x)]).unwrap();
        assert_eq!(max[0].as_f32().unwrap(), &[3.0, -1.0]);
        let n = Dim::Symbol(Arc::from("N"));
        let f = Facts::new(
            DType::F32,
            vec![
                n.clone(),
                Dim::Known(8),
                Dim::Symbol(Arc::from("H")),
                Dim::Known(7),
            ],
        );
        let out = infer_global_pool(&[Some(&f)]).unwrap();
        assert_eq!(
            out[0].shape,
            Some(vec![n, Dim::Known(8), Dim::Known(1), Dim::Known(1)])
        );
        let flat = Facts::new(DType::F32, vec![Dim::Known(8), Dim::Known(7)]);
        assert!(infer_global_pool(&[Some(&flat)]).is_err());
    }

    #[test]
    fn bad_windows_are_errors() {
        let x = Tensor::from_f32(vec![1, 1, 2, 2], vec![0.0; 4]).unwrap();
        let too_big = attrs(vec![3, 3], vec![], vec![], AutoPad::NotSet, false);
        for kernels in [Kernels::Reference, Kernels::Fast] {
            assert!(eval_max_pool(kernels, &too_big, &[Some(&x)], 1).is_err());
        }
        let facts = Facts::new(
            DType::F32,
            vec![Dim::Known(1), Dim::Known(1), Dim::Known(2), Dim::Known(2)],
        );
        assert!(infer_pool(&too_big, &[Some(&facts)]).is_err());
        let wrong_rank = attrs(vec![2], vec![], vec![], AutoPad::NotSet, false);
        assert!(eval_max_pool(Kernels::Fast, &wrong_rank, &[Some(&x)], 2).is_err());
    }
}
