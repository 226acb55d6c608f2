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
//!   chosen by the exact argv the client sent; every argv received is recorded.

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

/// What an exec answers.
#[derive(Clone, Debug)]
pub struct ExecReply {
    pub stdout: String,
    pub stderr: String,
    /// 0 = Success; otherwise the exit code in the Failure status.
    pub exit: i32,
}

impl ExecReply {
    pub fn ok(stdout: impl Into<String>) -> Self {
        ExecReply { stdout: stdout.into(), stderr: String::new(), exit: 0 }
    }
    pub fn fail(exit: i32, stderr: impl Into<String>) -> Self {
        ExecReply { stdout: String::new(), stderr: stderr.into(), exit }
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

async fn exec(State(s): State<Arc<KubeApi>>, Path((ns, pod)): Path<(String, String)>, RawQuery(q): RawQuery, ws: WebSocketUpgrade) -> Response {
    let mut argv = Vec::new();
    let mut container = None;
    for (k, v) in url::form_urlencoded::parse(q.unwrap_or_default().as_bytes()) {
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
    ws.protocols(["v4.channel.k8s.io"]).on_upgrade(move |socket| answer(socket, reply)).into_response()
}

async fn answer(mut socket: WebSocket, r: ExecReply) {
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
    let app = Router::new().route("/api/v1/namespaces/:ns/pods/:pod/exec", get(exec)).fallback(get(list)).with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), state)
}
