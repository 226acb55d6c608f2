//! Federated LogQL against a Loki-API replay server (axum, 127.0.0.1) serving
//! real recorded responses (tests/fixtures/loki) per tenant: three healthy
//! clusters, one answering 500, one that never answers, one answering garbage
//! JSON, and one cluster with no Loki at all.

use crate::support as harness;

use crate::support::loki;

use fleetscope::api::{self, ApiRequest};
use fleetscope::error::ErrorCode;
use fleetscope::federation::{self, Federation};
use fleetscope::frames::{FieldValues, Frame};
use fleetscope::query::{self, QueryEnvelope, TimeRange};
use loki::fixture;
use serde_json::Value;

async fn fed() -> std::sync::Arc<Federation> {
    loki::fed().await.0
}

async fn run(fed: &Federation, json: &str) -> Result<Vec<Frame>, fleetscope::error::FleetError> {
    let env = QueryEnvelope {
        ref_id: "A".into(),
        time_range: TimeRange::new(1_795_256_017_796, 1_795_259_617_796).unwrap(),
        interval_ms: 15_000,
        max_data_points: 1000,
    };
    let req = query::parse("", json.as_bytes(), env)?;
    let frames = federation::execute(fed, &req).await?;
    harness::assert_frame_invariants(&frames);
    Ok(frames)
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
    let frames =
        run(&fed, r#"{"queryType":"logs","expr":"{app=~\".+\"}","limit":7,"direction":"forward","clusters":["east","west","edge"]}"#).await.unwrap();
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

// ---- /api/v1/logs/* (the seed's shapes) ----

async fn call(fed: &Federation, method: &str, path: &str, query: &str, body: &str) -> (u16, Value) {
    let resp = api::handle(fed, ApiRequest::new(method, path, query, body.to_owned().into())).await;
    let v: Value = serde_json::from_slice(&resp.body).unwrap_or_else(|e| panic!("{path}: {e}: {}", String::from_utf8_lossy(&resp.body)));
    (resp.status, v)
}

fn result<'a>(v: &'a Value, cluster_id: &str) -> &'a Value {
    v["results"].as_array().unwrap().iter().find(|r| r["cluster_id"] == cluster_id).unwrap_or_else(|| panic!("no result for {cluster_id}: {v}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn api_query_range_has_seed_envelope_and_merged_entries() {
    let fed = fed().await;
    let body = r#"{"query":"{app=~\".+\"}","start_time":"1795256017.796","end_time":"1795259617.796","limit":15}"#;
    let (status, v) = call(&fed, "POST", "api/v1/logs/query_range", "", body).await;
    assert_eq!(status, 206, "{v}");
    assert_eq!(v["status"], "PARTIAL_RESULTS");
    assert_eq!(v["clusters_queried"], 6, "the cluster without Loki is not queried");
    assert_eq!(v["clusters_succeeded"], 3);
    assert!(v["total_query_time_ms"].is_u64());
    let east = result(&v, "east");
    assert_eq!((east["status"].as_str(), east["result_type"].as_str()), (Some("SUCCESS"), Some("STREAMS")));
    assert!(east["query_time_ms"].is_u64());
    // Per-cluster data is Loki's own shape, entry for entry.
    let recorded: Value = serde_json::from_str(&fixture("query_range_streams_backward_limit.json")).unwrap();
    assert_eq!(east["data"], recorded["data"]["result"]);
    assert_eq!(result(&v, "broken")["error_code"], "UPSTREAM_ERROR");
    assert_eq!(result(&v, "hung")["error_code"], "QUERY_TIMEOUT");
    // `entries`: the newest 15 of all clusters together, newest first, labelled with the cluster.
    let mut want = all_fixture_times();
    want.sort_unstable_by(|a, b| b.cmp(a));
    want.truncate(15);
    let entries = v["entries"].as_array().unwrap();
    let got: Vec<i64> = entries.iter().map(|e| e["timestamp"].as_str().unwrap().parse().unwrap()).collect();
    assert_eq!(got, want);
    for e in entries {
        assert!(e["labels"]["cluster"].is_string() && e["line"].is_string() && e["id"].is_string(), "{e}");
    }
    let warnings: Vec<&str> = v["warnings"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(warnings.iter().any(|w| w.contains("LOKI_NOT_AVAILABLE") && w.contains("metrics-only")), "{warnings:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn api_instant_metric_query_and_errors() {
    let fed = fed().await;
    let (status, v) = call(
        &fed,
        "GET",
        "api/v1/logs/query",
        "query=sum+by+(app)+(count_over_time({cluster%3D\"prod-east-1\"}[10m]))&cluster_ids=east,west&time=1795259617.796",
        "",
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["clusters_queried"], 2);
    let east = result(&v, "east");
    assert_eq!(east["result_type"], "VECTOR");
    assert_eq!(east["data"][1]["metric"]["app"], "llm-gateway");
    assert_eq!(east["data"][1]["value"][1], "53");
    assert!(v.get("entries").is_none(), "no log lines, no entries");

    let (status, v) = call(&fed, "POST", "api/v1/logs/query_range", "", r#"{"query":"{app=\"x\"} | json | status >="}"#).await;
    assert_eq!((status, v["error"]["code"].as_str()), (400, Some("INVALID_LOGQL")), "{v}");
    let (status, v) = call(&fed, "POST", "api/v1/logs/query", "", r#"{"query":"{app=\"x\"}","cluster_ids":["nolog"]}"#).await;
    assert_eq!((status, v["error"]["code"].as_str()), (503, Some("LOKI_NOT_AVAILABLE")), "{v}");
    let (status, v) = call(&fed, "POST", "api/v1/logs/query", "", r#"{"query":"{app=\"x\"}","limit":"lots"}"#).await;
    assert_eq!((status, v["error"]["code"].as_str()), (400, Some("INVALID_QUERY")), "{v}");
    let (status, _) = call(&fed, "DELETE", "api/v1/logs/labels", "", "").await;
    assert_eq!(status, 405);
}

#[tokio::test(flavor = "multi_thread")]
async fn api_labels_are_the_union_with_per_cluster_status() {
    let (fed, replay) = loki::fed().await;
    let (status, v) = call(
        &fed,
        "GET",
        "api/v1/logs/labels",
        "query=%7Bapp%3D%22model-server%22%7D&cluster_ids=east,west,edge&start=1795256017&end=1795259617",
        "",
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let mut want: Vec<String> = Vec::new();
    for f in ["labels.json", "labels.loki-docs.json"] {
        let l: Value = serde_json::from_str(&fixture(f)).unwrap();
        want.extend(l["data"].as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_owned()));
    }
    want.sort();
    want.dedup();
    let union: Vec<String> = v["data"].as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_owned()).collect();
    assert_eq!(union, want);
    assert_eq!(result(&v, "edge")["data"], serde_json::json!([]), "no `data` from Loki = no labels");
    assert_eq!(result(&v, "west")["data"], serde_json::json!(["foo", "bar", "baz"]));
    // The editor's stream selector and window reach every Loki.
    let seen = replay.seen.label_params.lock().unwrap().clone();
    assert_eq!(seen.len(), 3);
    for (_, p) in &seen {
        assert_eq!(p.get("query").map(String::as_str), Some(r#"{app="model-server"}"#));
        assert_eq!(p.get("start").map(String::as_str), Some("1795256017000000000"));
    }

    let (status, v) =
        call(&fed, "GET", "api/v1/logs/label/model/values", "query=%7Bnamespace%3D%22inference%22%7D&cluster_ids=east,west,broken", "").await;
    assert_eq!(status, 206, "{v}");
    assert_eq!(v["data"], serde_json::json!(["llama-3.1-70b-instruct", "mixtral-8x7b-instruct"]));
    assert_eq!(result(&v, "broken")["status"], "ERROR");
    assert_eq!(v["clusters_succeeded"], 2);

    let (status, v) = call(&fed, "GET", "api/v1/logs/labels", "query=%7Bapp%3D", "").await;
    assert_eq!((status, v["error"]["code"].as_str()), (400, Some("INVALID_LOGQL")), "{v}");
    let (status, _) = call(&fed, "GET", "api/v1/logs/label/a-b/values", "", "").await;
    assert_eq!(status, 400);
    let (status, v) = call(&fed, "GET", "api/v1/logs/labels", "", "").await;
    assert_eq!(status, 206, "all clusters with Loki are asked; three fail");
    assert!(v["warnings"][0].as_str().unwrap().contains("metrics-only"), "{v}");
}
