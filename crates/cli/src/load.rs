//! Turns a model path into a ready [`Model`], with errors that name the file.

use std::path::Path;

use anyhow::Context;
use litecnn_engine::Model;

pub fn load_model(path: &Path) -> anyhow::Result<Model> {
    let graph = litecnn_onnx::load_file(path)
        .with_context(|| format!("cannot load model {}", path.display()))?;
    Model::new(graph).with_context(|| format!("cannot prepare model {}", path.display()))
}
