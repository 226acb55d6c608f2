//! Query-result cache with single-flight, per datasource instance.
//!
//! * Entries are per cluster (one slow or failing cluster never evicts the
//!   others' answers) and keyed per the seed's table (§7.3):
//!   `metrics:instant:<hash>:<cluster>[:<time>]`, `metrics:range:<hash>:<cluster>:<start>:<end>:<step>`,
//!   `metrics:labels:…`. Range windows are already step-aligned by the query
//!   model, so dashboards refreshing within a step hit.
//! * TTL per class (seed defaults: instant 30 s, range < 1 h 60 s, range ≥ 1 h
//!   5 min, labels 5 min, GPU 5 s, alerts 10 s — `jsonData.cache`).
//! * Bounded by bytes (`jsonData.cache.maxBytes`), weighed by each value's
//!   approximate in-memory size.
//! * Single-flight: concurrent identical requests share one upstream call
//!   (moka's `try_get_with` runs one initialiser per key; the others await it).
//!   Only successes are cached; an error reaches every waiter and is not stored.

pub mod probe_flights;
pub mod shared;

use std::any::Any;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::Expiry;

use crate::error::FleetError;
use crate::registry::settings::CacheSettings;

/// A cached value: any result type, with its weight and lifetime.
#[derive(Clone)]
struct Entry {
    value: Arc<dyn Any + Send + Sync>,
    bytes: u32,
    ttl: Duration,
}

struct PerEntryTtl;

impl Expiry<String, Entry> for PerEntryTtl {
    fn expire_after_create(&self, _key: &String, value: &Entry, _now: Instant) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// Sizes a cached value for the byte bound.
pub trait Weigh {
    fn weigh(&self) -> usize;
}

/// The cache classes of the seed's TTL table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheClass {
    Instant,
    Range { span_ms: i64 },
    Labels,
    Gpu,
    Alerts,
}

/// Values that can live in the shared (Redis) level: bytes out, bytes in.
pub trait SharedCodec: Sized {
    fn encode(&self) -> Vec<u8>;
    fn decode(bytes: &[u8]) -> Option<Self>;
}

pub struct QueryCache {
    inner: Option<moka::future::Cache<String, Entry>>,
    shared: Option<shared::SharedLayer>,
    settings: CacheSettings,
}

impl std::fmt::Debug for QueryCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryCache").field("enabled", &self.inner.is_some()).finish()
    }
}

impl QueryCache {
    pub fn new(settings: &CacheSettings) -> Self {
        let inner = settings.enabled.then(|| {
            moka::future::Cache::builder()
                .max_capacity(settings.max_bytes)
                .weigher(|_k: &String, v: &Entry| v.bytes)
                .expire_after(PerEntryTtl)
                .build()
        });
        let shared =
            settings.enabled.then(|| settings.redis_url.as_deref().filter(|u| !u.trim().is_empty()).and_then(shared::SharedLayer::new)).flatten();
        QueryCache { inner, shared, settings: settings.clone() }
    }

    pub fn ttl(&self, class: CacheClass) -> Duration {
        let s = &self.settings;
        Duration::from_secs(match class {
            CacheClass::Instant => s.instant_ttl_seconds,
            CacheClass::Range { span_ms } if span_ms < 3_600_000 => s.range_ttl_seconds,
            CacheClass::Range { .. } => s.long_range_ttl_seconds,
            CacheClass::Labels => s.labels_ttl_seconds,
            CacheClass::Gpu => s.gpu_ttl_seconds,
            CacheClass::Alerts => s.alerts_ttl_seconds,
        })
    }

    /// The cached value for `key`, or the result of `fetch` (run once for all
    /// concurrent callers of the same key). Errors are returned, not cached.
    pub async fn get_or_fetch<T, F>(&self, key: String, class: CacheClass, fetch: F) -> Result<Arc<T>, FleetError>
    where
        T: Weigh + Send + Sync + 'static,
        F: Future<Output = Result<T, FleetError>>,
    {
        let ttl = self.ttl(class);
        let Some(cache) = self.inner.as_ref().filter(|_| !ttl.is_zero()) else {
            return fetch.await.map(Arc::new);
        };
        let mut fetched = false;
        let result = cache
            .try_get_with(key, async {
                fetched = true;
                let value = fetch.await?;
                let bytes = u32::try_from(value.weigh().saturating_add(128)).unwrap_or(u32::MAX);
                Ok::<_, FleetError>(Entry { value: Arc::new(value), bytes, ttl })
            })
            .await;
        crate::telemetry::count(
            if fetched { "fleetscope_cache_misses_total" } else { "fleetscope_cache_hits_total" },
            "Query cache lookups by outcome.",
            &[],
            1.0,
        );
        match result {
            Ok(entry) => entry.value.downcast::<T>().map_err(|_| FleetError::internal("cache entry has an unexpected type")),
            Err(e) => Err((*e).clone()),
        }
    }
}

impl QueryCache {
    /// Like [`QueryCache::get_or_fetch`], with the shared (Redis) level between
    /// the embedded cache and the upstream: an embedded miss asks Redis, a
    /// Redis miss fetches and stores the answer in both. Redis trouble only
    /// means the upstream is asked.
    pub async fn get_or_fetch_shared<T, F>(&self, key: String, class: CacheClass, fetch: F) -> Result<Arc<T>, FleetError>
    where
        T: Weigh + SharedCodec + Send + Sync + 'static,
        F: Future<Output = Result<T, FleetError>>,
    {
        let Some(shared) = self.shared.as_ref().filter(|_| !self.ttl(class).is_zero()) else {
            return self.get_or_fetch(key, class, fetch).await;
        };
        let ttl = self.ttl(class);
        let shared_key = key.clone();
        let through_shared = async move {
            if let Some(v) = shared.get(&shared_key).await.and_then(|b| T::decode(&b)) {
                crate::telemetry::count("fleetscope_shared_cache_hits_total", "Answers served from the Redis cache.", &[], 1.0);
                return Ok(v);
            }
            let v = fetch.await?;
            shared.set(&shared_key, &v.encode(), ttl).await;
            Ok(v)
        };
        self.get_or_fetch(key, class, through_shared).await
    }
}

/// A short stable hash of a query string for cache keys.
pub fn key_hash(s: &str) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    s.hash(&mut h);
    format!("{:016x}", h.finish())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    impl Weigh for String {
        fn weigh(&self) -> usize {
            self.len()
        }
    }

    #[tokio::test]
    async fn concurrent_identical_fetches_run_once() {
        let cache = Arc::new(QueryCache::new(&CacheSettings::default()));
        let calls = Arc::new(AtomicUsize::new(0));
        let gate = Arc::new(tokio::sync::Notify::new());
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let (cache, calls, gate) = (cache.clone(), calls.clone(), gate.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .get_or_fetch("k".into(), CacheClass::Instant, async move {
                        calls.fetch_add(1, Ordering::SeqCst);
                        gate.notified().await;
                        Ok("v".to_string())
                    })
                    .await
            }));
        }
        // Release the one fetch once it has started (notify_one stores a permit
        // if the fetch has not reached `notified()` yet). Tasks arriving before
        // it completes join it; later ones hit the stored entry.
        while calls.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        gate.notify_one();
        for t in tasks {
            assert_eq!(*t.await.unwrap().unwrap(), "v");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn errors_are_not_cached_and_disabled_cache_always_fetches() {
        let cache = QueryCache::new(&CacheSettings::default());
        let e = cache.get_or_fetch::<String, _>("e".into(), CacheClass::Labels, async { Err(FleetError::internal("x")) }).await;
        assert!(e.is_err());
        let ok = cache.get_or_fetch("e".into(), CacheClass::Labels, async { Ok("fresh".to_string()) }).await.unwrap();
        assert_eq!(*ok, "fresh");
        let again = cache.get_or_fetch("e".into(), CacheClass::Labels, async { Ok("other".to_string()) }).await.unwrap();
        assert_eq!(*again, "fresh", "hit");
        let off = QueryCache::new(&CacheSettings { enabled: false, ..CacheSettings::default() });
        let a = off.get_or_fetch("k".into(), CacheClass::Instant, async { Ok("1".to_string()) }).await.unwrap();
        let b = off.get_or_fetch("k".into(), CacheClass::Instant, async { Ok("2".to_string()) }).await.unwrap();
        assert_eq!((a.as_str(), b.as_str()), ("1", "2"));
    }

    #[test]
    fn ttls_follow_the_seed_table() {
        let c = QueryCache::new(&CacheSettings::default());
        assert_eq!(c.ttl(CacheClass::Instant), Duration::from_secs(30));
        assert_eq!(c.ttl(CacheClass::Range { span_ms: 1_800_000 }), Duration::from_secs(60));
        assert_eq!(c.ttl(CacheClass::Range { span_ms: 6 * 3_600_000 }), Duration::from_secs(300));
        assert_eq!(c.ttl(CacheClass::Labels), Duration::from_secs(300));
        assert_eq!(c.ttl(CacheClass::Gpu), Duration::from_secs(5));
        assert_eq!(c.ttl(CacheClass::Alerts), Duration::from_secs(10));
    }
}
