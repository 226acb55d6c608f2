use super::metrics::{Aggregate, effective_step_ms, expand_variables, parse_duration_ms};
use super::*;

fn env(from: i64, to: i64) -> QueryEnvelope {
    QueryEnvelope { ref_id: "A".into(), time_range: TimeRange::new(from, to).unwrap(), interval_ms: 15_000, max_data_points: 1000 }
}

fn metrics(json: &str) -> Result<(QueryRequest, MetricsQuery), QueryError> {
    let q = parse("", json.as_bytes(), env(3_600_000, 7_200_000))?;
    let QueryKind::Metrics(m) = q.kind.clone() else { panic!("not a metrics query") };
    Ok((q, m))
}

#[test]
fn metrics_defaults_to_range_merge_and_all_clusters() {
    let (q, m) = metrics(r#"{"refId":"A","expr":"up","datasource":{"uid":"x"},"intervalMs":15000}"#).unwrap();
    assert!(q.clusters.is_empty());
    assert!(!m.instant);
    assert_eq!(m.aggregate, Aggregate::Merge);
    assert_eq!(m.step_ms, 15_000);
    assert_eq!((m.start_ms, m.end_ms), (3_600_000, 7_200_000));
}

#[test]
fn clusters_accept_lists_and_interpolated_strings() {
    for (json, want) in [
        (r#"{"expr":"up","clusters":["a","b"]}"#, vec!["a", "b"]),
        (r#"{"expr":"up","clusters":"{a,b}"}"#, vec!["a", "b"]),
        (r#"{"expr":"up","clusters":"a, b"}"#, vec!["a", "b"]),
        (r#"{"expr":"up","clusters":["{a,b}","c"]}"#, vec!["a", "b", "c"]),
        (r#"{"expr":"up","clusters":""}"#, vec![]),
    ] {
        assert_eq!(metrics(json).unwrap().0.clusters, want, "{json}");
    }
}

#[test]
fn invalid_promql_is_one_clear_error() {
    let err = metrics(r#"{"expr":"sum(rate(x[5m])"}"#).unwrap_err();
    assert!(matches!(err, QueryError::Promql(_)), "{err:?}");
    let fe: crate::error::FleetError = err.into();
    assert_eq!(fe.code, crate::error::ErrorCode::InvalidPromql);
}

#[test]
fn malformed_and_unknown_queries_name_the_problem() {
    assert!(matches!(metrics("{not json").unwrap_err(), QueryError::Json(_)));
    assert!(matches!(metrics(r#"{"queryType":"bogus","expr":"up"}"#).unwrap_err(), QueryError::UnknownKind(k) if k == "bogus"));
    assert!(matches!(metrics(r#"{"expr":""}"#).unwrap_err(), QueryError::Field { field: "expr", .. }));
    assert!(matches!(metrics(r#"{"expr":"up","aggregate":"median"}"#).unwrap_err(), QueryError::Field { field: "aggregate", .. }));
    assert!(matches!(metrics(r#"{"expr":"up","step":"fast"}"#).unwrap_err(), QueryError::Field { field: "step", .. }));
    let huge = format!(r#"{{"expr":"{}"}}"#, "a".repeat(70_000));
    assert!(matches!(metrics(&huge).unwrap_err(), QueryError::Field { field: "expr", .. }));
}

#[test]
fn bad_time_ranges_are_rejected() {
    assert!(TimeRange::new(10, 5).is_err());
    assert!(TimeRange::new(0, 253_402_300_800_000).is_err(), "year 9999");
    assert!(TimeRange::new(0, 1).is_ok());
}

#[test]
fn instant_and_aggregate_and_legend() {
    let (_, m) = metrics(r#"{"expr":"up","instant":true,"aggregate":"SUM","legendFormat":"{{job}}"}"#).unwrap();
    assert!(m.instant);
    assert_eq!(m.end_ms, 7_200_000);
    assert_eq!(m.aggregate, Aggregate::Sum);
    assert_eq!(m.legend_format.as_deref(), Some("{{job}}"));
    let (_, m) = metrics(r#"{"expr":"up","range":false,"legendFormat":"__auto"}"#).unwrap();
    assert!(m.instant);
    assert_eq!(m.legend_format.as_deref(), Some("__auto"), "kept: label-less series then show the expression");
    let (_, m) = metrics(r#"{"expr":"up","legendFormat":"  "}"#).unwrap();
    assert_eq!(m.legend_format, None);
}

#[test]
fn step_follows_grafana_rules() {
    let hour = TimeRange::new(0, 3_600_000).unwrap();
    assert_eq!(effective_step_ms(&hour, 15_000, 1000, 0), 15_000);
    assert_eq!(effective_step_ms(&hour, 1_000, 100, 0), 36_000, "maxDataPoints bounds the step");
    assert_eq!(effective_step_ms(&hour, 1_000, 0, 60_000), 60_000, "min step wins");
    let year = TimeRange::new(0, 365 * 86_400_000).unwrap();
    assert!(effective_step_ms(&year, 1, 0, 0) >= 365 * 86_400_000 / 11_000, "≤ 11k points");
    assert_eq!(effective_step_ms(&hour, 1, 0, 0), 1_000, "at least 1s");
    let (_, m) = metrics(r#"{"expr":"up","step":"1m"}"#).unwrap();
    assert_eq!(m.step_ms, 60_000);
    assert_eq!(m.start_ms % 60_000, 0);
}

#[test]
fn variables_expand_longest_first() {
    let r = TimeRange::new(0, 3_600_000).unwrap();
    assert_eq!(expand_variables("rate(x[$__rate_interval])", 15_000, &r), "rate(x[60s])");
    assert_eq!(expand_variables("rate(x[$__interval]) + $__interval_ms", 30_000, &r), "rate(x[30s]) + 30000");
    assert_eq!(expand_variables("increase(x[$__range]) / $__range_s", 15_000, &r), "increase(x[3600s]) / 3600");
    assert_eq!(expand_variables("x[${__interval}]", 15_000, &r), "x[15s]");
    assert_eq!(expand_variables("$__intervalx", 15_000, &r), "$__intervalx", "no partial-name match");
    let (_, m) = metrics(r#"{"expr":"rate(x[$__rate_interval])"}"#).unwrap();
    assert_eq!(m.expr, "rate(x[1m0s])", "Grafana writes the rate interval as Go prints a duration");
}

#[test]
fn durations() {
    assert_eq!(parse_duration_ms("1h30m"), Some(5_400_000));
    assert_eq!(parse_duration_ms("500ms"), Some(500));
    assert_eq!(parse_duration_ms("1x"), None);
    assert_eq!(parse_duration_ms("m"), None);
}

/// Regression: promql-parser panics (`Duration::from_secs_f64`) on a duration
/// written as a huge, infinite or NaN number (fuzz artifact crash-22db22f4…).
#[test]
fn number_durations_out_of_range_are_errors_not_panics() {
    use super::metrics::validate_promql;
    for expr in [
        "-2[2e222]2",
        "up[2e222]",
        "rate(up[1e30])",
        "up[5m:2e222]",
        "max_over_time(up[5m:1E+30])",
        "up offset 2e222",
        "up offset -1e30",
        "up offset inf",
        "up offset -Inf",
        "up offset NaN",
        "sum(up) OFFSET +18446744073709551616",
        "up[5m:] offset 1e30",
        "up{a=\"[\"}[1e30]",
    ] {
        match validate_promql(expr) {
            Err(QueryError::Promql(m)) => assert!(m.contains("out of range"), "{expr}: {m}"),
            other => panic!("{expr}: {other:?}"),
        }
    }
    // Numbers that are not durations, and durations in range, are untouched.
    for expr in
        ["up[300]", "up offset 1e9", "rate(up[5m:30])", "up{a=\"offset 1e30\"}", "job:up:rate5m[1h]", "up * 1e300", "up offset 5m", "x # [1e30]\n"]
    {
        assert_eq!(validate_promql(expr), Ok(()), "{expr}");
    }
    let e = validate_promql("up\n  offset 2e222").unwrap_err().to_string();
    assert!(e.contains("line 2, col 10: duration \"2e222\" is out of range"), "{e}");
}

#[test]
fn grafana_rounds_the_step_to_nice_intervals() {
    use super::metrics::round_interval_ms;
    for (raw, nice) in [
        (1.0, 1),
        (12.0, 10),
        (700.0, 500),
        (1_500.0, 1_000),
        (1_501.0, 2_000),
        (14_000.0, 15_000),
        (40_000.0, 30_000),
        (90_000.0, 60_000),
        (100_000.0, 120_000),
        (5_000_000.0, 3_600_000),
        (500_000_000.0, 86_400_000),
        (2_000_000_000.0, 2_592_000_000),
        (4e9, 31_536_000_000),
    ] {
        assert_eq!(round_interval_ms(raw), nice, "{raw} ms");
    }
}

#[test]
fn step_follows_grafanas_prometheus_rules_with_the_scrape_interval() {
    use super::metrics::{MinStep, grafana_step_ms};
    let hour = TimeRange::new(0, 3_600_000).unwrap();
    let day = TimeRange::new(0, 86_400_000).unwrap();
    // A panel 1000 px wide over an hour, Grafana's intervalMs 2 s: the scrape interval (15 s) is the floor.
    assert_eq!(grafana_step_ms(&hour, 2_000, 1000, MinStep::Unset, 15_000), 15_000);
    assert_eq!(grafana_step_ms(&hour, 2_000, 1000, MinStep::Unset, 60_000), 60_000, "a cluster scraping every minute");
    // range / maxDataPoints above the floor is rounded to a nice value: 86.4 s → 1m.
    assert_eq!(grafana_step_ms(&day, 2_000, 1000, MinStep::Unset, 15_000), 60_000);
    // maxDataPoints unset: Grafana's 1500 → 57.6 s → 1m.
    assert_eq!(grafana_step_ms(&day, 0, 0, MinStep::Unset, 15_000), 60_000);
    // The query's own min step wins over the scrape interval, even when lower.
    assert_eq!(grafana_step_ms(&hour, 2_000, 1000, MinStep::Fixed(5_000), 15_000), 5_000);
    // Min step $__rate_interval: the step is the rate interval of the calculated step.
    assert_eq!(grafana_step_ms(&hour, 2_000, 1000, MinStep::RateInterval, 15_000), 60_000);
    // Never more than 11,000 points: a year at 1 s → 1h (the 11k-points step, rounded).
    let year = TimeRange::new(0, 365 * 86_400_000).unwrap();
    assert_eq!(grafana_step_ms(&year, 1_000, 100_000, MinStep::Fixed(1_000), 15_000), 3_600_000);
}

#[test]
fn scrape_interval_reresolves_step_rate_interval_and_window() {
    let (_, m) = metrics(r#"{"expr":"rate(x[$__rate_interval]) + $__interval_ms","intervalMs":15000}"#).unwrap();
    assert_eq!((m.step_ms, m.expr.as_str()), (15_000, "rate(x[1m0s]) + 15000"));
    let m = m.with_scrape_interval(30_000).unwrap();
    assert_eq!(m.step_ms, 30_000, "the scrape interval is the minimum step");
    assert_eq!(m.expr, "rate(x[2m0s]) + 30000", "rate interval = max(intervalMs + scrape, 4 × scrape)");
    assert_eq!(m.start_ms % 30_000, 0);
    assert_eq!(m.executed_query_string(), "Expr: rate(x[2m0s]) + 30000\nStep: 30s");
    // A query built in code keeps its own step.
    let fixed = MetricsQuery { inputs: None, ..m.clone() };
    assert_eq!(fixed.with_scrape_interval(60_000).unwrap(), fixed);
}

#[test]
fn grafana_variable_spellings() {
    use super::metrics::{format_interval, go_duration};
    assert_eq!(go_duration(15_000), "15s");
    assert_eq!(go_duration(60_000), "1m0s");
    assert_eq!(go_duration(90_000), "1m30s");
    assert_eq!(go_duration(3_600_000), "1h0m0s");
    assert_eq!(go_duration(1_500), "1.5s");
    assert_eq!(go_duration(500), "500ms");
    assert_eq!(format_interval(90_000), "1m", "$__interval keeps the largest whole unit, as Grafana");
    assert_eq!(format_interval(86_400_000), "1d");
    assert_eq!(format_interval(0), "1ms");
    let (_, m) = metrics(r#"{"expr":"increase(x[$__range]) / $__range_s + ${__interval}","intervalMs":15000}"#).unwrap();
    assert_eq!(m.expr, "increase(x[3600s]) / 3600 + 15s");
}

#[test]
fn both_runs_instant_then_range_and_instant_steps_show_like_grafana() {
    let (_, m) = metrics(r#"{"expr":"up","range":true,"instant":true,"intervalMs":15000}"#).unwrap();
    assert!(m.instant && m.both);
    let parts = m.parts();
    assert_eq!(parts.len(), 2);
    assert!(parts[0].instant && !parts[0].both);
    assert_eq!((parts[0].start_ms, parts[0].end_ms), (7_200_000, 7_200_000));
    assert!(!parts[1].instant);
    assert_eq!((parts[1].start_ms, parts[1].end_ms), (3_600_000, 7_200_000));
    assert_eq!(parts[0].executed_query_string(), "Expr: up\nStep: 15s", "instant queries show the step too, as Grafana");
    let (_, only) = metrics(r#"{"expr":"up","instant":true}"#).unwrap();
    assert_eq!(only.parts().len(), 1);
    let (_, uid) = metrics(r#"{"expr":"up","datasource":{"type":"x","uid":"fs1"}}"#).unwrap();
    assert_eq!(uid.datasource_uid.as_deref(), Some("fs1"));
}

#[test]
fn min_step_variables() {
    let (_, m) = metrics(r#"{"expr":"up","interval":"$__rate_interval","intervalMs":15000}"#).unwrap();
    assert_eq!(m.step_ms, 60_000, "min step $__rate_interval: the step is the rate interval");
    let (_, m) = metrics(r#"{"expr":"up","interval":"$__interval","intervalMs":15000}"#).unwrap();
    assert_eq!(m.step_ms, 15_000);
    assert!(metrics(r#"{"expr":"up","interval":"soon"}"#).is_err());
}

#[test]
fn links_use_the_answering_datasources_uid_and_the_querys_only_as_fallback() {
    let uid = |json: &str, ctx: Option<&str>| {
        let mut q = parse("logs", json.as_bytes(), env(3_600_000, 7_200_000)).unwrap();
        q.use_datasource_uid(ctx);
        let QueryKind::Logs(l) = q.kind else { panic!("not a logs query") };
        l.datasource_uid
    };
    let bare = r#"{"expr":"{app=\"x\"}"}"#;
    let with = r#"{"expr":"{app=\"x\"}","datasource":{"uid":"from-query"}}"#;
    assert_eq!(uid(bare, Some("ctx")).as_deref(), Some("ctx"), "no datasource in the JSON: links still work");
    assert_eq!(uid(with, Some("ctx")).as_deref(), Some("ctx"), "the PluginContext wins");
    assert_eq!(uid(with, None).as_deref(), Some("from-query"));
    assert_eq!(uid(with, Some("")).as_deref(), Some("from-query"));
    assert_eq!(uid(bare, None), None);
}

/// `MetricsQuery::from_params` (the API's constructor) and the JSON parser agree, on good input and bad.
#[test]
fn metrics_constructor_matches_parse() {
    use super::metrics::{MetricsParams, MinStep};
    let e = env(3_600_000, 7_200_000);
    let params = |expr: &str| MetricsParams {
        expr: expr.into(),
        min_step: MinStep::from_seconds(30.0).unwrap(),
        aggregate: Aggregate::parse("sum").unwrap(),
        legend_format: Some("{{job}}".into()),
        ..MetricsParams::default()
    };
    let typed = MetricsQuery::from_params(params("rate(x[$__rate_interval])"), &e);
    let json = MetricsQuery::parse(br#"{"expr":"rate(x[$__rate_interval])","step":30,"aggregate":"sum","legendFormat":"{{job}}"}"#, &e);
    assert_eq!(typed, json);
    assert_eq!(typed.unwrap().step_ms, 30_000);
    assert_eq!(MinStep::from_seconds(0.0), Ok(MinStep::Unset));
    // Invalid PromQL, an empty expression, a step too long.
    let bad = MetricsQuery::from_params(params("sum(rate(x[5m])"), &e);
    assert_eq!(bad, MetricsQuery::parse(br#"{"expr":"sum(rate(x[5m])","step":30,"aggregate":"sum"}"#, &e));
    assert_eq!(crate::error::FleetError::from(bad.unwrap_err()).code, crate::error::ErrorCode::InvalidPromql);
    assert_eq!(MetricsQuery::from_params(params(" "), &e), MetricsQuery::parse(br#"{"expr":" "}"#, &e));
    assert_eq!(MinStep::from_seconds(1e12).map(|_| ()), MetricsQuery::parse(br#"{"expr":"up","step":1e12}"#, &e).map(|_| ()));
}

/// `ChQuery::from_params` (the cluster-metrics API's constructor) and the JSON parser agree, on good input and bad.
#[test]
fn clickhouse_constructor_matches_parse() {
    use super::clickhouse::{ChParams, ChQuery, Function, Reduce, parse_matchers};
    let e = env(3_600_000, 7_200_000);
    let params = |group_by: Vec<&str>, quantile: f64| ChParams {
        metric: " DCGM_FI_DEV_GPU_UTIL ".into(),
        matchers: parse_matchers(&serde_json::json!(r#"{gpu="0", model=~"H100.*"}"#)).unwrap(),
        function: Function::HistogramQuantile,
        quantile: Some(quantile),
        group_by: Some(group_by.into_iter().map(str::to_owned).collect()),
        reduce: Reduce::Max,
        aggregate: Aggregate::parse("sum").unwrap(),
        min_step: super::metrics::MinStep::from_seconds(30.0).unwrap(),
        ..ChParams::default()
    };
    let json = |group_by: &str, quantile: f64| {
        format!(
            r#"{{"metric":" DCGM_FI_DEV_GPU_UTIL ","matchers":"{{gpu=\"0\", model=~\"H100.*\"}}","function":"histogram_quantile","quantile":{quantile},"groupBy":{group_by},"reduce":"max","aggregate":"sum","step":30}}"#
        )
    };
    let typed = ChQuery::from_params(params(vec!["gpu", "gpu"], 0.9), &e);
    assert_eq!(typed, ChQuery::parse(json(r#"["gpu","gpu"]"#, 0.9).as_bytes(), &e));
    let q = typed.unwrap();
    assert_eq!(
        (q.metric.as_str(), q.group_by.as_deref(), q.step_ms, q.matchers.len()),
        ("DCGM_FI_DEV_GPU_UTIL", Some(&["gpu".to_owned()][..]), 30_000, 2)
    );
    // φ out of range, a group key that is not an attribute key: the same error both ways.
    for (g, phi, gj) in [(vec!["gpu"], 1.5, r#"["gpu"]"#), (vec![""], 0.5, r#"[""]"#)] {
        let bad = ChQuery::from_params(params(g, phi), &e);
        assert!(bad.is_err());
        assert_eq!(bad, ChQuery::parse(json(gj, phi).as_bytes(), &e));
    }
}
