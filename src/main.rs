//! `gpx_fleetscope`: plugin mode when Grafana starts it (go-plugin's magic
//! cookie is in the environment), CLI mode otherwise. Nothing else lives here.

use clap::Parser;

/// musl's malloc serialises every allocation behind one lock; the static Linux
/// builds use mimalloc instead (measured in docs/operations.md, "Static builds").
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// go-plugin handshake cookie Grafana sets for backend plugins.
const MAGIC_COOKIE_KEY: &str = "grafana_plugin_type";
const MAGIC_COOKIE_VALUE: &str = "datasource";

fn main() {
    let plugin_mode = std::env::var(MAGIC_COOKIE_KEY).is_ok_and(|v| v == MAGIC_COOKIE_VALUE);
    let cli = if plugin_mode { None } else { Some(fleetscope::cli::Cli::parse()) };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let code = runtime.block_on(async move {
        match cli {
            None => fleetscope::plugin::run().await,
            Some(cli) => fleetscope::cli::run(cli).await,
        }
    });
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    std::process::exit(code);
}
