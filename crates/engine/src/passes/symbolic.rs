//! Shape vectors that are partly symbolic, such as `[N, 2, 58, 28, 28]` built by
//! `x.view(x.size(0), groups, ...)` when the batch `N` is only known at run time.
//!
//! Exporters compute such vectors with `Shape → Gather → Unsqueeze → Concat`. Their known
//! elements fold like any constant; the symbolic ones are tracked here, and a `Reshape` whose
//! symbolic target elements merely copy the same dimension of its input gets a constant target
//! with `0` ("copy this dimension") in their place — which is what the exporter meant.

use std::collections::HashMap;
use std::sync::Arc;

use crate::ir::{Dim, Graph, Node, Op, Value, ValueId};
use crate::ops::Facts;
use crate::tensor::{DType, Tensor};

#[derive(Clone, Debug, PartialEq)]
enum SymInt {
    Int(i64),
    Sym(Arc<str>),
}

/// A small int64 value (scalar or 1-D) with at least one symbolic element.
#[derive(Clone, Debug)]
struct SymVec {
    scalar: bool,
    elems: Vec<SymInt>,
}

#[derive(Default)]
pub(super) struct SymbolicValues {
    values: HashMap<ValueId, SymVec>,
}

impl SymbolicValues {
    /// Evaluates a shape-arithmetic node on partly symbolic operands. Returns the output as a
    /// constant when every element turned out known; otherwise remembers it and returns `None`.
    pub(super) fn fold(&mut self, node: &Node, facts: &[Facts]) -> Option<Tensor> {
        let out = self.evaluate(node, facts)?;
        let &id = node.outputs.first()?;
        let known: Option<Vec<i64>> = out
            .elems
            .iter()
            .map(|e| match e {
                SymInt::Int(v) => Some(*v),
                SymInt::Sym(_) => None,
            })
            .collect();
        match known {
            Some(v) if out.scalar => Some(Tensor::scalar_i64(v[0])),
            Some(v) => Some(Tensor::vec_i64(v)),
            None => {
                self.values.insert(id, out);
                None
            }
        }
    }

    /// Replaces a `Reshape` target that is partly symbolic by an equivalent constant.
    pub(super) fn rewrite_reshape_target(
        &self,
        node: &mut Node,
        facts: &[Facts],
        graph: &mut Graph,
    ) {
        let Op::Reshape { allowzero: false } = node.op else {
            return;
        };
        let (Some(Some(data)), Some(Some(target))) = (node.inputs.first(), node.inputs.get(1))
        else {
            return;
        };
        let (Some(target), Some(shape)) = (self.values.get(target), &facts[data.index()].shape)
        else {
            return;
        };
        let mut resolved = Vec::with_capacity(target.elems.len());
        for (i, e) in target.elems.iter().enumerate() {
            match e {
                SymInt::Int(v) => resolved.push(*v),
                SymInt::Sym(s) if shape.get(i) == Some(&Dim::Symbol(s.clone())) => resolved.push(0),
                SymInt::Sym(_) => return,
            }
        }
        let name = format!("{}__folded_shape", node.name);
        let id = graph.add_value(Value {
            name,
            dtype: Some(DType::I64),
            shape: Some(vec![Dim::Known(resolved.len())]),
        });
        graph
            .constants
            .insert(id, Arc::new(Tensor::vec_i64(resolved)));
        node.inputs[1] = Some(id);
    }

    fn operand(&self, id: Option<ValueId>, facts: &[Facts]) -> Option<SymVec> {
        let id = id?;
        if let Some(v) = self.values.get(&id) {
            return Some(v.clone());
        }
        let value = facts[id.index()].value.as_ref()?;
        let ints = value.as_i64()?;
        (value.rank() <= 1).then(|| SymVec {
            scalar: value.rank() == 0,
            elems: ints.iter().map(|&v| SymInt::Int(v)).collect(),
        })
    }

    fn evaluate(&self, node: &Node, facts: &[Facts]) -> Option<SymVec> {
        let input = |i: usize| node.inputs.get(i).copied().flatten();
        match &node.op {
            Op::Shape { start, end } => {
                shape_of(facts[input(0)?.index()].shape.as_ref()?, *start, *end)
            }
            Op::Identity | Op::Cast { to: DType::I64 } => self.operand(input(0), facts),
            Op::Gather { axis: 0 } => gather(
                self.operand(input(0), facts)?,
                self.operand(input(1), facts)?,
            ),
            Op::Unsqueeze => {
                let v = self.operand(input(0), facts)?;
                v.scalar.then_some(SymVec {
                    scalar: false,
                    elems: v.elems,
                })
            }
            Op::Squeeze => {
                let v = self.operand(input(0), facts)?;
                (!v.scalar && v.elems.len() == 1).then_some(SymVec {
                    scalar: true,
                    elems: v.elems,
                })
            }
            Op::Concat { axis: 0 | -1 } => {
                let mut elems = Vec::new();
                for i in node.inputs.iter() {
                    let v = self.operand(*i, facts)?;
                    if v.scalar {
                        return None;
                    }
                    elems.extend(v.elems);
                }
                Some(SymVec {
                    scalar: false,
                    elems,
                })
            }
            _ => None,
        }
    }
}

fn shape_of(dims: &[Dim], start: i64, end: Option<i64>) -> Option<SymVec> {
    let rank = dims.len() as i64;
    let clamp = |v: i64| (if v < 0 { v + rank } else { v }).clamp(0, rank) as usize;
    let (s, e) = (clamp(start), clamp(end.unwrap_or(rank)));
    let elems = dims
        .get(s..e.max(s))?
        .iter()
        .map(|d| match d {
            Dim::Known(n) => SymInt::Int(*n as i64),
            Dim::Symbol(name) => SymInt::Sym(name.clone()),
        })
        .collect();
    Some(SymVec {
        scalar: false,
        elems,
    })
}

fn gather(data: SymVec, indices: SymVec) -> Option<SymVec> {
    if data.scalar {
        return None;
    }
    let len = data.elems.len() as i64;
    let mut elems = Vec::with_capacity(indices.elems.len());
    for i in &indices.elems {
        let SymInt::Int(i) = i else { return None };
        let i = if *i < 0 { i + len } else { *i };
        elems.push(data.elems.get(usize::try_from(i).ok()?)?.clone());
    }
    Some(SymVec {
        scalar: indices.scalar,
        elems,
    })
}
