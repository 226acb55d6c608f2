//! Tempo responses → Grafana frames.
//!
//! * `/api/search` → [`SearchHit`]s → a table frame whose `traceID` column links
//!   (internally) to a `traces` query of this datasource with `tracesView: trace`.
//! * Trace by ID (v1 `{"batches":…}`, v2 `{"trace":{"resourceSpans":…}}`, or
//!   plain OTLP JSON `{"resourceSpans":…}`) → [`Span`]s → the frame Grafana's
//!   trace view reads: `traceID spanID parentSpanID operationName serviceName
//!   kind statusCode statusMessage startTime duration serviceTags tags logs
//!   references` (+ `instrumentationLibraryName/Version`, `traceState`), with
//!   `startTime`/`duration` in ms (f64), the tag/log/reference columns as JSON,
//!   and `meta.preferredVisualisationType = "trace"` (the shape of Grafana's own
//!   Tempo datasource, `pkg/tsdb/tempo/trace_transform.go`).
//!
//! Bodies are decoded with typed serde structs (no `serde_json::Value` tree of
//! the body); only attribute values become JSON, because the frame stores them
//! as JSON. IDs arrive as base64 (Tempo's protobuf-JSON) or hex (OTLP JSON) and
//! leave as lower-case hex.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value as JsonValue, json};

use super::{DataLink, Field, FieldConfig, FieldValues, Frame, FrameMeta};
use crate::query::traces::normalize_trace_id;

/// A number sent as a JSON number or a string (protobuf-JSON int64), or an enum name.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Num {
    I(i64),
    U(u64),
    F(f64),
    S(String),
}

impl Num {
    fn as_i64(&self) -> Option<i64> {
        match self {
            Num::I(i) => Some(*i),
            Num::U(u) => i64::try_from(*u).ok(),
            Num::F(f) if f.is_finite() => Some(*f as i64),
            Num::F(_) => None,
            Num::S(s) => s.trim().parse::<i64>().ok(),
        }
    }

    fn as_f64(&self) -> Option<f64> {
        match self {
            Num::I(i) => Some(*i as f64),
            Num::U(u) => Some(*u as f64),
            Num::F(f) => Some(*f),
            Num::S(s) => match s.as_str() {
                "NaN" => Some(f64::NAN),
                "Infinity" => Some(f64::INFINITY),
                "-Infinity" => Some(f64::NEG_INFINITY),
                s => s.trim().parse().ok(),
            },
        }
    }
}

// ---------------------------------------------------------------- search

#[derive(Deserialize)]
struct RawSearch {
    #[serde(default)]
    traces: Vec<RawTraceSummary>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawTraceSummary {
    #[serde(rename = "traceID")]
    trace_id: String,
    #[serde(default)]
    root_service_name: Option<String>,
    #[serde(default)]
    root_trace_name: Option<String>,
    #[serde(default)]
    start_time_unix_nano: Option<Num>,
    #[serde(default)]
    duration_ms: Option<Num>,
    #[serde(default)]
    span_set: Option<RawSpanSet>,
    #[serde(default)]
    span_sets: Option<Vec<RawSpanSet>>,
    #[serde(default)]
    service_stats: Option<BTreeMap<String, RawServiceStats>>,
}

#[derive(Deserialize)]
struct RawSpanSet {
    #[serde(default)]
    matched: Option<Num>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawServiceStats {
    #[serde(default)]
    span_count: Option<Num>,
    #[serde(default)]
    error_count: Option<Num>,
}

/// One trace of a search answer (merged over the clusters that hold parts of it).
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    /// 32 lower-case hex digits (Tempo's leading zeros restored).
    pub trace_id: String,
    pub root_service: String,
    pub root_name: String,
    pub start_ns: i64,
    pub duration_ms: f64,
    /// From `serviceStats` (Tempo ≥ 2.6); `None` when not reported.
    pub span_count: Option<i64>,
    pub error_count: Option<i64>,
    /// Services in `serviceStats`.
    pub service_count: Option<i64>,
    /// Spans matched over all spansets.
    pub matched: i64,
    pub span_sets: i64,
    /// Names of the clusters holding the trace, in federation order.
    pub clusters: Vec<String>,
    /// Their ids, same order.
    pub cluster_ids: Vec<String>,
}

/// Decode an `/api/search` body.
pub fn parse_search(body: &[u8]) -> Result<Vec<SearchHit>, String> {
    expect_object(body)?;
    let raw: RawSearch = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    raw.traces
        .into_iter()
        .map(|t| {
            let trace_id = normalize_trace_id(&t.trace_id).ok_or_else(|| format!("traceID {:?} is not a trace ID", t.trace_id))?;
            let sets: Vec<RawSpanSet> = match (t.span_sets, t.span_set) {
                (Some(sets), _) => sets,
                (None, Some(one)) => vec![one],
                (None, None) => Vec::new(),
            };
            let (span_count, error_count) = match &t.service_stats {
                Some(stats) => (
                    Some(stats.values().filter_map(|s| s.span_count.as_ref().and_then(Num::as_i64)).sum()),
                    Some(stats.values().filter_map(|s| s.error_count.as_ref().and_then(Num::as_i64)).sum()),
                ),
                None => (None, None),
            };
            Ok(SearchHit {
                trace_id,
                root_service: t.root_service_name.unwrap_or_default(),
                root_name: t.root_trace_name.unwrap_or_default(),
                start_ns: t.start_time_unix_nano.as_ref().and_then(Num::as_i64).unwrap_or(0),
                duration_ms: t.duration_ms.as_ref().and_then(Num::as_f64).unwrap_or(0.0),
                span_count,
                error_count,
                service_count: t.service_stats.as_ref().map(|s| s.len() as i64),
                matched: sets.iter().filter_map(|s| s.matched.as_ref().and_then(Num::as_i64)).sum(),
                span_sets: sets.len() as i64,
                clusters: Vec::new(),
                cluster_ids: Vec::new(),
            })
        })
        .collect()
}

/// Serde would also read a struct from a JSON array; Tempo only sends objects.
fn expect_object(body: &[u8]) -> Result<(), String> {
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => Ok(()),
        _ => Err("expected a JSON object".into()),
    }
}

fn is_placeholder(root: &str) -> bool {
    root.is_empty() || root.starts_with('<')
}

/// Merge per-cluster hits (a trace split over clusters appears once), newest
/// first, at most `limit`.
/// `per_cluster`: (cluster id, cluster name, hits).
pub fn merge_search(per_cluster: Vec<(String, String, Vec<SearchHit>)>, limit: usize) -> Vec<SearchHit> {
    let mut by_id: HashMap<String, SearchHit> = HashMap::new();
    for (cluster_id, cluster, hits) in per_cluster {
        for mut h in hits {
            match by_id.get_mut(&h.trace_id) {
                None => {
                    h.clusters = vec![cluster.clone()];
                    h.cluster_ids = vec![cluster_id.clone()];
                    by_id.insert(h.trace_id.clone(), h);
                }
                Some(m) => {
                    let end = (m.start_ns as f64 + m.duration_ms * 1e6).max(h.start_ns as f64 + h.duration_ms * 1e6);
                    if is_placeholder(&m.root_service) && !is_placeholder(&h.root_service) {
                        m.root_service = h.root_service;
                        m.root_name = h.root_name;
                    }
                    m.start_ns = m.start_ns.min(h.start_ns);
                    m.duration_ms = ((end - m.start_ns as f64) / 1e6).round();
                    m.span_count = add_opt(m.span_count, h.span_count);
                    m.error_count = add_opt(m.error_count, h.error_count);
                    m.service_count = m.service_count.max(h.service_count);
                    m.matched += h.matched;
                    m.span_sets += h.span_sets;
                    if !m.cluster_ids.contains(&cluster_id) {
                        m.clusters.push(cluster.clone());
                        m.cluster_ids.push(cluster_id.clone());
                    }
                }
            }
        }
    }
    let mut out: Vec<SearchHit> = by_id.into_values().collect();
    out.sort_by(|a, b| b.start_ns.cmp(&a.start_ns).then_with(|| a.trace_id.cmp(&b.trace_id)));
    out.truncate(limit);
    out
}

fn add_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
    }
}

/// The search results table. `trace_link` goes on `traceID`.
pub fn search_frame(hits: &[SearchHit], ref_id: &str, trace_link: Option<DataLink>, meta: FrameMeta) -> Frame {
    let mut id_field = Field::new("traceID", FieldValues::Str(hits.iter().map(|h| h.trace_id.clone()).collect()));
    id_field.config =
        Some(FieldConfig { display_name_from_ds: Some("Trace ID".into()), links: trace_link.into_iter().collect(), ..FieldConfig::default() });
    let ms = || Some(FieldConfig { unit: Some("ms".into()), ..FieldConfig::default() });
    let mut duration = Field::new("duration", FieldValues::F64(hits.iter().map(|h| h.duration_ms).collect()));
    duration.config = ms();
    Frame {
        name: "Traces".into(),
        ref_id: ref_id.to_owned(),
        meta: Some(meta),
        fields: vec![
            id_field,
            Field::new("cluster", FieldValues::Str(hits.iter().map(|h| h.clusters.join(", ")).collect())),
            Field::new("rootServiceName", FieldValues::Str(hits.iter().map(|h| h.root_service.clone()).collect())),
            Field::new("rootTraceName", FieldValues::Str(hits.iter().map(|h| h.root_name.clone()).collect())),
            Field::new("startTime", FieldValues::TimeNs(hits.iter().map(|h| h.start_ns).collect())),
            duration,
            Field::new("spanCount", FieldValues::NullableI64(hits.iter().map(|h| h.span_count).collect())),
            Field::new("errorCount", FieldValues::NullableI64(hits.iter().map(|h| h.error_count).collect())),
            Field::new("matched", FieldValues::I64(hits.iter().map(|h| h.matched).collect())),
        ],
    }
}

// ---------------------------------------------------------------- trace by ID

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawTraceDoc {
    #[serde(default)]
    batches: Option<Vec<RawResourceSpans>>,
    #[serde(default)]
    resource_spans: Option<Vec<RawResourceSpans>>,
    #[serde(default)]
    trace: Option<RawTraceInner>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawTraceInner {
    #[serde(default)]
    batches: Option<Vec<RawResourceSpans>>,
    #[serde(default)]
    resource_spans: Option<Vec<RawResourceSpans>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawResourceSpans {
    #[serde(default)]
    resource: Option<RawResource>,
    #[serde(default, alias = "instrumentationLibrarySpans")]
    scope_spans: Vec<RawScopeSpans>,
}

#[derive(Deserialize)]
struct RawResource {
    #[serde(default)]
    attributes: Vec<RawKeyValue>,
}

#[derive(Deserialize)]
struct RawScopeSpans {
    #[serde(default, alias = "instrumentationLibrary")]
    scope: Option<RawScope>,
    #[serde(default)]
    spans: Vec<RawSpan>,
}

#[derive(Deserialize)]
struct RawScope {
    #[serde(default)]
    name: String,
    #[serde(default)]
    version: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSpan {
    #[serde(default)]
    trace_id: String,
    #[serde(default)]
    span_id: String,
    #[serde(default)]
    parent_span_id: String,
    #[serde(default)]
    trace_state: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: Option<Num>,
    #[serde(default)]
    start_time_unix_nano: Option<Num>,
    #[serde(default)]
    end_time_unix_nano: Option<Num>,
    #[serde(default)]
    attributes: Vec<RawKeyValue>,
    #[serde(default)]
    events: Vec<RawEvent>,
    #[serde(default)]
    links: Vec<RawLink>,
    #[serde(default)]
    status: Option<RawStatus>,
}

#[derive(Deserialize)]
struct RawStatus {
    #[serde(default)]
    code: Option<Num>,
    #[serde(default)]
    message: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEvent {
    #[serde(default)]
    time_unix_nano: Option<Num>,
    #[serde(default)]
    name: String,
    #[serde(default)]
    attributes: Vec<RawKeyValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLink {
    #[serde(default)]
    trace_id: String,
    #[serde(default)]
    span_id: String,
    #[serde(default)]
    attributes: Vec<RawKeyValue>,
}

#[derive(Deserialize)]
struct RawKeyValue {
    key: String,
    #[serde(default)]
    value: Option<RawAnyValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAnyValue {
    #[serde(default)]
    string_value: Option<String>,
    #[serde(default)]
    int_value: Option<Num>,
    #[serde(default)]
    double_value: Option<Num>,
    #[serde(default)]
    bool_value: Option<bool>,
    #[serde(default)]
    array_value: Option<RawArray>,
    #[serde(default)]
    kvlist_value: Option<RawKvList>,
    #[serde(default)]
    bytes_value: Option<String>,
}

#[derive(Deserialize)]
struct RawArray {
    #[serde(default)]
    values: Vec<RawAnyValue>,
}

#[derive(Deserialize)]
struct RawKvList {
    #[serde(default)]
    values: Vec<RawKeyValue>,
}

impl RawAnyValue {
    fn into_json(self) -> JsonValue {
        if let Some(s) = self.string_value {
            return JsonValue::String(s);
        }
        if let Some(i) = self.int_value {
            return match i.as_i64() {
                Some(i) => json!(i),
                None => JsonValue::Null,
            };
        }
        if let Some(d) = self.double_value {
            return match d.as_f64() {
                Some(f) if f.is_finite() => json!(f),
                Some(f) => JsonValue::String(f.to_string()),
                None => JsonValue::Null,
            };
        }
        if let Some(b) = self.bool_value {
            return JsonValue::Bool(b);
        }
        if let Some(a) = self.array_value {
            return JsonValue::Array(a.values.into_iter().map(RawAnyValue::into_json).collect());
        }
        if let Some(kv) = self.kvlist_value {
            return JsonValue::Object(
                kv.values.into_iter().map(|kv| (kv.key, kv.value.map(RawAnyValue::into_json).unwrap_or(JsonValue::Null))).collect(),
            );
        }
        if let Some(b) = self.bytes_value {
            return JsonValue::String(b);
        }
        JsonValue::Null
    }
}

fn attrs(kvs: Vec<RawKeyValue>) -> Vec<(String, JsonValue)> {
    kvs.into_iter().map(|kv| (kv.key, kv.value.map(RawAnyValue::into_json).unwrap_or(JsonValue::Null))).collect()
}

/// The resource (process) a span ran in.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Resource {
    pub service_name: String,
    /// Resource attributes except `service.name`.
    pub tags: Vec<(String, JsonValue)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SpanEvent {
    pub time_ns: i64,
    pub name: String,
    pub attributes: Vec<(String, JsonValue)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SpanLinkRef {
    pub trace_id: String,
    pub span_id: String,
    pub attributes: Vec<(String, JsonValue)>,
}

/// One span, decoded; `cluster`/`cluster_id` are set when merged.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub trace_id: String,
    pub span_id: String,
    /// Empty for a root span.
    pub parent_span_id: String,
    pub trace_state: String,
    pub name: String,
    /// Grafana's names: `server client producer consumer internal`, or empty.
    pub kind: &'static str,
    /// OTLP status: 0 unset, 1 ok, 2 error.
    pub status_code: i64,
    pub status_message: String,
    pub start_ns: i64,
    pub end_ns: i64,
    pub resource: Arc<Resource>,
    pub scope_name: String,
    pub scope_version: String,
    pub attributes: Vec<(String, JsonValue)>,
    pub events: Vec<SpanEvent>,
    pub links: Vec<SpanLinkRef>,
    pub cluster: String,
    pub cluster_id: String,
}

impl Span {
    pub fn duration_ns(&self) -> i64 {
        (self.end_ns - self.start_ns).max(0)
    }

    pub fn is_error(&self) -> bool {
        self.status_code == 2
    }

    /// A span or resource attribute (span first).
    pub fn attribute(&self, key: &str) -> Option<&JsonValue> {
        self.attributes.iter().chain(self.resource.tags.iter()).find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

fn kind_name(k: Option<&Num>) -> &'static str {
    let Some(k) = k else { return "" };
    let n = match k {
        Num::S(s) => match s.as_str() {
            "SPAN_KIND_INTERNAL" => 1,
            "SPAN_KIND_SERVER" => 2,
            "SPAN_KIND_CLIENT" => 3,
            "SPAN_KIND_PRODUCER" => 4,
            "SPAN_KIND_CONSUMER" => 5,
            other => other.parse().unwrap_or(0),
        },
        other => other.as_i64().unwrap_or(0),
    };
    match n {
        1 => "internal",
        2 => "server",
        3 => "client",
        4 => "producer",
        5 => "consumer",
        _ => "",
    }
}

fn status_code(c: Option<&Num>) -> i64 {
    match c {
        None => 0,
        Some(Num::S(s)) => match s.as_str() {
            "STATUS_CODE_UNSET" => 0,
            "STATUS_CODE_OK" => 1,
            "STATUS_CODE_ERROR" => 2,
            other => other.parse().unwrap_or(0),
        },
        Some(n) => n.as_i64().unwrap_or(0),
    }
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut buf = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            _ => return None,
        };
        buf = (buf << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
            buf &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// An ID of `bytes` bytes as hex: hex input is kept (lower-cased), base64 is decoded.
pub fn id_to_hex(id: &str, bytes: usize) -> Option<String> {
    let id = id.trim();
    if id.is_empty() {
        return Some(String::new());
    }
    if id.len() == bytes * 2 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Some(id.to_ascii_lowercase());
    }
    let raw = base64_decode(id)?;
    if raw.is_empty() || raw.len() > bytes {
        return None;
    }
    let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    Some(format!("{hex:0>width$}", width = bytes * 2))
}

/// Decode a trace-by-ID body. An empty trace (`{"trace":{}}`) gives no spans.
pub fn parse_trace(body: &[u8]) -> Result<Vec<Span>, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    expect_object(body)?;
    let doc: RawTraceDoc = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let batches = doc.batches.or(doc.resource_spans).or_else(|| doc.trace.and_then(|t| t.batches.or(t.resource_spans))).unwrap_or_default();
    let mut spans = Vec::new();
    for rs in batches {
        let mut tags = rs.resource.map(|r| attrs(r.attributes)).unwrap_or_default();
        let service_name = match tags.iter().position(|(k, _)| k == "service.name") {
            Some(i) => match tags.remove(i).1 {
                JsonValue::String(s) => s,
                other => other.to_string(),
            },
            None => String::new(),
        };
        let resource = Arc::new(Resource { service_name, tags });
        for ss in rs.scope_spans {
            let (scope_name, scope_version) = ss.scope.map(|s| (s.name, s.version)).unwrap_or_default();
            for s in ss.spans {
                let trace_id = id_to_hex(&s.trace_id, 16).ok_or_else(|| format!("traceId {:?} is neither hex nor base64", s.trace_id))?;
                let span_id = id_to_hex(&s.span_id, 8).filter(|i| !i.is_empty()).ok_or_else(|| format!("spanId {:?} is not a span ID", s.span_id))?;
                let parent_span_id =
                    id_to_hex(&s.parent_span_id, 8).ok_or_else(|| format!("parentSpanId {:?} is not a span ID", s.parent_span_id))?;
                let start_ns =
                    s.start_time_unix_nano.as_ref().and_then(Num::as_i64).ok_or_else(|| format!("span {span_id}: startTimeUnixNano is missing"))?;
                let end_ns = s.end_time_unix_nano.as_ref().and_then(Num::as_i64).unwrap_or(start_ns);
                let (status_code, status_message) = match s.status {
                    Some(st) => (status_code(st.code.as_ref()), st.message),
                    None => (0, String::new()),
                };
                let events = s
                    .events
                    .into_iter()
                    .map(|e| SpanEvent {
                        time_ns: e.time_unix_nano.as_ref().and_then(Num::as_i64).unwrap_or(start_ns),
                        name: e.name,
                        attributes: attrs(e.attributes),
                    })
                    .collect();
                let links = s
                    .links
                    .into_iter()
                    .map(|l| {
                        Ok(SpanLinkRef {
                            trace_id: id_to_hex(&l.trace_id, 16).ok_or_else(|| format!("link traceId {:?} is not an ID", l.trace_id))?,
                            span_id: id_to_hex(&l.span_id, 8).ok_or_else(|| format!("link spanId {:?} is not an ID", l.span_id))?,
                            attributes: attrs(l.attributes),
                        })
                    })
                    .collect::<Result<Vec<_>, String>>()?;
                spans.push(Span {
                    trace_id,
                    span_id,
                    parent_span_id,
                    trace_state: s.trace_state,
                    name: s.name,
                    kind: kind_name(s.kind.as_ref()),
                    status_code,
                    status_message,
                    start_ns,
                    end_ns,
                    resource: resource.clone(),
                    scope_name: scope_name.clone(),
                    scope_version: scope_version.clone(),
                    attributes: attrs(s.attributes),
                    events,
                    links,
                    cluster: String::new(),
                    cluster_id: String::new(),
                });
            }
        }
    }
    Ok(spans)
}

/// Merge the spans each cluster returned for one trace: every span keeps the
/// cluster it came from; a span reported by several clusters is kept once (the
/// first cluster in federation order). Sorted by start time, then span ID.
pub fn merge_spans(per_cluster: Vec<(String, String, Vec<Span>)>) -> Vec<Span> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (cluster_id, cluster, spans) in per_cluster {
        for mut s in spans {
            if !seen.insert(s.span_id.clone()) {
                continue;
            }
            s.cluster_id = cluster_id.clone();
            s.cluster = cluster.clone();
            out.push(s);
        }
    }
    out.sort_by(|a, b| a.start_ns.cmp(&b.start_ns).then_with(|| a.span_id.cmp(&b.span_id)));
    out
}

fn kv_json(kvs: &[(String, JsonValue)]) -> Vec<JsonValue> {
    kvs.iter().map(|(k, v)| json!({"key": k, "value": v})).collect()
}

fn ns_to_ms(ns: i64) -> f64 {
    ns as f64 / 1_000_000.0
}

/// The trace-view frame. `span_links` go on the `spanID` field (Grafana's trace
/// view offers every field link of the frame on each span).
pub fn trace_frame(spans: &[Span], ref_id: &str, span_links: Vec<DataLink>, meta: FrameMeta) -> Frame {
    let n = spans.len();
    let strs = |f: &dyn Fn(&Span) -> String| FieldValues::Str(spans.iter().map(f).collect());
    let mut service_tags = Vec::with_capacity(n);
    let mut tags = Vec::with_capacity(n);
    let mut logs = Vec::with_capacity(n);
    let mut refs = Vec::with_capacity(n);
    for s in spans {
        let mut st = kv_json(&s.resource.tags);
        if !s.cluster.is_empty() {
            st.push(json!({"key": "cluster", "value": s.cluster}));
            st.push(json!({"key": "cluster_id", "value": s.cluster_id}));
        }
        service_tags.push(JsonValue::Array(st));
        tags.push(JsonValue::Array(kv_json(&s.attributes)));
        logs.push(JsonValue::Array(
            s.events.iter().map(|e| json!({"timestamp": ns_to_ms(e.time_ns), "name": e.name, "fields": kv_json(&e.attributes)})).collect(),
        ));
        refs.push(JsonValue::Array(
            s.links.iter().map(|l| json!({"traceID": l.trace_id, "spanID": l.span_id, "tags": kv_json(&l.attributes)})).collect(),
        ));
    }
    let mut span_id = Field::new("spanID", strs(&|s| s.span_id.clone()));
    if !span_links.is_empty() {
        span_id.config = Some(FieldConfig { links: span_links, ..FieldConfig::default() });
    }
    Frame {
        name: "Trace".into(),
        ref_id: ref_id.to_owned(),
        meta: Some(meta),
        fields: vec![
            Field::new("traceID", strs(&|s| s.trace_id.clone())),
            span_id,
            Field::new("parentSpanID", strs(&|s| s.parent_span_id.clone())),
            Field::new("operationName", strs(&|s| s.name.clone())),
            Field::new("serviceName", strs(&|s| s.resource.service_name.clone())),
            Field::new("kind", strs(&|s| s.kind.to_owned())),
            Field::new("statusCode", FieldValues::I64(spans.iter().map(|s| s.status_code).collect())),
            Field::new("statusMessage", strs(&|s| s.status_message.clone())),
            Field::new("startTime", FieldValues::F64(spans.iter().map(|s| ns_to_ms(s.start_ns)).collect())),
            Field::new("duration", FieldValues::F64(spans.iter().map(|s| ns_to_ms(s.duration_ns())).collect())),
            Field::new("serviceTags", FieldValues::Json(service_tags)),
            Field::new("tags", FieldValues::Json(tags)),
            Field::new("logs", FieldValues::Json(logs)),
            Field::new("references", FieldValues::Json(refs)),
            Field::new("instrumentationLibraryName", strs(&|s| s.scope_name.clone())),
            Field::new("instrumentationLibraryVersion", strs(&|s| s.scope_version.clone())),
            Field::new("traceState", strs(&|s| s.trace_state.clone())),
        ],
    }
}

/// Meta for the trace view.
pub fn trace_meta() -> FrameMeta {
    FrameMeta { preferred_visualisation_type: Some("trace".into()), ..FrameMeta::default() }
}

#[cfg(test)]
#[path = "tempo_tests.rs"]
mod tests;
