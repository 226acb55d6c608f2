use std::collections::HashMap;

use super::*;

fn secure(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

const TWO: &str = r#"{"clusters":[
  {"id":"east","name":"prod-east-1","labels":{"region":"us-east-1"},
   "prometheus":{"url":"https://prom.east:9090","kind":"mimir","tenant":"team-a","basicAuthUser":"grafana"}},
  {"id":"west","prometheus":{"url":"http://prom.west:9090"},"enabled":false}
],"query":{"timeoutSeconds":5,"maxParallel":4}}"#;

#[test]
fn parses_clusters_limits_and_secrets() {
    let reg = Registry::from_grafana(TWO.as_bytes(), &secure(&[("east.prometheus.basicAuthPassword", "pw"), ("east.bearerToken", "tok")])).unwrap();
    assert_eq!(reg.clusters().len(), 2);
    let east = reg.get("east").unwrap();
    assert_eq!(east.name, "prod-east-1");
    let prom = east.prometheus.as_ref().unwrap();
    assert_eq!(prom.prometheus_kind, PrometheusKind::Mimir);
    assert_eq!(prom.tenant.as_deref(), Some("team-a"));
    assert_eq!(prom.credentials.basic_auth.as_ref().unwrap().1.expose(), "pw");
    assert_eq!(prom.credentials.bearer_token.as_ref().unwrap().expose(), "tok");
    assert_eq!(reg.get("west").unwrap().name, "west", "name defaults to id");
    assert_eq!(reg.limits.timeout, Duration::from_secs(5));
    assert_eq!(reg.limits.max_parallel, 4);
    assert_eq!(reg.limits.retry_attempts, 3, "seed default");
}

#[test]
fn targets_default_to_enabled_clusters_and_reject_unknown() {
    let reg = Registry::from_grafana(TWO.as_bytes(), &secure(&[("east.basicAuthPassword", "pw")])).unwrap();
    let all: Vec<_> = reg.targets(&[]).unwrap().iter().map(|c| c.id.to_string()).collect();
    assert_eq!(all, vec!["east"]);
    let named: Vec<_> = reg.targets(&["west".into(), "prod-east-1".into()]).unwrap().iter().map(|c| c.id.to_string()).collect();
    assert_eq!(named, vec!["west", "east"], "explicit ids include disabled clusters; names resolve");
    let err = reg.targets(&["nope".into(), "east".into()]).unwrap_err();
    assert_eq!(err.code, ErrorCode::ClusterNotFound);
    assert!(err.message.contains("nope"), "{}", err.message);
}

#[test]
fn unknown_key_is_named_with_its_path() {
    let err = Registry::from_grafana(br#"{"clusters":[{"id":"a","prometheus":{"url":"http://x","tenantt":"y"}}]}"#, &HashMap::new()).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("jsonData.clusters[0].prometheus"), "{msg}");
    assert!(msg.contains("tenantt"), "{msg}");
    let err = Registry::from_grafana(br#"{"clusterz":[]}"#, &HashMap::new()).unwrap_err();
    assert!(err.to_string().contains("clusterz"), "{err}");
}

#[test]
fn bad_values_are_rejected_with_path() {
    let cases: &[(&str, &str)] = &[
        (r#"{"clusters":[{"id":"East!","prometheus":{"url":"http://x"}}]}"#, "jsonData.clusters[0].id"),
        (r#"{"clusters":[{"id":"a","prometheus":{"url":"ftp://x"}}]}"#, "jsonData.clusters[0].prometheus.url"),
        (r#"{"clusters":[{"id":"a","loki":{"url":"http://x","kind":"thanos"}}]}"#, "jsonData.clusters[0].loki.kind"),
        (r#"{"clusters":[{"id":"a"},{"id":"a"}]}"#, "jsonData.clusters[1].id"),
        (r#"{"query":{"maxParallel":0}}"#, "jsonData.query.maxParallel"),
        (r#"{"query":{"maxParallelPerCluster":0}}"#, "jsonData.query.maxParallelPerCluster"),
        (r#"{"query":{"timeoutSeconds":-1}}"#, "jsonData.query.timeoutSeconds"),
        (r#"{"clusters":[{"id":"a","prometheus":{"url":"http://x","basicAuthUser":"u"}}]}"#, "basicAuthUser"),
        (r#"{"clusters":"nope"}"#, "jsonData.clusters"),
    ];
    for (json, path) in cases {
        let err = Registry::from_grafana(json.as_bytes(), &HashMap::new()).unwrap_err();
        assert!(err.to_string().contains(path), "{json}: {err}");
    }
}

#[test]
fn secret_keys_are_checked_without_leaking_values() {
    let err = Registry::from_grafana(TWO.as_bytes(), &secure(&[("east.basicAuthPassword", "pw"), ("east.bearerTokn", "s3cr3t")])).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("east.bearerTokn"), "{msg}");
    assert!(!msg.contains("s3cr3t"), "{msg}");
    let err = Registry::from_grafana(TWO.as_bytes(), &secure(&[("east.basicAuthPassword", "pw"), ("north.bearerToken", "x")])).unwrap_err();
    assert!(err.to_string().contains("north"), "{err}");
}

#[test]
fn secrets_never_print() {
    let reg = Registry::from_grafana(TWO.as_bytes(), &secure(&[("east.basicAuthPassword", "hunter2"), ("east.bearerToken", "tok3n")])).unwrap();
    let dbg = format!("{reg:?}");
    assert!(!dbg.contains("hunter2") && !dbg.contains("tok3n"), "{dbg}");
    let desc = reg.get("east").unwrap().describe().to_string();
    assert!(!desc.contains("hunter2") && !desc.contains("tok3n") && !desc.contains("grafana@"), "{desc}");
    assert!(desc.contains("https://prom.east:9090"), "{desc}");
}

#[test]
fn yaml_config_file_uses_grafana_provisioning_shape() {
    let yaml = "jsonData:\n  clusters:\n    - id: east\n      prometheus: {url: 'http://127.0.0.1:9090'}\nsecureJsonData:\n  east.bearerToken: abc\n";
    let reg = Registry::from_yaml(yaml).unwrap();
    assert_eq!(reg.get("east").unwrap().prometheus.as_ref().unwrap().credentials.bearer_token.as_ref().unwrap().expose(), "abc");
    let err = Registry::from_yaml("jsonData:\n  clusterz: []\n").unwrap_err();
    assert!(err.to_string().contains("clusterz"), "{err}");
}

#[test]
fn empty_json_data_is_an_empty_registry() {
    let reg = Registry::from_grafana(b"", &HashMap::new()).unwrap();
    assert!(reg.clusters().is_empty());
    assert_eq!(reg.limits.max_parallel, 10);
    assert_eq!(reg.limits.max_parallel_per_cluster, 4);
    let narrow = Registry::from_grafana(br#"{"query":{"maxParallel":2}}"#, &HashMap::new()).unwrap();
    assert_eq!(narrow.limits.max_parallel_per_cluster, 2, "never above maxParallel");
}

#[test]
fn clickhouse_stores_resolve_and_are_checked() {
    let yaml = "jsonData:\n  clickhouse:\n    - { id: central, url: \"https://ch:8443\", user: reader }\n  clusters:\n    - { id: east, clickhouse: {} }\n    - { id: west, clickhouse: { store: central, clusterValue: 5b0e-uuid } }\nsecureJsonData:\n  clickhouseStores.central.password: s3cret\n";
    let reg = Registry::from_yaml(yaml).unwrap();
    let east = reg.get("east").unwrap().clickhouse.clone().unwrap();
    assert_eq!((east.store.as_str(), east.cluster_value.as_str()), ("central", "east"));
    assert_eq!(reg.get("west").unwrap().clickhouse.as_ref().unwrap().cluster_value, "5b0e-uuid");
    let store = &reg.clickhouse_stores()[0];
    assert_eq!((store.database.as_str(), store.gauge_table.as_str(), store.cluster_attribute.as_str()), ("otel", "otel_metrics_gauge", "cluster_id"));
    assert_eq!(store.endpoint.credentials.basic_auth.as_ref().map(|(u, p)| (u.as_str(), p.expose())), Some(("reader", "s3cret")));
    assert!(!format!("{store:?}").contains("s3cret"), "the password never prints");
    assert!(reg.get("east").unwrap().backends().contains(&Backend::Clickhouse));

    for (bad, path) in [
        ("jsonData:\n  clickhouse:\n    - { id: c, url: \"http://x\", database: \"otel`; DROP\" }\n", "jsonData.clickhouse[0].database"),
        (
            "jsonData:\n  clickhouse:\n    - { id: c, url: \"http://x\" }\n  clusters:\n    - { id: e, clickhouse: { store: nope } }\n",
            "jsonData.clusters[0].clickhouse.store",
        ),
        ("jsonData:\n  clickhouse:\n    - { id: c, url: \"http://x\" }\n    - { id: c, url: \"http://y\" }\n", "jsonData.clickhouse[1].id"),
        (
            "jsonData:\n  clickhouse:\n    - { id: c, url: \"http://x\" }\nsecureJsonData:\n  clickhouseStores.other.password: p\n",
            "secureJsonData.clickhouseStores.other.password",
        ),
        (
            "jsonData:\n  clickhouse:\n    - { id: c, url: \"http://x\" }\nsecureJsonData:\n  clickhouseStores.c.password: p\n",
            "jsonData.clickhouse[0].user",
        ),
        ("jsonData:\n  clickhouse:\n    - { id: c, url: \"http://x\", clusterAttribute: \"a b\" }\n", "jsonData.clickhouse[0].clusterAttribute"),
    ] {
        let err = Registry::from_yaml(bad).unwrap_err().to_string();
        assert!(err.contains(path), "{bad}: {err}");
    }
}
