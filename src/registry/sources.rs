//! The settings side of cluster discovery: what a `jsonData.discovery[i]`
//! entry may say ([`validate_source`]), which `secureJsonData` keys a source
//! owns, and the report of a source's state that a [`super::Registry`] carries
//! (`/api/v1/clusters`, Save & test). The sources themselves (looking, watching,
//! merging) are `crate::discovery`, which builds on this; nothing here runs.

use serde::Serialize;

use super::settings::{DiscoveryKind, DiscoverySourceSettings};
use super::{STATIC_SOURCE, SettingsError};

/// `secureJsonData` prefix of a discovery source's own secrets:
/// `discoverySources.<name>.<secret>` (upper-case `S`: no cluster id collides).
pub const SECRET_PREFIX: &str = "discoverySources.";
/// The secrets a discovery source may have.
pub const SOURCE_SECRET_NAMES: &[&str] = &["bearerToken", "tlsCACert", "tlsClientCert", "tlsClientKey"];

/// A source's health as reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceHealth {
    /// Not looked yet.
    Pending,
    /// The last look worked.
    Ok,
    /// The last look failed; the clusters are those of the last good look.
    Error,
}

/// One cluster a source found but the fleet does not have, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClusterError {
    pub id: String,
    pub error: String,
}

/// A source's state, as `/api/v1/clusters` and Save & test show it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceReport {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: DiscoveryKind,
    pub status: SourceHealth,
    /// Clusters of this source in the live set.
    pub clusters: usize,
    /// When the current list was read (RFC 3339), if ever.
    pub last_refresh: Option<String>,
    /// When the source last looked, successful or not (RFC 3339).
    pub last_attempt: Option<String>,
    /// Why the last look failed.
    pub error: Option<String>,
    /// Clusters found but skipped (id collisions, invalid settings).
    pub cluster_errors: Vec<ClusterError>,
}

/// Check one `jsonData.discovery[i]` entry (`path` names it).
pub fn validate_source(path: &str, s: &DiscoverySourceSettings) -> Result<(), SettingsError> {
    let bad = |field: &str, message: String| SettingsError::Invalid { path: format!("{path}.{field}"), message };
    let name_ok = !s.name.is_empty()
        && s.name.len() <= 63
        && s.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_'))
        && s.name != STATIC_SOURCE;
    if !name_ok {
        return Err(bad("name", format!("{:?} is not a source name (lower-case letters, digits, '-' and '_'; not \"static\")", s.name)));
    }
    let set = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.trim().is_empty());
    let only = |field: &str, present: bool, kinds: &[DiscoveryKind]| -> Result<(), SettingsError> {
        if present && !kinds.contains(&s.kind) {
            let names: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
            return Err(bad(field, format!("only {} sources have {field}", names.join(" and "))));
        }
        Ok(())
    };
    only("path", set(&s.path), &[DiscoveryKind::File])?;
    only("url", set(&s.url), &[DiscoveryKind::Registry])?;
    only("server", set(&s.server), &[DiscoveryKind::Kubernetes])?;
    only("namespace", set(&s.namespace), &[DiscoveryKind::Kubernetes])?;
    only("labelSelector", set(&s.label_selector), &[DiscoveryKind::Kubernetes])?;
    only("refreshSeconds", s.refresh_seconds.is_some(), &[DiscoveryKind::File, DiscoveryKind::Registry])?;
    only("tlsSkipVerify", s.tls_skip_verify, &[DiscoveryKind::Registry, DiscoveryKind::Kubernetes])?;
    match s.kind {
        DiscoveryKind::File if !set(&s.path) => return Err(bad("path", "required for a file source".into())),
        DiscoveryKind::Registry if !set(&s.url) => return Err(bad("url", "required for a registry source".into())),
        DiscoveryKind::Registry => {
            let u = s.url.as_deref().unwrap_or_default();
            match url::Url::parse(u.trim()) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {}
                _ => return Err(bad("url", format!("{u:?} is not an http(s) URL"))),
            }
        }
        DiscoveryKind::Kubernetes => {
            if let Some(server) = s.server.as_deref().filter(|v| !v.trim().is_empty()) {
                match url::Url::parse(server.trim()) {
                    Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {}
                    _ => return Err(bad("server", format!("{server:?} is not an http(s) URL"))),
                }
            }
        }
        DiscoveryKind::File => {}
    }
    if let Some(r) = s.refresh_seconds
        && !(r.is_finite() && (0.01..=86_400.0).contains(&r))
    {
        return Err(bad("refreshSeconds", format!("must be between 0.01 and 86400 seconds, got {r}")));
    }
    Ok(())
}
