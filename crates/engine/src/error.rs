//! Errors of the engine: a failing node is always named with its op.

use crate::ops::OpError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A node failed to infer or run; `node` is its name in the model.
    #[error("node \"{node}\" ({op}): {source}")]
    Node {
        node: String,
        op: &'static str,
        #[source]
        source: OpError,
    },
    /// The caller's inputs do not fit the model's declared inputs.
    #[error("input \"{name}\": {message}")]
    Input { name: String, message: String },
    /// An engine option (from the caller or the environment) is invalid.
    #[error("invalid engine option: {0}")]
    Options(String),
    /// The graph itself is inconsistent (a bug in an importer or a pass).
    #[error("invalid graph: {0}")]
    Graph(String),
}

impl EngineError {
    pub(crate) fn node(node: &crate::ir::Node, source: OpError) -> EngineError {
        EngineError::Node {
            node: node.name.clone(),
            op: node.op.name(),
            source,
        }
    }
}
