//! Alertmanager API v2 client (HTTP only; bytes out, `frames::alertmanager` parses).
//!
//! Upstream facts worth knowing (checked against Alertmanager 0.25):
//! * `GET /api/v2/alerts` lists only alerts that have not ended (`endsAt` in the
//!   future); resolved alerts are gone from it. `active`, `silenced`,
//!   `inhibited`, `unprocessed` (default true each) select by state; `filter`
//!   (repeated) takes matchers such as `job="node"` and is applied server-side.
//! * `GET /api/v2/alerts/groups` returns the same alerts grouped per route —
//!   one alert appears once per receiver it routes to, so it is not used for
//!   the list (it would need deduplication for nothing).
//! * HA replicas gossip alerts to each other; each replica answers with its own
//!   copy (same fingerprint, possibly different `updatedAt`).

use bytes::Bytes;

use super::UpstreamError;
use super::http::UpstreamClient;

/// Which Alertmanager states to ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateSelection {
    pub active: bool,
    pub suppressed: bool,
    pub unprocessed: bool,
}

/// An Alertmanager client for one replica of one cluster.
#[derive(Debug, Clone)]
pub struct AlertmanagerClient {
    http: UpstreamClient,
}

impl AlertmanagerClient {
    pub fn new(http: UpstreamClient) -> Self {
        AlertmanagerClient { http }
    }

    /// `GET /api/v2/alerts` with server-side state and matcher filters.
    pub async fn alerts(&self, sel: StateSelection, filters: &[String]) -> Result<Bytes, UpstreamError> {
        let b = |v: bool| if v { "true".to_owned() } else { "false".to_owned() };
        let mut params: Vec<(&str, String)> =
            vec![("active", b(sel.active)), ("silenced", b(sel.suppressed)), ("inhibited", b(sel.suppressed)), ("unprocessed", b(sel.unprocessed))];
        params.extend(filters.iter().map(|f| ("filter", f.clone())));
        self.http.get("api/v2/alerts", &params).await
    }

    /// `GET /api/v2/alerts/groups`.
    pub async fn groups(&self, filters: &[String]) -> Result<Bytes, UpstreamError> {
        let params: Vec<(&str, String)> = filters.iter().map(|f| ("filter", f.clone())).collect();
        self.http.get("api/v2/alerts/groups", &params).await
    }

    /// `GET /api/v2/status` (health, cluster peers).
    pub async fn status(&self) -> Result<Bytes, UpstreamError> {
        self.http.get("api/v2/status", &[]).await
    }
}
