//! The health check: a real, cheap call to every configured backend of every
//! enabled cluster, through the same clients, limits, retries and breakers as
//! queries use — Prometheus answers `vector(1)` at "now" through the metrics
//! fan-out and converter (plus its build info for the version), Loki its label
//! names of the last five minutes, Tempo its build info, Alertmanager its
//! status, Kubernetes `/version`. A cluster is healthy when every backend it
//! registers answers; `checks` says which one did not. Each discovery source
//! is reported too (`sources`): a source whose last look failed, or that found
//! clusters it had to skip, makes the check fail with its reason. Shared by
//! CheckHealth and `gpx_fleetscope check`.

use std::sync::Arc;

use serde::Serialize;

use super::status::Status;
use super::{Federation, metrics, named};
use crate::error::ErrorCode;
use crate::query::MetricsQuery;
use crate::query::metrics::Aggregate;
use crate::registry::{Backend, Cluster};
use crate::upstream::alertmanager::AlertmanagerClient;

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
    /// One entry per registered backend, in `backends` order.
    pub checks: Vec<BackendHealth>,
}

/// One backend of a cluster, as the health check found it.
#[derive(Debug, Clone, Serialize)]
pub struct BackendHealth {
    pub backend: Backend,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<ErrorCode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub latency_ms: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct HealthReport {
    pub status: Overall,
    pub message: String,
    pub clusters: Vec<ClusterHealth>,
    /// The discovery sources (empty without `jsonData.discovery`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<crate::registry::sources::SourceReport>,
}

/// Check every backend of every enabled, online cluster, and report the discovery sources.
pub async fn check(fed: &Federation) -> HealthReport {
    let mut report = check_clusters(fed).await;
    let sources: Vec<crate::registry::sources::SourceReport> = fed.registry.discovery.iter().cloned().collect();
    let failing: Vec<String> = sources
        .iter()
        .filter_map(|s| {
            let mut why: Vec<String> = s.error.iter().cloned().collect();
            why.extend(s.cluster_errors.iter().map(|e| e.error.clone()));
            (!why.is_empty()).then(|| format!("discovery source {} ({}): {}", s.name, s.kind.as_str(), why.join("; ")))
        })
        .collect();
    if !failing.is_empty() {
        if report.status == Overall::Ok {
            report.status = Overall::Partial;
        }
        report.message = format!("{}; {}", report.message, failing.join("; "));
    }
    report.sources = sources;
    report
}

async fn check_clusters(fed: &Federation) -> HealthReport {
    let targets: Vec<Arc<Cluster>> = fed.registry.clusters().iter().filter(|c| c.in_all()).cloned().collect();
    if targets.is_empty() {
        let hint = if fed.registry.discovery.is_empty() {
            "add one under jsonData.clusters"
        } else {
            "add one under jsonData.clusters, or check that the discovery sources find online clusters"
        };
        return HealthReport {
            status: Overall::Error,
            message: format!("no enabled clusters are registered: {hint}"),
            clusters: Vec::new(),
            sources: Vec::new(),
        };
    }
    let (prometheus, versions, others, clickhouse) = tokio::join!(
        prometheus_checks(fed, &targets),
        versions(fed, &targets),
        other_checks(fed, &targets),
        super::clickhouse::health(fed, &targets)
    );
    let clusters: Vec<ClusterHealth> = targets
        .iter()
        .map(|cluster| {
            let version = versions.iter().find(|(id, _)| id == cluster.id.as_str()).and_then(|(_, v)| v.clone());
            let checks: Vec<BackendHealth> =
                prometheus.iter().chain(&others).chain(&clickhouse).filter(|(id, _)| *id == cluster.id.as_str()).map(|(_, h)| h.clone()).collect();
            let failed = checks.iter().find(|c| c.status != Status::Success);
            ClusterHealth {
                cluster_id: cluster.id.to_string(),
                cluster_name: cluster.name.clone(),
                status: if failed.is_some() { Status::Error } else { Status::Success },
                error_code: failed.and_then(|c| c.error_code),
                error: failed.and_then(|c| c.error.clone()),
                latency_ms: checks.iter().map(|c| c.latency_ms).max().unwrap_or(0),
                version,
                backends: cluster.backends(),
                checks,
            }
        })
        .collect();
    let healthy = clusters.iter().filter(|c| c.status == Status::Success).count();
    // Each failing cluster with the backends that failed: "prod-east-1 (loki: CLUSTER_UNREACHABLE)".
    let failing: Vec<String> = clusters
        .iter()
        .filter(|c| c.status == Status::Error)
        .map(|c| {
            let backends: Vec<String> = c
                .checks
                .iter()
                .filter(|b| b.status != Status::Success)
                .map(|b| format!("{}: {}", b.backend, b.error_code.map(|e| e.as_str()).unwrap_or("ERROR")))
                .collect();
            format!("{} ({})", c.cluster_name, backends.join(", "))
        })
        .collect();
    let answering = clusters.iter().filter(|c| c.checks.iter().any(|b| b.status == Status::Success)).count();
    let (status, message) = if healthy == clusters.len() {
        (Overall::Ok, format!("all {healthy} clusters are reachable"))
    } else if answering == 0 {
        (Overall::Error, format!("no cluster is reachable: {}", failing.join(", ")))
    } else if healthy == 0 {
        (Overall::Error, format!("no cluster has every backend answering: {}", failing.join(", ")))
    } else {
        (Overall::Partial, format!("{healthy} of {} clusters are healthy; failing: {}", clusters.len(), failing.join(", ")))
    };
    HealthReport { status, message, clusters, sources: Vec::new() }
}

fn with(targets: &[Arc<Cluster>], backend: Backend) -> Vec<Arc<Cluster>> {
    targets.iter().filter(|c| c.backends().contains(&backend)).cloned().collect()
}

fn backend_health(backend: Backend, status: super::status::ClusterStatus) -> (String, BackendHealth) {
    let h = BackendHealth { backend, status: status.status, error_code: status.error_code, error: status.error, latency_ms: status.query_time_ms };
    (status.cluster_id, h)
}

/// `vector(1)` at "now" through the metrics fan-out (cache bypassed).
async fn prometheus_checks(fed: &Federation, targets: &[Arc<Cluster>]) -> Vec<(String, BackendHealth)> {
    let targets = with(targets, Backend::Prometheus);
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
        both: false,
        inputs: None,
        datasource_uid: None,
    };
    let outcomes = metrics::fetch(fed, &targets, &probe, metrics::CacheUse::Bypass).await;
    outcomes.iter().map(|o| backend_health(Backend::Prometheus, o.status())).collect()
}

/// Loki, Tempo, Alertmanager and Kubernetes, each through its own client.
async fn other_checks(fed: &Federation, targets: &[Arc<Cluster>]) -> Vec<(String, BackendHealth)> {
    let loki = with(targets, Backend::Loki);
    let tempo = with(targets, Backend::Tempo);
    let am = with(targets, Backend::Alertmanager);
    let k8s = with(targets, Backend::Kubernetes);
    let now = chrono::Utc::now().timestamp_millis();
    let (l, t, a, k) = tokio::join!(
        fed.fan_out(&loki, Backend::Loki, |c| {
            let client = fed.loki(&c);
            async move { client?.labels(None, Some(now - 300_000), Some(now)).await.map(drop).map_err(named(&c, Backend::Loki)) }
        }),
        fed.fan_out(&tempo, Backend::Tempo, |c| {
            let client = super::traces::tempo(fed, &c);
            async move { client?.buildinfo().await.map(drop).map_err(named(&c, Backend::Tempo)) }
        }),
        fed.fan_out(&am, Backend::Alertmanager, |c| {
            let client = fed.client(&c, Backend::Alertmanager).map(AlertmanagerClient::new);
            async move { client?.status().await.map(drop).map_err(named(&c, Backend::Alertmanager)) }
        }),
        fed.fan_out(&k8s, Backend::Kubernetes, |c| {
            let client = fed.kube(&c);
            async move { client?.version().await.map(drop).map_err(named(&c, Backend::Kubernetes)) }
        }),
    );
    let mut out = Vec::new();
    for (backend, outcomes) in [(Backend::Loki, l), (Backend::Tempo, t), (Backend::Alertmanager, a), (Backend::Kubernetes, k)] {
        out.extend(outcomes.iter().map(|o| backend_health(backend, o.status())));
    }
    out
}

/// Prometheus build versions by cluster id (clusters with Prometheus only).
async fn versions(fed: &Federation, targets: &[Arc<Cluster>]) -> Vec<(String, Option<String>)> {
    #[derive(serde::Deserialize)]
    struct Build {
        data: BuildData,
    }
    #[derive(serde::Deserialize)]
    struct BuildData {
        version: String,
    }
    let outcomes = fed
        .fan_out(&with(targets, Backend::Prometheus), Backend::Prometheus, |cluster| {
            let client = fed.prometheus(&cluster);
            async move {
                let body = client?.buildinfo().await.map_err(|e| crate::error::FleetError::new(e.code(), e.to_string()))?;
                Ok(serde_json::from_slice::<Build>(&body).ok().map(|b| b.data.version))
            }
        })
        .await;
    outcomes.into_iter().map(|o| (o.cluster.id.to_string(), o.result.ok().flatten())).collect()
}
