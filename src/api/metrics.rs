//! `/api/v1/metrics/*`: federated PromQL and metadata in the seed's shapes —
//! `results[]` per cluster with `status`, `query_time_ms`, and totals
//! `clusters_queried`, `clusters_succeeded`, `total_query_time_ms`. Query
//! endpoints also answer Grafana data-frame JSON with `"format": "frames"`.

use std::collections::BTreeSet;
use std::time::Instant;

use serde::Deserialize;
use serde_json::{Value, json};

use super::envelope::{self, add_union, seed_response};
use super::params::{parse_step_ms, parse_time_ms};
use super::{ApiRequest, ApiResponse, method_not_allowed};
use crate::error::{ErrorCode, FleetError};
use crate::federation::status::{self, Status};
use crate::federation::{Federation, lookups, metrics};
use crate::frames::prometheus::{self as conv, PromData, ResultType};
use crate::query::metrics::{Aggregate, MetricsParams, MinStep};
use crate::query::names::LabelName;
use crate::query::{MetricsQuery, QueryEnvelope, TimeRange};

pub async fn route(fed: &Federation, req: &ApiRequest, rest: &[&str]) -> Result<ApiResponse, FleetError> {
    let m = req.method.as_str();
    match (m, rest) {
        ("POST" | "GET", ["query"]) => run_query(fed, req, true).await,
        ("POST" | "GET", ["query_range"]) => run_query(fed, req, false).await,
        ("GET" | "POST", ["series"]) => series(fed, req).await,
        ("GET" | "POST", ["labels"]) => labels(fed, req, None).await,
        ("GET", ["label", name, "values"]) => labels(fed, req, Some(name)).await,
        ("GET", ["metadata"]) => metadata(fed, req).await,
        (_, ["query" | "query_range" | "series" | "labels" | "metadata"] | ["label", _, "values"]) => Err(method_not_allowed(m, &req.path)),
        _ => Err(FleetError::new(ErrorCode::NotFound, format!("no resource at {:?}", req.path))),
    }
}

/// The seed's query request body (`POST /api/v1/metrics/query[_range]`; the
/// logs endpoints take it plus `limit` and `direction`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct QueryBody {
    #[serde(default)]
    pub(super) query: Option<String>,
    #[serde(default)]
    pub(super) cluster_ids: Vec<String>,
    #[serde(default)]
    pub(super) time: Option<Value>,
    #[serde(default)]
    pub(super) start_time: Option<Value>,
    #[serde(default)]
    pub(super) end_time: Option<Value>,
    #[serde(default)]
    pub(super) step: Option<Value>,
    #[serde(default)]
    pub(super) aggregate: Option<String>,
    #[serde(default)]
    pub(super) legend_format: Option<String>,
    /// `seed` (default) or `frames`.
    #[serde(default)]
    pub(super) format: Option<String>,
}

pub(super) fn value_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl QueryBody {
    pub(super) fn from_request(req: &ApiRequest) -> Result<Self, FleetError> {
        if req.method == "POST" && !req.body.is_empty() {
            return serde_json::from_slice(&req.body).map_err(|e| FleetError::invalid_query(format!("request body: {e}")));
        }
        let p = &req.params;
        let s = |k: &str| p.get(k).map(|v| Value::String(v.to_owned()));
        Ok(QueryBody {
            query: p.get("query").map(str::to_owned),
            cluster_ids: p.cluster_ids(),
            time: s("time"),
            start_time: s("start_time").or_else(|| s("start")),
            end_time: s("end_time").or_else(|| s("end")),
            step: s("step"),
            aggregate: p.get("aggregate").map(str::to_owned),
            legend_format: p.get("legend_format").map(str::to_owned),
            format: p.get("format").map(str::to_owned),
        })
    }
}

/// `(from, to, step)` in ms of a seed query body: `time` (instant, default
/// now) or `start_time`/`end_time` (default the last hour) and `step` (default 1m).
pub(super) fn query_window(
    instant: bool,
    time: &Option<Value>,
    start_time: &Option<Value>,
    end_time: &Option<Value>,
    step: &Option<Value>,
) -> Result<(i64, i64, i64), FleetError> {
    let now = chrono::Utc::now().timestamp_millis();
    let at = |field: &str, v: &Option<Value>, default: i64| -> Result<i64, FleetError> {
        v.as_ref().map(|v| parse_time_ms(field, &value_str(v))).transpose().map(|t| t.unwrap_or(default))
    };
    if instant {
        let t = at("time", time, now)?;
        return Ok((t, t, 0));
    }
    let end = at("end_time", end_time, now)?;
    let start = at("start_time", start_time, end - 3_600_000)?;
    let step = step.as_ref().map(|s| parse_step_ms("step", &value_str(s))).transpose()?.unwrap_or(60_000);
    Ok((start, end, step))
}

async fn run_query(fed: &Federation, req: &ApiRequest, instant: bool) -> Result<ApiResponse, FleetError> {
    let body = QueryBody::from_request(req)?;
    let (from, to, step_ms) = query_window(instant, &body.time, &body.start_time, &body.end_time, &body.step)?;
    // No panel width here: the caller's step holds up to Prometheus' 11,000 points.
    let env = QueryEnvelope { ref_id: "A".into(), time_range: TimeRange::new(from, to)?, interval_ms: 0, max_data_points: 11_000 };
    let params = MetricsParams {
        expr: body.query.unwrap_or_default(),
        instant,
        min_step: MinStep::from_seconds(step_ms as f64 / 1000.0)?,
        aggregate: Aggregate::parse(body.aggregate.as_deref().unwrap_or(""))?,
        legend_format: body.legend_format,
        ..MetricsParams::default()
    };
    let q = MetricsQuery::from_params(params, &env)?;
    let targets = fed.registry.targets(&body.cluster_ids)?;
    let q = &q.with_scrape_interval(fed.registry.scrape_interval_for(&targets))?;
    let started = Instant::now();
    let outcomes = metrics::fetch(fed, &targets, q, metrics::CacheUse::Use).await;
    let total_ms = started.elapsed().as_millis() as u64;
    if body.format.as_deref() == Some("frames") {
        // A merged answer (super::envelope), its frames written as bytes in Go's key order.
        if let Some(failed) = envelope::all_failed(&outcomes) {
            return Ok(failed);
        }
        let statuses = status::statuses(&outcomes);
        let succeeded = statuses.iter().filter(|s| s.status == Status::Success).count();
        let frames = metrics::to_frames(outcomes, "A", q)?;
        let code = if succeeded < statuses.len() { 206 } else { 200 };
        #[derive(serde::Serialize)]
        struct FramesAnswer<'a> {
            /// Written by the frame-JSON encoder in Go's key order (schema before data).
            frames: Box<serde_json::value::RawValue>,
            clusters: &'a [status::ClusterStatus],
            total_query_time_ms: u64,
            clusters_queried: usize,
            clusters_succeeded: usize,
            #[serde(skip_serializing_if = "Option::is_none")]
            status: Option<ErrorCode>,
        }
        let raw = String::from_utf8(crate::frames::json::frames_to_json_bytes(&frames))
            .ok()
            .and_then(|s| serde_json::value::RawValue::from_string(s).ok())
            .ok_or_else(|| FleetError::internal("frame JSON encoding failed"))?;
        let answer = FramesAnswer {
            frames: raw,
            clusters: &statuses,
            total_query_time_ms: total_ms,
            clusters_queried: statuses.len(),
            clusters_succeeded: succeeded,
            status: (code == 206).then_some(ErrorCode::PartialResults),
        };
        return Ok(ApiResponse::json(code, &answer));
    }
    Ok(seed_response(outcomes, total_ms, |resp| conv::result_json(resp), |resp| result_type(&resp.data)))
}

fn result_type(d: &PromData) -> ResultType {
    match d {
        PromData::Series { result_type, .. } => *result_type,
        PromData::Scalar { .. } => ResultType::Scalar,
        PromData::String { .. } => ResultType::String,
    }
}

/// Per-cluster `data` as Prometheus writes it (one encoder, shared with the cache).
pub(super) fn prom_data_json(d: &PromData) -> Value {
    conv::data_json(d)
}

/// A label name from a URL (it becomes part of an upstream path).
pub(super) fn label_name(name: Option<&str>) -> Result<Option<LabelName>, FleetError> {
    name.map(|n| LabelName::new(n).map_err(FleetError::invalid_query)).transpose()
}

/// `match[]` selectors and the optional `start`/`end` (ms) of a metadata request.
type Window = (Vec<String>, Option<i64>, Option<i64>);

fn window(req: &ApiRequest) -> Result<Window, FleetError> {
    let p = &req.params;
    let matches = p.all("match[]");
    for m in &matches {
        crate::query::metrics::validate_promql(m).map_err(FleetError::from)?;
    }
    let start = p.time_ms("start")?.or(p.time_ms("start_time")?);
    let end = p.time_ms("end")?.or(p.time_ms("end_time")?);
    Ok((matches, start, end))
}

async fn labels(fed: &Federation, req: &ApiRequest, name: Option<&str>) -> Result<ApiResponse, FleetError> {
    let name = label_name(name)?;
    let (matches, start, end) = window(req)?;
    let targets = fed.registry.targets(&req.params.cluster_ids())?;
    let started = Instant::now();
    let outcomes = lookups::prometheus_labels(fed, &targets, name.as_ref(), &matches, start, end).await;
    let union: BTreeSet<String> = outcomes.iter().filter_map(|o| o.result.as_ref().ok()).flatten().cloned().collect();
    let mut resp = seed_response(outcomes, started.elapsed().as_millis() as u64, |v| json!(v), |_| ResultType::String);
    add_union(&mut resp, union.into_iter().collect());
    Ok(resp)
}

async fn series(fed: &Federation, req: &ApiRequest) -> Result<ApiResponse, FleetError> {
    let (matches, start, end) = window(req)?;
    if matches.is_empty() {
        return Err(FleetError::invalid_query("`match[]`: at least one series selector is required"));
    }
    let targets = fed.registry.targets(&req.params.cluster_ids())?;
    let started = Instant::now();
    let outcomes = lookups::prometheus_series(fed, &targets, &matches, start, end).await;
    Ok(seed_response(outcomes, started.elapsed().as_millis() as u64, |v| json!(v), |_| ResultType::Vector))
}

async fn metadata(fed: &Federation, req: &ApiRequest) -> Result<ApiResponse, FleetError> {
    let metric = req.params.get("metric").map(str::to_owned);
    let limit = req
        .params
        .get("limit")
        .map(|l| l.parse::<u32>().map_err(|_| FleetError::invalid_query("`limit` must be a non-negative integer")))
        .transpose()?;
    let targets = fed.registry.targets(&req.params.cluster_ids())?;
    let started = Instant::now();
    let outcomes = lookups::prometheus_metadata(fed, &targets, metric.as_deref(), limit).await;
    Ok(seed_response(outcomes, started.elapsed().as_millis() as u64, |v| json!(v), |_| ResultType::Vector))
}
