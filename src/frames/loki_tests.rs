use super::*;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/loki/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn streams(r: &LokiResponse) -> &[LokiStream] {
    match &r.data {
        LokiData::Streams(s) => s,
        other => panic!("not streams: {other:?}"),
    }
}

#[test]
fn real_backward_streams_with_merged_metadata_and_stats() {
    let r = parse_query_response(&fixture("query_range_streams_backward_limit.json")).unwrap();
    let s = streams(&r);
    assert_eq!(s.len(), 10, "trace_id/span_id split one source stream into ten");
    assert_eq!(r.entries(), 10);
    assert_eq!(s[0].labels["trace_id"], "db081f268d081f42afc5c107154187cc");
    assert_eq!(s[0].labels["detected_level"], "info");
    assert_eq!(s[0].times_ns, vec![1_795_259_594_746_945_352]);
    assert!(s[0].lines[0].starts_with(r#"{"ts":"2026-11-21T11:13:14.746Z","level":"info""#));
    assert!(s.iter().all(|s| s.metadata.is_empty()));
    let stat = |k: &str| r.stats.iter().find(|(n, _)| n == k).map(|(_, v)| *v);
    assert_eq!(stat("summary.totalEntriesReturned"), Some(10.0));
    assert_eq!(stat("summary.totalBytesProcessed"), Some(24547.0));
    assert_eq!(stat("ingester.totalReached"), Some(1.0));
    assert_eq!(stat("querier.store.queryReferencedStructuredMetadata"), None, "booleans are not stats");
}

#[test]
fn categorize_labels_three_element_entries() {
    let r = parse_query_response(&fixture("query_range_streams_categorize_labels_structured_metadata.grafana-tsdb-loki.json")).unwrap();
    let s = streams(&r);
    assert_eq!(s[0].labels["code"], "one\",");
    assert_eq!(s[0].labels["location"], "moon🌙");
    assert_eq!(s[1].lines.len(), 5);
    assert_eq!(s[1].lines[1], s[1].lines[2], "duplicates are kept");
    assert_eq!(s[1].metadata.len(), 5);
    assert!(s[1].metadata.iter().all(Labels::is_empty));
}

#[test]
fn metadata_categories_and_plain_values_flatten() {
    let body = br#"{"status":"success","data":{"encodingFlags":["categorize-labels"],"resultType":"streams","result":[
        {"stream":{"app":"a"},"values":[["1","x",{"structuredMetadata":{"trace_id":"abc"},"parsed":{"level":"error"}}],["2","y",{"k":"v"}],["3","z"]]}]}}"#;
    let r = parse_query_response(body).unwrap();
    let s = &streams(&r)[0];
    assert_eq!(s.metadata[0]["trace_id"], "abc");
    assert_eq!(s.metadata[0]["level"], "error");
    assert_eq!(s.metadata[1]["k"], "v");
    assert!(s.metadata[2].is_empty());
}

#[test]
fn real_matrix_vector_and_nan() {
    let r = parse_query_response(&fixture("query_range_matrix_rate_sum_by_app.json")).unwrap();
    let LokiData::Series { result_type, series } = &r.data else { panic!() };
    assert_eq!(*result_type, ResultType::Matrix);
    assert_eq!(series.len(), 3);
    assert_eq!(series[0].labels["app"], "gpu-node-agent");
    assert_eq!(series[0].times_ms[0], 1_795_255_980_000);
    assert!((series[0].values[0] - 0.006666666666666667).abs() < 1e-15);
    assert!(series.iter().all(|s| s.times_ms.len() == s.values.len() && s.values.len() == 62));

    let r = parse_query_response(&fixture("query_instant_vector_count_by_app.json")).unwrap();
    let LokiData::Series { result_type, series } = &r.data else { panic!() };
    assert_eq!(*result_type, ResultType::Vector);
    assert!(series.iter().all(|s| s.values.len() == 1));

    let r = parse_query_response(&fixture("query_range_matrix_nan.grafana-tsdb-loki.json")).unwrap();
    let LokiData::Series { series, .. } = &r.data else { panic!() };
    assert!(series[0].values.iter().any(|v| v.is_nan()));
}

#[test]
fn empty_tenant_and_garbage() {
    let r = parse_query_response(&fixture("query_range_empty_tenant_no_data.json")).unwrap();
    assert!(streams(&r).is_empty());
    for bad in [
        &b"not json"[..],
        br#"{"status":"success","data":{"resultType":"streams","result":[{"stream":{"a":"b"},"values":[["x","line"]]}]}}"#,
        br#"{"status":"success","data":{"resultType":"streams","result":[{"stream":{"a":"b"},"values":[["1","l",{},4]]}]}}"#,
        br#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"abc"]]}]}}"#,
        br#"{"status":"success","data":{"resultType":"streams","result":[{"stream":{"a":"b"},"values":[["1","l"]]}"#,
        br#"{"status":"success","data":{"resultType":"histogram","result":[]}}"#,
        &fixture("error_logql_parse_400.txt")[..],
    ] {
        assert!(parse_query_response(bad).is_err(), "{}", String::from_utf8_lossy(bad));
    }
}

#[test]
fn stats_names_units_and_federation() {
    let a = vec![("summary.totalBytesProcessed".to_owned(), 10.0), ("summary.execTime".to_owned(), 0.5)];
    let b = vec![("summary.totalBytesProcessed".to_owned(), 5.0), ("summary.execTime".to_owned(), 0.25)];
    let s = federated_stats([a.as_slice(), b.as_slice()]);
    assert_eq!(s[0].display_name, "Summary: total bytes processed");
    assert_eq!((s[0].value, s[0].unit.as_deref()), (15.0, Some("decbytes")));
    assert_eq!(s[1].display_name, "Summary: exec time");
    assert_eq!(s[1].value, 0.5, "slowest cluster");
    assert_eq!(stat_name("querier.store.totalChunksRef"), "Querier store: total chunks ref");
}

#[test]
fn ids_are_stable_and_severity_prefers_level() {
    let l: Labels = [("app".to_owned(), "a".to_owned()), ("detected_level".to_owned(), "warn".to_owned())].into();
    assert_eq!(labels_hash(&l), labels_hash(&l.clone()));
    assert_ne!(labels_hash(&l), labels_hash(&Labels::new()));
    assert_eq!(severity(&l).as_deref(), Some("warn"));
    let mut l2 = l.clone();
    l2.insert("level".into(), "error".into());
    assert_eq!(severity(&l2).as_deref(), Some("error"));
}

#[test]
fn log_frame_is_dataplane_log_lines_with_derived_field() {
    let cols = LogColumns {
        times_ns: vec![2, 1],
        bodies: vec!["msg trace_id=abc123".into(), "no trace".into()],
        severities: vec![Some("info".into()), None],
        ids: vec!["c_1_2_0".into(), "c_1_1_0".into()],
        labels: vec![serde_json::json!({"cluster":"c"}), serde_json::json!({"cluster":"c"})],
    };
    let link = DataLink { title: "traceID".into(), url: String::new(), internal: None };
    let derived = [DerivedField { name: "traceID".into(), regex: regex::Regex::new("trace_id=(\\w+)").unwrap(), link: Some(link) }];
    let f = log_frame(cols, "A", &derived, FrameMeta::default());
    let meta = f.meta.as_ref().unwrap();
    assert_eq!(meta.frame_type.as_deref(), Some("log-lines"));
    assert_eq!(meta.type_version, Some([0, 1]));
    assert_eq!(meta.preferred_visualisation_type.as_deref(), Some("logs"));
    let names: Vec<&str> = f.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["timestamp", "body", "severity", "id", "labels", "traceID"]);
    assert_eq!(f.fields[5].values, FieldValues::NullableStr(vec![Some("abc123".into()), None]));
    assert_eq!(f.fields[5].config.as_ref().unwrap().links.len(), 1);
    crate::frames::arrow::encode(&f).expect("encodes as Arrow");
}

#[test]
fn tail_messages_real_session_and_dropped_entries() {
    let session = fixture("tail_session_model_server.jsonl");
    let msgs: Vec<TailMessage> = session.split(|b| *b == b'\n').filter(|l| !l.is_empty()).map(|l| parse_tail_message(l).unwrap()).collect();
    assert_eq!(msgs.len(), 3);
    assert_eq!(msgs[0].streams.len(), 2);
    assert_eq!(msgs[0].streams[0].labels["pod"], "vllm-llama70b-0");
    assert_eq!(msgs[0].newest_ns(), Some(1_795_259_659_033_618_473));
    assert!(msgs[2].streams[0].lines[0].ends_with("trace_id=c25d762810e99b71c6308e365d1d9851"));
    assert!(msgs.iter().all(|m| m.dropped.is_empty()));

    let m = parse_tail_message(&fixture("tail_message_dropped_entries.loki-marshal-test.json")).unwrap();
    assert_eq!((m.streams[0].times_ns.as_slice(), m.streams[0].lines.as_slice()), (&[1][..], &["foobar".to_owned()][..]));
    assert_eq!(m.dropped, vec![DroppedEntry { timestamp_ns: 2, labels: r#"{app="dropped"}"#.into() }]);

    let old = parse_tail_message(br#"{"streams":[],"dropped_entries":[{"timestamp":"5","labels":"{job=\"x\"}"}]}"#).unwrap();
    assert_eq!(old.dropped[0].labels, r#"{job="x"}"#);
    for bad in
        [&br#"{"streams":[{"stream":{}"#[..], br#"{"dropped_entries":[{"timestamp":"soon"}]}"#, br#"{"streams":[{"metric":{},"values":[[1,"2"]]}]}"#]
    {
        assert!(parse_tail_message(bad).is_err(), "{}", String::from_utf8_lossy(bad));
    }
}
