//! Flatten and Reshape: the same elements under a new shape. The output shape is computed
//! once, over [`Dim`]s, and used by both `eval` (on known dims) and `infer` (where dims may be
//! symbolic), so the two cannot disagree.

use super::operands::{
    Operand, fact_dims, i64_fact, known_dims, out_facts, required_i64, reshaped, show, to_size,
};
use super::sym_product::SymProduct;
use super::{Facts, OpError, required, required_facts};
use crate::ir::Dim;
use crate::op_bail;
use crate::tensor::Tensor;

/// Flatten: `[prod(dims[..axis]), prod(dims[axis..])]`, axis in `[-rank, rank]`.
fn flatten_dims(dims: &[Dim], axis: i64) -> Result<Option<Vec<Dim>>, OpError> {
    let rank = dims.len();
    let a = if axis < 0 { axis + rank as i64 } else { axis };
    if !(0..=rank as i64).contains(&a) {
        op_bail!("axis {axis} is out of range for Flatten of rank {rank}");
    }
    let (outer, inner) = dims.split_at(a as usize);
    let outer = SymProduct::of(outer)?.as_dim();
    let inner = SymProduct::of(inner)?.as_dim();
    Ok(outer.zip(inner).map(|(o, i)| vec![o, i]))
}

/// Reshape's target resolved against the input dims: `0` copies (unless `allowzero`), one
/// `-1` takes what is left. `None` when a symbolic input makes the result inexpressible.
fn reshape_dims(
    dims: &[Dim],
    target: &[i64],
    allowzero: bool,
) -> Result<Option<Vec<Dim>>, OpError> {
    let mut out = Vec::with_capacity(target.len());
    let mut minus_one = None;
    for (i, &t) in target.iter().enumerate() {
        let d = match t {
            -1 if minus_one.is_some() => op_bail!("shape {target:?} has more than one -1"),
            -1 => {
                minus_one = Some(i);
                Dim::Known(1)
            }
            0 if !allowzero => match dims.get(i) {
                Some(d) => d.clone(),
                None => op_bail!(
                    "shape {target:?} copies dim {i} (0) but the input has rank {}",
                    dims.len()
                ),
            },
            t if t >= 0 => Dim::Known(to_size(t, "shape entry")?),
            _ => op_bail!("shape {target:?} has invalid entry {t}"),
        };
        out.push(d);
    }
    if allowzero && minus_one.is_some() && target.contains(&0) {
        op_bail!("shape {target:?} has both 0 and -1 while allowzero is set");
    }
    let input = SymProduct::of(dims)?;
    let Some(k) = minus_one else {
        check_same_count(dims, &out, &input)?;
        return Ok(Some(out));
    };
    let rest = SymProduct::of(&out)?;
    Ok(infer_minus_one(dims, target, &input, &rest)?.map(|d| {
        out[k] = d;
        out
    }))
}

/// The dim a `-1` stands for: the input's element count divided by the rest of the target.
fn infer_minus_one(
    dims: &[Dim],
    target: &[i64],
    input: &SymProduct,
    rest: &SymProduct,
) -> Result<Option<Dim>, OpError> {
    if rest.known == 0 {
        op_bail!("cannot infer the -1 of shape {target:?}: the other dimensions hold no elements");
    }
    if input.known == 0 {
        return Ok(Some(Dim::Known(0)));
    }
    let Some(left) = input.symbols_minus(rest) else {
        return Ok(None);
    };
    if !input.known.is_multiple_of(rest.known) {
        if left.is_empty() {
            op_bail!("cannot reshape {} into {target:?}", show(dims));
        }
        return Ok(None);
    }
    let q = SymProduct {
        known: input.known / rest.known,
        symbols: left,
    };
    Ok(q.as_dim())
}

/// Errors when the element counts provably differ (same symbols, different known factors).
fn check_same_count(dims: &[Dim], out: &[Dim], input: &SymProduct) -> Result<(), OpError> {
    let output = SymProduct::of(out)?;
    if input.symbols == output.symbols && input.known != output.known {
        op_bail!(
            "cannot reshape {} into {}: element counts differ",
            show(dims),
            show(out)
        );
    }
    Ok(())
}

pub(super) fn eval_flatten(axis: i64, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpError> {
    let x = required(inputs, 0, "input")?;
    reshaped(x, flatten_dims(&known_dims(x.shape()), axis)?)
}

pub(super) fn eval_reshape(
    allowzero: bool,
    inputs: &[Option<&Tensor>],
) -> Result<Vec<Tensor>, OpError> {
    let x = required(inputs, 0, "data")?;
    let target = required_i64(inputs, 1, "shape")?;
    reshaped(x, reshape_dims(&known_dims(x.shape()), target, allowzero)?)
}

pub(super) fn infer_flatten(axis: i64, inputs: &[Option<&Facts>]) -> Result<Vec<Facts>, OpError> {
    let x = required_facts(inputs, 0, "input")?;
    let shape = match fact_dims(x) {
        Some(dims) => flatten_dims(&dims, axis)?,
        None => None,
    };
    Ok(vec![out_facts(x.dtype, shape)])
}

pub(super) fn infer_reshape(
    allowzero: bool,
    inputs: &[Option<&Facts>],
) -> Result<Vec<Facts>, OpError> {
    let x = required_facts(inputs, 0, "data")?;
    let shape = match (i64_fact(inputs, 1, "shape")?, fact_dims(x)) {
        (Operand::Absent, _) => op_bail!("missing required input 1 (shape)"),
        (Operand::Unknown, _) => None,
        (Operand::Known(t), Some(dims)) => reshape_dims(&dims, t, allowzero)?,
        (Operand::Known(t), None) => explicit_target(t, allowzero),
    };
    Ok(vec![out_facts(x.dtype, shape)])
}

/// A target that needs nothing from the input (no `-1`, no copying `0`) is the output shape.
fn explicit_target(target: &[i64], allowzero: bool) -> Option<Vec<Dim>> {
    let explicit = |&t: &i64| t > 0 || (allowzero && t == 0);
    if !target.iter().all(explicit) {
        return None;
    }
    target
        .iter()
        .map(|&t| usize::try_from(t).ok().map(Dim::Known))
        .collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use crate::ir::Op;
    use crate::ops::testing::*;
    use crate::tensor::{DType, Tensor};

    fn shape_of(op: &Op, inputs: &[Option<&Tensor>]) -> Vec<usize> {
        run(op, inputs).unwrap().shape().to_vec()
    }

    #[test]
    fn flatten_axes() {
        let x = ramp(&[2, 3, 4]);
        let cases = [
            (0, vec![1, 24]),
            (1, vec![2, 12]),
            (3, vec![24, 1]),
            (-1, vec![6, 4]),
            (-3, vec![1, 24]),
        ];
        for (axis, want) in cases {
            let y = run(&Op::Flatten { axis }, &[Some(&x)]).unwrap();
            assert_eq!(y.shape(), want.as_slice(), "axis {axis}");
            assert_eq!(y.as_f32(), x.as_f32());
        }
        assert!(run(&Op::Flatten { axis: 4 }, &[Some(&x)]).is_err());
        assert!(run(&Op::Flatten { axis: -4 }, &[Some(&x)]).is_err());
    }

    #[test]
    fn reshape_targets() {
        let x = ramp(&[2, 3, 4]);
        let op = Op::Reshape { allowzero: false };
        let ok = [
            (vec![4, 0, -1], vec![4, 3, 2]),
            (vec![0, -1], vec![2, 12]),
            (vec![-1], vec![24]),
            (vec![2, 0, 4, 1], vec![2, 3, 4, 1]),
        ];
        for (target, want) in ok {
            assert_eq!(
                shape_of(&op, &[Some(&x), Some(&ints(&target))]),
                want,
                "{target:?}"
            );
        }
        for bad in [
            vec![-1, -1],
            vec![5, -1],
            vec![2, 3, 5],
            vec![-2, 12],
            vec![0, 0, 0, 0],
        ] {
            assert!(run(&op, &[Some(&x), Some(&ints(&bad))]).is_err(), "{bad:?}");
        }
        assert!(
            run(&op, &[Some(&x), Some(&ramp(&[2]))]).is_err(),
            "float shape"
        );
        assert!(run(&op, &[Some(&x)]).is_err(), "missing shape");
        // An empty target makes a scalar of a one-element tensor.
        let one = ramp(&[1, 1]);
        assert_eq!(
            shape_of(&op, &[Some(&one), Some(&ints(&[]))]),
            Vec::<usize>::new()
        );
    }

    #[test]
    fn reshape_allowzero() {
        let op = Op::Reshape { allowzero: true };
        let x = ramp(&[0, 3, 4]);
        assert_eq!(
            shape_of(&op, &[Some(&x), Some(&ints(&[3, 4, 0]))]),
            vec![3, 4, 0]
        );
        assert!(run(&op, &[Some(&x), Some(&ints(&[0, -1]))]).is_err());
        // Without allowzero, 0 copies, and a -1 next to a zero-sized dim is ambiguous.
        let copy = Op::Reshape { allowzero: false };
        assert_eq!(
            shape_of(&copy, &[Some(&x), Some(&ints(&[-1, 4]))]),
            vec![0, 4]
        );
        assert!(run(&copy, &[Some(&x), Some(&ints(&[0, -1]))]).is_err());
    }

    // Also covers Transpose's symbolic dims, on the same input.
    #[test]
    fn symbolic_dims_pass_through() {
        let n = || sym("N");
        let x = runtime(DType::F32, vec![n(), k(3), k(4), k(5)]);
        let flat = |axis| infer_dims(&Op::Flatten { axis }, &[Some(&x)]).unwrap();
        assert_eq!(flat(1), Some(vec![n(), k(60)]));
        assert_eq!(flat(0), None, "N*60 is not expressible");
        let reshape = |t: &[i64]| {
            infer_dims(
                &Op::Reshape { allowzero: false },
                &[Some(&x), Some(&constant(&ints(t)))],
            )
        };
        assert_eq!(reshape(&[0, -1]).unwrap(), Some(vec![n(), k(60)]));
        assert_eq!(reshape(&[60, -1]).unwrap(), Some(vec![k(60), n()]));
        assert_eq!(reshape(&[0, 3, 20]).unwrap(), Some(vec![n(), k(3), k(20)]));
        assert_eq!(reshape(&[-1, 5]).unwrap(), None);
        assert_eq!(
            reshape(&[-1, 7]).unwrap(),
            None,
            "N might make it divisible"
        );
        assert!(reshape(&[0, 61]).is_err(), "N*60 != N*61");
        let perm = Some(vec![0, 2, 3, 1]);
        assert_eq!(
            infer_dims(&Op::Transpose { perm }, &[Some(&x)]).unwrap(),
            Some(vec![n(), k(4), k(5), k(3)])
        );
    }

    // Also covers Squeeze and Unsqueeze with axes known only at run time.
    #[test]
    fn unknown_operands_give_unknown_shapes() {
        let x = runtime(DType::F32, vec![k(2), k(3)]);
        let shape = runtime(DType::I64, vec![k(2)]);
        let r = crate::ops::infer(
            &Op::Reshape { allowzero: false },
            &[Some(&x), Some(&shape)],
            1,
        )
        .unwrap();
        assert_eq!((r[0].dtype, &r[0].shape), (Some(DType::F32), &None));
        assert_eq!(
            infer_dims(&Op::Unsqueeze, &[Some(&x), Some(&shape)]).unwrap(),
            None
        );
        assert_eq!(
            infer_dims(&Op::Squeeze, &[Some(&x), Some(&shape)]).unwrap(),
            None
        );
        // An explicit target needs no input shape.
        let unknown = crate::ops::Facts {
            dtype: Some(DType::F32),
            ..Default::default()
        };
        let target = constant(&ints(&[6, 1]));
        let dims = infer_dims(
            &Op::Reshape { allowzero: false },
            &[Some(&unknown), Some(&target)],
        )
        .unwrap();
        assert_eq!(dims, Some(vec![k(6), k(1)]));
        let float_shape = runtime(DType::F32, vec![k(2)]);
        assert!(
            infer_dims(
                &Op::Reshape { allowzero: false },
                &[Some(&x), Some(&float_shape)]
            )
            .is_err()
        );
    }

    proptest! {
        #[test]
        fn reshape_round_trips(shape in small_shape()) {
            let x = ramp(&shape);
            let flat = run(&Op::Reshape { allowzero: false }, &[Some(&x), Some(&ints(&[-1]))]).unwrap();
            let back: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
            let y = run(&Op::Reshape { allowzero: true }, &[Some(&flat), Some(&ints(&back))]).unwrap();
            prop_assert_eq!(y, x);
        }

        // Every layout op (Flatten, Reshape, Transpose, Squeeze, Unsqueeze); here because it
        // draws Reshape targets from `reshape_target`.
        #[test]
        fn layout_infer_matches_eval(shape in small_shape(), seed in any::<u64>(), axis in -5i64..6) {
            let x = Some(ramp(&shape));
            let rank = shape.len();
            assert_infer_matches_eval(&Op::Flatten { axis }, std::slice::from_ref(&x), 1, 1);
            assert_infer_matches_eval(&Op::Transpose { perm: Some(shuffled(rank, seed)) }, std::slice::from_ref(&x), 1, 1);
            assert_infer_matches_eval(&Op::Transpose { perm: None }, std::slice::from_ref(&x), 1, 1);
            let target = reshape_target(&shape, seed);
            assert_infer_matches_eval(&Op::Reshape { allowzero: false }, &[x.clone(), Some(ints(&target))], 1, 1);
            assert_infer_matches_eval(&Op::Reshape { allowzero: true }, &[x.clone(), Some(ints(&target))], 1, 1);
            assert_infer_matches_eval(&Op::Squeeze, std::slice::from_ref(&x), 1, 1);
            assert_infer_matches_eval(&Op::Squeeze, &[x.clone(), Some(ints(&[axis]))], 1, 1);
            assert_infer_matches_eval(&Op::Unsqueeze, &[x.clone(), Some(ints(&[axis, axis / 2 - 1]))], 1, 1);
        }
    }

    /// The input dims, shuffled, with one maybe turned into -1 and some into 0 where they
    /// would copy the same input dim.
    fn reshape_target(shape: &[usize], seed: u64) -> Vec<i64> {
        let perm = shuffled(shape.len(), seed);
        let mut t: Vec<i64> = perm.iter().map(|&p| shape[p] as i64).collect();
        for (i, v) in t.iter_mut().enumerate() {
            if seed & (1 << (i + 8)) != 0 && shape[i] as i64 == *v {
                *v = 0;
            }
        }
        if !t.is_empty() && seed & 1 == 1 {
            let at = (seed >> 1) as usize % t.len();
            t[at] = -1;
        }
        t
    }
}
