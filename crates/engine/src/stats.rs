//! Static figures about a graph: parameter count and multiply-accumulates, as `inspect` shows.

use std::collections::BTreeMap;

use crate::ir::{Dim, Graph, NhwcOp, Op, ValueId};
use crate::tensor::DType;

/// Number of float32 elements held as constants (weights, biases, folded tensors).
pub fn parameter_count(graph: &Graph) -> usize {
    graph
        .constants
        .values()
        .filter(|t| t.dtype() == DType::F32)
        .map(|t| t.len())
        .sum()
}

/// Multiply-accumulates of Conv, Gemm and MatMul per run, counting symbolic dimensions
/// (the batch) as 1; `None` when a needed shape is unknown.
pub fn macs(graph: &Graph) -> Option<u64> {
    let dims = |id: Option<ValueId>| -> Option<Vec<u64>> {
        let shape = graph.value(id?).shape.as_ref()?;
        Some(
            shape
                .iter()
                .map(|d| d.known().unwrap_or(1) as u64)
                .collect(),
        )
    };
    let mut total = 0u64;
    for node in &graph.nodes {
        let out = || dims(node.outputs.first().copied());
        total += match &node.op {
            Op::Conv(_) | Op::FusedConv { .. } => {
                let w = dims(node.inputs.get(1).copied().flatten())?;
                out()?.iter().product::<u64>() * w[1..].iter().product::<u64>()
            }
            Op::Nhwc(NhwcOp::Conv { weight_shape, .. }) => {
                let w = weight_shape.iter().skip(1).map(|&d| d as u64);
                out()?.iter().product::<u64>() * w.product::<u64>()
            }
            Op::Nhwc(NhwcOp::ExpandDepthwise { expand, depthwise }) => {
                // The expansion runs at the input's positions, the depthwise at the output's.
                let x = dims(node.inputs.first().copied().flatten())?;
                let positions: u64 = x[1..3].iter().product();
                let [cout, cin, ..] = expand.weight_shape.map(|d| d as u64);
                let taps: u64 = depthwise.weight_shape[2..]
                    .iter()
                    .map(|&d| d as u64)
                    .product();
                x[0] * positions * cin * cout + out()?.iter().product::<u64>() * taps
            }
            Op::Gemm { trans_a, .. } => {
                let a = dims(node.inputs.first().copied().flatten())?;
                let k = if *trans_a { a[0] } else { a[1] };
                out()?.iter().product::<u64>() * k
            }
            Op::MatMul => {
                let a = dims(node.inputs.first().copied().flatten())?;
                out()?.iter().product::<u64>() * a.last().copied().unwrap_or(1)
            }
            _ => 0,
        };
    }
    Some(total)
}

/// How many nodes of each op the graph holds, by ONNX name.
pub fn op_histogram(graph: &Graph) -> BTreeMap<&'static str, usize> {
    let mut hist = BTreeMap::new();
    for node in &graph.nodes {
        *hist.entry(node.op.name()).or_insert(0) += 1;
    }
    hist
}

/// A shape for display: `[N,3,224,224]`, or `?` when unknown.
pub fn format_shape(shape: Option<&[Dim]>) -> String {
    match shape {
        None => "?".to_string(),
        Some(dims) => {
            let parts: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
            format!("[{}]", parts.join(","))
        }
    }
}
