//! The harness the integration suites share: a [`Federation`] from a
//! provisioning-shaped YAML registry, one query run the way QueryData runs it
//! (`query::parse` then `federation::execute`), and Grafana's frame invariants
//! checked on every answer [`run`] returns.
//!
//! The suites of `tests/integration.rs` reach it as `crate::support` (most
//! say `use crate::support as harness;`); the binaries of their own
//! (`fault_matrix`, `cache_and_breaker`) mount it with
//! `#[path = "support/mod.rs"] mod harness;`. The submodules are the servers
//! and the stack's address book the suites share.

#![allow(dead_code)]

/// The Kubernetes-API test server: lists, watch, service proxy, exec websocket.
pub mod kube_api;
/// The Loki-API replay server and its fixtures.
pub mod loki;
/// Ports for child-process servers, outside the kernel's ephemeral range.
pub mod ports;
/// The running test stack's addresses (`FLEETSCOPE_STACK_ENV`).
pub mod stack_env;
/// Per-test temp directories, kept only when the test fails.
pub mod temp;

use std::collections::BTreeSet;
use std::sync::Arc;

use fleetscope::error::FleetError;
use fleetscope::federation::{self, Federation};
use fleetscope::frames::{self, Frame};
use fleetscope::query::{self, QueryEnvelope, TimeRange};
use fleetscope::registry::Registry;
use serde_json::Value;

/// A federation over the registry in `yaml` (`jsonData:` + `secureJsonData:`).
pub fn federation(yaml: &str) -> Arc<Federation> {
    Arc::new(Federation::new(Registry::from_yaml(yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"))))
}

/// What Grafana sends around a query over `[from_ms, to_ms]`: refId `A`, a 15 s
/// interval and 1000 data points, as a dashboard panel of ordinary width does.
pub fn envelope(from_ms: i64, to_ms: i64) -> QueryEnvelope {
    QueryEnvelope { ref_id: "A".into(), time_range: TimeRange::new(from_ms, to_ms).unwrap(), interval_ms: 15_000, max_data_points: 1000 }
}

/// Parse and execute `query` over `[from_ms, to_ms]`; every frame of a
/// successful answer must pass [`assert_frame_invariants`].
pub async fn run(fed: &Federation, query: &Value, from_ms: i64, to_ms: i64) -> Result<Vec<Frame>, FleetError> {
    run_in(fed, query, envelope(from_ms, to_ms)).await
}

/// [`run`] with an envelope of the caller's.
pub async fn run_in(fed: &Federation, query: &Value, env: QueryEnvelope) -> Result<Vec<Frame>, FleetError> {
    let req = query::parse("", query.to_string().as_bytes(), env)?;
    let frames = federation::execute(fed, &req).await?;
    assert_frame_invariants(&frames);
    Ok(frames)
}

/// What Grafana needs of every frame it is given:
/// - every field of a frame has the same number of values;
/// - no two fields of a frame share both name and labels (Grafana keys fields by them);
/// - a frame with a data-plane `meta.type` has a non-zero `typeVersion`
///   (server-side expressions take the data-plane path only then);
/// - both encoders accept it: Arrow IPC (QueryData) and frame JSON (streams, HTTP API).
pub fn assert_frame_invariants(frames: &[Frame]) {
    for (i, frame) in frames.iter().enumerate() {
        let ctx = format!("frame {i} ({:?}, refId {:?})", frame.name, frame.ref_id);
        if let Some(first) = frame.fields.first() {
            for field in &frame.fields {
                assert_eq!(
                    field.len(),
                    first.len(),
                    "{ctx}: field {:?} has {} values, {:?} has {}",
                    field.name,
                    field.len(),
                    first.name,
                    first.len()
                );
            }
        }
        let mut seen = BTreeSet::new();
        for field in &frame.fields {
            assert!(
                seen.insert((field.name.clone(), field.labels.clone())),
                "{ctx}: two fields named {:?} with labels {:?}",
                field.name,
                field.labels
            );
        }
        if let Some(meta) = &frame.meta
            && meta.frame_type.is_some()
        {
            let version = meta.type_version.unwrap_or([0, 0]);
            assert!(version != [0, 0], "{ctx}: meta.type {:?} without a typeVersion", meta.frame_type);
        }
        frames::arrow::encode(frame).unwrap_or_else(|e| panic!("{ctx}: Arrow encoding failed: {e}"));
        let json = frames::json::to_json_bytes(frame);
        serde_json::from_slice::<Value>(&json).unwrap_or_else(|e| panic!("{ctx}: frame JSON is invalid: {e}"));
    }
}
