//! Declared types of graph inputs and outputs (`ValueInfoProto`) → element type and shape.

use std::sync::Arc;

use litecnn_engine::{DType, Dim};

use crate::error::{LoadError, bail};
use crate::proto::tensor_shape_proto::{Dimension, dimension};
use crate::proto::type_proto::Value as TypeValue;
use crate::proto::{TensorShapeProto, ValueInfoProto};
use crate::tensor::dtype_from_onnx;

/// What a declaration says about a value; `None` where it says nothing.
pub struct Declared {
    pub dtype: Option<DType>,
    pub shape: Option<Vec<Dim>>,
}

/// Reads a declaration. Only tensor types are accepted, of FLOAT or INT64 elements.
pub fn declared(vi: &ValueInfoProto) -> Result<Declared, LoadError> {
    let unknown = Declared {
        dtype: None,
        shape: None,
    };
    let Some(value) = vi.r#type.as_ref().and_then(|t| t.value.as_ref()) else {
        return Ok(unknown);
    };
    let t = match value {
        TypeValue::TensorType(t) => t,
        TypeValue::SequenceType(_) => bail!(UnsupportedDType, "sequence types are not supported"),
        TypeValue::MapType(_) => bail!(UnsupportedDType, "map types are not supported"),
        TypeValue::OptionalType(_) => bail!(UnsupportedDType, "optional types are not supported"),
        TypeValue::SparseTensorType(_) => {
            bail!(UnsupportedDType, "sparse tensors are not supported")
        }
    };
    let dtype = match t.elem_type.unwrap_or(0) {
        0 => None,
        code => Some(dtype_from_onnx(code)?),
    };
    let shape = t.shape.as_ref().map(shape_of).transpose()?;
    Ok(Declared { dtype, shape })
}

/// `dim_value` → known, `dim_param` → that symbol, neither → the symbol "?".
fn shape_of(s: &TensorShapeProto) -> Result<Vec<Dim>, LoadError> {
    s.dim.iter().map(dim_of).collect()
}

fn dim_of(d: &Dimension) -> Result<Dim, LoadError> {
    Ok(match &d.value {
        Some(dimension::Value::DimValue(v)) => match usize::try_from(*v) {
            Ok(n) => Dim::Known(n),
            Err(_) => bail!(Malformed, "declared shape has a negative dimension {v}"),
        },
        Some(dimension::Value::DimParam(p)) if !p.is_empty() => Dim::Symbol(Arc::from(p.as_str())),
        _ => Dim::Symbol(Arc::from("?")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builder::value_info;

    #[test]
    fn reads_dtype_and_mixed_shape() {
        let shape = [Dim::Symbol(Arc::from("N")), Dim::Known(3)];
        let d = declared(&value_info("x", DType::F32, &shape)).unwrap();
        assert_eq!(d.dtype, Some(DType::F32));
        assert_eq!(d.shape.as_deref(), Some(&shape[..]));
    }

    #[test]
    fn missing_dims_become_question_marks() {
        let mut vi = value_info("x", DType::I64, &[Dim::Known(1)]);
        let Some(TypeValue::TensorType(t)) = vi.r#type.as_mut().and_then(|t| t.value.as_mut())
        else {
            panic!()
        };
        t.shape.as_mut().unwrap().dim[0].value = None;
        let d = declared(&vi).unwrap();
        assert_eq!(d.shape, Some(vec![Dim::Symbol(Arc::from("?"))]));
    }
}
