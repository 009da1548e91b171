//! What the importer knows about value shapes while it translates, for the forms of opsets
//! before 7 whose meaning depends on an input's rank (legacy broadcasting with `axis`, PRelu's
//! per-channel slope; see `ops::legacy`).
//!
//! Constants have their exact shape and graph inputs their declared one. For node outputs the
//! engine's own shape inference runs as the nodes are added, but only in those old models:
//! newer ones never ask, and the engine infers every shape again after the load anyway.

use std::collections::HashMap;

use litecnn_engine::ops::{self, Facts};
use litecnn_engine::{Dim, Graph, Node, ValueId};

pub struct KnownShapes {
    infer: bool,
    /// Facts inferred for node outputs.
    inferred: HashMap<ValueId, Facts>,
}

impl KnownShapes {
    /// Shapes of node outputs are inferred only when `opset` has rank-dependent forms.
    pub fn new(opset: i64) -> KnownShapes {
        KnownShapes {
            infer: opset < 7,
            inferred: HashMap::new(),
        }
    }

    /// The shape of `id`, if known.
    pub fn shape(&self, graph: &Graph, id: ValueId) -> Option<Vec<Dim>> {
        self.facts(graph, id).shape
    }

    fn facts(&self, graph: &Graph, id: ValueId) -> Facts {
        if let Some(t) = graph.constants.get(&id) {
            return Facts {
                dtype: Some(t.dtype()),
                shape: Some(t.shape().iter().map(|&d| Dim::Known(d)).collect()),
                value: Some(t.clone()),
            };
        }
        if let Some(f) = self.inferred.get(&id) {
            return f.clone();
        }
        let v = graph.value(id);
        Facts {
            dtype: v.dtype,
            shape: v.shape.clone(),
            value: None,
        }
    }

    /// Infers the outputs of `node`, just added to `graph`.
    pub fn record(&mut self, graph: &Graph, node: &Node) {
        if !self.infer {
            return;
        }
        let facts: Vec<Option<Facts>> = node
            .inputs
            .iter()
            .map(|i| i.map(|id| self.facts(graph, id)))
            .collect();
        let refs: Vec<Option<&Facts>> = facts.iter().map(Option::as_ref).collect();
        // An inference error is the engine's to report, against the node, when the model is
        // prepared; for the importer these outputs simply have no known shape.
        if let Ok(out) = ops::infer(&node.op, &refs, node.outputs.len()) {
            self.inferred.extend(node.outputs.iter().copied().zip(out));
        }
    }
}
