//! Loki HTTP API client (`/loki/api/v1/*`), one per cluster.
//!
//! Upstream quirks worth knowing:
//! * Times are Unix **nanoseconds** (RFC 3339 and seconds are accepted too; we
//!   send integers so nothing is lost); `step` is seconds (float) or a duration.
//! * The tenant goes in `X-Scope-OrgID`, which `UpstreamClient` sends from the
//!   endpoint's `tenant`; a multi-tenant Loki answers 401 "no org id" without it.
//! * Errors are `text/plain` (e.g. `parse error at line 1, col 39: …`) with 400;
//!   `summarize_error_body` keeps the text.
//! * Structured metadata and parsed labels are merged into `stream` unless the
//!   request carries `X-Loki-Response-Encoding-Flags: categorize-labels`; we do not
//!   send it, the converter understands both shapes.

use bytes::Bytes;

use super::UpstreamError;
use super::http::{UpstreamClient, WebSocket};
use crate::model::logs::Direction;
use crate::query::names::LabelName;

/// A Loki-API client for one cluster.
#[derive(Debug, Clone)]
pub struct LokiClient {
    http: UpstreamClient,
}

fn ns(ms: i64) -> String {
    ms.saturating_mul(1_000_000).to_string()
}

fn step(ms: i64) -> String {
    if ms % 1000 == 0 { (ms / 1000).to_string() } else { format!("{:.3}", ms as f64 / 1000.0) }
}

impl LokiClient {
    pub fn new(http: UpstreamClient) -> Self {
        LokiClient { http }
    }

    /// `/loki/api/v1/query_range`: `step_ms` only for metric queries.
    pub async fn query_range(
        &self,
        expr: &str,
        start_ms: i64,
        end_ms: i64,
        limit: u32,
        direction: Direction,
        step_ms: Option<i64>,
    ) -> Result<Bytes, UpstreamError> {
        let mut p = vec![
            ("query", expr.to_owned()),
            ("start", ns(start_ms)),
            ("end", ns(end_ms)),
            ("limit", limit.to_string()),
            ("direction", direction.as_str().to_owned()),
        ];
        if let Some(s) = step_ms {
            p.push(("step", step(s)));
        }
        self.http.get("loki/api/v1/query_range", &p).await
    }

    /// `/loki/api/v1/query` at `time_ms`.
    pub async fn query(&self, expr: &str, time_ms: i64, limit: u32, direction: Direction) -> Result<Bytes, UpstreamError> {
        let p = [("query", expr.to_owned()), ("time", ns(time_ms)), ("limit", limit.to_string()), ("direction", direction.as_str().to_owned())];
        self.http.get("loki/api/v1/query", &p).await
    }

    fn window(query: Option<&str>, start_ms: Option<i64>, end_ms: Option<i64>) -> Vec<(&'static str, String)> {
        let mut p = Vec::new();
        if let Some(q) = query {
            p.push(("query", q.to_owned()));
        }
        if let Some(s) = start_ms {
            p.push(("start", ns(s)));
        }
        if let Some(e) = end_ms {
            p.push(("end", ns(e)));
        }
        p
    }

    /// `/loki/api/v1/labels`.
    pub async fn labels(&self, query: Option<&str>, start_ms: Option<i64>, end_ms: Option<i64>) -> Result<Bytes, UpstreamError> {
        self.http.get("loki/api/v1/labels", &Self::window(query, start_ms, end_ms)).await
    }

    /// `/loki/api/v1/label/<name>/values`.
    pub async fn label_values(
        &self,
        name: &LabelName,
        query: Option<&str>,
        start_ms: Option<i64>,
        end_ms: Option<i64>,
    ) -> Result<Bytes, UpstreamError> {
        self.http.get_segments(&["loki", "api", "v1", "label", name.as_str(), "values"], &Self::window(query, start_ms, end_ms)).await
    }

    /// `/loki/api/v1/tail` websocket: entries from `start_ns` on, `limit` at
    /// most for the backfill before live lines. Each text message is one
    /// `{"streams":[…],"dropped_entries":[…]}` (see `frames::loki::parse_tail_message`).
    pub async fn tail(&self, expr: &str, limit: u32, start_ns: i64) -> Result<WebSocket, UpstreamError> {
        let p = [("query", expr.to_owned()), ("limit", limit.to_string()), ("start", start_ns.to_string())];
        self.http.websocket("loki/api/v1/tail", &p).await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_are_nanoseconds_and_steps_seconds() {
        assert_eq!(super::ns(1_795_259_617_796), "1795259617796000000");
        assert_eq!(super::step(60_000), "60");
        assert_eq!(super::step(1_500), "1.500");
    }
}
