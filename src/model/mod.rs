//! The vocabulary the layers share: a labelled series, an alert and its
//! transitions, a trace ID, a duration, a log order. Nothing here knows an upstream's wire format or a
//! Grafana frame, so probes, the store, the query model and the frame builders
//! can all use these without depending on one another.

pub mod alerts;
pub mod duration;
pub mod logs;
pub mod series;
pub mod trace_id;

/// A string quoted as Go's `%q` writes it, for the printable text label values
/// and trace attributes hold: Prometheus' series names in Grafana
/// (`up{job="a\"b"}`) and TraceQL string literals (Tempo reads them with Go's
/// rules) both use it.
pub fn go_quote(v: &str) -> String {
    let mut out = String::with_capacity(v.len() + 2);
    out.push('"');
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
