//! `/metrics` (DESIGN §5): Prometheus text from prometheus-client, with no global registry.
//! Requests are counted by *matched route* (an unknown path is `unmatched`, so scanners cannot
//! blow up the label set), method and status; `/predict` stage latencies are histograms; the
//! queue depth is a gauge; the serving model is an info gauge labelled with its digest.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::config::MAX_BATCH;
use crate::model::LoadedModel;
use crate::slot::ModelSlot;
use crate::state::AppState;

pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

/// The stages of `/predict`, as `timings_ms` names them.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum Stage {
    decode,
    preprocess,
    inference,
    total,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StageLabels {
    stage: Stage,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModelLabels {
    name: String,
    version: String,
    digest: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SwapLabels {
    result: String,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeployLabels {
    result: String,
}

/// Deploy attempts by result (`promoted`, `rejected`, `failed`, `rollback`), counted by the
/// deployer running in this process (`serve --watch`, the admin routes). Cloning shares it.
#[derive(Clone, Debug, Default)]
pub struct DeployCounter(Family<DeployLabels, Counter>);

impl DeployCounter {
    pub fn count(&self, result: &str) {
        self.0
            .get_or_create(&DeployLabels {
                result: result.to_owned(),
            })
            .inc();
    }
}

/// This process's `/metrics` text, for the in-process deployer's probation (`serve --watch`,
/// DESIGN §9: probation is judged by the serving process). Empty until the server starts;
/// cloning shares it.
#[derive(Clone, Default)]
pub struct LiveMetrics(Arc<OnceLock<(Arc<Metrics>, Arc<ModelSlot>)>>);

impl LiveMetrics {
    pub(crate) fn attach(&self, metrics: Arc<Metrics>, slot: Arc<ModelSlot>) {
        let _ = self.0.set((metrics, slot));
    }

    /// What `GET /metrics` would answer now; `None` before the server started.
    pub fn render(&self) -> Option<String> {
        let (metrics, slot) = self.0.get()?;
        Some(metrics.render(slot.current().as_deref()))
    }
}

impl std::fmt::Debug for LiveMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LiveMetrics")
    }
}

pub struct Metrics {
    registry: Registry,
    /// `render` clears and sets the model info before encoding: two renders at once (a
    /// scrape and the deployer's probation) must not see each other's half-done state.
    render_lock: Mutex<()>,
    requests: Family<RequestLabels, Counter>,
    request_seconds: Histograms<RouteLabels>,
    stage_seconds: Histograms<StageLabels>,
    batch_images: Histogram,
    pub queue_depth: Gauge,
    model: Family<ModelLabels, Gauge>,
    swaps: Family<SwapLabels, Counter>,
}

/// 0.25 ms to ~8 s, doubling: covers a small CNN on a fast core and a big one on a slow box.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
}

impl Metrics {
    pub fn new() -> Metrics {
        Metrics::with_deploys(DeployCounter::default())
    }

    /// Metrics that also expose `deploys`, counted elsewhere in the process.
    pub fn with_deploys(deploys: DeployCounter) -> Metrics {
        let mut registry = Registry::with_prefix("litecnn");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by matched route, method and status",
            requests.clone(),
        );
        let request_seconds: Histograms<RouteLabels> =
            Family::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by matched route",
            request_seconds.clone(),
        );
        let stage_seconds: Histograms<StageLabels> =
            Family::new_with_constructor(latency_histogram);
        registry.register(
            "predict_stage_duration_seconds",
            "Latency of /predict by stage (decode, preprocess, inference, total)",
            stage_seconds.clone(),
        );
        let batch_images = Histogram::new((1..=MAX_BATCH).map(|n| n as f64));
        registry.register(
            "inference_batch_images",
            "Images in the model run that answered each /predict request (--max-batch)",
            batch_images.clone(),
        );
        let queue_depth = Gauge::default();
        registry.register(
            "queue_depth",
            "Jobs (images, tensors) waiting for an inference worker",
            queue_depth.clone(),
        );
        let model = Family::<ModelLabels, Gauge>::default();
        registry.register("model_info", "The serving model (value 1)", model.clone());
        let swaps = Family::<SwapLabels, Counter>::default();
        registry.register(
            "model_swaps",
            "Model swaps attempted by the server, by result (ok, failed)",
            swaps.clone(),
        );
        registry.register(
            "deploys",
            "Deploy attempts by this process's deployer, by result",
            deploys.0,
        );
        Metrics {
            registry,
            render_lock: Mutex::new(()),
            requests,
            request_seconds,
            stage_seconds,
            batch_images,
            queue_depth,
            model,
            swaps,
        }
    }

    pub fn observe_stage(&self, stage: Stage, seconds: f64) {
        self.stage_seconds
            .get_or_create(&StageLabels { stage })
            .observe(seconds);
    }

    pub fn observe_batch(&self, images: usize) {
        self.batch_images.observe(images as f64);
    }

    pub fn count_swap(&self, ok: bool) {
        let result = if ok { "ok" } else { "failed" }.to_owned();
        self.swaps.get_or_create(&SwapLabels { result }).inc();
    }

    fn observe_request(&self, route: String, method: String, status: u16, elapsed: Duration) {
        self.request_seconds
            .get_or_create(&RouteLabels {
                route: route.clone(),
            })
            .observe(elapsed.as_secs_f64());
        self.requests
            .get_or_create(&RequestLabels {
                route,
                method,
                status,
            })
            .inc();
    }

    /// The exposition text, with the model info set to the model serving now.
    pub fn render(&self, serving: Option<&LoadedModel>) -> String {
        let _one_at_a_time = self.render_lock.lock().unwrap_or_else(|e| e.into_inner());
        self.model.clear();
        if let Some(m) = serving {
            let labels = ModelLabels {
                name: m.name().to_owned(),
                version: m.version().to_owned(),
                digest: m.digest(),
            };
            self.model.get_or_create(&labels).set(1);
        }
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// The middleware: counts every request by matched route and status, timing it.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let start = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    tracing::debug!(
        "{method} {path} {status} {:.1} ms",
        start.elapsed().as_secs_f64() * 1e3
    );
    let elapsed = start.elapsed();
    if crate::traffic::is_inference(&route) {
        state.traffic.record(status, elapsed);
    }
    state
        .metrics
        .observe_request(route, method, status, elapsed);
    response
}
