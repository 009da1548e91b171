//! How nodes are named: in error messages, and in the IR when the model left them unnamed.

use crate::proto::NodeProto;

/// The node's name, `None` when it is missing or empty.
fn given_name(node: &NodeProto) -> Option<&str> {
    node.name.as_deref().filter(|n| !n.is_empty())
}

pub fn op_type(node: &NodeProto) -> &str {
    node.op_type.as_deref().unwrap_or("")
}

/// `node "Conv_3" (Conv)`, or `node #3 (Conv)` for an unnamed node (`index` is its position in
/// the file, so the user can find it).
pub fn node_label(node: &NodeProto, index: usize) -> String {
    match given_name(node) {
        Some(name) => format!("node \"{name}\" ({})", op_type(node)),
        None => format!("node #{index} ({})", op_type(node)),
    }
}

/// The node's name in the IR: its own, or `<OpType>_<index>`.
pub fn ir_name(node: &NodeProto, index: usize) -> String {
    match given_name(node) {
        Some(name) => name.to_owned(),
        None => format!("{}_{index}", op_type(node)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builder::{named, node};

    #[test]
    fn named_and_unnamed_nodes() {
        let n = node("Conv", &[], &[], vec![]);
        assert_eq!(node_label(&n, 3), "node #3 (Conv)");
        assert_eq!(ir_name(&n, 3), "Conv_3");
        let n = named("c1", n);
        assert_eq!(node_label(&n, 3), "node \"c1\" (Conv)");
        assert_eq!(ir_name(&n, 3), "c1");
    }
}
