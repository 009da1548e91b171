//! Transpose: permutes the axes, by `perm` or by reversing them.

use litecnn_kernels::fast::gather::gather_offsets;
use litecnn_kernels::reference::transpose::{transpose, transpose_offsets};

use super::operands::{fact_dims, map_data, out_facts, tensor};
use super::{Facts, Kernels, OpError, required, required_facts};
use crate::op_bail;
use crate::tensor::Tensor;

/// The permutation Transpose applies: `perm`, or the axes reversed.
fn resolve_perm(perm: Option<&[usize]>, rank: usize) -> Result<Vec<usize>, OpError> {
    let Some(perm) = perm else {
        return Ok((0..rank).rev().collect());
    };
    let mut seen = vec![false; rank];
    for &p in perm {
        match seen.get_mut(p) {
            Some(s) if !*s => *s = true,
            _ => op_bail!("perm {perm:?} is not a permutation of the {rank} axes"),
        }
    }
    if perm.len() != rank {
        op_bail!("perm {perm:?} is not a permutation of the {rank} axes");
    }
    Ok(perm.to_vec())
}

pub(super) fn eval_transpose(
    kernels: Kernels,
    perm: Option<&[usize]>,
    inputs: &[Option<&Tensor>],
) -> Result<Vec<Tensor>, OpError> {
    let x = required(inputs, 0, "data")?;
    let perm = resolve_perm(perm, x.rank())?;
    let shape: Vec<usize> = perm.iter().map(|&p| x.shape()[p]).collect();
    let data = match kernels {
        Kernels::Fast => {
            let offsets = transpose_offsets(x.shape(), &perm);
            map_data!(x.data(), |v| gather_offsets(v, &offsets))
        }
        Kernels::Reference => map_data!(x.data(), |v| transpose(v, x.shape(), &perm)),
    };
    Ok(vec![tensor(shape, data)?])
}

pub(super) fn infer_transpose(
    perm: Option<&[usize]>,
    inputs: &[Option<&Facts>],
) -> Result<Vec<Facts>, OpError> {
    let x = required_facts(inputs, 0, "data")?;
    let shape = match fact_dims(x) {
        Some(dims) => {
            let perm = resolve_perm(perm, dims.len())?;
            Some(perm.iter().map(|&p| dims[p].clone()).collect())
        }
        None => None,
    };
    Ok(vec![out_facts(x.dtype, shape)])
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use crate::ir::Op;
    use crate::ops::testing::*;

    #[test]
    fn transpose_perms() {
        let x = ramp(&[2, 3]);
        let y = run(&Op::Transpose { perm: None }, &[Some(&x)]).unwrap();
        assert_eq!(y.shape(), &[3, 2]);
        assert_eq!(y.as_f32().unwrap(), &[0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
        let z = ints(&[1, 2, 3]).reshaped(vec![1, 3, 1]).unwrap();
        let t = run(
            &Op::Transpose {
                perm: Some(vec![2, 0, 1]),
            },
            &[Some(&z)],
        )
        .unwrap();
        assert_eq!(
            (t.shape(), t.as_i64().unwrap()),
            (&[1usize, 1, 3][..], &[1i64, 2, 3][..])
        );
        for bad in [vec![0], vec![0, 0], vec![1, 2], vec![0, 1, 2]] {
            assert!(
                run(
                    &Op::Transpose {
                        perm: Some(bad.clone())
                    },
                    &[Some(&x)]
                )
                .is_err(),
                "{bad:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn transpose_inverse_is_identity(shape in small_shape(), seed in any::<u64>()) {
            let x = ramp(&shape);
            let perm = shuffled(shape.len(), seed);
            let mut inverse = vec![0; perm.len()];
            for (i, &p) in perm.iter().enumerate() {
                inverse[p] = i;
            }
            let y = run(&Op::Transpose { perm: Some(perm) }, &[Some(&x)]).unwrap();
            let z = run(&Op::Transpose { perm: Some(inverse) }, &[Some(&y)]).unwrap();
            prop_assert_eq!(z, x);
        }
    }
}
