//! The live federation of one datasource instance: the static registry plus
//! what the discovery sources found, republished on every change.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::sync::watch;

use super::{Look, Resolved, SourceState, merge};
use crate::federation::Federation;
use crate::registry::Registry;
use crate::registry::settings::{DiscoveryKind, DiscoverySourceSettings};

/// One datasource instance: its current [`Federation`] and the tasks of its
/// discovery sources (stopped when this is dropped).
pub struct Live {
    inner: Arc<Inner>,
    tasks: Vec<tokio::task::AbortHandle>,
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Live").field("sources", &self.tasks.len()).finish()
    }
}

struct Inner {
    /// The registry of the static clusters (the settings as parsed).
    base: Registry,
    state: Mutex<MergeState>,
    tx: watch::Sender<Arc<Federation>>,
}

struct MergeState {
    sources: Vec<(DiscoverySourceSettings, SourceState)>,
    resolved: Resolved,
}

/// Hands one source's looks to its [`Live`].
#[derive(Clone)]
pub struct Publisher {
    inner: Arc<Inner>,
    index: usize,
}

impl Publisher {
    /// The source's settings.
    pub fn settings(&self) -> DiscoverySourceSettings {
        let state = self.inner.state.lock().unwrap_or_else(|p| p.into_inner());
        state.sources[self.index].0.clone()
    }

    /// A source's own secret (`discoverySources.<name>.<secret>`).
    pub fn secret(&self, name: &str) -> Option<crate::registry::Secret> {
        let source = self.settings().name;
        self.inner.base.secret(&format!("{}{source}.{name}", super::SECRET_PREFIX))
    }

    /// The query limits (timeouts, body cap) a source's requests use too.
    pub fn limits(&self) -> crate::registry::QueryLimits {
        self.inner.base.limits.clone()
    }

    /// Record a look and republish the fleet.
    pub fn publish(&self, look: Look) {
        let fed = {
            let mut state = self.inner.state.lock().unwrap_or_else(|p| p.into_inner());
            let MergeState { sources, resolved } = &mut *state;
            sources[self.index].1.apply(look, SystemTime::now());
            let registry = merge(&self.inner.base, sources, resolved);
            let prev = self.inner.tx.borrow().clone();
            Arc::new(prev.next(registry))
        };
        tracing::debug!(clusters = fed.registry.clusters().len(), "cluster set republished");
        self.inner.tx.send_replace(fed);
    }
}

impl Live {
    /// Start the instance: the static clusters at once, each discovery source
    /// in a task of its own (needs a Tokio runtime when there are sources).
    pub fn new(registry: Registry) -> Live {
        let sources: Vec<(DiscoverySourceSettings, SourceState)> =
            registry.settings.discovery.iter().map(|s| (s.clone(), SourceState::default())).collect();
        let mut resolved = Resolved::new();
        let first = if sources.is_empty() { registry.clone() } else { merge(&registry, &sources, &mut resolved) };
        let (tx, _) = watch::channel(Arc::new(Federation::new(first)));
        let inner = Arc::new(Inner { base: registry, state: Mutex::new(MergeState { sources, resolved }), tx });
        let count = inner.state.lock().unwrap_or_else(|p| p.into_inner()).sources.len();
        let mut tasks = Vec::with_capacity(count);
        for index in 0..count {
            let publisher = Publisher { inner: inner.clone(), index };
            let task = match tokio::runtime::Handle::try_current() {
                Ok(rt) => rt.spawn(run_source(publisher)),
                Err(_) => {
                    publisher.publish(Err("discovery needs the plugin's runtime; not started".into()));
                    continue;
                }
            };
            tasks.push(task.abort_handle());
        }
        Live { inner, tasks }
    }

    /// The federation a query uses (take it once per query).
    pub fn current(&self) -> Arc<Federation> {
        self.inner.tx.borrow().clone()
    }

    /// Every republished federation, from now on.
    pub fn subscribe(&self) -> watch::Receiver<Arc<Federation>> {
        self.inner.tx.subscribe()
    }

    /// Wait until every source has looked once (or `within` passed): one-shot
    /// commands and Save & test see the discovered clusters, not an empty start.
    pub async fn first_looks(&self, within: Duration) -> Arc<Federation> {
        let mut rx = self.subscribe();
        let all_looked = |f: &Arc<Federation>| f.registry.discovery.iter().all(|s| s.status != super::SourceHealth::Pending);
        let _ = tokio::time::timeout(within, rx.wait_for(all_looked)).await;
        self.current()
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

async fn run_source(publisher: Publisher) {
    let settings = publisher.settings();
    match settings.kind {
        DiscoveryKind::File => super::file::run(publisher).await,
        DiscoveryKind::Registry => super::registry_api::run(publisher).await,
        DiscoveryKind::Kubernetes => super::kubernetes::run(publisher).await,
    }
}
