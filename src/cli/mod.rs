//! CLI mode: the same registry, engine and API as plugin mode, started by hand.
//!
//! * `serve`  — the HTTP resource API on a socket (what CallResource answers in Grafana);
//! * `query`  — run one PromQL query across clusters and print it;
//! * `check`  — the health check; exit status 1 unless every cluster is healthy.

mod macos_exporter;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::api::{self, ApiRequest};
use crate::error::FleetError;
use crate::federation::health::{self, Overall};
use crate::federation::{self, Federation};
use crate::frames::{FieldValues, Frame};
use crate::query::{self, QueryEnvelope, TimeRange};
use crate::registry::Registry;

#[derive(Debug, Parser)]
#[command(name = "gpx_fleetscope", version, about = "Fleetscope: federated PromQL/LogQL/TraceQL across clusters (Grafana plugin backend and CLI)")]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the HTTP resource API (/api/v1/...) standalone.
    Serve {
        /// Settings file: `jsonData:` and `secureJsonData:` as in Grafana provisioning.
        #[arg(long, env = "FLEETSCOPE_CONFIG")]
        config: PathBuf,
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
    },
    /// Run one query across clusters and print the result.
    Query {
        #[arg(long, env = "FLEETSCOPE_CONFIG")]
        config: PathBuf,
        /// Cluster ids, comma-separated (default: all enabled clusters).
        #[arg(long, default_value = "")]
        clusters: String,
        /// Start: RFC 3339, Unix seconds, or a duration before --to (e.g. 1h).
        #[arg(long, default_value = "1h")]
        from: String,
        /// End: RFC 3339, Unix seconds, or `now`.
        #[arg(long, default_value = "now")]
        to: String,
        /// Instant query at --to.
        #[arg(long)]
        instant: bool,
        /// merge | sum | avg | min | max
        #[arg(long, default_value = "merge")]
        aggregate: String,
        /// Minimum step, e.g. 30s.
        #[arg(long)]
        step: Option<String>,
        /// table | json (Grafana data-frame JSON)
        #[arg(long, default_value = "table")]
        output: String,
        /// PromQL expression, or a full query JSON object (`{"queryType":…}`).
        expr: String,
    },
    /// On an Apple-Silicon Mac: serve powermetrics power/thermal on /metrics (docs/metrics.md).
    MacosExporter {
        #[arg(long, default_value = "0.0.0.0:9101")]
        listen: SocketAddr,
        /// powermetrics sample interval in milliseconds.
        #[arg(long, default_value_t = 5000)]
        interval_ms: u64,
        /// `node` label (default: the host name).
        #[arg(long)]
        node: Option<String>,
        #[arg(long, default_value = "/usr/bin/powermetrics")]
        powermetrics: PathBuf,
    },
    /// Check every cluster's health.
    Check {
        #[arg(long, env = "FLEETSCOPE_CONFIG")]
        config: PathBuf,
    },
}

fn load(config: &PathBuf) -> Result<Federation, String> {
    let text = std::fs::read_to_string(config).map_err(|e| format!("cannot read {}: {e}", config.display()))?;
    let registry = Registry::from_yaml(&text).map_err(|e| format!("{}: {e}", config.display()))?;
    Ok(Federation::new(registry))
}

/// Run the CLI; returns the exit code.
pub async fn run(cli: Cli) -> i32 {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .try_init();
    let result = match cli.command {
        Command::Serve { config, listen } => match load(&config) {
            Ok(fed) => serve(Arc::new(fed), listen).await,
            Err(e) => Err(e),
        },
        Command::Query { config, clusters, from, to, instant, aggregate, step, output, expr } => match load(&config) {
            Ok(fed) => run_query(&fed, &clusters, &from, &to, instant, &aggregate, step.as_deref(), &output, &expr).await,
            Err(e) => Err(e),
        },
        Command::MacosExporter { listen, interval_ms, node, powermetrics } => macos_exporter::run(listen, interval_ms, node, powermetrics).await,
        Command::Check { config } => match load(&config) {
            Ok(fed) => check(&fed).await,
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
}

async fn serve(fed: Arc<Federation>, listen: SocketAddr) -> Result<i32, String> {
    let app = axum::Router::new().fallback(
        move |method: axum::http::Method, uri: axum::http::Uri, headers: axum::http::HeaderMap, body: axum::body::Bytes| {
            let fed = fed.clone();
            async move {
                let headers = headers.iter().filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str(), v)));
                let req = ApiRequest::new(method.as_str(), uri.path(), uri.query().unwrap_or(""), body).with_headers(headers);
                let resp = api::handle(&fed, req).await;
                (
                    axum::http::StatusCode::from_u16(resp.status).unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR),
                    [(axum::http::header::CONTENT_TYPE, resp.content_type), (axum::http::header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")],
                    resp.body,
                )
            }
        },
    );
    // Twice the API limit: bodies just over it reach `api::handle`, which names the limit.
    let app = app.layer(axum::extract::DefaultBodyLimit::max(2 * api::MAX_BODY_BYTES));
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    eprintln!("fleetscope API listening on http://{addr}/api/v1/clusters");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| e.to_string())?;
    Ok(0)
}

fn parse_when(v: &str, relative_to: i64) -> Result<i64, String> {
    if v == "now" {
        return Ok(relative_to);
    }
    if let Some(ms) = crate::query::metrics::parse_duration_ms(v) {
        return Ok(relative_to - ms);
    }
    api::parse_time(v).map_err(|e| e.to_string())
}

#[allow(clippy::too_many_arguments)]
async fn run_query(
    fed: &Federation,
    clusters: &str,
    from: &str,
    to: &str,
    instant: bool,
    aggregate: &str,
    step: Option<&str>,
    output: &str,
    expr: &str,
) -> Result<i32, String> {
    let now = chrono::Utc::now().timestamp_millis();
    let to_ms = parse_when(to, now)?;
    let from_ms = parse_when(from, to_ms)?;
    let json = if expr.trim_start().starts_with('{') {
        expr.to_owned()
    } else {
        let mut j = serde_json::json!({"queryType": "metrics", "expr": expr, "instant": instant, "aggregate": aggregate, "clusters": clusters.split(',').filter(|s| !s.is_empty()).collect::<Vec<_>>()});
        if let Some(s) = step {
            j["step"] = serde_json::json!(s);
        }
        j.to_string()
    };
    let time_range = TimeRange::new(from_ms, to_ms).map_err(|e| e.to_string())?;
    let env = QueryEnvelope { ref_id: "A".into(), time_range, interval_ms: 0, max_data_points: 1000 };
    let req = query::parse("", json.as_bytes(), env).map_err(|e| FleetError::from(e).to_string())?;
    let frames = federation::execute(fed, &req).await.map_err(|e| e.to_string())?;
    if output == "json" {
        println!("{}", String::from_utf8_lossy(&crate::frames::json::frames_to_json_bytes(&frames)));
    } else {
        print_table(&frames);
    }
    Ok(0)
}

/// One line per series: labels, point count, last value; notices after.
fn print_table(frames: &[Frame]) {
    for f in frames {
        if let Some(meta) = &f.meta {
            for n in &meta.notices {
                println!("! {}", n.text);
            }
        }
        let Some(value) = f.fields.iter().find(|fl| fl.name == "Value") else { continue };
        let labels: Vec<String> = value.labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
        let (n, last) = match &value.values {
            FieldValues::F64(v) => (v.len(), v.last().copied()),
            _ => (value.len(), None),
        };
        println!("{{{}}}  points={n}  last={}", labels.join(", "), last.map(crate::frames::prometheus::format_value).unwrap_or_default());
    }
}

async fn check(fed: &Federation) -> Result<i32, String> {
    let report = health::check(fed).await;
    for c in &report.clusters {
        // e.g. `prometheus ok, loki ok, kubernetes QUERY_TIMEOUT`
        let backends: Vec<String> =
            c.checks.iter().map(|b| format!("{} {}", b.backend.as_str(), b.error_code.map(|e| e.as_str()).unwrap_or("ok"))).collect();
        println!(
            "{:<20} {:<8} {:>6} ms  {}[{}]  {}",
            c.cluster_name,
            format!("{:?}", c.status).to_uppercase(),
            c.latency_ms,
            c.version.as_deref().map(|v| format!("prometheus {v}  ")).unwrap_or_default(),
            backends.join(", "),
            c.error.as_deref().unwrap_or("")
        );
    }
    println!("{}", report.message);
    Ok(if report.status == Overall::Ok { 0 } else { 1 })
}
