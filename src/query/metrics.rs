//! `queryType: metrics` — PromQL across clusters.
//!
//! Step, alignment and the `$__…` variables follow Grafana's own Prometheus
//! datasource (`pkg/promlib/models`), so dashboards behave the same when moved
//! to this datasource: the step is the largest of the query's minimum step,
//! Grafana's `intervalMs`, `range / maxDataPoints` and `range / 11000`, in whole
//! seconds; range queries are aligned down to a multiple of the step, which also
//! makes every cluster return the same timestamps (cross-cluster aggregation
//! lines up exactly) and lets the cache hit across dashboard refreshes.

use serde::Deserialize;

use super::{QueryEnvelope, QueryError, TimeRange};

/// Cross-cluster aggregation of identical series (see docs/query-model.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Aggregate {
    #[default]
    Merge,
    Sum,
    Avg,
    Min,
    Max,
}

impl Aggregate {
    pub fn parse(s: &str) -> Result<Self, QueryError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "merge" => Ok(Aggregate::Merge),
            "sum" => Ok(Aggregate::Sum),
            "avg" => Ok(Aggregate::Avg),
            "min" => Ok(Aggregate::Min),
            "max" => Ok(Aggregate::Max),
            other => Err(QueryError::Field { field: "aggregate", message: format!("{other:?} is not one of merge, sum, avg, min, max") }),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Aggregate::Merge => "merge",
            Aggregate::Sum => "sum",
            Aggregate::Avg => "avg",
            Aggregate::Min => "min",
            Aggregate::Max => "max",
        }
    }
}

/// A validated PromQL query with its effective step and window.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsQuery {
    /// PromQL after `$__interval`-style expansion, as sent upstream.
    pub expr: String,
    pub instant: bool,
    pub aggregate: Aggregate,
    pub legend_format: Option<String>,
    pub exemplars: bool,
    /// Effective step (range queries) in ms.
    pub step_ms: i64,
    /// Step-aligned window for range queries; `end_ms` is the evaluation time of instant queries.
    pub start_ms: i64,
    pub end_ms: i64,
}

/// Upper bound on expression size: far beyond any real dashboard query, small
/// enough that a hostile query cannot make us send megabytes to every cluster.
pub const MAX_EXPR_BYTES: usize = 64 * 1024;
/// Prometheus rejects range queries with more than 11,000 points per series.
const MAX_POINTS: i64 = 11_000;
/// Scrape interval assumed for `$__rate_interval` (Prometheus' default is 1m,
/// Grafana's is 15s; kube-prometheus scrapes every 15–30s).
const SCRAPE_INTERVAL_MS: i64 = 15_000;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    #[serde(default)]
    expr: Option<String>,
    #[serde(default)]
    instant: Option<bool>,
    #[serde(default)]
    range: Option<bool>,
    #[serde(default)]
    step: Option<StepValue>,
    #[serde(default)]
    interval: Option<StepValue>,
    #[serde(default)]
    aggregate: Option<String>,
    #[serde(default)]
    legend_format: Option<String>,
    #[serde(default)]
    exemplar: Option<bool>,
    #[serde(default)]
    exemplars: Option<bool>,
}

/// A step as `"30s"`, `"1m"`, `"15"` or a number of seconds.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum StepValue {
    Seconds(f64),
    Text(String),
}

impl MetricsQuery {
    pub fn parse(json: &[u8], env: &QueryEnvelope) -> Result<Self, QueryError> {
        let raw: Raw = serde_json::from_slice(json).map_err(|e| QueryError::Json(e.to_string()))?;
        let expr = raw.expr.unwrap_or_default();
        if expr.trim().is_empty() {
            return Err(QueryError::Field { field: "expr", message: "a PromQL expression is required".into() });
        }
        if expr.len() > MAX_EXPR_BYTES {
            return Err(QueryError::Field { field: "expr", message: format!("expression is {} bytes; the limit is {MAX_EXPR_BYTES}", expr.len()) });
        }
        let instant = match (raw.instant, raw.range) {
            (Some(true), _) => true,
            (_, Some(false)) => true,
            _ => false,
        };
        let min_step_ms = match raw.step.or(raw.interval) {
            None => 0,
            Some(s) => parse_step(&s)?,
        };
        let step_ms = effective_step_ms(&env.time_range, env.interval_ms, env.max_data_points, min_step_ms);
        let expr = expand_variables(&expr, step_ms, &env.time_range);
        validate_promql(&expr)?;
        let (start_ms, end_ms) = if instant {
            (env.time_range.to_ms, env.time_range.to_ms)
        } else {
            (align_down(env.time_range.from_ms, step_ms), align_down(env.time_range.to_ms, step_ms))
        };
        let legend_format = raw.legend_format.filter(|l| !l.trim().is_empty() && l != "__auto");
        Ok(MetricsQuery {
            expr,
            instant,
            aggregate: Aggregate::parse(raw.aggregate.as_deref().unwrap_or(""))?,
            legend_format,
            exemplars: raw.exemplars.or(raw.exemplar).unwrap_or(false),
            step_ms,
            start_ms,
            end_ms,
        })
    }

    /// What `meta.executedQueryString` shows.
    pub fn executed_query_string(&self) -> String {
        if self.instant {
            format!("Expr: {}\nInstant at: {}", self.expr, self.end_ms)
        } else {
            format!("Expr: {}\nStep: {}", self.expr, format_duration(self.step_ms))
        }
    }
}

/// Reject PromQL the way Prometheus would, before any cluster sees it.
pub fn validate_promql(expr: &str) -> Result<(), QueryError> {
    check_number_durations(expr).map_err(QueryError::Promql)?;
    // promql-parser is third-party code run on untrusted text: a panic left in
    // it must become an error, not a dead worker (release builds unwind).
    match std::panic::catch_unwind(|| promql_parser::parser::parse(expr)) {
        Ok(parsed) => parsed.map(|_| ()).map_err(|e| QueryError::Promql(e.to_string())),
        Err(_) => Err(QueryError::Promql("the PromQL parser failed on this expression".into())),
    }
}

/// Longest duration Prometheus represents (Go's `time.Duration`, int64
/// nanoseconds: about 292 years), in seconds.
const MAX_DURATION_SECS: f64 = i64::MAX as f64 / 1e9;

/// promql-parser 0.11 turns a duration written as a plain number (`x[2e222]`,
/// `x[5m:1e30]`, `x offset Inf`) into a `Duration` with
/// `Duration::from_secs_f64`, which panics when the number is too large,
/// infinite or NaN (fuzz artifact crash-22db22f4…: `-2[2e222]2`). Such numbers
/// are found here first, with a lexer that knows just enough PromQL: strings,
/// comments, brackets, `:` in a subquery and the `offset` keyword.
fn check_number_durations(expr: &str) -> Result<(), String> {
    let b = expr.as_bytes();
    let (mut i, mut in_brackets) = (0, false);
    // Whether the next word is a duration: after `[`, a subquery's `:`, or `offset [+-]`.
    let mut duration_next = false;
    while i < b.len() {
        let c = b[i];
        match c {
            b'"' | b'\'' | b'`' => {
                i += 1;
                while i < b.len() && b[i] != c {
                    i += if b[i] == b'\\' && c != b'`' { 2 } else { 1 };
                }
                i += 1;
                duration_next = false;
            }
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'[' | b']' | b':' => {
                in_brackets = c == b'[' || (c == b':' && in_brackets);
                duration_next = in_brackets;
                i += 1;
            }
            b'+' | b'-' if duration_next => i += 1,
            c if c.is_ascii_whitespace() => i += 1,
            c if c.is_ascii_alphanumeric() || c == b'_' || c == b'.' => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'_' | b'.') || (b[i] == b':' && !in_brackets)) {
                    // An exponent's sign belongs to the number: `1e+30`.
                    let exponent = matches!(b[i], b'e' | b'E') && (b[start].is_ascii_digit() || b[start] == b'.');
                    i += 1;
                    if exponent && i < b.len() && matches!(b[i], b'+' | b'-') {
                        i += 1;
                    }
                }
                let word = &expr[start..i];
                if duration_next && let Some(secs) = number_value(word) {
                    if !(secs.is_finite() && secs <= MAX_DURATION_SECS) {
                        let line = expr[..start].matches('\n').count() + 1;
                        let col = expr[..start].rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                        return Err(format!(
                            "parse error at line {line}, col {col}: duration {word:?} is out of range (at most {} seconds, about 292 years)",
                            MAX_DURATION_SECS as i64
                        ));
                    }
                }
                duration_next = word.eq_ignore_ascii_case("offset");
            }
            _ => {
                duration_next = false;
                i += expr[i..].chars().next().map_or(1, char::len_utf8);
            }
        }
    }
    Ok(())
}

/// A PromQL number literal's value (`1e30`, `.5`, `0x1f`, `Inf`, `NaN`); `None`
/// for anything else (a duration with units such as `5m`, a name).
fn number_value(word: &str) -> Option<f64> {
    if let Some(hex) = word.strip_prefix("0x").or_else(|| word.strip_prefix("0X")) {
        return u64::from_str_radix(hex, 16).ok().map(|n| n as f64);
    }
    word.parse::<f64>().ok()
}

fn parse_step(s: &StepValue) -> Result<i64, QueryError> {
    let bad = |m: String| QueryError::Field { field: "step", message: m };
    match s {
        StepValue::Seconds(f) if f.is_finite() && *f >= 0.0 && *f <= 86_400.0 * 365.0 => Ok((f * 1000.0).round() as i64),
        StepValue::Seconds(f) => Err(bad(format!("{f} is not a valid number of seconds"))),
        StepValue::Text(t) => {
            let t = t.trim();
            if t.is_empty() || t.starts_with('$') {
                // An unresolved template variable: fall back to Grafana's interval.
                return Ok(0);
            }
            if let Ok(f) = t.parse::<f64>() {
                return parse_step(&StepValue::Seconds(f));
            }
            parse_duration_ms(t).ok_or_else(|| bad(format!("{t:?} is not a duration like 30s, 1m or 1h30m")))
        }
    }
}

/// Parse a Prometheus duration (`1h30m`, `500ms`, `2d`) into milliseconds.
pub fn parse_duration_ms(s: &str) -> Option<i64> {
    let mut total: i64 = 0;
    let mut rest = s;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit())?;
        if digits == 0 {
            return None;
        }
        let n: i64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let mult = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 604_800_000,
            "y" => 31_536_000_000,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(mult)?)?;
        rest = &rest[unit_len..];
    }
    Some(total)
}

/// Format milliseconds the way PromQL durations are written (`15s`, `1500ms`).
pub fn format_duration(ms: i64) -> String {
    if ms % 1000 == 0 { format!("{}s", ms / 1000) } else { format!("{ms}ms") }
}

/// The step Grafana's Prometheus datasource would use, in whole seconds (≥ 1 s).
pub fn effective_step_ms(range: &TimeRange, interval_ms: i64, max_data_points: i64, min_step_ms: i64) -> i64 {
    let span = range.duration_ms().max(0);
    let by_points = if max_data_points > 0 { span / max_data_points } else { 0 };
    let safe = (span + MAX_POINTS - 1) / MAX_POINTS;
    let step = [interval_ms, min_step_ms, by_points, safe, 1_000].into_iter().max().unwrap_or(1_000);
    (step + 999) / 1_000 * 1_000
}

fn align_down(t: i64, step: i64) -> i64 {
    t.div_euclid(step) * step
}

/// Expand Grafana's interval/range variables, longest names first.
pub fn expand_variables(expr: &str, step_ms: i64, range: &TimeRange) -> String {
    if !expr.contains("$__") && !expr.contains("${__") {
        return expr.to_owned();
    }
    let range_ms = range.duration_ms();
    let rate = (step_ms + SCRAPE_INTERVAL_MS).max(4 * SCRAPE_INTERVAL_MS);
    let subs: [(&str, String); 7] = [
        ("__interval_ms", step_ms.to_string()),
        ("__interval", format_duration(step_ms)),
        ("__rate_interval_ms", rate.to_string()),
        ("__rate_interval", format_duration(rate)),
        ("__range_ms", range_ms.to_string()),
        ("__range_s", (range_ms / 1000).to_string()),
        ("__range", format!("{}s", range_ms / 1000)),
    ];
    let mut out = expr.to_owned();
    for (name, value) in &subs {
        out = out.replace(&format!("${{{name}}}"), value);
    }
    // Bare `$__name`: replace only where the name is not followed by more identifier chars.
    for (name, value) in &subs {
        let needle = format!("${name}");
        let mut result = String::with_capacity(out.len());
        let mut rest = out.as_str();
        while let Some(i) = rest.find(&needle) {
            let after = &rest[i + needle.len()..];
            let continues = after.chars().next().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
            result.push_str(&rest[..i]);
            result.push_str(if continues { &needle } else { value });
            rest = after;
        }
        result.push_str(rest);
        out = result;
    }
    out
}
