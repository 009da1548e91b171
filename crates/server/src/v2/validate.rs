//! A decoded request checked against the model it asks for: one input, named as the manifest
//! names it, shaped `[N, 3, H, W]` with `H, W` the manifest's crop (and `N` the model's batch
//! when the model fixes it), no larger than [`MAX_INPUT_ELEMENTS`], holding exactly as many
//! values as its shape; outputs asked for by their manifest name.

use litecnn_engine::Tensor;

use super::request::{InferRequest, InputTensor};
use crate::error::ApiError;
use crate::model::LoadedModel;

/// The most values one input may hold: 16 images of 3×224×224 (about 9.6 MB of FP32). The body
/// limit bounds the bytes; this bounds what a declared shape makes the model allocate.
pub const MAX_INPUT_ELEMENTS: usize = 16 * 3 * 224 * 224;

/// The model's input tensor from a request's inputs, or why there is none.
pub fn input(model: &LoadedModel, inputs: Vec<InputTensor>) -> Result<Tensor, ApiError> {
    let expected = model.input_name();
    let count = inputs.len();
    let Ok([input]) = <[InputTensor; 1]>::try_from(inputs) else {
        return Err(ApiError::BadRequest(format!(
            "the model takes one input, {expected:?}; the request has {count}"
        )));
    };
    if input.name != expected {
        return Err(ApiError::BadRequest(format!(
            "the model has no input {:?}; its input is {expected:?}",
            input.name
        )));
    }
    let shape = shape(model, &input)?;
    let elements: usize = shape.iter().product();
    if input.data.len() != elements {
        return Err(ApiError::BadRequest(format!(
            "input {expected:?}: shape {:?} holds {elements} values but {} were given",
            input.shape,
            input.data.len()
        )));
    }
    Tensor::from_f32(shape, input.data).map_err(|e| ApiError::Internal(e.to_string()))
}

/// `[N, 3, H, W]` as sizes, within the limit.
fn shape(model: &LoadedModel, input: &InputTensor) -> Result<Vec<usize>, ApiError> {
    let [h, w] = model.crop();
    let batch = model.fixed_batch();
    let want = match batch {
        Some(n) => format!("[{n}, 3, {h}, {w}]"),
        None => format!("[N, 3, {h}, {w}] (N >= 1)"),
    };
    let dims: Option<Vec<usize>> = input
        .shape
        .iter()
        .map(|&d| usize::try_from(d).ok())
        .collect();
    let n = match dims.as_deref() {
        Some(&[n, 3, ih, iw]) if n >= 1 && ih == h && iw == w && batch.is_none_or(|b| b == n) => n,
        _ => {
            return Err(ApiError::BadRequest(format!(
                "input {:?}: shape {:?} does not fit the model, which takes {want}",
                input.name, input.shape
            )));
        }
    };
    let elements = n.saturating_mul(3 * h * w);
    if elements > MAX_INPUT_ELEMENTS {
        return Err(ApiError::PayloadTooLarge(format!(
            "input {:?}: shape {:?} holds {elements} values, more than the {MAX_INPUT_ELEMENTS} \
             one request may send",
            input.name, input.shape
        )));
    }
    Ok(vec![n, 3, h, w])
}

/// Every output asked for must be the manifest's output.
pub fn outputs(model: &LoadedModel, request: &InferRequest) -> Result<(), ApiError> {
    let expected = model.output_name();
    match request.outputs.iter().find(|o| o.name != expected) {
        Some(other) => Err(ApiError::BadRequest(format!(
            "the model has no output {:?}; its output is {expected:?}",
            other.name
        ))),
        None => Ok(()),
    }
}
