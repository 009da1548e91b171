//! `litecnn inspect MODEL` — what a model takes, gives and costs.

use std::collections::BTreeMap;

use litecnn_engine::stats;
use litecnn_engine::{Graph, Model, Value};
use serde::Serialize;

use crate::cli::InspectArgs;
use crate::load::load_model;

#[derive(Debug, Serialize)]
struct Io {
    name: String,
    dtype: String,
    shape: String,
}

#[derive(Debug, Serialize)]
struct InspectReport {
    model: String,
    inputs: Vec<Io>,
    outputs: Vec<Io>,
    parameters: usize,
    macs: Option<u64>,
    nodes: usize,
    ops: BTreeMap<&'static str, usize>,
}

pub fn inspect(args: &InspectArgs) -> anyhow::Result<()> {
    let model = load_model(&args.model)?;
    let report = report(&args.model.display().to_string(), &model);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_text(&report);
    }
    Ok(())
}

fn report(path: &str, model: &Model) -> InspectReport {
    let graph: &Graph = model.graph();
    let io = |v: &Value| Io {
        name: v.name.clone(),
        dtype: v.dtype.map_or("?".into(), |d| d.to_string()),
        shape: stats::format_shape(v.shape.as_deref()),
    };
    InspectReport {
        model: path.to_string(),
        inputs: model.inputs().into_iter().map(io).collect(),
        outputs: model.outputs().into_iter().map(io).collect(),
        parameters: stats::parameter_count(graph),
        macs: stats::macs(graph),
        nodes: graph.nodes.len(),
        ops: stats::op_histogram(graph),
    }
}

fn print_text(r: &InspectReport) {
    println!("model: {}", r.model);
    for (title, list) in [("inputs", &r.inputs), ("outputs", &r.outputs)] {
        println!("{title}:");
        for v in list {
            println!("  {}  {} {}", v.name, v.dtype, v.shape);
        }
    }
    println!("parameters: {}", r.parameters);
    match r.macs {
        Some(m) => println!("MACs per sample: {:.1} M", m as f64 / 1e6),
        None => println!("MACs per sample: unknown (shapes not static)"),
    }
    println!("nodes after folding: {}", r.nodes);
    println!("ops:");
    for (op, n) in &r.ops {
        println!("  {op:<20} {n}");
    }
}
