//! Trace analysis (the seed's `analyze_trace`) and service graphs, computed on
//! merged spans ([`super::tempo::Span`]) and framed as tables plus Grafana
//! node-graph frames (`nodes`: `id title subtitle mainstat secondarystat
//! arc__* detail__*`; `edges`: `id source target mainstat secondarystat
//! detail__*`; `meta.preferredVisualisationType = "nodeGraph"`).
//!
//! Definitions (all times from span start/end, nanoseconds):
//! * **self time** of a span: its duration minus the union of its children's
//!   intervals clipped to it (time in which none of its children ran);
//! * **critical path**: from the longest root, walk back from the span's end:
//!   the child that finished last (before the cursor) is on the path; the gap
//!   between that child's end and the cursor is the parent's own time on the path;
//!   then the cursor moves to that child's start and the next child that ended
//!   before it is taken, and so on (Jaeger's definition). Per span: time on path;
//! * **cross-cluster hop**: a parent → child edge whose spans came from
//!   different clusters (a trace split over clusters' Tempos).

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::json;

use super::tempo::Span;
use super::{Field, FieldConfig, FieldValues, Frame, FrameMeta};

/// Per-span results, indexed like the input spans.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanStats {
    pub self_ns: i64,
    pub critical_ns: i64,
    pub depth: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServiceStats {
    pub service: String,
    pub clusters: Vec<String>,
    pub spans: usize,
    pub errors: usize,
    pub self_ns: i64,
    pub critical_ns: i64,
}

/// A parent span → child span edge between different services.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceCall {
    pub source: String,
    pub target: String,
    pub error: bool,
    pub duration_ns: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    pub trace_id: String,
    pub start_ns: i64,
    pub duration_ns: i64,
    pub spans: Vec<SpanStats>,
    /// Span indices on the critical path, in path order (root first).
    pub critical_path: Vec<usize>,
    pub services: Vec<ServiceStats>,
    /// Indices of the slowest spans (by duration), longest first.
    pub slowest: Vec<usize>,
    /// Indices of spans with status error, by start time.
    pub errors: Vec<usize>,
    /// Services in the order the trace first reached them.
    pub services_crossed: Vec<String>,
    /// (parent index, child index) where the clusters differ.
    pub hops: Vec<(usize, usize)>,
    pub calls: Vec<ServiceCall>,
}

/// How many slowest spans are listed.
pub const SLOWEST: usize = 10;
/// Depth beyond which a (malformed, cyclic-looking) tree is not followed.
const MAX_DEPTH: usize = 10_000;

struct Tree {
    children: Vec<Vec<usize>>,
    roots: Vec<usize>,
    parent: Vec<Option<usize>>,
}

fn tree(spans: &[Span]) -> Tree {
    let index: HashMap<&str, usize> = spans.iter().enumerate().map(|(i, s)| (s.span_id.as_str(), i)).collect();
    let mut children = vec![Vec::new(); spans.len()];
    let mut parent = vec![None; spans.len()];
    let mut roots = Vec::new();
    for (i, s) in spans.iter().enumerate() {
        match index.get(s.parent_span_id.as_str()) {
            Some(&p) if !s.parent_span_id.is_empty() && p != i => {
                children[p].push(i);
                parent[i] = Some(p);
            }
            _ => roots.push(i),
        }
    }
    Tree { children, roots, parent }
}

fn union_ns(mut iv: Vec<(i64, i64)>) -> i64 {
    iv.sort_unstable();
    let mut total = 0;
    let mut cur: Option<(i64, i64)> = None;
    for (s, e) in iv {
        match cur {
            Some((cs, ce)) if s <= ce => cur = Some((cs, ce.max(e))),
            Some((cs, ce)) => {
                total += ce - cs;
                cur = Some((s, e));
            }
            None => cur = Some((s, e)),
        }
    }
    if let Some((cs, ce)) = cur {
        total += ce - cs;
    }
    total
}

/// The critical-path walk: from the span that ends last backwards, each span's time not
/// covered by a later-ending child is on the path.
struct CriticalPath<'a> {
    spans: &'a [Span],
    tree: &'a Tree,
    /// Nanoseconds of each span on the path.
    onpath: Vec<i64>,
    /// Spans in the order the walk visited them.
    order: Vec<usize>,
    visited: HashSet<usize>,
}

impl CriticalPath<'_> {
    fn walk(&mut self, i: usize, cap: i64, depth: usize) {
        if depth > MAX_DEPTH || !self.visited.insert(i) {
            return;
        }
        self.order.push(i);
        let spans = self.spans;
        let s = &spans[i];
        let mut cursor = s.end_ns.min(cap);
        let mut kids = self.tree.children[i].clone();
        kids.sort_by(|a, b| spans[*b].end_ns.cmp(&spans[*a].end_ns).then_with(|| spans[*b].start_ns.cmp(&spans[*a].start_ns)));
        for c in kids {
            let child = &spans[c];
            if child.start_ns >= cursor || cursor <= s.start_ns {
                continue;
            }
            let child_end = child.end_ns.min(cursor);
            self.onpath[i] += (cursor - child_end).max(0);
            self.walk(c, child_end, depth + 1);
            cursor = child.start_ns.max(s.start_ns);
        }
        self.onpath[i] += (cursor - s.start_ns).max(0);
    }
}

/// Analyse one merged trace.
pub fn analyze(spans: &[Span]) -> Analysis {
    let t = tree(spans);
    let n = spans.len();
    let start_ns = spans.iter().map(|s| s.start_ns).min().unwrap_or(0);
    let end_ns = spans.iter().map(|s| s.end_ns).max().unwrap_or(0);
    let mut depth = vec![0usize; n];
    let mut stack: Vec<(usize, usize)> = t.roots.iter().map(|&r| (r, 0)).collect();
    let mut seen = HashSet::new();
    while let Some((i, d)) = stack.pop() {
        if !seen.insert(i) || d > MAX_DEPTH {
            continue;
        }
        depth[i] = d;
        stack.extend(t.children[i].iter().map(|&c| (c, d + 1)));
    }
    let self_ns: Vec<i64> = (0..n)
        .map(|i| {
            let s = &spans[i];
            let iv =
                t.children[i].iter().map(|&c| (spans[c].start_ns.max(s.start_ns), spans[c].end_ns.min(s.end_ns))).filter(|(a, b)| b > a).collect();
            (s.duration_ns() - union_ns(iv)).max(0)
        })
        .collect();
    let mut path = CriticalPath { spans, tree: &t, onpath: vec![0i64; n], order: Vec::new(), visited: HashSet::new() };
    if let Some(&root) = t
        .roots
        .iter()
        .max_by(|a, b| spans[**a].duration_ns().cmp(&spans[**b].duration_ns()).then_with(|| spans[**b].start_ns.cmp(&spans[**a].start_ns)))
    {
        path.walk(root, spans[root].end_ns, 0);
    }
    let CriticalPath { onpath, order, .. } = path;
    let critical_path: Vec<usize> = order.into_iter().filter(|&i| onpath[i] > 0).collect();

    let mut services: Vec<ServiceStats> = Vec::new();
    let mut services_crossed = Vec::new();
    let mut by_start: Vec<usize> = (0..n).collect();
    by_start.sort_by_key(|&i| (spans[i].start_ns, i));
    for &i in &by_start {
        let s = &spans[i];
        let name = &s.resource.service_name;
        if !services_crossed.contains(name) {
            services_crossed.push(name.clone());
        }
        let st = match services.iter_mut().position(|x| &x.service == name) {
            Some(p) => &mut services[p],
            None => {
                services.push(ServiceStats { service: name.clone(), clusters: Vec::new(), spans: 0, errors: 0, self_ns: 0, critical_ns: 0 });
                services.last_mut().expect("just pushed")
            }
        };
        st.spans += 1;
        st.errors += usize::from(s.is_error());
        st.self_ns += self_ns[i];
        st.critical_ns += onpath[i];
        if !s.cluster.is_empty() && !st.clusters.contains(&s.cluster) {
            st.clusters.push(s.cluster.clone());
        }
    }
    let mut slowest: Vec<usize> = (0..n).collect();
    slowest.sort_by(|a, b| spans[*b].duration_ns().cmp(&spans[*a].duration_ns()).then_with(|| spans[*a].start_ns.cmp(&spans[*b].start_ns)));
    slowest.truncate(SLOWEST);
    let errors: Vec<usize> = by_start.iter().copied().filter(|&i| spans[i].is_error()).collect();
    let hops: Vec<(usize, usize)> =
        by_start.iter().filter_map(|&c| t.parent[c].map(|p| (p, c))).filter(|&(p, c)| spans[p].cluster != spans[c].cluster).collect();
    Analysis {
        trace_id: spans.first().map(|s| s.trace_id.clone()).unwrap_or_default(),
        start_ns,
        duration_ns: end_ns - start_ns,
        spans: (0..n).map(|i| SpanStats { self_ns: self_ns[i], critical_ns: onpath[i], depth: depth[i] }).collect(),
        critical_path,
        services,
        slowest,
        errors,
        services_crossed,
        hops,
        calls: service_calls(spans),
    }
}

/// Every parent → child span edge that crosses a service boundary.
pub fn service_calls(spans: &[Span]) -> Vec<ServiceCall> {
    let t = tree(spans);
    let mut out = Vec::new();
    for (c, p) in t.parent.iter().enumerate() {
        let Some(p) = *p else { continue };
        let (ps, cs) = (&spans[p], &spans[c]);
        if ps.resource.service_name != cs.resource.service_name {
            out.push(ServiceCall {
                source: ps.resource.service_name.clone(),
                target: cs.resource.service_name.clone(),
                error: cs.is_error(),
                duration_ns: cs.duration_ns(),
            });
        }
    }
    out
}

fn ms(ns: i64) -> f64 {
    ns as f64 / 1e6
}

fn ms_config(name: &str) -> FieldConfig {
    FieldConfig { display_name_from_ds: Some(name.into()), unit: Some("ms".into()), ..FieldConfig::default() }
}

fn named(name: &str) -> FieldConfig {
    FieldConfig { display_name_from_ds: Some(name.into()), ..FieldConfig::default() }
}

fn table(name: &str, ref_id: &str, fields: Vec<Field>) -> Frame {
    Frame {
        name: name.into(),
        ref_id: ref_id.into(),
        meta: Some(FrameMeta { preferred_visualisation_type: Some("table".into()), ..FrameMeta::default() }),
        fields,
    }
}

/// The span columns every per-span table shares.
fn span_fields(spans: &[Span], rows: &[usize]) -> Vec<Field> {
    let col = |f: &dyn Fn(&Span) -> String| FieldValues::Str(rows.iter().map(|&i| f(&spans[i])).collect());
    vec![
        Field::new("spanID", col(&|s| s.span_id.clone())),
        Field::new("serviceName", col(&|s| s.resource.service_name.clone())),
        Field::new("operationName", col(&|s| s.name.clone())),
        Field::new("cluster", col(&|s| s.cluster.clone())),
        Field::new("duration", FieldValues::F64(rows.iter().map(|&i| ms(spans[i].duration_ns())).collect())).with_config(ms_config("Duration")),
    ]
}

/// Table frames (critical path, self time per span, per service, slowest spans,
/// error spans, cross-cluster hops, summary) and the node graph of service calls.
pub fn analysis_frames(spans: &[Span], a: &Analysis, ref_id: &str) -> Vec<Frame> {
    let total = a.duration_ns.max(1) as f64;
    let mut frames = Vec::new();

    frames.push(table(
        "Summary",
        ref_id,
        vec![
            Field::new("traceID", FieldValues::Str(vec![a.trace_id.clone()])),
            Field::new("duration", FieldValues::F64(vec![ms(a.duration_ns)])).with_config(ms_config("Duration")),
            Field::new("spans", FieldValues::I64(vec![spans.len() as i64])),
            Field::new("errorSpans", FieldValues::I64(vec![a.errors.len() as i64])),
            Field::new("services", FieldValues::I64(vec![a.services_crossed.len() as i64])),
            Field::new("servicesCrossed", FieldValues::Str(vec![a.services_crossed.join(" → ")])),
            Field::new("clusters", FieldValues::Str(vec![clusters_of(spans).join(", ")])),
            Field::new("crossClusterHops", FieldValues::I64(vec![a.hops.len() as i64])),
        ],
    ));

    let mut f = span_fields(spans, &a.critical_path);
    f.push(
        Field::new("timeOnPath", FieldValues::F64(a.critical_path.iter().map(|&i| ms(a.spans[i].critical_ns)).collect()))
            .with_config(ms_config("Time on critical path")),
    );
    f.push(
        Field::new("percentOfTrace", FieldValues::F64(a.critical_path.iter().map(|&i| a.spans[i].critical_ns as f64 / total * 100.0).collect()))
            .with_config(FieldConfig { unit: Some("percent".into()), ..named("% of trace") }),
    );
    frames.push(table("Critical path", ref_id, f));

    let mut by_self: Vec<usize> = (0..spans.len()).collect();
    by_self.sort_by(|x, y| a.spans[*y].self_ns.cmp(&a.spans[*x].self_ns).then_with(|| spans[*x].start_ns.cmp(&spans[*y].start_ns)));
    let mut f = span_fields(spans, &by_self);
    f.push(Field::new("selfTime", FieldValues::F64(by_self.iter().map(|&i| ms(a.spans[i].self_ns)).collect())).with_config(ms_config("Self time")));
    f.push(Field::new("depth", FieldValues::I64(by_self.iter().map(|&i| a.spans[i].depth as i64).collect())));
    frames.push(table("Self time per span", ref_id, f));

    let mut svc = a.services.clone();
    svc.sort_by(|x, y| y.self_ns.cmp(&x.self_ns).then_with(|| x.service.cmp(&y.service)));
    frames.push(table(
        "Self time per service",
        ref_id,
        vec![
            Field::new("serviceName", FieldValues::Str(svc.iter().map(|s| s.service.clone()).collect())),
            Field::new("clusters", FieldValues::Str(svc.iter().map(|s| s.clusters.join(", ")).collect())),
            Field::new("spans", FieldValues::I64(svc.iter().map(|s| s.spans as i64).collect())),
            Field::new("errors", FieldValues::I64(svc.iter().map(|s| s.errors as i64).collect())),
            Field::new("selfTime", FieldValues::F64(svc.iter().map(|s| ms(s.self_ns)).collect())).with_config(ms_config("Self time")),
            Field::new("percentOfTrace", FieldValues::F64(svc.iter().map(|s| s.self_ns as f64 / total * 100.0).collect()))
                .with_config(FieldConfig { unit: Some("percent".into()), ..named("% of trace") }),
            Field::new("timeOnPath", FieldValues::F64(svc.iter().map(|s| ms(s.critical_ns)).collect()))
                .with_config(ms_config("Time on critical path")),
        ],
    ));

    frames.push(table("Slowest spans", ref_id, span_fields(spans, &a.slowest)));

    let mut f = span_fields(spans, &a.errors);
    f.push(Field::new("statusMessage", FieldValues::Str(a.errors.iter().map(|&i| spans[i].status_message.clone()).collect())));
    frames.push(table("Error spans", ref_id, f));

    let col = |g: &dyn Fn(usize, usize) -> String| FieldValues::Str(a.hops.iter().map(|&(p, c)| g(p, c)).collect());
    frames.push(table(
        "Cross-cluster hops",
        ref_id,
        vec![
            Field::new("fromCluster", col(&|p, _| spans[p].cluster.clone())),
            Field::new("toCluster", col(&|_, c| spans[c].cluster.clone())),
            Field::new("fromService", col(&|p, _| spans[p].resource.service_name.clone())),
            Field::new("toService", col(&|_, c| spans[c].resource.service_name.clone())),
            Field::new("parentSpanID", col(&|p, _| spans[p].span_id.clone())),
            Field::new("spanID", col(&|_, c| spans[c].span_id.clone())),
            Field::new("operationName", col(&|_, c| spans[c].name.clone())),
        ],
    ));

    let nodes = a
        .services
        .iter()
        .map(|s| NodeStat {
            id: s.service.clone(),
            subtitle: s.clusters.join(", "),
            mainstat: ms(s.self_ns),
            secondarystat: s.spans as f64,
            errors: s.errors,
            total: s.spans,
        })
        .collect();
    frames.extend(node_graph(nodes, &a.calls, ref_id, ("Self time (ms)", "Spans")));
    frames
}

fn clusters_of(spans: &[Span]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in spans {
        if !s.cluster.is_empty() && !out.contains(&s.cluster) {
            out.push(s.cluster.clone());
        }
    }
    out
}

/// One node-graph node.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeStat {
    pub id: String,
    pub subtitle: String,
    pub mainstat: f64,
    pub secondarystat: f64,
    pub errors: usize,
    pub total: usize,
}

/// p-quantile (nearest rank) of nanosecond durations, in ms.
pub fn quantile_ms(values: &mut [i64], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_unstable();
    let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
    ms(values[rank - 1])
}

/// Nodes and edges frames for Grafana's node graph panel. Edges aggregate
/// `calls` per (source, target): mainstat = calls, secondarystat = p95 ms.
pub fn node_graph(nodes: Vec<NodeStat>, calls: &[ServiceCall], ref_id: &str, stat_names: (&str, &str)) -> Vec<Frame> {
    let mut edges: BTreeMap<(String, String), (usize, usize, Vec<i64>)> = BTreeMap::new();
    for c in calls {
        let e = edges.entry((c.source.clone(), c.target.clone())).or_default();
        e.0 += 1;
        e.1 += usize::from(c.error);
        e.2.push(c.duration_ns);
    }
    let meta = || Some(FrameMeta { preferred_visualisation_type: Some("nodeGraph".into()), ..FrameMeta::default() });
    let color = |c: &str| json!({"mode": "fixed", "fixedColor": c});
    let nodes_frame = Frame {
        name: "nodes".into(),
        ref_id: ref_id.into(),
        meta: meta(),
        fields: vec![
            Field::new("id", FieldValues::Str(nodes.iter().map(|n| n.id.clone()).collect())),
            Field::new("title", FieldValues::Str(nodes.iter().map(|n| n.id.clone()).collect())),
            Field::new("subtitle", FieldValues::Str(nodes.iter().map(|n| n.subtitle.clone()).collect())),
            Field::new("mainstat", FieldValues::F64(nodes.iter().map(|n| n.mainstat).collect())).with_config(named(stat_names.0)),
            Field::new("secondarystat", FieldValues::F64(nodes.iter().map(|n| n.secondarystat).collect())).with_config(named(stat_names.1)),
            Field::new(
                "arc__failed",
                FieldValues::F64(nodes.iter().map(|n| if n.total == 0 { 0.0 } else { n.errors as f64 / n.total as f64 }).collect()),
            )
            .with_config(named("Failed"))
            .with_color(color("red")),
            Field::new(
                "arc__success",
                FieldValues::F64(nodes.iter().map(|n| if n.total == 0 { 1.0 } else { 1.0 - n.errors as f64 / n.total as f64 }).collect()),
            )
            .with_config(named("Success"))
            .with_color(color("green")),
            Field::new("detail__errors", FieldValues::I64(nodes.iter().map(|n| n.errors as i64).collect())).with_config(named("Errors")),
        ],
    };
    let p95: Vec<f64> = edges.values_mut().map(|v| quantile_ms(&mut v.2, 0.95)).collect();
    let keys: Vec<&(String, String)> = edges.keys().collect();
    let edges_frame = Frame {
        name: "edges".into(),
        ref_id: ref_id.into(),
        meta: meta(),
        fields: vec![
            Field::new("id", FieldValues::Str(keys.iter().map(|(s, t)| format!("{s}->{t}")).collect())),
            Field::new("source", FieldValues::Str(keys.iter().map(|(s, _)| s.clone()).collect())),
            Field::new("target", FieldValues::Str(keys.iter().map(|(_, t)| t.clone()).collect())),
            Field::new("mainstat", FieldValues::F64(edges.values().map(|v| v.0 as f64).collect())).with_config(named("Calls")),
            Field::new("secondarystat", FieldValues::F64(p95)).with_config(FieldConfig { unit: Some("ms".into()), ..named("p95") }),
            Field::new("detail__errors", FieldValues::I64(edges.values().map(|v| v.1 as i64).collect())).with_config(named("Errors")),
        ],
    };
    vec![nodes_frame, edges_frame]
}

trait WithColor {
    fn with_color(self, color: serde_json::Value) -> Self;
}

impl WithColor for Field {
    /// Grafana's node graph reads arc colours from `config.color` (fixed mode).
    fn with_color(mut self, color: serde_json::Value) -> Self {
        let cfg = self.config.get_or_insert_with(FieldConfig::default);
        cfg.color = Some(color);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frames::tempo::{merge_spans, parse_trace};

    fn oom() -> Vec<Span> {
        let body = std::fs::read(format!("{}/tests/fixtures/tempo/trace_by_id_v1_oom_error.json", env!("CARGO_MANIFEST_DIR"))).unwrap();
        parse_trace(&body).unwrap()
    }

    fn by_name(spans: &[Span], name: &str) -> usize {
        spans.iter().position(|s| s.name == name).unwrap_or_else(|| panic!("{name}"))
    }

    /// Expected values worked out by hand from the fixture's timestamps
    /// (relative to the root's start, ms): root 0–1572.408953; auth 1–2;
    /// POST 5–1567.408953; generate 6–1566.408953; retrieve_context 7–18;
    /// ModelInfer client 19–1551.408953; ModelInfer server 20–1550.408953;
    /// queue_wait 21–32; prefill 32–143.865855; decode 143.865855–1549.408953.
    #[test]
    fn oom_trace_by_hand() {
        let spans = merge_spans(vec![("east".into(), "prod-east-1".into(), oom())]);
        let a = analyze(&spans);
        let self_ms = |name: &str| a.spans[by_name(&spans, name)].self_ns as f64 / 1e6;
        assert!((self_ms("POST /v1/chat/completions") - 9.0).abs() < 1e-6);
        assert!((self_ms("auth.verify_api_key") - 1.0).abs() < 1e-6);
        assert!((self_ms("POST") - 2.0).abs() < 1e-6);
        assert!((self_ms("POST /v1/generate") - 17.0).abs() < 1e-6);
        assert!((self_ms("ModelInfer") - 2.0).abs() < 1e-6);
        assert!((self_ms("/inference.GRPCInferenceService/ModelInfer") - 2.0).abs() < 1e-6);
        assert!((self_ms("decode") - 1405.543098).abs() < 1e-6);
        assert_eq!(a.duration_ns, 1_572_408_953);
        let svc: Vec<(&str, i64)> = a.services.iter().map(|s| (s.service.as_str(), s.self_ns)).collect();
        assert_eq!(svc, vec![("llm-gateway", 12_000_000), ("search-assistant", 30_000_000), ("model-server", 1_530_408_953)]);
        // Sequential calls: every span is on the critical path with its self time.
        assert_eq!(a.critical_path.len(), 10);
        assert_eq!(a.critical_path[0], by_name(&spans, "POST /v1/chat/completions"));
        assert_eq!(a.spans.iter().map(|s| s.critical_ns).sum::<i64>(), a.duration_ns);
        assert_eq!(a.errors.len(), 6);
        assert_eq!(a.errors.iter().map(|&i| spans[i].name.as_str()).collect::<Vec<_>>()[5], "decode");
        assert_eq!(a.services_crossed, vec!["llm-gateway", "search-assistant", "model-server"]);
        assert_eq!(spans[a.slowest[0]].name, "POST /v1/chat/completions");
        assert_eq!(spans[a.slowest[5]].name, "decode");
        assert!(a.hops.is_empty());
        let calls: Vec<(&str, &str, bool)> = a.calls.iter().map(|c| (c.source.as_str(), c.target.as_str(), c.error)).collect();
        assert_eq!(calls.len(), 2);
        assert!(calls.contains(&("llm-gateway", "search-assistant", true)));
        assert!(calls.contains(&("search-assistant", "model-server", true)));
        assert_eq!(a.spans[by_name(&spans, "decode")].depth, 5);
    }

    #[test]
    fn split_trace_has_one_cross_cluster_hop() {
        let (west, east): (Vec<Span>, Vec<Span>) = oom().into_iter().partition(|s| s.resource.service_name == "model-server");
        let spans = merge_spans(vec![("east".into(), "prod-east-1".into(), east), ("west".into(), "prod-west-1".into(), west)]);
        let a = analyze(&spans);
        assert_eq!(a.hops.len(), 1);
        let (p, c) = a.hops[0];
        assert_eq!((spans[p].name.as_str(), spans[p].cluster.as_str()), ("ModelInfer", "prod-east-1"));
        assert_eq!((spans[c].resource.service_name.as_str(), spans[c].cluster.as_str()), ("model-server", "prod-west-1"));
        let ms = a.services.iter().find(|s| s.service == "model-server").unwrap();
        assert_eq!(ms.clusters, vec!["prod-west-1"]);
    }

    #[test]
    fn critical_path_skips_parallel_shorter_children() {
        // root 0–100; a 10–60 and b 20–90 run in parallel; c 55–70 a's child.
        let base = oom().remove(0);
        let mk = |id: &str, parent: &str, s: i64, e: i64| Span {
            span_id: id.into(),
            parent_span_id: parent.into(),
            start_ns: s * 1_000_000,
            end_ns: e * 1_000_000,
            name: id.into(),
            ..base.clone()
        };
        let spans = vec![mk("r", "", 0, 100), mk("a", "r", 10, 60), mk("b", "r", 20, 90), mk("c", "a", 55, 70)];
        let a = analyze(&spans);
        let path: Vec<&str> = a.critical_path.iter().map(|&i| spans[i].name.as_str()).collect();
        // b (20–90) is the last to finish; before b started, only a ran (10–20);
        // c ran after b had started, so it is off the path.
        assert_eq!(path, vec!["r", "b", "a"]);
        assert_eq!(a.spans[0].critical_ns, 20_000_000); // 90–100 and 0–10
        assert_eq!(a.spans[2].critical_ns, 70_000_000);
        assert_eq!(a.spans[1].critical_ns, 10_000_000);
        assert_eq!(a.spans[3].critical_ns, 0);
        assert_eq!(a.spans[0].self_ns, 20_000_000); // 0–10 and 90–100
        assert_eq!(a.spans[1].self_ns, 45_000_000); // 10–60 minus c's 55–60 (clipped to a)
    }

    #[test]
    fn node_graph_frames_have_grafana_field_names() {
        let spans = oom();
        let a = analyze(&spans);
        let frames = analysis_frames(&spans, &a, "A");
        let nodes = frames.iter().find(|f| f.name == "nodes").unwrap();
        let names: Vec<&str> = nodes.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, vec!["id", "title", "subtitle", "mainstat", "secondarystat", "arc__failed", "arc__success", "detail__errors"]);
        let edges = frames.iter().find(|f| f.name == "edges").unwrap();
        assert_eq!(
            edges.fields.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
            vec!["id", "source", "target", "mainstat", "secondarystat", "detail__errors"]
        );
        assert_eq!(edges.fields[0].values, FieldValues::Str(vec!["llm-gateway->search-assistant".into(), "search-assistant->model-server".into()]));
        assert_eq!(edges.meta.as_ref().unwrap().preferred_visualisation_type.as_deref(), Some("nodeGraph"));
        assert_eq!(quantile_ms(&mut [5_000_000, 1_000_000, 3_000_000], 0.95), 5.0);
    }
}
