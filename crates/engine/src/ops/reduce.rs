//! ReduceMean, and its shape inference. Axes come as an optional int64 input (the importer
//! turns the opset < 18 attribute into one). A mean over the trailing axes (a global average
//! pool written as ReduceMean, as in ShuffleNet) runs on the fast plane mean.

use litecnn_kernels::fast::pool::global_average;
use litecnn_kernels::reference::reduce::{reduce_mean, reduced_shape};

use super::elementwise::{expect_f32_facts, f32_input, f32_tensor, optional};
use super::{Facts, Kernels, OpError, normalize_axis, required_facts};
use crate::ir::Dim;
use crate::op_bail;
use crate::tensor::{DType, Tensor};

/// What to reduce: `None` means "leave the input as it is" (empty axes with
/// `noop_with_empty_axes`); otherwise the normalised, distinct axes.
fn resolve_axes(
    axes: Option<&[i64]>,
    rank: usize,
    noop_with_empty_axes: bool,
) -> Result<Option<Vec<usize>>, OpError> {
    let axes = axes.unwrap_or(&[]);
    if axes.is_empty() {
        return Ok(if noop_with_empty_axes {
            None
        } else {
            Some((0..rank).collect())
        });
    }
    let mut out = Vec::with_capacity(axes.len());
    for &a in axes {
        let a = normalize_axis(a, rank)?;
        if out.contains(&a) {
            op_bail!("ReduceMean axes {axes:?} name axis {a} twice");
        }
        out.push(a);
    }
    Ok(Some(out))
}

/// The axes input as plain integers.
fn axes_values(t: &Tensor) -> Result<&[i64], OpError> {
    match t.as_i64() {
        Some(v) if t.rank() <= 1 => Ok(v),
        _ => op_bail!(
            "ReduceMean axes must be a 1-D int64 tensor, got {} of shape {:?}",
            t.dtype(),
            t.shape()
        ),
    }
}

pub(super) fn eval_reduce_mean(
    kernels: Kernels,
    keepdims: bool,
    noop_with_empty_axes: bool,
    inputs: &[Option<&Tensor>],
) -> Result<Vec<Tensor>, OpError> {
    let (x, xv) = f32_input(inputs, 0, "data")?;
    let axes = optional(inputs, 1).map(axes_values).transpose()?;
    let Some(axes) = resolve_axes(axes, x.rank(), noop_with_empty_axes)? else {
        return Ok(vec![x.clone()]);
    };
    let (shape, y) = match (kernels, trailing_count(x.shape(), &axes)) {
        (Kernels::Fast, Some(count)) => {
            let (_, y) = global_average(xv, &[1, xv.len() / count, count])?;
            (reduced_shape(x.shape(), &axes, keepdims), y)
        }
        _ => reduce_mean(xv, x.shape(), &axes, keepdims)?,
    };
    Ok(vec![f32_tensor(shape, y)?])
}

/// The number of elements each mean covers when `axes` are exactly the trailing axes of
/// `shape` (and there are some to average): each output is then the mean of one contiguous run.
fn trailing_count(shape: &[usize], axes: &[usize]) -> Option<usize> {
    let first = shape.len().checked_sub(axes.len())?;
    let trailing = (first..shape.len()).all(|a| axes.contains(&a));
    let count: usize = shape[first..].iter().product();
    (trailing && count > 0 && shape.iter().product::<usize>() > 0).then_some(count)
}

pub(super) fn infer_reduce_mean(
    keepdims: bool,
    noop_with_empty_axes: bool,
    inputs: &[Option<&Facts>],
) -> Result<Vec<Facts>, OpError> {
    let x = required_facts(inputs, 0, "data")?;
    expect_f32_facts(x, "data")?;
    let unknown_shape = Facts {
        dtype: Some(DType::F32),
        shape: None,
        value: None,
    };
    let axes = match inputs.get(1).copied().flatten() {
        None => None,
        Some(f) => match &f.value {
            Some(t) => Some(axes_values(t)?),
            // Axes computed at run time: the output rank may be known, its dims are not.
            None => return Ok(vec![unknown_shape]),
        },
    };
    let Some(xs) = &x.shape else {
        return Ok(vec![unknown_shape]);
    };
    let shape = match resolve_axes(axes, xs.len(), noop_with_empty_axes)? {
        None => xs.clone(),
        Some(axes) => reduced_dims(xs, &axes, keepdims),
    };
    Ok(vec![Facts {
        dtype: Some(DType::F32),
        shape: Some(shape),
        value: None,
    }])
}

fn reduced_dims(xs: &[Dim], axes: &[usize], keepdims: bool) -> Vec<Dim> {
    let reduced = |i: &usize| axes.contains(i);
    xs.iter()
        .enumerate()
        .filter_map(|(i, d)| match (reduced(&i), keepdims) {
            (false, _) => Some(d.clone()),
            (true, true) => Some(Dim::Known(1)),
            (true, false) => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// The fast path (trailing axes) against the reference, within one rounding; other axes
    /// take the reference path on both.
    #[test]
    fn fast_trailing_mean_matches_reference() {
        let values: Vec<f32> = (0..2 * 3 * 5 * 7)
            .map(|i| (i * 37 % 101) as f32 * 0.37 - 9.0)
            .collect();
        let x = Tensor::from_f32(vec![2, 3, 5, 7], values).unwrap();
        for axes in [
            vec![-1],
            vec![2, 3],
            vec![3, 2],
            vec![1, 2, 3],
            vec![1],
            vec![0, 3],
        ] {
            for keepdims in [true, false] {
                let axes = Tensor::vec_i64(axes.clone());
                let run = |k| eval_reduce_mean(k, keepdims, false, &[Some(&x), Some(&axes)]);
                let (fast, reference) = (
                    run(Kernels::Fast).unwrap(),
                    run(Kernels::Reference).unwrap(),
                );
                assert_eq!(fast[0].shape(), reference[0].shape(), "{axes:?} {keepdims}");
                let (f, r) = (fast[0].as_f32().unwrap(), reference[0].as_f32().unwrap());
                for (a, b) in f.iter().zip(r) {
                    assert!(
                        (a - b).abs() <= 1e-6 * b.abs().max(1.0),
                        "{axes:?}: {a} vs {b}"
                    );
                }
            }
        }
    }

    #[test]
    fn eval_axes_keepdims_and_noop() {
        let x = Tensor::from_f32(vec![2, 2], vec![1.0, 2.0, 3.0, 4.0]).unwrap();
        let axes = Tensor::vec_i64(vec![-1]);
        let y =
            eval_reduce_mean(Kernels::Reference, true, false, &[Some(&x), Some(&axes)]).unwrap();
        assert_eq!(
            (y[0].shape(), y[0].as_f32().unwrap()),
            (&[2usize, 1][..], &[1.5f32, 3.5][..])
        );
        let all = eval_reduce_mean(Kernels::Reference, false, false, &[Some(&x)]).unwrap();
        assert_eq!(
            (all[0].shape(), all[0].as_f32().unwrap()),
            (&[][..], &[2.5f32][..])
        );
        let empty = Tensor::vec_i64(vec![]);
        let noop =
            eval_reduce_mean(Kernels::Reference, false, true, &[Some(&x), Some(&empty)]).unwrap();
        assert_eq!(noop[0], x);
        assert!(
            eval_reduce_mean(
                Kernels::Reference,
                true,
                false,
                &[Some(&x), Some(&Tensor::vec_i64(vec![0, -2]))]
            )
            .is_err()
        );
        assert!(
            eval_reduce_mean(
                Kernels::Reference,
                true,
                false,
                &[Some(&x), Some(&Tensor::vec_i64(vec![2]))]
            )
            .is_err()
        );
    }

    #[test]
    fn infer_from_constant_axes() {
        let n = Dim::Symbol(Arc::from("N"));
        let x = Facts::new(
            DType::F32,
            vec![n.clone(), Dim::Known(8), Dim::Known(7), Dim::Known(7)],
        );
        let axes = Facts {
            value: Some(Arc::new(Tensor::vec_i64(vec![2, 3]))),
            ..Facts::new(DType::I64, vec![Dim::Known(2)])
        };
        let out = infer_reduce_mean(false, false, &[Some(&x), Some(&axes)]).unwrap();
        assert_eq!(out[0].shape, Some(vec![n.clone(), Dim::Known(8)]));
        let out = infer_reduce_mean(true, false, &[Some(&x), Some(&axes)]).unwrap();
        assert_eq!(
            out[0].shape,
            Some(vec![n, Dim::Known(8), Dim::Known(1), Dim::Known(1)])
        );
        let runtime_axes = Facts::new(DType::I64, vec![Dim::Known(2)]);
        assert_eq!(
            infer_reduce_mean(true, false, &[Some(&x), Some(&runtime_axes)]).unwrap()[0].shape,
            None
        );
    }
}
