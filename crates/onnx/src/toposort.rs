//! Orders nodes so every node follows the producers of its inputs (Kahn's algorithm, no
//! recursion), reporting inputs that nothing produces and dependency cycles.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use crate::error::{LoadError, bail};
use crate::naming::node_label;
use crate::proto::NodeProto;

/// Node indices in dependency order. Among ready nodes the earliest in the file goes first, so
/// an already sorted file keeps its order. `is_external(name)` tells whether a graph input or
/// initializer provides `name`.
pub fn order(
    nodes: &[NodeProto],
    is_external: impl Fn(&str) -> bool,
) -> Result<Vec<usize>, LoadError> {
    let producers = producers(nodes, &is_external)?;
    let preds = predecessors(nodes, &producers, &is_external)?;
    let mut succs = vec![Vec::new(); nodes.len()];
    let mut pending: Vec<usize> = preds.iter().map(Vec::len).collect();
    for (i, ps) in preds.iter().enumerate() {
        for &p in ps {
            succs[p].push(i);
        }
    }
    let mut ready: BinaryHeap<Reverse<usize>> = (0..nodes.len())
        .filter(|&i| pending[i] == 0)
        .map(Reverse)
        .collect();
    let mut sorted = Vec::with_capacity(nodes.len());
    while let Some(Reverse(i)) = ready.pop() {
        sorted.push(i);
        for &s in &succs[i] {
            pending[s] -= 1;
            if pending[s] == 0 {
                ready.push(Reverse(s));
            }
        }
    }
    if sorted.len() < nodes.len() {
        let on_cycle = node_on_cycle(&pending, &preds);
        let name = nodes[on_cycle].name.as_deref().filter(|n| !n.is_empty());
        let name = name.map_or_else(|| format!("#{on_cycle}"), |n| format!("\"{n}\""));
        bail!(Cycle, "graph has a cycle involving node {name}");
    }
    Ok(sorted)
}

/// Which node produces each named output; a name produced twice breaks single assignment.
fn producers<'a>(
    nodes: &'a [NodeProto],
    is_external: &impl Fn(&str) -> bool,
) -> Result<HashMap<&'a str, usize>, LoadError> {
    let mut map = HashMap::new();
    for (i, node) in nodes.iter().enumerate() {
        for out in node.output.iter().filter(|o| !o.is_empty()) {
            let clash = if is_external(out) {
                Some("a graph input or initializer".to_owned())
            } else {
                map.insert(out.as_str(), i)
                    .map(|j| node_label(&nodes[j], j))
            };
            if let Some(other) = clash {
                let e = LoadError::new(
                    crate::error::ErrorKind::Malformed,
                    format!("output \"{out}\" has the same name as {other}"),
                );
                return Err(e.at(node_label(node, i)));
            }
        }
    }
    Ok(map)
}

/// For each node, the nodes producing its inputs (once per input that refers to one).
fn predecessors(
    nodes: &[NodeProto],
    producers: &HashMap<&str, usize>,
    is_external: &impl Fn(&str) -> bool,
) -> Result<Vec<Vec<usize>>, LoadError> {
    let mut preds = Vec::with_capacity(nodes.len());
    for (i, node) in nodes.iter().enumerate() {
        let mut ps = Vec::new();
        for input in node.input.iter().filter(|s| !s.is_empty()) {
            match producers.get(input.as_str()) {
                Some(&p) => ps.push(p),
                None if is_external(input) => {}
                None => {
                    let e = LoadError::new(
                        crate::error::ErrorKind::MissingInput,
                        format!(
                            "input \"{input}\" is not produced by any node, graph input or initializer"
                        ),
                    );
                    return Err(e.at(node_label(node, i)));
                }
            }
        }
        preds.push(ps);
    }
    Ok(preds)
}

/// A node that lies on a cycle. Every node left unsorted still waits for an unsorted
/// predecessor, so walking back through those must revisit a node; that node is on a cycle.
fn node_on_cycle(pending: &[usize], preds: &[Vec<usize>]) -> usize {
    let unsorted = |i: usize| pending[i] > 0;
    let mut seen = vec![false; pending.len()];
    let mut at = (0..pending.len()).find(|&i| unsorted(i)).unwrap_or(0);
    while !seen[at] {
        seen[at] = true;
        match preds[at].iter().copied().find(|&p| unsorted(p)) {
            Some(p) => at = p,
            None => break,
        }
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builder::{named, node};
    use crate::error::ErrorKind;

    fn relu(name: &str, input: &str, output: &str) -> NodeProto {
        named(name, node("Relu", &[input], &[output], vec![]))
    }

    #[test]
    fn sorted_file_keeps_its_order_and_unsorted_is_fixed() {
        let x = |n: &str| n == "x";
        let nodes = [
            relu("a", "x", "a"),
            relu("b", "a", "b"),
            relu("c", "x", "c"),
        ];
        assert_eq!(order(&nodes, x).unwrap(), vec![0, 1, 2]);
        let nodes = [relu("b", "a", "b"), relu("a", "x", "a")];
        assert_eq!(order(&nodes, x).unwrap(), vec![1, 0]);
    }

    #[test]
    fn cycle_names_a_node_on_it() {
        // "z" only depends on the cycle a <-> b; the report must name a or b, not z.
        let nodes = [
            relu("z", "b", "z"),
            relu("a", "b", "a"),
            relu("b", "a", "b"),
        ];
        let e = order(&nodes, |_| false).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Cycle);
        assert!(
            e.message().ends_with("node \"a\"") || e.message().ends_with("node \"b\""),
            "{e}"
        );
    }

    #[test]
    fn missing_input_and_double_producer() {
        let e = order(&[relu("a", "nope", "a")], |_| false).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::MissingInput);
        assert_eq!(
            e.to_string(),
            "node \"a\" (Relu): input \"nope\" is not produced by any node, graph input or initializer"
        );
        let nodes = [relu("a", "x", "y"), relu("b", "x", "y")];
        assert_eq!(
            order(&nodes, |n| n == "x").unwrap_err().kind(),
            ErrorKind::Malformed
        );
    }
}
