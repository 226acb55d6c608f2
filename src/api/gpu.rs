//! `/api/v1/gpu/*` (seed 000 §4.5, response shape §4.7 "GPU Nodes"):
//! `nodes`, `nodes/{cluster}/{node}`, `summary`, `processes`. Parameters:
//! `cluster_id`/`cluster_ids`, `source` (`auto`|`nvidia-smi`|`dcgm`), `time`
//! (DCGM evaluation time; default now). Every answer is a merged answer
//! (`super::envelope`): per-cluster `clusters`, counts, 206 + PARTIAL_RESULTS.

use std::time::Instant;

use serde_json::{Value, json};

use super::{ApiRequest, ApiResponse, envelope, method_not_allowed};
use crate::error::{ErrorCode, FleetError};
use crate::federation::{ClusterOutcome, Federation, gpu};
use crate::probes::gpu::{ClusterGpus, GpuInfo, NodeGpus, ProcessRow};
use crate::query::gpu::{GpuQuery, GpuView, SourceChoice};

pub async fn route(fed: &Federation, req: &ApiRequest, rest: &[&str]) -> Result<ApiResponse, FleetError> {
    let m = req.method.as_str();
    match (m, rest) {
        ("GET", ["nodes"]) => answer(fed, req, &req.params.cluster_ids(), None, GpuView::Nodes).await,
        ("GET", ["nodes", cluster, node]) => answer(fed, req, &[cluster.to_string()], Some(node), GpuView::Nodes).await,
        ("GET", ["summary"]) => answer(fed, req, &req.params.cluster_ids(), None, GpuView::Summary).await,
        ("GET", ["processes"]) => answer(fed, req, &req.params.cluster_ids(), None, GpuView::Processes).await,
        (_, ["nodes"] | ["nodes", _, _] | ["summary"] | ["processes"]) => Err(method_not_allowed(m, &req.path)),
        _ => Err(FleetError::new(ErrorCode::NotFound, format!("no resource at {:?}", req.path))),
    }
}

fn query(req: &ApiRequest, node: Option<&str>, view: GpuView) -> Result<GpuQuery, FleetError> {
    let source = match req.params.get("source").unwrap_or("auto") {
        "" | "auto" => SourceChoice::Auto,
        "nvidia-smi" => SourceChoice::NvidiaSmi,
        "dcgm" => SourceChoice::Dcgm,
        other => return Err(FleetError::invalid_query(format!("`source`: {other:?} is not one of auto, nvidia-smi, dcgm"))),
    };
    let time_ms = req.params.time_ms("time")?.unwrap_or_else(|| chrono::Utc::now().timestamp_millis());
    Ok(GpuQuery { view, source, node: node.map(str::to_owned), time_ms })
}

async fn answer(fed: &Federation, req: &ApiRequest, clusters: &[String], node: Option<&str>, view: GpuView) -> Result<ApiResponse, FleetError> {
    let q = query(req, node, view)?;
    let targets = fed.registry.targets(clusters)?;
    let started = Instant::now();
    let outcomes = gpu::fetch(fed, &targets, &q).await;
    Ok(envelope::merged(&outcomes, started.elapsed().as_millis() as u64, |outcomes| {
        let body = match view {
            GpuView::Summary => summary(outcomes),
            GpuView::Processes => processes(outcomes),
            _ => nodes(outcomes),
        };
        match node {
            // One node: its object, not a list.
            Some(_) => body["nodes"].get(0).cloned().unwrap_or_else(|| json!({})),
            None => body,
        }
    }))
}

fn ok(outcomes: &[ClusterOutcome<ClusterGpus>]) -> impl Iterator<Item = (&ClusterOutcome<ClusterGpus>, &ClusterGpus)> {
    outcomes.iter().filter_map(|o| o.result.as_ref().ok().map(|a| (o, a)))
}

fn process_json(p: &ProcessRow) -> Value {
    json!({
        "pid": p.pid,
        "process_name": p.process_name,
        "used_memory_mb": p.used_memory_mib,
        "type": "COMPUTE",
        "gpu_uuid": p.gpu_uuid,
        "namespace": p.namespace,
        "pod": p.pod,
    })
}

fn gpu_json(g: &GpuInfo, n: &NodeGpus) -> Value {
    let procs: Vec<Value> = n.processes.iter().filter(|p| p.gpu_uuid.as_deref() == Some(g.uuid.as_str())).map(process_json).collect();
    json!({
        "index": g.index,
        "uuid": g.uuid,
        "name": g.name,
        "driver_version": g.driver_version,
        "memory_total_mb": g.memory_total_mib,
        "memory_used_mb": g.memory_used_mib,
        "memory_free_mb": g.memory_free_mib,
        "utilization_gpu_percent": g.utilization_gpu_pct,
        "utilization_memory_percent": g.utilization_memory_pct,
        "temperature_celsius": g.temperature_c,
        "power_draw_watts": g.power_draw_w,
        "power_limit_watts": g.power_limit_w,
        "fan_speed_percent": g.fan_speed_pct,
        "processes": procs,
    })
}

fn nodes(outcomes: &[ClusterOutcome<ClusterGpus>]) -> Value {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut list = Vec::new();
    for (o, a) in ok(outcomes) {
        for n in &a.nodes {
            let mut v = json!({
                "cluster_id": o.cluster.id,
                "cluster_name": o.cluster.name,
                "node_name": n.node,
                "source": a.source,
                "gpus": n.gpus.iter().map(|g| gpu_json(g, n)).collect::<Vec<_>>(),
                // nvidia-smi's process query names no GPU: those processes are listed per node.
                "processes": n.processes.iter().filter(|p| p.gpu_uuid.is_none()).map(process_json).collect::<Vec<_>>(),
                "last_updated": now,
            });
            if let Some(e) = &n.error {
                v["error"] = json!(e);
            }
            if !n.warnings.is_empty() {
                v["warnings"] = json!(n.warnings);
            }
            list.push(v);
        }
    }
    json!({ "total": list.len(), "nodes": list })
}

fn processes(outcomes: &[ClusterOutcome<ClusterGpus>]) -> Value {
    let mut list = Vec::new();
    for (o, a) in ok(outcomes) {
        for n in a.nodes.iter().filter(|n| n.error.is_none()) {
            for p in &n.processes {
                let mut v = process_json(p);
                v["cluster_id"] = json!(o.cluster.id);
                v["cluster_name"] = json!(o.cluster.name);
                v["node_name"] = json!(n.node);
                list.push(v);
            }
        }
    }
    json!({ "total": list.len(), "processes": list })
}

fn summary(outcomes: &[ClusterOutcome<ClusterGpus>]) -> Value {
    let healthy: Vec<(&ClusterOutcome<ClusterGpus>, &ClusterGpus)> = ok(outcomes).collect();
    let per_cluster: Vec<Value> = healthy
        .iter()
        .map(|(o, a)| {
            let mut v = totals(
                a.nodes.iter().filter(|n| n.error.is_none()).flat_map(|n| n.gpus.iter().map(move |g| (o.cluster.id.as_str(), n.node.as_str(), g))),
            );
            v["cluster_id"] = json!(o.cluster.id);
            v["cluster_name"] = json!(o.cluster.name);
            v["source"] = json!(a.source);
            v
        })
        .collect();
    let mut fleet = totals(healthy.iter().flat_map(|(o, a)| {
        a.nodes.iter().filter(|n| n.error.is_none()).flat_map(move |n| n.gpus.iter().map(move |g| (o.cluster.id.as_str(), n.node.as_str(), g)))
    }));
    fleet["clusters"] = json!(per_cluster);
    json!({ "summary": fleet })
}

fn totals<'a>(gpus: impl Iterator<Item = (&'a str, &'a str, &'a GpuInfo)>) -> Value {
    let gpus: Vec<_> = gpus.collect();
    let present = |f: fn(&GpuInfo) -> Option<f64>| gpus.iter().filter_map(|(_, _, g)| f(g)).collect::<Vec<f64>>();
    let sum = |f: fn(&GpuInfo) -> Option<f64>| {
        let v = present(f);
        (!v.is_empty()).then(|| v.iter().sum::<f64>())
    };
    let util = present(|g| g.utilization_gpu_pct);
    let mut by_model = std::collections::BTreeMap::<&str, u64>::new();
    for (_, _, g) in &gpus {
        *by_model.entry(g.name.as_str()).or_default() += 1;
    }
    let hottest = gpus
        .iter()
        .filter_map(|(c, n, g)| g.temperature_c.map(|t| (t, c, n, g)))
        .fold(None, |acc: Option<(f64, &&str, &&str, &&GpuInfo)>, x| match acc {
            Some(a) if a.0 >= x.0 => Some(a),
            _ => Some(x),
        })
        .map(|(t, c, n, g)| json!({"cluster_id": c, "node_name": n, "index": g.index, "uuid": g.uuid, "temperature_celsius": t}));
    json!({
        "total_gpus": gpus.len(),
        "gpus_by_model": by_model,
        "memory_used_mb": sum(|g| g.memory_used_mib),
        "memory_total_mb": sum(|g| g.memory_total_mib),
        "utilization_gpu_mean_percent": (!util.is_empty()).then(|| util.iter().sum::<f64>() / util.len() as f64),
        "utilization_gpu_max_percent": util.iter().copied().reduce(f64::max),
        "hottest_gpu": hottest,
        "power_draw_watts": sum(|g| g.power_draw_w),
        "power_limit_watts": sum(|g| g.power_limit_w),
    })
}
