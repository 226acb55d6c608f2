//! The federation engine: one datasource instance's clients, and the fan-out
//! that runs one call against many clusters.
//!
//! Guarantees every query kind relies on:
//! * one deadline per query ([`deadline`]): `query.timeoutSeconds` from its
//!   arrival, never later than Grafana's gRPC deadline. Everything a cluster's
//!   call does — waiting for a slot, the request, retries, backoff — ends by
//!   it; a cluster still out at the deadline is that cluster's `QUERY_TIMEOUT`
//!   and `fan_out` returns at the deadline with every other cluster's answer;
//! * at most `query.maxParallelPerCluster` requests are in flight per cluster
//!   and backend, and at most `query.maxParallel` in all, per instance. A call
//!   takes its cluster's slot *before* a global one, so requests piling up
//!   behind a hung cluster wait on that cluster's slots alone and can hold at
//!   most `maxParallelPerCluster` of the global ones: a query to healthy
//!   clusters never queues behind a sick one;
//! * a cluster's failure — error, timeout, even a panic in its conversion — is
//!   that cluster's [`ClusterOutcome`], never the others' and never the process';
//! * the circuit breaker ([`breaker`]) learns only from requests that were
//!   sent: a call that timed out in the queue neither opens nor closes it;
//! * a cluster without the needed backend fails fast with `<BACKEND>_NOT_AVAILABLE`.
//!
//! Per-kind executors (`metrics.rs`, …) build on [`Federation::fan_out`] and turn
//! outcomes into frames; [`status`] turns outcomes into the per-cluster status
//! shown in `meta.custom`, notices and the HTTP API.

pub mod aggregate;
pub mod alerts;
pub mod breaker;
pub mod clickhouse;
pub mod cnf;
pub mod gpu;
pub mod gpu_stream;
pub mod health;
pub mod logs;
pub mod lookups;
pub mod metrics;
pub mod status;
pub mod trace_links;
pub mod traces;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::deadline::{self, Deadline};

use crate::error::{ErrorCode, FleetError};
use crate::registry::{Backend, Cluster, ClusterId, Registry};
use crate::upstream::UpstreamError;
use crate::upstream::http::UpstreamClient;
use crate::upstream::kube::KubeClient;
use crate::upstream::prometheus::PrometheusClient;

/// A cluster's Kubernetes client, built on first use (it needs the runtime) and
/// kept for as long as the cluster is unchanged.
type KubeSlot = Arc<OnceLock<Result<KubeClient, UpstreamError>>>;

/// The per cluster + backend semaphores, created on first use, keyed by
/// `Cluster::state_key` (a new cluster reusing an id gets its own).
type ClusterSlots = Mutex<HashMap<(String, Backend), Arc<Semaphore>>>;

/// Everything one datasource instance needs to answer queries.
pub struct Federation {
    pub registry: Arc<Registry>,
    clients: HashMap<(ClusterId, Backend), Result<UpstreamClient, UpstreamError>>,
    /// One Kubernetes client per cluster, built once.
    kube: HashMap<ClusterId, KubeSlot>,
    /// `query.maxParallel`: requests in flight across all clusters.
    limiter: Arc<Semaphore>,
    /// `query.maxParallelPerCluster`: requests in flight per cluster + backend.
    cluster_slots: Arc<ClusterSlots>,
    /// Alertmanager HA replicas beyond the first URL (`alertmanager.replicas`).
    am_replicas: HashMap<ClusterId, Vec<Result<UpstreamClient, UpstreamError>>>,
    /// Per-cluster query results with single-flight (see `crate::cache`).
    pub cache: Arc<crate::cache::QueryCache>,
    /// Circuit breakers per cluster + backend.
    pub breakers: Arc<breaker::Breakers>,
    /// GPU node probes under way and their recent answers (`federation::gpu`).
    pub gpu_nodes: Arc<crate::cache::probe_flights::ProbeFlights<crate::probes::gpu::NodeGpus>>,
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
        let cache = Arc::new(crate::cache::QueryCache::new(&registry.settings.cache));
        let clickhouse = crate::clickhouse::Stores::new(&registry);
        let mut fed = Federation {
            limiter: Arc::new(Semaphore::new(registry.limits.max_parallel)),
            registry: Arc::new(registry),
            clients: HashMap::new(),
            kube: HashMap::new(),
            cluster_slots: Arc::default(),
            am_replicas: HashMap::new(),
            cache,
            breakers: Arc::default(),
            gpu_nodes: Arc::default(),
            clickhouse,
        };
        fed.connect(None);
        fed
    }

    /// The same instance over a new cluster set (discovery changed it): limits,
    /// cache, breakers and ClickHouse stores are shared; a cluster that is the
    /// same `Arc` as before keeps its clients; state of clusters that are gone
    /// (or changed endpoints) is dropped. In-flight calls keep what they hold.
    pub fn next(&self, registry: Registry) -> Federation {
        let mut fed = Federation {
            registry: Arc::new(registry),
            clients: HashMap::new(),
            kube: HashMap::new(),
            limiter: self.limiter.clone(),
            cluster_slots: self.cluster_slots.clone(),
            am_replicas: HashMap::new(),
            cache: self.cache.clone(),
            breakers: self.breakers.clone(),
            gpu_nodes: self.gpu_nodes.clone(),
            clickhouse: self.clickhouse.clone(),
        };
        fed.connect(Some(self));
        let live: HashSet<&str> = fed.registry.clusters().iter().map(|c| c.state_key()).collect();
        fed.cluster_slots.lock().unwrap_or_else(|p| p.into_inner()).retain(|(key, _), _| live.contains(key.as_str()));
        fed.breakers.retain(|key| live.contains(breaker::cluster_part(key)));
        fed
    }

    /// Clients for every cluster, taken from `prev` where the cluster is unchanged.
    fn connect(&mut self, prev: Option<&Federation>) {
        let limits = self.registry.limits.clone();
        for c in self.registry.clusters() {
            let same = prev.filter(|p| p.registry.get(c.id.as_str()).is_some_and(|old| Arc::ptr_eq(old, c)));
            for b in c.backends() {
                let Some(ep) = c.endpoint(b) else { continue };
                let key = (c.id.clone(), b);
                let client = same.and_then(|p| p.clients.get(&key).cloned()).unwrap_or_else(|| UpstreamClient::new(ep, &limits));
                self.clients.insert(key, client);
            }
            if let Some(ep) = &c.alertmanager {
                let replicas = same
                    .and_then(|p| p.am_replicas.get(&c.id).cloned())
                    .unwrap_or_else(|| ep.replicas.iter().map(|r| UpstreamClient::new(r, &limits)).collect());
                self.am_replicas.insert(c.id.clone(), replicas);
            }
            if c.kubernetes.is_some() {
                let slot = same.and_then(|p| p.kube.get(&c.id).cloned()).unwrap_or_default();
                self.kube.insert(c.id.clone(), slot);
            }
        }
    }

    /// The Kubernetes client of a cluster (built on first use, then reused), or why there is none.
    pub fn kube(&self, cluster: &Cluster) -> Result<KubeClient, FleetError> {
        let Some(access) = &cluster.kubernetes else {
            return Err(FleetError::new(
                ErrorCode::KubernetesNotAvailable,
                format!("{}: no kubernetes access is configured for this cluster", cluster.name),
            ));
        };
        let build = || KubeClient::new(access, &self.registry.limits);
        let built = match self.kube.get(&cluster.id) {
            Some(slot) => slot.get_or_init(build).clone(),
            // A cluster from outside this federation's registry (never in practice): a client of its own.
            None => build(),
        };
        built.map_err(named(cluster, Backend::Kubernetes))
    }

    /// This instance seen through a subset of its clusters (`serve` tokens
    /// restricted to some clusters): clients, limits, cache and breakers are shared.
    pub fn restricted(&self, keep: impl Fn(&Cluster) -> bool) -> Federation {
        Federation {
            registry: Arc::new(self.registry.restricted(keep)),
            clients: self.clients.clone(),
            kube: self.kube.clone(),
            limiter: self.limiter.clone(),
            cluster_slots: self.cluster_slots.clone(),
            am_replicas: self.am_replicas.clone(),
            cache: self.cache.clone(),
            breakers: self.breakers.clone(),
            gpu_nodes: self.gpu_nodes.clone(),
            clickhouse: self.clickhouse.clone(),
        }
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

    /// The concurrency limit of one cluster's backend (`query.maxParallelPerCluster`).
    fn cluster_slots(&self, cluster: &Cluster, backend: Backend) -> Arc<Semaphore> {
        let mut slots = self.cluster_slots.lock().unwrap_or_else(|p| p.into_inner());
        slots
            .entry((cluster.state_key().to_owned(), backend))
            .or_insert_with(|| Arc::new(Semaphore::new(self.registry.limits.max_parallel_per_cluster)))
            .clone()
    }

    /// Run `call` for every target cluster in parallel under the instance's
    /// limits and the query's deadline (see the module doc). `call` gets the
    /// cluster and returns its result; upstream errors are named with the
    /// cluster and `backend`. Outcomes keep target order.
    pub async fn fan_out<T, F, Fut>(&self, targets: &[Arc<Cluster>], backend: Backend, call: F) -> Vec<ClusterOutcome<T>>
    where
        T: Send + 'static,
        F: Fn(Arc<Cluster>) -> Fut,
        Fut: Future<Output = Result<T, FleetError>> + Send + 'static,
    {
        let deadline = deadline::current().unwrap_or_else(|| Deadline::new(tokio::time::Instant::now(), self.registry.limits.timeout, None));
        let handles: Vec<_> = targets
            .iter()
            .map(|cluster| {
                let fut = call(cluster.clone());
                let cluster = cluster.clone();
                let global = self.limiter.clone();
                let own = self.cluster_slots(&cluster, backend);
                let breakers = self.breakers.clone();
                tokio::spawn(async move {
                    let started = tokio::time::Instant::now();
                    let name = &cluster.name;
                    let breaker_key = breaker::key(&cluster, backend);
                    if tokio::time::Instant::now() >= deadline.at {
                        return (Err(Stage::Expired.timeout_error(name, backend, &deadline, Duration::ZERO)), Duration::ZERO);
                    }
                    if !breakers.admit(&breaker_key) {
                        let err = FleetError::new(
                            ErrorCode::CircuitOpen,
                            format!(
                                "{name} ({backend}): circuit open after repeated failures; skipped for up to {}s, then probed",
                                breaker::COOL_DOWN.as_secs()
                            ),
                        );
                        return (Err(err), Duration::ZERO);
                    }
                    // The cluster's own slot first: requests queued behind a
                    // hung cluster wait there without holding a global slot.
                    let mut stage = Stage::QueuedForCluster;
                    let mut sent_at = None;
                    let run = async {
                        let _own = own.acquire_owned().await.map_err(|_| FleetError::internal("shutting down"))?;
                        stage = Stage::QueuedForGlobal;
                        let _global = global.acquire_owned().await.map_err(|_| FleetError::internal("shutting down"))?;
                        stage = Stage::Sent;
                        sent_at = Some(tokio::time::Instant::now());
                        // Visible to the call (retries stop before the deadline).
                        deadline::scope(deadline, fut).await
                    };
                    let within = tokio::time::timeout_at(deadline.at, run).await;
                    let result = match within {
                        Ok(r) => r,
                        Err(_) => Err(stage.timeout_error(name, backend, &deadline, started.elapsed())),
                    };
                    let elapsed = started.elapsed();
                    let error_code = result.as_ref().err().map(|e| e.code);
                    match sent_at {
                        // Only a request that was sent says anything about the cluster.
                        Some(sent) => {
                            breakers.record(&breaker_key, error_code.is_some_and(breaker::counts_as_failure));
                            crate::telemetry::record_cluster_call(
                                cluster.id.as_str(),
                                backend.as_str(),
                                sent.elapsed().as_secs_f64(),
                                error_code.map(ErrorCode::as_str),
                            );
                        }
                        None => breakers.abandon(&breaker_key),
                    }
                    (result, elapsed)
                })
            })
            .collect();
        let mut out = Vec::with_capacity(targets.len());
        for (cluster, handle) in targets.iter().zip(handles) {
            let (result, elapsed) = match handle.await {
                Ok(r) => r,
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

/// Where a cluster's call was when its query's deadline came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// The deadline had passed before the call could start (an earlier step of the query used it up).
    Expired,
    QueuedForCluster,
    QueuedForGlobal,
    Sent,
}

impl Stage {
    fn timeout_error(self, name: &str, backend: Backend, deadline: &Deadline, waited: Duration) -> FleetError {
        let budget = deadline.budget();
        let message = match self {
            Stage::Sent => format!("{name} ({backend}): {}", UpstreamError::Timeout(budget)),
            Stage::Expired => format!("{name} ({backend}): not sent: the query's deadline ({budget:?}) had already passed"),
            Stage::QueuedForCluster => format!(
                "{name} ({backend}): not sent: waited {:.1}s for one of this cluster's slots (query.maxParallelPerCluster), all held by earlier requests still unanswered; the query's deadline is {budget:?}",
                waited.as_secs_f64()
            ),
            Stage::QueuedForGlobal => format!(
                "{name} ({backend}): not sent: waited {:.1}s for a free slot (query.maxParallel); the query's deadline is {budget:?}",
                waited.as_secs_f64()
            ),
        };
        FleetError::new(ErrorCode::QueryTimeout, message)
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

/// Execute one parsed query of any kind. A `clusterSelector` is resolved here,
/// once: the query runs over the clusters it matches at this moment, and every
/// frame's `meta.custom.clusterSelector` says which (`{selector, matched}`).
pub async fn execute(fed: &Federation, req: &crate::query::QueryRequest) -> Result<Vec<crate::frames::Frame>, FleetError> {
    let Some(selector) = &req.cluster_selector else { return dispatch(fed, req).await };
    let narrowed = fed.restricted(|c| selector.matches(c));
    let matched: Vec<String> = match narrowed.registry.targets(&req.clusters) {
        Ok(t) => t.iter().map(|c| c.id.to_string()).collect(),
        Err(e) if e.code == ErrorCode::ClusterNotFound => {
            return Err(FleetError::new(ErrorCode::ClusterNotFound, format!("{} (clusterSelector {selector} applies too)", e.message)));
        }
        Err(e) => return Err(e),
    };
    if matched.is_empty() {
        return Err(FleetError::new(ErrorCode::ClusterNotFound, format!("clusterSelector {selector} matches no online cluster")));
    }
    let mut frames = dispatch(&narrowed, req).await?;
    let note = serde_json::json!({ "selector": selector.to_string(), "matched": matched });
    for f in &mut frames {
        let meta = f.meta.get_or_insert_with(Default::default);
        match &mut meta.custom {
            Some(serde_json::Value::Object(m)) => {
                m.insert("clusterSelector".into(), note.clone());
            }
            other => *other = Some(serde_json::json!({ "clusterSelector": note.clone() })),
        }
    }
    Ok(frames)
}

async fn dispatch(fed: &Federation, req: &crate::query::QueryRequest) -> Result<Vec<crate::frames::Frame>, FleetError> {
    match &req.kind {
        crate::query::QueryKind::Metrics(q) => metrics::run(fed, &req.ref_id, &req.clusters, q).await,
        crate::query::QueryKind::Clickhouse(q) => clickhouse::run(fed, &req.ref_id, &req.clusters, q).await,
        crate::query::QueryKind::Logs(q) => logs::run(fed, &req.ref_id, &req.clusters, q).await,
        crate::query::QueryKind::Traces(q) => traces::run(fed, &req.ref_id, &req.clusters, q).await,
        crate::query::QueryKind::Alerts(q) => alerts::run(fed, &req.ref_id, &req.clusters, q).await,
        crate::query::QueryKind::Gpu(q) => gpu::run(fed, &req.ref_id, &req.clusters, q).await,
        crate::query::QueryKind::Cnf(q) => cnf::run(fed, &req.ref_id, &req.clusters, q).await,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Clusters `ok`, `hung`, `other`, never contacted: the calls below are plain futures.
    fn fed(query: &str) -> Federation {
        let json = format!(
            r#"{{"clusters":[{{"id":"ok","prometheus":{{"url":"http://ok"}}}},{{"id":"hung","prometheus":{{"url":"http://hung"}}}},{{"id":"other","prometheus":{{"url":"http://other"}}}}],"query":{query}}}"#
        );
        Federation::new(Registry::from_grafana(json.as_bytes(), &HashMap::new()).unwrap())
    }

    /// A call that never ends for `hung` (counting the calls that started) and answers at once elsewhere.
    fn call(started: &Arc<AtomicUsize>) -> impl Fn(Arc<Cluster>) -> futures::future::BoxFuture<'static, Result<&'static str, FleetError>> {
        let started = started.clone();
        move |c: Arc<Cluster>| {
            let started = started.clone();
            Box::pin(async move {
                if c.id.as_str() == "hung" {
                    started.fetch_add(1, Ordering::SeqCst);
                    std::future::pending::<()>().await;
                }
                Ok("data")
            })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn healthy_clusters_answer_at_once_while_a_hung_one_holds_its_slots() {
        let fed = Arc::new(fed(r#"{"timeoutSeconds":30,"maxParallel":10,"maxParallelPerCluster":4}"#));
        let all: Vec<Arc<Cluster>> = fed.registry.clusters().to_vec();
        let started = Arc::new(AtomicUsize::new(0));
        let t0 = tokio::time::Instant::now();
        // Twelve panels over every cluster, all in flight.
        let panels: Vec<_> = (0..12)
            .map(|_| {
                let (fed, all, started) = (fed.clone(), all.clone(), started.clone());
                tokio::spawn(async move { fed.fan_out(&all, Backend::Prometheus, call(&started)).await })
            })
            .collect();
        while started.load(Ordering::SeqCst) < 4 {
            tokio::task::yield_now().await;
        }
        // The hung cluster holds its 4 slots; a query to a healthy one is not behind them.
        let single = fed.fan_out(&all[..1], Backend::Prometheus, call(&started)).await;
        assert_eq!(single[0].result.as_ref().ok(), Some(&"data"));
        assert_eq!(tokio::time::Instant::now(), t0, "answered before any time passed");
        assert!(panels.iter().all(|p| !p.is_finished()), "every panel still waits for the hung cluster");
        assert_eq!(started.load(Ordering::SeqCst), 4, "at most maxParallelPerCluster requests reach the hung cluster");

        for p in panels {
            let outcomes = p.await.unwrap();
            assert_eq!(tokio::time::Instant::now(), t0 + Duration::from_secs(30), "every panel ends at its deadline");
            for o in &outcomes {
                match o.cluster.id.as_str() {
                    "hung" => assert_eq!(o.result.as_ref().unwrap_err().code, ErrorCode::QueryTimeout),
                    _ => assert!(o.result.is_ok(), "{:?}", o.result),
                }
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_slot_wait_counts_against_the_deadline_and_says_so() {
        let fed = Arc::new(fed(r#"{"timeoutSeconds":10,"maxParallel":10,"maxParallelPerCluster":1}"#));
        let hung = vec![fed.registry.get("hung").unwrap().clone()];
        let started = Arc::new(AtomicUsize::new(0));
        let t0 = tokio::time::Instant::now();
        // The first call may wait 60 s (its own deadline), so it holds the one slot.
        let first = tokio::spawn({
            let (fed, hung, started) = (fed.clone(), hung.clone(), started.clone());
            let long = Deadline::new(t0, Duration::from_secs(60), None);
            async move { deadline::scope(long, fed.fan_out(&hung, Backend::Prometheus, call(&started))).await }
        });
        while started.load(Ordering::SeqCst) < 1 {
            tokio::task::yield_now().await;
        }
        tokio::time::advance(Duration::from_secs(4)).await;
        // Arrives 4 s later with its own 10 s: queued behind the first for all of it.
        let second = fed.fan_out(&hung, Backend::Prometheus, call(&started)).await;
        assert_eq!(tokio::time::Instant::now(), t0 + Duration::from_secs(14));
        let err = second[0].result.as_ref().unwrap_err();
        assert_eq!(err.code, ErrorCode::QueryTimeout);
        assert!(err.message.contains("not sent") && err.message.contains("maxParallelPerCluster"), "{}", err.message);
        assert_eq!(started.load(Ordering::SeqCst), 1, "the queued call never started");
        let first = first.await.unwrap();
        assert_eq!(tokio::time::Instant::now(), t0 + Duration::from_secs(60));
        assert!(first[0].result.as_ref().unwrap_err().message.contains("no answer within 60s"), "{:?}", first[0].result);
        assert_eq!(
            fed.breakers.state(&breaker::key(&hung[0], Backend::Prometheus)),
            breaker::State::Closed,
            "one sent timeout; the queued one does not count"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_entry_point_deadline_bounds_every_fan_out_inside_it() {
        let fed = fed(r#"{"timeoutSeconds":30}"#);
        let hung = vec![fed.registry.get("hung").unwrap().clone()];
        let started = Arc::new(AtomicUsize::new(0));
        let t0 = tokio::time::Instant::now();
        let d = Deadline::new(t0, Duration::from_secs(30), Some(Duration::from_secs(5)));
        let (a, b) = deadline::scope(d, async {
            let a = fed.fan_out(&hung, Backend::Prometheus, call(&started)).await;
            // A second fan-out in the same query gets what is left: nothing.
            let b = fed.fan_out(&hung, Backend::Prometheus, call(&started)).await;
            (a, b)
        })
        .await;
        assert_eq!(tokio::time::Instant::now(), d.at, "the gRPC deadline (less its margin), not timeoutSeconds");
        assert!(d.at < t0 + Duration::from_secs(5));
        assert_eq!(a[0].result.as_ref().unwrap_err().code, ErrorCode::QueryTimeout);
        let late = b[0].result.as_ref().unwrap_err();
        assert_eq!(late.code, ErrorCode::QueryTimeout);
        assert!(late.message.contains("already passed"), "{}", late.message);
        assert_eq!(started.load(Ordering::SeqCst), 1, "nothing is sent after the deadline");
    }
}
