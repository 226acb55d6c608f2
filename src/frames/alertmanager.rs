//! Alertmanager bodies (API v2 alert lists, webhook payload v4) → [`Alert`]s →
//! Grafana frames (alerts table, `by_severity` counts, history, annotations).
//!
//! Parsing goes straight from bytes into typed structs with serde's derived
//! visitors (strings borrowed where the input allows); no `serde_json::Value`.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Field, FieldValues, Frame, FrameMeta};
pub use crate::model::alerts::{Alert, AlertState, FIRED, RESOLVED, Transition, rfc3339};

/// Upper-cased severity, WARNING when the label is absent or empty.
pub fn severity_of(labels: &BTreeMap<String, String>) -> String {
    labels.get("severity").map(|s| s.trim().to_ascii_uppercase()).filter(|s| !s.is_empty()).unwrap_or_else(|| "WARNING".into())
}

/// RFC 3339 → epoch ms; Go's zero time (`0001-01-01T00:00:00Z`) and anything
/// before 1970 → None.
pub fn parse_time(s: &str) -> Result<Option<i64>, String> {
    if s.is_empty() {
        return Ok(None);
    }
    let t = chrono::DateTime::parse_from_rfc3339(s).map_err(|e| format!("{s:?} is not an RFC 3339 time ({e})"))?;
    let ms = t.timestamp_millis();
    Ok((ms > 0).then_some(ms))
}

#[derive(Deserialize)]
struct V2Status<'a> {
    #[serde(borrow)]
    state: Cow<'a, str>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct V2Alert<'a> {
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(borrow)]
    fingerprint: Cow<'a, str>,
    #[serde(borrow)]
    starts_at: Cow<'a, str>,
    #[serde(borrow, default)]
    updated_at: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "generatorURL")]
    generator_url: Option<Cow<'a, str>>,
    #[serde(borrow)]
    status: V2Status<'a>,
}

/// Where an alert came from (filled into every parsed alert).
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    pub cluster_id: &'a str,
    pub cluster_name: &'a str,
}

/// Parse `GET /api/v2/alerts` (a JSON array of gettable alerts).
pub fn parse_v2_alerts(body: &[u8], origin: Origin<'_>) -> Result<Vec<Alert>, String> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    let raw: Vec<V2Alert> = serde_path_to_error::deserialize(de).map_err(|e| format!("at `{}`: {}", e.path(), e.inner()))?;
    raw.into_iter().map(|a| convert_v2(a, origin)).collect()
}

fn convert_v2(a: V2Alert<'_>, origin: Origin<'_>) -> Result<Alert, String> {
    let state = match a.status.state.as_ref() {
        "active" => AlertState::Firing,
        "suppressed" => AlertState::Suppressed,
        "unprocessed" => AlertState::Pending,
        other => return Err(format!("alert {}: unknown status.state {other:?}", a.fingerprint)),
    };
    Ok(Alert {
        fingerprint: a.fingerprint.into_owned(),
        cluster_id: origin.cluster_id.to_owned(),
        cluster_name: origin.cluster_name.to_owned(),
        alertname: a.labels.get("alertname").cloned().unwrap_or_default(),
        severity: severity_of(&a.labels),
        state,
        starts_at_ms: parse_time(&a.starts_at)?.unwrap_or(0),
        ends_at_ms: None,
        updated_at_ms: a.updated_at.as_deref().map(parse_time).transpose()?.flatten(),
        generator_url: a.generator_url.map(Cow::into_owned).unwrap_or_default(),
        labels: a.labels,
        annotations: a.annotations,
        replicas: 1,
    })
}

/// Parse `GET /api/v2/alerts/groups` into its alerts, each once (an alert routed
/// to several receivers appears in several groups).
pub fn parse_v2_groups(body: &[u8], origin: Origin<'_>) -> Result<Vec<Alert>, String> {
    #[derive(Deserialize)]
    struct Group<'a> {
        #[serde(borrow)]
        alerts: Vec<V2Alert<'a>>,
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    let groups: Vec<Group> = serde_path_to_error::deserialize(de).map_err(|e| format!("at `{}`: {}", e.path(), e.inner()))?;
    let mut out: Vec<Alert> = Vec::new();
    for g in groups {
        for a in g.alerts {
            if !out.iter().any(|o| o.fingerprint == a.fingerprint) {
                out.push(convert_v2(a, origin)?);
            }
        }
    }
    Ok(out)
}

/// Merge the alert lists of a cluster's HA replicas: one alert per fingerprint,
/// the most recently updated copy wins, `replicas` counts the copies.
pub fn dedup_replicas(lists: Vec<Vec<Alert>>) -> Vec<Alert> {
    let mut by_fp: BTreeMap<String, Alert> = BTreeMap::new();
    for list in lists {
        for a in list {
            match by_fp.get_mut(&a.fingerprint) {
                None => {
                    by_fp.insert(a.fingerprint.clone(), a);
                }
                Some(seen) => {
                    let replicas = seen.replicas + a.replicas;
                    if a.updated_at_ms > seen.updated_at_ms {
                        *seen = a;
                    }
                    seen.replicas = replicas;
                }
            }
        }
    }
    by_fp.into_values().collect()
}

// ---------------------------------------------------------------- webhook v4

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WebhookPayload<'a> {
    #[serde(borrow)]
    version: Cow<'a, str>,
    #[serde(borrow, default)]
    receiver: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    group_key: Option<Cow<'a, str>>,
    /// The group's status; stands in for alerts that carry none (older senders).
    #[serde(borrow, default)]
    status: Option<Cow<'a, str>>,
    alerts: Vec<WebhookAlert<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WebhookAlert<'a> {
    #[serde(borrow, default)]
    status: Option<Cow<'a, str>>,
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(borrow)]
    starts_at: Cow<'a, str>,
    #[serde(borrow, default)]
    ends_at: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "generatorURL")]
    generator_url: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    fingerprint: Option<Cow<'a, str>>,
}

/// A validated webhook delivery.
#[derive(Debug, Clone)]
pub struct WebhookDelivery {
    pub receiver: String,
    pub group_key: String,
    pub alerts: Vec<Alert>,
}

/// Alertmanager's fingerprint of a label set (prometheus/common `model`
/// `labelSetToFingerprint`): FNV-1a 64 over the label names in byte order, each
/// name and each value followed by the separator byte 0xff, as 16 lower-case
/// hex digits. Older webhook senders omit `fingerprint`; this gives the same
/// identity Alertmanager's API reports, so history and live state line up.
pub fn alertmanager_fingerprint(labels: &BTreeMap<String, String>) -> String {
    const OFFSET: u64 = 14_695_981_039_346_656_037;
    const PRIME: u64 = 1_099_511_628_211;
    const SEPARATOR: u8 = 0xff;
    let mut h = OFFSET;
    let mut add = |bytes: &[u8]| {
        for b in bytes.iter().chain(std::iter::once(&SEPARATOR)) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(PRIME);
        }
    };
    // BTreeMap iterates in byte order of the names, as Go's sort.Strings.
    for (name, value) in labels {
        add(name.as_bytes());
        add(value.as_bytes());
    }
    format!("{h:016x}")
}

/// Parse and validate an Alertmanager webhook payload (version 4). Errors name
/// the offending field (`alerts[0].startsAt: …`). An alert without `status`
/// takes the payload's top-level `status`; one without `fingerprint` gets
/// [`alertmanager_fingerprint`] of its labels.
pub fn parse_webhook(body: &[u8], origin: Origin<'_>) -> Result<WebhookDelivery, String> {
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err("not a JSON object (an Alertmanager webhook payload, version 4, is expected)".into());
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    let p: WebhookPayload = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        if path == "." { e.inner().to_string() } else { format!("`{path}`: {}", e.inner()) }
    })?;
    if p.version != "4" {
        return Err(format!("`version`: {:?} is not supported (Alertmanager webhook payload version 4 expected)", p.version));
    }
    if p.alerts.is_empty() {
        return Err("`alerts`: empty (a delivery carries at least one alert)".into());
    }
    let mut alerts = Vec::with_capacity(p.alerts.len());
    for (i, a) in p.alerts.into_iter().enumerate() {
        let field = |f: &str, m: String| format!("`alerts[{i}].{f}`: {m}");
        let fingerprint = match a.fingerprint {
            Some(f) if f.trim().is_empty() => return Err(field("fingerprint", "empty".into())),
            Some(f) => f.into_owned(),
            None => alertmanager_fingerprint(&a.labels),
        };
        let state = match a.status.as_deref().or(p.status.as_deref()) {
            Some("firing") => AlertState::Firing,
            Some("resolved") => AlertState::Resolved,
            Some(other) => return Err(field("status", format!("{other:?} is neither \"firing\" nor \"resolved\""))),
            None => return Err(field("status", "missing, and the payload has no top-level `status` to stand in".into())),
        };
        let starts = parse_time(&a.starts_at).map_err(|m| field("startsAt", m))?.ok_or_else(|| field("startsAt", "zero time".into()))?;
        let ends = a.ends_at.as_deref().map(parse_time).transpose().map_err(|m| field("endsAt", m))?.flatten();
        if state == AlertState::Resolved && ends.is_none() {
            return Err(field("endsAt", "a resolved alert needs its end time".into()));
        }
        alerts.push(Alert {
            fingerprint,
            cluster_id: origin.cluster_id.to_owned(),
            cluster_name: origin.cluster_name.to_owned(),
            alertname: a.labels.get("alertname").cloned().unwrap_or_default(),
            severity: severity_of(&a.labels),
            state,
            starts_at_ms: starts,
            ends_at_ms: if state == AlertState::Resolved { ends } else { None },
            updated_at_ms: None,
            generator_url: a.generator_url.map(Cow::into_owned).unwrap_or_default(),
            labels: a.labels,
            annotations: a.annotations,
            replicas: 1,
        });
    }
    Ok(WebhookDelivery {
        receiver: p.receiver.map(Cow::into_owned).unwrap_or_default(),
        group_key: p.group_key.map(Cow::into_owned).unwrap_or_default(),
        alerts,
    })
}

// ---------------------------------------------------------------- history

// ---------------------------------------------------------------- frames

const MS_NS: i64 = 1_000_000;

fn json_map(m: &BTreeMap<String, String>) -> serde_json::Value {
    serde_json::Value::Object(m.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))).collect())
}

/// The alerts table (one row per alert and cluster).
pub fn alerts_frame(alerts: &[Alert], ref_id: &str) -> Frame {
    let col = |f: fn(&Alert) -> String| FieldValues::Str(alerts.iter().map(f).collect());
    let meta = FrameMeta { preferred_visualisation_type: Some("table".into()), ..FrameMeta::default() };
    Frame {
        name: "alerts".into(),
        ref_id: ref_id.into(),
        meta: Some(meta),
        fields: vec![
            Field::new("id", col(Alert::id)),
            Field::new("fingerprint", col(|a| a.fingerprint.clone())),
            Field::new("cluster", col(|a| a.cluster_name.clone())),
            Field::new("cluster_id", col(|a| a.cluster_id.clone())),
            Field::new("alertname", col(|a| a.alertname.clone())),
            Field::new("severity", col(|a| a.severity.clone())),
            Field::new("state", col(|a| a.state.as_str().to_owned())),
            Field::new("labels", FieldValues::Json(alerts.iter().map(|a| json_map(&a.labels)).collect())),
            Field::new("annotations", FieldValues::Json(alerts.iter().map(|a| json_map(&a.annotations)).collect())),
            Field::new("starts_at", FieldValues::TimeNs(alerts.iter().map(|a| a.starts_at_ms * MS_NS).collect())),
            Field::new("ends_at", FieldValues::NullableTimeNs(alerts.iter().map(|a| a.ends_at_ms.map(|e| e * MS_NS)).collect())),
            Field::new("generator_url", col(|a| a.generator_url.clone())),
        ],
    }
}

/// Severities always present in counts (zero when none), so alert rules on a
/// severity never see "no data".
pub const SEVERITIES: [&str; 3] = ["CRITICAL", "WARNING", "INFO"];

/// Alert count per severity, in order CRITICAL, WARNING, INFO, then others.
pub fn severity_counts(alerts: &[Alert]) -> Vec<(String, u64)> {
    let mut counts: Vec<(String, u64)> = SEVERITIES.iter().map(|s| ((*s).to_owned(), 0)).collect();
    for a in alerts {
        match counts.iter_mut().find(|(s, _)| *s == a.severity) {
            Some((_, n)) => *n += 1,
            None => counts.push((a.severity.clone(), 1)),
        }
    }
    counts
}

/// `by_severity`: a data-plane `numeric-wide` frame, one numeric field per
/// severity labelled `severity=<S>` (what Grafana alert rules read as one
/// series per severity).
pub fn by_severity_frame(alerts: &[Alert], ref_id: &str) -> Frame {
    let fields = severity_counts(alerts)
        .into_iter()
        .map(|(sev, n)| Field::new("alerts", FieldValues::F64(vec![n as f64])).with_labels([("severity".to_owned(), sev)].into()))
        .collect();
    Frame { name: "by_severity".into(), ref_id: ref_id.into(), meta: Some(FrameMeta::dataplane("numeric-wide")), fields }
}

/// History: one row per stored transition, newest first.
pub fn history_frame(events: &[Transition], ref_id: &str) -> Frame {
    let col = |f: fn(&Transition) -> String| FieldValues::Str(events.iter().map(f).collect());
    Frame {
        name: "alert_history".into(),
        ref_id: ref_id.into(),
        meta: Some(FrameMeta { preferred_visualisation_type: Some("table".into()), ..FrameMeta::default() }),
        fields: vec![
            Field::new("time", FieldValues::TimeNs(events.iter().map(|e| e.at_ms * MS_NS).collect())),
            Field::new("event", col(|e| e.event.clone())),
            Field::new("fingerprint", col(|e| e.fingerprint.clone())),
            Field::new("cluster", col(|e| e.cluster_name.clone())),
            Field::new("cluster_id", col(|e| e.cluster_id.clone())),
            Field::new("alertname", col(|e| e.alertname.clone())),
            Field::new("severity", col(|e| e.severity.clone())),
            Field::new("state", col(|e| if e.event == RESOLVED { "RESOLVED".into() } else { "FIRING".into() })),
            Field::new("labels", FieldValues::Json(events.iter().map(|e| json_map(&e.labels)).collect())),
            Field::new("annotations", FieldValues::Json(events.iter().map(|e| json_map(&e.annotations)).collect())),
            Field::new("starts_at", FieldValues::TimeNs(events.iter().map(|e| e.starts_at_ms * MS_NS).collect())),
            Field::new("ends_at", FieldValues::NullableTimeNs(events.iter().map(|e| e.ends_at_ms.map(|t| t * MS_NS)).collect())),
            Field::new("generator_url", col(|e| e.generator_url.clone())),
        ],
    }
}

/// Annotation events: one region per alert episode (time = start, timeEnd =
/// end when resolved), title = alertname, text = summary/description, tags =
/// `cluster:<name>`, `cluster_id:<id>`, `severity:<S>`, `state:<S>`, alertname.
/// Grafana's annotation support reads these field names from the frame.
pub fn annotations_frame(alerts: &[Alert], ref_id: &str) -> Frame {
    let text = |a: &Alert| {
        let summary = a.annotations.get("summary").or_else(|| a.annotations.get("description")).cloned().unwrap_or_default();
        let head = format!("{} {} on {}", a.severity, a.state.as_str(), a.cluster_name);
        if summary.is_empty() { head } else { format!("{head}: {summary}") }
    };
    let tags = |a: &Alert| {
        serde_json::json!([
            format!("cluster:{}", a.cluster_name),
            format!("cluster_id:{}", a.cluster_id),
            format!("severity:{}", a.severity),
            format!("state:{}", a.state.as_str()),
            a.alertname,
        ])
    };
    Frame {
        name: "annotations".into(),
        ref_id: ref_id.into(),
        meta: None,
        fields: vec![
            Field::new("time", FieldValues::TimeNs(alerts.iter().map(|a| a.starts_at_ms * MS_NS).collect())),
            Field::new("timeEnd", FieldValues::NullableTimeNs(alerts.iter().map(|a| a.ends_at_ms.map(|e| e * MS_NS)).collect())),
            Field::new("title", FieldValues::Str(alerts.iter().map(|a| a.alertname.clone()).collect())),
            Field::new("text", FieldValues::Str(alerts.iter().map(text).collect())),
            Field::new("tags", FieldValues::Json(alerts.iter().map(tags).collect())),
            Field::new("id", FieldValues::Str(alerts.iter().map(Alert::id).collect())),
        ],
    }
}

#[cfg(test)]
#[path = "alertmanager_tests.rs"]
mod tests;
