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
use crate::frames::probe_table::{ClusterColumns, counter, num, table, text};
use crate::frames::prometheus::{self as conv, PromData};
use crate::frames::{Field, FieldValues, Frame, FrameMeta, Notice, NoticeSeverity};
use crate::probes::cnf::dpdk::{self, EthdevStats};
use crate::probes::cnf::ptp::{self, PtpProfile, PtpRow};
use crate::probes::cnf::sriov::{self, SriovNode};
use crate::probes::cnf::workloads::{self, CnfPod};
use crate::query::cnf::{CnfQuery, CnfView, PodSelector};
use crate::registry::{Backend, Cluster, KubernetesAccess, QueryLimits};
use crate::upstream::UpstreamError;
use crate::upstream::kube::{AllowedCommand, KubeClient};

/// One DPDK port of the probed pod: its counters, or why they are missing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DpdkPort {
    pub pod: String,
    pub container: String,
    pub port: u32,
    pub stats: Option<EthdevStats>,
    pub error: Option<String>,
}

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
        let limits = fed.registry.limits.clone();
        let q = q.clone();
        async move {
            let mut out = match q.view {
                CnfView::Ptp => ptp_view(&cluster, prom, &limits, q.time_ms).await?,
                CnfView::Sriov => sriov_view(&cluster, &limits).await?,
                CnfView::Workloads => workloads_view(&cluster, &limits, q.pod.as_ref()).await?,
                CnfView::Dpdk => dpdk_view(&cluster, &limits, &q).await?,
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

fn client(cluster: &Cluster, limits: &QueryLimits, needed_for: &str) -> Result<(KubeClient, KubernetesAccess), FleetError> {
    let Some(access) = &cluster.kubernetes else {
        return Err(FleetError::new(
            ErrorCode::KubernetesNotAvailable,
            format!("{}: no kubernetes access is configured for this cluster (needed for {needed_for})", cluster.name),
        ));
    };
    let c = KubeClient::new(access, limits).map_err(named(cluster, Backend::Kubernetes))?;
    Ok((c, access.clone()))
}

fn not_served(e: &UpstreamError) -> bool {
    matches!(e, UpstreamError::Status { status: 404, .. })
}

async fn ptp_view(
    cluster: &Cluster,
    prom: Option<Result<crate::upstream::prometheus::PrometheusClient, FleetError>>,
    limits: &QueryLimits,
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
            match ptp_objects(cluster, limits, &mut out).await {
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

async fn ptp_objects(cluster: &Cluster, limits: &QueryLimits, out: &mut ClusterCnf) -> Result<(), FleetError> {
    let (c, access) = client(cluster, limits, "the PTP operator objects")?;
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

async fn sriov_view(cluster: &Cluster, limits: &QueryLimits) -> Result<ClusterCnf, FleetError> {
    let (c, access) = client(cluster, limits, "SR-IOV node states")?;
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

async fn workloads_view(cluster: &Cluster, limits: &QueryLimits, pod: Option<&PodSelector>) -> Result<ClusterCnf, FleetError> {
    let (c, _) = client(cluster, limits, "CNF workloads")?;
    let ns = pod.and_then(|p| p.namespace.as_deref());
    let pods = c.pod_objects(ns).await.map_err(named(cluster, Backend::Kubernetes))?;
    let mut out = ClusterCnf::default();
    for p in &pods {
        if let Some(sel) = pod {
            if !sel.matches(p.metadata.namespace.as_deref().unwrap_or(""), p.metadata.name.as_deref().unwrap_or("")) {
                continue;
            }
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

async fn dpdk_view(cluster: &Cluster, limits: &QueryLimits, q: &CnfQuery) -> Result<ClusterCnf, FleetError> {
    let Some(sel) = &q.pod else { return Err(FleetError::invalid_query("field `pod`: cnfView dpdk needs a pod")) };
    let (c, _) = client(cluster, limits, "DPDK telemetry")?;
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
    let exec_timeout = (limits.timeout / 2).min(Duration::from_secs(15));
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
    let mut frames = match view {
        CnfView::Ptp => vec![ptp_frame(&ok), ptp_profiles_frame(&ok)],
        CnfView::Sriov => sriov_frames(&ok),
        CnfView::Workloads => vec![workloads_frame(&ok)],
        CnfView::Dpdk => dpdk_frames(&ok),
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

fn ptp_frame(ok: &[(Arc<Cluster>, ClusterCnf)]) -> Frame {
    let mut rows = ClusterColumns::default();
    let (mut node, mut process, mut iface, mut state, mut role, mut role_iface, mut devices) =
        (vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
    let (mut cs, mut off, mut abs, mut max, mut freq, mut class, mut ir) = (vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
    for (c, a) in ok {
        for r in &a.ptp {
            rows.push(c);
            node.push(r.node.clone());
            process.push(r.process.clone());
            iface.push(r.iface.clone());
            state.push(r.state().to_owned());
            role.push(if r.interface_role.is_some() { ptp::role_name(r.interface_role).to_owned() } else { String::new() });
            role_iface.push(r.role_iface.clone());
            devices.push(r.devices.join(","));
            cs.push(r.clock_state);
            off.push(r.offset_ns);
            abs.push(r.offset_ns.map(f64::abs));
            max.push(r.max_offset_ns);
            freq.push(r.frequency_adjustment_ns);
            class.push(r.clock_class);
            ir.push(r.interface_role);
        }
    }
    let mut fields = rows.fields();
    fields.extend([
        text("node", node),
        text("process", process),
        text("iface", iface),
        text("state", state),
        text("role", role),
        text("role_iface", role_iface),
        text("devices", devices),
    ]);
    fields.extend([
        num("clock_state", "none", cs),
        num("offset_ns", "ns", off),
        num("abs_offset_ns", "ns", abs),
        num("max_offset_ns", "ns", max),
        num("frequency_adjustment_ns", "ns", freq),
        num("clock_class", "none", class),
        num("interface_role", "none", ir),
    ]);
    table("ptp_status", fields, true)
}

fn ptp_profiles_frame(ok: &[(Arc<Cluster>, ClusterCnf)]) -> Frame {
    let mut rows = ClusterColumns::default();
    let (mut config, mut profile, mut iface, mut role, mut p4, mut p2, mut rec) = (vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
    for (c, a) in ok {
        for p in &a.ptp_profiles {
            rows.push(c);
            config.push(p.config.clone());
            profile.push(p.profile.clone());
            iface.push(p.interface.clone());
            role.push(p.role.to_owned());
            p4.push(p.ptp4l_opts.clone());
            p2.push(p.phc2sys_opts.clone());
            rec.push(p.recommend.join(", "));
        }
    }
    let mut fields = rows.fields();
    fields.extend([
        text("config", config),
        text("profile", profile),
        text("interface", iface),
        text("role", role),
        text("ptp4l_opts", p4),
        text("phc2sys_opts", p2),
        text("recommend", rec),
    ]);
    table("ptp_profiles", fields, false)
}

fn sriov_frames(ok: &[(Arc<Cluster>, ClusterCnf)]) -> Vec<Frame> {
    let mut prow = ClusterColumns::default();
    let (mut node, mut pf, mut pci, mut driver, mut speed, mut sync) = (vec![], vec![], vec![], vec![], vec![], vec![]);
    let (mut num_vfs, mut total, mut listed, mut synced) = (vec![], vec![], vec![], vec![]);
    let mut vrow = ClusterColumns::default();
    let (mut vnode, mut vpf, mut vid, mut vpci, mut vdrv, mut vlan, mut mac, mut vsync) =
        (vec![], vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
    for (c, a) in ok {
        for n in &a.sriov {
            for p in &n.pfs {
                prow.push(c);
                node.push(n.node.clone());
                pf.push(p.name.clone());
                pci.push(p.pci_address.clone());
                driver.push(p.driver.clone());
                speed.push(p.link_speed.clone());
                sync.push(n.sync_status.clone());
                num_vfs.push(Some(f64::from(p.configured_vfs())));
                total.push(p.totalvfs.map(f64::from));
                listed.push(Some(p.vfs.len() as f64));
                synced.push(Some(if n.sync_status == "Succeeded" { 1.0 } else { 0.0 }));
                for v in &p.vfs {
                    vrow.push(c);
                    vnode.push(n.node.clone());
                    vpf.push(p.name.clone());
                    vid.push(v.vf_id.map(i64::from));
                    vpci.push(v.pci_address.clone());
                    vdrv.push(v.driver.clone());
                    vlan.push(v.vlan);
                    mac.push(v.mac.clone());
                    vsync.push(n.sync_status.clone());
                }
            }
        }
    }
    let mut pfields = prow.fields();
    pfields.extend([
        text("node", node),
        text("pf", pf),
        text("pci_address", pci),
        text("driver", driver),
        text("link_speed", speed),
        text("sync_status", sync),
    ]);
    pfields.extend([
        num("num_vfs", "none", num_vfs),
        num("total_vfs", "none", total),
        num("vfs_listed", "none", listed),
        num("synced", "none", synced),
    ]);
    let mut vfields = vrow.fields();
    vfields.extend([
        text("node", vnode),
        text("pf", vpf),
        Field::new("vf_id", FieldValues::NullableI64(vid)),
        text("pci_address", vpci),
        text("driver", vdrv),
        Field::new("vlan", FieldValues::NullableI64(vlan)),
        text("mac", mac),
        text("sync_status", vsync),
    ]);
    vec![table("sriov_pfs", pfields, true), table("sriov_vfs", vfields, false)]
}

fn workloads_frame(ok: &[(Arc<Cluster>, ClusterCnf)]) -> Frame {
    let mut rows = ClusterColumns::default();
    let (mut ns, mut pod, mut node, mut phase, mut nets, mut ifs, mut res, mut problems) =
        (vec![], vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
    for (c, a) in ok {
        for p in &a.workloads {
            rows.push(c);
            ns.push(p.namespace.clone());
            pod.push(p.name.clone());
            node.push(p.node.clone());
            phase.push(p.phase.clone());
            nets.push(p.networks.join(", "));
            ifs.push(
                p.attachments
                    .iter()
                    .map(|a| {
                        let pci = a.pci_address().map(|x| format!(" pci={x}")).unwrap_or_default();
                        format!("{} {} [{}] {}{pci}", a.interface, a.name, a.ips.join(" "), a.mac).trim().to_owned()
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
            );
            res.push(p.sriov_resources.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", "));
            problems.push(p.problems.join("; "));
        }
    }
    let mut fields = rows.fields();
    fields.extend([
        text("namespace", ns),
        text("pod", pod),
        text("node", node),
        text("phase", phase),
        text("networks", nets),
        text("interfaces", ifs),
        text("sriov_resources", res),
        text("problems", problems),
    ]);
    table("cnf_workloads", fields, false)
}

fn dpdk_frames(ok: &[(Arc<Cluster>, ClusterCnf)]) -> Vec<Frame> {
    let mut rows = ClusterColumns::default();
    let (mut pod, mut container, mut port) = (vec![], vec![], vec![]);
    let mut cols: [Vec<u64>; 8] = Default::default();
    let mut qrows = ClusterColumns::default();
    let (mut qpod, mut qport, mut queue) = (vec![], vec![], vec![]);
    let mut qcols: [Vec<u64>; 5] = Default::default();
    for (c, a) in ok {
        for p in a.dpdk.iter() {
            let Some(s) = &p.stats else { continue };
            rows.push(c);
            pod.push(p.pod.clone());
            container.push(p.container.clone());
            port.push(p.port.to_string());
            for (col, v) in cols.iter_mut().zip([s.ipackets, s.opackets, s.ibytes, s.obytes, s.imissed, s.ierrors, s.oerrors, s.rx_nombuf]) {
                col.push(v);
            }
            for q in s.queues() {
                qrows.push(c);
                qpod.push(p.pod.clone());
                qport.push(p.port.to_string());
                queue.push(q.queue.to_string());
                for (col, v) in qcols.iter_mut().zip([q.ipackets, q.opackets, q.ibytes, q.obytes, q.errors]) {
                    col.push(v);
                }
            }
        }
    }
    let mut fields = rows.fields();
    fields.extend([text("pod", pod), text("container", container), text("port", port)]);
    let [ip, op, ib, ob, im, ie, oe, nb] = cols;
    fields.extend([
        counter("ipackets", "none", ip),
        counter("opackets", "none", op),
        counter("ibytes", "decbytes", ib),
        counter("obytes", "decbytes", ob),
        counter("imissed", "none", im),
        counter("ierrors", "none", ie),
        counter("oerrors", "none", oe),
        counter("rx_nombuf", "none", nb),
    ]);
    let mut qfields = qrows.fields();
    qfields.extend([text("pod", qpod), text("port", qport), text("queue", queue)]);
    let [qi, qo, qib, qob, qe] = qcols;
    qfields.extend([
        counter("ipackets", "none", qi),
        counter("opackets", "none", qo),
        counter("ibytes", "decbytes", qib),
        counter("obytes", "decbytes", qob),
        counter("errors", "none", qe),
    ]);
    vec![table("dpdk_ports", fields, true), table("dpdk_queues", qfields, true)]
}
