//! Isolation under load, on the real stack: one slow cluster never delays
//! another, and every query ends by its deadline.
//!
//! The healthy cluster is the stack's real Prometheus `east`. The slow cluster
//! is a Prometheus-API server in this file that holds every request open until
//! the test opens its gate (so "before the slow upstream answers" is an order
//! the test controls, not a race), counting requests received and answered.
//! The stack's `hung` server (accepts, never answers) and `dead` port (refuses)
//! stand for the other sick clusters.
//!
//! Assertions are about order and outcome, never wall-clock durations.
//! Needs FLEETSCOPE_STACK_ENV (set by `make test`); fails without it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use fleetscope::federation::{self, Federation};
use fleetscope::frames::Frame;
use fleetscope::query::{self, QueryEnvelope, TimeRange};
use fleetscope::registry::Registry;
use tokio::sync::watch;

use crate::support::stack_env::stack_env;

/// Twelve dashboard panels at once, as in the issue's scenario.
const PANELS: usize = 12;
/// `query.maxParallelPerCluster` used here (the default).
const PER_CLUSTER: usize = 4;

/// A Prometheus-API upstream that answers only once its gate is open.
struct Slow {
    url: String,
    received: Arc<AtomicUsize>,
    answered: Arc<AtomicUsize>,
    gate: watch::Sender<bool>,
}

async fn slow_upstream() -> Slow {
    let received = Arc::new(AtomicUsize::new(0));
    let answered = Arc::new(AtomicUsize::new(0));
    let (gate, open) = watch::channel(false);
    let (r, a) = (received.clone(), answered.clone());
    let app = Router::new().fallback(move || {
        let (r, a, mut open) = (r.clone(), a.clone(), open.clone());
        async move {
            r.fetch_add(1, Ordering::SeqCst);
            let _ = open.wait_for(|o| *o).await;
            a.fetch_add(1, Ordering::SeqCst);
            ([(http::header::CONTENT_TYPE, "application/json")], r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    Slow { url, received, answered, gate }
}

/// `east` (real Prometheus) plus extra `(id, url)` clusters; cache off, so
/// identical panels are not collapsed into one request by single-flight.
fn federation(east: &str, extra: &[(&str, &str)], query: &str) -> Arc<Federation> {
    let mut clusters = format!("    - {{id: east, name: prod-east-1, prometheus: {{url: \"{east}\"}}}}\n");
    for (id, url) in extra {
        clusters.push_str(&format!("    - {{id: {id}, name: {id}-cluster, prometheus: {{url: \"{url}\"}}}}\n"));
    }
    let yaml = format!("jsonData:\n  clusters:\n{clusters}  query: {query}\n  cache: {{enabled: false}}\n");
    Arc::new(Federation::new(Registry::from_yaml(&yaml).unwrap()))
}

fn request(clusters: &[&str], end_ms: i64) -> query::QueryRequest {
    let env =
        QueryEnvelope { ref_id: "A".into(), time_range: TimeRange::new(end_ms - 60_000, end_ms).unwrap(), interval_ms: 15_000, max_data_points: 100 };
    let json = serde_json::json!({"expr": "fleetscope_probe_value", "instant": true, "clusters": clusters});
    query::parse("", json.to_string().as_bytes(), env).unwrap()
}

/// The notices of a query's answer (each starts with its error code).
fn notices(frames: &[Frame]) -> Vec<String> {
    frames.iter().filter_map(|f| f.meta.as_ref()).flat_map(|m| m.notices.iter().map(|n| n.text.clone())).collect()
}

/// East's data is there: a field labelled `cluster_id="east"` with values.
fn has_east_data(frames: &[Frame]) -> bool {
    frames.iter().flat_map(|f| &f.fields).any(|f| f.labels.get("cluster_id").map(String::as_str) == Some("east") && !f.is_empty())
}

/// Wait (yielding to the runtime) until `counter` reaches `n`. Bounded by the
/// test harness, not by a clock: the condition is what the test is about.
async fn until(counter: &AtomicUsize, n: usize) {
    while counter.load(Ordering::SeqCst) < n {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_single_healthy_cluster_query_answers_while_the_slow_clusters_requests_are_open() {
    let env = stack_env();
    let end: i64 = env["STACK_DATA_END_MS"].parse().unwrap();
    let slow = slow_upstream().await;
    let fed = federation(&env["PROM_EAST_URL"], &[("slow", &slow.url)], "{timeoutSeconds: 120, retryAttempts: 1}");

    let finished = Arc::new(AtomicUsize::new(0));
    let panels: Vec<_> = (0..PANELS)
        .map(|_| {
            let (fed, finished) = (fed.clone(), finished.clone());
            let req = request(&["east", "slow"], end);
            tokio::spawn(async move {
                let r = federation::execute(&fed, &req).await;
                finished.fetch_add(1, Ordering::SeqCst);
                r
            })
        })
        .collect();
    until(&slow.received, PER_CLUSTER).await;

    let single = federation::execute(&fed, &request(&["east"], end)).await.unwrap();
    assert!(has_east_data(&single), "the healthy cluster answered with data");
    assert!(notices(&single).is_empty(), "{:?}", notices(&single));
    assert_eq!(slow.answered.load(Ordering::SeqCst), 0, "…before the slow cluster answered anything");
    assert_eq!(finished.load(Ordering::SeqCst), 0, "…while every panel still waits for it");
    assert_eq!(slow.received.load(Ordering::SeqCst), PER_CLUSTER, "the slow cluster holds only its own slots");

    // The slow cluster answers: every panel completes, with both clusters.
    slow.gate.send_replace(true);
    for p in panels {
        let frames = p.await.unwrap().unwrap();
        assert!(has_east_data(&frames));
        assert!(notices(&frames).is_empty(), "{:?}", notices(&frames));
    }
    assert_eq!(slow.answered.load(Ordering::SeqCst), PANELS, "the queued requests went out once slots were free");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn saturating_panels_answer_query_timeout_for_the_slow_cluster_before_it_answers() {
    let env = stack_env();
    let end: i64 = env["STACK_DATA_END_MS"].parse().unwrap();
    let slow = slow_upstream().await;
    let fed = federation(&env["PROM_EAST_URL"], &[("slow", &slow.url), ("hung", &env["HUNG_URL"])], "{timeoutSeconds: 2, retryAttempts: 3}");

    let panels: Vec<_> = (0..PANELS)
        .map(|_| {
            let fed = fed.clone();
            let req = request(&["east", "slow", "hung"], end);
            tokio::spawn(async move { federation::execute(&fed, &req).await })
        })
        .collect();
    for p in panels {
        let frames = p.await.unwrap().unwrap();
        assert!(has_east_data(&frames), "the healthy cluster's data is in every panel");
        let n = notices(&frames);
        for sick in ["slow-cluster", "hung-cluster"] {
            assert!(n.iter().any(|t| t.starts_with("QUERY_TIMEOUT") && t.contains(sick)), "{sick}: {n:?}");
        }
    }
    assert_eq!(slow.answered.load(Ordering::SeqCst), 0, "every panel ended before the slow upstream answered");
    slow.gate.send_replace(true);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_or_unresolvable_cluster_is_reported_without_retry_backoff() {
    let env = stack_env();
    let end: i64 = env["STACK_DATA_END_MS"].parse().unwrap();
    // A backoff (30 s from the first retry) longer than the deadline (10 s): a
    // refused connection retried with backoff would end as QUERY_TIMEOUT.
    let fed = federation(
        &env["PROM_EAST_URL"],
        &[("dead", &env["DEAD_URL"]), ("nodns", "http://fleetscope-no-such-host.invalid:9090")],
        "{timeoutSeconds: 10, retryAttempts: 3, retryDelaySeconds: 30}",
    );
    for i in 0..fleetscope::federation::breaker::FAILURE_THRESHOLD {
        let frames = federation::execute(&fed, &request(&["east", "dead", "nodns"], end + i64::from(i))).await.unwrap();
        assert!(has_east_data(&frames));
        let n = notices(&frames);
        for sick in ["dead-cluster", "nodns-cluster"] {
            assert!(n.iter().any(|t| t.starts_with("CLUSTER_UNREACHABLE") && t.contains(sick) && t.contains("cannot connect")), "{sick}: {n:?}");
        }
    }
    // Consecutive failures across queries open the breakers.
    let frames = federation::execute(&fed, &request(&["east", "dead", "nodns"], end)).await.unwrap();
    let n = notices(&frames);
    for sick in ["dead-cluster", "nodns-cluster"] {
        assert!(n.iter().any(|t| t.starts_with("CIRCUIT_OPEN") && t.contains(sick)), "{sick}: {n:?}");
    }
    assert!(has_east_data(&frames));
}
