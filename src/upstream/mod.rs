//! Upstream clients: the only code that talks HTTP to cluster backends.
//!
//! [`http::UpstreamClient`] holds the mechanics every backend shares — one pooled
//! connection pool per cluster endpoint, auth, tenant header, TLS, body cap, and
//! retries for idempotent reads. Each backend file (`prometheus.rs`, …) only knows
//! its API's paths and parameters and hands back raw bytes; converting bytes to
//! frames is `crate::frames`' job.

pub mod alertmanager;
pub mod http;
pub mod kube;
pub mod loki;
pub mod prometheus;
pub mod tempo;

use std::time::Duration;

use crate::error::{ErrorCode, FleetError};

/// What went wrong talking to one upstream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamError {
    #[error("cannot connect: {0}")]
    Connect(String),
    /// Connection refused or the host name does not resolve: known at once,
    /// so retried at most once, without backoff.
    #[error("cannot connect: {0}")]
    Refused(String),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("HTTP {status}: {message}")]
    Status { status: u16, message: String },
    #[error("response body exceeds the {limit}-byte cap (query.maxResponseBytes)")]
    TooLarge { limit: usize },
    #[error("invalid response: {0}")]
    Decode(String),
    #[error("{0}")]
    Request(String),
}

impl UpstreamError {
    pub fn code(&self) -> ErrorCode {
        match self {
            UpstreamError::Connect(_) | UpstreamError::Refused(_) => ErrorCode::ClusterUnreachable,
            UpstreamError::Timeout(_) => ErrorCode::QueryTimeout,
            UpstreamError::TooLarge { .. } => ErrorCode::ResponseTooLarge,
            UpstreamError::Status { .. } | UpstreamError::Decode(_) | UpstreamError::Request(_) => ErrorCode::UpstreamError,
        }
    }

    /// Convert, naming the cluster and backend in the message.
    pub fn into_fleet(self, cluster: &str, backend: crate::registry::Backend) -> FleetError {
        FleetError::new(self.code(), format!("{cluster} ({backend}): {self}"))
    }
}
