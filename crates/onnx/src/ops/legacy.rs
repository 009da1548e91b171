//! What opsets 1 to 6 meant differently, shared by several translators: the `consumed_inputs`
//! attribute, and broadcasting rules that the IR's numpy broadcasting expresses only once the
//! right-hand operand is reshaped.
//!
//! Before opset 7, Add/Sub/Mul/Div broadcast B onto a contiguous run of A's dims starting at
//! `axis`, and PRelu applied a 1-D slope along the channel axis 1. Numpy aligns shapes at the
//! end instead, so such an operand needs trailing 1s. The importer inserts no node for that:
//! a constant operand is reshaped at load time, and anything else is rejected.

use litecnn_engine::Dim;

use super::{NodeCtx, Operand};
use crate::attrs::Attrs;
use crate::error::{LoadError, bail};

/// Whether `op_type` at `opset` still had the `consumed_inputs` attribute (a hint for in-place
/// runtimes that never changes a result). Reshape dropped it at opset 5, the others at 6.
pub fn had_consumed_inputs(op_type: &str, opset: i64) -> bool {
    let removed_at = match op_type {
        "Reshape" => 5,
        "Add" | "Sub" | "Mul" | "Div" | "PRelu" | "Clip" | "BatchNormalization" | "Dropout"
        | "Relu" | "LeakyRelu" | "Sigmoid" | "HardSigmoid" | "Tanh" | "Neg" | "Abs" | "Exp"
        | "Sqrt" | "Reciprocal" | "Ceil" | "Floor" => 6,
        _ => return false,
    };
    opset < removed_at
}

/// `is_test` of BatchNormalization and Dropout before opset 7. `is_test=0` asks for training
/// (batch statistics, random dropout), which litecnn does not implement. An absent `is_test`
/// is accepted as test mode, as ONNX's version converter does when it lifts such a node to
/// opset 7, where the attribute is gone and only inference remains.
pub fn require_test_mode(a: &mut Attrs) -> Result<(), LoadError> {
    match a.int("is_test")? {
        Some(0) => bail!(
            UnsupportedAttribute,
            "unsupported attribute value is_test=0 (training mode)"
        ),
        _ => Ok(()),
    }
}

/// Operand B of Add/Sub/Mul/Div before opset 7, read from `broadcast` and `axis`.
///
/// Without `broadcast=1`, A and B have equal shapes, and without `axis` B matches A's trailing
/// dims: numpy broadcasting gives the same result for both as is. With `axis`, B's dims sit at
/// `axis..axis + rank(B)` in A and need one trailing 1 per dim of A after them.
pub fn binary_operand_b(ctx: &NodeCtx, a: &mut Attrs) -> Result<Operand, LoadError> {
    let broadcast = a.bool_or("broadcast", false)?;
    let axis = a.int("axis")?;
    let Some(axis) = axis.filter(|_| broadcast) else {
        return Ok(Operand::Input(1));
    };
    if all_ones(ctx, 1) {
        return Ok(Operand::Input(1));
    }
    let (Some(rank_a), Some(rank_b)) = (ctx.rank(0), ctx.rank(1)) else {
        bail!(
            UnsupportedAttribute,
            "legacy broadcasting with axis={axis} needs the ranks of A and B, which are not \
             known at load time"
        );
    };
    let ones = match usize::try_from(axis) {
        Ok(start) if start + rank_b <= rank_a => rank_a - start - rank_b,
        _ => bail!(
            Malformed,
            "attribute \"axis\" is {axis}, but B (rank {rank_b}) does not fit in A (rank \
             {rank_a}) from there"
        ),
    };
    match with_trailing_ones(ctx, 1, "B", ones) {
        Some(b) => Ok(b),
        None => bail!(
            UnsupportedAttribute,
            "legacy broadcasting with axis={axis} needs B reshaped to rank {}, which litecnn \
             does only for a constant B",
            rank_b + ones
        ),
    }
}

/// The slope of PRelu before opset 7: a 1-D slope of C elements applies along axis 1, so
/// numpy broadcasting needs it as `[C, 1, ..., 1]` for inputs of rank 3 and more. A slope of
/// one element, or one already of rank 2 and more, broadcasts the same under both rules.
pub fn prelu_slope(ctx: &NodeCtx) -> Result<Operand, LoadError> {
    let Some(shape) = ctx.shape(1) else {
        bail!(
            UnsupportedFeature,
            "before opset 7 the slope's meaning depends on its shape, which is not known at \
             load time"
        );
    };
    if shape.len() != 1 || all_ones(ctx, 1) {
        return Ok(Operand::Input(1));
    }
    let Some(rank_x) = ctx.rank(0) else {
        bail!(
            UnsupportedFeature,
            "before opset 7 a 1-D slope applies along axis 1, which needs the rank of X, not \
             known at load time"
        );
    };
    match with_trailing_ones(ctx, 1, "slope", rank_x.saturating_sub(2)) {
        Some(slope) => Ok(slope),
        None => bail!(
            UnsupportedFeature,
            "before opset 7 a 1-D slope applies along axis 1, which needs it reshaped to rank \
             {}; litecnn does that only for a constant slope",
            rank_x - 1
        ),
    }
}

/// Whether input `i` is known to have only dims of 1, which broadcast anywhere.
fn all_ones(ctx: &NodeCtx, i: usize) -> bool {
    ctx.shape(i)
        .is_some_and(|s| s.iter().all(|d| *d == Dim::Known(1)))
}

/// Input `i` followed by `ones` dims of 1: itself when `ones` is 0, a reshaped copy when it is
/// a constant, and `None` otherwise (the reshape would need a node).
fn with_trailing_ones(ctx: &NodeCtx, i: usize, name: &'static str, ones: usize) -> Option<Operand> {
    if ones == 0 {
        return Some(Operand::Input(i));
    }
    let t = ctx.constant(i)?;
    let mut shape = t.shape().to_vec();
    shape.resize(shape.len() + ones, 1);
    let reshaped = t.clone().reshaped(shape).expect("only 1s were added");
    Some(Operand::Const(name, reshaped))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{Known, inputs_of, lower, lower_known};
    use super::*;
    use crate::builder::{attr_int, attr_ints};
    use crate::error::ErrorKind;
    use litecnn_engine::Tensor;

    fn legacy_add(
        b: Known,
        attrs: Vec<crate::proto::AttributeProto>,
    ) -> Result<Vec<Operand>, LoadError> {
        let a = Known::shaped(&[2, 3, 4, 5]);
        lower_known("Add", 6, vec![a, b], 1, attrs).map(inputs_of)
    }

    fn b_const(shape: &[usize]) -> Tensor {
        let n = shape.iter().product();
        Tensor::from_f32(shape.to_vec(), (0..n).map(|v| v as f32).collect()).unwrap()
    }

    #[test]
    fn consumed_inputs_is_accepted_only_where_it_existed() {
        let c = || vec![attr_ints("consumed_inputs", &[0])];
        assert!(lower("Relu", 5, 1, 1, c()).is_ok());
        assert!(
            lower(
                "Reshape",
                4,
                1,
                1,
                vec![
                    attr_ints("consumed_inputs", &[0]),
                    attr_ints("shape", &[-1])
                ]
            )
            .is_ok()
        );
        for (op, opset, n_in) in [("Relu", 6, 1), ("Reshape", 5, 2), ("Conv", 1, 2)] {
            let e = lower(op, opset, n_in, 1, c()).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::UnsupportedAttribute, "{op} {opset}");
        }
    }

    #[test]
    fn axis_reshapes_a_constant_b() {
        let broadcast = |axis| vec![attr_int("broadcast", 1), attr_int("axis", axis)];
        let ins = legacy_add(Known::constant(b_const(&[3, 4])), broadcast(1)).unwrap();
        let want = b_const(&[3, 4]).reshaped(vec![3, 4, 1]).unwrap();
        assert_eq!(ins, vec![Operand::Input(0), Operand::Const("B", want)]);
        // The trailing run is numpy's alignment already.
        let ins = legacy_add(Known::constant(b_const(&[4, 5])), broadcast(2)).unwrap();
        assert_eq!(ins[1], Operand::Input(1));
        let e = legacy_add(Known::constant(b_const(&[4, 5])), broadcast(3)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Malformed);
    }

    #[test]
    fn axis_on_a_runtime_b_is_rejected_unless_no_reshape_is_needed() {
        let attrs = || vec![attr_int("broadcast", 1), attr_int("axis", 0)];
        let e = legacy_add(Known::shaped(&[2]), attrs()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnsupportedAttribute);
        assert!(e.message().contains("constant B"), "{e}");
        let e = legacy_add(Known::default(), attrs()).unwrap_err();
        assert!(e.message().contains("not known"), "{e}");
        assert_eq!(
            legacy_add(Known::shaped(&[1, 1]), attrs()).unwrap()[1],
            Operand::Input(1)
        );
        assert_eq!(
            legacy_add(Known::shaped(&[2, 3, 4, 5]), attrs()).unwrap()[1],
            Operand::Input(1)
        );
    }

    #[test]
    fn without_broadcast_or_axis_b_is_kept() {
        let b = || Known::shaped(&[5]);
        assert_eq!(
            legacy_add(b(), vec![attr_int("broadcast", 1)]).unwrap()[1],
            Operand::Input(1)
        );
        assert_eq!(legacy_add(b(), vec![]).unwrap()[1], Operand::Input(1));
        assert!(lower("Add", 7, 2, 1, vec![attr_int("broadcast", 1)]).is_err());
    }

    #[test]
    fn prelu_slope_goes_to_the_channel_axis() {
        let slope = b_const(&[3]);
        let x = Known::shaped(&[2, 3, 4, 5]);
        let ins = lower_known(
            "PRelu",
            6,
            vec![x.clone(), Known::constant(slope.clone())],
            1,
            vec![],
        );
        let want = slope.clone().reshaped(vec![3, 1, 1]).unwrap();
        assert_eq!(inputs_of(ins.unwrap())[1], Operand::Const("slope", want));
        let ins = lower_known(
            "PRelu",
            6,
            vec![Known::shaped(&[2, 3]), Known::constant(slope.clone())],
            1,
            vec![],
        );
        assert_eq!(inputs_of(ins.unwrap())[1], Operand::Input(1));
        let one = Known::constant(b_const(&[1]));
        let ins = lower_known("PRelu", 6, vec![Known::default(), one], 1, vec![]);
        assert_eq!(inputs_of(ins.unwrap())[1], Operand::Input(1));
        for (x, s) in [
            (Known::default(), Known::constant(slope.clone())),
            (x.clone(), Known::shaped(&[3])),
            (x, Known::default()),
        ] {
            let e = lower_known("PRelu", 6, vec![x, s], 1, vec![]).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::UnsupportedFeature, "{e}");
        }
        // From opset 7 the slope broadcasts the numpy way, whatever its shape.
        let ins = lower_known(
            "PRelu",
            7,
            vec![Known::default(), Known::constant(slope)],
            1,
            vec![],
        );
        assert_eq!(inputs_of(ins.unwrap())[1], Operand::Input(1));
    }
}
