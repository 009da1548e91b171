//! A model ready to serve: its bundle verified in full (checksums, manifest, labels, golden
//! outputs), its model loaded and warmed, its `/ready` description computed once. Also the
//! pipeline one request runs on a worker thread: decode → preprocess → inference → top-k.

use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use litecnn_bundle::predict::{self, Prediction, Scores, ScoresError};
use litecnn_bundle::{Bundle, BundleError, Verified};
use litecnn_engine::{DType, Dim, Model, Tensor, Value as IrValue};
use litecnn_vision::{DecodeLimits, ImageError};
use serde_json::{Value, json};

use crate::error::ApiError;
use litecnn_bundle::time::rfc3339;

/// A verified, warmed model and what the API says about it.
#[derive(Debug)]
pub struct LoadedModel {
    bundle: Bundle,
    model: Model,
    /// Position of the manifest's output among the model's outputs.
    output: usize,
    scores: Scores,
    /// `/ready` and `/v1/model`.
    info: Value,
}

/// Why a bundle cannot be served; the message names the directory and the cause.
#[derive(Debug, thiserror::Error)]
#[error("bundle {}: {cause}", dir.display())]
pub struct LoadError {
    pub dir: PathBuf,
    pub cause: Box<LoadCause>,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadCause {
    #[error(transparent)]
    Bundle(BundleError),
    #[error("the model has no output {0:?}")]
    NoOutput(String),
    #[error("bad preprocessing: {0}")]
    Preprocess(ImageError),
    #[error("the warm-up run failed: {0}")]
    Warm(ScoresError),
}

/// One image of a batch ([`LoadedModel::classify_batch`]).
pub struct ImageRequest<'a> {
    pub bytes: &'a [u8],
    pub limits: DecodeLimits,
    pub top_k: usize,
}

/// What one request's pipeline produced, with its stage times in seconds.
#[derive(Debug)]
pub struct Outcome {
    pub predictions: Vec<Prediction>,
    pub decode: f64,
    pub preprocess: f64,
    pub inference: f64,
    /// Images in the model run that answered this one (`--max-batch`).
    pub batch: usize,
}

impl LoadedModel {
    /// Verifies the bundle at `dir` in full, then warms the model with one run on a blank
    /// image, so the first request after a swap pays no first-run cost.
    ///
    /// The golden check and the warm-up run on the calling thread, which is not a worker: the
    /// buffers they leave there are returned to the allocator before this returns.
    pub fn load(dir: &Path) -> Result<LoadedModel, LoadError> {
        let loaded = LoadedModel::load_unnamed(dir);
        litecnn_engine::release_thread_buffers();
        loaded.map_err(|cause| LoadError {
            dir: dir.to_path_buf(),
            cause: Box::new(cause),
        })
    }

    fn load_unnamed(dir: &Path) -> Result<LoadedModel, LoadCause> {
        let Verified { bundle, model, .. } = litecnn_bundle::verify(dir, None)
            .result
            .map_err(LoadCause::Bundle)?;
        let manifest = bundle.manifest();
        manifest
            .preprocess
            .validate()
            .map_err(LoadCause::Preprocess)?;
        let output = model
            .outputs()
            .iter()
            .position(|v| v.name == manifest.model.output)
            .ok_or_else(|| LoadCause::NoOutput(manifest.model.output.clone()))?;
        let info = describe(&bundle, &model);
        let loaded = LoadedModel {
            scores: manifest.model.output_kind.into(),
            bundle,
            model,
            output,
            info,
        };
        loaded.warm().map_err(LoadCause::Warm)?;
        Ok(loaded)
    }

    fn warm(&self) -> Result<(), ScoresError> {
        let [h, w] = self.crop();
        let blank = Tensor::zeros(DType::F32, vec![1, 3, h, w]);
        predict::run_scores(&self.model, blank, self.output).map(|_| ())
    }

    pub fn bundle(&self) -> &Bundle {
        &self.bundle
    }

    pub fn name(&self) -> &str {
        &self.bundle.manifest().name
    }

    pub fn version(&self) -> &str {
        &self.bundle.manifest().version
    }

    pub fn digest(&self) -> String {
        self.bundle.digest().to_string()
    }

    /// `[height, width]` of the input images: the manifest's center crop.
    pub fn crop(&self) -> [usize; 2] {
        self.bundle
            .manifest()
            .preprocess
            .center_crop
            .map(|s| s as usize)
    }

    /// The model's input as the manifest names it.
    pub fn input_name(&self) -> &str {
        &self.bundle.manifest().model.input
    }

    /// The manifest's output, the one the server answers with.
    pub fn output_name(&self) -> &str {
        &self.bundle.manifest().model.output
    }

    /// The number of output classes (the bundle's verification matched it to the labels).
    pub fn classes(&self) -> usize {
        self.bundle.labels().len()
    }

    /// The batch size the model's input is fixed to, if it is not symbolic.
    pub fn fixed_batch(&self) -> Option<usize> {
        let input = self.model.inputs().into_iter().next()?;
        match input.shape.as_ref()?.first()? {
            Dim::Known(n) => Some(*n),
            Dim::Symbol(_) => None,
        }
    }

    /// `{"name","version","digest","loaded_at","inputs","outputs","labels":N}` (DESIGN §9).
    pub fn info(&self) -> &Value {
        &self.info
    }

    /// `{"name","version","digest"}` of a `/predict` answer.
    pub fn identity(&self) -> Value {
        json!({"name": self.name(), "version": self.version(), "digest": self.digest()})
    }

    /// The `/predict` predictions as JSON, label fields included.
    pub fn predictions_json(&self, predictions: &[Prediction]) -> Value {
        predict::predictions_json(predictions, self.bundle.labels())
    }

    /// One image through the whole pipeline. Runs on an inference worker, never on the async
    /// runtime.
    pub fn classify(
        &self,
        bytes: &[u8],
        limits: DecodeLimits,
        top_k: usize,
    ) -> Result<Outcome, ApiError> {
        let request = ImageRequest {
            bytes,
            limits,
            top_k,
        };
        self.classify_batch(&[request])
            .pop()
            .unwrap_or_else(|| Err(ApiError::Internal("the image was left out".into())))
    }

    /// Several images through the pipeline with one model run for all of them (a model whose
    /// input has a symbolic batch axis: see [`LoadedModel::fixed_batch`]). Each image is
    /// decoded and preprocessed straight into its place in the batch, so one decoded image is
    /// held at a time; an image that fails there is that request's error alone. Every answer
    /// reports the batch's inference time. Runs on an inference worker.
    pub fn classify_batch(&self, requests: &[ImageRequest<'_>]) -> Vec<Result<Outcome, ApiError>> {
        let spec = &self.bundle.manifest().preprocess;
        let [h, w] = self.crop();
        let per_image = 3 * h * w;
        let mut answers: Vec<Option<Result<Outcome, ApiError>>> =
            requests.iter().map(|_| None).collect();
        // The thread's spare input buffer when it fits; images that fail leave no gap.
        let mut data = litecnn_engine::input_buffer(requests.len() * per_image);
        let mut prepared = Vec::with_capacity(requests.len());
        for (i, request) in requests.iter().enumerate() {
            let t = Instant::now();
            let image = match litecnn_vision::decode(request.bytes, request.limits) {
                Ok(image) => image,
                Err(e) => {
                    answers[i] = Some(Err(e.into()));
                    continue;
                }
            };
            let decode = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let out = &mut data[prepared.len() * per_image..][..per_image];
            let done = litecnn_vision::preprocess_into(&image, spec, out);
            litecnn_vision::recycle(image);
            match done {
                Ok(()) => prepared.push((i, decode, t.elapsed().as_secs_f64())),
                Err(e) => answers[i] = Some(Err(e.into())),
            }
        }
        data.truncate(prepared.len() * per_image);
        if !prepared.is_empty() {
            let failed = |e: &dyn std::fmt::Display| {
                ApiError::Internal(format!("model {}: {e}", self.version()))
            };
            let t = Instant::now();
            let scores = Tensor::from_f32(vec![prepared.len(), 3, h, w], data)
                .map_err(|e| e.to_string())
                .and_then(|input| {
                    predict::run_batch_scores(&self.model, input, self.output, prepared.len())
                        .map_err(|e| e.to_string())
                });
            let inference = t.elapsed().as_secs_f64();
            for (n, &(i, decode, preprocess)) in prepared.iter().enumerate() {
                let one = match &scores {
                    Err(e) => Err(failed(e)),
                    Ok(rows) => match &rows[n] {
                        Err(e) => Err(failed(e)),
                        Ok(scores) => Ok(Outcome {
                            predictions: predict::top_k(
                                predict::probabilities(scores, self.scores),
                                requests[i].top_k,
                            ),
                            decode,
                            preprocess,
                            inference,
                            batch: prepared.len(),
                        }),
                    },
                };
                answers[i] = Some(one);
            }
        }
        answers
            .into_iter()
            .map(|a| a.unwrap_or_else(|| Err(ApiError::Internal("an image was left out".into()))))
            .collect()
    }

    /// Runs `input` (checked against the model by the caller) and returns the manifest's output
    /// as the model gives it. Runs on an inference worker, never on the async runtime.
    pub fn run_tensor(&self, input: Tensor) -> Result<Tensor, ApiError> {
        let failed = |e: String| ApiError::Internal(format!("model {}: {e}", self.version()));
        let outputs = self
            .model
            .run(vec![input])
            .map_err(|e| failed(e.to_string()))?;
        outputs
            .into_iter()
            .nth(self.output)
            .ok_or_else(|| failed(format!("no output {}", self.output)))
    }
}

fn describe(bundle: &Bundle, model: &Model) -> Value {
    let manifest = bundle.manifest();
    json!({
        "name": manifest.name,
        "version": manifest.version,
        "digest": bundle.digest().to_string(),
        "loaded_at": rfc3339(SystemTime::now()),
        "inputs": model.inputs().into_iter().map(describe_value).collect::<Vec<_>>(),
        "outputs": model.outputs().into_iter().map(describe_value).collect::<Vec<_>>(),
        "labels": manifest.labels.len(),
    })
}

/// `{"name","dtype","shape"}`, a symbolic dimension shown by its name.
fn describe_value(v: &IrValue) -> Value {
    let shape = v.shape.as_ref().map(|dims| {
        dims.iter()
            .map(|d| match d {
                Dim::Known(n) => json!(n),
                Dim::Symbol(s) => json!(s.as_ref()),
            })
            .collect::<Vec<_>>()
    });
    json!({
        "name": v.name,
        "dtype": v.dtype.map(|d| d.to_string()),
        "shape": shape,
    })
}
