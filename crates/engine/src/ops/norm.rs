//! BatchNormalization (inference mode) on the reference kernel, and its shape inference.

use litecnn_kernels::reference::batchnorm::{BatchNormParams, batch_norm};

use super::elementwise::{expect_f32_facts, f32_input, f32_tensor};
use super::operands::show;
use super::{Facts, OpError, required_facts};
use crate::ir::Dim;
use crate::op_bail;
use crate::tensor::{DType, Tensor};

/// The four per-channel inputs, in ONNX input order after X.
const PARAMS: [&str; 4] = ["scale", "B", "input_mean", "input_var"];

pub(super) fn eval_batch_norm(
    epsilon: f32,
    inputs: &[Option<&Tensor>],
) -> Result<Vec<Tensor>, OpError> {
    let (x, xv) = f32_input(inputs, 0, "X")?;
    let mut params = [&[][..]; 4];
    for (i, name) in PARAMS.iter().enumerate() {
        let (t, v) = f32_input(inputs, i + 1, name)?;
        if t.rank() != 1 {
            op_bail!(
                "BatchNormalization {name} must be 1-D, got shape {:?}",
                t.shape()
            );
        }
        params[i] = v;
    }
    let [scale, bias, mean, var] = params;
    let p = BatchNormParams {
        scale,
        bias,
        mean,
        var,
        epsilon,
    };
    let y = batch_norm(xv, x.shape(), &p)?;
    Ok(vec![f32_tensor(x.shape().to_vec(), y)?])
}

pub(super) fn infer_batch_norm(inputs: &[Option<&Facts>]) -> Result<Vec<Facts>, OpError> {
    let x = required_facts(inputs, 0, "X")?;
    expect_f32_facts(x, "X")?;
    let channels = match &x.shape {
        Some(xs) if xs.len() < 2 => op_bail!(
            "BatchNormalization input must have rank at least 2, got shape {}",
            show(xs)
        ),
        Some(xs) => xs[1].known(),
        None => None,
    };
    for (i, name) in PARAMS.iter().enumerate() {
        let p = required_facts(inputs, i + 1, name)?;
        expect_f32_facts(p, name)?;
        if let (Some(ps), Some(c)) = (&p.shape, channels)
            && ps.as_slice() != [Dim::Known(c)]
            && ps.iter().all(|d| d.known().is_some())
        {
            op_bail!(
                "BatchNormalization {name} must have shape [{c}], got {}",
                show(ps)
            );
        }
    }
    Ok(vec![Facts {
        dtype: Some(DType::F32),
        shape: x.shape.clone(),
        value: None,
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vec1(v: &[f32]) -> Tensor {
        Tensor::from_f32(vec![v.len()], v.to_vec()).unwrap()
    }

    #[test]
    fn eval_normalises_per_channel() {
        let x = Tensor::from_f32(vec![1, 2, 2], vec![1.0, 3.0, 10.0, 20.0]).unwrap();
        let (scale, bias, mean, var) = (
            vec1(&[1.0, 2.0]),
            vec1(&[0.0, 1.0]),
            vec1(&[2.0, 10.0]),
            vec1(&[1.0, 4.0]),
        );
        let y = eval_batch_norm(
            0.0,
            &[Some(&x), Some(&scale), Some(&bias), Some(&mean), Some(&var)],
        )
        .unwrap();
        // Channel 0: (x - 2) / 1; channel 1: 2 * (x - 10) / 2 + 1.
        assert_eq!(y[0].as_f32().unwrap(), &[-1.0, 1.0, 1.0, 11.0]);
        let short = vec1(&[1.0]);
        assert!(
            eval_batch_norm(
                0.0,
                &[Some(&x), Some(&short), Some(&bias), Some(&mean), Some(&var)]
            )
            .is_err()
        );
        assert!(eval_batch_norm(0.0, &[Some(&x), Some(&scale), Some(&bias), Some(&mean)]).is_err());
    }

    #[test]
    fn infer_checks_parameter_shapes() {
        let x = Facts::new(
            DType::F32,
            vec![Dim::Known(1), Dim::Known(3), Dim::Known(5)],
        );
        let ok = Facts::new(DType::F32, vec![Dim::Known(3)]);
        let out =
            infer_batch_norm(&[Some(&x), Some(&ok), Some(&ok), Some(&ok), Some(&ok)]).unwrap();
        assert_eq!(out[0].shape, x.shape);
        let bad = Facts::new(DType::F32, vec![Dim::Known(4)]);
        assert!(
            infer_batch_norm(&[Some(&x), Some(&ok), Some(&bad), Some(&ok), Some(&ok)]).is_err()
        );
    }
}
