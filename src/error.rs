//! The error vocabulary every face of the plugin speaks.
//!
//! Codes come from the Observability Collector spec (seed 000, §11) plus the few
//! this plugin needs beyond it (`INVALID_QUERY`, `INVALID_SETTINGS`, …). Each code
//! maps, in exactly one place, to an HTTP status (resource API, `DataResponse.status`)
//! and to who is at fault (plugin vs downstream). Per-layer errors
//! ([`crate::upstream::UpstreamError`], [`crate::registry::SettingsError`],
//! [`crate::query::QueryError`]) convert into [`FleetError`] at the edges.

use std::fmt;

use serde::Serialize;

/// A machine-readable error code, serialised in SCREAMING_SNAKE_CASE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    ClusterNotFound,
    ClusterUnreachable,
    QueryTimeout,
    InvalidPromql,
    InvalidLogql,
    InvalidTraceql,
    PartialResults,
    NoGpuNodes,
    TempoNotAvailable,
    LokiNotAvailable,
    PrometheusNotAvailable,
    AlertmanagerNotAvailable,
    KubernetesNotAvailable,
    /// The cluster has no ClickHouse store (`clusters[].clickhouse`).
    ClickhouseNotAvailable,
    /// The query JSON itself is malformed or names an unknown field/kind.
    InvalidQuery,
    /// The datasource settings (jsonData/secureJsonData/YAML) are malformed.
    InvalidSettings,
    /// The upstream answered, but not with something usable (non-2xx, bad body).
    UpstreamError,
    /// The upstream body exceeded `query.maxResponseBytes`.
    ResponseTooLarge,
    /// The cluster's circuit breaker is open: skipped without a request.
    CircuitOpen,
    NotFound,
    MethodNotAllowed,
    PayloadTooLarge,
    Unauthorized,
    /// Authenticated, but the credential lacks the scope or cluster (`serve` auth).
    Forbidden,
    /// Not ready to answer (`serve`'s `/readyz`: no cluster answers, or shutting down).
    NotReady,
    Internal,
}

impl ErrorCode {
    /// The HTTP status the seed assigns (or the natural one for our additions).
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::ClusterNotFound | ErrorCode::NoGpuNodes | ErrorCode::NotFound => 404,
            ErrorCode::ClusterUnreachable
            | ErrorCode::TempoNotAvailable
            | ErrorCode::LokiNotAvailable
            | ErrorCode::PrometheusNotAvailable
            | ErrorCode::AlertmanagerNotAvailable
            | ErrorCode::KubernetesNotAvailable
            | ErrorCode::ClickhouseNotAvailable
            | ErrorCode::CircuitOpen => 503,
            ErrorCode::QueryTimeout => 504,
            ErrorCode::InvalidPromql | ErrorCode::InvalidLogql | ErrorCode::InvalidTraceql | ErrorCode::InvalidQuery | ErrorCode::InvalidSettings => {
                400
            }
            ErrorCode::PartialResults => 206,
            ErrorCode::UpstreamError | ErrorCode::ResponseTooLarge => 502,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::Unauthorized => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotReady => 503,
            ErrorCode::Internal => 500,
        }
    }

    /// True when the fault lies with an upstream (Grafana's "downstream" error source).
    pub fn is_downstream(self) -> bool {
        matches!(
            self,
            ErrorCode::ClusterUnreachable
                | ErrorCode::QueryTimeout
                | ErrorCode::UpstreamError
                | ErrorCode::ResponseTooLarge
                | ErrorCode::CircuitOpen
                | ErrorCode::PartialResults
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::ClusterNotFound => "CLUSTER_NOT_FOUND",
            ErrorCode::ClusterUnreachable => "CLUSTER_UNREACHABLE",
            ErrorCode::QueryTimeout => "QUERY_TIMEOUT",
            ErrorCode::InvalidPromql => "INVALID_PROMQL",
            ErrorCode::InvalidLogql => "INVALID_LOGQL",
            ErrorCode::InvalidTraceql => "INVALID_TRACEQL",
            ErrorCode::PartialResults => "PARTIAL_RESULTS",
            ErrorCode::NoGpuNodes => "NO_GPU_NODES",
            ErrorCode::TempoNotAvailable => "TEMPO_NOT_AVAILABLE",
            ErrorCode::LokiNotAvailable => "LOKI_NOT_AVAILABLE",
            ErrorCode::PrometheusNotAvailable => "PROMETHEUS_NOT_AVAILABLE",
            ErrorCode::AlertmanagerNotAvailable => "ALERTMANAGER_NOT_AVAILABLE",
            ErrorCode::KubernetesNotAvailable => "KUBERNETES_NOT_AVAILABLE",
            ErrorCode::ClickhouseNotAvailable => "CLICKHOUSE_NOT_AVAILABLE",
            ErrorCode::InvalidQuery => "INVALID_QUERY",
            ErrorCode::InvalidSettings => "INVALID_SETTINGS",
            ErrorCode::UpstreamError => "UPSTREAM_ERROR",
            ErrorCode::ResponseTooLarge => "RESPONSE_TOO_LARGE",
            ErrorCode::CircuitOpen => "CIRCUIT_OPEN",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            ErrorCode::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            ErrorCode::Unauthorized => "UNAUTHORIZED",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::NotReady => "NOT_READY",
            ErrorCode::Internal => "INTERNAL",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error as the user sees it: a code and a message that names the cluster,
/// backend or field involved. Messages never contain secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct FleetError {
    pub code: ErrorCode,
    pub message: String,
}

impl FleetError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        FleetError { code, message: message.into() }
    }

    pub fn invalid_query(message: impl Into<String>) -> Self {
        FleetError::new(ErrorCode::InvalidQuery, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        FleetError::new(ErrorCode::Internal, message)
    }

    /// The JSON body of an error answer from the resource API.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "error": { "code": self.code, "message": self.message }
        })
    }
}
