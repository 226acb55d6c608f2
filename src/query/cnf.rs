//! `queryType: cnf` — telco CNF views.
//!
//! ```json
//! {"queryType": "cnf", "cnfView": "dpdk", "pod": "ran/du-0", "port": 0, "clusters": ["east"]}
//! ```
//! `cnfView`: `workloads` (default) | `ptp` | `sriov` | `dpdk`. `pod`
//! (`namespace/name` or `name`): required for `dpdk`, a filter for
//! `workloads`; it only selects a pod from the cluster's own pod list. `port`:
//! a DPDK ethdev port id, an integer `0..32` (a JSON number or a string
//! holding one, for template variables); absent = every port `/ethdev/list`
//! names. `node`: optional node filter (ptp, sriov, workloads). Nothing here
//! reaches a command line: the DPDK commands are a fixed table in code.

use serde::Deserialize;

use super::{QueryEnvelope, QueryError};
use crate::probes::cnf::dpdk::MAX_PORTS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CnfView {
    Workloads,
    Ptp,
    Sriov,
    Dpdk,
}

impl CnfView {
    pub fn as_str(self) -> &'static str {
        match self {
            CnfView::Workloads => "workloads",
            CnfView::Ptp => "ptp",
            CnfView::Sriov => "sriov",
            CnfView::Dpdk => "dpdk",
        }
    }
}

/// A pod named by a query: `namespace/name` or `name` (any namespace).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodSelector {
    pub namespace: Option<String>,
    pub name: String,
}

impl PodSelector {
    pub fn parse(s: &str) -> Result<Option<Self>, QueryError> {
        let s = s.trim();
        if s.is_empty() || s == "$__all" || s == "All" {
            return Ok(None);
        }
        let (ns, name) = match s.split_once('/') {
            Some((ns, name)) => (Some(ns.to_owned()), name.to_owned()),
            None => (None, s.to_owned()),
        };
        // DNS-1123 names: what Kubernetes accepts for namespaces and pods.
        let ok =
            |x: &str| !x.is_empty() && x.len() <= 253 && x.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !ok(&name) || ns.as_deref().is_some_and(|n| !ok(n)) {
            return Err(QueryError::Field { field: "pod", message: format!("{s:?} is not `namespace/name` or `name` of a Kubernetes pod") });
        }
        Ok(Some(PodSelector { namespace: ns, name }))
    }

    pub fn matches(&self, namespace: &str, name: &str) -> bool {
        self.name == name && self.namespace.as_deref().is_none_or(|n| n == namespace)
    }
}

impl std::fmt::Display for PodSelector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{ns}/{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CnfQuery {
    pub view: CnfView,
    pub pod: Option<PodSelector>,
    pub port: Option<u32>,
    pub node: Option<String>,
    /// Evaluation time of the PTP metrics (the end of the panel's range), epoch ms.
    pub time_ms: i64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    #[serde(default)]
    cnf_view: Option<String>,
    #[serde(default)]
    pod: Option<String>,
    #[serde(default)]
    port: Option<serde_json::Value>,
    #[serde(default)]
    node: Option<String>,
}

/// A port id: a JSON integer, or a string holding only digits.
pub fn parse_port(v: &serde_json::Value) -> Result<Option<u32>, QueryError> {
    match v {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::Number(n) => n.as_u64().ok_or_else(|| bad_port(n.to_string())).and_then(port_id).map(Some),
        serde_json::Value::String(s) => parse_port_text(s),
        other => Err(bad_port(other.to_string())),
    }
}

/// A port id as text (a template variable's value, the API's `port`
/// parameter): only digits; empty or `$__all` = every port.
pub fn parse_port_text(s: &str) -> Result<Option<u32>, QueryError> {
    let t = s.trim();
    if t.is_empty() || t == "$__all" {
        return Ok(None);
    }
    if !t.bytes().all(|b| b.is_ascii_digit()) || t.len() > 10 {
        return Err(bad_port(format!("{s:?}")));
    }
    t.parse::<u64>().map_err(|_| bad_port(format!("{s:?}"))).and_then(port_id).map(Some)
}

/// The one range check of a port id: `0..MAX_PORTS`.
fn port_id(n: u64) -> Result<u32, QueryError> {
    if n >= u64::from(MAX_PORTS) {
        return Err(bad_port(n.to_string()));
    }
    Ok(n as u32)
}

fn bad_port(what: String) -> QueryError {
    QueryError::Field { field: "port", message: format!("{what} is not a DPDK port id (an integer 0..{})", MAX_PORTS - 1) }
}

impl CnfView {
    /// `cnfView` as the query JSON writes it; empty = `workloads`.
    pub fn parse(s: &str) -> Result<Self, QueryError> {
        match s.trim() {
            "" | "workloads" => Ok(CnfView::Workloads),
            "ptp" => Ok(CnfView::Ptp),
            "sriov" => Ok(CnfView::Sriov),
            "dpdk" => Ok(CnfView::Dpdk),
            other => Err(QueryError::Field { field: "cnfView", message: format!("{other:?} is not one of workloads, ptp, sriov, dpdk") }),
        }
    }
}

impl CnfQuery {
    /// A CNF query from typed parts: what `parse` builds from the JSON and the
    /// `/api/v1/cnf/*` handler from its parameters, with the same checks (the
    /// port's range, `dpdk` needs a pod, `node` empty/`$__all`/`All` = none).
    /// The metrics are read at the end of `env`'s range.
    pub fn new(view: CnfView, pod: Option<PodSelector>, node: Option<&str>, port: Option<u32>, env: &QueryEnvelope) -> Result<Self, QueryError> {
        let port = port.map(|p| port_id(u64::from(p))).transpose()?;
        if view == CnfView::Dpdk && pod.is_none() {
            return Err(QueryError::Field {
                field: "pod",
                message: "cnfView dpdk needs the CNF pod (`namespace/name`) whose telemetry to read".into(),
            });
        }
        let node = node.map(str::trim).filter(|n| !n.is_empty() && *n != "$__all" && *n != "All").map(str::to_owned);
        Ok(CnfQuery { view, pod, port, node, time_ms: env.time_range.to_ms })
    }

    pub fn parse(json: &[u8], env: &QueryEnvelope) -> Result<Self, QueryError> {
        let raw: Raw = serde_json::from_slice(json).map_err(|e| QueryError::Json(e.to_string()))?;
        let view = CnfView::parse(raw.cnf_view.as_deref().unwrap_or(""))?;
        let pod = PodSelector::parse(raw.pod.as_deref().unwrap_or(""))?;
        let port = parse_port(raw.port.as_ref().unwrap_or(&serde_json::Value::Null))?;
        CnfQuery::new(view, pod, raw.node.as_deref(), port, env)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::TimeRange;

    fn env() -> QueryEnvelope {
        QueryEnvelope { ref_id: "A".into(), time_range: TimeRange::new(0, 9_000).unwrap(), interval_ms: 0, max_data_points: 0 }
    }

    fn parse(s: &str) -> Result<CnfQuery, QueryError> {
        CnfQuery::parse(s.as_bytes(), &env())
    }

    #[test]
    fn views_and_defaults() {
        let q = parse(r#"{"queryType":"cnf"}"#).unwrap();
        assert_eq!((q.view, q.pod, q.port, q.time_ms), (CnfView::Workloads, None, None, 9_000));
        let q = parse(r#"{"cnfView":"dpdk","pod":"ran/du-0","port":3}"#).unwrap();
        assert_eq!((q.view, q.pod.unwrap().to_string(), q.port), (CnfView::Dpdk, "ran/du-0".to_owned(), Some(3)));
        assert_eq!(parse(r#"{"cnfView":"dpdk","pod":"du-0","port":"31"}"#).unwrap().port, Some(31));
        assert_eq!(parse(r#"{"cnfView":"ptp","node":" w1 "}"#).unwrap().node.as_deref(), Some("w1"));
    }

    #[test]
    fn port_must_be_an_integer_id() {
        for bad in [r#""0; reboot""#, r#""1,2""#, "1.5", "-1", "32", r#""0x1""#, "true", r#""/ethdev/stats,0""#] {
            let e = parse(&format!(r#"{{"cnfView":"dpdk","pod":"ran/du-0","port":{bad}}}"#)).unwrap_err();
            assert!(e.to_string().starts_with("field `port`:"), "{bad}: {e}");
            assert_eq!(crate::error::FleetError::from(e).code, crate::error::ErrorCode::InvalidQuery);
        }
    }

    #[test]
    fn bad_fields_are_named() {
        assert!(parse(r#"{"cnfView":"bash"}"#).unwrap_err().to_string().contains("`cnfView`"));
        assert!(parse(r#"{"cnfView":"dpdk"}"#).unwrap_err().to_string().contains("`pod`"));
        assert!(parse(r#"{"cnfView":"dpdk","pod":"ran/du-0 -- sh"}"#).unwrap_err().to_string().contains("`pod`"));
        assert!(parse(r#"{"cnfView":"dpdk","pod":"a/b/c"}"#).unwrap_err().to_string().contains("`pod`"));
    }

    /// The typed constructor and the JSON parser agree, on good input and bad.
    #[test]
    fn constructor_matches_parse() {
        let typed = CnfQuery::new(CnfView::Dpdk, PodSelector::parse("ran/du-0").unwrap(), Some(" w1 "), parse_port_text("3").unwrap(), &env());
        assert_eq!(typed, parse(r#"{"cnfView":"dpdk","pod":"ran/du-0","node":" w1 ","port":"3"}"#));
        assert_eq!(typed.unwrap().port, Some(3));
        let typed = CnfQuery::new(CnfView::Ptp, None, Some("$__all"), None, &env());
        assert_eq!(typed, parse(r#"{"cnfView":"ptp","node":"$__all"}"#));
        // Invalid: dpdk without a pod; a port out of range, typed or as text.
        assert_eq!(CnfQuery::new(CnfView::Dpdk, None, None, None, &env()), parse(r#"{"cnfView":"dpdk"}"#));
        let pod = PodSelector::parse("du-0").unwrap();
        let typed = CnfQuery::new(CnfView::Dpdk, pod, None, Some(32), &env());
        assert_eq!(typed, parse(r#"{"cnfView":"dpdk","pod":"du-0","port":32}"#));
        assert!(typed.unwrap_err().to_string().starts_with("field `port`:"));
        assert_eq!(parse_port_text("0; reboot").map(|_| ()), parse(r#"{"cnfView":"dpdk","pod":"du-0","port":"0; reboot"}"#).map(|_| ()));
    }
}
