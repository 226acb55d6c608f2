use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use super::*;
use crate::federation::{Federation, breaker};
use crate::registry::Backend;

fn registry(json: &str) -> Registry {
    Registry::from_grafana(json.as_bytes(), &HashMap::new()).unwrap()
}

fn found(id: &str, url: &str) -> DiscoveredCluster {
    let settings: ClusterSettings = serde_json::from_value(serde_json::json!({"id": id, "prometheus": {"url": url}})).unwrap();
    DiscoveredCluster { settings, status: crate::registry::ONLINE.into(), secrets: HashMap::new() }
}

fn state(list: Vec<DiscoveredCluster>) -> SourceState {
    let mut s = SourceState::default();
    s.apply(Ok(list.into()), SystemTime::now());
    s
}

const TWO_SOURCES: &str = r#"{"clusters":[{"id":"east","prometheus":{"url":"http://east"}}],
  "discovery":[{"type":"file","name":"gitops","path":"/x.yaml","labels":{"team":"core"}},
               {"type":"registry","name":"central","url":"http://registry/clusters"}]}"#;

#[test]
fn sources_merge_with_the_static_list_and_collisions_name_both_sources() {
    let base = registry(TWO_SOURCES);
    let sources = vec![
        (base.settings.discovery[0].clone(), state(vec![found("a", "http://a"), found("east", "http://evil")])),
        (base.settings.discovery[1].clone(), state(vec![found("a", "http://a2"), found("b", "http://b")])),
    ];
    let mut resolved = Resolved::new();
    let reg = merge(&base, &sources, &mut resolved);
    let ids: Vec<(&str, &str)> = reg.clusters().iter().map(|c| (c.id.as_str(), c.source.as_str())).collect();
    assert_eq!(ids, vec![("east", "static"), ("a", "gitops"), ("b", "central")]);
    assert_eq!(reg.get("east").unwrap().prometheus.as_ref().unwrap().url.as_str(), "http://east/", "the static cluster stays");
    assert_eq!(reg.get("a").unwrap().labels.get("team").map(String::as_str), Some("core"), "source labels apply");

    let gitops = &reg.discovery[0];
    assert_eq!((gitops.status, gitops.clusters), (SourceHealth::Ok, 1));
    assert_eq!(gitops.cluster_errors.len(), 1);
    let e = &gitops.cluster_errors[0].error;
    assert!(e.contains("\"gitops\"") && e.contains("jsonData.clusters") && e.contains("east"), "{e}");
    let central = &reg.discovery[1];
    assert_eq!(central.clusters, 1);
    let e = &central.cluster_errors[0].error;
    assert!(e.contains("\"central\"") && e.contains("\"gitops\"") && e.contains("\"a\""), "names both sources: {e}");
    assert!(central.last_refresh.is_some());
}

#[test]
fn a_failed_look_keeps_the_last_good_list_and_says_why() {
    let base = registry(TWO_SOURCES);
    let mut s = state(vec![found("a", "http://a")]);
    s.apply(Err("clusters.yaml: at `clusters[0].prometheus`: missing field `url`".into()), SystemTime::now());
    let sources = vec![(base.settings.discovery[0].clone(), s), (base.settings.discovery[1].clone(), SourceState::default())];
    let reg = merge(&base, &sources, &mut Resolved::new());
    assert!(reg.get("a").is_some(), "last good list kept");
    assert_eq!(reg.discovery[0].status, SourceHealth::Error);
    assert!(reg.discovery[0].error.as_deref().unwrap().contains("missing field `url`"));
    assert_eq!(reg.discovery[1].status, SourceHealth::Pending);
}

#[test]
fn only_online_clusters_are_in_all_but_others_can_be_named() {
    let base = registry(TWO_SOURCES);
    let mut off = found("b", "http://b");
    off.status = "offline".into();
    let sources =
        vec![(base.settings.discovery[0].clone(), state(vec![found("a", "http://a")])), (base.settings.discovery[1].clone(), state(vec![off]))];
    let reg = merge(&base, &sources, &mut Resolved::new());
    let all: Vec<String> = reg.targets(&[]).unwrap().iter().map(|c| c.id.to_string()).collect();
    assert_eq!(all, vec!["east", "a"]);
    assert_eq!(reg.targets(&["b".into()]).unwrap()[0].status, "offline");
}

#[test]
fn unchanged_clusters_keep_their_resolution_and_a_reused_id_gets_fresh_state() {
    let base = registry(TWO_SOURCES);
    let d = base.settings.discovery.clone();
    let mut resolved = Resolved::new();
    let first = merge(&base, &[(d[0].clone(), state(vec![found("a", "http://a")])), (d[1].clone(), SourceState::default())], &mut resolved);
    let again = merge(&base, &[(d[0].clone(), state(vec![found("a", "http://a")])), (d[1].clone(), SourceState::default())], &mut resolved);
    assert!(Arc::ptr_eq(first.get("a").unwrap(), again.get("a").unwrap()), "same input, same cluster (and clients)");

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let fed = Federation::new(first);
        let a = fed.registry.get("a").unwrap().clone();
        for _ in 0..breaker::FAILURE_THRESHOLD {
            fed.breakers.record(&breaker::key(&a, Backend::Prometheus), true);
        }
        assert_eq!(fed.breakers.state(&breaker::key(&a, Backend::Prometheus)), breaker::State::Open);
        // Same id, other endpoint: a new cluster.
        let moved = merge(&base, &[(d[0].clone(), state(vec![found("a", "http://a-new")])), (d[1].clone(), SourceState::default())], &mut resolved);
        let fed2 = fed.next(moved);
        let a2 = fed2.registry.get("a").unwrap().clone();
        assert_ne!(a.state_key(), a2.state_key());
        assert_eq!(fed2.breakers.state(&breaker::key(&a2, Backend::Prometheus)), breaker::State::Closed, "no stale breaker");
        assert!(fed2.breakers.snapshot().is_empty(), "the old cluster's breaker is forgotten");
        // The static cluster keeps its client and state key.
        assert_eq!(fed.registry.get("east").unwrap().state_key(), fed2.registry.get("east").unwrap().state_key());
    });
}

#[test]
fn discovery_settings_are_checked_with_their_path() {
    let cases: &[(&str, &str)] = &[
        (r#"{"discovery":[{"type":"file","name":"f"}]}"#, "jsonData.discovery[0].path"),
        (r#"{"discovery":[{"type":"file","name":"f","path":"/a","url":"http://x"}]}"#, "jsonData.discovery[0].url"),
        (r#"{"discovery":[{"type":"registry","name":"r","url":"ftp://x"}]}"#, "jsonData.discovery[0].url"),
        (r#"{"discovery":[{"type":"registry","name":"Bad Name","url":"http://x"}]}"#, "jsonData.discovery[0].name"),
        (r#"{"discovery":[{"type":"file","name":"static","path":"/a"}]}"#, "jsonData.discovery[0].name"),
        (r#"{"discovery":[{"type":"file","name":"a","path":"/a"},{"type":"file","name":"a","path":"/b"}]}"#, "jsonData.discovery[1].name"),
        (r#"{"discovery":[{"type":"consul","name":"a"}]}"#, "jsonData.discovery[0].type"),
        (r#"{"discovery":[{"type":"file","name":"a","path":"/a","refreshSeconds":0}]}"#, "jsonData.discovery[0].refreshSeconds"),
    ];
    for (json, path) in cases {
        let err = Registry::from_grafana(json.as_bytes(), &HashMap::new()).unwrap_err().to_string();
        assert!(err.contains(path), "{json}: {err}");
    }
    let secure: HashMap<String, String> = [("discoverySources.nope.bearerToken".to_owned(), "t".to_owned())].into();
    let err = Registry::from_grafana(TWO_SOURCES.as_bytes(), &secure).unwrap_err().to_string();
    assert!(err.contains("discoverySources.nope.bearerToken") && !err.contains("\"t\""), "{err}");
    // With discovery, a secret may wait for its cluster.
    let secure: HashMap<String, String> =
        [("later.bearerToken".to_owned(), "t".to_owned()), ("discoverySources.central.bearerToken".to_owned(), "t".to_owned())].into();
    assert!(Registry::from_grafana(TWO_SOURCES.as_bytes(), &secure).is_ok());
}

#[test]
fn file_lists_parse_in_both_shapes_and_errors_name_the_path() {
    let list = file::parse("- id: a\n  prometheus: {url: 'http://a'}\n- id: b\n").unwrap();
    assert_eq!(list.clusters.len(), 2);
    let obj = file::parse(r#"{"clusters":[{"id":"a","labels":{"env":"prod"}}]}"#).unwrap();
    assert_eq!(obj.clusters[0].settings.labels.get("env").map(String::as_str), Some("prod"));
    let err = file::parse("- id: a\n  prometheus: {urll: 'http://a'}\n").unwrap_err();
    assert!(err.contains("clusters[0].prometheus") && err.contains("urll"), "{err}");
    let err = file::parse("clusterz: []").unwrap_err();
    assert!(err.contains("clusterz"), "{err}");
    assert!(file::parse("").unwrap().clusters.is_empty());
}

#[tokio::test]
async fn a_file_is_reread_only_when_it_changes() {
    let dir = std::env::temp_dir().join(format!("fleetscope-file-watch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("clusters.yaml");
    std::fs::write(&path, "- id: a\n").unwrap();
    let mut w = file::FileWatch::new(&path);
    assert_eq!(w.poll().await.unwrap().unwrap().clusters.len(), 1);
    assert!(w.poll().await.is_none(), "unchanged: nothing to publish");
    std::fs::write(&path, "- id: a\n- id: b\n").unwrap();
    assert_eq!(w.poll().await.unwrap().unwrap().clusters.len(), 2);
    std::fs::write(&path, "- id: a\n  prometheus: 3\n").unwrap();
    assert!(w.poll().await.unwrap().unwrap_err().contains("clusters[0].prometheus"));
    std::fs::remove_file(&path).unwrap();
    let gone = w.poll().await.unwrap().unwrap_err();
    assert!(gone.contains("clusters.yaml"), "{gone}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn registry_answers_parse_per_entry_and_keep_secrets_in_memory() {
    let body = br#"{"clusters":[
      {"id":"east","name":"prod-east","status":"online","labels":{"env":"prod"},"createdAt":"2026-01-01",
       "endpoints":{"prometheus":{"url":"https://prom.east"},"kubernetes":{"server":"https://api.east:6443"}},
       "secrets":{"bearerToken":"s3cr3t","kubernetes.tlsCACert":"PEM"}},
      {"id":"west","status":"Offline","endpoints":{"prometheus":{"url":"https://prom.west","tenantt":"x"}}},
      {"id":"north","status":"online","secrets":{"prometheus.password":"x"}},
      {"name":"no-id","status":"online"},
      {"id":"typo","status":"online","secrets":{"bearerToken":{"nested":"s3cr3t-2"}}}
    ]}"#;
    let found = registry_api::parse(body).unwrap();
    assert_eq!(found.clusters.len(), 1);
    let east = &found.clusters[0];
    assert_eq!(east.status, "online");
    assert_eq!(east.secrets.get("east.bearerToken").map(|s| s.expose()), Some("s3cr3t"));
    assert!(east.secrets.contains_key("east.kubernetes.tlsCACert"));
    assert!(!format!("{east:?}").contains("s3cr3t"), "secrets never print");
    let skipped: Vec<&str> = found.skipped.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(skipped, vec!["west", "north", "clusters[3]", "typo"]);
    assert!(!found.skipped[3].error.contains("s3cr3t-2"), "{:?}", found.skipped[3]);
    assert!(found.skipped[0].error.contains("endpoints.prometheus") && found.skipped[0].error.contains("tenantt"), "{:?}", found.skipped[0]);
    assert!(found.skipped[1].error.contains("prometheus.password") && !found.skipped[1].error.contains("\"x\""), "{:?}", found.skipped[1]);
    assert!(registry_api::parse(b"<html>").is_err());
    assert_eq!(registry_api::parse(br#"[{"id":"a","status":"online"}]"#).unwrap().clusters.len(), 1, "a bare list too");
}

fn argo_secret(name: &str, annotations: serde_json::Value, config: serde_json::Value) -> k8s_openapi::api::core::v1::Secret {
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    serde_json::from_value(serde_json::json!({
        "metadata": {"name": format!("cluster-{name}"), "annotations": annotations},
        "data": {"name": b64(name), "server": b64("https://api.example:6443"), "config": b64(&config.to_string())}
    }))
    .unwrap()
}

#[test]
fn argo_cd_cluster_secrets_become_clusters() {
    use base64::Engine as _;
    let ca = base64::engine::general_purpose::STANDARD.encode("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
    let s = argo_secret(
        "Prod East.1",
        serde_json::json!({
            "fleetscope.io/labels": "env=prod, region=eu-west-1",
            "fleetscope.io/endpoints": r#"{"prometheus":{"url":"http://prom.east:9090"},"kubernetes":{"gpuNamespace":"gpu"}}"#
        }),
        serde_json::json!({"bearerToken": "tok3n", "tlsClientConfig": {"caData": ca, "insecure": false}}),
    );
    let c = kubernetes::cluster_from_secret(&s).unwrap();
    assert_eq!(c.settings.id, "prod-east-1");
    assert_eq!(c.settings.name.as_deref(), Some("Prod East.1"));
    assert_eq!(c.settings.labels.get("region").map(String::as_str), Some("eu-west-1"));
    let k = c.settings.kubernetes.as_ref().unwrap();
    assert_eq!((k.server.as_deref(), k.gpu_namespace.as_str()), (Some("https://api.example:6443"), "gpu"));
    assert_eq!(c.secrets.get("prod-east-1.kubernetes.bearerToken").map(|s| s.expose()), Some("tok3n"));
    assert!(c.secrets.get("prod-east-1.kubernetes.tlsCACert").unwrap().expose().starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(!format!("{c:?}").contains("tok3n"));

    let exec = argo_secret("x", serde_json::json!({}), serde_json::json!({"execProviderConfig": {"command": "aws"}}));
    assert!(kubernetes::cluster_from_secret(&exec).unwrap_err().contains("execProviderConfig"));
    let bad = argo_secret("x", serde_json::json!({"fleetscope.io/endpoints": r#"{"prometheus":{"urll":"x"}}"#}), serde_json::json!({}));
    let err = kubernetes::cluster_from_secret(&bad).unwrap_err();
    assert!(err.contains("prometheus") && err.contains("urll"), "{err}");
    let id = argo_secret("x", serde_json::json!({"fleetscope.io/cluster-id": "edge-7"}), serde_json::json!({}));
    assert_eq!(kubernetes::cluster_from_secret(&id).unwrap().settings.id, "edge-7");
}
