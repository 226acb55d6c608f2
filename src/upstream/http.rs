//! The HTTP mechanics shared by every backend client.
//!
//! * One `reqwest::Client` (connection pool) per cluster endpoint, built once per
//!   datasource instance; TLS verification on unless the endpoint opts out.
//! * Bearer/basic auth and the tenant header (`X-Scope-OrgID`) on every request.
//! * Every request asks for a gzip answer (`Accept-Encoding: gzip`); an upstream
//!   that compresses is inflated as the bytes arrive. A range answer is ~90 %
//!   smaller on the wire (tests/prometheus_federation.rs measures it against a
//!   real Prometheus), which is what fleets across regions pay for.
//! * Bodies are read chunk by chunk and cut off at `maxResponseBytes` (checked
//!   against `Content-Length` first, which only an uncompressed answer has), so
//!   a garbage or runaway upstream — a gzip bomb included: the cap counts
//!   inflated bytes — costs at most the cap in memory.
//! * Retries only for idempotent reads, only on connect errors, 5xx and 429, with
//!   exponential backoff and full jitter; `Retry-After` on 429/503 is honoured up
//!   to the backoff ceiling. A refused connection or a host name that does not
//!   resolve is known at once: one quick retry ([`QUICK_RETRY`], for a server
//!   that is restarting), no backoff. The query's deadline (applied by the
//!   federation engine around the whole call) bounds the total, and a retry
//!   whose backoff would end past it is not made: the caller gets the
//!   upstream's last answer instead of QUERY_TIMEOUT.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use rand::Rng;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};

use super::UpstreamError;
use crate::registry::{Endpoint, QueryLimits};

/// A client websocket opened by [`UpstreamClient::websocket`].
pub type WebSocket = tokio_tungstenite::WebSocketStream<reqwest::Upgraded>;

/// A pooled client for one endpoint of one cluster.
#[derive(Debug, Clone)]
pub struct UpstreamClient {
    client: reqwest::Client,
    base: url::Url,
    attempts: u32,
    retry_delay: Duration,
    max_body: usize,
}

/// Whether a request may be repeated safely.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// A read: retried on connect errors, 5xx and 429.
    Read,
    /// A write: never retried.
    Write,
}

const USER_AGENT: &str = concat!("fleetscope/", env!("CARGO_PKG_VERSION"));
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// The pause before the one retry of a refused connection or failed DNS lookup.
pub const QUICK_RETRY: Duration = Duration::from_millis(50);

impl UpstreamClient {
    pub fn new(endpoint: &Endpoint, limits: &QueryLimits) -> Result<Self, UpstreamError> {
        let headers = default_headers(endpoint)?;
        let creds = &endpoint.credentials;
        let mut builder = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .default_headers(headers)
            .tcp_nodelay(true)
            .pool_idle_timeout(Duration::from_secs(90))
            .connect_timeout(limits.timeout.min(Duration::from_secs(10)))
            // Redirects could send credentials to a host nobody registered.
            .redirect(reqwest::redirect::Policy::none())
            .danger_accept_invalid_certs(endpoint.tls_skip_verify);
        if let Some(ca) = &creds.ca_cert_pem {
            let certs = reqwest::Certificate::from_pem_bundle(ca.expose().as_bytes())
                .map_err(|e| UpstreamError::Request(format!("tlsCACert is not valid PEM: {e}")))?;
            for c in certs {
                builder = builder.add_root_certificate(c);
            }
        }
        if let (Some(cert), Some(key)) = (&creds.client_cert_pem, &creds.client_key_pem) {
            let pem = format!("{}\n{}", cert.expose(), key.expose());
            let id = reqwest::Identity::from_pem(pem.as_bytes())
                .map_err(|e| UpstreamError::Request(format!("tlsClientCert/tlsClientKey are not a valid PEM pair: {e}")))?;
            builder = builder.identity(id);
        }
        if let Some(name) = &endpoint.tls_server_name {
            // Resolve the configured name to the URL's address so certificate
            // verification uses the name; requests still go to the URL's host.
            if let (Some(host), Some(port)) = (endpoint.url.host_str(), endpoint.url.port_or_known_default())
                && let Ok(ip) = host.parse::<std::net::IpAddr>()
            {
                builder = builder.resolve(name, std::net::SocketAddr::new(ip, port));
            }
        }
        let client = builder.build().map_err(|e| UpstreamError::Request(format!("cannot build HTTP client: {e}")))?;
        let mut base = endpoint.url.clone();
        if !base.path().ends_with('/') {
            let p = format!("{}/", base.path());
            base.set_path(&p);
        }
        Ok(UpstreamClient {
            client,
            base,
            attempts: limits.retry_attempts.max(1),
            retry_delay: limits.retry_delay,
            max_body: limits.max_response_bytes,
        })
    }

    /// Resolve an API path (no leading slash) against the endpoint URL, which may
    /// carry a prefix such as Mimir's `/prometheus`.
    pub fn url(&self, path: &str) -> Result<url::Url, UpstreamError> {
        self.base.join(path.trim_start_matches('/')).map_err(|e| UpstreamError::Request(format!("bad path {path:?}: {e}")))
    }

    /// Resolve an API path given segment by segment, for paths that carry a
    /// value (a label or tag name, a trace ID). Each segment stays exactly one
    /// segment under the endpoint URL: it is percent-encoded (`/`, `\`, `%`,
    /// `?`, `#`, spaces), and `.`, `..`, empty segments and control characters
    /// are refused (the URL parser drops tabs and newlines, so `.\n.` would
    /// become `..`), so no value can add, drop or climb path segments.
    pub fn url_segments(&self, segments: &[&str]) -> Result<url::Url, UpstreamError> {
        let refused = |s: &&&str| s.is_empty() || **s == "." || **s == ".." || s.chars().any(char::is_control);
        if let Some(bad) = segments.iter().find(refused) {
            return Err(UpstreamError::Request(format!("refusing the URL path segment {bad:?}")));
        }
        let mut url = self.base.clone();
        url.path_segments_mut().map_err(|()| UpstreamError::Request("the endpoint URL cannot carry a path".into()))?.pop_if_empty().extend(segments);
        Ok(url)
    }

    /// GET with query parameters.
    pub async fn get(&self, path: &str, params: &[(&str, String)]) -> Result<Bytes, UpstreamError> {
        let url = self.url(path)?;
        self.send(Idempotency::Read, || self.client.get(url.clone()).query(params)).await
    }

    /// GET a path given segment by segment (see [`Self::url_segments`]).
    pub async fn get_segments(&self, segments: &[&str], params: &[(&str, String)]) -> Result<Bytes, UpstreamError> {
        let url = self.url_segments(segments)?;
        self.send(Idempotency::Read, || self.client.get(url.clone()).query(params)).await
    }

    /// POST a form (Prometheus accepts every query API this way; keeps long
    /// expressions out of URLs). Still a read.
    pub async fn post_form(&self, path: &str, params: &[(&str, String)]) -> Result<Bytes, UpstreamError> {
        let url = self.url(path)?;
        self.send(Idempotency::Read, || self.client.post(url.clone()).form(params)).await
    }

    /// POST a raw body with query parameters (ClickHouse's HTTP interface: SQL
    /// in the body, settings and bound parameters in the URL). A read.
    pub async fn post_body(&self, path: &str, params: &[(String, String)], body: Bytes) -> Result<Bytes, UpstreamError> {
        let url = self.url(path)?;
        self.send(Idempotency::Read, || self.client.post(url.clone()).query(params).body(body.clone())).await
    }

    /// Send with retries per `idempotency`; returns the 2xx body.
    pub async fn send<F>(&self, idempotency: Idempotency, build: F) -> Result<Bytes, UpstreamError>
    where
        F: Fn() -> reqwest::RequestBuilder,
    {
        let attempts = if idempotency == Idempotency::Read { self.attempts } else { 1 };
        retry_reads(attempts, self.retry_delay, || self.send_once(build())).await
    }

    /// Open a websocket on `path` (HTTP/1.1 upgrade through this endpoint's
    /// client, so tenant, auth and TLS settings are the same as for reads).
    /// Not retried: the caller reconnects with its own backoff.
    pub async fn websocket(&self, path: &str, params: &[(&str, String)]) -> Result<WebSocket, UpstreamError> {
        use tokio_tungstenite::tungstenite::handshake::client::generate_key;
        use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
        let url = self.url(path)?;
        let key = generate_key();
        let resp = self
            .client
            .get(url)
            .query(params)
            .version(reqwest::Version::HTTP_11)
            .header(reqwest::header::CONNECTION, "Upgrade")
            .header(reqwest::header::UPGRADE, "websocket")
            .header(reqwest::header::SEC_WEBSOCKET_VERSION, "13")
            .header(reqwest::header::SEC_WEBSOCKET_KEY, &key)
            .send()
            .await
            .map_err(|e| classify(&e))?;
        let status = resp.status();
        if status != reqwest::StatusCode::SWITCHING_PROTOCOLS {
            let message = match self.read_body(resp).await {
                Ok(b) => summarize_error_body(&b),
                Err(e) => e.to_string(),
            };
            return Err(UpstreamError::Status { status: status.as_u16(), message: format!("websocket upgrade refused: {message}") });
        }
        let accept = resp.headers().get(reqwest::header::SEC_WEBSOCKET_ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        if accept != derive_accept_key(key.as_bytes()) {
            return Err(UpstreamError::Decode("websocket handshake: wrong Sec-WebSocket-Accept".into()));
        }
        let io = resp.upgrade().await.map_err(|e| UpstreamError::Connect(format!("websocket upgrade: {}", error_chain(&e))))?;
        Ok(tokio_tungstenite::WebSocketStream::from_raw_socket(io, tokio_tungstenite::tungstenite::protocol::Role::Client, None).await)
    }

    async fn send_once(&self, req: reqwest::RequestBuilder) -> (Result<Bytes, UpstreamError>, Option<Duration>) {
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => return (Err(classify(&e)), None),
        };
        let status = resp.status();
        let retry_after = retry_after(resp.headers());
        if status.is_redirection() {
            let to = resp.headers().get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("?").to_owned();
            return (Err(redirect_refused(status.as_u16(), &to)), None);
        }
        let body = self.read_body(resp).await;
        if status.is_success() {
            return (body, None);
        }
        let message = match body {
            Ok(b) => summarize_error_body(&b),
            Err(e) => e.to_string(),
        };
        (Err(UpstreamError::Status { status: status.as_u16(), message }), retry_after)
    }

    async fn read_body(&self, resp: reqwest::Response) -> Result<Bytes, UpstreamError> {
        if let Some(len) = resp.content_length()
            && len as usize > self.max_body
        {
            return Err(UpstreamError::TooLarge { limit: self.max_body });
        }
        let mut buf = BytesMut::with_capacity(resp.content_length().map(|l| l as usize).unwrap_or(8 * 1024));
        let mut stream = resp.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| UpstreamError::Decode(format!("body read failed: {}", error_chain(&e))))?;
            if buf.len() + chunk.len() > self.max_body {
                return Err(UpstreamError::TooLarge { limit: self.max_body });
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(buf.freeze())
    }
}

/// Run one attempt up to `attempts` times: again only after a connect error, a
/// 5xx or a 429, waiting the attempt's `Retry-After` (capped) or an exponential
/// backoff from `retry_delay` with full jitter. Each attempt answers its result
/// and the `Retry-After` it was given. Callers pass 1 for anything that is not
/// an idempotent read.
pub(crate) async fn retry_reads<T, F, Fut>(attempts: u32, retry_delay: Duration, mut once: F) -> Result<T, UpstreamError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = (Result<T, UpstreamError>, Option<Duration>)>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        let (result, retry_after) = once().await;
        let refused = matches!(result, Err(UpstreamError::Refused(_)));
        let retryable = match &result {
            Ok(_) => false,
            Err(UpstreamError::Connect(_)) => true,
            Err(UpstreamError::Refused(_)) => attempt < 2,
            Err(UpstreamError::Status { status, .. }) => *status >= 500 || *status == 429,
            Err(_) => false,
        };
        if !retryable || attempt >= attempts {
            return result;
        }
        let ceiling = retry_delay.saturating_mul(1 << (attempt - 1).min(16)).min(MAX_BACKOFF);
        let jittered = ceiling.mul_f64(rand::thread_rng().gen_range(0.5..=1.0));
        let wait = if refused { QUICK_RETRY.min(retry_delay) } else { retry_after.map(|r| r.min(MAX_BACKOFF)).unwrap_or(jittered) };
        // A retry that could only start after the query's deadline would end as
        // QUERY_TIMEOUT; the upstream's own answer says more.
        if crate::deadline::current().is_some_and(|d| tokio::time::Instant::now() + wait >= d.at) {
            tracing::debug!(attempt, wait_ms = wait.as_millis() as u64, "no retry: its backoff would pass the query's deadline");
            return result;
        }
        tracing::debug!(attempt, wait_ms = wait.as_millis() as u64, error = %result.as_ref().err().map(|e| e.to_string()).unwrap_or_default(), "retrying upstream read");
        tokio::time::sleep(wait).await;
    }
}

/// `Retry-After` in seconds, when a response carries one.
pub(crate) fn retry_after(headers: &http::HeaderMap) -> Option<Duration> {
    headers.get(http::header::RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(|s| s.trim().parse::<u64>().ok()).map(Duration::from_secs)
}

/// A 3xx is never followed: it could send credentials to a host nobody registered.
pub(crate) fn redirect_refused(status: u16, location: &str) -> UpstreamError {
    UpstreamError::Status { status, message: format!("redirect to {} refused (only registered URLs are called)", redact_url(location)) }
}

/// Tenant and auth headers sent with every request; auth values are marked
/// sensitive so they never appear in debug output.
fn default_headers(endpoint: &Endpoint) -> Result<HeaderMap, UpstreamError> {
    let mut headers = HeaderMap::new();
    if let Some(tenant) = &endpoint.tenant {
        let v = HeaderValue::from_str(tenant).map_err(|_| UpstreamError::Request("tenant is not a valid header value".into()))?;
        headers.insert("X-Scope-OrgID", v);
    }
    let creds = &endpoint.credentials;
    let auth = match (&creds.basic_auth, &creds.bearer_token) {
        (Some((user, pass)), _) => {
            Some(format!("Basic {}", base64::Engine::encode(&base64::engine::general_purpose::STANDARD, format!("{user}:{}", pass.expose()))))
        }
        (None, Some(token)) => Some(format!("Bearer {}", token.expose())),
        (None, None) => None,
    };
    if let Some(auth) = auth {
        let mut v = HeaderValue::from_str(&auth).map_err(|_| UpstreamError::Request("credentials are not a valid header value".into()))?;
        v.set_sensitive(true);
        headers.insert(AUTHORIZATION, v);
    }
    Ok(headers)
}

fn classify(e: &reqwest::Error) -> UpstreamError {
    let chain = error_chain(e);
    if e.is_timeout() {
        UpstreamError::Connect(format!("connect timeout: {chain}"))
    } else if e.is_connect() {
        connect_error(e)
    } else if e.is_builder() {
        UpstreamError::Request(chain)
    } else {
        // Connection reset mid-request, malformed HTTP, TLS alerts after connect…
        UpstreamError::Connect(chain)
    }
}

/// A connect failure: [`UpstreamError::Refused`] when the chain shows a refused
/// connection or a failed name lookup (hyper-util's "dns error", the resolver's
/// "failed to lookup address"), else [`UpstreamError::Connect`].
pub(crate) fn connect_error(e: &(dyn std::error::Error + 'static)) -> UpstreamError {
    let mut refused = false;
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = src {
        if s.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused) {
            refused = true;
        }
        let text = s.to_string();
        if text == "dns error" || text.contains("failed to lookup address") {
            refused = true;
        }
        src = s.source();
    }
    let chain = error_chain(e);
    if refused { UpstreamError::Refused(chain) } else { UpstreamError::Connect(chain) }
}

/// The error and its sources, with any URL user-info removed.
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut src = e.source();
    while let Some(s) = src {
        let t = s.to_string();
        if !parts.iter().any(|p| p.contains(&t)) {
            parts.push(t);
        }
        src = s.source();
    }
    redact_url(&parts.join(": "))
}

/// Remove `user:pass@` from anything that looks like a URL.
fn redact_url(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail.find(|c: char| c == '/' || c.is_whitespace() || c == ')' || c == '"').unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(at) => out.push_str(&authority[at + 1..]),
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// A short, printable description of an error body: the upstream's JSON `error`
/// field when there is one, else the first 200 characters of text (HTML pages of
/// proxies get their `<title>` only).
pub fn summarize_error_body(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct ErrBody<'a> {
        #[serde(borrow, default)]
        error: Option<std::borrow::Cow<'a, str>>,
        #[serde(borrow, default, rename = "errorType")]
        error_type: Option<std::borrow::Cow<'a, str>>,
        #[serde(borrow, default)]
        message: Option<std::borrow::Cow<'a, str>>,
    }
    if let Ok(e) = serde_json::from_slice::<ErrBody>(body)
        && let Some(msg) = e.error.or(e.message)
    {
        return match e.error_type {
            Some(t) => format!("{t}: {msg}"),
            None => msg.into_owned(),
        };
    }
    let text = String::from_utf8_lossy(body);
    let lower = text.to_ascii_lowercase();
    if let (Some(a), Some(b)) = (lower.find("<title>"), lower.find("</title>"))
        && b > a
    {
        return text[a + 7..b].trim().to_owned();
    }
    let t: String = text.trim().chars().filter(|c| !c.is_control()).take(200).collect();
    if t.is_empty() { "empty body".into() } else { t }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_userinfo() {
        assert_eq!(redact_url("error sending request for url (http://u:p@host:9/x)"), "error sending request for url (http://host:9/x)");
        assert_eq!(redact_url("no url here"), "no url here");
    }

    #[test]
    fn path_segments_are_encoded_and_cannot_climb() {
        let json = br#"{"clusters":[{"id":"a","tempo":{"url":"http://tempo:3200/prefix"}}]}"#;
        let reg = crate::registry::Registry::from_grafana(json, &Default::default()).unwrap();
        let ep = reg.get("a").unwrap().tempo.clone().unwrap();
        let c = UpstreamClient::new(&ep, &reg.limits).unwrap();
        let url = |tag: &str| c.url_segments(&["api", "v2", "search", "tag", tag, "values"]).map(|u| u.to_string());
        assert_eq!(url("resource.service.name").unwrap(), "http://tempo:3200/prefix/api/v2/search/tag/resource.service.name/values");
        assert_eq!(url("span:name").unwrap(), "http://tempo:3200/prefix/api/v2/search/tag/span:name/values");
        for (tag, encoded) in [
            ("a/../../b", "a%2F..%2F..%2Fb"),
            ("%2e%2e", "%252e%252e"),
            ("x?y#z", "x%3Fy%23z"),
            ("a b", "a%20b"),
            ("..%2F", "..%252F"),
            ("a\\..\\b", "a%5C..%5Cb"),
        ] {
            assert_eq!(url(tag).unwrap(), format!("http://tempo:3200/prefix/api/v2/search/tag/{encoded}/values"), "{tag:?}");
        }
        for tag in ["..", ".", "", ".\n.", ".\t.", "a\rb", "a\0b"] {
            assert!(url(tag).is_err(), "{tag:?}");
        }
    }

    /// Attempts `retry_reads` makes for an error, and the time it waited (paused clock).
    async fn attempts_for(err: UpstreamError) -> (u32, Duration) {
        let t0 = tokio::time::Instant::now();
        let mut n = 0;
        let _ = retry_reads::<(), _, _>(5, Duration::from_secs(1), || {
            n += 1;
            let e = err.clone();
            async move { (Err(e), None) }
        })
        .await;
        (n, t0.elapsed())
    }

    #[tokio::test(start_paused = true)]
    async fn refused_is_retried_once_quickly_and_others_keep_their_backoff() {
        let (n, waited) = attempts_for(UpstreamError::Refused("connection refused".into())).await;
        assert_eq!((n, waited), (2, QUICK_RETRY), "one quick retry, no backoff");
        let (n, waited) = attempts_for(UpstreamError::Connect("connection reset".into())).await;
        assert_eq!(n, 5);
        assert!(waited >= Duration::from_secs(7), "exponential backoff from 1 s (≥ half of 1+2+4+8): {waited:?}");
        let (n, _) = attempts_for(UpstreamError::Status { status: 503, message: String::new() }).await;
        assert_eq!(n, 5, "5xx retried for reads as before");
        let (n, _) = attempts_for(UpstreamError::Status { status: 429, message: String::new() }).await;
        assert_eq!(n, 5);
        let (n, _) = attempts_for(UpstreamError::Status { status: 400, message: String::new() }).await;
        assert_eq!(n, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn no_retry_whose_backoff_would_pass_the_deadline() {
        use crate::deadline::{self, Deadline};
        let t0 = tokio::time::Instant::now();
        let d = Deadline::new(t0, Duration::from_millis(1500), None);
        let (n, waited) = deadline::scope(d, attempts_for(UpstreamError::Status { status: 503, message: "busy".into() })).await;
        assert_eq!(n, 2, "the second backoff (1–2 s) would end past the 1.5 s deadline");
        assert!(waited < Duration::from_millis(1500), "{waited:?}");
    }

    #[tokio::test]
    async fn a_refused_connection_and_an_unknown_host_are_told_apart_from_other_connect_errors() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let client = reqwest::Client::new();
        let refused = client.get(format!("http://127.0.0.1:{port}/")).send().await.unwrap_err();
        assert!(matches!(classify(&refused), UpstreamError::Refused(_)), "{:?}", classify(&refused));
        // `.invalid` never resolves (RFC 6761).
        let dns = client.get("http://fleetscope-test.invalid/").send().await.unwrap_err();
        assert!(matches!(classify(&dns), UpstreamError::Refused(_)), "{:?}", classify(&dns));
        assert_eq!(classify(&dns).code(), crate::error::ErrorCode::ClusterUnreachable);
    }

    #[test]
    fn summarizes_bodies() {
        assert_eq!(summarize_error_body(br#"{"status":"error","errorType":"bad_data","error":"parse error"}"#), "bad_data: parse error");
        assert_eq!(summarize_error_body(b"<html><head><title>502 Bad Gateway</title></head></html>"), "502 Bad Gateway");
        assert_eq!(summarize_error_body(b""), "empty body");
    }
}
