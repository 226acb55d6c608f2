//! The ClickHouse store's executor (seed 004): one SQL statement per store
//! and query, grouped by the cluster attribute — never one per cluster.
//!
//! * The statement runs once (a shared future) and every cluster of the store
//!   still gets its own outcome through [`Federation::fan_out`] (limits,
//!   timeout, breaker, status): a store that is down fails each of its clusters
//!   (`CLUSTER_UNREACHABLE`), clusters of other stores or sources are
//!   unaffected (partial results as everywhere else).
//! * Series, labels, `cluster`/`cluster_id`, cross-cluster `aggregate` and
//!   frames are the Prometheus path's (`federation::aggregate`,
//!   `frames::prometheus::prometheus_frames`): `__name__` on plain selectors,
//!   the value field named after it, `displayNameFromDS` by Grafana's legend
//!   rules (label-less series are named after the equivalent PromQL,
//!   [`ChQuery::promql`]), the step as the time field's `interval`, notices on
//!   every frame — so panels, overrides and alert rules do not care which
//!   source answered.
//! * Answers are cached like the PromQL path's (`crate::cache`, the seed's
//!   TTLs, Redis level included): one entry per store and statement
//!   (`crate::clickhouse::cache_key`: the store's id, URL, user and database with the
//!   statement text and every bound parameter), so no two stores, cluster sets
//!   or questions share an entry. The entry is the `ArrowStream` body; a hit
//!   decodes it again (cheap: `benches/clickhouse_convert.rs`).
//!
//! The backend's own pieces (statements, decoding, clients) are
//! `crate::clickhouse`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};

use super::health::BackendHealth;
use super::status::{self, ClusterStatus};
use super::{ClusterOutcome, Federation, aggregate};
use crate::clickhouse::{ArrowAnswer, cache_key, decode, run_statement, sql};
use crate::error::{ErrorCode, FleetError};
use crate::frames::prometheus::{self as conv, PromFrameOptions, ResultType, Series};
use crate::frames::{Frame, FrameMeta};
use crate::query::clickhouse::{ChQuery, Function};
use crate::registry::{Backend, ClickhouseBinding, ClickhouseStore, Cluster};
use crate::upstream::http::UpstreamClient;

/// A store-level failure as one cluster's error.
fn for_cluster(cluster: &Cluster, store: &str, e: &FleetError) -> FleetError {
    FleetError::new(e.code, format!("{} (clickhouse store {store:?}): {}", cluster.name, e.message))
}

/// A look-up statement (editor lists, the newest point) run once per store and
/// answered as text rows (`TabSeparated`), every target cluster getting its
/// store's rows. `statement` builds it from the store and the cluster values
/// of that store's targets.
pub async fn rows<S>(fed: &Federation, targets: &[Arc<Cluster>], statement: S) -> Vec<ClusterOutcome<Vec<Vec<String>>>>
where
    S: Fn(&ClickhouseStore, &[String]) -> sql::Statement,
{
    let timeout = fed.registry.limits.timeout;
    per_store(
        fed,
        targets,
        |store, client, values| {
            let stmt = statement(&store, &values);
            async move {
                let body =
                    run_statement(&client, &store, &stmt, "TabSeparated", timeout).await.map_err(|e| FleetError::new(e.code(), e.to_string()))?;
                Ok::<_, FleetError>(decode::tsv_rows(&body))
            }
            .boxed()
        },
        |rows: &Vec<Vec<String>>, _| rows.clone(),
    )
    .await
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

/// Ask every target cluster's store: one statement per store, answered from
/// the cache when the same statement ran on the same store within its TTL.
pub async fn fetch(fed: &Federation, targets: &[Arc<Cluster>], q: &ChQuery) -> Vec<ClusterOutcome<Vec<Series>>> {
    let mut takers: HashMap<String, usize> = HashMap::new();
    for c in targets {
        if let Some(b) = &c.clickhouse {
            *takers.entry(format!("{}\u{0}{}", b.store, b.cluster_value)).or_default() += 1;
        }
    }
    let timeout = fed.registry.limits.timeout;
    let q2 = q.clone();
    let cache = fed.cache.clone();
    per_store(
        fed,
        targets,
        move |store, client, values| {
            let q = q2.clone();
            let cache = cache.clone();
            let takers: HashMap<String, usize> =
                values.iter().map(|v| (v.clone(), takers.get(&format!("{}\u{0}{v}", store.id)).copied().unwrap_or(1))).collect();
            async move {
                let stmt = match &q.sql {
                    Some(_) => sql::raw_statement(&store, &q, &values).map_err(FleetError::invalid_query)?,
                    None => sql::metrics_statement(&store, &q, &values),
                };
                let (key, class) = cache_key(&store, &stmt, q.start_ms, q.end_ms, q.step_ms);
                let ask = async {
                    let body =
                        run_statement(&client, &store, &stmt, "ArrowStream", timeout).await.map_err(|e| FleetError::new(e.code(), e.to_string()))?;
                    Ok::<_, FleetError>(ArrowAnswer(body))
                };
                let body = cache.get_or_fetch_shared(key, class, ask).await?.0.clone();
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

/// Run a ClickHouse metrics query and build the same frames as PromQL's
/// (the step resolved for the targets' scrape interval, as PromQL's is).
pub async fn run(fed: &Federation, ref_id: &str, clusters: &[String], q: &ChQuery) -> Result<Vec<Frame>, FleetError> {
    let targets = fed.registry.targets(clusters)?;
    let q = q.with_scrape_interval(fed.registry.scrape_interval_for(&targets));
    let outcomes = fetch(fed, &targets, &q).await;
    to_frames(outcomes, ref_id, &q)
}

/// Series → the Prometheus path's frames for the same question: dataplane
/// `timeseries-multi`, the value field named after `__name__` (else `Value`),
/// `displayNameFromDS` by Grafana's legend rules with [`ChQuery::promql`] as
/// the expression, the step as the time field's `interval`. No series → one
/// empty typed frame (alerting's "no data").
pub fn frames(series: Vec<Series>, ref_id: &str, q: &ChQuery) -> Vec<Frame> {
    let expr = q.promql();
    let opts = PromFrameOptions {
        ref_id,
        expr: &expr,
        legend_format: q.legend_format.as_deref(),
        step_ms: q.step_ms,
        added_labels: aggregate::ADDED_LABELS,
    };
    let frames = conv::prometheus_frames(series, ResultType::Matrix, &opts);
    if frames.is_empty() { vec![conv::empty_frame(ref_id, ResultType::Matrix)] } else { frames }
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
    let mut frames = frames(series, ref_id, q);
    // As the PromQL path: notices on every frame, the rest on the first.
    for f in &mut frames {
        f.meta.get_or_insert_with(FrameMeta::default).notices = notices.clone();
    }
    let first = frames[0].meta.get_or_insert_with(FrameMeta::default);
    first.executed_query_string = Some(q.describe());
    first.custom = Some(serde_json::json!({ "resultType": "matrix", "source": "clickhouse", "aggregate": q.aggregate, "clusters": statuses }));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::{QueryEnvelope, TimeRange};

    fn query(json: &str) -> ChQuery {
        let env = QueryEnvelope { ref_id: "A".into(), time_range: TimeRange::new(0, 3_600_000).unwrap(), interval_ms: 15_000, max_data_points: 1000 };
        ChQuery::parse(json.as_bytes(), &env).unwrap()
    }

    #[test]
    fn frames_have_the_prometheus_paths_shape() {
        let q = query(r#"{"metric": "up", "legendFormat": "__auto"}"#);
        let labels: conv::Labels =
            [("__name__", "up"), ("cluster", "x"), ("cluster_id", "x"), ("job", "j")].map(|(k, v)| (k.to_owned(), v.to_owned())).into();
        let frames = frames(vec![Series { labels: labels.clone(), times_ms: vec![0, 15_000], values: vec![1.0, 2.0] }], "A", &q);
        assert_eq!(frames[0].fields[1].name, "up");
        assert_eq!(frames[0].fields[1].labels, labels);
        assert_eq!(frames[0].fields[0].config.as_ref().and_then(|c| c.interval), Some(15_000.0));
        assert_eq!(frames[0].meta.as_ref().and_then(|m| m.frame_type.as_deref()), Some("timeseries-multi"));
        let empty = super::frames(Vec::new(), "A", &q);
        assert_eq!((empty.len(), empty[0].fields.len()), (1, 0));
    }
}
