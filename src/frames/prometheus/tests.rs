use super::*;
use crate::frames::FieldValues;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/prometheus/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn series_of(r: &PromResponse) -> &Vec<Series> {
    match &r.data {
        PromData::Series { series, .. } => series,
        other => panic!("expected series, got {other:?}"),
    }
}

#[test]
fn matrix_with_fractional_timestamps_and_uneven_steps() {
    let r = parse_query_response(&fixture("query_range_matrix_two_series.grafana-tsdb-prometheus.json")).unwrap();
    let PromData::Series { result_type, series } = &r.data else { panic!() };
    assert_eq!(*result_type, ResultType::Matrix);
    assert_eq!(series.len(), 2);
    assert_eq!(series[0].labels["code"], "200");
    assert_eq!(series[0].times_ms, vec![1_641_889_530_123, 1_641_889_531_123, 1_641_889_532_123]);
    assert_eq!(series[0].values, vec![21.0, 32.0, 43.0]);
    assert_eq!(series[1].times_ms, vec![1_641_889_529_123, 1_641_889_532_123]);
    assert_eq!(series[1].values, vec![54.0, 76.0]);
}

#[test]
fn vector_with_inf_nan_and_warnings() {
    let r = parse_query_response(&fixture("query_vector_warnings_inf_nan.grafana-converter.json")).unwrap();
    let s = series_of(&r);
    assert_eq!(s.len(), 5);
    assert_eq!(s[0].times_ms, vec![1_435_781_451_781]);
    assert_eq!(s[2].values[0], f64::INFINITY);
    assert_eq!(s[3].values[0], f64::NEG_INFINITY);
    assert!(s[4].values[0].is_nan());
    assert_eq!(r.warnings, vec!["warning 1", "warning 2"]);
}

#[test]
fn all_nan_matrix() {
    let r = parse_query_response(&fixture("query_range_nan.grafana-tsdb-prometheus.json")).unwrap();
    let s = series_of(&r);
    assert!(!s.is_empty());
    assert!(s.iter().all(|s| s.values.iter().all(|v| v.is_nan())));
}

#[test]
fn scalar_result() {
    let r = parse_query_response(&fixture("query_scalar.grafana-promlib.json")).unwrap();
    assert_eq!(r.data, PromData::Scalar { time_ms: 1_651_680_139_104, value: 0.00002482 });
}

#[test]
fn native_histograms_become_heatmap_cells() {
    let r = parse_query_response(&fixture("query_range_native_histogram.prometheus-openapi-golden.json")).unwrap();
    assert!(series_of(&r).is_empty(), "a histogram-only series has no float frame");
    assert_eq!(r.histograms.len(), 1);
    let h = &r.histograms[0];
    assert_eq!(h.labels["__name__"], "http_request_duration_seconds");
    assert_eq!(h.samples[0].buckets[1], HistogramBucket { boundary_rule: 0, lower: 1.0, upper: "1.414213562373095".parse().unwrap(), count: 7.5 });
    let opts = PromFrameOptions { ref_id: "A", expr: "http_request_duration_seconds", legend_format: None, step_ms: 60_000, added_labels: &[] };
    let frames = histogram_frames(r.histograms.clone(), &opts);
    let f = &frames[0];
    assert_eq!(f.meta.as_ref().unwrap().frame_type.as_deref(), Some("heatmap-cells"));
    let names: Vec<&str> = f.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["xMax", "yMin", "yMax", "count", "yLayout"]);
    assert_eq!(f.fields[0].values, FieldValues::TimeNs(vec![1_767_433_020_000_000_000; 2]));
    assert_eq!(f.fields[0].config.as_ref().unwrap().interval, Some(60_000.0));
    assert_eq!(f.fields[1].values, FieldValues::F64(vec![0.7071067811865475, 1.0]));
    assert_eq!(f.fields[1].labels["job"], "prometheus");
    assert_eq!(f.fields[3].values, FieldValues::F64(vec![5.0, 7.5]));
    assert_eq!(f.fields[4].values, FieldValues::I8(vec![0, 0]));
    // The shared cache stores the answer as Prometheus wrote it and reads it back unchanged.
    assert_eq!(parse_query_response(&encode_query_response(&r)).unwrap(), r);
}

#[test]
fn value_fields_are_named_and_displayed_like_grafana() {
    let labels = |pairs: &[(&str, &str)]| -> Labels { pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() };
    let added: &[&str] = &["cluster", "cluster_id", "clusters"];
    let opts =
        |legend: Option<&'static str>| PromFrameOptions { ref_id: "A", expr: "sum(up)", legend_format: legend, step_ms: 15_000, added_labels: added };
    let up = labels(&[("__name__", "up"), ("job", "api"), ("instance", "a:9090"), ("cluster", "east"), ("cluster_id", "e")]);
    assert_eq!(display_name(&up, &opts(None)).as_deref(), Some(r#"up{cluster="east", cluster_id="e", instance="a:9090", job="api"}"#));
    assert_eq!(display_name(&up, &opts(Some("__auto"))), None, "labelled: Grafana builds the name from the labels");
    assert_eq!(display_name(&up, &opts(Some("{{job}} on {{cluster}}"))).as_deref(), Some("api on east"));
    let only_cluster = labels(&[("cluster", "east"), ("cluster_id", "e")]);
    assert_eq!(display_name(&only_cluster, &opts(None)).as_deref(), Some("sum(up)"), "label-less upstream → the expression");
    assert_eq!(display_name(&only_cluster, &opts(Some("__auto"))).as_deref(), Some("sum(up)"));
    assert_eq!(display_name(&Labels::new(), &opts(Some("{{missing}}"))), None);
    assert_eq!(metric_name_from_labels(&labels(&[("__name__", "up")])), "up");
    assert_eq!(metric_name_from_labels(&labels(&[("path", "a\"b")])), r#"{path="a\"b"}"#);

    let s = Series { labels: up.clone(), times_ms: vec![1000, 2000], values: vec![1.0, 0.0] };
    let frames =
        prometheus_frames(vec![s, Series { labels: only_cluster, times_ms: vec![1000], values: vec![3.0] }], ResultType::Matrix, &opts(None));
    assert_eq!(frames[0].fields[1].name, "up", "named after __name__, as Grafana's dataplane frames");
    assert_eq!(frames[0].fields[1].labels["__name__"], "up");
    assert_eq!(frames[1].fields[1].name, "Value");
    assert_eq!(frames[0].fields[0].config.as_ref().unwrap().interval, Some(15_000.0), "the step is on the time field");
    assert!(frames[0].fields[1].config.as_ref().unwrap().interval.is_none());
    let meta = frames[0].meta.as_ref().unwrap();
    assert_eq!((meta.frame_type.as_deref(), meta.type_version), (Some("timeseries-multi"), Some([0, 1])));
    assert_eq!(meta.custom, Some(serde_json::json!({"resultType": "matrix"})));
    let vector = prometheus_frames(vec![Series { labels: up, times_ms: vec![1000], values: vec![1.0] }], ResultType::Vector, &opts(None));
    assert_eq!(vector[0].meta.as_ref().unwrap().frame_type.as_deref(), Some("numeric-multi"));
    let string = string_frame(Labels::new(), 1000, "hello".into(), &opts(None));
    assert_eq!(string.fields[1].values, FieldValues::Str(vec!["hello".into()]));
    assert_eq!(string.meta.as_ref().unwrap().type_version, None);
    assert_eq!(string.fields[1].config.as_ref().unwrap().display_name_from_ds.as_deref(), Some("sum(up)"));
}

#[test]
fn exemplars_become_one_long_frame_oldest_first() {
    let series = parse_exemplars(&fixture("query_exemplars.prometheus-docs.json")).unwrap();
    assert_eq!(series.len(), 2);
    assert_eq!(series[0].series_labels["__name__"], "test_exemplar_metric_total");
    let links = |name: &str| if name == "trace_id" { vec![DataLink { title: "t".into(), url: "u".into(), internal: None }] } else { vec![] };
    let f = exemplar_frame(series, "A", &links).unwrap();
    assert_eq!(f.name, "exemplar");
    assert_eq!(f.meta.as_ref().unwrap().custom, Some(serde_json::json!({"resultType": "exemplar"})));
    let names: Vec<&str> = f.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names[..2], ["Time", "Value"]);
    let mut sorted = names[2..].to_vec();
    sorted.sort_unstable();
    assert_eq!(sorted, names[2..], "label fields sorted by name");
    let FieldValues::TimeNs(t) = &f.fields[0].values else { panic!() };
    assert!(t.windows(2).all(|w| w[0] <= w[1]), "oldest first");
    let trace = f.fields.iter().find(|f| f.name == "trace_id").unwrap();
    assert_eq!(trace.config.as_ref().unwrap().links.len(), 1);
    assert!(exemplar_frame(vec![], "A", &links).is_none());
    assert!(parse_exemplars(br#"{"status":"error","error":"bad"}"#).is_err());
    assert!(parse_exemplars(br#"{"status":"success","data":[{"seriesLabels":{},"exemplars":[{"labels":{},"value":"x","timestamp":1}]}]}"#).is_err());
}

#[test]
fn docs_examples_parse() {
    for f in ["query_range_matrix.prometheus-docs.json", "query_vector.prometheus-docs.json"] {
        let r = parse_query_response(&fixture(f)).unwrap();
        assert!(!series_of(&r).is_empty(), "{f}");
    }
    assert_eq!(parse_string_list(&fixture("labels.prometheus-docs.json")).unwrap()[0], "__name__");
    assert!(!parse_series_list(&fixture("series.prometheus-docs.json")).unwrap().is_empty());
}

#[test]
fn error_envelope_and_garbage_are_errors_not_panics() {
    let e = parse_query_response(&fixture("error_bad_data.grafana-promlib.json")).unwrap_err();
    assert!(e.contains("start"), "{e}");
    for bad in [
        &b"<html>502</html>"[..],
        b"",
        b"{\"status\":\"success\"}",
        b"{\"data\":{\"result\":[{\"values\":[[1,\"x\"]]}]}}",
        b"{\"data\":{\"result\":[{\"values\":[[1]]}]}}",
        b"{\"data\":{\"result\":[1,\"2\",3]}}",
        b"{\"data\":{\"result\":[{\"values\":[[1,\"2\"]]}]}} trailing",
        b"{\"data\":{\"resultType\":\"cube\",\"result\":[]}}",
    ] {
        assert!(parse_query_response(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
    }
}

#[test]
fn legend_templates() {
    let labels: Labels = [("job".to_string(), "api".to_string()), ("cluster".to_string(), "east".to_string())].into();
    assert_eq!(legend("{{job}} @ {{ cluster }}", &labels), "api @ east");
    assert_eq!(legend("{{missing}}-x", &labels), "-x");
    assert_eq!(legend("open {{job", &labels), "open {{job");
}

#[test]
fn frames_follow_the_dataplane_contract() {
    let s = Series { labels: [("a".to_string(), "b".to_string())].into(), times_ms: vec![1000, 2000], values: vec![1.0, f64::NAN] };
    let opts = SeriesFrameOptions {
        ref_id: "A",
        instant: false,
        legend_format: Some("{{a}}"),
        step_ms: 1000,
        executed_query: "Expr: x".into(),
        links: vec![],
    };
    let frames = series_frames(vec![s.clone(), s], &opts);
    assert_eq!(frames.len(), 2);
    let f = &frames[0];
    let meta = f.meta.as_ref().unwrap();
    assert_eq!(meta.frame_type.as_deref(), Some("timeseries-multi"));
    assert_eq!(meta.type_version, Some([0, 1]));
    assert_eq!(meta.executed_query_string.as_deref(), Some("Expr: x"));
    assert!(frames[1].meta.as_ref().unwrap().executed_query_string.is_none(), "shown once");
    assert_eq!(f.fields[0].values, FieldValues::TimeNs(vec![1_000_000_000, 2_000_000_000]));
    assert_eq!(f.fields[0].config.as_ref().unwrap().interval, Some(1000.0), "gaps break the line: the step is on the time field");
    assert_eq!(f.fields[1].labels["a"], "b");
    assert_eq!(f.fields[1].config.as_ref().unwrap().display_name_from_ds.as_deref(), Some("b"));
    let empty = series_frames(vec![], &SeriesFrameOptions { instant: true, ..opts });
    assert_eq!(empty.len(), 1);
    assert!(empty[0].fields.is_empty());
    assert_eq!(empty[0].meta.as_ref().unwrap().frame_type.as_deref(), Some("numeric-multi"));
}

#[test]
fn points_hint_is_exact_for_dense_and_released_for_sparse_series() {
    let body = fixture("query_range_matrix_two_series.grafana-tsdb-prometheus.json");
    let r = parse_query_response_with_points(&body, 3).unwrap();
    let s = series_of(&r);
    assert_eq!(s[0].times_ms.capacity(), 3, "dense: allocated once, exactly");
    let r = parse_query_response_with_points(&body, 11_000).unwrap();
    assert!(series_of(&r)[1].times_ms.capacity() < 100, "sparse: hinted capacity released");
    assert_eq!(parse_query_response(&body).unwrap(), parse_query_response_with_points(&body, 3).unwrap());
}

#[test]
fn values_format_like_prometheus() {
    assert_eq!(format_value(f64::NAN), "NaN");
    assert_eq!(format_value(f64::INFINITY), "+Inf");
    assert_eq!(format_value(0.00002482), "0.00002482");
    assert_eq!(format_value(21.0), "21");
}

#[test]
fn encoded_answers_parse_back_identically() {
    for f in [
        "query_range_matrix_two_series.grafana-tsdb-prometheus.json",
        "query_vector_warnings_inf_nan.grafana-converter.json",
        "query_scalar.grafana-promlib.json",
    ] {
        let r = parse_query_response(&fixture(f)).unwrap();
        let back = parse_query_response(&encode_query_response(&r)).unwrap();
        // NaN != NaN: compare the re-encoded text instead of the values.
        assert_eq!(encode_query_response(&back), encode_query_response(&r), "{f}");
        assert_eq!(back.warnings, r.warnings);
    }
}
