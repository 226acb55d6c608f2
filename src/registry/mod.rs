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

pub mod settings;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::error::{ErrorCode, FleetError};
use settings::{ClickhouseStoreSettings, ClusterSettings, EndpointSettings, KubernetesSettings, ServicePort, ServiceRef, Via};
pub use settings::{ConfigFile, JsonData, PrometheusKind};

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

/// A secret value from `secureJsonData` or a discovery source. Debug/Display never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether a presented value is this secret, compared in constant time.
    pub fn matches(&self, presented: &[u8]) -> bool {
        same_bytes(self.0.as_bytes(), presented)
    }
}

/// `a == b` in time that depends on the lengths only, never on where the bytes
/// differ (secrets, token digests).
pub fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for (i, x) in a.iter().enumerate() {
        diff |= usize::from(x ^ b.get(i).copied().unwrap_or(0));
    }
    diff == 0
}

/// `secureJsonData` as the registry keeps it (discovered clusters resolve their
/// secrets later, when they appear). Debug shows the keys only.
#[derive(Clone, Default)]
pub struct SecureMap(Arc<HashMap<String, String>>);

impl fmt::Debug for SecureMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut keys: Vec<&String> = self.0.keys().collect();
        keys.sort();
        f.debug_struct("SecureMap").field("keys", &keys).finish()
    }
}

impl SecureMap {
    pub fn get(&self, key: &str) -> Option<Secret> {
        self.0.get(key).filter(|v| !v.is_empty()).map(|v| Secret(v.clone()))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// A cluster's id as used in queries, secret keys and the `cluster_id` label.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ClusterId(String);

impl ClusterId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClusterId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The upstream kinds a cluster can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Prometheus,
    Loki,
    Tempo,
    Alertmanager,
    Kubernetes,
    /// A long-term metrics store shared by many clusters (`jsonData.clickhouse`).
    Clickhouse,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Prometheus => "prometheus",
            Backend::Loki => "loki",
            Backend::Tempo => "tempo",
            Backend::Alertmanager => "alertmanager",
            Backend::Kubernetes => "kubernetes",
            Backend::Clickhouse => "clickhouse",
        }
    }

    /// The error a query gets for a cluster that lacks this backend.
    pub fn not_available_code(self) -> ErrorCode {
        match self {
            Backend::Prometheus => ErrorCode::PrometheusNotAvailable,
            Backend::Loki => ErrorCode::LokiNotAvailable,
            Backend::Tempo => ErrorCode::TempoNotAvailable,
            Backend::Alertmanager => ErrorCode::AlertmanagerNotAvailable,
            Backend::Kubernetes => ErrorCode::KubernetesNotAvailable,
            Backend::Clickhouse => ErrorCode::ClickhouseNotAvailable,
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Credentials for one endpoint, resolved from `secureJsonData`.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    pub bearer_token: Option<Secret>,
    pub basic_auth: Option<(String, Secret)>,
    pub ca_cert_pem: Option<Secret>,
    pub client_cert_pem: Option<Secret>,
    pub client_key_pem: Option<Secret>,
}

/// One resolved HTTP endpoint.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub backend: Backend,
    pub url: url::Url,
    pub prometheus_kind: PrometheusKind,
    pub tenant: Option<String>,
    pub tls_skip_verify: bool,
    pub tls_server_name: Option<String>,
    pub credentials: Credentials,
    /// Alertmanager HA replicas (same settings, other URLs).
    pub replicas: Vec<Endpoint>,
    /// Prometheus: the cluster's own scrape interval (`timeInterval`), ms.
    pub scrape_interval_ms: Option<i64>,
}

impl Endpoint {
    /// The URL with any user-info removed: safe to show.
    pub fn display_url(&self) -> String {
        let mut u = self.url.clone();
        let _ = u.set_username("");
        let _ = u.set_password(None);
        u.to_string().trim_end_matches('/').to_owned()
    }
}

/// Kubernetes access of a cluster (GPU and CNF probes).
#[derive(Debug, Clone)]
pub struct KubernetesAccess {
    pub server: Option<url::Url>,
    pub gpu_namespace: String,
    pub gpu_daemon_set: String,
    pub gpu_container: Option<String>,
    pub ptp_namespace: String,
    pub sriov_namespace: String,
    pub tls_skip_verify: bool,
    pub credentials: Credentials,
}

/// The `source` of clusters typed into `jsonData.clusters`.
pub const STATIC_SOURCE: &str = "static";
/// The status of a cluster that can be queried; "all" means every enabled
/// cluster with this status (a registry source may report others: `offline`,
/// `maintenance`, …).
pub const ONLINE: &str = "online";

/// One registered cluster.
#[derive(Debug, Clone)]
pub struct Cluster {
    pub id: ClusterId,
    /// Where the cluster came from: [`STATIC_SOURCE`] or a discovery source's name.
    pub source: String,
    /// [`ONLINE`] unless a registry source says otherwise.
    pub status: String,
    /// Id + fingerprint of the endpoints: the key of breakers, slots and cache entries.
    pub state_key: String,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub enabled: bool,
    pub prometheus: Option<Endpoint>,
    pub loki: Option<Endpoint>,
    pub tempo: Option<Endpoint>,
    pub alertmanager: Option<Endpoint>,
    pub kubernetes: Option<KubernetesAccess>,
    /// `secureJsonData.<id>.webhookSecret`: required on alert webhook deliveries.
    pub webhook_secret: Option<Secret>,
    /// Where the cluster's long-term metrics live (`clusters[].clickhouse`).
    pub clickhouse: Option<ClickhouseBinding>,
}

/// A cluster's place in a ClickHouse store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClickhouseBinding {
    /// The store's id (`jsonData.clickhouse[].id`).
    pub store: String,
    /// The cluster attribute's value for this cluster.
    pub cluster_value: String,
}

/// One resolved ClickHouse store. Identifiers (database, tables, attribute) are
/// validated here: they are the only settings that become SQL text.
#[derive(Debug, Clone)]
pub struct ClickhouseStore {
    pub id: String,
    /// The HTTP endpoint (user/password as basic auth, TLS as other endpoints).
    pub endpoint: Endpoint,
    pub database: String,
    pub gauge_table: String,
    pub sum_table: String,
    pub histogram_table: String,
    pub cluster_attribute: String,
    pub max_result_rows: u64,
    pub max_result_bytes: u64,
}

impl Cluster {
    /// The key of this cluster's breakers, slots and cache entries: id plus a
    /// fingerprint of its endpoints (see the module doc).
    pub fn state_key(&self) -> &str {
        &self.state_key
    }

    /// Queried when a query names no clusters ("all").
    pub fn in_all(&self) -> bool {
        self.enabled && self.status == ONLINE
    }

    pub fn endpoint(&self, backend: Backend) -> Option<&Endpoint> {
        match backend {
            Backend::Prometheus => self.prometheus.as_ref(),
            Backend::Loki => self.loki.as_ref(),
            Backend::Tempo => self.tempo.as_ref(),
            Backend::Alertmanager => self.alertmanager.as_ref(),
            Backend::Kubernetes | Backend::Clickhouse => None,
        }
    }

    pub fn backends(&self) -> Vec<Backend> {
        let mut out = Vec::new();
        for b in [Backend::Prometheus, Backend::Loki, Backend::Tempo, Backend::Alertmanager] {
            if self.endpoint(b).is_some() {
                out.push(b);
            }
        }
        if self.kubernetes.is_some() {
            out.push(Backend::Kubernetes);
        }
        if self.clickhouse.is_some() {
            out.push(Backend::Clickhouse);
        }
        out
    }

    /// The public description of a cluster: no credentials, no URL user-info.
    pub fn describe(&self) -> serde_json::Value {
        let mut endpoints = serde_json::Map::new();
        for b in [Backend::Prometheus, Backend::Loki, Backend::Tempo, Backend::Alertmanager] {
            if let Some(ep) = self.endpoint(b) {
                let mut o = serde_json::json!({ "url": ep.display_url() });
                if b == Backend::Prometheus {
                    o["kind"] = serde_json::json!(ep.prometheus_kind);
                }
                if let Some(t) = &ep.tenant {
                    o["tenant"] = serde_json::json!(t);
                }
                endpoints.insert(b.as_str().to_owned(), o);
            }
        }
        if let Some(ch) = &self.clickhouse {
            endpoints.insert("clickhouse".into(), serde_json::json!({ "store": ch.store, "clusterValue": ch.cluster_value }));
        }
        if let Some(k) = &self.kubernetes {
            endpoints.insert(
                "kubernetes".into(),
                serde_json::json!({
                    "server": k.server.as_ref().map(|u| u.to_string()),
                    "gpuNamespace": k.gpu_namespace,
                    "gpuDaemonSet": k.gpu_daemon_set,
                    "ptpNamespace": k.ptp_namespace,
                    "sriovNamespace": k.sriov_namespace,
                }),
            );
        }
        serde_json::json!({
            "id": self.id,
            "name": self.name,
            "labels": self.labels,
            "enabled": self.enabled,
            "source": self.source,
            "status": self.status,
            "backends": self.backends(),
            "endpoints": endpoints,
        })
    }
}

/// Fan-out limits derived from `jsonData.query`.
#[derive(Debug, Clone)]
pub struct QueryLimits {
    pub timeout: Duration,
    pub max_timeout: Duration,
    pub max_parallel: usize,
    /// `maxParallelPerCluster`, never above `max_parallel`.
    pub max_parallel_per_cluster: usize,
    pub retry_attempts: u32,
    pub retry_delay: Duration,
    pub max_response_bytes: usize,
}

/// The registry of one datasource instance.
#[derive(Debug, Clone)]
pub struct Registry {
    clusters: Vec<Arc<Cluster>>,
    clickhouse: Vec<Arc<ClickhouseStore>>,
    /// `secureJsonData`, for clusters discovery finds later.
    secure: SecureMap,
    /// The discovery sources' states as of this registry (empty without discovery).
    pub discovery: Arc<Vec<crate::discovery::SourceReport>>,
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
            crate::discovery::validate_source(&format!("jsonData.discovery[{i}]"), d)?;
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
    pub fn with_discovered(&self, discovered: Vec<Arc<Cluster>>, reports: Vec<crate::discovery::SourceReport>) -> Registry {
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
            .map(|s| crate::discovery::SourceReport {
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

/// A scrape interval as Grafana writes it (`15s`, `1m`, `1m30s`; a bare
/// number is seconds), between 1 ms and 1 day.
fn time_interval_ms(path: &str, text: &str) -> Result<i64, SettingsError> {
    let t = text.trim();
    let ms = if t.bytes().all(|b| b.is_ascii_digit()) {
        t.parse::<i64>().ok().and_then(|s| s.checked_mul(1000))
    } else {
        crate::model::duration::parse_duration_ms(t)
    };
    match ms {
        Some(ms) if ms > 0 && ms <= 86_400_000 => Ok(ms),
        _ => Err(invalid(path, format!("{text:?} is not a scrape interval like 15s or 1m (between 1ms and 1d)"))),
    }
}

fn valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && id.len() <= 63
        && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_'))
}

/// `secrets(key)`: the value of a `secureJsonData`-style key (`<id>.<backend>.<name>`).
fn resolve_cluster(
    base: &str,
    source: &str,
    c: &ClusterSettings,
    secrets: &dyn Fn(&str) -> Option<Secret>,
    stores: &[Arc<ClickhouseStore>],
) -> Result<Cluster, SettingsError> {
    if !valid_id(&c.id) {
        return Err(invalid(
            format!("{base}.id"),
            format!("{:?} is not a valid cluster id (lower-case letters, digits, '-' and '_', at most 63 characters)", c.id),
        ));
    }
    let id = ClusterId(c.id.clone());
    let kubernetes = match &c.kubernetes {
        None => None,
        Some(k) => Some(resolve_kubernetes(base, &id, k, secrets)?),
    };
    let endpoint = |backend: Backend, s: &Option<EndpointSettings>| -> Result<Option<Endpoint>, SettingsError> {
        let Some(s) = s else { return Ok(None) };
        let path = format!("{base}.{backend}");
        if s.kind.is_some() && backend != Backend::Prometheus {
            return Err(invalid(format!("{path}.kind"), "only the prometheus endpoint has a kind"));
        }
        if !s.replicas.is_empty() && backend != Backend::Alertmanager {
            return Err(invalid(format!("{path}.replicas"), "only the alertmanager endpoint has replicas"));
        }
        let scrape_interval_ms = match s.time_interval.as_deref().filter(|t| !t.trim().is_empty()) {
            None => None,
            Some(_) if backend != Backend::Prometheus => {
                return Err(invalid(format!("{path}.timeInterval"), "only the prometheus endpoint has a scrape interval"));
            }
            Some(t) => Some(time_interval_ms(&format!("{path}.timeInterval"), t)?),
        };
        let (url, credentials, tls_skip_verify) = match s.via {
            Via::Direct => {
                if s.service.is_some() {
                    return Err(invalid(format!("{path}.service"), "only with via: kubernetes"));
                }
                let url = parse_http_url(&format!("{path}.url"), &s.url)?;
                (url, credentials(&id, backend, s.basic_auth_user.as_deref(), secrets, &path)?, s.tls_skip_verify)
            }
            Via::Kubernetes => {
                let k = kubernetes.as_ref().ok_or_else(|| invalid(format!("{path}.via"), "via: kubernetes needs the cluster's kubernetes access"))?;
                let service = s.service.as_ref().ok_or_else(|| invalid(format!("{path}.service"), "required with via: kubernetes"))?;
                for (field, set) in [
                    ("url", !s.url.trim().is_empty()),
                    ("basicAuthUser", s.basic_auth_user.is_some()),
                    ("tlsServerName", s.tls_server_name.is_some()),
                ] {
                    if set {
                        return Err(invalid(format!("{path}.{field}"), "not with via: kubernetes (the cluster's API server is the endpoint)"));
                    }
                }
                (service_proxy_url(&format!("{path}.service"), k, service)?, k.credentials.clone(), k.tls_skip_verify)
            }
        };
        let primary = Endpoint {
            backend,
            url,
            prometheus_kind: s.kind.unwrap_or_default(),
            tenant: s.tenant.clone().filter(|t| !t.is_empty()),
            tls_skip_verify,
            tls_server_name: s.tls_server_name.clone().filter(|t| !t.is_empty()),
            credentials,
            replicas: Vec::new(),
            scrape_interval_ms,
        };
        let mut replicas = Vec::with_capacity(s.replicas.len());
        if s.via == Via::Kubernetes && !s.replicas.is_empty() {
            return Err(invalid(format!("{path}.replicas"), "not with via: kubernetes (the Service balances its replicas)"));
        }
        for (j, r) in s.replicas.iter().enumerate() {
            replicas.push(Endpoint { url: parse_http_url(&format!("{path}.replicas[{j}]"), r)?, ..primary.clone() });
        }
        Ok(Some(Endpoint { replicas, ..primary }))
    };
    let clickhouse = match &c.clickhouse {
        None => None,
        Some(ch) => {
            let store = match ch.store.as_deref().filter(|s| !s.is_empty()) {
                Some(s) if stores.iter().any(|o| o.id == s) => s.to_owned(),
                Some(s) => return Err(invalid(format!("{base}.clickhouse.store"), format!("no store {s:?} in jsonData.clickhouse"))),
                None if stores.len() == 1 => stores[0].id.clone(),
                None => {
                    return Err(invalid(
                        format!("{base}.clickhouse.store"),
                        format!("required: {} stores are configured in jsonData.clickhouse", stores.len()),
                    ));
                }
            };
            let cluster_value = ch.cluster_value.clone().filter(|v| !v.is_empty()).unwrap_or_else(|| c.id.clone());
            if cluster_value.len() > 1024 || cluster_value.chars().any(char::is_control) {
                return Err(invalid(format!("{base}.clickhouse.clusterValue"), "at most 1024 characters, no control characters"));
            }
            Some(ClickhouseBinding { store, cluster_value })
        }
    };
    for key in c.labels.keys() {
        if !valid_label_name(key) {
            return Err(invalid(format!("{base}.labels"), format!("{key:?} is not a label name ([A-Za-z_][A-Za-z0-9_./-]*)")));
        }
    }
    let mut cluster = Cluster {
        name: c.name.clone().filter(|n| !n.trim().is_empty()).unwrap_or_else(|| c.id.clone()),
        labels: c.labels.clone(),
        enabled: c.enabled,
        source: source.to_owned(),
        status: ONLINE.to_owned(),
        state_key: String::new(),
        prometheus: endpoint(Backend::Prometheus, &c.prometheus)?,
        loki: endpoint(Backend::Loki, &c.loki)?,
        tempo: endpoint(Backend::Tempo, &c.tempo)?,
        alertmanager: endpoint(Backend::Alertmanager, &c.alertmanager)?,
        kubernetes,
        webhook_secret: secret(secrets, &id, Backend::Alertmanager, "webhookSecret"),
        clickhouse,
        id,
    };
    cluster.state_key = format!("{}@{:012x}", cluster.id, fingerprint(&cluster) & 0xffff_ffff_ffff);
    Ok(cluster)
}

/// Label names of clusters (matched by `clusterSelector`): Prometheus' label
/// names plus `.`, `/` and `-`, as Kubernetes labels have them.
fn valid_label_name(k: &str) -> bool {
    let mut chars = k.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-'))
        && k.len() <= 317
}

/// A stable hash of where a cluster's backends are (URLs, kinds, tenants, the
/// Kubernetes server and namespaces, the ClickHouse binding) — never of its
/// credentials or labels. Stable across processes (Redis cache keys use it).
fn fingerprint(c: &Cluster) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for b in [Backend::Prometheus, Backend::Loki, Backend::Tempo, Backend::Alertmanager] {
        if let Some(ep) = c.endpoint(b) {
            (b.as_str(), ep.url.as_str(), ep.prometheus_kind as u8, &ep.tenant, &ep.tls_server_name).hash(&mut h);
            for r in &ep.replicas {
                r.url.as_str().hash(&mut h);
            }
        }
    }
    if let Some(k) = &c.kubernetes {
        (k.server.as_ref().map(url::Url::as_str), &k.gpu_namespace, &k.gpu_daemon_set, &k.gpu_container, &k.ptp_namespace, &k.sriov_namespace)
            .hash(&mut h);
    }
    if let Some(ch) = &c.clickhouse {
        (&ch.store, &ch.cluster_value).hash(&mut h);
    }
    h.finish()
}

/// Prefix of a ClickHouse store's secrets: `clickhouseStores.<storeId>.<secret>`
/// (upper-case `S`: no cluster id can collide with it).
pub const CLICKHOUSE_SECRET_PREFIX: &str = "clickhouseStores";
const CLICKHOUSE_SECRET_NAMES: &[&str] = &["password", "tlsCACert", "tlsClientCert", "tlsClientKey"];

/// A ClickHouse identifier (database, table, attribute key) as it may appear in
/// SQL text: ASCII letters, digits, `_`, `.` (attribute keys such as
/// `k8s.cluster.uid`) and `-`, 1–128 characters. Tables and databases are
/// additionally quoted with backticks; attribute keys never become SQL text.
pub fn valid_clickhouse_identifier(s: &str, allow_dots: bool) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || (allow_dots && matches!(c, '.' | '-')))
        && !s.starts_with(|c: char| c.is_ascii_digit())
}

fn resolve_clickhouse_store(i: usize, s: &ClickhouseStoreSettings, secure: &HashMap<String, String>) -> Result<ClickhouseStore, SettingsError> {
    let base = format!("jsonData.clickhouse[{i}]");
    if !valid_id(&s.id) {
        return Err(invalid(format!("{base}.id"), format!("{:?} is not a valid store id (lower-case letters, digits, '-' and '_')", s.id)));
    }
    for (field, value) in
        [("database", &s.database), ("gaugeTable", &s.gauge_table), ("sumTable", &s.sum_table), ("histogramTable", &s.histogram_table)]
    {
        if !valid_clickhouse_identifier(value, false) {
            return Err(invalid(
                format!("{base}.{field}"),
                format!("{value:?} is not a plain identifier (letters, digits, '_'; not starting with a digit)"),
            ));
        }
    }
    if !valid_clickhouse_identifier(&s.cluster_attribute, true) {
        return Err(invalid(
            format!("{base}.clusterAttribute"),
            format!("{:?} is not an attribute key (letters, digits, '_', '.', '-')", s.cluster_attribute),
        ));
    }
    if s.max_result_rows == 0 || s.max_result_bytes < 1024 {
        return Err(invalid(format!("{base}.maxResultRows"), "maxResultRows must be at least 1 and maxResultBytes at least 1024"));
    }
    let url = parse_http_url(&format!("{base}.url"), &s.url)?;
    let store_secret =
        |name: &str| secure.get(&format!("{CLICKHOUSE_SECRET_PREFIX}.{}.{name}", s.id)).filter(|v| !v.is_empty()).map(|v| Secret(v.clone()));
    let password = store_secret("password");
    let basic_auth = match s.user.as_deref().filter(|u| !u.is_empty()) {
        Some(u) => Some((u.to_owned(), password.unwrap_or_else(|| Secret(String::new())))),
        None if password.is_some() => {
            return Err(invalid(
                format!("{base}.user"),
                format!("secureJsonData has {CLICKHOUSE_SECRET_PREFIX}.{}.password but no user is set", s.id),
            ));
        }
        None => None,
    };
    let credentials = Credentials {
        bearer_token: None,
        basic_auth,
        ca_cert_pem: store_secret("tlsCACert"),
        client_cert_pem: store_secret("tlsClientCert"),
        client_key_pem: store_secret("tlsClientKey"),
    };
    if credentials.client_cert_pem.is_some() != credentials.client_key_pem.is_some() {
        return Err(invalid(&base, "tlsClientCert and tlsClientKey must be set together in secureJsonData"));
    }
    Ok(ClickhouseStore {
        id: s.id.clone(),
        endpoint: Endpoint {
            backend: Backend::Clickhouse,
            url,
            prometheus_kind: PrometheusKind::default(),
            tenant: None,
            tls_skip_verify: s.tls_skip_verify,
            tls_server_name: s.tls_server_name.clone().filter(|t| !t.is_empty()),
            credentials,
            replicas: Vec::new(),
            scrape_interval_ms: None,
        },
        database: s.database.clone(),
        gauge_table: s.gauge_table.clone(),
        sum_table: s.sum_table.clone(),
        histogram_table: s.histogram_table.clone(),
        cluster_attribute: s.cluster_attribute.clone(),
        max_result_rows: s.max_result_rows,
        max_result_bytes: s.max_result_bytes,
    })
}

fn resolve_kubernetes(
    base: &str,
    id: &ClusterId,
    k: &KubernetesSettings,
    secrets: &dyn Fn(&str) -> Option<Secret>,
) -> Result<KubernetesAccess, SettingsError> {
    let path = format!("{base}.kubernetes");
    let server = match k.server.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(parse_http_url(&format!("{path}.server"), s)?),
        None => None,
    };
    Ok(KubernetesAccess {
        server,
        gpu_namespace: k.gpu_namespace.clone(),
        gpu_daemon_set: k.gpu_daemon_set.clone(),
        gpu_container: k.gpu_container.clone(),
        ptp_namespace: k.ptp_namespace.clone(),
        sriov_namespace: k.sriov_namespace.clone(),
        tls_skip_verify: k.tls_skip_verify,
        credentials: credentials(id, Backend::Kubernetes, None, secrets, &path)?,
    })
}

/// The API server's service-proxy URL of `service` (a base for the backend's API paths).
fn service_proxy_url(path: &str, k: &KubernetesAccess, service: &ServiceRef) -> Result<url::Url, SettingsError> {
    let server = k
        .server
        .as_ref()
        .ok_or_else(|| invalid(path, "via: kubernetes needs clusters[].kubernetes.server (the in-cluster config has no URL to proxy through)"))?;
    let dns_label = |v: &str| {
        !v.is_empty() && v.len() <= 63 && v.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') && !v.starts_with('-')
    };
    if !dns_label(&service.namespace) {
        return Err(invalid(format!("{path}.namespace"), format!("{:?} is not a namespace name", service.namespace)));
    }
    if !dns_label(&service.name) {
        return Err(invalid(format!("{path}.name"), format!("{:?} is not a Service name", service.name)));
    }
    let port = match &service.port {
        ServicePort::Number(0) => return Err(invalid(format!("{path}.port"), "must be 1-65535")),
        ServicePort::Number(n) => n.to_string(),
        ServicePort::Name(n) if dns_label(n) => n.clone(),
        ServicePort::Name(n) => return Err(invalid(format!("{path}.port"), format!("{n:?} is not a port number or name"))),
    };
    let scheme = match service.scheme.as_deref().unwrap_or("http") {
        s @ ("http" | "https") => s,
        other => return Err(invalid(format!("{path}.scheme"), format!("{other:?} is not http or https"))),
    };
    let mut url = server.clone();
    let mut segments = url.path_segments_mut().map_err(|()| invalid(path, "kubernetes.server cannot carry a path"))?;
    segments.pop_if_empty().extend([
        "api",
        "v1",
        "namespaces",
        &service.namespace,
        "services",
        &format!("{scheme}:{}:{port}", service.name),
        "proxy",
    ]);
    for p in service.path.as_deref().unwrap_or("").split('/').filter(|p| !p.is_empty()) {
        if p == ".." || p == "." {
            return Err(invalid(format!("{path}.path"), "may not climb (`..`)"));
        }
        segments.push(p);
    }
    drop(segments);
    Ok(url)
}

fn parse_http_url(path: &str, raw: &str) -> Result<url::Url, SettingsError> {
    let url = url::Url::parse(raw.trim()).map_err(|e| invalid(path, format!("not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(path, format!("scheme must be http or https, got {:?}", url.scheme())));
    }
    if url.host_str().is_none() {
        return Err(invalid(path, "URL has no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(path, "URL must not have a query string or fragment"));
    }
    Ok(url)
}

/// The secret names a cluster may carry in `secureJsonData`.
/// `secureJsonData` key prefix of `serve` bearer tokens: `serveToken.<name>`.
pub const SERVE_TOKEN_PREFIX: &str = "serveToken.";

const SECRET_NAMES: &[&str] = &["bearerToken", "basicAuthPassword", "tlsCACert", "tlsClientCert", "tlsClientKey", "webhookSecret"];

fn secret(secrets: &dyn Fn(&str) -> Option<Secret>, id: &ClusterId, backend: Backend, name: &str) -> Option<Secret> {
    secrets(&format!("{id}.{backend}.{name}")).or_else(|| secrets(&format!("{id}.{name}"))).filter(|v| !v.0.is_empty())
}

fn credentials(
    id: &ClusterId,
    backend: Backend,
    basic_user: Option<&str>,
    secure: &dyn Fn(&str) -> Option<Secret>,
    path: &str,
) -> Result<Credentials, SettingsError> {
    let password = secret(secure, id, backend, "basicAuthPassword");
    let basic_auth = match (basic_user.filter(|u| !u.is_empty()), password) {
        (Some(u), Some(p)) => Some((u.to_owned(), p)),
        (Some(_), None) => {
            return Err(invalid(
                format!("{path}.basicAuthUser"),
                format!("set, but secureJsonData has no {id}.{backend}.basicAuthPassword or {id}.basicAuthPassword"),
            ));
        }
        (None, _) => None,
    };
    let creds = Credentials {
        bearer_token: secret(secure, id, backend, "bearerToken"),
        basic_auth,
        ca_cert_pem: secret(secure, id, backend, "tlsCACert"),
        client_cert_pem: secret(secure, id, backend, "tlsClientCert"),
        client_key_pem: secret(secure, id, backend, "tlsClientKey"),
    };
    if creds.client_cert_pem.is_some() != creds.client_key_pem.is_some() {
        return Err(invalid(path, "tlsClientCert and tlsClientKey must be set together in secureJsonData"));
    }
    Ok(creds)
}

/// Reject secret keys that match no cluster/backend/secret name: a typo there
/// would otherwise silently send requests without credentials. Only the key is
/// named in the error, never the value.
fn check_secret_keys(
    clusters: &[Arc<Cluster>],
    data: &JsonData,
    stores: &[Arc<ClickhouseStore>],
    secure: &HashMap<String, String>,
) -> Result<(), SettingsError> {
    let serve = &data.serve;
    for key in secure.keys() {
        // `discoverySources.<source>.<secret>`: a discovery source's own credentials.
        if let Some(rest) = key.strip_prefix(crate::discovery::SECRET_PREFIX) {
            let (source, name) = rest.rsplit_once('.').unwrap_or(("", rest));
            if !data.discovery.iter().any(|d| d.name == source) {
                return Err(invalid(format!("secureJsonData.{key}"), format!("no discovery source named {source:?} in jsonData.discovery")));
            }
            if !crate::discovery::SOURCE_SECRET_NAMES.contains(&name) {
                return Err(invalid(
                    format!("secureJsonData.{key}"),
                    format!("unknown secret {name:?} (expected one of {})", crate::discovery::SOURCE_SECRET_NAMES.join(", ")),
                ));
            }
            continue;
        }
        // `serveToken.<name>`: a `serve` bearer token (not a cluster id: those are lower-case).
        if let Some(name) = key.strip_prefix(SERVE_TOKEN_PREFIX) {
            if !serve.tokens.iter().any(|t| t.name == name) {
                return Err(invalid(format!("secureJsonData.{key}"), format!("no token named {name:?} in jsonData.serve.tokens")));
            }
            continue;
        }
        if let Some(rest) = key.strip_prefix(CLICKHOUSE_SECRET_PREFIX).and_then(|r| r.strip_prefix('.')) {
            let (store, name) = rest.rsplit_once('.').unwrap_or(("", rest));
            if !stores.iter().any(|s| s.id == store) {
                return Err(invalid(format!("secureJsonData.{key}"), format!("no ClickHouse store with id {store:?} in jsonData.clickhouse")));
            }
            if !CLICKHOUSE_SECRET_NAMES.contains(&name) {
                return Err(invalid(
                    format!("secureJsonData.{key}"),
                    format!("unknown secret {name:?} (expected one of {})", CLICKHOUSE_SECRET_NAMES.join(", ")),
                ));
            }
            continue;
        }
        let parts: Vec<&str> = key.split('.').collect();
        let (cid, backend, name) = match parts.as_slice() {
            [c, n] => (*c, None, *n),
            [c, b, n] => (*c, Some(*b), *n),
            _ => {
                return Err(invalid(format!("secureJsonData.{key}"), "expected <clusterId>.<secret> or <clusterId>.<backend>.<secret>"));
            }
        };
        // With discovery, a secret may be for a cluster a source has not found (yet).
        if !clusters.iter().any(|c| c.id.as_str() == cid) && data.discovery.is_empty() {
            return Err(invalid(format!("secureJsonData.{key}"), format!("no cluster with id {cid:?}")));
        }
        if let Some(b) = backend
            && !["prometheus", "loki", "tempo", "alertmanager", "kubernetes"].contains(&b)
        {
            return Err(invalid(format!("secureJsonData.{key}"), format!("unknown backend {b:?}")));
        }
        if !SECRET_NAMES.contains(&name) {
            return Err(invalid(format!("secureJsonData.{key}"), format!("unknown secret {name:?} (expected one of {})", SECRET_NAMES.join(", "))));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
