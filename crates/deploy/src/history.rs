//! The deploy record (DESIGN §4.1 step 8, §9): one SQLite file in the store holding every
//! attempt with its steps and gate results, the stack of promotions that `rollback` walks
//! back, the digests (or checkpoint hashes) rejected for good, and cached hold-out scores.
//!
//! Readers (`history`, `status`, the dashboard) may open it while a deployer writes: WAL mode
//! and a busy timeout keep them from failing on each other.

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use serde_json::Value;

const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at TEXT NOT NULL,
    source TEXT NOT NULL,
    version TEXT,
    digest TEXT,
    checkpoint_sha256 TEXT,
    result TEXT NOT NULL,
    reason TEXT,
    steps TEXT NOT NULL,
    gates TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS promotions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    digest TEXT NOT NULL,
    version TEXT NOT NULL,
    promoted_at TEXT NOT NULL,
    source TEXT NOT NULL,
    checkpoint_sha256 TEXT,
    attempt_id INTEGER,
    active INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS rejected (
    key TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS holdout_scores (
    digest TEXT NOT NULL,
    holdout TEXT NOT NULL,
    top1 REAL NOT NULL,
    images INTEGER NOT NULL,
    PRIMARY KEY (digest, holdout)
);
";

#[derive(Debug, thiserror::Error)]
#[error("deploy history {path}: {cause}")]
pub struct HistoryError {
    pub path: String,
    pub cause: rusqlite::Error,
}

/// How an attempt ended (DESIGN §9).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Promoted,
    Rejected,
    Failed,
    /// Promoted, then rolled back by probation.
    RolledBack,
    /// A rollback someone asked for.
    Rollback,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Promoted => "promoted",
            Outcome::Rejected => "rejected",
            Outcome::Failed => "failed",
            Outcome::RolledBack => "rolled_back",
            Outcome::Rollback => "rollback",
        }
    }

    fn parse(s: &str) -> Outcome {
        match s {
            "promoted" => Outcome::Promoted,
            "rejected" => Outcome::Rejected,
            "rolled_back" => Outcome::RolledBack,
            "rollback" => Outcome::Rollback,
            _ => Outcome::Failed,
        }
    }
}

/// One step of an attempt, as `history --json` shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    pub name: String,
    pub ms: f64,
    pub ok: bool,
    pub detail: String,
}

/// One attempt, as `history --json` shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttemptRecord {
    pub id: i64,
    pub started_at: String,
    pub source: String,
    pub version: Option<String>,
    pub digest: Option<String>,
    pub result: Outcome,
    pub reason: Option<String>,
    pub steps: Vec<StepRecord>,
    pub gates: Value,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub checkpoint_sha256: Option<String>,
}

/// A promotion still on the rollback stack.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Promotion {
    pub id: i64,
    pub digest: String,
    pub version: String,
    pub promoted_at: String,
    pub source: String,
    pub checkpoint_sha256: Option<String>,
    pub attempt_id: Option<i64>,
}

pub struct History {
    conn: Connection,
    path: String,
}

impl History {
    pub fn open(path: &Path) -> Result<History, HistoryError> {
        let name = path.display().to_string();
        let err = |cause| HistoryError {
            path: name.clone(),
            cause,
        };
        let conn = Connection::open(path).map_err(err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(err)?;
        // Switching a new database to WAL can fail as "locked" without waiting on the busy
        // handler when another connection creates it at the same moment (the dashboard's
        // parallel status and history requests on a new store), so the setup is retried.
        let deadline = Instant::now() + BUSY_TIMEOUT;
        loop {
            match Self::set_up(&conn) {
                Ok(()) => return Ok(History { conn, path: name }),
                Err(e) if is_busy(&e) && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => return Err(err(e)),
            }
        }
    }

    fn set_up(conn: &Connection) -> Result<(), rusqlite::Error> {
        // WAL lets readers run beside the writer; the pragma answers with a row.
        let _: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        conn.execute_batch(SCHEMA)?;
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)
    }

    fn err(&self, cause: rusqlite::Error) -> HistoryError {
        HistoryError {
            path: self.path.clone(),
            cause,
        }
    }

    /// Records a finished attempt; its `id` is assigned here and returned.
    pub fn record(&self, a: &AttemptRecord) -> Result<i64, HistoryError> {
        self.conn
            .execute(
                "INSERT INTO attempts (started_at, source, version, digest, checkpoint_sha256,
                                       result, reason, steps, gates)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    a.started_at,
                    a.source,
                    a.version,
                    a.digest,
                    a.checkpoint_sha256,
                    a.result.as_str(),
                    a.reason,
                    serde_json::to_string(&a.steps).unwrap_or_else(|_| "[]".into()),
                    a.gates.to_string(),
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Changes how attempt `id` ended (probation turning `promoted` into `rolled_back`).
    pub fn set_outcome(&self, id: i64, result: Outcome, reason: &str) -> Result<(), HistoryError> {
        self.conn
            .execute(
                "UPDATE attempts SET result = ?2, reason = ?3 WHERE id = ?1",
                params![id, result.as_str(), reason],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Replaces the steps of attempt `id` (probation adds its step after the row is written).
    pub fn set_steps(&self, id: i64, steps: &[StepRecord]) -> Result<(), HistoryError> {
        self.conn
            .execute(
                "UPDATE attempts SET steps = ?2 WHERE id = ?1",
                params![
                    id,
                    serde_json::to_string(steps).unwrap_or_else(|_| "[]".into())
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The newest `limit` attempts, newest first.
    pub fn attempts(&self, limit: usize) -> Result<Vec<AttemptRecord>, HistoryError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, started_at, source, version, digest, checkpoint_sha256, result,
                        reason, steps, gates
                 FROM attempts ORDER BY id DESC LIMIT ?1",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([limit as i64], |r| {
                let steps: String = r.get(8)?;
                let gates: String = r.get(9)?;
                let result: String = r.get(6)?;
                Ok(AttemptRecord {
                    id: r.get(0)?,
                    started_at: r.get(1)?,
                    source: r.get(2)?,
                    version: r.get(3)?,
                    digest: r.get(4)?,
                    checkpoint_sha256: r.get(5)?,
                    result: Outcome::parse(&result),
                    reason: r.get(7)?,
                    steps: serde_json::from_str(&steps).unwrap_or_default(),
                    gates: serde_json::from_str(&gates).unwrap_or(Value::Null),
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// Why `key` (a bundle digest or a checkpoint hash) was rejected, if it was.
    pub fn rejected(&self, key: &str) -> Result<Option<String>, HistoryError> {
        self.conn
            .query_row("SELECT reason FROM rejected WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.err(e))
    }

    pub fn reject(&self, key: &str, reason: &str, at: &str) -> Result<(), HistoryError> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO rejected (key, reason, at) VALUES (?1, ?2, ?3)",
                params![key, reason, at],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Forgets a rejection (a forced deploy that succeeded).
    pub fn unreject(&self, key: &str) -> Result<(), HistoryError> {
        self.conn
            .execute("DELETE FROM rejected WHERE key = ?1", [key])
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Pushes a promotion onto the rollback stack.
    pub fn push_promotion(&self, p: &Promotion) -> Result<i64, HistoryError> {
        self.conn
            .execute(
                "INSERT INTO promotions (digest, version, promoted_at, source, checkpoint_sha256,
                                         attempt_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    p.digest,
                    p.version,
                    p.promoted_at,
                    p.source,
                    p.checkpoint_sha256,
                    p.attempt_id
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// The rollback stack, newest (the current model) first.
    pub fn promotions(&self) -> Result<Vec<Promotion>, HistoryError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, digest, version, promoted_at, source, checkpoint_sha256, attempt_id
                 FROM promotions WHERE active = 1 ORDER BY id DESC",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Promotion {
                    id: r.get(0)?,
                    digest: r.get(1)?,
                    version: r.get(2)?,
                    promoted_at: r.get(3)?,
                    source: r.get(4)?,
                    checkpoint_sha256: r.get(5)?,
                    attempt_id: r.get(6)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// Takes promotion `id` off the rollback stack.
    pub fn retire_promotion(&self, id: i64) -> Result<(), HistoryError> {
        self.conn
            .execute("UPDATE promotions SET active = 0 WHERE id = ?1", [id])
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// A cached hold-out score of `digest` on the hold-out set identified by `holdout`.
    pub fn holdout_score(
        &self,
        digest: &str,
        holdout: &str,
    ) -> Result<Option<(f64, usize)>, HistoryError> {
        self.conn
            .query_row(
                "SELECT top1, images FROM holdout_scores WHERE digest = ?1 AND holdout = ?2",
                [digest, holdout],
                |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as usize)),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    pub fn put_holdout_score(
        &self,
        digest: &str,
        holdout: &str,
        top1: f64,
        images: usize,
    ) -> Result<(), HistoryError> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO holdout_scores (digest, holdout, top1, images)
                 VALUES (?1, ?2, ?3, ?4)",
                params![digest, holdout, top1, images as i64],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }
}

/// How long an open or a write waits for another connection's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether SQLite refused because another connection holds a lock (worth a retry).
fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The dashboard asks for `/v1/status` and `/v1/history` at once, and each opens the
    /// history; on a new store both then create it. Every open must succeed.
    #[test]
    fn concurrent_first_opens_all_succeed() {
        for round in 0..40 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("history.db");
            let barrier = std::sync::Barrier::new(6);
            std::thread::scope(|scope| {
                let opens: Vec<_> = (0..6)
                    .map(|_| {
                        scope.spawn(|| {
                            barrier.wait();
                            History::open(&path)
                                .and_then(|h| h.attempts(10))
                                .map(|_| ())
                        })
                    })
                    .collect();
                for open in opens {
                    let result = open.join().unwrap();
                    assert!(result.is_ok(), "round {round}: {}", result.unwrap_err());
                }
            });
        }
    }

    fn attempt(result: Outcome) -> AttemptRecord {
        AttemptRecord {
            id: 0,
            started_at: "2026-11-26T10:00:00Z".into(),
            source: "/srv/models/dogs".into(),
            version: Some("v1".into()),
            digest: Some("sha256:ab".into()),
            result,
            reason: None,
            steps: vec![StepRecord {
                name: "fetch".into(),
                ms: 12.5,
                ok: true,
                detail: "3 files".into(),
            }],
            gates: json!({"golden": {"ok": true}}),
            checkpoint_sha256: None,
        }
    }

    #[test]
    fn attempts_round_trip_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let h = History::open(&dir.path().join("h.sqlite")).unwrap();
        let first = h.record(&attempt(Outcome::Promoted)).unwrap();
        let second = h.record(&attempt(Outcome::Rejected)).unwrap();
        h.set_outcome(first, Outcome::RolledBack, "probation: errors")
            .unwrap();
        let all = History::open(&dir.path().join("h.sqlite"))
            .unwrap()
            .attempts(10)
            .unwrap();
        assert_eq!(
            all.iter().map(|a| a.id).collect::<Vec<_>>(),
            [second, first]
        );
        assert_eq!(all[1].result, Outcome::RolledBack);
        assert_eq!(all[1].reason.as_deref(), Some("probation: errors"));
        assert_eq!(all[0].steps, attempt(Outcome::Rejected).steps);
        assert_eq!(all[0].gates, json!({"golden": {"ok": true}}));
    }

    #[test]
    fn rejections_promotions_and_scores() {
        let dir = tempfile::tempdir().unwrap();
        let h = History::open(&dir.path().join("h.sqlite")).unwrap();
        assert_eq!(h.rejected("sha256:aa").unwrap(), None);
        h.reject("sha256:aa", "accuracy", "t").unwrap();
        assert_eq!(
            h.rejected("sha256:aa").unwrap().as_deref(),
            Some("accuracy")
        );
        h.unreject("sha256:aa").unwrap();
        assert_eq!(h.rejected("sha256:aa").unwrap(), None);

        let p = |d: &str| Promotion {
            id: 0,
            digest: d.into(),
            version: d.into(),
            promoted_at: "t".into(),
            source: "s".into(),
            checkpoint_sha256: None,
            attempt_id: None,
        };
        let a = h.push_promotion(&p("a")).unwrap();
        let b = h.push_promotion(&p("b")).unwrap();
        let stack: Vec<_> = h.promotions().unwrap().into_iter().map(|p| p.id).collect();
        assert_eq!(stack, [b, a]);
        h.retire_promotion(b).unwrap();
        assert_eq!(h.promotions().unwrap()[0].digest, "a");

        h.put_holdout_score("a", "k", 0.9, 300).unwrap();
        assert_eq!(h.holdout_score("a", "k").unwrap(), Some((0.9, 300)));
        assert_eq!(h.holdout_score("a", "other").unwrap(), None);
    }
}
