//! Elementwise ops (unary activations and maths, Add/Sub/Mul/Div, PRelu, Clip) on the
//! reference kernels, and their inference: same-as-input, or numpy broadcasting over
//! possibly symbolic dims. Also hosts the small helpers the other op files of this family
//! share (kernel-error conversion, optional inputs, building result tensors).

use litecnn_kernels::FloatBuffer;
use litecnn_kernels::fast;
use litecnn_kernels::reference::broadcast::broadcasts_to;
use litecnn_kernels::reference::elementwise::{self as k, BinaryKind, UnaryKind};
use litecnn_kernels::reference::window::ShapeError;

use super::operands::show;
use super::{Facts, Kernels, OpError, required, required_f32, required_facts};
use crate::ir::{BinaryOp, Dim, UnaryOp};
use crate::op_bail;
use crate::tensor::{DType, Tensor, TensorData};

impl From<ShapeError> for OpError {
    fn from(e: ShapeError) -> OpError {
        OpError(e.0)
    }
}

/// The optional input at `index` (absent, or past the end of `inputs`).
pub(crate) fn optional<'a>(inputs: &[Option<&'a Tensor>], index: usize) -> Option<&'a Tensor> {
    inputs.get(index).copied().flatten()
}

/// Wraps kernel output as a tensor; a length mismatch here is an engine bug, reported anyway.
pub(crate) fn f32_tensor(
    shape: Vec<usize>,
    data: impl Into<FloatBuffer>,
) -> Result<Tensor, OpError> {
    Tensor::from_f32_buffer(shape, data.into()).map_err(|e| OpError::new(e.to_string()))
}

pub(crate) fn i64_tensor(shape: Vec<usize>, data: Vec<i64>) -> Result<Tensor, OpError> {
    Tensor::from_i64(shape, data).map_err(|e| OpError::new(e.to_string()))
}

/// A required `float32` input with its elements.
pub(crate) fn f32_input<'a>(
    inputs: &[Option<&'a Tensor>],
    index: usize,
    what: &str,
) -> Result<(&'a Tensor, &'a [f32]), OpError> {
    let t = required_f32(inputs, index, what)?;
    // `required_f32` checked the type, so the fallback is never taken.
    Ok((t, t.as_f32().unwrap_or_default()))
}

/// Errors unless a known dtype is `float32`.
pub(crate) fn expect_f32_facts(f: &Facts, what: &str) -> Result<(), OpError> {
    match f.dtype {
        Some(d) if d != DType::F32 => op_bail!("{what} must be float32, got {d}"),
        _ => Ok(()),
    }
}

/// The dims as plain sizes when none is symbolic.
pub(crate) fn known_dims(dims: &[Dim]) -> Option<Vec<usize>> {
    dims.iter().map(Dim::known).collect()
}

fn unary_kind(u: UnaryOp) -> UnaryKind {
    match u {
        UnaryOp::Relu => UnaryKind::Relu,
        UnaryOp::LeakyRelu { alpha } => UnaryKind::LeakyRelu { alpha },
        UnaryOp::Sigmoid => UnaryKind::Sigmoid,
        UnaryOp::HardSigmoid { alpha, beta } => UnaryKind::HardSigmoid { alpha, beta },
        UnaryOp::HardSwish => UnaryKind::HardSwish,
        UnaryOp::Tanh => UnaryKind::Tanh,
        UnaryOp::Neg => UnaryKind::Neg,
        UnaryOp::Abs => UnaryKind::Abs,
        UnaryOp::Exp => UnaryKind::Exp,
        UnaryOp::Sqrt => UnaryKind::Sqrt,
        UnaryOp::Reciprocal => UnaryKind::Reciprocal,
        UnaryOp::Ceil => UnaryKind::Ceil,
        UnaryOp::Floor => UnaryKind::Floor,
    }
}

pub(super) fn eval_unary(u: UnaryOp, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpError> {
    let x = required(inputs, 0, "X")?;
    let kind = unary_kind(u);
    let shape = x.shape().to_vec();
    let y = match x.data() {
        TensorData::F32(v) => f32_tensor(shape, k::unary_f32(kind, v))?,
        TensorData::I64(v) => match k::unary_i64(kind, v) {
            Some(y) => i64_tensor(shape, y)?,
            None => op_bail!("this operator is not defined on int64 input"),
        },
    };
    Ok(vec![y])
}

pub(super) fn binary_kind(b: BinaryOp) -> BinaryKind {
    match b {
        BinaryOp::Add => BinaryKind::Add,
        BinaryOp::Sub => BinaryKind::Sub,
        BinaryOp::Mul => BinaryKind::Mul,
        BinaryOp::Div => BinaryKind::Div,
    }
}

pub(super) fn eval_binary(
    kernels: Kernels,
    b: BinaryOp,
    inputs: &[Option<&Tensor>],
) -> Result<Vec<Tensor>, OpError> {
    let (x, y) = (required(inputs, 0, "A")?, required(inputs, 1, "B")?);
    let kind = binary_kind(b);
    // Squeeze-and-excitation writes its scale first (`scale * x`, torchvision's form), so a
    // commutative op also takes the fast path with its operands swapped.
    let commutative = matches!(kind, BinaryKind::Add | BinaryKind::Mul);
    let blocks = block_broadcast(x.shape(), y.shape())
        .map(|inner| (x, y, inner))
        .or_else(|| {
            let swapped = block_broadcast(y.shape(), x.shape());
            swapped.filter(|_| commutative).map(|inner| (y, x, inner))
        });
    if let (Kernels::Fast, Some((wide, narrow, inner))) = (kernels, blocks)
        && let (TensorData::F32(a), TensorData::F32(b)) = (wide.data(), narrow.data())
    {
        let data = fast::elementwise::binary_blocks(kind, a, b, inner)?;
        return Ok(vec![f32_tensor(wide.shape().to_vec(), data)?]);
    }
    let out = match (x.data(), y.data()) {
        (TensorData::F32(a), TensorData::F32(b)) => {
            let (shape, data) = k::binary_f32(kind, a, x.shape(), b, y.shape())?;
            f32_tensor(shape, data)?
        }
        (TensorData::I64(a), TensorData::I64(b)) => {
            let (shape, data) = k::binary_i64(kind, a, x.shape(), b, y.shape())?;
            i64_tensor(shape, data)?
        }
        _ => op_bail!(
            "inputs must have the same type, got {} and {}",
            x.dtype(),
            y.dtype()
        ),
    };
    Ok(vec![out])
}

/// When `b` broadcasts to `a` as whole blocks (`b`'s shape is `a`'s with trailing dims set to
/// 1, e.g. `[N, C, 1, 1]` against `[N, C, H, W]`), the block length; the output is `a`'s shape.
fn block_broadcast(a: &[usize], b: &[usize]) -> Option<usize> {
    if a.len() != b.len() {
        return None;
    }
    let kept = b.iter().rposition(|&d| d != 1).map_or(0, |i| i + 1);
    (a[..kept] == b[..kept]).then(|| a[kept..].iter().product())
}

pub(super) fn eval_prelu(inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpError> {
    let (x, slope) = (required(inputs, 0, "X")?, required(inputs, 1, "slope")?);
    let shape = x.shape().to_vec();
    let out = match (x.data(), slope.data()) {
        (TensorData::F32(v), TensorData::F32(s)) => {
            f32_tensor(shape, k::prelu(v, x.shape(), s, slope.shape())?)?
        }
        (TensorData::I64(v), TensorData::I64(s)) => {
            i64_tensor(shape, k::prelu(v, x.shape(), s, slope.shape())?)?
        }
        _ => op_bail!(
            "X and slope must have the same type, got {} and {}",
            x.dtype(),
            slope.dtype()
        ),
    };
    Ok(vec![out])
}

/// A Clip bound: a one-element tensor of the input's type, or absent.
fn bound<'a>(
    inputs: &[Option<&'a Tensor>],
    index: usize,
    what: &str,
    dtype: DType,
) -> Result<Option<&'a Tensor>, OpError> {
    let Some(t) = optional(inputs, index) else {
        return Ok(None);
    };
    if t.len() != 1 {
        op_bail!("Clip {what} must be a scalar, got shape {:?}", t.shape());
    }
    if t.dtype() != dtype {
        op_bail!(
            "Clip {what} must have the input's type {dtype}, got {}",
            t.dtype()
        );
    }
    Ok(Some(t))
}

pub(super) fn eval_clip(inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpError> {
    let x = required(inputs, 0, "input")?;
    let lo = bound(inputs, 1, "min", x.dtype())?;
    let hi = bound(inputs, 2, "max", x.dtype())?;
    let shape = x.shape().to_vec();
    // The bounds were checked to hold exactly one element of x's type.
    let out = match x.data() {
        TensorData::F32(v) => {
            let get = |b: Option<&Tensor>| b.and_then(Tensor::as_f32).map(|s| s[0]);
            f32_tensor(shape, k::clip(v, get(lo), get(hi)))?
        }
        TensorData::I64(v) => {
            let get = |b: Option<&Tensor>| b.and_then(Tensor::as_i64).map(|s| s[0]);
            i64_tensor(shape, k::clip(v, get(lo), get(hi)))?
        }
    };
    Ok(vec![out])
}

/// The output has the type and shape of input 0 (unary ops, Clip, PRelu, Softmax, Identity).
pub(super) fn infer_same_as_first(inputs: &[Option<&Facts>]) -> Result<Vec<Facts>, OpError> {
    let x = required_facts(inputs, 0, "input")?;
    Ok(vec![Facts {
        dtype: x.dtype,
        shape: x.shape.clone(),
        value: None,
    }])
}

pub(super) fn infer_binary(inputs: &[Option<&Facts>]) -> Result<Vec<Facts>, OpError> {
    let (a, b) = (
        required_facts(inputs, 0, "A")?,
        required_facts(inputs, 1, "B")?,
    );
    let dtype = match (a.dtype, b.dtype) {
        (Some(x), Some(y)) if x != y => op_bail!("inputs must have the same type, got {x} and {y}"),
        (x, y) => x.or(y),
    };
    let shape = match (&a.shape, &b.shape) {
        (Some(x), Some(y)) => broadcast_dims(x, y)?,
        _ => None,
    };
    Ok(vec![Facts {
        dtype,
        shape,
        value: None,
    }])
}

/// Numpy broadcasting over possibly symbolic dims. `Ok(None)` when the result cannot be
/// written with the dims at hand (two different symbols); an error when known sizes clash.
pub(crate) fn broadcast_dims(a: &[Dim], b: &[Dim]) -> Result<Option<Vec<Dim>>, OpError> {
    let rank = a.len().max(b.len());
    let one = Dim::Known(1);
    let at = |s: &[Dim], i: usize| {
        (i + s.len())
            .checked_sub(rank)
            .map_or(one.clone(), |j| s[j].clone())
    };
    let mut out = Vec::with_capacity(rank);
    for i in 0..rank {
        let dim = match (at(a, i), at(b, i)) {
            (x, y) if x == y => x,
            (Dim::Known(1), y) => y,
            (x, Dim::Known(1)) => x,
            (Dim::Known(x), Dim::Known(y)) => {
                op_bail!(
                    "shapes {} and {} cannot be broadcast together ({x} vs {y})",
                    show(a),
                    show(b)
                )
            }
            // A symbol against a known n ≠ 1: the symbol can only be n or 1 at run time, and
            // either way the result is n.
            (Dim::Known(n), Dim::Symbol(_)) | (Dim::Symbol(_), Dim::Known(n)) => Dim::Known(n),
            (Dim::Symbol(_), Dim::Symbol(_)) => return Ok(None),
        };
        out.push(dim);
    }
    Ok(Some(out))
}

/// Whether fully known dims `from` broadcast to `to` (unknown dims are not checked).
pub(crate) fn may_broadcast_to(from: &[Dim], to: &[Dim]) -> bool {
    match (known_dims(from), known_dims(to)) {
        (Some(f), Some(t)) => broadcasts_to(&f, &t),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn sym(s: &str) -> Dim {
        Dim::Symbol(Arc::from(s))
    }

    fn facts(dtype: DType, shape: Vec<Dim>) -> Facts {
        Facts::new(dtype, shape)
    }

    #[test]
    fn binary_eval_broadcasts_and_types() {
        let a = Tensor::from_f32(vec![2, 3, 1], (0..6).map(|v| v as f32).collect()).unwrap();
        let b = Tensor::from_f32(vec![4], vec![0.0, 10.0, 20.0, 30.0]).unwrap();
        let y = eval_binary(Kernels::Reference, BinaryOp::Add, &[Some(&a), Some(&b)]).unwrap();
        assert_eq!(y[0].shape(), &[2, 3, 4]);
        assert_eq!(y[0].as_f32().unwrap()[5], 11.0);
        let i = Tensor::vec_i64(vec![7, -7]);
        let d = eval_binary(
            Kernels::Reference,
            BinaryOp::Div,
            &[Some(&i), Some(&Tensor::scalar_i64(2))],
        )
        .unwrap();
        assert_eq!(d[0].as_i64().unwrap(), &[3, -3]);
        assert!(
            eval_binary(
                Kernels::Reference,
                BinaryOp::Div,
                &[Some(&i), Some(&Tensor::scalar_i64(0))]
            )
            .is_err()
        );
        assert!(eval_binary(Kernels::Reference, BinaryOp::Add, &[Some(&a), Some(&i)]).is_err());
        assert!(eval_binary(Kernels::Reference, BinaryOp::Add, &[Some(&a)]).is_err());
    }

    #[test]
    fn unary_eval_on_both_types() {
        let x = Tensor::from_f32(vec![2], vec![-1.0, 4.0]).unwrap();
        assert_eq!(
            eval_unary(UnaryOp::Sqrt, &[Some(&x)]).unwrap()[0]
                .as_f32()
                .unwrap()[1],
            2.0
        );
        let i = Tensor::vec_i64(vec![-2, 3]);
        assert_eq!(
            eval_unary(UnaryOp::Abs, &[Some(&i)]).unwrap()[0]
                .as_i64()
                .unwrap(),
            &[2, 3]
        );
        assert_eq!(
            eval_unary(UnaryOp::Ceil, &[Some(&i)]).unwrap()[0]
                .as_i64()
                .unwrap(),
            &[-2, 3]
        );
        assert!(eval_unary(UnaryOp::Exp, &[Some(&i)]).is_err());
    }

    #[test]
    fn clip_with_optional_bounds() {
        let x = Tensor::from_f32(vec![3], vec![-5.0, 0.5, 5.0]).unwrap();
        let lo = Tensor::scalar_f32(0.0);
        let hi = Tensor::from_f32(vec![1], vec![1.0]).unwrap();
        let y = eval_clip(&[Some(&x), Some(&lo), Some(&hi)]).unwrap();
        assert_eq!(y[0].as_f32().unwrap(), &[0.0, 0.5, 1.0]);
        let y = eval_clip(&[Some(&x), None, Some(&hi)]).unwrap();
        assert_eq!(y[0].as_f32().unwrap(), &[-5.0, 0.5, 1.0]);
        let y = eval_clip(&[Some(&x)]).unwrap();
        assert_eq!(y[0], x);
        assert!(eval_clip(&[Some(&x), Some(&Tensor::scalar_i64(0))]).is_err());
        let i = Tensor::vec_i64(vec![-5, 5]);
        let y = eval_clip(&[Some(&i), Some(&Tensor::scalar_i64(0)), None]).unwrap();
        assert_eq!(y[0].as_i64().unwrap(), &[0, 5]);
    }

    #[test]
    fn prelu_eval() {
        let x = Tensor::from_f32(vec![1, 2, 1], vec![-2.0, -2.0]).unwrap();
        let s = Tensor::from_f32(vec![2, 1], vec![0.5, 0.25]).unwrap();
        let y = eval_prelu(&[Some(&x), Some(&s)]).unwrap();
        assert_eq!(y[0].as_f32().unwrap(), &[-1.0, -0.5]);
        let bad = Tensor::from_f32(vec![3], vec![0.0; 3]).unwrap();
        assert!(eval_prelu(&[Some(&x), Some(&bad)]).is_err());
    }

    #[test]
    fn broadcast_inference_over_symbols() {
        let n = sym("N");
        let a = facts(DType::F32, vec![n.clone(), Dim::Known(3), Dim::Known(1)]);
        let b = facts(DType::F32, vec![Dim::Known(4)]);
        let out = infer_binary(&[Some(&a), Some(&b)]).unwrap();
        assert_eq!(
            out[0].shape,
            Some(vec![n.clone(), Dim::Known(3), Dim::Known(4)])
        );
        let c = facts(
            DType::F32,
            vec![Dim::Known(1), Dim::Known(1), Dim::Known(1)],
        );
        let out = infer_binary(&[Some(&a), Some(&c)]).unwrap();
        assert_eq!(
            out[0].shape,
            Some(vec![n.clone(), Dim::Known(3), Dim::Known(1)])
        );
        let m = facts(DType::F32, vec![sym("M"), Dim::Known(1), Dim::Known(1)]);
        assert_eq!(infer_binary(&[Some(&a), Some(&m)]).unwrap()[0].shape, None);
        let bad = facts(DType::F32, vec![Dim::Known(2), Dim::Known(1)]);
        assert!(infer_binary(&[Some(&a), Some(&bad)]).is_err());
        let int = facts(DType::I64, vec![]);
        assert!(infer_binary(&[Some(&a), Some(&int)]).is_err());
    }

    #[test]
    fn same_as_first_keeps_symbols() {
        let a = facts(DType::F32, vec![sym("N"), Dim::Known(8)]);
        let out = infer_same_as_first(&[Some(&a)]).unwrap();
        assert_eq!(out[0].shape, a.shape);
        assert_eq!(out[0].dtype, Some(DType::F32));
        assert!(infer_same_as_first(&[None]).is_err());
    }

    #[test]
    fn fast_block_broadcasts_equal_reference() {
        let ramp = |shape: Vec<usize>| {
            let n = shape.iter().product();
            Tensor::from_f32(
                shape,
                (0..n).map(|i| (i as f32 * 0.7).sin() + 1.5).collect(),
            )
            .unwrap()
        };
        let x = ramp(vec![2, 3, 4, 5]);
        let cases = [
            vec![2, 3, 4, 5],
            vec![2, 3, 1, 1],
            vec![2, 1, 1, 1],
            vec![1, 1, 1, 1],
            vec![1, 3, 1, 1],
            vec![5],
        ];
        for shape in cases {
            let y = ramp(shape.clone());
            for op in [BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div] {
                // Both operand orders: squeeze-and-excitation multiplies `scale * x`.
                for args in [[Some(&x), Some(&y)], [Some(&y), Some(&x)]] {
                    let fast = eval_binary(Kernels::Fast, op, &args).unwrap();
                    let reference = eval_binary(Kernels::Reference, op, &args).unwrap();
                    assert_eq!(fast, reference, "{op:?} with {shape:?}");
                }
            }
        }
    }
}
