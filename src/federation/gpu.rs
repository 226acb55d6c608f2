//! `gpu` queries: per cluster, GPU telemetry from DCGM metrics (PromQL on the
//! cluster's Prometheus) or from nvidia-smi run by Kubernetes exec in the GPU
//! driver pod of every GPU node; then the nodes/gpus/processes/summary frames.
//!
//! Failure isolation: a node whose exec fails (non-zero exit, timeout,
//! unreadable output) is that node's error — a notice and a `status: error`
//! row in the nodes view — and never fails its cluster unless every node
//! failed; a cluster's failure is that cluster's status (see `status.rs`).
//! Successful node answers are cached for `cache.gpuTtlSeconds` (5 s).
//!
//! Under load (a dashboard refresh sends the `gpus`, `processes`, `summary`
//! and `nodes` views at once, all missing the cache together):
//! * single-flight per (cluster, API server, node): concurrent queries share
//!   one probe of the node, so each nvidia-smi command runs once per node per
//!   refresh, not once per view;
//! * a circuit breaker per node (the cluster breaker's rules, key
//!   `<cluster>/kubernetes/node/<node>`): a node whose exec keeps timing out or
//!   whose API server cannot be reached is skipped with CIRCUIT_OPEN for the
//!   cool-down instead of costing every query its exec timeout again. A node
//!   that answers with an error (non-zero exit, unreadable output) is alive
//!   and does not count.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use serde_json::json;

use super::breaker::{self, Breakers};
use super::status::{self, ClusterStatus};
use super::{ClusterOutcome, Federation, decode_error, named};
use crate::cache::probe_flights::ProbeFlights;
use crate::error::{ErrorCode, FleetError};
use crate::frames::gpu as tables;
use crate::frames::prometheus::{self as conv, PromData};
use crate::frames::{Frame, FrameMeta, Notice, NoticeSeverity};
use crate::probes::gpu::nvidia_smi;
use crate::probes::gpu::{ClusterGpus, GpuSource, NodeGpus, ProcessRow, dcgm};
use crate::query::gpu::{GpuQuery, GpuView, SourceChoice};
use crate::registry::{Backend, Cluster, QueryLimits};
use crate::upstream::kube::{AllowedCommand, KubeClient, PodRef};

/// GPU nodes of one cluster probed at once.
pub const NODE_CONCURRENCY: usize = 8;

/// Ask every target cluster for its GPUs.
pub async fn fetch(fed: &Federation, targets: &[Arc<Cluster>], q: &GpuQuery) -> Vec<ClusterOutcome<ClusterGpus>> {
    // The backend a cluster's slot, breaker and timeout notice are charged to: the one the source calls
    // (auto calls Prometheus briefly, then spends its time in execs).
    let backend = if q.source == SourceChoice::Dcgm { Backend::Prometheus } else { Backend::Kubernetes };
    fed.fan_out(targets, backend, |cluster| {
        let prom = cluster.prometheus.is_some().then(|| fed.prometheus(&cluster));
        let probing = NodeProbing {
            breakers: fed.breakers.clone(),
            flights: fed.gpu_nodes.clone(),
            ttl: Duration::from_secs(fed.registry.settings.cache.gpu_ttl_seconds),
        };
        let limits = fed.registry.limits.clone();
        let kube = cluster.kubernetes.is_some().then(|| fed.kube(&cluster));
        let q = q.clone();
        async move {
            let mut answer = match q.source {
                SourceChoice::Dcgm => match prom {
                    Some(p) => from_dcgm(&cluster, p?, q.time_ms).await?,
                    None => return Err(not_available(&cluster, Backend::Prometheus, "the dcgm source needs a prometheus endpoint")),
                },
                SourceChoice::NvidiaSmi => from_exec(&cluster, kube, &limits, &probing, q.node.as_deref()).await?,
                SourceChoice::Auto => auto(&cluster, prom, kube, &limits, &probing, &q).await?,
            };
            if let Some(n) = &q.node {
                answer.nodes.retain(|x| &x.node == n);
            }
            if answer.nodes.is_empty() {
                let which = q.node.as_deref().map(|n| format!(" named {n:?}")).unwrap_or_default();
                return Err(FleetError::new(ErrorCode::NoGpuNodes, format!("{}: no GPU nodes{which} ({})", cluster.name, answer.source.as_str())));
            }
            if answer.nodes.iter().all(|n| n.error.is_some()) {
                let errs: Vec<String> = answer.nodes.iter().map(|n| format!("{}: {}", n.node, n.error.as_deref().unwrap_or(""))).collect();
                // Every node timed out (or every output was over the cap): the cluster's code says so.
                let first = answer.nodes[0].error_code;
                let code = match first {
                    Some(c) if answer.nodes.iter().all(|n| n.error_code == first) => c,
                    _ => ErrorCode::UpstreamError,
                };
                return Err(FleetError::new(code, format!("{}: every GPU node failed: {}", cluster.name, errs.join("; "))));
            }
            Ok(answer)
        }
    })
    .await
}

fn not_available(cluster: &Cluster, backend: Backend, why: &str) -> FleetError {
    FleetError::new(backend.not_available_code(), format!("{}: {why}", cluster.name))
}

async fn auto(
    cluster: &Cluster,
    prom: Option<Result<crate::upstream::prometheus::PrometheusClient, FleetError>>,
    kube: Option<Result<KubeClient, FleetError>>,
    limits: &QueryLimits,
    probing: &NodeProbing,
    q: &GpuQuery,
) -> Result<ClusterGpus, FleetError> {
    let dcgm = match prom {
        Some(p) => Some(match p {
            Ok(p) => from_dcgm(cluster, p, q.time_ms).await,
            Err(e) => Err(e),
        }),
        None => None,
    };
    let why_not = match dcgm {
        Some(Ok(mut a)) if !a.nodes.is_empty() => {
            a.note = Some("auto: DCGM metrics found in Prometheus".into());
            return Ok(a);
        }
        Some(Ok(_)) => "Prometheus has no DCGM_FI_DEV_* series".to_owned(),
        Some(Err(e)) => format!("DCGM lookup failed ({e})"),
        None => "no prometheus endpoint".to_owned(),
    };
    if cluster.kubernetes.is_none() {
        return Err(FleetError::new(
            ErrorCode::NoGpuNodes,
            format!("{}: no GPU telemetry: {why_not}, and no kubernetes access for nvidia-smi", cluster.name),
        ));
    }
    let mut a = from_exec(cluster, kube, limits, probing, q.node.as_deref()).await?;
    a.note = Some(format!("auto: {why_not}; used nvidia-smi"));
    Ok(a)
}

async fn from_dcgm(cluster: &Cluster, client: crate::upstream::prometheus::PrometheusClient, time_ms: i64) -> Result<ClusterGpus, FleetError> {
    let body = client.query(dcgm::DCGM_QUERY, time_ms).await.map_err(named(cluster, Backend::Prometheus))?;
    let resp = conv::parse_query_response(&body).map_err(|e| decode_error(cluster, Backend::Prometheus, e))?;
    let nodes = match &resp.data {
        PromData::Series { series, .. } => dcgm::nodes_from_series(series),
        _ => Vec::new(),
    };
    Ok(ClusterGpus { source: GpuSource::Dcgm, nodes, note: None })
}

/// What a node probe needs besides the node: the node breakers, the probes under
/// way and recent answers (per datasource instance), and how long an answer lasts.
struct NodeProbing {
    breakers: Arc<Breakers>,
    flights: Arc<ProbeFlights<NodeGpus>>,
    ttl: Duration,
}

/// The driver pod of each node: a running pod owned by the registry's DaemonSet.
fn driver_pods(pods: Vec<PodRef>, daemon_set: &str) -> BTreeMap<String, PodRef> {
    let mut out = BTreeMap::new();
    for p in pods {
        let owned = p.owners.iter().any(|(kind, name)| kind == "DaemonSet" && name == daemon_set);
        if owned
            && p.phase.as_deref() == Some("Running")
            && let Some(node) = p.node.clone()
        {
            out.entry(node).or_insert(p);
        }
    }
    out
}

async fn from_exec(
    cluster: &Cluster,
    kube: Option<Result<KubeClient, FleetError>>,
    limits: &QueryLimits,
    probing: &NodeProbing,
    only_node: Option<&str>,
) -> Result<ClusterGpus, FleetError> {
    let (Some(access), Some(client)) = (&cluster.kubernetes, kube) else {
        return Err(not_available(cluster, Backend::Kubernetes, "no kubernetes access is configured for this cluster (needed for nvidia-smi)"));
    };
    let client = client?;
    let mut nodes = client.gpu_nodes().await.map_err(named(cluster, Backend::Kubernetes))?;
    if let Some(n) = only_node {
        nodes.retain(|x| x.name == n);
    }
    if nodes.is_empty() {
        return Ok(ClusterGpus { source: GpuSource::NvidiaSmi, nodes: Vec::new(), note: None });
    }
    let pods = client.pods(&access.gpu_namespace, None).await.map_err(named(cluster, Backend::Kubernetes))?;
    let drivers = driver_pods(pods, &access.gpu_daemon_set);
    // Each exec gets part of the cluster's budget so one hung node cannot time the cluster out.
    let exec_timeout = (limits.timeout / 2).min(Duration::from_secs(15));
    let server = access.server.as_ref().map(|u| u.to_string()).unwrap_or_else(|| "in-cluster".into());
    let results: Vec<NodeGpus> = futures::stream::iter(nodes.into_iter().map(|n| {
        let pod = drivers.get(&n.name).cloned();
        let client = client.clone();
        let key = format!("{}|{server}|{}", cluster.state_key(), n.name);
        let breaker_key = format!("{}/node/{}", breaker::key(cluster, Backend::Kubernetes), n.name);
        let (ns, ds, container) = (access.gpu_namespace.clone(), access.gpu_daemon_set.clone(), access.gpu_container.clone());
        let (breakers, flights, ttl) = (probing.breakers.clone(), probing.flights.clone(), probing.ttl);
        async move {
            if let Some(hit) = flights.cached(&key, ttl) {
                return hit;
            }
            let Some(pod) = pod else {
                let mut out = NodeGpus::new(&n.name);
                out.error = Some(format!("no running pod of DaemonSet {ns}/{ds} on this node"));
                return out;
            };
            let probe = async move {
                let mut out = NodeGpus::new(&n.name);
                if !breakers.admit(&breaker_key) {
                    out.error = Some(format!(
                        "circuit open: nvidia-smi on this node did not answer repeatedly; skipped for up to {}s, then probed",
                        breaker::COOL_DOWN.as_secs()
                    ));
                    out.error_code = Some(ErrorCode::CircuitOpen);
                    return out;
                }
                probe_node(&client, &pod, container.as_deref(), exec_timeout, &mut out).await;
                breakers.record(&breaker_key, out.error_code.is_some_and(breaker::counts_as_failure));
                out
            };
            flights.run(key, ttl, |n: &NodeGpus| n.error.is_none(), probe).await
        }
    }))
    .buffered(NODE_CONCURRENCY)
    .collect()
    .await;
    Ok(ClusterGpus { source: GpuSource::NvidiaSmi, nodes: results, note: None })
}

async fn probe_node(client: &KubeClient, pod: &PodRef, container: Option<&str>, timeout: Duration, out: &mut NodeGpus) {
    let gpus = client.exec(&pod.namespace, &pod.name, container, AllowedCommand::NVIDIA_SMI_GPUS, timeout).await;
    let text = match gpus {
        Ok(o) => o.stdout,
        Err(e) => {
            out.error = Some(format!("nvidia-smi --query-gpu in {}/{}: {e}", pod.namespace, pod.name));
            out.error_code = Some(e.code());
            return;
        }
    };
    match nvidia_smi::parse_gpus(&text) {
        Ok(p) => {
            out.gpus = p.rows;
            out.warnings.extend(p.problems.into_iter().map(|w| format!("--query-gpu {w}")));
        }
        Err(e) => {
            out.error = Some(e.to_string());
            return;
        }
    }
    match client.exec(&pod.namespace, &pod.name, container, AllowedCommand::NVIDIA_SMI_APPS, timeout).await {
        Ok(o) => match nvidia_smi::parse_processes(&o.stdout) {
            Ok(p) => {
                out.processes = p
                    .rows
                    .into_iter()
                    .map(|r| ProcessRow {
                        gpu_uuid: None,
                        pid: Some(r.pid),
                        process_name: r.process_name,
                        used_memory_mib: r.used_memory_mib,
                        pod: None,
                        namespace: None,
                    })
                    .collect();
                out.warnings.extend(p.problems.into_iter().map(|w| format!("--query-compute-apps {w}")));
            }
            Err(e) => out.warnings.push(format!("--query-compute-apps: {e}")),
        },
        Err(e) => out.warnings.push(format!("--query-compute-apps: {e}")),
    }
}

/// Run a gpu query and build its frames.
pub async fn run(fed: &Federation, ref_id: &str, clusters: &[String], q: &GpuQuery) -> Result<Vec<Frame>, FleetError> {
    let targets = fed.registry.targets(clusters)?;
    let outcomes = fetch(fed, &targets, q).await;
    to_frames(outcomes, ref_id, q.view)
}

/// Frames from per-cluster outcomes: fails only when every cluster failed.
pub fn to_frames(outcomes: Vec<ClusterOutcome<ClusterGpus>>, ref_id: &str, view: GpuView) -> Result<Vec<Frame>, FleetError> {
    if let Some(err) = status::all_failed(&outcomes) {
        return Err(err);
    }
    let statuses: Vec<ClusterStatus> = status::statuses(&outcomes);
    let mut notices = status::failure_notices(&statuses);
    let mut sources = serde_json::Map::new();
    let mut ok: Vec<(Arc<Cluster>, ClusterGpus)> = Vec::new();
    for o in outcomes {
        let Ok(a) = o.result else { continue };
        sources.insert(o.cluster.id.to_string(), json!(a.source));
        notices.push(Notice {
            severity: NoticeSeverity::Info,
            text: format!("{}: source {}{}", o.cluster.name, a.source.as_str(), a.note.as_deref().map(|n| format!(" ({n})")).unwrap_or_default()),
        });
        for n in &a.nodes {
            if let Some(e) = &n.error {
                notices.push(Notice { severity: NoticeSeverity::Warning, text: format!("{}/{}: {e}", o.cluster.name, n.node) });
            }
            for w in &n.warnings {
                notices.push(Notice { severity: NoticeSeverity::Warning, text: format!("{}/{}: {w}", o.cluster.name, n.node) });
            }
        }
        ok.push((o.cluster, a));
    }
    let mut frames = match view {
        GpuView::Gpus => vec![tables::gpus_frame(&ok)],
        GpuView::Nodes => vec![tables::nodes_frame(&ok)],
        GpuView::Processes => vec![tables::processes_frame(&ok)],
        GpuView::Summary => tables::summary_frames(&ok),
    };
    for f in &mut frames {
        f.ref_id = ref_id.to_owned();
    }
    if let Some(first) = frames.first_mut() {
        let meta = first.meta.get_or_insert_with(FrameMeta::default);
        meta.notices = notices;
        meta.custom = Some(json!({ "view": view, "sources": sources, "clusters": statuses }));
    }
    Ok(frames)
}
