//! Prometheus API bodies → typed columns → Grafana frames.
//!
//! The body is parsed in one pass with serde visitors that push timestamps and
//! values straight into the `Vec<i64>`/`Vec<f64>` that become the frame's
//! columns — no `serde_json::Value` tree, no per-point allocation.
//!
//! Upstream format quirks:
//! * Points are `[<unix seconds as float>, "<value as string>"]`; values include
//!   `"NaN"`, `"+Inf"`, `"-Inf"` (Rust's float parser accepts all three).
//! * `resultType` may come after `result` (JSON objects are unordered), so each
//!   result element is recognised by its own shape: objects with `values`
//!   (matrix) or `value` (vector); a bare `[ts, "v"]` pair (scalar/string).
//! * Native-histogram samples (`histogram`/`histograms`) are
//!   `[ts, {"count", "sum", "buckets": [[boundaryRule, "lower", "upper", "count"], …]}]`;
//!   each bucket becomes one heatmap cell (`heatmap-cells` frame, as Grafana).
//!   The boundary rule (0 = open left, 1 = open right, 2 = open both, 3 =
//!   closed both) is kept as `yLayout`.
//! * `/api/v1/query_exemplars` answers an array of `{seriesLabels, exemplars}`
//!   whose exemplar timestamps are plain numbers and values strings.
//!
//! Frames follow Grafana's Prometheus datasource in dataplane mode
//! (`pkg/promlib`, see docs/query-model.md for the exact rules and the
//! differences kept by design): the value field is named after `__name__`
//! (else `Value`), `config.displayNameFromDS` follows the legend rules, the
//! step is `config.interval` on the *time* field (panels break lines at gaps).
//!
//! The module's parts: [`parse`] (bodies → [`PromResponse`]), with [`points`]
//! (the scanner for the `values` arrays, most of a range body), [`encode`] (the
//! inverse, for the API and the cache), [`dataplane`] (dataplane frames) and
//! [`exemplars`] (`/api/v1/query_exemplars`).

use crate::frames::DataLink;

mod dataplane;
mod encode;
mod exemplars;
mod parse;
mod points;

pub use dataplane::*;
pub use encode::*;
pub use exemplars::*;
pub use parse::*;

pub use crate::model::series::{Labels, Series};

/// The `data` of a Prometheus query answer.
#[derive(Debug, Clone, PartialEq)]
pub enum PromData {
    /// `matrix` and `vector` results (vector series hold one point each).
    Series {
        result_type: ResultType,
        series: Vec<Series>,
    },
    Scalar {
        time_ms: i64,
        value: f64,
    },
    String {
        time_ms: i64,
        value: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ResultType {
    Matrix,
    Vector,
    Scalar,
    String,
}

/// A parsed query answer.
#[derive(Debug, Clone, PartialEq)]
pub struct PromResponse {
    pub data: PromData,
    pub warnings: Vec<String>,
    pub infos: Vec<String>,
    /// Series with native-histogram samples (a series may also have float samples in `data`).
    pub histograms: Vec<HistogramSeries>,
}

/// One native-histogram sample.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSample {
    pub time_ms: i64,
    /// `count` and `sum` as Prometheus wrote them (kept for the shared cache's round trip).
    pub count: String,
    pub sum: String,
    pub buckets: Vec<HistogramBucket>,
}

/// One bucket: `[boundary rule, lower, upper, count]`.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramBucket {
    pub boundary_rule: i8,
    pub lower: f64,
    pub upper: f64,
    pub count: f64,
}

/// A series of native-histogram samples.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistogramSeries {
    pub labels: Labels,
    pub samples: Vec<HistogramSample>,
}

#[cfg(test)]
mod tests;
