//! Golden frames for Prometheus answers: one case per behaviour of Grafana's
//! Prometheus datasource we match (legends, gaps, steps, Both, scalars,
//! strings, NaN, empty results, notices, native histograms, exemplars).
//!
//! Each case's upstream answers were recorded from a real Prometheus 2.42
//! (tests/fixtures/prometheus/recorded/<case>.json: the query, its time window
//! and the verbatim bodies); the frames our federation builds from them (one
//! cluster `prod-east`, plus a refusing one where the case says so) must equal
//! tests/golden/prometheus/<case>.frame.json. `UPDATE_GOLDEN=1` rewrites the
//! goldens after a deliberate change; the Go harness decodes the same files
//! with Grafana's SDK (tests/conformance/golden_dirs_test.go).
//!
//! Recording (tests/fixtures/prometheus/recorded/README.md): the float cases
//! come from the test stack's `east` Prometheus (backfilled data), the native
//! histogram and exemplar cases from a Prometheus started by
//! tests/stack/native_histograms.py (backfill cannot write either):
//!
//! ```sh
//! FLEETSCOPE_STACK_ENV=… python3 tests/stack/native_histograms.py -- \
//!   env FLEETSCOPE_RECORD_PROMETHEUS=1 cargo test --release --test integration prometheus_golden::
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use fleetscope::error::{ErrorCode, FleetError};
use fleetscope::federation::{ClusterOutcome, Federation, metrics};
use fleetscope::frames::prometheus::{PromResponse, parse_exemplars, parse_query_response};
use fleetscope::frames::{Frame, json};
use fleetscope::query::{self, MetricsQuery, QueryEnvelope, QueryKind, TimeRange};
use fleetscope::registry::Registry;
use serde_json::{Value, json};

use crate::support::stack_env;

#[derive(Clone, Copy, PartialEq)]
enum Source {
    /// The stack's `east` Prometheus (backfilled, 15 s grid up to STACK_DATA_END_MS).
    Stack,
    /// The scraping Prometheus of tests/stack/native_histograms.py.
    Native,
}

struct Case {
    name: &'static str,
    /// The query as Grafana sends it (`intervalMs`/`maxDataPoints` come from the envelope).
    query: &'static str,
    source: Source,
    /// Window length before the recorded end.
    span_ms: i64,
    /// A second, refusing cluster: its failure notice appears on every frame.
    with_dead_cluster: bool,
}

const fn case(name: &'static str, query: &'static str) -> Case {
    Case { name, query, source: Source::Stack, span_ms: 300_000, with_dead_cluster: false }
}

const CASES: &[Case] = &[
    case("range_metric_name_and_labels", r#"{"expr":"fleetscope_probe_value","range":true,"interval":"1m"}"#),
    case("range_label_less_sum", r#"{"expr":"sum(fleetscope_probe_value)","range":true,"interval":"1m"}"#),
    case("range_legend_template", r#"{"expr":"fleetscope_probe_value","range":true,"interval":"1m","legendFormat":"{{instance}} on {{cluster}}"}"#),
    case("range_legend_auto", r#"{"expr":"sum by (instance) (fleetscope_probe_value)","range":true,"interval":"1m","legendFormat":"__auto"}"#),
    case(
        "range_gaps_every_other_step",
        r#"{"expr":"fleetscope_probe_value{instance=\"probe-0\"} and on() (minute() % 2 == 0)","range":true,"interval":"1m"}"#,
    ),
    case("range_nan", r#"{"expr":"0 * fleetscope_probe_value{instance=\"probe-0\"} / 0","range":true,"interval":"1m"}"#),
    case("range_rate_interval", r#"{"expr":"rate(fleetscope_probe_counter_total[$__rate_interval])","range":true}"#),
    case("range_empty", r#"{"expr":"fleetscope_no_such_metric","range":true,"interval":"1m"}"#),
    case("instant_vector", r#"{"expr":"fleetscope_probe_counter_total","instant":true,"range":false}"#),
    case("instant_scalar_inf", r#"{"expr":"1 / 0","instant":true,"range":false}"#),
    case("instant_string", r#"{"expr":"\"fleetscope\"","instant":true,"range":false}"#),
    case("both_range_and_instant", r#"{"expr":"sum(fleetscope_probe_value)","instant":true,"range":true,"interval":"1m"}"#),
    Case { with_dead_cluster: true, ..case("notices_on_every_frame", r#"{"expr":"fleetscope_probe_value","range":true,"interval":"1m"}"#) },
    Case {
        source: Source::Native,
        span_ms: 5_000,
        ..case("native_histogram_range", r#"{"expr":"fleetscope_probe_request_seconds","range":true,"interval":"1s"}"#)
    },
    Case {
        source: Source::Native,
        span_ms: 5_000,
        ..case("native_histogram_instant", r#"{"expr":"fleetscope_probe_request_seconds","instant":true,"range":false}"#)
    },
    Case {
        source: Source::Native,
        span_ms: 5_000,
        ..case(
            "exemplars",
            r#"{"expr":"fleetscope_probe_traced_requests_total","range":true,"interval":"1s","exemplar":true,"datasource":{"type":"fleetscope-federation-datasource","uid":"fleetscope"}}"#,
        )
    },
];

const REGISTRY: &[u8] = br#"{"clusters":[
    {"id":"east","name":"prod-east","prometheus":{"url":"http://127.0.0.1:1"}},
    {"id":"dead","name":"prod-dead","prometheus":{"url":"http://127.0.0.1:1"}}
]}"#;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn recorded_path(name: &str) -> PathBuf {
    root().join("tests/fixtures/prometheus/recorded").join(format!("{name}.json"))
}

fn parse_query(c: &Case, from_ms: i64, to_ms: i64) -> MetricsQuery {
    let env = QueryEnvelope { ref_id: "A".into(), time_range: TimeRange::new(from_ms, to_ms).unwrap(), interval_ms: 15_000, max_data_points: 1000 };
    let req = query::parse("", c.query.as_bytes(), env).unwrap_or_else(|e| panic!("{}: {e}", c.name));
    let QueryKind::Metrics(q) = req.kind else { panic!("{}: not a metrics query", c.name) };
    // Grafana's default scrape interval, as the datasource without `timeInterval` resolves it.
    q.with_scrape_interval(15_000).unwrap()
}

/// Ask the real Prometheus and store the query, window and verbatim bodies.
async fn record(c: &Case) {
    let (url, to_ms) = match c.source {
        Source::Stack => {
            let env = stack_env::stack_env();
            (env["PROM_EAST_URL"].clone(), env["STACK_DATA_END_MS"].parse::<i64>().unwrap())
        }
        Source::Native => {
            let url = std::env::var("PROM_NATIVE_URL").expect("PROM_NATIVE_URL: record through tests/stack/native_histograms.py");
            (url, chrono::Utc::now().timestamp_millis() / 1000 * 1000 - 1000)
        }
    };
    let from_ms = to_ms - c.span_ms;
    let registry = format!(r#"{{"clusters":[{{"id":"east","name":"prod-east","prometheus":{{"url":"{url}"}}}}]}}"#);
    let fed = Federation::new(Registry::from_grafana(registry.as_bytes(), &Default::default()).unwrap());
    let client = fed.prometheus(&fed.registry.clusters()[0]).unwrap();
    let q = parse_query(c, from_ms, to_ms);
    let mut answers = serde_json::Map::new();
    for part in q.parts() {
        let body = if part.instant {
            client.query(&part.expr, part.end_ms).await
        } else {
            client.query_range(&part.expr, part.start_ms, part.end_ms, part.step_ms).await
        }
        .unwrap_or_else(|e| panic!("{}: {e:?}", c.name));
        answers.insert(if part.instant { "instant" } else { "range" }.into(), serde_json::from_slice(&body).unwrap());
    }
    if q.exemplars {
        let (start, end) = q.range_window();
        let body = client.query_exemplars(&q.expr, start, end).await.unwrap();
        answers.insert("exemplars".into(), serde_json::from_slice(&body).unwrap());
    }
    let source = match c.source {
        Source::Stack => "tests/stack east Prometheus 2.42 (backfilled generator data)",
        Source::Native => "tests/stack/native_histograms.py: Prometheus 2.42 --enable-feature=native-histograms,exemplar-storage scraping protobuf",
    };
    let doc =
        json!({ "source": source, "query": serde_json::from_str::<Value>(c.query).unwrap(), "fromMs": from_ms, "toMs": to_ms, "answers": answers });
    std::fs::create_dir_all(recorded_path(c.name).parent().unwrap()).unwrap();
    std::fs::write(recorded_path(c.name), serde_json::to_string_pretty(&doc).unwrap() + "\n").unwrap();
}

/// The frames the federation builds from the recorded answers.
fn frames_for(c: &Case, fed: &Federation) -> Vec<Frame> {
    let path = recorded_path(c.name);
    let doc: Value = serde_json::from_slice(&std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap();
    let q = parse_query(c, doc["fromMs"].as_i64().unwrap(), doc["toMs"].as_i64().unwrap());
    let east = fed.registry.clusters()[0].clone();
    let dead = fed.registry.clusters()[1].clone();
    let outcome = |body: &Value| -> Vec<ClusterOutcome<Arc<PromResponse>>> {
        let resp = parse_query_response(&serde_json::to_vec(body).unwrap()).unwrap();
        let mut out = vec![ClusterOutcome { cluster: east.clone(), result: Ok(Arc::new(resp)), elapsed: Duration::ZERO }];
        if c.with_dead_cluster {
            let err = FleetError::new(ErrorCode::ClusterUnreachable, "prod-dead (prometheus): connection refused");
            out.push(ClusterOutcome { cluster: dead.clone(), result: Err(err), elapsed: Duration::ZERO });
        }
        out
    };
    let mut frames = Vec::new();
    for part in q.parts() {
        let body = &doc["answers"][if part.instant { "instant" } else { "range" }];
        frames.extend(metrics::to_frames(outcome(body), "A", &part).unwrap());
    }
    if q.exemplars {
        let series = parse_exemplars(&serde_json::to_vec(&doc["answers"]["exemplars"]).unwrap()).unwrap();
        let outcomes = vec![ClusterOutcome { cluster: east, result: Ok(series), elapsed: Duration::ZERO }];
        let (frame, notices) = metrics::exemplar_frame(outcomes, "A", &metrics::exemplar_links(fed, &q));
        assert!(notices.is_empty());
        frames.extend(frame);
    }
    frames
}

/// With `FLEETSCOPE_RECORD_PROMETHEUS=1`, record every case once, before any
/// test of this file reads a recording (on its own thread and runtime: the
/// tests run inside theirs).
fn ensure_recorded() {
    static RECORDED: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    RECORDED.get_or_init(|| {
        if !std::env::var("FLEETSCOPE_RECORD_PROMETHEUS").is_ok_and(|v| v == "1") {
            return;
        }
        let native = std::env::var("PROM_NATIVE_URL").is_ok();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                for c in CASES.iter().filter(|c| c.source == Source::Stack || native) {
                    record(c).await;
                }
            });
        })
        .join()
        .expect("recording failed");
    });
}

#[tokio::test]
async fn every_recorded_prometheus_answer_matches_its_golden_frames() {
    ensure_recorded();
    let fed = Federation::new(Registry::from_grafana(REGISTRY, &Default::default()).unwrap());
    let update = std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1");
    for c in CASES {
        let got = json::frames_to_json(&frames_for(c, &fed));
        let golden = root().join("tests/golden/prometheus").join(format!("{}.frame.json", c.name));
        if update {
            std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
            std::fs::write(&golden, serde_json::to_string_pretty(&got).unwrap() + "\n").unwrap();
            continue;
        }
        let want: Value =
            serde_json::from_slice(&std::fs::read(&golden).unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDEN=1 writes it)", golden.display())))
                .unwrap();
        assert_eq!(got, want, "{}: frames differ from {}", c.name, golden.display());
    }
}

/// What each golden shows, checked on the frames themselves so a regenerated
/// golden cannot silently lose a behaviour.
#[tokio::test]
async fn goldens_show_grafanas_behaviour() {
    ensure_recorded();
    let fed = Federation::new(Registry::from_grafana(REGISTRY, &Default::default()).unwrap());
    let by_name = |name: &str| frames_for(CASES.iter().find(|c| c.name == name).unwrap(), &fed);
    let display = |f: &Frame| f.fields[1].config.as_ref().and_then(|c| c.display_name_from_ds.clone());
    let interval = |f: &Frame| f.fields[0].config.as_ref().and_then(|c| c.interval);

    let f = by_name("range_metric_name_and_labels");
    assert_eq!(f[0].fields[1].name, "fleetscope_probe_value");
    assert_eq!(display(&f[0]).as_deref(), Some(r#"fleetscope_probe_value{cluster="prod-east", cluster_id="east", instance="probe-0", job="probe"}"#));
    assert_eq!(interval(&f[0]), Some(60_000.0));
    let meta = f[0].meta.as_ref().unwrap();
    assert_eq!(meta.executed_query_string.as_deref(), Some("Expr: fleetscope_probe_value\nStep: 1m0s"));
    assert_eq!(meta.custom.as_ref().unwrap()["resultType"], "matrix");

    let f = by_name("range_label_less_sum");
    assert_eq!((f[0].fields[1].name.as_str(), display(&f[0]).as_deref()), ("Value", Some("sum(fleetscope_probe_value)")));
    assert_eq!(display(&by_name("range_legend_template")[0]).as_deref(), Some("probe-0 on prod-east"));
    assert_eq!(display(&by_name("range_legend_auto")[0]), None);

    let f = by_name("range_gaps_every_other_step");
    let times = f[0].fields[0].values.len();
    assert!((2..=4).contains(&times), "every other step of 6 is missing: {times} points");
    assert_eq!(interval(&f[0]), Some(60_000.0), "the time field's interval lets the panel break the line");

    let f = by_name("range_rate_interval");
    assert_eq!(f[0].meta.as_ref().unwrap().executed_query_string.as_deref(), Some("Expr: rate(fleetscope_probe_counter_total[1m0s])\nStep: 15s"));

    let f = by_name("range_empty");
    assert_eq!(f.len(), 1);
    assert!(f[0].fields.is_empty());
    assert_eq!(f[0].meta.as_ref().unwrap().frame_type.as_deref(), Some("timeseries-multi"), "typed, for alerting's no-data");

    let f = by_name("instant_scalar_inf");
    assert_eq!(display(&f[0]).as_deref(), Some("1 / 0"));
    assert_eq!(f[0].meta.as_ref().unwrap().custom.as_ref().unwrap()["resultType"], "scalar");
    let f = by_name("instant_string");
    assert_eq!(f[0].fields[1].values, fleetscope::frames::FieldValues::Str(vec!["fleetscope".into()]));

    let f = by_name("both_range_and_instant");
    let types: Vec<Option<&str>> = f.iter().map(|f| f.meta.as_ref().unwrap().frame_type.as_deref()).collect();
    assert_eq!(types, [Some("numeric-multi"), Some("timeseries-multi")], "instant first, then range, as Grafana");
    assert!(f.iter().all(|f| f.ref_id == "A"));

    let f = by_name("notices_on_every_frame");
    assert!(f.len() >= 2);
    for frame in &f {
        let notices = &frame.meta.as_ref().unwrap().notices;
        assert!(notices.iter().any(|n| n.text.contains("prod-dead")), "{notices:?}");
    }

    let f = by_name("native_histogram_range");
    assert_eq!(f[0].meta.as_ref().unwrap().frame_type.as_deref(), Some("heatmap-cells"));
    assert_eq!(f[0].fields[1].name, "yMin");
    assert_eq!(f[0].fields[1].labels["cluster"], "prod-east");
    assert!(f[0].fields[0].values.len() >= 8, "several samples × 4 buckets");

    let f = by_name("exemplars");
    let ex = f.iter().find(|f| f.name == "exemplar").expect("an exemplar frame");
    let trace = ex.fields.iter().find(|f| f.name == "trace_id").expect("a trace_id field");
    let link = &trace.config.as_ref().unwrap().links[0];
    let internal = link.internal.as_ref().unwrap();
    assert_eq!(internal.datasource_uid, "fleetscope");
    assert_eq!(internal.query["queryType"], "traces");
    assert!(ex.fields.iter().any(|f| f.name == "cluster"), "exemplars are labelled with their cluster");
}

#[test]
fn every_case_has_a_recording_and_a_golden() {
    ensure_recorded();
    for c in CASES {
        assert!(recorded_path(c.name).exists(), "{}: no recording", c.name);
        assert!(Path::new(&root().join("tests/golden/prometheus").join(format!("{}.frame.json", c.name))).exists(), "{}: no golden", c.name);
    }
}
