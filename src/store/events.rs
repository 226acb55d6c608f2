//! Live alert events (Grafana Live channel `alerts`): ALERT_FIRED /
//! ALERT_RESOLVED for every transition a webhook delivery stores for the
//! first time. One hub per store location in this process, so two datasources
//! with different stores never see each other's events.
//!
//! Scope: events reach subscribers of the plugin process that received the
//! delivery (with Redis and several Grafana replicas, the replica whose plugin
//! got the webhook). A slow subscriber that falls more than [`CAPACITY`] events
//! behind skips the missed ones (history still has them).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use futures::Stream;
use tokio::sync::broadcast;

use crate::model::alerts::Transition;
use crate::registry::JsonData;

pub const CAPACITY: usize = 1024;

fn hubs() -> &'static Mutex<HashMap<String, broadcast::Sender<Transition>>> {
    static HUBS: OnceLock<Mutex<HashMap<String, broadcast::Sender<Transition>>>> = OnceLock::new();
    HUBS.get_or_init(Default::default)
}

fn hub(settings: &JsonData) -> broadcast::Sender<Transition> {
    let mut map = hubs().lock().unwrap_or_else(|p| p.into_inner());
    map.entry(super::store_key(settings)).or_insert_with(|| broadcast::channel(CAPACITY).0).clone()
}

/// Publish freshly stored transitions (no-op without subscribers).
pub fn publish(settings: &JsonData, fresh: &[Transition]) {
    let tx = hub(settings);
    for t in fresh {
        let _ = tx.send(t.clone());
    }
}

/// The channel path's cluster filter: `alerts` = every cluster,
/// `alerts/<cluster_id>` = one. None when the path is not an alerts channel.
pub fn channel_filter(path: &str) -> Option<Option<String>> {
    match path.trim_matches('/').split_once('/') {
        None if path.trim_matches('/') == "alerts" => Some(None),
        Some(("alerts", cluster)) if !cluster.is_empty() && !cluster.contains('/') => Some(Some(cluster.to_owned())),
        _ => None,
    }
}

/// Events from now on, optionally for one cluster.
pub fn subscribe(settings: &JsonData, cluster: Option<String>) -> impl Stream<Item = Transition> + Send + use<> {
    let rx = hub(settings).subscribe();
    futures::stream::unfold((rx, cluster), |(mut rx, cluster)| async move {
        loop {
            match rx.recv().await {
                Ok(t) if cluster.as_ref().is_none_or(|c| *c == t.cluster_id) => return Some((t, (rx, cluster))),
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(n)) => tracing::warn!(skipped = n, "alert event subscriber fell behind"),
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_paths() {
        assert_eq!(channel_filter("alerts"), Some(None));
        assert_eq!(channel_filter("alerts/east"), Some(Some("east".into())));
        assert_eq!(channel_filter("alerts/"), Some(None));
        assert_eq!(channel_filter("alerts/a/b"), None);
        assert_eq!(channel_filter("logs/tail"), None);
    }
}
