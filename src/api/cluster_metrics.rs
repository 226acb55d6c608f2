//! `/api/v1/cluster-metrics/*`: seed 004's BudMetrics API over the ClickHouse
//! store, through the same query path as `queryType: metrics, source: clickhouse`.
//!
//! * `POST query` — `{cluster_id | cluster_ids, metric_name, start_time,
//!   end_time, aggregation, step, matchers, group_by, quantile, aggregate}`;
//!   `aggregation` is the seed's word for the function over the step (`avg`,
//!   `min`, `max`, `sum` = sum of all series per step, `count`, `rate`,
//!   `increase`, `raw`, `p50`…`p99` = histogram quantile). Answers the seed
//!   envelope (`results[]` per cluster, Prometheus `matrix` data, 206 partial).
//! * `GET {id}/health` — the store answers, and when this cluster last wrote.
//! * `GET {id}/summary` — the seed's standard node/pod/GPU metrics, latest values.
//! * `GET metrics`, `GET attributes`, `GET attributes/{key}/values` — editor
//!   completion (metric names with type, attribute keys, values of a key).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use serde::Deserialize;
use serde_json::{Value, json};

use super::envelope::{self, seed_response};
use super::metrics::value_str;
use super::params::{parse_step_ms, parse_time_ms};
use super::{ApiRequest, ApiResponse, method_not_allowed};
use crate::clickhouse::sql;
use crate::error::{ErrorCode, FleetError};
use crate::federation::clickhouse as fed_ch;
use crate::federation::status::Status;
use crate::federation::{ClusterOutcome, Federation};
use crate::frames::prometheus::{self as conv, PromData, ResultType, Series};
use crate::query::clickhouse::{ChParams, ChQuery, Function, Reduce, parse_matchers};
use crate::query::metrics::{Aggregate, MinStep};
use crate::query::{QueryEnvelope, TimeRange};
use crate::registry::Cluster;

pub async fn route(fed: &Federation, req: &ApiRequest, rest: &[&str]) -> Result<ApiResponse, FleetError> {
    let m = req.method.as_str();
    match (m, rest) {
        ("POST" | "GET", ["query"]) => query(fed, req).await,
        ("GET", ["metrics"]) => metric_names(fed, req).await,
        ("GET", ["attributes"]) => attributes(fed, req, None).await,
        ("GET", ["attributes", key, "values"]) => attributes(fed, req, Some(key)).await,
        ("GET", [id, "health"]) => health(fed, id).await,
        ("GET", [id, "summary"]) => summary(fed, req, id).await,
        (_, ["query" | "metrics" | "attributes"] | ["attributes", _, "values"] | [_, "health" | "summary"]) => Err(method_not_allowed(m, &req.path)),
        _ => Err(FleetError::new(ErrorCode::NotFound, format!("no resource at {:?}", req.path))),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct QueryBody {
    #[serde(default)]
    cluster_id: Option<String>,
    #[serde(default)]
    cluster_ids: Vec<String>,
    #[serde(default)]
    metric_name: Option<String>,
    #[serde(default)]
    start_time: Option<Value>,
    #[serde(default)]
    end_time: Option<Value>,
    #[serde(default)]
    step: Option<Value>,
    #[serde(default)]
    aggregation: Option<String>,
    #[serde(default)]
    matchers: Option<Value>,
    #[serde(default)]
    group_by: Option<Vec<String>>,
    #[serde(default)]
    quantile: Option<f64>,
    /// Cross-cluster: merge (default), sum, avg, min, max.
    #[serde(default)]
    aggregate: Option<String>,
}

/// The query-model parts the seed's `aggregation` stands for (`avg` → `avg_over_time`,
/// `sum` → every series summed, `p95` → φ 0.95 of a histogram).
fn aggregation_params(a: &str) -> Result<ChParams, FleetError> {
    let a = a.trim().to_ascii_lowercase();
    let f = |function: Function| ChParams { function, ..ChParams::default() };
    let reduce = |reduce: Reduce| ChParams { group_by: Some(Vec::new()), reduce, ..ChParams::default() };
    Ok(match a.as_str() {
        "" | "raw" | "none" => f(Function::Raw),
        "avg" | "mean" => f(Function::Avg),
        "min" => f(Function::Min),
        "max" => f(Function::Max),
        "rate" => f(Function::Rate),
        "increase" => f(Function::Increase),
        "sum" => reduce(Reduce::Sum),
        "count" => reduce(Reduce::Count),
        p if p.starts_with('p') && p[1..].parse::<f64>().is_ok_and(|n| (0.0..=100.0).contains(&n)) => {
            ChParams { quantile: Some(p[1..].parse::<f64>().unwrap_or(50.0) / 100.0), ..f(Function::HistogramQuantile) }
        }
        other => {
            return Err(FleetError::invalid_query(format!(
                "`aggregation`: {other:?} is not one of raw, avg, min, max, sum, count, rate, increase, p50…p99"
            )));
        }
    })
}

fn window(start: &Option<Value>, end: &Option<Value>, default_span_ms: i64) -> Result<TimeRange, FleetError> {
    let now = chrono::Utc::now().timestamp_millis();
    let end = end.as_ref().map(|v| parse_time_ms("end_time", &value_str(v))).transpose()?.unwrap_or(now);
    let start = start.as_ref().map(|v| parse_time_ms("start_time", &value_str(v))).transpose()?.unwrap_or(end - default_span_ms);
    Ok(TimeRange::new(start, end)?)
}

async fn query(fed: &Federation, req: &ApiRequest) -> Result<ApiResponse, FleetError> {
    let body: QueryBody = if req.method == "POST" && !req.body.is_empty() {
        serde_json::from_slice(&req.body).map_err(|e| FleetError::invalid_query(format!("request body: {e}")))?
    } else {
        let p = &req.params;
        let s = |k: &str| p.get(k).map(|v| Value::String(v.to_owned()));
        QueryBody {
            cluster_ids: p.cluster_ids(),
            metric_name: p.get("metric_name").map(str::to_owned),
            start_time: s("start_time"),
            end_time: s("end_time"),
            step: s("step"),
            aggregation: p.get("aggregation").map(str::to_owned),
            matchers: s("matchers"),
            aggregate: p.get("aggregate").map(str::to_owned),
            ..QueryBody::default()
        }
    };
    let range = window(&body.start_time, &body.end_time, 3_600_000)?;
    let base = aggregation_params(body.aggregation.as_deref().unwrap_or(""))?;
    let step_ms = body.step.as_ref().map(|s| parse_step_ms("step", &value_str(s))).transpose()?.unwrap_or(60_000);
    let params = ChParams {
        metric: body.metric_name.unwrap_or_default(),
        matchers: body.matchers.as_ref().map(parse_matchers).transpose()?.unwrap_or_default(),
        group_by: body.group_by.or(base.group_by),
        quantile: body.quantile.or(base.quantile),
        aggregate: body.aggregate.as_deref().map(Aggregate::parse).transpose()?.unwrap_or_default(),
        min_step: MinStep::from_seconds(step_ms as f64 / 1000.0)?,
        ..base
    };
    let env = QueryEnvelope { ref_id: "A".into(), time_range: range, interval_ms: 0, max_data_points: 0 };
    let cq = ChQuery::from_params(params, &env)?;
    let mut ids = body.cluster_ids;
    ids.extend(body.cluster_id);
    let targets = fed.registry.targets(&ids)?;
    let started = Instant::now();
    let outcomes = fed_ch::fetch(fed, &targets, &cq).await;
    let total_ms = started.elapsed().as_millis() as u64;
    let mut resp = seed_response(outcomes, total_ms, |series: &Vec<Series>| matrix(series), |_| ResultType::Matrix);
    super::envelope::add_field(&mut resp, "metric_name", json!(cq.metric));
    super::envelope::add_field(&mut resp, "step_ms", json!(cq.step_ms));
    super::envelope::add_field(&mut resp, "source", json!("clickhouse"));
    Ok(resp)
}

fn matrix(series: &[Series]) -> Value {
    conv::data_json(&PromData::Series { result_type: ResultType::Matrix, series: series.to_vec() })
}

fn one_cluster(fed: &Federation, id: &str) -> Result<Arc<Cluster>, FleetError> {
    let c = fed
        .registry
        .targets(&[id.to_owned()])?
        .into_iter()
        .next()
        .ok_or_else(|| FleetError::new(ErrorCode::ClusterNotFound, format!("no cluster {id:?}")))?;
    if c.clickhouse.is_none() {
        return Err(FleetError::new(ErrorCode::ClickhouseNotAvailable, format!("{}: no ClickHouse store is configured for this cluster", c.name)));
    }
    Ok(c)
}

/// `GET {id}/health`: the store's probe plus the newest point this cluster wrote.
async fn health(fed: &Federation, id: &str) -> Result<ApiResponse, FleetError> {
    let cluster = one_cluster(fed, id)?;
    let targets = [cluster.clone()];
    let (probe, latest) = tokio::join!(fed_ch::health(fed, &targets), fed_ch::rows(fed, &targets, sql::latest_statement));
    let check = probe.into_iter().next().map(|(_, h)| h);
    let latest = latest.into_iter().next();
    let (latest_ms, series_5m) = match latest.as_ref().map(|o| &o.result) {
        Some(Ok(rows)) => {
            let row = rows.first();
            (
                row.and_then(|r| r.first()).and_then(|v| v.parse::<i64>().ok()).filter(|t| *t > 0),
                row.and_then(|r| r.get(1)).and_then(|v| v.parse::<u64>().ok()),
            )
        }
        _ => (None, None),
    };
    let healthy = check.as_ref().is_some_and(|c| c.status == Status::Success);
    let binding = cluster.clickhouse.as_ref();
    let body = json!({
        "cluster_id": cluster.id,
        "cluster_name": cluster.name,
        "store": binding.map(|b| b.store.clone()),
        "cluster_value": binding.map(|b| b.cluster_value.clone()),
        "status": if healthy { "healthy" } else { "unhealthy" },
        "error_code": check.as_ref().and_then(|c| c.error_code),
        "error": check.as_ref().and_then(|c| c.error.clone()),
        "latency_ms": check.as_ref().map(|c| c.latency_ms),
        "last_sample_time_ms": latest_ms,
        "active_series_5m": series_5m,
    });
    Ok(ApiResponse::json(if healthy { 200 } else { 503 }, &body))
}

/// The seed's standard metrics, one latest value each (`None` when absent).
const SUMMARY: &[(&str, &str, Function, Reduce, &str)] = &[
    // key, metric, function, reduce, matchers
    ("nodes", "node_memory_MemTotal_bytes", Function::Raw, Reduce::Count, ""),
    ("memory_total_bytes", "node_memory_MemTotal_bytes", Function::Raw, Reduce::Sum, ""),
    ("memory_available_bytes", "node_memory_MemAvailable_bytes", Function::Raw, Reduce::Sum, ""),
    ("cpu_cores", "node_cpu_seconds_total", Function::Raw, Reduce::Count, "{mode=\"idle\"}"),
    ("cpu_busy_cores", "node_cpu_seconds_total", Function::Rate, Reduce::Sum, "{mode!=\"idle\"}"),
    ("container_restarts", "kube_pod_container_status_restarts_total", Function::Raw, Reduce::Sum, ""),
    ("container_memory_bytes", "container_memory_usage_bytes", Function::Raw, Reduce::Sum, ""),
    ("gpus", "DCGM_FI_DEV_GPU_UTIL", Function::Raw, Reduce::Count, ""),
    ("gpu_utilization_avg", "DCGM_FI_DEV_GPU_UTIL", Function::Raw, Reduce::Avg, ""),
    ("gpu_memory_used_mib", "DCGM_FI_DEV_FB_USED", Function::Raw, Reduce::Sum, ""),
    ("gpu_memory_free_mib", "DCGM_FI_DEV_FB_FREE", Function::Raw, Reduce::Sum, ""),
    ("gpu_temperature_max", "DCGM_FI_DEV_GPU_TEMP", Function::Raw, Reduce::Max, ""),
    ("gpu_power_watts", "DCGM_FI_DEV_POWER_USAGE", Function::Raw, Reduce::Sum, ""),
];

/// `GET {id}/summary[?time=]`: each figure is one query through the metrics
/// path over the 5 minutes before `time` (default now): the newest step's value.
async fn summary(fed: &Federation, req: &ApiRequest, id: &str) -> Result<ApiResponse, FleetError> {
    let cluster = one_cluster(fed, id)?;
    let now = req.params.time_ms("time")?.unwrap_or_else(|| chrono::Utc::now().timestamp_millis());
    let env = QueryEnvelope { ref_id: "A".into(), time_range: TimeRange::new(now - 300_000, now)?, interval_ms: 0, max_data_points: 0 };
    let targets = [cluster.clone()];
    let queries: Vec<(&str, ChQuery)> = SUMMARY
        .iter()
        .map(|(key, metric, function, reduce, matchers)| {
            let params = ChParams {
                metric: (*metric).to_owned(),
                function: *function,
                group_by: Some(Vec::new()),
                reduce: *reduce,
                matchers: crate::query::clickhouse::parse_selector(matchers)?,
                min_step: MinStep::Fixed(300_000),
                ..ChParams::default()
            };
            // One point at exactly `time`, over the 5 minutes before it (a PromQL instant query's lookback).
            ChQuery::from_params(params, &env).map(|q| (*key, ChQuery { start_ms: now, end_ms: now, ..q })).map_err(FleetError::from)
        })
        .collect::<Result<_, _>>()?;
    let results = futures::future::join_all(queries.iter().map(|(_, q)| fed_ch::fetch(fed, &targets, q))).await;
    let mut figures = serde_json::Map::new();
    let mut errors = BTreeSet::new();
    for ((key, _), outcomes) in queries.iter().zip(results) {
        let value = match outcomes.into_iter().next().map(|o| o.result) {
            Some(Ok(series)) => series.first().and_then(|s| s.values.last().copied()).filter(|v| v.is_finite()),
            Some(Err(e)) => {
                errors.insert(format!("{}: {}", e.code, e.message));
                None
            }
            None => None,
        };
        figures.insert((*key).to_owned(), json!(value));
    }
    if errors.len() == 1 && figures.values().all(Value::is_null) {
        let msg = errors.into_iter().next().unwrap_or_default();
        return Err(FleetError::new(ErrorCode::ClusterUnreachable, msg));
    }
    Ok(ApiResponse::json(
        200,
        &json!({
            "cluster_id": cluster.id,
            "cluster_name": cluster.name,
            "time_ms": now,
            "summary": figures,
            "errors": errors,
        }),
    ))
}

fn list_window(req: &ApiRequest) -> Result<(i64, i64), FleetError> {
    let now = chrono::Utc::now().timestamp_millis();
    let end = req.params.time_ms("end")?.unwrap_or(now);
    let start = req.params.time_ms("start")?.unwrap_or(end - 6 * 3_600_000);
    TimeRange::new(start, end)?;
    Ok((start, end))
}

fn limit(req: &ApiRequest) -> Result<u32, FleetError> {
    match req.params.get("limit") {
        None | Some("") => Ok(1000),
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=10_000).contains(n))
            .ok_or_else(|| FleetError::invalid_query(format!("`limit`: {v:?} is not 1…10000"))),
    }
}

fn checked(field: &'static str, v: Option<&str>) -> Result<Option<String>, FleetError> {
    match v.filter(|v| !v.is_empty()) {
        Some(v) if v.len() > crate::query::clickhouse::MAX_VALUE_BYTES || v.chars().any(char::is_control) => {
            Err(FleetError::invalid_query(format!("`{field}`: at most {} bytes, no control characters", crate::query::clickhouse::MAX_VALUE_BYTES)))
        }
        other => Ok(other.map(str::to_owned)),
    }
}

/// Union of per-store lists, a merged answer (`super::envelope`).
fn list_answer(outcomes: Vec<ClusterOutcome<Vec<Vec<String>>>>, started: Instant, row: impl Fn(&[String]) -> Value) -> ApiResponse {
    envelope::merged(&outcomes, started.elapsed().as_millis() as u64, |outcomes| {
        let mut seen = BTreeSet::new();
        let mut data = Vec::new();
        for rows in outcomes.iter().filter_map(|o| o.result.as_ref().ok()) {
            for r in rows {
                if seen.insert(r.clone()) {
                    data.push(row(r));
                }
            }
        }
        json!({ "data": data })
    })
}

/// `GET metrics?cluster_ids=&start=&end=&prefix=&limit=`: metric names with type, help and unit.
async fn metric_names(fed: &Federation, req: &ApiRequest) -> Result<ApiResponse, FleetError> {
    let (start, end) = list_window(req)?;
    let prefix = checked("prefix", req.params.get("prefix"))?.unwrap_or_default();
    let limit = limit(req)?;
    let targets = fed.registry.targets(&req.params.cluster_ids())?;
    let started = Instant::now();
    let outcomes = fed_ch::rows(fed, &targets, |store, values| sql::metric_names_statement(store, values, start, end, &prefix, limit)).await;
    Ok(list_answer(outcomes, started, |r| json!({ "name": r.first(), "type": r.get(1), "help": r.get(2), "unit": r.get(3) })))
}

/// `GET attributes?metric=` (keys) and `GET attributes/{key}/values?metric=` (values).
async fn attributes(fed: &Federation, req: &ApiRequest, key: Option<&str>) -> Result<ApiResponse, FleetError> {
    let (start, end) = list_window(req)?;
    let metric = checked("metric", req.params.get("metric"))?;
    let key = checked("key", key)?;
    if let Some(k) = &key
        && !crate::query::clickhouse::valid_attribute_key(k)
    {
        return Err(FleetError::invalid_query(format!("{k:?} is not a valid attribute key")));
    }
    let limit = limit(req)?;
    let targets = fed.registry.targets(&req.params.cluster_ids())?;
    let started = Instant::now();
    let outcomes =
        fed_ch::rows(fed, &targets, |store, values| sql::attributes_statement(store, values, start, end, metric.as_deref(), key.as_deref(), limit))
            .await;
    Ok(list_answer(outcomes, started, |r| json!(r.first())))
}
