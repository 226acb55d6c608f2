//! `traces` queries: TraceQL search fanned out to every target cluster's Tempo,
//! traces by ID merged across clusters, trace analysis and service graphs.
//!
//! A trace may be split over clusters (its services report to different
//! Tempos): trace by ID asks **every** candidate cluster in parallel and merges
//! what each has, so the trace view shows one trace; each span's process gets a
//! `cluster` tag. Search results of the same trace from several clusters become
//! one row listing those clusters.

use std::sync::Arc;

use futures::future::join_all;
use serde_json::json;

use super::status::{self, ClusterStatus};
use super::{ClusterOutcome, Federation, decode_error};
use crate::error::{ErrorCode, FleetError};
use crate::frames::tempo::{self as conv, SearchHit, Span};
use crate::frames::trace_analysis::{self, NodeStat};
use crate::frames::{DataLink, Frame, FrameMeta, InternalLink, Notice, NoticeSeverity};
use crate::model::trace_id::TraceId;
use crate::query::traces::{TracesQuery, TracesView};
use crate::registry::{Backend, Cluster};
use crate::upstream::UpstreamError;
use crate::upstream::tempo::TempoClient;

/// The Tempo client of a cluster, or TEMPO_NOT_AVAILABLE.
pub fn tempo(fed: &Federation, cluster: &Cluster) -> Result<TempoClient, FleetError> {
    Ok(TempoClient::new(fed.client(cluster, Backend::Tempo)?))
}

/// Name an upstream error; Tempo's 400 for TraceQL it cannot parse becomes
/// INVALID_TRACEQL (our validator should have caught it first).
pub fn tempo_error(cluster: &Cluster, e: UpstreamError) -> FleetError {
    let traceql = matches!(&e, UpstreamError::Status { status: 400, message } if message.contains("TraceQL") || message.contains("parse error"));
    let mut f = e.into_fleet(&cluster.name, Backend::Tempo);
    if traceql {
        f.code = ErrorCode::InvalidTraceql;
    }
    f
}

/// Run `/api/search` on every target cluster.
pub async fn fetch_search(fed: &Federation, targets: &[Arc<Cluster>], q: &TracesQuery) -> Vec<ClusterOutcome<Vec<SearchHit>>> {
    fed.fan_out(targets, Backend::Tempo, |cluster| {
        let client = tempo(fed, &cluster);
        let q = q.clone();
        async move {
            let body = client?.search(&q.traceql, q.start_ms, q.end_ms, q.limit, q.spss).await.map_err(|e| tempo_error(&cluster, e))?;
            conv::parse_search(&body).map_err(|e| decode_error(&cluster, Backend::Tempo, e))
        }
    })
    .await
}

/// A trace merged from every cluster that has part of it.
#[derive(Debug)]
pub struct MergedTrace {
    pub spans: Vec<Span>,
    pub statuses: Vec<ClusterStatus>,
    pub notices: Vec<Notice>,
    /// (cluster name, spans found there), federation order.
    pub found_in: Vec<(String, usize)>,
}

/// Ask every target cluster for `trace_id` and merge the spans.
pub async fn fetch_trace(fed: &Federation, targets: &[Arc<Cluster>], trace_id: &TraceId) -> Result<MergedTrace, FleetError> {
    let outcomes = fed
        .fan_out(targets, Backend::Tempo, |cluster| {
            let client = tempo(fed, &cluster);
            let id = trace_id.clone();
            async move {
                let body = client?.trace(&id).await.map_err(|e| tempo_error(&cluster, e))?;
                match body {
                    None => Ok(Vec::new()),
                    Some(b) => conv::parse_trace(&b).map_err(|e| decode_error(&cluster, Backend::Tempo, e)),
                }
            }
        })
        .await;
    merge_trace(outcomes, trace_id.as_str())
}

/// Merge per-cluster trace outcomes; "not found" when no cluster has a span.
pub fn merge_trace(outcomes: Vec<ClusterOutcome<Vec<Span>>>, trace_id: &str) -> Result<MergedTrace, FleetError> {
    if let Some(err) = status::all_failed(&outcomes) {
        return Err(err);
    }
    let statuses = status::statuses(&outcomes);
    let mut notices = status::failure_notices(&statuses);
    let answered = outcomes.iter().filter(|o| o.result.is_ok()).count();
    let mut per_cluster = Vec::new();
    let mut found_in = Vec::new();
    for o in outcomes {
        if let Ok(spans) = o.result
            && !spans.is_empty()
        {
            found_in.push((o.cluster.name.clone(), spans.len()));
            per_cluster.push((o.cluster.id.to_string(), o.cluster.name.clone(), spans));
        }
    }
    if per_cluster.is_empty() {
        let failed: Vec<&str> = statuses.iter().filter(|s| s.status == status::Status::Error).map(|s| s.cluster_name.as_str()).collect();
        let mut msg = format!("trace {trace_id} not found in {answered} cluster{}", if answered == 1 { "" } else { "s" });
        if !failed.is_empty() {
            msg.push_str(&format!(" ({} could not be asked: {})", failed.len(), failed.join(", ")));
        }
        return Err(FleetError::new(ErrorCode::NotFound, msg));
    }
    if found_in.len() > 1 {
        notices.push(Notice {
            severity: NoticeSeverity::Info,
            text: format!(
                "trace {trace_id} spans {} clusters: {}",
                found_in.len(),
                found_in.iter().map(|(c, n)| format!("{c} ({n} spans)")).collect::<Vec<_>>().join(", ")
            ),
        });
    }
    Ok(MergedTrace { spans: conv::merge_spans(per_cluster), statuses, notices, found_in })
}

/// (cluster id, cluster name, hits) of the clusters that answered.
pub fn successes(outcomes: Vec<ClusterOutcome<Vec<SearchHit>>>) -> Vec<(String, String, Vec<SearchHit>)> {
    outcomes.into_iter().filter_map(|o| o.result.ok().map(|h| (o.cluster.id.to_string(), o.cluster.name.clone(), h))).collect()
}

/// The internal link from a search row to the trace view.
pub fn trace_link(datasource_uid: Option<&str>) -> Option<DataLink> {
    datasource_uid.map(|uid| DataLink {
        title: "Open trace".into(),
        url: String::new(),
        internal: Some(InternalLink {
            query: json!({"queryType": "traces", "tracesView": "trace", "traceId": "${__value.raw}", "query": "${__value.raw}"}),
            datasource_uid: uid.to_owned(),
            datasource_name: String::new(),
        }),
    })
}

fn first_meta(frames: &mut [Frame], statuses: &[ClusterStatus], notices: Vec<Notice>, executed: String, extra: serde_json::Value) {
    if let Some(first) = frames.first_mut() {
        let meta = first.meta.get_or_insert_with(FrameMeta::default);
        meta.notices = notices;
        meta.executed_query_string = Some(executed);
        let mut custom = json!({ "clusters": statuses });
        if let (Some(c), Some(e)) = (custom.as_object_mut(), extra.as_object()) {
            c.extend(e.clone());
        }
        meta.custom = Some(custom);
    }
}

/// Run a traces query and build its frames.
pub async fn run(fed: &Federation, ref_id: &str, clusters: &[String], q: &TracesQuery) -> Result<Vec<Frame>, FleetError> {
    let targets = fed.registry.targets(clusters)?;
    match q.view {
        TracesView::Search => {
            let outcomes = fetch_search(fed, &targets, q).await;
            search_frames(outcomes, ref_id, q)
        }
        TracesView::Trace | TracesView::Analysis => {
            let id = q.trace_id.as_ref().ok_or_else(|| FleetError::invalid_query("traceId is required"))?;
            let merged = fetch_trace(fed, &targets, id).await?;
            let links = crate::federation::trace_links::span_links(fed, q);
            Ok(trace_frames(merged, ref_id, q, links))
        }
        TracesView::ServiceGraph => service_graph(fed, &targets, ref_id, q).await,
    }
}

/// Search frames from per-cluster outcomes: fails only when every cluster failed.
pub fn search_frames(outcomes: Vec<ClusterOutcome<Vec<SearchHit>>>, ref_id: &str, q: &TracesQuery) -> Result<Vec<Frame>, FleetError> {
    if let Some(err) = status::all_failed(&outcomes) {
        return Err(err);
    }
    let statuses = status::statuses(&outcomes);
    let notices = status::failure_notices(&statuses);
    let per_cluster = successes(outcomes);
    let hits = conv::merge_search(per_cluster, q.limit as usize);
    let meta = FrameMeta { preferred_visualisation_type: Some("table".into()), ..FrameMeta::default() };
    let mut frames = vec![conv::search_frame(&hits, ref_id, trace_link(q.datasource_uid.as_deref()), meta)];
    first_meta(&mut frames, &statuses, notices, q.executed_query_string(), json!({}));
    Ok(frames)
}

/// Trace-view frame (view `trace`) or analysis frames (view `analysis`).
pub fn trace_frames(merged: MergedTrace, ref_id: &str, q: &TracesQuery, span_links: Vec<DataLink>) -> Vec<Frame> {
    let found: Vec<serde_json::Value> = merged.found_in.iter().map(|(c, n)| json!({"cluster": c, "spans": n})).collect();
    let mut frames = if q.view == TracesView::Analysis {
        let a = trace_analysis::analyze(&merged.spans);
        trace_analysis::analysis_frames(&merged.spans, &a, ref_id)
    } else {
        vec![conv::trace_frame(&merged.spans, ref_id, span_links, conv::trace_meta())]
    };
    first_meta(&mut frames, &merged.statuses, merged.notices, q.executed_query_string(), json!({ "foundIn": found }));
    frames
}

/// Service graph of the traces a search finds: each found trace is fetched
/// (merged across clusters) and its service-to-service calls counted.
pub async fn service_graph(fed: &Federation, targets: &[Arc<Cluster>], ref_id: &str, q: &TracesQuery) -> Result<Vec<Frame>, FleetError> {
    let outcomes = fetch_search(fed, targets, q).await;
    if let Some(err) = status::all_failed(&outcomes) {
        return Err(err);
    }
    let statuses = status::statuses(&outcomes);
    let mut notices = status::failure_notices(&statuses);
    let with_tempo: Vec<Arc<Cluster>> = outcomes.iter().filter(|o| o.result.is_ok()).map(|o| o.cluster.clone()).collect();
    let per_cluster = successes(outcomes);
    let hits = conv::merge_search(per_cluster, q.limit as usize);
    let traces = join_all(hits.iter().map(|h| fetch_trace(fed, &with_tempo, &h.trace_id))).await;
    let mut calls = Vec::new();
    let mut nodes: Vec<NodeStat> = Vec::new();
    let mut missing = 0;
    for t in traces {
        let Ok(t) = t else {
            missing += 1;
            continue;
        };
        calls.extend(trace_analysis::service_calls(&t.spans));
        for s in &t.spans {
            let idx = match nodes.iter().position(|n| n.id == s.resource.service_name) {
                Some(i) => i,
                None => {
                    nodes.push(NodeStat {
                        id: s.resource.service_name.clone(),
                        subtitle: String::new(),
                        mainstat: 0.0,
                        secondarystat: 0.0,
                        errors: 0,
                        total: 0,
                    });
                    nodes.len() - 1
                }
            };
            let n = &mut nodes[idx];
            n.total += 1;
            n.errors += usize::from(s.is_error());
            n.mainstat += 1.0;
            n.secondarystat = n.errors as f64;
            if !s.cluster.is_empty() && !n.subtitle.split(", ").any(|c| c == s.cluster) {
                n.subtitle = if n.subtitle.is_empty() { s.cluster.clone() } else { format!("{}, {}", n.subtitle, s.cluster) };
            }
        }
    }
    if missing > 0 {
        notices.push(Notice {
            severity: NoticeSeverity::Warning,
            text: format!("{missing} of {} traces found by the search could not be fetched", hits.len()),
        });
    }
    nodes.sort_by(|a, b| a.id.cmp(&b.id));
    let mut frames = trace_analysis::node_graph(nodes, &calls, ref_id, ("Spans", "Errors"));
    first_meta(&mut frames, &statuses, notices, q.executed_query_string(), json!({ "traces": hits.len() - missing }));
    Ok(frames)
}
