//! What the server's `/admin/*` routes act on in `litecnn serve`: the deployer of `--watch`
//! (deploy now, pause/resume) and the store's rollback; and what `/v1/history` and
//! `/v1/status` read.

use std::path::PathBuf;
use std::sync::Arc;

use litecnn_deploy::{History, Store, WatchControl, Webhook};
use litecnn_server::{AdminActions, DeployCounter, DeployRecord};
use serde_json::{Value, json};

#[derive(Debug)]
pub struct DeployerAdmin {
    pub store: Option<PathBuf>,
    /// `Some` with `--watch`.
    pub control: Option<Arc<WatchControl>>,
    pub hooks: Vec<Webhook>,
    /// Counts rollbacks made here into `/metrics`' deploys.
    pub deploys: DeployCounter,
}

const NO_WATCHER: &str = "this server runs no deployer (start it with --watch SOURCE)";

impl AdminActions for DeployerAdmin {
    fn deploy_now(&self) -> Result<Value, String> {
        let control = self.control.as_ref().ok_or(NO_WATCHER)?;
        control.deploy_now();
        Ok(json!({"status": "deploy attempt requested"}))
    }

    fn rollback(&self, to: Option<&str>) -> Result<Value, String> {
        let store = self
            .store
            .as_ref()
            .ok_or("this server has no store to roll back")?;
        let record = litecnn_deploy::rollback(store, to, &self.hooks).map_err(|e| e.to_string())?;
        self.deploys.count("rollback");
        Ok(json!({"rolled_back": record}))
    }

    fn set_watch(&self, enabled: bool) -> Result<Value, String> {
        let control = self.control.as_ref().ok_or(NO_WATCHER)?;
        control.set_enabled(enabled);
        Ok(json!({"enabled": control.enabled()}))
    }
}

/// The store's deploy record for `/v1/history` and `/v1/status`.
#[derive(Debug)]
pub struct StoreRecord {
    pub store: PathBuf,
}

impl DeployRecord for StoreRecord {
    fn history(&self, limit: usize) -> Result<Value, String> {
        let store = Store::open(&self.store).map_err(|e| e.to_string())?;
        let attempts = History::open(&store.history_path())
            .and_then(|h| h.attempts(limit))
            .map_err(|e| e.to_string())?;
        serde_json::to_value(attempts).map_err(|e| e.to_string())
    }

    fn status(&self) -> Result<Value, String> {
        litecnn_deploy::status(&self.store)
    }
}
