//! The loader's error type: a [`ErrorKind`] for programs, and a message for people that names
//! where the problem is (a node with its op, an initializer, a graph input…) and what is wrong.

use std::fmt;

/// What class of problem stopped the load. Stable: callers may match on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The file could not be read.
    Io,
    /// The bytes are not a well-formed ONNX model (bad protobuf, violated ONNX rules).
    Malformed,
    /// A tensor or the file is larger than the loader accepts.
    TooLarge,
    /// A tensor keeps its data in a separate file.
    ExternalData,
    /// The model's default-domain opset is outside the supported range.
    UnsupportedOpset,
    /// An op (or an op of another domain) that litecnn does not implement.
    UnsupportedOp,
    /// An attribute, or an attribute value, that litecnn does not implement.
    UnsupportedAttribute,
    /// A tensor element type other than FLOAT and INT64.
    UnsupportedDType,
    /// Another feature the engine does not implement (training mode, an op's extra outputs…).
    UnsupportedFeature,
    /// A name that nothing in the graph produces.
    MissingInput,
    /// The nodes cannot be ordered because they depend on each other.
    Cycle,
}

/// Why a model (or tensor) could not be loaded.
///
/// Displays as `<where>: <what>`, e.g. `node "Conv_3" (Conv): unsupported attribute "foo"`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct LoadError {
    kind: ErrorKind,
    location: Option<String>,
    message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Some(at) => write!(f, "{at}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl LoadError {
    /// An error not yet tied to a place; see [`LoadError::at`].
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> LoadError {
        LoadError {
            kind,
            location: None,
            message: message.into(),
        }
    }

    /// Ties the error to `location` (e.g. `initializer "w"`) unless it already names one:
    /// the innermost location is the most precise.
    pub fn at(mut self, location: impl Into<String>) -> LoadError {
        if self.location.is_none() {
            self.location = Some(location.into());
        }
        self
    }

    /// Prefixes the message with a detail of the location, e.g. `attribute "value"`.
    pub(crate) fn prefixed(mut self, detail: &str) -> LoadError {
        self.message = format!("{detail}: {}", self.message);
        self
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Where the problem is (`node "x" (Conv)`, `graph input "data"`…), when known.
    pub fn location(&self) -> Option<&str> {
        self.location.as_deref()
    }

    /// What is wrong, without the location.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// Shorthand for `Err(LoadError::new(kind, format!(...)))`.
macro_rules! bail {
    ($kind:ident, $($arg:tt)*) => {
        return Err($crate::error::LoadError::new(
            $crate::error::ErrorKind::$kind,
            format!($($arg)*),
        ))
    };
}
pub(crate) use bail;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_location_then_message() {
        let e = LoadError::new(
            ErrorKind::UnsupportedAttribute,
            "unsupported attribute \"foo\"",
        )
        .at("node \"Conv_3\" (Conv)")
        .at("ignored outer location");
        assert_eq!(
            e.to_string(),
            "node \"Conv_3\" (Conv): unsupported attribute \"foo\""
        );
        assert_eq!(e.kind(), ErrorKind::UnsupportedAttribute);
    }

    #[test]
    fn displays_bare_message_without_location() {
        let e = LoadError::new(ErrorKind::Cycle, "graph has a cycle involving node \"a\"");
        assert_eq!(e.to_string(), "graph has a cycle involving node \"a\"");
        assert_eq!(e.location(), None);
    }
}
