//! The golden check (DESIGN §2, §9): `golden.safetensors` holds `input` `[n,3,H,W]` and
//! `output` `[n,C]` (float32) from PyTorch at export time; the engine run on `input` must give
//! `|ours − golden| ≤ atol + rtol·|golden|` at every element. A NaN or infinity in our output
//! fails whatever the tolerance, since comparisons with NaN are silently false.

use std::fs;
use std::path::Path;

use litecnn_engine::{EngineError, Model, Tensor};
use safetensors::{Dtype, SafeTensorError, SafeTensors};
use serde::Serialize;

use crate::manifest::Manifest;
use crate::model::output_index;

/// The two golden tensors.
#[derive(Clone, Debug)]
pub struct Golden {
    pub input: Tensor,
    pub output: Tensor,
}

/// The element that came closest to (or went furthest past) its tolerance.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Worst {
    pub sample: usize,
    pub class: usize,
    pub ours: f32,
    pub golden: f32,
    /// `atol + rtol·|golden|` at this element.
    pub allowed: f64,
}

/// A golden check that passed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GoldenReport {
    pub samples: usize,
    pub classes: usize,
    pub max_abs_error: f64,
    /// The element with the largest error relative to its allowance (`None` only when empty).
    pub worst: Option<Worst>,
}

#[derive(Debug, thiserror::Error)]
pub enum GoldenError {
    #[error("{file}: cannot read: {reason}")]
    Read {
        file: String,
        reason: std::io::Error,
    },
    #[error("{file}: not a safetensors file: {reason}")]
    Format {
        file: String,
        reason: SafeTensorError,
    },
    #[error("{file}: has no tensor {tensor:?} (it needs \"input\" and \"output\")")]
    MissingTensor { file: String, tensor: &'static str },
    #[error("{file}: tensor {tensor:?} is {dtype}, expected F32")]
    DType {
        file: String,
        tensor: &'static str,
        dtype: String,
    },
    #[error("{file}: tensor {tensor:?} has shape {shape:?}, expected {expected}")]
    Shape {
        file: String,
        tensor: &'static str,
        shape: Vec<usize>,
        expected: String,
    },
    #[error("{file}: output [{sample}, {class}] is {value}; golden outputs must be finite")]
    GoldenNotFinite {
        file: String,
        sample: usize,
        class: usize,
        value: f32,
    },
    #[error("the model failed on the golden input: {0}")]
    Run(EngineError),
    #[error("the model has no output named {0:?} (manifest model.output)")]
    NoOutput(String),
    #[error("the model's output is {0}, expected float32")]
    OutputType(litecnn_engine::DType),
    #[error("the model's output has shape {ours:?}, the golden output {golden:?}")]
    OutputShape {
        ours: Vec<usize>,
        golden: Vec<usize>,
    },
    #[error("output [{sample}, {class}] is {ours} (golden {golden}): NaN or infinite")]
    NotFinite {
        sample: usize,
        class: usize,
        ours: f32,
        golden: f32,
    },
    #[error(
        "{failing} of {total} outputs exceed the tolerance; worst [{}, {}]: ours {} vs golden {}, \
         |error| {:.3e} > allowed {:.3e}; max abs error {max_abs_error:.3e}",
        worst.sample, worst.class, worst.ours, worst.golden, worst.error(), worst.allowed
    )]
    Exceeded {
        failing: usize,
        total: usize,
        max_abs_error: f64,
        worst: Worst,
    },
}

/// Reads and shape-checks `<dir>/<golden.file>`: `input` `[n,3,H,W]`, `output` `[n,labels]`.
pub fn read(dir: &Path, manifest: &Manifest) -> Result<Golden, GoldenError> {
    let file = manifest.golden.file.clone();
    let bytes = fs::read(dir.join(&file)).map_err(|reason| GoldenError::Read {
        file: file.clone(),
        reason,
    })?;
    let tensors = SafeTensors::deserialize(&bytes).map_err(|reason| GoldenError::Format {
        file: file.clone(),
        reason,
    })?;
    let input = f32_tensor(&tensors, "input", &file)?;
    let output = f32_tensor(&tensors, "output", &file)?;
    let n = input.shape().first().copied().unwrap_or(0);
    let shape_err = |tensor, t: &Tensor, expected: String| GoldenError::Shape {
        file: file.clone(),
        tensor,
        shape: t.shape().to_vec(),
        expected,
    };
    if input.rank() != 4 || input.shape()[1] != 3 || n == 0 {
        return Err(shape_err("input", &input, "[n, 3, H, W] with n ≥ 1".into()));
    }
    if output.shape() != [n, manifest.labels.len()] {
        let expected = format!("[{n}, {}] (samples, labels)", manifest.labels.len());
        return Err(shape_err("output", &output, expected));
    }
    check_finite(&output, &file)?;
    Ok(Golden { input, output })
}

/// A NaN in the golden output would pass every comparison vacuously.
fn check_finite(output: &Tensor, file: &str) -> Result<(), GoldenError> {
    let classes = output.shape()[1].max(1);
    match values(output).iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(i) => Err(GoldenError::GoldenNotFinite {
            file: file.to_owned(),
            sample: i / classes,
            class: i % classes,
            value: values(output)[i],
        }),
    }
}

/// Runs the model on the golden input and compares.
///
/// A model whose batch is free runs one sample at a time: a server checks the golden file
/// while it loads, and a batch of n would need n times the activation memory for that moment.
pub fn check(
    model: &Model,
    manifest: &Manifest,
    golden: Golden,
) -> Result<GoldenReport, GoldenError> {
    let batches = if fixed_batch(model) {
        vec![golden.input]
    } else {
        samples(golden.input)
    };
    let mut ours = Vec::with_capacity(golden.output.len());
    let mut rows = 0;
    for batch in batches {
        let output = run_one(model, manifest, batch)?;
        rows += output.shape().first().copied().unwrap_or(0);
        let shape = [rows, golden.output.shape()[1]];
        if output.rank() != 2 || output.shape()[1] != shape[1] || rows > golden.output.shape()[0] {
            return Err(GoldenError::OutputShape {
                ours: output.shape().to_vec(),
                golden: golden.output.shape().to_vec(),
            });
        }
        ours.extend_from_slice(
            output
                .as_f32()
                .ok_or(GoldenError::OutputType(output.dtype()))?,
        );
    }
    if rows != golden.output.shape()[0] {
        return Err(GoldenError::OutputShape {
            ours: vec![rows, golden.output.shape()[1]],
            golden: golden.output.shape().to_vec(),
        });
    }
    let (atol, rtol) = (manifest.golden.atol, manifest.golden.rtol);
    let classes = golden.output.shape()[1];
    compare(&ours, values(&golden.output), classes, atol, rtol)
}

fn run_one(model: &Model, manifest: &Manifest, input: Tensor) -> Result<Tensor, GoldenError> {
    let outputs = model.run(vec![input]).map_err(GoldenError::Run)?;
    output_index(model, manifest)
        .and_then(|i| outputs.into_iter().nth(i))
        .ok_or_else(|| GoldenError::NoOutput(manifest.model.output.clone()))
}

/// True when the model's input declares a fixed batch size: it must get the batch whole.
fn fixed_batch(model: &Model) -> bool {
    let first = model
        .inputs()
        .first()
        .and_then(|v| v.shape.as_ref()?.first().cloned());
    matches!(first, Some(litecnn_engine::Dim::Known(_)))
}

/// `[n, …]` as n tensors `[1, …]`.
fn samples(input: Tensor) -> Vec<Tensor> {
    let n = input.shape()[0];
    let mut shape = input.shape().to_vec();
    shape[0] = 1;
    let data = values(&input);
    let per = data.len() / n.max(1);
    data.chunks_exact(per.max(1))
        .map(|sample| Tensor::from_f32(shape.clone(), sample.to_vec()))
        .collect::<Result<_, _>>()
        // Read checked the input is [n, 3, H, W] f32, so each chunk fits its shape.
        .unwrap_or_else(|_| vec![input])
}

/// Elementwise `|ours − golden| ≤ atol + rtol·|golden|` over `[n, classes]` row-major data.
pub fn compare(
    ours: &[f32],
    golden: &[f32],
    classes: usize,
    atol: f64,
    rtol: f64,
) -> Result<GoldenReport, GoldenError> {
    let classes = classes.max(1);
    let mut tally = Tally::default();
    for (i, (&o, &g)) in ours.iter().zip(golden).enumerate() {
        let (sample, class) = (i / classes, i % classes);
        if !o.is_finite() {
            return Err(GoldenError::NotFinite {
                sample,
                class,
                ours: o,
                golden: g,
            });
        }
        let allowed = atol + rtol * (g as f64).abs();
        tally.add(Worst {
            sample,
            class,
            ours: o,
            golden: g,
            allowed,
        });
    }
    let (worst, max_abs_error) = (tally.worst, tally.max_abs_error);
    match worst {
        // The worst element has the largest error/allowance ratio, so it fails if any does.
        Some(worst) if tally.failing > 0 => Err(GoldenError::Exceeded {
            failing: tally.failing,
            total: golden.len(),
            max_abs_error,
            worst,
        }),
        worst => Ok(GoldenReport {
            samples: golden.len() / classes,
            classes,
            max_abs_error,
            worst,
        }),
    }
}

/// Running figures of a comparison.
#[derive(Default)]
struct Tally {
    max_abs_error: f64,
    failing: usize,
    worst: Option<Worst>,
    worst_ratio: f64,
}

impl Tally {
    fn add(&mut self, element: Worst) {
        let error = element.error();
        self.max_abs_error = self.max_abs_error.max(error);
        self.failing += usize::from(error > element.allowed);
        // A zero allowance makes any nonzero error infinitely bad, and an exact match perfect.
        let ratio = if error == 0.0 {
            0.0
        } else {
            error / element.allowed
        };
        if self.worst.is_none() || ratio > self.worst_ratio {
            self.worst_ratio = ratio;
            self.worst = Some(element);
        }
    }
}

impl Worst {
    /// `|ours − golden|`.
    pub fn error(&self) -> f64 {
        (self.ours as f64 - self.golden as f64).abs()
    }
}

fn f32_tensor(
    tensors: &SafeTensors<'_>,
    name: &'static str,
    file: &str,
) -> Result<Tensor, GoldenError> {
    let view = tensors
        .tensor(name)
        .map_err(|_| GoldenError::MissingTensor {
            file: file.to_owned(),
            tensor: name,
        })?;
    if view.dtype() != Dtype::F32 {
        let dtype = format!("{:?}", view.dtype());
        return Err(GoldenError::DType {
            file: file.to_owned(),
            tensor: name,
            dtype,
        });
    }
    let data = view
        .data()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    // safetensors has already checked that the byte length matches the shape.
    Tensor::from_f32(view.shape().to_vec(), data).map_err(|_| GoldenError::Shape {
        file: file.to_owned(),
        tensor: name,
        shape: view.shape().to_vec(),
        expected: "a shape matching its data".into(),
    })
}

/// The data of a tensor built by `f32_tensor`.
fn values(t: &Tensor) -> &[f32] {
    t.as_f32().unwrap_or_default()
}
