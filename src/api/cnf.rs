//! `/api/v1/cnf/*` (seed 000 §4.6): `workloads`, `ptp/status`, `dpdk/stats`,
//! `sriov/status` in the seed's per-cluster envelope (`results[]` with status,
//! `query_time_ms`, `clusters_queried`/`clusters_succeeded`; 206 when some
//! cluster failed). Parameters: `cluster_ids`, `node`, `pod` (`namespace/name`),
//! `port` (DPDK, an integer), `time` (PTP metrics evaluation time). They go
//! through the same constructor as `queryType: cnf` ([`CnfQuery::new`]), so
//! the same validation applies (a non-integer port never reaches a cluster).

use std::time::Instant;

use serde_json::{Value, json};

use super::envelope::seed_response;
use super::{ApiRequest, ApiResponse, method_not_allowed};
use crate::error::{ErrorCode, FleetError};
use crate::federation::{Federation, cnf};
use crate::query::cnf::{CnfQuery, CnfView, PodSelector, parse_port_text};
use crate::query::{QueryEnvelope, TimeRange};

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
    let t = p.time_ms("time")?.unwrap_or_else(|| chrono::Utc::now().timestamp_millis());
    let env = QueryEnvelope { ref_id: "A".into(), time_range: TimeRange::new(t, t)?, interval_ms: 0, max_data_points: 0 };
    let pod = PodSelector::parse(p.get("pod").unwrap_or(""))?;
    let port = parse_port_text(p.get("port").unwrap_or(""))?;
    let cq = &CnfQuery::new(view, pod, p.get("node"), port, &env)?;
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
