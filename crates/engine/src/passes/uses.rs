//! Who reads and who produces each value: what the fusion passes ask before rewriting a node.

use crate::ir::Graph;

/// Per value: how many node inputs read it, plus one per mention among the graph outputs (an
/// output must never be fused away).
pub(crate) fn reader_counts(graph: &Graph) -> Vec<usize> {
    let mut readers = vec![0usize; graph.values.len()];
    for node in &graph.nodes {
        for id in node.inputs.iter().flatten() {
            readers[id.index()] += 1;
        }
    }
    for id in &graph.outputs {
        readers[id.index()] += 1;
    }
    readers
}

/// Per value: the index of the node that produces it, if any.
pub(crate) fn producers(graph: &Graph) -> Vec<Option<usize>> {
    let mut producer = vec![None; graph.values.len()];
    for (i, node) in graph.nodes.iter().enumerate() {
        for id in &node.outputs {
            producer[id.index()] = Some(i);
        }
    }
    producer
}
