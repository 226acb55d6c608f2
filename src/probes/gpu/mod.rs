//! GPU probes: the nvidia-smi commands and parser ([`nvidia_smi`]), the DCGM
//! mapping ([`dcgm`]), and the per-node model both produce.

pub mod dcgm;
pub mod nvidia_smi;

use serde::Serialize;

use crate::error::ErrorCode;

pub use nvidia_smi::GpuInfo;

/// Where a cluster's GPU telemetry came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum GpuSource {
    #[serde(rename = "nvidia-smi")]
    NvidiaSmi,
    #[serde(rename = "dcgm")]
    Dcgm,
}

impl GpuSource {
    pub fn as_str(self) -> &'static str {
        match self {
            GpuSource::NvidiaSmi => "nvidia-smi",
            GpuSource::Dcgm => "dcgm",
        }
    }
}

/// A process (nvidia-smi: pid + name) or an allocated pod (DCGM labels) on a node.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProcessRow {
    pub gpu_uuid: Option<String>,
    pub pid: Option<u32>,
    pub process_name: String,
    pub used_memory_mib: Option<f64>,
    pub pod: Option<String>,
    pub namespace: Option<String>,
}

/// One GPU node: its GPUs and processes, or why they could not be read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeGpus {
    pub node: String,
    pub gpus: Vec<GpuInfo>,
    pub processes: Vec<ProcessRow>,
    /// Set when this node failed (exec error, unreadable output); others still count.
    pub error: Option<String>,
    /// The code of `error` when it says more than a failed node (an exec that
    /// timed out, output over the cap); `None` reads as UPSTREAM_ERROR.
    #[serde(skip)]
    pub error_code: Option<ErrorCode>,
    /// Rows of the output that could not be read (the rest were).
    pub warnings: Vec<String>,
}

impl NodeGpus {
    pub fn new(node: &str) -> Self {
        NodeGpus { node: node.to_owned(), gpus: Vec::new(), processes: Vec::new(), error: None, error_code: None, warnings: Vec::new() }
    }
}

/// A cluster's GPU answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterGpus {
    pub source: GpuSource,
    pub nodes: Vec<NodeGpus>,
    /// Why the source was chosen (auto) — shown as an info notice.
    pub note: Option<String>,
}
