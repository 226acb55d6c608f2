//! The federation engine: one datasource instance's clients, and the fan-out
//! that runs one call against many clusters.
//!
//! Guarantees every query kind relies on:
//! * at most `query.maxParallel` clusters are in flight per instance;
//! * each cluster's call (retries included) is bounded by `query.timeoutSeconds`;
//! * a cluster's failure — error, timeout, even a panic in its conversion — is
//!   that cluster's [`ClusterOutcome`], never the others' and never the process';
//! * a cluster without the needed backend fails fast with `<BACKEND>_NOT_AVAILABLE`.
//!
//! Per-kind executors (`metrics.rs`, …) build on [`Federation::fan_out`] and turn
//! outcomes into frames; [`status`] turns outcomes into the per-cluster status
//! shown in `meta.custom`, notices and the HTTP API.

pub mod aggregate;
pub mod alerts;
pub mod breaker;
pub mod cnf;
pub mod gpu;
pub mod gpu_stream;
pub mod health;
pub mod logs;
pub mod metrics;
pub mod status;
pub mod trace_links;
pub mod traces;

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use crate::error::{ErrorCode, FleetError};
use crate::registry::{Backend, Cluster, ClusterId, Registry};
use crate::upstream::UpstreamError;
use crate::upstream::http::UpstreamClient;
use crate::upstream::prometheus::PrometheusClient;

/// Everything one datasource instance needs to answer queries.
pub struct Federation {
    pub registry: Arc<Registry>,
    clients: HashMap<(ClusterId, Backend), Result<UpstreamClient, UpstreamError>>,
    limiter: Arc<Semaphore>,
    /// Alertmanager HA replicas beyond the first URL (`alertmanager.replicas`).
    am_replicas: HashMap<ClusterId, Vec<Result<UpstreamClient, UpstreamError>>>,
    /// Per-cluster query results with single-flight (see `crate::cache`).
    pub cache: Arc<crate::cache::QueryCache>,
    /// Circuit breakers per cluster + backend.
    pub breakers: Arc<breaker::Breakers>,
    /// Clients of the ClickHouse stores (`jsonData.clickhouse`).
    pub clickhouse: crate::clickhouse::Stores,
}

impl std::fmt::Debug for Federation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Federation").field("clusters", &self.registry.clusters().len()).finish()
    }
}

/// The result of one cluster's call.
#[derive(Debug)]
pub struct ClusterOutcome<T> {
    pub cluster: Arc<Cluster>,
    pub result: Result<T, FleetError>,
    pub elapsed: Duration,
}

impl Federation {
    /// Build the per-endpoint clients. A client that cannot be built (bad PEM)
    /// fails only its cluster, at query time, with the reason.
    pub fn new(registry: Registry) -> Self {
        let mut clients = HashMap::new();
        for c in registry.clusters() {
            for b in c.backends() {
                if let Some(ep) = c.endpoint(b) {
                    clients.insert((c.id.clone(), b), UpstreamClient::new(ep, &registry.limits));
                }
            }
        }
        let limiter = Arc::new(Semaphore::new(registry.limits.max_parallel));
        let am_replicas = registry
            .clusters()
            .iter()
            .filter_map(|c| c.alertmanager.as_ref().map(|ep| (c.id.clone(), ep)))
            .map(|(id, ep)| (id, ep.replicas.iter().map(|r| UpstreamClient::new(r, &registry.limits)).collect()))
            .collect();
        let cache = Arc::new(crate::cache::QueryCache::new(&registry.settings.cache));
        let clickhouse = crate::clickhouse::Stores::new(&registry);
        Federation { registry: Arc::new(registry), clients, limiter, am_replicas, cache, breakers: Arc::default(), clickhouse }
    }

    /// The HTTP client of a cluster's backend, or why there is none.
    pub fn client(&self, cluster: &Cluster, backend: Backend) -> Result<UpstreamClient, FleetError> {
        match self.clients.get(&(cluster.id.clone(), backend)) {
            Some(Ok(c)) => Ok(c.clone()),
            Some(Err(e)) => Err(e.clone().into_fleet(&cluster.name, backend)),
            None => {
                Err(FleetError::new(backend.not_available_code(), format!("{}: no {backend} endpoint is configured for this cluster", cluster.name)))
            }
        }
    }

    /// Clients of every Alertmanager replica of a cluster (the `url` first).
    pub fn alertmanager_clients(&self, cluster: &Cluster) -> Vec<Result<UpstreamClient, FleetError>> {
        let mut out = vec![self.client(cluster, Backend::Alertmanager)];
        for r in self.am_replicas.get(&cluster.id).into_iter().flatten() {
            out.push(r.clone().map_err(|e| e.into_fleet(&cluster.name, Backend::Alertmanager)));
        }
        out
    }

    /// The Prometheus-API client of a cluster.
    pub fn prometheus(&self, cluster: &Cluster) -> Result<PrometheusClient, FleetError> {
        let http = self.client(cluster, Backend::Prometheus)?;
        let kind = cluster.prometheus.as_ref().map(|p| p.prometheus_kind).unwrap_or_default();
        Ok(PrometheusClient::new(http, kind))
    }

    /// Run `call` for every target cluster in parallel under the instance's
    /// limits. `call` gets the cluster and returns its result; upstream errors
    /// are named with the cluster and `backend`. Outcomes keep target order.
    pub async fn fan_out<T, F, Fut>(&self, targets: &[Arc<Cluster>], backend: Backend, call: F) -> Vec<ClusterOutcome<T>>
    where
        T: Send + 'static,
        F: Fn(Arc<Cluster>) -> Fut,
        Fut: Future<Output = Result<T, FleetError>> + Send + 'static,
    {
        let timeout = self.registry.limits.timeout;
        let handles: Vec<_> = targets
            .iter()
            .map(|cluster| {
                let cluster = cluster.clone();
                let limiter = self.limiter.clone();
                let fut = call(cluster.clone());
                let name = cluster.name.clone();
                let cluster = cluster.clone();
                let breakers = self.breakers.clone();
                tokio::spawn(async move {
                    let breaker_key = format!("{}/{backend}", cluster.id);
                    if !breakers.admit(&breaker_key) {
                        let err = FleetError::new(
                            ErrorCode::CircuitOpen,
                            format!(
                                "{name} ({backend}): circuit open after repeated failures; skipped for up to {}s, then probed",
                                breaker::COOL_DOWN.as_secs()
                            ),
                        );
                        return Ok::<_, FleetError>((Err(err), Duration::ZERO));
                    }
                    // The semaphore is never closed; a failed acquire means shutdown.
                    let _permit = limiter.acquire_owned().await.map_err(|_| FleetError::internal("shutting down"))?;
                    let started = Instant::now();
                    let result = match tokio::time::timeout(timeout, fut).await {
                        Ok(r) => r,
                        Err(_) => Err(UpstreamError::Timeout(timeout).into_fleet(&name, backend)),
                    };
                    let elapsed = started.elapsed();
                    let error_code = result.as_ref().err().map(|e| e.code);
                    breakers.record(&breaker_key, error_code.is_some_and(breaker::counts_as_failure));
                    crate::telemetry::record_cluster_call(
                        cluster.id.as_str(),
                        backend.as_str(),
                        elapsed.as_secs_f64(),
                        error_code.map(ErrorCode::as_str),
                    );
                    Ok::<_, FleetError>((result, elapsed))
                })
            })
            .collect();
        let mut out = Vec::with_capacity(targets.len());
        for (cluster, handle) in targets.iter().zip(handles) {
            let (result, elapsed) = match handle.await {
                Ok(Ok((r, e))) => (r, e),
                Ok(Err(e)) => (Err(e), Duration::ZERO),
                Err(join) => {
                    tracing::error!(cluster = %cluster.id, error = %join, "cluster task failed");
                    (Err(FleetError::internal(format!("{}: internal error while processing this cluster", cluster.name))), Duration::ZERO)
                }
            };
            out.push(ClusterOutcome { cluster: cluster.clone(), result, elapsed });
        }
        out
    }
}

/// Map an upstream error for `cluster`/`backend` (for use in `fan_out` calls).
pub fn named(cluster: &Cluster, backend: Backend) -> impl Fn(UpstreamError) -> FleetError + '_ {
    move |e| e.into_fleet(&cluster.name, backend)
}

/// A decoding failure of an upstream body, named with cluster and backend.
pub fn decode_error(cluster: &Cluster, backend: Backend, message: impl std::fmt::Display) -> FleetError {
    FleetError::new(ErrorCode::UpstreamError, format!("{} ({backend}): invalid response: {message}", cluster.name))
}

/// Execute one parsed query of any kind.
pub async fn execute(fed: &Federation, req: &crate::query::QueryRequest) -> Result<Vec<crate::frames::Frame>, FleetError> {
    match &req.kind {
        crate::query::QueryKind::Metrics(q) => metrics::run(fed, &req.ref_id, &req.clusters, q).await,
        crate::query::QueryKind::Clickhouse(q) => crate::clickhouse::run(fed, &req.ref_id, &req.clusters, q).await,
        crate::query::QueryKind::Logs(q) => logs::run(fed, &req.ref_id, &req.clusters, q).await,
        crate::query::QueryKind::Traces(q) => traces::run(fed, &req.ref_id, &req.clusters, q).await,
        crate::query::QueryKind::Alerts(q) => alerts::run(fed, &req.ref_id, &req.clusters, q).await,
        crate::query::QueryKind::Gpu(q) => gpu::run(fed, &req.ref_id, &req.clusters, q).await,
        crate::query::QueryKind::Cnf(q) => cnf::run(fed, &req.ref_id, &req.clusters, q).await,
    }
}
