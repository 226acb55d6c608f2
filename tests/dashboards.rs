//! No dashboard or alert rule ships with a broken query (issue 9).
//!
//! Structural checks of every file in `dashboards/` and `provisioning/` run anywhere.
//! The live checks run every dashboard target and every alert rule query through the
//! same query parser and federation engine the plugin uses, against the real test
//! stack's demo clusters (`tests/stack`, `.stack/fleetscope-demo.yaml`: real
//! Prometheus and Alertmanagers, replayed Loki/Tempo/Kubernetes): each must parse,
//! fail on no cluster, raise no warning and return at least one non-empty frame.
//! Alert rules are then evaluated the way Grafana's expression chain would (reduce →
//! threshold) on the returned data-plane frames. Demo values are not asserted
//! (tests/stack/README.md). The Go harness runs the same targets through the plugin
//! binary as Grafana sends them (tests/conformance/dashboards_test.go).

use crate::support as harness;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use fleetscope::federation::{self, Federation};
use fleetscope::frames::{FieldValues, Frame, NoticeSeverity};
use fleetscope::query::{self, QueryEnvelope, TimeRange};
use fleetscope::registry::Registry;
use serde_json::{Value, json};

const PLUGIN_ID: &str = "fleetscope-federation-datasource";
const DS_VAR: &str = "${datasource}";
const DASHBOARDS: [&str; 5] = ["gpu-fleet.json", "macos-power.json", "llm-platform.json", "cluster-overview.json", "cnf-telco.json"];

/// The field each query kind cannot do without (the editor writes it), from the
/// one table of kinds.
fn required_field(kind: &str) -> Option<&'static str> {
    query::kind(kind).unwrap_or_else(|| panic!("queryType {kind:?} is not a Fleetscope query kind")).required_field
}

/// Every string in a target (expressions, pods, matchers), for variable checks.
fn strings_of(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| strings_of(x, out)),
        Value::Object(m) => m.values().for_each(|x| strings_of(x, out)),
        _ => {}
    }
}

/// A target with every dashboard variable but `$cluster` replaced: query
/// variables by their `allValue`, textboxes by their default, custom
/// (constant-choice) variables by their current value unless `chosen` names
/// another of their options.
fn interpolate_target(t: &Value, vars: &[Value], chosen: &[(&str, &str)]) -> Value {
    let mut text = t.to_string();
    for v in vars.iter().filter(|v| v["name"] != "cluster" && v["name"] != "datasource") {
        let value = match v["type"].as_str() {
            Some("query") => v["allValue"].as_str(),
            Some("textbox") => v["query"].as_str(),
            Some("custom") => chosen.iter().find(|(n, _)| v["name"] == *n).map(|(_, value)| *value).or(v["current"]["value"].as_str()),
            _ => None,
        };
        if let Some(value) = value {
            // The value goes into a JSON string: escape it as one.
            let escaped = serde_json::to_string(value).unwrap();
            text = interpolate(&text, v["name"].as_str().unwrap(), &escaped[1..escaped.len() - 1]);
        }
    }
    serde_json::from_str(&text).unwrap()
}

/// The values a custom variable offers (`options[].value`).
fn custom_options(v: &Value) -> Vec<&str> {
    v["options"].as_array().map(|o| o.iter().filter_map(|o| o["value"].as_str()).collect()).unwrap_or_default()
}

/// The dashboard's variable that switches metric panels between sources.
const SOURCE_VAR: &str = "source";

/// Whether a target reads its metrics source from the `$source` variable.
fn uses_source_var(t: &Value) -> bool {
    let mut texts = Vec::new();
    strings_of(t, &mut texts);
    texts.iter().any(|s| referenced_vars(s).contains(SOURCE_VAR))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not valid JSON: {e}", path.display()))
}

fn read_yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", path.display()))
}

fn dashboards() -> Vec<(String, Value)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("dashboards"))
        .expect("dashboards/ exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files.iter().map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), read_json(p))).collect()
}

/// Every panel, rows' nested panels included (collapsed rows keep theirs in `panels`).
fn all_panels(dash: &Value) -> Vec<&Value> {
    fn walk<'a>(list: &'a [Value], out: &mut Vec<&'a Value>) {
        for p in list {
            out.push(p);
            if let Some(inner) = p["panels"].as_array() {
                walk(inner, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(dash["panels"].as_array().expect("dashboard has panels"), &mut out);
    out
}

fn str_of<'a>(v: &'a Value, key: &str, ctx: &str) -> &'a str {
    v[key].as_str().filter(|s| !s.is_empty()).unwrap_or_else(|| panic!("{ctx}: `{key}` missing or empty"))
}

/// Template variable names referenced as `$name`, `${name}` or `${name:format}`.
fn referenced_vars(text: &str) -> BTreeSet<String> {
    let b = text.as_bytes();
    let mut out = BTreeSet::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$' {
            let braced = b.get(i + 1) == Some(&b'{');
            let start = i + 1 + braced as usize;
            let mut j = start;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                j += 1;
            }
            if j > start {
                out.insert(text[start..j].to_owned());
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    out
}

/// Replace a dashboard variable the way Grafana interpolates it into a query.
fn interpolate(text: &str, name: &str, value: &str) -> String {
    let mut s = text.to_owned();
    for pat in [format!("${{{name}:regex}}"), format!("${{{name}:pipe}}"), format!("${{{name}}}")] {
        s = s.replace(&pat, value);
    }
    // `$name` only where the name ends (so `$node` does not eat `$nodes`).
    let needle = format!("${name}");
    let mut out = String::with_capacity(s.len());
    let mut rest = s.as_str();
    while let Some(pos) = rest.find(&needle) {
        let after = &rest[pos + needle.len()..];
        let ends = !after.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_');
        out.push_str(&rest[..pos]);
        out.push_str(if ends { value } else { &needle });
        rest = after;
    }
    out.push_str(rest);
    out
}

// ───────────────────────────── structural checks ─────────────────────────────

/// docs/query-model.md has one section per registered kind, headed with the
/// kind's summary from the table, and no section for a kind that is not in it.
#[test]
fn docs_list_every_query_kind() {
    let doc = std::fs::read_to_string(root().join("docs/query-model.md")).unwrap();
    for spec in query::KINDS {
        let heading = format!("## `{}` — {}", spec.name, spec.summary);
        assert!(doc.lines().any(|l| l == heading), "docs/query-model.md lacks the heading {heading:?}");
    }
    for line in doc.lines().filter(|l| l.starts_with("## `")) {
        let name = line.trim_start_matches("## `").split('`').next().unwrap_or_default();
        assert!(query::kind(name).is_some(), "docs/query-model.md documents {name:?}, which is not a registered kind");
    }
}

#[test]
fn plugin_json_includes_match_the_dashboards() {
    let plugin = read_json(&root().join("plugin.json"));
    assert_eq!(plugin["id"], PLUGIN_ID);
    let included: BTreeSet<String> = plugin["includes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["type"] == "dashboard")
        .map(|i| str_of(i, "path", "plugin.json includes").to_owned())
        .collect();
    let on_disk: BTreeSet<String> = dashboards().into_iter().map(|(f, _)| format!("dashboards/{f}")).collect();
    assert_eq!(included, on_disk, "plugin.json `includes` and dashboards/ differ");
    for f in DASHBOARDS {
        assert!(on_disk.contains(&format!("dashboards/{f}")), "dashboards/{f} is missing");
    }
}

/// `__requires` is what Grafana's import dialog checks: the Grafana version the plugin needs
/// (plugin.json `grafanaDependency`), the Fleetscope datasource and every panel plugin used,
/// the Fleetscope panel plugin with the version shipped beside it.
#[test]
fn dashboards_require_the_grafana_version_and_every_panel_plugin() {
    let plugin = read_json(&root().join("plugin.json"));
    let dependency = str_of(&plugin["dependencies"], "grafanaDependency", "plugin.json");
    let min_grafana = dependency.trim_start_matches(">=").trim();
    let panel_plugin = read_json(&root().join("frontend/panel/plugin.json"));
    let panel_id = str_of(&panel_plugin, "id", "frontend/panel/plugin.json");
    let version = env!("CARGO_PKG_VERSION");
    for (file, dash) in dashboards() {
        let requires = dash["__requires"].as_array().unwrap_or_else(|| panic!("{file}: __requires missing"));
        let find = |kind: &str, id: &str| requires.iter().find(|r| r["type"] == kind && r["id"] == id);
        let grafana = find("grafana", "grafana").unwrap_or_else(|| panic!("{file}: __requires names no Grafana version"));
        assert_eq!(grafana["version"], min_grafana, "{file}: __requires Grafana version must be plugin.json's grafanaDependency");
        let ds = find("datasource", PLUGIN_ID).unwrap_or_else(|| panic!("{file}: __requires lacks the Fleetscope datasource"));
        assert_eq!(ds["version"], version, "{file}: datasource version");
        let used: BTreeSet<&str> = all_panels(&dash).iter().filter_map(|p| p["type"].as_str()).filter(|t| *t != "row").collect();
        let required: BTreeSet<&str> = requires.iter().filter(|r| r["type"] == "panel").filter_map(|r| r["id"].as_str()).collect();
        assert_eq!(used, required, "{file}: __requires panels and the panels used differ");
        if used.contains(panel_id) {
            assert_eq!(find("panel", panel_id).unwrap()["version"], version, "{file}: {panel_id} version");
        }
    }
}

/// `npm run typecheck` checks each dashboard against `@grafana/schema`'s
/// `Dashboard` (frontend/src/provisioning/dashboards.schema.ts): none may be missing there.
#[test]
fn every_dashboard_is_schema_checked_by_the_frontend() {
    let checker = std::fs::read_to_string(root().join("frontend/src/provisioning/dashboards.schema.ts")).unwrap();
    for (file, _) in dashboards() {
        assert!(checker.contains(&format!("'../../../dashboards/{file}'")), "{file} is not imported by dashboards.schema.ts");
    }
}

#[test]
fn dashboards_are_well_formed() {
    let mut uids = BTreeSet::new();
    for (file, d) in dashboards() {
        for key in ["uid", "title", "description", "refresh"] {
            str_of(&d, key, &file);
        }
        assert!(uids.insert(d["uid"].as_str().unwrap().to_owned()), "{file}: duplicate dashboard uid");
        assert!(d["uid"].as_str().unwrap().len() <= 40, "{file}: uid longer than 40 characters");
        assert!(d["schemaVersion"].as_u64().unwrap_or(0) >= 39, "{file}: schemaVersion must be >= 39");
        assert!(d["time"]["from"].as_str().is_some_and(|s| s.starts_with("now-")), "{file}: time.from");
        assert_eq!(d["time"]["to"], "now", "{file}: time.to");
        assert!(d["tags"].as_array().is_some_and(|t| t.iter().any(|x| x == "fleetscope")), "{file}: tag `fleetscope`");

        // Variables: the datasource picker and the cluster multi-select.
        let vars = d["templating"]["list"].as_array().unwrap_or_else(|| panic!("{file}: templating.list"));
        let var = |name: &str| vars.iter().find(|v| v["name"] == name).unwrap_or_else(|| panic!("{file}: variable `{name}` missing"));
        let ds = var("datasource");
        assert_eq!(ds["type"], "datasource", "{file}: datasource variable type");
        assert_eq!(ds["query"], PLUGIN_ID, "{file}: datasource variable query");
        assert_eq!(ds["pluginId"], PLUGIN_ID, "{file}: datasource variable pluginId");
        let cl = var("cluster");
        assert_eq!(cl["type"], "query", "{file}: cluster variable type");
        assert_eq!(cl["datasource"]["uid"], DS_VAR, "{file}: cluster variable datasource");
        assert_eq!(cl["datasource"]["type"], PLUGIN_ID, "{file}: cluster variable datasource type");
        assert_eq!(cl["definition"], "clusters()", "{file}: cluster variable definition");
        assert_eq!(cl["query"]["query"], "clusters()", "{file}: cluster variable query");
        assert_eq!(cl["multi"], true, "{file}: cluster variable multi");
        assert_eq!(cl["includeAll"], true, "{file}: cluster variable includeAll");
        let defined: BTreeSet<String> = vars.iter().map(|v| v["name"].as_str().unwrap().to_owned()).collect();
        for v in vars {
            let name = &v["name"];
            match v["type"].as_str() {
                Some("datasource" | "textbox") => {}
                // Query variables ask this datasource; the live test expands them to their allValue.
                Some("query") => {
                    if name != "cluster" {
                        assert!(v["allValue"].is_string(), "{file}: variable {name} needs an allValue (the live test expands it)");
                        assert_eq!(v["datasource"]["uid"], DS_VAR, "{file}: variable {name} datasource");
                    }
                }
                // Custom variables are a constant choice: no datasource, no "All"; the
                // options are the choice, `query` lists them, the current value is one of them.
                Some("custom") => {
                    let options = custom_options(v);
                    assert!(!options.is_empty(), "{file}: custom variable {name} has no options");
                    let listed: Vec<&str> = v["query"].as_str().unwrap_or("").split(',').map(str::trim).collect();
                    assert_eq!(listed, options, "{file}: custom variable {name}: `query` and `options` differ");
                    let current = v["current"]["value"].as_str().unwrap_or_else(|| panic!("{file}: custom variable {name} has no current value"));
                    assert!(options.contains(&current), "{file}: custom variable {name}: current {current:?} is not among {options:?}");
                    assert_ne!(v["multi"], true, "{file}: custom variable {name}: one value at a time");
                    assert_ne!(v["includeAll"], true, "{file}: custom variable {name}: no All");
                }
                other => panic!("{file}: variable {name} has type {other:?}, which neither Grafana's frontend here nor the tests expand"),
            }
        }
        if let Some(source) = vars.iter().find(|v| v["name"] == SOURCE_VAR) {
            assert_eq!(source["type"], "custom", "{file}: ${SOURCE_VAR} is a custom variable");
            assert_eq!(custom_options(source), ["prometheus", "clickhouse"], "{file}: ${SOURCE_VAR} options");
            assert_eq!(source["current"]["value"], "prometheus", "{file}: ${SOURCE_VAR} defaults to Prometheus");
        }

        // Panels: unique ids, sane grid positions without overlaps, descriptions, units.
        let mut ids = BTreeSet::new();
        let mut boxes: Vec<(String, i64, i64, i64, i64)> = Vec::new();
        for p in all_panels(&d) {
            let title = str_of(p, "title", &file);
            let ctx = format!("{file}: panel {title:?}");
            let id = p["id"].as_u64().unwrap_or_else(|| panic!("{ctx}: id"));
            assert!(ids.insert(id), "{ctx}: duplicate panel id {id}");
            let g = &p["gridPos"];
            let [h, w, x, y] = ["h", "w", "x", "y"].map(|k| g[k].as_i64().unwrap_or_else(|| panic!("{ctx}: gridPos.{k}")));
            assert!(h > 0 && w > 0 && x >= 0 && y >= 0 && x + w <= 24, "{ctx}: gridPos {g}");
            for (other, ox, oy, ow, oh) in &boxes {
                let overlap = x < ox + ow && *ox < x + w && y < oy + oh && *oy < y + h;
                assert!(!overlap, "{ctx}: overlaps panel {other:?}");
            }
            boxes.push((title.to_owned(), x, y, w, h));
            let ptype = str_of(p, "type", &ctx);
            if ptype == "row" {
                continue;
            }
            str_of(p, "description", &ctx);
            assert_eq!(p["datasource"], json!({"type": PLUGIN_ID, "uid": DS_VAR}), "{ctx}: datasource must be the variable");
            if ["timeseries", "stat", "gauge", "bargauge"].contains(&ptype) {
                str_of(&p["fieldConfig"]["defaults"], "unit", &format!("{ctx}: fieldConfig.defaults"));
                assert!(p["fieldConfig"]["defaults"]["thresholds"]["steps"].is_array(), "{ctx}: thresholds");
            }
            let targets = p["targets"].as_array().filter(|t| !t.is_empty()).unwrap_or_else(|| panic!("{ctx}: no targets"));
            let mut refs = BTreeSet::new();
            for t in targets {
                let r = str_of(t, "refId", &ctx);
                assert!(refs.insert(r.to_owned()), "{ctx}: duplicate refId {r}");
                let tctx = format!("{ctx} target {r}");
                assert_eq!(t["datasource"]["uid"], DS_VAR, "{tctx}: datasource");
                let kind = str_of(t, "queryType", &tctx);
                if let Some(field) = required_field(kind) {
                    str_of(t, field, &tctx);
                }
                assert_eq!(t["clusters"], json!(["$cluster"]), "{tctx}: clusters must be [\"$cluster\"]");
                let mut texts = Vec::new();
                strings_of(t, &mut texts);
                for v in texts.iter().flat_map(|s| referenced_vars(s)) {
                    assert!(v.starts_with("__") || defined.contains(&v), "{tctx}: ${v} is not a dashboard variable");
                }
            }
        }
        if file == "llm-platform.json" {
            assert!(all_panels(&d).iter().any(|p| p["type"] == "fleetscope-llmops-panel"), "the LLM panel belongs on the LLM dashboard");
        }
    }
}

/// The GPU-fleet and cluster-overview dashboards switch their metric panels
/// between Prometheus and the ClickHouse store with `$source`. Every target
/// that uses it is a metrics range query that says `source: "$source"` (the
/// frontend interpolates the variable before the backend sees the query) and
/// parses — with its own fields — for every value the variable offers.
#[test]
fn source_variable_panels_are_metrics_queries_valid_for_every_source() {
    let mut switching: BTreeMap<String, usize> = BTreeMap::new();
    for (file, d) in dashboards() {
        let vars = d["templating"]["list"].as_array().unwrap().clone();
        let Some(source) = vars.iter().find(|v| v["name"] == SOURCE_VAR) else {
            assert!(
                !all_panels(&d).iter().flat_map(|p| p["targets"].as_array().into_iter().flatten()).any(uses_source_var),
                "{file}: $source without the variable"
            );
            continue;
        };
        for p in all_panels(&d) {
            for t in p["targets"].as_array().into_iter().flatten().filter(|t| uses_source_var(t)) {
                let ctx = format!("{file}: panel {:?} target {}", p["title"].as_str().unwrap_or(""), t["refId"]);
                assert_eq!(t["queryType"], "metrics", "{ctx}: only metrics queries have a source");
                assert_eq!(t["source"], "$source", "{ctx}: the variable is the whole `source` field");
                assert_ne!(t["instant"], true, "{ctx}: the ClickHouse store answers range queries");
                assert!(["timeseries", "bargauge", "stat", "table"].contains(&p["type"].as_str().unwrap_or("")), "{ctx}: a metrics panel");
                for value in custom_options(source) {
                    let mut q = interpolate_target(t, &vars, &[(SOURCE_VAR, value)]);
                    q["clusters"] = json!(["east"]);
                    let env = QueryEnvelope {
                        ref_id: "A".into(),
                        time_range: TimeRange::new(0, 3_600_000).unwrap(),
                        interval_ms: 15_000,
                        max_data_points: 1_000,
                    };
                    let req = query::parse("", &serde_json::to_vec(&q).unwrap(), env).unwrap_or_else(|e| panic!("{ctx}: source {value}: {e}\n{q}"));
                    let kind = format!("{:?}", req.kind);
                    let want = if value == "clickhouse" { "Clickhouse(" } else { "Metrics(" };
                    assert!(kind.starts_with(want), "{ctx}: source {value} parsed as {kind}");
                }
                *switching.entry(file.clone()).or_default() += 1;
            }
        }
    }
    for file in ["gpu-fleet.json", "cluster-overview.json"] {
        assert!(switching.get(file).is_some_and(|n| *n >= 3), "{file}: panels that switch source: {switching:?}");
    }
    // Sent as written (a client that does not interpolate): the error names `source`.
    let env = QueryEnvelope { ref_id: "A".into(), time_range: TimeRange::new(0, 3_600_000).unwrap(), interval_ms: 15_000, max_data_points: 1_000 };
    let err = query::parse("", br#"{"queryType": "metrics", "source": "$source", "expr": "up", "metric": "up"}"#, env).unwrap_err();
    assert!(err.to_string().contains("`source`") && err.to_string().contains("not replaced"), "{err}");
}

#[test]
fn datasource_provisioning_is_a_valid_registry() {
    let doc = read_yaml(&root().join("provisioning/datasources/fleetscope.yaml"));
    assert_eq!(doc["apiVersion"], 1);
    let ds = &doc["datasources"][0];
    assert_eq!(ds["type"], PLUGIN_ID);
    assert_eq!(ds["uid"], "fleetscope", "alert rules reference uid `fleetscope`");
    let clusters = ds["jsonData"]["clusters"].as_array().expect("jsonData.clusters");
    assert!(clusters.len() >= 3, "the example registers three clusters");
    for c in clusters {
        for backend in ["prometheus", "loki", "tempo", "alertmanager", "kubernetes"] {
            assert!(c[backend].is_object(), "cluster {}: `{backend}` entry missing", c["id"]);
        }
    }
    // Secrets come from the environment, never inline.
    let secure = ds["secureJsonData"].as_object().expect("secureJsonData");
    let mut placeholders = HashMap::new();
    for (k, v) in secure {
        let v = v.as_str().unwrap_or("");
        assert!(v.starts_with("${") && v.ends_with('}'), "secureJsonData.{k} must be an env reference, got {v:?}");
        placeholders.insert(k.clone(), "placeholder".to_owned());
    }
    let json_text = ds["jsonData"].to_string();
    assert!(!json_text.contains("${"), "jsonData: secrets belong in secureJsonData");
    // The plugin's own settings parser accepts it (field names, secret keys).
    let json_data = serde_json::to_vec(&ds["jsonData"]).unwrap();
    let reg = Registry::from_grafana(&json_data, &placeholders).unwrap_or_else(|e| panic!("the plugin rejects the example settings: {e}"));
    assert_eq!(reg.clusters().len(), clusters.len());
}

#[test]
fn dashboard_provider_points_at_the_dashboards() {
    let doc = read_yaml(&root().join("provisioning/dashboards/fleetscope.yaml"));
    assert_eq!(doc["apiVersion"], 1);
    let p = &doc["providers"][0];
    assert_eq!(p["type"], "file");
    str_of(p, "name", "provider");
    str_of(p, "folder", "provider");
    str_of(&p["options"], "path", "provider options");
}

fn rule_groups() -> Vec<Value> {
    let doc = read_yaml(&root().join("provisioning/alerting/fleetscope-rules.yaml"));
    assert_eq!(doc["apiVersion"], 1);
    doc["groups"].as_array().expect("groups").clone()
}

fn all_rules() -> Vec<Value> {
    rule_groups().iter().flat_map(|g| g["rules"].as_array().unwrap().clone()).collect()
}

fn is_duration(s: &str) -> bool {
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    !num.is_empty() && ["s", "m", "h", "d"].contains(&unit)
}

/// Every rule says why its noDataState is what it is (the comment right above it), and only
/// rules over metrics that legitimately vanish may stay OK: a rule over a metric that always
/// exists while its exporter runs must not go silent when the exporter does.
#[test]
fn alert_rules_say_why_no_data_is_what_they_say() {
    let text = std::fs::read_to_string(root().join("provisioning/alerting/fleetscope-rules.yaml")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut stated = 0;
    for (i, line) in lines.iter().enumerate() {
        let Some(state) = line.trim().strip_prefix("noDataState: ") else { continue };
        let above = lines[..i].iter().rev().find(|l| !l.trim().is_empty()).map(|l| l.trim()).unwrap_or("");
        let reason = above
            .strip_prefix(&format!("# noDataState {state}: "))
            .unwrap_or_else(|| panic!("line {}: noDataState {state} without a `# noDataState {state}: <why>` comment above it", i + 1));
        assert!(reason.len() >= 30, "line {}: say why noDataState is {state}: {reason:?}", i + 1);
        stated += 1;
    }
    let rules = all_rules();
    assert_eq!(stated, rules.len(), "one reasoned noDataState per rule");
    let silent: Vec<&str> = rules.iter().filter(|r| r["noDataState"] == "OK").map(|r| str_of(r, "title", "rule")).collect();
    assert!(silent.len() * 2 < rules.len(), "most rules watch metrics that always exist; OK on no data: {silent:?}");
    // Gauges every exporter always writes: their absence is an outage of the exporter.
    for (title, state) in [("HighGPUTemperature", "NoData"), ("ServiceDown", "NoData"), ("ClusterUnreachable", "Alerting")] {
        let rule = rules.iter().find(|r| r["title"] == title).unwrap_or_else(|| panic!("rule {title} missing"));
        assert_eq!(rule["noDataState"], state, "{title}");
    }
}

#[test]
fn alert_rules_are_well_formed() {
    let mut uids = BTreeSet::new();
    let mut titles = BTreeSet::new();
    for g in rule_groups() {
        let gname = str_of(&g, "name", "group");
        str_of(&g, "folder", gname);
        assert!(is_duration(str_of(&g, "interval", gname)), "{gname}: interval");
        for r in g["rules"].as_array().unwrap() {
            let title = str_of(r, "title", gname);
            let uid = str_of(r, "uid", title);
            assert!(uid.len() <= 40 && uids.insert(uid.to_owned()), "{title}: uid must be unique and <= 40 characters");
            assert!(titles.insert(title.to_owned()), "{title}: duplicate title");
            assert!(is_duration(str_of(r, "for", title)), "{title}: for");
            assert!(["NoData", "Alerting", "OK", "KeepLast"].contains(&str_of(r, "noDataState", title)), "{title}: noDataState");
            assert!(["Error", "Alerting", "OK", "KeepLast"].contains(&str_of(r, "execErrState", title)), "{title}: execErrState");
            str_of(&r["annotations"], "summary", title);
            str_of(&r["annotations"], "description", title);
            assert!(["critical", "warning", "info"].contains(&str_of(&r["labels"], "severity", title)), "{title}: severity");

            // The expression chain: queries first, each expression reads earlier nodes,
            // the condition is the last node and every node feeds it.
            let data = r["data"].as_array().filter(|d| !d.is_empty()).unwrap_or_else(|| panic!("{title}: data"));
            let mut seen: Vec<&str> = Vec::new();
            let mut used: BTreeSet<&str> = BTreeSet::new();
            let mut queries = 0;
            for node in data {
                let rid = str_of(node, "refId", title);
                assert_eq!(node["model"]["refId"], rid, "{title}: model.refId of {rid}");
                assert!(!seen.contains(&rid), "{title}: duplicate refId {rid}");
                if node["datasourceUid"] == "__expr__" {
                    let kind = str_of(&node["model"], "type", &format!("{title} {rid}"));
                    let inputs: Vec<String> = match kind {
                        "reduce" | "threshold" | "resample" => vec![str_of(&node["model"], "expression", rid).to_owned()],
                        "math" => referenced_vars(str_of(&node["model"], "expression", rid)).into_iter().collect(),
                        other => panic!("{title}: expression type {other} is not used here"),
                    };
                    for i in &inputs {
                        let at =
                            seen.iter().position(|s| s == i).unwrap_or_else(|| panic!("{title}: {rid} reads {i}, which is not an earlier refId"));
                        used.insert(seen[at]);
                    }
                    if kind == "reduce" {
                        assert!(["last", "mean", "min", "max", "sum", "count"].contains(&str_of(&node["model"], "reducer", rid)), "{title}: reducer");
                    }
                    if kind == "threshold" {
                        let ev = &node["model"]["conditions"][0]["evaluator"];
                        let t = str_of(ev, "type", rid);
                        let n = ev["params"].as_array().map(|p| p.iter().filter(|x| x.is_number()).count()).unwrap_or(0);
                        let want = if t.ends_with("range") { 2 } else { 1 };
                        assert!(["gt", "lt", "within_range", "outside_range"].contains(&t) && n == want, "{title}: threshold evaluator {ev}");
                    }
                } else {
                    assert_eq!(node["datasourceUid"], "fleetscope", "{title}: {rid} must query the provisioned Fleetscope datasource");
                    assert!(seen.len() == queries, "{title}: queries come before expressions");
                    queries += 1;
                    assert!(node["relativeTimeRange"]["from"].as_u64().unwrap_or(0) > 0, "{title}: {rid} relativeTimeRange.from");
                    assert_eq!(node["model"]["queryType"], "metrics", "{title}: {rid} queryType");
                    assert_eq!(node["model"]["instant"], true, "{title}: {rid} must be instant");
                    str_of(&node["model"], "expr", rid);
                }
                seen.push(rid);
            }
            let cond = str_of(r, "condition", title);
            assert!(seen.contains(&cond), "{title}: condition {cond} is not a refId of the rule");
            assert_eq!(seen.last(), Some(&cond), "{title}: the condition is the last node of the chain");
            assert!(queries > 0, "{title}: no query");
            for s in &seen {
                assert!(used.contains(s) || *s == cond, "{title}: {s} feeds nothing");
            }
        }
    }
    for want in [
        "HighGPUUtilization",
        "HighGPUMemory",
        "HighGPUTemperature",
        "HighGatewayLatency",
        "HighErrorRate",
        "ServiceDown",
        "HighRequestQueueDepth",
        "DriftDetected",
        "HighDriftScore",
        "BudgetExceeded",
        "BudgetWarning",
        "PTPOffsetHigh",
        "ClusterUnreachable",
    ] {
        assert!(titles.contains(want), "alert rule {want} is missing");
    }
}

// ───────────────────────────── live checks (test stack) ─────────────────────────────

struct Stack {
    end_ms: i64,
    cluster_ids: Vec<String>,
    fed: Arc<Federation>,
}

use crate::support::stack_env::stack_env;

fn stack() -> Stack {
    let env = stack_env();
    let yaml = std::fs::read_to_string(format!("{}/fleetscope-demo.yaml", env["FLEETSCOPE_STACK_DIR"])).unwrap();
    let reg = Registry::from_yaml(&yaml).unwrap();
    let cluster_ids = reg.clusters().iter().map(|c| c.id.as_str().to_owned()).collect();
    Stack { end_ms: env["STACK_DATA_END_MS"].parse().unwrap(), cluster_ids, fed: Arc::new(Federation::new(reg)) }
}

/// Run one query JSON over [from, to] and check what every caller relies on.
async fn run_checked(s: &Stack, ctx: &str, query: &Value, from_ms: i64, to_ms: i64) -> Vec<Frame> {
    let env = QueryEnvelope {
        ref_id: query["refId"].as_str().unwrap_or("A").to_owned(),
        time_range: TimeRange::new(from_ms, to_ms).unwrap(),
        interval_ms: 15_000,
        max_data_points: 1_000,
    };
    let bytes = serde_json::to_vec(query).unwrap();
    let req = query::parse("", &bytes, env).unwrap_or_else(|e| panic!("{ctx}: does not parse: {e}\n{query}"));
    let frames = federation::execute(&s.fed, &req).await.unwrap_or_else(|e| panic!("{ctx}: query failed: {e}\n{query}"));
    harness::assert_frame_invariants(&frames);
    let kind = query["queryType"].as_str().unwrap_or("metrics");
    if kind == "metrics" || (kind == "logs" && !query["expr"].as_str().unwrap_or("").trim_start().starts_with('{')) {
        // Metric queries (PromQL, LogQL metric queries) answer data-plane frames.
        let want_type = if query["instant"] == true { "numeric-multi" } else { "timeseries-multi" };
        for f in &frames {
            let meta = f.meta.as_ref().unwrap_or_else(|| panic!("{ctx}: frame without meta"));
            assert_eq!(meta.frame_type.as_deref(), Some(want_type), "{ctx}: data-plane type");
            assert!(meta.type_version.is_some_and(|v| v != [0, 0]), "{ctx}: typeVersion");
        }
    }
    assert!(!frames.is_empty(), "{ctx}: no frame at all");
    for f in &frames {
        let Some(meta) = f.meta.as_ref() else {
            continue;
        };
        // Informational notices (e.g. which GPU source answered) are fine; a
        // warning means a cluster or a part of the answer is missing.
        let bad: Vec<_> = meta.notices.iter().filter(|n| n.severity != NoticeSeverity::Info).map(|n| &n.text).collect();
        assert!(bad.is_empty(), "{ctx}: notices {bad:?}");
        if let Some(status) = meta.custom.as_ref().and_then(|c| c["clusters"].as_array()) {
            for c in status {
                assert_eq!(c["status"], "SUCCESS", "{ctx}: cluster {} failed: {}", c["cluster_id"], c["error"]);
            }
        }
    }
    let non_empty = if kind == "metrics" {
        // The value field is named after the metric (Grafana's dataplane frames): the one after `Time`.
        frames.iter().any(|f| f.fields.get(1).is_some_and(|fl| !fl.values.is_empty()))
    } else {
        frames.iter().any(|f| f.fields.first().is_some_and(|fl| !fl.values.is_empty()))
    };
    assert!(non_empty, "{ctx}: no data on the demo clusters (every frame empty)\n{query}");
    frames
}

#[tokio::test(flavor = "multi_thread")]
async fn every_dashboard_target_returns_data() {
    let s = stack();
    let (from, to) = (s.end_ms - 3_600_000, s.end_ms);
    let mut checked = 0;
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for (file, d) in dashboards() {
        let vars = d["templating"]["list"].as_array().unwrap().clone();
        for p in all_panels(&d) {
            let Some(targets) = p["targets"].as_array() else { continue };
            for t in targets {
                let ctx = format!("{file}: panel {:?} target {}", p["title"].as_str().unwrap_or(""), t["refId"]);
                // As Grafana sends it: the multi-select with All → every cluster id;
                // other query variables → their allValue; `$__…` is the parser's job.
                // Targets that switch source run once per source; both answer the same series.
                let sources: Vec<&str> = if uses_source_var(t) { vec!["prometheus", "clickhouse"] } else { vec![""] };
                let mut answered: Vec<(String, BTreeSet<String>)> = Vec::new();
                for source in sources {
                    let mut q = interpolate_target(t, &vars, &[(SOURCE_VAR, source)]);
                    q["clusters"] = json!(s.cluster_ids);
                    q.as_object_mut().unwrap().remove("datasource");
                    let mut texts = Vec::new();
                    strings_of(&q, &mut texts);
                    let left: BTreeSet<String> = texts.iter().flat_map(|t| referenced_vars(t)).filter(|v| !v.starts_with("__")).collect();
                    assert!(left.is_empty(), "{ctx}: uninterpolated variables {left:?} in {q}");
                    let frames = run_checked(&s, &format!("{ctx} source {source:?}"), &q, from, to).await;
                    let series =
                        frames.iter().filter_map(|f| f.fields.get(1)).map(|v| format!("{} {:?}", v.name, v.labels)).collect::<BTreeSet<String>>();
                    answered.push((source.to_owned(), series));
                    *kinds.entry(q["queryType"].as_str().unwrap_or("metrics").to_owned()).or_insert(0) += 1;
                    checked += 1;
                }
                if let [(_, prom), (_, ch)] = answered.as_slice() {
                    assert_eq!(prom, ch, "{ctx}: Prometheus and ClickHouse answer different series");
                }
            }
        }
    }
    eprintln!("dashboards: {checked} targets returned data ({kinds:?})");
    assert!(checked >= 90, "only {checked} targets found");
    // Every kind has a panel; `macos` queries are PromQL and run as `metrics`
    // unless a panel names the kind itself.
    for spec in query::KINDS.iter().filter(|k| k.name != "macos") {
        assert!(kinds.contains_key(spec.name), "no dashboard panel uses queryType {}", spec.name);
    }
}

/// Grafana's reduce (`last`, NaN dropped) then threshold, per series.
fn evaluate(frames: &[Frame], op: &str, params: &[f64]) -> Vec<(String, f64, bool)> {
    let mut out = Vec::new();
    for f in frames {
        for fl in f.fields.iter().skip(1).take(1) {
            let vals: Vec<f64> = match &fl.values {
                FieldValues::F64(v) => v.iter().copied().filter(|x| !x.is_nan()).collect(),
                _ => continue,
            };
            let Some(&last) = vals.last() else { continue };
            let fires = match op {
                "gt" => last > params[0],
                "lt" => last < params[0],
                "within_range" => last > params[0] && last < params[1],
                "outside_range" => last < params[0] || last > params[1],
                other => panic!("evaluator {other}"),
            };
            let labels: BTreeMap<_, _> = fl.labels.iter().collect();
            out.push((format!("{labels:?}"), last, fires));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn every_alert_rule_query_returns_data_and_evaluates() {
    let s = stack();
    let mut report = Vec::new();
    for r in all_rules() {
        let title = r["title"].as_str().unwrap().to_owned();
        let data = r["data"].as_array().unwrap();
        let query = data.iter().find(|n| n["datasourceUid"] == "fleetscope").unwrap();
        let window_ms = query["relativeTimeRange"]["from"].as_i64().unwrap() * 1000;
        let frames = run_checked(&s, &title, &query["model"], s.end_ms - window_ms, s.end_ms).await;
        let threshold = data.iter().find(|n| n["model"]["type"] == "threshold").unwrap();
        let ev = &threshold["model"]["conditions"][0]["evaluator"];
        let params: Vec<f64> = ev["params"].as_array().unwrap().iter().map(|p| p.as_f64().unwrap()).collect();
        let results = evaluate(&frames, ev["type"].as_str().unwrap(), &params);
        assert!(!results.is_empty(), "{title}: no series reduces to a number");
        for (labels, _, _) in &results {
            // merge keeps cluster/cluster_id; a cross-cluster aggregate lists `clusters`.
            let key = if query["model"]["aggregate"] == "merge" { "\"cluster_id\"" } else { "\"clusters\"" };
            assert!(labels.contains(key), "{title}: alert instances must say which cluster: {labels}");
        }
        let firing = results.iter().filter(|r| r.2).count();
        report.push(format!("{title}: {} instances, {firing} firing", results.len()));
    }
    eprintln!("alert rules at STACK_DATA_END_MS:\n  {}", report.join("\n  "));
}
