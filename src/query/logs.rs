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

impl LogsQuery {
    pub fn parse(json: &[u8], env: &QueryEnvelope) -> Result<Self, QueryError> {
        let raw: Raw = serde_json::from_slice(json).map_err(|e| QueryError::Json(e.to_string()))?;
        let expr = raw.expr.unwrap_or_default();
        if expr.trim().is_empty() {
            return Err(field("expr", "a LogQL expression is required"));
        }
        if expr.len() > MAX_EXPR_BYTES {
            return Err(field("expr", format!("expression is {} bytes; the limit is {MAX_EXPR_BYTES}", expr.len())));
        }
        let limit = match raw.limit {
            None => DEFAULT_LIMIT,
            Some(LimitValue::Text(t)) if t.trim().is_empty() => DEFAULT_LIMIT,
            Some(LimitValue::Text(t)) => t.trim().parse::<u32>().map_err(|_| field("limit", format!("{t:?} is not a whole number")))?,
            Some(LimitValue::Number(n)) if n.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&n) => n as u32,
            Some(LimitValue::Number(n)) => return Err(field("limit", format!("{n} is not a whole number"))),
        };
        if limit == 0 || limit > MAX_LIMIT {
            return Err(field("limit", format!("{limit} is outside 1..={MAX_LIMIT}")));
        }
        let direction = match raw.direction.as_deref().map(str::trim) {
            None | Some("") | Some("backward") => Direction::Backward,
            Some("forward") => Direction::Forward,
            Some(other) => return Err(field("direction", format!("{other:?} is not backward or forward"))),
        };
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
        let step_ms = effective_step_ms(&env.time_range, env.interval_ms, env.max_data_points, min_step_ms);
        let expr = expand_variables(&expr, step_ms, &env.time_range).replace("$__auto", &format_duration(step_ms));
        let kind = logql::validate(&expr).map_err(QueryError::Logql)?;
        let instant = matches!((raw.instant, raw.range), (Some(true), _) | (_, Some(false)));
        let (start_ms, end_ms) = match (kind, instant) {
            (_, true) => (env.time_range.to_ms, env.time_range.to_ms),
            (LogqlKind::Metric, false) => (env.time_range.from_ms.div_euclid(step_ms) * step_ms, env.time_range.to_ms.div_euclid(step_ms) * step_ms),
            (LogqlKind::Log, false) => (env.time_range.from_ms, env.time_range.to_ms),
        };
        Ok(LogsQuery {
            expr,
            kind,
            instant,
            limit,
            direction,
            aggregate: Aggregate::parse(raw.aggregate.as_deref().unwrap_or(""))?,
            legend_format: raw.legend_format.filter(|l| !l.trim().is_empty() && l != "__auto"),
            step_ms,
            start_ms,
            end_ms,
            datasource_uid: raw.datasource.and_then(|d| d.uid).filter(|u| !u.is_empty()),
        })
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
}
