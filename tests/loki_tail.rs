//! Live tail through the plugin's Stream service (Grafana Live `logs/tail/<id>`)
//! against the Loki replay server's real tail websocket: subscribe validation,
//! merged packets, the dropped-entries notice, a reconnect after Loki drops the
//! socket, and upstream sockets closing when Grafana drops the stream.

use crate::support::loki;

use std::collections::BTreeSet;
use std::time::Duration;

use fleetscope::plugin::{PluginState, StreamService};
use futures::StreamExt;
use grafana_plugin_sdk::pluginv2::stream_server::Stream;
use grafana_plugin_sdk::pluginv2::{DataSourceInstanceSettings, PluginContext, RunStreamRequest, SubscribeStreamRequest, subscribe_stream_response};
use serde_json::{Value, json};

/// Where the recorded tail session started (epoch ms).
const START_MS: i64 = 1_795_259_612_858;
/// Generous bound on waiting for one packet; a hang fails the test instead of blocking it.
const DEADLINE: Duration = Duration::from_secs(20);

fn ctx(settings: String) -> Option<PluginContext> {
    Some(PluginContext {
        data_source_instance_settings: Some(DataSourceInstanceSettings {
            json_data: settings.into_bytes(),
            uid: "fs-uid".into(),
            last_updated_ms: 1,
            ..Default::default()
        }),
        ..Default::default()
    })
}

fn service() -> StreamService {
    StreamService(PluginState::default())
}

async fn subscribe(svc: &StreamService, ctx: &Option<PluginContext>, path: &str, data: Value) -> Result<(i32, Vec<u8>), tonic::Status> {
    let req = SubscribeStreamRequest { plugin_context: ctx.clone(), path: path.into(), data: data.to_string().into() };
    svc.subscribe_stream(tonic::Request::new(req)).await.map(|r| {
        let r = r.into_inner();
        (r.status, r.data)
    })
}

fn field_names(frame: &Value) -> Vec<&str> {
    frame["schema"]["fields"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn subscribe_validates_the_query_and_answers_the_schema() {
    let replay = loki::replay().await;
    let ctx = ctx(loki::settings_json(&replay.url, loki::FLEET));
    let svc = service();
    let (status, data) =
        subscribe(&svc, &ctx, "logs/tail/abc123", json!({"expr": "{app=\"model-server\"} |= \"batch\"", "clusters": ["east"]})).await.unwrap();
    assert_eq!(status, subscribe_stream_response::Status::Ok as i32);
    let schema: Value = serde_json::from_slice(&data).unwrap();
    assert_eq!(field_names(&schema), ["timestamp", "body", "severity", "id", "labels", "traceID"]);
    assert_eq!(schema["schema"]["meta"]["type"], "log-lines");
    assert_eq!(schema["schema"]["fields"][5]["config"]["links"][0]["internal"]["datasourceUid"], "fs-uid", "derived links target this datasource");

    let e = subscribe(&svc, &ctx, "logs/tail/abc123", json!({"expr": "{app=\"x\"} | json | status >="})).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    assert!(e.message().starts_with("INVALID_LOGQL: ") && e.message().contains("line 1, col"), "{}", e.message());
    let e = subscribe(&svc, &ctx, "logs/tail/abc123", json!({"expr": "rate({app=\"x\"}[5m])"})).await.unwrap_err();
    assert!(e.message().contains("INVALID_LOGQL") && e.message().contains("log query"), "{}", e.message());
    let e = subscribe(&svc, &ctx, "logs/tail/abc123", json!({"limit": 5})).await.unwrap_err();
    assert!(e.message().contains("INVALID_QUERY") && e.message().contains("expr"), "{}", e.message());
    let e = subscribe(&svc, &ctx, "logs/tail/abc123", json!({"expr": "{app=\"x\"}", "clusters": ["nolog"]})).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::Unavailable);
    assert!(e.message().starts_with("LOKI_NOT_AVAILABLE"), "{}", e.message());
    let (status, _) = subscribe(&svc, &ctx, "logs/tail/", json!({"expr": "{app=\"x\"}"})).await.unwrap();
    assert_eq!(status, subscribe_stream_response::Status::NotFound as i32, "no id, no channel");
}

/// (cluster id, timestamp ns, body) of every line a frame carries, from its `id`
/// (`<cluster>_<stream hash>_<ns>_<dup>`) and `body` columns.
fn lines(frame: &Value) -> Vec<(String, i64, String)> {
    let values = frame["data"]["values"].as_array().unwrap();
    let ids = values[3].as_array().unwrap();
    let bodies = values[1].as_array().unwrap();
    ids.iter()
        .zip(bodies)
        .map(|(id, body)| {
            let parts: Vec<&str> = id.as_str().unwrap().split('_').collect();
            (parts[0].to_owned(), parts[2].parse().unwrap(), body.as_str().unwrap().to_owned())
        })
        .collect()
}

/// The lines of the recorded session and of the marshal-test message, per cluster.
fn expected() -> BTreeSet<(String, i64, String)> {
    let mut want = BTreeSet::new();
    for frame in loki::fixture("tail_session_model_server.jsonl").lines() {
        let v: Value = serde_json::from_str(frame).unwrap();
        for s in v["streams"].as_array().unwrap() {
            for e in s["values"].as_array().unwrap() {
                for cluster in ["east", "flaky"] {
                    want.insert((cluster.to_owned(), e[0].as_str().unwrap().parse().unwrap(), e[1].as_str().unwrap().to_owned()));
                }
            }
        }
    }
    want.insert(("edge".to_owned(), 1, "foobar".to_owned()));
    want
}

#[tokio::test(flavor = "multi_thread")]
async fn run_stream_merges_reports_drops_reconnects_and_closes_sockets() {
    let replay = loki::replay().await;
    let fleet = [
        ("east", "prod-east-1", Some("prod-east-1")),
        ("edge", "edge-1", Some("edge-1")),
        ("flaky", "flaky-1", Some("flaky")),
        ("nolog", "metrics-only", None),
    ];
    let ctx = ctx(loki::settings_json(&replay.url, &fleet));
    let svc = service();
    let data = json!({"expr": "{app=~\".+\"}", "limit": 10, "start": START_MS});
    let req = RunStreamRequest { plugin_context: ctx.clone(), path: "logs/tail/all".into(), data: data.to_string().into() };
    let mut packets = svc.run_stream(tonic::Request::new(req)).await.unwrap().into_inner();

    let want = expected();
    let mut got: Vec<(String, i64, String)> = Vec::new();
    let mut notices: Vec<String> = Vec::new();
    let mut first = true;
    while got.len() < want.len() || !notices.iter().any(|n| n.contains("reconnected")) {
        let packet = tokio::time::timeout(DEADLINE, packets.next()).await.expect("a packet in time").expect("the stream goes on").unwrap();
        assert!(packet.data.starts_with(br#"{"schema":{"#), "Go key order: schema first");
        let frame: Value = serde_json::from_slice(&packet.data).unwrap();
        assert_eq!(frame["schema"]["meta"]["type"], "log-lines");
        let texts: Vec<String> = frame["schema"]["meta"]["notices"]
            .as_array()
            .map(|n| n.iter().map(|n| n["text"].as_str().unwrap().to_owned()).collect())
            .unwrap_or_default();
        if first {
            assert!(texts.iter().any(|t| t.starts_with("LOKI_NOT_AVAILABLE: metrics-only")), "{texts:?}");
            first = false;
        }
        let l = lines(&frame);
        // Merged oldest first, as Loki tails.
        assert!(l.windows(2).all(|w| w[0].1 <= w[1].1), "{l:?}");
        got.extend(l);
        notices.extend(texts);
    }
    let got_set: BTreeSet<_> = got.iter().cloned().collect();
    assert_eq!(got_set, want);
    assert_eq!(got.len(), want.len(), "every line once: the reconnect resumed after the newest line seen");
    let dropped: Vec<&String> = notices.iter().filter(|n| n.contains("dropped")).collect();
    assert_eq!(dropped.len(), 1, "{notices:?}");
    assert!(dropped[0].starts_with("edge-1: Loki dropped 1 entries") && dropped[0].contains(r#"{app="dropped"}"#), "{}", dropped[0]);
    assert!(notices.iter().any(|n| n.starts_with("flaky-1: live tail from Loki interrupted")), "{notices:?}");

    // Tenant, query and resume point of each connection.
    let connects = replay.seen.tail_connects.lock().unwrap().clone();
    let flaky: Vec<_> = connects.iter().filter(|c| c.tenant == "flaky").collect();
    assert_eq!(flaky.len(), 2, "{connects:?}");
    assert_eq!(flaky[0].params["start"], (START_MS * 1_000_000).to_string());
    assert_eq!(flaky[1].params["start"], "1795259659033618474", "1 ns after the newest line of the first connection");
    assert!(connects.iter().all(|c| c.params["query"] == r#"{app=~".+"}"# && c.params["limit"] == "10"));

    // Three sockets are held open (east, edge, flaky's second); dropping the
    // stream (Grafana's cancel) closes every one.
    let mut open = replay.seen.open_tails.subscribe();
    tokio::time::timeout(DEADLINE, open.wait_for(|n| *n == 3)).await.expect("3 open tails").unwrap();
    drop(packets);
    let closed = tokio::time::timeout(DEADLINE, open.wait_for(|n| *n == 0)).await.is_ok();
    assert!(closed, "upstream tails still open after the stream was dropped: {}", *open.borrow());
}
