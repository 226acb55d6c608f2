//! DCGM exporter series → the same GPU rows nvidia-smi gives.
//!
//! One instant PromQL query reads every metric needed ([`DCGM_QUERY`]); series
//! are grouped per (`Hostname`, `UUID`). Labels follow dcgm-exporter: `gpu`
//! (index), `UUID`, `modelName`, `Hostname`, `DCGM_FI_DRIVER_VERSION`, and
//! `pod`/`namespace`/`container` on GPUs allocated to a pod. Memory total is
//! `FB_USED + FB_FREE` (+ `FB_RESERVED` when exported).

use std::collections::BTreeMap;

use super::nvidia_smi::GpuInfo;
use super::{NodeGpus, ProcessRow};
use crate::model::series::Series;

/// Every DCGM metric the GPU views read, in one selector.
pub const DCGM_QUERY: &str =
    "{__name__=~\"DCGM_FI_DEV_(GPU_UTIL|MEM_COPY_UTIL|FB_USED|FB_FREE|FB_RESERVED|GPU_TEMP|POWER_USAGE|POWER_MGMT_LIMIT|FAN_SPEED)\"}";

#[derive(Default)]
struct Acc {
    node: String,
    labels: BTreeMap<String, String>,
    values: BTreeMap<String, f64>,
}

/// Group DCGM series into nodes. Series without `Hostname` or `UUID` are skipped.
pub fn nodes_from_series(series: &[Series]) -> Vec<NodeGpus> {
    let mut gpus: BTreeMap<(String, String), Acc> = BTreeMap::new();
    for s in series {
        let (Some(name), Some(host), Some(uuid)) = (s.labels.get("__name__"), s.labels.get("Hostname"), s.labels.get("UUID")) else {
            continue;
        };
        let Some(v) = s.values.last().copied().filter(|v| v.is_finite()) else { continue };
        let acc = gpus.entry((host.clone(), uuid.clone())).or_default();
        acc.node = host.clone();
        if acc.labels.is_empty() {
            acc.labels = s.labels.clone();
        }
        acc.values.insert(name.trim_start_matches("DCGM_FI_DEV_").to_owned(), v);
    }
    let mut nodes: BTreeMap<String, NodeGpus> = BTreeMap::new();
    for ((host, uuid), acc) in gpus {
        let v = |k: &str| acc.values.get(k).copied();
        let total = match (v("FB_USED"), v("FB_FREE")) {
            (Some(u), Some(f)) => Some(u + f + v("FB_RESERVED").unwrap_or(0.0)),
            _ => None,
        };
        let gpu = GpuInfo {
            index: acc.labels.get("gpu").and_then(|g| g.parse().ok()).unwrap_or(0),
            uuid: uuid.clone(),
            name: acc.labels.get("modelName").cloned().unwrap_or_default(),
            driver_version: acc.labels.get("DCGM_FI_DRIVER_VERSION").cloned(),
            memory_total_mib: total,
            memory_used_mib: v("FB_USED"),
            memory_free_mib: v("FB_FREE"),
            utilization_gpu_pct: v("GPU_UTIL"),
            utilization_memory_pct: v("MEM_COPY_UTIL"),
            temperature_c: v("GPU_TEMP"),
            power_draw_w: v("POWER_USAGE"),
            power_limit_w: v("POWER_MGMT_LIMIT"),
            fan_speed_pct: v("FAN_SPEED"),
        };
        let node = nodes.entry(host.clone()).or_insert_with(|| NodeGpus::new(&host));
        if let (Some(pod), Some(ns)) = (acc.labels.get("pod"), acc.labels.get("namespace")) {
            node.processes.push(ProcessRow {
                gpu_uuid: Some(uuid.clone()),
                pid: None,
                process_name: acc.labels.get("container").cloned().unwrap_or_default(),
                used_memory_mib: v("FB_USED"),
                pod: Some(pod.clone()),
                namespace: Some(ns.clone()),
            });
        }
        node.gpus.push(gpu);
    }
    let mut out: Vec<NodeGpus> = nodes.into_values().collect();
    for n in &mut out {
        n.gpus.sort_by_key(|g| g.index);
    }
    out
}
