//! SR-IOV: `SriovNetworkNodeState` (`sriovnetwork.openshift.io/v1`, one per
//! node, in the operator's namespace) → physical functions and their virtual
//! functions. `status.interfaces[]` is what the config daemon found on the
//! node (PFs, and under `Vfs` — capital V, as the operator writes it — the VFs
//! with PCI address, driver, VLAN and MAC); `status.syncStatus` /
//! `lastSyncError` say whether the node applied its policy. PFs without VFs
//! are kept (numVfs 0): the view shows capacity as well as allocation.

use kube::api::DynamicObject;
use serde::{Deserialize, Serialize};

pub const GROUP: &str = "sriovnetwork.openshift.io";
pub const VERSION: &str = "v1";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SriovNode {
    pub node: String,
    pub sync_status: String,
    pub last_sync_error: String,
    pub pfs: Vec<Pf>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pf {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub pci_address: String,
    #[serde(default)]
    pub driver: String,
    #[serde(default)]
    pub vendor: String,
    #[serde(default, rename = "deviceID")]
    pub device_id: String,
    #[serde(default)]
    pub link_speed: String,
    #[serde(default)]
    pub mtu: Option<u32>,
    #[serde(default)]
    pub num_vfs: Option<u32>,
    #[serde(default)]
    pub totalvfs: Option<u32>,
    #[serde(default, rename = "Vfs")]
    pub vfs: Vec<Vf>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Vf {
    #[serde(default, rename = "vfID")]
    pub vf_id: Option<u32>,
    #[serde(default)]
    pub pci_address: String,
    #[serde(default)]
    pub driver: String,
    #[serde(default)]
    pub vendor: String,
    #[serde(default, rename = "deviceID")]
    pub device_id: String,
    #[serde(default)]
    pub mac: String,
    #[serde(default)]
    pub vlan: Option<i64>,
    #[serde(default)]
    pub mtu: Option<u32>,
    #[serde(default)]
    pub name: String,
}

impl Pf {
    /// VFs configured: `numVfs` when the daemon reports it, else the VFs listed.
    pub fn configured_vfs(&self) -> u32 {
        self.num_vfs.unwrap_or(self.vfs.len() as u32)
    }
}

/// Read node states; a malformed interface or object is a problem, the rest count.
pub fn nodes(objects: &[DynamicObject]) -> (Vec<SriovNode>, Vec<String>) {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for o in objects {
        let Some(node) = o.metadata.name.clone() else {
            problems.push("SriovNetworkNodeState without metadata.name".to_owned());
            continue;
        };
        let status = o.data.get("status");
        let text = |k: &str| status.and_then(|s| s.get(k)).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
        let mut pfs = Vec::new();
        match status.and_then(|s| s.get("interfaces")) {
            None | Some(serde_json::Value::Null) => {}
            Some(serde_json::Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    match serde_json::from_value::<Pf>(item.clone()) {
                        Ok(pf) => pfs.push(pf),
                        Err(e) => problems.push(format!("SriovNetworkNodeState {node}: status.interfaces[{i}]: {e}")),
                    }
                }
            }
            Some(_) => {
                problems.push(format!("SriovNetworkNodeState {node}: status.interfaces is not a list"));
                continue;
            }
        }
        pfs.sort_by(|a, b| a.name.cmp(&b.name));
        out.push(SriovNode { node, sync_status: text("syncStatus"), last_sync_error: text("lastSyncError"), pfs });
    }
    out.sort_by(|a, b| a.node.cmp(&b.node));
    (out, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> DynamicObject {
        let text = std::fs::read_to_string(format!(
            "{}/tests/fixtures/k8s-cnf/sriovnetworknodestate_igb_vfio_vfs.openshift-examples-web.yaml",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        serde_yaml::from_str(&text).unwrap()
    }

    #[test]
    fn recorded_node_state() {
        let (nodes, problems) = nodes(&[fixture()]);
        assert!(problems.is_empty(), "{problems:?}");
        let n = &nodes[0];
        assert_eq!((n.node.as_str(), n.sync_status.as_str()), ("storm5-10g.ocp5.stormshift.coe.muc.redhat.com", "Succeeded"));
        assert_eq!(n.pfs.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["eno1", "eno2", "eno3", "eno4", "enp132s0f0", "enp132s0f1"]);
        let eno4 = &n.pfs[3];
        assert_eq!((eno4.driver.as_str(), eno4.configured_vfs(), eno4.totalvfs, eno4.vfs.len()), ("igb", 7, Some(7), 7));
        assert_eq!((eno4.vfs[6].vf_id, eno4.vfs[6].pci_address.as_str(), eno4.vfs[6].driver.as_str()), (Some(6), "0000:01:13.3", "vfio-pci"));
        // The unquoted PCI address of the recorded YAML stays a string.
        assert_eq!(n.pfs[4].pci_address, "0000:84:00.0");
        assert_eq!((n.pfs[0].configured_vfs(), n.pfs[4].totalvfs), (0, Some(63)));
    }

    #[test]
    fn malformed_interface_is_reported() {
        let mut o = fixture();
        o.data["status"]["interfaces"][1]["totalvfs"] = serde_json::json!("lots");
        let (ns, problems) = super::nodes(&[o]);
        assert_eq!(ns[0].pfs.len(), 5);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("status.interfaces[1]") && problems[0].contains("invalid type"), "{problems:?}");
        let mut o = fixture();
        o.data["status"]["interfaces"] = serde_json::json!({"eno1": {}});
        let (ns, problems) = super::nodes(&[o]);
        assert!(ns.is_empty());
        assert!(problems[0].ends_with("status.interfaces is not a list"));
    }
}
