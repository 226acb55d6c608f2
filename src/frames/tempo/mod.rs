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

//!
//! Layout: [`search`] (search answers → hits → the search table) and [`trace`]
//! (trace-by-ID answers → spans → the trace-view frame).

mod search;
mod trace;

pub use search::{SearchHit, merge_search, parse_search, search_frame};
pub use trace::{Resource, Span, SpanEvent, SpanLinkRef, id_to_hex, merge_spans, parse_trace, trace_frame, trace_meta};

use serde::Deserialize;

/// A number sent as a JSON number or a string (protobuf-JSON int64), or an enum name.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(super) enum Num {
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

/// Tempo answers every endpoint with a JSON object; anything else is garbage.
fn expect_object(body: &[u8]) -> Result<(), String> {
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => Ok(()),
        _ => Err("expected a JSON object".into()),
    }
}

#[cfg(test)]
mod tests;
