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

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::json;

use super::breaker::{self, Breakers};
use super::status::{self, ClusterStatus};
use super::{ClusterOutcome, Federation, decode_error, named};
use crate::error::{ErrorCode, FleetError};
use crate::frames::probe_table::{ClusterColumns, num, table, text};
use crate::frames::prometheus::{self as conv, PromData};
use crate::frames::{Field, FieldValues, Frame, FrameMeta, Notice, NoticeSeverity};
use crate::probes::gpu::nvidia_smi::{self, GpuInfo};
use crate::probes::gpu::{ClusterGpus, GpuSource, NodeGpus, ProcessRow, dcgm};
use crate::query::gpu::{GpuQuery, GpuView, SourceChoice};
use crate::registry::{Backend, Cluster, QueryLimits};
use crate::upstream::kube::{AllowedCommand, KubeClient, PodRef};

/// GPU nodes of one cluster probed at once.
pub const NODE_CONCURRENCY: usize = 8;

/// Ask every target cluster for its GPUs.
pub async fn fetch(fed: &Federation, targets: &[Arc<Cluster>], q: &GpuQuery) -> Vec<ClusterOutcome<ClusterGpus>> {
    fed.fan_out(targets, Backend::Kubernetes, |cluster| {
        let prom = cluster.prometheus.is_some().then(|| fed.prometheus(&cluster));
        let breakers = fed.breakers.clone();
        let limits = fed.registry.limits.clone();
        let ttl = Duration::from_secs(fed.registry.settings.cache.gpu_ttl_seconds);
        let q = q.clone();
        async move {
            let mut answer = match q.source {
                SourceChoice::Dcgm => match prom {
                    Some(p) => from_dcgm(&cluster, p?, q.time_ms).await?,
                    None => return Err(not_available(&cluster, Backend::Prometheus, "the dcgm source needs a prometheus endpoint")),
                },
                SourceChoice::NvidiaSmi => from_exec(&cluster, &limits, &breakers, ttl, q.node.as_deref()).await?,
                SourceChoice::Auto => auto(&cluster, prom, &limits, &breakers, ttl, &q).await?,
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
    limits: &QueryLimits,
    breakers: &Arc<Breakers>,
    ttl: Duration,
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
    let mut a = from_exec(cluster, limits, breakers, ttl, q.node.as_deref()).await?;
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

type CacheKey = (String, String, String);
static NODE_CACHE: LazyLock<Mutex<HashMap<CacheKey, (Instant, NodeGpus)>>> = LazyLock::new(Default::default);

fn cached(key: &CacheKey, ttl: Duration) -> Option<NodeGpus> {
    let mut map = NODE_CACHE.lock().ok()?;
    map.retain(|_, (at, _)| at.elapsed() < ttl);
    map.get(key).map(|(_, n)| n.clone())
}

fn store(key: CacheKey, node: &NodeGpus) {
    if let Ok(mut map) = NODE_CACHE.lock() {
        map.insert(key, (Instant::now(), node.clone()));
    }
}

type NodeFlight = futures::future::Shared<futures::future::BoxFuture<'static, NodeGpus>>;
static IN_FLIGHT: LazyLock<Mutex<HashMap<CacheKey, NodeFlight>>> = LazyLock::new(Default::default);

/// Join the probe of `key` under way, or start `probe` as it. A successful
/// answer is cached before the flight ends, so no caller falls in between.
/// A flight every caller gave up on (their deadlines passed) stays in the
/// table and the next caller resumes it.
async fn node_flight<F>(key: CacheKey, ttl: Duration, probe: F) -> NodeGpus
where
    F: Future<Output = NodeGpus> + Send + 'static,
{
    use futures::FutureExt;
    let flight = {
        let mut flights = IN_FLIGHT.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(f) = flights.get(&key) {
            f.clone()
        } else {
            let own_key = key.clone();
            let f = async move {
                let out = probe.await;
                if out.error.is_none() && !ttl.is_zero() {
                    store(own_key.clone(), &out);
                }
                IN_FLIGHT.lock().unwrap_or_else(|p| p.into_inner()).remove(&own_key);
                out
            }
            .boxed()
            .shared();
            flights.insert(key, f.clone());
            f
        }
    };
    flight.await
}

/// The driver pod of each node: a running pod owned by the registry's DaemonSet.
fn driver_pods(pods: Vec<PodRef>, daemon_set: &str) -> BTreeMap<String, PodRef> {
    let mut out = BTreeMap::new();
    for p in pods {
        let owned = p.owners.iter().any(|(kind, name)| kind == "DaemonSet" && name == daemon_set);
        if owned && p.phase.as_deref() == Some("Running") {
            if let Some(node) = p.node.clone() {
                out.entry(node).or_insert(p);
            }
        }
    }
    out
}

async fn from_exec(
    cluster: &Cluster,
    limits: &QueryLimits,
    breakers: &Arc<Breakers>,
    ttl: Duration,
    only_node: Option<&str>,
) -> Result<ClusterGpus, FleetError> {
    let Some(access) = &cluster.kubernetes else {
        return Err(not_available(cluster, Backend::Kubernetes, "no kubernetes access is configured for this cluster (needed for nvidia-smi)"));
    };
    let client = KubeClient::new(access, limits).map_err(named(cluster, Backend::Kubernetes))?;
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
        let key: CacheKey = (cluster.id.to_string(), server.clone(), n.name.clone());
        let breaker_key = format!("{}/{}/node/{}", cluster.id, Backend::Kubernetes, n.name);
        let (ns, ds, container) = (access.gpu_namespace.clone(), access.gpu_daemon_set.clone(), access.gpu_container.clone());
        let breakers = breakers.clone();
        async move {
            if let Some(hit) = cached(&key, ttl) {
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
            node_flight(key, ttl, probe).await
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

/// Mean and max of the present values.
fn mean_max(vals: impl Iterator<Item = Option<f64>>) -> (Option<f64>, Option<f64>) {
    let v: Vec<f64> = vals.flatten().collect();
    if v.is_empty() {
        return (None, None);
    }
    (Some(v.iter().sum::<f64>() / v.len() as f64), v.iter().copied().reduce(f64::max))
}

fn sum(vals: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    vals.flatten().fold(None, |acc, v| Some(acc.unwrap_or(0.0) + v))
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
        GpuView::Gpus => vec![gpus_frame(&ok)],
        GpuView::Nodes => vec![nodes_frame(&ok)],
        GpuView::Processes => vec![processes_frame(&ok)],
        GpuView::Summary => summary_frames(&ok),
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

fn gpus_frame(ok: &[(Arc<Cluster>, ClusterGpus)]) -> Frame {
    let mut c = ClusterColumns::default();
    let (mut node, mut gpu, mut uuid, mut model, mut driver, mut source) = (vec![], vec![], vec![], vec![], vec![], vec![]);
    let mut cols: [Vec<Option<f64>>; 9] = Default::default();
    for (cl, a) in ok {
        for n in a.nodes.iter().filter(|n| n.error.is_none()) {
            for g in &n.gpus {
                c.push(cl);
                node.push(n.node.clone());
                gpu.push(g.index.to_string());
                uuid.push(g.uuid.clone());
                model.push(g.name.clone());
                driver.push(g.driver_version.clone().unwrap_or_default());
                source.push(a.source.as_str().to_owned());
                let vals = gpu_values(g);
                for (col, v) in cols.iter_mut().zip(vals) {
                    col.push(v);
                }
            }
        }
    }
    let mut fields = c.fields();
    fields.extend([
        text("node", node),
        text("gpu", gpu),
        text("uuid", uuid),
        text("model", model),
        text("driver_version", driver),
        text("source", source),
    ]);
    let [mt, mu, mf, ug, um, t, pd, pl, fan] = cols;
    fields.extend([
        num("memory_total_mib", "mbytes", mt),
        num("memory_used_mib", "mbytes", mu),
        num("memory_free_mib", "mbytes", mf),
        num("utilization_gpu_pct", "percent", ug),
        num("utilization_memory_pct", "percent", um),
        num("temperature_c", "celsius", t),
        num("power_draw_w", "watt", pd),
        num("power_limit_w", "watt", pl),
        num("fan_speed_pct", "percent", fan),
    ]);
    table("gpus", fields, true)
}

fn gpu_values(g: &GpuInfo) -> [Option<f64>; 9] {
    [
        g.memory_total_mib,
        g.memory_used_mib,
        g.memory_free_mib,
        g.utilization_gpu_pct,
        g.utilization_memory_pct,
        g.temperature_c,
        g.power_draw_w,
        g.power_limit_w,
        g.fan_speed_pct,
    ]
}

fn nodes_frame(ok: &[(Arc<Cluster>, ClusterGpus)]) -> Frame {
    let mut c = ClusterColumns::default();
    let (mut node, mut source, mut st, mut err) = (vec![], vec![], vec![], vec![]);
    let (mut count, mut mu, mut mt, mut um, mut tmax, mut pd) = (vec![], vec![], vec![], vec![], vec![], vec![]);
    for (cl, a) in ok {
        for n in &a.nodes {
            c.push(cl);
            node.push(n.node.clone());
            source.push(a.source.as_str().to_owned());
            st.push(if n.error.is_some() { "error" } else { "ok" }.to_owned());
            err.push(n.error.clone().unwrap_or_default());
            count.push(Some(n.gpus.len() as f64));
            mu.push(sum(n.gpus.iter().map(|g| g.memory_used_mib)));
            mt.push(sum(n.gpus.iter().map(|g| g.memory_total_mib)));
            um.push(mean_max(n.gpus.iter().map(|g| g.utilization_gpu_pct)).0);
            tmax.push(mean_max(n.gpus.iter().map(|g| g.temperature_c)).1);
            pd.push(sum(n.gpus.iter().map(|g| g.power_draw_w)));
        }
    }
    let mut fields = c.fields();
    fields.extend([text("node", node), text("source", source), text("status", st), text("error", err)]);
    fields.extend([
        num("gpus", "none", count),
        num("memory_used_mib", "mbytes", mu),
        num("memory_total_mib", "mbytes", mt),
        num("utilization_gpu_mean_pct", "percent", um),
        num("temperature_max_c", "celsius", tmax),
        num("power_draw_w", "watt", pd),
    ]);
    table("nodes", fields, true)
}

fn processes_frame(ok: &[(Arc<Cluster>, ClusterGpus)]) -> Frame {
    let mut c = ClusterColumns::default();
    let (mut node, mut uuid, mut pid, mut name, mut mem, mut pod, mut ns, mut source) =
        (vec![], vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
    for (cl, a) in ok {
        for n in a.nodes.iter().filter(|n| n.error.is_none()) {
            for p in &n.processes {
                c.push(cl);
                node.push(n.node.clone());
                uuid.push(p.gpu_uuid.clone());
                pid.push(p.pid.map(i64::from));
                name.push(p.process_name.clone());
                mem.push(p.used_memory_mib);
                pod.push(p.pod.clone());
                ns.push(p.namespace.clone());
                source.push(a.source.as_str().to_owned());
            }
        }
    }
    let mut fields = c.fields();
    fields.extend([
        text("node", node),
        Field::new("gpu_uuid", FieldValues::NullableStr(uuid)),
        Field::new("pid", FieldValues::NullableI64(pid)),
        text("process_name", name),
        num("used_memory_mib", "mbytes", mem),
        Field::new("namespace", FieldValues::NullableStr(ns)),
        Field::new("pod", FieldValues::NullableStr(pod)),
        text("source", source),
    ]);
    table("processes", fields, false)
}

/// Totals of one set of (cluster, node, gpu).
struct Totals {
    gpus: f64,
    nodes: f64,
    mem_used: Option<f64>,
    mem_total: Option<f64>,
    util_mean: Option<f64>,
    util_max: Option<f64>,
    temp_max: Option<f64>,
    hottest: String,
    power_draw: Option<f64>,
    power_limit: Option<f64>,
}

fn totals<'a>(items: impl Iterator<Item = (&'a str, &'a str, &'a GpuInfo)> + Clone, nodes: usize) -> Totals {
    let gpus: Vec<_> = items.collect();
    let (util_mean, util_max) = mean_max(gpus.iter().map(|(_, _, g)| g.utilization_gpu_pct));
    let hottest =
        gpus.iter().filter_map(|(c, n, g)| g.temperature_c.map(|t| (t, format!("{c}/{n}/gpu{}", g.index)))).fold(None::<(f64, String)>, |acc, x| {
            match acc {
                Some(a) if a.0 >= x.0 => Some(a),
                _ => Some(x),
            }
        });
    Totals {
        gpus: gpus.len() as f64,
        nodes: nodes as f64,
        mem_used: sum(gpus.iter().map(|(_, _, g)| g.memory_used_mib)),
        mem_total: sum(gpus.iter().map(|(_, _, g)| g.memory_total_mib)),
        util_mean,
        util_max,
        temp_max: hottest.as_ref().map(|h| h.0),
        hottest: hottest.map(|h| h.1).unwrap_or_default(),
        power_draw: sum(gpus.iter().map(|(_, _, g)| g.power_draw_w)),
        power_limit: sum(gpus.iter().map(|(_, _, g)| g.power_limit_w)),
    }
}

fn summary_frames(ok: &[(Arc<Cluster>, ClusterGpus)]) -> Vec<Frame> {
    let mut rows: Vec<(String, String, String, Totals)> = Vec::new();
    let healthy = |a: &ClusterGpus| a.nodes.iter().filter(|n| n.error.is_none()).count();
    for (cl, a) in ok {
        let it = a.nodes.iter().filter(|n| n.error.is_none()).flat_map(|n| n.gpus.iter().map(move |g| (cl.name.as_str(), n.node.as_str(), g)));
        rows.push((cl.name.clone(), cl.id.to_string(), a.source.as_str().to_owned(), totals(it, healthy(a))));
    }
    let all = ok.iter().flat_map(|(cl, a)| {
        a.nodes.iter().filter(|n| n.error.is_none()).flat_map(move |n| n.gpus.iter().map(move |g| (cl.name.as_str(), n.node.as_str(), g)))
    });
    let fleet_nodes = ok.iter().map(|(_, a)| healthy(a)).sum();
    rows.push(("fleet".into(), "*".into(), "*".into(), totals(all, fleet_nodes)));
    let mut c = ClusterColumns::default();
    let mut source = vec![];
    let mut hottest = vec![];
    let mut cols: [Vec<Option<f64>>; 9] = Default::default();
    for (name, id, src, t) in rows {
        c.push_named(name, id);
        source.push(src);
        hottest.push(t.hottest);
        for (col, v) in cols.iter_mut().zip([
            Some(t.gpus),
            Some(t.nodes),
            t.mem_used,
            t.mem_total,
            t.util_mean,
            t.util_max,
            t.temp_max,
            t.power_draw,
            t.power_limit,
        ]) {
            col.push(v);
        }
    }
    let mut fields = c.fields();
    fields.extend([text("source", source), text("hottest_gpu", hottest)]);
    let [g, n, mu, mt, umean, umax, tmax, pd, pl] = cols;
    fields.extend([
        num("gpus", "none", g),
        num("nodes", "none", n),
        num("memory_used_mib", "mbytes", mu),
        num("memory_total_mib", "mbytes", mt),
        num("utilization_gpu_mean_pct", "percent", umean),
        num("utilization_gpu_max_pct", "percent", umax),
        num("temperature_max_c", "celsius", tmax),
        num("power_draw_w", "watt", pd),
        num("power_limit_w", "watt", pl),
    ]);
    // GPUs by model, per cluster and fleet-wide.
    let mut by_model: BTreeMap<(String, String, String), f64> = BTreeMap::new();
    for (cl, a) in ok {
        for g in a.nodes.iter().filter(|n| n.error.is_none()).flat_map(|n| &n.gpus) {
            *by_model.entry((cl.name.clone(), cl.id.to_string(), g.name.clone())).or_default() += 1.0;
            *by_model.entry(("fleet".into(), "*".into(), g.name.clone())).or_default() += 1.0;
        }
    }
    let mut mc = ClusterColumns::default();
    let (mut model, mut count) = (vec![], vec![]);
    for ((c, id, m), n) in by_model {
        mc.push_named(c, id);
        model.push(m);
        count.push(Some(n));
    }
    let mut mfields = mc.fields();
    mfields.extend([text("model", model), num("gpus", "none", count)]);
    vec![table("summary", fields, true), table("gpus_by_model", mfields, true)]
}
