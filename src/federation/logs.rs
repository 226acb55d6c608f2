//! `logs` queries: LogQL fanned out to every target cluster's Loki, then
//! merged (log lines) or labelled and aggregated (metric queries).
//!
//! Log lines from all clusters are merged by timestamp in the query's
//! direction and cut to ONE global `limit`: `backward` keeps the newest `limit`
//! lines of all clusters together (newest first), `forward` the oldest (oldest
//! first) — what a single Loki holding every cluster's data would answer. Each
//! cluster is asked for `limit` lines, which is always enough for that.

use std::sync::Arc;

use serde_json::{Map, Value as JsonValue};

use super::status::{self, ClusterStatus};
use super::{ClusterOutcome, Federation, aggregate, decode_error, named};
use crate::error::{ErrorCode, FleetError};
use crate::frames::loki::{self as conv, DerivedField, LogColumns, LokiData, LokiResponse};
use crate::frames::prometheus::{Labels, PromData, PromResponse, ResultType};
use crate::frames::{DataLink, Frame, FrameMeta, InternalLink, Notice, NoticeSeverity};
use crate::query::logql::LogqlKind;
use crate::query::logs::Direction;
use crate::query::{LogsQuery, MetricsQuery};
use crate::registry::{Backend, Cluster};
use crate::upstream::loki::LokiClient;

pub mod tail;

impl Federation {
    /// The Loki client of a cluster.
    pub fn loki(&self, cluster: &Cluster) -> Result<LokiClient, FleetError> {
        self.client(cluster, Backend::Loki).map(LokiClient::new)
    }
}

/// Targets split into clusters with a Loki endpoint and notices for those without.
/// Fails with LOKI_NOT_AVAILABLE when no target has Loki.
pub fn loki_targets(fed: &Federation, clusters: &[String]) -> Result<(Vec<Arc<Cluster>>, Vec<Notice>), FleetError> {
    let targets = fed.registry.targets(clusters)?;
    let (with, without): (Vec<_>, Vec<_>) = targets.into_iter().partition(|c| c.endpoint(Backend::Loki).is_some());
    if with.is_empty() && !without.is_empty() {
        let names: Vec<&str> = without.iter().map(|c| c.name.as_str()).collect();
        return Err(FleetError::new(ErrorCode::LokiNotAvailable, format!("no Loki endpoint is configured for {}", names.join(", "))));
    }
    let notices = without
        .iter()
        .map(|c| Notice {
            severity: NoticeSeverity::Warning,
            text: format!("{}: {}: no Loki endpoint is configured for this cluster; its logs are not included", ErrorCode::LokiNotAvailable, c.name),
        })
        .collect();
    Ok((with, notices))
}

/// Ask every cluster; parse each body inside its own task.
pub async fn fetch(fed: &Federation, targets: &[Arc<Cluster>], q: &LogsQuery) -> Vec<ClusterOutcome<LokiResponse>> {
    fed.fan_out(targets, Backend::Loki, |cluster| {
        let client = fed.loki(&cluster);
        let q = q.clone();
        async move {
            let client = client?;
            let step = (q.kind == LogqlKind::Metric).then_some(q.step_ms);
            let body = if q.instant {
                client.query(&q.expr, q.end_ms, q.limit, q.direction).await
            } else {
                client.query_range(&q.expr, q.start_ms, q.end_ms, q.limit, q.direction, step).await
            }
            .map_err(named(&cluster, Backend::Loki))?;
            conv::parse_query_response(&body).map_err(|e| decode_error(&cluster, Backend::Loki, e))
        }
    })
    .await
}

/// Run a logs query and build its frames.
pub async fn run(fed: &Federation, ref_id: &str, clusters: &[String], q: &LogsQuery) -> Result<Vec<Frame>, FleetError> {
    let (targets, notices) = loki_targets(fed, clusters)?;
    let outcomes = fetch(fed, &targets, q).await;
    let derived = derived_fields(fed, q.datasource_uid.as_deref())?;
    to_frames(outcomes, notices, ref_id, q, &derived)
}

/// Compile `jsonData.derivedFields` into links to a `traces` query of this
/// datasource (`datasource_uid`; or of `datasourceUid`, or to an external `url`).
pub fn derived_fields(fed: &Federation, datasource_uid: Option<&str>) -> Result<Vec<DerivedField>, FleetError> {
    fed.registry
        .settings
        .derived_fields
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let regex = regex::Regex::new(&d.matcher_regex)
                .map_err(|e| FleetError::new(ErrorCode::InvalidSettings, format!("jsonData.derivedFields[{i}].matcherRegex: {e}")))?;
            let uid = d.datasource_uid.clone().filter(|u| !u.is_empty()).or_else(|| datasource_uid.map(str::to_owned));
            let link = match (d.url.as_deref().filter(|u| !u.is_empty()), uid) {
                (Some(url), None) => Some(DataLink { title: d.name.clone(), url: url.to_owned(), internal: None }),
                (_, Some(uid)) => Some(DataLink {
                    title: d.name.clone(),
                    url: String::new(),
                    internal: Some(InternalLink {
                        query: serde_json::json!({
                            "queryType": "traces",
                            "tracesView": "trace",
                            "traceId": d.url.as_deref().filter(|u| !u.is_empty()).unwrap_or("${__value.raw}"),
                        }),
                        datasource_uid: uid,
                        datasource_name: String::new(),
                    }),
                }),
                (None, None) => None,
            };
            Ok(DerivedField { name: d.name.clone(), regex, link })
        })
        .collect()
}

/// Frames from per-cluster outcomes: fails only when every cluster failed.
pub fn to_frames(
    outcomes: Vec<ClusterOutcome<LokiResponse>>,
    mut notices: Vec<Notice>,
    ref_id: &str,
    q: &LogsQuery,
    derived: &[DerivedField],
) -> Result<Vec<Frame>, FleetError> {
    if let Some(err) = status::all_failed(&outcomes) {
        return Err(err);
    }
    let statuses: Vec<ClusterStatus> = status::statuses(&outcomes);
    notices.extend(status::failure_notices(&statuses));
    let ok: Vec<(Arc<Cluster>, LokiResponse)> = outcomes.into_iter().filter_map(|o| o.result.ok().map(|r| (o.cluster, r))).collect();
    for (cluster, resp) in &ok {
        for w in &resp.warnings {
            notices.push(Notice { severity: NoticeSeverity::Warning, text: format!("{}: {w}", cluster.name) });
        }
    }
    let mut meta = FrameMeta {
        stats: conv::federated_stats(ok.iter().map(|(_, r)| r.stats.as_slice())),
        notices,
        executed_query_string: Some(q.executed_query_string()),
        custom: Some(serde_json::json!({ "clusters": statuses, "aggregate": q.aggregate, "direction": q.direction, "limit": q.limit })),
        ..FrameMeta::default()
    };
    let (streams, series): (Vec<_>, Vec<_>) = ok.into_iter().partition(|(_, r)| matches!(r.data, LokiData::Streams(_)));
    if series.is_empty() {
        let cols = merge(&streams, q.direction, q.limit as usize);
        return Ok(vec![conv::log_frame(cols, ref_id, derived, meta)]);
    }
    if !streams.is_empty() {
        meta.notices
            .push(Notice { severity: NoticeSeverity::Warning, text: "some clusters answered log lines to a metric query; they were skipped".into() });
    }
    // Samples take exactly the metrics path: labels, aggregation, frames.
    let as_prom = series
        .into_iter()
        .map(|(cluster, r)| {
            let data = match r.data {
                LokiData::Series { result_type, series } => PromData::Series { result_type, series },
                LokiData::Streams(_) => PromData::Series { result_type: ResultType::Matrix, series: Vec::new() },
            };
            ClusterOutcome {
                cluster,
                result: Ok(Arc::new(PromResponse { data, warnings: Vec::new(), infos: Vec::new(), histograms: Vec::new() })),
                elapsed: Default::default(),
            }
        })
        .collect();
    let mq = MetricsQuery {
        expr: q.expr.clone(),
        instant: q.instant,
        aggregate: q.aggregate,
        legend_format: q.legend_format.clone(),
        exemplars: false,
        step_ms: q.step_ms,
        start_ms: q.start_ms,
        end_ms: q.end_ms,
        both: false,
        inputs: None,
        datasource_uid: None,
    };
    let mut frames = super::metrics::to_frames(as_prom, ref_id, &mq)?;
    if let Some(first) = frames.first_mut() {
        let m = first.meta.get_or_insert_with(FrameMeta::default);
        m.notices = meta.notices;
        m.stats = meta.stats;
        m.custom = meta.custom;
    }
    Ok(frames)
}

/// One line's place: (timestamp, cluster index, stream index, entry index).
type Pos = (i64, usize, usize, usize);

/// Merge every cluster's streams into one column set ordered by `direction`,
/// keeping the first `limit` lines. Ties keep cluster, then stream-hash, then
/// upstream order, so the same data always gives the same frame.
pub fn merge(per_cluster: &[(Arc<Cluster>, LokiResponse)], direction: Direction, limit: usize) -> LogColumns {
    let streams: Vec<&[conv::LokiStream]> = per_cluster
        .iter()
        .map(|(_, r)| match &r.data {
            LokiData::Streams(s) => s.as_slice(),
            LokiData::Series { .. } => &[],
        })
        .collect();
    let hashes: Vec<Vec<u64>> = streams.iter().map(|ss| ss.iter().map(|s| conv::labels_hash(&s.labels)).collect()).collect();
    let mut all: Vec<Pos> = Vec::with_capacity(streams.iter().flat_map(|ss| ss.iter()).map(|s| s.times_ns.len()).sum());
    for (c, ss) in streams.iter().enumerate() {
        for (si, s) in ss.iter().enumerate() {
            all.extend(s.times_ns.iter().enumerate().map(|(ei, t)| (*t, c, si, ei)));
        }
    }
    let key = |p: &Pos| (p.1, hashes[p.1][p.2], p.3);
    match direction {
        Direction::Backward => all.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| key(a).cmp(&key(b)))),
        Direction::Forward => all.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| key(a).cmp(&key(b)))),
    }
    all.truncate(limit);
    let mut cols = LogColumns::with_capacity(all.len());
    for (t, c, si, ei) in all {
        let (cluster, s) = (&per_cluster[c].0, &streams[c][si]);
        let mut labels: Labels = s.labels.clone();
        if let Some(meta) = s.metadata.get(ei) {
            labels.extend(meta.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        aggregate::label_with_cluster(&mut labels, cluster);
        // Entries with the same stream and timestamp (Loki keeps duplicates of
        // different lines) are told apart by their rank among those adjacent entries.
        let dup = s.times_ns[..ei].iter().rev().take_while(|x| **x == t).count();
        cols.ids.push(format!("{}_{:016x}_{t}_{dup}", cluster.id, hashes[c][si]));
        cols.severities.push(conv::severity(&labels));
        cols.times_ns.push(t);
        cols.bodies.push(s.lines[ei].clone());
        cols.labels.push(JsonValue::Object(labels.into_iter().map(|(k, v)| (k, JsonValue::String(v))).collect::<Map<_, _>>()));
    }
    cols
}
