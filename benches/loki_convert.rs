//! Loki `query_range` streams body → merged log-lines frame → Arrow IPC: the
//! hot path of every logs query. Bodies are generated in Loki's exact format
//! (nanosecond string timestamps, 150-byte JSON log lines, 3 clusters' worth
//! of streams), so throughput is reported per input byte (MB/s).

use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use fleetscope::federation::logs::merge;
use fleetscope::frames::{FrameMeta, arrow, loki};
use fleetscope::query::logs::Direction;
use fleetscope::registry::Registry;

fn streams_body(streams: usize, lines: usize) -> Vec<u8> {
    let mut s = String::from(r#"{"status":"success","data":{"resultType":"streams","result":["#);
    for i in 0..streams {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&format!(
            r#"{{"stream":{{"app":"llm-gateway","namespace":"inference","pod":"gateway-{i}","level":"{}","service_name":"llm-gateway"}},"values":["#,
            ["info", "warn", "error"][i % 3]
        ));
        for l in 0..lines {
            if l > 0 {
                s.push(',');
            }
            let ts = 1_795_261_890_000_000_000_i64 - ((l * streams + i) as i64) * 1_000_000;
            s.push_str(&format!(
                r#"["{ts}","{{\"ts\":\"2026-11-21T12:00:00Z\",\"route\":\"/v1/chat/completions\",\"status\":200,\"model\":\"llama-3.1-70b\",\"trace_id\":\"{:032x}\",\"latency_ms\":{}}}"]"#,
                (i * 7919 + l) as u128 * 0x9e37_79b9,
                (l * 13) % 2000
            ));
        }
        s.push_str("]}");
    }
    s.push_str(r#"]},"stats":{"summary":{"bytesProcessedPerSecond":1000,"totalBytesProcessed":2000}}}"#);
    s.into_bytes()
}

fn bench(c: &mut Criterion) {
    let reg = Registry::from_grafana(
        br#"{"clusters":[{"id":"east","loki":{"url":"http://e"}},{"id":"west","loki":{"url":"http://w"}},{"id":"edge","loki":{"url":"http://x"}}]}"#,
        &Default::default(),
    )
    .unwrap();
    let clusters: Vec<_> = reg.clusters().to_vec();
    let mut group = c.benchmark_group("loki_streams");
    for (streams, lines) in [(30, 100), (60, 1000)] {
        let body = streams_body(streams, lines);
        group.throughput(Throughput::Bytes(3 * body.len() as u64));
        let id = format!("3x{streams}x{lines}");
        group.bench_with_input(BenchmarkId::new("parse", &id), &body, |b, body| {
            b.iter(|| (0..3).map(|_| loki::parse_query_response(body).unwrap().entries()).sum::<usize>())
        });
        group.bench_with_input(BenchmarkId::new("parse+merge+frame+arrow", &id), &body, |b, body| {
            b.iter(|| {
                let per_cluster: Vec<(Arc<_>, loki::LokiResponse)> =
                    clusters.iter().map(|c| (c.clone(), loki::parse_query_response(body).unwrap())).collect();
                let cols = merge(&per_cluster, Direction::Backward, 5000);
                let frame = loki::log_frame(cols, "A", &[], FrameMeta::default());
                arrow::encode(&frame).unwrap().len()
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(std::time::Duration::from_secs(4));
    targets = bench
}
criterion_main!(benches);
