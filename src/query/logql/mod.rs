//! A LogQL validator: rejects malformed queries before any cluster sees them.
//!
//! No LogQL parser exists as a Rust crate, so this is a small recursive-descent
//! checker over Loki's grammar (pkg/logql/syntax/expr.y). It does not build an
//! AST — Loki parses again — it only answers "would Loki reject this?" for the
//! mistakes people make (unbalanced brackets, unterminated strings, a missing
//! stream selector, an operator without a value, an unknown function, a range
//! without a duration) with a message naming the line and column, and tells log
//! queries from metric queries.
//!
//! It errs on the side of accepting: a construct it does not know inside a
//! pipeline stage is left to Loki, whose error then comes back per cluster.
//!
//! Regular expressions (`=~`/`!~` label matchers and label filters, `|~`/`!~`
//! line filters, the `regexp` stage) are compiled with the `regex` crate, whose
//! syntax is RE2's (Loki's) for everything a query uses; label matchers are
//! anchored the way Loki anchors them. Nesting (aggregations, parentheses) is
//! limited to [`MAX_NESTING`] levels so the recursive descent cannot overflow
//! the stack.

//!
//! Layout: [`lexer`] (characters → tokens, bracket balance), [`parser`] (the
//! recursive-descent checker and the regex checks); this file holds the
//! vocabulary and the entry point.

mod lexer;
mod parser;

use lexer::tokenize;
use parser::Parser;

/// What a valid query is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogqlKind {
    /// A stream selector with an optional pipeline: returns log lines.
    Log,
    /// A range/vector aggregation: returns samples.
    Metric,
}

/// Range aggregations: `f( <log range> )`, `quantile_over_time(φ, <log range>)`.
pub(super) const RANGE_FUNCS: &[&str] = &[
    "rate",
    "rate_counter",
    "count_over_time",
    "bytes_rate",
    "bytes_over_time",
    "sum_over_time",
    "avg_over_time",
    "max_over_time",
    "min_over_time",
    "first_over_time",
    "last_over_time",
    "stdvar_over_time",
    "stddev_over_time",
    "quantile_over_time",
    "absent_over_time",
];
/// Vector aggregations: `agg [by|without (…)] ( [param,] <metric> ) [by|without (…)]`.
pub(super) const VECTOR_AGGS: &[&str] =
    &["sum", "avg", "min", "max", "count", "stddev", "stdvar", "topk", "bottomk", "sort", "sort_desc", "approx_topk"];
pub(super) const PARAM_AGGS: &[&str] = &["topk", "bottomk", "approx_topk"];
pub(super) const BINARY_WORDS: &[&str] = &["and", "or", "unless"];

/// Deeper nesting of aggregations, parentheses and label-filter groups is
/// rejected: no real query comes close, and it keeps the recursive descent far
/// from the end of a 2 MiB worker-thread stack (the 64 KiB expression limit
/// alone allows ~12 000 levels of `sum(`).
pub const MAX_NESTING: usize = 256;

/// Validate `expr`; the error names the position (`line L, col C`).
pub fn validate(expr: &str) -> Result<LogqlKind, String> {
    let toks = tokenize(expr).map_err(|(pos, m)| at(expr, pos, &m))?;
    let mut p = Parser { toks, i: 0, len: expr.len(), depth: 0 };
    let kind = p.top().map_err(|(pos, m)| at(expr, pos, &m))?;
    Ok(kind)
}

fn at(expr: &str, pos: usize, message: &str) -> String {
    let pos = pos.min(expr.len());
    let before = &expr[..expr.floor_char_boundary_compat(pos)];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
    format!("parse error at line {line}, col {col}: {message}")
}

trait FloorBoundary {
    fn floor_char_boundary_compat(&self, i: usize) -> usize;
}

impl FloorBoundary for str {
    fn floor_char_boundary_compat(&self, mut i: usize) -> usize {
        while i > 0 && !self.is_char_boundary(i) {
            i -= 1;
        }
        i
    }
}

#[cfg(test)]
mod tests;
