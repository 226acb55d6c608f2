//! Tempo trace by ID (OTLP JSON, v2 shape with base64 IDs and enum names, as
//! Tempo writes it) → spans → Grafana trace-view frame → Arrow IPC: the hot
//! path of opening a trace. Bodies are generated in the recorded format
//! (tests/fixtures/tempo/trace_by_id_v2_oom_error.json): 10 services, spans
//! with 6 attributes, every 10th span with an event; throughput per input byte.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use fleetscope::frames::{arrow, tempo};

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn b64(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            out.push(if i <= chunk.len() { B64[((n >> (18 - 6 * i)) & 63) as usize] as char } else { '=' });
        }
    }
    out
}

fn span_id(i: usize) -> String {
    b64(&(i as u64 + 1).to_be_bytes())
}

fn trace_body(spans: usize) -> Vec<u8> {
    let trace_id = b64(&0x6c48c5c2029f7c3ddb565ad52f1ac6bdu128.to_be_bytes());
    let services = 10;
    let mut s = String::from(r#"{"trace":{"resourceSpans":["#);
    for svc in 0..services {
        if svc > 0 {
            s.push(',');
        }
        s.push_str(&format!(
            r#"{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"service-{svc}"}}}},{{"key":"k8s.pod.name","value":{{"stringValue":"pod-{svc}-7d9f"}}}},{{"key":"k8s.namespace.name","value":{{"stringValue":"inference"}}}},{{"key":"gpu.count","value":{{"intValue":"8"}}}}]}},"scopeSpans":[{{"scope":{{"name":"vllm.tracing","version":"0.11.0"}},"spans":["#
        ));
        let mut first = true;
        for i in (svc..spans).step_by(services) {
            if !first {
                s.push(',');
            }
            first = false;
            let parent = if i == 0 { String::new() } else { format!(r#","parentSpanId":"{}""#, span_id((i - 1) / 2)) };
            let start = 1_795_259_921_296_876_795u64 + i as u64 * 1_000_000;
            let event = if i % 10 == 0 {
                format!(
                    r#","events":[{{"timeUnixNano":"{}","name":"first_token","attributes":[{{"key":"gen_ai.server.time_to_first_token_ms","value":{{"doubleValue":122.9}}}}]}}]"#,
                    start + 500
                )
            } else {
                String::new()
            };
            s.push_str(&format!(
                r#"{{"traceId":"{trace_id}","spanId":"{}"{parent},"name":"decode-{i}","kind":"SPAN_KIND_INTERNAL","startTimeUnixNano":"{start}","endTimeUnixNano":"{}","attributes":[{{"key":"gen_ai.request.model","value":{{"stringValue":"llama-3.1-70b-instruct"}}}},{{"key":"gen_ai.usage.output_tokens","value":{{"intValue":"{}"}}}},{{"key":"vllm.decode.tokens_per_second","value":{{"doubleValue":86.2}}}},{{"key":"http.response.status_code","value":{{"intValue":"200"}}}},{{"key":"stream","value":{{"boolValue":true}}}},{{"key":"gen_ai.response.finish_reasons","value":{{"arrayValue":{{"values":[{{"stringValue":"stop"}}]}}}}}}]{event},"status":{{"code":"STATUS_CODE_OK"}}}}"#,
                span_id(i),
                start + 900_000,
                i * 7
            ));
        }
        s.push_str("]}]}");
    }
    s.push_str(r#"]},"metrics":{"inspectedBytes":"153413"}}"#);
    s.into_bytes()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("tempo_trace");
    for spans in [100, 5_000] {
        let body = trace_body(spans);
        assert_eq!(tempo::parse_trace(&body).unwrap().len(), spans);
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_with_input(BenchmarkId::new("parse", spans), &body, |b, body| b.iter(|| tempo::parse_trace(body).unwrap()));
        group.bench_with_input(BenchmarkId::new("parse+merge+frame+arrow", spans), &body, |b, body| {
            b.iter(|| {
                let spans = tempo::merge_spans(vec![("east".into(), "prod-east-1".into(), tempo::parse_trace(body).unwrap())]);
                let frame = tempo::trace_frame(&spans, "A", Vec::new(), tempo::trace_meta());
                arrow::encode(&frame).unwrap().len()
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
