//! `litecnn bench MODEL` — engine latency on random input (DESIGN §3; `--json` is parsed by
//! other tools, so its fields are a contract).

use std::time::Instant;

use anyhow::{Context, bail};
use litecnn_engine::{DType, Dim, Model, Tensor};
use serde::Serialize;

use crate::cli::BenchArgs;
use crate::load::load_model;

#[derive(Debug, Serialize)]
struct BenchReport {
    model: String,
    threads: usize,
    batch: usize,
    iters: usize,
    p50_ms: f64,
    p90_ms: f64,
    mean_ms: f64,
    min_ms: f64,
}

pub fn bench(args: &BenchArgs) -> anyhow::Result<()> {
    if args.iters == 0 || args.batch == 0 {
        bail!("--iters and --batch must be at least 1");
    }
    let threads = args.threads.unwrap_or_else(super::default_threads);
    let model = load_model(&args.model)?.with_threads(threads)?;
    let inputs = random_inputs(&model, args.batch)?;
    for _ in 0..args.warmup {
        model.run(inputs.clone()).context("inference failed")?;
    }
    let mut times = Vec::with_capacity(args.iters);
    for _ in 0..args.iters {
        let batch = inputs.clone();
        let start = Instant::now();
        model.run(batch).context("inference failed")?;
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    let report = summarize(args, threads, times);
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "{}: batch {} threads {} iters {}: p50 {:.3} ms  p90 {:.3} ms  mean {:.3} ms  min {:.3} ms",
            report.model,
            report.batch,
            report.threads,
            report.iters,
            report.p50_ms,
            report.p90_ms,
            report.mean_ms,
            report.min_ms
        );
    }
    if args.profile {
        super::bench_profile::print_profile(&model, &inputs, args.iters)?;
    }
    Ok(())
}

fn summarize(args: &BenchArgs, threads: usize, mut times: Vec<f64>) -> BenchReport {
    times.sort_by(f64::total_cmp);
    let pick = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    BenchReport {
        model: args.model.display().to_string(),
        threads,
        batch: args.batch,
        iters: args.iters,
        p50_ms: pick(0.5),
        p90_ms: pick(0.9),
        mean_ms: times.iter().sum::<f64>() / times.len() as f64,
        min_ms: times[0],
    }
}

/// Deterministic pseudo-random inputs; a symbolic leading dimension becomes `batch`.
fn random_inputs(model: &Model, batch: usize) -> anyhow::Result<Vec<Tensor>> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    model
        .inputs()
        .into_iter()
        .map(|value| {
            let shape = value
                .shape
                .as_ref()
                .with_context(|| format!("input \"{}\" has no declared shape", value.name))?;
            let dims = shape
                .iter()
                .enumerate()
                .map(|(i, d)| match d {
                    Dim::Known(n) => Ok(*n),
                    Dim::Symbol(_) if i == 0 => Ok(batch),
                    Dim::Symbol(s) => bail!(
                        "input \"{}\" has a symbolic dimension {s} beyond the batch; bench needs a fixed shape",
                        value.name
                    ),
                })
                .collect::<anyhow::Result<Vec<usize>>>()?;
            let n = dims.iter().product();
            Ok(match value.dtype.unwrap_or(DType::F32) {
                DType::F32 => Tensor::from_f32(dims, (0..n).map(|_| next_unit(&mut state)).collect())?,
                DType::I64 => Tensor::zeros(DType::I64, dims),
            })
        })
        .collect()
}

/// xorshift64* mapped to [-1, 1).
fn next_unit(state: &mut u64) -> f32 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    let bits = state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 40;
    bits as f32 / (1u64 << 23) as f32 - 1.0
}
