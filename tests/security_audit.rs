//! Security audit against the real stack and the release binary:
//!
//! * secrets from `secureJsonData` (bearer token, basic-auth password, webhook
//!   secret) never appear in the binary's stderr at debug level, in any HTTP
//!   answer of `serve` (data, errors, cluster list, webhook), in the CLI's
//!   frames (JSON) or in frames built in process (JSON and Arrow bytes) — while
//!   a recording upstream proves they were really sent where they belong;
//! * TLS verification is on by default: a self-signed upstream fails unless
//!   the endpoint sets `tlsSkipVerify`;
//! * only registered URLs are called: a redirect is refused (its target sees
//!   nothing), and no query field names a host;
//! * the webhook of a cluster with a secret refuses deliveries without it;
//! * `serve`'s own bearer tokens (`serveToken.<name>`) never appear in its
//!   JSON request log (stdout), its stderr at debug level, or any answer —
//!   accepted, refused, wrong scope, wrong cluster, presented on the webhook,
//!   or almost right (one character off).
//!
//! Needs FLEETSCOPE_STACK_ENV (set by `make test`) and `openssl` on PATH.

use std::collections::HashMap;
use std::io::Read;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fleetscope::federation::{self, Federation};
use fleetscope::frames;
use fleetscope::query::{self, QueryEnvelope, TimeRange};
use fleetscope::registry::Registry;

use crate::support::ports::reserve as free_port;
use crate::support::stack_env::stack_env;
use crate::support::temp::TempDir;

fn temp_dir(tag: &str) -> TempDir {
    crate::support::temp::dir(&format!("security-{tag}"))
}

struct Secrets {
    bearer: String,
    password: String,
    webhook: String,
}

impl Secrets {
    fn new() -> Self {
        let n = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0);
        Secrets { bearer: format!("tok-Z9{n:x}-bearer"), password: format!("pw-Q7{n:x}-basic"), webhook: format!("wh-K3{n:x}-hook") }
    }

    /// Every form a secret could leak in.
    fn needles(&self) -> Vec<String> {
        let basic = b64(format!("auditor:{}", self.password).as_bytes());
        vec![self.bearer.clone(), self.password.clone(), self.webhook.clone(), basic]
    }
}

fn b64(input: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(input)
}

/// Fail if any secret occurs in `text` (named `what`).
fn assert_clean(what: &str, text: &str, s: &Secrets) {
    for n in s.needles() {
        if let Some(i) = text.find(&n) {
            let from = text[..i].char_indices().rev().nth(120).map_or(0, |(j, _)| j);
            panic!("{what} contains a secret: …{}…", &text[from..(i + n.len()).min(text.len())]);
        }
    }
}

/// An upstream that records each request's path and Authorization header and
/// answers with `status` (and a redirect to `location`, if any).
type Seen = (String, Option<String>);

#[derive(Clone, Default)]
struct Recorder {
    /// (path, Authorization header) of each request.
    seen: Arc<Mutex<Vec<Seen>>>,
}

async fn recorder(status: u16, location: Option<String>) -> (String, Recorder) {
    let rec = Recorder::default();
    let r = rec.clone();
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri, headers: axum::http::HeaderMap| {
        let r = r.clone();
        let location = location.clone();
        async move {
            let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned);
            r.seen.lock().unwrap().push((uri.path().to_owned(), auth));
            let mut resp = axum::response::Response::builder().status(status).header("content-type", "text/plain");
            if let Some(l) = location {
                resp = resp.header("location", l);
            }
            resp.body(axum::body::Body::from("upstream says no")).unwrap()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), rec)
}

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `openssl s_server` with a fresh self-signed certificate for 127.0.0.1.
/// One per cluster: s_server serves one connection at a time.
fn self_signed_server(dir: &Path, tag: &str) -> (Proc, u16) {
    let (key, cert) = (dir.join(format!("{tag}-key.pem")), dir.join(format!("{tag}-cert.pem")));
    let st = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl must be installed");
    assert!(st.success(), "openssl req failed");
    let port = free_port();
    let child = Command::new("openssl")
        .args(["s_server", "-quiet", "-www", "-accept", &port.to_string()])
        .arg("-cert")
        .arg(&cert)
        .arg("-key")
        .arg(&key)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let p = Proc(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "openssl s_server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    (p, port)
}

struct Setup {
    yaml: String,
    auth_rec: Recorder,
    redirect_rec: Recorder,
    witness: Recorder,
    east_rec_url: String,
    _tls: (Proc, Proc),
    dir: TempDir,
}

async fn setup(s: &Secrets) -> Setup {
    let env = stack_env();
    let dir = temp_dir("audit");
    let (witness_url, witness) = recorder(200, None).await;
    let (auth_url, auth_rec) = recorder(500, None).await;
    let (redirect_url, redirect_rec) = recorder(302, Some(format!("{witness_url}/api/v1/query"))).await;
    let (tls, tls_port) = self_signed_server(&dir, "verify");
    let (tls_skip, tls_skip_port) = self_signed_server(&dir, "skip");
    let yaml = format!(
        r#"jsonData:
  query: {{timeoutSeconds: 3, retryAttempts: 2, retryDelaySeconds: 0.05}}
  cache: {{enabled: false}}
  alerts: {{historyPath: "{history}"}}
  clusters:
    - {{id: east, name: prod-east-1, prometheus: {{url: "{east}"}}}}
    - {{id: auth, name: auth-cluster, prometheus: {{url: "{auth_url}", basicAuthUser: auditor}}}}
    - {{id: redir, name: redirecting-cluster, prometheus: {{url: "{redirect_url}"}}}}
    - {{id: tls, name: self-signed-cluster, prometheus: {{url: "https://127.0.0.1:{tls_port}"}}}}
    - {{id: tlsskip, name: self-signed-skip, prometheus: {{url: "https://127.0.0.1:{tls_skip_port}", tlsSkipVerify: true}}}}
    - {{id: dead, name: dead-cluster, prometheus: {{url: "{dead}"}}}}
secureJsonData:
  east.bearerToken: "{bearer}"
  east.webhookSecret: "{webhook}"
  auth.basicAuthPassword: "{password}"
  redir.bearerToken: "{bearer}"
  tls.bearerToken: "{bearer}"
  dead.bearerToken: "{bearer}"
"#,
        history = dir.join("history.sqlite").display(),
        east = env["PROM_EAST_URL"],
        dead = env["DEAD_URL"],
        bearer = s.bearer,
        webhook = s.webhook,
        password = s.password,
    );
    Setup { yaml, auth_rec, redirect_rec, witness, east_rec_url: env["PROM_EAST_URL"].clone(), _tls: (tls, tls_skip), dir }
}

fn webhook_payload() -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/alertmanager/webhook_v4_firing_single_alert.alertbot-example.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_never_leave_the_plugin() {
    let s = Secrets::new();
    let su = setup(&s).await;
    let cfg = su.dir.join("fleetscope.yaml");
    std::fs::write(&cfg, &su.yaml).unwrap();
    let end: i64 = stack_env()["STACK_DATA_END_MS"].parse().unwrap();
    let t = end as f64 / 1000.0;

    // 1. `serve` at debug level, every kind of answer.
    let port = free_port();
    let stderr_path = su.dir.join("serve.stderr");
    let child = Command::new(env!("CARGO_BIN_EXE_gpx_fleetscope"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--config")
        .arg(&cfg)
        .env("RUST_LOG", "debug")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap();
    let serve = Proc(child);
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while http.get(format!("{base}/api/v1/clusters")).send().await.is_err() {
        assert!(Instant::now() < deadline, "serve did not start: {}", std::fs::read_to_string(&stderr_path).unwrap_or_default());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let all = r#""cluster_ids":["east","auth","redir","tls","tlsskip","dead"]"#;
    // (method, path, body, headers)
    type Call<'a> = (&'a str, String, String, Vec<(&'a str, String)>);
    let calls: Vec<Call> = vec![
        ("GET", "/api/v1/clusters".into(), String::new(), vec![]),
        ("POST", "/api/v1/metrics/query".into(), format!(r#"{{"query":"fleetscope_probe_value",{all},"time":{t}}}"#), vec![]),
        (
            "POST",
            "/api/v1/metrics/query_range".into(),
            format!(r#"{{"query":"up",{all},"start_time":{},"end_time":{t},"step":"1m"}}"#, t - 600.0),
            vec![],
        ),
        ("GET", "/api/v1/metrics/labels?cluster_ids=east,auth,redir,tls,dead".into(), String::new(), vec![]),
        ("GET", "/api/v1/metrics/label/job/values?cluster_ids=east,auth".into(), String::new(), vec![]),
        ("POST", "/api/v1/metrics/query".into(), r#"{"query":"sum(","cluster_ids":["east"]}"#.into(), vec![]),
        ("POST", "/api/v1/metrics/query".into(), r#"{"query":"up","cluster_ids":["http://evil.example"]}"#.into(), vec![]),
        ("POST", "/api/v1/alerts/webhook/east".into(), webhook_payload(), vec![]),
        ("POST", "/api/v1/alerts/webhook/east".into(), webhook_payload(), vec![("authorization", "Bearer not-the-secret".into())]),
        ("POST", "/api/v1/alerts/webhook/east".into(), webhook_payload(), vec![("authorization", format!("Bearer {}", s.webhook))]),
        ("GET", "/api/v1/alerts/history?cluster_ids=east".into(), String::new(), vec![]),
    ];
    let mut answers = Vec::new();
    for (method, path, body, headers) in &calls {
        let mut req = http.request(method.parse().unwrap(), format!("{base}{path}")).body(body.clone());
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        assert_clean(&format!("{method} {path} → {status}"), &text, &s);
        answers.push((path.clone(), status, text));
    }
    let status_of = |i: usize| answers[i].1;
    assert_eq!(status_of(1), 206, "partial results: {}", answers[1].2);
    assert!(answers[1].2.contains("prod-east-1"), "{}", answers[1].2);
    assert_eq!(status_of(7), 401, "webhook without its secret: {}", answers[7].2);
    assert_eq!(status_of(8), 401, "webhook with a wrong secret: {}", answers[8].2);
    assert_eq!(status_of(9), 200, "webhook with its secret: {}", answers[9].2);
    assert_eq!(status_of(6), 404, "a URL is not a cluster: {}", answers[6].2);
    drop(serve);

    // 2. The CLI: frames as JSON, and `check`.
    let out = Command::new(env!("CARGO_BIN_EXE_gpx_fleetscope"))
        .args([
            "query",
            "--output",
            "json",
            "--instant",
            "--clusters",
            "east,auth,redir,tls,tlsskip,dead",
            "--to",
            &format!("{t}"),
            "fleetscope_probe_value",
        ])
        .arg("--config")
        .arg(&cfg)
        .env("RUST_LOG", "debug")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("fleetscope_probe_value") || stdout.contains("probe-0"), "frames printed: {stdout}");
    assert_clean("query --output json (stdout)", &stdout, &s);
    assert_clean("query --output json (stderr)", &String::from_utf8_lossy(&out.stderr), &s);
    let out = Command::new(env!("CARGO_BIN_EXE_gpx_fleetscope")).arg("check").arg("--config").arg(&cfg).env("RUST_LOG", "debug").output().unwrap();
    assert_clean("check (stdout)", &String::from_utf8_lossy(&out.stdout), &s);
    assert_clean("check (stderr)", &String::from_utf8_lossy(&out.stderr), &s);

    let mut log = String::new();
    std::fs::File::open(&stderr_path).unwrap().read_to_string(&mut log).unwrap();
    assert!(log.contains("DEBUG"), "serve logged at debug level: {}", &log[..log.len().min(500)]);
    assert_clean("serve stderr at RUST_LOG=debug", &log, &s);

    // The secrets were in use: the upstreams that should get them did.
    let auth_seen = su.auth_rec.seen.lock().unwrap().clone();
    let basic = format!("Basic {}", b64(format!("auditor:{}", s.password).as_bytes()));
    assert!(auth_seen.iter().any(|(_, a)| a.as_deref() == Some(basic.as_str())), "basic auth reached its upstream: {auth_seen:?}");
    let redirect_seen = su.redirect_rec.seen.lock().unwrap().clone();
    let bearer = format!("Bearer {}", s.bearer);
    assert!(redirect_seen.iter().any(|(_, a)| a.as_deref() == Some(bearer.as_str())), "the bearer token reached its upstream");
    assert!(su.witness.seen.lock().unwrap().is_empty(), "the redirect target was never called: {:?}", su.witness.seen.lock().unwrap());
    let _ = &su.east_rec_url;
    let _ = std::fs::remove_dir_all(&su.dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn frames_debug_output_and_tls_defaults() {
    let s = Secrets::new();
    let su = setup(&s).await;
    let registry = Registry::from_yaml(&su.yaml).unwrap();
    assert_clean("Debug of the registry", &format!("{registry:?}"), &s);
    let fed = Federation::new(registry);
    assert_clean("Debug of the federation", &format!("{fed:?}"), &s);
    let end: i64 = stack_env()["STACK_DATA_END_MS"].parse().unwrap();
    let env = QueryEnvelope { ref_id: "A".into(), time_range: TimeRange::new(end - 60_000, end).unwrap(), interval_ms: 15_000, max_data_points: 100 };
    let req = query::parse("", br#"{"expr":"fleetscope_probe_value","instant":true}"#, env).unwrap();
    let frames = federation::execute(&fed, &req).await.unwrap();
    let json = String::from_utf8(frames::json::frames_to_json_bytes(&frames)).unwrap();
    assert_clean("frames (JSON)", &json, &s);
    for f in &frames {
        let arrow = frames::arrow::encode(f).unwrap();
        assert_clean("frames (Arrow bytes)", &String::from_utf8_lossy(&arrow), &s);
    }
    let statuses = frames[0].meta.as_ref().unwrap().custom.as_ref().unwrap()["clusters"].as_array().unwrap().clone();
    let by_id = |id: &str| statuses.iter().find(|c| c["cluster_id"] == id).unwrap_or_else(|| panic!("{id}: {statuses:?}")).clone();
    assert_eq!(by_id("east")["status"], "SUCCESS");
    // TLS verification is on by default: the self-signed certificate is refused…
    let tls = by_id("tls");
    assert_eq!(tls["error_code"], "CLUSTER_UNREACHABLE", "{tls}");
    let msg = tls["error"].as_str().unwrap().to_lowercase();
    assert!(msg.contains("certificate") || msg.contains("unknownissuer"), "{tls}");
    // …and accepted only with tlsSkipVerify (the handshake succeeds; s_server's page is no Prometheus answer).
    let skip = by_id("tlsskip");
    let msg = skip["error"].as_str().unwrap_or("").to_lowercase();
    assert!(!msg.contains("certificate") && !msg.contains("unknownissuer"), "tlsSkipVerify: {skip}");
    // Registered URLs only.
    let redir = by_id("redir");
    assert_eq!(redir["error_code"], "UPSTREAM_ERROR", "{redir}");
    assert!(redir["error"].as_str().unwrap().contains("refused"), "{redir}");
    assert!(su.witness.seen.lock().unwrap().is_empty());
    let _ = std::fs::remove_dir_all(&su.dir);
}

/// Query fields cannot point the plugin at a host: clusters are ids from the
/// registry, names that become URL path segments are validated, and nothing
/// reaches a host that was not registered.
#[tokio::test(flavor = "multi_thread")]
async fn no_query_field_reaches_an_unregistered_host() {
    let (witness_url, witness) = recorder(200, None).await;
    let witness_addr: SocketAddr = witness_url.trim_start_matches("http://").parse().unwrap();
    let (ok_url, ok) = recorder(200, None).await;
    let json = format!(
        r#"{{"cache":{{"enabled":false}},"query":{{"timeoutSeconds":2,"retryAttempts":1}},"clusters":[{{"id":"a","prometheus":{{"url":"{ok_url}"}},"tempo":{{"url":"{ok_url}"}},"loki":{{"url":"{ok_url}"}}}}]}}"#
    );
    let fed = Federation::new(Registry::from_grafana(json.as_bytes(), &HashMap::new()).unwrap());
    let env =
        || QueryEnvelope { ref_id: "A".into(), time_range: TimeRange::new(1_000_000, 2_000_000).unwrap(), interval_ms: 15_000, max_data_points: 100 };
    let hostile = [
        format!(r#"{{"expr":"up","clusters":["{witness_url}"]}}"#),
        format!(r#"{{"expr":"up","clusters":["//{witness_addr}"]}}"#),
        format!(r#"{{"expr":"up","url":"{witness_url}","datasource":{{"url":"{witness_url}"}}}}"#),
        format!(r#"{{"queryType":"traces","tracesView":"trace","traceId":"{witness_url}"}}"#),
        format!(r#"{{"queryType":"logs","expr":"{{a=\"b\"}}","clusters":["{witness_addr}"]}}"#),
    ];
    for q in &hostile {
        if let Ok(req) = query::parse("", q.as_bytes(), env()) {
            let _ = federation::execute(&fed, &req).await;
        }
    }
    for path in [
        format!("api/v1/metrics/label/%2F%2F{witness_addr}%2Fx/values"),
        format!("api/v1/metrics/label/@{witness_addr}/values"),
        format!("api/v1/traces/tag/@{witness_addr}/values"),
        format!("api/v1/traces/%2F%2F{witness_addr}"),
    ] {
        let resp = fleetscope::api::handle(&fed, fleetscope::api::ApiRequest::new("GET", &path, "", bytes::Bytes::new())).await;
        assert!((400..500).contains(&resp.status), "{path}: {}", String::from_utf8_lossy(&resp.body));
    }
    assert!(witness.seen.lock().unwrap().is_empty(), "a query reached an unregistered host: {:?}", witness.seen.lock().unwrap());
    let seen = ok.seen.lock().unwrap().clone();
    assert!(seen.iter().all(|(p, _)| p.starts_with("/api/") || p.starts_with("/loki/api/")), "registered host, API paths only: {seen:?}");
}

/// Regression test for a finding of this audit (fixed): a cluster without
/// `secureJsonData.<id>.webhookSecret` accepted webhook deliveries from anyone
/// who could reach the resource endpoint, and wrote them to the alert history.
/// Now every delivery to such a cluster is refused with 401, naming the missing secret.
#[tokio::test(flavor = "multi_thread")]
async fn webhook_without_a_configured_secret_is_refused() {
    let dir = temp_dir("webhook");
    let json = format!(
        r#"{{"alerts":{{"historyPath":"{}"}},"clusters":[{{"id":"open","prometheus":{{"url":"http://127.0.0.1:9"}}}}]}}"#,
        dir.join("h.sqlite").display()
    );
    let fed = Federation::new(Registry::from_grafana(json.as_bytes(), &HashMap::new()).unwrap());
    let resp = fleetscope::api::handle(
        &fed,
        fleetscope::api::ApiRequest::new("POST", "api/v1/alerts/webhook/open", "", bytes::Bytes::from(webhook_payload())),
    )
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    let body = String::from_utf8_lossy(&resp.body);
    assert_eq!(resp.status, 401, "{body}");
    assert!(body.contains("no webhookSecret is configured") && body.contains("open"), "{body}");
}

/// `serve` tokens: the request log names the token, never its value; no
/// answer or log line carries a value, whatever the outcome.
#[tokio::test(flavor = "multi_thread")]
async fn serve_tokens_never_reach_logs_or_answers() {
    let env = stack_env();
    let dir = temp_dir("serve-tokens");
    let n = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0);
    let (reader, east_only, hook) = (format!("rd-V8{n:x}-serve-token"), format!("ea-P4{n:x}-serve-token"), format!("hk-W2{n:x}-serve-token"));
    let webhook_secret = format!("wh-J6{n:x}-webhook");
    let yaml = format!(
        r#"jsonData:
  clusters:
    - id: east
      prometheus: {{url: "{east}"}}
      alertmanager: {{url: "{am}"}}
    - id: west
      prometheus: {{url: "{west}"}}
  serve:
    tokens:
      - {{name: reader, scopes: [read]}}
      - {{name: east-only, scopes: [read], clusters: [east]}}
      - {{name: hook, scopes: [webhook]}}
secureJsonData:
  serveToken.reader: "{reader}"
  serveToken.east-only: "{east_only}"
  serveToken.hook: "{hook}"
  east.webhookSecret: "{webhook_secret}"
"#,
        east = env["PROM_EAST_URL"],
        west = env["PROM_WEST_URL"],
        am = env["ALERTMANAGER_URL"],
    );
    let cfg = dir.join("fleetscope.yaml");
    std::fs::write(&cfg, yaml).unwrap();
    let port = free_port();
    let (stdout_path, stderr_path) = (dir.join("serve.stdout"), dir.join("serve.stderr"));
    let child = Command::new(env!("CARGO_BIN_EXE_gpx_fleetscope"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--config")
        .arg(&cfg)
        .env("RUST_LOG", "debug")
        .env("FLEETSCOPE_DATA_DIR", dir.join("data"))
        .stdout(std::fs::File::create(&stdout_path).unwrap())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap();
    let serve = Proc(child);
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while http.get(format!("{base}/healthz")).send().await.is_err() {
        assert!(Instant::now() < deadline, "serve did not start: {}", std::fs::read_to_string(&stderr_path).unwrap_or_default());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let off_by_one = format!("{}X", &reader[..reader.len() - 1]);
    // (method, path, bearer token, headers)
    type Call<'a> = (&'a str, &'a str, Option<String>, Vec<(&'a str, String)>);
    let calls: Vec<Call> = vec![
        ("GET", "/api/v1/clusters", Some(reader.clone()), vec![]),
        ("GET", "/api/v1/clusters", Some(off_by_one.clone()), vec![]),
        ("GET", "/api/v1/clusters", Some(hook.clone()), vec![]),
        ("GET", "/api/v1/metrics/labels?cluster_ids=west", Some(east_only.clone()), vec![]),
        ("GET", "/api/v1/metrics/labels", Some(east_only.clone()), vec![]),
        ("GET", "/metrics", Some(reader.clone()), vec![]),
        ("POST", "/api/v1/alerts/webhook/east", Some(reader.clone()), vec![]),
        ("POST", "/api/v1/alerts/webhook/east", Some(hook.clone()), vec![]),
        ("POST", "/api/v1/alerts/webhook/east", Some(hook.clone()), vec![("x-fleetscope-webhook-secret", webhook_secret.clone())]),
        ("POST", "/api/v1/alerts/webhook/west", Some(webhook_secret.clone()), vec![]),
    ];
    let needles = [reader.as_str(), east_only.as_str(), hook.as_str(), webhook_secret.as_str(), off_by_one.as_str()];
    let check = |what: &str, text: &str| {
        for n in needles {
            assert!(!text.contains(n), "{what} contains a token or secret value");
        }
    };
    let mut statuses = Vec::new();
    for (method, path, token, headers) in &calls {
        let mut req =
            http.request(method.parse().unwrap(), format!("{base}{path}")).body(if *method == "POST" { webhook_payload() } else { String::new() });
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        let resp = req.send().await.unwrap();
        statuses.push(resp.status().as_u16());
        let head = format!("{:?}", resp.headers());
        let text = resp.text().await.unwrap();
        check(&format!("{method} {path} answer"), &(head + &text));
    }
    assert_eq!(statuses, [200, 401, 403, 403, 200, 403, 403, 401, 200, 401], "the outcomes the audit covers");
    drop(serve);
    let stdout = std::fs::read_to_string(&stdout_path).unwrap();
    let stderr = std::fs::read_to_string(&stderr_path).unwrap();
    assert!(stdout.contains(r#""token":"east-only""#), "the log names tokens: {stdout}");
    assert!(stderr.contains("DEBUG"), "serve logged at debug level");
    check("serve's JSON request log", &stdout);
    check("serve's stderr at RUST_LOG=debug", &stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Credentials a discovery source hands out (a registry's per-cluster token)
/// and the source's own token are used — the upstream and the registry see
/// them — and appear nowhere else: not in `serve`'s answers (cluster list with
/// sources, query errors) or its debug log, not in the CLI's frames, `check`
/// output or debug log.
#[tokio::test(flavor = "multi_thread")]
async fn discovered_credentials_never_leave_the_plugin() {
    let dir = temp_dir("discovery");
    let registry_token = format!("registry-{}", b64(&rand::random::<[u8; 12]>()));
    let cluster_token = format!("discovered-{}", b64(&rand::random::<[u8; 12]>()));
    let (upstream_url, upstream) = recorder(500, None).await;
    let seen_registry_auth = Arc::new(Mutex::new(Vec::<String>::new()));
    let answer = serde_json::json!({"clusters": [
        {"id": "found", "name": "found-cluster", "status": "online", "labels": {"env": "prod"},
         "endpoints": {"prometheus": {"url": upstream_url}}, "secrets": {"bearerToken": cluster_token}},
        {"id": "broken", "status": "online", "endpoints": {"prometheus": {"url": "http://x"}}, "secrets": {"bogus": cluster_token}}
    ]});
    let seen = seen_registry_auth.clone();
    let app = axum::Router::new().route(
        "/clusters",
        axum::routing::get(move |headers: axum::http::HeaderMap| {
            let (seen, answer) = (seen.clone(), answer.clone());
            async move {
                seen.lock().unwrap().push(headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned());
                axum::Json(answer)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let registry_url = format!("http://{}/clusters", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let cfg = dir.join("fleetscope.yaml");
    std::fs::write(
        &cfg,
        format!(
            "jsonData:\n  query: {{timeoutSeconds: 3, retryAttempts: 1}}\n  alerts: {{historyPath: \"{}\"}}\n  discovery:\n    - {{type: registry, name: central, url: \"{registry_url}\"}}\nsecureJsonData:\n  discoverySources.central.bearerToken: \"{registry_token}\"\n",
            dir.join("history.sqlite").display()
        ),
    )
    .unwrap();
    let needles = [registry_token.as_str(), cluster_token.as_str()];
    let clean = |what: &str, text: &str| {
        for n in needles {
            assert!(!text.contains(n), "{what} contains a discovered credential");
        }
    };

    // `serve` at debug level: the cluster list (with the source and its skipped entry) and a failing query.
    let port = free_port();
    let stderr_path = dir.join("serve.stderr");
    let serve = Proc(
        Command::new(env!("CARGO_BIN_EXE_gpx_fleetscope"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--config")
            .arg(&cfg)
            .env("RUST_LOG", "debug")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr_path).unwrap())
            .spawn()
            .unwrap(),
    );
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let listed = loop {
        if let Ok(r) = http.get(format!("{base}/api/v1/clusters")).send().await {
            let text = r.text().await.unwrap();
            if text.contains("found-cluster") {
                break text;
            }
        }
        assert!(
            Instant::now() < deadline,
            "serve never listed the discovered cluster: {}",
            std::fs::read_to_string(&stderr_path).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    clean("GET /api/v1/clusters", &listed);
    assert!(listed.contains("\"source\":\"central\"") && listed.contains("bogus"), "the source and its skipped entry are listed: {listed}");
    let q = http.post(format!("{base}/api/v1/metrics/query")).body(r#"{"query":"up","cluster_ids":["found"]}"#).send().await.unwrap();
    clean("POST /api/v1/metrics/query", &q.text().await.unwrap());
    drop(serve);
    let log = std::fs::read_to_string(&stderr_path).unwrap();
    assert!(log.contains("DEBUG"), "serve logged at debug level");
    clean("serve stderr at RUST_LOG=debug", &log);

    // The CLI: frames and `check`.
    for args in [vec!["query", "--output", "json", "--instant", "up"], vec!["check"]] {
        let out = Command::new(env!("CARGO_BIN_EXE_gpx_fleetscope")).args(&args).arg("--config").arg(&cfg).env("RUST_LOG", "debug").output().unwrap();
        clean(&format!("{args:?} stdout"), &String::from_utf8_lossy(&out.stdout));
        clean(&format!("{args:?} stderr"), &String::from_utf8_lossy(&out.stderr));
    }

    // They were in use.
    assert!(seen_registry_auth.lock().unwrap().iter().all(|a| *a == format!("Bearer {registry_token}")));
    let bearer = format!("Bearer {cluster_token}");
    assert!(upstream.seen.lock().unwrap().iter().any(|(_, a)| a.as_deref() == Some(bearer.as_str())), "the discovered token reached its upstream");
    let _ = std::fs::remove_dir_all(&dir);
}
