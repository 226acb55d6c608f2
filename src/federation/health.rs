//! The health check: a real, cheap query per cluster through the same fan-out
//! and converter as dashboards use (`vector(1)` at "now"), plus the upstream's
//! build info for the version. Shared by CheckHealth and `gpx_fleetscope check`.

use std::sync::Arc;

use serde::Serialize;

use super::status::Status;
use super::{Federation, metrics};
use crate::query::MetricsQuery;
use crate::query::metrics::Aggregate;
use crate::registry::{Backend, Cluster};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Overall {
    Ok,
    Partial,
    Error,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClusterHealth {
    pub cluster_id: String,
    pub cluster_name: String,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<crate::error::ErrorCode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub latency_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub backends: Vec<Backend>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HealthReport {
    pub status: Overall,
    pub message: String,
    pub clusters: Vec<ClusterHealth>,
}

/// Check every enabled cluster that has a Prometheus endpoint.
pub async fn check(fed: &Federation) -> HealthReport {
    let targets: Vec<Arc<Cluster>> = fed.registry.clusters().iter().filter(|c| c.enabled).cloned().collect();
    if targets.is_empty() {
        return HealthReport {
            status: Overall::Error,
            message: "no enabled clusters are registered: add one under jsonData.clusters".into(),
            clusters: Vec::new(),
        };
    }
    let now = chrono::Utc::now().timestamp_millis();
    let probe = MetricsQuery {
        expr: "vector(1)".into(),
        instant: true,
        aggregate: Aggregate::Merge,
        legend_format: None,
        exemplars: false,
        step_ms: 1000,
        start_ms: now,
        end_ms: now,
    };
    let (outcomes, versions) = tokio::join!(metrics::fetch(fed, &targets, &probe, metrics::CacheUse::Bypass), versions(fed, &targets));
    let clusters: Vec<ClusterHealth> = outcomes
        .iter()
        .zip(versions)
        .map(|(o, version)| {
            let s = o.status();
            ClusterHealth {
                cluster_id: s.cluster_id,
                cluster_name: s.cluster_name,
                status: s.status,
                error_code: s.error_code,
                error: s.error,
                latency_ms: s.query_time_ms,
                version,
                backends: o.cluster.backends(),
            }
        })
        .collect();
    let healthy = clusters.iter().filter(|c| c.status == Status::Success).count();
    let failing: Vec<String> = clusters
        .iter()
        .filter(|c| c.status == Status::Error)
        .map(|c| format!("{} ({})", c.cluster_name, c.error_code.map(|e| e.as_str()).unwrap_or("ERROR")))
        .collect();
    let (status, message) = if healthy == clusters.len() {
        (Overall::Ok, format!("all {healthy} clusters are reachable"))
    } else if healthy == 0 {
        (Overall::Error, format!("no cluster is reachable: {}", failing.join(", ")))
    } else {
        (Overall::Partial, format!("{healthy} of {} clusters are reachable; failing: {}", clusters.len(), failing.join(", ")))
    };
    HealthReport { status, message, clusters }
}

async fn versions(fed: &Federation, targets: &[Arc<Cluster>]) -> Vec<Option<String>> {
    #[derive(serde::Deserialize)]
    struct Build {
        data: BuildData,
    }
    #[derive(serde::Deserialize)]
    struct BuildData {
        version: String,
    }
    let outcomes = fed
        .fan_out(targets, Backend::Prometheus, |cluster| {
            let client = fed.prometheus(&cluster);
            async move {
                let body = client?.buildinfo().await.map_err(|e| crate::error::FleetError::new(e.code(), e.to_string()))?;
                Ok(serde_json::from_slice::<Build>(&body).ok().map(|b| b.data.version))
            }
        })
        .await;
    outcomes.into_iter().map(|o| o.result.ok().flatten()).collect()
}
