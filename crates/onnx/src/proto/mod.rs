//! The ONNX protobuf messages (`onnx.proto`, proto2), as prost types. The code in `onnx.rs` is
//! generated and committed (see `regen-proto.sh`); it is public so tests and tools can build
//! models in Rust, but the engine never sees these types.

#[allow(clippy::all, clippy::pedantic, missing_docs, rustdoc::all)]
mod onnx;

pub use onnx::*;
