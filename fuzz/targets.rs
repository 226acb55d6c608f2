//! The fuzz targets' bodies, shared by the cargo-fuzz binaries in
//! `fuzz_targets/` and the stable-Rust smoke run in `tests/fuzz_smoke.rs`.
//!
//! Each takes arbitrary bytes and drives one parser of untrusted input the way
//! the plugin does, then whatever it builds from a successful parse (frames,
//! Arrow/JSON encodings). The property checked is "no panic, no abort";
//! parsers may reject anything. `prometheus_values` is differential as well:
//! the hand-written scanner must read what an independent serde reading does.

use fleetscope::frames::alertmanager::{self as am, Origin};
use fleetscope::frames::{self, Frame, FrameMeta};
use fleetscope::query::{self, QueryEnvelope, TimeRange};

/// One fuzz target: arbitrary bytes in, no panic out.
pub type Target = fn(&[u8]);

/// Every target, by name (for the smoke run and `fuzz/README.md`).
pub const TARGETS: &[(&str, Target)] = &[
    ("query_model", query_model),
    ("promql_logql_traceql", promql_logql_traceql),
    ("prometheus_response", prometheus_response),
    ("prometheus_values", prometheus_values),
    ("loki_response", loki_response),
    ("tempo_response", tempo_response),
    ("alertmanager_response", alertmanager_response),
    ("alertmanager_webhook", alertmanager_webhook),
    ("nvidia_smi", nvidia_smi),
    ("powermetrics", powermetrics),
    ("dpdk_telemetry", dpdk_telemetry),
];

fn encode(frames: &[Frame]) {
    for f in frames {
        let _ = frames::arrow::encode(f);
    }
    let _ = frames::json::frames_to_json_bytes(frames);
}

/// `query::parse` as QueryData calls it: the first byte picks the proto
/// `query_type`, the rest is the query JSON.
pub fn query_model(data: &[u8]) {
    // Every registered kind, plus no kind (defaults to metrics) and an unknown one.
    let names: Vec<&str> = std::iter::once("").chain(query::KINDS.iter().map(|k| k.name)).chain(std::iter::once("bogus")).collect();
    let Some((first, json)) = data.split_first() else {
        return;
    };
    let kind = names[*first as usize % names.len()];
    let end = 1_795_264_860_000;
    let env =
        QueryEnvelope { ref_id: "A".into(), time_range: TimeRange::new(end - 3_600_000, end).unwrap(), interval_ms: 15_000, max_data_points: 1000 };
    if let Err(e) = query::parse(kind, json, env) {
        let f: fleetscope::error::FleetError = e.into();
        let _ = f.to_json();
    }
}

/// The three query-language validators on raw text, as the plugin calls them
/// (PromQL through `validate_promql`, which guards promql-parser).
pub fn promql_logql_traceql(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = query::logql::validate(text);
    let _ = query::traceql::validate(text);
    let _ = query::metrics::validate_promql(text);
}

/// Prometheus `/api/v1/query(_range)` bodies → series frames → Arrow/JSON.
pub fn prometheus_response(data: &[u8]) {
    use fleetscope::frames::DataLink;
    use fleetscope::frames::prometheus::{self as p, PromData, PromFrameOptions, SeriesFrameOptions};
    let _ = p::parse_string_list(data);
    let _ = p::parse_series_list(data);
    if let Ok(exemplars) = p::parse_exemplars(data) {
        let links = |trace_id: &str| vec![DataLink { title: trace_id.to_owned(), url: String::new(), internal: None }];
        if let Some(f) = p::exemplar_frame(exemplars, "A", &links) {
            encode(&[f]);
        }
    }
    let Ok(resp) = p::parse_query_response(data) else {
        return;
    };
    let _ = p::encode_query_response(&resp);
    let dataplane = PromFrameOptions { ref_id: "A", expr: "up", legend_format: Some("__auto"), step_ms: 15_000, added_labels: &["cluster"] };
    encode(&p::histogram_frames(resp.histograms, &dataplane));
    match resp.data {
        PromData::Series { series, result_type } => {
            for s in &series {
                let _ = p::legend("{{instance}} {{ job }} {{__name__}}", &s.labels);
            }
            encode(&p::prometheus_frames(series.clone(), result_type, &dataplane));
            let opts = SeriesFrameOptions {
                ref_id: "A",
                instant: false,
                legend_format: None,
                step_ms: 15_000,
                executed_query: String::new(),
                links: Vec::new(),
            };
            encode(&p::series_frames(series, &opts));
        }
        PromData::String { time_ms, value } => encode(&[p::string_frame(Default::default(), time_ms, value, &dataplane)]),
        PromData::Scalar { .. } => {}
    }
}

/// The `values` array of a range answer (the scanner's input, with serde as
/// its fallback), inside a one-series matrix body. Differential: whatever the
/// plugin reads must equal an independent serde reading of the same array
/// (float seconds → rounded ms, values through `f64::from_str`).
pub fn prometheus_values(data: &[u8]) {
    use fleetscope::frames::prometheus::{self as p, PromData};
    let mut body = br#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"x"},"values":"#.to_vec();
    body.extend_from_slice(data);
    body.extend_from_slice(b"}]}}");
    let ours = p::parse_query_response_with_points(&body, 720);
    let reference = serde_json::from_slice::<Vec<(f64, String)>>(data).ok().and_then(|points| {
        points.into_iter().map(|(t, v)| v.parse::<f64>().ok().map(|v| ((t * 1000.0).round() as i64, v))).collect::<Option<Vec<_>>>()
    });
    // Only a whole array compares (other bytes could close the array and add keys).
    let Some(want) = reference else {
        return;
    };
    let resp = ours.unwrap_or_else(|e| panic!("rejected a valid values array ({e}): {:?}", String::from_utf8_lossy(data)));
    let PromData::Series { series, .. } = resp.data else { panic!("a matrix body read as something else") };
    let got: Vec<(i64, f64)> = series[0].times_ms.iter().copied().zip(series[0].values.iter().copied()).collect();
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert!(g.0 == w.0 && (g.1.to_bits() == w.1.to_bits() || (g.1.is_nan() && w.1.is_nan())), "{g:?} vs {w:?}");
    }
}

/// Loki query and tail bodies.
pub fn loki_response(data: &[u8]) {
    use fleetscope::frames::loki as l;
    if let Ok(r) = l::parse_query_response(data) {
        let _ = r.entries();
    }
    if let Ok(m) = l::parse_tail_message(data) {
        let _ = m.newest_ns();
    }
}

/// Tempo search and trace-by-ID bodies → frames.
pub fn tempo_response(data: &[u8]) {
    use fleetscope::frames::tempo as t;
    if let Ok(hits) = t::parse_search(data) {
        let merged = t::merge_search(vec![("c".into(), "c".into(), hits)], 20);
        encode(&[t::search_frame(&merged, "A", None, FrameMeta::default())]);
    }
    if let Ok(spans) = t::parse_trace(data) {
        let merged = t::merge_spans(vec![("c".into(), "c".into(), spans)]);
        encode(&[t::trace_frame(&merged, "A", Vec::new(), t::trace_meta())]);
    }
}

const ORIGIN: Origin<'static> = Origin { cluster_id: "c", cluster_name: "cluster" };

/// Alertmanager `/api/v2/alerts` and `/alerts/groups` bodies.
pub fn alertmanager_response(data: &[u8]) {
    let a = am::parse_v2_alerts(data, ORIGIN).unwrap_or_default();
    let g = am::parse_v2_groups(data, ORIGIN).unwrap_or_default();
    for x in am::dedup_replicas(vec![a, g]) {
        let _ = x.to_json();
        let _ = x.id();
    }
}

/// The webhook receiver's payload parser (a POST body from anyone who can
/// reach the resource endpoint).
pub fn alertmanager_webhook(data: &[u8]) {
    if let Ok(d) = am::parse_webhook(data, ORIGIN) {
        for a in &d.alerts {
            let _ = a.to_json();
        }
    }
}

/// nvidia-smi CSV output (exec stdout from a pod).
pub fn nvidia_smi(data: &[u8]) {
    use fleetscope::probes::gpu::nvidia_smi as n;
    let text = String::from_utf8_lossy(data);
    let _ = n::parse_gpus(&text);
    let _ = n::parse_processes(&text);
}

/// powermetrics plist stream (NUL-separated documents).
pub fn powermetrics(data: &[u8]) {
    use fleetscope::probes::macos;
    let text = String::from_utf8_lossy(data);
    for doc in macos::split_documents(&text) {
        let _ = macos::plist::parse(doc);
    }
}

/// dpdk-telemetry output (exec stdout).
pub fn dpdk_telemetry(data: &[u8]) {
    use fleetscope::probes::cnf::dpdk;
    let text = String::from_utf8_lossy(data);
    let _ = dpdk::parse_list(&text);
    let _ = dpdk::parse_stats(&text, 0);
}
