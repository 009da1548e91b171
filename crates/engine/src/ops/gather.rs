//! Gather: picks entries along one axis by int64 indices (negative ones count from the end).
//! Indices known at load time are range-checked then, so a bad model fails to load.

use litecnn_kernels::reference::gather::gather;

use super::operands::{
    check_created, concrete, fact_dims, known_dims, map_data, out_facts, tensor,
};
use super::{Facts, OpError, normalize_axis, required, required_facts};
use crate::ir::Dim;
use crate::op_bail;
use crate::tensor::{DType, Tensor};

/// `data[..axis] ++ indices ++ data[axis + 1..]`.
fn gather_dims(data: &[Dim], indices: &[Dim], axis: usize) -> Result<Vec<Dim>, OpError> {
    let out: Vec<Dim> = data[..axis]
        .iter()
        .chain(indices)
        .chain(&data[axis + 1..])
        .cloned()
        .collect();
    check_created(&out)?;
    Ok(out)
}

/// Resolves a possibly negative index into `[0, dim)`.
fn resolve_index(i: i64, dim: usize, axis: usize) -> Result<usize, OpError> {
    let d = dim as i128;
    let j = if i < 0 { i as i128 + d } else { i as i128 };
    if !(0..d).contains(&j) {
        op_bail!("index {i} is out of range for axis {axis} of size {dim}");
    }
    Ok(j as usize)
}

pub(super) fn eval_gather(axis: i64, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpError> {
    let x = required(inputs, 0, "data")?;
    let idx = required(inputs, 1, "indices")?;
    let Some(indices) = idx.as_i64() else {
        op_bail!("input 1 (indices) must be int64, got {}", idx.dtype());
    };
    let a = normalize_axis(axis, x.rank())?;
    let dim = x.shape()[a];
    let resolved: Vec<usize> = indices
        .iter()
        .map(|&i| resolve_index(i, dim, a))
        .collect::<Result<_, _>>()?;
    let shape = concrete(Some(gather_dims(
        &known_dims(x.shape()),
        &known_dims(idx.shape()),
        a,
    )?))?;
    let data = map_data!(x.data(), |v| gather(v, x.shape(), a, &resolved));
    Ok(vec![tensor(shape, data)?])
}

pub(super) fn infer_gather(axis: i64, inputs: &[Option<&Facts>]) -> Result<Vec<Facts>, OpError> {
    let x = required_facts(inputs, 0, "data")?;
    let idx = required_facts(inputs, 1, "indices")?;
    if let Some(d) = idx.dtype.filter(|&d| d != DType::I64) {
        op_bail!("input 1 (indices) must be int64, got {d}");
    }
    let (Some(dims), Some(idx_dims)) = (fact_dims(x), fact_dims(idx)) else {
        return Ok(vec![out_facts(x.dtype, None)]);
    };
    let a = normalize_axis(axis, dims.len())?;
    // Indices known at load time are checked now, so a bad model fails to load.
    if let (Some(v), Dim::Known(d)) = (idx.value.as_deref().and_then(Tensor::as_i64), &dims[a]) {
        for &i in v {
            resolve_index(i, *d, a)?;
        }
    }
    Ok(vec![out_facts(
        x.dtype,
        Some(gather_dims(&dims, &idx_dims, a)?),
    )])
}

#[cfg(test)]
mod tests {
    use crate::ir::Op;
    use crate::ops::infer;
    use crate::ops::testing::*;
    use crate::tensor::{DType, Tensor};

    #[test]
    fn gather_like_onnx_tests() {
        let x = ramp(&[10]);
        let y = run(
            &Op::Gather { axis: 0 },
            &[Some(&x), Some(&ints(&[0, -9, -10]))],
        )
        .unwrap();
        assert_eq!(f32s(&y), vec![0.0, 1.0, 0.0]);
        let data = ramp(&[5, 4, 3, 2]);
        let y = run(
            &Op::Gather { axis: 1 },
            &[Some(&data), Some(&ints(&[0, 1, 3]))],
        )
        .unwrap();
        assert_eq!(y.shape(), &[5, 3, 3, 2]);
        let idx2 = ints(&[1, 0, 2, 1]).reshaped(vec![2, 2]).unwrap();
        let m = ramp(&[3, 3]);
        let y = run(&Op::Gather { axis: -1 }, &[Some(&m), Some(&idx2)]).unwrap();
        assert_eq!(y.shape(), &[3, 2, 2]);
        assert_eq!(&f32s(&y)[..4], &[1.0, 0.0, 2.0, 1.0]);
        // The shape-arithmetic case: one dim of an int64 shape as a scalar.
        let shape = ints(&[8, 3, 224, 224]);
        let d = run(
            &Op::Gather { axis: 0 },
            &[Some(&shape), Some(&Tensor::scalar_i64(-1))],
        )
        .unwrap();
        assert_eq!(d, Tensor::scalar_i64(224));
    }

    #[test]
    fn gather_rejects() {
        let x = ramp(&[3]);
        assert!(run(&Op::Gather { axis: 0 }, &[Some(&x), Some(&ints(&[3]))]).is_err());
        assert!(run(&Op::Gather { axis: 0 }, &[Some(&x), Some(&ints(&[-4]))]).is_err());
        assert!(run(&Op::Gather { axis: 1 }, &[Some(&x), Some(&ints(&[0]))]).is_err());
        assert!(run(&Op::Gather { axis: 0 }, &[Some(&x), Some(&ramp(&[1]))]).is_err());
        assert!(
            run(
                &Op::Gather { axis: 0 },
                &[Some(&Tensor::scalar_f32(1.0)), Some(&ints(&[0]))]
            )
            .is_err()
        );
        let x = runtime(DType::F32, vec![k(3)]);
        let bad = constant(&ints(&[5]));
        assert!(
            infer(&Op::Gather { axis: 0 }, &[Some(&x), Some(&bad)], 1).is_err(),
            "checked at load"
        );
    }
}
