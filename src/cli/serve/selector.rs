//! Kubernetes-style label selectors over cluster labels, for `serve` tokens
//! restricted with `clusterSelector`.
//!
//! The grammar is Kubernetes' (`k8s.io/apimachinery/pkg/labels`):
//! requirements joined by commas, all of which must hold —
//! `key=value`, `key==value`, `key!=value`, `key in (a,b)`, `key notin (a,b)`,
//! `key` (the label exists), `!key` (it does not). As in Kubernetes, `!=` and
//! `notin` also match clusters that lack the label entirely.

use std::collections::BTreeMap;

/// A parsed selector; the empty selector matches every cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector(Vec<Requirement>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    DoesNotExist(String),
}

impl Selector {
    /// Parse `text`; the error says which requirement is wrong and why.
    pub fn parse(text: &str) -> Result<Selector, String> {
        let mut out = Vec::new();
        for part in split_top_level(text)? {
            let part = part.trim();
            if part.is_empty() {
                if text.trim().is_empty() {
                    break;
                }
                return Err(format!("empty requirement in {text:?}"));
            }
            out.push(Requirement::parse(part)?);
        }
        Ok(Selector(out))
    }

    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.0.iter().all(|r| r.matches(labels))
    }
}

/// Split at commas that are not inside `( … )`.
fn split_top_level(text: &str) -> Result<Vec<&str>, String> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in text.char_indices() {
        match c {
            '(' if depth == 0 => depth = 1,
            '(' => return Err(format!("nested parenthesis at byte {i} of {text:?}")),
            ')' if depth == 1 => depth = 0,
            ')' => return Err(format!("unbalanced ')' at byte {i} of {text:?}")),
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(format!("unclosed '(' in {text:?}"));
    }
    parts.push(&text[start..]);
    Ok(parts)
}

fn valid_key(k: &str) -> bool {
    !k.is_empty() && k.len() <= 253 && k.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
}

fn valid_value(v: &str) -> bool {
    v.len() <= 63 && v.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn key(k: &str, req: &str) -> Result<String, String> {
    let k = k.trim();
    if valid_key(k) { Ok(k.to_owned()) } else { Err(format!("{req:?}: {k:?} is not a label key")) }
}

fn value(v: &str, req: &str) -> Result<String, String> {
    let v = v.trim();
    if valid_value(v) { Ok(v.to_owned()) } else { Err(format!("{req:?}: {v:?} is not a label value")) }
}

impl Requirement {
    fn parse(req: &str) -> Result<Requirement, String> {
        if let Some(k) = req.strip_prefix('!') {
            return Ok(Requirement::DoesNotExist(key(k, req)?));
        }
        if let Some((k, v)) = req.split_once("!=") {
            return Ok(Requirement::NotEquals(key(k, req)?, value(v, req)?));
        }
        if let Some((k, v)) = req.split_once("==").or_else(|| req.split_once('=')) {
            return Ok(Requirement::Equals(key(k, req)?, value(v, req)?));
        }
        if let Some(open) = req.find('(') {
            let head = req[..open].trim();
            let Some(list) = req[open + 1..].trim_end().strip_suffix(')') else {
                return Err(format!("{req:?}: expected `key in (a,b)`"));
            };
            let values = list.split(',').map(|v| value(v, req)).collect::<Result<Vec<_>, _>>()?;
            let (k, op) = head.rsplit_once(char::is_whitespace).ok_or_else(|| format!("{req:?}: expected `key in (…)` or `key notin (…)`"))?;
            return match op {
                "in" => Ok(Requirement::In(key(k, req)?, values)),
                "notin" => Ok(Requirement::NotIn(key(k, req)?, values)),
                _ => Err(format!("{req:?}: unknown operator {op:?} (expected in or notin)")),
            };
        }
        Ok(Requirement::Exists(key(req, req)?))
    }

    fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        match self {
            Requirement::Equals(k, v) => labels.get(k) == Some(v),
            Requirement::NotEquals(k, v) => labels.get(k) != Some(v),
            Requirement::In(k, vs) => labels.get(k).is_some_and(|l| vs.contains(l)),
            Requirement::NotIn(k, vs) => labels.get(k).is_none_or(|l| !vs.contains(l)),
            Requirement::Exists(k) => labels.contains_key(k),
            Requirement::DoesNotExist(k) => !labels.contains_key(k),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn kubernetes_semantics() {
        let prod_eu = labels(&[("env", "prod"), ("region", "eu")]);
        let dev = labels(&[("env", "dev")]);
        let cases = [
            ("env=prod", true, false),
            ("env==prod", true, false),
            ("env!=prod", false, true),
            ("region in (eu, us)", true, false),
            ("region notin (eu)", false, true),
            ("region", true, false),
            ("!region", false, true),
            ("env=prod,region in (us)", false, false),
            ("", true, true),
        ];
        for (sel, a, b) in cases {
            let s = Selector::parse(sel).unwrap_or_else(|e| panic!("{sel}: {e}"));
            assert_eq!((s.matches(&prod_eu), s.matches(&dev)), (a, b), "{sel}");
        }
    }

    #[test]
    fn errors_name_the_requirement() {
        for (sel, needle) in
            [("env=prod,", "empty requirement"), ("region in (eu", "unclosed"), ("region within (eu)", "unknown operator"), ("env=pr od", "pr od")]
        {
            let e = Selector::parse(sel).unwrap_err();
            assert!(e.contains(needle), "{sel}: {e}");
        }
    }
}
