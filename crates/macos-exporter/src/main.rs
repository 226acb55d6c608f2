//! `fleetscope-macos-exporter`: the Apple-Silicon power exporter on its own
//! (the darwin download; docs/macos-exporter.md). Same flags and behaviour as
//! `gpx_fleetscope macos-exporter`; the plugin is not in it, so it stays small
//! and links nothing but libSystem on a Mac (no TLS, no Security framework):
//! it cross-builds for darwin without Apple's SDK.

use clap::Parser;
use fleetscope_macos::exporter::{self as macos_exporter, ExporterArgs};

#[derive(Debug, Parser)]
#[command(
    name = "fleetscope-macos-exporter",
    version,
    about = "Serve powermetrics power/thermal gauges on /metrics (run as root on an Apple-Silicon Mac)"
)]
struct Cli {
    #[command(flatten)]
    args: ExporterArgs,
}

fn main() {
    let cli = Cli::parse();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .try_init();
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let code = match runtime.block_on(macos_exporter::run(cli.args)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    };
    std::process::exit(code);
}
