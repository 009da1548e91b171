//! Inference off the async runtime (the runtime never decodes, preprocesses or runs a model):
//! a fixed pool of std threads fed by a bounded channel. A full channel answers at once with
//! 503 `overloaded` instead of queueing without bound.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;

use axum::body::Bytes;
use litecnn_vision::DecodeLimits;
use prometheus_client::metrics::gauge::Gauge;
use tokio::sync::oneshot;

use crate::error::ApiError;
use crate::model::{LoadedModel, Outcome};

/// One image to classify, on the model the request started with.
pub struct Job {
    pub model: Arc<LoadedModel>,
    pub image: Bytes,
    pub limits: DecodeLimits,
    pub top_k: usize,
}

type Reply = oneshot::Sender<Result<Outcome, ApiError>>;

pub struct Workers {
    queue: SyncSender<(Job, Reply)>,
    /// Kept here too, so the queue stays open (and can fill) even with no worker running.
    _jobs: Arc<Mutex<Receiver<(Job, Reply)>>>,
    depth: Gauge,
}

impl Workers {
    /// Starts `threads` workers behind a queue of `capacity` jobs; `depth` counts waiting jobs.
    pub fn start(threads: usize, capacity: usize, depth: Gauge) -> std::io::Result<Workers> {
        let (queue, jobs) = sync_channel(capacity);
        let jobs = Arc::new(Mutex::new(jobs));
        for i in 0..threads {
            let jobs = jobs.clone();
            let depth = depth.clone();
            thread::Builder::new()
                .name(format!("litecnn-infer-{i}"))
                .spawn(move || work(&jobs, &depth))?;
        }
        Ok(Workers {
            queue,
            _jobs: jobs,
            depth,
        })
    }

    /// Queues `job`; the answer comes on the returned receiver. A full queue is `Overloaded`.
    pub fn submit(
        &self,
        job: Job,
    ) -> Result<oneshot::Receiver<Result<Outcome, ApiError>>, ApiError> {
        let (reply, answer) = oneshot::channel();
        self.depth.inc();
        match self.queue.try_send((job, reply)) {
            Ok(()) => Ok(answer),
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

/// A worker's loop: until the queue closes, take a job and answer it. A client that gave up
/// (timeout, closed connection) costs no inference.
fn work(jobs: &Mutex<Receiver<(Job, Reply)>>, depth: &Gauge) {
    loop {
        let next = jobs.lock().unwrap_or_else(PoisonError::into_inner).recv();
        let Ok((job, reply)) = next else { return };
        depth.dec();
        if reply.is_closed() {
            continue;
        }
        let _ = reply.send(run(&job));
    }
}

/// A panic in the pipeline becomes an internal error; the worker lives on.
fn run(job: &Job) -> Result<Outcome, ApiError> {
    catch_unwind(AssertUnwindSafe(|| {
        job.model.classify(&job.image, job.limits, job.top_k)
    }))
    .unwrap_or_else(|_| Err(ApiError::Internal("the inference pipeline panicked".into())))
}
