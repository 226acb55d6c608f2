//! Trace IDs as Fleetscope keeps them: 32 lower-case hex digits.
//!
//! Tempo drops leading zeros in search results (`"2f3a…"` for `"002f3a…"`), and
//! 64-bit IDs from older tracers arrive as 16 digits; both are the same trace
//! as the 32-digit form, so every ID is normalised before it is compared,
//! cached or sent upstream.

/// Normalise a trace ID: 1–32 hex digits → 32 lower-case hex digits, zero-padded
/// on the left. Anything else → `None`.
pub fn normalize_trace_id(id: &str) -> Option<String> {
    let t = id.trim();
    if t.is_empty() || t.len() > 32 || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some(format!("{:0>32}", t.to_ascii_lowercase()))
}

/// A trace ID in the one form Fleetscope keeps, compares and sends upstream
/// (32 lower-case hex digits); made only by [`TraceId::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct TraceId(String);

impl TraceId {
    /// 1–32 hex digits, normalised; anything else → `None`.
    pub fn parse(id: &str) -> Option<TraceId> {
        normalize_trace_id(id).map(TraceId)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for TraceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<&str> for TraceId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

#[cfg(test)]
mod tests {
    use super::{TraceId, normalize_trace_id};

    #[test]
    fn pads_lowercases_and_rejects() {
        assert_eq!(normalize_trace_id(" 2F3A ").as_deref(), Some("00000000000000000000000000002f3a"));
        assert_eq!(normalize_trace_id(&"a".repeat(32)).as_deref(), Some("a".repeat(32).as_str()));
        for bad in ["", "  ", "xyz", &"a".repeat(33), "12-34"] {
            assert_eq!(normalize_trace_id(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn trace_id_is_the_normalised_form() {
        let id = TraceId::parse("2F3A").unwrap();
        assert_eq!(id, "00000000000000000000000000002f3a");
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"00000000000000000000000000002f3a\"");
        assert_eq!(TraceId::parse("xyz"), None);
    }
}
