//! What the server's `/admin/*` routes act on in `litecnn serve`: the deployer of `--watch`
//! (deploy now, pause/resume) and the store's rollback.

use std::path::PathBuf;
use std::sync::Arc;

use litecnn_deploy::{WatchControl, Webhook};
use litecnn_server::AdminActions;
use serde_json::{Value, json};

#[derive(Debug)]
pub struct DeployerAdmin {
    pub store: Option<PathBuf>,
    /// `Some` with `--watch`.
    pub control: Option<Arc<WatchControl>>,
    pub hooks: Vec<Webhook>,
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
        Ok(json!({"rolled_back": record}))
    }

    fn set_watch(&self, enabled: bool) -> Result<Value, String> {
        let control = self.control.as_ref().ok_or(NO_WATCHER)?;
        control.set_enabled(enabled);
        Ok(json!({"enabled": control.enabled()}))
    }
}
