//! Class labels (DESIGN §2, §9): `labels[i]` describes output class `i`.
//!
//! A label is a display `name` plus extra fields passed through to responses unchanged (the
//! original `breed_ko`). Label *files* come in three shapes — a list of strings, a list of
//! objects, an object keyed by class index — and [`parse_label_file`] reads them all; the
//! manifest always holds the second shape with `name` present.
//!
//! Reserved keys. Responses set `index`, `label` and `probability` themselves, so a label may
//! not carry them as extra fields:
//! - `index` is accepted only when it equals the class's index, and is then dropped (it is
//!   redundant; a list of `{"index": i, "label": ...}` objects is a common file shape);
//!   any other value is an error, never a silent reordering;
//! - `label` is accepted only as the source of the name (no `name`, and `label` is the first
//!   string field), which consumes it;
//! - `probability` is always an error.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::names::strip_bom;

/// One output class.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Label {
    /// The display label.
    pub name: String,
    /// Every other field of the label object, in file order.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, thiserror::Error)]
pub enum LabelError {
    #[error("not valid JSON: {0}")]
    Json(serde_json::Error),
    #[error("expected a list of labels or an object keyed by class index, got {0}")]
    Shape(&'static str),
    #[error("there are no labels")]
    Empty,
    #[error("key {key:?} is not a class index (keys are the integers 0..{count}, written plainly)")]
    BadKey { key: String, count: usize },
    #[error("class index {missing} is missing (keys must be exactly 0..{count})")]
    Gap { missing: usize, count: usize },
    #[error("class {index}: expected a string or an object, got {got}")]
    BadEntry { index: usize, got: &'static str },
    #[error("class {index}: no \"name\", and no string field to use as the name")]
    NoName { index: usize },
    #[error("class {index}: \"name\" must be a string, got {got}")]
    NameNotString { index: usize, got: &'static str },
    #[error("class {index}: the name is empty")]
    EmptyName { index: usize },
    #[error("class {index}: field \"index\" is {got}, but this is class {index}")]
    IndexMismatch { index: usize, got: String },
    #[error("class {index}: field {key:?} is reserved (responses set it); rename it")]
    Reserved { index: usize, key: &'static str },
}

/// Reads a label file in any of the three shapes. A UTF-8 byte-order mark is ignored; an
/// object's "first string field" is the first in file order.
pub fn parse_label_file(bytes: &[u8]) -> Result<Vec<Label>, LabelError> {
    let value: Value = serde_json::from_slice(strip_bom(bytes)).map_err(LabelError::Json)?;
    let entries = match value {
        Value::Array(items) => items,
        Value::Object(map) => by_class_index(map)?,
        other => return Err(LabelError::Shape(kind(&other))),
    };
    if entries.is_empty() {
        return Err(LabelError::Empty);
    }
    entries
        .into_iter()
        .enumerate()
        .map(|(index, value)| label_from_value(index, value))
        .collect()
}

/// Checks labels that arrived already split into name and extra (the manifest's), with the
/// same rules as label files.
pub fn validate(labels: Vec<Label>) -> Result<Vec<Label>, LabelError> {
    if labels.is_empty() {
        return Err(LabelError::Empty);
    }
    labels
        .into_iter()
        .enumerate()
        .map(|(index, label)| finish(index, label.name, label.extra))
        .collect()
}

/// Orders `{"0": .., "1": .., "10": ..}` numerically, requiring exactly `0..N-1`.
fn by_class_index(map: Map<String, Value>) -> Result<Vec<Value>, LabelError> {
    let count = map.len();
    let mut indexed = Vec::with_capacity(count);
    for (key, value) in map {
        match parse_index(&key) {
            Some(index) => indexed.push((index, value)),
            None => return Err(LabelError::BadKey { key, count }),
        }
    }
    indexed.sort_by_key(|(index, _)| *index);
    // Keys are distinct, so the first position holding a larger index marks the gap.
    for (expected, (index, _)) in indexed.iter().enumerate() {
        if *index != expected {
            return Err(LabelError::Gap {
                missing: expected,
                count,
            });
        }
    }
    Ok(indexed.into_iter().map(|(_, value)| value).collect())
}

/// A plain decimal index: digits only, no sign, no leading zero (so "1" and "01" cannot both
/// name class 1).
fn parse_index(key: &str) -> Option<usize> {
    let plain = key.bytes().all(|b| b.is_ascii_digit()) && (key == "0" || !key.starts_with('0'));
    if plain { key.parse().ok() } else { None }
}

fn label_from_value(index: usize, value: Value) -> Result<Label, LabelError> {
    match value {
        Value::String(name) => finish(index, name, Map::new()),
        Value::Object(mut fields) => {
            let name = take_name(index, &mut fields)?;
            finish(index, name, fields)
        }
        other => Err(LabelError::BadEntry {
            index,
            got: kind(&other),
        }),
    }
}

/// Removes and returns `name`, else the first string field (in file order).
fn take_name(index: usize, fields: &mut Map<String, Value>) -> Result<String, LabelError> {
    let key = match fields.get("name") {
        Some(Value::String(_)) => "name".to_owned(),
        Some(other) => {
            let got = kind(other);
            return Err(LabelError::NameNotString { index, got });
        }
        None => fields
            .iter()
            .find(|(_, v)| v.is_string())
            .map(|(k, _)| k.clone())
            .ok_or(LabelError::NoName { index })?,
    };
    // `shift_remove` keeps the remaining fields in file order (`remove` would swap them).
    match fields.shift_remove(&key) {
        Some(Value::String(name)) => Ok(name),
        _ => Err(LabelError::NoName { index }),
    }
}

/// Applies the rules every label obeys: a non-empty name, and the reserved keys.
fn finish(index: usize, name: String, mut extra: Map<String, Value>) -> Result<Label, LabelError> {
    if name.trim().is_empty() {
        return Err(LabelError::EmptyName { index });
    }
    if let Some(given) = extra.shift_remove("index")
        && given.as_u64() != Some(index as u64)
    {
        let got = given.to_string();
        return Err(LabelError::IndexMismatch { index, got });
    }
    for key in ["label", "probability"] {
        if extra.contains_key(key) {
            return Err(LabelError::Reserved { index, key });
        }
    }
    Ok(Label { name, extra })
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}
