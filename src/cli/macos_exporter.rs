//! `gpx_fleetscope macos-exporter`: the same exporter, flags and behaviour as the
//! `fleetscope-macos-exporter` binary (crates/macos-exporter/src/exporter.rs).

pub use fleetscope_macos::exporter::{ExporterArgs, run};
