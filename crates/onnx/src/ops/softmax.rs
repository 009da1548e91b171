//! Softmax, whose meaning changed at opset 13: before, the input was coerced to 2-D around
//! `axis` (default 1); from 13 it normalises along one axis (default -1).

use litecnn_engine::Op;

use super::{Lowered, NodeCtx};
use crate::error::LoadError;

pub fn softmax(ctx: &NodeCtx) -> Result<Lowered, LoadError> {
    ctx.inputs(1, 1)?;
    ctx.outputs(1)?;
    let coerce_2d = ctx.opset_below(13);
    let mut a = ctx.attrs()?;
    let axis = a.int_or("axis", if coerce_2d { 1 } else { -1 })?;
    a.finish()?;
    Ok(Lowered::same_inputs(Op::Softmax { axis, coerce_2d }, ctx))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{lower, op_of};
    use super::*;

    #[test]
    fn default_axis_depends_on_opset() {
        let old = op_of(lower("Softmax", 11, 1, 1, vec![]).unwrap());
        assert_eq!(
            old,
            Op::Softmax {
                axis: 1,
                coerce_2d: true
            }
        );
        let new = op_of(lower("Softmax", 13, 1, 1, vec![]).unwrap());
        assert_eq!(
            new,
            Op::Softmax {
                axis: -1,
                coerce_2d: false
            }
        );
    }
}
