//! Grafana's data-frame JSON, as the Go SDK writes it (`data/frame_json.go`,
//! `FrameToJSON` / `json.Marshal(frame)`), and as Grafana's frontend and the Go
//! SDK's reader (`readDataFrameJSON`) take it:
//!
//! ```json
//! {"schema": {"name": "…", "refId": "…", "meta": {…},
//!             "fields": [{"name": "…", "type": "number",
//!                         "typeInfo": {"frame": "float64", "nullable": true},
//!                         "labels": {…}, "config": {…}}]},
//!  "data":   {"values": [[…], …], "entities": [null, {"NaN": [1], "Inf": [2], "NegInf": [3]}],
//!             "nanos": [[0, 500000], null]}}
//! ```
//!
//! * `schema.name` / `schema.refId` are left out when empty, `meta` when absent;
//!   `fields` is always there. A field's `name` is left out when empty, `labels`
//!   when it has none, `config` when it has none.
//! * `type` is the TypeScript type (`time`, `number`, `string`, `boolean`,
//!   `other` for JSON); `typeInfo.frame` the Go item type of the non-nullable
//!   kind (`time.Time`, `float64`, `int64`, `uint64`, `string`, `bool`,
//!   `json.RawMessage`), with `"nullable": true` only for nullable kinds.
//! * Time is written as integer epoch **milliseconds** (Go's `t.UnixMilli()`,
//!   i.e. floor division); a non-zero remainder goes to `data.nanos`: one entry
//!   per field, `null` for fields without remainders, otherwise an array as long
//!   as the column with the 0–999 999 ns remainder of each row. Left out when no
//!   field has one.
//! * NaN, +Inf and −Inf cannot be JSON numbers: the value is written as `null`
//!   and its row index listed in `data.entities` (one entry per field, `null` for
//!   fields without any, otherwise an object with only the non-empty `NaN`,
//!   `Inf`, `NegInf` lists). Left out when no field has one.
//! * JSON columns are embedded as JSON, not as strings; a JSON `null` is `null`.
//! * `uint64` values are written as exact JSON integers.
//!
//! **Key order matters to the Go SDK.** Its reader (`readDataFrameJSON`, checked
//! against grafana-plugin-sdk-go v0.298.0) walks the object in order: `schema`
//! must come before `data`, and `values` before `entities`/`nanos` — otherwise
//! it fails ("fields is nil") or panics indexing fields it has not built yet.
//! A [`serde_json::Value`] sorts its keys (unless serde_json's `preserve_order`
//! feature is on), which puts `data` first and `entities` before `values`. So
//! anything sent to Grafana (HTTP API bodies, stream packets) must use
//! [`to_json_bytes`] / [`frames_to_json_bytes`], which write Go's order directly
//! without building a `Value` tree. They are the only encoder: [`to_json`] parses
//! their output back into a `Value`, for inspection and tests.

use serde::Serialize;
use serde_json::Value as JsonValue;

use super::{Field, FieldValues, Frame};

/// [`to_json_bytes`] read back into a `Value` (keys sorted), for inspection and
/// tests: there is one encoder, and this is its output.
pub fn to_json(frame: &Frame) -> JsonValue {
    // The encoder writes valid JSON for every frame (see its tests), so the
    // parse cannot fail; should it ever, `null` says so rather than a half value.
    serde_json::from_slice(&to_json_bytes(frame)).unwrap_or(JsonValue::Null)
}

/// [`frames_to_json_bytes`] read back into a `Value`, for inspection and tests.
pub fn frames_to_json(frames: &[Frame]) -> JsonValue {
    serde_json::from_slice(&frames_to_json_bytes(frames)).unwrap_or(JsonValue::Null)
}

/// One frame as frame-JSON text in the Go SDK's key order (see the module
/// docs): what to put on the wire.
pub fn to_json_bytes(frame: &Frame) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + frame.fields.len() * 128 + frame.fields.first().map_or(0, Field::len) * frame.fields.len() * 12);
    write_frame(&mut out, frame);
    out
}

/// Several frames as a JSON array, each written as by [`to_json_bytes`].
pub fn frames_to_json_bytes(frames: &[Frame]) -> Vec<u8> {
    let mut out = Vec::new();
    out.push(b'[');
    for (i, frame) in frames.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_frame(&mut out, frame);
    }
    out.push(b']');
    out
}

/// Go's `ItemTypeString()` of the non-nullable field type, and whether the
/// kind is nullable.
fn type_info(values: &FieldValues) -> (&'static str, bool) {
    match values {
        FieldValues::TimeNs(_) => ("time.Time", false),
        FieldValues::NullableTimeNs(_) => ("time.Time", true),
        FieldValues::F64(_) => ("float64", false),
        FieldValues::NullableF64(_) => ("float64", true),
        FieldValues::I64(_) => ("int64", false),
        FieldValues::NullableI64(_) => ("int64", true),
        FieldValues::U64(_) => ("uint64", false),
        FieldValues::Bool(_) => ("bool", false),
        FieldValues::NullableBool(_) => ("bool", true),
        FieldValues::Str(_) => ("string", false),
        FieldValues::NullableStr(_) => ("string", true),
        FieldValues::Json(_) => ("json.RawMessage", false),
        FieldValues::NullableJson(_) => ("json.RawMessage", true),
    }
}

/// Row indexes of the values JSON numbers cannot carry.
#[derive(Default)]
struct Entities {
    nan: Vec<usize>,
    inf: Vec<usize>,
    neg_inf: Vec<usize>,
}

impl Entities {
    fn is_empty(&self) -> bool {
        self.nan.is_empty() && self.inf.is_empty() && self.neg_inf.is_empty()
    }

    /// Writes the entry as Go does: `null`, or the non-empty lists in the order
    /// `NaN`, `Inf`, `NegInf`.
    fn write(&self, out: &mut Vec<u8>) {
        if self.is_empty() {
            out.extend_from_slice(b"null");
            return;
        }
        out.push(b'{');
        let mut first = true;
        for (key, rows) in [("NaN", &self.nan), ("Inf", &self.inf), ("NegInf", &self.neg_inf)] {
            if rows.is_empty() {
                continue;
            }
            if !first {
                out.push(b',');
            }
            first = false;
            put(out, key);
            out.push(b':');
            put(out, rows);
        }
        out.push(b'}');
    }
}

/// Appends `value` as JSON. Writing into a `Vec` cannot fail on I/O, and the
/// types written here (strings, numbers, JSON values, derive(Serialize) structs
/// with string keys) cannot fail to serialise; should one ever fail, a `null`
/// stands in for it rather than half a value.
fn put<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    let start = out.len();
    if serde_json::to_writer(&mut *out, value).is_err() {
        out.truncate(start);
        out.extend_from_slice(b"null");
    }
}

fn write_frame(out: &mut Vec<u8>, frame: &Frame) {
    out.extend_from_slice(b"{\"schema\":");
    write_schema(out, frame);
    out.extend_from_slice(b",\"data\":");
    write_data(out, frame);
    out.push(b'}');
}

fn write_schema(out: &mut Vec<u8>, frame: &Frame) {
    out.push(b'{');
    if !frame.name.is_empty() {
        out.extend_from_slice(b"\"name\":");
        put(out, &frame.name);
        out.push(b',');
    }
    if !frame.ref_id.is_empty() {
        out.extend_from_slice(b"\"refId\":");
        put(out, &frame.ref_id);
        out.push(b',');
    }
    if let Some(meta) = &frame.meta {
        out.extend_from_slice(b"\"meta\":");
        put(out, meta);
        out.push(b',');
    }
    out.extend_from_slice(b"\"fields\":[");
    for (i, field) in frame.fields.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'{');
        if !field.name.is_empty() {
            out.extend_from_slice(b"\"name\":");
            put(out, &field.name);
            out.push(b',');
        }
        out.extend_from_slice(b"\"type\":");
        put(out, super::arrow::ts_type(&field.values));
        let (frame_type, nullable) = type_info(&field.values);
        out.extend_from_slice(b",\"typeInfo\":{\"frame\":");
        put(out, frame_type);
        if nullable {
            out.extend_from_slice(b",\"nullable\":true");
        }
        out.push(b'}');
        if !field.labels.is_empty() {
            out.extend_from_slice(b",\"labels\":");
            put(out, &field.labels);
        }
        if let Some(config) = &field.config {
            out.extend_from_slice(b",\"config\":");
            put(out, config);
        }
        out.push(b'}');
    }
    out.extend_from_slice(b"]}");
}

/// Writes `[v0,v1,…]`, `null` for `None`.
fn put_list<T: Serialize>(out: &mut Vec<u8>, values: impl Iterator<Item = Option<T>>) {
    out.push(b'[');
    for (i, value) in values.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        match value {
            Some(v) => put(out, &v),
            None => out.extend_from_slice(b"null"),
        }
    }
    out.push(b']');
}

/// Writes a time column as epoch milliseconds; returns the sub-millisecond
/// remainders when any is non-zero.
fn put_times(out: &mut Vec<u8>, values: impl ExactSizeIterator<Item = Option<i64>>) -> Option<Vec<i64>> {
    let len = values.len();
    let mut nanos: Option<Vec<i64>> = None;
    out.push(b'[');
    for (row, ns) in values.enumerate() {
        if row > 0 {
            out.push(b',');
        }
        match ns {
            Some(ns) => {
                let rest = ns.rem_euclid(1_000_000);
                if rest != 0 {
                    nanos.get_or_insert_with(|| vec![0; len])[row] = rest;
                }
                put(out, &ns.div_euclid(1_000_000));
            }
            None => out.extend_from_slice(b"null"),
        }
    }
    out.push(b']');
    nanos
}

/// Writes a float column, non-finite values as `null`; returns their indexes.
fn put_floats(out: &mut Vec<u8>, values: impl Iterator<Item = Option<f64>>) -> Entities {
    let mut entities = Entities::default();
    out.push(b'[');
    for (row, value) in values.enumerate() {
        if row > 0 {
            out.push(b',');
        }
        match value {
            Some(v) if v.is_finite() => put(out, &v),
            Some(v) => {
                if v.is_nan() {
                    entities.nan.push(row);
                } else if v > 0.0 {
                    entities.inf.push(row);
                } else {
                    entities.neg_inf.push(row);
                }
                out.extend_from_slice(b"null");
            }
            None => out.extend_from_slice(b"null"),
        }
    }
    out.push(b']');
    entities
}

fn write_data(out: &mut Vec<u8>, frame: &Frame) {
    let mut entities: Vec<Entities> = Vec::with_capacity(frame.fields.len());
    let mut nanos: Vec<Option<Vec<i64>>> = Vec::with_capacity(frame.fields.len());

    out.extend_from_slice(b"{\"values\":[");
    for (i, field) in frame.fields.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let mut col_entities = Entities::default();
        let mut col_nanos = None;
        match &field.values {
            FieldValues::TimeNs(v) => col_nanos = put_times(out, v.iter().map(|x| Some(*x))),
            FieldValues::NullableTimeNs(v) => col_nanos = put_times(out, v.iter().copied()),
            FieldValues::F64(v) => col_entities = put_floats(out, v.iter().map(|x| Some(*x))),
            FieldValues::NullableF64(v) => col_entities = put_floats(out, v.iter().copied()),
            FieldValues::I64(v) => put_list(out, v.iter().map(Some)),
            FieldValues::NullableI64(v) => put_list(out, v.iter().map(Option::as_ref)),
            FieldValues::U64(v) => put_list(out, v.iter().map(Some)),
            FieldValues::Bool(v) => put_list(out, v.iter().map(Some)),
            FieldValues::NullableBool(v) => put_list(out, v.iter().map(Option::as_ref)),
            FieldValues::Str(v) => put_list(out, v.iter().map(Some)),
            FieldValues::NullableStr(v) => put_list(out, v.iter().map(Option::as_ref)),
            // A JSON null is written as null either way.
            FieldValues::Json(v) => put_list(out, v.iter().map(Some)),
            FieldValues::NullableJson(v) => put_list(out, v.iter().map(Option::as_ref)),
        }
        entities.push(col_entities);
        nanos.push(col_nanos);
    }
    out.push(b']');

    if entities.iter().any(|e| !e.is_empty()) {
        out.extend_from_slice(b",\"entities\":[");
        for (i, e) in entities.into_iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            e.write(out);
        }
        out.push(b']');
    }
    if nanos.iter().any(Option::is_some) {
        out.extend_from_slice(b",\"nanos\":");
        put_list(out, nanos.into_iter());
    }
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::frames::{DataLink, FieldConfig, FrameMeta, InternalLink};

    fn small_frame() -> Frame {
        let labels: BTreeMap<String, String> = [("cluster", "prod-a"), ("job", "api")].iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        Frame {
            name: "latency".into(),
            ref_id: "A".into(),
            meta: Some(FrameMeta::dataplane("timeseries-multi")),
            fields: vec![
                Field::new("time", FieldValues::TimeNs((0..5).map(|s| 1_700_000_000_000_000_000 + s * 1_000_000_000).collect())),
                Field::new("value", FieldValues::NullableF64(vec![Some(0.5), Some(f64::NAN), None, Some(f64::INFINITY), Some(f64::NEG_INFINITY)]))
                    .with_labels(labels)
                    .with_config(FieldConfig {
                        display_name_from_ds: Some("api prod-a".into()),
                        unit: Some("s".into()),
                        links: vec![DataLink {
                            title: "Trace".into(),
                            url: "".into(),
                            internal: Some(InternalLink {
                                query: json!({"queryType": "traces", "query": "${__value.raw}"}),
                                datasource_uid: "ds-uid".into(),
                                datasource_name: "Fleetscope".into(),
                            }),
                        }],
                        ..FieldConfig::default()
                    }),
                Field::new("attributes", FieldValues::Json(vec![json!({"a": 1}), json!([1, "x"]), JsonValue::Null, json!("s"), json!(2.5)])),
            ],
        }
    }

    #[test]
    fn exact_json_small_frame() {
        let expected = json!({
            "schema": {
                "name": "latency",
                "refId": "A",
                "meta": {"type": "timeseries-multi", "typeVersion": [0, 1]},
                "fields": [
                    {"name": "time", "type": "time", "typeInfo": {"frame": "time.Time"}},
                    {
                        "name": "value",
                        "type": "number",
                        "typeInfo": {"frame": "float64", "nullable": true},
                        "labels": {"cluster": "prod-a", "job": "api"},
                        "config": {
                            "displayNameFromDS": "api prod-a",
                            "unit": "s",
                            "links": [{
                                "title": "Trace",
                                "url": "",
                                "internal": {
                                    "query": {"queryType": "traces", "query": "${__value.raw}"},
                                    "datasourceUid": "ds-uid",
                                    "datasourceName": "Fleetscope"
                                }
                            }]
                        }
                    },
                    {"name": "attributes", "type": "other", "typeInfo": {"frame": "json.RawMessage"}}
                ]
            },
            "data": {
                "values": [
                    [1_700_000_000_000_i64, 1_700_000_001_000_i64, 1_700_000_002_000_i64, 1_700_000_003_000_i64, 1_700_000_004_000_i64],
                    [0.5, null, null, null, null],
                    [{"a": 1}, [1, "x"], null, "s", 2.5]
                ],
                "entities": [null, {"NaN": [1], "Inf": [3], "NegInf": [4]}, null]
            }
        });
        assert_eq!(to_json(&small_frame()), expected);
    }

    #[test]
    fn json_field_is_embedded_not_stringified() {
        let v = to_json(&small_frame());
        let attrs = &v["data"]["values"][2];
        assert!(attrs[0].is_object(), "{attrs}");
        assert!(attrs[1].is_array(), "{attrs}");
        assert_eq!(attrs[3], json!("s"));
    }

    #[test]
    fn time_is_epoch_millis_with_nanos_remainder() {
        let frame = Frame {
            fields: vec![
                Field::new("t", FieldValues::TimeNs(vec![1_500_000, 2_000_000, -1, 1_700_000_000_123_456_789])),
                Field::new("v", FieldValues::F64(vec![1.0, 2.0, 3.0, 4.0])),
                Field::new("n", FieldValues::NullableTimeNs(vec![None, Some(3_000_000), Some(7), None])),
            ],
            ..Frame::default()
        };
        let v = to_json(&frame);
        // Floored milliseconds, like Go's time.UnixMilli (-1 ns is ms -1 + 999_999 ns).
        assert_eq!(v["data"]["values"][0], json!([1, 2, -1, 1_700_000_000_123_i64]));
        assert_eq!(v["data"]["values"][2], json!([null, 3, 0, null]));
        assert_eq!(v["data"]["nanos"], json!([[500_000, 0, 999_999, 456_789], null, [0, 0, 7, 0]]));
        assert!(v["data"].get("entities").is_none(), "{v}");
        assert_eq!(v["schema"]["fields"][2]["typeInfo"], json!({"frame": "time.Time", "nullable": true}));
    }

    #[test]
    fn no_nanos_or_entities_keys_when_not_needed() {
        let frame = Frame {
            fields: vec![Field::new("t", FieldValues::TimeNs(vec![1_000_000, 2_000_000])), Field::new("v", FieldValues::F64(vec![1.0, -2.0]))],
            ..Frame::default()
        };
        let data = to_json(&frame)["data"].clone();
        assert_eq!(data, json!({"values": [[1, 2], [1.0, -2.0]]}));
    }

    #[test]
    fn all_type_names_and_values() {
        let frame = Frame {
            fields: vec![
                Field::new("i", FieldValues::I64(vec![i64::MIN, 1])),
                Field::new("ni", FieldValues::NullableI64(vec![None, Some(-3)])),
                Field::new("u", FieldValues::U64(vec![u64::MAX, 0])),
                Field::new("b", FieldValues::Bool(vec![true, false])),
                Field::new("nb", FieldValues::NullableBool(vec![Some(false), None])),
                Field::new("s", FieldValues::Str(vec!["x".into(), "".into()])),
                Field::new("ns", FieldValues::NullableStr(vec![None, Some("y".into())])),
                Field::new("nj", FieldValues::NullableJson(vec![None, Some(json!({"k": [true]}))])),
                Field::new("f", FieldValues::F64(vec![f64::NAN, f64::NAN])),
            ],
            ..Frame::default()
        };
        let v = to_json(&frame);
        assert_eq!(
            v["schema"],
            json!({"fields": [
                {"name": "i", "type": "number", "typeInfo": {"frame": "int64"}},
                {"name": "ni", "type": "number", "typeInfo": {"frame": "int64", "nullable": true}},
                {"name": "u", "type": "number", "typeInfo": {"frame": "uint64"}},
                {"name": "b", "type": "boolean", "typeInfo": {"frame": "bool"}},
                {"name": "nb", "type": "boolean", "typeInfo": {"frame": "bool", "nullable": true}},
                {"name": "s", "type": "string", "typeInfo": {"frame": "string"}},
                {"name": "ns", "type": "string", "typeInfo": {"frame": "string", "nullable": true}},
                {"name": "nj", "type": "other", "typeInfo": {"frame": "json.RawMessage", "nullable": true}},
                {"name": "f", "type": "number", "typeInfo": {"frame": "float64"}}
            ]})
        );
        assert_eq!(
            v["data"],
            json!({
                "values": [
                    [i64::MIN, 1],
                    [null, -3],
                    [u64::MAX, 0],
                    [true, false],
                    [false, null],
                    ["x", ""],
                    [null, "y"],
                    [null, {"k": [true]}],
                    [null, null]
                ],
                "entities": [null, null, null, null, null, null, null, null, {"NaN": [0, 1]}]
            })
        );
        // u64::MAX must be an exact integer, not a rounded float.
        assert_eq!(v["data"]["values"][2][0].as_u64(), Some(u64::MAX));
        assert_eq!(serde_json::to_string(&v["data"]["values"][2]).unwrap(), "[18446744073709551615,0]");
    }

    #[test]
    fn empty_frames() {
        assert_eq!(to_json(&Frame::default()), json!({"schema": {"fields": []}, "data": {"values": []}}));
        let zero_rows = Frame {
            ref_id: "B".into(),
            fields: vec![Field::new("", FieldValues::TimeNs(vec![])), Field::new("v", FieldValues::NullableF64(vec![]))],
            ..Frame::default()
        };
        assert_eq!(
            to_json(&zero_rows),
            json!({
                "schema": {"refId": "B", "fields": [
                    {"type": "time", "typeInfo": {"frame": "time.Time"}},
                    {"name": "v", "type": "number", "typeInfo": {"frame": "float64", "nullable": true}}
                ]},
                "data": {"values": [[], []]}
            })
        );
    }

    #[test]
    fn frames_to_json_is_an_array_in_order() {
        let a = Frame { name: "a".into(), ..Frame::default() };
        let b = small_frame();
        let v = frames_to_json(&[a.clone(), b.clone()]);
        assert_eq!(v, JsonValue::Array(vec![to_json(&a), to_json(&b)]));
        assert_eq!(frames_to_json(&[]), json!([]));
    }

    fn sample_frames() -> Vec<Frame> {
        vec![
            small_frame(),
            crate::frames::arrow::tests::representative_frame(),
            Frame::default(),
            Frame {
                name: "z".into(),
                fields: vec![Field::new("t", FieldValues::NullableTimeNs(vec![])), Field::new("", FieldValues::U64(vec![]))],
                ..Frame::default()
            },
        ]
    }

    #[test]
    fn bytes_are_valid_json_in_go_key_order() {
        for frame in sample_frames() {
            let bytes = to_json_bytes(&frame);
            let text = String::from_utf8(bytes.clone()).expect("UTF-8");
            let parsed: JsonValue = serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("invalid JSON ({e}): {text}"));
            assert_eq!(parsed, to_json(&frame), "frame {:?}", frame.name);
            // Go's reader needs schema before data, and values before entities/nanos.
            assert!(text.starts_with("{\"schema\":"), "{text}");
            let data = text.find(",\"data\":{\"values\":").unwrap_or_else(|| panic!("no data.values: {text}"));
            for side in ["\"entities\":", "\"nanos\":"] {
                if let Some(at) = text.rfind(side) {
                    assert!(at > data, "{side} before values: {text}");
                }
            }
        }
        let frames = sample_frames();
        let all: JsonValue = serde_json::from_slice(&frames_to_json_bytes(&frames)).unwrap();
        assert_eq!(all, JsonValue::Array(frames.iter().map(to_json).collect()));
        assert_eq!(frames_to_json_bytes(&[]), b"[]");
    }

    #[test]
    fn bytes_keep_go_key_order() {
        assert_eq!(String::from_utf8(to_json_bytes(&Frame::default())).unwrap(), r#"{"schema":{"fields":[]},"data":{"values":[]}}"#);

        let text = String::from_utf8(to_json_bytes(&small_frame())).unwrap();
        assert!(text.starts_with(r#"{"schema":{"name":"latency","refId":"A","meta":{"#), "{text}");
        let pos = |needle: &str| text.find(needle).unwrap_or_else(|| panic!("{needle:?} missing in {text}"));
        // schema.fields after meta, data after schema, values before entities.
        assert!(pos(r#"},"fields":[{"name":"time","type":"time","typeInfo":{"frame":"time.Time"}},"#) > pos(r#""meta":"#));
        assert!(
            text.contains(
                r#"{"name":"value","type":"number","typeInfo":{"frame":"float64","nullable":true},"labels":{"cluster":"prod-a","job":"api"},"config":{"#
            ),
            "{text}"
        );
        assert!(pos(r#"]},"data":{"values":[["#) > pos(r#""fields":"#));
        assert!(pos(r#"]],"entities":[null,{"#) > pos(r#""values":"#));
        assert!(text.ends_with(r#"{"NaN":[1],"Inf":[3],"NegInf":[4]},null]}}"#), "{text}");

        let rep = String::from_utf8(to_json_bytes(&crate::frames::arrow::tests::representative_frame())).unwrap();
        let entities = rep.find(r#","entities":["#).expect("entities");
        let nanos = rep.find(r#","nanos":[[0,500000,500000,0],null,null,[0,5,0,0],"#).expect("nanos");
        assert!(rep.find(r#""values":[["#).unwrap() < entities && entities < nanos, "{rep}");
    }

    #[test]
    fn representative_frame_json_matches_arrow_view() {
        // The golden frame: every column of the JSON has as many values as rows,
        // and the NaN in a nullable column is an entity while null stays null.
        let frame = crate::frames::arrow::tests::representative_frame();
        let v = to_json(&frame);
        let values = v["data"]["values"].as_array().unwrap();
        assert_eq!(values.len(), frame.fields.len());
        assert!(values.iter().all(|c| c.as_array().unwrap().len() == 4), "{v}");
        assert_eq!(v["data"]["entities"][1], json!({"NaN": [1], "Inf": [2], "NegInf": [3]}));
        assert_eq!(v["data"]["entities"][2], json!({"NaN": [2]}));
        assert_eq!(v["data"]["values"][2], json!([-0.25, null, null, 1e300]));
        // -1_500_000 ns is ms -2 with a 500_000 ns remainder.
        assert_eq!(v["data"]["values"][0][2], json!(-2));
        assert_eq!(v["data"]["nanos"][0], json!([0, 500_000, 500_000, 0]));
        assert_eq!(v["data"]["nanos"][3], json!([0, 5, 0, 0]));
    }
}
