//! SQL for the exporter's tables. The text is fixed per query shape; every value
//! from a query (metric name, attribute keys and values, regexes, cluster
//! values, times, step, φ) travels as a bound parameter (`{name:Type}` in the
//! text, `param_name=` on the HTTP request), so nothing a user types is ever
//! parsed as SQL. The only settings-derived text is the database and table
//! names, validated as plain identifiers by the registry and backtick-quoted.
//!
//! One statement answers every cluster of a store: rows are grouped by the
//! cluster attribute, and each result row is one whole series (label keys and
//! values, then its timestamps and values as arrays), so the Arrow answer is a
//! handful of columns however many points there are.

use std::fmt::Write as _;

use crate::query::clickhouse::{ChQuery, Function, MatchOp, Reduce};
use crate::query::sql_macros::{Macro, Piece, scan};
use crate::registry::ClickhouseStore;

/// One statement with its bound parameters (name without `param_`, value as
/// ClickHouse parses it from text for the declared type).
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub sql: String,
    pub params: Vec<(String, String)>,
}

impl Statement {
    fn bind(&mut self, name: &str, value: impl Into<String>) -> String {
        self.params.push((name.to_owned(), value.into()));
        name.to_owned()
    }
}

/// A ClickHouse `Array(String)` literal as the HTTP parameter parser reads it:
/// `['a','b']` with `\` and `'` escaped. This is parameter *data*, never SQL text.
pub fn array_param(values: &[String]) -> String {
    let mut out = String::from("[");
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('\'');
        for c in v.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\'' => out.push_str("\\'"),
                c => out.push(c),
            }
        }
        out.push('\'');
    }
    out.push(']');
    out
}

/// Text of a `String` parameter: ClickHouse reads parameter values in its
/// escaped text format, so backslashes and tabs/newlines are escaped.
pub fn string_param(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c => out.push(c),
        }
    }
    out
}

fn table(store: &ClickhouseStore, name: &str) -> String {
    format!("`{}`.`{}`", store.database, name)
}

/// The value of attribute `{p:String}`: the point attribute, else the resource attribute.
fn attr(p: &str) -> String {
    format!("if(mapContains(Attributes, {{{p}:String}}), Attributes[{{{p}:String}}], ResourceAttributes[{{{p}:String}}])")
}

/// The statement answering `q` for the clusters whose attribute values are `cluster_values`.
pub fn metrics_statement(store: &ClickhouseStore, q: &ChQuery, cluster_values: &[String]) -> Statement {
    let mut st = Statement { sql: String::new(), params: Vec::new() };
    let metric = st.bind("metric", string_param(&q.metric));
    let clusters = st.bind("clusters", array_param(cluster_values));
    let cattr = st.bind("cattr", string_param(&store.cluster_attribute));
    let start = st.bind("start_ms", q.start_ms.to_string());
    let end = st.bind("end_ms", q.end_ms.to_string());
    let step = st.bind("step_ms", q.step_ms.to_string());

    let mut filter = format!(
        "MetricName = {{{metric}:String}} \
         AND TimeUnix > fromUnixTimestamp64Milli({{{start}:Int64}} - {{{step}:Int64}}) \
         AND TimeUnix <= fromUnixTimestamp64Milli({{{end}:Int64}}) \
         AND cluster IN {{{clusters}:Array(String)}}"
    );
    for (i, m) in q.matchers.iter().enumerate() {
        let k = st.bind(&format!("mk{i}"), string_param(&m.key));
        let v = st.bind(&format!("mv{i}"), string_param(&m.value));
        let a = attr(&k);
        let _ = match m.op {
            MatchOp::Eq => write!(filter, " AND {a} = {{{v}:String}}"),
            MatchOp::Ne => write!(filter, " AND {a} != {{{v}:String}}"),
            MatchOp::Re => write!(filter, " AND match({a}, concat('^(?:', {{{v}:String}}, ')$'))"),
            MatchOp::NotRe => write!(filter, " AND NOT match({a}, concat('^(?:', {{{v}:String}}, ')$'))"),
        };
    }
    let cluster_expr =
        format!("if(mapContains(ResourceAttributes, {{{cattr}:String}}), ResourceAttributes[{{{cattr}:String}}], Attributes[{{{cattr}:String}}])");
    // Series labels: the point attributes without the cluster attribute and empty
    // values, sorted by key so equal label sets compare equal.
    let labels = format!("mapFilter((k, v) -> k != {{{cattr}:String}} AND v != '', Attributes)");
    let (lk, lv) = match &q.group_by {
        None => (format!("arraySort(mapKeys({labels}))"), format!("arraySort((v, k) -> k, mapValues({labels}), mapKeys({labels}))")),
        Some(keys) => {
            let mut ks = Vec::new();
            let mut vs = Vec::new();
            for (i, key) in keys.iter().enumerate() {
                let p = st.bind(&format!("g{i}"), string_param(key));
                ks.push(format!("{{{p}:String}}"));
                vs.push(attr(&p));
            }
            (format!("CAST([{}] AS Array(String))", ks.join(", ")), format!("CAST([{}] AS Array(String))", vs.join(", ")))
        }
    };
    // t = the first step timestamp at or after the sample: samples in (t − step, t].
    let ms = "toUnixTimestamp64Milli(toDateTime64(TimeUnix, 9))";
    let bucket = format!("{{{start}:Int64}} + intDiv({ms} - {{{start}:Int64}} + {{{step}:Int64}} - 1, {{{step}:Int64}}) * {{{step}:Int64}}");
    let grouped = q.group_by.is_some();
    // Series identity before grouping (`sk`, `sv`): the full label set.
    let series_sel =
        if grouped { format!(", {} AS sk, {} AS sv", labels_keys_sorted(&labels), labels_values_sorted(&labels)) } else { String::new() };
    let series_group = if grouped { ", sk, sv" } else { "" };

    if q.function == Function::HistogramQuantile {
        let inner = format!(
            "SELECT {cluster_expr} AS cluster, {lk} AS lk, {lv} AS lv{series_sel}, {bucket} AS t, \
             any(ExplicitBounds) AS b, \
             if(any(AggregationTemporality) = 1, arrayMap(x -> toFloat64(x), sumForEach(BucketCounts)), \
                arrayConcat(arraySlice({le_increase}, 1, 1), arrayPopFront(arrayDifference({le_increase})))) AS c \
             FROM {tbl} WHERE {filter} \
             GROUP BY cluster, lk, lv{series_group}, t \
             HAVING any(AggregationTemporality) = 1 OR count() >= 2",
            tbl = table(store, &store.histogram_table),
            // Prometheus sees one counter per `le` (the cumulative count up to a
            // bound) and handles resets per `le` series: so the increase is taken
            // of the cumulative counts, bound by bound, and turned back into
            // OTLP's per-bucket counts. Bound `i`'s counts are read out of the
            // step's snapshots (a lambda cannot reach into an aggregate).
            le_increase = format!(
                "arrayMap(i -> {}, arrayEnumerate(argMax(BucketCounts, TimeUnix)))",
                reset_aware_increase(&format!("arrayMap(s -> toFloat64(arrayCumSum(s)[i]), {})", in_time_order(ms, "BucketCounts")))
            ),
        );
        let combined = if grouped {
            format!("SELECT cluster, lk, lv, t, any(b) AS b, sumForEach(c) AS c FROM ({inner}) GROUP BY cluster, lk, lv, t")
        } else {
            format!("SELECT cluster, lk, lv, t, b, c FROM ({inner})")
        };
        st.sql = format!(
            "SELECT cluster, lk AS label_keys, lv AS label_values, arrayMap(p -> p.1, pts) AS ts, any_b AS bounds, arrayMap(p -> p.2, pts) AS counts \
             FROM (SELECT cluster, lk, lv, any(b) AS any_b, arraySort(p -> p.1, groupArray((t, c))) AS pts FROM ({combined}) GROUP BY cluster, lk, lv) \
             ORDER BY cluster, label_keys, label_values"
        );
        return st;
    }

    let (tbl, value) = match q.function {
        // (Histogram queries were answered above.)
        Function::Raw | Function::HistogramQuantile => (None, "argMax(Value, TimeUnix)".to_owned()),
        Function::Avg => (None, "avg(Value)".to_owned()),
        Function::Min => (None, "min(Value)".to_owned()),
        Function::Max => (None, "max(Value)".to_owned()),
        Function::Rate | Function::Increase => {
            let per_second = format!(
                "if(any(AggregationTemporality) = 1, sum(Value) / ({{{step}:Int64}} / 1000), \
                 {} / ((max({ms}) - min({ms})) / 1000))",
                reset_aware_increase(&in_time_order(ms, "Value"))
            );
            let v = if q.function == Function::Rate { per_second } else { format!("({per_second}) * ({{{step}:Int64}} / 1000)") };
            (Some(store.sum_table.as_str()), v)
        }
    };
    let having =
        if matches!(q.function, Function::Rate | Function::Increase) { " HAVING any(AggregationTemporality) = 1 OR count() >= 2" } else { "" };
    let source = match tbl {
        Some(t) => table(store, t),
        // A gauge-like question may be asked of a gauge or a sum (counters' raw values).
        None => format!(
            "(SELECT ResourceAttributes, Attributes, MetricName, TimeUnix, Value FROM {} UNION ALL \
              SELECT ResourceAttributes, Attributes, MetricName, TimeUnix, Value FROM {})",
            table(store, &store.gauge_table),
            table(store, &store.sum_table)
        ),
    };
    let inner = format!(
        "SELECT {cluster_expr} AS cluster, {lk} AS lk, {lv} AS lv{series_sel}, {bucket} AS t, {value} AS v \
         FROM {source} WHERE {filter} GROUP BY cluster, lk, lv{series_group}, t{having}"
    );
    let combined = if grouped {
        let r = match q.reduce {
            Reduce::Sum => "sum(v)",
            Reduce::Avg => "avg(v)",
            Reduce::Min => "min(v)",
            Reduce::Max => "max(v)",
            Reduce::Count => "toFloat64(count())",
        };
        format!("SELECT cluster, lk, lv, t, {r} AS v FROM ({inner}) GROUP BY cluster, lk, lv, t")
    } else {
        format!("SELECT cluster, lk, lv, t, v FROM ({inner})")
    };
    st.sql = format!(
        "SELECT cluster, lk AS label_keys, lv AS label_values, arrayMap(p -> p.1, pts) AS ts, arrayMap(p -> p.2, pts) AS vals \
         FROM (SELECT cluster, lk, lv, arraySort(p -> p.1, groupArray((t, toFloat64(v)))) AS pts FROM ({combined}) GROUP BY cluster, lk, lv) \
         ORDER BY cluster, label_keys, label_values"
    );
    st
}

/// The increase of a cumulative counter over its samples in a step, counter
/// resets handled as Prometheus does: consecutive samples add their difference,
/// and a drop means the counter restarted, so the new value counts from 0
/// (Prometheus' `extrapolatedRate` adds the value before the drop back).
/// `values` is an array expression of one series' values in a step, in time
/// order ([`in_time_order`]).
fn reset_aware_increase(values: &str) -> String {
    format!("arraySum(arrayMap((c, p) -> if(c >= p, c - p, c), arrayPopFront({values}), arrayPopBack({values})))")
}

/// The values of `column` in the group (one series and step), ordered by
/// `time` (an aggregate: `groupArray` keeps no order of its own).
fn in_time_order(time: &str, column: &str) -> String {
    format!("arrayMap(x -> x.2, arraySort(x -> x.1, groupArray(({time}, {column}))))")
}

fn labels_keys_sorted(labels: &str) -> String {
    format!("arraySort(mapKeys({labels}))")
}

fn labels_values_sorted(labels: &str) -> String {
    format!("arraySort((v, k) -> k, mapValues({labels}), mapKeys({labels}))")
}

/// The statement with its macros (`crate::query::sql_macros`) replaced by
/// *parameter placeholders*, never by values; [`raw_statement`] binds them.
/// Only a column name is taken into the text (the argument of
/// `$__timeFilter`, which the grammar checks is an identifier).
pub fn expand_macros(sql: &str) -> Result<String, String> {
    let mut out = String::with_capacity(sql.len() + 64);
    for piece in scan(sql)? {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Macro(Macro::TimeFilter { column }) => {
                let _ = write!(
                    out,
                    "({column} >= fromUnixTimestamp64Milli({{__from_ms:Int64}}) AND {column} <= fromUnixTimestamp64Milli({{__to_ms:Int64}}))"
                );
            }
            Piece::Macro(Macro::FromTime) => out.push_str("fromUnixTimestamp64Milli({__from_ms:Int64})"),
            Piece::Macro(Macro::ToTime) => out.push_str("fromUnixTimestamp64Milli({__to_ms:Int64})"),
            Piece::Macro(Macro::IntervalMs) => out.push_str("{__interval_ms:Int64}"),
            Piece::Macro(Macro::IntervalS) => out.push_str("{__interval_s:Int64}"),
            Piece::Macro(Macro::Clusters) => out.push_str("{__clusters:Array(String)}"),
            Piece::Macro(Macro::ClusterAttribute) => out.push_str("{__cluster_attribute:String}"),
        }
    }
    Ok(out)
}

/// Raw-SQL mode: the user's statement with its macros; the values of the
/// macros are bound parameters. Runs read-only with the store's result caps.
pub fn raw_statement(store: &ClickhouseStore, q: &ChQuery, cluster_values: &[String]) -> Result<Statement, String> {
    let sql = q.sql.as_deref().ok_or("no sql")?;
    let mut st = Statement { sql: expand_macros(sql)?, params: Vec::new() };
    st.bind("__from_ms", q.start_ms.to_string());
    st.bind("__to_ms", q.end_ms.to_string());
    st.bind("__interval_ms", q.step_ms.to_string());
    st.bind("__interval_s", (q.step_ms / 1000).max(1).to_string());
    st.bind("__clusters", array_param(cluster_values));
    st.bind("__cluster_attribute", string_param(&store.cluster_attribute));
    Ok(st)
}

/// Metric names of a store (editor completion): all three tables, most recent first.
pub fn metric_names_statement(store: &ClickhouseStore, cluster_values: &[String], from_ms: i64, to_ms: i64, prefix: &str, limit: u32) -> Statement {
    let mut st = Statement { sql: String::new(), params: Vec::new() };
    let clusters = st.bind("clusters", array_param(cluster_values));
    let cattr = st.bind("cattr", string_param(&store.cluster_attribute));
    let from = st.bind("from_ms", from_ms.to_string());
    let to = st.bind("to_ms", to_ms.to_string());
    let pre = st.bind("prefix", string_param(prefix));
    let lim = st.bind("limit", limit.to_string());
    let part = |t: &str, kind: &str| {
        format!(
            "SELECT MetricName AS name, '{kind}' AS kind, any(MetricDescription) AS help, any(MetricUnit) AS unit FROM {t} \
             WHERE TimeUnix >= fromUnixTimestamp64Milli({{{from}:Int64}}) AND TimeUnix <= fromUnixTimestamp64Milli({{{to}:Int64}}) \
             AND startsWith(MetricName, {{{pre}:String}}) \
             AND if(mapContains(ResourceAttributes, {{{cattr}:String}}), ResourceAttributes[{{{cattr}:String}}], Attributes[{{{cattr}:String}}]) IN {{{clusters}:Array(String)}} \
             GROUP BY MetricName"
        )
    };
    st.sql = format!(
        "SELECT name, kind, help, unit FROM ({} UNION ALL {} UNION ALL {}) ORDER BY name LIMIT {{{lim}:UInt32}}",
        part(&table(store, &store.gauge_table), "gauge"),
        part(&table(store, &store.sum_table), "sum"),
        part(&table(store, &store.histogram_table), "histogram"),
    );
    st
}

/// Attribute keys (`key = None`) or the values of one key, for a metric (optional).
pub fn attributes_statement(
    store: &ClickhouseStore,
    cluster_values: &[String],
    from_ms: i64,
    to_ms: i64,
    metric: Option<&str>,
    key: Option<&str>,
    limit: u32,
) -> Statement {
    let mut st = Statement { sql: String::new(), params: Vec::new() };
    let clusters = st.bind("clusters", array_param(cluster_values));
    let cattr = st.bind("cattr", string_param(&store.cluster_attribute));
    let from = st.bind("from_ms", from_ms.to_string());
    let to = st.bind("to_ms", to_ms.to_string());
    let lim = st.bind("limit", limit.to_string());
    let metric_filter = match metric {
        Some(m) => {
            let p = st.bind("metric", string_param(m));
            format!(" AND MetricName = {{{p}:String}}")
        }
        None => String::new(),
    };
    let select = match key {
        None => format!("arrayJoin(arrayFilter(k -> k != {{{cattr}:String}}, mapKeys(Attributes))) AS v"),
        Some(k) => {
            let p = st.bind("key", string_param(k));
            format!("{} AS v", attr(&p))
        }
    };
    let part = |t: &str| {
        format!(
            "SELECT DISTINCT {select} FROM {t} \
             WHERE TimeUnix >= fromUnixTimestamp64Milli({{{from}:Int64}}) AND TimeUnix <= fromUnixTimestamp64Milli({{{to}:Int64}}){metric_filter} \
             AND if(mapContains(ResourceAttributes, {{{cattr}:String}}), ResourceAttributes[{{{cattr}:String}}], Attributes[{{{cattr}:String}}]) IN {{{clusters}:Array(String)}}"
        )
    };
    st.sql = format!(
        "SELECT DISTINCT v FROM ({} UNION ALL {} UNION ALL {}) WHERE v != '' ORDER BY v LIMIT {{{lim}:UInt32}}",
        part(&table(store, &store.gauge_table)),
        part(&table(store, &store.sum_table)),
        part(&table(store, &store.histogram_table)),
    );
    st
}

/// The health probe: the store answers and the three tables exist.
pub fn health_statement(store: &ClickhouseStore) -> Statement {
    let mut st = Statement { sql: String::new(), params: Vec::new() };
    let db = st.bind("db", string_param(&store.database));
    let tables = st.bind("tables", array_param(&[store.gauge_table.clone(), store.sum_table.clone(), store.histogram_table.clone()]));
    st.sql = format!(
        "SELECT version() AS version, toUInt64(count()) AS tables FROM system.tables WHERE database = {{{db}:String}} AND name IN {{{tables}:Array(String)}}"
    );
    st
}

/// Newest point of the clusters and how many series wrote in the last 5 minutes of it.
pub fn latest_statement(store: &ClickhouseStore, cluster_values: &[String]) -> Statement {
    let mut st = Statement { sql: String::new(), params: Vec::new() };
    let clusters = st.bind("clusters", array_param(cluster_values));
    let cattr = st.bind("cattr", string_param(&store.cluster_attribute));
    let part = |t: &str| {
        format!(
            "SELECT MetricName, Attributes, toUnixTimestamp64Milli(toDateTime64(TimeUnix, 9)) AS ms FROM {t} \
             WHERE if(mapContains(ResourceAttributes, {{{cattr}:String}}), ResourceAttributes[{{{cattr}:String}}], Attributes[{{{cattr}:String}}]) IN {{{clusters}:Array(String)}}"
        )
    };
    st.sql = format!(
        "WITH (SELECT max(ms) FROM ({g} UNION ALL {s})) AS newest \
         SELECT toInt64(ifNull(newest, 0)) AS newest_ms, toUInt64(count()) AS series FROM \
         (SELECT DISTINCT MetricName, Attributes FROM ({g} UNION ALL {s}) WHERE ms > newest - 300000)",
        g = part(&table(store, &store.gauge_table)),
        s = part(&table(store, &store.sum_table)),
    );
    st
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::{QueryEnvelope, TimeRange};
    use crate::registry::Registry;

    fn store() -> std::sync::Arc<ClickhouseStore> {
        let reg = Registry::from_yaml("jsonData:\n  clickhouse:\n    - { id: central, url: \"http://ch:8123\" }\n").unwrap();
        reg.clickhouse_stores()[0].clone()
    }

    fn query(json: &str) -> ChQuery {
        let env = QueryEnvelope { ref_id: "A".into(), time_range: TimeRange::new(0, 3_600_000).unwrap(), interval_ms: 60_000, max_data_points: 100 };
        ChQuery::parse(json.as_bytes(), &env).unwrap()
    }

    #[test]
    fn values_only_travel_as_parameters() {
        let hostile = "x') OR 1=1; DROP TABLE t --";
        let q = query(
            &serde_json::json!({
                "metric": hostile,
                "matchers": [{"key": hostile, "op": "=~", "value": "a|b"}, {"key": "k", "op": "!=", "value": hostile}],
                "groupBy": [hostile],
            })
            .to_string(),
        );
        for function in [Function::Raw, Function::Rate, Function::HistogramQuantile] {
            let st = metrics_statement(&store(), &ChQuery { function, ..q.clone() }, &[hostile.to_owned(), "east".into()]);
            assert!(!st.sql.contains("DROP"), "{}", st.sql);
            assert!(!st.sql.contains("east"), "{}", st.sql);
            assert!(st.params.iter().any(|(k, v)| k == "metric" && v == hostile));
            assert!(st.params.iter().any(|(k, v)| k == "clusters" && v == r"['x\') OR 1=1; DROP TABLE t --','east']"), "{:?}", st.params);
            assert!(st.sql.contains("`otel`.`otel_metrics_"), "{}", st.sql);
        }
    }

    #[test]
    fn parameter_text_is_escaped_for_clickhouse() {
        assert_eq!(string_param("a\\b\tc\nd"), "a\\\\b\\tc\\nd");
        assert_eq!(array_param(&["it's".into(), "back\\slash".into()]), r"['it\'s','back\\slash']");
        assert_eq!(array_param(&[]), "[]");
    }

    #[test]
    fn macros_become_placeholders() {
        let out = expand_macros("SELECT 1 FROM t WHERE $__timeFilter(TimeUnix) AND c IN $__clusters AND s = $__interval_s").unwrap();
        assert_eq!(
            out,
            "SELECT 1 FROM t WHERE (TimeUnix >= fromUnixTimestamp64Milli({__from_ms:Int64}) AND TimeUnix <= fromUnixTimestamp64Milli({__to_ms:Int64})) \
             AND c IN {__clusters:Array(String)} AND s = {__interval_s:Int64}"
        );
        assert!(expand_macros("$__timeFilter(a); DROP TABLE t; --)").is_ok_and(|s| s.starts_with("(a >=")));
        assert!(expand_macros("$__timeFilter(1 OR 1)").is_err());
        assert!(expand_macros("$__unknown").unwrap_err().contains("unknown macro $__unknown"));
    }

    #[test]
    fn macros_inside_literals_identifiers_and_comments_stay_as_written() {
        let sql = "SELECT '$__fromTime', 'it''s $__x', 'a\\'$__y', \"$__z\", `$__w` FROM t -- $__nope\n\
                   WHERE /* $__timeFilter(bad col) */ $__timeFilter(TimeUnix) # $__also\nAND 1";
        let out = expand_macros(sql).unwrap();
        for kept in
            ["'$__fromTime'", "'it''s $__x'", "'a\\'$__y'", "\"$__z\"", "`$__w`", "-- $__nope\n", "/* $__timeFilter(bad col) */", "# $__also\n"]
        {
            assert!(out.contains(kept), "{kept} kept in {out}");
        }
        assert!(out.contains("(TimeUnix >= fromUnixTimestamp64Milli({__from_ms:Int64})"), "{out}");
        assert!(out.ends_with("AND 1"), "{out}");
        // An unclosed literal is left to ClickHouse to report; the code before it is expanded.
        assert_eq!(expand_macros("SELECT $__interval_ms, 'open $__x").unwrap(), "SELECT {__interval_ms:Int64}, 'open $__x");
        // A macro right after a literal is still one.
        assert_eq!(expand_macros("'a'$__interval").unwrap(), "'a'{__interval_s:Int64}");
    }
}
