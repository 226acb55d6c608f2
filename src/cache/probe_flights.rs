//! Results of slow probes (a GPU node's nvidia-smi exec), per datasource
//! instance: single-flight whose flight outlives its callers, and a short TTL
//! for good answers.
//!
//! Unlike [`super::QueryCache`] (moka: when the last caller gives up, the fetch is
//! dropped), a probe is never dropped half-way: when every caller's deadline has
//! passed it stays in the table and the next caller resumes it. Its exec timeout
//! counts from its start, so an exec that hangs longer than the queries waiting
//! for it still ends and the node's breaker learns of it; otherwise each query
//! would restart the hung exec and pay its whole deadline again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};

/// Probe results of type `V` by key.
pub struct ProbeFlights<V: Clone> {
    /// Good answers and when they arrived.
    done: Mutex<HashMap<String, (Instant, V)>>,
    /// Probes under way.
    flying: Mutex<HashMap<String, Shared<BoxFuture<'static, V>>>>,
}

impl<V: Clone> Default for ProbeFlights<V> {
    fn default() -> Self {
        ProbeFlights { done: Mutex::default(), flying: Mutex::default() }
    }
}

impl<V: Clone + Send + Sync + 'static> ProbeFlights<V> {
    /// A good answer for `key` younger than `ttl`.
    pub fn cached(&self, key: &str, ttl: Duration) -> Option<V> {
        let mut done = self.done.lock().unwrap_or_else(PoisonError::into_inner);
        done.retain(|_, (at, _)| at.elapsed() < ttl);
        done.get(key).map(|(_, v)| v.clone())
    }

    /// Join the probe of `key` under way, or start `probe` as it. Its answer is
    /// kept for `ttl` when `good` says so — before the flight ends, so no caller
    /// falls in between.
    pub async fn run<F>(self: &Arc<Self>, key: String, ttl: Duration, good: fn(&V) -> bool, probe: F) -> V
    where
        F: Future<Output = V> + Send + 'static,
    {
        let flight = {
            let mut flying = self.flying.lock().unwrap_or_else(PoisonError::into_inner);
            match flying.get(&key) {
                Some(f) => f.clone(),
                None => {
                    let (me, own_key) = (self.clone(), key.clone());
                    let f = async move {
                        let out = probe.await;
                        if good(&out) && !ttl.is_zero() {
                            me.done.lock().unwrap_or_else(PoisonError::into_inner).insert(own_key.clone(), (Instant::now(), out.clone()));
                        }
                        me.flying.lock().unwrap_or_else(PoisonError::into_inner).remove(&own_key);
                        out
                    }
                    .boxed()
                    .shared();
                    flying.insert(key, f.clone());
                    f
                }
            }
        };
        flight.await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn one_probe_for_concurrent_callers_and_it_outlives_them() {
        let flights: Arc<ProbeFlights<u32>> = Arc::default();
        let runs = Arc::new(AtomicUsize::new(0));
        let probe = |runs: Arc<AtomicUsize>| async move {
            runs.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_secs(10)).await;
            7
        };
        let ttl = Duration::from_secs(5);
        // Two callers at once share one probe.
        let (a, b) =
            tokio::join!(flights.run("n".into(), ttl, |_| true, probe(runs.clone())), flights.run("n".into(), ttl, |_| true, probe(runs.clone())));
        assert_eq!((a, b, runs.load(Ordering::SeqCst)), (7, 7, 1));
        assert_eq!(flights.cached("n", ttl), Some(7));
        // A caller that gives up leaves the probe in the table; the next one resumes it.
        let gave_up = tokio::time::timeout(Duration::from_secs(1), flights.run("m".into(), ttl, |_| false, probe(runs.clone()))).await;
        assert!(gave_up.is_err());
        assert_eq!(flights.run("m".into(), ttl, |_| false, probe(runs.clone())).await, 7);
        assert_eq!(runs.load(Ordering::SeqCst), 2, "the second caller joined the first probe");
        assert_eq!(flights.cached("m", ttl), None, "answers that are not good are not kept");
    }
}
