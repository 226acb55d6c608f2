//! `queryType: macos` — Apple-Silicon power, read from the metrics the
//! `macos-exporter` (or any exporter using the names of docs/metrics.md)
//! writes to each cluster's Prometheus.
//!
//! ```json
//! {"queryType": "macos", "view": "power", "node": "mac-studio-01", "instant": false}
//! ```
//! `view`: `power` (the only one: CPU/GPU/ANE/package watts, thermal and
//! memory pressure, CPU temperature). `node`: optional exact node name. The
//! query becomes a PromQL selector over those names (one per series, legend
//! `{{node}}`) and runs as a `metrics` query, so frames, aggregation and
//! alerting behave exactly as for PromQL.

use serde::Deserialize;

use super::metrics::MetricsQuery;
use super::{QueryEnvelope, QueryError};
use crate::probes::macos::POWER_VIEW_METRICS;

#[derive(Debug, Deserialize)]
struct Raw {
    #[serde(default)]
    view: Option<String>,
    #[serde(default)]
    node: Option<String>,
    #[serde(default)]
    instant: Option<bool>,
}

/// The PromQL selector of the power view, optionally for one node.
pub fn power_selector(node: Option<&str>) -> String {
    let names = POWER_VIEW_METRICS.join("|");
    match node {
        None => format!("{{__name__=~\"{names}\"}}"),
        Some(n) => format!("{{__name__=~\"{names}\", node=\"{}\"}}", n.replace('\\', "\\\\").replace('"', "\\\"")),
    }
}

/// Parse a macos query into the metrics query it runs as.
pub fn parse(json: &[u8], env: &QueryEnvelope) -> Result<MetricsQuery, QueryError> {
    let raw: Raw = serde_json::from_slice(json).map_err(|e| QueryError::Json(e.to_string()))?;
    match raw.view.as_deref().map(str::trim).unwrap_or("") {
        "" | "power" => {}
        other => return Err(QueryError::Field { field: "view", message: format!("{other:?} is not a macos view (expected power)") }),
    }
    let node = raw.node.as_deref().map(str::trim).filter(|n| !n.is_empty() && *n != "$__all" && *n != "All");
    let metrics = serde_json::json!({"expr": power_selector(node), "instant": raw.instant.unwrap_or(false), "legendFormat": "{{node}}"});
    MetricsQuery::parse(metrics.to_string().as_bytes(), env)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::TimeRange;

    fn env() -> QueryEnvelope {
        QueryEnvelope { ref_id: "A".into(), time_range: TimeRange::new(0, 600_000).unwrap(), interval_ms: 15_000, max_data_points: 100 }
    }

    #[test]
    fn power_view_becomes_promql() {
        let q = parse(br#"{"queryType":"macos","view":"power","node":"mac-\"x"}"#, &env()).unwrap();
        assert!(
            q.expr.starts_with("{__name__=~\"macos_cpu_power_watts|macos_gpu_power_watts|macos_ane_power_watts|macos_package_power_watts|"),
            "{}",
            q.expr
        );
        assert!(q.expr.ends_with(", node=\"mac-\\\"x\"}"), "{}", q.expr);
        assert_eq!(q.legend_format.as_deref(), Some("{{node}}"));
        assert!(!q.instant);
        assert!(parse(br#"{"instant":true}"#, &env()).unwrap().instant);
        assert!(parse(br#"{"view":"fans"}"#, &env()).unwrap_err().to_string().contains("`view`"));
    }
}
