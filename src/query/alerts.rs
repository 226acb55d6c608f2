//! `queryType: alerts` — every cluster's Alertmanager in one table.
//!
//! ```json
//! {"queryType":"alerts","clusters":["east"],"state":["FIRING"],"severity":["CRITICAL"],
//!  "matchers":["team=\"db\"","job=~\"node.*\""],"history":false,"format":"table"}
//! ```
//!
//! * `state`: FIRING | PENDING | RESOLVED | SUPPRESSED (one string, a list, or
//!   `a,b`); empty = FIRING, PENDING and SUPPRESSED (what Alertmanager holds now).
//! * `severity`: compared upper-cased; an alert without a `severity` label is WARNING.
//! * `matchers`: Alertmanager matchers (`name="v"`, `!=`, `=~`, `!~`), validated
//!   here and passed upstream as `filter=`.
//! * `history: true`: the stored fired/resolved transitions in the time range.
//! * `format`: `table` (alerts + `by_severity`) or `annotations` (Grafana
//!   annotation events).

use serde::Deserialize;

use super::{ClusterList, QueryEnvelope, QueryError};

pub use crate::model::alerts::AlertState;

/// One Alertmanager matcher, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matcher {
    pub name: String,
    pub op: &'static str,
    pub value: String,
}

impl Matcher {
    /// Parse `name="value"` (also unquoted values) with `=`, `!=`, `=~`, `!~`.
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, QueryError> {
        let err = |m: String| QueryError::Field { field, message: m };
        let s = raw.trim().trim_start_matches('{').trim_end_matches('}').trim();
        let at = s.find(['=', '!']).ok_or_else(|| err(format!("{raw:?} is not a matcher like name=\"value\"")))?;
        let name = s[..at].trim();
        let rest = &s[at..];
        let op = ["=~", "!~", "!=", "="].into_iter().find(|o| rest.starts_with(o)).ok_or_else(|| err(format!("{raw:?}: unknown operator")))?;
        let value = rest[op.len()..].trim();
        let value = if value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
            serde_json::from_str::<String>(value).map_err(|e| err(format!("{raw:?}: bad quoted value ({e})")))?
        } else {
            value.to_owned()
        };
        let mut chars = name.chars();
        let valid_name =
            matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_') && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid_name {
            return Err(err(format!("{raw:?}: {name:?} is not a valid label name")));
        }
        if op.ends_with('~') {
            regex::Regex::new(&format!("^(?:{value})$")).map_err(|e| err(format!("{raw:?}: invalid regex ({e})")))?;
        }
        Ok(Matcher { name: name.to_owned(), op, value })
    }

    /// The matcher as Alertmanager's `filter` parameter expects it.
    pub fn to_filter(&self) -> String {
        format!("{}{}{}", self.name, self.op, serde_json::Value::String(self.value.clone()))
    }

    /// Whether `labels` satisfy this matcher (for stored alerts).
    pub fn matches(&self, labels: &std::collections::BTreeMap<String, String>) -> bool {
        let v = labels.get(&self.name).map(String::as_str).unwrap_or("");
        match self.op {
            "=" => v == self.value,
            "!=" => v != self.value,
            op => {
                let re = regex::Regex::new(&format!("^(?:{})$", self.value));
                let hit = re.map(|r| r.is_match(v)).unwrap_or(false);
                if op == "=~" { hit } else { !hit }
            }
        }
    }
}

/// What an alerts query returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AlertsFormat {
    /// The alerts table plus the `by_severity` count frame.
    #[default]
    Table,
    /// Grafana annotation events (time, timeEnd, title, text, tags).
    Annotations,
}

/// A validated alerts query.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertsQuery {
    /// Requested states; never empty after parsing.
    pub states: Vec<AlertState>,
    /// Upper-cased severities; empty = all.
    pub severities: Vec<String>,
    pub matchers: Vec<Matcher>,
    pub history: bool,
    pub format: AlertsFormat,
    pub limit: usize,
    pub start_ms: i64,
    pub end_ms: i64,
}

pub const DEFAULT_LIMIT: usize = 1000;
pub const MAX_LIMIT: usize = 10_000;

/// A string list given as a list, one string, `a,b` or `{a,b}` (the same
/// forms `clusters` takes); Grafana's "All" means no filter.
fn items(list: Option<ClusterList>) -> Vec<String> {
    list.map(ClusterList::into_ids).unwrap_or_default().into_iter().filter(|s| s != "$__all" && s != "All").collect()
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    #[serde(default)]
    state: Option<ClusterList>,
    #[serde(default)]
    severity: Option<ClusterList>,
    #[serde(default)]
    matchers: Option<Vec<String>>,
    #[serde(default)]
    history: bool,
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    limit: Option<i64>,
}

impl AlertsQuery {
    pub fn parse(json: &[u8], env: &QueryEnvelope) -> Result<Self, QueryError> {
        let de = &mut serde_json::Deserializer::from_slice(json);
        let raw: Raw = serde_path_to_error::deserialize(de).map_err(|e| QueryError::Json(format!("`{}`: {}", e.path(), e.inner())))?;
        let state = items(raw.state);
        let states = Self::states(&state, raw.history)?;
        let severities = items(raw.severity).iter().map(|s| s.to_ascii_uppercase()).collect();
        let matchers = raw
            .matchers
            .unwrap_or_default()
            .iter()
            .filter(|m| !m.trim().is_empty())
            .map(|m| Matcher::parse("matchers", m))
            .collect::<Result<_, _>>()?;
        let format = match raw.format.as_deref().unwrap_or("table") {
            "" | "table" => AlertsFormat::Table,
            "annotations" => AlertsFormat::Annotations,
            other => return Err(QueryError::Field { field: "format", message: format!("{other:?} is not one of table, annotations") }),
        };
        let limit = match raw.limit {
            None => DEFAULT_LIMIT,
            Some(l) if l > 0 && l as usize <= MAX_LIMIT => l as usize,
            Some(l) => return Err(QueryError::Field { field: "limit", message: format!("must be between 1 and {MAX_LIMIT}, got {l}") }),
        };
        Ok(AlertsQuery {
            states,
            severities,
            matchers,
            history: raw.history,
            format,
            limit,
            start_ms: env.time_range.from_ms,
            end_ms: env.time_range.to_ms,
        })
    }

    /// Parse a state list; empty = the active states (plus RESOLVED for history).
    pub fn states(items: &[String], history: bool) -> Result<Vec<AlertState>, QueryError> {
        let mut states = Vec::new();
        for s in items {
            let st = AlertState::parse(s)
                .ok_or_else(|| QueryError::Field { field: "state", message: format!("{s:?} is not one of FIRING, PENDING, RESOLVED, SUPPRESSED") })?;
            if !states.contains(&st) {
                states.push(st);
            }
        }
        if states.is_empty() {
            states = vec![AlertState::Firing, AlertState::Pending, AlertState::Suppressed];
            if history {
                states.push(AlertState::Resolved);
            }
        }
        Ok(states)
    }

    /// Whether an alert with this severity and labels passes the filters.
    pub fn keeps(&self, state: AlertState, severity: &str, labels: &std::collections::BTreeMap<String, String>) -> bool {
        self.states.contains(&state)
            && (self.severities.is_empty() || self.severities.iter().any(|s| s == severity))
            && self.matchers.iter().all(|m| m.matches(labels))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::TimeRange;

    fn env() -> QueryEnvelope {
        QueryEnvelope { ref_id: "A".into(), time_range: TimeRange::new(0, 1000).unwrap(), interval_ms: 0, max_data_points: 0 }
    }

    #[test]
    fn parses_filters() {
        let q = AlertsQuery::parse(br#"{"state":"firing,SUPPRESSED","severity":["critical"],"matchers":["team=\"db\"","job=~\"node.*\""]}"#, &env())
            .unwrap();
        assert_eq!(q.states, vec![AlertState::Firing, AlertState::Suppressed]);
        assert_eq!(q.severities, vec!["CRITICAL"]);
        assert_eq!(q.matchers[1], Matcher { name: "job".into(), op: "=~", value: "node.*".into() });
        assert_eq!(q.matchers[0].to_filter(), r#"team="db""#);
        let default = AlertsQuery::parse(b"{}", &env()).unwrap();
        assert_eq!(default.states, vec![AlertState::Firing, AlertState::Pending, AlertState::Suppressed]);
    }

    #[test]
    fn bad_input_names_the_field() {
        let e = AlertsQuery::parse(br#"{"state":"BURNING"}"#, &env()).unwrap_err().to_string();
        assert!(e.contains("`state`") && e.contains("BURNING"), "{e}");
        let e = AlertsQuery::parse(br#"{"matchers":["job=~\"(\""]}"#, &env()).unwrap_err().to_string();
        assert!(e.contains("`matchers`") && e.contains("invalid regex"), "{e}");
        let e = AlertsQuery::parse(br#"{"matchers":["9x=\"a\""]}"#, &env()).unwrap_err().to_string();
        assert!(e.contains("not a valid label name"), "{e}");
        let e = AlertsQuery::parse(br#"{"format":"graph"}"#, &env()).unwrap_err().to_string();
        assert!(e.contains("`format`"), "{e}");
        let e = AlertsQuery::parse(br#"{"history":"yes"}"#, &env()).unwrap_err().to_string();
        assert!(e.contains("history"), "{e}");
    }

    #[test]
    fn matchers_match_labels() {
        let labels: std::collections::BTreeMap<String, String> = [("job".to_owned(), "node".to_owned())].into();
        assert!(Matcher::parse("m", "job=~\"no.*\"").unwrap().matches(&labels));
        assert!(!Matcher::parse("m", "job!~\"no.*\"").unwrap().matches(&labels));
        assert!(Matcher::parse("m", "team!=db").unwrap().matches(&labels));
        assert!(!Matcher::parse("m", "job=\"nod\"").unwrap().matches(&labels));
    }
}
