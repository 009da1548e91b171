//! The litecnn inference engine.
//!
//! Pipeline: an importer builds an [`ir::Graph`] → [`passes`] simplify it (constant and shape
//! folding, dead-node removal) → [`Model`] runs it on the kernels of `litecnn-kernels`.

mod buffer_plan;
mod error;
pub mod ir;
mod model;
pub mod ops;
pub mod passes;
pub mod stats;
pub mod tensor;

pub use error::EngineError;
pub use ir::{Dim, Graph, Node, Op, Value, ValueId};
pub use model::{
    KERNELS_ENV, LAYOUT_ENV, Layout, Model, ModelOptions, WINOGRAD_ENV, input_buffer,
    kept_thread_bytes, release_thread_buffers,
};
pub use ops::Kernels;
pub use tensor::{DType, Tensor, TensorData};
