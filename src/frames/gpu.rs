//! The GPU views' tables: `gpus` (one row per GPU), `nodes` (one per node, failed
//! nodes included with their error), `processes`, and `summary` with
//! `gpus_by_model` (per cluster, then the fleet-wide row `("fleet", "*")`).
//!
//! Failed nodes contribute only to `nodes`; every other view counts the nodes
//! that answered, so a node whose exec timed out never reads as "0 GPUs".

use std::collections::BTreeMap;
use std::sync::Arc;

use super::Frame;
use super::probe_table::{Column, ProbeRow, RowCluster, TableKind, build};
use crate::probes::gpu::nvidia_smi::GpuInfo;
use crate::probes::gpu::{ClusterGpus, NodeGpus, ProcessRow};
use crate::registry::Cluster;

/// Each cluster that answered, with its answer.
pub type Answers = [(Arc<Cluster>, ClusterGpus)];

/// The nodes of a cluster's answer that answered themselves.
fn healthy(a: &ClusterGpus) -> impl Iterator<Item = &NodeGpus> {
    a.nodes.iter().filter(|n| n.error.is_none())
}

struct GpuRow<'a> {
    cluster: &'a Cluster,
    source: &'a str,
    node: &'a str,
    gpu: &'a GpuInfo,
}

impl ProbeRow for GpuRow<'_> {
    fn cluster(&self) -> RowCluster<'_> {
        self.cluster.into()
    }
}

/// One row per GPU of every node that answered.
pub fn gpus_frame(ok: &Answers) -> Frame {
    let rows: Vec<GpuRow> = ok
        .iter()
        .flat_map(|(c, a)| {
            healthy(a).flat_map(move |n| n.gpus.iter().map(move |gpu| GpuRow { cluster: c, source: a.source.as_str(), node: &n.node, gpu }))
        })
        .collect();
    build(
        "gpus",
        TableKind::NumericLong,
        &rows,
        &[
            Column::Text("node", |r| r.node.to_owned()),
            Column::Text("gpu", |r| r.gpu.index.to_string()),
            Column::Text("uuid", |r| r.gpu.uuid.clone()),
            Column::Text("model", |r| r.gpu.name.clone()),
            Column::Text("driver_version", |r| r.gpu.driver_version.clone().unwrap_or_default()),
            Column::Text("source", |r| r.source.to_owned()),
            Column::Number("memory_total_mib", "mbytes", |r| r.gpu.memory_total_mib),
            Column::Number("memory_used_mib", "mbytes", |r| r.gpu.memory_used_mib),
            Column::Number("memory_free_mib", "mbytes", |r| r.gpu.memory_free_mib),
            Column::Number("utilization_gpu_pct", "percent", |r| r.gpu.utilization_gpu_pct),
            Column::Number("utilization_memory_pct", "percent", |r| r.gpu.utilization_memory_pct),
            Column::Number("temperature_c", "celsius", |r| r.gpu.temperature_c),
            Column::Number("power_draw_w", "watt", |r| r.gpu.power_draw_w),
            Column::Number("power_limit_w", "watt", |r| r.gpu.power_limit_w),
            Column::Number("fan_speed_pct", "percent", |r| r.gpu.fan_speed_pct),
        ],
    )
}

struct NodeRow<'a> {
    cluster: &'a Cluster,
    source: &'a str,
    node: &'a NodeGpus,
}

impl ProbeRow for NodeRow<'_> {
    fn cluster(&self) -> RowCluster<'_> {
        self.cluster.into()
    }
}

/// One row per node, failed nodes included (`status: error` and the reason).
pub fn nodes_frame(ok: &Answers) -> Frame {
    let rows: Vec<NodeRow> =
        ok.iter().flat_map(|(c, a)| a.nodes.iter().map(move |node| NodeRow { cluster: c, source: a.source.as_str(), node })).collect();
    build(
        "nodes",
        TableKind::NumericLong,
        &rows,
        &[
            Column::Text("node", |r| r.node.node.clone()),
            Column::Text("source", |r| r.source.to_owned()),
            Column::Text("status", |r| if r.node.error.is_some() { "error" } else { "ok" }.to_owned()),
            Column::Text("error", |r| r.node.error.clone().unwrap_or_default()),
            Column::Number("gpus", "none", |r| Some(r.node.gpus.len() as f64)),
            Column::Number("memory_used_mib", "mbytes", |r| sum(r.node.gpus.iter().map(|g| g.memory_used_mib))),
            Column::Number("memory_total_mib", "mbytes", |r| sum(r.node.gpus.iter().map(|g| g.memory_total_mib))),
            Column::Number("utilization_gpu_mean_pct", "percent", |r| mean_max(r.node.gpus.iter().map(|g| g.utilization_gpu_pct)).0),
            Column::Number("temperature_max_c", "celsius", |r| mean_max(r.node.gpus.iter().map(|g| g.temperature_c)).1),
            Column::Number("power_draw_w", "watt", |r| sum(r.node.gpus.iter().map(|g| g.power_draw_w))),
        ],
    )
}

struct ProcessLine<'a> {
    cluster: &'a Cluster,
    source: &'a str,
    node: &'a str,
    process: &'a ProcessRow,
}

impl ProbeRow for ProcessLine<'_> {
    fn cluster(&self) -> RowCluster<'_> {
        self.cluster.into()
    }
}

/// One row per GPU process (nvidia-smi) or allocated pod (DCGM).
pub fn processes_frame(ok: &Answers) -> Frame {
    let rows: Vec<ProcessLine> = ok
        .iter()
        .flat_map(|(c, a)| {
            healthy(a).flat_map(move |n| {
                n.processes.iter().map(move |process| ProcessLine { cluster: c, source: a.source.as_str(), node: &n.node, process })
            })
        })
        .collect();
    build(
        "processes",
        TableKind::Table,
        &rows,
        &[
            Column::Text("node", |r| r.node.to_owned()),
            Column::NullableText("gpu_uuid", |r| r.process.gpu_uuid.clone()),
            Column::NullableInt("pid", |r| r.process.pid.map(i64::from)),
            Column::Text("process_name", |r| r.process.process_name.clone()),
            Column::Number("used_memory_mib", "mbytes", |r| r.process.used_memory_mib),
            Column::NullableText("namespace", |r| r.process.namespace.clone()),
            Column::NullableText("pod", |r| r.process.pod.clone()),
            Column::Text("source", |r| r.source.to_owned()),
        ],
    )
}

/// Totals of one set of GPUs: a cluster's, or the fleet's.
struct Totals<'a> {
    cluster: RowCluster<'a>,
    source: &'a str,
    gpus: f64,
    nodes: f64,
    mem_used: Option<f64>,
    mem_total: Option<f64>,
    util_mean: Option<f64>,
    util_max: Option<f64>,
    temp_max: Option<f64>,
    /// `cluster/node/gpuN` of the hottest GPU.
    hottest: String,
    power_draw: Option<f64>,
    power_limit: Option<f64>,
}

impl ProbeRow for Totals<'_> {
    fn cluster(&self) -> RowCluster<'_> {
        RowCluster { name: self.cluster.name, id: self.cluster.id }
    }
}

fn totals<'a>(cluster: RowCluster<'a>, source: &'a str, gpus: Vec<(&str, &str, &GpuInfo)>, nodes: usize) -> Totals<'a> {
    let (util_mean, util_max) = mean_max(gpus.iter().map(|(_, _, g)| g.utilization_gpu_pct));
    let hottest =
        gpus.iter().filter_map(|(c, n, g)| g.temperature_c.map(|t| (t, format!("{c}/{n}/gpu{}", g.index)))).fold(None::<(f64, String)>, |acc, x| {
            match acc {
                Some(a) if a.0 >= x.0 => Some(a),
                _ => Some(x),
            }
        });
    Totals {
        cluster,
        source,
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

struct ModelCount<'a> {
    cluster: RowCluster<'a>,
    model: &'a str,
    gpus: f64,
}

impl ProbeRow for ModelCount<'_> {
    fn cluster(&self) -> RowCluster<'_> {
        RowCluster { name: self.cluster.name, id: self.cluster.id }
    }
}

/// Per-cluster and fleet-wide totals (`summary`), and GPUs by model (`gpus_by_model`).
pub fn summary_frames(ok: &Answers) -> Vec<Frame> {
    fn gpus_of<'a>(c: &'a Cluster, a: &'a ClusterGpus) -> Vec<(&'a str, &'a str, &'a GpuInfo)> {
        healthy(a).flat_map(|n| n.gpus.iter().map(|g| (c.name.as_str(), n.node.as_str(), g))).collect()
    }
    let mut rows: Vec<Totals> = ok.iter().map(|(c, a)| totals((&**c).into(), a.source.as_str(), gpus_of(c, a), healthy(a).count())).collect();
    let fleet = RowCluster { name: "fleet", id: "*" };
    let fleet_nodes = ok.iter().map(|(_, a)| healthy(a).count()).sum();
    rows.push(totals(fleet, "*", ok.iter().flat_map(|(c, a)| gpus_of(c, a)).collect(), fleet_nodes));
    let summary = build(
        "summary",
        TableKind::NumericLong,
        &rows,
        &[
            Column::Text("source", |t| t.source.to_owned()),
            Column::Text("hottest_gpu", |t| t.hottest.clone()),
            Column::Number("gpus", "none", |t| Some(t.gpus)),
            Column::Number("nodes", "none", |t| Some(t.nodes)),
            Column::Number("memory_used_mib", "mbytes", |t| t.mem_used),
            Column::Number("memory_total_mib", "mbytes", |t| t.mem_total),
            Column::Number("utilization_gpu_mean_pct", "percent", |t| t.util_mean),
            Column::Number("utilization_gpu_max_pct", "percent", |t| t.util_max),
            Column::Number("temperature_max_c", "celsius", |t| t.temp_max),
            Column::Number("power_draw_w", "watt", |t| t.power_draw),
            Column::Number("power_limit_w", "watt", |t| t.power_limit),
        ],
    );
    // Ordered by (cluster name, id, model); the fleet rows sort among them by name.
    let mut by_model: BTreeMap<(&str, &str, &str), f64> = BTreeMap::new();
    for (c, a) in ok {
        for g in healthy(a).flat_map(|n| &n.gpus) {
            *by_model.entry((&c.name, c.id.as_str(), &g.name)).or_default() += 1.0;
            *by_model.entry(("fleet", "*", &g.name)).or_default() += 1.0;
        }
    }
    let models: Vec<ModelCount> =
        by_model.into_iter().map(|((name, id, model), gpus)| ModelCount { cluster: RowCluster { name, id }, model, gpus }).collect();
    let by_model = build(
        "gpus_by_model",
        TableKind::NumericLong,
        &models,
        &[Column::Text("model", |m| m.model.to_owned()), Column::Number("gpus", "none", |m| Some(m.gpus))],
    );
    vec![summary, by_model]
}

/// Mean and max of the present values.
fn mean_max(vals: impl Iterator<Item = Option<f64>>) -> (Option<f64>, Option<f64>) {
    let v: Vec<f64> = vals.flatten().collect();
    if v.is_empty() {
        return (None, None);
    }
    (Some(v.iter().sum::<f64>() / v.len() as f64), v.iter().copied().reduce(f64::max))
}

/// Sum of the present values; null when none is.
fn sum(vals: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    vals.flatten().fold(None, |acc, v| Some(acc.unwrap_or(0.0) + v))
}
