//! The plugin's own metrics, served by CollectMetrics in Prometheus' text
//! exposition format (Grafana scrapes them at /metrics/plugins/<id>).
//!
//! Deliberately small: counters and gauges keyed by name + sorted labels in one
//! map. Recorded at the few places where work enters or leaves (fan-out per
//! cluster, QueryData per query).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{LazyLock, Mutex};

struct Metric {
    help: &'static str,
    kind: &'static str,
    values: BTreeMap<String, f64>,
}

static METRICS: LazyLock<Mutex<BTreeMap<&'static str, Metric>>> = LazyLock::new(|| Mutex::new(BTreeMap::new()));

fn label_string(labels: &[(&str, &str)]) -> String {
    if labels.is_empty() {
        return String::new();
    }
    let mut parts: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")))
        .collect();
    parts.sort();
    format!("{{{}}}", parts.join(","))
}

fn update(name: &'static str, help: &'static str, kind: &'static str, labels: &[(&str, &str)], f: impl FnOnce(&mut f64)) {
    let mut m = METRICS.lock().unwrap_or_else(|p| p.into_inner());
    let metric = m.entry(name).or_insert_with(|| Metric { help, kind, values: BTreeMap::new() });
    f(metric.values.entry(label_string(labels)).or_insert(0.0));
}

/// Add `by` to a counter.
pub fn count(name: &'static str, help: &'static str, labels: &[(&str, &str)], by: f64) {
    update(name, help, "counter", labels, |v| *v += by);
}

/// Add `by` (may be negative) to a gauge.
pub fn gauge_add(name: &'static str, help: &'static str, labels: &[(&str, &str)], by: f64) {
    update(name, help, "gauge", labels, |v| *v += by);
}

/// Record one upstream call of a cluster: count, errors by code, latency sum.
pub fn record_cluster_call(cluster: &str, backend: &str, seconds: f64, error_code: Option<&str>) {
    let labels = [("cluster_id", cluster), ("backend", backend)];
    count("fleetscope_upstream_requests_total", "Upstream calls per cluster and backend.", &labels, 1.0);
    count("fleetscope_upstream_request_seconds_sum", "Total seconds spent in upstream calls.", &labels, seconds);
    if let Some(code) = error_code {
        count(
            "fleetscope_upstream_errors_total",
            "Failed upstream calls by error code.",
            &[("cluster_id", cluster), ("backend", backend), ("code", code)],
            1.0,
        );
    }
}

/// The text exposition of every metric.
pub fn render() -> String {
    let m = METRICS.lock().unwrap_or_else(|p| p.into_inner());
    let mut out = String::new();
    for (name, metric) in m.iter() {
        let _ = writeln!(out, "# HELP {name} {}", metric.help);
        let _ = writeln!(out, "# TYPE {name} {}", metric.kind);
        for (labels, v) in &metric.values {
            let _ = writeln!(out, "{name}{labels} {v}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn renders_exposition_format() {
        super::count("fleetscope_test_total", "Test counter.", &[("b", "2"), ("a", "q\"")], 2.0);
        let text = super::render();
        assert!(text.contains("# TYPE fleetscope_test_total counter"), "{text}");
        assert!(text.contains("fleetscope_test_total{a=\"q\\\"\",b=\"2\"} 2"), "{text}");
    }
}
