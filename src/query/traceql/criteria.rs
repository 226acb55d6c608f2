//! The seed's structured trace search (service, operation, duration bounds,
//! tags) compiled to one TraceQL spanset filter.

use std::collections::BTreeMap;

use super::ATTRIBUTE_SCOPES;
use super::lexer::is_attr_char;

/// The seed's structured search criteria.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Criteria {
    pub service: Option<String>,
    pub operation: Option<String>,
    pub min_duration_ms: Option<f64>,
    pub max_duration_ms: Option<f64>,
    pub tags: BTreeMap<String, String>,
}

impl Criteria {
    pub fn is_empty(&self) -> bool {
        self.service.is_none() && self.operation.is_none() && self.min_duration_ms.is_none() && self.max_duration_ms.is_none() && self.tags.is_empty()
    }
}

/// Quote a string as a TraceQL string literal (Go's quoting: Tempo reads literals with Go's rules).
pub use crate::model::go_quote as quote;

/// A millisecond count as a TraceQL duration literal (`1500ms`, `250us`).
pub fn duration_literal(ms: f64) -> String {
    if ms.fract() == 0.0 { format!("{}ms", ms as i64) } else { format!("{}us", (ms * 1000.0).round() as i64) }
}

/// A tag key as a TraceQL attribute: scoped keys stay, the rest get `.` (any scope).
fn attribute(key: &str) -> String {
    let scoped = ["resource.", "span.", "event.", "link.", "instrumentation.", "."].iter().any(|p| key.starts_with(p));
    let name = if scoped { key.to_owned() } else { format!(".{key}") };
    // Names with characters TraceQL cannot take bare are quoted after the scope.
    if name.chars().skip(1).all(is_attr_char) {
        return name;
    }
    let (scope, bare) = match name.find('.') {
        Some(i) if i > 0 && ATTRIBUTE_SCOPES.contains(&&name[..i]) => (&name[..=i], &name[i + 1..]),
        _ => (".", &name[1..]),
    };
    format!("{scope}{}", quote(bare))
}

/// A tag value: numbers and booleans bare (matching typed attributes), else a string.
fn tag_value(v: &str) -> String {
    let t = v.trim();
    if t == "true" || t == "false" || (t.parse::<f64>().is_ok_and(f64::is_finite) && !t.starts_with('+') && !t.starts_with('.')) {
        t.to_owned()
    } else {
        quote(v)
    }
}

/// Compile criteria to one spanset filter; empty criteria → `{}`.
pub fn compile(c: &Criteria) -> String {
    let mut conds = Vec::new();
    if let Some(s) = &c.service {
        conds.push(format!("resource.service.name = {}", quote(s)));
    }
    if let Some(o) = &c.operation {
        conds.push(format!("name = {}", quote(o)));
    }
    if let Some(d) = c.min_duration_ms {
        conds.push(format!("duration >= {}", duration_literal(d)));
    }
    if let Some(d) = c.max_duration_ms {
        conds.push(format!("duration <= {}", duration_literal(d)));
    }
    for (k, v) in &c.tags {
        conds.push(format!("{} = {}", attribute(k), tag_value(v)));
    }
    if conds.is_empty() { "{}".to_owned() } else { format!("{{ {} }}", conds.join(" && ")) }
}
