//! Grafana data frames, owned by us.
//!
//! Why not `grafana_plugin_sdk::data::Frame`: it has no frame `type`/`typeVersion`
//! (Grafana's server-side expressions only take the data-plane path when both are
//! set), no internal data links, no JSON field type, and it drops a field's labels
//! when the field also has a config. This module is the one frame model every
//! query kind builds; two encoders turn it into bytes:
//!
//! * [`arrow`] — Arrow IPC, what `QueryData` returns (decoded by Grafana with
//!   `data.UnmarshalArrowFrames`).
//! * [`json`] — Grafana's data-frame JSON (`{"schema":…,"data":…}`), used by
//!   stream packets and the HTTP resource API.
//!
//! Upstream-specific converters (bytes → frames) live beside them, one file per
//! upstream (`prometheus.rs`, …).

pub mod alertmanager;
pub mod arrow;
pub mod cnf;
pub mod gpu;
pub mod json;
pub mod loki;
pub mod probe_table;
pub mod prometheus;
pub mod tempo;
pub mod trace_analysis;

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value as JsonValue;

/// One Grafana data frame: a named set of equal-length columns plus metadata.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Frame {
    pub name: String,
    pub ref_id: String,
    pub meta: Option<FrameMeta>,
    pub fields: Vec<Field>,
}

/// A frame's `meta` object, serialised exactly as Grafana's `data.FrameMeta`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FrameMeta {
    /// Data-plane type, e.g. `timeseries-multi`, `numeric-multi`, `log-lines`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub frame_type: Option<String>,
    /// Data-plane type version; must be non-zero (e.g. `[0, 1]`) for alerting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub type_version: Option<[u32; 2]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom: Option<JsonValue>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stats: Vec<QueryStat>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<Notice>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_visualisation_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub executed_query_string: Option<String>,
}

impl FrameMeta {
    /// Meta for a data-plane frame type at version 0.1.
    pub fn dataplane(frame_type: &str) -> Self {
        FrameMeta { frame_type: Some(frame_type.to_owned()), type_version: Some([0, 1]), ..FrameMeta::default() }
    }
}

/// A statistic shown in the query inspector (`meta.stats`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryStat {
    pub display_name: String,
    pub value: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

/// A message shown to the user with the frame (`meta.notices`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notice {
    pub severity: NoticeSeverity,
    pub text: String,
}

/// Grafana's notice severities; serialised as Grafana's JSON names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NoticeSeverity {
    Info,
    Warning,
    Error,
}

/// One column of a frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub config: Option<FieldConfig>,
    pub values: FieldValues,
}

impl Field {
    pub fn new(name: impl Into<String>, values: FieldValues) -> Self {
        Field { name: name.into(), labels: BTreeMap::new(), config: None, values }
    }

    pub fn with_labels(mut self, labels: BTreeMap<String, String>) -> Self {
        self.labels = labels;
        self
    }

    pub fn with_config(mut self, config: FieldConfig) -> Self {
        self.config = Some(config);
        self
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.len() == 0
    }
}

/// Column data. Time is always nanoseconds since the Unix epoch (the Go SDK
/// reads every Arrow timestamp as nanoseconds, whatever its declared unit).
/// JSON columns hold already-serialised JSON text.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValues {
    TimeNs(Vec<i64>),
    NullableTimeNs(Vec<Option<i64>>),
    F64(Vec<f64>),
    NullableF64(Vec<Option<f64>>),
    I64(Vec<i64>),
    NullableI64(Vec<Option<i64>>),
    U64(Vec<u64>),
    /// Small integers (`int8`): a heatmap-cells frame's `yLayout`.
    I8(Vec<i8>),
    Bool(Vec<bool>),
    NullableBool(Vec<Option<bool>>),
    Str(Vec<String>),
    NullableStr(Vec<Option<String>>),
    Json(Vec<JsonValue>),
    NullableJson(Vec<Option<JsonValue>>),
}

impl FieldValues {
    pub fn len(&self) -> usize {
        match self {
            FieldValues::TimeNs(v) | FieldValues::I64(v) => v.len(),
            FieldValues::NullableTimeNs(v) | FieldValues::NullableI64(v) => v.len(),
            FieldValues::F64(v) => v.len(),
            FieldValues::NullableF64(v) => v.len(),
            FieldValues::U64(v) => v.len(),
            FieldValues::I8(v) => v.len(),
            FieldValues::Bool(v) => v.len(),
            FieldValues::NullableBool(v) => v.len(),
            FieldValues::Str(v) => v.len(),
            FieldValues::NullableStr(v) => v.len(),
            FieldValues::Json(v) => v.len(),
            FieldValues::NullableJson(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A field's display configuration (`config`), serialised as Grafana's
/// `data.FieldConfig`. Only what this plugin sets is modelled.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldConfig {
    #[serde(rename = "displayNameFromDS", skip_serializing_if = "Option::is_none")]
    pub display_name_from_ds: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Expected interval between values, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<f64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<DataLink>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom: Option<JsonValue>,
    /// Colour scheme (`{"mode":"fixed","fixedColor":"red"}`), e.g. node-graph arcs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color: Option<JsonValue>,
}

/// A data link on a field. With `internal` set, Grafana runs `internal.query`
/// against the datasource `internal.datasource_uid` (Explore split view).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DataLink {
    pub title: String,
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub internal: Option<InternalLink>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InternalLink {
    /// The target query's JSON (e.g. a `traces` query of this datasource).
    pub query: JsonValue,
    #[serde(rename = "datasourceUid")]
    pub datasource_uid: String,
    pub datasource_name: String,
}

/// Why a frame cannot be encoded.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("frame {frame:?}: field {field:?} has {len} values, expected {expected}")]
    LengthMismatch { frame: String, field: String, len: usize, expected: usize },
    #[error("frame {frame:?}: arrow encoding failed: {source}")]
    Arrow { frame: String, source: arrow_schema::ArrowError },
    #[error("frame {frame:?}: metadata serialisation failed: {source}")]
    Meta { frame: String, source: serde_json::Error },
}
