//! Cache, single-flight and circuit breaker against the real test stack.
//! A test binary of its own: it counts requests on a real Prometheus
//! (`prometheus_http_requests_total`), so nothing else may query it meanwhile
//! (cargo runs test binaries one after another).

use std::collections::HashMap;
use std::sync::Arc;

use fleetscope::error::ErrorCode;
use fleetscope::federation::{self, Federation};
use fleetscope::query::{self, QueryEnvelope, TimeRange};
use fleetscope::registry::Registry;

/// The tests here count requests on the shared real Prometheus servers: they
/// must not run at the same time (cargo runs a binary's tests in parallel).
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn stack() -> (HashMap<String, String>, String) {
    let path = std::env::var("FLEETSCOPE_STACK_ENV")
        .unwrap_or_else(|_| panic!("FLEETSCOPE_STACK_ENV is not set: run these tests via `make test`, which starts tests/stack"));
    let text = std::fs::read_to_string(&path).unwrap();
    let env: HashMap<String, String> =
        text.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned())).collect();
    let yaml = std::fs::read_to_string(format!("{}/fleetscope.yaml", env["FLEETSCOPE_STACK_DIR"])).unwrap();
    (env, yaml)
}

/// Requests Prometheus has answered on `/api/v1/query` (all status codes).
async fn query_requests(prom_url: &str) -> f64 {
    let text = reqwest::get(format!("{prom_url}/metrics")).await.unwrap().text().await.unwrap();
    text.lines()
        .filter(|l| l.starts_with("prometheus_http_requests_total{") && l.contains(r#"handler="/api/v1/query""#))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn request(json: &str, end_ms: i64) -> query::QueryRequest {
    let env = QueryEnvelope {
        ref_id: "A".into(),
        time_range: TimeRange::new(end_ms - 60_000, end_ms).unwrap(),
        interval_ms: 15_000,
        max_data_points: 1000,
    };
    query::parse("", json.as_bytes(), env).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn identical_concurrent_queries_reach_each_cluster_once_then_hit_the_cache() {
    let _serial = SERIAL.lock().await;
    let (env, yaml) = stack();
    let end: i64 = env["STACK_DATA_END_MS"].parse().unwrap();
    let fed = Arc::new(Federation::new(Registry::from_yaml(&yaml).unwrap()));
    let req = Arc::new(request(r#"{"expr":"sum(fleetscope_probe_value)","instant":true,"clusters":["east","west","edge"]}"#, end));
    let before: Vec<f64> = futures_join(&env).await;

    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let (fed, req) = (fed.clone(), req.clone());
            tokio::spawn(async move { federation::execute(&fed, &req).await })
        })
        .collect();
    for t in tasks {
        let frames = t.await.unwrap().unwrap();
        assert_eq!(frames.len(), 3, "one sum per cluster");
    }
    let after = futures_join(&env).await;
    let delta: Vec<f64> = after.iter().zip(&before).map(|(a, b)| a - b).collect();
    assert_eq!(delta, vec![1.0, 1.0, 1.0], "100 identical queries → one request per cluster");

    // A later identical query is a cache hit: still no new request.
    federation::execute(&fed, &req).await.unwrap();
    assert_eq!(futures_join(&env).await, after);
}

async fn futures_join(env: &HashMap<String, String>) -> Vec<f64> {
    let mut out = Vec::new();
    for k in ["PROM_EAST_URL", "PROM_WEST_URL", "PROM_EDGE_URL"] {
        out.push(query_requests(&env[k]).await);
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dead_cluster_opens_its_breaker_and_is_skipped() {
    let _serial = SERIAL.lock().await;
    let (env, yaml) = stack();
    let end: i64 = env["STACK_DATA_END_MS"].parse().unwrap();
    let fed = Federation::new(Registry::from_yaml(&yaml).unwrap());
    let notices_for =
        |frames: &[fleetscope::frames::Frame]| -> Vec<String> { frames[0].meta.as_ref().unwrap().notices.iter().map(|n| n.text.clone()).collect() };
    // Distinct expressions so the cache never answers.
    for i in 0..fleetscope::federation::breaker::FAILURE_THRESHOLD {
        let frames = federation::execute(
            &fed,
            &request(&format!(r#"{{"expr":"fleetscope_probe_value + {i}","instant":true,"clusters":["east","dead"]}}"#), end),
        )
        .await
        .unwrap();
        let n = notices_for(&frames);
        assert!(n.iter().any(|t| t.starts_with("CLUSTER_UNREACHABLE") && t.contains("dead-cluster")), "{n:?}");
    }
    let frames = federation::execute(&fed, &request(r#"{"expr":"fleetscope_probe_value + 100","instant":true,"clusters":["east","dead"]}"#, end))
        .await
        .unwrap();
    let n = notices_for(&frames);
    assert!(n.iter().any(|t| t.starts_with(ErrorCode::CircuitOpen.as_str()) && t.contains("dead-cluster")), "{n:?}");
    assert_eq!(frames.iter().filter(|f| !f.fields.is_empty()).count(), 2, "east's data intact");
    let key = |id: &str| fleetscope::federation::breaker::key(fed.registry.get(id).unwrap(), fleetscope::registry::Backend::Prometheus);
    assert_eq!(fed.breakers.state(&key("dead")), fleetscope::federation::breaker::State::Open);
    assert_eq!(fed.breakers.state(&key("east")), fleetscope::federation::breaker::State::Closed);
}

fn registry_with_redis(yaml: &str, redis_url: &str) -> Registry {
    let mut doc: serde_yaml::Value = serde_yaml::from_str(yaml).unwrap();
    doc["jsonData"]["cache"] = serde_yaml::from_str(&format!("redisUrl: \"{redis_url}\"")).unwrap();
    Registry::from_yaml(&serde_yaml::to_string(&doc).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn grafana_replicas_share_answers_through_redis_and_survive_its_absence() {
    let _serial = SERIAL.lock().await;
    let (env, yaml) = stack();
    let end: i64 = env["STACK_DATA_END_MS"].parse().unwrap();
    // Unique per run: Redis outlives a test binary within one stack.
    let salt = std::process::id();
    let req = request(&format!(r#"{{"expr":"fleetscope_probe_value * {salt}","instant":true,"clusters":["east","west","edge"]}}"#), end);
    let replica_a = Federation::new(registry_with_redis(&yaml, &env["REDIS_URL"]));
    let replica_b = Federation::new(registry_with_redis(&yaml, &env["REDIS_URL"]));

    let before = futures_join(&env).await;
    let a = federation::execute(&replica_a, &req).await.unwrap();
    let after_a = futures_join(&env).await;
    assert_eq!(after_a.iter().zip(&before).map(|(x, y)| x - y).collect::<Vec<_>>(), vec![1.0, 1.0, 1.0]);
    let shared_hits = || {
        fleetscope::telemetry::render()
            .lines()
            .find(|l| l.starts_with("fleetscope_shared_cache_hits_total "))
            .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let hits_before = shared_hits();
    let b = federation::execute(&replica_b, &req).await.unwrap();
    assert_eq!(shared_hits() - hits_before, 3.0, "replica B answered every cluster from Redis");
    let fields = |f: &[fleetscope::frames::Frame]| f.iter().map(|f| f.fields.clone()).collect::<Vec<_>>();
    assert_eq!(fields(&a), fields(&b), "the shared answer is the same data (only query_time_ms differs)");

    // Redis down (a port that refuses): the query still answers, from the clusters.
    let down = Federation::new(registry_with_redis(&yaml, &format!("redis://{}/0", env["DEAD_URL"].trim_start_matches("http://"))));
    let frames = federation::execute(&down, &req).await.unwrap();
    assert_eq!(frames.len(), 5);
    assert!(frames[0].meta.as_ref().unwrap().notices.is_empty(), "Redis trouble is not the user's problem");
}
