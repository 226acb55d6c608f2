//! Fault matrix: every upstream fault a cluster can throw at the plugin, one
//! faulty cluster beside a healthy one, for each HTTP backend client.
//!
//! The faulty cluster is a raw-TCP server in this file that answers every
//! request with one fault and counts what reaches it (requests, or connections
//! for the TLS fault). The healthy cluster is a real Prometheus (and the real
//! Alertmanager) from tests/stack, or a replay of recorded Loki/Tempo answers.
//! Each case asserts:
//!
//! * the healthy cluster's data is intact (exact probe values for Prometheus);
//! * the faulty cluster is reported with the expected error code, in the
//!   frame's `meta.custom.clusters` and as a warning notice;
//! * the number of attempts the fault server saw matches the retry policy of
//!   `upstream::http` (retries only for reads, only on connect errors, 5xx, 429);
//! * no file descriptor outlives the federation (polled with a deadline).
//!
//! Cases are serialised by one lock: the fd count is process-wide.
//! Needs FLEETSCOPE_STACK_ENV (set by `make test`); fails without it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fleetscope::federation::{self, Federation};
use fleetscope::frames::{FieldValues, Frame, NoticeSeverity};
use fleetscope::query::{self, QueryEnvelope, TimeRange};
use fleetscope::registry::Registry;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Attempts per read (`query.retryAttempts`) used by every case.
const ATTEMPTS: usize = 3;
/// `query.maxResponseBytes` used by every case.
const CAP: usize = 256 * 1024;

/// Held by each case for its whole life, runtime included: a tokio runtime
/// owns fds (epoll, eventfd, a socket pair), so cases must not overlap.
static SERIAL: Mutex<()> = Mutex::new(());

/// Run one case on its own runtime, alone in the process.
fn run_case(kind: Kind, fault: Option<Fault>, special: Option<&'static str>) {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_all().build().unwrap();
    rt.block_on(case(kind, fault, special));
}

fn stack_env() -> HashMap<String, String> {
    let path = std::env::var("FLEETSCOPE_STACK_ENV")
        .unwrap_or_else(|_| panic!("FLEETSCOPE_STACK_ENV is not set: run these tests via `make test`, which starts tests/stack"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    text.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned())).collect()
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").expect("/proc/self/fd").count()
}

fn fd_listing() -> Vec<String> {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.filter_map(|e| e.ok()).filter_map(|e| std::fs::read_link(e.path()).ok()).map(|p| p.display().to_string()).collect())
        .unwrap_or_default()
}

/// Wait (bounded) until the process has no more fds than `before`.
async fn assert_fds_settle(before: usize, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let now = open_fds();
        if now <= before {
            return;
        }
        if Instant::now() > deadline {
            panic!("{what}: {now} fds open, {before} before the federation existed (leak?): {:?}", fd_listing());
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

// ---------------------------------------------------------------------------
// The fault server
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// Reads the request, never answers.
    HangBeforeHeaders,
    /// Headers, then one body byte every 200 ms.
    SlowBodyDrip,
    Status500,
    Html502,
    /// 429 with `Retry-After: 1`.
    TooManyRequests,
    /// `Content-Length` larger than what is sent, then close.
    TruncatedBody,
    InvalidJson,
    WrongShape,
    /// Body over the cap, announced by `Content-Length`.
    OversizeDeclared,
    /// Body over the cap, chunked (no length up front).
    OversizeChunked,
    /// 307 to another host (the witness server, which must see nothing).
    Redirect,
    /// Plain bytes on a port the cluster is told speaks https.
    TlsGarbage,
}

struct FaultServer {
    addr: SocketAddr,
    /// Requests (or, for TlsGarbage, connections) seen.
    hits: Arc<AtomicUsize>,
    /// When each was seen.
    times: Arc<Mutex<Vec<Instant>>>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultServer {
    async fn start(fault: Fault, wrong_shape: &'static str, redirect_to: Option<SocketAddr>) -> FaultServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(AtomicUsize::new(0));
        let times = Arc::new(Mutex::new(Vec::new()));
        let (h, t) = (hits.clone(), times.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else { return };
                let (h, t) = (h.clone(), t.clone());
                tokio::spawn(async move {
                    let _ = serve_one(sock, fault, wrong_shape, redirect_to, h, t).await;
                });
            }
        });
        FaultServer { addr, hits, times, task }
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Read one HTTP/1.1 request (head + Content-Length body). None on EOF.
async fn read_request(sock: &mut TcpStream) -> std::io::Result<Option<String>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = sock.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let len: usize = head
        .lines()
        .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("content-length")).map(|(_, v)| v.trim().parse().unwrap_or(0)))
        .unwrap_or(0);
    let mut have = buf.len() - head_end;
    while have < len {
        let n = sock.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        have += n;
    }
    Ok(Some(head))
}

/// Keep the connection until the client closes it (so the client decides when
/// sockets go away: a leak on its side stays visible).
async fn drain(mut sock: TcpStream) {
    let mut chunk = [0u8; 1024];
    while let Ok(n) = sock.read(&mut chunk).await {
        if n == 0 {
            break;
        }
    }
}

async fn serve_one(
    mut sock: TcpStream,
    fault: Fault,
    wrong_shape: &'static str,
    redirect_to: Option<SocketAddr>,
    hits: Arc<AtomicUsize>,
    times: Arc<Mutex<Vec<Instant>>>,
) -> std::io::Result<()> {
    let count = || {
        hits.fetch_add(1, Ordering::SeqCst);
        times.lock().unwrap().push(Instant::now());
    };
    if fault == Fault::TlsGarbage {
        count();
        // Whatever the ClientHello says, answer with plain HTTP.
        let mut chunk = [0u8; 1024];
        let _ = sock.read(&mut chunk).await?;
        sock.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}").await?;
        drain(sock).await;
        return Ok(());
    }
    let Some(_head) = read_request(&mut sock).await? else { return Ok(()) };
    count();
    let respond = |status: &str, ctype: &str, extra: &str, body: &str| {
        format!("HTTP/1.1 {status}\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\nconnection: close\r\n{extra}\r\n{body}", body.len())
    };
    let json = "application/json";
    match fault {
        Fault::HangBeforeHeaders => {}
        Fault::SlowBodyDrip => {
            sock.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 8000\r\nconnection: close\r\n\r\n").await?;
            loop {
                sock.write_all(b" ").await?;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        Fault::Status500 => sock.write_all(respond("500 Internal Server Error", "text/plain", "", "internal error: boom").as_bytes()).await?,
        Fault::Html502 => {
            let page = "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>";
            sock.write_all(respond("502 Bad Gateway", "text/html", "", page).as_bytes()).await?
        }
        Fault::TooManyRequests => {
            sock.write_all(respond("429 Too Many Requests", "text/plain", "retry-after: 1\r\n", "slow down").as_bytes()).await?
        }
        Fault::TruncatedBody => {
            sock.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 5000\r\nconnection: close\r\n\r\n{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[").await?;
            sock.shutdown().await?;
        }
        Fault::InvalidJson => sock.write_all(respond("200 OK", json, "", r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":"#).as_bytes()).await?,
        Fault::WrongShape => sock.write_all(respond("200 OK", json, "", wrong_shape).as_bytes()).await?,
        Fault::OversizeDeclared => {
            let body = format!(r#"{{"status":"success","pad":"{}"}}"#, "x".repeat(CAP * 2));
            sock.write_all(respond("200 OK", json, "", &body).as_bytes()).await?
        }
        Fault::OversizeChunked => {
            sock.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n").await?;
            let piece = "y".repeat(4096);
            for _ in 0..(CAP / 4096) * 4 {
                sock.write_all(format!("{:x}\r\n{piece}\r\n", piece.len()).as_bytes()).await?;
            }
            sock.write_all(b"0\r\n\r\n").await?;
        }
        Fault::Redirect => {
            let to = redirect_to.expect("witness");
            // Another host name (same loopback address, so a followed redirect is seen).
            let loc = format!("location: http://localhost:{}/api/v1/query\r\n", to.port());
            sock.write_all(respond("307 Temporary Redirect", "text/plain", &loc, "moved").as_bytes()).await?
        }
        Fault::TlsGarbage => unreachable!(),
    }
    drain(sock).await;
    Ok(())
}

// ---------------------------------------------------------------------------
// Clusters, queries and checks per backend
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Prometheus,
    Loki,
    Tempo,
    Alertmanager,
}

impl Kind {
    fn key(self) -> &'static str {
        match self {
            Kind::Prometheus => "prometheus",
            Kind::Loki => "loki",
            Kind::Tempo => "tempo",
            Kind::Alertmanager => "alertmanager",
        }
    }

    /// A valid JSON body this backend's converter cannot use.
    fn wrong_shape(self) -> &'static str {
        match self {
            Kind::Prometheus => r#"{"status":"success","data":{"resultType":"vector","result":{"metric":{},"value":"not an array"}}}"#,
            Kind::Loki => r#"{"status":"success","data":{"resultType":"streams","result":[{"stream":[1,2],"values":"x"}]}}"#,
            Kind::Tempo => r#"{"traces":{"traceID":42},"metrics":[]}"#,
            Kind::Alertmanager => r#"{"alerts":[{"labels":"none"}]}"#,
        }
    }
}

/// The healthy cluster of a case: where it lives and how its data is checked.
struct Healthy {
    endpoint_json: String,
    query: String,
    time_range: TimeRange,
    check: Box<dyn Fn(&[Frame]) + Send>,
    _keep: Option<tokio::task::JoinHandle<()>>,
}

fn field_values(f: &Frame) -> Option<&Vec<f64>> {
    f.fields.iter().find(|fl| fl.name == "Value").and_then(|fl| match &fl.values {
        FieldValues::F64(v) => Some(v),
        _ => None,
    })
}

fn label<'a>(f: &'a Frame, name: &str) -> Option<&'a str> {
    f.fields.iter().find(|fl| fl.name == "Value").and_then(|fl| fl.labels.get(name)).map(String::as_str)
}

/// A string column's values (plain or nullable), or nothing.
fn strings(f: &Frame, name: &str) -> Vec<String> {
    f.fields
        .iter()
        .filter(|fl| fl.name == name)
        .flat_map(|fl| match &fl.values {
            FieldValues::Str(v) => v.clone(),
            FieldValues::NullableStr(v) => v.iter().flatten().cloned().collect(),
            _ => Vec::new(),
        })
        .collect()
}

fn fixture(dir: &str, name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/fixtures/{dir}/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

async fn serve_router(app: axum::Router) -> (String, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let h = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), h)
}

async fn healthy(kind: Kind, env: &HashMap<String, String>) -> Healthy {
    match kind {
        Kind::Prometheus => {
            let end: i64 = env["STACK_DATA_END_MS"].parse().unwrap();
            Healthy {
                endpoint_json: format!(r#"{{"url":"{}"}}"#, env["PROM_EAST_URL"]),
                query: r#"{"expr":"fleetscope_probe_value","instant":true,"clusters":["ok","faulty"]}"#.into(),
                time_range: TimeRange::new(end - 60_000, end).unwrap(),
                check: Box::new(|frames| {
                    let mut got: Vec<(String, String, Vec<f64>)> = frames
                        .iter()
                        .filter_map(|f| {
                            Some((label(f, "cluster_id")?.to_owned(), label(f, "instance")?.to_owned(), field_values(f)?.clone()))
                        })
                        .collect();
                    got.sort_by(|a, b| a.1.cmp(&b.1));
                    assert_eq!(
                        got,
                        vec![("ok".into(), "probe-0".into(), vec![1.0]), ("ok".into(), "probe-1".into(), vec![10.0])],
                        "the healthy cluster's probe series, exactly"
                    );
                }),
                _keep: None,
            }
        }
        Kind::Loki => {
            let body = fixture("loki", "query_range_streams_forward.json");
            let app = axum::Router::new().route("/loki/api/v1/query_range", axum::routing::get(move || async move { ([("content-type", "application/json")], body) }));
            let (url, h) = serve_router(app).await;
            Healthy {
                endpoint_json: format!(r#"{{"url":"{url}"}}"#),
                query: r#"{"queryType":"logs","expr":"{app=\"llm-gateway\"}","clusters":["ok","faulty"]}"#.into(),
                time_range: TimeRange::new(1_795_256_017_796, 1_795_259_617_796).unwrap(),
                check: Box::new(|frames| {
                    let rows: usize = frames.iter().flat_map(|f| f.fields.iter()).filter(|fl| fl.name == "body").map(|fl| fl.len()).sum();
                    assert!(rows > 0, "the healthy cluster's log lines are there");
                    let ids: Vec<String> = frames
                        .iter()
                        .flat_map(|f| f.fields.iter())
                        .filter(|fl| fl.name == "labels")
                        .flat_map(|fl| match &fl.values {
                            FieldValues::Json(v) => v.iter().map(|l| l["cluster_id"].as_str().unwrap_or("").to_owned()).collect(),
                            _ => Vec::new(),
                        })
                        .collect();
                    assert_eq!(ids.len(), rows, "every line carries its labels");
                    assert!(ids.iter().all(|i| i == "ok"), "only the healthy cluster contributes lines: {ids:?}");
                }),
                _keep: Some(h),
            }
        }
        Kind::Tempo => {
            let body = fixture("tempo", "search_traceql_status_error.json");
            let app = axum::Router::new().route("/api/search", axum::routing::get(move || async move { ([("content-type", "application/json")], body) }));
            let (url, h) = serve_router(app).await;
            Healthy {
                endpoint_json: format!(r#"{{"url":"{url}"}}"#),
                query: r#"{"queryType":"traces","query":"{ status = error }","clusters":["ok","faulty"]}"#.into(),
                time_range: TimeRange::new(1_795_256_017_796, 1_795_259_617_796).unwrap(),
                check: Box::new(|frames| {
                    let rows: usize = frames.iter().map(|f| f.fields.first().map_or(0, |fl| fl.len())).sum();
                    assert!(rows > 0, "the healthy cluster's traces are there");
                }),
                _keep: Some(h),
            }
        }
        Kind::Alertmanager => {
            let am = env["ALERTMANAGER_URL"].clone();
            let run = format!("fault-{}-{}", std::process::id(), chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0));
            let alert = serde_json::json!([{
                "labels": {"alertname": "FaultMatrixProbe", "severity": "warning", "fault_run": run},
                "annotations": {"summary": "fault matrix"},
                "startsAt": chrono::Utc::now().to_rfc3339(),
                "endsAt": (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339(),
            }]);
            let c = reqwest::Client::new();
            let r = c.post(format!("{am}/api/v2/alerts")).header("content-type", "application/json").body(alert.to_string()).send().await.unwrap();
            assert!(r.status().is_success(), "{}", r.status());
            drop(c);
            Healthy {
                endpoint_json: format!(r#"{{"url":"{am}"}}"#),
                query: format!(r#"{{"queryType":"alerts","matchers":["fault_run=\"{run}\""],"clusters":["ok","faulty"]}}"#),
                time_range: {
                    let now = chrono::Utc::now().timestamp_millis();
                    TimeRange::new(now - 3_600_000, now).unwrap()
                },
                check: Box::new(|frames| {
                    let names: Vec<String> = frames.iter().flat_map(|f| strings(f, "alertname")).collect();
                    assert_eq!(names, vec!["FaultMatrixProbe".to_owned()], "the healthy Alertmanager's alert");
                }),
                _keep: None,
            }
        }
    }
}

/// What a case expects of the faulty cluster.
struct Expect {
    code: &'static str,
    /// Attempts the fault server must have seen (None: nothing to count).
    attempts: Option<usize>,
    /// Text the error must contain (lower-case match).
    mentions: &'static str,
}

fn expect(fault: Fault) -> Expect {
    use Fault::*;
    let (code, attempts, mentions) = match fault {
        HangBeforeHeaders => ("QUERY_TIMEOUT", 1, "no answer within"),
        SlowBodyDrip => ("QUERY_TIMEOUT", 1, "no answer within"),
        Status500 => ("UPSTREAM_ERROR", ATTEMPTS, "http 500"),
        Html502 => ("UPSTREAM_ERROR", ATTEMPTS, "502 bad gateway"),
        TooManyRequests => ("UPSTREAM_ERROR", ATTEMPTS, "http 429"),
        TruncatedBody => ("UPSTREAM_ERROR", 1, "body"),
        InvalidJson => ("UPSTREAM_ERROR", 1, "invalid response"),
        WrongShape => ("UPSTREAM_ERROR", 1, "invalid response"),
        OversizeDeclared | OversizeChunked => ("RESPONSE_TOO_LARGE", 1, "maxresponsebytes"),
        Redirect => ("UPSTREAM_ERROR", 1, "redirect"),
        TlsGarbage => ("CLUSTER_UNREACHABLE", ATTEMPTS, "cannot connect"),
    };
    Expect { code, attempts: Some(attempts), mentions }
}

fn settings(healthy: &str, kind: Kind, faulty_url: &str) -> String {
    format!(
        r#"{{"query":{{"timeoutSeconds":3,"retryAttempts":{ATTEMPTS},"retryDelaySeconds":0.05,"maxResponseBytes":{CAP}}},
        "cache":{{"enabled":false}},
        "clusters":[
          {{"id":"ok","name":"healthy-1","{k}":{healthy}}},
          {{"id":"faulty","name":"faulty-1","{k}":{{"url":"{faulty_url}"}}}}]}}"#,
        k = kind.key()
    )
}

async fn run(fed: &Federation, h: &Healthy) -> Result<Vec<Frame>, fleetscope::error::FleetError> {
    let env = QueryEnvelope { ref_id: "A".into(), time_range: h.time_range, interval_ms: 15_000, max_data_points: 1000 };
    let req = query::parse("", h.query.as_bytes(), env)?;
    federation::execute(fed, &req).await
}

/// The faulty cluster's status entry and notice, wherever the kind puts them.
fn faulty_report(frames: &[Frame]) -> (String, String, Vec<String>) {
    let mut notices = Vec::new();
    let mut status = None;
    for f in frames {
        let Some(meta) = &f.meta else { continue };
        for n in &meta.notices {
            assert_eq!(n.severity, NoticeSeverity::Warning, "{n:?}");
            notices.push(n.text.clone());
        }
        if let Some(list) = meta.custom.as_ref().and_then(|c| c.get("clusters")).and_then(|c| c.as_array()) {
            for s in list {
                if s["cluster_id"] == "faulty" && status.is_none() {
                    status = Some((s["error_code"].as_str().unwrap_or("").to_owned(), s["error"].as_str().unwrap_or("").to_owned()));
                }
                if s["cluster_id"] == "ok" {
                    assert_eq!(s["status"], "SUCCESS", "healthy cluster status: {s}");
                }
            }
        }
    }
    let (code, error) = status.unwrap_or_else(|| panic!("no meta.custom.clusters entry for the faulty cluster: {notices:?}"));
    (code, error, notices)
}

async fn case(kind: Kind, fault: Option<Fault>, special: Option<&str>) {
    let env = stack_env();
    let h = healthy(kind, &env).await;
    let witness = FaultServer::start(Fault::Status500, "", None).await;
    let server = match fault {
        Some(f) => Some(FaultServer::start(f, kind.wrong_shape(), Some(witness.addr)).await),
        None => None,
    };
    let (faulty_url, exp) = match (fault, special) {
        (Some(Fault::TlsGarbage), _) => (format!("https://127.0.0.1:{}", server.as_ref().unwrap().addr.port()), expect(Fault::TlsGarbage)),
        (Some(f), _) => (format!("http://{}", server.as_ref().unwrap().addr), expect(f)),
        (None, Some("refused")) => {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let port = l.local_addr().unwrap().port();
            drop(l);
            (format!("http://127.0.0.1:{port}"), Expect { code: "CLUSTER_UNREACHABLE", attempts: None, mentions: "cannot connect" })
        }
        (None, Some("dns")) => (
            "http://fleetscope-no-such-host.invalid:9090".to_owned(),
            Expect { code: "CLUSTER_UNREACHABLE", attempts: None, mentions: "cannot connect" },
        ),
        other => panic!("bad case {other:?}"),
    };
    let json = settings(&h.endpoint_json, kind, &faulty_url);
    let before = open_fds();
    let fed = Federation::new(Registry::from_grafana(json.as_bytes(), &Default::default()).unwrap());
    let frames = run(&fed, &h).await.unwrap_or_else(|e| panic!("{kind:?}/{fault:?}{special:?}: the healthy cluster must keep the query alive: {e}"));
    (h.check)(&frames);
    let (code, error, notices) = faulty_report(&frames);
    let label = format!("{kind:?} × {}", fault.map(|f| format!("{f:?}")).unwrap_or_else(|| special.unwrap().to_owned()));
    assert_eq!(code, exp.code, "{label}: error code (error: {error})");
    assert!(error.to_lowercase().contains(exp.mentions), "{label}: error should mention {:?}: {error}", exp.mentions);
    assert!(error.contains("faulty-1"), "{label}: the error names the cluster: {error}");
    assert!(notices.iter().any(|n| n.starts_with("PARTIAL_RESULTS: 1 of 2")), "{label}: {notices:?}");
    assert!(notices.iter().any(|n| n.starts_with(exp.code) && n.contains("faulty-1")), "{label}: notice with the code: {notices:?}");
    if let (Some(s), Some(want)) = (&server, exp.attempts) {
        assert_eq!(s.hits(), want, "{label}: attempts seen by the fault server (retry policy)");
        if fault == Some(Fault::TooManyRequests) {
            let t = s.times.lock().unwrap().clone();
            for w in t.windows(2) {
                assert!(w[1] - w[0] >= Duration::from_millis(900), "{label}: Retry-After: 1 honoured between attempts: {:?}", w[1] - w[0]);
            }
        }
    }
    assert_eq!(witness.hits(), 0, "{label}: no request may reach a host that is not registered");
    eprintln!("fault-matrix | {label} | {code} | attempts {:?} | {error}", server.as_ref().map(|s| s.hits()));
    drop(frames);
    drop(fed);
    assert_fds_settle(before, &label).await;
}

macro_rules! faults {
    ($kind:ident, $modname:ident) => {
        mod $modname {
            use super::*;
            #[test]
            fn connection_refused() {
                run_case(Kind::$kind, None, Some("refused"))
            }
            #[test]
            fn dns_failure() {
                run_case(Kind::$kind, None, Some("dns"))
            }
            #[test]
            fn tls_failure() {
                run_case(Kind::$kind, Some(Fault::TlsGarbage), None)
            }
            #[test]
            fn timeout_before_headers() {
                run_case(Kind::$kind, Some(Fault::HangBeforeHeaders), None)
            }
            #[test]
            fn slow_body_drip() {
                run_case(Kind::$kind, Some(Fault::SlowBodyDrip), None)
            }
            #[test]
            fn status_500() {
                run_case(Kind::$kind, Some(Fault::Status500), None)
            }
            #[test]
            fn html_502() {
                run_case(Kind::$kind, Some(Fault::Html502), None)
            }
            #[test]
            fn too_many_requests_with_retry_after() {
                run_case(Kind::$kind, Some(Fault::TooManyRequests), None)
            }
            #[test]
            fn truncated_body() {
                run_case(Kind::$kind, Some(Fault::TruncatedBody), None)
            }
            #[test]
            fn invalid_json() {
                run_case(Kind::$kind, Some(Fault::InvalidJson), None)
            }
            #[test]
            fn wrong_shape_json() {
                run_case(Kind::$kind, Some(Fault::WrongShape), None)
            }
            #[test]
            fn oversize_declared() {
                run_case(Kind::$kind, Some(Fault::OversizeDeclared), None)
            }
            #[test]
            fn oversize_chunked() {
                run_case(Kind::$kind, Some(Fault::OversizeChunked), None)
            }
            #[test]
            fn redirect_to_another_host() {
                run_case(Kind::$kind, Some(Fault::Redirect), None)
            }
        }
    };
}

faults!(Prometheus, prometheus);
faults!(Loki, loki);
faults!(Tempo, tempo);
faults!(Alertmanager, alertmanager);
