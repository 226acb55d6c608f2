//! `gpx_fleetscope macos-exporter`: runs on an Apple-Silicon Mac, reads
//! `powermetrics -f plist --samplers cpu_power,gpu_power,ane_power,thermal`
//! (needs root, as powermetrics does) and serves the latest sample on
//! `/metrics` with the names of docs/metrics.md, labelled `node`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use tokio::io::AsyncReadExt;

use crate::probes::macos::{PowerSample, SAMPLERS, plist, split_documents};

/// This machine's host name (the `node` label when none is given).
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

pub async fn run(listen: SocketAddr, interval_ms: u64, node: Option<String>, powermetrics: PathBuf) -> Result<i32, String> {
    let node = node.unwrap_or_else(hostname);
    let latest = Arc::new(RwLock::new(String::new()));
    let mut child = tokio::process::Command::new(&powermetrics)
        .args(["-f", "plist", "--samplers", SAMPLERS, "-i", &interval_ms.max(100).to_string()])
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
    eprintln!("macos-exporter: node {node}, serving http://{listen}/metrics");
    tokio::select! {
        r = axum::serve(listener, app) => r.map_err(|e| e.to_string())?,
        _ = reader => return Err("powermetrics exited".into()),
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(0)
}
