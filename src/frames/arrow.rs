//! Arrow IPC encoding of a [`Frame`], byte-compatible with what Grafana's Go SDK
//! (`grafana-plugin-sdk-go/data`, `Frame.MarshalArrow` / `UnmarshalArrowFrame`)
//! writes and reads.
//!
//! What the Go SDK does, and therefore what this encoder does:
//!
//! * **IPC file format** (`ipc.NewFileWriter` / `ipc.NewFileReader`): the
//!   `ARROW1` magic, schema, record batches, footer. The stream format is
//!   rejected by `UnmarshalArrowFrame`.
//! * **Schema metadata**: `name` and `refId` always (empty strings included),
//!   `meta` (the JSON of [`FrameMeta`]) only when the frame has one.
//! * **Arrow field name = the frame field's name**: `UnmarshalArrowFrame` takes
//!   the field name from the Arrow field itself, not from metadata.
//! * **Field metadata**: `labels` (JSON object) only when the field has labels,
//!   `config` (JSON of [`FieldConfig`]) only when it has one, and `tstype` (the
//!   TypeScript type name newer SDKs write: `time`, `number`, `string`,
//!   `boolean`, `other`). Older SDKs wrote the field name under `name`; we
//!   write it too, readers ignore keys they do not know.
//! * **Types**: time → `Timestamp(Nanosecond, None)` (the Go reader treats every
//!   timestamp as nanoseconds); `f64` → `Float64`; `i64` → `Int64`; `u64` →
//!   `UInt64`; `bool` → `Boolean`; string → `Utf8`; JSON (`json.RawMessage`) →
//!   `Binary` holding the JSON text — `Binary` is how the Go SDK marks a JSON
//!   field. Never `LargeUtf8`/`LargeBinary`: the Go reader rejects them.
//! * **Nullability** is the Arrow field's `nullable` flag: the Go reader builds
//!   a `*T` vector exactly when the flag is set, whatever the validity bitmap
//!   holds. So the `Nullable*` variants are always nullable fields, the others
//!   never.
//! * **Rows**: one record batch holding every row; a frame with no rows (or no
//!   fields) is written with the schema only and no record batch — the Go
//!   table reader produces no record for an empty table either.

use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::{
    ArrayRef, BinaryArray, BooleanArray, Float64Array, Int8Array, Int64Array, RecordBatch, RecordBatchOptions, StringArray, TimestampNanosecondArray,
    UInt64Array,
};
use arrow_buffer::{Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_ipc::writer::FileWriter;
use arrow_schema::{ArrowError, DataType, Field as ArrowField, Metadata, Schema, TimeUnit};
use serde_json::Value as JsonValue;

use super::{Field, FieldValues, Frame, FrameError};

/// Schema metadata key: frame name.
pub const META_KEY_NAME: &str = "name";
/// Schema metadata key: query refId.
pub const META_KEY_REF_ID: &str = "refId";
/// Schema metadata key: frame meta JSON.
pub const META_KEY_META: &str = "meta";
/// Field metadata key: labels JSON.
pub const META_KEY_LABELS: &str = "labels";
/// Field metadata key: field config JSON.
pub const META_KEY_CONFIG: &str = "config";
/// Field metadata key: TypeScript type name (written by current Go SDKs).
pub const META_KEY_TSTYPE: &str = "tstype";

/// Encodes one frame as Arrow IPC (file format) bytes that Grafana decodes with
/// `data.UnmarshalArrowFrames`.
pub fn encode(frame: &Frame) -> Result<Vec<u8>, FrameError> {
    let rows = row_count(frame)?;
    let arrow_err = |source: ArrowError| FrameError::Arrow { frame: frame.name.clone(), source };

    let schema = Arc::new(schema(frame)?);

    let mut out = Vec::with_capacity(estimated_size(frame));
    let mut writer = FileWriter::try_new(&mut out, &schema).map_err(arrow_err)?;
    if rows > 0 {
        let columns = frame.fields.iter().map(|field| column(field).map_err(arrow_err)).collect::<Result<Vec<ArrayRef>, FrameError>>()?;
        let options = RecordBatchOptions::new().with_row_count(Some(rows));
        let batch = RecordBatch::try_new_with_options(schema.clone(), columns, &options).map_err(arrow_err)?;
        writer.write(&batch).map_err(arrow_err)?;
    }
    writer.finish().map_err(arrow_err)?;
    drop(writer);
    Ok(out)
}

/// The frame's row count: the length every field shares (0 for a frame with no
/// fields), or [`FrameError::LengthMismatch`] naming the first field that differs
/// from the first field's length.
pub fn row_count(frame: &Frame) -> Result<usize, FrameError> {
    let Some(first) = frame.fields.first() else {
        return Ok(0);
    };
    let expected = first.len();
    for field in &frame.fields[1..] {
        let len = field.len();
        if len != expected {
            return Err(FrameError::LengthMismatch { frame: frame.name.clone(), field: field.name.clone(), len, expected });
        }
    }
    Ok(expected)
}

/// The Arrow type and nullability the Go SDK uses for each kind of column.
fn arrow_type(values: &FieldValues) -> (DataType, bool) {
    let time = || DataType::Timestamp(TimeUnit::Nanosecond, None);
    match values {
        FieldValues::TimeNs(_) => (time(), false),
        FieldValues::NullableTimeNs(_) => (time(), true),
        FieldValues::F64(_) => (DataType::Float64, false),
        FieldValues::NullableF64(_) => (DataType::Float64, true),
        FieldValues::I64(_) => (DataType::Int64, false),
        FieldValues::NullableI64(_) => (DataType::Int64, true),
        FieldValues::U64(_) => (DataType::UInt64, false),
        FieldValues::I8(_) => (DataType::Int8, false),
        FieldValues::Bool(_) => (DataType::Boolean, false),
        FieldValues::NullableBool(_) => (DataType::Boolean, true),
        FieldValues::Str(_) => (DataType::Utf8, false),
        FieldValues::NullableStr(_) => (DataType::Utf8, true),
        FieldValues::Json(_) => (DataType::Binary, false),
        FieldValues::NullableJson(_) => (DataType::Binary, true),
    }
}

/// The Go SDK's TypeScript type name for a column (`getTypeScriptTypeString`).
pub(crate) fn ts_type(values: &FieldValues) -> &'static str {
    match values {
        FieldValues::TimeNs(_) | FieldValues::NullableTimeNs(_) => "time",
        FieldValues::F64(_)
        | FieldValues::NullableF64(_)
        | FieldValues::I64(_)
        | FieldValues::NullableI64(_)
        | FieldValues::U64(_)
        | FieldValues::I8(_) => "number",
        FieldValues::Bool(_) | FieldValues::NullableBool(_) => "boolean",
        FieldValues::Str(_) | FieldValues::NullableStr(_) => "string",
        FieldValues::Json(_) | FieldValues::NullableJson(_) => "other",
    }
}

fn schema(frame: &Frame) -> Result<Schema, FrameError> {
    let meta_err = |source: serde_json::Error| FrameError::Meta { frame: frame.name.clone(), source };

    let mut metadata = Metadata::new();
    metadata.insert(META_KEY_NAME, frame.name.as_str());
    metadata.insert(META_KEY_REF_ID, frame.ref_id.as_str());
    if let Some(meta) = &frame.meta {
        metadata.insert(META_KEY_META, serde_json::to_string(meta).map_err(meta_err)?);
    }

    let fields = frame
        .fields
        .iter()
        .map(|field| {
            let (data_type, nullable) = arrow_type(&field.values);
            let mut md = Metadata::new();
            md.insert(META_KEY_NAME, field.name.as_str());
            md.insert(META_KEY_TSTYPE, ts_type(&field.values));
            if !field.labels.is_empty() {
                md.insert(META_KEY_LABELS, serde_json::to_string(&field.labels).map_err(meta_err)?);
            }
            if let Some(config) = &field.config {
                md.insert(META_KEY_CONFIG, serde_json::to_string(config).map_err(meta_err)?);
            }
            Ok(ArrowField::new(field.name.clone(), data_type, nullable).with_metadata(md))
        })
        .collect::<Result<Vec<_>, FrameError>>()?;

    Ok(Schema::new_with_metadata(fields, metadata))
}

fn column(field: &Field) -> Result<ArrayRef, ArrowError> {
    let array: ArrayRef = match &field.values {
        FieldValues::TimeNs(v) => Arc::new(TimestampNanosecondArray::new(ScalarBuffer::from(v.clone()), None)),
        FieldValues::NullableTimeNs(v) => Arc::new(v.iter().copied().collect::<TimestampNanosecondArray>()),
        FieldValues::F64(v) => Arc::new(Float64Array::new(ScalarBuffer::from(v.clone()), None)),
        FieldValues::NullableF64(v) => Arc::new(v.iter().copied().collect::<Float64Array>()),
        FieldValues::I64(v) => Arc::new(Int64Array::new(ScalarBuffer::from(v.clone()), None)),
        FieldValues::NullableI64(v) => Arc::new(v.iter().copied().collect::<Int64Array>()),
        FieldValues::U64(v) => Arc::new(UInt64Array::new(ScalarBuffer::from(v.clone()), None)),
        FieldValues::I8(v) => Arc::new(Int8Array::new(ScalarBuffer::from(v.clone()), None)),
        FieldValues::Bool(v) => Arc::new(BooleanArray::from(v.clone())),
        FieldValues::NullableBool(v) => Arc::new(BooleanArray::from(v.clone())),
        FieldValues::Str(v) => Arc::new(strings(v.iter().map(|s| Some(s.as_str())), v.len())?),
        FieldValues::NullableStr(v) => Arc::new(strings(v.iter().map(|s| s.as_deref()), v.len())?),
        FieldValues::Json(v) => Arc::new(json_binary(v.iter().map(Some), v.len())?),
        FieldValues::NullableJson(v) => Arc::new(json_binary(v.iter().map(Option::as_ref), v.len())?),
    };
    Ok(array)
}

/// Largest value buffer a 32-bit-offset (`Utf8`/`Binary`) array can address.
const MAX_OFFSET: usize = i32::MAX as usize;

fn offset_overflow(total: usize) -> ArrowError {
    ArrowError::InvalidArgumentError(format!(
        "column holds {total} bytes, more than a Utf8/Binary column can address ({MAX_OFFSET}); \
         Grafana cannot read LargeUtf8/LargeBinary"
    ))
}

/// A `Utf8` array (32-bit offsets). Errors instead of panicking past 2 GiB.
fn strings<'a>(values: impl Iterator<Item = Option<&'a str>> + Clone, len: usize) -> Result<StringArray, ArrowError> {
    let total: usize = values.clone().map(|s| s.map_or(0, str::len)).sum();
    if total > MAX_OFFSET {
        return Err(offset_overflow(total));
    }
    let mut builder = StringBuilder::with_capacity(len, total);
    for value in values {
        builder.append_option(value);
    }
    Ok(builder.finish())
}

/// A `Binary` array of serialised JSON texts, `null` entries for `None`.
fn json_binary<'a>(values: impl Iterator<Item = Option<&'a JsonValue>>, len: usize) -> Result<BinaryArray, ArrowError> {
    let mut bytes: Vec<u8> = Vec::new();
    let mut ends: Vec<usize> = Vec::with_capacity(len);
    let mut valid: Vec<bool> = Vec::with_capacity(len);
    for value in values {
        if let Some(value) = value {
            serde_json::to_writer(&mut bytes, value).map_err(|e| ArrowError::ExternalError(Box::new(e)))?;
        }
        valid.push(value.is_some());
        ends.push(bytes.len());
    }
    if bytes.len() > MAX_OFFSET {
        return Err(offset_overflow(bytes.len()));
    }
    let mut offsets: Vec<i32> = Vec::with_capacity(ends.len() + 1);
    offsets.push(0);
    // Every end is <= bytes.len() <= i32::MAX, checked above.
    offsets.extend(ends.into_iter().map(|end| end as i32));
    let nulls = if valid.iter().all(|v| *v) { None } else { Some(NullBuffer::from(valid)) };
    BinaryArray::try_new(OffsetBuffer::new(ScalarBuffer::from(offsets)), Buffer::from_vec(bytes), nulls)
}

/// A rough output size so the writer rarely reallocates.
fn estimated_size(frame: &Frame) -> usize {
    let data: usize = frame
        .fields
        .iter()
        .map(|f| match &f.values {
            FieldValues::Str(v) => v.iter().map(|s| s.len() + 4).sum(),
            FieldValues::NullableStr(v) => v.iter().map(|s| s.as_ref().map_or(0, String::len) + 4).sum(),
            FieldValues::Json(v) => v.len() * 64,
            FieldValues::NullableJson(v) => v.len() * 64,
            other => other.len() * 8 + other.len() / 8 + 1,
        })
        .sum();
    1024 + frame.fields.len() * 256 + data
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeMap;
    use std::io::Cursor;
    use std::path::PathBuf;

    use arrow_array::Array;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float64Type, Int64Type, TimestampNanosecondType, UInt64Type};
    use arrow_ipc::reader::FileReader;
    use arrow_schema::SchemaRef;
    use serde_json::json;

    use super::*;
    use crate::frames::{DataLink, FieldConfig, FrameMeta, InternalLink, Notice, NoticeSeverity, QueryStat};

    /// Decodes bytes with arrow-ipc's file reader: (schema, batches).
    pub(crate) fn decode(bytes: &[u8]) -> (SchemaRef, Vec<RecordBatch>) {
        let reader = FileReader::try_new(Cursor::new(bytes.to_vec()), None).expect("valid Arrow IPC file");
        let schema = reader.schema();
        let batches = reader.collect::<Result<Vec<_>, _>>().expect("readable record batches");
        (schema, batches)
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    /// A frame with every column kind, labels + config on one field, an internal
    /// data link, NaN/±Inf, nulls, sub-millisecond times and a data-plane meta.
    /// Shared with the JSON encoder's tests and the golden files.
    pub(crate) fn representative_frame() -> Frame {
        let mut meta = FrameMeta::dataplane("timeseries-multi");
        meta.executed_query_string = Some("up{job=\"node\"}".to_owned());
        meta.stats = vec![QueryStat { display_name: "Clusters queried".to_owned(), value: 3.0, unit: None }];
        meta.notices = vec![Notice { severity: NoticeSeverity::Warning, text: "cluster b: timeout".to_owned() }];
        meta.custom = Some(json!({"clusters": {"a": "ok", "b": "error"}}));

        let link = DataLink {
            title: "View trace".to_owned(),
            url: String::new(),
            internal: Some(InternalLink {
                query: json!({"queryType": "traces", "query": "${__value.raw}"}),
                datasource_uid: "fleetscope-uid".to_owned(),
                datasource_name: "Fleetscope".to_owned(),
            }),
        };

        Frame {
            name: "up".to_owned(),
            ref_id: "A".to_owned(),
            meta: Some(meta),
            fields: vec![
                Field::new("time", FieldValues::TimeNs(vec![1_700_000_000_000_000_000, 1_700_000_000_001_500_000, -1_500_000, 0])),
                Field::new("value", FieldValues::F64(vec![1.5, f64::NAN, f64::INFINITY, f64::NEG_INFINITY]))
                    .with_labels(labels(&[("cluster", "prod-a"), ("cluster_id", "a"), ("job", "node")]))
                    .with_config(FieldConfig {
                        display_name_from_ds: Some("up prod-a".to_owned()),
                        unit: Some("short".to_owned()),
                        interval: Some(15000.0),
                        links: vec![link],
                        custom: None,
                        color: None,
                    }),
                Field::new("maybe", FieldValues::NullableF64(vec![Some(-0.25), None, Some(f64::NAN), Some(1e300)])),
                Field::new("seen", FieldValues::NullableTimeNs(vec![None, Some(5), Some(1_000_000), None])),
                Field::new("count", FieldValues::I64(vec![i64::MIN, -1, 0, i64::MAX])),
                Field::new("opt_count", FieldValues::NullableI64(vec![Some(7), None, None, Some(-7)])),
                Field::new("bytes", FieldValues::U64(vec![0, 1, u64::MAX, 42])),
                Field::new("up", FieldValues::Bool(vec![true, false, true, false])),
                Field::new("ok", FieldValues::NullableBool(vec![None, Some(true), Some(false), None])),
                Field::new("host", FieldValues::Str(vec!["a".into(), "".into(), "ünïcødé ✓".into(), "q\"\\".into()])),
                Field::new("note", FieldValues::NullableStr(vec![None, Some("x".into()), Some(String::new()), None])),
                Field::new(
                    "tags",
                    FieldValues::Json(vec![
                        json!([{"key": "http.method", "value": "GET"}]),
                        json!({}),
                        JsonValue::Null,
                        json!({"n": 1.25, "s": "x"}),
                    ]),
                ),
                Field::new("logs", FieldValues::NullableJson(vec![Some(json!([1, 2])), None, Some(json!("s")), None])),
            ],
        }
    }

    fn metadata_json(md: &Metadata, key: &str) -> JsonValue {
        let text = md.get(key).unwrap_or_else(|| panic!("metadata key {key:?} missing: {md:?}"));
        serde_json::from_str(text).unwrap_or_else(|e| panic!("metadata {key:?} is not JSON ({e}): {text}"))
    }

    #[test]
    fn writes_ipc_file_format_not_stream() {
        let bytes = encode(&representative_frame()).unwrap();
        // File format: "ARROW1" magic + padding at the start, "ARROW1" at the end.
        assert_eq!(&bytes[..6], b"ARROW1");
        assert_eq!(&bytes[bytes.len() - 6..], b"ARROW1");
        // And a stream reader must not be what is needed to read it: the file
        // reader accepts it.
        let (_, batches) = decode(&bytes);
        assert_eq!(batches.len(), 1);
    }

    #[test]
    fn round_trip_schema_metadata() {
        let frame = representative_frame();
        let (schema, _) = decode(&encode(&frame).unwrap());
        let md = schema.metadata();
        assert_eq!(md.get("name").map(String::as_str), Some("up"));
        assert_eq!(md.get("refId").map(String::as_str), Some("A"));
        assert_eq!(md.len(), 3, "only name, refId, meta: {md:?}");
        let meta = metadata_json(md, "meta");
        assert_eq!(
            meta,
            json!({
                "type": "timeseries-multi",
                "typeVersion": [0, 1],
                "custom": {"clusters": {"a": "ok", "b": "error"}},
                "stats": [{"displayName": "Clusters queried", "value": 3.0}],
                "notices": [{"severity": "warning", "text": "cluster b: timeout"}],
                "executedQueryString": "up{job=\"node\"}"
            })
        );
    }

    #[test]
    fn meta_omitted_when_none_and_empty_name_kept() {
        let frame = Frame { fields: vec![Field::new("v", FieldValues::F64(vec![1.0]))], ..Frame::default() };
        let (schema, _) = decode(&encode(&frame).unwrap());
        let md = schema.metadata();
        assert!(!md.contains_key("meta"), "{md:?}");
        assert_eq!(md.get("name").map(String::as_str), Some(""));
        assert_eq!(md.get("refId").map(String::as_str), Some(""));
    }

    #[test]
    fn round_trip_field_types_names_and_nullability() {
        let frame = representative_frame();
        let (schema, _) = decode(&encode(&frame).unwrap());
        let ts = DataType::Timestamp(TimeUnit::Nanosecond, None);
        let expected: Vec<(&str, DataType, bool, &str)> = vec![
            ("time", ts.clone(), false, "time"),
            ("value", DataType::Float64, false, "number"),
            ("maybe", DataType::Float64, true, "number"),
            ("seen", ts, true, "time"),
            ("count", DataType::Int64, false, "number"),
            ("opt_count", DataType::Int64, true, "number"),
            ("bytes", DataType::UInt64, false, "number"),
            ("up", DataType::Boolean, false, "boolean"),
            ("ok", DataType::Boolean, true, "boolean"),
            ("host", DataType::Utf8, false, "string"),
            ("note", DataType::Utf8, true, "string"),
            ("tags", DataType::Binary, false, "other"),
            ("logs", DataType::Binary, true, "other"),
        ];
        assert_eq!(schema.fields().len(), expected.len());
        for (field, (name, data_type, nullable, tstype)) in schema.fields().iter().zip(expected) {
            assert_eq!(field.name(), name);
            assert_eq!(field.data_type(), &data_type, "field {name}");
            assert_eq!(field.is_nullable(), nullable, "field {name}");
            let md = field.metadata();
            assert_eq!(md.get("name").map(String::as_str), Some(name), "field {name}");
            assert_eq!(md.get("tstype").map(String::as_str), Some(tstype), "field {name}");
        }
    }

    #[test]
    fn round_trip_field_labels_and_config_on_same_field() {
        let frame = representative_frame();
        let (schema, _) = decode(&encode(&frame).unwrap());
        let value = schema.field_with_name("value").unwrap();
        let md = value.metadata();
        assert_eq!(metadata_json(md, "labels"), json!({"cluster": "prod-a", "cluster_id": "a", "job": "node"}));
        assert_eq!(
            metadata_json(md, "config"),
            json!({
                "displayNameFromDS": "up prod-a",
                "unit": "short",
                "interval": 15000.0,
                "links": [{
                    "title": "View trace",
                    "url": "",
                    "internal": {
                        "query": {"queryType": "traces", "query": "${__value.raw}"},
                        "datasourceUid": "fleetscope-uid",
                        "datasourceName": "Fleetscope"
                    }
                }]
            })
        );
        // A field with neither carries no labels/config keys at all.
        let time = schema.field_with_name("time").unwrap().metadata();
        assert!(!time.contains_key("labels") && !time.contains_key("config"), "{time:?}");
        assert_eq!(time.len(), 2, "{time:?}");
    }

    #[test]
    fn round_trip_values_nulls_nan_inf() {
        let frame = representative_frame();
        let (_, batches) = decode(&encode(&frame).unwrap());
        assert_eq!(batches.len(), 1);
        let batch = &batches[0];
        assert_eq!(batch.num_rows(), 4);
        assert_eq!(batch.num_columns(), 13);

        let time = batch.column(0).as_primitive::<TimestampNanosecondType>();
        assert_eq!(time.values().to_vec(), vec![1_700_000_000_000_000_000, 1_700_000_000_001_500_000, -1_500_000, 0]);
        assert_eq!(time.null_count(), 0);

        let value = batch.column(1).as_primitive::<Float64Type>();
        assert_eq!(value.value(0), 1.5);
        assert!(value.value(1).is_nan());
        assert_eq!(value.value(2), f64::INFINITY);
        assert_eq!(value.value(3), f64::NEG_INFINITY);
        assert_eq!(value.null_count(), 0);

        let maybe = batch.column(2).as_primitive::<Float64Type>();
        assert_eq!(maybe.value(0), -0.25);
        assert!(maybe.is_null(1));
        assert!(maybe.is_valid(2) && maybe.value(2).is_nan(), "NaN must stay a value, not become null");
        assert_eq!(maybe.value(3), 1e300);
        assert_eq!(maybe.null_count(), 1);

        let seen = batch.column(3).as_primitive::<TimestampNanosecondType>();
        let seen: Vec<Option<i64>> = seen.iter().collect();
        assert_eq!(seen, vec![None, Some(5), Some(1_000_000), None]);

        let count = batch.column(4).as_primitive::<Int64Type>();
        assert_eq!(count.values().to_vec(), vec![i64::MIN, -1, 0, i64::MAX]);
        let opt: Vec<Option<i64>> = batch.column(5).as_primitive::<Int64Type>().iter().collect();
        assert_eq!(opt, vec![Some(7), None, None, Some(-7)]);

        let bytes = batch.column(6).as_primitive::<UInt64Type>();
        assert_eq!(bytes.values().to_vec(), vec![0, 1, u64::MAX, 42]);

        let up: Vec<Option<bool>> = batch.column(7).as_boolean().iter().collect();
        assert_eq!(up, vec![Some(true), Some(false), Some(true), Some(false)]);
        let ok: Vec<Option<bool>> = batch.column(8).as_boolean().iter().collect();
        assert_eq!(ok, vec![None, Some(true), Some(false), None]);

        let host: Vec<Option<&str>> = batch.column(9).as_string::<i32>().iter().collect();
        assert_eq!(host, vec![Some("a"), Some(""), Some("ünïcødé ✓"), Some("q\"\\")]);
        let note: Vec<Option<&str>> = batch.column(10).as_string::<i32>().iter().collect();
        assert_eq!(note, vec![None, Some("x"), Some(""), None]);

        let tags = batch.column(11).as_binary::<i32>();
        assert_eq!(tags.null_count(), 0);
        let tags: Vec<JsonValue> = tags.iter().map(|b| serde_json::from_slice(b.unwrap()).unwrap()).collect();
        assert_eq!(tags, vec![json!([{"key": "http.method", "value": "GET"}]), json!({}), JsonValue::Null, json!({"n": 1.25, "s": "x"})]);
        let logs = batch.column(12).as_binary::<i32>();
        let logs: Vec<Option<JsonValue>> = logs.iter().map(|b| b.map(|b| serde_json::from_slice(b).unwrap())).collect();
        assert_eq!(logs, vec![Some(json!([1, 2])), None, Some(json!("s")), None]);
    }

    #[test]
    fn length_mismatch_is_an_error() {
        let frame = Frame {
            name: "bad".into(),
            fields: vec![
                Field::new("time", FieldValues::TimeNs(vec![1, 2, 3])),
                Field::new("ok", FieldValues::F64(vec![1.0, 2.0, 3.0])),
                Field::new("short", FieldValues::NullableStr(vec![None])),
            ],
            ..Frame::default()
        };
        match encode(&frame) {
            Err(FrameError::LengthMismatch { frame, field, len, expected }) => {
                assert_eq!((frame.as_str(), field.as_str(), len, expected), ("bad", "short", 1, 3));
            }
            other => panic!("expected LengthMismatch, got {other:?}"),
        }
    }

    #[test]
    fn frame_without_fields_encodes_and_decodes() {
        let frame = Frame { name: "empty".into(), ref_id: "B".into(), ..Frame::default() };
        let bytes = encode(&frame).unwrap();
        let (schema, batches) = decode(&bytes);
        assert!(schema.fields().is_empty());
        assert_eq!(schema.metadata().get("name").map(String::as_str), Some("empty"));
        assert_eq!(schema.metadata().get("refId").map(String::as_str), Some("B"));
        assert!(batches.is_empty());
    }

    #[test]
    fn frame_with_zero_rows_keeps_schema() {
        let frame = Frame {
            name: "none".into(),
            meta: Some(FrameMeta::dataplane("numeric-multi")),
            fields: vec![
                Field::new("time", FieldValues::TimeNs(vec![])),
                Field::new("tags", FieldValues::NullableJson(vec![])),
                Field::new("host", FieldValues::Str(vec![])),
            ],
            ..Frame::default()
        };
        let (schema, batches) = decode(&encode(&frame).unwrap());
        assert_eq!(schema.fields().len(), 3);
        assert_eq!(schema.field(0).data_type(), &DataType::Timestamp(TimeUnit::Nanosecond, None));
        assert_eq!(schema.field(1).data_type(), &DataType::Binary);
        assert!(schema.field(1).is_nullable());
        assert_eq!(schema.field(2).data_type(), &DataType::Utf8);
        assert_eq!(batches.iter().map(RecordBatch::num_rows).sum::<usize>(), 0);
        assert_eq!(metadata_json(schema.metadata(), "meta"), json!({"type": "numeric-multi", "typeVersion": [0, 1]}));
    }

    #[test]
    fn nullable_column_without_nulls_is_still_nullable() {
        let frame = Frame { fields: vec![Field::new("v", FieldValues::NullableF64(vec![Some(1.0), Some(2.0)]))], ..Frame::default() };
        let (schema, batches) = decode(&encode(&frame).unwrap());
        assert!(schema.field(0).is_nullable());
        assert_eq!(batches[0].column(0).null_count(), 0);
    }

    #[test]
    fn row_count_reports_shared_length() {
        assert_eq!(row_count(&Frame::default()).unwrap(), 0);
        assert_eq!(row_count(&representative_frame()).unwrap(), 4);
    }

    fn golden_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/frames")
    }

    /// Golden files for the Go conformance harness: `representative.arrow` (this
    /// encoder's bytes) and `representative.json` (the frame-JSON encoder's output)
    /// for [`representative_frame`]. `UPDATE_GOLDEN=1` rewrites them; otherwise
    /// they are compared with what the encoders produce now: the Arrow file decoded
    /// (schema + batches, for a readable diff) and then byte for byte (metadata
    /// maps are ordered, so the encoding is deterministic).
    #[test]
    fn golden_representative_frame() {
        let frame = representative_frame();
        let arrow_bytes = encode(&frame).unwrap();
        let json_value = crate::frames::json::to_json(&frame);
        // The wire form, in the Go SDK's key order (a pretty-printed `Value` would
        // sort the keys, which the Go reader rejects).
        let mut json_text = crate::frames::json::to_json_bytes(&frame);
        json_text.push(b'\n');

        let dir = golden_dir();
        let arrow_path = dir.join("representative.arrow");
        let json_path = dir.join("representative.json");

        if std::env::var("UPDATE_GOLDEN").as_deref() == Ok("1") {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&arrow_path, &arrow_bytes).unwrap();
            std::fs::write(&json_path, &json_text).unwrap();
        }

        let golden_arrow =
            std::fs::read(&arrow_path).unwrap_or_else(|e| panic!("{} unreadable ({e}); run with UPDATE_GOLDEN=1 to create it", arrow_path.display()));
        let (golden_schema, golden_batches) = decode(&golden_arrow);
        let (schema, batches) = decode(&arrow_bytes);
        assert_eq!(golden_schema, schema, "golden Arrow schema differs; UPDATE_GOLDEN=1 if intended");
        assert_eq!(golden_batches, batches, "golden Arrow data differs; UPDATE_GOLDEN=1 if intended");
        assert!(golden_arrow == arrow_bytes, "golden Arrow bytes differ; UPDATE_GOLDEN=1 if intended");

        let golden_json_text =
            std::fs::read(&json_path).unwrap_or_else(|e| panic!("{} unreadable ({e}); run with UPDATE_GOLDEN=1 to create it", json_path.display()));
        let golden_json: JsonValue = serde_json::from_slice(&golden_json_text).unwrap();
        assert_eq!(golden_json, json_value, "golden frame JSON differs; UPDATE_GOLDEN=1 if intended");
        assert!(golden_json_text == json_text, "golden frame JSON bytes differ; UPDATE_GOLDEN=1 if intended");
    }
}
