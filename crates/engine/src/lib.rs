//! The litecnn inference engine.
//!
//! Pipeline: an importer builds an [`ir::Graph`] → passes simplify it (constant and shape
//! folding, dead-node removal) → [`model::Model`] plans and runs it on the kernels of
//! `litecnn-kernels`.

pub mod ir;
pub mod ops;
pub mod tensor;

pub use ir::{Dim, Graph, Node, Op, Value, ValueId};
pub use tensor::{DType, Tensor, TensorData};
