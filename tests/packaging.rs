//! What `make dist` packages, checked from the sources it packages (scripts/dist.sh): both
//! plugin.json files (query options, logos, screenshots and links Grafana's plugin page and
//! validator read), the plugin-page READMEs (their example settings must be settings the
//! plugin accepts), the licence, the toolchain pin, and the docker-compose dev loop. The
//! built packages themselves are checked by scripts/dist.sh and scripts/check-static.sh.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use fleetscope::query::{self, QueryEnvelope, TimeRange};
use fleetscope::registry::Registry;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn json(path: &str) -> Value {
    serde_json::from_str(&read(&root().join(path))).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// plugin.json (at `plugin_json`) and the folder its images are copied from into the package.
fn check_plugin_info(plugin_json: &str, image_root: &str, readme: &str) {
    let plugin = json(plugin_json);
    let info = &plugin["info"];
    for key in ["small", "large"] {
        let logo = info["logos"][key].as_str().unwrap_or_else(|| panic!("{plugin_json}: info.logos.{key}"));
        assert!(root().join(image_root).join(logo).is_file(), "{plugin_json}: logo {logo} not in {image_root}");
    }
    let screenshots = info["screenshots"].as_array().unwrap_or_else(|| panic!("{plugin_json}: info.screenshots"));
    assert!(!screenshots.is_empty(), "{plugin_json}: the plugin page shows no screenshot");
    let readme_text = read(&root().join(readme));
    for s in screenshots {
        let name = s["name"].as_str().filter(|n| !n.is_empty()).unwrap_or_else(|| panic!("{plugin_json}: screenshot without name"));
        let path = s["path"].as_str().unwrap_or_else(|| panic!("{plugin_json}: screenshot {name} without path"));
        let file = root().join(image_root).join(path);
        let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{plugin_json}: screenshot {path}: {e}"));
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{path} is not a PNG");
        assert!(readme_text.contains(&format!("]({path})")), "{readme} does not show {path}");
    }
    let links = info["links"].as_array().unwrap_or_else(|| panic!("{plugin_json}: info.links"));
    assert!(!links.is_empty(), "{plugin_json}: info.links is empty");
    for l in links {
        let url = l["url"].as_str().unwrap_or("");
        assert!(url.starts_with("https://") && l["name"].as_str().is_some_and(|n| !n.is_empty()), "{plugin_json}: link {l}");
    }
    assert_eq!(info["version"], "%VERSION%", "{plugin_json}: make dist stamps the version");
    let dependency = plugin["dependencies"]["grafanaDependency"].as_str().unwrap_or("");
    assert_eq!(dependency, ">=12.3.0", "{plugin_json}: grafanaDependency");
}

#[test]
fn datasource_plugin_json_is_complete() {
    check_plugin_info("plugin.json", ".", "packaging/datasource/README.md");
    let plugin = json("plugin.json");
    // The query options panel shows Min interval and Max data points, as for Prometheus.
    assert_eq!(plugin["queryOptions"]["minInterval"], true);
    assert_eq!(plugin["queryOptions"]["maxDataPoints"], true);
    assert_eq!(plugin["backend"], true);
    assert_eq!(plugin["executable"], "gpx_fleetscope", "Grafana starts gpx_fleetscope_<os>_<arch> (scripts/dist.sh)");
}

#[test]
fn panel_plugin_json_is_complete() {
    check_plugin_info("frontend/panel/plugin.json", "frontend/panel", "packaging/panel/README.md");
}

/// The README shown on the plugin page documents every query kind, and its provisioning
/// example is settings the plugin accepts.
#[test]
fn datasource_readme_covers_every_query_kind_with_valid_examples() {
    let text = read(&root().join("packaging/datasource/README.md"));
    let mut kinds = BTreeSet::new();
    for line in text.lines().filter(|l| l.starts_with("{\"queryType\"")) {
        let q: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("example is not JSON: {line}: {e}"));
        kinds.insert(q["queryType"].as_str().unwrap().to_owned());
        let env =
            QueryEnvelope { ref_id: "A".into(), time_range: TimeRange::new(0, 3_600_000).unwrap(), interval_ms: 15_000, max_data_points: 1_000 };
        query::parse("", line.as_bytes(), env).unwrap_or_else(|e| panic!("the plugin rejects the README's example {line}: {e}"));
    }
    let documented: BTreeSet<String> = ["metrics", "logs", "traces", "alerts", "gpu", "cnf", "macos"].iter().map(|s| s.to_string()).collect();
    assert_eq!(kinds, documented, "one example per query kind");

    let yaml = text.split("```yaml\n").nth(1).and_then(|s| s.split("```").next()).expect("a provisioning example");
    let doc: Value = serde_yaml::from_str(yaml).unwrap_or_else(|e| panic!("README provisioning example: {e}"));
    let ds = &doc["datasources"][0];
    assert_eq!(ds["type"], "fleetscope-federation-datasource");
    let secrets: HashMap<String, String> = ds["secureJsonData"].as_object().unwrap().keys().map(|k| (k.clone(), "placeholder".to_owned())).collect();
    let json_data = serde_json::to_vec(&ds["jsonData"]).unwrap();
    Registry::from_grafana(&json_data, &secrets).unwrap_or_else(|e| panic!("the plugin rejects the README's settings: {e}"));
}

#[test]
fn license_is_apache_2() {
    let license = read(&root().join("LICENSE"));
    assert!(license.contains("Apache License") && license.contains("Version 2.0, January 2004"), "LICENSE is not Apache-2.0");
    assert_eq!(env!("CARGO_PKG_LICENSE"), "Apache-2.0");
    let package: Value = json("frontend/package.json");
    assert_eq!(package["license"], "Apache-2.0");
}

/// rust-toolchain.toml pins the compiler this crate is built with, and lists the static targets.
#[test]
fn toolchain_is_pinned_with_the_static_targets() {
    let text = read(&root().join("rust-toolchain.toml"));
    let doc: toml_like::Doc = toml_like::parse(&text);
    let channel = doc.get("channel").expect("channel");
    assert!(channel.split('.').count() == 3 && channel.split('.').all(|p| p.parse::<u32>().is_ok()), "channel {channel} is not an exact version");
    let targets = doc.get("targets").expect("targets");
    for t in ["x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl"] {
        assert!(targets.contains(&format!("\"{t}\"")), "rust-toolchain.toml lacks {t}");
    }
    let readme = read(&root().join("README.md"));
    assert!(readme.contains(&format!("Rust {channel}")), "README.md does not name Rust {channel}");
}

/// docker-compose.yaml: a pinned Grafana >= 12.3, dist/ as the plugin directory, provisioning/
/// mounted, both plugins allowed unsigned, and every secret the provisioned datasource reads
/// from the environment passed through.
#[test]
fn docker_compose_runs_the_dist_folders_with_the_provisioning() {
    let doc: Value = serde_yaml::from_str(&read(&root().join("docker-compose.yaml"))).unwrap();
    let grafana = &doc["services"]["grafana"];
    let image = grafana["image"].as_str().unwrap();
    let version = image.rsplit(":-").next().unwrap().trim_end_matches('}');
    let parts: Vec<u32> = version.split('.').map(|p| p.parse().unwrap_or_else(|_| panic!("image {image}: not pinned"))).collect();
    assert!(image.starts_with("grafana/grafana:") && parts.len() == 3 && (parts[0], parts[1]) >= (12, 3), "{image}");
    let volumes: Vec<&str> = grafana["volumes"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(volumes.iter().any(|v| v.starts_with("./dist:/var/lib/grafana/plugins")), "{volumes:?}");
    assert!(volumes.iter().any(|v| v.starts_with("./provisioning:/etc/grafana/provisioning")), "{volumes:?}");
    let env = &grafana["environment"];
    assert_eq!(env["GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS"], "fleetscope-federation-datasource,fleetscope-llmops-panel");
    let provisioning = read(&root().join("provisioning/datasources/fleetscope.yaml"));
    for var in provisioning.split("${").skip(1).filter_map(|s| s.split('}').next()).filter(|v| v.starts_with("FLEETSCOPE_")) {
        assert!(env[var].is_string(), "docker-compose.yaml does not pass {var} to Grafana");
    }
}

/// Just enough TOML for rust-toolchain.toml's `key = value` lines.
mod toml_like {
    pub struct Doc(Vec<(String, String)>);

    impl Doc {
        pub fn get(&self, key: &str) -> Option<&str> {
            self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.trim_matches('"'))
        }
    }

    pub fn parse(text: &str) -> Doc {
        Doc(text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect())
    }
}
