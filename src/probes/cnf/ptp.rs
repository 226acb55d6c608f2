//! PTP: the PTP operator's objects (`ptp.openshift.io/v1` NodePtpDevice and
//! PtpConfig) and the linuxptp daemon's metrics (`openshift_ptp_*`, as the
//! linuxptp-daemon / cloud-event-proxy export them) → one row per
//! node/process/interface with clock state, offset and role.
//!
//! Metric conventions (linuxptp-daemon): offsets carry `from="master"` and the
//! interface with its last character replaced by `x` (`ens2f0` → `ens2fx`) for
//! ptp4l, `from="phc"`/`iface="CLOCK_REALTIME"` for phc2sys; the interface role
//! is reported on the real interface name. `openshift_ptp_clock_state`: 0
//! FREERUN, 1 LOCKED, 2 HOLDOVER; `openshift_ptp_interface_role`: 0 PASSIVE,
//! 1 SLAVE, 2 MASTER, 3 FAULTY, 4 UNKNOWN, 5 LISTENING.

use std::collections::BTreeMap;

use kube::api::DynamicObject;
use serde::Serialize;

use crate::model::series::Series;

pub const GROUP: &str = "ptp.openshift.io";
pub const VERSION: &str = "v1";

/// Every linuxptp metric the PTP view reads, in one instant selector.
pub const METRICS_QUERY: &str =
    "{__name__=~\"openshift_ptp_(offset_ns|max_offset_ns|frequency_adjustment_ns|clock_state|clock_class|interface_role)\"}";

/// `openshift_ptp_clock_state` → its name.
pub fn clock_state_name(v: Option<f64>) -> &'static str {
    match v {
        Some(0.0) => "FREERUN",
        Some(1.0) => "LOCKED",
        Some(2.0) => "HOLDOVER",
        _ => "UNKNOWN",
    }
}

/// `openshift_ptp_interface_role` → its name.
pub fn role_name(v: Option<f64>) -> &'static str {
    match v {
        Some(0.0) => "PASSIVE",
        Some(1.0) => "SLAVE",
        Some(2.0) => "MASTER",
        Some(3.0) => "FAULTY",
        Some(5.0) => "LISTENING",
        _ => "UNKNOWN",
    }
}

/// One node/process/interface of a cluster's PTP state.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PtpRow {
    pub node: String,
    pub process: String,
    pub iface: String,
    pub clock_state: Option<f64>,
    pub offset_ns: Option<f64>,
    pub max_offset_ns: Option<f64>,
    pub frequency_adjustment_ns: Option<f64>,
    pub clock_class: Option<f64>,
    pub interface_role: Option<f64>,
    /// The interface the role was reported on (`ens2f0` for `ens2fx`).
    pub role_iface: String,
    /// PTP-capable devices of the node (NodePtpDevice `status.devices`).
    pub devices: Vec<String>,
}

impl PtpRow {
    pub fn state(&self) -> &'static str {
        clock_state_name(self.clock_state)
    }
}

/// Does role interface `role_if` belong to metrics interface `iface` (same, or
/// linuxptp's `x` form)?
fn same_iface(iface: &str, role_if: &str) -> bool {
    if iface == role_if {
        return true;
    }
    match (iface.strip_suffix('x'), role_if.char_indices().last()) {
        (Some(stem), Some((i, _))) => &role_if[..i] == stem,
        _ => false,
    }
}

/// Group the metric series into rows (sorted by node, process, iface). Series
/// without a `node` label, or with a non-finite value, are skipped.
pub fn rows_from_series(series: &[Series]) -> Vec<PtpRow> {
    let mut rows: BTreeMap<(String, String, String), PtpRow> = BTreeMap::new();
    let mut classes: BTreeMap<(String, String), f64> = BTreeMap::new();
    let mut roles: Vec<(String, String, String, f64)> = Vec::new();
    for s in series {
        let (Some(name), Some(node)) = (s.labels.get("__name__"), s.labels.get("node")) else { continue };
        let Some(v) = s.values.last().copied().filter(|v| v.is_finite()) else { continue };
        let process = s.labels.get("process").cloned().unwrap_or_default();
        let iface = s.labels.get("iface").cloned().unwrap_or_default();
        let metric = name.trim_start_matches("openshift_ptp_");
        match metric {
            "clock_class" => {
                classes.insert((node.clone(), process), v);
                continue;
            }
            "interface_role" => {
                roles.push((node.clone(), process, iface, v));
                continue;
            }
            "offset_ns" | "max_offset_ns" | "frequency_adjustment_ns" | "clock_state" => {}
            // Other linuxptp series (delay, process status, thresholds) make no rows.
            _ => continue,
        }
        let row = rows.entry((node.clone(), process.clone(), iface.clone())).or_insert_with(|| PtpRow {
            node: node.clone(),
            process,
            iface,
            ..PtpRow::default()
        });
        match metric {
            "offset_ns" => row.offset_ns = Some(v),
            "max_offset_ns" => row.max_offset_ns = Some(v),
            "frequency_adjustment_ns" => row.frequency_adjustment_ns = Some(v),
            "clock_state" => row.clock_state = Some(v),
            _ => {}
        }
    }
    for (node, process, role_if, v) in roles {
        let mut matched = false;
        for ((n, p, i), row) in rows.iter_mut() {
            if n == &node && p == &process && same_iface(i, &role_if) {
                row.interface_role = Some(v);
                row.role_iface = role_if.clone();
                matched = true;
            }
        }
        if !matched {
            rows.insert(
                (node.clone(), process.clone(), role_if.clone()),
                PtpRow { node, process, iface: role_if.clone(), interface_role: Some(v), role_iface: role_if, ..PtpRow::default() },
            );
        }
    }
    for ((node, process), class) in classes {
        for ((n, p, _), row) in rows.iter_mut() {
            if n == &node && p == &process {
                row.clock_class = Some(class);
            }
        }
    }
    rows.into_values().collect()
}

/// A NodePtpDevice: the node and its PTP-capable interfaces.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeDevices {
    pub node: String,
    pub devices: Vec<String>,
}

/// Read NodePtpDevice objects; malformed ones are reported, the rest kept.
pub fn node_devices(objects: &[DynamicObject]) -> (Vec<NodeDevices>, Vec<String>) {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for o in objects {
        let Some(node) = o.metadata.name.clone() else {
            problems.push("NodePtpDevice without metadata.name".to_owned());
            continue;
        };
        let devices = match o.data.get("status").and_then(|s| s.get("devices")) {
            None => Vec::new(),
            Some(serde_json::Value::Array(items)) => {
                let names: Vec<String> = items.iter().filter_map(|d| d.get("name").and_then(|n| n.as_str()).map(str::to_owned)).collect();
                if names.len() < items.len() {
                    problems.push(format!("NodePtpDevice {node}: {} of {} status.devices have no name", items.len() - names.len(), items.len()));
                }
                names
            }
            Some(other) => {
                problems.push(format!("NodePtpDevice {node}: status.devices is not a list ({})", json_kind(other)));
                continue;
            }
        };
        out.push(NodeDevices { node, devices });
    }
    out.sort_by(|a, b| a.node.cmp(&b.node));
    (out, problems)
}

/// One profile of a PtpConfig.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PtpProfile {
    pub config: String,
    pub profile: String,
    pub interface: String,
    pub ptp4l_opts: String,
    pub phc2sys_opts: String,
    /// `slave-only` (ptp4l `-s`: ordinary clock) or `master-capable`.
    pub role: &'static str,
    /// Node selectors of the `recommend` entries naming this profile.
    pub recommend: Vec<String>,
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "an object",
    }
}

fn str_field(v: &serde_json::Value, key: &str) -> String {
    v.get(key).and_then(|x| x.as_str()).unwrap_or_default().to_owned()
}

/// Read PtpConfig objects into profiles; malformed ones are reported.
pub fn profiles(objects: &[DynamicObject]) -> (Vec<PtpProfile>, Vec<String>) {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for o in objects {
        let config = o.metadata.name.clone().unwrap_or_default();
        let spec = o.data.get("spec");
        let Some(list) = spec.and_then(|s| s.get("profile")).and_then(|p| p.as_array()) else {
            problems.push(format!("PtpConfig {config}: spec.profile is missing or not a list"));
            continue;
        };
        let recommends: Vec<&serde_json::Value> =
            spec.and_then(|s| s.get("recommend")).and_then(|r| r.as_array()).map(|r| r.iter().collect()).unwrap_or_default();
        for p in list {
            let profile = str_field(p, "name");
            let ptp4l_opts = str_field(p, "ptp4lOpts");
            let slave_only = ptp4l_opts.split_whitespace().any(|a| a == "-s" || a == "--slaveOnly=1");
            let recommend = recommends
                .iter()
                .filter(|r| r.get("profile").and_then(|x| x.as_str()) == Some(profile.as_str()))
                .flat_map(|r| r.get("match").and_then(|m| m.as_array()).cloned().unwrap_or_default())
                .filter_map(|m| {
                    m.get("nodeLabel")
                        .and_then(|x| x.as_str())
                        .map(|l| format!("nodeLabel={l}"))
                        .or_else(|| m.get("nodeName").and_then(|x| x.as_str()).map(|n| format!("nodeName={n}")))
                })
                .collect();
            out.push(PtpProfile {
                config: config.clone(),
                interface: str_field(p, "interface"),
                phc2sys_opts: str_field(p, "phc2sysOpts"),
                role: if slave_only { "slave-only" } else { "master-capable" },
                ptp4l_opts,
                profile,
                recommend,
            });
        }
    }
    (out, problems)
}

/// Attach NodePtpDevice devices to the rows, and add a row (state UNKNOWN,
/// no values) for every node the operator knows but the metrics do not.
pub fn merge_devices(rows: &mut Vec<PtpRow>, devices: &[NodeDevices]) {
    for d in devices {
        let mut found = false;
        for r in rows.iter_mut().filter(|r| r.node == d.node) {
            r.devices = d.devices.clone();
            found = true;
        }
        if !found {
            rows.push(PtpRow { node: d.node.clone(), devices: d.devices.clone(), ..PtpRow::default() });
        }
    }
    rows.sort_by(|a, b| (&a.node, &a.process, &a.iface).cmp(&(&b.node, &b.process, &b.iface)));
}

#[cfg(test)]
#[path = "ptp_tests.rs"]
mod tests;
