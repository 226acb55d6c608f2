//! The ClickHouse store (seed 004) against a real ClickHouse engine: chDB
//! behind tests/stack/clickhouse_front.py, loaded with the OpenTelemetry
//! exporter's tables and the same generated data as the stack's Prometheus
//! servers. The same question asked of both sources must give the same series.
//! Run through `make test` (FLEETSCOPE_STACK_ENV).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use bytes::Bytes;
use fleetscope::api::{self, ApiRequest};
use fleetscope::error::{ErrorCode, FleetError};
use fleetscope::federation::{self, Federation};
use fleetscope::frames::{FieldValues, Frame, NoticeSeverity};
use fleetscope::query::{self, QueryEnvelope, TimeRange};
use fleetscope::registry::Registry;

use crate::support::stack_env::stack_env;

struct Stack {
    env: HashMap<String, String>,
    fed: Arc<Federation>,
}

impl Stack {
    fn end_ms(&self) -> i64 {
        self.env["STACK_DATA_END_MS"].parse().unwrap()
    }
}

/// east/west/edge with both sources (west is a UUID in the store), `gone` on a
/// second store that is down, `promonly` without a store.
fn stack() -> Stack {
    let env = stack_env();
    let yaml = format!(
        r#"jsonData:
  query: {{ timeoutSeconds: 10, retryAttempts: 1 }}
  clickhouse:
    - {{ id: central, url: "{ch}" }}
    - {{ id: down, url: "{dead}", database: otel }}
  clusters:
    - {{ id: east, name: prod-east-1, prometheus: {{ url: "{east}" }}, clickhouse: {{ store: central }} }}
    - {{ id: west, name: prod-west-1, prometheus: {{ url: "{west}" }}, clickhouse: {{ store: central, clusterValue: "{west_value}" }} }}
    - {{ id: edge, name: edge-lab-1, prometheus: {{ url: "{edge}" }}, clickhouse: {{ store: central }} }}
    - {{ id: gone, name: gone-cluster, clickhouse: {{ store: down }} }}
    - {{ id: promonly, name: prom-only, prometheus: {{ url: "{edge}" }} }}
"#,
        ch = env["CLICKHOUSE_URL"],
        dead = env["DEAD_URL"],
        east = env["PROM_EAST_URL"],
        west = env["PROM_WEST_URL"],
        edge = env["PROM_EDGE_URL"],
        west_value = env["CLICKHOUSE_WEST_VALUE"],
    );
    let fed = Arc::new(Federation::new(Registry::from_yaml(&yaml).unwrap()));
    Stack { env, fed }
}

async fn run(s: &Stack, json: &str, from_ms: i64, to_ms: i64) -> Result<Vec<Frame>, FleetError> {
    let env = QueryEnvelope { ref_id: "A".into(), time_range: TimeRange::new(from_ms, to_ms).unwrap(), interval_ms: 60_000, max_data_points: 1000 };
    let req = query::parse("", json.as_bytes(), env)?;
    federation::execute(&s.fed, &req).await
}

type SeriesMap = BTreeMap<String, Vec<(i64, f64)>>;

/// Frames → series key → points. The key is everything a panel, an override
/// or an alert rule matches on: the value field's name, its labels (`__name__`
/// included), its `displayNameFromDS` and the time field's `interval`. Every
/// frame must have Grafana's dataplane shape: `Time`, then the value field,
/// named after `__name__` or `Value`.
fn series(frames: &[Frame]) -> SeriesMap {
    let mut out = BTreeMap::new();
    for f in frames {
        if f.fields.is_empty() {
            continue;
        }
        assert_eq!(f.fields.len(), 2, "a dataplane frame is [Time, value]");
        let (time, value) = (&f.fields[0], &f.fields[1]);
        assert_eq!(time.name, "Time");
        let want_name = value.labels.get("__name__").map(String::as_str).unwrap_or("Value");
        assert_eq!(value.name, want_name, "the value field is named after __name__ (else Value)");
        let FieldValues::TimeNs(ts) = &time.values else { panic!("Time is not a time field") };
        let FieldValues::F64(vs) = &value.values else { panic!("{} is not f64", value.name) };
        let labels = value.labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",");
        let display = value.config.as_ref().and_then(|c| c.display_name_from_ds.clone()).unwrap_or_default();
        let interval = time.config.as_ref().and_then(|c| c.interval).unwrap_or_default();
        let key = format!("{} {{{labels}}} display={display:?} interval={interval}", value.name);
        assert!(out.insert(key.clone(), ts.iter().map(|t| t / 1_000_000).zip(vs.iter().copied()).collect()).is_none(), "two series {key}");
    }
    out
}

fn assert_same(prom: &SeriesMap, ch: &SeriesMap, what: &str) {
    assert!(!prom.is_empty(), "{what}: Prometheus answered no series");
    assert_eq!(prom.keys().collect::<Vec<_>>(), ch.keys().collect::<Vec<_>>(), "{what}: label sets differ");
    for (k, p) in prom {
        let c = &ch[k];
        assert_eq!(p.iter().map(|x| x.0).collect::<Vec<_>>(), c.iter().map(|x| x.0).collect::<Vec<_>>(), "{what}: timestamps of {k}");
        for ((t, a), (_, b)) in p.iter().zip(c) {
            let same = (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs());
            assert!(same, "{what}: {k} at {t}: Prometheus {a}, ClickHouse {b}");
        }
    }
}

/// The front's log of received statements.
async fn received(s: &Stack) -> Vec<serde_json::Value> {
    let body = reqwest::get(format!("{}/_front/queries", s.env["CLICKHOUSE_URL"])).await.unwrap().text().await.unwrap();
    serde_json::from_str(&body).unwrap()
}

const CLUSTERS: &str = r#""clusters": ["east", "west", "edge"]"#;

#[tokio::test]
async fn raw_gauge_is_the_same_series_as_promql() {
    let s = stack();
    let (from, to) = (s.end_ms() - 3_600_000, s.end_ms());
    let prom = run(&s, &format!(r#"{{"expr": "DCGM_FI_DEV_GPU_UTIL", {CLUSTERS}}}"#), from, to).await.unwrap();
    let ch = run(&s, &format!(r#"{{"source": "clickhouse", "metric": "DCGM_FI_DEV_GPU_UTIL", {CLUSTERS}}}"#), from, to).await.unwrap();
    assert_same(&series(&prom), &series(&ch), "DCGM_FI_DEV_GPU_UTIL");
    // Same frame contract: data-plane type, cluster labels, per-cluster status.
    let meta = ch[0].meta.as_ref().unwrap();
    assert_eq!(meta.frame_type.as_deref(), Some("timeseries-multi"));
    let custom = meta.custom.as_ref().unwrap();
    assert_eq!(custom["source"], "clickhouse");
    assert_eq!(custom["clusters"].as_array().unwrap().len(), 3);
    assert!(series(&ch).keys().any(|k| k.contains("cluster=prod-west-1") && k.contains("cluster_id=west")), "west's UUID maps back to its id");
}

#[tokio::test]
async fn matchers_group_by_and_cross_cluster_sum_match_promql() {
    let s = stack();
    let (from, to) = (s.end_ms() - 2 * 3_600_000, s.end_ms() - 600_000);
    let prom = run(
        &s,
        &format!(r#"{{"expr": "sum by (modelName) (DCGM_FI_DEV_GPU_UTIL{{namespace=~\"infer.*\", gpu!=\"7\"}})", "aggregate": "sum", {CLUSTERS}}}"#),
        from,
        to,
    )
    .await
    .unwrap();
    let ch = run(
        &s,
        &format!(
            r#"{{"source": "clickhouse", "metric": "DCGM_FI_DEV_GPU_UTIL", "matchers": "{{namespace=~\"infer.*\", gpu!=\"7\"}}", "groupBy": ["modelName"], "reduce": "sum", "aggregate": "sum", {CLUSTERS}}}"#
        ),
        from,
        to,
    )
    .await
    .unwrap();
    assert_same(&series(&prom), &series(&ch), "sum by (modelName)");
    // Matchers as a list of objects are the same query.
    let listed = run(
        &s,
        &format!(
            r#"{{"source": "clickhouse", "metric": "DCGM_FI_DEV_GPU_UTIL", "matchers": [{{"key": "namespace", "op": "=~", "value": "infer.*"}}, {{"key": "gpu", "op": "!=", "value": "7"}}], "groupBy": ["modelName"], "aggregate": "sum", {CLUSTERS}}}"#
        ),
        from,
        to,
    )
    .await
    .unwrap();
    assert_same(&series(&ch), &series(&listed), "matcher list");
}

#[tokio::test]
async fn counter_rate_matches_promql_over_the_same_samples() {
    let s = stack();
    let (from, to) = (s.end_ms() - 3_600_000, s.end_ms());
    // Samples every 15 s: rate over (t − 60 s, t] is (m(t) − m(t − 45 s)) / 45 s,
    // which is also what Prometheus' extrapolated rate gives for regular samples.
    let prom = run(
        &s,
        &format!(r#"{{"expr": "(node_cpu_seconds_total{{mode=\"user\"}} - node_cpu_seconds_total{{mode=\"user\"}} offset 45s) / 45", {CLUSTERS}}}"#),
        from,
        to,
    )
    .await
    .unwrap();
    let ch = run(
        &s,
        &format!(r#"{{"source": "clickhouse", "metric": "node_cpu_seconds_total", "matchers": "{{mode=\"user\"}}", "function": "rate", "step": "60s", {CLUSTERS}}}"#),
        from,
        to,
    )
    .await
    .unwrap();
    assert_same(&series(&prom), &series(&ch), "rate(node_cpu_seconds_total)");
    let inc = run(
        &s,
        &format!(r#"{{"source": "clickhouse", "metric": "node_cpu_seconds_total", "matchers": "{{mode=\"user\"}}", "function": "increase", "step": "60s", {CLUSTERS}}}"#),
        from,
        to,
    )
    .await
    .unwrap();
    let (r, i) = (series(&ch), series(&inc));
    let (k, pts) = r.iter().next().unwrap();
    assert!((i[k][5].1 - pts[5].1 * 60.0).abs() < 1e-6 * pts[5].1.abs().max(1.0), "increase = rate × step");
}

/// `fleetscope_probe_resets_total` restarts every 30 min (tests/stack/README.md):
/// a reset counts from 0, as in Prometheus, so rate is exactly k everywhere —
/// a rate that skipped the drop would dip in every window holding a reset.
#[tokio::test]
async fn counter_resets_count_from_zero_as_in_promql() {
    let s = stack();
    let (from, to) = (s.end_ms() - 3_600_000, s.end_ms());
    let m = "fleetscope_probe_resets_total";
    for (function, scale) in [("rate", 1.0), ("increase", 60.0)] {
        let prom = run(&s, &format!(r#"{{"expr": "{function}({m}[1m])", {CLUSTERS}}}"#), from, to).await.unwrap();
        let ch = run(&s, &format!(r#"{{"source": "clickhouse", "metric": "{m}", "function": "{function}", "step": "60s", {CLUSTERS}}}"#), from, to)
            .await
            .unwrap();
        let (p, c) = (series(&prom), series(&ch));
        assert_same(&p, &c, &format!("{function}({m}[1m])"));
        // Documented values: k = 1, 2, 3 per second in east, west, edge; 61 steps, two of them resets or more.
        for (id, k) in [("east", 1.0), ("west", 2.0), ("edge", 3.0)] {
            let (key, points) = c.iter().find(|(key, _)| key.contains(&format!("cluster_id={id},"))).unwrap();
            assert_eq!(points.len(), 61, "{key}");
            for (t, v) in points {
                assert!((v - k * scale).abs() <= 1e-9 * k * scale, "{function} {key} at {t}: {v}, want {}", k * scale);
            }
        }
    }
}

/// Label-less series (an aggregation without `by`) are named after the query's
/// expression on the Prometheus side; the ClickHouse side names them after the
/// same PromQL, so legends and overrides by name carry over.
#[tokio::test]
async fn label_less_series_have_the_promql_display_name() {
    let s = stack();
    let (from, to) = (s.end_ms() - 600_000, s.end_ms());
    let prom = run(&s, &format!(r#"{{"expr": "sum(fleetscope_probe_value)", {CLUSTERS}}}"#), from, to).await.unwrap();
    let ch =
        run(&s, &format!(r#"{{"source": "clickhouse", "metric": "fleetscope_probe_value", "groupBy": [], "reduce": "sum", {CLUSTERS}}}"#), from, to)
            .await
            .unwrap();
    let (p, c) = (series(&prom), series(&ch));
    assert_same(&p, &c, "sum(fleetscope_probe_value)");
    assert!(c.keys().all(|k| k.starts_with("Value {") && k.contains(r#"display="sum(fleetscope_probe_value)""#)), "{:?}", c.keys());
    // A legend template is applied alike.
    let legend = r#""legendFormat": "{{cluster}} probes""#;
    let prom = run(&s, &format!(r#"{{"expr": "sum(fleetscope_probe_value)", {legend}, {CLUSTERS}}}"#), from, to).await.unwrap();
    let ch = run(
        &s,
        &format!(r#"{{"source": "clickhouse", "metric": "fleetscope_probe_value", "groupBy": [], "reduce": "sum", {legend}, {CLUSTERS}}}"#),
        from,
        to,
    )
    .await
    .unwrap();
    assert_same(&series(&prom), &series(&ch), "legend template");
    assert!(series(&ch).keys().any(|k| k.contains(r#"display="prod-east-1 probes""#)));
}

/// Answers go through the query cache: the same question on the same store is
/// one statement within the TTL; another cluster set or step is another entry.
#[tokio::test]
async fn answers_are_cached_per_store_statement_and_window() {
    let s = stack();
    let (from, to) = (s.end_ms() - 600_000, s.end_ms());
    let marker = format!("cache-{}", std::process::id());
    let q = |clusters: &str, step: &str| {
        format!(
            r#"{{"source": "clickhouse", "metric": "fleetscope_probe_value", "matchers": [{{"key": "job", "op": "!=", "value": "{marker}"}}], "step": "{step}", "clusters": [{clusters}]}}"#
        )
    };
    let sent = || async {
        received(&s)
            .await
            .into_iter()
            .filter(|r| r["params"].as_object().is_some_and(|p| p.values().any(|v| v == &serde_json::json!(marker))))
            .count()
    };
    let first = run(&s, &q(r#""east", "west""#, "60s"), from, to).await.unwrap();
    assert_eq!(sent().await, 1, "miss: asked the store");
    let again = run(&s, &q(r#""east", "west""#, "60s"), from, to).await.unwrap();
    assert_eq!(sent().await, 1, "hit: the store was not asked again");
    assert_same(&series(&first), &series(&again), "the cached answer");
    run(&s, &q(r#""east""#, "60s"), from, to).await.unwrap();
    assert_eq!(sent().await, 2, "another cluster set is another entry");
    run(&s, &q(r#""east", "west""#, "120s"), from, to).await.unwrap();
    assert_eq!(sent().await, 3, "another step is another entry");
}

#[tokio::test]
async fn histogram_quantile_matches_promql() {
    let s = stack();
    let (from, to) = (s.end_ms() - 3_600_000, s.end_ms());
    let m = "vllm:e2e_request_latency_seconds_bucket";
    let prom = run(&s, &format!(r#"{{"expr": "histogram_quantile(0.9, sum by (le, model_name) ({m} - {m} offset 45s))", {CLUSTERS}}}"#), from, to)
        .await
        .unwrap();
    let ch = run(
        &s,
        &format!(
            r#"{{"source": "clickhouse", "metric": "vllm:e2e_request_latency_seconds", "function": "histogram_quantile", "quantile": 0.9, "groupBy": ["model_name"], {CLUSTERS}}}"#
        ),
        from,
        to,
    )
    .await
    .unwrap();
    assert_same(&series(&prom), &series(&ch), "histogram_quantile(0.9)");
}

#[tokio::test]
async fn one_statement_per_store_and_a_down_store_fails_only_its_clusters() {
    let s = stack();
    let (from, to) = (s.end_ms() - 600_000, s.end_ms());
    // A marker value only this test sends, to find its statements in the front's log.
    let marker = format!("marker-{}", std::process::id());
    let q = format!(
        r#"{{"source": "clickhouse", "metric": "fleetscope_probe_value", "matchers": [{{"key": "job", "op": "!=", "value": "{marker}"}}], "clusters": ["east", "west", "edge", "gone", "promonly"]}}"#
    );
    let frames = run(&s, &q, from, to).await.unwrap();
    let sent = received(&s)
        .await
        .into_iter()
        .filter(|r| r["params"].as_object().is_some_and(|p| p.values().any(|v| v == &serde_json::json!(marker))))
        .count();
    assert_eq!(sent, 1, "one statement for east, west and edge together");
    let meta = frames[0].meta.as_ref().unwrap();
    let statuses = meta.custom.as_ref().unwrap()["clusters"].as_array().unwrap().clone();
    let by_id: HashMap<&str, &serde_json::Value> = statuses.iter().map(|s| (s["cluster_id"].as_str().unwrap(), s)).collect();
    for id in ["east", "west", "edge"] {
        assert_eq!(by_id[id]["status"], "SUCCESS", "{id}");
    }
    assert_eq!(by_id["gone"]["error_code"], "CLUSTER_UNREACHABLE");
    assert!(by_id["gone"]["error"].as_str().unwrap().contains("gone-cluster (clickhouse store \"down\")"));
    assert_eq!(by_id["promonly"]["error_code"], "CLICKHOUSE_NOT_AVAILABLE");
    assert!(meta.notices.iter().any(|n| n.severity == NoticeSeverity::Warning && n.text.starts_with("PARTIAL_RESULTS: 3 of 5 clusters answered")));
    // The probe series' documented values: east probe-0 = 1, west = 2, edge = 4.
    let got = series(&frames);
    let last = |id: &str| {
        got.iter().find(|(k, _)| k.contains(&format!("cluster_id={id}")) && k.contains("instance=probe-0")).map(|(_, p)| p.last().unwrap().1)
    };
    assert_eq!((last("east"), last("west"), last("edge")), (Some(1.0), Some(2.0), Some(4.0)));
    // Every cluster failing fails the query.
    let err = run(&s, r#"{"source": "clickhouse", "metric": "x", "clusters": ["gone"]}"#, from, to).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::ClusterUnreachable);
}

#[tokio::test]
async fn hostile_input_is_data_never_sql() {
    let s = stack();
    let (from, to) = (s.end_ms() - 600_000, s.end_ms());
    let hostile = [
        r"x' OR '1'='1",
        r"x\' OR 1=1 --",
        "{metric:String}",
        "'); DROP TABLE otel.otel_metrics_gauge; --",
        "` UNION ALL SELECT * FROM system.users --",
        "\\",
    ];
    for h in hostile {
        let hs = serde_json::to_string(h).unwrap();
        for q in [
            format!(r#"{{"source": "clickhouse", "metric": {hs}, {CLUSTERS}}}"#),
            format!(
                r#"{{"source": "clickhouse", "metric": "DCGM_FI_DEV_GPU_UTIL", "matchers": [{{"key": {hs}, "op": "=", "value": {hs}}}], {CLUSTERS}}}"#
            ),
            format!(
                r#"{{"source": "clickhouse", "metric": "DCGM_FI_DEV_GPU_UTIL", "matchers": [{{"key": "gpu", "op": "!~", "value": {hs}}}], "groupBy": [{hs}], {CLUSTERS}}}"#
            ),
        ] {
            match run(&s, &q, from, to).await {
                // Ran as data: the query answered (usually nothing), no cluster failed.
                Ok(frames) => {
                    let custom = frames[0].meta.as_ref().unwrap().custom.as_ref().unwrap();
                    for c in custom["clusters"].as_array().unwrap() {
                        assert_eq!(c["status"], "SUCCESS", "{q}: {c}");
                    }
                }
                // Refused before SQL, naming the field (an invalid regex).
                Err(e) => {
                    assert_eq!(e.code, ErrorCode::InvalidQuery, "{q}: {e}");
                    assert!(e.message.contains("`matchers`"), "{q}: {e}");
                }
            }
        }
    }
    // The tables are intact and the hostile metric names matched nothing.
    let frames = run(&s, &format!(r#"{{"source": "clickhouse", "metric": "fleetscope_probe_value", {CLUSTERS}}}"#), from, to).await.unwrap();
    assert_eq!(series(&frames).len(), 5, "probe-0/probe-1 in east and west, probe-0 in edge");
    // The settings-side identifiers are validated: a table name cannot carry SQL.
    let bad = Registry::from_yaml("jsonData:\n  clickhouse:\n    - { id: a, url: \"http://x\", gaugeTable: \"t; DROP\" }\n").unwrap_err();
    assert!(bad.to_string().contains("jsonData.clickhouse[0].gaugeTable"), "{bad}");
}

#[tokio::test]
async fn unknown_metric_is_no_data_and_bad_fields_are_named() {
    let s = stack();
    let (from, to) = (s.end_ms() - 600_000, s.end_ms());
    let frames = run(&s, &format!(r#"{{"source": "clickhouse", "metric": "no_such_metric_anywhere", {CLUSTERS}}}"#), from, to).await.unwrap();
    assert_eq!(frames.len(), 1, "one empty frame: alerting reads no data");
    assert!(series(&frames).values().all(Vec::is_empty));
    for (q, field) in [
        (r#"{"source": "clickhouse"}"#, "`metric`"),
        (r#"{"source": "clickhouse", "metric": "m", "function": "median"}"#, "`function`"),
        (r#"{"source": "clickhouse", "metric": "m", "matchers": "{a=~\"(\"}"}"#, "`matchers`"),
        (r#"{"source": "clickhouse", "metric": "m", "matchers": "{a<>\"b\"}"}"#, "`matchers`"),
        (r#"{"source": "clickhouse", "metric": "m", "function": "histogram_quantile", "quantile": 1.5}"#, "`quantile`"),
        (r#"{"source": "clickhouse", "metric": "m", "reduce": "median", "groupBy": []}"#, "`reduce`"),
        (r#"{"source": "mimir", "expr": "up"}"#, "`source`"),
    ] {
        let err = run(&s, q, from, to).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidQuery, "{q}");
        assert!(err.message.contains(field), "{q}: {}", err.message);
    }
}

async fn api(s: &Stack, method: &str, path: &str, query: &str, body: &str) -> (u16, serde_json::Value) {
    let resp = api::handle(&s.fed, ApiRequest::new(method, path, query, Bytes::from(body.to_owned()))).await;
    (resp.status, serde_json::from_slice(&resp.body).unwrap())
}

#[tokio::test]
async fn seed_api_query_health_summary_and_completion() {
    let s = stack();
    let end_s = s.end_ms() / 1000;
    let body = format!(
        r#"{{"cluster_id": "west", "metric_name": "DCGM_FI_DEV_GPU_UTIL", "start_time": {}, "end_time": {end_s}, "aggregation": "avg", "step": "5m"}}"#,
        end_s - 3600
    );
    let (status, v) = api(&s, "POST", "api/v1/cluster-metrics/query", "", &body).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["clusters_queried"], 1);
    let r = &v["results"][0];
    assert_eq!(r["cluster_id"], "west");
    assert_eq!(r["result_type"], "MATRIX");
    let series = r["data"].as_array().unwrap();
    assert!(
        !series.is_empty() && series.iter().all(|s| s["metric"]["modelName"].is_string() && s["values"].as_array().is_some_and(|v| v.len() == 13)),
        "{r}"
    );
    // Partial results when a store is down.
    let body = format!(r#"{{"cluster_ids": ["east", "gone"], "metric_name": "fleetscope_probe_value", "end_time": {end_s}}}"#);
    let (status, v) = api(&s, "POST", "api/v1/cluster-metrics/query", "", &body).await;
    assert_eq!(status, 206, "{v}");
    assert_eq!(v["status"], "PARTIAL_RESULTS");

    let (status, v) = api(&s, "GET", "api/v1/cluster-metrics/east/health", "", "").await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["status"], "healthy");
    assert_eq!(v["last_sample_time_ms"], s.end_ms());
    let (status, v) = api(&s, "GET", "api/v1/cluster-metrics/gone/health", "", "").await;
    assert_eq!((status, v["error_code"].as_str()), (503, Some("CLUSTER_UNREACHABLE")), "{v}");
    let (status, _) = api(&s, "GET", "api/v1/cluster-metrics/promonly/health", "", "").await;
    assert_eq!(status, 503);

    // Completion: metric names with their table, attribute keys and values.
    let q = format!("cluster_ids=east&start={}&end={end_s}&prefix=DCGM_FI_DEV_GPU", end_s - 3600);
    let (status, v) = api(&s, "GET", "api/v1/cluster-metrics/metrics", &q, "").await;
    assert_eq!(status, 200, "{v}");
    assert!(v["data"].as_array().unwrap().iter().any(|m| m["name"] == "DCGM_FI_DEV_GPU_UTIL" && m["type"] == "gauge"), "{v}");
    let q = format!("cluster_ids=east&start={}&end={end_s}&metric=DCGM_FI_DEV_GPU_UTIL", end_s - 3600);
    let (_, v) = api(&s, "GET", "api/v1/cluster-metrics/attributes", &q, "").await;
    let keys: Vec<&str> = v["data"].as_array().unwrap().iter().filter_map(|k| k.as_str()).collect();
    assert!(keys.contains(&"modelName") && keys.contains(&"gpu") && !keys.contains(&"cluster_id"), "{keys:?}");
    let (_, v) = api(&s, "GET", "api/v1/cluster-metrics/attributes/namespace/values", &q, "").await;
    // The same values Prometheus has for that label of that metric.
    let pq = format!("match[]=DCGM_FI_DEV_GPU_UTIL&cluster_ids=east&start={}&end={end_s}", end_s - 3600);
    let (_, pv) = api(&s, "GET", "api/v1/metrics/label/namespace/values", &pq, "").await;
    assert!(v["data"].as_array().is_some_and(|a| !a.is_empty()), "{v}");
    assert_eq!(v["data"], pv["data"], "ClickHouse {v}, Prometheus {pv}");
}

#[tokio::test]
async fn summary_agrees_with_promql() {
    let s = stack();
    let end = s.end_ms();
    let (status, v) = api(&s, "GET", "api/v1/cluster-metrics/east/summary", &format!("time={}", end / 1000), "").await;
    assert_eq!(status, 200, "{v}");
    for (key, expr) in [
        ("gpus", "count(DCGM_FI_DEV_GPU_UTIL)"),
        ("gpu_utilization_avg", "avg(DCGM_FI_DEV_GPU_UTIL)"),
        ("memory_total_bytes", "sum(node_memory_MemTotal_bytes)"),
        ("gpu_temperature_max", "max(DCGM_FI_DEV_GPU_TEMP)"),
    ] {
        let prom = run(&s, &format!(r#"{{"expr": "{expr}", "clusters": ["east"], "instant": true}}"#), end - 300_000, end).await.unwrap();
        let FieldValues::F64(want) = &prom[0].fields.iter().find(|f| f.name == "Value").unwrap().values else { panic!() };
        let got = v["summary"][key].as_f64().unwrap_or_else(|| panic!("{key} missing: {v}"));
        assert!((got - want[0]).abs() <= 1e-9 * want[0].abs(), "{key}: ClickHouse {got}, Prometheus {}", want[0]);
    }
}

#[tokio::test]
async fn health_check_covers_the_store() {
    let s = stack();
    let report = fleetscope::federation::health::check(&s.fed).await;
    let gone = report.clusters.iter().find(|c| c.cluster_id == "gone").unwrap();
    assert_eq!(gone.error_code, Some(ErrorCode::ClusterUnreachable));
    let east = report.clusters.iter().find(|c| c.cluster_id == "east").unwrap();
    assert!(east.checks.iter().any(|c| c.backend == fleetscope::registry::Backend::Clickhouse && c.error.is_none()), "{:?}", east.checks);
}

#[tokio::test]
async fn raw_sql_mode_binds_its_macros_and_runs_capped_and_read_only() {
    let s = stack();
    let (from, to) = (s.end_ms() - 600_000, s.end_ms());
    let sql = "SELECT ResourceAttributes['cluster_id'] AS cluster, toStartOfInterval(TimeUnix, toIntervalSecond($__interval_s)) AS t, \
               Attributes['instance'] AS instance, avg(Value) AS value FROM otel.otel_metrics_gauge \
               WHERE MetricName = 'fleetscope_probe_value' AND $__timeFilter(TimeUnix) AND cluster IN $__clusters \
               GROUP BY cluster, t, instance ORDER BY t";
    let q = serde_json::json!({"source": "clickhouse", "sql": sql, "clusters": ["east", "west"]}).to_string();
    let frames = run(&s, &q, from, to).await.unwrap();
    let got = series(&frames);
    let last = |id: &str| {
        got.iter().find(|(k, _)| k.contains(&format!("cluster_id={id}")) && k.contains("instance=probe-0")).map(|(_, p)| p.last().unwrap().1)
    };
    assert_eq!((last("east"), last("west")), (Some(1.0), Some(2.0)), "{:?}", got.keys().collect::<Vec<_>>());
    assert!(!got.keys().any(|k| k.contains("cluster_id=edge")), "$__clusters holds only the query's clusters");
    let sent = received(&s).await.into_iter().rev().find(|r| r["query"].as_str().is_some_and(|q| q.contains("toIntervalSecond"))).unwrap();
    assert_eq!(sent["settings"]["readonly"], "1");
    assert_eq!(sent["settings"]["result_overflow_mode"], "throw");
    assert!(sent["query"].as_str().unwrap().contains("{__clusters:Array(String)}"), "macros become placeholders: {sent}");

    // The result caps hold: an endless table stops at max_result_rows, as that cluster's error.
    let q = serde_json::json!({"source": "clickhouse", "sql": "SELECT 'east' AS cluster, now() AS t, number AS value FROM system.numbers", "clusters": ["east", "edge"]}).to_string();
    let err = run(&s, &q, from, to).await.unwrap_err();
    assert!(err.message.contains("Code: 396") || err.message.contains("TOO_MANY_ROWS"), "{err}");
    // Unknown macros and a non-column $__timeFilter argument are refused naming `sql`.
    for bad in ["SELECT $__nope", "SELECT 1 WHERE $__timeFilter(1; DROP)"] {
        let q = serde_json::json!({"source": "clickhouse", "sql": bad}).to_string();
        let err = run(&s, &q, from, to).await.unwrap_err();
        assert!(err.message.contains("`sql`"), "{bad}: {err}");
    }
}
