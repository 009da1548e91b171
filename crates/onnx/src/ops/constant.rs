//! The Constant node, whose value becomes a graph constant instead of a node.

use litecnn_engine::Tensor;

use super::{Lowered, NodeCtx};
use crate::error::{LoadError, bail};
use crate::tensor::tensor_from_proto;

/// Exactly one of `value`, `value_float(s)`, `value_int(s)`; the string and sparse forms are
/// reported as unsupported attributes.
pub fn constant(ctx: &NodeCtx) -> Result<Lowered, LoadError> {
    ctx.inputs(0, 0)?;
    ctx.outputs(1)?;
    let mut a = ctx.attrs()?;
    let mut found = Vec::new();
    if let Some(t) = a.tensor("value")? {
        found.push(tensor_from_proto(t.clone()).map_err(|e| e.prefixed("attribute \"value\""))?);
    }
    found.extend(a.float("value_float")?.map(Tensor::scalar_f32));
    found.extend(a.int("value_int")?.map(Tensor::scalar_i64));
    found.extend(a.floats("value_floats")?.map(vec_f32));
    found.extend(a.ints("value_ints")?.map(Tensor::vec_i64));
    a.finish()?;
    match (found.pop(), found.is_empty()) {
        (Some(t), true) => Ok(Lowered::Constant(t)),
        (Some(_), false) => bail!(Malformed, "more than one value attribute is given"),
        (None, _) => bail!(Malformed, "no value attribute is given"),
    }
}

fn vec_f32(v: Vec<f32>) -> Tensor {
    let n = v.len();
    Tensor::from_f32(vec![n], v).expect("1-D shape matches its data")
}

#[cfg(test)]
mod tests {
    use super::super::testing::lower;
    use super::*;
    use crate::builder::{attr_float, attr_ints, attr_string, attr_tensor, tensor_f32};
    use crate::error::ErrorKind;

    #[test]
    fn each_value_form() {
        let cases = [
            (attr_float("value_float", 2.0), Tensor::scalar_f32(2.0)),
            (
                attr_ints("value_ints", &[1, 2]),
                Tensor::vec_i64(vec![1, 2]),
            ),
            (attr_ints("value_ints", &[]), Tensor::vec_i64(vec![])),
            (
                attr_tensor("value", tensor_f32("t", &[1], &[3.0])),
                vec_f32(vec![3.0]),
            ),
        ];
        for (attr, want) in cases {
            assert_eq!(
                lower("Constant", 13, 0, 1, vec![attr]).unwrap(),
                Lowered::Constant(want)
            );
        }
    }

    #[test]
    fn zero_two_or_string_values_are_errors() {
        assert!(lower("Constant", 13, 0, 1, vec![]).is_err());
        let two = vec![
            attr_float("value_float", 1.0),
            attr_ints("value_ints", &[1]),
        ];
        assert!(lower("Constant", 13, 0, 1, two).is_err());
        let e = lower("Constant", 13, 0, 1, vec![attr_string("value_string", "x")]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnsupportedAttribute);
    }
}
