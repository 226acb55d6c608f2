//! Per-cluster status: what every face reports about each cluster it asked.
//!
//! The same [`ClusterStatus`] list appears in frame `meta.custom.clusters`, in
//! warning notices on the first frame, in the HTTP API's `results[]`, and in
//! CheckHealth details. A query fails only when every targeted cluster failed.

use serde::Serialize;

use super::ClusterOutcome;
use crate::error::{ErrorCode, FleetError};
use crate::frames::{Notice, NoticeSeverity};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Success,
    Error,
}

/// How one cluster fared.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterStatus {
    pub cluster_id: String,
    pub cluster_name: String,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<ErrorCode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub query_time_ms: u64,
}

impl<T> ClusterOutcome<T> {
    pub fn status(&self) -> ClusterStatus {
        let (status, error_code, error) = match &self.result {
            Ok(_) => (Status::Success, None, None),
            Err(e) => (Status::Error, Some(e.code), Some(e.message.clone())),
        };
        ClusterStatus {
            cluster_id: self.cluster.id.to_string(),
            cluster_name: self.cluster.name.clone(),
            status,
            error_code,
            error,
            query_time_ms: self.elapsed.as_millis() as u64,
        }
    }
}

/// The statuses of all outcomes, in target order.
pub fn statuses<T>(outcomes: &[ClusterOutcome<T>]) -> Vec<ClusterStatus> {
    outcomes.iter().map(ClusterOutcome::status).collect()
}

/// Warning notices for failed clusters, plus a PARTIAL_RESULTS summary when
/// some (not all) failed.
pub fn failure_notices(statuses: &[ClusterStatus]) -> Vec<Notice> {
    let failed: Vec<&ClusterStatus> = statuses.iter().filter(|s| s.status == Status::Error).collect();
    if failed.is_empty() {
        return Vec::new();
    }
    let mut notices = Vec::with_capacity(failed.len() + 1);
    notices.push(Notice {
        severity: NoticeSeverity::Warning,
        text: format!(
            "{}: {} of {} clusters answered; failed: {}",
            ErrorCode::PartialResults,
            statuses.len() - failed.len(),
            statuses.len(),
            failed.iter().map(|s| s.cluster_name.as_str()).collect::<Vec<_>>().join(", ")
        ),
    });
    for s in failed {
        let code = s.error_code.map(|c| c.as_str()).unwrap_or("ERROR");
        notices.push(Notice { severity: NoticeSeverity::Warning, text: format!("{code}: {}", s.error.as_deref().unwrap_or("")) });
    }
    notices
}

/// When every cluster failed: one error for the whole query. Uses the common
/// code when all clusters agree, else CLUSTER_UNREACHABLE; the message lists each.
pub fn all_failed<T>(outcomes: &[ClusterOutcome<T>]) -> Option<FleetError> {
    if outcomes.is_empty() {
        return Some(FleetError::new(ErrorCode::ClusterNotFound, "no enabled clusters are registered in this datasource"));
    }
    let errors: Vec<&FleetError> = outcomes.iter().filter_map(|o| o.result.as_ref().err()).collect();
    if errors.len() < outcomes.len() {
        return None;
    }
    let code = if errors.iter().all(|e| e.code == errors[0].code) { errors[0].code } else { ErrorCode::ClusterUnreachable };
    let message = if errors.len() == 1 {
        errors[0].message.clone()
    } else {
        format!("all {} clusters failed: {}", errors.len(), errors.iter().map(|e| format!("{} {}", e.code, e.message)).collect::<Vec<_>>().join("; "))
    };
    Some(FleetError::new(code, message))
}
