//! The demo/test stack's Loki, Tempo and Kubernetes APIs: the upstreams no
//! Debian package provides, replayed from the real recordings in
//! `tests/fixtures` over their real protocols (HTTP JSON, the exec websocket).
//! `tests/stack/stack.sh up` starts it beside the real Prometheus servers,
//! Alertmanager and Redis; it is a cargo example (`cargo build --release
//! --example replay_upstreams`) so it shares the release build.
//!
//! ```text
//! replay_upstreams <fixtures dir> <env file to write>
//! ```
//! Binds one port per cluster and API on 127.0.0.1, then writes
//! `LOKI_EAST_URL=…`, `TEMPO_EAST_URL=…`, `K8S_EAST_URL=…` (and west/edge)
//! to the env file (atomically, once everything listens) and serves until killed.
//!
//! What a replay does that a real server would not (tests/stack/README.md):
//! * Loki: each cluster answers its own recorded streams (east: the gateway's
//!   access log, west: the model servers, edge: the GPU node agent). The
//!   stream selector's matchers and the leading line filters (`|=`, `!=`,
//!   `|~`, `!~`) are applied; later pipeline stages are not. Timestamps keep
//!   their recorded spacing, moved so the newest line sits 30 s before the
//!   query's end. Metric queries answer the recorded `rate` series of the
//!   apps the selector matches, repeated over the requested step grid. The
//!   label names API lists only the recorded index labels (labels.json), not
//!   the structured metadata and parsed labels merged into the recorded streams.
//! * Tempo: the traces were recorded from one tenant, east's. East's search
//!   answer is chosen by the TraceQL's shape (status = error, duration,
//!   structural `>>`, select, otherwise the most recent traces); start times
//!   are moved the same way. Trace by ID answers the recorded trace for its ID
//!   and 404 otherwise. West's and edge's Tempo hold no traces: empty searches
//!   and 404s, as a real Tempo without matching data answers.
//! * Kubernetes: recorded operator objects and nvidia-smi / dpdk-telemetry
//!   captures, renamed onto the stack's node names (see `kube_cluster`).

#[path = "../support/kube_api.rs"]
mod kube_api;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use fleetscope::probes::cnf::dpdk::{ETHDEV_LIST_COMMAND, ETHDEV_STATS_COMMANDS};
use fleetscope::probes::gpu::nvidia_smi::{QUERY_APPS_COMMAND, QUERY_GPU_COMMAND};
use kube_api::{ExecReply, KubeApi, yaml_object};
use regex::Regex;
use serde_json::{Value, json};

const CLUSTERS: [&str; 3] = ["east", "west", "edge"];
/// The newest replayed line or trace sits this long before the query's end.
const NEWEST_BEFORE_END_NS: i64 = 30_000_000_000;

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("replay_upstreams: cannot read {name}: {e}"))
}

fn read_json(dir: &Path, name: &str) -> Value {
    serde_json::from_str(&read(dir, name)).unwrap_or_else(|e| panic!("replay_upstreams: {name} is not JSON: {e}"))
}

fn num(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1");
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

// ---------------------------------------------------------------------------
// LogQL, as much as a replay needs
// ---------------------------------------------------------------------------

/// The stream selector's matchers and the line filters right after it.
struct Selection {
    matchers: Vec<(String, String, Regex)>,
    line_filters: Vec<(String, String, Option<Regex>)>,
}

fn quoted(s: &str) -> Option<(String, &str)> {
    let rest = s.strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = rest.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => out.push(chars.next()?.1),
            '"' => return Some((out, &rest[i + 1..])),
            c => out.push(c),
        }
    }
    None
}

/// What an invalid regex matcher matches: nothing.
static NEVER: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| Regex::new("$^").unwrap());

fn anchored(re: &str) -> Option<Regex> {
    Regex::new(&format!("^(?:{re})$")).ok()
}

fn select(query: &str) -> Selection {
    let mut sel = Selection { matchers: Vec::new(), line_filters: Vec::new() };
    let Some(open) = query.find('{') else {
        return sel;
    };
    let mut rest = &query[open + 1..];
    // name op "value" (, name op "value")* }
    loop {
        rest = rest.trim_start().trim_start_matches(',').trim_start();
        if let Some(r) = rest.strip_prefix('}') {
            rest = r;
            break;
        }
        let name_len = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
        if name_len == 0 {
            return sel;
        }
        let name = rest[..name_len].to_owned();
        rest = rest[name_len..].trim_start();
        let op = ["=~", "!~", "!=", "="].into_iter().find(|op| rest.starts_with(op)).unwrap_or("=");
        rest = rest[op.len()..].trim_start();
        let Some((value, r)) = quoted(rest) else {
            return sel;
        };
        rest = r;
        let re = match op {
            "=~" | "!~" => anchored(&value).unwrap_or_else(|| NEVER.clone()),
            _ => Regex::new(&format!("^{}$", regex::escape(&value))).unwrap(),
        };
        sel.matchers.push((name, op.to_owned(), re));
    }
    loop {
        rest = rest.trim_start();
        let Some(op) = ["|=", "!=", "|~", "!~"].into_iter().find(|op| rest.starts_with(op)) else {
            break;
        };
        let Some((value, r)) = quoted(rest[2..].trim_start()) else {
            break;
        };
        rest = r;
        let re = if op.ends_with('~') { Regex::new(&value).ok() } else { None };
        sel.line_filters.push((op.to_owned(), value, re));
    }
    sel
}

impl Selection {
    fn stream_matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.matchers.iter().all(|(name, op, re)| {
            let v = labels.get(name).map(String::as_str).unwrap_or("");
            re.is_match(v) == (op == "=" || op == "=~")
        })
    }
    fn line_matches(&self, line: &str) -> bool {
        self.line_filters.iter().all(|(op, text, re)| match op.as_str() {
            "|=" => line.contains(text.as_str()),
            "!=" => !line.contains(text.as_str()),
            "|~" => re.as_ref().is_some_and(|r| r.is_match(line)),
            _ => re.as_ref().is_none_or(|r| !r.is_match(line)),
        })
    }
}

// ---------------------------------------------------------------------------
// Loki
// ---------------------------------------------------------------------------

/// (labels, [(ns before the newest line, line)])
type ReplayStream = (BTreeMap<String, String>, Vec<(i64, String)>);

struct LokiReplay {
    streams: Vec<ReplayStream>,
    stats: Value,
    /// Recorded `sum by (app) (rate(…))` series: app → values.
    rates: BTreeMap<String, Vec<f64>>,
    /// Index label names, as Loki's label names API recorded them (labels.json):
    /// the recorded streams also carry structured metadata (trace_id) and parsed
    /// labels, which that API does not list.
    index_labels: BTreeSet<String>,
}

fn loki_replay(dir: &Path, streams_file: &str) -> LokiReplay {
    let recorded = read_json(dir, streams_file);
    let mut streams = Vec::new();
    let mut newest = i64::MIN;
    for s in recorded["data"]["result"].as_array().expect("recorded streams") {
        let labels: BTreeMap<String, String> = serde_json::from_value(s["stream"].clone()).unwrap();
        let values: Vec<(i64, String)> =
            s["values"].as_array().unwrap().iter().map(|v| (num(&v[0]).unwrap(), v[1].as_str().unwrap().to_owned())).collect();
        newest = newest.max(values.iter().map(|v| v.0).max().unwrap_or(i64::MIN));
        streams.push((labels, values));
    }
    for (_, values) in &mut streams {
        for v in values.iter_mut() {
            v.0 -= newest;
        }
    }
    let matrix = read_json(dir, "loki/query_range_matrix_rate_sum_by_app.json");
    let rates = matrix["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let app = s["metric"]["app"].as_str().unwrap_or_default().to_owned();
            let vals = s["values"].as_array().unwrap().iter().filter_map(|v| v[1].as_str()?.parse().ok()).collect();
            (app, vals)
        })
        .collect();
    let index_labels = read_json(dir, "loki/labels.json")["data"]
        .as_array()
        .expect("recorded label names")
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    LokiReplay { streams, stats: recorded["data"]["stats"].clone(), rates, index_labels }
}

fn success(data: Value) -> Response {
    axum::Json(json!({"status": "success", "data": data})).into_response()
}

fn bad_request(message: impl Into<String>) -> Response {
    (StatusCode::BAD_REQUEST, message.into()).into_response()
}

fn param_ns(p: &HashMap<String, String>, key: &str, default: i64) -> i64 {
    p.get(key).and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn now_ns() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as i64).unwrap_or(0)
}

impl LokiReplay {
    fn apps(&self, sel: &Selection) -> BTreeSet<String> {
        self.streams.iter().filter(|(l, _)| sel.stream_matches(l)).filter_map(|(l, _)| l.get("app").cloned()).collect()
    }

    fn log_query(&self, sel: &Selection, start: i64, end: i64, limit: usize, forward: bool) -> Value {
        let anchor = end - NEWEST_BEFORE_END_NS;
        let mut entries: Vec<(i64, usize, &str)> = Vec::new();
        for (i, (labels, values)) in self.streams.iter().enumerate() {
            if !sel.stream_matches(labels) {
                continue;
            }
            for (offset, line) in values {
                let ts = anchor + offset;
                if ts >= start && ts <= end && sel.line_matches(line) {
                    entries.push((ts, i, line));
                }
            }
        }
        entries.sort_by_key(|e| if forward { e.0 } else { -e.0 });
        entries.truncate(limit);
        let mut by_stream: BTreeMap<usize, Vec<Value>> = BTreeMap::new();
        for (ts, i, line) in entries {
            by_stream.entry(i).or_default().push(json!([ts.to_string(), line]));
        }
        let result: Vec<Value> = by_stream.into_iter().map(|(i, values)| json!({"stream": self.streams[i].0, "values": values})).collect();
        json!({"resultType": "streams", "result": result, "stats": self.stats})
    }

    fn metric_range(&self, sel: &Selection, start: i64, end: i64, step_s: f64) -> Value {
        let step_ns = ((step_s * 1e9) as i64).max(1_000_000_000);
        let result: Vec<Value> = self
            .apps(sel)
            .into_iter()
            .filter_map(|app| {
                let vals = self.rates.get(&app).filter(|v| !v.is_empty())?;
                let first = start.div_euclid(step_ns) * step_ns + if start % step_ns == 0 { 0 } else { step_ns };
                let points: Vec<Value> = (0..)
                    .map(|k| first + k * step_ns)
                    .take_while(|t| *t <= end)
                    .enumerate()
                    .map(|(k, t)| json!([t as f64 / 1e9, vals[k % vals.len()].to_string()]))
                    .collect();
                Some(json!({"metric": {"app": app}, "values": points}))
            })
            .collect();
        json!({"resultType": "matrix", "result": result, "stats": self.stats})
    }
}

fn is_metric_query(q: &str) -> bool {
    !q.trim_start().starts_with('{')
}

async fn loki_query_range(State(r): State<Arc<LokiReplay>>, Query(p): Query<HashMap<String, String>>) -> Response {
    let Some(q) = p.get("query") else {
        return bad_request("query is required");
    };
    let end = param_ns(&p, "end", now_ns());
    let start = param_ns(&p, "start", end - 3_600_000_000_000);
    if start > end {
        return bad_request("end timestamp must not be before or equal to start time");
    }
    let sel = select(q);
    if is_metric_query(q) {
        let step = p.get("step").and_then(|s| s.trim_end_matches('s').parse().ok()).unwrap_or(15.0);
        return success(r.metric_range(&sel, start, end, step));
    }
    let limit = p.get("limit").and_then(|l| l.parse().ok()).unwrap_or(100);
    let forward = p.get("direction").is_some_and(|d| d.eq_ignore_ascii_case("forward"));
    success(r.log_query(&sel, start, end, limit, forward))
}

async fn loki_query(State(r): State<Arc<LokiReplay>>, Query(p): Query<HashMap<String, String>>) -> Response {
    let Some(q) = p.get("query") else {
        return bad_request("query is required");
    };
    let time = param_ns(&p, "time", now_ns());
    let sel = select(q);
    if !is_metric_query(q) {
        let limit = p.get("limit").and_then(|l| l.parse().ok()).unwrap_or(100);
        return success(r.log_query(&sel, time - 3_600_000_000_000, time, limit, false));
    }
    let result: Vec<Value> = r
        .apps(&sel)
        .into_iter()
        .filter_map(|app| Some(json!({"metric": {"app": app}, "value": [time as f64 / 1e9, r.rates.get(&app)?.last()?.to_string()]})))
        .collect();
    success(json!({"resultType": "vector", "result": result, "stats": r.stats}))
}

async fn loki_labels(State(r): State<Arc<LokiReplay>>) -> Response {
    let names: BTreeSet<&String> = r.streams.iter().flat_map(|(l, _)| l.keys()).filter(|k| r.index_labels.contains(*k)).collect();
    axum::Json(json!({"status": "success", "data": names})).into_response()
}

async fn loki_label_values(State(r): State<Arc<LokiReplay>>, UrlPath(name): UrlPath<String>) -> Response {
    let values: BTreeSet<&String> = r.streams.iter().filter_map(|(l, _)| l.get(&name)).collect();
    axum::Json(json!({"status": "success", "data": values})).into_response()
}

fn loki_router(replay: LokiReplay) -> Router {
    Router::new()
        .route("/loki/api/v1/query_range", get(loki_query_range))
        .route("/loki/api/v1/query", get(loki_query))
        .route("/loki/api/v1/labels", get(loki_labels))
        .route("/loki/api/v1/label/:name/values", get(loki_label_values))
        .route("/ready", get(|| async { "ready" }))
        .with_state(Arc::new(replay))
}

// ---------------------------------------------------------------------------
// Tempo
// ---------------------------------------------------------------------------

struct TempoReplay {
    /// (file, recorded answer) in the order `search_answer` tries them.
    searches: HashMap<&'static str, Value>,
    /// trace ID → (v2 answer, v1 answer).
    traces: HashMap<String, (Value, Value)>,
    tags: Value,
    tags_resource: Value,
    values_service: Value,
    values_status: Value,
}

/// A Tempo holding no traces.
fn empty_tempo() -> TempoReplay {
    let empty = json!({"traces": [], "metrics": {"inspectedTraces": 0, "inspectedBytes": "0", "completedJobs": 1, "totalJobs": 1}});
    let searches = ["error", "duration", "structural", "select", "recent"].into_iter().map(|k| (k, empty.clone())).collect();
    let no_values = json!({"tagValues": [], "metrics": {}});
    TempoReplay {
        searches,
        traces: HashMap::new(),
        tags: json!({"scopes": [], "metrics": {}}),
        tags_resource: json!({"scopes": [], "metrics": {}}),
        values_service: no_values.clone(),
        values_status: no_values,
    }
}

fn tempo_replay(dir: &Path) -> TempoReplay {
    let mut searches = HashMap::new();
    for (key, file) in [
        ("error", "tempo/search_traceql_status_error.json"),
        ("duration", "tempo/search_traceql_gateway_duration_gt_2s.json"),
        ("structural", "tempo/search_traceql_structural_gateway_to_model_error.json"),
        ("select", "tempo/search_traceql_select_decode_tokens.json"),
        ("recent", "tempo/search_recent_no_query.json"),
    ] {
        searches.insert(key, read_json(dir, file));
    }
    let mut traces = HashMap::new();
    // The recorded OOM trace (its ID is in the recorded request line).
    traces.insert(
        "6c48c5c2029f7c3ddb565ad52f1ac6bd".to_owned(),
        (read_json(dir, "tempo/trace_by_id_v2_oom_error.json"), read_json(dir, "tempo/trace_by_id_v1_oom_error.json")),
    );
    TempoReplay {
        searches,
        traces,
        tags: read_json(dir, "tempo/search_tags_v2.json"),
        tags_resource: read_json(dir, "tempo/search_tags_v2_scope_resource.json"),
        values_service: read_json(dir, "tempo/search_tag_values_v2_resource_service_name.json"),
        values_status: read_json(dir, "tempo/search_tag_values_v2_intrinsic_status.json"),
    }
}

impl TempoReplay {
    fn search_answer(&self, q: &str) -> &Value {
        let compact: String = q.chars().filter(|c| !c.is_whitespace()).collect();
        let key = if compact.contains(">>") {
            "structural"
        } else if compact.contains("select(") {
            "select"
        } else if compact.contains("status=error") {
            "error"
        } else if compact.contains("duration>") {
            "duration"
        } else {
            "recent"
        };
        &self.searches[key]
    }
}

/// Move every `startTimeUnixNano` in a search answer by `delta` ns.
fn shift_starts(v: &mut Value, delta: i64) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                if k == "startTimeUnixNano" {
                    if let Some(t) = num(x) {
                        *x = Value::String((t + delta).to_string());
                    }
                } else {
                    shift_starts(x, delta);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| shift_starts(x, delta)),
        _ => {}
    }
}

async fn tempo_search(State(r): State<Arc<TempoReplay>>, Query(p): Query<HashMap<String, String>>) -> Response {
    let q = p.get("q").map(String::as_str).unwrap_or("{}");
    let secs = |k: &str, d: i64| p.get(k).and_then(|v| v.parse::<i64>().ok()).unwrap_or(d);
    let end = secs("end", now_ns() / 1_000_000_000) * 1_000_000_000;
    let start = secs("start", end / 1_000_000_000 - 3600) * 1_000_000_000;
    let limit = p.get("limit").and_then(|l| l.parse().ok()).unwrap_or(20usize);
    let mut answer = r.search_answer(q).clone();
    let newest = answer["traces"].as_array().into_iter().flatten().filter_map(|t| num(&t["startTimeUnixNano"])).max().unwrap_or(0);
    shift_starts(&mut answer, end - NEWEST_BEFORE_END_NS - newest);
    if let Some(traces) = answer["traces"].as_array_mut() {
        traces.retain(|t| num(&t["startTimeUnixNano"]).is_some_and(|s| s >= start && s <= end));
        traces.truncate(limit);
    }
    axum::Json(answer).into_response()
}

fn trace_by_id(r: &TempoReplay, id: &str, v2: bool) -> Response {
    match r.traces.get(&id.to_ascii_lowercase()) {
        Some((a2, a1)) => axum::Json(if v2 { a2.clone() } else { a1.clone() }).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn tempo_trace_v2(State(r): State<Arc<TempoReplay>>, UrlPath(id): UrlPath<String>) -> Response {
    trace_by_id(&r, &id, true)
}

async fn tempo_trace_v1(State(r): State<Arc<TempoReplay>>, UrlPath(id): UrlPath<String>) -> Response {
    trace_by_id(&r, &id, false)
}

async fn tempo_tags(State(r): State<Arc<TempoReplay>>, Query(p): Query<HashMap<String, String>>) -> Response {
    let answer = if p.get("scope").is_some_and(|s| s == "resource") { &r.tags_resource } else { &r.tags };
    axum::Json(answer.clone()).into_response()
}

async fn tempo_tag_values(State(r): State<Arc<TempoReplay>>, UrlPath(tag): UrlPath<String>) -> Response {
    let answer = match tag.as_str() {
        "resource.service.name" => r.values_service.clone(),
        "status" => r.values_status.clone(),
        _ => json!({"tagValues": [], "metrics": {}}),
    };
    axum::Json(answer).into_response()
}

fn tempo_router(replay: Arc<TempoReplay>) -> Router {
    Router::new()
        .route("/api/search", get(tempo_search))
        .route("/api/v2/traces/:id", get(tempo_trace_v2))
        .route("/api/traces/:id", get(tempo_trace_v1))
        .route("/api/v2/search/tags", get(tempo_tags))
        .route("/api/v2/search/tag/:tag/values", get(tempo_tag_values))
        // As recorded (tests/fixtures/tempo/SOURCES.md, section 9).
        .route(
            "/api/status/buildinfo",
            get(|| async { axum::Json(json!({"version": "v3.1.0-dev", "revision": "ad33aa8fa", "branch": "main", "goVersion": "go1.27.3"})) }),
        )
        .route("/ready", get(|| async { "ready" }))
        .with_state(replay)
}

// ---------------------------------------------------------------------------
// Kubernetes
// ---------------------------------------------------------------------------

const GPU_NS: &str = "nvidia-gpu-operator";
const PTP_PATH: &str = "/apis/ptp.openshift.io/v1/namespaces/openshift-ptp";
const SRIOV_PATH: &str = "/apis/sriovnetwork.openshift.io/v1/namespaces/openshift-sriov-network-operator/sriovnetworknodestates";
const H100: &str = "nvidia-smi/query_gpu_all_fields.h100-80gb-hbm3.drv590.load.nvidia_gpu_exporter.csv";
const H100_APPS: &str = "nvidia-smi/query_compute_apps.h100-80gb-hbm3.drv590.load.nvidia_gpu_exporter.csv";
const MIG: &str = "nvidia-smi/query_gpu_all_fields_mig.h100-mig.drv590.load.nvidia_gpu_exporter.csv";
const RTX: &str = "nvidia-smi/query_gpu_all_fields.rtx-4080-super.drv595.load.nvidia_gpu_exporter.csv";
const RTX_APPS: &str = "nvidia-smi/query_compute_apps.rtx-4080-super.drv595.load.nvidia_gpu_exporter.csv";

fn node_object(name: &str, gpus: u32) -> Value {
    let mut capacity = json!({"cpu": "64", "memory": "528157520Ki"});
    if gpus > 0 {
        capacity["nvidia.com/gpu"] = json!(gpus.to_string());
    }
    json!({"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
           "status": {"capacity": capacity, "conditions": [{"type": "Ready", "status": "True"}]}})
}

fn driver_pod(node: &str) -> Value {
    json!({"metadata": {"name": format!("nvidia-driver-daemonset-{node}"), "namespace": GPU_NS,
                        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "nvidia-driver-daemonset",
                                             "uid": format!("ds-{node}"), "controller": true}]},
           "spec": {"nodeName": node, "containers": [{"name": "nvidia-driver-ctr"}]},
           "status": {"phase": "Running"}})
}

/// One cluster's API: GPU nodes with (gpu capture, apps capture), a CPU node,
/// and the telco node that carries PTP, SR-IOV and the DPDK workload `ran/du-0`.
async fn kube_cluster(dir: &Path, gpu_nodes: &[(&str, &str, Option<&str>)], cpu_node: Option<&str>, ptp_node: &str) -> String {
    let (url, k): (String, Arc<KubeApi>) = kube_api::start().await;
    let mut nodes: Vec<Value> = gpu_nodes.iter().map(|(n, _, _)| node_object(n, 1)).collect();
    nodes.extend(cpu_node.map(|n| node_object(n, 0)));
    k.list("/api/v1/nodes", nodes);
    let mut pods: Vec<Value> = Vec::new();
    for (node, gpu, apps) in gpu_nodes {
        let pod = driver_pod(node);
        let name = pod["metadata"]["name"].as_str().unwrap().to_owned();
        pods.push(pod);
        k.exec(GPU_NS, &name, Some(&QUERY_GPU_COMMAND), ExecReply::ok(read(dir, gpu)));
        k.exec(GPU_NS, &name, Some(&QUERY_APPS_COMMAND), ExecReply::ok(apps.map(|a| read(dir, a)).unwrap_or_default()));
    }
    k.list(&format!("/api/v1/namespaces/{GPU_NS}/pods"), pods.clone());

    let mut device = yaml_object(&read(dir, "k8s-cnf/nodeptpdevice.ptp-operator-test-developers-md.yaml"));
    device["metadata"]["name"] = json!(ptp_node);
    k.list(&format!("{PTP_PATH}/nodeptpdevices"), vec![device]);
    k.list(&format!("{PTP_PATH}/ptpconfigs"), vec![yaml_object(&read(dir, "k8s-cnf/ptpconfig_ordinary_clock.ptp-operator-readme.yaml"))]);

    let mut state = yaml_object(&read(dir, "k8s-cnf/sriovnetworknodestate_igb_vfio_vfs.openshift-examples-web.yaml"));
    state["metadata"]["name"] = json!(ptp_node);
    k.list(SRIOV_PATH, vec![state]);
    let du = json!({"metadata": {"name": "du-0", "namespace": "ran",
                                 "annotations": {"k8s.v1.cni.cncf.io/networks": "ran/sriov-fh0,ran/sriov-fh1"}},
                    "spec": {"nodeName": ptp_node, "containers": [{"name": "du", "resources": {"requests": {"cpu": "8", "openshift.io/intel_fh": "2", "hugepages-1Gi": "8Gi"}}}]},
                    "status": {"phase": "Running"}});
    let mut multus = yaml_object(&read(dir, "k8s-cnf/pod_metadata_multus_networks_and_network_status.harvester-docs.yaml"));
    multus["metadata"]["name"] = json!("instance-manager-r-1f2b3c");
    multus["metadata"]["namespace"] = json!("longhorn-system");
    k.list("/api/v1/namespaces/ran/pods", vec![du.clone()]);
    pods.extend([du, multus]);
    k.exec("ran", "du-0", Some(&ETHDEV_LIST_COMMAND), ExecReply::ok(read(dir, "dpdk-telemetry/ethdev_list_reply.dpdk-docs-howto-telemetry.json")));
    k.exec(
        "ran",
        "du-0",
        Some(ETHDEV_STATS_COMMANDS[0]),
        ExecReply::ok(read(dir, "dpdk-telemetry/session_transcript_ethdev_list_and_stats.knet-docs-dpdk-21.11.7.txt")),
    );
    k.exec(
        "ran",
        "du-0",
        Some(ETHDEV_STATS_COMMANDS[1]),
        ExecReply::ok(read(dir, "dpdk-telemetry/ethdev_stats_reply_2_active_queues.knet-docs-dpdk-21.11.7.json")),
    );
    k.list("/api/v1/pods", pods);
    url
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: {} <fixtures dir> <env file to write>", args[0]);
        std::process::exit(2);
    }
    let dir = PathBuf::from(&args[1]);
    let env_out = PathBuf::from(&args[2]);

    let recorded_tempo = Arc::new(tempo_replay(&dir));
    let empty_tempo = Arc::new(empty_tempo());
    let mut env = Vec::new();
    for c in CLUSTERS {
        let (streams, gpu_nodes, cpu_node, ptp_node): (_, Vec<(&str, &str, Option<&str>)>, _, _) = match c {
            "east" => {
                ("loki/query_range_streams_backward_limit.json", vec![("gpu-node-a3", H100, Some(H100_APPS))], Some("cpu-node-12"), "cpu-node-12")
            }
            "west" => (
                "loki/query_range_streams_forward.json",
                vec![("gpu-node-b1", H100, Some(H100_APPS)), ("gpu-node-b2", MIG, None)],
                Some("cpu-node-07"),
                "cpu-node-07",
            ),
            _ => (
                "loki/query_range_streams_gpu_agent_errors_edge.json",
                vec![("edge-gpu-1", RTX, Some(RTX_APPS)), ("edge-gpu-2", RTX, None)],
                None,
                "edge-gpu-1",
            ),
        };
        let up = c.to_ascii_uppercase();
        env.push(format!("LOKI_{up}_URL={}", serve(loki_router(loki_replay(&dir, streams))).await));
        let tempo = if c == "east" { recorded_tempo.clone() } else { empty_tempo.clone() };
        env.push(format!("TEMPO_{up}_URL={}", serve(tempo_router(tempo)).await));
        env.push(format!("K8S_{up}_URL={}", kube_cluster(&dir, &gpu_nodes, cpu_node, ptp_node).await));
    }
    let tmp = env_out.with_extension("tmp");
    std::fs::write(&tmp, env.join("\n") + "\n").expect("write env");
    std::fs::rename(&tmp, &env_out).expect("rename env");
    eprintln!("replay_upstreams: serving\n{}", env.join("\n"));
    std::future::pending::<()>().await;
}
