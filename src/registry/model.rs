//! What the registry holds: clusters, their backends' endpoints and credentials,
//! ClickHouse stores, fan-out limits, and [`Secret`], which never prints its value.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::PrometheusKind;
use crate::error::ErrorCode;

/// A secret value from `secureJsonData` or a discovery source. Debug/Display never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub(super) String);

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
pub struct SecureMap(pub(super) Arc<HashMap<String, String>>);

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
pub struct ClusterId(pub(super) String);

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

/// A stable hash of where a cluster's backends are (URLs, kinds, tenants, the
/// Kubernetes server and namespaces, the ClickHouse binding) — never of its
/// credentials or labels. Stable across processes (Redis cache keys use it).
pub(super) fn fingerprint(c: &Cluster) -> u64 {
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
