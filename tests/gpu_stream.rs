//! Grafana Live `gpu/<cluster>` through the plugin's Stream service, against
//! the shared Kubernetes-API test server (tests/support/kube_api.rs: node and
//! pod lists, real `v4.channel.k8s.io` exec websocket) replaying real
//! nvidia-smi captures. Tokio's clock is paused: the 5 s period passes
//! virtually (auto-advance when idle, `time::advance`), never in real time.

use crate::support::kube_api;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use fleetscope::plugin::{PluginState, StreamService};
use fleetscope::probes::gpu::nvidia_smi::{QUERY_APPS_COMMAND, QUERY_GPU_COMMAND};
use futures::StreamExt;
use grafana_plugin_sdk::pluginv2::stream_server::Stream;
use grafana_plugin_sdk::pluginv2::{
    DataSourceInstanceSettings, PluginContext, RunStreamRequest, StreamPacket, SubscribeStreamRequest, subscribe_stream_response,
};
use kube_api::{ExecReply, KubeApi, driver_pod, gpu_node};
use serde_json::{Value, json};

const NS: &str = kube_api::GPU_NAMESPACE;
const H100: &str = "query_gpu_all_fields.h100-80gb-hbm3.drv590.load.nvidia_gpu_exporter.csv";
const RTX: &str = "query_gpu_all_fields.rtx-4080-super.drv595.load.nvidia_gpu_exporter.csv";
const H100_APPS: &str = "query_compute_apps.h100-80gb-hbm3.drv590.load.nvidia_gpu_exporter.csv";
/// Virtual bound on waiting for one packet: a stuck stream fails the test instead of hanging it.
const DEADLINE: Duration = Duration::from_secs(60);

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/fixtures/nvidia-smi/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// Two GPU nodes (H100, RTX 4080 SUPER) and a CPU-only node.
fn script(api: &KubeApi) {
    api.list(
        "/api/v1/nodes",
        vec![gpu_node("n-h100", 1), gpu_node("n-rtx", 1), json!({"metadata": {"name": "cpu-1"}, "status": {"capacity": {"cpu": "8"}}})],
    );
    api.list(&format!("/api/v1/namespaces/{NS}/pods"), vec![driver_pod("n-h100"), driver_pod("n-rtx")]);
    for (node, gpus, apps) in [("n-h100", fixture(H100), fixture(H100_APPS)), ("n-rtx", fixture(RTX), String::new())] {
        let pod = format!("nvidia-driver-daemonset-{node}");
        api.exec(NS, &pod, Some(&QUERY_GPU_COMMAND), ExecReply::ok(gpus));
        api.exec(NS, &pod, Some(&QUERY_APPS_COMMAND), ExecReply::ok(apps));
    }
}

/// A datasource with a Kubernetes-only cluster `east` (GPU telemetry cache off,
/// so every tick execs) and a cluster `bare` with no GPU telemetry source.
fn ctx(kube_url: &str) -> Option<PluginContext> {
    let settings = json!({
        "clusters": [
            {"id": "east", "name": "prod-east-1", "kubernetes": {"server": kube_url}},
            {"id": "bare", "name": "bare-1", "loki": {"url": "http://127.0.0.1:9"}},
        ],
        "query": {"timeoutSeconds": 5, "retryAttempts": 1},
        "cache": {"gpuTtlSeconds": 0},
    });
    let secure = HashMap::from([("east.kubernetes.bearerToken".to_owned(), "test-token".to_owned())]);
    Some(PluginContext {
        data_source_instance_settings: Some(DataSourceInstanceSettings {
            json_data: settings.to_string().into_bytes(),
            decrypted_secure_json_data: secure,
            uid: "fs-gpu".into(),
            last_updated_ms: 1,
            ..Default::default()
        }),
        ..Default::default()
    })
}

async fn subscribe(svc: &StreamService, ctx: &Option<PluginContext>, path: &str) -> Result<i32, tonic::Status> {
    let req = SubscribeStreamRequest { plugin_context: ctx.clone(), path: path.into(), data: Vec::new().into() };
    svc.subscribe_stream(tonic::Request::new(req)).await.map(|r| r.into_inner().status)
}

/// The next packet as frame JSON; `None` when the stream ended.
async fn next(packets: &mut <StreamService as Stream>::RunStreamStream) -> Option<Value> {
    let packet: StreamPacket = tokio::time::timeout(DEADLINE, packets.next()).await.expect("no packet within the deadline")?.expect("stream error");
    Some(serde_json::from_slice(&packet.data).expect("packet is frame JSON"))
}

/// A column of a Grafana data-frame JSON by field name.
fn column(frame: &Value, name: &str) -> Vec<Value> {
    let fields = frame["schema"]["fields"].as_array().expect("schema.fields");
    let i = fields.iter().position(|f| f["name"] == name).unwrap_or_else(|| panic!("no field {name} in {frame}"));
    frame["data"]["values"][i].as_array().cloned().unwrap_or_default()
}

fn notices(frame: &Value) -> Vec<String> {
    frame["schema"]["meta"]["notices"].as_array().map(|a| a.iter().map(|n| n["text"].as_str().unwrap_or("").to_owned()).collect()).unwrap_or_default()
}

fn exec_count(api: &Arc<KubeApi>) -> usize {
    api.seen_execs.lock().unwrap().len()
}

fn list_count(api: &Arc<KubeApi>) -> usize {
    api.seen_paths.lock().unwrap().len()
}

/// Both GPU rows of the scripted cluster.
fn assert_gpu_rows(frame: &Value) {
    assert_eq!(frame["schema"]["name"], "gpus", "{frame}");
    assert_eq!(column(frame, "cluster"), [json!("prod-east-1"), json!("prod-east-1")]);
    assert_eq!(column(frame, "node"), [json!("n-h100"), json!("n-rtx")]);
    assert_eq!(column(frame, "model"), [json!("NVIDIA H100 80GB HBM3"), json!("NVIDIA GeForce RTX 4080 SUPER")]);
    assert_eq!(column(frame, "power_draw_w"), [json!(631.95), json!(84.24)]);
    assert_eq!(column(frame, "source"), [json!("nvidia-smi"), json!("nvidia-smi")]);
}

#[tokio::test(start_paused = true)]
async fn subscribe_answers_not_found_and_no_source_errors() {
    let (url, _api) = kube_api::start().await;
    let (svc, ctx) = (StreamService(PluginState::default()), ctx(&url));
    assert_eq!(subscribe(&svc, &ctx, "gpu/east").await.unwrap(), subscribe_stream_response::Status::Ok as i32);
    // By display name too, like the gpu query's `clusters`.
    assert_eq!(subscribe(&svc, &ctx, "gpu/prod-east-1").await.unwrap(), subscribe_stream_response::Status::Ok as i32);
    for unknown in ["gpu/nowhere", "gpu/", "gpu/east/extra", "gpu/*"] {
        assert_eq!(subscribe(&svc, &ctx, unknown).await.unwrap(), subscribe_stream_response::Status::NotFound as i32, "{unknown}");
    }
    let err = subscribe(&svc, &ctx, "gpu/bare").await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unavailable, "{err:?}");
    assert!(err.message().starts_with("KUBERNETES_NOT_AVAILABLE: bare-1: no GPU telemetry source"), "{}", err.message());
    // RunStream refuses the same channels instead of streaming errors forever.
    let run = |path: &str| RunStreamRequest { plugin_context: ctx.clone(), path: path.into(), data: Vec::new().into() };
    assert_eq!(svc.run_stream(tonic::Request::new(run("gpu/nowhere"))).await.err().map(|e| e.code()), Some(tonic::Code::NotFound));
    assert_eq!(svc.run_stream(tonic::Request::new(run("gpu/bare"))).await.err().map(|e| e.code()), Some(tonic::Code::Unavailable));
}

#[tokio::test(start_paused = true)]
async fn pushes_gpu_rows_every_five_seconds_survives_a_failed_tick_and_stops_when_dropped() {
    let (url, api) = kube_api::start().await;
    script(&api);
    let (svc, ctx) = (StreamService(PluginState::default()), ctx(&url));
    assert_eq!(subscribe(&svc, &ctx, "gpu/east").await.unwrap(), subscribe_stream_response::Status::Ok as i32);
    let req = RunStreamRequest { plugin_context: ctx.clone(), path: "gpu/east".into(), data: Vec::new().into() };
    let mut packets = svc.run_stream(tonic::Request::new(req)).await.unwrap().into_inner();

    // First packet at once: both GPUs, 2 nodes × the 2 allowlisted commands.
    let first = next(&mut packets).await.expect("first packet");
    assert_gpu_rows(&first);
    assert_eq!(first["schema"]["meta"]["custom"]["sources"], json!({"east": "nvidia-smi"}));
    assert_eq!(exec_count(&api), 4);

    // Nothing before 5 s have passed...
    assert!(tokio::time::timeout(Duration::from_millis(4_900), packets.next()).await.is_err(), "a packet came before 5 s");
    assert_eq!(exec_count(&api), 4);
    // ...then fresh telemetry: the second packet comes from new execs.
    tokio::time::advance(Duration::from_millis(100)).await;
    let second = next(&mut packets).await.expect("second packet");
    assert_gpu_rows(&second);
    assert_eq!(exec_count(&api), 8);

    // A failing tick (the GPU nodes are gone) is a notice on an empty gpus frame; the stream goes on.
    api.list("/api/v1/nodes", vec![]);
    let failed = next(&mut packets).await.expect("packet for the failed tick");
    assert_eq!(failed["schema"]["name"], "gpus");
    assert!(column(&failed, "node").is_empty(), "{failed}");
    let n = notices(&failed);
    assert!(n.iter().any(|t| t.starts_with("NO_GPU_NODES: prod-east-1: no GPU nodes")), "{n:?}");
    assert_eq!(failed["schema"]["meta"]["custom"]["clusters"][0]["error_code"], "NO_GPU_NODES");
    assert_eq!(exec_count(&api), 8);
    script(&api);
    assert_gpu_rows(&next(&mut packets).await.expect("packet after recovery"));
    assert_eq!(exec_count(&api), 12);

    // Grafana drops the stream: no more Kubernetes calls, however long we wait (virtually).
    drop(packets);
    let (execs, lists) = (exec_count(&api), list_count(&api));
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!((exec_count(&api), list_count(&api)), (execs, lists), "the stream's task kept polling after the drop");
}
