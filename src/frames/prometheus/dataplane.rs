//! Series → dataplane frames, with Grafana's legend and display-name rules.

use super::*;
use crate::frames::{Field, FieldConfig, FieldValues, Frame, FrameMeta};

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
    let pairs: Vec<String> = labels.iter().filter(|(k, _)| *k != "__name__").map(|(k, v)| format!("{k}={}", crate::model::go_quote(v))).collect();
    if pairs.is_empty() && !name.is_empty() { name.to_owned() } else { format!("{name}{{{}}}", pairs.join(", ")) }
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
