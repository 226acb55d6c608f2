//! The ClickHouse metrics query (`queryType: metrics`, `source: clickhouse`):
//! parsed and validated here, before anything reaches SQL.
//!
//! Step and window follow the PromQL path (`crate::query::metrics`): the same
//! effective step, aligned down to a multiple of the step, so the two sources
//! answer the same question with the same timestamps.

use serde::{Deserialize, Serialize};

use crate::query::metrics::{Aggregate, effective_step_ms, parse_duration_ms};
use crate::query::{QueryEnvelope, QueryError};

/// What is computed per series and step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Function {
    /// The latest sample in (t − step, t] (PromQL `m` when samples are at most a step apart).
    Raw,
    /// Per-second increase of a counter over (t − step, t] (`otel_metrics_sum`).
    Rate,
    /// Increase of a counter over the step (`rate × step`).
    Increase,
    /// `avg_over_time` / `min_over_time` / `max_over_time` over (t − step, t].
    Avg,
    Min,
    Max,
    /// `histogram_quantile(q, …)` over the step's bucket increases (`otel_metrics_histogram`).
    HistogramQuantile,
}

impl Function {
    fn parse(s: &str) -> Result<Self, QueryError> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "" | "raw" => Function::Raw,
            "rate" => Function::Rate,
            "increase" => Function::Increase,
            "avg" | "avg_over_time" => Function::Avg,
            "min" | "min_over_time" => Function::Min,
            "max" | "max_over_time" => Function::Max,
            "histogram_quantile" | "quantile" => Function::HistogramQuantile,
            other => {
                return Err(field(
                    "function",
                    format!("{other:?} is not one of raw, rate, increase, avg_over_time, min_over_time, max_over_time, histogram_quantile"),
                ));
            }
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Function::Raw => "raw",
            Function::Rate => "rate",
            Function::Increase => "increase",
            Function::Avg => "avg_over_time",
            Function::Min => "min_over_time",
            Function::Max => "max_over_time",
            Function::HistogramQuantile => "histogram_quantile",
        }
    }
}

/// A label matcher, as in PromQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum MatchOp {
    #[serde(rename = "=")]
    Eq,
    #[serde(rename = "!=")]
    Ne,
    #[serde(rename = "=~")]
    Re,
    #[serde(rename = "!~")]
    NotRe,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Matcher {
    pub key: String,
    pub op: MatchOp,
    pub value: String,
}

/// How series of one cluster are combined when `groupBy` is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Reduce {
    Sum,
    Avg,
    Min,
    Max,
    Count,
}

/// A validated ClickHouse metrics query.
#[derive(Debug, Clone, PartialEq)]
pub struct ChQuery {
    pub metric: String,
    /// Raw-SQL mode (`sql`): the user's statement with macros (`sql::raw_statement`);
    /// `metric`, `matchers`, `function` and `groupBy` are then unused.
    pub sql: Option<String>,
    pub matchers: Vec<Matcher>,
    pub function: Function,
    /// `histogram_quantile` only: φ in [0, 1].
    pub quantile: f64,
    /// Attributes to group by (PromQL `sum by (…)`); `None` keeps every series.
    pub group_by: Option<Vec<String>>,
    pub reduce: Reduce,
    pub aggregate: Aggregate,
    pub legend_format: Option<String>,
    pub step_ms: i64,
    pub start_ms: i64,
    pub end_ms: i64,
}

pub const MAX_VALUE_BYTES: usize = 4096;
pub const MAX_SQL_BYTES: usize = 64 * 1024;
const MAX_MATCHERS: usize = 32;
const MAX_GROUP_BY: usize = 16;

fn field(name: &'static str, message: impl Into<String>) -> QueryError {
    QueryError::Field { field: name, message: message.into() }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    #[serde(default)]
    metric: Option<String>,
    #[serde(default)]
    sql: Option<String>,
    #[serde(default)]
    matchers: Option<MatcherList>,
    #[serde(default)]
    function: Option<String>,
    #[serde(default)]
    quantile: Option<f64>,
    #[serde(default)]
    group_by: Option<Vec<String>>,
    #[serde(default)]
    reduce: Option<String>,
    #[serde(default)]
    aggregate: Option<String>,
    #[serde(default)]
    legend_format: Option<String>,
    #[serde(default)]
    step: Option<serde_json::Value>,
    #[serde(default)]
    interval: Option<serde_json::Value>,
}

/// Matchers as a list of `{key, op, value}` objects or as PromQL selector text
/// (`{gpu="0", model_name=~"H100.*"}`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum MatcherList {
    List(Vec<RawMatcher>),
    Text(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMatcher {
    key: String,
    #[serde(default)]
    op: Option<String>,
    #[serde(default)]
    value: String,
}

/// An attribute key: what OpenTelemetry and Prometheus allow, no control characters.
pub fn valid_attribute_key(k: &str) -> bool {
    !k.is_empty() && k.len() <= 256 && !k.chars().any(char::is_control)
}

fn parse_op(s: &str) -> Result<MatchOp, QueryError> {
    match s.trim() {
        "" | "=" => Ok(MatchOp::Eq),
        "!=" => Ok(MatchOp::Ne),
        "=~" => Ok(MatchOp::Re),
        "!~" => Ok(MatchOp::NotRe),
        other => Err(field("matchers", format!("operator {other:?} is not one of =, !=, =~, !~"))),
    }
}

fn check_matcher(m: Matcher) -> Result<Matcher, QueryError> {
    if !valid_attribute_key(&m.key) {
        return Err(field("matchers", format!("{:?} is not a valid attribute key", m.key)));
    }
    if m.value.len() > MAX_VALUE_BYTES {
        return Err(field("matchers", format!("the value for {:?} is {} bytes; the limit is {MAX_VALUE_BYTES}", m.key, m.value.len())));
    }
    if matches!(m.op, MatchOp::Re | MatchOp::NotRe) {
        // ClickHouse (re2) and Prometheus (Go RE2) anchor the same way we do: ^(?:…)$.
        regex::Regex::new(&format!("^(?:{})$", m.value)).map_err(|e| field("matchers", format!("regex for {:?}: {e}", m.key)))?;
    }
    Ok(m)
}

/// Parse `{a="b", c=~"d.*"}` (braces optional): PromQL string escapes in values.
pub fn parse_selector(text: &str) -> Result<Vec<Matcher>, QueryError> {
    let t = text.trim();
    let t = t.strip_prefix('{').map(|r| r.strip_suffix('}').unwrap_or(r)).unwrap_or(t);
    let chars: Vec<char> = t.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    let bad = |m: String| field("matchers", m);
    loop {
        while i < chars.len() && (chars[i].is_whitespace() || chars[i] == ',') {
            i += 1;
        }
        if i >= chars.len() {
            break;
        }
        let start = i;
        while i < chars.len() && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '.' | '-' | ':' | '/')) {
            i += 1;
        }
        let key: String = chars[start..i].iter().collect();
        if key.is_empty() {
            return Err(bad(format!("expected an attribute name at character {}", start + 1)));
        }
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        let op_start = i;
        while i < chars.len() && matches!(chars[i], '=' | '!' | '~') {
            i += 1;
        }
        let op = parse_op(&chars[op_start..i].iter().collect::<String>())?;
        if op_start == i {
            return Err(bad(format!("expected =, !=, =~ or !~ after {key:?}")));
        }
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        let quote = match chars.get(i) {
            Some(q @ ('"' | '\'' | '`')) => *q,
            _ => return Err(bad(format!("expected a quoted value after {key}{}", chars[op_start..i].iter().collect::<String>().trim()))),
        };
        i += 1;
        let mut value = String::new();
        loop {
            match chars.get(i) {
                None => return Err(bad(format!("unterminated string for {key:?}"))),
                Some(c) if *c == quote => {
                    i += 1;
                    break;
                }
                Some('\\') if quote != '`' => {
                    let e = chars.get(i + 1).copied().ok_or_else(|| bad(format!("unterminated string for {key:?}")))?;
                    value.push(match e {
                        'n' => '\n',
                        't' => '\t',
                        'r' => '\r',
                        other => other,
                    });
                    i += 2;
                }
                Some(c) => {
                    value.push(*c);
                    i += 1;
                }
            }
        }
        out.push(check_matcher(Matcher { key, op, value })?);
    }
    Ok(out)
}

fn parse_step_ms(v: &serde_json::Value) -> Result<i64, QueryError> {
    let bad = |m: String| field("step", m);
    match v {
        serde_json::Value::Number(n) => match n.as_f64() {
            Some(f) if f.is_finite() && (0.0..=86_400.0 * 365.0).contains(&f) => Ok((f * 1000.0).round() as i64),
            _ => Err(bad(format!("{n} is not a valid number of seconds"))),
        },
        serde_json::Value::String(s) => {
            let s = s.trim();
            if s.is_empty() || s.starts_with('$') {
                return Ok(0);
            }
            if let Ok(f) = s.parse::<f64>() {
                return parse_step_ms(&serde_json::json!(f));
            }
            parse_duration_ms(s).ok_or_else(|| bad(format!("{s:?} is not a duration like 30s, 1m or 1h30m")))
        }
        serde_json::Value::Null => Ok(0),
        other => Err(bad(format!("{other} is not a duration"))),
    }
}

impl ChQuery {
    pub fn parse(json: &[u8], env: &QueryEnvelope) -> Result<Self, QueryError> {
        let raw: Raw = serde_json::from_slice(json).map_err(|e| QueryError::Json(e.to_string()))?;
        let sql = raw.sql.filter(|s| !s.trim().is_empty());
        if let Some(s) = &sql {
            if s.len() > MAX_SQL_BYTES {
                return Err(field("sql", format!("{} bytes; the limit is {MAX_SQL_BYTES}", s.len())));
            }
            super::sql::expand_macros(s).map_err(|m| field("sql", m))?;
        }
        let metric = raw.metric.unwrap_or_default().trim().to_owned();
        if metric.is_empty() && sql.is_none() {
            return Err(field("metric", "a metric name is required (source: clickhouse)"));
        }
        if metric.len() > 1024 || metric.chars().any(char::is_control) {
            return Err(field("metric", "at most 1024 characters, no control characters"));
        }
        let matchers = match raw.matchers {
            None => Vec::new(),
            Some(MatcherList::Text(t)) => parse_selector(&t)?,
            Some(MatcherList::List(l)) => l
                .into_iter()
                .map(|m| check_matcher(Matcher { op: parse_op(m.op.as_deref().unwrap_or("="))?, key: m.key, value: m.value }))
                .collect::<Result<_, _>>()?,
        };
        if matchers.len() > MAX_MATCHERS {
            return Err(field("matchers", format!("{} matchers; the limit is {MAX_MATCHERS}", matchers.len())));
        }
        let function = Function::parse(raw.function.as_deref().unwrap_or(""))?;
        let quantile = raw.quantile.unwrap_or(0.95);
        if function == Function::HistogramQuantile && !(0.0..=1.0).contains(&quantile) {
            return Err(field("quantile", format!("{quantile} is not between 0 and 1")));
        }
        let group_by = match raw.group_by {
            None => None,
            Some(keys) => {
                if keys.len() > MAX_GROUP_BY {
                    return Err(field("groupBy", format!("{} attributes; the limit is {MAX_GROUP_BY}", keys.len())));
                }
                let mut out: Vec<String> = Vec::with_capacity(keys.len());
                for k in keys {
                    let k = k.trim().to_owned();
                    if !valid_attribute_key(&k) {
                        return Err(field("groupBy", format!("{k:?} is not a valid attribute key")));
                    }
                    if !out.contains(&k) {
                        out.push(k);
                    }
                }
                Some(out)
            }
        };
        let reduce = match raw.reduce.as_deref().map(|r| r.trim().to_ascii_lowercase()).as_deref() {
            None | Some("" | "sum") => Reduce::Sum,
            Some("avg") => Reduce::Avg,
            Some("min") => Reduce::Min,
            Some("max") => Reduce::Max,
            Some("count") => Reduce::Count,
            Some(other) => return Err(field("reduce", format!("{other:?} is not one of sum, avg, min, max, count"))),
        };
        let min_step_ms = match raw.step.as_ref().or(raw.interval.as_ref()) {
            None => 0,
            Some(v) => parse_step_ms(v)?,
        };
        let step_ms = effective_step_ms(&env.time_range, env.interval_ms, env.max_data_points, min_step_ms);
        Ok(ChQuery {
            metric,
            sql,
            matchers,
            function,
            quantile,
            group_by,
            reduce,
            aggregate: Aggregate::parse(raw.aggregate.as_deref().unwrap_or(""))?,
            legend_format: raw.legend_format.filter(|l| !l.trim().is_empty() && l != "__auto"),
            step_ms,
            start_ms: env.time_range.from_ms.div_euclid(step_ms) * step_ms,
            end_ms: env.time_range.to_ms.div_euclid(step_ms) * step_ms,
        })
    }

    /// What `meta.executedQueryString` shows: the query in PromQL-like words.
    pub fn describe(&self) -> String {
        if let Some(sql) = &self.sql {
            return format!("ClickHouse SQL: {sql}\nStep: {}", crate::query::metrics::format_duration(self.step_ms));
        }
        let sel = self
            .matchers
            .iter()
            .map(|m| {
                let op = match m.op {
                    MatchOp::Eq => "=",
                    MatchOp::Ne => "!=",
                    MatchOp::Re => "=~",
                    MatchOp::NotRe => "!~",
                };
                format!("{}{op}{:?}", m.key, m.value)
            })
            .collect::<Vec<_>>()
            .join(", ");
        let mut s = format!("ClickHouse: {}({}{{{sel}}})", self.function.as_str(), self.metric);
        if self.function == Function::HistogramQuantile {
            s = format!("ClickHouse: histogram_quantile({}, {}{{{sel}}})", self.quantile, self.metric);
        }
        if let Some(g) = &self.group_by {
            s = format!(
                "{} by ({}) {}",
                serde_json::to_value(self.reduce).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
                g.join(", "),
                s
            );
        }
        format!("{s}\nStep: {}", crate::query::metrics::format_duration(self.step_ms))
    }
}
