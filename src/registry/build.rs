//! From settings to the model: each cluster's and store's settings checked and
//! resolved (ids, URLs, the Kubernetes service proxy, label names, identifiers),
//! every error naming the settings path it is about.

use super::*;

/// A scrape interval as Grafana writes it (`15s`, `1m`, `1m30s`; a bare
/// number is seconds), between 1 ms and 1 day.
pub(super) fn time_interval_ms(path: &str, text: &str) -> Result<i64, SettingsError> {
    let t = text.trim();
    let ms = if t.bytes().all(|b| b.is_ascii_digit()) {
        t.parse::<i64>().ok().and_then(|s| s.checked_mul(1000))
    } else {
        crate::model::duration::parse_duration_ms(t)
    };
    match ms {
        Some(ms) if ms > 0 && ms <= 86_400_000 => Ok(ms),
        _ => Err(invalid(path, format!("{text:?} is not a scrape interval like 15s or 1m (between 1ms and 1d)"))),
    }
}

pub(super) fn valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && id.len() <= 63
        && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_'))
}

/// `secrets(key)`: the value of a `secureJsonData`-style key (`<id>.<backend>.<name>`).
pub(super) fn resolve_cluster(
    base: &str,
    source: &str,
    c: &ClusterSettings,
    secrets: &dyn Fn(&str) -> Option<Secret>,
    stores: &[Arc<ClickhouseStore>],
) -> Result<Cluster, SettingsError> {
    if !valid_id(&c.id) {
        return Err(invalid(
            format!("{base}.id"),
            format!("{:?} is not a valid cluster id (lower-case letters, digits, '-' and '_', at most 63 characters)", c.id),
        ));
    }
    let id = ClusterId(c.id.clone());
    let kubernetes = match &c.kubernetes {
        None => None,
        Some(k) => Some(resolve_kubernetes(base, &id, k, secrets)?),
    };
    let endpoint = |backend: Backend, s: &Option<EndpointSettings>| -> Result<Option<Endpoint>, SettingsError> {
        let Some(s) = s else { return Ok(None) };
        let path = format!("{base}.{backend}");
        if s.kind.is_some() && backend != Backend::Prometheus {
            return Err(invalid(format!("{path}.kind"), "only the prometheus endpoint has a kind"));
        }
        if !s.replicas.is_empty() && backend != Backend::Alertmanager {
            return Err(invalid(format!("{path}.replicas"), "only the alertmanager endpoint has replicas"));
        }
        let scrape_interval_ms = match s.time_interval.as_deref().filter(|t| !t.trim().is_empty()) {
            None => None,
            Some(_) if backend != Backend::Prometheus => {
                return Err(invalid(format!("{path}.timeInterval"), "only the prometheus endpoint has a scrape interval"));
            }
            Some(t) => Some(time_interval_ms(&format!("{path}.timeInterval"), t)?),
        };
        let (url, credentials, tls_skip_verify) = match s.via {
            Via::Direct => {
                if s.service.is_some() {
                    return Err(invalid(format!("{path}.service"), "only with via: kubernetes"));
                }
                let url = parse_http_url(&format!("{path}.url"), &s.url)?;
                (url, credentials(&id, backend, s.basic_auth_user.as_deref(), secrets, &path)?, s.tls_skip_verify)
            }
            Via::Kubernetes => {
                let k = kubernetes.as_ref().ok_or_else(|| invalid(format!("{path}.via"), "via: kubernetes needs the cluster's kubernetes access"))?;
                let service = s.service.as_ref().ok_or_else(|| invalid(format!("{path}.service"), "required with via: kubernetes"))?;
                for (field, set) in [
                    ("url", !s.url.trim().is_empty()),
                    ("basicAuthUser", s.basic_auth_user.is_some()),
                    ("tlsServerName", s.tls_server_name.is_some()),
                ] {
                    if set {
                        return Err(invalid(format!("{path}.{field}"), "not with via: kubernetes (the cluster's API server is the endpoint)"));
                    }
                }
                (service_proxy_url(&format!("{path}.service"), k, service)?, k.credentials.clone(), k.tls_skip_verify)
            }
        };
        let primary = Endpoint {
            backend,
            url,
            prometheus_kind: s.kind.unwrap_or_default(),
            tenant: s.tenant.clone().filter(|t| !t.is_empty()),
            tls_skip_verify,
            tls_server_name: s.tls_server_name.clone().filter(|t| !t.is_empty()),
            credentials,
            replicas: Vec::new(),
            scrape_interval_ms,
        };
        let mut replicas = Vec::with_capacity(s.replicas.len());
        if s.via == Via::Kubernetes && !s.replicas.is_empty() {
            return Err(invalid(format!("{path}.replicas"), "not with via: kubernetes (the Service balances its replicas)"));
        }
        for (j, r) in s.replicas.iter().enumerate() {
            replicas.push(Endpoint { url: parse_http_url(&format!("{path}.replicas[{j}]"), r)?, ..primary.clone() });
        }
        Ok(Some(Endpoint { replicas, ..primary }))
    };
    let clickhouse = match &c.clickhouse {
        None => None,
        Some(ch) => {
            let store = match ch.store.as_deref().filter(|s| !s.is_empty()) {
                Some(s) if stores.iter().any(|o| o.id == s) => s.to_owned(),
                Some(s) => return Err(invalid(format!("{base}.clickhouse.store"), format!("no store {s:?} in jsonData.clickhouse"))),
                None if stores.len() == 1 => stores[0].id.clone(),
                None => {
                    return Err(invalid(
                        format!("{base}.clickhouse.store"),
                        format!("required: {} stores are configured in jsonData.clickhouse", stores.len()),
                    ));
                }
            };
            let cluster_value = ch.cluster_value.clone().filter(|v| !v.is_empty()).unwrap_or_else(|| c.id.clone());
            if cluster_value.len() > 1024 || cluster_value.chars().any(char::is_control) {
                return Err(invalid(format!("{base}.clickhouse.clusterValue"), "at most 1024 characters, no control characters"));
            }
            Some(ClickhouseBinding { store, cluster_value })
        }
    };
    for key in c.labels.keys() {
        if !valid_label_name(key) {
            return Err(invalid(format!("{base}.labels"), format!("{key:?} is not a label name ([A-Za-z_][A-Za-z0-9_./-]*)")));
        }
    }
    let mut cluster = Cluster {
        name: c.name.clone().filter(|n| !n.trim().is_empty()).unwrap_or_else(|| c.id.clone()),
        labels: c.labels.clone(),
        enabled: c.enabled,
        source: source.to_owned(),
        status: ONLINE.to_owned(),
        state_key: String::new(),
        prometheus: endpoint(Backend::Prometheus, &c.prometheus)?,
        loki: endpoint(Backend::Loki, &c.loki)?,
        tempo: endpoint(Backend::Tempo, &c.tempo)?,
        alertmanager: endpoint(Backend::Alertmanager, &c.alertmanager)?,
        kubernetes,
        webhook_secret: secret(secrets, &id, Backend::Alertmanager, "webhookSecret"),
        clickhouse,
        id,
    };
    cluster.state_key = format!("{}@{:012x}", cluster.id, fingerprint(&cluster) & 0xffff_ffff_ffff);
    Ok(cluster)
}

/// Label names of clusters (matched by `clusterSelector`): Prometheus' label
/// names plus `.`, `/` and `-`, as Kubernetes labels have them.
pub(super) fn valid_label_name(k: &str) -> bool {
    let mut chars = k.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-'))
        && k.len() <= 317
}

/// A ClickHouse identifier (database, table, attribute key) as it may appear in
/// SQL text: ASCII letters, digits, `_`, `.` (attribute keys such as
/// `k8s.cluster.uid`) and `-`, 1–128 characters. Tables and databases are
/// additionally quoted with backticks; attribute keys never become SQL text.
pub fn valid_clickhouse_identifier(s: &str, allow_dots: bool) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || (allow_dots && matches!(c, '.' | '-')))
        && !s.starts_with(|c: char| c.is_ascii_digit())
}

pub(super) fn resolve_clickhouse_store(
    i: usize,
    s: &ClickhouseStoreSettings,
    secure: &HashMap<String, String>,
) -> Result<ClickhouseStore, SettingsError> {
    let base = format!("jsonData.clickhouse[{i}]");
    if !valid_id(&s.id) {
        return Err(invalid(format!("{base}.id"), format!("{:?} is not a valid store id (lower-case letters, digits, '-' and '_')", s.id)));
    }
    for (field, value) in
        [("database", &s.database), ("gaugeTable", &s.gauge_table), ("sumTable", &s.sum_table), ("histogramTable", &s.histogram_table)]
    {
        if !valid_clickhouse_identifier(value, false) {
            return Err(invalid(
                format!("{base}.{field}"),
                format!("{value:?} is not a plain identifier (letters, digits, '_'; not starting with a digit)"),
            ));
        }
    }
    if !valid_clickhouse_identifier(&s.cluster_attribute, true) {
        return Err(invalid(
            format!("{base}.clusterAttribute"),
            format!("{:?} is not an attribute key (letters, digits, '_', '.', '-')", s.cluster_attribute),
        ));
    }
    if s.max_result_rows == 0 || s.max_result_bytes < 1024 {
        return Err(invalid(format!("{base}.maxResultRows"), "maxResultRows must be at least 1 and maxResultBytes at least 1024"));
    }
    let url = parse_http_url(&format!("{base}.url"), &s.url)?;
    let store_secret =
        |name: &str| secure.get(&format!("{CLICKHOUSE_SECRET_PREFIX}.{}.{name}", s.id)).filter(|v| !v.is_empty()).map(|v| Secret(v.clone()));
    let password = store_secret("password");
    let basic_auth = match s.user.as_deref().filter(|u| !u.is_empty()) {
        Some(u) => Some((u.to_owned(), password.unwrap_or_else(|| Secret(String::new())))),
        None if password.is_some() => {
            return Err(invalid(
                format!("{base}.user"),
                format!("secureJsonData has {CLICKHOUSE_SECRET_PREFIX}.{}.password but no user is set", s.id),
            ));
        }
        None => None,
    };
    let credentials = Credentials {
        bearer_token: None,
        basic_auth,
        ca_cert_pem: store_secret("tlsCACert"),
        client_cert_pem: store_secret("tlsClientCert"),
        client_key_pem: store_secret("tlsClientKey"),
    };
    if credentials.client_cert_pem.is_some() != credentials.client_key_pem.is_some() {
        return Err(invalid(&base, "tlsClientCert and tlsClientKey must be set together in secureJsonData"));
    }
    Ok(ClickhouseStore {
        id: s.id.clone(),
        endpoint: Endpoint {
            backend: Backend::Clickhouse,
            url,
            prometheus_kind: PrometheusKind::default(),
            tenant: None,
            tls_skip_verify: s.tls_skip_verify,
            tls_server_name: s.tls_server_name.clone().filter(|t| !t.is_empty()),
            credentials,
            replicas: Vec::new(),
            scrape_interval_ms: None,
        },
        database: s.database.clone(),
        gauge_table: s.gauge_table.clone(),
        sum_table: s.sum_table.clone(),
        histogram_table: s.histogram_table.clone(),
        cluster_attribute: s.cluster_attribute.clone(),
        max_result_rows: s.max_result_rows,
        max_result_bytes: s.max_result_bytes,
    })
}

pub(super) fn resolve_kubernetes(
    base: &str,
    id: &ClusterId,
    k: &KubernetesSettings,
    secrets: &dyn Fn(&str) -> Option<Secret>,
) -> Result<KubernetesAccess, SettingsError> {
    let path = format!("{base}.kubernetes");
    let server = match k.server.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(parse_http_url(&format!("{path}.server"), s)?),
        None => None,
    };
    Ok(KubernetesAccess {
        server,
        gpu_namespace: k.gpu_namespace.clone(),
        gpu_daemon_set: k.gpu_daemon_set.clone(),
        gpu_container: k.gpu_container.clone(),
        ptp_namespace: k.ptp_namespace.clone(),
        sriov_namespace: k.sriov_namespace.clone(),
        tls_skip_verify: k.tls_skip_verify,
        credentials: credentials(id, Backend::Kubernetes, None, secrets, &path)?,
    })
}

/// The API server's service-proxy URL of `service` (a base for the backend's API paths).
pub(super) fn service_proxy_url(path: &str, k: &KubernetesAccess, service: &ServiceRef) -> Result<url::Url, SettingsError> {
    let server = k
        .server
        .as_ref()
        .ok_or_else(|| invalid(path, "via: kubernetes needs clusters[].kubernetes.server (the in-cluster config has no URL to proxy through)"))?;
    let dns_label = |v: &str| {
        !v.is_empty() && v.len() <= 63 && v.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') && !v.starts_with('-')
    };
    if !dns_label(&service.namespace) {
        return Err(invalid(format!("{path}.namespace"), format!("{:?} is not a namespace name", service.namespace)));
    }
    if !dns_label(&service.name) {
        return Err(invalid(format!("{path}.name"), format!("{:?} is not a Service name", service.name)));
    }
    let port = match &service.port {
        ServicePort::Number(0) => return Err(invalid(format!("{path}.port"), "must be 1-65535")),
        ServicePort::Number(n) => n.to_string(),
        ServicePort::Name(n) if dns_label(n) => n.clone(),
        ServicePort::Name(n) => return Err(invalid(format!("{path}.port"), format!("{n:?} is not a port number or name"))),
    };
    let scheme = match service.scheme.as_deref().unwrap_or("http") {
        s @ ("http" | "https") => s,
        other => return Err(invalid(format!("{path}.scheme"), format!("{other:?} is not http or https"))),
    };
    let mut url = server.clone();
    let mut segments = url.path_segments_mut().map_err(|()| invalid(path, "kubernetes.server cannot carry a path"))?;
    segments.pop_if_empty().extend([
        "api",
        "v1",
        "namespaces",
        &service.namespace,
        "services",
        &format!("{scheme}:{}:{port}", service.name),
        "proxy",
    ]);
    for p in service.path.as_deref().unwrap_or("").split('/').filter(|p| !p.is_empty()) {
        if p == ".." || p == "." {
            return Err(invalid(format!("{path}.path"), "may not climb (`..`)"));
        }
        segments.push(p);
    }
    drop(segments);
    Ok(url)
}

pub(super) fn parse_http_url(path: &str, raw: &str) -> Result<url::Url, SettingsError> {
    let url = url::Url::parse(raw.trim()).map_err(|e| invalid(path, format!("not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(path, format!("scheme must be http or https, got {:?}", url.scheme())));
    }
    if url.host_str().is_none() {
        return Err(invalid(path, "URL has no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(path, "URL must not have a query string or fragment"));
    }
    Ok(url)
}
