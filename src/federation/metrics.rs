//! `metrics` queries: PromQL fanned out to every target cluster's Prometheus,
//! then labelled, aggregated and framed.

use std::sync::Arc;

use super::status::{self, ClusterStatus};
use super::{ClusterOutcome, Federation, aggregate, decode_error, named};
use crate::cache::{CacheClass, Weigh, key_hash};
use crate::error::FleetError;
use crate::frames::prometheus::{self as conv, PromData, PromResponse, Series, SeriesFrameOptions};
use crate::frames::{Frame, FrameMeta, Notice, NoticeSeverity};
use crate::query::MetricsQuery;
use crate::registry::{Backend, Cluster};

/// Whether a fetch may be answered from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheUse {
    Use,
    /// Health checks must see the cluster as it is now.
    Bypass,
}

/// Ask every target cluster; parse each body inside its own task. Answers are
/// cached per cluster (and identical concurrent queries share one request).
pub async fn fetch(fed: &Federation, targets: &[Arc<Cluster>], q: &MetricsQuery, cache: CacheUse) -> Vec<ClusterOutcome<Arc<PromResponse>>> {
    fed.fan_out(targets, Backend::Prometheus, |cluster| {
        let client = fed.prometheus(&cluster);
        let q = q.clone();
        let (key, class) = cache_key(&cluster, &q);
        let ask = async move {
            let client = client?;
            let body =
                if q.instant { client.query(&q.expr, q.end_ms).await } else { client.query_range(&q.expr, q.start_ms, q.end_ms, q.step_ms).await }
                    .map_err(named(&cluster, Backend::Prometheus))?;
            let parsed = if q.instant {
                conv::parse_query_response(&body)
            } else {
                let points = ((q.end_ms - q.start_ms) / q.step_ms.max(1) + 1) as usize;
                conv::parse_query_response_with_points(&body, points)
            };
            parsed.map_err(|e| decode_error(&cluster, Backend::Prometheus, e))
        };
        let store = fed.cache.clone();
        async move {
            match cache {
                CacheUse::Use => store.get_or_fetch_shared(key, class, ask).await,
                CacheUse::Bypass => ask.await.map(Arc::new),
            }
        }
    })
    .await
}

/// The seed's keys: instant queries at (about) "now" share one entry per TTL;
/// anything else is keyed by its exact, step-aligned window.
fn cache_key(cluster: &Cluster, q: &MetricsQuery) -> (String, CacheClass) {
    let hash = key_hash(&format!("{}|{:?}", q.expr, cluster.prometheus.as_ref().map(|p| p.prometheus_kind)));
    if q.instant {
        let now = chrono::Utc::now().timestamp_millis();
        if (now - q.end_ms).abs() <= 30_000 {
            (format!("metrics:instant:{hash}:{}", cluster.id), CacheClass::Instant)
        } else {
            (format!("metrics:instant:{hash}:{}:{}", cluster.id, q.end_ms), CacheClass::Instant)
        }
    } else {
        (
            format!("metrics:range:{hash}:{}:{}:{}:{}", cluster.id, q.start_ms, q.end_ms, q.step_ms),
            CacheClass::Range { span_ms: q.end_ms - q.start_ms },
        )
    }
}

impl crate::cache::SharedCodec for PromResponse {
    fn encode(&self) -> Vec<u8> {
        conv::encode_query_response(self)
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        conv::parse_query_response(bytes).ok()
    }
}

impl Weigh for PromResponse {
    fn weigh(&self) -> usize {
        match &self.data {
            PromData::Series { series, .. } => {
                series.iter().map(|s| s.times_ms.len() * 16 + s.labels.iter().map(|(k, v)| k.len() + v.len() + 48).sum::<usize>() + 64).sum()
            }
            PromData::Scalar { .. } => 16,
            PromData::String { value, .. } => value.len() + 16,
        }
    }
}

/// Run a metrics query and build its frames.
pub async fn run(fed: &Federation, ref_id: &str, clusters: &[String], q: &MetricsQuery) -> Result<Vec<Frame>, FleetError> {
    let targets = fed.registry.targets(clusters)?;
    let outcomes = fetch(fed, &targets, q, CacheUse::Use).await;
    to_frames(outcomes, ref_id, q)
}

/// Frames from per-cluster outcomes: fails only when every cluster failed.
pub fn to_frames(outcomes: Vec<ClusterOutcome<Arc<PromResponse>>>, ref_id: &str, q: &MetricsQuery) -> Result<Vec<Frame>, FleetError> {
    if let Some(err) = status::all_failed(&outcomes) {
        return Err(err);
    }
    let statuses: Vec<ClusterStatus> = status::statuses(&outcomes);
    let mut notices = status::failure_notices(&statuses);
    let mut per_cluster = Vec::with_capacity(outcomes.len());
    for o in outcomes {
        let Ok(resp) = o.result else { continue };
        for w in &resp.warnings {
            notices.push(Notice { severity: NoticeSeverity::Warning, text: format!("{}: {w}", o.cluster.name) });
        }
        for i in &resp.infos {
            notices.push(Notice { severity: NoticeSeverity::Info, text: format!("{}: {i}", o.cluster.name) });
        }
        if resp.histogram_samples > 0 {
            notices.push(Notice {
                severity: NoticeSeverity::Warning,
                text: format!(
                    "{}: {} native-histogram samples were skipped (use histogram_quantile or a _bucket query)",
                    o.cluster.name, resp.histogram_samples
                ),
            });
        }
        // Cached answers are shared: the frames get their own copy of the columns.
        let data = Arc::try_unwrap(resp).map(|r| r.data).unwrap_or_else(|shared| shared.data.clone());
        per_cluster.push((o.cluster, into_series(data, &mut notices)));
    }
    let series = aggregate::combine(per_cluster, q.aggregate);
    let opts = SeriesFrameOptions {
        ref_id,
        instant: q.instant,
        legend_format: q.legend_format.as_deref(),
        step_ms: q.step_ms,
        executed_query: q.executed_query_string(),
        links: Vec::new(),
    };
    let mut frames = conv::series_frames(series, &opts);
    if let Some(first) = frames.first_mut() {
        let meta = first.meta.get_or_insert_with(FrameMeta::default);
        meta.notices = notices;
        meta.custom = Some(serde_json::json!({ "aggregate": q.aggregate, "clusters": statuses }));
    }
    Ok(frames)
}

fn into_series(data: PromData, notices: &mut Vec<Notice>) -> Vec<Series> {
    match data {
        PromData::Series { series, .. } => series,
        PromData::Scalar { time_ms, value } => vec![Series { labels: Default::default(), times_ms: vec![time_ms], values: vec![value] }],
        PromData::String { value, .. } => {
            notices.push(Notice { severity: NoticeSeverity::Info, text: format!("string result {value:?} has no numeric frame") });
            Vec::new()
        }
    }
}
