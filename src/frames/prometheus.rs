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
//! * Native-histogram samples (`histogram`/`histograms`) are counted and
//!   reported as a notice, not converted.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::{DataLink, Field, FieldConfig, FieldValues, Frame, FrameMeta};

pub type Labels = BTreeMap<String, String>;

/// One series with its columns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    pub labels: Labels,
    pub times_ms: Vec<i64>,
    pub values: Vec<f64>,
}

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
    /// Native-histogram samples seen (not converted).
    pub histogram_samples: usize,
}

thread_local! {
    /// Expected points per series of the body being parsed on this thread
    /// (serde_json gives no length hint for arrays, and growing each column by
    /// doubling would cost up to 2× the column memory).
    static POINTS_HINT: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Parse a range answer whose series are expected to hold `points` points
/// each (`(end − start) / step + 1`): columns are allocated once, exactly.
pub fn parse_query_response_with_points(body: &[u8], points: usize) -> Result<PromResponse, String> {
    // Cap the hint: it is a capacity, and a hostile step must not reserve gigabytes.
    POINTS_HINT.with(|h| h.set(points.min(11_001)));
    let result = parse_query_response(body);
    POINTS_HINT.with(|h| h.set(0));
    result
}

/// Parse a `/api/v1/query` or `/api/v1/query_range` body.
pub fn parse_query_response(body: &[u8]) -> Result<PromResponse, String> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let top = <TopLevel as serde::Deserialize>::deserialize(&mut de).map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    if top.status.as_deref() == Some("error") {
        return Err(top.error.unwrap_or_else(|| "status error".into()));
    }
    let data = top.data.ok_or_else(|| "missing `data`".to_string())?;
    let result = data.result.unwrap_or_default();
    let declared = match data.result_type.as_deref() {
        Some("matrix") => Some(ResultType::Matrix),
        Some("vector") => Some(ResultType::Vector),
        Some("scalar") => Some(ResultType::Scalar),
        Some("string") => Some(ResultType::String),
        Some(other) => return Err(format!("unknown resultType {other:?}")),
        None => None,
    };
    let data = match result {
        ResultElems::Series(series, hist) => {
            let result_type = declared.unwrap_or(ResultType::Vector);
            if matches!(result_type, ResultType::Scalar | ResultType::String) {
                return Err(format!("resultType {result_type:?} with a series list"));
            }
            return Ok(PromResponse {
                data: PromData::Series { result_type, series },
                warnings: top.warnings,
                infos: top.infos,
                histogram_samples: hist,
            });
        }
        ResultElems::Pair(time_ms, PairValue::Text(value)) if declared == Some(ResultType::String) => PromData::String { time_ms, value },
        ResultElems::Pair(time_ms, PairValue::Text(v)) => PromData::Scalar { time_ms, value: parse_value(&v).map_err(|e| e.to_string())? },
    };
    Ok(PromResponse { data, warnings: top.warnings, infos: top.infos, histogram_samples: 0 })
}

#[derive(serde::Deserialize)]
struct TopLevel {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    data: Option<DataObj>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    warnings: Vec<String>,
    #[serde(default)]
    infos: Vec<String>,
}

#[derive(serde::Deserialize)]
struct DataObj {
    #[serde(rename = "resultType", default)]
    result_type: Option<String>,
    #[serde(default)]
    result: Option<ResultElems>,
}

enum ResultElems {
    Series(Vec<Series>, usize),
    Pair(i64, PairValue),
}

impl Default for ResultElems {
    fn default() -> Self {
        ResultElems::Series(Vec::new(), 0)
    }
}

enum PairValue {
    Text(String),
}

impl<'de> serde::Deserialize<'de> for ResultElems {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_seq(ResultVisitor)
    }
}

struct ResultVisitor;

/// One element of `result`: a series object, or a member of a scalar pair.
enum Elem {
    Series(Series, usize),
    Number(f64),
    Text(String),
}

impl<'de> serde::Deserialize<'de> for Elem {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Elem;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a series object, a timestamp or a value string")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Elem, E> {
                Ok(Elem::Number(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Elem, E> {
                Ok(Elem::Number(v as f64))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Elem, E> {
                Ok(Elem::Number(v as f64))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Elem, E> {
                Ok(Elem::Text(v.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Elem, A::Error> {
                let (s, h) = SeriesVisitor.visit_map(map)?;
                Ok(Elem::Series(s, h))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Visitor<'de> for ResultVisitor {
    type Value = ResultElems;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a result array")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ResultElems, A::Error> {
        let mut series = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        let mut hist = 0;
        let mut pair_time: Option<f64> = None;
        let mut pair_value: Option<String> = None;
        while let Some(e) = seq.next_element::<Elem>()? {
            match e {
                Elem::Series(s, h) => {
                    series.push(s);
                    hist += h;
                }
                Elem::Number(t) if pair_time.is_none() && series.is_empty() => pair_time = Some(t),
                Elem::Text(v) if pair_time.is_some() && pair_value.is_none() => pair_value = Some(v),
                _ => return Err(de::Error::custom("result mixes series and scalar elements")),
            }
        }
        match (pair_time, pair_value) {
            (Some(t), Some(v)) => Ok(ResultElems::Pair(secs_to_ms(t), PairValue::Text(v))),
            (None, None) => Ok(ResultElems::Series(series, hist)),
            _ => Err(de::Error::custom("incomplete scalar result (expected [time, \"value\"])")),
        }
    }
}

struct SeriesVisitor;

impl<'de> Visitor<'de> for SeriesVisitor {
    type Value = (Series, usize);
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a series object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(Series, usize), A::Error> {
        let mut s = Series::default();
        let mut hist = 0usize;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "metric" => s.labels = map.next_value()?,
                "values" => map.next_value_seed(PointsSeed { series: &mut s })?,
                "value" => {
                    let (t, v) = map.next_value_seed(PointSeed)?;
                    s.times_ms.push(t);
                    s.values.push(v);
                }
                "histograms" => hist += map.next_value::<Vec<IgnoredAny>>()?.len(),
                "histogram" => {
                    map.next_value::<IgnoredAny>()?;
                    hist += 1;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok((s, hist))
    }
}

struct PointsSeed<'a> {
    series: &'a mut Series,
}

impl<'de> DeserializeSeed<'de> for PointsSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for PointsSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of [time, \"value\"] points")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let n = seq.size_hint().unwrap_or_else(|| POINTS_HINT.with(|h| h.get()));
        self.series.times_ms.reserve_exact(n);
        self.series.values.reserve_exact(n);
        while let Some((t, v)) = seq.next_element_seed(PointSeed)? {
            self.series.times_ms.push(t);
            self.series.values.push(v);
        }
        // A sparse series must not keep the full hinted capacity (10k series
        // of one point each would otherwise hold gigabytes).
        if self.series.times_ms.capacity() > 2 * self.series.times_ms.len() {
            self.series.times_ms.shrink_to_fit();
            self.series.values.shrink_to_fit();
        }
        Ok(())
    }
}

struct PointSeed;

impl<'de> DeserializeSeed<'de> for PointSeed {
    type Value = (i64, f64);
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(i64, f64), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for PointSeed {
    type Value = (i64, f64);
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a [time, \"value\"] point")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(i64, f64), A::Error> {
        let t: f64 = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(0, &self))?;
        let v: f64 = seq.next_element_seed(SampleValue)?.ok_or_else(|| de::Error::invalid_length(1, &self))?;
        if seq.next_element::<IgnoredAny>()?.is_some() {
            return Err(de::Error::invalid_length(3, &self));
        }
        Ok((secs_to_ms(t), v))
    }
}

/// A sample value string parsed in place: serde's `Cow<str>` would allocate a
/// `String` for every point (it never borrows), ~14 % of the parse time.
struct SampleValue;

impl<'de> DeserializeSeed<'de> for SampleValue {
    type Value = f64;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<f64, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for SampleValue {
    type Value = f64;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a sample value string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
        parse_value(v).map_err(E::custom)
    }
}

fn secs_to_ms(t: f64) -> i64 {
    (t * 1000.0).round() as i64
}

fn parse_value(v: &str) -> Result<f64, String> {
    v.parse::<f64>().map_err(|_| format!("sample value {v:?} is not a number"))
}

/// Format a sample value the way Prometheus writes it.
pub fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        v.to_string()
    }
}

/// `data.result` as Prometheus writes it (the inverse of the parser).
pub fn data_json(d: &PromData) -> serde_json::Value {
    use serde_json::{Value, json};
    let point = |t: i64, v: String| json!([t as f64 / 1000.0, v]);
    match d {
        PromData::Series { result_type: ResultType::Matrix, series } => Value::Array(
            series
                .iter()
                .map(|s| {
                    let values: Vec<Value> = s.times_ms.iter().zip(&s.values).map(|(t, v)| point(*t, format_value(*v))).collect();
                    json!({ "metric": s.labels, "values": values })
                })
                .collect(),
        ),
        PromData::Series { series, .. } => Value::Array(
            series
                .iter()
                .map(|s| {
                    let value = s.times_ms.first().zip(s.values.first()).map(|(t, v)| point(*t, format_value(*v)));
                    json!({ "metric": s.labels, "value": value })
                })
                .collect(),
        ),
        PromData::Scalar { time_ms, value } => point(*time_ms, format_value(*value)),
        PromData::String { time_ms, value } => point(*time_ms, value.clone()),
    }
}

/// A whole answer in Prometheus' own format: what the shared (Redis) cache
/// stores, read back with [`parse_query_response`].
pub fn encode_query_response(r: &PromResponse) -> Vec<u8> {
    let result_type = match &r.data {
        PromData::Series { result_type, .. } => *result_type,
        PromData::Scalar { .. } => ResultType::Scalar,
        PromData::String { .. } => ResultType::String,
    };
    let body = serde_json::json!({
        "status": "success",
        "data": { "resultType": format!("{result_type:?}").to_ascii_lowercase(), "result": data_json(&r.data) },
        "warnings": r.warnings,
        "infos": r.infos,
    });
    serde_json::to_vec(&body).unwrap_or_default()
}

/// Parse a `{"status":"success","data":[…strings…]}` answer (labels, label values).
pub fn parse_string_list(body: &[u8]) -> Result<Vec<String>, String> {
    #[derive(serde::Deserialize)]
    struct Answer {
        #[serde(default)]
        data: Option<Vec<String>>,
    }
    let a: Answer = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    a.data.ok_or_else(|| "missing `data`".to_string())
}

/// Parse `/api/v1/series` → label sets.
pub fn parse_series_list(body: &[u8]) -> Result<Vec<Labels>, String> {
    #[derive(serde::Deserialize)]
    struct Answer {
        #[serde(default)]
        data: Option<Vec<Labels>>,
    }
    let a: Answer = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    a.data.ok_or_else(|| "missing `data`".to_string())
}

/// Apply a Grafana legend format (`{{label}}`) to a label set.
pub fn legend(format: &str, labels: &Labels) -> String {
    let mut out = String::with_capacity(format.len());
    let mut rest = format;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        match after.find("}}") {
            Some(close) => {
                let name = after[..close].trim();
                if let Some(v) = labels.get(name) {
                    out.push_str(v);
                }
                rest = &after[close + 2..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// How to present federated series as frames.
#[derive(Debug, Clone)]
pub struct SeriesFrameOptions<'a> {
    pub ref_id: &'a str,
    pub instant: bool,
    pub legend_format: Option<&'a str>,
    pub step_ms: i64,
    pub executed_query: String,
    /// Links added to every value field (e.g. exemplars → traces later).
    pub links: Vec<DataLink>,
}

/// One frame per series: `timeseries-multi` for range results, `numeric-multi`
/// for instant ones. No series → one empty frame with the type set, which
/// alerting reads as "no data".
pub fn series_frames(series: Vec<Series>, opts: &SeriesFrameOptions<'_>) -> Vec<Frame> {
    let frame_type = if opts.instant { "numeric-multi" } else { "timeseries-multi" };
    let meta = |executed: bool| {
        let mut m = FrameMeta::dataplane(frame_type);
        if executed {
            m.executed_query_string = Some(opts.executed_query.clone());
        }
        m
    };
    if series.is_empty() {
        return vec![Frame { name: String::new(), ref_id: opts.ref_id.to_owned(), meta: Some(meta(true)), fields: Vec::new() }];
    }
    series
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            let mut config = FieldConfig::default();
            if let Some(fmt) = opts.legend_format {
                config.display_name_from_ds = Some(legend(fmt, &s.labels));
            }
            if !opts.instant {
                config.interval = Some(opts.step_ms as f64);
            }
            config.links = opts.links.clone();
            let times: Vec<i64> = s.times_ms.iter().map(|t| t.saturating_mul(1_000_000)).collect();
            let value = Field::new("Value", FieldValues::F64(s.values)).with_labels(s.labels);
            let value = if config == FieldConfig::default() { value } else { value.with_config(config) };
            Frame {
                name: String::new(),
                ref_id: opts.ref_id.to_owned(),
                meta: Some(meta(i == 0)),
                fields: vec![Field::new("Time", FieldValues::TimeNs(times)), value],
            }
        })
        .collect()
}

#[cfg(test)]
#[path = "prometheus_tests.rs"]
mod tests;
