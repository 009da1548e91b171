//! What every handler shares: the configuration, the model slot, the inference workers and
//! the metrics.

use std::sync::Arc;

use crate::config::ServeConfig;
use crate::metrics::Metrics;
use crate::rate_limit::RateLimiter;
use crate::slot::ModelSlot;
use crate::traffic::TrafficRing;
use crate::workers::Workers;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<ServeConfig>,
    pub slot: Arc<ModelSlot>,
    pub workers: Arc<Workers>,
    pub metrics: Arc<Metrics>,
    /// The last minutes of inference traffic, for the dashboard's charts.
    pub traffic: Arc<TrafficRing>,
    /// `Some` with `--rate-limit`.
    pub rate_limiter: Option<Arc<RateLimiter>>,
}

impl AppState {
    /// Starts the inference workers (`config.threads` of them, behind a queue of
    /// `config.limits.queue`).
    pub fn new(config: ServeConfig, slot: Arc<ModelSlot>) -> std::io::Result<AppState> {
        let metrics = Arc::new(Metrics::with_deploys(config.deploys.clone()));
        let workers = Workers::start(
            config.threads,
            config.limits.queue,
            config.max_batch,
            metrics.queue_depth.clone(),
        )?;
        config.live.attach(metrics.clone(), slot.clone());
        let rate_limiter = config
            .limits
            .rate_limit
            .map(|n| Arc::new(RateLimiter::new(n.get())));
        Ok(AppState {
            rate_limiter,
            config: Arc::new(config),
            slot,
            workers: Arc::new(workers),
            metrics,
            traffic: Arc::new(TrafficRing::default()),
        })
    }
}
