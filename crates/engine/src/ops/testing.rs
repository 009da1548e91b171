//! Fixtures for the op tests in this directory: tensors and facts in one line, running an op
//! both ways (`eval` and `infer`), and the property-test strategies several op files share.

use std::sync::Arc;

use proptest::prelude::*;

use super::operands::known_dims;
use crate::ir::{Dim, Op};
use crate::ops::{Facts, OpError, eval, infer};
use crate::tensor::{DType, Tensor};

pub(crate) fn f32t(shape: &[usize], data: Vec<f32>) -> Tensor {
    Tensor::from_f32(shape.to_vec(), data).unwrap()
}

/// `0, 1, 2, …` as float32 in `shape`.
pub(crate) fn ramp(shape: &[usize]) -> Tensor {
    let n = shape.iter().product::<usize>();
    f32t(shape, (0..n).map(|i| i as f32).collect())
}

pub(crate) fn ints(v: &[i64]) -> Tensor {
    Tensor::vec_i64(v.to_vec())
}

pub(crate) fn sym(name: &str) -> Dim {
    Dim::Symbol(Arc::from(name))
}

pub(crate) fn k(n: usize) -> Dim {
    Dim::Known(n)
}

/// Facts of a load-time constant.
pub(crate) fn constant(t: &Tensor) -> Facts {
    Facts {
        dtype: Some(t.dtype()),
        shape: Some(known_dims(t.shape())),
        value: Some(Arc::new(t.clone())),
    }
}

/// Facts of a run-time value of known type and (possibly symbolic) shape.
pub(crate) fn runtime(dtype: DType, dims: Vec<Dim>) -> Facts {
    Facts::new(dtype, dims)
}

pub(crate) fn run(op: &Op, inputs: &[Option<&Tensor>]) -> Result<Tensor, OpError> {
    Ok(eval(op, inputs, 1)?.remove(0))
}

/// The single output's inferred shape.
pub(crate) fn infer_dims(op: &Op, inputs: &[Option<&Facts>]) -> Result<Option<Vec<Dim>>, OpError> {
    Ok(infer(op, inputs, 1)?.remove(0).shape)
}

/// Runs `op` and infers it with the first `data_inputs` inputs known only by type and shape
/// (the rest as constants). When eval succeeds, infer must succeed with exactly the shapes
/// and types eval produced; infer may only reject inputs that eval rejects too.
pub(crate) fn assert_infer_matches_eval(
    op: &Op,
    inputs: &[Option<Tensor>],
    data_inputs: usize,
    n: usize,
) {
    let refs: Vec<Option<&Tensor>> = inputs.iter().map(Option::as_ref).collect();
    let facts: Vec<Option<Facts>> = inputs
        .iter()
        .enumerate()
        .map(|(i, t)| {
            t.as_ref().map(|t| {
                if i < data_inputs {
                    runtime(t.dtype(), known_dims(t.shape()))
                } else {
                    constant(t)
                }
            })
        })
        .collect();
    let fact_refs: Vec<Option<&Facts>> = facts.iter().map(Option::as_ref).collect();
    match (eval(op, &refs, n), infer(op, &fact_refs, n)) {
        (Ok(outs), Ok(inferred)) => {
            assert_eq!(outs.len(), inferred.len(), "{op:?}: output count");
            for (t, f) in outs.iter().zip(&inferred) {
                assert_eq!(f.shape, Some(known_dims(t.shape())), "{op:?}: shape");
                assert_eq!(f.dtype, Some(t.dtype()), "{op:?}: dtype");
                if let Some(v) = &f.value {
                    assert_eq!(**v, *t, "{op:?}: value");
                }
            }
        }
        (Ok(_), Err(e)) => panic!("{op:?}: infer rejected inputs eval accepts: {e}"),
        (Err(_), _) => {}
    }
}

/// The float32 elements, owned (for comparing with `vec![...]`).
pub(crate) fn f32s(t: &Tensor) -> Vec<f32> {
    t.as_f32().unwrap().to_vec()
}

/// Runs Slice with `starts`, `ends` and the optional `axes` and `steps`.
pub(crate) fn slice(
    x: &Tensor,
    starts: &[i64],
    ends: &[i64],
    axes: Option<&[i64]>,
    steps: Option<&[i64]>,
) -> Result<Tensor, OpError> {
    let (s, e) = (ints(starts), ints(ends));
    let (a, st) = (axes.map(ints), steps.map(ints));
    run(
        &Op::Slice,
        &[Some(x), Some(&s), Some(&e), a.as_ref(), st.as_ref()],
    )
}

/// Shapes of rank 0 to 4 with dims 0 to 3 (zero-sized included).
pub(crate) fn small_shape() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0usize..4, 0..5)
}

/// A shape of rank 1 to 4 with dims 0 to 4, and an axis of it.
pub(crate) fn shape_and_axis() -> impl Strategy<Value = (Vec<usize>, usize)> {
    prop::collection::vec(0usize..5, 1..5).prop_flat_map(|s| {
        let rank = s.len();
        (Just(s), 0..rank)
    })
}

/// A permutation of `0..n` drawn from `seed`.
pub(crate) fn shuffled(n: usize, seed: u64) -> Vec<usize> {
    let mut perm: Vec<usize> = (0..n).collect();
    let mut s = seed;
    for i in (1..n).rev() {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        perm.swap(i, (s >> 33) as usize % (i + 1));
    }
    perm
}
