//! Loki API bodies → typed columns → Grafana frames.
//!
//! One pass with serde visitors, like `prometheus.rs`: log values go straight
//! into per-stream `Vec<i64>`/`Vec<String>` columns, samples into `Series`; no
//! `serde_json::Value` tree for the result.
//!
//! Upstream format quirks (seen in the recordings in tests/fixtures/loki):
//! * Log entries are `["<unix ns as string>", "<line>"]`; with
//!   `encodingFlags: ["categorize-labels"]` a third element holds
//!   `{"structuredMetadata": {…}, "parsed": {…}}` (both optional, may be `{}`).
//! * Without that flag Loki merges structured metadata (trace_id, span_id) and
//!   `detected_level` into `stream`, so one source stream comes back as many
//!   result streams, each with few entries.
//! * Samples are `[<unix seconds as number>, "<value>"]` as in Prometheus, values
//!   include `"NaN"`; vectors use `value`, matrices `values`.
//! * `stats` is a nested object of counters and timings; it is flattened into
//!   `(path, number)` pairs.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value as JsonValue;

use super::prometheus::{Labels, ResultType, Series};
use super::{DataLink, Field, FieldConfig, FieldValues, Frame, FrameMeta, QueryStat};

/// One result stream with its entries as columns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LokiStream {
    pub labels: Labels,
    pub times_ns: Vec<i64>,
    pub lines: Vec<String>,
    /// Per-entry structured metadata and parsed labels (categorize-labels
    /// encoding); empty when no entry had a third element.
    pub metadata: Vec<Labels>,
}

/// The `data.result` of a Loki query answer.
#[derive(Debug, Clone, PartialEq)]
pub enum LokiData {
    Streams(Vec<LokiStream>),
    /// `matrix` and `vector` results.
    Series {
        result_type: ResultType,
        series: Vec<Series>,
    },
}

/// A parsed query answer.
#[derive(Debug, Clone, PartialEq)]
pub struct LokiResponse {
    pub data: LokiData,
    /// `stats`, flattened: (`summary.totalBytesProcessed`, 24547.0), …
    pub stats: Vec<(String, f64)>,
    pub warnings: Vec<String>,
}

impl LokiResponse {
    pub fn entries(&self) -> usize {
        match &self.data {
            LokiData::Streams(s) => s.iter().map(|s| s.lines.len()).sum(),
            LokiData::Series { series, .. } => series.iter().map(|s| s.values.len()).sum(),
        }
    }
}

/// Parse a `/loki/api/v1/query` or `/loki/api/v1/query_range` body.
pub fn parse_query_response(body: &[u8]) -> Result<LokiResponse, String> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let top = TopLevel::deserialize(&mut de).map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    if top.status.as_deref() == Some("error") {
        return Err(top.error.unwrap_or_else(|| "status error".into()));
    }
    let DataObj { result_type, result, stats } = top.data.ok_or_else(|| "missing `data`".to_string())?;
    let Results { streams, series } = result.unwrap_or_default();
    let data = match result_type.as_deref() {
        Some("streams") if series.is_empty() => LokiData::Streams(streams),
        Some(t @ ("matrix" | "vector")) if streams.is_empty() => {
            LokiData::Series { result_type: if t == "matrix" { ResultType::Matrix } else { ResultType::Vector }, series }
        }
        Some(t @ ("streams" | "matrix" | "vector")) => return Err(format!("resultType {t:?} does not match the result elements")),
        Some(other) => return Err(format!("unsupported resultType {other:?}")),
        None if !series.is_empty() => LokiData::Series { result_type: ResultType::Matrix, series },
        None => LokiData::Streams(streams),
    };
    Ok(LokiResponse { data, stats: stats.map(|f| f.0).unwrap_or_default(), warnings: top.warnings })
}

/// An entry Loki dropped from a tail because the client fell behind.
#[derive(Debug, Clone, PartialEq)]
pub struct DroppedEntry {
    pub timestamp_ns: i64,
    /// The stream's labels, written as a selector (`{app="foo"}`).
    pub labels: String,
}

/// One `/loki/api/v1/tail` websocket message.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TailMessage {
    pub streams: Vec<LokiStream>,
    pub dropped: Vec<DroppedEntry>,
}

impl TailMessage {
    /// The newest entry timestamp (where a reconnect resumes), if any.
    pub fn newest_ns(&self) -> Option<i64> {
        self.streams.iter().flat_map(|s| s.times_ns.iter().copied()).max()
    }
}

/// Parse a tail message: `{"streams":[…],"dropped_entries":[{"timestamp":"<ns>","labels":…}]}`.
/// `labels` of a dropped entry is an object in current Loki and a selector
/// string in old ones; both are accepted.
pub fn parse_tail_message(body: &[u8]) -> Result<TailMessage, String> {
    #[derive(Deserialize)]
    struct Raw {
        #[serde(default)]
        streams: Option<Results>,
        #[serde(default)]
        dropped_entries: Option<Vec<RawDropped>>,
    }
    #[derive(Deserialize)]
    struct RawDropped {
        timestamp: String,
        #[serde(default)]
        labels: Option<RawLabels>,
    }
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum RawLabels {
        Map(Labels),
        Text(String),
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let raw = Raw::deserialize(&mut de).map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    let Results { streams, series } = raw.streams.unwrap_or_default();
    if !series.is_empty() {
        return Err("a tail message with samples instead of log lines".into());
    }
    let dropped = raw
        .dropped_entries
        .unwrap_or_default()
        .into_iter()
        .map(|d| {
            let timestamp_ns =
                d.timestamp.parse::<i64>().map_err(|_| format!("dropped entry timestamp {:?} is not integer nanoseconds", d.timestamp))?;
            let labels = match d.labels {
                Some(RawLabels::Text(t)) => t,
                Some(RawLabels::Map(m)) => {
                    let pairs: Vec<String> = m.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
                    format!("{{{}}}", pairs.join(", "))
                }
                None => "{}".into(),
            };
            Ok(DroppedEntry { timestamp_ns, labels })
        })
        .collect::<Result<_, String>>()?;
    Ok(TailMessage { streams, dropped })
}

#[derive(Deserialize)]
struct TopLevel {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    data: Option<DataObj>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    warnings: Vec<String>,
}

#[derive(Deserialize)]
struct DataObj {
    #[serde(rename = "resultType", default)]
    result_type: Option<String>,
    #[serde(default)]
    result: Option<Results>,
    #[serde(default)]
    stats: Option<FlatStats>,
}

#[derive(Default)]
struct Results {
    streams: Vec<LokiStream>,
    series: Vec<Series>,
}

impl<'de> Deserialize<'de> for Results {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Results;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array of streams or series")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Results, A::Error> {
                let mut r = Results::default();
                while let Some(elem) = seq.next_element::<Element>()? {
                    match elem {
                        Element::Stream(s) => r.streams.push(s),
                        Element::Series(s) => r.series.push(s),
                    }
                }
                Ok(r)
            }
        }
        d.deserialize_seq(V)
    }
}

enum Element {
    Stream(LokiStream),
    Series(Series),
}

/// Entries of one element, whichever shape they turn out to have.
#[derive(Default)]
struct Entries {
    times_ns: Vec<i64>,
    lines: Vec<String>,
    metadata: Vec<Labels>,
    has_metadata: bool,
    sample_times_ms: Vec<i64>,
    samples: Vec<f64>,
}

impl<'de> Deserialize<'de> for Element {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Element;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a stream or series object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Element, A::Error> {
                let mut labels: Option<Labels> = None;
                let mut is_series = false;
                let mut e = Entries::default();
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    match key.as_ref() {
                        "stream" => labels = Some(map.next_value()?),
                        "metric" => {
                            labels = Some(map.next_value()?);
                            is_series = true;
                        }
                        "values" => map.next_value_seed(EntriesSeed(&mut e))?,
                        "value" => map.next_value_seed(EntrySeed(&mut e))?,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                let labels = labels.unwrap_or_default();
                if is_series || !e.samples.is_empty() {
                    if !e.lines.is_empty() {
                        return Err(de::Error::custom("a series with log lines"));
                    }
                    return Ok(Element::Series(Series { labels, times_ms: e.sample_times_ms, values: e.samples }));
                }
                if !e.has_metadata {
                    e.metadata.clear();
                }
                Ok(Element::Stream(LokiStream { labels, times_ns: e.times_ns, lines: e.lines, metadata: e.metadata }))
            }
        }
        d.deserialize_map(V)
    }
}

struct EntriesSeed<'a>(&'a mut Entries);

impl<'de> DeserializeSeed<'de> for EntriesSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for EntriesSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of entries")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(EntrySeed(self.0))?.is_some() {}
        Ok(())
    }
}

/// One `["ns", "line"(, {meta})]` entry or `[secs, "value"]` sample.
struct EntrySeed<'a>(&'a mut Entries);

impl<'de> DeserializeSeed<'de> for EntrySeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

enum Ts {
    Ns(i64),
    Secs(f64),
}

impl<'de> Deserialize<'de> for Ts {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Ts;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a timestamp (nanoseconds as a string, or seconds as a number)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Ts, E> {
                v.parse::<i64>().map(Ts::Ns).map_err(|_| E::custom(format!("timestamp {v:?} is not integer nanoseconds")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Ts, E> {
                Ok(Ts::Secs(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Ts, E> {
                Ok(Ts::Secs(v as f64))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Ts, E> {
                Ok(Ts::Secs(v as f64))
            }
        }
        d.deserialize_any(V)
    }
}

/// A categorize-labels metadata value: a label value, or a category of labels.
#[derive(Deserialize)]
#[serde(untagged)]
enum MetaValue {
    Value(String),
    Category(Labels),
}

impl<'de> Visitor<'de> for EntrySeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a [timestamp, line] entry")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let ts: Ts = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(0, &self))?;
        let e = self.0;
        match ts {
            Ts::Secs(t) => {
                let v: Cow<'de, str> = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(1, &"a [time, \"value\"] sample"))?;
                let v = v.parse::<f64>().map_err(|_| de::Error::custom(format!("sample value {v:?} is not a number")))?;
                e.sample_times_ms.push((t * 1000.0).round() as i64);
                e.samples.push(v);
            }
            Ts::Ns(t) => {
                let line: String = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(1, &"a [\"ns\", \"line\"] entry"))?;
                let meta: Option<BTreeMap<String, MetaValue>> = seq.next_element()?;
                let mut labels = Labels::new();
                if let Some(m) = meta {
                    e.has_metadata = true;
                    for (k, v) in m {
                        match v {
                            MetaValue::Value(v) => {
                                labels.insert(k, v);
                            }
                            MetaValue::Category(c) => labels.extend(c),
                        }
                    }
                }
                e.times_ns.push(t);
                e.lines.push(line);
                e.metadata.push(labels);
            }
        }
        if seq.next_element::<IgnoredAny>()?.is_some() {
            return Err(de::Error::custom("an entry has more than 3 elements"));
        }
        Ok(())
    }
}

/// `stats` flattened to (`a.b.c`, number) pairs, in document order.
struct FlatStats(Vec<(String, f64)>);

impl<'de> Deserialize<'de> for FlatStats {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut out = Vec::new();
        d.deserialize_any(StatsVisitor { prefix: String::new(), out: &mut out })?;
        Ok(FlatStats(out))
    }
}

struct StatsVisitor<'a> {
    prefix: String,
    out: &'a mut Vec<(String, f64)>,
}

impl<'de> DeserializeSeed<'de> for StatsVisitor<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StatsVisitor<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a stats object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(k) = map.next_key::<Cow<'de, str>>()? {
            let prefix = if self.prefix.is_empty() { k.into_owned() } else { format!("{}.{k}", self.prefix) };
            map.next_value_seed(StatsVisitor { prefix, out: self.out })?;
        }
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.out.push((self.prefix, v));
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.visit_f64(v as f64)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.visit_f64(v as f64)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }
}

/// Stats summed over clusters, as Grafana's `meta.stats` ("Summary: total bytes processed").
/// Durations (`…Time`) take the slowest cluster instead of the sum.
pub fn federated_stats<'a>(per_cluster: impl IntoIterator<Item = &'a [(String, f64)]>) -> Vec<QueryStat> {
    let mut order: Vec<String> = Vec::new();
    let mut acc: BTreeMap<String, f64> = BTreeMap::new();
    for stats in per_cluster {
        for (k, v) in stats {
            match acc.get_mut(k) {
                Some(a) if k.ends_with("Time") => *a = a.max(*v),
                Some(a) => *a += v,
                None => {
                    order.push(k.clone());
                    acc.insert(k.clone(), *v);
                }
            }
        }
    }
    order
        .into_iter()
        .map(|k| {
            let value = acc[&k];
            let unit = if k.ends_with("Time") {
                Some("s")
            } else if k.ends_with("BytesProcessed") || k.ends_with("Bytes") {
                Some("decbytes")
            } else if k.ends_with("bytesProcessedPerSecond") {
                Some("Bps")
            } else {
                None
            };
            QueryStat { display_name: stat_name(&k), value, unit: unit.map(str::to_owned) }
        })
        .collect()
}

/// `summary.totalBytesProcessed` → `Summary: total bytes processed`.
fn stat_name(path: &str) -> String {
    let mut parts = path.split('.');
    let first = parts.next().unwrap_or_default();
    let mut section: String = first.chars().take(1).flat_map(char::to_uppercase).chain(first.chars().skip(1)).collect();
    let rest: Vec<&str> = parts.collect();
    if let Some((last, middle)) = rest.split_last() {
        for m in middle {
            section.push(' ');
            section.push_str(m);
        }
        let mut words = String::new();
        for c in last.chars() {
            if c.is_ascii_uppercase() {
                words.push(' ');
                words.push(c.to_ascii_lowercase());
            } else {
                words.push(c);
            }
        }
        format!("{section}: {words}")
    } else {
        section
    }
}

/// The merged lines of a logs query, column by column.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogColumns {
    pub times_ns: Vec<i64>,
    pub bodies: Vec<String>,
    pub severities: Vec<Option<String>>,
    pub ids: Vec<String>,
    pub labels: Vec<JsonValue>,
}

impl LogColumns {
    pub fn with_capacity(n: usize) -> Self {
        LogColumns {
            times_ns: Vec::with_capacity(n),
            bodies: Vec::with_capacity(n),
            severities: Vec::with_capacity(n),
            ids: Vec::with_capacity(n),
            labels: Vec::with_capacity(n),
        }
    }
}

/// A derived field: `regex`'s first capture group (or whole match) of each body
/// becomes the value of a field called `name`, which carries `link`.
#[derive(Debug, Clone)]
pub struct DerivedField {
    pub name: String,
    pub regex: regex::Regex,
    pub link: Option<DataLink>,
}

impl DerivedField {
    fn extract(&self, body: &str) -> Option<String> {
        let caps = self.regex.captures(body)?;
        caps.get(1).or_else(|| caps.get(0)).map(|m| m.as_str().to_owned())
    }
}

/// The label that gives a line its severity, in order of preference.
pub fn severity(labels: &Labels) -> Option<String> {
    labels.get("level").or_else(|| labels.get("detected_level")).or_else(|| labels.get("lvl")).cloned()
}

/// Stable 64-bit FNV-1a of a label set (ids must not change between runs or builds).
pub fn labels_hash(labels: &Labels) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (k, v) in labels {
        for b in k.bytes().chain([0xff]).chain(v.bytes()).chain([0xfe]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// The data-plane `log-lines` frame: `timestamp`, `body`, `severity`, `id`,
/// `labels` (JSON), plus one field per derived field.
pub fn log_frame(cols: LogColumns, ref_id: &str, derived: &[DerivedField], mut meta: FrameMeta) -> Frame {
    meta.frame_type = Some("log-lines".into());
    meta.type_version = Some([0, 1]);
    meta.preferred_visualisation_type = Some("logs".into());
    let mut extra = Vec::with_capacity(derived.len());
    for d in derived {
        let values: Vec<Option<String>> = cols.bodies.iter().map(|b| d.extract(b)).collect();
        let mut f = Field::new(d.name.clone(), FieldValues::NullableStr(values));
        if let Some(link) = &d.link {
            f = f.with_config(FieldConfig { links: vec![link.clone()], ..FieldConfig::default() });
        }
        extra.push(f);
    }
    let mut fields = vec![
        Field::new("timestamp", FieldValues::TimeNs(cols.times_ns)),
        Field::new("body", FieldValues::Str(cols.bodies)),
        Field::new("severity", FieldValues::NullableStr(cols.severities)),
        Field::new("id", FieldValues::Str(cols.ids)),
        Field::new("labels", FieldValues::Json(cols.labels)),
    ];
    fields.extend(extra);
    Frame { name: String::new(), ref_id: ref_id.to_owned(), meta: Some(meta), fields }
}

#[cfg(test)]
#[path = "loki_tests.rs"]
mod tests;
