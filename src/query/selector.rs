//! `clusterSelector`: clusters chosen by their labels, with Prometheus'
//! matcher syntax — `env="prod",region=~"eu-.*"` (braces optional), operators
//! `=`, `!=`, `=~`, `!~`. Regexes are anchored (`eu-.*` matches the whole
//! value), as in PromQL; a label a cluster does not have is the empty string,
//! so `env!="prod"` also selects clusters without `env`. Besides the cluster's
//! own labels a selector can match `cluster_id`, `cluster` (the name), `source`
//! (`static` or a discovery source) and `status`. Values are double-quoted
//! (`\"` and `\\` escaped) or bare (`[A-Za-z0-9_.:/-]+`).

use std::fmt;

use regex::Regex;

use crate::registry::Cluster;

/// Longest selector text accepted.
const MAX_LEN: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Re,
    NotRe,
}

#[derive(Debug, Clone)]
struct Matcher {
    label: String,
    op: Op,
    value: String,
    re: Option<Regex>,
}

/// A parsed `clusterSelector`.
#[derive(Debug, Clone)]
pub struct ClusterSelector {
    text: String,
    matchers: Vec<Matcher>,
}

impl fmt::Display for ClusterSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl ClusterSelector {
    /// Parse a selector; `Ok(None)` for an empty one (no selection).
    pub fn parse(text: &str) -> Result<Option<ClusterSelector>, String> {
        let t = text.trim();
        if t.len() > MAX_LEN {
            return Err(format!("longer than {MAX_LEN} characters"));
        }
        let inner = match t.strip_prefix('{') {
            Some(rest) => rest.strip_suffix('}').ok_or("a `{` without its `}`")?.trim(),
            None => t,
        };
        if inner.is_empty() {
            return Ok(None);
        }
        let mut matchers = Vec::new();
        let mut rest = inner;
        loop {
            let (m, after) = matcher(rest)?;
            matchers.push(m);
            let after = after.trim_start();
            if after.is_empty() {
                break;
            }
            rest = after.strip_prefix(',').ok_or_else(|| format!("expected `,` before {:?}", after.chars().take(20).collect::<String>()))?;
            rest = rest.trim_start();
            if rest.is_empty() {
                break; // a trailing comma, as PromQL allows
            }
        }
        Ok(Some(ClusterSelector { text: t.to_owned(), matchers }))
    }

    /// Does `cluster` satisfy every matcher?
    pub fn matches(&self, cluster: &Cluster) -> bool {
        self.matchers.iter().all(|m| {
            let value = match m.label.as_str() {
                "cluster_id" => cluster.id.as_str(),
                "cluster" => cluster.name.as_str(),
                "source" => cluster.source.as_str(),
                "status" => cluster.status.as_str(),
                l => cluster.labels.get(l).map(String::as_str).unwrap_or(""),
            };
            match m.op {
                Op::Eq => value == m.value,
                Op::Ne => value != m.value,
                Op::Re => m.re.as_ref().is_some_and(|r| r.is_match(value)),
                Op::NotRe => !m.re.as_ref().is_some_and(|r| r.is_match(value)),
            }
        })
    }
}

/// One `label op value` at the start of `s`; the rest after it.
fn matcher(s: &str) -> Result<(Matcher, &str), String> {
    let s = s.trim_start();
    let end = s.find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-'))).unwrap_or(s.len());
    let label = &s[..end];
    if label.is_empty() || label.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '.' || c == '/') {
        return Err(format!("expected a label name at {:?}", s.chars().take(20).collect::<String>()));
    }
    let s = s[end..].trim_start();
    let (op, s) = if let Some(r) = s.strip_prefix("=~") {
        (Op::Re, r)
    } else if let Some(r) = s.strip_prefix("!~") {
        (Op::NotRe, r)
    } else if let Some(r) = s.strip_prefix("!=") {
        (Op::Ne, r)
    } else if let Some(r) = s.strip_prefix('=') {
        (Op::Eq, r)
    } else {
        return Err(format!("expected one of =, !=, =~, !~ after {label:?}"));
    };
    let (value, rest) = value(s.trim_start()).map_err(|e| format!("{label}: {e}"))?;
    let re = match op {
        Op::Re | Op::NotRe => Some(
            regex::RegexBuilder::new(&format!("^(?:{value})$"))
                .size_limit(1 << 20)
                .build()
                .map_err(|e| format!("{label}: invalid regex {value:?}: {e}"))?,
        ),
        Op::Eq | Op::Ne => None,
    };
    Ok((Matcher { label: label.to_owned(), op, value, re }, rest))
}

/// A double-quoted or bare value at the start of `s`.
fn value(s: &str) -> Result<(String, &str), String> {
    if let Some(body) = s.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => return Ok((out, &body[i + 1..])),
                '\\' => match chars.next() {
                    Some((_, c @ ('"' | '\\'))) => out.push(c),
                    Some((_, 'n')) => out.push('\n'),
                    Some((_, c)) => {
                        // Regex escapes (`\.`, `\d`) pass through.
                        out.push('\\');
                        out.push(c);
                    }
                    None => break,
                },
                c => out.push(c),
            }
        }
        return Err("unterminated quoted value".into());
    }
    let end = s.find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '/' | '-'))).unwrap_or(s.len());
    if end == 0 {
        return Err("expected a value (quote it: \"…\")".into());
    }
    Ok((s[..end].to_owned(), &s[end..]))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::registry::Registry;

    fn clusters() -> Vec<std::sync::Arc<Cluster>> {
        let json = r#"{"clusters":[
          {"id":"east","name":"prod-east","labels":{"env":"prod","region":"eu-west-1"}},
          {"id":"west","labels":{"env":"prod","region":"us-west-2"}},
          {"id":"lab","labels":{"env":"dev"}},
          {"id":"bare"}]}"#;
        Registry::from_grafana(json.as_bytes(), &HashMap::new()).unwrap().clusters().to_vec()
    }

    fn pick(sel: &str) -> Vec<String> {
        let s = ClusterSelector::parse(sel).unwrap().unwrap();
        clusters().iter().filter(|c| s.matches(c)).map(|c| c.id.to_string()).collect()
    }

    #[test]
    fn matchers_select_by_label() {
        assert_eq!(pick(r#"env="prod",region=~"eu-.*""#), vec!["east"]);
        assert_eq!(pick(r#"{env="prod"}"#), vec!["east", "west"]);
        assert_eq!(pick(r#"env!="prod""#), vec!["lab", "bare"], "a missing label is empty");
        assert_eq!(pick(r#"region!~"eu-.*|us-.*""#), vec!["lab", "bare"]);
        assert_eq!(pick(r#"region=~"eu""#), Vec::<String>::new(), "anchored");
        assert_eq!(pick("env=dev,"), vec!["lab"], "bare values, trailing comma");
        assert_eq!(pick(r#"cluster="prod-east""#), vec!["east"]);
        assert_eq!(pick(r#"cluster_id=~"w.*|l.*",source="static",status="online""#), vec!["west", "lab"]);
        assert_eq!(pick(r#"region=~"eu\-west\-\d""#), vec!["east"], "regex escapes pass through");
    }

    #[test]
    fn bad_selectors_say_why() {
        assert!(ClusterSelector::parse("").unwrap().is_none());
        assert!(ClusterSelector::parse(" {} ").unwrap().is_none());
        for (bad, why) in [
            ("env", "expected one of"),
            ("env=~\"(\"", "invalid regex"),
            ("env=\"prod", "unterminated"),
            ("=prod", "label name"),
            ("env=prod region=eu", "expected `,`"),
            ("{env=prod", "without its"),
            ("env=", "expected a value"),
        ] {
            let err = ClusterSelector::parse(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }
}
