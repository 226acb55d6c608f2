//! `queryType: traces` — TraceQL across every cluster's Tempo.
//!
//! `tracesView` picks what is shown:
//! * `search` (default): TraceQL in `query`, or the seed's criteria (`serviceName`,
//!   `operation`, `minDuration`, `maxDuration`, `tags`) compiled to TraceQL;
//!   `limit` traces over all clusters, `spss` spans per spanset;
//! * `trace`: one trace by `traceId` (or `query` holding a trace ID, as Grafana's
//!   Tempo datasource sends it), merged across clusters;
//! * `analysis`: the same trace, analysed (critical path, self time, errors, hops);
//! * `serviceGraph`: a node graph of the service calls in the search's traces.
//!
//! TraceQL is validated here, before any cluster sees it (INVALID_TRACEQL).

use std::collections::BTreeMap;

use serde::Deserialize;

pub use crate::model::trace_id::{TraceId, normalize_trace_id};

use super::traceql::{self, Criteria};
use super::{QueryEnvelope, QueryError};

pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 1000;
pub const DEFAULT_SPSS: u32 = 3;
/// The service graph fetches every trace of its search: keep that bounded.
pub const MAX_GRAPH_TRACES: u32 = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum TracesView {
    Search,
    Trace,
    Analysis,
    ServiceGraph,
}

impl TracesView {
    pub fn as_str(self) -> &'static str {
        match self {
            TracesView::Search => "search",
            TracesView::Trace => "trace",
            TracesView::Analysis => "analysis",
            TracesView::ServiceGraph => "serviceGraph",
        }
    }
}

/// A validated traces query.
#[derive(Debug, Clone, PartialEq)]
pub struct TracesQuery {
    pub view: TracesView,
    /// The TraceQL sent to `/api/search` (search and serviceGraph).
    pub traceql: String,
    /// 32 lower-case hex digits (trace and analysis).
    pub trace_id: Option<TraceId>,
    pub limit: u32,
    pub spss: u32,
    pub start_ms: i64,
    pub end_ms: i64,
    /// This datasource's uid (from the query's `datasource.uid`): target of the
    /// trace links in search results and of span → logs/metrics links.
    pub datasource_uid: Option<String>,
}

/// A trace search's parts, typed: what [`TracesQuery::parse`] reads from the
/// query JSON and the `/api/v1/traces/search` handler from its body.
/// [`TracesQuery::search`] checks them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TraceSearch {
    /// TraceQL; empty = compile `criteria`.
    pub query: Option<String>,
    /// Service, operation, duration bounds, tags (empty service or operation = none).
    pub criteria: Criteria,
    /// Traces; `None` = [`DEFAULT_LIMIT`].
    pub limit: Option<u32>,
    /// Spans per span set; `None` = [`DEFAULT_SPSS`].
    pub spss: Option<u32>,
    pub datasource_uid: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    #[serde(default)]
    traces_view: Option<String>,
    #[serde(default)]
    query: Option<String>,
    #[serde(default)]
    expr: Option<String>,
    #[serde(default)]
    trace_id: Option<String>,
    #[serde(default, alias = "service", alias = "service_name")]
    service_name: Option<String>,
    #[serde(default, alias = "spanName")]
    operation: Option<String>,
    #[serde(default)]
    min_duration: Option<serde_json::Value>,
    #[serde(default)]
    max_duration: Option<serde_json::Value>,
    #[serde(default)]
    tags: Option<serde_json::Value>,
    #[serde(default)]
    limit: Option<serde_json::Value>,
    #[serde(default)]
    spss: Option<serde_json::Value>,
    #[serde(default)]
    datasource: Option<DatasourceRef>,
}

#[derive(Debug, Deserialize)]
struct DatasourceRef {
    #[serde(default)]
    uid: Option<String>,
}

fn field(field: &'static str, message: impl Into<String>) -> QueryError {
    QueryError::Field { field, message: message.into() }
}

/// Duration text (`1s`, `1.5s`, `250ms`, `1m30s`, `100us`) → milliseconds.
pub fn parse_duration_text_ms(s: &str) -> Option<f64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(n) = s.parse::<f64>() {
        return (n.is_finite() && n >= 0.0).then_some(n);
    }
    let mut total = 0.0;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        if num_len == 0 {
            return None;
        }
        let n: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let mult = match &rest[..unit_len] {
            "ns" => 1e-6,
            "us" | "µs" => 1e-3,
            "ms" => 1.0,
            "s" => 1_000.0,
            "m" => 60_000.0,
            "h" => 3_600_000.0,
            _ => return None,
        };
        total += n * mult;
        rest = &rest[unit_len..];
    }
    total.is_finite().then_some(total)
}

/// A duration as JSON (milliseconds, or text like `1.5s`) → ms; checked by [`TracesQuery::search`].
fn duration_field(name: &'static str, v: Option<serde_json::Value>) -> Result<Option<f64>, QueryError> {
    match v {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::Number(n)) => n.as_f64().map(Some).ok_or_else(|| field(name, format!("{n} is not a duration"))),
        Some(serde_json::Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(serde_json::Value::String(s)) => {
            parse_duration_text_ms(&s).map(Some).ok_or_else(|| field(name, format!("{s:?} is not a duration like 100ms, 1.5s or 2m")))
        }
        Some(other) => Err(field(name, format!("{other} is not a duration"))),
    }
}

/// A duration bound in ms: finite and not negative.
fn check_duration(name: &'static str, ms: Option<f64>) -> Result<Option<f64>, QueryError> {
    match ms {
        Some(f) if !(f.is_finite() && f >= 0.0) => Err(field(name, format!("{f} is not a duration"))),
        other => Ok(other),
    }
}

/// A count (`limit`, `spss`) as JSON: a whole number or text holding one;
/// empty or `null` = the default. Its range is checked by [`TracesQuery::search`].
fn count_field(name: &'static str, v: Option<serde_json::Value>) -> Result<Option<u32>, QueryError> {
    match v {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(serde_json::Value::String(s)) => s.trim().parse::<u32>().map(Some).map_err(|_| field(name, format!("{s:?} is not a whole number"))),
        Some(serde_json::Value::Number(n)) => {
            n.as_u64().and_then(|n| u32::try_from(n).ok()).map(Some).ok_or_else(|| field(name, format!("{n} is not a whole number")))
        }
        Some(other) => Err(field(name, format!("{other} is not a whole number"))),
    }
}

fn count_in_range(name: &'static str, n: Option<u32>, default: u32, max: u32) -> Result<u32, QueryError> {
    let n = n.unwrap_or(default);
    if n == 0 || n > max {
        return Err(field(name, format!("{n} is outside 1..={max}")));
    }
    Ok(n)
}

/// `tags` as an object `{"k": "v"}` (string, number or boolean values) or
/// logfmt-ish text `k=v k2="v 2"`.
pub fn parse_tags(v: Option<serde_json::Value>) -> Result<BTreeMap<String, String>, QueryError> {
    let mut out = BTreeMap::new();
    match v {
        None | Some(serde_json::Value::Null) => {}
        Some(serde_json::Value::Object(m)) => {
            for (k, v) in m {
                if k.trim().is_empty() {
                    return Err(field("tags", "a tag name is empty"));
                }
                let v = match v {
                    serde_json::Value::String(s) => s,
                    serde_json::Value::Number(n) => n.to_string(),
                    serde_json::Value::Bool(b) => b.to_string(),
                    other => return Err(field("tags", format!("value of {k:?} must be a string, number or boolean, not {other}"))),
                };
                out.insert(k, v);
            }
        }
        Some(serde_json::Value::String(s)) => {
            let mut rest = s.trim();
            while !rest.is_empty() {
                let (k, after) = rest.split_once('=').ok_or_else(|| field("tags", format!("{rest:?} is not key=value")))?;
                let k = k.trim();
                if k.is_empty() || k.contains(char::is_whitespace) {
                    return Err(field("tags", format!("{k:?} is not a tag name")));
                }
                let after = after.trim_start();
                let (v, next) = if let Some(q) = after.strip_prefix('"') {
                    let end = q.find('"').ok_or_else(|| field("tags", format!("unterminated quote in value of {k:?}")))?;
                    (&q[..end], &q[end + 1..])
                } else {
                    let end = after.find(char::is_whitespace).unwrap_or(after.len());
                    (&after[..end], &after[end..])
                };
                out.insert(k.to_owned(), v.to_owned());
                rest = next.trim_start();
            }
        }
        Some(other) => return Err(field("tags", format!("{other} is neither an object nor `key=value` text"))),
    }
    Ok(out)
}

impl TracesQuery {
    pub fn parse(json: &[u8], env: &QueryEnvelope) -> Result<Self, QueryError> {
        let raw: Raw = serde_json::from_slice(json).map_err(|e| QueryError::Json(e.to_string()))?;
        let view = match raw.traces_view.as_deref().map(str::trim) {
            None | Some("") | Some("search") => TracesView::Search,
            Some("trace") | Some("traceId") => TracesView::Trace,
            Some("analysis") => TracesView::Analysis,
            Some("serviceGraph") | Some("serviceMap") => TracesView::ServiceGraph,
            Some(other) => return Err(field("tracesView", format!("{other:?} is not one of search, trace, analysis, serviceGraph"))),
        };
        let query = raw.query.or(raw.expr).map(|q| q.trim().to_owned()).filter(|q| !q.is_empty());
        let datasource_uid = raw.datasource.and_then(|d| d.uid).filter(|u| !u.is_empty());
        let (start_ms, end_ms) = (env.time_range.from_ms, env.time_range.to_ms);
        if matches!(view, TracesView::Trace | TracesView::Analysis) {
            let (name, given) = match raw.trace_id.filter(|t| !t.trim().is_empty()) {
                Some(t) => ("traceId", t),
                None => ("query", query.clone().ok_or_else(|| field("traceId", "a trace ID is required for this view"))?),
            };
            let trace_id = TraceId::parse(&given).ok_or_else(|| field(name, format!("{given:?} is not a trace ID (1 to 32 hex digits)")))?;
            return Ok(TracesQuery {
                view,
                traceql: String::new(),
                trace_id: Some(trace_id),
                limit: 1,
                spss: DEFAULT_SPSS,
                start_ms,
                end_ms,
                datasource_uid,
            });
        }
        let search = TraceSearch {
            query,
            criteria: Criteria {
                service: raw.service_name,
                operation: raw.operation,
                min_duration_ms: duration_field("minDuration", raw.min_duration)?,
                max_duration_ms: duration_field("maxDuration", raw.max_duration)?,
                tags: parse_tags(raw.tags)?,
            },
            limit: count_field("limit", raw.limit)?,
            spss: count_field("spss", raw.spss)?,
            datasource_uid,
        };
        TracesQuery::search(view, search, env)
    }

    /// A search (`view` search or serviceGraph) from typed parts, checked as
    /// the query JSON is: TraceQL or criteria (not both; criteria compile to
    /// TraceQL), TraceQL validation, the duration bounds, `limit` (at most
    /// [`MAX_LIMIT`], [`MAX_GRAPH_TRACES`] for the service graph) and `spss`.
    /// The window is `env`'s range.
    pub fn search(view: TracesView, s: TraceSearch, env: &QueryEnvelope) -> Result<Self, QueryError> {
        if matches!(view, TracesView::Trace | TracesView::Analysis) {
            return Err(field("tracesView", format!("{:?} takes a trace ID, not a search", view.as_str())));
        }
        let query = s.query.map(|q| q.trim().to_owned()).filter(|q| !q.is_empty());
        let c = s.criteria;
        let criteria = Criteria {
            service: c.service.filter(|s| !s.trim().is_empty()),
            operation: c.operation.filter(|s| !s.trim().is_empty()),
            min_duration_ms: check_duration("minDuration", c.min_duration_ms)?,
            max_duration_ms: check_duration("maxDuration", c.max_duration_ms)?,
            tags: c.tags,
        };
        if let (Some(lo), Some(hi)) = (criteria.min_duration_ms, criteria.max_duration_ms)
            && lo > hi
        {
            return Err(field("minDuration", format!("{lo} ms is more than maxDuration {hi} ms")));
        }
        let traceql = match (query, criteria.is_empty()) {
            (Some(_), false) => {
                return Err(field(
                    "query",
                    "give either TraceQL in `query` or search criteria (serviceName, operation, minDuration, maxDuration, tags), not both",
                ));
            }
            (Some(q), true) => q,
            (None, _) => traceql::compile(&criteria),
        };
        let info = traceql::validate(&traceql).map_err(|e| QueryError::Traceql(e.to_string()))?;
        if info.metrics {
            return Err(QueryError::Traceql(
                "TraceQL metrics functions (rate, count_over_time, …) are not a trace search; use a metrics panel with Tempo's metrics API".into(),
            ));
        }
        let max = if view == TracesView::ServiceGraph { MAX_GRAPH_TRACES } else { MAX_LIMIT };
        let limit = count_in_range("limit", s.limit, DEFAULT_LIMIT, max)?;
        let spss = count_in_range("spss", s.spss, DEFAULT_SPSS, 1000)?;
        let (start_ms, end_ms) = (env.time_range.from_ms, env.time_range.to_ms);
        let datasource_uid = s.datasource_uid.filter(|u| !u.is_empty());
        Ok(TracesQuery { view, traceql, trace_id: None, limit, spss, start_ms, end_ms, datasource_uid })
    }

    /// What `meta.executedQueryString` shows.
    pub fn executed_query_string(&self) -> String {
        match (&self.trace_id, self.view) {
            (Some(id), _) => format!("Trace ID: {id}"),
            (None, _) => format!("TraceQL: {}\nLimit: {}", self.traceql, self.limit),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::TimeRange;

    fn env() -> QueryEnvelope {
        QueryEnvelope { ref_id: "A".into(), time_range: TimeRange::new(1_000_000, 2_000_000).unwrap(), interval_ms: 1000, max_data_points: 100 }
    }

    fn parse(json: &str) -> Result<TracesQuery, QueryError> {
        TracesQuery::parse(json.as_bytes(), &env())
    }

    #[test]
    fn search_with_traceql_and_defaults() {
        let q = parse(r#"{"query":"{ status = error }","datasource":{"uid":"fs1"}}"#).unwrap();
        assert_eq!(q.view, TracesView::Search);
        assert_eq!(q.traceql, "{ status = error }");
        assert_eq!((q.limit, q.spss), (DEFAULT_LIMIT, DEFAULT_SPSS));
        assert_eq!((q.start_ms, q.end_ms), (1_000_000, 2_000_000));
        assert_eq!(q.datasource_uid.as_deref(), Some("fs1"));
    }

    #[test]
    fn criteria_become_traceql() {
        let q =
            parse(r#"{"serviceName":"order-service","minDuration":"1s","maxDuration":5000,"tags":"http.status_code=500 team=\"a b\"","limit":"5"}"#)
                .unwrap();
        assert_eq!(
            q.traceql,
            r#"{ resource.service.name = "order-service" && duration >= 1000ms && duration <= 5000ms && .http.status_code = 500 && .team = "a b" }"#
        );
        assert_eq!(q.limit, 5);
        assert_eq!(parse(r#"{"tracesView":"search"}"#).unwrap().traceql, "{}");
    }

    #[test]
    fn invalid_traceql_is_rejected_with_position() {
        let e = parse(r#"{"query":"{ resource.service.name = \"llm-gateway\" && status = }"}"#).unwrap_err();
        assert!(matches!(&e, QueryError::Traceql(m) if m.contains("line 1, col 53")), "{e}");
        assert_eq!(crate::error::FleetError::from(e).code, crate::error::ErrorCode::InvalidTraceql);
        let e = parse(r#"{"query":"{ } | rate()"}"#).unwrap_err();
        assert!(matches!(e, QueryError::Traceql(_)));
    }

    #[test]
    fn trace_ids_are_normalised() {
        let q = parse(r#"{"tracesView":"trace","traceId":"C7AC8A1DD730A6026F94EA7C36CEEA7"}"#).unwrap();
        assert_eq!(q.trace_id.as_ref().map(TraceId::as_str), Some("0c7ac8a1dd730a6026f94ea7c36ceea7"));
        let q = parse(r#"{"tracesView":"analysis","query":"6c48c5c2029f7c3ddb565ad52f1ac6bd"}"#).unwrap();
        assert_eq!(q.trace_id.as_ref().map(TraceId::as_str), Some("6c48c5c2029f7c3ddb565ad52f1ac6bd"));
        assert!(matches!(parse(r#"{"tracesView":"trace","traceId":"xyz"}"#), Err(QueryError::Field { field: "traceId", .. })));
        assert!(matches!(parse(r#"{"tracesView":"trace"}"#), Err(QueryError::Field { field: "traceId", .. })));
    }

    #[test]
    fn bad_fields_are_named() {
        for (json, name) in [
            (r#"{"tracesView":"flame"}"#, "tracesView"),
            (r#"{"limit":0}"#, "limit"),
            (r#"{"limit":"many"}"#, "limit"),
            (r#"{"minDuration":"fast"}"#, "minDuration"),
            (r#"{"minDuration":"2s","maxDuration":"1s"}"#, "minDuration"),
            (r#"{"tags":"novalue"}"#, "tags"),
            (r#"{"tags":{"a":[1]}}"#, "tags"),
            (r#"{"query":"{}","serviceName":"x"}"#, "query"),
            (r#"{"tracesView":"serviceGraph","limit":5000}"#, "limit"),
        ] {
            match parse(json) {
                Err(QueryError::Field { field, .. }) => assert_eq!(field, name, "{json}"),
                other => panic!("{json}: {other:?}"),
            }
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration_text_ms("1.5s"), Some(1500.0));
        assert_eq!(parse_duration_text_ms("1m30s"), Some(90_000.0));
        assert_eq!(parse_duration_text_ms("250us"), Some(0.25));
        assert_eq!(parse_duration_text_ms("12"), Some(12.0));
        assert_eq!(parse_duration_text_ms("1x"), None);
    }

    /// The typed constructor and the JSON parser agree, on good input and bad.
    #[test]
    fn search_constructor_matches_parse() {
        let tags = parse_tags(Some(serde_json::json!({"http.status_code": 500}))).unwrap();
        let criteria = Criteria { service: Some("order-service".into()), min_duration_ms: Some(1000.0), tags, ..Criteria::default() };
        let search = TraceSearch { criteria, limit: Some(5), ..TraceSearch::default() };
        let typed = TracesQuery::search(TracesView::Search, search.clone(), &env());
        assert_eq!(typed, parse(r#"{"serviceName":"order-service","minDuration":"1s","tags":{"http.status_code":500},"limit":5}"#));
        assert_eq!(typed.unwrap().traceql, r#"{ resource.service.name = "order-service" && duration >= 1000ms && .http.status_code = 500 }"#);
        // Invalid: TraceQL and criteria together, bad TraceQL, a limit over the service graph's, a negative duration.
        let both = TraceSearch { query: Some("{}".into()), ..search.clone() };
        assert_eq!(TracesQuery::search(TracesView::Search, both, &env()), parse(r#"{"query":"{}","serviceName":"order-service"}"#));
        let bad = TraceSearch { query: Some("{ status = }".into()), ..TraceSearch::default() };
        assert_eq!(TracesQuery::search(TracesView::Search, bad, &env()), parse(r#"{"query":"{ status = }"}"#));
        let many = TraceSearch { limit: Some(5000), ..TraceSearch::default() };
        assert_eq!(TracesQuery::search(TracesView::ServiceGraph, many, &env()), parse(r#"{"tracesView":"serviceGraph","limit":5000}"#));
        let negative = TraceSearch { criteria: Criteria { min_duration_ms: Some(-5.0), ..Criteria::default() }, ..TraceSearch::default() };
        assert_eq!(TracesQuery::search(TracesView::Search, negative, &env()), parse(r#"{"minDuration":-5}"#));
        assert!(matches!(TracesQuery::search(TracesView::Trace, TraceSearch::default(), &env()), Err(QueryError::Field { field: "tracesView", .. })));
    }
}
