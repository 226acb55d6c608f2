//! CNF probes end to end: the Kubernetes-API test server (tests/support/kube_api.rs)
//! serves the recorded PTP/SR-IOV/pod objects of tests/fixtures/k8s-cnf and
//! replays the recorded DPDK telemetry replies over the exec websocket; the
//! PTP daemon metrics come from the real Prometheus test stack
//! (FLEETSCOPE_STACK_ENV, started by `make test`; backfilled openshift_ptp_*).

use crate::support as harness;

use crate::support::kube_api;

use std::collections::HashMap;

use fleetscope::error::{ErrorCode, FleetError};
use fleetscope::federation::Federation;
use fleetscope::frames::json as frame_json;
use fleetscope::frames::{FieldValues, Frame};
use fleetscope::probes::cnf::dpdk::{ETHDEV_LIST_COMMAND, ETHDEV_STATS_COMMANDS};
use fleetscope::query::{QueryEnvelope, TimeRange};
use fleetscope::registry::Registry;
use kube_api::{ExecReply, yaml_object};
use serde_json::{Value, json};

fn fixture(dir: &str, name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/fixtures/{dir}/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

const PTP_NS_PATH: &str = "/apis/ptp.openshift.io/v1/namespaces/openshift-ptp";
const SRIOV_PATH: &str = "/apis/sriovnetwork.openshift.io/v1/namespaces/openshift-sriov-network-operator/sriovnetworknodestates";

use crate::support::stack_env::stack_env;

fn fed(clusters: Value) -> Federation {
    let settings = json!({"clusters": clusters, "query": {"timeoutSeconds": 5, "retryAttempts": 1}});
    let mut secure = HashMap::new();
    for c in clusters.as_array().unwrap() {
        if c.get("kubernetes").is_some() {
            secure.insert(format!("{}.kubernetes.bearerToken", c["id"].as_str().unwrap()), "test-token".to_owned());
        }
    }
    Federation::new(Registry::from_grafana(settings.to_string().as_bytes(), &secure).unwrap())
}

async fn run(fed: &Federation, q: Value, to_ms: i64) -> Result<Vec<Frame>, FleetError> {
    let env = QueryEnvelope { ref_id: "C".into(), time_range: TimeRange::new(to_ms - 60_000, to_ms).unwrap(), interval_ms: 0, max_data_points: 0 };
    harness::run_in(fed, &q, env).await
}

fn frame<'a>(frames: &'a [Frame], name: &str) -> &'a Frame {
    frames.iter().find(|f| f.name == name).unwrap_or_else(|| panic!("no frame {name}"))
}

fn strs(f: &Frame, name: &str) -> Vec<String> {
    match &f.fields.iter().find(|x| x.name == name).unwrap_or_else(|| panic!("no field {name}")).values {
        FieldValues::Str(v) => v.clone(),
        other => panic!("{name}: {other:?}"),
    }
}

fn nums(f: &Frame, name: &str) -> Vec<Option<f64>> {
    match &f.fields.iter().find(|x| x.name == name).unwrap_or_else(|| panic!("no field {name}")).values {
        FieldValues::NullableF64(v) => v.clone(),
        other => panic!("{name}: {other:?}"),
    }
}

fn u64s(f: &Frame, name: &str) -> Vec<u64> {
    match &f.fields.iter().find(|x| x.name == name).unwrap_or_else(|| panic!("no field {name}")).values {
        FieldValues::U64(v) => v.clone(),
        other => panic!("{name}: {other:?}"),
    }
}

fn notices(f: &Frame) -> Vec<String> {
    f.meta.as_ref().unwrap().notices.iter().map(|n| format!("{:?}: {}", n.severity, n.text)).collect()
}

fn statuses(f: &Frame) -> Vec<(String, String)> {
    let custom = f.meta.as_ref().unwrap().custom.clone().unwrap();
    custom["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["cluster_id"].as_str().unwrap().to_owned(), c["status"].as_str().unwrap().to_owned()))
        .collect()
}

/// Frame JSON with the per-cluster timings zeroed (they are not deterministic).
fn golden_json(frames: &[Frame]) -> String {
    let mut v = frame_json::frames_to_json(frames);
    fn zero(v: &mut Value) {
        match v {
            Value::Object(m) => {
                for (k, x) in m.iter_mut() {
                    if k == "query_time_ms" {
                        *x = json!(0);
                    } else {
                        zero(x);
                    }
                }
            }
            Value::Array(a) => a.iter_mut().for_each(zero),
            _ => {}
        }
    }
    zero(&mut v);
    serde_json::to_string_pretty(&v).unwrap() + "\n"
}

/// Compare with tests/golden/cnf/<name>.json; `UPDATE_GOLDEN=1` rewrites.
fn golden(name: &str, frames: &[Frame]) {
    let dir = format!("{}/tests/golden/cnf", env!("CARGO_MANIFEST_DIR"));
    let path = format!("{dir}/{name}.json");
    let got = golden_json(frames);
    if std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(&path, &got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e} (run with UPDATE_GOLDEN=1 to create)"));
    assert!(want == got, "golden frames differ from {path} (UPDATE_GOLDEN=1 rewrites); got:\n{got}");
}

fn recorded_node_ptp_device() -> Value {
    yaml_object(&fixture("k8s-cnf", "nodeptpdevice.ptp-operator-test-developers-md.yaml"))
}

/// PTP on the real stack: east has the operator (recorded NodePtpDevice, also
/// under the name of the stack's PTP node, the recorded PtpConfig, and one
/// malformed NodePtpDevice); west's API server does not serve ptp.openshift.io
/// (no operator); edge has no Kubernetes access; dead's Prometheus refuses.
#[tokio::test]
async fn ptp_from_real_prometheus_and_operator_objects() {
    let env = stack_env();
    let end: i64 = env["STACK_DATA_END_MS"].parse().unwrap();
    let (east_k8s, east) = kube_api::start().await;
    let mut renamed = recorded_node_ptp_device();
    renamed["metadata"]["name"] = json!("cpu-node-12");
    let malformed = json!({"apiVersion": "ptp.openshift.io/v1", "kind": "NodePtpDevice", "metadata": {"name": "bad-node", "namespace": "openshift-ptp"}, "status": {"devices": "ens1f0"}});
    east.list(&format!("{PTP_NS_PATH}/nodeptpdevices"), vec![recorded_node_ptp_device(), renamed, malformed]);
    east.list(&format!("{PTP_NS_PATH}/ptpconfigs"), vec![yaml_object(&fixture("k8s-cnf", "ptpconfig_ordinary_clock.ptp-operator-readme.yaml"))]);
    let (west_k8s, _west) = kube_api::start().await;
    let fed = fed(json!([
        {"id": "east", "name": "prod-east-1", "prometheus": {"url": env["PROM_EAST_URL"]}, "kubernetes": {"server": east_k8s}},
        {"id": "west", "name": "prod-west-1", "prometheus": {"url": env["PROM_WEST_URL"]}, "kubernetes": {"server": west_k8s}},
        {"id": "edge", "name": "edge-lab-1", "prometheus": {"url": env["PROM_EDGE_URL"]}},
        {"id": "dead", "name": "dead-cluster", "prometheus": {"url": env["DEAD_URL"]}},
    ]));
    let frames = run(&fed, json!({"queryType": "cnf", "cnfView": "ptp"}), end).await.unwrap();
    let f = frame(&frames, "ptp_status");
    assert_eq!(f.meta.as_ref().unwrap().frame_type.as_deref(), Some("numeric-long"));
    assert_eq!(f.meta.as_ref().unwrap().type_version, Some([0, 1]));
    let key: Vec<String> = (0..strs(f, "node").len())
        .map(|i| format!("{}/{}/{}/{}", strs(f, "cluster_id")[i], strs(f, "node")[i], strs(f, "process")[i], strs(f, "iface")[i]))
        .collect();
    assert_eq!(
        key,
        [
            "east/cpu-node-12/phc2sys/CLOCK_REALTIME",
            "east/cpu-node-12/ptp4l/ens2fx",
            "east/master-2.clus0.t5g.lab.eng.rdu2.redhat.com//",
            "west/cpu-node-07/phc2sys/CLOCK_REALTIME",
            "west/cpu-node-07/ptp4l/ens5fx",
            "edge/edge-gpu-1/phc2sys/CLOCK_REALTIME",
            "edge/edge-gpu-1/ptp4l/enox",
        ]
    );
    let (state, cs, role, devices) = (strs(f, "state"), nums(f, "clock_state"), strs(f, "role"), strs(f, "devices"));
    // east and west never leave LOCKED in the stack; the operator-only node has no metrics.
    assert_eq!(&state[..5], ["LOCKED", "LOCKED", "UNKNOWN", "LOCKED", "LOCKED"]);
    assert_eq!(&cs[..5], [Some(1.0), Some(1.0), None, Some(1.0), Some(1.0)]);
    // edge has HOLDOVER windows: the name always agrees with the number.
    for i in 5..7 {
        assert_eq!(state[i], fleetscope::probes::cnf::ptp::clock_state_name(cs[i]), "row {i}");
        assert!(state[i] == "LOCKED" || state[i] == "HOLDOVER", "{}", state[i]);
    }
    // Role: reported on ens2f0, joined to linuxptp's ens2fx row.
    assert_eq!((role[1].as_str(), strs(f, "role_iface")[1].as_str()), ("SLAVE", "ens2f0"));
    assert_eq!(role[0], "");
    assert_eq!(devices[1], "ens1f0,ens1f1,ens2f0,ens2f1,ens3f0");
    assert_eq!(devices[3], "");
    assert_eq!(nums(f, "clock_class")[1], Some(6.0));
    // Offsets: |offset| is given for thresholds, and ptp4l's max offset bounds it.
    let (off, abs, max) = (nums(f, "offset_ns"), nums(f, "abs_offset_ns"), nums(f, "max_offset_ns"));
    for i in [0, 1, 3, 4, 5, 6] {
        assert_eq!(abs[i], off[i].map(f64::abs), "row {i}");
        assert!(max[i].unwrap() >= abs[i].unwrap(), "row {i}: {max:?} {abs:?}");
    }
    assert!(nums(f, "frequency_adjustment_ns")[1].is_some());
    let n = notices(f);
    assert!(
        n.iter()
            .any(|t| t
                == "Warning: prod-west-1: no PTP operator: the cluster does not serve ptp.openshift.io/v1 NodePtpDevice (namespace openshift-ptp)"),
        "{n:?}"
    );
    assert!(n.iter().any(|t| t == "Info: edge-lab-1: no kubernetes access; PTP operator objects not read"), "{n:?}");
    assert!(n.iter().any(|t| t == "Warning: prod-east-1: NodePtpDevice bad-node: status.devices is not a list (a string)"), "{n:?}");
    assert!(n.iter().any(|t| t.starts_with("Warning: PARTIAL_RESULTS: 3 of 4 clusters answered; failed: dead-cluster")), "{n:?}");
    assert_eq!(
        statuses(f),
        [("east".into(), "SUCCESS".into()), ("west".into(), "SUCCESS".into()), ("edge".into(), "SUCCESS".into()), ("dead".into(), "ERROR".into())]
    );
    let p = frame(&frames, "ptp_profiles");
    assert_eq!(
        (strs(p, "cluster_id"), strs(p, "profile"), strs(p, "role")),
        (vec!["east".to_owned()], vec!["profile1".to_owned()], vec!["slave-only".to_owned()])
    );

    // The node filter, and a cluster that is nothing but a refusing Prometheus.
    let frames = run(&fed, json!({"queryType": "cnf", "cnfView": "ptp", "node": "cpu-node-07"}), end).await.unwrap();
    assert_eq!(strs(&frames[0], "cluster_id"), ["west", "west"]);
    let e = run(&fed, json!({"queryType": "cnf", "cnfView": "ptp", "clusters": ["dead"]}), end).await.unwrap_err();
    assert!(e.message.contains("dead-cluster"), "{e:?}");
}

/// A cluster without operator, metrics or reachable Prometheus still answers: the notice says why it is empty.
#[tokio::test]
async fn ptp_cluster_without_operator_or_metrics_gets_a_clear_notice() {
    let env = stack_env();
    let end: i64 = env["STACK_DATA_END_MS"].parse().unwrap();
    let (k8s, _s) = kube_api::start().await;
    let fed = fed(json!([{"id": "lab", "name": "lab-1", "prometheus": {"url": env["PROM_EAST_URL"]}, "kubernetes": {"server": k8s}}]));
    // Far before the stack's data: Prometheus answers, with no PTP series.
    let frames = run(&fed, json!({"queryType": "cnf", "cnfView": "ptp"}), end - 86_400_000).await.unwrap();
    assert_eq!(strs(&frames[0], "node").len(), 0);
    assert_eq!(
        notices(&frames[0]),
        [
            "Warning: lab-1: no linuxptp metrics (openshift_ptp_*) in Prometheus",
            "Warning: lab-1: no PTP operator: the cluster does not serve ptp.openshift.io/v1 NodePtpDevice (namespace openshift-ptp)",
        ]
    );
}

fn sriov_cluster(k: &kube_api::KubeApi) {
    let good = yaml_object(&fixture("k8s-cnf", "sriovnetworknodestate_igb_vfio_vfs.openshift-examples-web.yaml"));
    let mut failing = good.clone();
    failing["metadata"]["name"] = json!("worker-2");
    failing["status"]["syncStatus"] = json!("Failed");
    failing["status"]["lastSyncError"] = json!("failed to set numVfs");
    failing["status"]["interfaces"][1]["totalvfs"] = json!("lots");
    k.list(SRIOV_PATH, vec![good, failing]);
}

#[tokio::test]
async fn sriov_node_states_with_malformed_and_failed_nodes() {
    let (a_url, a) = kube_api::start().await;
    sriov_cluster(&a);
    let (b_url, _b) = kube_api::start().await;
    let fed = fed(json!([
        {"id": "a", "name": "ran-a", "kubernetes": {"server": a_url}},
        {"id": "b", "name": "ran-b", "kubernetes": {"server": b_url}},
        {"id": "c", "name": "no-kube", "prometheus": {"url": "http://127.0.0.1:9"}},
    ]));
    let frames = run(&fed, json!({"queryType": "cnf", "cnfView": "sriov"}), 1_800_000_000_000).await.unwrap();
    let pfs = frame(&frames, "sriov_pfs");
    assert_eq!(strs(pfs, "node").iter().filter(|n| n.as_str() == "worker-2").count(), 5, "the malformed PF is left out, the others kept");
    assert_eq!(nums(pfs, "num_vfs")[3], Some(7.0));
    assert_eq!(strs(pfs, "pf")[3], "eno4");
    let vfs = frame(&frames, "sriov_vfs");
    assert_eq!(strs(vfs, "pci_address")[..2], ["0000:01:10.3", "0000:01:10.7"]);
    assert_eq!(strs(vfs, "driver").len(), 14);
    let n = notices(pfs);
    assert!(n.iter().any(|t| t.starts_with("Warning: ran-a: SriovNetworkNodeState worker-2: status.interfaces[1]: invalid type")), "{n:?}");
    assert!(n.iter().any(|t| t == "Warning: ran-a/worker-2: SR-IOV sync Failed: failed to set numVfs"), "{n:?}");
    assert!(n.iter().any(|t| t.starts_with("Warning: ran-b: no SR-IOV network operator")), "{n:?}");
    assert!(n.iter().any(|t| t.starts_with("Warning: KUBERNETES_NOT_AVAILABLE: no-kube: no kubernetes access")), "{n:?}");
    golden("sriov", &frames);
}

#[tokio::test]
async fn cnf_workloads_from_pod_annotations_and_resources() {
    let (url, k) = kube_api::start().await;
    let mut recorded = yaml_object(&fixture("k8s-cnf", "pod_metadata_multus_networks_and_network_status.harvester-docs.yaml"));
    recorded["metadata"]["name"] = json!("instance-manager-r-1f2b3c");
    recorded["metadata"]["namespace"] = json!("longhorn-system");
    let mut broken = recorded.clone();
    broken["metadata"]["name"] = json!("instance-manager-r-broken");
    broken["metadata"]["annotations"]["k8s.v1.cni.cncf.io/network-status"] = json!("[{\"name\": ");
    let du = json!({"metadata": {"name": "du-0", "namespace": "ran"},
                    "spec": {"nodeName": "worker-1", "containers": [{"name": "du", "resources": {"requests": {"cpu": "4", "openshift.io/storm5": "2"}}}]},
                    "status": {"phase": "Running"}});
    let plain =
        json!({"metadata": {"name": "web-0", "namespace": "default"}, "spec": {"containers": [{"name": "web"}]}, "status": {"phase": "Running"}});
    k.list("/api/v1/pods", vec![recorded, broken, du, plain]);
    let fed = fed(json!([{"id": "a", "name": "ran-a", "kubernetes": {"server": url}}]));
    let frames = run(&fed, json!({"queryType": "cnf", "cnfView": "workloads"}), 1_800_000_000_000).await.unwrap();
    let f = &frames[0];
    assert_eq!(strs(f, "pod"), ["instance-manager-r-1f2b3c", "instance-manager-r-broken", "du-0"]);
    assert_eq!(strs(f, "interfaces")[0], "lhnet1 harvester-system/storagenetwork-95bj4 [192.168.0.3] 2e:51:e6:31:96:40");
    assert_eq!(strs(f, "sriov_resources")[2], "openshift.io/storm5=2");
    assert!(notices(f).iter().any(|t| {
        t.starts_with("Warning: ran-a/longhorn-system/instance-manager-r-broken: k8s.v1.cni.cncf.io/network-status is not a valid JSON list")
    }));
    golden("workloads", &frames);
    // `pod` filters; the namespace narrows the list the API is asked for.
    let frames = run(&fed, json!({"queryType": "cnf", "cnfView": "workloads", "pod": "ran/du-0"}), 1_800_000_000_000).await.unwrap_err();
    assert!(frames.message.contains("ran-a"), "ran namespace list is not served: {frames:?}");
    assert!(k.seen_paths.lock().unwrap().contains(&"/api/v1/namespaces/ran/pods".to_owned()));
}

fn dpdk_cluster(k: &kube_api::KubeApi, stats1: ExecReply) {
    let du = json!({"metadata": {"name": "du-0", "namespace": "ran"}, "spec": {"nodeName": "worker-1", "containers": [{"name": "du"}, {"name": "sidecar"}]}, "status": {"phase": "Running"}});
    let other = json!({"metadata": {"name": "du-0", "namespace": "lab"}, "spec": {"containers": [{"name": "x"}]}, "status": {"phase": "Pending"}});
    k.list("/api/v1/namespaces/ran/pods", vec![du.clone()]);
    k.list("/api/v1/pods", vec![du, other]);
    k.exec("ran", "du-0", Some(&ETHDEV_LIST_COMMAND), ExecReply::ok(fixture("dpdk-telemetry", "ethdev_list_reply.dpdk-docs-howto-telemetry.json")));
    k.exec(
        "ran",
        "du-0",
        Some(ETHDEV_STATS_COMMANDS[0]),
        ExecReply::ok(fixture("dpdk-telemetry", "session_transcript_ethdev_list_and_stats.knet-docs-dpdk-21.11.7.txt")),
    );
    k.exec("ran", "du-0", Some(ETHDEV_STATS_COMMANDS[1]), stats1);
}

#[tokio::test]
async fn dpdk_stats_through_the_allowlisted_exec() {
    let (a_url, a) = kube_api::start().await;
    dpdk_cluster(&a, ExecReply::fail(1, "ConnectionRefusedError: [Errno 111] Connection refused\n"));
    let (b_url, b) = kube_api::start().await;
    dpdk_cluster(&b, ExecReply::ok("{\"/ethdev/stats\": null}\n"));
    let fed = fed(json!([
        {"id": "a", "name": "ran-a", "kubernetes": {"server": a_url}},
        {"id": "b", "name": "ran-b", "kubernetes": {"server": b_url}},
    ]));
    // One port.
    let frames =
        run(&fed, json!({"queryType": "cnf", "cnfView": "dpdk", "pod": "ran/du-0", "port": 0, "clusters": ["a"]}), 1_800_000_000_000).await.unwrap();
    let p = frame(&frames, "dpdk_ports");
    assert_eq!((strs(p, "pod"), strs(p, "container"), strs(p, "port")), (vec!["ran/du-0".to_owned()], vec!["du".to_owned()], vec!["0".to_owned()]));
    assert_eq!((u64s(p, "ipackets"), u64s(p, "obytes")), (vec![10006228], vec![710344388]));
    let q = frame(&frames, "dpdk_queues");
    assert_eq!((strs(q, "queue"), u64s(q, "ipackets")), (vec!["0".to_owned(), "1".to_owned()], vec![5014719, 4991509]));
    golden("dpdk", &frames);
    let seen = a.seen_execs.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert_eq!((seen[0].container.as_deref(), seen[0].argv.last().map(String::as_str)), (Some("du"), Some("/ethdev/stats,0")));
    assert_eq!(seen[0].argv, ETHDEV_STATS_COMMANDS[0]);

    // Every port /ethdev/list names: port 1's exec fails on a (notice, port 0 kept),
    // DPDK has no port 1 on b.
    let frames = run(&fed, json!({"queryType": "cnf", "cnfView": "dpdk", "pod": "du-0"}), 1_800_000_000_000).await.unwrap();
    let p = frame(&frames, "dpdk_ports");
    assert_eq!((strs(p, "cluster_id"), strs(p, "port")), (vec!["a".to_owned(), "b".to_owned()], vec!["0".to_owned(), "0".to_owned()]));
    let n = notices(p);
    assert!(
        n.iter().any(|t| t.starts_with("Warning: ran-a/ran/du-0 port 1: /ethdev/stats: command exited with code 1: ConnectionRefusedError")),
        "{n:?}"
    );
    assert!(
        n.iter().any(|t| t == "Warning: ran-b/ran/du-0 port 1: /ethdev/stats: DPDK has no ethdev port 1 (/ethdev/stats,1 answered null)"),
        "{n:?}"
    );
    let argvs: Vec<Vec<String>> = a.seen_execs.lock().unwrap()[1..].iter().map(|e| e.argv.clone()).collect();
    assert_eq!(
        argvs,
        [ETHDEV_LIST_COMMAND.to_vec(), ETHDEV_STATS_COMMANDS[0].to_vec(), ETHDEV_STATS_COMMANDS[1].to_vec()]
            .map(|v| v.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    );

    // Only the failing port asked: the cluster fails, with the exec's error.
    let e = run(&fed, json!({"queryType": "cnf", "cnfView": "dpdk", "pod": "ran/du-0", "port": "1", "clusters": ["a"]}), 1_800_000_000_000)
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::UpstreamError);
    assert!(e.message.contains("ran-a: DPDK telemetry /ethdev/stats in ran/du-0: port 1: command exited with code 1"), "{e:?}");
    // Only a port DPDK does not have asked: NOT_FOUND, not an upstream failure.
    let e = run(&fed, json!({"queryType": "cnf", "cnfView": "dpdk", "pod": "ran/du-0", "port": "1", "clusters": ["b"]}), 1_800_000_000_000)
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound, "{e:?}");
    assert!(e.message.contains("port 1: DPDK has no ethdev port 1"), "{e:?}");
    // A pod the cluster does not have never reaches an exec.
    let before = a.seen_execs.lock().unwrap().len();
    let e = run(&fed, json!({"queryType": "cnf", "cnfView": "dpdk", "pod": "ran/du-9", "port": 0, "clusters": ["a"]}), 1_800_000_000_000)
        .await
        .unwrap_err();
    assert_eq!((e.code, e.message.as_str()), (ErrorCode::NotFound, "ran-a: no pod ran/du-9 in this cluster"));
    assert_eq!(a.seen_execs.lock().unwrap().len(), before);
}

#[tokio::test]
async fn dpdk_port_that_is_not_an_integer_is_rejected_before_any_request() {
    let (url, k) = kube_api::start().await;
    dpdk_cluster(&k, ExecReply::ok(""));
    let fed = fed(json!([{"id": "a", "name": "ran-a", "kubernetes": {"server": url}}]));
    for port in [json!("0; cat /etc/shadow"), json!("1,2"), json!(1.5), json!(-1), json!(99), json!("eth0")] {
        let e = run(&fed, json!({"queryType": "cnf", "cnfView": "dpdk", "pod": "ran/du-0", "port": port}), 1_800_000_000_000).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidQuery, "{port}");
        assert!(e.message.starts_with("field `port`:"), "{e:?}");
    }
    assert!(k.seen_paths.lock().unwrap().is_empty());
    assert!(k.seen_execs.lock().unwrap().is_empty());
}

/// The seed's `/api/v1/cnf/*` resources answer through the same probes and
/// validation as `queryType: cnf`.
#[tokio::test]
async fn cnf_resources_in_the_seed_envelope() {
    let (a_url, a) = kube_api::start().await;
    sriov_cluster(&a);
    let fed = fed(json!([
        {"id": "a", "name": "ran-a", "kubernetes": {"server": a_url}},
        {"id": "c", "name": "no-kube", "prometheus": {"url": "http://127.0.0.1:9"}},
    ]));
    let call = |path: &'static str, query: &'static str| {
        let fed = &fed;
        async move {
            let resp = fleetscope::api::handle(fed, fleetscope::api::ApiRequest::new("GET", path, query, bytes::Bytes::new())).await;
            (resp.status, serde_json::from_slice::<Value>(&resp.body).unwrap())
        }
    };
    let (status, body) = call("api/v1/cnf/sriov/status", "").await;
    assert_eq!(status, 206, "{body}");
    assert_eq!(body["status"], "PARTIAL_RESULTS");
    assert_eq!(body["clusters_queried"], 2);
    assert_eq!(body["results"][0]["cluster_name"], "ran-a");
    assert_eq!(body["results"][0]["result_type"], "SRIOV");
    assert_eq!(body["results"][0]["data"].as_array().unwrap().len(), 2, "two node states");
    assert_eq!(body["results"][1]["error_code"], "KUBERNETES_NOT_AVAILABLE");

    let (status, body) = call("api/v1/cnf/sriov/status", "cluster_ids=a").await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = call("api/v1/cnf/dpdk/stats", "cluster_ids=a&pod=ran/du-0&port=0;reboot").await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("INVALID_QUERY")), "{body}");
    assert!(a.seen_execs.lock().unwrap().is_empty(), "a rejected port never reaches an exec");
    let (status, _) = call("api/v1/cnf/nope", "").await;
    assert_eq!(status, 404);
}
