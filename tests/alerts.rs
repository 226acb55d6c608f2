//! Alerts against real servers: the stack's Alertmanager (cluster `east`), two
//! more Alertmanagers started here as HA replicas of cluster `ha`, the real
//! Redis of the stack, and the release binary's `serve` killed with SIGKILL
//! between webhook deliveries. Run through `make test` (FLEETSCOPE_STACK_ENV).

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use fleetscope::api::{self, ApiRequest};
use fleetscope::federation::{self, Federation};
use fleetscope::frames::{FieldValues, Frame};
use fleetscope::query::{self, QueryEnvelope, TimeRange};
use fleetscope::registry::Registry;
use fleetscope::store::sqlite::SqliteStore;
use fleetscope::store::{AlertStore, HistoryFilter};
use serde_json::{Value, json};

const WEBHOOK: &str = include_str!("fixtures/alertmanager/webhook_v4_firing_single_alert.alertbot-example.json");

use crate::support::ports::reserve as free_port;
use crate::support::stack_env::stack_env;
use crate::support::temp::TempDir;

/// A unique token per call (labels, prefixes, temp dirs).
fn run_id() -> String {
    let ns = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{}-{ns}", std::process::id())
}

fn temp_dir(tag: &str) -> TempDir {
    crate::support::temp::dir(&format!("alerts-test-{tag}"))
}

/// A child process killed (SIGKILL) and reaped on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn wait_http_ok(url: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let client = reqwest::Client::new();
    loop {
        if let Ok(r) = client.get(url).send().await
            && r.status().is_success()
        {
            return;
        }
        assert!(Instant::now() < deadline, "{url} not ready within 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Start an extra real Alertmanager (gossip off, own storage, free port).
async fn start_alertmanager(dir: &Path) -> (Proc, String) {
    start_alertmanager_with(dir, "route:\n  receiver: \"null\"\nreceivers:\n  - name: \"null\"\n").await
}

/// Start a real Alertmanager whose only receiver is a webhook to `webhook_url`
/// with `secret` as bearer token; groups are sent at once and every second.
async fn start_alertmanager_with_webhook(dir: &Path, webhook_url: &str, secret: &str) -> (Proc, String) {
    start_alertmanager_with(
        dir,
        &format!(
            "route:\n  receiver: fleetscope\n  group_by: [alertname]\n  group_wait: 0s\n  group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n  - name: fleetscope\n    webhook_configs:\n      - url: {webhook_url}\n        send_resolved: true\n        http_config:\n          authorization: {{type: Bearer, credentials: {secret}}}\n"
        ),
    )
    .await
}

/// A real Alertmanager on `config` (debug log in `dir/alertmanager.log`, for
/// the failure messages of [`am_log`]); ready, and still our own process.
async fn start_alertmanager_with(dir: &Path, config: &str) -> (Proc, String) {
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let cfg = dir.join("alertmanager.yml");
    std::fs::write(&cfg, config).unwrap();
    let port = free_port();
    let child = Command::new("prometheus-alertmanager")
        .arg(format!("--config.file={}", cfg.display()))
        .arg(format!("--storage.path={}", dir.join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .arg("--log.level=debug")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("alertmanager.log")).unwrap())
        .spawn()
        .expect("prometheus-alertmanager must be installed (tests/stack/install-deps.sh)");
    let url = format!("http://127.0.0.1:{port}");
    let mut proc = Proc(child);
    wait_http_ok(&format!("{url}/-/ready")).await;
    // Ready on our port, and it is ours: an Alertmanager that could not listen has exited.
    assert!(proc.0.try_wait().unwrap().is_none(), "Alertmanager on {url} exited: {}", am_log(dir));
    (proc, url)
}

/// The last lines of the log of the Alertmanager started in `dir`.
fn am_log(dir: &Path) -> String {
    log_tail(&dir.join("alertmanager.log"))
}

/// The last 40 lines of a child's log, for a failure message.
fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| format!("({}: {e})", path.display()));
    let lines: Vec<&str> = text.lines().collect();
    format!("\n--- {} (last 40 lines) ---\n{}", path.display(), lines[lines.len().saturating_sub(40)..].join("\n"))
}

/// POST alerts to a real Alertmanager's API.
async fn post_alerts(am: &str, alerts: Value) {
    let r = reqwest::Client::new()
        .post(format!("{am}/api/v2/alerts"))
        .header("content-type", "application/json")
        .body(alerts.to_string())
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "posting alerts to {am}: {}", r.status());
}

fn am_alert(run: &str, name: &str, severity: Option<&str>, extra: &[(&str, &str)]) -> Value {
    let mut labels = json!({ "alertname": name, "test_run": run });
    if let Some(s) = severity {
        labels["severity"] = json!(s);
    }
    for (k, v) in extra {
        labels[*k] = json!(v);
    }
    let starts = chrono::Utc::now() - chrono::Duration::minutes(5);
    let ends = chrono::Utc::now() + chrono::Duration::hours(1);
    json!({
        "labels": labels,
        "annotations": { "summary": format!("{name} summary") },
        "startsAt": starts.to_rfc3339(),
        "endsAt": ends.to_rfc3339(),
        "generatorURL": format!("http://prometheus.example/graph?g0.expr={name}"),
    })
}

fn settings_yaml(clusters: &str, extra_json_data: &str, secure: &str) -> String {
    format!(
        "jsonData:\n  query: {{timeoutSeconds: 3, retryAttempts: 1, retryDelaySeconds: 0.05}}\n{extra_json_data}  clusters:\n{clusters}secureJsonData:\n{secure}"
    )
}

fn fed(yaml: &str) -> Arc<Federation> {
    Arc::new(Federation::new(Registry::from_yaml(yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"))))
}

async fn run_query(fed: &Federation, json: &Value) -> Result<Vec<Frame>, fleetscope::error::FleetError> {
    let now = chrono::Utc::now().timestamp_millis();
    let env =
        QueryEnvelope { ref_id: "A".into(), time_range: TimeRange::new(now - 86_400_000, now + 60_000).unwrap(), interval_ms: 0, max_data_points: 0 };
    let req = query::parse("", json.to_string().as_bytes(), env)?;
    federation::execute(fed, &req).await
}

fn strings(frame: &Frame, name: &str) -> Vec<String> {
    let f = frame.fields.iter().find(|f| f.name == name).unwrap_or_else(|| panic!("no field {name}"));
    match &f.values {
        FieldValues::Str(v) => v.clone(),
        other => panic!("{name} is not a string field: {other:?}"),
    }
}

fn severity_counts(frame: &Frame) -> HashMap<String, f64> {
    assert_eq!(frame.name, "by_severity");
    frame
        .fields
        .iter()
        .map(|f| {
            let FieldValues::F64(v) = &f.values else { panic!("count is not f64") };
            (f.labels["severity"].clone(), v[0])
        })
        .collect()
}

/// Poll a query until `done` holds (Alertmanager processes posted alerts asynchronously).
async fn poll_query(fed: &Federation, q: &Value, done: impl Fn(&[Frame]) -> bool) -> Vec<Frame> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let frames = run_query(fed, q).await.unwrap();
        if done(&frames) {
            return frames;
        }
        assert!(Instant::now() < deadline, "condition not met within 20 s; last frames: {frames:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn call(fed: &Federation, method: &str, path: &str, query: &str, body: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let req = ApiRequest::new(method, path, query, Bytes::from(body.to_owned())).with_headers(headers.iter().copied());
    let resp = api::handle(fed, req).await;
    (resp.status, serde_json::from_slice(&resp.body).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn alerts_from_real_alertmanagers_with_ha_dedup_filters_and_counts() {
    let env = stack_env();
    let run = run_id();
    let dir = temp_dir("ha");
    let (am1, am1_url) = start_alertmanager(&dir.join("am1")).await;
    let (_am2, am2_url) = start_alertmanager(&dir.join("am2")).await;
    let dead = format!("http://127.0.0.1:{}", free_port());
    let clusters = format!(
        "    - {{id: east, name: prod-east-1, alertmanager: {{url: \"{}\"}}}}\n    - {{id: ha, name: ha-cluster, alertmanager: {{url: \"{am1_url}\", replicas: [\"{am2_url}\"]}}}}\n    - {{id: gone, name: gone-cluster, alertmanager: {{url: \"{dead}\"}}}}\n    - {{id: nometrics, name: prom-only, prometheus: {{url: \"{dead}\"}}}}\n",
        env["ALERTMANAGER_URL"]
    );
    // Cache off: this test watches replicas go away between identical queries.
    let extra = format!("  cache: {{enabled: false}}\n  alerts: {{historyPath: \"{}\"}}\n", dir.join("history.sqlite").display());
    let f = fed(&settings_yaml(&clusters, &extra, "  {}\n"));

    // The same alert (same labels → same fingerprint) on both HA replicas and in east;
    // one more only on replica 2; a warning-less (no severity) alert in east.
    let shared = am_alert(&run, "DiskFull", Some("critical"), &[("instance", "node-1")]);
    post_alerts(&am1_url, json!([shared])).await;
    post_alerts(&am2_url, json!([shared, am_alert(&run, "HighLatency", Some("info"), &[])])).await;
    post_alerts(&env["ALERTMANAGER_URL"], json!([shared, am_alert(&run, "NoSeverity", None, &[])])).await;

    let matcher = format!("test_run=\"{run}\"");
    let q = json!({ "queryType": "alerts", "matchers": [matcher] });
    let frames = poll_query(&f, &q, |fr| strings(&fr[0], "state").iter().filter(|s| *s == "FIRING").count() == 4).await;
    assert_eq!(frames.len(), 2, "alerts table + by_severity");
    let t = &frames[0];
    let ids = strings(t, "id");
    let fps = strings(t, "fingerprint");
    assert_eq!(ids.len(), 4, "ha: DiskFull once (dedup of 2 replicas) + HighLatency; east: DiskFull + NoSeverity: {ids:?}");
    let disk: Vec<usize> = strings(t, "alertname").iter().enumerate().filter(|(_, n)| *n == "DiskFull").map(|(i, _)| i).collect();
    assert_eq!(disk.len(), 2, "the same alert in two clusters is two rows");
    assert_eq!(fps[disk[0]], fps[disk[1]], "… with the same fingerprint");
    let mut disk_ids: Vec<&str> = disk.iter().map(|i| ids[*i].as_str()).collect();
    disk_ids.sort();
    assert_eq!(disk_ids, [format!("east:{}", fps[disk[0]]), format!("ha:{}", fps[disk[0]])]);
    let sev = strings(t, "severity");
    let names = strings(t, "alertname");
    let no_sev = names.iter().position(|n| n == "NoSeverity").unwrap();
    assert_eq!(sev[no_sev], "WARNING");
    assert_eq!(strings(t, "cluster")[no_sev], "prod-east-1");
    let counts = severity_counts(&frames[1]);
    assert_eq!(counts, HashMap::from([("CRITICAL".into(), 2.0), ("WARNING".into(), 1.0), ("INFO".into(), 1.0)]));
    // The dead cluster is a notice and a status, not a failure; prom-only is not targeted.
    let meta = t.meta.as_ref().unwrap();
    let statuses = meta.custom.as_ref().unwrap()["clusters"].as_array().unwrap().clone();
    assert_eq!(statuses.len(), 3, "{statuses:?}");
    assert!(meta.notices.iter().any(|n| n.text.contains("gone-cluster")), "{:?}", meta.notices);

    // Filters: severity and state.
    let q = json!({ "queryType": "alerts", "matchers": [matcher], "severity": "critical", "clusters": ["ha"] });
    let frames = run_query(&f, &q).await.unwrap();
    assert_eq!(strings(&frames[0], "alertname"), ["DiskFull"]);
    let q = json!({ "queryType": "alerts", "matchers": [matcher], "state": ["SUPPRESSED"], "clusters": ["ha", "east"] });
    let frames = run_query(&f, &q).await.unwrap();
    assert!(strings(&frames[0], "id").is_empty(), "nothing is silenced");

    // Seed API shape.
    let (status, body) =
        call(&f, "GET", "api/v1/alerts", &format!("severity=CRITICAL&matcher={}&cluster_ids=east,ha", urlenc(&matcher)), "", &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["total"], 2);
    assert_eq!(body["by_severity"]["CRITICAL"], 2);
    let a = &body["alerts"][0];
    for k in
        ["id", "fingerprint", "cluster_id", "cluster_name", "alertname", "severity", "state", "labels", "annotations", "starts_at", "generator_url"]
    {
        assert!(!a[k].is_null(), "{k} missing in {a}");
    }
    assert_eq!(a["state"], "FIRING");
    let fp = a["fingerprint"].as_str().unwrap().to_owned();
    let (status, one) = call(&f, "GET", &format!("api/v1/alerts/{fp}"), "cluster_ids=east,ha", "", &[]).await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["fingerprint"], fp.as_str());
    assert_eq!(one["cluster_ids"].as_array().unwrap().len(), 2, "{one}");
    let (status, _) = call(&f, "GET", "api/v1/alerts/0000000000000000", "cluster_ids=east,ha", "", &[]).await;
    assert_eq!(status, 404);
    let (status, body) = call(&f, "GET", "api/v1/alerts", "state=BURNING", "", &[]).await;
    assert_eq!(status, 400);
    assert!(body["error"]["message"].as_str().unwrap().contains("state"), "{body}");

    // One HA replica down: the cluster still answers, with a notice.
    drop(am1);
    let q = json!({ "queryType": "alerts", "matchers": [matcher], "clusters": ["ha"] });
    let frames = run_query(&f, &q).await.unwrap();
    let mut names = strings(&frames[0], "alertname");
    names.sort();
    assert_eq!(names, ["DiskFull", "HighLatency"]);
    assert!(frames[0].meta.as_ref().unwrap().notices.iter().any(|n| n.text.contains("replica failed")));
    let _ = std::fs::remove_dir_all(&dir);
}

fn urlenc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn resolved_payload(fixture: &str) -> String {
    fixture
        .replacen("\"status\":\"firing\"", "\"status\":\"resolved\"", 2)
        .replace("\"endsAt\":\"0001-01-01T00:00:00Z\"", "\"endsAt\":\"2022-06-23T12:10:00Z\"")
}

fn history_cluster(extra_json_data: &str) -> Arc<Federation> {
    let clusters = "    - {id: east, name: prod-east-1, alertmanager: {url: \"http://127.0.0.1:9\"}}\n    - {id: west, name: prod-west-1}\n    - {id: open, name: open-cluster}\n";
    fed(&settings_yaml(clusters, extra_json_data, "  east.webhookSecret: s3cr3t\n  west.webhookSecret: w3st\n"))
}

/// Webhook validation, auth, idempotency and history, through the API router
/// (what CallResource and `serve` both call).
async fn webhook_flow(f: &Federation) {
    let auth = [("Authorization", "Bearer s3cr3t")];
    let history = || call(f, "GET", "api/v1/alerts/history", "start=1600000000&cluster_ids=east", "", &[]);
    // Rejected deliveries: 4xx, clear message, nothing stored.
    let big = format!("{{\"version\":\"4\",\"pad\":\"{}\",\"alerts\":[]}}", "x".repeat(api::MAX_BODY_BYTES));
    // (path, body, headers, status, message fragment)
    type Case<'a> = (&'a str, String, Vec<(&'a str, &'a str)>, u16, &'a str);
    let cases: Vec<Case> = vec![
        ("api/v1/alerts/webhook/east", WEBHOOK.into(), vec![], 401, "requires its shared secret"),
        ("api/v1/alerts/webhook/east", WEBHOOK.into(), vec![("Authorization", "Bearer nope")], 401, "does not match"),
        ("api/v1/alerts/webhook/nowhere", WEBHOOK.into(), auth.to_vec(), 404, "unknown cluster"),
        ("api/v1/alerts/webhook/east", "{not json".into(), auth.to_vec(), 400, "webhook payload"),
        (
            "api/v1/alerts/webhook/east",
            WEBHOOK.replace("\"fingerprint\":\"9cd7837114d58797\"", "\"fingerprint\":\"\""),
            auth.to_vec(),
            400,
            "fingerprint",
        ),
        ("api/v1/alerts/webhook/east", WEBHOOK.replace("\"version\":\"4\"", "\"version\":\"3\""), auth.to_vec(), 400, "version"),
        ("api/v1/alerts/webhook/east", big, auth.to_vec(), 413, "limit"),
        ("api/v1/alerts/webhook/east", String::new(), auth.to_vec(), 400, "empty body"),
    ];
    for (path, body, headers, want, msg) in &cases {
        let (status, resp) = call(f, "POST", path, "", body, headers).await;
        assert_eq!(status, *want, "{path}: {resp}");
        assert!(resp["error"]["message"].as_str().unwrap_or("").contains(msg), "{msg:?} not in {resp}");
        assert!(!resp.to_string().contains("s3cr3t"), "secret echoed");
    }
    let (_, h) = history().await;
    assert_eq!(h["total"], 0, "bad deliveries stored nothing: {h}");

    // Firing, then a re-delivery (idempotent), then resolved (Basic auth this time).
    let (status, r) = call(f, "POST", "api/v1/alerts/webhook/east", "", WEBHOOK, &auth).await;
    assert_eq!((status, r["stored"].as_u64(), r["duplicates"].as_u64()), (200, Some(1), Some(0)), "{r}");
    let (status, r) = call(f, "POST", "api/v1/alerts/webhook/east", "", WEBHOOK, &[("X-Fleetscope-Webhook-Secret", "s3cr3t")]).await;
    assert_eq!((status, r["stored"].as_u64(), r["duplicates"].as_u64()), (200, Some(0), Some(1)), "{r}");
    let basic = [("authorization", "Basic YWxlcnRtYW5hZ2VyOnMzY3IzdA==")]; // alertmanager:s3cr3t
    let (status, r) = call(f, "POST", "api/v1/alerts/webhook/east", "", &resolved_payload(WEBHOOK), &basic).await;
    assert_eq!((status, r["stored"].as_u64()), (200, Some(1)), "{r}");
    // A cluster without a configured secret refuses every delivery, saying why.
    for headers in [&[][..], &auth[..]] {
        let (status, r) = call(f, "POST", "api/v1/alerts/webhook/open", "", WEBHOOK, headers).await;
        assert_eq!((status, r["error"]["code"].as_str()), (401, Some("UNAUTHORIZED")), "{r}");
        assert!(r["error"]["message"].as_str().unwrap_or("").contains("no webhookSecret is configured"), "{r}");
    }
    // Each cluster has its own secret: east's does not open west's webhook.
    let (status, r) = call(f, "POST", "api/v1/alerts/webhook/west", "", WEBHOOK, &auth).await;
    assert_eq!(status, 401, "{r}");
    let (status, r) = call(f, "POST", "api/v1/alerts/webhook/west", "", WEBHOOK, &[("Authorization", "Bearer w3st")]).await;
    assert_eq!((status, r["stored"].as_u64()), (200, Some(1)), "{r}");

    let (status, h) = history().await;
    assert_eq!(status, 200);
    assert_eq!(h["total"], 2, "{h}");
    assert_eq!(h["history"][0]["event"], "ALERT_RESOLVED", "newest first: {h}");
    assert_eq!(h["history"][0]["ends_at"], "2022-06-23T12:10:00.000Z");
    assert_eq!(h["history"][1]["event"], "ALERT_FIRED");
    assert_eq!(h["history"][1]["severity"], "CRITICAL");
    assert_eq!(h["history"][1]["cluster_id"], "east");

    // `history: true` queries and annotations read the same store.
    let q = json!({ "queryType": "alerts", "history": true, "clusters": ["east"] });
    let env = QueryEnvelope {
        ref_id: "H".into(),
        time_range: TimeRange::new(1_655_900_000_000, 1_656_100_000_000).unwrap(),
        interval_ms: 0,
        max_data_points: 0,
    };
    let frames = federation::execute(f, &query::parse("", q.to_string().as_bytes(), env.clone()).unwrap()).await.unwrap();
    assert_eq!(strings(&frames[0], "event"), ["ALERT_RESOLVED", "ALERT_FIRED"]);
    let q = json!({ "queryType": "alerts", "format": "annotations", "clusters": ["east"] });
    let frames = federation::execute(f, &query::parse("", q.to_string().as_bytes(), env).unwrap()).await.unwrap();
    let a = &frames[0];
    assert_eq!(strings(a, "title"), ["InstanceDown"]);
    let FieldValues::TimeNs(t) = &a.fields[0].values else { panic!() };
    let FieldValues::NullableTimeNs(te) = &a.fields[1].values else { panic!() };
    assert_eq!((t[0], te[0]), (1_655_985_194_318_000_000, Some(1_655_986_200_000_000_000)));
    let FieldValues::Json(tags) = &a.fields[4].values else { panic!() };
    let tags: Vec<&str> = tags[0].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(tags.contains(&"cluster:prod-east-1") && tags.contains(&"severity:CRITICAL"), "{tags:?}");
    // The RESOLVED state in the live list comes from the store (east's Alertmanager is unreachable: a notice).
    let (status, l) = call(f, "GET", "api/v1/alerts", "state=RESOLVED&cluster_ids=east&start=1655900000", "", &[]).await;
    assert_eq!(status, 200, "{l}");
    assert_eq!(l["total"], 1, "{l}");
    assert_eq!(l["alerts"][0]["state"], "RESOLVED");
}

#[tokio::test(flavor = "multi_thread")]
async fn webhook_history_in_sqlite() {
    let _ = stack_env();
    let dir = temp_dir("sqlite");
    let f = history_cluster(&format!("  alerts: {{historyPath: \"{}\", retentionDays: 36500}}\n", dir.join("h.sqlite").display()));
    // Live events (the `alerts` channel): subscribed before the deliveries.
    let events = fleetscope::store::events::subscribe(&f.registry.settings, None);
    webhook_flow(&f).await;
    use futures::StreamExt;
    let got = tokio::time::timeout(Duration::from_secs(10), events.take(3).collect::<Vec<_>>()).await.expect("3 live events");
    let got: Vec<(String, String)> = got.iter().map(|t| (t.cluster_id.clone(), t.event.clone())).collect();
    assert_eq!(
        got,
        [("east".into(), "ALERT_FIRED".into()), ("east".into(), "ALERT_RESOLVED".into()), ("west".into(), "ALERT_FIRED".into())],
        "fresh transitions only, in order; the re-delivery published nothing"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn webhook_history_in_redis_is_shared() {
    let env = stack_env();
    let prefix = format!("fleetscope:test:{}", run_id());
    let extra = format!("  cache: {{redisUrl: \"{}\"}}\n  alerts: {{redisPrefix: \"{prefix}\", retentionDays: 36500}}\n", env["REDIS_URL"]);
    let f = history_cluster(&extra);
    webhook_flow(&f).await;
    // The data is in Redis itself: what another Grafana replica's plugin reads.
    let client = redis::Client::open(env["REDIS_URL"].as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let n: i64 = redis::cmd("ZCARD").arg(format!("{prefix}:events")).query_async(&mut conn).await.unwrap();
    assert_eq!(n, 3, "east fired + resolved, west fired");
    let state: String = redis::cmd("HGET").arg(format!("{prefix}:state:east")).arg("9cd7837114d58797").query_async(&mut conn).await.unwrap();
    assert!(state.contains("ALERT_RESOLVED"), "{state}");
    let store = AlertStore::Redis(fleetscope::store::redis::RedisStore::connect(&env["REDIS_URL"], &prefix, i64::MAX / 4).await.unwrap());
    let h = store.history(HistoryFilter { from_ms: 0, to_ms: i64::MAX / 4, limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(h.len(), 3);
    let keys: Vec<String> = redis::cmd("KEYS").arg(format!("{prefix}:*")).query_async(&mut conn).await.unwrap();
    let _: i64 = redis::cmd("DEL").arg(&keys).query_async(&mut conn).await.unwrap();
}

#[test]
fn sqlite_history_survives_reopen_and_prunes_by_retention() {
    let dir = temp_dir("reopen");
    let path = dir.join("h.sqlite");
    let origin = fleetscope::frames::alertmanager::Origin { cluster_id: "east", cluster_name: "prod-east-1" };
    let firing = fleetscope::frames::alertmanager::parse_webhook(WEBHOOK.as_bytes(), origin).unwrap();
    let resolved = fleetscope::frames::alertmanager::parse_webhook(resolved_payload(WEBHOOK).as_bytes(), origin).unwrap();
    let fired_at = firing.alerts[0].starts_at_ms;
    let transitions = |d: &fleetscope::frames::alertmanager::WebhookDelivery| -> Vec<_> {
        d.alerts.iter().map(|a| fleetscope::frames::alertmanager::Transition::from_alert(a, fired_at)).collect()
    };
    let year = 365 * 86_400_000;
    {
        let s = SqliteStore::open(&path, year).unwrap();
        assert_eq!(s.record(&transitions(&firing), fired_at).unwrap().stored, 1);
    }
    {
        let s = SqliteStore::open(&path, year).unwrap();
        assert_eq!(s.transition_count().unwrap(), 1, "kept across reopen");
        let r = s.record(&transitions(&firing), fired_at).unwrap();
        assert_eq!((r.stored, r.duplicates), (0, 1));
        s.record(&transitions(&resolved), fired_at).unwrap();
        let cur = s.current(&[]).unwrap();
        assert_eq!(cur.len(), 1);
        assert_eq!(cur[0].state, fleetscope::query::alerts::AlertState::Resolved);
        // A late re-delivery of the firing does not un-resolve it.
        s.record(&transitions(&firing), fired_at).unwrap();
        assert_eq!(s.current(&[]).unwrap()[0].state, fleetscope::query::alerts::AlertState::Resolved);
    }
    {
        // Two years later with a one-year retention: everything is pruned on the next write.
        let s = SqliteStore::open(&path, year).unwrap();
        assert_eq!(s.transition_count().unwrap(), 2);
        s.record(&[], fired_at + 2 * year).unwrap();
        assert_eq!(s.transition_count().unwrap(), 0);
        assert!(s.current(&[]).unwrap().is_empty());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Start `gpx_fleetscope serve` (the release binary under `cargo test --release`).
async fn start_serve(config: &Path, port: u16, log: &Path) -> Proc {
    let child = Command::new(env!("CARGO_BIN_EXE_gpx_fleetscope"))
        .env("RUST_LOG", "info")
        .args(["serve", "--config"])
        .arg(config)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(std::fs::File::options().create(true).append(true).open(log).unwrap())
        .spawn()
        .unwrap();
    let p = Proc(child);
    wait_http_ok(&format!("http://127.0.0.1:{port}/api/v1/clusters")).await;
    p
}

#[tokio::test(flavor = "multi_thread")]
async fn acknowledged_deliveries_survive_kill_9_of_serve() {
    let _ = stack_env();
    let dir = temp_dir("kill9");
    let config = dir.join("fleetscope.yaml");
    let clusters = "    - {id: east, name: prod-east-1, alertmanager: {url: \"http://127.0.0.1:9\"}}\n";
    let extra = format!("  alerts: {{historyPath: \"{}\", retentionDays: 36500}}\n", dir.join("history.sqlite").display());
    std::fs::write(&config, settings_yaml(clusters, &extra, "  east.webhookSecret: s3cr3t\n")).unwrap();
    let log = dir.join("serve.log");
    let http = reqwest::Client::new();
    let post = |port: u16, body: String| {
        let http = http.clone();
        async move {
            let r = http.post(format!("http://127.0.0.1:{port}/api/v1/alerts/webhook/east")).bearer_auth("s3cr3t").body(body).send().await.unwrap();
            (r.status().as_u16(), serde_json::from_slice::<Value>(&r.bytes().await.unwrap()).unwrap_or(Value::Null))
        }
    };

    let port = free_port();
    let mut serve = start_serve(&config, port, &log).await;
    let (status, r) = post(port, WEBHOOK.to_owned()).await;
    assert_eq!((status, r["stored"].as_u64()), (200, Some(1)), "{r}");
    // SIGKILL right after the 200: no shutdown hook, no flush.
    serve.0.kill().unwrap();
    serve.0.wait().unwrap();
    drop(serve);

    let port = free_port();
    let _serve = start_serve(&config, port, &log).await;
    let (status, r) = post(port, WEBHOOK.to_owned()).await;
    assert_eq!((status, r["duplicates"].as_u64()), (200, Some(1)), "the acknowledged delivery was kept: {r}");
    let (status, r) = post(port, resolved_payload(WEBHOOK)).await;
    assert_eq!((status, r["stored"].as_u64()), (200, Some(1)), "{r}");
    let h = http.get(format!("http://127.0.0.1:{port}/api/v1/alerts/history?start=1600000000")).send().await.unwrap();
    let h: Value = serde_json::from_slice(&h.bytes().await.unwrap()).unwrap();
    let events: Vec<&str> = h["history"].as_array().unwrap().iter().filter_map(|e| e["event"].as_str()).collect();
    assert_eq!(events, ["ALERT_RESOLVED", "ALERT_FIRED"], "{h}");
    // Oversize through axum reaches our handler's message too.
    let big = "x".repeat(api::MAX_BODY_BYTES + 10);
    let (status, r) = post(port, big).await;
    assert_eq!(status, 413, "{r}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn live_events_from_polling_a_real_alertmanager() {
    let _ = stack_env();
    let run = run_id();
    let dir = temp_dir("live");
    let (_am, am_url) = start_alertmanager(&dir.join("am")).await;
    let clusters = format!("    - {{id: live, name: live-cluster, alertmanager: {{url: \"{am_url}\"}}}}\n");
    let extra = format!("  cache: {{alertsTtlSeconds: 1}}\n  alerts: {{historyPath: \"{}\"}}\n", dir.join("h.sqlite").display());
    let f = fed(&settings_yaml(&clusters, &extra, "  {}\n"));
    // Already firing before subscribing: part of the baseline, no event.
    let old = am_alert(&run, "AlreadyFiring", Some("info"), &[]);
    post_alerts(&am_url, json!([old])).await;
    let q = json!({ "queryType": "alerts", "clusters": ["live"], "state": "FIRING" });
    poll_query(&f, &q, |fr| strings(&fr[0], "alertname") == ["AlreadyFiring"]).await;
    let mut events = Box::pin(fleetscope::federation::alerts::live_events(f.clone(), None).await);
    post_alerts(&am_url, json!([am_alert(&run, "NewOne", Some("critical"), &[])])).await;
    let t = next_event(&mut events).await;
    assert_eq!((t.alertname.as_str(), t.event.as_str(), t.cluster_id.as_str(), t.severity.as_str()), ("NewOne", "ALERT_FIRED", "live", "CRITICAL"));
    // Ending the old alert upstream (endsAt now) → ALERT_RESOLVED with an end time.
    let mut ended = old.clone();
    ended["endsAt"] = json!(chrono::Utc::now().to_rfc3339());
    post_alerts(&am_url, json!([ended])).await;
    let t = next_event(&mut events).await;
    assert_eq!((t.alertname.as_str(), t.event.as_str()), ("AlreadyFiring", "ALERT_RESOLVED"));
    assert!(t.ends_at_ms.is_some());
    let _ = std::fs::remove_dir_all(&dir);
}

async fn next_event<S: futures::Stream + Unpin>(s: &mut S) -> S::Item {
    use futures::StreamExt;
    tokio::time::timeout(Duration::from_secs(30), s.next()).await.expect("a live event within 30 s").expect("stream ended")
}

/// A real Alertmanager delivers to `gpx_fleetscope serve` through its webhook
/// receiver (the cluster's secret as bearer token): firing, then resolved.
/// History holds each transition exactly once, under the fingerprint
/// Alertmanager itself reports — the one Fleetscope computes from the labels.
#[tokio::test(flavor = "multi_thread")]
async fn a_real_alertmanager_delivers_firing_and_resolved_to_serve() {
    let _ = stack_env();
    let run = run_id();
    let dir = temp_dir("am-webhook");
    let config = dir.join("fleetscope.yaml");
    let clusters = "    - {id: east, name: prod-east-1, alertmanager: {url: \"http://127.0.0.1:9\"}}\n";
    let extra = format!("  alerts: {{historyPath: \"{}\"}}\n", dir.join("history.sqlite").display());
    std::fs::write(&config, settings_yaml(clusters, &extra, "  east.webhookSecret: am-s3cr3t\n")).unwrap();
    let port = free_port();
    let _serve = start_serve(&config, port, &dir.join("serve.log")).await;
    let serve = format!("http://127.0.0.1:{port}/api/v1");
    let (_am, am) = start_alertmanager_with_webhook(&dir.join("am"), &format!("{serve}/alerts/webhook/east"), "am-s3cr3t").await;

    let http = reqwest::Client::new();
    let history = |http: reqwest::Client| {
        let url = format!("{serve}/alerts/history?start=1600000000");
        async move { serde_json::from_slice::<Value>(&http.get(url).send().await.unwrap().bytes().await.unwrap()).unwrap() }
    };
    let events_of = |h: &Value, name: &str| -> Vec<(String, String)> {
        h["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["alertname"] == name)
            .map(|e| (e["event"].as_str().unwrap().to_owned(), e["fingerprint"].as_str().unwrap().to_owned()))
            .collect()
    };
    let logs: &Path = &dir;
    let until = |http: reqwest::Client, want: usize| async move {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let h = history(http.clone()).await;
            if events_of(&h, "WebhookE2E").len() >= want {
                return h;
            }
            assert!(
                Instant::now() < deadline,
                "{want} transition(s) not delivered within 30 s: {h}{}{}",
                am_log(&logs.join("am")),
                log_tail(&logs.join("serve.log"))
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };

    let alert = am_alert(&run, "WebhookE2E", Some("critical"), &[]);
    post_alerts(&am, json!([alert])).await;
    let listed: Value = serde_json::from_slice(&http.get(format!("{am}/api/v2/alerts")).send().await.unwrap().bytes().await.unwrap()).unwrap();
    let am_fp =
        listed.as_array().unwrap().iter().find(|a| a["labels"]["test_run"] == run.as_str()).unwrap()["fingerprint"].as_str().unwrap().to_owned();
    let labels: std::collections::BTreeMap<String, String> = serde_json::from_value(alert["labels"].clone()).unwrap();
    assert_eq!(fleetscope::frames::alertmanager::alertmanager_fingerprint(&labels), am_fp, "our fingerprint is Alertmanager's");

    let h = until(http.clone(), 1).await;
    assert_eq!(events_of(&h, "WebhookE2E"), [("ALERT_FIRED".to_owned(), am_fp.clone())]);
    let mut ended = alert.clone();
    ended["endsAt"] = json!(chrono::Utc::now().to_rfc3339());
    post_alerts(&am, json!([ended])).await;
    let h = until(http.clone(), 2).await;
    assert_eq!(events_of(&h, "WebhookE2E"), [("ALERT_RESOLVED".to_owned(), am_fp.clone()), ("ALERT_FIRED".to_owned(), am_fp)], "{h}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A delivery whose transition is older than the retention is answered
/// `expired`, not `stored`; its re-delivery neither: nothing reaches Live.
#[test]
fn deliveries_older_than_the_retention_are_reported_expired_and_never_published() {
    let dir = temp_dir("expired");
    let origin = fleetscope::frames::alertmanager::Origin { cluster_id: "east", cluster_name: "prod-east-1" };
    let firing = fleetscope::frames::alertmanager::parse_webhook(WEBHOOK.as_bytes(), origin).unwrap();
    let day = 86_400_000;
    let now = firing.alerts[0].starts_at_ms + 2 * day;
    let transitions: Vec<_> = firing.alerts.iter().map(|a| fleetscope::frames::alertmanager::Transition::from_alert(a, now)).collect();
    let s = SqliteStore::open(&dir.join("h.sqlite"), day).unwrap();
    for delivery in 0..2 {
        let r = s.record(&transitions, now).unwrap();
        assert_eq!((r.stored, r.duplicates, r.expired, r.fresh.len()), (0, 0, 1, 0), "delivery {delivery}");
    }
    assert_eq!(s.transition_count().unwrap(), 0);
    assert_eq!(s.current(&[]).unwrap().len(), 1, "the current state still follows the still-firing alert");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The whole path of a transition, once: a real Alertmanager posts to `serve`
/// (started in this process, as the plugin runs it) while Live subscribers poll
/// that same Alertmanager. Webhook push and poll both see every transition; Live
/// sends each exactly once (the next event after each is the next transition,
/// never a repeat), and history holds each once.
#[tokio::test(flavor = "multi_thread")]
async fn webhook_and_poll_of_one_alertmanager_reach_live_once_each() {
    use clap::Parser;
    let _ = stack_env();
    let run = run_id();
    let dir = temp_dir("am-live");
    let port = free_port();
    let serve = format!("http://127.0.0.1:{port}/api/v1");
    let (_am, am) = start_alertmanager_with_webhook(&dir.join("am"), &format!("{serve}/alerts/webhook/east"), "am-s3cr3t").await;
    let clusters = format!("    - {{id: east, name: prod-east-1, alertmanager: {{url: \"{am}\"}}}}\n");
    let extra = format!("  alerts: {{historyPath: \"{}\"}}\n  cache: {{alertsTtlSeconds: 1}}\n", dir.join("history.sqlite").display());
    let yaml = settings_yaml(&clusters, &extra, "  east.webhookSecret: am-s3cr3t\n");
    let config = dir.join("fleetscope.yaml");
    std::fs::write(&config, &yaml).unwrap();
    let cli =
        fleetscope::cli::Cli::parse_from(["gpx_fleetscope", "serve", "--config", config.to_str().unwrap(), "--listen", &format!("127.0.0.1:{port}")]);
    let server = tokio::spawn(fleetscope::cli::run(cli));
    wait_http_ok(&format!("{serve}/clusters")).await;

    // The plugin's view of the same settings: the same store, so the same Live hub.
    let f = fed(&yaml);
    let mut events = Box::pin(fleetscope::federation::alerts::live_events(f.clone(), None).await);
    let mut ours = Vec::new();
    let alert = am_alert(&run, "LiveOnce", Some("critical"), &[]);
    post_alerts(&am, json!([alert])).await;
    let t = next_event(&mut events).await;
    assert_eq!(t.alertname, "LiveOnce", "{t:?}");
    ours.push(t.event.clone());
    let mut ended = alert.clone();
    ended["endsAt"] = json!(chrono::Utc::now().to_rfc3339());
    post_alerts(&am, json!([ended])).await;
    let t = next_event(&mut events).await;
    assert_eq!(t.alertname, "LiveOnce", "{t:?}");
    ours.push(t.event.clone());
    assert_eq!(ours, ["ALERT_FIRED", "ALERT_RESOLVED"], "each transition once, in order");
    // A sentinel after both: had either transition come twice (webhook and poll), it would be here first.
    post_alerts(&am, json!([am_alert(&run, "Sentinel", Some("info"), &[])])).await;
    let t = next_event(&mut events).await;
    assert_eq!((t.alertname.as_str(), t.event.as_str()), ("Sentinel", "ALERT_FIRED"), "no repeated LiveOnce event before the sentinel");

    // History (through serve) holds each transition once.
    let h: Value =
        serde_json::from_slice(&reqwest::get(format!("{serve}/alerts/history?start=1600000000")).await.unwrap().bytes().await.unwrap()).unwrap();
    let kept: Vec<&str> =
        h["history"].as_array().unwrap().iter().filter(|e| e["alertname"] == "LiveOnce").filter_map(|e| e["event"].as_str()).collect();
    assert_eq!(kept, ["ALERT_RESOLVED", "ALERT_FIRED"], "{h}");
    server.abort();
    let _ = std::fs::remove_dir_all(&dir);
}
