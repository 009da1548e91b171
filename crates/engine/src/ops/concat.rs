//! Concat: joins tensors along one axis. The output shape is computed once over [`Dim`]s and
//! shared by `eval` and `infer`; the element copying is done by the reference kernel.

use litecnn_kernels::reference::concat::concat;

use super::operands::{concrete, fact_dims, known_dims, out_facts, show, tensor};
use super::{Facts, OpError, normalize_axis, required, required_facts};
use crate::ir::Dim;
use crate::op_bail;
use crate::tensor::{DType, Tensor, TensorData};

/// Concat's output: the inputs agree on every axis but `axis`, whose sizes add up.
fn concat_dims(shapes: &[Vec<Dim>], axis: i64) -> Result<Option<Vec<Dim>>, OpError> {
    let Some(first) = shapes.first() else {
        op_bail!("Concat needs at least one input");
    };
    let a = normalize_axis(axis, first.len())?;
    let mut out = first.clone();
    for (i, s) in shapes.iter().enumerate().skip(1) {
        if s.len() != first.len() {
            op_bail!(
                "input {i} has shape {} but input 0 has rank {}",
                show(s),
                first.len()
            );
        }
        for (k, (o, d)) in out.iter_mut().zip(s).enumerate() {
            if k != a {
                *o = same_dim(o, d).ok_or_else(|| {
                    OpError::new(format!(
                        "input {i} has shape {} but input 0 has {}",
                        show(s),
                        show(first)
                    ))
                })?;
            }
        }
    }
    let along: Vec<&Dim> = shapes.iter().map(|s| &s[a]).collect();
    Ok(sum_dims(&along)?.map(|d| {
        out[a] = d;
        out
    }))
}

/// Two dims that must be equal: a known size wins over a symbol (which must equal it).
fn same_dim(a: &Dim, b: &Dim) -> Option<Dim> {
    match (a, b) {
        (Dim::Known(x), Dim::Known(y)) => (x == y).then_some(Dim::Known(*x)),
        (Dim::Known(_), Dim::Symbol(_)) => Some(a.clone()),
        (Dim::Symbol(_), _) => Some(b.clone()),
    }
}

/// The sum of dims, when expressible: all known, or one symbol plus zeros.
fn sum_dims(dims: &[&Dim]) -> Result<Option<Dim>, OpError> {
    let mut known = 0usize;
    let mut symbols = Vec::new();
    for d in dims {
        match d {
            Dim::Known(n) => {
                known = known
                    .checked_add(*n)
                    .ok_or_else(|| OpError::new("concatenated size overflows"))?
            }
            Dim::Symbol(_) => symbols.push(*d),
        }
    }
    Ok(match symbols.as_slice() {
        [] => Some(Dim::Known(known)),
        [s] if known == 0 => Some((*s).clone()),
        _ => None,
    })
}

pub(super) fn eval_concat(axis: i64, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpError> {
    let ts: Vec<&Tensor> = (0..inputs.len())
        .map(|i| required(inputs, i, "input"))
        .collect::<Result<_, _>>()?;
    let shapes: Vec<Vec<Dim>> = ts.iter().map(|t| known_dims(t.shape())).collect();
    let shape = concrete(concat_dims(&shapes, axis)?)?;
    let a = normalize_axis(axis, shape.len())?;
    let data = match ts[0].dtype() {
        DType::F32 => TensorData::F32(concat(&typed_parts(&ts, Tensor::as_f32)?, a).into()),
        DType::I64 => TensorData::I64(concat(&typed_parts(&ts, Tensor::as_i64)?, a)),
    };
    Ok(vec![tensor(shape, data)?])
}

/// One concatenated input: its elements and its shape.
type Part<'a, T> = (&'a [T], &'a [usize]);

/// Every input's elements as `&[T]` with its shape; an input of another type is an error.
fn typed_parts<'a, T>(
    ts: &[&'a Tensor],
    get: fn(&'a Tensor) -> Option<&'a [T]>,
) -> Result<Vec<Part<'a, T>>, OpError> {
    ts.iter()
        .enumerate()
        .map(|(i, t)| match get(t) {
            Some(d) => Ok((d, t.shape())),
            None => Err(OpError::new(format!(
                "input {i} is {} but input 0 is {}",
                t.dtype(),
                ts[0].dtype()
            ))),
        })
        .collect()
}

pub(super) fn infer_concat(axis: i64, inputs: &[Option<&Facts>]) -> Result<Vec<Facts>, OpError> {
    let fs: Vec<&Facts> = (0..inputs.len())
        .map(|i| required_facts(inputs, i, "input"))
        .collect::<Result<_, _>>()?;
    let mut dtype = None;
    for (i, f) in fs.iter().enumerate() {
        match (dtype, f.dtype) {
            (Some(d), Some(e)) if d != e => {
                op_bail!("input {i} is {e} but an earlier input is {d}")
            }
            (None, e) => dtype = e,
            _ => {}
        }
    }
    let shapes: Option<Vec<Vec<Dim>>> = fs.iter().map(|f| fact_dims(f)).collect();
    let shape = match shapes {
        Some(shapes) => concat_dims(&shapes, axis)?,
        None => None,
    };
    Ok(vec![out_facts(dtype, shape)])
}

#[cfg(test)]
mod tests {
    use crate::ir::Op;
    use crate::ops::infer;
    use crate::ops::testing::*;
    use crate::tensor::{DType, Tensor};

    #[test]
    fn concat_axes_and_types() {
        let a = ramp(&[2, 2]);
        let b = f32t(&[2, 1], vec![10.0, 11.0]);
        let y = run(&Op::Concat { axis: -1 }, &[Some(&a), Some(&b)]).unwrap();
        assert_eq!(
            (y.shape(), f32s(&y)),
            (&[2usize, 3][..], vec![0.0, 1.0, 10.0, 2.0, 3.0, 11.0])
        );
        let s = run(
            &Op::Concat { axis: 0 },
            &[Some(&ints(&[1, 2])), Some(&ints(&[])), Some(&ints(&[3]))],
        )
        .unwrap();
        assert_eq!(s, ints(&[1, 2, 3]));
        let empty = ramp(&[0, 2]);
        assert_eq!(
            run(&Op::Concat { axis: 0 }, &[Some(&empty), Some(&a)]).unwrap(),
            a
        );
        assert!(
            run(&Op::Concat { axis: 0 }, &[Some(&a), Some(&b)]).is_err(),
            "widths differ"
        );
        assert!(
            run(&Op::Concat { axis: 0 }, &[Some(&a), Some(&ramp(&[2]))]).is_err(),
            "ranks differ"
        );
        assert!(
            run(
                &Op::Concat { axis: 0 },
                &[Some(&ints(&[1])), Some(&ramp(&[1]))]
            )
            .is_err(),
            "types differ"
        );
        assert!(
            run(&Op::Concat { axis: 2 }, &[Some(&a)]).is_err(),
            "axis out of range"
        );
        assert!(run(&Op::Concat { axis: 0 }, &[]).is_err(), "no inputs");
        assert!(
            run(&Op::Concat { axis: 0 }, &[Some(&Tensor::scalar_f32(1.0))]).is_err(),
            "scalar"
        );
    }

    // Also covers Split over a symbolic dim, on the same inputs.
    #[test]
    fn symbolic_concat_and_split() {
        let n = || sym("N");
        let a = runtime(DType::F32, vec![n(), k(3)]);
        let b = runtime(DType::F32, vec![n(), k(5)]);
        let cat = |axis| infer_dims(&Op::Concat { axis }, &[Some(&a), Some(&b)]);
        assert_eq!(cat(1).unwrap(), Some(vec![n(), k(8)]));
        assert!(cat(0).is_err(), "3 != 5");
        let c = runtime(DType::F32, vec![k(2), k(3)]);
        assert_eq!(
            infer_dims(&Op::Concat { axis: 0 }, &[Some(&a), Some(&c)]).unwrap(),
            None
        );
        let parts = infer(&Op::Split { axis: 1 }, &[Some(&b)], 2).unwrap();
        assert_eq!(parts[1].shape, Some(vec![n(), k(2)]));
        let parts = infer(
            &Op::Split { axis: 0 },
            &[Some(&b), Some(&constant(&ints(&[1, 2])))],
            2,
        )
        .unwrap();
        assert_eq!(
            parts[1].shape,
            Some(vec![k(2), k(5)]),
            "explicit sizes fix a symbolic axis"
        );
    }
}
