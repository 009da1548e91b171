//! The inference answer: `{"model_name", "model_version", "id", "outputs": [{"name",
//! "datatype", "shape", "data"}]}`, or, for an output asked for in binary, its values after the
//! JSON part (`parameters.binary_data_size` in the JSON, `Inference-Header-Content-Length` in
//! the headers). Values are the model's raw output; JSON writes each `f32` in its shortest
//! round-tripping form.

use axum::body::Body;
use axum::http::HeaderValue;
use axum::http::header::CONTENT_TYPE;
use axum::response::Response;
use serde::Serialize;

use super::binary::{self, HEADER_LENGTH};
use super::infer::InferOutcome;
use super::request::FP32;
use crate::error::ApiError;
use crate::model::LoadedModel;
use crate::predict::add_header;

#[derive(Serialize)]
struct Answer<'a> {
    model_name: &'a str,
    model_version: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    outputs: [OutputTensor<'a>; 1],
}

#[derive(Serialize)]
struct OutputTensor<'a> {
    name: &'a str,
    datatype: &'static str,
    shape: &'a [usize],
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a [f32]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parameters: Option<BinaryParameters>,
}

#[derive(Serialize)]
struct BinaryParameters {
    binary_data_size: usize,
}

pub fn infer(model: &LoadedModel, outcome: InferOutcome) -> Result<Response, ApiError> {
    let values = outcome.output.as_f32().ok_or_else(|| {
        ApiError::Internal(format!("model {}: the output is not FP32", model.version()))
    })?;
    let binary = outcome.binary;
    let answer = Answer {
        model_name: model.name(),
        model_version: model.version(),
        id: outcome.id.as_deref(),
        outputs: [OutputTensor {
            name: model.output_name(),
            datatype: FP32,
            shape: outcome.output.shape(),
            data: (!binary).then_some(values),
            parameters: binary.then_some(BinaryParameters {
                binary_data_size: values.len() * 4,
            }),
        }],
    };
    let mut body =
        serde_json::to_vec(&answer).map_err(|e| ApiError::Internal(format!("answer: {e}")))?;
    let json_length = body.len();
    if binary {
        body.extend(binary::f32_bytes(values));
    }
    let mut response = Response::new(Body::from(body));
    let headers = response.headers_mut();
    if binary {
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
        headers.insert(HEADER_LENGTH, HeaderValue::from(json_length));
    } else {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    add_header(headers, "x-model-version", model.version());
    add_header(headers, "x-model-digest", &model.digest());
    Ok(response)
}
