//! Prometheus HTTP API client (also Thanos Querier and Mimir's Prometheus API).
//!
//! Upstream quirks worth knowing:
//! * Every read endpoint accepts POST with a form body; we use it for queries so
//!   long expressions never hit URL length limits (Grafana does the same).
//! * A 400 `bad_data` is a query problem, a 422 `execution` error is the query
//!   hitting a limit (too many samples); both carry `{"error": …}` JSON.
//! * Thanos deduplicates HA replicas only when asked (`dedup=true`).
//! * Mimir's API lives under `/prometheus` — part of the configured URL — and
//!   needs the tenant header, which `UpstreamClient` sends.

use bytes::Bytes;

use super::UpstreamError;
use super::http::UpstreamClient;
use crate::query::names::LabelName;
use crate::registry::PrometheusKind;

/// A Prometheus-API client for one cluster.
#[derive(Debug, Clone)]
pub struct PrometheusClient {
    http: UpstreamClient,
    kind: PrometheusKind,
}

/// Seconds since the epoch with millisecond precision, as the API expects.
fn ts(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "" };
    let abs = ms.unsigned_abs();
    format!("{sign}{}.{:03}", abs / 1000, abs % 1000)
}

impl PrometheusClient {
    pub fn new(http: UpstreamClient, kind: PrometheusKind) -> Self {
        PrometheusClient { http, kind }
    }

    fn with_kind(&self, mut params: Vec<(&'static str, String)>) -> Vec<(&'static str, String)> {
        if self.kind == PrometheusKind::Thanos {
            params.push(("dedup", "true".into()));
        }
        params
    }

    /// `/api/v1/query` at `time_ms`.
    pub async fn query(&self, expr: &str, time_ms: i64) -> Result<Bytes, UpstreamError> {
        let params = self.with_kind(vec![("query", expr.to_owned()), ("time", ts(time_ms))]);
        self.http.post_form("api/v1/query", &params).await
    }

    /// `/api/v1/query_range` over `[start_ms, end_ms]` at `step_ms`.
    pub async fn query_range(&self, expr: &str, start_ms: i64, end_ms: i64, step_ms: i64) -> Result<Bytes, UpstreamError> {
        let params = self.with_kind(vec![("query", expr.to_owned()), ("start", ts(start_ms)), ("end", ts(end_ms)), ("step", ts(step_ms))]);
        self.http.post_form("api/v1/query_range", &params).await
    }

    /// `/api/v1/query_exemplars` over `[start_ms, end_ms]` (Thanos and Mimir
    /// serve it under the same path; older Thanos versions answer 404).
    pub async fn query_exemplars(&self, expr: &str, start_ms: i64, end_ms: i64) -> Result<Bytes, UpstreamError> {
        let params = vec![("query", expr.to_owned()), ("start", ts(start_ms)), ("end", ts(end_ms))];
        self.http.post_form("api/v1/query_exemplars", &params).await
    }

    fn window(matches: &[String], start_ms: Option<i64>, end_ms: Option<i64>) -> Vec<(&'static str, String)> {
        let mut p: Vec<(&'static str, String)> = matches.iter().map(|m| ("match[]", m.clone())).collect();
        if let Some(s) = start_ms {
            p.push(("start", ts(s)));
        }
        if let Some(e) = end_ms {
            p.push(("end", ts(e)));
        }
        p
    }

    /// `/api/v1/series`.
    pub async fn series(&self, matches: &[String], start_ms: Option<i64>, end_ms: Option<i64>) -> Result<Bytes, UpstreamError> {
        self.http.post_form("api/v1/series", &Self::window(matches, start_ms, end_ms)).await
    }

    /// `/api/v1/labels`.
    pub async fn labels(&self, matches: &[String], start_ms: Option<i64>, end_ms: Option<i64>) -> Result<Bytes, UpstreamError> {
        self.http.post_form("api/v1/labels", &Self::window(matches, start_ms, end_ms)).await
    }

    /// `/api/v1/label/<name>/values` (GET only upstream).
    pub async fn label_values(
        &self,
        name: &LabelName,
        matches: &[String],
        start_ms: Option<i64>,
        end_ms: Option<i64>,
    ) -> Result<Bytes, UpstreamError> {
        self.http.get_segments(&["api", "v1", "label", name.as_str(), "values"], &Self::window(matches, start_ms, end_ms)).await
    }

    /// `/api/v1/metadata`.
    pub async fn metadata(&self, metric: Option<&str>, limit: Option<u32>) -> Result<Bytes, UpstreamError> {
        let mut p: Vec<(&str, String)> = Vec::new();
        if let Some(m) = metric {
            p.push(("metric", m.to_owned()));
        }
        if let Some(l) = limit {
            p.push(("limit", l.to_string()));
        }
        self.http.get("api/v1/metadata", &p).await
    }

    /// `/api/v1/status/buildinfo` (absent on some Thanos/Mimir versions).
    pub async fn buildinfo(&self) -> Result<Bytes, UpstreamError> {
        self.http.get("api/v1/status/buildinfo", &[]).await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamps_are_seconds_with_millis() {
        assert_eq!(super::ts(1_700_000_000_123), "1700000000.123");
        assert_eq!(super::ts(15_000), "15.000");
        assert_eq!(super::ts(-1), "-0.001");
    }
}
