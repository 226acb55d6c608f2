//! Alert state and history that outlive the process.
//!
//! Two backends with one contract ([`AlertStore`]):
//! * [`sqlite::SqliteStore`] (default): one SQLite file in WAL mode with
//!   `synchronous=FULL`, at `jsonData.alerts.historyPath` (default
//!   [`default_history_path`]). A webhook delivery is committed before the
//!   receiver answers 200, so a crash or `kill -9` after the answer loses nothing.
//! * [`redis::RedisStore`] when `jsonData.cache.redisUrl` is set: the same data
//!   in Redis, so several Grafana replicas (each with its own plugin process)
//!   share one history and one current state.
//!
//! What is stored: every fired/resolved transition, keyed
//! `cluster|fingerprint|startsAt|event` — re-delivery of the same webhook is a
//! no-op (idempotent) — and the latest state per (cluster, fingerprint), where a
//! later episode (`startsAt`) or a resolve of the same episode wins over older
//! news arriving late. Transitions older than `jsonData.alerts.retentionDays`
//! (default 30) are pruned on every write; a delivered transition already
//! older than that is not stored at all (counted as `expired`, never published
//! live), so a re-delivery of it is as much a no-op as any other.
//!
//! Stores are opened once per process per location and shared by every
//! datasource instance that names the same location.

pub mod events;
pub mod redis;
pub mod sqlite;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use crate::error::{ErrorCode, FleetError};
use crate::model::alerts::{Alert, RESOLVED, Transition};
use crate::registry::JsonData;

/// What one `record` call did.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub struct RecordOutcome {
    /// Transitions stored for the first time.
    pub stored: usize,
    /// Transitions already stored (re-delivery).
    pub duplicates: usize,
    /// Transitions older than the retention (`alerts.retentionDays`): not
    /// stored, not published; the alert's current state still follows them.
    pub expired: usize,
    /// The transitions stored for the first time (what live subscribers get).
    #[serde(skip)]
    pub fresh: Vec<Transition>,
}

impl RecordOutcome {
    fn add(&mut self, t: &Transition, stored: bool) {
        if stored {
            self.stored += 1;
            self.fresh.push(t.clone());
        } else {
            self.duplicates += 1;
        }
    }
}

/// Which transitions to read back.
#[derive(Debug, Clone, Default)]
pub struct HistoryFilter {
    /// Cluster ids; empty = all.
    pub clusters: Vec<String>,
    pub fingerprint: Option<String>,
    pub from_ms: i64,
    pub to_ms: i64,
    pub limit: usize,
}

impl HistoryFilter {
    pub fn keeps(&self, t: &Transition) -> bool {
        (self.clusters.is_empty() || self.clusters.contains(&t.cluster_id))
            && self.fingerprint.as_ref().is_none_or(|f| *f == t.fingerprint)
            && t.at_ms >= self.from_ms
            && t.at_ms <= self.to_ms
    }
}

/// Ordering of news about one alert: a later episode wins; within one episode
/// a resolve wins over a (late, re-delivered) fire.
pub fn rank(t: &Transition) -> i64 {
    t.starts_at_ms.saturating_mul(2) + i64::from(t.event == RESOLVED)
}

pub const DEFAULT_RETENTION_DAYS: u32 = 30;
const DAY_MS: i64 = 86_400_000;

/// The shared alert store of one location.
#[derive(Debug)]
pub enum AlertStore {
    Sqlite(Arc<sqlite::SqliteStore>),
    Redis(redis::RedisStore),
}

impl AlertStore {
    /// Store the transitions the alerts represent. Returns after the write is
    /// durable (SQLite commit / Redis reply).
    pub async fn record(&self, alerts: &[Alert], now_ms: i64) -> Result<RecordOutcome, FleetError> {
        let transitions: Vec<Transition> = alerts.iter().map(|a| Transition::from_alert(a, now_ms)).collect();
        match self {
            AlertStore::Sqlite(s) => {
                let s = s.clone();
                blocking(move || s.record(&transitions, now_ms)).await
            }
            AlertStore::Redis(r) => r.record(&transitions, now_ms).await,
        }
    }

    /// Stored transitions, newest first.
    pub async fn history(&self, filter: HistoryFilter) -> Result<Vec<Transition>, FleetError> {
        match self {
            AlertStore::Sqlite(s) => {
                let s = s.clone();
                blocking(move || s.history(&filter)).await
            }
            AlertStore::Redis(r) => r.history(&filter).await,
        }
    }

    /// The latest known state of every alert of these clusters.
    pub async fn current(&self, clusters: Vec<String>) -> Result<Vec<Alert>, FleetError> {
        match self {
            AlertStore::Sqlite(s) => {
                let s = s.clone();
                blocking(move || s.current(&clusters)).await
            }
            AlertStore::Redis(r) => r.current(&clusters).await,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            AlertStore::Sqlite(s) => format!("sqlite:{}", s.path().display()),
            AlertStore::Redis(r) => format!("redis (prefix {})", r.prefix()),
        }
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, FleetError> + Send + 'static) -> Result<T, FleetError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| FleetError::internal(format!("alert store task failed: {e}")))?
}

pub(crate) fn store_error(what: impl std::fmt::Display) -> FleetError {
    FleetError::new(ErrorCode::Internal, format!("alert store: {what}"))
}

/// Where history lives when `jsonData.alerts.historyPath` is empty:
/// `$FLEETSCOPE_DATA_DIR`, else `$XDG_DATA_HOME/fleetscope`, else
/// `$HOME/.local/share/fleetscope`, else `<temp dir>/fleetscope`; file
/// `alerts-history.sqlite`.
pub fn default_history_path() -> PathBuf {
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    let dir = env("FLEETSCOPE_DATA_DIR")
        .or_else(|| env("XDG_DATA_HOME").map(|d| d.join("fleetscope")))
        .or_else(|| env("HOME").map(|h| h.join(".local/share/fleetscope")))
        .unwrap_or_else(|| std::env::temp_dir().join("fleetscope"));
    dir.join("alerts-history.sqlite")
}

/// Retention in ms from `jsonData.alerts.retentionDays`.
pub fn retention_ms(settings: &JsonData) -> i64 {
    i64::from(settings.alerts.retention_days.unwrap_or(DEFAULT_RETENTION_DAYS).max(1)) * DAY_MS
}

fn stores() -> &'static Mutex<HashMap<String, Arc<AlertStore>>> {
    static STORES: OnceLock<Mutex<HashMap<String, Arc<AlertStore>>>> = OnceLock::new();
    STORES.get_or_init(Default::default)
}

/// The store these settings name, opened on first use and shared afterwards.
pub async fn for_settings(settings: &JsonData) -> Result<Arc<AlertStore>, FleetError> {
    let retention = retention_ms(settings);
    let redis_url = redis_url(settings);
    let key = store_key(settings);
    if let Some(s) = stores().lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
        return Ok(s.clone());
    }
    let store = match redis_url {
        Some(url) => AlertStore::Redis(redis::RedisStore::connect(url, settings.alerts.redis_prefix(), retention).await?),
        None => {
            let path = history_path(settings);
            AlertStore::Sqlite(Arc::new(blocking(move || sqlite::SqliteStore::open(&path, retention)).await?))
        }
    };
    let mut map = stores().lock().unwrap_or_else(|p| p.into_inner());
    Ok(map.entry(key).or_insert_with(|| Arc::new(store)).clone())
}

fn redis_url(settings: &JsonData) -> Option<&str> {
    settings.cache.redis_url.as_deref().map(str::trim).filter(|u| !u.is_empty())
}

/// Identifies one store location (and so one live-event hub) in this process.
pub(crate) fn store_key(settings: &JsonData) -> String {
    let retention = retention_ms(settings);
    match redis_url(settings) {
        Some(url) => format!("redis {url} {} {retention}", settings.alerts.redis_prefix()),
        None => format!("sqlite {} {retention}", history_path(settings).display()),
    }
}

pub fn history_path(settings: &JsonData) -> PathBuf {
    settings.alerts.history_path.as_deref().map(str::trim).filter(|p| !p.is_empty()).map(PathBuf::from).unwrap_or_else(default_history_path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::alerts::{FIRED, Transition};

    fn t(starts: i64, event: &str) -> Transition {
        Transition {
            cluster_id: "c".into(),
            cluster_name: "c".into(),
            fingerprint: "f".into(),
            alertname: "A".into(),
            severity: "WARNING".into(),
            event: event.into(),
            at_ms: starts,
            starts_at_ms: starts,
            ends_at_ms: None,
            labels: Default::default(),
            annotations: Default::default(),
            generator_url: String::new(),
            received_at_ms: 0,
        }
    }

    #[test]
    fn later_episode_and_resolve_rank_higher() {
        assert!(rank(&t(10, RESOLVED)) > rank(&t(10, FIRED)));
        assert!(rank(&t(11, FIRED)) > rank(&t(10, RESOLVED)));
    }
}
