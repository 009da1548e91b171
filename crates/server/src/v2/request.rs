//! The inference request of the protocol: its JSON part (`id`, `parameters`, `inputs`,
//! `outputs`) and each input's values, taken from its JSON `data` or from the binary part
//! (`parameters.binary_data_size`). Only FP32 tensors exist here; what the protocol offers
//! beyond this server (shared memory, classification outputs) is refused by name, never ignored.

use serde::Deserialize;

use super::binary::{self, Parts};
use super::json::FlatF32;
use crate::error::ApiError;

/// The one datatype the engine's image models take and give.
pub const FP32: &str = "FP32";

/// A decoded request; its inputs still to be checked against the model.
#[derive(Debug)]
pub struct InferRequest {
    pub id: Option<String>,
    pub inputs: Vec<InputTensor>,
    /// The outputs asked for by name; empty means all of them.
    pub outputs: Vec<RequestedOutput>,
    /// `parameters.binary_data_output`: the default for outputs that do not say.
    pub binary_output: bool,
}

#[derive(Debug)]
pub struct InputTensor {
    pub name: String,
    pub shape: Vec<i64>,
    pub data: Vec<f32>,
}

#[derive(Debug)]
pub struct RequestedOutput {
    pub name: String,
    /// `parameters.binary_data`, if given.
    pub binary: Option<bool>,
}

impl InferRequest {
    /// Whether output `name` goes in the binary part of the answer.
    pub fn binary_for(&self, name: &str) -> bool {
        self.outputs
            .iter()
            .find(|o| o.name == name)
            .and_then(|o| o.binary)
            .unwrap_or(self.binary_output)
    }
}

#[derive(Deserialize)]
struct RequestJson {
    id: Option<String>,
    #[serde(default)]
    parameters: RequestParameters,
    inputs: Vec<InputJson>,
    #[serde(default)]
    outputs: Vec<OutputJson>,
}

#[derive(Default, Deserialize)]
struct RequestParameters {
    #[serde(default)]
    binary_data_output: bool,
}

#[derive(Deserialize)]
struct InputJson {
    name: String,
    shape: Vec<i64>,
    datatype: String,
    #[serde(default)]
    parameters: InputParameters,
    data: Option<FlatF32>,
}

#[derive(Default, Deserialize)]
struct InputParameters {
    binary_data_size: Option<u64>,
    shared_memory_region: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct OutputJson {
    name: String,
    #[serde(default)]
    parameters: OutputParameters,
}

#[derive(Default, Deserialize)]
struct OutputParameters {
    binary_data: Option<bool>,
    classification: Option<serde_json::Value>,
    shared_memory_region: Option<serde_json::Value>,
}

/// Decodes a request from its JSON part and its binary part (empty without the extension).
pub fn parse(json: &[u8], binary: &[u8]) -> Result<InferRequest, ApiError> {
    let request: RequestJson = serde_json::from_slice(json)
        .map_err(|e| ApiError::BadRequest(format!("bad inference request: {e}")))?;
    let mut parts = Parts::new(binary);
    let inputs = request
        .inputs
        .into_iter()
        .map(|input| input_tensor(input, &mut parts))
        .collect::<Result<Vec<_>, _>>()?;
    parts.finish()?;
    let outputs = request
        .outputs
        .into_iter()
        .map(requested_output)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(InferRequest {
        id: request.id,
        inputs,
        outputs,
        binary_output: request.parameters.binary_data_output,
    })
}

fn input_tensor(input: InputJson, parts: &mut Parts) -> Result<InputTensor, ApiError> {
    let name = input.name;
    let bad = |what: String| ApiError::BadRequest(format!("input {name:?}: {what}"));
    if input.datatype != FP32 {
        return Err(bad(format!(
            "datatype {:?} is not supported: the model takes {FP32}",
            input.datatype
        )));
    }
    if input.parameters.shared_memory_region.is_some() {
        return Err(bad(
            "shared memory is not supported: send the values in the body".into(),
        ));
    }
    let data = match (input.data, input.parameters.binary_data_size) {
        (Some(data), None) => data.0,
        (None, Some(size)) => binary::f32_values(&name, parts.take(&name, size)?)?,
        (Some(_), Some(_)) => {
            return Err(bad(
                "has both \"data\" and parameters.binary_data_size".into()
            ));
        }
        (None, None) => {
            return Err(bad(
                "has no values: give \"data\" or parameters.binary_data_size".into(),
            ));
        }
    };
    Ok(InputTensor {
        name,
        shape: input.shape,
        data,
    })
}

fn requested_output(output: OutputJson) -> Result<RequestedOutput, ApiError> {
    let name = output.name;
    let refuse = |what: &str| {
        Err(ApiError::BadRequest(format!(
            "output {name:?}: {what} is not supported; the server returns the model's raw output"
        )))
    };
    if output.parameters.classification.is_some() {
        return refuse("classification");
    }
    if output.parameters.shared_memory_region.is_some() {
        return refuse("shared memory");
    }
    Ok(RequestedOutput {
        binary: output.parameters.binary_data,
        name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(json: &str, binary: &[u8]) -> String {
        parse(json.as_bytes(), binary).unwrap_err().to_string()
    }

    #[test]
    fn json_and_binary_inputs_decode_to_the_same_values() {
        let json = r#"{"id": "7", "inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP32",
                       "data": [[1, 2.5]]}]}"#;
        let from_json = parse(json.as_bytes(), &[]).unwrap();
        assert_eq!(from_json.id.as_deref(), Some("7"));
        assert_eq!(from_json.inputs[0].shape, [1, 2]);
        assert_eq!(from_json.inputs[0].data, [1.0, 2.5]);

        let json = r#"{"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP32",
                       "parameters": {"binary_data_size": 8}}]}"#;
        let from_binary = parse(json.as_bytes(), &binary::f32_bytes(&[1.0, 2.5])).unwrap();
        assert_eq!(from_binary.inputs[0].data, from_json.inputs[0].data);
    }

    #[test]
    fn binary_output_is_per_output_else_the_request_default() {
        let json = r#"{"inputs": [], "parameters": {"binary_data_output": true},
                       "outputs": [{"name": "a", "parameters": {"binary_data": false}},
                                   {"name": "b"}]}"#;
        let request = parse(json.as_bytes(), &[]).unwrap();
        assert!(!request.binary_for("a") && request.binary_for("b") && request.binary_for("c"));
        let plain = parse(br#"{"inputs": []}"#, &[]).unwrap();
        assert!(!plain.binary_for("a"));
    }

    #[test]
    fn bad_requests_say_what_is_wrong() {
        let input =
            |rest: &str| format!(r#"{{"inputs": [{{"name": "x", "shape": [2], {rest}}}]}}"#);
        for (json, binary, needle) in [
            ("{", &[][..], "bad inference request"),
            (r#"{"outputs": []}"#, &[], "missing field `inputs`"),
            (
                &input(r#""datatype": "INT64", "data": [1, 2]"#),
                &[],
                "datatype \"INT64\"",
            ),
            (
                &input(r#""datatype": "FP32", "data": [1, "2"]"#),
                &[],
                "FP32 numbers",
            ),
            (&input(r#""datatype": "FP32""#), &[], "has no values"),
            (
                &input(r#""datatype": "FP32", "data": [1], "parameters": {"binary_data_size": 4}"#),
                &[0; 4],
                "both",
            ),
            (
                &input(r#""datatype": "FP32", "parameters": {"binary_data_size": 8}"#),
                &[0; 4],
                "truncated",
            ),
            (
                &input(r#""datatype": "FP32", "parameters": {"binary_data_size": 4}"#),
                &[0; 8],
                "4 bytes of binary data follow",
            ),
            (
                &input(r#""datatype": "FP32", "parameters": {"shared_memory_region": "r"}"#),
                &[],
                "shared memory",
            ),
            (
                r#"{"inputs": [], "outputs": [{"name": "y", "parameters": {"classification": 3}}]}"#,
                &[],
                "classification is not supported",
            ),
        ] {
            let got = message(json, binary);
            assert!(got.contains(needle), "{json}: {got}");
        }
    }
}
