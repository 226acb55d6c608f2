//! One deadline per query.
//!
//! Every QueryData query, resource call (and `serve` API request), Save & test
//! and Live stream tick gets one deadline when it arrives:
//! `query.timeoutSeconds` later — or earlier, when Grafana's gRPC call carries
//! a shorter `grpc-timeout`. tonic drops the *whole* call at that instant (no
//! partial answer reaches Grafana), so we stop [`GRPC_MARGIN_MAX`] or 5 %
//! before it and answer with what we have.
//!
//! [`super::Federation::fan_out`] bounds everything one cluster's call does by
//! the deadline: waiting for a concurrency slot, the request, retries and their
//! backoff. At the deadline the clusters still out are answered with
//! `QUERY_TIMEOUT` and the query returns; nothing waits longer.
//!
//! The deadline travels as a tokio task-local set by the entry points with
//! [`scope`]. A nested scope never extends an outer one. Code that runs outside
//! any scope (the `query`/`check` CLI commands, tests, background loops) gets
//! `timeoutSeconds` from the moment it calls `fan_out`.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

/// The largest safety margin kept before a gRPC deadline.
pub const GRPC_MARGIN_MAX: Duration = Duration::from_millis(250);

/// When a query arrived and when it must be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    pub arrived: Instant,
    pub at: Instant,
}

impl Deadline {
    /// `timeout` after `arrived`, and never later than (a margin before) a
    /// gRPC deadline of `grpc` after `arrived`.
    pub fn new(arrived: Instant, timeout: Duration, grpc: Option<Duration>) -> Self {
        let mut at = arrived + timeout;
        if let Some(g) = grpc {
            let margin = (g / 20).min(GRPC_MARGIN_MAX);
            at = at.min(arrived + g.saturating_sub(margin));
        }
        Deadline { arrived, at }
    }

    /// The time the query has in all.
    pub fn budget(&self) -> Duration {
        self.at.saturating_duration_since(self.arrived)
    }
}

tokio::task_local! {
    static CURRENT: Deadline;
}

/// The deadline of the query being answered, if an entry point set one.
pub fn current() -> Option<Deadline> {
    CURRENT.try_with(|d| *d).ok()
}

/// Run `fut` under `deadline` (or under the enclosing one, if that is earlier).
pub async fn scope<F: Future>(deadline: Deadline, fut: F) -> F::Output {
    let effective = match current() {
        Some(outer) if outer.at <= deadline.at => outer,
        _ => deadline,
    };
    CURRENT.scope(effective, fut).await
}

/// Parse a gRPC `grpc-timeout` header value (`<digits><unit>`, unit one of
/// H M S m u n; at most 8 digits, as the gRPC HTTP/2 protocol says).
pub fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    let unit = value.chars().last()?;
    let digits = &value[..value.len() - unit.len_utf8()];
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        'H' => Duration::from_secs(n * 3600),
        'M' => Duration::from_secs(n * 60),
        'S' => Duration::from_secs(n),
        'm' => Duration::from_millis(n),
        'u' => Duration::from_micros(n),
        'n' => Duration::from_nanos(n),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeout_values() {
        assert_eq!(parse_grpc_timeout("30S"), Some(Duration::from_secs(30)));
        assert_eq!(parse_grpc_timeout("29999m"), Some(Duration::from_millis(29_999)));
        assert_eq!(parse_grpc_timeout("2M"), Some(Duration::from_secs(120)));
        assert_eq!(parse_grpc_timeout("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_grpc_timeout("5000000u"), Some(Duration::from_secs(5)));
        assert_eq!(parse_grpc_timeout("7n"), Some(Duration::from_nanos(7)));
        for bad in ["", "S", "123456789S", "10s", "1.5S", "-1S", "10é"] {
            assert_eq!(parse_grpc_timeout(bad), None, "{bad:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn grpc_deadline_wins_when_shorter_and_scopes_never_extend() {
        let t0 = Instant::now();
        let own = Deadline::new(t0, Duration::from_secs(30), None);
        assert_eq!(own.budget(), Duration::from_secs(30));
        let grpc = Deadline::new(t0, Duration::from_secs(30), Some(Duration::from_secs(10)));
        assert_eq!(grpc.at, t0 + Duration::from_secs(10) - GRPC_MARGIN_MAX, "answered before tonic drops the call");
        let short = Deadline::new(t0, Duration::from_secs(30), Some(Duration::from_millis(100)));
        assert_eq!(short.budget(), Duration::from_millis(95), "5% margin for short deadlines");
        let longer_grpc = Deadline::new(t0, Duration::from_secs(5), Some(Duration::from_secs(60)));
        assert_eq!(longer_grpc.budget(), Duration::from_secs(5));

        assert_eq!(current(), None);
        let inner = scope(grpc, async { scope(own, async { current() }).await }).await;
        assert_eq!(inner, Some(grpc), "an inner, later deadline does not extend the outer one");
        let inner = scope(own, async { scope(grpc, async { current() }).await }).await;
        assert_eq!(inner, Some(grpc), "an inner, earlier deadline applies");
    }
}
