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
//! * Secrets: `GET /api/v1/namespaces/{ns}/secrets` lists (with `labelSelector`
//!   `k=v[,k=v]`) and watches (`watch=true&resourceVersion=N`: the events after
//!   N, then live ones as newline-delimited JSON, like a real API server; the
//!   stream ends at `timeoutSeconds`). [`KubeApi::put_secret`] and
//!   [`KubeApi::delete_secret`] change them; every change bumps the
//!   resourceVersion. [`KubeApi::expire_watches`] makes the next watch answer
//!   `410 Gone` (an ERROR event), as a server that compacted its history does.
//! * Service proxy: `/api/v1/namespaces/{ns}/services/{scheme}:{name}:{port}/proxy/{path}`
//!   forwards to the upstream registered with [`KubeApi::service`] (method,
//!   path below `proxy/`, query, body and headers but `Authorization`), answering 503 for an unknown service
//!   like an API server with no endpoints; the `Authorization` header of every
//!   proxied request is recorded.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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

/// (namespace, pod, argv) → reply; argv `None` = any command.
type ScriptedExec = (String, String, Option<Vec<String>>, ExecReply);

#[derive(Default)]
pub struct KubeApi {
    lists: Mutex<HashMap<String, Vec<Value>>>,
    execs: Mutex<Vec<ScriptedExec>>,
    pub seen_execs: Mutex<Vec<ExecSeen>>,
    /// Raw query string of every exec request.
    pub seen_exec_queries: Mutex<Vec<String>>,
    /// `Sec-WebSocket-Protocol` offered by every exec request.
    pub seen_protocols: Mutex<Vec<String>>,
    pub seen_paths: Mutex<Vec<String>>,
    /// (namespace, name) → (resourceVersion, object); and every change, in order.
    secrets: Mutex<HashMap<(String, String), Value>>,
    secret_events: Mutex<Vec<(u64, String, Value)>>,
    version: AtomicU64,
    changed: tokio::sync::Notify,
    gone: AtomicBool,
    /// `namespace/scheme:name:port` → upstream base URL.
    services: Mutex<HashMap<String, String>>,
    /// `Authorization` of every proxied request.
    pub seen_proxy_auth: Mutex<Vec<String>>,
    /// Secret lists served (not watches).
    pub secret_lists: AtomicU64,
}

impl KubeApi {
    /// Serve `items` at `path`.
    pub fn list(&self, path: &str, items: Vec<Value>) -> &Self {
        self.lists.lock().unwrap().insert(path.to_owned(), items);
        self
    }
    /// Create or replace a Secret (`object` without `metadata.resourceVersion`).
    pub fn put_secret(&self, namespace: &str, mut object: Value) {
        let name = object["metadata"]["name"].as_str().unwrap().to_owned();
        // Held across the change, as a list holds it across its snapshot: a list
        // never sees a resourceVersion whose object or event is not there yet.
        let mut events = self.secret_events.lock().unwrap();
        let rv = self.version.fetch_add(1, Ordering::SeqCst) + 2;
        object["metadata"]["namespace"] = json!(namespace);
        object["metadata"]["resourceVersion"] = json!(rv.to_string());
        object["kind"] = json!("Secret");
        object["apiVersion"] = json!("v1");
        let existed = self.secrets.lock().unwrap().insert((namespace.into(), name), object.clone()).is_some();
        events.push((rv, if existed { "MODIFIED" } else { "ADDED" }.into(), object));
        drop(events);
        self.changed.notify_waiters();
    }
    /// Delete a Secret.
    pub fn delete_secret(&self, namespace: &str, name: &str) {
        let mut events = self.secret_events.lock().unwrap();
        let Some(mut object) = self.secrets.lock().unwrap().remove(&(namespace.to_owned(), name.to_owned())) else { return };
        let rv = self.version.fetch_add(1, Ordering::SeqCst) + 2;
        object["metadata"]["resourceVersion"] = json!(rv.to_string());
        events.push((rv, "DELETED".into(), object));
        drop(events);
        self.changed.notify_waiters();
    }
    /// The next watch answers `410 Gone` (then watches work again).
    pub fn expire_watches(&self) {
        self.gone.store(true, Ordering::SeqCst);
        self.changed.notify_waiters();
    }
    /// Proxy `namespace`'s service `scheme:name:port` to `upstream`.
    pub fn service(&self, namespace: &str, service: &str, upstream: &str) -> &Self {
        self.services.lock().unwrap().insert(format!("{namespace}/{service}"), upstream.trim_end_matches('/').to_owned());
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

fn selected(object: &Value, selector: Option<&str>) -> bool {
    let labels = &object["metadata"]["labels"];
    selector.unwrap_or("").split(',').filter(|p| !p.is_empty()).all(|pair| match pair.split_once('=') {
        Some((k, v)) => labels[k.trim()].as_str() == Some(v.trim()),
        None => !labels[pair.trim()].is_null(),
    })
}

async fn secrets(State(s): State<Arc<KubeApi>>, Path(ns): Path<String>, RawQuery(q): RawQuery) -> Response {
    let params: HashMap<String, String> = url::form_urlencoded::parse(q.unwrap_or_default().as_bytes()).into_owned().collect();
    let selector = params.get("labelSelector").cloned();
    if params.get("watch").map(String::as_str) != Some("true") {
        s.secret_lists.fetch_add(1, Ordering::SeqCst);
        // The items and the list's resourceVersion from one moment (no change
        // half-made): a watch from that version then misses nothing.
        let events = s.secret_events.lock().unwrap();
        let items: Vec<Value> =
            s.secrets.lock().unwrap().iter().filter(|((n, _), o)| *n == ns && selected(o, selector.as_deref())).map(|(_, o)| o.clone()).collect();
        let rv = (s.version.load(Ordering::SeqCst) + 1).to_string();
        drop(events);
        return axum::Json(json!({"kind": "SecretList", "apiVersion": "v1", "metadata": {"resourceVersion": rv}, "items": items})).into_response();
    }
    if s.gone.swap(false, Ordering::SeqCst) {
        let status = json!({"type": "ERROR", "object": {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 410, "reason": "Expired", "message": "too old resource version"}});
        return format!("{status}\n").into_response();
    }
    let from: u64 = params.get("resourceVersion").and_then(|v| v.parse().ok()).unwrap_or(0);
    let stream = futures::stream::unfold((s, ns, selector, from), |(s, ns, selector, mut from)| async move {
        loop {
            let chunk = {
                let notified = s.changed.notified();
                tokio::pin!(notified);
                // Registered before looking, so no change slips in between.
                notified.as_mut().enable();
                let next: Vec<(u64, String, Value)> = s
                    .secret_events
                    .lock()
                    .unwrap()
                    .iter()
                    .filter(|(rv, _, o)| *rv > from && o["metadata"]["namespace"] == json!(ns) && selected(o, selector.as_deref()))
                    .cloned()
                    .collect();
                if let Some(last) = next.last() {
                    from = last.0;
                    let mut chunk = String::new();
                    for (_, kind, o) in next {
                        chunk.push_str(&json!({"type": kind, "object": o}).to_string());
                        chunk.push('\n');
                    }
                    Some(chunk)
                } else if s.gone.load(Ordering::SeqCst) {
                    return None;
                } else {
                    notified.await;
                    None
                }
            };
            if let Some(chunk) = chunk {
                return Some((Ok::<_, std::convert::Infallible>(axum::body::Bytes::from(chunk)), (s, ns, selector, from)));
            }
        }
    });
    Response::builder().header("content-type", "application/json").body(axum::body::Body::from_stream(stream)).unwrap()
}

async fn proxy(
    State(s): State<Arc<KubeApi>>,
    Path((ns, service, rest)): Path<(String, String, String)>,
    method: axum::http::Method,
    headers: axum::http::HeaderMap,
    RawQuery(q): RawQuery,
    body: axum::body::Bytes,
) -> Response {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    s.seen_proxy_auth.lock().unwrap().push(auth);
    let Some(upstream) = s.services.lock().unwrap().get(&format!("{ns}/{service}")).cloned() else {
        let status = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 503, "message": format!("no endpoints available for service \"{service}\"")});
        return (StatusCode::SERVICE_UNAVAILABLE, axum::Json(status)).into_response();
    };
    let url = match q {
        Some(q) => format!("{upstream}/{rest}?{q}"),
        None => format!("{upstream}/{rest}"),
    };
    // Like an API server: the request's headers go on (a Loki tenant's X-Scope-OrgID),
    // its credentials and hop-by-hop headers do not.
    let mut req = reqwest::Client::new().request(method, &url).body(body);
    for (name, value) in &headers {
        if !matches!(name.as_str(), "authorization" | "host" | "content-length" | "connection" | "transfer-encoding") {
            req = req.header(name.as_str(), value.as_bytes());
        }
    }
    match req.send().await {
        Ok(r) => {
            let status = StatusCode::from_u16(r.status().as_u16()).unwrap();
            let ct = r.headers().get("content-type").cloned();
            let bytes = r.bytes().await.unwrap_or_default();
            let mut resp = (status, bytes).into_response();
            if let Some(ct) = ct {
                resp.headers_mut().insert("content-type", ct);
            }
            resp
        }
        Err(e) => (StatusCode::BAD_GATEWAY, format!("proxy error: {e}")).into_response(),
    }
}

/// Start a server; returns its URL and the handle to script it.
pub async fn start() -> (String, Arc<KubeApi>) {
    let state = Arc::new(KubeApi::default());
    let app = Router::new()
        .route("/api/v1/namespaces/:ns/pods/:pod/exec", get(exec))
        .route("/api/v1/namespaces/:ns/secrets", get(secrets))
        .route("/api/v1/namespaces/:ns/services/:service/proxy/*rest", axum::routing::any(proxy))
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
