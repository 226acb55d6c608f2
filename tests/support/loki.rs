//! A Loki-API replay server (axum, 127.0.0.1) for the logs tests: real
//! recorded answers from tests/fixtures/loki, chosen by tenant
//! (`X-Scope-OrgID`), over HTTP and over the real tail websocket.
//!
//! Tenants: `prod-east-1`, `prod-west-1`, `edge-1` answer their recordings;
//! `broken` answers 500, `garbage` truncated JSON, `hung` never answers.
//! Tail (`/loki/api/v1/tail`): `prod-east-1` sends the recorded session's
//! frames, `edge-1` the dropped-entries message, `flaky` the session's frames
//! but closes its first connection after one frame; every tail honours `start`
//! as Loki does (entries before it are not sent) and then holds the socket
//! until the client goes away. Open tail sockets are counted.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use fleetscope::federation::Federation;
use fleetscope::registry::Registry;
use tokio::sync::watch;

pub fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/fixtures/loki/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// One tail connection as the server saw it.
#[derive(Debug, Clone)]
pub struct TailConnect {
    pub tenant: String,
    pub params: HashMap<String, String>,
}

/// What the server saw, for assertions.
/// (tenant, query parameters) of one request.
pub type TenantParams = (String, HashMap<String, String>);

#[derive(Clone)]
pub struct Seen {
    /// Tail sockets open right now.
    pub open_tails: watch::Sender<usize>,
    pub tail_connects: Arc<Mutex<Vec<TailConnect>>>,
    /// Query strings of label requests, by tenant.
    pub label_params: Arc<Mutex<Vec<TenantParams>>>,
}

pub struct Replay {
    pub url: String,
    pub seen: Seen,
}

fn tenant(headers: &HeaderMap) -> String {
    headers.get("X-Scope-OrgID").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned()
}

fn json_ok(body: String) -> Response {
    (StatusCode::OK, [("content-type", "application/json")], body).into_response()
}

/// Failure tenants, shared by every HTTP endpoint; `None` for healthy ones.
async fn failure(tenant: &str) -> Option<Response> {
    match tenant {
        "broken" => Some((StatusCode::INTERNAL_SERVER_ERROR, "internal error: too many outstanding requests").into_response()),
        "garbage" => Some((StatusCode::OK, r#"{"status":"success","data":{"resultType":"streams","result":[{"stream":"#).into_response()),
        "hung" => std::future::pending().await,
        "prod-east-1" | "prod-west-1" | "edge-1" | "flaky" => None,
        _ => Some((StatusCode::UNAUTHORIZED, "no org id").into_response()),
    }
}

async fn query_range(headers: HeaderMap, Query(p): Query<HashMap<String, String>>) -> Response {
    let tenant = tenant(&headers);
    if let Some(r) = failure(&tenant).await {
        return r;
    }
    let metric = p.get("query").is_some_and(|q| q.starts_with("sum"));
    let file = match (tenant.as_str(), metric) {
        ("prod-east-1", false) => "query_range_streams_backward_limit.json",
        ("prod-west-1", false) => "query_range_streams_forward.json",
        (_, false) => "query_range_streams_gpu_agent_errors_edge.json",
        (_, true) => "query_range_matrix_rate_sum_by_app.json",
    };
    json_ok(fixture(file))
}

async fn query_instant(headers: HeaderMap) -> Response {
    match failure(&tenant(&headers)).await {
        Some(r) => r,
        None => json_ok(fixture("query_instant_vector_count_by_app.json")),
    }
}

async fn labels(State(seen): State<Seen>, headers: HeaderMap, Query(p): Query<HashMap<String, String>>) -> Response {
    let tenant = tenant(&headers);
    seen.label_params.lock().unwrap().push((tenant.clone(), p));
    if let Some(r) = failure(&tenant).await {
        return r;
    }
    match tenant.as_str() {
        "prod-east-1" => json_ok(fixture("labels.json")),
        "prod-west-1" => json_ok(fixture("labels.loki-docs.json")),
        // Loki leaves `data` out when there is nothing.
        _ => json_ok(r#"{"status":"success"}"#.into()),
    }
}

async fn label_values(
    State(seen): State<Seen>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(mut p): Query<HashMap<String, String>>,
) -> Response {
    let tenant = tenant(&headers);
    p.insert("name".into(), name.clone());
    seen.label_params.lock().unwrap().push((tenant.clone(), p));
    if let Some(r) = failure(&tenant).await {
        return r;
    }
    match (tenant.as_str(), name.as_str()) {
        ("prod-west-1", "model") => json_ok(fixture("label_values_model_with_query.json")),
        (_, "app") => json_ok(fixture("label_values_app.json")),
        _ => json_ok(r#"{"status":"success","data":[]}"#.into()),
    }
}

/// Decrements the open-socket count when a tail handler ends, however it ends.
struct OpenTail(watch::Sender<usize>);

impl Drop for OpenTail {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n -= 1);
    }
}

async fn tail(State(seen): State<Seen>, headers: HeaderMap, Query(p): Query<HashMap<String, String>>, ws: WebSocketUpgrade) -> Response {
    let tenant = tenant(&headers);
    let nth = {
        let mut c = seen.tail_connects.lock().unwrap();
        c.push(TailConnect { tenant: tenant.clone(), params: p.clone() });
        c.iter().filter(|t| t.tenant == tenant).count()
    };
    let start: i64 = p.get("start").and_then(|s| s.parse().ok()).unwrap_or(0);
    let frames: Vec<String> = match tenant.as_str() {
        "prod-east-1" | "flaky" => fixture("tail_session_model_server.jsonl").lines().map(str::to_owned).collect(),
        "edge-1" => vec![fixture("tail_message_dropped_entries.loki-marshal-test.json")],
        _ => return (StatusCode::UNAUTHORIZED, "no org id").into_response(),
    };
    // Loki sends only entries at or after `start` (the marshal-test message,
    // stamped 1 ns after the epoch, is sent as it is).
    let frames: Vec<String> = frames.into_iter().filter(|f| tenant == "edge-1" || max_ts(f) >= start).collect();
    let close_after_first = tenant == "flaky" && nth == 1;
    ws.on_upgrade(move |socket| serve_tail(socket, seen, frames, close_after_first))
}

/// The newest entry timestamp of a tail frame.
fn max_ts(frame: &str) -> i64 {
    let v: serde_json::Value = serde_json::from_str(frame).unwrap();
    v["streams"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["values"].as_array().unwrap().iter().map(|e| e[0].as_str().unwrap().parse::<i64>().unwrap()))
        .max()
        .unwrap_or(i64::MAX)
}

async fn serve_tail(mut socket: WebSocket, seen: Seen, frames: Vec<String>, close_after_first: bool) {
    seen.open_tails.send_modify(|n| *n += 1);
    let _open = OpenTail(seen.open_tails.clone());
    for f in frames {
        if socket.send(Message::Text(f)).await.is_err() {
            return;
        }
        if close_after_first {
            // Drop the connection without a close frame, like a crashed querier.
            return;
        }
    }
    // Hold until the client goes away.
    while let Some(Ok(m)) = socket.recv().await {
        if matches!(m, Message::Close(_)) {
            break;
        }
    }
}

pub async fn replay() -> Replay {
    let (open_tails, _) = watch::channel(0usize);
    let seen = Seen { open_tails, tail_connects: Arc::default(), label_params: Arc::default() };
    let app = axum::Router::new()
        .route("/loki/api/v1/query_range", axum::routing::get(query_range))
        .route("/loki/api/v1/query", axum::routing::get(query_instant))
        .route("/loki/api/v1/labels", axum::routing::get(labels))
        .route("/loki/api/v1/label/:name/values", axum::routing::get(label_values))
        .route("/loki/api/v1/tail", axum::routing::get(tail))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Replay { url: format!("http://{addr}"), seen }
}

/// Datasource settings (`jsonData`) for `clusters` = (id, name, Loki tenant or
/// None for a cluster with Prometheus only), with a trace-id derived field.
pub fn settings_json(url: &str, clusters: &[(&str, &str, Option<&str>)]) -> String {
    let list: Vec<String> = clusters
        .iter()
        .map(|(id, name, tenant)| match tenant {
            Some(t) => format!(r#"{{"id":"{id}","name":"{name}","loki":{{"url":"{url}","tenant":"{t}"}}}}"#),
            None => format!(r#"{{"id":"{id}","name":"{name}","prometheus":{{"url":"{url}"}}}}"#),
        })
        .collect();
    format!(
        r#"{{"query":{{"timeoutSeconds":1,"retryAttempts":1}},
        "derivedFields":[{{"name":"traceID","matcherRegex":"trace_id[\"=:]+\"?([0-9a-f]{{32}})"}}],
        "clusters":[{}]}}"#,
        list.join(",")
    )
}

/// The standard test fleet: three healthy clusters, three failing ones, one without Loki.
pub const FLEET: &[(&str, &str, Option<&str>)] = &[
    ("east", "prod-east-1", Some("prod-east-1")),
    ("west", "prod-west-1", Some("prod-west-1")),
    ("edge", "edge-1", Some("edge-1")),
    ("broken", "broken-1", Some("broken")),
    ("hung", "hung-1", Some("hung")),
    ("garbage", "garbage-1", Some("garbage")),
    ("nolog", "metrics-only", None),
];

pub async fn fed() -> (Arc<Federation>, Replay) {
    let replay = replay().await;
    let json = settings_json(&replay.url, FLEET);
    (Arc::new(Federation::new(Registry::from_grafana(json.as_bytes(), &Default::default()).unwrap())), replay)
}
