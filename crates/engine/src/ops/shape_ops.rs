//! Ops of the shape arithmetic exporters emit around a network: Identity, Shape, Cast and
//! ConstantOfShape. They are usually folded away at load time, so their `infer` matters as much
//! as their `eval`: Shape of a fully known shape is a constant.

use std::sync::Arc;

use super::operands::{
    Operand, check_created, fact_dims, i64_fact, known_dims, out_facts, required_i64, tensor,
    to_size,
};
use super::{Facts, OpError, required, required_facts};
use crate::ir::Dim;
use crate::op_bail;
use crate::tensor::{DType, Tensor, TensorData};

pub(super) fn eval_identity(inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpError> {
    Ok(vec![required(inputs, 0, "input")?.clone()])
}

/// The `[start, end)` range of axes Shape reports: negative values count from the end, then
/// both are clamped to `[0, rank]`; an empty range when start is past end.
fn shape_bounds(rank: usize, start: i64, end: Option<i64>) -> (usize, usize) {
    let r = rank as i64;
    let clamp = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
    let s = clamp(start);
    let e = end.map_or(rank, clamp);
    (s, e.max(s))
}

/// Dims as the int64 values Shape returns.
fn dims_to_i64(dims: &[usize]) -> Result<Vec<i64>, OpError> {
    dims.iter()
        .map(|&d| {
            i64::try_from(d)
                .map_err(|_| OpError::new(format!("dimension {d} does not fit in int64")))
        })
        .collect()
}

pub(super) fn eval_shape(
    start: i64,
    end: Option<i64>,
    inputs: &[Option<&Tensor>],
) -> Result<Vec<Tensor>, OpError> {
    let x = required(inputs, 0, "data")?;
    let (s, e) = shape_bounds(x.rank(), start, end);
    Ok(vec![Tensor::vec_i64(dims_to_i64(&x.shape()[s..e])?)])
}

pub(super) fn infer_shape(
    start: i64,
    end: Option<i64>,
    inputs: &[Option<&Facts>],
) -> Result<Vec<Facts>, OpError> {
    let x = required_facts(inputs, 0, "data")?;
    let Some(dims) = fact_dims(x) else {
        return Ok(vec![out_facts(Some(DType::I64), None)]);
    };
    let (s, e) = shape_bounds(dims.len(), start, end);
    let picked = &dims[s..e];
    let known: Option<Vec<usize>> = picked.iter().map(Dim::known).collect();
    let value = match known {
        Some(k) => Some(Arc::new(Tensor::vec_i64(dims_to_i64(&k)?))),
        None => None,
    };
    Ok(vec![Facts {
        dtype: Some(DType::I64),
        shape: Some(vec![Dim::Known(picked.len())]),
        value,
    }])
}

/// 2^63, the first float32 past the int64 range.
const I64_LIMIT: f32 = 9_223_372_036_854_775_808.0;

/// float32 → int64 truncating toward zero (numpy's `astype`). NaN, infinities and values
/// outside the int64 range are errors: ONNX leaves them undefined, and a silently invented
/// number in shape arithmetic would be worse than a clear failure.
fn f32_to_i64(v: f32) -> Result<i64, OpError> {
    if v.is_nan() || !(-I64_LIMIT..I64_LIMIT).contains(&v) {
        op_bail!("cannot cast {v} to int64: not a finite value in range");
    }
    Ok(v.trunc() as i64)
}

pub(super) fn eval_cast(to: DType, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpError> {
    let x = required(inputs, 0, "input")?;
    let data = match (x.data(), to) {
        (TensorData::F32(v), DType::I64) => {
            TensorData::I64(v.iter().map(|&f| f32_to_i64(f)).collect::<Result<_, _>>()?)
        }
        // Rounds to nearest beyond 2^24, as every int→float conversion does.
        (TensorData::I64(v), DType::F32) => TensorData::F32(v.iter().map(|&i| i as f32).collect()),
        (same, _) => same.clone(),
    };
    Ok(vec![tensor(x.shape().to_vec(), data)?])
}

pub(super) fn infer_cast(to: DType, inputs: &[Option<&Facts>]) -> Result<Vec<Facts>, OpError> {
    let x = required_facts(inputs, 0, "input")?;
    Ok(vec![out_facts(Some(to), fact_dims(x))])
}

/// The output shape ConstantOfShape is asked for: non-negative sizes, within the creation cap.
fn constant_shape(dims: &[i64]) -> Result<Vec<usize>, OpError> {
    let shape: Vec<usize> = dims
        .iter()
        .map(|&d| to_size(d, "shape entry"))
        .collect::<Result<_, _>>()?;
    check_created(&known_dims(&shape))?;
    Ok(shape)
}

fn check_fill(value: &Tensor) -> Result<(), OpError> {
    if value.len() != 1 {
        op_bail!("value must hold one element, got shape {:?}", value.shape());
    }
    Ok(())
}

pub(super) fn eval_constant_of_shape(
    value: &Tensor,
    inputs: &[Option<&Tensor>],
) -> Result<Vec<Tensor>, OpError> {
    check_fill(value)?;
    let shape = constant_shape(required_i64(inputs, 0, "shape")?)?;
    let n: usize = shape.iter().product();
    let data = match value.data() {
        TensorData::F32(v) => TensorData::F32(vec![v[0]; n].into()),
        TensorData::I64(v) => TensorData::I64(vec![v[0]; n]),
    };
    Ok(vec![tensor(shape, data)?])
}

pub(super) fn infer_constant_of_shape(
    value: &Tensor,
    inputs: &[Option<&Facts>],
) -> Result<Vec<Facts>, OpError> {
    check_fill(value)?;
    let shape = match i64_fact(inputs, 0, "shape")? {
        Operand::Absent => op_bail!("missing required input 0 (shape)"),
        Operand::Unknown => None,
        Operand::Known(dims) => Some(known_dims(&constant_shape(dims)?)),
    };
    Ok(vec![out_facts(Some(value.dtype()), shape)])
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use crate::ir::Op;
    use crate::ops::infer;
    use crate::ops::testing::*;
    use crate::tensor::{DType, Tensor};

    fn shape_op(start: i64, end: Option<i64>) -> Op {
        Op::Shape { start, end }
    }

    #[test]
    fn shape_ranges_like_onnx_tests() {
        let x = ramp(&[3, 4, 5]);
        let cases: [(i64, Option<i64>, &[i64]); 9] = [
            (0, None, &[3, 4, 5]),
            (1, None, &[4, 5]),
            (0, Some(1), &[3]),
            (0, Some(-1), &[3, 4]),
            (-1, None, &[5]),
            (1, Some(2), &[4]),
            (2, Some(1), &[]),
            (-10, None, &[3, 4, 5]),
            (0, Some(10), &[3, 4, 5]),
        ];
        for (start, end, want) in cases {
            assert_eq!(
                run(&shape_op(start, end), &[Some(&x)]).unwrap(),
                ints(want),
                "{start} {end:?}"
            );
        }
        let s = run(&shape_op(0, None), &[Some(&Tensor::scalar_f32(1.0))]).unwrap();
        assert_eq!(s, ints(&[]));
    }

    #[test]
    fn shape_infer_folds_known_shapes() {
        let x = runtime(DType::F32, vec![k(2), k(3)]);
        let f = infer(&shape_op(0, None), &[Some(&x)], 1).unwrap().remove(0);
        assert_eq!(f.value.as_deref(), Some(&ints(&[2, 3])));
        let n = runtime(DType::F32, vec![sym("N"), k(3), k(7)]);
        let f = infer(&shape_op(0, None), &[Some(&n)], 1).unwrap().remove(0);
        assert_eq!(
            (f.dtype, f.shape, f.value),
            (Some(DType::I64), Some(vec![k(3)]), None)
        );
        // Slicing the symbol away makes it constant again.
        let f = infer(&shape_op(1, None), &[Some(&n)], 1).unwrap().remove(0);
        assert_eq!(f.value.as_deref(), Some(&ints(&[3, 7])));
        let unknown = crate::ops::Facts::unknown();
        let f = infer(&shape_op(0, None), &[Some(&unknown)], 1)
            .unwrap()
            .remove(0);
        assert_eq!((f.dtype, f.shape), (Some(DType::I64), None));
    }

    #[test]
    fn cast_truncates_and_refuses_non_finite() {
        let to_int = Op::Cast { to: DType::I64 };
        let x = f32t(&[5], vec![1.5, -1.5, 2.9, -2.9, -0.0]);
        assert_eq!(run(&to_int, &[Some(&x)]).unwrap(), ints(&[1, -1, 2, -2, 0]));
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 1e19, -1e19] {
            assert!(
                run(&to_int, &[Some(&f32t(&[1], vec![bad]))]).is_err(),
                "{bad}"
            );
        }
        let edge = f32t(&[1], vec![-9.223372e18]);
        assert_eq!(run(&to_int, &[Some(&edge)]).unwrap(), ints(&[i64::MIN]));
        let back = run(&Op::Cast { to: DType::F32 }, &[Some(&ints(&[3, -4]))]).unwrap();
        assert_eq!(back, f32t(&[2], vec![3.0, -4.0]));
        assert_eq!(run(&Op::Cast { to: DType::F32 }, &[Some(&x)]).unwrap(), x);
        let f = infer(&to_int, &[Some(&runtime(DType::F32, vec![sym("N")]))], 1)
            .unwrap()
            .remove(0);
        assert_eq!((f.dtype, f.shape), (Some(DType::I64), Some(vec![sym("N")])));
    }

    #[test]
    fn identity_copies() {
        let x = ints(&[4, 5]);
        assert_eq!(run(&Op::Identity, &[Some(&x)]).unwrap(), x);
        assert!(run(&Op::Identity, &[None]).is_err());
    }

    #[test]
    fn constant_of_shape() {
        let ones = Op::ConstantOfShape {
            value: Tensor::vec_i64(vec![1]).reshaped(vec![1]).unwrap(),
        };
        assert_eq!(
            run(&ones, &[Some(&ints(&[2, 2]))]).unwrap(),
            Tensor::from_i64(vec![2, 2], vec![1; 4]).unwrap()
        );
        let zero = Op::ConstantOfShape {
            value: Tensor::scalar_f32(0.5),
        };
        assert_eq!(run(&zero, &[Some(&ints(&[0]))]).unwrap().shape(), &[0]);
        assert_eq!(
            run(&zero, &[Some(&ints(&[]))]).unwrap(),
            Tensor::scalar_f32(0.5)
        );
        assert!(run(&zero, &[Some(&ints(&[2, -1]))]).is_err(), "negative");
        assert!(
            run(&zero, &[Some(&ints(&[1 << 20, 1 << 20]))]).is_err(),
            "absurd"
        );
        assert!(
            run(&zero, &[Some(&ints(&[i64::MAX, i64::MAX]))]).is_err(),
            "overflow"
        );
        assert!(run(&zero, &[Some(&ramp(&[2]))]).is_err(), "float shape");
        let two = Op::ConstantOfShape { value: ramp(&[2]) };
        assert!(
            run(&two, &[Some(&ints(&[1]))]).is_err(),
            "value of two elements"
        );
        let f = infer(&zero, &[Some(&runtime(DType::I64, vec![k(3)]))], 1)
            .unwrap()
            .remove(0);
        assert_eq!((f.dtype, f.shape), (Some(DType::F32), None));
        assert!(infer(&zero, &[Some(&constant(&ints(&[-3])))], 1).is_err());
    }

    proptest! {
        #[test]
        fn shape_ops_infer_matches_eval(
            shape in prop::collection::vec(0usize..4, 0..5),
            start in -6i64..6,
            end in prop::option::of(-6i64..6),
            dims in prop::collection::vec(-1i64..4, 0..4),
        ) {
            let x = Some(ramp(&shape));
            assert_infer_matches_eval(&Op::Shape { start, end }, std::slice::from_ref(&x), 1, 1);
            assert_infer_matches_eval(&Op::Cast { to: DType::I64 }, std::slice::from_ref(&x), 1, 1);
            assert_infer_matches_eval(&Op::Cast { to: DType::F32 }, std::slice::from_ref(&x), 1, 1);
            let op = Op::ConstantOfShape { value: Tensor::scalar_i64(3) };
            assert_infer_matches_eval(&op, &[Some(ints(&dims))], 0, 1);
        }
    }
}
