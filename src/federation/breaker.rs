//! Circuit breaker per cluster + backend.
//!
//! Keys are `<Cluster::state_key>/<backend>[/…]` ([`key`]): a cluster that is
//! replaced by another under the same id (other endpoints) gets fresh breakers.
//!
//! A cluster that keeps failing to answer (connect errors, timeouts) costs its
//! timeout once per query until the breaker opens; then it is skipped with
//! CIRCUIT_OPEN for a cool-down, after which one query probes it (half-open):
//! success closes the breaker, failure re-opens it. Answers that prove the
//! cluster is alive (HTTP errors, bad bodies) do not count as failures.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::ErrorCode;

/// Consecutive failures that open the breaker.
pub const FAILURE_THRESHOLD: u32 = 3;
/// How long an open breaker skips the cluster before a probe.
pub const COOL_DOWN: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Closed,
    Open,
    HalfOpen,
}

#[derive(Debug)]
struct Slot {
    failures: u32,
    opened_at: Option<Instant>,
    probing: bool,
}

#[derive(Debug, Default)]
pub struct Breakers {
    slots: Mutex<HashMap<String, Slot>>,
}

/// The breaker key of a cluster's backend.
pub fn key(cluster: &crate::registry::Cluster, backend: crate::registry::Backend) -> String {
    format!("{}/{backend}", cluster.state_key())
}

/// The `Cluster::state_key` part of a breaker key.
pub fn cluster_part(key: &str) -> &str {
    key.split('/').next().unwrap_or(key)
}

/// The cluster id of a breaker key (`state_key` is `<id>@<fingerprint>`).
pub fn cluster_id(key: &str) -> &str {
    let part = cluster_part(key);
    part.rsplit_once('@').map_or(part, |(id, _)| id)
}

/// Whether an error means "the cluster did not answer".
pub fn counts_as_failure(code: ErrorCode) -> bool {
    matches!(code, ErrorCode::ClusterUnreachable | ErrorCode::QueryTimeout)
}

impl Breakers {
    /// May a request go to `key` now? An open breaker past its cool-down lets
    /// exactly one probe through.
    pub fn admit(&self, key: &str) -> bool {
        self.admit_at(key, Instant::now())
    }

    fn admit_at(&self, key: &str, now: Instant) -> bool {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        let Some(slot) = slots.get_mut(key) else { return true };
        match slot.opened_at {
            None => true,
            Some(at) if now.duration_since(at) >= COOL_DOWN && !slot.probing => {
                slot.probing = true;
                true
            }
            Some(_) => false,
        }
    }

    /// Record the outcome of an admitted request.
    pub fn record(&self, key: &str, failed: bool) {
        self.record_at(key, failed, Instant::now());
    }

    fn record_at(&self, key: &str, failed: bool, now: Instant) {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        let slot = slots.entry(key.to_owned()).or_insert(Slot { failures: 0, opened_at: None, probing: false });
        if failed {
            slot.failures = slot.failures.saturating_add(1);
            if slot.probing || slot.failures >= FAILURE_THRESHOLD {
                slot.opened_at = Some(now);
            }
        } else {
            slot.failures = 0;
            slot.opened_at = None;
        }
        slot.probing = false;
    }

    /// An admitted request that was never sent (its query's deadline passed
    /// while it waited for a slot) proves nothing: a half-open probe is handed
    /// back so the next request may probe, and the failure count is unchanged.
    pub fn abandon(&self, key: &str) {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(slot) = slots.get_mut(key) {
            slot.probing = false;
        }
    }

    /// Forget every breaker whose key `keep` rejects (clusters that are gone).
    pub fn retain(&self, keep: impl Fn(&str) -> bool) {
        self.slots.lock().unwrap_or_else(|p| p.into_inner()).retain(|k, _| keep(k));
    }

    pub fn state(&self, key: &str) -> State {
        let slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        match slots.get(key) {
            Some(Slot { opened_at: Some(_), probing: true, .. }) => State::HalfOpen,
            Some(Slot { opened_at: Some(_), .. }) => State::Open,
            _ => State::Closed,
        }
    }

    /// Every tracked key with its state (for CollectMetrics).
    pub fn snapshot(&self) -> Vec<(String, State)> {
        let keys: Vec<String> = self.slots.lock().unwrap_or_else(|p| p.into_inner()).keys().cloned().collect();
        keys.into_iter()
            .map(|k| {
                let s = self.state(&k);
                (k, s)
            })
            .collect()
    }

    /// Every breaker as `/metrics` shows it (`crate::telemetry::exposition`).
    pub fn gauges(&self) -> Vec<crate::telemetry::BreakerGauge> {
        self.snapshot()
            .into_iter()
            .map(|(key, state)| crate::telemetry::BreakerGauge {
                cluster_id: cluster_id(&key).to_owned(),
                backend: key.split_once('/').map_or("", |(_, b)| b).to_owned(),
                open: match state {
                    State::Closed => 0.0,
                    State::HalfOpen => 0.5,
                    State::Open => 1.0,
                },
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_then_probes_once_after_cool_down() {
        let b = Breakers::default();
        let t0 = Instant::now();
        for _ in 0..FAILURE_THRESHOLD - 1 {
            assert!(b.admit_at("c", t0));
            b.record_at("c", true, t0);
        }
        assert_eq!(b.state("c"), State::Closed);
        assert!(b.admit_at("c", t0));
        b.record_at("c", true, t0);
        assert_eq!(b.state("c"), State::Open);
        assert!(!b.admit_at("c", t0 + COOL_DOWN / 2), "skipped during cool-down");
        let later = t0 + COOL_DOWN;
        assert!(b.admit_at("c", later), "one probe after cool-down");
        assert_eq!(b.state("c"), State::HalfOpen);
        assert!(!b.admit_at("c", later), "only one probe at a time");
        b.record_at("c", true, later);
        assert_eq!(b.state("c"), State::Open, "failed probe re-opens");
        assert!(!b.admit_at("c", later + COOL_DOWN / 2));
        assert!(b.admit_at("c", later + COOL_DOWN));
        b.record_at("c", false, later + COOL_DOWN);
        assert_eq!(b.state("c"), State::Closed, "successful probe closes");
        assert!(b.admit_at("c", later + COOL_DOWN));
    }

    #[test]
    fn an_abandoned_probe_lets_the_next_request_probe() {
        let b = Breakers::default();
        let t0 = Instant::now();
        for _ in 0..FAILURE_THRESHOLD {
            b.record_at("c", true, t0);
        }
        let later = t0 + COOL_DOWN;
        assert!(b.admit_at("c", later));
        assert!(!b.admit_at("c", later), "one probe at a time");
        b.abandon("c");
        assert_eq!(b.state("c"), State::Open, "still open: nothing was learnt");
        assert!(b.admit_at("c", later), "the probe slot is free again");
    }

    #[test]
    fn success_resets_the_count_and_only_silence_counts() {
        let b = Breakers::default();
        let t = Instant::now();
        b.record_at("c", true, t);
        b.record_at("c", true, t);
        b.record_at("c", false, t);
        b.record_at("c", true, t);
        assert_eq!(b.state("c"), State::Closed);
        assert!(counts_as_failure(ErrorCode::QueryTimeout));
        assert!(!counts_as_failure(ErrorCode::UpstreamError), "an HTTP 500 proves the cluster answers");
    }
}
