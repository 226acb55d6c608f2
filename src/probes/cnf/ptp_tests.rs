use super::*;
use crate::model::series::Series;

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/fixtures/k8s-cnf/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// Exposition text → one-point series (enough for the recorded scrape).
fn series_from_prom(text: &str) -> Vec<Series> {
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let (head, value) = line.rsplit_once(' ').unwrap();
        let (name, labels) = match head.split_once('{') {
            Some((n, rest)) => (n, rest.trim_end_matches('}')),
            None => (head, ""),
        };
        let mut map = crate::model::series::Labels::new();
        map.insert("__name__".into(), name.into());
        for kv in labels.split("\",").filter(|s| !s.is_empty()) {
            let (k, v) = kv.split_once('=').unwrap();
            map.insert(k.into(), v.trim_matches('"').into());
        }
        out.push(Series { labels: map, times_ms: vec![0], values: vec![value.parse().unwrap()] });
    }
    out
}

fn obj(yaml: &str) -> DynamicObject {
    serde_yaml::from_str(yaml).unwrap()
}

#[test]
fn recorded_daemon_metrics_become_rows() {
    let rows = rows_from_series(&series_from_prom(&fixture("ptp_metrics_cloud_event_proxy_sidecar.cloud-event-proxy-plugins-readme.prom")));
    // The recorded scrape: offsets on ens2fx, role on ens2f0 (SLAVE), clock class 135; no clock_state.
    assert_eq!(rows.len(), 1, "{rows:?}");
    let r = &rows[0];
    assert_eq!((r.node.as_str(), r.process.as_str(), r.iface.as_str()), ("NODE_NAME", "ptp4l", "ens2fx"));
    assert_eq!((r.offset_ns, r.max_offset_ns, r.frequency_adjustment_ns), (Some(4.0), Some(8.0), Some(-15705.0)));
    assert_eq!((r.interface_role, r.role_iface.as_str(), role_name(r.interface_role)), (Some(1.0), "ens2f0", "SLAVE"));
    assert_eq!(r.clock_class, Some(135.0));
    assert_eq!(r.state(), "UNKNOWN");
}

#[test]
fn states_and_roles_are_named() {
    assert_eq!(
        [clock_state_name(Some(0.0)), clock_state_name(Some(1.0)), clock_state_name(Some(2.0)), clock_state_name(Some(7.0))],
        ["FREERUN", "LOCKED", "HOLDOVER", "UNKNOWN"]
    );
    assert_eq!([role_name(Some(3.0)), role_name(Some(2.0)), role_name(None)], ["FAULTY", "MASTER", "UNKNOWN"]);
    assert!(same_iface("ens2fx", "ens2f0") && same_iface("eno1", "eno1") && !same_iface("ens2fx", "ens3f0") && !same_iface("x", ""));
}

#[test]
fn recorded_operator_objects() {
    let (nodes, problems) = node_devices(&[obj(&fixture("nodeptpdevice.ptp-operator-test-developers-md.yaml"))]);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(nodes[0].node, "master-2.clus0.t5g.lab.eng.rdu2.redhat.com");
    assert_eq!(nodes[0].devices, ["ens1f0", "ens1f1", "ens2f0", "ens2f1", "ens3f0"]);
    let (profiles, problems) = profiles(&[obj(&fixture("ptpconfig_ordinary_clock.ptp-operator-readme.yaml"))]);
    assert!(problems.is_empty(), "{problems:?}");
    let p = &profiles[0];
    assert_eq!(
        (p.config.as_str(), p.profile.as_str(), p.interface.as_str(), p.role),
        ("ordinary-clock-ptpconfig", "profile1", "enp134s0f0", "slave-only")
    );
    assert_eq!(p.recommend, ["nodeLabel=node-role.kubernetes.io/worker"]);
}

#[test]
fn malformed_objects_are_reported_not_fatal() {
    let bad = obj("apiVersion: ptp.openshift.io/v1\nkind: NodePtpDevice\nmetadata: {name: n1}\nstatus: {devices: \"ens1f0\"}\n");
    let good = obj(&fixture("nodeptpdevice.ptp-operator-test-developers-md.yaml"));
    let (nodes, problems) = node_devices(&[bad, good]);
    assert_eq!(nodes.len(), 1);
    assert_eq!(problems, ["NodePtpDevice n1: status.devices is not a list (a string)"]);
    let cfg = obj("apiVersion: ptp.openshift.io/v1\nkind: PtpConfig\nmetadata: {name: c1}\nspec: {profile: 3}\n");
    let (p, problems) = profiles(&[cfg]);
    assert!(p.is_empty());
    assert_eq!(problems, ["PtpConfig c1: spec.profile is missing or not a list"]);
}

#[test]
fn operator_nodes_without_metrics_get_a_row() {
    let mut rows = rows_from_series(&series_from_prom(&fixture("ptp_metrics_cloud_event_proxy_sidecar.cloud-event-proxy-plugins-readme.prom")));
    merge_devices(
        &mut rows,
        &[NodeDevices { node: "NODE_NAME".into(), devices: vec!["ens2f0".into()] }, NodeDevices { node: "a-node".into(), devices: vec![] }],
    );
    assert_eq!(rows.iter().map(|r| (r.node.as_str(), r.devices.len())).collect::<Vec<_>>(), [("NODE_NAME", 1), ("a-node", 0)]);
    assert_eq!(rows[1].state(), "UNKNOWN");
}
