//! The cluster registry: which clusters exist, where their backends live and
//! which credentials reach them.
//!
//! The static clusters come from the datasource's `jsonData.clusters` (or the
//! CLI's YAML file, same shape); `crate::discovery` merges the clusters its
//! sources find (`jsonData.discovery`) into a new [`Registry`] each time a
//! source changes ([`Registry::with_discovered`]). Secrets come only from
//! `secureJsonData`, keyed `<clusterId>.<secret>` (every backend) or
//! `<clusterId>.<backend>.<secret>` (one backend), or from a discovery source's
//! own answer (in memory only); [`Secret`] never prints its value.
//!
//! A cluster's [`Cluster::state_key`] is its id plus a fingerprint of where its
//! backends are: breakers, per-cluster slots and cache entries are keyed by it,
//! so a cluster removed and re-added under the same id with other endpoints
//! starts clean.
//!
//! The files: `settings.rs` is the serde shape of `jsonData` (what users write);
//! `build.rs` checks and resolves it into `model.rs` (what the rest of the crate
//! reads: [`Cluster`], [`Endpoint`], [`ClickhouseStore`], [`QueryLimits`]);
//! `secrets.rs` says which `secureJsonData` keys exist and whose they are;
//! `sources.rs` is the settings side of discovery (checks, secret names, the
//! per-source report); this file holds [`Registry`], the set of one
//! datasource instance.

mod build;
mod model;
mod secrets;
pub mod settings;
pub mod sources;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{ErrorCode, FleetError};
use settings::{ClickhouseStoreSettings, ClusterSettings, EndpointSettings, KubernetesSettings, ServicePort, ServiceRef, Via};
pub use settings::{ConfigFile, JsonData, PrometheusKind};

pub use build::valid_clickhouse_identifier;
use build::*;
pub use model::*;
use secrets::*;
pub use secrets::{CLICKHOUSE_SECRET_PREFIX, SERVE_TOKEN_PREFIX};

/// Why settings could not be used. Always names the offending path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("invalid datasource settings at `{path}`: {message}")]
    Invalid { path: String, message: String },
}

impl From<SettingsError> for FleetError {
    fn from(e: SettingsError) -> Self {
        FleetError::new(ErrorCode::InvalidSettings, e.to_string())
    }
}

fn invalid(path: impl Into<String>, message: impl Into<String>) -> SettingsError {
    SettingsError::Invalid { path: path.into(), message: message.into() }
}

/// The registry of one datasource instance.
#[derive(Debug, Clone)]
pub struct Registry {
    clusters: Vec<Arc<Cluster>>,
    clickhouse: Vec<Arc<ClickhouseStore>>,
    /// `secureJsonData`, for clusters discovery finds later.
    secure: SecureMap,
    /// The discovery sources' states as of this registry (empty without discovery).
    pub discovery: Arc<Vec<sources::SourceReport>>,
    pub limits: QueryLimits,
    pub settings: JsonData,
    /// `jsonData.timeInterval` in ms (Grafana's default 15 s when unset).
    pub scrape_interval_ms: i64,
}

impl Registry {
    /// Parse Grafana's `jsonData` bytes (may be empty) and decrypted secrets.
    pub fn from_grafana(json_data: &[u8], secure: &HashMap<String, String>) -> Result<Self, SettingsError> {
        let data: JsonData = if json_data.iter().all(u8::is_ascii_whitespace) {
            JsonData::default()
        } else {
            let de = &mut serde_json::Deserializer::from_slice(json_data);
            serde_path_to_error::deserialize(de).map_err(|e| {
                let path = e.path().to_string();
                invalid(if path == "." { "jsonData".into() } else { format!("jsonData.{path}") }, e.inner().to_string())
            })?
        };
        Registry::build(data, secure)
    }

    /// Parse the CLI's YAML config file (`jsonData:` + `secureJsonData:`).
    pub fn from_yaml(text: &str) -> Result<Self, SettingsError> {
        let de = serde_yaml::Deserializer::from_str(text);
        let file: ConfigFile = serde_path_to_error::deserialize(de).map_err(|e| invalid(e.path().to_string(), e.inner().to_string()))?;
        Registry::build(file.json_data, &file.secure_json_data)
    }

    /// Validate and resolve parsed settings.
    pub fn build(data: JsonData, secure: &HashMap<String, String>) -> Result<Self, SettingsError> {
        let q = &data.query;
        let secs = |path: &str, v: f64| -> Result<Duration, SettingsError> {
            if v.is_finite() && (0.0..=86_400.0).contains(&v) {
                Ok(Duration::from_secs_f64(v))
            } else {
                Err(invalid(format!("jsonData.query.{path}"), format!("must be between 0 and 86400 seconds, got {v}")))
            }
        };
        let timeout = secs("timeoutSeconds", q.timeout_seconds)?;
        let max_timeout = secs("maxTimeoutSeconds", q.max_timeout_seconds)?;
        if timeout.is_zero() {
            return Err(invalid("jsonData.query.timeoutSeconds", "must be greater than 0"));
        }
        if q.max_parallel == 0 {
            return Err(invalid("jsonData.query.maxParallel", "must be at least 1"));
        }
        if q.max_parallel_per_cluster == 0 {
            return Err(invalid("jsonData.query.maxParallelPerCluster", "must be at least 1"));
        }
        if q.retry_attempts == 0 || q.retry_attempts > 10 {
            return Err(invalid("jsonData.query.retryAttempts", "must be between 1 and 10"));
        }
        if q.max_response_bytes < 1024 {
            return Err(invalid("jsonData.query.maxResponseBytes", "must be at least 1024"));
        }
        let limits = QueryLimits {
            timeout: timeout.min(max_timeout.max(timeout)),
            max_timeout,
            max_parallel: q.max_parallel,
            max_parallel_per_cluster: q.max_parallel_per_cluster.min(q.max_parallel),
            retry_attempts: q.retry_attempts,
            retry_delay: secs("retryDelaySeconds", q.retry_delay_seconds)?,
            max_response_bytes: q.max_response_bytes,
        };

        let mut stores: Vec<Arc<ClickhouseStore>> = Vec::with_capacity(data.clickhouse.len());
        for (i, s) in data.clickhouse.iter().enumerate() {
            let store = resolve_clickhouse_store(i, s, secure)?;
            if stores.iter().any(|o| o.id == store.id) {
                return Err(invalid(format!("jsonData.clickhouse[{i}].id"), format!("duplicate store id {:?}", store.id)));
            }
            stores.push(Arc::new(store));
        }
        for (i, d) in data.discovery.iter().enumerate() {
            sources::validate_source(&format!("jsonData.discovery[{i}]"), d)?;
            if data.discovery[..i].iter().any(|o| o.name == d.name) {
                return Err(invalid(format!("jsonData.discovery[{i}].name"), format!("duplicate source name {:?}", d.name)));
            }
        }
        let mut clusters: Vec<Arc<Cluster>> = Vec::with_capacity(data.clusters.len());
        for (i, c) in data.clusters.iter().enumerate() {
            let secrets = |key: &str| secure.get(key).filter(|v| !v.is_empty()).map(|v| Secret(v.clone()));
            let cluster = resolve_cluster(&format!("jsonData.clusters[{i}]"), STATIC_SOURCE, c, &secrets, &stores)?;
            if clusters.iter().any(|o| o.id == cluster.id) {
                return Err(invalid(format!("jsonData.clusters[{i}].id"), format!("duplicate cluster id {:?}", cluster.id.as_str())));
            }
            clusters.push(Arc::new(cluster));
        }
        check_secret_keys(&clusters, &data, &stores, secure)?;
        let scrape_interval_ms = match data.time_interval.as_deref() {
            Some(t) if !t.trim().is_empty() => time_interval_ms("jsonData.timeInterval", t)?,
            _ => crate::model::duration::DEFAULT_SCRAPE_INTERVAL_MS,
        };
        Ok(Registry {
            clusters,
            clickhouse: stores,
            secure: SecureMap(Arc::new(secure.clone())),
            discovery: Arc::default(),
            limits,
            settings: data,
            scrape_interval_ms,
        })
    }

    /// Resolve one discovered cluster (`path` names it in errors, e.g.
    /// `discovery[gitops].clusters[3]`). Its secrets are the source's own
    /// (`discovered`, keyed like `secureJsonData`) first, then `secureJsonData`.
    pub fn resolve_discovered(
        &self,
        path: &str,
        source: &str,
        settings: &ClusterSettings,
        discovered: &HashMap<String, Secret>,
    ) -> Result<Cluster, SettingsError> {
        let secrets = |key: &str| discovered.get(key).cloned().or_else(|| self.secure.get(key));
        resolve_cluster(path, source, settings, &secrets, &self.clickhouse)
    }

    /// This registry's static clusters plus `discovered` (already resolved, in
    /// order; ids are unique — `crate::discovery` checks), with the sources'
    /// states.
    pub fn with_discovered(&self, discovered: Vec<Arc<Cluster>>, reports: Vec<sources::SourceReport>) -> Registry {
        let mut clusters: Vec<Arc<Cluster>> = self.clusters.iter().filter(|c| c.source == STATIC_SOURCE).cloned().collect();
        clusters.extend(discovered);
        Registry {
            clusters,
            clickhouse: self.clickhouse.clone(),
            secure: self.secure.clone(),
            discovery: Arc::new(reports),
            limits: self.limits.clone(),
            settings: self.settings.clone(),
            scrape_interval_ms: self.scrape_interval_ms,
        }
    }

    /// `secureJsonData[key]` (discovery sources' own secrets: `discoverySources.<name>.<secret>`).
    pub fn secret(&self, key: &str) -> Option<Secret> {
        self.secure.get(key)
    }

    /// The scrape interval a metrics query over `targets` is resolved for: the
    /// largest of theirs, so one step suits every cluster and their series line up.
    pub fn scrape_interval_for(&self, targets: &[Arc<Cluster>]) -> i64 {
        targets
            .iter()
            .filter_map(|c| c.prometheus.as_ref())
            .map(|p| p.scrape_interval_ms.unwrap_or(self.scrape_interval_ms))
            .max()
            .unwrap_or(self.scrape_interval_ms)
    }

    pub fn clusters(&self) -> &[Arc<Cluster>] {
        &self.clusters
    }

    /// The same registry with only the clusters `keep` accepts (a `serve`
    /// token restricted to some clusters sees nothing else, not even in lists).
    pub fn restricted(&self, keep: impl Fn(&Cluster) -> bool) -> Registry {
        let clusters: Vec<Arc<Cluster>> = self.clusters.iter().filter(|c| keep(c)).cloned().collect();
        let mut settings = self.settings.clone();
        settings.clusters.retain(|c| clusters.iter().any(|k| k.id.as_str() == c.id));
        // The sources as this view sees them: its own clusters, no other cluster's ids.
        let discovery = self
            .discovery
            .iter()
            .map(|s| sources::SourceReport {
                clusters: clusters.iter().filter(|c| c.source == s.name).count(),
                cluster_errors: Vec::new(),
                ..s.clone()
            })
            .collect();
        Registry {
            clusters,
            clickhouse: self.clickhouse.clone(),
            secure: self.secure.clone(),
            discovery: Arc::new(discovery),
            limits: self.limits.clone(),
            settings,
            scrape_interval_ms: self.scrape_interval_ms,
        }
    }

    /// The ClickHouse stores (`jsonData.clickhouse`).
    pub fn clickhouse_stores(&self) -> &[Arc<ClickhouseStore>] {
        &self.clickhouse
    }

    pub fn clickhouse_store(&self, id: &str) -> Option<&Arc<ClickhouseStore>> {
        self.clickhouse.iter().find(|s| s.id == id)
    }

    pub fn get(&self, id: &str) -> Option<&Arc<Cluster>> {
        self.clusters.iter().find(|c| c.id.as_str() == id)
    }

    /// The clusters a query targets: the named ones (unknown → CLUSTER_NOT_FOUND),
    /// or every enabled, online cluster when none are named.
    pub fn targets(&self, requested: &[String]) -> Result<Vec<Arc<Cluster>>, FleetError> {
        let wants_all = requested.is_empty() || requested.iter().any(|r| r == "$__all" || r == "*" || r == "All");
        if wants_all {
            return Ok(self.clusters.iter().filter(|c| c.in_all()).cloned().collect());
        }
        let mut out: Vec<Arc<Cluster>> = Vec::with_capacity(requested.len());
        let mut missing = Vec::new();
        for r in requested {
            // Accept the display name too: dashboards built from the `cluster` label use it.
            match self.get(r).or_else(|| self.clusters.iter().find(|c| &c.name == r)) {
                Some(c) if !out.iter().any(|o| o.id == c.id) => out.push(c.clone()),
                Some(_) => {}
                None => missing.push(r.as_str()),
            }
        }
        if !missing.is_empty() {
            return Err(FleetError::new(ErrorCode::ClusterNotFound, format!("cluster(s) not in the registry: {}", missing.join(", "))));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
