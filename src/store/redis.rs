//! Redis alert store: what several Grafana replicas share.
//!
//! Keys (prefix from `jsonData.alerts.redisPrefix`, default `fleetscope:alerts`):
//! * `<prefix>:event` — hash: transition key → transition JSON (HSETNX: the
//!   first delivery wins, re-deliveries are no-ops);
//! * `<prefix>:events` — sorted set: transition key scored by its time (ms);
//! * `<prefix>:state:<cluster>` — hash: fingerprint → `<rank>|<alert JSON>`.
//!
//! One Lua script per transition does all three atomically, so two replicas
//! receiving the same webhook never double-store and a late, older delivery
//! never overwrites newer state.

use std::time::Duration;

use redis::aio::MultiplexedConnection;

use super::{HistoryFilter, RecordOutcome, rank, store_error};
use crate::error::FleetError;
use crate::model::alerts::{Alert, Transition};

pub struct RedisStore {
    conn: MultiplexedConnection,
    prefix: String,
    retention_ms: i64,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore").field("prefix", &self.prefix).finish()
    }
}

const TIMEOUT: Duration = Duration::from_secs(5);

/// Store one transition (unless ARGV[6] says it is past the retention: then
/// only the current state follows it, and -1 is returned) and update the state.
const RECORD: &str = r"
local stored = -1
if ARGV[6] ~= '1' then
  stored = redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
  if stored == 1 then redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1]) end
end
local cur = redis.call('HGET', KEYS[3], ARGV[4])
local rank = tonumber(ARGV[5])
if (not cur) or tonumber(string.sub(cur, 1, string.find(cur, '|', 1, true) - 1)) < rank then
  redis.call('HSET', KEYS[3], ARGV[4], ARGV[5] .. '|' .. ARGV[2])
end
return stored
";

fn err(e: impl std::fmt::Display) -> FleetError {
    store_error(format!("redis: {e}"))
}

async fn timed<T>(fut: impl std::future::Future<Output = redis::RedisResult<T>>) -> Result<T, FleetError> {
    match tokio::time::timeout(TIMEOUT, fut).await {
        Ok(r) => r.map_err(err),
        Err(_) => Err(err(format!("no answer within {TIMEOUT:?}"))),
    }
}

impl RedisStore {
    /// Connect (the URL is never echoed: it may carry a password).
    pub async fn connect(url: &str, prefix: &str, retention_ms: i64) -> Result<Self, FleetError> {
        let client = redis::Client::open(url).map_err(|e| err(format!("jsonData.cache.redisUrl is not usable ({})", e.category())))?;
        let conn = timed(client.get_multiplexed_async_connection()).await?;
        Ok(RedisStore { conn, prefix: prefix.to_owned(), retention_ms })
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn state_key(&self, cluster: &str) -> String {
        format!("{}:state:{cluster}", self.prefix)
    }

    pub async fn record(&self, transitions: &[Transition], now_ms: i64) -> Result<RecordOutcome, FleetError> {
        let mut conn = self.conn.clone();
        let mut out = RecordOutcome::default();
        let (event, events) = (format!("{}:event", self.prefix), format!("{}:events", self.prefix));
        let cutoff = now_ms - self.retention_ms;
        for t in transitions {
            let body = serde_json::to_string(t).map_err(err)?;
            let expired = t.at_ms < cutoff;
            let stored: i64 = timed(
                redis::cmd("EVAL")
                    .arg(RECORD)
                    .arg(3)
                    .arg(&event)
                    .arg(&events)
                    .arg(self.state_key(&t.cluster_id))
                    .arg(t.key())
                    .arg(&body)
                    .arg(t.at_ms)
                    .arg(&t.fingerprint)
                    .arg(rank(t))
                    .arg(if expired { "1" } else { "0" })
                    .query_async(&mut conn),
            )
            .await?;
            if stored < 0 {
                out.expired += 1;
            } else {
                out.add(t, stored == 1);
            }
        }
        // Retention: drop transitions older than the cutoff.
        let old: Vec<String> = timed(redis::cmd("ZRANGEBYSCORE").arg(&events).arg("-inf").arg(format!("({cutoff}")).query_async(&mut conn)).await?;
        if !old.is_empty() {
            let _: i64 = timed(redis::cmd("HDEL").arg(&event).arg(&old).query_async(&mut conn)).await?;
            let _: i64 = timed(redis::cmd("ZREM").arg(&events).arg(&old).query_async(&mut conn)).await?;
        }
        Ok(out)
    }

    pub async fn history(&self, f: &HistoryFilter) -> Result<Vec<Transition>, FleetError> {
        let mut conn = self.conn.clone();
        let keys: Vec<String> = timed(
            redis::cmd("ZRANGE").arg(format!("{}:events", self.prefix)).arg(f.to_ms).arg(f.from_ms).arg("BYSCORE").arg("REV").query_async(&mut conn),
        )
        .await?;
        let mut out = Vec::new();
        for chunk in keys.chunks(500) {
            let bodies: Vec<Option<String>> =
                timed(redis::cmd("HMGET").arg(format!("{}:event", self.prefix)).arg(chunk).query_async(&mut conn)).await?;
            for body in bodies.into_iter().flatten() {
                let t: Transition = serde_json::from_str(&body).map_err(err)?;
                if f.keeps(&t) {
                    out.push(t);
                    if out.len() >= f.limit {
                        return Ok(out);
                    }
                }
            }
        }
        Ok(out)
    }

    pub async fn current(&self, clusters: &[String]) -> Result<Vec<Alert>, FleetError> {
        let mut conn = self.conn.clone();
        let mut out = Vec::new();
        for c in clusters {
            let values: Vec<String> = timed(redis::cmd("HVALS").arg(self.state_key(c)).query_async(&mut conn)).await?;
            for v in values {
                let json = v.split_once('|').map(|(_, j)| j).ok_or_else(|| err("malformed state entry"))?;
                let t: Transition = serde_json::from_str(json).map_err(err)?;
                out.push(t.to_alert());
            }
        }
        out.sort_by(|a, b| (&a.cluster_id, &a.fingerprint).cmp(&(&b.cluster_id, &b.fingerprint)));
        Ok(out)
    }
}
