//! Identity, and Dropout, which is the identity at inference.

use litecnn_engine::{Op, Tensor, TensorData};

use super::{Lowered, NodeCtx, Operand, legacy};
use crate::error::{LoadError, bail};

pub fn identity(ctx: &NodeCtx) -> Result<Lowered, LoadError> {
    ctx.inputs(1, 1)?;
    ctx.outputs(1)?;
    ctx.attrs()?.finish()?;
    Ok(Lowered::same_inputs(Op::Identity, ctx))
}

/// Dropout: data, [ratio], [training_mode] → output, [mask]. At inference the output is the
/// input, whatever the ratio or seed; training mode (before opset 7 `is_test=0`) and the mask
/// are rejected.
pub fn dropout(ctx: &NodeCtx) -> Result<Lowered, LoadError> {
    ctx.inputs(1, 3)?;
    ctx.outputs(2)?;
    ctx.unused_from(1, "mask")?;
    let mut a = ctx.attrs()?;
    a.ignore("ratio");
    a.ignore("seed");
    if ctx.opset_below(7) {
        legacy::require_test_mode(&mut a)?;
    }
    a.finish()?;
    if ctx.has_input(2) && !ctx.constant(2).is_some_and(is_all_zero) {
        bail!(
            UnsupportedFeature,
            "input \"training_mode\" must be absent or a constant false"
        );
    }
    Ok(Lowered::with_inputs(Op::Identity, vec![Operand::Input(0)]))
}

fn is_all_zero(t: &Tensor) -> bool {
    match t.data() {
        TensorData::F32(v) => v.iter().all(|&x| x == 0.0),
        TensorData::I64(v) => v.iter().all(|&x| x == 0),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::lower;
    use super::*;
    use crate::builder::{attr_float, attr_int};
    use crate::error::ErrorKind;

    #[test]
    fn dropout_is_identity_of_its_data() {
        let l = lower("Dropout", 10, 1, 1, vec![attr_float("ratio", 0.3)]).unwrap();
        assert_eq!(
            l,
            Lowered::with_inputs(Op::Identity, vec![Operand::Input(0)])
        );
    }

    #[test]
    fn old_dropout_needs_test_mode() {
        let identity = Lowered::with_inputs(Op::Identity, vec![Operand::Input(0)]);
        let is_test = |v| vec![attr_int("is_test", v)];
        assert_eq!(lower("Dropout", 6, 1, 1, is_test(1)).unwrap(), identity);
        assert_eq!(lower("Dropout", 6, 1, 1, vec![]).unwrap(), identity);
        let e = lower("Dropout", 6, 1, 1, is_test(0)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnsupportedAttribute);
        assert!(lower("Dropout", 7, 1, 1, is_test(1)).is_err());
    }

    #[test]
    fn dropout_mask_or_dynamic_training_mode_is_rejected() {
        let e = lower("Dropout", 13, 1, 2, vec![]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnsupportedFeature);
        let e = lower("Dropout", 13, 3, 1, vec![]).unwrap_err();
        assert!(e.message().contains("training_mode"), "{e}");
    }
}
