//! Golden frames for every recorded Loki answer in tests/fixtures/loki: the
//! frame JSON our converter builds (one cluster, global limit 1000, backward)
//! must match tests/golden/loki/<fixture>.frame.json. Rewrite with
//! `UPDATE_GOLDEN=1` after a deliberate change; the Go harness decodes the same
//! files with Grafana's SDK.

use std::path::Path;

use fleetscope::federation::logs::merge;
use fleetscope::frames::prometheus::{SeriesFrameOptions, series_frames};
use fleetscope::frames::{FrameMeta, json, loki};
use fleetscope::query::logs::Direction;
use fleetscope::registry::Registry;

/// Every recorded query answer (`query_*.json`: `query_range` and instant
/// `query`), found by name so a new recording gets a golden without a list to edit.
fn fixtures(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root.join("tests/fixtures/loki"))
        .expect("tests/fixtures/loki")
        .map(|e| e.expect("fixture entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("query_") && n.ends_with(".json"))
        .collect();
    names.sort();
    names
}

fn frames_for(body: &[u8]) -> serde_json::Value {
    let reg = Registry::from_grafana(br#"{"clusters":[{"id":"east","name":"prod-east-1","loki":{"url":"http://e"}}]}"#, &Default::default()).unwrap();
    let resp = loki::parse_query_response(body).expect("fixture parses");
    match &resp.data {
        loki::LokiData::Streams(_) => {
            let cols = merge(&[(reg.clusters()[0].clone(), resp)], Direction::Backward, 1000);
            json::frames_to_json(&[loki::log_frame(cols, "A", &[], FrameMeta::default())])
        }
        loki::LokiData::Series { result_type, series } => {
            let instant = *result_type != fleetscope::frames::prometheus::ResultType::Matrix;
            let opts =
                SeriesFrameOptions { ref_id: "A", instant, legend_format: None, step_ms: 15_000, executed_query: String::new(), links: vec![] };
            json::frames_to_json(&series_frames(series.clone(), &opts))
        }
    }
}

#[test]
fn every_loki_fixture_matches_its_golden_frames() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let update = std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1");
    let names = fixtures(root);
    assert!(names.len() >= 8, "the recorded Loki answers went missing: {names:?}");
    for name in &names {
        let body = std::fs::read(root.join("tests/fixtures/loki").join(name)).unwrap();
        let got = frames_for(&body);
        let golden = root.join("tests/golden/loki").join(name.replace(".json", ".frame.json"));
        if update {
            std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
            std::fs::write(&golden, serde_json::to_string_pretty(&got).unwrap() + "\n").unwrap();
            continue;
        }
        let want: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&golden).unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDEN=1 writes it)", golden.display())))
                .unwrap();
        assert_eq!(got, want, "{name}: frames differ from {}", golden.display());
        let fields = got[0]["schema"]["fields"].as_array().unwrap();
        assert!(!fields.is_empty(), "{name}: empty frame");
    }
    // No golden outlives its recording (the Go harness decodes every golden file).
    for golden in std::fs::read_dir(root.join("tests/golden/loki")).expect("tests/golden/loki") {
        let golden = golden.unwrap().file_name().to_string_lossy().into_owned();
        let fixture = golden.replace(".frame.json", ".json");
        assert!(names.contains(&fixture), "tests/golden/loki/{golden} has no recording tests/fixtures/loki/{fixture}");
    }
}
