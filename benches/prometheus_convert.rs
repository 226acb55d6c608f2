//! Prometheus `query_range` body → Grafana frames → Arrow IPC, the hot path of
//! every metrics query. Bodies are generated in the exact upstream format
//! (1k series × 720 points, 5 % NaN), so throughput is reported per input byte.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use fleetscope::frames::prometheus;

#[path = "common/convert.rs"]
mod common;

fn matrix_body(series: usize, points: usize) -> Vec<u8> {
    let mut s = String::from(r#"{"status":"success","data":{"resultType":"matrix","result":["#);
    for i in 0..series {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&format!(
            r#"{{"metric":{{"__name__":"DCGM_FI_DEV_GPU_UTIL","gpu":"{}","Hostname":"gpu-node-{}","modelName":"NVIDIA H100 80GB HBM3","job":"dcgm"}},"values":["#,
            i % 8,
            i / 8
        ));
        for p in 0..points {
            if p > 0 {
                s.push(',');
            }
            let v = if (i + p) % 20 == 0 { "NaN".to_string() } else { format!("{}", ((i * 31 + p * 7) % 1000) as f64 / 10.0) };
            s.push_str(&format!(r#"[{}.{:03},"{}"]"#, 1_700_000_000 + p * 15, p % 1000, v));
        }
        s.push_str("]}");
    }
    s.push_str("]}}");
    s.into_bytes()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("prometheus_matrix");
    for (series, points) in [(10, 720), (1000, 720)] {
        let body = matrix_body(series, points);
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_with_input(BenchmarkId::new("parse", format!("{series}x{points}")), &body, |b, body| {
            b.iter(|| prometheus::parse_query_response(body).unwrap())
        });
        group.bench_with_input(BenchmarkId::new("parse+frames+arrow", format!("{series}x{points}")), &body, |b, body| {
            b.iter(|| common::to_arrow(body).iter().map(Vec::len).sum::<usize>())
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
