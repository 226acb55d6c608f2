use super::*;

const GROUPS: &[u8] = include_bytes!("../../tests/fixtures/alertmanager/alerts_groups_v2.am-0.31.0.karma-mock.json");
const WEBHOOK: &[u8] = include_bytes!("../../tests/fixtures/alertmanager/webhook_v4_firing_single_alert.alertbot-example.json");
const ORIGIN: Origin<'static> = Origin { cluster_id: "east", cluster_name: "prod-east-1" };

#[test]
fn groups_fixture_gives_each_alert_once() {
    let alerts = parse_v2_groups(GROUPS, ORIGIN).unwrap();
    // 24 group entries, 12 distinct fingerprints (recorded from Alertmanager 0.31).
    assert_eq!(alerts.len(), 12);
    assert_eq!(alerts.iter().filter(|a| a.state == AlertState::Firing).count(), 8);
    assert_eq!(alerts.iter().filter(|a| a.state == AlertState::Suppressed).count(), 4);
    let a = alerts.iter().find(|a| a.fingerprint == "aae7a1432b5d2f1b").unwrap();
    assert_eq!(a.alertname, "Free_Disk_Space_Too_Low");
    assert_eq!(a.severity, "WARNING", "no severity label → WARNING");
    assert_eq!(a.id(), "east:aae7a1432b5d2f1b");
    assert_eq!(a.starts_at_ms, 1_773_233_318_413);
    assert_eq!(a.ends_at_ms, None);
    assert_eq!(a.generator_url, "http://localhost/prometheus");
    assert_eq!(a.labels["disk"], "sda");
}

#[test]
fn webhook_fixture_is_a_valid_v4_delivery() {
    let d = parse_webhook(WEBHOOK, ORIGIN).unwrap();
    assert_eq!(d.receiver, "matrix");
    assert_eq!(d.alerts.len(), 1);
    let a = &d.alerts[0];
    assert_eq!((a.fingerprint.as_str(), a.severity.as_str(), a.state), ("9cd7837114d58797", "CRITICAL", AlertState::Firing));
    assert_eq!(a.ends_at_ms, None, "Go zero time is no end");
    assert_eq!(a.generator_url, "http://monitoring.example.com:9090/graph?g0.expr=up+%3D%3D+0&g0.tab=1");
    let t = Transition::from_alert(a, 5);
    assert_eq!((t.event.as_str(), t.at_ms), (FIRED, a.starts_at_ms));
}

#[test]
fn webhook_errors_name_the_field() {
    let text = std::str::from_utf8(WEBHOOK).unwrap();
    let cases = [
        (text.replace("\"version\":\"4\"", "\"version\":\"3\""), "`version`"),
        (text.replace("\"fingerprint\":\"9cd7837114d58797\"", "\"fingerprint\":\"\""), "`alerts[0].fingerprint`"),
        (text.replace("\"startsAt\":\"2022-06-23T11:53:14.318Z\"", "\"startsAt\":\"yesterday\""), "`alerts[0].startsAt`"),
        (text.replace("\"status\":\"firing\",\n  \"labels\"", "\"status\":\"burning\",\n  \"labels\""), "`alerts[0].status`"),
        (text.replace("\"status\":\"firing\",\n  \"labels\"", "\"status\":\"resolved\",\n  \"labels\""), "`alerts[0].endsAt`"),
        (
            text.replace("\"status\":\"firing\",\n  \"labels\"", "\"labels\"").replace("\"status\":\"firing\",\n\"alerts\"", "\"alerts\""),
            "`alerts[0].status`: missing",
        ),
        ("{\"version\":\"4\",\"alerts\":[]}".to_owned(), "`alerts`: empty"),
        ("{\"version\":\"4\"}".to_owned(), "alerts"),
        ("[1,2".to_owned(), "not a JSON object"),
        ("{\"version\":\"4\",\"alerts\":[".to_owned(), "EOF"),
    ];
    for (body, want) in cases {
        let e = parse_webhook(body.as_bytes(), ORIGIN).unwrap_err();
        assert!(e.contains(want), "want {want:?} in {e:?}");
    }
}

#[test]
fn fingerprints_are_alertmanagers() {
    // prometheus/common model/signature_test.go vectors.
    let labels = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>();
    assert_eq!(alertmanager_fingerprint(&labels(&[])), format!("{:016x}", 14_695_981_039_346_656_037_u64));
    assert_eq!(
        alertmanager_fingerprint(&labels(&[("name", "garland, briggs"), ("fear", "love is not enough")])),
        format!("{:016x}", 5_799_056_148_416_392_346_u64)
    );
    assert_eq!(alertmanager_fingerprint(&labels(&[("first-label", "first-label-value")])), format!("{:016x}", 5_146_282_821_936_882_169_u64));
    // Every alert Alertmanager 0.31 reported carries the fingerprint of its labels.
    // (The webhook example's `9cd7…` is not: it was written by hand in its source docs.)
    for a in parse_v2_groups(GROUPS, ORIGIN).unwrap() {
        assert_eq!(alertmanager_fingerprint(&a.labels), a.fingerprint, "{:?}", a.labels);
    }
}

#[test]
fn older_senders_without_status_and_fingerprint_get_alertmanagers() {
    let text = std::str::from_utf8(WEBHOOK).unwrap();
    let old = text.replace("\"status\":\"firing\",\n  \"labels\"", "\"labels\"").replace(",\n  \"fingerprint\":\"9cd7837114d58797\"", "");
    assert!(!old.contains("fingerprint") && old.matches("\"status\"").count() == 1, "only the top-level status is left");
    let d = parse_webhook(old.as_bytes(), ORIGIN).unwrap();
    assert_eq!((d.alerts[0].fingerprint.as_str(), d.alerts[0].state), ("7cdd20162ac40705", AlertState::Firing));
    assert_eq!(d.alerts[0].fingerprint, alertmanager_fingerprint(&d.alerts[0].labels));
    let resolved = old.replace("\"status\":\"firing\"", "\"status\":\"resolved\"").replace("0001-01-01T00:00:00Z", "2022-06-23T12:00:00Z");
    assert_eq!(parse_webhook(resolved.as_bytes(), ORIGIN).unwrap().alerts[0].state, AlertState::Resolved, "the group's status stands in");
}

#[test]
fn replicas_collapse_by_fingerprint() {
    let mut a = parse_v2_groups(GROUPS, ORIGIN).unwrap();
    let mut b = a.clone();
    b.truncate(5);
    for x in &mut b {
        x.updated_at_ms = x.updated_at_ms.map(|t| t + 1);
        x.annotations.insert("replica".into(), "b".into());
    }
    a.reverse();
    let merged = dedup_replicas(vec![a, b]);
    assert_eq!(merged.len(), 12);
    assert_eq!(merged.iter().filter(|x| x.replicas == 2).count(), 5);
    assert!(merged.iter().filter(|x| x.replicas == 2).all(|x| x.annotations.get("replica").map(String::as_str) == Some("b")), "newest copy wins");
}

#[test]
fn frames_have_the_documented_shape() {
    let mut alerts = parse_v2_groups(GROUPS, ORIGIN).unwrap();
    alerts[0].severity = "CRITICAL".into();
    alerts[1].severity = "PAGE".into();
    let t = alerts_frame(&alerts, "A");
    let names: Vec<&str> = t.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "id",
            "fingerprint",
            "cluster",
            "cluster_id",
            "alertname",
            "severity",
            "state",
            "labels",
            "annotations",
            "starts_at",
            "ends_at",
            "generator_url"
        ]
    );
    assert!(t.fields.iter().all(|f| f.len() == 12));
    let s = by_severity_frame(&alerts, "A");
    let counts: Vec<(String, f64)> = s
        .fields
        .iter()
        .map(|f| {
            let FieldValues::F64(v) = &f.values else { panic!() };
            (f.labels["severity"].clone(), v[0])
        })
        .collect();
    assert_eq!(counts, [("CRITICAL".into(), 1.0), ("WARNING".into(), 10.0), ("INFO".into(), 0.0), ("PAGE".into(), 1.0)]);
    assert_eq!(s.meta.as_ref().unwrap().frame_type.as_deref(), Some("numeric-wide"));
    let an = annotations_frame(&alerts, "A");
    let FieldValues::Json(tags) = &an.fields[4].values else { panic!() };
    assert!(tags[0].as_array().unwrap().iter().any(|t| t == "severity:CRITICAL"));
    assert!(tags[0].as_array().unwrap().iter().any(|t| t == "cluster:prod-east-1"));
    // Both encoders accept every frame.
    for f in [t, s, an] {
        crate::frames::arrow::encode(&f).unwrap();
    }
}
