//! Tempo trace by ID (v1 `batches`, v2 `trace.resourceSpans`, plain OTLP
//! JSON): spans merged across clusters and the frame Grafana's trace view reads.

use std::collections::HashSet;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value as JsonValue, json};

use super::{Num, expect_object};
use crate::frames::{DataLink, Field, FieldConfig, FieldValues, Frame, FrameMeta};

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

/// Tempo's OTLP JSON carries IDs as standard base64; some writers use the URL-safe
/// alphabet or drop the padding. Accept all three.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let s = s.trim_end_matches('=');
    let engine = if s.contains(['-', '_']) { &URL_SAFE_NO_PAD } else { &STANDARD_NO_PAD };
    engine.decode(s).ok()
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
