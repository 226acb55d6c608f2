//! SQLite alert store: WAL, `synchronous=FULL`, one connection behind a mutex
//! (writes are small; readers and the writer of other processes coexist via WAL
//! and `busy_timeout`).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};

use super::{HistoryFilter, RecordOutcome, rank, store_error};
use crate::error::FleetError;
use crate::model::alerts::{Alert, RESOLVED, Transition};

#[derive(Debug)]
pub struct SqliteStore {
    path: PathBuf,
    retention_ms: i64,
    conn: Mutex<Connection>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS alert_transitions (
    key            TEXT PRIMARY KEY,
    cluster_id     TEXT NOT NULL,
    fingerprint    TEXT NOT NULL,
    event          TEXT NOT NULL,
    at_ms          INTEGER NOT NULL,
    received_at_ms INTEGER NOT NULL,
    body           TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alert_transitions_at ON alert_transitions (at_ms);
CREATE TABLE IF NOT EXISTS alert_state (
    cluster_id  TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    rank        INTEGER NOT NULL,
    resolved    INTEGER NOT NULL,
    at_ms       INTEGER NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (cluster_id, fingerprint)
);
";

impl SqliteStore {
    /// Open (creating the file, its directory and the schema when missing).
    pub fn open(path: &Path, retention_ms: i64) -> Result<Self, FleetError> {
        let err = |e: &dyn std::fmt::Display| store_error(format!("{}: {e}", path.display()));
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| err(&e))?;
        }
        let conn = Connection::open(path).map_err(|e| err(&e))?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(|e| err(&e))?;
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0)).map_err(|e| err(&e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(err(&format!("cannot switch to WAL (journal_mode is {mode})")));
        }
        conn.execute_batch("PRAGMA synchronous=FULL;").map_err(|e| err(&e))?;
        conn.execute_batch(SCHEMA).map_err(|e| err(&e))?;
        Ok(SqliteStore { path: path.to_owned(), retention_ms, conn: Mutex::new(conn) })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, e: impl std::fmt::Display) -> FleetError {
        store_error(format!("{}: {e}", self.path.display()))
    }

    /// Store transitions in one transaction; committed (fsynced) on return.
    pub fn record(&self, transitions: &[Transition], now_ms: i64) -> Result<RecordOutcome, FleetError> {
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction().map_err(|e| self.err(e))?;
        let mut out = RecordOutcome::default();
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO alert_transitions (key, cluster_id, fingerprint, event, at_ms, received_at_ms, body)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(|e| self.err(e))?;
            let mut upsert = tx
                .prepare_cached(
                    "INSERT INTO alert_state (cluster_id, fingerprint, rank, resolved, at_ms, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (cluster_id, fingerprint) DO UPDATE
                     SET rank = excluded.rank, resolved = excluded.resolved, at_ms = excluded.at_ms, body = excluded.body
                     WHERE excluded.rank > alert_state.rank",
                )
                .map_err(|e| self.err(e))?;
            let cutoff = now_ms - self.retention_ms;
            for t in transitions {
                let body = serde_json::to_string(t).map_err(|e| self.err(e))?;
                if t.at_ms < cutoff {
                    // Would be pruned below in this very transaction: not stored.
                    out.expired += 1;
                } else {
                    let n = insert
                        .execute(params![t.key(), t.cluster_id, t.fingerprint, t.event, t.at_ms, t.received_at_ms, body])
                        .map_err(|e| self.err(e))?;
                    out.add(t, n == 1);
                }
                upsert
                    .execute(params![t.cluster_id, t.fingerprint, rank(t), i64::from(t.event == RESOLVED), t.at_ms, body])
                    .map_err(|e| self.err(e))?;
            }
            tx.execute("DELETE FROM alert_transitions WHERE at_ms < ?1", params![cutoff]).map_err(|e| self.err(e))?;
            tx.execute("DELETE FROM alert_state WHERE resolved = 1 AND at_ms < ?1", params![cutoff]).map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))?;
        Ok(out)
    }

    /// Transitions in `[from, to]`, newest first, at most `limit`.
    pub fn history(&self, f: &HistoryFilter) -> Result<Vec<Transition>, FleetError> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let mut stmt = conn
            .prepare_cached("SELECT body FROM alert_transitions WHERE at_ms >= ?1 AND at_ms <= ?2 ORDER BY at_ms DESC, key")
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map(params![f.from_ms, f.to_ms], |r| r.get::<_, String>(0)).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for body in rows {
            let t: Transition = serde_json::from_str(&body.map_err(|e| self.err(e))?).map_err(|e| self.err(e))?;
            if f.keeps(&t) {
                out.push(t);
                if out.len() >= f.limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// Latest state per alert of the given clusters (empty = all).
    pub fn current(&self, clusters: &[String]) -> Result<Vec<Alert>, FleetError> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let mut stmt = conn.prepare_cached("SELECT cluster_id, body FROM alert_state ORDER BY cluster_id, fingerprint").map_err(|e| self.err(e))?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (cluster, body) = row.map_err(|e| self.err(e))?;
            if clusters.is_empty() || clusters.contains(&cluster) {
                let t: Transition = serde_json::from_str(&body).map_err(|e| self.err(e))?;
                out.push(t.to_alert());
            }
        }
        Ok(out)
    }

    /// Number of stored transitions (tests, diagnostics).
    pub fn transition_count(&self) -> Result<i64, FleetError> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        conn.query_row("SELECT count(*) FROM alert_transitions", [], |r| r.get(0)).optional().map_err(|e| self.err(e)).map(|n| n.unwrap_or(0))
    }
}
