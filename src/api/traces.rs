//! `/api/v1/traces/*`: federated Tempo in the seed's shapes.
//!
//! * `POST|GET traces/search` — seed body (`cluster_ids`, `service_name`,
//!   `operation`, `min_duration_ms`, `max_duration_ms`, `tags`, `query` (TraceQL),
//!   `start_time`, `end_time`, `limit`) → `traces[]` {trace_id, cluster_id,
//!   cluster_name, cluster_names, root_service, root_operation, start_time,
//!   duration_ms, span_count, service_count, has_errors}, `total`;
//! * `GET traces/{id}` — the trace merged across clusters (summary + spans);
//! * `GET traces/{id}/spans` — its spans, each with its logs/metrics queries;
//! * `GET traces/services`, `GET traces/operations?service=` — from Tempo's
//!   tag values (`resource.service.name`, `name`), union plus per cluster;
//! * `GET traces/tags[?scope=]`, `GET traces/tag/{tag}/values[?q=]` — federated
//!   v2 tag names (by scope) and typed values, for the query editor.
//!
//! Every answer is a merged answer (`super::envelope`): per-cluster
//! `clusters`, counts, 206 + PARTIAL_RESULTS, the common error when all failed.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use serde::Deserialize;
use serde_json::{Value, json};

use super::params::parse_time_ms;
use super::{ApiRequest, ApiResponse, method_not_allowed};
use crate::error::{ErrorCode, FleetError};
use crate::federation::status::{self, ClusterStatus};
use crate::federation::traces::{self, MergedTrace};
use crate::federation::{Federation, lookups, trace_links};
use crate::frames::tempo::{self as conv, Span};
use crate::model::trace_id::TraceId;
use crate::query::names::TagName;
use crate::query::traceql::Criteria;
use crate::query::traces::{TraceSearch, TracesQuery, TracesView, parse_tags};
use crate::query::{QueryEnvelope, TimeRange};

pub async fn route(fed: &Federation, req: &ApiRequest, rest: &[&str]) -> Result<ApiResponse, FleetError> {
    let m = req.method.as_str();
    match (m, rest) {
        ("POST" | "GET", ["search"]) => search(fed, req).await,
        ("GET", ["services"]) => tag_values_api(fed, req, "resource.service.name", None, "services").await,
        ("GET", ["operations"]) => {
            let q = req
                .params
                .get("service")
                .filter(|s| !s.is_empty())
                .map(|s| format!("{{ resource.service.name = {} }}", crate::query::traceql::quote(s)));
            tag_values_api(fed, req, "name", q, "operations").await
        }
        ("GET", ["tags"]) => tags(fed, req).await,
        ("GET", ["tag", tag, "values"]) => {
            let q = req.params.get("q").filter(|s| !s.is_empty()).map(str::to_owned);
            tag_values_api(fed, req, tag, q, "tagValues").await
        }
        ("GET", [id]) => trace(fed, req, id, false).await,
        ("GET", [id, "spans"]) => trace(fed, req, id, true).await,
        (_, ["search" | "services" | "operations" | "tags"] | ["tag", _, "values"] | [_] | [_, "spans"]) => Err(method_not_allowed(m, &req.path)),
        _ => Err(FleetError::new(ErrorCode::NotFound, format!("no resource at {:?}", req.path))),
    }
}

/// A merged answer (`super::envelope`) over statuses gathered since `started`.
fn merged_answer(body: Value, statuses: &[ClusterStatus], started: Instant) -> ApiResponse {
    super::envelope::merged_response(body, statuses, started.elapsed().as_millis() as u64)
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchBody {
    #[serde(default)]
    cluster_ids: Vec<String>,
    #[serde(default)]
    query: Option<String>,
    #[serde(default)]
    service_name: Option<String>,
    #[serde(default)]
    operation: Option<String>,
    #[serde(default)]
    min_duration_ms: Option<f64>,
    #[serde(default)]
    max_duration_ms: Option<f64>,
    #[serde(default)]
    tags: Option<BTreeMap<String, Value>>,
    #[serde(default)]
    start_time: Option<Value>,
    #[serde(default)]
    end_time: Option<Value>,
    #[serde(default)]
    limit: Option<u32>,
}

fn value_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn window(start: Option<&Value>, end: Option<&Value>) -> Result<TimeRange, FleetError> {
    let now = chrono::Utc::now().timestamp_millis();
    let end = end.map(|v| parse_time_ms("end_time", &value_str(v))).transpose()?.unwrap_or(now);
    let start = start.map(|v| parse_time_ms("start_time", &value_str(v))).transpose()?.unwrap_or(end - 3_600_000);
    Ok(TimeRange::new(start, end)?)
}

fn rfc3339(ns: i64) -> String {
    chrono::DateTime::from_timestamp(ns.div_euclid(1_000_000_000), ns.rem_euclid(1_000_000_000) as u32)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

async fn search(fed: &Federation, req: &ApiRequest) -> Result<ApiResponse, FleetError> {
    let body: SearchBody = if req.method == "POST" && !req.body.is_empty() {
        serde_json::from_slice(&req.body).map_err(|e| FleetError::invalid_query(format!("request body: {e}")))?
    } else {
        let p = &req.params;
        let num =
            |k: &str| p.get(k).map(|v| v.parse::<f64>().map_err(|_| FleetError::invalid_query(format!("`{k}`: {v:?} is not a number")))).transpose();
        SearchBody {
            cluster_ids: p.cluster_ids(),
            query: p.get("query").or(p.get("q")).map(str::to_owned),
            service_name: p.get("service_name").map(str::to_owned),
            operation: p.get("operation").map(str::to_owned),
            min_duration_ms: num("min_duration_ms")?,
            max_duration_ms: num("max_duration_ms")?,
            tags: None,
            start_time: p.get("start_time").or(p.get("start")).map(|v| Value::String(v.to_owned())),
            end_time: p.get("end_time").or(p.get("end")).map(|v| Value::String(v.to_owned())),
            limit: p
                .get("limit")
                .map(|v| v.parse::<u32>().map_err(|_| FleetError::invalid_query(format!("`limit`: {v:?} is not a whole number"))))
                .transpose()?,
        }
    };
    let range = window(body.start_time.as_ref(), body.end_time.as_ref())?;
    let env = QueryEnvelope { ref_id: "A".into(), time_range: range, interval_ms: 0, max_data_points: 0 };
    let search = TraceSearch {
        query: body.query,
        criteria: Criteria {
            service: body.service_name,
            operation: body.operation,
            // A duration that is not a finite number (`?min_duration_ms=NaN`) is no bound, as before.
            min_duration_ms: body.min_duration_ms.filter(|f| f.is_finite()),
            max_duration_ms: body.max_duration_ms.filter(|f| f.is_finite()),
            tags: parse_tags(body.tags.map(|t| Value::Object(t.into_iter().collect())))?,
        },
        limit: body.limit,
        spss: None,
        datasource_uid: None,
    };
    let tq = TracesQuery::search(TracesView::Search, search, &env)?;
    let targets = fed.registry.targets(&body.cluster_ids)?;
    let started = Instant::now();
    let outcomes = traces::fetch_search(fed, &targets, &tq).await;
    if let Some(failed) = super::envelope::all_failed(&outcomes) {
        return Ok(failed);
    }
    let statuses = status::statuses(&outcomes);
    let hits = conv::merge_search(traces::successes(outcomes), tq.limit as usize);
    let list: Vec<Value> = hits
        .iter()
        .map(|h| {
            json!({
                "trace_id": h.trace_id,
                "cluster_id": h.cluster_ids.first(),
                "cluster_name": h.clusters.first(),
                "cluster_names": h.clusters,
                "root_service": h.root_service,
                "root_operation": h.root_name,
                "start_time": rfc3339(h.start_ns),
                "duration_ms": h.duration_ms,
                "span_count": h.span_count,
                "service_count": h.service_count,
                "has_errors": h.error_count.map(|e| e > 0),
                "matched_spans": h.matched,
            })
        })
        .collect();
    Ok(merged_answer(json!({ "traces": list, "total": list.len(), "query": tq.traceql }), &statuses, started))
}

async fn trace(fed: &Federation, req: &ApiRequest, id: &str, spans_only: bool) -> Result<ApiResponse, FleetError> {
    let trace_id = TraceId::parse(id).ok_or_else(|| FleetError::invalid_query(format!("{id:?} is not a trace ID (1 to 32 hex digits)")))?;
    let targets = fed.registry.targets(&req.params.cluster_ids())?;
    let started = Instant::now();
    let merged: MergedTrace = traces::fetch_trace(fed, &targets, &trace_id).await?;
    let spans: Vec<Value> = merged.spans.iter().map(|s| span_json(fed, s)).collect();
    let body = if spans_only {
        json!({ "trace_id": trace_id, "spans": spans, "total": spans.len() })
    } else {
        let start = merged.spans.iter().map(|s| s.start_ns).min().unwrap_or(0);
        let end = merged.spans.iter().map(|s| s.end_ns).max().unwrap_or(0);
        let root = merged.spans.iter().find(|s| s.parent_span_id.is_empty() || !merged.spans.iter().any(|p| p.span_id == s.parent_span_id));
        let services: BTreeSet<&str> = merged.spans.iter().map(|s| s.resource.service_name.as_str()).collect();
        json!({
            "trace_id": trace_id,
            "cluster_names": merged.found_in.iter().map(|(c, _)| c).collect::<Vec<_>>(),
            "root_service": root.map(|r| r.resource.service_name.clone()),
            "root_operation": root.map(|r| r.name.clone()),
            "start_time": rfc3339(start),
            "duration_ms": (end - start) as f64 / 1e6,
            "span_count": spans.len(),
            "service_count": services.len(),
            "has_errors": merged.spans.iter().any(Span::is_error),
            "spans": spans,
        })
    };
    Ok(merged_answer(body, &merged.statuses, started))
}

fn span_json(fed: &Federation, s: &Span) -> Value {
    let settings = &fed.registry.settings;
    let logs = settings.traces_to_logs.as_ref().map(|l| trace_links::logs_query_for_span(l, s));
    let metrics = settings.traces_to_metrics.as_ref().map(|m| trace_links::metrics_queries_for_span(m, s)).unwrap_or_default();
    let q = |q: &trace_links::SpanQuery| json!({"name": q.name, "expr": q.expr, "start_ms": q.from_ms, "end_ms": q.to_ms, "cluster_id": q.cluster});
    json!({
        "span_id": s.span_id,
        "parent_span_id": s.parent_span_id,
        "operation": s.name,
        "service": s.resource.service_name,
        "cluster_id": s.cluster_id,
        "cluster_name": s.cluster,
        "kind": s.kind,
        "status_code": s.status_code,
        "status_message": s.status_message,
        "start_time": rfc3339(s.start_ns),
        "duration_ms": s.duration_ns() as f64 / 1e6,
        "attributes": s.attributes.iter().cloned().collect::<serde_json::Map<String, Value>>(),
        "resource": s.resource.tags.iter().cloned().collect::<serde_json::Map<String, Value>>(),
        "events": s.events.iter().map(|e| json!({"name": e.name, "time": rfc3339(e.time_ns)})).collect::<Vec<_>>(),
        "logs_query": logs.as_ref().map(q),
        "metrics_queries": metrics.iter().map(q).collect::<Vec<_>>(),
    })
}

fn times(req: &ApiRequest) -> Result<(Option<i64>, Option<i64>), FleetError> {
    let p = &req.params;
    Ok((p.time_ms("start")?.or(p.time_ms("start_time")?), p.time_ms("end")?.or(p.time_ms("end_time")?)))
}

async fn tag_values_api(fed: &Federation, req: &ApiRequest, tag: &str, q: Option<String>, key: &str) -> Result<ApiResponse, FleetError> {
    let tag = TagName::new(tag).map_err(|e| FleetError::invalid_query(format!("`tag`: {e}")))?;
    if let Some(q) = &q {
        crate::query::traceql::validate(q).map_err(|e| FleetError::new(ErrorCode::InvalidTraceql, format!("invalid TraceQL in `q`: {e}")))?;
    }
    let (start, end) = times(req)?;
    let targets = fed.registry.targets(&req.params.cluster_ids())?;
    let started = Instant::now();
    let outcomes = lookups::tempo_tag_values(fed, &targets, &tag, q.as_deref(), start, end).await;
    if let Some(failed) = super::envelope::all_failed(&outcomes) {
        return Ok(failed);
    }
    let statuses = status::statuses(&outcomes);
    let mut all = BTreeSet::new();
    let mut by_cluster = serde_json::Map::new();
    for o in &outcomes {
        if let Ok(v) = &o.result {
            all.extend(v.iter().cloned());
            by_cluster.insert(o.cluster.id.to_string(), json!(v.iter().map(|t| t.value.clone()).collect::<Vec<_>>()));
        }
    }
    let list: Value = if key == "tagValues" {
        json!(all.into_iter().collect::<Vec<_>>())
    } else {
        json!(all.into_iter().map(|t| t.value).collect::<BTreeSet<_>>())
    };
    Ok(merged_answer(json!({ key: list, "by_cluster": by_cluster }), &statuses, started))
}

async fn tags(fed: &Federation, req: &ApiRequest) -> Result<ApiResponse, FleetError> {
    let scope = req.params.get("scope").filter(|s| !s.is_empty()).map(str::to_owned);
    if let Some(s) = &scope
        && !matches!(s.as_str(), "resource" | "span" | "intrinsic" | "event" | "link" | "instrumentation" | "none")
    {
        return Err(FleetError::invalid_query(format!("`scope`: {s:?} is not one of resource, span, intrinsic, event, link, instrumentation")));
    }
    let (start, end) = times(req)?;
    let targets = fed.registry.targets(&req.params.cluster_ids())?;
    let started = Instant::now();
    let outcomes = lookups::tempo_tags(fed, &targets, scope.as_deref(), start, end).await;
    if let Some(failed) = super::envelope::all_failed(&outcomes) {
        return Ok(failed);
    }
    let statuses = status::statuses(&outcomes);
    let mut merged: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for o in &outcomes {
        for s in o.result.as_ref().map(Vec::as_slice).unwrap_or(&[]) {
            merged.entry(s.name.clone()).or_default().extend(s.tags.iter().cloned());
        }
    }
    let scopes: Vec<Value> = merged.into_iter().map(|(name, tags)| json!({"name": name, "tags": tags})).collect();
    Ok(merged_answer(json!({ "scopes": scopes }), &statuses, started))
}
