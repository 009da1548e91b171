//! Per-op semantics: how each [`Op`] computes its outputs (`eval`, on the reference kernels)
//! and what it tells about its outputs before running (`infer`, for shape inference and
//! load-time folding). One file per op family, with the helpers several families share in
//! `operands.rs` and the test fixtures in `testing.rs`; this file dispatches, and holds the
//! input accessors every family uses.

mod activation;
mod concat;
mod conv;
pub(crate) use conv::window_params;
mod elementwise;
mod gather;
mod linear;
pub(crate) mod nhwc;
mod norm;
mod operands;
mod pad;
mod pool;
mod reduce;
mod reshape;
mod shape_ops;
mod slice;
pub(crate) use slice::channel_range as slice_channel_range;
mod softmax;
mod split;
mod squeeze;
mod sym_product;
#[cfg(test)]
mod testing;
mod transpose;

use crate::ir::{Activation, Dim, Op};
use crate::tensor::{DType, Tensor};

/// Why an op could not run or be inferred; the executor adds the node's name and op.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct OpError(pub String);

impl OpError {
    pub fn new(msg: impl Into<String>) -> OpError {
        OpError(msg.into())
    }
}

/// Shorthand for `Err(OpError::new(format!(...)))`.
#[macro_export]
macro_rules! op_bail {
    ($($arg:tt)*) => { return Err($crate::ops::OpError::new(format!($($arg)*))) };
}

/// What is known about a value before running: element type, shape (dims may be symbolic),
/// and the value itself when it is a load-time constant.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Facts {
    pub dtype: Option<DType>,
    pub shape: Option<Vec<Dim>>,
    pub value: Option<std::sync::Arc<Tensor>>,
}

impl Facts {
    pub fn new(dtype: DType, shape: Vec<Dim>) -> Facts {
        Facts {
            dtype: Some(dtype),
            shape: Some(shape),
            value: None,
        }
    }

    pub fn unknown() -> Facts {
        Facts::default()
    }
}

/// Which kernels run the heavy ops (convolutions and matrix products).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Kernels {
    /// `litecnn_kernels::fast`: GEMM-based and depthwise convolutions with fused epilogues.
    #[default]
    Fast,
    /// `litecnn_kernels::reference` only: the oracle the fast path is tested against.
    Reference,
}

/// Runs `op` on concrete inputs (`None` for an absent optional input), producing
/// `num_outputs` tensors, on the reference kernels.
pub fn eval(
    op: &Op,
    inputs: &[Option<&Tensor>],
    num_outputs: usize,
) -> Result<Vec<Tensor>, OpError> {
    eval_with(Kernels::Reference, op, inputs, num_outputs)
}

/// [`eval`] on the chosen kernels.
pub fn eval_with(
    kernels: Kernels,
    op: &Op,
    inputs: &[Option<&Tensor>],
    num_outputs: usize,
) -> Result<Vec<Tensor>, OpError> {
    match op {
        Op::Conv(a) => conv::eval_conv(kernels, a, Activation::Identity, inputs),
        Op::FusedConv { conv, activation } => conv::eval_conv(kernels, conv, *activation, inputs),
        Op::BatchNormalization { epsilon } => norm::eval_batch_norm(*epsilon, inputs),
        Op::Unary(u) => elementwise::eval_unary(*u, inputs),
        Op::Binary(b) => elementwise::eval_binary(kernels, *b, inputs),
        Op::PRelu => elementwise::eval_prelu(inputs),
        Op::Clip => elementwise::eval_clip(inputs),
        Op::MaxPool(p) => pool::eval_max_pool(kernels, p, inputs, num_outputs),
        Op::AveragePool {
            pool,
            count_include_pad,
        } => pool::eval_average_pool(kernels, pool, *count_include_pad, inputs),
        Op::GlobalAveragePool => pool::eval_global_average_pool(kernels, inputs),
        Op::GlobalMaxPool => pool::eval_global_max_pool(inputs),
        Op::Gemm {
            alpha,
            beta,
            trans_a,
            trans_b,
        } => linear::eval_gemm(kernels, *alpha, *beta, *trans_a, *trans_b, inputs),
        Op::MatMul => linear::eval_matmul(kernels, inputs),
        Op::Flatten { axis } => reshape::eval_flatten(*axis, inputs),
        Op::Reshape { allowzero } => reshape::eval_reshape(*allowzero, inputs),
        Op::Transpose { perm } => transpose::eval_transpose(kernels, perm.as_deref(), inputs),
        Op::Squeeze => squeeze::eval_squeeze(inputs),
        Op::Unsqueeze => squeeze::eval_unsqueeze(inputs),
        Op::Concat { axis } => concat::eval_concat(*axis, inputs),
        Op::Split { axis } => split::eval_split(*axis, inputs, num_outputs),
        Op::Slice => slice::eval_slice(kernels, inputs),
        Op::Pad { mode } => pad::eval_pad(*mode, inputs),
        Op::Gather { axis } => gather::eval_gather(*axis, inputs),
        Op::ReduceMean {
            keepdims,
            noop_with_empty_axes,
        } => reduce::eval_reduce_mean(kernels, *keepdims, *noop_with_empty_axes, inputs),
        Op::Softmax { axis, coerce_2d } => softmax::eval_softmax(*axis, *coerce_2d, inputs),
        Op::Identity => shape_ops::eval_identity(inputs),
        Op::Shape { start, end } => shape_ops::eval_shape(*start, *end, inputs),
        Op::Cast { to } => shape_ops::eval_cast(*to, inputs),
        Op::ConstantOfShape { value } => shape_ops::eval_constant_of_shape(value, inputs),
        Op::Nhwc(op) => nhwc::eval(op, inputs),
    }
}

/// Infers output facts from input facts. Returns one [`Facts`] per output; a fact that cannot
/// be known yet stays `None`. An error means the inputs can never be valid for this op
/// (wrong rank, mismatched channels…), which the loader reports against the node.
pub fn infer(
    op: &Op,
    inputs: &[Option<&Facts>],
    num_outputs: usize,
) -> Result<Vec<Facts>, OpError> {
    match op {
        Op::Conv(a) => conv::infer_conv(a, inputs),
        Op::FusedConv { conv, .. } => conv::infer_fused_conv(conv, inputs),
        Op::BatchNormalization { .. } => norm::infer_batch_norm(inputs),
        Op::Unary(_) | Op::Clip | Op::Identity => elementwise::infer_same_as_first(inputs),
        Op::Binary(_) => elementwise::infer_binary(inputs),
        Op::PRelu => elementwise::infer_same_as_first(inputs),
        Op::MaxPool(p) => pool::infer_max_pool(p, inputs, num_outputs),
        Op::AveragePool { pool, .. } => pool::infer_pool(pool, inputs),
        Op::GlobalAveragePool | Op::GlobalMaxPool => pool::infer_global_pool(inputs),
        Op::Gemm {
            trans_a, trans_b, ..
        } => linear::infer_gemm(*trans_a, *trans_b, inputs),
        Op::MatMul => linear::infer_matmul(inputs),
        Op::Flatten { axis } => reshape::infer_flatten(*axis, inputs),
        Op::Reshape { allowzero } => reshape::infer_reshape(*allowzero, inputs),
        Op::Transpose { perm } => transpose::infer_transpose(perm.as_deref(), inputs),
        Op::Squeeze => squeeze::infer_squeeze(inputs),
        Op::Unsqueeze => squeeze::infer_unsqueeze(inputs),
        Op::Concat { axis } => concat::infer_concat(*axis, inputs),
        Op::Split { axis } => split::infer_split(*axis, inputs, num_outputs),
        Op::Slice => slice::infer_slice(inputs),
        Op::Pad { .. } => pad::infer_pad(inputs),
        Op::Gather { axis } => gather::infer_gather(*axis, inputs),
        Op::ReduceMean {
            keepdims,
            noop_with_empty_axes,
        } => reduce::infer_reduce_mean(*keepdims, *noop_with_empty_axes, inputs),
        Op::Softmax { .. } => elementwise::infer_same_as_first(inputs),
        Op::Shape { start, end } => shape_ops::infer_shape(*start, *end, inputs),
        Op::Cast { to } => shape_ops::infer_cast(*to, inputs),
        Op::ConstantOfShape { value } => shape_ops::infer_constant_of_shape(value, inputs),
        Op::Nhwc(op) => nhwc::infer(op, inputs),
    }
}

/// The input at `index`, or an error naming it when it is absent.
pub(crate) fn required<'a>(
    inputs: &[Option<&'a Tensor>],
    index: usize,
    what: &str,
) -> Result<&'a Tensor, OpError> {
    inputs
        .get(index)
        .copied()
        .flatten()
        .ok_or_else(|| OpError::new(format!("missing required input {index} ({what})")))
}

/// The facts of the input at `index`, or an error naming it when it is absent.
pub(crate) fn required_facts<'a>(
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

/// The `f32` elements of the input at `index`, or an error naming the expected type.
pub(crate) fn required_f32<'a>(
    inputs: &[Option<&'a Tensor>],
    index: usize,
    what: &str,
) -> Result<&'a Tensor, OpError> {
    let t = required(inputs, index, what)?;
    if t.dtype() != DType::F32 {
        op_bail!("input {index} ({what}) must be float32, got {}", t.dtype());
    }
    Ok(t)
}

/// Resolves a possibly negative axis against `rank`.
pub(crate) fn normalize_axis(axis: i64, rank: usize) -> Result<usize, OpError> {
    let r = rank as i64;
    let a = if axis < 0 { axis + r } else { axis };
    if a < 0 || a >= r {
        op_bail!("axis {axis} is out of range for rank {rank}");
    }
    Ok(a as usize)
}
