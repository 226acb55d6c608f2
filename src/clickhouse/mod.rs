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
//!   `frames::prometheus::prometheus_frames`): `__name__` on plain selectors,
//!   the value field named after it, `displayNameFromDS` by Grafana's legend
//!   rules (label-less series are named after the equivalent PromQL,
//!   [`ChQuery::promql`]), the step as the time field's `interval`, notices on
//!   every frame — so panels, overrides and alert rules do not care which
//!   source answered.
//! * Answers are cached like the PromQL path's (`crate::cache`, the seed's
//!   TTLs, Redis level included): one entry per store and statement — the key
//!   hashes the store's id, URL, user and database with the statement text and
//!   every bound parameter (cluster values, window, step), so no two stores,
//!   cluster sets or questions share an entry. The entry is the `ArrowStream`
//!   body; a hit decodes it again (cheap: `benches/clickhouse_convert.rs`).
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

use crate::cache::{CacheClass, SharedCodec, Weigh, key_hash};
use crate::error::{ErrorCode, FleetError};
use crate::federation::health::BackendHealth;
use crate::federation::status::{self, ClusterStatus};
use crate::federation::{ClusterOutcome, Federation, aggregate};
use crate::frames::prometheus::{self as conv, PromFrameOptions, ResultType, Series};
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
        // ClickHouse 26.x rewrites `mapContains(ResourceAttributes, …)` (the
        // cluster attribute, also in WHERE and GROUP BY) to the map's `.keys`
        // subcolumn and then, with a lambda over `Attributes` in the same
        // GROUP BY, fails with "Not found column ResourceAttributes.keys in
        // block" depending on the parts read. Reading the whole map is what
        // the statement asks for anyway.
        ("optimize_functions_to_subcolumns".into(), "0".into()),
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

/// One store's `ArrowStream` answer to one statement, as cached.
#[derive(Debug, Clone)]
pub struct ArrowAnswer(pub Bytes);

impl Weigh for ArrowAnswer {
    fn weigh(&self) -> usize {
        self.0.len()
    }
}

impl SharedCodec for ArrowAnswer {
    fn encode(&self) -> Vec<u8> {
        self.0.to_vec()
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        Some(ArrowAnswer(Bytes::copy_from_slice(bytes)))
    }
}

/// The cache entry of a statement on a store: everything that decides the
/// answer is in the key — the store (id, URL, user, database), the statement
/// text and every bound parameter (metric, matchers, cluster values, window,
/// step). The seed's TTL classes: a one-point question (`start == end`, the
/// summary) is an instant query, anything else a range of its span.
pub fn cache_key(store: &ClickhouseStore, stmt: &Statement, start_ms: i64, end_ms: i64, step_ms: i64) -> (String, CacheClass) {
    let user = store.endpoint.credentials.basic_auth.as_ref().map(|(u, _)| u.as_str()).unwrap_or("");
    let mut identity = format!("{}\u{0}{}\u{0}{user}\u{0}{}\u{0}{}", store.id, store.endpoint.display_url(), store.database, stmt.sql);
    for (k, v) in &stmt.params {
        identity.push('\u{0}');
        identity.push_str(k);
        identity.push('=');
        identity.push_str(v);
    }
    let hash = key_hash(&identity);
    if start_ms == end_ms {
        (format!("clickhouse:instant:{hash}:{}:{end_ms}", store.id), CacheClass::Instant)
    } else {
        (format!("clickhouse:range:{hash}:{}:{start_ms}:{end_ms}:{step_ms}", store.id), CacheClass::Range { span_ms: end_ms - start_ms })
    }
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
    use crate::query::metrics::MetricsQuery;
    use crate::query::{QueryEnvelope, TimeRange};

    fn registry() -> Registry {
        Registry::from_yaml(
            "jsonData:\n  clickhouse:\n    - { id: a, url: \"http://ch-a:8123\" }\n    - { id: b, url: \"http://ch-b:8123\" }\n    - { id: c, url: \"http://ch-a:8123\", database: other }\n",
        )
        .unwrap()
    }

    fn env(from_ms: i64, to_ms: i64, interval_ms: i64) -> QueryEnvelope {
        QueryEnvelope { ref_id: "A".into(), time_range: TimeRange::new(from_ms, to_ms).unwrap(), interval_ms, max_data_points: 1000 }
    }

    fn query(json: &str) -> ChQuery {
        ChQuery::parse(json.as_bytes(), &env(0, 3_600_000, 15_000)).unwrap()
    }

    #[test]
    fn cache_keys_never_collide_across_stores_clusters_or_params() {
        let reg = registry();
        let q = query(r#"{"metric": "m"}"#);
        let key = |store: usize, q: &ChQuery, values: &[&str]| {
            let values: Vec<String> = values.iter().map(|v| (*v).to_owned()).collect();
            let st = sql::metrics_statement(&reg.clickhouse_stores()[store], q, &values);
            cache_key(&reg.clickhouse_stores()[store], &st, q.start_ms, q.end_ms, q.step_ms).0
        };
        let base = key(0, &q, &["east"]);
        assert_eq!(base, key(0, &q, &["east"]), "the same question is the same entry");
        let others = [
            key(1, &q, &["east"]),                                                      // another store
            key(2, &q, &["east"]),                                                      // same URL, another database
            key(0, &q, &["west"]),                                                      // another cluster
            key(0, &q, &["east", "west"]),                                              // another cluster set
            key(0, &query(r#"{"metric": "m2"}"#), &["east"]),                           // another metric
            key(0, &query(r#"{"metric": "m", "matchers": "{a=\"b\"}"}"#), &["east"]),   // matchers
            key(0, &query(r#"{"metric": "m", "function": "rate"}"#), &["east"]),        // function
            key(0, &query(r#"{"metric": "m", "step": "5m"}"#), &["east"]),              // step
            key(0, &ChQuery { start_ms: q.start_ms - 15_000, ..q.clone() }, &["east"]), // window
        ];
        for (i, k) in others.iter().enumerate() {
            assert_ne!(&base, k, "case {i}");
        }
        let st = sql::metrics_statement(&reg.clickhouse_stores()[0], &q, &["east".to_owned()]);
        assert_eq!(cache_key(&reg.clickhouse_stores()[0], &st, 5, 5, 1).1, CacheClass::Instant);
        assert_eq!(cache_key(&reg.clickhouse_stores()[0], &st, 0, 7_200_000, 1).1, CacheClass::Range { span_ms: 7_200_000 });
    }

    #[test]
    fn promql_twin_names_what_prometheus_would_be_asked() {
        assert_eq!(query(r#"{"metric": "up"}"#).promql(), "up");
        assert_eq!(query(r#"{"metric": "m", "matchers": "{a=\"x\", b=~\"y.*\"}", "function": "rate"}"#).promql(), r#"rate(m{a="x", b=~"y.*"}[15s])"#);
        assert_eq!(query(r#"{"metric": "m", "groupBy": [], "reduce": "sum"}"#).promql(), "sum(m)");
        assert_eq!(query(r#"{"metric": "m", "groupBy": ["g"], "reduce": "max", "function": "avg"}"#).promql(), "max by (g) (avg_over_time(m[15s]))");
        assert_eq!(
            query(r#"{"metric": "h", "function": "histogram_quantile", "quantile": 0.9, "groupBy": ["model"]}"#).promql(),
            "histogram_quantile(0.9, sum by (le, model) (rate(h_bucket[15s])))"
        );
    }

    #[test]
    fn step_and_window_are_the_promql_paths() {
        // 24 h at 1000 points: Grafana rounds 86.4 s to 1 min; a 15 s interval, a fixed
        // min step, $__rate_interval and a slower scrape interval alike.
        for (from, to, interval, step) in [
            (0, 86_400_000, 15_000, None),
            (7_000, 3_607_000, 15_000, None),
            (0, 3_600_000, 15_000, Some("2m")),
            (0, 3_600_000, 15_000, Some("$__rate_interval")),
            (0, 3_600_000, 1_000, Some("$__interval")),
        ] {
            let step_json = step.map(|s| format!(r#", "step": "{s}""#)).unwrap_or_default();
            let e = env(from, to, interval);
            for scrape in [15_000, 60_000] {
                let prom =
                    MetricsQuery::parse(format!(r#"{{"expr": "up"{step_json}}}"#).as_bytes(), &e).unwrap().with_scrape_interval(scrape).unwrap();
                let ch = ChQuery::parse(format!(r#"{{"metric": "up"{step_json}}}"#).as_bytes(), &e).unwrap().with_scrape_interval(scrape);
                assert_eq!(
                    (ch.step_ms, ch.start_ms, ch.end_ms),
                    (prom.step_ms, prom.start_ms, prom.end_ms),
                    "{from}..{to} {interval} {step:?} {scrape}"
                );
            }
        }
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
