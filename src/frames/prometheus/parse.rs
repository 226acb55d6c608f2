//! Prometheus API bodies → [`PromResponse`], in one pass of serde visitors that push
//! straight into the columns.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::*;

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
                "values" => {
                    // Borrowed from the body: serde_json checks the array is
                    // well-formed JSON; the scanner reads the common shape.
                    let raw: &'de serde_json::value::RawValue = map.next_value()?;
                    reserve_points(&mut s);
                    if points::scan_values(raw.get(), &mut s.times_ms, &mut s.values).is_none() {
                        let mut de = serde_json::Deserializer::from_str(raw.get());
                        PointsSeed { series: &mut s }.deserialize(&mut de).map_err(|e| de::Error::custom(without_position(&e)))?;
                    }
                    release_unused(&mut s);
                }
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
        while let Some((t, v)) = seq.next_element_seed(PointSeed)? {
            self.series.times_ms.push(t);
            self.series.values.push(v);
        }
        Ok(())
    }
}

/// Columns sized once for the points the query's window and step promise
/// (serde_json gives no length for arrays; doubling would cost up to 2×).
fn reserve_points(s: &mut Series) {
    let n = POINTS_HINT.with(|h| h.get());
    s.times_ms.reserve_exact(n);
    s.values.reserve_exact(n);
}

/// A sparse series must not keep the full hinted capacity (10k series of one
/// point each would otherwise hold gigabytes).
fn release_unused(s: &mut Series) {
    if s.times_ms.capacity() > 2 * s.times_ms.len() {
        s.times_ms.shrink_to_fit();
        s.values.shrink_to_fit();
    }
}

/// A nested parse's message without its position (which counts from the
/// array, not the body; the outer parser adds the body's).
fn without_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.strip_suffix(&format!(" at line {} column {}", e.line(), e.column())) {
        Some(message) => message.to_string(),
        None => text,
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

pub(super) fn secs_to_ms(t: f64) -> i64 {
    (t * 1000.0).round() as i64
}

pub(super) fn parse_value(v: &str) -> Result<f64, String> {
    v.parse::<f64>().map_err(|_| format!("sample value {v:?} is not a number"))
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
