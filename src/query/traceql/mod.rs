//! TraceQL validation before fan-out, and the seed's search criteria compiled
//! to TraceQL.
//!
//! No Rust TraceQL parser exists, so this is a small hand-written lexer and
//! recursive-descent checker following Tempo's grammar (`pkg/traceql/expr.y`,
//! `lexer.go`). It does not evaluate anything; it only answers "would Tempo
//! parse this?" and, when not, names the position the way Tempo does
//! (`line 1, col 53`, 1-based, columns in characters). What it accepts:
//!
//! * spansets `{ … }` (empty = every span) with field expressions: comparisons
//!   `= != > >= < <= =~ !~`, `&&` `||` `!`, arithmetic `+ - * / % ^`, parentheses;
//! * attributes `.name`, `resource.name`, `span.name`, `event.name`, `link.name`,
//!   `instrumentation.name`, `parent.<scope>.name`, quoted names `span."a b"`;
//! * intrinsics (`duration`, `name`, `status`, `kind`, `span:duration`,
//!   `trace:rootService`, …) and the keyword values `error ok unset`, span kinds,
//!   `true false nil`;
//! * literals: strings `"…"` (with escapes) and `` `…` ``, integers, floats,
//!   durations (`1s`, `1.5ms`, `1h30m`);
//! * spanset operators `&& || > >> < << ~` and their `!`/`&` forms, `( … )`;
//! * pipelines: `| select(…)`, `| by(…)`, `| coalesce()`, `| count() > n`,
//!   `| avg|min|max|sum(field) op value`, `| { … }`, and TraceQL metrics
//!   functions (`rate()`, `count_over_time()`, `quantile_over_time(…)`, …) with
//!   `by (…)`, reported so search can reject them.

//!
//! Layout: [`lexer`] (characters → tokens, with positions), [`parser`] (the
//! recursive-descent checker), [`criteria`] (the seed's structured search
//! compiled to TraceQL); this file holds the vocabulary both read.

mod criteria;
mod lexer;
mod parser;

pub use criteria::{Criteria, compile, duration_literal, quote};
use lexer::{Lexer, err};
use parser::Parser;

/// What the validator learned about a valid query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TraceqlInfo {
    /// The query ends in a TraceQL metrics function (not a search).
    pub metrics: bool,
}

/// A syntax error with its 1-based position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceqlError {
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl std::fmt::Display for TraceqlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "parse error at line {}, col {}: {}", self.line, self.col, self.message)
    }
}

/// Largest query accepted (far beyond hand-written TraceQL).
pub const MAX_TRACEQL_BYTES: usize = 64 * 1024;

pub(super) const INTRINSICS: &[&str] = &[
    "duration",
    "name",
    "status",
    "statusMessage",
    "kind",
    "rootName",
    "rootServiceName",
    "traceDuration",
    "childCount",
    "nestedSetLeft",
    "nestedSetRight",
    "nestedSetParent",
    "parent",
];
pub(super) const SCOPED_INTRINSICS: &[(&str, &[&str])] = &[
    ("span", &["duration", "name", "kind", "status", "statusMessage", "id", "parentID", "childCount"]),
    ("trace", &["duration", "rootName", "rootService", "id"]),
    ("event", &["name", "timeSinceStart"]),
    ("link", &["traceID", "spanID"]),
    ("instrumentation", &["name", "version"]),
];
pub(super) const KEYWORD_VALUES: &[&str] =
    &["error", "ok", "unset", "client", "server", "internal", "producer", "consumer", "unspecified", "true", "false", "nil"];
pub(super) const ATTRIBUTE_SCOPES: &[&str] = &["resource", "span", "event", "link", "instrumentation"];
pub(super) const METRICS_FUNCTIONS: &[&str] = &[
    "rate",
    "count_over_time",
    "min_over_time",
    "max_over_time",
    "avg_over_time",
    "sum_over_time",
    "quantile_over_time",
    "histogram_over_time",
    "compare",
];
pub(super) const DURATION_UNITS: &[&str] = &["ns", "us", "µs", "ms", "s", "m", "h"];

/// Check a TraceQL query. An empty query is not valid here (callers decide
/// what empty means, e.g. `{}` for search).
pub fn validate(q: &str) -> Result<TraceqlInfo, TraceqlError> {
    if q.len() > MAX_TRACEQL_BYTES {
        return Err(err(1, 1, format!("query is {} bytes; the limit is {MAX_TRACEQL_BYTES}", q.len())));
    }
    let toks = Lexer::new(q).tokens()?;
    if toks.len() == 1 {
        return Err(err(1, 1, "empty query"));
    }
    let mut p = Parser { toks, pos: 0, info: TraceqlInfo::default(), depth: 0 };
    p.query()?;
    Ok(p.info)
}

#[cfg(test)]
mod tests;
