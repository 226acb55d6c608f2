//! Column helpers for the probe views (GPU, CNF): long tables with one row per
//! node/GPU/port, `cluster`/`cluster_id` first, numbers carrying their unit.

use super::{Field, FieldConfig, FieldValues, Frame, FrameMeta};
use crate::registry::Cluster;

/// The `cluster` and `cluster_id` columns, filled row by row.
#[derive(Default)]
pub struct ClusterColumns {
    cluster: Vec<String>,
    cluster_id: Vec<String>,
}

impl ClusterColumns {
    pub fn push(&mut self, c: &Cluster) {
        self.push_named(c.name.clone(), c.id.to_string());
    }
    /// A row that is not one cluster's (e.g. the fleet-wide total).
    pub fn push_named(&mut self, name: String, id: String) {
        self.cluster.push(name);
        self.cluster_id.push(id);
    }
    pub fn fields(self) -> Vec<Field> {
        vec![text("cluster", self.cluster), text("cluster_id", self.cluster_id)]
    }
}

pub fn text(name: &str, v: Vec<String>) -> Field {
    Field::new(name, FieldValues::Str(v))
}

pub fn num(name: &str, unit: &str, v: Vec<Option<f64>>) -> Field {
    Field::new(name, FieldValues::NullableF64(v)).with_config(FieldConfig { unit: Some(unit.into()), ..FieldConfig::default() })
}

pub fn counter(name: &str, unit: &str, v: Vec<u64>) -> Field {
    Field::new(name, FieldValues::U64(v)).with_config(FieldConfig { unit: Some(unit.into()), ..FieldConfig::default() })
}

/// A `numeric-long` data-plane frame when `numeric`, else a plain table.
pub fn table(name: &str, fields: Vec<Field>, numeric: bool) -> Frame {
    let meta = if numeric {
        FrameMeta::dataplane("numeric-long")
    } else {
        FrameMeta { preferred_visualisation_type: Some("table".into()), ..FrameMeta::default() }
    };
    Frame { name: name.into(), ref_id: String::new(), meta: Some(meta), fields }
}
