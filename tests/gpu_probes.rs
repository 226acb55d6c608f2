//! GPU probes end to end: the Kubernetes-API test server of
//! tests/support/kube_api.rs (node and pod lists, the real exec websocket
//! subprotocol `v4.channel.k8s.io`) replays the real nvidia-smi captures in
//! tests/fixtures/nvidia-smi; DCGM comes from the real
//! Prometheus test stack (FLEETSCOPE_STACK_ENV, started by `make test`).

use crate::support::kube_api;

use std::collections::HashMap;
use std::sync::Arc;

use fleetscope::error::{ErrorCode, FleetError};
use fleetscope::federation::{self, Federation};
use fleetscope::frames::{FieldValues, Frame, NoticeSeverity};
use fleetscope::probes::gpu::nvidia_smi::{QUERY_APPS_COMMAND, QUERY_GPU_COMMAND};
use fleetscope::query::{self, QueryEnvelope, TimeRange};
use fleetscope::registry::Registry;
use kube_api::{ExecMode, ExecReply, GPU_NAMESPACE, KubeApi, driver_pod, gpu_node};
use serde_json::{Value, json};

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/fixtures/nvidia-smi/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

const H100: &str = "query_gpu_all_fields.h100-80gb-hbm3.drv590.load.nvidia_gpu_exporter.csv";
const RTX: &str = "query_gpu_all_fields.rtx-4080-super.drv595.load.nvidia_gpu_exporter.csv";
const MIG: &str = "query_gpu_all_fields_mig.h100-mig.drv590.load.nvidia_gpu_exporter.csv";
const H100_APPS: &str = "query_compute_apps.h100-80gb-hbm3.drv590.load.nvidia_gpu_exporter.csv";
const RTX_APPS: &str = "query_compute_apps.rtx-4080-super.drv595.load.nvidia_gpu_exporter.csv";

/// What one node's driver pod answers.
#[derive(Clone)]
struct NodeScript {
    node: &'static str,
    gpus: u32,
    gpu_out: String,
    apps_out: String,
    /// Non-zero: the GPU command fails with this exit code and stderr; -1: the exec never answers.
    exit: i32,
}

/// Start a Kubernetes-API replay (tests/support/kube_api.rs) of these GPU
/// nodes, a CPU-only node, their driver pods and another DaemonSet's pod;
/// returns its URL and the handle that records the execs.
async fn k8s(nodes: Vec<NodeScript>) -> (String, Arc<KubeApi>) {
    let (url, api) = kube_api::start().await;
    let mut items: Vec<Value> = nodes.iter().map(|n| gpu_node(n.node, n.gpus)).collect();
    // A CPU-only node: never probed.
    items.push(json!({"metadata": {"name": "cpu-node-1"}, "status": {"capacity": {"cpu": "8"}}}));
    api.list("/api/v1/nodes", items);
    let mut pods: Vec<Value> = nodes.iter().map(|n| driver_pod(n.node)).collect();
    // Another DaemonSet's pod on the first node: never chosen.
    if let Some(n) = nodes.first() {
        pods.push(json!({"metadata": {"name": "dcgm-exporter-x", "namespace": GPU_NAMESPACE,
                                      "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "dcgm-exporter", "uid": "u2"}]},
                         "spec": {"nodeName": n.node, "containers": [{"name": "exporter"}]}, "status": {"phase": "Running"}}));
    }
    api.list(&format!("/api/v1/namespaces/{GPU_NAMESPACE}/pods"), pods);
    for n in &nodes {
        let pod = format!("nvidia-driver-daemonset-{}", n.node);
        let gpu = match n.exit {
            0 => ExecReply::ok(n.gpu_out.clone()),
            // Hold the connection open without a byte: the client's exec timeout must fire.
            -1 => ExecReply::broken(ExecMode::Silent, ""),
            code => ExecReply::fail(code, "Failed to initialize NVML: Driver/library version mismatch\n"),
        };
        api.exec(GPU_NAMESPACE, &pod, Some(&QUERY_GPU_COMMAND), gpu);
        api.exec(GPU_NAMESPACE, &pod, Some(&QUERY_APPS_COMMAND), ExecReply::ok(n.apps_out.clone()));
    }
    (url, api)
}

fn node(name: &'static str, gpus: u32, gpu: &str, apps: &str) -> NodeScript {
    NodeScript { node: name, gpus, gpu_out: fixture(gpu), apps_out: apps.to_owned(), exit: 0 }
}

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
    let env = QueryEnvelope { ref_id: "G".into(), time_range: TimeRange::new(to_ms - 60_000, to_ms).unwrap(), interval_ms: 0, max_data_points: 0 };
    let req = query::parse("", q.to_string().as_bytes(), env)?;
    federation::execute(fed, &req).await
}

fn strs(f: &Frame, name: &str) -> Vec<String> {
    match &f.fields.iter().find(|x| x.name == name).unwrap_or_else(|| panic!("no field {name}")).values {
        FieldValues::Str(v) => v.clone(),
        FieldValues::NullableStr(v) => v.iter().map(|x| x.clone().unwrap_or_default()).collect(),
        other => panic!("{name}: {other:?}"),
    }
}

fn nums(f: &Frame, name: &str) -> Vec<Option<f64>> {
    match &f.fields.iter().find(|x| x.name == name).unwrap_or_else(|| panic!("no field {name}")).values {
        FieldValues::NullableF64(v) => v.clone(),
        other => panic!("{name}: {other:?}"),
    }
}

fn notices(f: &Frame) -> Vec<String> {
    f.meta.as_ref().unwrap().notices.iter().map(|n| format!("{:?}: {}", n.severity, n.text)).collect()
}

fn custom(f: &Frame) -> Value {
    f.meta.as_ref().unwrap().custom.clone().unwrap()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// Two clusters over exec: one healthy (H100 + RTX), one with a MIG node, a node
/// whose nvidia-smi exits 9, and a node printing malformed CSV.
#[tokio::test]
async fn multi_cluster_exec_with_failing_and_malformed_nodes() {
    let (a_url, a) = k8s(vec![node("a-h100", 1, H100, &fixture(H100_APPS)), node("a-rtx", 1, RTX, &fixture(RTX_APPS))]).await;
    let mut failing = node("b-broken", 1, H100, "");
    failing.exit = 9;
    let mut malformed = node("b-garbled", 1, H100, "");
    malformed.gpu_out = "0, GPU-x, NVIDIA H100, 590.48.01, 81559, 12\n".into();
    let (b_url, _b) = k8s(vec![node("b-mig", 1, MIG, ""), failing, malformed]).await;
    let fed = fed(json!([
        {"id": "a", "name": "cluster-a", "kubernetes": {"server": a_url}},
        {"id": "b", "name": "cluster-b", "kubernetes": {"server": b_url}},
    ]));

    let frames = run(&fed, json!({"queryType": "gpu", "view": "gpus", "source": "nvidia-smi"}), now_ms()).await.unwrap();
    let f = &frames[0];
    assert_eq!(f.meta.as_ref().unwrap().frame_type.as_deref(), Some("numeric-long"));
    assert_eq!(strs(f, "cluster"), vec!["cluster-a", "cluster-a", "cluster-b"]);
    assert_eq!(strs(f, "node"), vec!["a-h100", "a-rtx", "b-mig"]);
    assert_eq!(strs(f, "model"), vec!["NVIDIA H100 80GB HBM3", "NVIDIA GeForce RTX 4080 SUPER", "NVIDIA H100 80GB HBM3"]);
    assert_eq!(nums(f, "power_draw_w"), vec![Some(631.95), Some(84.24), Some(433.78)]);
    // [N/A]: fan on H100, utilisation under MIG.
    assert_eq!(nums(f, "fan_speed_pct"), vec![None, Some(0.0), None]);
    assert_eq!(nums(f, "utilization_gpu_pct"), vec![Some(100.0), Some(7.0), None]);
    assert_eq!(custom(f)["sources"], json!({"a": "nvidia-smi", "b": "nvidia-smi"}));
    let n = notices(f);
    assert!(n.iter().any(|t| t.starts_with("Warning: cluster-b/b-broken:") && t.contains("exited with code 9") && t.contains("NVML")), "{n:?}");
    assert!(n.iter().any(|t| t.starts_with("Warning: cluster-b/b-garbled:") && t.contains("6 columns, expected 13")), "{n:?}");
    assert_eq!(a.seen_protocols.lock().unwrap()[0], "v5.channel.k8s.io, v4.channel.k8s.io");

    // The nodes view shows the failing nodes as rows with their errors.
    let frames = run(&fed, json!({"queryType": "gpu", "view": "nodes", "source": "nvidia-smi", "clusters": ["b"]}), now_ms()).await.unwrap();
    let f = &frames[0];
    assert_eq!(strs(f, "node"), vec!["b-broken", "b-garbled", "b-mig"]);
    assert_eq!(strs(f, "status"), vec!["error", "error", "ok"]);
    assert_eq!(nums(f, "gpus"), vec![Some(0.0), Some(0.0), Some(1.0)]);
    assert!(strs(f, "error")[0].contains("exited with code 9"));

    // Processes from --query-compute-apps (header-ful captures replayed verbatim).
    let frames = run(&fed, json!({"queryType": "gpu", "view": "processes", "source": "nvidia-smi", "clusters": ["a"]}), now_ms()).await.unwrap();
    let f = &frames[0];
    assert_eq!(strs(f, "process_name"), vec!["/root/tools/memhog", "/root/tools/memhog", "./gpu_burn", "/usr/bin/kwin_wayland", "ffmpeg", "ffmpeg"]);
    assert_eq!(nums(f, "used_memory_mib")[2], Some(15690.0));

    // Summary: per cluster and fleet totals over the healthy nodes.
    let frames = run(&fed, json!({"queryType": "gpu", "view": "summary", "source": "nvidia-smi"}), now_ms()).await.unwrap();
    let s = &frames[0];
    assert_eq!(strs(s, "cluster"), vec!["cluster-a", "cluster-b", "fleet"]);
    assert_eq!(nums(s, "gpus"), vec![Some(2.0), Some(1.0), Some(3.0)]);
    assert_eq!(nums(s, "memory_used_mib"), vec![Some(19818.0 + 1474.0), Some(11125.0), Some(19818.0 + 1474.0 + 11125.0)]);
    assert_eq!(nums(s, "utilization_gpu_max_pct"), vec![Some(100.0), None, Some(100.0)]);
    assert_eq!(nums(s, "temperature_max_c"), vec![Some(59.0), Some(53.0), Some(59.0)]);
    assert_eq!(strs(s, "hottest_gpu"), vec!["cluster-a/a-h100/gpu0", "cluster-b/b-mig/gpu0", "cluster-a/a-h100/gpu0"]);
    assert_eq!(nums(s, "power_limit_w"), vec![Some(1020.0), Some(700.0), Some(1720.0)]);
    let m = &frames[1];
    assert_eq!(
        strs(m, "model"),
        vec![
            "NVIDIA GeForce RTX 4080 SUPER",
            "NVIDIA H100 80GB HBM3",
            "NVIDIA H100 80GB HBM3",
            "NVIDIA GeForce RTX 4080 SUPER",
            "NVIDIA H100 80GB HBM3"
        ]
    );
    assert_eq!(nums(m, "gpus"), vec![Some(1.0), Some(1.0), Some(1.0), Some(1.0), Some(2.0)]);
}

/// Only the two seed commands ever reach the exec endpoint, whatever the query says.
#[tokio::test]
async fn exec_is_an_allowlist() {
    let (url, state) = k8s(vec![node("n1", 1, H100, "")]).await;
    let fed = fed(json!([{"id": "k", "kubernetes": {"server": url, "gpuContainer": "nvidia-driver-ctr"}}]));
    let hostile = json!({"queryType": "gpu", "view": "gpus", "source": "nvidia-smi", "node": "n1; rm -rf /",
                         "command": ["sh", "-c", "id"], "expr": "$(id)"});
    let err = run(&fed, hostile, now_ms()).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::NoGpuNodes, "{err}");
    assert!(state.seen_exec_queries.lock().unwrap().is_empty());

    run(&fed, json!({"queryType": "gpu", "source": "nvidia-smi", "node": "n1", "command": "id"}), now_ms()).await.unwrap();
    let execs = state.seen_exec_queries.lock().unwrap().clone();
    let expected = |cmd: &[&str]| {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for c in cmd {
            q.append_pair("command", c);
        }
        q.finish()
    };
    assert_eq!(execs.len(), 2, "{execs:?}");
    for (got, cmd) in execs.iter().zip([&QUERY_GPU_COMMAND[..], &QUERY_APPS_COMMAND[..]]) {
        let commands: Vec<String> =
            url::form_urlencoded::parse(got.as_bytes()).filter(|(k, _)| k == "command").map(|(_, v)| v.into_owned()).collect();
        assert_eq!(commands, cmd.iter().map(|s| s.to_string()).collect::<Vec<_>>(), "{got} vs {}", expected(cmd));
        assert!(got.contains("container=nvidia-driver-ctr"), "{got}");
        assert!(got.contains("stdout=true") && got.contains("stderr=true") && !got.contains("stdin=true") && !got.contains("tty=true"), "{got}");
    }
}

/// A cluster without GPU nodes is that cluster's NO_GPU_NODES; the others answer.
#[tokio::test]
async fn no_gpu_nodes_is_per_cluster() {
    let (url, _) = k8s(vec![node("n1", 1, RTX, "")]).await;
    let (empty, _) = k8s(vec![]).await;
    let fed = fed(json!([
        {"id": "gpu", "kubernetes": {"server": url}},
        {"id": "cpu", "name": "cpu-only", "kubernetes": {"server": empty}},
    ]));
    let frames = run(&fed, json!({"queryType": "gpu", "source": "nvidia-smi"}), now_ms()).await.unwrap();
    let c = custom(&frames[0]);
    assert_eq!(c["clusters"][1]["error_code"], "NO_GPU_NODES");
    assert_eq!(c["clusters"][0]["status"], "SUCCESS");
    assert!(notices(&frames[0]).iter().any(|n| n.contains("NO_GPU_NODES: cpu-only: no GPU nodes")));
    let err = run(&fed, json!({"queryType": "gpu", "source": "nvidia-smi", "clusters": ["cpu"]}), now_ms()).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::NoGpuNodes);
    // No Kubernetes access at all.
    let fed2 = self::fed(json!([{"id": "p", "prometheus": {"url": "http://127.0.0.1:9"}}]));
    let err = run(&fed2, json!({"queryType": "gpu", "source": "nvidia-smi"}), now_ms()).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::KubernetesNotAvailable, "{err}");
}

use crate::support::stack_env::stack_env;

/// `source: auto` against the real stack: DCGM where Prometheus has it, exec otherwise.
#[tokio::test]
async fn auto_source_uses_dcgm_where_prometheus_has_it() {
    let env = stack_env();
    let end: i64 = env["STACK_DATA_END_MS"].parse().unwrap();
    let (url, state) = k8s(vec![node("k-h100", 1, H100, "")]).await;
    let fed = fed(json!([
        {"id": "east", "name": "prod-east-1", "prometheus": {"url": env["PROM_EAST_URL"]}, "kubernetes": {"server": url}},
        {"id": "west", "name": "prod-west-1", "prometheus": {"url": env["PROM_WEST_URL"]}},
        {"id": "kube", "name": "kube-only", "kubernetes": {"server": url}},
        {"id": "deadprom", "name": "dead-prom", "prometheus": {"url": env["DEAD_URL"]}, "kubernetes": {"server": url}},
    ]));
    let frames = run(&fed, json!({"queryType": "gpu", "view": "nodes"}), end).await.unwrap();
    let f = &frames[0];
    assert_eq!(custom(f)["sources"], json!({"east": "dcgm", "west": "dcgm", "kube": "nvidia-smi", "deadprom": "nvidia-smi"}));
    assert_eq!(strs(f, "node"), vec!["gpu-node-a3", "gpu-node-b1", "gpu-node-b2", "k-h100", "k-h100"]);
    assert_eq!(nums(f, "gpus"), vec![Some(8.0), Some(4.0), Some(4.0), Some(1.0), Some(1.0)]);
    let n = notices(f);
    assert!(n.iter().any(|t| t.contains("prod-east-1: source dcgm (auto: DCGM metrics found")), "{n:?}");
    assert!(n.iter().any(|t| t.contains("dead-prom: source nvidia-smi (auto: DCGM lookup failed")), "{n:?}");
    // East's DCGM exists, so exec ran only for kube and deadprom (2 nodes × 2 commands).
    assert_eq!(state.seen_exec_queries.lock().unwrap().len(), 2 * 2);

    let frames = run(&fed, json!({"queryType": "gpu", "view": "gpus", "source": "dcgm", "clusters": ["east"]}), end).await.unwrap();
    let f = &frames[0];
    assert_eq!(strs(f, "gpu"), (0..8).map(|i| i.to_string()).collect::<Vec<_>>());
    assert!(strs(f, "model").iter().all(|m| m == "NVIDIA H100 80GB HBM3"));
    for (u, (t, fr)) in nums(f, "memory_used_mib").iter().zip(nums(f, "memory_total_mib").iter().zip(nums(f, "memory_free_mib"))) {
        assert_eq!(u.unwrap() + fr.unwrap(), t.unwrap());
    }
    assert!(nums(f, "temperature_c").iter().all(|t| t.is_some()));
    // DCGM processes are the pods the exporter labels GPUs with.
    let frames = run(&fed, json!({"queryType": "gpu", "view": "processes", "source": "dcgm", "clusters": ["east"]}), end).await.unwrap();
    let pods = strs(&frames[0], "pod");
    assert_eq!(pods.len(), 6, "{pods:?}");
    assert!(pods.contains(&"vllm-llama70b-0".to_owned()), "{pods:?}");
    // dcgm where no Prometheus is configured.
    let err = run(&fed, json!({"queryType": "gpu", "source": "dcgm", "clusters": ["kube"]}), end).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::PrometheusNotAvailable);
    assert!(frames[0].meta.as_ref().unwrap().notices.iter().all(|n| n.severity != NoticeSeverity::Error));
}

async fn api(fed: &Federation, path: &str, query: &str) -> (u16, Value) {
    let resp = fleetscope::api::handle(fed, fleetscope::api::ApiRequest::new("GET", path, query, bytes::Bytes::new())).await;
    (resp.status, serde_json::from_slice(&resp.body).unwrap())
}

/// The seed's `/api/v1/gpu/*` resources in the seed's shapes; one failing cluster is a 206.
#[tokio::test]
async fn gpu_resource_api() {
    let (url, _) = k8s(vec![node("n-h100", 1, H100, &fixture(H100_APPS)), node("n-mig", 1, MIG, "")]).await;
    let fed = fed(json!([
        {"id": "k", "name": "kube-a", "kubernetes": {"server": url}},
        {"id": "dead", "name": "dead", "kubernetes": {"server": "http://127.0.0.1:9"}},
    ]));
    let (code, v) = api(&fed, "api/v1/gpu/nodes", "cluster_ids=k&source=nvidia-smi").await;
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["total"], 2);
    let n = &v["nodes"][0];
    assert_eq!((n["cluster_id"].as_str(), n["cluster_name"].as_str(), n["node_name"].as_str()), (Some("k"), Some("kube-a"), Some("n-h100")));
    assert_eq!(n["gpus"][0]["memory_total_mb"], 81559.0);
    assert_eq!(n["gpus"][0]["power_draw_watts"], 631.95);
    assert_eq!(n["gpus"][0]["fan_speed_percent"], Value::Null);
    assert_eq!(n["processes"].as_array().unwrap().len(), 3);
    assert_eq!(n["source"], "nvidia-smi");

    let (code, v) = api(&fed, "api/v1/gpu/nodes/k/n-mig", "source=nvidia-smi").await;
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["node_name"], "n-mig");
    assert_eq!(v["gpus"][0]["utilization_gpu_percent"], Value::Null);

    let (code, v) = api(&fed, "api/v1/gpu/summary", "source=nvidia-smi").await;
    assert_eq!(code, 206, "{v}");
    assert_eq!(v["status"], "PARTIAL_RESULTS");
    assert_eq!((v["clusters_queried"].as_u64(), v["clusters_succeeded"].as_u64()), (Some(2), Some(1)));
    assert_eq!(v["summary"]["total_gpus"], 2);
    assert_eq!(v["summary"]["gpus_by_model"]["NVIDIA H100 80GB HBM3"], 2);
    assert_eq!(v["summary"]["memory_used_mb"], 19818.0 + 11125.0);
    assert_eq!(v["summary"]["hottest_gpu"]["node_name"], "n-h100");
    assert_eq!(v["summary"]["utilization_gpu_max_percent"], 100.0);

    let (code, v) = api(&fed, "api/v1/gpu/processes", "cluster_id=k&source=nvidia-smi").await;
    assert_eq!(code, 200, "{v}");
    let pids: Vec<u64> = v["processes"].as_array().unwrap().iter().map(|p| p["pid"].as_u64().unwrap()).collect();
    assert_eq!(pids, vec![11327, 11328, 11345]);

    let (code, v) = api(&fed, "api/v1/gpu/nodes", "source=ssh").await;
    assert_eq!((code, v["error"]["code"].as_str()), (400, Some("INVALID_QUERY")));
    let (code, _) = api(&fed, "api/v1/gpu/nodes/k/absent", "source=nvidia-smi").await;
    assert_eq!(code, 404);
}

/// A node whose exec never answers costs its own exec timeout and is that node's error.
#[tokio::test]
async fn hung_exec_is_a_node_error() {
    let mut hung = node("n-hung", 1, H100, "");
    hung.exit = -1;
    let (url, _) = k8s(vec![node("n-ok", 1, RTX, ""), hung]).await;
    let fed = fed(json!([{"id": "k", "name": "kube-a", "kubernetes": {"server": url}}]));
    let frames = run(&fed, json!({"queryType": "gpu", "view": "nodes", "source": "nvidia-smi"}), now_ms()).await.unwrap();
    let f = &frames[0];
    assert_eq!(strs(f, "node"), vec!["n-hung", "n-ok"]);
    assert_eq!(strs(f, "status"), vec!["error", "ok"]);
    assert!(strs(f, "error")[0].contains("exec did not finish within 2.5s"), "{:?}", strs(f, "error"));
    assert_eq!(custom(f)["clusters"][0]["status"], "SUCCESS");
}

/// One dashboard refresh sends the gpus, processes, summary and nodes views at
/// once: they share one probe per node, so each nvidia-smi command runs once
/// per node, not once per view.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_refresh_with_four_views_runs_each_command_once_per_node() {
    let (url, api) = k8s(vec![node("n-a", 1, H100, &fixture(H100_APPS)), node("n-b", 1, RTX, &fixture(RTX_APPS))]).await;
    let fed = fed(json!([{"id": "k", "name": "kube-a", "kubernetes": {"server": url}}]));
    let q = |view: &str| json!({"queryType": "gpu", "view": view, "source": "nvidia-smi"});
    let now = now_ms();
    let (g, p, s, n) =
        tokio::join!(run(&fed, q("gpus"), now), run(&fed, q("processes"), now), run(&fed, q("summary"), now), run(&fed, q("nodes"), now));
    for frames in [g, p, s, n] {
        let frames = frames.unwrap();
        assert!(!notices(&frames[0]).iter().any(|n| n.starts_with("Warning")), "{:?}", notices(&frames[0]));
    }
    let mut argvs: Vec<(String, Vec<String>)> = api.seen_execs.lock().unwrap().iter().map(|e| (e.pod.clone(), e.argv.clone())).collect();
    argvs.sort();
    let want: Vec<(String, Vec<String>)> = ["n-a", "n-b"]
        .iter()
        .flat_map(|n| {
            [QUERY_GPU_COMMAND.to_vec(), QUERY_APPS_COMMAND.to_vec()]
                .map(|c| (format!("nvidia-driver-daemonset-{n}"), c.iter().map(|s| s.to_string()).collect::<Vec<_>>()))
        })
        .collect();
    let mut want = want;
    want.sort();
    assert_eq!(argvs, want, "each command once per node");
}

/// A node whose exec keeps hanging opens its own breaker: after
/// FAILURE_THRESHOLD timed-out queries it is skipped (CIRCUIT_OPEN, no exec)
/// while its healthy neighbour keeps answering.
#[tokio::test(flavor = "multi_thread")]
async fn a_node_whose_exec_keeps_hanging_is_skipped_by_its_breaker() {
    let mut hung = node("n-hung", 1, H100, "");
    hung.exit = -1;
    let (url, api) = k8s(vec![node("n-ok", 1, RTX, ""), hung]).await;
    let settings = json!({"clusters": [{"id": "k", "name": "kube-a", "kubernetes": {"server": url}}],
                          "query": {"timeoutSeconds": 2, "retryAttempts": 1}});
    let secure = HashMap::from([("k.kubernetes.bearerToken".to_owned(), "test-token".to_owned())]);
    let fed = Federation::new(Registry::from_grafana(settings.to_string().as_bytes(), &secure).unwrap());
    let hung_execs = || api.seen_execs.lock().unwrap().iter().filter(|e| e.pod.ends_with("n-hung")).count();
    let q = json!({"queryType": "gpu", "view": "nodes", "source": "nvidia-smi"});
    for i in 0..fleetscope::federation::breaker::FAILURE_THRESHOLD as usize {
        let frames = run(&fed, q.clone(), now_ms()).await.unwrap();
        assert!(strs(&frames[0], "error")[0].contains("exec did not finish"), "{:?}", strs(&frames[0], "error"));
        assert_eq!(hung_execs(), i + 1);
    }
    let frames = run(&fed, q, now_ms()).await.unwrap();
    let f = &frames[0];
    assert_eq!(strs(f, "node"), vec!["n-hung", "n-ok"]);
    assert_eq!(strs(f, "status"), vec!["error", "ok"]);
    assert!(strs(f, "error")[0].starts_with("circuit open"), "{:?}", strs(f, "error"));
    assert_eq!(hung_execs(), fleetscope::federation::breaker::FAILURE_THRESHOLD as usize, "no exec while the breaker is open");
    let key = fleetscope::federation::breaker::key(fed.registry.get("k").unwrap(), fleetscope::registry::Backend::Kubernetes);
    assert_eq!(fed.breakers.state(&format!("{key}/node/n-hung")), fleetscope::federation::breaker::State::Open);
    assert_eq!(fed.breakers.state(&key), fleetscope::federation::breaker::State::Closed, "the cluster answers");
}
