//! Finds ShuffleNet's channel shuffle as exporters write it, for [`super::channels_last`] to
//! run as one channels-last op: `x.view(n, g, c / g, h, w)` (a Reshape), `.transpose(1, 2)`
//! (a Transpose with perm `[0, 2, 1, 3, 4]`) and `.view(n, c, h, w)` (a Reshape back).

use std::collections::HashMap;

use super::uses::reader_counts;
use crate::ir::{Dim, Graph, Op, ValueId};

/// One channel shuffle, found by the output of its first Reshape.
#[derive(Clone, Copy, Debug)]
pub(super) struct Shuffle {
    pub groups: usize,
    /// The Transpose's output, which only the second Reshape reads.
    pub transposed: ValueId,
    /// The second Reshape's output: the shuffled tensor, shaped as the input.
    pub out: ValueId,
}

/// Every channel shuffle of `graph`, by the output of its first Reshape. The chain's inner
/// values must have no other reader (nor be graph outputs), and the shapes the graph infers
/// must be exactly those of a shuffle.
pub(super) fn find_shuffles(graph: &Graph) -> HashMap<ValueId, Shuffle> {
    let readers = reader_counts(graph);
    // The node reading each value that has exactly one reader.
    let mut only_reader = HashMap::new();
    for (i, node) in graph.nodes.iter().enumerate() {
        for &id in node.inputs.iter().flatten() {
            if readers[id.index()] == 1 {
                only_reader.insert(id, i);
            }
        }
    }
    let shape = |id: ValueId| graph.value(id).shape.as_deref();
    let mut found = HashMap::new();
    for node in &graph.nodes {
        let (Op::Reshape { .. }, Some(Some(x)), [split]) =
            (&node.op, node.inputs.first(), &node.outputs[..])
        else {
            continue;
        };
        let Some(&t) = only_reader.get(split) else {
            continue;
        };
        let transpose = &graph.nodes[t];
        let (Op::Transpose { perm: Some(perm) }, [transposed]) =
            (&transpose.op, &transpose.outputs[..])
        else {
            continue;
        };
        let Some(&r) = only_reader.get(transposed) else {
            continue;
        };
        let back = &graph.nodes[r];
        let (Op::Reshape { .. }, [out]) = (&back.op, &back.outputs[..]) else {
            continue;
        };
        let (Some(xs), Some(split_shape), Some(out_shape)) =
            (shape(*x), shape(*split), shape(*out))
        else {
            continue;
        };
        if perm[..] != [0, 2, 1, 3, 4] || xs.len() != 4 || out_shape != xs {
            continue;
        }
        if let Some(groups) = groups_of(xs, split_shape) {
            found.insert(
                *split,
                Shuffle {
                    groups,
                    transposed: *transposed,
                    out: *out,
                },
            );
        }
    }
    found
}

/// `g` when `split` is `x`'s shape `[n, c, h, w]` viewed as `[n, g, c / g, h, w]`.
fn groups_of(x: &[Dim], split: &[Dim]) -> Option<usize> {
    let [n, c, h, w] = x else { return None };
    let [sn, g, per_group, sh, sw] = split else {
        return None;
    };
    let (c, g, per_group) = (c.known()?, g.known()?, per_group.known()?);
    (sn == n && sh == h && sw == w && g > 0 && g * per_group == c).then_some(g)
}
