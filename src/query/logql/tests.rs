use super::*;

#[test]
fn accepts_real_queries() {
    for (q, kind) in [
        (r#"{app="llm-gateway"}"#, LogqlKind::Log),
        (r#"{cluster="prod-east-1", app="llm-gateway"}"#, LogqlKind::Log),
        (r#"{app="model-server"} | logfmt | level="warn""#, LogqlKind::Log),
        (r#"{namespace="gpu-operator"} |~ "level=(warn|error)""#, LogqlKind::Log),
        (r#"{app="llm-gateway"} | json | status >= 500"#, LogqlKind::Log),
        (r#"{app=~"llm-.*", env!="dev"} |= "error" != "timeout" | json | line_format "{{.msg}}""#, LogqlKind::Log),
        (r#"{app="a"} | json team="labels.team", model | keep team, model | drop __error__"#, LogqlKind::Log),
        (r#"{app="a"} | logfmt --strict | duration > 1.5s and (level="error" or status=~"5..")"#, LogqlKind::Log),
        (r#"{app="a"} | label_format lvl=level, msg="{{.msg}}" | regexp `(?P<ip>\S+)` | decolorize"#, LogqlKind::Log),
        (r#"sum by (app) (rate({cluster="prod-east-1"}[5m]))"#, LogqlKind::Metric),
        (r#"sum by (detected_level) (count_over_time({app="llm-gateway"}[5m]))"#, LogqlKind::Metric),
        (r#"quantile_over_time(0.95, {app="llm-gateway"} | json | status = 200 | unwrap latency_ms [10m]) by (model)"#, LogqlKind::Metric),
        (r#"sum by(model)(rate({app="model-server"}|logfmt|level="error"[5m]))"#, LogqlKind::Metric),
        (r#"topk(5, sum by (app) (bytes_rate({env="prod"}[1m] offset 1h))) / 2"#, LogqlKind::Metric),
        (r#"sum(rate({a="b"}[5m])) / on (app) group_left sum(rate({a="c"}[5m])) > bool 0.5"#, LogqlKind::Metric),
        (r#"avg_over_time({a="b"} | unwrap duration(latency) [1m])"#, LogqlKind::Metric),
        (r#"{app=~"llm-(gateway|router)", pod!~"canary-.*"} |~ `\d{3} (GET|POST)` !~ "(?i)health""#, LogqlKind::Log),
        (r#"{app="a"} | regexp "(?P<method>\\w+) (?P<path>\\S+)" | status=~"5.." | drop level=~"debug|trace""#, LogqlKind::Log),
        (r#"{app=~"a\\.b\\/c"} |~ "\\Q(literal\\E""#, LogqlKind::Log),
    ] {
        assert_eq!(validate(q), Ok(kind), "{q}");
    }
}

#[test]
fn rejects_garbage_with_positions() {
    for (q, want) in [
        (r#"{app="llm-gateway"} | json | status >="#, "line 1, col 39: expected a value after \">=\""),
        ("", "expected a stream selector"),
        ("app=\"x\"", "unknown function or keyword \"app\""),
        (r#"{app="x""#, "col 1: \"{\" is never closed"),
        (r#"{app="x}"#, "col 6: unterminated string"),
        (r#"{app="x")"#, "col 9: \")\" does not close \"{\""),
        (r#"{}"#, "col 1: a stream selector needs at least one matcher"),
        (r#"{app=x}"#, "col 6: expected a quoted string"),
        (r#"{app=>"x"}"#, "col 6: expected a quoted string, found \">\""),
        (r#"{app~"x"}"#, "col 5: unexpected character"),
        (r#"{app "x"}"#, "col 6: expected a label matcher operator"),
        (r#"{app="x"} foo"#, "col 11: unexpected \"foo\" after a complete query"),
        (r#"{app="x"} |= "#, "expected a quoted string after the line filter"),
        (r#"{app="x"} | "#, "expected a pipeline stage"),
        (r#"rate({app="x"})"#, "col 15: expected a range such as [5m]"),
        (r#"rate({app="x"}[5q])"#, "col 16: \"5q\" is not a duration"),
        (r#"sum(rate({app="x"}[5m]) by (a"#, "\"(\" is never closed"),
        (r#"frobnicate({app="x"}[5m])"#, "col 1: unknown function or keyword \"frobnicate\""),
        (r#"sum({app="x"})"#, "col 5: a log query cannot be used as a number"),
        (r#"{app="$svc"}"#, ""),
        ("{app=\"x\"}\n| json | a =", "line 2, col 13: expected a value after \"=\""),
        (r#"{app="x"} | json | $x"#, "col 20: unexpanded template variable"),
        (r#"{app=~"("}"#, "col 7: invalid regular expression \"(\": unclosed group"),
        (r#"{app="x", env!~"a[b"}"#, "col 16: invalid regular expression \"a[b\": unclosed character class"),
        (r#"{app="x"} |~ "a(?P<x" "#, "col 14: invalid regular expression"),
        (r#"{app="x"} != "ok" !~ "x{2,1}" "#, "col 22: invalid regular expression"),
        (r#"{app="x"} |~ "ok" or "(" "#, "col 22: invalid regular expression"),
        (r#"{app="x"} | json | status=~"5(" "#, "col 28: invalid regular expression"),
        (r#"{app="x"} | logfmt | drop level=~"*" "#, "col 34: invalid regular expression"),
        (r#"{app="x"} | regexp "(?P<ip" "#, "col 20: invalid regular expression"),
        (r#"{app="x"} | regexp "(\\S+)" "#, "named capture group"),
        (r#"sum(count_over_time({app=~"(?=x)"}[5m]))"#, "col 27: invalid regular expression"),
        (format!(r#"{{app=~"{}"}}"#, "(".repeat(100)).as_str(), "…: unclosed group"),
    ] {
        match validate(q) {
            Err(e) => assert!(e.contains(want), "{q:?}: {e}"),
            Ok(_) if want.is_empty() => {}
            Ok(k) => panic!("{q:?} accepted as {k:?}"),
        }
    }
}

#[test]
fn deep_nesting_is_rejected_not_overflowing() {
    let too_deep = |open: &str, inner: &str, close: &str| format!("{}{inner}{}", open.repeat(12_000), close.repeat(12_000));
    for q in [
        too_deep("sum(", r#"count_over_time({a="b"}[5m])"#, ")"),
        too_deep("(", r#"count_over_time({a="b"}[5m])"#, ")"),
        too_deep("vector(", "1", ")"),
        too_deep("label_replace(", r#"rate({a="b"}[1m])"#, r#","a","b","c","d")"#),
        format!("rate({}{{a=\"b\"}}[5m]{})", "(".repeat(12_000), ")".repeat(12_000)),
        format!("{{a=\"b\"}} | {}x=\"y\"{}", "(".repeat(12_000), ")".repeat(12_000)),
    ] {
        let e = validate(&q).unwrap_err();
        assert!(e.contains(&format!("nesting limit is {MAX_NESTING}")), "{}…: {e}", &q[..40]);
    }
    // Signs do not nest; 100 levels of aggregation are fine.
    assert_eq!(validate(&format!("{}1", "-".repeat(30_000))), Ok(LogqlKind::Metric));
    let q = format!("{}count_over_time({{a=\"b\"}}[5m]){}", "sum(".repeat(100), ")".repeat(100));
    assert_eq!(validate(&q), Ok(LogqlKind::Metric));
}
