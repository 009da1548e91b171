//! `litecnn status` (DESIGN §9): what is serving, what came before, and what the watcher is
//! doing — the watcher writes a heartbeat file in the store after every look at its source.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::history::History;
use crate::store::Store;

pub const HEARTBEAT_FILE: &str = "watcher.json";

/// The watcher's state, as `status --json` shows it under `"watcher"`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Heartbeat {
    pub source: String,
    /// `checking`, `idle`, `off` (paused by `/admin/watch`), `stopped`.
    pub state: String,
    pub last_check_at: Option<String>,
    pub last_error: Option<String>,
    /// What the last look found (`promoted …`, `nothing new: …`).
    pub last_result: Option<String>,
    pub next_check_at: Option<String>,
    pub every_s: f64,
    pub pid: u32,
    /// When this heartbeat was written, in Unix seconds.
    pub updated_unix: u64,
}

impl Heartbeat {
    /// Replaces the heartbeat file (temp file + rename: readers never see half of it).
    pub fn write(&self, store: &Path) -> std::io::Result<()> {
        let tmp = store.join(format!(".{HEARTBEAT_FILE}.tmp"));
        let mut file = fs::File::create(&tmp)?;
        file.write_all(serde_json::to_string_pretty(self)?.as_bytes())?;
        fs::rename(tmp, store.join(HEARTBEAT_FILE))
    }

    pub fn read(store: &Path) -> Option<Heartbeat> {
        let text = fs::read(store.join(HEARTBEAT_FILE)).ok()?;
        serde_json::from_slice(&text).ok()
    }
}

/// The `status --json` document.
pub fn status(store_dir: &Path) -> Result<Value, String> {
    let store = Store::open(store_dir).map_err(|e| e.to_string())?;
    let history = History::open(&store.history_path()).map_err(|e| e.to_string())?;
    let current = store.current().map_err(|e| e.to_string())?;
    let stack = history.promotions().map_err(|e| e.to_string())?;
    let current_text = current.as_ref().map(|d| d.to_string());
    let describe = |p: &crate::history::Promotion| {
        json!({"version": p.version, "digest": p.digest, "promoted_at": p.promoted_at,
               "source": p.source})
    };
    let current_json = match &current_text {
        None => Value::Null,
        Some(digest) => match stack.iter().find(|p| &p.digest == digest) {
            Some(p) => describe(p),
            None => json!({"version": null, "digest": digest, "promoted_at": null, "source": null}),
        },
    };
    let previous: Vec<Value> = stack
        .iter()
        .filter(|p| Some(&p.digest) != current_text.as_ref())
        .filter(|p| litecnn_bundle::Digest::parse(&p.digest).is_some_and(|d| store.has_bundle(&d)))
        .map(describe)
        .collect();
    let watcher = Heartbeat::read(store.root()).map(|mut hb| {
        // A heartbeat much older than its interval means the watcher is gone.
        if hb.state != "stopped" && is_stale(&hb) {
            hb.state = "stale".into();
        }
        hb
    });
    Ok(json!({
        "current": current_json,
        "previous": previous,
        "watcher": watcher.map_or(Value::Null, |hb| json!({
            "source": hb.source,
            "state": hb.state,
            "last_check_at": hb.last_check_at,
            "last_error": hb.last_error,
            "last_result": hb.last_result,
            "next_check_at": hb.next_check_at,
        })),
    }))
}

fn is_stale(hb: &Heartbeat) -> bool {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    // An attempt may run a while (a large fetch, a conversion): allow generous slack.
    let allowed = (hb.every_s * 3.0).max(60.0) as u64 + 600;
    now.saturating_sub(hb.updated_unix) > allowed
}
