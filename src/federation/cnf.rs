//! `cnf` queries: per cluster, the telco CNF views, then their frames.
//!
//! * `ptp`: linuxptp metrics (one instant PromQL selector on the cluster's
//!   Prometheus) joined with the PTP operator's NodePtpDevice/PtpConfig objects
//!   (registry `kubernetes.ptpNamespace`). Either half may be missing: a cluster
//!   without the operator (the API answers 404 for `ptp.openshift.io/v1`) gets a
//!   warning notice saying so and still shows its metrics; the cluster fails
//!   only when every source it has failed.
//! * `sriov`: SriovNetworkNodeState objects (`kubernetes.sriovNamespace`).
//! * `workloads`: pods of every namespace with Multus networks or SR-IOV resources.
//! * `dpdk`: the pod named by the query, looked up in the cluster's own pod
//!   list, then the fixed DPDK telemetry commands by allowlisted exec.
//!
//! Malformed objects are notices; the rest of the cluster's answer still counts.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::json;

use super::status::{self, ClusterStatus};
use super::{ClusterOutcome, Federation, decode_error, named};
use crate::error::{ErrorCode, FleetError};
use crate::frames::cnf::{self as tables, On};
use crate::frames::prometheus::{self as conv, PromData};
use crate::frames::{Frame, FrameMeta, Notice, NoticeSeverity};
use crate::probes::cnf::dpdk::{self, DpdkPort};
use crate::probes::cnf::ptp::{self, PtpProfile, PtpRow};
use crate::probes::cnf::sriov::{self, SriovNode};
use crate::probes::cnf::workloads::{self, CnfPod};
use crate::query::cnf::{CnfQuery, CnfView, PodSelector};
use crate::registry::{Backend, Cluster, KubernetesAccess, QueryLimits};
use crate::upstream::UpstreamError;
use crate::upstream::kube::{AllowedCommand, KubeClient};

/// A cluster's answer to one cnf view (only that view's list is filled).
#[derive(Debug, Clone, Default, Serialize)]
pub struct ClusterCnf {
    pub ptp: Vec<PtpRow>,
    pub ptp_profiles: Vec<PtpProfile>,
    pub sriov: Vec<SriovNode>,
    pub workloads: Vec<CnfPod>,
    pub dpdk: Vec<DpdkPort>,
    /// Per-cluster remarks (no operator, malformed objects, failed ports).
    #[serde(skip)]
    pub notices: Vec<Notice>,
}

impl ClusterCnf {
    fn note(&mut self, severity: NoticeSeverity, text: String) {
        self.notices.push(Notice { severity, text });
    }
}

/// Ask every target cluster for the query's view.
pub async fn fetch(fed: &Federation, targets: &[Arc<Cluster>], q: &CnfQuery) -> Vec<ClusterOutcome<ClusterCnf>> {
    let backend = if q.view == CnfView::Ptp { Backend::Prometheus } else { Backend::Kubernetes };
    fed.fan_out(targets, backend, |cluster| {
        let prom = (q.view == CnfView::Ptp && cluster.prometheus.is_some()).then(|| fed.prometheus(&cluster));
        let kube = Kube { limits: fed.registry.limits.clone(), client: fed.kube(&cluster) };
        let q = q.clone();
        async move {
            let mut out = match q.view {
                CnfView::Ptp => ptp_view(&cluster, prom, &kube, q.time_ms).await?,
                CnfView::Sriov => sriov_view(&cluster, &kube).await?,
                CnfView::Workloads => workloads_view(&cluster, &kube, q.pod.as_ref()).await?,
                CnfView::Dpdk => dpdk_view(&cluster, &kube, &q).await?,
            };
            if let Some(n) = &q.node {
                out.ptp.retain(|r| &r.node == n);
                out.sriov.retain(|s| &s.node == n);
                out.workloads.retain(|p| &p.node == n);
            }
            Ok(out)
        }
    })
    .await
}

/// A cluster's Kubernetes client (the federation's, built once) and the query limits.
struct Kube {
    limits: QueryLimits,
    client: Result<KubeClient, FleetError>,
}

fn client(cluster: &Cluster, kube: &Kube, needed_for: &str) -> Result<(KubeClient, KubernetesAccess), FleetError> {
    let Some(access) = &cluster.kubernetes else {
        return Err(FleetError::new(
            ErrorCode::KubernetesNotAvailable,
            format!("{}: no kubernetes access is configured for this cluster (needed for {needed_for})", cluster.name),
        ));
    };
    let c = kube.client.clone()?;
    Ok((c, access.clone()))
}

fn not_served(e: &UpstreamError) -> bool {
    matches!(e, UpstreamError::Status { status: 404, .. })
}

async fn ptp_view(
    cluster: &Cluster,
    prom: Option<Result<crate::upstream::prometheus::PrometheusClient, FleetError>>,
    kube: &Kube,
    time_ms: i64,
) -> Result<ClusterCnf, FleetError> {
    let mut out = ClusterCnf::default();
    let mut errors: Vec<FleetError> = Vec::new();
    let mut sources = 0;
    match prom {
        None => out.note(NoticeSeverity::Info, format!("{}: no prometheus endpoint; PTP daemon metrics not read", cluster.name)),
        Some(p) => {
            sources += 1;
            let answer = match p {
                Ok(p) => match p.query(ptp::METRICS_QUERY, time_ms).await {
                    Ok(body) => conv::parse_query_response(&body).map_err(|e| decode_error(cluster, Backend::Prometheus, e)),
                    Err(e) => Err(e.into_fleet(&cluster.name, Backend::Prometheus)),
                },
                Err(e) => Err(e),
            };
            match answer {
                Ok(resp) => {
                    if let PromData::Series { series, .. } = &resp.data {
                        out.ptp = ptp::rows_from_series(series);
                    }
                    if out.ptp.is_empty() {
                        out.note(NoticeSeverity::Warning, format!("{}: no linuxptp metrics (openshift_ptp_*) in Prometheus", cluster.name));
                    }
                }
                Err(e) => {
                    out.note(NoticeSeverity::Warning, format!("{}: PTP metrics unavailable: {}", cluster.name, e.message));
                    errors.push(e);
                }
            }
        }
    }
    match &cluster.kubernetes {
        None => out.note(NoticeSeverity::Info, format!("{}: no kubernetes access; PTP operator objects not read", cluster.name)),
        Some(_) => {
            sources += 1;
            match ptp_objects(cluster, kube, &mut out).await {
                Ok(()) => {}
                Err(e) => {
                    out.note(NoticeSeverity::Warning, format!("{}: PTP operator objects unavailable: {}", cluster.name, e.message));
                    errors.push(e);
                }
            }
        }
    }
    if sources == 0 {
        return Err(FleetError::new(
            ErrorCode::PrometheusNotAvailable,
            format!("{}: neither a prometheus endpoint nor kubernetes access is configured (PTP needs one)", cluster.name),
        ));
    }
    if errors.len() == sources {
        let code = errors[0].code;
        let msg = errors.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join("; ");
        return Err(FleetError::new(code, msg));
    }
    Ok(out)
}

async fn ptp_objects(cluster: &Cluster, kube: &Kube, out: &mut ClusterCnf) -> Result<(), FleetError> {
    let (c, access) = client(cluster, kube, "the PTP operator objects")?;
    let ns = access.ptp_namespace.as_str();
    let devices = match c.list_custom(ptp::GROUP, ptp::VERSION, "NodePtpDevice", "nodeptpdevices", Some(ns)).await {
        Ok(d) => d,
        Err(e) if not_served(&e) => {
            out.note(
                NoticeSeverity::Warning,
                format!(
                    "{}: no PTP operator: the cluster does not serve {}/{} NodePtpDevice (namespace {ns})",
                    cluster.name,
                    ptp::GROUP,
                    ptp::VERSION
                ),
            );
            return Ok(());
        }
        Err(e) => return Err(e.into_fleet(&cluster.name, Backend::Kubernetes)),
    };
    let (nodes, problems) = ptp::node_devices(&devices);
    for p in problems {
        out.note(NoticeSeverity::Warning, format!("{}: {p}", cluster.name));
    }
    if nodes.is_empty() {
        out.note(NoticeSeverity::Warning, format!("{}: the PTP operator lists no NodePtpDevice in namespace {ns}", cluster.name));
    }
    ptp::merge_devices(&mut out.ptp, &nodes);
    match c.list_custom(ptp::GROUP, ptp::VERSION, "PtpConfig", "ptpconfigs", Some(ns)).await {
        Ok(configs) => {
            let (profiles, problems) = ptp::profiles(&configs);
            out.ptp_profiles = profiles;
            for p in problems {
                out.note(NoticeSeverity::Warning, format!("{}: {p}", cluster.name));
            }
        }
        Err(e) => out.note(NoticeSeverity::Warning, format!("{}: PtpConfig list failed: {}", cluster.name, e)),
    }
    Ok(())
}

async fn sriov_view(cluster: &Cluster, kube: &Kube) -> Result<ClusterCnf, FleetError> {
    let (c, access) = client(cluster, kube, "SR-IOV node states")?;
    let ns = access.sriov_namespace.as_str();
    let mut out = ClusterCnf::default();
    let objects = match c.list_custom(sriov::GROUP, sriov::VERSION, "SriovNetworkNodeState", "sriovnetworknodestates", Some(ns)).await {
        Ok(o) => o,
        Err(e) if not_served(&e) => {
            out.note(
                NoticeSeverity::Warning,
                format!(
                    "{}: no SR-IOV network operator: the cluster does not serve {}/{} SriovNetworkNodeState (namespace {ns})",
                    cluster.name,
                    sriov::GROUP,
                    sriov::VERSION
                ),
            );
            return Ok(out);
        }
        Err(e) => return Err(e.into_fleet(&cluster.name, Backend::Kubernetes)),
    };
    let (nodes, problems) = sriov::nodes(&objects);
    for p in problems {
        out.note(NoticeSeverity::Warning, format!("{}: {p}", cluster.name));
    }
    for n in nodes.iter().filter(|n| !n.sync_status.is_empty() && n.sync_status != "Succeeded") {
        let err = if n.last_sync_error.is_empty() { String::new() } else { format!(": {}", n.last_sync_error) };
        out.note(NoticeSeverity::Warning, format!("{}/{}: SR-IOV sync {}{err}", cluster.name, n.node, n.sync_status));
    }
    out.sriov = nodes;
    Ok(out)
}

async fn workloads_view(cluster: &Cluster, kube: &Kube, pod: Option<&PodSelector>) -> Result<ClusterCnf, FleetError> {
    let (c, _) = client(cluster, kube, "CNF workloads")?;
    let ns = pod.and_then(|p| p.namespace.as_deref());
    let pods = c.pod_objects(ns).await.map_err(named(cluster, Backend::Kubernetes))?;
    let mut out = ClusterCnf::default();
    for p in &pods {
        if let Some(sel) = pod
            && !sel.matches(p.metadata.namespace.as_deref().unwrap_or(""), p.metadata.name.as_deref().unwrap_or(""))
        {
            continue;
        }
        if let Some(cnf) = workloads::from_pod(p) {
            for problem in &cnf.problems {
                out.note(NoticeSeverity::Warning, format!("{}/{}/{}: {problem}", cluster.name, cnf.namespace, cnf.name));
            }
            out.workloads.push(cnf);
        }
    }
    out.workloads.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    Ok(out)
}

async fn dpdk_view(cluster: &Cluster, kube: &Kube, q: &CnfQuery) -> Result<ClusterCnf, FleetError> {
    let Some(sel) = &q.pod else { return Err(FleetError::invalid_query("field `pod`: cnfView dpdk needs a pod")) };
    let (c, _) = client(cluster, kube, "DPDK telemetry")?;
    let pods = c.pod_objects(sel.namespace.as_deref()).await.map_err(named(cluster, Backend::Kubernetes))?;
    // The pod, namespace and container that reach the exec come from this list, not from the query.
    let found = pods.iter().find(|p| sel.matches(p.metadata.namespace.as_deref().unwrap_or(""), p.metadata.name.as_deref().unwrap_or("")));
    let Some(pod) = found else {
        return Err(FleetError::new(ErrorCode::NotFound, format!("{}: no pod {sel} in this cluster", cluster.name)));
    };
    let (Some(ns), Some(name)) = (pod.metadata.namespace.clone(), pod.metadata.name.clone()) else {
        return Err(FleetError::new(ErrorCode::UpstreamError, format!("{}: pod {sel} has no namespace/name", cluster.name)));
    };
    if pod.status.as_ref().and_then(|s| s.phase.as_deref()) != Some("Running") {
        return Err(FleetError::new(ErrorCode::UpstreamError, format!("{}: pod {ns}/{name} is not Running", cluster.name)));
    }
    let container = pod.spec.as_ref().and_then(|s| s.containers.first()).map(|c| c.name.clone()).unwrap_or_default();
    let exec_timeout = (kube.limits.timeout / 2).min(Duration::from_secs(15));
    let exec_err =
        |what: &str, e: String| FleetError::new(ErrorCode::UpstreamError, format!("{}: DPDK telemetry {what} in {ns}/{name}: {e}", cluster.name));
    let ports = match q.port {
        Some(p) => vec![p],
        None => {
            let o = c
                .exec(&ns, &name, Some(&container), AllowedCommand::DPDK_ETHDEV_LIST, exec_timeout)
                .await
                .map_err(|e| exec_err("/ethdev/list", e.to_string()))?;
            dpdk::parse_list(&o.stdout).map_err(|e| exec_err("/ethdev/list", e))?
        }
    };
    let mut out = ClusterCnf::default();
    let pod_ref = format!("{ns}/{name}");
    // Ports DPDK does not have (or the plugin cannot name): when these are all
    // that was asked, the answer is NOT_FOUND, not an upstream failure.
    let mut missing = 0;
    for port in ports {
        let mut row = DpdkPort { pod: pod_ref.clone(), container: container.clone(), port, stats: None, error: None };
        match AllowedCommand::dpdk_ethdev_stats(port) {
            None => {
                row.error = Some(format!("port {port} is beyond the {} ports the plugin can ask about", dpdk::MAX_PORTS));
                missing += 1;
            }
            Some(cmd) => match c.exec(&ns, &name, Some(&container), cmd, exec_timeout).await {
                Ok(o) => match dpdk::parse_stats(&o.stdout, port) {
                    Ok(s) => row.stats = Some(s),
                    Err(e) => {
                        missing += usize::from(e.starts_with(dpdk::NO_SUCH_PORT));
                        row.error = Some(e);
                    }
                },
                Err(e) => row.error = Some(e.to_string()),
            },
        }
        if let Some(e) = &row.error {
            out.note(NoticeSeverity::Warning, format!("{}/{pod_ref} port {port}: /ethdev/stats: {e}", cluster.name));
        }
        out.dpdk.push(row);
    }
    if !out.dpdk.is_empty() && out.dpdk.iter().all(|p| p.error.is_some()) {
        let errs: Vec<String> = out.dpdk.iter().map(|p| format!("port {}: {}", p.port, p.error.as_deref().unwrap_or(""))).collect();
        let err = exec_err("/ethdev/stats", errs.join("; "));
        if missing == out.dpdk.len() {
            return Err(FleetError::new(ErrorCode::NotFound, err.message));
        }
        return Err(err);
    }
    Ok(out)
}

/// Run a cnf query and build its frames.
pub async fn run(fed: &Federation, ref_id: &str, clusters: &[String], q: &CnfQuery) -> Result<Vec<Frame>, FleetError> {
    let targets = fed.registry.targets(clusters)?;
    let outcomes = fetch(fed, &targets, q).await;
    to_frames(outcomes, ref_id, q.view)
}

/// Frames from per-cluster outcomes: fails only when every cluster failed.
pub fn to_frames(outcomes: Vec<ClusterOutcome<ClusterCnf>>, ref_id: &str, view: CnfView) -> Result<Vec<Frame>, FleetError> {
    if let Some(err) = status::all_failed(&outcomes) {
        return Err(err);
    }
    let statuses: Vec<ClusterStatus> = status::statuses(&outcomes);
    let mut notices = status::failure_notices(&statuses);
    let mut ok: Vec<(Arc<Cluster>, ClusterCnf)> = Vec::new();
    for o in outcomes {
        if let Ok(mut a) = o.result {
            notices.append(&mut a.notices);
            ok.push((o.cluster, a));
        }
    }
    fn rows<'a, T>(ok: &'a [(Arc<Cluster>, ClusterCnf)], list: fn(&ClusterCnf) -> &Vec<T>) -> Vec<On<'a, &'a T>> {
        ok.iter().flat_map(|(cluster, a)| list(a).iter().map(move |item| On { cluster, item })).collect()
    }
    let mut frames = match view {
        CnfView::Ptp => vec![tables::ptp_frame(&rows(&ok, |a| &a.ptp)), tables::ptp_profiles_frame(&rows(&ok, |a| &a.ptp_profiles))],
        CnfView::Sriov => tables::sriov_frames(&rows(&ok, |a| &a.sriov)),
        CnfView::Workloads => vec![tables::workloads_frame(&rows(&ok, |a| &a.workloads))],
        CnfView::Dpdk => tables::dpdk_frames(&rows(&ok, |a| &a.dpdk)),
    };
    for f in &mut frames {
        f.ref_id = ref_id.to_owned();
    }
    if let Some(first) = frames.first_mut() {
        let meta = first.meta.get_or_insert_with(FrameMeta::default);
        meta.notices = notices;
        meta.custom = Some(json!({ "cnfView": view, "clusters": statuses }));
    }
    Ok(frames)
}
