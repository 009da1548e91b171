//! Squeeze and Unsqueeze: drop or insert axes of size 1, named by an optional (Squeeze) or
//! required (Unsqueeze) int64 `axes` input. Only the shape changes, never the elements.

use super::operands::{
    Operand, axes_mask, fact_dims, i64_fact, i64_input, known_dims, out_facts, required_i64,
    reshaped, show,
};
use super::{Facts, OpError, required, required_facts};
use crate::ir::Dim;
use crate::op_bail;
use crate::tensor::Tensor;

/// Squeeze: drops the listed axes (which must be 1), or every 1 when `axes` is absent or
/// empty (as ONNX shape inference and ONNX Runtime read an empty list). A symbolic dim named in
/// `axes` is taken to be 1; with no `axes`, a symbolic dim makes the result unknown.
fn squeeze_dims(dims: &[Dim], axes: Option<&[i64]>) -> Result<Option<Vec<Dim>>, OpError> {
    let Some(axes) = axes.filter(|a| !a.is_empty()) else {
        if dims.iter().any(|d| d.known().is_none()) {
            return Ok(None);
        }
        return Ok(Some(
            dims.iter()
                .filter(|d| **d != Dim::Known(1))
                .cloned()
                .collect(),
        ));
    };
    let (axes, named) = axes_mask(axes, dims.len())?;
    for &a in &axes {
        if matches!(dims[a], Dim::Known(n) if n != 1) {
            op_bail!(
                "cannot squeeze axis {a} of size {} (shape {})",
                dims[a],
                show(dims)
            );
        }
    }
    let kept = dims.iter().zip(&named).filter(|(_, one)| !**one);
    Ok(Some(kept.map(|(d, _)| d.clone()).collect()))
}

/// Unsqueeze: inserts 1s at `axes`, which index the output (negative counts from its end).
fn unsqueeze_dims(dims: &[Dim], axes: &[i64]) -> Result<Vec<Dim>, OpError> {
    let rank = dims
        .len()
        .checked_add(axes.len())
        .ok_or_else(|| OpError::new("rank overflows"))?;
    let (_, named) = axes_mask(axes, rank)?;
    let mut rest = dims.iter();
    let out = named.iter().map(|&one| {
        if one {
            Some(Dim::Known(1))
        } else {
            rest.next().cloned()
        }
    });
    Ok(out.flatten().collect())
}

pub(super) fn eval_squeeze(inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpError> {
    let x = required(inputs, 0, "data")?;
    let axes = i64_input(inputs, 1, "axes")?;
    reshaped(x, squeeze_dims(&known_dims(x.shape()), axes)?)
}

pub(super) fn eval_unsqueeze(inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpError> {
    let x = required(inputs, 0, "data")?;
    let axes = required_i64(inputs, 1, "axes")?;
    reshaped(x, Some(unsqueeze_dims(&known_dims(x.shape()), axes)?))
}

pub(super) fn infer_squeeze(inputs: &[Option<&Facts>]) -> Result<Vec<Facts>, OpError> {
    let x = required_facts(inputs, 0, "data")?;
    let shape = match (i64_fact(inputs, 1, "axes")?, fact_dims(x)) {
        (_, None) | (Operand::Unknown, _) => None,
        (Operand::Absent, Some(dims)) => squeeze_dims(&dims, None)?,
        (Operand::Known(axes), Some(dims)) => squeeze_dims(&dims, Some(axes))?,
    };
    Ok(vec![out_facts(x.dtype, shape)])
}

pub(super) fn infer_unsqueeze(inputs: &[Option<&Facts>]) -> Result<Vec<Facts>, OpError> {
    let x = required_facts(inputs, 0, "data")?;
    let shape = match (i64_fact(inputs, 1, "axes")?, fact_dims(x)) {
        (Operand::Absent, _) => op_bail!("missing required input 1 (axes)"),
        (Operand::Known(axes), Some(dims)) => Some(unsqueeze_dims(&dims, axes)?),
        _ => None,
    };
    Ok(vec![out_facts(x.dtype, shape)])
}

#[cfg(test)]
mod tests {
    use crate::ir::Op;
    use crate::ops::testing::*;
    use crate::tensor::{DType, Tensor};

    #[test]
    fn squeeze_axes() {
        let x = ramp(&[1, 3, 1, 5]);
        let some = |axes: &[i64]| run(&Op::Squeeze, &[Some(&x), Some(&ints(axes))]);
        assert_eq!(some(&[-2]).unwrap().shape(), &[1, 3, 5]);
        assert_eq!(some(&[0, 2]).unwrap().shape(), &[3, 5]);
        assert_eq!(
            some(&[]).unwrap().shape(),
            &[3, 5],
            "empty axes squeeze every 1"
        );
        assert_eq!(run(&Op::Squeeze, &[Some(&x)]).unwrap().shape(), &[3, 5]);
        assert!(some(&[1]).is_err(), "size 3");
        assert!(some(&[0, -4]).is_err(), "repeated");
        assert!(some(&[4]).is_err(), "out of range");
    }

    #[test]
    fn unsqueeze_axes() {
        let x = ramp(&[3, 4, 5]);
        let un = |axes: &[i64]| run(&Op::Unsqueeze, &[Some(&x), Some(&ints(axes))]);
        assert_eq!(un(&[5, 4, 2]).unwrap().shape(), &[3, 4, 1, 5, 1, 1]);
        assert_eq!(un(&[0, 4]).unwrap().shape(), &[1, 3, 4, 5, 1]);
        assert_eq!(un(&[-2]).unwrap().shape(), &[3, 4, 1, 5]);
        assert!(un(&[6]).is_err());
        assert!(un(&[1, 1]).is_err());
        assert!(
            run(&Op::Unsqueeze, &[Some(&x)]).is_err(),
            "axes are required"
        );
        let s = run(
            &Op::Unsqueeze,
            &[Some(&Tensor::scalar_i64(7)), Some(&ints(&[0]))],
        )
        .unwrap();
        assert_eq!(
            (s.shape(), s.as_i64().unwrap()),
            (&[1usize][..], &[7i64][..])
        );
    }

    #[test]
    fn symbolic_squeeze_and_unsqueeze() {
        let x = runtime(DType::F32, vec![sym("N"), k(1), k(3)]);
        let axes = constant(&ints(&[1]));
        assert_eq!(
            infer_dims(&Op::Squeeze, &[Some(&x), Some(&axes)]).unwrap(),
            Some(vec![sym("N"), k(3)])
        );
        assert_eq!(
            infer_dims(&Op::Squeeze, &[Some(&x)]).unwrap(),
            None,
            "N may be 1"
        );
        let bad = constant(&ints(&[2]));
        assert!(infer_dims(&Op::Squeeze, &[Some(&x), Some(&bad)]).is_err());
        let front = constant(&ints(&[0]));
        let un = infer_dims(&Op::Unsqueeze, &[Some(&x), Some(&front)]).unwrap();
        assert_eq!(un, Some(vec![k(1), sym("N"), k(1), k(3)]));
    }
}
