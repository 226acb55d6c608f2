//! Tempo HTTP API client, one per cluster.
//!
//! Upstream quirks worth knowing (seen in the recordings in
//! ../shared/fixtures/tempo-real):
//! * Times for `/api/search` and the tag endpoints are Unix **seconds**.
//! * The tenant goes in `X-Scope-OrgID` (sent by `UpstreamClient`).
//! * Trace by ID: v1 `/api/traces/<id>` answers `{"batches":[…]}`, and **404 with
//!   an empty body** for an unknown trace; v2 `/api/v2/traces/<id>` answers
//!   `{"trace":{"resourceSpans":[…]},"metrics":{…}}`, and 200 `{"trace":{}}` for an
//!   unknown trace. We ask v2 and fall back to v1 when v2 itself is missing
//!   (Tempo < 2.5 answers 404 for the path). Both "not found" forms become `None`.
//! * TraceQL errors are HTTP 400 text/plain
//!   (`invalid TraceQL query: parse error at line 1, col 53: …`).
//! * Search results drop leading zeros of trace IDs (31 hex digits); callers
//!   normalise with `model::trace_id::normalize_trace_id`.

use bytes::Bytes;

use super::UpstreamError;
use super::http::UpstreamClient;
use crate::model::trace_id::TraceId;
use crate::query::names::TagName;

/// A Tempo-API client for one cluster.
#[derive(Debug, Clone)]
pub struct TempoClient {
    http: UpstreamClient,
}

fn secs(ms: i64) -> String {
    ms.div_euclid(1000).to_string()
}

/// The end of a window in whole seconds, rounded up so nothing is cut off.
fn secs_up(ms: i64) -> String {
    (ms.div_euclid(1000) + i64::from(ms.rem_euclid(1000) != 0)).to_string()
}

impl TempoClient {
    pub fn new(http: UpstreamClient) -> Self {
        TempoClient { http }
    }

    /// `/api/search` with TraceQL `q` over `[start_ms, end_ms]`.
    pub async fn search(&self, q: &str, start_ms: i64, end_ms: i64, limit: u32, spss: u32) -> Result<Bytes, UpstreamError> {
        let p =
            vec![("q", q.to_owned()), ("start", secs(start_ms)), ("end", secs_up(end_ms)), ("limit", limit.to_string()), ("spss", spss.to_string())];
        self.http.get("api/search", &p).await
    }

    /// A trace by ID: `Ok(None)` when this Tempo does not have it.
    pub async fn trace(&self, trace_id: &TraceId) -> Result<Option<Bytes>, UpstreamError> {
        match self.http.get_segments(&["api", "v2", "traces", trace_id.as_str()], &[]).await {
            Ok(body) => Ok(Some(body)),
            Err(UpstreamError::Status { status: 404, .. }) => self.trace_v1(trace_id).await,
            Err(e) => Err(e),
        }
    }

    /// v1 `/api/traces/<id>`; 404 (empty body) means not found.
    pub async fn trace_v1(&self, trace_id: &TraceId) -> Result<Option<Bytes>, UpstreamError> {
        match self.http.get_segments(&["api", "traces", trace_id.as_str()], &[]).await {
            Ok(body) => Ok(Some(body)),
            Err(UpstreamError::Status { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn window(p: &mut Vec<(&'static str, String)>, start_ms: Option<i64>, end_ms: Option<i64>) {
        if let Some(s) = start_ms {
            p.push(("start", secs(s)));
        }
        if let Some(e) = end_ms {
            p.push(("end", secs_up(e)));
        }
    }

    /// `/api/v2/search/tags` (names grouped by scope); `scope` narrows it.
    pub async fn tags_v2(&self, scope: Option<&str>, q: Option<&str>, start_ms: Option<i64>, end_ms: Option<i64>) -> Result<Bytes, UpstreamError> {
        let mut p = Vec::new();
        if let Some(s) = scope {
            p.push(("scope", s.to_owned()));
        }
        if let Some(q) = q {
            p.push(("q", q.to_owned()));
        }
        Self::window(&mut p, start_ms, end_ms);
        self.http.get("api/v2/search/tags", &p).await
    }

    /// `/api/v2/search/tag/<tag>/values` (typed values). The tag travels as one
    /// percent-encoded path segment (it is validated, and encoded all the same).
    pub async fn tag_values_v2(&self, tag: &TagName, q: Option<&str>, start_ms: Option<i64>, end_ms: Option<i64>) -> Result<Bytes, UpstreamError> {
        let mut p = Vec::new();
        if let Some(q) = q {
            p.push(("q", q.to_owned()));
        }
        Self::window(&mut p, start_ms, end_ms);
        self.http.get_segments(&["api", "v2", "search", "tag", tag.as_str(), "values"], &p).await
    }

    /// `/api/status/buildinfo`.
    pub async fn buildinfo(&self) -> Result<Bytes, UpstreamError> {
        self.http.get("api/status/buildinfo", &[]).await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn window_seconds_cover_the_range() {
        assert_eq!(super::secs(1_795_259_809_999), "1795259809");
        assert_eq!(super::secs_up(1_795_260_622_001), "1795260623");
        assert_eq!(super::secs_up(1_795_260_622_000), "1795260622");
    }
}
