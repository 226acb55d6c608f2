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
    let mut parts: Vec<String> =
        labels.iter().map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n"))).collect();
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

/// Upper bounds (seconds) of the upstream latency histogram buckets.
const LATENCY_BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Record one upstream call of a cluster: latency histogram, errors by code.
pub fn record_cluster_call(cluster: &str, backend: &str, seconds: f64, error_code: Option<&str>) {
    const NAME: &str = "fleetscope_upstream_request_duration_seconds";
    const HELP: &str = "Latency of upstream calls per cluster and backend (retries included).";
    let labels = [("cluster_id", cluster), ("backend", backend)];
    let mut m = METRICS.lock().unwrap_or_else(|p| p.into_inner());
    let metric = m.entry(NAME).or_insert_with(|| Metric { help: HELP, kind: "histogram", values: BTreeMap::new() });
    for le in LATENCY_BUCKETS.iter().map(|b| b.to_string()).chain(std::iter::once("+Inf".to_string())) {
        let within = le == "+Inf" || seconds <= le.parse::<f64>().unwrap_or(f64::INFINITY);
        let key = format!("_bucket{}", label_string(&[labels[0], labels[1], ("le", le.as_str())]));
        *metric.values.entry(key).or_insert(0.0) += if within { 1.0 } else { 0.0 };
    }
    *metric.values.entry(format!("_sum{}", label_string(&labels))).or_insert(0.0) += seconds;
    *metric.values.entry(format!("_count{}", label_string(&labels))).or_insert(0.0) += 1.0;
    drop(m);
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
        // Histogram series are stored as `_bucket{…}`, `_sum{…}`, `_count{…}` suffixes.
        for (labels, v) in &metric.values {
            let _ = writeln!(out, "{name}{labels} {v}");
        }
    }
    out
}

/// One circuit breaker as `/metrics` shows it: 0 closed, 0.5 half-open, 1 open.
/// The federation hands these out ([`crate::federation::breaker::Breakers::gauges`]),
/// so this module knows nothing of how breakers work.
#[derive(Debug, Clone, PartialEq)]
pub struct BreakerGauge {
    pub cluster_id: String,
    pub backend: String,
    pub open: f64,
}

/// Everything CollectMetrics gives Grafana (and `serve` gives `/metrics`): the
/// recorded metrics plus each instance's circuit-breaker states (datasource
/// name, its breakers).
pub fn exposition(instances: &[(String, Vec<BreakerGauge>)]) -> String {
    let mut text = render();
    text.push_str(
        "# HELP fleetscope_circuit_breaker_open Circuit breaker state per datasource, cluster and backend (0 closed, 1 open, 0.5 half-open).\n",
    );
    text.push_str("# TYPE fleetscope_circuit_breaker_open gauge\n");
    for (datasource, gauges) in instances {
        for g in gauges {
            let labels = label_string(&[("datasource", datasource), ("cluster_id", &g.cluster_id), ("backend", &g.backend)]);
            let _ = writeln!(text, "fleetscope_circuit_breaker_open{labels} {}", g.open);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    #[test]
    fn latency_histogram_is_cumulative() {
        super::record_cluster_call("histo-test", "prometheus", 0.3, None);
        super::record_cluster_call("histo-test", "prometheus", 7.0, Some("QUERY_TIMEOUT"));
        let text = super::render();
        let line = |le: &str| {
            let key = format!("fleetscope_upstream_request_duration_seconds_bucket{{backend=\"prometheus\",cluster_id=\"histo-test\",le=\"{le}\"}}");
            text.lines().find(|l| l.starts_with(&key)).map(|l| l.rsplit(' ').next().unwrap().to_string())
        };
        assert_eq!(line("0.25").as_deref(), Some("0"));
        assert_eq!(line("0.5").as_deref(), Some("1"));
        assert_eq!(line("10").as_deref(), Some("2"));
        assert_eq!(line("+Inf").as_deref(), Some("2"));
        assert!(
            text.contains("fleetscope_upstream_errors_total{backend=\"prometheus\",cluster_id=\"histo-test\",code=\"QUERY_TIMEOUT\"} 1"),
            "{text}"
        );
    }

    #[test]
    fn renders_exposition_format() {
        super::count("fleetscope_test_total", "Test counter.", &[("b", "2"), ("a", "q\"")], 2.0);
        let text = super::render();
        assert!(text.contains("# TYPE fleetscope_test_total counter"), "{text}");
        assert!(text.contains("fleetscope_test_total{a=\"q\\\"\",b=\"2\"} 2"), "{text}");
    }
}
