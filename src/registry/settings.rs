//! The datasource settings as users write them (`jsonData` + `secureJsonData`).
//!
//! Every struct rejects unknown keys so a typo (`timeoutSecs`) is reported with
//! its path (`query.timeoutSecs`) instead of being silently ignored. The doc
//! comments here are the reference for docs/configuration.md.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

/// `jsonData` of the datasource.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JsonData {
    /// The registered clusters.
    #[serde(default)]
    pub clusters: Vec<ClusterSettings>,
    /// Fan-out limits, timeouts and retries.
    #[serde(default)]
    pub query: QuerySettings,
    /// Cache settings (TTLs per query class; optional Redis).
    #[serde(default)]
    pub cache: CacheSettings,
    /// Regexes that turn values in log lines into links (logs → traces).
    #[serde(default)]
    pub derived_fields: Vec<DerivedFieldSettings>,
    /// Cluster discovery sources (file, registry, kubernetes), merged with
    /// `clusters` into the live cluster set (`crate::discovery`).
    #[serde(default)]
    pub discovery: Vec<DiscoverySourceSettings>,
    /// Span → logs links in the trace view (like Tempo's `tracesToLogsV2`).
    #[serde(default)]
    pub traces_to_logs: Option<TracesToLogsSettings>,
    /// Span → metrics links in the trace view (like Tempo's `tracesToMetrics`).
    #[serde(default)]
    pub traces_to_metrics: Option<TracesToMetricsSettings>,
    /// Alert history store (webhook receiver, `history: true`).
    #[serde(default)]
    pub alerts: AlertsSettings,
    /// Scrape interval of the clusters' Prometheus (`15s`, `1m`; a bare number
    /// is seconds): the minimum step of metrics queries and the base of
    /// `$__rate_interval`, like Grafana's Prometheus "Scrape interval". Default
    /// 15s; a cluster's `prometheus.timeInterval` overrides it.
    #[serde(default)]
    pub time_interval: Option<String>,
    /// Where exemplar trace IDs link, like Grafana's Prometheus
    /// `exemplarTraceIdDestinations`. Empty: `trace_id`, `traceID` and
    /// `traceId` open this datasource's trace view.
    #[serde(default)]
    pub exemplar_trace_id_destinations: Vec<ExemplarTraceIdDestination>,
    /// Access control of `gpx_fleetscope serve` (ignored inside Grafana, which
    /// authenticates its own users).
    #[serde(default)]
    pub serve: ServeSettings,
    /// Long-term metrics stores: ClickHouse servers holding the OpenTelemetry
    /// Collector ClickHouse exporter's metric tables (seed 004).
    #[serde(default)]
    pub clickhouse: Vec<ClickhouseStoreSettings>,
}

/// One `jsonData.exemplarTraceIdDestinations` entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExemplarTraceIdDestination {
    /// The exemplar label holding the trace ID (`trace_id`).
    pub name: String,
    /// A tracing datasource (its TraceQL query gets the trace ID); this
    /// datasource's own uid opens its `traces` view.
    #[serde(default)]
    pub datasource_uid: Option<String>,
    /// An external URL instead (`${__value.raw}` is the trace ID).
    #[serde(default)]
    pub url: Option<String>,
    /// The link's title.
    #[serde(default)]
    pub url_display_label: Option<String>,
}

/// `jsonData.serve`: who may call the standalone API.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServeSettings {
    /// Bearer tokens; each one's value is `secureJsonData["serveToken.<name>"]`.
    #[serde(default)]
    pub tokens: Vec<ServeTokenSettings>,
}

/// One `serve` bearer token (the value itself lives in `secureJsonData`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServeTokenSettings {
    /// Names the token in logs and errors (`[A-Za-z0-9_-]`, unique).
    pub name: String,
    /// `read` (every read endpoint), `webhook` (the alert webhook), `metrics` (`/metrics`).
    pub scopes: Vec<String>,
    /// Cluster ids this token may see (empty with no `clusterSelector`: all).
    #[serde(default)]
    pub clusters: Vec<String>,
    /// A Kubernetes-style label selector over cluster labels (`env=prod,region in (eu,us)`).
    #[serde(default)]
    pub cluster_selector: Option<String>,
}

/// `jsonData.clickhouse[]`: one ClickHouse store (HTTP interface). One store
/// usually serves many clusters; each cluster names it in `clusters[].clickhouse`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClickhouseStoreSettings {
    /// Store id (`[a-z0-9_-]`), referenced by `clusters[].clickhouse.store`.
    pub id: String,
    /// HTTP(S) interface URL, e.g. `https://clickhouse.example:8443`.
    pub url: String,
    /// Database of the exporter's tables (exporter default `otel`).
    #[serde(default = "default_ch_database")]
    pub database: String,
    #[serde(default = "default_gauge_table")]
    pub gauge_table: String,
    #[serde(default = "default_sum_table")]
    pub sum_table: String,
    #[serde(default = "default_histogram_table")]
    pub histogram_table: String,
    /// The attribute (resource attribute first, then point attribute) that holds
    /// the cluster's identifier.
    #[serde(default = "default_cluster_attribute")]
    pub cluster_attribute: String,
    /// ClickHouse user; the password is `secureJsonData["clickhouseStores.<id>.password"]`.
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub tls_skip_verify: bool,
    #[serde(default)]
    pub tls_server_name: Option<String>,
    /// Raw-SQL queries: most rows / bytes a result may have (`max_result_rows`,
    /// `max_result_bytes`, `result_overflow_mode=throw`).
    #[serde(default = "default_max_result_rows")]
    pub max_result_rows: u64,
    #[serde(default = "default_max_result_bytes")]
    pub max_result_bytes: u64,
}

fn default_ch_database() -> String {
    "otel".into()
}
fn default_gauge_table() -> String {
    "otel_metrics_gauge".into()
}
fn default_sum_table() -> String {
    "otel_metrics_sum".into()
}
fn default_histogram_table() -> String {
    "otel_metrics_histogram".into()
}
fn default_cluster_attribute() -> String {
    "cluster_id".into()
}
fn default_max_result_rows() -> u64 {
    1_000_000
}
fn default_max_result_bytes() -> u64 {
    100 * 1024 * 1024
}

/// `clusters[].clickhouse`: where this cluster's long-term metrics live.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterClickhouseSettings {
    /// The store id; may be left out when exactly one store is configured.
    #[serde(default)]
    pub store: Option<String>,
    /// The value of the store's cluster attribute for this cluster (default: the cluster id).
    #[serde(default)]
    pub cluster_value: Option<String>,
}

/// `jsonData.alerts`: where alert history lives and for how long.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlertsSettings {
    /// SQLite file; empty = `<data dir>/fleetscope/alerts-history.sqlite`.
    #[serde(default)]
    pub history_path: Option<String>,
    /// Days of fired/resolved transitions kept (default 30).
    #[serde(default)]
    pub retention_days: Option<u32>,
    /// Redis key prefix when `cache.redisUrl` is set (default `fleetscope:alerts`).
    #[serde(default)]
    pub redis_prefix: Option<String>,
}

impl AlertsSettings {
    pub fn redis_prefix(&self) -> &str {
        self.redis_prefix.as_deref().filter(|p| !p.is_empty()).unwrap_or("fleetscope:alerts")
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterSettings {
    /// Stable id used in queries, secrets and labels (`cluster_id`).
    pub id: String,
    /// Display name (`cluster` label). Defaults to the id.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default = "default_true")]
    pub enabled: bool,
    #[serde(default)]
    pub prometheus: Option<EndpointSettings>,
    #[serde(default)]
    pub loki: Option<EndpointSettings>,
    #[serde(default)]
    pub tempo: Option<EndpointSettings>,
    #[serde(default)]
    pub alertmanager: Option<EndpointSettings>,
    #[serde(default)]
    pub kubernetes: Option<KubernetesSettings>,
    #[serde(default)]
    pub clickhouse: Option<ClusterClickhouseSettings>,
}

/// Which Prometheus-API implementation sits behind the URL.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PrometheusKind {
    #[default]
    Prometheus,
    /// Thanos Querier: queries get `dedup=true` so HA replicas collapse.
    Thanos,
    /// Grafana Mimir: the URL includes `/prometheus`; `tenant` becomes `X-Scope-OrgID`.
    Mimir,
}

/// One HTTP endpoint of a cluster (Prometheus, Loki, Tempo or Alertmanager).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EndpointSettings {
    /// The backend's URL (empty with `via: kubernetes`).
    #[serde(default)]
    pub url: String,
    /// `direct` (default: `url`) or `kubernetes`: through the cluster's API
    /// server's service proxy to `service`, with the cluster's Kubernetes
    /// credentials (`clusters[].kubernetes`).
    #[serde(default)]
    pub via: Via,
    /// With `via: kubernetes`: the Service the API server proxies to.
    #[serde(default)]
    pub service: Option<ServiceRef>,
    /// Prometheus only: `prometheus` (default), `thanos` or `mimir`.
    #[serde(default)]
    pub kind: Option<PrometheusKind>,
    /// Tenant (`X-Scope-OrgID`) for Mimir, Loki and Tempo multi-tenancy.
    #[serde(default)]
    pub tenant: Option<String>,
    /// Basic-auth user; the password is the secret `<id>[.<backend>].basicAuthPassword`.
    #[serde(default)]
    pub basic_auth_user: Option<String>,
    /// Skip TLS verification. Off by default; only for lab clusters.
    #[serde(default)]
    pub tls_skip_verify: bool,
    /// TLS server name to verify instead of the URL's host.
    #[serde(default)]
    pub tls_server_name: Option<String>,
    /// Alertmanager only: more URLs of the same HA Alertmanager cluster; all are
    /// polled and alerts deduplicated by fingerprint. Same auth as `url`.
    #[serde(default)]
    pub replicas: Vec<String>,
    /// Prometheus only: this cluster's scrape interval, overriding
    /// `jsonData.timeInterval`.
    #[serde(default)]
    pub time_interval: Option<String>,
}

/// How an endpoint is reached.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Via {
    #[default]
    Direct,
    Kubernetes,
}

/// A Service behind the Kubernetes API server's proxy
/// (`/api/v1/namespaces/<namespace>/services/<scheme>:<name>:<port>/proxy/<path>`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceRef {
    pub namespace: String,
    pub name: String,
    /// Port number or name.
    pub port: ServicePort,
    /// `http` (default) or `https`: how the API server talks to the Service.
    #[serde(default)]
    pub scheme: Option<String>,
    /// A path prefix below the Service (Mimir's `prometheus`).
    #[serde(default)]
    pub path: Option<String>,
}

/// A Service port: its number or its name.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum ServicePort {
    Number(u16),
    Name(String),
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KubernetesSettings {
    /// API server URL; empty = in-cluster config when Grafana runs in the cluster.
    #[serde(default)]
    pub server: Option<String>,
    #[serde(default = "default_gpu_namespace")]
    pub gpu_namespace: String,
    #[serde(default = "default_gpu_daemonset")]
    pub gpu_daemon_set: String,
    #[serde(default)]
    pub gpu_container: Option<String>,
    #[serde(default = "default_ptp_namespace")]
    pub ptp_namespace: String,
    #[serde(default = "default_sriov_namespace")]
    pub sriov_namespace: String,
    #[serde(default)]
    pub tls_skip_verify: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QuerySettings {
    /// Per-cluster timeout for one request, retries included.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: f64,
    /// Upper bound for any timeout a query may ask for.
    #[serde(default = "default_max_timeout")]
    pub max_timeout_seconds: f64,
    /// Clusters queried at once per datasource instance.
    #[serde(default = "default_max_parallel")]
    pub max_parallel: usize,
    /// Requests in flight at once to one cluster's backend (under `maxParallel`),
    /// so a hung cluster can hold at most this many of the global slots.
    #[serde(default = "default_max_parallel_per_cluster")]
    pub max_parallel_per_cluster: usize,
    /// Attempts in total for idempotent reads (1 = no retry).
    #[serde(default = "default_retry_attempts")]
    pub retry_attempts: u32,
    /// First retry delay; doubles per attempt, with full jitter.
    #[serde(default = "default_retry_delay")]
    pub retry_delay_seconds: f64,
    /// Cap on one upstream response body.
    #[serde(default = "default_max_response_bytes")]
    pub max_response_bytes: usize,
}

impl Default for QuerySettings {
    fn default() -> Self {
        QuerySettings {
            timeout_seconds: default_timeout(),
            max_timeout_seconds: default_max_timeout(),
            max_parallel: default_max_parallel(),
            max_parallel_per_cluster: default_max_parallel_per_cluster(),
            retry_attempts: default_retry_attempts(),
            retry_delay_seconds: default_retry_delay(),
            max_response_bytes: default_max_response_bytes(),
        }
    }
}

/// Cache TTLs per the seed's table (§7.3). Used by the cache layer.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CacheSettings {
    #[serde(default = "default_true")]
    pub enabled: bool,
    #[serde(default)]
    pub redis_url: Option<String>,
    #[serde(default = "ttl_instant")]
    pub instant_ttl_seconds: u64,
    #[serde(default = "ttl_range")]
    pub range_ttl_seconds: u64,
    #[serde(default = "ttl_long_range")]
    pub long_range_ttl_seconds: u64,
    #[serde(default = "ttl_labels")]
    pub labels_ttl_seconds: u64,
    #[serde(default = "ttl_gpu")]
    pub gpu_ttl_seconds: u64,
    #[serde(default = "ttl_alerts")]
    pub alerts_ttl_seconds: u64,
    #[serde(default = "default_cache_bytes")]
    pub max_bytes: u64,
}

impl Default for CacheSettings {
    fn default() -> Self {
        CacheSettings {
            enabled: true,
            redis_url: None,
            instant_ttl_seconds: ttl_instant(),
            range_ttl_seconds: ttl_range(),
            long_range_ttl_seconds: ttl_long_range(),
            labels_ttl_seconds: ttl_labels(),
            gpu_ttl_seconds: ttl_gpu(),
            alerts_ttl_seconds: ttl_alerts(),
            max_bytes: default_cache_bytes(),
        }
    }
}

/// A Loki-style derived field: `matcherRegex`'s first capture group becomes a link.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DerivedFieldSettings {
    pub name: String,
    pub matcher_regex: String,
    /// External URL template (`${__value.raw}`); empty = internal link to this datasource.
    #[serde(default)]
    pub url: Option<String>,
    /// Target datasource for an internal link; empty = this datasource.
    #[serde(default)]
    pub datasource_uid: Option<String>,
}

/// The kinds of `jsonData.discovery[]` sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DiscoveryKind {
    /// A YAML/JSON file of clusters in the `jsonData.clusters` shape, re-read on change.
    File,
    /// An HTTP cluster registry answering the documented JSON list, polled.
    Registry,
    /// Cluster Secrets (Argo CD format) in a management cluster, watched.
    Kubernetes,
}

impl DiscoveryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DiscoveryKind::File => "file",
            DiscoveryKind::Registry => "registry",
            DiscoveryKind::Kubernetes => "kubernetes",
        }
    }
}

/// `jsonData.discovery[]`: one discovery source. Which fields apply depends on
/// `type`; the others are rejected by the registry with their path. Secrets of a
/// source live in `secureJsonData` under `discoverySources.<name>.<secret>`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DiscoverySourceSettings {
    /// `file`, `registry` or `kubernetes`.
    #[serde(rename = "type")]
    pub kind: DiscoveryKind,
    /// Names the source in statuses, errors and secret keys (`[a-z0-9_-]`, unique).
    pub name: String,
    /// file: the path of the YAML/JSON file (a list of clusters, or `{clusters: [...]}`).
    #[serde(default)]
    pub path: Option<String>,
    /// registry: the URL answering the cluster list.
    #[serde(default)]
    pub url: Option<String>,
    /// kubernetes: the management cluster's API server; empty = in-cluster config.
    #[serde(default)]
    pub server: Option<String>,
    /// kubernetes: the namespace holding the cluster Secrets (default `argocd`).
    #[serde(default)]
    pub namespace: Option<String>,
    /// kubernetes: the label selector of the cluster Secrets
    /// (default `argocd.argoproj.io/secret-type=cluster`).
    #[serde(default)]
    pub label_selector: Option<String>,
    /// file and registry: seconds between polls (file default 10, registry 60).
    #[serde(default)]
    pub refresh_seconds: Option<f64>,
    /// registry and kubernetes: skip TLS verification (lab setups only).
    #[serde(default)]
    pub tls_skip_verify: bool,
    /// Labels added to every cluster of this source (the cluster's own win).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// The CLI's `--config` file: the same two maps Grafana provisioning uses.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default)]
    pub json_data: JsonData,
    #[serde(default)]
    pub secure_json_data: HashMap<String, String>,
}

fn default_true() -> bool {
    true
}
fn default_timeout() -> f64 {
    30.0
}
fn default_max_timeout() -> f64 {
    300.0
}
fn default_max_parallel() -> usize {
    10
}
fn default_max_parallel_per_cluster() -> usize {
    4
}
fn default_retry_attempts() -> u32 {
    3
}
fn default_retry_delay() -> f64 {
    1.0
}
fn default_max_response_bytes() -> usize {
    64 * 1024 * 1024
}
fn default_gpu_namespace() -> String {
    "nvidia-gpu-operator".into()
}
fn default_gpu_daemonset() -> String {
    "nvidia-driver-daemonset".into()
}
fn default_ptp_namespace() -> String {
    "openshift-ptp".into()
}
fn default_sriov_namespace() -> String {
    "openshift-sriov-network-operator".into()
}
fn ttl_instant() -> u64 {
    30
}
fn ttl_range() -> u64 {
    60
}
fn ttl_long_range() -> u64 {
    300
}
fn ttl_labels() -> u64 {
    300
}
fn ttl_gpu() -> u64 {
    5
}
fn ttl_alerts() -> u64 {
    10
}
fn default_cache_bytes() -> u64 {
    256 * 1024 * 1024
}

/// An attribute of a span (or its resource) used as a label; `value` renames it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TagMapping {
    pub key: String,
    #[serde(default)]
    pub value: Option<String>,
}

/// `jsonData.tracesToLogs`: which `logs` query a span links to.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TracesToLogsSettings {
    /// Target datasource; empty = this datasource.
    #[serde(default)]
    pub datasource_uid: Option<String>,
    /// Stream selector labels from span/resource attributes (default:
    /// `k8s.namespace.name` → `namespace`).
    #[serde(default)]
    pub tags: Vec<TagMapping>,
    /// Add a `|= "<trace id>"` line filter (default on).
    #[serde(default = "default_true")]
    pub filter_by_trace_id: bool,
    /// Add a `|= "<span id>"` line filter.
    #[serde(default)]
    pub filter_by_span_id: bool,
    /// Window around the span, e.g. `-1m` and `1m` (default none).
    #[serde(default)]
    pub span_start_time_shift: Option<String>,
    #[serde(default)]
    pub span_end_time_shift: Option<String>,
    /// A whole LogQL template instead (`${__span.traceId}`, `${__span.spanId}`,
    /// `${__span.tags["k8s.pod.name"]}`).
    #[serde(default)]
    pub custom_query: Option<String>,
}

/// `jsonData.tracesToMetrics`: PromQL queries a span links to.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TracesToMetricsSettings {
    #[serde(default)]
    pub datasource_uid: Option<String>,
    /// Labels for `$__tags` in the queries.
    #[serde(default)]
    pub tags: Vec<TagMapping>,
    #[serde(default)]
    pub queries: Vec<TraceMetricQuery>,
    #[serde(default)]
    pub span_start_time_shift: Option<String>,
    #[serde(default)]
    pub span_end_time_shift: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TraceMetricQuery {
    pub name: String,
    /// PromQL; `$__tags` becomes the tag matchers.
    pub query: String,
    /// Only for spans of this service (empty = every span).
    #[serde(default)]
    pub service: Option<String>,
}
