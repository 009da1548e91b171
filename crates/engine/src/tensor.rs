//! Owned, dense, row-major tensors: the values that flow between nodes.
//!
//! Only the element types CNN graphs need exist: `f32` for data and `i64` for the shape
//! arithmetic exporters emit. Anything else is rejected at import.

use std::fmt;

pub use litecnn_kernels::FloatBuffer;

/// Element type of a tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    F32,
    I64,
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DType::F32 => "float32",
            DType::I64 => "int64",
        })
    }
}

/// The elements of a tensor, in row-major order. Float elements may sit in recycled storage
/// longer than they are ([`FloatBuffer`]); they read as a slice of exactly the elements.
#[derive(Clone, Debug, PartialEq)]
pub enum TensorData {
    F32(FloatBuffer),
    I64(Vec<i64>),
}

/// A dense row-major tensor. Invariant: `data.len() == shape.iter().product()`.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    shape: Vec<usize>,
    data: TensorData,
}

/// Raised when a tensor is built from a shape and a buffer that disagree.
#[derive(Debug, thiserror::Error)]
#[error("tensor of shape {shape:?} needs {expected} elements, got {actual}")]
pub struct ShapeMismatch {
    pub shape: Vec<usize>,
    pub expected: usize,
    pub actual: usize,
}

impl Tensor {
    pub fn new(shape: Vec<usize>, data: TensorData) -> Result<Tensor, ShapeMismatch> {
        let expected = shape.iter().product::<usize>();
        let actual = match &data {
            TensorData::F32(v) => v.len(),
            TensorData::I64(v) => v.len(),
        };
        if expected != actual {
            return Err(ShapeMismatch {
                shape,
                expected,
                actual,
            });
        }
        Ok(Tensor { shape, data })
    }

    pub fn from_f32(shape: Vec<usize>, data: Vec<f32>) -> Result<Tensor, ShapeMismatch> {
        Tensor::new(shape, TensorData::F32(data.into()))
    }

    /// A float tensor on a kernel's output buffer (its storage may be longer).
    pub fn from_f32_buffer(shape: Vec<usize>, data: FloatBuffer) -> Result<Tensor, ShapeMismatch> {
        Tensor::new(shape, TensorData::F32(data))
    }

    pub fn from_i64(shape: Vec<usize>, data: Vec<i64>) -> Result<Tensor, ShapeMismatch> {
        Tensor::new(shape, TensorData::I64(data))
    }

    pub fn scalar_f32(v: f32) -> Tensor {
        Tensor {
            shape: vec![],
            data: TensorData::F32(vec![v].into()),
        }
    }

    pub fn scalar_i64(v: i64) -> Tensor {
        Tensor {
            shape: vec![],
            data: TensorData::I64(vec![v]),
        }
    }

    /// A 1-D `i64` tensor, the form every shape-like operand takes.
    pub fn vec_i64(v: Vec<i64>) -> Tensor {
        Tensor {
            shape: vec![v.len()],
            data: TensorData::I64(v),
        }
    }

    pub fn zeros(dtype: DType, shape: Vec<usize>) -> Tensor {
        let n = shape.iter().product();
        let data = match dtype {
            DType::F32 => TensorData::F32(vec![0.0; n].into()),
            DType::I64 => TensorData::I64(vec![0; n]),
        };
        Tensor { shape, data }
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    pub fn len(&self) -> usize {
        match &self.data {
            TensorData::F32(v) => v.len(),
            TensorData::I64(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn dtype(&self) -> DType {
        match &self.data {
            TensorData::F32(_) => DType::F32,
            TensorData::I64(_) => DType::I64,
        }
    }

    pub fn data(&self) -> &TensorData {
        &self.data
    }

    pub fn into_data(self) -> TensorData {
        self.data
    }

    pub fn as_f32(&self) -> Option<&[f32]> {
        match &self.data {
            TensorData::F32(v) => Some(v.as_slice()),
            TensorData::I64(_) => None,
        }
    }

    pub fn as_i64(&self) -> Option<&[i64]> {
        match &self.data {
            TensorData::I64(v) => Some(v),
            TensorData::F32(_) => None,
        }
    }

    /// Same elements under another shape with the same element count.
    pub fn reshaped(self, shape: Vec<usize>) -> Result<Tensor, ShapeMismatch> {
        Tensor::new(shape, self.data)
    }

    /// Size in bytes of the elements.
    pub fn byte_len(&self) -> usize {
        match &self.data {
            TensorData::F32(v) => v.len() * 4,
            TensorData::I64(v) => v.len() * 8,
        }
    }
}
