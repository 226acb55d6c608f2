//! `alerts` queries: every target cluster's Alertmanager (all HA replicas of a
//! cluster in parallel, deduplicated by fingerprint), plus RESOLVED alerts and
//! history from the alert store (webhook deliveries).
//!
//! The same alert in two clusters stays two rows: `id` is
//! `<cluster_id>:<fingerprint>`, `cluster`/`cluster_id` differ, the fingerprint
//! (a hash of the labels) may be equal; `by_severity` counts both.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::future::join_all;

use super::status::{self, ClusterStatus};
use super::{ClusterOutcome, Federation, decode_error, named};
use crate::cache::{CacheClass, Weigh, key_hash};
use crate::error::{ErrorCode, FleetError};
use crate::frames::alertmanager::{self as conv, Alert, Origin, RESOLVED, Transition};
use crate::frames::{Frame, FrameMeta, Notice, NoticeSeverity};
use crate::query::alerts::{AlertState, AlertsFormat, AlertsQuery};
use crate::registry::{Backend, Cluster};
use crate::store::{self, HistoryFilter};
use crate::upstream::alertmanager::{AlertmanagerClient, StateSelection};

/// One cluster's alerts after replica dedup, with replica failures (the
/// cluster succeeds when at least one replica answered).
#[derive(Debug)]
pub struct ClusterAlerts {
    pub alerts: Vec<Alert>,
    pub replica_errors: Vec<FleetError>,
}

/// The clusters an alerts request targets: the named ones, or every enabled
/// cluster that has an Alertmanager when none are named.
pub fn targets(fed: &Federation, clusters: &[String]) -> Result<Vec<Arc<Cluster>>, FleetError> {
    let all = fed.registry.targets(clusters)?;
    if !clusters.is_empty() {
        return Ok(all);
    }
    let with_am: Vec<Arc<Cluster>> = all.into_iter().filter(|c| c.alertmanager.is_some()).collect();
    if with_am.is_empty() {
        return Err(FleetError::new(ErrorCode::AlertmanagerNotAvailable, "no enabled cluster has an alertmanager endpoint configured"));
    }
    Ok(with_am)
}

fn selection(states: &[AlertState]) -> StateSelection {
    StateSelection {
        active: states.contains(&AlertState::Firing),
        suppressed: states.contains(&AlertState::Suppressed),
        unprocessed: states.contains(&AlertState::Pending),
    }
}

impl Weigh for ClusterAlerts {
    fn weigh(&self) -> usize {
        self.alerts.iter().map(|a| 256 + a.labels.iter().chain(&a.annotations).map(|(k, v)| k.len() + v.len() + 48).sum::<usize>()).sum::<usize>()
            + self.replica_errors.iter().map(|e| e.message.len() + 64).sum::<usize>()
    }
}

/// Ask every replica of every target cluster; parse inside the cluster's task.
/// Per-cluster answers are cached for `cache.alertsTtlSeconds` (seed key
/// `alerts:active:<cluster>`, plus a hash of the upstream filters).
pub async fn fetch(fed: &Federation, targets: &[Arc<Cluster>], q: &AlertsQuery) -> Vec<ClusterOutcome<Arc<ClusterAlerts>>> {
    let sel = selection(&q.states);
    let filters: Vec<String> = q.matchers.iter().map(|m| m.to_filter()).collect();
    let poll = sel.active || sel.suppressed || sel.unprocessed;
    let hash = key_hash(&format!("{sel:?}|{}", filters.join("\u{1f}")));
    fed.fan_out(targets, Backend::Alertmanager, |cluster| {
        let clients = fed.alertmanager_clients(&cluster);
        let filters = filters.clone();
        let cache = fed.cache.clone();
        let key = format!("alerts:active:{}:{hash}", cluster.state_key());
        let ask = async move {
            if !poll {
                return Ok(ClusterAlerts { alerts: Vec::new(), replica_errors: Vec::new() });
            }
            let calls = clients.into_iter().map(|client| {
                let cluster = cluster.clone();
                let filters = filters.clone();
                async move {
                    let client = AlertmanagerClient::new(client?);
                    let body = client.alerts(sel, &filters).await.map_err(named(&cluster, Backend::Alertmanager))?;
                    conv::parse_v2_alerts(&body, Origin { cluster_id: cluster.id.as_str(), cluster_name: &cluster.name })
                        .map_err(|e| decode_error(&cluster, Backend::Alertmanager, e))
                }
            });
            let mut lists = Vec::new();
            let mut replica_errors = Vec::new();
            for r in join_all(calls).await {
                match r {
                    Ok(l) => lists.push(l),
                    Err(e) => replica_errors.push(e),
                }
            }
            if lists.is_empty() {
                // Every replica failed: the cluster failed, with the first reason.
                return Err(replica_errors.into_iter().next().unwrap_or_else(|| FleetError::internal("no alertmanager replica")));
            }
            Ok(ClusterAlerts { alerts: conv::dedup_replicas(lists), replica_errors })
        };
        async move { cache.get_or_fetch(key, CacheClass::Alerts, ask).await }
    })
    .await
}

/// A federated alert list with its per-cluster statuses and notices.
#[derive(Debug)]
pub struct AlertList {
    pub alerts: Vec<Alert>,
    pub statuses: Vec<ClusterStatus>,
    pub notices: Vec<Notice>,
}

/// Poll, dedup, filter, add stored RESOLVED alerts; fails only when every cluster failed.
pub async fn list(fed: &Federation, clusters: &[String], q: &AlertsQuery) -> Result<AlertList, FleetError> {
    let targets = targets(fed, clusters)?;
    let outcomes = fetch(fed, &targets, q).await;
    if let Some(err) = status::all_failed(&outcomes) {
        return Err(err);
    }
    let statuses = status::statuses(&outcomes);
    let mut notices = status::failure_notices(&statuses);
    let mut alerts = Vec::new();
    for o in outcomes {
        let Ok(ca) = o.result else { continue };
        for e in &ca.replica_errors {
            notices.push(Notice {
                severity: NoticeSeverity::Warning,
                text: format!("{}: alertmanager replica failed (others answered): {}", e.code, e.message),
            });
        }
        alerts.extend(ca.alerts.iter().filter(|a| q.keeps(a.state, &a.severity, &a.labels)).cloned());
    }
    if q.states.contains(&AlertState::Resolved) {
        match stored_resolved(fed, &targets, q).await {
            Ok(r) => alerts.extend(r),
            Err(e) => notices.push(Notice { severity: NoticeSeverity::Warning, text: format!("RESOLVED alerts unavailable: {e}") }),
        }
    }
    alerts.sort_by(|a, b| b.starts_at_ms.cmp(&a.starts_at_ms).then_with(|| a.id().cmp(&b.id())));
    alerts.truncate(q.limit);
    Ok(AlertList { alerts, statuses, notices })
}

/// Alerts whose latest stored state is RESOLVED, ended within the query range.
async fn stored_resolved(fed: &Federation, targets: &[Arc<Cluster>], q: &AlertsQuery) -> Result<Vec<Alert>, FleetError> {
    let store = store::for_settings(&fed.registry.settings).await?;
    let ids: Vec<String> = targets.iter().map(|c| c.id.to_string()).collect();
    Ok(store
        .current(ids)
        .await?
        .into_iter()
        .filter(|a| a.state == AlertState::Resolved)
        .filter(|a| a.ends_at_ms.is_some_and(|e| e >= q.start_ms && e <= q.end_ms))
        .filter(|a| q.keeps(a.state, &a.severity, &a.labels))
        .collect())
}

/// Stored transitions of the target clusters passing the query's filters.
pub async fn history(fed: &Federation, clusters: &[String], q: &AlertsQuery, fingerprint: Option<String>) -> Result<Vec<Transition>, FleetError> {
    let ids: Vec<String> = if clusters.is_empty() { Vec::new() } else { fed.registry.targets(clusters)?.iter().map(|c| c.id.to_string()).collect() };
    let store = store::for_settings(&fed.registry.settings).await?;
    let events = store.history(HistoryFilter { clusters: ids, fingerprint, from_ms: q.start_ms, to_ms: q.end_ms, limit: usize::MAX }).await?;
    Ok(events
        .into_iter()
        .filter(|t| {
            let state = if t.event == RESOLVED { AlertState::Resolved } else { AlertState::Firing };
            q.keeps(state, &t.severity, &t.labels)
        })
        .take(q.limit)
        .collect())
}

fn with_meta(mut frame: Frame, statuses: &[ClusterStatus], notices: Vec<Notice>) -> Frame {
    let meta = frame.meta.get_or_insert_with(FrameMeta::default);
    meta.custom = Some(serde_json::json!({ "clusters": statuses }));
    meta.notices = notices;
    frame
}

/// Run an alerts query and build its frames.
pub async fn run(fed: &Federation, ref_id: &str, clusters: &[String], q: &AlertsQuery) -> Result<Vec<Frame>, FleetError> {
    match (q.format, q.history) {
        (AlertsFormat::Table, true) => {
            let events = history(fed, clusters, q, None).await?;
            Ok(vec![conv::history_frame(&events, ref_id)])
        }
        (AlertsFormat::Table, false) => {
            let l = list(fed, clusters, q).await?;
            Ok(vec![with_meta(conv::alerts_frame(&l.alerts, ref_id), &l.statuses, l.notices), conv::by_severity_frame(&l.alerts, ref_id)])
        }
        (AlertsFormat::Annotations, _) => {
            let mut q_all = q.clone();
            if !q_all.states.contains(&AlertState::Resolved) {
                q_all.states.push(AlertState::Resolved);
            }
            // Stored episodes still show when every Alertmanager is unreachable.
            let (live, statuses, mut notices) = match list(fed, clusters, q).await {
                Ok(l) => (l.alerts, l.statuses, l.notices),
                Err(e) => (Vec::new(), Vec::new(), vec![Notice { severity: NoticeSeverity::Warning, text: format!("{}: {}", e.code, e.message) }]),
            };
            // Episodes from history (fired → resolved) overlaid with what is active now.
            let mut episodes: BTreeMap<(String, String, i64), Alert> = BTreeMap::new();
            match history(fed, clusters, &q_all, None).await {
                Ok(events) => {
                    for t in events.iter().rev() {
                        let key = (t.cluster_id.clone(), t.fingerprint.clone(), t.starts_at_ms);
                        let resolved_seen = episodes.get(&key).is_some_and(|a| a.state == AlertState::Resolved);
                        if !resolved_seen {
                            episodes.insert(key, t.to_alert());
                        }
                    }
                }
                Err(e) if live.is_empty() && statuses.is_empty() => return Err(e),
                Err(e) => notices.push(Notice { severity: NoticeSeverity::Warning, text: format!("alert history unavailable: {e}") }),
            }
            for a in live {
                episodes.entry((a.cluster_id.clone(), a.fingerprint.clone(), a.starts_at_ms)).or_insert(a);
            }
            let alerts: Vec<Alert> = episodes.into_values().filter(|a| q_all.keeps(a.state, &a.severity, &a.labels)).collect();
            Ok(vec![with_meta(conv::annotations_frame(&alerts, ref_id), &statuses, notices)])
        }
    }
}

/// Live events from polling: every `every`, list the active alerts of the
/// target clusters and emit ALERT_FIRED for alerts not seen in the previous
/// poll and ALERT_RESOLVED (ended "now") for alerts gone since. The baseline
/// poll runs before this returns (no events for what is already active); a
/// cluster whose poll failed keeps its previous alerts (an outage is not a resolve).
pub async fn poll_diff(
    fed: Arc<Federation>,
    clusters: Vec<String>,
    every: std::time::Duration,
) -> impl futures::Stream<Item = Transition> + Send + 'static {
    type Seen = BTreeMap<(String, String), Alert>;
    let q = AlertsQuery {
        states: vec![AlertState::Firing, AlertState::Pending, AlertState::Suppressed],
        severities: Vec::new(),
        matchers: Vec::new(),
        history: false,
        format: AlertsFormat::Table,
        limit: usize::MAX,
        start_ms: 0,
        end_ms: 0,
    };
    let baseline: Seen = match list(&fed, &clusters, &q).await {
        Ok(l) => l.alerts.into_iter().map(|a| ((a.cluster_id.clone(), a.fingerprint.clone()), a)).collect(),
        Err(_) => Seen::new(),
    };
    let state: (Option<Seen>, std::collections::VecDeque<Transition>) = (Some(baseline), Default::default());
    futures::stream::unfold(state, move |(mut prev, mut pending)| {
        let fed = fed.clone();
        let clusters = clusters.clone();
        let q = q.clone();
        async move {
            loop {
                if let Some(t) = pending.pop_front() {
                    return Some((t, (prev, pending)));
                }
                if prev.is_some() {
                    tokio::time::sleep(every).await;
                }
                let Ok(l) = list(&fed, &clusters, &q).await else {
                    if prev.is_none() {
                        prev = Some(Seen::new());
                    }
                    continue;
                };
                let failed: Vec<&str> = l.statuses.iter().filter(|s| s.error.is_some()).map(|s| s.cluster_id.as_str()).collect();
                let mut now: Seen = l.alerts.into_iter().map(|a| ((a.cluster_id.clone(), a.fingerprint.clone()), a)).collect();
                let now_ms = chrono::Utc::now().timestamp_millis();
                if let Some(before) = &prev {
                    for (key, a) in &now {
                        if !before.contains_key(key) {
                            pending.push_back(Transition::from_alert(a, now_ms));
                        }
                    }
                    for (key, a) in before {
                        if failed.contains(&key.0.as_str()) {
                            now.insert(key.clone(), a.clone());
                        } else if !now.contains_key(key) {
                            let ended = Alert { state: AlertState::Resolved, ends_at_ms: Some(now_ms), ..a.clone() };
                            pending.push_back(Transition::from_alert(&ended, now_ms));
                        }
                    }
                }
                prev = Some(now);
            }
        }
    })
}

/// What the `alerts` live channel sends: freshly stored webhook transitions
/// merged with the poll diff (every `cache.alertsTtlSeconds`, at least 1 s),
/// each transition once (the same fire seen by webhook and poll is one event).
pub async fn live_events(fed: Arc<Federation>, cluster: Option<String>) -> impl futures::Stream<Item = Transition> + Send + 'static {
    use futures::StreamExt;
    let every = std::time::Duration::from_secs(fed.registry.settings.cache.alerts_ttl_seconds.max(1));
    let pushed = store::events::subscribe(&fed.registry.settings, cluster.clone());
    let polled = poll_diff(fed, cluster.into_iter().collect(), every).await;
    let mut seen: std::collections::VecDeque<String> = std::collections::VecDeque::new();
    futures::stream::select(pushed, polled).filter(move |t| {
        let key = t.key();
        let fresh = !seen.contains(&key);
        if fresh {
            seen.push_back(key);
            if seen.len() > 4096 {
                seen.pop_front();
            }
        }
        futures::future::ready(fresh)
    })
}
