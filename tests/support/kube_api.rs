//! A Kubernetes-API test server (axum, 127.0.0.1) that serves recorded objects
//! and scripted execs — generic, so any probe test can use it (`mod support;`
//! then `support::kube_api`).
//!
//! * Lists: `GET <path>` answers the items registered for that exact path
//!   (`/api/v1/pods`, `/apis/ptp.openshift.io/v1/namespaces/openshift-ptp/nodeptpdevices`)
//!   as a `…List`; a path with nothing registered answers 404 with a `Status`
//!   body, which is what a real API server answers for a resource type it does
//!   not serve (a CRD that is not installed).
//! * Exec: `/api/v1/namespaces/{ns}/pods/{pod}/exec` over the real websocket
//!   subprotocol `v4.channel.k8s.io` (1 stdout, 2 stderr, 3 status). The reply is
//!   chosen by the exact argv the client sent; every argv received is recorded,
//!   with the raw query string and the subprotocols the client offered. An
//!   [`ExecMode`] other than `Answer` scripts a broken exec (upgrade refused,
//!   silence, a drip, a socket closed mid-stream) for the fault matrix.
//! * GPU objects: [`gpu_node`] and [`driver_pod`] build the node and the
//!   nvidia-driver DaemonSet pod the GPU probes look for.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

/// The namespace of the GPU operator's driver pods (the registry's default).
pub const GPU_NAMESPACE: &str = "nvidia-gpu-operator";

/// What an exec answers.
#[derive(Clone, Debug)]
pub struct ExecReply {
    pub stdout: String,
    pub stderr: String,
    /// 0 = Success; otherwise the exit code in the Failure status.
    pub exit: i32,
    pub mode: ExecMode,
}

/// How an exec behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExecMode {
    /// stdout, stderr, the status, a close frame.
    Answer,
    /// No upgrade: this HTTP status with a Kubernetes `Status` body.
    Refuse(u16),
    /// Upgrades, then never sends a byte.
    Silent,
    /// Upgrades, then one stdout byte every 200 ms, forever.
    Drip,
    /// Upgrades, sends the first half of stdout, then drops the socket
    /// (no status, no close frame).
    CloseMidStream,
}

impl ExecReply {
    pub fn ok(stdout: impl Into<String>) -> Self {
        ExecReply { stdout: stdout.into(), stderr: String::new(), exit: 0, mode: ExecMode::Answer }
    }
    pub fn fail(exit: i32, stderr: impl Into<String>) -> Self {
        ExecReply { stdout: String::new(), stderr: stderr.into(), exit, mode: ExecMode::Answer }
    }
    /// `stdout` shaped by `mode` (only `CloseMidStream` sends any of it).
    pub fn broken(mode: ExecMode, stdout: impl Into<String>) -> Self {
        ExecReply { mode, ..ExecReply::ok(stdout) }
    }
}

/// One exec the server received.
#[derive(Clone, Debug, PartialEq)]
pub struct ExecSeen {
    pub namespace: String,
    pub pod: String,
    pub container: Option<String>,
    pub argv: Vec<String>,
}

#[derive(Default)]
pub struct KubeApi {
    lists: Mutex<HashMap<String, Vec<Value>>>,
    /// (namespace, pod, argv) → reply; argv `None` = any command.
    execs: Mutex<Vec<(String, String, Option<Vec<String>>, ExecReply)>>,
    pub seen_execs: Mutex<Vec<ExecSeen>>,
    /// Raw query string of every exec request.
    pub seen_exec_queries: Mutex<Vec<String>>,
    /// `Sec-WebSocket-Protocol` offered by every exec request.
    pub seen_protocols: Mutex<Vec<String>>,
    pub seen_paths: Mutex<Vec<String>>,
}

impl KubeApi {
    /// Serve `items` at `path`.
    pub fn list(&self, path: &str, items: Vec<Value>) -> &Self {
        self.lists.lock().unwrap().insert(path.to_owned(), items);
        self
    }
    /// Answer exec of exactly `argv` (or anything, when `None`) in `namespace/pod`.
    pub fn exec(&self, namespace: &str, pod: &str, argv: Option<&[&str]>, reply: ExecReply) -> &Self {
        let argv = argv.map(|a| a.iter().map(|s| s.to_string()).collect());
        self.execs.lock().unwrap().push((namespace.into(), pod.into(), argv, reply));
        self
    }
}

/// A Ready node with `gpus` allocatable `nvidia.com/gpu`.
pub fn gpu_node(name: &str, gpus: u32) -> Value {
    json!({"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
           "status": {"capacity": {"cpu": "64", "nvidia.com/gpu": gpus.to_string()},
                      "conditions": [{"type": "Ready", "status": "True"}]}})
}

/// The running nvidia-driver DaemonSet pod of `node`, named `nvidia-driver-daemonset-<node>`.
pub fn driver_pod(node: &str) -> Value {
    json!({"metadata": {"name": format!("nvidia-driver-daemonset-{node}"), "namespace": GPU_NAMESPACE,
                        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "nvidia-driver-daemonset", "uid": "u1", "controller": true}]},
           "spec": {"nodeName": node, "containers": [{"name": "nvidia-driver-ctr"}]},
           "status": {"phase": "Running"}})
}

/// A recorded YAML object as JSON (what the API server would send).
pub fn yaml_object(text: &str) -> Value {
    serde_yaml::from_str(text).unwrap()
}

async fn list(State(s): State<Arc<KubeApi>>, uri: Uri) -> Response {
    let path = uri.path().to_owned();
    s.seen_paths.lock().unwrap().push(path.clone());
    match s.lists.lock().unwrap().get(&path) {
        Some(items) => axum::Json(json!({"kind": "List", "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": items})).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                              "message": "the server could not find the requested resource", "reason": "NotFound",
                              "details": {}, "code": 404})),
        )
            .into_response(),
    }
}

async fn exec(
    State(s): State<Arc<KubeApi>>,
    Path((ns, pod)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    headers: axum::http::HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let q = q.unwrap_or_default();
    s.seen_exec_queries.lock().unwrap().push(q.clone());
    if let Some(p) = headers.get("sec-websocket-protocol").and_then(|v| v.to_str().ok()) {
        s.seen_protocols.lock().unwrap().push(p.to_owned());
    }
    let mut argv = Vec::new();
    let mut container = None;
    for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
        match k.as_ref() {
            "command" => argv.push(v.into_owned()),
            "container" => container = Some(v.into_owned()),
            _ => {}
        }
    }
    s.seen_execs.lock().unwrap().push(ExecSeen { namespace: ns.clone(), pod: pod.clone(), container, argv: argv.clone() });
    let reply = s
        .execs
        .lock()
        .unwrap()
        .iter()
        .find(|(n, p, a, _)| n == &ns && p == &pod && a.as_ref().is_none_or(|a| a == &argv))
        .map(|(_, _, _, r)| r.clone())
        .unwrap_or_else(|| ExecReply::fail(127, format!("no scripted reply for {argv:?}")));
    if let ExecMode::Refuse(code) = reply.mode {
        let status = StatusCode::from_u16(code).unwrap();
        let message = match code {
            403 => format!(
                "pods \"{pod}\" is forbidden: User \"system:serviceaccount:grafana:fleetscope\" cannot create resource \"pods/exec\" in the namespace \"{ns}\""
            ),
            _ => "the server is currently unable to handle the request".to_owned(),
        };
        let body = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
                          "reason": status.canonical_reason().unwrap_or("Failure"), "details": {"name": pod, "kind": "pods"}, "code": code});
        return (status, axum::Json(body)).into_response();
    }
    ws.protocols(["v4.channel.k8s.io"]).on_upgrade(move |socket| answer(socket, reply)).into_response()
}

async fn answer(mut socket: WebSocket, r: ExecReply) {
    match r.mode {
        ExecMode::Answer | ExecMode::Refuse(_) => {}
        ExecMode::Silent => {
            // Keep the connection without a byte until the client goes away:
            // the client's exec timeout must fire.
            while let Some(Ok(_)) = socket.recv().await {}
            return;
        }
        ExecMode::Drip => loop {
            if socket.send(Message::Binary(vec![1u8, b'0'])).await.is_err() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        },
        ExecMode::CloseMidStream => {
            let half = &r.stdout.as_bytes()[..r.stdout.len() / 2];
            let mut msg = vec![1u8];
            msg.extend_from_slice(half);
            let _ = socket.send(Message::Binary(msg)).await;
            return;
        }
    }
    for (ch, data) in [(1u8, r.stdout.into_bytes()), (2u8, r.stderr.into_bytes())] {
        // Two frames per stream: the client must concatenate.
        let mid = data.len() / 2;
        for part in [&data[..mid], &data[mid..]] {
            if !part.is_empty() {
                let mut msg = vec![ch];
                msg.extend_from_slice(part);
                let _ = socket.send(Message::Binary(msg)).await;
            }
        }
    }
    let status = if r.exit == 0 {
        json!({"metadata": {}, "status": "Success"})
    } else {
        json!({"metadata": {}, "status": "Failure", "message": format!("command terminated with non-zero exit code: exit code {}", r.exit),
               "reason": "NonZeroExitCode", "details": {"causes": [{"reason": "ExitCode", "message": r.exit.to_string()}]}})
    };
    let mut msg = vec![3u8];
    msg.extend_from_slice(status.to_string().as_bytes());
    let _ = socket.send(Message::Binary(msg)).await;
    let _ = socket.send(Message::Close(None)).await;
}

/// Start a server; returns its URL and the handle to script it.
pub async fn start() -> (String, Arc<KubeApi>) {
    let state = Arc::new(KubeApi::default());
    let app = Router::new()
        .route("/api/v1/namespaces/:ns/pods/:pod/exec", get(exec))
        // What a v1.33 API server answers (the health check's probe).
        .route("/version", get(|| async { axum::Json(json!({"major": "1", "minor": "33", "gitVersion": "v1.33.4", "platform": "linux/amd64"})) }))
        .fallback(get(list))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), state)
}
