//! Which `secureJsonData` keys exist and whose they are: `<clusterId>.<secret>`,
//! `<clusterId>.<backend>.<secret>`, `clickhouseStores.<storeId>.<secret>` and
//! `serveToken.<name>`. An unknown key is an error, so a typo never silently
//! drops a credential.

use super::*;

/// Prefix of a ClickHouse store's secrets: `clickhouseStores.<storeId>.<secret>`
/// (upper-case `S`: no cluster id can collide with it).
pub const CLICKHOUSE_SECRET_PREFIX: &str = "clickhouseStores";
pub(super) const CLICKHOUSE_SECRET_NAMES: &[&str] = &["password", "tlsCACert", "tlsClientCert", "tlsClientKey"];

/// `secureJsonData` key prefix of `serve` bearer tokens: `serveToken.<name>`.
pub const SERVE_TOKEN_PREFIX: &str = "serveToken.";

/// The secret names a cluster may carry in `secureJsonData`.
pub(super) const SECRET_NAMES: &[&str] = &["bearerToken", "basicAuthPassword", "tlsCACert", "tlsClientCert", "tlsClientKey", "webhookSecret"];

pub(super) fn secret(secrets: &dyn Fn(&str) -> Option<Secret>, id: &ClusterId, backend: Backend, name: &str) -> Option<Secret> {
    secrets(&format!("{id}.{backend}.{name}")).or_else(|| secrets(&format!("{id}.{name}"))).filter(|v| !v.0.is_empty())
}

pub(super) fn credentials(
    id: &ClusterId,
    backend: Backend,
    basic_user: Option<&str>,
    secure: &dyn Fn(&str) -> Option<Secret>,
    path: &str,
) -> Result<Credentials, SettingsError> {
    let password = secret(secure, id, backend, "basicAuthPassword");
    let basic_auth = match (basic_user.filter(|u| !u.is_empty()), password) {
        (Some(u), Some(p)) => Some((u.to_owned(), p)),
        (Some(_), None) => {
            return Err(invalid(
                format!("{path}.basicAuthUser"),
                format!("set, but secureJsonData has no {id}.{backend}.basicAuthPassword or {id}.basicAuthPassword"),
            ));
        }
        (None, _) => None,
    };
    let creds = Credentials {
        bearer_token: secret(secure, id, backend, "bearerToken"),
        basic_auth,
        ca_cert_pem: secret(secure, id, backend, "tlsCACert"),
        client_cert_pem: secret(secure, id, backend, "tlsClientCert"),
        client_key_pem: secret(secure, id, backend, "tlsClientKey"),
    };
    if creds.client_cert_pem.is_some() != creds.client_key_pem.is_some() {
        return Err(invalid(path, "tlsClientCert and tlsClientKey must be set together in secureJsonData"));
    }
    Ok(creds)
}

/// Reject secret keys that match no cluster/backend/secret name: a typo there
/// would otherwise silently send requests without credentials. Only the key is
/// named in the error, never the value.
pub(super) fn check_secret_keys(
    clusters: &[Arc<Cluster>],
    data: &JsonData,
    stores: &[Arc<ClickhouseStore>],
    secure: &HashMap<String, String>,
) -> Result<(), SettingsError> {
    let serve = &data.serve;
    for key in secure.keys() {
        // `discoverySources.<source>.<secret>`: a discovery source's own credentials.
        if let Some(rest) = key.strip_prefix(super::sources::SECRET_PREFIX) {
            let (source, name) = rest.rsplit_once('.').unwrap_or(("", rest));
            if !data.discovery.iter().any(|d| d.name == source) {
                return Err(invalid(format!("secureJsonData.{key}"), format!("no discovery source named {source:?} in jsonData.discovery")));
            }
            if !super::sources::SOURCE_SECRET_NAMES.contains(&name) {
                return Err(invalid(
                    format!("secureJsonData.{key}"),
                    format!("unknown secret {name:?} (expected one of {})", super::sources::SOURCE_SECRET_NAMES.join(", ")),
                ));
            }
            continue;
        }
        // `serveToken.<name>`: a `serve` bearer token (not a cluster id: those are lower-case).
        if let Some(name) = key.strip_prefix(SERVE_TOKEN_PREFIX) {
            if !serve.tokens.iter().any(|t| t.name == name) {
                return Err(invalid(format!("secureJsonData.{key}"), format!("no token named {name:?} in jsonData.serve.tokens")));
            }
            continue;
        }
        if let Some(rest) = key.strip_prefix(CLICKHOUSE_SECRET_PREFIX).and_then(|r| r.strip_prefix('.')) {
            let (store, name) = rest.rsplit_once('.').unwrap_or(("", rest));
            if !stores.iter().any(|s| s.id == store) {
                return Err(invalid(format!("secureJsonData.{key}"), format!("no ClickHouse store with id {store:?} in jsonData.clickhouse")));
            }
            if !CLICKHOUSE_SECRET_NAMES.contains(&name) {
                return Err(invalid(
                    format!("secureJsonData.{key}"),
                    format!("unknown secret {name:?} (expected one of {})", CLICKHOUSE_SECRET_NAMES.join(", ")),
                ));
            }
            continue;
        }
        let parts: Vec<&str> = key.split('.').collect();
        let (cid, backend, name) = match parts.as_slice() {
            [c, n] => (*c, None, *n),
            [c, b, n] => (*c, Some(*b), *n),
            _ => {
                return Err(invalid(format!("secureJsonData.{key}"), "expected <clusterId>.<secret> or <clusterId>.<backend>.<secret>"));
            }
        };
        // With discovery, a secret may be for a cluster a source has not found (yet).
        if !clusters.iter().any(|c| c.id.as_str() == cid) && data.discovery.is_empty() {
            return Err(invalid(format!("secureJsonData.{key}"), format!("no cluster with id {cid:?}")));
        }
        if let Some(b) = backend
            && !["prometheus", "loki", "tempo", "alertmanager", "kubernetes"].contains(&b)
        {
            return Err(invalid(format!("secureJsonData.{key}"), format!("unknown backend {b:?}")));
        }
        if !SECRET_NAMES.contains(&name) {
            return Err(invalid(format!("secureJsonData.{key}"), format!("unknown secret {name:?} (expected one of {})", SECRET_NAMES.join(", "))));
        }
    }
    Ok(())
}
