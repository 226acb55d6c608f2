//! `metrics` queries: PromQL fanned out to every target cluster's Prometheus,
//! then labelled, aggregated and framed.

use std::sync::Arc;

use super::aggregate::ADDED_LABELS;
use super::status::{self, ClusterStatus};
use super::{ClusterOutcome, Federation, aggregate, decode_error, named};
use crate::cache::{CacheClass, Weigh, key_hash};
use crate::error::FleetError;
use crate::frames::prometheus::{self as conv, ExemplarSeries, Labels, PromData, PromFrameOptions, PromResponse, ResultType, Series};
use crate::frames::{DataLink, Frame, FrameMeta, InternalLink, Notice, NoticeSeverity};
use crate::query::MetricsQuery;
use crate::query::metrics::Aggregate;
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
            (format!("metrics:instant:{hash}:{}", cluster.state_key()), CacheClass::Instant)
        } else {
            (format!("metrics:instant:{hash}:{}:{}", cluster.state_key(), q.end_ms), CacheClass::Instant)
        }
    } else {
        (
            format!("metrics:range:{hash}:{}:{}:{}:{}", cluster.state_key(), q.start_ms, q.end_ms, q.step_ms),
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
        let data = match &self.data {
            PromData::Series { series, .. } => {
                series.iter().map(|s| s.times_ms.len() * 16 + s.labels.iter().map(|(k, v)| k.len() + v.len() + 48).sum::<usize>() + 64).sum()
            }
            PromData::Scalar { .. } => 16,
            PromData::String { value, .. } => value.len() + 16,
        };
        let hist: usize = self.histograms.iter().map(|h| h.samples.iter().map(|s| 32 + s.buckets.len() * 32).sum::<usize>() + 64).sum();
        data + hist
    }
}

/// Run a metrics query and build its frames: the instant answer, then the
/// range answer ("Both"), then the exemplar frame — Grafana's order, all
/// under the query's refId.
pub async fn run(fed: &Federation, ref_id: &str, clusters: &[String], q: &MetricsQuery) -> Result<Vec<Frame>, FleetError> {
    let targets = fed.registry.targets(clusters)?;
    let q = q.with_scrape_interval(fed.registry.scrape_interval_for(&targets))?;
    let answers = async {
        let mut out = Vec::new();
        for part in q.parts() {
            let outcomes = fetch(fed, &targets, &part, CacheUse::Use).await;
            out.push((part, outcomes));
        }
        out
    };
    let exemplars = async { if q.exemplars { Some(fetch_exemplars(fed, &targets, &q).await) } else { None } };
    let (answers, exemplars) = tokio::join!(answers, exemplars);
    let mut frames = Vec::new();
    for (part, outcomes) in answers {
        frames.extend(to_frames(outcomes, ref_id, &part)?);
    }
    if let Some(outcomes) = exemplars {
        let (frame, notices) = exemplar_frame(outcomes, ref_id, &exemplar_links(fed, &q));
        frames.extend(frame);
        if !notices.is_empty() {
            for f in &mut frames {
                f.meta.get_or_insert_with(FrameMeta::default).notices.extend(notices.iter().cloned());
            }
        }
    }
    Ok(frames)
}

/// Frames from per-cluster outcomes of one query (instant or range): fails
/// only when every cluster failed.
///
/// Notices (failed clusters, upstream warnings and infos, each prefixed with
/// its cluster's name) are repeated on every frame, as Grafana repeats
/// Prometheus' warnings: a transformation that drops frames cannot drop them,
/// and Grafana shows each distinct notice once. `meta.custom` (`resultType`,
/// plus `aggregate` and the per-cluster `clusters` statuses) and
/// `meta.executedQueryString` are on the first frame.
pub fn to_frames(outcomes: Vec<ClusterOutcome<Arc<PromResponse>>>, ref_id: &str, q: &MetricsQuery) -> Result<Vec<Frame>, FleetError> {
    if let Some(err) = status::all_failed(&outcomes) {
        return Err(err);
    }
    let statuses: Vec<ClusterStatus> = status::statuses(&outcomes);
    let mut notices = status::failure_notices(&statuses);
    let mut per_cluster = Vec::with_capacity(outcomes.len());
    let mut histograms = Vec::new();
    let mut strings = Vec::new();
    let mut result_type = None;
    for o in outcomes {
        let Ok(resp) = o.result else { continue };
        for w in &resp.warnings {
            notices.push(Notice { severity: NoticeSeverity::Warning, text: format!("{}: {w}", o.cluster.name) });
        }
        for i in &resp.infos {
            notices.push(Notice { severity: NoticeSeverity::Info, text: format!("{}: {i}", o.cluster.name) });
        }
        // Cached answers are shared: the frames get their own copy of the columns.
        let resp = Arc::try_unwrap(resp).unwrap_or_else(|shared| (*shared).clone());
        for mut h in resp.histograms {
            aggregate::label_with_cluster(&mut h.labels, &o.cluster);
            histograms.push(h);
        }
        let series = match resp.data {
            PromData::Series { series, result_type: rt } => {
                result_type.get_or_insert(rt);
                series
            }
            PromData::Scalar { time_ms, value } => {
                result_type.get_or_insert(ResultType::Scalar);
                vec![Series { labels: Default::default(), times_ms: vec![time_ms], values: vec![value] }]
            }
            PromData::String { time_ms, value } => {
                result_type.get_or_insert(ResultType::String);
                let mut labels = Labels::new();
                aggregate::label_with_cluster(&mut labels, &o.cluster);
                strings.push((labels, time_ms, value));
                Vec::new()
            }
        };
        per_cluster.push((o.cluster, series));
    }
    if !histograms.is_empty() && q.aggregate != Aggregate::Merge {
        notices.push(Notice {
            severity: NoticeSeverity::Info,
            text: format!("native histograms are shown per cluster: aggregate {} applies to float series only", q.aggregate.as_str()),
        });
    }
    let result_type = result_type.unwrap_or(if q.instant { ResultType::Vector } else { ResultType::Matrix });
    let series = aggregate::combine(per_cluster, q.aggregate);
    let opts = PromFrameOptions { ref_id, expr: &q.expr, legend_format: q.legend_format.as_deref(), step_ms: q.step_ms, added_labels: ADDED_LABELS };
    let mut frames = conv::prometheus_frames(series, result_type, &opts);
    frames.extend(strings.into_iter().map(|(labels, t, v)| conv::string_frame(labels, t, v, &opts)));
    frames.extend(conv::histogram_frames(histograms, &opts));
    if frames.is_empty() {
        frames.push(conv::empty_frame(ref_id, result_type));
    }
    for f in &mut frames {
        f.meta.get_or_insert_with(FrameMeta::default).notices = notices.clone();
    }
    let first = frames[0].meta.get_or_insert_with(FrameMeta::default);
    first.executed_query_string = Some(q.executed_query_string());
    let mut custom = serde_json::json!({ "aggregate": q.aggregate, "clusters": statuses });
    if let Some(rt) = first.custom.as_ref().and_then(|c| c.get("resultType")) {
        custom["resultType"] = rt.clone();
    }
    first.custom = Some(custom);
    Ok(frames)
}

/// `/api/v1/query_exemplars` of every target cluster over the query's window.
pub async fn fetch_exemplars(fed: &Federation, targets: &[Arc<Cluster>], q: &MetricsQuery) -> Vec<ClusterOutcome<Vec<ExemplarSeries>>> {
    let (start_ms, end_ms) = q.range_window();
    fed.fan_out(targets, Backend::Prometheus, |cluster| {
        let client = fed.prometheus(&cluster);
        let expr = q.expr.clone();
        async move {
            let body = client?.query_exemplars(&expr, start_ms, end_ms).await.map_err(named(&cluster, Backend::Prometheus))?;
            conv::parse_exemplars(&body).map_err(|e| decode_error(&cluster, Backend::Prometheus, e))
        }
    })
    .await
}

/// The exemplar frame of all clusters (series labelled with their cluster) and
/// a warning per cluster whose exemplars could not be fetched: exemplars are
/// an extra, so a failure never fails the query (Grafana only logs it).
pub fn exemplar_frame(
    outcomes: Vec<ClusterOutcome<Vec<ExemplarSeries>>>,
    ref_id: &str,
    links: &dyn Fn(&str) -> Vec<DataLink>,
) -> (Option<Frame>, Vec<Notice>) {
    let mut all = Vec::new();
    let mut notices = Vec::new();
    for o in outcomes {
        match o.result {
            Ok(series) => all.extend(series.into_iter().map(|mut s| {
                aggregate::label_with_cluster(&mut s.series_labels, &o.cluster);
                s
            })),
            Err(e) => notices.push(Notice { severity: NoticeSeverity::Warning, text: format!("exemplars: {}", e.message) }),
        }
    }
    (conv::exemplar_frame(all, ref_id, links), notices)
}

/// Exemplar labels that hold a trace ID when no destination is configured.
const DEFAULT_TRACE_ID_LABELS: &[&str] = &["trace_id", "traceID", "traceId"];

/// Data links of an exemplar label field, from `jsonData.exemplarTraceIdDestinations`
/// (like Grafana's Prometheus datasource) or, when none is configured, from
/// the usual trace-ID label names to this datasource's trace view.
pub fn exemplar_links(fed: &Federation, q: &MetricsQuery) -> impl Fn(&str) -> Vec<DataLink> {
    let destinations = fed.registry.settings.exemplar_trace_id_destinations.clone();
    let self_uid = q.datasource_uid.clone();
    move |label: &str| {
        let own_view = |title: &str, uid: &str| DataLink {
            title: title.to_owned(),
            url: String::new(),
            internal: Some(InternalLink {
                query: serde_json::json!({
                    "queryType": "traces",
                    "tracesView": "trace",
                    "traceId": "${__value.raw}",
                    "clusters": ["${__data.fields.cluster_id}"],
                }),
                datasource_uid: uid.to_owned(),
                datasource_name: String::new(),
            }),
        };
        if destinations.is_empty() {
            return match (&self_uid, DEFAULT_TRACE_ID_LABELS.contains(&label)) {
                (Some(uid), true) => vec![own_view("View trace", uid)],
                _ => Vec::new(),
            };
        }
        destinations
            .iter()
            .filter(|d| d.name == label)
            .filter_map(|d| {
                let title = d.url_display_label.clone().filter(|t| !t.is_empty());
                match (d.datasource_uid.as_deref().filter(|u| !u.is_empty()), d.url.as_deref().filter(|u| !u.is_empty())) {
                    (Some(uid), _) if Some(uid) == self_uid.as_deref() => Some(own_view(title.as_deref().unwrap_or("View trace"), uid)),
                    (Some(uid), _) => Some(DataLink {
                        title: title.unwrap_or_else(|| format!("Query with {uid}")),
                        url: String::new(),
                        internal: Some(InternalLink {
                            query: serde_json::json!({ "query": "${__value.raw}", "queryType": "traceql" }),
                            datasource_uid: uid.to_owned(),
                            datasource_name: String::new(),
                        }),
                    }),
                    (None, Some(url)) => {
                        Some(DataLink { title: title.unwrap_or_else(|| format!("Go to {url}")), url: url.to_owned(), internal: None })
                    }
                    (None, None) => None,
                }
            })
            .collect()
    }
}
