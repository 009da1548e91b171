//! ReduceMean, whose axes were an attribute before opset 18.

use litecnn_engine::{Op, Tensor};

use super::{Lowered, NodeCtx, Operand};
use crate::error::LoadError;

/// ReduceMean: data, [axes]. Before opset 18 `noop_with_empty_axes` did not exist, and no axes
/// meant "all axes", which is what `false` selects.
pub fn reduce_mean(ctx: &NodeCtx) -> Result<Lowered, LoadError> {
    ctx.outputs(1)?;
    let mut a = ctx.attrs()?;
    let keepdims = a.bool_or("keepdims", true)?;
    if !ctx.opset_below(18) {
        ctx.inputs(1, 2)?;
        let noop_with_empty_axes = a.bool_or("noop_with_empty_axes", false)?;
        a.finish()?;
        let op = Op::ReduceMean {
            keepdims,
            noop_with_empty_axes,
        };
        return Ok(Lowered::same_inputs(op, ctx));
    }
    ctx.inputs(1, 1)?;
    let axes = match a.ints("axes")? {
        Some(v) => Operand::Const("axes", Tensor::vec_i64(v)),
        None => Operand::Absent,
    };
    a.finish()?;
    let op = Op::ReduceMean {
        keepdims,
        noop_with_empty_axes: false,
    };
    Ok(Lowered::with_inputs(op, vec![Operand::Input(0), axes]))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{lower, op_of};
    use super::*;
    use crate::builder::{attr_int, attr_ints};

    #[test]
    fn old_form_rejects_new_attribute_and_vice_versa() {
        assert!(
            lower(
                "ReduceMean",
                13,
                1,
                1,
                vec![attr_int("noop_with_empty_axes", 1)]
            )
            .is_err()
        );
        assert!(lower("ReduceMean", 18, 1, 1, vec![attr_ints("axes", &[1])]).is_err());
    }

    #[test]
    fn keepdims_defaults_to_true() {
        let op = op_of(lower("ReduceMean", 18, 2, 1, vec![]).unwrap());
        let want = Op::ReduceMean {
            keepdims: true,
            noop_with_empty_axes: false,
        };
        assert_eq!(op, want);
    }
}
