//! `gpx_fleetscope serve` as a service (docs/operations.md), against the real
//! stack and the release binary:
//!
//! * every read endpoint answers 401 without a token, 403 with a token of the
//!   wrong scope or cluster, and 2xx with the right one — a cluster-restricted
//!   token (by id or by `clusterSelector`) sees only its clusters; the alert
//!   webhook keeps its own secret; `/metrics` wants the `metrics` scope;
//! * request logs are JSON lines with a request id (the caller's, if sane) and
//!   the token's name;
//! * TLS from PEM files, verified against a test CA made here (a client with
//!   another CA fails), and a replaced pair is served on the next connection;
//! * listening beyond loopback without tokens refuses to start;
//! * `/readyz` flips to 503 when every cluster is down;
//! * SIGTERM during a slow query: new connections are refused, the query
//!   finishes with its answer, then the process exits 0 — and with a short
//!   `--shutdown-timeout` the stuck request is cut and the exit is 1.
//!
//! Needs FLEETSCOPE_STACK_ENV (set by `make test`) and `openssl` on PATH.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::stack_env::stack_env;
use crate::support::temp::TempDir;

const READER: &str = "reader-token-0123456789abcdef";
const EAST_ONLY: &str = "east-only-token-0123456789abcdef";
const PROD_ONLY: &str = "prod-only-token-0123456789abcdef";
const HOOK: &str = "hook-token-0123456789abcdef";
const SCRAPER: &str = "scraper-token-0123456789abcdef";
const WEBHOOK_SECRET: &str = "east-webhook-secret-0123456789";

fn temp_dir(tag: &str) -> TempDir {
    crate::support::temp::dir(&format!("serve-{tag}"))
}

/// A running `serve`: its JSON log (stdout) and stderr go to files.
struct Serve {
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
    addr: SocketAddr,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_process(dir: &Path, config: &Value, args: &[&str]) -> (Child, PathBuf, PathBuf) {
    let cfg = dir.join("fleetscope.yaml");
    std::fs::write(&cfg, serde_yaml::to_string(config).unwrap()).unwrap();
    let (stdout, stderr) = (dir.join("serve.stdout"), dir.join("serve.stderr"));
    let child = Command::new(env!("CARGO_BIN_EXE_gpx_fleetscope"))
        .arg("serve")
        .arg("--config")
        .arg(&cfg)
        .args(args)
        .env("FLEETSCOPE_DATA_DIR", dir.join("data"))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout).unwrap())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    (child, stdout, stderr)
}

/// The JSON lines `serve` logged so far.
fn events(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path).unwrap_or_default().lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

/// Wait for the first logged event named `name` (the process must stay up).
fn wait_event(s: &mut Serve, name: &str) -> Value {
    wait_event_where(s, name, |_| true)
}

/// Wait for the first logged event named `name` for which `pred` holds.
fn wait_event_where(s: &mut Serve, name: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(e) = events(&s.stdout).into_iter().find(|e| e["event"] == name && pred(e)) {
            return e;
        }
        if let Ok(Some(st)) = s.child.try_wait() {
            panic!("serve exited ({st}) before {name:?}: {}", std::fs::read_to_string(&s.stderr).unwrap_or_default());
        }
        assert!(Instant::now() < deadline, "no {name:?} event; stdout: {}", std::fs::read_to_string(&s.stdout).unwrap_or_default());
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn start(dir: &Path, config: &Value, args: &[&str]) -> Serve {
    let (child, stdout, stderr) = start_process(dir, config, args);
    let mut s = Serve { child, stdout, stderr, addr: "127.0.0.1:1".parse().unwrap() };
    let listening = wait_event(&mut s, "listening");
    s.addr = listening["address"].as_str().unwrap().parse().unwrap();
    s
}

/// The stack's demo settings (every backend on east/west/edge) plus `serve` tokens.
fn demo_config() -> Value {
    let env = stack_env();
    let text = std::fs::read_to_string(Path::new(&env["FLEETSCOPE_STACK_DIR"]).join("settings-demo.json")).unwrap();
    let mut cfg: Value = serde_json::from_str(&text).unwrap();
    cfg["jsonData"]["serve"] = json!({ "tokens": [
        { "name": "reader", "scopes": ["read"] },
        { "name": "east-only", "scopes": ["read"], "clusters": ["east"] },
        { "name": "prod-only", "scopes": ["read"], "clusterSelector": "env=prod" },
        { "name": "hook", "scopes": ["webhook"] },
        { "name": "scraper", "scopes": ["metrics"] },
    ]});
    cfg["secureJsonData"] = json!({
        "serveToken.reader": READER,
        "serveToken.east-only": EAST_ONLY,
        "serveToken.prod-only": PROD_ONLY,
        "serveToken.hook": HOOK,
        "serveToken.scraper": SCRAPER,
        "east.webhookSecret": WEBHOOK_SECRET,
    });
    cfg
}

async fn call(http: &reqwest::Client, base: &str, method: &str, path: &str, body: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut req = http.request(method.parse().unwrap(), format!("{base}{path}"));
    if !body.is_empty() {
        req = req.header("content-type", "application/json").body(body.to_owned());
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn webhook_payload() -> String {
    json!({
        "version": "4", "status": "firing", "receiver": "fleetscope", "groupKey": "{}:{}",
        "alerts": [{ "status": "firing", "labels": {"alertname": "ServeAuthTest", "severity": "warning"},
            "annotations": {}, "startsAt": "2026-01-01T00:00:00Z", "endsAt": "0001-01-01T00:00:00Z", "fingerprint": "5e1f0a0b0c0d0e0f" }]
    })
    .to_string()
}

fn cluster_ids_in(v: &Value) -> Vec<String> {
    let mut ids: Vec<String> = v["results"].as_array().into_iter().flatten().filter_map(|r| r["cluster_id"].as_str().map(str::to_owned)).collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_scopes_and_clusters_guard_every_endpoint() {
    let dir = temp_dir("auth");
    let env = stack_env();
    let end: f64 = env["STACK_DATA_END_MS"].parse::<f64>().unwrap() / 1000.0;
    let mut serve = start(&dir, &demo_config(), &["--listen", "127.0.0.1:0", "--ready-interval", "1"]);
    let base = format!("http://{}", serve.addr);
    let http = reqwest::Client::new();

    let q = format!(r#"{{"query":"up","time":{end}}}"#);
    let qr = format!(r#"{{"query":"up","start_time":{},"end_time":{end},"step":"1m"}}"#, end - 600.0);
    let reads: Vec<(&str, String, String)> = vec![
        ("GET", "/api/v1/clusters".into(), String::new()),
        ("POST", "/api/v1/metrics/query".into(), q.clone()),
        ("POST", "/api/v1/metrics/query_range".into(), qr),
        ("GET", "/api/v1/metrics/labels".into(), String::new()),
        ("GET", "/api/v1/metrics/label/job/values".into(), String::new()),
        ("GET", "/api/v1/metrics/series?match[]=up".into(), String::new()),
        ("GET", "/api/v1/metrics/metadata".into(), String::new()),
        ("GET", "/api/v1/logs/labels".into(), String::new()),
        ("GET", "/api/v1/traces/services".into(), String::new()),
        ("GET", "/api/v1/traces/tags".into(), String::new()),
        ("GET", "/api/v1/alerts".into(), String::new()),
        ("GET", "/api/v1/alerts/history".into(), String::new()),
        ("GET", "/api/v1/gpu/summary".into(), String::new()),
        ("GET", "/api/v1/cnf/sriov/status".into(), String::new()),
    ];
    for (m, path, body) in &reads {
        let (st, v) = call(&http, &base, m, path, body, &[]).await;
        assert_eq!(st, 401, "{m} {path} without a token: {v}");
        assert_eq!(v["error"]["code"], "UNAUTHORIZED", "{m} {path}: {v}");
        let (st, v) = call(&http, &base, m, path, body, &[("authorization", &bearer("not-a-token-0123456789"))]).await;
        assert_eq!(st, 401, "{m} {path} with an unknown token: {v}");
        for wrong in [HOOK, SCRAPER] {
            let (st, v) = call(&http, &base, m, path, body, &[("authorization", &bearer(wrong))]).await;
            assert_eq!(st, 403, "{m} {path} with a token lacking `read`: {v}");
            assert_eq!(v["error"]["code"], "FORBIDDEN", "{m} {path}: {v}");
            assert!(v["error"]["message"].as_str().unwrap().contains("\"read\""), "{v}");
        }
        for right in [READER, EAST_ONLY, PROD_ONLY] {
            let (st, v) = call(&http, &base, m, path, body, &[("authorization", &bearer(right))]).await;
            assert!(st == 200 || st == 206, "{m} {path} with a read token: {st} {v}");
        }
    }

    // Cluster restriction: by id…
    let auth = |t: &str| bearer(t);
    let (st, v) = call(&http, &base, "GET", "/api/v1/clusters", "", &[("authorization", &auth(EAST_ONLY))]).await;
    assert_eq!(st, 200);
    let ids: Vec<&str> = v["clusters"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["east"], "{v}");
    let (st, v) = call(&http, &base, "POST", "/api/v1/metrics/query", &q, &[("authorization", &auth(EAST_ONLY))]).await;
    assert_eq!((st, cluster_ids_in(&v)), (200, vec!["east".to_owned()]), "all clusters = the token's clusters: {v}");
    for (m, path, body) in [
        ("POST", "/api/v1/metrics/query", format!(r#"{{"query":"up","time":{end},"cluster_ids":["east","west"]}}"#)),
        ("GET", "/api/v1/metrics/labels?cluster_ids=west", String::new()),
        ("GET", "/api/v1/metrics/labels?cluster_id=prod-west-1", String::new()),
        ("GET", "/api/v1/gpu/nodes/west/any-node", String::new()),
        ("GET", "/api/v1/alerts?cluster_ids=no-such-cluster", String::new()),
    ] {
        let (st, v) = call(&http, &base, m, path, &body, &[("authorization", &auth(EAST_ONLY))]).await;
        assert_eq!(st, 403, "{m} {path} {body} outside the token's clusters: {v}");
        assert_eq!(v["error"]["code"], "FORBIDDEN", "{v}");
    }
    // …and by label selector (env=prod: east and west, not the lab cluster edge).
    let (st, v) = call(&http, &base, "POST", "/api/v1/metrics/query", &q, &[("authorization", &auth(PROD_ONLY))]).await;
    assert_eq!((st, cluster_ids_in(&v)), (200, vec!["east".to_owned(), "west".to_owned()]), "{v}");
    let (st, _) = call(&http, &base, "GET", "/api/v1/metrics/labels?cluster_ids=edge", "", &[("authorization", &auth(PROD_ONLY))]).await;
    assert_eq!(st, 403);
    let (st, v) = call(&http, &base, "POST", "/api/v1/metrics/query", &q, &[("authorization", &auth(READER))]).await;
    assert_eq!((st, cluster_ids_in(&v).len()), (200, 3), "an unrestricted token sees every cluster: {v}");

    // The webhook keeps its own secret.
    let hook = "/api/v1/alerts/webhook/east";
    let p = webhook_payload();
    let (st, v) = call(&http, &base, "POST", hook, &p, &[("authorization", &bearer(WEBHOOK_SECRET))]).await;
    assert_eq!(st, 200, "Alertmanager with the cluster's webhook secret: {v}");
    let (st, v) = call(&http, &base, "POST", hook, &p, &[]).await;
    assert_eq!((st, v["error"]["code"].as_str()), (401, Some("UNAUTHORIZED")), "no secret: {v}");
    let (st, v) = call(&http, &base, "POST", hook, &p, &[("authorization", &bearer(READER))]).await;
    assert_eq!((st, v["error"]["code"].as_str()), (403, Some("FORBIDDEN")), "a read token on the webhook: {v}");
    let (st, v) = call(&http, &base, "POST", hook, &p, &[("authorization", &bearer(HOOK))]).await;
    assert_eq!(st, 401, "a webhook token still needs the cluster's secret: {v}");
    let (st, v) = call(&http, &base, "POST", hook, &p, &[("authorization", &bearer(HOOK)), ("x-fleetscope-webhook-secret", WEBHOOK_SECRET)]).await;
    assert_eq!(st, 200, "webhook token + the cluster's secret: {v}");

    // Probes are open; /metrics wants the metrics scope and has what CollectMetrics has.
    let (st, v) = call(&http, &base, "GET", "/healthz", "", &[]).await;
    assert_eq!((st, v["status"].as_str()), (200, Some("ok")));
    wait_event_where(&mut serve, "readiness", |e| e["clusters_answering"] == 3);
    let (st, v) = call(&http, &base, "GET", "/readyz", "", &[]).await;
    assert_eq!((st, v["clusters_answering"].as_u64()), (200, Some(3)), "{v}");
    let (st, _) = call(&http, &base, "GET", "/metrics", "", &[]).await;
    assert_eq!(st, 401);
    let (st, _) = call(&http, &base, "GET", "/metrics", "", &[("authorization", &bearer(READER))]).await;
    assert_eq!(st, 403);
    let (st, v) = call(&http, &base, "GET", "/metrics", "", &[("authorization", &bearer(SCRAPER))]).await;
    let text = v.as_str().unwrap_or_default();
    assert_eq!(st, 200);
    for m in [
        "# TYPE fleetscope_upstream_request_duration_seconds histogram",
        "fleetscope_upstream_request_duration_seconds_count{backend=\"prometheus\",cluster_id=\"east\"}",
        "# TYPE fleetscope_circuit_breaker_open gauge",
        "fleetscope_serve_requests_total{status=\"401\"}",
    ] {
        assert!(text.contains(m), "/metrics lacks {m:?}:\n{text}");
    }

    // Request logs: JSON, an id per request (the caller's when sane), the token's name.
    let (_, _) = call(&http, &base, "GET", "/api/v1/clusters", "", &[("authorization", &bearer(READER)), ("x-request-id", "trace-me-42")]).await;
    let resp = http.get(format!("{base}/healthz")).header("x-request-id", "bad id with spaces").send().await.unwrap();
    let generated = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(generated.len() == 32 && generated.chars().all(|c| c.is_ascii_hexdigit()), "{generated}");
    drop(serve);
    let log = events(&dir.join("serve.stdout"));
    let requests: Vec<&Value> = log.iter().filter(|e| e["event"] == "request").collect();
    assert!(requests.len() > reads.len() * 6, "one line per request: {}", requests.len());
    let mine = requests.iter().find(|e| e["request_id"] == "trace-me-42").expect("the caller's request id is logged");
    assert_eq!((mine["token"].as_str(), mine["status"].as_u64(), mine["path"].as_str()), (Some("reader"), Some(200), Some("/api/v1/clusters")));
    assert!(requests.iter().any(|e| e["request_id"] == generated.as_str()), "the generated id is logged");
    let mut seen_ids: Vec<&str> = requests.iter().map(|e| e["request_id"].as_str().unwrap()).collect();
    seen_ids.sort();
    let n = seen_ids.len();
    seen_ids.dedup();
    assert_eq!(seen_ids.len(), n, "request ids are unique");
    let all = std::fs::read_to_string(dir.join("serve.stdout")).unwrap() + &std::fs::read_to_string(dir.join("serve.stderr")).unwrap();
    for secret in [READER, EAST_ONLY, PROD_ONLY, HOOK, SCRAPER, WEBHOOK_SECRET] {
        assert!(!all.contains(secret), "a token value reached the logs");
    }
}

#[test]
fn non_loopback_without_auth_refuses_to_start() {
    let dir = temp_dir("refuse");
    let mut cfg = demo_config();
    cfg["jsonData"]["serve"] = json!({});
    cfg["secureJsonData"] = json!({});
    let (mut child, _, stderr) = start_process(&dir, &cfg, &["--listen", "0.0.0.0:0"]);
    let status = child.wait().unwrap();
    let err = std::fs::read_to_string(&stderr).unwrap();
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.contains("refusing to serve on 0.0.0.0:0 without authentication"), "{err}");
    assert!(err.contains("--insecure-no-auth") && err.contains("jsonData.serve.tokens"), "{err}");

    // Overridden on purpose: it starts, and says so loudly (stderr and the JSON log).
    let dir = temp_dir("insecure");
    let (child, stdout, stderr) = start_process(&dir, &cfg, &["--listen", "0.0.0.0:0", "--insecure-no-auth"]);
    let mut s = Serve { child, stdout, stderr, addr: "127.0.0.1:1".parse().unwrap() };
    wait_event(&mut s, "listening");
    let warning = events(&s.stdout).into_iter().find(|e| e["event"] == "insecure_no_auth").expect("insecure_no_auth is logged");
    assert_eq!(warning["level"], "warn");
    assert!(std::fs::read_to_string(&s.stderr).unwrap().contains("WITHOUT AUTHENTICATION"));

    // A token too short to be a secret is a settings error naming its key.
    let dir = temp_dir("short");
    let mut cfg = demo_config();
    cfg["secureJsonData"]["serveToken.reader"] = json!("short");
    let (mut child, _, stderr) = start_process(&dir, &cfg, &["--listen", "127.0.0.1:0"]);
    assert_eq!(child.wait().unwrap().code(), Some(2));
    let err = std::fs::read_to_string(&stderr).unwrap();
    assert!(err.contains("serveToken.reader") && err.contains("shorter than 16"), "{err}");
    assert!(!err.contains("short\""), "the value is not echoed: {err}");
}

fn openssl(args: &[&str], dir: &Path) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl must be installed");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A CA (`<tag>-ca.crt`) and a server pair for 127.0.0.1 it signed (`<tag>.crt`, `<tag>.key`).
fn test_pki(dir: &Path, tag: &str) {
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    let mut ca = vec!["req", "-x509", "-days", "1", "-subj"];
    let subj = format!("/CN=fleetscope test CA {tag}");
    ca.push(&subj);
    ca.extend(ec);
    let (ca_key, ca_crt) = (format!("{tag}-ca.key"), format!("{tag}-ca.crt"));
    ca.extend(["-keyout", &ca_key, "-out", &ca_crt, "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"]);
    openssl(&ca, dir);
    let (key, csr, crt) = (format!("{tag}.key"), format!("{tag}.csr"), format!("{tag}.crt"));
    let mut req = vec!["req", "-new", "-subj", "/CN=127.0.0.1"];
    req.extend(ec);
    req.extend(["-keyout", &key, "-out", &csr]);
    openssl(&req, dir);
    let ext = format!("{tag}.ext");
    std::fs::write(dir.join(&ext), "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n").unwrap();
    openssl(&["x509", "-req", "-in", &csr, "-CA", &ca_crt, "-CAkey", &ca_key, "-CAcreateserial", "-days", "1", "-out", &crt, "-extfile", &ext], dir);
}

/// A fresh client (a fresh connection) trusting only `ca`.
async fn tls_get(ca: &Path, url: &str) -> Result<u16, String> {
    let cert = reqwest::Certificate::from_pem(&std::fs::read(ca).unwrap()).unwrap();
    let client = reqwest::Client::builder().tls_built_in_root_certs(false).add_root_certificate(cert).build().unwrap();
    client.get(url).send().await.map(|r| r.status().as_u16()).map_err(|e| format!("{e:?}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_with_a_test_ca_and_reload_on_change() {
    let dir = temp_dir("tls");
    test_pki(&dir, "one");
    test_pki(&dir, "two");
    let (cert, key) = (dir.join("serving.crt"), dir.join("serving.key"));
    std::fs::copy(dir.join("one.crt"), &cert).unwrap();
    std::fs::copy(dir.join("one.key"), &key).unwrap();
    let serve = start(&dir, &demo_config(), &["--listen", "127.0.0.1:0", "--tls-cert", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap()]);
    let url = format!("https://127.0.0.1:{}/healthz", serve.addr.port());
    assert_eq!(tls_get(&dir.join("one-ca.crt"), &url).await, Ok(200), "a client verifying the chain");
    let wrong = tls_get(&dir.join("two-ca.crt"), &url).await;
    assert!(wrong.is_err(), "a client trusting another CA must fail: {wrong:?}");
    let plain = reqwest::get(format!("http://127.0.0.1:{}/healthz", serve.addr.port())).await;
    assert!(plain.is_err() || plain.unwrap().status().as_u16() >= 400, "no plain HTTP on the TLS port");

    // Rotation as Kubernetes does it: new files renamed over the old ones.
    std::fs::copy(dir.join("two.crt"), dir.join("next.crt")).unwrap();
    std::fs::copy(dir.join("two.key"), dir.join("next.key")).unwrap();
    std::fs::rename(dir.join("next.key"), &key).unwrap();
    std::fs::rename(dir.join("next.crt"), &cert).unwrap();
    assert_eq!(tls_get(&dir.join("two-ca.crt"), &url).await, Ok(200), "the next connection gets the new certificate");
    assert!(tls_get(&dir.join("one-ca.crt"), &url).await.is_err(), "the old CA no longer verifies it");
    assert!(events(&serve.stdout).iter().any(|e| e["event"] == "tls_reloaded"));

    // A broken pair (key of another certificate) keeps the working one in service.
    std::fs::copy(dir.join("one.key"), dir.join("next.key")).unwrap();
    std::fs::rename(dir.join("next.key"), &key).unwrap();
    assert_eq!(tls_get(&dir.join("two-ca.crt"), &url).await, Ok(200), "a mismatched key does not take the service down");
    assert!(events(&serve.stdout).iter().any(|e| e["event"] == "tls_reload_failed"));
}

/// A TCP proxy to `target` that can be cut: the cluster "goes down".
async fn proxy(target: String) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let target = target.trim_start_matches("http://").to_owned();
    let task = tokio::spawn(async move {
        let mut conns = tokio::task::JoinSet::new();
        loop {
            let Ok((mut inbound, _)) = listener.accept().await else { return };
            let target = target.clone();
            conns.spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    (format!("http://{addr}"), task)
}

#[tokio::test(flavor = "multi_thread")]
async fn readyz_flips_when_every_cluster_is_down() {
    let env = stack_env();
    let dir = temp_dir("ready");
    let (east, east_proxy) = proxy(env["PROM_EAST_URL"].clone()).await;
    let (west, west_proxy) = proxy(env["PROM_WEST_URL"].clone()).await;
    let cfg = json!({ "jsonData": {
        "clusters": [
            { "id": "east", "prometheus": { "url": east } },
            { "id": "west", "prometheus": { "url": west } },
        ],
        "query": { "timeoutSeconds": 2, "retryAttempts": 1 },
    }});
    let mut serve = start(&dir, &cfg, &["--listen", "127.0.0.1:0", "--ready-interval", "1"]);
    let base = format!("http://{}", serve.addr);
    let http = reqwest::Client::new();
    let (st, v) = call(&http, &base, "GET", "/readyz", "", &[]).await;
    assert!(st == 503 || v["clusters_answering"] == 2, "before the first check: 503 NOT_READY: {st} {v}");
    wait_event_where(&mut serve, "readiness", |e| e["clusters_answering"] == 2);
    assert_eq!(call(&http, &base, "GET", "/readyz", "", &[]).await.0, 200);

    east_proxy.abort();
    let _ = east_proxy.await;
    // One cluster down is still ready (at least one answers)…
    let one = wait_event_where(&mut serve, "readiness", |e| e["clusters_answering"] == 1);
    assert_eq!(one["ready"], true);
    let (st, v) = call(&http, &base, "GET", "/readyz", "", &[]).await;
    assert_eq!((st, v["clusters_answering"].as_u64()), (200, Some(1)), "{v}");
    west_proxy.abort();
    let _ = west_proxy.await;
    // …every cluster down is not.
    let none = wait_event_where(&mut serve, "readiness", |e| e["clusters_answering"] == 0);
    assert_eq!((none["ready"].as_bool(), none["level"].as_str()), (Some(false), Some("warn")));
    let (st, v) = call(&http, &base, "GET", "/readyz", "", &[]).await;
    assert_eq!((st, v["error"]["code"].as_str()), (503, Some("NOT_READY")), "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("0 of 2"), "{v}");
    let (st, _) = call(&http, &base, "GET", "/healthz", "", &[]).await;
    assert_eq!(st, 200, "alive while not ready");
}

/// A Prometheus that answers at once, except queries for `slow_probe`, which
/// it holds until `release` (and reports on `arrived`).
async fn slow_prometheus() -> (String, tokio::sync::mpsc::Receiver<()>, Arc<tokio::sync::Notify>) {
    let (arrived_tx, arrived) = tokio::sync::mpsc::channel(8);
    let release = Arc::new(tokio::sync::Notify::new());
    let held = Arc::new(Mutex::new(false));
    let rel = release.clone();
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri, body: axum::body::Bytes| {
        let (arrived_tx, rel, held) = (arrived_tx.clone(), rel.clone(), held.clone());
        async move {
            if uri.path().ends_with("/status/buildinfo") {
                return axum::Json(json!({"status": "success", "data": {"version": "2.53.0"}}));
            }
            let asked = format!("{} {}", uri.query().unwrap_or(""), String::from_utf8_lossy(&body));
            let name = if asked.contains("slow_probe") { "slow_probe" } else { "up" };
            if name == "slow_probe" {
                *held.lock().unwrap() = true;
                let _ = arrived_tx.send(()).await;
                rel.notified().await;
            }
            axum::Json(json!({"status": "success", "data": {"resultType": "vector", "result": [
                {"metric": {"__name__": name}, "value": [1_700_000_000.0, "1"]}
            ]}}))
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), arrived, release)
}

fn sigterm(child: &Child) {
    let st = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill(1)");
    assert!(st.success(), "kill -TERM {}", child.id());
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_lets_a_slow_query_finish_and_refuses_new_connections() {
    let dir = temp_dir("sigterm");
    let (url, mut arrived, release) = slow_prometheus().await;
    let cfg = json!({ "jsonData": {
        "clusters": [{ "id": "slow", "prometheus": { "url": url } }],
        "query": { "timeoutSeconds": 60, "retryAttempts": 1 },
    }});
    let mut serve = start(&dir, &cfg, &["--listen", "127.0.0.1:0", "--shutdown-timeout", "120"]);
    let base = format!("http://{}", serve.addr);
    let in_flight = tokio::spawn({
        let base = base.clone();
        async move { call(&reqwest::Client::new(), &base, "POST", "/api/v1/metrics/query", r#"{"query":"slow_probe"}"#, &[]).await }
    });
    arrived.recv().await.expect("the query reached the upstream");

    sigterm(&serve.child);
    wait_event(&mut serve, "shutdown_started");
    let refused = tokio::net::TcpStream::connect(serve.addr).await;
    assert!(refused.is_err(), "new connections are refused once shutdown started");
    assert!(!in_flight.is_finished(), "the slow query is still in flight");
    assert!(serve.child.try_wait().unwrap().is_none(), "the process waits for it");

    release.notify_one();
    let (st, v) = in_flight.await.unwrap();
    assert_eq!(st, 200, "the in-flight query finished with its answer: {v}");
    assert_eq!(v["results"][0]["data"][0]["metric"]["__name__"], "slow_probe", "{v}");
    let status = serve.child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let order: Vec<String> = events(&serve.stdout)
        .iter()
        .filter(|e| e["event"] != "readiness")
        .map(|e| match e["event"].as_str().unwrap() {
            "request" => format!("request {}", e["path"].as_str().unwrap()),
            other => other.to_owned(),
        })
        .collect();
    assert_eq!(order, ["listening", "shutdown_started", "request /api/v1/metrics/query", "shutdown_complete"], "{order:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_is_bounded_by_its_timeout() {
    let dir = temp_dir("bounded");
    let (url, mut arrived, _release) = slow_prometheus().await;
    let cfg = json!({ "jsonData": {
        "clusters": [{ "id": "slow", "prometheus": { "url": url } }],
        "query": { "timeoutSeconds": 600, "maxTimeoutSeconds": 600, "retryAttempts": 1 },
    }});
    let mut serve = start(&dir, &cfg, &["--listen", "127.0.0.1:0", "--shutdown-timeout", "1"]);
    let base = format!("http://{}", serve.addr);
    let in_flight = tokio::spawn(async move {
        reqwest::Client::new().post(format!("{base}/api/v1/metrics/query")).body(r#"{"query":"slow_probe"}"#).send().await.map(|r| r.status())
    });
    arrived.recv().await.expect("the query reached the upstream");
    sigterm(&serve.child);
    // Never released: the timeout cuts it.
    let status = serve.child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "a cut shutdown exits 1");
    assert!(in_flight.await.unwrap().is_err(), "the stuck request was cut");
    let ev: Vec<Value> = events(&serve.stdout);
    let cut = ev.iter().find(|e| e["event"] == "shutdown_timeout").expect("shutdown_timeout is logged");
    assert_eq!(cut["cut_connections"], 1);
}
