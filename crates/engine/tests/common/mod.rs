//! A small graph builder shared by the engine's integration tests.

use std::sync::Arc;

use litecnn_engine::ir::{Dim, Graph, Node, Op, Value, ValueId};
use litecnn_engine::{DType, Kernels, Layout, Model, ModelOptions, Tensor};

/// A tensor of `shape` with smooth, varied values in [-1, 1], different for each `seed`.
#[allow(dead_code)]
pub fn values(shape: Vec<usize>, seed: u32) -> Tensor {
    let n = shape.iter().product();
    let data = (0..n)
        .map(|i| ((i as f32 + 1.0) * 0.618 + seed as f32 * 1.7).sin())
        .collect();
    Tensor::from_f32(shape, data).unwrap()
}

/// `graph` loaded with these kernels, layout and threads (the other options as by default).
#[allow(dead_code)]
pub fn model(graph: Graph, kernels: Kernels, layout: Layout, threads: usize) -> Model {
    let options = ModelOptions {
        kernels,
        threads,
        layout,
        ..ModelOptions::default()
    };
    Model::with_options(graph, options).unwrap()
}

pub struct Builder {
    pub graph: Graph,
}

#[allow(dead_code)]
impl Builder {
    pub fn new() -> Builder {
        Builder {
            graph: Graph::default(),
        }
    }

    pub fn input(&mut self, name: &str, shape: Vec<Dim>) -> ValueId {
        let id = self.value(name, Some(DType::F32), Some(shape));
        self.graph.inputs.push(id);
        id
    }

    pub fn value(&mut self, name: &str, dtype: Option<DType>, shape: Option<Vec<Dim>>) -> ValueId {
        self.graph.add_value(Value {
            name: name.into(),
            dtype,
            shape,
        })
    }

    pub fn constant(&mut self, name: &str, t: Tensor) -> ValueId {
        let id = self.value(name, None, None);
        self.graph.constants.insert(id, Arc::new(t));
        id
    }

    pub fn node(&mut self, op: Op, inputs: &[ValueId]) -> ValueId {
        let name = format!("{}_{}", op.name(), self.graph.nodes.len());
        let out = self.value(&format!("{name}_out"), None, None);
        self.graph.nodes.push(Node {
            name,
            op,
            inputs: inputs.iter().map(|&i| Some(i)).collect(),
            outputs: vec![out],
        });
        out
    }
}
