//! Bytes → frames for the same series from both metrics sources: a Prometheus
//! `query_range` JSON body (the PromQL path) and ClickHouse's `ArrowStream`
//! answer to the store's statement (one row per series, points as arrays;
//! `clickhouse::sql`). Same 1000 series × 720 points (5 % NaN), same frames out,
//! so the per-query cost and the bytes on the wire compare directly.

use std::sync::Arc;

use arrow_array::builder::{Float64Builder, Int64Builder, ListBuilder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_ipc::writer::StreamWriter;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use fleetscope::clickhouse::decode;
use fleetscope::frames::prometheus;

#[path = "common/convert.rs"]
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
    if (i + p) % 20 == 0 { f64::NAN } else { ((i * 31 + p * 7) % 1000) as f64 / 10.0 }
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

fn clickhouse_frames(body: &[u8]) -> usize {
    let mut by = decode::series(body).expect("decode");
    let series = by.remove("east").unwrap_or_default();
    prometheus::series_frames(series, &common::frame_options()).len()
}

fn prometheus_frames(body: &[u8]) -> usize {
    let resp = prometheus::parse_query_response_with_points(body, common::POINTS_PER_SERIES).expect("parse");
    let prometheus::PromData::Series { series, .. } = resp.data else { panic!("not a matrix") };
    prometheus::series_frames(series, &common::frame_options()).len()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("metrics_bytes_to_frames");
    for (series, points) in [(10, 720), (1000, 720)] {
        let prom = prometheus_body(series, points);
        let arrow = arrow_body(series, points);
        assert_eq!(prometheus_frames(&prom), clickhouse_frames(&arrow));
        eprintln!("{series}x{points}: Prometheus JSON {} bytes, ClickHouse ArrowStream {} bytes", prom.len(), arrow.len());
        group.throughput(Throughput::Elements((series * points) as u64));
        group
            .bench_with_input(BenchmarkId::new("prometheus_json", format!("{series}x{points}")), &prom, |b, body| b.iter(|| prometheus_frames(body)));
        group.bench_with_input(BenchmarkId::new("clickhouse_arrow", format!("{series}x{points}")), &arrow, |b, body| {
            b.iter(|| clickhouse_frames(body))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
