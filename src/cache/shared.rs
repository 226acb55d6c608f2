//! The optional shared (Redis) level of the query cache, for Grafana HA:
//! replicas behind one Redis answer each other's repeated queries.
//!
//! Redis is a cache here, never a dependency: every call is bounded (1 s; 2 s
//! to connect),
//! and when Redis is unreachable the plugin logs one warning, stops asking it
//! for 10 s, and serves from the embedded cache and the clusters — a query
//! never fails because of Redis.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;

const CALL_TIMEOUT: Duration = Duration::from_secs(1);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const RETRY_AFTER: Duration = Duration::from_secs(10);

pub struct SharedLayer {
    client: redis::Client,
    conn: tokio::sync::Mutex<Option<MultiplexedConnection>>,
    down_since: Mutex<Option<Instant>>,
}

impl SharedLayer {
    /// `None` (with a warning) when the URL cannot be used; the URL is never
    /// logged, it may carry a password.
    pub fn new(url: &str) -> Option<Self> {
        match redis::Client::open(url) {
            Ok(client) => Some(SharedLayer { client, conn: tokio::sync::Mutex::new(None), down_since: Mutex::new(None) }),
            Err(e) => {
                tracing::warn!(error = %e.category(), "jsonData.cache.redisUrl is not usable; using the embedded cache only");
                None
            }
        }
    }

    fn resting(&self) -> bool {
        let down = self.down_since.lock().unwrap_or_else(|p| p.into_inner());
        down.is_some_and(|t| t.elapsed() < RETRY_AFTER)
    }

    fn mark_down(&self, why: &str) {
        let mut down = self.down_since.lock().unwrap_or_else(|p| p.into_inner());
        if down.is_none_or(|t| t.elapsed() >= RETRY_AFTER) {
            tracing::warn!(error = why, "Redis cache unavailable; falling back to the embedded cache for 10 s");
            crate::telemetry::count("fleetscope_shared_cache_errors_total", "Redis cache calls that failed (served without it).", &[], 1.0);
        }
        *down = Some(Instant::now());
    }

    async fn connection(&self) -> Option<MultiplexedConnection> {
        if self.resting() {
            return None;
        }
        let mut slot = self.conn.lock().await;
        if let Some(c) = slot.as_ref() {
            return Some(c.clone());
        }
        match tokio::time::timeout(CONNECT_TIMEOUT, self.client.get_multiplexed_async_connection()).await {
            Ok(Ok(c)) => {
                *slot = Some(c.clone());
                Some(c)
            }
            Ok(Err(e)) => {
                self.mark_down(e.category());
                None
            }
            Err(_) => {
                self.mark_down("connect timeout");
                None
            }
        }
    }

    async fn call<T: redis::FromRedisValue>(&self, cmd: redis::Cmd) -> Option<T> {
        let mut conn = self.connection().await?;
        match tokio::time::timeout(CALL_TIMEOUT, cmd.query_async::<T>(&mut conn)).await {
            Ok(Ok(v)) => Some(v),
            Ok(Err(e)) => {
                *self.conn.lock().await = None;
                self.mark_down(e.category());
                None
            }
            Err(_) => {
                *self.conn.lock().await = None;
                self.mark_down("timeout");
                None
            }
        }
    }

    pub async fn get(&self, key: &str) -> Option<Vec<u8>> {
        self.call::<Option<Vec<u8>>>(redis::cmd("GET").arg(format!("fleetscope:cache:{key}")).clone()).await.flatten()
    }

    pub async fn set(&self, key: &str, value: &[u8], ttl: Duration) {
        let ms = ttl.as_millis().max(1) as u64;
        let _: Option<()> = self.call(redis::cmd("SET").arg(format!("fleetscope:cache:{key}")).arg(value).arg("PX").arg(ms).clone()).await;
    }
}
