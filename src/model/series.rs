//! A labelled series of (time, value) points: what a Prometheus matrix, a
//! ClickHouse answer and the probes that read metrics (DCGM, PTP) all reduce to.

use std::collections::BTreeMap;

/// Label name → value, ordered (the order Prometheus prints and frames keep).
pub type Labels = BTreeMap<String, String>;

/// One series with its columns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    pub labels: Labels,
    pub times_ms: Vec<i64>,
    pub values: Vec<f64>,
}
