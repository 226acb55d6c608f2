//! Federated PromQL against the real test stack (tests/stack): three real
//! Prometheus servers with generated data, one refusing port, one hanging port.
//! Run through `make test`, which starts the stack and sets FLEETSCOPE_STACK_ENV.
//! Exact values come from the generator's probe series (tests/stack/README.md).

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use fleetscope::api::{self, ApiRequest};
use fleetscope::error::ErrorCode;
use fleetscope::federation::{self, Federation};
use fleetscope::frames::{FieldValues, Frame, NoticeSeverity};
use fleetscope::query::{self, QueryEnvelope, TimeRange};
use fleetscope::registry::Registry;

struct Stack {
    env: HashMap<String, String>,
    fed: Arc<Federation>,
}

impl Stack {
    fn end_ms(&self) -> i64 {
        self.env["STACK_DATA_END_MS"].parse().unwrap()
    }
}

use crate::support::stack_env::stack_env;

fn stack() -> Stack {
    let env = stack_env();
    let yaml = std::fs::read_to_string(format!("{}/fleetscope.yaml", env["FLEETSCOPE_STACK_DIR"])).unwrap();
    let fed = Arc::new(Federation::new(Registry::from_yaml(&yaml).unwrap()));
    Stack { env, fed }
}

async fn run(s: &Stack, json: &str, from_ms: i64, to_ms: i64) -> Result<Vec<Frame>, fleetscope::error::FleetError> {
    let env = QueryEnvelope { ref_id: "A".into(), time_range: TimeRange::new(from_ms, to_ms).unwrap(), interval_ms: 15_000, max_data_points: 1000 };
    let req = query::parse("", json.as_bytes(), env)?;
    federation::execute(&s.fed, &req).await
}

/// (labels-key, values) of every frame's Value field.
fn values(frames: &[Frame]) -> Vec<(String, Vec<f64>)> {
    let mut out: Vec<(String, Vec<f64>)> = frames
        .iter()
        .filter_map(|f| f.fields.get(1))
        .map(|fl| {
            let key = fl.labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",");
            let FieldValues::F64(v) = &fl.values else { panic!("Value is not f64") };
            (key, v.clone())
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn label<'a>(frame: &'a Frame, name: &str) -> &'a str {
    frame.fields[1].labels.get(name).map(String::as_str).unwrap_or("")
}

#[tokio::test(flavor = "multi_thread")]
async fn range_query_merges_every_cluster_with_cluster_labels() {
    let s = stack();
    let end = s.end_ms();
    let frames = run(&s, r#"{"expr":"fleetscope_probe_value","clusters":["east","west","edge"]}"#, end - 3_600_000, end).await.unwrap();
    assert_eq!(frames.len(), 5, "probe-0 ×3 + probe-1 ×2");
    for f in &frames {
        assert_eq!(f.meta.as_ref().unwrap().frame_type.as_deref(), Some("timeseries-multi"));
        assert_eq!(f.fields[0].len(), f.fields[1].len());
        assert!(f.fields[1].len() > 200, "an hour at 15 s");
        let want = match (label(f, "cluster_id"), label(f, "instance")) {
            ("east", "probe-0") => 1.0,
            ("west", "probe-0") => 2.0,
            ("edge", "probe-0") => 4.0,
            ("east", "probe-1") => 10.0,
            ("west", "probe-1") => 20.0,
            other => panic!("unexpected series {other:?}"),
        };
        let FieldValues::F64(v) = &f.fields[1].values else { panic!() };
        assert!(v.iter().all(|x| *x == want), "{:?} {want}", label(f, "cluster_id"));
        let name = label(f, "cluster");
        assert!(["prod-east-1", "prod-west-1", "edge-lab-1"].contains(&name), "{name}");
    }
    let custom = frames[0].meta.as_ref().unwrap().custom.as_ref().unwrap();
    assert_eq!(custom["clusters"].as_array().unwrap().len(), 3);
    assert!(frames[0].meta.as_ref().unwrap().notices.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn aggregation_modes_give_exact_values() {
    let s = stack();
    let end = s.end_ms();
    for (agg, p0, p1) in [("sum", 7.0, 30.0), ("avg", 7.0 / 3.0, 15.0), ("min", 1.0, 10.0), ("max", 4.0, 20.0)] {
        let json = format!(r#"{{"expr":"fleetscope_probe_value","aggregate":"{agg}","instant":true,"clusters":["east","west","edge"]}}"#);
        let frames = run(&s, &json, end - 60_000, end).await.unwrap();
        let v = values(&frames);
        assert_eq!(v.len(), 2, "{agg}: {v:?}");
        assert!(v[0].0.contains("instance=probe-0") && v[0].0.contains("clusters=east,edge,west"), "{v:?}");
        assert_eq!(v[0].1, vec![p0], "{agg} probe-0");
        assert!(v[1].0.contains("clusters=east,west"), "{v:?}");
        assert_eq!(v[1].1, vec![p1], "{agg} probe-1");
        assert_eq!(frames[0].meta.as_ref().unwrap().frame_type.as_deref(), Some("numeric-multi"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_and_special_values_per_cluster() {
    let s = stack();
    let end = s.end_ms();
    let frames =
        run(&s, r#"{"expr":"rate(fleetscope_probe_counter_total[1m])","instant":true,"clusters":["east","west","edge"]}"#, end - 60_000, end)
            .await
            .unwrap();
    let mut got: Vec<(String, f64)> = frames
        .iter()
        .map(|f| {
            let FieldValues::F64(v) = &f.fields[1].values else { panic!() };
            (label(f, "cluster_id").to_owned(), v[0])
        })
        .collect();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(got, vec![("east".into(), 1.0), ("edge".into(), 3.0), ("west".into(), 2.0)]);

    let frames = run(&s, r#"{"expr":"fleetscope_probe_special","instant":true,"clusters":["east","west","edge"]}"#, end - 60_000, end).await.unwrap();
    let v = values(&frames);
    let by_kind = |k: &str| v.iter().find(|(key, _)| key.contains(&format!("kind={k}"))).unwrap().1[0];
    assert!(by_kind("nan").is_nan());
    assert_eq!(by_kind("inf"), f64::INFINITY);
    assert_eq!(by_kind("neginf"), f64::NEG_INFINITY);
}

#[tokio::test(flavor = "multi_thread")]
async fn upstream_cluster_label_becomes_exported_cluster() {
    let s = stack();
    let end = s.end_ms();
    let frames = run(&s, r#"{"expr":"fleetscope_probe_cluster_label","instant":true}"#, end - 60_000, end).await.unwrap();
    let f = frames.iter().find(|f| !f.fields.is_empty()).unwrap();
    assert_eq!(label(f, "cluster"), "prod-east-1");
    assert_eq!(label(f, "exported_cluster"), "upstream-name");
}

#[tokio::test(flavor = "multi_thread")]
async fn dead_and_hung_clusters_give_partial_results_with_notices() {
    let s = stack();
    let end = s.end_ms();
    // No `clusters`: every enabled cluster, including dead (refuses) and hung (never answers).
    let frames = run(&s, r#"{"expr":"fleetscope_probe_value","instant":true}"#, end - 60_000, end).await.unwrap();
    assert_eq!(values(&frames).len(), 5, "healthy clusters' data intact");
    let meta = frames[0].meta.as_ref().unwrap();
    let texts: Vec<&str> = meta.notices.iter().map(|n| n.text.as_str()).collect();
    assert!(meta.notices.iter().all(|n| n.severity == NoticeSeverity::Warning));
    assert!(texts.iter().any(|t| t.starts_with("PARTIAL_RESULTS: 3 of 5")), "{texts:?}");
    assert!(texts.iter().any(|t| t.contains("CLUSTER_UNREACHABLE") && t.contains("dead-cluster")), "{texts:?}");
    assert!(texts.iter().any(|t| t.contains("QUERY_TIMEOUT") && t.contains("hung-cluster")), "{texts:?}");
    let statuses = meta.custom.as_ref().unwrap()["clusters"].as_array().unwrap().clone();
    let hung = statuses.iter().find(|s| s["cluster_id"] == "hung").unwrap();
    assert_eq!(hung["status"], "ERROR");
    assert_eq!(hung["error_code"], "QUERY_TIMEOUT");

    let err = run(&s, r#"{"expr":"up","instant":true,"clusters":["dead","hung"]}"#, end - 60_000, end).await.unwrap_err();
    assert!(err.message.contains("dead-cluster") && err.message.contains("hung-cluster"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_queries_fail_before_fan_out() {
    let s = stack();
    let end = s.end_ms();
    let err = run(&s, r#"{"expr":"sum(rate(x[5m])"}"#, end - 60_000, end).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidPromql);
    let err = run(&s, r#"{"expr":"up","clusters":["east","mars"]}"#, end - 60_000, end).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::ClusterNotFound);
    assert!(err.message.contains("mars"));
}

async fn call(s: &Stack, method: &str, path: &str, query: &str, body: &str) -> (u16, serde_json::Value) {
    let resp = api::handle(&s.fed, ApiRequest::new(method, path, query, Bytes::from(body.to_owned()))).await;
    (resp.status, serde_json::from_slice(&resp.body).unwrap_or(serde_json::Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn resource_api_answers_in_the_seed_shapes() {
    let s = stack();
    let (status, body) = call(&s, "GET", "clusters", "", "").await;
    assert_eq!(status, 200);
    assert_eq!(body["total"], 5);
    assert_eq!(body["clusters"][0]["id"], "east");

    let t = s.end_ms() as f64 / 1000.0;
    let (status, body) =
        call(&s, "POST", "api/v1/metrics/query", "", &format!(r#"{{"query":"fleetscope_probe_value","cluster_ids":["east","west"],"time":{t}}}"#))
            .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["clusters_queried"], 2);
    assert_eq!(body["clusters_succeeded"], 2);
    let east = &body["results"][0];
    assert_eq!(east["cluster_name"], "prod-east-1");
    assert_eq!(east["status"], "SUCCESS");
    assert_eq!(east["result_type"], "VECTOR");
    assert_eq!(east["data"].as_array().unwrap().len(), 2);

    let (status, body) = call(
        &s,
        "POST",
        "api/v1/metrics/query_range",
        "",
        &format!(r#"{{"query":"fleetscope_probe_value","cluster_ids":["east","dead"],"start_time":{},"end_time":{t},"step":"1m"}}"#, t - 600.0),
    )
    .await;
    assert_eq!(status, 206, "{body}");
    assert_eq!(body["status"], "PARTIAL_RESULTS");
    assert_eq!(body["results"][1]["error_code"], "CLUSTER_UNREACHABLE");
    assert_eq!(body["results"][0]["result_type"], "MATRIX");
    assert_eq!(body["results"][0]["data"][0]["values"].as_array().unwrap().len(), 11);

    let (status, body) = call(&s, "GET", "api/v1/metrics/label/instance/values", "cluster_ids=east,west,edge", "").await;
    assert_eq!(status, 200, "{body}");
    let union: Vec<&str> = body["data"].as_array().unwrap().iter().filter_map(|v| v.as_str()).collect();
    assert!(union.contains(&"probe-0") && union.contains(&"probe-1"), "{union:?}");

    let (status, body) = call(&s, "GET", "api/v1/metrics/label/..%2Fx/values", "", "").await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("INVALID_QUERY")), "encoded traversal is not a label name");
    let (status, _) = call(&s, "GET", "api/v1/metrics/label/../../clusters/values", "", "").await;
    assert_eq!(status, 404, "a traversal path matches no route");
    let (status, body) = call(&s, "GET", "api/v1/metrics/label/a.b/values", "", "").await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = call(&s, "POST", "api/v1/metrics/query", "", "{not json").await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "INVALID_QUERY");
    let (status, body) = call(&s, "POST", "api/v1/metrics/query", "", r#"{"query":"sum("}"#).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("INVALID_PROMQL")));
    let (status, _) = call(&s, "DELETE", "clusters", "", "").await;
    assert_eq!(status, 405);
    let (status, body) = call(&s, "POST", "api/v1/metrics/query", "", &"x".repeat(2 * 1024 * 1024)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (413, Some("PAYLOAD_TOO_LARGE")));
}

#[tokio::test(flavor = "multi_thread")]
async fn health_check_names_each_failing_cluster() {
    let s = stack();
    let report = fleetscope::federation::health::check(&s.fed).await;
    assert_eq!(report.status, fleetscope::federation::health::Overall::Partial);
    assert!(report.message.contains("3 of 5"), "{}", report.message);
    let versions: Vec<_> = report.clusters.iter().filter_map(|c| c.version.clone()).collect();
    assert_eq!(versions.len(), 3, "Prometheus build info from the healthy clusters");
}

/// The demo registry (every backend on every cluster: real Prometheus and
/// Alertmanagers, replayed Loki/Tempo/Kubernetes) is healthy backend by
/// backend; a dead Loki fails only its cluster and names itself; a cluster
/// without Prometheus is judged by what it has.
#[tokio::test(flavor = "multi_thread")]
async fn health_check_probes_every_backend_of_a_cluster() {
    use fleetscope::federation::health::{self, Overall};
    use fleetscope::federation::status::Status;
    let s = stack();
    let demo: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{}/settings-demo.json", s.env["FLEETSCOPE_STACK_DIR"])).unwrap()).unwrap();
    let registry =
        |doc: &serde_json::Value| Federation::new(Registry::from_grafana(doc["jsonData"].to_string().as_bytes(), &HashMap::new()).unwrap());

    let report = health::check(&registry(&demo)).await;
    assert_eq!(report.status, Overall::Ok, "{}", report.message);
    for c in &report.clusters {
        let backends: Vec<&str> = c.checks.iter().map(|b| b.backend.as_str()).collect();
        // The demo gives clusters a ClickHouse store too; it is checked like every backend.
        let has_store = demo["jsonData"]["clusters"]
            .as_array()
            .and_then(|cs| cs.iter().find(|x| x["id"] == c.cluster_id.as_str()))
            .is_some_and(|x| x.get("clickhouse").is_some());
        let mut want = vec!["prometheus", "loki", "tempo", "alertmanager", "kubernetes"];
        if has_store {
            want.push("clickhouse");
        }
        assert_eq!(backends.len(), want.len(), "{}: {backends:?}", c.cluster_id);
        for b in want {
            assert!(backends.contains(&b), "{}: {b} not checked: {backends:?}", c.cluster_id);
        }
        assert!(c.checks.iter().all(|b| b.status == Status::Success), "{:?}", c.checks);
    }

    let mut broken = demo.clone();
    broken["jsonData"]["clusters"][0]["loki"]["url"] = serde_json::json!(s.env["DEAD_URL"]);
    broken["jsonData"]["clusters"].as_array_mut().unwrap().push(serde_json::json!(
        {"id": "logs", "name": "logs-only", "loki": {"url": s.env["LOKI_WEST_URL"]}}
    ));
    let report = health::check(&registry(&broken)).await;
    assert_eq!(report.status, Overall::Partial, "{}", report.message);
    assert!(report.message.contains("3 of 4") && report.message.contains("prod-east-1 (loki: CLUSTER_UNREACHABLE)"), "{}", report.message);
    let east = &report.clusters[0];
    assert_eq!((east.status, east.error_code), (Status::Error, Some(ErrorCode::ClusterUnreachable)));
    assert!(east.error.as_deref().is_some_and(|e| e.contains("(loki)")), "{:?}", east.error);
    let failed: Vec<&str> = east.checks.iter().filter(|b| b.status != Status::Success).map(|b| b.backend.as_str()).collect();
    assert_eq!(failed, ["loki"], "only east's Loki is down");
    assert!(east.version.is_some(), "east's Prometheus still answers its build info");
    let logs = report.clusters.iter().find(|c| c.cluster_id == "logs").unwrap();
    assert_eq!(logs.status, Status::Success, "{:?}", logs.error);
    assert_eq!(logs.checks.iter().map(|b| b.backend.as_str()).collect::<Vec<_>>(), ["loki"]);
    assert_eq!(logs.version, None);
}

/// A TCP relay in front of `upstream` (`host:port`): what a cross-region link
/// sees. Counts the bytes coming back and keeps what each connection sent.
struct Relay {
    url: String,
    wire_bytes: Arc<std::sync::atomic::AtomicUsize>,
    requests: Arc<std::sync::Mutex<Vec<String>>>,
}

async fn relay(upstream: String) -> Relay {
    use std::sync::atomic::Ordering;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let wire_bytes = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let requests = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (wire, reqs) = (wire_bytes.clone(), requests.clone());
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let server = tokio::net::TcpStream::connect(&upstream).await.unwrap();
            let (mut cr, mut cw) = client.into_split();
            let (mut sr, mut sw) = server.into_split();
            let reqs = reqs.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                let slot = {
                    let mut all = reqs.lock().unwrap();
                    all.push(String::new());
                    all.len() - 1
                };
                while let Ok(n) = cr.read(&mut buf).await {
                    if n == 0 || sw.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                    reqs.lock().unwrap()[slot].push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            });
            let wire = wire.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                while let Ok(n) = sr.read(&mut buf).await {
                    if n == 0 || cw.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                    wire.fetch_add(n, Ordering::SeqCst);
                }
            });
        }
    });
    Relay { url, wire_bytes, requests }
}

/// Issue 21 item 4: the client asks for gzip and a real Prometheus compresses;
/// the frames are the same values, the link carries a fraction of the JSON.
#[tokio::test(flavor = "multi_thread")]
async fn range_answers_travel_gzip_compressed() {
    let env = stack_env();
    let prom = env["PROM_EAST_URL"].trim_start_matches("http://").to_owned();
    let r = relay(prom.clone()).await;
    let yaml = format!("jsonData:\n  cache: {{enabled: false}}\n  clusters:\n    - {{id: east, name: east, prometheus: {{url: \"{}\"}}}}\n", r.url);
    let s = Stack { fed: Arc::new(Federation::new(Registry::from_yaml(&yaml).unwrap())), env };
    let end = s.end_ms();
    let frames = run(&s, r#"{"expr":"fleetscope_probe_value"}"#, end - 6 * 3_600_000, end).await.unwrap();
    let v = values(&frames);
    assert_eq!(v.len(), 2, "{v:?}");
    assert!(v.iter().all(|(_, points)| points.len() > 500), "six hours of points: {:?}", v.iter().map(|(_, p)| p.len()).collect::<Vec<_>>());
    assert!(v[0].1.iter().all(|x| *x == 1.0) && v[1].1.iter().all(|x| *x == 10.0), "east's probe values survive the inflate");

    // The same request, asking for no compression: what the link carried before.
    let sent = r.requests.lock().unwrap().clone();
    let request = sent.iter().find(|h| h.contains("/api/v1/query_range")).expect("the range request went through the relay");
    let (head, rest) = request.split_once("\r\n\r\n").expect("a whole request");
    let length: usize = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
        .expect("a form body with its length");
    let form = &rest[..length];
    assert!(head.to_ascii_lowercase().contains("accept-encoding: gzip"), "the client asks for gzip: {head}");
    assert!(head.starts_with("POST /api/v1/query_range"), "{head}");
    let identity = reqwest::Client::builder().no_gzip().build().unwrap();
    let json = identity
        .post(format!("http://{prom}/api/v1/query_range"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_owned())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(json.starts_with(br#"{"status":"success""#), "{:?}", String::from_utf8_lossy(&json[..json.len().min(200)]));
    let wire = r.wire_bytes.load(std::sync::atomic::Ordering::SeqCst);
    eprintln!(
        "wire bytes | prometheus query_range 6h × 2 series | json {} | wire {} (headers included) | ratio {:.3}",
        json.len(),
        wire,
        wire as f64 / json.len() as f64
    );
    assert!(wire * 4 < json.len(), "gzip on the wire: {wire} bytes for {} bytes of JSON", json.len());
}
