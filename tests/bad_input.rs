//! Bad input: every way a user, a dashboard or a hostile caller can hand the
//! plugin nonsense — through the query model (`query::parse`), the datasource
//! settings (`Registry`) and the resource API (`api::handle`). Each must be a
//! clear 4xx-style error that names the problem, never a panic, a 5xx or a
//! request to an upstream.
//!
//! The registry is the real test stack's (FLEETSCOPE_STACK_ENV, set by
//! `make test`): a bad input that slipped through would reach a real
//! Prometheus and come back 200, which these tests would catch.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use fleetscope::api::{self, ApiRequest, MAX_BODY_BYTES};
use fleetscope::error::{ErrorCode, FleetError};
use fleetscope::federation::{self, Federation};
use fleetscope::query::{self, QueryEnvelope, TimeRange};
use fleetscope::registry::Registry;
use serde_json::Value;

use crate::support::stack_env::stack_env;

fn fed() -> Arc<Federation> {
    let env = stack_env();
    let yaml = std::fs::read_to_string(format!("{}/fleetscope.yaml", env["FLEETSCOPE_STACK_DIR"])).unwrap();
    Arc::new(Federation::new(Registry::from_yaml(&yaml).unwrap()))
}

fn envelope() -> QueryEnvelope {
    let end = 1_795_264_860_000;
    QueryEnvelope { ref_id: "A".into(), time_range: TimeRange::new(end - 3_600_000, end).unwrap(), interval_ms: 15_000, max_data_points: 1000 }
}

/// Parse a query; it must fail with `code` and a message containing every word of `names`.
fn rejects(json: &str, code: ErrorCode, names: &[&str]) -> FleetError {
    let err: FleetError = match query::parse("", json.as_bytes(), envelope()) {
        Ok(q) => panic!("accepted {}: {q:?}", preview(json)),
        Err(e) => e.into(),
    };
    assert_eq!(err.code, code, "{}: {err}", preview(json));
    assert!(err.code.http_status() >= 400 && err.code.http_status() < 500, "{err}");
    for n in names {
        assert!(err.message.to_lowercase().contains(&n.to_lowercase()), "{}: message should name {n:?}: {err}", preview(json));
    }
    err
}

fn preview(s: &str) -> String {
    if s.len() > 120 { format!("{}… ({} bytes)", &s[..s.char_indices().nth(100).map_or(s.len(), |(i, _)| i)], s.len()) } else { s.to_owned() }
}

#[test]
fn malformed_query_json() {
    rejects(r#"{"expr":"up""#, ErrorCode::InvalidQuery, &["malformed query json"]);
    rejects(r#"{"expr":"up",}"#, ErrorCode::InvalidQuery, &["malformed query json"]);
    rejects("[1,2,3]", ErrorCode::InvalidQuery, &["malformed query json"]);
    rejects(r#""just a string""#, ErrorCode::InvalidQuery, &["malformed query json"]);
    rejects("null", ErrorCode::InvalidQuery, &["malformed query json"]);
    rejects("\u{feff}{\"expr\":\"up\"}", ErrorCode::InvalidQuery, &["malformed query json"]);
    rejects(
        &format!(r#"{{"expr":"up","clusters":{}"a"{}}}"#, "[".repeat(10_000), "]".repeat(10_000)),
        ErrorCode::InvalidQuery,
        &["malformed query json"],
    );
    rejects(r#"{"expr":42}"#, ErrorCode::InvalidQuery, &["invalid type"]);
    rejects(r#"{"expr":"up","instant":"yes"}"#, ErrorCode::InvalidQuery, &["invalid type"]);
    rejects(r#"{"expr":"up","clusters":{"a":1}}"#, ErrorCode::InvalidQuery, &["malformed query json"]);
    rejects(r#"{"expr":"up","aggregate":"median"}"#, ErrorCode::InvalidQuery, &["aggregate", "median"]);
    rejects(r#"{"expr":"   "}"#, ErrorCode::InvalidQuery, &["expr", "required"]);
    rejects(r#"{"expr":"up","step":"ten seconds"}"#, ErrorCode::InvalidQuery, &["step"]);
    rejects(r#"{"expr":"up","step":-5}"#, ErrorCode::InvalidQuery, &["step"]);
}

#[test]
fn unknown_query_type() {
    rejects(r#"{"queryType":"bogus","expr":"up"}"#, ErrorCode::InvalidQuery, &["unknown querytype", "bogus"]);
    rejects(r#"{"queryType":"METRICS","expr":"up"}"#, ErrorCode::InvalidQuery, &["METRICS"]);
    rejects(r#"{"queryType":7}"#, ErrorCode::InvalidQuery, &["malformed query json"]);
    let e = query::parse("nonsense", br#"{"expr":"up"}"#, envelope()).unwrap_err();
    assert!(e.to_string().contains("nonsense"), "{e}");
}

#[test]
fn huge_expressions() {
    let long = format!(r#"{{"expr":"{}"}}"#, "a".repeat(70 * 1024));
    rejects(&long, ErrorCode::InvalidQuery, &["expr", "limit"]);
    let long = format!(r#"{{"queryType":"logs","expr":"{{app=\"x\"}} |= \"{}\""}}"#, "a".repeat(300 * 1024));
    rejects(&long, ErrorCode::InvalidQuery, &["expr", "limit"]);
    let long = format!(r#"{{"queryType":"traces","query":"{{ name = \"{}\" }}"}}"#, "a".repeat(300 * 1024));
    rejects(&long, ErrorCode::InvalidTraceql, &["query", "limit"]);
}

/// Run `test` (an `#[ignore]`d test of this binary) in a child process: a
/// stack overflow there aborts only the child, and is reported here.
fn in_child(test: &str) {
    // libtest names a test by its module path within the test binary: `bad_input::<test>`.
    let test = &match module_path!().split_once("::") {
        Some((_crate, module)) => format!("{module}::{test}"),
        None => test.to_owned(),
    };
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--ignored", "--nocapture", "--test-threads=1"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{test} in a child process: {:?}\n{}", out.status, stderr.lines().rev().take(8).collect::<Vec<_>>().join("\n"));
    // A renamed child test would otherwise "pass" by running nothing.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("test result: ok. 1 passed"), "{test}: the child process ran no test (renamed?):\n{stdout}");
}

// Deep nesting, near the most the 64 KiB size limit allows: parsed or
// rejected, never a stack overflow (the child runs these on a 2 MiB test
// thread, the size of a tokio worker's stack).

#[test]
#[ignore = "run by deep_promql_does_not_overflow_the_stack in a child process"]
fn child_deep_promql() {
    let deep = format!(r#"{{"expr":"{}up{}"}}"#, "(".repeat(30_000), ")".repeat(30_000));
    if let Err(e) = query::parse("", deep.as_bytes(), envelope()) {
        assert_eq!(FleetError::from(e).code, ErrorCode::InvalidPromql);
    }
}

#[test]
#[ignore = "run by deep_traceql_does_not_overflow_the_stack in a child process"]
fn child_deep_traceql() {
    let deep = format!(r#"{{"queryType":"traces","query":"{}{{ status = error }}{}"}}"#, "(".repeat(30_000), ")".repeat(30_000));
    if let Err(e) = query::parse("", deep.as_bytes(), envelope()) {
        assert_eq!(FleetError::from(e).code, ErrorCode::InvalidTraceql);
    }
}

#[test]
#[ignore = "run by deep_logql_does_not_overflow_the_stack in a child process"]
fn child_deep_logql() {
    let deep = format!(r#"{{"queryType":"logs","expr":"{}count_over_time({{a=\"b\"}}[5m]){}"}}"#, "sum(".repeat(depth()), ")".repeat(depth()));
    match query::parse("", deep.as_bytes(), envelope()) {
        Err(e) => {
            let e = FleetError::from(e);
            assert_eq!(e.code, ErrorCode::InvalidLogql, "{e}");
            assert!(e.message.contains("nesting limit"), "{e}");
        }
        Ok(_) => assert!(depth() < query::logql::MAX_NESTING, "{} levels accepted", depth()),
    }
}

#[test]
fn deep_promql_does_not_overflow_the_stack() {
    in_child("child_deep_promql");
}

#[test]
fn deep_traceql_does_not_overflow_the_stack() {
    in_child("child_deep_traceql");
}

/// Regression test for a crash found here (fixed): the LogQL validator
/// recursed once per nested aggregation, so `sum(` × 12000 around
/// `count_over_time({a="b"}[5m])` (48 KB, under the 64 KiB expression limit)
/// overflowed a 2 MiB stack and aborted the whole plugin process (release
/// build: ≥ 8000 levels). Now nesting past `logql::MAX_NESTING` is one
/// INVALID_LOGQL naming the limit. `BAD_INPUT_DEPTH` sets the depth.
#[test]
fn deep_logql_does_not_overflow_the_stack() {
    in_child("child_deep_logql");
}

#[test]
fn invalid_promql_logql_traceql() {
    for expr in ["sum(rate(x[5m])", "up{", "rate(up[5x])", "1 +", "up offset", "{}", "sum by (", "up @ abc", "\u{0}"] {
        let json = serde_json::json!({ "expr": expr }).to_string();
        rejects(&json, ErrorCode::InvalidPromql, &["invalid promql"]);
    }
    for expr in ["{app=\"x\"", "app=\"x\"", "{app=\"x\"} |=", "rate({app=\"x\"})", "sum by (app) ({a=\"b\"})"] {
        let json = serde_json::json!({ "queryType": "logs", "expr": expr }).to_string();
        rejects(&json, ErrorCode::InvalidLogql, &["invalid logql"]);
    }
    // Regexes are compiled before fan-out (PromQL by promql-parser, LogQL by the validator).
    for expr in [r#"up{job=~"("}"#, r#"rate(x{a!~"[z-a]"}[5m])"#] {
        let json = serde_json::json!({ "expr": expr }).to_string();
        rejects(&json, ErrorCode::InvalidPromql, &["invalid promql", "regex"]);
    }
    // Durations written as huge numbers: promql-parser used to panic on them.
    for expr in ["-2[2e222]2", "up offset 1e30", "up[5m:inf]"] {
        let json = serde_json::json!({ "expr": expr }).to_string();
        rejects(&json, ErrorCode::InvalidPromql, &["invalid promql", "out of range"]);
    }
    for expr in [r#"{app=~"("}"#, r#"{app="x"} |~ "a[" "#, r#"sum(count_over_time({a="b"} != "x" !~ "*" [5m]))"#, r#"{app="x"} | json | code=~"5(""#]
    {
        let json = serde_json::json!({ "queryType": "logs", "expr": expr }).to_string();
        rejects(&json, ErrorCode::InvalidLogql, &["invalid logql", "invalid regular expression", "col"]);
    }
    for q in ["{ status = }", "{ .a = \"b\" ", "{ duration > 5zz }", "{ resource.service.name = \"a\" } | count() >", "{ span.x =~ \"(\" }"] {
        let json = serde_json::json!({ "queryType": "traces", "query": q }).to_string();
        rejects(&json, ErrorCode::InvalidTraceql, &["invalid traceql"]);
    }
}

#[test]
fn bad_time_ranges() {
    let e = TimeRange::new(2_000, 1_000).unwrap_err();
    assert!(e.to_string().contains("after"), "{e}");
    let year_9999 = 253_402_300_799_000;
    let e = TimeRange::new(0, year_9999).unwrap_err();
    assert!(e.to_string().contains("outside"), "{e}");
    let e = TimeRange::new(-1, 1_000).unwrap_err();
    assert!(e.to_string().contains("outside"), "{e}");
    assert!(TimeRange::new(i64::MIN, i64::MAX).is_err());
    assert!(TimeRange::new(0, 0).is_ok(), "an empty range at the epoch is still a range");
}

async fn call(fed: &Federation, method: &str, path: &str, query: &str, body: impl Into<Bytes>) -> (u16, Value) {
    let resp = api::handle(fed, ApiRequest::new(method, path, query, body.into())).await;
    let v: Value = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
    (resp.status, v)
}

/// The call must fail with 4xx, the code, and a message naming each of `names`.
async fn api_rejects(fed: &Federation, method: &str, path: &str, query: &str, body: &str, code: &str, names: &[&str]) {
    let (status, v) = call(fed, method, path, query, body.to_owned()).await;
    let what = format!("{method} {} ?{} {}", preview(path), preview(query), preview(body));
    assert!((400..500).contains(&status), "{what}: status {status}: {v}");
    assert_eq!(v["error"]["code"], code, "{what}: {v}");
    let msg = v["error"]["message"].as_str().unwrap_or_default().to_lowercase();
    for n in names {
        assert!(msg.contains(&n.to_lowercase()), "{what}: message should name {n:?}: {msg}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_time_ranges_in_the_api() {
    let fed = fed();
    let q = "api/v1/metrics/query_range";
    api_rejects(&fed, "POST", q, "", r#"{"query":"up","start_time":2000,"end_time":1000,"step":"1m"}"#, "INVALID_QUERY", &["after"]).await;
    api_rejects(&fed, "POST", q, "", r#"{"query":"up","start_time":0,"end_time":253402300799,"step":"1m"}"#, "INVALID_QUERY", &[]).await;
    api_rejects(
        &fed,
        "POST",
        q,
        "",
        r#"{"query":"up","start_time":"9999-12-31T23:59:59Z","end_time":"9999-12-31T23:59:59Z","step":"1m"}"#,
        "INVALID_QUERY",
        &[],
    )
    .await;
    api_rejects(&fed, "POST", q, "", r#"{"query":"up","start_time":"yesterday","end_time":1000,"step":"1m"}"#, "INVALID_QUERY", &["start_time"])
        .await;
    api_rejects(&fed, "POST", q, "", r#"{"query":"up","start_time":1e300,"end_time":1e301,"step":"1m"}"#, "INVALID_QUERY", &[]).await;
    api_rejects(&fed, "POST", q, "", r#"{"query":"up","start_time":1000,"end_time":2000,"step":"0s"}"#, "INVALID_QUERY", &["step"]).await;
    api_rejects(&fed, "GET", "api/v1/alerts", "start=2000&end=1000", "", "INVALID_QUERY", &["after"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_clusters() {
    let fed = fed();
    let req = query::parse("", br#"{"expr":"up","clusters":["east","mars","../etc"]}"#, envelope()).unwrap();
    let e = federation::execute(&fed, &req).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::ClusterNotFound);
    assert!(e.message.contains("mars") && e.message.contains("../etc"), "{e}");
    api_rejects(&fed, "POST", "api/v1/metrics/query", "", r#"{"query":"up","cluster_ids":["pluto"]}"#, "CLUSTER_NOT_FOUND", &["pluto"]).await;
    api_rejects(&fed, "GET", "api/v1/metrics/labels", "cluster_ids=east,nowhere", "", "CLUSTER_NOT_FOUND", &["nowhere"]).await;
    api_rejects(&fed, "GET", "api/v1/alerts", "cluster_ids=nowhere", "", "CLUSTER_NOT_FOUND", &["nowhere"]).await;
}

#[test]
fn malformed_datasource_settings() {
    let bad = |json: &str, path: &str| {
        let e = Registry::from_grafana(json.as_bytes(), &HashMap::new()).unwrap_err();
        let f: FleetError = e.into();
        assert_eq!(f.code, ErrorCode::InvalidSettings, "{json}");
        assert!(f.message.contains(path), "{json}: should name {path:?}: {}", f.message);
    };
    bad("{not json", "jsonData");
    bad(r#"{"clusters":"east"}"#, "jsonData.clusters");
    bad(r#"{"clusters":[{"id":"a","prometheus":{"url":"file:///etc/passwd"}}]}"#, "jsonData.clusters[0].prometheus.url");
    bad(r#"{"clusters":[{"id":"a","prometheus":{"url":"not a url"}}]}"#, "jsonData.clusters[0].prometheus.url");
    bad(r#"{"clusters":[{"id":"a","prometheus":{"url":"http://h:9090/?x=1"}}]}"#, "jsonData.clusters[0].prometheus.url");
    bad(r#"{"clusters":[{"id":"A B","prometheus":{"url":"http://h:9090"}}]}"#, "jsonData.clusters[0].id");
    bad(r#"{"clusters":[{"id":"a"},{"id":"a"}]}"#, "jsonData.clusters[1].id");
    bad(r#"{"clusters":[{"id":"a","prometheus":{"url":"http://h","tlsSkipVerfy":true}}]}"#, "tlsSkipVerfy");
    bad(r#"{"query":{"timeoutSeconds":-1}}"#, "jsonData.query.timeoutSeconds");
    bad(r#"{"query":{"timeoutSeconds":1e308}}"#, "jsonData.query.timeoutSeconds");
    bad(r#"{"query":{"maxParallel":0}}"#, "jsonData.query.maxParallel");
    bad(r#"{"query":{"maxParallel":-3}}"#, "jsonData.query.maxParallel");
    bad(r#"{"query":{"retryAttempts":1000}}"#, "jsonData.query.retryAttempts");
    bad(r#"{"query":{"maxResponseBytes":10}}"#, "jsonData.query.maxResponseBytes");
    bad(r#"{"clusters":[{"id":"a","loki":{"url":"http://h","kind":"thanos"}}]}"#, "jsonData.clusters[0].loki.kind");
    bad(r#"{"clusters":[{"id":"a","prometheus":{"url":"http://h","basicAuthUser":"u"}}]}"#, "basicAuthUser");

    let secrets = |pairs: &[(&str, &str)]| -> HashMap<String, String> { pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() };
    let json = br#"{"clusters":[{"id":"a","prometheus":{"url":"http://h:9090"}}]}"#;
    for (key, names) in
        [("b.bearerToken", "no cluster"), ("a.bearerTokn", "unknown secret"), ("a.mysql.bearerToken", "unknown backend"), ("a.b.c.d", "expected")]
    {
        let e: FleetError = Registry::from_grafana(json, &secrets(&[(key, "s3cr3t-value")])).unwrap_err().into();
        assert_eq!(e.code, ErrorCode::InvalidSettings);
        assert!(e.message.contains(key) && e.message.contains(names), "{key}: {e}");
        assert!(!e.message.contains("s3cr3t-value"), "a settings error never shows the secret: {e}");
    }
    let e: FleetError = Registry::from_grafana(
        br#"{"clusters":[{"id":"a","prometheus":{"url":"http://h:9090","basicAuthUser":"u"}}]}"#,
        &secrets(&[("a.tlsClientCert", "x")]),
    )
    .unwrap_err()
    .into();
    assert!(e.message.contains("basicAuthUser") || e.message.contains("tlsClient"), "{e}");
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_resource_paths() {
    let fed = fed();
    for path in [
        "../../etc/passwd",
        "api/v1/../../../etc/passwd",
        "api/v1/clusters/../../etc/passwd",
        "api/v1/metrics/query/../../../../etc/shadow",
        "api/v1/metrics/label/../../clusters/values",
        "..%2f..%2fetc%2fpasswd",
        "api/v1/%2e%2e/%2e%2e/etc/passwd",
        "api/v1/clusters\0",
        "api/v1/gpu/nodes/../../x",
        "api/v1/traces/tag/../../values/x",
        "api/v1/nothing",
        "",
    ] {
        let (status, v) = call(&fed, "GET", path, "", Bytes::new()).await;
        assert!((400..500).contains(&status), "{path:?}: {status} {v}");
        let code = v["error"]["code"].as_str().unwrap_or_default();
        assert!(["NOT_FOUND", "INVALID_QUERY", "METHOD_NOT_ALLOWED"].contains(&code), "{path:?}: {v}");
        let text = v.to_string();
        assert!(!text.contains("root:") && !text.contains("/bin/"), "{path:?} leaked a file: {text}");
    }
    // A very long path is a 404 whose message does not echo megabytes back.
    let long = format!("api/v1/{}", "a/".repeat(200_000));
    let (status, v) = call(&fed, "GET", &long, "", Bytes::new()).await;
    assert_eq!(status, 404, "{}", preview(&v.to_string()));
    // Names that end up in upstream URL paths are validated, encoded or not.
    for name in ["..%2Fx", "..", "a/b", "a%00b", "%2e%2e", "a b", "__name__/../../x"] {
        let (status, v) = call(&fed, "GET", &format!("api/v1/metrics/label/{name}/values"), "", Bytes::new()).await;
        assert!((400..500).contains(&status), "label {name:?}: {status} {v}");
    }
    for tag in ["..%2F..%2Fapi", "x%3F", "a b"] {
        let (status, v) = call(&fed, "GET", &format!("api/v1/traces/tag/{tag}/values"), "", Bytes::new()).await;
        assert!((400..500).contains(&status), "tag {tag:?}: {status} {v}");
    }
    for id in ["..%2F..%2Fapi%2Fv1%2Fquery", "zz", "00000000000000000000000000000000000000000000000000"] {
        let (status, v) = call(&fed, "GET", &format!("api/v1/traces/{id}"), "", Bytes::new()).await;
        assert!((400..500).contains(&status), "trace id {id:?}: {status} {v}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_resource_bodies() {
    let fed = fed();
    let over = vec![b'{'; MAX_BODY_BYTES + 1];
    let (status, v) = call(&fed, "POST", "api/v1/metrics/query", "", over.clone()).await;
    assert_eq!((status, v["error"]["code"].as_str()), (413, Some("PAYLOAD_TOO_LARGE")), "{v}");
    let (status, v) = call(&fed, "POST", "api/v1/alerts/webhook/east", "", over).await;
    assert_eq!((status, v["error"]["code"].as_str()), (413, Some("PAYLOAD_TOO_LARGE")), "{v}");
    let (status, v) = call(&fed, "POST", "api/v1/metrics/query", "", vec![0xff, 0xfe, 0x00, 0x01]).await;
    assert_eq!((status, v["error"]["code"].as_str()), (400, Some("INVALID_QUERY")), "{v}");
    api_rejects(&fed, "POST", "api/v1/metrics/query", "", &format!("{}{}", "[".repeat(5000), "]".repeat(5000)), "INVALID_QUERY", &[]).await;
    api_rejects(&fed, "POST", "api/v1/metrics/query", "", r#"{"query":["up"]}"#, "INVALID_QUERY", &[]).await;
    api_rejects(&fed, "POST", "api/v1/metrics/query", "", r#"{"cluster_ids":["east"]}"#, "INVALID_QUERY", &["required"]).await;
    api_rejects(
        &fed,
        "POST",
        "api/v1/metrics/query",
        "",
        &serde_json::json!({"query": "x".repeat(70 * 1024)}).to_string(),
        "INVALID_QUERY",
        &["limit"],
    )
    .await;
    api_rejects(&fed, "POST", "api/v1/traces/search", "", r#"{"query":"{ status = }"}"#, "INVALID_TRACEQL", &[]).await;
    // The stack's clusters have no webhookSecret: every delivery is refused before
    // its payload is read (payload validation: tests/alerts.rs, with a secret).
    api_rejects(&fed, "POST", "api/v1/alerts/webhook/east", "", "{}", "UNAUTHORIZED", &["no webhookSecret", "east"]).await;
    api_rejects(&fed, "POST", "api/v1/alerts/webhook/east", "", "", "UNAUTHORIZED", &["no webhookSecret"]).await;
    api_rejects(&fed, "POST", "api/v1/alerts/webhook/..%2F..%2Fclusters", "", "{}", "CLUSTER_NOT_FOUND", &[]).await;
    api_rejects(&fed, "DELETE", "api/v1/metrics/query", "", "", "METHOD_NOT_ALLOWED", &["delete"]).await;
    api_rejects(&fed, "GET", "api/v1/metrics/query", "query=up&time=yesterday", "", "INVALID_QUERY", &["time"]).await;
    api_rejects(&fed, "GET", "api/v1/alerts", "limit=-1", "", "INVALID_QUERY", &["limit"]).await;
    api_rejects(&fed, "GET", "api/v1/alerts", "matcher=%7B%7B%7B", "", "INVALID_QUERY", &["matcher"]).await;
    api_rejects(&fed, "GET", "api/v1/gpu/nodes", "source=rm%20-rf", "", "INVALID_QUERY", &["source"]).await;
}

/// A Tempo that records every path it is asked for.
async fn recording_tempo() -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
    let seen = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let s = seen.clone();
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let s = s.clone();
        async move {
            s.lock().unwrap().push(uri.path().to_owned());
            ([("content-type", "application/json")], r#"{"tagValues":[]}"#)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), seen)
}

/// Regression test for a bug found here (fixed): `valid_tag` in
/// src/api/traces.rs accepted `..`, and the Tempo client joined the tag into
/// its URL path, so `GET traces/tag/../values` reached the Tempo host as
/// `GET /api/v2/search/values`, a path outside `/api/v2/search/tag/`. Tag names
/// are now checked strictly and every value travels as one encoded segment.
#[tokio::test(flavor = "multi_thread")]
async fn tempo_tag_cannot_escape_its_upstream_path() {
    let (url, seen) = recording_tempo().await;
    let json = format!(r#"{{"clusters":[{{"id":"t","tempo":{{"url":"{url}"}}}}]}}"#);
    let fed = Federation::new(Registry::from_grafana(json.as_bytes(), &HashMap::new()).unwrap());
    for tag in ["..", "."] {
        let (status, v) = call(&fed, "GET", &format!("api/v1/traces/tag/{tag}/values"), "", Bytes::new()).await;
        assert_eq!((status, v["error"]["code"].as_str()), (400, Some("INVALID_QUERY")), "tag {tag:?}: {v}");
    }
    let paths = seen.lock().unwrap().clone();
    assert!(paths.iter().all(|p| p.starts_with("/api/v2/search/tag/")), "Tempo was asked for {paths:?}");
}

/// The same witness for names that are valid: they stay under their path.
#[tokio::test(flavor = "multi_thread")]
async fn tempo_tag_values_stay_under_their_path() {
    let (url, seen) = recording_tempo().await;
    let json = format!(r#"{{"clusters":[{{"id":"t","tempo":{{"url":"{url}"}}}}]}}"#);
    let fed = Federation::new(Registry::from_grafana(json.as_bytes(), &HashMap::new()).unwrap());
    for tag in ["resource.service.name", "span.http.route", "status"] {
        let (status, v) = call(&fed, "GET", &format!("api/v1/traces/tag/{tag}/values"), "", Bytes::new()).await;
        assert_eq!(status, 200, "tag {tag:?}: {v}");
    }
    for tag in ["a%2F..%2F..%2Fstatus", "x?y", "a b", "a\\b"] {
        let (status, _) = call(&fed, "GET", &format!("api/v1/traces/tag/{tag}/values"), "", Bytes::new()).await;
        assert_eq!(status, 400, "tag {tag:?}");
    }
    let paths = seen.lock().unwrap().clone();
    assert_eq!(paths.len(), 3, "{paths:?}");
    assert!(paths.iter().all(|p| p.starts_with("/api/v2/search/tag/") && p.ends_with("/values")), "{paths:?}");
}

/// Loki and Prometheus label names in `label/{name}/values` stay one segment
/// under their API path, and an invalid LogQL regex reaches no cluster at all.
#[tokio::test(flavor = "multi_thread")]
async fn label_values_stay_under_their_path_and_bad_regexes_reach_no_cluster() {
    let (url, seen) = recording_tempo().await;
    let json = format!(r#"{{"clusters":[{{"id":"c","prometheus":{{"url":"{url}/prom"}},"loki":{{"url":"{url}"}}}}]}}"#);
    let fed = Federation::new(Registry::from_grafana(json.as_bytes(), &HashMap::new()).unwrap());
    for name in ["..", ".", "a%2F..%2Fb", "%2e%2e", "a b", "a\\b", "x?y", "app.kubernetes.io"] {
        for api in ["metrics", "logs"] {
            let (status, v) = call(&fed, "GET", &format!("api/v1/{api}/label/{name}/values"), "", Bytes::new()).await;
            let code = v["error"]["code"].as_str().unwrap_or_default();
            assert!((400..500).contains(&status) && ["INVALID_QUERY", "NOT_FOUND"].contains(&code), "{api} label {name:?}: {status} {v}");
        }
    }
    for body in [r#"{"query":"{app=~\"(\"}"}"#, r#"{"query":"{app=\"x\"} |~ \"a[\""}"#, r#"{"query":"count_over_time({app=\"x\", b!~\"+\"}[5m])"}"#] {
        let (status, v) = call(&fed, "POST", "api/v1/logs/query", "", body.to_owned()).await;
        assert_eq!((status, v["error"]["code"].as_str()), (400, Some("INVALID_LOGQL")), "{body}: {v}");
        assert!(v["error"]["message"].as_str().unwrap_or_default().contains("invalid regular expression"), "{v}");
    }
    assert!(seen.lock().unwrap().is_empty(), "nothing invalid reaches an upstream: {:?}", seen.lock().unwrap());
    // Valid names reach their path (the recorder's answer is not a label list: only the path matters here).
    for name in ["job", "__name__"] {
        call(&fed, "GET", &format!("api/v1/metrics/label/{name}/values"), "", Bytes::new()).await;
        call(&fed, "GET", &format!("api/v1/logs/label/{name}/values"), "", Bytes::new()).await;
    }
    let paths = seen.lock().unwrap().clone();
    assert_eq!(
        paths,
        [
            "/prom/api/v1/label/job/values",
            "/loki/api/v1/label/job/values",
            "/prom/api/v1/label/__name__/values",
            "/loki/api/v1/label/__name__/values"
        ],
    );
}

fn depth() -> usize {
    std::env::var("BAD_INPUT_DEPTH").ok().and_then(|d| d.parse().ok()).unwrap_or(12_000)
}
