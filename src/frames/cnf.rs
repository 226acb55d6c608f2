//! The CNF views' tables: `ptp_status` + `ptp_profiles`, `sriov_pfs` +
//! `sriov_vfs`, `cnf_workloads`, `dpdk_ports` + `dpdk_queues`.
//!
//! Each takes the rows of every cluster that answered, paired with their cluster.
//! PTP enums keep both forms: the number (`clock_state`, `interface_role`, for
//! thresholds and value mappings) and its name (`state`, `role`).

use super::Frame;
use super::probe_table::{Column, ProbeRow, RowCluster, TableKind, build};
use crate::probes::cnf::dpdk::{DpdkPort, EthdevStats, QueueStats};
use crate::probes::cnf::ptp::{self, PtpProfile, PtpRow};
use crate::probes::cnf::sriov::{Pf, SriovNode, Vf};
use crate::probes::cnf::workloads::CnfPod;
use crate::registry::Cluster;

/// A row of one cluster: `item` is what the row shows.
pub struct On<'a, T> {
    pub cluster: &'a Cluster,
    pub item: T,
}

impl<T> ProbeRow for On<'_, T> {
    fn cluster(&self) -> RowCluster<'_> {
        self.cluster.into()
    }
}

/// linuxptp metrics joined with the operator's objects: one row per node, process and interface.
pub fn ptp_frame(rows: &[On<&PtpRow>]) -> Frame {
    build(
        "ptp_status",
        TableKind::NumericLong,
        rows,
        &[
            Column::Text("node", |r| r.item.node.clone()),
            Column::Text("process", |r| r.item.process.clone()),
            Column::Text("iface", |r| r.item.iface.clone()),
            Column::Text("state", |r| r.item.state().to_owned()),
            Column::Text("role", |r| r.item.interface_role.map(|v| ptp::role_name(Some(v)).to_owned()).unwrap_or_default()),
            Column::Text("role_iface", |r| r.item.role_iface.clone()),
            Column::Text("devices", |r| r.item.devices.join(",")),
            Column::Number("clock_state", "none", |r| r.item.clock_state),
            Column::Number("offset_ns", "ns", |r| r.item.offset_ns),
            Column::Number("abs_offset_ns", "ns", |r| r.item.offset_ns.map(f64::abs)),
            Column::Number("max_offset_ns", "ns", |r| r.item.max_offset_ns),
            Column::Number("frequency_adjustment_ns", "ns", |r| r.item.frequency_adjustment_ns),
            Column::Number("clock_class", "none", |r| r.item.clock_class),
            Column::Number("interface_role", "none", |r| r.item.interface_role),
        ],
    )
}

/// PtpConfig profiles with the recommendations that select them.
pub fn ptp_profiles_frame(rows: &[On<&PtpProfile>]) -> Frame {
    build(
        "ptp_profiles",
        TableKind::Table,
        rows,
        &[
            Column::Text("config", |r| r.item.config.clone()),
            Column::Text("profile", |r| r.item.profile.clone()),
            Column::Text("interface", |r| r.item.interface.clone()),
            Column::Text("role", |r| r.item.role.to_owned()),
            Column::Text("ptp4l_opts", |r| r.item.ptp4l_opts.clone()),
            Column::Text("phc2sys_opts", |r| r.item.phc2sys_opts.clone()),
            Column::Text("recommend", |r| r.item.recommend.join(", ")),
        ],
    )
}

/// One row per physical function, and one per virtual function.
pub fn sriov_frames(nodes: &[On<&SriovNode>]) -> Vec<Frame> {
    let pfs: Vec<On<(&SriovNode, &Pf)>> =
        nodes.iter().flat_map(|n| n.item.pfs.iter().map(move |pf| On { cluster: n.cluster, item: (n.item, pf) })).collect();
    let vfs: Vec<On<(&SriovNode, &Pf, &Vf)>> =
        pfs.iter().flat_map(|p| p.item.1.vfs.iter().map(move |vf| On { cluster: p.cluster, item: (p.item.0, p.item.1, vf) })).collect();
    let pf_table = build(
        "sriov_pfs",
        TableKind::NumericLong,
        &pfs,
        &[
            Column::Text("node", |r| r.item.0.node.clone()),
            Column::Text("pf", |r| r.item.1.name.clone()),
            Column::Text("pci_address", |r| r.item.1.pci_address.clone()),
            Column::Text("driver", |r| r.item.1.driver.clone()),
            Column::Text("link_speed", |r| r.item.1.link_speed.clone()),
            Column::Text("sync_status", |r| r.item.0.sync_status.clone()),
            Column::Number("num_vfs", "none", |r| Some(f64::from(r.item.1.configured_vfs()))),
            Column::Number("total_vfs", "none", |r| r.item.1.totalvfs.map(f64::from)),
            Column::Number("vfs_listed", "none", |r| Some(r.item.1.vfs.len() as f64)),
            Column::Number("synced", "none", |r| Some(if r.item.0.sync_status == "Succeeded" { 1.0 } else { 0.0 })),
        ],
    );
    let vf_table = build(
        "sriov_vfs",
        TableKind::Table,
        &vfs,
        &[
            Column::Text("node", |r| r.item.0.node.clone()),
            Column::Text("pf", |r| r.item.1.name.clone()),
            Column::NullableInt("vf_id", |r| r.item.2.vf_id.map(i64::from)),
            Column::Text("pci_address", |r| r.item.2.pci_address.clone()),
            Column::Text("driver", |r| r.item.2.driver.clone()),
            Column::NullableInt("vlan", |r| r.item.2.vlan),
            Column::Text("mac", |r| r.item.2.mac.clone()),
            Column::Text("sync_status", |r| r.item.0.sync_status.clone()),
        ],
    );
    vec![pf_table, vf_table]
}

/// Pods with secondary networks or SR-IOV resources, and what is wrong with them.
pub fn workloads_frame(pods: &[On<&CnfPod>]) -> Frame {
    build(
        "cnf_workloads",
        TableKind::Table,
        pods,
        &[
            Column::Text("namespace", |r| r.item.namespace.clone()),
            Column::Text("pod", |r| r.item.name.clone()),
            Column::Text("node", |r| r.item.node.clone()),
            Column::Text("phase", |r| r.item.phase.clone()),
            Column::Text("networks", |r| r.item.networks.join(", ")),
            Column::Text("interfaces", |r| interfaces(r.item)),
            Column::Text("sriov_resources", |r| r.item.sriov_resources.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")),
            Column::Text("problems", |r| r.item.problems.join("; ")),
        ],
    )
}

/// `net1 ns/name [10.0.0.5] 0a:…  pci=0000:…; …`
fn interfaces(p: &CnfPod) -> String {
    p.attachments
        .iter()
        .map(|a| {
            let pci = a.pci_address().map(|x| format!(" pci={x}")).unwrap_or_default();
            format!("{} {} [{}] {}{pci}", a.interface, a.name, a.ips.join(" "), a.mac).trim().to_owned()
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Counters per port, and per port queue, of the ports that answered.
pub fn dpdk_frames(ports: &[On<&DpdkPort>]) -> Vec<Frame> {
    let with_stats: Vec<On<(&DpdkPort, &EthdevStats)>> =
        ports.iter().filter_map(|p| p.item.stats.as_ref().map(|s| On { cluster: p.cluster, item: (p.item, s) })).collect();
    let queues: Vec<On<(&DpdkPort, QueueStats)>> =
        with_stats.iter().flat_map(|p| p.item.1.queues().into_iter().map(move |q| On { cluster: p.cluster, item: (p.item.0, q) })).collect();
    let port_table = build(
        "dpdk_ports",
        TableKind::NumericLong,
        &with_stats,
        &[
            Column::Text("pod", |r| r.item.0.pod.clone()),
            Column::Text("container", |r| r.item.0.container.clone()),
            Column::Text("port", |r| r.item.0.port.to_string()),
            Column::Counter("ipackets", "none", |r| r.item.1.ipackets),
            Column::Counter("opackets", "none", |r| r.item.1.opackets),
            Column::Counter("ibytes", "decbytes", |r| r.item.1.ibytes),
            Column::Counter("obytes", "decbytes", |r| r.item.1.obytes),
            Column::Counter("imissed", "none", |r| r.item.1.imissed),
            Column::Counter("ierrors", "none", |r| r.item.1.ierrors),
            Column::Counter("oerrors", "none", |r| r.item.1.oerrors),
            Column::Counter("rx_nombuf", "none", |r| r.item.1.rx_nombuf),
        ],
    );
    let queue_table = build(
        "dpdk_queues",
        TableKind::NumericLong,
        &queues,
        &[
            Column::Text("pod", |r| r.item.0.pod.clone()),
            Column::Text("port", |r| r.item.0.port.to_string()),
            Column::Text("queue", |r| r.item.1.queue.to_string()),
            Column::Counter("ipackets", "none", |r| r.item.1.ipackets),
            Column::Counter("opackets", "none", |r| r.item.1.opackets),
            Column::Counter("ibytes", "decbytes", |r| r.item.1.ibytes),
            Column::Counter("obytes", "decbytes", |r| r.item.1.obytes),
            Column::Counter("errors", "none", |r| r.item.1.errors),
        ],
    );
    vec![port_table, queue_table]
}
