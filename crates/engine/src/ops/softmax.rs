//! Softmax on the reference kernel. Shape inference is the dispatcher's same-as-input rule.

use litecnn_kernels::reference::softmax::softmax;

use super::elementwise::{f32_input, f32_tensor};
use super::{OpError, normalize_axis};
use crate::tensor::Tensor;

/// `(outer, len, inner)`: the input viewed as `[outer, len, inner]` with softmax along `len`.
/// With `coerce_2d` (opset < 13) everything from `axis` on forms one softmax group.
fn softmax_view(
    shape: &[usize],
    axis: i64,
    coerce_2d: bool,
) -> Result<(usize, usize, usize), OpError> {
    let axis = normalize_axis(axis, shape.len())?;
    let outer = shape[..axis].iter().product();
    if coerce_2d {
        Ok((outer, shape[axis..].iter().product(), 1))
    } else {
        Ok((outer, shape[axis], shape[axis + 1..].iter().product()))
    }
}

pub(super) fn eval_softmax(
    axis: i64,
    coerce_2d: bool,
    inputs: &[Option<&Tensor>],
) -> Result<Vec<Tensor>, OpError> {
    let (x, xv) = f32_input(inputs, 0, "input")?;
    let (outer, len, inner) = softmax_view(x.shape(), axis, coerce_2d)?;
    let y = softmax(xv, outer, len, inner)?;
    Ok(vec![f32_tensor(x.shape().to_vec(), y)?])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_for_both_semantics() {
        assert_eq!(softmax_view(&[2, 3, 4], 1, false).unwrap(), (2, 3, 4));
        assert_eq!(softmax_view(&[2, 3, 4], -1, false).unwrap(), (6, 4, 1));
        assert_eq!(softmax_view(&[2, 3, 4], 1, true).unwrap(), (2, 12, 1));
        assert_eq!(softmax_view(&[2, 3, 4], 0, true).unwrap(), (1, 24, 1));
        assert!(softmax_view(&[2, 3], 2, false).is_err());
    }

    #[test]
    fn eval_along_axis_0() {
        let x = Tensor::from_f32(vec![2, 2], vec![0.0, 1.0, 0.0, 3.0]).unwrap();
        let y = eval_softmax(0, false, &[Some(&x)]).unwrap();
        let v = y[0].as_f32().unwrap();
        assert_eq!(v[0], 0.5);
        assert!((v[1] + v[3] - 1.0).abs() < 1e-6 && v[3] > v[1]);
        let coerced = eval_softmax(0, true, &[Some(&x)]).unwrap();
        assert!((coerced[0].as_f32().unwrap().iter().sum::<f32>() - 1.0).abs() < 1e-6);
    }
}
