use super::*;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/tempo/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn v1_and_v2_trace_bodies_decode_to_the_same_spans() {
    let v1 = parse_trace(&fixture("trace_by_id_v1_oom_error.json")).unwrap();
    let v2 = parse_trace(&fixture("trace_by_id_v2_oom_error.json")).unwrap();
    assert_eq!(v1.len(), 10);
    assert_eq!(v1, v2);
    let root = v1.iter().find(|s| s.parent_span_id.is_empty()).unwrap();
    assert_eq!(root.trace_id, "6c48c5c2029f7c3ddb565ad52f1ac6bd");
    assert_eq!(root.span_id, "2fd52cd3f76a7619");
    assert_eq!(root.name, "POST /v1/chat/completions");
    assert_eq!(root.kind, "server");
    assert_eq!(root.status_code, 2);
    assert_eq!(root.resource.service_name, "llm-gateway");
    assert!(!root.resource.tags.iter().any(|(k, _)| k == "service.name"));
    assert_eq!(root.scope_name, "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp");
    assert_eq!(root.events.len(), 2);
    assert_eq!(root.events[1].attributes[1], ("http.response.status_code".to_owned(), serde_json::json!(503)));
    let decode = v1.iter().find(|s| s.name == "decode").unwrap();
    assert_eq!(decode.parent_span_id, "d86f65742197c787");
    assert_eq!(decode.links.len(), 1);
    assert_eq!(decode.links[0].span_id.len(), 16);
    assert_eq!(decode.status_message, "torch.OutOfMemoryError: CUDA out of memory");
    assert_eq!(decode.duration_ns(), 1_405_543_098);
}

#[test]
fn not_found_bodies_give_no_spans() {
    assert!(parse_trace(b"").unwrap().is_empty());
    assert!(parse_trace(br#"{"trace":{}}"#).unwrap().is_empty());
    assert!(parse_trace(br#"{"trace":{},"metrics":{}}"#).unwrap().is_empty());
    assert!(parse_trace(b"{not json").is_err());
    assert!(parse_trace(br#"{"batches":[{"scopeSpans":[{"spans":[{"traceId":"!!","spanId":"AAAAAAAAAAE=","startTimeUnixNano":"1"}]}]}]}"#).is_err());
}

#[test]
fn docs_and_testdata_traces_decode() {
    let s = parse_trace(&fixture("trace_by_id_v2_single_span.tempo-docs.json")).unwrap();
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].trace_id, "5b8efff798038103d269b633813fc700");
    assert_eq!(s[0].span_id, "eee19b7ec3c1b100");
    let s = parse_trace(&fixture("trace_by_id_otlp_3_resources.tempo-servicegraphs-testdata.json")).unwrap();
    let mut services: Vec<&str> = s.iter().map(|s| s.resource.service_name.as_str()).collect();
    services.dedup();
    assert!(services.len() >= 3, "{services:?}");
}

#[test]
fn ids_hex_or_base64() {
    assert_eq!(id_to_hex("bEjFwgKffD3bVlrVLxrGvQ==", 16).unwrap(), "6c48c5c2029f7c3ddb565ad52f1ac6bd");
    assert_eq!(id_to_hex("6C48C5C2029F7C3DDB565AD52F1AC6BD", 16).unwrap(), "6c48c5c2029f7c3ddb565ad52f1ac6bd");
    assert_eq!(id_to_hex("L9Us0/dqdhk=", 8).unwrap(), "2fd52cd3f76a7619");
    assert_eq!(id_to_hex("", 8).unwrap(), "");
    assert!(id_to_hex("not base64!", 8).is_none());
}

#[test]
fn search_restores_leading_zeros_and_counts() {
    let hits = parse_search(&fixture("search_traceql_status_error.json")).unwrap();
    assert_eq!(hits.len(), 11);
    assert!(hits.iter().all(|h| h.trace_id.as_str().len() == 32));
    assert!(hits.iter().any(|h| h.trace_id == "0c7ac8a1dd730a6026f94ea7c36ceea7"));
    let h = &hits[0];
    assert_eq!(h.trace_id, "86b631dc3ead38ffd4e249c3a7e2ac17");
    assert_eq!(h.start_ns, 1_795_260_507_916_214_110);
    assert_eq!(h.duration_ms, 471.0);
    assert_eq!(h.span_count, Some(10));
    assert_eq!(h.error_count, Some(6));
    assert_eq!(h.matched, 6);
    for f in [
        "search_recent_no_query.json",
        "search_legacy_tags_min_duration.json",
        "search_traceql_select_decode_tokens.json",
        "search_traceql_structural_gateway_to_model_error.json",
        "search_traceql_gateway_duration_gt_2s.json",
        "search_traceql_spanset_and_spansets.tempo-docs.json",
    ] {
        assert!(!parse_search(&fixture(f)).unwrap().is_empty(), "{f}");
    }
    assert!(parse_search(b"[]").is_err());
}

#[test]
fn merge_search_dedupes_sorts_and_limits() {
    let hit = |id: &str, start: i64, dur: f64, root: &str| SearchHit {
        trace_id: crate::model::trace_id::TraceId::parse(id).unwrap(),
        root_service: root.into(),
        root_name: "r".into(),
        start_ns: start,
        duration_ms: dur,
        span_count: Some(2),
        error_count: None,
        service_count: Some(1),
        matched: 1,
        span_sets: 1,
        clusters: vec![],
        cluster_ids: vec![],
    };
    let merged = merge_search(
        vec![
            ("e".into(), "east".into(), vec![hit("a", 1_000_000_000, 100.0, "gw"), hit("b", 3_000_000_000, 5.0, "gw")]),
            ("w".into(), "west".into(), vec![hit("a", 1_050_000_000, 200.0, "<root span not yet received>"), hit("c", 2_000_000_000, 1.0, "x")]),
        ],
        2,
    );
    assert_eq!(merged.iter().map(|h| h.trace_id.as_str().trim_start_matches('0')).collect::<Vec<_>>(), vec!["b", "c"]);
    let all = merge_search(
        vec![
            ("e".into(), "east".into(), vec![hit("a", 1_000_000_000, 100.0, "gw")]),
            ("w".into(), "west".into(), vec![hit("a", 1_050_000_000, 200.0, "<root span not yet received>")]),
        ],
        10,
    );
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].clusters, vec!["east", "west"]);
    assert_eq!(all[0].cluster_ids, vec!["e", "w"]);
    assert_eq!(all[0].root_service, "gw");
    assert_eq!(all[0].duration_ms, 250.0);
    assert_eq!(all[0].span_count, Some(4));
    assert_eq!(all[0].matched, 2);
}
