//! ClickHouse as a long-term metrics store (seed 004), the backend's own
//! pieces (the query model and its macro grammar are `crate::query::clickhouse`
//! and `crate::query::sql_macros`, like every kind's): the statements (`sql.rs`, values only
//! as bound parameters; table names come from the settings and are validated
//! identifiers), the answers (`decode.rs`), the store clients ([`Stores`]), one
//! statement's HTTP call ([`run_statement`]) and its cache entry
//! ([`cache_key`]). The fan-out over clusters, the series and the frames are the
//! executor's, `crate::federation::clickhouse`.
//!
//! The store holds the OpenTelemetry Collector's ClickHouse exporter tables
//! (`otel_metrics_gauge`, `_sum`, `_histogram`): one store serves many
//! clusters, each point carrying the cluster's id in an attribute (default
//! `cluster_id`). Answers are `ArrowStream` (`decode.rs`), uncompressed
//! (ClickHouse compresses Arrow with lz4_frame by default; the arrow-ipc reader
//! here is built without codecs), strings as Utf8.
//!
//! Surprises of the upstream: ClickHouse answers most query errors with HTTP
//! 500 and `Code: N. DB::Exception: …` in a plain-text body (the code also in
//! `X-ClickHouse-Exception-Code`); the exporter's `TimeUnix` is `DateTime64(9)`
//! (older exporter versions used `DateTime` for sums — `toDateTime64` covers
//! both); map lookups of a missing key answer `''`, which is exactly PromQL's
//! "absent label equals empty" rule.

pub mod decode;
pub mod sql;

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;

use crate::cache::{CacheClass, SharedCodec, Weigh, key_hash};
use crate::error::{ErrorCode, FleetError};
use crate::registry::{ClickhouseStore, Registry};
use crate::upstream::UpstreamError;
use crate::upstream::http::UpstreamClient;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::clickhouse::ChQuery;
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
}
