//! The model envelope: protobuf decoding, the header facts ([`ModelInfo`]) and the opset check.

use prost::Message;

use crate::error::{LoadError, bail};
use crate::ops::is_default_domain;
use crate::proto::{ModelProto, OperatorSetIdProto};

/// Oldest default-domain opset accepted: the first. The translators give the older forms
/// (legacy broadcasting, attributes that later became inputs…) their original meaning.
pub const MIN_OPSET: i64 = 1;
/// Newest default-domain opset accepted: the newest of the pinned `onnx` 1.22.0 wheel. None
/// of the ops litecnn supports changed meaning after opset 23 (later versions only add element
/// types, and Cast's `round_mode`, which only concerns float8 targets).
pub const MAX_OPSET: i64 = 27;

/// Facts from the model's header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelInfo {
    pub ir_version: i64,
    /// Version of the default ("" / "ai.onnx") operator set.
    pub opset: i64,
    pub producer_name: String,
    pub producer_version: String,
}

/// Decodes a serialized `ModelProto`. Protobuf decoding never allocates more than the input's
/// size, and nesting depth is capped by prost.
pub fn decode(bytes: &[u8]) -> Result<ModelProto, LoadError> {
    let model = match ModelProto::decode(bytes) {
        Ok(m) => m,
        Err(e) => bail!(
            Malformed,
            "file is not an ONNX model: protobuf decode failed: {e}"
        ),
    };
    check(model)
}

/// Refuses a decoded message that is not a model.
pub fn check(model: ModelProto) -> Result<ModelProto, LoadError> {
    // Arbitrary bytes sometimes decode as a message of unknown fields; a model has these two.
    if model.ir_version.is_none() || model.graph.is_none() {
        bail!(
            Malformed,
            "file is not an ONNX model: it has no ir_version or no graph"
        );
    }
    Ok(model)
}

/// The header facts, checking the default-domain opset is supported.
pub fn info(model: &ModelProto) -> Result<ModelInfo, LoadError> {
    Ok(ModelInfo {
        ir_version: model.ir_version.unwrap_or(0),
        opset: default_opset(&model.opset_import)?,
        producer_name: model.producer_name.clone().unwrap_or_default(),
        producer_version: model.producer_version.clone().unwrap_or_default(),
    })
}

fn default_opset(imports: &[OperatorSetIdProto]) -> Result<i64, LoadError> {
    let mut versions = imports
        .iter()
        .filter(|o| is_default_domain(o.domain.as_deref().unwrap_or("")))
        .map(|o| o.version.unwrap_or(0));
    let Some(v) = versions.next() else {
        let others: Vec<String> = imports
            .iter()
            .map(|o| {
                format!(
                    "{} {}",
                    o.domain.as_deref().unwrap_or(""),
                    o.version.unwrap_or(0)
                )
            })
            .collect();
        bail!(
            UnsupportedOpset,
            "model imports no opset of the default domain (only [{}]); litecnn implements only \
             default-domain ops",
            others.join(", ")
        );
    };
    if let Some(w) = versions.find(|&w| w != v) {
        bail!(
            Malformed,
            "model imports the default domain twice, as opsets {v} and {w}"
        );
    }
    if !(MIN_OPSET..=MAX_OPSET).contains(&v) {
        bail!(
            UnsupportedOpset,
            "opset {v} of the default domain is not supported (supported: {MIN_OPSET} to {MAX_OPSET})"
        );
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builder::{graph, model};
    use crate::error::ErrorKind;

    #[test]
    fn reads_header() {
        let m = model(13, graph(vec![], vec![], vec![], vec![]));
        let i = info(&m).unwrap();
        assert_eq!((i.ir_version, i.opset), (8, 13));
        assert_eq!(i.producer_name, "litecnn-onnx tests");
    }

    #[test]
    fn opset_range_is_enforced() {
        for (v, ok) in [(0, false), (1, true), (6, true), (27, true), (28, false)] {
            let m = model(v, graph(vec![], vec![], vec![], vec![]));
            match info(&m) {
                Ok(_) => assert!(ok, "opset {v} accepted"),
                Err(e) => assert!(
                    !ok && e.kind() == ErrorKind::UnsupportedOpset,
                    "opset {v}: {e}"
                ),
            }
        }
    }

    #[test]
    fn ai_onnx_is_the_default_domain() {
        let mut m = model(13, graph(vec![], vec![], vec![], vec![]));
        m.opset_import[0].domain = Some("ai.onnx".into());
        assert_eq!(info(&m).unwrap().opset, 13);
        m.opset_import[0].domain = Some("com.microsoft".into());
        assert_eq!(info(&m).unwrap_err().kind(), ErrorKind::UnsupportedOpset);
    }
}
