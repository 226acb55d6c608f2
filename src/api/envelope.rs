//! The seed's federated answer, shared by every API group that fans one call
//! out per cluster (`metrics`, `logs`): `results[]` with each cluster's
//! `status`, `query_time_ms` (and `result_type` + `data` when it answered),
//! totals `clusters_queried`, `clusters_succeeded`, `total_query_time_ms`;
//! 206 + `"status":"PARTIAL_RESULTS"` when some failed, the common error (with
//! `results[]`) when all failed.

use std::future::Future;
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Value, json};

use super::ApiResponse;
use crate::error::{ErrorCode, FleetError};
use crate::federation::{ClusterOutcome, Federation, status};
use crate::registry::{Backend, Cluster};

/// Fan one upstream call out to `targets`: `client` builds the cluster's
/// backend client (its error becomes that cluster's outcome), `call` runs it.
pub async fn federated<K, T, M, C, Fut>(fed: &Federation, targets: &[Arc<Cluster>], backend: Backend, client: M, call: C) -> Vec<ClusterOutcome<T>>
where
    T: Send + 'static,
    M: Fn(&Federation, &Cluster) -> Result<K, FleetError>,
    C: Fn(K, Arc<Cluster>) -> Fut,
    Fut: Future<Output = Result<T, FleetError>> + Send + 'static,
{
    fed.fan_out(targets, backend, |cluster| {
        let fut = client(fed, &cluster).map(|c| call(c, cluster.clone()));
        async move { fut?.await }
    })
    .await
}

/// The seed's envelope around per-cluster results.
pub fn seed_response<T, R: Serialize>(
    outcomes: Vec<ClusterOutcome<T>>,
    total_ms: u64,
    data: impl Fn(&T) -> Value,
    result_type: impl Fn(&T) -> R,
) -> ApiResponse {
    if let Some(err) = status::all_failed(&outcomes) {
        let mut body = err.to_json();
        body["results"] = json!(status::statuses(&outcomes));
        return ApiResponse::json(err.code.http_status(), &body);
    }
    let mut succeeded = 0;
    let results: Vec<Value> = outcomes
        .iter()
        .map(|o| {
            let mut r = serde_json::to_value(o.status()).unwrap_or_default();
            if let Ok(v) = &o.result {
                succeeded += 1;
                r["result_type"] = json!(result_type(v));
                r["data"] = data(v);
            }
            r
        })
        .collect();
    let queried = results.len();
    let mut body = json!({
        "results": results,
        "total_query_time_ms": total_ms,
        "clusters_queried": queried,
        "clusters_succeeded": succeeded,
    });
    if succeeded < queried {
        body["status"] = json!(ErrorCode::PartialResults);
    }
    ApiResponse::json(if succeeded < queried { 206 } else { 200 }, &body)
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
