//! Turns a model path into a ready [`Model`], with errors that name the file. A path is either
//! an `.onnx` file or a bundle directory (DESIGN §3: "MODEL = `.onnx` or a bundle").

use std::path::Path;

use anyhow::Context;
use litecnn_bundle::Bundle;
use litecnn_engine::Model;

/// Loads an `.onnx` file, or the model of a bundle directory (see [`load_bundle`]).
pub fn load_model(path: &Path) -> anyhow::Result<Model> {
    if path.is_dir() {
        return load_bundle(path).map(|(_, model)| model);
    }
    let graph = litecnn_onnx::load_file(path)
        .with_context(|| format!("cannot load model {}", path.display()))?;
    Model::new(graph).with_context(|| format!("cannot prepare model {}", path.display()))
}

/// Opens a bundle directory and loads its model, for commands that need the manifest too
/// (`predict`: `bundle.manifest().preprocess`, `bundle.labels()`, `.model.output_kind`).
///
/// Checked: every file against `SHA256SUMS` (both ways), the manifest, the model's input and
/// output against it, and the class count against the labels. Not checked: the signature (no
/// key here; `litecnn verify --pubkey` does that) and the golden outputs (a full model run).
pub fn load_bundle(dir: &Path) -> anyhow::Result<(Bundle, Model)> {
    let shown = dir.display();
    let bundle = Bundle::open(dir, None).with_context(|| format!("cannot open bundle {shown}"))?;
    let model = bundle
        .load_model()
        .with_context(|| format!("cannot load the model of bundle {shown}"))?;
    Ok((bundle, model))
}
