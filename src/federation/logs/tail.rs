//! Live tail: one Loki `/loki/api/v1/tail` websocket per target cluster,
//! merged into one stream of `log-lines` frames (Grafana Live channel
//! `logs/tail/<id>`, see `plugin::stream`).
//!
//! * Each cluster's socket runs in its own task. When it drops (Loki restarts,
//!   a querier dies, the network blips) the task reports it as a notice and
//!   reconnects with exponential backoff (0.25 s doubling to 30 s, jittered,
//!   back to 0.25 s once a message arrives), resuming 1 ns after the newest
//!   line it has seen so nothing is repeated.
//! * Messages that arrive together (from any clusters) are merged by time
//!   (oldest first, as Loki's tail sends them) into one frame: same columns,
//!   ids, `cluster` labels and derived fields as the `logs` query.
//! * `dropped_entries` (Loki could not keep up with us) become a warning notice
//!   on the frame, naming the cluster, count and streams.
//! * Dropping the [`TailStream`] (Grafana cancels `RunStream` when the last
//!   subscriber leaves) aborts every cluster task, which closes its socket.

use std::collections::BTreeSet;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::{Stream, StreamExt};
use rand::Rng;
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use super::{derived_fields, loki_targets, merge};
use crate::error::{ErrorCode, FleetError};
use crate::federation::Federation;
use crate::frames::loki::{self as conv, DerivedField, LogColumns, LokiData, LokiResponse, TailMessage};
use crate::frames::{Frame, FrameMeta, Notice, NoticeSeverity};
use crate::query::logql::{self, LogqlKind};
use crate::query::logs::{Direction, MAX_LIMIT};
use crate::query::metrics::MAX_EXPR_BYTES;
use crate::registry::{Backend, Cluster};

/// First reconnect delay and its ceiling.
pub const BACKOFF_START: Duration = Duration::from_millis(250);
pub const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// Lines Loki may backfill on (re)connect (`limit` of the tail call).
pub const DEFAULT_LIMIT: u32 = 100;

/// The subscribe request's `data`: the logs query a panel tails.
#[derive(Debug, Clone, PartialEq)]
pub struct TailQuery {
    pub expr: String,
    /// Cluster ids; empty = every enabled cluster with Loki.
    pub clusters: Vec<String>,
    pub limit: u32,
    /// Where the first connection starts (epoch ns); now when absent.
    pub start_ns: Option<i64>,
    /// Target of derived-field links (the query's `datasource.uid`).
    pub datasource_uid: Option<String>,
}

#[derive(Deserialize)]
struct RawTail {
    #[serde(default)]
    expr: Option<String>,
    #[serde(default)]
    clusters: Option<crate::query::ClusterList>,
    #[serde(default)]
    limit: Option<u32>,
    /// Epoch ms.
    #[serde(default)]
    start: Option<i64>,
    #[serde(default)]
    datasource: Option<RawDatasource>,
}

#[derive(Deserialize)]
struct RawDatasource {
    #[serde(default)]
    uid: Option<String>,
}

impl TailQuery {
    /// Parse and validate; errors are INVALID_QUERY / INVALID_LOGQL with a message for the user.
    pub fn parse(data: &[u8]) -> Result<Self, FleetError> {
        let raw: RawTail = serde_json::from_slice(data)
            .map_err(|e| FleetError::invalid_query(format!("live tail: the subscription data is not a logs query: {e}")))?;
        let expr = raw.expr.unwrap_or_default().trim().to_owned();
        if expr.is_empty() {
            return Err(FleetError::invalid_query("live tail: `expr` (a LogQL log query) is required"));
        }
        if expr.len() > MAX_EXPR_BYTES {
            return Err(FleetError::invalid_query(format!("live tail: `expr` is {} bytes; the limit is {MAX_EXPR_BYTES}", expr.len())));
        }
        match logql::validate(&expr) {
            Ok(LogqlKind::Log) => {}
            Ok(LogqlKind::Metric) => {
                return Err(FleetError::new(
                    ErrorCode::InvalidLogql,
                    "live tail needs a log query (a stream selector and pipeline), not a metric query",
                ));
            }
            Err(e) => return Err(FleetError::new(ErrorCode::InvalidLogql, format!("invalid LogQL in `expr`: {e}"))),
        }
        let limit = raw.limit.unwrap_or(DEFAULT_LIMIT);
        if limit == 0 || limit > MAX_LIMIT {
            return Err(FleetError::invalid_query(format!("live tail: `limit` {limit} is outside 1..={MAX_LIMIT}")));
        }
        Ok(TailQuery {
            expr,
            clusters: raw.clusters.map(crate::query::ClusterList::into_ids).unwrap_or_default(),
            limit,
            start_ns: raw.start.map(|ms| ms.saturating_mul(1_000_000)),
            datasource_uid: raw.datasource.and_then(|d| d.uid).filter(|u| !u.is_empty()),
        })
    }
}

/// A channel id for a query: FNV-1a of expr and sorted clusters, hex. Any id
/// is accepted; this one lets equal queries share one upstream tail.
pub fn channel_id(expr: &str, clusters: &[String]) -> String {
    let sorted: BTreeSet<&str> = clusters.iter().map(String::as_str).collect();
    let mut labels = crate::frames::prometheus::Labels::new();
    labels.insert("expr".into(), expr.to_owned());
    labels.insert("clusters".into(), sorted.into_iter().collect::<Vec<_>>().join(","));
    format!("{:016x}", conv::labels_hash(&labels))
}

/// What a cluster task reports.
enum Event {
    Message(Arc<Cluster>, TailMessage),
    Notice(Notice),
}

/// Aborts the cluster tasks (closing their sockets) when dropped.
struct Tasks(Vec<JoinHandle<()>>);

impl Drop for Tasks {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}

/// The merged frames of a live tail. Never ends by itself; drop it to stop.
pub struct TailStream {
    events: mpsc::Receiver<Event>,
    derived: Vec<DerivedField>,
    /// Notices for clusters left out (no Loki), sent with the first frame.
    pending: Vec<Notice>,
    _tasks: Tasks,
}

/// An empty frame with the tail's schema (the subscription's initial data).
pub fn schema_frame(fed: &Federation, q: &TailQuery) -> Result<Frame, FleetError> {
    let derived = derived_fields(fed, q.datasource_uid.as_deref())?;
    Ok(conv::log_frame(LogColumns::default(), "", &derived, FrameMeta::default()))
}

/// Check the targets and open one tail per cluster with Loki.
pub fn open(fed: &Arc<Federation>, q: &TailQuery) -> Result<TailStream, FleetError> {
    let (targets, pending) = loki_targets(fed, &q.clusters)?;
    let derived = derived_fields(fed, q.datasource_uid.as_deref())?;
    let start_ns = q.start_ns.unwrap_or_else(|| chrono::Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX));
    let (tx, events) = mpsc::channel(64);
    let tasks =
        targets.into_iter().map(|cluster| tokio::spawn(follow(fed.clone(), cluster, q.expr.clone(), q.limit, start_ns, tx.clone()))).collect();
    Ok(TailStream { events, derived, pending, _tasks: Tasks(tasks) })
}

fn warning(text: String) -> Notice {
    Notice { severity: NoticeSeverity::Warning, text }
}

/// One cluster's tail, reconnecting until the stream is dropped.
async fn follow(fed: Arc<Federation>, cluster: Arc<Cluster>, expr: String, limit: u32, mut start_ns: i64, tx: mpsc::Sender<Event>) {
    let client = match fed.loki(&cluster) {
        Ok(c) => c,
        Err(e) => {
            let _ = tx.send(Event::Notice(warning(format!("{}: {}", e.code, e.message)))).await;
            return;
        }
    };
    let mut backoff = BACKOFF_START;
    let mut connections = 0u32;
    loop {
        let reason = match tokio::time::timeout(fed.registry.limits.timeout, client.tail(&expr, limit, start_ns)).await {
            Err(_) => format!("no answer within {:?}", fed.registry.limits.timeout),
            Ok(Err(e)) => e.to_string(),
            Ok(Ok(mut ws)) => {
                connections += 1;
                if connections > 1 {
                    let text = format!("{}: live tail reconnected", cluster.name);
                    if tx.send(Event::Notice(Notice { severity: NoticeSeverity::Info, text })).await.is_err() {
                        return;
                    }
                }
                loop {
                    let bytes = match ws.next().await {
                        Some(Ok(Message::Text(t))) => t.into_bytes(),
                        Some(Ok(Message::Binary(b))) => b,
                        // tungstenite answers pings itself.
                        Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
                        Some(Ok(Message::Close(frame))) => {
                            break format!("closed by Loki{}", frame.map(|f| format!(" ({} {})", f.code, f.reason)).unwrap_or_default());
                        }
                        Some(Err(e)) => break format!("connection lost: {e}"),
                        None => break "connection lost".to_owned(),
                    };
                    let event = match conv::parse_tail_message(&bytes) {
                        Ok(m) => {
                            if let Some(newest) = m.newest_ns() {
                                start_ns = start_ns.max(newest.saturating_add(1));
                            }
                            backoff = BACKOFF_START;
                            Event::Message(cluster.clone(), m)
                        }
                        Err(e) => warning(format!("{}: {}: (Loki) invalid tail message skipped: {e}", ErrorCode::UpstreamError, cluster.name)).into(),
                    };
                    if tx.send(event).await.is_err() {
                        return;
                    }
                }
            }
        };
        let wait = backoff.mul_f64(rand::thread_rng().gen_range(0.5..=1.0));
        let text = format!("{}: live tail from Loki interrupted ({reason}); reconnecting in {} ms", cluster.name, wait.as_millis());
        tracing::warn!(cluster = %cluster.id, backend = %Backend::Loki, %reason, "live tail interrupted");
        if tx.send(Event::Notice(warning(text))).await.is_err() {
            return;
        }
        tokio::time::sleep(wait).await;
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

impl From<Notice> for Event {
    fn from(n: Notice) -> Self {
        Event::Notice(n)
    }
}

impl TailStream {
    /// One frame from a batch of events.
    fn frame(&mut self, batch: Vec<Event>) -> Frame {
        let mut notices = std::mem::take(&mut self.pending);
        let mut lines: Vec<(Arc<Cluster>, LokiResponse)> = Vec::new();
        for e in batch {
            match e {
                Event::Notice(n) => notices.push(n),
                Event::Message(cluster, m) => {
                    if !m.dropped.is_empty() {
                        let streams: BTreeSet<&str> = m.dropped.iter().map(|d| d.labels.as_str()).collect();
                        notices.push(warning(format!(
                            "{}: Loki dropped {} entries from the live tail (it could not send them fast enough) of {}",
                            cluster.name,
                            m.dropped.len(),
                            streams.into_iter().collect::<Vec<_>>().join(", ")
                        )));
                    }
                    let resp = LokiResponse { data: LokiData::Streams(m.streams), stats: Vec::new(), warnings: Vec::new() };
                    lines.push((cluster, resp));
                }
            }
        }
        let cols = merge(&lines, Direction::Forward, usize::MAX);
        conv::log_frame(cols, "", &self.derived, FrameMeta { notices, ..FrameMeta::default() })
    }
}

impl Stream for TailStream {
    type Item = Frame;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Frame>> {
        let first = match self.events.poll_recv(cx) {
            Poll::Ready(Some(e)) => e,
            // Every task ended (each had no usable client): nothing more will come.
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Pending => return Poll::Pending,
        };
        let mut batch = vec![first];
        while let Ok(e) = self.events.try_recv() {
            batch.push(e);
        }
        Poll::Ready(Some(self.frame(batch)))
    }
}
