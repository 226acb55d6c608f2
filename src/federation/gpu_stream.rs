//! Grafana Live `gpu/<cluster>`: the `gpus` view of one cluster, pushed every
//! [`PERIOD`] while someone watches.
//!
//! Each tick runs the ordinary gpu query path ([`gpu::run`], `source: auto`,
//! `view: gpus`) for that one cluster, so the stream shares its DCGM/exec
//! choice, failure isolation and the 5 s per-node telemetry cache. The next
//! tick starts [`PERIOD`] after the previous one *finished*: node answers are
//! cached from when their exec completed, so a fixed-rate tick would find
//! every other answer still cached; this way each tick sees fresh telemetry
//! (with the default `cache.gpuTtlSeconds` of 5).
//!
//! A tick that fails (cluster unreachable, every node failing, NO_GPU_NODES)
//! is pushed as the `gpus` frame with no rows and the error as a notice; the
//! stream goes on. The work runs in its own task that ends as soon as the
//! receiving side is dropped (Grafana cancels RunStream when the last viewer
//! leaves), including in the middle of a tick.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::sync::mpsc;

use super::gpu;
use super::status;
use super::{ClusterOutcome, Federation};
use crate::error::{ErrorCode, FleetError};
use crate::frames::{Frame, FrameMeta, Notice, NoticeSeverity};
use crate::probes::gpu::{ClusterGpus, GpuSource};
use crate::query::gpu::{GpuQuery, GpuView, SourceChoice};
use crate::registry::Cluster;

/// Pause between the end of one tick and the start of the next.
pub const PERIOD: Duration = Duration::from_secs(5);

/// `gpu/<cluster>` → the cluster (its id, or its display name).
pub fn channel_cluster(path: &str) -> Option<&str> {
    path.strip_prefix("gpu/").filter(|c| !c.is_empty() && !c.contains('/'))
}

/// The cluster a channel names, if it can give GPU telemetry: unknown →
/// CLUSTER_NOT_FOUND; neither Kubernetes access (nvidia-smi) nor a Prometheus
/// endpoint (DCGM) → KUBERNETES_NOT_AVAILABLE saying so.
pub fn resolve(fed: &Federation, cluster: &str) -> Result<Arc<Cluster>, FleetError> {
    let found = fed.registry.get(cluster).or_else(|| fed.registry.clusters().iter().find(|c| c.name == cluster));
    let Some(c) = found else {
        return Err(FleetError::new(ErrorCode::ClusterNotFound, format!("cluster {cluster:?} is not in the registry")));
    };
    if c.kubernetes.is_none() && c.prometheus.is_none() {
        return Err(FleetError::new(
            ErrorCode::KubernetesNotAvailable,
            format!(
                "{}: no GPU telemetry source: the cluster has neither kubernetes access (for nvidia-smi) nor a prometheus endpoint (for DCGM metrics)",
                c.name
            ),
        ));
    }
    Ok(c.clone())
}

/// Start the stream: frames arrive on the returned receiver; dropping it stops
/// the work (at the next send, or at once while a tick or the pause is under way).
pub fn start(fed: Arc<Federation>, cluster: Arc<Cluster>) -> mpsc::Receiver<Frame> {
    let (tx, rx) = mpsc::channel(1);
    tokio::spawn(async move {
        loop {
            let frames = tokio::select! {
                _ = tx.closed() => break,
                frames = tick(&fed, &cluster) => frames,
            };
            for f in frames {
                if tx.send(f).await.is_err() {
                    break;
                }
            }
            tokio::select! {
                _ = tx.closed() => break,
                _ = tokio::time::sleep(PERIOD) => {}
            }
        }
        tracing::debug!(cluster = %cluster.id, "gpu live stream stopped");
    });
    rx
}

/// One run of the `gpus` view for the cluster; a failure is a frame too.
pub async fn tick(fed: &Federation, cluster: &Arc<Cluster>) -> Vec<Frame> {
    let q = GpuQuery { view: GpuView::Gpus, source: SourceChoice::Auto, node: None, time_ms: now_ms() };
    // Each tick is a query of its own, with its own deadline.
    let deadline = crate::deadline::Deadline::new(tokio::time::Instant::now(), fed.registry.limits.timeout, None);
    match crate::deadline::scope(deadline, gpu::run(fed, "", &[cluster.id.to_string()], &q)).await {
        Ok(frames) => frames,
        Err(e) => {
            tracing::info!(cluster = %cluster.id, error = %e, "gpu live tick failed");
            failed_frames(cluster, e)
        }
    }
}

/// The `gpus` frame with its usual fields and no rows, the error as its notice
/// and the cluster's status in `meta.custom`, as a failed query would report it.
fn failed_frames(cluster: &Arc<Cluster>, e: FleetError) -> Vec<Frame> {
    let empty = ClusterGpus { source: GpuSource::NvidiaSmi, nodes: Vec::new(), note: None };
    let ok = vec![ClusterOutcome { cluster: cluster.clone(), result: Ok(empty), elapsed: Duration::ZERO }];
    let failed: Vec<ClusterOutcome<ClusterGpus>> = vec![ClusterOutcome { cluster: cluster.clone(), result: Err(e.clone()), elapsed: Duration::ZERO }];
    let statuses = status::statuses(&failed);
    let mut frames = gpu::to_frames(ok, "", GpuView::Gpus)
        .unwrap_or_else(|_| vec![Frame { name: "gpus".into(), ref_id: String::new(), meta: None, fields: Vec::new() }]);
    for f in &mut frames {
        let meta = f.meta.get_or_insert_with(FrameMeta::default);
        meta.notices = vec![Notice { severity: NoticeSeverity::Error, text: e.to_string() }];
        meta.custom = Some(json!({ "view": GpuView::Gpus, "sources": {}, "clusters": statuses }));
    }
    frames
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
