//! `litecnn run MODEL --input X.npy --output Y.npy`

use anyhow::{Context, bail};

use crate::cli::RunArgs;
use crate::load::load_model;
use crate::npy;

pub fn run(args: &RunArgs) -> anyhow::Result<()> {
    let threads = args.threads.unwrap_or_else(super::default_threads);
    let model = load_model(&args.model)?.with_threads(threads)?;
    let input = npy::read_f32(&args.input)
        .with_context(|| format!("cannot read input {}", args.input.display()))?;
    if model.inputs().len() != 1 {
        bail!(
            "model {} has {} inputs; `run` feeds exactly one",
            args.model.display(),
            model.inputs().len()
        );
    }
    let outputs = model.run(vec![input]).context("inference failed")?;
    let first = outputs
        .into_iter()
        .next()
        .context("the model has no output")?;
    npy::write_f32(&args.output, &first)
        .with_context(|| format!("cannot write output {}", args.output.display()))
}
