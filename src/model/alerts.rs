//! An alert from one cluster, its state, and the fired/resolved transitions the
//! history keeps: the shapes of the seed's alert API (§4.7), shared by the
//! Alertmanager converter, the store and the query model.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// An alert's state as Fleetscope reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum AlertState {
    /// Alertmanager `active`.
    Firing,
    /// Alertmanager `unprocessed`: received, not yet routed/inhibited.
    Pending,
    /// Ended (webhook `resolved`, or stored history).
    Resolved,
    /// Alertmanager `suppressed` (silenced or inhibited).
    Suppressed,
}

impl AlertState {
    pub const ALL: [AlertState; 4] = [AlertState::Firing, AlertState::Pending, AlertState::Resolved, AlertState::Suppressed];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Firing => "FIRING",
            AlertState::Pending => "PENDING",
            AlertState::Resolved => "RESOLVED",
            AlertState::Suppressed => "SUPPRESSED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        AlertState::ALL.into_iter().find(|a| a.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

/// One alert in the seed's shape (§4.7), from one cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub fingerprint: String,
    pub cluster_id: String,
    pub cluster_name: String,
    pub alertname: String,
    /// Upper-cased `severity` label; WARNING when absent.
    pub severity: String,
    pub state: AlertState,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub starts_at_ms: i64,
    /// Only for RESOLVED alerts (an active alert's `endsAt` is a lease, not an end).
    pub ends_at_ms: Option<i64>,
    pub updated_at_ms: Option<i64>,
    pub generator_url: String,
    /// How many Alertmanager replicas of the cluster reported it (HA dedup).
    pub replicas: u32,
}

impl Alert {
    /// Unique across clusters: the same fingerprint in two clusters is two alerts.
    pub fn id(&self) -> String {
        format!("{}:{}", self.cluster_id, self.fingerprint)
    }

    /// The seed's JSON shape.
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::json!({
            "id": self.id(),
            "fingerprint": self.fingerprint,
            "cluster_id": self.cluster_id,
            "cluster_name": self.cluster_name,
            "alertname": self.alertname,
            "severity": self.severity,
            "state": self.state,
            "labels": self.labels,
            "annotations": self.annotations,
            "starts_at": rfc3339(self.starts_at_ms),
            "generator_url": self.generator_url,
        });
        if let Some(e) = self.ends_at_ms {
            v["ends_at"] = serde_json::json!(rfc3339(e));
        }
        v
    }
}

pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)).unwrap_or_default()
}

/// A fired/resolved transition, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    pub cluster_id: String,
    pub cluster_name: String,
    pub fingerprint: String,
    pub alertname: String,
    pub severity: String,
    /// ALERT_FIRED or ALERT_RESOLVED.
    pub event: String,
    /// When it happened: `starts_at` for fired, `ends_at` for resolved (ms).
    pub at_ms: i64,
    pub starts_at_ms: i64,
    pub ends_at_ms: Option<i64>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub generator_url: String,
    /// When Fleetscope first stored it (ms).
    pub received_at_ms: i64,
}

pub const FIRED: &str = "ALERT_FIRED";
pub const RESOLVED: &str = "ALERT_RESOLVED";

impl Transition {
    pub fn from_alert(a: &Alert, received_at_ms: i64) -> Self {
        let resolved = a.state == AlertState::Resolved;
        Transition {
            cluster_id: a.cluster_id.clone(),
            cluster_name: a.cluster_name.clone(),
            fingerprint: a.fingerprint.clone(),
            alertname: a.alertname.clone(),
            severity: a.severity.clone(),
            event: if resolved { RESOLVED } else { FIRED }.to_owned(),
            at_ms: if resolved { a.ends_at_ms.unwrap_or(a.starts_at_ms) } else { a.starts_at_ms },
            starts_at_ms: a.starts_at_ms,
            ends_at_ms: a.ends_at_ms,
            labels: a.labels.clone(),
            annotations: a.annotations.clone(),
            generator_url: a.generator_url.clone(),
            received_at_ms,
        }
    }

    /// Identity for idempotent storage: one transition per alert episode and event.
    pub fn key(&self) -> String {
        format!("{}|{}|{}|{}", self.cluster_id, self.fingerprint, self.starts_at_ms, self.event)
    }

    /// The alert this transition leaves behind.
    pub fn to_alert(&self) -> Alert {
        Alert {
            fingerprint: self.fingerprint.clone(),
            cluster_id: self.cluster_id.clone(),
            cluster_name: self.cluster_name.clone(),
            alertname: self.alertname.clone(),
            severity: self.severity.clone(),
            state: if self.event == RESOLVED { AlertState::Resolved } else { AlertState::Firing },
            labels: self.labels.clone(),
            annotations: self.annotations.clone(),
            starts_at_ms: self.starts_at_ms,
            ends_at_ms: self.ends_at_ms,
            updated_at_ms: Some(self.received_at_ms),
            generator_url: self.generator_url.clone(),
            replicas: 1,
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::json!({
            "id": format!("{}:{}", self.cluster_id, self.fingerprint),
            "event": self.event,
            "time": rfc3339(self.at_ms),
            "fingerprint": self.fingerprint,
            "cluster_id": self.cluster_id,
            "cluster_name": self.cluster_name,
            "alertname": self.alertname,
            "severity": self.severity,
            "labels": self.labels,
            "annotations": self.annotations,
            "starts_at": rfc3339(self.starts_at_ms),
            "generator_url": self.generator_url,
            "received_at": rfc3339(self.received_at_ms),
        });
        if let Some(e) = self.ends_at_ms {
            v["ends_at"] = serde_json::json!(rfc3339(e));
        }
        v
    }
}
