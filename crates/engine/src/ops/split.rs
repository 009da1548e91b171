//! Split: cuts a tensor into parts along one axis, by explicit sizes or evenly. The part
//! shapes are computed once and shared by `eval` and `infer`; the element copying is done by
//! the reference kernel.

use litecnn_kernels::reference::concat::split;

use super::operands::{Operand, fact_dims, i64_fact, i64_input, out_facts, tensor, to_size};
use super::{Facts, OpError, normalize_axis, required, required_facts};
use crate::ir::Dim;
use crate::op_bail;
use crate::tensor::{Tensor, TensorData};

/// The part sizes along the split axis: the `split` operand, or `num_outputs` parts of
/// `ceil(dim / num_outputs)` with the remainder last. `None` when not knowable yet.
fn split_sizes(
    dim: &Dim,
    sizes: Operand,
    num_outputs: usize,
) -> Result<Option<Vec<usize>>, OpError> {
    if num_outputs == 0 {
        op_bail!("Split needs at least one output");
    }
    match (sizes, dim) {
        (Operand::Unknown, _) | (Operand::Absent, Dim::Symbol(_)) => Ok(None),
        (Operand::Absent, Dim::Known(d)) => Ok(Some(even_parts(*d, num_outputs))),
        (Operand::Known(split), _) => explicit_parts(dim, split, num_outputs).map(Some),
    }
}

/// `n` parts of `ceil(dim / n)`; the last parts take what is left (possibly nothing).
fn even_parts(dim: usize, n: usize) -> Vec<usize> {
    let chunk = dim.div_ceil(n);
    let mut left = dim;
    (0..n)
        .map(|_| {
            let part = chunk.min(left);
            left -= part;
            part
        })
        .collect()
}

fn explicit_parts(dim: &Dim, split: &[i64], num_outputs: usize) -> Result<Vec<usize>, OpError> {
    if split.len() != num_outputs {
        op_bail!(
            "split {split:?} has {} sizes for {num_outputs} outputs",
            split.len()
        );
    }
    let sizes: Vec<usize> = split
        .iter()
        .map(|&s| to_size(s, "split size"))
        .collect::<Result<_, _>>()?;
    let total = sizes
        .iter()
        .try_fold(0usize, |a, &s| a.checked_add(s))
        .ok_or_else(|| OpError::new("split sizes overflow"))?;
    if let Dim::Known(d) = dim
        && total != *d
    {
        op_bail!("split {split:?} sums to {total}, but the axis has size {d}");
    }
    Ok(sizes)
}

pub(super) fn eval_split(
    axis: i64,
    inputs: &[Option<&Tensor>],
    num_outputs: usize,
) -> Result<Vec<Tensor>, OpError> {
    let x = required(inputs, 0, "input")?;
    let a = normalize_axis(axis, x.rank())?;
    let operand = i64_input(inputs, 1, "split")?.map_or(Operand::Absent, Operand::Known);
    let sizes = concrete_sizes(split_sizes(
        &Dim::Known(x.shape()[a]),
        operand,
        num_outputs,
    )?)?;
    let pieces: Vec<TensorData> = match x.data() {
        TensorData::F32(v) => split(v, x.shape(), a, &sizes)
            .into_iter()
            .map(|v| TensorData::F32(v.into()))
            .collect(),
        TensorData::I64(v) => split(v, x.shape(), a, &sizes)
            .into_iter()
            .map(TensorData::I64)
            .collect(),
    };
    sizes
        .iter()
        .zip(pieces)
        .map(|(&size, data)| {
            let mut shape = x.shape().to_vec();
            shape[a] = size;
            tensor(shape, data)
        })
        .collect()
}

fn concrete_sizes(sizes: Option<Vec<usize>>) -> Result<Vec<usize>, OpError> {
    sizes.ok_or_else(|| OpError::new("internal: split sizes unknown for concrete inputs"))
}

pub(super) fn infer_split(
    axis: i64,
    inputs: &[Option<&Facts>],
    num_outputs: usize,
) -> Result<Vec<Facts>, OpError> {
    let x = required_facts(inputs, 0, "input")?;
    let operand = i64_fact(inputs, 1, "split")?;
    let unknown = vec![out_facts(x.dtype, None); num_outputs];
    let Some(dims) = fact_dims(x) else {
        return Ok(unknown);
    };
    let a = normalize_axis(axis, dims.len())?;
    let Some(sizes) = split_sizes(&dims[a], operand, num_outputs)? else {
        return Ok(unknown);
    };
    let part = |size: usize| {
        let mut d = dims.clone();
        d[a] = Dim::Known(size);
        out_facts(x.dtype, Some(d))
    };
    Ok(sizes.into_iter().map(part).collect())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use crate::ir::Op;
    use crate::ops::eval;
    use crate::ops::testing::*;
    use crate::tensor::Tensor;

    #[test]
    fn split_sizes() {
        let x = f32t(&[7], (1..=7).map(|i| i as f32).collect());
        let parts = eval(&Op::Split { axis: 0 }, &[Some(&x)], 4).unwrap();
        let got: Vec<Vec<f32>> = parts.iter().map(f32s).collect();
        assert_eq!(
            got,
            vec![vec![1.0, 2.0], vec![3.0, 4.0], vec![5.0, 6.0], vec![7.0]]
        );
        // ceil(5/4) = 2 leaves nothing for the last part.
        let five = ramp(&[5]);
        let parts = eval(&Op::Split { axis: 0 }, &[Some(&five)], 4).unwrap();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            vec![2, 2, 1, 0]
        );
        let m = ramp(&[2, 6]);
        let parts = eval(
            &Op::Split { axis: -1 },
            &[Some(&m), Some(&ints(&[2, 4]))],
            2,
        )
        .unwrap();
        assert_eq!(
            (parts[0].shape(), f32s(&parts[0])),
            (&[2usize, 2][..], vec![0.0, 1.0, 6.0, 7.0])
        );
        assert_eq!(parts[1].shape(), &[2, 4]);
        let zero = eval(
            &Op::Split { axis: 0 },
            &[Some(&ramp(&[0])), Some(&ints(&[0, 0, 0]))],
            3,
        )
        .unwrap();
        assert!(zero.iter().all(|p| p.shape() == [0]));
        for bad in [vec![2, 3], vec![1, 4], vec![7, -1], vec![6]] {
            assert!(
                eval(&Op::Split { axis: 1 }, &[Some(&m), Some(&ints(&bad))], 2).is_err(),
                "{bad:?}"
            );
        }
        assert!(eval(&Op::Split { axis: 0 }, &[Some(&m)], 0).is_err());
    }

    proptest! {
        #[test]
        fn split_then_concat_is_identity((shape, axis) in shape_and_axis(), parts in 1usize..4) {
            let x = ramp(&shape);
            let pieces = eval(&Op::Split { axis: axis as i64 }, &[Some(&x)], parts).unwrap();
            let refs: Vec<Option<&Tensor>> = pieces.iter().map(Some).collect();
            prop_assert_eq!(run(&Op::Concat { axis: axis as i64 }, &refs).unwrap(), x);
        }
    }
}
