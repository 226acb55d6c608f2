//! Names a user types that travel to an upstream inside a URL, validated once
//! here; the upstream clients take these types, never bare strings, so nothing
//! unchecked reaches a path.
//!
//! * [`LabelName`]: a Prometheus or Loki label name (`[A-Za-z_][A-Za-z0-9_]*`,
//!   at most 256 bytes); it becomes a path segment of `label/<name>/values`.
//! * [`TagName`]: a Tempo tag as `/api/v2/search/tag/<tag>/values` takes it: an
//!   intrinsic (`status`, `span:name`, `trace:rootService`) or an attribute
//!   (`.name` in any scope, or `<scope>.name`).
//!
//! Trace IDs are `crate::model::trace_id::TraceId` (the converters normalise
//! the IDs in Tempo's answers with the same rule).

use std::fmt;

/// A validated Prometheus / Loki label name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LabelName(String);

impl LabelName {
    /// The name, or the error message a user sees.
    pub fn new(name: &str) -> Result<Self, String> {
        let mut chars = name.chars();
        let ok = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
            && name.len() <= 256;
        if ok { Ok(LabelName(name.to_owned())) } else { Err(format!("{name:?} is not a valid label name")) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LabelName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Attribute scopes of a scoped tag name (`span.http.route`).
const TAG_SCOPES: &[&str] = &["resource", "span", "event", "link", "instrumentation"];
/// Scopes of a scoped intrinsic (`span:name`, `trace:rootService`).
const INTRINSIC_SCOPES: &[&str] = &["span", "trace", "event", "link", "instrumentation"];

/// A validated Tempo tag name:
///
/// * an intrinsic: a word (`status`, `name`, `rootServiceName`) or a scoped
///   intrinsic (`span:name`, `trace:rootService`, `event:timeSinceStart`);
/// * an attribute: `.name` (any scope) or `<scope>.name` with scope one of
///   resource, span, event, link, instrumentation; the name is dot-separated
///   parts of letters, digits, `_`, `-` and `:`.
///
/// Nothing else: no `/`, `%`, `?`, `#`, `\`, spaces or control characters, no
/// empty part, so no `.` or `..` (the client encodes the segment as well).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TagName(String);

impl TagName {
    /// The tag, or the error message a user sees.
    pub fn new(tag: &str) -> Result<Self, String> {
        if valid_tag(tag) {
            Ok(TagName(tag.to_owned()))
        } else {
            Err(format!(
                "{tag:?} is not a tag name: a scoped attribute (resource.service.name, span.http.route, .http.route) or an intrinsic (status, span:name)"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TagName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn valid_tag(tag: &str) -> bool {
    let word =
        |w: &str| w.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_') && w.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let attribute = |a: &str| {
        !a.is_empty() && a.split('.').all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ':')))
    };
    if tag.is_empty() || tag.len() > 256 {
        return false;
    }
    if let Some(name) = tag.strip_prefix('.') {
        return attribute(name);
    }
    if let Some((scope, name)) = tag.split_once('.') {
        return TAG_SCOPES.contains(&scope) && attribute(name);
    }
    match tag.split_once(':') {
        Some((scope, name)) => INTRINSIC_SCOPES.contains(&scope) && word(name),
        None => word(tag),
    }
}

#[cfg(test)]
mod tests {
    use super::{LabelName, TagName, valid_tag};

    #[test]
    fn tag_names_are_scoped_attributes_or_intrinsics() {
        for ok in [
            "status",
            "name",
            "rootServiceName",
            "span:name",
            "trace:rootService",
            "event:timeSinceStart",
            "resource.service.name",
            "span.http.route",
            ".http.route",
            "resource.k8s.pod-name",
            "span.db.system_name",
            "instrumentation.name",
        ] {
            assert!(valid_tag(ok), "{ok:?}");
        }
        for bad in [
            "",
            ".",
            "..",
            "...",
            "a/b",
            "a/../../status",
            "%2e%2e",
            "..%2F..%2Fapi",
            "x?y",
            "x#y",
            "a b",
            "a\\b",
            "a\0b",
            "tab\t",
            "resource.",
            "span..x",
            ".a.",
            "http.route",
            "bogus:name",
            "span:",
            "span:a.b",
            "@127.0.0.1:9",
            "café",
            "a%00b",
        ] {
            assert!(!valid_tag(bad), "{bad:?}");
        }
        assert!(!valid_tag(&format!("span.{}", "a".repeat(300))));
    }

    #[test]
    fn tag_name_says_why() {
        assert_eq!(TagName::new("span.http.route").map(|t| t.to_string()).as_deref(), Ok("span.http.route"));
        assert!(TagName::new("a/../status").unwrap_err().contains("is not a tag name"));
    }

    #[test]
    fn label_names_are_identifiers() {
        for ok in ["job", "_x", "a1_b", &"a".repeat(256)] {
            assert_eq!(LabelName::new(ok).map(|l| l.as_str().to_owned()).as_deref(), Ok(ok));
        }
        for bad in ["", "1a", "a-b", "a.b", "a/b", "é", "a b", &"a".repeat(257)] {
            assert_eq!(LabelName::new(bad).unwrap_err(), format!("{bad:?} is not a valid label name"));
        }
    }
}
