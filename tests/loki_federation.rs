//! Federated LogQL against a Loki-API replay server (axum, 127.0.0.1) serving
//! real recorded responses (tests/fixtures/loki) per tenant: three healthy
//! clusters, one answering 500, one that never answers, one answering garbage
//! JSON, and one cluster with no Loki at all.

use std::sync::Arc;

use axum::extract::Query;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use fleetscope::error::ErrorCode;
use fleetscope::federation::{self, Federation};
use fleetscope::frames::{FieldValues, Frame};
use fleetscope::query::{self, QueryEnvelope, TimeRange};
use fleetscope::registry::Registry;

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/fixtures/loki/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

async fn query_range(headers: HeaderMap, Query(p): Query<std::collections::HashMap<String, String>>) -> Response {
    let tenant = headers.get("X-Scope-OrgID").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let metric = p.get("query").is_some_and(|q| q.starts_with("sum"));
    let file = match (tenant.as_str(), metric) {
        ("prod-east-1", false) => "query_range_streams_backward_limit.json",
        ("prod-west-1", false) => "query_range_streams_forward.json",
        ("edge-1", false) => "query_range_streams_gpu_agent_errors_edge.json",
        ("prod-east-1" | "prod-west-1" | "edge-1", true) => "query_range_matrix_rate_sum_by_app.json",
        ("broken", _) => return (StatusCode::INTERNAL_SERVER_ERROR, "internal error: too many outstanding requests").into_response(),
        ("garbage", _) => return (StatusCode::OK, r#"{"status":"success","data":{"resultType":"streams","result":[{"stream":"#).into_response(),
        ("hung", _) => std::future::pending().await,
        _ => return (StatusCode::UNAUTHORIZED, "no org id").into_response(),
    };
    (StatusCode::OK, [("content-type", "application/json")], fixture(file)).into_response()
}

async fn replay() -> String {
    let app = axum::Router::new().route("/loki/api/v1/query_range", axum::routing::get(query_range));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

async fn fed() -> Arc<Federation> {
    let url = replay().await;
    let loki = |tenant: &str| format!(r#"{{"url":"{url}","tenant":"{tenant}"}}"#);
    let json = format!(
        r#"{{"query":{{"timeoutSeconds":1,"retryAttempts":1}},
        "derivedFields":[{{"name":"traceID","matcherRegex":"trace_id[\"=:]+\"?([0-9a-f]{{32}})"}}],
        "clusters":[
        {{"id":"east","name":"prod-east-1","loki":{e}}},
        {{"id":"west","name":"prod-west-1","loki":{w}}},
        {{"id":"edge","name":"edge-1","loki":{g}}},
        {{"id":"broken","name":"broken-1","loki":{b}}},
        {{"id":"hung","name":"hung-1","loki":{h}}},
        {{"id":"garbage","name":"garbage-1","loki":{x}}},
        {{"id":"nolog","name":"metrics-only","prometheus":{{"url":"{url}"}}}}]}}"#,
        e = loki("prod-east-1"),
        w = loki("prod-west-1"),
        g = loki("edge-1"),
        b = loki("broken"),
        h = loki("hung"),
        x = loki("garbage"),
    );
    Arc::new(Federation::new(Registry::from_grafana(json.as_bytes(), &Default::default()).unwrap()))
}

async fn run(fed: &Federation, json: &str) -> Result<Vec<Frame>, fleetscope::error::FleetError> {
    let env = QueryEnvelope {
        ref_id: "A".into(),
        time_range: TimeRange::new(1_795_256_017_796, 1_795_259_617_796).unwrap(),
        interval_ms: 15_000,
        max_data_points: 1000,
    };
    let req = query::parse("", json.as_bytes(), env)?;
    federation::execute(fed, &req).await
}

/// Every entry timestamp of the three healthy fixtures.
fn all_fixture_times() -> Vec<i64> {
    let mut out = Vec::new();
    for f in ["query_range_streams_backward_limit.json", "query_range_streams_forward.json", "query_range_streams_gpu_agent_errors_edge.json"] {
        let v: serde_json::Value = serde_json::from_str(&fixture(f)).unwrap();
        for s in v["data"]["result"].as_array().unwrap() {
            for e in s["values"].as_array().unwrap() {
                out.push(e[0].as_str().unwrap().parse::<i64>().unwrap());
            }
        }
    }
    out
}

fn field<'a>(f: &'a Frame, name: &str) -> &'a FieldValues {
    &f.fields.iter().find(|x| x.name == name).unwrap_or_else(|| panic!("no field {name}")).values
}

#[tokio::test(flavor = "multi_thread")]
async fn merges_newest_lines_globally_with_notices_and_links() {
    let fed = fed().await;
    let frames = run(&fed, r#"{"queryType":"logs","expr":"{app=~\".+\"}","limit":15,"datasource":{"uid":"fs-uid"}}"#).await.unwrap();
    assert_eq!(frames.len(), 1);
    let f = &frames[0];
    let meta = f.meta.as_ref().unwrap();
    assert_eq!(meta.frame_type.as_deref(), Some("log-lines"));
    assert_eq!(meta.type_version, Some([0, 1]));
    assert_eq!(meta.preferred_visualisation_type.as_deref(), Some("logs"));

    // Global limit: the newest 15 of all clusters' lines, newest first.
    let mut want = all_fixture_times();
    want.sort_unstable_by(|a, b| b.cmp(a));
    want.truncate(15);
    let FieldValues::TimeNs(times) = field(f, "timestamp") else { panic!() };
    assert_eq!(times, &want);

    let FieldValues::Json(labels) = field(f, "labels") else { panic!() };
    let FieldValues::Str(ids) = field(f, "id") else { panic!() };
    for (l, id) in labels.iter().zip(ids) {
        let cid = l["cluster_id"].as_str().unwrap();
        assert!(id.starts_with(&format!("{cid}_")), "{id}");
        assert!(l["cluster"].is_string());
    }
    let unique: std::collections::BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "ids are unique");
    let FieldValues::NullableStr(sev) = field(f, "severity") else { panic!() };
    assert!(sev.iter().all(Option::is_some));

    // Derived field: trace ids in east's gateway lines link to a traces query of this datasource.
    let d = f.fields.iter().find(|x| x.name == "traceID").unwrap();
    let FieldValues::NullableStr(tids) = &d.values else { panic!() };
    assert!(tids.iter().flatten().all(|t| t.len() == 32));
    assert!(tids.iter().flatten().count() >= 5, "{tids:?}");
    let link = &d.config.as_ref().unwrap().links[0];
    let internal = link.internal.as_ref().unwrap();
    assert_eq!(internal.datasource_uid, "fs-uid");
    assert_eq!(internal.query["queryType"], "traces");
    assert_eq!(internal.query["traceId"], "${__value.raw}");

    // Notices: one per failed cluster with its code, PARTIAL_RESULTS, and the cluster without Loki.
    let texts: Vec<&str> = meta.notices.iter().map(|n| n.text.as_str()).collect();
    let has = |code: &str, name: &str| texts.iter().any(|t| t.contains(code) && t.contains(name));
    assert!(has("LOKI_NOT_AVAILABLE", "metrics-only"), "{texts:?}");
    assert!(has("UPSTREAM_ERROR", "broken-1"), "{texts:?}");
    assert!(has("QUERY_TIMEOUT", "hung-1"), "{texts:?}");
    assert!(has("UPSTREAM_ERROR", "garbage-1"), "{texts:?}");
    assert!(texts.iter().any(|t| t.starts_with("PARTIAL_RESULTS: 3 of 6")), "{texts:?}");
    assert!(meta.stats.iter().any(|s| s.display_name == "Summary: total entries returned" && s.value == 38.0), "{:?}", meta.stats);
    fleetscope::frames::arrow::encode(f).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn forward_keeps_the_oldest_lines_oldest_first() {
    let fed = fed().await;
    let frames = run(&fed, r#"{"queryType":"logs","expr":"{app=~\".+\"}","limit":7,"direction":"forward","clusters":["east","west","edge"]}"#)
        .await
        .unwrap();
    let mut want = all_fixture_times();
    want.sort_unstable();
    want.truncate(7);
    let FieldValues::TimeNs(times) = field(&frames[0], "timestamp") else { panic!() };
    assert_eq!(times, &want);
    assert!(frames[0].meta.as_ref().unwrap().notices.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn metric_queries_aggregate_like_promql() {
    let fed = fed().await;
    let frames = run(&fed, r#"{"queryType":"logs","expr":"sum by (app) (rate({app=~\".+\"}[5m]))","aggregate":"sum","clusters":["east","west"]}"#)
        .await
        .unwrap();
    assert_eq!(frames.len(), 3, "3 apps, summed over 2 clusters");
    for f in &frames {
        assert_eq!(f.meta.as_ref().unwrap().frame_type.as_deref(), Some("timeseries-multi"));
        assert_eq!(f.fields[1].labels["clusters"], "east,west");
    }
    let FieldValues::F64(v) = &frames[0].fields[1].values else { panic!() };
    assert!((v[0] - 2.0 * 0.006666666666666667).abs() < 1e-12);
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_before_and_after_fan_out() {
    let fed = fed().await;
    let e = run(&fed, r#"{"queryType":"logs","expr":"{app=\"x\"} | json | status >="}"#).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidLogql);
    assert!(e.message.contains("line 1, col 29"), "{e}");
    let e = run(&fed, r#"{"queryType":"logs","expr":"{app=\"x\"}","clusters":["nolog"]}"#).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::LokiNotAvailable);
    let e = run(&fed, r#"{"queryType":"logs","expr":"{app=\"x\"}","clusters":["broken","garbage"]}"#).await.unwrap_err();
    assert!(e.message.contains("broken-1") && e.message.contains("garbage-1"), "{e}");
}
