//! `/api/v1/cnf/*` (seed 000 §4.6): `workloads`, `ptp/status`, `dpdk/stats`,
//! `sriov/status` in the seed's per-cluster envelope (`results[]` with status,
//! `query_time_ms`, `clusters_queried`/`clusters_succeeded`; 206 when some
//! cluster failed). Parameters: `cluster_ids`, `node`, `pod` (`namespace/name`),
//! `port` (DPDK, an integer), `time` (PTP metrics evaluation time). They go
//! through the same query model as `queryType: cnf`, so the same validation
//! applies (a non-integer port never reaches a cluster).

use std::time::Instant;

use serde_json::{Value, json};

use super::envelope::seed_response;
use super::{ApiRequest, ApiResponse, method_not_allowed};
use crate::error::{ErrorCode, FleetError};
use crate::federation::{Federation, cnf};
use crate::query::cnf::CnfView;
use crate::query::{self, QueryEnvelope, QueryKind, TimeRange};

pub async fn route(fed: &Federation, req: &ApiRequest, rest: &[&str]) -> Result<ApiResponse, FleetError> {
    let view = match rest {
        ["workloads"] => CnfView::Workloads,
        ["ptp", "status"] => CnfView::Ptp,
        ["dpdk", "stats"] => CnfView::Dpdk,
        ["sriov", "status"] => CnfView::Sriov,
        _ => return Err(FleetError::new(ErrorCode::NotFound, format!("no resource at {:?}", req.path))),
    };
    if req.method != "GET" {
        return Err(method_not_allowed(&req.method, &req.path));
    }
    let p = &req.params;
    let mut q = json!({ "queryType": "cnf", "cnfView": view.as_str() });
    for key in ["pod", "node"] {
        if let Some(v) = p.get(key) {
            q[key] = json!(v);
        }
    }
    if let Some(port) = p.get("port") {
        q["port"] = json!(port);
    }
    let t = p.time_ms("time")?.unwrap_or_else(|| chrono::Utc::now().timestamp_millis());
    let env = QueryEnvelope { ref_id: "A".into(), time_range: TimeRange::new(t, t)?, interval_ms: 0, max_data_points: 0 };
    let parsed = query::parse("cnf", q.to_string().as_bytes(), env)?;
    let QueryKind::Cnf(cq) = &parsed.kind else {
        return Err(FleetError::internal("cnf resource parsed into another kind"));
    };
    let targets = fed.registry.targets(&p.cluster_ids())?;
    let started = Instant::now();
    let outcomes = cnf::fetch(fed, &targets, cq).await;
    let data = move |c: &cnf::ClusterCnf| -> Value {
        match view {
            CnfView::Workloads => json!(c.workloads),
            CnfView::Ptp => json!({ "nodes": c.ptp, "profiles": c.ptp_profiles }),
            CnfView::Dpdk => json!(c.dpdk),
            CnfView::Sriov => json!(c.sriov),
        }
    };
    Ok(seed_response(outcomes, started.elapsed().as_millis() as u64, data, |_| view.as_str().to_ascii_uppercase()))
}
