//! Inference off the async runtime (the runtime never decodes, preprocesses or runs a model):
//! a fixed pool of std threads fed by a bounded channel. A full channel answers at once with
//! 503 `overloaded` instead of queueing without bound. Two kinds of job share the queue: an
//! image to classify (`/predict`) and a raw tensor to run (OIP v2 `infer`).
//!
//! With `max_batch` above one, a worker that takes an image also takes the images already
//! waiting behind it for the same model (up to `max_batch` in all) and runs them as one batch:
//! the weights are read once for all of them, which is most of a small classifier's time, at
//! the cost of one batch's activations per worker. A queue that is empty costs no waiting.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;

use axum::body::Bytes;
use litecnn_vision::DecodeLimits;
use prometheus_client::metrics::gauge::Gauge;
use tokio::sync::oneshot;

use crate::error::ApiError;
use crate::model::{ImageRequest, LoadedModel, Outcome};
use crate::v2::{self, InferOutcome};

/// One image to classify, on the model the request started with.
pub struct Job {
    pub model: Arc<LoadedModel>,
    pub image: Bytes,
    pub limits: DecodeLimits,
    pub top_k: usize,
}

/// One raw-tensor request (OIP v2 `infer`), on the model the request started with. Its body is
/// decoded (JSON or binary tensors) and checked on the worker too: the runtime only moves bytes.
pub struct TensorJob {
    pub model: Arc<LoadedModel>,
    pub body: Bytes,
    /// `Inference-Header-Content-Length`: the body's JSON part, when binary data follows it.
    pub json_length: Option<usize>,
}

type Reply<T> = oneshot::Sender<Result<T, ApiError>>;
pub type Answer<T> = oneshot::Receiver<Result<T, ApiError>>;

enum Task {
    Classify(Job, Reply<Outcome>),
    Run(TensorJob, Reply<InferOutcome>),
}

pub struct Workers {
    queue: SyncSender<Task>,
    /// Kept here too, so the queue stays open (and can fill) even with no worker running.
    _tasks: Arc<Mutex<Receiver<Task>>>,
    depth: Gauge,
}

impl Workers {
    /// Starts `threads` workers behind a queue of `capacity` jobs, each running up to
    /// `max_batch` waiting images at once; `depth` counts waiting jobs.
    pub fn start(
        threads: usize,
        capacity: usize,
        max_batch: usize,
        depth: Gauge,
    ) -> std::io::Result<Workers> {
        let (queue, tasks) = sync_channel(capacity);
        let tasks = Arc::new(Mutex::new(tasks));
        for i in 0..threads {
            let tasks = tasks.clone();
            let depth = depth.clone();
            thread::Builder::new()
                .name(format!("litecnn-infer-{i}"))
                .spawn(move || work(&tasks, &depth, max_batch.max(1)))?;
        }
        Ok(Workers {
            queue,
            _tasks: tasks,
            depth,
        })
    }

    /// Queues an image; the answer comes on the returned receiver. A full queue is `Overloaded`.
    pub fn submit(&self, job: Job) -> Result<Answer<Outcome>, ApiError> {
        let (reply, answer) = oneshot::channel();
        self.enqueue(Task::Classify(job, reply))?;
        Ok(answer)
    }

    /// Queues a tensor, as [`Workers::submit`] does an image.
    pub fn submit_tensor(&self, job: TensorJob) -> Result<Answer<InferOutcome>, ApiError> {
        let (reply, answer) = oneshot::channel();
        self.enqueue(Task::Run(job, reply))?;
        Ok(answer)
    }

    fn enqueue(&self, task: Task) -> Result<(), ApiError> {
        self.depth.inc();
        match self.queue.try_send(task) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => {
                self.depth.dec();
                Err(ApiError::Overloaded)
            }
            Err(TrySendError::Disconnected(_)) => {
                self.depth.dec();
                Err(ApiError::Internal(
                    "the inference workers have stopped".into(),
                ))
            }
        }
    }
}

/// A worker's loop: until the queue closes, take a job (and the images waiting behind an
/// image, up to `max_batch`) and answer it.
fn work(tasks: &Mutex<Receiver<Task>>, depth: &Gauge, max_batch: usize) {
    loop {
        let mut batch = Vec::new();
        let mut other = None;
        {
            let tasks = tasks.lock().unwrap_or_else(PoisonError::into_inner);
            let Ok(task) = tasks.recv() else { return };
            depth.dec();
            match task {
                Task::Classify(job, reply)
                    if max_batch > 1 && job.model.fixed_batch().is_none() =>
                {
                    batch.push((job, reply));
                    while batch.len() < max_batch {
                        match tasks.try_recv() {
                            Ok(Task::Classify(job, reply))
                                if Arc::ptr_eq(&job.model, &batch[0].0.model) =>
                            {
                                depth.dec();
                                batch.push((job, reply));
                            }
                            // Another model or a tensor: answered right after the batch.
                            Ok(task) => {
                                depth.dec();
                                other = Some(task);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                }
                task => other = Some(task),
            }
        }
        classify_batch(batch);
        match other {
            Some(Task::Classify(job, reply)) => answer(reply, || {
                job.model.classify(&job.image, job.limits, job.top_k)
            }),
            Some(Task::Run(job, reply)) => answer(reply, || v2::run(&job)),
            None => {}
        }
    }
}

/// Answers images of one model with one run, as [`answer`] does one job. Clients that gave up
/// leave the batch first; one image is classified on its own.
fn classify_batch(mut batch: Vec<(Job, Reply<Outcome>)>) {
    batch.retain(|(_, reply)| !reply.is_closed());
    if batch.len() <= 1 {
        if let Some((job, reply)) = batch.pop() {
            answer(reply, || {
                job.model.classify(&job.image, job.limits, job.top_k)
            });
        }
        return;
    }
    let requests: Vec<ImageRequest<'_>> = batch
        .iter()
        .map(|(job, _)| ImageRequest {
            bytes: &job.image,
            limits: job.limits,
            top_k: job.top_k,
        })
        .collect();
    let model = &batch[0].0.model;
    let results = catch_unwind(AssertUnwindSafe(|| model.classify_batch(&requests)))
        .unwrap_or_else(|_| {
            let panicked = || ApiError::Internal("the inference pipeline panicked".into());
            requests.iter().map(|_| Err(panicked())).collect()
        });
    drop(requests);
    for ((_, reply), result) in batch.into_iter().zip(results) {
        let _ = reply.send(result);
    }
}

/// Runs `job` and sends its result. A client that gave up (timeout, closed connection) costs no
/// inference; a panic in the pipeline becomes an internal error and the worker lives on.
fn answer<T>(reply: Reply<T>, job: impl FnOnce() -> Result<T, ApiError>) {
    if reply.is_closed() {
        return;
    }
    let result = catch_unwind(AssertUnwindSafe(job))
        .unwrap_or_else(|_| Err(ApiError::Internal("the inference pipeline panicked".into())));
    let _ = reply.send(result);
}
