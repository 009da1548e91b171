//! Ops that select or assemble parts of tensors: Concat, Split, Slice, Pad and Gather. Split
//! sizes (before opset 13), Slice bounds (before 10) and Pad pads/value (before 11) were
//! attributes; they become constant inputs. Opsets 1 to 3 differ in small ways too: Concat's
//! axis defaulted to 1, Pad-1 called its pads `paddings`, and Split-1 also took its sizes as
//! an input.

use litecnn_engine::Tensor;
use litecnn_engine::ir::{Op, PadMode};

use super::{Lowered, NodeCtx, Operand};
use crate::attrs::Attrs;
use crate::error::{LoadError, bail};

/// Concat: `axis` is required from opset 4; before, it defaulted to 1.
pub fn concat(ctx: &NodeCtx) -> Result<Lowered, LoadError> {
    ctx.inputs(1, usize::MAX)?;
    ctx.outputs(1)?;
    let mut a = ctx.attrs()?;
    let axis = match a.int("axis")? {
        Some(axis) => axis,
        None if ctx.opset_below(4) => 1,
        None => bail!(Malformed, "attribute \"axis\" is required"),
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
        old_split_sizes(ctx, &mut a)?
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

/// The sizes of Split before opset 13: the `split` attribute, or at opset 1 alternatively
/// the second input.
fn old_split_sizes(ctx: &NodeCtx, a: &mut Attrs) -> Result<Operand, LoadError> {
    let max_inputs = if ctx.opset_below(2) { 2 } else { 1 };
    ctx.inputs(1, max_inputs)?;
    match (a.ints("split")?, ctx.has_input(1)) {
        (Some(_), true) => bail!(
            Malformed,
            "the sizes are given both as attribute \"split\" and as input 1"
        ),
        (Some(v), false) => Ok(Operand::Const("split", Tensor::vec_i64(v))),
        (None, true) => Ok(Operand::Input(1)),
        (None, false) => Ok(Operand::Absent),
    }
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
    // Pad-1 called them `paddings`, in the same [begins..., ends...] order.
    let name = if ctx.opset_below(2) {
        "paddings"
    } else {
        "pads"
    };
    let Some(pads) = a.ints(name)? else {
        bail!(Malformed, "attribute \"{name}\" is required");
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
    use super::super::testing::{inputs_of, lower, op_of};
    use super::*;
    use crate::builder::{attr_int, attr_ints, attr_string};
    use crate::error::ErrorKind;

    #[test]
    fn concat_requires_axis() {
        assert!(lower("Concat", 13, 2, 1, vec![]).is_err());
        assert!(lower("Concat", 4, 2, 1, vec![]).is_err());
        let op = op_of(lower("Concat", 13, 3, 1, vec![attr_int("axis", -1)]).unwrap());
        assert_eq!(op, Op::Concat { axis: -1 });
    }

    #[test]
    fn old_concat_axis_defaults_to_1() {
        let op = op_of(lower("Concat", 3, 2, 1, vec![]).unwrap());
        assert_eq!(op, Op::Concat { axis: 1 });
    }

    #[test]
    fn split_1_takes_sizes_as_attribute_or_input() {
        let l = lower("Split", 1, 2, 2, vec![attr_int("axis", 1)]).unwrap();
        assert_eq!(inputs_of(l), vec![Operand::Input(0), Operand::Input(1)]);
        let both = vec![attr_ints("split", &[1, 1])];
        assert_eq!(
            lower("Split", 1, 2, 2, both).unwrap_err().kind(),
            ErrorKind::Malformed
        );
        assert!(lower("Split", 2, 2, 2, vec![]).is_err());
    }

    #[test]
    fn pad_1_calls_its_pads_paddings() {
        let l = lower("Pad", 1, 1, 1, vec![attr_ints("paddings", &[0, 1, 0, 1])]).unwrap();
        let pads = Operand::Const("pads", Tensor::vec_i64(vec![0, 1, 0, 1]));
        assert_eq!(inputs_of(l)[1], pads);
        assert!(lower("Pad", 1, 1, 1, vec![attr_ints("pads", &[0, 1, 0, 1])]).is_err());
        assert!(lower("Pad", 2, 1, 1, vec![attr_ints("paddings", &[0, 1, 0, 1])]).is_err());
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
