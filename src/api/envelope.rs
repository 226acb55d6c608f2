//! The federated answer, serialised one way for every API group. Two shapes,
//! one vocabulary:
//!
//! * **per-cluster results** (the seed's "Federated Metric Query": metrics,
//!   logs, CNF, cluster metrics) — [`seed_response`]: `results[]`, each
//!   cluster's status with its `result_type` + `data` when it answered;
//! * **merged** (alerts, GPU, traces, editor lists: one list or object built
//!   from every cluster's answer) — [`merged_response`]: the body plus
//!   `clusters[]`, each cluster's status.
//!
//! Both carry `clusters_queried`, `clusters_succeeded`, `total_query_time_ms`;
//! both answer 206 with `"status":"PARTIAL_RESULTS"` when some cluster failed,
//! and the common error (with the per-cluster statuses under the same key)
//! when all failed. Lists of cluster ids or names inside a body are
//! `cluster_ids` / `cluster_names`, never `clusters`.

use serde::Serialize;
use serde_json::{Value, json};

use super::ApiResponse;
use crate::error::{ErrorCode, FleetError};
use crate::federation::status::{ClusterStatus, Status};
use crate::federation::{ClusterOutcome, status};

/// The seed's envelope around per-cluster results.
pub fn seed_response<T, R: Serialize>(
    outcomes: Vec<ClusterOutcome<T>>,
    total_ms: u64,
    data: impl Fn(&T) -> Value,
    result_type: impl Fn(&T) -> R,
) -> ApiResponse {
    if let Some(err) = status::all_failed(&outcomes) {
        return all_failed_response(&err, "results", &status::statuses(&outcomes));
    }
    let results: Vec<Value> = outcomes
        .iter()
        .map(|o| {
            let mut r = serde_json::to_value(o.status()).unwrap_or_default();
            if let Ok(v) = &o.result {
                r["result_type"] = json!(result_type(v));
                r["data"] = data(v);
            }
            r
        })
        .collect();
    let succeeded = outcomes.iter().filter(|o| o.result.is_ok()).count();
    with_counts(json!({ "results": results }), outcomes.len(), succeeded, total_ms)
}

/// The envelope of an answer merged across clusters: `body` (an object) plus
/// `clusters` (each cluster's status) and the counts.
pub fn merged_response(mut body: Value, statuses: &[ClusterStatus], total_ms: u64) -> ApiResponse {
    body["clusters"] = json!(statuses);
    let succeeded = statuses.iter().filter(|s| s.status == Status::Success).count();
    with_counts(body, statuses.len(), succeeded, total_ms)
}

/// [`merged_response`] over fan-out outcomes, or [`all_failed`]'s error
/// (`body` is built only from an answer with some success).
pub fn merged<T>(outcomes: &[ClusterOutcome<T>], total_ms: u64, body: impl FnOnce(&[ClusterOutcome<T>]) -> Value) -> ApiResponse {
    all_failed(outcomes).unwrap_or_else(|| merged_response(body(outcomes), &status::statuses(outcomes), total_ms))
}

/// When every cluster failed (or none was queried): the common error, with
/// each cluster's status under `clusters`.
pub fn all_failed<T>(outcomes: &[ClusterOutcome<T>]) -> Option<ApiResponse> {
    status::all_failed(outcomes).map(|err| all_failed_response(&err, "clusters", &status::statuses(outcomes)))
}

/// Every cluster failed: the common error's body, with each cluster's status under `key`.
fn all_failed_response(err: &FleetError, key: &str, statuses: &[ClusterStatus]) -> ApiResponse {
    let mut body = err.to_json();
    body[key] = json!(statuses);
    ApiResponse::json(err.code.http_status(), &body)
}

/// The counts every federated answer carries; 206 + PARTIAL_RESULTS when some failed.
fn with_counts(mut body: Value, queried: usize, succeeded: usize, total_ms: u64) -> ApiResponse {
    body["total_query_time_ms"] = json!(total_ms);
    body["clusters_queried"] = json!(queried);
    body["clusters_succeeded"] = json!(succeeded);
    let partial = succeeded < queried;
    if partial {
        body["status"] = json!(ErrorCode::PartialResults);
    }
    ApiResponse::json(if partial { 206 } else { 200 }, &body)
}

/// Add the federated union as top-level `data` (what editors autocomplete from).
pub fn add_union(resp: &mut ApiResponse, union: Vec<String>) {
    add_field(resp, "data", json!(union));
}

/// Set a top-level field of an envelope (or error) body.
pub fn add_field(resp: &mut ApiResponse, key: &str, value: Value) {
    if let Ok(mut v) = serde_json::from_slice::<Value>(&resp.body) {
        v[key] = value;
        if let Ok(body) = serde_json::to_vec(&v) {
            resp.body = body;
        }
    }
}
