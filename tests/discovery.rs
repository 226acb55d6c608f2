//! Cluster discovery end to end: each source feeding a live datasource
//! instance (`discovery::Live`), and queries through `federation::execute`
//! seeing the change without a restart.
//!
//! * file: the file is rewritten, then broken (the last good list stays, the
//!   source says why);
//! * registry: a small axum server speaking our documented contract (bearer
//!   auth, `status`), changed between polls;
//! * kubernetes: the Kubernetes test server (tests/support/kube_api.rs) lists
//!   and watches Argo CD cluster Secrets; Secrets are added and deleted, and a
//!   `410 Gone` forces a relist;
//! * service proxy: a cluster known only by its Kubernetes access reaches its
//!   Prometheus through the API server's service proxy, with the cluster's token;
//!   LogQL through it against the Loki replay (tests/fixtures/loki), PromQL and
//!   alerts against the real Prometheus and Alertmanager of the stack;
//! * scale: a cluster removed mid-query, and one re-added under its old id.
//!
//! The "Prometheus" here is a local stub answering `vector(1)`-shaped results
//! labelled with which cluster's upstream answered; waits are for events
//! (`watch::Receiver::wait_for`), bounded so a broken source fails the test.

use crate::support as harness;
use crate::support::kube_api;
use crate::support::loki;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use fleetscope::discovery::{Live, SourceHealth};
use fleetscope::federation::Federation;
use fleetscope::registry::Registry;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(30);

/// A Prometheus stub: every query answers one series `{upstream="<name>"}` = 1.
async fn prometheus(name: &str) -> String {
    let name = name.to_owned();
    let answer = move || {
        let name = name.clone();
        async move {
            axum::Json(json!({"status": "success", "data": {"resultType": "vector",
                "result": [{"metric": {"upstream": name}, "value": [1_700_000_000, "1"]}]}}))
        }
    };
    let app = Router::new().route("/api/v1/query", axum::routing::get(answer.clone()).post(answer));
    serve(app).await
}

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

fn live(json_data: Value, secure: &[(&str, &str)]) -> Live {
    let secure: HashMap<String, String> = secure.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Live::new(Registry::from_grafana(json_data.to_string().as_bytes(), &secure).unwrap())
}

/// Wait (bounded) until the published federation satisfies `pred`.
async fn until(live: &Live, what: &str, pred: impl Fn(&Federation) -> bool) -> Arc<Federation> {
    let mut rx = live.subscribe();
    match tokio::time::timeout(WAIT, rx.wait_for(|f| pred(f))).await {
        Ok(Ok(f)) => f.clone(),
        _ => panic!("not within {WAIT:?}: {what}; sources: {:?}", live.current().registry.discovery),
    }
}

fn ids(fed: &Federation) -> Vec<String> {
    fed.registry.clusters().iter().map(|c| c.id.to_string()).collect()
}

/// Which upstreams answered an instant query over `clusters` (empty = all), by cluster id.
async fn answered(fed: &Federation, query: Value) -> Vec<(String, String)> {
    let frames = harness::run(fed, &query, 1_699_999_000_000, 1_700_000_000_000).await.unwrap();
    let mut out: Vec<(String, String)> = frames
        .iter()
        .flat_map(|f| f.fields.iter())
        .filter_map(|field| Some((field.labels.get("cluster_id")?.clone(), field.labels.get("upstream")?.clone())))
        .collect();
    out.sort();
    out
}

fn instant(extra: Value) -> Value {
    let mut q = json!({"queryType": "metrics", "expr": "up", "instant": true});
    q.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    q
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_file_is_seen_by_the_next_query_and_a_broken_one_keeps_the_last_list() {
    let (a, b) = (prometheus("a").await, prometheus("b").await);
    let dir = std::env::temp_dir().join(format!("fleetscope-discovery-file-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("clusters.yaml");
    std::fs::write(&path, format!("clusters:\n  - id: a\n    labels: {{env: prod}}\n    prometheus: {{url: '{a}'}}\n")).unwrap();
    let live = live(json!({"discovery": [{"type": "file", "name": "gitops", "path": path.to_str().unwrap(), "refreshSeconds": 0.05}]}), &[]);
    let fed = until(&live, "cluster a from the file", |f| f.registry.get("a").is_some()).await;
    assert_eq!(answered(&fed, instant(json!({}))).await, vec![("a".into(), "a".into())]);
    assert_eq!(fed.registry.get("a").unwrap().source, "gitops");

    std::fs::write(&path, format!("- id: a\n  prometheus: {{url: '{a}'}}\n- id: b\n  prometheus: {{url: '{b}'}}\n")).unwrap();
    let fed = until(&live, "cluster b after the rewrite", |f| f.registry.get("b").is_some()).await;
    assert_eq!(answered(&live.current(), instant(json!({}))).await, vec![("a".into(), "a".into()), ("b".into(), "b".into())]);
    assert_eq!(fed.registry.discovery[0].status, SourceHealth::Ok);

    std::fs::write(&path, "- id: a\n  prometheus: {urll: 'http://x'}\n").unwrap();
    let fed = until(&live, "the broken file reported", |f| f.registry.discovery[0].status == SourceHealth::Error).await;
    let why = fed.registry.discovery[0].error.clone().unwrap();
    assert!(why.contains("clusters.yaml") && why.contains("clusters[0].prometheus") && why.contains("urll"), "{why}");
    assert_eq!(ids(&fed), vec!["a", "b"], "the last good list stays");
    assert_eq!(answered(&fed, instant(json!({}))).await.len(), 2, "and is still queried");
    let _ = std::fs::remove_dir_all(&dir);
}

#[derive(Clone)]
struct RegistryServer {
    answer: Arc<Mutex<Value>>,
    seen_auth: Arc<Mutex<Vec<String>>>,
}

async fn cluster_registry(answer: Value) -> (String, RegistryServer) {
    let state = RegistryServer { answer: Arc::new(Mutex::new(answer)), seen_auth: Arc::default() };
    async fn list(State(s): State<RegistryServer>, headers: HeaderMap) -> axum::response::Response {
        let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        s.seen_auth.lock().unwrap().push(auth.clone());
        if auth != "Bearer registry-t0ken" {
            return (StatusCode::UNAUTHORIZED, "unauthorized").into_response();
        }
        axum::Json(s.answer.lock().unwrap().clone()).into_response()
    }
    let app = Router::new().route("/api/v1/fleet/clusters", axum::routing::get(list)).with_state(state.clone());
    (serve(app).await, state)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registry_is_polled_with_its_token_and_only_online_clusters_are_in_all() {
    let (east, west, north) = (prometheus("east").await, prometheus("west").await, prometheus("north").await);
    let (url, server) = cluster_registry(json!({"clusters": [
        {"id": "east", "name": "prod-east", "status": "online", "labels": {"env": "prod", "region": "eu-west-1"},
         "endpoints": {"prometheus": {"url": east}}, "secrets": {"prometheus.bearerToken": "east-prom-t0ken"}},
        {"id": "west", "status": "offline", "labels": {"env": "prod", "region": "us-west-2"}, "endpoints": {"prometheus": {"url": west}}},
        {"id": "lab", "status": "online", "labels": {"env": "dev"}, "endpoints": {"prometheus": {"url": north, "tenantt": "x"}}}
    ]}))
    .await;
    let live = live(
        json!({"discovery": [{"type": "registry", "name": "central", "url": format!("{url}/api/v1/fleet/clusters"), "refreshSeconds": 0.05,
                               "labels": {"team": "core"}}]}),
        &[("discoverySources.central.bearerToken", "registry-t0ken")],
    );
    let fed = until(&live, "the registry's clusters", |f| f.registry.get("east").is_some()).await;
    assert_eq!(ids(&fed), vec!["east", "west"], "the entry with a bad endpoint is skipped");
    let report = &fed.registry.discovery[0];
    assert_eq!((report.status, report.clusters), (SourceHealth::Ok, 2));
    assert!(report.cluster_errors[0].error.contains("tenantt"), "{:?}", report.cluster_errors);
    assert!(server.seen_auth.lock().unwrap().iter().all(|a| a == "Bearer registry-t0ken"));
    // "All" is the online ones; an offline cluster can still be named.
    assert_eq!(answered(&fed, instant(json!({}))).await, vec![("east".into(), "east".into())]);
    assert_eq!(answered(&fed, instant(json!({"clusters": ["west"]}))).await, vec![("west".into(), "west".into())]);
    // Labels (the source's too) select clusters; the resolution is reported.
    let q = instant(json!({"clusterSelector": "team=\"core\",region=~\"eu-.*\""}));
    let req = fleetscope::query::parse("", q.to_string().as_bytes(), harness::envelope(1_699_999_000_000, 1_700_000_000_000)).unwrap();
    let frames = fleetscope::federation::execute(&fed, &req).await.unwrap();
    let custom = frames[0].meta.as_ref().unwrap().custom.as_ref().unwrap();
    assert_eq!(custom["clusterSelector"], json!({"selector": "team=\"core\",region=~\"eu-.*\"", "matched": ["east"]}));

    // The registry changes: west comes online, east goes.
    *server.answer.lock().unwrap() = json!([
        {"id": "west", "status": "online", "endpoints": {"prometheus": {"url": west}}}
    ]);
    let fed = until(&live, "the registry's new list", |f| f.registry.get("east").is_none()).await;
    assert_eq!(answered(&fed, instant(json!({}))).await, vec![("west".into(), "west".into())]);

    // A registry that refuses the token: the last list stays, the source says why.
    let denied = self::live(
        json!({"discovery": [{"type": "registry", "name": "central", "url": format!("{url}/api/v1/fleet/clusters")}]}),
        &[("discoverySources.central.bearerToken", "wrong")],
    );
    let fed = denied.first_looks(WAIT).await;
    let report = &fed.registry.discovery[0];
    assert_eq!(report.status, SourceHealth::Error);
    assert!(report.error.as_deref().unwrap().contains("401"), "{:?}", report.error);
    assert!(!report.error.as_deref().unwrap().contains("wrong"), "the token never shows");
}

fn argo_secret(name: &str, server: &str, token: &str, endpoints: Value) -> Value {
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    json!({
        "metadata": {"name": format!("cluster-{name}"), "labels": {"argocd.argoproj.io/secret-type": "cluster"},
                     "annotations": {"fleetscope.io/endpoints": endpoints.to_string(), "fleetscope.io/labels": "env=prod"}},
        "type": "Opaque",
        "data": {"name": b64(name), "server": b64(server), "config": b64(&json!({"bearerToken": token, "tlsClientConfig": {"insecure": false}}).to_string())}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubernetes_secrets_appear_and_vanish_without_a_restart() {
    let (mgmt_url, mgmt) = kube_api::start().await;
    let (east, west, edge) = (prometheus("east").await, prometheus("west").await, prometheus("edge").await);
    mgmt.put_secret("argocd", argo_secret("east", "https://api.east.example:6443", "east-t0ken", json!({"prometheus": {"url": east}})));
    // Another namespace, and a Secret without the label: not ours.
    mgmt.put_secret("other", argo_secret("stray", "https://api.stray:6443", "x", json!({})));
    let mut unlabelled = argo_secret("nolabel", "https://api.nolabel:6443", "x", json!({}));
    unlabelled["metadata"]["labels"] = json!({});
    mgmt.put_secret("argocd", unlabelled);

    let live = live(
        json!({"discovery": [{"type": "kubernetes", "name": "mgmt", "server": mgmt_url}]}),
        &[("discoverySources.mgmt.bearerToken", "mgmt-t0ken")],
    );
    let fed = until(&live, "east from its Secret", |f| f.registry.get("east").is_some()).await;
    assert_eq!(ids(&fed), vec!["east"]);
    let east_cluster = fed.registry.get("east").unwrap().clone();
    assert_eq!(east_cluster.kubernetes.as_ref().unwrap().credentials.bearer_token.as_ref().unwrap().expose(), "east-t0ken");
    assert_eq!(east_cluster.labels.get("env").map(String::as_str), Some("prod"));
    assert_eq!(answered(&fed, instant(json!({}))).await, vec![("east".into(), "east".into())]);

    mgmt.put_secret("argocd", argo_secret("west", "https://api.west.example:6443", "west-t0ken", json!({"prometheus": {"url": west}})));
    let fed = until(&live, "west appears", |f| f.registry.get("west").is_some()).await;
    assert_eq!(answered(&fed, instant(json!({}))).await.len(), 2);

    mgmt.delete_secret("argocd", "cluster-east");
    let fed = until(&live, "east vanishes", |f| f.registry.get("east").is_none()).await;
    assert_eq!(answered(&fed, instant(json!({}))).await, vec![("west".into(), "west".into())]);

    // The server forgets old versions: the watch is answered 410, the source relists.
    let lists = mgmt.secret_lists.load(std::sync::atomic::Ordering::SeqCst);
    mgmt.expire_watches();
    mgmt.put_secret("argocd", argo_secret("edge", "https://api.edge.example:6443", "edge-t0ken", json!({"prometheus": {"url": edge}})));
    let fed = until(&live, "edge after a relist", |f| f.registry.get("edge").is_some()).await;
    assert_eq!(ids(&fed), vec!["edge", "west"], "in the order of their Secrets' names");
    assert_eq!(fed.registry.discovery[0].status, SourceHealth::Ok);
    let relisted = async {
        while mgmt.secret_lists.load(std::sync::atomic::Ordering::SeqCst) == lists {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(WAIT, relisted).await.expect("a 410 makes the source list again");

    // A rotated token replaces the old one in memory.
    mgmt.put_secret("argocd", argo_secret("west", "https://api.west.example:6443", "west-t0ken-2", json!({"prometheus": {"url": west}})));
    let fed = until(&live, "west's new token", |f| {
        f.registry.get("west").and_then(|c| c.kubernetes.as_ref()?.credentials.bearer_token.as_ref().map(|t| t.expose() == "west-t0ken-2"))
            == Some(true)
    })
    .await;
    assert!(!format!("{:?}", fed.registry).contains("west-t0ken"), "credentials never print");
    let listed = fleetscope::api::handle(&fed, fleetscope::api::ApiRequest::new("GET", "api/v1/clusters", "", Default::default())).await;
    let body = String::from_utf8(listed.body.clone()).unwrap();
    assert!(!body.contains("t0ken"), "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["sources"][0]["name"], "mgmt");
    assert_eq!(v["clusters"][0]["source"], "mgmt");
    assert_eq!(v["clusters"][0]["status"], "online");
    assert!(v["clusters"][0]["lastRefresh"].is_string(), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backend_via_kubernetes_goes_through_the_service_proxy_with_the_cluster_token() {
    let (api_url, api) = kube_api::start().await;
    let prom = prometheus("in-cluster").await;
    api.service("monitoring", "http:prometheus-k8s:9090", &prom);
    let yaml = format!(
        "jsonData:\n  clusters:\n    - id: edge\n      kubernetes: {{server: '{api_url}'}}\n      prometheus:\n        via: kubernetes\n        service: {{namespace: monitoring, name: prometheus-k8s, port: 9090}}\n    - id: gone\n      kubernetes: {{server: '{api_url}'}}\n      prometheus: {{via: kubernetes, service: {{namespace: monitoring, name: nothing, port: web}}}}\nsecureJsonData:\n  edge.kubernetes.bearerToken: edge-sa-t0ken\n"
    );
    let fed = harness::federation(&yaml);
    assert_eq!(
        fed.registry.get("edge").unwrap().prometheus.as_ref().unwrap().display_url(),
        format!("{api_url}/api/v1/namespaces/monitoring/services/http:prometheus-k8s:9090/proxy")
    );
    let frames = harness::run(&fed, &instant(json!({"clusters": ["edge", "gone"]})), 1_699_999_000_000, 1_700_000_000_000).await.unwrap();
    let got: Vec<String> = frames.iter().flat_map(|f| f.fields.iter()).filter_map(|f| f.labels.get("upstream").cloned()).collect();
    assert_eq!(got, vec!["in-cluster"]);
    assert!(api.seen_proxy_auth.lock().unwrap().contains(&"Bearer edge-sa-t0ken".to_owned()));
    let text = format!("{:?}", frames.iter().filter_map(|f| f.meta.as_ref()).flat_map(|m| m.notices.iter()).collect::<Vec<_>>());
    assert!(text.contains("gone") && text.contains("503"), "the cluster without endpoints is its own error: {text}");

    for (bad, path) in [
        ("prometheus: {via: kubernetes, service: {namespace: m, name: p, port: 9090}}", "jsonData.clusters[0].prometheus.via"),
        (
            "kubernetes: {server: 'https://k:6443'}\n      prometheus: {via: kubernetes, url: 'http://x', service: {namespace: m, name: p, port: 1}}",
            "jsonData.clusters[0].prometheus.url",
        ),
        ("kubernetes: {server: 'https://k:6443'}\n      prometheus: {via: kubernetes}", "jsonData.clusters[0].prometheus.service"),
        (
            "kubernetes: {server: 'https://k:6443'}\n      prometheus: {via: kubernetes, service: {namespace: m, name: p, port: 1, path: '../x'}}",
            "jsonData.clusters[0].prometheus.service.path",
        ),
    ] {
        let yaml = format!("jsonData:\n  clusters:\n    - id: c\n      {bad}\n");
        let err = Registry::from_yaml(&yaml).unwrap_err().to_string();
        assert!(err.contains(path), "{bad}: {err}");
    }
}

use crate::support::stack_env;

/// Labels and value of every series in `frames`, without the cluster labels.
fn series(frames: &[fleetscope::frames::Frame]) -> Vec<String> {
    let mut out: Vec<String> = frames
        .iter()
        .flat_map(|f| f.fields.iter())
        .filter(|f| !f.labels.is_empty())
        .map(|f| {
            let mut l = f.labels.clone();
            l.remove("cluster");
            l.remove("cluster_id");
            format!("{l:?} {:?}", f.values)
        })
        .collect();
    out.sort();
    out
}

/// The real Prometheus and Alertmanager of the stack and its Loki and Tempo
/// replays, once directly and once through the Kubernetes test server's
/// service proxy: the same answers, for PromQL, alerts, LogQL, TraceQL and
/// GPUs (DCGM).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_query_kind_through_the_service_proxy_reaches_the_real_stack() {
    let env = stack_env::stack_env();
    let end: i64 = env["STACK_DATA_END_MS"].parse().unwrap();
    let (api_url, api) = kube_api::start().await;
    api.service("monitoring", "http:prometheus-k8s:9090", &env["PROM_EAST_URL"]);
    api.service("monitoring", "http:alertmanager-main:web", &env["ALERTMANAGER_URL"]);
    api.service("logging", "http:loki-gateway:3100", &env["LOKI_EAST_URL"]);
    api.service("tracing", "http:tempo:3200", &env["TEMPO_EAST_URL"]);
    let yaml = format!(
        r#"jsonData:
  cache: {{enabled: false}}
  clusters:
    - {{id: direct, prometheus: {{url: "{prom}"}}, alertmanager: {{url: "{am}"}}, loki: {{url: "{loki}"}}, tempo: {{url: "{tempo}"}}}}
    - id: proxied
      kubernetes: {{server: "{api_url}"}}
      prometheus: {{via: kubernetes, service: {{namespace: monitoring, name: prometheus-k8s, port: 9090}}}}
      alertmanager: {{via: kubernetes, service: {{namespace: monitoring, name: alertmanager-main, port: web}}}}
      loki: {{via: kubernetes, service: {{namespace: logging, name: loki-gateway, port: 3100}}}}
      tempo: {{via: kubernetes, service: {{namespace: tracing, name: tempo, port: 3200}}}}
secureJsonData:
  proxied.kubernetes.bearerToken: proxied-sa-t0ken
"#,
        prom = env["PROM_EAST_URL"],
        am = env["ALERTMANAGER_URL"],
        loki = env["LOKI_EAST_URL"],
        tempo = env["TEMPO_EAST_URL"],
    );
    let fed = harness::federation(&yaml);
    let promql = |id: &str| json!({"queryType": "metrics", "expr": "fleetscope_probe_value", "instant": true, "clusters": [id]});
    let direct = harness::run(&fed, &promql("direct"), end - 60_000, end).await.unwrap();
    let proxied = harness::run(&fed, &promql("proxied"), end - 60_000, end).await.unwrap();
    assert!(!series(&direct).is_empty(), "the stack's probe series");
    assert_eq!(series(&proxied), series(&direct));
    let range = |id: &str| json!({"queryType": "metrics", "expr": "rate(fleetscope_probe_counter_total[5m])", "clusters": [id]});
    let direct = harness::run(&fed, &range("direct"), end - 1_800_000, end).await.unwrap();
    let proxied = harness::run(&fed, &range("proxied"), end - 1_800_000, end).await.unwrap();
    assert_eq!(series(&proxied), series(&direct), "range queries (POSTed forms) too");

    let alerts = |id: &str| json!({"queryType": "alerts", "clusters": [id]});
    let count = |frames: &[fleetscope::frames::Frame]| frames.iter().map(|f| f.fields.first().map_or(0, |x| x.len())).sum::<usize>();
    let direct = harness::run(&fed, &alerts("direct"), end - 60_000, end).await.unwrap();
    let proxied = harness::run(&fed, &alerts("proxied"), end - 60_000, end).await.unwrap();
    assert!(count(&direct) > 0, "the stack's demo alerts");
    assert_eq!(count(&proxied), count(&direct));

    // A column of the first frame (ids and links name the cluster; these do not).
    let column = |frames: &[fleetscope::frames::Frame], name: &str| {
        frames.first().and_then(|f| f.fields.iter().find(|x| x.name == name)).map(|x| format!("{:?}", x.values)).unwrap_or_default()
    };
    let logs = |id: &str| json!({"queryType": "logs", "expr": "{app=~\".+\"}", "limit": 20, "clusters": [id]});
    let direct = harness::run(&fed, &logs("direct"), end - 3_600_000, end).await.unwrap();
    let proxied = harness::run(&fed, &logs("proxied"), end - 3_600_000, end).await.unwrap();
    assert!(count(&direct) > 0, "the Loki replay's lines");
    assert_eq!((column(&proxied, "timestamp"), column(&proxied, "body")), (column(&direct, "timestamp"), column(&direct, "body")));

    let traces = |id: &str| json!({"queryType": "traces", "query": "{}", "limit": 20, "clusters": [id]});
    let direct = harness::run(&fed, &traces("direct"), end - 3_600_000, end).await.unwrap();
    let proxied = harness::run(&fed, &traces("proxied"), end - 3_600_000, end).await.unwrap();
    assert!(count(&direct) > 0, "the Tempo replay's traces");
    assert_eq!(column(&proxied, "traceID"), column(&direct, "traceID"));
    assert_eq!(count(&proxied), count(&direct));

    // GPUs from the stack's DCGM series, read through the proxied Prometheus.
    let gpus = |id: &str| json!({"queryType": "gpu", "view": "gpus", "source": "dcgm", "clusters": [id]});
    let direct = harness::run(&fed, &gpus("direct"), end - 60_000, end).await.unwrap();
    let proxied = harness::run(&fed, &gpus("proxied"), end - 60_000, end).await.unwrap();
    assert!(count(&direct) > 0, "the stack's DCGM GPUs");
    assert_eq!((column(&proxied, "node"), column(&proxied, "uuid")), (column(&direct, "node"), column(&direct, "uuid")));

    let auth = api.seen_proxy_auth.lock().unwrap().clone();
    assert!(!auth.is_empty() && auth.iter().all(|a| a == "Bearer proxied-sa-t0ken"), "{auth:?}");
}

/// A Prometheus stub that answers `{upstream="<name>"}` only when released:
/// each request announces itself on `arrived`, then waits for a permit.
async fn gated_prometheus(name: &str) -> (String, tokio::sync::mpsc::UnboundedReceiver<()>, Arc<tokio::sync::Semaphore>) {
    let (tx, arrived) = tokio::sync::mpsc::unbounded_channel();
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let (name, g) = (name.to_owned(), gate.clone());
    let answer = move || {
        let (name, tx, gate) = (name.clone(), tx.clone(), g.clone());
        async move {
            let _ = tx.send(());
            gate.acquire().await.unwrap().forget();
            axum::Json(json!({"status": "success", "data": {"resultType": "vector",
                "result": [{"metric": {"upstream": name}, "value": [1_700_000_000, "1"]}]}}))
        }
    };
    let app = Router::new().route("/api/v1/query", axum::routing::get(answer.clone()).post(answer));
    (serve(app).await, arrived, gate)
}

/// A cluster removed while a query waits on it: the query finishes with its
/// answer (it holds the cluster set it started with), the next one no longer
/// sees it. Re-added under the same id with another endpoint, it is a new
/// cluster: the old answer is not served from the cache, no old breaker applies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_removed_mid_query_finishes_cleanly_and_a_reused_id_starts_clean() {
    let (old_url, mut arrived, gate) = gated_prometheus("a-old").await;
    let (new_url, b_url) = (prometheus("a-new").await, prometheus("b").await);
    let b = json!({"id": "b", "status": "online", "endpoints": {"prometheus": {"url": b_url}}});
    let (url, server) = cluster_registry(json!([
        {"id": "a", "status": "online", "endpoints": {"prometheus": {"url": old_url}}}, b.clone()
    ]))
    .await;
    let live = live(
        json!({"discovery": [{"type": "registry", "name": "central", "url": format!("{url}/api/v1/fleet/clusters"), "refreshSeconds": 0.05}]}),
        &[("discoverySources.central.bearerToken", "registry-t0ken")],
    );
    let fed = until(&live, "cluster a", |f| f.registry.get("a").is_some()).await;
    let a_old = fed.registry.get("a").unwrap().clone();
    let in_flight = tokio::spawn({
        let fed = fed.clone();
        async move { answered(&fed, instant(json!({"clusters": ["a"]}))).await }
    });
    tokio::time::timeout(WAIT, arrived.recv()).await.expect("the query reached a's upstream");

    // The registry drops a while its request is in flight.
    *server.answer.lock().unwrap() = json!([b.clone()]);
    let now = until(&live, "a removed", |f| f.registry.get("a").is_none()).await;
    assert_eq!(answered(&now, instant(json!({}))).await, vec![("b".into(), "b".into())], "new queries do not see a");
    assert!(!in_flight.is_finished(), "the in-flight query still waits on a's upstream");
    gate.add_permits(1);
    let finished = tokio::time::timeout(WAIT, in_flight).await.expect("the in-flight query finishes").unwrap();
    assert_eq!(finished, vec![("a".into(), "a-old".into())], "with the answer of the cluster it started on");

    // a comes back under the same id, elsewhere: nothing of the old a is used.
    *server.answer.lock().unwrap() = json!([{"id": "a", "status": "online", "endpoints": {"prometheus": {"url": new_url}}}, b]);
    let now = until(&live, "a re-added", |f| f.registry.get("a").is_some()).await;
    let a_new = now.registry.get("a").unwrap().clone();
    assert_ne!(a_new.state_key(), a_old.state_key());
    assert_eq!(answered(&now, instant(json!({"clusters": ["a"]}))).await, vec![("a".into(), "a-new".into())], "no stale cache entry");
    assert!(now.breakers.snapshot().iter().all(|(k, _)| !k.starts_with(a_old.state_key())), "no breaker of the old a");
}

/// LogQL through the service proxy against the Loki replay (real recordings,
/// chosen by the tenant header the proxy passes on): the same lines as direct.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logql_through_the_service_proxy_matches_direct() {
    let replay = loki::replay().await;
    let (api_url, api) = kube_api::start().await;
    api.service("logging", "http:loki-gateway:3100", &replay.url);
    let yaml = format!(
        r#"jsonData:
  cache: {{enabled: false}}
  clusters:
    - {{id: direct, loki: {{url: "{url}", tenant: prod-east-1}}}}
    - id: proxied
      kubernetes: {{server: "{api_url}"}}
      loki: {{via: kubernetes, tenant: prod-east-1, service: {{namespace: logging, name: loki-gateway, port: 3100}}}}
secureJsonData:
  proxied.kubernetes.bearerToken: logs-sa-t0ken
"#,
        url = replay.url,
    );
    let fed = harness::federation(&yaml);
    let lines = |frames: &[fleetscope::frames::Frame]| -> Vec<String> {
        let f = &frames[0];
        let col = |name: &str| f.fields.iter().find(|x| x.name == name).map(|x| format!("{:?}", x.values)).unwrap_or_default();
        vec![col("timestamp"), col("body")]
    };
    let logs = |id: &str| json!({"queryType": "logs", "expr": "{app=~\".+\"}", "limit": 20, "clusters": [id]});
    let (from, to) = (1_795_256_017_796, 1_795_259_617_796);
    let direct = harness::run(&fed, &logs("direct"), from, to).await.unwrap();
    let proxied = harness::run(&fed, &logs("proxied"), from, to).await.unwrap();
    assert!(direct[0].fields.first().is_some_and(|f| !f.is_empty()), "the recording has lines");
    assert_eq!(lines(&proxied), lines(&direct));
    let auth = api.seen_proxy_auth.lock().unwrap().clone();
    assert!(!auth.is_empty() && auth.iter().all(|a| a == "Bearer logs-sa-t0ken"), "{auth:?}");
}
