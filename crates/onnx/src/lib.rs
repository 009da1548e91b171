//! ONNX import for litecnn: decodes a model (or a serialized tensor) and translates it into the
//! engine's IR, [`litecnn_engine::Graph`].
//!
//! Import steps, one module each: [`proto`] decoding (`model`) → tensors (`tensor`) and
//! declared types (`value_info`) → node order (`toposort`) → per-op translation (`ops`,
//! which normalises every supported opset to one IR form) → graph assembly (`import`).
//!
//! Hostile files are rejected with a [`LoadError`], never a panic, and no tensor is allocated
//! before its claimed size has been checked against the bytes actually present.

pub mod builder;
pub mod error;
pub mod proto;

mod attrs;
mod census;
mod import;
mod model;
mod naming;
mod ops;
mod shapes;
mod stream;
mod tensor;
mod toposort;
mod value_info;

use std::path::Path;

use litecnn_engine::{Graph, Tensor};
use prost::Message;

pub use census::{OpUse, op_census};
pub use error::{ErrorKind, LoadError};
pub use model::{MAX_OPSET, MIN_OPSET, ModelInfo};
pub use tensor::MAX_ELEMENTS;

/// Largest file accepted: protobuf messages cannot exceed 2 GiB.
pub const MAX_FILE_BYTES: u64 = 2 << 30;

/// Loads an ONNX model file into an IR graph.
pub fn load_file(path: &Path) -> Result<Graph, LoadError> {
    load_file_with_info(path).map(|(graph, _)| graph)
}

/// [`load_file`], also returning the model's header facts.
pub fn load_file_with_info(path: &Path) -> Result<(Graph, ModelInfo), LoadError> {
    // Streamed: the weights are decoded from the file one tensor at a time, never held twice.
    let (file, len) = open_file(path)?;
    let model = stream::decode_model(std::io::BufReader::new(file), len)?;
    import_model(model::check(model)?)
}

/// Loads a serialized ONNX model into an IR graph.
pub fn load_bytes(bytes: &[u8]) -> Result<Graph, LoadError> {
    load_bytes_with_info(bytes).map(|(graph, _)| graph)
}

/// [`load_bytes`], also returning the model's header facts.
pub fn load_bytes_with_info(bytes: &[u8]) -> Result<(Graph, ModelInfo), LoadError> {
    import_model(model::decode(bytes)?)
}

fn import_model(mut model: proto::ModelProto) -> Result<(Graph, ModelInfo), LoadError> {
    let info = model::info(&model)?;
    let graph = model.graph.take().unwrap_or_default();
    let graph = import::import_graph(graph, info.opset)?;
    Ok((graph, info))
}

/// Reads a serialized `TensorProto` (as in the ONNX backend tests' `test_data_set_*/*.pb`).
pub fn read_tensor_pb(bytes: &[u8]) -> Result<Tensor, LoadError> {
    let proto = match proto::TensorProto::decode(bytes) {
        Ok(t) => t,
        Err(e) => {
            let msg = format!("file is not an ONNX tensor: protobuf decode failed: {e}");
            return Err(LoadError::new(ErrorKind::Malformed, msg));
        }
    };
    let at = match proto.name.as_deref() {
        Some(name) if !name.is_empty() => format!("tensor \"{name}\""),
        _ => "tensor".to_owned(),
    };
    tensor::tensor_from_proto(proto).map_err(|e| e.at(at))
}

/// [`read_tensor_pb`] on a file.
pub fn read_tensor_file(path: &Path) -> Result<Tensor, LoadError> {
    read_tensor_pb(&read_file(path)?)
}

/// The file's bytes, refusing files larger than [`MAX_FILE_BYTES`] before reading them.
fn read_file(path: &Path) -> Result<Vec<u8>, LoadError> {
    use std::io::Read;
    let (mut file, len) = open_file(path)?;
    let mut bytes = Vec::with_capacity(len as usize);
    file.read_to_end(&mut bytes)
        .map_err(|e| io_error(path, e))?;
    Ok(bytes)
}

/// The open file and its length, refusing files larger than [`MAX_FILE_BYTES`].
fn open_file(path: &Path) -> Result<(std::fs::File, u64), LoadError> {
    let file = std::fs::File::open(path).map_err(|e| io_error(path, e))?;
    let len = file.metadata().map_err(|e| io_error(path, e))?.len();
    if len > MAX_FILE_BYTES {
        let msg = format!(
            "{} is {len} bytes; the limit is {MAX_FILE_BYTES}",
            path.display()
        );
        return Err(LoadError::new(ErrorKind::TooLarge, msg));
    }
    Ok((file, len))
}

fn io_error(path: &Path, e: std::io::Error) -> LoadError {
    LoadError::new(
        ErrorKind::Io,
        format!("cannot read {}: {e}", path.display()),
    )
}
