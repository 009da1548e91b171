//! Type and shape inference with load-time evaluation of everything that is already known.
//!
//! Walks the nodes in topological order carrying [`Facts`] for every value. A node is folded
//! (removed, its outputs turned into constants) when its inputs are all constants or when
//! inference alone determines its outputs (`Shape` of a statically shaped tensor). Shape
//! vectors that mix known numbers with a symbolic batch dimension are tracked by
//! [`super::symbolic`] so that `Reshape` targets built from them fold as well.

use std::sync::Arc;

use super::symbolic::SymbolicValues;
use crate::error::EngineError;
use crate::ir::{Dim, Graph, Node};
use crate::ops::{self, Facts};
use crate::tensor::Tensor;

pub fn fold_constants(graph: &mut Graph) -> Result<(), EngineError> {
    let mut facts = initial_facts(graph);
    let mut symbolic = SymbolicValues::default();
    let mut kept = Vec::with_capacity(graph.nodes.len());
    for mut node in std::mem::take(&mut graph.nodes) {
        symbolic.rewrite_reshape_target(&mut node, &facts, graph);
        // The rewrite may have added a constant: give every new value its facts.
        for id in facts.len()..graph.values.len() {
            let value = graph.constants.get(&crate::ir::ValueId(id as u32));
            facts.push(value.map_or_else(Facts::unknown, constant_facts));
        }
        let inferred = infer_node(&node, &facts)?;
        if let Some(values) = fold_node(&node, &facts, &inferred)? {
            for (&id, value) in node.outputs.iter().zip(values) {
                facts[id.index()] = constant_facts(&value);
                graph.constants.insert(id, value);
            }
            continue;
        }
        if let Some(value) = symbolic.fold(&node, &facts) {
            let value = Arc::new(value);
            facts[node.outputs[0].index()] = constant_facts(&value);
            graph.constants.insert(node.outputs[0], value);
            continue;
        }
        for (&id, fact) in node.outputs.iter().zip(inferred) {
            facts[id.index()] = fact;
        }
        kept.push(node);
    }
    graph.nodes = kept;
    record_facts(graph, &facts);
    Ok(())
}

/// Facts of graph inputs (as declared) and constants (exact); everything else unknown.
fn initial_facts(graph: &Graph) -> Vec<Facts> {
    let mut facts: Vec<Facts> = graph
        .values
        .iter()
        .map(|v| Facts {
            dtype: v.dtype,
            shape: v.shape.clone(),
            value: None,
        })
        .collect();
    for (id, value) in &graph.constants {
        facts[id.index()] = constant_facts(value);
    }
    facts
}

pub(crate) fn constant_facts(value: &Arc<Tensor>) -> Facts {
    Facts {
        dtype: Some(value.dtype()),
        shape: Some(value.shape().iter().map(|&d| Dim::Known(d)).collect()),
        value: Some(value.clone()),
    }
}

fn infer_node(node: &Node, facts: &[Facts]) -> Result<Vec<Facts>, EngineError> {
    let inputs: Vec<Option<&Facts>> = node
        .inputs
        .iter()
        .map(|i| i.map(|id| &facts[id.index()]))
        .collect();
    let mut out = ops::infer(&node.op, &inputs, node.outputs.len())
        .map_err(|e| EngineError::node(node, e))?;
    out.resize(node.outputs.len(), Facts::unknown());
    Ok(out)
}

/// The node's output values when they are all known now, by inference or by evaluation.
fn fold_node(
    node: &Node,
    facts: &[Facts],
    inferred: &[Facts],
) -> Result<Option<Vec<Arc<Tensor>>>, EngineError> {
    if inferred.iter().all(|f| f.value.is_some()) {
        return Ok(Some(
            inferred.iter().flat_map(|f| f.value.clone()).collect(),
        ));
    }
    let constants: Option<Vec<Option<&Tensor>>> = node
        .inputs
        .iter()
        .map(|i| match i {
            None => Some(None),
            Some(id) => facts[id.index()].value.as_deref().map(Some),
        })
        .collect();
    let Some(constants) = constants else {
        return Ok(None);
    };
    let outputs = ops::eval(&node.op, &constants, node.outputs.len())
        .map_err(|e| EngineError::node(node, e))?;
    Ok(Some(outputs.into_iter().map(Arc::new).collect()))
}

/// Writes what inference learnt back into the graph's value table (for `inspect` and planning).
/// Inferred facts win over declared ones: exporters sometimes declare output shapes with
/// placeholder names (`Convout_dim_3`) or reuse the batch symbol for a spatial dimension.
fn record_facts(graph: &mut Graph, facts: &[Facts]) {
    for (i, fact) in facts.iter().enumerate() {
        let value = &mut graph.values[i];
        if fact.dtype.is_some() {
            value.dtype = fact.dtype;
        }
        if fact.shape.is_some() {
            value.shape = fact.shape.clone();
        }
    }
}
