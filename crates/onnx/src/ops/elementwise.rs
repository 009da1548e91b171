//! Elementwise ops: the unary activations, the four broadcasting arithmetic ops, PRelu and Clip
//! (whose bounds were attributes before opset 11). Before opset 7 the arithmetic ops and PRelu
//! broadcast differently; [`super::legacy`] rewrites their second operand.

use litecnn_engine::Tensor;
use litecnn_engine::ir::{BinaryOp, Op, UnaryOp};

use super::{Lowered, NodeCtx, Operand, legacy};
use crate::attrs::Attrs;
use crate::error::{LoadError, bail};

/// The unary op called `op_type`, with its default parameters.
pub fn unary_op(op_type: &str) -> Option<UnaryOp> {
    Some(match op_type {
        "Relu" => UnaryOp::Relu,
        "LeakyRelu" => UnaryOp::LeakyRelu { alpha: 0.01 },
        "Sigmoid" => UnaryOp::Sigmoid,
        "HardSigmoid" => UnaryOp::HardSigmoid {
            alpha: 0.2,
            beta: 0.5,
        },
        "HardSwish" => UnaryOp::HardSwish,
        "Tanh" => UnaryOp::Tanh,
        "Neg" => UnaryOp::Neg,
        "Abs" => UnaryOp::Abs,
        "Exp" => UnaryOp::Exp,
        "Sqrt" => UnaryOp::Sqrt,
        "Reciprocal" => UnaryOp::Reciprocal,
        "Ceil" => UnaryOp::Ceil,
        "Floor" => UnaryOp::Floor,
        _ => return None,
    })
}

pub fn unary(ctx: &NodeCtx) -> Result<Lowered, LoadError> {
    ctx.inputs(1, 1)?;
    ctx.outputs(1)?;
    let Some(default) = unary_op(ctx.op_type) else {
        bail!(UnsupportedOp, "unsupported op {}", ctx.op_type);
    };
    let mut a = ctx.attrs()?;
    let op = unary_params(default, &mut a)?;
    a.finish()?;
    Ok(Lowered::same_inputs(Op::Unary(op), ctx))
}

/// Replaces the default parameters with the attributes' values.
fn unary_params(op: UnaryOp, a: &mut Attrs) -> Result<UnaryOp, LoadError> {
    Ok(match op {
        UnaryOp::LeakyRelu { alpha } => UnaryOp::LeakyRelu {
            alpha: a.float_or("alpha", alpha)?,
        },
        UnaryOp::HardSigmoid { alpha, beta } => UnaryOp::HardSigmoid {
            alpha: a.float_or("alpha", alpha)?,
            beta: a.float_or("beta", beta)?,
        },
        other => other,
    })
}

/// Add, Sub, Mul, Div: A, B. Before opset 7, `broadcast` and `axis` say how B meets A.
pub fn binary(ctx: &NodeCtx) -> Result<Lowered, LoadError> {
    ctx.inputs(2, 2)?;
    ctx.outputs(1)?;
    let mut a = ctx.attrs()?;
    let b = if ctx.opset_below(7) {
        legacy::binary_operand_b(ctx, &mut a)?
    } else {
        Operand::Input(1)
    };
    a.finish()?;
    let op = match ctx.op_type {
        "Add" => BinaryOp::Add,
        "Sub" => BinaryOp::Sub,
        "Mul" => BinaryOp::Mul,
        _ => BinaryOp::Div,
    };
    Ok(Lowered::with_inputs(
        Op::Binary(op),
        vec![Operand::Input(0), b],
    ))
}

/// PRelu: X, slope. Before opset 7 a 1-D slope is per channel (axis 1).
pub fn prelu(ctx: &NodeCtx) -> Result<Lowered, LoadError> {
    ctx.inputs(2, 2)?;
    ctx.outputs(1)?;
    ctx.attrs()?.finish()?;
    let slope = if ctx.opset_below(7) {
        legacy::prelu_slope(ctx)?
    } else {
        Operand::Input(1)
    };
    Ok(Lowered::with_inputs(
        Op::PRelu,
        vec![Operand::Input(0), slope],
    ))
}

/// Clip: X, [min], [max]. Before opset 11 the bounds were float attributes.
pub fn clip(ctx: &NodeCtx) -> Result<Lowered, LoadError> {
    ctx.outputs(1)?;
    let mut a = ctx.attrs()?;
    if !ctx.opset_below(11) {
        ctx.inputs(1, 3)?;
        a.finish()?;
        return Ok(Lowered::same_inputs(Op::Clip, ctx));
    }
    ctx.inputs(1, 1)?;
    let bound = |name, v: Option<f32>| match v {
        Some(v) => Operand::Const(name, Tensor::scalar_f32(v)),
        None => Operand::Absent,
    };
    let min = bound("min", a.float("min")?);
    let max = bound("max", a.float("max")?);
    a.finish()?;
    Ok(Lowered::with_inputs(
        Op::Clip,
        vec![Operand::Input(0), min, max],
    ))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{lower, op_of};
    use super::*;
    use crate::builder::attr_float;

    #[test]
    fn activation_defaults_and_attributes() {
        let op = op_of(lower("LeakyRelu", 16, 1, 1, vec![]).unwrap());
        assert_eq!(op, Op::Unary(UnaryOp::LeakyRelu { alpha: 0.01 }));
        let op = op_of(lower("HardSigmoid", 6, 1, 1, vec![attr_float("alpha", 0.25)]).unwrap());
        assert_eq!(
            op,
            Op::Unary(UnaryOp::HardSigmoid {
                alpha: 0.25,
                beta: 0.5
            })
        );
        assert!(lower("Relu", 14, 1, 1, vec![attr_float("alpha", 1.0)]).is_err());
    }

    #[test]
    fn binary_ops() {
        for (name, op) in [
            ("Add", BinaryOp::Add),
            ("Sub", BinaryOp::Sub),
            ("Mul", BinaryOp::Mul),
            ("Div", BinaryOp::Div),
        ] {
            assert_eq!(
                op_of(lower(name, 14, 2, 1, vec![]).unwrap()),
                Op::Binary(op)
            );
        }
    }

    #[test]
    fn old_clip_bounds_become_constants() {
        let l = lower("Clip", 6, 1, 1, vec![attr_float("max", 6.0)]).unwrap();
        let Lowered::Node { inputs, .. } = l else {
            panic!()
        };
        let max = Operand::Const("max", Tensor::scalar_f32(6.0));
        assert_eq!(inputs, vec![Operand::Input(0), Operand::Absent, max]);
    }
}
