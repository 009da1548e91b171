//! Ops that change how a tensor's elements are laid out, not what they are: Flatten, Reshape,
//! Transpose, Squeeze, Unsqueeze.
//!
//! Each op's output shape is computed once, over [`Dim`]s, and used by both `eval` (on known
//! dims) and `infer` (where dims may be symbolic), so the two cannot disagree. This file also
//! holds the helpers the other data-movement files share (dtype dispatch, operand reading,
//! dim products).

use std::sync::Arc;

use litecnn_kernels::reference::transpose::transpose;

use super::{Facts, OpError, normalize_axis, required};
use crate::ir::Dim;
use crate::op_bail;
use crate::tensor::{DType, Tensor, TensorData};

/// Applies a kernel that is generic over the element type to either kind of [`TensorData`]:
/// `map_data!(data, |v| kernel(v, ...))` runs the body with `v` as `&Vec<f32>` or `&Vec<i64>`
/// and wraps the resulting `Vec` back into the same variant.
macro_rules! map_data {
    ($data:expr, |$v:ident| $body:expr) => {
        match $data {
            $crate::tensor::TensorData::F32($v) => $crate::tensor::TensorData::F32($body),
            $crate::tensor::TensorData::I64($v) => $crate::tensor::TensorData::I64($body),
        }
    };
}
pub(crate) use map_data;

/// Builds a tensor whose element count the caller has already checked.
pub(crate) fn tensor(shape: Vec<usize>, data: TensorData) -> Result<Tensor, OpError> {
    Tensor::new(shape, data).map_err(|e| OpError::new(format!("internal: {e}")))
}

pub(crate) fn known_dims(shape: &[usize]) -> Vec<Dim> {
    shape.iter().map(|&d| Dim::Known(d)).collect()
}

/// The concrete shape computed from concrete inputs (always known when the inputs are).
pub(crate) fn concrete(dims: Option<Vec<Dim>>) -> Result<Vec<usize>, OpError> {
    dims.and_then(|d| d.iter().map(Dim::known).collect())
        .ok_or_else(|| OpError::new("internal: output shape unknown for concrete inputs"))
}

/// Product of sizes; an overflow is an error (a hostile shape, never a real tensor).
pub(crate) fn checked_product(dims: &[usize]) -> Result<usize, OpError> {
    dims.iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(|| OpError::new(format!("element count of shape {dims:?} overflows")))
}

/// The most elements an op may create from small operands (ConstantOfShape, Pad, Gather):
/// 2^28, 1 GiB of f32. Asking for more is a broken or hostile model, refused before allocating.
pub(crate) const MAX_CREATED_ELEMENTS: usize = 1 << 28;

/// Refuses an output of `dims` that would exceed [`MAX_CREATED_ELEMENTS`]; symbolic dims
/// cannot be judged yet and pass.
pub(crate) fn check_created(dims: &[Dim]) -> Result<(), OpError> {
    let Some(shape) = dims.iter().map(Dim::known).collect::<Option<Vec<usize>>>() else {
        return Ok(());
    };
    let n = checked_product(&shape)?;
    if n > MAX_CREATED_ELEMENTS {
        op_bail!(
            "output shape {shape:?} has {n} elements, over the limit of {MAX_CREATED_ELEMENTS}"
        );
    }
    Ok(())
}

/// The facts of required input `index`.
pub(crate) fn fact<'a>(
    inputs: &[Option<&'a Facts>],
    index: usize,
    what: &str,
) -> Result<&'a Facts, OpError> {
    inputs
        .get(index)
        .copied()
        .flatten()
        .ok_or_else(|| OpError::new(format!("missing required input {index} ({what})")))
}

/// The shape in `f`, or the shape of its value when only that is recorded.
pub(crate) fn fact_dims(f: &Facts) -> Option<Vec<Dim>> {
    f.shape
        .clone()
        .or_else(|| f.value.as_ref().map(|v| known_dims(v.shape())))
}

/// The facts of an output: `dtype` and `shape`, value unknown.
pub(crate) fn out_facts(dtype: Option<DType>, shape: Option<Vec<Dim>>) -> Facts {
    Facts {
        dtype,
        shape,
        value: None,
    }
}

/// An int64 operand (shape, axes, starts…) as seen at load time.
pub(crate) enum Operand<'a> {
    Absent,
    /// Present, but its value is not known until run time.
    Unknown,
    Known(&'a [i64]),
}

/// The elements of optional int64 operand `index`: a 1-D (or scalar) int64 tensor.
pub(crate) fn i64_input<'a>(
    inputs: &[Option<&'a Tensor>],
    index: usize,
    what: &str,
) -> Result<Option<&'a [i64]>, OpError> {
    match inputs.get(index).copied().flatten() {
        None => Ok(None),
        Some(t) => i64_elements(t, index, what).map(Some),
    }
}

/// The elements of required int64 operand `index`.
pub(crate) fn required_i64<'a>(
    inputs: &[Option<&'a Tensor>],
    index: usize,
    what: &str,
) -> Result<&'a [i64], OpError> {
    i64_elements(required(inputs, index, what)?, index, what)
}

/// Optional int64 operand `index` as known at load time.
pub(crate) fn i64_fact<'a>(
    inputs: &[Option<&'a Facts>],
    index: usize,
    what: &str,
) -> Result<Operand<'a>, OpError> {
    let Some(f) = inputs.get(index).copied().flatten() else {
        return Ok(Operand::Absent);
    };
    if let Some(dtype) = f.dtype.filter(|&d| d != DType::I64) {
        op_bail!("input {index} ({what}) must be int64, got {dtype}");
    }
    match &f.value {
        Some(v) => i64_elements(v, index, what).map(Operand::Known),
        None => Ok(Operand::Unknown),
    }
}

fn i64_elements<'a>(t: &'a Tensor, index: usize, what: &str) -> Result<&'a [i64], OpError> {
    if t.rank() > 1 {
        op_bail!(
            "input {index} ({what}) must be 1-D, got shape {:?}",
            t.shape()
        );
    }
    t.as_i64().ok_or_else(|| {
        OpError::new(format!(
            "input {index} ({what}) must be int64, got {}",
            t.dtype()
        ))
    })
}

/// Resolves a list of possibly negative axes against `rank`, rejecting repeats.
pub(crate) fn normalize_axes(axes: &[i64], rank: usize) -> Result<Vec<usize>, OpError> {
    axes_mask(axes, rank).map(|(out, _)| out)
}

/// The resolved axes, and a per-axis flag saying which were named. Linear in the axes and the
/// rank, however long a hostile list is.
fn axes_mask(axes: &[i64], rank: usize) -> Result<(Vec<usize>, Vec<bool>), OpError> {
    let mut named = vec![false; rank];
    let mut out = Vec::with_capacity(axes.len().min(rank));
    for &a in axes {
        let n = normalize_axis(a, rank)?;
        if std::mem::replace(&mut named[n], true) {
            op_bail!("axis {a} is repeated in the axes");
        }
        out.push(n);
    }
    Ok((out, named))
}

/// Converts an operand element that must be a non-negative size.
pub(crate) fn to_size(v: i64, what: &str) -> Result<usize, OpError> {
    usize::try_from(v).map_err(|_| OpError::new(format!("{what} must be >= 0, got {v}")))
}

/// A product of dims: a known factor times a multiset of symbols (kept sorted, so two
/// products over the same symbols compare equal).
#[derive(Debug)]
struct SymProduct {
    known: usize,
    symbols: Vec<Arc<str>>,
}

impl SymProduct {
    fn of(dims: &[Dim]) -> Result<SymProduct, OpError> {
        let mut p = SymProduct {
            known: 1,
            symbols: Vec::new(),
        };
        for d in dims {
            match d {
                Dim::Known(n) => {
                    p.known = p.known.checked_mul(*n).ok_or_else(|| {
                        OpError::new(format!("element count of shape {} overflows", show(dims)))
                    })?
                }
                Dim::Symbol(s) => p.symbols.push(s.clone()),
            }
        }
        p.symbols.sort();
        Ok(p)
    }

    /// The product as one dim, when it is expressible as one.
    fn as_dim(&self) -> Option<Dim> {
        match self.symbols.as_slice() {
            _ if self.known == 0 => Some(Dim::Known(0)),
            [] => Some(Dim::Known(self.known)),
            [s] if self.known == 1 => Some(Dim::Symbol(s.clone())),
            _ => None,
        }
    }

    /// `self.symbols` minus `other.symbols`, if the latter are all among the former.
    fn symbols_minus(&self, other: &SymProduct) -> Option<Vec<Arc<str>>> {
        let mut left = self.symbols.clone();
        for s in &other.symbols {
            let at = left.iter().position(|l| l == s)?;
            left.remove(at);
        }
        Some(left)
    }
}

/// `[2, N, 3]`, for messages.
pub(crate) fn show(dims: &[Dim]) -> String {
    let parts: Vec<String> = dims.iter().map(Dim::to_string).collect();
    format!("[{}]", parts.join(", "))
}

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

/// The same elements under a new shape.
fn reshaped(data: &Tensor, dims: Option<Vec<Dim>>) -> Result<Vec<Tensor>, OpError> {
    Ok(vec![tensor(concrete(dims)?, data.data().clone())?])
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

pub(super) fn eval_transpose(
    perm: Option<&[usize]>,
    inputs: &[Option<&Tensor>],
) -> Result<Vec<Tensor>, OpError> {
    let x = required(inputs, 0, "data")?;
    let perm = resolve_perm(perm, x.rank())?;
    let shape: Vec<usize> = perm.iter().map(|&p| x.shape()[p]).collect();
    let data = map_data!(x.data(), |v| transpose(v, x.shape(), &perm));
    Ok(vec![tensor(shape, data)?])
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

pub(super) fn infer_flatten(axis: i64, inputs: &[Option<&Facts>]) -> Result<Vec<Facts>, OpError> {
    let x = fact(inputs, 0, "input")?;
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
    let x = fact(inputs, 0, "data")?;
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

pub(super) fn infer_transpose(
    perm: Option<&[usize]>,
    inputs: &[Option<&Facts>],
) -> Result<Vec<Facts>, OpError> {
    let x = fact(inputs, 0, "data")?;
    let shape = match fact_dims(x) {
        Some(dims) => {
            let perm = resolve_perm(perm, dims.len())?;
            Some(perm.iter().map(|&p| dims[p].clone()).collect())
        }
        None => None,
    };
    Ok(vec![out_facts(x.dtype, shape)])
}

pub(super) fn infer_squeeze(inputs: &[Option<&Facts>]) -> Result<Vec<Facts>, OpError> {
    let x = fact(inputs, 0, "data")?;
    let shape = match (i64_fact(inputs, 1, "axes")?, fact_dims(x)) {
        (_, None) | (Operand::Unknown, _) => None,
        (Operand::Absent, Some(dims)) => squeeze_dims(&dims, None)?,
        (Operand::Known(axes), Some(dims)) => squeeze_dims(&dims, Some(axes))?,
    };
    Ok(vec![out_facts(x.dtype, shape)])
}

pub(super) fn infer_unsqueeze(inputs: &[Option<&Facts>]) -> Result<Vec<Facts>, OpError> {
    let x = fact(inputs, 0, "data")?;
    let shape = match (i64_fact(inputs, 1, "axes")?, fact_dims(x)) {
        (Operand::Absent, _) => op_bail!("missing required input 1 (axes)"),
        (Operand::Known(axes), Some(dims)) => Some(unsqueeze_dims(&dims, axes)?),
        _ => None,
    };
    Ok(vec![out_facts(x.dtype, shape)])
}

/// Helpers for the op tests in this directory.
#[cfg(test)]
pub(crate) mod testing {
    use std::sync::Arc;

    use super::known_dims;
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
    pub(crate) fn infer_dims(
        op: &Op,
        inputs: &[Option<&Facts>],
    ) -> Result<Option<Vec<Dim>>, OpError> {
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
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::testing::*;
    use crate::ir::{Dim, Op};
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

    fn small_shape() -> impl Strategy<Value = Vec<usize>> {
        prop::collection::vec(0usize..4, 0..5)
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

    #[test]
    fn dims_show_symbols() {
        assert_eq!(super::show(&[Dim::Known(2), sym("N")]), "[2, N]");
    }
}
