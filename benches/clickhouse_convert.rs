//! Bytes → frames for the same series from both metrics sources: a Prometheus
//! `query_range` JSON body (the PromQL path) and ClickHouse's `ArrowStream`
//! answer to the store's statement (one row per series, points as arrays;
//! `clickhouse::sql`). Same series × 720 points (5 % NaN), the same frames out
//! (`federation::clickhouse::frames` is the Prometheus path's dataplane
//! framing), so the per-query cost and the bytes on the wire compare directly.
//! Throughput is each path's own body bytes; points/s follow from the element
//! counts printed.
//!
//! `cargo bench --target x86_64-unknown-linux-musl --bench clickhouse_convert`
//! (docs/performance.md has the figures).

use std::sync::Arc;

use arrow_array::builder::{Float64Builder, Int64Builder, ListBuilder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_ipc::writer::StreamWriter;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use fleetscope::clickhouse::decode;
use fleetscope::frames::prometheus;
use fleetscope::query::clickhouse::ChQuery;
use fleetscope::query::{QueryEnvelope, TimeRange};

#[path = "common/convert.rs"]
#[allow(dead_code, reason = "shared with prometheus_convert, which uses all of it")]
mod common;

fn labels(i: usize) -> Vec<(&'static str, String)> {
    vec![
        ("Hostname", format!("gpu-node-{}", i / 8)),
        ("gpu", (i % 8).to_string()),
        ("job", "dcgm".into()),
        ("modelName", "NVIDIA H100 80GB HBM3".into()),
    ]
}

fn value(i: usize, p: usize) -> f64 {
    if (i + p).is_multiple_of(20) { f64::NAN } else { ((i * 31 + p * 7) % 1000) as f64 / 10.0 }
}

fn prometheus_body(series: usize, points: usize) -> Vec<u8> {
    let mut s = String::from(r#"{"status":"success","data":{"resultType":"matrix","result":["#);
    for i in 0..series {
        if i > 0 {
            s.push(',');
        }
        let l: Vec<String> = labels(i).into_iter().map(|(k, v)| format!("\"{k}\":\"{v}\"")).collect();
        s.push_str(&format!(r#"{{"metric":{{"__name__":"DCGM_FI_DEV_GPU_UTIL",{}}},"values":["#, l.join(",")));
        for p in 0..points {
            if p > 0 {
                s.push(',');
            }
            let v = value(i, p);
            let v = if v.is_nan() { "NaN".to_owned() } else { format!("{v}") };
            s.push_str(&format!(r#"[{},"{v}"]"#, 1_700_000_000 + p * 15));
        }
        s.push_str("]}");
    }
    s.push_str("]}}");
    s.into_bytes()
}

/// The layout ClickHouse writes for the store's statement (uncompressed Arrow
/// stream, strings as Utf8): cluster, label_keys, label_values, ts, vals.
fn arrow_body(series: usize, points: usize) -> Vec<u8> {
    let mut cluster = StringBuilder::new();
    let mut keys = ListBuilder::new(StringBuilder::new());
    let mut vals = ListBuilder::new(StringBuilder::new());
    let mut ts = ListBuilder::new(Int64Builder::new());
    let mut vs = ListBuilder::new(Float64Builder::new());
    for i in 0..series {
        cluster.append_value("east");
        for (k, v) in labels(i) {
            keys.values().append_value(k);
            vals.values().append_value(v);
        }
        keys.append(true);
        vals.append(true);
        for p in 0..points {
            ts.values().append_value((1_700_000_000 + p as i64 * 15) * 1000);
            vs.values().append_value(value(i, p));
        }
        ts.append(true);
        vs.append(true);
    }
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("cluster", Arc::new(cluster.finish())),
        ("label_keys", Arc::new(keys.finish())),
        ("label_values", Arc::new(vals.finish())),
        ("ts", Arc::new(ts.finish())),
        ("vals", Arc::new(vs.finish())),
    ];
    let batch = RecordBatch::try_from_iter(columns).expect("batch");
    let mut out = Vec::new();
    {
        let mut w = StreamWriter::try_new(&mut out, &batch.schema()).expect("writer");
        w.write(&batch).expect("write");
        w.finish().expect("finish");
    }
    out
}

/// The ClickHouse question the generated answer stands for: a raw selector
/// with the bodies' step (15 s).
fn clickhouse_query() -> ChQuery {
    let env = QueryEnvelope {
        ref_id: "A".into(),
        time_range: TimeRange::new(0, 3 * 3_600_000).expect("range"),
        interval_ms: 15_000,
        max_data_points: 1000,
    };
    ChQuery::parse(br#"{"metric": "DCGM_FI_DEV_GPU_UTIL", "step": "15s"}"#, &env).expect("query")
}

fn clickhouse_frames(body: &[u8], q: &ChQuery) -> Vec<fleetscope::frames::Frame> {
    let mut by = decode::series(body).expect("decode");
    let mut series = by.remove("east").unwrap_or_default();
    // What `federation::clickhouse::fetch` adds for a plain selector.
    for s in &mut series {
        s.labels.insert("__name__".into(), q.metric.clone());
    }
    fleetscope::federation::clickhouse::frames(series, "A", q)
}

fn prometheus_frames(body: &[u8]) -> Vec<fleetscope::frames::Frame> {
    let resp = prometheus::parse_query_response_with_points(body, common::POINTS_PER_SERIES).expect("parse");
    let prometheus::PromData::Series { series, result_type } = resp.data else { panic!("not a matrix") };
    prometheus::prometheus_frames(series, result_type, &common::frame_options())
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("metrics_bytes_to_frames");
    let q = clickhouse_query();
    for (series, points) in [(10, 720), (1000, 720)] {
        let prom = prometheus_body(series, points);
        let arrow = arrow_body(series, points);
        // The same frames out of both (values compared by bits: NaN included).
        let (p, a) = (prometheus_frames(&prom), clickhouse_frames(&arrow, &q));
        assert_eq!(p.len(), a.len());
        for (pf, af) in p.iter().zip(&a) {
            assert_eq!(pf.fields[1].labels, af.fields[1].labels, "labels");
            assert_eq!(pf.fields[1].name, af.fields[1].name, "value field name");
            assert_eq!(pf.fields[0].config, af.fields[0].config, "time field config (interval)");
            assert_eq!(format!("{:?}", pf.fields[1].values), format!("{:?}", af.fields[1].values), "values");
            assert_eq!(format!("{:?}", pf.fields[0].values), format!("{:?}", af.fields[0].values), "times");
        }
        eprintln!(
            "{series}x{points} ({} points): Prometheus JSON {} bytes, ClickHouse ArrowStream {} bytes",
            series * points,
            prom.len(),
            arrow.len()
        );
        let id = format!("{series}x{points}");
        group.throughput(Throughput::Bytes(prom.len() as u64));
        group.bench_with_input(BenchmarkId::new("prometheus_json", &id), &prom, |b, body| b.iter(|| prometheus_frames(body)));
        group.throughput(Throughput::Bytes(arrow.len() as u64));
        group.bench_with_input(BenchmarkId::new("clickhouse_arrow", &id), &arrow, |b, body| b.iter(|| clickhouse_frames(body, &q)));
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
