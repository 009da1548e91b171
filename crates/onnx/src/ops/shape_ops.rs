//! The shape arithmetic exporters emit: Shape, Cast and ConstantOfShape.

use litecnn_engine::{Op, Tensor};

use super::{Lowered, NodeCtx};
use crate::attrs::Attrs;
use crate::error::{LoadError, bail};
use crate::proto::tensor_proto::DataType;
use crate::tensor::{dtype_from_onnx, tensor_from_proto};

/// Shape: `start` and `end` (opset 15) select a range of the dimensions.
pub fn shape(ctx: &NodeCtx) -> Result<Lowered, LoadError> {
    ctx.inputs(1, 1)?;
    ctx.outputs(1)?;
    let mut a = ctx.attrs()?;
    let start = a.int_or("start", 0)?;
    let end = a.int("end")?;
    a.finish()?;
    Ok(Lowered::same_inputs(Op::Shape { start, end }, ctx))
}

/// Cast to FLOAT or INT64. `saturate` and `round_mode` only affect float8/float4 targets,
/// which are rejected anyway.
pub fn cast(ctx: &NodeCtx) -> Result<Lowered, LoadError> {
    ctx.inputs(1, 1)?;
    ctx.outputs(1)?;
    let mut a = ctx.attrs()?;
    let code = if ctx.opset_below(6) {
        old_cast_target(&mut a)?
    } else {
        match a.int("to")? {
            Some(to) => i32::try_from(to).unwrap_or(-1),
            None => bail!(Malformed, "attribute \"to\" is required"),
        }
    };
    a.ignore("saturate");
    a.ignore("round_mode");
    a.finish()?;
    let to = dtype_from_onnx(code).map_err(|e| e.prefixed("attribute \"to\""))?;
    Ok(Lowered::same_inputs(Op::Cast { to }, ctx))
}

/// Before opset 6, Cast's `to` names the type ("FLOAT", "INT64"…) instead of giving its code.
fn old_cast_target(a: &mut Attrs) -> Result<i32, LoadError> {
    let Some(name) = a.string("to")? else {
        bail!(Malformed, "attribute \"to\" is required");
    };
    match DataType::from_str_name(&name) {
        Some(t) if t != DataType::Undefined => Ok(t as i32),
        _ => bail!(
            Malformed,
            "attribute \"to\" names no element type: \"{name}\""
        ),
    }
}

/// ConstantOfShape: `value` is a one-element tensor, float 0 when absent.
pub fn constant_of_shape(ctx: &NodeCtx) -> Result<Lowered, LoadError> {
    ctx.inputs(1, 1)?;
    ctx.outputs(1)?;
    let mut a = ctx.attrs()?;
    let value = a.tensor("value")?;
    a.finish()?;
    let value = match value {
        None => Tensor::scalar_f32(0.0)
            .reshaped(vec![1])
            .expect("one element"),
        Some(t) => tensor_from_proto(t.clone()).map_err(|e| e.prefixed("attribute \"value\""))?,
    };
    if value.len() != 1 {
        bail!(
            Malformed,
            "attribute \"value\" must hold one element, got shape {:?}",
            value.shape()
        );
    }
    Ok(Lowered::same_inputs(Op::ConstantOfShape { value }, ctx))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{lower, op_of};
    use super::*;
    use crate::builder::{attr_int, attr_string, attr_tensor, tensor_i64};
    use crate::error::ErrorKind;
    use litecnn_engine::DType;

    #[test]
    fn cast_targets() {
        let op = op_of(lower("Cast", 13, 1, 1, vec![attr_int("to", 7)]).unwrap());
        assert_eq!(op, Op::Cast { to: DType::I64 });
        let e = lower("Cast", 13, 1, 1, vec![attr_int("to", 11)]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnsupportedDType);
        assert!(e.message().contains("DOUBLE"), "{e}");
        assert!(lower("Cast", 13, 1, 1, vec![]).is_err());
    }

    #[test]
    fn old_cast_names_its_target() {
        let op = op_of(lower("Cast", 5, 1, 1, vec![attr_string("to", "INT64")]).unwrap());
        assert_eq!(op, Op::Cast { to: DType::I64 });
        let e = lower("Cast", 1, 1, 1, vec![attr_string("to", "DOUBLE")]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnsupportedDType);
        let e = lower("Cast", 1, 1, 1, vec![attr_string("to", "float")]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Malformed);
        assert!(lower("Cast", 5, 1, 1, vec![attr_int("to", 1)]).is_err());
        assert!(lower("Cast", 6, 1, 1, vec![attr_string("to", "FLOAT")]).is_err());
    }

    #[test]
    fn constant_of_shape_value() {
        let Op::ConstantOfShape { value } =
            op_of(lower("ConstantOfShape", 9, 1, 1, vec![]).unwrap())
        else {
            panic!()
        };
        assert_eq!(value, Tensor::from_f32(vec![1], vec![0.0]).unwrap());
        let attrs = vec![attr_tensor("value", tensor_i64("v", &[1], &[3]))];
        let Op::ConstantOfShape { value } =
            op_of(lower("ConstantOfShape", 9, 1, 1, attrs).unwrap())
        else {
            panic!()
        };
        assert_eq!(value.as_i64(), Some(&[3][..]));
        let attrs = vec![attr_tensor("value", tensor_i64("v", &[2], &[3, 4]))];
        assert!(lower("ConstantOfShape", 9, 1, 1, attrs).is_err());
    }

    #[test]
    fn shape_range() {
        let op = op_of(
            lower(
                "Shape",
                15,
                1,
                1,
                vec![attr_int("start", 1), attr_int("end", -1)],
            )
            .unwrap(),
        );
        assert_eq!(
            op,
            Op::Shape {
                start: 1,
                end: Some(-1)
            }
        );
    }
}
