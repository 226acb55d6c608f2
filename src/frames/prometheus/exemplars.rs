//! `/api/v1/query_exemplars` bodies → the exemplar frame.

use super::*;
use crate::frames::{DataLink, Field, FieldConfig, FieldValues, Frame, FrameMeta};

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
