//! The serving model, swappable while requests run. A request takes the `Arc` once, at its
//! start, and finishes on that model whatever happens meanwhile; a swap loads, verifies and
//! warms the new model *before* storing it, so a failed load leaves the old one serving.
//!
//! Empty until a first model is stored: `/ready` answers 503 `not_ready` then.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwapOption;

use crate::model::{LoadError, LoadedModel};

#[derive(Debug, Default)]
pub struct ModelSlot {
    current: ArcSwapOption<LoadedModel>,
    /// Serialises swaps, so two promotions never interleave load and store.
    swapping: Mutex<()>,
}

impl ModelSlot {
    pub fn empty() -> ModelSlot {
        ModelSlot::default()
    }

    pub fn with(model: LoadedModel) -> ModelSlot {
        let slot = ModelSlot::empty();
        slot.store(model);
        slot
    }

    /// The serving model, if any: lock-free, for the request path.
    pub fn current(&self) -> Option<Arc<LoadedModel>> {
        self.current.load_full()
    }

    /// Loads, verifies (checksums, manifest, labels, golden) and warms the bundle at `dir`, then
    /// makes it the serving model. Blocking: call it from a thread, never the async runtime.
    /// On error nothing changes.
    pub fn swap_in(&self, dir: &Path) -> Result<Arc<LoadedModel>, LoadError> {
        let _one_at_a_time = self.swapping.lock().unwrap_or_else(PoisonError::into_inner);
        let model = Arc::new(LoadedModel::load(dir)?);
        self.current.store(Some(model.clone()));
        Ok(model)
    }

    /// Makes an already loaded model the serving one.
    pub fn store(&self, model: LoadedModel) -> Arc<LoadedModel> {
        let _one_at_a_time = self.swapping.lock().unwrap_or_else(PoisonError::into_inner);
        let model = Arc::new(model);
        self.current.store(Some(model.clone()));
        model
    }
}
