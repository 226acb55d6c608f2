//! Federated TraceQL against a Tempo-API replay server (axum, 127.0.0.1)
//! serving real recorded responses (tests/fixtures/tempo, from a real Tempo
//! 3.1-dev with one tenant per cluster) per `X-Scope-OrgID`: three healthy
//! clusters, one answering 500, one that never answers (timeout 1 s), one
//! answering garbage JSON, and one cluster with no Tempo at all.
//!
//! The split trace: the recorded trace 6c48c5c2… (llm-gateway → search-assistant
//! → model-server, OOM error) is served in parts: tenant prod-east-1 answers v2
//! with the llm-gateway and search-assistant resources; tenant prod-west-1 has
//! no v2 endpoint (404, like Tempo < 2.5) and answers v1 with the
//! search-assistant and model-server resources (so search-assistant's spans are
//! reported twice and must be deduplicated); edge-1 answers v2's real "not
//! found" (`{"trace":{}}`). The parts are cut from the recorded bodies
//! (resources removed, nothing else changed).

use crate::support as harness;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use fleetscope::api::{self, ApiRequest};
use fleetscope::error::ErrorCode;
use fleetscope::federation::{self, Federation};
use fleetscope::frames::{FieldValues, Frame, json as frame_json, tempo};
use fleetscope::query::{self, QueryEnvelope, TimeRange};
use fleetscope::registry::Registry;
use serde_json::Value;

const OOM: &str = "6c48c5c2029f7c3ddb565ad52f1ac6bd";
const UNKNOWN: &str = "0af7651916cd43dd8448eb211c80319c";

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/fixtures/tempo/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// The recorded OOM trace with only the resources of `services`, under `key`
/// (`batches` for v1, `trace.resourceSpans` for v2).
fn part(v2: bool, services: &[&str]) -> String {
    let mut doc: Value = serde_json::from_str(&fixture(if v2 { "trace_by_id_v2_oom_error.json" } else { "trace_by_id_v1_oom_error.json" })).unwrap();
    let list = if v2 { &mut doc["trace"]["resourceSpans"] } else { &mut doc["batches"] };
    let keep: Vec<Value> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["resource"]["attributes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["key"] == "service.name" && services.contains(&a["value"]["stringValue"].as_str().unwrap()))
        })
        .cloned()
        .collect();
    assert_eq!(keep.len(), services.len());
    *list = Value::Array(keep);
    doc.to_string()
}

#[derive(Default)]
struct Counts {
    requests: AtomicUsize,
}

fn tenant(h: &HeaderMap) -> String {
    h.get("X-Scope-OrgID").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned()
}

/// Failure modes shared by every route.
async fn failure(t: &str) -> Option<Response> {
    match t {
        "broken" => Some((StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()),
        "garbage" => Some((StatusCode::OK, r#"{"traces":[{"traceID":"#).into_response()),
        "hung" => std::future::pending().await,
        _ => None,
    }
}

fn json(body: String) -> Response {
    (StatusCode::OK, [("content-type", "application/json")], body).into_response()
}

async fn search(State(c): State<Arc<Counts>>, h: HeaderMap, Query(p): Query<std::collections::HashMap<String, String>>) -> Response {
    c.requests.fetch_add(1, Ordering::SeqCst);
    let t = tenant(&h);
    if let Some(r) = failure(&t).await {
        return r;
    }
    assert!(p.contains_key("q") && p.contains_key("start") && p.contains_key("end") && p.contains_key("limit"), "{p:?}");
    match t.as_str() {
        "prod-east-1" => json(fixture("search_traceql_status_error.json")),
        "prod-west-1" => json(fixture("search_traceql_gateway_duration_gt_2s.json")),
        "edge-1" => json(fixture("search_recent_no_query.json")),
        _ => (StatusCode::UNAUTHORIZED, "no org id").into_response(),
    }
}

async fn trace_v2(State(c): State<Arc<Counts>>, h: HeaderMap, Path(id): Path<String>) -> Response {
    c.requests.fetch_add(1, Ordering::SeqCst);
    let t = tenant(&h);
    if let Some(r) = failure(&t).await {
        return r;
    }
    match (t.as_str(), id.as_str()) {
        ("prod-west-1", _) => (StatusCode::NOT_FOUND, "404 page not found\n").into_response(),
        ("prod-east-1", OOM) => json(part(true, &["llm-gateway", "search-assistant"])),
        _ => json(r#"{"trace":{}}"#.into()),
    }
}

async fn trace_v1(State(c): State<Arc<Counts>>, h: HeaderMap, Path(id): Path<String>) -> Response {
    c.requests.fetch_add(1, Ordering::SeqCst);
    match (tenant(&h).as_str(), id.as_str()) {
        ("prod-west-1", OOM) => json(part(false, &["search-assistant", "model-server"])),
        _ => (StatusCode::NOT_FOUND, fixture("trace_by_id_v1_404_unknown.txt")).into_response(),
    }
}

async fn tags(h: HeaderMap) -> Response {
    let t = tenant(&h);
    if let Some(r) = failure(&t).await {
        return r;
    }
    json(fixture(if t == "prod-east-1" { "search_tags_v2.json" } else { "search_tags_v2_scope_resource.json" }))
}

async fn tag_values(h: HeaderMap, Path(tag): Path<String>) -> Response {
    let t = tenant(&h);
    if let Some(r) = failure(&t).await {
        return r;
    }
    match tag.as_str() {
        "resource.service.name" => json(fixture("search_tag_values_v2_resource_service_name.json")),
        "status" => json(fixture("search_tag_values_v2_intrinsic_status.json")),
        _ => json(r#"{"tagValues":[]}"#.into()),
    }
}

async fn replay() -> (String, Arc<Counts>) {
    let counts = Arc::new(Counts::default());
    let app = axum::Router::new()
        .route("/api/search", axum::routing::get(search))
        .route("/api/v2/traces/:id", axum::routing::get(trace_v2))
        .route("/api/traces/:id", axum::routing::get(trace_v1))
        .route("/api/v2/search/tags", axum::routing::get(tags))
        .route("/api/v2/search/tag/:tag/values", axum::routing::get(tag_values))
        .with_state(counts.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), counts)
}

async fn fed() -> (Arc<Federation>, Arc<Counts>) {
    let (url, counts) = replay().await;
    let tempo = |tenant: &str| format!(r#"{{"url":"{url}","tenant":"{tenant}"}}"#);
    let json = format!(
        r#"{{"query":{{"timeoutSeconds":1,"retryAttempts":1}},
        "tracesToLogs":{{"tags":[{{"key":"k8s.pod.name","value":"pod"}}],"spanStartTimeShift":"-1m","spanEndTimeShift":"1m"}},
        "clusters":[
        {{"id":"east","name":"prod-east-1","tempo":{e}}},
        {{"id":"west","name":"prod-west-1","tempo":{w}}},
        {{"id":"edge","name":"edge-1","tempo":{g}}},
        {{"id":"broken","name":"broken-1","tempo":{b}}},
        {{"id":"hung","name":"hung-1","tempo":{h}}},
        {{"id":"garbage","name":"garbage-1","tempo":{x}}},
        {{"id":"notempo","name":"metrics-only","prometheus":{{"url":"{url}"}}}}]}}"#,
        e = tempo("prod-east-1"),
        w = tempo("prod-west-1"),
        g = tempo("edge-1"),
        b = tempo("broken"),
        h = tempo("hung"),
        x = tempo("garbage"),
    );
    (Arc::new(Federation::new(Registry::from_grafana(json.as_bytes(), &Default::default()).unwrap())), counts)
}

async fn run(fed: &Federation, json: &str) -> Result<Vec<Frame>, fleetscope::error::FleetError> {
    let env = QueryEnvelope {
        ref_id: "A".into(),
        time_range: TimeRange::new(1_795_259_809_000, 1_795_260_622_000).unwrap(),
        interval_ms: 15_000,
        max_data_points: 1000,
    };
    let req = query::parse("", json.as_bytes(), env)?;
    let frames = federation::execute(fed, &req).await?;
    harness::assert_frame_invariants(&frames);
    Ok(frames)
}

fn field<'a>(f: &'a Frame, name: &str) -> &'a FieldValues {
    &f.fields.iter().find(|x| x.name == name).unwrap_or_else(|| panic!("no field {name} in {}", f.name)).values
}

fn strs(v: &FieldValues) -> Vec<&str> {
    match v {
        FieldValues::Str(s) => s.iter().map(String::as_str).collect(),
        other => panic!("not strings: {other:?}"),
    }
}

fn custom_status(f: &Frame) -> Vec<(String, String, Option<String>)> {
    let custom = f.meta.as_ref().unwrap().custom.as_ref().unwrap();
    custom["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (c["cluster_id"].as_str().unwrap().to_owned(), c["status"].as_str().unwrap().to_owned(), c["error_code"].as_str().map(str::to_owned))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn search_merges_sorts_and_limits_across_clusters() {
    let (fed, _) = fed().await;
    let frames = run(&fed, r#"{"queryType":"traces","query":"{ status = error }","limit":5,"datasource":{"uid":"fs-uid"}}"#).await.unwrap();
    assert_eq!(frames.len(), 1);
    let f = &frames[0];
    // The newest 5 of the 26 recorded traces (11 + 10 + 5), newest first; the
    // second one was recorded with 31 hex digits (leading zero dropped).
    assert_eq!(
        strs(field(f, "traceID")),
        vec![
            "86b631dc3ead38ffd4e249c3a7e2ac17",
            "0c7ac8a1dd730a6026f94ea7c36ceea7",
            "7d52e20449fa844dda5fe04075cf28aa",
            "7cd4369909f59b8cbaa1ac1ad51e4c79",
            "81e4a3576b1c2586260fad963eeb9ebc"
        ]
    );
    assert_eq!(strs(field(f, "cluster")), vec!["prod-east-1", "prod-east-1", "prod-west-1", "prod-east-1", "edge-1"]);
    let FieldValues::TimeNs(t) = field(f, "startTime") else { panic!() };
    assert!(t.windows(2).all(|w| w[0] >= w[1]), "{t:?}");
    assert_eq!(t[0], 1_795_260_507_916_214_110);
    let FieldValues::NullableI64(spans) = field(f, "spanCount") else { panic!() };
    assert_eq!(spans[0], Some(10));
    // Trace link to this datasource's trace view.
    let link = &f.fields[0].config.as_ref().unwrap().links[0];
    let internal = link.internal.as_ref().unwrap();
    assert_eq!(internal.datasource_uid, "fs-uid");
    assert_eq!(internal.query["tracesView"], "trace");
    assert_eq!(internal.query["traceId"], "${__value.raw}");
    // Per-cluster status: 3 healthy, 500, timeout, garbage, no Tempo.
    let st = custom_status(f);
    let code = |id: &str| st.iter().find(|s| s.0 == id).unwrap().2.clone();
    assert_eq!(code("east"), None);
    assert_eq!(code("broken").as_deref(), Some("UPSTREAM_ERROR"));
    assert_eq!(code("hung").as_deref(), Some("QUERY_TIMEOUT"));
    assert_eq!(code("garbage").as_deref(), Some("UPSTREAM_ERROR"));
    assert_eq!(code("notempo").as_deref(), Some("TEMPO_NOT_AVAILABLE"));
    let notices = &f.meta.as_ref().unwrap().notices;
    assert!(notices[0].text.starts_with("PARTIAL_RESULTS: 3 of 7 clusters answered"), "{:?}", notices[0]);
    assert_eq!(f.meta.as_ref().unwrap().executed_query_string.as_deref(), Some("TraceQL: { status = error }\nLimit: 5"));
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_traceql_fails_before_fan_out() {
    let (fed, counts) = fed().await;
    let e = run(&fed, r#"{"queryType":"traces","query":"{ resource.service.name = \"llm-gateway\" && status = }"}"#).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidTraceql);
    assert!(e.message.contains("line 1, col 53"), "{e}");
    assert_eq!(counts.requests.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn criteria_search_and_cluster_without_tempo() {
    let (fed, _) = fed().await;
    let e = run(&fed, r#"{"queryType":"traces","serviceName":"llm-gateway","clusters":["notempo"]}"#).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::TempoNotAvailable);
    let frames = run(&fed, r#"{"queryType":"traces","serviceName":"llm-gateway","minDuration":"2s","clusters":["west"]}"#).await.unwrap();
    assert_eq!(frames[0].fields[0].len(), 10);
    assert!(
        frames[0]
            .meta
            .as_ref()
            .unwrap()
            .executed_query_string
            .as_deref()
            .unwrap()
            .contains(r#"{ resource.service.name = "llm-gateway" && duration >= 2000ms }"#)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn split_trace_is_merged_across_clusters() {
    let (fed, _) = fed().await;
    let frames =
        run(&fed, &format!(r#"{{"queryType":"traces","tracesView":"trace","traceId":"{OOM}","datasource":{{"uid":"fs-uid"}}}}"#)).await.unwrap();
    assert_eq!(frames.len(), 1);
    let f = &frames[0];
    let meta = f.meta.as_ref().unwrap();
    assert_eq!(meta.preferred_visualisation_type.as_deref(), Some("trace"));
    // 3 (gateway) + 3 (search-assistant, sent by both east and west) + 4 (model-server).
    let ids = strs(field(f, "spanID"));
    assert_eq!(ids.len(), 10);
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 10);
    // Same spans as the recorded whole trace.
    let whole = tempo::parse_trace(fixture("trace_by_id_v1_oom_error.json").as_bytes()).unwrap();
    let mut want: Vec<&str> = whole.iter().map(|s| s.span_id.as_str()).collect();
    want.sort();
    assert_eq!(unique, want);
    // Each span's process carries the cluster it came from.
    let FieldValues::Json(st) = field(f, "serviceTags") else { panic!() };
    let services = strs(field(f, "serviceName"));
    for (svc, tags) in services.iter().zip(st) {
        let cluster = tags.as_array().unwrap().iter().find(|t| t["key"] == "cluster").unwrap()["value"].as_str().unwrap();
        let want = if *svc == "model-server" { "prod-west-1" } else { "prod-east-1" };
        assert_eq!(cluster, want, "{svc}");
    }
    // Sorted by start; startTime/duration are ms floats.
    let FieldValues::F64(start) = field(f, "startTime") else { panic!() };
    assert!(start.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(start[0], 1_795_259_921_296_876_795f64 / 1e6);
    let notices: Vec<&str> = meta.notices.iter().map(|n| n.text.as_str()).collect();
    assert!(notices.contains(&format!("trace {OOM} spans 2 clusters: prod-east-1 (6 spans), prod-west-1 (7 spans)").as_str()), "{notices:?}");
    assert_eq!(meta.custom.as_ref().unwrap()["foundIn"][1]["cluster"], "prod-west-1");
    // Span → logs link from jsonData.tracesToLogs.
    let links = &f.fields[1].config.as_ref().unwrap().links;
    assert_eq!(links[0].internal.as_ref().unwrap().query["expr"], r#"{pod="${__span.tags["k8s.pod.name"]}"} |= "${__span.traceId}""#);
}

#[tokio::test(flavor = "multi_thread")]
async fn trace_missing_everywhere() {
    let (fed, _) = fed().await;
    let e = run(&fed, &format!(r#"{{"queryType":"traces","tracesView":"trace","traceId":"{UNKNOWN}","clusters":["east","west","edge"]}}"#))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound);
    assert_eq!(e.message, format!("trace {UNKNOWN} not found in 3 clusters"));
    let e = run(&fed, &format!(r#"{{"queryType":"traces","tracesView":"trace","traceId":"{UNKNOWN}"}}"#)).await.unwrap_err();
    assert_eq!(e.message, format!("trace {UNKNOWN} not found in 3 clusters (4 could not be asked: broken-1, hung-1, garbage-1, metrics-only)"));
}

#[tokio::test(flavor = "multi_thread")]
async fn analysis_of_the_split_trace() {
    let (fed, _) = fed().await;
    let frames =
        run(&fed, &format!(r#"{{"queryType":"traces","tracesView":"analysis","traceId":"{OOM}","clusters":["east","west","edge"]}}"#)).await.unwrap();
    let by = |n: &str| frames.iter().find(|f| f.name == n).unwrap_or_else(|| panic!("no frame {n}"));
    let summary = by("Summary");
    assert_eq!(field(summary, "crossClusterHops"), &FieldValues::I64(vec![1]));
    assert_eq!(field(summary, "errorSpans"), &FieldValues::I64(vec![6]));
    assert_eq!(strs(field(summary, "servicesCrossed")), vec!["llm-gateway → search-assistant → model-server"]);
    // Self time per service, by hand from the recorded timestamps (see
    // src/frames/trace_analysis.rs tests): 1530.408953, 30, 12 ms.
    let svc = by("Self time per service");
    assert_eq!(strs(field(svc, "serviceName")), vec!["model-server", "search-assistant", "llm-gateway"]);
    let FieldValues::F64(selft) = field(svc, "selfTime") else { panic!() };
    assert!((selft[0] - 1530.408953).abs() < 1e-6 && (selft[1] - 30.0).abs() < 1e-9 && (selft[2] - 12.0).abs() < 1e-9, "{selft:?}");
    assert_eq!(strs(field(svc, "clusters")), vec!["prod-west-1", "prod-east-1", "prod-east-1"]);
    let hops = by("Cross-cluster hops");
    assert_eq!(strs(field(hops, "fromService")), vec!["search-assistant"]);
    assert_eq!(strs(field(hops, "toCluster")), vec!["prod-west-1"]);
    let slow = by("Slowest spans");
    assert_eq!(strs(field(slow, "operationName"))[0], "POST /v1/chat/completions");
    let edges = by("edges");
    assert_eq!(strs(field(edges, "source")), vec!["llm-gateway", "search-assistant"]);
    assert_eq!(frames[0].meta.as_ref().unwrap().custom.as_ref().unwrap()["clusters"].as_array().unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn service_graph_from_search_window() {
    let (fed, _) = fed().await;
    let frames =
        run(&fed, r#"{"queryType":"traces","tracesView":"serviceGraph","query":"{ status = error }","limit":30,"clusters":["east","west"]}"#)
            .await
            .unwrap();
    assert_eq!(frames.len(), 2);
    let (nodes, edges) = (&frames[0], &frames[1]);
    assert_eq!(nodes.meta.as_ref().unwrap().preferred_visualisation_type.as_deref(), Some("nodeGraph"));
    assert_eq!(strs(field(nodes, "id")), vec!["llm-gateway", "model-server", "search-assistant"]);
    assert_eq!(strs(field(nodes, "subtitle")), vec!["prod-east-1", "prod-west-1", "prod-east-1"]);
    assert_eq!(field(edges, "mainstat"), &FieldValues::F64(vec![1.0, 1.0]));
    assert_eq!(field(edges, "detail__errors"), &FieldValues::I64(vec![1, 1]));
    // p95 of one call is that call's duration: search-assistant → model-server server span.
    let FieldValues::F64(p95) = field(edges, "secondarystat") else { panic!() };
    assert!((p95[1] - 1530.408953).abs() < 1e-6, "{p95:?}");
    // Only the OOM trace exists as a full trace in the replay; the other 20 are not fetched.
    let notices: Vec<&str> = nodes.meta.as_ref().unwrap().notices.iter().map(|n| n.text.as_str()).collect();
    assert!(notices.contains(&"20 of 21 traces found by the search could not be fetched"), "{notices:?}");
}

async fn api(fed: &Federation, method: &str, path: &str, query: &str, body: &str) -> (u16, Value) {
    let r = api::handle(fed, ApiRequest::new(method, path, query, bytes::Bytes::from(body.to_owned()))).await;
    (r.status, serde_json::from_slice(&r.body).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn resource_api() {
    let (fed, _) = fed().await;
    let (status, v) = api(&fed, "POST", "api/v1/traces/search", "", r#"{"cluster_ids":["east","west"],"service_name":"llm-gateway","min_duration_ms":1000,"start_time":"1795259809","end_time":"1795260622","limit":3}"#).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["total"], 3);
    assert_eq!(v["traces"][0]["trace_id"], "86b631dc3ead38ffd4e249c3a7e2ac17");
    assert_eq!(v["traces"][0]["cluster_name"], "prod-east-1");
    assert_eq!(v["traces"][0]["has_errors"], true);
    assert_eq!(v["clusters_queried"], 2);
    assert_eq!(v["clusters_succeeded"], 2);

    let (status, v) = api(&fed, "GET", &format!("api/v1/traces/{OOM}"), "cluster_id=east&cluster_id=west", "").await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["span_count"], 10);
    assert_eq!(v["cluster_names"], serde_json::json!(["prod-east-1", "prod-west-1"]));
    assert_eq!(v["clusters"].as_array().map(Vec::len), Some(2), "per-cluster statuses: {v}");

    let (status, v) = api(&fed, "GET", &format!("api/v1/traces/{OOM}/spans"), "cluster_id=east&cluster_id=west", "").await;
    assert_eq!(status, 200, "{v}");
    let spans = v["spans"].as_array().unwrap();
    assert_eq!(spans.len(), 10);
    let decode = spans.iter().find(|s| s["operation"] == "decode").unwrap();
    assert_eq!(decode["cluster_name"], "prod-west-1");
    assert_eq!(decode["logs_query"]["expr"], format!(r#"{{pod="vllm-llama70b-0"}} |= "{OOM}""#));

    let (status, v) = api(&fed, "GET", &format!("api/v1/traces/{UNKNOWN}"), "cluster_id=east", "").await;
    assert_eq!(status, 404, "{v}");

    let (status, v) = api(&fed, "GET", "api/v1/traces/services", "cluster_id=east&cluster_id=west", "").await;
    assert_eq!(status, 200, "{v}");
    assert!(v["services"].as_array().unwrap().iter().any(|s| s == "model-server"), "{v}");

    let (status, v) = api(&fed, "GET", "api/v1/traces/tags", "cluster_id=east&cluster_id=west", "").await;
    assert_eq!(status, 200, "{v}");
    let resource = v["scopes"].as_array().unwrap().iter().find(|s| s["name"] == "resource").unwrap();
    assert!(resource["tags"].as_array().unwrap().iter().any(|t| t == "k8s.pod.name"), "{v}");

    let (status, v) = api(&fed, "GET", "api/v1/traces/tag/status/values", "cluster_id=east", "").await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["tagValues"].as_array().unwrap().len(), 3, "{v}");

    // The merged envelope (api/envelope.rs), as alerts and GPU answer it: a failed
    // cluster makes it 206 PARTIAL_RESULTS with that cluster's status under `clusters`;
    // all failed is the common error, still with every cluster's status.
    let (status, v) = api(&fed, "GET", "api/v1/traces/services", "cluster_id=east&cluster_id=broken", "").await;
    assert_eq!((status, v["status"].as_str()), (206, Some("PARTIAL_RESULTS")), "{v}");
    assert_eq!((v["clusters_queried"].as_u64(), v["clusters_succeeded"].as_u64()), (Some(2), Some(1)), "{v}");
    let broken = v["clusters"].as_array().unwrap().iter().find(|c| c["cluster_id"] == "broken").unwrap();
    assert_eq!(broken["status"], "ERROR", "{v}");
    assert!(v["services"].as_array().unwrap().iter().any(|s| s == "model-server"), "east still answers: {v}");
    let (status, v) = api(&fed, "POST", "api/v1/traces/search", "", r#"{"cluster_ids":["broken","garbage"],"service_name":"llm-gateway"}"#).await;
    assert_eq!((status, v["error"]["code"].as_str()), (502, Some("UPSTREAM_ERROR")), "{v}");
    assert_eq!(v["clusters"].as_array().map(Vec::len), Some(2), "{v}");

    let (status, _) = api(&fed, "GET", "api/v1/traces/tag/bad%20tag/values", "", "").await;
    assert_eq!(status, 400);
    let (status, v) = api(&fed, "POST", "api/v1/traces/search", "", r#"{"query":"{ status = }"}"#).await;
    assert_eq!((status, v["error"]["code"].as_str()), (400, Some("INVALID_TRACEQL")));
}

/// Golden frame JSON per fixture (tests/golden/tempo); `UPDATE_GOLDEN=1` rewrites.
#[test]
fn golden_frames() {
    let dir = format!("{}/tests/golden/tempo", env!("CARGO_MANIFEST_DIR"));
    let update = std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1");
    let mut cases: Vec<(String, Frame)> = Vec::new();
    for f in [
        "trace_by_id_v1_oom_error.json",
        "trace_by_id_v2_oom_error.json",
        "trace_by_id_v2_single_span.tempo-docs.json",
        "trace_by_id_otlp_3_resources.tempo-servicegraphs-testdata.json",
    ] {
        let spans = tempo::merge_spans(vec![("east".into(), "prod-east-1".into(), tempo::parse_trace(fixture(f).as_bytes()).unwrap())]);
        cases.push((f.into(), tempo::trace_frame(&spans, "A", Vec::new(), tempo::trace_meta())));
    }
    for f in [
        "search_traceql_status_error.json",
        "search_traceql_gateway_duration_gt_2s.json",
        "search_traceql_select_decode_tokens.json",
        "search_traceql_structural_gateway_to_model_error.json",
        "search_recent_no_query.json",
        "search_legacy_tags_min_duration.json",
        "search_traceql_spanset_and_spansets.tempo-docs.json",
    ] {
        let hits = tempo::merge_search(vec![("east".into(), "prod-east-1".into(), tempo::parse_search(fixture(f).as_bytes()).unwrap())], 1000);
        let link = federation::traces::trace_link(Some("fs-uid"));
        cases.push((f.into(), tempo::search_frame(&hits, "A", link, Default::default())));
    }
    let mut mismatched = Vec::new();
    for (name, frame) in cases {
        let got = serde_json::to_string_pretty(&frame_json::to_json(&frame)).unwrap() + "\n";
        let path = format!("{dir}/{}", name.replace(".json", ".frame.json"));
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e} (run with UPDATE_GOLDEN=1 to create)"));
        if want != got {
            mismatched.push(path);
        }
    }
    assert!(mismatched.is_empty(), "golden frames differ (UPDATE_GOLDEN=1 rewrites): {mismatched:?}");
}
