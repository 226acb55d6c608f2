//! The query model: the JSON in `DataQuery.json`, parsed once into one enum.
//!
//! Every face (QueryData, the HTTP API, the CLI, alert rules) builds a
//! [`QueryRequest`] from here; nothing downstream looks at raw query JSON.
//! docs/query-model.md is the user-facing description of these structs.

pub mod alerts;
pub mod clickhouse;
pub mod cnf;
pub mod gpu;
pub mod logql;
pub mod logs;
pub mod macos;
pub mod metrics;
pub mod names;
pub mod selector;
pub mod sql_macros;
pub mod traceql;
pub mod traces;

use serde::Deserialize;

use crate::error::{ErrorCode, FleetError};
pub use logs::LogsQuery;
pub use metrics::MetricsQuery;
pub use traces::TracesQuery;

/// Why a query cannot run. Always names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("malformed query JSON: {0}")]
    Json(String),
    #[error("unknown queryType {0:?} (expected one of {names})", names = kind_names().join(", "))]
    UnknownKind(String),
    #[error("queryType {0:?} is not supported by this version of the plugin")]
    Unsupported(String),
    #[error("field `{field}`: {message}")]
    Field { field: &'static str, message: String },
    #[error("invalid PromQL in `expr`: {0}")]
    Promql(String),
    #[error("invalid LogQL in `expr`: {0}")]
    Logql(String),
    #[error("invalid TraceQL in `query`: {0}")]
    Traceql(String),
    #[error("invalid time range: {0}")]
    TimeRange(String),
}

impl From<QueryError> for FleetError {
    fn from(e: QueryError) -> Self {
        let code = match e {
            QueryError::Promql(_) => ErrorCode::InvalidPromql,
            QueryError::Logql(_) => ErrorCode::InvalidLogql,
            QueryError::Traceql(_) => ErrorCode::InvalidTraceql,
            _ => ErrorCode::InvalidQuery,
        };
        FleetError::new(code, e.to_string())
    }
}

/// Grafana's time range, epoch milliseconds, `from <= to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    pub from_ms: i64,
    pub to_ms: i64,
}

/// Latest time we accept (year 3000): beyond this, arithmetic on ns timestamps
/// would overflow i64 and no upstream holds data anyway.
const MAX_TIME_MS: i64 = 32_503_680_000_000;

impl TimeRange {
    pub fn new(from_ms: i64, to_ms: i64) -> Result<Self, QueryError> {
        if from_ms > to_ms {
            return Err(QueryError::TimeRange(format!("from ({from_ms}) is after to ({to_ms})")));
        }
        if from_ms < 0 || to_ms > MAX_TIME_MS {
            return Err(QueryError::TimeRange(format!("[{from_ms}, {to_ms}] ms is outside 1970..3000")));
        }
        Ok(TimeRange { from_ms, to_ms })
    }

    pub fn duration_ms(&self) -> i64 {
        self.to_ms - self.from_ms
    }
}

/// What Grafana sends around the query JSON.
#[derive(Debug, Clone)]
pub struct QueryEnvelope {
    pub ref_id: String,
    pub time_range: TimeRange,
    pub interval_ms: i64,
    pub max_data_points: i64,
}

/// One parsed query, ready to execute.
#[derive(Debug, Clone)]
pub struct QueryRequest {
    pub ref_id: String,
    pub time_range: TimeRange,
    pub interval_ms: i64,
    pub max_data_points: i64,
    /// Cluster ids (or names) to query; empty = all enabled clusters.
    pub clusters: Vec<String>,
    /// `clusterSelector`: only clusters whose labels match (with `clusters`, both apply).
    pub cluster_selector: Option<selector::ClusterSelector>,
    pub kind: QueryKind,
}

impl QueryRequest {
    /// Links to this datasource (derived fields, trace links) use the uid of the
    /// datasource answering (Grafana's PluginContext); the query JSON's
    /// `datasource.uid` only when the context has none.
    pub fn use_datasource_uid(&mut self, context_uid: Option<&str>) {
        let Some(uid) = context_uid.filter(|u| !u.is_empty()) else { return };
        match &mut self.kind {
            QueryKind::Logs(q) => q.datasource_uid = Some(uid.to_owned()),
            QueryKind::Traces(q) => q.datasource_uid = Some(uid.to_owned()),
            QueryKind::Metrics(_) | QueryKind::Clickhouse(_) | QueryKind::Alerts(_) | QueryKind::Gpu(_) | QueryKind::Cnf(_) => {}
        }
    }
}

/// The query kinds (`queryType`).
#[derive(Debug, Clone)]
pub enum QueryKind {
    Metrics(MetricsQuery),
    /// `queryType: metrics` with `source: clickhouse` (the long-term store).
    Clickhouse(clickhouse::ChQuery),
    Logs(LogsQuery),
    Traces(TracesQuery),
    Alerts(alerts::AlertsQuery),
    Gpu(gpu::GpuQuery),
    Cnf(cnf::CnfQuery),
}

/// One `queryType`: the name in the query JSON, what it needs, and its parser.
///
/// [`KINDS`] is the one list of kinds: the parser dispatches on it, the error
/// for an unknown kind names its entries, and the fuzz targets, the dashboard
/// checks and the docs check (`tests/dashboards.rs`) read it. A new kind is a
/// module here plus one entry below.
pub struct KindSpec {
    /// `queryType` as the JSON (and `DataQuery.query_type`) carries it.
    pub name: &'static str,
    /// The field a query of this kind cannot do without (the editor always
    /// writes it); `None` when every field has a default.
    pub required_field: Option<&'static str>,
    /// The heading of its section in docs/query-model.md (`## `name`` …).
    pub summary: &'static str,
    /// Parses the whole query object (the shared fields included).
    pub parse: fn(&[u8], &QueryEnvelope) -> Result<QueryKind, QueryError>,
}

/// Every query kind, in the order the editor and the docs list them.
pub const KINDS: &[KindSpec] = &[
    KindSpec { name: "metrics", required_field: Some("expr"), summary: "PromQL across clusters", parse: parse_metrics },
    KindSpec {
        name: "logs",
        required_field: Some("expr"),
        summary: "LogQL across clusters",
        parse: |json, env| Ok(QueryKind::Logs(LogsQuery::parse(json, env)?)),
    },
    KindSpec {
        name: "traces",
        required_field: Some("query"),
        summary: "TraceQL across every cluster's Tempo",
        parse: |json, env| Ok(QueryKind::Traces(TracesQuery::parse(json, env)?)),
    },
    KindSpec {
        name: "alerts",
        required_field: None,
        summary: "every cluster's Alertmanager",
        parse: |json, env| Ok(QueryKind::Alerts(alerts::AlertsQuery::parse(json, env)?)),
    },
    KindSpec {
        name: "gpu",
        required_field: Some("view"),
        summary: "GPU fleet (nvidia-smi over Kubernetes exec, or DCGM)",
        parse: |json, env| Ok(QueryKind::Gpu(gpu::GpuQuery::parse(json, env)?)),
    },
    KindSpec {
        name: "cnf",
        required_field: Some("cnfView"),
        summary: "telco CNF probes (PTP, SR-IOV, DPDK, workloads)",
        parse: |json, env| Ok(QueryKind::Cnf(cnf::CnfQuery::parse(json, env)?)),
    },
    KindSpec {
        name: "macos",
        required_field: None,
        summary: "Apple-Silicon power",
        parse: |json, env| Ok(QueryKind::Metrics(macos::parse(json, env)?)),
    },
];

/// The kind called `name`, if there is one.
pub fn kind(name: &str) -> Option<&'static KindSpec> {
    KINDS.iter().find(|k| k.name == name)
}

/// The names of every kind, in [`KINDS`] order.
pub fn kind_names() -> Vec<&'static str> {
    KINDS.iter().map(|k| k.name).collect()
}

impl std::fmt::Debug for KindSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KindSpec").field("name", &self.name).finish_non_exhaustive()
    }
}

/// The fields every kind shares; the rest of the object belongs to the kind.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Common {
    #[serde(default)]
    query_type: Option<String>,
    #[serde(default)]
    clusters: Option<ClusterList>,
    #[serde(default)]
    cluster_selector: Option<String>,
}

/// `metrics` from each cluster's Prometheus (`source` empty or `prometheus`) or
/// from the ClickHouse long-term store (`source: clickhouse`).
fn parse_metrics(json: &[u8], env: &QueryEnvelope) -> Result<QueryKind, QueryError> {
    #[derive(Deserialize)]
    struct Source {
        #[serde(default)]
        source: Option<String>,
    }
    let s: Source = serde_json::from_slice(json).map_err(|e| QueryError::Json(e.to_string()))?;
    // A dashboard's `source` variable is replaced by the frontend before the
    // query is sent; one that arrives as `$source` was not (an alert rule, or
    // a client that does not interpolate): say so rather than "not one of".
    match s.source.as_deref().map(|v| v.trim().to_ascii_lowercase()).as_deref().unwrap_or("") {
        "" | "prometheus" => Ok(QueryKind::Metrics(MetricsQuery::parse(json, env)?)),
        "clickhouse" => Ok(QueryKind::Clickhouse(clickhouse::ChQuery::parse(json, env)?)),
        other if other.starts_with('$') => Err(QueryError::Field {
            field: "source",
            message: format!("{other:?} is a template variable that was not replaced; the query needs prometheus or clickhouse"),
        }),
        other => Err(QueryError::Field { field: "source", message: format!("{other:?} is not one of prometheus, clickhouse") }),
    }
}

/// `clusters` as a list, or as one string (a single-value template variable,
/// `a,b`, or Grafana's `{a,b}` multi-value formatting).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum ClusterList {
    List(Vec<String>),
    One(String),
}

impl ClusterList {
    pub(crate) fn into_ids(self) -> Vec<String> {
        let raw = match self {
            ClusterList::List(v) => v,
            ClusterList::One(s) => vec![s],
        };
        raw.iter()
            .flat_map(|s| s.trim().trim_start_matches('{').trim_end_matches('}').split(','))
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    }
}

/// Parse one query. `proto_query_type` is `DataQuery.query_type` (set by some
/// Grafana callers, e.g. alerting); the JSON's `queryType` wins when both exist.
pub fn parse(proto_query_type: &str, json: &[u8], env: QueryEnvelope) -> Result<QueryRequest, QueryError> {
    let json = if json.iter().all(u8::is_ascii_whitespace) { &b"{}"[..] } else { json };
    let common: Common = serde_json::from_slice(json).map_err(|e| QueryError::Json(e.to_string()))?;
    let kind_name = common
        .query_type
        .filter(|k| !k.is_empty())
        .or_else(|| (!proto_query_type.is_empty()).then(|| proto_query_type.to_owned()))
        .unwrap_or_else(|| "metrics".to_owned());
    let spec = kind(&kind_name).ok_or(QueryError::UnknownKind(kind_name))?;
    let kind = (spec.parse)(json, &env)?;
    let cluster_selector = selector::ClusterSelector::parse(common.cluster_selector.as_deref().unwrap_or(""))
        .map_err(|message| QueryError::Field { field: "clusterSelector", message })?;
    Ok(QueryRequest {
        ref_id: env.ref_id,
        time_range: env.time_range,
        interval_ms: env.interval_ms,
        max_data_points: env.max_data_points,
        clusters: common.clusters.map(ClusterList::into_ids).unwrap_or_default(),
        cluster_selector,
        kind,
    })
}

#[cfg(test)]
mod tests;
