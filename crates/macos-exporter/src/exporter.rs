//! `gpx_fleetscope macos-exporter`: runs on an Apple-Silicon Mac, reads
//! `powermetrics -f plist --samplers cpu_power,gpu_power,ane_power,thermal`
//! (needs root, as powermetrics does) and serves the latest sample on
//! `/metrics` with the names of docs/metrics.md, labelled `node`.
//!
//! Two ways in, one set of flags ([`ExporterArgs`]): the `macos-exporter`
//! subcommand of `gpx_fleetscope`, and the `fleetscope-macos-exporter` binary
//! shipped for darwin (this crate's main.rs; docs/macos-exporter.md).
//! It stops (exit 2) when powermetrics exits: launchd's KeepAlive restarts it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use tokio::io::AsyncReadExt;

use crate::plist;
use crate::power::{PowerSample, SAMPLERS, split_documents};

/// This machine's host name (the `node` label when none is given).
#[cfg(not(unix))]
fn hostname() -> String {
    std::env::var("COMPUTERNAME").ok().filter(|h| !h.is_empty()).unwrap_or_else(|| "localhost".into())
}

/// This machine's host name (the `node` label when none is given).
#[cfg(unix)]
#[allow(unsafe_code)] // one libc call; std has no portable gethostname
fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into buf.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "localhost".into();
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).split('.').next().unwrap_or("localhost").to_owned()
}

/// The exporter's flags (both entry points).
#[derive(Debug, Clone, clap::Args)]
pub struct ExporterArgs {
    /// Address to serve /metrics on (port 0: any free port, printed at start).
    #[arg(long, default_value = "0.0.0.0:9101")]
    pub listen: SocketAddr,
    /// powermetrics sample interval in milliseconds (at least 100).
    #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u64).range(100..))]
    pub interval_ms: u64,
    /// `node` label (default: the host name).
    #[arg(long)]
    pub node: Option<String>,
    /// The powermetrics executable.
    #[arg(long, default_value = "/usr/bin/powermetrics")]
    pub powermetrics: PathBuf,
}

pub async fn run(args: ExporterArgs) -> Result<i32, String> {
    let ExporterArgs { listen, interval_ms, node, powermetrics } = args;
    let node = node.unwrap_or_else(hostname);
    let latest = Arc::new(RwLock::new(String::new()));
    let mut child = tokio::process::Command::new(&powermetrics)
        .args(["-f", "plist", "--samplers", SAMPLERS, "-i", &interval_ms.to_string()])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", powermetrics.display()))?;
    let mut stdout = child.stdout.take().ok_or("powermetrics has no stdout")?;
    let writer = latest.clone();
    let reader_node = node.clone();
    let reader = tokio::spawn(async move {
        let mut pending = String::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match stdout.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            pending.push_str(&String::from_utf8_lossy(&buf[..n]));
            // A document is complete once its NUL separator arrived.
            let Some(last) = pending.rfind('\0') else { continue };
            let complete: String = pending.drain(..=last).collect();
            if let Some(doc) = split_documents(&complete).last() {
                match plist::parse(doc) {
                    Ok(p) => {
                        if let Ok(mut w) = writer.write() {
                            *w = PowerSample::from_plist(&p).exposition(&reader_node);
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "unreadable powermetrics sample"),
                }
            }
        }
    });
    let state = latest.clone();
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let state = state.clone();
            async move {
                let body = state.read().map(|s| s.clone()).unwrap_or_default();
                ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let bound = listener.local_addr().map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    eprintln!("macos-exporter: node {node}, serving http://{bound}/metrics");
    tokio::select! {
        r = axum::serve(listener, app) => r.map_err(|e| e.to_string())?,
        _ = reader => return Err("powermetrics exited".into()),
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(0)
}
