//! `litecnn inspect MODEL` — what a model takes, gives and costs, and every op litecnn lacks.

use std::collections::BTreeMap;
use std::fs;

use anyhow::Context;
use litecnn_engine::stats;
use litecnn_engine::{Model, Value};
use litecnn_onnx::OpUse;
use serde::Serialize;

use crate::cli::InspectArgs;
use crate::load::load_model;

#[derive(Debug, Serialize)]
struct Io {
    name: String,
    dtype: String,
    shape: String,
}

/// What the engine makes of a model that loads.
#[derive(Debug, Serialize)]
struct Loaded {
    inputs: Vec<Io>,
    outputs: Vec<Io>,
    parameters: usize,
    macs: Option<u64>,
    nodes_after_folding: usize,
    /// Op histogram of the graph the engine runs, after folding.
    ops_after_folding: BTreeMap<&'static str, usize>,
    /// Bytes of the buffers a warm run keeps for its intermediates at batch 1 (per inference
    /// thread), as planned at load.
    activation_bytes: usize,
}

#[derive(Debug, Serialize)]
struct InspectReport {
    model: String,
    /// Op types in the file (`domain:op` outside the default domain) and their node counts.
    ops: BTreeMap<String, usize>,
    unsupported_ops: Vec<String>,
    #[serde(flatten)]
    loaded: Option<Loaded>,
}

pub fn inspect(args: &InspectArgs) -> anyhow::Result<()> {
    let shown = args.model.display().to_string();
    let onnx_path = if args.model.is_dir() {
        litecnn_bundle::Bundle::open(&args.model, None)
            .with_context(|| format!("cannot open bundle {shown}"))?
            .model_path()
    } else {
        args.model.clone()
    };
    let bytes =
        fs::read(&onnx_path).with_context(|| format!("cannot read {}", onnx_path.display()))?;
    let census =
        litecnn_onnx::op_census(&bytes).with_context(|| format!("cannot load model {shown}"))?;
    drop(bytes);
    let (loaded, failure) = match load_model(&args.model) {
        Ok(model) => (Some(loaded(&model)), None),
        Err(e) => (None, Some(e)),
    };
    let report = InspectReport {
        model: shown,
        ops: census.iter().map(|u| (op_label(u), u.count)).collect(),
        unsupported_ops: census
            .iter()
            .filter(|u| !u.supported)
            .map(op_label)
            .collect(),
        loaded,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_text(&report);
    }
    failure.map_or(Ok(()), Err)
}

fn op_label(u: &OpUse) -> String {
    match u.domain.as_str() {
        "" | "ai.onnx" => u.op_type.clone(),
        domain => format!("{domain}:{}", u.op_type),
    }
}

fn loaded(model: &Model) -> Loaded {
    let io = |v: &Value| Io {
        name: v.name.clone(),
        dtype: v.dtype.map_or("?".into(), |d| d.to_string()),
        shape: stats::format_shape(v.shape.as_deref()),
    };
    Loaded {
        inputs: model.inputs().into_iter().map(io).collect(),
        outputs: model.outputs().into_iter().map(io).collect(),
        parameters: stats::parameter_count(model.graph()),
        macs: stats::macs(model.graph()),
        nodes_after_folding: model.graph().nodes.len(),
        ops_after_folding: stats::op_histogram(model.graph()),
        activation_bytes: model.planned_activation_bytes(),
    }
}

fn print_text(r: &InspectReport) {
    println!("model: {}", r.model);
    if let Some(l) = &r.loaded {
        for (title, list) in [("inputs", &l.inputs), ("outputs", &l.outputs)] {
            println!("{title}:");
            for v in list {
                println!("  {}  {} {}", v.name, v.dtype, v.shape);
            }
        }
        println!("parameters: {}", l.parameters);
        match l.macs {
            Some(m) => println!("MACs per sample: {:.1} M", m as f64 / 1e6),
            None => println!("MACs per sample: unknown (shapes not static)"),
        }
        println!("nodes after folding: {}", l.nodes_after_folding);
        let ops: Vec<String> = l
            .ops_after_folding
            .iter()
            .map(|(op, n)| format!("{op} {n}"))
            .collect();
        println!("  {}", ops.join(", "));
        println!(
            "activation buffers (batch 1): {:.1} MB",
            l.activation_bytes as f64 / 1e6
        );
    }
    println!("ops in the file:");
    for (op, n) in &r.ops {
        println!("  {op:<24} {n}");
    }
    match r.unsupported_ops.as_slice() {
        [] => println!("unsupported ops: none"),
        list => println!("unsupported ops: {}", list.join(", ")),
    }
}
