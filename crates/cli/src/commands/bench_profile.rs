//! `litecnn bench --profile`: where one inference spends its time, node by node, so that a
//! slow kernel or layer shape shows up without an external profiler.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use litecnn_engine::{Dim, Model, Node, Tensor};

/// Slowest nodes listed after the per-op summary.
const TOP_NODES: usize = 25;

/// Runs `iters` timed inferences and prints the time per op kind and the slowest nodes.
pub fn print_profile(model: &Model, inputs: &[Tensor], iters: usize) -> anyhow::Result<()> {
    let mut times = Vec::new();
    for _ in 0..iters {
        model
            .run_profiled(inputs.to_vec(), &mut times)
            .context("inference failed")?;
    }
    // Written with `?` (not `println!`), so a closed pipe is an error message, not a panic.
    let mut out = std::io::stdout().lock();
    let per_run = |d: Duration| d.as_secs_f64() * 1e3 / iters as f64;
    let total: f64 = times.iter().map(|&d| per_run(d)).sum();
    let share = |ms: f64| 100.0 * ms / total.max(f64::MIN_POSITIVE);
    let nodes = &model.graph().nodes;

    let mut by_op: BTreeMap<&str, (usize, f64)> = BTreeMap::new();
    for (node, &d) in nodes.iter().zip(&times) {
        let entry = by_op.entry(node.op.name()).or_default();
        entry.0 += 1;
        entry.1 += per_run(d);
    }
    let mut by_op: Vec<_> = by_op.into_iter().collect();
    by_op.sort_by(|a, b| b.1.1.total_cmp(&a.1.1));
    writeln!(
        out,
        "\n{:<22} {:>5} {:>9} {:>6}",
        "op", "nodes", "ms/run", "%"
    )?;
    for (op, (count, ms)) in &by_op {
        writeln!(out, "{op:<22} {count:>5} {ms:>9.3} {:>6.1}", share(*ms))?;
    }
    writeln!(
        out,
        "{:<22} {:>5} {total:>9.3} {:>6.1}",
        "total",
        nodes.len(),
        100.0
    )?;

    let mut order: Vec<usize> = (0..nodes.len()).collect();
    order.sort_by(|&a, &b| times[b].cmp(&times[a]));
    writeln!(
        out,
        "\n{:>5} {:<18} {:<20} {:<20} {:>8} {:>6}",
        "node", "op", "weight", "output", "ms/run", "%"
    )?;
    for &i in order.iter().take(TOP_NODES) {
        let node = &nodes[i];
        let ms = per_run(times[i]);
        writeln!(
            out,
            "{i:>5} {:<18} {:<20} {:<20} {ms:>8.3} {:>6.1}",
            node.op.name(),
            weight_shape(model, node),
            output_shape(model, node),
            share(ms)
        )?;
    }
    Ok(())
}

/// The shape of a node's second input when it is a load-time constant (a conv's weight).
fn weight_shape(model: &Model, node: &Node) -> String {
    let graph = model.graph();
    node.inputs
        .get(1)
        .copied()
        .flatten()
        .and_then(|id| graph.constants.get(&id))
        .map_or_else(String::new, |t| format!("{:?}", t.shape()))
}

fn output_shape(model: &Model, node: &Node) -> String {
    let value = model.graph().value(node.outputs[0]);
    value.shape.as_ref().map_or_else(String::new, |dims| {
        let dims: Vec<String> = dims
            .iter()
            .map(|d| match d {
                Dim::Known(n) => n.to_string(),
                Dim::Symbol(s) => s.to_string(),
            })
            .collect();
        format!("[{}]", dims.join(", "))
    })
}
