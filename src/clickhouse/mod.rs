//! ClickHouse as a long-term metrics store (seed 004): the OpenTelemetry
//! Collector's ClickHouse exporter tables (`otel_metrics_gauge`, `_sum`,
//! `_histogram`), one store serving many clusters, each point carrying the
//! cluster's id in an attribute (default `cluster_id`).
//!
//! * One SQL statement per store and query, grouped by the cluster attribute —
//!   never one per cluster. The statement runs once (a shared future) and every
//!   cluster of the store still gets its own outcome through
//!   [`Federation::fan_out`] (limits, timeout, breaker, status): a store that is
//!   down fails each of its clusters (`CLUSTER_UNREACHABLE`), clusters of other
//!   stores or sources are unaffected (partial results as everywhere else).
//! * Values only as bound parameters (`sql.rs`); table names come from the
//!   settings and are validated identifiers.
//! * Answers are `ArrowStream` (`decode.rs`), uncompressed (ClickHouse
//!   compresses Arrow with lz4_frame by default; the arrow-ipc reader here is
//!   built without codecs), strings as Utf8.
//! * Series, labels, `cluster`/`cluster_id`, cross-cluster `aggregate` and
//!   frames are the Prometheus path's (`federation::aggregate`,
//!   `frames::prometheus::series_frames`), so panels and alert rules do not
//!   care which source answered.
//!
//! Surprises of the upstream: ClickHouse answers most query errors with HTTP
//! 500 and `Code: N. DB::Exception: …` in a plain-text body (the code also in
//! `X-ClickHouse-Exception-Code`); the exporter's `TimeUnix` is `DateTime64(9)`
//! (older exporter versions used `DateTime` for sums — `toDateTime64` covers
//! both); map lookups of a missing key answer `''`, which is exactly PromQL's
//! "absent label equals empty" rule.

pub mod decode;
pub mod query;
pub mod sql;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::FutureExt;
use futures::future::{BoxFuture, Shared};

use crate::error::{ErrorCode, FleetError};
use crate::federation::health::BackendHealth;
use crate::federation::status::{self, ClusterStatus};
use crate::federation::{ClusterOutcome, Federation, aggregate};
use crate::frames::prometheus::{self as conv, Series, SeriesFrameOptions};
use crate::frames::{Frame, FrameMeta};
use crate::registry::{Backend, ClickhouseBinding, ClickhouseStore, Cluster, Registry};
use crate::upstream::UpstreamError;
use crate::upstream::http::UpstreamClient;
pub use query::ChQuery;
use query::Function;
use sql::Statement;

/// The HTTP clients of a datasource instance's stores, built once.
#[derive(Debug, Default, Clone)]
pub struct Stores {
    clients: HashMap<String, Result<UpstreamClient, UpstreamError>>,
}

impl Stores {
    pub fn new(registry: &Registry) -> Self {
        let clients = registry.clickhouse_stores().iter().map(|s| (s.id.clone(), UpstreamClient::new(&s.endpoint, &registry.limits))).collect();
        Stores { clients }
    }

    pub fn client(&self, store: &str) -> Result<UpstreamClient, FleetError> {
        match self.clients.get(store) {
            Some(Ok(c)) => Ok(c.clone()),
            Some(Err(e)) => Err(FleetError::new(e.code(), format!("ClickHouse store {store:?}: {e}"))),
            None => Err(FleetError::new(ErrorCode::ClickhouseNotAvailable, format!("no ClickHouse store {store:?} is configured"))),
        }
    }
}

/// Settings sent with every statement: read-only, the server stops at our
/// timeout and at the store's result caps, Arrow without compression, strings
/// as strings.
fn request_params(store: &ClickhouseStore, stmt: &Statement, format: &str, timeout: Duration) -> Vec<(String, String)> {
    let mut p: Vec<(String, String)> = vec![
        ("default_format".into(), format.into()),
        ("readonly".into(), "1".into()),
        ("max_execution_time".into(), timeout.as_secs().max(1).to_string()),
        ("max_result_rows".into(), store.max_result_rows.to_string()),
        ("max_result_bytes".into(), store.max_result_bytes.to_string()),
        ("result_overflow_mode".into(), "throw".into()),
        ("output_format_arrow_compression_method".into(), "none".into()),
        ("output_format_arrow_string_as_string".into(), "1".into()),
        ("output_format_arrow_low_cardinality_as_dictionary".into(), "0".into()),
    ];
    p.extend(stmt.params.iter().map(|(k, v)| (format!("param_{k}"), v.clone())));
    p
}

/// Run one statement; the body is the answer in `format`.
pub async fn run_statement(
    client: &UpstreamClient,
    store: &ClickhouseStore,
    stmt: &Statement,
    format: &str,
    timeout: Duration,
) -> Result<Bytes, UpstreamError> {
    client.post_body("", &request_params(store, stmt, format, timeout), Bytes::from(stmt.sql.clone())).await
}

/// A store-level failure as one cluster's error.
fn for_cluster(cluster: &Cluster, store: &str, e: &FleetError) -> FleetError {
    FleetError::new(e.code, format!("{} (clickhouse store {store:?}): {}", cluster.name, e.message))
}

/// Run `ask` once per store (with the cluster values of that store's targets)
/// and hand every target cluster its part through `fan_out`.
pub async fn per_store<T, R, A, X>(fed: &Federation, targets: &[Arc<Cluster>], ask: A, extract: X) -> Vec<ClusterOutcome<R>>
where
    T: Send + Sync + 'static,
    R: Send + 'static,
    A: Fn(Arc<ClickhouseStore>, UpstreamClient, Vec<String>) -> BoxFuture<'static, Result<T, FleetError>>,
    X: Fn(&T, &ClickhouseBinding) -> R + Send + Sync + 'static,
{
    type Answer<T> = Shared<BoxFuture<'static, Result<Arc<T>, FleetError>>>;
    let mut values: HashMap<String, Vec<String>> = HashMap::new();
    for c in targets {
        if let Some(b) = &c.clickhouse {
            values.entry(b.store.clone()).or_default().push(b.cluster_value.clone());
        }
    }
    let mut answers: HashMap<String, Answer<T>> = HashMap::new();
    for (store_id, mut vals) in values {
        vals.sort();
        vals.dedup();
        let fut: BoxFuture<'static, Result<Arc<T>, FleetError>> =
            match (fed.registry.clickhouse_store(&store_id).cloned(), fed.clickhouse.client(&store_id)) {
                (Some(store), Ok(client)) => ask(store, client, vals).map(|r| r.map(Arc::new)).boxed(),
                (None, _) => {
                    let e = FleetError::new(ErrorCode::ClickhouseNotAvailable, format!("no ClickHouse store {store_id:?} is configured"));
                    futures::future::ready(Err(e)).boxed()
                }
                (_, Err(e)) => futures::future::ready(Err(e)).boxed(),
            };
        answers.insert(store_id, fut.shared());
    }
    let extract = Arc::new(extract);
    fed.fan_out(targets, Backend::Clickhouse, |cluster| {
        let binding = cluster.clickhouse.clone();
        let answer = binding.as_ref().and_then(|b| answers.get(&b.store).cloned());
        let extract = extract.clone();
        async move {
            let Some(b) = binding else {
                return Err(FleetError::new(
                    ErrorCode::ClickhouseNotAvailable,
                    format!("{}: no ClickHouse store is configured for this cluster (clusters[].clickhouse)", cluster.name),
                ));
            };
            let answer = answer.ok_or_else(|| FleetError::internal("ClickHouse answer missing"))?;
            match answer.await {
                Ok(t) => Ok(extract(&t, &b)),
                Err(e) => Err(for_cluster(&cluster, &b.store, &e)),
            }
        }
    })
    .await
}

/// Series of one store, handed out per cluster value (moved out for the last
/// cluster asking, copied before that — two clusters may share a value).
struct SeriesAnswer {
    by_value: Mutex<HashMap<String, (usize, Vec<Series>)>>,
}

impl SeriesAnswer {
    fn new(mut series: decode::ByCluster<Series>, values: &[String], takers: &HashMap<String, usize>) -> Self {
        let by_value = values.iter().map(|v| (v.clone(), (takers.get(v).copied().unwrap_or(1), series.remove(v).unwrap_or_default()))).collect();
        SeriesAnswer { by_value: Mutex::new(by_value) }
    }

    fn take(&self, value: &str) -> Vec<Series> {
        let Ok(mut map) = self.by_value.lock() else { return Vec::new() };
        match map.get_mut(value) {
            Some((left, series)) if *left > 1 => {
                *left -= 1;
                series.clone()
            }
            Some(_) => map.remove(value).map(|(_, s)| s).unwrap_or_default(),
            None => Vec::new(),
        }
    }
}

/// Histogram series → PromQL `histogram_quantile(φ, …)` series.
fn quantile_series(q: f64, hs: Vec<decode::HistogramSeries>) -> Vec<Series> {
    hs.into_iter()
        .map(|h| {
            let values = h.counts.iter().map(|c| decode::histogram_quantile(q, &h.bounds, c)).collect();
            Series { labels: h.labels, times_ms: h.times_ms, values }
        })
        .collect()
}

/// Ask every target cluster's store: one statement per store.
pub async fn fetch(fed: &Federation, targets: &[Arc<Cluster>], q: &ChQuery) -> Vec<ClusterOutcome<Vec<Series>>> {
    let mut takers: HashMap<String, usize> = HashMap::new();
    for c in targets {
        if let Some(b) = &c.clickhouse {
            *takers.entry(format!("{}\u{0}{}", b.store, b.cluster_value)).or_default() += 1;
        }
    }
    let timeout = fed.registry.limits.timeout;
    let q2 = q.clone();
    per_store(
        fed,
        targets,
        move |store, client, values| {
            let q = q2.clone();
            let takers: HashMap<String, usize> =
                values.iter().map(|v| (v.clone(), takers.get(&format!("{}\u{0}{v}", store.id)).copied().unwrap_or(1))).collect();
            async move {
                let stmt = match &q.sql {
                    Some(_) => sql::raw_statement(&store, &q, &values).map_err(FleetError::invalid_query)?,
                    None => sql::metrics_statement(&store, &q, &values),
                };
                let body =
                    run_statement(&client, &store, &stmt, "ArrowStream", timeout).await.map_err(|e| FleetError::new(e.code(), e.to_string()))?;
                // Decoding a large answer is CPU work: off the async workers.
                let phi = q.quantile;
                let histogram = q.function == Function::HistogramQuantile;
                let raw_sql = q.sql.is_some();
                let mut decoded = tokio::task::spawn_blocking(move || -> Result<decode::ByCluster<Series>, String> {
                    if raw_sql {
                        decode::table_series(&body)
                    } else if histogram {
                        Ok(decode::histograms(&body)?.into_iter().map(|(k, v)| (k, quantile_series(phi, v))).collect())
                    } else {
                        decode::series(&body)
                    }
                })
                .await
                .map_err(|e| FleetError::internal(format!("decoding task failed: {e}")))?
                .map_err(|e| FleetError::new(ErrorCode::UpstreamError, format!("invalid response: {e}")))?;
                if q.function == Function::Raw && q.group_by.is_none() && !raw_sql {
                    // PromQL keeps the metric name on plain selectors only.
                    for s in decoded.values_mut().flatten() {
                        s.labels.insert("__name__".into(), q.metric.clone());
                    }
                }
                Ok::<_, FleetError>(SeriesAnswer::new(decoded, &values, &takers))
            }
            .boxed()
        },
        |answer: &SeriesAnswer, b: &ClickhouseBinding| answer.take(&b.cluster_value),
    )
    .await
}

/// Run a ClickHouse metrics query and build the same frames as PromQL's.
pub async fn run(fed: &Federation, ref_id: &str, clusters: &[String], q: &ChQuery) -> Result<Vec<Frame>, FleetError> {
    let targets = fed.registry.targets(clusters)?;
    let outcomes = fetch(fed, &targets, q).await;
    to_frames(outcomes, ref_id, q)
}

/// Frames from per-cluster outcomes: fails only when every cluster failed.
pub fn to_frames(outcomes: Vec<ClusterOutcome<Vec<Series>>>, ref_id: &str, q: &ChQuery) -> Result<Vec<Frame>, FleetError> {
    if let Some(err) = status::all_failed(&outcomes) {
        return Err(err);
    }
    let statuses: Vec<ClusterStatus> = status::statuses(&outcomes);
    let notices = status::failure_notices(&statuses);
    let per_cluster: Vec<(Arc<Cluster>, Vec<Series>)> = outcomes.into_iter().filter_map(|o| o.result.ok().map(|s| (o.cluster, s))).collect();
    let series = aggregate::combine(per_cluster, q.aggregate);
    let opts = SeriesFrameOptions {
        ref_id,
        instant: false,
        legend_format: q.legend_format.as_deref(),
        step_ms: q.step_ms,
        executed_query: q.describe(),
        links: Vec::new(),
    };
    let mut frames = conv::series_frames(series, &opts);
    if let Some(first) = frames.first_mut() {
        let meta = first.meta.get_or_insert_with(FrameMeta::default);
        meta.notices = notices;
        meta.custom = Some(serde_json::json!({ "source": "clickhouse", "aggregate": q.aggregate, "clusters": statuses }));
    }
    Ok(frames)
}

/// Health: every store answers and holds the exporter's three tables; each
/// cluster with a store gets a `clickhouse` check (one probe per store).
pub async fn health(fed: &Federation, targets: &[Arc<Cluster>]) -> Vec<(String, BackendHealth)> {
    let targets: Vec<Arc<Cluster>> = targets.iter().filter(|c| c.clickhouse.is_some()).cloned().collect();
    let timeout = fed.registry.limits.timeout;
    let outcomes = per_store(
        fed,
        &targets,
        move |store, client, _values| {
            async move {
                let stmt = sql::health_statement(&store);
                let body =
                    run_statement(&client, &store, &stmt, "TabSeparated", timeout).await.map_err(|e| FleetError::new(e.code(), e.to_string()))?;
                let rows = decode::tsv_rows(&body);
                let tables = rows.first().and_then(|r| r.get(1)).and_then(|t| t.parse::<u64>().ok()).unwrap_or(0);
                if tables < 3 {
                    return Err(FleetError::new(
                        ErrorCode::UpstreamError,
                        format!(
                            "database {:?} lacks the exporter's tables (found {tables} of {}, {}, {})",
                            store.database, store.gauge_table, store.sum_table, store.histogram_table
                        ),
                    ));
                }
                Ok::<_, FleetError>(rows.first().and_then(|r| r.first()).cloned().unwrap_or_default())
            }
            .boxed()
        },
        |version: &String, _b: &ClickhouseBinding| version.clone(),
    )
    .await;
    outcomes
        .iter()
        .map(|o| {
            let s = o.status();
            (
                s.cluster_id,
                BackendHealth {
                    backend: Backend::Clickhouse,
                    status: s.status,
                    error_code: s.error_code,
                    error: s.error,
                    latency_ms: s.query_time_ms,
                },
            )
        })
        .collect()
}
