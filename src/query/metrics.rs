//! `queryType: metrics` — PromQL across clusters.
//!
//! Step, alignment and the `$__…` variables follow Grafana's own Prometheus
//! datasource (`pkg/promlib/models`), so dashboards behave the same when moved
//! to this datasource:
//! * the minimum interval is the query's own min step (`interval`/`step`),
//!   else Grafana's `intervalMs` but at least the scrape interval
//!   (`timeInterval`, default 15 s);
//! * the step is `range / maxDataPoints` (1500 when unset) rounded to a "nice"
//!   value (Grafana's table: 1s, 2s, 5s, 10s, 15s, 20s, 30s, 1m, …) unless that
//!   is below the minimum interval, and never below `range / 11000` rounded the
//!   same way (Prometheus' 11k-points limit);
//! * `$__rate_interval` is `max(intervalMs + scrape, 4 × scrape)` and is written
//!   the way Go prints a duration (`1m0s`), as Grafana does;
//! * range queries are aligned down to a multiple of the step, which also makes
//!   every cluster return the same timestamps (cross-cluster aggregation lines
//!   up exactly) and lets the cache hit across dashboard refreshes.
//!
//! The scrape interval is known only once the target clusters are (each may
//! override it), so [`MetricsQuery::with_scrape_interval`] re-resolves a parsed
//! query; parsing resolves it with Grafana's default.

use serde::Deserialize;

pub use crate::model::duration::{DEFAULT_SCRAPE_INTERVAL_MS, parse_duration_ms};

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
    /// The legend format as written (`__auto`, a `{{label}}` template); `None` when empty.
    pub legend_format: Option<String>,
    pub exemplars: bool,
    /// Effective step (range queries) in ms.
    pub step_ms: i64,
    /// Step-aligned window for range queries; `end_ms` is the evaluation time of instant queries.
    pub start_ms: i64,
    pub end_ms: i64,
    /// `range: true, instant: true` (the editor's "Both"): `instant` is set and
    /// [`MetricsQuery::parts`] gives the range query too.
    pub both: bool,
    /// What the step and expression were resolved from; `None` for queries built in code.
    pub inputs: Option<StepInputs>,
    /// This datasource's uid (`datasource.uid` of the query): exemplar trace links open its trace view.
    pub datasource_uid: Option<String>,
}

/// What a query's step and expanded expression depend on.
#[derive(Debug, Clone, PartialEq)]
pub struct StepInputs {
    /// The expression before `$__…` expansion.
    pub template: String,
    pub min_step: MinStep,
    pub time_range: TimeRange,
    pub interval_ms: i64,
    pub max_data_points: i64,
    /// The scrape interval the query is resolved for.
    pub scrape_interval_ms: i64,
}

/// The query's own minimum step (`interval`, Grafana's "Min step").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MinStep {
    #[default]
    Unset,
    Fixed(i64),
    /// `$__interval`: the calculated step.
    Interval,
    /// `$__rate_interval`: the step becomes the rate interval.
    RateInterval,
}

/// Upper bound on expression size: far beyond any real dashboard query, small
/// enough that a hostile query cannot make us send megabytes to every cluster.
pub const MAX_EXPR_BYTES: usize = 64 * 1024;
/// Prometheus rejects range queries with more than 11,000 points per series.
const MAX_POINTS: i64 = 11_000;
/// Scrape interval assumed for `$__rate_interval` by the Loki rules.
const SCRAPE_INTERVAL_MS: i64 = 15_000;
/// Grafana's resolution when a query has no `maxDataPoints`.
const DEFAULT_RESOLUTION: i64 = 1500;

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
    #[serde(default)]
    datasource: Option<DatasourceRef>,
}

#[derive(Debug, Deserialize)]
struct DatasourceRef {
    #[serde(default)]
    uid: Option<String>,
}

/// A step as `"30s"`, `"1m"`, `"15"` or a number of seconds.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum StepValue {
    Seconds(f64),
    Text(String),
}

/// A PromQL query's parts, typed: what [`MetricsQuery::parse`] reads from the
/// query JSON and the `/api/v1/metrics/query[_range]` handler from its body.
/// [`MetricsQuery::from_params`] checks them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricsParams {
    /// PromQL before `$__…` expansion.
    pub expr: String,
    pub instant: bool,
    /// The editor's "Both" (range and instant); `instant` is set too.
    pub both: bool,
    pub min_step: MinStep,
    pub aggregate: Aggregate,
    /// Empty means none.
    pub legend_format: Option<String>,
    pub exemplars: bool,
    pub datasource_uid: Option<String>,
}

impl MinStep {
    /// A min step of `secs` seconds (0 = unset), checked as a JSON number `step` is.
    pub fn from_seconds(secs: f64) -> Result<Self, QueryError> {
        min_step_of(&StepValue::Seconds(secs))
    }
}

impl MetricsQuery {
    /// A query from typed parts, checked as the query JSON is: the expression's
    /// size, the step (Grafana's rules, for the default scrape interval),
    /// `$__…` expansion, PromQL validation and the step-aligned window.
    pub fn from_params(p: MetricsParams, env: &QueryEnvelope) -> Result<Self, QueryError> {
        if p.expr.trim().is_empty() {
            return Err(QueryError::Field { field: "expr", message: "a PromQL expression is required".into() });
        }
        if p.expr.len() > MAX_EXPR_BYTES {
            return Err(QueryError::Field { field: "expr", message: format!("expression is {} bytes; the limit is {MAX_EXPR_BYTES}", p.expr.len()) });
        }
        let inputs = StepInputs {
            template: p.expr,
            min_step: p.min_step,
            time_range: env.time_range,
            interval_ms: env.interval_ms,
            max_data_points: env.max_data_points,
            scrape_interval_ms: DEFAULT_SCRAPE_INTERVAL_MS,
        };
        let (expr, step_ms, start_ms, end_ms) = resolve(&inputs, p.instant);
        validate_promql(&expr)?;
        Ok(MetricsQuery {
            expr,
            instant: p.instant,
            aggregate: p.aggregate,
            legend_format: p.legend_format.filter(|l| !l.trim().is_empty()),
            exemplars: p.exemplars,
            step_ms,
            start_ms,
            end_ms,
            both: p.both,
            inputs: Some(inputs),
            datasource_uid: p.datasource_uid.filter(|u| !u.is_empty()),
        })
    }

    pub fn parse(json: &[u8], env: &QueryEnvelope) -> Result<Self, QueryError> {
        let raw: Raw = serde_json::from_slice(json).map_err(|e| QueryError::Json(e.to_string()))?;
        let (instant, both) = match (raw.instant, raw.range) {
            (Some(true), Some(true)) => (true, true),
            (Some(true), _) => (true, false),
            (_, Some(false)) => (true, false),
            _ => (false, false),
        };
        let params = MetricsParams {
            expr: raw.expr.unwrap_or_default(),
            instant,
            both,
            min_step: raw.step.or(raw.interval).map(|s| min_step_of(&s)).transpose()?.unwrap_or(MinStep::Unset),
            aggregate: Aggregate::parse(raw.aggregate.as_deref().unwrap_or(""))?,
            legend_format: raw.legend_format,
            exemplars: raw.exemplars.or(raw.exemplar).unwrap_or(false),
            datasource_uid: raw.datasource.and_then(|d| d.uid),
        };
        MetricsQuery::from_params(params, env)
    }

    /// The same query resolved for another scrape interval (the largest of its
    /// target clusters': one step for all, so their series line up).
    pub fn with_scrape_interval(&self, scrape_interval_ms: i64) -> Result<MetricsQuery, QueryError> {
        let Some(inputs) = self.inputs.as_ref().filter(|i| i.scrape_interval_ms != scrape_interval_ms && scrape_interval_ms > 0) else {
            return Ok(self.clone());
        };
        let inputs = StepInputs { scrape_interval_ms, ..inputs.clone() };
        let (expr, step_ms, start_ms, end_ms) = resolve(&inputs, self.instant);
        validate_promql(&expr)?;
        Ok(MetricsQuery { expr, step_ms, start_ms, end_ms, inputs: Some(inputs), ..self.clone() })
    }

    /// The queries to send: the instant one, then the range one for "Both"
    /// (Grafana's order); otherwise the query itself.
    pub fn parts(&self) -> Vec<MetricsQuery> {
        let (true, Some(inputs)) = (self.both, self.inputs.as_ref()) else { return vec![self.clone()] };
        let (_, _, start_ms, end_ms) = resolve(inputs, false);
        vec![MetricsQuery { both: false, ..self.clone() }, MetricsQuery { both: false, instant: false, start_ms, end_ms, ..self.clone() }]
    }

    /// The step-aligned range window (of an instant query too: its exemplars
    /// are asked for over the dashboard's range, as Grafana does).
    pub fn range_window(&self) -> (i64, i64) {
        match &self.inputs {
            Some(i) => (align_down(i.time_range.from_ms, self.step_ms), align_down(i.time_range.to_ms, self.step_ms)),
            None => (self.start_ms, self.end_ms),
        }
    }

    /// What `meta.executedQueryString` shows: Grafana's `Expr: …\nStep: …`
    /// (the step printed as Go prints a duration), for instant queries too.
    pub fn executed_query_string(&self) -> String {
        format!("Expr: {}\nStep: {}", self.expr, go_duration(self.step_ms))
    }
}

/// Expression, step and window of a query resolved from its inputs.
fn resolve(inputs: &StepInputs, instant: bool) -> (String, i64, i64, i64) {
    let r = &inputs.time_range;
    let step_ms = grafana_step_ms(r, inputs.interval_ms, inputs.max_data_points, inputs.min_step, inputs.scrape_interval_ms);
    let expr = expand_grafana_variables(&inputs.template, step_ms, inputs);
    let (start_ms, end_ms) = if instant { (r.to_ms, r.to_ms) } else { (align_down(r.from_ms, step_ms), align_down(r.to_ms, step_ms)) };
    (expr, step_ms, start_ms, end_ms)
}

/// Grafana's "nice" interval for a calculated one (`gtime.RoundInterval`), in ms.
pub fn round_interval_ms(ms: f64) -> i64 {
    const TABLE: &[(f64, i64)] = &[
        (10.0, 1),
        (15.0, 10),
        (35.0, 20),
        (75.0, 50),
        (150.0, 100),
        (350.0, 200),
        (750.0, 500),
        (1_500.0, 1_000),
        (3_500.0, 2_000),
        (7_500.0, 5_000),
        (12_500.0, 10_000),
        (17_500.0, 15_000),
        (25_000.0, 20_000),
        (45_000.0, 30_000),
        (90_000.0, 60_000),
        (210_000.0, 120_000),
        (450_000.0, 300_000),
        (750_000.0, 600_000),
        (1_050_000.0, 900_000),
        (1_500_000.0, 1_200_000),
        (2_700_000.0, 1_800_000),
        (5_400_000.0, 3_600_000),
        (9_000_000.0, 7_200_000),
        (16_200_000.0, 10_800_000),
        (32_400_000.0, 21_600_000),
        (86_400_000.0, 43_200_000),
        (172_800_000.0, 86_400_000),
        (604_800_000.0, 86_400_000),
        (1_814_400_000.0, 604_800_000),
    ];
    for (limit, nice) in TABLE {
        if ms <= *limit {
            return *nice;
        }
    }
    if ms < 3_628_800_000.0 { 2_592_000_000 } else { 31_536_000_000 }
}

/// The step Grafana's Prometheus datasource uses (see the module docs), in ms.
pub fn grafana_step_ms(range: &TimeRange, interval_ms: i64, max_data_points: i64, min_step: MinStep, scrape_interval_ms: i64) -> i64 {
    let span = range.duration_ms().max(0) as f64;
    let min_interval = match min_step {
        MinStep::Fixed(ms) if ms > 0 => ms,
        _ => interval_ms.max(scrape_interval_ms),
    };
    let resolution = if max_data_points > 0 { max_data_points } else { DEFAULT_RESOLUTION };
    let calculated = span / resolution as f64;
    let calculated = if calculated < min_interval as f64 { min_interval } else { round_interval_ms(calculated) };
    let step = calculated.max(round_interval_ms(span / MAX_POINTS as f64));
    let step = if min_step == MinStep::RateInterval { rate_interval_ms(step, scrape_interval_ms) } else { step };
    step.max(1)
}

/// `$__rate_interval`: `max(interval + scrape, 4 × scrape)`.
pub fn rate_interval_ms(interval_ms: i64, scrape_ms: i64) -> i64 {
    (interval_ms + scrape_ms).max(4 * scrape_ms)
}

/// Expand `$__interval`, `$__rate_interval`, `$__range` (and their `_ms`/`_s`
/// forms, `${…}` spellings) with Grafana's values and spellings.
fn expand_grafana_variables(expr: &str, step_ms: i64, inputs: &StepInputs) -> String {
    if !expr.contains("$__") && !expr.contains("${__") {
        return expr.to_owned();
    }
    let range_ms = inputs.time_range.duration_ms();
    let range_s = (range_ms as f64 / 1000.0).round() as i64;
    let rate = match inputs.min_step {
        MinStep::RateInterval => step_ms,
        MinStep::Interval => rate_interval_ms(inputs.interval_ms, step_ms),
        MinStep::Fixed(ms) if ms > 0 => rate_interval_ms(inputs.interval_ms, ms),
        _ => rate_interval_ms(inputs.interval_ms, inputs.scrape_interval_ms),
    };
    substitute(
        expr,
        &[
            ("__interval_ms", step_ms.to_string()),
            ("__interval", format_interval(step_ms)),
            ("__rate_interval_ms", rate.to_string()),
            ("__rate_interval", promql_go_duration(rate)),
            ("__range_ms", range_ms.to_string()),
            ("__range_s", range_s.to_string()),
            ("__range", format!("{range_s}s")),
        ],
    )
}

/// Grafana's interval text (`gtime.FormatInterval`): the largest whole unit
/// (`90s` → `1m`, as Grafana writes `$__interval`).
pub fn format_interval(ms: i64) -> String {
    const UNITS: &[(i64, &str)] = &[(31_536_000_000, "y"), (86_400_000, "d"), (3_600_000, "h"), (60_000, "m"), (1_000, "s"), (1, "ms")];
    for (size, unit) in UNITS {
        if ms >= *size {
            return format!("{}{unit}", ms / size);
        }
    }
    "1ms".into()
}

/// A duration as Go's `time.Duration.String()` prints it (`15s`, `1m0s`,
/// `1h0m0s`, `1.5s`, `500ms`): Grafana's `executedQueryString` step.
pub fn go_duration(ms: i64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let sign = if ms < 0 { "-" } else { "" };
    let ms = ms.unsigned_abs();
    if ms < 1000 {
        return format!("{sign}{ms}ms");
    }
    let (h, m, s, frac) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    let secs = if frac == 0 { format!("{s}s") } else { format!("{s}.{}s", format!("{frac:03}").trim_end_matches('0')) };
    match (h, m) {
        (0, 0) => format!("{sign}{secs}"),
        (0, m) => format!("{sign}{m}m{secs}"),
        (h, m) => format!("{sign}{h}h{m}m{secs}"),
    }
}

/// [`go_duration`] where PromQL can read it; a fractional second (which
/// PromQL's duration syntax cannot write) falls back to milliseconds.
fn promql_go_duration(ms: i64) -> String {
    if ms % 1000 == 0 { go_duration(ms) } else { format!("{ms}ms") }
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
                if duration_next
                    && let Some(secs) = number_value(word)
                    && !(secs.is_finite() && secs <= MAX_DURATION_SECS)
                {
                    let line = expr[..start].matches('\n').count() + 1;
                    let col = expr[..start].rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                    return Err(format!(
                        "parse error at line {line}, col {col}: duration {word:?} is out of range (at most {} seconds, about 292 years)",
                        MAX_DURATION_SECS as i64
                    ));
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

/// The min step a `step` value asks for (`$__interval` and `$__rate_interval`
/// by name; 0 or an unresolved variable = unset).
pub fn min_step_of(s: &StepValue) -> Result<MinStep, QueryError> {
    if let StepValue::Text(t) = s {
        match t.trim() {
            "$__interval" | "${__interval}" => return Ok(MinStep::Interval),
            "$__rate_interval" | "${__rate_interval}" => return Ok(MinStep::RateInterval),
            _ => {}
        }
    }
    Ok(match parse_step(s)? {
        0 => MinStep::Unset,
        ms => MinStep::Fixed(ms),
    })
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

/// Format milliseconds the way PromQL durations are written (`15s`, `1500ms`).
pub fn format_duration(ms: i64) -> String {
    if ms % 1000 == 0 { format!("{}s", ms / 1000) } else { format!("{ms}ms") }
}

/// The step of a `logs` metric query (Loki): the largest of the min step,
/// `intervalMs`, `range / maxDataPoints` and `range / 11000`, in whole seconds (≥ 1 s).
/// Metrics queries use [`grafana_step_ms`].
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

/// Expand the interval/range variables of a `logs` query (Loki), longest names
/// first; metrics queries use Grafana's Prometheus spellings instead.
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
    substitute(expr, &subs)
}

/// Replace `${name}` and `$name` (not followed by more identifier characters),
/// in the order given: longer names that share a prefix come first.
fn substitute(expr: &str, subs: &[(&str, String)]) -> String {
    let mut out = expr.to_owned();
    for (name, value) in subs {
        out = out.replace(&format!("${{{name}}}"), value);
    }
    for (name, value) in subs {
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
