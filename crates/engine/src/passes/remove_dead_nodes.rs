//! Removes nodes whose outputs no graph output depends on, and constants nobody reads.

use std::collections::HashSet;

use crate::ir::{Graph, ValueId};

pub fn remove_dead_nodes(graph: &mut Graph) {
    let mut live: HashSet<ValueId> = graph.outputs.iter().copied().collect();
    let mut keep = vec![false; graph.nodes.len()];
    for (i, node) in graph.nodes.iter().enumerate().rev() {
        if node.outputs.iter().any(|o| live.contains(o)) {
            keep[i] = true;
            live.extend(node.inputs.iter().flatten().copied());
        }
    }
    let mut index = 0;
    graph.nodes.retain(|_| {
        index += 1;
        keep[index - 1]
    });
    graph.constants.retain(|id, _| live.contains(id));
}
