//! CNF workloads: pods attached to secondary networks (Multus
//! `k8s.v1.cni.cncf.io/networks`, and the `network-status` the CNI writes
//! back) or requesting SR-IOV device-plugin resources.
//!
//! `networks` comes in both forms Multus accepts: a comma-separated list of
//! `[namespace/]name[@interface]`, or a JSON list of objects
//! `{"name", "namespace", "interface"}`. SR-IOV resources are extended
//! resources whose name contains `sriov` or whose prefix is one the SR-IOV
//! operator uses (`openshift.io/`, `intel.com/`, `mellanox.com/`). A pod with
//! an unreadable annotation is still listed, with a problem noted.

use k8s_openapi::api::core::v1::Pod;
use serde::{Deserialize, Serialize};

pub const NETWORKS_ANNOTATION: &str = "k8s.v1.cni.cncf.io/networks";
pub const NETWORK_STATUS_ANNOTATION: &str = "k8s.v1.cni.cncf.io/network-status";
/// The older spelling, still written by Multus 3.x.
pub const NETWORKS_STATUS_ANNOTATION: &str = "k8s.v1.cni.cncf.io/networks-status";

const SRIOV_PREFIXES: [&str; 3] = ["openshift.io/", "intel.com/", "mellanox.com/"];

/// A CNF pod.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CnfPod {
    pub namespace: String,
    pub name: String,
    pub node: String,
    pub phase: String,
    /// Requested secondary networks (`namespace/name@interface`).
    pub networks: Vec<String>,
    /// Secondary attachments the CNI reported (the default network left out).
    pub attachments: Vec<Attachment>,
    /// SR-IOV resources requested, `name=count`, summed over containers.
    pub sriov_resources: Vec<(String, String)>,
    pub containers: Vec<String>,
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub interface: String,
    #[serde(default)]
    pub ips: Vec<String>,
    #[serde(default)]
    pub mac: String,
    #[serde(default)]
    pub default: bool,
    /// SR-IOV CNI: `device-info.pci.pci-address`.
    #[serde(default, rename = "device-info")]
    pub device_info: Option<serde_json::Value>,
}

impl Attachment {
    pub fn pci_address(&self) -> Option<&str> {
        self.device_info.as_ref()?.get("pci")?.get("pci-address")?.as_str()
    }
}

#[derive(Deserialize)]
struct NetworkSelection {
    name: String,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    interface: Option<String>,
}

/// Parse a `k8s.v1.cni.cncf.io/networks` value.
pub fn parse_networks(value: &str) -> Result<Vec<String>, String> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(Vec::new());
    }
    if v.starts_with('[') {
        let list: Vec<NetworkSelection> = serde_json::from_str(v).map_err(|e| format!("{NETWORKS_ANNOTATION} is not a valid JSON list: {e}"))?;
        return Ok(list
            .into_iter()
            .map(|n| {
                let ns = n.namespace.map(|ns| format!("{ns}/")).unwrap_or_default();
                let ifc = n.interface.map(|i| format!("@{i}")).unwrap_or_default();
                format!("{ns}{}{ifc}", n.name)
            })
            .collect());
    }
    Ok(v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect())
}

pub fn is_sriov_resource(name: &str) -> bool {
    name.contains("sriov") || SRIOV_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// The CNF view of a pod, or `None` when it is not a CNF.
pub fn from_pod(pod: &Pod) -> Option<CnfPod> {
    let meta = &pod.metadata;
    let empty = Default::default();
    let ann = meta.annotations.as_ref().unwrap_or(&empty);
    let mut problems = Vec::new();
    let networks = match ann.get(NETWORKS_ANNOTATION) {
        Some(v) => parse_networks(v).unwrap_or_else(|e| {
            problems.push(e);
            vec![v.clone()]
        }),
        None => Vec::new(),
    };
    let mut sriov: std::collections::BTreeMap<String, i64> = Default::default();
    let spec = pod.spec.as_ref();
    for c in spec.map(|s| s.containers.as_slice()).unwrap_or_default() {
        let res = c.resources.as_ref();
        let requests = res.and_then(|r| r.requests.as_ref()).or_else(|| res.and_then(|r| r.limits.as_ref()));
        for (k, q) in requests.into_iter().flatten() {
            if is_sriov_resource(k) {
                *sriov.entry(k.clone()).or_default() += q.0.trim().parse::<i64>().unwrap_or(0);
            }
        }
    }
    if networks.is_empty() && sriov.is_empty() {
        return None;
    }
    let status_text = ann.get(NETWORK_STATUS_ANNOTATION).or_else(|| ann.get(NETWORKS_STATUS_ANNOTATION));
    let attachments = match status_text {
        Some(t) => match serde_json::from_str::<Vec<Attachment>>(t) {
            Ok(list) => list.into_iter().filter(|a| !a.default).collect(),
            Err(e) => {
                problems.push(format!("{NETWORK_STATUS_ANNOTATION} is not a valid JSON list: {e}"));
                Vec::new()
            }
        },
        None => Vec::new(),
    };
    Some(CnfPod {
        namespace: meta.namespace.clone().unwrap_or_default(),
        name: meta.name.clone().unwrap_or_default(),
        node: spec.and_then(|s| s.node_name.clone()).unwrap_or_default(),
        phase: pod.status.as_ref().and_then(|s| s.phase.clone()).unwrap_or_default(),
        networks,
        attachments,
        sriov_resources: sriov.into_iter().map(|(k, v)| (k, v.to_string())).collect(),
        containers: spec.map(|s| s.containers.iter().map(|c| c.name.clone()).collect()).unwrap_or_default(),
        problems,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorded() -> Pod {
        let text = std::fs::read_to_string(format!(
            "{}/tests/fixtures/k8s-cnf/pod_metadata_multus_networks_and_network_status.harvester-docs.yaml",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        serde_yaml::from_str(&text).unwrap()
    }

    #[test]
    fn recorded_multus_pod() {
        let p = from_pod(&recorded()).expect("a CNF");
        assert_eq!(p.networks, ["harvester-system/storagenetwork-95bj4@lhnet1"]);
        assert_eq!(p.attachments.len(), 1, "the default network is left out");
        let a = &p.attachments[0];
        assert_eq!(
            (a.name.as_str(), a.interface.as_str(), a.ips.as_slice(), a.mac.as_str()),
            ("harvester-system/storagenetwork-95bj4", "lhnet1", &["192.168.0.3".to_owned()][..], "2e:51:e6:31:96:40")
        );
        assert!(p.problems.is_empty());
    }

    #[test]
    fn network_list_forms_and_sriov_resources() {
        assert_eq!(parse_networks("sriov-a, ns2/sriov-b@net1").unwrap(), ["sriov-a", "ns2/sriov-b@net1"]);
        assert!(parse_networks("[{\"nam\": 1}]").is_err());
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "du-0", "namespace": "ran"},
            "spec": {"nodeName": "w1", "containers": [
                {"name": "du", "resources": {"requests": {"cpu": "4", "openshift.io/storm5": "2"}, "limits": {"openshift.io/storm5": "2"}}},
                {"name": "side", "resources": {"requests": {"intel.com/intel_sriov_netdevice": "1"}}}]},
            "status": {"phase": "Running"}}))
        .unwrap();
        let p = from_pod(&pod).unwrap();
        assert_eq!(
            p.sriov_resources,
            [("intel.com/intel_sriov_netdevice".to_owned(), "1".to_owned()), ("openshift.io/storm5".to_owned(), "2".to_owned())]
        );
        assert!(p.networks.is_empty());
        let plain: Pod = serde_json::from_value(serde_json::json!({"metadata": {"name": "web"}, "spec": {"containers": [{"name": "c", "resources": {"requests": {"nvidia.com/gpu": "1"}}}]}})).unwrap();
        assert!(from_pod(&plain).is_none());
    }

    #[test]
    fn malformed_status_annotation_is_a_problem() {
        let mut pod = recorded();
        pod.metadata.annotations.as_mut().unwrap().insert(NETWORK_STATUS_ANNOTATION.into(), "[{broken".into());
        let p = from_pod(&pod).unwrap();
        assert!(p.attachments.is_empty());
        assert!(p.problems[0].starts_with("k8s.v1.cni.cncf.io/network-status is not a valid JSON list"), "{:?}", p.problems);
    }
}
