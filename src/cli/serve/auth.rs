//! Who may call `gpx_fleetscope serve`: bearer tokens with scopes, optionally
//! restricted to some clusters. Router middleware around the whole API, so no
//! handler knows about it (inside Grafana, CallResource needs none of this:
//! Grafana authenticates its users).
//!
//! * Tokens are configured in `jsonData.serve.tokens` (name, scopes, clusters,
//!   clusterSelector); each value is `secureJsonData["serveToken.<name>"]`.
//!   Only SHA-256 digests are kept, compared in constant time against every
//!   token (no early exit, no length leak). Logs name the token, never its value.
//! * Scopes: `read` (every `/api/v1` endpoint but the webhook), `webhook`
//!   (`POST /api/v1/alerts/webhook/{cluster}`), `metrics` (`/metrics`).
//! * A restricted token's requests run against a view of the federation that
//!   holds only its clusters: "all clusters" means its clusters, `/clusters`
//!   lists only them. Naming any other cluster (id or name, existing or not, so
//!   ids cannot be probed) answers 403 `FORBIDDEN`. The view is taken from the
//!   live cluster set per request, so discovered clusters that match a token's
//!   `clusterSelector` come and go with it.
//! * The alert webhook keeps its own per-cluster `webhookSecret` (checked by its
//!   handler). Alertmanager sends that secret as `Authorization: Bearer`, so a
//!   bearer value that is no `serve` token is passed on to the webhook handler;
//!   a `serve` token presented there must carry the `webhook` scope (and is
//!   removed before the handler, which still wants the cluster's own secret).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ring::digest;

use super::selector::Selector;
use super::{RequestInfo, error_response};
use crate::api::Params;
use crate::discovery::Live;
use crate::error::{ErrorCode, FleetError};
use crate::federation::Federation;
use crate::registry::settings::ServeSettings;
use crate::registry::{Cluster, SERVE_TOKEN_PREFIX};

/// The placeholder of the example settings in deploy/: refused as a token.
pub const PLACEHOLDER: &str = "replace-me";

/// Shortest accepted token value: a guessable token is no authentication.
pub const MIN_TOKEN_LEN: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    Read,
    Webhook,
    Metrics,
}

impl Scope {
    fn parse(s: &str) -> Option<Scope> {
        match s {
            "read" => Some(Scope::Read),
            "webhook" => Some(Scope::Webhook),
            "metrics" => Some(Scope::Metrics),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Webhook => "webhook",
            Scope::Metrics => "metrics",
        }
    }
}

/// One configured token: its digest, scopes and view of the federation.
pub struct Token {
    pub name: String,
    digest: [u8; 32],
    scopes: BTreeSet<Scope>,
    /// False when the token sees every cluster.
    restricted: bool,
    /// The clusters a restricted token sees.
    keep: Arc<dyn Fn(&Cluster) -> bool + Send + Sync>,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token").field("name", &self.name).field("scopes", &self.scopes).field("restricted", &self.restricted).finish()
    }
}

/// The access policy of one `serve` process.
#[derive(Debug)]
pub struct Auth {
    tokens: Vec<Token>,
    live: Arc<Live>,
}

impl Auth {
    /// The federation `token` (none: the open API, or the webhook's own secret) answers from now.
    fn view(&self, token: Option<&Token>) -> Arc<Federation> {
        let current = self.live.current();
        match token {
            Some(t) if t.restricted => Arc::new(current.restricted(|c| (t.keep)(c))),
            _ => current,
        }
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, bytes).as_ref());
    out
}

/// Equal digests, in time independent of where they differ.
fn same_digest(a: &[u8; 32], b: &[u8; 32]) -> bool {
    crate::registry::same_bytes(a, b)
}

impl Auth {
    /// Resolve `jsonData.serve` and its secrets against the registry; errors
    /// name the offending path (never a token value).
    pub fn from_settings(settings: &ServeSettings, secure: &HashMap<String, String>, live: &Arc<Live>) -> Result<Auth, String> {
        let fed = live.current();
        let mut tokens: Vec<Token> = Vec::new();
        for (i, t) in settings.tokens.iter().enumerate() {
            let path = format!("jsonData.serve.tokens[{i}]");
            if t.name.is_empty() || !t.name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_')) {
                return Err(format!("{path}.name: {:?} must be non-empty letters, digits, '-' or '_'", t.name));
            }
            if tokens.iter().any(|o| o.name == t.name) {
                return Err(format!("{path}.name: duplicate token name {:?}", t.name));
            }
            let key = format!("{SERVE_TOKEN_PREFIX}{}", t.name);
            let value = secure.get(&key).map(|v| v.trim()).unwrap_or("");
            if value.is_empty() {
                return Err(format!("{path}: secureJsonData has no {key:?} (the token's value)"));
            }
            if value.len() < MIN_TOKEN_LEN {
                return Err(format!("secureJsonData.{key}: shorter than {MIN_TOKEN_LEN} characters (use e.g. `openssl rand -hex 32`)"));
            }
            if value.contains(PLACEHOLDER) {
                return Err(format!("secureJsonData.{key}: still the example value from deploy/; generate a token (`openssl rand -hex 32`)"));
            }
            let digest = sha256(value.as_bytes());
            if let Some(o) = tokens.iter().find(|o| same_digest(&o.digest, &digest)) {
                return Err(format!("secureJsonData.{key}: the same value as token {:?}; give every client its own token", o.name));
            }
            if t.scopes.is_empty() {
                return Err(format!("{path}.scopes: name at least one of read, webhook, metrics"));
            }
            let scopes = t
                .scopes
                .iter()
                .enumerate()
                .map(|(j, s)| Scope::parse(s).ok_or_else(|| format!("{path}.scopes[{j}]: unknown scope {s:?} (expected read, webhook or metrics)")))
                .collect::<Result<BTreeSet<_>, _>>()?;
            for (j, c) in t.clusters.iter().enumerate() {
                // A discovered cluster may not be there yet.
                if fed.registry.get(c).is_none() && fed.registry.settings.discovery.is_empty() {
                    return Err(format!("{path}.clusters[{j}]: no cluster with id {c:?}"));
                }
            }
            let selector = match t.cluster_selector.as_deref() {
                Some(s) => Some(Selector::parse(s).map_err(|e| format!("{path}.clusterSelector: {e}"))?),
                None => None,
            };
            let restricted = !t.clusters.is_empty() || selector.is_some();
            let ids = t.clusters.clone();
            let keep = Arc::new(move |c: &Cluster| {
                (ids.is_empty() || ids.iter().any(|i| i == c.id.as_str())) && selector.as_ref().is_none_or(|s| s.matches(&c.labels))
            });
            tokens.push(Token { name: t.name.clone(), digest, scopes, restricted, keep });
        }
        Ok(Auth { tokens, live: live.clone() })
    }

    /// Whether any token is configured (otherwise the API is open).
    pub fn enabled(&self) -> bool {
        !self.tokens.is_empty()
    }

    pub fn tokens(&self) -> &[Token] {
        &self.tokens
    }

    /// The token whose value is `presented`; every token is compared.
    fn find(&self, presented: &str) -> Option<&Token> {
        let d = sha256(presented.as_bytes());
        let mut found = None;
        for t in &self.tokens {
            if same_digest(&t.digest, &d) {
                found = Some(t);
            }
        }
        found
    }
}

/// The bearer value of an `Authorization` header.
fn bearer(req: &Request) -> Option<&str> {
    let v = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, rest) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(rest.trim())
}

/// What a request needs: `/metrics` → metrics, the webhook → webhook, anything else → read.
fn needed_scope(path: &str) -> Scope {
    let p = path.trim_matches('/');
    let p = p.strip_prefix("api/v1/").unwrap_or(p);
    if p == "metrics" {
        Scope::Metrics
    } else if p.starts_with("alerts/webhook") {
        Scope::Webhook
    } else {
        Scope::Read
    }
}

fn unauthorized(message: &str) -> Response {
    let mut r = error_response(&FleetError::new(ErrorCode::Unauthorized, message));
    r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"fleetscope\""));
    r
}

/// Clusters a request names: query parameters, a JSON body's `cluster_ids`/
/// `cluster_id`/`clusters`, and the path forms `gpu/nodes/{cluster}/{node}`
/// and `alerts/webhook/{cluster}`. Wildcards (`*`, `$__all`, `All`) are not names.
fn named_clusters(path: &str, query: &str, body: &[u8]) -> Vec<String> {
    let mut out = Params::parse(query).cluster_ids();
    if let Ok(serde_json::Value::Object(o)) = serde_json::from_slice::<serde_json::Value>(body) {
        for k in ["cluster_ids", "cluster_id", "clusters"] {
            match o.get(k) {
                Some(serde_json::Value::String(s)) => out.extend(s.split(',').map(|s| s.trim().to_owned())),
                Some(serde_json::Value::Array(a)) => out.extend(a.iter().filter_map(|v| v.as_str()).map(str::to_owned)),
                _ => {}
            }
        }
    }
    let p = path.trim_matches('/');
    let segs: Vec<&str> = p.strip_prefix("api/v1/").unwrap_or(p).split('/').collect();
    match segs.as_slice() {
        ["gpu", "nodes", c, _] | ["alerts", "webhook", c] => out.push((*c).to_owned()),
        _ => {}
    }
    out.retain(|c| !c.is_empty() && !matches!(c.as_str(), "*" | "$__all" | "All"));
    out
}

/// The federation a request runs against (inserted by [`middleware`]).
#[derive(Clone)]
pub struct View(pub Arc<Federation>);

/// Authenticate and authorise one request; on success the request carries the
/// [`View`] to answer from, and [`RequestInfo`] names the token for the log.
pub async fn middleware(State(auth): State<Arc<Auth>>, req: Request, next: Next) -> Response {
    let scope = needed_scope(req.uri().path());
    if !auth.enabled() {
        let mut req = req;
        req.extensions_mut().insert(View(auth.view(None)));
        return next.run(req).await;
    }
    let token = bearer(&req).and_then(|b| auth.find(b));
    let Some(token) = token else {
        if scope == Scope::Webhook {
            // Alertmanager's own credential: the webhook handler checks the cluster's secret.
            let mut req = req;
            req.extensions_mut().insert(View(auth.view(None)));
            return next.run(req).await;
        }
        return if bearer(&req).is_some() {
            unauthorized("the bearer token is not valid for this service")
        } else {
            unauthorized("authentication required: send `Authorization: Bearer <token>` (jsonData.serve.tokens)")
        };
    };
    if let Some(info) = req.extensions().get::<RequestInfo>() {
        info.set_token(&token.name);
    }
    if !token.scopes.contains(&scope) {
        return error_response(&FleetError::new(
            ErrorCode::Forbidden,
            format!("token {:?} lacks the {:?} scope this request needs", token.name, scope.as_str()),
        ));
    }
    let (mut parts, body) = req.into_parts();
    let body = match axum::body::to_bytes(body, 2 * crate::api::MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            return error_response(&FleetError::new(
                ErrorCode::PayloadTooLarge,
                format!("request body exceeds the limit of {} bytes", crate::api::MAX_BODY_BYTES),
            ));
        }
    };
    let view = auth.view(Some(token));
    if token.restricted {
        let named = named_clusters(parts.uri.path(), parts.uri.query().unwrap_or(""), &body);
        let registry = &view.registry;
        let denied: Vec<&str> =
            named.iter().filter(|n| registry.get(n).is_none() && !registry.clusters().iter().any(|c| &c.name == *n)).map(String::as_str).collect();
        if !denied.is_empty() {
            return error_response(&FleetError::new(
                ErrorCode::Forbidden,
                format!("token {:?} may not access cluster(s) {}", token.name, denied.join(", ")),
            ));
        }
    }
    // Handlers never see the serve token (the webhook's own secret travels in X-Fleetscope-Webhook-Secret then).
    parts.headers.remove(header::AUTHORIZATION);
    parts.extensions.insert(View(view));
    next.run(Request::from_parts(parts, Body::from(body))).await.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_by_path() {
        assert_eq!(needed_scope("/api/v1/alerts/webhook/east"), Scope::Webhook);
        assert_eq!(needed_scope("/api/v1/alerts"), Scope::Read);
        assert_eq!(needed_scope("/metrics"), Scope::Metrics);
        assert_eq!(needed_scope("/api/v1/metrics/query"), Scope::Read);
    }

    #[test]
    fn clusters_named_anywhere() {
        let n = named_clusters("/api/v1/gpu/nodes/west/n1", "cluster_ids=a,b&cluster_id=c", br#"{"cluster_ids":["d","*"],"clusters":"e"}"#);
        assert_eq!(n, ["a", "b", "c", "d", "e", "west"]);
        assert!(named_clusters("/api/v1/metrics/query", "cluster_ids=$__all", b"").is_empty());
    }

    #[test]
    fn digests_compare_whole() {
        let a = sha256(b"0123456789abcdef");
        assert!(same_digest(&a, &sha256(b"0123456789abcdef")));
        assert!(!same_digest(&a, &sha256(b"0123456789abcdeF")));
    }
}
