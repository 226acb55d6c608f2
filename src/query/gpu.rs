//! `queryType: gpu` — GPU fleet views from nvidia-smi (Kubernetes exec) or DCGM.
//!
//! ```json
//! {"queryType": "gpu", "view": "summary", "source": "auto", "clusters": ["east"], "node": "gpu-node-a3"}
//! ```
//! `view`: `nodes` | `gpus` (default) | `processes` | `summary`; `source`: `auto`
//! (default: DCGM where the cluster's Prometheus has it, exec otherwise) |
//! `nvidia-smi` | `dcgm`; `node`: optional node-name filter. Nothing here ever
//! reaches a command line: the exec commands are fixed in code.

use serde::Deserialize;

use super::{QueryEnvelope, QueryError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GpuView {
    Nodes,
    Gpus,
    Processes,
    Summary,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum SourceChoice {
    #[serde(rename = "auto")]
    Auto,
    #[serde(rename = "nvidia-smi")]
    NvidiaSmi,
    #[serde(rename = "dcgm")]
    Dcgm,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GpuQuery {
    pub view: GpuView,
    pub source: SourceChoice,
    pub node: Option<String>,
    /// DCGM instant-query time (the end of the panel's range), epoch ms.
    pub time_ms: i64,
}

#[derive(Debug, Deserialize)]
struct Raw {
    #[serde(default)]
    view: Option<String>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    node: Option<String>,
}

impl GpuQuery {
    pub fn parse(json: &[u8], env: &QueryEnvelope) -> Result<Self, QueryError> {
        let raw: Raw = serde_json::from_slice(json).map_err(|e| QueryError::Json(e.to_string()))?;
        let view = match raw.view.as_deref().map(str::trim).unwrap_or("") {
            "" | "gpus" => GpuView::Gpus,
            "nodes" => GpuView::Nodes,
            "processes" => GpuView::Processes,
            "summary" => GpuView::Summary,
            other => {
                return Err(QueryError::Field { field: "view", message: format!("{other:?} is not one of nodes, gpus, processes, summary") });
            }
        };
        let source = match raw.source.as_deref().map(str::trim).unwrap_or("") {
            "" | "auto" => SourceChoice::Auto,
            "nvidia-smi" => SourceChoice::NvidiaSmi,
            "dcgm" => SourceChoice::Dcgm,
            other => {
                return Err(QueryError::Field { field: "source", message: format!("{other:?} is not one of auto, nvidia-smi, dcgm") });
            }
        };
        let node = raw.node.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty() && n != "$__all" && n != "All");
        Ok(GpuQuery { view, source, node, time_ms: env.time_range.to_ms })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::TimeRange;

    fn env() -> QueryEnvelope {
        QueryEnvelope { ref_id: "A".into(), time_range: TimeRange::new(0, 5_000).unwrap(), interval_ms: 0, max_data_points: 0 }
    }

    #[test]
    fn defaults_and_fields() {
        let q = GpuQuery::parse(br#"{"queryType":"gpu"}"#, &env()).unwrap();
        assert_eq!((q.view, q.source, q.node, q.time_ms), (GpuView::Gpus, SourceChoice::Auto, None, 5_000));
        let q = GpuQuery::parse(br#"{"view":"summary","source":"nvidia-smi","node":" n1 "}"#, &env()).unwrap();
        assert_eq!((q.view, q.source, q.node.as_deref()), (GpuView::Summary, SourceChoice::NvidiaSmi, Some("n1")));
    }

    #[test]
    fn bad_values_name_the_field() {
        let e = GpuQuery::parse(br#"{"view":"rm -rf"}"#, &env()).unwrap_err();
        assert!(e.to_string().contains("`view`"), "{e}");
        let e = GpuQuery::parse(br#"{"source":"ssh"}"#, &env()).unwrap_err();
        assert!(e.to_string().contains("`source`"), "{e}");
    }
}
