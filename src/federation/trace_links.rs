//! Span correlation: span → `logs` query and span → `metrics` query links,
//! configured like Tempo's `tracesToLogsV2` / `tracesToMetrics`
//! (`jsonData.tracesToLogs`, `jsonData.tracesToMetrics`).
//!
//! Two renderings of the same settings:
//! * [`span_links`]: data links on the trace frame's `spanID` field. Grafana's
//!   trace view offers them on every span and interpolates `${__span.traceId}`,
//!   `${__span.spanId}` and `${__span.tags["key"]}` (span and process tags) for
//!   the span; its time range is the span's own (Grafana computes it).
//! * [`logs_query_for_span`] / [`metrics_queries_for_span`]: the concrete query
//!   and time-shifted window for one span (resource API, tests).

use serde_json::json;

use super::Federation;
use crate::frames::tempo::Span;
use crate::frames::{DataLink, InternalLink};
use crate::query::traces::{TracesQuery, parse_duration_text_ms};
use crate::registry::settings::{TagMapping, TracesToLogsSettings, TracesToMetricsSettings};

/// Used when `tracesToLogs.tags` is empty.
const DEFAULT_LOG_TAGS: &[(&str, &str)] = &[("k8s.namespace.name", "namespace")];

/// A concrete query for one span.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanQuery {
    pub name: String,
    pub expr: String,
    pub from_ms: i64,
    pub to_ms: i64,
    pub cluster: String,
}

/// `-1m`, `30s`, `1h` → signed ms (bad or empty → 0).
fn shift_ms(s: Option<&str>) -> i64 {
    let Some(s) = s.map(str::trim).filter(|s| !s.is_empty()) else { return 0 };
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let ms = parse_duration_text_ms(body).unwrap_or(0.0).round() as i64;
    if neg { -ms } else { ms }
}

fn tag_var(key: &str) -> String {
    if key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        format!("${{__span.tags.{key}}}")
    } else {
        format!("${{__span.tags[\"{key}\"]}}")
    }
}

fn label_of(t: &TagMapping) -> String {
    let raw = t.value.as_deref().filter(|v| !v.is_empty()).unwrap_or(&t.key);
    raw.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect()
}

fn log_tags(s: &TracesToLogsSettings) -> Vec<TagMapping> {
    if s.tags.is_empty() {
        DEFAULT_LOG_TAGS.iter().map(|(k, v)| TagMapping { key: (*k).into(), value: Some((*v).into()) }).collect()
    } else {
        s.tags.clone()
    }
}

fn logql_string(v: &str) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "\"\"".into())
}

/// The LogQL for a span; `value(key)` gives a tag's value as a LogQL string
/// literal (a quoted Grafana variable, or the span's quoted attribute); the
/// trace and span IDs come quoted the same way.
fn logs_expr(s: &TracesToLogsSettings, value: &dyn Fn(&str) -> Option<String>, trace_id: &str, span_id: &str) -> String {
    if let Some(custom) = s.custom_query.as_deref().filter(|c| !c.trim().is_empty()) {
        return custom.to_owned();
    }
    let matchers: Vec<String> = log_tags(s).iter().filter_map(|t| value(&t.key).map(|v| format!("{}={v}", label_of(t)))).collect();
    let mut expr = format!("{{{}}}", matchers.join(", "));
    if s.filter_by_trace_id {
        expr.push_str(&format!(" |= {trace_id}"));
    }
    if s.filter_by_span_id {
        expr.push_str(&format!(" |= {span_id}"));
    }
    expr
}

fn tags_matchers(tags: &[TagMapping], value: &dyn Fn(&str) -> Option<String>) -> String {
    tags.iter().filter_map(|t| value(&t.key).map(|v| format!("{}={v}", label_of(t)))).collect::<Vec<_>>().join(", ")
}

/// Data links for the trace frame's `spanID` field (empty when nothing is configured).
pub fn span_links(fed: &Federation, q: &TracesQuery) -> Vec<DataLink> {
    let settings = &fed.registry.settings;
    links_from_settings(settings.traces_to_logs.as_ref(), settings.traces_to_metrics.as_ref(), q.datasource_uid.as_deref())
}

/// [`span_links`] from the settings themselves.
pub fn links_from_settings(logs: Option<&TracesToLogsSettings>, metrics: Option<&TracesToMetricsSettings>, self_uid: Option<&str>) -> Vec<DataLink> {
    let mut out = Vec::new();
    let var = |k: &str| Some(format!("\"{}\"", tag_var(k)));
    let clusters = json!(["${__span.tags.cluster_id}"]);
    if let Some(l) = logs
        && let Some(uid) = l.datasource_uid.as_deref().filter(|u| !u.is_empty()).or(self_uid)
    {
        let expr = logs_expr(l, &var, "\"${__span.traceId}\"", "\"${__span.spanId}\"");
        out.push(DataLink {
            title: "Logs for this span".into(),
            url: String::new(),
            internal: Some(InternalLink {
                query: json!({"queryType": "logs", "expr": expr, "clusters": clusters}),
                datasource_uid: uid.to_owned(),
                datasource_name: String::new(),
            }),
        });
    }
    if let Some(m) = metrics
        && let Some(uid) = m.datasource_uid.as_deref().filter(|u| !u.is_empty()).or(self_uid)
    {
        let tags = tags_matchers(&m.tags, &var);
        for mq in &m.queries {
            out.push(DataLink {
                title: mq.name.clone(),
                url: String::new(),
                internal: Some(InternalLink {
                    query: json!({"queryType": "metrics", "expr": mq.query.replace("$__tags", &tags), "clusters": clusters}),
                    datasource_uid: uid.to_owned(),
                    datasource_name: String::new(),
                }),
            });
        }
    }
    out
}

fn span_value(span: &Span) -> impl Fn(&str) -> Option<String> + '_ {
    move |k: &str| {
        if k == "service.name" {
            return Some(span.resource.service_name.clone()).filter(|s| !s.is_empty());
        }
        if k == "cluster" {
            return Some(span.cluster.clone()).filter(|s| !s.is_empty());
        }
        span.attribute(k).map(|v| match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    }
}

fn window(span: &Span, start_shift: Option<&str>, end_shift: Option<&str>) -> (i64, i64) {
    let from = span.start_ns.div_euclid(1_000_000) + shift_ms(start_shift);
    let to = span.end_ns.div_euclid(1_000_000) + i64::from(span.end_ns.rem_euclid(1_000_000) != 0) + shift_ms(end_shift);
    (from, to.max(from))
}

/// The logs query and window for one span (tags it lacks are left out).
pub fn logs_query_for_span(s: &TracesToLogsSettings, span: &Span) -> SpanQuery {
    let value = span_value(span);
    let quoted = |k: &str| value(k).map(|v| logql_string(&v));
    let mut expr = logs_expr(s, &quoted, &logql_string(&span.trace_id), &logql_string(&span.span_id));
    if s.custom_query.as_deref().is_some_and(|c| !c.trim().is_empty()) {
        expr = expr.replace("${__span.traceId}", &span.trace_id).replace("${__span.spanId}", &span.span_id);
        while let Some(i) = expr.find("${__span.tags") {
            let Some(end) = expr[i..].find('}').map(|e| i + e) else { break };
            let inner = &expr[i + "${__span.tags".len()..end];
            let key = inner.trim_start_matches('.').trim_start_matches("[\"").trim_end_matches("\"]");
            let v = value(key).unwrap_or_default();
            expr.replace_range(i..=end, &v);
        }
    }
    let (from_ms, to_ms) = window(span, s.span_start_time_shift.as_deref(), s.span_end_time_shift.as_deref());
    SpanQuery { name: "Logs for this span".into(), expr, from_ms, to_ms, cluster: span.cluster_id.clone() }
}

/// The metrics queries that apply to one span.
pub fn metrics_queries_for_span(m: &TracesToMetricsSettings, span: &Span) -> Vec<SpanQuery> {
    let value = span_value(span);
    let quoted = |k: &str| value(k).map(|v| logql_string(&v));
    let tags = tags_matchers(&m.tags, &quoted);
    let (from_ms, to_ms) = window(span, m.span_start_time_shift.as_deref(), m.span_end_time_shift.as_deref());
    m.queries
        .iter()
        .filter(|q| q.service.as_deref().is_none_or(|s| s.is_empty() || s == span.resource.service_name))
        .map(|q| SpanQuery { name: q.name.clone(), expr: q.query.replace("$__tags", &tags), from_ms, to_ms, cluster: span.cluster_id.clone() })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::settings::TraceMetricQuery;

    fn span() -> Span {
        let body = std::fs::read(format!("{}/tests/fixtures/tempo/trace_by_id_v1_oom_error.json", env!("CARGO_MANIFEST_DIR"))).unwrap();
        let spans = crate::frames::tempo::merge_spans(vec![("east".into(), "prod-east-1".into(), crate::frames::tempo::parse_trace(&body).unwrap())]);
        spans.into_iter().find(|s| s.name == "decode").unwrap()
    }

    fn logs(json: &str) -> TracesToLogsSettings {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn logs_query_with_tags_ids_and_shifted_window() {
        let s = span();
        let q = logs_query_for_span(
            &logs(
                r#"{"tags":[{"key":"k8s.pod.name","value":"pod"},{"key":"k8s.namespace.name","value":"namespace"},{"key":"absent.attr"}],"filterBySpanId":true,"spanStartTimeShift":"-1m","spanEndTimeShift":"30s"}"#,
            ),
            &s,
        );
        assert_eq!(q.expr, format!(r#"{{pod="vllm-llama70b-0", namespace="inference"}} |= "{}" |= "{}""#, s.trace_id, s.span_id));
        assert_eq!(q.from_ms, s.start_ns / 1_000_000 - 60_000);
        assert_eq!(q.to_ms, s.end_ns / 1_000_000 + 1 + 30_000);
        assert_eq!(q.cluster, "east");
    }

    #[test]
    fn custom_logs_query_is_interpolated() {
        let s = span();
        let q = logs_query_for_span(
            &logs(r#"{"customQuery":"{app=\"model-server\", pod=\"${__span.tags[\"k8s.pod.name\"]}\"} | logfmt | trace_id=\"${__span.traceId}\""}"#),
            &s,
        );
        assert_eq!(q.expr, format!(r#"{{app="model-server", pod="vllm-llama70b-0"}} | logfmt | trace_id="{}""#, s.trace_id));
    }

    #[test]
    fn metrics_queries_per_service() {
        let s = span();
        let m = TracesToMetricsSettings {
            datasource_uid: None,
            tags: vec![TagMapping { key: "k8s.pod.name".into(), value: Some("pod".into()) }],
            queries: vec![
                TraceMetricQuery { name: "GPU".into(), query: "DCGM_FI_DEV_GPU_UTIL{$__tags}".into(), service: Some("model-server".into()) },
                TraceMetricQuery { name: "Gateway".into(), query: "up{$__tags}".into(), service: Some("llm-gateway".into()) },
            ],
            span_start_time_shift: None,
            span_end_time_shift: None,
        };
        let qs = metrics_queries_for_span(&m, &s);
        assert_eq!(qs.len(), 1);
        assert_eq!(qs[0].expr, r#"DCGM_FI_DEV_GPU_UTIL{pod="vllm-llama70b-0"}"#);
        let links = links_from_settings(Some(&logs("{}")), Some(&m), Some("fs1"));
        assert_eq!(links.len(), 3);
        let q = &links[0].internal.as_ref().unwrap().query;
        assert_eq!(q["expr"], r#"{namespace="${__span.tags["k8s.namespace.name"]}"} |= "${__span.traceId}""#);
        assert_eq!(q["queryType"], "logs");
        assert_eq!(links[1].internal.as_ref().unwrap().query["expr"], r#"DCGM_FI_DEV_GPU_UTIL{pod="${__span.tags["k8s.pod.name"]}"}"#);
        assert!(links_from_settings(None, None, Some("fs1")).is_empty());
    }
}
