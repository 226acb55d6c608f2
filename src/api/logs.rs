//! `/api/v1/logs/*`: federated LogQL in the seed's shapes (see `envelope`).
//!
//! * `POST|GET logs/query`, `logs/query_range` — body `{query, cluster_ids,
//!   time | start_time + end_time, step?, aggregate?, legend_format?, limit?,
//!   direction?}` (the metrics body plus `limit`, `direction`). Each cluster's
//!   `data` is its Loki answer (`STREAMS`: `[{stream, values: [["<ns>", line]]}]`,
//!   `MATRIX`/`VECTOR` like Prometheus); log queries add top-level `entries`,
//!   the lines of all clusters merged by time with ONE global `limit` (as the
//!   `logs` query type does), each with `cluster_id`, `cluster` and labels.
//! * `GET logs/labels`, `GET logs/label/{name}/values` — `query` (a stream
//!   selector, as Grafana's Loki editor sends it), `start`, `end`,
//!   `cluster_ids`: per-cluster lists plus the union as top-level `data`.
//!
//! Clusters without a Loki endpoint are left out of `results` and named in
//! `warnings` (LOKI_NOT_AVAILABLE); when no target has Loki the answer is 503.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};

use super::envelope::{add_field, add_union, seed_response};
use super::metrics::{QueryBody, label_name, prom_data_json, query_window, value_str};
use super::{ApiRequest, ApiResponse, method_not_allowed};
use crate::error::{ErrorCode, FleetError};
use crate::federation::logs::{fetch, loki_targets, merge};
use crate::federation::{Federation, lookups};
use crate::frames::Notice;
use crate::frames::loki::{LokiData, LokiResponse};
use crate::frames::prometheus::PromData;
use crate::query::logs::{LogsParams, parse_direction, parse_limit};
use crate::query::metrics::Aggregate;
use crate::query::{LogsQuery, QueryEnvelope, TimeRange};
use crate::registry::Cluster;

pub async fn route(fed: &Federation, req: &ApiRequest, rest: &[&str]) -> Result<ApiResponse, FleetError> {
    let m = req.method.as_str();
    match (m, rest) {
        ("POST" | "GET", ["query"]) => run_query(fed, req, true).await,
        ("POST" | "GET", ["query_range"]) => run_query(fed, req, false).await,
        ("GET", ["labels"]) => labels(fed, req, None).await,
        ("GET", ["label", name, "values"]) => labels(fed, req, Some(name)).await,
        (_, ["query" | "query_range" | "labels"] | ["label", _, "values"]) => Err(method_not_allowed(m, &req.path)),
        _ => Err(FleetError::new(ErrorCode::NotFound, format!("no resource at {:?}", req.path))),
    }
}

/// The metrics query body (`query`, `cluster_ids`, times, `step`, `aggregate`,
/// `legend_format`) plus `limit` and `direction`.
fn query_body(req: &ApiRequest) -> Result<(QueryBody, Option<Value>, Option<String>), FleetError> {
    if req.method == "POST" && !req.body.is_empty() {
        let mut v: Value = serde_json::from_slice(&req.body).map_err(|e| FleetError::invalid_query(format!("request body: {e}")))?;
        let obj = v.as_object_mut().ok_or_else(|| FleetError::invalid_query("request body: expected a JSON object"))?;
        let (limit, direction) = (obj.remove("limit"), obj.remove("direction").map(|d| value_str(&d)));
        let rest = ApiRequest { body: serde_json::to_vec(&v).unwrap_or_default().into(), ..req.clone() };
        return Ok((QueryBody::from_request(&rest)?, limit, direction));
    }
    let p = &req.params;
    Ok((QueryBody::from_request(req)?, p.get("limit").map(|l| Value::String(l.to_owned())), p.get("direction").map(str::to_owned)))
}

/// Warnings for clusters left out (no Loki) and Loki's own warnings.
fn warnings(notices: &[Notice]) -> Value {
    json!(notices.iter().map(|n| n.text.as_str()).collect::<Vec<_>>())
}

async fn run_query(fed: &Federation, req: &ApiRequest, instant: bool) -> Result<ApiResponse, FleetError> {
    let (body, limit, direction) = query_body(req)?;
    if body.format.as_deref().is_some_and(|f| f != "seed") {
        return Err(FleetError::invalid_query("`format`: the logs endpoints answer the seed shape only (Grafana gets frames through QueryData)"));
    }
    let (from, to, step_ms) = query_window(instant, &body.time, &body.start_time, &body.end_time, &body.step)?;
    let env = QueryEnvelope { ref_id: "A".into(), time_range: TimeRange::new(from, to)?, interval_ms: 0, max_data_points: 0 };
    let params = LogsParams {
        expr: body.query.unwrap_or_default(),
        instant,
        limit: limit.as_ref().map(parse_limit).transpose()?.flatten(),
        direction: parse_direction(direction.as_deref())?,
        min_step_ms: step_ms,
        aggregate: Aggregate::parse(body.aggregate.as_deref().unwrap_or(""))?,
        legend_format: body.legend_format,
        datasource_uid: None,
    };
    let q = &LogsQuery::from_params(params, &env)?;
    let (targets, notices) = loki_targets(fed, &body.cluster_ids)?;
    let started = Instant::now();
    let outcomes = fetch(fed, &targets, q).await;
    let total_ms = started.elapsed().as_millis() as u64;
    let answered: Vec<(Arc<Cluster>, LokiResponse)> =
        outcomes.iter().filter_map(|o| o.result.as_ref().ok().map(|r| (o.cluster.clone(), r.clone()))).collect();
    let mut resp = seed_response(outcomes, total_ms, |r: &LokiResponse| loki_data_json(&r.data), |r| result_type(&r.data));
    let has_lines = answered.iter().any(|(_, r)| matches!(r.data, LokiData::Streams(_)));
    if resp.status < 300 && has_lines {
        add_field(&mut resp, "entries", entries_json(&answered, q));
    }
    let mut warned = notices;
    for (cluster, r) in &answered {
        warned.extend(r.warnings.iter().map(|w| Notice { severity: crate::frames::NoticeSeverity::Warning, text: format!("{}: {w}", cluster.name) }));
    }
    if !warned.is_empty() {
        add_field(&mut resp, "warnings", warnings(&warned));
    }
    Ok(resp)
}

fn result_type(d: &LokiData) -> &'static str {
    match d {
        LokiData::Streams(_) => "STREAMS",
        LokiData::Series { result_type, .. } => match result_type {
            crate::frames::prometheus::ResultType::Vector => "VECTOR",
            _ => "MATRIX",
        },
    }
}

/// A cluster's answer written back as Loki writes it.
fn loki_data_json(d: &LokiData) -> Value {
    match d {
        LokiData::Streams(streams) => Value::Array(
            streams
                .iter()
                .map(|s| {
                    let values: Vec<Value> = s
                        .times_ns
                        .iter()
                        .zip(&s.lines)
                        .enumerate()
                        .map(|(i, (t, l))| match s.metadata.get(i).filter(|m| !m.is_empty()) {
                            Some(m) => json!([t.to_string(), l, m]),
                            None => json!([t.to_string(), l]),
                        })
                        .collect();
                    json!({ "stream": s.labels, "values": values })
                })
                .collect(),
        ),
        LokiData::Series { result_type, series } => prom_data_json(&PromData::Series { result_type: *result_type, series: series.clone() }),
    }
}

/// The merged lines (global limit and direction), as the logs panel would show them.
fn entries_json(answered: &[(Arc<Cluster>, LokiResponse)], q: &LogsQuery) -> Value {
    let cols = merge(answered, q.direction, q.limit as usize);
    let entries: Vec<Value> = (0..cols.times_ns.len())
        .map(|i| {
            json!({
                "timestamp": cols.times_ns[i].to_string(),
                "line": cols.bodies[i],
                "severity": cols.severities[i],
                "id": cols.ids[i],
                "labels": cols.labels[i],
            })
        })
        .collect();
    json!(entries)
}

async fn labels(fed: &Federation, req: &ApiRequest, name: Option<&str>) -> Result<ApiResponse, FleetError> {
    let name = label_name(name)?;
    let p = &req.params;
    let selector = p.get("query").map(str::trim).filter(|q| !q.is_empty()).map(str::to_owned);
    if let Some(s) = &selector {
        crate::query::logql::validate(s).map_err(|e| FleetError::new(ErrorCode::InvalidLogql, format!("invalid LogQL in `query`: {e}")))?;
    }
    let start = p.time_ms("start")?.or(p.time_ms("start_time")?);
    let end = p.time_ms("end")?.or(p.time_ms("end_time")?);
    let (targets, notices) = loki_targets(fed, &p.cluster_ids())?;
    let started = Instant::now();
    let outcomes = lookups::loki_labels(fed, &targets, name.as_ref(), selector.as_deref(), start, end).await;
    let union: BTreeSet<String> = outcomes.iter().filter_map(|o| o.result.as_ref().ok()).flatten().cloned().collect();
    let mut resp = seed_response(outcomes, started.elapsed().as_millis() as u64, |v| json!(v), |_| "STRING");
    add_union(&mut resp, union.into_iter().collect());
    if !notices.is_empty() {
        add_field(&mut resp, "warnings", warnings(&notices));
    }
    Ok(resp)
}
