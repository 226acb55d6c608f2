//! Plugin mode: what runs when Grafana starts the binary.
//!
//! We serve the `pluginv2` services ourselves with tonic (the SDK's own server
//! has four defects, each found on this machine and each proven fixed by the Go
//! harness in tests/conformance):
//! * accepted sockets get `TCP_NODELAY` — without it every call waits ~40 ms on
//!   Nagle + delayed ACK;
//! * the gRPC health service answers for `"plugin"` (what go-plugin checks) as
//!   well as `""` and each pluginv2 service;
//! * one malformed query gets its own error `DataResponse` (see `data.rs`);
//! * the process exits when Grafana goes away: go-plugin's
//!   `plugin.GRPCController/Shutdown`, SIGTERM/SIGINT, or the parent process
//!   disappearing (polled; re-parenting shows up as a changed parent pid).

mod controller;
mod data;
mod diagnostics;
mod instances;
mod resource;
mod stream;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use grafana_plugin_sdk::pluginv2::{
    data_server::DataServer, diagnostics_server::DiagnosticsServer, resource_server::ResourceServer, stream_server::StreamServer,
};
use tokio::sync::watch;
use tracing_subscriber::prelude::*;

pub use instances::Instances;
/// For driving Grafana Live channels in tests without a gRPC server.
pub use stream::StreamService;

/// The state shared by every service.
#[derive(Clone, Default)]
pub struct PluginState {
    pub instances: Arc<Instances>,
}

/// Install the hclog-JSON tracing layer Grafana parses (level from
/// `GF_PLUGIN_LOG_LEVEL`/`RUST_LOG`, default info) and a panic hook that logs
/// through it.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(std::env::var("GF_PLUGIN_LOG_LEVEL").unwrap_or_else(|_| "info".into())))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::registry().with(grafana_plugin_sdk::backend::layer()).with(filter).try_init();
    std::panic::set_hook(Box::new(|info| {
        tracing::error!(panic = %info, "panic caught; the request fails, the plugin keeps running");
    }));
}

/// The gRPC deadline Grafana passed with a call (`grpc-timeout`), if any.
/// tonic drops the call at that instant; `crate::deadline` answers before it.
fn grpc_timeout<T>(request: &tonic::Request<T>) -> Option<std::time::Duration> {
    request.metadata().get("grpc-timeout").and_then(|v| v.to_str().ok()).and_then(crate::deadline::parse_grpc_timeout)
}

/// Serve until Grafana stops us. Returns the process exit code.
pub async fn run() -> i32 {
    init_logging();
    let listener = match grafana_plugin_sdk::backend::initialize().await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, "cannot bind the plugin's gRPC listener");
            return 1;
        }
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    spawn_stop_watchers(stop_tx.clone());

    let state = PluginState::default();
    let (mut health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<DataServer<data::DataService>>().await;
    health.set_serving::<DiagnosticsServer<diagnostics::DiagnosticsService>>().await;
    health.set_serving::<ResourceServer<resource::ResourceService>>().await;
    health.set_serving::<StreamServer<stream::StreamService>>().await;
    health.set_service_status("plugin", tonic_health::ServingStatus::Serving).await;

    let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener).map(|conn| {
        conn.and_then(|s| {
            s.set_nodelay(true)?;
            Ok(s)
        })
    });
    let mut shutdown = stop_rx.clone();
    let server = tonic::transport::Server::builder()
        .add_service(health_service)
        .add_service(controller::ControllerServer::new(stop_tx))
        .add_service(DataServer::new(data::DataService(state.clone())).max_decoding_message_size(64 * 1024 * 1024))
        .add_service(DiagnosticsServer::new(diagnostics::DiagnosticsService(state.clone())))
        .add_service(ResourceServer::new(resource::ResourceService(state.clone())).max_decoding_message_size(16 * 1024 * 1024))
        .add_service(StreamServer::new(stream::StreamService(state.clone())))
        .serve_with_incoming_shutdown(incoming, async move {
            let _ = shutdown.wait_for(|stop| *stop).await;
        });
    tracing::info!(version = env!("CARGO_PKG_VERSION"), "fleetscope plugin serving");
    match server.await {
        Ok(()) => {
            tracing::info!("fleetscope plugin stopped");
            0
        }
        Err(e) => {
            tracing::error!(error = %e, "gRPC server failed");
            1
        }
    }
}

/// Waits for SIGTERM or SIGINT; false when the handlers cannot be installed.
#[cfg(unix)]
async fn stop_signal() -> bool {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        tracing::warn!("cannot install signal handlers");
        return false;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
        _ = int.recv() => tracing::info!("SIGINT: shutting down"),
    }
    true
}

/// Waits for Ctrl-C / Ctrl-Break (Windows has no SIGTERM); false when it cannot listen.
#[cfg(not(unix))]
async fn stop_signal() -> bool {
    match tokio::signal::ctrl_c().await {
        Ok(()) => {
            tracing::info!("Ctrl-C: shutting down");
            true
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            false
        }
    }
}

/// Ask the server to stop on SIGTERM/SIGINT or when the parent process goes away.
fn spawn_stop_watchers(stop: watch::Sender<bool>) {
    let mut stopped = stop.subscribe();
    let on_signal = stop.clone();
    tokio::spawn(async move {
        if stop_signal().await {
            let _ = on_signal.send(true);
        }
    });
    #[cfg(unix)]
    tokio::spawn(async move {
        let parent = std::os::unix::process::parent_id();
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        loop {
            tick.tick().await;
            if std::os::unix::process::parent_id() != parent {
                tracing::info!(parent, "Grafana (parent process) went away: shutting down");
                let _ = stop.send(true);
                break;
            }
        }
    });
    // Windows has no parent_id: there go-plugin's Kill (TerminateProcess) is what ends us.
    #[cfg(not(unix))]
    drop(stop);
    // Graceful shutdown waits for in-flight calls; a stuck stream must not keep
    // the process alive after Grafana is gone.
    tokio::spawn(async move {
        let _ = stopped.wait_for(|s| *s).await;
        tokio::time::sleep(Duration::from_secs(5)).await;
        tracing::warn!("in-flight calls did not finish within 5 s of shutdown; exiting");
        std::process::exit(0);
    });
}
