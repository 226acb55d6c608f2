//! The ClickHouse metrics query (`queryType: metrics`, `source: clickhouse`):
//! parsed and validated here, before anything reaches SQL.
//!
//! Step and window follow the PromQL path (`crate::query::metrics`): Grafana's
//! step rule (`grafana_step_ms`, resolved for the target clusters' scrape
//! interval), aligned down to a multiple of the step, so the two sources answer
//! the same question with the same timestamps.
//!
//! Where the answers differ from PromQL by design: `rate`/`increase` are
//! computed from the samples inside (t − step, t] without Prometheus'
//! extrapolation to the window's edges — the increase between the first and
//! the last sample divided by the time between them. On regularly scraped
//! series that is what Prometheus answers too (it extrapolates the same slope
//! over the whole window); they differ where a series starts or ends inside a
//! window (Prometheus extrapolates by up to half a scrape interval) and where
//! Prometheus stops its extrapolation at a counter's zero. Counter resets are
//! handled as Prometheus does: a drop means the counter restarted, and the new
//! value counts from 0.

use serde::{Deserialize, Serialize};

use crate::query::metrics::{Aggregate, DEFAULT_SCRAPE_INTERVAL_MS, MinStep, StepValue, format_duration, grafana_step_ms, min_step_of};
use crate::query::{QueryEnvelope, QueryError, TimeRange};

/// What is computed per series and step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Function {
    /// The latest sample in (t − step, t] (PromQL `m` when samples are at most a step apart).
    Raw,
    /// Per-second increase of a counter over (t − step, t] (`otel_metrics_sum`),
    /// a reset counting from 0 as in Prometheus (module docs: no extrapolation).
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
    /// `function` as written; empty = `raw`.
    pub fn parse(s: &str) -> Result<Self, QueryError> {
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

impl MatchOp {
    /// The operator as PromQL (and this query model's JSON) spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOp::Eq => "=",
            MatchOp::Ne => "!=",
            MatchOp::Re => "=~",
            MatchOp::NotRe => "!~",
        }
    }
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
    /// Raw-SQL mode (`sql`): the user's statement with macros (`crate::clickhouse::sql::raw_statement`);
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
    /// The legend format as written (`__auto`, a `{{label}}` template); `None` when empty.
    pub legend_format: Option<String>,
    pub step_ms: i64,
    pub start_ms: i64,
    pub end_ms: i64,
    /// What the step was resolved from (see [`ChQuery::with_scrape_interval`]).
    pub inputs: StepInputs,
}

/// What a query's step depends on, as in the PromQL path.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepInputs {
    pub min_step: MinStep,
    pub time_range: TimeRange,
    pub interval_ms: i64,
    pub max_data_points: i64,
    pub scrape_interval_ms: i64,
}

impl StepInputs {
    /// (step, start, end): Grafana's step, the window aligned down to it.
    fn resolve(&self) -> (i64, i64, i64) {
        let step = grafana_step_ms(&self.time_range, self.interval_ms, self.max_data_points, self.min_step, self.scrape_interval_ms).max(1);
        (step, self.time_range.from_ms.div_euclid(step) * step, self.time_range.to_ms.div_euclid(step) * step)
    }
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

/// The query's own minimum step, as the PromQL path reads `step`/`interval`.
/// `step` (or `interval`) as the query JSON writes it, read by the PromQL
/// path's rules (`crate::query::metrics::StepValue`).
fn parse_min_step(v: &serde_json::Value) -> Result<MinStep, QueryError> {
    let step = match v {
        serde_json::Value::Null => return Ok(MinStep::Unset),
        serde_json::Value::Number(n) => StepValue::Seconds(n.as_f64().unwrap_or(f64::NAN)),
        serde_json::Value::String(s) => StepValue::Text(s.clone()),
        other => return Err(field("step", format!("{other} is not a duration"))),
    };
    min_step_of(&step)
}

/// A ClickHouse query's parts, typed: what [`ChQuery::parse`] reads from the
/// query JSON and the `/api/v1/cluster-metrics` handlers build from their
/// parameters. [`ChQuery::from_params`] checks them.
#[derive(Debug, Clone, PartialEq)]
pub struct ChParams {
    pub metric: String,
    /// Raw-SQL mode; empty means none.
    pub sql: Option<String>,
    /// Unchecked matchers (keys, values and count are checked by `from_params`).
    pub matchers: Vec<Matcher>,
    pub function: Function,
    /// `histogram_quantile` only; 0.95 when `None`.
    pub quantile: Option<f64>,
    pub group_by: Option<Vec<String>>,
    pub reduce: Reduce,
    pub aggregate: Aggregate,
    pub legend_format: Option<String>,
    pub min_step: MinStep,
}

impl Default for ChParams {
    fn default() -> Self {
        ChParams {
            metric: String::new(),
            sql: None,
            matchers: Vec::new(),
            function: Function::Raw,
            quantile: None,
            group_by: None,
            reduce: Reduce::Sum,
            aggregate: Aggregate::default(),
            legend_format: None,
            min_step: MinStep::Unset,
        }
    }
}

/// Matchers as the query JSON writes them: a list of `{key, op, value}`
/// objects or PromQL selector text (`{gpu="0", model_name=~"H100.*"}`).
pub fn parse_matchers(v: &serde_json::Value) -> Result<Vec<Matcher>, QueryError> {
    matcher_list(MatcherList::deserialize(v).map_err(|e| field("matchers", e.to_string()))?)
}

fn matcher_list(list: MatcherList) -> Result<Vec<Matcher>, QueryError> {
    match list {
        MatcherList::Text(t) => parse_selector(&t),
        MatcherList::List(l) => {
            l.into_iter().map(|m| Ok(Matcher { op: parse_op(m.op.as_deref().unwrap_or("="))?, key: m.key, value: m.value })).collect()
        }
    }
}

impl Reduce {
    /// `reduce` as written; empty = `sum`.
    pub fn parse(s: &str) -> Result<Self, QueryError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "sum" => Ok(Reduce::Sum),
            "avg" => Ok(Reduce::Avg),
            "min" => Ok(Reduce::Min),
            "max" => Ok(Reduce::Max),
            "count" => Ok(Reduce::Count),
            other => Err(field("reduce", format!("{other:?} is not one of sum, avg, min, max, count"))),
        }
    }
}

impl ChQuery {
    pub fn parse(json: &[u8], env: &QueryEnvelope) -> Result<Self, QueryError> {
        let raw: Raw = serde_json::from_slice(json).map_err(|e| QueryError::Json(e.to_string()))?;
        let params = ChParams {
            metric: raw.metric.unwrap_or_default(),
            sql: raw.sql,
            matchers: raw.matchers.map(matcher_list).transpose()?.unwrap_or_default(),
            function: Function::parse(raw.function.as_deref().unwrap_or(""))?,
            quantile: raw.quantile,
            group_by: raw.group_by,
            reduce: Reduce::parse(raw.reduce.as_deref().unwrap_or(""))?,
            aggregate: Aggregate::parse(raw.aggregate.as_deref().unwrap_or(""))?,
            legend_format: raw.legend_format,
            min_step: match raw.step.as_ref().or(raw.interval.as_ref()) {
                None => MinStep::Unset,
                Some(v) => parse_min_step(v)?,
            },
        };
        ChQuery::from_params(params, env)
    }

    /// A query from typed parts, checked as the query JSON is: the SQL's size
    /// and macros, the metric name, matchers, φ, group-by keys, and the step
    /// (Grafana's rules, for the default scrape interval) with its aligned window.
    pub fn from_params(p: ChParams, env: &QueryEnvelope) -> Result<Self, QueryError> {
        let sql = p.sql.filter(|s| !s.trim().is_empty());
        if let Some(s) = &sql {
            if s.len() > MAX_SQL_BYTES {
                return Err(field("sql", format!("{} bytes; the limit is {MAX_SQL_BYTES}", s.len())));
            }
            super::sql_macros::scan(s).map_err(|m| field("sql", m))?;
        }
        let metric = p.metric.trim().to_owned();
        if metric.is_empty() && sql.is_none() {
            return Err(field("metric", "a metric name is required (source: clickhouse)"));
        }
        if metric.len() > 1024 || metric.chars().any(char::is_control) {
            return Err(field("metric", "at most 1024 characters, no control characters"));
        }
        let matchers = p.matchers.into_iter().map(check_matcher).collect::<Result<Vec<_>, _>>()?;
        if matchers.len() > MAX_MATCHERS {
            return Err(field("matchers", format!("{} matchers; the limit is {MAX_MATCHERS}", matchers.len())));
        }
        let quantile = p.quantile.unwrap_or(0.95);
        if p.function == Function::HistogramQuantile && !(0.0..=1.0).contains(&quantile) {
            return Err(field("quantile", format!("{quantile} is not between 0 and 1")));
        }
        let group_by = match p.group_by {
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
        let inputs = StepInputs {
            min_step: p.min_step,
            time_range: env.time_range,
            interval_ms: env.interval_ms,
            max_data_points: env.max_data_points,
            scrape_interval_ms: DEFAULT_SCRAPE_INTERVAL_MS,
        };
        let (step_ms, start_ms, end_ms) = inputs.resolve();
        Ok(ChQuery {
            metric,
            sql,
            matchers,
            function: p.function,
            quantile,
            group_by,
            reduce: p.reduce,
            aggregate: p.aggregate,
            legend_format: p.legend_format.filter(|l| !l.trim().is_empty()),
            step_ms,
            start_ms,
            end_ms,
            inputs,
        })
    }

    /// The same query resolved for the target clusters' scrape interval (the
    /// largest of theirs, `Registry::scrape_interval_for`), exactly as the
    /// PromQL path resolves its step, so both sources step alike.
    pub fn with_scrape_interval(&self, scrape_interval_ms: i64) -> ChQuery {
        if scrape_interval_ms <= 0 || scrape_interval_ms == self.inputs.scrape_interval_ms {
            return self.clone();
        }
        let inputs = StepInputs { scrape_interval_ms, ..self.inputs };
        let (step_ms, start_ms, end_ms) = inputs.resolve();
        ChQuery { step_ms, start_ms, end_ms, inputs, ..self.clone() }
    }

    /// The matchers as PromQL writes them inside braces: `job="api", env=~"prod|stage"`
    /// (values quoted as Prometheus prints them, Go's `%q`).
    fn matchers_text(&self) -> String {
        self.matchers.iter().map(|m| format!("{}{}{}", m.key, m.op.as_str(), crate::model::go_quote(&m.value))).collect::<Vec<_>>().join(", ")
    }

    /// The PromQL expression that asks Prometheus the same question. It is
    /// what label-less series are named after (`displayNameFromDS`, as the
    /// Prometheus path names them after its expression), so a panel shows the
    /// same names whichever source answers. Raw SQL has no PromQL twin: its text.
    pub fn promql(&self) -> String {
        if let Some(sql) = &self.sql {
            return sql.clone();
        }
        let sel = self.matchers_text();
        let selector = |metric: &str| if sel.is_empty() { metric.to_owned() } else { format!("{metric}{{{sel}}}") };
        let window = format_duration(self.step_ms);
        let by = |keys: &[String]| if keys.is_empty() { String::new() } else { format!(" by ({})", keys.join(", ")) };
        let reduce = serde_json::to_value(self.reduce).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        if self.function == Function::HistogramQuantile {
            let rate = format!("rate({}[{window}])", selector(&format!("{}_bucket", self.metric)));
            let mut keys = vec!["le".to_owned()];
            keys.extend(self.group_by.iter().flatten().cloned());
            let inner = if self.group_by.is_some() { format!("{reduce}{} ({rate})", by(&keys)) } else { rate };
            return format!("histogram_quantile({}, {inner})", self.quantile);
        }
        let sel = selector(&self.metric);
        let inner = match self.function {
            Function::Raw | Function::HistogramQuantile => sel,
            f => format!("{}({sel}[{window}])", f.as_str()),
        };
        match &self.group_by {
            None => inner,
            // PromQL's own spelling: `sum(m)`, `sum by (a) (m)`.
            Some(keys) if keys.is_empty() => format!("{reduce}({inner})"),
            Some(keys) => format!("{reduce}{} ({inner})", by(keys)),
        }
    }

    /// What `meta.executedQueryString` shows: the query in PromQL-like words.
    pub fn describe(&self) -> String {
        if let Some(sql) = &self.sql {
            return format!("ClickHouse SQL: {sql}\nStep: {}", format_duration(self.step_ms));
        }
        let sel = self.matchers_text();
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
        format!("{s}\nStep: {}", format_duration(self.step_ms))
    }
}
