//! BatchNormalization, inference form only.

use litecnn_engine::Op;

use super::{Lowered, NodeCtx, legacy};
use crate::error::{LoadError, bail};

/// X, scale, B, mean, var → Y. The running-statistics outputs exist only in training, so any
/// use of them (or `training_mode=1`) is rejected.
pub fn batch_norm(ctx: &NodeCtx) -> Result<Lowered, LoadError> {
    ctx.inputs(5, 5)?;
    ctx.outputs(5)?;
    ctx.unused_from(1, "a training statistic")?;
    let mut a = ctx.attrs()?;
    let epsilon = a.float_or("epsilon", 1e-5)?;
    // Momentum only updates the running statistics, which inference never produces.
    a.ignore("momentum");
    let spatial = a.int_or("spatial", 1)?;
    if ctx.opset_below(7) {
        legacy::require_test_mode(&mut a)?;
    }
    let training = a.int_or("training_mode", 0)?;
    a.finish()?;
    if spatial != 1 {
        bail!(
            UnsupportedAttribute,
            "unsupported attribute value spatial={spatial}"
        );
    }
    if training != 0 {
        bail!(
            UnsupportedAttribute,
            "unsupported attribute value training_mode={training}"
        );
    }
    Ok(Lowered::same_inputs(
        Op::BatchNormalization { epsilon },
        ctx,
    ))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{lower, op_of};
    use super::*;
    use crate::builder::{attr_float, attr_int, attr_ints};
    use crate::error::ErrorKind;

    #[test]
    fn epsilon_defaults_and_reads() {
        let op = op_of(lower("BatchNormalization", 15, 5, 1, vec![]).unwrap());
        assert_eq!(op, Op::BatchNormalization { epsilon: 1e-5 });
        let attrs = vec![attr_float("epsilon", 1e-3), attr_float("momentum", 0.9)];
        let op = op_of(lower("BatchNormalization", 15, 5, 1, attrs).unwrap());
        assert_eq!(op, Op::BatchNormalization { epsilon: 1e-3 });
    }

    #[test]
    fn old_is_test_must_not_select_training() {
        let test_mode = vec![
            attr_int("is_test", 1),
            attr_ints("consumed_inputs", &[0, 0]),
        ];
        let op = op_of(lower("BatchNormalization", 5, 5, 1, test_mode).unwrap());
        assert_eq!(op, Op::BatchNormalization { epsilon: 1e-5 });
        assert!(lower("BatchNormalization", 6, 5, 1, vec![]).is_ok());
        let e = lower("BatchNormalization", 6, 5, 1, vec![attr_int("is_test", 0)]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnsupportedAttribute);
        let e = lower("BatchNormalization", 7, 5, 1, vec![attr_int("is_test", 1)]).unwrap_err();
        assert_eq!(e.message(), "unsupported attribute \"is_test\"");
    }

    #[test]
    fn training_forms_are_rejected() {
        let cases = [
            (vec![attr_int("training_mode", 1)], 1),
            (vec![attr_int("spatial", 0)], 1),
            (vec![], 3),
        ];
        for (attrs, outputs) in cases {
            let e = lower("BatchNormalization", 15, 5, outputs, attrs).unwrap_err();
            assert!(
                matches!(
                    e.kind(),
                    ErrorKind::UnsupportedAttribute | ErrorKind::UnsupportedFeature
                ),
                "{e}"
            );
        }
    }
}
