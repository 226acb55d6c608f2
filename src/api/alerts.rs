//! `/api/v1/alerts*` (seed 000 §4.4, §4.7):
//! * `GET  alerts` — federated list `{alerts, total, by_severity}` (+ per-cluster status);
//! * `GET  alerts/{fingerprint}` — one alert (`?cluster_id=` picks among clusters);
//! * `GET  alerts/history` — stored fired/resolved transitions;
//! * `POST alerts/webhook/{cluster_id}` — Alertmanager webhook receiver (payload v4).

use std::time::Instant;

use serde_json::json;

use super::{ApiRequest, ApiResponse, envelope, method_not_allowed};
use crate::error::{ErrorCode, FleetError};
use crate::federation::Federation;
use crate::federation::alerts as fed_alerts;
use crate::frames::alertmanager::{self as conv, Origin};
use crate::query::alerts::{AlertState, AlertsFormat, AlertsQuery, DEFAULT_LIMIT, MAX_LIMIT, Matcher};
use crate::registry::Cluster;
use crate::store;

pub async fn route(fed: &Federation, req: &ApiRequest, rest: &[&str]) -> Result<ApiResponse, FleetError> {
    let m = req.method.as_str();
    match (m, rest) {
        ("GET", [] | [""]) => list(fed, req).await,
        ("GET", ["history"]) => history(fed, req).await,
        ("POST", ["webhook", cluster_id]) => webhook(fed, req, cluster_id).await,
        (_, ["webhook"]) => Err(FleetError::new(ErrorCode::NotFound, "the webhook URL names its cluster: POST /api/v1/alerts/webhook/{cluster_id}")),
        ("GET", [fingerprint]) => one(fed, req, fingerprint).await,
        (_, [] | [""] | ["history"] | ["webhook", _] | [_]) => Err(method_not_allowed(m, &req.path)),
        _ => Err(FleetError::new(ErrorCode::NotFound, format!("no resource at {:?}", req.path))),
    }
}

/// An [`AlertsQuery`] from query parameters: `state`, `severity`, `matcher`
/// (or `filter`, repeated), `limit`, `start`/`end`.
fn query_from_params(req: &ApiRequest, history: bool, default_window_ms: i64) -> Result<AlertsQuery, FleetError> {
    let p = &req.params;
    let list = |k: &str| -> Vec<String> {
        p.all(k).iter().flat_map(|v| v.split(',').map(|s| s.trim().to_owned()).collect::<Vec<_>>()).filter(|s| !s.is_empty()).collect()
    };
    let states = AlertsQuery::states(&list("state"), history)?;
    let severities = list("severity").iter().map(|s| s.to_ascii_uppercase()).collect();
    let matchers = p.all("matcher").iter().chain(p.all("filter").iter()).map(|m| Matcher::parse("matcher", m)).collect::<Result<_, _>>()?;
    let limit = match p.get("limit") {
        None => DEFAULT_LIMIT,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=MAX_LIMIT).contains(l))
            .ok_or_else(|| FleetError::invalid_query(format!("`limit`: must be between 1 and {MAX_LIMIT}")))?,
    };
    let now = chrono::Utc::now().timestamp_millis();
    let end = p.time_ms("end")?.unwrap_or(now);
    let start = p.time_ms("start")?.unwrap_or(end - default_window_ms);
    if start > end {
        return Err(FleetError::invalid_query("`start` is after `end`"));
    }
    Ok(AlertsQuery { states, severities, matchers, history, format: AlertsFormat::Table, limit, start_ms: start, end_ms: end })
}

async fn list(fed: &Federation, req: &ApiRequest) -> Result<ApiResponse, FleetError> {
    let started = Instant::now();
    let q = query_from_params(req, false, store::retention_ms(&fed.registry.settings))?;
    let l = fed_alerts::list(fed, &req.params.cluster_ids(), &q).await?;
    let by_severity: serde_json::Map<String, serde_json::Value> = conv::severity_counts(&l.alerts).into_iter().map(|(s, n)| (s, json!(n))).collect();
    let mut body = json!({
        "alerts": l.alerts.iter().map(conv::Alert::to_json).collect::<Vec<_>>(),
        "total": l.alerts.len(),
        "by_severity": by_severity,
    });
    if !l.notices.is_empty() {
        body["notices"] = json!(l.notices);
    }
    Ok(envelope::merged_response(body, &l.statuses, started.elapsed().as_millis() as u64))
}

async fn one(fed: &Federation, req: &ApiRequest, fingerprint: &str) -> Result<ApiResponse, FleetError> {
    let mut q = query_from_params(req, false, store::retention_ms(&fed.registry.settings))?;
    q.states = AlertState::ALL.to_vec();
    let l = fed_alerts::list(fed, &req.params.cluster_ids(), &q).await?;
    let matching: Vec<&conv::Alert> = l.alerts.iter().filter(|a| a.fingerprint == fingerprint).collect();
    let Some(first) = matching.first() else {
        return Err(FleetError::new(ErrorCode::NotFound, format!("no alert with fingerprint {fingerprint:?} in the queried clusters")));
    };
    let mut body = first.to_json();
    body["cluster_ids"] = json!(matching.iter().map(|a| a.cluster_id.as_str()).collect::<Vec<_>>());
    Ok(ApiResponse::json(200, &body))
}

async fn history(fed: &Federation, req: &ApiRequest) -> Result<ApiResponse, FleetError> {
    let q = query_from_params(req, true, store::retention_ms(&fed.registry.settings))?;
    let fingerprint = req.params.get("fingerprint").filter(|f| !f.is_empty()).map(str::to_owned);
    let events = fed_alerts::history(fed, &req.params.cluster_ids(), &q, fingerprint).await?;
    Ok(ApiResponse::json(
        200,
        &json!({
            "history": events.iter().map(conv::Transition::to_json).collect::<Vec<_>>(),
            "total": events.len(),
            "start": conv::rfc3339(q.start_ms),
            "end": conv::rfc3339(q.end_ms),
        }),
    ))
}

/// The shared secret a delivery presents: `Authorization: Bearer <s>`,
/// `Authorization: Basic` with `<s>` as password, or `X-Fleetscope-Webhook-Secret`.
fn presented_secret(req: &ApiRequest) -> Option<Vec<u8>> {
    if let Some(s) = req.header("x-fleetscope-webhook-secret") {
        return Some(s.trim().as_bytes().to_vec());
    }
    let auth = req.header("authorization")?.trim();
    let (scheme, value) = auth.split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(value.trim().as_bytes().to_vec());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64_decode(value.trim())?;
        let colon = decoded.iter().position(|b| *b == b':')?;
        return Some(decoded[colon + 1..].to_vec());
    }
    None
}

/// A Basic credential's base64 (RFC 7617), padding optional.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD_NO_PAD.decode(s.trim_end_matches('=')).ok()
}

/// Every delivery must carry the cluster's shared secret. A cluster without
/// one configured refuses all deliveries: the webhook writes to the alert
/// history, and an open endpoint would let anyone who can reach it do that.
fn check_secret(cluster: &Cluster, req: &ApiRequest) -> Result<(), FleetError> {
    let id = cluster.id.as_str();
    let Some(expected) = &cluster.webhook_secret else {
        return Err(FleetError::new(
            ErrorCode::Unauthorized,
            format!(
                "the webhook of cluster {id:?} refuses deliveries: no webhookSecret is configured for this cluster (set secureJsonData \"{id}.webhookSecret\" and send it with each delivery)"
            ),
        ));
    };
    match presented_secret(req) {
        None => Err(FleetError::new(
            ErrorCode::Unauthorized,
            format!(
                "the webhook of cluster {:?} requires its shared secret (Authorization: Bearer <secret>, Basic auth password, or X-Fleetscope-Webhook-Secret)",
                cluster.id.as_str()
            ),
        )),
        Some(got) if expected.matches(&got) => Ok(()),
        Some(_) => Err(FleetError::new(ErrorCode::Unauthorized, format!("the webhook secret for cluster {:?} does not match", cluster.id.as_str()))),
    }
}

/// `POST alerts/webhook/{cluster_id}`: validate, authenticate, store (durably),
/// then answer 200. Re-delivery of stored transitions is a no-op.
async fn webhook(fed: &Federation, req: &ApiRequest, cluster_id: &str) -> Result<ApiResponse, FleetError> {
    let cluster = fed.registry.get(cluster_id).ok_or_else(|| {
        FleetError::new(ErrorCode::ClusterNotFound, format!("webhook for unknown cluster {cluster_id:?}: no cluster with this id in the registry"))
    })?;
    check_secret(cluster, req)?;
    if req.body.is_empty() {
        return Err(FleetError::invalid_query("webhook payload: empty body (an Alertmanager webhook payload, version 4, is expected)"));
    }
    let delivery = conv::parse_webhook(&req.body, Origin { cluster_id: cluster.id.as_str(), cluster_name: &cluster.name })
        .map_err(|e| FleetError::invalid_query(format!("webhook payload: {e}")))?;
    let store = store::for_settings(&fed.registry.settings).await?;
    let outcome = store.record(&delivery.alerts, chrono::Utc::now().timestamp_millis()).await?;
    store::events::publish(&fed.registry.settings, &outcome.fresh);
    tracing::info!(cluster = %cluster.id, receiver = %delivery.receiver, alerts = delivery.alerts.len(), stored = outcome.stored, duplicates = outcome.duplicates, expired = outcome.expired, "alert webhook stored");
    Ok(ApiResponse::json(
        200,
        &json!({
            "status": "ok",
            "cluster_id": cluster.id,
            "received": delivery.alerts.len(),
            "stored": outcome.stored,
            "duplicates": outcome.duplicates,
            "expired": outcome.expired,
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_and_decode() {
        use crate::registry::same_bytes;
        assert!(same_bytes(b"abc", b"abc"));
        assert!(!same_bytes(b"abc", b"abd"));
        assert!(!same_bytes(b"abc", b"abcd"));
        assert!(!same_bytes(b"", b"a"));
        assert_eq!(base64_decode("YWxlcnQ6czNjcjN0").unwrap(), b"alert:s3cr3t");
        assert_eq!(base64_decode("Zm9vYg==").unwrap(), b"foob");
        assert!(base64_decode("!!").is_none());
    }
}
