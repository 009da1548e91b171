//! Ops that only rearrange elements: Flatten, Reshape (whose target shape was an attribute
//! before opset 5), Transpose, Squeeze and Unsqueeze (whose axes were an attribute before
//! opset 13).

use litecnn_engine::{Op, Tensor};

use super::{Lowered, NodeCtx, Operand};
use crate::error::{LoadError, bail};

pub fn flatten(ctx: &NodeCtx) -> Result<Lowered, LoadError> {
    ctx.inputs(1, 1)?;
    ctx.outputs(1)?;
    let mut a = ctx.attrs()?;
    let axis = a.int_or("axis", 1)?;
    a.finish()?;
    Ok(Lowered::same_inputs(Op::Flatten { axis }, ctx))
}

/// Reshape: data, shape. Before opset 5 the shape is the `shape` attribute, where 0 already
/// meant "copy this dim" (`allowzero=0`).
pub fn reshape(ctx: &NodeCtx) -> Result<Lowered, LoadError> {
    ctx.outputs(1)?;
    let mut a = ctx.attrs()?;
    if !ctx.opset_below(5) {
        ctx.inputs(2, 2)?;
        let allowzero = a.bool_or("allowzero", false)?;
        a.finish()?;
        return Ok(Lowered::same_inputs(Op::Reshape { allowzero }, ctx));
    }
    ctx.inputs(1, 1)?;
    let Some(shape) = a.ints("shape")? else {
        bail!(Malformed, "attribute \"shape\" is required");
    };
    a.finish()?;
    let shape = Operand::Const("shape", Tensor::vec_i64(shape));
    let op = Op::Reshape { allowzero: false };
    Ok(Lowered::with_inputs(op, vec![Operand::Input(0), shape]))
}

/// Transpose: `perm`, when given, must be a permutation of `0..rank`.
pub fn transpose(ctx: &NodeCtx) -> Result<Lowered, LoadError> {
    ctx.inputs(1, 1)?;
    ctx.outputs(1)?;
    let mut a = ctx.attrs()?;
    let perm = a.usizes("perm")?;
    a.finish()?;
    if let Some(p) = &perm {
        let mut seen = vec![false; p.len()];
        for &i in p {
            if i >= p.len() || std::mem::replace(&mut seen[i], true) {
                bail!(Malformed, "attribute \"perm\" is not a permutation: {p:?}");
            }
        }
    }
    Ok(Lowered::same_inputs(Op::Transpose { perm }, ctx))
}

/// Squeeze: data, [axes].
pub fn squeeze(ctx: &NodeCtx) -> Result<Lowered, LoadError> {
    axes_op(ctx, Op::Squeeze, false)
}

/// Unsqueeze: data, axes (required in both forms).
pub fn unsqueeze(ctx: &NodeCtx) -> Result<Lowered, LoadError> {
    axes_op(ctx, Op::Unsqueeze, true)
}

/// The shared shape of Squeeze and Unsqueeze: from opset 13 the axes are input 1, before
/// that the `axes` attribute, which becomes a constant input.
fn axes_op(ctx: &NodeCtx, op: Op, required: bool) -> Result<Lowered, LoadError> {
    ctx.outputs(1)?;
    let mut a = ctx.attrs()?;
    if !ctx.opset_below(13) {
        ctx.inputs(if required { 2 } else { 1 }, 2)?;
        a.finish()?;
        return Ok(Lowered::same_inputs(op, ctx));
    }
    ctx.inputs(1, 1)?;
    let axes = a.ints("axes")?;
    a.finish()?;
    let axes = match axes {
        Some(v) => Operand::Const("axes", Tensor::vec_i64(v)),
        None if required => bail!(Malformed, "attribute \"axes\" is required"),
        None => Operand::Absent,
    };
    Ok(Lowered::with_inputs(op, vec![Operand::Input(0), axes]))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{lower, op_of};
    use super::*;
    use crate::builder::{attr_int, attr_ints};

    #[test]
    fn flatten_and_reshape_defaults() {
        assert_eq!(
            op_of(lower("Flatten", 13, 1, 1, vec![]).unwrap()),
            Op::Flatten { axis: 1 }
        );
        let op = op_of(lower("Reshape", 14, 2, 1, vec![attr_int("allowzero", 1)]).unwrap());
        assert_eq!(op, Op::Reshape { allowzero: true });
    }

    #[test]
    fn old_reshape_takes_the_shape_attribute() {
        let l = lower("Reshape", 4, 1, 1, vec![attr_ints("shape", &[0, -1])]).unwrap();
        let shape = Operand::Const("shape", Tensor::vec_i64(vec![0, -1]));
        let want = Lowered::with_inputs(
            Op::Reshape { allowzero: false },
            vec![Operand::Input(0), shape],
        );
        assert_eq!(l, want);
        assert!(lower("Reshape", 4, 1, 1, vec![]).is_err());
        assert!(lower("Reshape", 4, 2, 1, vec![]).is_err());
        assert!(lower("Reshape", 5, 1, 1, vec![attr_ints("shape", &[-1])]).is_err());
    }

    #[test]
    fn transpose_perm_is_validated() {
        let op = op_of(lower("Transpose", 13, 1, 1, vec![attr_ints("perm", &[0, 2, 1])]).unwrap());
        assert_eq!(
            op,
            Op::Transpose {
                perm: Some(vec![0, 2, 1])
            }
        );
        assert!(lower("Transpose", 13, 1, 1, vec![attr_ints("perm", &[0, 0])]).is_err());
        assert!(lower("Transpose", 13, 1, 1, vec![attr_ints("perm", &[0, 2])]).is_err());
    }

    #[test]
    fn old_unsqueeze_needs_axes() {
        assert!(lower("Unsqueeze", 11, 1, 1, vec![]).is_err());
        assert!(lower("Unsqueeze", 13, 1, 1, vec![]).is_err());
        let l = lower("Squeeze", 11, 1, 1, vec![]).unwrap();
        let Lowered::Node { inputs, .. } = l else {
            panic!()
        };
        assert_eq!(inputs, vec![Operand::Input(0), Operand::Absent]);
    }
}
