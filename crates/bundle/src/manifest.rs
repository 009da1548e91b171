//! The manifest `litecnn.json` (DESIGN §2, §9): typed structs, and a parser whose every error
//! names the file and the field (`litecnn.json: field "model.file" is missing`).
//!
//! Unknown keys are ignored at every level except `preprocess` (whose struct, owned by
//! `litecnn-vision`, refuses them: a preprocessing step we silently skipped would give wrong
//! answers, while an unknown informational key is harmless). `metrics` and `source` are free
//! form and optional.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use litecnn_vision::{ImageError, PreprocessSpec};

use crate::labels::{self, Label, LabelError};
use crate::names::{is_identifier, is_plain_file_name, strip_bom};

pub const MANIFEST_FILE: &str = "litecnn.json";
/// The only `format` this crate reads.
pub const FORMAT: &str = "litecnn-bundle/1";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    /// The model's name: the repository directory and the OIP model name.
    pub name: String,
    /// This version's name; a bundle directory in a repository is named after it.
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    pub model: ModelSpec,
    pub preprocess: PreprocessSpec,
    /// `labels[i]` describes output class `i`.
    pub labels: Vec<Label>,
    pub golden: GoldenSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Map<String, Value>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelSpec {
    /// The ONNX file, a plain name inside the bundle.
    pub file: String,
    /// The graph input fed with the preprocessed image batch.
    pub input: String,
    /// The graph output holding one score per class.
    pub output: String,
    pub output_kind: OutputKind,
}

/// What the output scores are; the server applies softmax to logits only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputKind {
    Logits,
    Probabilities,
}

impl OutputKind {
    /// The manifest spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            OutputKind::Logits => "logits",
            OutputKind::Probabilities => "probabilities",
        }
    }
}

/// Where the golden tensors are, and how close the engine must come to them:
/// `|ours − golden| ≤ atol + rtol·|golden|` elementwise.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GoldenSpec {
    pub file: String,
    pub atol: f64,
    pub rtol: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("litecnn.json: cannot read: {0}")]
    Read(std::io::Error),
    #[error("litecnn.json: not valid JSON: {0}")]
    Syntax(serde_json::Error),
    #[error("litecnn.json: field \"{field}\" is missing")]
    Missing { field: String },
    #[error("litecnn.json: field \"{field}\": {message}")]
    Invalid { field: String, message: String },
    #[error("litecnn.json: \"format\" must be \"{FORMAT}\", got {got}")]
    Format { got: String },
    #[error("litecnn.json: field \"{field}\" must be a finite number ≥ 0, got {value}")]
    Tolerance { field: &'static str, value: f64 },
    #[error("litecnn.json: labels: {0}")]
    Labels(LabelError),
    #[error("litecnn.json: field \"{field}\" names {file:?}, which SHA256SUMS does not list")]
    NotListed { field: &'static str, file: String },
}

impl Manifest {
    /// Parses and validates manifest bytes (a leading byte-order mark is ignored).
    pub fn parse(bytes: &[u8]) -> Result<Manifest, ManifestError> {
        let value: Value =
            serde_json::from_slice(strip_bom(bytes)).map_err(ManifestError::Syntax)?;
        check_format(&value)?;
        let mut manifest: Manifest =
            serde_path_to_error::deserialize(value).map_err(field_error)?;
        manifest.validate()?;
        manifest.labels = labels::validate(std::mem::take(&mut manifest.labels))
            .map_err(ManifestError::Labels)?;
        Ok(manifest)
    }

    /// The rules serde cannot express: safe names, plain file names, sane tolerances.
    fn validate(&self) -> Result<(), ManifestError> {
        let must = |field: &str, ok: bool, what: &str| match ok {
            true => Ok(()),
            false => Err(ManifestError::Invalid {
                field: field.to_owned(),
                message: what.to_owned(),
            }),
        };
        let identifier =
            "must be 1-128 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit";
        must("name", is_identifier(&self.name), identifier)?;
        must("version", is_identifier(&self.version), identifier)?;
        let file = "must be a plain file name inside the bundle";
        must("model.file", is_plain_file_name(&self.model.file), file)?;
        must("golden.file", is_plain_file_name(&self.golden.file), file)?;
        must(
            "model.input",
            !self.model.input.is_empty(),
            "must not be empty",
        )?;
        must(
            "model.output",
            !self.model.output.is_empty(),
            "must not be empty",
        )?;
        check_tolerance("golden.atol", self.golden.atol)?;
        check_tolerance("golden.rtol", self.golden.rtol)?;
        // Refused here, at verification, rather than on the first request to a promoted model.
        self.preprocess
            .validate()
            .map_err(|e| ManifestError::Invalid {
                field: "preprocess".to_owned(),
                message: match e {
                    ImageError::Preprocess(message) => message,
                    other => other.to_string(),
                },
            })
    }
}

/// Checked before the rest, so a file of another format (or version) gets that as its error
/// instead of a list of fields it lacks.
fn check_format(value: &Value) -> Result<(), ManifestError> {
    let Value::Object(map) = value else {
        return Err(ManifestError::Invalid {
            field: ".".to_owned(),
            message: "the manifest must be a JSON object".to_owned(),
        });
    };
    match map.get("format") {
        None => Err(ManifestError::Missing {
            field: "format".to_owned(),
        }),
        Some(Value::String(s)) if s == FORMAT => Ok(()),
        Some(other) => Err(ManifestError::Format {
            got: other.to_string(),
        }),
    }
}

fn check_tolerance(field: &'static str, value: f64) -> Result<(), ManifestError> {
    match value.is_finite() && value >= 0.0 {
        true => Ok(()),
        false => Err(ManifestError::Tolerance { field, value }),
    }
}

/// Turns serde's error into one naming the full field path. serde reports a missing field as
/// "missing field `x`" at the path of the object lacking it, so the two are joined.
fn field_error(err: serde_path_to_error::Error<serde_json::Error>) -> ManifestError {
    let path = err.path().to_string();
    let message = err.into_inner().to_string();
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'));
    match (missing, path.as_str()) {
        (Some(name), ".") => ManifestError::Missing {
            field: name.to_owned(),
        },
        (Some(name), parent) => ManifestError::Missing {
            field: format!("{parent}.{name}"),
        },
        (None, _) => ManifestError::Invalid {
            field: path,
            message,
        },
    }
}
