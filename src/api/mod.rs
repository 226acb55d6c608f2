//! The HTTP resource API (seed 000 §4): one router behind both CallResource
//! and `gpx_fleetscope serve`. Paths are matched without a leading slash and
//! with or without the `api/v1/` prefix for `clusters` (Grafana sends resource
//! paths relative). Errors are `{"error":{"code","message"}}` with the code's
//! HTTP status; partial results are 206 (PARTIAL_RESULTS).

mod alerts;
mod cluster_metrics;
mod cnf;
mod ds;
mod envelope;
mod gpu;
mod logs;
mod metrics;
mod params;
mod traces;

use bytes::Bytes;
use serde::Serialize;

use crate::error::{ErrorCode, FleetError};
use crate::federation::Federation;
pub use params::{Params, parse_time_ms};

/// RFC 3339 or Unix seconds → epoch ms (for the CLI).
pub fn parse_time(v: &str) -> Result<i64, FleetError> {
    parse_time_ms("time", v)
}

/// Largest request body accepted (queries, webhook payloads).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

#[derive(Debug, Clone)]
pub struct ApiRequest {
    pub method: String,
    pub path: String,
    pub params: Params,
    pub body: Bytes,
    /// Request headers (lower-cased names); only the webhook receiver reads them.
    pub headers: Vec<(String, String)>,
}

impl ApiRequest {
    pub fn new(method: &str, path: &str, query: &str, body: Bytes) -> Self {
        ApiRequest {
            method: method.to_ascii_uppercase(),
            path: path.trim_matches('/').to_owned(),
            params: Params::parse(query),
            body,
            headers: Vec::new(),
        }
    }

    /// Attach request headers (names are matched case-insensitively).
    pub fn with_headers<K: AsRef<str>, V: AsRef<str>>(mut self, headers: impl IntoIterator<Item = (K, V)>) -> Self {
        self.headers = headers.into_iter().map(|(k, v)| (k.as_ref().to_ascii_lowercase(), v.as_ref().to_owned())).collect();
        self
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone)]
pub struct ApiResponse {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

impl ApiResponse {
    pub fn json(status: u16, value: &impl Serialize) -> Self {
        match serde_json::to_vec(value) {
            Ok(body) => ApiResponse { status, content_type: "application/json", body },
            Err(e) => ApiResponse::error(&FleetError::internal(format!("cannot serialise response: {e}"))),
        }
    }

    pub fn error(e: &FleetError) -> Self {
        ApiResponse { status: e.code.http_status(), content_type: "application/json", body: serde_json::to_vec(&e.to_json()).unwrap_or_default() }
    }
}

/// Route one request.
pub async fn handle(fed: &Federation, req: ApiRequest) -> ApiResponse {
    if req.body.len() > MAX_BODY_BYTES {
        return ApiResponse::error(&FleetError::new(
            ErrorCode::PayloadTooLarge,
            format!("request body is {} bytes; the limit is {MAX_BODY_BYTES}", req.body.len()),
        ));
    }
    // One deadline per call from here (the `serve` API); inside CallResource
    // the earlier one set at arrival, with Grafana's gRPC deadline, applies.
    let deadline = crate::deadline::Deadline::new(tokio::time::Instant::now(), fed.registry.limits.timeout, None);
    match crate::deadline::scope(deadline, route(fed, &req)).await {
        Ok(r) => r,
        Err(e) => ApiResponse::error(&e),
    }
}

async fn route(fed: &Federation, req: &ApiRequest) -> Result<ApiResponse, FleetError> {
    let path = req.path.strip_prefix("api/v1/").unwrap_or(&req.path);
    let segments: Vec<&str> = path.split('/').collect();
    let method = req.method.as_str();
    match (method, segments.as_slice()) {
        ("GET", ["clusters"]) => clusters(fed, req),
        (_, ["clusters"]) => Err(method_not_allowed(method, &req.path)),
        (_, ["metrics", ..]) => metrics::route(fed, req, &segments[1..]).await,
        (_, ["cluster-metrics", ..]) => cluster_metrics::route(fed, req, &segments[1..]).await,
        (_, ["alerts", ..]) => alerts::route(fed, req, &segments[1..]).await,
        (_, ["traces", ..]) => traces::route(fed, req, &segments[1..]).await,
        (_, ["logs", ..]) => logs::route(fed, req, &segments[1..]).await,
        (_, ["gpu", ..]) => gpu::route(fed, req, &segments[1..]).await,
        (_, ["cnf", ..]) => cnf::route(fed, req, &segments[1..]).await,
        ("POST", ["ds", "query"]) => ds::query(fed, req).await,
        (_, ["ds", "query"]) => Err(method_not_allowed(method, &req.path)),
        _ => Err(FleetError::new(ErrorCode::NotFound, format!("no resource at {:?}", req.path))),
    }
}

fn method_not_allowed(method: &str, path: &str) -> FleetError {
    FleetError::new(ErrorCode::MethodNotAllowed, format!("{method} is not allowed on {path:?}"))
}

/// `GET /api/v1/clusters[?selector=…]`: the registry without secrets (each
/// cluster with its `source` and `status`), only the clusters matching a
/// `clusterSelector` when one is given, and the discovery sources' states.
fn clusters(fed: &Federation, req: &ApiRequest) -> Result<ApiResponse, FleetError> {
    let selector = crate::query::selector::ClusterSelector::parse(req.params.get("selector").unwrap_or(""))
        .map_err(|e| FleetError::new(ErrorCode::InvalidQuery, format!("selector: {e}")))?;
    let sources = &fed.registry.discovery;
    let list: Vec<serde_json::Value> = fed
        .registry
        .clusters()
        .iter()
        .filter(|c| selector.as_ref().is_none_or(|s| s.matches(c)))
        .map(|c| {
            let mut d = c.describe();
            // A discovered cluster is as fresh as its source's last good look.
            d["lastRefresh"] = serde_json::json!(sources.iter().find(|s| s.name == c.source).and_then(|s| s.last_refresh.clone()));
            d
        })
        .collect();
    let body = serde_json::json!({ "clusters": list, "total": list.len(), "sources": *fed.registry.discovery });
    Ok(ApiResponse::json(200, &body))
}
