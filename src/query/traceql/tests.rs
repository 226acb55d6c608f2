use std::collections::BTreeMap;

use super::*;

fn ok(q: &str) -> TraceqlInfo {
    validate(q).unwrap_or_else(|e| panic!("{q:?} should be valid: {e}"))
}

fn bad(q: &str) -> TraceqlError {
    match validate(q) {
        Ok(_) => panic!("{q:?} should be rejected"),
        Err(e) => e,
    }
}

#[test]
fn accepts_the_recorded_queries() {
    // Every query in tempo-real/*.request.txt that Tempo answered 200.
    ok(r#"{ resource.service.name = "llm-gateway" && kind = server && duration > 2s }"#);
    ok(r#"{ status = error }"#);
    ok(
        r#"{ resource.service.name = "model-server" && name = "decode" } | select(span.gen_ai.usage.output_tokens, span.vllm.decode.tokens_per_second, resource.k8s.pod.name)"#,
    );
    ok(r#"{ resource.service.name = "llm-gateway" } >> { resource.service.name = "model-server" && status = error }"#);
    assert!(ok(r#"{ status = error } | count_over_time() by (resource.service.name)"#).metrics);
    assert!(ok(r#"{ name = "decode" } | histogram_over_time(duration)"#).metrics);
    assert!(ok(r#"{ resource.service.name = "model-server" && kind = server } | quantile_over_time(duration, .5, .9, .99)"#).metrics);
    assert!(ok(r#"{ } | rate() by (resource.service.name)"#).metrics);
}

#[test]
fn accepts_the_grammar() {
    for q in [
        "{}",
        "{ .http.status_code >= 500 }",
        r#"{ .foo = "bar" || span.x != 3 } && { resource.k8s.pod.name =~ "vllm-.*" }"#,
        "{ duration > 1.5s && duration < 1h30m } > { kind = client }",
        "{ span:duration > 100ms && trace:rootService = \"x\" && span:status = error }",
        "{ .a } ~ { .b } !>> { .c } &>> { .d } << { .e } !~ { .f }",
        "({ .a = 1 } | count() > 2) && { .b = true }",
        "{ .a = 1 } | avg(duration) > 20ms | by(resource.service.name) | coalesce()",
        "{ .n * 2 + 1 > -3 && !(.flag = false) }",
        "{ span.\"attr with space\" = `raw \\ string` }",
        "{ parent.resource.service.name = \"x\" && event.exception.type = \"E\" && link.kind = \"b\" }",
        "{ instrumentation:name = \"otel\" && event:name = \"exception\" && nestedSetParent = -1 }",
        "{ .x = nil } | { .y != nil }",
        "{ statusMessage =~ \"(?i)cuda\" }",
        "{ .ratio > 1.5e3 }",
    ] {
        ok(q);
    }
}

#[test]
fn rejects_garbage_naming_the_position() {
    // Same column as the real Tempo error in error_traceql_parse_400.txt.
    let e = bad(r#"{ resource.service.name = "llm-gateway" && status = }"#);
    assert_eq!((e.line, e.col), (1, 53), "{e}");
    assert!(e.message.contains("unexpected `}`"), "{e}");
    for (q, line, col, needle) in [
        ("{ .a = 1 ", 1, 10, "end of query"),
        ("{ .a = \"x }", 1, 8, "unterminated string"),
        ("{ .a = 5xs }", 1, 8, "duration unit"),
        ("{ foo = 1 }", 1, 3, "unknown identifier `foo`"),
        ("{ .a = 1 } | count()", 1, 21, "comparison"),
        ("{ .a = 1 } | bogus()", 1, 14, "unknown pipeline stage"),
        ("{ .a =~ \"(\" }", 1, 9, "regular expression"),
        ("{ \"x\" }", 1, 3, "condition"),
        (".a = 1", 1, 1, "`{`"),
        ("{ .a = 1 } {", 1, 12, "spanset operator"),
        ("{ .a = 1 }\n  && { span:bogus = 1 }", 2, 8, "unknown intrinsic"),
        ("{ . = 1 }", 1, 3, "attribute name"),
        ("{ .a & .b }", 1, 6, "`&&`"),
        ("{ .a = 1 } | rate() | count() > 1", 1, 21, "after a metrics function"),
        ("   ", 1, 1, "empty"),
    ] {
        let e = bad(q);
        assert_eq!((e.line, e.col), (line, col), "{q:?}: {e}");
        assert!(e.to_string().contains(needle), "{q:?}: {e}");
    }
}

#[test]
fn deep_nesting_is_rejected_not_overflowing() {
    let q = format!("{}{{ status = error }}{}", "(".repeat(30_000), ")".repeat(30_000));
    assert!(bad(&q).message.contains("nesting deeper than"));
    let q = format!("{{ {}.a }}", "!".repeat(30_000));
    assert!(bad(&q).message.contains("nesting deeper than"));
    let q = format!("{}{{ status = error }}{}", "(".repeat(100), ")".repeat(100));
    ok(&q);
    // Through the query model too, as a Grafana query would arrive.
    let json =
        serde_json::json!({"queryType": "traces", "query": format!("{}{{ status = error }}{}", "(".repeat(30_000), ")".repeat(30_000))}).to_string();
    let env = crate::query::QueryEnvelope {
        ref_id: "A".into(),
        time_range: crate::query::TimeRange::new(0, 1).unwrap(),
        interval_ms: 0,
        max_data_points: 0,
    };
    let e = crate::query::parse("", json.as_bytes(), env).unwrap_err();
    assert_eq!(crate::error::FleetError::from(e).code, crate::error::ErrorCode::InvalidTraceql);
}

#[test]
fn criteria_compile_to_valid_traceql() {
    let mut c = Criteria {
        service: Some("order-\"service\"".into()),
        operation: Some("POST /orders".into()),
        min_duration_ms: Some(1000.0),
        max_duration_ms: Some(2.5),
        tags: BTreeMap::new(),
    };
    c.tags.insert("http.status_code".into(), "500".into());
    c.tags.insert("resource.k8s.pod.name".into(), "p-1".into());
    c.tags.insert("weird key".into(), "true".into());
    let q = compile(&c);
    assert_eq!(
        q,
        r#"{ resource.service.name = "order-\"service\"" && name = "POST /orders" && duration >= 1000ms && duration <= 2500us && .http.status_code = 500 && resource.k8s.pod.name = "p-1" && ."weird key" = true }"#
    );
    ok(&q);
    assert_eq!(compile(&Criteria::default()), "{}");
}
