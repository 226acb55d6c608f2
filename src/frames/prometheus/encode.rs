//! [`PromResponse`] → the Prometheus API's own JSON (for `/api/v1/metrics` and the cache).

use super::*;

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
