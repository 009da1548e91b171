//! Ops that select or assemble parts of tensors: Concat, Split, Slice, Pad and Gather. Split
//! sizes (before opset 13), Slice bounds (before 10) and Pad pads/value (before 11) were
//! attributes; they become constant inputs.

use litecnn_engine::Tensor;
use litecnn_engine::ir::{Op, PadMode};

use super::{Lowered, NodeCtx, Operand};
use crate::error::{LoadError, bail};

pub fn concat(ctx: &NodeCtx) -> Result<Lowered, LoadError> {
    ctx.inputs(1, usize::MAX)?;
    ctx.outputs(1)?;
    let mut a = ctx.attrs()?;
    let Some(axis) = a.int("axis")? else {
        bail!(Malformed, "attribute \"axis\" is required");
    };
    a.finish()?;
    Ok(Lowered::same_inputs(Op::Concat { axis }, ctx))
}

/// Split: X, [sizes] → one output per part; every output is kept, used or not, because
/// their number decides the split.
pub fn split(ctx: &NodeCtx) -> Result<Lowered, LoadError> {
    ctx.outputs(usize::MAX)?;
    let mut a = ctx.attrs()?;
    let axis = a.int_or("axis", 0)?;
    let sizes = if ctx.opset_below(13) {
        ctx.inputs(1, 1)?;
        match a.ints("split")? {
            Some(v) => Operand::Const("split", Tensor::vec_i64(v)),
            None => Operand::Absent,
        }
    } else {
        ctx.inputs(1, 2)?;
        Operand::Input(1)
    };
    let parts = ctx.node.output.len();
    if let Some(n) = a.int("num_outputs")?
        && usize::try_from(n) != Ok(parts)
    {
        bail!(
            Malformed,
            "attribute \"num_outputs\" is {n}, but the node has {parts} outputs"
        );
    }
    a.finish()?;
    Ok(Lowered::Node {
        op: Op::Split { axis },
        inputs: vec![Operand::Input(0), sizes],
        outputs: parts,
    })
}

/// Slice: data, starts, ends, [axes], [steps].
pub fn slice(ctx: &NodeCtx) -> Result<Lowered, LoadError> {
    ctx.outputs(1)?;
    let mut a = ctx.attrs()?;
    if !ctx.opset_below(10) {
        ctx.inputs(3, 5)?;
        a.finish()?;
        return Ok(Lowered::same_inputs(Op::Slice, ctx));
    }
    ctx.inputs(1, 1)?;
    let mut bound = |name: &'static str| match a.ints(name) {
        Ok(Some(v)) => Ok(Operand::Const(name, Tensor::vec_i64(v))),
        Ok(None) if name == "axes" => Ok(Operand::Absent),
        Ok(None) => bail!(Malformed, "attribute \"{name}\" is required"),
        Err(e) => Err(e),
    };
    let inputs = vec![
        Operand::Input(0),
        bound("starts")?,
        bound("ends")?,
        bound("axes")?,
    ];
    a.finish()?;
    Ok(Lowered::with_inputs(Op::Slice, inputs))
}

/// Pad: data, pads, [constant_value], [axes].
pub fn pad(ctx: &NodeCtx) -> Result<Lowered, LoadError> {
    ctx.outputs(1)?;
    let mut a = ctx.attrs()?;
    let mode = pad_mode(a.string("mode")?.as_deref())?;
    if !ctx.opset_below(11) {
        ctx.inputs(2, 4)?;
        a.finish()?;
        return Ok(Lowered::same_inputs(Op::Pad { mode }, ctx));
    }
    ctx.inputs(1, 1)?;
    let Some(pads) = a.ints("pads")? else {
        bail!(Malformed, "attribute \"pads\" is required");
    };
    let value = a.float_or("value", 0.0)?;
    a.finish()?;
    let inputs = vec![
        Operand::Input(0),
        Operand::Const("pads", Tensor::vec_i64(pads)),
        Operand::Const("constant_value", Tensor::scalar_f32(value)),
    ];
    Ok(Lowered::with_inputs(Op::Pad { mode }, inputs))
}

fn pad_mode(s: Option<&str>) -> Result<PadMode, LoadError> {
    Ok(match s.unwrap_or("constant") {
        "constant" => PadMode::Constant,
        "reflect" => PadMode::Reflect,
        "edge" => PadMode::Edge,
        "wrap" => bail!(
            UnsupportedAttribute,
            "unsupported attribute value mode=\"wrap\""
        ),
        other => bail!(
            Malformed,
            "attribute \"mode\" has unknown value \"{other}\""
        ),
    })
}

pub fn gather(ctx: &NodeCtx) -> Result<Lowered, LoadError> {
    ctx.inputs(2, 2)?;
    ctx.outputs(1)?;
    let mut a = ctx.attrs()?;
    let axis = a.int_or("axis", 0)?;
    a.finish()?;
    Ok(Lowered::same_inputs(Op::Gather { axis }, ctx))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{lower, op_of};
    use super::*;
    use crate::builder::{attr_int, attr_ints, attr_string};
    use crate::error::ErrorKind;

    #[test]
    fn concat_requires_axis() {
        assert!(lower("Concat", 13, 2, 1, vec![]).is_err());
        let op = op_of(lower("Concat", 13, 3, 1, vec![attr_int("axis", -1)]).unwrap());
        assert_eq!(op, Op::Concat { axis: -1 });
    }

    #[test]
    fn split_keeps_every_output_and_checks_num_outputs() {
        let l = lower("Split", 18, 1, 3, vec![attr_int("num_outputs", 3)]).unwrap();
        let Lowered::Node { outputs, .. } = l else {
            panic!()
        };
        assert_eq!(outputs, 3);
        assert!(lower("Split", 18, 1, 3, vec![attr_int("num_outputs", 2)]).is_err());
    }

    #[test]
    fn old_slice_requires_starts_and_ends() {
        assert!(lower("Slice", 9, 1, 1, vec![attr_ints("starts", &[0])]).is_err());
        let ok = vec![attr_ints("starts", &[0]), attr_ints("ends", &[1])];
        assert!(lower("Slice", 9, 1, 1, ok).is_ok());
    }

    #[test]
    fn pad_modes() {
        let mode = |m: &str| lower("Pad", 19, 2, 1, vec![attr_string("mode", m)]);
        assert_eq!(
            op_of(mode("edge").unwrap()),
            Op::Pad {
                mode: PadMode::Edge
            }
        );
        assert_eq!(
            op_of(mode("reflect").unwrap()),
            Op::Pad {
                mode: PadMode::Reflect
            }
        );
        let e = mode("wrap").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnsupportedAttribute);
        assert_eq!(mode("mirror").unwrap_err().kind(), ErrorKind::Malformed);
    }
}
