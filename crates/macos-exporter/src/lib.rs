//! Apple-Silicon power, the part of Fleetscope that runs on the Macs themselves:
//! the `powermetrics -f plist` reader ([`plist`]), the metric names and the
//! sample → exposition mapping ([`power`]), and the `/metrics` server
//! ([`exporter`]).
//!
//! A crate of its own so the `fleetscope-macos-exporter` download depends on
//! tokio, axum (HTTP/1 only) and clap, nothing with TLS or native frameworks,
//! and cross-builds for darwin with zig and no Apple SDK. The plugin uses the
//! same parser (`fleetscope::probes::macos` re-exports it) and serves the same
//! exporter as `gpx_fleetscope macos-exporter`.

pub mod exporter;
pub mod plist;
pub mod power;
