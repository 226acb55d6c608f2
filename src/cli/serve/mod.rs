//! `gpx_fleetscope serve`: the resource API (the same router CallResource
//! answers inside Grafana) as a standalone service.
//!
//! Layers, outermost first: the access log (one JSON line per request on
//! stdout, with a request id — the caller's `X-Request-Id` if it is sane, else
//! a fresh one — echoed in the response), then `/healthz` and `/readyz`
//! (unauthenticated, for probes), then [`auth`] around `/metrics` and the API.
//!
//! * `/healthz`: 200 while the process serves.
//! * `/readyz`: 200 once the settings loaded and the last health check (the
//!   one "Save & test" runs, every `--ready-interval`) found at least one
//!   enabled cluster answering (any of its registered backends); 503 `NOT_READY` before the first check, when
//!   no cluster answers, and while shutting down.
//! * `/metrics`: what CollectMetrics gives Grafana (scope `metrics`).
//! * SIGTERM/SIGINT: the listener closes at once (new connections are
//!   refused), requests in flight finish, idle keep-alive connections close;
//!   after `--shutdown-timeout` the rest are cut.
//! * Listening beyond loopback without tokens refuses to start unless
//!   `--insecure-no-auth`, which is logged loudly.

mod auth;
mod selector;
mod tls;

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Extension, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::api::{self, ApiRequest};
use crate::discovery::Live;
use crate::error::{ErrorCode, FleetError};
use crate::federation::health;
use crate::registry::Registry;
use crate::registry::settings::ConfigFile;
use auth::{Auth, View};
use tls::ReloadingTls;

/// `serve`'s command line.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Settings file: `jsonData:` and `secureJsonData:` as in Grafana provisioning.
    #[arg(long, env = "FLEETSCOPE_CONFIG")]
    config: PathBuf,
    #[arg(long, env = "FLEETSCOPE_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// PEM certificate chain; with --tls-key serves HTTPS (re-read when the files change).
    #[arg(long, env = "FLEETSCOPE_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    #[arg(long, env = "FLEETSCOPE_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve without authentication on a non-loopback address (anyone reaching the port reads every cluster).
    #[arg(long)]
    insecure_no_auth: bool,
    /// Seconds in-flight requests get to finish after SIGTERM.
    #[arg(long, env = "FLEETSCOPE_SHUTDOWN_TIMEOUT", default_value_t = 25)]
    shutdown_timeout: u64,
    /// Seconds between the readiness health checks.
    #[arg(long, env = "FLEETSCOPE_READY_INTERVAL", default_value_t = 10)]
    ready_interval: u64,
}

/// One structured log line on stdout: `{"ts","level","event",…fields}`.
pub(crate) fn log_event(level: &str, event: &str, fields: serde_json::Value) {
    let mut line = serde_json::json!({
        "ts": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "level": level,
        "event": event,
    });
    if let (Some(o), serde_json::Value::Object(f)) = (line.as_object_mut(), fields) {
        o.extend(f);
    }
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// The error body of the resource API (`{"error":{"code","message"}}`).
pub(crate) fn error_response(e: &FleetError) -> Response {
    let r = api::ApiResponse::error(e);
    (StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), [(header::CONTENT_TYPE, r.content_type)], r.body).into_response()
}

/// Per-request facts the access log reports (filled in by inner layers).
#[derive(Clone)]
pub(crate) struct RequestInfo(Arc<(String, Mutex<Option<String>>)>);

impl RequestInfo {
    fn id(&self) -> &str {
        &self.0.0
    }
    /// The name (never the value) of the token that authenticated the request.
    pub(crate) fn set_token(&self, name: &str) {
        *self.0.1.lock().unwrap_or_else(|p| p.into_inner()) = Some(name.to_owned());
    }
    fn token(&self) -> Option<String> {
        self.0.1.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// The peer of a connection.
#[derive(Clone, Copy)]
struct Peer(SocketAddr);

fn request_id(headers: &HeaderMap) -> String {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{:032x}", rand::random::<u128>()))
}

async fn access_log(mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let info = RequestInfo(Arc::new((request_id(req.headers()), Mutex::new(None))));
    req.extensions_mut().insert(info.clone());
    let method = req.method().to_string();
    let path = req.uri().path().to_owned();
    let remote = req.extensions().get::<Peer>().map(|p| p.0.to_string());
    let mut resp = next.run(req).await;
    if let Ok(v) = HeaderValue::from_str(info.id()) {
        resp.headers_mut().insert("x-request-id", v);
    }
    let status = resp.status().as_u16();
    crate::telemetry::count(
        "fleetscope_serve_requests_total",
        "Requests answered by `gpx_fleetscope serve`, by HTTP status.",
        &[("status", &status.to_string())],
        1.0,
    );
    log_event(
        if status >= 500 { "error" } else { "info" },
        "request",
        serde_json::json!({
            "request_id": info.id(),
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": (started.elapsed().as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0,
            "remote": remote,
            "token": info.token(),
        }),
    );
    resp
}

/// What `/readyz` answers.
#[derive(Default)]
struct Readiness {
    /// (clusters answering, clusters enabled) of the last check; `None` before the first.
    last: Option<(usize, usize)>,
    shutting_down: bool,
}

type SharedReadiness = Arc<Mutex<Readiness>>;

async fn healthz() -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], r#"{"status":"ok"}"#).into_response()
}

async fn readyz(State(ready): State<SharedReadiness>) -> Response {
    let r = ready.lock().unwrap_or_else(|p| p.into_inner());
    let not_ready = |m: String| error_response(&FleetError::new(ErrorCode::NotReady, m));
    match (r.shutting_down, r.last) {
        (true, _) => not_ready("shutting down".into()),
        (false, None) => not_ready("the first health check has not finished".into()),
        (false, Some((0, n))) => not_ready(format!("no cluster answers (0 of {n} enabled)")),
        (false, Some((ok, n))) => {
            let body = serde_json::json!({ "status": "ready", "clusters_answering": ok, "clusters_enabled": n });
            (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
        }
    }
}

/// Run the health check every `interval`; log when the count of answering clusters changes.
async fn readiness_loop(live: Arc<Live>, ready: SharedReadiness, interval: Duration) {
    loop {
        let report = health::check(&live.current()).await;
        let n = report.clusters.len();
        // Answering: at least one registered backend of the cluster answered the health check.
        let ok = report.clusters.iter().filter(|c| c.checks.iter().any(|b| b.status == crate::federation::status::Status::Success)).count();
        let was = ready.lock().unwrap_or_else(|p| p.into_inner()).last.replace((ok, n));
        if was != Some((ok, n)) {
            log_event(
                if ok > 0 { "info" } else { "warn" },
                "readiness",
                serde_json::json!({ "ready": ok > 0, "clusters_answering": ok, "clusters_enabled": n }),
            );
        }
        tokio::time::sleep(interval).await;
    }
}

async fn metrics(Extension(View(fed)): Extension<View>) -> Response {
    let text = crate::telemetry::exposition(&[("serve".to_owned(), fed.breakers.gauges())]);
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

async fn api_handler(Extension(View(fed)): Extension<View>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let headers = headers.iter().filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str(), v)));
    let req = ApiRequest::new(method.as_str(), uri.path(), uri.query().unwrap_or(""), body).with_headers(headers);
    let resp = api::handle(&fed, req).await;
    (
        StatusCode::from_u16(resp.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [(header::CONTENT_TYPE, resp.content_type), (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")],
        resp.body,
    )
        .into_response()
}

fn router(auth: Arc<Auth>, ready: SharedReadiness) -> Router {
    let protected = Router::new()
        .route("/metrics", get(metrics))
        .fallback(api_handler)
        .layer(middleware::from_fn_with_state(auth, auth::middleware))
        // Twice the API limit: bodies just over it reach `api::handle`, which names the limit.
        .layer(axum::extract::DefaultBodyLimit::max(2 * api::MAX_BODY_BYTES));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(ready)
        .merge(protected)
        .layer(middleware::from_fn(access_log))
}

/// Load settings: the registry, and the `serve` access policy with its secrets.
fn load(path: &PathBuf) -> Result<(Arc<Live>, Auth), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    from_text(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The live federation (its discovery sources start here: call inside the runtime) and the access policy.
fn from_text(text: &str) -> Result<(Arc<Live>, Auth), String> {
    let registry = Registry::from_yaml(text).map_err(|e| e.to_string())?;
    let file: ConfigFile = serde_yaml::from_str(text).map_err(|e| e.to_string())?;
    let secure: HashMap<String, String> = file.secure_json_data;
    let serve = registry.settings.serve.clone();
    let live = Arc::new(Live::new(registry));
    let auth = Auth::from_settings(&serve, &secure, &live).map_err(|e| format!("invalid serve settings: {e}"))?;
    Ok((live, auth))
}

/// Validate a `serve` settings file as `serve` would load it; the names of its
/// tokens (for tooling and the deployment tests).
pub fn validate_settings(text: &str) -> Result<Vec<String>, String> {
    from_text(text).map(|(_, auth)| auth.tokens().iter().map(|t| t.name.clone()).collect())
}

/// Run `serve` until SIGTERM/SIGINT; returns the exit code.
pub async fn run(args: ServeArgs) -> Result<i32, String> {
    let (live, auth) = load(&args.config)?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(c), Some(k)) => Some(Arc::new(ReloadingTls::load(c.clone(), k.clone())?)),
        _ => None,
    };
    let open_beyond_loopback = !args.listen.ip().is_loopback();
    if !auth.enabled() && open_beyond_loopback {
        if !args.insecure_no_auth {
            return Err(format!(
                "refusing to serve on {} without authentication: anyone reaching the port could read every cluster. \
                 Configure jsonData.serve.tokens (values in secureJsonData \"serveToken.<name>\"), listen on a loopback address, \
                 or pass --insecure-no-auth to run open on purpose",
                args.listen
            ));
        }
        eprintln!("WARNING: --insecure-no-auth: serving every cluster's data WITHOUT AUTHENTICATION on {}", args.listen);
        log_event("warn", "insecure_no_auth", serde_json::json!({ "listen": args.listen.to_string(), "message": "serving without authentication" }));
    }
    if auth.enabled() && tls.is_none() && open_beyond_loopback {
        log_event(
            "warn",
            "tokens_over_plain_http",
            serde_json::json!({ "message": "bearer tokens cross the network in clear text; pass --tls-cert/--tls-key or terminate TLS in front" }),
        );
    }
    let ready = SharedReadiness::default();
    let monitor = tokio::spawn(readiness_loop(live.clone(), ready.clone(), Duration::from_secs(args.ready_interval.max(1))));
    let token_names: Vec<String> = auth.tokens().iter().map(|t| t.name.clone()).collect();
    let app = router(Arc::new(auth), ready.clone());
    let listener = TcpListener::bind(args.listen).await.map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    eprintln!("fleetscope API listening on {scheme}://{addr}/api/v1/clusters");
    log_event(
        "info",
        "listening",
        serde_json::json!({ "address": addr.to_string(), "tls": tls.is_some(), "auth_tokens": token_names, "clusters": live.current().registry.clusters().len() }),
    );
    let code = serve_connections(listener, app, tls, Duration::from_secs(args.shutdown_timeout), ready).await;
    monitor.abort();
    Ok(code)
}

async fn shutdown_signal() -> &'static str {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "SIGINT",
        _ = term => "SIGTERM",
    }
}

/// Accept until a signal, then drain (bounded by `grace`).
async fn serve_connections(listener: TcpListener, app: Router, tls: Option<Arc<ReloadingTls>>, grace: Duration, ready: SharedReadiness) -> i32 {
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut conns = JoinSet::new();
    let signal = shutdown_signal();
    tokio::pin!(signal);
    let signal = loop {
        tokio::select! {
            s = &mut signal => break s,
            accepted = listener.accept() => {
                let (tcp, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of file descriptors and the like: say so, do not spin.
                        log_event("warn", "accept_failed", serde_json::json!({ "error": e.to_string() }));
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let (app, tls, stop) = (app.clone(), tls.clone(), stop_rx.clone());
                conns.spawn(async move {
                    match tls {
                        None => serve_connection(tcp, peer, app, stop).await,
                        Some(tls) => match tokio::time::timeout(Duration::from_secs(10), tls.acceptor().accept(tcp)).await {
                            Ok(Ok(stream)) => serve_connection(stream, peer, app, stop).await,
                            Ok(Err(e)) => tracing::debug!(%peer, "TLS handshake failed: {e}"),
                            Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                        },
                    }
                });
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    };
    drop(listener);
    ready.lock().unwrap_or_else(|p| p.into_inner()).shutting_down = true;
    log_event(
        "info",
        "shutdown_started",
        serde_json::json!({ "signal": signal, "open_connections": conns.len(), "timeout_seconds": grace.as_secs() }),
    );
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(grace, async { while conns.join_next().await.is_some() {} }).await.is_ok();
    if drained {
        log_event("info", "shutdown_complete", serde_json::json!({}));
        0
    } else {
        log_event("warn", "shutdown_timeout", serde_json::json!({ "cut_connections": conns.len(), "timeout_seconds": grace.as_secs() }));
        conns.abort_all();
        1
    }
}

/// HTTP/1.1 or HTTP/2 on one connection; on `stop`, finish what is in flight and close.
async fn serve_connection<I>(io: I, peer: SocketAddr, app: Router, mut stop: watch::Receiver<bool>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let svc = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(Peer(peer));
        let mut app = app.clone();
        async move { tower::Service::call(&mut app, req.map(Body::new)).await }
    });
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    // A timer enables hyper's header-read timeout (slow-header clients are cut).
    builder.http1().timer(TokioTimer::new());
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), svc);
    tokio::pin!(conn);
    if *stop.borrow_and_update() {
        conn.as_mut().graceful_shutdown();
    }
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                tracing::debug!(%peer, "connection ended: {e}");
            }
            return;
        }
        _ = stop.changed() => conn.as_mut().graceful_shutdown(),
    }
    if let Err(e) = conn.await {
        tracing::debug!(%peer, "connection ended: {e}");
    }
}
