//! `GraphProto` → [`Graph`]: names become [`ValueId`]s, initializers and `Constant` nodes
//! become constants, nodes are translated in dependency order, and the declared types of the
//! graph's inputs and outputs are attached to their values.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use litecnn_engine::{Dim, Graph, Node, Op, Tensor, Value, ValueId};

use crate::error::{ErrorKind, LoadError, bail};
use crate::naming::{ir_name, node_label, op_type};
use crate::ops::{self, Lowered, NodeCtx, Operand};
use crate::proto::{GraphProto, NodeProto, TensorProto, ValueInfoProto};
use crate::shapes::KnownShapes;
use crate::tensor::tensor_from_proto;
use crate::toposort;
use crate::value_info::declared;

/// Builds the IR graph of `g`, a main graph of a model importing `opset`. Consumes `g` so each
/// initializer's protobuf buffer is freed once converted (peak memory ≈ one copy of the weights).
pub fn import_graph(mut g: GraphProto, opset: i64) -> Result<Graph, LoadError> {
    if !g.sparse_initializer.is_empty() {
        bail!(UnsupportedFeature, "sparse initializers are not supported");
    }
    if g.output.is_empty() {
        bail!(Malformed, "graph has no outputs");
    }
    let mut imp = Importer {
        graph: Graph::default(),
        names: HashMap::new(),
        shapes: KnownShapes::new(opset),
    };
    imp.add_initializers(std::mem::take(&mut g.initializer))?;
    imp.add_inputs(&g.input)?;
    let order = toposort::order(&g.node, |name| imp.names.contains_key(name))?;
    let used = used_names(&g);
    for i in order {
        imp.add_node(&g.node[i], i, opset, &used)?;
    }
    imp.add_outputs(&g.output)?;
    Ok(imp.graph)
}

/// Names read by some node or exposed as graph outputs.
fn used_names(g: &GraphProto) -> HashSet<&str> {
    let read = g.node.iter().flat_map(|n| n.input.iter());
    let exposed = g.output.iter().filter_map(|o| o.name.as_ref());
    read.chain(exposed)
        .map(String::as_str)
        .filter(|s| !s.is_empty())
        .collect()
}

struct Importer {
    graph: Graph,
    /// ONNX value names → values. Constants made from old-opset attributes are not here.
    names: HashMap<String, ValueId>,
    /// Shapes known so far, for the translators of old opsets.
    shapes: KnownShapes,
}

impl Importer {
    /// Adds a named value; names must be unique across inputs, initializers and outputs.
    fn define(&mut self, value: Value) -> Result<ValueId, LoadError> {
        if self.names.contains_key(&value.name) {
            bail!(Malformed, "value \"{}\" is defined twice", value.name);
        }
        let name = value.name.clone();
        let id = self.graph.add_value(value);
        self.names.insert(name, id);
        Ok(id)
    }

    /// A value known at load time. `named` enters it in `names` (initializers, `Constant`
    /// outputs); constants made from old-opset attributes are not ONNX names.
    fn add_constant(
        &mut self,
        name: String,
        tensor: Tensor,
        named: bool,
    ) -> Result<ValueId, LoadError> {
        let value = Value {
            name,
            dtype: Some(tensor.dtype()),
            shape: Some(tensor.shape().iter().map(|&d| Dim::Known(d)).collect()),
        };
        let id = if named {
            self.define(value)?
        } else {
            self.graph.add_value(value)
        };
        self.graph.constants.insert(id, Arc::new(tensor));
        Ok(id)
    }

    fn add_initializers(&mut self, inits: Vec<TensorProto>) -> Result<(), LoadError> {
        for (i, t) in inits.into_iter().enumerate() {
            let name = t.name.clone().unwrap_or_default();
            if name.is_empty() {
                bail!(Malformed, "initializer #{i} has no name");
            }
            let at = format!("initializer \"{name}\"");
            let tensor = tensor_from_proto(t).map_err(|e| e.at(&at))?;
            self.add_constant(name, tensor, true)
                .map_err(|e| e.at(&at))?;
        }
        Ok(())
    }

    /// Graph inputs; those that also have an initializer are constants (their declared
    /// input is only a default that callers may not override here).
    fn add_inputs(&mut self, inputs: &[ValueInfoProto]) -> Result<(), LoadError> {
        let initialized: HashSet<String> = self.names.keys().cloned().collect();
        for (i, vi) in inputs.iter().enumerate() {
            let name = vi.name.clone().unwrap_or_default();
            if name.is_empty() {
                bail!(Malformed, "graph input #{i} has no name");
            }
            if initialized.contains(&name) {
                continue;
            }
            let at = format!("graph input \"{name}\"");
            let d = declared(vi).map_err(|e| e.at(&at))?;
            let value = Value {
                name,
                dtype: d.dtype,
                shape: d.shape,
            };
            let id = self.define(value).map_err(|e| e.at(&at))?;
            self.graph.inputs.push(id);
        }
        Ok(())
    }

    fn add_outputs(&mut self, outputs: &[ValueInfoProto]) -> Result<(), LoadError> {
        for vi in outputs {
            let name = vi.name.as_deref().unwrap_or("");
            let at = format!("graph output \"{name}\"");
            let Some(&id) = self.names.get(name) else {
                let e = LoadError::new(
                    ErrorKind::MissingInput,
                    "it is not produced by any node, graph input or initializer",
                );
                return Err(e.at(at));
            };
            let d = declared(vi).map_err(|e| e.at(&at))?;
            let value = &mut self.graph.values[id.index()];
            value.dtype = value.dtype.or(d.dtype);
            value.shape = value.shape.take().or(d.shape);
            self.graph.outputs.push(id);
        }
        Ok(())
    }

    fn add_node(
        &mut self,
        node: &NodeProto,
        index: usize,
        opset: i64,
        used: &HashSet<&str>,
    ) -> Result<(), LoadError> {
        let label = node_label(node, index);
        if op_type(node).is_empty() {
            return Err(LoadError::new(ErrorKind::Malformed, "node has no op_type").at(label));
        }
        let ctx = NodeCtx {
            node,
            op_type: op_type(node),
            opset,
            consts: node.input.iter().map(|n| self.constant_named(n)).collect(),
            shapes: node.input.iter().map(|n| self.shape_named(n)).collect(),
            outputs_used: node
                .output
                .iter()
                .map(|o| used.contains(o.as_str()))
                .collect(),
        };
        let lowered = ops::translate(&ctx).map_err(|e| e.at(&label))?;
        let result = match lowered {
            Lowered::Constant(t) => self
                .add_constant(node.output[0].clone(), t, true)
                .map(|_| ()),
            Lowered::Node {
                op,
                inputs,
                outputs,
            } => self.add_ir_node(node, index, op, inputs, outputs),
        };
        result.map_err(|e| e.at(label))
    }

    fn constant_named(&self, name: &str) -> Option<Arc<Tensor>> {
        let id = self.names.get(name)?;
        self.graph.constants.get(id).cloned()
    }

    fn shape_named(&self, name: &str) -> Option<Vec<Dim>> {
        let &id = self.names.get(name)?;
        self.shapes.shape(&self.graph, id)
    }

    fn add_ir_node(
        &mut self,
        node: &NodeProto,
        index: usize,
        op: Op,
        operands: Vec<Operand>,
        outputs: usize,
    ) -> Result<(), LoadError> {
        let name = ir_name(node, index);
        let mut inputs = Vec::with_capacity(operands.len());
        for operand in operands {
            inputs.push(self.resolve(node, &name, operand)?);
        }
        // Trailing absent inputs carry no meaning; dropping them gives every opset one form.
        while inputs.last() == Some(&None) {
            inputs.pop();
        }
        let outputs = self.node_outputs(node, &name, outputs)?;
        let node = Node {
            name,
            op,
            inputs,
            outputs,
        };
        self.shapes.record(&self.graph, &node);
        self.graph.nodes.push(node);
        Ok(())
    }

    fn resolve(
        &mut self,
        node: &NodeProto,
        node_name: &str,
        operand: Operand,
    ) -> Result<Option<ValueId>, LoadError> {
        match operand {
            Operand::Absent => Ok(None),
            Operand::Const(what, tensor) => self
                .add_constant(format!("{node_name}/{what}"), tensor, false)
                .map(Some),
            Operand::Input(i) => match node.input.get(i).map(String::as_str) {
                None | Some("") => Ok(None),
                Some(n) => match self.names.get(n) {
                    Some(&id) => Ok(Some(id)),
                    // The topological order guarantees producers come first; a `Constant`
                    // whose translation failed would already have stopped the load.
                    None => bail!(MissingInput, "input \"{n}\" is not defined"),
                },
            },
        }
    }

    /// Values for the first `count` outputs. An output the model does not name gets a
    /// generated one, since IR nodes always have their leading outputs.
    fn node_outputs(
        &mut self,
        node: &NodeProto,
        node_name: &str,
        count: usize,
    ) -> Result<Vec<ValueId>, LoadError> {
        let mut ids = Vec::with_capacity(count);
        for (i, out) in node.output.iter().take(count).enumerate() {
            let value = |name: String| Value {
                name,
                dtype: None,
                shape: None,
            };
            let id = if out.is_empty() {
                self.graph
                    .add_value(value(format!("{node_name}/output{i}")))
            } else {
                self.define(value(out.clone()))?
            };
            ids.push(id);
        }
        Ok(ids)
    }
}
