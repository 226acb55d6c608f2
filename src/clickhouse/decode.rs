//! ClickHouse `ArrowStream` answers → typed columns.
//!
//! The statements in `sql.rs` answer one row per series: `cluster`,
//! `label_keys`, `label_values` and the series' points as arrays (`ts`, `vals`;
//! for histograms `bounds` and one `counts` array per point). Arrow keeps those
//! arrays as flat child buffers, so a series' timestamps and values are copied
//! straight from the IPC buffers into the frame columns — no text parsing.
//!
//! ClickHouse quirks handled here: Strings arrive as Arrow `Binary` unless
//! `output_format_arrow_string_as_string=1` (both are accepted); the answer may
//! hold several record batches; an empty result is a schema with no batches.

use std::collections::HashMap;
use std::io::Cursor;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, ArrayRef, ListArray, RecordBatch};
use arrow_ipc::reader::StreamReader;

use crate::frames::prometheus::{Labels, Series};

/// A histogram series: per step timestamp, the bucket increases over the step.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSeries {
    pub labels: Labels,
    pub times_ms: Vec<i64>,
    /// Explicit upper bounds (without +Inf).
    pub bounds: Vec<f64>,
    /// One per point: `bounds.len() + 1` per-bucket counts (the last is +Inf).
    pub counts: Vec<Vec<f64>>,
}

/// Series by cluster attribute value.
pub type ByCluster<T> = HashMap<String, Vec<T>>;

fn batches(body: &[u8]) -> Result<Vec<RecordBatch>, String> {
    if body.is_empty() {
        return Ok(Vec::new());
    }
    let reader = StreamReader::try_new(Cursor::new(body), None).map_err(|e| format!("not an Arrow stream: {e}"))?;
    reader.map(|b| b.map_err(|e| format!("Arrow stream: {e}"))).collect()
}

fn column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a ArrayRef, String> {
    batch.column_by_name(name).ok_or_else(|| format!("column {name:?} is missing"))
}

/// Row `i` of a String column (Utf8, LargeUtf8 or Binary).
fn string_at(a: &dyn Array, i: usize) -> Result<String, String> {
    if let Some(s) = a.as_string_opt::<i32>() {
        return Ok(s.value(i).to_owned());
    }
    if let Some(s) = a.as_string_opt::<i64>() {
        return Ok(s.value(i).to_owned());
    }
    if let Some(b) = a.as_binary_opt::<i32>() {
        return Ok(String::from_utf8_lossy(b.value(i)).into_owned());
    }
    Err(format!("expected a string column, got {}", a.data_type()))
}

fn list<'a>(a: &'a ArrayRef, name: &str) -> Result<&'a ListArray, String> {
    a.as_list_opt::<i32>().ok_or_else(|| format!("column {name:?}: expected an array, got {}", a.data_type()))
}

fn strings(l: &ListArray, i: usize) -> Result<Vec<String>, String> {
    let v = l.value(i);
    (0..v.len()).map(|j| string_at(v.as_ref(), j)).collect()
}

fn i64s(l: &ListArray, i: usize, name: &str) -> Result<Vec<i64>, String> {
    let v = l.value(i);
    let p = v.as_primitive_opt::<Int64Type>().ok_or_else(|| format!("column {name:?}: expected Int64 items, got {}", v.data_type()))?;
    Ok(p.values().to_vec())
}

fn f64s(a: &dyn Array, name: &str) -> Result<Vec<f64>, String> {
    let p = a.as_primitive_opt::<Float64Type>().ok_or_else(|| format!("column {name:?}: expected Float64 items, got {}", a.data_type()))?;
    Ok(p.values().to_vec())
}

fn labels(keys: Vec<String>, values: Vec<String>) -> Labels {
    keys.into_iter().zip(values).filter(|(_, v)| !v.is_empty()).collect()
}

/// Decode a gauge/sum answer (`cluster, label_keys, label_values, ts, vals`).
pub fn series(body: &[u8]) -> Result<ByCluster<Series>, String> {
    let mut out: ByCluster<Series> = HashMap::new();
    for batch in batches(body)? {
        let cluster = column(&batch, "cluster")?;
        let (lk, lv) = (list(column(&batch, "label_keys")?, "label_keys")?, list(column(&batch, "label_values")?, "label_values")?);
        let (ts, vals) = (list(column(&batch, "ts")?, "ts")?, list(column(&batch, "vals")?, "vals")?);
        for i in 0..batch.num_rows() {
            let times_ms = i64s(ts, i, "ts")?;
            let values = f64s(vals.value(i).as_ref(), "vals")?;
            if times_ms.len() != values.len() {
                return Err(format!("row {i}: {} timestamps but {} values", times_ms.len(), values.len()));
            }
            let s = Series { labels: labels(strings(lk, i)?, strings(lv, i)?), times_ms, values };
            out.entry(string_at(cluster.as_ref(), i)?).or_default().push(s);
        }
    }
    Ok(out)
}

/// Decode a histogram answer (`cluster, label_keys, label_values, ts, bounds, counts`).
pub fn histograms(body: &[u8]) -> Result<ByCluster<HistogramSeries>, String> {
    let mut out: ByCluster<HistogramSeries> = HashMap::new();
    for batch in batches(body)? {
        let cluster = column(&batch, "cluster")?;
        let (lk, lv) = (list(column(&batch, "label_keys")?, "label_keys")?, list(column(&batch, "label_values")?, "label_values")?);
        let (ts, bounds, counts) =
            (list(column(&batch, "ts")?, "ts")?, list(column(&batch, "bounds")?, "bounds")?, list(column(&batch, "counts")?, "counts")?);
        for i in 0..batch.num_rows() {
            let times_ms = i64s(ts, i, "ts")?;
            let per_point = counts.value(i);
            let per_point =
                per_point.as_list_opt::<i32>().ok_or_else(|| format!("column \"counts\": expected arrays, got {}", per_point.data_type()))?;
            let counts: Vec<Vec<f64>> = (0..per_point.len()).map(|j| f64s(per_point.value(j).as_ref(), "counts")).collect::<Result<_, _>>()?;
            if counts.len() != times_ms.len() {
                return Err(format!("row {i}: {} timestamps but {} bucket arrays", times_ms.len(), counts.len()));
            }
            let h = HistogramSeries {
                labels: labels(strings(lk, i)?, strings(lv, i)?),
                times_ms,
                bounds: f64s(bounds.value(i).as_ref(), "bounds")?,
                counts,
            };
            out.entry(string_at(cluster.as_ref(), i)?).or_default().push(h);
        }
    }
    Ok(out)
}

/// Rows of two-column text answers (`TabSeparated`): editor lists and health.
pub fn tsv_rows(body: &[u8]) -> Vec<Vec<String>> {
    String::from_utf8_lossy(body).lines().filter(|l| !l.is_empty()).map(|l| l.split('\t').map(unescape_tsv).collect()).collect()
}

fn unescape_tsv(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('0') => out.push('\0'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// PromQL's `histogram_quantile` on one point: `bounds` are the explicit upper
/// bounds, `counts` the per-bucket counts (`bounds.len() + 1`, the last is +Inf).
/// Same interpolation as Prometheus (`bucketQuantile`): linear inside the
/// bucket, the lowest bucket starting at 0 (or at its bound when ≤ 0), the
/// +Inf bucket answering the highest finite bound; NaN without observations.
pub fn histogram_quantile(q: f64, bounds: &[f64], counts: &[f64]) -> f64 {
    if q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    if counts.len() != bounds.len() + 1 || bounds.is_empty() {
        return f64::NAN;
    }
    // Per-bucket increases may dip below zero (floor-rounded buckets); the
    // cumulative counts are made monotonic as Prometheus' ensureMonotonic does.
    let mut cum: Vec<f64> = Vec::with_capacity(counts.len());
    let mut acc = 0.0;
    for c in counts {
        acc += c;
        let prev = cum.last().copied().unwrap_or(0.0);
        cum.push(if acc < prev { prev } else { acc });
    }
    let observations = cum[cum.len() - 1];
    if observations == 0.0 || observations.is_nan() {
        return f64::NAN;
    }
    let mut rank = q * observations;
    let b = cum.iter().position(|c| *c >= rank).unwrap_or(cum.len() - 1);
    if b == cum.len() - 1 {
        return bounds[bounds.len() - 1];
    }
    if b == 0 && bounds[0] <= 0.0 {
        return bounds[0];
    }
    let (start, end) = if b == 0 { (0.0, bounds[0]) } else { (bounds[b - 1], bounds[b]) };
    let mut count = cum[b];
    if b > 0 {
        count -= cum[b - 1];
        rank -= cum[b - 1];
    }
    start + (end - start) * (rank / count)
}

/// Numeric cell as f64 (every integer and float width ClickHouse writes).
fn number_at(a: &dyn Array, i: usize) -> Option<f64> {
    use arrow_array::types::*;
    use arrow_schema::DataType as D;
    if a.is_null(i) {
        return None;
    }
    Some(match a.data_type() {
        D::Float64 => a.as_primitive::<Float64Type>().value(i),
        D::Float32 => f64::from(a.as_primitive::<Float32Type>().value(i)),
        D::Int64 => a.as_primitive::<Int64Type>().value(i) as f64,
        D::Int32 => f64::from(a.as_primitive::<Int32Type>().value(i)),
        D::Int16 => f64::from(a.as_primitive::<Int16Type>().value(i)),
        D::Int8 => f64::from(a.as_primitive::<Int8Type>().value(i)),
        D::UInt64 => a.as_primitive::<UInt64Type>().value(i) as f64,
        D::UInt32 => f64::from(a.as_primitive::<UInt32Type>().value(i)),
        D::UInt16 => f64::from(a.as_primitive::<UInt16Type>().value(i)),
        D::UInt8 => f64::from(a.as_primitive::<UInt8Type>().value(i)),
        _ => return None,
    })
}

/// Time cell → epoch ms: `DateTime64` (Arrow timestamps of any unit),
/// `DateTime` (UInt32 seconds), `Date32`, or an integer of milliseconds.
fn time_ms_at(a: &dyn Array, i: usize) -> Option<i64> {
    use arrow_array::types::*;
    use arrow_schema::{DataType as D, TimeUnit as U};
    if a.is_null(i) {
        return None;
    }
    Some(match a.data_type() {
        D::Timestamp(U::Second, _) => a.as_primitive::<TimestampSecondType>().value(i).checked_mul(1000)?,
        D::Timestamp(U::Millisecond, _) => a.as_primitive::<TimestampMillisecondType>().value(i),
        D::Timestamp(U::Microsecond, _) => a.as_primitive::<TimestampMicrosecondType>().value(i) / 1000,
        D::Timestamp(U::Nanosecond, _) => a.as_primitive::<TimestampNanosecondType>().value(i) / 1_000_000,
        D::UInt32 => i64::from(a.as_primitive::<UInt32Type>().value(i)) * 1000,
        D::Date32 => i64::from(a.as_primitive::<Date32Type>().value(i)) * 86_400_000,
        D::Int64 => a.as_primitive::<Int64Type>().value(i),
        D::UInt64 => i64::try_from(a.as_primitive::<UInt64Type>().value(i)).ok()?,
        _ => return None,
    })
}

/// A raw-SQL answer as series: column `cluster` (the cluster attribute's
/// value), a time column (`t`, `time` or `timestamp`), a numeric `value`
/// column; every other column is a label (strings as they are, numbers
/// formatted). Rows of equal (cluster, labels) form one series, sorted by time.
pub fn table_series(body: &[u8]) -> Result<ByCluster<Series>, String> {
    use std::collections::BTreeMap;
    let mut grouped: BTreeMap<(String, Labels), Vec<(i64, f64)>> = BTreeMap::new();
    for batch in batches(body)? {
        let schema = batch.schema();
        let find = |names: &[&str]| schema.fields().iter().position(|f| names.iter().any(|n| f.name().eq_ignore_ascii_case(n)));
        let ci = find(&["cluster"]).ok_or("the result needs a `cluster` column (the cluster attribute's value; `$__clusters` lists them)")?;
        let ti = find(&["t", "time", "timestamp"]).ok_or("the result needs a time column named `t`, `time` or `timestamp`")?;
        let vi = find(&["value"]).ok_or("the result needs a numeric `value` column")?;
        let (c, t, v) = (batch.column(ci), batch.column(ti), batch.column(vi));
        let label_cols: Vec<(String, &ArrayRef)> =
            (0..batch.num_columns()).filter(|i| ![ci, ti, vi].contains(i)).map(|i| (schema.field(i).name().clone(), batch.column(i))).collect();
        for row in 0..batch.num_rows() {
            let cluster = string_at(c.as_ref(), row)?;
            let time =
                time_ms_at(t.as_ref(), row).ok_or_else(|| format!("column {:?}: {} is not a time type", schema.field(ti).name(), t.data_type()))?;
            let value = if v.is_null(row) {
                f64::NAN
            } else {
                number_at(v.as_ref(), row).ok_or_else(|| format!("column \"value\": {} is not numeric", v.data_type()))?
            };
            let mut labels = Labels::new();
            for (name, col) in &label_cols {
                let text = if col.is_null(row) {
                    String::new()
                } else {
                    match string_at(col.as_ref(), row) {
                        Ok(s) => s,
                        Err(_) => number_at(col.as_ref(), row)
                            .map(|n| n.to_string())
                            .ok_or_else(|| format!("column {name:?}: unsupported type {}", col.data_type()))?,
                    }
                };
                if !text.is_empty() {
                    labels.insert(name.clone(), text);
                }
            }
            grouped.entry((cluster, labels)).or_default().push((time, value));
        }
    }
    let mut out: ByCluster<Series> = HashMap::new();
    for ((cluster, labels), mut points) in grouped {
        points.sort_by_key(|p| p.0);
        let (times_ms, values) = points.into_iter().unzip();
        out.entry(cluster).or_default().push(Series { labels, times_ms, values });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_interpolates_like_prometheus() {
        // Buckets le=1: 10, le=2: 20 (cumulative 30), +Inf: 0 → median rank 15 in (1, 2].
        assert_eq!(histogram_quantile(0.5, &[1.0, 2.0], &[10.0, 20.0, 0.0]), 1.25);
        assert_eq!(histogram_quantile(0.0, &[1.0, 2.0], &[10.0, 20.0, 0.0]), 0.0);
        // Everything in +Inf → the highest finite bound.
        assert_eq!(histogram_quantile(0.99, &[1.0, 2.0], &[0.0, 0.0, 5.0]), 2.0);
        assert!(histogram_quantile(0.5, &[1.0], &[0.0, 0.0]).is_nan());
        assert_eq!(histogram_quantile(-1.0, &[1.0], &[1.0, 0.0]), f64::NEG_INFINITY);
        assert_eq!(histogram_quantile(2.0, &[1.0], &[1.0, 0.0]), f64::INFINITY);
        // Mismatched shapes never panic.
        assert!(histogram_quantile(0.5, &[1.0, 2.0], &[1.0]).is_nan());
    }

    #[test]
    fn tsv_unescapes() {
        assert_eq!(tsv_rows(b"a\\tb\tc\\\\d\n\n"), vec![vec!["a\tb".to_owned(), "c\\d".to_owned()]]);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(series(b"Code: 60. DB::Exception: nope").is_err());
        assert!(series(b"").unwrap().is_empty());
    }
}
