//! Tempo search (`/api/search`, v2 search): hits merged across clusters and
//! the table frame whose `traceID` links to the trace view.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use super::{Num, expect_object};
use crate::frames::{DataLink, Field, FieldConfig, FieldValues, Frame, FrameMeta};
use crate::model::trace_id::TraceId;

#[derive(Deserialize)]
struct RawSearch {
    #[serde(default)]
    traces: Vec<RawTraceSummary>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawTraceSummary {
    #[serde(rename = "traceID")]
    trace_id: String,
    #[serde(default)]
    root_service_name: Option<String>,
    #[serde(default)]
    root_trace_name: Option<String>,
    #[serde(default)]
    start_time_unix_nano: Option<Num>,
    #[serde(default)]
    duration_ms: Option<Num>,
    #[serde(default)]
    span_set: Option<RawSpanSet>,
    #[serde(default)]
    span_sets: Option<Vec<RawSpanSet>>,
    #[serde(default)]
    service_stats: Option<BTreeMap<String, RawServiceStats>>,
}

#[derive(Deserialize)]
struct RawSpanSet {
    #[serde(default)]
    matched: Option<Num>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawServiceStats {
    #[serde(default)]
    span_count: Option<Num>,
    #[serde(default)]
    error_count: Option<Num>,
}

/// One trace of a search answer (merged over the clusters that hold parts of it).
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    /// Tempo's leading zeros restored.
    pub trace_id: TraceId,
    pub root_service: String,
    pub root_name: String,
    pub start_ns: i64,
    pub duration_ms: f64,
    /// From `serviceStats` (Tempo ≥ 2.6); `None` when not reported.
    pub span_count: Option<i64>,
    pub error_count: Option<i64>,
    /// Services in `serviceStats`.
    pub service_count: Option<i64>,
    /// Spans matched over all spansets.
    pub matched: i64,
    pub span_sets: i64,
    /// Names of the clusters holding the trace, in federation order.
    pub clusters: Vec<String>,
    /// Their ids, same order.
    pub cluster_ids: Vec<String>,
}

/// Decode an `/api/search` body.
pub fn parse_search(body: &[u8]) -> Result<Vec<SearchHit>, String> {
    expect_object(body)?;
    let raw: RawSearch = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    raw.traces
        .into_iter()
        .map(|t| {
            let trace_id = TraceId::parse(&t.trace_id).ok_or_else(|| format!("traceID {:?} is not a trace ID", t.trace_id))?;
            let sets: Vec<RawSpanSet> = match (t.span_sets, t.span_set) {
                (Some(sets), _) => sets,
                (None, Some(one)) => vec![one],
                (None, None) => Vec::new(),
            };
            let (span_count, error_count) = match &t.service_stats {
                Some(stats) => (
                    Some(stats.values().filter_map(|s| s.span_count.as_ref().and_then(Num::as_i64)).sum()),
                    Some(stats.values().filter_map(|s| s.error_count.as_ref().and_then(Num::as_i64)).sum()),
                ),
                None => (None, None),
            };
            Ok(SearchHit {
                trace_id,
                root_service: t.root_service_name.unwrap_or_default(),
                root_name: t.root_trace_name.unwrap_or_default(),
                start_ns: t.start_time_unix_nano.as_ref().and_then(Num::as_i64).unwrap_or(0),
                duration_ms: t.duration_ms.as_ref().and_then(Num::as_f64).unwrap_or(0.0),
                span_count,
                error_count,
                service_count: t.service_stats.as_ref().map(|s| s.len() as i64),
                matched: sets.iter().filter_map(|s| s.matched.as_ref().and_then(Num::as_i64)).sum(),
                span_sets: sets.len() as i64,
                clusters: Vec::new(),
                cluster_ids: Vec::new(),
            })
        })
        .collect()
}

/// Tempo's stand-in for a root that has not arrived yet (`<root span not yet received>`), or none at all.
fn is_placeholder(root: &str) -> bool {
    root.is_empty() || root.starts_with('<')
}

/// Merge per-cluster hits (a trace split over clusters appears once), newest
/// first, at most `limit`.
/// `per_cluster`: (cluster id, cluster name, hits).
pub fn merge_search(per_cluster: Vec<(String, String, Vec<SearchHit>)>, limit: usize) -> Vec<SearchHit> {
    let mut by_id: HashMap<TraceId, SearchHit> = HashMap::new();
    for (cluster_id, cluster, hits) in per_cluster {
        for mut h in hits {
            match by_id.get_mut(&h.trace_id) {
                None => {
                    h.clusters = vec![cluster.clone()];
                    h.cluster_ids = vec![cluster_id.clone()];
                    by_id.insert(h.trace_id.clone(), h);
                }
                Some(m) => {
                    let end = (m.start_ns as f64 + m.duration_ms * 1e6).max(h.start_ns as f64 + h.duration_ms * 1e6);
                    if is_placeholder(&m.root_service) && !is_placeholder(&h.root_service) {
                        m.root_service = h.root_service;
                        m.root_name = h.root_name;
                    }
                    m.start_ns = m.start_ns.min(h.start_ns);
                    m.duration_ms = ((end - m.start_ns as f64) / 1e6).round();
                    m.span_count = add_opt(m.span_count, h.span_count);
                    m.error_count = add_opt(m.error_count, h.error_count);
                    m.service_count = m.service_count.max(h.service_count);
                    m.matched += h.matched;
                    m.span_sets += h.span_sets;
                    if !m.cluster_ids.contains(&cluster_id) {
                        m.clusters.push(cluster.clone());
                        m.cluster_ids.push(cluster_id.clone());
                    }
                }
            }
        }
    }
    let mut out: Vec<SearchHit> = by_id.into_values().collect();
    out.sort_by(|a, b| b.start_ns.cmp(&a.start_ns).then_with(|| a.trace_id.cmp(&b.trace_id)));
    out.truncate(limit);
    out
}

fn add_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
    }
}

/// The search results table. `trace_link` goes on `traceID`.
pub fn search_frame(hits: &[SearchHit], ref_id: &str, trace_link: Option<DataLink>, meta: FrameMeta) -> Frame {
    let mut id_field = Field::new("traceID", FieldValues::Str(hits.iter().map(|h| h.trace_id.to_string()).collect()));
    id_field.config =
        Some(FieldConfig { display_name_from_ds: Some("Trace ID".into()), links: trace_link.into_iter().collect(), ..FieldConfig::default() });
    let ms = || Some(FieldConfig { unit: Some("ms".into()), ..FieldConfig::default() });
    let mut duration = Field::new("duration", FieldValues::F64(hits.iter().map(|h| h.duration_ms).collect()));
    duration.config = ms();
    Frame {
        name: "Traces".into(),
        ref_id: ref_id.to_owned(),
        meta: Some(meta),
        fields: vec![
            id_field,
            Field::new("cluster", FieldValues::Str(hits.iter().map(|h| h.clusters.join(", ")).collect())),
            Field::new("rootServiceName", FieldValues::Str(hits.iter().map(|h| h.root_service.clone()).collect())),
            Field::new("rootTraceName", FieldValues::Str(hits.iter().map(|h| h.root_name.clone()).collect())),
            Field::new("startTime", FieldValues::TimeNs(hits.iter().map(|h| h.start_ns).collect())),
            duration,
            Field::new("spanCount", FieldValues::NullableI64(hits.iter().map(|h| h.span_count).collect())),
            Field::new("errorCount", FieldValues::NullableI64(hits.iter().map(|h| h.error_count).collect())),
            Field::new("matched", FieldValues::I64(hits.iter().map(|h| h.matched).collect())),
        ],
    }
}
