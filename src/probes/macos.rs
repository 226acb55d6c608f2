//! Apple-Silicon power: the metric names, the `powermetrics -f plist` parser
//! and the sample → metrics mapping live in the exporter's own crate
//! (crates/macos-exporter, kept lean for the darwin download); the plugin's
//! `macos` query kind reads the same names from here.

pub use fleetscope_macos::plist;
pub use fleetscope_macos::power::*;
