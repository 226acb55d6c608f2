//! Cluster discovery: sources that find clusters at run time, merged with the
//! static `jsonData.clusters` into the live cluster set.
//!
//! * A source ([`file`], [`registry_api`], [`kubernetes`]) produces, each time
//!   it looks, the whole list of clusters it knows, in the static shape
//!   ([`DiscoveredCluster`]: `ClusterSettings` + status + credentials held in
//!   memory only), or why it could not look. A failed look keeps the source's
//!   last good list: a broken file or an unreachable registry never empties the
//!   fleet, and the error is reported on the source ([`SourceReport`]).
//! * [`live::Live`] merges the static list and every source's last list into a
//!   new `Registry` and `Federation` each time a source changes, and publishes
//!   it (a `tokio::sync::watch` of `Arc<Federation>`). A query takes the
//!   current one once, at its start, so the cluster set it fans out over never
//!   changes under it; a removed cluster's in-flight requests finish against
//!   the federation they started in.
//! * Ids are unique across the fleet: a discovered cluster whose id is already
//!   taken (by a static cluster, an earlier source, or earlier in its own
//!   source) is skipped with an error naming both sources; the rest stay.
//! * Unchanged clusters keep their resolved `Cluster` (and with it their
//!   clients, connection pools and Kubernetes client); breakers, slots and
//!   cache entries are keyed by `Cluster::state_key` (id + endpoint
//!   fingerprint), so a new cluster reusing an old id starts clean.
//! * A source's own credentials are `secureJsonData["discoverySources.<name>.<secret>"]`;
//!   the credentials a source hands out (a registry's tokens, a cluster Secret's
//!   bearer token and client key) live only in memory, in `Secret`s that never
//!   print, and are replaced when the source changes.

pub mod file;
pub mod kubernetes;
pub mod live;
pub mod registry_api;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::registry::settings::{ClusterSettings, DiscoverySourceSettings};
use crate::registry::{Cluster, Registry, STATIC_SOURCE, Secret, SettingsError};

pub use crate::registry::sources::{ClusterError, SECRET_PREFIX, SOURCE_SECRET_NAMES, SourceHealth, SourceReport, validate_source};
pub use live::Live;

/// One cluster as a source found it.
#[derive(Debug, Clone, PartialEq)]
pub struct DiscoveredCluster {
    /// The static shape (`jsonData.clusters[]`).
    pub settings: ClusterSettings,
    /// `online` unless the source says otherwise (only online clusters are in "all").
    pub status: String,
    /// Credentials the source handed out, keyed like `secureJsonData`
    /// (`<id>.<secret>`, `<id>.<backend>.<secret>`). Memory only.
    pub secrets: HashMap<String, Secret>,
}

/// What one look of a source produced: the clusters, or why there are none
/// (the source's last good list stays).
pub type Look = Result<Found, String>;

/// The clusters of one look, and the entries that could not be read (one bad
/// entry never costs the others).
#[derive(Debug, Clone, Default)]
pub struct Found {
    pub clusters: Vec<DiscoveredCluster>,
    pub skipped: Vec<ClusterError>,
}

impl From<Vec<DiscoveredCluster>> for Found {
    fn from(clusters: Vec<DiscoveredCluster>) -> Self {
        Found { clusters, skipped: Vec::new() }
    }
}

/// The last look of one source, kept by [`live::Live`].
#[derive(Debug, Clone, Default)]
pub(crate) struct SourceState {
    pub clusters: Arc<Vec<DiscoveredCluster>>,
    pub skipped: Vec<ClusterError>,
    pub last_refresh: Option<SystemTime>,
    pub last_attempt: Option<SystemTime>,
    pub error: Option<String>,
}

impl SourceState {
    pub fn apply(&mut self, look: Look, now: SystemTime) {
        self.last_attempt = Some(now);
        match look {
            Ok(found) => {
                self.clusters = Arc::new(found.clusters);
                self.skipped = found.skipped;
                self.last_refresh = Some(now);
                self.error = None;
            }
            Err(e) => self.error = Some(e),
        }
    }

    fn health(&self) -> SourceHealth {
        match (&self.error, self.last_attempt) {
            (Some(_), _) => SourceHealth::Error,
            (None, Some(_)) => SourceHealth::Ok,
            (None, None) => SourceHealth::Pending,
        }
    }
}

fn rfc3339(t: Option<SystemTime>) -> Option<String> {
    t.map(|t| chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

/// Resolved clusters of the previous merge, by source and id, with the input
/// they came from: an unchanged input keeps its `Arc<Cluster>`.
pub(crate) type Resolved = HashMap<(String, String), (DiscoveredCluster, Arc<Cluster>)>;

/// Merge the static clusters of `base` with every source's last list (in
/// `jsonData.discovery` order) into a new registry. `resolved` is the previous
/// merge's and is replaced by this one's.
pub(crate) fn merge(base: &Registry, sources: &[(DiscoverySourceSettings, SourceState)], resolved: &mut Resolved) -> Registry {
    // id → the source that has it.
    let mut taken: HashMap<String, String> =
        base.clusters().iter().filter(|c| c.source == STATIC_SOURCE).map(|c| (c.id.as_str().to_owned(), STATIC_SOURCE.to_owned())).collect();
    let mut next: Resolved = HashMap::new();
    let mut clusters: Vec<Arc<Cluster>> = Vec::new();
    let mut reports = Vec::with_capacity(sources.len());
    for (settings, state) in sources {
        let mut errors = state.skipped.clone();
        let mut count = 0;
        for (j, found) in state.clusters.iter().enumerate() {
            let id = found.settings.id.clone();
            if let Some(owner) = taken.get(&id) {
                let owner = if owner == STATIC_SOURCE { "jsonData.clusters".to_owned() } else { format!("discovery source {owner:?}") };
                let error = format!(
                    "cluster id {id:?} from discovery source {:?} is already taken by {owner}; the cluster from {:?} is skipped",
                    settings.name, settings.name
                );
                tracing::warn!(source = %settings.name, cluster = %id, "{error}");
                errors.push(ClusterError { id, error });
                continue;
            }
            let key = (settings.name.clone(), id.clone());
            let cluster = match resolved.get(&key) {
                Some((input, cluster)) if input == found => Ok(cluster.clone()),
                _ => resolve(base, settings, j, found).map(Arc::new),
            };
            match cluster {
                Ok(c) => {
                    taken.insert(id, settings.name.clone());
                    next.insert(key, (found.clone(), c.clone()));
                    clusters.push(c);
                    count += 1;
                }
                Err(e) => {
                    tracing::warn!(source = %settings.name, cluster = %id, error = %e, "discovered cluster skipped");
                    errors.push(ClusterError { id, error: e.to_string() });
                }
            }
        }
        reports.push(SourceReport {
            name: settings.name.clone(),
            kind: settings.kind,
            status: state.health(),
            clusters: count,
            last_refresh: rfc3339(state.last_refresh),
            last_attempt: rfc3339(state.last_attempt),
            error: state.error.clone(),
            cluster_errors: errors,
        });
    }
    *resolved = next;
    base.with_discovered(clusters, reports)
}

/// Resolve one discovered cluster: the source's labels under the cluster's own.
fn resolve(base: &Registry, source: &DiscoverySourceSettings, index: usize, found: &DiscoveredCluster) -> Result<Cluster, SettingsError> {
    let mut settings = found.settings.clone();
    let mut labels: BTreeMap<String, String> = source.labels.clone();
    labels.append(&mut settings.labels);
    settings.labels = labels;
    let path = format!("discovery[{}].clusters[{index}]", source.name);
    let mut cluster = base.resolve_discovered(&path, &source.name, &settings, &found.secrets)?;
    cluster.status = found.status.clone();
    Ok(cluster)
}

/// The poll interval of a file or registry source.
pub(crate) fn refresh_interval(s: &DiscoverySourceSettings, default_secs: f64) -> Duration {
    Duration::from_secs_f64(s.refresh_seconds.unwrap_or(default_secs))
}

#[cfg(test)]
mod tests;
