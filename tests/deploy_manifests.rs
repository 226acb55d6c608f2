//! The deployment recipe (deploy/) checked without a cluster: every manifest
//! parses, the pieces agree with each other and with the binary — probe paths
//! and ports, the `--listen` port, the Service's target port, the Secret's
//! settings (loaded as `serve` loads them, tokens included), the TLS mount,
//! the grace period against `--shutdown-timeout` — and the Dockerfile wraps
//! the musl binary that `make dist` builds. What is not run here: applying
//! them to a cluster, building the image (`docker build` needs the registry).

use std::path::Path;

use serde_yaml::Value;

fn docs(path: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_yaml::Deserializer::from_str(&text)
        .map(|d| Value::deserialize(d).unwrap_or_else(|e| panic!("{path}: {e}")))
        .filter(|v| !v.is_null())
        .collect()
}

use serde::Deserialize;

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v:?}"))
}

#[test]
fn kustomizations_list_existing_files() {
    for dir in ["deploy/kubernetes/base", "deploy/kubernetes/with-redis"] {
        let k = &docs(&format!("{dir}/kustomization.yaml"))[0];
        assert_eq!(s(&k["kind"]), "Kustomization");
        for r in k["resources"].as_sequence().unwrap() {
            let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir).join(s(r));
            assert!(p.exists(), "{dir}: resource {} does not exist", s(r));
            if p.is_file() {
                for d in docs(&format!("{dir}/{}", s(r))) {
                    assert!(d["apiVersion"].is_string() && d["kind"].is_string() && d["metadata"]["name"].is_string(), "{dir}/{}: {d:?}", s(r));
                }
            }
        }
    }
}

#[test]
fn deployment_service_probes_and_settings_agree() {
    let dep = &docs("deploy/kubernetes/base/deployment.yaml")[0];
    assert_eq!(dep["spec"]["replicas"].as_u64(), Some(2));
    let pod = &dep["spec"]["template"]["spec"];
    let c = &pod["containers"][0];
    let args: Vec<&str> = c["args"].as_sequence().unwrap().iter().map(s).collect();
    let arg = |name: &str| args.iter().find_map(|a| a.strip_prefix(&format!("--{name}="))).unwrap_or_else(|| panic!("no --{name}"));
    let listen_port: u64 = arg("listen").rsplit(':').next().unwrap().parse().unwrap();
    let port = &c["ports"][0];
    assert_eq!(port["containerPort"].as_u64(), Some(listen_port), "containerPort = --listen port");
    let port_name = s(&port["name"]);
    for (probe, path) in [("startupProbe", "/healthz"), ("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
        let g = &c[probe]["httpGet"];
        assert_eq!((s(&g["path"]), s(&g["port"]), s(&g["scheme"])), (path, port_name, "HTTPS"), "{probe}");
    }
    let grace = pod["terminationGracePeriodSeconds"].as_u64().unwrap();
    let shutdown: u64 = arg("shutdown-timeout").parse().unwrap();
    let pre_stop = c["lifecycle"]["preStop"]["sleep"]["seconds"].as_u64().unwrap();
    assert!(grace > shutdown + pre_stop, "terminationGracePeriodSeconds {grace} must exceed preStop {pre_stop} + --shutdown-timeout {shutdown}");
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"].as_bool(), Some(true));
    assert_eq!(pod["securityContext"]["runAsNonRoot"].as_bool(), Some(true));

    // Mounts: the settings file and the TLS pair are where --config/--tls-* point.
    let mounts = c["volumeMounts"].as_sequence().unwrap();
    let mounted = |file: &str| -> String {
        let m = mounts.iter().find(|m| file.starts_with(s(&m["mountPath"]))).unwrap_or_else(|| panic!("{file} is not mounted"));
        let vol = pod["volumes"].as_sequence().unwrap().iter().find(|v| v["name"] == m["name"]).unwrap();
        s(&vol["secret"]["secretName"]).to_owned()
    };
    assert_eq!(mounted(arg("config")), "fleetscope-settings");
    assert_eq!(mounted(arg("tls-cert")), "fleetscope-tls");
    assert_eq!(mounted(arg("tls-key")), "fleetscope-tls");
    let tls_mount = mounts.iter().find(|m| m["name"] == "tls").unwrap();
    assert!(tls_mount["subPath"].is_null(), "a subPath mount would never see rotated certificates");

    let svc = &docs("deploy/kubernetes/base/service.yaml")[0];
    assert_eq!(s(&svc["spec"]["ports"][0]["targetPort"]), port_name);
    assert_eq!(svc["spec"]["selector"], dep["spec"]["template"]["metadata"]["labels"]);
    let np = &docs("deploy/kubernetes/base/networkpolicy.yaml")[0];
    assert_eq!(np["spec"]["podSelector"]["matchLabels"], dep["spec"]["template"]["metadata"]["labels"]);
    assert_eq!(np["spec"]["ingress"][0]["ports"][0]["port"].as_u64(), Some(listen_port));
    let cert = &docs("deploy/kubernetes/base/certificate.yaml")[0];
    assert_eq!(s(&cert["spec"]["secretName"]), "fleetscope-tls");

    // The example settings load exactly as `serve` loads them, tokens included.
    let secret = &docs("deploy/kubernetes/base/secret-settings.yaml")[0];
    assert_eq!(s(&secret["metadata"]["name"]), "fleetscope-settings");
    let settings = s(&secret["stringData"]["fleetscope.yaml"]);
    let e = fleetscope::cli::validate_serve_settings(settings).unwrap_err();
    assert!(e.contains("still the example value"), "the placeholders are refused as tokens: {e}");
    let filled = settings.replace("replace-me", "0123456789abcdef0123456789abcdef");
    let tokens = fleetscope::cli::validate_serve_settings(&filled).unwrap_or_else(|e| panic!("example settings: {e}"));
    assert_eq!(tokens, ["platform-api", "prod-dashboards", "prometheus-scrape"]);
}

#[test]
fn redis_overlay_is_reachable_only_from_fleetscope() {
    let all = docs("deploy/kubernetes/with-redis/redis.yaml");
    let kinds: Vec<&str> = all.iter().map(|d| s(&d["kind"])).collect();
    assert_eq!(kinds, ["Deployment", "Service", "NetworkPolicy", "NetworkPolicy"]);
    assert_eq!(all[2]["spec"]["ingress"][0]["from"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/name"], "fleetscope");
    assert_eq!(all[1]["spec"]["ports"][0]["port"].as_u64(), Some(6379));
}

#[test]
fn dockerfile_wraps_the_musl_binary_on_distroless() {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/Dockerfile")).unwrap();
    assert!(text.contains("ARG BINARY=target/x86_64-unknown-linux-musl/release/gpx_fleetscope"), "the musl binary of `make dist`");
    assert!(text.lines().any(|l| l.starts_with("FROM gcr.io/distroless/static")), "distroless/static base");
    assert!(text.contains("USER 65532:65532"));
    assert!(text.contains(r#"ENTRYPOINT ["/usr/local/bin/gpx_fleetscope", "serve"]"#));
    let ignore = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/Dockerfile.dockerignore")).unwrap();
    assert!(ignore.contains("!target/x86_64-unknown-linux-musl/release/gpx_fleetscope"));
}
