//! Fault matrix: every upstream fault a cluster can throw at the plugin, one
//! faulty cluster beside a healthy one, for each backend client (Prometheus,
//! Loki, Tempo, Alertmanager, Kubernetes).
//!
//! The faulty cluster is a raw-TCP server in this file that answers every
//! request with one fault and counts what reaches it (requests, or connections
//! for the TLS fault). The healthy cluster is a real Prometheus (and the real
//! Alertmanager) from tests/stack, or a replay of recorded Loki/Tempo answers,
//! or the Kubernetes-API replay of tests/support/kube_api.rs (GPU nodes whose
//! nvidia-smi answers are real captures).
//!
//! Kubernetes (`queryType: gpu`, `source: nvidia-smi`) is faulted three ways:
//! on the node list (the first request), on the driver pod list (after a good
//! node list, `kubernetes_pods`), and on the exec websocket of the node's
//! nvidia-smi (`kubernetes_exec`: upgrade refused, silence, a drip, output over
//! `MAX_EXEC_OUTPUT`, a non-zero exit, garbage on stdout, a socket closed
//! mid-stream). List reads follow the read retry policy; an exec is never
//! retried.
//!
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

#[path = "support/mod.rs"]
mod harness;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fleetscope::federation::{self, Federation};
use fleetscope::frames::{FieldValues, Frame, NoticeSeverity};
use fleetscope::query::{self, QueryEnvelope, TimeRange};
use fleetscope::registry::Registry;
use kube_api::{ExecMode, ExecReply};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use harness::kube_api;

/// Attempts per read (`query.retryAttempts`) used by every case.
const ATTEMPTS: usize = 3;
/// `query.maxResponseBytes` used by every case.
const CAP: usize = 256 * 1024;

/// Held by each case for its whole life, runtime included: a tokio runtime
/// owns fds (epoll, eventfd, a socket pair), so cases must not overlap.
static SERIAL: Mutex<()> = Mutex::new(());

/// Run one case on its own runtime, alone in the process.
fn run_case(kind: Kind, fault: Option<Fault>, special: Option<&'static str>) {
    alone(case(kind, fault, special));
}

fn alone(case: impl std::future::Future<Output = ()>) {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_all().build().unwrap();
    rt.block_on(case);
}

use harness::stack_env::stack_env;

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
    /// `Content-Encoding: gzip`, ~1 KiB on the wire that inflates to 4 × the cap.
    GzipBomb,
    /// `Content-Encoding: gzip` on bytes that are not gzip.
    GzipGarbage,
}

/// `body` gzip-compressed, as an upstream that honours `Accept-Encoding: gzip` sends it.
fn gzip(body: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(body).unwrap();
    enc.finish().unwrap()
}

struct FaultServer {
    addr: SocketAddr,
    /// Requests (or, for TlsGarbage, connections) seen.
    hits: Arc<AtomicUsize>,
    /// When each was seen.
    times: Arc<Mutex<Vec<Instant>>>,
    task: tokio::task::JoinHandle<()>,
}

/// A path the fault server answers well (200, JSON, keep-alive) before the
/// faulted request: the faults then hit a later call of the client.
type Canned = Option<(&'static str, String)>;

impl FaultServer {
    async fn start(fault: Fault, wrong_shape: &'static str, redirect_to: Option<SocketAddr>) -> FaultServer {
        FaultServer::start_after(fault, wrong_shape, redirect_to, None).await
    }

    async fn start_after(fault: Fault, wrong_shape: &'static str, redirect_to: Option<SocketAddr>, canned: Canned) -> FaultServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(AtomicUsize::new(0));
        let times = Arc::new(Mutex::new(Vec::new()));
        let (h, t) = (hits.clone(), times.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    return;
                };
                let (h, t, c) = (h.clone(), t.clone(), canned.clone());
                tokio::spawn(async move {
                    let _ = serve_one(sock, fault, wrong_shape, redirect_to, c, h, t).await;
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
    canned: Canned,
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
    loop {
        let Some(head) = read_request(&mut sock).await? else {
            return Ok(());
        };
        let path = head.split_whitespace().nth(1).unwrap_or("").split('?').next().unwrap_or("");
        match &canned {
            Some((p, body)) if *p == path => {
                let ok = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}", body.len());
                sock.write_all(ok.as_bytes()).await?;
            }
            _ => break,
        }
    }
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
        Fault::InvalidJson => {
            sock.write_all(respond("200 OK", json, "", r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":"#).as_bytes())
                .await?
        }
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
        Fault::GzipBomb => {
            let body = gzip(format!(r#"{{"status":"success","pad":"{}"}}"#, "z".repeat(CAP * 4)).as_bytes());
            assert!(body.len() < CAP / 64, "a bomb is small on the wire: {} bytes", body.len());
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: {json}\r\ncontent-encoding: gzip\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            sock.write_all(head.as_bytes()).await?;
            sock.write_all(&body).await?
        }
        Fault::GzipGarbage => {
            let body = "this is not gzip, whatever the header says";
            sock.write_all(respond("200 OK", json, "content-encoding: gzip\r\n", body).as_bytes()).await?
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
    /// GPU probe over exec; the fault is on the node list.
    Kubernetes,
    /// GPU probe over exec; the node list is fine, the fault is on the driver pod list.
    KubernetesPods,
}

impl Kind {
    fn key(self) -> &'static str {
        match self {
            Kind::Prometheus => "prometheus",
            Kind::Loki => "loki",
            Kind::Tempo => "tempo",
            Kind::Alertmanager => "alertmanager",
            Kind::Kubernetes | Kind::KubernetesPods => "kubernetes",
        }
    }

    fn is_kube(self) -> bool {
        matches!(self, Kind::Kubernetes | Kind::KubernetesPods)
    }

    /// The cluster's endpoint object for this backend.
    fn endpoint(self, url: &str) -> String {
        if self.is_kube() { format!(r#"{{"server":"{url}"}}"#) } else { format!(r#"{{"url":"{url}"}}"#) }
    }

    /// What the fault server answers well before the faulted request.
    fn canned(self) -> Canned {
        match self {
            Kind::KubernetesPods => {
                let list = serde_json::json!({"kind": "NodeList", "apiVersion": "v1", "metadata": {}, "items": [kube_api::gpu_node("bad-node", 1)]});
                Some(("/api/v1/nodes", list.to_string()))
            }
            _ => None,
        }
    }

    /// A valid JSON body this backend's converter cannot use.
    fn wrong_shape(self) -> &'static str {
        match self {
            Kind::Prometheus => r#"{"status":"success","data":{"resultType":"vector","result":{"metric":{},"value":"not an array"}}}"#,
            Kind::Loki => r#"{"status":"success","data":{"resultType":"streams","result":[{"stream":[1,2],"values":"x"}]}}"#,
            Kind::Tempo => r#"{"traces":{"traceID":42},"metrics":[]}"#,
            Kind::Alertmanager => r#"{"alerts":[{"labels":"none"}]}"#,
            Kind::Kubernetes => r#"{"kind":"NodeList","apiVersion":"v1","metadata":{},"items":{"metadata":{"name":7}}}"#,
            Kind::KubernetesPods => r#"{"kind":"PodList","apiVersion":"v1","metadata":{},"items":[{"metadata":{"name":["x"]},"spec":"none"}]}"#,
        }
    }
}

/// Asserts what the healthy cluster's frames hold.
type FrameCheck = Box<dyn Fn(&[Frame]) + Send>;

/// The healthy cluster of a case: where it lives and how its data is checked.
struct Healthy {
    endpoint_json: String,
    query: String,
    time_range: TimeRange,
    check: FrameCheck,
    _keep: Option<tokio::task::JoinHandle<()>>,
}

fn field_values(f: &Frame) -> Option<&Vec<f64>> {
    f.fields.get(1).and_then(|fl| match &fl.values {
        FieldValues::F64(v) => Some(v),
        _ => None,
    })
}

fn label<'a>(f: &'a Frame, name: &str) -> Option<&'a str> {
    f.fields.get(1).and_then(|fl| fl.labels.get(name)).map(String::as_str)
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
                        .filter_map(|f| Some((label(f, "cluster_id")?.to_owned(), label(f, "instance")?.to_owned(), field_values(f)?.clone())))
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
            let app = axum::Router::new()
                .route("/loki/api/v1/query_range", axum::routing::get(move || async move { ([("content-type", "application/json")], body) }));
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
            let app =
                axum::Router::new().route("/api/search", axum::routing::get(move || async move { ([("content-type", "application/json")], body) }));
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
        Kind::Kubernetes | Kind::KubernetesPods => {
            let (url, api) = kube_api::start().await;
            gpu_cluster(&api, "ok-h100", ExecReply::ok(fixture("nvidia-smi", H100)));
            Healthy {
                endpoint_json: kind.endpoint(&url),
                query: r#"{"queryType":"gpu","view":"gpus","source":"nvidia-smi","clusters":["ok","faulty"]}"#.into(),
                time_range: {
                    let now = chrono::Utc::now().timestamp_millis();
                    TimeRange::new(now - 60_000, now).unwrap()
                },
                check: Box::new(|frames| {
                    let f = frames.iter().find(|f| f.name == "gpus").expect("the gpus frame");
                    assert_eq!(strings(f, "cluster_id"), vec!["ok"], "only the healthy cluster has GPU rows");
                    assert_eq!(strings(f, "node"), vec!["ok-h100"]);
                    assert_eq!(strings(f, "model"), vec!["NVIDIA H100 80GB HBM3"]);
                    let power = f.fields.iter().find(|fl| fl.name == "power_draw_w").map(|fl| fl.values.clone());
                    assert_eq!(power, Some(FieldValues::NullableF64(vec![Some(631.95)])), "the replayed nvidia-smi capture, exactly");
                }),
                _keep: None,
            }
        }
    }
}

/// The real nvidia-smi capture of an H100 under load.
const H100: &str = "query_gpu_all_fields.h100-80gb-hbm3.drv590.load.nvidia_gpu_exporter.csv";

/// Script one GPU node and its driver pod on a Kubernetes-API replay; its
/// `--query-gpu` exec answers `gpus`, its `--query-compute-apps` nothing.
fn gpu_cluster(api: &kube_api::KubeApi, node: &str, gpus: ExecReply) {
    use fleetscope::probes::gpu::nvidia_smi::{QUERY_APPS_COMMAND, QUERY_GPU_COMMAND};
    api.list("/api/v1/nodes", vec![kube_api::gpu_node(node, 1)]);
    api.list(&format!("/api/v1/namespaces/{}/pods", kube_api::GPU_NAMESPACE), vec![kube_api::driver_pod(node)]);
    let pod = format!("nvidia-driver-daemonset-{node}");
    api.exec(kube_api::GPU_NAMESPACE, &pod, Some(&QUERY_GPU_COMMAND), gpus);
    api.exec(kube_api::GPU_NAMESPACE, &pod, Some(&QUERY_APPS_COMMAND), ExecReply::ok(""));
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
        OversizeDeclared | OversizeChunked | GzipBomb => ("RESPONSE_TOO_LARGE", 1, "maxresponsebytes"),
        GzipGarbage => ("UPSTREAM_ERROR", 1, "body read failed"),
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
          {{"id":"faulty","name":"faulty-1","{k}":{faulty}}}]}}"#,
        k = kind.key(),
        faulty = kind.endpoint(faulty_url)
    )
}

async fn run(fed: &Federation, h: &Healthy) -> Result<Vec<Frame>, fleetscope::error::FleetError> {
    let env = QueryEnvelope { ref_id: "A".into(), time_range: h.time_range, interval_ms: 15_000, max_data_points: 1000 };
    let req = query::parse("", h.query.as_bytes(), env)?;
    let frames = federation::execute(fed, &req).await?;
    harness::assert_frame_invariants(&frames);
    Ok(frames)
}

/// The faulty cluster's status entry and warnings, wherever the kind puts them.
/// Only GPU frames may carry Info notices (each cluster's telemetry source).
fn faulty_report(kind: Kind, frames: &[Frame]) -> (String, String, Vec<String>) {
    let mut notices = Vec::new();
    let mut status = None;
    for f in frames {
        let Some(meta) = &f.meta else { continue };
        for n in &meta.notices {
            if kind.is_kube() && n.severity == NoticeSeverity::Info {
                continue;
            }
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
        Some(f) => Some(FaultServer::start_after(f, kind.wrong_shape(), Some(witness.addr), kind.canned()).await),
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
    let label = format!("{kind:?} × {}", fault.map(|f| format!("{f:?}")).unwrap_or_else(|| special.unwrap().to_owned()));
    let (code, error) = assert_faulty(kind, &frames, &label, exp.code, exp.mentions);
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

/// The faulty cluster's code, error text and notices; returns the code and error.
fn assert_faulty(kind: Kind, frames: &[Frame], label: &str, want: &str, mentions: &str) -> (String, String) {
    let (code, error, notices) = faulty_report(kind, frames);
    assert_eq!(code, want, "{label}: error code (error: {error})");
    assert!(error.to_lowercase().contains(mentions), "{label}: error should mention {mentions:?}: {error}");
    assert!(error.contains("faulty-1"), "{label}: the error names the cluster: {error}");
    assert!(notices.iter().any(|n| n.starts_with("PARTIAL_RESULTS: 1 of 2")), "{label}: {notices:?}");
    assert!(notices.iter().any(|n| n.starts_with(want) && n.contains("faulty-1")), "{label}: notice with the code: {notices:?}");
    (code, error)
}

// ---------------------------------------------------------------------------
// Kubernetes exec faults
// ---------------------------------------------------------------------------

/// The faulty cluster's lists are fine; the exec of nvidia-smi on its one GPU
/// node answers `reply`. A node's exec failure is that node's error; with its
/// only node failed the cluster fails with the node's code (a timeout or an
/// output over the cap say so), else UPSTREAM_ERROR.
async fn exec_case(what: &'static str, reply: ExecReply, want: &'static str, mentions: &'static str) {
    let kind = Kind::Kubernetes;
    let env = stack_env();
    let h = healthy(kind, &env).await;
    let (url, api) = kube_api::start().await;
    gpu_cluster(&api, "bad-node", reply);
    let json = settings(&h.endpoint_json, kind, &url);
    let before = open_fds();
    let fed = Federation::new(Registry::from_grafana(json.as_bytes(), &Default::default()).unwrap());
    let started = Instant::now();
    let frames = run(&fed, &h).await.unwrap_or_else(|e| panic!("exec {what}: the healthy cluster must keep the query alive: {e}"));
    let took = started.elapsed();
    (h.check)(&frames);
    let label = format!("KubernetesExec × {what}");
    let (code, error) = assert_faulty(kind, &frames, &label, want, mentions);
    let execs = api.seen_execs.lock().unwrap().clone();
    assert_eq!(execs.len(), 1, "{label}: one exec of --query-gpu, never retried (and no --query-compute-apps after it failed): {execs:?}");
    // Each exec has half the cluster's 3 s budget: a hung exec costs that, not the cluster's timeout.
    let bound = if want == "QUERY_TIMEOUT" { Duration::from_millis(2500) } else { Duration::from_millis(1400) };
    assert!(took < bound, "{label}: took {took:?}, more than {bound:?}");
    eprintln!("fault-matrix | {label} | {code} | execs {} | {took:?} | {error}", execs.len());
    drop(frames);
    drop(fed);
    assert_fds_settle(before, &label).await;
}

mod kubernetes_exec {
    use super::*;

    fn h100() -> String {
        fixture("nvidia-smi", H100)
    }

    #[test]
    fn upgrade_refused_403() {
        alone(exec_case(
            "403",
            ExecReply::broken(ExecMode::Refuse(403), ""),
            "UPSTREAM_ERROR",
            "http 403: pods \"nvidia-driver-daemonset-bad-node\" is forbidden",
        ))
    }

    /// kube's own retry layer (15 tries on 429/503/504) must not replay an exec.
    #[test]
    fn upgrade_refused_503_is_not_retried() {
        alone(exec_case("503", ExecReply::broken(ExecMode::Refuse(503), ""), "UPSTREAM_ERROR", "http 503"))
    }

    #[test]
    fn exec_never_answers() {
        alone(exec_case("silent", ExecReply::broken(ExecMode::Silent, ""), "QUERY_TIMEOUT", "exec did not finish within 1.5s"))
    }

    #[test]
    fn exec_drips() {
        alone(exec_case("drip", ExecReply::broken(ExecMode::Drip, ""), "QUERY_TIMEOUT", "exec did not finish within 1.5s"))
    }

    #[test]
    fn exec_output_over_the_cap() {
        let big = "0".repeat(fleetscope::upstream::kube::MAX_EXEC_OUTPUT + 1);
        alone(exec_case("oversize", ExecReply::ok(big), "RESPONSE_TOO_LARGE", "exec output exceeds 4194304 bytes"))
    }

    #[test]
    fn non_zero_exit_status() {
        let reply = ExecReply::fail(9, "Failed to initialize NVML: Driver/library version mismatch\n");
        alone(exec_case("exit 9", reply, "UPSTREAM_ERROR", "exited with code 9: failed to initialize nvml"))
    }

    #[test]
    fn stdout_garbage() {
        let reply = ExecReply::ok("<html><body>Segmentation fault (core dumped)</body></html>\n\u{1b}[31m\u{0}\u{7f}\n");
        alone(exec_case("garbage", reply, "UPSTREAM_ERROR", "expected 13"))
    }

    #[test]
    fn socket_closed_mid_stream() {
        alone(exec_case("closed", ExecReply::broken(ExecMode::CloseMidStream, h100()), "UPSTREAM_ERROR", "without a status"))
    }
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

/// Compressed answers: only the HTTP backends ask for them (the Kubernetes
/// client does not send `Accept-Encoding`).
macro_rules! gzip_faults {
    ($kind:ident, $modname:ident) => {
        mod $modname {
            use super::*;
            #[test]
            fn gzip_bomb_is_capped_inflated() {
                run_case(Kind::$kind, Some(Fault::GzipBomb), None)
            }
            #[test]
            fn gzip_garbage() {
                run_case(Kind::$kind, Some(Fault::GzipGarbage), None)
            }
        }
    };
}

faults!(Prometheus, prometheus);
faults!(Loki, loki);
faults!(Tempo, tempo);
faults!(Alertmanager, alertmanager);
gzip_faults!(Prometheus, prometheus_gzip);
gzip_faults!(Loki, loki_gzip);
gzip_faults!(Tempo, tempo_gzip);
gzip_faults!(Alertmanager, alertmanager_gzip);
faults!(Kubernetes, kubernetes);
faults!(KubernetesPods, kubernetes_pods);
