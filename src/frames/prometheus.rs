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
        ResultElems::Series(series, histograms) => {
            let result_type = declared.unwrap_or(ResultType::Vector);
            if matches!(result_type, ResultType::Scalar | ResultType::String) {
                return Err(format!("resultType {result_type:?} with a series list"));
            }
            return Ok(PromResponse { data: PromData::Series { result_type, series }, warnings: top.warnings, infos: top.infos, histograms });
        }
        ResultElems::Pair(time_ms, PairValue::Text(value)) if declared == Some(ResultType::String) => PromData::String { time_ms, value },
        ResultElems::Pair(time_ms, PairValue::Text(v)) => PromData::Scalar { time_ms, value: parse_value(&v).map_err(|e| e.to_string())? },
    };
    Ok(PromResponse { data, warnings: top.warnings, infos: top.infos, histograms: Vec::new() })
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
    Series(Vec<Series>, Vec<HistogramSeries>),
    Pair(i64, PairValue),
}

impl Default for ResultElems {
    fn default() -> Self {
        ResultElems::Series(Vec::new(), Vec::new())
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
    Series(Series, Option<Vec<HistogramSample>>),
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
        let mut histograms = Vec::new();
        let mut pair_time: Option<f64> = None;
        let mut pair_value: Option<String> = None;
        while let Some(e) = seq.next_element::<Elem>()? {
            match e {
                Elem::Series(s, None) => series.push(s),
                Elem::Series(s, Some(samples)) => {
                    histograms.push(HistogramSeries { labels: s.labels.clone(), samples });
                    // A series may mix float and histogram samples over a range.
                    if !s.times_ms.is_empty() {
                        series.push(s);
                    }
                }
                Elem::Number(t) if pair_time.is_none() && series.is_empty() && histograms.is_empty() => pair_time = Some(t),
                Elem::Text(v) if pair_time.is_some() && pair_value.is_none() => pair_value = Some(v),
                _ => return Err(de::Error::custom("result mixes series and scalar elements")),
            }
        }
        match (pair_time, pair_value) {
            (Some(t), Some(v)) => Ok(ResultElems::Pair(secs_to_ms(t), PairValue::Text(v))),
            (None, None) => Ok(ResultElems::Series(series, histograms)),
            _ => Err(de::Error::custom("incomplete scalar result (expected [time, \"value\"])")),
        }
    }
}

struct SeriesVisitor;

impl<'de> Visitor<'de> for SeriesVisitor {
    type Value = (Series, Option<Vec<HistogramSample>>);
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a series object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut s = Series::default();
        let mut hist: Option<Vec<HistogramSample>> = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "metric" => s.labels = map.next_value()?,
                "values" => map.next_value_seed(PointsSeed { series: &mut s })?,
                "value" => {
                    let (t, v) = map.next_value_seed(PointSeed)?;
                    s.times_ms.push(t);
                    s.values.push(v);
                }
                "histograms" => {
                    let raw: Vec<RawHistogramSample> = map.next_value()?;
                    let out = hist.get_or_insert_with(Vec::new);
                    for r in raw {
                        out.push(r.into_sample().map_err(de::Error::custom)?);
                    }
                }
                "histogram" => {
                    let r: RawHistogramSample = map.next_value()?;
                    hist.get_or_insert_with(Vec::new).push(r.into_sample().map_err(de::Error::custom)?);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok((s, hist))
    }
}

/// `[ts, {"count": "…", "sum": "…", "buckets": [[rule, "lower", "upper", "count"], …]}]`.
#[derive(serde::Deserialize)]
struct RawHistogramSample(f64, RawHistogram);

#[derive(serde::Deserialize)]
struct RawHistogram {
    #[serde(default)]
    count: String,
    #[serde(default)]
    sum: String,
    #[serde(default)]
    buckets: Vec<(i8, String, String, String)>,
}

impl RawHistogramSample {
    fn into_sample(self) -> Result<HistogramSample, String> {
        let RawHistogramSample(t, h) = self;
        let mut buckets = Vec::with_capacity(h.buckets.len());
        for (boundary_rule, lower, upper, count) in h.buckets {
            buckets.push(HistogramBucket { boundary_rule, lower: parse_value(&lower)?, upper: parse_value(&upper)?, count: parse_value(&count)? });
        }
        Ok(HistogramSample { time_ms: secs_to_ms(t), count: h.count, sum: h.sum, buckets })
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

fn histogram_series_json(h: &HistogramSeries) -> serde_json::Value {
    use serde_json::json;
    let samples: Vec<serde_json::Value> = h
        .samples
        .iter()
        .map(|s| {
            let buckets: Vec<serde_json::Value> =
                s.buckets.iter().map(|b| json!([b.boundary_rule, format_value(b.lower), format_value(b.upper), format_value(b.count)])).collect();
            json!([s.time_ms as f64 / 1000.0, { "count": s.count, "sum": s.sum, "buckets": buckets }])
        })
        .collect();
    json!({ "metric": h.labels, "histograms": samples })
}

/// `data.result` of a whole answer, native-histogram series included.
pub fn result_json(r: &PromResponse) -> serde_json::Value {
    let mut result = data_json(&r.data);
    if let serde_json::Value::Array(items) = &mut result {
        items.extend(r.histograms.iter().map(histogram_series_json));
    }
    result
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
        "data": { "resultType": format!("{result_type:?}").to_ascii_lowercase(), "result": result_json(r) },
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

/// How to present Loki metric series as frames (the Loki datasource's rules:
/// `Value` fields, a display name only from a legend format).
#[derive(Debug, Clone)]
pub struct SeriesFrameOptions<'a> {
    pub ref_id: &'a str,
    pub instant: bool,
    pub legend_format: Option<&'a str>,
    pub step_ms: i64,
    pub executed_query: String,
    /// Links added to every value field.
    pub links: Vec<DataLink>,
}

/// One frame per series: `timeseries-multi` for range results, `numeric-multi`
/// for instant ones. No series → one empty frame with the type set, which
/// alerting reads as "no data".
pub fn series_frames(series: Vec<Series>, opts: &SeriesFrameOptions<'_>) -> Vec<Frame> {
    let frame_type = if opts.instant { "numeric-multi" } else { "timeseries-multi" };
    let mut frames: Vec<Frame> = series
        .into_iter()
        .map(|s| {
            let mut config = FieldConfig::default();
            if let Some(fmt) = opts.legend_format {
                config.display_name_from_ds = Some(legend(fmt, &s.labels));
            }
            config.links = opts.links.clone();
            let value = Field::new("Value", FieldValues::F64(s.values)).with_labels(s.labels);
            let value = if config == FieldConfig::default() { value } else { value.with_config(config) };
            Frame {
                name: String::new(),
                ref_id: opts.ref_id.to_owned(),
                meta: Some(FrameMeta::dataplane(frame_type)),
                fields: vec![time_field("Time", &s.times_ms, opts.step_ms), value],
            }
        })
        .collect();
    if frames.is_empty() {
        frames.push(Frame { name: String::new(), ref_id: opts.ref_id.to_owned(), meta: Some(FrameMeta::dataplane(frame_type)), fields: Vec::new() });
    }
    if let Some(m) = frames[0].meta.as_mut() {
        m.executed_query_string = Some(opts.executed_query.clone());
    }
    frames
}

/// A time column with the step as `config.interval`: Grafana's time series
/// panel breaks the line where a step is missing instead of bridging the gap.
fn time_field(name: &str, times_ms: &[i64], step_ms: i64) -> Field {
    let times: Vec<i64> = times_ms.iter().map(|t| t.saturating_mul(1_000_000)).collect();
    let config = FieldConfig { interval: Some(step_ms as f64), ..FieldConfig::default() };
    Field::new(name, FieldValues::TimeNs(times)).with_config(config)
}

/// How Grafana's Prometheus datasource presents one answer.
#[derive(Debug, Clone)]
pub struct PromFrameOptions<'a> {
    pub ref_id: &'a str,
    /// The expression as sent: the display name of label-less series.
    pub expr: &'a str,
    /// The query's legend format as written (`__auto`, a `{{label}}` template, or none).
    pub legend_format: Option<&'a str>,
    pub step_ms: i64,
    /// Labels that federation added: they do not make a series "labelled"
    /// when the display name is chosen.
    pub added_labels: &'a [&'a str],
}

/// Prometheus' own rendering of a label set (`up{instance="a:9090", job="x"}`,
/// `{}` when empty), as Grafana shows series without a legend format.
pub fn metric_name_from_labels(labels: &Labels) -> String {
    let name = labels.get("__name__").map(String::as_str).unwrap_or("");
    let pairs: Vec<String> = labels.iter().filter(|(k, _)| *k != "__name__").map(|(k, v)| format!("{k}={}", go_quote(v))).collect();
    if pairs.is_empty() && !name.is_empty() { name.to_owned() } else { format!("{name}{{{}}}", pairs.join(", ")) }
}

/// A string quoted like Go's `%q` for the printable text label values hold.
fn go_quote(v: &str) -> String {
    let mut out = String::with_capacity(v.len() + 2);
    out.push('"');
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `config.displayNameFromDS` as Grafana's Prometheus datasource sets it:
/// * legend format `__auto`: none for labelled series (Grafana builds the
///   name from the labels), the expression for label-less ones;
/// * a `{{label}}` template: the template filled from the labels (the
///   federation labels included, so `{{cluster}}` works);
/// * no legend format: the Prometheus rendering of the labels, or the
///   expression for label-less series (`sum(…)`, scalars, `1 / 0`).
///
/// "Label-less" is judged on the upstream's labels: the `cluster` labels
/// federation adds do not count.
pub fn display_name(labels: &Labels, opts: &PromFrameOptions<'_>) -> Option<String> {
    let upstream_labelled = labels.keys().any(|k| !opts.added_labels.contains(&k.as_str()));
    let name = match opts.legend_format.filter(|f| !f.is_empty()) {
        Some("__auto") if upstream_labelled => return None,
        Some("__auto") => opts.expr.to_owned(),
        Some(template) => legend(template, labels),
        None if !upstream_labelled => opts.expr.to_owned(),
        None => metric_name_from_labels(labels),
    };
    if name == "{}" {
        Some(opts.expr.to_owned())
    } else if name.is_empty() {
        None
    } else {
        Some(name)
    }
}

/// The frame type (and whether it carries a data-plane version) Grafana gives a result type.
fn frame_meta(result_type: ResultType) -> FrameMeta {
    let mut meta = match result_type {
        ResultType::Matrix => FrameMeta::dataplane("timeseries-multi"),
        ResultType::Vector | ResultType::Scalar => FrameMeta::dataplane("numeric-multi"),
        ResultType::String => FrameMeta { frame_type: Some("timeseries-multi".into()), ..FrameMeta::default() },
    };
    meta.custom = Some(serde_json::json!({ "resultType": format!("{result_type:?}").to_ascii_lowercase() }));
    meta
}

/// A frame with no fields that still says what it would have held: alerting
/// reads it as "no data" (Grafana's own empty frame has no type).
pub fn empty_frame(ref_id: &str, result_type: ResultType) -> Frame {
    Frame { name: String::new(), ref_id: ref_id.to_owned(), meta: Some(frame_meta(result_type)), fields: Vec::new() }
}

/// One frame per series of a matrix, vector or scalar answer.
pub fn prometheus_frames(series: Vec<Series>, result_type: ResultType, opts: &PromFrameOptions<'_>) -> Vec<Frame> {
    series
        .into_iter()
        .map(|s| {
            let name = s.labels.get("__name__").cloned().unwrap_or_else(|| "Value".to_owned());
            let mut value = Field::new(name, FieldValues::F64(s.values));
            if let Some(display) = display_name(&s.labels, opts) {
                value = value.with_config(FieldConfig { display_name_from_ds: Some(display), ..FieldConfig::default() });
            }
            Frame {
                name: String::new(),
                ref_id: opts.ref_id.to_owned(),
                meta: Some(frame_meta(result_type)),
                fields: vec![time_field("Time", &s.times_ms, opts.step_ms), value.with_labels(s.labels)],
            }
        })
        .collect()
}

/// A string answer: one frame with the string in a `Value` field.
pub fn string_frame(labels: Labels, time_ms: i64, value: String, opts: &PromFrameOptions<'_>) -> Frame {
    let mut field = Field::new("Value", FieldValues::Str(vec![value]));
    if let Some(display) = display_name(&labels, opts) {
        field = field.with_config(FieldConfig { display_name_from_ds: Some(display), ..FieldConfig::default() });
    }
    Frame {
        name: String::new(),
        ref_id: opts.ref_id.to_owned(),
        meta: Some(frame_meta(ResultType::String)),
        fields: vec![time_field("Time", &[time_ms], opts.step_ms), field.with_labels(labels)],
    }
}

/// Native histograms as `heatmap-cells` frames: one row per bucket
/// (`xMax` = the sample's time, `yMin`/`yMax` = the bucket's bounds, `count`,
/// `yLayout` = the boundary rule); the series labels sit on `yMin`.
pub fn histogram_frames(histograms: Vec<HistogramSeries>, opts: &PromFrameOptions<'_>) -> Vec<Frame> {
    histograms
        .into_iter()
        .map(|h| {
            let cells = h.samples.iter().map(|s| s.buckets.len()).sum();
            let (mut x, mut y_min, mut y_max, mut count, mut layout) = (
                Vec::with_capacity(cells),
                Vec::with_capacity(cells),
                Vec::with_capacity(cells),
                Vec::with_capacity(cells),
                Vec::with_capacity(cells),
            );
            for s in &h.samples {
                for b in &s.buckets {
                    x.push(s.time_ms);
                    y_min.push(b.lower);
                    y_max.push(b.upper);
                    count.push(b.count);
                    layout.push(b.boundary_rule);
                }
            }
            let mut y_min = Field::new("yMin", FieldValues::F64(y_min));
            if let Some(display) = display_name(&h.labels, opts) {
                y_min = y_min.with_config(FieldConfig { display_name_from_ds: Some(display), ..FieldConfig::default() });
            }
            Frame {
                name: String::new(),
                ref_id: opts.ref_id.to_owned(),
                meta: Some(FrameMeta { frame_type: Some("heatmap-cells".into()), ..FrameMeta::default() }),
                fields: vec![
                    time_field("xMax", &x, opts.step_ms),
                    y_min.with_labels(h.labels),
                    Field::new("yMax", FieldValues::F64(y_max)),
                    Field::new("count", FieldValues::F64(count)),
                    Field::new("yLayout", FieldValues::I8(layout)),
                ],
            }
        })
        .collect()
}

/// One exemplar of `/api/v1/query_exemplars`.
#[derive(Debug, Clone, PartialEq)]
pub struct Exemplar {
    pub labels: Labels,
    pub value: f64,
    pub time_ms: i64,
}

/// The exemplars of one series.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExemplarSeries {
    pub series_labels: Labels,
    pub exemplars: Vec<Exemplar>,
}

/// Parse a `/api/v1/query_exemplars` body.
pub fn parse_exemplars(body: &[u8]) -> Result<Vec<ExemplarSeries>, String> {
    #[derive(serde::Deserialize)]
    struct Answer {
        #[serde(default)]
        status: Option<String>,
        #[serde(default)]
        error: Option<String>,
        #[serde(default)]
        data: Option<Vec<RawSeries>>,
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct RawSeries {
        #[serde(default)]
        series_labels: Labels,
        #[serde(default)]
        exemplars: Vec<RawExemplar>,
    }
    #[derive(serde::Deserialize)]
    struct RawExemplar {
        #[serde(default)]
        labels: Labels,
        value: String,
        timestamp: f64,
    }
    let a: Answer = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    if a.status.as_deref() == Some("error") {
        return Err(a.error.unwrap_or_else(|| "status error".into()));
    }
    let data = a.data.ok_or_else(|| "missing `data`".to_string())?;
    data.into_iter()
        .map(|s| {
            let exemplars = s
                .exemplars
                .into_iter()
                .map(|e| Ok(Exemplar { labels: e.labels, value: parse_value(&e.value)?, time_ms: secs_to_ms(e.timestamp) }))
                .collect::<Result<Vec<_>, String>>()?;
            Ok(ExemplarSeries { series_labels: s.series_labels, exemplars })
        })
        .collect()
}

/// All exemplars in one long frame named `exemplar`, oldest first: `Time`,
/// `Value`, then one string field per label name (series and exemplar labels,
/// sorted), as Grafana builds it. `links(name)` gives a label field's data
/// links (the trace ID → trace view). No exemplars → no frame.
pub fn exemplar_frame(series: Vec<ExemplarSeries>, ref_id: &str, links: &dyn Fn(&str) -> Vec<DataLink>) -> Option<Frame> {
    let mut rows: Vec<(i64, f64, Labels)> = Vec::new();
    for s in series {
        for e in s.exemplars {
            let mut labels = s.series_labels.clone();
            labels.extend(e.labels);
            rows.push((e.time_ms, e.value, labels));
        }
    }
    if rows.is_empty() {
        return None;
    }
    rows.sort_by_key(|r| r.0);
    let names: std::collections::BTreeSet<String> = rows.iter().flat_map(|r| r.2.keys().cloned()).collect();
    let mut fields = vec![
        Field::new("Time", FieldValues::TimeNs(rows.iter().map(|r| r.0.saturating_mul(1_000_000)).collect())),
        Field::new("Value", FieldValues::F64(rows.iter().map(|r| r.1).collect())),
    ];
    for name in names {
        let values = rows.iter().map(|r| r.2.get(&name).cloned().unwrap_or_default()).collect();
        let field = Field::new(name.clone(), FieldValues::Str(values));
        let l = links(&name);
        fields.push(if l.is_empty() { field } else { field.with_config(FieldConfig { links: l, ..FieldConfig::default() }) });
    }
    let meta = FrameMeta { custom: Some(serde_json::json!({ "resultType": "exemplar" })), ..FrameMeta::default() };
    Some(Frame { name: "exemplar".into(), ref_id: ref_id.to_owned(), meta: Some(meta), fields })
}

#[cfg(test)]
#[path = "prometheus_tests.rs"]
mod tests;
