//! `type: kubernetes`: cluster Secrets in a management cluster, in Argo CD's
//! cluster-secret format, watched (list, then watch from the list's
//! `resourceVersion`; a watch that ends is resumed from the last version seen,
//! bookmarks included; `410 Gone` relists). A new Secret is a new cluster as
//! soon as its event arrives; a deleted one is gone with it.
//!
//! This is a plain list+watch loop on kube's `Api`, not `kube-runtime`'s
//! watcher: the runtime crate would add about a dozen crates to the build for
//! what is forty lines here.
//!
//! A Secret (selected by `labelSelector`, default
//! `argocd.argoproj.io/secret-type=cluster`, in `namespace`, default `argocd`):
//! * `data.name` → the cluster's name; `data.server` → `kubernetes.server`;
//! * `data.config` → JSON `{bearerToken, tlsClientConfig: {caData, certData,
//!   keyData, insecure}}` (base64 PEM in the `…Data` fields, as Argo CD writes
//!   them) → the cluster's Kubernetes credentials, in memory only;
//! * annotations: `fleetscope.io/cluster-id` (default: `data.name` made into an
//!   id), `fleetscope.io/labels` (JSON object, or `k=v,k2=v2`),
//!   `fleetscope.io/endpoints` (JSON object in the `jsonData.clusters[]` shape:
//!   `prometheus`, `loki`, `tempo`, `alertmanager` — typically `via: kubernetes`
//!   with a `service` — plus `kubernetes` extras such as `gpuNamespace`).
//!
//! Argo CD's exec/AWS/Azure auth plugins are not supported: such a Secret is
//! that cluster's error, the others are used.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use futures::TryStreamExt;
use k8s_openapi::api::core::v1::Secret as KubeSecret;
use kube::api::{Api, ListParams, WatchEvent, WatchParams};
use serde::Deserialize;

use super::live::Publisher;
use super::{ClusterError, DiscoveredCluster, Found};
use crate::registry::settings::ClusterSettings;
use crate::registry::{Credentials, KubernetesAccess, ONLINE, Secret};
use crate::upstream::kube::KubeClient;

pub const DEFAULT_NAMESPACE: &str = "argocd";
pub const DEFAULT_SELECTOR: &str = "argocd.argoproj.io/secret-type=cluster";
pub const ANNOTATION_ID: &str = "fleetscope.io/cluster-id";
pub const ANNOTATION_LABELS: &str = "fleetscope.io/labels";
pub const ANNOTATION_ENDPOINTS: &str = "fleetscope.io/endpoints";

/// Longest pause between two failed lists/watches.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// `data.config` of an Argo CD cluster Secret.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ArgoConfig {
    #[serde(default)]
    bearer_token: Option<String>,
    #[serde(default)]
    tls_client_config: ArgoTls,
    #[serde(default)]
    exec_provider_config: Option<serde_json::Value>,
    #[serde(default)]
    aws_auth_config: Option<serde_json::Value>,
    #[serde(default)]
    username: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ArgoTls {
    #[serde(default)]
    ca_data: Option<String>,
    #[serde(default)]
    cert_data: Option<String>,
    #[serde(default)]
    key_data: Option<String>,
    #[serde(default)]
    insecure: bool,
}

/// A cluster id from a free-form name: lower-case, other characters `-`.
pub fn id_from_name(name: &str) -> String {
    let mut id: String = name.trim().to_ascii_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '-' }).collect();
    id = id.trim_matches(|c: char| !c.is_ascii_alphanumeric()).to_owned();
    id.truncate(63);
    id
}

/// One Secret → one cluster, or why not (never quoting a secret value).
pub fn cluster_from_secret(secret: &KubeSecret) -> Result<DiscoveredCluster, String> {
    let data = secret.data.clone().unwrap_or_default();
    let text = |key: &str| -> Result<Option<String>, String> {
        match data.get(key) {
            None => Ok(None),
            Some(b) => String::from_utf8(b.0.clone()).map(Some).map_err(|_| format!("data.{key} is not UTF-8")),
        }
    };
    let meta = &secret.metadata;
    let annotations = meta.annotations.clone().unwrap_or_default();
    let name = text("name")?.filter(|n| !n.trim().is_empty()).or_else(|| meta.name.clone()).ok_or("the Secret has no data.name")?;
    let server = text("server")?.filter(|s| !s.trim().is_empty()).ok_or("the Secret has no data.server")?;
    let config: ArgoConfig = match text("config")? {
        // The message gives the place only: serde's text could quote a token.
        Some(c) if !c.trim().is_empty() => serde_json::from_str(&c).map_err(|e| {
            format!("data.config is not Argo CD's cluster config JSON ({:?} error at line {}, column {})", e.classify(), e.line(), e.column())
        })?,
        _ => ArgoConfig::default(),
    };
    if config.exec_provider_config.is_some() || config.aws_auth_config.is_some() {
        return Err("data.config uses execProviderConfig/awsAuthConfig, which Fleetscope does not run; give the cluster a bearerToken or a client certificate".into());
    }
    if config.username.as_deref().is_some_and(|u| !u.is_empty()) {
        return Err("data.config uses username/password, which Kubernetes API servers no longer accept; give the cluster a bearerToken or a client certificate".into());
    }
    let id = match annotations.get(ANNOTATION_ID).map(|s| s.trim()).filter(|s| !s.is_empty()) {
        Some(id) => id.to_owned(),
        None => id_from_name(&name),
    };
    let labels = match annotations.get(ANNOTATION_LABELS).map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => BTreeMap::new(),
        Some(l) => parse_labels(l).map_err(|e| format!("annotation {ANNOTATION_LABELS}: {e}"))?,
    };
    let mut obj = match annotations.get(ANNOTATION_ENDPOINTS).map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => serde_json::Map::new(),
        Some(e) => match serde_json::from_str::<serde_json::Value>(e) {
            Ok(serde_json::Value::Object(m)) => m,
            _ => return Err(format!("annotation {ANNOTATION_ENDPOINTS} is not a JSON object")),
        },
    };
    for k in ["id", "name", "labels", "enabled"] {
        if obj.contains_key(k) {
            return Err(format!("annotation {ANNOTATION_ENDPOINTS} may not set {k:?} (use the Secret's data and the other annotations)"));
        }
    }
    let kube = obj.entry("kubernetes").or_insert_with(|| serde_json::json!({}));
    let Some(kube) = kube.as_object_mut() else {
        return Err(format!("annotation {ANNOTATION_ENDPOINTS}: kubernetes must be an object"));
    };
    kube.insert("server".into(), serde_json::json!(server.trim()));
    if config.tls_client_config.insecure {
        kube.insert("tlsSkipVerify".into(), serde_json::json!(true));
    }
    obj.insert("id".into(), serde_json::json!(id));
    obj.insert("name".into(), serde_json::json!(name));
    obj.insert("labels".into(), serde_json::json!(labels));
    let settings: ClusterSettings = serde_path_to_error::deserialize(serde_json::Value::Object(obj))
        .map_err(|e| format!("annotation {ANNOTATION_ENDPOINTS} at `{}`: {}", e.path(), e.inner()))?;

    let mut secrets = HashMap::new();
    if let Some(t) = config.bearer_token.filter(|t| !t.is_empty()) {
        secrets.insert(format!("{id}.kubernetes.bearerToken"), Secret::new(t));
    }
    let tls = &config.tls_client_config;
    for (field, value, name) in
        [("caData", &tls.ca_data, "tlsCACert"), ("certData", &tls.cert_data, "tlsClientCert"), ("keyData", &tls.key_data, "tlsClientKey")]
    {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            let pem = STANDARD
                .decode(v.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| format!("data.config tlsClientConfig.{field} is not base64 of a PEM text"))?;
            secrets.insert(format!("{id}.kubernetes.{name}"), Secret::new(pem));
        }
    }
    Ok(DiscoveredCluster { settings, status: ONLINE.to_owned(), secrets })
}

/// `{"env":"prod"}` or `env=prod,region=eu`.
fn parse_labels(text: &str) -> Result<BTreeMap<String, String>, String> {
    if text.starts_with('{') {
        return serde_json::from_str(text).map_err(|e| format!("not a JSON object of strings: {e}"));
    }
    let mut out = BTreeMap::new();
    for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').ok_or_else(|| format!("{pair:?} is not key=value"))?;
        out.insert(k.trim().to_owned(), v.trim().to_owned());
    }
    Ok(out)
}

/// Every Secret of the source, by name, to the list a look publishes.
fn found(secrets: &BTreeMap<String, KubeSecret>) -> Found {
    let mut out = Found::default();
    for (name, s) in secrets {
        match cluster_from_secret(s) {
            Ok(c) => out.clusters.push(c),
            Err(error) => out.skipped.push(ClusterError { id: format!("secret/{name}"), error }),
        }
    }
    out
}

/// The management cluster's client (the source's own `server` and secrets).
fn client(publisher: &Publisher) -> Result<kube::Client, String> {
    let s = publisher.settings();
    let server = match s.server.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        Some(v) => Some(url::Url::parse(v).map_err(|e| format!("server: {e}"))?),
        None => None,
    };
    let access = KubernetesAccess {
        server,
        gpu_namespace: String::new(),
        gpu_daemon_set: String::new(),
        gpu_container: None,
        ptp_namespace: String::new(),
        sriov_namespace: String::new(),
        tls_skip_verify: s.tls_skip_verify,
        credentials: Credentials {
            bearer_token: publisher.secret("bearerToken"),
            basic_auth: None,
            ca_cert_pem: publisher.secret("tlsCACert"),
            client_cert_pem: publisher.secret("tlsClientCert"),
            client_key_pem: publisher.secret("tlsClientKey"),
        },
    };
    KubeClient::new(&access, &publisher.limits()).map(|c| c.raw()).map_err(|e| format!("management cluster: {e}"))
}

fn kube_error(e: kube::Error) -> String {
    match e {
        kube::Error::Api(s) => format!("HTTP {}: {}", s.code, s.message),
        other => other.to_string(),
    }
}

/// The source's task: list, watch, relist on `410 Gone`; back off on errors.
pub async fn run(publisher: Publisher) {
    let settings = publisher.settings();
    let client = match client(&publisher) {
        Ok(c) => c,
        Err(e) => {
            publisher.publish(Err(e));
            return;
        }
    };
    let namespace = settings.namespace.clone().filter(|n| !n.trim().is_empty()).unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned());
    let selector = settings.label_selector.clone().filter(|n| !n.trim().is_empty()).unwrap_or_else(|| DEFAULT_SELECTOR.to_owned());
    let api: Api<KubeSecret> = Api::namespaced(client, &namespace);
    let where_ = format!("Secrets {selector:?} in namespace {namespace:?}");
    let mut backoff = Duration::from_millis(500);
    loop {
        // List: the whole set, and the version to watch from.
        let list = match api.list(&ListParams::default().labels(&selector)).await {
            Ok(l) => l,
            Err(e) => {
                publisher.publish(Err(format!("listing {where_}: {}", kube_error(e))));
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        let mut secrets: BTreeMap<String, KubeSecret> = list.items.into_iter().filter_map(|s| s.metadata.name.clone().map(|n| (n, s))).collect();
        let mut version = list.metadata.resource_version.unwrap_or_default();
        publisher.publish(Ok(found(&secrets)));
        backoff = Duration::from_millis(500);
        // Watch until the server says the version is gone, or fails.
        let wp = WatchParams::default().labels(&selector).timeout(290);
        'watch: loop {
            let stream = match api.watch(&wp, &version).await {
                Ok(s) => s,
                Err(e) => {
                    publisher.publish(Err(format!("watching {where_}: {}", kube_error(e))));
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    break 'watch;
                }
            };
            futures::pin_mut!(stream);
            loop {
                match stream.try_next().await {
                    Ok(None) => break,
                    Ok(Some(event)) => {
                        let changed = match event {
                            WatchEvent::Added(s) | WatchEvent::Modified(s) => {
                                version = s.metadata.resource_version.clone().unwrap_or(version);
                                s.metadata.name.clone().map(|n| secrets.insert(n, s));
                                true
                            }
                            WatchEvent::Deleted(s) => {
                                version = s.metadata.resource_version.clone().unwrap_or(version);
                                s.metadata.name.as_ref().map(|n| secrets.remove(n));
                                true
                            }
                            WatchEvent::Bookmark(b) => {
                                version = b.metadata.resource_version;
                                false
                            }
                            WatchEvent::Error(status) if status.code == 410 => break 'watch,
                            WatchEvent::Error(status) => {
                                publisher.publish(Err(format!("watching {where_}: HTTP {}: {}", status.code, status.message)));
                                tokio::time::sleep(backoff).await;
                                backoff = (backoff * 2).min(MAX_BACKOFF);
                                break 'watch;
                            }
                        };
                        if changed {
                            publisher.publish(Ok(found(&secrets)));
                        }
                    }
                    Err(e) => {
                        publisher.publish(Err(format!("watching {where_}: {}", kube_error(e))));
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                        break 'watch;
                    }
                }
            }
        }
    }
}
