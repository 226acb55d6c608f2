//! Query-string and body parameters shared by the API handlers: cluster lists
//! (`cluster_ids=a,b`, repeated, or `cluster_id`), times (RFC 3339 or Unix
//! seconds), durations, repeated `match[]`.

use chrono::DateTime;

use crate::error::FleetError;
use crate::model::duration::parse_duration_ms;

#[derive(Debug, Clone, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn parse(query: &str) -> Self {
        Params(url::form_urlencoded::parse(query.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    pub fn all(&self, key: &str) -> Vec<String> {
        self.0.iter().filter(|(k, _)| k == key).map(|(_, v)| v.clone()).collect()
    }

    /// Cluster ids from `cluster_ids`/`cluster_id`/`clusters`, comma-separated or repeated.
    pub fn cluster_ids(&self) -> Vec<String> {
        ["cluster_ids", "cluster_id", "clusters"]
            .iter()
            .flat_map(|k| self.all(k))
            .flat_map(|v| v.split(',').map(|s| s.trim().to_owned()).collect::<Vec<_>>())
            .filter(|s| !s.is_empty())
            .collect()
    }

    /// An optional time parameter in epoch ms.
    pub fn time_ms(&self, key: &str) -> Result<Option<i64>, FleetError> {
        self.get(key).filter(|v| !v.is_empty()).map(|v| parse_time_ms(key, v)).transpose()
    }
}

/// RFC 3339 or (fractional) Unix seconds → epoch ms.
pub fn parse_time_ms(field: &str, v: &str) -> Result<i64, FleetError> {
    if let Ok(secs) = v.trim().parse::<f64>()
        && secs.is_finite()
        && (0.0..=32_503_680_000.0).contains(&secs)
    {
        return Ok((secs * 1000.0).round() as i64);
    }
    DateTime::parse_from_rfc3339(v.trim())
        .map(|t| t.timestamp_millis())
        .map_err(|_| FleetError::invalid_query(format!("`{field}`: {v:?} is neither RFC 3339 nor Unix seconds")))
}

/// `30s`, `1m`, or seconds → ms.
pub fn parse_step_ms(field: &str, v: &str) -> Result<i64, FleetError> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<f64>()
        && secs.is_finite()
        && secs > 0.0
    {
        return Ok((secs * 1000.0).round() as i64);
    }
    parse_duration_ms(v).filter(|ms| *ms > 0).ok_or_else(|| FleetError::invalid_query(format!("`{field}`: {v:?} is not a duration like 30s or 1m")))
}
