//! `POST /api/v1/ds/query`: Grafana's own query API (`/api/ds/query`) on the
//! same router, so `gpx_fleetscope serve` can stand in for Grafana in front of
//! the plugin's frontend (the real-browser test, scripts): the body is what
//! Grafana's frontend sends — `{from, to, queries: [{refId, queryType, …}]}`,
//! times as epoch-ms strings or numbers — and the answer is what it reads,
//! `{results: {<refId>: {status, frames} | {status, error}}}` with data-frame
//! JSON. Each query is parsed and run exactly as QueryData does (one bad query
//! is its own error; the others still answer).

use serde::Deserialize;
use serde_json::Value;

use super::{ApiRequest, ApiResponse};
use crate::error::FleetError;
use crate::federation::{self, Federation};
use crate::frames;
use crate::query::{self, QueryEnvelope, TimeRange};

#[derive(Debug, Deserialize)]
struct Body {
    from: Value,
    to: Value,
    queries: Vec<Value>,
}

/// Grafana sends epoch milliseconds, as a string or a number.
fn epoch_ms(field: &str, v: &Value) -> Result<i64, FleetError> {
    let n = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    n.filter(|n| n.is_finite() && *n >= 0.0)
        .map(|n| n.round() as i64)
        .ok_or_else(|| FleetError::invalid_query(format!("`{field}`: {v} is not epoch milliseconds")))
}

fn num(q: &Value, key: &str) -> i64 {
    q.get(key).and_then(Value::as_f64).filter(|n| n.is_finite() && *n >= 0.0).map_or(0, |n| n as i64)
}

async fn answer(fed: &Federation, q: &Value, range: TimeRange) -> Result<Vec<frames::Frame>, FleetError> {
    let env = QueryEnvelope {
        ref_id: q.get("refId").and_then(Value::as_str).unwrap_or("A").to_owned(),
        time_range: range,
        interval_ms: num(q, "intervalMs"),
        max_data_points: num(q, "maxDataPoints"),
    };
    let query_type = q.get("queryType").and_then(Value::as_str).unwrap_or_default();
    let json = serde_json::to_vec(q).map_err(|e| FleetError::internal(format!("cannot re-encode the query: {e}")))?;
    let parsed = query::parse(query_type, &json, env)?;
    federation::execute(fed, &parsed).await
}

pub async fn query(fed: &Federation, req: &ApiRequest) -> Result<ApiResponse, FleetError> {
    let body: Body = serde_json::from_slice(&req.body).map_err(|e| FleetError::invalid_query(format!("request body: {e}")))?;
    let range = TimeRange::new(epoch_ms("from", &body.from)?, epoch_ms("to", &body.to)?)?;
    let answers = futures::future::join_all(body.queries.iter().map(|q| answer(fed, q, range))).await;
    // Frames are written in the Go SDK's key order (frames::json), so the body is assembled as bytes.
    let mut out = Vec::from(&b"{\"results\":{"[..]);
    for (i, (q, result)) in body.queries.iter().zip(answers).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let ref_id = q.get("refId").and_then(Value::as_str).unwrap_or("A");
        out.extend(serde_json::to_vec(ref_id).unwrap_or_default());
        out.push(b':');
        match result {
            Ok(frames) => {
                out.extend(b"{\"status\":200,\"frames\":");
                out.extend(frames::json::frames_to_json_bytes(&frames));
                out.push(b'}');
            }
            Err(e) => {
                let v = serde_json::json!({ "status": e.code.http_status(), "error": e.to_string(), "errorSource": "downstream" });
                out.extend(serde_json::to_vec(&v).unwrap_or_default());
            }
        }
    }
    out.extend(b"}}");
    Ok(ApiResponse { status: 200, content_type: "application/json", body: out })
}

#[cfg(test)]
mod tests {
    use super::epoch_ms;
    use serde_json::json;

    #[test]
    fn times_are_epoch_ms_as_string_or_number() {
        assert_eq!(epoch_ms("from", &json!("1700000000000")).unwrap(), 1_700_000_000_000);
        assert_eq!(epoch_ms("to", &json!(1_700_000_000_000_i64)).unwrap(), 1_700_000_000_000);
        let e = epoch_ms("from", &json!("now-1h")).unwrap_err();
        assert!(e.message.contains("`from`"), "{e}");
        assert!(epoch_ms("to", &json!(null)).is_err());
    }
}
