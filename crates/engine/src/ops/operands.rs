//! Helpers the data-movement op files (reshape, transpose, squeeze, concat, split, slice, pad,
//! gather, shape_ops) share: dtype dispatch (`map_data!`), building outputs, checked sizes,
//! reading int64 operands (at run time and as load-time facts) and resolving axes lists.

use super::{Facts, OpError, normalize_axis, required};
use crate::ir::Dim;
use crate::op_bail;
use crate::tensor::{DType, Tensor, TensorData};

/// Applies a kernel that is generic over the element type to either kind of [`TensorData`]:
/// `map_data!(data, |v| kernel(v, ...))` runs the body with `v` as `&FloatBuffer` or
/// `&Vec<i64>` and wraps the resulting `Vec` back into the same variant.
macro_rules! map_data {
    ($data:expr, |$v:ident| $body:expr) => {
        match $data {
            $crate::tensor::TensorData::F32($v) => {
                $crate::tensor::TensorData::F32($crate::tensor::FloatBuffer::from($body))
            }
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

/// The same elements under a new shape.
pub(crate) fn reshaped(data: &Tensor, dims: Option<Vec<Dim>>) -> Result<Vec<Tensor>, OpError> {
    Ok(vec![tensor(concrete(dims)?, data.data().clone())?])
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

/// An optional operand's value: `Some(None)` when absent, `None` when not known yet.
pub(crate) fn known_or_absent<'a>(op: Operand<'a>) -> Option<Option<&'a [i64]>> {
    match op {
        Operand::Absent => Some(None),
        Operand::Known(v) => Some(Some(v)),
        Operand::Unknown => None,
    }
}

/// Resolves a list of possibly negative axes against `rank`, rejecting repeats.
pub(crate) fn normalize_axes(axes: &[i64], rank: usize) -> Result<Vec<usize>, OpError> {
    axes_mask(axes, rank).map(|(out, _)| out)
}

/// The resolved axes, and a per-axis flag saying which were named. Linear in the axes and the
/// rank, however long a hostile list is.
pub(crate) fn axes_mask(axes: &[i64], rank: usize) -> Result<(Vec<usize>, Vec<bool>), OpError> {
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

/// `[2, N, 3]`, for messages.
pub(crate) fn show(dims: &[Dim]) -> String {
    let parts: Vec<String> = dims.iter().map(Dim::to_string).collect();
    format!("[{}]", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use crate::ir::Dim;
    use crate::ops::testing::sym;

    #[test]
    fn dims_show_symbols() {
        assert_eq!(super::show(&[Dim::Known(2), sym("N")]), "[2, N]");
    }
}
