//! The model steps of a verification: the bundle's ONNX file loads in the engine (every op
//! supported), takes the input and gives the output the manifest names, fits the
//! preprocessing, and gives one score per label.

use std::path::Path;

use litecnn_engine::{Dim, EngineError, Model, Value};
use litecnn_onnx::LoadError;

use crate::manifest::Manifest;

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("{file}: {reason}")]
    Load { file: String, reason: LoadError },
    #[error("{file}: the engine cannot prepare it: {reason}")]
    Prepare { file: String, reason: EngineError },
    #[error("{file}: takes {count} inputs; a bundle's model takes exactly one image batch")]
    InputCount { file: String, count: usize },
    #[error("{file}: has no {what} named {name:?} (manifest {field}); it has {found}")]
    NotFound {
        file: String,
        what: &'static str,
        field: &'static str,
        name: String,
        found: String,
    },
    #[error("{file}: {what} {name:?} has shape {shape}, expected {expected}")]
    Shape {
        file: String,
        what: &'static str,
        name: String,
        shape: String,
        expected: &'static str,
    },
    #[error(
        "{file}: input is {height}x{width} but litecnn.json preprocess.center_crop is [{crop_h}, {crop_w}]"
    )]
    CropMismatch {
        file: String,
        height: usize,
        width: usize,
        crop_h: u32,
        crop_w: u32,
    },
    #[error("{file}: {classes} output classes, but litecnn.json has {labels} labels")]
    ClassCount {
        file: String,
        classes: usize,
        labels: usize,
    },
}

/// Imports and prepares `<dir>/<model.file>`.
pub fn load(dir: &Path, manifest: &Manifest) -> Result<Model, ModelError> {
    let file = manifest.model.file.clone();
    let graph = match litecnn_onnx::load_file(&dir.join(&file)) {
        Ok(graph) => graph,
        Err(reason) => return Err(ModelError::Load { file, reason }),
    };
    Model::new(graph).map_err(|reason| ModelError::Prepare { file, reason })
}

/// Checks the input and output the manifest names; returns a one-line description.
pub fn check_io(model: &Model, manifest: &Manifest) -> Result<String, ModelError> {
    let file = &manifest.model.file;
    let inputs = model.inputs();
    if inputs.len() != 1 {
        let count = inputs.len();
        return Err(ModelError::InputCount {
            file: file.clone(),
            count,
        });
    }
    let input = find(&inputs, &manifest.model.input, "input", "model.input", file)?;
    check_input_shape(input, manifest)?;
    let output = find(
        &model.outputs(),
        &manifest.model.output,
        "output",
        "model.output",
        file,
    )?;
    check_rank(output, 2, "[N, classes]", "output", file)?;
    Ok(format!(
        "{file}: input {:?} {}, output {:?} {}, {} nodes",
        input.name,
        shape_text(input),
        output.name,
        shape_text(output),
        model.graph().nodes.len()
    ))
}

/// Compares the declared class count with the labels. `Ok(None)` when the model does not
/// declare it: the golden run then settles it, as its output must be `[n, labels]`.
pub fn check_class_count(model: &Model, manifest: &Manifest) -> Result<Option<usize>, ModelError> {
    let output = model
        .outputs()
        .into_iter()
        .find(|v| v.name == manifest.model.output);
    let classes = match output.and_then(|v| v.shape.as_ref()).map(|s| s.as_slice()) {
        Some([_, Dim::Known(c)]) => *c,
        _ => return Ok(None),
    };
    let labels = manifest.labels.len();
    if classes != labels {
        let file = manifest.model.file.clone();
        return Err(ModelError::ClassCount {
            file,
            classes,
            labels,
        });
    }
    Ok(Some(classes))
}

/// Index of the manifest's output among the model's outputs (what `Model::run` returns).
pub fn output_index(model: &Model, manifest: &Manifest) -> Option<usize> {
    model
        .outputs()
        .iter()
        .position(|v| v.name == manifest.model.output)
}

fn find<'a>(
    values: &[&'a Value],
    name: &str,
    what: &'static str,
    field: &'static str,
    file: &str,
) -> Result<&'a Value, ModelError> {
    values
        .iter()
        .find(|v| v.name == name)
        .copied()
        .ok_or_else(|| ModelError::NotFound {
            file: file.to_owned(),
            what,
            field,
            name: name.to_owned(),
            found: values
                .iter()
                .map(|v| format!("{:?}", v.name))
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// `[N,3,H,W]`, and H×W equal to the center crop when the model fixes them.
fn check_input_shape(input: &Value, manifest: &Manifest) -> Result<(), ModelError> {
    let file = &manifest.model.file;
    check_rank(input, 4, "[N, 3, H, W]", "input", file)?;
    let dims = input.shape.as_deref().unwrap_or_default();
    let shape_err = || shape_error(input, "[N, 3, H, W]", "input", file);
    if let Some(Dim::Known(c)) = dims.get(1)
        && *c != 3
    {
        return Err(shape_err());
    }
    let [crop_h, crop_w] = manifest.preprocess.center_crop;
    if let (Some(Dim::Known(h)), Some(Dim::Known(w))) = (dims.get(2), dims.get(3))
        && (*h != crop_h as usize || *w != crop_w as usize)
    {
        return Err(ModelError::CropMismatch {
            file: file.clone(),
            height: *h,
            width: *w,
            crop_h,
            crop_w,
        });
    }
    Ok(())
}

/// A declared shape must have `rank` dimensions; an undeclared one is left to the run.
fn check_rank(
    value: &Value,
    rank: usize,
    expected: &'static str,
    what: &'static str,
    file: &str,
) -> Result<(), ModelError> {
    match &value.shape {
        Some(dims) if dims.len() != rank => Err(shape_error(value, expected, what, file)),
        _ => Ok(()),
    }
}

fn shape_error(
    value: &Value,
    expected: &'static str,
    what: &'static str,
    file: &str,
) -> ModelError {
    ModelError::Shape {
        file: file.to_owned(),
        what,
        name: value.name.clone(),
        shape: shape_text(value),
        expected,
    }
}

fn shape_text(value: &Value) -> String {
    litecnn_engine::stats::format_shape(value.shape.as_deref())
}
