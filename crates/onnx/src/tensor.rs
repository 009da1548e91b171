//! `TensorProto` → engine [`Tensor`]: element types, the two data encodings (`raw_data` and the
//! typed repeated fields), and the size checks that keep a hostile file from making us allocate
//! more than it contains.

use litecnn_engine::{DType, Tensor};

use crate::error::{ErrorKind, LoadError, bail};
use crate::proto::TensorProto;
use crate::proto::tensor_proto::{DataLocation, DataType};

/// Largest element count accepted for one tensor (2^31, the protobuf size limit in `f32`s).
pub const MAX_ELEMENTS: usize = 1 << 31;

/// Converts a tensor, consuming it so its buffer is freed as soon as it is copied. Errors carry
/// no location: the caller knows whether this is an initializer, a `Constant` attribute or a
/// tensor file, and adds it with [`LoadError::at`].
pub fn tensor_from_proto(t: TensorProto) -> Result<Tensor, LoadError> {
    check_storage(&t)?;
    let dtype = dtype_from_onnx(t.data_type.unwrap_or(0))?;
    let shape = shape_of(&t.dims)?;
    let count = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    let count = match count {
        Some(n) if n <= MAX_ELEMENTS => n,
        _ => bail!(
            TooLarge,
            "tensor of shape {:?} has more than {MAX_ELEMENTS} elements",
            t.dims
        ),
    };
    let tensor = match dtype {
        DType::F32 => Tensor::from_f32(shape, read_f32(t, count)?),
        DType::I64 => Tensor::from_i64(shape, read_i64(t, count)?),
    };
    tensor.map_err(|e| LoadError::new(ErrorKind::Malformed, e.to_string()))
}

/// Maps an ONNX `TensorProto.DataType` code to the engine's element type.
pub fn dtype_from_onnx(code: i32) -> Result<DType, LoadError> {
    match DataType::try_from(code) {
        Ok(DataType::Float) => Ok(DType::F32),
        Ok(DataType::Int64) => Ok(DType::I64),
        Ok(other) => bail!(
            UnsupportedDType,
            "unsupported data type {} (only FLOAT and INT64 are supported)",
            other.as_str_name()
        ),
        Err(_) => bail!(UnsupportedDType, "unknown data type code {code}"),
    }
}

/// Rejects storage forms other than one embedded, unsegmented buffer.
fn check_storage(t: &TensorProto) -> Result<(), LoadError> {
    let external = t.data_location == Some(DataLocation::External as i32);
    if external || !t.external_data.is_empty() {
        bail!(
            ExternalData,
            "external data is not supported (data_location=EXTERNAL); \
             re-export the model with all tensors embedded"
        );
    }
    if t.segment.is_some() {
        bail!(UnsupportedFeature, "segmented tensors are not supported");
    }
    Ok(())
}

fn shape_of(dims: &[i64]) -> Result<Vec<usize>, LoadError> {
    dims.iter()
        .map(|&d| match usize::try_from(d) {
            Ok(d) => Ok(d),
            Err(_) if d < 0 => bail!(Malformed, "tensor has a negative dimension in {dims:?}"),
            Err(_) => bail!(TooLarge, "tensor dimension {d} does not fit in memory"),
        })
        .collect()
}

/// The `f32` elements, from `raw_data` (little-endian) or `float_data`. The length is checked
/// against `count` before anything is allocated.
fn read_f32(t: TensorProto, count: usize) -> Result<Vec<f32>, LoadError> {
    match t.raw_data {
        Some(raw) => {
            check_len(raw.len(), count, 4, "raw_data bytes")?;
            Ok(raw
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect())
        }
        None => {
            check_len(t.float_data.len(), count, 1, "float_data elements")?;
            Ok(t.float_data)
        }
    }
}

/// The `i64` elements, from `raw_data` (little-endian) or `int64_data`.
fn read_i64(t: TensorProto, count: usize) -> Result<Vec<i64>, LoadError> {
    match t.raw_data {
        Some(raw) => {
            check_len(raw.len(), count, 8, "raw_data bytes")?;
            Ok(raw
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                .collect())
        }
        None => {
            check_len(t.int64_data.len(), count, 1, "int64_data elements")?;
            Ok(t.int64_data)
        }
    }
}

fn check_len(present: usize, count: usize, unit: usize, what: &str) -> Result<(), LoadError> {
    // `count <= MAX_ELEMENTS` and `unit <= 8`, so this cannot overflow on 64-bit targets;
    // checked anyway so 32-bit targets report instead of wrapping.
    match count.checked_mul(unit) {
        Some(expected) if expected == present => Ok(()),
        Some(expected) => bail!(
            Malformed,
            "tensor data has {present} {what}, but its shape needs {expected}"
        ),
        None => bail!(TooLarge, "tensor of {count} elements is too large"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builder as build;

    #[test]
    fn reads_raw_and_typed_encodings_alike() {
        let typed = build::tensor_f32("w", &[2], &[1.5, -2.0]);
        let mut raw = typed.clone();
        raw.float_data.clear();
        raw.raw_data = Some(
            [1.5f32, -2.0]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect(),
        );
        assert_eq!(
            tensor_from_proto(typed).unwrap(),
            tensor_from_proto(raw).unwrap()
        );
    }

    #[test]
    fn scalar_has_empty_shape() {
        let t = tensor_from_proto(build::tensor_i64("s", &[], &[7])).unwrap();
        assert_eq!(t, Tensor::scalar_i64(7));
    }

    #[test]
    fn claimed_size_beyond_data_is_an_error() {
        let mut t = build::tensor_f32("w", &[1000, 1000, 1000], &[]);
        t.raw_data = Some(vec![0; 16]);
        let e = tensor_from_proto(t).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Malformed, "{e}");
    }

    #[test]
    fn absurd_size_is_too_large() {
        let t = build::tensor_f32("w", &[1_000_000, 1_000_000], &[]);
        assert_eq!(
            tensor_from_proto(t).unwrap_err().kind(),
            ErrorKind::TooLarge
        );
        let t = build::tensor_f32("w", &[i64::MAX, i64::MAX, 2], &[]);
        assert_eq!(
            tensor_from_proto(t).unwrap_err().kind(),
            ErrorKind::TooLarge
        );
    }

    #[test]
    fn negative_dim_is_malformed() {
        let t = build::tensor_f32("w", &[-1], &[]);
        assert_eq!(
            tensor_from_proto(t).unwrap_err().kind(),
            ErrorKind::Malformed
        );
    }

    #[test]
    fn other_dtypes_are_named() {
        let mut t = build::tensor_f32("w", &[1], &[1.0]);
        t.data_type = Some(DataType::Double as i32);
        let e = tensor_from_proto(t).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnsupportedDType);
        assert!(e.message().contains("DOUBLE"), "{e}");
    }
}
