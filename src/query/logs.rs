//! `queryType: logs` — LogQL across every cluster's Loki.
//!
//! Log queries (a stream selector plus pipeline) return lines, merged across
//! clusters with one global `limit`; metric queries (`rate(…[5m])`, `sum by`)
//! return samples and take the same step, alignment and `aggregate` as
//! `metrics` queries. The query is validated ([`super::logql`]) before fan-out.

use serde::Deserialize;

use super::logql::{self, LogqlKind};
use super::metrics::{Aggregate, MAX_EXPR_BYTES, effective_step_ms, expand_variables, format_duration, parse_duration_ms};
use super::{QueryEnvelope, QueryError};

/// Default and maximum lines per query (Loki's `max_entries_limit_per_query` default is 5000).
pub const DEFAULT_LIMIT: u32 = 100;
pub const MAX_LIMIT: u32 = 5000;

pub use crate::model::logs::Direction;

/// A validated LogQL query.
#[derive(Debug, Clone, PartialEq)]
pub struct LogsQuery {
    /// LogQL after `$__interval`-style expansion, as sent upstream.
    pub expr: String,
    /// Log query or metric query (decided by the validator).
    pub kind: LogqlKind,
    /// Instant query (`/loki/api/v1/query` at `end_ms`).
    pub instant: bool,
    /// Lines over all clusters together (log queries).
    pub limit: u32,
    pub direction: Direction,
    /// Metric queries: cross-cluster aggregation and legend.
    pub aggregate: Aggregate,
    pub legend_format: Option<String>,
    /// Effective step (metric range queries) in ms.
    pub step_ms: i64,
    /// Window; metric range queries are step-aligned, log queries use Grafana's range as is.
    pub start_ms: i64,
    pub end_ms: i64,
    /// This datasource's uid (from the query's `datasource.uid`), the target of derived-field links.
    pub datasource_uid: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    #[serde(default)]
    expr: Option<String>,
    #[serde(default)]
    limit: Option<LimitValue>,
    #[serde(default)]
    direction: Option<String>,
    #[serde(default)]
    instant: Option<bool>,
    #[serde(default)]
    range: Option<bool>,
    #[serde(default)]
    step: Option<serde_json::Value>,
    #[serde(default)]
    aggregate: Option<String>,
    #[serde(default)]
    legend_format: Option<String>,
    #[serde(default)]
    datasource: Option<DatasourceRef>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum LimitValue {
    Number(f64),
    Text(String),
}

#[derive(Debug, Deserialize)]
struct DatasourceRef {
    #[serde(default)]
    uid: Option<String>,
}

/// `30s`, `1m` or a number of seconds → ms.
fn parse_step_text(s: &str) -> Option<i64> {
    match s.parse::<f64>() {
        Ok(f) if f.is_finite() && f >= 0.0 => Some((f * 1000.0).round() as i64),
        Ok(_) => None,
        Err(_) => parse_duration_ms(s),
    }
}

fn field(field: &'static str, message: impl Into<String>) -> QueryError {
    QueryError::Field { field, message: message.into() }
}

/// A LogQL query's parts, typed: what [`LogsQuery::parse`] reads from the
/// query JSON and the `/api/v1/logs/query[_range]` handler from its body.
/// [`LogsQuery::from_params`] checks them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogsParams {
    /// LogQL before `$__interval`-style expansion.
    pub expr: String,
    pub instant: bool,
    /// Lines over all clusters; `None` = [`DEFAULT_LIMIT`].
    pub limit: Option<u32>,
    pub direction: Direction,
    /// The query's own minimum step in ms; 0 = none.
    pub min_step_ms: i64,
    pub aggregate: Aggregate,
    /// Empty and `__auto` mean none.
    pub legend_format: Option<String>,
    pub datasource_uid: Option<String>,
}

/// `limit` as JSON: a whole number, or text holding one (empty or `null` = the default).
pub fn parse_limit(v: &serde_json::Value) -> Result<Option<u32>, QueryError> {
    if v.is_null() {
        return Ok(None);
    }
    let limit = serde_json::from_value::<LimitValue>(v.clone()).map_err(|e| QueryError::Json(e.to_string()))?;
    limit_value(limit)
}

fn limit_value(v: LimitValue) -> Result<Option<u32>, QueryError> {
    match v {
        LimitValue::Text(t) if t.trim().is_empty() => Ok(None),
        LimitValue::Text(t) => t.trim().parse::<u32>().map(Some).map_err(|_| field("limit", format!("{t:?} is not a whole number"))),
        LimitValue::Number(n) if n.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&n) => Ok(Some(n as u32)),
        LimitValue::Number(n) => Err(field("limit", format!("{n} is not a whole number"))),
    }
}

/// `direction` as text: `backward` (also empty, the default) or `forward`.
pub fn parse_direction(s: Option<&str>) -> Result<Direction, QueryError> {
    match s.map(str::trim) {
        None | Some("") | Some("backward") => Ok(Direction::Backward),
        Some("forward") => Ok(Direction::Forward),
        Some(other) => Err(field("direction", format!("{other:?} is not backward or forward"))),
    }
}

impl LogsQuery {
    /// A query from typed parts, checked as the query JSON is: the expression's
    /// size, the limit's range, the step, `$__…` expansion, LogQL validation
    /// and the window (step-aligned for metric range queries).
    pub fn from_params(p: LogsParams, env: &QueryEnvelope) -> Result<Self, QueryError> {
        if p.expr.trim().is_empty() {
            return Err(field("expr", "a LogQL expression is required"));
        }
        if p.expr.len() > MAX_EXPR_BYTES {
            return Err(field("expr", format!("expression is {} bytes; the limit is {MAX_EXPR_BYTES}", p.expr.len())));
        }
        let limit = p.limit.unwrap_or(DEFAULT_LIMIT);
        if limit == 0 || limit > MAX_LIMIT {
            return Err(field("limit", format!("{limit} is outside 1..={MAX_LIMIT}")));
        }
        let step_ms = effective_step_ms(&env.time_range, env.interval_ms, env.max_data_points, p.min_step_ms.max(0));
        let expr = expand_variables(&p.expr, step_ms, &env.time_range).replace("$__auto", &format_duration(step_ms));
        let kind = logql::validate(&expr).map_err(QueryError::Logql)?;
        let (start_ms, end_ms) = match (kind, p.instant) {
            (_, true) => (env.time_range.to_ms, env.time_range.to_ms),
            (LogqlKind::Metric, false) => (env.time_range.from_ms.div_euclid(step_ms) * step_ms, env.time_range.to_ms.div_euclid(step_ms) * step_ms),
            (LogqlKind::Log, false) => (env.time_range.from_ms, env.time_range.to_ms),
        };
        Ok(LogsQuery {
            expr,
            kind,
            instant: p.instant,
            limit,
            direction: p.direction,
            aggregate: p.aggregate,
            legend_format: p.legend_format.filter(|l| !l.trim().is_empty() && l != "__auto"),
            step_ms,
            start_ms,
            end_ms,
            datasource_uid: p.datasource_uid.filter(|u| !u.is_empty()),
        })
    }

    pub fn parse(json: &[u8], env: &QueryEnvelope) -> Result<Self, QueryError> {
        let raw: Raw = serde_json::from_slice(json).map_err(|e| QueryError::Json(e.to_string()))?;
        let min_step_ms = match &raw.step {
            None | Some(serde_json::Value::Null) => 0,
            Some(serde_json::Value::Number(n)) => n
                .as_f64()
                .filter(|f| *f >= 0.0 && f.is_finite())
                .map(|f| (f * 1000.0).round() as i64)
                .ok_or_else(|| field("step", format!("{n} is not a valid number of seconds")))?,
            Some(serde_json::Value::String(s)) if s.trim().is_empty() || s.trim().starts_with('$') => 0,
            Some(serde_json::Value::String(s)) => {
                parse_step_text(s.trim()).ok_or_else(|| field("step", format!("{s:?} is not a duration like 30s or 1m")))?
            }
            Some(other) => return Err(field("step", format!("{other} is not a duration"))),
        };
        let params = LogsParams {
            expr: raw.expr.unwrap_or_default(),
            instant: matches!((raw.instant, raw.range), (Some(true), _) | (_, Some(false))),
            limit: raw.limit.map(limit_value).transpose()?.flatten(),
            direction: parse_direction(raw.direction.as_deref())?,
            min_step_ms,
            aggregate: Aggregate::parse(raw.aggregate.as_deref().unwrap_or(""))?,
            legend_format: raw.legend_format,
            datasource_uid: raw.datasource.and_then(|d| d.uid),
        };
        LogsQuery::from_params(params, env)
    }

    /// What `meta.executedQueryString` shows.
    pub fn executed_query_string(&self) -> String {
        match (self.kind, self.instant) {
            (_, true) => format!("Expr: {}\nInstant at: {}", self.expr, self.end_ms),
            (LogqlKind::Metric, false) => format!("Expr: {}\nStep: {}", self.expr, format_duration(self.step_ms)),
            (LogqlKind::Log, false) => format!("Expr: {}\nLimit: {} ({})", self.expr, self.limit, self.direction.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::TimeRange;

    fn env() -> QueryEnvelope {
        QueryEnvelope { ref_id: "A".into(), time_range: TimeRange::new(3_600_000, 7_200_000).unwrap(), interval_ms: 15_000, max_data_points: 1000 }
    }

    fn parse(json: &str) -> Result<LogsQuery, QueryError> {
        LogsQuery::parse(json.as_bytes(), &env())
    }

    #[test]
    fn log_query_defaults() {
        let q = parse(r#"{"expr":"{app=\"x\"}","datasource":{"type":"fleetscope-federation-datasource","uid":"fs1"}}"#).unwrap();
        assert_eq!((q.kind, q.limit, q.direction, q.instant), (LogqlKind::Log, 100, Direction::Backward, false));
        assert_eq!((q.start_ms, q.end_ms), (3_600_000, 7_200_000));
        assert_eq!(q.datasource_uid.as_deref(), Some("fs1"));
        let q = parse(r#"{"expr":"{app=\"x\"}","limit":"20","direction":"forward"}"#).unwrap();
        assert_eq!((q.limit, q.direction), (20, Direction::Forward));
    }

    #[test]
    fn metric_query_takes_step_and_aggregate() {
        let q = parse(r#"{"expr":"sum(rate({app=\"x\"}[$__auto]))","step":"1m","aggregate":"sum"}"#).unwrap();
        assert_eq!(q.kind, LogqlKind::Metric);
        assert_eq!(q.step_ms, 60_000);
        assert_eq!(q.expr, r#"sum(rate({app="x"}[60s]))"#);
        assert_eq!(q.aggregate, Aggregate::Sum);
    }

    #[test]
    fn bad_fields_name_the_field() {
        for (json, want) in [
            (r#"{"expr":""}"#, "`expr`"),
            (r#"{"expr":"{a=\"b\"}","limit":0}"#, "`limit`"),
            (r#"{"expr":"{a=\"b\"}","limit":9000}"#, "`limit`"),
            (r#"{"expr":"{a=\"b\"}","direction":"sideways"}"#, "`direction`"),
            (r#"{"expr":"{a=\"b\"} | json | x >="}"#, "invalid LogQL"),
        ] {
            let e = parse(json).unwrap_err();
            assert!(e.to_string().contains(want), "{json}: {e}");
        }
    }

    /// The typed constructor and the JSON parser agree, on good input and bad.
    #[test]
    fn constructor_matches_parse() {
        let params = |expr: &str| LogsParams {
            expr: expr.into(),
            limit: parse_limit(&serde_json::json!("20")).unwrap(),
            direction: parse_direction(Some("forward")).unwrap(),
            min_step_ms: 60_000,
            aggregate: Aggregate::Sum,
            legend_format: Some("__auto".into()),
            ..LogsParams::default()
        };
        let typed = LogsQuery::from_params(params(r#"sum(rate({app="x"}[$__auto]))"#), &env());
        let json = parse(
            r#"{"expr":"sum(rate({app=\"x\"}[$__auto]))","limit":"20","direction":"forward","step":60,"aggregate":"sum","legendFormat":"__auto"}"#,
        );
        assert_eq!(typed, json);
        assert_eq!(typed.unwrap().step_ms, 60_000);
        // Invalid LogQL, a limit out of range, a limit that is not a number.
        let e = LogsQuery::from_params(params(r#"{a="b"} | json | x >="#), &env());
        assert_eq!(e, parse(r#"{"expr":"{a=\"b\"} | json | x >=","limit":"20","direction":"forward","step":60,"aggregate":"sum"}"#));
        assert!(matches!(e, Err(QueryError::Logql(_))));
        let over = LogsParams { limit: Some(9000), ..params(r#"{a="b"}"#) };
        assert_eq!(LogsQuery::from_params(over, &env()), parse(r#"{"expr":"{a=\"b\"}","limit":9000}"#));
        assert_eq!(parse_limit(&serde_json::json!("many")).map(|_| ()), parse(r#"{"expr":"{a=\"b\"}","limit":"many"}"#).map(|_| ()));
        assert_eq!(parse_limit(&serde_json::Value::Null), Ok(None));
    }
}
