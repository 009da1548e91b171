//! Gemm and MatMul on the fast or the reference kernels, and their shape inference. The fast
//! path covers what classifiers use (2-D Gemm with alpha 1, MatMul by a 2-D right operand);
//! anything else runs on the reference kernels.

use litecnn_kernels::fast::matmul::{MatRef, matmul as fast_matmul};
use litecnn_kernels::reference::broadcast::broadcast_to;
use litecnn_kernels::reference::gemm::{GemmParams, gemm, matmul};

use super::elementwise::{
    broadcast_dims, expect_f32_facts, f32_input, f32_tensor, may_broadcast_to, optional,
};
use super::operands::show;
use super::{Facts, Kernels, OpError, required_facts};
use crate::ir::Dim;
use crate::op_bail;
use crate::tensor::{DType, Tensor};

/// `(rows, cols)` of a Gemm operand after its optional transpose.
fn oriented<T: Clone>(shape: &[T], transposed: bool) -> (T, T) {
    let (r, c) = (shape[0].clone(), shape[1].clone());
    if transposed { (c, r) } else { (r, c) }
}

pub(super) fn eval_gemm(
    kernels: Kernels,
    alpha: f32,
    beta: f32,
    trans_a: bool,
    trans_b: bool,
    inputs: &[Option<&Tensor>],
) -> Result<Vec<Tensor>, OpError> {
    let (a, av) = f32_input(inputs, 0, "A")?;
    let (b, bv) = f32_input(inputs, 1, "B")?;
    if a.rank() != 2 || b.rank() != 2 {
        op_bail!(
            "Gemm operands must be 2-D, got shapes {:?} and {:?}",
            a.shape(),
            b.shape()
        );
    }
    let ((m, k), (k2, n)) = (oriented(a.shape(), trans_a), oriented(b.shape(), trans_b));
    if k != k2 {
        op_bail!("Gemm inner dimensions differ: op(A) is [{m}, {k}], op(B) is [{k2}, {n}]");
    }
    let c = match optional(inputs, 2) {
        None => None,
        Some(c) => match c.as_f32() {
            Some(cv) => Some((cv, c.shape())),
            None => op_bail!("Gemm C must be float32, got {}", c.dtype()),
        },
    };
    let p = GemmParams {
        m,
        n,
        k,
        trans_a,
        trans_b,
        alpha,
        beta,
    };
    let y = if kernels == Kernels::Fast && alpha == 1.0 {
        fast_gemm(&p, av, bv, c)?
    } else {
        gemm(&p, av, bv, c)?
    };
    Ok(vec![f32_tensor(vec![m, n], y)?])
}

/// Gemm with `alpha == 1`: `beta * C` broadcast into the output, then `op(A) · op(B)` added.
fn fast_gemm(
    p: &GemmParams,
    a: &[f32],
    b: &[f32],
    c: Option<(&[f32], &[usize])>,
) -> Result<Vec<f32>, OpError> {
    let (m, n, k) = (p.m, p.n, p.k);
    let addend = c.filter(|_| p.beta != 0.0);
    let mut y = match addend {
        Some((cv, cs)) => {
            let mut y = broadcast_to(cv, cs, &[m, n]).map_err(|_| {
                OpError::new(format!(
                    "Gemm C of shape {cs:?} does not broadcast to [{m}, {n}]"
                ))
            })?;
            y.iter_mut().for_each(|v| *v *= p.beta);
            y
        }
        None => vec![0.0; m * n],
    };
    let a = match p.trans_a {
        false => MatRef::row_major(a, m, k),
        true => MatRef::row_major(a, k, m).t(),
    };
    let b = match p.trans_b {
        false => MatRef::row_major(b, k, n),
        true => MatRef::row_major(b, n, k).t(),
    };
    fast_matmul(&mut y, a, b, addend.is_some())?;
    Ok(y)
}

pub(super) fn eval_matmul(
    kernels: Kernels,
    inputs: &[Option<&Tensor>],
) -> Result<Vec<Tensor>, OpError> {
    let (a, av) = f32_input(inputs, 0, "A")?;
    let (b, bv) = f32_input(inputs, 1, "B")?;
    let (ashape, bshape) = (a.shape(), b.shape());
    // [..., m, k] · [k, n]: the leading axes of A fold into its rows.
    if kernels == Kernels::Fast && ashape.len() >= 2 && bshape.len() == 2 {
        let k = ashape[ashape.len() - 1];
        let n = bshape[1];
        if k == bshape[0] {
            let m = ashape[..ashape.len() - 1].iter().product();
            let mut y = vec![0.0; m * n];
            fast_matmul(
                &mut y,
                MatRef::row_major(av, m, k),
                MatRef::row_major(bv, k, n),
                false,
            )?;
            let mut shape = ashape.to_vec();
            *shape.last_mut().unwrap_or(&mut 0) = n;
            return Ok(vec![f32_tensor(shape, y)?]);
        }
    }
    let (shape, y) = matmul(av, ashape, bv, bshape)?;
    Ok(vec![f32_tensor(shape, y)?])
}

pub(super) fn infer_gemm(
    trans_a: bool,
    trans_b: bool,
    inputs: &[Option<&Facts>],
) -> Result<Vec<Facts>, OpError> {
    let (a, b) = (
        required_facts(inputs, 0, "A")?,
        required_facts(inputs, 1, "B")?,
    );
    expect_f32_facts(a, "A")?;
    expect_f32_facts(b, "B")?;
    let (Some(as_), Some(bs)) = (&a.shape, &b.shape) else {
        return Ok(vec![Facts {
            dtype: Some(DType::F32),
            shape: None,
            value: None,
        }]);
    };
    if as_.len() != 2 || bs.len() != 2 {
        op_bail!(
            "Gemm operands must be 2-D, got shapes {} and {}",
            show(as_),
            show(bs)
        );
    }
    let ((m, k), (k2, n)) = (oriented(as_, trans_a), oriented(bs, trans_b));
    if let (Dim::Known(x), Dim::Known(y)) = (&k, &k2)
        && x != y
    {
        op_bail!("Gemm inner dimensions differ: {x} vs {y}");
    }
    let out = vec![m, n];
    if let Some(cs) = optional_facts_shape(inputs, 2)
        && !may_broadcast_to(cs, &out)
    {
        op_bail!(
            "Gemm C of shape {} does not broadcast to {}",
            show(cs),
            show(&out)
        );
    }
    Ok(vec![Facts {
        dtype: Some(DType::F32),
        shape: Some(out),
        value: None,
    }])
}

fn optional_facts_shape<'a>(inputs: &[Option<&'a Facts>], index: usize) -> Option<&'a [Dim]> {
    inputs
        .get(index)
        .copied()
        .flatten()
        .and_then(|f| f.shape.as_deref())
}

pub(super) fn infer_matmul(inputs: &[Option<&Facts>]) -> Result<Vec<Facts>, OpError> {
    let (a, b) = (
        required_facts(inputs, 0, "A")?,
        required_facts(inputs, 1, "B")?,
    );
    expect_f32_facts(a, "A")?;
    expect_f32_facts(b, "B")?;
    let shape = match (&a.shape, &b.shape) {
        (Some(x), Some(y)) => matmul_dims(x, y)?,
        _ => None,
    };
    Ok(vec![Facts {
        dtype: Some(DType::F32),
        shape,
        value: None,
    }])
}

/// Numpy matmul shape rule over dims (see `reference::gemm::matmul`).
fn matmul_dims(a: &[Dim], b: &[Dim]) -> Result<Option<Vec<Dim>>, OpError> {
    if a.is_empty() || b.is_empty() {
        op_bail!(
            "MatMul operands must have rank at least 1, got {} and {}",
            show(a),
            show(b)
        );
    }
    let one = Dim::Known(1);
    let a_mat = if a.len() == 1 {
        vec![one.clone(), a[0].clone()]
    } else {
        a.to_vec()
    };
    let b_mat = if b.len() == 1 {
        vec![b[0].clone(), one]
    } else {
        b.to_vec()
    };
    let (ra, rb) = (a_mat.len(), b_mat.len());
    if let (Some(k), Some(k2)) = (a_mat[ra - 1].known(), b_mat[rb - 2].known())
        && k != k2
    {
        op_bail!("MatMul inner dimensions differ: {} × {}", show(a), show(b));
    }
    let Some(mut out) = broadcast_dims(&a_mat[..ra - 2], &b_mat[..rb - 2])? else {
        return Ok(None);
    };
    if a.len() > 1 {
        out.push(a_mat[ra - 2].clone());
    }
    if b.len() > 1 {
        out.push(b_mat[rb - 1].clone());
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn known(dims: &[usize]) -> Vec<Dim> {
        dims.iter().map(|&d| Dim::Known(d)).collect()
    }

    #[test]
    fn gemm_eval_with_transposed_b_and_bias() {
        // A [1, 2] = [1, 2]; B stored as [N=3, K=2]; C [3].
        let a = Tensor::from_f32(vec![1, 2], vec![1.0, 2.0]).unwrap();
        let b = Tensor::from_f32(vec![3, 2], vec![1.0, 0.0, 0.0, 1.0, 1.0, 1.0]).unwrap();
        let c = Tensor::from_f32(vec![3], vec![10.0, 20.0, 30.0]).unwrap();
        for kernels in [Kernels::Reference, Kernels::Fast] {
            let y = eval_gemm(
                kernels,
                1.0,
                1.0,
                false,
                true,
                &[Some(&a), Some(&b), Some(&c)],
            )
            .unwrap();
            assert_eq!(y[0].shape(), &[1, 3]);
            assert_eq!(y[0].as_f32().unwrap(), &[11.0, 22.0, 33.0]);
            assert!(eval_gemm(kernels, 1.0, 1.0, false, false, &[Some(&a), Some(&b)]).is_err());
        }
    }

    #[test]
    fn gemm_infer_keeps_batch_symbol() {
        let n = Dim::Symbol(Arc::from("N"));
        let a = Facts::new(DType::F32, vec![n.clone(), Dim::Known(512)]);
        let b = Facts::new(DType::F32, known(&[1000, 512]));
        let c = Facts::new(DType::F32, known(&[1000]));
        let out = infer_gemm(false, true, &[Some(&a), Some(&b), Some(&c)]).unwrap();
        assert_eq!(out[0].shape, Some(vec![n, Dim::Known(1000)]));
        assert!(infer_gemm(false, false, &[Some(&a), Some(&b)]).is_err());
        let bad_c = Facts::new(DType::F32, known(&[999]));
        let a2 = Facts::new(DType::F32, known(&[2, 512]));
        assert!(infer_gemm(false, true, &[Some(&a2), Some(&b), Some(&bad_c)]).is_err());
    }

    #[test]
    fn matmul_infer_and_eval_agree() {
        let a = Tensor::from_f32(vec![2, 1, 2, 3], vec![1.0; 12]).unwrap();
        let b = Tensor::from_f32(vec![3], vec![1.0, 2.0, 3.0]).unwrap();
        let y = eval_matmul(Kernels::Fast, &[Some(&a), Some(&b)]).unwrap();
        assert_eq!(y[0].shape(), &[2, 1, 2]);
        assert_eq!(y[0].as_f32().unwrap(), &[6.0; 4]);
        // [2, 1, 2, 3] · [3, 2] takes the fast path; the reference path must agree.
        let b2 = Tensor::from_f32(vec![3, 2], vec![1.0, -1.0, 2.0, 0.5, 3.0, 0.0]).unwrap();
        let fast = eval_matmul(Kernels::Fast, &[Some(&a), Some(&b2)]).unwrap();
        let reference = eval_matmul(Kernels::Reference, &[Some(&a), Some(&b2)]).unwrap();
        assert_eq!(fast[0].shape(), &[2, 1, 2, 2]);
        assert_eq!(fast, reference);
        let fa = Facts::new(DType::F32, known(&[2, 1, 2, 3]));
        let fb = Facts::new(DType::F32, known(&[3]));
        assert_eq!(
            infer_matmul(&[Some(&fa), Some(&fb)]).unwrap()[0].shape,
            Some(known(&[2, 1, 2]))
        );
        let fc = Facts::new(DType::F32, known(&[5, 3, 4]));
        assert_eq!(
            infer_matmul(&[Some(&fa), Some(&fc)]).unwrap()[0].shape,
            Some(known(&[2, 5, 2, 4]))
        );
        let bad = Facts::new(DType::F32, known(&[4, 4]));
        assert!(infer_matmul(&[Some(&fa), Some(&bad)]).is_err());
    }
}
