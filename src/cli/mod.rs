//! CLI mode: the same registry, engine and API as plugin mode, started by hand.
//!
//! * `serve`  — the HTTP resource API on a socket (what CallResource answers in Grafana),
//!   with the service's own auth, TLS, probes and metrics (`serve/`);
//! * `query`  — run one PromQL query across clusters and print it;
//! * `check`  — the health check; exit status 1 unless every cluster is healthy.

pub mod macos_exporter;
mod serve;

pub use serve::validate_settings as validate_serve_settings;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::api;
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
    /// Serve the HTTP resource API (/api/v1/...) standalone: auth, TLS, probes, metrics (docs/operations.md).
    Serve(serve::ServeArgs),
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
    MacosExporter(macos_exporter::ExporterArgs),
    /// Check every cluster's health.
    Check {
        #[arg(long, env = "FLEETSCOPE_CONFIG")]
        config: PathBuf,
    },
}

/// The federation of a config file, once every discovery source has looked
/// (or the query timeout passed).
async fn load(config: &PathBuf) -> Result<std::sync::Arc<Federation>, String> {
    let text = std::fs::read_to_string(config).map_err(|e| format!("cannot read {}: {e}", config.display()))?;
    let registry = Registry::from_yaml(&text).map_err(|e| format!("{}: {e}", config.display()))?;
    let within = registry.limits.timeout;
    let live = crate::discovery::Live::new(registry);
    Ok(live.first_looks(within).await)
}

/// Run the CLI; returns the exit code.
pub async fn run(cli: Cli) -> i32 {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .try_init();
    let result = match cli.command {
        Command::Serve(args) => serve::run(args).await,
        Command::Query { config, clusters, from, to, instant, aggregate, step, output, expr } => match load(&config).await {
            Ok(fed) => run_query(&fed, &clusters, &from, &to, instant, &aggregate, step.as_deref(), &output, &expr).await,
            Err(e) => Err(e),
        },
        Command::MacosExporter(args) => macos_exporter::run(args).await,
        Command::Check { config } => match load(&config).await {
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

fn parse_when(v: &str, relative_to: i64) -> Result<i64, String> {
    if v == "now" {
        return Ok(relative_to);
    }
    if let Some(ms) = crate::model::duration::parse_duration_ms(v) {
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
        // The value field follows `Time`; it is named after the metric (`up`) or `Value`.
        let Some(value) = f.fields.get(1) else { continue };
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
