//! `type: registry`: an HTTP cluster registry, polled every `refreshSeconds`
//! (default 60). The contract (docs/configuration.md, "Discovery"):
//!
//! `GET <url>` with `Authorization: Bearer <discoverySources.<name>.bearerToken>`
//! answers `{"clusters": [entry, …]}` (a bare list is accepted), each entry
//! `{id, name?, status, labels?, enabled?, endpoints: {prometheus?, loki?,
//! tempo?, alertmanager?, kubernetes?, clickhouse?}, secrets?}` — endpoints in
//! the `jsonData.clusters[]` shape; `secrets` keyed `<secret>` or
//! `<backend>.<secret>` like `secureJsonData` without the cluster id.
//!
//! Only clusters whose `status` is `online` are in "all"; the others stay
//! listed (and can be named). Unknown fields of an entry are ignored (the
//! registry may know more than we need), unknown fields inside an endpoint are
//! errors (a typo would silently drop a setting). An entry that cannot be read
//! is that entry's error; the rest of the answer is used. The request follows
//! the upstream read policy (retries, body cap, no redirects, TLS).

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use super::live::Publisher;
use super::{ClusterError, DiscoveredCluster, Found, Look, refresh_interval};
use crate::registry::settings::{ClusterClickhouseSettings, ClusterSettings, EndpointSettings, KubernetesSettings};
use crate::registry::{Backend, Credentials, Endpoint, PrometheusKind, QueryLimits, Secret};
use crate::upstream::http::UpstreamClient;

/// One entry of the registry's answer (its `secrets` are read apart, so no
/// serde message can quote one).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    id: String,
    #[serde(default)]
    name: Option<String>,
    status: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    endpoints: Endpoints,
}

fn yes() -> bool {
    true
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Endpoints {
    #[serde(default)]
    prometheus: Option<EndpointSettings>,
    #[serde(default)]
    loki: Option<EndpointSettings>,
    #[serde(default)]
    tempo: Option<EndpointSettings>,
    #[serde(default)]
    alertmanager: Option<EndpointSettings>,
    #[serde(default)]
    kubernetes: Option<KubernetesSettings>,
    #[serde(default)]
    clickhouse: Option<ClusterClickhouseSettings>,
}

/// The secret names an entry may carry (those of `secureJsonData`).
const SECRET_NAMES: &[&str] = &["bearerToken", "basicAuthPassword", "tlsCACert", "tlsClientCert", "tlsClientKey"];
const BACKENDS: &[&str] = &["prometheus", "loki", "tempo", "alertmanager", "kubernetes"];

/// Parse the registry's answer.
pub fn parse(body: &[u8]) -> Result<Found, String> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Answer {
        Object { clusters: Vec<serde_json::Value> },
        List(Vec<serde_json::Value>),
    }
    let answer: Answer = serde_json::from_slice(body).map_err(|e| format!("the answer is not a cluster list ({{\"clusters\": [...]}}): {e}"))?;
    let (Answer::Object { clusters: raw } | Answer::List(raw)) = answer;
    let mut found = Found::default();
    for (i, value) in raw.into_iter().enumerate() {
        let id = value.get("id").and_then(|v| v.as_str()).map(str::to_owned).unwrap_or_else(|| format!("clusters[{i}]"));
        match entry(value) {
            Ok(c) => found.clusters.push(c),
            Err(e) => found.skipped.push(ClusterError { id, error: format!("clusters[{i}]{e}") }),
        }
    }
    Ok(found)
}

fn entry(mut value: serde_json::Value) -> Result<DiscoveredCluster, String> {
    let raw_secrets = value.as_object_mut().and_then(|o| o.remove("secrets"));
    let e: Entry = serde_path_to_error::deserialize(value).map_err(|e| {
        let p = e.path().to_string();
        let at = if p == "." { String::new() } else { format!(".{p}") };
        // serde's messages name fields, never values: no secret reaches them.
        format!("{at}: {}", e.inner())
    })?;
    let pairs: BTreeMap<String, String> = match raw_secrets {
        None | Some(serde_json::Value::Null) => BTreeMap::new(),
        Some(serde_json::Value::Object(m)) => {
            let mut out = BTreeMap::new();
            for (k, v) in m {
                match v {
                    serde_json::Value::String(v) => out.insert(k, v),
                    _ => return Err(format!(".secrets.{k}: must be a string")),
                };
            }
            out
        }
        Some(_) => return Err(".secrets: must be an object of strings".into()),
    };
    let mut secrets = HashMap::new();
    for (key, value) in pairs {
        let (backend, name) = match key.split_once('.') {
            Some((b, n)) => (Some(b), n),
            None => (None, key.as_str()),
        };
        if backend.is_some_and(|b| !BACKENDS.contains(&b)) || !SECRET_NAMES.contains(&name) {
            return Err(format!(".secrets: unknown secret {key:?} (expected [<backend>.]<{}>)", SECRET_NAMES.join("|")));
        }
        secrets.insert(format!("{}.{key}", e.id), Secret::new(value));
    }
    Ok(DiscoveredCluster {
        settings: ClusterSettings {
            id: e.id,
            name: e.name,
            labels: e.labels,
            enabled: e.enabled,
            prometheus: e.endpoints.prometheus,
            loki: e.endpoints.loki,
            tempo: e.endpoints.tempo,
            alertmanager: e.endpoints.alertmanager,
            kubernetes: e.endpoints.kubernetes,
            clickhouse: e.endpoints.clickhouse,
        },
        status: e.status.trim().to_ascii_lowercase(),
        secrets,
    })
}

/// The registry's URL as the HTTP client takes it: the directory as the base,
/// the last path segment and the query string as the request.
struct Target {
    base: url::Url,
    path: String,
    params: Vec<(String, String)>,
}

fn target(raw: &str) -> Result<Target, String> {
    let mut base = url::Url::parse(raw.trim()).map_err(|e| format!("url: {e}"))?;
    let params: Vec<(String, String)> = base.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    base.set_query(None);
    base.set_fragment(None);
    let path = base.path().rsplit('/').next().unwrap_or("").to_owned();
    let dir = base.path()[..base.path().len() - path.len()].to_owned();
    base.set_path(&dir);
    Ok(Target { base, path, params })
}

/// The HTTP client of the registry (its own token and CA).
fn client(publisher: &Publisher, url: url::Url, limits: &QueryLimits) -> Result<UpstreamClient, String> {
    let settings = publisher.settings();
    let endpoint = Endpoint {
        // The HTTP client does not look at `backend`; the registry is none of the cluster backends.
        backend: Backend::Prometheus,
        url,
        prometheus_kind: PrometheusKind::default(),
        tenant: None,
        tls_skip_verify: settings.tls_skip_verify,
        tls_server_name: None,
        credentials: Credentials {
            bearer_token: publisher.secret("bearerToken"),
            basic_auth: None,
            ca_cert_pem: publisher.secret("tlsCACert"),
            client_cert_pem: publisher.secret("tlsClientCert"),
            client_key_pem: publisher.secret("tlsClientKey"),
        },
        replicas: Vec::new(),
        scrape_interval_ms: None,
    };
    UpstreamClient::new(&endpoint, limits).map_err(|e| e.to_string())
}

/// One look: GET the list, parse it.
async fn look(client: &UpstreamClient, target: &Target, timeout: std::time::Duration) -> Look {
    let params: Vec<(&str, String)> = target.params.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    let body = match tokio::time::timeout(timeout, client.get(&target.path, &params)).await {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => return Err(format!("registry request failed: {e}")),
        Err(_) => return Err(format!("registry did not answer within {timeout:?}")),
    };
    parse(&body)
}

/// The source's task: poll, publish every look (so `lastRefresh` moves).
pub async fn run(publisher: Publisher) {
    let settings = publisher.settings();
    let limits = publisher.limits();
    let every = refresh_interval(&settings, 60.0);
    let built = target(settings.url.as_deref().unwrap_or_default()).and_then(|t| Ok((client(&publisher, t.base.clone(), &limits)?, t)));
    let (client, target) = match built {
        Ok(c) => c,
        Err(e) => {
            publisher.publish(Err(e));
            return;
        }
    };
    loop {
        publisher.publish(look(&client, &target, limits.timeout).await);
        tokio::time::sleep(every).await;
    }
}
