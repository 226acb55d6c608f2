//! The probe views' tables (GPU, CNF): long tables with one row per
//! node/GPU/port/pod, `cluster` and `cluster_id` first, numbers carrying their unit.
//!
//! A table is declared column by column — one line each: its name, its unit, and
//! how a row fills it — and built from a list of rows ([`build`]). A table with no
//! rows still has every column, so panels keep their field overrides while a
//! cluster is down.

use super::{Field, FieldConfig, FieldValues, Frame, FrameMeta};
use crate::registry::Cluster;

/// The cluster a row belongs to: its display name and id (the fleet-wide total
/// row of a summary is `("fleet", "*")`).
pub struct RowCluster<'a> {
    pub name: &'a str,
    pub id: &'a str,
}

impl<'a> From<&'a Cluster> for RowCluster<'a> {
    fn from(c: &'a Cluster) -> Self {
        RowCluster { name: &c.name, id: c.id.as_str() }
    }
}

/// A row of a probe table.
pub trait ProbeRow {
    fn cluster(&self) -> RowCluster<'_>;
}

/// One column: its name, and how a row fills it.
pub enum Column<R> {
    /// Text (empty when unknown).
    Text(&'static str, fn(&R) -> String),
    /// Text that may be null.
    NullableText(&'static str, fn(&R) -> Option<String>),
    /// A measurement with its Grafana unit; null when unknown.
    Number(&'static str, &'static str, fn(&R) -> Option<f64>),
    /// An integer identifier that may be null (pid, VF id, VLAN).
    NullableInt(&'static str, fn(&R) -> Option<i64>),
    /// A monotonic counter with its Grafana unit.
    Counter(&'static str, &'static str, fn(&R) -> u64),
}

/// What Grafana is told the table is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableKind {
    /// A `numeric-long` data-plane frame: panels may plot its number columns.
    NumericLong,
    /// A plain table (`preferredVisualisationType: table`).
    Table,
}

/// The frame named `name` with `cluster`, `cluster_id` and then `columns`, one row per element of `rows`.
pub fn build<R: ProbeRow>(name: &str, kind: TableKind, rows: &[R], columns: &[Column<R>]) -> Frame {
    let mut fields = vec![
        text("cluster", rows.iter().map(|r| r.cluster().name.to_owned()).collect()),
        text("cluster_id", rows.iter().map(|r| r.cluster().id.to_owned()).collect()),
    ];
    fields.extend(columns.iter().map(|c| match c {
        Column::Text(n, f) => text(n, rows.iter().map(f).collect()),
        Column::NullableText(n, f) => Field::new(*n, FieldValues::NullableStr(rows.iter().map(f).collect())),
        Column::Number(n, unit, f) => with_unit(Field::new(*n, FieldValues::NullableF64(rows.iter().map(f).collect())), unit),
        Column::NullableInt(n, f) => Field::new(*n, FieldValues::NullableI64(rows.iter().map(f).collect())),
        Column::Counter(n, unit, f) => with_unit(Field::new(*n, FieldValues::U64(rows.iter().map(f).collect())), unit),
    }));
    let meta = match kind {
        TableKind::NumericLong => FrameMeta::dataplane("numeric-long"),
        TableKind::Table => FrameMeta { preferred_visualisation_type: Some("table".into()), ..FrameMeta::default() },
    };
    Frame { name: name.into(), ref_id: String::new(), meta: Some(meta), fields }
}

fn text(name: &str, v: Vec<String>) -> Field {
    Field::new(name, FieldValues::Str(v))
}

fn with_unit(f: Field, unit: &str) -> Field {
    f.with_config(FieldConfig { unit: Some(unit.into()), ..FieldConfig::default() })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Row(&'static str, Option<f64>);

    impl ProbeRow for Row {
        fn cluster(&self) -> RowCluster<'_> {
            RowCluster { name: "East", id: self.0 }
        }
    }

    #[test]
    fn every_column_even_without_rows() {
        let columns = [Column::Text("node", |r: &Row| r.0.to_owned()), Column::Number("temp", "celsius", |r: &Row| r.1)];
        let empty = build::<Row>("t", TableKind::NumericLong, &[], &columns);
        let names: Vec<&str> = empty.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["cluster", "cluster_id", "node", "temp"]);
        let full = build("t", TableKind::Table, &[Row("a", Some(1.5)), Row("b", None)], &columns);
        assert_eq!(full.fields[3].values, FieldValues::NullableF64(vec![Some(1.5), None]));
        assert_eq!(full.fields[1].values, FieldValues::Str(vec!["a".into(), "b".into()]));
        assert_eq!(full.fields[3].config.as_ref().and_then(|c| c.unit.as_deref()), Some("celsius"));
    }
}
