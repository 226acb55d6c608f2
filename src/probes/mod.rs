//! Probes: data read from cluster nodes rather than from a metrics backend —
//! GPU telemetry (nvidia-smi over Kubernetes exec, DCGM metrics).
//! Parsers here are pure (text in, rows out); talking to clusters is
//! `crate::upstream`'s job, fanning out is `crate::federation`'s.

pub mod cnf;
pub mod gpu;
pub mod macos;
